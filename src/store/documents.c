/*
 * documents.c — document records: ingest primitives, lookup, listing, status, deletion.
 */
#include "store/internal.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* ============================================================ documents */

void doc_from_row(sqlite3_stmt *q, struct doc_rec *d)
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
	d->name = col_dup(q, 10);
	d->missing_at = sqlite3_column_double(q, 11);
	d->same_as = sqlite3_column_int64(q, 12);
	d->parent_id = sqlite3_column_int64(q, 13);
}

static const char SQL_DOC_BY_ID[] = "SELECT " DOC_COLS " FROM documents WHERE id = ?";
static const char SQL_DOC_BY_PATH[] = "SELECT " DOC_COLS " FROM documents WHERE path = ?";

static int doc_get_where(store *st, const char *sql, int64_t id, const char *text,
                         struct doc_rec *out, struct err *err)
{
	sqlite3_stmt *q = stmt(st, sql, err);
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
		if (text)
			rc = err_set(err, DOSSIER_ENOTFOUND, "no document at %s", text);
		else
			rc = err_set(err, DOSSIER_ENOTFOUND, "no document with id %lld (see 'dossier list')",
			             (long long)id);
	} else {
		rc = db_err(st, err, "reading a document");
	}
	stmt_done(q);
	return rc;
}

int store_doc_get(store *st, int64_t id, struct doc_rec *out, struct err *err)
{
	return doc_get_where(st, SQL_DOC_BY_ID, id, NULL, out, err);
}

int store_doc_by_path(store *st, const char *path, struct doc_rec *out, struct err *err)
{
	return doc_get_where(st, SQL_DOC_BY_PATH, 0, path, out, err);
}

static int insert_steps(store *st, int64_t doc_id, const struct step_decl *steps, size_t n,
                        struct err *err)
{
	if (n > 63)
		return err_set(err, DOSSIER_EINVAL, "a pipeline may declare at most 63 steps");
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *q = stmt(st, "INSERT INTO steps(document_id, idx, kind, role, deps, pending_deps)"
		                           " VALUES(?,?,?,?,?,?)", err);
		if (!q)
			return DOSSIER_EDB;
		sqlite3_bind_int64(q, 1, doc_id);
		sqlite3_bind_int(q, 2, (int)i);
		bind_text(q, 3, steps[i].kind);
		bind_text(q, 4, role_name(steps[i].role));
		sqlite3_bind_int64(q, 5, (sqlite3_int64)steps[i].deps);
		/* every step of a new pipeline is queued: each dependency that exists is pending */
		uint64_t deps = steps[i].deps & ((n >= 64 ? 0 : (UINT64_C(1) << n)) - 1);
		sqlite3_bind_int(q, 6, __builtin_popcountll((unsigned long long)deps));
		int rc = sqlite3_step(q);
		stmt_done(q);
		if (rc != SQLITE_DONE)
			return db_err(st, err, "queueing steps");
	}
	return 0;
}

/* Binds a document's columns as parameters 1..9: path, sha256, mime, kind,
 * bytes, mtime, status, error, same_as. */
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
	if (in->same_as > 0)
		sqlite3_bind_int64(q, 9, in->same_as);
	else
		sqlite3_bind_null(q, 9);
}

int store_doc_insert(store *st, const struct doc_input *in, const struct step_decl *steps,
                     size_t n_steps, int64_t *id_out, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "INSERT INTO documents(path, sha256, mime, kind, bytes, mtime, status, error,"
	                           " same_as, created_at, updated_at) VALUES(?,?,?,?,?,?,?,?,?,?,?)", err);
	if (!q)
		return DOSSIER_EDB;
	double now = clock_wall_s();
	bind_doc_input(q, in);
	sqlite3_bind_double(q, 10, now);
	sqlite3_bind_double(q, 11, now);
	int rc = sqlite3_step(q);
	stmt_done(q);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "recording a document");
	int64_t id = sqlite3_last_insert_rowid(st->db);
	if (!in->status && (rc = insert_steps(st, id, steps, n_steps, err)))
		return rc;
	*id_out = id;
	return 0;
}

