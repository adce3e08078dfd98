/*
 * api.c — the JSON routes: documents, frames, search, models, health.
 */
#include "server/internal.h"
#include "core/err.h"
#include "pipeline/filter.h"
#include "pipeline/pipeline.h"
#include "pipeline/forget.h"
#include "pipeline/kinds.h"
#include "pipeline/reanalyze.h"
#include "sched/residency.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The filter words a route takes as query arguments (pipeline/filter.h). */
static const char *const filter_keys[] = {"kind", "status", "since", "until", "taken_since", "taken_until",
                                          "tag", "lang", "parent"};
#define N_FILTER_KEYS (sizeof filter_keys / sizeof filter_keys[0])

/* Fills *f from the query arguments; 0, or -1 with the message in e. */
static int filter_from_query(struct MHD_Connection *c, struct doc_filter *f, struct err *e)
{
	memset(f, 0, sizeof *f);
	for (size_t i = 0; i < N_FILTER_KEYS; i++) {
		const char *v = query_arg(c, filter_keys[i]);
		if (v && !utf8_valid(v, strlen(v))) {
			err_set(e, DOSSIER_EINVAL, "%s is not valid UTF-8", filter_keys[i]);
			return -1;
		}
		if (v && doc_filter_set(f, filter_keys[i], v, e))
			return -1;
	}
	return doc_filter_check(f, e) ? -1 : 0;
}

static json_t *doc_json(const struct doc_rec *d, const char *title)
{
	char t[32];
	time_rfc3339(d->updated_at, t);
	json_t *o = json_pack("{s:I,s:o,s:s,s:s,s:s,s:I,s:s,s:s}", "id", (json_int_t)d->id, "path", json_string_lossy(d->path),
	                      "sha256", d->sha256, "kind", d->kind, "mime", d->mime ? d->mime : "", "bytes",
	                      (json_int_t)d->bytes, "status", d->status, "updated_at", t);
	json_object_set_new(o, "error", json_string_lossy(d->error));
	const char *base = d->path ? strrchr(d->path, '/') : NULL;
	json_object_set_new(o, "name", json_string_lossy(d->name ? d->name : base ? base + 1 : d->path));
	if (title)
		json_object_set_new(o, "title", json_string_lossy(title));
	json_object_set_new(o, "mtime", json_integer((json_int_t)d->mtime));
	if (d->missing_at > 0) {
		time_rfc3339(d->missing_at, t);
		json_object_set_new(o, "missing_since", json_string(t));
	}
	return o;
}

/* ------------------------------------------------------------ documents */

static int list_cb(const struct doc_rec *d, const char *title, void *user)
{
	json_array_append_new(user, doc_json(d, title));
	return 0;
}

enum MHD_Result api_documents_list(server *s, struct MHD_Connection *c)
{
	long limit = 50, offset = 0;
	if (query_int(c, "limit", 1, 1000, &limit))
		return reply_error(c, 400, "limit must be a number from 1 to 1000");
	if (query_int(c, "offset", 0, 1000000000L, &offset))
		return reply_error(c, 400, "offset must be a number from 0");
	struct doc_filter f;
	struct err e = {0};
	if (filter_from_query(c, &f, &e))
		return reply_error(c, 400, "%s", e.msg);
	static const char *const orders[DOC_ORDER_COUNT] = {"id", "-id", "name", "-name", "size", "-size",
	                                                    "modified", "-modified"};
	const char *sort = query_arg(c, "sort");
	if (sort && *sort) {
		size_t i = 0;
		while (i < DOC_ORDER_COUNT && strcmp(sort, orders[i]))
			i++;
		if (i == DOC_ORDER_COUNT)
			return reply_error(c, 400, "sort must be one of id, name, size, modified (a leading '-' reverses it)");
		f.order = (enum doc_order)i;
	}
	store *st = pool_get(s, &e);
	if (!st)
		return reply_error(c, 500, "%s", e.msg);
	json_t *arr = json_array();
	int64_t total = 0;
	int rc = store_docs_find(st, &f, (int)limit, (int)offset, list_cb, arr, &e);
	if (!rc)
		rc = store_docs_count(st, &f, &total, &e);
	pool_put(s, st);
	if (rc) {
		json_decref(arr);
		return reply_error(c, 500, "%s", e.msg);
	}
	return reply_json(c, 200, json_pack("{s:o,s:I,s:i,s:i}", "documents", arr, "total", (json_int_t)total,
	                                    "limit", (int)limit, "offset", (int)offset));
}

