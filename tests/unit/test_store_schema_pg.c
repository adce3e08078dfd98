/* test_store_schema_pg.c — the store's schema on PostgreSQL (src/store/schema_pg.c),
 * on a real server: each test gets a database of its own, created and dropped.
 *
 * The server is the one DOSSIER_TEST_PG names or, without it, the one the CTest
 * fixture `pg` started (tests/pg/server.sh keeps its URL in <build>/pg/url);
 * with neither the test exits 77 (skipped).
 *
 * What a user of the store relies on, in plain SQL: two migrators at once
 * apply the schema once; pending_deps and step_counts follow a step's
 * dependencies being done and undone; deleting a document takes its steps,
 * dossier, chunks and index entry with it and keeps the counts right; the
 * vector generation grows with every change, in commit order; the full-text
 * index stems, folds accents (with unaccent), ranks a title above a body, and
 * takes a text longer than one tsvector holds; where CREATE EXTENSION is
 * refused, the configuration is plain english and the rest works the same. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "store/db.h"
#include "store/schema_pg.h"

static char server_url[1024];  /* the server's URL (its database `postgres`) */
static char db_name[64];       /* this test's database */
static char db_url[1200];      /* ... and its URL */

static struct dbl_conn *conn_to(const char *url)
{
	struct dbl_conn *c = NULL;
	struct err e = {0};
	if (dbl_open_pg(url, &c, &e))
		fail_msg("open %s: %s", url, e.msg);
	return c;
}

static struct dbl_conn *open_conn(void)
{
	return conn_to(db_url);
}

static void exec_ok(struct dbl_conn *c, const char *sql)
{
	struct err e = {0};
	if (dbl_exec(c, sql, &e))
		fail_msg("%s: %s", sql, e.msg);
}

/* Column 0 of the one row of `sql` (a string literal: statements are cached by
 * address), with n bigint parameters ?1..?n. */
static int64_t val(struct dbl_conn *c, const char *sql, int n, ...)
{
	struct err e = {0};
	struct dbl_stmt *q = dbl_prep(c, sql, &e);
	if (!q)
		fail_msg("%s: %s", sql, e.msg);
	va_list ap;
	va_start(ap, n);
	for (int i = 1; i <= n; i++)
		dbl_bind_i64(q, i, va_arg(ap, int64_t));
	va_end(ap);
	int rc = dbl_step(q, &e);
	if (rc != DBL_ROW)
		fail_msg("%s: %d %s", sql, rc, e.msg);
	int64_t v = dbl_col_i64(q, 0);
	dbl_done(q);
	return v;
}

/* A new database for each test: the server keeps what a test leaves. */
static int setup_db(void **state)
{
	static int n;
	(void)state;
	snprintf(db_name, sizeof db_name, "dossier_schema_%d_%d", (int)getpid(), ++n);
	snprintf(db_url, sizeof db_url, "%s%cdbname=%s", server_url, strchr(server_url, '?') ? '&' : '?', db_name);
	struct dbl_conn *c = conn_to(server_url);
	char sql[256];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", db_name);
	exec_ok(c, sql);
	snprintf(sql, sizeof sql, "CREATE DATABASE %s", db_name);
	exec_ok(c, sql);
	dbl_close(c);
	return 0;
}

static int teardown_db(void **state)
{
	(void)state;
	struct dbl_conn *c = conn_to(server_url);
	char sql[256];
	snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db_name);
	exec_ok(c, sql);
	dbl_close(c);
	return 0;
}

static void migrate_ok(struct dbl_conn *c)
{
	struct err e = {0};
	int v = 0;
	if (dbl_migrate(c, store_pg_migrations, STORE_PG_BASE_VERSION, NULL, &v, &e))
		fail_msg("migrate: %s", e.msg);
	assert_int_equal(v, STORE_PG_BASE_VERSION);
}

/* A database at the schema's version, and a connection to it. */
static int setup_schema(void **state)
{
	setup_db(state);
	struct dbl_conn *c = open_conn();
	migrate_ok(c);
	*state = c;
	return 0;
}

