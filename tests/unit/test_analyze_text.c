/*
 * test_analyze_text.c — text_normalize: encodings (UTF-8, BOM, UTF-16, Windows-1252),
 * binary and empty refusal, white-space folding, HTML and Markdown stripping, caps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/text.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

struct result {
	int rc;
	char *text;
	size_t len;
	char *title;
	char enc[16];
	struct err err;
};

static struct result norm(const char *in, size_t n, enum text_format fmt)
{
	struct result r;
	memset(&r, 0, sizeof r);
	r.rc = text_normalize(in, n, fmt, &r.text, &r.len, &r.title, r.enc, &r.err);
	if (r.rc == 0) {
		assert_non_null(r.text);
		assert_int_equal(strlen(r.text), r.len);
	} else {
		assert_null(r.text);
		assert_null(r.title);
		assert_true(r.err.msg[0] != '\0');
	}
	return r;
}

static void result_free(struct result *r)
{
	free(r->text);
	free(r->title);
}

/* ---- encodings ---- */

static void utf8_passes_through(void **state)
{
	(void)state;
	const char *s = "Grüße aus Köln — 東京 😀";
	struct result r = norm(s, strlen(s), TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.text, s);
	assert_string_equal(r.enc, "utf-8");
	assert_null(r.title);
	result_free(&r);
}

static void utf8_bom_is_dropped(void **state)
{
	(void)state;
	const char s[] = "\xEF\xBB\xBFHello world";
	struct result r = norm(s, sizeof s - 1, TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.text, "Hello world");
	assert_string_equal(r.enc, "utf-8");
	result_free(&r);
}

static void windows_1252_fallback(void **state)
{
	(void)state;
	/* "Café € 5 – “ok”" in Windows-1252: not valid UTF-8 */
	const char s[] = "Caf\xE9 \x80 5 \x96 \x93ok\x94";
	struct result r = norm(s, sizeof s - 1, TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.enc, "windows-1252");
	assert_string_equal(r.text, "Café € 5 – “ok”");
	result_free(&r);

	const char t[] = "\xE9\x80";
	r = norm(t, sizeof t - 1, TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.text, "é€");
	assert_string_equal(r.enc, "windows-1252");
	result_free(&r);
}

static void utf16_with_bom_is_converted(void **state)
{
	(void)state;
	/* "Hé €\n" + U+1F600 in UTF-16LE and BE, with BOMs */
	const char le[] = "\xFF\xFE" "H\0\xE9\0 \0\xAC\x20\r\0\n\0\x3D\xD8\x00\xDE";
	struct result r = norm(le, sizeof le - 1, TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.enc, "utf-16le");
	assert_string_equal(r.text, "Hé €\n😀");
	result_free(&r);

	const char be[] = "\xFE\xFF" "\0H\0\xE9\0 \x20\xAC";
	r = norm(be, sizeof be - 1, TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.enc, "utf-16be");
	assert_string_equal(r.text, "Hé €");
	result_free(&r);
}

static void utf16_without_bom_is_recognised(void **state)
{
	(void)state;
	const char le[] = "T\0e\0x\0t\0 \0o\0n\0l\0y\0";
	struct result r = norm(le, sizeof le - 1, TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.enc, "utf-16le");
	assert_string_equal(r.text, "Text only");
	result_free(&r);
}

static void binary_is_refused(void **state)
{
	(void)state;
	/* a PNG header: NUL bytes in no UTF-16 pattern */
	const char png[] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\0\0\0\x01\0\x08\x02\0\0\0";
	struct result r = norm(png, sizeof png - 1, TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, DOSSIER_EFORMAT);
	assert_non_null(strstr(r.err.msg, "binary"));

	/* no NUL, but mostly control characters */
	char ctl[200];
	for (size_t i = 0; i < sizeof ctl; i++)
		ctl[i] = (char)(i % 3 ? 'a' : 0x01);
	r = norm(ctl, sizeof ctl, TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, DOSSIER_EFORMAT);
	assert_non_null(strstr(r.err.msg, "binary"));

	/* one stray control character in a long text is tolerated and dropped */
	const char ok[] = "A normal sentence with one bell \x07 character in it, nothing else odd.";
	r = norm(ok, sizeof ok - 1, TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, 0);
	assert_null(strchr(r.text, '\x07'));
	result_free(&r);
}

