/*
 * vecsearch.c — see vecsearch.h.
 */
#include "analyze/vecsearch.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void vec_normalise(float *v, int dim)
{
	double ss = 0;
	for (int i = 0; i < dim; i++)
		ss += (double)v[i] * v[i];
	if (ss <= 0)
		return;
	float inv = (float)(1.0 / sqrt(ss));
	for (int i = 0; i < dim; i++)
		v[i] *= inv;
}

/* SSE2 is part of every x86-64: the two inner loops use it there (16 int8 or
 * 4 float products per instruction); elsewhere the plain loops. */
#if defined(__SSE2__)
#include <emmintrin.h>

float vec_dot(const float *a, const float *b, int dim)
{
	__m128 s0 = _mm_setzero_ps(), s1 = _mm_setzero_ps();
	int i = 0;
	for (; i + 8 <= dim; i += 8) {
		s0 = _mm_add_ps(s0, _mm_mul_ps(_mm_loadu_ps(a + i), _mm_loadu_ps(b + i)));
		s1 = _mm_add_ps(s1, _mm_mul_ps(_mm_loadu_ps(a + i + 4), _mm_loadu_ps(b + i + 4)));
	}
	float t[4];
	_mm_storeu_ps(t, _mm_add_ps(s0, s1));
	float s = (t[0] + t[1]) + (t[2] + t[3]);
	for (; i < dim; i++)
		s += a[i] * b[i];
	return s;
}

int32_t vec_dot_q8(const signed char *a, const signed char *b, int dim)
{
	__m128i acc = _mm_setzero_si128(), zero = _mm_setzero_si128();
	int i = 0;
	for (; i + 16 <= dim; i += 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)(a + i));
		__m128i y = _mm_loadu_si128((const __m128i *)(const void *)(b + i));
		__m128i xs = _mm_cmpgt_epi8(zero, x), ys = _mm_cmpgt_epi8(zero, y); /* sign bytes */
		acc = _mm_add_epi32(acc, _mm_madd_epi16(_mm_unpacklo_epi8(x, xs), _mm_unpacklo_epi8(y, ys)));
		acc = _mm_add_epi32(acc, _mm_madd_epi16(_mm_unpackhi_epi8(x, xs), _mm_unpackhi_epi8(y, ys)));
	}
	int32_t t[4];
	_mm_storeu_si128((__m128i *)(void *)t, acc);
	int32_t s = t[0] + t[1] + t[2] + t[3];
	for (; i < dim; i++)
		s += (int16_t)a[i] * (int16_t)b[i];
	return s;
}
#else
float vec_dot(const float *a, const float *b, int dim)
{
	float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int i = 0;
	for (; i + 4 <= dim; i += 4) {
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < dim; i++)
		s0 += a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

int32_t vec_dot_q8(const signed char *a, const signed char *b, int dim)
{
	int32_t s = 0;
	for (int i = 0; i < dim; i++)
		s += (int16_t)a[i] * (int16_t)b[i];
	return s;
}
#endif

void vec_quantise(const float *v, int dim, signed char *q, float *scale)
{
	float mx = 0;
	for (int i = 0; i < dim; i++)
		if (fabsf(v[i]) > mx)
			mx = fabsf(v[i]);
	*scale = mx > 0 ? mx / 127.0f : 1.0f;
	for (int i = 0; i < dim; i++) {
		long r = lroundf(v[i] / *scale);
		q[i] = (signed char)(r > 127 ? 127 : r < -127 ? -127 : r);
	}
}

void vec_topk_init(struct vec_topk *t, struct vec_hit *storage, int k)
{
	t->h = storage;
	t->k = k > 0 ? k : 0;
	t->n = 0;
}

/* A min-heap on score: h[0] is the worst kept. */
static int worse(const struct vec_hit *a, const struct vec_hit *b)
{
	return a->score < b->score || (a->score == b->score && a->id > b->id);
}

static void sift_down(struct vec_hit *h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && worse(&h[l], &h[m]))
			m = l;
		if (r < n && worse(&h[r], &h[m]))
			m = r;
		if (m == i)
			return;
		struct vec_hit x = h[i];
		h[i] = h[m];
		h[m] = x;
		i = m;
	}
}

void vec_topk_push(struct vec_topk *t, int64_t id, int64_t group, float score)
{
	struct vec_hit x = {id, group, score};
	if (t->n < t->k) {
		int i = t->n++;
		t->h[i] = x;
		while (i > 0) {
			int p = (i - 1) / 2;
			if (!worse(&t->h[i], &t->h[p]))
				break;
			struct vec_hit y = t->h[i];
			t->h[i] = t->h[p];
			t->h[p] = y;
			i = p;
		}
	} else if (t->k && worse(&t->h[0], &x)) {
		t->h[0] = x;
		sift_down(t->h, t->n, 0);
	}
}

static int best_first(const void *a, const void *b)
{
	const struct vec_hit *x = a, *y = b;
	return worse(x, y) ? 1 : worse(y, x) ? -1 : 0;
}

void vec_topk_sort(struct vec_topk *t)
{
	qsort(t->h, (size_t)t->n, sizeof t->h[0], best_first);
}

static int rrf_order(const void *a, const void *b)
{
	const struct rrf_item *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	int ra = x->rank_a ? x->rank_a : 1 << 30, rb = y->rank_a ? y->rank_a : 1 << 30;
	if (ra != rb)
		return ra < rb ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

int rrf_fuse(const int64_t *a, size_t na, const int64_t *b, size_t nb, int k0, struct rrf_item **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	struct rrf_item *it = calloc(na + nb ? na + nb : 1, sizeof *it);
	if (!it)
		return DOSSIER_ENOMEM;
	size_t m = 0;
	for (size_t i = 0; i < na; i++) {
		it[m] = (struct rrf_item){a[i], 1.0 / (k0 + (double)(i + 1)), (int)(i + 1), 0};
		m++;
	}
	for (size_t j = 0; j < nb; j++) {
		size_t i = 0;
		while (i < na && it[i].id != b[j])
			i++;
		if (i < na) {
			it[i].score += 1.0 / (k0 + (double)(j + 1));
			it[i].rank_b = (int)(j + 1);
		} else {
			it[m++] = (struct rrf_item){b[j], 1.0 / (k0 + (double)(j + 1)), 0, (int)(j + 1)};
		}
	}
	qsort(it, m, sizeof *it, rrf_order);
	*out = it;
	*n = m;
	return 0;
}