enum MHD_Result api_document_get(server *s, struct MHD_Connection *c, int64_t id)
{
	struct err e = {0};
	store *st = pool_get(s, &e);
	if (!st)
		return reply_error(c, 500, "%s", e.msg);
	struct doc_rec d;
	int rc = store_doc_get(st, id, &d, &e);
	if (rc) {
		pool_put(s, st);
		if (rc == DOSSIER_ENOTFOUND)
			return reply_error(c, 404, "no document %lld", (long long)id);
		return reply_error(c, 500, "%s", e.msg);
	}
	/* a second copy of known content answers with its original's dossier */
	int64_t of = !strcmp(d.status, "duplicate") && d.same_as > 0 ? d.same_as : id;
	char *text = NULL;
	int have = store_dossier_get(st, of, &text, &e) == 0;
	json_t *body = NULL;
	if (have) {
		json_error_t je;
		body = json_loads(text, 0, &je);
		free(text);
	}
	if (body) {
		/* the document's live status (a re-queued document has an old dossier) */
		json_object_set_new(body, "document_status", json_string(d.status));
		const char *base = strrchr(d.path, '/'); /* the upload's name, as the list shows it */
		json_object_set_new(body, "name", json_string_lossy(d.name ? d.name : base ? base + 1 : d.path));
		pipeline_dossier_add_copies(st, of, body);
		if (of != id)
			json_object_set_new(body, "same_as", json_integer((json_int_t)of));
	} else {
		body = doc_json(&d, NULL);
		struct step_rec *steps = NULL;
		size_t n = 0;
		json_t *arr = json_array();
		if (store_doc_steps(st, id, &steps, &n, &e) == 0) {
			for (size_t i = 0; i < n; i++)
				json_array_append_new(arr, json_pack("{s:s,s:s,s:s,s:i}", "step", steps[i].kind, "role",
				                                     role_name(steps[i].role), "state",
				                                     step_state_name(steps[i].state), "attempts",
				                                     steps[i].attempts));
			step_recs_free(steps, n);
		}
		json_object_set_new(body, "steps", arr);
	}
	pool_put(s, st);
	doc_rec_clear(&d);
	return reply_json(c, 200, body);
}

enum MHD_Result api_document_delete(server *s, struct MHD_Connection *c, int64_t id)
{
	struct err e = {0};
	store *st = pool_get(s, &e);
	if (!st)
		return reply_error(c, 500, "%s", e.msg);
	struct forget_stats fs;
	int rc = pipeline_forget_ev(st, s->data_dir, s->p.bus, id, 0, &fs, &e);
	pool_put(s, st);
	if (rc == DOSSIER_ENOTFOUND)
		return reply_error(c, 404, "no document %lld", (long long)id);
	if (rc)
		return reply_error(c, 500, "%s", e.msg);
	forget_stats_clear(&fs);
	struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	return reply_queue(c, 204, r);
}

enum MHD_Result api_document_reanalyze(server *s, struct MHD_Connection *c, int64_t id, const char *full)
{
	struct err e = {0};
	store *st = pool_get(s, &e);
	if (!st)
		return reply_error(c, 500, "%s", e.msg);
	/* all model steps (or, with full=1, every step); what made them is not compared */
	struct made_by_now now;
	reanalyze_now(s->p.cfg, NULL, s->p.cfg->offline, &now);
	int is_full = full && (!strcmp(full, "1") || !strcmp(full, "true"));
	int n = 0;
	int rc = reanalyze_document(st, s->p.bus, id, &now, is_full ? REANALYZE_FULL : REANALYZE_ALL, &n, &e);
	pool_put(s, st);
	if (rc == DOSSIER_ENOTFOUND)
		return reply_error(c, 404, "no document %lld", (long long)id);
	if (rc)
		return reply_error(c, 500, "%s", e.msg);
	if (n == 0)
		return reply_error(c, 409, "document %lld is being analysed now (or has no step to run again); "
		                   "try again when it is done", (long long)id);
	if (s->p.sched)
		sched_notify(s->p.sched);
	return reply_json(c, 202, json_pack("{s:I,s:i}", "id", (json_int_t)id, "steps", n));
}

