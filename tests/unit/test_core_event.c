/* test_core_event.c — the event bus: seq order, fields, fan-out, a slow
 * subscriber dropped without blocking the publisher, reserved events
 * delivered in seq order whatever the publish order; SHA-256 and sizes. */
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
#include "core/event.h"
#include "core/util.h"

static void events_carry_seq_time_name_document_and_fields(void **state)
{
	bus *b;
	bus_sub *s;
	assert_int_equal(bus_new(41, &b), 0);
	assert_int_equal(bus_subscribe(b, 16, &s), 0);
	assert_int_equal(bus_emit(b, "document_queued", 7, json_pack("{s:s}", "path", "/a.txt")), 41);
	assert_int_equal(bus_emit(b, "memory", 0, NULL), 42);
	struct event *ev;
	assert_int_equal(bus_sub_next(s, 100, &ev), 0);
	json_t *o = json_loads(ev->line, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(o, "seq")), 41);
	assert_string_equal(json_string_value(json_object_get(o, "event")), "document_queued");
	assert_int_equal(json_integer_value(json_object_get(o, "document")), 7);
	assert_string_equal(json_string_value(json_object_get(o, "path")), "/a.txt");
	const char *t = json_string_value(json_object_get(o, "time"));
	assert_int_equal(strlen(t), 24); /* 2026-11-29T06:48:39.123Z */
	assert_int_equal(t[23], 'Z');
	json_decref(o);
	event_release(ev);
	assert_int_equal(bus_sub_next(s, 100, &ev), 0);
	o = json_loads(ev->line, 0, NULL);
	assert_true(json_is_null(json_object_get(o, "document")));
	json_decref(o);
	event_release(ev);
	assert_int_equal(bus_sub_next(s, 0, &ev), DOSSIER_ETIMEOUT);
	bus_unsubscribe(s);
	bus_free(b);
}

static void a_slow_subscriber_is_dropped_and_the_others_get_everything(void **state)
{
	bus *b;
	bus_sub *slow, *fast;
	bus_new(1, &b);
	bus_subscribe(b, 4, &slow);
	bus_subscribe(b, 1024, &fast);
	for (int i = 0; i < 100; i++) /* never blocks, though slow reads nothing */
		assert_true(bus_emit(b, "step_started", 1, NULL) > 0);
	assert_true(bus_sub_dropped(slow));
	assert_false(bus_sub_dropped(fast));
	struct event *ev;
	int got = 0;
	while (bus_sub_next(slow, 0, &ev) == 0) {
		got++;
		event_release(ev);
	}
	assert_int_equal(got, 4); /* what it had queued, then told it was dropped */
	assert_int_equal(bus_sub_next(slow, 0, &ev), DOSSIER_ECANCELLED);
	uint64_t last = 0;
	got = 0;
	while (bus_sub_next(fast, 0, &ev) == 0) {
		assert_true(ev->seq > last);
		last = ev->seq;
		got++;
		event_release(ev);
	}
	assert_int_equal(got, 100);
	bus_unsubscribe(slow);
	bus_unsubscribe(fast);
	bus_free(b);
}

static void closing_the_bus_wakes_a_waiting_reader(void **state)
{
	bus *b;
	bus_sub *s;
	bus_new(1, &b);
	bus_subscribe(b, 8, &s);
	bus_emit(b, "x", 0, NULL);
	bus_close(b);
	struct event *ev;
	assert_int_equal(bus_sub_next(s, -1, &ev), 0); /* drains first */
	event_release(ev);
	assert_int_equal(bus_sub_next(s, -1, &ev), DOSSIER_ECANCELLED);
	bus_unsubscribe(s);
	bus_free(b);
}

/* Reads every queued event's seq into out; returns how many. */
static int drain(bus_sub *s, uint64_t *out, int cap)
{
	struct event *ev;
	int n = 0;
	while (n < cap && bus_sub_next(s, 0, &ev) == 0) {
		out[n++] = ev->seq;
		event_release(ev);
	}
	return n;
}

static void reserved_events_are_delivered_in_seq_order_whatever_the_publish_order(void **state)
{
	bus *b;
	bus_sub *s;
	uint64_t got[8];
	bus_new(1, &b);
	bus_subscribe(b, 16, &s);
	struct event *e1, *e2, *e3;
	assert_int_equal(bus_event_new(b, "step_finished", 1, NULL, &e1), 0);
	assert_int_equal(bus_event_new(b, "step_finished", 2, json_pack("{s:b}", "ok", 1), &e2), 0);
	assert_int_equal(e1->seq, 1);
	assert_int_equal(e2->seq, 2);
	assert_non_null(strstr(e2->line, "\"ok\":true")); /* the line is built at reservation, for the store */
	assert_int_equal(bus_emit(b, "memory", 0, NULL), 3); /* a plain emit behind the reserved ones */
	assert_int_equal(bus_event_new(b, "document_done", 1, NULL, &e3), 0);
	bus_event_publish(b, e2);
	assert_int_equal(drain(s, got, 8), 0); /* 1 is still reserved: 2 and 3 are held */
	assert_int_equal(bus_last_seq(b), 0);    /* nothing delivered yet */
	bus_event_cancel(b, e1);
	assert_int_equal(drain(s, got, 8), 2); /* 1 cancelled: 2 and 3 go, 4 is reserved */
	assert_int_equal(got[0], 2);
	assert_int_equal(got[1], 3);
	assert_int_equal(bus_last_seq(b), 3);
	assert_int_equal(bus_emit(b, "memory", 0, NULL), 5);
	assert_int_equal(drain(s, got, 8), 0);
	bus_event_publish(b, e3);
	assert_int_equal(drain(s, got, 8), 2);
	assert_int_equal(got[0], 4);
	assert_int_equal(got[1], 5);
	assert_int_equal(bus_emit(b, "memory", 0, NULL), 6); /* nothing reserved: straight through */
	assert_int_equal(drain(s, got, 8), 1);
	assert_int_equal(got[0], 6);
	bus_unsubscribe(s);
	bus_free(b);
}

