/*
 * db_pg.c — db.h over PostgreSQL (libpq).
 *
 * A statement is prepared on the server (PQprepare, named "dbl<N>") at its
 * first step on a session, with the types of its first non-NULL bindings
 * (int64 as bigint, double as double precision; text and NULL left for the
 * server to infer), and prepared again when a binding's type changes or the
 * session is new. Parameters and results travel as text; a statement's whole
 * result is read at its first step (the store's statements return few rows;
 * a cursor or single-row mode is for a caller that needs more).
 *
 * A lost connection (PQstatus CONNECTION_BAD, SQLSTATE class 08, 57P01..03)
 * is DOSSIER_EUNAVAILABLE; the next call on the connection resets it
 * (PQreset) and the statements are prepared again on the new session.
 */
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "store/db_impl.h"

#define OID_INT8 20
#define OID_FLOAT8 701
#define OID_TEXT 25
/* pg_advisory_lock key of migrations: the bytes of "dossier" */
#define MIGRATE_LOCK_KEY "28273405081527666"

struct pgc {
	PGconn *pg;
	int64_t changes;  /* rows changed by the last INSERT/UPDATE/DELETE/MERGE */
	int session;      /* counts the sessions of this connection: 1 at the first */
	int next_name;    /* for the statements' names */
};

struct pgs {
	char name[24];     /* the server-side name, "" until prepared */
	int session;       /* the session it was prepared on */
	Oid *types;        /* n_params: the types it was prepared with */
	Oid *btypes;       /* n_params: the types of the current bindings */
	char *used;        /* n_params: 1 if the text names $i+1 (a gap in the numbers has no type to infer) */
	char **vals;       /* n_params: owned texts of the current bindings; NULL = NULL */
	PGresult *res;     /* the current result, NULL before the first step */
	unsigned char *blob;  /* the last bytea column decoded (dbl_col_blob), until the next step */
	size_t blob_cap;
	int row, rows;     /* the current row and how many */
};

static PGconn *pg_of(struct dbl_conn *c)
{
	return ((struct pgc *)c->impl)->pg;
}

static struct pgs *s_of(struct dbl_stmt *q)
{
	return q->impl;
}

/* ============================================================ errors */

/* libpq's messages on one line: newlines and tabs to single spaces, none at the end. */
static void one_line(char *s)
{
	char *o = s;
	for (const char *p = s; *p; p++) {
		char ch = *p == '\n' || *p == '\t' ? ' ' : *p;
		if (ch == ' ' && (o == s || o[-1] == ' '))
			continue;
		*o++ = ch;
	}
	while (o > s && o[-1] == ' ')
		o--;
	*o = '\0';
}

static int lost_state(const char *state)
{
	return state && (strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0 || strcmp(state, "57P02") == 0 ||
	                 strcmp(state, "57P03") == 0);
}

static int unreachable(struct dbl_conn *c, const char *why, struct err *err)
{
	char msg[300];
	snprintf(msg, sizeof msg, "%s", why && *why ? why : "no answer");
	one_line(msg);
	return err_set(err, DOSSIER_EUNAVAILABLE,
	               "database %s is unreachable (%s): is the PostgreSQL server running? "
	               "The connection is tried again on the next call: retry later", c->name, msg);
}

/* The code for a failed result (res may be NULL), with the message in err. */
static int fail(struct dbl_conn *c, const char *sql, PGresult *res, struct err *err)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	if (PQstatus(pg_of(c)) == CONNECTION_BAD || lost_state(state))
		return unreachable(c, res ? PQresultErrorMessage(res) : PQerrorMessage(pg_of(c)), err);
	int code = state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0) ? DOSSIER_EAGAIN : DOSSIER_EDB;
	char ex[96], msg[320];
	dbl_sql_excerpt(sql, ex, sizeof ex);
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (primary)
		snprintf(msg, sizeof msg, "%s%s%s", primary, detail ? ": " : "", detail ? detail : "");
	else
		snprintf(msg, sizeof msg, "%s", res ? PQresultErrorMessage(res) : PQerrorMessage(pg_of(c)));
	one_line(msg);
	return err_set(err, code, "database %s: \"%s\": %s%s%s%s", c->name, ex, msg, state ? " (SQLSTATE " : "",
	               state ? state : "", state ? ")" : "");
}

