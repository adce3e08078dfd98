/*
 * openai.c — the OpenAI-compatible engine (see openai.h for the wire).
 *
 * Reading order: context and helpers, one transfer and the error mapping,
 * the model list (/v1/models), chat, load/unload/ps, show/describe/ping, the
 * vtable.
 */
#include "backends/openai.h"
#include "backends/http.h"
#include "backends/ollama.h"
#include "backends/sse.h"
#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/util.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define CAP_ERROR_BODY (64u * 1024u)       /* an error reply we keep for its message */
#define CAP_MODELS_BODY (8u * 1024u * 1024u) /* a /v1/models reply */
#define MEMO_MODELS 16                     /* models whose image support we remember */
#define POLL_MS 100                        /* status polling while a router loads/unloads */
#define SSE_WINDOW_MS 1000                 /* longest wait on GET /models/sse before the status is read again */

/* ------------------------------------------------------------- context */

struct memo {
	char name[128];
	int vision; /* 1 reads images, 0 refused them */
};

struct openai {
	char root[256];          /* server root, no trailing slash, no /v1 */
	char key[256];           /* bearer token, "" = none; never printed */
	int connect_timeout_ms;
	int load_timeout_ms;     /* a load; the first byte of a chat reply */
	int idle_timeout_ms;     /* silence between chunks; small requests */
	pthread_mutex_t mu;      /* guards memo, swap and served */
	struct memo memo[MEMO_MODELS];
	int memo_next;
	int swap;                /* llama-swap (GET /running answers): 1, no: 0, not asked yet: -1 */
	int sse;                 /* the router's GET /models/sse: 1 answers, 0 does not, -1 not asked yet */
	char served[256];        /* the one model a plain server answers with, "" = by name; from the last ping */
	int served_known;        /* served was set by a ping */
};

void openai_root_url(const char *url, char *out, size_t n)
{
	snprintf(out, n, "%s", url ? url : "");
	size_t l = strlen(out);
	while (l && out[l - 1] == '/')
		out[--l] = '\0';
	if (l >= 3 && !strcmp(out + l - 3, "/v1"))
		out[l -= 3] = '\0';
	while (l && out[l - 1] == '/')
		out[--l] = '\0';
}

char *openai_data_uri(const unsigned char *data, size_t n)
{
	static const unsigned char png[4] = {0x89, 'P', 'N', 'G'};
	const char *mime = n >= 4 && !memcmp(data, png, 4) ? "image/png" : "image/jpeg";
	char *b64 = ollama_base64(data, n);
	if (!b64)
		return NULL;
	size_t l = strlen(b64) + strlen(mime) + 16;
	char *out = malloc(l);
	if (out)
		snprintf(out, l, "data:%s;base64,%s", mime, b64);
	free(b64);
	return out;
}

static int memo_get(struct openai *o, const char *model)
{
	int v = -1;
	pthread_mutex_lock(&o->mu);
	for (int i = 0; i < MEMO_MODELS && v < 0; i++)
		if (o->memo[i].name[0] && !strcmp(o->memo[i].name, model))
			v = o->memo[i].vision;
	pthread_mutex_unlock(&o->mu);
	return v;
}

static void memo_put(struct openai *o, const char *model, int vision)
{
	pthread_mutex_lock(&o->mu);
	int slot = -1;
	for (int i = 0; i < MEMO_MODELS && slot < 0; i++)
		if (!strcmp(o->memo[i].name, model))
			slot = i;
	if (slot < 0) {
		slot = o->memo_next;
		o->memo_next = (o->memo_next + 1) % MEMO_MODELS;
	}
	snprintf(o->memo[slot].name, sizeof o->memo[slot].name, "%s", model);
	o->memo[slot].vision = vision;
	pthread_mutex_unlock(&o->mu);
}

static void nap_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static int contains_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; hay && *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return 1;
	return 0;
}

/* The server's message: {"error":{"message":...}} (OpenAI, llama.cpp),
 * {"error":"..."} (Ollama's compatibility layer), {"message":...}, else the body. */
static void error_text(const char *body, char *out, size_t n)
{
	out[0] = '\0';
	if (!body || !*body) {
		snprintf(out, n, "no message");
		return;
	}
	json_t *j = json_loads(body, JSON_DECODE_ANY, NULL);
	json_t *e = json_object_get(j, "error");
	const char *s = json_string_value(json_object_get(e, "message"));
	if (!s)
		s = json_string_value(e);
	if (!s)
		s = json_string_value(json_object_get(j, "message"));
	snprintf(out, n, "%s", s ? s : body);
	json_decref(j);
	size_t l = strlen(out);
	while (l && (out[l - 1] == '\n' || out[l - 1] == '\r' || out[l - 1] == ' '))
		out[--l] = '\0';
}

static int image_refusal(const char *msg)
{
	return contains_ci(msg, "image input is not supported") || contains_ci(msg, "does not support image") ||
	       contains_ci(msg, "multimodal") || contains_ci(msg, "mmproj");
}

static int map_http_error(struct openai *o, long status, const char *body, const char *model, const char *path,
                          struct err *err)
{
	char msg[300];
	const char *m = model && *model ? model : "?";
	error_text(body, msg, sizeof msg);
	if (status == 401 || status == 403)
		return err_set(err, DOSSIER_EINVAL,
		               "the server at %s refused the API key (HTTP %ld: %s): set OPENAI_API_KEY to the key it expects",
		               o->root, status, msg);
	if ((status == 400 || status == 404) && model && *model &&
	    (contains_ci(msg, "not found") || contains_ci(msg, "unknown model") || contains_ci(msg, "does not exist") ||
	     contains_ci(msg, "no such model")) && !contains_ci(msg, "page not found"))
		return err_set(err, DOSSIER_EMODEL,
		               "model '%s' is not on the server at %s (HTTP %ld: %s): see `dossier models`, or give the "
		               "server that model (for llama-server: a GGUF in --models-dir)",
		               m, o->root, status, msg);
	if (status == 404)
		return err_set(err, DOSSIER_ENOTFOUND, "the server at %s has no %s (HTTP 404: %s): is it an OpenAI-compatible "
		               "server? try --engine auto", o->root, path ? path : "such endpoint", msg);
	if (image_refusal(msg) && model && *model) {
		memo_put(o, model, 0);
		return err_set(err, DOSSIER_EMODEL,
		               "model '%s' cannot read images (the server at %s said: %s): set vision_model to a model "
		               "with a vision projector (llama-server: --mmproj)",
		               m, o->root, msg);
	}
	if (status >= 400 && (contains_ci(msg, "too large to process") || contains_ci(msg, "maximum context length") ||
	                      contains_ci(msg, "exceeds the context") || contains_ci(msg, "too many tokens")))
		return err_set(err, DOSSIER_ETOOBIG, "the server at %s says a text is too long for model '%s' (HTTP %ld: %s)",
		               o->root, m, status, msg); /* the same request fails again: shorter texts may not */
	if (status == 503)
		return err_set(err, DOSSIER_EAGAIN, "the server at %s is loading or busy (HTTP 503: %s) for model '%s'; "
		               "the step will be retried", o->root, msg, m);
	if (status >= 500)
		return err_set(err, DOSSIER_EAGAIN, "the server at %s failed running model '%s' (HTTP %ld: %s); the step "
		               "will be retried", o->root, m, status, msg);
	if (status >= 400)
		return err_set(err, DOSSIER_EINVAL, "the server at %s refused the request for model '%s' (HTTP %ld: %s)",
		               o->root, m, status, msg);
	return err_set(err, DOSSIER_EFORMAT, "the server at %s answered HTTP %ld for model '%s' (%s)", o->root, status,
	               m, msg);
}

