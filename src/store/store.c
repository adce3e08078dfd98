/*
 * store.c — SQLite schema, migrations, the step queue, dossiers, search, events.
 */
#include "store/store.h"
#include "core/err.h"
#include "core/util.h"
#include "core/buf.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct store {
	sqlite3 *db;
	char *path;
};

/* ================================================================ schema */

/* Each migration moves the schema from version i to i+1. Never edit one that
 * has shipped; add a new one. */
static const char *const migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE documents("
	"  id INTEGER PRIMARY KEY,"
	"  path TEXT NOT NULL UNIQUE,"
	"  sha256 TEXT NOT NULL DEFAULT '',"
	"  mime TEXT NOT NULL DEFAULT '',"
	"  kind TEXT NOT NULL DEFAULT 'unsupported',"
	"  bytes INTEGER NOT NULL DEFAULT 0,"
	"  mtime INTEGER NOT NULL DEFAULT 0,"
	"  status TEXT NOT NULL DEFAULT 'queued',"
	"  error TEXT,"
	"  created_at REAL NOT NULL,"
	"  updated_at REAL NOT NULL);"
	"CREATE INDEX documents_sha256 ON documents(sha256);"
	"CREATE INDEX documents_status ON documents(status);"
	"CREATE TABLE steps("
	"  id INTEGER PRIMARY KEY,"
	"  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  kind TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  deps INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL DEFAULT 'queued',"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  owner INTEGER,"
	"  last_error TEXT,"
	"  result TEXT,"
	"  started_at REAL,"
	"  finished_at REAL,"
	"  UNIQUE(document_id, idx));"
	"CREATE INDEX steps_state ON steps(state, role);"
	"CREATE TABLE dossiers("
	"  document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,"
	"  json TEXT NOT NULL,"
	"  updated_at REAL NOT NULL);"
	"CREATE TABLE events("
	"  seq INTEGER PRIMARY KEY,"
	"  time REAL NOT NULL,"
	"  event TEXT NOT NULL,"
	"  document_id INTEGER,"
	"  json TEXT NOT NULL);"
	"CREATE VIRTUAL TABLE dossier_fts USING fts5("
	"  title, summary, tags, keywords, text, transcript, ocr,"
	"  tokenize='porter unicode61 remove_diacritics 2');",
	/* 2: event numbers are reserved in blocks, so processes sharing the database never collide */
	"CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int store_schema_version(void)
{
	return SCHEMA_VERSION;
}

static int db_err(store *st, struct err *err, const char *what)
{
	return err_set(err, DOSSIER_EDB, "database %s: %s failed: %s", st->path, what,
	               sqlite3_errmsg(st->db));
}

static int exec(store *st, const char *sql, struct err *err)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(err, DOSSIER_EDB, "database %s: %s", st->path, msg ? msg : "error");
		sqlite3_free(msg);
		return DOSSIER_EDB;
	}
	return 0;
}

static int migrate(store *st, struct err *err)
{
	sqlite3_stmt *q;
	int version = 0;
	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK)
		return db_err(st, err, "reading the schema version");
	if (sqlite3_step(q) == SQLITE_ROW)
		version = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (version > SCHEMA_VERSION)
		return err_set(err, DOSSIER_EDB,
		               "database %s has schema version %d, newer than this dossier (%d): "
		               "upgrade dossier or use another --db", st->path, version, SCHEMA_VERSION);
	for (int v = version; v < SCHEMA_VERSION; v++) {
		char pragma[64];
		if (exec(st, "BEGIN IMMEDIATE", err))
			return err->code;
		snprintf(pragma, sizeof pragma, "PRAGMA user_version=%d", v + 1);
		if (exec(st, migrations[v], err) || exec(st, pragma, err)) {
			exec(st, "ROLLBACK", NULL);
			err_prefix(err, "migrating to schema %d: ", v + 1);
			return err->code;
		}
		if (exec(st, "COMMIT", err))
			return err->code;
	}
	return 0;
}

int store_open(const char *path, store **out, struct err *err)
{
	store *st = xcalloc(1, sizeof *st);
	st->path = xstrdup(path);
	*out = NULL;

	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir_p(dir, err)) {
			err_set(err, DOSSIER_EDB, "cannot use database %s: %s (choose another with --db or DOSSIER_DB)",
			        path, err->msg);
			free(dir);
			goto fail;
		}
	}
	free(dir);

	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		err_set(err, DOSSIER_EDB, "cannot open database %s: %s (choose another with --db or DOSSIER_DB)",
		        path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 10000);
	sqlite3_extended_result_codes(st->db, 1);
	/* WAL: readers never block the writer; NORMAL is durable at checkpoints and
	 * loses at most the last transactions on power loss, never corrupts. */
	if (exec(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;", err)) {
		err_set(err, DOSSIER_EDB, "cannot use database %s: %s (is the directory writable? choose another with --db)",
		        path, sqlite3_errmsg(st->db));
		goto fail;
	}
	if (migrate(st, err))
		goto fail;
	*out = st;
	return 0;
fail:
	store_close(st);
	return err ? (err->code ? err->code : DOSSIER_EDB) : DOSSIER_EDB;
}

void store_close(store *st)
{
	if (!st)
		return;
	sqlite3_close_v2(st->db);
	free(st->path);
	free(st);
}

