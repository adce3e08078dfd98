/* test_store_ready.c — readiness kept incrementally (schema 4): the counts
 * after every transition, the claim order, a claim's plan being an index
 * lookup without a sort at any queue length, and a database of schema 3
 * migrated with its readiness computed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "store/store.h"

#define STORE_FIXTURE_NAME "ready"
#include "store_fixture.h"

/* extract (none) -> analyze (text) -> describe (vision, needs both) */
static const struct step_decl three[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, 1},
	{"describe", ROLE_VISION, 3},
};

static int64_t add(store *st, int i, const struct step_decl *steps, size_t n)
{
	char path[64];
	snprintf(path, sizeof path, "/notes/%06d.md", i);
	struct doc_input in = {.path = path, .sha256 = path, .mime = "text/plain", .kind = "text", .bytes = 10, .mtime = 1};
	int64_t id;
	struct err e = {0};
	assert_int_equal(store_doc_insert(st, &in, steps, n, &id, &e), 0);
	return id;
}

static struct step_rec claim(store *st, unsigned mask, int prefer, int in_order)
{
	struct claim_filter f = {.role_mask = mask, .prefer_role = prefer, .document_order = in_order, .holder = "h"};
	struct step_rec s;
	struct err e = {0};
	assert_int_equal(store_step_claim(st, &f, NULL, 0, &s, &e), 0);
	return s;
}

static struct steps_pending pending(store *st)
{
	struct steps_pending p;
	struct err e = {0};
	assert_int_equal(store_steps_pending(st, "h", &p, &e), 0);
	return p;
}

#define ALL ((1u << ROLE_NONE) | (1u << ROLE_TEXT) | (1u << ROLE_VISION))

static void readiness_follows_every_transition(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	assert_int_equal(store_lease_acquire(st, "h", 60, NULL, 0, &e), 0);
	add(st, 1, three, 3);
	struct steps_pending p = pending(st);
	assert_int_equal(p.ready[ROLE_NONE], 1);
	assert_int_equal(p.waiting[ROLE_TEXT], 1);
	assert_int_equal(p.waiting[ROLE_VISION], 1);

	struct step_rec s = claim(st, ALL, -1, 0);
	assert_string_equal(s.kind, "extract_text");
	p = pending(st);
	assert_int_equal(p.running, 1);
	assert_int_equal(p.ready[ROLE_NONE], 0);
	/* the text step waits until extract is done, the vision step until both are */
	struct claim_filter f = {.role_mask = 1u << ROLE_TEXT, .prefer_role = -1, .holder = "h"};
	struct step_rec none;
	assert_int_equal(store_step_claim(st, &f, NULL, 0, &none, &e), DOSSIER_ENOTFOUND);
	assert_int_equal(store_step_done(st, s.id, "h", "{}", NULL, 0, &e), 0);
	step_rec_clear(&s);
	p = pending(st);
	assert_int_equal(p.running, 0);
	assert_int_equal(p.ready[ROLE_TEXT], 1);
	assert_int_equal(p.waiting[ROLE_VISION], 1);

	/* a retry with a future time is delayed, not ready */
	s = claim(st, ALL, -1, 0);
	assert_string_equal(s.kind, "analyze_text");
	assert_int_equal(store_step_retry(st, s.id, "h", "busy", 4102444800.0, NULL, 0, &e), 0);
	step_rec_clear(&s);
	p = pending(st);
	assert_int_equal(p.ready[ROLE_TEXT], 0);
	assert_int_equal(p.delayed[ROLE_TEXT], 1);
	assert_true(p.next_at > 4e9);
	assert_int_equal(store_step_claim(st, &f, NULL, 0, &none, &e), DOSSIER_ENOTFOUND);

	/* nothing else is claimable: the vision step still waits on the delayed one */
	f.role_mask = ALL;
	assert_int_equal(store_step_claim(st, &f, NULL, 0, &none, &e), DOSSIER_ENOTFOUND);
	store_close(st);
}

