/*
 * engines.c — the table of engines and the factory (see engines.h).
 */
#include "backends/engines.h"
#include "backends/ocr.h"
#include "backends/ollama.h"
#include "core/config.h"
#include "core/err.h"

#include <stdio.h>
#include <string.h>

static const char *where_ollama(const struct config *cfg)
{
	return cfg->ollama_host;
}

static const char *where_ocr_lang(const struct config *cfg)
{
	return cfg->ocr_lang;
}

static const struct engine_def engines[] = {
	{"ollama", ENGINE_LLM, &ollama_ops, where_ollama},
	{"tesseract", ENGINE_OCR, &ocr_tesseract_ops, where_ocr_lang},
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

/* The row cfg asks for, or DOSSIER_EINVAL listing the known names. */
static int pick(enum engine_kind kind, const char *name, const char *key, const struct engine_def **out,
                struct err *err)
{
	*out = engine_find(kind, name);
	if (*out)
		return 0;
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
	int rc = pick(ENGINE_LLM, cfg->llm_engine, "llm_engine", &e, err);
	if (rc)
		return rc;
	return llm_backend_new(e->ops, e->where ? e->where(cfg) : NULL, cfg, out, err);
}

int ocr_backend_from_config(const struct config *cfg, struct ocr_backend **out, struct err *err)
{
	*out = NULL;
	const struct engine_def *e;
	int rc = pick(ENGINE_OCR, cfg->ocr_engine, "ocr_engine", &e, err);
	if (rc)
		return rc;
	return ocr_backend_new(e->ops, e->where ? e->where(cfg) : NULL, out, err);
}
