/*
 * footprint.c — per-model memory arithmetic. See footprint.h and docs/planner.md.
 */
#include "plan/footprint.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

static const char *const kv_names[] = {"f16", "q8_0", "q4_0"};
/* bytes per element as a fraction: ggml blocks are 34 B / 32 (q8_0), 18 B / 32 (q4_0) */
static const uint64_t kv_num[] = {2, 34, 18};
static const uint64_t kv_den[] = {1, 32, 32};

const char *kv_cache_type_name(enum kv_cache_type t)
{
	return (unsigned)t <= KV_CACHE_Q4_0 ? kv_names[t] : "f16";
}

int kv_cache_type_parse(const char *s, enum kv_cache_type *out)
{
	for (int i = 0; i <= KV_CACHE_Q4_0; i++)
		if (!strcmp(s, kv_names[i])) {
			*out = (enum kv_cache_type)i;
			return 0;
		}
	return DOSSIER_EINVAL;
}

void footprint_params_default(struct footprint_params *p, const struct config *cfg)
{
	struct config d;
	if (!cfg) {
		config_defaults(&d, "prod");
		cfg = &d;
	}
	memset(p, 0, sizeof *p);
	p->default_num_ctx = cfg->engine_num_ctx;
	p->vision_min_num_ctx = cfg->vision_min_num_ctx;
	p->num_parallel = 1;
	p->num_batch = 512;
	p->kv_type = KV_CACHE_F16;
}

uint64_t kv_cache_bytes(const struct model_facts *f, uint64_t ctx_tokens, enum kv_cache_type t)
{
	if (!f->has_shape || (unsigned)t > KV_CACHE_Q4_0)
		return 0;
	uint64_t elems_per_token = 0;
	for (uint32_t l = 0; l < f->n_layers && l < MODEL_MAX_LAYERS; l++)
		elems_per_token += (uint64_t)(f->key_length + (uint64_t)f->value_length) * f->head_count_kv[l];
	/* Round per token so that bytes = per-token bytes x tokens exactly. */
	return elems_per_token * kv_num[t] / kv_den[t] * ctx_tokens;
}

static void resolve_ctx(const struct model_facts *f, const struct footprint_params *p, struct model_footprint *out)
{
	if (f->engine_num_ctx > 0) {
		/* the engine's own arguments fix it (llama.cpp's -c); what dossier asks is ignored */
		out->num_ctx = f->engine_num_ctx;
		snprintf(out->num_ctx_src, sizeof out->num_ctx_src, "engine arguments");
	} else if (p->num_ctx > 0) {
		out->num_ctx = p->num_ctx;
		snprintf(out->num_ctx_src, sizeof out->num_ctx_src, "config");
	} else if (f->default_num_ctx > 0) {
		out->num_ctx = f->default_num_ctx;
		snprintf(out->num_ctx_src, sizeof out->num_ctx_src, "model params");
	} else {
		out->num_ctx = p->default_num_ctx > 0 ? p->default_num_ctx : 1;
		snprintf(out->num_ctx_src, sizeof out->num_ctx_src, "ollama default");
	}
	/* Ollama clamps to the trained length, then raises vision models to
	 * vision_min_num_ctx (2048; reference 4.3). llama-server does not clamp:
	 * it warns and allocates the whole KV cache it was asked for. */
	if (f->engine[0] && f->context_length && (uint64_t)out->num_ctx > f->context_length) {
		snprintf(out->num_ctx_src, sizeof out->num_ctx_src, "%s, above the trained %llu",
		         f->engine_num_ctx > 0 ? "engine arguments" : "config", (unsigned long long)f->context_length);
	} else if (f->context_length && (uint64_t)out->num_ctx > f->context_length) {
		out->num_ctx = (int)f->context_length;
		snprintf(out->num_ctx_src, sizeof out->num_ctx_src, "clamped to trained length");
	}
	if (out->num_ctx < 4)
		out->num_ctx = 4;
	if (f->is_vision && out->num_ctx < p->vision_min_num_ctx) {
		out->num_ctx = p->vision_min_num_ctx;
		snprintf(out->num_ctx_src, sizeof out->num_ctx_src, "vision minimum");
	}
}

/*
 * Compute buffer. The llama-family graph estimate Ollama used (reference 11.5):
 *   max(4 b (1 + 4E + C (1 + H)), 4 b (E + V)),  b = min(C, num_batch)
 * with E embedding length, C context tokens, H heads, V vocabulary. Without a
 * vocabulary, Ollama's generic fallback (H / H_kv) x KV / 6; without any shape,
 * a 512 MiB rule of thumb (0.3 to 1 GiB at batch 512 for 7-13B models).
 * With flash attention (llama.cpp's default on the CPU) the scores are never
 * materialised: the C (1 + H) term goes, and what stays is the output
 * logits, the activations and the f16 KQ mask (2 b C):
 *   max(4 b (1 + 4E), 4 b (E + V)) + 2 b C
 * Measured against llama-server (f16, one slot): 53 MiB reported at 4096 and
 * 57 MiB at 8192, where the formula without flash attention said 152 and 288.
 */