static void readiness_after_done_fail_and_deferral(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	assert_int_equal(store_lease_acquire(st, "h", 60, NULL, 0, &e), 0);
	add(st, 1, three, 3);
	add(st, 2, three, 3);

	struct step_rec s = claim(st, ALL, -1, 0);
	assert_int_equal(s.idx, 0);
	assert_int_equal(store_step_done(st, s.id, "h", "{}", NULL, 0, &e), 0);
	step_rec_clear(&s);
	s = claim(st, 1u << ROLE_TEXT, -1, 0);
	assert_string_equal(s.kind, "analyze_text");
	assert_int_equal(store_step_retry(st, s.id, "h", "try again", 0, NULL, 0, &e), 0);
	step_rec_clear(&s);
	assert_int_equal(pending(st).ready[ROLE_TEXT], 1);
	s = claim(st, 1u << ROLE_TEXT, -1, 0);
	assert_int_equal(s.attempts, 2);
	assert_int_equal(store_step_done(st, s.id, "h", "{}", NULL, 0, &e), 0);
	step_rec_clear(&s);
	struct steps_pending p = pending(st);
	assert_int_equal(p.ready[ROLE_VISION], 1);
	assert_int_equal(p.waiting[ROLE_VISION], 1);

	/* deferred by this holder: not ready for it, counted as deferred */
	s = claim(st, 1u << ROLE_VISION, -1, 0);
	assert_int_equal(store_step_defer(st, s.id, "h", "later", 0, NULL, 0, &e), 0);
	step_rec_clear(&s);
	p = pending(st);
	assert_int_equal(p.ready[ROLE_VISION], 0);
	assert_int_equal(p.deferred, 1);
	struct claim_filter fv = {.role_mask = 1u << ROLE_VISION, .prefer_role = -1, .holder = "h"};
	assert_int_equal(store_step_claim(st, &fv, NULL, 0, &s, &e), DOSSIER_ENOTFOUND);
	/* ... but another holder takes it */
	assert_int_equal(store_lease_acquire(st, "other", 60, NULL, 0, &e), 0);
	fv.holder = "other";
	assert_int_equal(store_step_claim(st, &fv, NULL, 0, &s, &e), 0);
	assert_string_equal(s.kind, "describe");
	assert_int_equal(store_step_done(st, s.id, "other", "{}", NULL, 0, &e), 0);
	step_rec_clear(&s);

	/* document 2: extract fails for good, both dependents are skipped, nothing is pending */
	s = claim(st, ALL, -1, 0);
	assert_string_equal(s.kind, "extract_text");
	assert_int_equal(store_step_fail(st, s.id, "h", "unreadable", NULL, 0, &e), 0);
	int64_t doc2 = s.document_id;
	step_rec_clear(&s);
	p = pending(st);
	for (int r = 0; r < ROLE_COUNT; r++) {
		assert_int_equal(p.ready[r], 0);
		assert_int_equal(p.waiting[r], 0);
	}
	assert_int_equal(p.running, 0);
	struct step_rec *v;
	size_t n;
	assert_int_equal(store_doc_steps(st, doc2, &v, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[1].state, STEP_SKIPPED);
	assert_int_equal(v[2].state, STEP_SKIPPED);
	step_recs_free(v, n);

	/* a released lease puts its running step back: ready again */
	add(st, 3, three, 3);
	s = claim(st, ALL, -1, 0);
	step_rec_clear(&s);
	assert_int_equal(pending(st).running, 1);
	assert_int_equal(store_lease_release(st, "h", NULL, &e), 0);
	p = pending(st);
	assert_int_equal(p.running, 0);
	assert_int_equal(p.ready[ROLE_NONE], 1);
	store_close(st);
}

static void claims_follow_preference_then_document_then_index(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	static const struct step_decl txt[] = {{"analyze_text", ROLE_TEXT, 0}};
	static const struct step_decl img[] = {{"describe", ROLE_VISION, 0}};
	static const struct step_decl pair[] = {{"analyze_text", ROLE_TEXT, 0}, {"describe", ROLE_VISION, 0}};
	assert_int_equal(store_open(db, &st, &e), 0);
	assert_int_equal(store_lease_acquire(st, "h", 60, NULL, 0, &e), 0);
	int64_t d1 = add(st, 1, img, 1);
	int64_t d2 = add(st, 2, txt, 1);
	int64_t d3 = add(st, 3, pair, 2);
	unsigned tv = (1u << ROLE_TEXT) | (1u << ROLE_VISION);

	/* the preferred role first, oldest document first */
	struct step_rec s = claim(st, tv, ROLE_TEXT, 0);
	assert_int_equal(s.document_id, d2);
	step_rec_clear(&s);
	/* no preference: the oldest document */
	s = claim(st, tv, -1, 0);
	assert_int_equal(s.document_id, d1);
	step_rec_clear(&s);
	/* then within a document by idx */
	s = claim(st, tv, -1, 0);
	assert_int_equal(s.document_id, d3);
	assert_int_equal(s.idx, 0);
	step_rec_clear(&s);
	s = claim(st, tv, ROLE_TEXT, 0); /* no text left: the preference falls through */
	assert_int_equal(s.document_id, d3);
	assert_int_equal(s.idx, 1);
	step_rec_clear(&s);

	/* sequential: strictly the oldest document with an open step, even if it is running */
	int64_t d4 = add(st, 4, txt, 1);
	add(st, 5, txt, 1);
	struct claim_filter f = {.role_mask = tv, .prefer_role = -1, .document_order = 1, .holder = "h"};
	assert_int_equal(store_step_claim(st, &f, NULL, 0, &s, &e), DOSSIER_ENOTFOUND); /* d1 still running */
	store_close(st);
	(void)d4;
}

/* A queue of n documents with about half the steps done. */
static store *big_queue(int n)
{
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	assert_int_equal(store_lease_acquire(st, "h", 600, NULL, 0, &e), 0);
	for (int i = 0; i < n; i++)
		add(st, i, three, 3);
	for (int i = 0; i < n / 2; i++) {
		struct step_rec s = claim(st, ALL, -1, 0);
		assert_int_equal(store_step_done(st, s.id, "h", "{}", NULL, 0, &e), 0);
		step_rec_clear(&s);
	}
	return st;
}

static void a_claims_plan_is_an_index_lookup_without_a_sort(void **state)
{
	(void)state;
	if (fixture_is_pg())
		skip();  /* SQLite's plans, read with EXPLAIN QUERY PLAN; PostgreSQL plans by its statistics */
	store *st = big_queue(400);
	struct err e = {0};
	for (int analyzed = 0; analyzed < 2; analyzed++) {
		char *plan = NULL;
		assert_int_equal(store_queue_explain(st, &plan, &e), 0);
		assert_non_null(strstr(plan, "claim_ready: SEARCH s USING INDEX steps_ready (role=?)"));
		assert_non_null(strstr(plan, "claim_later: SEARCH s USING INDEX steps_later (role=?)"));
		assert_non_null(strstr(plan, "claim_of_document: SEARCH s USING INDEX sqlite_autoindex_steps_1 (document_id=?)"));
		assert_non_null(strstr(plan, "oldest_open: SEARCH steps USING INDEX steps_open (role=?)"));
		for (const char *l = plan; (l = strstr(l, "TEMP B-TREE")); l++) {
			/* only the one-document claim may sort, its few steps */
			const char *bol = l;
			while (bol > plan && bol[-1] != '\n')
				bol--;
			assert_true(!strncmp(bol, "claim_of_document:", 18));
		}
		assert_null(strstr(plan, ": SCAN"));
		free(plan);
		/* with statistics the plan stays the same (a plain planner would scan) */
		store_close(st);
		sqlite3 *raw;
		assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
		assert_int_equal(sqlite3_exec(raw, "ANALYZE", NULL, NULL, NULL), SQLITE_OK);
		sqlite3_close(raw);
		assert_int_equal(store_open(db, &st, &e), 0);
	}
	store_close(st);
}

static void a_schema_3_database_gets_its_readiness_computed(void **state)
{
	(void)state;
	if (fixture_is_pg())
		skip();  /* a SQLite file of schema 3; PostgreSQL databases begin at schema 10 */
	sqlite3 *raw;
	/* schema 3 as shipped, enough of it for steps */
	assert_int_equal(sqlite3_open(db, &raw), SQLITE_OK);
	assert_int_equal(sqlite3_exec(raw,
		"CREATE TABLE documents(id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, sha256 TEXT NOT NULL DEFAULT '',"
		" mime TEXT NOT NULL DEFAULT '', kind TEXT NOT NULL DEFAULT 'unsupported', bytes INTEGER NOT NULL DEFAULT 0,"
		" mtime INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL DEFAULT 'queued', error TEXT,"
		" created_at REAL NOT NULL, updated_at REAL NOT NULL);"
		"CREATE INDEX documents_sha256 ON documents(sha256); CREATE INDEX documents_status ON documents(status);"
		"CREATE TABLE steps(id INTEGER PRIMARY KEY, document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
		" idx INTEGER NOT NULL, kind TEXT NOT NULL, role TEXT NOT NULL, deps INTEGER NOT NULL DEFAULT 0,"
		" state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0, owner INTEGER, last_error TEXT,"
		" result TEXT, started_at REAL, finished_at REAL, UNIQUE(document_id, idx));"
		"CREATE INDEX steps_state ON steps(state, role);"
		"CREATE TABLE dossiers(document_id INTEGER PRIMARY KEY, json TEXT NOT NULL, updated_at REAL NOT NULL);"
		"CREATE TABLE events(seq INTEGER PRIMARY KEY, time REAL NOT NULL, event TEXT NOT NULL, document_id INTEGER, json TEXT NOT NULL);"
		"CREATE VIRTUAL TABLE dossier_fts USING fts5(title, summary, tags, keywords, text, transcript, ocr,"
		" tokenize='porter unicode61 remove_diacritics 2');"
		"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
		"CREATE TABLE workers(holder TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL,"
		" proc_start INTEGER NOT NULL DEFAULT 0, started_at REAL NOT NULL, heartbeat_at REAL NOT NULL, expires_at REAL NOT NULL);"
		"ALTER TABLE steps ADD COLUMN holder TEXT; ALTER TABLE steps ADD COLUMN not_before REAL;"
		"ALTER TABLE steps ADD COLUMN deferred_by TEXT;"
		"CREATE INDEX steps_holder ON steps(holder) WHERE state = 'running';"
		"PRAGMA user_version=3;"
		"INSERT INTO documents(id, path, created_at, updated_at) VALUES(1, '/a', 0, 0), (2, '/b', 0, 0);"
		"INSERT INTO steps(document_id, idx, kind, role, deps, state) VALUES"
		" (1, 0, 'extract_text', 'none', 0, 'done'), (1, 1, 'analyze_text', 'text', 1, 'queued'),"
		" (1, 2, 'describe', 'vision', 3, 'queued'),"
		" (2, 0, 'extract_text', 'none', 0, 'queued'), (2, 1, 'analyze_text', 'text', 1, 'queued');",
		NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(raw);

	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	struct steps_pending p = pending(st);
	assert_int_equal(p.ready[ROLE_NONE], 1);
	assert_int_equal(p.ready[ROLE_TEXT], 1);
	assert_int_equal(p.waiting[ROLE_TEXT], 1);
	assert_int_equal(p.waiting[ROLE_VISION], 1);
	assert_int_equal(store_lease_acquire(st, "h", 60, NULL, 0, &e), 0);
	struct step_rec s = claim(st, 1u << ROLE_TEXT, -1, 0);
	assert_int_equal(s.document_id, 1);
	assert_int_equal(store_step_done(st, s.id, "h", "{}", NULL, 0, &e), 0);
	step_rec_clear(&s);
	s = claim(st, 1u << ROLE_VISION, -1, 0);
	assert_string_equal(s.kind, "describe");
	step_rec_clear(&s);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(readiness_follows_every_transition, setup, teardown),
		cmocka_unit_test_setup_teardown(readiness_after_done_fail_and_deferral, setup, teardown),
		cmocka_unit_test_setup_teardown(claims_follow_preference_then_document_then_index, setup, teardown),
		cmocka_unit_test_setup_teardown(a_claims_plan_is_an_index_lookup_without_a_sort, setup, teardown),
		cmocka_unit_test_setup_teardown(a_schema_3_database_gets_its_readiness_computed, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
