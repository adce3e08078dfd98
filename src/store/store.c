/*
 * store.c — opening and migrating the database, transactions, the statement
 * cache and the small helpers the other files of src/store/ share.
 *
 *   store.c      open, migrate, transactions, statement cache
 *   documents.c  documents: records, listing, status, deletion, ingest primitives
 *   queue.c      the step queue: claims, results, retries, leases, recovery
 *   dossiers.c   dossiers and full-text search
 *   events.c     the events table and event numbers
 */
#include "store/internal.h"
#include "core/util.h"
#include "store/schema_pg.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

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
	/* 3: workers hold leases instead of pids; retries wait for a time; deferrals name their holder */
	"CREATE TABLE workers("
	"  holder TEXT PRIMARY KEY,"
	"  host TEXT NOT NULL,"
	"  pid INTEGER NOT NULL,"
	"  proc_start INTEGER NOT NULL DEFAULT 0,"
	"  started_at REAL NOT NULL,"
	"  heartbeat_at REAL NOT NULL,"
	"  expires_at REAL NOT NULL);"
	"ALTER TABLE steps ADD COLUMN holder TEXT;"
	"ALTER TABLE steps ADD COLUMN not_before REAL;"
	"ALTER TABLE steps ADD COLUMN deferred_by TEXT;"
	"CREATE INDEX steps_holder ON steps(holder) WHERE state = 'running';",
	/* 4: readiness kept incrementally. pending_deps counts a step's dependencies
	 * not done yet (set at insert, lowered by a trigger when one becomes done);
	 * partial indexes hold exactly the claimable set in claim order, the
	 * delayed or deferred part of it, and the open (queued or running) steps by
	 * document; step_counts holds the number of steps per role and bucket. */
	"ALTER TABLE steps ADD COLUMN pending_deps INTEGER NOT NULL DEFAULT 0;"
	"UPDATE steps AS s SET pending_deps = (SELECT count(*) FROM steps d WHERE d.document_id = s.document_id"
	"  AND (s.deps >> d.idx) & 1 AND d.state != 'done') WHERE s.deps != 0;"
	"DROP INDEX steps_state;"
	"CREATE INDEX steps_ready ON steps(role, document_id, idx)"
	"  WHERE state = 'queued' AND pending_deps = 0 AND not_before IS NULL AND deferred_by IS NULL;"
	"CREATE INDEX steps_later ON steps(role, document_id, idx)"
	"  WHERE state = 'queued' AND pending_deps = 0 AND (not_before IS NOT NULL OR deferred_by IS NOT NULL);"
	"CREATE INDEX steps_open ON steps(role, document_id) WHERE state IN ('queued','running');"
	"CREATE TABLE step_counts(role TEXT NOT NULL, bucket TEXT NOT NULL, n INTEGER NOT NULL,"
	"  PRIMARY KEY(role, bucket)) WITHOUT ROWID;"
	"INSERT INTO step_counts(role, bucket, n)"
	"  SELECT role, CASE WHEN state = 'running' THEN 'running' WHEN pending_deps = 0 THEN 'ready' ELSE 'waiting' END,"
	"  count(*) FROM steps WHERE state IN ('queued','running') GROUP BY 1, 2;"
	"CREATE TRIGGER steps_dep_done AFTER UPDATE OF state ON steps"
	"  WHEN NEW.state = 'done' AND OLD.state != 'done' BEGIN"
	"  UPDATE steps SET pending_deps = pending_deps - 1"
	"   WHERE document_id = NEW.document_id AND (deps >> NEW.idx) & 1 AND pending_deps > 0;"
	" END;"
	"CREATE TRIGGER steps_dep_undone AFTER UPDATE OF state ON steps"
	"  WHEN OLD.state = 'done' AND NEW.state != 'done' BEGIN"
	"  UPDATE steps SET pending_deps = pending_deps + 1"
	"   WHERE document_id = NEW.document_id AND (deps >> NEW.idx) & 1;"
	" END;"
	"CREATE TRIGGER steps_count_ins AFTER INSERT ON steps WHEN NEW.state IN ('queued','running') BEGIN"
	"  INSERT INTO step_counts(role, bucket, n) VALUES(NEW.role, CASE WHEN NEW.state = 'running' THEN 'running'"
	"   WHEN NEW.pending_deps = 0 THEN 'ready' ELSE 'waiting' END, 1)"
	"   ON CONFLICT(role, bucket) DO UPDATE SET n = n + 1;"
	" END;"
	"CREATE TRIGGER steps_count_del AFTER DELETE ON steps WHEN OLD.state IN ('queued','running') BEGIN"
	"  UPDATE step_counts SET n = n - 1 WHERE role = OLD.role AND bucket = CASE WHEN OLD.state = 'running'"
	"   THEN 'running' WHEN OLD.pending_deps = 0 THEN 'ready' ELSE 'waiting' END;"
	" END;"
	"CREATE TRIGGER steps_count_upd AFTER UPDATE OF state, pending_deps, role ON steps"
	"  WHEN (OLD.state IN ('queued','running') OR NEW.state IN ('queued','running'))"
	"  AND (OLD.state IS NOT NEW.state OR (OLD.pending_deps = 0) IS NOT (NEW.pending_deps = 0)"
	"   OR OLD.role IS NOT NEW.role) BEGIN"
	"  UPDATE step_counts SET n = n - 1 WHERE OLD.state IN ('queued','running') AND role = OLD.role"
	"   AND bucket = CASE WHEN OLD.state = 'running' THEN 'running' WHEN OLD.pending_deps = 0 THEN 'ready'"
	"   ELSE 'waiting' END;"
	"  INSERT INTO step_counts(role, bucket, n) SELECT NEW.role, CASE WHEN NEW.state = 'running' THEN 'running'"
	"   WHEN NEW.pending_deps = 0 THEN 'ready' ELSE 'waiting' END, 1 WHERE NEW.state IN ('queued','running')"
	"   ON CONFLICT(role, bucket) DO UPDATE SET n = n + 1;"
	" END;",
	/* 5: a document's own name (an upload's original file name; NULL = the
	 * path's last component) and when its file was found gone (NULL = there). */
	"ALTER TABLE documents ADD COLUMN name TEXT;"
	"ALTER TABLE documents ADD COLUMN missing_at REAL;",
	/* 6: child documents (an archive's members, a mail's attachments): the
	 * parent, and the child's place in it (member path, attachment name) */
	"ALTER TABLE documents ADD COLUMN parent_id INTEGER REFERENCES documents(id) ON DELETE SET NULL;"
	"ALTER TABLE documents ADD COLUMN place TEXT;"
	"CREATE INDEX documents_parent ON documents(parent_id) WHERE parent_id IS NOT NULL;",
	/* 7: a second copy of known content: a row for its path, with no steps
	 * and no dossier of its own, pointing at the document that has them */
	"ALTER TABLE documents ADD COLUMN same_as INTEGER REFERENCES documents(id) ON DELETE SET NULL;"
	"CREATE INDEX documents_same_as ON documents(same_as) WHERE same_as IS NOT NULL;",
	/* 8: what loading a model cost, per engine, model and context (store/measures.c) */
	"CREATE TABLE measures("
	"  engine TEXT NOT NULL, model TEXT NOT NULL, num_ctx INTEGER NOT NULL,"
	"  load_s REAL, resident_bytes INTEGER NOT NULL, source TEXT NOT NULL,"
	"  predicted_bytes INTEGER, loads INTEGER NOT NULL DEFAULT 1, measured_at REAL NOT NULL,"
	"  PRIMARY KEY(engine, model, num_ctx));",
	/* 9: chunks of a document's text with one embedding each (store/vectors.c):
	 * where the chunk is (source text|transcript|ocr, seconds or page), the
	 * model and dimension that made the vector, the vector as float32 (the
	 * re-rank); and apart, small rows that a query scans whole: the int8
	 * vector with its scale */
	"CREATE TABLE chunks("
	"  id INTEGER PRIMARY KEY,"
	"  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
	"  seq INTEGER NOT NULL,"
	"  source TEXT NOT NULL,"
	"  start_s REAL,"
	"  end_s REAL,"
	"  page INTEGER,"
	"  text TEXT NOT NULL,"
	"  model TEXT NOT NULL,"
	"  dim INTEGER NOT NULL,"
	"  f32 BLOB NOT NULL,"
	"  UNIQUE(document_id, seq));"
	"CREATE INDEX chunks_model ON chunks(model, dim);"
	"CREATE TABLE chunk_q8("
	"  chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,"
	"  document_id INTEGER NOT NULL,"
	"  model TEXT NOT NULL,"
	"  dim INTEGER NOT NULL,"
	"  scale REAL NOT NULL,"
	"  q8 BLOB NOT NULL);",
	/* 10: a generation per document whose vectors changed (store/vectors.c,
	 * store_vectors_gen): every row added to or deleted from chunk_q8, by
	 * store_vectors_replace or by a document's deletion, gives its document
	 * the next generation, so a process caching the vectors learns with one
	 * indexed read what another process changed, and which documents */
	"CREATE TABLE vector_docs("
	"  document_id INTEGER PRIMARY KEY,"
	"  gen INTEGER NOT NULL);"
	"CREATE INDEX vector_docs_gen ON vector_docs(gen);"
	"INSERT INTO vector_docs(document_id, gen) SELECT DISTINCT document_id, 1 FROM chunk_q8;"
	"CREATE TRIGGER chunk_q8_added AFTER INSERT ON chunk_q8 BEGIN"
	"  INSERT INTO vector_docs(document_id, gen)"
	"    VALUES(NEW.document_id, COALESCE((SELECT MAX(gen) FROM vector_docs), 0) + 1)"
	"    ON CONFLICT(document_id) DO UPDATE SET gen = excluded.gen;"
	"END;"
	"CREATE TRIGGER chunk_q8_deleted AFTER DELETE ON chunk_q8 BEGIN"
	"  INSERT INTO vector_docs(document_id, gen)"
	"    VALUES(OLD.document_id, COALESCE((SELECT MAX(gen) FROM vector_docs), 0) + 1)"
	"    ON CONFLICT(document_id) DO UPDATE SET gen = excluded.gen;"
	"END;",
	/* 11: what a worker says of itself (its resident models, its engine), and
	 * which worker finished each step (dossier workers; one result per step) */
	"ALTER TABLE workers ADD COLUMN models TEXT;"
	"ALTER TABLE workers ADD COLUMN engine TEXT;"
	"ALTER TABLE steps ADD COLUMN done_by TEXT;",
	/* 12: the documents' bytes, content-addressed, for workers on other
	 * machines (store/contents.c): chunks, and a row per complete content */
	"CREATE TABLE contents(sha256 TEXT NOT NULL, chunk BIGINT NOT NULL, bytes BIGINT NOT NULL,"
	"  data " DIALECT("BLOB", "bytea") " NOT NULL, PRIMARY KEY(sha256, chunk));"
	"CREATE TABLE content_files(sha256 TEXT PRIMARY KEY, bytes BIGINT NOT NULL, chunks BIGINT NOT NULL);",
};
#define SCHEMA_VERSION ((int)(sizeof migrations / sizeof migrations[0]))

