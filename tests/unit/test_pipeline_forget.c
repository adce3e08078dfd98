/* test_pipeline_forget.c — forgetting a document removes what dossier kept
 * for it (frames, OCR pages, an upload) and never the user's own file nor
 * what a copy with the same content still needs; the filter words are
 * checked against the kind table, the statuses and the calendar. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "pipeline/filter.h"
#include "pipeline/forget.h"
#include "store/store.h"

static char dir[512], db[600];

static void run_on(const char *cmd, const char *path)
{
	char line[1400];
	snprintf(line, sizeof line, "%s '%s'", cmd, path);
	assert_int_equal(system(line), 0);
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/forget-%d-%p", tmp && *tmp ? tmp : "/tmp", (int)getpid(), (void *)state);
	char p[600];
	run_on("rm -rf", dir);
	snprintf(p, sizeof p, "%s/uploads", dir);
	run_on("mkdir -p", p);
	snprintf(p, sizeof p, "%s/mine", dir);
	run_on("mkdir -p", p);
	snprintf(db, sizeof db, "%s/dossier.db", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	run_on("rm -rf", dir);
	return 0;
}

static const struct step_decl two[] = {{"extract_text", ROLE_NONE, 0}, {"analyze_text", ROLE_TEXT, 1}};

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int exists(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0;
}

static int64_t add(store *st, const char *path, const char *sha)
{
	struct doc_input in = {.path = path, .sha256 = sha, .mime = "video/mp4", .kind = "video", .bytes = 5, .mtime = 1};
	int64_t id;
	struct err e = {0};
	assert_int_equal(store_doc_insert(st, &in, two, 2, &id, &e), 0);
	return id;
}

#define SHA "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void forget_removes_frames_ocr_and_upload_never_the_users_file(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	char mine[700], up[700], frames[700], ocr[700], p[800];
	snprintf(mine, sizeof mine, "%s/mine/film.mp4", dir);
	snprintf(up, sizeof up, "%s/uploads/" SHA ".mp4", dir);
	snprintf(frames, sizeof frames, "%s/frames/" SHA, dir);
	snprintf(ocr, sizeof ocr, "%s/ocr/" SHA, dir);
	write_file(mine, "movie");
	write_file(up, "movie");
	run_on("mkdir -p", frames);
	run_on("mkdir -p", ocr);
	snprintf(p, sizeof p, "%s/frame-0001.jpg", frames);
	write_file(p, "jpeg1");
	snprintf(p, sizeof p, "%s/frame-0002.jpg", frames);
	write_file(p, "jpeg2");
	snprintf(p, sizeof p, "%s/page-00001.txt", ocr);
	write_file(p, "page");
	/* a link in the frames folder is removed as a link, its target kept */
	snprintf(p, sizeof p, "%s/link", frames);
	assert_int_equal(symlink(mine, p), 0);

	int64_t a = add(st, mine, SHA);
	int64_t b = add(st, up, SHA);
	struct forget_stats fs;
	/* the user's own copy: record gone, file and the shared frames stay */
	assert_int_equal(pipeline_forget(st, dir, a, &fs, &e), 0);
	assert_string_equal(fs.path, mine);
	assert_int_equal(fs.steps, 2);
	assert_int_equal(fs.kept_shared, 1);
	assert_int_equal(fs.frame_files, 0);
	assert_int_equal(fs.upload_removed, 0);
	forget_stats_clear(&fs);
	assert_true(exists(mine));
	assert_true(exists(frames));
	/* the upload, the last holder of that content: everything goes */
	assert_int_equal(pipeline_forget(st, dir, b, &fs, &e), 0);
	assert_int_equal(fs.kept_shared, 0);
	assert_int_equal(fs.frame_files, 3);
	assert_int_equal(fs.ocr_files, 1);
	assert_int_equal(fs.upload_removed, 1);
	assert_int_equal(fs.file_errors, 0);
	assert_true(fs.bytes_freed >= 10 + 4 + 5);
	char what[256];
	forget_stats_describe(&fs, what, sizeof what);
	assert_non_null(strstr(what, "3 frame files"));
	assert_non_null(strstr(what, "the uploaded file"));
	forget_stats_clear(&fs);
	assert_false(exists(frames));
	assert_false(exists(ocr));
	assert_false(exists(up));
	assert_true(exists(mine));  /* the link's target */
	memset(&e, 0, sizeof e);
	assert_int_equal(pipeline_forget(st, dir, b, &fs, &e), DOSSIER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "no document with id"));
	store_close(st);
}

