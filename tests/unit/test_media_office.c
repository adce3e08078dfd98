/*
 * test_media_office.c — DOCX, PPTX, XLSX, ODT, ODS and EPUB text through
 * media/office, and the hostile files of those kinds: entity bombs and XXE,
 * a zip bomb, encrypted containers, climbing member names, a truncated
 * archive and one 20 MB paragraph.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"
#include "media/office.h"
#include "test_formats_fixtures.h"

static json_t *extract_ok(const char *name)
{
	json_t *r = NULL;
	struct err e = {0};
	int rc = office_extract(ff_path(name), NULL, &r, &e);
	if (rc)
		fail_msg("%s: %s", name, e.msg);
	assert_non_null(r);
	return r;
}

/* position of needle in hay, or -1 */
static long pos(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);
	return p ? (long)(p - hay) : -1;
}

static void test_docx_text_in_order_with_headings_and_lists(void **s)
{
	(void)s;
	json_t *r = extract_ok("report.docx");
	const char *t = ff_str(r, "text");
	assert_string_equal(ff_str(r, "format"), "docx");
	assert_string_equal(ff_str(r, "title"), "Quarterly report");
	assert_string_equal(ff_str(r, "author"), "Ada Lovelace");
	assert_string_equal(ff_str(r, "created"), "2024-03-01T09:00:00Z");
	assert_string_equal(ff_str(r, "modified"), "2024-03-02T10:30:00Z");
	assert_true(pos(t, "# Introduction\n") >= 0);
	assert_true(pos(t, "## Results\n") >= 0);
	assert_true(pos(t, "- Apples\n- Pears") >= 0);
	assert_true(pos(t, "Run one\tafter a tab") >= 0);
	assert_true(pos(t, "Cell A1\tCell B1") >= 0);
	assert_true(pos(t, "deleted words") < 0); /* tracked deletions are not text */
	assert_true(pos(t, "Introduction") < pos(t, "harbour") && pos(t, "harbour") < pos(t, "Results") &&
	            pos(t, "Results") < pos(t, "closes the report"));
	json_t *h = json_object_get(r, "headings");
	assert_int_equal(json_array_size(h), 3);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(h, 2), "level")), 2);
	assert_false(json_is_true(json_object_get(r, "truncated")));
	json_decref(r);
}

static void test_docx_notes_comments_headers_and_footers(void **s)
{
	(void)s;
	json_t *r = extract_ok("footnotes.docx");
	const char *t = ff_str(r, "text");
	/* the reference marks stay in the body, numbered as Word shows them */
	assert_true(pos(t, "The quay is older than thought[1] and needs repair.") >= 0);
	assert_true(pos(t, "Costs are rising[i].") >= 0);
	assert_true(pos(t, "A second claim[2]") >= 0);
	/* the notes after the body, under one heading, each led by its mark */
	assert_true(pos(t, "## Notes\n\n[1] Dated by the 1820 harbour map.\n\n[2] See the survey of 1998.\n\n"
	                   "[i] Figures from the council budget.") > pos(t, "A second claim"));
	assert_true(pos(t, "nobody cites") < 0); /* never referred to: not shown (nor the separators) */
	assert_true(pos(t, "## Comments\n\nGrace: Check the date.") > pos(t, "## Notes"));
	/* three sections' identical header once; the footer without its cached page number */
	assert_true(pos(t, "## Headers and footers\n\nPort Authority internal\n\nPage") > pos(t, "## Comments"));
	const char *h = strstr(t, "Port Authority internal");
	assert_null(strstr(h + 1, "Port Authority internal"));
	assert_true(pos(t, "of the survey") > 0);
	assert_true(pos(t, "Page 7") < 0 && pos(t, "7 of") < 0);
	json_decref(r);
}

