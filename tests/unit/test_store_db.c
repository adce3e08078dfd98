/* test_store_db.c — the database layer under the store (src/store/db.h), one
 * suite for both backends: SQLite (a temporary file) by default, PostgreSQL
 * when DOSSIER_TEST_PG names a server (CTest's unit/test_store_db_pg gets one
 * from tests/pg/server.sh; without a server that test is skipped).
 *
 * ?N rewriting and DIALECT(), binds and columns of every type and NULL, the
 * statement cache, changes and RETURNING ids, a transaction rolled back on
 * error and a savepoint inside one, two migrators at once applying each step
 * exactly once; on PostgreSQL also a serialization failure retried, and a
 * connection killed by the server reported as unreachable, then recovered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "store/db.h"

#define STORE_FIXTURE_NAME "dbl"
#include "store_fixture.h"

static const char *pg_url;  /* DOSSIER_TEST_PG, or NULL: SQLite */

static int is_pg(void)
{
	return pg_url != NULL;
}

static struct dbl_conn *open_conn(void)
{
	struct dbl_conn *c = NULL;
	struct err e = {0};
	int rc = is_pg() ? dbl_open_pg(pg_url, &c, &e) : dbl_open_sqlite(db, &c, &e);
	if (rc)
		fail_msg("open: %s", e.msg);
	return c;
}

static void exec_ok(struct dbl_conn *c, const char *sql)
{
	struct err e = {0};
	if (dbl_exec(c, sql, &e))
		fail_msg("%s: %s", sql, e.msg);
}

/* The tables the suite uses, gone before each test (a PG server keeps them). */
static int setup_db(void **state)
{
	setup(state);
	if (is_pg()) {
		struct dbl_conn *c = open_conn();
		exec_ok(c, "DROP TABLE IF EXISTS dbl_t, dbl_u, dbl_j, dbl_counter, dbl_mlog, schema_version");
		dbl_close(c);
	}
	return 0;
}

static int64_t scalar(struct dbl_conn *c, const char *sql)
{
	struct err e = {0};
	struct dbl_stmt *q = dbl_prep(c, sql, &e);
	if (!q)
		fail_msg("%s: %s", sql, e.msg);
	int rc = dbl_step(q, &e);
	if (rc != DBL_ROW)
		fail_msg("%s: %d %s", sql, rc, e.msg);
	int64_t v = dbl_col_i64(q, 0);
	dbl_done(q);
	return v;
}

/* ============================================================ SQL text */

static void parameters_become_dollars_on_pg_outside_strings_identifiers_and_comments(void **state)
{
	(void)state;
	struct err e = {0};
	int n = 0;
	const char *sql = "SELECT ?1, '?2 it''s', \"col?3\", E'\\'?4', $$ ?5 $$, $t$ ?6 $t$ -- ?7\n"
	                  ", /* ?8 */ ?12, x?9, j ? 'k'";
	char *pg = dbl_sql_rewrite(sql, DBL_PG, &n, &e);
	assert_non_null(pg);
	assert_string_equal(pg, "SELECT $1, '?2 it''s', \"col?3\", E'\\'?4', $$ ?5 $$, $t$ ?6 $t$ -- ?7\n"
	                        ", /* ?8 */ $12, x$9, j ? 'k'");
	assert_int_equal(n, 12);
	free(pg);
	char *lite = dbl_sql_rewrite(sql, DBL_SQLITE, &n, &e);
	assert_string_equal(lite, sql);  /* SQLite reads ?N itself */
	free(lite);

	/* DIALECT() picks a side; the marker bytes never reach the database */
	static const char d[] = DBL_INSERT_OR_IGNORE " INTO t(a) VALUES(?1)" DBL_ON_CONFLICT_IGNORE;
	pg = dbl_sql_rewrite(d, DBL_PG, &n, &e);
	assert_string_equal(pg, "INSERT INTO t(a) VALUES($1) ON CONFLICT DO NOTHING");
	free(pg);
	lite = dbl_sql_rewrite(d, DBL_SQLITE, &n, &e);
	assert_string_equal(lite, "INSERT OR IGNORE INTO t(a) VALUES(?1)");
	free(lite);
	static const char j[] = "SELECT " DBL_JSON_TEXT("z.json", "mail.date", "mail,date") " FROM z WHERE x = ?2";
	pg = dbl_sql_rewrite(j, DBL_PG, &n, &e);
	assert_string_equal(pg, "SELECT (z.json::jsonb #>> '{mail,date}') FROM z WHERE x = $2");
	free(pg);
	lite = dbl_sql_rewrite(j, DBL_SQLITE, &n, &e);
	assert_string_equal(lite, "SELECT json_extract(z.json, '$.mail.date') FROM z WHERE x = ?2");
	free(lite);

	/* malformed text is refused with the statement named */
	assert_null(dbl_sql_rewrite("SELECT " DBL_DIALECT_OPEN "1" DBL_DIALECT_SEP "2", DBL_PG, &n, &e));
	assert_int_equal(e.code, DOSSIER_EINVAL);
	assert_non_null(strstr(e.msg, "SELECT"));
	assert_null(dbl_sql_rewrite("SELECT ?0", DBL_SQLITE, &n, &e));
	assert_non_null(strstr(e.msg, "?0"));
}