static void empty_input_is_refused(void **state)
{
	(void)state;
	struct result r = norm("", 0, TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, DOSSIER_EEMPTY);
	assert_non_null(strstr(r.err.msg, "no text"));
	r = norm(" \n\t \r\n  ", 8, TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, DOSSIER_EEMPTY);
	const char *html = "<html><head><title> </title></head><body><p> </p><!-- x --></body></html>";
	r = norm(html, strlen(html), TEXT_FORMAT_HTML);
	assert_int_equal(r.rc, DOSSIER_EEMPTY);
}

/* ---- white space ---- */

static void whitespace_is_folded(void **state)
{
	(void)state;
	const char *s = "\n\n  Line   one\t\twith  tabs  \r\nline two\r\rafter blank\n\n\n\n\nlast\xC2\xA0word\x0c" "page\n\n";
	struct result r = norm(s, strlen(s), TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.text, "Line one with tabs\nline two\n\nafter blank\n\nlast word\n\npage");
	result_free(&r);
}

/* ---- HTML ---- */

static void html_is_stripped(void **state)
{
	(void)state;
	const char *html =
		"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
		"<title>Caf&eacute; &amp; Co &mdash; Menu</title>\n"
		"<style>body { color: red; } p::after { content: \"hidden style\"; }</style>\n"
		"<script>var s = \"<p>hidden script</p>\"; if (a < b) go();</script>\n"
		"</head><body>\n<!-- hidden comment <p>x</p> -->\n"
		"<h1>Our Caf&eacute;</h1>\n"
		"<p class=\"a>b\">We serve   coffee,\ntea &amp; cake.<br>From &euro;3.50 &ndash; &quot;ask&quot; &lt;us&gt;!</p>\n"
		"<ul><li>Espresso &#8211; strong</li><li>Cr&egrave;me br&ucirc;l&eacute;e &#x2014; sweet</li></ul>\n"
		"<p>&Uuml;ber &szlig; &copy; &reg; &hellip; &laquo;x&raquo; &nbsp;&bogus; 5 &lt 6</p>"
		"<SCRIPT type=\"text/javascript\">document.write(\"hidden upper\");</SCRIPT>\n"
		"</body></html>\n";
	struct result r = norm(html, strlen(html), TEXT_FORMAT_HTML);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.title, "Café & Co — Menu");
	assert_string_equal(r.text,
			    "Our Café\n\n"
			    "We serve coffee, tea & cake.\nFrom €3.50 – \"ask\" <us>!\n\n"
			    "Espresso – strong\nCrème brûlée — sweet\n\n"
			    "Über ß © ® … «x» &bogus; 5 &lt 6");
	assert_null(strstr(r.text, "hidden"));
	result_free(&r);
}

static void html_without_title(void **state)
{
	(void)state;
	const char *html = "<p>Just a paragraph.</p>";
	struct result r = norm(html, strlen(html), TEXT_FORMAT_HTML);
	assert_int_equal(r.rc, 0);
	assert_null(r.title);
	assert_string_equal(r.text, "Just a paragraph.");
	result_free(&r);
}

static void html_pre_keeps_lines(void **state)
{
	(void)state;
	const char *html = "<p>a\nb</p><pre>line 1\nline 2</pre>";
	struct result r = norm(html, strlen(html), TEXT_FORMAT_HTML);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.text, "a b\n\nline 1\nline 2");
	result_free(&r);
}

/* ---- Markdown ---- */