int store_tx(store *st, int (*fn)(store *st, void *user), void *user, struct err *err)
{
	if (exec(st, "BEGIN IMMEDIATE", err))
		return err->code;
	int rc = fn(st, user);
	if (rc) {
		exec(st, "ROLLBACK", NULL);
		return rc;
	}
	if (exec(st, "COMMIT", err)) {
		exec(st, "ROLLBACK", NULL);
		return err->code;
	}
	return 0;
}

/* ============================================================ helpers */

static sqlite3_stmt *prep(store *st, const char *sql, struct err *err)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(st->db, sql, -1, &q, NULL) != SQLITE_OK) {
		db_err(st, err, "preparing a query");
		return NULL;
	}
	return q;
}

static char *col_dup(sqlite3_stmt *q, int i)
{
	const unsigned char *s = sqlite3_column_text(q, i);
	return s ? xstrdup((const char *)s) : NULL;
}

static void col_copy(sqlite3_stmt *q, int i, char *out, size_t n)
{
	const unsigned char *s = sqlite3_column_text(q, i);
	snprintf(out, n, "%s", s ? (const char *)s : "");
}

static void bind_text(sqlite3_stmt *q, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(q, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(q, i);
}

void doc_rec_clear(struct doc_rec *d)
{
	if (!d)
		return;
	free(d->path);
	free(d->mime);
	free(d->error);
	memset(d, 0, sizeof *d);
}

void step_rec_clear(struct step_rec *s)
{
	if (!s)
		return;
	free(s->result);
	free(s->last_error);
	memset(s, 0, sizeof *s);
}

void step_recs_free(struct step_rec *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		step_rec_clear(&v[i]);
	free(v);
}

static const char *const state_names[] = {"queued", "running", "done", "failed", "skipped"};

const char *step_state_name(enum step_state s)
{
	return (unsigned)s <= STEP_SKIPPED ? state_names[s] : "queued";
}

static enum step_state state_parse(const char *s)
{
	for (int i = 0; i <= STEP_SKIPPED; i++)
		if (s && !strcmp(s, state_names[i]))
			return (enum step_state)i;
	return STEP_QUEUED;
}

const char *ingest_outcome_name(enum ingest_outcome o)
{
	static const char *const n[] = {"new", "unchanged", "changed", "moved", "retry", "recorded"};
	return (unsigned)o <= INGEST_RECORDED ? n[o] : "new";
}

/* ============================================================ documents */

#define DOC_COLS "id, path, sha256, mime, kind, bytes, mtime, status, error, updated_at"

static void doc_from_row(sqlite3_stmt *q, struct doc_rec *d)
{
	memset(d, 0, sizeof *d);
	d->id = sqlite3_column_int64(q, 0);
	d->path = col_dup(q, 1);
	col_copy(q, 2, d->sha256, sizeof d->sha256);
	d->mime = col_dup(q, 3);
	col_copy(q, 4, d->kind, sizeof d->kind);
	d->bytes = sqlite3_column_int64(q, 5);
	d->mtime = sqlite3_column_int64(q, 6);
	col_copy(q, 7, d->status, sizeof d->status);
	d->error = col_dup(q, 8);
	d->updated_at = sqlite3_column_double(q, 9);
}

static int doc_get_where(store *st, const char *where, int64_t id, const char *text,
                         struct doc_rec *out, struct err *err)
{
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT " DOC_COLS " FROM documents WHERE %s", where);
	sqlite3_stmt *q = prep(st, sql, err);
	if (!q)
		return DOSSIER_EDB;
	if (text)
		bind_text(q, 1, text);
	else
		sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		doc_from_row(q, out);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = err_set(err, DOSSIER_ENOTFOUND, "no document %s%s", text ? "at " : "with id ",
		             text ? text : "");
		if (!text && err)
			snprintf(err->msg, sizeof err->msg, "no document with id %lld (see 'dossier list')",
			         (long long)id);
	} else {
		rc = db_err(st, err, "reading a document");
	}
	sqlite3_finalize(q);
	return rc;
}

int store_doc_get(store *st, int64_t id, struct doc_rec *out, struct err *err)
{
	return doc_get_where(st, "id = ?", id, NULL, out, err);
}

int store_doc_by_path(store *st, const char *path, struct doc_rec *out, struct err *err)
{
	return doc_get_where(st, "path = ?", 0, path, out, err);
}

static int insert_steps(store *st, int64_t doc_id, const struct step_decl *steps, size_t n,
                        struct err *err)
{
	sqlite3_stmt *q = prep(st, "INSERT INTO steps(document_id, idx, kind, role, deps) VALUES(?,?,?,?,?)", err);
	if (!q)
		return DOSSIER_EDB;
	for (size_t i = 0; i < n; i++) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, doc_id);
		sqlite3_bind_int(q, 2, (int)i);
		bind_text(q, 3, steps[i].kind);
		bind_text(q, 4, role_name(steps[i].role));
		sqlite3_bind_int64(q, 5, (sqlite3_int64)steps[i].deps);
		if (sqlite3_step(q) != SQLITE_DONE) {
			sqlite3_finalize(q);
			return db_err(st, err, "queueing steps");
		}
	}
	sqlite3_finalize(q);
	return 0;
}

/* Binds a document's columns as parameters 1..8: path, sha256, mime, kind,
 * bytes, mtime, status, error. */
