/*
 * semantic.c — see semantic.h.
 */
#include "pipeline/semantic.h"
#include "analyze/vecsearch.h"
#include "pipeline/veccache.h"
#include "backends/llm.h"
#include "core/err.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* Allocation that cannot fail, as core/util.h's xcalloc. */
static void *xmalloc(size_t n)
{
	return xcalloc(1, n);
}

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		abort();
	return q;
}

int search_mode_parse(const char *s, enum search_mode *out)
{
	static const char *const names[] = {"auto", "text", "semantic", "hybrid"};
	for (int i = 0; s && i < 4; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum search_mode)i;
			return 0;
		}
	return DOSSIER_EINVAL;
}

const char *search_mode_name(enum search_mode m)
{
	switch (m) {
	case SEARCH_TEXT: return "text";
	case SEARCH_SEMANTIC: return "semantic";
	case SEARCH_HYBRID: return "hybrid";
	default: return "auto";
	}
}

void search_result_clear(struct search_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct search_hit_ex *h = &r->hits[i];
		free(h->path);
		free(h->name);
		free(h->title);
		free(h->snippet);
		free(h->chunk.text);
	}
	free(r->hits);
	r->hits = NULL;
	r->n = 0;
}

/* ------------------------------------------------------------ full text */

struct text_list {
	struct search_hit_ex *h;
	size_t n, cap;
};

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int on_text_hit(const struct search_hit *h, void *user)
{
	struct text_list *l = user;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 32;
		l->h = xrealloc(l->h, l->cap * sizeof *l->h);
	}
	struct search_hit_ex *x = &l->h[l->n++];
	memset(x, 0, sizeof *x);
	x->id = h->id;
	x->score = -h->rank;
	x->rank_text = (int)l->n;
	x->path = dup_or_null(h->path);
	x->name = dup_or_null(h->name);
	x->title = dup_or_null(h->title);
	x->snippet = dup_or_null(h->snippet);
	snprintf(x->kind, sizeof x->kind, "%s", h->kind ? h->kind : "");
	snprintf(x->status, sizeof x->status, "%s", h->status ? h->status : "");
	x->bytes = h->bytes;
	x->mtime = h->mtime;
	x->missing_at = h->missing_at;
	return 0;
}

/* ------------------------------------------------------------- vectors */

struct scan {
	const signed char *q;
	float qscale;
	int dim;
	struct vec_topk top;
};

static int on_vector(int64_t id, int64_t doc_id, const signed char *v, float scale, void *user)
{
	struct scan *s = user;
	vec_topk_push(&s->top, id, doc_id, (float)vec_dot_q8(s->q, v, s->dim) * s->qscale * scale);
	return 0;
}

/* The documents nearest the unit vector q, best first, each with its best
 * chunk: at most max_docs into *docs (caller frees), excluding `exclude`. */
static int nearest(store *st, veccache *cache, const char *model, int dim, const float *q, int64_t exclude,
                   size_t max_docs, struct vec_hit **docs, size_t *n_docs, struct err *err)
{
	*docs = NULL;
	*n_docs = 0;
	signed char *qq = xmalloc((size_t)dim);
	struct scan s = {qq, 0, dim, {0}};
	vec_quantise(q, dim, qq, &s.qscale);
	struct vec_hit *cand = xcalloc(SEMANTIC_RERANK, sizeof *cand);
	vec_topk_init(&s.top, cand, SEMANTIC_RERANK);
	int rc = cache ? veccache_topk(cache, st, model, dim, qq, s.qscale, &s.top, err) : DOSSIER_EUNAVAILABLE;
	if (rc == DOSSIER_EUNAVAILABLE) /* no cache, or the vectors do not fit it */
		rc = store_vectors_scan(st, model, dim, on_vector, &s, err);
	free(qq);
	/* re-rank the candidates with their float32 vectors: exact cosine */
	float *v = xmalloc((size_t)dim * sizeof *v);
	for (int i = 0; !rc && i < s.top.n; i++)
		if (store_vector_get(st, cand[i].id, dim, v, NULL) == 0)
			cand[i].score = vec_dot(q, v, dim);
	free(v);
	vec_topk_sort(&s.top);
	struct vec_hit *out = xcalloc(max_docs ? max_docs : 1, sizeof *out);
	size_t n = 0;
	for (int i = 0; !rc && i < s.top.n && n < max_docs; i++) {
		if (cand[i].group == exclude || cand[i].score <= SEMANTIC_MIN_COSINE)
			continue;
		size_t j = 0;
		while (j < n && out[j].group != cand[i].group)
			j++;
		if (j == n)
			out[n++] = cand[i];  /* sorted: the first chunk of a document is its best */
	}
	free(cand);
	if (rc) {
		free(out);
		return rc;
	}
	*docs = out;
	*n_docs = n;
	return 0;
}

