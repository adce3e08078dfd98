/*
 * internal.h — shared by the files of src/store/ (never included from outside).
 *
 * The store's logic is written once over the database layer (db.h), so it
 * runs the same on SQLite and PostgreSQL. Every statement text is a string
 * literal; stmt() prepares it once per connection (db.h's cache keys it by
 * the literal's address). A statement comes back reset with its bindings
 * cleared; the user calls stmt_done() when it has read what it needs, so no
 * read transaction stays open.
 */
#ifndef DOSSIER_STORE_INTERNAL_H
#define DOSSIER_STORE_INTERNAL_H

#include "core/err.h"
#include "store/db.h"
#include "store/store.h"

struct sqlite3;

struct store {
	struct dbl_conn *c;                  /* owned: the connection and its statements */
	enum dbl_backend backend;
	struct sqlite3 *sq;                  /* SQLite only: the handle under c (owned by c), else NULL */
	char *path;                          /* owned; the database file or URL (without a password) */
	struct err last;                     /* the last failed qstep's error, for db_err */
	int batch;                           /* 1 inside store_batch_begin .. _commit */
	struct {
		void (*fn)(void *user, int committed);
		void *user;                      /* borrowed: fn's */
	} *after;                            /* owned: store_batch_after's calls, in order */
	int n_after, cap_after;
};

/* The prepared statement for `sql` (a string literal), reset and unbound;
 * NULL with the code in err when it cannot be prepared. Borrowed: call
 * stmt_done() after use, never finalise it. */
struct dbl_stmt *stmt(store *st, const char *sql, struct err *err);
void stmt_done(struct dbl_stmt *q);
/* dbl_step that keeps a failure's message for db_err: DBL_ROW, DBL_DONE or a code. */
int qstep(store *st, struct dbl_stmt *q);

/* The last qstep failure's code (DOSSIER_EDB when none) with
 * "<what> failed: <the database's message>". */
int db_err(store *st, struct err *err, const char *what);
/* Runs statements without results (uncached). Returns 0 or DOSSIER_EDB. */
int db_exec(store *st, const char *sql, struct err *err);
/* Runs a cached statement binding ?1 = a and, if t is not NULL, ?2 = t. */
int run1(store *st, const char *sql, int64_t a, const char *t, struct err *err);

char *col_dup(struct dbl_stmt *q, int i);                 /* caller frees; NULL for NULL */
void col_copy(struct dbl_stmt *q, int i, char *out, size_t n);
void bind_text(struct dbl_stmt *q, int i, const char *s); /* NULL binds NULL */
void bind_time(struct dbl_stmt *q, int i, double t);      /* t <= 0 binds NULL */

/* events.c: stores events (INSERT OR IGNORE on seq), in the current transaction if any */
int events_insert(store *st, const struct store_event *ev, size_t n, struct err *err);
/* store.c */
enum step_state step_state_parse(const char *s);
/* documents.c */
void doc_from_row(struct dbl_stmt *q, struct doc_rec *d);
/* queue.c: marks the steps depending (directly or not) on a failed or skipped step as skipped */
int skip_dependents(store *st, int64_t doc_id, struct err *err);

/* When a dossier's content was made: the photo's capture, the document's creation, the mail's date. */
#define DOC_TAKEN_AT \
	"coalesce(" DBL_JSON_TEXT("z.json", "image.exif.captured_at", "image,exif,captured_at") ", " \
	DBL_JSON_TEXT("z.json", "created", "created") ", " DBL_JSON_TEXT("z.json", "mail.date", "mail,date") ")"
/* documents.c: the conditions of a struct doc_filter over documents `d`, as
 * parameters ?11 to ?17 (bind_doc_filter binds them; NULL f = all). */
#define DOC_FILTER_WHERE \
	" (CAST(?11 AS TEXT) IS NULL OR d.status = ?11) AND (CAST(?12 AS TEXT) IS NULL OR d.kind = ?12)" \
	" AND (CAST(?13 AS BIGINT) IS NULL OR d.mtime >= ?13) AND (CAST(?14 AS BIGINT) IS NULL OR d.mtime < ?14)" \
	" AND (CAST(?15 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM dossiers z, " \
	DIALECT("json_each(z.json, '$.tags') t WHERE z.document_id = d.id AND t.value = ?15 COLLATE NOCASE", \
	        "jsonb_array_elements_text(z.json::jsonb -> 'tags') AS t(value) WHERE z.document_id = d.id" \
	        " AND lower(t.value) = lower(?15)") "))" \
	" AND (CAST(?16 AS TEXT) IS NULL OR EXISTS (SELECT 1 FROM dossiers z WHERE z.document_id = d.id AND " \
	DIALECT("json_extract(z.json, '$.language') = ?16 COLLATE NOCASE", \
	        "lower(z.json::jsonb ->> 'language') = lower(?16)") "))" \
	" AND (?17 = 0 OR d.missing_at IS NOT NULL)" \
	" AND (CAST(?18 AS BIGINT) IS NULL OR d.parent_id = ?18)" \
	" AND ((CAST(?19 AS TEXT) IS NULL AND CAST(?20 AS TEXT) IS NULL) OR EXISTS (SELECT 1 FROM dossiers z WHERE z.document_id = d.id" \
	"      AND " DOC_TAKEN_AT " >= coalesce(?19, '')" \
	"      AND (CAST(?20 AS TEXT) IS NULL OR " DOC_TAKEN_AT " < ?20)))" \
	" AND (?21 = 1 OR CAST(?11 AS TEXT) IS NOT NULL OR d.status <> 'duplicate')"
void bind_doc_filter(struct dbl_stmt *q, const struct doc_filter *f);

#define DOC_COLS "id, path, sha256, mime, kind, bytes, mtime, status, error, updated_at, name, missing_at, same_as, parent_id"
#define DOC_NCOLS 14

#endif
