/*
 * textrank.c — TextRank sentence ranking (Mihalcea & Tarau 2004), written for dossier.
 *
 * Two sentences are linked by the number of stems they share (stop words, numbers and
 * single letters excluded) divided by log(1+|Si|) + log(1+|Sj|). PageRank with damping
 * 0.85 runs on that weighted graph until no score moves more than 1e-6.
 *
 * To stay bounded on long texts, at most max_sentences sentences enter the graph: when
 * there are more, each candidate gets a cheap centrality estimate (how many other
 * sentences share each of its stems, the same normalisation) and the best ones are kept.
 * The graph is a dense n*n float matrix, so memory is 4*n^2 bytes (16 MB at n = 2000).
 */
#include "analyze/internal.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TR_MAX_GRAPH 3000          /* hard ceiling on max_sentences (36 MB matrix) */
#define TR_MIN_CONTENT 3           /* content words a sentence needs to be a candidate */
#define TR_MAX_WORDS 120           /* longer "sentences" (unpunctuated blocks) are not */
#define TR_DAMPING 0.85
#define TR_EPSILON 1e-6
#define TR_MAX_ITER 200

struct cand {
	uint32_t sent;     /* sentence index */
	uint32_t off;      /* first stem in the pool */
	uint32_t n;        /* unique stems */
	float pre;         /* centrality estimate, for pre-selection */
	double log_n;      /* log(1 + n) */
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

static uint32_t overlap(const uint32_t *a, uint32_t na, const uint32_t *b, uint32_t nb)
{
	uint32_t i = 0, j = 0, n = 0;
	while (i < na && j < nb) {
		if (a[i] == b[j]) {
			n++; i++; j++;
		} else if (a[i] < b[j]) {
			i++;
		} else {
			j++;
		}
	}
	return n;
}

static uint64_t hash_sentence(const struct an_doc *doc, size_t s)
{
	uint64_t h = 1469598103934665603ull;
	for (uint32_t k = 0; k < doc->sent_ntok[s]; k++) {
		h ^= doc->toks[doc->sent_tok0[s] + k].word + 1;
		h *= 1099511628211ull;
	}
	return h ? h : 1;
}

/* Open-addressing set of sentence hashes, to keep one of identical sentences. */
struct hset {
	uint64_t *v;
	size_t mask;
};

static int hset_insert(struct hset *hs, uint64_t h)
{
	size_t i = (size_t)(h ^ (h >> 29)) & hs->mask;
	while (hs->v[i]) {
		if (hs->v[i] == h)
			return 0;
		i = (i + 1) & hs->mask;
	}
	hs->v[i] = h;
	return 1;
}

struct pre_ix {
	float pre;
	uint32_t i;
};

static int cmp_pre_desc(const void *a, const void *b)
{
	const struct pre_ix *x = a, *y = b;
	if (x->pre != y->pre)
		return x->pre < y->pre ? 1 : -1;
	return (x->i > y->i) - (x->i < y->i);
}

struct score_ix {
	double score;
	uint32_t sent;
};

static int cmp_score_desc(const void *a, const void *b)
{
	const struct score_ix *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return (x->sent > y->sent) - (x->sent < y->sent);
}

int an_textrank(const struct an_doc *doc, size_t max_sentences, uint32_t **order_out,
		size_t *n_out)
{
	int rc = DOSSIER_ENOMEM;
	struct cand *c = NULL;
	uint32_t *pool = NULL, *df = NULL, *sel = NULL;
	float *w = NULL;
	double *score = NULL, *next = NULL, *p = NULL, *out_w = NULL;
	struct score_ix *rank = NULL;
	struct pre_ix *pre = NULL;
	struct hset hs = { 0 };
	size_t nc = 0, npool = 0;

	*order_out = NULL;
	*n_out = 0;
	if (max_sentences == 0)
		max_sentences = 2000;
	if (max_sentences > TR_MAX_GRAPH)
		max_sentences = TR_MAX_GRAPH;

	size_t hs_size = 64;
	while (hs_size < doc->nsents * 2)
		hs_size *= 2;
	hs.v = calloc(hs_size, sizeof *hs.v);
	hs.mask = hs_size - 1;
	c = calloc(doc->nsents ? doc->nsents : 1, sizeof *c);
	pool = malloc((doc->ntoks ? doc->ntoks : 1) * sizeof *pool);
	if (!hs.v || !c || !pool)
		goto out;

	/* Candidates and their sorted unique stems. */
	for (size_t s = 0; s < doc->nsents; s++) {
		enum sentence_kind kind = doc->sents[s].kind;
		if (kind != SENTENCE_KIND_TEXT && kind != SENTENCE_KIND_ITEM)
			continue;
		if (doc->sent_ntok[s] > TR_MAX_WORDS)
			continue;
		uint32_t start = (uint32_t)npool;
		for (uint32_t k = 0; k < doc->sent_ntok[s]; k++) {
			const struct an_tok *tk = &doc->toks[doc->sent_tok0[s] + k];
			if ((tk->flags & AN_TOK_NUMBER) || doc->word_stop[tk->word])
				continue;
			pool[npool++] = doc->word_stem[tk->word];
		}
		uint32_t n = (uint32_t)(npool - start);
		if (n < TR_MIN_CONTENT || !hset_insert(&hs, hash_sentence(doc, s))) {
			npool = start;
			continue;
		}
		qsort(pool + start, n, sizeof *pool, cmp_u32);
		uint32_t u = 0;
		for (uint32_t k = 0; k < n; k++)
			if (u == 0 || pool[start + k] != pool[start + u - 1])
				pool[start + u++] = pool[start + k];
		npool = start + u;
		c[nc++] = (struct cand){ (uint32_t)s, start, u, 0, log1p(u) };
	}
	if (nc == 0) {
		rc = 0;
		goto out;
	}

	/* Pre-selection by estimated centrality when the graph would be too large. */
	size_t n = nc;
	sel = malloc(nc * sizeof *sel);
	if (!sel)
		goto out;
	for (size_t i = 0; i < nc; i++)
		sel[i] = (uint32_t)i;
	if (nc > max_sentences) {
		df = calloc(doc->stems.count ? doc->stems.count : 1, sizeof *df);
		pre = malloc(nc * sizeof *pre);
		if (!df || !pre)
			goto out;
		for (size_t i = 0; i < nc; i++)
			for (uint32_t k = 0; k < c[i].n; k++)
				df[pool[c[i].off + k]]++;
		double avg_log = 0;
		for (size_t i = 0; i < nc; i++)
			avg_log += log1p(c[i].n);
		avg_log /= (double)nc;
		for (size_t i = 0; i < nc; i++) {
			double sum = 0;
			for (uint32_t k = 0; k < c[i].n; k++)
				sum += df[pool[c[i].off + k]] - 1;
			pre[i] = (struct pre_ix){ (float)(sum / (log1p(c[i].n) + avg_log)), (uint32_t)i };
		}
		qsort(pre, nc, sizeof *pre, cmp_pre_desc);
		n = max_sentences;
		for (size_t i = 0; i < n; i++)
			sel[i] = pre[i].i;
		qsort(sel, n, sizeof *sel, cmp_u32);   /* back to document order */
	}

	/* The graph. */
	w = calloc(n * n, sizeof *w);
	score = malloc(n * sizeof *score);
	next = malloc(n * sizeof *next);
	p = malloc(n * sizeof *p);
	out_w = calloc(n, sizeof *out_w);
	if (!w || !score || !next || !p || !out_w)
		goto out;
	for (size_t i = 0; i < n; i++) {
		const struct cand *a = &c[sel[i]];
		double la = a->log_n;
		for (size_t j = i + 1; j < n; j++) {
			const struct cand *b = &c[sel[j]];
			uint32_t o = overlap(pool + a->off, a->n, pool + b->off, b->n);
			if (!o)
				continue;
			float x = (float)(o / (la + b->log_n));
			w[i * n + j] = x;
			w[j * n + i] = x;
			out_w[i] += x;
			out_w[j] += x;
		}
	}
	for (size_t i = 0; i < n; i++)
		score[i] = 1.0;
	for (int it = 0; it < TR_MAX_ITER; it++) {
		for (size_t j = 0; j < n; j++)
			p[j] = out_w[j] > 0 ? score[j] / out_w[j] : 0;
		double delta = 0;
		for (size_t i = 0; i < n; i++) {
			const float *row = w + i * n;
			double sum = 0;
			for (size_t j = 0; j < n; j++)
				sum += row[j] * p[j];
			next[i] = (1 - TR_DAMPING) + TR_DAMPING * sum;
			double d = fabs(next[i] - score[i]);
			if (d > delta)
				delta = d;
		}
		double *tmp = score;
		score = next;
		next = tmp;
		if (delta < TR_EPSILON)
			break;
	}

	rank = malloc(n * sizeof *rank);
	*order_out = malloc(n * sizeof **order_out);
	if (!rank || !*order_out) {
		free(*order_out);
		*order_out = NULL;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		rank[i] = (struct score_ix){ score[i], c[sel[i]].sent };
	qsort(rank, n, sizeof *rank, cmp_score_desc);
	for (size_t i = 0; i < n; i++)
		(*order_out)[i] = rank[i].sent;
	*n_out = n;
	rc = 0;
out:
	free(hs.v);
	free(c);
	free(pool);
	free(df);
	free(sel);
	free(pre);
	free(w);
	free(score);
	free(next);
	free(p);
	free(out_w);
	free(rank);
	return rc;
}