int store_doc_requeue(store *st, int64_t id, const struct doc_input *in, const struct step_decl *steps,
                      size_t n_steps, int drop_dossier, struct err *err)
{
	if (run1(st, "DELETE FROM steps WHERE document_id = ?", id, NULL, err))
		return DOSSIER_EDB;
	if (drop_dossier && (run1(st, "DELETE FROM dossiers WHERE document_id = ?", id, NULL, err) ||
	                     run1(st, "DELETE FROM dossier_fts WHERE rowid = ?", id, NULL, err)))
		return DOSSIER_EDB;
	/* ingest read the file: it is not missing (any more) */
	sqlite3_stmt *q = stmt(st, "UPDATE documents SET path=?, sha256=?, mime=?, kind=?, bytes=?, mtime=?,"
	                           " status=?, error=?, same_as=?, updated_at=?, missing_at=NULL WHERE id=?", err);
	if (!q)
		return DOSSIER_EDB;
	bind_doc_input(q, in);
	sqlite3_bind_double(q, 10, clock_wall_s());
	sqlite3_bind_int64(q, 11, id);
	int rc = sqlite3_step(q);
	stmt_done(q);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "updating a document");
	if (sqlite3_changes(st->db) != 1)
		return err_set(err, DOSSIER_ENOTFOUND, "no document with id %lld", (long long)id);
	return in->status ? 0 : insert_steps(st, id, steps, n_steps, err);
}

int store_doc_set_mtime(store *st, int64_t id, int64_t mtime, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "UPDATE documents SET mtime = ? WHERE id = ?", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, mtime);
	sqlite3_bind_int64(q, 2, id);
	int rc = sqlite3_step(q);
	stmt_done(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "updating a document's mtime");
}

int store_doc_move(store *st, int64_t id, const char *new_path, int64_t mtime, struct err *err)
{
	/* the file was found at its new path: it is not missing */
	sqlite3_stmt *u = stmt(st, "UPDATE documents SET path=?, mtime=?, updated_at=?, missing_at=NULL WHERE id=?", err);
	if (!u)
		return DOSSIER_EDB;
	bind_text(u, 1, new_path);
	sqlite3_bind_int64(u, 2, mtime);
	sqlite3_bind_double(u, 3, clock_wall_s());
	sqlite3_bind_int64(u, 4, id);
	int rc = sqlite3_step(u);
	stmt_done(u);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "recording a moved document");
	/* the stored dossier names the old path: rewrite it */
	sqlite3_stmt *j = stmt(st, "UPDATE dossiers SET json = json_set(json, '$.path', ?) WHERE document_id = ?", err);
	if (!j)
		return DOSSIER_EDB;
	bind_text(j, 1, new_path);
	sqlite3_bind_int64(j, 2, id);
	rc = sqlite3_step(j);
	stmt_done(j);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "rewriting a moved document's dossier");
}

/* Calls cb with each row of sql (selecting DOC_COLS, ?1 = text or id). */
static int docs_walk(store *st, const char *sql, const char *text, int64_t id,
                     int (*cb)(const struct doc_rec *d, void *user), void *user, struct err *err)
{
	sqlite3_stmt *q = stmt(st, sql, err);
	if (!q)
		return DOSSIER_EDB;
	if (text)
		bind_text(q, 1, text);
	else
		sqlite3_bind_int64(q, 1, id);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct doc_rec d;
		doc_from_row(q, &d);
		int stop = cb(&d, user);
		doc_rec_clear(&d);
		if (stop) {
			rc = SQLITE_DONE;
			break;
		}
	}
	stmt_done(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "reading documents");
}

int store_docs_by_sha256(store *st, const char *sha256, int (*cb)(const struct doc_rec *d, void *user), void *user,
                         struct err *err)
{
	return docs_walk(st, "SELECT " DOC_COLS " FROM documents WHERE sha256 = ? ORDER BY id", sha256, 0, cb, user,
	                 err);
}

int store_doc_copies(store *st, int64_t id, int (*cb)(const struct doc_rec *d, void *user), void *user,
                     struct err *err)
{
	return docs_walk(st, "SELECT " DOC_COLS " FROM documents WHERE same_as = ? ORDER BY id", NULL, id, cb, user,
	                 err);
}

static int first_present(const struct doc_rec *d, void *user)
{
	if (d->missing_at > 0)
		return 0;
	struct doc_rec *out = user;
	*out = *d;
	out->path = d->path ? strdup(d->path) : NULL;
	out->mime = d->mime ? strdup(d->mime) : NULL;
	out->error = d->error ? strdup(d->error) : NULL;
	out->name = d->name ? strdup(d->name) : NULL;
	return 1;
}

