/*
 * test_media_rtf.c — the RTF reader: text in order, the info group, code
 * pages through iconv, \uN with \ucN, skipped destinations, hostile input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"
#include "media/rtf.h"
#include "test_formats_fixtures.h"

static json_t *mem(const char *rtf)
{
	json_t *r = NULL;
	struct err e = {0};
	if (rtf_extract_mem(rtf, strlen(rtf), 0, &r, &e))
		fail_msg("%s", e.msg);
	return r;
}

static void test_memo_text_and_info(void **s)
{
	(void)s;
	json_t *r = NULL;
	struct err e = {0};
	assert_int_equal(rtf_extract(ff_path("memo.rtf"), 0, &r, &e), 0);
	assert_string_equal(ff_str(r, "title"), "Meeting about the budget");
	assert_string_equal(ff_str(r, "author"), "Ada Lovelace");
	assert_string_equal(ff_str(r, "created"), "2024-03-05T09:30:00");
	assert_string_equal(ff_str(r, "text"), "Meeting about the budget\n\n"
	                                       "We agreed on a caf\xc3\xa9 near the station\xe2\x80\xa6 and \xe2\x82\xac" "20 for lunch.\n\n"
	                                       "Second line\nsame paragraph\tafter tab.");
	/* tables of fonts, colours, styles, the generator and the picture are not text */
	const char *t = ff_str(r, "text");
	assert_null(strstr(t, "Times"));
	assert_null(strstr(t, "Normal"));
	assert_null(strstr(t, "Writer"));
	assert_null(strstr(t, "89504e"));
	assert_null(strstr(t, "{"));
	json_decref(r);
}

static void test_code_pages(void **s)
{
	(void)s;
	/* Windows-1251 Cyrillic and Shift-JIS through \'hh */
	json_t *r = mem("{\\rtf1\\ansi\\ansicpg1251 \\'cf\\'f0\\'e8\\'e2\\'e5\\'f2}");
	assert_string_equal(ff_str(r, "text"), "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82"); /* Привет */
	assert_string_equal(ff_str(r, "encoding"), "CP1251");
	json_decref(r);
	r = mem("{\\rtf1\\ansi\\ansicpg932 \\'93\\'fa\\'96\\'7b}");
	assert_string_equal(ff_str(r, "text"), "\xe6\x97\xa5\xe6\x9c\xac"); /* 日本 */
	json_decref(r);
}

static void test_unicode_and_uc(void **s)
{
	(void)s;
	/* \uc1: one fallback char skipped; \uc2: two; \uc0: none; a surrogate pair */
	json_t *r = mem("{\\rtf1 a\\u8364?b{\\uc2\\u8364\\'80Xc}\\uc0\\u233 d \\u-10179\\u-8704 e}");
	assert_string_equal(ff_str(r, "text"), "a\xe2\x82\xac" "b\xe2\x82\xac" "c\xc3\xa9" "d \xf0\x9f\x98\x80" "e");
	json_decref(r);
}

static void test_ignorable_destinations_and_escapes(void **s)
{
	(void)s;
	json_t *r = mem("{\\rtf1{\\*\\unknownthing hidden}{\\*\\bkmkstart x}visible \\{braces\\} \\\\ back"
	                "\\~nb\\-hy{\\field{\\*\\fldinst HYPERLINK \"http://x\"}{\\fldrslt link}}\\bin3 {}zy}");
	assert_string_equal(ff_str(r, "text"), "visible {braces} \\ back\xc2\xa0nbhylinky");
	json_decref(r);
}

static void test_not_rtf_and_hostile(void **s)
{
	(void)s;
	json_t *r = NULL;
	struct err e = {0};
	assert_int_equal(rtf_extract(ff_path("people.csv"), 0, &r, &e), DOSSIER_EFORMAT);
	assert_non_null(strstr(e.msg, "people.csv"));
	assert_int_equal(rtf_extract(ff_path("missing.rtf"), 0, &r, &e), DOSSIER_ENOTFOUND);
	/* 100,000 nested groups, unbalanced braces, a cut \'h and \u: no crash, text kept */
	struct buf b;
	buf_init(&b, 0);
	buf_appends(&b, "{\\rtf1 start ");
	for (int i = 0; i < 100000; i++)
		buf_appendc(&b, '{');
	buf_appends(&b, "deep");
	for (int i = 0; i < 100000; i++)
		buf_appendc(&b, '}');
	buf_appends(&b, " end}}}} \\'4");
	double t0 = clock_mono_s();
	assert_int_equal(rtf_extract_mem(b.data, b.len, 0, &r, &e), 0);
	assert_true(clock_mono_s() - t0 < 20); /* a hang guard, not a speed test */
	assert_non_null(strstr(ff_str(r, "text"), "start"));
	assert_non_null(strstr(ff_str(r, "text"), "end"));
	json_decref(r);
	buf_free(&b);
	/* the text cap */
	buf_init(&b, 0);
	buf_appends(&b, "{\\rtf1 ");
	for (int i = 0; i < 10000; i++)
		buf_appends(&b, "word \\'e9 ");
	buf_appendc(&b, '}');
	assert_int_equal(rtf_extract_mem(b.data, b.len, 1000, &r, &e), 0);
	assert_true(strlen(ff_str(r, "text")) <= 1000);
	assert_true(json_is_true(json_object_get(r, "truncated")));
	json_decref(r);
	buf_free(&b);
}

static int setup(void **s)
{
	(void)s;
	return ff_make("rtf table");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_memo_text_and_info),
		cmocka_unit_test(test_code_pages),
		cmocka_unit_test(test_unicode_and_uc),
		cmocka_unit_test(test_ignorable_destinations_and_escapes),
		cmocka_unit_test(test_not_rtf_and_hostile),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
