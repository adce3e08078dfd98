/*
 * asr.c — the engine-independent half of asr.h: lazy loading, the JSON
 * convenience, each engine's constructor from the configuration (engines.c
 * chooses which), word error rate.
 */
#include "backends/asr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/err.h"
#include "dossier_config.h"

uint64_t asr_pocketsphinx_model_bytes(const char *model_dir);  /* asr_pocketsphinx.c */

struct asr_backend {
	const struct asr_backend_ops *ops;  /* borrowed, static */
	void *ctx;                          /* engine state; NULL until loaded */
	char *where;                        /* model directory or URL (owned) */
	struct config cfg;                  /* copy; valid only if has_cfg */
	int has_cfg;
	char name[192];                     /* "pocketsphinx:en-us", "whisper-http:<model>" */
};

int asr_backend_new(const struct asr_backend_ops *ops, const char *where,
                    const struct config *cfg, asr_backend **out, struct err *err)
{
	*out = NULL;
	asr_backend *b = calloc(1, sizeof *b);
	if (!b)
		return err_set(err, DOSSIER_ENOMEM, "out of memory creating the speech engine");
	b->ops = ops;
	b->where = strdup(where ? where : "");
	if (!b->where) {
		free(b);
		return err_set(err, DOSSIER_ENOMEM, "out of memory creating the speech engine");
	}
	if (cfg) {
		b->cfg = *cfg;
		b->has_cfg = 1;
	}
	if (ops == &asr_pocketsphinx_ops)
		snprintf(b->name, sizeof b->name, "pocketsphinx:en-us");
	else
		snprintf(b->name, sizeof b->name, "%s", ops->name);
	*out = b;
	return 0;
}

int asr_http_new(const char *url, const char *model, asr_backend **out, struct err *err)
{
	*out = NULL;
	if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
		return err_set(err, DOSSIER_EINVAL,
		               "transcriber URL '%s' must start with http:// or https:// "
		               "(e.g. http://127.0.0.1:8080/v1/audio/transcriptions)",
		               url ? url : "");
	struct config c;
	config_defaults(&c, "prod");
	snprintf(c.models[ROLE_ASR].name, sizeof c.models[ROLE_ASR].name, "%s",
	         model && *model ? model : "whisper-1");
	/* "?model=NAME" in the URL wins (asr_http.c reads it the same way). */
	const char *q = strchr(url, '?');
	for (const char *kv = q; kv; kv = strchr(kv + 1, '&'))
		if (!strncmp(kv + 1, "model=", 6) && kv[7] && kv[7] != '&')
			snprintf(c.models[ROLE_ASR].name, sizeof c.models[ROLE_ASR].name, "%.*s",
			         (int)strcspn(kv + 7, "&"), kv + 7);
	int rc = asr_backend_new(&asr_http_ops, url, &c, out, err);
	if (rc == 0)
		snprintf((*out)->name, sizeof (*out)->name, "whisper-http:%s", c.models[ROLE_ASR].name);
	return rc;
}

int asr_pocketsphinx_from_config(const struct config *cfg, asr_backend **out, struct err *err)
{
	int rc = asr_pocketsphinx_new(NULL, out, err);
	if (rc == 0) {
		(*out)->cfg = *cfg;
		(*out)->has_cfg = 1;
	}
	return rc;
}

int asr_http_from_config(const struct config *cfg, asr_backend **out, struct err *err)
{
	const char *model = cfg->models[ROLE_ASR].name;
	if (!strncmp(model, "pocketsphinx", 12))
		model = NULL;
	int rc = asr_http_new(cfg->transcriber_url, model, out, err);
	if (rc == 0) {
		char name[128];
		snprintf(name, sizeof name, "%s", (*out)->cfg.models[ROLE_ASR].name);
		(*out)->cfg = *cfg;
		snprintf((*out)->cfg.models[ROLE_ASR].name, sizeof name, "%s", name);
	}
	return rc;
}

int asr_backend_open(asr_backend *b, struct err *err)
{
	if (b->ctx)
		return 0;
	return b->ops->open(b->has_cfg ? &b->cfg : NULL, b->where, &b->ctx, err);
}

void asr_backend_unload(asr_backend *b)
{
	if (b && b->ctx) {
		b->ops->close(b->ctx);
		b->ctx = NULL;
	}
}

int asr_backend_is_loaded(const asr_backend *b)
{
	return b->ctx != NULL;
}

uint64_t asr_backend_memory_bytes(const asr_backend *b)
{
	if (b->ctx)
		return b->ops->memory_bytes(b->ctx);
	/* Measured: loading en-us adds about 2.5x its files' size to RSS (37 MB of
	 * files, 94 MB resident) — the dictionary and LM are expanded in memory. */
	if (b->ops == &asr_pocketsphinx_ops)
		return asr_pocketsphinx_model_bytes(b->where) * 5 / 2;
	return 0;
}

const char *asr_backend_name(const asr_backend *b)
{
	return b->name;
}

