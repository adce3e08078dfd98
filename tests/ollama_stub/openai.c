/*
 * openai.c — the stub's OpenAI side: what llama.cpp's llama-server (plain, or
 * as a router), and Ollama's compatibility layer, answer.
 *
 *   GET  /v1/models, /models   the catalogue; in router mode each model has a
 *                              "status" {value, args, failed, exit_code},
 *                              "architecture.input_modalities" and "meta"
 *   POST /models/load          router: asynchronous; the status goes
 *                              "loading" and then, --load-ms later, "loaded".
 *                              --models-max N evicts the least recently used
 *   POST /models/unload        router: "unloaded" at once
 *   GET  /models/sse           router: one event per status change,
 *                              data {"model", "status": {"value"}}; a
 *                              ": ping" comment each second (--no-sse: 404)
 *   POST /v1/chat/completions  streamed (SSE, [DONE]) or not; json_schema
 *                              replies satisfy the schema; image_url data URIs
 *                              only for vision models (else a 500)
 *   GET  /health               {"status":"ok"}
 *   GET  /props                the router's role and max_instances (--models-max)
 *   llama-swap (--swap): GET /running (the loaded models), GET|POST /unload
 *                              (all), POST /api/models/unload/M, any
 *                              /upstream/M/... (loads M first); a model
 *                              loads on its first request, and loading
 *                              one unloads every model outside its
 *                              --swap-group
 *
 * The router's state lives here, apart from sched.c (Ollama's scheduler). A
 * chat to a router model that is not loaded loads it first (autoload).
 * Faults (fault.c) apply as on the Ollama routes: not_found, busy (503
 * "Loading model"), error_before, error_midstream, cut, stall, slow_load, oom.
 */
#include "stub.h"
#include "core/buf.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#define CT_JSON "application/json; charset=utf-8"
#define CT_SSE "text/event-stream"

/* ------------------------------------------------------------ router state */

enum { ST_UNLOADED = 0, ST_LOADING, ST_LOADED };

struct rmodel {
	int state;
	int64_t ready_at_ms;   /* loading: when it becomes loaded */
	int64_t used_ms;       /* last load or request (LRU) */
	int failed;            /* the last load failed */
};

static pthread_mutex_t R_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rmodel R[STUB_MAX_MODELS];
static json_t *R_timeline;    /* array of {t_ms, event, model, resident} */
static int R_max_resident;    /* most models loading or loaded at once */
static int R_loads, R_unloads, R_evictions;

static int resident_count(void)
{
	int n = 0;
	for (int i = 0; i < STUB_MAX_MODELS; i++)
		n += R[i].state != ST_UNLOADED;
	return n;
}

static void timeline(const char *event, const struct model *m)
{
	if (!R_timeline)
		R_timeline = json_array();
	int n = resident_count();
	if (n > R_max_resident)
		R_max_resident = n;
	if (json_array_size(R_timeline) < STUB_TIMELINE_CAP)
		json_array_append_new(R_timeline, json_pack("{s:I,s:s,s:s,s:i}", "t_ms", (json_int_t)stub_t_ms(), "event",
		                                            event, "model", m->name, "resident", n));
	stub_log("router %s %s (resident %d)", event, m->name, n);
}

/* Moves finished loads to "loaded". Call with R_mu held. */
static void tick(const struct catalog *cat)
{
	int64_t now = stub_t_ms();
	for (int i = 0; i < cat->n; i++)
		if (R[i].state == ST_LOADING && now >= R[i].ready_at_ms) {
			R[i].state = ST_LOADED;
			timeline("loaded", &cat->models[i]);
		}
}

static int model_index(const struct catalog *cat, const struct model *m)
{
	return (int)(m - cat->models);
}

/* llama-swap: the --swap-group that holds model i, or -1 (the default group,
 * whose members swap). */
static int swap_group(const struct stub_server *srv, int i)
{
	const struct stub_config *cfg = srv->cfg;
	for (int g = 0; g < cfg->n_swap_groups; g++) {
		char list[sizeof cfg->swap_groups[0]], *save = NULL;
		snprintf(list, sizeof list, "%s", cfg->swap_groups[g]);
		for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
			if (catalog_find(srv->cat, t) == &srv->cat->models[i])
				return g;
	}
	return -1;
}

/* llama-swap (R_mu held): loading model i first stops every model outside
 * its group (groups are exclusive; the default group swaps its members). */
static void swap_evict_for(struct stub_server *srv, int i)
{
	int g = swap_group(srv, i);
	for (int k = 0; k < srv->cat->n; k++)
		if (k != i && R[k].state != ST_UNLOADED && (g < 0 || swap_group(srv, k) != g)) {
			R[k].state = ST_UNLOADED;
			R_evictions++;
			timeline("evicted", &srv->cat->models[k]);
		}
}

/* Starts loading model i (R_mu held): evicts the least recently used loaded
 * model first when --models-max is reached. 0, or -1 for an injected oom. */
