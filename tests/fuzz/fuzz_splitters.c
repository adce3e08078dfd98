/*
 * fuzz_splitters.c — libFuzzer target for the stream splitters the engines
 * read with: NDJSON (src/backends/ndjson.c) and SSE (src/backends/sse.c). The
 * first byte picks the splitter and the chunk size the input is fed in; every
 * line or event handed to the callback must respect the caps, and the same
 * input fed whole or in pieces must give the same lines. Built and run by
 * tests/fuzz/run.sh.
 */
#include "backends/ndjson.h"
#include "backends/sse.h"
#include "core/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define LINE_CAP 256
#define DATA_CAP 1024

struct tally {
	size_t lines;
	uint64_t hash;   /* of everything delivered, in order */
};

static void mix(struct tally *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		t->hash = (t->hash ^ (unsigned char)s[i]) * 1099511628211ull;
	t->hash = (t->hash ^ 0xff) * 1099511628211ull;
	t->lines++;
}

static int on_line(void *user, const char *line, size_t len)
{
	if (len > LINE_CAP || line[len] != '\0')
		abort();
	mix(user, line, len);
	return 0;
}

static int on_event(void *user, const struct sse_event *ev)
{
	if (ev->len > DATA_CAP || (ev->data && ev->data[ev->len] != '\0'))
		abort();
	mix(user, ev->data ? ev->data : "", ev->len);
	if (ev->event)
		mix(user, ev->event, strlen(ev->event));
	return 0;
}

static int run_ndjson(const char *d, size_t n, size_t chunk, struct tally *t)
{
	struct ndjson nd;
	ndjson_init(&nd, LINE_CAP, on_line, t);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i += chunk)
		rc = ndjson_feed(&nd, d + i, n - i < chunk ? n - i : chunk);
	if (!rc)
		rc = ndjson_finish(&nd);
	ndjson_free(&nd);
	return rc;
}

static int run_sse(const char *d, size_t n, size_t chunk, struct tally *t)
{
	struct sse s;
	sse_init(&s, LINE_CAP, DATA_CAP, on_event, t);
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i += chunk)
		rc = sse_feed(&s, d + i, n - i < chunk ? n - i : chunk);
	if (!rc)
		rc = sse_finish(&s);
	sse_free(&s);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	int sse = data[0] & 1;
	size_t chunk = 1 + (data[0] >> 1);
	const char *d = (const char *)data + 1;
	size_t n = size - 1;
	struct tally whole = {0, 1469598103934665603ull}, pieces = whole;
	int rc1 = sse ? run_sse(d, n, n ? n : 1, &whole) : run_ndjson(d, n, n ? n : 1, &whole);
	int rc2 = sse ? run_sse(d, n, chunk, &pieces) : run_ndjson(d, n, chunk, &pieces);
	/* where a stream is cut must not change what it says */
	if (rc1 != rc2 || (rc1 == 0 && (whole.lines != pieces.lines || whole.hash != pieces.hash)))
		abort();
	return 0;
}
