/*
 * documents.c — document records: ingest primitives, lookup, listing, status, deletion.
 */
#include "store/internal.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* ============================================================ documents */

void doc_from_row(struct dbl_stmt *q, struct doc_rec *d)
{
	memset(d, 0, sizeof *d);
	d->id = dbl_col_i64(q, 0);
	d->path = col_dup(q, 1);
	col_copy(q, 2, d->sha256, sizeof d->sha256);
	d->mime = col_dup(q, 3);
	col_copy(q, 4, d->kind, sizeof d->kind);
	d->bytes = dbl_col_i64(q, 5);
	d->mtime = dbl_col_i64(q, 6);
	col_copy(q, 7, d->status, sizeof d->status);
	d->error = col_dup(q, 8);
	d->updated_at = dbl_col_double(q, 9);
	d->name = col_dup(q, 10);
	d->missing_at = dbl_col_double(q, 11);
	d->same_as = dbl_col_i64(q, 12);
	d->parent_id = dbl_col_i64(q, 13);
}

static const char SQL_DOC_BY_ID[] = "SELECT " DOC_COLS " FROM documents WHERE id = ?1";
static const char SQL_DOC_BY_PATH[] = "SELECT " DOC_COLS " FROM documents WHERE path = ?1";

static int doc_get_where(store *st, const char *sql, int64_t id, const char *text,
                         struct doc_rec *out, struct err *err)
{
	struct dbl_stmt *q = stmt(st, sql, err);
	if (!q)
		return DOSSIER_EDB;
	if (text)
		bind_text(q, 1, text);
	else
		dbl_bind_i64(q, 1, id);
	int rc = qstep(st, q);
	if (rc == DBL_ROW) {
		doc_from_row(q, out);
		rc = 0;
	} else if (rc == DBL_DONE) {
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
		struct dbl_stmt *q = stmt(st, "INSERT INTO steps(document_id, idx, kind, role, deps, pending_deps)"
		                           " VALUES(?1,?2,?3,?4,?5,?6)", err);
		if (!q)
			return DOSSIER_EDB;
		dbl_bind_i64(q, 1, doc_id);
		dbl_bind_i64(q, 2, (int)i);
		bind_text(q, 3, steps[i].kind);
		bind_text(q, 4, role_name(steps[i].role));
		dbl_bind_i64(q, 5, (int64_t)steps[i].deps);
		/* every step of a new pipeline is queued: each dependency that exists is pending */
		uint64_t deps = steps[i].deps & ((n >= 64 ? 0 : (UINT64_C(1) << n)) - 1);
		dbl_bind_i64(q, 6, __builtin_popcountll((unsigned long long)deps));
		int rc = qstep(st, q);
		stmt_done(q);
		if (rc != DBL_DONE)
			return db_err(st, err, "queueing steps");
	}
	return 0;
}

/* Binds a document's columns as parameters 1..9: path, sha256, mime, kind,
 * bytes, mtime, status, error, same_as. */
static void bind_doc_input(struct dbl_stmt *q, const struct doc_input *in)
{
	bind_text(q, 1, in->path);
	bind_text(q, 2, in->sha256 ? in->sha256 : "");
	bind_text(q, 3, in->mime ? in->mime : "");
	bind_text(q, 4, in->kind ? in->kind : "unsupported");
	dbl_bind_i64(q, 5, in->bytes);
	dbl_bind_i64(q, 6, in->mtime);
	bind_text(q, 7, in->status ? in->status : "queued");
	bind_text(q, 8, in->error);
	if (in->same_as > 0)
		dbl_bind_i64(q, 9, in->same_as);
	else
		dbl_bind_null(q, 9);
}

int store_doc_insert(store *st, const struct doc_input *in, const struct step_decl *steps,
                     size_t n_steps, int64_t *id_out, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "INSERT INTO documents(path, sha256, mime, kind, bytes, mtime, status, error,"
	                           " same_as, created_at, updated_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11) RETURNING id", err);
	if (!q)
		return DOSSIER_EDB;
	double now = clock_wall_s();
	bind_doc_input(q, in);
	dbl_bind_double(q, 10, now);
	dbl_bind_double(q, 11, now);
	int rc = qstep(st, q);
	int64_t id = rc == DBL_ROW ? dbl_col_i64(q, 0) : 0;
	if (rc == DBL_ROW)
		rc = qstep(st, q);
	stmt_done(q);
	if (rc != DBL_DONE)
		return db_err(st, err, "recording a document");
	if (!in->status && (rc = insert_steps(st, id, steps, n_steps, err)))
		return rc;
	*id_out = id;
	return 0;
}

