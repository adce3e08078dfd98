/*
 * steps_embed.c — the `embed` step: a document's text, OCR text and
 * transcript in chunks of whole sentences (at most EMBED_CHUNK_TOKENS tokens
 * each), one vector per chunk from the embedding model (ROLE_EMBED), stored
 * with the model's name and dimension (store_vectors_replace). The step's
 * result says how many chunks of which model; made_by (reanalyze.c) makes a
 * changed embed_model re-embed. Offline, or with no embedding model, the
 * document's vectors are dropped and the result says search is full-text.
 */
#include "pipeline/steps_internal.h"
#include "pipeline/embed_chunks.h"
#include "backends/llm.h"
#include "core/err.h"
#include "core/util.h"
#include "sched/residency.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define EMBED_BATCH 16  /* texts per embedding request */
#define EMBED_MIN_TOKENS 16  /* chunks are never made shorter than this */

/*
 * The chunk bound per model, lowered when an engine says a text is too long
 * for it (llama-server: "input (804 tokens) is too large to process. increase
 * the physical batch size (current batch size: 512)"; OpenAI: "maximum
 * context length"). Learned once per process, so the next documents start
 * with the bound that worked.
 */
static struct {
	char model[128];
	size_t tokens;
} learned[8];
static size_t n_learned;
static pthread_mutex_t learned_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t bound_of(const char *model)
{
	size_t t = EMBED_CHUNK_TOKENS;
	pthread_mutex_lock(&learned_mu);
	for (size_t i = 0; i < n_learned; i++)
		if (!strcmp(learned[i].model, model))
			t = learned[i].tokens;
	pthread_mutex_unlock(&learned_mu);
	return t;
}

static void learn(const char *model, size_t tokens)
{
	pthread_mutex_lock(&learned_mu);
	size_t i;
	for (i = 0; i < n_learned && strcmp(learned[i].model, model); i++)
		;
	if (i == n_learned && n_learned < sizeof learned / sizeof learned[0])
		n_learned++;
	if (i < n_learned) {
		snprintf(learned[i].model, sizeof learned[i].model, "%s", model);
		learned[i].tokens = tokens;
	}
	pthread_mutex_unlock(&learned_mu);
}

/* The number after `key` in msg, or 0. */
static size_t number_after(const char *msg, const char *key)
{
	const char *p = strstr(msg, key);
	return p ? (size_t)strtoul(p + strlen(key), NULL, 10) : 0;
}

/* A smaller bound after the engine refused a chunk made with `bound`: scaled
 * by the engine's limit over the tokens it counted when msg gives both
 * ("input (804 tokens) ... batch size: 512"), else halved; never under
 * EMBED_MIN_TOKENS. 0 when the bound cannot go lower. */
static size_t shrink_bound(size_t bound, const char *msg)
{
	if (bound <= EMBED_MIN_TOKENS)
		return 0;
	size_t counted = number_after(msg, "input ("), limit = number_after(msg, "batch size: ");
	size_t next = counted > limit && limit ? bound * limit * 9 / (counted * 10) : bound / 2;
	if (next >= bound)
		next = bound / 2;
	return next < EMBED_MIN_TOKENS ? EMBED_MIN_TOKENS : next;
}

static int no_vectors(struct step_env *env, const struct doc_rec *doc, const char *why, json_t **result,
                      struct err *err)
{
	int rc = env->st ? store_vectors_replace(env->st, doc->id, NULL, 0, NULL, 0, err) : 0;
	if (rc)
		return rc;
	*result = json_pack("{s:s,s:i,s:s}", "engine", "offline", "chunks", 0, "note", why);
	return 0;
}