/* -------------------------------------------------------- one transfer */

struct sse_feed {
	struct openai *o;
	struct sse *s;
	const char *model;
	struct err *err;
};

static int feed_sse(void *ud, const char *data, size_t n)
{
	struct sse_feed *f = ud;
	int rc = sse_feed(f->s, data, n);
	if (!rc || (f->err && f->err->code))
		return rc;
	if (rc == DOSSIER_ETOOBIG)
		return err_set(f->err, rc, "an event from the server at %s for model '%s' passed the %u-byte cap", f->o->root,
		               f->model, (unsigned)CAP_NDJSON_LINE);
	return err_set(f->err, rc, "reading the reply of the server at %s failed (%s)", f->o->root, dossier_rc_name(rc));
}

/*
 * One request to root + path (body NULL = GET). on_event NULL: the 2xx body
 * is kept in *res. Returns 0 for a 2xx status, else the mapped code. The
 * caller frees res with http_result_free.
 */
static int xfer(struct openai *o, const char *path, const char *model, const char *body, size_t body_cap,
                int first_byte_ms, int idle_ms, volatile int *cancel, sse_event_cb on_event, void *user_data,
                struct http_result *res, struct err *err)
{
	char url[600];
	snprintf(url, sizeof url, "%s%s", o->root, path);
	const char *m = model ? model : "-";
	struct sse s;
	sse_init(&s, CAP_NDJSON_LINE, CAP_NDJSON_LINE, on_event, user_data);
	struct http_request rq;
	http_request_default(&rq);
	rq.url = url;
	rq.body = body;
	rq.body_len = body ? strlen(body) : 0;
	rq.bearer = o->key;
	rq.connect_timeout_ms = o->connect_timeout_ms;
	rq.first_byte_ms = first_byte_ms;
	rq.idle_ms = idle_ms;
	rq.cancel = cancel;
	rq.body_cap = body_cap;
	rq.error_cap = CAP_ERROR_BODY;
	struct sse_feed f = {.o = o, .s = &s, .model = m, .err = err};
	if (on_event) {
		rq.on_data = feed_sse;
		rq.user_data = &f;
	}
	int rc = http_run(&rq, res, err);
	switch (rc ? res->fail : HTTP_FAIL_NONE) {
	case HTTP_FAIL_NONE:
		if (on_event && res->status >= 200 && res->status < 300)
			rc = sse_finish(&s);
		break;
	case HTTP_FAIL_CONNECT:
		rc = err_set(err, DOSSIER_EUNAVAILABLE,
		             "no OpenAI-compatible server is reachable at %s: start it (e.g. `llama-server --port 8080`), "
		             "set --llm-url or OPENAI_BASE_URL, or run with --offline", o->root);
		break;
	case HTTP_FAIL_TIMEOUT:
		rc = err_set(err, DOSSIER_ETIMEOUT, "the server at %s timed out on %s", o->root, path);
		break;
	case HTTP_FAIL_CANCEL:
		rc = err_set(err, DOSSIER_ECANCELLED, "the request to %s for model '%s' was cancelled", o->root, m);
		break;
	case HTTP_FAIL_FIRST_BYTE:
		rc = err_set(err, DOSSIER_ETIMEOUT,
		             "the server at %s did not start answering %s for model '%s' within %d s (load_timeout)",
		             o->root, path, m, first_byte_ms / 1000);
		break;
	case HTTP_FAIL_IDLE:
		rc = err_set(err, DOSSIER_ETIMEOUT,
		             "the server at %s went silent for %d s in the middle of a reply from model '%s' (idle_timeout)",
		             o->root, idle_ms / 1000, m);
		break;
	case HTTP_FAIL_CALLBACK:
		break; /* the event callback, the splitter or http.c said why */
	case HTTP_FAIL_BROKEN:
		rc = err_set(err, DOSSIER_EAGAIN,
		             "the connection to %s broke during %s for model '%s' (%s); the step will be retried", o->root,
		             path, m, res->detail);
		break;
	case HTTP_FAIL_SETUP:
		break;
	}
	sse_free(&s);
	if (!rc && (res->status < 200 || res->status >= 300))
		rc = map_http_error(o, res->status, res->body.data, model, path, err);
	return rc;
}

/* A small request with a JSON reply: *out gets the parsed body (caller decrefs). */
static int request_json(struct openai *o, const char *path, const char *model, json_t *req, int timeout_ms,
                        size_t body_cap, json_t **out, struct err *err)
{
	char *body = NULL;
	if (req && !(body = json_dumps(req, JSON_COMPACT)))
		return err_set(err, DOSSIER_ENOMEM, "cannot build the request for %s", path);
	struct http_result res;
	int rc = xfer(o, path, model, body, body_cap, timeout_ms, timeout_ms, NULL, NULL, NULL, &res, err);
	free(body);
	if (!rc) {
		json_error_t je;
		*out = json_loadb(res.body.data ? res.body.data : "", res.body.len, 0, &je);
		if (!*out)
			rc = err_set(err, DOSSIER_EFORMAT, "the server at %s answered %s with something that is not JSON (%s)",
			             o->root, path, je.text);
	}
	http_result_free(&res);
	return rc;
}

/* ------------------------------------------------------- /v1/embeddings */

static int64_t jint(json_t *o, const char *key);

