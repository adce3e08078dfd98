/*
 * engines.c — the table of engines and the factory (see engines.h).
 */
#include "backends/engines.h"
#include "backends/asr.h"
#include "backends/ocr.h"
#include "backends/http.h"
#include "backends/ollama.h"
#include "backends/openai.h"
#include "core/config.h"
#include "core/err.h"
#include "core/role.h"

#include <jansson.h>
#include <stdlib.h>

#include <stdio.h>
#include <string.h>

/* llm_url when set, else OLLAMA_HOST / ollama_host as Ollama reads it. */
static const char *where_ollama(const struct config *cfg)
{
	return cfg->llm_url[0] ? cfg->llm_url : cfg->ollama_host;
}

/* llm_url when set, else OPENAI_BASE_URL, else llama-server's default address. */
static const char *where_openai(const struct config *cfg)
{
	return cfg->llm_url[0] ? cfg->llm_url : cfg->openai_base_url[0] ? cfg->openai_base_url : "http://127.0.0.1:8080";
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
	{"openai", ENGINE_LLM, &openai_ops, where_openai, NULL, NULL},
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

/* ------------------------------------------------- what is at an address */

/* GET url; 0 with the status and the parsed JSON body (NULL if not JSON). */
static int probe_get(const struct config *cfg, const char *url, int bearer, long *status, json_t **body,
                     struct err *err)
{
	struct http_request rq;
	http_request_default(&rq);
	rq.url = url;
	rq.bearer = bearer ? cfg->llm_api_key : NULL;
	rq.connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 3000;
	int t = cfg->idle_timeout_ms > 0 && cfg->idle_timeout_ms < 10000 ? cfg->idle_timeout_ms : 10000;
	rq.first_byte_ms = t;
	rq.idle_ms = t;
	rq.body_cap = 8u * 1024u * 1024u;
	struct http_result res;
	int rc = http_run(&rq, &res, err);
	*status = res.status;
	*body = !rc && res.body.len ? json_loadb(res.body.data, res.body.len, 0, NULL) : NULL;
	http_result_free(&res);
	return rc;
}

static void found_set(struct llm_engine_found *f, const char *engine, const char *kind, const char *url,
                      const char *how)
{
	snprintf(f->engine, sizeof f->engine, "%s", engine);
	snprintf(f->kind, sizeof f->kind, "%s", kind);
	snprintf(f->url, sizeof f->url, "%s", url);
	snprintf(f->how, sizeof f->how, "%s", how);
}

/* Ollama's GET /api/version: 1 found, 0 not Ollama, -1 nothing listens (err set). */
static int probe_ollama(const struct config *cfg, const char *root, struct llm_engine_found *out, struct err *err)
{
	char u[320], how[256];
	long st;
	json_t *j = NULL;
	struct err e = {0};
	snprintf(u, sizeof u, "%s/api/version", root);
	int rc = probe_get(cfg, u, 0, &st, &j, &e);
	const char *v = json_string_value(json_object_get(j, "version"));
	int found = !rc && st == 200 && v;
	if (found) {
		snprintf(how, sizeof how, "GET /api/version answered version %s", v);
		found_set(out, "ollama", "Ollama", root, how);
	}
	json_decref(j);
	if (rc == DOSSIER_EUNAVAILABLE) {
		err_set(err, rc, "nothing answers at %s (%s)", root, e.msg);
		return -1;
	}
	return found;
}

/* GET /v1/models (and llama-swap's GET /running): as probe_ollama. */
static int probe_openai(const struct config *cfg, const char *root, struct llm_engine_found *out, struct err *err)
{
	char u[320], how[256];
	long st;
	json_t *j = NULL;
	struct err e = {0};
	snprintf(u, sizeof u, "%s/v1/models", root);
	int rc = probe_get(cfg, u, 1, &st, &j, &e);
	if (rc == DOSSIER_EUNAVAILABLE) {
		json_decref(j);
		err_set(err, rc, "nothing answers at %s (%s)", root, e.msg);
		return -1;
	}
	json_t *data = json_object_get(j, "data");
	if (!rc && st == 200 && json_is_array(data)) {
		int router = 0;
		size_t i, count = json_array_size(data);
		json_t *m;
		json_array_foreach(data, i, m) {
			router |= json_object_get(m, "status") != NULL;
		}
		json_decref(j);
		j = NULL;
		long st2 = 0;
		snprintf(u, sizeof u, "%s/running", root);
		int swap = !router && probe_get(cfg, u, 1, &st2, &j, &e) == 0 && st2 == 200 &&
		           json_is_array(json_object_get(j, "running"));
		json_decref(j);
		snprintf(how, sizeof how, "GET /v1/models answered %zu model(s)%s%s", count,
		         router ? " with a status each" : "", swap ? ", and GET /running answered" : "");
		found_set(out, "openai", router ? "llama.cpp router" : swap ? "llama-swap" : "OpenAI-compatible server", root,
		          how);
		return 1;
	}
	json_decref(j);
	if (!rc && (st == 401 || st == 403)) {
		snprintf(how, sizeof how, "GET /v1/models wants an API key (HTTP %ld)", st);
		found_set(out, "openai", "OpenAI-compatible server", root, how);
		return 1;
	}
	return 0;
}

static int probe(const struct config *cfg, const char *url, int openai_first, struct llm_engine_found *out,
                 struct err *err)
{
	memset(out, 0, sizeof *out);
	http_global_init();
	char root[256];
	openai_root_url(url, root, sizeof root);
	for (int k = 0; k < 2; k++) {
		int r = (k == 0) == !!openai_first ? probe_openai(cfg, root, out, err) : probe_ollama(cfg, root, out, err);
		if (r < 0)
			return err ? err->code : DOSSIER_EUNAVAILABLE;
		if (r > 0)
			return 0;
	}
	return err_set(err, DOSSIER_ENOTFOUND,
	               "the server at %s answers neither GET /api/version (Ollama) nor GET /v1/models (OpenAI-compatible)",
	               root);
}

int llm_engine_probe(const struct config *cfg, const char *url, struct llm_engine_found *out, struct err *err)
{
	return probe(cfg, url, 0, out, err);
}

int llm_engine_probe_openai_first(const struct config *cfg, const char *url, struct llm_engine_found *out,
                                  struct err *err)
{
	return probe(cfg, url, 1, out, err);
}

int llm_engine_resolve(const struct config *cfg, struct llm_engine_found *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	const char *name = cfg->llm_engine;
	if (*name && strcmp(name, "auto")) {
		const struct engine_def *e;
		int rc = pick(cfg, ENGINE_LLM, name, "engine", &e, err);
		if (rc)
			return rc;
		char how[64];
		snprintf(how, sizeof how, "engine = %s (--engine or the config)", e->name);
		found_set(out, e->name, "", e->where ? e->where(cfg) : "", how);
		return 0;
	}
	const char *cand[2];
	int nc = 0;
	if (cfg->llm_url[0])
		cand[nc++] = cfg->llm_url;
	else {
		if (cfg->openai_base_url[0])
			cand[nc++] = cfg->openai_base_url;
		cand[nc++] = cfg->ollama_host;
	}
	for (int i = 0; i < nc; i++) {
		struct err e = {0};
		if (probe(cfg, cand[i], cand[i] == cfg->openai_base_url, out, &e) == 0) {
			char how[sizeof out->how];
			snprintf(how, sizeof how, "engine auto: %s", out->how);
			snprintf(out->how, sizeof out->how, "%s", how);
			return 0;
		}
	}
	/* Nothing answered: the engine the address suggests, so its own message
	 * (how to start it) is the one people see. */
	size_t l = strlen(cand[0]);
	int v1 = l >= 3 && (!strcmp(cand[0] + l - 3, "/v1") || (l >= 4 && !strcmp(cand[0] + l - 4, "/v1/")));
	if (cand[0] == cfg->openai_base_url || v1)
		found_set(out, "openai", "", cand[0], "engine auto: nothing answered; an OpenAI-compatible server assumed "
		          "(the address is an OpenAI base URL)");
	else
		found_set(out, "ollama", "", cand[0], "engine auto: nothing answered; Ollama assumed");
	return 0;
}

int llm_backend_from_found(const struct config *cfg, const struct llm_engine_found *found, llm_backend **out,
                           struct err *err)
{
	*out = NULL;
	const struct engine_def *e = engine_find(ENGINE_LLM, found->engine);
	if (!e)
		return err_set(err, DOSSIER_EINVAL, "engine '%s' is not an engine dossier knows", found->engine);
	if (e->make)
		return e->make(cfg, out, err);
	return llm_backend_new(e->ops, found->url[0] ? found->url : e->where ? e->where(cfg) : NULL, cfg, out, err);
}

static const char *engine_label(const char *engine)
{
	return !strcmp(engine, "ollama") ? "Ollama" : !strcmp(engine, "openai") ? "an OpenAI-compatible server" : engine;
}

/* A backend that answers every call with DOSSIER_EUNAVAILABLE and one sentence. */
struct down {
	char url[256];
	char msg[ERR_MSG_MAX];
};

static const char *down_url(void *ctx)
{
	return ((struct down *)ctx)->url;
}

static int down_say(void *ctx, struct err *err)
{
	return err_set(err, DOSSIER_EUNAVAILABLE, "%s", ((struct down *)ctx)->msg);
}

static int down_chat(void *ctx, const struct llm_request *rq, char **text_out, struct llm_metrics *m,
                     struct err *err)
{
	(void)rq, (void)text_out, (void)m;
	return down_say(ctx, err);
}

static int down_load(void *ctx, const char *model, int num_ctx, int64_t keep_alive_s, double *load_s,
                     struct err *err)
{
	(void)model, (void)num_ctx, (void)keep_alive_s, (void)load_s;
	return down_say(ctx, err);
}

static int down_unload(void *ctx, const char *model, struct err *err)
{
	(void)model;
	return down_say(ctx, err);
}

static int down_ps(void *ctx, struct llm_resident **out, size_t *n, struct err *err)
{
	(void)out, (void)n;
	return down_say(ctx, err);
}

static int down_show(void *ctx, const char *model, struct llm_model_info *out, struct err *err)
{
	(void)model, (void)out;
	return down_say(ctx, err);
}

static int down_describe(void *ctx, const char *model, json_t **out, struct err *err)
{
	(void)model, (void)out;
	return down_say(ctx, err);
}

static int down_ping(void *ctx, char *version, size_t n, struct err *err)
{
	(void)version, (void)n;
	return down_say(ctx, err);
}

static void down_close(void *ctx)
{
	free(ctx);
}

static const struct llm_backend_ops down_ops = {
	.name = "unavailable", .url = down_url, .chat = down_chat, .load = down_load, .unload = down_unload,
	.ps = down_ps, .show = down_show, .describe = down_describe, .ping = down_ping, .close = down_close,
};

/* A server that answers every name with its one model: the LLM roles are
 * that model, so plans, residency and the dossier's sources name what ran
 * and a "swap" between two names of the same model never happens. */
static void serve_roles(llm_backend *b, struct config *cfg)
{
	char model[sizeof cfg->models[0].name];
	struct err e = {0};
	if (llm_served(b, model, sizeof model, &e))
		return;
	for (int r = 0; r < ROLE_COUNT; r++)
		if (role_info((enum model_role)r)->is_llm && cfg->models[r].name[0])
			snprintf(cfg->models[r].name, sizeof cfg->models[r].name, "%s", model);
}

int llm_backend_check(llm_backend **b, struct config *cfg, char *version, size_t n, struct err *err)
{
	int rc = llm_ping(*b, version, n, err);
	if (!rc)
		serve_roles(*b, cfg);
	if (!rc || rc == DOSSIER_EUNAVAILABLE || rc == DOSSIER_ECANCELLED || rc == DOSSIER_ETIMEOUT)
		return rc;
	struct llm_engine_found f;
	struct err e = {0};
	if (llm_engine_probe(cfg, llm_backend_url(*b), &f, &e) || !strcmp(f.engine, llm_backend_name(*b)))
		return rc;
	struct down *d = calloc(1, sizeof *d);
	if (!d)
		return err_set(err, DOSSIER_ENOMEM, "out of memory");
	snprintf(d->url, sizeof d->url, "%s", llm_backend_url(*b));
	snprintf(d->msg, sizeof d->msg, "the server at %s is %s%s (%s), not %s: run with --engine %s (or --engine auto)",
	         f.url, strcmp(f.kind, "Ollama") ? "a " : "", f.kind, f.how, engine_label(llm_backend_name(*b)), f.engine);
	char msg[ERR_MSG_MAX];
	snprintf(msg, sizeof msg, "%s", d->msg);
	llm_backend *down = NULL;
	if (llm_backend_wrap(&down_ops, d, d->url, &down, &e) == 0) { /* consumes d either way */
		llm_backend_free(*b);
		*b = down;
	}
	return err_set(err, DOSSIER_EUNAVAILABLE, "%s", msg);
}

int llm_backend_from_config(const struct config *cfg, llm_backend **out, struct err *err)
{
	*out = NULL;
	if (!strcmp(cfg->llm_engine, "auto")) {
		struct llm_engine_found f;
		int rc = llm_engine_resolve(cfg, &f, err);
		return rc ? rc : llm_backend_from_found(cfg, &f, out, err);
	}
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
