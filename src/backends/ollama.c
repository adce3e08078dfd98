/*
 * ollama.c — the Ollama HTTP client (see ollama.h for what goes on the wire).
 *
 * Reading order: context and helpers, one HTTP transfer (timeouts, cancel,
 * error mapping), chat, load/unload, ps/show/ping, the vtable.
 */
#include "backends/ollama.h"
#include "backends/http.h"
#include "backends/ndjson.h"
#include "backends/procrss.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/util.h"

#include <libavutil/base64.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CAP_ERROR_BODY (64u * 1024u) /* an error reply we keep for its message */
#define CAP_SHOW_VERBOSE (64u * 1024u * 1024u) /* a verbose /api/show reply (per-layer arrays, token list) */
#define CAPS_CACHED 8                /* models whose /api/show answer we remember */

/* ------------------------------------------------------------- context */

struct cached_info {
	int used;
	struct llm_model_info info;
	char blob[512];          /* the weights file its modelfile names (FROM /...), "" = none */
};

struct ollama {
	char url[256];                         /* base URL, no trailing slash */
	int connect_timeout_ms;                /* TCP connect */
	int load_timeout_ms;                   /* a load; the first byte of a chat reply */
	int idle_timeout_ms;                   /* silence between chunks; small requests */
	struct model_spec models[ROLE_COUNT];  /* copied from the config, for num_ctx lookups */
	pthread_mutex_t mu;                    /* guards cache */
	struct cached_info cache[CAPS_CACHED]; /* /api/show answers */
	int cache_next;                        /* next slot to overwrite */
};

/* The num_ctx the config fixes for this model, so every request (even an
 * unload) carries the same runner options; 0 if the model is not configured. */
static int model_num_ctx(const struct ollama *o, const char *model)
{
	for (int r = 0; r < ROLE_COUNT; r++)
		if (role_info((enum model_role)r)->is_llm && llm_model_name_eq(o->models[r].name, model))
			return o->models[r].num_ctx;
	return 0;
}

char *ollama_base64(const unsigned char *data, size_t n)
{
	if (n > (size_t)INT32_MAX / 4 * 3 - 3)
		return NULL; /* more than av_base64_encode can take (an int length) */
	size_t outn = AV_BASE64_SIZE(n);
	char *out = malloc(outn);
	if (!out)
		return NULL;
	if (!av_base64_encode(out, (int)outn, data, (int)n)) {
		free(out);
		return NULL;
	}
	return out;
}

/* Ollama's "error" string from a JSON body, else the body itself, trimmed. */
static void error_text(const char *body, char *out, size_t n)
{
	out[0] = '\0';
	if (!body || !*body)
		return;
	json_t *j = json_loads(body, JSON_DECODE_ANY, NULL);
	const char *s = j ? json_string_value(json_object_get(j, "error")) : NULL;
	snprintf(out, n, "%s", s ? s : body);
	json_decref(j);
	size_t l = strlen(out);
	while (l && (out[l - 1] == '\n' || out[l - 1] == '\r' || out[l - 1] == ' '))
		out[--l] = '\0';
}

static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

int ollama_map_http_error(long status, const char *body, const char *model, const char *url,
                          const char *path, struct err *err)
{
	char msg[300];
	const char *m = model && *model ? model : "?";
	error_text(body, msg, sizeof msg);
	if (!msg[0])
		snprintf(msg, sizeof msg, "no message");
	if (status == 404) {
		if (model && *model && contains_ci(msg, "not found") && !contains_ci(msg, "page not found"))
			return err_set(err, DOSSIER_EMODEL, "model '%s' is not pulled: run `ollama pull %s` (Ollama at %s said: %s)",
			               m, m, url, msg);
		return err_set(err, DOSSIER_ENOTFOUND,
		               "Ollama at %s has no %s (HTTP 404: %s): update Ollama, or check OLLAMA_HOST points at Ollama",
		               url, path ? path : "such endpoint", msg);
	}
	if (contains_ci(msg, "system memory") || contains_ci(msg, "out of memory") ||
	    contains_ci(msg, "out-of-memory"))
		return err_set(err, DOSSIER_EMODEL,
		               "model '%s' does not fit in the memory Ollama has (%s): use --profile dev for smaller models, "
		               "set a smaller num_ctx (text_num_ctx / vision_num_ctx in the config), or close other programs",
		               m, msg);
	if (contains_ci(msg, "may be incompatible with your version"))
		return err_set(err, DOSSIER_EMODEL, "model '%s' cannot run on this Ollama (%s): update Ollama or run `ollama pull %s`",
		               m, msg, m);
	if (status == 503)
		return err_set(err, DOSSIER_EAGAIN, "Ollama at %s is busy (HTTP 503: %s): retry later", url, msg);
	if (status >= 500)
		return err_set(err, DOSSIER_EAGAIN, "Ollama at %s failed running model '%s' (HTTP %ld: %s); the step will be retried",
		               url, m, status, msg);
	if (status >= 400 && contains_ci(msg, "does not support"))
		return err_set(err, DOSSIER_EMODEL, "model '%s' cannot do this (%s): choose another model in the config", m, msg);
	if (status >= 400)
		return err_set(err, DOSSIER_EINVAL, "Ollama at %s refused the request for model '%s' (HTTP %ld: %s)", url, m,
		               status, msg);
	return err_set(err, DOSSIER_EFORMAT, "Ollama at %s answered HTTP %ld for model '%s' (%s)", url, status, m, msg);
}

