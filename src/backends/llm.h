/*
 * llm.h — the LLM engine interface: an opaque handle with dispatcher
 * functions over a small vtable, so another engine (an OpenAI-compatible
 * server, say) is one new file beside ollama.c plus one row in engines.c.
 *
 *   llm_backend *b;
 *   if (llm_backend_from_config(&cfg, &b, &e)) ...;       // engines.h: the factory
 *   struct llm_request rq = {.model = "llama3.2:3b", .prompt = "Hi", .num_ctx = 4096,
 *                            .temperature = 0.2, .seed = 42, .keep_alive_s = 30 * 60};
 *   char *text; struct llm_metrics m;
 *   if (llm_chat(b, &rq, &text, &m, &e) == 0) { ...; free(text); }
 *   llm_backend_free(b);
 *
 * Return codes shared by every call: 0; DOSSIER_EUNAVAILABLE (engine not
 * reachable); DOSSIER_EMODEL (model not pulled, cannot run, lacks a capability);
 * DOSSIER_EAGAIN (transient: busy, stream cut, error mid-stream; retry later);
 * DOSSIER_ETIMEOUT (connect, load or idle deadline passed); DOSSIER_ECANCELLED
 * (the request's cancel flag was set); DOSSIER_EINVAL (the engine refused the
 * request); DOSSIER_ETOOBIG (a cap in core/buf.h was exceeded); DOSSIER_EFORMAT
 * (the engine answered something unparseable); DOSSIER_EUNSUPPORTED (the engine has
 * no such operation). On failure no out-parameter is set and `err` holds a
 * sentence naming the URL/model and what to do.
 *
 * Thread safety: a backend may be used from several threads; each call is
 * independent (the engine itself serialises work per model).
 */
#ifndef DOSSIER_BACKENDS_LLM_H
#define DOSSIER_BACKENDS_LLM_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct err;
struct config;

/* keep_alive: how long the engine keeps a model loaded after a request, in
 * seconds, or one of these. The engine writes it in its own wire format. */
#define LLM_KEEP_ALIVE_UNSET   INT64_MIN  /* say nothing: the engine's own default applies */
#define LLM_KEEP_ALIVE_FOREVER (-1)       /* pin the model until it is unloaded */
#define LLM_KEEP_ALIVE_NOW     0          /* unload as soon as the request is done */

struct llm_request {
	const char *model;                    /* borrowed; engine model name */
	const char *system;                   /* borrowed; system prompt or NULL */
	const char *prompt;                   /* borrowed; the user message */
	const unsigned char *const *images;   /* borrowed; n_images raw image files (PNG/JPEG) or NULL */
	const size_t *image_lens;             /* borrowed; byte length of each image */
	int n_images;                         /* 0 = text only */
	json_t *format;                       /* borrowed JSON Schema for the reply, or NULL for free text */
	int num_ctx;                          /* context window; 0 = engine default. Keep it fixed per model */
	double temperature;                   /* sampling temperature */
	int seed;                             /* sampling seed */
	int max_tokens;                       /* most tokens to generate; 0 = the engine's default */
	int64_t keep_alive_s;                 /* seconds, or LLM_KEEP_ALIVE_*; 0 in a zeroed struct = unload now */
	volatile int *cancel;                 /* borrowed; set *cancel != 0 to abort; may be NULL */
};

/* One batch of texts to embed (llm_embed). */
struct llm_embed_request {
	const char *model;            /* borrowed; engine model name */
	const char *const *texts;     /* borrowed; n_texts UTF-8 strings */
	size_t n_texts;               /* at least 1 */
	int num_ctx;                  /* context window; 0 = engine default */
	int64_t keep_alive_s;         /* as in llm_request */
	volatile int *cancel;         /* borrowed; may be NULL */
};

/* What one call cost. Engine-reported durations in nanoseconds (missing = 0). */
struct llm_metrics {
	int64_t prompt_eval_count;  /* prompt tokens */
	int64_t eval_count;         /* generated tokens */
	int64_t total_ns;           /* engine: whole request */
	int64_t load_ns;            /* engine: waiting for a ready model */
	int64_t prompt_eval_ns;     /* engine: prompt processing */
	int64_t eval_ns;            /* engine: generation */
	double wall_s;              /* measured by us, request start to last byte */
};

struct llm_model_info {
	char name[128];          /* model name as asked */
	uint64_t size_bytes;     /* on-disk size (weights file); 0 = unknown */
	int vision;              /* 1 if the model accepts images */
	int thinking;            /* 1 if the model has a thinking mode */
	int completion;          /* 1 if the model can chat/generate */
	int embedding;           /* 1 if the model embeds text (an embedding model) */
	int block_count;         /* layers; 0 = unknown */
	int head_count;          /* attention heads (largest if per layer) */
	int head_count_kv;       /* KV heads (smallest if per layer) */
	int embedding_length;    /* hidden size */
	int context_length;      /* trained maximum context */
	char family[32];         /* e.g. "llama" */
	char parameter_size[16]; /* e.g. "3.2B" */
	char quantization[16];   /* e.g. "Q4_K_M" */
};

/* expires_at of a model the engine cannot unload (a plain single-model
 * server's): a swap does not wait for it to go. */
#define LLM_EXPIRES_PINNED "9999-12-31T23:59:59Z"

struct llm_resident {
	char name[128];          /* model name as the engine lists it */
	uint64_t size_bytes;     /* bytes the loaded instance uses (weights + KV + buffers) */
	uint64_t size_vram;      /* part of size_bytes on a GPU */
	char expires_at[40];     /* RFC 3339; far future when pinned */
	int context_length;      /* num_ctx the instance runs with; 0 = unknown */
	uint64_t rss_bytes;      /* resident set of the process serving it (/proc VmRSS), when that
	                            process runs on this machine and was found; 0 = unknown */
	char size_src[32];       /* where size_bytes came from: "api/ps", "engine:meta.size"; "" = none */
};