static void bind_doc_input(sqlite3_stmt *q, const struct doc_input *in)
{
	bind_text(q, 1, in->path);
	bind_text(q, 2, in->sha256 ? in->sha256 : "");
	bind_text(q, 3, in->mime ? in->mime : "");
	bind_text(q, 4, in->kind ? in->kind : "unsupported");
	sqlite3_bind_int64(q, 5, in->bytes);
	sqlite3_bind_int64(q, 6, in->mtime);
	bind_text(q, 7, in->status ? in->status : "queued");
	bind_text(q, 8, in->error);
}

struct ingest_ctx {
	const struct doc_input *in;
	const struct step_decl *steps;
	size_t n_steps;
	int64_t id;
	enum ingest_outcome outcome;
	struct err *err;
};

static int run1(store *st, const char *sql, int64_t a, const char *t, struct err *err)
{
	sqlite3_stmt *q = prep(st, sql, err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, a);
	if (t)
		bind_text(q, 2, t);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : db_err(st, err, "updating");
}

static int requeue(store *st, int64_t id, const struct ingest_ctx *c, int drop_dossier)
{
	struct err *err = c->err;
	double now = clock_wall_s();
	if (run1(st, "DELETE FROM steps WHERE document_id = ?", id, NULL, err))
		return DOSSIER_EDB;
	if (drop_dossier && (run1(st, "DELETE FROM dossiers WHERE document_id = ?", id, NULL, err) ||
	                     run1(st, "DELETE FROM dossier_fts WHERE rowid = ?", id, NULL, err)))
		return DOSSIER_EDB;
	sqlite3_stmt *q = prep(st, "UPDATE documents SET path=?, sha256=?, mime=?, kind=?, bytes=?, mtime=?,"
	                           " status=?, error=?, updated_at=? WHERE id=?", err);
	if (!q)
		return DOSSIER_EDB;
	const struct doc_input *in = c->in;
	bind_doc_input(q, in);
	sqlite3_bind_double(q, 9, now);
	sqlite3_bind_int64(q, 10, id);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "updating a document");
	if (!in->status)
		return insert_steps(st, id, c->steps, c->n_steps, err);
	return 0;
}

static int ingest_tx(store *st, void *user)
{
	struct ingest_ctx *c = user;
	const struct doc_input *in = c->in;
	struct err *err = c->err;
	struct doc_rec old;
	int rc = store_doc_by_path(st, in->path, &old, NULL);

	if (rc == 0) {
		c->id = old.id;
		int same = in->sha256 && *in->sha256 && !strcmp(old.sha256, in->sha256);
		int good = !strcmp(old.status, "done") || !strcmp(old.status, "partial") ||
		           !strcmp(old.status, "unsupported");
		if (same && good && !in->status) {
			c->outcome = INGEST_UNCHANGED;
			if (old.mtime != in->mtime)
				run1(st, "UPDATE documents SET mtime = ? WHERE id = ?1", in->mtime, NULL, NULL);
			doc_rec_clear(&old);
			return 0;
		}
		if (same && !in->status && (!strcmp(old.status, "queued") || !strcmp(old.status, "running"))) {
			/* unfinished from an earlier run: its queued steps are still there */
			c->outcome = INGEST_RETRY;
			doc_rec_clear(&old);
			return 0;
		}
		c->outcome = in->status ? INGEST_RECORDED : same ? INGEST_RETRY : INGEST_CHANGED;
		doc_rec_clear(&old);
		return requeue(st, c->id, c, 1);
	}

	/* A new path: is it known content whose old path is gone (a move or rename)? */
	if (in->sha256 && *in->sha256 && !in->status) {
		sqlite3_stmt *q = prep(st, "SELECT id, path FROM documents WHERE sha256 = ?", err);
		if (!q)
			return DOSSIER_EDB;
		bind_text(q, 1, in->sha256);
		int64_t moved = 0;
		while (sqlite3_step(q) == SQLITE_ROW) {
			const char *p = (const char *)sqlite3_column_text(q, 1);
			struct stat sb;
			if (p && stat(p, &sb) != 0 && errno == ENOENT) {
				moved = sqlite3_column_int64(q, 0);
				break;
			}
		}
		sqlite3_finalize(q);
		if (moved) {
			c->id = moved;
			c->outcome = INGEST_MOVED;
			sqlite3_stmt *u = prep(st, "UPDATE documents SET path=?, mtime=?, updated_at=? WHERE id=?", err);
			if (!u)
				return DOSSIER_EDB;
			bind_text(u, 1, in->path);
			sqlite3_bind_int64(u, 2, in->mtime);
			sqlite3_bind_double(u, 3, clock_wall_s());
			sqlite3_bind_int64(u, 4, moved);
			rc = sqlite3_step(u);
			sqlite3_finalize(u);
			if (rc != SQLITE_DONE)
				return db_err(st, err, "recording a moved document");
			/* the stored dossier names the old path: rewrite it */
			sqlite3_stmt *j = prep(st, "UPDATE dossiers SET json = json_set(json, '$.path', ?) WHERE document_id = ?", err);
			if (!j)
				return DOSSIER_EDB;
			bind_text(j, 1, in->path);
			sqlite3_bind_int64(j, 2, moved);
			sqlite3_step(j);
			sqlite3_finalize(j);
			return 0;
		}
	}

	sqlite3_stmt *q = prep(st, "INSERT INTO documents(path, sha256, mime, kind, bytes, mtime, status, error,"
	                           " created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?,?)", err);
	if (!q)
		return DOSSIER_EDB;
	double now = clock_wall_s();
	bind_doc_input(q, in);
	sqlite3_bind_double(q, 9, now);
	sqlite3_bind_double(q, 10, now);
	rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "recording a document");
	c->id = sqlite3_last_insert_rowid(st->db);
	c->outcome = in->status ? INGEST_RECORDED : INGEST_NEW;
	if (!in->status)
		return insert_steps(st, c->id, c->steps, c->n_steps, err);
	return 0;
}

