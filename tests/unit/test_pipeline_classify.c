/* test_pipeline_classify.c — classification by content with the text fast
 * path: clean UTF-8 under a text name is text without libmagic, and anything
 * the fast path doubts (a binary named .txt, Latin-1, JSON or HTML under a
 * text name, an empty file) comes out as libmagic names it. */
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
#include "pipeline/pipeline.h"

static char dir[512];

static const char *put(const char *name, const void *data, size_t n)
{
	static char path[700];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
	return path;
}

static void check(classifier *c, const char *name, const void *data, size_t n, const char *kind, const char *mime,
                  const char *format)
{
	struct file_type ft;
	struct err e = {0};
	const char *p = put(name, data, n);
	assert_int_equal(classify_file(c, p, &ft, &e), 0);
	assert_string_equal(ft.kind, kind);
	assert_string_equal(ft.mime, mime);
	if (format)
		assert_string_equal(ft.format, format);
	unlink(p);
}

#define S(x) x, sizeof x - 1

static void text_is_decided_by_content_fast_or_by_libmagic(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/classify-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	char cmd[600];
	snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
	assert_int_equal(system(cmd), 0);
	classifier *c;
	struct err e = {0};
	assert_int_equal(classifier_new(&c, &e), 0);

	check(c, "note.md", S("# Title\n\nNa\xc3\xafve caf\xc3\xa9 \xe2\x80\x93 a note.\n"), "text", "text/markdown", "markdown");
	check(c, "plain.txt", S("Just some words.\r\n"), "text", "text/plain", "plain");
	check(c, "page.html", S("<!DOCTYPE html><html><body><p>x</p></body></html>"), "text", "text/html", "html");
	/* a binary named .txt: libmagic decides, and it is not text by content */
	static const unsigned char bin[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0x3e, 0};
	struct file_type ft;
	const char *p = put("fake.txt", bin, sizeof bin);
	assert_int_equal(classify_file(c, p, &ft, &e), 0);
	assert_true(strncmp(ft.mime, "text/", 5) != 0);
	unlink(p);
	/* Latin-1, JSON and an empty file: as libmagic says */
	check(c, "latin.txt", S("caf\xe9 cr\xe8me br\xfb" "l\xe9" "e, a dessert of some renown in the region.\n"), "text",
	      "text/plain", NULL);
	check(c, "data.txt", S("{\"a\": 1, \"b\": [1, 2, 3]}\n"), "text", "application/json", NULL);
	check(c, "empty.txt", "", 0, "text", "inode/x-empty", NULL);
	classifier_free(c);
	snprintf(cmd, sizeof cmd, "rmdir '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_is_decided_by_content_fast_or_by_libmagic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
