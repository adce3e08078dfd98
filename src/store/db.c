/*
 * db.c — the part of db.h both backends share: SQL rewriting (DIALECT, ?N),
 * the statement cache, transactions with their retry, migrations. The
 * backends are db_sqlite.c and db_pg.c.
 */
#include "store/db.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/util.h"
#include "store/db_impl.h"

/* ============================================================ SQL text */

/* Picks one side of every DIALECT(): a new string, or NULL when malformed. */
static char *resolve_dialect(const char *sql, enum dbl_backend backend, struct err *err)
{
	size_t n = strlen(sql);
	char *out = xcalloc(1, n + 1), *o = out;
	int side = -1;  /* -1 outside a DIALECT, 0 its SQLite side, 1 its PG side */
	for (const char *p = sql; *p; p++) {
		if (*p == DBL_DIALECT_OPEN[0]) {
			if (side != -1)
				goto bad;
			side = 0;
		} else if (*p == DBL_DIALECT_SEP[0]) {
			if (side != 0)
				goto bad;
			side = 1;
		} else if (*p == DBL_DIALECT_CLOSE[0]) {
			if (side != 1)
				goto bad;
			side = -1;
		} else if (side == -1 || side == (backend == DBL_PG)) {
			*o++ = *p;
		}
	}
	if (side != -1)
		goto bad;
	*o = '\0';
	return out;
bad:
	free(out);
	char ex[96];
	dbl_sql_excerpt(sql, ex, sizeof ex);
	err_set(err, DOSSIER_EINVAL, "malformed DIALECT() in the statement \"%s\" (nested or unclosed)", ex);
	return NULL;
}

static int ident_char(char ch)
{
	return isalnum((unsigned char)ch) || ch == '_';
}

/* The end of a quoted run starting at p (the opening quote), past the closing
 * one; a doubled quote is part of the text. backslash: E'...' escapes. */
static const char *skip_quoted(const char *p, int backslash)
{
	char q = *p++;
	for (; *p; p++) {
		if (backslash && *p == '\\' && p[1]) {
			p++;
		} else if (*p == q) {
			if (p[1] == q) {
				p++;
				continue;
			}
			return p + 1;
		}
	}
	return p;
}

/* PG's dollar quoting: at p a `$tag$` (tag may be empty) opens a string
 * closed by the same `$tag$`. Returns its end, or NULL when p opens none. */
static const char *skip_dollar_quoted(const char *sql, const char *p)
{
	if (p > sql && ident_char(p[-1]))
		return NULL;
	const char *t = p + 1;
	if (isdigit((unsigned char)*t))
		return NULL;  /* $1 is a parameter */
	while (ident_char(*t))
		t++;
	if (*t != '$')
		return NULL;
	size_t tag = (size_t)(t - p) + 1;
	for (const char *s = t + 1; *s; s++)
		if (*s == '$' && strncmp(s, p, tag) == 0)
			return s + tag;
	return p + strlen(p);
}