/* Fills h (id set) from the store: the document and its title, when f keeps it. */
static int fill_doc(store *st, const struct doc_filter *f, struct search_hit_ex *h)
{
	struct doc_rec d;
	char *title = NULL;
	if (store_doc_brief(st, h->id, f, &d, &title, NULL))
		return DOSSIER_ENOTFOUND;
	h->path = d.path;
	h->name = d.name;
	d.path = d.name = NULL;
	h->title = title;
	snprintf(h->kind, sizeof h->kind, "%s", d.kind);
	snprintf(h->status, sizeof h->status, "%s", d.status);
	h->bytes = d.bytes;
	h->mtime = d.mtime;
	h->missing_at = d.missing_at;
	doc_rec_clear(&d);
	return 0;
}

/* The chunk as a snippet: its first 240 bytes at a character boundary. */
static char *chunk_snippet(const char *t)
{
	size_t n = t ? strlen(t) : 0;
	if (n <= 240)
		return xstrdup(t ? t : "");
	size_t k = 240;
	while (k > 0 && ((unsigned char)t[k] & 0xc0) == 0x80)
		k--;
	char *s = xmalloc(k + 4);
	memcpy(s, t, k);
	memcpy(s + k, "...", 4);
	return s;
}

/* Why this search cannot use vectors ("" = it can): model, dim and count set. */
static void vectors_state(store *st, struct llm_backend *llm, int need_llm, const struct config *cfg,
                          struct search_result *out)
{
	const char *model = cfg->models[ROLE_EMBED].name;
	snprintf(out->model, sizeof out->model, "%s", model);
	if ((cfg->offline && need_llm) || !model[0]) {
		snprintf(out->note, sizeof out->note, "full-text only: %s", cfg->offline ? "offline, no embedding model is asked"
		                                                                          : "no embedding model is configured (embed_model)");
		return;
	}
	int64_t other = 0;
	if (store_vectors_count(st, model, &out->vectors, &other, NULL) || store_vectors_dim(st, model, &out->dim, NULL))
		out->vectors = 0;
	if (!out->vectors) {
		snprintf(out->note, sizeof out->note,
		         "full-text only: no vectors of the embedding model '%s' are stored%s (run `dossier analyze` with it)",
		         model, other ? ", only of another model" : "");
		return;
	}
	if (!llm && need_llm)
		snprintf(out->note, sizeof out->note, "full-text only: the engine that runs '%s' is not reachable", model);
}

