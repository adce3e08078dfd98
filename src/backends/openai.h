/*
 * openai.h — the engine for OpenAI-compatible servers behind llm.h: llama.cpp's
 * llama-server (a plain single-model server, or its router mode that loads and
 * unloads models on request), LM Studio, vLLM, LocalAI. Chosen by the factory
 * (engines.h) when the config's engine is "openai", or when "auto" finds a
 * server that answers GET /v1/models.
 *
 *   struct config cfg; config_defaults(&cfg, "dev");
 *   snprintf(cfg.llm_engine, sizeof cfg.llm_engine, "openai");
 *   snprintf(cfg.llm_url, sizeof cfg.llm_url, "http://127.0.0.1:8080");
 *   llm_backend *b;
 *   if (llm_backend_from_config(&cfg, &b, &e) == 0) { llm_chat(b, &rq, &text, &m, &e); ... }
 *
 * The address: a server root ("http://host:8080") or an OpenAI base URL ending
 * in "/v1" (OPENAI_BASE_URL's shape); the API is under <root>/v1, the router's
 * model management under <root>/models/. cfg->llm_api_key, when set, goes as
 * "Authorization: Bearer" on every request and nowhere else.
 *
 * What goes on the wire:
 *   chat   POST /v1/chat/completions, "stream": true with
 *          "stream_options": {"include_usage": true}, read as SSE (sse.h) up to
 *          "[DONE]". A stream that ends without a finish_reason is
 *          DOSSIER_EAGAIN. "temperature", "seed", "max_tokens" (when > 0), and
 *          for a schema "response_format": {"type": "json_schema",
 *          "json_schema": {"name": "reply", "strict": true, "schema": ...}}.
 *          Images as "image_url" parts with data URIs (data:image/png or
 *          image/jpeg;base64,...), only to models that accept images: the
 *          model's architecture.input_modalities in /v1/models, else tried once;
 *          a 500 saying image input is not supported is remembered per model.
 *          Token counts from "usage", durations from llama.cpp's "timings".
 *   load, unload  router: POST /models/load, then GET /v1/models until the
 *          model's status is "loaded" (load_timeout_ms), following GET
 *          /models/sse between two reads when the router has it (else
 *          polling); POST /models/unload, then until "unloaded".
 *          llama-swap (GET /running answers): GET /upstream/<model>/health
 *          loads, POST /api/models/unload/<model> (or GET /unload) unloads,
 *          each until /running agrees. A plain server: nothing to do (0).
 *   ps     router: the models whose status is "loaded" or "loading";
 *          llama-swap: what /running lists; a plain
 *          server: the model it serves, pinned (expires_at far in the future).
 *   show, describe  from /v1/models: meta (n_params, size, n_ctx_train), the
 *          router's child arguments (-m path, -c, --mmproj), input modalities.
 *   ping   GET /v1/models.
 *
 * Errors: 400/404 naming an unknown model is DOSSIER_EMODEL naming it; 401/403
 * DOSSIER_EINVAL (the key); 503 (loading) DOSSIER_EAGAIN; other 5xx
 * DOSSIER_EAGAIN with the server's message; image input refused DOSSIER_EMODEL.
 *
 * Thread safe: every call uses its own curl handle; the per-model memo is locked.
 */
#ifndef DOSSIER_BACKENDS_OPENAI_H
#define DOSSIER_BACKENDS_OPENAI_H

#include "backends/llm.h"

#include <stddef.h>

extern const struct llm_backend_ops openai_ops;

/* "data:image/png;base64,..." (PNG by its signature, else image/jpeg) for n
 * bytes; caller frees. NULL when out of memory or too large. */
char *openai_data_uri(const unsigned char *data, size_t n);

/* The server root of an address: trailing slashes and a final "/v1" dropped,
 * into out (n bytes). */
void openai_root_url(const char *url, char *out, size_t n);

#endif
