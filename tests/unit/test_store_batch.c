/* test_store_batch.c — a batch of store_tx calls: one commit, invisible to
 * another connection until then, a failing store_tx undoes only its own
 * changes, and a rollback (or a crash) keeps nothing of the batch. */
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
#include "core/event.h"

#include <jansson.h>
#include "store/store.h"

#define STORE_FIXTURE_NAME "batch"
#include "store_fixture.h"

static const struct step_decl two[] = {{"extract_text", ROLE_NONE, 0}, {"analyze_text", ROLE_TEXT, 1}};

struct ins {
	const char *path;
	int fail_after; /* 1: insert, then fail */
};

static int ins_tx(store *st, void *user)
{
	struct ins *a = user;
	struct doc_input in = {.path = a->path, .sha256 = a->path, .mime = "text/plain", .kind = "text", .bytes = 1,
	                       .mtime = 1};
	int64_t id;
	int rc = store_doc_insert(st, &in, two, 2, &id, NULL);
	return rc ? rc : a->fail_after ? DOSSIER_EIO : 0;
}

static int64_t count(store *st)
{
	int64_t n = -1;
	assert_int_equal(store_doc_count(st, "queued", &n, NULL), 0);
	return n;
}

static void a_batch_commits_once_and_a_failed_tx_inside_undoes_only_itself(void **state)
{
	(void)state;
	store *st, *other;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	assert_int_equal(store_open(db, &other, &e), 0);
	assert_int_equal(store_batch_begin(st, &e), 0);
	assert_true(store_in_batch(st));
	struct ins a = {"/a", 0}, b = {"/b", 1}, c = {"/c", 0};
	assert_int_equal(store_tx(st, ins_tx, &a, &e), 0);
	assert_int_equal(store_tx(st, ins_tx, &b, &e), DOSSIER_EIO);
	assert_int_equal(store_tx(st, ins_tx, &c, &e), 0);
	assert_int_equal(count(st), 2);     /* the batch sees its own work ... */
	assert_int_equal(count(other), 0);  /* ... nobody else does yet */
	assert_int_equal(store_batch_commit(st, &e), 0);
	assert_false(store_in_batch(st));
	assert_int_equal(count(other), 2);
	struct doc_rec d;
	assert_int_equal(store_doc_by_path(other, "/b", &d, &e), DOSSIER_ENOTFOUND);
	struct steps_pending p;
	assert_int_equal(store_steps_pending(other, NULL, &p, &e), 0);
	assert_int_equal(p.ready[ROLE_NONE], 2);
	assert_int_equal(p.waiting[ROLE_TEXT], 2);
	store_close(other);
	store_close(st);
}

static void a_rolled_back_or_abandoned_batch_keeps_nothing(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	assert_int_equal(store_batch_begin(st, &e), 0);
	struct ins a = {"/a", 0}, b = {"/b", 0};
	assert_int_equal(store_tx(st, ins_tx, &a, &e), 0);
	store_batch_rollback(st);
	assert_int_equal(count(st), 0);
	assert_int_equal(store_batch_begin(st, &e), 0);
	assert_int_equal(store_tx(st, ins_tx, &b, &e), 0);
	store_close(st); /* as a process that dies mid-batch */
	assert_int_equal(store_open(db, &st, &e), 0);
	assert_int_equal(count(st), 0);
	/* and without a batch, store_tx commits at once again */
	assert_int_equal(store_tx(st, ins_tx, &a, &e), 0);
	assert_int_equal(count(st), 1);
	store_close(st);
}

/* A store_batch_after call: what it was told, and how often. */
struct after {
	int calls, committed, seen_docs;
	store *other;  /* reads what the other connections see when it runs */
};

static void after_fn(void *user, int committed)
{
	struct after *a = user;
	a->calls++;
	a->committed = committed;
	a->seen_docs = (int)count(a->other);
}