static int start_load(struct stub_server *srv, int i)
{
	const struct catalog *cat = srv->cat;
	struct fault f;
	if (R[i].state != ST_UNLOADED)
		return 0;
	if (fault_take(FAULT_OOM, cat->models[i].name, &f)) {
		R[i].failed = 1;
		timeline("load_failed", &cat->models[i]);
		return -1;
	}
	if (srv->cfg->oai_mode == OAI_SWAP)
		swap_evict_for(srv, i);
	int max = srv->cfg->models_max;
	while (max > 0 && resident_count() >= max) {
		int lru = -1;
		for (int k = 0; k < cat->n; k++)
			if (R[k].state == ST_LOADED && (lru < 0 || R[k].used_ms < R[lru].used_ms))
				lru = k;
		if (lru < 0)
			break; /* only loads in flight: the router lets them finish */
		R[lru].state = ST_UNLOADED;
		R_evictions++;
		timeline("evicted", &cat->models[lru]);
	}
	int64_t ms = srv->cfg->router_load_ms;
	if (fault_take(FAULT_SLOW_LOAD, cat->models[i].name, &f))
		ms = f.ms;
	R[i].state = ST_LOADING;
	R[i].failed = 0;
	R[i].ready_at_ms = stub_t_ms() + ms;
	R[i].used_ms = stub_t_ms();
	R_loads++;
	timeline("loading", &cat->models[i]);
	return 0;
}

void oai_reset(void)
{
	pthread_mutex_lock(&R_mu);
	memset(R, 0, sizeof R);
	json_decref(R_timeline);
	R_timeline = NULL;
	R_max_resident = R_loads = R_unloads = R_evictions = 0;
	pthread_mutex_unlock(&R_mu);
}

/* ------------------------------------------------------------ replies */

static int send_bytes(struct MHD_Connection *c, unsigned status, const char *ctype, const char *data, size_t n)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)data, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	int ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static int send_json(struct MHD_Connection *c, unsigned status, json_t *v)
{
	char *s = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	if (!s)
		return MHD_NO;
	int ret = send_bytes(c, status, CT_JSON, s, strlen(s));
	free(s);
	return ret;
}

/* llama.cpp's error shape: {"error":{"code":N,"message":...,"type":...}}. */
static int send_oai_error(struct MHD_Connection *c, unsigned status, const char *type, const char *msg)
{
	stub_log("reply %u error=%s", status, msg);
	return send_json(c, status, json_pack("{s:{s:i,s:s,s:s}}", "error", "code", (int)status, "message", msg, "type",
	                                      type));
}

const char *oai_auth(const struct stub_config *cfg, struct MHD_Connection *c)
{
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (!h)
		return "none";
	if (strncmp(h, "Bearer ", 7))
		return "wrong";
	if (!cfg->api_key[0] || !strcmp(h + 7, cfg->api_key))
		return "ok";
	return "wrong";
}

int oai_is_route(const char *url)
{
	return !strncmp(url, "/v1/", 4) || !strcmp(url, "/models") || !strncmp(url, "/models/", 8) ||
	       !strcmp(url, "/health") || !strcmp(url, "/props") || !strcmp(url, "/running") || !strcmp(url, "/unload") ||
	       !strncmp(url, "/upstream/", 10) || !strncmp(url, "/api/models/unload", 18);
}

/* ------------------------------------------------------------ /v1/models */

static json_t *model_entry(struct stub_server *srv, const struct model *m, int router)
{
	char path[STUB_NAME_MAX + 300];
	snprintf(path, sizeof path, "%s/%s.gguf", srv->cfg->models_dir[0] ? srv->cfg->models_dir : "/models", m->name);
	json_t *mods = json_array();
	json_array_append_new(mods, json_string("text"));
	if (m->caps & CAP_VISION)
		json_array_append_new(mods, json_string("image"));
	json_t *e = json_pack("{s:s,s:s,s:s,s:i,s:{s:o}}", "id", m->name, "object", "model", "owned_by", "llamacpp",
	                      "created", 1700000000, "architecture", "input_modalities", mods);
	if (srv->cfg->oai_mode == OAI_SINGLE)
		json_object_del(e, "architecture"); /* a plain llama-server lists no input modalities */
	json_int_t size = (json_int_t)m->size;
	if (router && R[model_index(srv->cat, m)].state == ST_LOADED)
		size += (json_int_t)(srv->cfg->resident_extra_mib << 20);
	json_object_set_new(e, "meta", json_pack("{s:I,s:I,s:I,s:I}", "n_params", (json_int_t)m->parameter_count, "size",
	                                         size, "n_ctx_train", (json_int_t)m->context_length,
	                                         "n_embd", (json_int_t)m->embedding_length));
	if (!router)
		return e;
	int i = model_index(srv->cat, m);
	static const char *names[] = {"unloaded", "loading", "loaded"};
	char ctx[24];
	snprintf(ctx, sizeof ctx, "%lld", (long long)srv->cfg->default_num_ctx);
	json_t *args = json_pack("[s,s,s,s,s]", "llama-server", "-m", path, "-c", ctx);
	if (m->caps & CAP_VISION) {
		char mm[STUB_NAME_MAX + 40];
		snprintf(mm, sizeof mm, "/models/%s.mmproj.gguf", m->name);
		json_array_append_new(args, json_string("--mmproj"));
		json_array_append_new(args, json_string(mm));
	}
	json_t *st = json_pack("{s:s,s:o}", "value", names[R[i].state], "args", args);
	if (R[i].failed && R[i].state == ST_UNLOADED) {
		json_object_set_new(st, "failed", json_true());
		json_object_set_new(st, "exit_code", json_integer(1));
	}
	json_object_set_new(e, "status", st);
	json_object_set_new(e, "path", json_string(path));
	json_object_set_new(e, "in_cache", json_false());
	return e;
}

