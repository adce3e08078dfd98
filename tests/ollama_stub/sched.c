/*
 * sched.c — Ollama's scheduler and memory model (reference section 11), in
 * miniature.
 *
 * A runner is one loaded instance of a model. Its life:
 *
 *   LOADING --(load time)--> READY --(idle timer / keep_alive 0 / evicted /
 *   reload)--> UNLOADING --(linger ms)--> GONE (freed once no request holds it)
 *
 * A request for a model that is loaded (or loading) with the same runner
 * options takes it directly. Every other request joins one FIFO queue; only
 * the request at the head works (evicts, waits, loads), so there is one load
 * at a time. A model fits if the count limit allows one more and its resident
 * bytes (weights + f16 KV for its num_ctx) fit next to everything resident,
 * lingering runners included. Otherwise the idle runner with the shortest
 * keep-alive goes (ties: name); if none is idle the shortest one is told to
 * unload when its requests finish. A model that does not fit even alone fails
 * with Ollama's "model requires more system memory" error.
 *
 * All state is guarded by one mutex; waits are 10 ms condition-variable
 * slices so a waiting request notices its client hanging up.
 */
#include "stub.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum rstate { R_LOADING, R_READY, R_UNLOADING, R_GONE };

struct runner {
	struct runner *next;
	const struct model *m;        /* borrowed catalogue entry */
	struct runner_opts opts;      /* options it was loaded with */
	enum rstate state;
	int refs;                     /* requests using it (including its loader) */
	int64_t keep_alive_ns;        /* current session duration; FOREVER = pinned */
	int evict_pending;            /* chosen as victim while busy: unload when idle */
	struct timespec expires_wall; /* expires_at shown in /api/ps */
	int64_t expires_ms;           /* monotonic ms when the idle timer fires */
	int timer_running;            /* idle timer armed */
	int64_t gone_ms;              /* monotonic ms when an UNLOADING runner leaves */
	uint64_t bytes;               /* resident bytes */
};

struct qent {
	struct qent *next;
};

struct sched {
	const struct stub_config *cfg;  /* borrowed */
	pthread_mutex_t mu;
	pthread_cond_t cv;              /* any state change */
	struct runner *runners;         /* all runners not yet freed */
	struct qent *qhead, *qtail;     /* FIFO of requests that need the scheduler */
	int qlen;
	int shutdown;
	pthread_t timer;
	int timer_started;
	json_t *timeline;               /* array of resident-set changes */
	json_t *loads, *unloads;        /* model name -> count */
	int max_models;                 /* most resident models seen */
	uint64_t max_bytes;             /* most resident bytes seen */
};

/* ------------------------------------------------------------ helpers */

static void wall_add(struct timespec *ts, int64_t ns)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += (time_t)(ns / 1000000000);
	ts->tv_nsec += (long)(ns % 1000000000);
	if (ts->tv_nsec >= 1000000000) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000;
	}
}

static int64_t now_ms(void)
{
	return stub_mono_ns() / 1000000;
}

static int resident(const struct runner *r)
{
	return r->state == R_LOADING || r->state == R_READY || r->state == R_UNLOADING;
}

static void timed_wait(struct sched *s, int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_nsec += (long)ms * 1000000L;
	while (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->cv, &s->mu, &ts);
}

static void count_inc(json_t *obj, const char *name)
{
	json_t *v = json_object_get(obj, name);
	json_object_set_new(obj, name, json_integer(v ? json_integer_value(v) + 1 : 1));
}

