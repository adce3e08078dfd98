/* test_pipeline_ingest_decide.c — what recording a file means: new,
 * unchanged, changed, moved (old path gone), retry of an unfinished document,
 * recorded without steps. */
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
#include "pipeline/ingest_decide.h"

static char db[512];

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(db, sizeof db, "%s/decide-%d-%p.db", tmp && *tmp ? tmp : "/tmp", (int)getpid(), (void *)state);
	unlink(db);
	return 0;
}

static int teardown(void **state)
{
	char p[600];
	unlink(db);
	snprintf(p, sizeof p, "%s-wal", db);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", db);
	unlink(p);
	return 0;
}

static const struct step_decl two[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, 1},
};

static int64_t add(store *st, const char *path, const char *sha, enum ingest_outcome *o)
{
	struct doc_input in = {.path = path, .sha256 = sha, .mime = "text/plain", .kind = "text", .bytes = 10, .mtime = 1};
	int64_t id;
	struct err e = {0};
	assert_int_equal(ingest_decide(st, &in, two, 2, &id, o, &e), 0);
	return id;
}

static size_t n_steps(store *st, int64_t id)
{
	struct step_rec *v;
	size_t n;
	struct err e = {0};
	assert_int_equal(store_doc_steps(st, id, &v, &n, &e), 0);
	step_recs_free(v, n);
	return n;
}

static void ingest_tells_new_unchanged_changed_and_moved(void **state)
{
	store *st;
	struct err e = {0};
	enum ingest_outcome o;
	assert_int_equal(store_open(db, &st, &e), 0);
	int64_t id = add(st, "/nonexistent-dir/a.txt", "aa", &o);
	assert_int_equal(o, INGEST_NEW);
	assert_int_equal(n_steps(st, id), 2);
	/* queued and not finished yet: a retry that keeps its steps */
	assert_int_equal(add(st, "/nonexistent-dir/a.txt", "aa", &o), id);
	assert_int_equal(o, INGEST_RETRY);
	assert_int_equal(n_steps(st, id), 2);
	store_dossier_put(st, id, "done", NULL, "{\"path\":\"/nonexistent-dir/a.txt\"}", NULL, NULL, 0, &e);
	assert_int_equal(add(st, "/nonexistent-dir/a.txt", "aa", &o), id);
	assert_int_equal(o, INGEST_UNCHANGED);
	/* the same content at a new path whose old path is gone: a move */
	assert_int_equal(add(st, "/nonexistent-dir/b.txt", "aa", &o), id);
	assert_int_equal(o, INGEST_MOVED);
	char *json;
	assert_int_equal(store_dossier_get(st, id, &json, &e), 0);
	assert_non_null(strstr(json, "b.txt"));
	free(json);
	assert_int_equal(add(st, "/nonexistent-dir/b.txt", "bb", &o), id);
	assert_int_equal(o, INGEST_CHANGED);
	assert_int_equal(store_dossier_get(st, id, &json, &e), DOSSIER_ENOTFOUND); /* the old dossier is dropped */
	store_close(st);
}

static void known_content_whose_file_still_exists_is_a_new_document(void **state)
{
	store *st;
	struct err e = {0};
	enum ingest_outcome o;
	assert_int_equal(store_open(db, &st, &e), 0);
	/* db exists on disk, so a copy of its content elsewhere is not a move */
	int64_t a = add(st, db, "cc", &o);
	int64_t b = add(st, "/nonexistent-dir/copy", "cc", &o);
	assert_int_equal(o, INGEST_NEW);
	assert_true(a != b);
	store_close(st);
}

static void a_failed_file_is_recorded_without_steps(void **state)
{
	store *st;
	struct err e = {0};
	enum ingest_outcome o;
	int64_t id;
	assert_int_equal(store_open(db, &st, &e), 0);
	struct doc_input in = {.path = "/nonexistent-dir/x", .sha256 = "", .kind = "unsupported",
	                       .status = "failed", .error = "unreadable"};
	assert_int_equal(ingest_decide(st, &in, NULL, 0, &id, &o, &e), 0);
	assert_int_equal(o, INGEST_RECORDED);
	assert_int_equal(n_steps(st, id), 0);
	struct doc_rec d;
	assert_int_equal(store_doc_get(st, id, &d, &e), 0);
	assert_string_equal(d.status, "failed");
	assert_string_equal(d.error, "unreadable");
	doc_rec_clear(&d);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(ingest_tells_new_unchanged_changed_and_moved, setup, teardown),
		cmocka_unit_test_setup_teardown(known_content_whose_file_still_exists_is_a_new_document, setup, teardown),
		cmocka_unit_test_setup_teardown(a_failed_file_is_recorded_without_steps, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
