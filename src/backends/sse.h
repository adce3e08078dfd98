/*
 * sse.h — an incremental Server-Sent Events splitter for streamed HTTP bodies
 * (the text/event-stream of OpenAI-compatible servers), beside ndjson.h.
 *
 * Bytes arrive in arbitrary chunks; lines end with "\n", "\r\n" or "\r".
 * "data:" lines are gathered (several joined with "\n"), "event:" names the
 * event, lines starting with ":" are comments and ignored, "id:" and "retry:"
 * and unknown fields are ignored; a blank line ends the event and hands it to
 * the callback (an event without data is not delivered). One space after the
 * colon is dropped. The data "[DONE]" is flagged (OpenAI's end of stream).
 * An event still open when the stream ends is dropped, as the SSE standard says.
 *
 *   struct sse s;
 *   sse_init(&s, CAP_NDJSON_LINE, CAP_NDJSON_LINE, on_event, &state);
 *   while (chunk) if ((rc = sse_feed(&s, data, n)) != 0) break;
 *   if (!rc) rc = sse_finish(&s);
 *   sse_free(&s);
 *
 * Not thread safe (one splitter per stream).
 */
#ifndef DOSSIER_BACKENDS_SSE_H
#define DOSSIER_BACKENDS_SSE_H

#include "core/buf.h"

#include <stddef.h>

struct sse_event {
	const char *event;  /* borrowed: the "event:" name, "message" when none was given */
	const char *data;   /* borrowed: NUL-terminated, the data lines joined with "\n" */
	size_t len;         /* bytes of data */
	int done;           /* 1 if data is exactly "[DONE]" */
};

/* Called once per event; ev and its strings are valid during the call only.
 * Return 0 to go on, or a DOSSIER_E* code to stop (then returned by sse_feed). */
typedef int (*sse_event_cb)(void *user_data, const struct sse_event *ev);

struct sse {
	struct buf line;       /* the line not yet ended */
	struct buf data;       /* the event's data so far */
	char event[64];        /* the event's name so far ("" = message) */
	int after_cr;          /* 1 if the last byte was "\r" (a following "\n" belongs to it) */
	sse_event_cb on_event; /* borrowed */
	void *user_data;       /* passed to on_event */
	size_t events;         /* events delivered so far */
	int rc;                /* sticky: the first non-zero code */
};

/* line_cap: most bytes of one line; data_cap: most bytes of one event's data. */
void sse_init(struct sse *s, size_t line_cap, size_t data_cap, sse_event_cb on_event, void *user_data);
/* Splits n more bytes. Returns 0, DOSSIER_ETOOBIG (a line or an event passed its
 * cap), DOSSIER_ENOMEM, or the callback's code. After a failure it stays failed. */
int sse_feed(struct sse *s, const char *data, size_t n);
/* The stream ended: drops an unfinished event. Returns the sticky code or 0. */
int sse_finish(struct sse *s);
void sse_free(struct sse *s);  /* frees the buffers; the struct may be re-initialised */

#endif