int store_schema_version(void)
{
	return SCHEMA_VERSION;
}

/* ============================================================ helpers */

static void batch_ended(store *st, int committed);

int db_err(store *st, struct err *err, const char *what)
{
	int code = st->last.code ? st->last.code : DOSSIER_EDB;
	err_set(err, code, "%s failed: %s", what, st->last.code ? st->last.msg : "no message");
	err_clear(&st->last);
	return code;
}

int db_exec(store *st, const char *sql, struct err *err)
{
	return dbl_exec(st->c, sql, err);
}

struct dbl_stmt *stmt(store *st, const char *sql, struct err *err)
{
	return dbl_prep(st->c, sql, err);
}

void stmt_done(struct dbl_stmt *q)
{
	dbl_done(q);
}

int qstep(store *st, struct dbl_stmt *q)
{
	int rc = dbl_step(q, &st->last);
	if (rc == DBL_ROW || rc == DBL_DONE)
		err_clear(&st->last);
	return rc;
}

int run1(store *st, const char *sql, int64_t a, const char *t, struct err *err)
{
	struct dbl_stmt *q = stmt(st, sql, err);
	if (!q)
		return err && err->code ? err->code : DOSSIER_EDB;
	dbl_bind_i64(q, 1, a);
	if (t)
		bind_text(q, 2, t);
	int rc = qstep(st, q);
	stmt_done(q);
	return rc == DBL_DONE || rc == DBL_ROW ? 0 : db_err(st, err, "updating");
}