static int teardown_schema(void **state)
{
	dbl_close(*state);
	return teardown_db(state);
}

static int64_t new_doc(struct dbl_conn *c, const char *path)
{
	static const char sql[] = "INSERT INTO documents(path, created_at, updated_at) VALUES(?1, 0, 0) RETURNING id";
	struct err e = {0};
	struct dbl_stmt *q = dbl_prep(c, sql, &e);
	int64_t id = 0;
	assert_non_null(q);
	dbl_bind_text(q, 1, path);
	if (dbl_insert(q, &id, &e))
		fail_msg("insert %s: %s", path, e.msg);
	assert_true(id > 0);
	return id;
}

/* ============================================================ migrations */

static atomic_int applied;

static int count_apply(struct dbl_conn *c, void *user, struct err *err)
{
	(void)c;
	(void)user;
	(void)err;
	atomic_fetch_add(&applied, 1);
	usleep(100 * 1000);  /* a wide window for the other migrator */
	return 0;
}

/* store_pg_migrations with a counter after the schema's script */
static struct dbl_migration counted[STORE_PG_BASE_VERSION];

struct migrator {
	pthread_barrier_t *go;
	int rc, version;
	char msg[ERR_MSG_MAX];
};

static void *migrate_thread(void *arg)
{
	struct migrator *m = arg;
	struct dbl_conn *c = open_conn();
	struct err e = {0};
	pthread_barrier_wait(m->go);
	m->rc = dbl_migrate(c, counted, STORE_PG_BASE_VERSION, NULL, &m->version, &e);
	snprintf(m->msg, sizeof m->msg, "%s", e.msg);
	dbl_close(c);
	return NULL;
}

static void two_migrators_at_once_create_the_schema_once(void **state)
{
	(void)state;
	/* one script, then empty steps so that versions mean the same as on SQLite */
	assert_non_null(store_pg_migrations[0].sql);
	assert_null(store_pg_migrations[0].fn);
	for (int i = 1; i < STORE_PG_BASE_VERSION; i++) {
		assert_null(store_pg_migrations[i].sql);
		assert_null(store_pg_migrations[i].fn);
	}
	memcpy(counted, store_pg_migrations, sizeof counted);
	counted[0].fn = count_apply;
	atomic_store(&applied, 0);

	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, 2);
	struct migrator m[2] = {{.go = &go}, {.go = &go}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, migrate_thread, &m[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < 2; i++) {
		if (m[i].rc)
			fail_msg("migrator %d: %s", i, m[i].msg);
		assert_int_equal(m[i].version, STORE_PG_BASE_VERSION);
	}
	assert_int_equal(atomic_load(&applied), 1);

	struct dbl_conn *c = open_conn();
	assert_int_equal(val(c, "SELECT max(version) FROM schema_version", 0), STORE_PG_BASE_VERSION);
	/* the tables and indexes SQLite has at version 10 (besides FTS5's shadow tables) */
	assert_int_equal(val(c, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename IN"
	                        " ('documents','steps','step_counts','dossiers','dossier_fts','events','meta',"
	                        "  'workers','measures','chunks','chunk_q8','vector_docs')", 0), 12);
	assert_int_equal(val(c, "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname IN"
	                        " ('documents_sha256','documents_status','documents_parent','documents_same_as',"
	                        "  'steps_ready','steps_later','steps_open','steps_holder','chunks_model',"
	                        "  'vector_docs_gen','dossier_fts_tsv')", 0), 11);
	assert_int_equal(val(c, "SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname IN"
	                        " ('steps_dep_done','steps_dep_undone','steps_count_ins','steps_count_del',"
	                        "  'steps_count_upd','chunk_q8_added','chunk_q8_deleted')", 0), 7);
	/* up to date: the real list applies nothing */
	migrate_ok(c);
	assert_int_equal(atomic_load(&applied), 1);
	dbl_close(c);
}

/* ============================================================ the queue */