STEP_FN(step_run_embed)
{
	(void)step;
	const char *model = env->cfg->models[ROLE_EMBED].name;
	if (env->offline_models || !env->llm || !model[0])
		return no_vectors(env, doc, env->offline_models || !env->llm ? "offline: no vectors, search is full-text only"
		                                                             : "no embedding model: search is full-text only",
		                  result, err);
	if (!env->st)
		return err_set(err, DOSSIER_EINVAL, "the embed step needs the store");
	size_t bound = bound_of(model);
	struct embed_chunks ch;
	int rc;
again:
	if ((rc = embed_chunks_make(steps, n, bound, EMBED_MAX_CHUNKS, &ch, err)))
		return rc;
	if (!ch.n) {
		embed_chunks_free(&ch);
		rc = store_vectors_replace(env->st, doc->id, NULL, 0, NULL, 0, err);
		if (!rc)
			*result = json_pack("{s:s,s:s,s:i,s:s}", "engine", llm_backend_name(env->llm), "model", model, "chunks", 0,
			                    "note", "no text to embed");
		return rc;
	}
	struct step_progress prog;
	step_progress_init(&prog, env, doc, "embed", "chunks", (double)ch.n);
	float *all = NULL;
	int dim = 0;
	struct llm_metrics sum = {0};
	int calls = 0;
	for (size_t at = 0; at < ch.n && !rc; at += EMBED_BATCH) {
		size_t k = ch.n - at < EMBED_BATCH ? ch.n - at : EMBED_BATCH;
		const char *texts[EMBED_BATCH];
		for (size_t i = 0; i < k; i++)
			texts[i] = ch.c[at + i].text;
		struct llm_embed_request rq = {.model = model, .texts = texts, .n_texts = k,
		                               .num_ctx = env->cfg->models[ROLE_EMBED].num_ctx,
		                               .keep_alive_s = residency_keep_alive(env->res, ROLE_EMBED),
		                               .cancel = env->cancel};
		float *v = NULL;
		int d = 0;
		struct llm_metrics m = {0};
		struct err le = {0};
		rc = llm_embed(env->llm, &rq, &v, &d, &m, &le);
		if (rc == DOSSIER_ETOOBIG) {
			size_t next = shrink_bound(bound, le.msg);
			if (next) { /* shorter chunks, from the start: the vectors are stored only at the end */
				free(all);
				embed_chunks_free(&ch);
				learn(model, next);
				bound = next;
				goto again;
			}
			err_prefix(&le, "even chunks of %zu tokens: ", bound);
		}
		if (rc) {
			err_set(err, rc, "%s", le.msg);
			break;
		}
		if (!all) {
			dim = d;
			all = malloc(ch.n * (size_t)dim * sizeof *all);
			if (!all)
				rc = err_set(err, DOSSIER_ENOMEM, "out of memory holding %zu vectors", ch.n);
		} else if (d != dim) {
			rc = err_set(err, DOSSIER_EFORMAT, "model '%s' answered vectors of %d and of %d dimensions", model, dim, d);
		}
		if (!rc)
			memcpy(all + at * (size_t)dim, v, k * (size_t)dim * sizeof *all);
		free(v);
		calls++;
		sum.prompt_eval_count += m.prompt_eval_count;
		sum.total_ns += m.total_ns;
		sum.load_ns += m.load_ns;
		sum.wall_s += m.wall_s;
		step_progress_report(&prog, (double)(at + k));
	}
	if (!rc) {
		struct vec_chunk *vc = calloc(ch.n, sizeof *vc);
		if (!vc)
			rc = err_set(err, DOSSIER_ENOMEM, "out of memory");
		for (size_t i = 0; vc && i < ch.n; i++)
			vc[i] = (struct vec_chunk){(int)i, ch.c[i].source, ch.c[i].start_s, ch.c[i].end_s, ch.c[i].page,
			                           ch.c[i].text, all + i * (size_t)dim};
		if (!rc)
			rc = store_vectors_replace(env->st, doc->id, model, dim, vc, ch.n, err);
		free(vc);
	}
	if (!rc) {
		json_t *by_source = json_object();
		for (size_t i = 0; i < ch.n; i++) {
			json_t *c = json_object_get(by_source, ch.c[i].source);
			json_object_set_new(by_source, ch.c[i].source, json_integer(c ? json_integer_value(c) + 1 : 1));
		}
		*result = json_pack("{s:s,s:s,s:i,s:i,s:o,s:b,s:{s:s},s:{s:i,s:I,s:I,s:I,s:f}}", "engine",
		                    llm_backend_name(env->llm), "model", model, "dim", dim, "chunks", (int)ch.n, "sources_chunked",
		                    by_source, "truncated", ch.truncated, "sources", "vectors", "embed", "timings", "calls", calls,
		                    "prompt_eval_count", (json_int_t)sum.prompt_eval_count, "total_ns", (json_int_t)sum.total_ns,
		                    "load_ns", (json_int_t)sum.load_ns, "wall_s", sum.wall_s);
		if (bound != EMBED_CHUNK_TOKENS) /* the engine refused longer chunks */
			json_object_set_new(*result, "chunk_tokens", json_integer((json_int_t)bound));
		/* sources names the engine and model as the other model steps do */
		char src[200];
		snprintf(src, sizeof src, "%s:%s", llm_backend_name(env->llm), model);
		json_object_set_new(json_object_get(*result, "sources"), "vectors", json_string(src));
	}
	free(all);
	embed_chunks_free(&ch);
	return rc;
}