static void urls_pick_the_backend(void **state)
{
	(void)state;
	assert_true(dbl_is_pg_url("postgresql://u@h/db"));
	assert_true(dbl_is_pg_url("postgres://h/db"));
	assert_true(dbl_is_pg_url(""));  /* libpq's PG* variables */
	assert_false(dbl_is_pg_url("/home/anna/.local/share/dossier/dossier.db"));
	assert_false(dbl_is_pg_url("postgres.db"));
}

/* ============================================================ statements */

static const char SQL_T[] = "CREATE TABLE dbl_t(" DIALECT("id INTEGER PRIMARY KEY", "id bigserial PRIMARY KEY")
                            ", i BIGINT, d DOUBLE PRECISION, s TEXT UNIQUE)";
static const char SQL_INS[] = "INSERT INTO dbl_t(i, d, s) VALUES(?1, ?2, ?3) RETURNING id";
static const char SQL_SEL[] = "SELECT i, d, s, '?1 stays' FROM dbl_t WHERE id = ?1";

static void binds_and_columns_round_trip_every_type_and_null(void **state)
{
	(void)state;
	struct dbl_conn *c = open_conn();
	struct err e = {0};
	exec_ok(c, SQL_T);
	struct row {
		int64_t i;
		double d;
		const char *s;
	} rows[] = {
		{INT64_MAX, 0.1, "it's ?1 \"quoted\" – ünïcode"},
		{INT64_MIN, -1e300, ""},
		{0, 0, NULL},
	};
	int64_t ids[3];
	for (int k = 0; k < 3; k++) {
		struct dbl_stmt *q = dbl_prep(c, SQL_INS, &e);
		assert_non_null(q);
		if (k < 2) {
			assert_int_equal(dbl_bind_i64(q, 1, rows[k].i), 0);
			assert_int_equal(dbl_bind_double(q, 2, rows[k].d), 0);
		} else {
			assert_int_equal(dbl_bind_null(q, 1), 0);
			assert_int_equal(dbl_bind_null(q, 2), 0);
		}
		assert_int_equal(dbl_bind_text(q, 3, rows[k].s), 0);  /* NULL binds NULL */
		assert_int_equal(dbl_bind_i64(q, 4, 1), DOSSIER_EINVAL);  /* no ?4 */
		assert_int_equal(dbl_insert(q, &ids[k], &e), 0);
		assert_true(ids[k] > 0);
		assert_int_equal(dbl_changes(c), 1);
	}
	assert_true(ids[1] > ids[0] && ids[2] > ids[1]);

	for (int k = 0; k < 3; k++) {
		struct dbl_stmt *q = dbl_prep(c, SQL_SEL, &e);
		dbl_bind_i64(q, 1, ids[k]);
		assert_int_equal(dbl_step(q, &e), DBL_ROW);
		assert_int_equal(dbl_col_count(q), 4);
		if (k < 2) {
			assert_false(dbl_col_is_null(q, 0));
			assert_true(dbl_col_i64(q, 0) == rows[k].i);
			assert_true(dbl_col_double(q, 1) == rows[k].d);
			assert_string_equal(dbl_col_text(q, 2), rows[k].s);
		} else {
			for (int col = 0; col < 3; col++)
				assert_true(dbl_col_is_null(q, col));
			assert_true(dbl_col_i64(q, 0) == 0);
			assert_true(dbl_col_double(q, 1) == 0);
			assert_null(dbl_col_text(q, 2));
		}
		assert_string_equal(dbl_col_text(q, 3), "?1 stays");
		assert_int_equal(dbl_step(q, &e), DBL_DONE);
		dbl_done(q);
	}

	/* the cache: the same text is the same statement, reset and unbound */
	struct dbl_stmt *a = dbl_prep(c, SQL_SEL, &e);
	dbl_bind_i64(a, 1, ids[0]);
	assert_int_equal(dbl_step(a, &e), DBL_ROW);
	struct dbl_stmt *b = dbl_prep(c, SQL_SEL, &e);
	assert_ptr_equal(a, b);
	assert_int_equal(dbl_step(b, &e), DBL_DONE);  /* ?1 is NULL now: no row */
	dbl_done(b);

	/* changes of an UPDATE; a SELECT leaves them alone, as SQLite does */
	static const char upd[] = "UPDATE dbl_t SET d = d + ?1 WHERE i IS NOT NULL";
	struct dbl_stmt *u = dbl_prep(c, upd, &e);
	dbl_bind_double(u, 1, 1.5);
	assert_int_equal(dbl_step(u, &e), DBL_DONE);
	dbl_done(u);
	assert_int_equal(dbl_changes(c), 2);
	assert_int_equal(scalar(c, "SELECT count(*) FROM dbl_t"), 3);
	assert_int_equal(dbl_changes(c), 2);
	dbl_close(c);
}

