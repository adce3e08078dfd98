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
 * e.g. {"openai", ENGINE_LLM, &openai_ops, where_llm_url} (where_llm_url
 * returning cfg->llm_url), then `llm_engine = openai` and `llm_url = ...` in
 * the config select it. The table is static and
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

/* The LLM engine cfg->llm_engine names ("" = the first LLM row). Does not
 * contact it. DOSSIER_EINVAL (naming the known engines) for an unknown name.
 * Caller frees *out with llm_backend_free. */
int llm_backend_from_config(const struct config *cfg, llm_backend **out, struct err *err);
/* The OCR engine cfg->ocr_engine names, opened for cfg->ocr_lang. Errors as
 * ocr_backend_new, or DOSSIER_EINVAL for an unknown name. Caller frees *out
 * with ocr_backend_free. */
int ocr_backend_from_config(const struct config *cfg, struct ocr_backend **out, struct err *err);

#endif
