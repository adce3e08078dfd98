/*
 * footprint.h — the memory one resident model needs, from its facts and the
 * context length it runs with. Formulas in docs/planner.md.
 *
 *   struct footprint_params fp;
 *   footprint_params_default(&fp, &cfg);
 *   fp.num_ctx = 8192;
 *   struct model_footprint m;
 *   footprint_compute(&facts, &fp, &m);   // m.total = weights + projector + kv + compute
 *
 * Pure arithmetic: thread safe, never fails.
 */
#ifndef DOSSIER_PLAN_FOOTPRINT_H
#define DOSSIER_PLAN_FOOTPRINT_H

#include "core/config.h"
#include "plan/facts.h"

#include <stdint.h>

enum kv_cache_type {
	KV_CACHE_F16 = 0, /* 2 bytes per element (Ollama's default) */
	KV_CACHE_Q8_0,    /* 34 bytes per 32 elements */
	KV_CACHE_Q4_0,    /* 18 bytes per 32 elements */
};
const char *kv_cache_type_name(enum kv_cache_type t);  /* "f16", "q8_0", "q4_0" */
/* Parses OLLAMA_KV_CACHE_TYPE values; DOSSIER_EINVAL otherwise. */
int kv_cache_type_parse(const char *s, enum kv_cache_type *out);

struct footprint_params {
	int num_ctx;                  /* context tokens per slot; 0 = model default, else default_num_ctx */
	int default_num_ctx;          /* the engine's when neither config nor model sets one (cfg->engine_num_ctx) */
	int vision_min_num_ctx;       /* models that read images get at least this (cfg->vision_min_num_ctx) */
	int num_parallel;             /* OLLAMA_NUM_PARALLEL slots; KV is sized num_ctx x this (1) */
	int num_batch;                /* batch tokens for the compute estimate (512) */
	enum kv_cache_type kv_type;   /* OLLAMA_KV_CACHE_TYPE (f16) */
};
/* Defaults from cfg (engine_num_ctx, vision_min_num_ctx; NULL = the prod
 * profile's): 1 slot, batch 512, f16 KV. */
void footprint_params_default(struct footprint_params *p, const struct config *cfg);

/* What llama-server uses beyond weights, KV and compute buffers (its own code,
 * the HTTP server, the tokenizer): about 50 MiB measured. Counted in the
 * compute item for models an OpenAI-compatible llama.cpp engine runs. */
#define FOOTPRINT_ENGINE_OVERHEAD (50ull << 20)

/* One number with where it came from. */
struct fp_item {
	uint64_t bytes;               /* bytes */
	char source[FACT_SRC_MAX];    /* "gguf:<path>", "api/show", "nominal:seed", "estimate:llama-graph", ... */
};

struct model_footprint {
	enum model_role role;         /* the role it plays */
	char name[128];               /* model name */
	int num_ctx;                  /* context tokens per slot actually used */
	char num_ctx_src[64];         /* "config", "model params", "ollama default", "clamped to trained", "vision minimum" */
	uint64_t kv_bytes_per_token;  /* KV cache bytes per context token (all layers) */
	struct fp_item weights;       /* model weights */
	struct fp_item projector;     /* separate vision projector weights (0 if none/included) */
	struct fp_item kv;            /* KV cache for num_ctx x num_parallel tokens */
	struct fp_item compute;       /* compute buffers: text graph + image encoder */
	uint64_t total;               /* sum of the four; the measurement instead when there is one */
	uint64_t predicted;           /* the sum of the four (kept when a measurement replaced total) */
	uint64_t measured;            /* what a load of this model, engine and context used; 0 = never measured */
	char measured_src[96];        /* how: "rss:/proc, 3 loads"; "" = never measured */
};

/*
 * KV cache bytes for ctx_tokens tokens: sum over layers of
 * ctx x (key_length + value_length) x head_count_kv(layer) x bytes per element.
 * 0 if facts has no shape.
 */
uint64_t kv_cache_bytes(const struct model_facts *f, uint64_t ctx_tokens, enum kv_cache_type t);

/* Fills out for facts f under params p. */
void footprint_compute(const struct model_facts *f, const struct footprint_params *p, struct model_footprint *out);

/* Measured beats predicted: total becomes bytes (what a load measured, src
 * saying how), predicted keeps the formula's sum. bytes 0 is ignored. */
void footprint_use_measured(struct model_footprint *m, uint64_t bytes, const char *src);
/* How far the formula was off the measurement: (measured - predicted) / predicted; 0 when unmeasured. */
double footprint_error(const struct model_footprint *m);
/* A prediction more than this fraction off a measurement is reported. */
#define FOOTPRINT_TOLERANCE 0.15

#endif