static void dialect_pairs_run_on_the_backend(void **state)
{
	(void)state;
	struct dbl_conn *c = open_conn();
	struct err e = {0};
	exec_ok(c, SQL_T);
	static const char ign[] = DBL_INSERT_OR_IGNORE " INTO dbl_t(s) VALUES(?1)" DBL_ON_CONFLICT_IGNORE " RETURNING id";
	int64_t id1 = 0, id2 = -1;
	struct dbl_stmt *q = dbl_prep(c, ign, &e);
	dbl_bind_text(q, 1, "same");
	assert_int_equal(dbl_insert(q, &id1, &e), 0);
	assert_true(id1 > 0);
	q = dbl_prep(c, ign, &e);
	dbl_bind_text(q, 1, "same");
	assert_int_equal(dbl_insert(q, &id2, &e), 0);  /* ignored: no error, no id */
	assert_true(id2 == 0);
	assert_int_equal(scalar(c, "SELECT count(*) FROM dbl_t"), 1);

	exec_ok(c, "CREATE TABLE dbl_j(j TEXT)");
	exec_ok(c, "INSERT INTO dbl_j(j) VALUES('{\"mail\":{\"date\":\"2026-12-01\"},\"tags\":[\"a\",\"b\",\"c\"]}')");
	static const char jt[] = "SELECT " DBL_JSON_TEXT("j", "mail.date", "mail,date") " FROM dbl_j";
	q = dbl_prep(c, jt, &e);
	assert_non_null(q);
	assert_int_equal(dbl_step(q, &e), DBL_ROW);
	assert_string_equal(dbl_col_text(q, 0), "2026-12-01");
	dbl_done(q);
	static const char je[] = "SELECT count(*) FROM dbl_j, " DBL_JSON_EACH("dbl_j.j", "tags", "tags")
	                         " WHERE value <> ?1";
	q = dbl_prep(c, je, &e);
	if (!q)
		fail_msg("%s", e.msg);
	dbl_bind_text(q, 1, "b");
	assert_int_equal(dbl_step(q, &e), DBL_ROW);
	assert_int_equal(dbl_col_i64(q, 0), 2);
	dbl_done(q);
	static const char now[] = "SELECT " DBL_NOW;
	q = dbl_prep(c, now, &e);
	assert_int_equal(dbl_step(q, &e), DBL_ROW);
	double t = dbl_col_double(q, 0), wall = (double)time(NULL);
	assert_true(t > wall - 5 && t < wall + 5);
	assert_true(t != (double)(int64_t)t || t == wall);  /* with fractions (nearly always) */
	dbl_done(q);
	dbl_close(c);
}