static void what_waits_for_the_batch_runs_once_after_its_commit_or_rollback(void **state)
{
	(void)state;
	store *st, *other;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	assert_int_equal(store_open(db, &other, &e), 0);
	struct after a = {.other = other}, b = {.other = other};
	/* outside a batch there is nothing to wait for */
	assert_int_equal(store_batch_after(st, after_fn, &a, &e), DOSSIER_EINVAL);
	assert_int_equal(a.calls, 0);

	/* committed: called once, when the change is visible to others */
	assert_int_equal(store_batch_begin(st, &e), 0);
	struct ins x = {"/x", 0}, y = {"/y", 0};
	assert_int_equal(store_tx(st, ins_tx, &x, &e), 0);
	assert_int_equal(store_batch_after(st, after_fn, &a, &e), 0);
	assert_int_equal(store_batch_after(st, after_fn, &b, &e), 0);
	assert_int_equal(a.calls, 0);
	assert_int_equal(store_batch_commit(st, &e), 0);
	assert_int_equal(a.calls, 1);
	assert_int_equal(a.committed, 1);
	assert_int_equal(a.seen_docs, 1);
	assert_int_equal(b.calls, 1);
	assert_int_equal(store_batch_commit(st, &e), 0); /* no batch: nothing runs again */
	assert_int_equal(a.calls, 1);

	/* rolled back, or abandoned with the connection: called with 0 */
	assert_int_equal(store_batch_begin(st, &e), 0);
	assert_int_equal(store_tx(st, ins_tx, &y, &e), 0);
	assert_int_equal(store_batch_after(st, after_fn, &a, &e), 0);
	store_batch_rollback(st);
	assert_int_equal(a.calls, 2);
	assert_int_equal(a.committed, 0);
	assert_int_equal(a.seen_docs, 1);
	assert_int_equal(store_batch_begin(st, &e), 0);
	assert_int_equal(store_batch_after(st, after_fn, &b, &e), 0);
	store_close(st);
	assert_int_equal(b.calls, 2);
	assert_int_equal(b.committed, 0);
	store_close(other);
}

/* How many events a subscriber got without waiting. */
static int delivered(bus_sub *sub)
{
	int n = 0;
	struct event *ev;
	while (bus_sub_next(sub, 0, &ev) == 0) {
		event_release(ev);
		n++;
	}
	return n;
}

static struct event *an_event(bus *b)
{
	struct event *ev = NULL;
	assert_int_equal(bus_event_new(b, "document_done", 1, json_object(), &ev), 0);
	return ev;
}

static void an_event_of_the_batch_is_announced_only_if_it_commits(void **state)
{
	(void)state;
	store *st;
	bus *b;
	bus_sub *sub;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	assert_int_equal(bus_new(1, &b), 0);
	assert_int_equal(bus_subscribe(b, 16, &sub), 0);
	store_batch_publish(st, b, an_event(b)); /* no batch: now */
	assert_int_equal(delivered(sub), 1);
	assert_int_equal(store_batch_begin(st, &e), 0);
	store_batch_publish(st, b, an_event(b));
	assert_int_equal(delivered(sub), 0);
	assert_int_equal(store_batch_commit(st, &e), 0);
	assert_int_equal(delivered(sub), 1);
	assert_int_equal(store_batch_begin(st, &e), 0);
	store_batch_publish(st, b, an_event(b));
	store_batch_rollback(st);
	assert_int_equal(delivered(sub), 0);
	store_batch_publish(st, b, NULL);
	assert_int_equal(delivered(sub), 0);
	store_close(st);
	bus_unsubscribe(sub);
	bus_free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(a_batch_commits_once_and_a_failed_tx_inside_undoes_only_itself, setup, teardown),
		cmocka_unit_test_setup_teardown(a_rolled_back_or_abandoned_batch_keeps_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(what_waits_for_the_batch_runs_once_after_its_commit_or_rollback, setup,
		                                teardown),
		cmocka_unit_test_setup_teardown(an_event_of_the_batch_is_announced_only_if_it_commits, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