static int64_t counts(struct dbl_conn *c, const char *role, const char *bucket)
{
	static const char sql[] = "SELECT COALESCE((SELECT sum(n) FROM step_counts WHERE role = ?1 AND bucket = ?2), 0)";
	struct err e = {0};
	struct dbl_stmt *q = dbl_prep(c, sql, &e);
	assert_non_null(q);
	dbl_bind_text(q, 1, role);
	dbl_bind_text(q, 2, bucket);
	if (dbl_step(q, &e) != DBL_ROW)
		fail_msg("step_counts: %s", e.msg);
	int64_t n = dbl_col_i64(q, 0);
	dbl_done(q);
	return n;
}

static int64_t pending(struct dbl_conn *c, int64_t doc, int idx)
{
	return val(c, "SELECT pending_deps FROM steps WHERE document_id = ?1 AND idx = ?2", 2, doc, (int64_t)idx);
}

static void set_state(struct dbl_conn *c, int64_t doc, int idx, const char *state)
{
	char sql[256];
	snprintf(sql, sizeof sql, "UPDATE steps SET state = '%s' WHERE document_id = %lld AND idx = %d", state,
	         (long long)doc, idx);
	exec_ok(c, sql);
}

/* a document's three steps: 0 (text, no deps), 1 (vision, needs 0), 2 (text, needs 0 and 1) */
static void three_steps(struct dbl_conn *c, int64_t doc)
{
	char sql[512];
	snprintf(sql, sizeof sql,
	         "INSERT INTO steps(document_id, idx, kind, role, deps, pending_deps) VALUES"
	         " (%lld, 0, 'extract', 'text', 0, 0), (%lld, 1, 'ocr', 'vision', 1, 1),"
	         " (%lld, 2, 'analyze', 'text', 3, 2)",
	         (long long)doc, (long long)doc, (long long)doc);
	exec_ok(c, sql);
}

static void dependencies_done_and_undone_keep_pending_deps_and_counts(void **state)
{
	struct dbl_conn *c = *state;
	int64_t doc = new_doc(c, "/a/letter.pdf");
	three_steps(c, doc);
	assert_int_equal(counts(c, "text", "ready"), 1);
	assert_int_equal(counts(c, "text", "waiting"), 1);
	assert_int_equal(counts(c, "vision", "waiting"), 1);
	assert_int_equal(counts(c, "vision", "ready"), 0);

	/* claimed: ready -> running */
	exec_ok(c, "UPDATE steps SET state = 'running', holder = 'h:1:1', attempts = attempts + 1 WHERE idx = 0");
	assert_int_equal(counts(c, "text", "ready"), 0);
	assert_int_equal(counts(c, "text", "running"), 1);
	/* a change of other columns, or a state set to itself, moves nothing */
	exec_ok(c, "UPDATE steps SET state = state, last_error = 'x', attempts = attempts + 1");
	assert_int_equal(counts(c, "text", "running"), 1);
	assert_int_equal(counts(c, "text", "waiting"), 1);
	assert_int_equal(pending(c, doc, 2), 2);

	/* done: its dependents each have one fewer; step 1 becomes ready */
	set_state(c, doc, 0, "done");
	assert_int_equal(pending(c, doc, 0), 0);
	assert_int_equal(pending(c, doc, 1), 0);
	assert_int_equal(pending(c, doc, 2), 1);
	assert_int_equal(counts(c, "text", "running"), 0);
	assert_int_equal(counts(c, "vision", "waiting"), 0);
	assert_int_equal(counts(c, "vision", "ready"), 1);
	assert_int_equal(counts(c, "text", "waiting"), 1);
	assert_int_equal(val(c, "SELECT count(*) FROM steps WHERE state = 'queued' AND pending_deps = 0"
	                        " AND not_before IS NULL AND deferred_by IS NULL", 0), 1);

	/* step 1 run and done: step 2 is ready */
	set_state(c, doc, 1, "running");
	assert_int_equal(counts(c, "vision", "running"), 1);
	set_state(c, doc, 1, "done");
	assert_int_equal(pending(c, doc, 2), 0);
	assert_int_equal(counts(c, "vision", "running"), 0);
	assert_int_equal(counts(c, "text", "waiting"), 0);
	assert_int_equal(counts(c, "text", "ready"), 1);

	/* done -> queued (a re-analysis): its dependents wait for it again */
	set_state(c, doc, 0, "queued");
	assert_int_equal(pending(c, doc, 1), 1);
	assert_int_equal(pending(c, doc, 2), 1);
	assert_int_equal(counts(c, "text", "ready"), 1);    /* step 0 */
	assert_int_equal(counts(c, "text", "waiting"), 1);  /* step 2 */
	assert_int_equal(counts(c, "vision", "ready"), 0);  /* step 1 is done: not counted */

	/* several steps in one statement: the counts are those of the rows one by one */
	exec_ok(c, "UPDATE steps SET state = 'failed' WHERE state = 'queued'");
	assert_int_equal(val(c, "SELECT COALESCE(sum(n), 0) FROM step_counts", 0), 0);
	exec_ok(c, "UPDATE steps SET state = 'queued'");  /* 1 leaves done: 2 waits for it again */
	assert_int_equal(pending(c, doc, 2), 2);
	assert_int_equal(counts(c, "text", "ready"), 1);
	assert_int_equal(counts(c, "vision", "waiting"), 1);
	assert_int_equal(counts(c, "text", "waiting"), 1);
}

