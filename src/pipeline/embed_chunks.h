/*
 * embed_chunks.h — a document's text in chunks for the embed step: whole
 * sentences (analyze/sentence.h) up to a token bound, each with where it came
 * from (the text and its page, OCR and its page, a transcript and its times).
 *
 *   struct embed_chunks ch;
 *   if (embed_chunks_make(steps, n, EMBED_CHUNK_TOKENS, EMBED_MAX_CHUNKS, &ch, &e) == 0) {
 *       for (size_t i = 0; i < ch.n; i++) ... ch.c[i].text ...;
 *       embed_chunks_free(&ch);
 *   }
 */
#ifndef DOSSIER_PIPELINE_EMBED_CHUNKS_H
#define DOSSIER_PIPELINE_EMBED_CHUNKS_H

#include <stddef.h>

#include "store/store.h"

#define EMBED_CHUNK_TOKENS 256   /* tokens per chunk at most (estimated: embed_tokens) */
#define EMBED_MAX_CHUNKS 4096    /* chunks per document at most; the rest is not embedded */

struct embed_chunk {
	char *text;              /* owned */
	const char *source;      /* static: "text", "ocr" or "transcript" */
	int page;                /* 1-based; 0 = none */
	double start_s, end_s;   /* transcript; -1 = none */
};
struct embed_chunks {
	struct embed_chunk *c;   /* owned, n entries */
	size_t n, cap;
	int truncated;           /* 1 = max_chunks reached, later text not embedded */
};

/* An estimate of the tokens of n bytes of text for an embedding model's
 * tokeniser (WordPiece/BPE): the larger of 1.3 per word and 1 per 4 bytes. */
size_t embed_tokens(const char *s, size_t n);
/* Chunks of the document's finished steps' results: extract_text's text (by
 * page when it has page_texts), ocr's text or pages, transcribe's segments. */
int embed_chunks_make(const struct step_rec *steps, size_t n, size_t max_tokens, size_t max_chunks,
                      struct embed_chunks *out, struct err *err);
/* Chunks of one text (source, page as given). */
int embed_chunks_text(struct embed_chunks *ch, const char *text, size_t len, const char *source, int page,
                      size_t max_tokens, size_t max_chunks, struct err *err);
void embed_chunks_free(struct embed_chunks *ch);

#endif
