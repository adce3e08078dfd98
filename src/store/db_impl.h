/*
 * db_impl.h — what db.c shares with the two backends of db.h (db_sqlite.c,
 * db_pg.c). Internal to those three files.
 *
 * db.c owns the connection's common part (name, statement cache, transaction
 * state, counters) and calls the backend through `struct dbl_ops`; each
 * backend keeps its own state behind `impl` pointers.
 */
#ifndef DOSSIER_STORE_DB_IMPL_H
#define DOSSIER_STORE_DB_IMPL_H

#include "store/db.h"

#define DBL_CACHE_MAX 256  /* distinct statement texts one connection may cache */

struct dbl_ops {
	enum dbl_backend backend;
	/* Frees the backend's state of the connection (statements are gone already). */
	void (*close)(struct dbl_conn *c);
	/* Before any statement: PG reconnects a lost connection (DOSSIER_EUNAVAILABLE
	 * while it cannot). NULL when there is nothing to check. */
	int (*ensure)(struct dbl_conn *c, struct err *err);
	/* Prepares q->text (rewritten already) into q->impl. PG may defer the
	 * server-side prepare to the first step. */
	int (*prepare)(struct dbl_conn *c, struct dbl_stmt *q, struct err *err);
	void (*finalize)(struct dbl_stmt *q);  /* frees q->impl */
	void (*reset)(struct dbl_stmt *q);     /* results gone, bindings cleared */
	int (*bind_i64)(struct dbl_stmt *q, int i, int64_t v);
	int (*bind_double)(struct dbl_stmt *q, int i, double v);
	int (*bind_text)(struct dbl_stmt *q, int i, const char *s);
	int (*bind_null)(struct dbl_stmt *q, int i);
	int (*bind_blob)(struct dbl_stmt *q, int i, const void *data, size_t n);
	int (*step)(struct dbl_stmt *q, struct err *err);
	int (*col_count)(struct dbl_stmt *q);
	int (*col_is_null)(struct dbl_stmt *q, int i);
	int64_t (*col_i64)(struct dbl_stmt *q, int i);
	double (*col_double)(struct dbl_stmt *q, int i);
	const char *(*col_text)(struct dbl_stmt *q, int i);
	const void *(*col_blob)(struct dbl_stmt *q, int i, size_t *n);
	int64_t (*changes)(struct dbl_conn *c);
	/* A script, rewritten already (DIALECT resolved). */
	int (*exec)(struct dbl_conn *c, const char *sql, struct err *err);
	/* The statement text that opens a transaction with these flags. */
	const char *(*begin_sql)(int flags);
	/* Migrations: take and drop the one-migrator-at-a-time lock (may be NULL),
	 * read and write the version inside a transaction. */
	int (*migrate_lock)(struct dbl_conn *c, struct err *err);
	void (*migrate_unlock)(struct dbl_conn *c);
	int (*version_get)(struct dbl_conn *c, int *v, struct err *err);
	int (*version_set)(struct dbl_conn *c, int v, struct err *err);
};

struct dbl_stmt {
	struct dbl_conn *c;
	const char *key;   /* borrowed: the caller's text, the cache key */
	char *text;        /* owned: the text rewritten for the backend */
	int n_params;      /* the highest ?N */
	void *impl;        /* the backend's */
};

struct dbl_conn {
	const struct dbl_ops *ops;
	char *name;                        /* owned: the database in messages */
	void *impl;                        /* the backend's */
	struct dbl_stmt *cache[DBL_CACHE_MAX];  /* owned */
	int n_cache;
	int tx_depth;                      /* 0 outside; 1 in BEGIN; more in savepoints */
	int tx_retryable;                  /* a statement of this transaction hit 40001 / 40P01 */
	int tx_lost;                       /* the connection was lost inside the transaction */
	int64_t tx_retries;
};

/* Common helpers for the backends (db.c). */
/* Records the transaction as retryable when code is DOSSIER_EAGAIN; returns code. */
int dbl_note_rc(struct dbl_conn *c, int code);
/* A short form of a statement for messages: its first 80 characters, blanks
 * collapsed, in `out`. */
void dbl_sql_excerpt(const char *sql, char *out, size_t n);
/* Before a statement runs: DOSSIER_EUNAVAILABLE while a transaction whose
 * connection was lost is not rolled back yet, else the backend's ensure
 * (PG reconnects). */
int dbl_ensure(struct dbl_conn *c, struct err *err);

/* db_sqlite.c, db_pg.c: open into a common part that db.c allocated. */
int dbl_sqlite_attach(struct dbl_conn *c, struct sqlite3 *db, int owned, struct err *err);
int dbl_pg_connect(struct dbl_conn *c, const char *conninfo, struct err *err);

#endif
