/* test_pipeline_watch.c — the folder watcher with real inotify on a temp
 * folder: a closed file, a half-written one, a link (settles), a burst as one
 * batch, a new subfolder, a rename, a delete, a kernel queue overflow, hidden
 * and ignored names; and watch_apply on a real store: a move keeps the
 * document, a delete marks it missing, prune forgets it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/util.h"
#include "pipeline/watch.h"

static char dir[512];

static void rm_rf(const char *p)
{
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", p);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", p);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	char t[600];
	snprintf(t, sizeof t, "%s/watch-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(t));
	assert_non_null(realpath(t, dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(dir);
	return 0;
}

static void put(const char *name, const char *text)
{
	char p[700];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *at(const char *name)
{
	static char p[4][700];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
	return p[k];
}

static watcher *start(double settle_s)
{
	struct watch_opts o;
	watch_opts_default(&o);
	o.settle_s = settle_s;
	o.quiet_s = 0.1;
	o.max_wait_s = 3;
	o.initial_scan = 0;
	char *roots[] = {dir};
	watcher *w = NULL;
	struct err e = {0};
	assert_int_equal(watcher_new(roots, 1, &o, &w, &e), 0);
	return w;
}

/* Waits (up to max_s) for a non-empty batch; an empty one at the deadline. */
static void next(watcher *w, struct watch_batch *b, double max_s)
{
	double end = clock_mono_s() + max_s;
	for (;;) {
		int timeout;
		struct err e = {0};
		assert_int_equal(watcher_next_batch(w, b, &timeout, &e), 0);
		if (b->n_ingest || b->n_gone || b->n_gone_dirs || b->rescan)
			return;
		double left = end - clock_mono_s();
		if (left <= 0)
			return;
		int ms = (int)(left * 1000) + 1;
		if (timeout >= 0 && timeout < ms)
			ms = timeout;
		struct pollfd p = {watcher_fd(w), POLLIN, 0};
		poll(&p, 1, ms);
	}
}

static int has(char **v, size_t n, const char *p)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i], p))
			return 1;
	return 0;
}

static void test_closed_file_is_ready(void **state)
{
	(void)state;
	watcher *w = start(5.0); /* a long settle: a closed file must not wait for it */
	put("a.txt", "hello\n");
	struct watch_batch b;
	double t0 = clock_mono_s();
	next(w, &b, 3);
	assert_int_equal(b.n_ingest, 1);
	assert_string_equal(b.ingest[0], at("a.txt"));
	assert_true(clock_mono_s() - t0 < 2.0);
	assert_int_equal(b.rescan, 0);
	watch_batch_clear(&b);
	watcher_free(w);
}

static void test_half_written_waits_for_close(void **state)
{
	(void)state;
	watcher *w = start(0.2);
	int fd = open(at("big.txt"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "first half ", 11), 11);
	struct watch_batch b;
	next(w, &b, 1.2); /* six settle intervals: still open for writing */
	assert_int_equal(b.n_ingest, 0);
	assert_true(watcher_pending(w) >= 1);
	assert_int_equal(write(fd, "second half\n", 12), 12);
	close(fd);
	next(w, &b, 3);
	assert_int_equal(b.n_ingest, 1);
	assert_string_equal(b.ingest[0], at("big.txt"));
	watch_batch_clear(&b);
	watcher_free(w);
}

static void test_link_settles(void **state)
{
	(void)state;
	put("orig.txt", "linked\n");
	watcher *w = start(0.4);
	assert_int_equal(link(at("orig.txt"), at("hard.txt")), 0);
	double t0 = clock_mono_s();
	struct watch_batch b;
	next(w, &b, 3);
	double waited = clock_mono_s() - t0;
	assert_int_equal(b.n_ingest, 1);
	assert_string_equal(b.ingest[0], at("hard.txt"));
	assert_true(waited >= 0.39); /* no close came: it was let settle first */
	watch_batch_clear(&b);
	/* a symbolic link out of the watched folder is not followed */
	assert_int_equal(symlink("/etc/hostname", at("out.txt")), 0);
	next(w, &b, 1.5);
	assert_int_equal(b.n_ingest, 0);
	watcher_free(w);
}

static void test_burst_is_one_batch(void **state)
{
	(void)state;
	watcher *w = start(1.0);
	char name[64];
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof name, "note-%04d.txt", i);
		put(name, "a small note\n");
	}
	struct watch_batch b;
	next(w, &b, 5);
	assert_int_equal(b.n_ingest, 1000);
	assert_string_equal(b.ingest[0], at("note-0000.txt")); /* in name order */
	assert_string_equal(b.ingest[999], at("note-0999.txt"));
	watch_batch_clear(&b);
	next(w, &b, 0.5);
	assert_int_equal(b.n_ingest, 0);
	assert_int_equal(watcher_pending(w), 0);
	watcher_free(w);
}