static void a_reservation_never_settled_is_freed_with_the_bus(void **state)
{
	bus *b;
	struct event *ev;
	bus_new(1, &b);
	assert_int_equal(bus_event_new(b, "x", 0, NULL, &ev), 0);
	event_release(ev); /* the caller's reference; the bus frees its own (ASan checks) */
	bus_free(b);
}

static void sha256_matches_known_digests(void **state)
{
	struct sha256 h;
	char hex[65];
	sha256_init(&h);
	sha256_final_hex(&h, hex);
	assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sha256_init(&h);
	sha256_update(&h, "abc", 3);
	sha256_final_hex(&h, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	/* 1,000,000 x 'a', fed in odd-sized pieces */
	char block[997];
	memset(block, 'a', sizeof block);
	sha256_init(&h);
	size_t left = 1000000;
	while (left) {
		size_t n = left < sizeof block ? left : sizeof block;
		sha256_update(&h, block, n);
		left -= n;
	}
	sha256_final_hex(&h, hex);
	assert_string_equal(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* A file's digest equals the streamed one; a missing file is an error that
 * names it; an abandoned hash can be released (and released twice). */
static void sha256_file_hashes_the_bytes_and_names_a_missing_file(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char path[4096];
	snprintf(path, sizeof path, "%s/sha-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	/* 200,000 x 'a' crosses the 64 KiB read block three times */
	static char big[200000];
	memset(big, 'a', sizeof big);
	assert_int_equal(write(fd, big, sizeof big), (ssize_t)sizeof big);
	close(fd);
	char hex[65], want[65];
	struct err e = {0};
	assert_int_equal(sha256_file(path, hex, &e), 0);
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, big, sizeof big);
	sha256_final_hex(&h, want);
	assert_string_equal(hex, want);
	assert_int_equal(strlen(hex), 64);
	unlink(path);
	assert_int_not_equal(sha256_file(path, hex, &e), 0);
	assert_non_null(strstr(e.msg, path));
	assert_int_equal(sha256_file(path, hex, NULL), DOSSIER_EIO);

	sha256_init(&h);
	sha256_update(&h, "abandoned", 9);
	sha256_clear(&h);
	sha256_clear(&h);
	sha256_clear(NULL);
	struct sha256 zero = {0};
	sha256_clear(&zero);
	/* the struct is usable again after a clear */
	sha256_init(&h);
	sha256_update(&h, "abc", 3);
	sha256_final_hex(&h, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void sizes_parse_like_free_and_ollama(void **state)
{
	uint64_t v;
	assert_int_equal(size_parse("16G", &v), 0);
	assert_true(v == 16ull << 30);
	assert_int_equal(size_parse("6.5GB", &v), 0);
	assert_true(v == 6500000000ull);
	assert_int_equal(size_parse("512MiB", &v), 0);
	assert_true(v == 512ull << 20);
	assert_int_equal(size_parse("1000", &v), 0);
	assert_true(v == 1000);
	assert_int_equal(size_parse("12 parsecs", &v), DOSSIER_EINVAL);
	assert_int_equal(size_parse("-1G", &v), DOSSIER_EINVAL);
	assert_int_equal(size_parse("", &v), DOSSIER_EINVAL);
	/* found by fuzz_config: a size past 2^64 bytes was cast to an integer
	 * (undefined behaviour) instead of refused */
	v = 7;
	assert_int_equal(size_parse("56666666666666666666666666666", &v), DOSSIER_ETOOBIG);
	assert_int_equal(size_parse("16777216T", &v), DOSSIER_ETOOBIG);
	assert_true(v == 7);
	assert_int_equal(size_parse("16777215T", &v), 0);
	char out[32];
	size_format(5000000000ull, out, sizeof out);
	assert_string_equal(out, "5.0 GB");
}

static void utf8_validation_rejects_overlongs_and_surrogates(void **state)
{
	assert_true(utf8_valid("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", 14));
	assert_false(utf8_valid("caf\xe9", 4));             /* Latin-1 */
	assert_false(utf8_valid("\xc0\xaf", 2));             /* overlong '/' */
	assert_false(utf8_valid("\xed\xa0\x80", 3));         /* surrogate */
	assert_false(utf8_valid("\xe2\x82", 2));             /* truncated */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(events_carry_seq_time_name_document_and_fields),
		cmocka_unit_test(a_slow_subscriber_is_dropped_and_the_others_get_everything),
		cmocka_unit_test(closing_the_bus_wakes_a_waiting_reader),
		cmocka_unit_test(reserved_events_are_delivered_in_seq_order_whatever_the_publish_order),
		cmocka_unit_test(a_reservation_never_settled_is_freed_with_the_bus),
		cmocka_unit_test(sha256_matches_known_digests),
		cmocka_unit_test(sha256_file_hashes_the_bytes_and_names_a_missing_file),
		cmocka_unit_test(sizes_parse_like_free_and_ollama),
		cmocka_unit_test(utf8_validation_rejects_overlongs_and_surrogates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