static int is_ok(PGresult *res)
{
	ExecStatusType st = PQresultStatus(res);
	return res && (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
}

static void note_changes(struct dbl_conn *c, PGresult *res)
{
	const char *tag = PQcmdStatus(res);
	if (tag && (strncmp(tag, "INSERT ", 7) == 0 || strncmp(tag, "UPDATE ", 7) == 0 ||
	            strncmp(tag, "DELETE ", 7) == 0 || strncmp(tag, "MERGE ", 6) == 0))
		((struct pgc *)c->impl)->changes = strtoll(PQcmdTuples(res), NULL, 10);
}

/* ============================================================ the connection */

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;  /* NOTICEs ("already exists, skipping"): library code never prints */
}

/* The database for messages, from the connection's own parameters: never the password. */
static char *name_of(PGconn *pg, const char *conninfo)
{
	const char *user = PQuser(pg), *host = PQhost(pg), *port = PQport(pg), *db = PQdb(pg);
	char buf[600];
	if (!pg || !db)
		snprintf(buf, sizeof buf, "%s", *conninfo ? "postgresql (the URL given)" : "postgresql (from PG* variables)");
	else if (host && host[0] == '/')
		snprintf(buf, sizeof buf, "postgresql://%s@/%s?host=%s&port=%s", user ? user : "", db, host,
		         port ? port : "");
	else
		snprintf(buf, sizeof buf, "postgresql://%s@%s:%s/%s", user ? user : "", host ? host : "",
		         port ? port : "", db);
	return xstrdup(buf);
}

static int pg_ensure(struct dbl_conn *c, struct err *err)
{
	struct pgc *p = c->impl;
	if (PQstatus(p->pg) == CONNECTION_OK)
		return 0;
	PQreset(p->pg);
	if (PQstatus(p->pg) != CONNECTION_OK)
		return unreachable(c, PQerrorMessage(p->pg), err);
	p->session++;  /* every statement is prepared again */
	return 0;
}

static void pg_close(struct dbl_conn *c)
{
	struct pgc *p = c->impl;
	if (!p)
		return;
	PQfinish(p->pg);
	free(p);
}

/* ============================================================ statements */

static void clear_binds(struct dbl_stmt *q)
{
	struct pgs *s = s_of(q);
	for (int i = 0; i < q->n_params; i++) {
		free(s->vals[i]);
		s->vals[i] = NULL;
		s->btypes[i] = 0;
	}
}

static int pg_prepare(struct dbl_conn *c, struct dbl_stmt *q, struct err *err)
{
	struct pgs *s = xcalloc(1, sizeof *s);
	int n = q->n_params ? q->n_params : 1;
	s->types = xcalloc((size_t)n, sizeof *s->types);
	s->btypes = xcalloc((size_t)n, sizeof *s->btypes);
	s->vals = xcalloc((size_t)n, sizeof *s->vals);
	s->used = xcalloc((size_t)n, 1);
	for (const char *p = q->text; (p = strchr(p, '$'));) {
		char *end;
		long v = strtol(p + 1, &end, 10);
		if (end > p + 1 && v >= 1 && v <= q->n_params)
			s->used[v - 1] = 1;
		p = end > p + 1 ? end : p + 1;
	}
	q->impl = s;
	return 0;  /* on the server at the first step, when the bindings' types are known */
}

static void pg_reset(struct dbl_stmt *q)
{
	struct pgs *s = s_of(q);
	PQclear(s->res);
	s->res = NULL;
	s->row = s->rows = 0;
	clear_binds(q);
	free(s->blob);
	s->blob = NULL;
	s->blob_cap = 0;
}