/* POST /v1/embeddings {model, input: [...]}: data[i].embedding, in data[i].index order. */
static int openai_embed(void *ctx, const struct llm_embed_request *rq, float **vectors, int *dim,
                        struct llm_metrics *m, struct err *err)
{
	struct openai *o = ctx;
	if (!rq || !rq->model || !rq->texts || !rq->n_texts)
		return err_set(err, DOSSIER_EINVAL, "nothing to embed");
	json_t *input = json_array();
	for (size_t i = 0; i < rq->n_texts; i++)
		json_array_append_new(input, json_string(rq->texts[i] ? rq->texts[i] : ""));
	json_t *req = json_pack("{s:s,s:o,s:s}", "model", rq->model, "input", input, "encoding_format", "float");
	json_t *rep = NULL;
	double t0 = clock_mono_s();
	int rc = request_json(o, "/v1/embeddings", rq->model, req, o->load_timeout_ms, CAP_LLM_REPLY, &rep, err);
	json_decref(req);
	if (rc)
		return rc;
	json_t *data = json_object_get(rep, "data");
	size_t n = rq->n_texts, d = 0;
	if (!json_is_array(data) || json_array_size(data) != n) {
		json_decref(rep);
		return err_set(err, DOSSIER_EFORMAT, "the server at %s answered /v1/embeddings for model '%s' with %zu vectors "
		               "for %zu texts", o->root, rq->model, json_is_array(data) ? json_array_size(data) : 0, n);
	}
	d = json_array_size(json_object_get(json_array_get(data, 0), "embedding"));
	float *v = d && d <= 65536 ? calloc(n * d, sizeof *v) : NULL;
	unsigned char *seen = v ? calloc(n, 1) : NULL;
	rc = v && seen ? 0 : d ? err_set(err, DOSSIER_ENOMEM, "out of memory reading %zu vectors", n)
	                       : err_set(err, DOSSIER_EFORMAT, "the server at %s sent empty vectors for model '%s'",
	                                 o->root, rq->model);
	for (size_t i = 0; !rc && i < n; i++) {
		json_t *ent = json_array_get(data, i), *emb = json_object_get(ent, "embedding");
		json_t *ix = json_object_get(ent, "index");
		size_t at = json_is_integer(ix) ? (size_t)json_integer_value(ix) : i;
		if (at >= n || seen[at] || !json_is_array(emb) || json_array_size(emb) != d) {
			rc = err_set(err, DOSSIER_EFORMAT, "the server at %s answered /v1/embeddings for model '%s' with a "
			             "missing, repeated or differently sized vector", o->root, rq->model);
			break;
		}
		seen[at] = 1;
		for (size_t k = 0; k < d; k++)
			v[at * d + k] = (float)json_number_value(json_array_get(emb, k));
	}
	if (!rc && m) {
		memset(m, 0, sizeof *m);
		m->prompt_eval_count = jint(json_object_get(rep, "usage"), "prompt_tokens");
		m->wall_s = clock_mono_s() - t0;
	}
	free(seen);
	json_decref(rep);
	if (rc) {
		free(v);
		return rc;
	}
	*vectors = v;
	*dim = (int)d;
	return 0;
}

/* ------------------------------------------------------- /v1/models */

/* The "data" array of /v1/models in *out (caller decrefs the whole reply, *reply). */
static int list_models(struct openai *o, json_t **reply, json_t **data, struct err *err)
{
	int rc = request_json(o, "/v1/models", NULL, NULL, o->connect_timeout_ms + o->idle_timeout_ms, CAP_MODELS_BODY,
	                      reply, err);
	if (rc)
		return rc;
	*data = json_object_get(*reply, "data");
	if (!json_is_array(*data)) {
		json_decref(*reply);
		*reply = NULL;
		return err_set(err, DOSSIER_EFORMAT, "the server at %s answered /v1/models without a \"data\" list", o->root);
	}
	return 0;
}

static const char *entry_id(json_t *e)
{
	const char *id = json_string_value(json_object_get(e, "id"));
	return id ? id : "";
}

/* The entry of model in data, or NULL. */
static json_t *find_entry(json_t *data, const char *model)
{
	size_t i;
	json_t *e;
	json_array_foreach(data, i, e) {
		if (!strcmp(entry_id(e), model))
			return e;
		json_t *al = json_object_get(e, "aliases");
		size_t k;
		json_t *a;
		json_array_foreach(al, k, a) {
			if (json_string_value(a) && !strcmp(json_string_value(a), model))
				return e;
		}
	}
	json_array_foreach(data, i, e) {
		if (llm_model_name_eq(entry_id(e), model))
			return e;
	}
	return NULL;
}

static int is_router(json_t *data)
{
	size_t i;
	json_t *e;
	json_array_foreach(data, i, e) {
		if (json_object_get(e, "status"))
			return 1;
	}
	return 0;
}

/* A router entry's status ("loaded", "loading", "unloaded"); "" when none. */
static const char *entry_status(json_t *e, int *failed, int *exit_code)
{
	json_t *st = json_object_get(e, "status");
	const char *v = json_string_value(json_object_get(st, "value"));
	if (!v)
		v = json_string_value(st);
	if (failed)
		*failed = json_is_true(json_object_get(st, "failed"));
	if (exit_code)
		*exit_code = (int)json_integer_value(json_object_get(st, "exit_code"));
	return v ? v : "";
}

/* 1 image input, 0 text only, -1 not said (architecture.input_modalities). */
static int entry_vision(json_t *e)
{
	json_t *mods = json_object_get(json_object_get(e, "architecture"), "input_modalities");
	if (!json_is_array(mods))
		return -1;
	size_t i;
	json_t *m;
	json_array_foreach(mods, i, m) {
		if (json_string_value(m) && !strcmp(json_string_value(m), "image"))
			return 1;
	}
	return 0;
}

/* The value after flag (or alt) in the router's child arguments, or NULL. */
static const char *entry_arg(json_t *e, const char *flag, const char *alt)
{
	json_t *args = json_object_get(json_object_get(e, "status"), "args");
	size_t n = json_array_size(args);
	for (size_t i = 0; i + 1 < n; i++) {
		const char *a = json_string_value(json_array_get(args, i));
		if (a && (!strcmp(a, flag) || (alt && !strcmp(a, alt))))
			return json_string_value(json_array_get(args, i + 1));
	}
	return NULL;
}

static int64_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return 0;
}

/* ---------------------------------------------------------------- chat */

struct chat_state {
	struct openai *o;
	const char *model;
	struct buf text;
	struct llm_metrics *m;
	int finished;            /* a finish_reason arrived */
	int done;                /* [DONE] arrived */
	char finish_reason[32];
	struct err *err;
};