static void a_failed_statement_names_the_database_and_the_statement(void **state)
{
	(void)state;
	struct dbl_conn *c = open_conn();
	struct err e = {0};
	static const char bad[] = "SELECT nope FROM no_such_table WHERE a = ?1";
	struct dbl_stmt *q = dbl_prep(c, bad, &e);
	int rc = q ? dbl_step(q, &e) : e.code;  /* PG prepares at the first step */
	assert_int_equal(rc, DOSSIER_EDB);
	assert_non_null(strstr(e.msg, dbl_name(c)));
	assert_non_null(strstr(e.msg, "no_such_table"));
	assert_non_null(strstr(e.msg, "SELECT nope"));
	if (is_pg()) {
		assert_null(strstr(dbl_name(c), "password"));
		assert_non_null(strstr(e.msg, "42P01"));
	}
	dbl_done(q);
	dbl_close(c);
}

/* ============================================================ transactions */

struct ins_arg {
	const char *s;
	int own_error;  /* 1: fail with DOSSIER_EIO after the insert; 2: a duplicate instead */
};

static int ins_fn(struct dbl_conn *c, void *user, struct err *err)
{
	struct ins_arg *a = user;
	static const char sql[] = "INSERT INTO dbl_t(s) VALUES(?1)";
	struct dbl_stmt *q = dbl_prep(c, sql, err);
	if (!q)
		return err ? err->code : DOSSIER_EDB;
	dbl_bind_text(q, 1, a->s);
	int rc = dbl_step(q, err);
	dbl_done(q);
	if (rc)
		return rc;
	if (a->own_error == 1)
		return err_set(err, DOSSIER_EIO, "mine");
	if (a->own_error == 2) {
		q = dbl_prep(c, sql, err);
		dbl_bind_text(q, 1, a->s);
		rc = dbl_step(q, err);  /* UNIQUE(s) */
		dbl_done(q);
		return rc;
	}
	return 0;
}

static int outer_fn(struct dbl_conn *c, void *user, struct err *err)
{
	(void)user;
	struct ins_arg a = {"outer", 0}, inner = {"inner", 2};
	int rc = ins_fn(c, &a, err);
	if (rc)
		return rc;
	struct err ie = {0};
	assert_int_equal(dbl_tx(c, 0, ins_fn, &inner, &ie), DOSSIER_EDB);  /* a savepoint, undone */
	return 0;
}

static int count_s(struct dbl_conn *c, const char *s)
{
	static const char sql[] = "SELECT count(*) FROM dbl_t WHERE s = ?1";
	struct err e = {0};
	struct dbl_stmt *q = dbl_prep(c, sql, &e);
	dbl_bind_text(q, 1, s);
	assert_int_equal(dbl_step(q, &e), DBL_ROW);
	int n = (int)dbl_col_i64(q, 0);
	dbl_done(q);
	return n;
}

static void a_transaction_rolls_back_on_error_and_a_savepoint_undoes_only_itself(void **state)
{
	(void)state;
	struct dbl_conn *c = open_conn();
	struct err e = {0};
	exec_ok(c, SQL_T);
	struct ins_arg ok = {"kept", 0}, own = {"mine", 1}, dup = {"dup", 2};
	assert_int_equal(dbl_tx(c, 0, ins_fn, &ok, &e), 0);
	assert_int_equal(dbl_tx(c, 0, ins_fn, &own, &e), DOSSIER_EIO);
	assert_string_equal(e.msg, "mine");
	assert_int_equal(dbl_tx(c, 0, ins_fn, &dup, &e), DOSSIER_EDB);
	assert_non_null(strstr(e.msg, "INSERT INTO dbl_t"));
	assert_false(dbl_in_tx(c));
	assert_int_equal(count_s(c, "kept"), 1);
	assert_int_equal(count_s(c, "mine"), 0);
	assert_int_equal(count_s(c, "dup"), 0);
	/* the connection goes on working after a failed transaction */
	assert_int_equal(dbl_tx(c, 0, outer_fn, NULL, &e), 0);
	assert_int_equal(count_s(c, "outer"), 1);
	assert_int_equal(count_s(c, "inner"), 0);
	/* begin / commit / rollback by hand */
	assert_int_equal(dbl_begin(c, 0, &e), 0);
	assert_true(dbl_in_tx(c));
	assert_int_equal(dbl_begin(c, 0, &e), DOSSIER_EINVAL);
	exec_ok(c, "INSERT INTO dbl_t(s) VALUES('gone')");
	dbl_rollback(c);
	assert_int_equal(count_s(c, "gone"), 0);
	assert_int_equal(dbl_tx_retries(c), 0);
	dbl_close(c);
}