static int unreachable(const struct ollama *o, struct err *err)
{
	return err_set(err, DOSSIER_EUNAVAILABLE,
	               "Ollama is not reachable at %s: start it with `ollama serve` (or set OLLAMA_HOST), or run with --offline",
	               o->url);
}

/* -------------------------------------------------------- one transfer */

/* A streamed body goes through the NDJSON splitter. */
struct feed {
	struct ollama *o;
	struct ndjson *nd;
	const char *model;
	struct err *err;
};

static int feed_lines(void *ud, const char *data, size_t n)
{
	struct feed *f = ud;
	int rc = ndjson_feed(f->nd, data, n);
	if (!rc || (f->err && f->err->code))
		return rc; /* fine, or the line callback's own sentence */
	if (rc == DOSSIER_ETOOBIG)
		return err_set(f->err, rc, "a reply line from Ollama at %s for model '%s' passed the %u-byte cap", f->o->url,
		               f->model, (unsigned)CAP_NDJSON_LINE);
	return err_set(f->err, rc, "reading the reply of Ollama at %s failed (%s)", f->o->url, dossier_rc_name(rc));
}

/*
 * Runs one request through the shared transport (http.c). body NULL = GET.
 * on_line NULL: the 2xx body is kept in *res. Returns 0 when the status is 2xx;
 * otherwise the mapped code with a sentence worded for Ollama. The caller
 * frees res with http_result_free.
 */
static int xfer_run(struct ollama *o, const char *path, const char *model, const char *body, size_t body_cap,
                    int first_byte_ms, int idle_ms, volatile int *cancel, ndjson_line_cb on_line, void *user_data,
                    struct http_result *res, struct err *err)
{
	char url[512];
	snprintf(url, sizeof url, "%s%s", o->url, path);
	const char *m = model ? model : "?";
	struct ndjson nd;
	ndjson_init(&nd, CAP_NDJSON_LINE, on_line, user_data);
	struct http_request rq;
	http_request_default(&rq);
	rq.url = url;
	rq.body = body;
	rq.body_len = body ? strlen(body) : 0;
	rq.connect_timeout_ms = o->connect_timeout_ms;
	rq.first_byte_ms = first_byte_ms;
	rq.idle_ms = idle_ms;
	rq.cancel = cancel;
	rq.body_cap = body_cap;
	rq.error_cap = CAP_ERROR_BODY;
	struct feed f = {.o = o, .nd = &nd, .model = m, .err = err};
	if (on_line) {
		rq.on_data = feed_lines;
		rq.user_data = &f;
	}
	int rc = http_run(&rq, res, err);
	switch (rc ? res->fail : HTTP_FAIL_NONE) {
	case HTTP_FAIL_NONE:
		if (on_line && res->status >= 200 && res->status < 300) {
			rc = ndjson_finish(&nd);
			if (rc && !(err && err->code))
				err_set(err, rc, "Ollama at %s sent an unusable last line for model '%s'", o->url, m);
		}
		break;
	case HTTP_FAIL_CONNECT:
		rc = unreachable(o, err);
		break;
	case HTTP_FAIL_TIMEOUT:
		rc = err_set(err, DOSSIER_ETIMEOUT, "Ollama at %s timed out on %s", o->url, path);
		break;
	case HTTP_FAIL_CANCEL:
		rc = err_set(err, DOSSIER_ECANCELLED, "request to Ollama for model '%s' was cancelled", m);
		break;
	case HTTP_FAIL_FIRST_BYTE:
		rc = err_set(err, DOSSIER_ETIMEOUT,
		             "Ollama at %s did not start answering %s for model '%s' within %d s (load_timeout): "
		             "the model may be too large for this machine; try --profile dev",
		             o->url, path, m, first_byte_ms / 1000);
		break;
	case HTTP_FAIL_IDLE:
		rc = err_set(err, DOSSIER_ETIMEOUT,
		             "Ollama at %s went silent for %d s in the middle of a reply from model '%s' (idle_timeout)",
		             o->url, idle_ms / 1000, m);
		break;
	case HTTP_FAIL_CALLBACK:
		break; /* the line callback, the splitter (feed_lines) or http.c said why */
	case HTTP_FAIL_BROKEN:
		rc = err_set(err, DOSSIER_EAGAIN,
		             "the connection to Ollama at %s broke during %s for model '%s' (%s); the step will be retried",
		             o->url, path, model ? model : "-", res->detail);
		break;
	case HTTP_FAIL_SETUP:
		break;
	}
	ndjson_free(&nd);
	if (!rc && (res->status < 200 || res->status >= 300))
		rc = ollama_map_http_error(res->status, res->body.data, model, o->url, path, err);
	return rc;
}