int store_doc_ingest(store *st, const struct doc_input *in, const struct step_decl *steps,
                     size_t n_steps, int64_t *id_out, enum ingest_outcome *outcome,
                     struct err *err)
{
	struct ingest_ctx c = {in, steps, n_steps, 0, INGEST_NEW, err};
	if (n_steps > 63)
		return err_set(err, DOSSIER_EINVAL, "a pipeline may declare at most 63 steps");
	int rc = store_tx(st, ingest_tx, &c, err);
	if (rc)
		return rc;
	*id_out = c.id;
	*outcome = c.outcome;
	return 0;
}

int store_doc_list(store *st, const char *status, const char *kind, int limit, int offset,
                   int (*cb)(const struct doc_rec *d, void *user), void *user, struct err *err)
{
	sqlite3_stmt *q = prep(st, "SELECT " DOC_COLS " FROM documents"
	                           " WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR kind = ?2)"
	                           " ORDER BY id LIMIT ?3 OFFSET ?4", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, status);
	bind_text(q, 2, kind);
	sqlite3_bind_int(q, 3, limit > 0 ? limit : -1);
	sqlite3_bind_int(q, 4, offset > 0 ? offset : 0);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct doc_rec d;
		doc_from_row(q, &d);
		int stop = cb(&d, user);
		doc_rec_clear(&d);
		if (stop)
			break;
	}
	sqlite3_finalize(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(st, err, "listing documents");
}

int store_doc_count(store *st, const char *status, int64_t *out, struct err *err)
{
	sqlite3_stmt *q = prep(st, "SELECT count(*) FROM documents WHERE ?1 IS NULL OR status = ?1", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, status);
	*out = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	sqlite3_finalize(q);
	return 0;
}

int store_doc_set_status(store *st, int64_t id, const char *status, const char *error,
                         struct err *err)
{
	sqlite3_stmt *q = prep(st, "UPDATE documents SET status=?, error=?, updated_at=? WHERE id=?", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, status);
	bind_text(q, 2, error);
	sqlite3_bind_double(q, 3, clock_wall_s());
	sqlite3_bind_int64(q, 4, id);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "updating a document's status");
}

struct del_ctx {
	int64_t id;
	struct err *err;
};

static int delete_tx(store *st, void *user)
{
	struct del_ctx *c = user;
	if (run1(st, "DELETE FROM dossier_fts WHERE rowid = ?", c->id, NULL, c->err) ||
	    run1(st, "DELETE FROM steps WHERE document_id = ?", c->id, NULL, c->err) ||
	    run1(st, "DELETE FROM dossiers WHERE document_id = ?", c->id, NULL, c->err) ||
	    run1(st, "DELETE FROM documents WHERE id = ?", c->id, NULL, c->err))
		return DOSSIER_EDB;
	return sqlite3_changes(st->db) ? 0 : err_set(c->err, DOSSIER_ENOTFOUND, "no document with id %lld", (long long)c->id);
}

int store_doc_delete(store *st, int64_t id, struct err *err)
{
	struct del_ctx c = {id, err};
	return store_tx(st, delete_tx, &c, err);
}

/* ================================================================ steps */

#define STEP_COLS "s.id, s.document_id, s.idx, s.kind, s.role, s.deps, s.state, s.attempts," \
	" s.result, s.last_error, s.started_at, s.finished_at"

static void step_from_row(sqlite3_stmt *q, struct step_rec *s)
{
	memset(s, 0, sizeof *s);
	s->id = sqlite3_column_int64(q, 0);
	s->document_id = sqlite3_column_int64(q, 1);
	s->idx = sqlite3_column_int(q, 2);
	col_copy(q, 3, s->kind, sizeof s->kind);
	const char *r = (const char *)sqlite3_column_text(q, 4);
	if (!r || role_parse(r, &s->role))
		s->role = ROLE_NONE;
	s->deps = (uint64_t)sqlite3_column_int64(q, 5);
	s->state = state_parse((const char *)sqlite3_column_text(q, 6));
	s->attempts = sqlite3_column_int(q, 7);
	s->result = col_dup(q, 8);
	s->last_error = col_dup(q, 9);
	s->started_at = sqlite3_column_double(q, 10);
	s->finished_at = sqlite3_column_double(q, 11);
}

/* A queued step is ready when none of the steps it depends on is unfinished. */
#define READY_SQL \
	"s.state = 'queued' AND NOT EXISTS (SELECT 1 FROM steps d WHERE d.document_id = s.document_id" \
	" AND (s.deps >> d.idx) & 1 AND d.state != 'done')"