static void a_step_past_the_64th_has_no_dependents(void **state)
{
	struct dbl_conn *c = *state;
	int64_t doc = new_doc(c, "/a/many.zip");
	/* deps bit 0 only; SQLite's (deps >> 64) & 1 is 0, a wrapped shift would say 1 */
	char sql[512];
	snprintf(sql, sizeof sql,
	         "INSERT INTO steps(document_id, idx, kind, role, deps, pending_deps) VALUES"
	         " (%lld, 0, 'a', 'text', 0, 0), (%lld, 64, 'b', 'text', 0, 0), (%lld, 65, 'c', 'text', 1, 1)",
	         (long long)doc, (long long)doc, (long long)doc);
	exec_ok(c, sql);
	set_state(c, doc, 64, "done");
	assert_int_equal(pending(c, doc, 65), 1);
	set_state(c, doc, 0, "done");
	assert_int_equal(pending(c, doc, 65), 0);
	/* the top bit: a negative mask still reads bit 63 */
	snprintf(sql, sizeof sql,
	         "INSERT INTO steps(document_id, idx, kind, role, deps, pending_deps) VALUES"
	         " (%lld, 63, 'd', 'text', 0, 0), (%lld, 66, 'e', 'text', -9223372036854775808, 1)",
	         (long long)doc, (long long)doc);
	exec_ok(c, sql);
	set_state(c, doc, 63, "done");
	assert_int_equal(pending(c, doc, 66), 0);
}

/* ============================================================ deletion */