/* Appends a timeline event; the caller holds the lock. */
static void timeline_push(struct sched *s, const char *event, const struct model *m,
                          const char *reason)
{
	json_t *names = json_array();
	uint64_t bytes = 0;
	int n = 0;
	for (struct runner *r = s->runners; r; r = r->next) {
		if (!resident(r))
			continue;
		json_array_append_new(names, json_string(r->m->name));
		bytes += r->bytes;
		n++;
	}
	if (n > s->max_models)
		s->max_models = n;
	if (bytes > s->max_bytes)
		s->max_bytes = bytes;
	json_t *e = json_object();
	struct timespec now;
	char ts[48];
	clock_gettime(CLOCK_REALTIME, &now);
	go_time_utc(&now, ts);
	json_object_set_new(e, "t_ms", json_integer(stub_t_ms()));
	json_object_set_new(e, "time", json_string(ts));
	json_object_set_new(e, "event", json_string(event));
	json_object_set_new(e, "model", json_string(m->name));
	if (reason)
		json_object_set_new(e, "reason", json_string(reason));
	json_object_set_new(e, "resident", names);
	json_object_set_new(e, "resident_bytes", json_integer((json_int_t)bytes));
	if (json_array_size(s->timeline) >= STUB_TIMELINE_CAP)
		json_array_remove(s->timeline, 0);
	json_array_append_new(s->timeline, e);
	stub_log("sched %s %s%s%s resident=%d bytes=%llu", event, m->name, reason ? " reason=" : "",
	         reason ? reason : "", n, (unsigned long long)bytes);
}

static struct runner *find_live(struct sched *s, const struct model *m)
{
	for (struct runner *r = s->runners; r; r = r->next)
		if (r->m == m && (r->state == R_LOADING || r->state == R_READY))
			return r;
	return NULL;
}

static int is_lingering(struct sched *s, const struct model *m)
{
	for (struct runner *r = s->runners; r; r = r->next)
		if (r->m == m && r->state == R_UNLOADING)
			return 1;
	return 0;
}

static int needs_reload(const struct runner *r, const struct runner_opts *o)
{
	const struct runner_opts *a = &r->opts;
	if (a->num_ctx != o->num_ctx || a->num_batch != o->num_batch)
		return 1;
	if (a->num_gpu != -1 && o->num_gpu != -1 && a->num_gpu != o->num_gpu)
		return 1;
	if (a->main_gpu != o->main_gpu || a->use_mmap != o->use_mmap ||
	    a->num_thread != o->num_thread || a->draft_num_predict != o->draft_num_predict)
		return 1;
	return 0;
}

/* Frees GONE runners nobody holds. Caller holds the lock. */
static void reap(struct sched *s)
{
	struct runner **pp = &s->runners;
	while (*pp) {
		struct runner *r = *pp;
		if (r->state == R_GONE && r->refs == 0) {
			*pp = r->next;
			free(r);
		} else {
			pp = &r->next;
		}
	}
}

static void to_gone(struct sched *s, struct runner *r)
{
	r->state = R_GONE;
	timeline_push(s, "gone", r->m, NULL);
}

/* Starts unloading r: it lingers in /api/ps for unload_linger_ms. */
static void unload(struct sched *s, struct runner *r, const char *reason)
{
	r->state = R_UNLOADING;
	r->timer_running = 0;
	clock_gettime(CLOCK_REALTIME, &r->expires_wall);
	r->gone_ms = now_ms() + s->cfg->unload_linger_ms;
	count_inc(s->unloads, r->m->name);
	timeline_push(s, "unload", r->m, reason);
	if (s->cfg->unload_linger_ms <= 0)
		to_gone(s, r);
	pthread_cond_broadcast(&s->cv);
}

/* Takes a reference on r for a request and applies its keep_alive. */
static void take(struct runner *r, const struct sched_request *rq)
{
	r->refs++;
	r->timer_running = 0;
	r->evict_pending = 0;
	if (rq->keep_alive_set) {
		r->keep_alive_ns = rq->keep_alive_ns;
		if (rq->keep_alive_ns == 0)
			clock_gettime(CLOCK_REALTIME, &r->expires_wall);
	}
}

