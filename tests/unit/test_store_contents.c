/* test_store_contents.c — the documents' bytes kept in the database
 * (store/contents.c), on SQLite and, as unit/test_store_contents_pg, on
 * PostgreSQL: a file of several chunks comes back byte for byte; a content
 * is kept once; a missing one is "not found"; a damaged one is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "store/store.h"

#define STORE_FIXTURE_NAME "contents"
#include "store_fixture.h"

/* A scratch file's name beside the database (on PG: under $TMPDIR), with `what` appended. */
static void scratch(char *out, size_t n, const char *what)
{
	const char *tmp = getenv("TMPDIR");
	if (fixture_is_pg())
		snprintf(out, n, "%s/contents-%d.%s", tmp && *tmp ? tmp : "/tmp", (int)getpid(), what);
	else
		snprintf(out, n, "%s.%s", db, what);
}

/* A file of n pseudo-random bytes at path. */
static void write_file(const char *path, size_t n, unsigned seed)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		fputc((int)(seed >> 16) & 0xff, f);
	}
	fclose(f);
}

static int same_files(const char *a, const char *b)
{
	FILE *x = fopen(a, "rb"), *y = fopen(b, "rb");
	int same = x && y;
	while (same) {
		int c = fgetc(x), d = fgetc(y);
		same = c == d;
		if (c == EOF || d == EOF)
			break;
	}
	if (x)
		fclose(x);
	if (y)
		fclose(y);
	return same;
}

static void a_file_of_several_chunks_comes_back_byte_for_byte(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	char in[600], out[600], sha[65];
	scratch(in, sizeof in, "in");
	scratch(out, sizeof out, "out");
	write_file(in, (5u << 19) + 17, 7);  /* 2.5 MiB and a few bytes: three chunks */
	assert_int_equal(sha256_file(in, sha, &e), 0);
	assert_int_equal(store_open(db, &st, &e), 0);
	int have = 1;
	assert_int_equal(store_content_has(st, sha, &have, &e), 0);
	assert_int_equal(have, 0);
	assert_int_equal(store_content_put(st, sha, in, &e), 0);
	assert_int_equal(store_content_has(st, sha, &have, &e), 0);
	assert_int_equal(have, 1);
	/* kept once: a second put is a no-op, even when the file is gone */
	unlink(in);
	assert_int_equal(store_content_put(st, sha, in, &e), 0);
	assert_int_equal(store_content_fetch(st, sha, out, &e), 0);
	write_file(in, (5u << 19) + 17, 7);
	assert_true(same_files(in, out));
	unlink(in);
	unlink(out);
	store_close(st);
}

static void a_missing_content_is_not_found_and_an_empty_file_is_kept(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	char in[600], out[600], sha[65];
	scratch(in, sizeof in, "empty");
	scratch(out, sizeof out, "empty.out");
	assert_int_equal(store_open(db, &st, &e), 0);
	assert_int_equal(store_content_fetch(st, "00000000000000000000000000000000000000000000000000000000000000ff", out, &e),
	                 DOSSIER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "keeps no content"));
	write_file(in, 0, 1);
	assert_int_equal(sha256_file(in, sha, &e), 0);
	assert_int_equal(store_content_put(st, sha, in, &e), 0);
	assert_int_equal(store_content_fetch(st, sha, out, &e), 0);
	assert_true(same_files(in, out));
	unlink(in);
	unlink(out);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_file_of_several_chunks_comes_back_byte_for_byte, setup, teardown),
		cmocka_unit_test_setup_teardown(a_missing_content_is_not_found_and_an_empty_file_is_kept, setup, teardown),
	};
	return cmocka_run_group_tests_name(fixture_is_pg() ? "store_contents (PostgreSQL)" : "store_contents (SQLite)",
	                                   tests, NULL, NULL);
}
