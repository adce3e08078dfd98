/*
 * dossiers.c — stored dossiers and the full-text index.
 */
#include "store/internal.h"
#include "core/buf.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* ============================================================== dossiers */

struct put_ctx {
	int64_t id;
	const char *status, *error, *json;
	const struct fts_fields *fts;
	const struct store_event *ev;
	size_t n_ev;
	struct err *err;
};

static int put_tx(store *st, void *user)
{
	struct put_ctx *c = user;
	double now = clock_wall_s();
	sqlite3_stmt *q = stmt(st, "INSERT INTO dossiers(document_id, json, updated_at) VALUES(?,?,?)"
	                           " ON CONFLICT(document_id) DO UPDATE SET json=excluded.json, updated_at=excluded.updated_at", c->err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, c->id);
	bind_text(q, 2, c->json);
	sqlite3_bind_double(q, 3, now);
	int rc = sqlite3_step(q);
	stmt_done(q);
	if (rc != SQLITE_DONE)
		return db_err(st, c->err, "storing a dossier");
	if (run1(st, "DELETE FROM dossier_fts WHERE rowid = ?", c->id, NULL, c->err))
		return DOSSIER_EDB;
	if (c->fts) {
		q = stmt(st, "INSERT INTO dossier_fts(rowid, title, summary, tags, keywords, text, transcript, ocr)"
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
		stmt_done(q);
		if (rc != SQLITE_DONE)
			return db_err(st, c->err, "indexing a dossier");
	}
	if ((rc = store_doc_set_status(st, c->id, c->status, c->error, c->err)))
		return rc;
	return events_insert(st, c->ev, c->n_ev, c->err);
}

int store_dossier_put(store *st, int64_t doc_id, const char *status, const char *error, const char *json,
                      const struct fts_fields *fts, const struct store_event *events, size_t n_events,
                      struct err *err)
{
	struct put_ctx c = {doc_id, status, error, json, fts, events, n_events, err};
	return store_tx(st, put_tx, &c, err);
}

int store_dossier_get(store *st, int64_t doc_id, char **out, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "SELECT json FROM dossiers WHERE document_id = ?", err);
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
	stmt_done(q);
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
	sqlite3_stmt *q = stmt(st, "SELECT d.id, d.path, f.title,"
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
	stmt_done(q);
	free(fq);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(st, err, "searching");
	return 0;
}