char *dbl_sql_rewrite(const char *sql, enum dbl_backend backend, int *n_params, struct err *err)
{
	if (n_params)
		*n_params = 0;
	char *text = resolve_dialect(sql, backend, err);
	if (!text)
		return NULL;
	/* ?N and $N are the same length for N of any size: rewrite in place. */
	int max = 0;
	for (char *p = text; *p;) {
		if (*p == '\'') {
			int e = backend == DBL_PG && p > text && (p[-1] == 'E' || p[-1] == 'e') &&
			        !(p - 1 > text && ident_char(p[-2]));
			p = (char *)skip_quoted(p, e);
		} else if (*p == '"') {
			p = (char *)skip_quoted(p, 0);
		} else if (p[0] == '-' && p[1] == '-') {
			while (*p && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			char *end = strstr(p + 2, "*/");
			p = end ? end + 2 : p + strlen(p);
		} else if (*p == '$' && backend == DBL_PG && skip_dollar_quoted(text, p)) {
			p = (char *)skip_dollar_quoted(text, p);
		} else if (*p == '?' && isdigit((unsigned char)p[1])) {
			char *end;
			long v = strtol(p + 1, &end, 10);
			if (v < 1 || v > 32766) {
				char ex[96];
				dbl_sql_excerpt(sql, ex, sizeof ex);
				err_set(err, DOSSIER_EINVAL, "parameter ?%ld out of range (1 to 32766) in \"%s\"", v, ex);
				free(text);
				return NULL;
			}
			if (v > max)
				max = (int)v;
			if (backend == DBL_PG)
				*p = '$';
			p = end;
		} else {
			p++;
		}
	}
	if (n_params)
		*n_params = max;
	return text;
}

void dbl_sql_excerpt(const char *sql, char *out, size_t n)
{
	size_t o = 0;
	int blank = 0;
	if (!n)
		return;
	for (const char *p = sql; *p && o + 4 < n && o < 80; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch < 4)
			continue;  /* DIALECT() markers */
		if (isspace(ch)) {
			blank = o > 0;
			continue;
		}
		if (blank)
			out[o++] = ' ';
		blank = 0;
		out[o++] = (char)ch;
	}
	size_t len = strlen(sql);
	if (o >= 80 || (o + 4 >= n && len > o))
		memcpy(out + o, "...", 3), o += 3;
	out[o] = '\0';
}

/* ============================================================ connections */

int dbl_is_pg_url(const char *url)
{
	return url && (!*url || strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0);
}

int dbl_open(const char *url, struct dbl_conn **out, struct err *err)
{
	if (!url)
		return err_set(err, DOSSIER_EINVAL, "no database given");
	return dbl_is_pg_url(url) ? dbl_open_pg(url, out, err) : dbl_open_sqlite(url, out, err);
}

void dbl_close(struct dbl_conn *c)
{
	if (!c)
		return;
	for (int i = 0; i < c->n_cache; i++) {
		c->ops->finalize(c->cache[i]);
		free(c->cache[i]->text);
		free(c->cache[i]);
	}
	if (c->ops)
		c->ops->close(c);
	free(c->name);
	free(c);
}

enum dbl_backend dbl_backend_of(const struct dbl_conn *c)
{
	return c->ops->backend;
}

const char *dbl_name(const struct dbl_conn *c)
{
	return c->name;
}

int dbl_note_rc(struct dbl_conn *c, int code)
{
	if (code == DOSSIER_EAGAIN && c->tx_depth > 0)
		c->tx_retryable = 1;
	if (code == DOSSIER_EUNAVAILABLE && c->tx_depth > 0)
		c->tx_lost = 1;  /* the server rolled it back: nothing more runs in it */
	return code;
}

/* ============================================================ statements */

int dbl_ensure(struct dbl_conn *c, struct err *err)
{
	if (c->tx_lost)
		return err_set(err, DOSSIER_EUNAVAILABLE,
		               "database %s: the connection was lost inside a transaction, which the server rolled back: "
		               "roll back and retry it", c->name);
	return c->ops->ensure ? c->ops->ensure(c, err) : 0;
}


/* A statement for sql, rewritten for the backend and prepared; key is the
 * cache's (NULL: uncached, dbl_stmt_free). NULL with the code in err. */
static struct dbl_stmt *stmt_make(struct dbl_conn *c, const char *key, const char *sql, struct err *err)
{
	struct dbl_stmt *q = xcalloc(1, sizeof *q);
	q->c = c;
	q->key = key;
	if (!(q->text = dbl_sql_rewrite(sql, c->ops->backend, &q->n_params, err)) || c->ops->prepare(c, q, err)) {
		free(q->text);
		free(q);
		return NULL;
	}
	return q;
}