/* A small request with a JSON reply: *out gets the parsed body (caller decrefs). */
static int request_json(struct ollama *o, const char *path, const char *model, json_t *req, int timeout_ms,
                        size_t body_cap, json_t **out, struct err *err)
{
	char *body = NULL;
	if (req) {
		body = json_dumps(req, JSON_COMPACT);
		if (!body)
			return err_set(err, DOSSIER_ENOMEM, "cannot build the request for %s", path);
	}
	struct http_result res;
	int rc = xfer_run(o, path, model, body, body_cap, timeout_ms, timeout_ms, NULL, NULL, NULL, &res, err);
	free(body);
	if (!rc) {
		json_error_t je;
		*out = json_loadb(res.body.data ? res.body.data : "", res.body.len, 0, &je);
		if (!*out)
			rc = err_set(err, DOSSIER_EFORMAT, "Ollama at %s answered %s with something that is not JSON (%s)", o->url,
			             path, je.text);
	}
	http_result_free(&res);
	return rc;
}

/* ---------------------------------------------------------------- chat */

struct chat_state {
	struct ollama *o;
	const char *model;
	struct buf text;          /* reply so far, capped at CAP_LLM_REPLY */
	struct llm_metrics *m;    /* may be NULL */
	int done;                 /* saw done:true */
	char done_reason[32];
	char error[300];          /* an {"error":...} line */
	struct err *err;
};

static int64_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return 0;
}

static int on_chat_line(void *ud, const char *line, size_t len)
{
	struct chat_state *st = ud;
	json_t *j = json_loadb(line, len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		err_set(st->err, DOSSIER_EAGAIN, "Ollama at %s sent a broken reply line for model '%s'; the step will be retried",
		        st->o->url, st->model);
		return DOSSIER_EAGAIN;
	}
	const char *e = json_string_value(json_object_get(j, "error"));
	if (e) {
		snprintf(st->error, sizeof st->error, "%s", e);
		json_decref(j);
		err_set(st->err, DOSSIER_EAGAIN, "Ollama at %s stopped in the middle of a reply from model '%s' (%s); the step will be retried",
		        st->o->url, st->model, st->error);
		return DOSSIER_EAGAIN;
	}
	if (st->done) { /* nothing may follow the final chunk */
		json_decref(j);
		return 0;
	}
	json_t *msg = json_object_get(j, "message");
	const char *delta = json_string_value(json_object_get(msg, "content"));
	if (!delta)
		delta = json_string_value(json_object_get(j, "response"));
	if (delta && *delta) {
		int rc = buf_appends(&st->text, delta);
		if (rc) {
			json_decref(j);
			err_set(st->err, rc, "the reply of model '%s' passed the %u-byte cap (CAP_LLM_REPLY)", st->model,
			        (unsigned)CAP_LLM_REPLY);
			return rc;
		}
	}
	if (json_is_true(json_object_get(j, "done"))) {
		st->done = 1;
		snprintf(st->done_reason, sizeof st->done_reason, "%s",
		         json_string_value(json_object_get(j, "done_reason")) ? json_string_value(json_object_get(j, "done_reason")) : "");
		if (st->m) {
			st->m->prompt_eval_count = jint(j, "prompt_eval_count");
			st->m->eval_count = jint(j, "eval_count");
			st->m->total_ns = jint(j, "total_duration");
			st->m->load_ns = jint(j, "load_duration");
			st->m->prompt_eval_ns = jint(j, "prompt_eval_duration");
			st->m->eval_ns = jint(j, "eval_duration");
		}
	}
	json_decref(j);
	return 0;
}

/*
 * keep_alive as Ollama reads it: absent for LLM_KEEP_ALIVE_UNSET; the numbers
 * -1 (pinned, any negative) and 0 (unload now); otherwise a Go duration,
 * "30m" when whole minutes, else "45s". NULL if absent.
 */
json_t *ollama_keep_alive_json(int64_t keep_alive_s)
{
	char d[32];
	if (keep_alive_s == LLM_KEEP_ALIVE_UNSET)
		return NULL;
	if (keep_alive_s < 0)
		return json_integer(-1);
	if (keep_alive_s == 0)
		return json_integer(0);
	if (keep_alive_s % 60 == 0)
		snprintf(d, sizeof d, "%lldm", (long long)(keep_alive_s / 60));
	else
		snprintf(d, sizeof d, "%llds", (long long)keep_alive_s);
	return json_string(d);
}