static void arm_idle_timer(struct sched *s, struct runner *r)
{
	if (r->keep_alive_ns == 0) {
		unload(s, r, r->evict_pending ? "evicted" : "keep_alive_0");
		return;
	}
	wall_add(&r->expires_wall, r->keep_alive_ns);
	r->expires_ms = r->keep_alive_ns == STUB_FOREVER_NS
	                        ? INT64_MAX
	                        : now_ms() + r->keep_alive_ns / 1000000;
	r->timer_running = 1;
}

/* ------------------------------------------------------------ timer thread */

static void *timer_main(void *arg)
{
	struct sched *s = arg;
	pthread_mutex_lock(&s->mu);
	while (!s->shutdown) {
		int64_t now = now_ms();
		for (struct runner *r = s->runners; r; r = r->next) {
			if (r->state == R_READY && r->refs == 0 && r->timer_running &&
			    r->expires_ms <= now)
				unload(s, r, "expired");
			else if (r->state == R_UNLOADING && r->gone_ms <= now) {
				to_gone(s, r);
				pthread_cond_broadcast(&s->cv);
			}
		}
		reap(s);
		timed_wait(s, 5);
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* ------------------------------------------------------------ lifecycle */

struct sched *sched_new(const struct stub_config *cfg)
{
	struct sched *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->cfg = cfg;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cv, &ca);
	pthread_condattr_destroy(&ca);
	s->timeline = json_array();
	s->loads = json_object();
	s->unloads = json_object();
	if (pthread_create(&s->timer, NULL, timer_main, s) == 0)
		s->timer_started = 1;
	return s;
}

void sched_shutdown(struct sched *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->shutdown = 1;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	sched_shutdown(s);
	if (s->timer_started)
		pthread_join(s->timer, NULL);
	while (s->runners) {
		struct runner *r = s->runners;
		s->runners = r->next;
		free(r);
	}
	json_decref(s->timeline);
	json_decref(s->loads);
	json_decref(s->unloads);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

/* ------------------------------------------------------------ acquire */

static int client_gone(const struct sched_request *rq)
{
	return rq->gone && rq->gone(rq->gone_data);
}

/* Picks the eviction victim: shortest keep-alive first (then name), idle
 * preferred. NULL if no runner is READY. */
static struct runner *pick_victim(struct sched *s, const struct model *except)
{
	struct runner *best_idle = NULL, *best_any = NULL;
	for (struct runner *r = s->runners; r; r = r->next) {
		if (r->state != R_READY || r->m == except)
			continue;
#define BETTER(a, b) ((b) == NULL || (a)->keep_alive_ns < (b)->keep_alive_ns || \
	((a)->keep_alive_ns == (b)->keep_alive_ns && strcmp((a)->m->name, (b)->m->name) < 0))
		if (BETTER(r, best_any))
			best_any = r;
		if (r->refs == 0 && BETTER(r, best_idle))
			best_idle = r;
#undef BETTER
	}
	return best_idle ? best_idle : best_any;
}

/* Sleeps ms without the lock, in slices; returns 1 if the client went away. */
static int sleep_load(struct sched *s, const struct sched_request *rq, int64_t ms)
{
	int64_t end = now_ms() + ms;
	pthread_mutex_unlock(&s->mu);
	int gone = 0;
	for (;;) {
		int64_t left = end - now_ms();
		if (client_gone(rq)) {
			gone = 1;
			break;
		}
		if (left <= 0)
			break;
		struct timespec ts = {0, (long)(left < 10 ? left : 10) * 1000000L};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&s->mu);
		int stop = s->shutdown;
		pthread_mutex_unlock(&s->mu);
		if (stop) {
			gone = 1;
			break;
		}
	}
	pthread_mutex_lock(&s->mu);
	return gone;
}