static unsigned role_bit_sql_mask(unsigned mask, char *out, size_t n)
{
	/* builds "('none','text')" for the roles in mask */
	size_t used = 0;
	unsigned count = 0;
	used += (size_t)snprintf(out + used, n - used, "(");
	for (int r = 0; r < ROLE_COUNT; r++)
		if (mask & (1u << r))
			used += (size_t)snprintf(out + used, n - used, "%s'%s'", count++ ? "," : "", role_name((enum model_role)r));
	snprintf(out + used, n - used, ")");
	return count;
}

struct claim_ctx {
	const struct claim_filter *f;
	struct step_rec *out;
	int found;
	struct err *err;
};

static int claim_tx(store *st, void *user)
{
	struct claim_ctx *c = user;
	char roles[96], sql[1024];
	if (!role_bit_sql_mask(c->f->role_mask, roles, sizeof roles))
		return 0;
	const char *prefer = c->f->prefer_role >= 0 ? role_name((enum model_role)c->f->prefer_role) : "";
	if (c->f->document_order) {
		/* strictly the oldest document with a pending step of these roles */
		snprintf(sql, sizeof sql,
		         "SELECT " STEP_COLS " FROM steps s WHERE " READY_SQL " AND s.role IN %s"
		         " AND s.document_id = (SELECT min(document_id) FROM steps WHERE state IN ('queued','running')"
		         " AND role IN %s) %s ORDER BY s.idx LIMIT 1",
		         roles, roles, c->f->only_document > 0 ? "AND s.document_id = ?2" : "");
	} else {
		snprintf(sql, sizeof sql,
		         "SELECT " STEP_COLS " FROM steps s WHERE " READY_SQL " AND s.role IN %s %s"
		         " ORDER BY (s.role = ?1) DESC, s.document_id, s.idx LIMIT 1",
		         roles, c->f->only_document > 0 ? "AND s.document_id = ?2" : "");
	}
	sqlite3_stmt *q = prep(st, sql, c->err);
	if (!q)
		return DOSSIER_EDB;
	if (!c->f->document_order)
		bind_text(q, 1, prefer);
	if (c->f->only_document > 0)
		sqlite3_bind_int64(q, 2, c->f->only_document);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		step_from_row(q, c->out);
		c->found = 1;
	}
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(st, c->err, "choosing a step");
	if (!c->found)
		return 0;
	sqlite3_stmt *u = prep(st, "UPDATE steps SET state='running', owner=?, attempts=attempts+1, started_at=?"
	                           " WHERE id=? AND state='queued'", c->err);
	if (!u)
		return DOSSIER_EDB;
	sqlite3_bind_int64(u, 1, (sqlite3_int64)getpid());
	sqlite3_bind_double(u, 2, clock_wall_s());
	sqlite3_bind_int64(u, 3, c->out->id);
	rc = sqlite3_step(u);
	sqlite3_finalize(u);
	if (rc != SQLITE_DONE || sqlite3_changes(st->db) != 1) {
		step_rec_clear(c->out);
		c->found = 0;
		return rc == SQLITE_DONE ? 0 : db_err(st, c->err, "claiming a step");
	}
	c->out->state = STEP_RUNNING;
	c->out->attempts++;
	run1(st, "UPDATE documents SET status='running' WHERE id=? AND status='queued'", c->out->document_id, NULL, NULL);
	return 0;
}

int store_step_claim(store *st, const struct claim_filter *f, struct step_rec *out,
                     struct err *err)
{
	struct claim_ctx c = {f, out, 0, err};
	memset(out, 0, sizeof *out);
	int rc = store_tx(st, claim_tx, &c, err);
	if (rc)
		return rc;
	return c.found ? 0 : DOSSIER_ENOTFOUND;
}

int store_steps_pending(store *st, unsigned ready_by_role[ROLE_COUNT],
                        unsigned waiting_by_role[ROLE_COUNT], unsigned *running,
                        struct err *err)
{
	sqlite3_stmt *q = prep(st, "SELECT s.role, s.state, (" READY_SQL ") FROM steps s"
	                           " WHERE s.state IN ('queued','running')", err);
	if (!q)
		return DOSSIER_EDB;
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (ready_by_role)
			ready_by_role[i] = 0;
		if (waiting_by_role)
			waiting_by_role[i] = 0;
	}
	if (running)
		*running = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		enum model_role r;
		const char *rs = (const char *)sqlite3_column_text(q, 0);
		if (!rs || role_parse(rs, &r))
			r = ROLE_NONE;
		const char *state = (const char *)sqlite3_column_text(q, 1);
		if (state && !strcmp(state, "running")) {
			if (running)
				(*running)++;
		} else if (sqlite3_column_int(q, 2)) {
			if (ready_by_role)
				ready_by_role[r]++;
		} else if (waiting_by_role) {
			waiting_by_role[r]++;
		}
	}
	sqlite3_finalize(q);
	return 0;
}

int store_steps_upcoming(store *st, enum model_role role, unsigned *out, struct err *err)
{
	sqlite3_stmt *q = prep(st, "SELECT count(*) FROM steps s WHERE s.state = 'queued' AND s.role = ?1"
	                           " AND NOT (" READY_SQL ") AND NOT EXISTS (SELECT 1 FROM steps d"
	                           " WHERE d.document_id = s.document_id AND (s.deps >> d.idx) & 1 AND d.state != 'done'"
	                           " AND (d.role NOT IN ('none','asr') OR d.state NOT IN ('queued','running')))", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, role_name(role));
	*out = sqlite3_step(q) == SQLITE_ROW ? (unsigned)sqlite3_column_int(q, 0) : 0;
	sqlite3_finalize(q);
	return 0;
}

