/* The SSE splitter: the same events whatever the chunking (every split point,
 * byte by byte), CRLF and bare CR line ends, multi-line data joined with "\n",
 * comments and unknown fields ignored, event names, [DONE], the caps, a
 * callback error stopping the stream, an unfinished event dropped at the end. */
#include "backends/sse.h"
#include "core/err.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

struct seen {
	char event[16][32];
	char data[16][128];
	int done[16];
	int n;
	int fail_at; /* 1-based event that makes the callback fail; 0 = never */
};

static int on_event(void *ud, const struct sse_event *ev)
{
	struct seen *s = ud;
	assert_int_equal(strlen(ev->data), ev->len);
	assert_true(s->n < 16);
	snprintf(s->event[s->n], sizeof s->event[0], "%s", ev->event);
	snprintf(s->data[s->n], sizeof s->data[0], "%s", ev->data);
	s->done[s->n] = ev->done;
	s->n++;
	return s->fail_at && s->n == s->fail_at ? DOSSIER_EAGAIN : 0;
}

static const char *stream =
	": keep-alive comment\n"
	"data: {\"a\":1}\n"
	"\n"
	"event: delta\r\n"
	"id: 7\r\n"
	"data: line one\r\n"
	"data:line two\r\n"
	"retry: 100\r\n"
	"\r\n"
	"data: bare cr\r"
	"\r"
	"unknown: x\n"
	"event: lonely\n"
	"\n"
	"data: [DONE]\n"
	"\n";

static void check_stream(const struct seen *s)
{
	assert_int_equal(s->n, 4);
	assert_string_equal(s->event[0], "message");
	assert_string_equal(s->data[0], "{\"a\":1}");
	assert_string_equal(s->event[1], "delta");
	assert_string_equal(s->data[1], "line one\nline two");
	assert_string_equal(s->event[2], "message");
	assert_string_equal(s->data[2], "bare cr");
	/* "event: lonely" without data is not delivered, and its name does not leak */
	assert_string_equal(s->event[3], "message");
	assert_string_equal(s->data[3], "[DONE]");
	assert_false(s->done[0] || s->done[1] || s->done[2]);
	assert_true(s->done[3]);
}

static void test_every_split_point_gives_the_same_events(void **st)
{
	size_t len = strlen(stream);
	for (size_t cut = 0; cut <= len; cut++) {
		struct seen s = {0};
		struct sse p;
		sse_init(&p, 1024, 1024, on_event, &s);
		assert_int_equal(sse_feed(&p, stream, cut), 0);
		assert_int_equal(sse_feed(&p, stream + cut, len - cut), 0);
		assert_int_equal(sse_finish(&p), 0);
		sse_free(&p);
		check_stream(&s);
	}
}

static void test_byte_by_byte_gives_the_same_events(void **st)
{
	struct seen s = {0};
	struct sse p;
	sse_init(&p, 1024, 1024, on_event, &s);
	for (size_t i = 0; stream[i]; i++)
		assert_int_equal(sse_feed(&p, stream + i, 1), 0);
	assert_int_equal(sse_finish(&p), 0);
	sse_free(&p);
	check_stream(&s);
}

static void test_unfinished_event_is_dropped_at_the_end(void **st)
{
	struct seen s = {0};
	struct sse p;
	sse_init(&p, 1024, 1024, on_event, &s);
	const char *cut = "data: whole\n\ndata: half";
	assert_int_equal(sse_feed(&p, cut, strlen(cut)), 0);
	assert_int_equal(sse_finish(&p), 0);
	sse_free(&p);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.data[0], "whole");
}

static void test_line_over_cap_is_toobig_and_sticky(void **st)
{
	struct seen s = {0};
	struct sse p;
	char big[100];
	memset(big, 'x', sizeof big);
	sse_init(&p, 64, 1024, on_event, &s);
	assert_int_equal(sse_feed(&p, "data: ok\n\n", 10), 0);
	assert_int_equal(sse_feed(&p, big, 60), 0);
	assert_int_equal(sse_feed(&p, big, 60), DOSSIER_ETOOBIG);
	assert_int_equal(sse_feed(&p, "\n\n", 2), DOSSIER_ETOOBIG);
	assert_int_equal(sse_finish(&p), DOSSIER_ETOOBIG);
	sse_free(&p);
	assert_int_equal(s.n, 1);
}

static void test_line_exactly_at_cap_passes(void **st)
{
	struct seen s = {0};
	struct sse p;
	char line[65];
	memcpy(line, "data: ", 6);
	memset(line + 6, 'y', 58);
	line[64] = '\n';
	sse_init(&p, 64, 1024, on_event, &s);
	assert_int_equal(sse_feed(&p, line, sizeof line), 0);
	assert_int_equal(sse_feed(&p, "\n", 1), 0);
	sse_free(&p);
	assert_int_equal(s.n, 1);
	assert_int_equal(strlen(s.data[0]), 58);
}

static void test_event_data_over_cap_is_toobig(void **st)
{
	struct seen s = {0};
	struct sse p;
	sse_init(&p, 1024, 32, on_event, &s);
	/* each line fits, their sum does not */
	assert_int_equal(sse_feed(&p, "data: 0123456789\n", 17), 0);
	assert_int_equal(sse_feed(&p, "data: 0123456789\n", 17), 0);
	assert_int_equal(sse_feed(&p, "data: 0123456789\n", 17), DOSSIER_ETOOBIG);
	sse_free(&p);
	assert_int_equal(s.n, 0);
}

static void test_callback_error_stops_the_stream(void **st)
{
	struct seen s = {.fail_at = 1};
	struct sse p;
	sse_init(&p, 1024, 1024, on_event, &s);
	const char *two = "data: a\n\ndata: b\n\n";
	assert_int_equal(sse_feed(&p, two, strlen(two)), DOSSIER_EAGAIN);
	assert_int_equal(sse_feed(&p, two, strlen(two)), DOSSIER_EAGAIN);
	sse_free(&p);
	assert_int_equal(s.n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_split_point_gives_the_same_events),
		cmocka_unit_test(test_byte_by_byte_gives_the_same_events),
		cmocka_unit_test(test_unfinished_event_is_dropped_at_the_end),
		cmocka_unit_test(test_line_over_cap_is_toobig_and_sticky),
		cmocka_unit_test(test_line_exactly_at_cap_passes),
		cmocka_unit_test(test_event_data_over_cap_is_toobig),
		cmocka_unit_test(test_callback_error_stops_the_stream),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