static int on_chat_event(void *ud, const struct sse_event *ev)
{
	struct chat_state *st = ud;
	if (ev->done) {
		st->done = 1;
		return 0;
	}
	json_t *j = json_loadb(ev->data, ev->len, 0, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return err_set(st->err, DOSSIER_EAGAIN, "the server at %s sent a broken event for model '%s'; the step "
		               "will be retried", st->o->root, st->model);
	}
	json_t *e = json_object_get(j, "error");
	if (e) {
		char msg[300];
		char *s = json_dumps(j, JSON_COMPACT);
		error_text(s, msg, sizeof msg);
		free(s);
		json_decref(j);
		return err_set(st->err, DOSSIER_EAGAIN, "the server at %s stopped in the middle of a reply from model '%s' "
		               "(%s); the step will be retried", st->o->root, st->model, msg);
	}
	json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
	const char *delta = json_string_value(json_object_get(json_object_get(ch, "delta"), "content"));
	if (!delta) /* a server that answers stream:true with one whole message */
		delta = json_string_value(json_object_get(json_object_get(ch, "message"), "content"));
	if (delta && *delta && !st->finished) {
		int rc = buf_appends(&st->text, delta);
		if (rc) {
			json_decref(j);
			return err_set(st->err, rc, "the reply of model '%s' passed the %u-byte cap (CAP_LLM_REPLY)", st->model,
			               (unsigned)CAP_LLM_REPLY);
		}
	}
	const char *fr = json_string_value(json_object_get(ch, "finish_reason"));
	if (fr && *fr) {
		st->finished = 1;
		snprintf(st->finish_reason, sizeof st->finish_reason, "%s", fr);
	}
	json_t *u = json_object_get(j, "usage");
	if (json_is_object(u)) {
		st->m->prompt_eval_count = jint(u, "prompt_tokens");
		st->m->eval_count = jint(u, "completion_tokens");
	}
	json_t *t = json_object_get(j, "timings"); /* llama.cpp's own, in ms */
	if (json_is_object(t)) {
		double pm = json_number_value(json_object_get(t, "prompt_ms"));
		double gm = json_number_value(json_object_get(t, "predicted_ms"));
		st->m->prompt_eval_ns = (int64_t)(pm * 1e6);
		st->m->eval_ns = (int64_t)(gm * 1e6);
		st->m->total_ns = st->m->prompt_eval_ns + st->m->eval_ns;
		if (!st->m->prompt_eval_count)
			st->m->prompt_eval_count = jint(t, "prompt_n");
		if (!st->m->eval_count)
			st->m->eval_count = jint(t, "predicted_n");
	}
	json_decref(j);
	return 0;
}

/* Whether model reads images: the memo, else the server's modalities; -1 unknown. */
static int model_vision(struct openai *o, const char *model)
{
	int v = memo_get(o, model);
	if (v >= 0)
		return v;
	json_t *reply = NULL, *data;
	struct err e = {0};
	if (list_models(o, &reply, &data, &e))
		return -1;
	json_t *ent = find_entry(data, model);
	v = ent ? entry_vision(ent) : -1;
	if (v < 0 && ent && entry_arg(ent, "--mmproj", "-mm"))
		v = 1;
	json_decref(reply);
	if (v >= 0)
		memo_put(o, model, v);
	return v;
}

static json_t *user_message(const struct llm_request *rq, struct err *err)
{
	if (rq->n_images <= 0) {
		json_t *u = json_pack("{s:s,s:s}", "role", "user", "content", rq->prompt ? rq->prompt : "");
		if (!u)
			err_set(err, DOSSIER_EINVAL, "the prompt for model '%s' is not valid UTF-8", rq->model);
		return u;
	}
	json_t *parts = json_array();
	json_t *t = json_pack("{s:s,s:s}", "type", "text", "text", rq->prompt ? rq->prompt : "");
	if (!t) {
		json_decref(parts);
		err_set(err, DOSSIER_EINVAL, "the prompt for model '%s' is not valid UTF-8", rq->model);
		return NULL;
	}
	json_array_append_new(parts, t);
	for (int i = 0; i < rq->n_images; i++) {
		char *uri = openai_data_uri(rq->images[i], rq->image_lens[i]);
		if (!uri) {
			json_decref(parts);
			err_set(err, DOSSIER_ENOMEM, "out of memory encoding an image for model '%s'", rq->model);
			return NULL;
		}
		json_array_append_new(parts, json_pack("{s:s,s:{s:s}}", "type", "image_url", "image_url", "url", uri));
		free(uri);
	}
	return json_pack("{s:s,s:o}", "role", "user", "content", parts);
}