int store_doc_requeue(store *st, int64_t id, const struct doc_input *in, const struct step_decl *steps,
                      size_t n_steps, int drop_dossier, struct err *err)
{
	if (run1(st, "DELETE FROM steps WHERE document_id = ?1", id, NULL, err))
		return DOSSIER_EDB;
	if (drop_dossier && (run1(st, "DELETE FROM dossiers WHERE document_id = ?1", id, NULL, err) ||
	                     run1(st, "DELETE FROM dossier_fts WHERE rowid = ?1", id, NULL, err)))
		return DOSSIER_EDB;
	/* ingest read the file: it is not missing (any more) */
	struct dbl_stmt *q = stmt(st, "UPDATE documents SET path=?1, sha256=?2, mime=?3, kind=?4, bytes=?5, mtime=?6,"
	                           " status=?7, error=?8, same_as=?9, updated_at=?10, missing_at=NULL WHERE id=?11", err);
	if (!q)
		return DOSSIER_EDB;
	bind_doc_input(q, in);
	dbl_bind_double(q, 10, clock_wall_s());
	dbl_bind_i64(q, 11, id);
	int rc = qstep(st, q);
	stmt_done(q);
	if (rc != DBL_DONE)
		return db_err(st, err, "updating a document");
	if (dbl_changes(st->c) != 1)
		return err_set(err, DOSSIER_ENOTFOUND, "no document with id %lld", (long long)id);
	return in->status ? 0 : insert_steps(st, id, steps, n_steps, err);
}

int store_doc_set_mtime(store *st, int64_t id, int64_t mtime, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "UPDATE documents SET mtime = ?1 WHERE id = ?2", err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, mtime);
	dbl_bind_i64(q, 2, id);
	int rc = qstep(st, q);
	stmt_done(q);
	return rc == DBL_DONE ? 0 : db_err(st, err, "updating a document's mtime");
}

int store_doc_move(store *st, int64_t id, const char *new_path, int64_t mtime, struct err *err)
{
	/* the file was found at its new path: it is not missing */
	struct dbl_stmt *u = stmt(st, "UPDATE documents SET path=?1, mtime=?2, updated_at=?3, missing_at=NULL WHERE id=?4", err);
	if (!u)
		return DOSSIER_EDB;
	bind_text(u, 1, new_path);
	dbl_bind_i64(u, 2, mtime);
	dbl_bind_double(u, 3, clock_wall_s());
	dbl_bind_i64(u, 4, id);
	int rc = qstep(st, u);
	stmt_done(u);
	if (rc != DBL_DONE)
		return db_err(st, err, "recording a moved document");
	/* the stored dossier names the old path: rewrite it */
	struct dbl_stmt *j = stmt(st, "UPDATE dossiers SET json = " DIALECT("json_set(json, '$.path', ?1)", "jsonb_set(json::jsonb, '{path}', to_jsonb(CAST(?1 AS TEXT)))::text") " WHERE document_id = ?2", err);
	if (!j)
		return DOSSIER_EDB;
	bind_text(j, 1, new_path);
	dbl_bind_i64(j, 2, id);
	rc = qstep(st, j);
	stmt_done(j);
	return rc == DBL_DONE ? 0 : db_err(st, err, "rewriting a moved document's dossier");
}

/* Calls cb with each row of sql (selecting DOC_COLS, ?1 = text or id). */
static int docs_walk(store *st, const char *sql, const char *text, int64_t id,
                     int (*cb)(const struct doc_rec *d, void *user), void *user, struct err *err)
{
	struct dbl_stmt *q = stmt(st, sql, err);
	if (!q)
		return DOSSIER_EDB;
	if (text)
		bind_text(q, 1, text);
	else
		dbl_bind_i64(q, 1, id);
	int rc;
	while ((rc = qstep(st, q)) == DBL_ROW) {
		struct doc_rec d;
		doc_from_row(q, &d);
		int stop = cb(&d, user);
		doc_rec_clear(&d);
		if (stop) {
			rc = DBL_DONE;
			break;
		}
	}
	stmt_done(q);
	return rc == DBL_DONE ? 0 : db_err(st, err, "reading documents");
}

int store_docs_by_sha256(store *st, const char *sha256, int (*cb)(const struct doc_rec *d, void *user), void *user,
                         struct err *err)
{
	return docs_walk(st, "SELECT " DOC_COLS " FROM documents WHERE sha256 = ?1 ORDER BY id", sha256, 0, cb, user,
	                 err);
}