static void deleting_a_document_takes_what_is_its_own_and_keeps_the_counts(void **state)
{
	struct dbl_conn *c = *state;
	int64_t doc = new_doc(c, "/a/archive.zip"), other = new_doc(c, "/a/other.txt");
	int64_t child = new_doc(c, "/blobs/ab/member.txt"), copy = new_doc(c, "/b/archive.zip");
	char sql[1024];
	snprintf(sql, sizeof sql,
	         "UPDATE documents SET parent_id = %lld, place = 'member.txt' WHERE id = %lld;"
	         "UPDATE documents SET same_as = %lld, status = 'duplicate' WHERE id = %lld;"
	         "INSERT INTO dossiers(document_id, json, updated_at) VALUES (%lld, '{}', 0), (%lld, '{}', 0);"
	         "INSERT INTO dossier_fts(rowid, title, text) VALUES (%lld, 'archive', 'x'), (%lld, 'other', 'y');"
	         "INSERT INTO chunks(document_id, seq, source, text, model, dim, f32) VALUES"
	         " (%lld, 0, 'text', 'a', 'm', 2, '\\x0000803f0000803f'), (%lld, 1, 'text', 'b', 'm', 2, '\\x00');"
	         "INSERT INTO chunk_q8(chunk_id, document_id, model, dim, scale, q8)"
	         " SELECT id, document_id, model, dim, 0.01, '\\x7f7f' FROM chunks",
	         (long long)doc, (long long)child, (long long)doc, (long long)copy, (long long)doc, (long long)other,
	         (long long)doc, (long long)other, (long long)doc, (long long)doc);
	exec_ok(c, sql);
	three_steps(c, doc);
	three_steps(c, other);
	set_state(c, doc, 0, "running");
	assert_int_equal(counts(c, "text", "running"), 1);
	assert_int_equal(counts(c, "text", "ready"), 1);
	assert_int_equal(counts(c, "text", "waiting"), 2);
	int64_t gen = val(c, "SELECT max(gen) FROM vector_docs", 0);

	snprintf(sql, sizeof sql, "DELETE FROM documents WHERE id = %lld", (long long)doc);
	exec_ok(c, sql);
	assert_int_equal(val(c, "SELECT count(*) FROM steps WHERE document_id = ?1", 1, doc), 0);
	assert_int_equal(val(c, "SELECT count(*) FROM dossiers WHERE document_id = ?1", 1, doc), 0);
	assert_int_equal(val(c, "SELECT count(*) FROM dossier_fts WHERE rowid = ?1", 1, doc), 0);
	assert_int_equal(val(c, "SELECT count(*) FROM chunks WHERE document_id = ?1", 1, doc), 0);
	assert_int_equal(val(c, "SELECT count(*) FROM chunk_q8 WHERE document_id = ?1", 1, doc), 0);
	/* its child and its copy stay, on their own */
	assert_int_equal(val(c, "SELECT count(*) FROM documents WHERE id = ?1 AND parent_id IS NULL", 1, child), 1);
	assert_int_equal(val(c, "SELECT count(*) FROM documents WHERE id = ?1 AND same_as IS NULL", 1, copy), 1);
	/* the other document is untouched, and so are its counts */
	assert_int_equal(val(c, "SELECT count(*) FROM steps WHERE document_id = ?1", 1, other), 3);
	assert_int_equal(val(c, "SELECT count(*) FROM dossier_fts WHERE rowid = ?1", 1, other), 1);
	assert_int_equal(counts(c, "text", "running"), 0);
	assert_int_equal(counts(c, "text", "ready"), 1);
	assert_int_equal(counts(c, "text", "waiting"), 1);
	assert_int_equal(counts(c, "vision", "waiting"), 1);
	/* the deleted vectors are a change a cache must learn of */
	assert_true(val(c, "SELECT gen FROM vector_docs WHERE document_id = ?1", 1, doc) > gen);
}

/* ============================================================ vector generations */

static void add_q8(struct dbl_conn *c, int64_t doc, int seq)
{
	char sql[512];
	snprintf(sql, sizeof sql,
	         "WITH k AS (INSERT INTO chunks(document_id, seq, source, text, model, dim, f32)"
	         "  VALUES (%lld, %d, 'text', 't', 'm', 1, '\\x0000803f') RETURNING id, document_id)"
	         " INSERT INTO chunk_q8(chunk_id, document_id, model, dim, scale, q8)"
	         " SELECT id, document_id, 'm', 1, 0.01, '\\x7f' FROM k",
	         (long long)doc, seq);
	exec_ok(c, sql);
}

static int64_t gen_of(struct dbl_conn *c, int64_t doc)
{
	return val(c, "SELECT COALESCE((SELECT gen FROM vector_docs WHERE document_id = ?1), 0)", 1, doc);
}

