/*
 * db_sqlite.c — db.h over SQLite: a file of its own (dbl_open_sqlite) or the
 * store's open handle (dbl_wrap_sqlite), so the store can move onto db.h one
 * module at a time.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/db_impl.h"

struct sq {
	sqlite3 *db;
	int owned;  /* 1: dbl_close closes db */
};

static sqlite3 *db_of(struct dbl_conn *c)
{
	return ((struct sq *)c->impl)->db;
}

static sqlite3_stmt *q_of(struct dbl_stmt *q)
{
	return q->impl;
}

/* The code of a failed call: a busy or locked database may succeed later. */
static int fail(struct dbl_conn *c, const char *sql, int src, struct err *err)
{
	char ex[96];
	dbl_sql_excerpt(sql, ex, sizeof ex);
	int code = (src & 0xff) == SQLITE_BUSY || (src & 0xff) == SQLITE_LOCKED ? DOSSIER_EAGAIN : DOSSIER_EDB;
	return err_set(err, code, "database %s: \"%s\": %s", c->name, ex, sqlite3_errmsg(db_of(c)));
}

static void sq_close(struct dbl_conn *c)
{
	struct sq *s = c->impl;
	if (!s)
		return;
	if (s->owned)
		sqlite3_close_v2(s->db);
	free(s);
}

static int sq_prepare(struct dbl_conn *c, struct dbl_stmt *q, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v3(db_of(c), q->text, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(c, q->text, rc, err);
	q->impl = st;
	return 0;
}

static void sq_finalize(struct dbl_stmt *q)
{
	sqlite3_finalize(q_of(q));
}

static void sq_reset(struct dbl_stmt *q)
{
	sqlite3_reset(q_of(q));
	sqlite3_clear_bindings(q_of(q));
}

static int bound(int rc)
{
	return rc == SQLITE_OK ? 0 : rc == SQLITE_NOMEM ? DOSSIER_ENOMEM : DOSSIER_EINVAL;
}

static int sq_bind_i64(struct dbl_stmt *q, int i, int64_t v)
{
	return bound(sqlite3_bind_int64(q_of(q), i, v));
}

static int sq_bind_double(struct dbl_stmt *q, int i, double v)
{
	return bound(sqlite3_bind_double(q_of(q), i, v));
}

static int sq_bind_text(struct dbl_stmt *q, int i, const char *s)
{
	return bound(sqlite3_bind_text(q_of(q), i, s, -1, SQLITE_TRANSIENT));
}

static int sq_bind_null(struct dbl_stmt *q, int i)
{
	return bound(sqlite3_bind_null(q_of(q), i));
}

static int sq_bind_blob(struct dbl_stmt *q, int i, const void *data, size_t n)
{
	return bound(sqlite3_bind_blob64(q_of(q), i, n ? data : "", n, SQLITE_TRANSIENT));
}

static int sq_step(struct dbl_stmt *q, struct err *err)
{
	int rc = sqlite3_step(q_of(q));
	if (rc == SQLITE_ROW)
		return DBL_ROW;
	if (rc == SQLITE_DONE)
		return DBL_DONE;
	rc = fail(q->c, q->text, rc, err);
	sqlite3_reset(q_of(q));
	return rc;
}

static int sq_col_count(struct dbl_stmt *q)
{
	return sqlite3_data_count(q_of(q));
}

static int sq_col_is_null(struct dbl_stmt *q, int i)
{
	return sqlite3_column_type(q_of(q), i) == SQLITE_NULL;
}

static int64_t sq_col_i64(struct dbl_stmt *q, int i)
{
	return sqlite3_column_int64(q_of(q), i);
}

static double sq_col_double(struct dbl_stmt *q, int i)
{
	return sqlite3_column_double(q_of(q), i);
}

static const char *sq_col_text(struct dbl_stmt *q, int i)
{
	return (const char *)sqlite3_column_text(q_of(q), i);
}

static const void *sq_col_blob(struct dbl_stmt *q, int i, size_t *n)
{
	const void *b = sqlite3_column_blob(q_of(q), i);
	*n = b ? (size_t)sqlite3_column_bytes(q_of(q), i) : 0;
	return b;
}

static int64_t sq_changes(struct dbl_conn *c)
{
	return sqlite3_changes64(db_of(c));
}

static int sq_exec(struct dbl_conn *c, const char *sql, struct err *err)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db_of(c), sql, NULL, NULL, &msg);
	if (rc == SQLITE_OK)
		return 0;
	char ex[96];
	dbl_sql_excerpt(sql, ex, sizeof ex);
	int code = (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ? DOSSIER_EAGAIN : DOSSIER_EDB;
	err_set(err, code, "database %s: \"%s\": %s", c->name, ex, msg ? msg : sqlite3_errstr(rc));
	sqlite3_free(msg);
	return code;
}