/* PG: a transaction that another connection's update overtakes fails with
 * 40001 under SERIALIZABLE; dbl_tx runs it again, and the second run wins. */
struct bump {
	struct dbl_conn *other;
	int interfere;  /* times the other connection still updates in between */
	int runs;
};

static int bump_fn(struct dbl_conn *c, void *user, struct err *err)
{
	struct bump *b = user;
	b->runs++;
	static const char get[] = "SELECT n FROM dbl_counter WHERE id = 1";
	struct dbl_stmt *q = dbl_prep(c, get, err);
	if (!q)
		return DOSSIER_EDB;
	int rc = dbl_step(q, err);
	int64_t n = dbl_col_i64(q, 0);
	dbl_done(q);
	if (rc != DBL_ROW)
		return rc ? rc : DOSSIER_EDB;
	if (b->interfere > 0) {  /* someone else commits a change to the row we read */
		b->interfere--;
		struct err e2 = {0};
		if (dbl_exec(b->other, "UPDATE dbl_counter SET n = n + 100 WHERE id = 1", &e2))
			fail_msg("%s", e2.msg);
	}
	static const char put[] = "UPDATE dbl_counter SET n = ?1 WHERE id = 1";
	q = dbl_prep(c, put, err);
	dbl_bind_i64(q, 1, n + 1);
	rc = dbl_step(q, err);
	dbl_done(q);
	return rc;
}

static void a_serialization_failure_is_retried(void **state)
{
	(void)state;
	if (!is_pg())
		skip();  /* SQLite's BEGIN IMMEDIATE takes the write lock first: no such failure */
	struct dbl_conn *c = open_conn(), *other = open_conn();
	struct err e = {0};
	exec_ok(c, "CREATE TABLE dbl_counter(id int PRIMARY KEY, n bigint)");
	exec_ok(c, "INSERT INTO dbl_counter VALUES(1, 0)");
	struct bump b = {other, 1, 0};
	assert_int_equal(dbl_tx(c, DBL_TX_SERIALIZABLE, bump_fn, &b, &e), 0);
	assert_int_equal(b.runs, 2);
	assert_int_equal(dbl_tx_retries(c), 1);
	assert_int_equal(scalar(c, "SELECT n FROM dbl_counter"), 101);  /* both updates count */

	/* always overtaken: DOSSIER_EAGAIN after DBL_TX_TRIES runs, nothing stored */
	struct bump always = {other, 1000, 0};
	assert_int_equal(dbl_tx(c, DBL_TX_SERIALIZABLE, bump_fn, &always, &e), DOSSIER_EAGAIN);
	assert_int_equal(always.runs, DBL_TX_TRIES);
	assert_non_null(strstr(e.msg, "try again"));
	assert_non_null(strstr(e.msg, "40001"));
	assert_int_equal(scalar(c, "SELECT n FROM dbl_counter"), 101 + 100 * DBL_TX_TRIES);
	/* a statement outside dbl_tx that hits it reports the same code, no retry */
	assert_false(dbl_in_tx(c));
	dbl_close(other);
	dbl_close(c);
}

/* PG: two transactions that update two rows in opposite orders deadlock; the
 * server cancels one (40P01), dbl_tx runs it again, and both end committed,
 * each exactly once. */
struct crosser {
	pthread_barrier_t *met;
	int first, second, runs, rc;
	int64_t retries;
	char msg[ERR_MSG_MAX];
};

static int cross_fn(struct dbl_conn *c, void *user, struct err *err)
{
	struct crosser *x = user;
	static const char sql[] = "UPDATE dbl_counter SET n = n + 1 WHERE id = ?1";
	int rc;
	for (int k = 0; k < 2; k++) {
		struct dbl_stmt *q = dbl_prep(c, sql, err);
		if (!q)
			return DOSSIER_EDB;
		dbl_bind_i64(q, 1, k == 0 ? x->first : x->second);
		rc = dbl_step(q, err);
		dbl_done(q);
		if (rc)
			return rc;
		if (k == 0 && x->runs++ == 0)
			pthread_barrier_wait(x->met);  /* both hold their first row: now each wants the other's */
	}
	return 0;
}