static void every_vector_change_raises_the_generation(void **state)
{
	struct dbl_conn *c = *state;
	int64_t a = new_doc(c, "/a.txt"), b = new_doc(c, "/b.txt");
	assert_int_equal(val(c, "SELECT COALESCE(max(gen), 0) FROM vector_docs", 0), 0);
	add_q8(c, a, 0);
	int64_t g1 = gen_of(c, a);
	assert_true(g1 > 0);
	add_q8(c, a, 1);
	int64_t g2 = gen_of(c, a);
	assert_true(g2 > g1);
	add_q8(c, b, 0);
	int64_t g3 = gen_of(c, b);
	assert_true(g3 > g2);
	assert_int_equal(gen_of(c, a), g2);
	char sql[128];
	snprintf(sql, sizeof sql, "DELETE FROM chunk_q8 WHERE document_id = %lld", (long long)a);
	exec_ok(c, sql);
	int64_t g4 = gen_of(c, a);
	assert_true(g4 > g3);
	assert_int_equal(val(c, "SELECT max(gen) FROM vector_docs", 0), g4);
	assert_int_equal(val(c, "SELECT count(*) FROM vector_docs WHERE gen > ?1", 1, g3), 1);  /* a, deleted */
}

struct writer {
	int64_t doc;
	atomic_int done;
	char msg[ERR_MSG_MAX];
};

static void *write_vectors(void *arg)
{
	struct writer *w = arg;
	struct dbl_conn *c = open_conn();
	struct err e = {0};
	if (dbl_begin(c, 0, &e) == 0) {
		add_q8(c, w->doc, 0);
		dbl_commit(c, &e);
	}
	snprintf(w->msg, sizeof w->msg, "%s", e.msg);
	atomic_store(&w->done, 1);
	dbl_close(c);
	return NULL;
}

/* A reader that saw generation G finds, with gen > G, every change committed after. */
static void a_reader_never_misses_a_change_committed_after_it_looked(void **state)
{
	struct dbl_conn *c = *state, *reader = open_conn();
	struct err e = {0};
	int64_t a = new_doc(c, "/a.txt"), b = new_doc(c, "/b.txt");
	assert_int_equal(dbl_begin(c, 0, &e), 0);
	add_q8(c, a, 0);  /* a's generation taken; not committed */

	struct writer w = {.doc = b};
	pthread_t t;
	pthread_create(&t, NULL, write_vectors, &w);
	for (int i = 0; i < 30 && !atomic_load(&w.done); i++)
		usleep(10 * 1000);
	/* b's writer waits for a's transaction (with a bare sequence it would have
	 * committed a later number first, and the reader below would miss a) */
	assert_false(atomic_load(&w.done));
	int64_t seen = val(reader, "SELECT COALESCE(max(gen), 0) FROM vector_docs", 0);
	assert_int_equal(dbl_commit(c, &e), 0);
	pthread_join(t, NULL);
	if (w.msg[0])
		fail_msg("writer: %s", w.msg);
	assert_int_equal(val(reader, "SELECT count(*) FROM vector_docs WHERE gen > ?1", 1, seen), 2);
	assert_true(gen_of(reader, b) > gen_of(reader, a));  /* generations in commit order */
	dbl_close(reader);
}

/* ============================================================ full-text search */

static int64_t hits(struct dbl_conn *c, const char *query)
{
	static const char sql[] = "SELECT count(*) FROM dossier_fts WHERE tsv @@ websearch_to_tsquery('dossier', ?1)";
	struct err e = {0};
	struct dbl_stmt *q = dbl_prep(c, sql, &e);
	assert_non_null(q);
	dbl_bind_text(q, 1, query);
	if (dbl_step(q, &e) != DBL_ROW)
		fail_msg("search %s: %s", query, e.msg);
	int64_t n = dbl_col_i64(q, 0);
	dbl_done(q);
	return n;
}