static int cache_blob(struct ollama *o, const char *model, char *out, size_t n);
static int ollama_show(void *ctx, const char *model, struct llm_model_info *out, struct err *err);

static int ollama_chat(void *ctx, const struct llm_request *rq, char **text_out, struct llm_metrics *m,
                       struct err *err)
{
	struct ollama *o = ctx;
	struct llm_model_info info;
	int rc;
	char *body = NULL;
	json_t *req = NULL, *ka = NULL;

	if (!rq->model || !*rq->model)
		return err_set(err, DOSSIER_EINVAL, "no model named for the request to Ollama");
	rc = ollama_show(o, rq->model, &info, err);
	if (rc == DOSSIER_EMODEL || rc == DOSSIER_EUNAVAILABLE || rc == DOSSIER_ECANCELLED)
		return rc;
	if (rc && rq->n_images > 0)
		return rc; /* cannot tell whether the model reads images: do not guess */
	if (rc) { /* e.g. an older Ollama without these fields: treat as a plain text model */
		memset(&info, 0, sizeof info);
		err_clear(err);
	}
	if (rq->n_images > 0 && !info.vision)
		return err_set(err, DOSSIER_EMODEL,
		               "model '%s' cannot read images (its /api/show capabilities lack \"vision\"): set vision_model "
		               "to a vision model such as llava",
		               rq->model);
	ka = ollama_keep_alive_json(rq->keep_alive_s);