char *col_dup(struct dbl_stmt *q, int i)
{
	const char *s = dbl_col_text(q, i);
	return s ? xstrdup(s) : NULL;
}

void col_copy(struct dbl_stmt *q, int i, char *out, size_t n)
{
	const char *s = dbl_col_text(q, i);
	snprintf(out, n, "%s", s ? s : "");
}

void bind_text(struct dbl_stmt *q, int i, const char *s)
{
	dbl_bind_text(q, i, s);
}

void bind_time(struct dbl_stmt *q, int i, double t)
{
	if (t > 0)
		dbl_bind_double(q, i, t);
	else
		dbl_bind_null(q, i);
}

/* ============================================================ open, migrate */

static struct dbl_migration sqlite_steps[SCHEMA_VERSION];

_Static_assert(STORE_PG_BASE_VERSION <= SCHEMA_VERSION, "PostgreSQL's schema is one of SQLite's versions");

static int migrate(store *st, struct err *err)
{
	if (st->backend == DBL_PG) {
		/* past the base, the migrations are SQLite's texts, which use DIALECT() where PostgreSQL differs */
		struct dbl_migration pg[SCHEMA_VERSION];
		for (int i = 0; i < SCHEMA_VERSION; i++)
			pg[i] = i < STORE_PG_BASE_VERSION ? store_pg_migrations[i] : (struct dbl_migration){migrations[i], NULL};
		return dbl_migrate(st->c, pg, SCHEMA_VERSION, NULL, NULL, err);
	}
	for (int i = 0; i < SCHEMA_VERSION; i++)
		sqlite_steps[i].sql = migrations[i];
	return dbl_migrate(st->c, sqlite_steps, SCHEMA_VERSION, NULL, NULL, err);
}