static void test_odt_notes_headers_and_footers(void **s)
{
	(void)s;
	json_t *r = extract_ok("footnotes.odt");
	const char *t = ff_str(r, "text");
	assert_true(pos(t, "The water rose[1] overnight.\n\nBoats were moved[i].") >= 0);
	assert_true(pos(t, "## Notes\n\n[1] Measured at the old bridge.\n\n[i] By the harbour crew.") > pos(t, "overnight"));
	assert_true(pos(t, "bridge.") > pos(t, "Boats")); /* the note's body is not inside the paragraph */
	assert_true(pos(t, "## Headers and footers\n\nCounty water board\n\nPage") > pos(t, "## Notes"));
	const char *h = strstr(t, "County water board");
	assert_null(strstr(h + 1, "County water board"));
	assert_true(pos(t, "of the log") > 0 && pos(t, "3 of") < 0);
	json_decref(r);
	/* a document without notes or headers is unchanged */
	r = extract_ok("notes.odt");
	assert_true(pos(ff_str(r, "text"), "Notes") < 0 && pos(ff_str(r, "text"), "Headers") < 0);
	json_decref(r);
}

static void test_pptx_slides_in_presentation_order(void **s)
{
	(void)s;
	json_t *r = extract_ok("deck.pptx");
	const char *t = ff_str(r, "text");
	assert_int_equal(json_integer_value(json_object_get(r, "slides")), 2);
	/* the presentation lists slide2.xml first */
	assert_true(pos(t, "Opening slide") >= 0 && pos(t, "Opening slide") < pos(t, "Second slide"));
	assert_true(pos(t, "## Slide 1\n\nOpening slide") >= 0);
	assert_string_equal(ff_str(r, "author"), "Alan Turing");
	json_decref(r);
}

static void test_xlsx_sheets_with_cached_values_not_formulas(void **s)
{
	(void)s;
	json_t *r = extract_ok("sales.xlsx");
	const char *t = ff_str(r, "text");
	assert_true(pos(t, "## Sheet: Sales\n\nRegion\tTotal\nNorth\t1234.5\t\tinline note") >= 0);
	assert_true(pos(t, "Rent!\tTRUE") >= 0);
	assert_true(pos(t, "SUM(") < 0 && pos(t, "CONCAT") < 0);
	assert_true(pos(t, "Sales") < pos(t, "Costs"));
	json_t *sh = json_object_get(r, "sheets");
	assert_int_equal(json_array_size(sh), 2);
	assert_string_equal(ff_str(json_array_get(sh, 1), "name"), "Costs");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(sh, 0), "rows")), 2);
	json_decref(r);
}

static void test_odt_and_ods(void **s)
{
	(void)s;
	json_t *r = extract_ok("notes.odt");
	const char *t = ff_str(r, "text");
	assert_string_equal(ff_str(r, "format"), "odt");
	assert_string_equal(ff_str(r, "title"), "Field notes");
	assert_string_equal(ff_str(r, "author"), "Grace Hopper");
	assert_true(pos(t, "# Field notes\n\nWe walked along the river bank.\n\n- Herons\n- Kingfishers\n\n## Weather") == 0);
	json_decref(r);
	r = extract_ok("budget.ods");
	t = ff_str(r, "text");
	/* the formula's cached value; a thousand repeated empty cells and a million empty rows cost nothing */
	assert_string_equal(t, "## Sheet: Budget\n\nItem\tCost\nPaint\t42");
	json_decref(r);
}

static void test_epub_chapters_in_spine_order(void **s)
{
	(void)s;
	json_t *r = extract_ok("book.epub");
	const char *t = ff_str(r, "text");
	assert_string_equal(ff_str(r, "title"), "The Lighthouse Keeper");
	assert_string_equal(ff_str(r, "author"), "Mary Shelley");
	assert_int_equal(json_integer_value(json_object_get(r, "chapters")), 2);
	assert_true(pos(t, "Chapter One") >= 0 && pos(t, "Chapter One") < pos(t, "Chapter Two"));
	assert_true(pos(t, "The keeper lit the lamp.") >= 0); /* white space collapsed */
	assert_true(pos(t, "- oil\n- wick") >= 0);
	assert_true(pos(t, "color") < 0); /* style sheets are not text */
	json_decref(r);
}