static void pg_finalize(struct dbl_stmt *q)
{
	struct pgs *s = s_of(q);
	if (!s)
		return;
	pg_reset(q);
	struct pgc *p = q->c->impl;
	/* an uncached statement (dbl_stmt_free) leaves the session; cached ones go with it */
	if (!q->key && s->name[0] && p && s->session == p->session && PQstatus(p->pg) == CONNECTION_OK) {
		char sql[48];
		snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
		PQclear(PQexec(p->pg, sql));
	}
	free(s->types);
	free(s->btypes);
	free(s->vals);
	free(s->used);
	free(s);
}

static int set(struct dbl_stmt *q, int i, Oid type, char *text)
{
	struct pgs *s = s_of(q);
	free(s->vals[i - 1]);
	s->vals[i - 1] = text;
	s->btypes[i - 1] = type;
	return 0;
}

static int pg_bind_i64(struct dbl_stmt *q, int i, int64_t v)
{
	char buf[32];
	snprintf(buf, sizeof buf, "%lld", (long long)v);
	return set(q, i, OID_INT8, xstrdup(buf));
}

static int pg_bind_double(struct dbl_stmt *q, int i, double v)
{
	char buf[40];
	if (isnan(v))
		snprintf(buf, sizeof buf, "NaN");
	else if (isinf(v))
		snprintf(buf, sizeof buf, "%sInfinity", v < 0 ? "-" : "");
	else
		snprintf(buf, sizeof buf, "%.17g", v);
	return set(q, i, OID_FLOAT8, xstrdup(buf));
}

static int pg_bind_text(struct dbl_stmt *q, int i, const char *t)
{
	return set(q, i, 0, xstrdup(t));
}

static int pg_bind_null(struct dbl_stmt *q, int i)
{
	return set(q, i, 0, NULL);
}

/* bytea as text input: \x and two hex digits a byte */
static int pg_bind_blob(struct dbl_stmt *q, int i, const void *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *b = data;
	char *t = xcalloc(1, 2 * n + 3), *o = t;
	*o++ = '\\';
	*o++ = 'x';
	for (size_t k = 0; k < n; k++) {
		*o++ = hex[b[k] >> 4];
		*o++ = hex[b[k] & 15];
	}
	*o = '\0';
	return set(q, i, 0, t);
}

/* Prepares q on the server if this session has not, or with other types. */
static int server_prepare(struct dbl_conn *c, struct dbl_stmt *q, struct err *err)
{
	struct pgc *p = c->impl;
	struct pgs *s = s_of(q);
	int have = s->name[0] && s->session == p->session, same = have;
	for (int i = 0; i < q->n_params; i++) {
		if (!s->used[i]) {
			/* a number the text skips: any type, and no value is sent */
			free(s->vals[i]);
			s->vals[i] = NULL;
			s->btypes[i] = OID_TEXT;
		} else if (!s->vals[i]) {
			s->btypes[i] = have ? s->types[i] : 0;  /* a NULL fits any type */
		}
		if (s->btypes[i] != s->types[i])
			same = 0;
	}
	if (same)
		return 0;
	if (have) {
		char sql[48];
		snprintf(sql, sizeof sql, "DEALLOCATE %s", s->name);
		PQclear(PQexec(p->pg, sql));
	}
	snprintf(s->name, sizeof s->name, "dbl%d", ++p->next_name);
	PGresult *res = PQprepare(p->pg, s->name, q->text, q->n_params, s->btypes);
	if (!is_ok(res)) {
		int rc = fail(c, q->text, res, err);
		PQclear(res);
		s->name[0] = '\0';
		return rc;
	}
	PQclear(res);
	s->session = p->session;
	memcpy(s->types, s->btypes, (size_t)q->n_params * sizeof *s->types);
	return 0;
}

static int pg_step(struct dbl_stmt *q, struct err *err)
{
	struct dbl_conn *c = q->c;
	struct pgs *s = s_of(q);
	if (!s->res) {
		int rc = dbl_ensure(c, err);
		if (rc || (rc = server_prepare(c, q, err)))
			return rc;
		PGresult *res = PQexecPrepared(pg_of(c), s->name, q->n_params, (const char *const *)s->vals, NULL, NULL, 0);
		if (!is_ok(res)) {
			rc = fail(c, q->text, res, err);
			PQclear(res);
			return rc;
		}
		note_changes(c, res);
		s->res = res;
		s->rows = PQresultStatus(res) == PGRES_TUPLES_OK ? PQntuples(res) : 0;
		s->row = -1;
	}
	if (s->row < s->rows)
		s->row++;
	return s->row < s->rows ? DBL_ROW : DBL_DONE;
}