int store_doc_take_copy(store *st, int64_t id, struct doc_rec *copy_out, struct err *err)
{
	struct doc_rec copy;
	memset(&copy, 0, sizeof copy);
	int rc = store_doc_copies(st, id, first_present, &copy, err);
	if (!rc && !copy.id)
		rc = err_set(err, DOSSIER_ENOTFOUND, "document %lld has no copy elsewhere", (long long)id);
	if (!rc && run1(st, "DELETE FROM documents WHERE id = ?", copy.id, NULL, err))
		rc = DOSSIER_EDB;
	if (!rc)
		rc = store_doc_move(st, id, copy.path, copy.mtime, err);
	if (rc) {
		doc_rec_clear(&copy);
		return rc;
	}
	*copy_out = copy;
	return 0;
}

int store_doc_list(store *st, const char *status, const char *kind, int limit, int offset,
                   int (*cb)(const struct doc_rec *d, void *user), void *user, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "SELECT " DOC_COLS " FROM documents"
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
	stmt_done(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(st, err, "listing documents");
}

int store_doc_count(store *st, const char *status, int64_t *out, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "SELECT count(*) FROM documents WHERE ?1 IS NULL OR status = ?1", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, status);
	*out = sqlite3_step(q) == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	stmt_done(q);
	return 0;
}

int store_doc_set_status(store *st, int64_t id, const char *status, const char *error,
                         struct err *err)
{
	sqlite3_stmt *q = stmt(st, "UPDATE documents SET status=?, error=?, updated_at=? WHERE id=?", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, status);
	bind_text(q, 2, error);
	sqlite3_bind_double(q, 3, clock_wall_s());
	sqlite3_bind_int64(q, 4, id);
	int rc = sqlite3_step(q);
	stmt_done(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "updating a document's status");
}

int store_doc_set_name(store *st, int64_t id, const char *name, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "UPDATE documents SET name=? WHERE id=?", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, name);
	sqlite3_bind_int64(q, 2, id);
	int rc = sqlite3_step(q);
	stmt_done(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "naming a document");
}

int store_doc_set_missing(store *st, int64_t id, double at, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "UPDATE documents SET missing_at=? WHERE id=?", err);
	if (!q)
		return DOSSIER_EDB;
	if (at > 0)
		sqlite3_bind_double(q, 1, at);
	else
		sqlite3_bind_null(q, 1);
	sqlite3_bind_int64(q, 2, id);
	int rc = sqlite3_step(q);
	stmt_done(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "marking a document's file missing");
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


/* ============================================================ forgetting */

struct forget_ctx {
	const struct store_event *ev;
	size_t n_ev;
	int64_t id;
	struct doc_forgotten *out;
	struct err *err;
};

/* *out = the count(*) of sql with ?1 = text, or id when text is NULL */
static int count_of(store *st, const char *sql, int64_t id, const char *text, int64_t *out, struct err *err)
{
	sqlite3_stmt *q = stmt(st, sql, err);
	if (!q)
		return DOSSIER_EDB;
	if (text)
		bind_text(q, 1, text);
	else
		sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	stmt_done(q);
	return rc == SQLITE_ROW ? 0 : db_err(st, err, "counting");
}

static int forget_tx(store *st, void *user)
{
	struct forget_ctx *c = user;
	struct doc_forgotten *o = c->out;
	int64_t n;
	int rc = store_doc_get(st, c->id, &o->doc, c->err);
	if (rc)
		return rc;
	if ((rc = count_of(st, "SELECT count(*) FROM steps WHERE document_id = ?", c->id, NULL, &n, c->err)))
		return rc;
	o->steps = (int)n;
	if ((rc = count_of(st, "SELECT count(*) FROM dossiers WHERE document_id = ?", c->id, NULL, &n, c->err)))
		return rc;
	o->had_dossier = n > 0;
	if (run1(st, "DELETE FROM dossier_fts WHERE rowid = ?", c->id, NULL, c->err) ||
	    run1(st, "DELETE FROM steps WHERE document_id = ?", c->id, NULL, c->err) ||
	    run1(st, "DELETE FROM dossiers WHERE document_id = ?", c->id, NULL, c->err) ||
	    run1(st, "DELETE FROM documents WHERE id = ?", c->id, NULL, c->err))
		return DOSSIER_EDB;
	if (o->doc.sha256[0] &&
	    (rc = count_of(st, "SELECT count(*) FROM documents WHERE sha256 = ?", 0, o->doc.sha256,
	                   &o->same_content, c->err)))
		return rc;
	if ((rc = count_of(st, "SELECT count(*) FROM documents WHERE path = ?", 0, o->doc.path, &o->same_path,
	                   c->err)))
		return rc;
	return c->n_ev ? store_events_put(st, c->ev, c->n_ev, c->err) : 0;
}