static const char *sq_begin_sql(int flags)
{
	(void)flags;  /* SQLite transactions are serializable */
	return "BEGIN IMMEDIATE";
}

static int sq_version_get(struct dbl_conn *c, int *v, struct err *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db_of(c), "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return fail(c, "PRAGMA user_version", rc, err);
	*v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return 0;
}

static int sq_version_set(struct dbl_conn *c, int v, struct err *err)
{
	char sql[64];
	snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v);
	return sq_exec(c, sql, err);
}

static const struct dbl_ops sqlite_ops = {
	.backend = DBL_SQLITE,
	.close = sq_close,
	.ensure = NULL,
	.prepare = sq_prepare,
	.finalize = sq_finalize,
	.reset = sq_reset,
	.bind_i64 = sq_bind_i64,
	.bind_double = sq_bind_double,
	.bind_text = sq_bind_text,
	.bind_null = sq_bind_null,
	.bind_blob = sq_bind_blob,
	.step = sq_step,
	.col_count = sq_col_count,
	.col_is_null = sq_col_is_null,
	.col_i64 = sq_col_i64,
	.col_double = sq_col_double,
	.col_text = sq_col_text,
	.col_blob = sq_col_blob,
	.changes = sq_changes,
	.exec = sq_exec,
	.begin_sql = sq_begin_sql,
	.migrate_lock = NULL,  /* BEGIN IMMEDIATE around each step is the lock */
	.migrate_unlock = NULL,
	.version_get = sq_version_get,
	.version_set = sq_version_set,
};

int dbl_sqlite_attach(struct dbl_conn *c, struct sqlite3 *db, int owned, struct err *err)
{
	struct sq *s = xcalloc(1, sizeof *s);
	s->db = db;
	s->owned = owned;
	c->impl = s;
	c->ops = &sqlite_ops;
	return 0;
}

struct sqlite3 *dbl_sqlite_handle(struct dbl_conn *c)
{
	return c && c->ops == &sqlite_ops ? db_of(c) : NULL;
}

int dbl_wrap_sqlite(struct sqlite3 *db, const char *name, struct dbl_conn **out, struct err *err)
{
	*out = NULL;
	if (!db)
		return err_set(err, DOSSIER_EINVAL, "no SQLite handle to wrap");
	struct dbl_conn *c = xcalloc(1, sizeof *c);
	c->name = xstrdup(name ? name : sqlite3_db_filename(db, "main"));
	dbl_sqlite_attach(c, db, 0, err);
	*out = c;
	return 0;
}

int dbl_open_sqlite(const char *path, struct dbl_conn **out, struct err *err)
{
	*out = NULL;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK) {
		err_set(err, DOSSIER_EDB, "cannot open database %s: %s (choose another with --db or DOSSIER_DB)", path,
		        db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close_v2(db);
		return DOSSIER_EDB;
	}
	sqlite3_busy_timeout(db, 10000);
	sqlite3_extended_result_codes(db, 1);
	struct dbl_conn *c = xcalloc(1, sizeof *c);
	c->name = xstrdup(path);
	dbl_sqlite_attach(c, db, 1, err);
	/* as store_open: WAL, so readers never block the writer */
	int rc = dbl_exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", err);
	if (rc) {
		err_prefix(err, "cannot use database %s (is the directory writable? choose another with --db): ", path);
		dbl_close(c);
		return rc;
	}
	*out = c;
	return 0;
}
