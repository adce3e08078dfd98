/*
 * facts.h — what the planner knows about one model: its weights size and, when
 * known, its architecture (layers, heads, head dims, vocabulary), each with the
 * source it came from.
 *
 * Sources, best first:
 *   "gguf:<path>"       the weights GGUF in Ollama's store (model_facts_from_store)
 *   "api/show"          Ollama's /api/show and /api/tags replies (model_facts_from_api)
 *   "engine:meta"       an OpenAI-compatible engine's /v1/models meta (size, n_params,
 *                       n_ctx_train), when the GGUF its arguments name is not on this
 *                       machine (model_facts_from_engine; the GGUF when it is)
 *   "nominal:seed"      the profile's nominal size from the config, with the
 *                       architecture of a few well-known models from a built-in table
 *                       ("nominal:shape-table") (model_facts_nominal)
 *   "files:<dir>"       the speech model's files on disk (model_facts_asr)
 *
 *   struct model_facts f;
 *   if (model_facts_from_store(NULL, "llama3.1:8b", ROLE_TEXT, &f, &e))
 *       model_facts_nominal(&cfg.models[ROLE_TEXT], ROLE_TEXT, &f);
 */
#ifndef DOSSIER_PLAN_FACTS_H
#define DOSSIER_PLAN_FACTS_H

#include "core/config.h"

#include <jansson.h>
#include <stdint.h>

struct err;

#define FACT_SRC_MAX     512   /* a source label, e.g. "gguf:/path/to/blob" (truncated) */
#define MODEL_MAX_LAYERS 512   /* per-layer KV head counts kept; more layers are refused */

struct model_facts {
	enum model_role role;              /* which role the model plays */
	char name[128];                    /* model name as configured */
	char arch[64];                     /* general.architecture; "" if unknown */

	uint64_t weights_bytes;            /* weights of the main model (tensor bytes or file size) */
	char weights_src[FACT_SRC_MAX];    /* where weights_bytes came from */
	uint64_t projector_bytes;          /* a separate vision projector; 0 if none or included above */
	char projector_src[FACT_SRC_MAX];  /* where projector_bytes came from; "" if none */
	uint64_t vision_graph_bytes;       /* image-encoder compute estimate; 0 for text models */
	int is_vision;                     /* 1 = takes images (projector or vision capability) */

	int has_shape;                     /* 1 = the fields below are known */
	char shape_src[FACT_SRC_MAX];      /* where the architecture came from */
	uint32_t n_layers;                 /* block_count */
	uint32_t head_count;               /* attention heads (largest over layers) */
	uint32_t head_count_kv[MODEL_MAX_LAYERS]; /* KV heads per layer (0 = no KV cache, e.g. recurrent) */
	uint32_t embedding_length;         /* hidden size */
	uint32_t key_length;               /* K head dim; embedding_length/head_count if the model does not say */
	uint32_t value_length;             /* V head dim; likewise */
	uint32_t vocab_size;               /* tokens; 0 if unknown */
	uint64_t context_length;           /* trained maximum context; 0 if unknown */

	int default_num_ctx;               /* num_ctx the model ships with (params layer); 0 = none */
	/* How the engine runs it, when an OpenAI-compatible engine described it. */
	char engine[24];                   /* "llama.cpp" (its router or llama-server); "" = Ollama's rules */
	int engine_num_ctx;                /* context the engine runs it with whatever is asked (the router's -c,
	                                      a loaded model's n_ctx); 0 = as asked */
	int flash_attn;                    /* 1 = flash attention on (llama.cpp's default "auto" on CPU): no
	                                      context x context scores in the compute buffer; 0 = off/unknown */
	char note[256];                    /* why a better source was not used; "" if none */
};

/* Facts from a weights GGUF and an optional projector GGUF (NULL or "" = none). */
int model_facts_from_gguf(const char *model_path, const char *projector_path, enum model_role role,
                          struct model_facts *out, struct err *err);

/* Resolves name in the Ollama store (root NULL = default) and reads its GGUF
 * files. Errors as modelstore_resolve and gguf_open. */
int model_facts_from_store(const char *root, const char *name, enum model_role role, struct model_facts *out,
                           struct err *err);

/*
 * Facts from Ollama's API replies, for when the store is not readable (Ollama on
 * another host). show: the /api/show reply object (borrowed; send "verbose":
 * true so per-layer arrays and the token list length survive; an engine's
 * llm_describe answer also carries "size", the on-disk bytes). tags: the
 * /api/tags reply (borrowed; may be NULL) for the on-disk size when show has
 * neither "tensors" nor "size". DOSSIER_EFORMAT if show has no usable model_info.
 */
int model_facts_from_api(const char *name, enum model_role role, const json_t *show, const json_t *tags,
                         struct model_facts *out, struct err *err);

/*
 * Facts from an OpenAI-compatible engine's description (llm_describe of
 * backends/openai.c: "gguf_path", "mmproj_path", "num_ctx", "flash_attn",
 * "meta", "router"). The GGUF its arguments name, when readable here, gives
 * the same facts as Ollama's store ("gguf:<path>"); else meta.size and
 * meta.n_ctx_train ("engine:meta"). The engine fields are filled either way.
 * DOSSIER_EFORMAT when neither gives a size (then nominal sizes).
 * model_facts_from_api hands such a description here.
 */
int model_facts_from_engine(const char *name, enum model_role role, const json_t *describe, struct model_facts *out,
                            struct err *err);

/* Facts from the config's nominal size ("nominal:seed"), with the architecture
 * filled from a built-in table when the name is a well-known model. Never fails. */
void model_facts_nominal(const struct model_spec *spec, enum model_role role, struct model_facts *out);

/*
 * The speech model: 0 bytes when transcriber_url is set ("remote:<url>"), the
 * size of model_dir's files for a pocketsphinx engine when the directory is
 * readable ("files:<dir>"), else the config's nominal bytes. model_dir NULL or
 * "" skips the directory. Never fails.
 */
void model_facts_asr(const struct model_spec *spec, const char *model_dir, const char *transcriber_url,
                     struct model_facts *out);

#endif