	json_t *msgs = json_array();
	json_t *sys = rq->system && *rq->system ? json_pack("{s:s,s:s}", "role", "system", "content", rq->system) : NULL;
	json_t *user = json_pack("{s:s,s:s}", "role", "user", "content", rq->prompt ? rq->prompt : "");
	if (!user || (rq->system && *rq->system && !sys)) {
		json_decref(sys);
		json_decref(user);
		json_decref(msgs);
		json_decref(ka);
		return err_set(err, DOSSIER_EINVAL, "the prompt for model '%s' is not valid UTF-8", rq->model);
	}
	if (sys)
		json_array_append_new(msgs, sys);
	if (rq->n_images > 0) {
		json_t *imgs = json_array();
		for (int i = 0; i < rq->n_images; i++) {
			char *b64 = ollama_base64(rq->images[i], rq->image_lens[i]);
			if (!b64) {
				json_decref(imgs);
				json_decref(user);
				json_decref(msgs);
				json_decref(ka);
				return err_set(err, DOSSIER_ENOMEM, "out of memory encoding an image for model '%s'", rq->model);
			}
			json_array_append_new(imgs, json_string(b64));
			free(b64);
		}
		json_object_set_new(user, "images", imgs);
	}
	json_array_append_new(msgs, user);
	json_t *opts = json_object();
	if (rq->num_ctx > 0)
		json_object_set_new(opts, "num_ctx", json_integer(rq->num_ctx));
	json_object_set_new(opts, "temperature", json_real(rq->temperature));
	json_object_set_new(opts, "seed", json_integer(rq->seed));
	req = json_pack("{s:s,s:o,s:b,s:o}", "model", rq->model, "messages", msgs, "stream", 1, "options", opts);
	if (ka)
		json_object_set_new(req, "keep_alive", ka);
	if (rq->format)
		json_object_set(req, "format", rq->format);
	if (info.thinking)
		json_object_set_new(req, "think", json_false());
	body = json_dumps(req, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(req);
	if (!body)
		return err_set(err, DOSSIER_ENOMEM, "cannot build the chat request for model '%s'", rq->model);
	if (strlen(body) > CAP_REQUEST_BODY) {
		free(body);
		return err_set(err, DOSSIER_ETOOBIG, "the request for model '%s' is larger than %u bytes (CAP_REQUEST_BODY): "
		               "use smaller images", rq->model, (unsigned)CAP_REQUEST_BODY);
	}

	struct chat_state st = {.o = o, .model = rq->model, .m = m, .err = err};
	struct llm_metrics local;
	if (!st.m)
		st.m = &local;
	memset(st.m, 0, sizeof *st.m);
	buf_init(&st.text, CAP_LLM_REPLY);
	struct http_result res;
	double t0 = clock_mono_s();
	err_clear(err);
	rc = xfer_run(o, "/api/chat", rq->model, body, CAP_NDJSON_LINE, o->load_timeout_ms, o->idle_timeout_ms, rq->cancel,
	              on_chat_line, &st, &res, err);
	st.m->wall_s = clock_mono_s() - t0;
	free(body);
	http_result_free(&res);
	if (!rc && !st.done)
		rc = err_set(err, DOSSIER_EAGAIN,
		             "the reply of model '%s' from Ollama at %s ended before it was complete (no done:true); the step will be retried",
		             rq->model, o->url);
	if (rc) {
		buf_free(&st.text);
		return rc;
	}
	*text_out = buf_take(&st.text);
	return 0;
}

/* ---------------------------------------------------------------- embed */

/* Parses {"embeddings": [[...], ...]} into n x *dim floats (caller frees). */
static int parse_embeddings(struct ollama *o, const char *model, json_t *rep, size_t n, float **vectors, int *dim,
                            struct err *err)
{
	json_t *arr = json_object_get(rep, "embeddings");
	if (!json_is_array(arr) || json_array_size(arr) != n)
		return err_set(err, DOSSIER_EFORMAT, "Ollama at %s answered /api/embed for model '%s' with %zu vectors for %zu "
		               "texts", o->url, model, json_is_array(arr) ? json_array_size(arr) : 0, n);
	size_t d = json_array_size(json_array_get(arr, 0));
	if (d == 0 || d > 65536)
		return err_set(err, DOSSIER_EFORMAT, "Ollama at %s answered /api/embed for model '%s' with vectors of %zu "
		               "dimensions", o->url, model, d);
	float *v = malloc(n * d * sizeof *v);
	if (!v)
		return err_set(err, DOSSIER_ENOMEM, "out of memory reading %zu vectors", n);
	for (size_t i = 0; i < n; i++) {
		json_t *row = json_array_get(arr, i);
		if (!json_is_array(row) || json_array_size(row) != d) {
			free(v);
			return err_set(err, DOSSIER_EFORMAT, "Ollama at %s answered /api/embed for model '%s' with vectors of "
			               "different dimensions", o->url, model);
		}
		for (size_t k = 0; k < d; k++) {
			json_t *x = json_array_get(row, k);
			if (!json_is_number(x)) {
				free(v);
				return err_set(err, DOSSIER_EFORMAT, "Ollama at %s sent a vector with a non-number for model '%s'",
				               o->url, model);
			}
			v[i * d + k] = (float)json_number_value(x);
		}
	}
	*vectors = v;
	*dim = (int)d;
	return 0;
}

/* POST /api/embed; n == 0 only loads (or, keep_alive 0, unloads) the model. */
static int embed_request(struct ollama *o, const char *model, const char *const *texts, size_t n, int num_ctx,
                         json_t *ka, int timeout_ms, json_t **rep, struct err *err)
{
	json_t *input = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(input, json_string(texts[i] ? texts[i] : ""));
	json_t *req = json_pack("{s:s,s:o,s:b}", "model", model, "input", input, "truncate", 1);
	if (num_ctx > 0)
		json_object_set_new(req, "options", json_pack("{s:i}", "num_ctx", num_ctx));
	if (ka)
		json_object_set(req, "keep_alive", ka);
	int rc = request_json(o, "/api/embed", model, req, timeout_ms, CAP_LLM_REPLY, rep, err);
	json_decref(req);
	return rc;
}

static int ollama_embed(void *ctx, const struct llm_embed_request *rq, float **vectors, int *dim,
                        struct llm_metrics *m, struct err *err)
{
	struct ollama *o = ctx;
	if (!rq || !rq->model || !rq->texts || !rq->n_texts)
		return err_set(err, DOSSIER_EINVAL, "nothing to embed");
	json_t *ka = ollama_keep_alive_json(rq->keep_alive_s);
	json_t *rep = NULL;
	double t0 = clock_mono_s();
	int rc = embed_request(o, rq->model, rq->texts, rq->n_texts, rq->num_ctx, ka, o->load_timeout_ms, &rep, err);
	json_decref(ka);
	if (rc == DOSSIER_EINVAL || (rc == DOSSIER_EMODEL && err && strstr(err->msg, "does not support")))
		err_set(err, DOSSIER_EMODEL, "model '%s' at Ollama %s cannot embed text (%s): set embed_model to an embedding "
		        "model such as nomic-embed-text (`ollama pull nomic-embed-text`), or embed_model = none", rq->model,
		        o->url, err ? err->msg : "");
	if (rc)
		return rc == DOSSIER_EINVAL ? DOSSIER_EMODEL : rc;
	rc = parse_embeddings(o, rq->model, rep, rq->n_texts, vectors, dim, err);
	if (!rc && m) {
		memset(m, 0, sizeof *m);
		m->prompt_eval_count = jint(rep, "prompt_eval_count");
		m->total_ns = jint(rep, "total_duration");
		m->load_ns = jint(rep, "load_duration");
		m->wall_s = clock_mono_s() - t0;
	}
	json_decref(rep);
	return rc;
}

/* 1 if model is the configured embedding model: it loads through /api/embed
 * (Ollama refuses chat for an embedding-only model). */
static int is_embed_model(const struct ollama *o, const char *model)
{
	return o->models[ROLE_EMBED].name[0] && llm_model_name_eq(o->models[ROLE_EMBED].name, model);
}

static int embed_load(struct ollama *o, const char *model, int num_ctx, json_t *ka, int timeout_ms, struct err *err)
{
	json_t *rep = NULL;
	int rc = embed_request(o, model, NULL, 0, num_ctx, ka, timeout_ms, &rep, err);
	json_decref(rep);
	return rc;
}

/* -------------------------------------------------------- load, unload */

static int empty_chat(struct ollama *o, const char *model, int num_ctx, json_t *ka, int timeout_ms,
                      const char *want_reason, struct err *err)
{
	json_t *req = json_pack("{s:s,s:[],s:b}", "model", model, "messages", "stream", 0);
	if (num_ctx > 0)
		json_object_set_new(req, "options", json_pack("{s:i}", "num_ctx", num_ctx));
	if (ka)
		json_object_set(req, "keep_alive", ka);
	json_t *rep = NULL;
	int rc = request_json(o, "/api/chat", model, req, timeout_ms, CAP_NDJSON_LINE, &rep, err);
	json_decref(req);
	if (rc)
		return rc;
	const char *reason = json_string_value(json_object_get(rep, "done_reason"));
	if (!json_is_true(json_object_get(rep, "done")) || (reason && strcmp(reason, want_reason)))
		rc = err_set(err, DOSSIER_EAGAIN, "Ollama at %s answered the %s request for model '%s' with done_reason '%s'",
		             o->url, want_reason, model, reason ? reason : "(none)");
	json_decref(rep);
	return rc;
}

static int ollama_load(void *ctx, const char *model, int num_ctx, int64_t keep_alive_s, double *load_s,
                       struct err *err)
{
	struct ollama *o = ctx;
	json_t *ka = ollama_keep_alive_json(keep_alive_s);
	double t0 = clock_mono_s();
	int rc = is_embed_model(o, model) ? embed_load(o, model, num_ctx, ka, o->load_timeout_ms, err)
	                                  : empty_chat(o, model, num_ctx, ka, o->load_timeout_ms, "load", err);
	json_decref(ka);
	if (rc == DOSSIER_ETIMEOUT)
		err_set(err, rc, "loading model '%s' took longer than %d s (load_timeout) at Ollama %s: the machine may be "
		        "short of memory; try --profile dev", model, o->load_timeout_ms / 1000, o->url);
	if (!rc && load_s)
		*load_s = clock_mono_s() - t0;
	return rc;
}

static int ollama_unload(void *ctx, const char *model, struct err *err)
{
	struct ollama *o = ctx;
	json_t *ka = ollama_keep_alive_json(LLM_KEEP_ALIVE_NOW);
	int rc = is_embed_model(o, model) ? embed_load(o, model, model_num_ctx(o, model), ka, o->idle_timeout_ms, err)
	                                  : empty_chat(o, model, model_num_ctx(o, model), ka, o->idle_timeout_ms, "unload", err);
	json_decref(ka);
	return rc;
}

/* ------------------------------------------------------ ps, show, ping */

/* 1 if the base URL's host is this machine. */
static int url_is_local(const char *url)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	return !strncmp(h, "127.", 4) || !strncmp(h, "localhost", 9) || !strncmp(h, "[::1]", 5);
}