/*
 * Checkpoints. SQLite's automatic one runs at every commit once the WAL holds
 * 1000 pages; while other connections read (the lanes, the recorder) the WAL
 * cannot start over, stays above that mark, and every commit paid for a
 * checkpoint with two fsyncs. This hook checkpoints (PASSIVE, as SQLite's)
 * past CKPT_PAGES at most every CKPT_EVERY_S per process, and at every commit
 * past CKPT_FORCE_PAGES. A checkpoint moves committed pages into the database
 * file: how often it runs changes neither what a commit guarantees nor what
 * survives a kill -9 (the WAL holds every commit).
 */
#define CKPT_PAGES 1000
#define CKPT_FORCE_PAGES 16000
#define CKPT_EVERY_S 0.25

static _Atomic long long last_ckpt_ms;

static int wal_hook(void *user, sqlite3 *db, const char *name, int pages)
{
	(void)user;
	if (pages < CKPT_PAGES)
		return SQLITE_OK;
	long long now = (long long)(clock_mono_s() * 1000.0), last = last_ckpt_ms;
	if (pages < CKPT_FORCE_PAGES && now - last < (long long)(CKPT_EVERY_S * 1000.0))
		return SQLITE_OK;
	last_ckpt_ms = now;
	sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

int store_is_server(const char *location)
{
	return location && location[0] && dbl_is_pg_url(location);
}

const char *store_location(const store *st)
{
	return st->path;
}

int store_open(const char *path, store **out, struct err *err)
{
	store *st = xcalloc(1, sizeof *st);
	struct err e = {0};
	int rc = DOSSIER_EDB;
	*out = NULL;

	if (path && path[0] && dbl_is_pg_url(path)) {
		st->backend = DBL_PG;
		if ((rc = dbl_open_pg(path, &st->c, err))) {
			st->path = xstrdup(path);
			goto fail;
		}
		st->path = xstrdup(dbl_name(st->c));  /* never the password */
	} else {
		st->backend = DBL_SQLITE;
		st->path = xstrdup(path);
		char *dir = xstrdup(path), *slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdir_p(dir, &e)) {
				err_set(err, DOSSIER_EDB, "cannot use database %s: %s (choose another with --db or DOSSIER_DB)",
				        path, e.msg);
				free(dir);
				goto fail;
			}
		}
		free(dir);
		/* WAL: readers never block the writer; NORMAL is durable at checkpoints
		 * and loses at most the last transactions on power loss, never corrupts. */
		if ((rc = dbl_open_sqlite(path, &st->c, err)))
			goto fail;
		st->sq = dbl_sqlite_handle(st->c);
	}
	if ((rc = migrate(st, err)))
		goto fail;
	if (st->sq)
		sqlite3_wal_hook(st->sq, wal_hook, NULL);
	*out = st;
	return 0;
