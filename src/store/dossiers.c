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
	struct dbl_stmt *q = stmt(st, "INSERT INTO dossiers(document_id, json, updated_at) VALUES(?1,?2,?3)"
	                           " ON CONFLICT(document_id) DO UPDATE SET json=excluded.json, updated_at=excluded.updated_at", c->err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, c->id);
	bind_text(q, 2, c->json);
	dbl_bind_double(q, 3, now);
	int rc = qstep(st, q);
	stmt_done(q);
	if (rc != DBL_DONE)
		return db_err(st, c->err, "storing a dossier");
	if (run1(st, "DELETE FROM dossier_fts WHERE rowid = ?1", c->id, NULL, c->err))
		return DOSSIER_EDB;
	if (c->fts) {
		q = stmt(st, "INSERT INTO dossier_fts(rowid, title, summary, tags, keywords, text, transcript, ocr)"
		             " VALUES(?1,?2,?3,?4,?5,?6,?7,?8)", c->err);
		if (!q)
			return DOSSIER_EDB;
		dbl_bind_i64(q, 1, c->id);
		bind_text(q, 2, c->fts->title);
		bind_text(q, 3, c->fts->summary);
		bind_text(q, 4, c->fts->tags);
		bind_text(q, 5, c->fts->keywords);
		bind_text(q, 6, c->fts->text);
		bind_text(q, 7, c->fts->transcript);
		bind_text(q, 8, c->fts->ocr);
		rc = qstep(st, q);
		stmt_done(q);
		if (rc != DBL_DONE)
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
	struct dbl_stmt *q = stmt(st, "SELECT json FROM dossiers WHERE document_id = ?1", err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, doc_id);
	int rc = qstep(st, q);
	if (rc == DBL_ROW) {
		*out = col_dup(q, 0);
		rc = 0;
	} else {
		rc = err_set(err, DOSSIER_ENOTFOUND, "document %lld has no dossier yet", (long long)doc_id);
	}
	stmt_done(q);
	return rc;
}

/* ============================================================== search */

/*
 * The query language of store_search (store.h) turned into an FTS5 expression
 * in which every term is a quoted string: no character of the user's input is
 * ever FTS5 syntax. A term with no letter or digit is dropped (FTS5 would find
 * nothing for it, or everything).
 */
#define QUERY_MAX_TERMS 64

struct term {
	const char *s;   /* borrowed from the query */
	size_t len;
	int prefix;      /* ends in '*' */
	int negated;     /* began with '-' */
	int or_next;     /* joined to the next term with OR */
};

static int has_word(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= '0' && ch <= '9') || ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || ch >= 0x80)
			return 1;
	}
	return 0;
}

static void quote_term(struct buf *b, const struct term *t)
{
	buf_appendc(b, '"');
	for (size_t i = 0; i < t->len; i++) {
		if (t->s[i] == '"')
			buf_appendc(b, '"');
		buf_appendc(b, t->s[i]);
	}
	buf_appendc(b, '"');
	if (t->prefix)
		buf_appendc(b, '*');
}

static size_t parse_terms(const char *p, struct term *terms)
{
	size_t n = 0;
	while (*p && n < QUERY_MAX_TERMS) {
		while (*p && (unsigned char)*p <= ' ')
			p++;
		if (!*p)
			break;
		struct term t = {0};
		if (*p == '-' && p[1] && (unsigned char)p[1] > ' ') {
			t.negated = 1;
			p++;
		}
		if (*p == '"') {
			t.s = ++p;
			while (*p && *p != '"')
				p++;
			t.len = (size_t)(p - t.s);
			if (*p == '"')
				p++;
			if (*p == '*') {
				t.prefix = 1;
				p++;
			}
			/* whatever sticks to the closing quote ("a"b) is a term of its own */
		} else {
			t.s = p;
			while (*p && (unsigned char)*p > ' ' && *p != '"')
				p++;
			t.len = (size_t)(p - t.s);
			while (t.len > 1 && t.s[t.len - 1] == '*') {
				t.prefix = 1;
				t.len--;
			}
			if (t.len == 2 && !t.negated && !memcmp(t.s, "OR", 2) && n > 0 && !terms[n - 1].negated &&
			    !terms[n - 1].or_next) {
				/* OR between two terms; a dangling one is the word "or" */
				const char *q = p;
				while (*q && (unsigned char)*q <= ' ')
					q++;
				if (*q && *q != '-') {
					terms[n - 1].or_next = 1;
					continue;
				}
			}
		}
		if (!has_word(t.s, t.len)) {
			if (n > 0 && terms[n - 1].or_next && !*p)
				terms[n - 1].or_next = 0;
			continue;
		}
		terms[n++] = t;
	}
	if (n > 0)
		terms[n - 1].or_next = 0;
	return n;
}