int store_doc_forget(store *st, int64_t id, struct doc_forgotten *out, struct err *err)
{
	return store_doc_forget_ev(st, id, NULL, 0, out, err);
}

int store_doc_forget_ev(store *st, int64_t id, const struct store_event *ev, size_t n_ev,
                        struct doc_forgotten *out, struct err *err)
{
	struct doc_forgotten o;
	memset(&o, 0, sizeof o);
	struct forget_ctx c = {ev, n_ev, id, &o, err};
	int rc = store_tx(st, forget_tx, &c, err);
	if (rc) {
		doc_rec_clear(&o.doc);
		return rc;
	}
	*out = o;
	return 0;
}

/* ============================================================ filtered listing */

void bind_doc_filter(sqlite3_stmt *q, const struct doc_filter *f)
{
	static const struct doc_filter none;
	if (!f)
		f = &none;
	bind_text(q, 11, f->status);
	bind_text(q, 12, f->kind);
	if (f->since)
		sqlite3_bind_int64(q, 13, f->since);
	if (f->until)
		sqlite3_bind_int64(q, 14, f->until);
	bind_text(q, 15, f->tag);
	bind_text(q, 16, f->language);
	sqlite3_bind_int(q, 17, f->missing ? 1 : 0);
	if (f->parent > 0)
		sqlite3_bind_int64(q, 18, f->parent);
	bind_text(q, 19, f->taken_since[0] ? f->taken_since : NULL);
	bind_text(q, 20, f->taken_until[0] ? f->taken_until : NULL);
	sqlite3_bind_int(q, 21, f->copies ? 1 : 0);
}

int store_docs_find(store *st, const struct doc_filter *f, int limit, int offset,
                    int (*cb)(const struct doc_rec *d, const char *title, void *user), void *user,
                    struct err *err)
{
	/* the title from the index (one rowid lookup), not by parsing each dossier's JSON */
#define FIND_SQL(order) "SELECT " DOC_COLS ", (SELECT f.title FROM dossier_fts f WHERE f.rowid = d.id)" \
	" FROM documents d WHERE" DOC_FILTER_WHERE " ORDER BY " order " LIMIT ?1 OFFSET ?2"
#define BASENAME "coalesce(d.name, replace(d.path, rtrim(d.path, replace(d.path, '/', '')), '')) COLLATE NOCASE"
	/* one literal per order: statements are cached by the literal's address */
	static const char *const find_sql[DOC_ORDER_COUNT] = {
		FIND_SQL("d.id"),
		FIND_SQL("d.id DESC"),
		FIND_SQL(BASENAME ", d.id"),
		FIND_SQL(BASENAME " DESC, d.id DESC"),
		FIND_SQL("d.bytes, d.id"),
		FIND_SQL("d.bytes DESC, d.id DESC"),
		FIND_SQL("d.mtime, d.id"),
		FIND_SQL("d.mtime DESC, d.id DESC"),
	};
#undef FIND_SQL
#undef BASENAME
	unsigned order = f && (unsigned)f->order < DOC_ORDER_COUNT ? (unsigned)f->order : 0;
	sqlite3_stmt *q = stmt(st, find_sql[order], err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int(q, 1, limit > 0 ? limit : -1);
	sqlite3_bind_int(q, 2, offset > 0 ? offset : 0);
	bind_doc_filter(q, f);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct doc_rec d;
		doc_from_row(q, &d);
		const char *title = (const char *)sqlite3_column_text(q, DOC_NCOLS);
		int stop = cb(&d, title && *title ? title : NULL, user);
		doc_rec_clear(&d);
		if (stop)
			break;
	}
	stmt_done(q);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(st, err, "listing documents");
}

int store_docs_count(store *st, const struct doc_filter *f, int64_t *out, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "SELECT count(*) FROM documents d WHERE" DOC_FILTER_WHERE, err);
	if (!q)
		return DOSSIER_EDB;
	bind_doc_filter(q, f);
	int rc = sqlite3_step(q);
	*out = rc == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
	stmt_done(q);
	return rc == SQLITE_ROW ? 0 : db_err(st, err, "counting documents");
}
