/*
 * db.h — the database layer under the store's logic (internal to src/store/,
 * never included from outside it). Two backends implement it: SQLite
 * (db_sqlite.c) and PostgreSQL over libpq (db_pg.c); db.c dispatches and
 * holds what both share (the statement cache, SQL rewriting, error texts).
 *
 * SQL is written once, in SQLite's numbered-parameter style ?1, ?2, ...
 * The PostgreSQL side rewrites ?N to $N when it prepares a statement (quoted
 * strings, quoted identifiers and comments are left alone). A lone `?` is
 * not a parameter here: always number them (on PostgreSQL a lone `?` stays,
 * it is jsonb's key-exists operator).
 *
 * Where the dialects differ, DIALECT(sqlite_text, pg_text) inside a string
 * literal picks one side at prepare time:
 *
 *   static const char SQL_TAG[] =
 *       DBL_INSERT_OR_IGNORE " INTO tags(doc, tag) VALUES(?1, ?2)" DBL_ON_CONFLICT_IGNORE;
 *   q = dbl_prep(c, SQL_TAG, err);
 *
 * A statement is a string literal (or any string that outlives the
 * connection): the cache is keyed by its address, as store.c's stmt() is.
 *
 * Results come back as text on PostgreSQL and typed on SQLite; the column
 * getters convert, so callers read both the same way. On PostgreSQL a
 * parameter bound as int64 or double is sent typed (bigint, double precision),
 * text and NULL let the server infer the type from the statement: a parameter
 * whose type the statement does not fix (`?1 IS NULL` alone) should be cast,
 * CAST(?1 AS TEXT), which both dialects read.
 *
 * New rows' ids: write `INSERT ... RETURNING id` (SQLite 3.35+ and PostgreSQL
 * both accept it) and read it with dbl_insert(), or step and read column 0.
 *
 * Errors: DOSSIER_EDB (the statement failed: the message names the database
 * and the statement), DOSSIER_EAGAIN (a serialization failure or deadlock on
 * PostgreSQL, a busy database on SQLite: the whole transaction may be retried;
 * dbl_tx does it), DOSSIER_EUNAVAILABLE (the PostgreSQL server is unreachable
 * or the connection was lost: the caller may retry later; the next call on
 * the connection reconnects and prepares its statements again).
 *
 * A connection is used by one thread at a time. Room left for later:
 * LISTEN/NOTIFY (a dbl_listen / dbl_socket / dbl_notifies trio on the PG side).
 */
#ifndef DOSSIER_STORE_DB_H
#define DOSSIER_STORE_DB_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

struct sqlite3;

/* ---- SQL text ------------------------------------------------------------ */

/* Marker bytes of DIALECT(); never valid in SQL text otherwise. */
#define DBL_DIALECT_OPEN "\x01"
#define DBL_DIALECT_SEP "\x02"
#define DBL_DIALECT_CLOSE "\x03"
/* A piece of SQL that differs: both arguments are string literals. */
#define DIALECT(sqlite_text, pg_text) \
	DBL_DIALECT_OPEN sqlite_text DBL_DIALECT_SEP pg_text DBL_DIALECT_CLOSE

/* The pairs the store needs. */
#define DBL_INSERT_OR_IGNORE DIALECT("INSERT OR IGNORE", "INSERT")     /* ... then: */
#define DBL_ON_CONFLICT_IGNORE DIALECT("", " ON CONFLICT DO NOTHING") /* at the end */
/* x IS y for any values (SQLite's IS; PostgreSQL's IS NOT DISTINCT FROM). */
#define DBL_IS DIALECT(" IS ", " IS NOT DISTINCT FROM ")
/* The larger of two values (SQLite's scalar max; PostgreSQL's greatest). */
#define DBL_MAX2 DIALECT("max", "greatest")
/* LIMIT p where p = -1 means no limit (SQLite's rule; PostgreSQL's LIMIT NULL). */
#define DBL_LIMIT(p) DIALECT(" LIMIT " p, " LIMIT NULLIF(" p ", -1)")
/* The position of needle in haystack, from 1; 0 when absent. */
#define DBL_INSTR DIALECT("instr", "strpos")
/* A SQLite index hint (INDEXED BY name); nothing on PostgreSQL, whose planner picks. */
#define DBL_INDEXED_BY(name) DIALECT(" INDEXED BY " name, "")
/* At the end of a claim's SELECT: PostgreSQL locks the row it returns and
 * passes over rows other transactions hold (SQLite's write lock is the
 * whole database already). */