static void search_stems_folds_accents_and_ranks_the_title_first(void **state)
{
	struct dbl_conn *c = *state;
	int64_t d1 = new_doc(c, "/town.txt"), d2 = new_doc(c, "/cafe.txt"), d3 = new_doc(c, "/budget.txt"),
	        d4 = new_doc(c, "/minutes.txt"), d5 = new_doc(c, "/menu.txt");
	char sql[1024];
	snprintf(sql, sizeof sql,
	         "INSERT INTO dossier_fts(rowid, title, summary, tags, keywords, text, transcript, ocr) VALUES"
	         " (%lld, 'Town hall', 'Works', 'city', 'hall', 'The renovation of the old town hall', NULL, NULL),"
	         " (%lld, 'Breakfast', NULL, NULL, NULL, NULL, 'un café au lait, s''il vous plaît', NULL),"
	         " (%lld, 'Budget 2026', 'Figures', NULL, NULL, 'Income and spending', NULL, NULL),"
	         " (%lld, 'Minutes', 'A meeting', NULL, NULL, 'We discussed the budget at length', NULL, NULL),"
	         " (%lld, 'Menu', NULL, NULL, NULL, NULL, NULL, 'cafe creme 2 EUR')",
	         (long long)d1, (long long)d2, (long long)d3, (long long)d4, (long long)d5);
	exec_ok(c, sql);

	/* stemming, as SQLite's porter tokenizer */
	assert_int_equal(hits(c, "renovations"), 1);
	assert_int_equal(hits(c, "Renovated"), 1);
	assert_int_equal(hits(c, "renovation -town"), 0);
	assert_int_equal(hits(c, "\"old town hall\""), 1);

	/* accents: folded when the unaccent extension could be had */
	int unaccent = (int)val(c, "SELECT count(*) FROM pg_extension WHERE extname = 'unaccent'", 0);
	assert_int_equal(val(c, "SELECT count(*) FROM pg_description d JOIN pg_ts_config t ON t.oid = d.objoid"
	                        " WHERE t.cfgname = 'dossier' AND d.description LIKE '%accents folded%'", 0),
	                 unaccent);
	print_message("unaccent: %s\n", unaccent ? "yes, accents are folded" : "no, accents are not folded");
	if (unaccent) {
		assert_int_equal(hits(c, "cafe"), 2);   /* café (transcript) and cafe (OCR) */
		assert_int_equal(hits(c, "café"), 2);
		assert_int_equal(hits(c, "CAFÉ crème"), 1);
	} else {
		assert_int_equal(hits(c, "cafe"), 1);
		assert_int_equal(hits(c, "café"), 1);
	}

	/* a title hit ranks above a body hit (weights A and D) */
	static const char rank[] = "SELECT (SELECT ts_rank_cd(tsv, q) FROM dossier_fts WHERE rowid = ?1)"
	                           " > (SELECT ts_rank_cd(tsv, q) FROM dossier_fts WHERE rowid = ?2)"
	                           " FROM websearch_to_tsquery('dossier', 'budget') q";
	assert_true(val(c, rank, 2, d3, d4));
	assert_false(val(c, rank, 2, d4, d3));
	assert_int_equal(hits(c, "budget"), 2);

	/* the row is rewritten when its text is: the generated column follows */
	snprintf(sql, sizeof sql, "UPDATE dossier_fts SET text = 'A restoration' WHERE rowid = %lld", (long long)d1);
	exec_ok(c, sql);
	assert_int_equal(hits(c, "renovation"), 0);
	assert_int_equal(hits(c, "restorations"), 1);
}

static void a_text_longer_than_a_tsvector_holds_is_indexed_by_its_beginning(void **state)
{
	struct dbl_conn *c = *state;
	int64_t d = new_doc(c, "/huge.txt");
	/* 60,000 distinct words (~2 MB): more than the 1 MB a tsvector holds */
	char sql[512];
	snprintf(sql, sizeof sql,
	         "INSERT INTO dossier_fts(rowid, title, text) SELECT %lld, 'Inventory',"
	         " 'zebra ' || string_agg('w' || md5(i::text), ' ' ORDER BY i) FROM generate_series(1, 60000) i",
	         (long long)d);
	exec_ok(c, sql);
	assert_int_equal(val(c, "SELECT length(text) FROM dossier_fts", 0), 6 + 60000 * 34 - 1);
	assert_int_equal(hits(c, "zebra"), 1);
	assert_int_equal(hits(c, "inventory"), 1);
	assert_int_equal(hits(c, "zebra -inventory"), 0);
}

/* ============================================================ without unaccent */

static char role[64];

static int teardown_role(void **state)
{
	teardown_db(state);
	struct dbl_conn *c = conn_to(server_url);
	char sql[128];
	snprintf(sql, sizeof sql, "DROP ROLE IF EXISTS %s", role);
	exec_ok(c, sql);
	dbl_close(c);
	return 0;
}

