/*
 * vecsearch.h — the arithmetic of semantic search: unit vectors, int8
 * quantisation with a per-vector scale, exact cosine, a bounded best-k list,
 * and reciprocal rank fusion of two rankings. No I/O; thread safe (no state).
 *
 *   float v[768]; vec_normalise(v, 768);
 *   signed char q[768]; float s; vec_quantise(v, 768, q, &s);
 *   struct vec_hit keep[10]; struct vec_topk t; vec_topk_init(&t, keep, 10);
 *   vec_topk_push(&t, id, vec_dot_q8(qq, q, 768) * qs * s);
 *   vec_topk_sort(&t);                       // keep[0..t.n) best first
 */
#ifndef DOSSIER_ANALYZE_VECSEARCH_H
#define DOSSIER_ANALYZE_VECSEARCH_H

#include <stddef.h>
#include <stdint.h>

/* v scaled to unit length (a zero vector stays zero). */
void vec_normalise(float *v, int dim);
float vec_dot(const float *a, const float *b, int dim);
/* Integer dot product of two int8 vectors (exact in 32 bits up to 133,000 dimensions). */
int32_t vec_dot_q8(const signed char *a, const signed char *b, int dim);
/* A unit vector as int8: q[i] = round(v[i] / *scale), *scale = max|v| / 127,
 * so v[i] ~ q[i] * *scale and cos(a, b) ~ dot_q8(qa, qb) * sa * sb. */
void vec_quantise(const float *v, int dim, signed char *q, float *scale);

struct vec_hit {
	int64_t id;    /* the caller's identifier (a chunk's) */
	int64_t group; /* the caller's grouping (a chunk's document) */
	float score;   /* higher is better */
};
/* The best k of a stream of scores. storage: k entries, borrowed. */
struct vec_topk {
	struct vec_hit *h;
	int k, n;
};
void vec_topk_init(struct vec_topk *t, struct vec_hit *storage, int k);
void vec_topk_push(struct vec_topk *t, int64_t id, int64_t group, float score);
/* Orders h[0..n) best first (ties: smaller id first). */
void vec_topk_sort(struct vec_topk *t);

/* One document of a fused ranking. */
struct rrf_item {
	int64_t id;     /* the document */
	double score;   /* sum of 1 / (k0 + rank) over the lists it is in */
	int rank_a;     /* its 1-based rank in list a; 0 = absent */
	int rank_b;     /* ... in list b */
};
/*
 * Reciprocal rank fusion of two rankings of ids (best first; an id appears at
 * most once per list): score = sum 1 / (k0 + rank), k0 = 60 as usual. *out
 * (caller frees with free()) gets the union, best first (ties: better rank in
 * a, then smaller id); *n its length. 0, or DOSSIER_ENOMEM.
 */
#define RRF_K0 60
int rrf_fuse(const int64_t *a, size_t na, const int64_t *b, size_t nb, int k0, struct rrf_item **out, size_t *n);

#endif