int store_steps_next_in_order(store *st, unsigned role_mask, int *role, int *ready,
                              struct err *err)
{
	char roles[96], sql[768];
	*role = -1;
	*ready = 0;
	if (!role_bit_sql_mask(role_mask, roles, sizeof roles))
		return 0;
	snprintf(sql, sizeof sql,
	         "SELECT s.role, s.state = 'queued' AND (" READY_SQL ") FROM steps s"
	         " WHERE s.state IN ('queued','running') AND s.role IN %s"
	         " ORDER BY s.document_id, s.idx LIMIT 1", roles);
	sqlite3_stmt *q = prep(st, sql, err);
	if (!q)
		return DOSSIER_EDB;
	if (sqlite3_step(q) == SQLITE_ROW) {
		enum model_role r;
		const char *rs = (const char *)sqlite3_column_text(q, 0);
		if (rs && !role_parse(rs, &r))
			*role = (int)r;
		*ready = sqlite3_column_int(q, 1);
	}
	sqlite3_finalize(q);
	return 0;
}

int store_step_done(store *st, int64_t step_id, const char *result, struct err *err)
{
	sqlite3_stmt *q = prep(st, "UPDATE steps SET state='done', result=?, last_error=NULL, owner=NULL,"
	                           " finished_at=? WHERE id=?", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, result ? result : "{}");
	sqlite3_bind_double(q, 2, clock_wall_s());
	sqlite3_bind_int64(q, 3, step_id);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "recording a step's result");
}

struct fail_ctx {
	int64_t id;
	const char *error;
	int retry, max_attempts, failed;
	struct err *err;
};

/* Marks steps that depend (directly or not) on a failed or skipped step as skipped. */
static int skip_dependents(store *st, int64_t doc_id, struct err *err)
{
	for (int round = 0; round < 64; round++) {
		sqlite3_stmt *q = prep(st, "UPDATE steps AS s SET state='skipped', owner=NULL,"
		                           " last_error='skipped: a step it needs failed' WHERE s.document_id = ?1"
		                           " AND s.state = 'queued' AND EXISTS (SELECT 1 FROM steps d WHERE"
		                           " d.document_id = s.document_id AND (s.deps >> d.idx) & 1"
		                           " AND d.state IN ('failed','skipped'))", err);
		if (!q)
			return DOSSIER_EDB;
		sqlite3_bind_int64(q, 1, doc_id);
		int rc = sqlite3_step(q);
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE)
			return db_err(st, err, "skipping dependent steps");
		if (sqlite3_changes(st->db) == 0)
			break;
	}
	return 0;
}

static int fail_tx(store *st, void *user)
{
	struct fail_ctx *c = user;
	sqlite3_stmt *q = prep(st, "SELECT attempts, document_id FROM steps WHERE id = ?", c->err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, c->id);
	int attempts = 0;
	int64_t doc = 0;
	if (sqlite3_step(q) == SQLITE_ROW) {
		attempts = sqlite3_column_int(q, 0);
		doc = sqlite3_column_int64(q, 1);
	}
	sqlite3_finalize(q);
	c->failed = !(c->retry && attempts < c->max_attempts);
	q = prep(st, "UPDATE steps SET state=?, last_error=?, owner=NULL, finished_at=? WHERE id=?", c->err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, c->failed ? "failed" : "queued");
	bind_text(q, 2, c->error);
	sqlite3_bind_double(q, 3, clock_wall_s());
	sqlite3_bind_int64(q, 4, c->id);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return db_err(st, c->err, "recording a step's failure");
	return c->failed ? skip_dependents(st, doc, c->err) : 0;
}

int store_step_fail(store *st, int64_t step_id, const char *error, int retry,
                    int max_attempts, int *failed_out, struct err *err)
{
	struct fail_ctx c = {step_id, error, retry, max_attempts, 0, err};
	int rc = store_tx(st, fail_tx, &c, err);
	if (failed_out)
		*failed_out = c.failed;
	return rc;
}

int store_step_defer(store *st, int64_t step_id, const char *error, struct err *err)
{
	sqlite3_stmt *q = prep(st, "UPDATE steps SET state='queued', attempts=max(attempts-1,0), owner=NULL,"
	                           " last_error=? WHERE id=?", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, error);
	sqlite3_bind_int64(q, 2, step_id);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "deferring a step");
}

int store_doc_steps(store *st, int64_t doc_id, struct step_rec **out, size_t *n,
                    struct err *err)
{
	sqlite3_stmt *q = prep(st, "SELECT " STEP_COLS " FROM steps s WHERE s.document_id = ? ORDER BY s.idx", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, doc_id);
	size_t cap = 8, len = 0;
	struct step_rec *v = xcalloc(cap, sizeof *v);
	while (sqlite3_step(q) == SQLITE_ROW) {
		if (len == cap) {
			struct step_rec *nv = realloc(v, 2 * cap * sizeof *v);
			if (!nv) {
				sqlite3_finalize(q);
				step_recs_free(v, len);
				return err_set(err, DOSSIER_ENOMEM, "out of memory");
			}
			v = nv;
			cap *= 2;
		}
		step_from_row(q, &v[len++]);
	}
	sqlite3_finalize(q);
	*out = v;
	*n = len;
	return 0;
}