static int ollama_ps(void *ctx, struct llm_resident **out, size_t *n, struct err *err)
{
	struct ollama *o = ctx;
	json_t *rep = NULL;
	int rc = request_json(o, "/api/ps", NULL, NULL, o->idle_timeout_ms, CAP_NDJSON_LINE, &rep, err);
	if (rc)
		return rc;
	json_t *models = json_object_get(rep, "models");
	size_t cnt = json_is_array(models) ? json_array_size(models) : 0;
	struct llm_resident *r = calloc(cnt ? cnt : 1, sizeof *r);
	if (!r) {
		json_decref(rep);
		return err_set(err, DOSSIER_ENOMEM, "out of memory reading /api/ps");
	}
	for (size_t i = 0; i < cnt; i++) {
		json_t *m = json_array_get(models, i);
		const char *name = json_string_value(json_object_get(m, "name"));
		if (!name)
			name = json_string_value(json_object_get(m, "model"));
		snprintf(r[i].name, sizeof r[i].name, "%s", name ? name : "");
		r[i].size_bytes = (uint64_t)jint(m, "size");
		r[i].size_vram = (uint64_t)jint(m, "size_vram");
		const char *exp = json_string_value(json_object_get(m, "expires_at"));
		snprintf(r[i].expires_at, sizeof r[i].expires_at, "%s", exp ? exp : "");
		r[i].context_length = (int)jint(m, "context_length");
	}
	json_decref(rep);
	/* a local Ollama runs each model in a child (`ollama runner --model
	 * <blob>`): its resident set is what the model really takes */
	for (size_t i = 0; url_is_local(o->url) && i < cnt; i++) {
		char blob[512] = "";
		struct llm_model_info info;
		if (!r[i].name[0] || (!cache_blob(o, r[i].name, blob, sizeof blob) &&
		                      (ollama_show(o, r[i].name, &info, NULL) || !cache_blob(o, r[i].name, blob, sizeof blob))))
			continue;
		uint64_t rss = 0;
		if (blob[0] && proc_ollama_runner_rss("/proc", blob, &rss) == 0)
			r[i].rss_bytes = rss;
	}
	*out = r;
	*n = cnt;
	return 0;
}