struct dbl_stmt *dbl_prep(struct dbl_conn *c, const char *sql, struct err *err)
{
	if (dbl_ensure(c, err))
		return NULL;
	for (int i = 0; i < c->n_cache; i++) {
		struct dbl_stmt *q = c->cache[i];
		if (q->key == sql) {
			c->ops->reset(q);
			return q;
		}
	}
	if (c->n_cache == DBL_CACHE_MAX) {
		err_set(err, DOSSIER_EDB, "database %s: more than %d distinct statements (raise DBL_CACHE_MAX)", c->name,
		        DBL_CACHE_MAX);
		return NULL;
	}
	struct dbl_stmt *q = stmt_make(c, sql, sql, err);
	if (q)
		c->cache[c->n_cache++] = q;
	return q;
}

struct dbl_stmt *dbl_prep_uncached(struct dbl_conn *c, const char *sql, struct err *err)
{
	return dbl_ensure(c, err) ? NULL : stmt_make(c, NULL, sql, err);
}

void dbl_stmt_free(struct dbl_stmt *q)
{
	if (!q)
		return;
	q->c->ops->finalize(q);
	free(q->text);
	free(q);
}

int dbl_param_count(const struct dbl_stmt *q)
{
	return q ? q->n_params : 0;
}

static int bind_check(struct dbl_stmt *q, int i)
{
	return q && i >= 1 && i <= q->n_params ? 0 : DOSSIER_EINVAL;
}

int dbl_bind_i64(struct dbl_stmt *q, int i, int64_t v)
{
	return bind_check(q, i) ? DOSSIER_EINVAL : q->c->ops->bind_i64(q, i, v);
}

int dbl_bind_double(struct dbl_stmt *q, int i, double v)
{
	return bind_check(q, i) ? DOSSIER_EINVAL : q->c->ops->bind_double(q, i, v);
}

int dbl_bind_text(struct dbl_stmt *q, int i, const char *s)
{
	if (bind_check(q, i))
		return DOSSIER_EINVAL;
	return s ? q->c->ops->bind_text(q, i, s) : q->c->ops->bind_null(q, i);
}

int dbl_bind_null(struct dbl_stmt *q, int i)
{
	return bind_check(q, i) ? DOSSIER_EINVAL : q->c->ops->bind_null(q, i);
}

int dbl_bind_blob(struct dbl_stmt *q, int i, const void *data, size_t n)
{
	return bind_check(q, i) ? DOSSIER_EINVAL : q->c->ops->bind_blob(q, i, data, n);
}

int dbl_step(struct dbl_stmt *q, struct err *err)
{
	if (!q)
		return err_set(err, DOSSIER_EINVAL, "no statement");
	int rc = q->c->ops->step(q, err);
	return rc > 0 ? dbl_note_rc(q->c, rc) : rc;
}

int dbl_col_count(struct dbl_stmt *q)
{
	return q->c->ops->col_count(q);
}

int dbl_col_is_null(struct dbl_stmt *q, int i)
{
	return q->c->ops->col_is_null(q, i);
}

int64_t dbl_col_i64(struct dbl_stmt *q, int i)
{
	return q->c->ops->col_i64(q, i);
}

double dbl_col_double(struct dbl_stmt *q, int i)
{
	return q->c->ops->col_double(q, i);
}

const char *dbl_col_text(struct dbl_stmt *q, int i)
{
	return q->c->ops->col_text(q, i);
}

const void *dbl_col_blob(struct dbl_stmt *q, int i, size_t *n)
{
	return q->c->ops->col_blob(q, i, n);
}

void dbl_done(struct dbl_stmt *q)
{
	if (q)
		q->c->ops->reset(q);
}

int64_t dbl_changes(struct dbl_conn *c)
{
	return c->ops->changes(c);
}

int dbl_insert(struct dbl_stmt *q, int64_t *id, struct err *err)
{
	*id = 0;
	int rc;
	while ((rc = dbl_step(q, err)) == DBL_ROW)
		if (*id == 0 && dbl_col_count(q) > 0)
			*id = dbl_col_i64(q, 0);
	dbl_done(q);
	return rc;
}

