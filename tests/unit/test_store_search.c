/* test_store_search.c — search and listing over the store: column weights (a
 * title hit outranks a tag hit), the snippet's column, the query language
 * (phrases, OR, prefixes, -word) and hostile input that must never become an
 * FTS5 error, the document filters, forgetting, and missing_at. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "store/store.h"

#define STORE_FIXTURE_NAME "search"
#include "store_fixture.h"

static const struct step_decl two[] = {{"extract_text", ROLE_NONE, 0}, {"analyze_text", ROLE_TEXT, 1}};

/* A document at path (kind, mtime) with a dossier: json and the index fields. */
static int64_t put(store *st, const char *path, const char *sha, const char *kind, int64_t mtime, const char *json,
                   const struct fts_fields *f)
{
	struct doc_input in = {.path = path, .sha256 = sha, .mime = "text/plain", .kind = kind, .bytes = 100, .mtime = mtime};
	int64_t id;
	struct err e = {0};
	assert_int_equal(store_doc_insert(st, &in, two, 2, &id, &e), 0);
	assert_int_equal(store_dossier_put(st, id, "done", NULL, json, f, NULL, 0, &e), 0);
	return id;
}

#define MAX_HITS 16
struct hits {
	int n;
	int64_t id[MAX_HITS];
	char snippet[MAX_HITS][256];
};

static int collect(const struct search_hit *h, void *u)
{
	struct hits *hs = u;
	if (hs->n < MAX_HITS) {
		hs->id[hs->n] = h->id;
		snprintf(hs->snippet[hs->n], sizeof hs->snippet[0], "%s", h->snippet ? h->snippet : "");
	}
	hs->n++;
	return 0;
}

static struct hits search(store *st, const char *q, const struct doc_filter *f)
{
	struct hits hs = {0};
	struct err e = {0};
	int rc = store_search_filtered(st, q, f, 10, collect, &hs, &e);
	if (rc) {
		print_message("search '%s': %s\n", q, e.msg);
		hs.n = -rc;
	}
	return hs;
}

static void title_hit_outranks_tag_hit(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	/* the word once in a tag, or once in a title of a slightly longer
	 * document: unweighted bm25 ranks the shorter (tag) one first */
	struct fts_fields tag = {.title = "Harbour accounts", .tags = "lighthouse, ledger",
	                         .text = "Ledger lines for the harbour."};
	struct fts_fields title = {.title = "The lighthouse", .tags = "coast, ledger",
	                           .text = "Ledger lines for the harbour, and the fog over it."};
	int64_t a = put(st, "/x/tag.txt", "a", "text", 1, "{}", &tag);
	int64_t b = put(st, "/x/title.txt", "b", "text", 1, "{}", &title);
	/* a collection where the word is rare, as bm25 assumes */
	struct fts_fields other = {.title = "Minutes", .tags = "committee", .text = "The committee met on a Tuesday."};
	for (int i = 0; i < 6; i++) {
		char path[32];
		snprintf(path, sizeof path, "/x/other%d.txt", i);
		put(st, path, path, "text", 1, "{}", &other);
	}
	struct hits h = search(st, "lighthouse", NULL);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.id[0], b);
	assert_int_equal(h.id[1], a);
	store_close(st);
}

static void snippet_comes_from_the_column_that_matched(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	struct fts_fields f = {.title = "Kingfishers", .summary = "A note on birds.", .tags = "kingfisher, river",
	                       .text = "Along the Elsbach the warden counted nine kingfishers nesting in the banks."};
	struct fts_fields t = {.title = "Recording", .tags = "kingfisher",
	                       .transcript = "and then a kingfisher flew past the microphone"};
	struct fts_fields only_title = {.title = "Kingfisher", .summary = "Birds of the valley, a summary.",
	                                .text = "Nothing else here."};
	int64_t a = put(st, "/x/a.txt", "a", "text", 1, "{}", &f);
	int64_t b = put(st, "/x/b.mp3", "b", "audio", 1, "{}", &t);
	int64_t c = put(st, "/x/c.txt", "c", "text", 1, "{}", &only_title);
	struct hits h = search(st, "kingfisher", NULL);
	assert_int_equal(h.n, 3);
	for (int i = 0; i < 3; i++) {
		if (h.id[i] == a)
			assert_non_null(strstr(h.snippet[i], "nine [kingfishers] nesting"));
		else if (h.id[i] == b)
			assert_non_null(strstr(h.snippet[i], "a [kingfisher] flew"));
		else if (h.id[i] == c)
			assert_non_null(strstr(h.snippet[i], "Birds of the valley"));  /* the summary's start */
		assert_null(strstr(h.snippet[i], "river"));                         /* never the tag list */
	}
	store_close(st);
}