/* A server that refuses CREATE EXTENSION (as a hosted one may): a user who
 * owns no database and may only create tables in its schema. */
static void without_unaccent_the_configuration_is_plain_english(void **state)
{
	(void)state;
	struct dbl_conn *admin = conn_to(db_url);
	struct err e = {0};
	char sql[512];
	snprintf(role, sizeof role, "dossier_schema_user_%d", (int)getpid());
	snprintf(sql, sizeof sql, "CREATE ROLE %s LOGIN", role);
	if (dbl_exec(admin, sql, &e)) {
		dbl_close(admin);
		print_message("cannot create a role here (%s)\n", e.msg);
		skip();
	}
	snprintf(sql, sizeof sql, "REVOKE CREATE ON DATABASE %s FROM PUBLIC; GRANT CREATE ON SCHEMA public TO %s",
	         db_name, role);
	exec_ok(admin, sql);
	dbl_close(admin);

	char url[1400];
	snprintf(url, sizeof url, "%s&user=%s", db_url, role);
	struct dbl_conn *c = conn_to(url);
	assert_int_equal(val(c, "SELECT count(*) FROM pg_roles WHERE rolname = current_user AND NOT rolsuper", 0), 1);
	migrate_ok(c);
	assert_int_equal(val(c, "SELECT count(*) FROM pg_extension WHERE extname = 'unaccent'", 0), 0);
	assert_int_equal(val(c, "SELECT count(*) FROM pg_description d JOIN pg_ts_config t ON t.oid = d.objoid"
	                        " WHERE t.cfgname = 'dossier' AND d.description LIKE '%accents not folded%'", 0), 1);
	int64_t d = new_doc(c, "/cafe.txt");
	snprintf(sql, sizeof sql, "INSERT INTO dossier_fts(rowid, title, text) VALUES (%lld, 'Café', 'renovations')",
	         (long long)d);
	exec_ok(c, sql);
	assert_int_equal(hits(c, "renovation"), 1);  /* still English stemming */
	assert_int_equal(hits(c, "café"), 1);
	assert_int_equal(hits(c, "cafe"), 0);        /* but accents count */
	dbl_close(c);
}

int main(void)
{
	const char *url = getenv("DOSSIER_TEST_PG");
	if (url && *url) {
		snprintf(server_url, sizeof server_url, "%s", url);
	} else {
		/* the server of CTest's fixture `pg` (tests/pg/server.sh start <build>/pg) */
		FILE *f = fopen(DOSSIER_BINARY_DIR "/pg/url", "r");
		if (f) {
			if (!fgets(server_url, sizeof server_url, f))
				server_url[0] = '\0';
			fclose(f);
			server_url[strcspn(server_url, "\r\n")] = '\0';
		}
	}
	if (!server_url[0]) {
		fprintf(stderr, "test_store_schema_pg: SKIPPED: no PostgreSQL server (set DOSSIER_TEST_PG, "
		                "or run it through ctest, whose fixture pg starts one)\n");
		return 77;
	}
	fprintf(stderr, "test_store_schema_pg: PostgreSQL at %s\n", server_url);
#define T(f) cmocka_unit_test_setup_teardown(f, setup_schema, teardown_schema)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(two_migrators_at_once_create_the_schema_once, setup_db, teardown_db),
		T(dependencies_done_and_undone_keep_pending_deps_and_counts),
		T(a_step_past_the_64th_has_no_dependents),
		T(deleting_a_document_takes_what_is_its_own_and_keeps_the_counts),
		T(every_vector_change_raises_the_generation),
		T(a_reader_never_misses_a_change_committed_after_it_looked),
		T(search_stems_folds_accents_and_ranks_the_title_first),
		T(a_text_longer_than_a_tsvector_holds_is_indexed_by_its_beginning),
		cmocka_unit_test_setup_teardown(without_unaccent_the_configuration_is_plain_english, setup_db,
		                                teardown_role),
	};
	return cmocka_run_group_tests_name("store schema (PostgreSQL)", tests, NULL, NULL);
}