int dbl_exec(struct dbl_conn *c, const char *sql, struct err *err)
{
	int rc = dbl_ensure(c, err);
	if (rc)
		return rc;
	/* a script has no parameters: only DIALECT() applies */
	char *text = resolve_dialect(sql, c->ops->backend, err);
	if (!text)
		return DOSSIER_EINVAL;
	rc = c->ops->exec(c, text, err);
	free(text);
	return rc ? dbl_note_rc(c, rc) : 0;
}

/* ============================================================ transactions */

int dbl_in_tx(const struct dbl_conn *c)
{
	return c && c->tx_depth > 0;
}

/* A transaction statement (a string literal): on SQLite prepared once and
 * stepped, as it runs several times for every step of the queue; on
 * PostgreSQL a simple query. */
static int tx_run(struct dbl_conn *c, const char *sql, struct err *err)
{
	if (c->ops->backend != DBL_SQLITE)
		return dbl_exec(c, sql, err);
	struct dbl_stmt *q = dbl_prep(c, sql, err);
	if (!q)
		return err && err->code ? err->code : DOSSIER_EDB;
	int rc = dbl_step(q, err);
	dbl_done(q);
	return rc == DBL_DONE || rc == DBL_ROW ? 0 : rc;
}

int dbl_begin(struct dbl_conn *c, int flags, struct err *err)
{
	if (c->tx_depth > 0)
		return err_set(err, DOSSIER_EINVAL, "database %s: a transaction is already open", c->name);
	int rc = tx_run(c, c->ops->begin_sql(flags), err);
	if (rc)
		return rc;
	c->tx_depth = 1;
	c->tx_retryable = 0;
	return 0;
}

static const char SQL_COMMIT[] = "COMMIT";

int dbl_commit(struct dbl_conn *c, struct err *err)
{
	if (c->tx_depth == 0)
		return 0;
	int rc = c->tx_lost ? dbl_ensure(c, err) : tx_run(c, SQL_COMMIT, err);
	if (rc) {
		dbl_rollback(c);
		return rc;
	}
	c->tx_depth = 0;
	return 0;
}

void dbl_rollback(struct dbl_conn *c)
{
	if (!c || c->tx_depth == 0)
		return;
	int lost = c->tx_lost;
	c->tx_depth = 0;
	c->tx_lost = 0;
	if (!lost)
		c->ops->exec(c, "ROLLBACK", NULL);
}

/* A pause before try `n` (from 1): 2^n ms, at most 256, times a random 0.5 to 1.5. */
static void retry_pause(struct dbl_conn *c, int n)
{
	unsigned seed = (unsigned)(uintptr_t)c ^ (unsigned)time(NULL) ^ (unsigned)(n * 2654435761u);
	double ms = (double)(1 << (n < 8 ? n : 8)) * (0.5 + (double)rand_r(&seed) / RAND_MAX);
	struct timespec ts = {(time_t)(ms / 1000), (long)((ms - (double)(long)(ms / 1000) * 1000) * 1e6)};
	nanosleep(&ts, NULL);
}

/* The savepoint statements of the first depths, as literals (tx_run caches them). */
static const char *const SP_OPEN[] = {"SAVEPOINT dbl_sp1", "SAVEPOINT dbl_sp2", "SAVEPOINT dbl_sp3"};
static const char *const SP_RELEASE[] = {"RELEASE dbl_sp1", "RELEASE dbl_sp2", "RELEASE dbl_sp3"};
#define SP_CACHED ((int)(sizeof SP_OPEN / sizeof SP_OPEN[0]))