enum MHD_Result api_document_frame(server *s, struct MHD_Connection *c, int64_t id, long n)
{
	struct err e = {0};
	store *st = pool_get(s, &e);
	if (!st)
		return reply_error(c, 500, "%s", e.msg);
	char *text = NULL;
	int rc = store_dossier_get(st, id, &text, &e);
	pool_put(s, st);
	if (rc == DOSSIER_ENOTFOUND)
		return reply_error(c, 404, "document %lld has no dossier (yet), so no frames", (long long)id);
	if (rc)
		return reply_error(c, 500, "%s", e.msg);
	json_error_t je;
	json_t *d = json_loads(text, 0, &je);
	free(text);
	json_t *frames = json_object_get(d, "frames");
	const char *file = json_string_value(json_object_get(json_array_get(frames, (size_t)n), "file"));
	if (!file) {
		size_t count = json_array_size(frames);
		json_decref(d);
		if (!count)
			return reply_error(c, 404, "document %lld has no frames", (long long)id);
		return reply_error(c, 404, "document %lld has frames 0 to %zu; no frame %ld", (long long)id, count - 1, n);
	}
	/* serve only files under <data dir>/frames, whatever the stored JSON says */
	char real[PATH_MAX], root[PATH_MAX];
	int inside = realpath(file, real) && realpath(s->frames_dir, root) && !strncmp(real, root, strlen(root)) &&
	             real[strlen(root)] == '/';
	json_decref(d);
	if (!inside)
		return reply_error(c, 404, "frame %ld of document %lld is no longer on disk", n, (long long)id);
	int fd = open(real, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		return reply_error(c, 404, "frame %ld of document %lld is no longer on disk", n, (long long)id);
	}
	struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "image/jpeg");
	MHD_add_response_header(r, "Cache-Control", "private, max-age=3600");
	return reply_queue(c, 200, r);
}

/* --------------------------------------------------------------- search */

static int search_cb(const struct search_hit *h, void *user)
{
	const char *base = h->path ? strrchr(h->path, '/') : NULL;
	json_t *o = json_pack("{s:I,s:o,s:s,s:s,s:f}", "id", (json_int_t)h->id, "path",
	                      json_string_lossy(h->path ? h->path : ""), "title", h->title ? h->title : "", "snippet",
	                      h->snippet ? h->snippet : "", "rank", h->rank);
	json_object_set_new(o, "name", json_string_lossy(h->name ? h->name : base ? base + 1 : h->path));
	json_object_set_new(o, "kind", json_string(h->kind ? h->kind : ""));
	json_object_set_new(o, "status", json_string(h->status ? h->status : ""));
	json_object_set_new(o, "bytes", json_integer((json_int_t)h->bytes));
	json_object_set_new(o, "mtime", json_integer((json_int_t)h->mtime));
	json_object_set_new(o, "missing", json_boolean(h->missing_at > 0));
	json_array_append_new(user, o);
	return 0;
}

const char *search_query_bad(const char *q)
{
	if (!q || !*q)
		return "give the words to search for: /api/search?q=WORDS";
	if (strlen(q) > 1000)
		return "the query is too long (at most 1000 characters)";
	if (!utf8_valid(q, strlen(q)))
		return "the query is not valid UTF-8";
	return NULL;
}