/* The terms of a query; when nothing must match, a lone "-word" means the word. 0 with the
 * message in err when nothing is left to look for. */
static size_t query_terms(const char *query, struct term *terms, struct err *err)
{
	size_t n = parse_terms(query ? query : "", terms);
	size_t positive = 0;
	for (size_t i = 0; i < n; i++)
		positive += !terms[i].negated;
	if (!positive)
		for (size_t i = 0; i < n; i++)
			terms[i].negated = 0;
	if (!n)
		err_set(err, DOSSIER_EINVAL, "the search query has no words to look for");
	return n;
}

/* A term as a quoted lexeme of PostgreSQL's tsquery syntax: to_tsquery runs
 * the text between the quotes through the text search configuration
 * (several words become a phrase, <->), so no character of it is syntax. */
static void quote_tsterm(struct buf *b, const struct term *t)
{
	buf_appendc(b, '\'');
	for (size_t i = 0; i < t->len; i++) {
		if (t->s[i] == '\'' || t->s[i] == '\\')
			buf_appendc(b, t->s[i]);
		buf_appendc(b, t->s[i]);
	}
	buf_appendc(b, '\'');
	if (t->prefix)
		buf_appends(b, ":*");
}

/* How a query's terms are written for one engine. */
struct query_syntax {
	const char *and_, *or_, *not_;                      /* between terms; not_ before a negated one */
	void (*quote)(struct buf *b, const struct term *t);  /* one term, never syntax */
};

/* The terms of a query written in an engine's syntax: the positive terms
 * joined by AND, a run joined by OR in parentheses, then each negated term.
 * Caller frees; NULL with the message in err when nothing is left. */
static char *write_query(const char *query, const struct query_syntax *sx, struct err *err)
{
	struct term terms[QUERY_MAX_TERMS];
	size_t n = query_terms(query, terms, err);
	if (!n)
		return NULL;
	struct buf b;
	buf_init(&b, 1 << 12);
	buf_appendc(&b, '(');
	int first = 1;
	for (size_t i = 0; i < n; i++) {
		if (terms[i].negated)
			continue;
		/* a run of terms joined by OR is one parenthesised group */
		size_t j = i;
		while (terms[j].or_next && j + 1 < n && !terms[j + 1].negated)
			j++;
		if (!first)
			buf_appends(&b, sx->and_);
		first = 0;
		if (j > i)
			buf_appendc(&b, '(');
		for (size_t k = i; k <= j; k++) {
			if (k > i)
				buf_appends(&b, sx->or_);
			sx->quote(&b, &terms[k]);
		}
		if (j > i)
			buf_appendc(&b, ')');
		i = j;
	}
	buf_appendc(&b, ')');
	for (size_t i = 0; i < n; i++) {
		if (!terms[i].negated)
			continue;
		buf_appends(&b, sx->not_);
		sx->quote(&b, &terms[i]);
	}
	return buf_take(&b);
}

/* FTS5: AND, OR, NOT between quoted strings. */
static const struct query_syntax fts5_syntax = {" AND ", " OR ", " NOT ", quote_term};
/* PostgreSQL's to_tsquery: & for AND, | for OR, & ! for NOT. */
static const struct query_syntax tsquery_syntax = {" & ", " | ", " & !", quote_tsterm};

static char *search_tsquery(const char *query, struct err *err)
{
	return write_query(query, &tsquery_syntax, err);
}

char *store_search_expr(const char *query, struct err *err)
{
	return write_query(query, &fts5_syntax, err);
}