/* An engine. Each slot documents its contract; a NULL slot answers
 * DOSSIER_EUNSUPPORTED through the dispatchers. */
struct llm_backend_ops {
	const char *name;  /* engine name used in sources: "ollama" */
	/* Makes the engine's context from the config; `where` is the engine's
	 * address (a base URL) or NULL for the one the config names. Does not
	 * contact the engine. *ctx is freed by close. */
	int (*open)(const struct config *cfg, const char *where, void **ctx, struct err *err);
	/* The address it talks to, for messages (borrowed, valid while ctx lives). */
	const char *(*url)(void *ctx);
	/* One chat turn. On success *text_out is the whole reply (caller frees with
	 * free()) and *m (may be NULL) the metrics. A reply that did not end
	 * properly is DOSSIER_EAGAIN, never a result. */
	int (*chat)(void *ctx, const struct llm_request *rq, char **text_out, struct llm_metrics *m,
	            struct err *err);
	/* Embeds rq->n_texts texts in one request. On success *vectors is
	 * n_texts x *dim floats, row i the vector of texts[i] (caller frees with
	 * free()); *m (may be NULL) the metrics. A reply whose count or dimensions
	 * do not match is DOSSIER_EFORMAT. */
	int (*embed)(void *ctx, const struct llm_embed_request *rq, float **vectors, int *dim, struct llm_metrics *m,
	             struct err *err);
	/* Makes a model resident without generating; *load_s (may be NULL) gets the
	 * wall time the load took. keep_alive_s as in llm_request. */
	int (*load)(void *ctx, const char *model, int num_ctx, int64_t keep_alive_s, double *load_s,
	            struct err *err);
	/* Asks the engine to drop a model. Returns when the engine accepted; memory
	 * may be freed a little later (poll ps). Not loaded is not an error. */
	int (*unload)(void *ctx, const char *model, struct err *err);
	/* The resident models. *out is an array of *n (caller frees with free()). */
	int (*ps)(void *ctx, struct llm_resident **out, size_t *n, struct err *err);
	/* Capabilities and shapes of an installed model. DOSSIER_EMODEL if not pulled. */
	int (*show)(void *ctx, const char *model, struct llm_model_info *out, struct err *err);
	/* The engine's own description of an installed model as JSON, in the shape
	 * of Ollama's /api/show reply (model_info, capabilities, projector_info,
	 * parameters) with "size" (on-disk bytes) added, for plan/facts.c
	 * (model_facts_from_api). *out: caller decrefs. DOSSIER_EMODEL if not pulled. */
	int (*describe)(void *ctx, const char *model, json_t **out, struct err *err);
	/* Liveness; writes the engine version (NUL-terminated, at most n bytes).
	 * A llama.cpp router's ends in ", --models-max N" when it keeps at most N. */
	int (*ping)(void *ctx, char *version, size_t n, struct err *err);
	/* The one model the engine serves whatever name a request gives (a plain
	 * llama-server, or vLLM serving one model): its name in model (at most n
	 * bytes) and 0. DOSSIER_ENOTFOUND when the engine serves models by name.
	 * NULL = serves by name. */
	int (*served)(void *ctx, char *model, size_t n, struct err *err);
	/* Frees ctx. NULL is a no-op. */
	void (*close)(void *ctx);
};

typedef struct llm_backend llm_backend;  /* opaque; defined in llm.c */

/*
 * A backend for any engine: calls ops->open(cfg, where, ...). ops is borrowed
 * (static); cfg is read during the call only. Caller frees *out with
 * llm_backend_free. On error *out is NULL.
 */
int llm_backend_new(const struct llm_backend_ops *ops, const char *where, const struct config *cfg,
                    llm_backend **out, struct err *err);
/*
 * A backend over a context made elsewhere (tests' scripted engines): consumes
 * ctx (freed by ops->close, if any). ops is borrowed; url (may be NULL) copied.
 */
int llm_backend_wrap(const struct llm_backend_ops *ops, void *ctx, const char *url, llm_backend **out,
                     struct err *err);
/* Frees the backend and its context. NULL is a no-op. */
void llm_backend_free(llm_backend *b);

/* "ollama" — for `sources`. Borrowed (static). */
const char *llm_backend_name(const llm_backend *b);
/* The engine's address, for messages. Borrowed, valid while b lives; "" if none. */
const char *llm_backend_url(const llm_backend *b);

/* Dispatchers: see the slot of the same name in struct llm_backend_ops. */
int llm_chat(llm_backend *b, const struct llm_request *rq, char **text_out, struct llm_metrics *m,
             struct err *err);
int llm_embed(llm_backend *b, const struct llm_embed_request *rq, float **vectors, int *dim,
              struct llm_metrics *m, struct err *err);
int llm_load(llm_backend *b, const char *model, int num_ctx, int64_t keep_alive_s, double *load_s,
             struct err *err);
int llm_unload(llm_backend *b, const char *model, struct err *err);
int llm_ps(llm_backend *b, struct llm_resident **out, size_t *n, struct err *err);
int llm_show(llm_backend *b, const char *model, struct llm_model_info *out, struct err *err);
int llm_describe(llm_backend *b, const char *model, json_t **out, struct err *err);
int llm_ping(llm_backend *b, char *version, size_t n, struct err *err);
int llm_served(llm_backend *b, char *model, size_t n, struct err *err);

/* 1 if the two names are the same model ("llava" and "llava:latest" are). */
int llm_model_name_eq(const char *a, const char *b);

#endif