static void test_new_subfolder(void **state)
{
	(void)state;
	watcher *w = start(0.2);
	char p[700];
	snprintf(p, sizeof p, "%s/sub", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	put("sub/one.txt", "one\n");
	struct watch_batch b;
	next(w, &b, 3);
	assert_true(has(b.ingest, b.n_ingest, at("sub/one.txt")));
	watch_batch_clear(&b);
	/* deeper, made with its content elsewhere then moved in */
	char outside[700], cmd[2000];
	snprintf(outside, sizeof outside, "%s-outside", dir);
	snprintf(cmd, sizeof cmd, "mkdir -p '%s/deep/er' && echo two > '%s/deep/er/two.txt' && mv '%s/deep' '%s/sub/'",
	         outside, outside, outside, dir);
	assert_int_equal(system(cmd), 0);
	rm_rf(outside);
	next(w, &b, 3);
	assert_int_equal(b.n_ingest, 1);
	assert_string_equal(b.ingest[0], at("sub/deep/er/two.txt"));
	watch_batch_clear(&b);
	/* the moved-in folder is watched too */
	put("sub/deep/er/three.txt", "three\n");
	next(w, &b, 3);
	assert_int_equal(b.n_ingest, 1);
	assert_string_equal(b.ingest[0], at("sub/deep/er/three.txt"));
	watch_batch_clear(&b);
	watcher_free(w);
}

static void test_rename_and_delete(void **state)
{
	(void)state;
	put("old.txt", "moving\n");
	watcher *w = start(0.2);
	assert_int_equal(rename(at("old.txt"), at("new.txt")), 0);
	struct watch_batch b;
	next(w, &b, 3);
	assert_int_equal(b.n_ingest, 1);
	assert_string_equal(b.ingest[0], at("new.txt"));
	assert_int_equal(b.n_gone, 1);
	assert_string_equal(b.gone[0], at("old.txt"));
	watch_batch_clear(&b);
	assert_int_equal(unlink(at("new.txt")), 0);
	next(w, &b, 3);
	assert_int_equal(b.n_ingest, 0);
	assert_int_equal(b.n_gone, 1);
	assert_string_equal(b.gone[0], at("new.txt"));
	watch_batch_clear(&b);
	/* a folder removed: reported as a gone folder */
	char p[700];
	snprintf(p, sizeof p, "%s/d", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	next(w, &b, 1);
	watch_batch_clear(&b);
	rm_rf(p);
	next(w, &b, 3);
	assert_true(has(b.gone_dirs, b.n_gone_dirs, p));
	watch_batch_clear(&b);
	watcher_free(w);
}

static void test_hidden_and_ignored(void **state)
{
	(void)state;
	char ig[700];
	snprintf(ig, sizeof ig, "%s/db.sqlite", dir);
	const char *ignore[] = {ig, NULL};
	struct watch_opts o;
	watch_opts_default(&o);
	o.settle_s = 0.1;
	o.quiet_s = 0.1;
	o.initial_scan = 0;
	o.ignore = ignore;
	char *roots[] = {dir};
	watcher *w;
	assert_int_equal(watcher_new(roots, 1, &o, &w, NULL), 0);
	put(".hidden.swp", "x");
	put("db.sqlite", "x");
	struct watch_batch b;
	next(w, &b, 0.8);
	assert_int_equal(b.n_ingest, 0);
	put("seen.txt", "x");
	next(w, &b, 3);
	assert_int_equal(b.n_ingest, 1);
	watch_batch_clear(&b);
	watcher_free(w);
}

static void test_overflow_rescans(void **state)
{
	(void)state;
	watcher *w = start(0.2);
	/* two events a file (create, close): past the kernel's default queue of 16384 */
	char name[64];
	long max = 16384;
	FILE *f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");
	if (f) {
		if (fscanf(f, "%ld", &max) != 1)
			max = 16384;
		fclose(f);
	}
	if (max > 100000) {
		watcher_free(w);
		skip();
	}
	for (long i = 0; i < max / 2 + 100; i++) {
		snprintf(name, sizeof name, "f%06ld", i);
		put(name, "");
	}
	struct watch_batch b;
	next(w, &b, 3);
	assert_int_equal(b.rescan, 1);
	assert_int_equal(b.overflow, 1);
	assert_int_equal(b.n_ingest, 1);
	assert_string_equal(b.ingest[0], dir);
	assert_int_equal(b.n_gone_dirs, 1);
	watch_batch_clear(&b);
	watcher_free(w);
}

static void test_bad_root(void **state)
{
	(void)state;
	put("file.txt", "x");
	char *roots[] = {at("file.txt")};
	watcher *w = (watcher *)1;
	struct err e = {0};
	assert_int_equal(watcher_new(roots, 1, NULL, &w, &e), DOSSIER_EINVAL);
	assert_null(w);
	assert_non_null(strstr(e.msg, "not a folder"));
	char *missing[] = {at("nope")};
	assert_int_equal(watcher_new(missing, 1, NULL, &w, NULL), DOSSIER_EINVAL);
	watcher_free(NULL);
}

/* ---- watch_apply on a real store ---- */

static void test_apply_move_missing_prune(void **state)
{
	(void)state;
	char db[700];
	snprintf(db, sizeof db, "%s-db/d.db", dir);
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	classifier *cls;
	assert_int_equal(classifier_new(&cls, &e), 0);
	bus *b;
	assert_int_equal(bus_new(1, &b), 0);

	put("keep.txt", "a note that moves around\n");
	put("lost.txt", "a note that will be deleted\n");
	watcher *w = start(0.2);
	struct watch_batch wb;
	struct watch_apply_stats s;
	char *init[] = {dir};
	struct watch_batch first = {.ingest = init, .n_ingest = 1, .gone_dirs = init, .n_gone_dirs = 1, .rescan = 1};
	assert_int_equal(watch_apply(st, cls, b, &first, NULL, &s, &e), 0);
	assert_int_equal(s.ingest.queued, 2);
	struct doc_rec d;
	assert_int_equal(store_doc_by_path(st, at("keep.txt"), &d, &e), 0);
	int64_t id = d.id;
	doc_rec_clear(&d);

	/* a move keeps the document */
	assert_int_equal(rename(at("keep.txt"), at("kept.txt")), 0);
	next(w, &wb, 3);
	assert_int_equal(watch_apply(st, cls, b, &wb, NULL, &s, &e), 0);
	watch_batch_clear(&wb);
	assert_int_equal(s.ingest.moved, 1);
	assert_int_equal(s.missing, 0);
	assert_int_equal(store_doc_by_path(st, at("kept.txt"), &d, &e), 0);
	assert_int_equal(d.id, id);
	assert_true(d.missing_at == 0);
	doc_rec_clear(&d);
	assert_int_equal(store_doc_by_path(st, at("keep.txt"), &d, NULL), DOSSIER_ENOTFOUND);

	/* a delete marks it missing */
	assert_int_equal(unlink(at("lost.txt")), 0);
	next(w, &wb, 3);
	assert_int_equal(watch_apply(st, cls, b, &wb, NULL, &s, &e), 0);
	watch_batch_clear(&wb);
	assert_int_equal(s.missing, 1);
	assert_int_equal(store_doc_by_path(st, at("lost.txt"), &d, &e), 0);
	assert_true(d.missing_at > 0);
	int64_t lost = d.id;
	doc_rec_clear(&d);

	/* the same content back under another name: the same document, present again */
	put("found.txt", "a note that will be deleted\n");
	next(w, &wb, 3);
	assert_int_equal(watch_apply(st, cls, b, &wb, NULL, &s, &e), 0);
	watch_batch_clear(&wb);
	/* the move in ingest clears the mark itself (store_doc_move), so the
	 * watcher may find nothing left to clear */
	assert_true(s.back <= 1);
	assert_int_equal(store_doc_by_path(st, at("found.txt"), &d, &e), 0);
	assert_int_equal(d.id, lost);
	assert_true(d.missing_at == 0);
	doc_rec_clear(&d);

	/* prune forgets */
	assert_int_equal(unlink(at("kept.txt")), 0);
	next(w, &wb, 3);
	assert_int_equal(watch_apply(st, cls, b, &wb, dir, &s, &e), 0);
	watch_batch_clear(&wb);
	assert_int_equal(s.pruned, 1);
	assert_int_equal(store_doc_get(st, id, &d, NULL), DOSSIER_ENOTFOUND);

	/* a rescan marks what vanished while nobody watched */
	assert_int_equal(unlink(at("found.txt")), 0);
	assert_int_equal(watch_apply(st, cls, b, &first, NULL, &s, &e), 0);
	assert_int_equal(s.missing, 1);

	watcher_free(w);
	bus_free(b);
	classifier_free(cls);
	store_close(st);
	char p[800];
	snprintf(p, sizeof p, "%s-db", dir);
	rm_rf(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_closed_file_is_ready, setup, teardown),
		cmocka_unit_test_setup_teardown(test_half_written_waits_for_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_link_settles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_burst_is_one_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_subfolder, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_and_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hidden_and_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overflow_rescans, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_apply_move_missing_prune, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