static void markdown_noise_is_dropped(void **state)
{
	(void)state;
	const char *md =
		"# Project *Dossier* Notes #\n"
		"\n"
		"Some **bold** text with a [link](https://example.com/x \"t\") and `inline code`,\n"
		"plus ![an image](img.png) and 2 * 3 = 6 and snake_case_name.\n"
		"\n"
		"- first item with _emphasis_\n"
		"* [x] done task\n"
		"1. numbered one\n"
		"> a quoted line\n"
		"\n"
		"```c\n"
		"int main(void) { return **argv; }\n"
		"```\n"
		"\n"
		"| col a | col b |\n"
		"|-------|:-----:|\n"
		"| 1     | x     |\n"
		"\n"
		"---\n"
		"[ref]: https://example.com/ref\n"
		"See [the docs][ref] and <https://example.org>.\n";
	struct result r = norm(md, strlen(md), TEXT_FORMAT_MARKDOWN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.title, "Project Dossier Notes");
	assert_string_equal(r.text,
			    "Project Dossier Notes\n\n"
			    "Some bold text with a link and inline code,\n"
			    "plus an image and 2 * 3 = 6 and snake_case_name.\n\n"
			    "first item with emphasis\n"
			    "done task\n"
			    "numbered one\n"
			    "a quoted line\n\n"
			    "```c\n"
			    "int main(void) { return **argv; }\n"
			    "```\n\n"
			    "col a col b\n"
			    "1 x\n\n"
			    "See the docs and https://example.org.");
	result_free(&r);
}

static void markdown_setext_title(void **state)
{
	(void)state;
	const char *md = "Intro Title\n===========\n\nBody text.\n";
	struct result r = norm(md, strlen(md), TEXT_FORMAT_MARKDOWN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.title, "Intro Title");
	assert_string_equal(r.text, "Intro Title\n\nBody text.");
	result_free(&r);

	r = norm("no heading here", 15, TEXT_FORMAT_MARKDOWN);
	assert_int_equal(r.rc, 0);
	assert_null(r.title);
	result_free(&r);
}

/* Unmatched brackets, backticks and '<' on one long line stay linear (regression). */
static void markdown_unclosed_markup_is_linear(void **state)
{
	(void)state;
	size_t n = 2u * 1000u * 1000u;
	char *md = malloc(n);
	assert_non_null(md);
	for (size_t i = 0; i < n; i++)
		md[i] = "[`< a"[i % 5];
	double t0 = clock_mono_s();
	struct result r = norm(md, n, TEXT_FORMAT_MARKDOWN);
	double dt = clock_mono_s() - t0;
	assert_int_equal(r.rc, 0);
	assert_true(dt < 10.0);
	result_free(&r);
	free(md);
}

/* ---- HTML through libxml2, Markdown through md4c ---- */

/* Named entities the old hand-written table did not know (HTML 4's full set). */
static void html_entities_beyond_the_old_table(void **state)
{
	(void)state;
	const char *html = "<p>&spades; &forall;x &sum; &lambda; &rArr; &Sigma; &clubs; &there4;</p>";
	struct result r = norm(html, strlen(html), TEXT_FORMAT_HTML);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.text, "♠ ∀x ∑ λ ⇒ Σ ♣ ∴");
	result_free(&r);

	/* &#150; is Windows-1252's en dash, as in browsers; &#0; is U+FFFD or dropped */
	html = "<p>a &#150; b &#x2605;</p>";
	r = norm(html, strlen(html), TEXT_FORMAT_HTML);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.text, "a – b ★");
	result_free(&r);
}

/* The input is UTF-8 after decoding: a <meta charset> must not make libxml2 re-decode it. */
static void html_meta_charset_does_not_redecode(void **state)
{
	(void)state;
	const char *html = "<html><head><meta charset=\"iso-8859-1\"><title>Grüße</title></head>"
			   "<body><p>Café 東京</p></body></html>";
	struct result r = norm(html, strlen(html), TEXT_FORMAT_HTML);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.title, "Grüße");
	assert_string_equal(r.text, "Café 東京");
	result_free(&r);
}