/* The work of the request at the head of the queue. Caller holds the lock. */
static int head_process(struct sched *s, const struct sched_request *rq, struct runner **out,
                        char *msg, size_t msg_n)
{
	const struct model *m = rq->model;
	uint64_t need = model_resident_bytes(m, rq->opts.num_ctx);
	for (;;) {
		if (s->shutdown)
			return SCHED_SHUTDOWN;
		if (client_gone(rq))
			return SCHED_CANCELLED;
		struct runner *r = find_live(s, m);
		if (r) {
			if (!needs_reload(r, &rq->opts)) {
				take(r, rq);
				*out = r;
				return SCHED_OK;
			}
			/* Runner options changed: unload once its requests finish. */
			if (r->refs > 0 || r->state != R_READY) {
				timed_wait(s, 10);
				continue;
			}
			unload(s, r, "reload");
			continue;
		}
		if (is_lingering(s, m)) { /* same blob still being released */
			timed_wait(s, 10);
			continue;
		}
		int count = 0, lingering = 0;
		uint64_t used = 0;
		for (struct runner *x = s->runners; x; x = x->next) {
			if (!resident(x))
				continue;
			count++;
			used += x->bytes;
			lingering += x->state == R_UNLOADING;
		}
		int count_ok = s->cfg->max_loaded <= 0 || count < s->cfg->max_loaded;
		int mem_ok = used + need <= s->cfg->memory_bytes;
		if (count_ok && mem_ok)
			break;
		if (!mem_ok && count == 0) {
			char a[32], b[32];
			go_human_bytes2(need, a, sizeof a);
			go_human_bytes2(s->cfg->memory_bytes, b, sizeof b);
			snprintf(msg, msg_n,
			         "model requires more system memory (%s) than is available (%s)", a, b);
			return SCHED_OOM;
		}
		if (lingering > 0) { /* memory is on its way back */
			timed_wait(s, 10);
			continue;
		}
		struct runner *v = pick_victim(s, m);
		if (!v) {
			timed_wait(s, 10);
			continue;
		}
		if (v->refs > 0) {
			/* Busy victim: it unloads as soon as its requests finish. */
			if (!v->evict_pending) {
				v->evict_pending = 1;
				v->keep_alive_ns = 0;
				stub_log("sched evict_pending %s", v->m->name);
			}
			timed_wait(s, 10);
			continue;
		}
		unload(s, v, "evicted");
	}

	/* Load. */
	struct fault f;
	const char *canon_src = m->name;
	char canon[STUB_NAME_MAX + 32];
	model_name_canon(canon_src, canon, sizeof canon);
	if (fault_take(FAULT_OOM, canon, &f)) {
		uint64_t used = 0;
		for (struct runner *x = s->runners; x; x = x->next)
			if (resident(x))
				used += x->bytes;
		uint64_t avail = s->cfg->memory_bytes > used ? s->cfg->memory_bytes - used : 0;
		if (avail >= need)
			avail = need / 2;
		if (f.message[0]) {
			snprintf(msg, msg_n, "%s", f.message);
		} else {
			char a[32], b[32];
			go_human_bytes2(need, a, sizeof a);
			go_human_bytes2(avail, b, sizeof b);
			snprintf(msg, msg_n,
			         "model requires more system memory (%s) than is available (%s)", a, b);
		}
		return SCHED_OOM;
	}
	int64_t load_ms = (int64_t)((double)m->size / 1e9 * (double)s->cfg->load_ms_per_gb);
	if (fault_take(FAULT_SLOW_LOAD, canon, &f))
		load_ms = f.ms;

	struct runner *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(msg, msg_n, "out of memory");
		return SCHED_OOM;
	}
	r->m = m;
	r->opts = rq->opts;
	r->state = R_LOADING;
	r->refs = 1;
	r->keep_alive_ns = rq->keep_alive_set ? rq->keep_alive_ns : s->cfg->default_keep_alive_ns;
	wall_add(&r->expires_wall, r->keep_alive_ns == STUB_FOREVER_NS ? STUB_FOREVER_NS
	                                                                : r->keep_alive_ns);
	r->bytes = need;
	r->next = s->runners;
	s->runners = r;
	count_inc(s->loads, m->name);
	timeline_push(s, "load_start", m, NULL);
	pthread_cond_broadcast(&s->cv);

	int gone = load_ms > 0 ? sleep_load(s, rq, load_ms) : client_gone(rq);
	if (r->state == R_GONE || gone || s->shutdown) {
		/* The client hung up (or a reset happened): drop the half-loaded runner. */
		if (r->state != R_GONE) {
			r->state = R_UNLOADING;
			count_inc(s->unloads, m->name);
			timeline_push(s, "unload", m, "cancelled");
			to_gone(s, r);
		}
		r->refs--;
		reap(s);
		pthread_cond_broadcast(&s->cv);
		return s->shutdown ? SCHED_SHUTDOWN : SCHED_CANCELLED;
	}
	r->state = R_READY;
	timeline_push(s, "loaded", m, NULL);
	pthread_cond_broadcast(&s->cv);
	*out = r;
	return SCHED_OK;
}

