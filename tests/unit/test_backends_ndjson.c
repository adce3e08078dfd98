/* The NDJSON splitter: lines across chunk borders, a final line without "\n",
 * the per-line cap, and callback errors stopping the stream. */
#include "backends/ndjson.h"
#include "core/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

struct seen {
	char lines[16][64];
	int n;
	int fail_at; /* 1-based line that makes the callback fail; 0 = never */
};

static int on_line(void *ud, const char *line, size_t len)
{
	struct seen *s = ud;
	assert_int_equal(strlen(line), len);
	snprintf(s->lines[s->n], sizeof s->lines[0], "%s", line);
	s->n++;
	return s->fail_at && s->n == s->fail_at ? DOSSIER_EAGAIN : 0;
}

static void test_lines_split_across_chunks(void **st)
{
	struct seen s = {0};
	struct ndjson nd;
	const char *whole = "{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}\n";
	ndjson_init(&nd, 1024, on_line, &s);
	/* one byte at a time: the worst chunking curl could produce */
	for (size_t i = 0; whole[i]; i++)
		assert_int_equal(ndjson_feed(&nd, whole + i, 1), 0);
	assert_int_equal(ndjson_finish(&nd), 0);
	ndjson_free(&nd);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.lines[0], "{\"a\":1}");
	assert_string_equal(s.lines[1], "{\"b\":2}");
	assert_string_equal(s.lines[2], "{\"c\":3}");
}

static void test_every_split_point_gives_the_same_lines(void **st)
{
	const char *whole = "{\"a\":1}\r\n \n{\"b\":2}\n{\"c\":3}";
	size_t len = strlen(whole);
	for (size_t cut = 0; cut <= len; cut++) {
		struct seen s = {0};
		struct ndjson nd;
		ndjson_init(&nd, 1024, on_line, &s);
		assert_int_equal(ndjson_feed(&nd, whole, cut), 0);
		assert_int_equal(ndjson_feed(&nd, whole + cut, len - cut), 0);
		assert_int_equal(ndjson_finish(&nd), 0);
		ndjson_free(&nd);
		assert_int_equal(s.n, 3);
		assert_string_equal(s.lines[0], "{\"a\":1}"); /* CRLF: no "\r" left */
		assert_string_equal(s.lines[1], "{\"b\":2}"); /* the blank line was skipped */
		assert_string_equal(s.lines[2], "{\"c\":3}");
	}
}

static void test_final_line_without_newline_is_delivered(void **st)
{
	struct seen s = {0};
	struct ndjson nd;
	ndjson_init(&nd, 1024, on_line, &s);
	const char *body = "{\"x\":1}\n{\"error\":\"boom\"}";
	assert_int_equal(ndjson_feed(&nd, body, strlen(body)), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(ndjson_finish(&nd), 0);
	ndjson_free(&nd);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.lines[1], "{\"error\":\"boom\"}");
}

static void test_line_over_cap_is_toobig(void **st)
{
	struct seen s = {0};
	struct ndjson nd;
	char big[100];
	memset(big, 'x', sizeof big);
	ndjson_init(&nd, 64, on_line, &s);
	assert_int_equal(ndjson_feed(&nd, "ok\n", 3), 0);
	assert_int_equal(ndjson_feed(&nd, big, 50), 0);
	assert_int_equal(ndjson_feed(&nd, big, 50), DOSSIER_ETOOBIG);
	/* sticky: the stream stays failed */
	assert_int_equal(ndjson_feed(&nd, "\n", 1), DOSSIER_ETOOBIG);
	assert_int_equal(ndjson_finish(&nd), DOSSIER_ETOOBIG);
	ndjson_free(&nd);
	assert_int_equal(s.n, 1);
}

static void test_line_exactly_at_cap_passes(void **st)
{
	struct seen s = {0};
	struct ndjson nd;
	char line[65];
	memset(line, 'y', 64);
	line[64] = '\n';
	ndjson_init(&nd, 64, on_line, &s);
	assert_int_equal(ndjson_feed(&nd, line, sizeof line), 0);
	ndjson_free(&nd);
	assert_int_equal(s.n, 1);
}

static void test_callback_error_stops_stream(void **st)
{
	struct seen s = {.fail_at = 2};
	struct ndjson nd;
	ndjson_init(&nd, 1024, on_line, &s);
	assert_int_equal(ndjson_feed(&nd, "a\nb\nc\n", 6), DOSSIER_EAGAIN);
	ndjson_free(&nd);
	assert_int_equal(s.n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_split_across_chunks),
		cmocka_unit_test(test_every_split_point_gives_the_same_lines),
		cmocka_unit_test(test_final_line_without_newline_is_delivered),
		cmocka_unit_test(test_line_over_cap_is_toobig),
		cmocka_unit_test(test_line_exactly_at_cap_passes),
		cmocka_unit_test(test_callback_error_stops_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