static const struct model *single_model(struct stub_server *srv)
{
	const struct model *m = catalog_find(srv->cat, srv->cfg->single_model);
	return m ? m : &srv->cat->models[0];
}

static int api_models(struct stub_server *srv, struct MHD_Connection *c)
{
	json_t *data = json_array();
	int router = srv->cfg->oai_mode == OAI_ROUTER;
	pthread_mutex_lock(&R_mu);
	tick(srv->cat);
	if (srv->cfg->oai_mode == OAI_SINGLE)
		json_array_append_new(data, model_entry(srv, single_model(srv), 0));
	else
		for (int i = 0; i < srv->cat->n; i++)
			json_array_append_new(data, model_entry(srv, &srv->cat->models[i], router));
	pthread_mutex_unlock(&R_mu);
	return send_json(c, 200, json_pack("{s:s,s:o}", "object", "list", "data", data));
}

json_t *oai_router_json(void)
{
	pthread_mutex_lock(&R_mu);
	json_t *o = json_pack("{s:O,s:i,s:i,s:i,s:i}", "timeline", R_timeline ? R_timeline : json_array(),
	                      "max_resident", R_max_resident, "loads", R_loads, "unloads", R_unloads, "evictions",
	                      R_evictions);
	if (!R_timeline)
		json_decref(json_object_get(o, "timeline")); /* json_pack "O" took a new reference of a fresh array */
	pthread_mutex_unlock(&R_mu);
	return o;
}

/* ------------------------------------------------------------ /models/load, unload */

static const struct model *body_model(struct stub_server *srv, const char *body, size_t n, json_t **root)
{
	*root = json_loadb(body ? body : "", n, 0, NULL);
	const char *name = json_string_value(json_object_get(*root, "model"));
	return name ? catalog_find(srv->cat, name) : NULL;
}

static int api_load(struct stub_server *srv, struct MHD_Connection *c, const char *body, size_t n, int load)
{
	json_t *root;
	const struct model *m = body_model(srv, body, n, &root);
	char msg[STUB_MSG_MAX];
	if (!m) {
		snprintf(msg, sizeof msg, "model '%s' not found",
		         json_string_value(json_object_get(root, "model")) ? json_string_value(json_object_get(root, "model"))
		                                                          : "");
		json_decref(root);
		return send_oai_error(c, 400, "invalid_request_error", msg);
	}
	json_decref(root);
	pthread_mutex_lock(&R_mu);
	tick(srv->cat);
	int i = model_index(srv->cat, m), rc = 0;
	if (load) {
		if (R[i].state != ST_UNLOADED)
			rc = 1;
		else
			start_load(srv, i); /* an injected oom shows as a failed status */
	} else if (R[i].state == ST_UNLOADED) {
		rc = 2;
	} else {
		R[i].state = ST_UNLOADED;
		R_unloads++;
		timeline("unloaded", m);
	}
	pthread_mutex_unlock(&R_mu);
	if (rc == 1)
		return send_oai_error(c, 400, "invalid_request_error", "model is already loaded");
	if (rc == 2)
		return send_oai_error(c, 400, "invalid_request_error", "model is not loaded");
	return send_json(c, 200, json_pack("{s:b}", "success", 1));
}

/* Waits until router model i is loaded (autoloading it). 0, or -1 with msg. */
static int router_ready(struct stub_server *srv, int i, int fd, char *msg, size_t mn)
{
	pthread_mutex_lock(&R_mu);
	tick(srv->cat);
	if (R[i].state == ST_UNLOADED && start_load(srv, i)) {
		pthread_mutex_unlock(&R_mu);
		snprintf(msg, mn, "failed to load model '%s': the server exited with code 1", srv->cat->models[i].name);
		return -1;
	}
	for (;;) {
		tick(srv->cat);
		if (R[i].state == ST_LOADED) {
			R[i].used_ms = stub_t_ms();
			pthread_mutex_unlock(&R_mu);
			return 0;
		}
		if (R[i].state == ST_UNLOADED) {
			pthread_mutex_unlock(&R_mu);
			snprintf(msg, mn, "model '%s' was unloaded while loading", srv->cat->models[i].name);
			return -1;
		}
		pthread_mutex_unlock(&R_mu);
		char ch;
		if (stub_is_stopping() || (fd >= 0 && recv(fd, &ch, 1, MSG_PEEK | MSG_DONTWAIT) == 0)) {
			snprintf(msg, mn, "request cancelled");
			return -1;
		}
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&R_mu);
	}
}

