/*
 * embed_chunks.c — see embed_chunks.h.
 */
#include "pipeline/embed_chunks.h"
#include "pipeline/steps_internal.h"
#include "analyze/sentence.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

size_t embed_tokens(const char *s, size_t n)
{
	size_t words = 0;
	int in = 0;
	for (size_t i = 0; i < n; i++) {
		int sp = isspace((unsigned char)s[i]);
		if (!sp && !in)
			words++;
		in = !sp;
	}
	size_t a = (words * 13 + 9) / 10, b = (n + 3) / 4;
	return a > b ? a : b;
}

static int push(struct embed_chunks *ch, struct buf *b, const char *source, int page, double t0, double t1,
                size_t max_chunks, struct err *err)
{
	if (!b->len)
		return 0;
	if (ch->n >= max_chunks) {
		ch->truncated = 1;
		buf_free(b);
		return 0;
	}
	if (ch->n == ch->cap) {
		size_t cap = ch->cap ? ch->cap * 2 : 16;
		struct embed_chunk *c = realloc(ch->c, cap * sizeof *c);
		if (!c)
			return err_set(err, DOSSIER_ENOMEM, "out of memory chunking a text");
		ch->c = c;
		ch->cap = cap;
	}
	ch->c[ch->n++] = (struct embed_chunk){buf_take(b), source, page, t0, t1};
	return 0;
}

/* Appends piece (a sentence or its part) to b with a space. */
static int add(struct buf *b, const char *s, size_t n)
{
	if (b->len && buf_appends(b, " "))
		return DOSSIER_ENOMEM;
	return buf_append(b, s, n);
}

int embed_chunks_text(struct embed_chunks *ch, const char *text, size_t len, const char *source, int page,
                      size_t max_tokens, size_t max_chunks, struct err *err)
{
	struct sentence *s = NULL;
	size_t ns = 0;
	int rc = sentence_split(text, len, &s, &ns, err);
	if (rc)
		return rc;
	struct buf b;
	buf_init(&b, CAP_TEXT);
	size_t tok = 0;
	for (size_t i = 0; i < ns && !rc && !ch->truncated; i++) {
		char *t = sentence_text(text, &s[i]);
		if (!t) {
			rc = err_set(err, DOSSIER_ENOMEM, "out of memory chunking a text");
			break;
		}
		size_t tl = strlen(t), tt = embed_tokens(t, tl);
		if (tok && tok + tt > max_tokens) {
			rc = push(ch, &b, source, page, -1, -1, max_chunks, err);
			tok = 0;
		}
		if (!rc && tt > max_tokens) {
			/* one sentence longer than a chunk: by words */
			const char *p = t, *end = t + tl;
			while (!rc && p < end) {
				const char *q = p;
				size_t words = 0;
				while (q < end && words * 13 / 10 < max_tokens && (size_t)(q - p) / 4 < max_tokens) {
					while (q < end && *q != ' ')
						q++;
					while (q < end && *q == ' ')
						q++;
					words++;
				}
				rc = add(&b, p, (size_t)(q - p));
				if (!rc)
					rc = push(ch, &b, source, page, -1, -1, max_chunks, err);
				p = q;
			}
		} else if (!rc) {
			rc = add(&b, t, tl);
			tok += tt;
		}
		free(t);
	}
	if (!rc)
		rc = push(ch, &b, source, page, -1, -1, max_chunks, err);
	buf_free(&b);
	free(s);
	if (rc == DOSSIER_ENOMEM || rc == DOSSIER_ETOOBIG)
		return err_set(err, rc, "out of memory chunking a text");
	return rc;
}

/* A transcript's segments, whole, in chunks of at most max_tokens. */
static int chunk_segments(struct embed_chunks *ch, json_t *segs, size_t max_tokens, size_t max_chunks,
                          struct err *err)
{
	struct buf b;
	buf_init(&b, CAP_TEXT);
	size_t tok = 0, i;
	double t0 = -1, t1 = -1;
	json_t *sg;
	int rc = 0;
	json_array_foreach(segs, i, sg) {
		const char *t = json_string_value(json_object_get(sg, "text"));
		if (!t || !*t)
			continue;
		size_t tt = embed_tokens(t, strlen(t));
		if (tok && tok + tt > max_tokens) {
			if ((rc = push(ch, &b, "transcript", 0, t0, t1, max_chunks, err)))
				break;
			tok = 0;
			t0 = -1;
		}
		if (t0 < 0)
			t0 = json_number_value(json_object_get(sg, "start"));
		t1 = json_number_value(json_object_get(sg, "end"));
		if (add(&b, t, strlen(t))) {
			rc = err_set(err, DOSSIER_ENOMEM, "out of memory chunking a transcript");
			break;
		}
		tok += tt;
	}
	if (!rc)
		rc = push(ch, &b, "transcript", 0, t0, t1, max_chunks, err);
	buf_free(&b);
	return rc;
}

int embed_chunks_make(const struct step_rec *steps, size_t n, size_t max_tokens, size_t max_chunks,
                      struct embed_chunks *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	int rc = 0;
	json_t *ex = step_result_json(steps, n, "extract_text");
	json_t *pages = json_object_get(ex, "page_texts");
	if (json_is_array(pages) && json_array_size(pages)) {
		size_t i;
		json_t *p;
		json_array_foreach(pages, i, p) {
			const char *t = json_string_value(p);
			if (t && *t && (rc = embed_chunks_text(out, t, strlen(t), "text", (int)i + 1, max_tokens, max_chunks, err)))
				break;
		}
	} else {
		const char *t = json_string_value(json_object_get(ex, "text"));
		if (t && *t)
			rc = embed_chunks_text(out, t, strlen(t), "text", 0, max_tokens, max_chunks, err);
	}
	json_decref(ex);
	json_t *ocr = rc ? NULL : step_result_json(steps, n, "ocr");
	json_t *opages = json_object_get(ocr, "pages");
	if (json_is_array(opages) && json_array_size(opages)) {
		size_t i;
		json_t *p;
		json_array_foreach(opages, i, p) {
			const char *t = json_string_value(json_object_get(p, "text"));
			int page = (int)json_integer_value(json_object_get(p, "page"));
			if (t && *t && (rc = embed_chunks_text(out, t, strlen(t), "ocr", page, max_tokens, max_chunks, err)))
				break;
		}
	} else if (ocr) {
		const char *t = json_string_value(json_object_get(ocr, "text"));
		if (t && *t)
			rc = embed_chunks_text(out, t, strlen(t), "ocr", 0, max_tokens, max_chunks, err);
	}
	json_decref(ocr);
	json_t *tr = rc ? NULL : step_result_json(steps, n, "transcribe");
	if (json_is_array(json_object_get(tr, "segments")))
		rc = chunk_segments(out, json_object_get(tr, "segments"), max_tokens, max_chunks, err);
	json_decref(tr);
	if (rc)
		embed_chunks_free(out);
	return rc;
}

void embed_chunks_free(struct embed_chunks *ch)
{
	if (!ch)
		return;
	for (size_t i = 0; i < ch->n; i++)
		free(ch->c[i].text);
	free(ch->c);
	memset(ch, 0, sizeof *ch);
}
