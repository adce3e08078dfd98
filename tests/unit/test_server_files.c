/* test_server_files.c — what /file and uploads decide from a client's text:
 * the Range header (which bytes, or 416), the stored upload name (no path,
 * valid UTF-8, no control characters, capped) and Content-Disposition. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"
#include "server/internal.h"

static void range_case(const char *h, uint64_t size, int want, uint64_t first, uint64_t last)
{
	uint64_t a = 777, b = 777;
	int rc = files_parse_range(h, size, &a, &b);
	if (rc != want)
		print_error("Range '%s' on %llu bytes: got %d, want %d\n", h ? h : "(none)", (unsigned long long)size, rc,
		            want);
	assert_int_equal(rc, want);
	if (want == 1) {
		assert_int_equal(a, first);
		assert_int_equal(b, last);
	}
}

static void test_ranges(void **state)
{
	(void)state;
	range_case(NULL, 100, 0, 0, 0);
	range_case("bytes=0-9", 100, 1, 0, 9);
	range_case("bytes=10-29", 100, 1, 10, 29);
	range_case("bytes=90-", 100, 1, 90, 99);
	range_case("bytes=90-500", 100, 1, 90, 99);    /* past the end: clamped */
	range_case("bytes=-7", 100, 1, 93, 99);        /* the last 7 */
	range_case("bytes=-500", 100, 1, 0, 99);       /* more than there is: all */
	range_case("bytes=99-99", 100, 1, 99, 99);
	range_case("BYTES=1-2", 100, 1, 1, 2);
	range_case("bytes=100-", 100, -1, 0, 0);       /* starts past the end */
	range_case("bytes=9-3", 100, -1, 0, 0);        /* backwards */
	range_case("bytes=-0", 100, -1, 0, 0);
	range_case("bytes=abc", 100, -1, 0, 0);
	range_case("bytes=5", 100, -1, 0, 0);
	range_case("bytes=+5-9", 100, -1, 0, 0);
	range_case("bytes=5-+9", 100, -1, 0, 0);
	range_case("bytes=5--3", 100, -1, 0, 0);
	range_case("bytes=99999999999999999999999-", 100, -1, 0, 0);
	range_case("bytes=0-0", 0, -1, 0, 0);          /* nothing in an empty file */
	range_case("bytes=0-1,4-5", 100, 0, 0, 0);     /* several: the whole file */
	range_case("items=0-1", 100, 0, 0, 0);         /* another unit: ignored */
}

static void name_case(const char *in, const char *want)
{
	char out[256];
	upload_display_name(in, out, sizeof out);
	assert_string_equal(out, want);
}

static void test_names(void **state)
{
	(void)state;
	name_case("report.pdf", "report.pdf");
	name_case("../../etc/passwd", "passwd");
	name_case("C:\\Users\\ann\\Scan 12.png", "Scan 12.png");
	name_case("dir/", "");
	name_case("..", "");
	name_case("a/.", "");
	name_case("  spaced name.txt  ", "spaced name.txt");
	name_case("he\x01llo\x7f.txt", "hello.txt");
	name_case("bad\xff\xfe.txt", "bad.txt");
	name_case("\xc2\x85next\xe2\x80\xa8line.txt", "nextline.txt"); /* NEL, LINE SEPARATOR */
	name_case("Gr\xc3\xbc\xc3\x9f" "e.txt", "Gr\xc3\xbc\xc3\x9f" "e.txt");
	name_case("", "");

	/* a long name: capped between whole characters, still valid UTF-8 */
	char longname[1200] = "";
	for (int i = 0; i < 300; i++)
		strcat(longname, "\xc3\xa9"); /* é, two bytes */
	char out[256];
	upload_display_name(longname, out, sizeof out);
	assert_true(strlen(out) <= 255);
	assert_true(strlen(out) >= 250);
	assert_int_equal(strlen(out) % 2, 0);
	assert_true(utf8_valid(out, strlen(out)));

	/* a small buffer never overflows */
	char tiny[4];
	upload_display_name("abcdef", tiny, sizeof tiny);
	assert_string_equal(tiny, "abc");
}

static void test_disposition(void **state)
{
	(void)state;
	char out[1600];
	files_disposition("inline", "River article (draft).txt", "", out, sizeof out);
	assert_string_equal(out, "inline; filename=\"River article (draft).txt\"; "
	                         "filename*=UTF-8''River%20article%20%28draft%29.txt");
	files_disposition("attachment", "say \"hi\"\\%.md", "", out, sizeof out);
	assert_non_null(strstr(out, "filename=\"say _hi___.md\""));
	files_disposition("attachment", "Gr\xc3\xbc\xc3\x9f" "e", ".vtt", out, sizeof out);
	assert_string_equal(out, "attachment; filename=\"Gr____e.vtt\"; filename*=UTF-8''Gr%C3%BC%C3%9Fe.vtt");
	files_disposition("attachment", "", ".md", out, sizeof out);
	assert_non_null(strstr(out, "filename=\"document.md\""));
	/* no CR or LF ever reaches the header */
	files_disposition("attachment", "a\r\nSet-Cookie: x", "", out, sizeof out);
	assert_null(strchr(out, '\r'));
	assert_null(strchr(out, '\n'));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_disposition),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