/* ------------------------------------------------------------ chat */

struct oai_stream {
	struct stub_server *srv;
	char **events;        /* whole "data: ...\n\n" strings */
	int n, idx;
	struct fault fault;
	int has_fault, fault_done, ended;
	size_t off;           /* into events[idx] */
};

static void stream_free(void *cls)
{
	struct oai_stream *s = cls;
	for (int i = 0; i < s->n; i++)
		free(s->events[i]);
	free(s->events);
	free(s);
}

static ssize_t stream_cb(void *cls, uint64_t pos, char *dst, size_t max)
{
	struct oai_stream *s = cls;
	(void)pos;
	if (stub_is_stopping())
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (s->off == 0) {
		if (s->ended || s->idx >= s->n)
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (s->has_fault && !s->fault_done && s->idx == (s->fault.after_chunks < s->n ? s->fault.after_chunks : s->n - 1)) {
			s->fault_done = 1;
			if (s->fault.kind == FAULT_STALL) {
				struct timespec ts = {(time_t)(s->fault.ms / 1000), (long)(s->fault.ms % 1000) * 1000000L};
				nanosleep(&ts, NULL);
			} else if (s->fault.kind == FAULT_CUT) {
				stub_log("sse cut after %d events", s->idx);
				s->ended = 1;
				return s->fault.clean ? MHD_CONTENT_READER_END_OF_STREAM : MHD_CONTENT_READER_END_WITH_ERROR;
			} else if (s->fault.kind == FAULT_ERROR_MIDSTREAM) {
				/* the error event replaces the rest of the stream */
				for (int i = s->idx; i < s->n; i++)
					free(s->events[i]);
				json_t *e = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", 500, "message",
				                      s->fault.message[0] ? s->fault.message : "an error occurred while generating",
				                      "type", "server_error");
				char *j = json_dumps(e, JSON_COMPACT);
				json_decref(e);
				size_t l = strlen(j) + 16;
				s->events[s->idx] = malloc(l);
				snprintf(s->events[s->idx], l, "data: %s\n\n", j);
				free(j);
				s->n = s->idx + 1;
			}
		}
		if (s->idx > 0 && s->srv->cfg->token_delay_ms > 0) {
			struct timespec ts = {(time_t)(s->srv->cfg->token_delay_ms / 1000),
			                      (long)(s->srv->cfg->token_delay_ms % 1000) * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	const char *ev = s->events[s->idx];
	size_t len = strlen(ev) - s->off;
	if (len > max)
		len = max;
	memcpy(dst, ev + s->off, len);
	s->off += len;
	if (!ev[s->off]) {
		s->off = 0;
		s->idx++;
	}
	return (ssize_t)len;
}

static char *sse_event(json_t *v)
{
	char *j = json_dumps(v, JSON_COMPACT);
	json_decref(v);
	size_t l = strlen(j) + 16;
	char *out = malloc(l);
	snprintf(out, l, "data: %s\n\n", j);
	free(j);
	return out;
}

static json_t *chunk(const char *id, const char *model, json_t *delta, const char *finish)
{
	return json_pack("{s:s,s:s,s:i,s:s,s:[{s:i,s:o,s:o}]}", "id", id, "object", "chat.completion.chunk", "created",
	                 1700000000, "model", model, "choices", "index", 0, "delta", delta, "finish_reason",
	                 finish ? json_string(finish) : json_null());
}

/* Collects image_url data URIs of the messages; -1 + msg on a bad one. */
static int take_image_urls(const json_t *msgs, struct image_info **list, int *n, struct buf *text, char *msg,
                           size_t mn)
{
	size_t i;
	json_t *m;
	json_array_foreach(msgs, i, m) {
		json_t *content = json_object_get(m, "content");
		const char *role = json_string_value(json_object_get(m, "role"));
		int user = role && !strcmp(role, "user");
		if (json_is_string(content)) {
			if (user) {
				buf_reset(text);
				buf_appends(text, json_string_value(content));
			}
			continue;
		}
		size_t k;
		json_t *part;
		json_array_foreach(content, k, part) {
			const char *type = json_string_value(json_object_get(part, "type"));
			if (type && !strcmp(type, "text") && user) {
				buf_reset(text);
				buf_appends(text, json_string_value(json_object_get(part, "text")) ?
				                  json_string_value(json_object_get(part, "text")) : "");
			}
			if (!type || strcmp(type, "image_url"))
				continue;
			const char *url = json_string_value(json_object_get(json_object_get(part, "image_url"), "url"));
			const char *comma = url ? strstr(url, ";base64,") : NULL;
			if (!url || strncmp(url, "data:image/", 11) || !comma) {
				snprintf(msg, mn, "image_url must be a data:image/...;base64, URI");
				return -1;
			}
			unsigned char *bytes;
			size_t nb;
			const char *b64 = comma + 8;
			if (go_base64_decode(b64, strlen(b64), &bytes, &nb, msg, mn))
				return -1;
			struct image_info *nl = realloc(*list, (size_t)(*n + 1) * sizeof **list);
			if (!nl) {
				free(bytes);
				snprintf(msg, mn, "out of memory");
				return -1;
			}
			*list = nl;
			image_inspect(bytes, nb, &nl[*n]);
			free(bytes);
			(*n)++;
		}
	}
	return 0;
}

/* POST /v1/embeddings {model, input}: {object: "list", data: [{object:
 * "embedding", index, embedding}], model, usage}. Vectors by embed.c's rule;
 * the router loads the model first as for chat. Faults: not_found, busy,
 * error_before. */
static int api_embeddings(struct stub_server *srv, struct MHD_Connection *c, const char *body, size_t n, int fd)
{
	char msg[STUB_MSG_MAX];
	json_error_t je;
	json_t *root = json_loadb(body ? body : "", n, 0, &je);
	if (!json_is_object(root)) {
		json_decref(root);
		return send_oai_error(c, 400, "invalid_request_error", "the request body is not a JSON object");
	}
	int ret;
	const char **texts = NULL;
	size_t nt = 0;
	struct fault f;
	const char *name = json_string_value(json_object_get(root, "model"));
	const struct model *m = name ? catalog_find(srv->cat, name) : NULL;
	if (m && fault_take(FAULT_NOT_FOUND, m->name, &f))
		m = NULL;
	if (!m) {
		snprintf(msg, sizeof msg, "model '%s' not found", name ? name : "");
		ret = send_oai_error(c, srv->cfg->oai_mode == OAI_ROUTER ? 400 : 404, "invalid_request_error", msg);
		goto out;
	}
	if (embed_inputs(json_object_get(root, "input"), &texts, &nt, msg, sizeof msg) || !nt) {
		ret = send_oai_error(c, 400, "invalid_request_error", nt ? msg : "'input' must be a non-empty string or array");
		goto out;
	}
	if (!(m->caps & CAP_EMBEDDING)) {
		ret = send_oai_error(c, 501, "not_supported_error",
		                     "This server does not support embeddings. Start it with `--embeddings`");
		goto out;
	}
	if (fault_take(FAULT_BUSY, m->name, &f)) {
		ret = send_oai_error(c, 503, "unavailable_error", f.message[0] ? f.message : "Loading model");
		goto out;
	}
	if (fault_take(FAULT_ERROR_BEFORE, m->name, &f)) {
		ret = send_oai_error(c, (unsigned)f.status, "server_error", f.message[0] ? f.message : "an error occurred: injected fault");
		goto out;
	}
	if (srv->cfg->oai_mode == OAI_ROUTER && router_ready(srv, model_index(srv->cat, m), fd, msg, sizeof msg)) {
		ret = send_oai_error(c, 500, "server_error", msg);
		goto out;
	}
	for (size_t i = 0; srv->cfg->embed_batch > 0 && i < nt; i++) {
		size_t tokens = (strlen(texts[i]) + 1) / 2; /* a byte-level tokenizer's count, roughly */
		if (tokens > (size_t)srv->cfg->embed_batch) {
			snprintf(msg, sizeof msg, "input (%zu tokens) is too large to process. increase the physical batch size "
			         "(current batch size: %d)", tokens, srv->cfg->embed_batch);
			ret = send_oai_error(c, 500, "server_error", msg);
			goto out;
		}
	}
	int dim = embed_dim(m);
	json_t *data = json_array();
	json_int_t words = 0;
	for (size_t i = 0; i < nt; i++) {
		json_array_append_new(data, json_pack("{s:s,s:I,s:o}", "object", "embedding", "index", (json_int_t)i,
		                                      "embedding", embed_json(texts[i], dim)));
		for (const char *p = texts[i]; *p; p++)
			words += *p == ' ';
		words++;
	}
	ret = send_json(c, 200, json_pack("{s:s,s:o,s:s,s:{s:I,s:I}}", "object", "list", "data", data, "model", name,
	                                  "usage", "prompt_tokens", words, "total_tokens", words));
out:
	free(texts);
	json_decref(root);
	return ret;
}

static int api_chat(struct stub_server *srv, struct MHD_Connection *c, const char *body, size_t n, int fd)
{
	char msg[STUB_MSG_MAX];
	json_error_t je;
	json_t *root = json_loadb(body ? body : "", n, 0, &je);
	if (!json_is_object(root)) {
		json_decref(root);
		snprintf(msg, sizeof msg, "the request body is not a JSON object (%s)", je.text);
		return send_oai_error(c, 400, "invalid_request_error", msg);
	}
	int ret;
	struct image_info *images = NULL;
	int n_images = 0;
	char *answer = NULL, *thinking = NULL;
	struct buf text;
	buf_init(&text, 0);
	const char *name = json_string_value(json_object_get(root, "model"));
	const struct model *m = NULL;
	struct fault f;
	if (srv->cfg->oai_mode == OAI_SINGLE)
		m = single_model(srv); /* llama-server answers with its one model whatever the name */
	else if (name)
		m = catalog_find(srv->cat, name);
	if (m && fault_take(FAULT_NOT_FOUND, m->name, &f))
		m = NULL;
	if (!m) {
		snprintf(msg, sizeof msg, "model '%s' not found", name ? name : "");
		ret = send_oai_error(c, 400, "invalid_request_error", msg);
		goto out;
	}
	json_t *msgs = json_object_get(root, "messages");
	if (!json_is_array(msgs) || !json_array_size(msgs)) {
		ret = send_oai_error(c, 400, "invalid_request_error", "'messages' is required and must be a non-empty array");
		goto out;
	}
	if (take_image_urls(msgs, &images, &n_images, &text, msg, sizeof msg)) {
		ret = send_oai_error(c, 400, "invalid_request_error", msg);
		goto out;
	}
	if (n_images && !(m->caps & CAP_VISION)) {
		ret = send_oai_error(c, 500, "server_error",
		                     "image input is not supported - hint: if this is unexpected, you may need to provide "
		                     "the mmproj");
		goto out;
	}
	if (fault_take(FAULT_BUSY, m->name, &f)) {
		ret = send_oai_error(c, 503, "unavailable_error", f.message[0] ? f.message : "Loading model");
		goto out;
	}
	if (fault_take(FAULT_ERROR_BEFORE, m->name, &f)) {
		ret = send_oai_error(c, (unsigned)f.status, "server_error",
		                     f.message[0] ? f.message : "an error occurred: injected fault");
		goto out;
	}
	if ((srv->cfg->oai_mode == OAI_ROUTER || srv->cfg->oai_mode == OAI_SWAP) &&
	    router_ready(srv, model_index(srv->cat, m), fd, msg, sizeof msg)) {
		ret = send_oai_error(c, 500, "server_error", msg);
		goto out;
	}
	json_t *rf = json_object_get(root, "response_format");
	const char *rft = json_string_value(json_object_get(rf, "type"));
	json_t *fmt_json = NULL;
	const json_t *format = NULL;
	if (rft && !strcmp(rft, "json_schema")) {
		format = json_object_get(json_object_get(rf, "json_schema"), "schema");
		if (!json_is_object(format)) {
			ret = send_oai_error(c, 400, "invalid_request_error", "response_format json_schema needs a \"schema\"");
			goto out;
		}
	} else if (rft && !strcmp(rft, "json_object")) {
		format = fmt_json = json_string("json");
	}
	struct reply_input ri = {.user_text = text.data ? text.data : "", .images = images, .n_images = n_images,
	                         .format = format, .think = 0};
	reply_make(&ri, &answer, &thinking);
	json_decref(fmt_json);
	int na = 0;
	char **pieces = reply_split(answer, &na);
	json_int_t max_tokens = json_integer_value(json_object_get(root, "max_tokens"));
	const char *finish = "stop";
	if (max_tokens > 0 && na > max_tokens) {
		for (int i = (int)max_tokens; i < na; i++)
			free(pieces[i]);
		na = (int)max_tokens;
		finish = "length";
	}
	int prompt_tokens = 10 + (int)(text.len / 5) + 768 * n_images;
	json_t *usage = json_pack("{s:i,s:i,s:i}", "prompt_tokens", prompt_tokens, "completion_tokens", na,
	                          "total_tokens", prompt_tokens + na);
	json_t *timings = json_pack("{s:i,s:f,s:i,s:f}", "prompt_n", prompt_tokens, "prompt_ms", prompt_tokens * 0.02,
	                            "predicted_n", na, "predicted_ms", na * 1.0 + 0.5);
	const char *id = "chatcmpl-stub";
	int stream = json_is_true(json_object_get(root, "stream"));
	int include_usage = json_is_true(json_object_get(json_object_get(root, "stream_options"), "include_usage"));
	if (!stream) {
		struct buf all;
		buf_init(&all, 0);
		for (int i = 0; i < na; i++) {
			buf_appends(&all, pieces[i]);
			free(pieces[i]);
		}
		free(pieces);
		json_t *o = json_pack("{s:s,s:s,s:i,s:s,s:[{s:i,s:{s:s,s:s},s:s}],s:o,s:o}", "id", id, "object",
		                      "chat.completion", "created", 1700000000, "model", m->name, "choices", "index", 0,
		                      "message", "role", "assistant", "content", all.data ? all.data : "", "finish_reason",
		                      finish, "usage", usage, "timings", timings);
		buf_free(&all);
		if (fault_take(FAULT_ERROR_MIDSTREAM | FAULT_CUT | FAULT_STALL, m->name, &f) && f.kind != FAULT_STALL) {
			json_decref(o);
			ret = send_oai_error(c, 500, "server_error", f.message[0] ? f.message : "an error occurred while generating");
			goto out;
		}
		stub_log("reply 200 chat.completion %s", m->name);
		ret = send_json(c, 200, o);
		goto out;
	}
	struct oai_stream *s = calloc(1, sizeof *s);
	s->srv = srv;
	s->events = calloc((size_t)na + 4, sizeof *s->events);
	s->events[s->n++] = sse_event(chunk(id, m->name, json_pack("{s:s,s:s}", "role", "assistant", "content", ""), NULL));
	for (int i = 0; i < na; i++) {
		s->events[s->n++] = sse_event(chunk(id, m->name, json_pack("{s:s}", "content", pieces[i]), NULL));
		free(pieces[i]);
	}
	free(pieces);
	s->events[s->n++] = sse_event(chunk(id, m->name, json_object(), finish));
	if (include_usage) {
		json_t *u = json_pack("{s:s,s:s,s:i,s:s,s:[],s:O,s:O}", "id", id, "object", "chat.completion.chunk",
		                      "created", 1700000000, "model", m->name, "choices", "usage", usage, "timings", timings);
		s->events[s->n++] = sse_event(u);
	}
	json_decref(usage);
	json_decref(timings);
	s->events[s->n++] = strdup("data: [DONE]\n\n");
	s->has_fault = fault_take(FAULT_ERROR_MIDSTREAM | FAULT_CUT | FAULT_STALL, m->name, &s->fault);
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024, stream_cb, s, stream_free);
	if (!r) {
		stream_free(s);
		ret = MHD_NO;
		goto out;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CT_SSE);
	ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	stub_log("reply 200 sse %s", m->name);
out:
	buf_free(&text);
	free(answer);
	free(thinking);
	free(images);
	json_decref(root);
	return ret;
}

/* ------------------------------------------------------------ /models/sse */

struct status_feed {
	struct stub_server *srv;
	size_t idx;            /* next timeline entry to send */
	int64_t last_ms;       /* last bytes sent */
	char pending[STUB_NAME_MAX + 128];
	size_t off, len;
};

/* The router's status changes as SSE events, as they happen. */
static ssize_t status_cb(void *cls, uint64_t pos, char *dst, size_t max)
{
	struct status_feed *f = cls;
	(void)pos;
	while (f->off >= f->len) {
		if (stub_is_stopping())
			return MHD_CONTENT_READER_END_OF_STREAM;
		pthread_mutex_lock(&R_mu);
		tick(f->srv->cat);
		size_t n = R_timeline ? json_array_size(R_timeline) : 0;
		if (f->idx < n) {
			json_t *e = json_array_get(R_timeline, f->idx++);
			const char *ev = json_string_value(json_object_get(e, "event"));
			const char *v = !strcmp(ev, "loading") ? "loading" : !strcmp(ev, "loaded") ? "loaded" : "unloaded";
			json_t *o = json_pack("{s:s,s:{s:s}}", "model", json_string_value(json_object_get(e, "model")), "status",
			                      "value", v);
			if (!strcmp(ev, "load_failed")) {
				json_object_set_new(json_object_get(o, "status"), "failed", json_true());
				json_object_set_new(json_object_get(o, "status"), "exit_code", json_integer(1));
			}
			char *j = json_dumps(o, JSON_COMPACT);
			json_decref(o);
			f->len = (size_t)snprintf(f->pending, sizeof f->pending, "data: %s\n\n", j);
			if (f->len >= sizeof f->pending)
				f->len = sizeof f->pending - 1;
			free(j);
			f->off = 0;
		} else if (stub_t_ms() - f->last_ms >= 1000) {
			f->len = (size_t)snprintf(f->pending, sizeof f->pending, ": ping\n\n");
			f->off = 0;
		}
		pthread_mutex_unlock(&R_mu);
		if (f->off >= f->len) {
			struct timespec ts = {0, 10 * 1000000L};
			nanosleep(&ts, NULL);
		}
	}
	size_t l = f->len - f->off < max ? f->len - f->off : max;
	memcpy(dst, f->pending + f->off, l);
	f->off += l;
	f->last_ms = stub_t_ms();
	return (ssize_t)l;
}

static int api_models_sse(struct stub_server *srv, struct MHD_Connection *c)
{
	struct status_feed *f = calloc(1, sizeof *f);
	if (!f)
		return MHD_NO;
	f->srv = srv;
	f->last_ms = stub_t_ms();
	pthread_mutex_lock(&R_mu);
	f->idx = R_timeline ? json_array_size(R_timeline) : 0;
	pthread_mutex_unlock(&R_mu);
	struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 1024, status_cb, f, free);
	if (!r) {
		free(f);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CT_SSE);
	int ret = MHD_queue_response(c, 200, r);
	MHD_destroy_response(r);
	return ret;
}