static void *cross_thread(void *arg)
{
	struct crosser *x = arg;
	struct dbl_conn *c = open_conn();
	struct err e = {0};
	x->rc = dbl_tx(c, 0, cross_fn, x, &e);
	x->retries = dbl_tx_retries(c);
	snprintf(x->msg, sizeof x->msg, "%s", e.msg);
	dbl_close(c);
	return NULL;
}

static void a_deadlock_is_retried(void **state)
{
	(void)state;
	if (!is_pg())
		skip();  /* SQLite has one writer at a time */
	struct dbl_conn *c = open_conn();
	exec_ok(c, "CREATE TABLE dbl_counter(id int PRIMARY KEY, n bigint)");
	exec_ok(c, "INSERT INTO dbl_counter VALUES(1, 0), (2, 0)");
	pthread_barrier_t met;
	pthread_barrier_init(&met, NULL, 2);
	struct crosser x[2] = {{.met = &met, .first = 1, .second = 2}, {.met = &met, .first = 2, .second = 1}};
	pthread_t t[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, cross_thread, &x[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&met);
	for (int i = 0; i < 2; i++)
		if (x[i].rc)
			fail_msg("transaction %d: %s", i, x[i].msg);
	/* at least one re-run; sometimes two: the victim's re-run may take the row
	 * back before the woken transaction locks it, and deadlock once more */
	int64_t retries = x[0].retries + x[1].retries;
	if (retries < 1 || x[0].runs + x[1].runs != 2 + retries)
		fail_msg("retries %lld and %lld, runs %d and %d: a deadlock and its re-run expected",
		         (long long)x[0].retries, (long long)x[1].retries, x[0].runs, x[1].runs);
	assert_int_equal(scalar(c, "SELECT sum(n) FROM dbl_counter"), 4);
	dbl_close(c);
}

/* ============================================================ migrations */

static atomic_int fn_runs;

static int slow_step(struct dbl_conn *c, void *user, struct err *err)
{
	(void)c;
	(void)user;
	(void)err;
	atomic_fetch_add(&fn_runs, 1);
	usleep(100 * 1000);  /* a wide window for the other migrator */
	return 0;
}

static const struct dbl_migration steps[] = {
	{"CREATE TABLE dbl_mlog(step INTEGER NOT NULL); INSERT INTO dbl_mlog(step) VALUES(1)", NULL},
	{"INSERT INTO dbl_mlog(step) VALUES(2)", slow_step},
	{"CREATE TABLE dbl_u(" DIALECT("id INTEGER PRIMARY KEY", "id bigserial PRIMARY KEY") ");"
	 "INSERT INTO dbl_mlog(step) VALUES(3)", NULL},
};

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
	m->rc = dbl_migrate(c, steps, 3, NULL, &m->version, &e);
	snprintf(m->msg, sizeof m->msg, "%s", e.msg);
	dbl_close(c);
	return NULL;
}

static void two_migrators_at_once_apply_each_step_exactly_once(void **state)
{
	(void)state;
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, 2);
	struct migrator m[2] = {{.go = &go}, {.go = &go}};
	pthread_t t[2];
	atomic_store(&fn_runs, 0);
	for (int i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, migrate_thread, &m[i]);
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	pthread_barrier_destroy(&go);
	for (int i = 0; i < 2; i++) {
		if (m[i].rc)
			fail_msg("migrator %d: %s", i, m[i].msg);
		assert_int_equal(m[i].version, 3);
	}
	assert_int_equal(atomic_load(&fn_runs), 1);
	struct dbl_conn *c = open_conn();
	struct err e = {0};
	for (int s = 1; s <= 3; s++) {
		static const char sql[] = "SELECT count(*) FROM dbl_mlog WHERE step = ?1";
		struct dbl_stmt *q = dbl_prep(c, sql, &e);
		dbl_bind_i64(q, 1, s);
		assert_int_equal(dbl_step(q, &e), DBL_ROW);
		assert_int_equal(dbl_col_i64(q, 0), 1);
		dbl_done(q);
	}
	/* up to date: nothing runs; an older program refuses a newer database */
	int v = 0;
	assert_int_equal(dbl_migrate(c, steps, 3, NULL, &v, &e), 0);
	assert_int_equal(v, 3);
	assert_int_equal(atomic_load(&fn_runs), 1);
	assert_int_equal(dbl_migrate(c, steps, 2, NULL, &v, &e), DOSSIER_EDB);
	assert_non_null(strstr(e.msg, "newer"));
	assert_false(dbl_in_tx(c));
	dbl_close(c);
}

