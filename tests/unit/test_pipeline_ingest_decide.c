/* test_pipeline_ingest_decide.c — what recording a file means: new,
 * unchanged, changed, moved (old path gone), retry of an unfinished document,
 * recorded without steps, a second copy of known content (and what becomes of
 * it when the original changes). */
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

static const struct step_decl *two_steps(void)
{
	return two;
}

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

/* an empty file at db + suffix, so that stat finds it */
static void touch(char *out, size_t n, const char *suffix)
{
	snprintf(out, n, "%s%s", db, suffix);
	FILE *f = fopen(out, "w");
	assert_non_null(f);
	fclose(f);
}

static void known_content_whose_file_still_exists_is_a_copy(void **state)
{
	store *st;
	struct err e = {0};
	enum ingest_outcome o;
	char one[600], other[600];
	touch(one, sizeof one, ".one");
	touch(other, sizeof other, ".other");
	assert_int_equal(store_open(db, &st, &e), 0);
	int64_t a = add(st, one, "cc", &o);
	assert_int_equal(o, INGEST_NEW);
	assert_int_equal(store_dossier_put(st, a, "done", NULL, "{\"path\":\"one\"}", NULL, NULL, 0, &e), 0);
	/* the original's file is still there: the second path is its copy */
	int64_t b = add(st, other, "cc", &o);
	assert_int_equal(o, INGEST_DUPLICATE);
	assert_true(a != b);
	assert_int_equal(n_steps(st, b), 0);
	struct doc_rec d;
	assert_int_equal(store_doc_get(st, b, &d, &e), 0);
	assert_string_equal(d.status, "duplicate");
	assert_int_equal(d.same_as, a);
	doc_rec_clear(&d);
	assert_int_equal(add(st, other, "cc", &o), b);
	assert_int_equal(o, INGEST_UNCHANGED);
	/* the original's file changes: the copy's path takes the dossier, the new content is new */
	int64_t c = add(st, one, "dd", &o);
	assert_int_equal(o, INGEST_NEW);
	assert_int_equal(store_doc_by_path(st, other, &d, &e), 0);
	assert_int_equal(d.id, a);
	assert_string_equal(d.status, "done");
	doc_rec_clear(&d);
	char *json;
	assert_int_equal(store_dossier_get(st, a, &json, &e), 0);
	assert_non_null(strstr(json, ".other"));
	free(json);
	assert_int_equal(store_doc_by_path(st, one, &d, &e), 0);
	assert_int_equal(d.id, c);
	assert_string_equal(d.sha256, "dd");
	assert_int_equal(d.same_as, 0);
	doc_rec_clear(&d);
	assert_int_equal(n_steps(st, c), 2);
	store_close(st);
	unlink(one);
	unlink(other);
}

static void a_copy_whose_original_is_gone_becomes_a_document(void **state)
{
	store *st;
	struct err e = {0};
	enum ingest_outcome o;
	char one[600], other[600];
	touch(one, sizeof one, ".one");
	touch(other, sizeof other, ".other");
	assert_int_equal(store_open(db, &st, &e), 0);
	int64_t a = add(st, one, "cc", &o);
	int64_t b = add(st, other, "cc", &o);
	assert_int_equal(o, INGEST_DUPLICATE);
	/* the original changes to content of its own while its copy is not looked at */
	struct doc_input in = {.path = one, .sha256 = "ee", .mime = "text/plain", .kind = "text", .bytes = 1, .mtime = 2};
	assert_int_equal(store_doc_requeue(st, a, &in, two_steps(), 2, 1, &e), 0);
	assert_int_equal(add(st, other, "cc", &o), b);
	assert_int_equal(o, INGEST_RETRY);
	assert_int_equal(n_steps(st, b), 2);
	struct doc_rec d;
	assert_int_equal(store_doc_get(st, b, &d, &e), 0);
	assert_string_equal(d.status, "queued");
	assert_int_equal(d.same_as, 0);
	doc_rec_clear(&d);
	store_close(st);
	unlink(one);
	unlink(other);
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
		cmocka_unit_test_setup_teardown(known_content_whose_file_still_exists_is_a_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(a_copy_whose_original_is_gone_becomes_a_document, setup, teardown),
		cmocka_unit_test_setup_teardown(a_failed_file_is_recorded_without_steps, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