/* An integer model_info value that may be a per-layer array: the largest
 * (want_max) or smallest element. */
static int info_int(json_t *mi, const char *arch, const char *key, int want_max)
{
	char k[160];
	snprintf(k, sizeof k, "%s.%s", arch, key);
	json_t *v = json_object_get(mi, k);
	if (json_is_number(v))
		return (int)json_number_value(v);
	if (json_is_array(v)) {
		int best = 0, any = 0;
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			int x = (int)json_number_value(e);
			if (!any || (want_max ? x > best : (x < best && x > 0)))
				best = x;
			any = 1;
		}
		return best;
	}
	return 0;
}

static int cache_get(struct ollama *o, const char *model, struct llm_model_info *out)
{
	int hit = 0;
	pthread_mutex_lock(&o->mu);
	for (int i = 0; i < CAPS_CACHED && !hit; i++)
		if (o->cache[i].used && !strcmp(o->cache[i].info.name, model)) {
			*out = o->cache[i].info;
			hit = 1;
		}
	pthread_mutex_unlock(&o->mu);
	return hit;
}

/* The weights file of a cached model into out (n bytes); 1 if cached. */
static int cache_blob(struct ollama *o, const char *model, char *out, size_t n)
{
	int hit = 0;
	pthread_mutex_lock(&o->mu);
	for (int i = 0; i < CAPS_CACHED && !hit; i++)
		if (o->cache[i].used && !strcmp(o->cache[i].info.name, model)) {
			snprintf(out, n, "%s", o->cache[i].blob);
			hit = 1;
		}
	pthread_mutex_unlock(&o->mu);
	return hit;
}

static void cache_put(struct ollama *o, const struct llm_model_info *info, const char *blob)
{
	pthread_mutex_lock(&o->mu);
	o->cache[o->cache_next].used = 1;
	o->cache[o->cache_next].info = *info;
	snprintf(o->cache[o->cache_next].blob, sizeof o->cache[0].blob, "%s", blob);
	o->cache_next = (o->cache_next + 1) % CAPS_CACHED;
	pthread_mutex_unlock(&o->mu);
}