int store_recover(store *st, int *n_recovered, struct err *err)
{
	/* one owner at a time: a step whose owner is gone (or is us, from an
	 * earlier life of this pid) is orphaned; live owners (another dossier
	 * sharing the database) keep theirs */
	sqlite3_stmt *q = prep(st, "SELECT DISTINCT owner FROM steps WHERE state = 'running' AND coalesce(owner, 0) > ?"
	                           " ORDER BY coalesce(owner, 0)", err);
	if (!q)
		return DOSSIER_EDB;
	int total = 0;
	int64_t after = -1;
	for (;;) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, after);
		if (sqlite3_step(q) != SQLITE_ROW)
			break;
		int64_t pid = sqlite3_column_int64(q, 0);
		after = pid > 0 ? pid : 0;
		if (pid > 0 && pid != (int64_t)getpid() && !(kill((pid_t)pid, 0) != 0 && errno == ESRCH))
			continue;
		sqlite3_stmt *u = prep(st, "UPDATE steps SET state='queued', attempts=max(attempts-1,0), owner=NULL,"
		                           " last_error='interrupted: the process running it stopped'"
		                           " WHERE state='running' AND coalesce(owner, 0) = ?", err);
		if (!u) {
			sqlite3_finalize(q);
			return DOSSIER_EDB;
		}
		sqlite3_bind_int64(u, 1, pid > 0 ? pid : 0);
		sqlite3_step(u);
		total += sqlite3_changes(st->db);
		sqlite3_finalize(u);
	}
	sqlite3_finalize(q);
	if (n_recovered)
		*n_recovered = total;
	return 0;
}

int store_doc_settled(store *st, int64_t doc_id, int *settled, struct err *err)
{
	sqlite3_stmt *q = prep(st, "SELECT count(*) FROM steps WHERE document_id = ? AND state IN ('queued','running')", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, doc_id);
	*settled = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 0;
	sqlite3_finalize(q);
	return 0;
}

int store_doc_try_finish(store *st, int64_t doc_id, int *won, struct err *err)
{
	sqlite3_stmt *q = prep(st, "UPDATE documents SET status='assembling' WHERE id = ?1"
	                           " AND status IN ('queued','running') AND NOT EXISTS (SELECT 1 FROM steps"
	                           " WHERE document_id = ?1 AND state IN ('queued','running'))", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, doc_id);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "finishing a document");
	*won = sqlite3_changes(st->db) == 1;
	return 0;
}

int store_docs_requeue_idle(store *st, int *n, struct err *err)
{
	if (exec(st, "UPDATE documents SET status='queued' WHERE status IN ('running','assembling')"
	             " AND NOT EXISTS (SELECT 1 FROM steps WHERE document_id = documents.id AND state = 'running')",
	         err))
		return err->code;
	if (n)
		*n = sqlite3_changes(st->db);
	return 0;
}

/* ============================================================== dossiers */

struct put_ctx {
	int64_t id;
	const char *status, *json;
	const struct fts_fields *fts;
	struct err *err;
};

static int put_tx(store *st, void *user)
{
	struct put_ctx *c = user;
	double now = clock_wall_s();
	sqlite3_stmt *q = prep(st, "INSERT INTO dossiers(document_id, json, updated_at) VALUES(?,?,?)"
	                           " ON CONFLICT(document_id) DO UPDATE SET json=excluded.json, updated_at=excluded.updated_at", c->err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, c->id);
	bind_text(q, 2, c->json);
	sqlite3_bind_double(q, 3, now);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	if (rc != SQLITE_DONE)
		return db_err(st, c->err, "storing a dossier");
	if (run1(st, "DELETE FROM dossier_fts WHERE rowid = ?", c->id, NULL, c->err))
		return DOSSIER_EDB;
	if (c->fts) {
		q = prep(st, "INSERT INTO dossier_fts(rowid, title, summary, tags, keywords, text, transcript, ocr)"
		             " VALUES(?,?,?,?,?,?,?,?)", c->err);
		if (!q)
			return DOSSIER_EDB;
		sqlite3_bind_int64(q, 1, c->id);
		bind_text(q, 2, c->fts->title);
		bind_text(q, 3, c->fts->summary);
		bind_text(q, 4, c->fts->tags);
		bind_text(q, 5, c->fts->keywords);
		bind_text(q, 6, c->fts->text);
		bind_text(q, 7, c->fts->transcript);
		bind_text(q, 8, c->fts->ocr);
		rc = sqlite3_step(q);
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE)
			return db_err(st, c->err, "indexing a dossier");
	}
	return store_doc_set_status(st, c->id, c->status, NULL, c->err);
}

int store_dossier_put(store *st, int64_t doc_id, const char *status, const char *json,
                      const struct fts_fields *fts, struct err *err)
{
	struct put_ctx c = {doc_id, status, json, fts, err};
	return store_tx(st, put_tx, &c, err);
}