static int openai_chat(void *ctx, const struct llm_request *rq, char **text_out, struct llm_metrics *m,
                       struct err *err)
{
	struct openai *o = ctx;
	if (!rq->model || !*rq->model)
		return err_set(err, DOSSIER_EINVAL, "no model named for the request to %s", o->root);
	if (rq->n_images > 0 && model_vision(o, rq->model) == 0)
		return err_set(err, DOSSIER_EMODEL,
		               "model '%s' cannot read images (the server at %s lists no image input for it): set "
		               "vision_model to a model with a vision projector (llama-server: --mmproj)",
		               rq->model, o->root);
	json_t *msgs = json_array();
	if (rq->system && *rq->system) {
		json_t *sys = json_pack("{s:s,s:s}", "role", "system", "content", rq->system);
		if (!sys) {
			json_decref(msgs);
			return err_set(err, DOSSIER_EINVAL, "the system prompt for model '%s' is not valid UTF-8", rq->model);
		}
		json_array_append_new(msgs, sys);
	}
	json_t *user = user_message(rq, err);
	if (!user) {
		json_decref(msgs);
		return err ? err->code : DOSSIER_EINVAL;
	}
	json_array_append_new(msgs, user);
	json_t *req = json_pack("{s:s,s:o,s:b,s:{s:b},s:f,s:i}", "model", rq->model, "messages", msgs, "stream", 1,
	                        "stream_options", "include_usage", 1, "temperature", rq->temperature, "seed", rq->seed);
	if (rq->max_tokens > 0)
		json_object_set_new(req, "max_tokens", json_integer(rq->max_tokens));
	if (json_is_object(rq->format))
		json_object_set_new(req, "response_format",
		                    json_pack("{s:s,s:{s:s,s:b,s:O}}", "type", "json_schema", "json_schema", "name", "reply",
		                              "strict", 1, "schema", rq->format));
	else if (rq->format)
		json_object_set_new(req, "response_format", json_pack("{s:s}", "type", "json_object"));
	char *body = json_dumps(req, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(req);
	if (!body)
		return err_set(err, DOSSIER_ENOMEM, "cannot build the chat request for model '%s'", rq->model);
	if (strlen(body) > CAP_REQUEST_BODY) {
		free(body);
		return err_set(err, DOSSIER_ETOOBIG, "the request for model '%s' is larger than %u bytes (CAP_REQUEST_BODY): "
		               "use smaller images", rq->model, (unsigned)CAP_REQUEST_BODY);
	}
	struct llm_metrics local;
	struct chat_state st = {.o = o, .model = rq->model, .m = m ? m : &local, .err = err};
	memset(st.m, 0, sizeof *st.m);
	buf_init(&st.text, CAP_LLM_REPLY);
	struct http_result res;
	double t0 = clock_mono_s();
	err_clear(err);
	int rc = xfer(o, "/v1/chat/completions", rq->model, body, CAP_NDJSON_LINE, o->load_timeout_ms,
	              o->idle_timeout_ms, rq->cancel, on_chat_event, &st, &res, err);
	st.m->wall_s = clock_mono_s() - t0;
	if (!st.m->total_ns)
		st.m->total_ns = (int64_t)(st.m->wall_s * 1e9);
	free(body);
	http_result_free(&res);
	if (!rc && !st.finished)
		rc = err_set(err, DOSSIER_EAGAIN,
		             "the reply of model '%s' from %s ended before it was complete (no finish_reason); the step "
		             "will be retried", rq->model, o->root);
	if (rc) {
		buf_free(&st.text);
		return rc;
	}
	if (rq->n_images > 0)
		memo_put(o, rq->model, 1);
	*text_out = buf_take(&st.text);
	return 0;
}

/* ------------------------------------------- the serving process's memory */

/* 1 if the server's address is this machine. */
static int root_is_local(const char *root)
{
	const char *h = strstr(root, "://");
	h = h ? h + 3 : root;
	return !strncmp(h, "127.", 4) || !strncmp(h, "localhost", 9) || !strncmp(h, "[::1]", 5);
}

/* VmRSS of the process whose arguments hold want (the GGUF path a router's
 * child was started with, or a plain server's -m path), in *bytes. 0 when
 * found; -1 when no such process runs here or /proc cannot tell. */
static int rss_of_process_with_arg(const char *want, uint64_t *bytes)
{
	DIR *d = opendir("/proc");
	if (!d || !want || !*want) {
		if (d)
			closedir(d);
		return -1;
	}
	struct dirent *de;
	int found = -1;
	while (found < 0 && (de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[64], args[8192];
		snprintf(path, sizeof path, "/proc/%s/cmdline", de->d_name);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(args, 1, sizeof args - 1, f);
		fclose(f);
		args[n] = '\0';
		int match = 0;
		for (size_t i = 0; i < n && !match; i += strlen(args + i) + 1)
			match = !strcmp(args + i, want);
		if (!match)
			continue;
		snprintf(path, sizeof path, "/proc/%s/status", de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		char line[256];
		while (fgets(line, sizeof line, f))
			if (!strncmp(line, "VmRSS:", 6)) {
				unsigned long long kb = strtoull(line + 6, NULL, 10);
				if (kb) {
					*bytes = (uint64_t)kb * 1024;
					found = 0;
				}
				break;
			}
		fclose(f);
	}
	closedir(d);
	return found;
}

/* ------------------------------------------------------------ llama-swap */

/* GET /running: {"running": [{"model", "state"}, ...]}. *list borrowed from *reply. */
static int swap_running(struct openai *o, json_t **reply, json_t **list, struct err *err)
{
	int rc = request_json(o, "/running", NULL, NULL, o->connect_timeout_ms + o->idle_timeout_ms, CAP_MODELS_BODY,
	                      reply, err);
	if (rc)
		return rc;
	*list = json_object_get(*reply, "running");
	if (!json_is_array(*list)) {
		json_decref(*reply);
		*reply = NULL;
		return err_set(err, DOSSIER_EFORMAT, "llama-swap at %s answered /running without a \"running\" list", o->root);
	}
	return 0;
}

/* 1 if the server is llama-swap: asked once (GET /running), then remembered.
 * A server that does not answer is asked again next time. */
static int is_swap(struct openai *o)
{
	pthread_mutex_lock(&o->mu);
	int v = o->swap;
	pthread_mutex_unlock(&o->mu);
	if (v >= 0)
		return v;
	json_t *reply = NULL, *list;
	struct err e = {0};
	int rc = swap_running(o, &reply, &list, &e);
	json_decref(reply);
	if (rc == DOSSIER_EUNAVAILABLE || rc == DOSSIER_ETIMEOUT)
		return 0;
	pthread_mutex_lock(&o->mu);
	o->swap = v = rc == 0;
	pthread_mutex_unlock(&o->mu);
	return v;
}

/* 1 if /running lists model as ready ("starting" counts when loading is set). */
static int swap_listed(json_t *list, const char *model, int loading)
{
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		const char *m = json_string_value(json_object_get(e, "model"));
		const char *st = json_string_value(json_object_get(e, "state"));
		if (m && llm_model_name_eq(m, model) &&
		    (!st || !strcmp(st, "ready") || (loading && !strcmp(st, "starting"))))
			return 1;
	}
	return 0;
}

/* Whether /running lists model: 0/1 in *on, or the request's error. */
static int swap_is_running(struct openai *o, const char *model, int *on, struct err *err)
{
	json_t *reply = NULL, *list;
	int rc = swap_running(o, &reply, &list, err);
	if (!rc)
		*on = swap_listed(list, model, 0);
	json_decref(reply);
	return rc;
}

/* model percent-encoded for a path segment ('/' kept: llama-swap's route takes the rest). */
static void path_escape(const char *in, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;
	for (; *in && k + 4 < n; in++) {
		unsigned char ch = (unsigned char)*in;
		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || strchr("-._~:/@", ch)) {
			out[k++] = (char)ch;
		} else {
			out[k++] = '%';
			out[k++] = hex[ch >> 4];
			out[k++] = hex[ch & 15];
		}
	}
	out[k] = '\0';
}

/* Polls /running until model is listed (want = 1) or gone (want = 0). */
static int swap_wait(struct openai *o, const char *model, int want, int timeout_ms, struct err *err)
{
	double until = clock_mono_s() + timeout_ms / 1000.0;
	for (;;) {
		int on = 0;
		int rc = swap_is_running(o, model, &on, err);
		if (rc)
			return rc;
		if (on == want)
			return 0;
		if (clock_mono_s() >= until)
			return err_set(err, DOSSIER_ETIMEOUT, "model '%s' at llama-swap %s was still %s after %d s", model,
			               o->root, want ? "not running" : "running", timeout_ms / 1000);
		nap_ms(POLL_MS);
	}
}

/* llama-swap loads a model on its first request: GET /upstream/<model>/health
 * (answered once the model's server is up), else a one-token chat. */
static int swap_load(struct openai *o, const char *model, struct err *err)
{
	int on = 0;
	int rc = swap_is_running(o, model, &on, err);
	if (rc || on)
		return rc;
	char esc[400], path[480];
	path_escape(model, esc, sizeof esc);
	snprintf(path, sizeof path, "/upstream/%s/health", esc);
	struct http_result res;
	rc = xfer(o, path, model, NULL, CAP_ERROR_BODY, o->load_timeout_ms, o->load_timeout_ms, NULL, NULL, NULL, &res,
	          err);
	http_result_free(&res);
	if (rc == DOSSIER_ENOTFOUND) { /* no /upstream route: a request loads it */
		err_clear(err);
		struct llm_request rq = {.model = model, .prompt = "ok", .max_tokens = 1};
		char *text = NULL;
		rc = openai_chat(o, &rq, &text, NULL, err);
		free(text);
	}
	if (rc == DOSSIER_ETIMEOUT)
		err_set(err, rc, "loading model '%s' took longer than %d s (load_timeout) at llama-swap %s: the machine may "
		        "be short of memory", model, o->load_timeout_ms / 1000, o->root);
	if (rc)
		return rc;
	return swap_wait(o, model, 1, o->load_timeout_ms, err);
}

/* POST /api/models/unload/<model>; an older llama-swap without it: GET /unload (all). */
static int swap_unload(struct openai *o, const char *model, struct err *err)
{
	int on = 0;
	int rc = swap_is_running(o, model, &on, err);
	if (rc || !on)
		return rc;
	char esc[400], path[480];
	path_escape(model, esc, sizeof esc);
	snprintf(path, sizeof path, "/api/models/unload/%s", esc);
	struct http_result res;
	rc = xfer(o, path, model, "{}", CAP_ERROR_BODY, o->idle_timeout_ms, o->idle_timeout_ms, NULL, NULL, NULL, &res,
	          err);
	http_result_free(&res);
	if (rc == DOSSIER_ENOTFOUND) {
		err_clear(err);
		rc = xfer(o, "/unload", model, NULL, CAP_ERROR_BODY, o->idle_timeout_ms, o->idle_timeout_ms, NULL, NULL, NULL,
		          &res, err);
		http_result_free(&res);
	}
	if (rc)
		return rc;
	return swap_wait(o, model, 0, o->idle_timeout_ms, err);
}

/* The models /running lists, as resident (unloadable: expires_at ""). */
static int swap_ps(struct openai *o, struct llm_resident **out, size_t *n, struct err *err)
{
	json_t *reply = NULL, *list;
	int rc = swap_running(o, &reply, &list, err);
	if (rc)
		return rc;
	size_t cnt = json_array_size(list), k = 0, i;
	struct llm_resident *r = calloc(cnt ? cnt : 1, sizeof *r);
	if (!r) {
		json_decref(reply);
		return err_set(err, DOSSIER_ENOMEM, "out of memory reading /running");
	}
	json_t *e;
	json_array_foreach(list, i, e) {
		const char *m = json_string_value(json_object_get(e, "model"));
		if (!m)
			continue;
		snprintf(r[k].name, sizeof r[k].name, "%s", m);
		k++;
	}
	json_decref(reply);
	*out = r;
	*n = k;
	return 0;
}

/* -------------------------------------------------------- load, unload */

/* ------------------------------------------------- following /models/sse */

struct status_watch {
	struct sse s;
	const char *model;
	double until;   /* the window ends (monotonic seconds) */
};

/* An event about model (or one that names no model) ends the wait: the
 * caller reads the status again, so the event's own shape matters little. */
static int on_status_event(void *ud, const struct sse_event *ev)
{
	struct status_watch *w = ud;
	json_t *j = json_loadb(ev->data, ev->len, 0, NULL);
	const char *m = json_string_value(json_object_get(j, "model"));
	if (!m)
		m = json_string_value(json_object_get(j, "name"));
	if (!m)
		m = json_string_value(json_object_get(j, "id"));
	int ours = !m || llm_model_name_eq(m, w->model);
	json_decref(j);
	return ours ? DOSSIER_ECANCELLED : 0;
}

static int feed_status(void *ud, const char *data, size_t n)
{
	struct status_watch *w = ud;
	if (clock_mono_s() >= w->until) /* a stream of pings without our model */
		return DOSSIER_ETIMEOUT;
	return sse_feed(&w->s, data, n);
}

static int sse_state(struct openai *o)
{
	pthread_mutex_lock(&o->mu);
	int v = o->sse;
	pthread_mutex_unlock(&o->mu);
	return v;
}

static void sse_set(struct openai *o, int v)
{
	pthread_mutex_lock(&o->mu);
	o->sse = v;
	pthread_mutex_unlock(&o->mu);
}

/*
 * Follows the router's GET /models/sse until an event about model arrives,
 * at most window_ms (a change between the last status read and the
 * subscription is then seen at the next read). Remembers whether the router
 * has the route; without it the caller polls.
 */
static void sse_wait(struct openai *o, const char *model, int window_ms)
{
	char url[600];
	snprintf(url, sizeof url, "%s/models/sse", o->root);
	struct status_watch w = {.model = model, .until = clock_mono_s() + window_ms / 1000.0};
	sse_init(&w.s, CAP_NDJSON_LINE, CAP_NDJSON_LINE, on_status_event, &w);
	struct http_request rq;
	http_request_default(&rq);
	rq.url = url;
	rq.bearer = o->key;
	rq.connect_timeout_ms = o->connect_timeout_ms;
	rq.first_byte_ms = window_ms;
	rq.idle_ms = window_ms;
	rq.error_cap = CAP_ERROR_BODY;
	rq.on_data = feed_status;
	rq.user_data = &w;
	struct http_result res;
	struct err e = {0};
	http_run(&rq, &res, &e);
	if (res.status >= 200 && res.status < 300)
		sse_set(o, 1);
	else if (res.status >= 400 && res.status != 401 && res.status != 403 && res.status != 429 && res.status < 500)
		sse_set(o, 0);
	http_result_free(&res);
	sse_free(&w.s);
}

/* Reads /v1/models until model's status is want ("loaded" or "unloaded"),
 * for at most timeout_ms: between two reads it follows GET /models/sse when
 * the router has it, else sleeps POLL_MS. */
static int wait_status(struct openai *o, const char *model, const char *want, int timeout_ms, struct err *err)
{
	double until = clock_mono_s() + timeout_ms / 1000.0;
	for (;;) {
		json_t *reply = NULL, *data;
		int rc = list_models(o, &reply, &data, err);
		if (rc)
			return rc;
		json_t *ent = find_entry(data, model);
		int failed = 0, code = 0;
		const char *s = ent ? entry_status(ent, &failed, &code) : "";
		int match = ent && !strcmp(s, want), gone = !ent;
		char now[32];
		snprintf(now, sizeof now, "%s", s);
		json_decref(reply);
		if (match)
			return 0;
		if (gone)
			return err_set(err, DOSSIER_EMODEL, "model '%s' is not on the router at %s: see `dossier models`", model,
			               o->root);
		if (failed && !strcmp(want, "loaded"))
			return err_set(err, DOSSIER_EMODEL,
			               "the router at %s failed to load model '%s' (its server exited with code %d): see the "
			               "router's log; the model may not fit in memory", o->root, model, code);
		if (clock_mono_s() >= until)
			return err_set(err, DOSSIER_ETIMEOUT, "model '%s' at the router %s was still '%s' after %d s (waiting for "
			               "'%s')", model, o->root, now, timeout_ms / 1000, want);
		int left_ms = (int)((until - clock_mono_s()) * 1000.0);
		if (sse_state(o) != 0 && left_ms > 0) {
			sse_wait(o, model, left_ms < SSE_WINDOW_MS ? left_ms : SSE_WINDOW_MS);
			if (sse_state(o) == 1)
				continue;
		}
		nap_ms(POLL_MS);
	}
}

/* The router's status of model in *status (n bytes); 0, or the list's error.
 * *router = 0 for a plain server (then status is ""). */
static int status_of(struct openai *o, const char *model, int *router, char *status, size_t n, struct err *err)
{
	json_t *reply = NULL, *data;
	int rc = list_models(o, &reply, &data, err);
	if (rc)
		return rc;
	*router = is_router(data);
	json_t *ent = find_entry(data, model);
	snprintf(status, n, "%s", ent ? entry_status(ent, NULL, NULL) : "");
	if (*router && !ent)
		rc = err_set(err, DOSSIER_EMODEL, "model '%s' is not on the router at %s: see `dossier models`, or add its GGUF "
		             "to the router's --models-dir", model, o->root);
	json_decref(reply);
	return rc;
}

static int openai_load(void *ctx, const char *model, int num_ctx, int64_t keep_alive_s, double *load_s,
                       struct err *err)
{
	struct openai *o = ctx;
	(void)num_ctx;      /* the router's arguments fix the context (-c) */
	(void)keep_alive_s; /* routers keep a model until it is unloaded or evicted */
	double t0 = clock_mono_s();
	int router;
	char st[32];
	int rc = status_of(o, model, &router, st, sizeof st, err);
	if (rc)
		return rc;
	if (!router && is_swap(o) && (rc = swap_load(o, model, err)))
		return rc;
	if (router && strcmp(st, "loaded")) {
		if (strcmp(st, "loading")) {
			json_t *req = json_pack("{s:s}", "model", model), *rep = NULL;
			rc = request_json(o, "/models/load", model, req, o->idle_timeout_ms, CAP_NDJSON_LINE, &rep, err);
			json_decref(req);
			json_decref(rep);
			if (rc)
				return rc;
		}
		rc = wait_status(o, model, "loaded", o->load_timeout_ms, err);
		if (rc == DOSSIER_ETIMEOUT)
			err_set(err, rc, "loading model '%s' took longer than %d s (load_timeout) at the router %s: the machine "
			        "may be short of memory", model, o->load_timeout_ms / 1000, o->root);
		if (rc)
			return rc;
	}
	if (load_s)
		*load_s = clock_mono_s() - t0;
	return 0;
}

static int openai_unload(void *ctx, const char *model, struct err *err)
{
	struct openai *o = ctx;
	int router;
	char st[32];
	int rc = status_of(o, model, &router, st, sizeof st, err);
	if (rc == DOSSIER_EMODEL) {
		err_clear(err); /* not there: not loaded */
		return 0;
	}
	if (!rc && !router && is_swap(o))
		return swap_unload(o, model, err);
	if (rc || !router || !strcmp(st, "unloaded") || !*st)
		return rc;
	json_t *req = json_pack("{s:s}", "model", model), *rep = NULL;
	rc = request_json(o, "/models/unload", model, req, o->idle_timeout_ms, CAP_NDJSON_LINE, &rep, err);
	json_decref(req);
	json_decref(rep);
	if (rc)
		return rc;
	return wait_status(o, model, "unloaded", o->idle_timeout_ms, err);
}

static int openai_ps(void *ctx, struct llm_resident **out, size_t *n, struct err *err)
{
	struct openai *o = ctx;
	json_t *reply = NULL, *data;
	int rc = list_models(o, &reply, &data, err);
	if (rc)
		return rc;
	int router = is_router(data);
	if (!router && is_swap(o)) {
		json_decref(reply);
		return swap_ps(o, out, n, err);
	}
	size_t cnt = json_array_size(data);
	struct llm_resident *r = calloc(cnt ? cnt : 1, sizeof *r);
	if (!r) {
		json_decref(reply);
		return err_set(err, DOSSIER_ENOMEM, "out of memory reading /v1/models");
	}
	size_t k = 0, i;
	json_t *e;
	json_array_foreach(data, i, e) {
		const char *st = entry_status(e, NULL, NULL);
		if (router && strcmp(st, "loaded") && strcmp(st, "loading"))
			continue;
		snprintf(r[k].name, sizeof r[k].name, "%s", entry_id(e));
		json_t *meta = json_object_get(e, "meta");
		r[k].size_bytes = (uint64_t)jint(meta, "size");
		if (r[k].size_bytes)
			snprintf(r[k].size_src, sizeof r[k].size_src, "engine:meta.size");
		if (root_is_local(o->root)) { /* the child (router) or the server itself (plain) */
			const char *path = entry_arg(e, "-m", "--model");
			if (!path && (strchr(entry_id(e), '/') || strstr(entry_id(e), ".gguf")))
				path = entry_id(e); /* a plain llama-server names its model by the -m path */
			if (rss_of_process_with_arg(path, &r[k].rss_bytes))
				r[k].rss_bytes = 0;
		}
		const char *c = entry_arg(e, "-c", "--ctx-size");
		r[k].context_length = c ? atoi(c) : (int)jint(meta, "n_ctx");
		/* a plain server's one model cannot be unloaded: pinned */
		snprintf(r[k].expires_at, sizeof r[k].expires_at, "%s", router ? "" : LLM_EXPIRES_PINNED);
		k++;
		if (!router)
			break;
	}
	json_decref(reply);
	*out = r;
	*n = k;
	return 0;
}

/* ------------------------------------------------------ show, describe, ping */

static int entry_of(struct openai *o, const char *model, json_t **reply, json_t **ent, int *router, struct err *err)
{
	json_t *data;
	int rc = list_models(o, reply, &data, err);
	if (rc)
		return rc;
	*router = is_router(data);
	*ent = find_entry(data, model);
	if (!*ent && !*router && json_array_size(data) == 1)
		*ent = json_array_get(data, 0); /* a plain server answers for its one model whatever the name */
	if (!*ent) {
		char has[512] = "";
		size_t i, l = 0;
		json_t *e;
		json_array_foreach(data, i, e) {
			if (l + 8 >= sizeof has) {
				snprintf(has + l, sizeof has - l, ", ...");
				break;
			}
			l += (size_t)snprintf(has + l, sizeof has - l, "%s%s", i ? ", " : "", entry_id(e));
			if (l >= sizeof has)
				l = sizeof has - 1;
		}
		json_decref(*reply);
		*reply = NULL;
		return err_set(err, DOSSIER_EMODEL,
		               "model '%s' is not on the server at %s, which has: %s; choose one of them (--text-model,"
		               " --vision-model or --embed-model, or text_model, vision_model or embed_model in the config)",
		               model, o->root, has[0] ? has : "no models");
	}
	return 0;
}

static int openai_show(void *ctx, const char *model, struct llm_model_info *out, struct err *err)
{
	struct openai *o = ctx;
	json_t *reply = NULL, *ent;
	int router;
	int rc = entry_of(o, model, &reply, &ent, &router, err);
	if (rc)
		return rc;
	struct llm_model_info in;
	memset(&in, 0, sizeof in);
	snprintf(in.name, sizeof in.name, "%s", model);
	in.completion = 1;
	int v = memo_get(o, model);
	if (v < 0)
		v = entry_vision(ent);
	if (v < 0)
		v = entry_arg(ent, "--mmproj", "-mm") != NULL;
	in.vision = v > 0;
	json_t *meta = json_object_get(ent, "meta");
	in.size_bytes = (uint64_t)jint(meta, "size");
	in.context_length = (int)jint(meta, "n_ctx_train");
	in.embedding_length = (int)jint(meta, "n_embd");
	int64_t np = jint(meta, "n_params");
	if (np > 0)
		snprintf(in.parameter_size, sizeof in.parameter_size, "%.1fB", (double)np / 1e9);
	json_decref(reply);
	*out = in;
	return 0;
}

/* The model in the shape of Ollama's /api/show (what plan/facts.c reads): size,
 * capabilities, model_info from meta; plus "gguf_path", "mmproj_path" and
 * "num_ctx" from the router's child arguments when it gave them. */
static int openai_describe(void *ctx, const char *model, json_t **out, struct err *err)
{
	struct openai *o = ctx;
	struct llm_model_info in;
	int rc = openai_show(o, model, &in, err);
	if (rc)
		return rc;
	json_t *reply = NULL, *ent;
	int router;
	if ((rc = entry_of(o, model, &reply, &ent, &router, err)))
		return rc;
	json_t *meta = json_object_get(ent, "meta");
	json_t *caps = json_array();
	json_array_append_new(caps, json_string("completion"));
	if (in.vision)
		json_array_append_new(caps, json_string("vision"));
	json_t *mi = json_object();
	if (jint(meta, "n_params"))
		json_object_set_new(mi, "general.parameter_count", json_integer(jint(meta, "n_params")));
	json_t *d = json_pack("{s:o,s:o,s:s}", "capabilities", caps, "model_info", mi, "engine", "openai");
	if (in.size_bytes)
		json_object_set_new(d, "size", json_integer((json_int_t)in.size_bytes));
	const char *p = entry_arg(ent, "-m", "--model");
	if (!p)
		p = json_string_value(json_object_get(ent, "path"));
	if (p)
		json_object_set_new(d, "gguf_path", json_string(p));
	if ((p = entry_arg(ent, "--mmproj", "-mm")))
		json_object_set_new(d, "mmproj_path", json_string(p));
	if ((p = entry_arg(ent, "-c", "--ctx-size")))
		json_object_set_new(d, "num_ctx", json_integer(atoi(p)));
	if ((p = entry_arg(ent, "-fa", "--flash-attn")))
		json_object_set_new(d, "flash_attn", json_string(p));
	if (json_is_object(meta))
		json_object_set_new(d, "meta", json_deep_copy(meta));
	json_object_set_new(d, "router", json_boolean(router));
	json_decref(reply);
	*out = d;
	return 0;
}

static int openai_ping(void *ctx, char *version, size_t n, struct err *err)
{
	struct openai *o = ctx;
	json_t *reply = NULL, *data;
	int rc = list_models(o, &reply, &data, err);
	if (rc)
		return rc;
	int router = is_router(data), swap = !router && is_swap(o);
	/* a plain server (neither a router nor llama-swap, one model listed)
	 * answers every request with its one model, whatever the name */
	const char *one = json_array_size(data) == 1 && !router && !swap ? entry_id(json_array_get(data, 0)) : "";
	pthread_mutex_lock(&o->mu);
	snprintf(o->served, sizeof o->served, "%s", one);
	o->served_known = 1;
	pthread_mutex_unlock(&o->mu);
	json_decref(reply);
	if (version && n)
		snprintf(version, n, "%s", router ? "llama.cpp router" : swap ? "llama-swap" : "openai-compatible");
	/* a router says in /props how many models it keeps (--models-max, default 4) */
	json_t *props = NULL;
	struct err e = {0};
	if (router && version && n && !request_json(o, "/props", NULL, NULL, o->connect_timeout_ms + 2000, CAP_MODELS_BODY,
	                                            &props, &e)) {
		json_int_t max = json_integer_value(json_object_get(props, "max_instances"));
		if (max > 0)
			snprintf(version, n, "llama.cpp router, --models-max %lld", (long long)max);
	}
	json_decref(props);
	return 0;
}

/* What the last ping found (the engine is asked once when no ping ran). */
static int openai_served(void *ctx, char *model, size_t n, struct err *err)
{
	struct openai *o = ctx;
	pthread_mutex_lock(&o->mu);
	int known = o->served_known;
	pthread_mutex_unlock(&o->mu);
	int rc = known ? 0 : openai_ping(o, NULL, 0, err);
	if (rc)
		return rc;
	pthread_mutex_lock(&o->mu);
	if (o->served[0])
		snprintf(model, n, "%s", o->served);
	else
		rc = err_set(err, DOSSIER_ENOTFOUND, "the server at %s serves models by name", o->root);
	pthread_mutex_unlock(&o->mu);
	return rc;
}

/* ------------------------------------------------------------- vtable */

static int openai_open(const struct config *cfg, const char *where, void **ctx, struct err *err)
{
	*ctx = NULL;
	if (!cfg)
		return err_set(err, DOSSIER_EINVAL, "the OpenAI-compatible engine needs a configuration");
	struct openai *o = calloc(1, sizeof *o);
	if (!o)
		return err_set(err, DOSSIER_ENOMEM, "out of memory creating the OpenAI-compatible client");
	http_global_init();
	const char *u = where && *where ? where : cfg->llm_url[0] ? cfg->llm_url
	                : cfg->openai_base_url[0] ? cfg->openai_base_url : "http://127.0.0.1:8080";
	openai_root_url(u, o->root, sizeof o->root);
	snprintf(o->key, sizeof o->key, "%s", cfg->llm_api_key);
	o->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 3000;
	o->load_timeout_ms = cfg->load_timeout_ms > 0 ? cfg->load_timeout_ms : 300000;
	o->idle_timeout_ms = cfg->idle_timeout_ms > 0 ? cfg->idle_timeout_ms : 120000;
	pthread_mutex_init(&o->mu, NULL);
	o->swap = o->sse = -1;
	*ctx = o;
	return 0;
}

static const char *openai_url(void *ctx)
{
	return ((struct openai *)ctx)->root;
}

static void openai_close(void *ctx)
{
	struct openai *o = ctx;
	if (!o)
		return;
	pthread_mutex_destroy(&o->mu);
	explicit_bzero(o->key, sizeof o->key);
	free(o);
}

const struct llm_backend_ops openai_ops = {
	.name = "openai",
	.open = openai_open,
	.url = openai_url,
	.chat = openai_chat,
	.embed = openai_embed,
	.load = openai_load,
	.unload = openai_unload,
	.ps = openai_ps,
	.show = openai_show,
	.describe = openai_describe,
	.ping = openai_ping,
	.served = openai_served,
	.close = openai_close,
};