static int cell_ok(struct pgs *s, int i)
{
	return s->res && s->row >= 0 && s->row < s->rows && i >= 0 && i < PQnfields(s->res);
}

static int pg_col_count(struct dbl_stmt *q)
{
	struct pgs *s = s_of(q);
	return s->res ? PQnfields(s->res) : 0;
}

static int pg_col_is_null(struct dbl_stmt *q, int i)
{
	struct pgs *s = s_of(q);
	return !cell_ok(s, i) || PQgetisnull(s->res, s->row, i);
}

static const char *pg_col_text(struct dbl_stmt *q, int i)
{
	struct pgs *s = s_of(q);
	return pg_col_is_null(q, i) ? NULL : PQgetvalue(s->res, s->row, i);
}

static int64_t pg_col_i64(struct dbl_stmt *q, int i)
{
	const char *t = pg_col_text(q, i);
	if (!t)
		return 0;
	if (t[0] == 't' && !t[1])
		return 1;  /* boolean */
	if (strpbrk(t, ".eE"))
		return (int64_t)strtod(t, NULL);
	return strtoll(t, NULL, 10);
}

static double pg_col_double(struct dbl_stmt *q, int i)
{
	const char *t = pg_col_text(q, i);
	if (!t)
		return 0;
	if (t[0] == 't' && !t[1])
		return 1;
	return strtod(t, NULL);
}

static int hexval(char ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

/* bytea's text output in the default hex format ("\x..."); the escape format
 * (bytea_output = escape) is decoded by libpq's PQunescapeBytea. */
static const void *pg_col_blob(struct dbl_stmt *q, int i, size_t *n)
{
	struct pgs *s = s_of(q);
	const char *t = pg_col_text(q, i);
	*n = 0;
	if (!t)
		return NULL;
	size_t len = strlen(t);
	if (len >= 2 && t[0] == '\\' && t[1] == 'x') {
		size_t bytes = (len - 2) / 2;
		if (bytes + 1 > s->blob_cap) {
			free(s->blob);
			s->blob_cap = bytes + 1;
			s->blob = xcalloc(1, s->blob_cap);
		}
		for (size_t k = 0; k < bytes; k++) {
			int hi = hexval(t[2 + 2 * k]), lo = hexval(t[3 + 2 * k]);
			if (hi < 0 || lo < 0)
				return NULL;
			s->blob[k] = (unsigned char)(hi << 4 | lo);
		}
		*n = bytes;
		return s->blob;
	}
	size_t got = 0;
	unsigned char *u = PQunescapeBytea((const unsigned char *)t, &got);
	if (!u)
		return NULL;
	free(s->blob);
	s->blob = xcalloc(1, got + 1);
	s->blob_cap = got + 1;
	memcpy(s->blob, u, got);
	PQfreemem(u);
	*n = got;
	return s->blob;
}

static int64_t pg_changes(struct dbl_conn *c)
{
	return ((struct pgc *)c->impl)->changes;
}

static int pg_exec(struct dbl_conn *c, const char *sql, struct err *err)
{
	PGresult *res = PQexec(pg_of(c), sql);
	int rc = 0;
	if (!is_ok(res))
		rc = fail(c, sql, res, err);
	else
		note_changes(c, res);
	PQclear(res);
	return rc;
}

static const char *pg_begin_sql(int flags)
{
	return flags & DBL_TX_SERIALIZABLE ? "BEGIN ISOLATION LEVEL SERIALIZABLE" : "BEGIN";
}

/* ============================================================ migrations */

static int pg_migrate_lock(struct dbl_conn *c, struct err *err)
{
	int rc = pg_exec(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")", err);
	if (rc)
		return rc;
	rc = pg_exec(c, "CREATE TABLE IF NOT EXISTS schema_version(version integer NOT NULL);"
	                "INSERT INTO schema_version(version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)",
	             err);
	if (rc)
		pg_exec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", NULL);
	return rc;
}

static void pg_migrate_unlock(struct dbl_conn *c)
{
	if (PQstatus(pg_of(c)) == CONNECTION_OK)  /* a lost session released it */
		pg_exec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")", NULL);
}