static void compute_estimate(const struct model_facts *f, uint64_t ctx, uint64_t batch, uint64_t kv,
                             struct fp_item *out)
{
	if (f->flash_attn && f->has_shape && f->vocab_size && f->embedding_length) {
		uint64_t b = ctx < batch ? ctx : batch, E = f->embedding_length, V = f->vocab_size;
		uint64_t a = 4 * b * (1 + 4 * E), o = 4 * b * (E + V);
		out->bytes = (a > o ? a : o) + 2 * b * ctx;
		snprintf(out->source, sizeof out->source, "estimate:llama-graph-flash-attn");
	} else if (f->has_shape && f->vocab_size && f->embedding_length && f->head_count) {
		uint64_t b = ctx < batch ? ctx : batch, E = f->embedding_length, H = f->head_count, V = f->vocab_size;
		uint64_t a = 4 * b * (1 + 4 * E + ctx * (1 + H));
		uint64_t o = 4 * b * (E + V);
		out->bytes = a > o ? a : o;
		snprintf(out->source, sizeof out->source, "estimate:llama-graph");
	} else if (f->has_shape && f->head_count) {
		uint32_t hkv = 0;
		for (uint32_t l = 0; l < f->n_layers; l++)
			if (f->head_count_kv[l] && (!hkv || f->head_count_kv[l] < hkv))
				hkv = f->head_count_kv[l];
		out->bytes = hkv ? (uint64_t)f->head_count / hkv * kv / 6 : kv / 6;
		snprintf(out->source, sizeof out->source, "estimate:generic-graph");
	} else {
		out->bytes = 512ull << 20;
		snprintf(out->source, sizeof out->source, "estimate:rule-of-thumb");
	}
}

void footprint_compute(const struct model_facts *f, const struct footprint_params *p, struct model_footprint *out)
{
	memset(out, 0, sizeof *out);
	out->role = f->role;
	snprintf(out->name, sizeof out->name, "%s", f->name);
	out->weights.bytes = f->weights_bytes;
	snprintf(out->weights.source, sizeof out->weights.source, "%s", f->weights_src);
	out->projector.bytes = f->projector_bytes;
	snprintf(out->projector.source, sizeof out->projector.source, "%s", f->projector_src);
	if (f->role == ROLE_ASR) {
		/* the speech engine: its model files, no context window */
		out->total = out->weights.bytes;
		return;
	}
	resolve_ctx(f, p, out);
	uint64_t par = p->num_parallel > 0 ? (uint64_t)p->num_parallel : 1;
	uint64_t ctx = (uint64_t)out->num_ctx * par;
	out->kv_bytes_per_token = kv_cache_bytes(f, 1, p->kv_type);
	if (f->has_shape) {
		out->kv.bytes = kv_cache_bytes(f, ctx, p->kv_type);
		snprintf(out->kv.source, sizeof out->kv.source, "%s", f->shape_src);
	} else {
		/* no architecture: about 10% of the weights per 4096 tokens, the ratio of
		 * the seed's 7-8B GQA models (0.5 GiB KV at 4096 for 4-5 GB of weights) */
		out->kv.bytes = f->weights_bytes / 10 * ctx / 4096;
		snprintf(out->kv.source, sizeof out->kv.source, "estimate:10%%-of-weights-per-4096");
	}
	compute_estimate(f, ctx, p->num_batch > 0 ? (uint64_t)p->num_batch : 512, out->kv.bytes, &out->compute);
	if (f->vision_graph_bytes) {
		out->compute.bytes += f->vision_graph_bytes;
		size_t l = strlen(out->compute.source);
		snprintf(out->compute.source + l, sizeof out->compute.source - l, " + clip-graph");
	}
	if (f->engine[0]) { /* llama-server's own memory beyond the model (measured about 50 MiB) */
		out->compute.bytes += FOOTPRINT_ENGINE_OVERHEAD;
		size_t l = strlen(out->compute.source);
		snprintf(out->compute.source + l, sizeof out->compute.source - l, " + engine overhead");
	}
	out->total = out->weights.bytes + out->projector.bytes + out->kv.bytes + out->compute.bytes;
	out->predicted = out->total;
}

void footprint_use_measured(struct model_footprint *m, uint64_t bytes, const char *src)
{
	if (!bytes)
		return;
	m->measured = bytes;
	m->total = bytes;
	snprintf(m->measured_src, sizeof m->measured_src, "%s", src ? src : "measured");
}

double footprint_error(const struct model_footprint *m)
{
	if (!m->measured || !m->predicted)
		return 0;
	return ((double)m->measured - (double)m->predicted) / (double)m->predicted;
}