#define DBL_SKIP_LOCKED DIALECT("", " FOR UPDATE SKIP LOCKED")
/* The time now in seconds since the epoch, with fractions (REAL / double precision). */
#define DBL_NOW DIALECT("((julianday('now') - 2440587.5) * 86400.0)", "extract(epoch from clock_timestamp())::float8")
/* The text at a path inside a JSON column: DBL_JSON_TEXT("z.json", "mail.date", "mail,date"). */
#define DBL_JSON_TEXT(col, dotted, commas) \
	DIALECT("json_extract(" col ", '$." dotted "')", "(" col "::jsonb #>> '{" commas "}')")
/* The elements of a JSON array as rows of one column `value` (text). */
#define DBL_JSON_EACH(col, dotted, commas) \
	DIALECT("json_each(" col ", '$." dotted "')", \
	        "jsonb_array_elements_text(" col "::jsonb #> '{" commas "}') AS value")

enum dbl_backend { DBL_SQLITE, DBL_PG };

/*
 * Rewrites `sql` for a backend: picks each DIALECT() side, and for PG turns
 * ?N into $N. Returns a malloc'd string (caller frees) or NULL with
 * DOSSIER_EINVAL in err for malformed text (an unclosed DIALECT, a parameter
 * number of 0 or above 999). *n_params (may be NULL) gets the highest N.
 */
char *dbl_sql_rewrite(const char *sql, enum dbl_backend backend, int *n_params, struct err *err);

/* ---- connections ----------------------------------------------------------- */

struct dbl_conn;  /* opaque: one connection and its statement cache */
struct dbl_stmt;  /* opaque: a prepared statement, owned by its connection */

/* 1 if `url` names a PostgreSQL database: postgresql://..., postgres://...,
 * or the empty string (libpq's PG* environment variables and service file). */
int dbl_is_pg_url(const char *url);

/* Opens a SQLite file or a PostgreSQL URL (dbl_is_pg_url). *out: caller
 * closes with dbl_close. On failure *out is NULL and the message names the
 * database and the fix. */
int dbl_open(const char *url, struct dbl_conn **out, struct err *err);
int dbl_open_sqlite(const char *path, struct dbl_conn **out, struct err *err);
int dbl_open_pg(const char *conninfo, struct dbl_conn **out, struct err *err);
/* Wraps an open SQLite handle: borrowed, must outlive the connection, which
 * does not close it; `name` (copied) names it in messages. */
int dbl_wrap_sqlite(struct sqlite3 *db, const char *name, struct dbl_conn **out, struct err *err);
/* The SQLite handle under a SQLite connection (for what only SQLite has: its
 * WAL hook, its busy timeout), NULL on PostgreSQL. Borrowed: the connection's. */
struct sqlite3 *dbl_sqlite_handle(struct dbl_conn *c);
/* Finalises the statements and closes the connection; NULL is a no-op. */
void dbl_close(struct dbl_conn *c);

enum dbl_backend dbl_backend_of(const struct dbl_conn *c);
/* The database in messages: the path, or the PostgreSQL URL without a
 * password. Borrowed, valid until dbl_close. */
const char *dbl_name(const struct dbl_conn *c);

/* ---- statements ------------------------------------------------------------ */

enum dbl_step_rc {
	DBL_DONE = 0,  /* no (more) rows: the statement finished */
	DBL_ROW = -1,  /* a row is ready for the column getters */
	/* any positive value is a DOSSIER_E* code */
};

/* The prepared statement for `sql` (cached by its address), reset and with
 * no bindings; NULL with the code in err on failure (DOSSIER_EUNAVAILABLE if
 * the server cannot be reached). Borrowed: call dbl_done() after use. */
struct dbl_stmt *dbl_prep(struct dbl_conn *c, const char *sql, struct err *err);

/* A statement for a text built at run time (not a literal): not cached; the
 * caller frees it with dbl_stmt_free. */
struct dbl_stmt *dbl_prep_uncached(struct dbl_conn *c, const char *sql, struct err *err);
void dbl_stmt_free(struct dbl_stmt *q);  /* NULL is a no-op */
/* The highest ?N of the statement's text. */
int dbl_param_count(const struct dbl_stmt *q);

/* Parameters are numbered from 1 as in the text (?1). Returns 0 or
 * DOSSIER_EINVAL (no such parameter); errors also surface at dbl_step. */
