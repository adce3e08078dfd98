/*
 * buf.h — a growable byte buffer with a cap chosen by its owner.
 *
 *   struct buf b;
 *   buf_init(&b, CAP_NDJSON_LINE);
 *   if (buf_append(&b, data, n) == DOSSIER_ETOOBIG) ...;
 *   char *s = buf_take(&b);   // caller frees s with free(); b is empty again
 *   buf_free(&b);
 *
 * The contents are always NUL-terminated (the terminator is not counted in len).
 * Not thread safe.
 */
#ifndef DOSSIER_CORE_BUF_H
#define DOSSIER_CORE_BUF_H

#include <stddef.h>

/* The caps for every growable buffer in dossier, named in one place (bytes). */
#define CAP_NDJSON_LINE   (8u * 1000u * 1000u)   /* one Ollama reply line (as Ollama's Go client) */
#define CAP_LLM_REPLY     (4u * 1024u * 1024u)   /* text accumulated from one LLM reply */
#define CAP_TEXT          (16u * 1024u * 1024u)  /* extracted text of one document */
#define CAP_TRANSCRIPT    (8u * 1024u * 1024u)   /* one transcript */
#define CAP_OCR_TEXT      (4u * 1024u * 1024u)   /* OCR text of one image or page */
#define CAP_ASR_REPLY     (64u * 1024u * 1024u)  /* one transcription server reply (verbose_json with tokens) */
#define CAP_REQUEST_BODY  (64u * 1024u * 1024u)  /* one HTTP request we send (images base64) */
#define CAP_API_BODY      (1u * 1024u * 1024u)   /* one JSON body our API accepts */
#define CAP_EVENT_LINE    (64u * 1024u)          /* one serialised event */

struct buf {
	char *data;   /* NUL-terminated contents; NULL until the first append */
	size_t len;   /* bytes used, excluding the terminator */
	size_t size;  /* bytes allocated */
	size_t cap;   /* most bytes len may reach; 0 = unlimited */
};

void buf_init(struct buf *b, size_t cap);
/* Appends n bytes. DOSSIER_ETOOBIG (buffer unchanged) past the cap, DOSSIER_ENOMEM. */
int buf_append(struct buf *b, const void *data, size_t n);
int buf_appends(struct buf *b, const char *s);
int buf_appendf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int buf_appendc(struct buf *b, char c);
/* Drops the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
void buf_reset(struct buf *b);
/* Returns the contents (caller frees with free(); "" if empty) and empties b. */
char *buf_take(struct buf *b);
/* Frees the contents; b may be reused after buf_init. */
void buf_free(struct buf *b);

#endif