int store_doc_copies(store *st, int64_t id, int (*cb)(const struct doc_rec *d, void *user), void *user,
                     struct err *err)
{
	return docs_walk(st, "SELECT " DOC_COLS " FROM documents WHERE same_as = ?1 ORDER BY id", NULL, id, cb, user,
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
	if (!rc && run1(st, "DELETE FROM documents WHERE id = ?1", copy.id, NULL, err))
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
	struct dbl_stmt *q = stmt(st, "SELECT " DOC_COLS " FROM documents"
	                           " WHERE (CAST(?1 AS TEXT) IS NULL OR status = ?1) AND (CAST(?2 AS TEXT) IS NULL OR kind = ?2)"
	                           " ORDER BY id" DBL_LIMIT("?3") " OFFSET ?4", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, status);
	bind_text(q, 2, kind);
	dbl_bind_i64(q, 3, limit > 0 ? limit : -1);
	dbl_bind_i64(q, 4, offset > 0 ? offset : 0);
	int rc;
	while ((rc = qstep(st, q)) == DBL_ROW) {
		struct doc_rec d;
		doc_from_row(q, &d);
		int stop = cb(&d, user);
		doc_rec_clear(&d);
		if (stop)
			break;
	}
	stmt_done(q);
	return rc == DBL_ROW || rc == DBL_DONE ? 0 : db_err(st, err, "listing documents");
}

int store_doc_count(store *st, const char *status, int64_t *out, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT count(*) FROM documents WHERE CAST(?1 AS TEXT) IS NULL OR status = ?1", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, status);
	int rc = qstep(st, q);
	*out = rc == DBL_ROW ? dbl_col_i64(q, 0) : 0;
	stmt_done(q);
	return rc == DBL_ROW ? 0 : db_err(st, err, "counting documents");
}

int store_doc_set_status(store *st, int64_t id, const char *status, const char *error,
                         struct err *err)
{
	struct dbl_stmt *q = stmt(st, "UPDATE documents SET status=?1, error=?2, updated_at=?3 WHERE id=?4", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, status);
	bind_text(q, 2, error);
	dbl_bind_double(q, 3, clock_wall_s());
	dbl_bind_i64(q, 4, id);
	int rc = qstep(st, q);
	stmt_done(q);
	return rc == DBL_DONE ? 0 : db_err(st, err, "updating a document's status");
}

int store_doc_set_name(store *st, int64_t id, const char *name, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "UPDATE documents SET name=?1 WHERE id=?2", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, name);
	dbl_bind_i64(q, 2, id);
	int rc = qstep(st, q);
	stmt_done(q);
	return rc == DBL_DONE ? 0 : db_err(st, err, "naming a document");
}

int store_doc_set_missing(store *st, int64_t id, double at, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "UPDATE documents SET missing_at=?1 WHERE id=?2", err);
	if (!q)
		return DOSSIER_EDB;
	if (at > 0)
		dbl_bind_double(q, 1, at);
	else
		dbl_bind_null(q, 1);
	dbl_bind_i64(q, 2, id);
	int rc = qstep(st, q);
	stmt_done(q);
	return rc == DBL_DONE ? 0 : db_err(st, err, "marking a document's file missing");
}

struct del_ctx {
	int64_t id;
	struct err *err;
};

static int delete_tx(store *st, void *user)
{
	struct del_ctx *c = user;
	if (run1(st, "DELETE FROM dossier_fts WHERE rowid = ?1", c->id, NULL, c->err) ||
	    run1(st, "DELETE FROM steps WHERE document_id = ?1", c->id, NULL, c->err) ||
	    run1(st, "DELETE FROM dossiers WHERE document_id = ?1", c->id, NULL, c->err) ||
	    run1(st, "DELETE FROM documents WHERE id = ?1", c->id, NULL, c->err))
		return DOSSIER_EDB;
	return dbl_changes(st->c) ? 0 : err_set(c->err, DOSSIER_ENOTFOUND, "no document with id %lld", (long long)c->id);
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
	struct dbl_stmt *q = stmt(st, sql, err);
	if (!q)
		return DOSSIER_EDB;
	if (text)
		bind_text(q, 1, text);
	else
		dbl_bind_i64(q, 1, id);
	int rc = qstep(st, q);
	*out = rc == DBL_ROW ? dbl_col_i64(q, 0) : 0;
	stmt_done(q);
	return rc == DBL_ROW ? 0 : db_err(st, err, "counting");
}