fail:
	store_close(st);
	return rc ? rc : DOSSIER_EDB;
}

void store_close(store *st)
{
	if (!st)
		return;
	if (st->batch)
		dbl_rollback(st->c);
	batch_ended(st, 0); /* a batch still open rolls back with the connection */
	free(st->after);
	dbl_close(st->c);
	free(st->path);
	free(st);
}

struct tx_call {
	store *st;
	int (*fn)(store *st, void *user);
	void *user;
};

static int tx_call(struct dbl_conn *c, void *user, struct err *err)
{
	(void)c;
	(void)err;  /* fn reports through its own user data */
	struct tx_call *t = user;
	return t->fn(t->st, t->user);
}

int store_tx(store *st, int (*fn)(store *st, void *user), void *user, struct err *err)
{
	struct tx_call t = {st, fn, user};
	return dbl_tx(st->c, 0, tx_call, &t, err);
}

/* Runs and forgets the calls of store_batch_after (the batch has ended). */
static void batch_ended(store *st, int committed)
{
	for (int i = 0; i < st->n_after; i++)
		st->after[i].fn(st->after[i].user, committed);
	st->n_after = 0;
}

int store_batch_after(store *st, void (*fn)(void *user, int committed), void *user, struct err *err)
{
	if (!st->batch)
		return err_set(err, DOSSIER_EINVAL, "database %s: no batch is open", st->path);
	if (st->n_after == st->cap_after) {
		int cap = st->cap_after ? 2 * st->cap_after : 4;
		void *nv = realloc(st->after, (size_t)cap * sizeof *st->after);
		if (!nv)
			return err_set(err, DOSSIER_ENOMEM, "out of memory");
		st->after = nv;
		st->cap_after = cap;
	}
	st->after[st->n_after].fn = fn;
	st->after[st->n_after].user = user;
	st->n_after++;
	return 0;
}

struct publish_after {
	bus *bus;
	struct event *ev;
};

static void publish_at_end(void *user, int committed)
{
	struct publish_after *pa = user;
	if (committed)
		bus_event_publish(pa->bus, pa->ev);
	else
		bus_event_cancel(pa->bus, pa->ev);
	free(pa);
}

void store_batch_publish(store *st, bus *b, struct event *ev)
{
	if (!ev)
		return;
	if (!st->batch) {
		bus_event_publish(b, ev);
		return;
	}
	struct publish_after *pa = malloc(sizeof *pa);
	if (pa) {
		pa->bus = b;
		pa->ev = ev;
	}
	if (!pa || store_batch_after(st, publish_at_end, pa, NULL)) {
		free(pa);
		bus_event_cancel(b, ev);
	}
}

int store_batch_begin(store *st, struct err *err)
{
	if (st->batch)
		return err_set(err, DOSSIER_EINVAL, "database %s: a batch is already open", st->path);
	int rc = dbl_begin(st->c, 0, err);
	if (!rc)
		st->batch = 1;
	return rc;
}

int store_batch_commit(store *st, struct err *err)
{
	if (!st->batch)
		return 0;
	st->batch = 0;
	int rc = dbl_commit(st->c, err);  /* rolls back when it fails */
	batch_ended(st, rc == 0);
	return rc;
}

void store_batch_rollback(store *st)
{
	if (!st || !st->batch)
		return;
	st->batch = 0;
	dbl_rollback(st->c);
	batch_ended(st, 0);
}

void store_busy_timeout(store *st, int ms)
{
	if (st && st->sq)
		sqlite3_busy_timeout(st->sq, ms);
}

int store_in_batch(const store *st)
{
	return st && st->batch;
}

/* ============================================================ records */

void doc_rec_clear(struct doc_rec *d)
{
	if (!d)
		return;
	free(d->path);
	free(d->mime);
	free(d->error);
	free(d->name);
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

enum step_state step_state_parse(const char *s)
{
	for (int i = 0; i <= STEP_SKIPPED; i++)
		if (s && !strcmp(s, state_names[i]))
			return (enum step_state)i;
	return STEP_QUEUED;
}
