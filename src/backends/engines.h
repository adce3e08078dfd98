/*
 * engines.h — the factory: the one table of engines, and the functions that
 * pick one from the configuration.
 *
 *   llm_backend *llm;
 *   if (llm_backend_from_config(&cfg, &llm, &e)) ...;   // cfg.llm_engine: "ollama"
 *   struct ocr_backend *ocr;
 *   if (ocr_backend_from_config(&cfg, &ocr, &e)) ...;   // cfg.ocr_engine: "tesseract"
 *   asr_backend *asr;
 *   if (asr_backend_from_config(&cfg, &asr, &e)) ...;   // whisper-http if cfg.transcriber_url, else pocketsphinx
 *
 * Adding an engine is one new file (its ops table) and one row in engines.c:
 * e.g. {"openai", ENGINE_LLM, &openai_ops, where_openai}, then `engine =
 * openai` and `llm_url = ...` in the config select it; `engine = auto` (the
 * default) asks the server (llm_engine_resolve). The table is static and
 * read-only: thread safe.
 */
#ifndef DOSSIER_BACKENDS_ENGINES_H
#define DOSSIER_BACKENDS_ENGINES_H

#include "backends/llm.h"

#include <stddef.h>

struct config;
struct err;
struct ocr_backend;

enum engine_kind {
	ENGINE_LLM = 0,  /* ops is a const struct llm_backend_ops * */
	ENGINE_OCR,      /* ops is a const struct ocr_backend_ops * */
	ENGINE_ASR,      /* ops is a const struct asr_backend_ops * */
};

struct engine_def {
	const char *name;       /* as the config names it (llm_engine, ocr_engine) and as `sources` show it */
	enum engine_kind kind;  /* which role kind it serves */
	const void *ops;        /* the engine's table, static */
	/* Where the engine lives, from the config: a base URL (llm), languages
	 * (ocr), a URL or model directory (asr). NULL slot or NULL result = the
	 * engine's own default. */
	const char *(*where)(const struct config *cfg);
	/* 1 if cfg asks for this engine. NULL = when the kind's config key names
	 * it (llm_engine, ocr_engine; "" = the kind's first row). The first row
	 * of a kind that says 1 wins. */
	int (*chosen)(const struct config *cfg);
	/* Makes the backend from cfg when the engine needs more than an address
	 * (asr: the model name, a URL check); *out is the kind's handle
	 * (asr_backend **). NULL = the kind's generic constructor with where(cfg). */
	int (*make)(const struct config *cfg, void *out, struct err *err);
};

/* Rows in table order; engine_at(i) for i < engine_count() is never NULL. */
size_t engine_count(void);
const struct engine_def *engine_at(size_t i);
/* The row of that kind and name, or NULL. */
const struct engine_def *engine_find(enum engine_kind kind, const char *name);

/* What answers at an address, as llm_engine_probe or llm_engine_resolve found it. */
struct llm_engine_found {
	char engine[32];  /* the row that speaks to it: "ollama", "openai" */
	char kind[48];    /* what the server is: "Ollama", "llama.cpp router", "llama-swap",
	                     "OpenAI-compatible server"; "" = not asked or nothing answered */
	char url[256];    /* the address */
	char how[256];    /* how dossier knows: "GET /api/version answered version 0.33.0",
	                     "--engine openai", ... */
};

/*
 * Asks the server at url what it is: Ollama answers GET /api/version; an
 * OpenAI-compatible server answers GET /v1/models (llama.cpp's router adds a
 * "status" to each model there); llama-swap answers GET /running. The
 * config's API key goes with the OpenAI requests. 0 and *out filled;
 * DOSSIER_EUNAVAILABLE when nothing listens; DOSSIER_ENOTFOUND when the server
 * answers none of these.
 */
int llm_engine_probe(const struct config *cfg, const char *url, struct llm_engine_found *out, struct err *err);
/* As llm_engine_probe, asking GET /v1/models first (for an address given as
 * an OpenAI base URL: OPENAI_BASE_URL). */
int llm_engine_probe_openai_first(const struct config *cfg, const char *url, struct llm_engine_found *out,
                                  struct err *err);
/*
 * The engine and address the config asks for. An explicit engine ("ollama",
 * "openai") is taken as said, without contacting it; "auto" probes llm_url,
 * else OPENAI_BASE_URL (when set) and then Ollama's address, and takes the
 * first that answers; when none answers, Ollama at its address (its ping then
 * says it is not reachable). DOSSIER_EINVAL for an unknown engine name.
 */
int llm_engine_resolve(const struct config *cfg, struct llm_engine_found *out, struct err *err);
/* The LLM engine cfg->llm_engine names ("" = the first LLM row). Does not
 * contact it, except for "auto" (llm_engine_resolve). DOSSIER_EINVAL (naming
 * the known engines) for an unknown name. Caller frees *out with
 * llm_backend_free. */
int llm_backend_from_config(const struct config *cfg, llm_backend **out, struct err *err);
/* The backend for what llm_engine_resolve found. Caller frees *out. */
int llm_backend_from_found(const struct config *cfg, const struct llm_engine_found *found, llm_backend **out,
                           struct err *err);
/*
 * llm_ping, and when the server answers but not as *b's engine does, a probe:
 * a server of another kind is DOSSIER_EUNAVAILABLE with a sentence naming what
 * it is and the flag that would work ("... is a llama.cpp router, not Ollama:
 * run with --engine openai (or --engine auto)"). Then *b is replaced (the old
 * one freed) by a backend that answers every call with DOSSIER_EUNAVAILABLE
 * and that sentence, so steps wait queued instead of failing. version as
 * llm_ping. A server that serves one model whatever the name (llm_served)
 * becomes the model of every LLM role in cfg that names one.
 */
int llm_backend_check(llm_backend **b, struct config *cfg, char *version, size_t n, struct err *err);
/* The OCR engine cfg->ocr_engine names, opened for cfg->ocr_lang. Errors as
 * ocr_backend_new, or DOSSIER_EINVAL for an unknown name. Caller frees *out
 * with ocr_backend_free. */
int ocr_backend_from_config(const struct config *cfg, struct ocr_backend **out, struct err *err);

#endif