static void test_sniff_by_member_names(void **s)
{
	(void)s;
	char f[16];
	assert_int_equal(office_sniff(ff_path("bigpara.docx"), f, sizeof f), 0); /* libmagic says application/zip */
	assert_string_equal(f, "docx");
	assert_int_equal(office_sniff(ff_path("book.epub"), f, sizeof f), 0);
	assert_string_equal(f, "epub");
	assert_int_equal(office_sniff(ff_path("budget.ods"), f, sizeof f), 0);
	assert_string_equal(f, "ods");
	assert_int_equal(office_sniff(ff_path("protected.docx"), f, sizeof f), 0);
	assert_string_equal(f, "encrypted");
	const char *plain = ff_write("plain.zip", "PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22);
	assert_int_equal(office_sniff(plain, f, sizeof f), -1);
	assert_int_equal(office_sniff(ff_path("people.csv"), f, sizeof f), -1);
}

static void test_entity_bombs_are_not_expanded(void **s)
{
	(void)s;
	const char *names[] = {"laughs.docx", "laughs.epub"};
	for (int i = 0; i < 2; i++) {
		json_t *r = extract_ok(names[i]);
		const char *t = ff_str(r, "text");
		assert_true(strlen(t) < 200);
		assert_true(pos(t, "lollol") < 0);
		json_decref(r);
	}
	json_t *r = extract_ok("laughs.docx");
	assert_string_equal(ff_str(r, "text"), "before the bomb\n\nafter the bomb");
	json_decref(r);
}

static void test_xxe_reads_no_file_and_fetches_nothing(void **s)
{
	(void)s;
	const char *names[] = {"xxe.docx", "xxe.epub"};
	for (int i = 0; i < 2; i++) {
		json_t *r = extract_ok(names[i]);
		const char *t = ff_str(r, "text");
		assert_true(pos(t, "root:") < 0);     /* /etc/passwd */
		assert_true(pos(t, "/bin/") < 0);
		assert_true(strlen(t) < 100);
		json_decref(r);
	}
	json_t *r = extract_ok("xxe.docx");
	assert_true(pos(ff_str(r, "text"), "secret:") == 0 && pos(ff_str(r, "text"), "end") > 0);
	json_decref(r);
}

static void test_zip_bomb_stops_at_the_expansion_cap(void **s)
{
	(void)s;
	struct office_limits lim = {.max_expanded = 8u * 1024 * 1024};
	json_t *r = NULL;
	struct err e = {0};
	double t0 = clock_mono_s();
	int rc = office_extract(ff_path("zipbomb.docx"), &lim, &r, &e);
	assert_int_equal(rc, DOSSIER_ETOOBIG);
	assert_null(r);
	assert_non_null(strstr(e.msg, "zipbomb.docx"));
	assert_non_null(strstr(e.msg, "zip bomb"));
	assert_non_null(strstr(e.msg, "8388608"));
	assert_true(clock_mono_s() - t0 < 30); /* a hang guard, not a speed test */
	/* with the default cap it stops at the text cap instead, well before 300 MB */
	rc = office_extract(ff_path("zipbomb.docx"), NULL, &r, &e);
	assert_int_equal(rc, 0);
	assert_true(json_is_true(json_object_get(r, "truncated")));
	assert_true(json_integer_value(json_object_get(r, "expanded_bytes")) < 100 * 1024 * 1024);
	json_decref(r);
}

static void test_encrypted_zip_and_protected_docx_say_encrypted(void **s)
{
	(void)s;
	const char *names[] = {"encrypted.docx", "protected.docx"};
	for (int i = 0; i < 2; i++) {
		json_t *r = NULL;
		struct err e = {0};
		assert_int_equal(office_extract(ff_path(names[i]), NULL, &r, &e), DOSSIER_EPERM);
		assert_null(r);
		assert_non_null(strstr(e.msg, names[i]));
		assert_non_null(strstr(e.msg, "encrypted"));
		assert_non_null(strstr(e.msg, "unencrypted copy"));
	}
}

static void test_climbing_member_names_are_never_paths(void **s)
{
	(void)s;
	unlink("/tmp/dossier-escape.txt");
	unlink("/tmp/dossier-abs.txt");
	json_t *r = extract_ok("traversal.docx");
	assert_string_equal(ff_str(r, "text"), "safe text");
	json_decref(r);
	assert_int_equal(access("/tmp/dossier-escape.txt", F_OK), -1);
	assert_int_equal(access("/tmp/dossier-abs.txt", F_OK), -1);
}

static void test_truncated_archive_fails_clearly(void **s)
{
	(void)s;
	json_t *r = NULL;
	struct err e = {0};
	assert_int_equal(office_extract(ff_path("truncated.docx"), NULL, &r, &e), DOSSIER_EFORMAT);
	assert_null(r);
	assert_non_null(strstr(e.msg, "truncated.docx"));
	assert_non_null(strstr(e.msg, "truncated or damaged"));
}

static void test_one_20mb_paragraph_in_bounded_memory(void **s)
{
	(void)s;
	struct rusage before, after;
	getrusage(RUSAGE_SELF, &before);
	json_t *r = extract_ok("bigpara.docx");
	getrusage(RUSAGE_SELF, &after);
	size_t len = strlen(ff_str(r, "text"));
	assert_true(len <= CAP_TEXT);
	assert_true(len > CAP_TEXT - 16);
	assert_true(json_is_true(json_object_get(r, "truncated")));
	json_decref(r);
	/* the text and its JSON copy, no DOM: well under 200 MB of growth */
	assert_true(after.ru_maxrss - before.ru_maxrss < 200 * 1024);
	/* a lower text cap is honoured at a UTF-8 boundary */
	struct office_limits lim = {.max_text = 1001};
	struct err e = {0};
	assert_int_equal(office_extract(ff_path("bigpara.docx"), &lim, &r, &e), 0);
	assert_true(strlen(ff_str(r, "text")) <= 1001);
	json_decref(r);
}

static void test_not_a_zip_and_missing_file(void **s)
{
	(void)s;
	json_t *r = NULL;
	struct err e = {0};
	assert_int_equal(office_extract(ff_path("people.csv"), NULL, &r, &e), DOSSIER_EFORMAT);
	assert_non_null(strstr(e.msg, "people.csv"));
	assert_int_equal(office_extract(ff_path("nope.docx"), NULL, &r, &e), DOSSIER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "nope.docx"));
}

