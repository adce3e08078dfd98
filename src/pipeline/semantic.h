/*
 * semantic.h — search by meaning, by words, or both: the query embedded once
 * by the embedding model (ROLE_EMBED), exact cosine similarity over the
 * stored vectors of that model (an int8 scan of every chunk, the best
 * SEMANTIC_RERANK re-ranked in float32), fused with the FTS5 ranking by
 * reciprocal rank fusion. Each hit names the chunk that matched and where
 * (source text|ocr|transcript, page, seconds). Shared by `dossier search`,
 * `dossier similar` and GET /api/search.
 *
 *   struct search_request rq = {.query = "boats", .limit = 10, .mode = SEARCH_AUTO};
 *   struct search_result r;
 *   if (search_run(st, llm, &cfg, &rq, &r, &e) == 0) { ... r.hits[i] ...; search_result_clear(&r); }
 */
#ifndef DOSSIER_PIPELINE_SEMANTIC_H
#define DOSSIER_PIPELINE_SEMANTIC_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "store/store.h"

struct err;
struct llm_backend;
struct veccache;

enum search_mode {
	SEARCH_AUTO = 0,   /* hybrid when vectors of the configured model exist and it answers, else text */
	SEARCH_TEXT,       /* FTS5 only */
	SEARCH_SEMANTIC,   /* vectors only */
	SEARCH_HYBRID,     /* both, fused */
};
/* "auto" "text" "semantic" "hybrid" -> mode; DOSSIER_EINVAL otherwise. */
int search_mode_parse(const char *s, enum search_mode *out);
const char *search_mode_name(enum search_mode m);

#define SEMANTIC_RERANK 200   /* int8 candidates re-ranked in float32 */
#define SEARCH_FUSE_DEPTH 50  /* documents taken from each ranking before fusing */
#define SEMANTIC_MIN_COSINE 0.0f  /* a chunk at or below this similarity is no match */

struct search_hit_ex {
	int64_t id;                  /* the document */
	double score;                /* hybrid: RRF score; semantic: cosine; text: -bm25 */
	double cosine;               /* the best chunk's cosine similarity; 0 = not a semantic match */
	int rank_text, rank_semantic;/* 1-based rank in each list; 0 = not in it */
	char *path, *name, *title, *snippet;   /* owned; name, title, snippet may be NULL */
	char kind[16], status[16];
	int64_t bytes, mtime;
	double missing_at;
	struct vec_chunk_info chunk; /* the chunk that matched (chunk.id 0 = none; chunk.text owned) */
};

struct search_request {
	const char *query;           /* borrowed; NULL with similar_to */
	const struct doc_filter *f;  /* borrowed; may be NULL */
	int limit;                   /* hits at most (<= 0: 20) */
	enum search_mode mode;
	int64_t similar_to;          /* > 0: the documents nearest this one's mean vector (semantic) */
	struct veccache *cache;      /* borrowed; the int8 vectors in memory (pipeline/veccache.h), or NULL:
	                                scan them through SQLite. Results are the same either way */
};

struct search_result {
	enum search_mode mode;       /* what ran: SEARCH_TEXT, SEARCH_SEMANTIC or SEARCH_HYBRID */
	char model[128];             /* the embedding model used ("" = none) */
	int dim;                     /* its vectors' dimension */
	int64_t vectors;             /* chunks of that model stored */
	char note[512];              /* why the search is full-text only, or other caveats ("" = none) */
	struct search_hit_ex *hits;  /* owned, n */
	size_t n;
};

/*
 * Runs the search. llm may be NULL (no engine: full-text only, said in
 * out->note). An explicit SEARCH_SEMANTIC, or similar_to, without vectors or
 * without the model is DOSSIER_EUNAVAILABLE with a sentence saying why;
 * SEARCH_AUTO and SEARCH_HYBRID fall back to text and say so in note.
 * DOSSIER_EINVAL for a query with no word (text) or nothing at all.
 */
int search_run(store *st, struct llm_backend *llm, const struct config *cfg, const struct search_request *rq,
               struct search_result *out, struct err *err);
void search_result_clear(struct search_result *r);

#endif