int asr_transcribe(asr_backend *b, const char *media_path, asr_segment_cb cb, void *user,
                   volatile int *cancel, struct err *err)
{
	int rc = asr_backend_open(b, err);
	if (rc != 0)
		return rc;
	return b->ops->transcribe(b->ctx, media_path, cb, user, cancel, err);
}

static double round_ms(double s)
{
	return (double)(long long)(s * 1000.0 + 0.5) / 1000.0;
}

static int collect(const struct asr_segment *seg, void *user)
{
	json_t *o = json_pack("{s:f,s:f,s:s}", "start", round_ms(seg->start_s), "end",
	                      round_ms(seg->end_s), "text", seg->text);
	if (!o)
		return 1;
	if (seg->confidence >= 0)
		json_object_set_new(o, "confidence", json_real(round_ms(seg->confidence)));
	return json_array_append_new(user, o) != 0;
}

int asr_transcribe_json(asr_backend *b, const char *media_path, json_t **segments_out,
                        struct err *err)
{
	*segments_out = NULL;
	json_t *arr = json_array();
	if (!arr)
		return err_set(err, DOSSIER_ENOMEM, "out of memory");
	int rc = asr_transcribe(b, media_path, collect, arr, NULL, err);
	if (rc != 0) {
		json_decref(arr);
		return rc;
	}
	*segments_out = arr;
	return 0;
}

const char *asr_backend_language(const asr_backend *b)
{
	return b && b->ctx && b->ops->language ? b->ops->language(b->ctx) : NULL;
}

void asr_language_code(const char *name, char *out, size_t n)
{
	static const char *const names[][2] = {
		{"english", "en"}, {"german", "de"}, {"french", "fr"}, {"spanish", "es"}, {"italian", "it"},
		{"dutch", "nl"}, {"portuguese", "pt"}, {"russian", "ru"}, {"polish", "pl"}, {"czech", "cs"},
		{"swedish", "sv"}, {"danish", "da"}, {"norwegian", "no"}, {"finnish", "fi"}, {"greek", "el"},
		{"turkish", "tr"}, {"ukrainian", "uk"}, {"chinese", "zh"}, {"japanese", "ja"}, {"korean", "ko"},
		{"arabic", "ar"}, {"hebrew", "he"}, {"hindi", "hi"}, {"hungarian", "hu"}, {"romanian", "ro"},
	};
	char low[64];
	size_t i = 0;
	for (; name && name[i] && i < sizeof low - 1; i++)
		low[i] = (char)tolower((unsigned char)name[i]);
	low[i] = '\0';
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
		if (!strcmp(low, names[k][0])) {
			snprintf(out, n, "%s", names[k][1]);
			return;
		}
	snprintf(out, n, "%s", low);
}

void asr_backend_free(asr_backend *b)
{
	if (!b)
		return;
	asr_backend_unload(b);
	free(b->where);
	free(b);
}

/* ---- word error rate ------------------------------------------------------ */

/* Splits into lower-case words of letters, digits and apostrophes. */
static size_t split_words(const char *s, char ***out)
{
	size_t n = 0, cap = 16;
	char **w = malloc(cap * sizeof *w);
	while (w && *s) {
		while (*s && !(isalnum((unsigned char)*s) || *s == '\'' || (unsigned char)*s >= 0x80))
			s++;
		if (!*s)
			break;
		const char *st = s;
		while (*s && (isalnum((unsigned char)*s) || *s == '\'' || (unsigned char)*s >= 0x80))
			s++;
		if (n == cap) {
			char **p = realloc(w, (cap *= 2) * sizeof *w);
			if (!p)
				break;
			w = p;
		}
		char *word = strndup(st, (size_t)(s - st));
		if (!word)
			break;
		for (char *c = word; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		w[n++] = word;
	}
	*out = w;
	return n;
}

double asr_word_error_rate(const char *ref, const char *hyp, int *out_errors, int *out_ref_words)
{
	char **a, **b;
	size_t n = split_words(ref ? ref : "", &a), m = split_words(hyp ? hyp : "", &b);
	size_t *prev = calloc(m + 1, sizeof *prev), *cur = calloc(m + 1, sizeof *cur);
	size_t d = n > m ? n : m;
	if (prev && cur && a && b) {
		for (size_t j = 0; j <= m; j++)
			prev[j] = j;
		for (size_t i = 1; i <= n; i++) {
			cur[0] = i;
			for (size_t j = 1; j <= m; j++) {
				size_t sub = prev[j - 1] + (strcmp(a[i - 1], b[j - 1]) != 0);
				size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
				size_t best = sub < del ? sub : del;
				cur[j] = best < ins ? best : ins;
			}
			size_t *t = prev;
			prev = cur;
			cur = t;
		}
		d = prev[m];
	}
	free(prev);
	free(cur);
	for (size_t i = 0; i < n; i++)
		free(a[i]);
	for (size_t j = 0; j < m; j++)
		free(b[j]);
	free(a);
	free(b);
	if (out_errors)
		*out_errors = (int)d;
	if (out_ref_words)
		*out_ref_words = (int)n;
	return n ? (double)d / (double)n : (m ? 1.0 : 0.0);
}