static int forget_tx(store *st, void *user)
{
	struct forget_ctx *c = user;
	struct doc_forgotten *o = c->out;
	int64_t n;
	int rc = store_doc_get(st, c->id, &o->doc, c->err);
	if (rc)
		return rc;
	if ((rc = count_of(st, "SELECT count(*) FROM steps WHERE document_id = ?1", c->id, NULL, &n, c->err)))
		return rc;
	o->steps = (int)n;
	if ((rc = count_of(st, "SELECT count(*) FROM dossiers WHERE document_id = ?1", c->id, NULL, &n, c->err)))
		return rc;
	o->had_dossier = n > 0;
	if (run1(st, "DELETE FROM dossier_fts WHERE rowid = ?1", c->id, NULL, c->err) ||
	    run1(st, "DELETE FROM steps WHERE document_id = ?1", c->id, NULL, c->err) ||
	    run1(st, "DELETE FROM dossiers WHERE document_id = ?1", c->id, NULL, c->err) ||
	    run1(st, "DELETE FROM documents WHERE id = ?1", c->id, NULL, c->err))
		return DOSSIER_EDB;
	if (o->doc.sha256[0] &&
	    (rc = count_of(st, "SELECT count(*) FROM documents WHERE sha256 = ?1", 0, o->doc.sha256,
	                   &o->same_content, c->err)))
		return rc;
	if ((rc = count_of(st, "SELECT count(*) FROM documents WHERE path = ?1", 0, o->doc.path, &o->same_path,
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

void bind_doc_filter(struct dbl_stmt *q, const struct doc_filter *f)
{
	static const struct doc_filter none;
	if (!f)
		f = &none;
	bind_text(q, 11, f->status);
	bind_text(q, 12, f->kind);
	if (f->since)
		dbl_bind_i64(q, 13, f->since);
	if (f->until)
		dbl_bind_i64(q, 14, f->until);
	bind_text(q, 15, f->tag);
	bind_text(q, 16, f->language);
	dbl_bind_i64(q, 17, f->missing ? 1 : 0);
	if (f->parent > 0)
		dbl_bind_i64(q, 18, f->parent);
	bind_text(q, 19, f->taken_since[0] ? f->taken_since : NULL);
	bind_text(q, 20, f->taken_until[0] ? f->taken_until : NULL);
	dbl_bind_i64(q, 21, f->copies ? 1 : 0);
}

int store_docs_find(store *st, const struct doc_filter *f, int limit, int offset,
                    int (*cb)(const struct doc_rec *d, const char *title, void *user), void *user,
                    struct err *err)
{
	/* the title from the index (one rowid lookup), not by parsing each dossier's JSON */
#define FIND_SQL(order) "SELECT " DOC_COLS ", (SELECT f.title FROM dossier_fts f WHERE f.rowid = d.id)" \
	" FROM documents d WHERE" DOC_FILTER_WHERE " ORDER BY " order DBL_LIMIT("?1") " OFFSET ?2"
#define BASENAME_OF "coalesce(d.name, replace(d.path, rtrim(d.path, replace(d.path, '/', '')), ''))"
#define BASENAME DIALECT(BASENAME_OF " COLLATE NOCASE", "lower(" BASENAME_OF ")")
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
#undef BASENAME_OF
	unsigned order = f && (unsigned)f->order < DOC_ORDER_COUNT ? (unsigned)f->order : 0;
	struct dbl_stmt *q = stmt(st, find_sql[order], err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, limit > 0 ? limit : -1);
	dbl_bind_i64(q, 2, offset > 0 ? offset : 0);
	bind_doc_filter(q, f);
	int rc;
	while ((rc = qstep(st, q)) == DBL_ROW) {
		struct doc_rec d;
		doc_from_row(q, &d);
		const char *title = dbl_col_text(q, DOC_NCOLS);
		int stop = cb(&d, title && *title ? title : NULL, user);
		doc_rec_clear(&d);
		if (stop)
			break;
	}
	stmt_done(q);
	return rc == DBL_ROW || rc == DBL_DONE ? 0 : db_err(st, err, "listing documents");
}

int store_docs_count(store *st, const struct doc_filter *f, int64_t *out, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT count(*) FROM documents d WHERE" DOC_FILTER_WHERE, err);
	if (!q)
		return DOSSIER_EDB;
	bind_doc_filter(q, f);
	int rc = qstep(st, q);
	*out = rc == DBL_ROW ? dbl_col_i64(q, 0) : 0;
	stmt_done(q);
	return rc == DBL_ROW ? 0 : db_err(st, err, "counting documents");
}