static int pg_version_get(struct dbl_conn *c, int *v, struct err *err)
{
	static const char sql[] = "SELECT max(version) FROM schema_version";
	PGresult *res = PQexec(pg_of(c), sql);
	int rc = 0;
	if (!is_ok(res) || PQntuples(res) != 1)
		rc = fail(c, sql, res, err);
	else
		*v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return rc;
}

static int pg_version_set(struct dbl_conn *c, int v, struct err *err)
{
	char sql[64];
	snprintf(sql, sizeof sql, "UPDATE schema_version SET version = %d", v);
	return pg_exec(c, sql, err);
}

static const struct dbl_ops pg_ops = {
	.backend = DBL_PG,
	.close = pg_close,
	.ensure = pg_ensure,
	.prepare = pg_prepare,
	.finalize = pg_finalize,
	.reset = pg_reset,
	.bind_i64 = pg_bind_i64,
	.bind_double = pg_bind_double,
	.bind_text = pg_bind_text,
	.bind_null = pg_bind_null,
	.bind_blob = pg_bind_blob,
	.step = pg_step,
	.col_count = pg_col_count,
	.col_is_null = pg_col_is_null,
	.col_i64 = pg_col_i64,
	.col_double = pg_col_double,
	.col_text = pg_col_text,
	.col_blob = pg_col_blob,
	.changes = pg_changes,
	.exec = pg_exec,
	.begin_sql = pg_begin_sql,
	.migrate_lock = pg_migrate_lock,
	.migrate_unlock = pg_migrate_unlock,
	.version_get = pg_version_get,
	.version_set = pg_version_set,
};

int dbl_pg_connect(struct dbl_conn *c, const char *conninfo, struct err *err)
{
	/* dbname may be a URL or key=value pairs; an empty one is ignored, and
	 * libpq reads the PG* variables and the service file as usual. The
	 * defaults before it (the URL's own values win) bound how long a call
	 * waits for a server that is gone: a connection attempt gives up after
	 * 10 s, and TCP keepalives notice a dead peer within about a minute. */
	const char *ct = getenv("PGCONNECT_TIMEOUT");
	const char *keys[] = {"connect_timeout", "keepalives_idle", "keepalives_interval", "keepalives_count",
	                      "dbname", "fallback_application_name", NULL};
	const char *vals[] = {ct && *ct ? ct : "10", "30", "10", "3", conninfo, "dossier", NULL};
	PGconn *pg = PQconnectdbParams(keys, vals, 1);
	if (!pg)
		return err_set(err, DOSSIER_ENOMEM, "cannot connect to PostgreSQL: out of memory");
	free(c->name);
	c->name = name_of(pg, conninfo);
	struct pgc *p = xcalloc(1, sizeof *p);
	p->pg = pg;
	p->session = 1;
	c->impl = p;
	c->ops = &pg_ops;
	if (PQstatus(pg) != CONNECTION_OK) {
		char msg[300];
		snprintf(msg, sizeof msg, "%s", PQerrorMessage(pg));
		one_line(msg);
		return err_set(err, DOSSIER_EUNAVAILABLE,
		               "cannot connect to database %s: %s (check the URL given with --db, or the PG* variables; "
		               "retry when the server is up)", c->name, msg);
	}
	PQsetNoticeProcessor(pg, quiet, NULL);
	return 0;
}

int dbl_open_pg(const char *conninfo, struct dbl_conn **out, struct err *err)
{
	*out = NULL;
	struct dbl_conn *c = xcalloc(1, sizeof *c);
	int rc = dbl_pg_connect(c, conninfo ? conninfo : "", err);
	if (rc) {
		dbl_close(c);
		return rc;
	}
	*out = c;
	return 0;
}