/* Unclosed paragraphs, cells and divs, stray end tags: the text comes out in order. */
static void html_malformed_is_recovered(void **state)
{
	(void)state;
	const char *html = "<title>T</title><p>one<p>two</span></b><table><tr><td>a<td>b<tr><td>c</table>"
			   "<div>unclosed <i>italic <b>bold</i> tail";
	struct result r = norm(html, strlen(html), TEXT_FORMAT_HTML);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.title, "T");
	assert_string_equal(r.text, "one\n\ntwo\n\na b\nc\n\nunclosed italic bold tail");
	result_free(&r);
}

/* Nesting deeper than the parser keeps is dropped, not the text in it; and it
 * stays fast (libxml2 scans its open elements for every stray end tag). */
static void html_deep_nesting_keeps_text(void **state)
{
	(void)state;
	size_t depth = 60000;   /* unguarded, libxml2 takes about a minute on this */
	char *html = malloc(depth * 7 + 64);
	assert_non_null(html);
	size_t k = 0;
	for (size_t i = 0; i < depth; i++)
		memcpy(html + k, "<b>", 3), k += 3;
	k += (size_t)sprintf(html + k, "deep text");
	for (size_t i = 0; i < depth; i++)
		memcpy(html + k, "</i>", 4), k += 4;
	k += (size_t)sprintf(html + k, "<p>after</p>");
	clock_t t0 = clock();   /* CPU time: a busy machine does not make it fail */
	struct result r = norm(html, k, TEXT_FORMAT_HTML);
	double dt = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.text, "deep text"));
	assert_non_null(strstr(r.text, "after"));
	assert_null(strchr(r.text, '<'));
	assert_null(strchr(r.text, '>'));
	assert_true(dt < 5.0);
	result_free(&r);
	free(html);
}

static void markdown_table_cells_are_rows(void **state)
{
	(void)state;
	const char *md = "Prices:\n\n| Name | Age | City |\n|------|----:|:----:|\n| Ann | 31 | Oslo |\n"
			 "| Bob | 42 | *Rome* |\n\nAfter.";
	struct result r = norm(md, strlen(md), TEXT_FORMAT_MARKDOWN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.text, "Prices:\n\nName Age City\nAnn 31 Oslo\nBob 42 Rome\n\nAfter.");
	result_free(&r);
}

static void markdown_nested_lists_are_lines(void **state)
{
	(void)state;
	const char *md = "- fruit\n  - apple\n    1. green\n    2. red\n  - pear\n- vegetables\n\n  loose part\n";
	struct result r = norm(md, strlen(md), TEXT_FORMAT_MARKDOWN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.text, "fruit\napple\ngreen\nred\npear\nvegetables\n\nloose part");
	result_free(&r);
}

static void markdown_links_keep_text_not_url(void **state)
{
	(void)state;
	const char *md = "Read [the *manual*](https://example.com/secret-path \"Title\") and "
			 "![the logo](logo.png), see [ref][r] or <mailto:a@b.org>.\n\n[r]: https://example.net/x\n";
	struct result r = norm(md, strlen(md), TEXT_FORMAT_MARKDOWN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.text, "Read the manual and the logo, see ref or mailto:a@b.org.");
	assert_null(strstr(r.text, "example"));
	assert_null(strstr(r.text, "logo.png"));
	result_free(&r);
}