static int savepoint_tx(struct dbl_conn *c, dbl_tx_fn *fn, void *user, struct err *err)
{
	char sql[64];
	int depth = c->tx_depth, rc;
	if (depth <= SP_CACHED) {
		rc = tx_run(c, SP_OPEN[depth - 1], err);
	} else {
		snprintf(sql, sizeof sql, "SAVEPOINT dbl_sp%d", depth);
		rc = dbl_exec(c, sql, err);
	}
	if (rc)
		return rc;
	c->tx_depth = depth + 1;
	rc = fn(c, user, err);
	c->tx_depth = depth;
	if (c->tx_lost)  /* the outer transaction is gone too */
		return rc ? rc : dbl_ensure(c, err);
	if (rc) {
		snprintf(sql, sizeof sql, "ROLLBACK TO dbl_sp%d", depth);
		c->ops->exec(c, sql, NULL);
	}
	int rc2;
	if (depth <= SP_CACHED) {
		rc2 = tx_run(c, SP_RELEASE[depth - 1], rc ? NULL : err);
	} else {
		snprintf(sql, sizeof sql, "RELEASE dbl_sp%d", depth);
		rc2 = c->ops->exec(c, sql, rc ? NULL : err);
	}
	return rc ? rc : rc2;
}

int dbl_tx(struct dbl_conn *c, int flags, dbl_tx_fn *fn, void *user, struct err *err)
{
	if (c->tx_depth > 0)
		return savepoint_tx(c, fn, user, err);
	for (int attempt = 1;; attempt++) {
		err_clear(err);
		c->tx_retryable = 0;
		int rc = dbl_begin(c, flags, err);
		if (!rc) {
			rc = fn(c, user, err);
			if (rc)
				dbl_rollback(c);
			else
				rc = dbl_commit(c, err);  /* rolls back when it fails */
		}
		if (!rc)
			return 0;
		if (rc == DOSSIER_EUNAVAILABLE || !(c->tx_retryable || rc == DOSSIER_EAGAIN))
			return rc;
		if (attempt >= DBL_TX_TRIES) {
			char last[ERR_MSG_MAX] = "";
			if (err)
				snprintf(last, sizeof last, "%s", err->msg);
			return err_set(err, DOSSIER_EAGAIN,
			               "database %s: the transaction conflicted with others %d times in a row, "
			               "try again (last: %.300s)", c->name, attempt, last);
		}
		c->tx_retries++;
		retry_pause(c, attempt);
	}
}

int64_t dbl_tx_retries(const struct dbl_conn *c)
{
	return c->tx_retries;
}

/* ============================================================ migrations */

int dbl_migrate(struct dbl_conn *c, const struct dbl_migration *steps, int n, void *user, int *version,
                struct err *err)
{
	int rc = dbl_ensure(c, err), v = 0;
	if (rc)
		return rc;
	/* up to date (every open but the first): read without a lock, so that
	 * opening a database never waits for another connection's writes */
	if (c->ops->version_get(c, &v, NULL) == 0 && v == n) {
		if (version)
			*version = v;
		return 0;
	}
	if (c->ops->migrate_lock && (rc = c->ops->migrate_lock(c, err)))
		return rc;
	for (;;) {
		if ((rc = dbl_begin(c, 0, err)))
			break;
		if ((rc = c->ops->version_get(c, &v, err)))
			goto fail;
		if (v > n) {
			rc = err_set(err, DOSSIER_EDB,
			             "database %s has schema version %d, newer than this dossier (%d): "
			             "upgrade dossier or use another database", c->name, v, n);
			goto fail;
		}
		if (v == n) {
			rc = dbl_commit(c, err);
			break;
		}
		if ((steps[v].sql && (rc = dbl_exec(c, steps[v].sql, err))) ||
		    (steps[v].fn && (rc = steps[v].fn(c, user, err))) ||
		    (rc = c->ops->version_set(c, v + 1, err))) {
			err_prefix(err, "migrating database %s to schema %d: ", c->name, v + 1);
			goto fail;
		}
		if ((rc = dbl_commit(c, err)))
			break;
	}
	goto out;
fail:
	dbl_rollback(c);
out:
	if (c->ops->migrate_unlock)
		c->ops->migrate_unlock(c);
	if (version)
		*version = v;
	return rc;
}
