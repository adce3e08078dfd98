/*
 * ndjson.h — an incremental NDJSON line splitter for streamed HTTP bodies.
 *
 * Bytes arrive in arbitrary chunks (curl write callbacks); every complete line
 * is handed to a callback without its "\n" (and without a trailing "\r").
 * Blank lines are skipped. A final line without "\n" is delivered by
 * ndjson_finish, because Ollama ends non-streaming replies and error bodies
 * without a newline.
 *
 *   struct ndjson nd;
 *   ndjson_init(&nd, CAP_NDJSON_LINE, on_line, &state);
 *   while (chunk) if ((rc = ndjson_feed(&nd, data, n)) != 0) break;
 *   if (!rc) rc = ndjson_finish(&nd);
 *   ndjson_free(&nd);
 *
 * Not thread safe (one splitter per stream).
 */
#ifndef DOSSIER_BACKENDS_NDJSON_H
#define DOSSIER_BACKENDS_NDJSON_H

#include "core/buf.h"

#include <stddef.h>

/* Called once per line. `line` is NUL-terminated and borrowed: valid only during
 * the call. Return 0 to go on, or a DOSSIER_E* code to stop the stream (that code
 * is then returned by ndjson_feed / ndjson_finish). */
typedef int (*ndjson_line_cb)(void *user_data, const char *line, size_t len);

struct ndjson {
	struct buf pending;     /* bytes of the line not yet ended by "\n" */
	ndjson_line_cb on_line; /* borrowed */
	void *user_data;        /* borrowed, passed to on_line */
	size_t lines;           /* lines delivered so far */
	int rc;                 /* sticky: the first non-zero code; later feeds return it */
};

/* line_cap: most bytes one line may have (CAP_NDJSON_LINE for Ollama). */
void ndjson_init(struct ndjson *nd, size_t line_cap, ndjson_line_cb on_line, void *user_data);
/* Splits n more bytes. Returns 0, DOSSIER_ETOOBIG if a line passes the cap,
 * DOSSIER_ENOMEM, or the callback's code. After a failure the splitter stays failed. */
int ndjson_feed(struct ndjson *nd, const char *data, size_t n);
/* Delivers a last line that had no "\n". Same return codes as ndjson_feed. */
int ndjson_finish(struct ndjson *nd);
/* Frees the pending bytes; the struct may be re-initialised. */
void ndjson_free(struct ndjson *nd);

#endif