/* CommonMark's rules decide what a heading is. */
static void markdown_commonmark_headings(void **state)
{
	(void)state;
	/* a setext heading may span lines; the title is all of it */
	const char *md = "A long title\nover two lines\n---\n\nBody &amp; more.\n";
	struct result r = norm(md, strlen(md), TEXT_FORMAT_MARKDOWN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.title, "A long title over two lines");
	assert_string_equal(r.text, "A long title\nover two lines\n\nBody & more.");
	result_free(&r);

	/* a rule after a blank line is a rule; an indented '#' is code; '#5' is no heading */
	md = "Just text\n\n---\n\n    # not a heading\n\n#5 neither\n\n## Real one ##\n";
	r = norm(md, strlen(md), TEXT_FORMAT_MARKDOWN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.title, "Real one");
	assert_non_null(strstr(r.text, "# not a heading"));
	assert_non_null(strstr(r.text, "#5 neither"));
	result_free(&r);

	/* an empty heading is no title; the next one is (found by the fuzzer) */
	md = "#\n`co`e.\n\n## Second\n";
	r = norm(md, strlen(md), TEXT_FORMAT_MARKDOWN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.title, "Second");
	assert_string_equal(r.text, "coe.\n\nSecond");
	result_free(&r);
}

/* HTML blocks go through the HTML path: tags, comments and scripts vanish,
 * entities are decoded; inline tags are dropped, their text kept. */
static void markdown_html_blocks_and_entities(void **state)
{
	(void)state;
	const char *md = "# Caf&eacute; &spades;\n\n<div class=\"note\">\n<p>inside &amp; out</p>\n"
			 "<script>hidden()</script>\n</div>\n\n<!-- a comment -->\n\n"
			 "Some <b>bold</b> &#x2605; text.\n";
	struct result r = norm(md, strlen(md), TEXT_FORMAT_MARKDOWN);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.title, "Café ♠");
	assert_string_equal(r.text, "Café ♠\n\ninside & out\n\nSome bold ★ text.");
	result_free(&r);
}

/* ---- caps and arguments ---- */

static void too_large_output_is_refused(void **state)
{
	(void)state;
	size_t n = CAP_TEXT + 1000;
	char *big = malloc(n);
	assert_non_null(big);
	for (size_t i = 0; i < n; i++)
		big[i] = (i % 10 == 9) ? ' ' : 'a';
	struct result r = norm(big, n, TEXT_FORMAT_PLAIN);
	assert_int_equal(r.rc, DOSSIER_ETOOBIG);
	free(big);
}

static void optional_outputs_may_be_null(void **state)
{
	(void)state;
	char *out;
	size_t len;
	assert_int_equal(text_normalize("<title>T</title>x", 17, TEXT_FORMAT_HTML, &out, &len, NULL,
					NULL, NULL), 0);
	assert_string_equal(out, "x");
	free(out);
	assert_int_equal(text_normalize(NULL, 3, TEXT_FORMAT_PLAIN, &out, &len, NULL, NULL, NULL),
			 DOSSIER_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(utf8_passes_through),
		cmocka_unit_test(utf8_bom_is_dropped),
		cmocka_unit_test(windows_1252_fallback),
		cmocka_unit_test(utf16_with_bom_is_converted),
		cmocka_unit_test(utf16_without_bom_is_recognised),
		cmocka_unit_test(binary_is_refused),
		cmocka_unit_test(empty_input_is_refused),
		cmocka_unit_test(whitespace_is_folded),
		cmocka_unit_test(html_is_stripped),
		cmocka_unit_test(html_without_title),
		cmocka_unit_test(html_pre_keeps_lines),
		cmocka_unit_test(markdown_noise_is_dropped),
		cmocka_unit_test(markdown_setext_title),
		cmocka_unit_test(markdown_unclosed_markup_is_linear),
		cmocka_unit_test(html_entities_beyond_the_old_table),
		cmocka_unit_test(html_meta_charset_does_not_redecode),
		cmocka_unit_test(html_malformed_is_recovered),
		cmocka_unit_test(html_deep_nesting_keeps_text),
		cmocka_unit_test(markdown_table_cells_are_rows),
		cmocka_unit_test(markdown_nested_lists_are_lines),
		cmocka_unit_test(markdown_links_keep_text_not_url),
		cmocka_unit_test(markdown_commonmark_headings),
		cmocka_unit_test(markdown_html_blocks_and_entities),
		cmocka_unit_test(too_large_output_is_refused),
		cmocka_unit_test(optional_outputs_may_be_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
