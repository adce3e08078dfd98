/*
 * children.c — child documents: an archive's members, a mail's attachments.
 */
#include "store/internal.h"

#include <stdio.h>
#include <string.h>

int store_doc_set_parent(store *st, int64_t id, int64_t parent_id, const char *place, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "UPDATE documents SET parent_id=?2, place=?3 WHERE id=?1", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, id);
	if (parent_id > 0)
		sqlite3_bind_int64(q, 2, parent_id);
	else
		sqlite3_bind_null(q, 2);
	bind_text(q, 3, parent_id > 0 ? place : NULL);
	int rc = sqlite3_step(q);
	stmt_done(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "recording a document's parent");
}

int store_doc_parent(store *st, int64_t id, int64_t *parent_id, char *place, size_t n, struct err *err)
{
	*parent_id = 0;
	if (place && n)
		place[0] = '\0';
	sqlite3_stmt *q = stmt(st, "SELECT parent_id, place FROM documents WHERE id = ?", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		*parent_id = sqlite3_column_int64(q, 0);
		if (place && n)
			col_copy(q, 1, place, n);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
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
	sqlite3_stmt *q = stmt(st, "SELECT id, place, name, kind, status FROM documents WHERE parent_id = ? ORDER BY id",
	                       err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, parent_id);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		struct doc_child c = {
			.id = sqlite3_column_int64(q, 0),
			.place = (const char *)sqlite3_column_text(q, 1),
			.name = (const char *)sqlite3_column_text(q, 2),
			.kind = (const char *)sqlite3_column_text(q, 3),
			.status = (const char *)sqlite3_column_text(q, 4),
		};
		if (cb(&c, user))
			break;
	}
	int ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
	stmt_done(q);
	return ok ? 0 : db_err(st, err, "listing a document's children");
}
