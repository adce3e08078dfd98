/*
 * llm.h — the LLM engine interface: a small vtable, so another engine (an
 * OpenAI-compatible server, say) is one new file beside ollama.c.
 *
 *   struct llm_backend *b;
 *   if (ollama_backend_new(&cfg, &b, &e)) ...;            // see ollama.h
 *   struct llm_request rq = {.model = "llama3.2:3b", .prompt = "Hi", .num_ctx = 4096,
 *                            .temperature = 0.2, .seed = 42, .keep_alive = "\"30m\""};
 *   char *text; struct llm_metrics m;
 *   if (b->ops->chat(b->ctx, &rq, &text, &m, &e) == 0) { ...; free(text); }
 *   llm_backend_free(b);
 *
 * Return codes shared by every slot: 0; DOSSIER_EUNAVAILABLE (engine not
 * reachable); DOSSIER_EMODEL (model not pulled, cannot run, lacks a capability);
 * DOSSIER_EAGAIN (transient: busy, stream cut, error mid-stream; retry later);
 * DOSSIER_ETIMEOUT (connect, load or idle deadline passed); DOSSIER_ECANCELLED
 * (the request's cancel flag was set); DOSSIER_EINVAL (the engine refused the
 * request); DOSSIER_ETOOBIG (a cap in core/buf.h was exceeded); DOSSIER_EFORMAT
 * (the engine answered something unparseable). On failure no out-parameter is
 * set and `err` holds a sentence naming the URL/model and what to do.
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
	const char *keep_alive;               /* borrowed JSON fragment: "-1", "0", "\"30m\""; NULL = absent */
	volatile int *cancel;                 /* borrowed; set *cancel != 0 to abort; may be NULL */
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
	int block_count;         /* layers; 0 = unknown */
	int head_count;          /* attention heads (largest if per layer) */
	int head_count_kv;       /* KV heads (smallest if per layer) */
	int embedding_length;    /* hidden size */
	int context_length;      /* trained maximum context */
	char family[32];         /* e.g. "llama" */
	char parameter_size[16]; /* e.g. "3.2B" */
	char quantization[16];   /* e.g. "Q4_K_M" */
};

struct llm_resident {
	char name[128];          /* model name as the engine lists it */
	uint64_t size_bytes;     /* bytes the loaded instance uses (weights + KV + buffers) */
	uint64_t size_vram;      /* part of size_bytes on a GPU */
	char expires_at[40];     /* RFC 3339; far future when pinned */
	int context_length;      /* num_ctx the instance runs with; 0 = unknown */
};

struct llm_backend_ops {
	const char *name;  /* engine name used in sources: "ollama" */
	/* One chat turn. On success *text_out is the whole reply (caller frees with
	 * free()) and *m (may be NULL) the metrics. A reply that did not end
	 * properly is DOSSIER_EAGAIN, never a result. */
	int (*chat)(void *ctx, const struct llm_request *rq, char **text_out, struct llm_metrics *m,
	            struct err *err);
	/* Makes a model resident without generating; *load_s (may be NULL) gets the
	 * wall time the load took. keep_alive as in llm_request (NULL = absent). */
	int (*load)(void *ctx, const char *model, int num_ctx, const char *keep_alive, double *load_s,
	            struct err *err);
	/* Asks the engine to drop a model. Returns when the engine accepted; memory
	 * may be freed a little later (poll ps). Not loaded is not an error. */
	int (*unload)(void *ctx, const char *model, struct err *err);
	/* The resident models. *out is an array of *n (caller frees with free()). */
	int (*ps)(void *ctx, struct llm_resident **out, size_t *n, struct err *err);
	/* Capabilities and shapes of an installed model. DOSSIER_EMODEL if not pulled. */
	int (*show)(void *ctx, const char *model, struct llm_model_info *out, struct err *err);
	/* Liveness; writes the engine version (NUL-terminated, at most n bytes). */
	int (*ping)(void *ctx, char *version, size_t n, struct err *err);
	/* Frees ctx. */
	void (*destroy)(void *ctx);
};

struct llm_backend {
	const struct llm_backend_ops *ops;  /* static; never NULL */
	void *ctx;                          /* owned; freed by ops->destroy */
	char url[256];                      /* where the engine lives, for messages */
};

/* Frees the backend and its context. NULL is a no-op. */
void llm_backend_free(struct llm_backend *b);

/* 1 if the two names are the same model ("llava" and "llava:latest" are). */
int llm_model_name_eq(const char *a, const char *b);

#endif
