/*
 * fuzz_multipart.c — libFuzzer target for the upload form reader the HTTP
 * server uses (src/server/multipart.c). The first byte picks the chunk size,
 * the next line is the Content-Type (boundary), the rest is the body. Fed
 * whole or in chunks, the reader must give the same parts, the same bytes and
 * the same verdict, and every error must have a message. Built and run by
 * tests/fuzz/run.sh.
 */
#include "server/multipart.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct tally {
	size_t parts, bytes;
	uint64_t hash;
};

static void mix(struct tally *t, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		t->hash = (t->hash ^ (unsigned char)s[i]) * 1099511628211ull;
}

static int on_part(void *user, const char *name, const char *filename)
{
	struct tally *t = user;
	t->parts++;
	if (!name)
		abort();
	mix(t, name, strlen(name) + 1);
	if (filename)
		mix(t, filename, strlen(filename) + 1);
	return 0;
}

static int on_data(void *user, const char *bytes, size_t n)
{
	struct tally *t = user;
	t->bytes += n;
	mix(t, bytes, n);
	return 0;
}

static int run(const char *ct, const char *body, size_t n, size_t chunk, struct tally *t)
{
	static const struct mp_callbacks cb = {.part = on_part, .data = on_data};
	mp *m = NULL;
	if (mp_new(ct, &cb, t, &m))
		return -1;
	int rc = MP_OK;
	for (size_t i = 0; i < n && rc == MP_OK; i += chunk)
		rc = mp_feed(m, body + i, n - i < chunk ? n - i : chunk);
	int end = mp_end(m);
	if (rc == MP_OK)
		rc = end;
	mp_free(m);
	if (rc != MP_OK && !mp_message(rc))
		abort();
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	size_t chunk = 1 + data[0];
	const char *rest = (const char *)data + 1;
	const char *nl = memchr(rest, '\n', size - 1);
	if (!nl)
		return 0;
	size_t ctlen = (size_t)(nl - rest);
	char *ct = malloc(ctlen + 1);
	memcpy(ct, rest, ctlen);
	ct[ctlen] = '\0';
	const char *body = nl + 1;
	size_t n = size - 1 - ctlen - 1;
	struct tally whole = {0, 0, 1469598103934665603ull}, pieces = whole;
	int r1 = run(ct, body, n, n ? n : 1, &whole);
	int r2 = run(ct, body, n, chunk, &pieces);
	free(ct);
	if (r1 != r2 || whole.parts != pieces.parts || whole.bytes != pieces.bytes || whole.hash != pieces.hash)
		abort();
	return 0;
}