static int ollama_show(void *ctx, const char *model, struct llm_model_info *out, struct err *err)
{
	struct ollama *o = ctx;
	if (cache_get(o, model, out))
		return 0;
	json_t *req = json_pack("{s:s}", "model", model), *rep = NULL;
	int rc = request_json(o, "/api/show", model, req, o->idle_timeout_ms, CAP_NDJSON_LINE, &rep, err);
	json_decref(req);
	if (rc)
		return rc;
	struct llm_model_info in;
	memset(&in, 0, sizeof in);
	snprintf(in.name, sizeof in.name, "%s", model);
	json_t *caps = json_object_get(rep, "capabilities");
	if (json_is_array(caps)) {
		size_t i;
		json_t *c;
		json_array_foreach(caps, i, c) {
			const char *s = json_string_value(c);
			if (!s)
				continue;
			in.vision |= !strcmp(s, "vision");
			in.thinking |= !strcmp(s, "thinking");
			in.completion |= !strcmp(s, "completion");
			in.embedding |= !strcmp(s, "embedding");
		}
	} else {
		/* Before capabilities existed: a projector means vision. */
		in.completion = 1;
		in.vision = json_object_size(json_object_get(rep, "projector_info")) > 0;
	}
	/* the weights file, for the runner's resident set (ollama_ps): "FROM /path" */
	char blob[512] = "";
	const char *mf = json_string_value(json_object_get(rep, "modelfile"));
	for (const char *l = mf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
		if (!strncmp(l, "FROM /", 6)) {
			size_t k = strcspn(l + 5, "\r\n");
			if (k < sizeof blob)
				snprintf(blob, sizeof blob, "%.*s", (int)k, l + 5);
			break;
		}
	json_t *det = json_object_get(rep, "details");
	const char *s;
	if ((s = json_string_value(json_object_get(det, "family"))))
		snprintf(in.family, sizeof in.family, "%s", s);
	if ((s = json_string_value(json_object_get(det, "parameter_size"))))
		snprintf(in.parameter_size, sizeof in.parameter_size, "%s", s);
	if ((s = json_string_value(json_object_get(det, "quantization_level"))))
		snprintf(in.quantization, sizeof in.quantization, "%s", s);
	json_t *mi = json_object_get(rep, "model_info");
	const char *arch = json_string_value(json_object_get(mi, "general.architecture"));
	if (!arch)
		arch = in.family;
	in.block_count = info_int(mi, arch, "block_count", 1);
	in.head_count = info_int(mi, arch, "attention.head_count", 1);
	in.head_count_kv = info_int(mi, arch, "attention.head_count_kv", 0);
	in.embedding_length = info_int(mi, arch, "embedding_length", 1);
	in.context_length = info_int(mi, arch, "context_length", 1);
	json_decref(rep);

	/* The on-disk size is only in /api/tags. */
	rep = NULL;
	struct err e2 = {0};
	if (request_json(o, "/api/tags", NULL, NULL, o->idle_timeout_ms, CAP_NDJSON_LINE, &rep, &e2) == 0) {
		size_t i;
		json_t *m;
		json_array_foreach(json_object_get(rep, "models"), i, m) {
			const char *name = json_string_value(json_object_get(m, "name"));
			if (!name)
				name = json_string_value(json_object_get(m, "model"));
			if (llm_model_name_eq(name, model)) {
				in.size_bytes = (uint64_t)jint(m, "size");
				break;
			}
		}
		json_decref(rep);
	}
	cache_put(o, &in, blob);
	*out = in;
	return 0;
}

static int ollama_ping(void *ctx, char *version, size_t n, struct err *err)
{
	struct ollama *o = ctx;
	json_t *rep = NULL;
	int rc = request_json(o, "/api/version", NULL, NULL, o->connect_timeout_ms + o->idle_timeout_ms, CAP_NDJSON_LINE, &rep, err);
	if (rc)
		return rc;
	const char *v = json_string_value(json_object_get(rep, "version"));
	if (version && n)
		snprintf(version, n, "%s", v ? v : "unknown");
	json_decref(rep);
	return 0;
}

/* The verbose /api/show reply with the on-disk size from /api/tags added as
 * "size" (plan/facts.c reads it: model_facts_from_api). */
static int ollama_describe(void *ctx, const char *model, json_t **out, struct err *err)
{
	struct ollama *o = ctx;
	json_t *req = json_pack("{s:s,s:b}", "model", model, "verbose", 1), *rep = NULL;
	int rc = request_json(o, "/api/show", model, req, o->idle_timeout_ms, CAP_SHOW_VERBOSE, &rep, err);
	json_decref(req);
	if (rc)
		return rc;
	struct llm_model_info info;
	struct err e2 = {0};
	if (!json_object_get(rep, "size") && ollama_show(o, model, &info, &e2) == 0 && info.size_bytes)
		json_object_set_new(rep, "size", json_integer((json_int_t)info.size_bytes));
	*out = rep;
	return 0;
}

/* ------------------------------------------------------------- vtable */

static int ollama_open(const struct config *cfg, const char *where, void **ctx, struct err *err)
{
	*ctx = NULL;
	if (!cfg)
		return err_set(err, DOSSIER_EINVAL, "the Ollama engine needs a configuration");
	struct ollama *o = calloc(1, sizeof *o);
	if (!o)
		return err_set(err, DOSSIER_ENOMEM, "out of memory creating the Ollama client");
	http_global_init();
	snprintf(o->url, sizeof o->url, "%s", where && *where ? where : cfg->ollama_host);
	size_t l = strlen(o->url);
	while (l && o->url[l - 1] == '/')
		o->url[--l] = '\0';
	o->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 3000;
	o->load_timeout_ms = cfg->load_timeout_ms > 0 ? cfg->load_timeout_ms : 300000;
	o->idle_timeout_ms = cfg->idle_timeout_ms > 0 ? cfg->idle_timeout_ms : 120000;
	memcpy(o->models, cfg->models, sizeof o->models);
	pthread_mutex_init(&o->mu, NULL);
	*ctx = o;
	return 0;
}

static const char *ollama_url(void *ctx)
{
	return ((struct ollama *)ctx)->url;
}

static void ollama_close(void *ctx)
{
	struct ollama *o = ctx;
	if (!o)
		return;
	pthread_mutex_destroy(&o->mu);
	free(o);
}

const struct llm_backend_ops ollama_ops = {
	.name = "ollama",
	.open = ollama_open,
	.url = ollama_url,
	.chat = ollama_chat,
	.embed = ollama_embed,
	.load = ollama_load,
	.unload = ollama_unload,
	.ps = ollama_ps,
	.show = ollama_show,
	.describe = ollama_describe,
	.ping = ollama_ping,
	.close = ollama_close,
};

int ollama_backend_new(const struct config *cfg, llm_backend **out, struct err *err)
{
	return llm_backend_new(&ollama_ops, NULL, cfg, out, err);
}