static void test_html_to_text(void **s)
{
	(void)s;
	static const char h[] = "<html><head><title>t</title><script>var x=1;</script></head><body>"
	                        "<h2>News</h2><p>One   two<br>three</p><ul><li>a</li><li>b</li></ul></body></html>";
	char *t = NULL;
	assert_int_equal(office_html_to_text(h, sizeof h - 1, 0, &t, NULL), 0);
	assert_string_equal(t, "## News\n\nOne two\nthree\n\n- a\n- b");
	free(t);
}

static int setup(void **s)
{
	(void)s;
	return ff_make("office table hostile many");
}

/* An e-mail's HTML part nested 60,000 deep: the text inside and after it is kept,
 * in CPU time that does not grow with the square of the depth (libxml2 scans its
 * open elements for every stray end tag; unguarded this takes about a minute). */
static void test_html_deep_nesting_keeps_text(void **s)
{
	(void)s;
	size_t depth = 60000, k = 0;
	char *h = malloc(depth * 7 + 64);
	assert_non_null(h);
	for (size_t i = 0; i < depth; i++)
		memcpy(h + k, "<b>", 3), k += 3;
	k += (size_t)sprintf(h + k, "deep text");
	for (size_t i = 0; i < depth; i++)
		memcpy(h + k, "</i>", 4), k += 4;
	k += (size_t)sprintf(h + k, "<p>after</p>");
	clock_t t0 = clock();
	char *t = NULL;
	assert_int_equal(office_html_to_text(h, k, 0, &t, NULL), 0);
	double dt = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_non_null(t);
	assert_non_null(strstr(t, "deep text"));
	assert_non_null(strstr(t, "after"));
	assert_true(dt < 5.0);
	free(t);
	free(h);
}

