/*
 * children.c — child documents: an archive's members, a mail's attachments.
 */
#include "store/internal.h"

#include <stdio.h>
#include <string.h>

int store_doc_set_parent(store *st, int64_t id, int64_t parent_id, const char *place, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "UPDATE documents SET parent_id=?2, place=?3 WHERE id=?1", err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, id);
	if (parent_id > 0)
		dbl_bind_i64(q, 2, parent_id);
	else
		dbl_bind_null(q, 2);
	bind_text(q, 3, parent_id > 0 ? place : NULL);
	int rc = qstep(st, q);
	stmt_done(q);
	return rc == DBL_DONE ? 0 : db_err(st, err, "recording a document's parent");
}

int store_doc_parent(store *st, int64_t id, int64_t *parent_id, char *place, size_t n, struct err *err)
{
	*parent_id = 0;
	if (place && n)
		place[0] = '\0';
	struct dbl_stmt *q = stmt(st, "SELECT parent_id, place FROM documents WHERE id = ?1", err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, id);
	int rc = qstep(st, q);
	if (rc == DBL_ROW) {
		*parent_id = dbl_col_i64(q, 0);
		if (place && n)
			col_copy(q, 1, place, n);
		rc = 0;
	} else if (rc == DBL_DONE) {
		rc = err_set(err, DOSSIER_ENOTFOUND, "no document with id %lld", (long long)id);
	} else {
		rc = db_err(st, err, "reading a document's parent");
	}
	stmt_done(q);
	return rc;
}

int store_doc_children(store *st, int64_t parent_id, int (*cb)(const struct doc_child *c, void *user), void *user,
                       struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT id, place, name, kind, status FROM documents WHERE parent_id = ?1 ORDER BY id",
	                       err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, parent_id);
	int rc;
	while ((rc = qstep(st, q)) == DBL_ROW) {
		struct doc_child c = {
			.id = dbl_col_i64(q, 0),
			.place = dbl_col_text(q, 1),
			.name = dbl_col_text(q, 2),
			.kind = dbl_col_text(q, 3),
			.status = dbl_col_text(q, 4),
		};
		if (cb(&c, user))
			break;
	}
	int ok = rc == DBL_ROW || rc == DBL_DONE;
	stmt_done(q);
	return ok ? 0 : db_err(st, err, "listing a document's children");
}