/* ============================================================ connection loss */

static void kill_backend_of(struct dbl_conn *victim)
{
	int64_t pid = scalar(victim, "SELECT pg_backend_pid()");
	struct dbl_conn *admin = open_conn();
	struct err e = {0};
	static const char sql[] = "SELECT pg_terminate_backend(CAST(?1 AS integer))";
	struct dbl_stmt *q = dbl_prep(admin, sql, &e);
	dbl_bind_i64(q, 1, pid);
	assert_int_equal(dbl_step(q, &e), DBL_ROW);
	dbl_done(q);
	/* wait until the server has really gone from that backend */
	for (int i = 0; i < 200; i++) {
		static const char alive[] = "SELECT count(*) FROM pg_stat_activity WHERE pid = CAST(?1 AS integer)";
		q = dbl_prep(admin, alive, &e);
		dbl_bind_i64(q, 1, pid);
		assert_int_equal(dbl_step(q, &e), DBL_ROW);
		int64_t n = dbl_col_i64(q, 0);
		dbl_done(q);
		if (n == 0)
			break;
		usleep(10 * 1000);
	}
	dbl_close(admin);
}

static const char SQL_ONE[] = "SELECT ?1 + 1";

static int64_t one_plus(struct dbl_conn *c, int64_t v, int *rc, struct err *e)
{
	struct dbl_stmt *q = dbl_prep(c, SQL_ONE, e);
	if (!q) {
		*rc = e->code;
		return 0;
	}
	dbl_bind_i64(q, 1, v);
	*rc = dbl_step(q, e);
	int64_t r = *rc == DBL_ROW ? dbl_col_i64(q, 0) : 0;
	dbl_done(q);
	return r;
}

static void a_lost_connection_is_reported_as_unreachable_then_recovered(void **state)
{
	(void)state;
	if (!is_pg())
		skip();
	struct dbl_conn *c = open_conn();
	struct err e = {0};
	int rc;
	assert_int_equal(one_plus(c, 41, &rc, &e), 42);  /* prepared on the first session */
	kill_backend_of(c);
	one_plus(c, 1, &rc, &e);
	assert_int_equal(rc, DOSSIER_EUNAVAILABLE);
	assert_non_null(strstr(e.msg, "unreachable"));
	assert_non_null(strstr(e.msg, "retry"));
	assert_non_null(strstr(e.msg, dbl_name(c)));
	/* the next call reconnects and prepares the statement again */
	err_clear(&e);
	assert_int_equal(one_plus(c, 2, &rc, &e), 3);
	assert_int_equal(rc, DBL_ROW);

	/* lost inside a transaction: everything after fails until the rollback */
	exec_ok(c, SQL_T);
	assert_int_equal(dbl_begin(c, 0, &e), 0);
	exec_ok(c, "INSERT INTO dbl_t(s) VALUES('lost')");
	kill_backend_of(c);
	assert_int_equal(dbl_exec(c, "INSERT INTO dbl_t(s) VALUES('after')", &e), DOSSIER_EUNAVAILABLE);
	one_plus(c, 1, &rc, &e);
	assert_int_equal(rc, DOSSIER_EUNAVAILABLE);  /* not run on a new session outside the transaction */
	assert_int_equal(dbl_commit(c, &e), DOSSIER_EUNAVAILABLE);
	assert_false(dbl_in_tx(c));
	assert_int_equal(count_s(c, "lost"), 0);
	assert_int_equal(count_s(c, "after"), 0);
	dbl_close(c);

	/* a server that is not there at all */
	struct dbl_conn *none = NULL;
	char url[700];
	snprintf(url, sizeof url, "postgresql:///postgres?host=/nonexistent-dossier-dir&user=postgres");
	assert_int_equal(dbl_open_pg(url, &none, &e), DOSSIER_EUNAVAILABLE);
	assert_null(none);
	assert_non_null(strstr(e.msg, "nonexistent-dossier-dir"));
}

/* DOSSIER_TEST_PG_CTL is a command with %s for "down" or "up" (server.sh run sets it). */
static int server_down;