static void forget_touches_nothing_for_an_odd_hash_or_path(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	char keep[700], sub[700];
	/* a stored hash that is not 64 hex digits never becomes a path */
	snprintf(keep, sizeof keep, "%s/frames/keep", dir);
	run_on("mkdir -p", keep);
	snprintf(sub, sizeof sub, "%s/uploads/sub", dir);
	run_on("mkdir -p", sub);
	snprintf(sub, sizeof sub, "%s/uploads/sub/x.txt", dir);
	write_file(sub, "x");
	int64_t a = add(st, "/nowhere/a.mp4", "../keep");
	int64_t b = add(st, sub, "");
	struct forget_stats fs;
	assert_int_equal(pipeline_forget(st, dir, a, &fs, &e), 0);
	forget_stats_clear(&fs);
	assert_true(exists(keep));
	/* only files directly in uploads/ are uploads */
	assert_int_equal(pipeline_forget(st, dir, b, &fs, &e), 0);
	assert_int_equal(fs.upload_removed, 0);
	forget_stats_clear(&fs);
	assert_true(exists(sub));
	store_close(st);
}

static void filter_words_are_checked(void **state)
{
	(void)state;
	struct doc_filter f = {0};
	struct err e = {0};
	assert_int_equal(doc_filter_set(&f, "kind", "pdf", &e), 0);
	assert_string_equal(f.kind, "pdf");
	assert_int_equal(doc_filter_set(&f, "kind", "unsupported", &e), 0);
	assert_int_equal(doc_filter_set(&f, "kind", "pfd", &e), DOSSIER_EINVAL);
	assert_non_null(strstr(e.msg, "'pfd'"));
	assert_non_null(strstr(e.msg, "text, pdf, image"));
	assert_string_equal(f.kind, "unsupported");  /* unchanged by the refusal */
	assert_int_equal(doc_filter_set(&f, "status", "done", &e), 0);
	assert_int_equal(doc_filter_set(&f, "status", "finished", &e), DOSSIER_EINVAL);
	assert_non_null(strstr(e.msg, "queued, running, assembling, done"));
	assert_int_equal(doc_filter_set(&f, "status", "", &e), 0);
	assert_null(f.status);
	assert_int_equal(doc_filter_set(&f, "lang", "de", &e), 0);
	assert_int_equal(doc_filter_set(&f, "lang", "german!", &e), DOSSIER_EINVAL);
	assert_int_equal(doc_filter_set(&f, "colour", "red", &e), DOSSIER_EINVAL);

	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(doc_filter_set(&f, "since", "2026-05-12", &e), 0);
	assert_int_equal(f.since, 1778544000);  /* 2026-05-12T00:00:00Z */
	assert_int_equal(doc_filter_set(&f, "until", "2026-05-12", &e), 0);
	assert_int_equal(f.until, 1778544000 + 86400);  /* the whole day */
	assert_int_equal(doc_filter_check(&f, &e), 0);
	assert_int_equal(doc_filter_set(&f, "until", "2026-05", &e), 0);
	assert_int_equal(f.until, 1780272000);  /* 2026-06-01 */
	assert_int_equal(doc_filter_set(&f, "since", "2027", &e), 0);
	assert_int_equal(doc_filter_check(&f, &e), DOSSIER_EINVAL);
	static const char *const bad[] = {"2026-13-01", "2026-02-30", "2025-02-29", "12/05/2026", "2026-5-12",
	                                  "yesterday", "2026-05-12x", "1969-12-31", "20260512"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&e, 0, sizeof e);
		if (doc_filter_set(&f, "since", bad[i], &e) != DOSSIER_EINVAL)
			fail_msg("'%s' was taken as a date", bad[i]);
		assert_non_null(strstr(e.msg, "YYYY-MM-DD"));
	}
	assert_int_equal(doc_filter_set(&f, "since", "2024-02-29", &e), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(forget_removes_frames_ocr_and_upload_never_the_users_file, setup, teardown),
		cmocka_unit_test_setup_teardown(forget_touches_nothing_for_an_odd_hash_or_path, setup, teardown),
		cmocka_unit_test(filter_words_are_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