/* CPU seconds of one office_extract run on name; its text length into *len. */
static double extract_cpu(const char *name, size_t *len)
{
	json_t *r = NULL;
	clock_t t0 = clock();
	assert_int_equal(office_extract(ff_path(name), NULL, &r, NULL), 0);
	double dt = (double)(clock() - t0) / CLOCKS_PER_SEC;
	*len = strlen(json_string_value(json_object_get(r, "text")));
	json_decref(r);
	return dt;
}

/* Slides, chapters and sheets come in the presentation's, spine's or workbook's order, here the
 * reverse of the archive's: twice the parts must cost about twice the time (a
 * lookup from the archive's start per part was quadratic: 4x and more). */
static void test_many_parts_cost_linear_time(void **s)
{
	(void)s;
	const char *kinds[] = {"pptx", "epub", "xlsx"};
	for (int k = 0; k < 3; k++) {
		char a[32], b[32];
		snprintf(a, sizeof a, "many-600.%s", kinds[k]);
		snprintf(b, sizeof b, "many-1200.%s", kinds[k]);
		size_t la, lb;
		double ta = 1e9, tb = 1e9;
		for (int round = 0; round < 5; round++) {   /* alternated, the fastest of each */
			double x = extract_cpu(a, &la), y = extract_cpu(b, &lb);
			ta = x < ta ? x : ta;
			tb = y < tb ? y : tb;
		}
		print_message("%s: 600 parts %.4f s, 1200 parts %.4f s (ratio %.2f)\n", kinds[k], ta, tb, tb / (ta > 1e-6 ? ta : 1e-6));
		assert_true(lb > la * 19 / 10);
		assert_true(tb < 3.2 * (ta > 0.002 ? ta : 0.002));   /* quadratic: 4 */
	}
	/* and in the presentation's order: the deck's first slide is the last file */
	json_t *r = NULL;
	assert_int_equal(office_extract(ff_path("many-600.pptx"), NULL, &r, NULL), 0);
	const char *t = json_string_value(json_object_get(r, "text"));
	const char *first = strstr(t, "slide file 600"), *last = strstr(t, "slide file 1\n");
	assert_non_null(first);
	assert_true(!last || first < last);
	assert_int_equal(json_integer_value(json_object_get(r, "slides")), 600);
	json_decref(r);
	/* sheets in the workbook's order, each with its row count */
	assert_int_equal(office_extract(ff_path("many-600.xlsx"), NULL, &r, NULL), 0);
	t = json_string_value(json_object_get(r, "text"));
	assert_true(strstr(t, "Sheet: S600") < strstr(t, "Sheet: S1\n"));
	json_t *sh = json_object_get(r, "sheets");
	assert_int_equal(json_array_size(sh), 600);
	assert_string_equal(json_string_value(json_object_get(json_array_get(sh, 0), "name")), "S600");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(sh, 0), "rows")), 1);
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_docx_text_in_order_with_headings_and_lists),
		cmocka_unit_test(test_html_deep_nesting_keeps_text),
		cmocka_unit_test(test_many_parts_cost_linear_time),
		cmocka_unit_test(test_docx_notes_comments_headers_and_footers),
		cmocka_unit_test(test_odt_notes_headers_and_footers),
		cmocka_unit_test(test_pptx_slides_in_presentation_order),
		cmocka_unit_test(test_xlsx_sheets_with_cached_values_not_formulas),
		cmocka_unit_test(test_odt_and_ods),
		cmocka_unit_test(test_epub_chapters_in_spine_order),
		cmocka_unit_test(test_sniff_by_member_names),
		cmocka_unit_test(test_entity_bombs_are_not_expanded),
		cmocka_unit_test(test_xxe_reads_no_file_and_fetches_nothing),
		cmocka_unit_test(test_zip_bomb_stops_at_the_expansion_cap),
		cmocka_unit_test(test_encrypted_zip_and_protected_docx_say_encrypted),
		cmocka_unit_test(test_climbing_member_names_are_never_paths),
		cmocka_unit_test(test_truncated_archive_fails_clearly),
		cmocka_unit_test(test_one_20mb_paragraph_in_bounded_memory),
		cmocka_unit_test(test_not_a_zip_and_missing_file),
		cmocka_unit_test(test_html_to_text),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