/* ------------------------------------------------------------ llama-swap */

static int send_text(struct MHD_Connection *c, unsigned status, const char *text)
{
	return send_bytes(c, status, "text/plain; charset=utf-8", text, strlen(text));
}

/* The model a path names: "M" or "M/rest" (names may hold '/'); the longest match. */
static int swap_model_at(const struct stub_server *srv, const char *p)
{
	int best = -1;
	size_t best_len = 0;
	for (int i = 0; i < srv->cat->n; i++) {
		const char *name = srv->cat->models[i].name;
		size_t l = strlen(name);
		if (!strncmp(p, name, l) && (p[l] == '\0' || p[l] == '/') && l > best_len) {
			best = i;
			best_len = l;
		}
	}
	if (best < 0) { /* "llava" for "llava:latest" */
		char head[STUB_NAME_MAX];
		snprintf(head, sizeof head, "%s", p);
		char *slash = strchr(head, '/');
		if (slash)
			*slash = '\0';
		const struct model *m = catalog_find(srv->cat, head);
		best = m ? (int)(m - srv->cat->models) : -1;
	}
	return best;
}

/* llama-swap's own routes; -1 when url is none of them. */
static int swap_route(struct stub_server *srv, struct MHD_Connection *c, const char *url, const char *method, int fd)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	if (!strcmp(url, "/running") && get) {
		json_t *run = json_array();
		pthread_mutex_lock(&R_mu);
		tick(srv->cat);
		for (int i = 0; i < srv->cat->n; i++)
			if (R[i].state == ST_LOADED)
				json_array_append_new(run, json_pack("{s:s,s:s,s:s}", "model", srv->cat->models[i].name, "state",
				                                     "ready", "cmd", "llama-server --port ${PORT}"));
		pthread_mutex_unlock(&R_mu);
		return send_json(c, 200, json_pack("{s:o}", "running", run));
	}
	int all = !strcmp(url, "/unload") && (get || post), one = post && !strncmp(url, "/api/models/unload/", 19);
	if (all || (post && !strcmp(url, "/api/models/unload")))
		all = 1;
	if (all || one) {
		int i = one ? swap_model_at(srv, url + 19) : -1;
		if (one && i < 0)
			return send_text(c, 404, "Model not found");
		pthread_mutex_lock(&R_mu);
		tick(srv->cat);
		for (int k = 0; k < srv->cat->n; k++)
			if ((all || k == i) && R[k].state != ST_UNLOADED) {
				R[k].state = ST_UNLOADED;
				R_unloads++;
				timeline("unloaded", &srv->cat->models[k]);
			}
		pthread_mutex_unlock(&R_mu);
		return send_text(c, 200, "OK");
	}
	if (!strncmp(url, "/upstream/", 10)) {
		int i = swap_model_at(srv, url + 10);
		char msg[STUB_MSG_MAX];
		if (i < 0)
			return send_text(c, 404, "model not found");
		if (router_ready(srv, i, fd, msg, sizeof msg))
			return send_oai_error(c, 502, "server_error", msg);
		return send_json(c, 200, json_pack("{s:s}", "status", "ok"));
	}
	return -1;
}