/* The query ?1 (an FTS5 expression on SQLite, a tsquery on PostgreSQL) in
 * the index, and the rank, smaller first. SQLite: bm25 with weights in the
 * index's column order (title, summary, tags, keywords, text, transcript,
 * ocr); PostgreSQL: ts_rank_cd, negated, over the tsvector whose weights are
 * A title, B summary, C tags and keywords, D the rest (schema_pg.c), with the
 * same proportions ({D, C, B, A} = {1, 2, 4, 10} / 10). */
#define SEARCH_TSQUERY "to_tsquery('dossier', ?1)"
#define SEARCH_MATCH DIALECT("dossier_fts MATCH ?1", "f.tsv @@ " SEARCH_TSQUERY)
#define SEARCH_RANK \
	DIALECT("bm25(dossier_fts, 10.0, 4.0, 2.0, 2.0, 1.0, 1.0, 1.0)", \
	        "-ts_rank_cd('{0.1, 0.2, 0.4, 1.0}', f.tsv, " SEARCH_TSQUERY ")")
/* PostgreSQL's snippet of one column: about 12 words around the best match */
#define HEADLINE(col) \
	"ts_headline('dossier', coalesce(" col ", ''), " SEARCH_TSQUERY ", 'StartSel=" MARK_OPEN ", StopSel=" MARK_CLOSE \
	", MaxWords=12, MinWords=5, ShortWord=2, MaxFragments=1, FragmentDelimiter=…')"
/* the snippet's match markers while a column is chosen; [ and ] once chosen */
#define MARK_OPEN "\x0e"
#define MARK_CLOSE "\x0f"

/* The snippet of the column that matched most among text, transcript, OCR and
 * summary (in that order on a tie); when none did, the start of the first
 * non-empty of summary, text, transcript, OCR. Caller frees. */
static char *best_snippet(store *st, const char *fq, int64_t id, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT" DIALECT(
	                           " snippet(dossier_fts, 4, '" MARK_OPEN "', '" MARK_CLOSE "', '…', 12),"
	                           " snippet(dossier_fts, 5, '" MARK_OPEN "', '" MARK_CLOSE "', '…', 12),"
	                           " snippet(dossier_fts, 6, '" MARK_OPEN "', '" MARK_CLOSE "', '…', 12),"
	                           " snippet(dossier_fts, 1, '" MARK_OPEN "', '" MARK_CLOSE "', '…', 12)"
	                           " FROM dossier_fts WHERE dossier_fts MATCH ?1 AND rowid = ?2",
	                           " " HEADLINE("f.text") ", " HEADLINE("f.transcript") ", " HEADLINE("f.ocr") ", "
	                           HEADLINE("f.summary") " FROM dossier_fts f WHERE f.rowid = ?2 AND ?1 = ?1"), err);
	if (!q)
		return NULL;
	bind_text(q, 1, fq);
	dbl_bind_i64(q, 2, id);
	char *out = NULL;
	if (qstep(st, q) == DBL_ROW) {
		int best = -1, best_marks = 0;
		for (int i = 0; i < 4; i++) {
			const char *sn = dbl_col_text(q, i);
			int marks = 0;
			for (const char *p = sn; p && (p = strchr(p, MARK_OPEN[0])); p++)
				marks++;
			if (marks > best_marks) {
				best = i;
				best_marks = marks;
			}
		}
		if (best < 0) {
			static const int fallback[] = {3, 0, 1, 2};
			for (int k = 0; k < 4 && best < 0; k++) {
				const char *sn = dbl_col_text(q, fallback[k]);
				if (sn && *sn)
					best = fallback[k];
			}
		}
		out = best >= 0 ? col_dup(q, best) : NULL;
	}
	stmt_done(q);
	if (!out)
		out = xstrdup("");
	for (char *p = out; *p; p++) {
		if (*p == MARK_OPEN[0])
			*p = '[';
		else if (*p == MARK_CLOSE[0])
			*p = ']';
	}
	return out;
}

/* 1 if document id passes f's tag, language and content-date conditions (they parse the
 * stored dossier, so they run only for hits in rank order, until the page is full) */
