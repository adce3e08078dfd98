/*
 * engines.c — the table of engines and the factory (see engines.h).
 */
#include "backends/engines.h"
#include "backends/asr.h"
#include "backends/ocr.h"
#include "backends/ollama.h"
#include "core/config.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

/* llm_url when set, else OLLAMA_HOST / ollama_host as Ollama reads it. */
static const char *where_ollama(const struct config *cfg)
{
	return cfg->llm_url[0] ? cfg->llm_url : cfg->ollama_host;
}

static const char *where_ocr_lang(const struct config *cfg)
{
	return cfg->ocr_lang;
}

static int has_transcriber(const struct config *cfg)
{
	return cfg->transcriber_url[0] != '\0';
}

static int no_transcriber(const struct config *cfg)
{
	return !has_transcriber(cfg);
}

static int make_pocketsphinx(const struct config *cfg, void *out, struct err *err)
{
	return asr_pocketsphinx_from_config(cfg, out, err);
}

static int make_whisper_http(const struct config *cfg, void *out, struct err *err)
{
	return asr_http_from_config(cfg, out, err);
}

static const struct engine_def engines[] = {
	{"ollama", ENGINE_LLM, &ollama_ops, where_ollama, NULL, NULL},
	{"tesseract", ENGINE_OCR, &ocr_tesseract_ops, where_ocr_lang, NULL, NULL},
	{"whisper-http", ENGINE_ASR, &asr_http_ops, NULL, has_transcriber, make_whisper_http},
	{"pocketsphinx", ENGINE_ASR, &asr_pocketsphinx_ops, NULL, no_transcriber, make_pocketsphinx},
};

size_t engine_count(void)
{
	return sizeof engines / sizeof engines[0];
}

const struct engine_def *engine_at(size_t i)
{
	return i < engine_count() ? &engines[i] : NULL;
}

const struct engine_def *engine_find(enum engine_kind kind, const char *name)
{
	for (size_t i = 0; i < engine_count(); i++)
		if (engines[i].kind == kind && (!name || !*name || !strcmp(engines[i].name, name)))
			return &engines[i];
	return NULL;
}

/* The row cfg asks for, or DOSSIER_EINVAL listing the known names. name:
 * the kind's config value (NULL for a kind chosen by predicates). */
static int pick(const struct config *cfg, enum engine_kind kind, const char *name, const char *key,
                const struct engine_def **out, struct err *err)
{
	*out = NULL;
	for (size_t i = 0; i < engine_count() && !*out; i++)
		if (engines[i].kind == kind && engines[i].chosen && engines[i].chosen(cfg))
			*out = &engines[i];
	if (!*out && name)
		*out = engine_find(kind, name);
	if (*out)
		return 0;
	if (!name)
		return err_set(err, DOSSIER_EINVAL, "no %s engine suits this configuration", key);
	char known[256] = "";
	size_t l = 0;
	for (size_t i = 0; i < engine_count() && l < sizeof known; i++)
		if (engines[i].kind == kind)
			l += (size_t)snprintf(known + l, sizeof known - l, "%s%s", l ? ", " : "", engines[i].name);
	return err_set(err, DOSSIER_EINVAL, "%s '%s' is not an engine dossier knows (known: %s)", key, name, known);
}

int llm_backend_from_config(const struct config *cfg, llm_backend **out, struct err *err)
{
	*out = NULL;
	const struct engine_def *e;
	int rc = pick(cfg, ENGINE_LLM, cfg->llm_engine, "llm_engine", &e, err);
	if (rc)
		return rc;
	if (e->make)
		return e->make(cfg, out, err);
	return llm_backend_new(e->ops, e->where ? e->where(cfg) : NULL, cfg, out, err);
}

int ocr_backend_from_config(const struct config *cfg, struct ocr_backend **out, struct err *err)
{
	*out = NULL;
	const struct engine_def *e;
	int rc = pick(cfg, ENGINE_OCR, cfg->ocr_engine, "ocr_engine", &e, err);
	if (rc)
		return rc;
	if (e->make)
		return e->make(cfg, out, err);
	return ocr_backend_new(e->ops, e->where ? e->where(cfg) : NULL, out, err);
}

int asr_backend_from_config(const struct config *cfg, asr_backend **out, struct err *err)
{
	*out = NULL;
	const struct engine_def *e;
	int rc = pick(cfg, ENGINE_ASR, NULL, "speech", &e, err);
	if (rc)
		return rc;
	if (e->make)
		return e->make(cfg, out, err);
	return asr_backend_new(e->ops, e->where ? e->where(cfg) : NULL, cfg, out, err);
}