int search_run(store *st, struct llm_backend *llm, const struct config *cfg, const struct search_request *rq,
               struct search_result *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	int limit = rq->limit > 0 ? rq->limit : 20;
	int want_vec = rq->similar_to > 0 || rq->mode != SEARCH_TEXT;
	int must_vec = rq->similar_to > 0 || rq->mode == SEARCH_SEMANTIC;
	if (!rq->similar_to && (!rq->query || !*rq->query))
		return err_set(err, DOSSIER_EINVAL, "give words to search for");
	float *q = NULL;
	if (want_vec) {
		vectors_state(st, llm, rq->similar_to <= 0, cfg, out);
		if (!out->note[0]) {
			q = xmalloc((size_t)out->dim * sizeof *q);
			struct err e = {0};
			int rc;
			if (rq->similar_to > 0) {
				rc = store_doc_vector(st, rq->similar_to, out->model, out->dim, q, &e);
			} else {
				const char *texts[1] = {rq->query};
				struct llm_embed_request er = {.model = out->model, .texts = texts, .n_texts = 1,
				                               .num_ctx = cfg->models[ROLE_EMBED].num_ctx,
				                               .keep_alive_s = LLM_KEEP_ALIVE_UNSET};
				float *v = NULL;
				int d = 0;
				rc = llm_embed(llm, &er, &v, &d, NULL, &e);
				if (!rc && d != out->dim)
					rc = err_set(&e, DOSSIER_EFORMAT, "model '%s' now answers %d dimensions, the stored vectors have %d: "
					             "analyse again with --reanalyze all", out->model, d, out->dim);
				if (!rc)
					memcpy(q, v, (size_t)d * sizeof *q);
				free(v);
			}
			if (rc) {
				snprintf(out->note, sizeof out->note, "full-text only: %s", e.msg);
				if (rq->similar_to > 0 && rc == DOSSIER_ENOTFOUND) {
					free(q);
					return err_set(err, rc, "%s", e.msg);
				}
				free(q);
				q = NULL;
			} else {
				vec_normalise(q, out->dim);
			}
		}
		if (!q && must_vec)
			return err_set(err, DOSSIER_EUNAVAILABLE, "semantic search is not possible: %s",
			               out->note + (strncmp(out->note, "full-text only: ", 16) ? 0 : 16));
	}

	struct text_list tl = {0};
	if (!rq->similar_to && (rq->mode != SEARCH_SEMANTIC || !q)) {
		int rc = store_search_filtered(st, rq->query, rq->f, q ? SEARCH_FUSE_DEPTH : limit, on_text_hit, &tl, err);
		if (rc) {
			out->hits = tl.h;
			out->n = tl.n;
			search_result_clear(out);
			free(q);
			return rc;
		}
	}
	if (!q) {
		out->mode = SEARCH_TEXT;
		out->hits = tl.h;
		out->n = tl.n;
		return 0;
	}

	struct vec_hit *docs = NULL;
	size_t nd = 0;
	int rc = nearest(st, rq->cache, out->model, out->dim, q, rq->similar_to, SEARCH_FUSE_DEPTH * 2, &docs, &nd, err);
	free(q);
	if (rc) {
		out->hits = tl.h;
		out->n = tl.n;
		search_result_clear(out);
		return rc;
	}
	/* the semantic ranking, filtered like the text one */
	int64_t *sem = xcalloc(nd ? nd : 1, sizeof *sem);
	struct vec_hit *kept = xcalloc(nd ? nd : 1, sizeof *kept);
	size_t ns = 0;
	for (size_t i = 0; i < nd && ns < SEARCH_FUSE_DEPTH; i++) {
		struct doc_rec d;
		char *title = NULL;
		if (store_doc_brief(st, docs[i].group, rq->f, &d, &title, NULL))
			continue;
		doc_rec_clear(&d);
		free(title);
		kept[ns] = docs[i];
		sem[ns++] = docs[i].group;
	}
	free(docs);
	int64_t *txt = xcalloc(tl.n ? tl.n : 1, sizeof *txt);
	for (size_t i = 0; i < tl.n; i++)
		txt[i] = tl.h[i].id;
	int hybrid = !rq->similar_to && rq->mode != SEARCH_SEMANTIC;
	struct rrf_item *fused = NULL;
	size_t nf = 0;
	if (rrf_fuse(hybrid ? txt : NULL, hybrid ? tl.n : 0, sem, ns, RRF_K0, &fused, &nf)) {
		free(sem);
		free(kept);
		free(txt);
		out->hits = tl.h;
		out->n = tl.n;
		search_result_clear(out);
		return err_set(err, DOSSIER_ENOMEM, "out of memory fusing the rankings");
	}
	out->mode = hybrid ? SEARCH_HYBRID : SEARCH_SEMANTIC;
	size_t n_out = nf < (size_t)limit ? nf : (size_t)limit;
	out->hits = xcalloc(n_out ? n_out : 1, sizeof *out->hits);
	for (size_t i = 0; i < nf && out->n < n_out; i++) {
		struct search_hit_ex h = {0};
		h.id = fused[i].id;
		if (fused[i].rank_a) {
			h = tl.h[fused[i].rank_a - 1];
			memset(&tl.h[fused[i].rank_a - 1], 0, sizeof h); /* moved */
		} else if (fill_doc(st, rq->f, &h)) {
			continue;
		}
		h.rank_text = fused[i].rank_a;
		h.rank_semantic = fused[i].rank_b;
		h.score = hybrid ? fused[i].score : kept[fused[i].rank_b - 1].score;
		if (fused[i].rank_b) {
			const struct vec_hit *k = &kept[fused[i].rank_b - 1];
			h.cosine = k->score;
			if (store_chunk_info(st, k->id, &h.chunk, NULL) == 0 && !h.snippet)
				h.snippet = chunk_snippet(h.chunk.text);
		}
		out->hits[out->n++] = h;
	}
	/* what fusion left of the text hits */
	struct search_result rest = {.hits = tl.h, .n = tl.n};
	search_result_clear(&rest);
	free(fused);
	free(sem);
	free(kept);
	free(txt);
	return 0;
}