int store_dossier_get(store *st, int64_t doc_id, char **out, struct err *err)
{
	sqlite3_stmt *q = prep(st, "SELECT json FROM dossiers WHERE document_id = ?", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, doc_id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*out = col_dup(q, 0);
		rc = 0;
	} else {
		rc = err_set(err, DOSSIER_ENOTFOUND, "document %lld has no dossier yet", (long long)doc_id);
	}
	sqlite3_finalize(q);
	return rc;
}

/* Turns free words into an FTS5 query: each word quoted (so FTS5 operators and
 * punctuation in user input are literal), all required; a trailing * kept. */
static char *fts_query(const char *in)
{
	struct buf b;
	buf_init(&b, 4096);
	const char *p = in;
	while (*p) {
		while (*p && (unsigned char)*p <= ' ')
			p++;
		if (!*p)
			break;
		const char *start = p;
		while (*p && (unsigned char)*p > ' ')
			p++;
		size_t len = (size_t)(p - start);
		int prefix = len > 1 && start[len - 1] == '*';
		if (prefix)
			len--;
		if (b.len)
			buf_appendc(&b, ' ');
		buf_appendc(&b, '"');
		for (size_t i = 0; i < len; i++) {
			if (start[i] == '"')
				buf_appendc(&b, '"');
			buf_appendc(&b, start[i]);
		}
		buf_appendc(&b, '"');
		if (prefix)
			buf_appendc(&b, '*');
	}
	return buf_take(&b);
}

int store_search(store *st, const char *query, int limit,
                 int (*cb)(const struct search_hit *h, void *user), void *user,
                 struct err *err)
{
	char *fq = fts_query(query);
	if (!*fq) {
		free(fq);
		return err_set(err, DOSSIER_EINVAL, "the search query is empty");
	}
	sqlite3_stmt *q = prep(st, "SELECT d.id, d.path, f.title,"
	                           " snippet(dossier_fts, -1, '[', ']', '…', 12), bm25(dossier_fts)"
	                           " FROM dossier_fts f JOIN documents d ON d.id = f.rowid"
	                           " WHERE dossier_fts MATCH ? ORDER BY bm25(dossier_fts) LIMIT ?", err);
	if (!q) {
		free(fq);
		return DOSSIER_EDB;
	}
	bind_text(q, 1, fq);
	sqlite3_bind_int(q, 2, limit > 0 ? limit : 20);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct search_hit h = {
			.id = sqlite3_column_int64(q, 0),
			.path = (const char *)sqlite3_column_text(q, 1),
			.title = (const char *)sqlite3_column_text(q, 2),
			.snippet = (const char *)sqlite3_column_text(q, 3),
			.rank = sqlite3_column_double(q, 4),
		};
		if (cb(&h, user))
			break;
	}
	sqlite3_finalize(q);
	free(fq);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(st, err, "searching");
	return 0;
}

/* ================================================================ events */

int store_event_put(store *st, uint64_t seq, const char *name, int64_t doc_id,
                    const char *json, struct err *err)
{
	sqlite3_stmt *q = prep(st, "INSERT OR IGNORE INTO events(seq, time, event, document_id, json) VALUES(?,?,?,?,?)", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)seq);
	sqlite3_bind_double(q, 2, clock_wall_s());
	bind_text(q, 3, name);
	if (doc_id)
		sqlite3_bind_int64(q, 4, doc_id);
	else
		sqlite3_bind_null(q, 4);
	bind_text(q, 5, json);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "storing an event");
}

int store_event_max_seq(store *st, uint64_t *out, struct err *err)
{
	sqlite3_stmt *q = prep(st, "SELECT coalesce(max(seq), 0) FROM events", err);
	if (!q)
		return DOSSIER_EDB;
	*out = sqlite3_step(q) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 0;
	sqlite3_finalize(q);
	return 0;
}

struct reserve_ctx {
	uint64_t n, first;
	struct err *err;
};

static int reserve_tx(store *st, void *user)
{
	struct reserve_ctx *c = user;
	sqlite3_stmt *q = prep(st, "SELECT max(coalesce((SELECT value FROM meta WHERE key = 'next_event_seq'), 1),"
	                           " coalesce((SELECT max(seq) FROM events), 0) + 1)", c->err);
	if (!q)
		return DOSSIER_EDB;
	c->first = sqlite3_step(q) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 1;
	sqlite3_finalize(q);
	q = prep(st, "INSERT INTO meta(key, value) VALUES('next_event_seq', ?)"
	             " ON CONFLICT(key) DO UPDATE SET value = excluded.value", c->err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)(c->first + c->n));
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, c->err, "reserving event numbers");
}

int store_event_reserve(store *st, uint64_t n, uint64_t *first, struct err *err)
{
	struct reserve_ctx c = {n, 0, err};
	int rc = store_tx(st, reserve_tx, &c, err);
	if (!rc)
		*first = c.first;
	return rc;
}

int store_events_since(store *st, uint64_t after, int limit,
                       int (*cb)(uint64_t seq, const char *json, void *user), void *user,
                       struct err *err)
{
	sqlite3_stmt *q = prep(st, "SELECT seq, json FROM events WHERE seq > ? ORDER BY seq LIMIT ?", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)after);
	sqlite3_bind_int(q, 2, limit > 0 ? limit : -1);
	while (sqlite3_step(q) == SQLITE_ROW)
		if (cb((uint64_t)sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1), user))
			break;
	sqlite3_finalize(q);
	return 0;
}