static void phrases_or_prefix_and_not(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	struct fts_fields a = {.title = "Warden", .text = "The river warden counted nine pairs."};
	struct fts_fields b = {.title = "Report", .text = "A warden of the river wrote an invoice."};
	int64_t ia = put(st, "/x/a.txt", "a", "text", 1, "{}", &a);
	int64_t ib = put(st, "/x/b.txt", "b", "text", 1, "{}", &b);
	struct hits h = search(st, "\"river warden\"", NULL);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.id[0], ia);
	assert_int_equal(search(st, "river warden", NULL).n, 2);
	h = search(st, "pairs OR invoice", NULL);
	assert_int_equal(h.n, 2);
	h = search(st, "warden pairs OR invoice", NULL);  /* OR binds first: warden AND (pairs OR invoice) */
	assert_int_equal(h.n, 2);
	h = search(st, "invo*", NULL);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.id[0], ib);
	h = search(st, "warden -invoice", NULL);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.id[0], ia);
	h = search(st, "warden -\"nine pairs\"", NULL);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.id[0], ib);
	assert_int_equal(search(st, "-invoice", NULL).n, 1);  /* nothing else to match: the word itself */
	store_close(st);
}

static void hostile_queries_never_reach_fts5_as_syntax(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	struct fts_fields a = {.title = "Harbour report", .text = "The pilots were running late \"again\" (AND NOT) near it"};
	put(st, "/x/a.txt", "a", "text", 1, "{}", &a);
	static const char *const hostile[] = {
		"\"", "(", ")", "NEAR(", "NEAR(a b", "*", "-", ":", "^", "+", "\"\"", "\"*\"", "OR", "AND", "NOT",
		"a OR", "OR a", "a OR OR b", "- -", "--x", "col:word", "title:harbour", "^harbour", "harbour^",
		"{title}: x", "\"unclosed phrase", "a\"b\"c", "***", "x* *", "NEAR(\"a\" \"b\", 3)", "a AND (NOT",
		"'; DROP TABLE documents; --", "\xe2\x80\x94", "\\", "%", "again\"", "\"again\" AND (NOT",
	};
	for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		struct hits hs = {0};
		memset(&e, 0, sizeof e);
		int rc = store_search_filtered(st, hostile[i], NULL, 10, collect, &hs, &e);
		if (rc != 0 && rc != DOSSIER_EINVAL)
			fail_msg("query '%s' gave %d: %s", hostile[i], rc, e.msg);
		if (rc == DOSSIER_EINVAL)
			assert_non_null(strstr(e.msg, "no words"));
	}
	struct hits h = search(st, "\"again\" AND (NOT", NULL);
	assert_int_equal(h.n, 1);  /* the words of it are plain words */
	h = search(st, "title:harbour", NULL);
	assert_int_equal(h.n, 0);  /* "title harbour" as a phrase: not a column filter */
	store_close(st);
}

static void search_expr_quotes_every_term(void **state)
{
	(void)state;
	char *x = store_search_expr("a OR b c* -d \"e f\"", NULL);
	assert_string_equal(x, "((\"a\" OR \"b\") AND \"c\"* AND \"e f\") NOT \"d\"");
	free(x);
	x = store_search_expr("NEAR( x\"y", NULL);
	assert_string_equal(x, "(\"NEAR(\" AND \"x\" AND \"y\")");
	free(x);
	struct err e = {0};
	assert_null(store_search_expr(" ( * - ", &e));
	assert_int_equal(e.code, DOSSIER_EINVAL);
}