/* ------------------------------------------------------------ routing */

int oai_route(struct stub_server *srv, struct MHD_Connection *c, const char *url, const char *method,
              const char *body, size_t n, int fd)
{
	int get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
	if (!strcmp(url, "/health"))
		return send_json(c, 200, json_pack("{s:s}", "status", "ok"));
	if (srv->cfg->api_key[0] && strcmp(oai_auth(srv->cfg, c), "ok"))
		return send_oai_error(c, 401, "authentication_error", "Invalid API Key");
	if ((!strcmp(url, "/v1/models") || !strcmp(url, "/models")) && get)
		return api_models(srv, c);
	if (!strcmp(url, "/props") && get) /* the router's own settings, as llama-server b10587 answers */
		return srv->cfg->oai_mode == OAI_ROUTER
		               ? send_json(c, 200, json_pack("{s:s,s:i,s:b,s:s}", "role", "router", "max_instances",
		                                             srv->cfg->models_max, "models_autoload", 1, "model_path", "none"))
		               : send_json(c, 200, json_pack("{s:s,s:{s:i}}", "model_path", single_model(srv)->name,
		                                             "default_generation_settings", "n_ctx", 2048));
	if (!strcmp(url, "/v1/chat/completions") && post)
		return api_chat(srv, c, body, n, fd);
	if (!strcmp(url, "/v1/embeddings") && post)
		return api_embeddings(srv, c, body, n, fd);
	if (srv->cfg->oai_mode == OAI_SWAP) {
		int r = swap_route(srv, c, url, method, fd);
		if (r >= 0)
			return r;
	}
	if (srv->cfg->oai_mode == OAI_ROUTER && get && !srv->cfg->no_sse && !strcmp(url, "/models/sse"))
		return api_models_sse(srv, c);
	if (srv->cfg->oai_mode == OAI_ROUTER && post && !strcmp(url, "/models/load"))
		return api_load(srv, c, body, n, 1);
	if (srv->cfg->oai_mode == OAI_ROUTER && post && !strcmp(url, "/models/unload"))
		return api_load(srv, c, body, n, 0);
	return send_oai_error(c, 404, "not_found_error", "File Not Found");
}