static enum MHD_Result search_run(server *s, struct MHD_Connection *c, const char *q, long limit,
                                  const struct doc_filter *f)
{
	const char *bad = search_query_bad(q);
	if (bad)
		return reply_error(c, 400, "%s", bad);
	struct err e = {0};
	store *st = pool_get(s, &e);
	if (!st)
		return reply_error(c, 500, "%s", e.msg);
	json_t *arr = json_array();
	int rc = store_search_filtered(st, q, f, (int)limit, search_cb, arr, &e);
	pool_put(s, st);
	if (rc) {
		json_decref(arr);
		return reply_error(c, rc == DOSSIER_EINVAL ? 400 : 500, "%s", e.msg);
	}
	return reply_json(c, 200, json_pack("{s:s,s:o}", "query", q, "results", arr));
}

enum MHD_Result api_search(server *s, struct MHD_Connection *c, const char *q, long limit)
{
	struct doc_filter f;
	struct err e = {0};
	if (filter_from_query(c, &f, &e))
		return reply_error(c, 400, "%s", e.msg);
	const char *mode = query_arg(c, "mode");
	if (api_search_wants_modes(s, mode))
		return api_search_modes(s, c, q, limit, &f, mode);
	return search_run(s, c, q, limit, &f);
}

enum MHD_Result api_search_post(server *s, struct MHD_Connection *c, struct request *r)
{
	json_error_t je;
	json_t *body = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);
	if (!body)
		return reply_error(c, 400, "malformed JSON at line %d, column %d: %s", je.line, je.column, je.text);
	json_t *q = json_object_get(body, "q");
	json_t *lim = json_object_get(body, "limit");
	if (!json_is_object(body) || !json_is_string(q) || (lim && !json_is_integer(lim))) {
		json_decref(body);
		return reply_error(c, 400, "send {\"q\": \"words\", \"limit\": N} (limit and the filters optional)");
	}
	long limit = lim ? (long)json_integer_value(lim) : 20;
	if (limit < 1 || limit > 1000) {
		json_decref(body);
		return reply_error(c, 400, "limit must be a number from 1 to 1000");
	}
	struct doc_filter f = {0};
	struct err e = {0};
	for (size_t i = 0; i < N_FILTER_KEYS; i++) {
		json_t *v = json_object_get(body, filter_keys[i]);
		if (!v || json_is_null(v))
			continue;
		if (!json_is_string(v)) {
			json_decref(body);
			return reply_error(c, 400, "%s must be a string", filter_keys[i]);
		}
		if (doc_filter_set(&f, filter_keys[i], json_string_value(v), &e)) {
			json_decref(body);
			return reply_error(c, 400, "%s", e.msg);
		}
	}
	if (doc_filter_check(&f, &e)) {
		json_decref(body);
		return reply_error(c, 400, "%s", e.msg);
	}
	/* f borrows strings from body: it lives until the reply is queued */
	enum MHD_Result res = search_run(s, c, json_string_value(q), limit, &f);
	json_decref(body);
	return res;
}

/* ------------------------------------------------------- models, health */