static void filters_keep_kind_status_dates_tag_and_language(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	/* the index's tags column holds the tags (and keywords) as assembly writes it */
	struct fts_fields fa = {.title = "Invoice", .tags = "Finance, tax | financial", .text = "invoice"};
	struct fts_fields fb = {.title = "Invoice", .tags = "finance", .text = "invoice"};
	struct fts_fields fc = {.title = "Invoice", .tags = " | finance", .text = "invoice"};  /* a keyword only */
	int64_t a = put(st, "/x/a.txt", "a", "text", 1000, "{\"tags\":[\"Finance\",\"tax\"],\"language\":\"en\"}", &fa);
	int64_t b = put(st, "/x/b.pdf", "b", "pdf", 2000, "{\"tags\":[\"finance\"],\"language\":\"de\"}", &fb);
	int64_t c = put(st, "/x/c.pdf", "c", "pdf", 3000, "{\"language\":\"DE\",\"keywords\":[\"finance\"]}", &fc);
	assert_int_equal(store_doc_set_status(st, c, "partial", NULL, &e), 0);

	assert_int_equal(search(st, "invoice", NULL).n, 3);
	struct doc_filter k = {.kind = "pdf"};
	assert_int_equal(search(st, "invoice", &k).n, 2);
	struct doc_filter s = {.status = "partial"};
	struct hits h = search(st, "invoice", &s);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.id[0], c);
	struct doc_filter d = {.since = 1500, .until = 3000};  /* [since, until) */
	h = search(st, "invoice", &d);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.id[0], b);
	struct doc_filter t = {.tag = "FINANCE"};
	assert_int_equal(search(st, "invoice", &t).n, 2);
	struct doc_filter t2 = {.tag = "fin"};  /* a whole tag, not a part of one */
	assert_int_equal(search(st, "invoice", &t2).n, 0);
	h = search(st, "invoice -tax", &t);  /* a negated word and the tag filter together */
	assert_int_equal(h.n, 1);
	assert_int_equal(h.id[0], b);
	struct doc_filter t3 = {.tag = "financial"};  /* a keyword is not a tag */
	assert_int_equal(search(st, "invoice", &t3).n, 0);
	struct doc_filter t4 = {.tag = "!!"};  /* no word to narrow by: the JSON decides alone */
	assert_int_equal(search(st, "invoice", &t4).n, 0);
	/* a page of filtered hits is full even when the first hits fail the filter */
	struct hits one = {0};
	assert_int_equal(store_search_filtered(st, "invoice", &(struct doc_filter){.language = "de"}, 1, collect, &one, &e), 0);
	assert_int_equal(one.n, 1);
	struct doc_filter l = {.language = "de"};
	assert_int_equal(search(st, "invoice", &l).n, 2);
	struct doc_filter both = {.kind = "pdf", .tag = "finance", .language = "de"};
	h = search(st, "invoice", &both);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.id[0], b);

	int64_t n = -1;
	assert_int_equal(store_docs_count(st, &k, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(store_docs_count(st, NULL, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(store_docs_count(st, &t, &n, &e), 0);
	assert_int_equal(n, 2);
	(void)a;
	store_close(st);
}

static int titles(const struct doc_rec *d, const char *title, void *u)
{
	char *out = u;
	size_t len = strlen(out);
	snprintf(out + len, 256 - len, "%lld:%s;", (long long)d->id, title ? title : "-");
	return 0;
}

static void docs_find_gives_titles_and_pages(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	struct fts_fields f = {.title = "First"};
	put(st, "/x/a.txt", "a", "text", 1, "{}", &f);
	struct doc_input in = {.path = "/x/q.txt", .sha256 = "q", .mime = "text/plain", .kind = "text"};
	int64_t id;
	assert_int_equal(store_doc_insert(st, &in, two, 2, &id, &e), 0);
	char out[256] = "";
	assert_int_equal(store_docs_find(st, NULL, 0, 0, titles, out, &e), 0);
	assert_string_equal(out, "1:First;2:-;");
	out[0] = '\0';
	struct doc_filter q = {.status = "queued"};
	assert_int_equal(store_docs_find(st, &q, 10, 0, titles, out, &e), 0);
	assert_string_equal(out, "2:-;");
	out[0] = '\0';
	assert_int_equal(store_docs_find(st, NULL, 1, 1, titles, out, &e), 0);
	assert_string_equal(out, "2:-;");
	store_close(st);
}

static void forget_says_what_it_removed(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	struct fts_fields f = {.title = "Twin", .text = "twin"};
	int64_t a = put(st, "/x/a.txt", "same", "text", 1, "{}", &f);
	int64_t b = put(st, "/x/b.txt", "same", "text", 1, "{}", &f);
	struct doc_forgotten o;
	assert_int_equal(store_doc_forget(st, a, &o, &e), 0);
	assert_string_equal(o.doc.path, "/x/a.txt");
	assert_int_equal(o.had_dossier, 1);
	assert_int_equal(o.steps, 2);
	assert_int_equal(o.same_content, 1);  /* b still has it */
	doc_rec_clear(&o.doc);
	assert_int_equal(search(st, "twin", NULL).n, 1);
	assert_int_equal(store_doc_forget(st, b, &o, &e), 0);
	assert_int_equal(o.same_content, 0);
	doc_rec_clear(&o.doc);
	assert_int_equal(search(st, "twin", NULL).n, 0);
	struct doc_rec d;
	assert_int_equal(store_doc_get(st, b, &d, NULL), DOSSIER_ENOTFOUND);
	memset(&e, 0, sizeof e);
	assert_int_equal(store_doc_forget(st, b, &o, &e), DOSSIER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "no document with id"));
	store_close(st);
}

static void ingest_primitives_clear_missing(void **state)
{
	(void)state;
	store *st;
	struct err e = {0};
	assert_int_equal(store_open(db, &st, &e), 0);
	struct fts_fields f = {.title = "x"};
	int64_t a = put(st, "/x/a.txt", "a", "text", 1, "{}", &f);
	struct doc_rec d;
	assert_int_equal(store_doc_set_missing(st, a, 1234.5, &e), 0);
	assert_int_equal(store_doc_get(st, a, &d, &e), 0);
	assert_true(d.missing_at == 1234.5);
	doc_rec_clear(&d);
	assert_int_equal(store_doc_move(st, a, "/y/a.txt", 2, &e), 0);
	assert_int_equal(store_doc_get(st, a, &d, &e), 0);
	assert_true(d.missing_at == 0);
	doc_rec_clear(&d);
	assert_int_equal(store_doc_set_missing(st, a, 99, &e), 0);
	int64_t n = 0;
	assert_int_equal(store_docs_count(st, &(struct doc_filter){.missing = 1}, &n, &e), 0);
	assert_int_equal(n, 1);
	struct doc_input in = {.path = "/y/a.txt", .sha256 = "a2", .mime = "text/plain", .kind = "text"};
	assert_int_equal(store_doc_requeue(st, a, &in, two, 2, 1, &e), 0);
	assert_int_equal(store_doc_get(st, a, &d, &e), 0);
	assert_true(d.missing_at == 0);
	doc_rec_clear(&d);
	assert_int_equal(store_docs_count(st, &(struct doc_filter){.missing = 1}, &n, &e), 0);
	assert_int_equal(n, 0);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(title_hit_outranks_tag_hit, setup, teardown),
		cmocka_unit_test_setup_teardown(snippet_comes_from_the_column_that_matched, setup, teardown),
		cmocka_unit_test_setup_teardown(phrases_or_prefix_and_not, setup, teardown),
		cmocka_unit_test_setup_teardown(hostile_queries_never_reach_fts5_as_syntax, setup, teardown),
		cmocka_unit_test(search_expr_quotes_every_term),
		cmocka_unit_test_setup_teardown(filters_keep_kind_status_dates_tag_and_language, setup, teardown),
		cmocka_unit_test_setup_teardown(docs_find_gives_titles_and_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(forget_says_what_it_removed, setup, teardown),
		cmocka_unit_test_setup_teardown(ingest_primitives_clear_missing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