int sched_acquire(struct sched *s, const struct sched_request *rq, struct runner **out,
                  char *msg, size_t msg_n)
{
	int rc;
	*out = NULL;
	pthread_mutex_lock(&s->mu);
	/* Fast path: loaded (or loading) with the same runner options. */
	for (;;) {
		if (s->shutdown) {
			pthread_mutex_unlock(&s->mu);
			return SCHED_SHUTDOWN;
		}
		struct runner *r = find_live(s, rq->model);
		if (!r || needs_reload(r, &rq->opts) || r->evict_pending)
			break;
		take(r, rq);
		while (r->state == R_LOADING && !s->shutdown) {
			if (client_gone(rq)) {
				r->refs--;
				reap(s);
				pthread_cond_broadcast(&s->cv);
				pthread_mutex_unlock(&s->mu);
				return SCHED_CANCELLED;
			}
			timed_wait(s, 10);
		}
		if (r->state == R_READY) {
			*out = r;
			pthread_mutex_unlock(&s->mu);
			return SCHED_OK;
		}
		/* The load was dropped under us: start over through the queue. */
		r->refs--;
		reap(s);
		pthread_cond_broadcast(&s->cv);
	}

	/* Ollama's pending channel holds OLLAMA_MAX_QUEUE waiters; the request the
	 * scheduler is working on has already left it. */
	if (s->qlen - (s->qhead ? 1 : 0) >= s->cfg->max_queue) {
		pthread_mutex_unlock(&s->mu);
		return SCHED_BUSY;
	}
	struct qent me = {0};
	if (s->qtail)
		s->qtail->next = &me;
	else
		s->qhead = &me;
	s->qtail = &me;
	s->qlen++;

	rc = SCHED_OK;
	while (s->qhead != &me) {
		if (s->shutdown) {
			rc = SCHED_SHUTDOWN;
			break;
		}
		if (client_gone(rq)) {
			rc = SCHED_CANCELLED;
			break;
		}
		timed_wait(s, 10);
	}
	if (rc == SCHED_OK)
		rc = head_process(s, rq, out, msg, msg_n);

	/* Leave the queue (from the head or from the middle). */
	struct qent **pp = &s->qhead, *prev = NULL;
	while (*pp && *pp != &me) {
		prev = *pp;
		pp = &(*pp)->next;
	}
	if (*pp) {
		*pp = me.next;
		if (s->qtail == &me)
			s->qtail = prev;
		s->qlen--;
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	return rc;
}

void sched_release(struct sched *s, struct runner *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&s->mu);
	r->refs--;
	if (r->refs == 0 && r->state == R_READY)
		arm_idle_timer(s, r);
	reap(s);
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

void sched_expire(struct sched *s, const struct model *m)
{
	pthread_mutex_lock(&s->mu);
	struct runner *r = find_live(s, m);
	if (r) {
		r->keep_alive_ns = 0;
		clock_gettime(CLOCK_REALTIME, &r->expires_wall);
		if (r->refs == 0 && r->state == R_READY)
			unload(s, r, "keep_alive_0");
	}
	pthread_mutex_unlock(&s->mu);
}

void sched_reset(struct sched *s)
{
	pthread_mutex_lock(&s->mu);
	for (struct runner *r = s->runners; r; r = r->next)
		r->state = R_GONE;
	reap(s);
	json_array_clear(s->timeline);
	json_object_clear(s->loads);
	json_object_clear(s->unloads);
	s->max_models = 0;
	s->max_bytes = 0;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

int64_t runner_num_ctx(const struct runner *r)
{
	return r->opts.num_ctx;
}

/* ------------------------------------------------------------ reports */

static int cmp_expires(const void *a, const void *b)
{
	const struct runner *x = *(struct runner *const *)a, *y = *(struct runner *const *)b;
	if (x->expires_wall.tv_sec != y->expires_wall.tv_sec)
		return x->expires_wall.tv_sec > y->expires_wall.tv_sec ? -1 : 1;
	if (x->expires_wall.tv_nsec != y->expires_wall.tv_nsec)
		return x->expires_wall.tv_nsec > y->expires_wall.tv_nsec ? -1 : 1;
	return strcmp(x->m->name, y->m->name);
}

json_t *sched_ps_json(struct sched *s)
{
	json_t *arr = json_array();
	pthread_mutex_lock(&s->mu);
	struct runner *list[STUB_MAX_MODELS * 4];
	int n = 0;
	for (struct runner *r = s->runners; r && n < (int)(sizeof list / sizeof list[0]);
	     r = r->next)
		if (resident(r))
			list[n++] = r;
	qsort(list, (size_t)n, sizeof list[0], cmp_expires);
	for (int i = 0; i < n; i++) {
		const struct runner *r = list[i];
		char ts[48];
		go_time_local(&r->expires_wall, ts);
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(r->m->name));
		json_object_set_new(o, "model", json_string(r->m->name));
		json_object_set_new(o, "size", json_integer((json_int_t)r->bytes));
		json_object_set_new(o, "digest", json_string(r->m->digest));
		json_object_set_new(o, "details", model_details_json(r->m));
		json_object_set_new(o, "expires_at", json_string(ts));
		json_object_set_new(o, "size_vram", json_integer((json_int_t)r->bytes));
		json_object_set_new(o, "context_length", json_integer(r->opts.num_ctx));
		json_array_append_new(arr, o);
	}
	pthread_mutex_unlock(&s->mu);
	json_t *root = json_object();
	json_object_set_new(root, "models", arr);
	return root;
}

json_t *sched_timeline_json(struct sched *s)
{
	pthread_mutex_lock(&s->mu);
	json_t *copy = json_deep_copy(s->timeline);
	pthread_mutex_unlock(&s->mu);
	return copy;
}

json_t *sched_stats_json(struct sched *s)
{
	json_t *o = json_object();
	pthread_mutex_lock(&s->mu);
	int n = 0, queued = s->qlen;
	uint64_t bytes = 0;
	for (struct runner *r = s->runners; r; r = r->next)
		if (resident(r)) {
			n++;
			bytes += r->bytes;
		}
	json_object_set_new(o, "max_resident_models", json_integer(s->max_models));
	json_object_set_new(o, "max_resident_bytes", json_integer((json_int_t)s->max_bytes));
	json_object_set_new(o, "resident_models", json_integer(n));
	json_object_set_new(o, "resident_bytes", json_integer((json_int_t)bytes));
	json_object_set_new(o, "queued", json_integer(queued));
	json_object_set_new(o, "loads", json_deep_copy(s->loads));
	json_object_set_new(o, "unloads", json_deep_copy(s->unloads));
	pthread_mutex_unlock(&s->mu);
	return o;
}
