/*
 * test_analyze_text.c — text_normalize: encodings (UTF-8, BOM, UTF-16, Windows-1252),
 * binary and empty refusal, white-space folding, HTML and Markdown stripping, caps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

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
		cmocka_unit_test(too_large_output_is_refused),
		cmocka_unit_test(optional_outputs_may_be_null),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
