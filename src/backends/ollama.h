/*
 * ollama.h — the Ollama engine behind llm.h, over Ollama's HTTP API
 * (reference/ollama.md) through the shared transport (http.h). Chosen by the
 * factory (engines.h) when the config's llm_engine is "ollama" (the default).
 *
 *   llm_backend *b;
 *   if (llm_backend_from_config(&cfg, &b, &e)) { ... }    // or ollama_backend_new
 *   char ver[32];
 *   if (llm_ping(b, ver, sizeof ver, &e) == DOSSIER_EUNAVAILABLE) ...;
 *   llm_backend_free(b);
 *
 * What goes on the wire:
 *   chat   POST /api/chat, streamed NDJSON (core/buf.h CAP_NDJSON_LINE per line,
 *          CAP_LLM_REPLY for the text). options always carry num_ctx (when > 0),
 *          temperature and seed; keep_alive as ollama_keep_alive_json writes it;
 *          "think": false only for models whose /api/show capabilities include
 *          "thinking"; images go as plain base64, and only to models with the
 *          "vision" capability.
 *   load   POST /api/chat {"messages":[]} with keep_alive and options.num_ctx,
 *          timed on the client (the reply carries no metrics).
 *   unload POST /api/chat {"messages":[],"keep_alive":0}.
 *   ps, show, describe, ping   GET /api/ps, POST /api/show (+ GET /api/tags for
 *          the size; describe asks "verbose": true), GET /api/version.
 *
 * Timeouts (from struct config): connect_timeout_ms for the TCP connect;
 * load_timeout_ms for a load, and for the first byte of a chat reply (Ollama
 * may load the model and read the prompt before it says anything);
 * idle_timeout_ms for the silence between two streamed chunks and for the small
 * GET/show requests. Cancellation is checked at least once a second.
 *
 * Thread safe: every call uses its own curl handle; the capability cache is
 * locked.
 */
#ifndef DOSSIER_BACKENDS_OLLAMA_H
#define DOSSIER_BACKENDS_OLLAMA_H

#include "backends/llm.h"

#include <jansson.h>
#include <stdint.h>

struct config;
struct err;

/* The engine's table (engines.c lists it). open's `where` is a base URL; NULL
 * = cfg->ollama_host. Copies what it needs from cfg (models' num_ctx, timeouts). */
extern const struct llm_backend_ops ollama_ops;

/* llm_backend_new(&ollama_ops, NULL, cfg, ...): a backend talking to
 * cfg->ollama_host. Does not contact Ollama. Caller frees with llm_backend_free. */
int ollama_backend_new(const struct config *cfg, llm_backend **out, struct err *err);

/*
 * Turns an HTTP error reply into a dossier code and sentence (exposed for tests):
 * 404 model not found -> DOSSIER_EMODEL ("run `ollama pull X`"); 500 out of
 * memory -> DOSSIER_EMODEL (suggests --profile dev or a smaller num_ctx); 503 and
 * other 5xx -> DOSSIER_EAGAIN; capability refusals -> DOSSIER_EMODEL; other 4xx
 * -> DOSSIER_EINVAL with Ollama's message. body may be NULL; model may be NULL.
 */
int ollama_map_http_error(long status, const char *body, const char *model, const char *url,
                          const char *path, struct err *err);

/* keep_alive (seconds or LLM_KEEP_ALIVE_*) as Ollama reads it: NULL for UNSET,
 * -1 for any negative, 0, "30m" for whole minutes, else "45s". New reference. */
json_t *ollama_keep_alive_json(int64_t keep_alive_s);

/* Plain standard base64 with padding (no "data:" prefix), by libavutil.
 * Caller frees with free(); NULL if out of memory. */
char *ollama_base64(const unsigned char *data, size_t n);

#endif
