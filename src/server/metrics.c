/*
 * metrics.c — GET /metrics in the Prometheus text format, and the collector
 * thread behind it: one bus subscriber that counts step outcomes and
 * durations (a histogram per step kind) and remembers the last `memory` event
 * for /api/models. Document counts come from the database at each scrape, model
 * loads and swaps from the residency manager.
 */
#include "server/internal.h"
#include "core/err.h"
#include "sched/residency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const double bucket_bounds[METRICS_BUCKETS] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};

static volatile int collector_stop;

void metrics_count(server *s, uint64_t *field, int delta)
{
	pthread_mutex_lock(&s->m.mu);
	*field += (uint64_t)delta;
	pthread_mutex_unlock(&s->m.mu);
}

/* The histogram slot for a step kind (the last slot collects the rest). */
static struct step_hist *hist_for(struct metrics *m, const char *kind)
{
	for (int i = 0; i < METRICS_MAX_STEPS - 1; i++) {
		if (!m->steps[i].kind[0]) {
			snprintf(m->steps[i].kind, sizeof m->steps[i].kind, "%s", kind);
			return &m->steps[i];
		}
		if (!strcmp(m->steps[i].kind, kind))
			return &m->steps[i];
	}
	struct step_hist *other = &m->steps[METRICS_MAX_STEPS - 1];
	snprintf(other->kind, sizeof other->kind, "other");
	return other;
}

static void observe(server *s, const struct event *ev)
{
	struct metrics *m = &s->m;
	if (!strcmp(ev->name, "step_finished")) {
		json_error_t je;
		json_t *o = json_loads(ev->line, 0, &je);
		const char *kind = json_string_value(json_object_get(o, "step"));
		int ok = json_is_true(json_object_get(o, "ok"));
		json_t *fin = json_object_get(o, "final");
		double secs = json_number_value(json_object_get(o, "seconds"));
		pthread_mutex_lock(&m->mu);
		struct step_hist *h = hist_for(m, kind ? kind : "unknown");
		if (ok)
			h->done++;
		else if (!fin || json_is_true(fin))
			h->failed++;
		else
			h->retried++;
		h->count++;
		h->sum_s += secs;
		for (int i = 0; i < METRICS_BUCKETS; i++)
			if (secs <= bucket_bounds[i]) {
				h->buckets[i]++;
				break;
			}
		pthread_mutex_unlock(&m->mu);
		json_decref(o);
	} else if (!strcmp(ev->name, "memory")) {
		char *copy = strdup(ev->line);
		pthread_mutex_lock(&m->mu);
		free(m->memory_json);
		m->memory_json = copy;
		pthread_mutex_unlock(&m->mu);
	} else {
		pthread_mutex_lock(&m->mu);
		if (!strcmp(ev->name, "document_done"))
			m->docs_done++;
		else if (!strcmp(ev->name, "document_failed"))
			m->docs_failed++;
		else if (!strcmp(ev->name, "document_queued"))
			m->docs_queued++;
		else if (!strcmp(ev->name, "model_loaded"))
			m->model_loads++;
		else if (!strcmp(ev->name, "swapping_model"))
			m->swaps++;
		pthread_mutex_unlock(&m->mu);
	}
}

static void *collector_main(void *arg)
{
	server *s = arg;
	bus_sub *sub = NULL;
	bus_subscribe(s->p.bus, 8192, &sub);
	while (!__atomic_load_n(&collector_stop, __ATOMIC_SEQ_CST)) {
		struct event *ev;
		int rc = sub ? bus_sub_next(sub, 250, &ev) : DOSSIER_ECANCELLED;
		if (rc == 0) {
			observe(s, ev);
			event_release(ev);
		} else if (rc == DOSSIER_ECANCELLED) {
			/* dropped (or no subscription): count it and start again */
			int was = sub != NULL;
			bus_unsubscribe(sub);
			sub = NULL;
			if (was)
				metrics_count(s, &s->m.dropped, 1);
			else
				usleep(250 * 1000);
			bus_subscribe(s->p.bus, 8192, &sub);
		}
	}
	bus_unsubscribe(sub);
	return NULL;
}

int metrics_start(server *s, struct err *err)
{
	__atomic_store_n(&collector_stop, 0, __ATOMIC_SEQ_CST);
	if (pthread_create(&s->collector, NULL, collector_main, s) != 0)
		return err_set(err, DOSSIER_ENOMEM, "cannot start the metrics thread");
	s->collector_started = 1;
	return 0;
}