static int passes_json_filter(store *st, int64_t id, const struct doc_filter *f, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT 1 FROM documents d WHERE d.id = ?1 AND" DOC_FILTER_WHERE, err);
	if (!q)
		return -1;
	struct doc_filter only = {.tag = f->tag, .language = f->language, .copies = 1};
	memcpy(only.taken_since, f->taken_since, sizeof only.taken_since);
	memcpy(only.taken_until, f->taken_until, sizeof only.taken_until);
	dbl_bind_i64(q, 1, id);
	bind_doc_filter(q, &only);
	int rc = qstep(st, q);
	int pass = rc == DBL_ROW ? 1 : rc == DBL_DONE ? 0 : -1;
	if (pass < 0)
		db_err(st, err, "filtering search results");
	stmt_done(q);
	return pass;
}

int store_search_filtered(store *st, const char *query, const struct doc_filter *f, int limit,
                          int (*cb)(const struct search_hit *h, void *user), void *user,
                          struct err *err)
{
	char *fq = st->backend == DBL_PG ? search_tsquery(query, err) : store_search_expr(query, err);
	if (!fq)
		return DOSSIER_EINVAL;
	struct doc_filter cols = {0};
	int json_filter = 0;
	if (f) {
		cols = *f;
		cols.tag = cols.language = NULL;
		cols.taken_since[0] = cols.taken_until[0] = '\0';
		json_filter = f->tag || f->language || f->taken_since[0] || f->taken_until[0];
	}
	if (f && f->tag && has_word(f->tag, strlen(f->tag)) && st->backend == DBL_SQLITE) {
		/* only dossiers with the tag's words in the tags column can have the
		 * tag: the index narrows the hits before their JSON is read */
		struct term t = {.s = f->tag, .len = strlen(f->tag)};
		struct buf b;
		buf_init(&b, 1 << 16);
		buf_appendc(&b, '(');
		buf_appends(&b, fq);
		buf_appends(&b, ") AND tags : ");
		quote_term(&b, &t);
		free(fq);
		fq = buf_take(&b);
	}
	if (limit <= 0)
		limit = 20;
	/* rank first, snippets only for the hits returned: snippet() in this
	 * statement would run for every match before the sort */
	struct dbl_stmt *q = stmt(st, "SELECT d.id, d.path, f.title, " SEARCH_RANK ", d.kind, d.status, d.name,"
	                           " d.bytes, d.mtime, d.missing_at"
	                           " FROM dossier_fts f JOIN documents d ON d.id = f.rowid"
	                           " WHERE " SEARCH_MATCH " AND" DOC_FILTER_WHERE
	                           " ORDER BY " SEARCH_RANK DBL_LIMIT("?2"), err);
	if (!q) {
		free(fq);
		return DOSSIER_EDB;
	}
	bind_text(q, 1, fq);
	dbl_bind_i64(q, 2, json_filter ? -1 : limit);
	bind_doc_filter(q, &cols);
	int rc = DBL_DONE, n = 0;
	while (n < limit && (rc = qstep(st, q)) == DBL_ROW) {
		int64_t id = dbl_col_i64(q, 0);
		if (json_filter) {
			int pass = passes_json_filter(st, id, f, err);
			if (pass < 0) {
				stmt_done(q);
				free(fq);
				return DOSSIER_EDB;
			}
			if (!pass)
				continue;
		}
		char *snippet = best_snippet(st, fq, id, err);
		if (!snippet) {
			stmt_done(q);
			free(fq);
			return DOSSIER_EDB;
		}
		struct search_hit h = {
			.id = id,
			.path = dbl_col_text(q, 1),
			.title = dbl_col_text(q, 2),
			.snippet = snippet,
			.rank = dbl_col_double(q, 3),
			.kind = dbl_col_text(q, 4),
			.status = dbl_col_text(q, 5),
			.name = dbl_col_text(q, 6),
			.bytes = dbl_col_i64(q, 7),
			.mtime = dbl_col_i64(q, 8),
			.missing_at = dbl_col_double(q, 9),
		};
		n++;
		int stop = cb(&h, user);
		free(snippet);
		if (stop)
			break;
	}
	if (n < limit && rc != DBL_ROW && rc != DBL_DONE)
		rc = db_err(st, err, "searching");
	else
		rc = 0;
	stmt_done(q);
	free(fq);
	return rc;
}

int store_search(store *st, const char *query, int limit,
                 int (*cb)(const struct search_hit *h, void *user), void *user,
                 struct err *err)
{
	return store_search_filtered(st, query, NULL, limit, cb, user, err);
}