enum MHD_Result api_models(server *s, struct MHD_Connection *c)
{
	const struct config *cfg = s->p.cfg;
	json_t *o = json_object();
	json_object_set_new(o, "profile", json_string(cfg->profile));
	json_object_set_new(o, "policy", json_string(policy_name(cfg->policy)));
	json_object_set_new(o, "budget_bytes", json_integer((json_int_t)config_budget(cfg)));
	json_object_set_new(o, "offline", json_boolean(cfg->offline));
	json_object_set_new(o, "ollama_url", json_string(cfg->ollama_host));
	json_t *roles = json_array();
	/* every role with a model, from the role table: the LLM roles first */
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < ROLE_COUNT; i++) {
			const struct role_info *ri = role_info((enum model_role)i);
			if (!ri->model_key || ri->is_llm != !pass)
				continue;
			const struct model_spec *m = &cfg->models[i];
			json_t *r = json_pack("{s:s,s:s,s:I,s:i}", "role", ri->name, "model", m->name, "nominal_bytes",
			                      (json_int_t)m->nominal_bytes, "num_ctx", m->num_ctx);
			if (s->p.res && ri->is_llm)
				json_object_set_new(r, "predicted_bytes",
				                    json_integer((json_int_t)residency_predict(s->p.res, (enum model_role)i)));
			json_array_append_new(roles, r);
		}
	json_object_set_new(o, "roles", roles);
	if (cfg->offline) {
		json_object_set_new(o, "message", json_string("offline (--offline): no LLM is used; text and image steps "
		                                              "run through the offline analysers, OCR and the embedded "
		                                              "speech recogniser"));
	} else if (!s->p.res) {
		json_object_set_new(o, "message", json_string(s->p.llm_message && *s->p.llm_message
		                                                  ? s->p.llm_message
		                                                  : "no LLM backend: text and image steps wait"));
	} else if (s->p.llm_message && *s->p.llm_message) {
		json_object_set_new(o, "message", json_string(s->p.llm_message));
	}
	if (s->p.res) {
		struct residency_stats rs;
		residency_stats(s->p.res, &rs);
		json_object_set_new(o, "stats", json_pack("{s:i,s:i,s:i,s:i,s:I,s:I,s:f,s:f}", "loads", rs.loads, "unloads",
		                                          rs.unloads, "swaps", rs.swaps, "resident_models",
		                                          rs.resident_models, "resident_bytes",
		                                          (json_int_t)rs.resident_bytes, "max_resident_bytes",
		                                          (json_int_t)rs.max_resident_bytes, "load_s", rs.load_s,
		                                          "swap_wait_s", rs.swap_wait_s));
	}
	/* the resident set as the residency manager last announced it */
	json_t *mem = metrics_memory(s);
	json_object_set_new(o, "resident", mem && json_object_get(mem, "resident")
	                                       ? json_incref(json_object_get(mem, "resident"))
	                                       : json_array());
	json_object_set_new(o, "predicted_bytes",
	                    mem ? json_incref(json_object_get(mem, "predicted_bytes")) : json_integer(0));
	json_decref(mem);
	json_t *speech = server_speech_model(s); /* the embedded recogniser, once loaded */
	if (speech)
		json_object_set_new(o, "speech", speech);
	return reply_json(c, 200, o);
}

static int worker_json(const struct worker_rec *w, void *user)
{
	json_t *o = json_pack("{s:s,s:s,s:I,s:f,s:f,s:f,s:b,s:s,s:s,s:i,s:i}", "holder", w->holder, "host", w->host, "pid",
	                      (json_int_t)w->pid, "started_at", w->started_at, "heartbeat_at", w->heartbeat_at,
	                      "expires_at", w->expires_at, "expired", w->expires_at <= clock_wall_s(), "models",
	                      w->models, "engine", w->engine, "running", w->running, "done", w->done);
	if (o && w->step_kind)
		json_object_set_new(o, "step", json_pack("{s:s,s:I}", "kind", w->step_kind, "document",
		                                         (json_int_t)w->step_document));
	json_array_append_new(user, o);
	return 0;
}

/* Every worker of the library, wherever it runs (the workers table). */
enum MHD_Result api_workers(server *s, struct MHD_Connection *c)
{
	struct err e = {0};
	store *st = pool_get(s, &e);
	json_t *arr = json_array();
	int rc = st ? store_workers_list(st, worker_json, arr, &e) : e.code;
	pool_put(s, st);
	if (rc) {
		json_decref(arr);
		return reply_error(c, 503, "%s", e.msg);
	}
	return reply_json(c, 200, json_pack("{s:o}", "workers", arr));
}

enum MHD_Result api_healthz(server *s, struct MHD_Connection *c)
{
	struct err e = {0};
	store *st = pool_get(s, &e);
	int64_t n = 0;
	int rc = st ? store_doc_count(st, NULL, &n, &e) : e.code;
	pool_put(s, st);
	if (rc)
		return reply_json(c, 503, json_pack("{s:s,s:s}", "status", "error", "error", e.msg));
	return reply_json(c, 200, json_pack("{s:s,s:I,s:f}", "status", "ok", "documents", (json_int_t)n,
	                                    "uptime_s", clock_wall_s() - s->started_at));
}