void metrics_stop(server *s)
{
	if (!s->collector_started)
		return;
	__atomic_store_n(&collector_stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(s->collector, NULL);
	s->collector_started = 0;
}

json_t *metrics_memory(server *s)
{
	pthread_mutex_lock(&s->m.mu);
	json_error_t je;
	json_t *o = s->m.memory_json ? json_loads(s->m.memory_json, 0, &je) : NULL;
	pthread_mutex_unlock(&s->m.mu);
	return o;
}

/* ---------------------------------------------------------------- output */

static void family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

enum MHD_Result metrics_reply(server *s, struct MHD_Connection *c)
{
	struct buf b;
	buf_init(&b, 1024 * 1024);
	struct err e = {0};
	static const char *const statuses[] = {"queued", "running", "assembling", "done", "partial", "failed", "encrypted",
	                                       "unsupported"};
	store *st = pool_get(s, &e);
	family(&b, "dossier_documents", "gauge", "Documents in the database by status.");
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
		int64_t n = 0;
		if (st)
			store_doc_count(st, statuses[i], &n, NULL);
		buf_appendf(&b, "dossier_documents{status=\"%s\"} %lld\n", statuses[i], (long long)n);
	}
	struct steps_pending p = {0};
	if (st)
		store_steps_pending(st, NULL, &p, NULL);
	const unsigned *ready = p.ready, *waiting = p.waiting; /* store branch: one struct now */
	pool_put(s, st);
	family(&b, "dossier_steps_queued", "gauge", "Queued steps by the model role they need: ready to run, or waiting on others.");
	for (int r = 0; r < ROLE_COUNT; r++) {
		buf_appendf(&b, "dossier_steps_queued{role=\"%s\",state=\"ready\"} %u\n", role_name(r), ready[r]);
		buf_appendf(&b, "dossier_steps_queued{role=\"%s\",state=\"waiting\"} %u\n", role_name(r), waiting[r]);
	}
	family(&b, "dossier_steps_running", "gauge", "Steps running now (any process sharing the database).");
	buf_appendf(&b, "dossier_steps_running %u\n", p.running);

	pthread_mutex_lock(&s->m.mu);
	struct metrics m = s->m; /* a consistent snapshot; memory_json is not used from it */
	pthread_mutex_unlock(&s->m.mu);
	family(&b, "dossier_steps_total", "counter", "Steps finished by this server, by step and outcome (done, failed, retried).");
	for (int i = 0; i < METRICS_MAX_STEPS; i++) {
		const struct step_hist *h = &m.steps[i];
		if (!h->kind[0])
			continue;
		buf_appendf(&b, "dossier_steps_total{step=\"%s\",outcome=\"done\"} %llu\n", h->kind, (unsigned long long)h->done);
		buf_appendf(&b, "dossier_steps_total{step=\"%s\",outcome=\"failed\"} %llu\n", h->kind, (unsigned long long)h->failed);
		buf_appendf(&b, "dossier_steps_total{step=\"%s\",outcome=\"retried\"} %llu\n", h->kind, (unsigned long long)h->retried);
	}
	family(&b, "dossier_step_duration_seconds", "histogram", "Wall time of finished steps, by step.");
	for (int i = 0; i < METRICS_MAX_STEPS; i++) {
		const struct step_hist *h = &m.steps[i];
		if (!h->kind[0])
			continue;
		uint64_t cum = 0;
		for (int j = 0; j < METRICS_BUCKETS; j++) {
			cum += h->buckets[j];
			buf_appendf(&b, "dossier_step_duration_seconds_bucket{step=\"%s\",le=\"%g\"} %llu\n", h->kind,
			            bucket_bounds[j], (unsigned long long)cum);
		}
		buf_appendf(&b, "dossier_step_duration_seconds_bucket{step=\"%s\",le=\"+Inf\"} %llu\n", h->kind,
		            (unsigned long long)h->count);
		buf_appendf(&b, "dossier_step_duration_seconds_sum{step=\"%s\"} %.6f\n", h->kind, h->sum_s);
		buf_appendf(&b, "dossier_step_duration_seconds_count{step=\"%s\"} %llu\n", h->kind, (unsigned long long)h->count);
	}
	family(&b, "dossier_documents_finished_total", "counter", "Documents finished by this server, by outcome.");
	buf_appendf(&b, "dossier_documents_finished_total{outcome=\"done\"} %llu\n", (unsigned long long)m.docs_done);
	buf_appendf(&b, "dossier_documents_finished_total{outcome=\"failed\"} %llu\n", (unsigned long long)m.docs_failed);

	struct residency_stats rs = {0};
	if (s->p.res)
		residency_stats(s->p.res, &rs);
	json_t *mem = metrics_memory(s);
	uint64_t predicted = (uint64_t)json_integer_value(json_object_get(mem, "predicted_bytes"));
	json_decref(mem);
	family(&b, "dossier_model_loads_total", "counter", "Models loaded by this server.");
	buf_appendf(&b, "dossier_model_loads_total %d\n", rs.loads);
	family(&b, "dossier_model_unloads_total", "counter", "Models unloaded by this server.");
	buf_appendf(&b, "dossier_model_unloads_total %d\n", rs.unloads);
	family(&b, "dossier_model_swaps_total", "counter", "\"Swapping Model\": a resident model replaced by another.");
	buf_appendf(&b, "dossier_model_swaps_total %d\n", rs.swaps);
	family(&b, "dossier_models_resident", "gauge", "Ollama models resident now, as far as dossier knows.");
	buf_appendf(&b, "dossier_models_resident %d\n", rs.resident_models);
	family(&b, "dossier_memory_resident_bytes", "gauge", "Predicted bytes of the resident models (speech model included).");
	buf_appendf(&b, "dossier_memory_resident_bytes %llu\n", (unsigned long long)rs.resident_bytes);
	family(&b, "dossier_memory_predicted_bytes", "gauge", "Predicted bytes in the last memory event.");
	buf_appendf(&b, "dossier_memory_predicted_bytes %llu\n", (unsigned long long)predicted);
	family(&b, "dossier_memory_budget_bytes", "gauge", "The memory budget in force.");
	buf_appendf(&b, "dossier_memory_budget_bytes %llu\n", (unsigned long long)config_budget(s->p.cfg));
	struct veccache_stats vs;
	veccache_stats(s->vcache, &vs);
	family(&b, "dossier_vector_cache_bytes", "gauge",
	       "Memory of the semantic search's vectors held by this server (within the reserve, not the budget).");
	buf_appendf(&b, "dossier_vector_cache_bytes %zu\n", vs.bytes);
	family(&b, "dossier_vector_cache_limit_bytes", "gauge", "The vector cache's limit (vector_cache).");
	buf_appendf(&b, "dossier_vector_cache_limit_bytes %zu\n", vs.limit);
	family(&b, "dossier_vector_cache_chunks", "gauge", "Chunks whose vectors the cache holds.");
	buf_appendf(&b, "dossier_vector_cache_chunks %lld\n", (long long)vs.chunks);
	family(&b, "dossier_vector_cache_over_limit", "gauge", "1 = the vectors do not fit: searches read the database.");
	buf_appendf(&b, "dossier_vector_cache_over_limit %d\n", vs.over_limit);
	family(&b, "dossier_model_load_seconds_total", "counter", "Wall time spent loading models.");
	buf_appendf(&b, "dossier_model_load_seconds_total %.3f\n", rs.load_s);

	family(&b, "dossier_sse_clients", "gauge", "Event streams open now.");
	buf_appendf(&b, "dossier_sse_clients %d\n", m.sse_clients);
	family(&b, "dossier_sse_dropped_total", "counter", "Event streams ended because the client fell behind.");
	buf_appendf(&b, "dossier_sse_dropped_total %llu\n", (unsigned long long)m.sse_dropped);
	family(&b, "dossier_uploads_total", "counter", "Uploads stored and ingested.");
	buf_appendf(&b, "dossier_uploads_total %llu\n", (unsigned long long)m.uploads);
	family(&b, "dossier_uploads_rejected_total", "counter", "Uploads refused (too large, too many at once).");
	buf_appendf(&b, "dossier_uploads_rejected_total %llu\n", (unsigned long long)m.uploads_rejected);
	family(&b, "dossier_http_requests_total", "counter", "HTTP requests received.");
	buf_appendf(&b, "dossier_http_requests_total %llu\n", (unsigned long long)m.requests);
	family(&b, "dossier_http_header_timeouts_total", "counter",
	       "Connections closed because a request's headers took too long.");
	buf_appendf(&b, "dossier_http_header_timeouts_total %llu\n", (unsigned long long)m.header_timeouts);
	family(&b, "dossier_http_refused_total", "counter", "Requests refused as coming from another site.");
	buf_appendf(&b, "dossier_http_refused_total{reason=\"host\"} %llu\n", (unsigned long long)m.refused_host);
	buf_appendf(&b, "dossier_http_refused_total{reason=\"cross_site\"} %llu\n",
	            (unsigned long long)m.refused_cross_site);
	family(&b, "dossier_metrics_dropped_total", "counter", "Times the metrics collector fell behind the event bus.");
	buf_appendf(&b, "dossier_metrics_dropped_total %llu\n", (unsigned long long)m.dropped);
	family(&b, "dossier_uptime_seconds", "gauge", "Seconds since the server started.");
	buf_appendf(&b, "dossier_uptime_seconds %.1f\n", clock_wall_s() - s->started_at);

	size_t n = b.len;
	char *text = buf_take(&b);
	struct MHD_Response *r = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	return reply_queue(c, 200, r);
}