static void pg_ctl(const char *verb)
{
	const char *fmt = getenv("DOSSIER_TEST_PG_CTL"), *at = fmt ? strstr(fmt, "%s") : NULL;
	assert_non_null(at);
	char cmd[2048];
	snprintf(cmd, sizeof cmd, "%.*s%s%s", (int)(at - fmt), fmt, verb, at + 2);
	assert_int_equal(system(cmd), 0);
	server_down = strcmp(verb, "down") == 0;
}

static int teardown_up(void **state)
{
	if (server_down)
		pg_ctl("up");
	return teardown(state);
}

static int fail_tx(struct dbl_conn *c, void *user, struct err *err)
{
	int *runs = user, rc;
	++*runs;
	one_plus(c, 1, &rc, err);
	return rc == DBL_ROW ? 0 : rc;
}

static void a_stopped_server_is_unreachable_until_it_starts_again(void **state)
{
	(void)state;
	if (!is_pg() || !getenv("DOSSIER_TEST_PG_CTL"))
		skip();
	struct dbl_conn *c = open_conn();
	struct err e = {0};
	int rc, runs = 0;
	assert_int_equal(one_plus(c, 1, &rc, &e), 2);
	pg_ctl("down");
	for (int i = 0; i < 3; i++) {  /* the session's loss, then each failed reconnect */
		err_clear(&e);
		one_plus(c, 1, &rc, &e);
		assert_int_equal(rc, DOSSIER_EUNAVAILABLE);
		assert_non_null(strstr(e.msg, "unreachable"));
	}
	assert_int_equal(dbl_tx(c, 0, fail_tx, &runs, &e), DOSSIER_EUNAVAILABLE);
	assert_int_equal(runs, 0);  /* BEGIN itself could not reach the server: no retry loop */
	assert_int_equal(dbl_tx_retries(c), 0);
	pg_ctl("up");
	err_clear(&e);
	assert_int_equal(one_plus(c, 41, &rc, &e), 42);
	assert_int_equal(dbl_tx(c, 0, fail_tx, &runs, &e), 0);
	assert_int_equal(runs, 1);
	dbl_close(c);
}

/* ============================================================ SQLite only */

static void an_open_sqlite_handle_is_wrapped_and_left_open(void **state)
{
	(void)state;
	if (is_pg())
		skip();
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
	struct dbl_conn *c = NULL;
	struct err e = {0};
	assert_int_equal(dbl_wrap_sqlite(h, "the store's", &c, &e), 0);
	assert_int_equal(dbl_backend_of(c), DBL_SQLITE);
	assert_string_equal(dbl_name(c), "the store's");
	exec_ok(c, "CREATE TABLE w(a)");
	assert_int_equal(scalar(c, "SELECT 7"), 7);
	dbl_close(c);
	/* the handle is the caller's still */
	assert_int_equal(sqlite3_exec(h, "INSERT INTO w VALUES(1)", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(h), SQLITE_OK);
	dbl_close(NULL);
}

int main(void)
{
	pg_url = getenv("DOSSIER_TEST_PG");
	if (pg_url && !*pg_url)
		pg_url = NULL;
	if (is_pg())
		fprintf(stderr, "test_store_db: PostgreSQL at %s\n", pg_url);
#define T(f) cmocka_unit_test_setup_teardown(f, setup_db, teardown)
	const struct CMUnitTest tests[] = {
		T(parameters_become_dollars_on_pg_outside_strings_identifiers_and_comments),
		T(urls_pick_the_backend),
		T(binds_and_columns_round_trip_every_type_and_null),
		T(dialect_pairs_run_on_the_backend),
		T(a_failed_statement_names_the_database_and_the_statement),
		T(a_transaction_rolls_back_on_error_and_a_savepoint_undoes_only_itself),
		T(a_serialization_failure_is_retried),
		T(a_deadlock_is_retried),
		T(two_migrators_at_once_apply_each_step_exactly_once),
		T(a_lost_connection_is_reported_as_unreachable_then_recovered),
		T(an_open_sqlite_handle_is_wrapped_and_left_open),
		cmocka_unit_test_setup_teardown(a_stopped_server_is_unreachable_until_it_starts_again, setup_db,
		                                teardown_up),
	};
	return cmocka_run_group_tests_name(is_pg() ? "store_db (PostgreSQL)" : "store_db (SQLite)", tests, NULL, NULL);
}
