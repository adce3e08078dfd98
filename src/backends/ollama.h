/*
 * ollama.h — the Ollama engine behind the llm_backend vtable (llm.h), over
 * Ollama's HTTP API (reference/ollama.md) with libcurl.
 *
 *   ollama_global_init();                      // once, before threads start
 *   struct llm_backend *b;
 *   if (ollama_backend_new(&cfg, &b, &e)) { fprintf(stderr, "%s\n", e.msg); ... }
 *   char ver[32];
 *   if (b->ops->ping(b->ctx, ver, sizeof ver, &e) == DOSSIER_EUNAVAILABLE) ...;
 *   llm_backend_free(b);
 *
 * What goes on the wire:
 *   chat   POST /api/chat, streamed NDJSON (core/buf.h CAP_NDJSON_LINE per line,
 *          CAP_LLM_REPLY for the text). options always carry num_ctx (when > 0),
 *          temperature and seed; keep_alive is sent as given; "think": false only
 *          for models whose /api/show capabilities include "thinking"; images go
 *          as plain base64, and only to models with the "vision" capability.
 *   load   POST /api/chat {"messages":[]} with keep_alive and options.num_ctx,
 *          timed on the client (the reply carries no metrics).
 *   unload POST /api/chat {"messages":[],"keep_alive":0}.
 *   ps, show, ping   GET /api/ps, POST /api/show (+ GET /api/tags for the size),
 *          GET /api/version.
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

struct config;
struct err;

/* curl_global_init, once per process (later calls do nothing). Call it before
 * any thread starts. Returns 0 or DOSSIER_EUNAVAILABLE. */
int ollama_global_init(void);

/* A backend talking to cfg->ollama_host. Copies what it needs from cfg (the
 * models' num_ctx, the timeouts). Does not contact Ollama. Caller frees with
 * llm_backend_free. DOSSIER_ENOMEM only. */
int ollama_backend_new(const struct config *cfg, struct llm_backend **out, struct err *err);

/*
 * Turns an HTTP error reply into a dossier code and sentence (exposed for tests):
 * 404 model not found -> DOSSIER_EMODEL ("run `ollama pull X`"); 500 out of
 * memory -> DOSSIER_EMODEL (suggests --profile dev or a smaller num_ctx); 503 and
 * other 5xx -> DOSSIER_EAGAIN; capability refusals -> DOSSIER_EMODEL; other 4xx
 * -> DOSSIER_EINVAL with Ollama's message. body may be NULL; model may be NULL.
 */
int ollama_map_http_error(long status, const char *body, const char *model, const char *url,
                          const char *path, struct err *err);

/* Plain standard base64 with padding (no "data:" prefix). Caller frees with free(). */
char *ollama_base64(const unsigned char *data, size_t n);

#endif