int dbl_bind_i64(struct dbl_stmt *q, int i, int64_t v);
int dbl_bind_double(struct dbl_stmt *q, int i, double v);
int dbl_bind_text(struct dbl_stmt *q, int i, const char *s);  /* copied; NULL binds NULL */
int dbl_bind_null(struct dbl_stmt *q, int i);
/* n bytes (copied); SQLite BLOB, PostgreSQL bytea (sent as hex text). */
int dbl_bind_blob(struct dbl_stmt *q, int i, const void *data, size_t n);

/* Runs the statement (first call) or moves to the next row: DBL_ROW,
 * DBL_DONE, or a DOSSIER_E* code with the message in err. */
int dbl_step(struct dbl_stmt *q, struct err *err);

/* The current row's column i (from 0). Text is borrowed until the next
 * dbl_step or dbl_done; NULL reads as 0, 0.0 and a NULL pointer. */
int dbl_col_count(struct dbl_stmt *q);
int dbl_col_is_null(struct dbl_stmt *q, int i);
int64_t dbl_col_i64(struct dbl_stmt *q, int i);
double dbl_col_double(struct dbl_stmt *q, int i);
const char *dbl_col_text(struct dbl_stmt *q, int i);
/* A BLOB / bytea column: the bytes (borrowed as text is) and *n their count;
 * NULL and 0 for NULL. */
const void *dbl_col_blob(struct dbl_stmt *q, int i, size_t *n);

/* Ends a use of the statement: resets it so no read stays open. NULL is a no-op. */
void dbl_done(struct dbl_stmt *q);

/* Rows inserted, updated or deleted by the last statement that finished. */
int64_t dbl_changes(struct dbl_conn *c);

/* Steps an `INSERT ... RETURNING id` to its end; *id gets the new row's id,
 * or 0 when nothing was inserted (OR IGNORE / ON CONFLICT DO NOTHING). */
int dbl_insert(struct dbl_stmt *q, int64_t *id, struct err *err);

/* One statement without parameters or rows, or a script of several (DIALECT
 * applies, ?N does not), not cached. Returns 0 or the code. */
int dbl_exec(struct dbl_conn *c, const char *sql, struct err *err);

/* ---- transactions ------------------------------------------------------------ */

enum dbl_tx_flags {
	DBL_TX_SERIALIZABLE = 1,  /* PG: ISOLATION LEVEL SERIALIZABLE (SQLite always is) */
};

/* SQLite: BEGIN IMMEDIATE (the write lock now, after the busy timeout);
 * PostgreSQL: BEGIN. Returns 0 or the code; DOSSIER_EINVAL inside a transaction. */
int dbl_begin(struct dbl_conn *c, int flags, struct err *err);
int dbl_commit(struct dbl_conn *c, struct err *err);
void dbl_rollback(struct dbl_conn *c);  /* no-op outside a transaction */
int dbl_in_tx(const struct dbl_conn *c);

/* Runs fn in a transaction and commits; rolls back when fn returns non-zero
 * (and returns that; fn writes its message into the err it is given). On a serialization failure or deadlock (PG 40001,
 * 40P01, in fn or at commit) it rolls back and runs fn again, up to
 * DBL_TX_TRIES times with a growing random pause, then returns DOSSIER_EAGAIN:
 * fn must have no effect outside the database, or tolerate a re-run. Inside
 * another transaction it runs as a savepoint and leaves retries to the outer. */
#define DBL_TX_TRIES 12
typedef int dbl_tx_fn(struct dbl_conn *c, void *user, struct err *err);
int dbl_tx(struct dbl_conn *c, int flags, dbl_tx_fn *fn, void *user, struct err *err);
/* How many times dbl_tx re-ran a transaction on this connection (for tests and metrics). */
int64_t dbl_tx_retries(const struct dbl_conn *c);

/* ---- migrations ------------------------------------------------------------------ */

/* Migration i (from 0) takes the schema from version i to i + 1. */
struct dbl_migration {
	const char *sql;                                      /* a script (dbl_exec); may be NULL */
	int (*fn)(struct dbl_conn *c, void *user, struct err *err);  /* then this; may be NULL */
};

/*
 * Applies the migrations the database lacks, each in its own transaction
 * with the version it reaches, one process at a time: SQLite under BEGIN
 * IMMEDIATE with the version in PRAGMA user_version; PostgreSQL under
 * pg_advisory_lock with the version in a table schema_version(version).
 * *version (may be NULL) gets the version reached. A database newer than
 * `n` is DOSSIER_EDB naming both versions.
 */
int dbl_migrate(struct dbl_conn *c, const struct dbl_migration *steps, int n, void *user, int *version,
                struct err *err);

#endif
