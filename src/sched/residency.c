/*
 * residency.c — loads, unloads and swaps of Ollama models (see residency.h and
 * docs/residency.md).
 *
 * Two locks: `op` serialises the operations that talk to Ollama (acquire,
 * finish), `mu` guards the counters that release() changes from the lanes.
 * Waiting for a model to go idle releases `mu` (condition variable) but keeps
 * `op`, so no other acquire can slip in between the decision and the swap.
 *
 * Reading order: state, events, prediction, unload/load, the public calls.
 */
#include "sched/residency.h"
#include "backends/llm.h"
#include "plan/planner.h"
#include "core/err.h"
#include "core/util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- state */

struct slot {
	int resident;        /* 1 while dossier believes the model is loaded */
	int loaded_by_us;    /* 1 if dossier loaded it (and so may unload it at exit) */
	int in_use;          /* requests in flight */
	uint64_t last_used;  /* tick of the last acquire/release (LRU) */
	uint64_t bytes;      /* predicted resident bytes */
	int predicted;       /* 1 once bytes is known */
	int bytes_measured;  /* 1 if bytes came from /api/ps (weights + KV + buffers) */
	uint64_t formula;    /* the planner's formula for it (plan_bytes), for model_measured; 0 = not yet */
};

struct residency {
	const struct config *cfg;   /* borrowed */
	struct llm_backend *llm;    /* borrowed; NULL = no Ollama */
	bus *bus;                   /* borrowed; may be NULL */
	pthread_mutex_t op;         /* serialises acquire and finish */
	pthread_mutex_t mu;         /* guards slots, asr and stats */
	pthread_cond_t cv;          /* signalled by release */
	struct slot s[ROLE_COUNT];  /* indexed by enum model_role (the LLM roles are used) */
	int synced;                 /* 1 once /api/ps was read */
	uint64_t tick;              /* LRU clock */
	uint64_t asr_bytes;         /* the in-process speech model, when loaded */
	struct residency_stats st;  /* counters */
};

static int is_llm_role(enum model_role role)
{
	return role_info(role)->is_llm;
}

static const char *model_of(const residency *r, enum model_role role)
{
	return r->cfg->models[role].name;
}

/* 1 if two roles name the same Ollama model (one instance serves both). */
static int same_model(const residency *r, enum model_role a, enum model_role b)
{
	return llm_model_name_eq(model_of(r, a), model_of(r, b));
}

/* Marks every role served by role's model resident or not. Caller holds mu. */
static void mark(residency *r, enum model_role role, int resident, int by_us)
{
	for (int o = 0; o < ROLE_COUNT; o++)
		if (is_llm_role((enum model_role)o) && same_model(r, role, (enum model_role)o)) {
			r->s[o].resident = resident;
			r->s[o].loaded_by_us = resident && by_us;
		}
}

/* Requests in flight on role's model, whichever role made them. Caller holds mu. */
static int busy(const residency *r, enum model_role role)
{
	int n = 0;
	for (int o = 0; o < ROLE_COUNT; o++)
		if (is_llm_role((enum model_role)o) && same_model(r, role, (enum model_role)o))
			n += r->s[o].in_use;
	return n;
}

/* 1 if role o's model is resident and no earlier LLM role shares it (one
 * instance serves every role naming the same model). Caller holds mu. */
static int counts_alone(const residency *r, int o)
{
	if (!is_llm_role((enum model_role)o) || !r->s[o].resident)
		return 0;
	for (int p = 0; p < o; p++)
		if (is_llm_role((enum model_role)p) && r->s[p].resident && same_model(r, (enum model_role)p, (enum model_role)o))
			return 0;
	return 1;
}

/* Resident Ollama models (distinct) and their predicted bytes, speech model
 * added to bytes. Caller holds mu. */
static int resident_set(const residency *r, uint64_t *bytes)
{
	int n = 0;
	uint64_t sum = r->asr_bytes;
	for (int o = 0; o < ROLE_COUNT; o++) {
		if (!counts_alone(r, o))
			continue;
		n++;
		sum += r->s[o].bytes;
	}
	if (bytes)
		*bytes = sum;
	return n;
}

static void sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* --------------------------------------------------------------- events */

static void emit(residency *r, const char *name, json_t *fields)
{
	if (r->bus)
		bus_emit(r->bus, name, 0, fields);
	else
		json_decref(fields);
}

/* Emits `memory` and updates the high-water marks. Caller holds mu. */
static void memory_changed(residency *r)
{
	uint64_t bytes;
	int n = resident_set(r, &bytes);
	r->st.resident_models = n;
	r->st.resident_bytes = bytes;
	if (n > r->st.max_resident_models)
		r->st.max_resident_models = n;
	if (bytes > r->st.max_resident_bytes)
		r->st.max_resident_bytes = bytes;
	json_t *list = json_array();
	for (int o = 0; o < ROLE_COUNT; o++) {
		if (!counts_alone(r, o))
			continue;
		json_array_append_new(list, json_pack("{s:s,s:s,s:I}", "model", model_of(r, (enum model_role)o), "role",
		                                      role_name((enum model_role)o), "bytes", (json_int_t)r->s[o].bytes));
	}
	if (r->asr_bytes)
		json_array_append_new(list, json_pack("{s:s,s:s,s:I}", "model", model_of(r, ROLE_ASR), "role", "asr",
		                                      "bytes", (json_int_t)r->asr_bytes));
	emit(r, "memory", json_pack("{s:I,s:I,s:o}", "predicted_bytes", (json_int_t)bytes, "budget_bytes",
	                            (json_int_t)config_budget(r->cfg), "resident", list));
}

/* ----------------------------------------------------------- prediction */

/* The planner's facts hook: the engine's own description of the model. */
static int engine_facts(void *user, enum model_role role, const char *model, struct model_facts *out,
                        struct err *err)
{
	residency *r = user;
	json_t *show = NULL;
	int rc = llm_describe(r->llm, model, &show, err);
	if (rc)
		return rc;
	rc = model_facts_from_api(model, role, show, NULL, out, err);
	json_decref(show);
	return rc;
}

/* The planner's footprint of role's model (plan_role_footprint): the same
 * facts and formula `dossier plan` uses. */
static uint64_t plan_bytes(residency *r, enum model_role role)
{
	struct plan_params pp;
	plan_params_default(&pp, r->cfg);
	if (r->llm) {
		pp.api_facts = engine_facts;
		pp.api_user = r;
	}
	struct model_footprint fp;
	struct err e = {0};
	if (plan_role_footprint(&pp, role, &fp, &e))
		return r->cfg->models[role].nominal_bytes;
	return fp.total;
}

void residency_plan(residency *r, enum model_role role, uint64_t bytes)
{
	if (!is_llm_role(role) || !bytes)
		return;
	pthread_mutex_lock(&r->mu);
	if (!r->s[role].bytes_measured) {
		r->s[role].bytes = bytes;
		r->s[role].predicted = 1;
	}
	pthread_mutex_unlock(&r->mu);
}

uint64_t residency_predict(residency *r, enum model_role role)
{
	if (!is_llm_role(role))
		return role == ROLE_ASR ? r->cfg->models[ROLE_ASR].nominal_bytes : 0;
	pthread_mutex_lock(&r->mu);
	int known = r->s[role].predicted;
	uint64_t bytes = r->s[role].bytes;
	pthread_mutex_unlock(&r->mu);
	if (known)
		return bytes;

	bytes = plan_bytes(r, role);
	pthread_mutex_lock(&r->mu);
	if (!r->s[role].predicted) {
		r->s[role].bytes = bytes;
		r->s[role].predicted = 1;
	}
	bytes = r->s[role].bytes;
	pthread_mutex_unlock(&r->mu);
	return bytes;
}

/*
 * After role's model loaded: an engine that evicts on its own (llama.cpp's
 * router with --models-max, llama-swap outside a group, Ollama at its
 * limits) may have dropped another of our models. When the engine's list
 * shows the new model (so it is current), a model it no longer lists is no
 * longer resident: dossier follows the engine rather than fight it. Models
 * that stay listed together (a llama-swap group) stay resident together.
 */
static void follow_engine(residency *r, enum model_role role, const struct llm_resident *list, size_t n)
{
	size_t i;
	for (i = 0; i < n && !llm_model_name_eq(list[i].name, model_of(r, role)); i++)
		;
	if (i == n)
		return;
	pthread_mutex_lock(&r->mu);
	for (int o = 0; o < ROLE_COUNT; o++) {
		if (!is_llm_role((enum model_role)o) || !r->s[o].resident || same_model(r, role, (enum model_role)o))
			continue;
		for (i = 0; i < n && !llm_model_name_eq(list[i].name, model_of(r, (enum model_role)o)); i++)
			;
		if (i < n || busy(r, (enum model_role)o))
			continue;
		mark(r, (enum model_role)o, 0, 0);
		pthread_mutex_unlock(&r->mu);
		emit(r, "model_evicted", json_pack("{s:s,s:s,s:s}", "model", model_of(r, (enum model_role)o), "role",
		                                   role_name((enum model_role)o), "by", "engine"));
		pthread_mutex_lock(&r->mu);
	}
	pthread_mutex_unlock(&r->mu);
}

/* The engine's best number for a loaded instance: the serving process's
 * resident set when it runs here, else what the engine reports. 0 = none. */
static uint64_t resident_of(const residency *r, const struct llm_resident *e, const char **src)
{
	if (e->rss_bytes) {
		*src = "rss:/proc";
		return e->rss_bytes;
	}
	*src = e->size_src[0] ? e->size_src : strcmp(llm_backend_name(r->llm), "ollama") ? "engine" : "api/ps";
	return e->size_bytes;
}

/*
 * What role's model uses, from the engine's resident list: replaces the
 * prediction with it and reports what the load (load_s) cost
 * (`model_measured`, stored by the recorder for the planner; `prediction_off`
 * when the planner's formula was more than 15 % off).
 */
static void measure_in(residency *r, enum model_role role, double load_s, const struct llm_resident *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *src;
		uint64_t bytes = resident_of(r, &list[i], &src);
		if (!llm_model_name_eq(list[i].name, model_of(r, role)) || !bytes)
			continue;
		pthread_mutex_lock(&r->mu);
		for (int o = 0; o < ROLE_COUNT; o++)
			if (is_llm_role((enum model_role)o) && same_model(r, role, (enum model_role)o)) {
				r->s[o].bytes = bytes;
				r->s[o].predicted = r->s[o].bytes_measured = 1;
			}
		uint64_t formula = r->s[role].formula;
		pthread_mutex_unlock(&r->mu);
		if (!formula) {
			formula = plan_bytes(r, role);
			pthread_mutex_lock(&r->mu);
			r->s[role].formula = formula;
			pthread_mutex_unlock(&r->mu);
		}
		int ctx = list[i].context_length > 0 ? list[i].context_length : r->cfg->models[role].num_ctx;
		emit(r, "model_measured",
		     json_pack("{s:s,s:s,s:s,s:i,s:I,s:I,s:s,s:I}", "engine", llm_backend_name(r->llm), "model",
		               model_of(r, role), "role", role_name(role), "num_ctx", ctx, "load_ms",
		               (json_int_t)(load_s * 1000.0 + 0.5), "resident_bytes", (json_int_t)bytes, "resident_source", src,
		               "predicted_bytes", (json_int_t)formula));
		double off = formula ? ((double)bytes - (double)formula) / (double)formula : 0;
		if (off > RESIDENCY_PREDICTION_TOLERANCE || off < -RESIDENCY_PREDICTION_TOLERANCE)
			emit(r, "prediction_off",
			     json_pack("{s:s,s:s,s:I,s:I,s:i}", "model", model_of(r, role), "role", role_name(role),
			               "predicted_bytes", (json_int_t)formula, "measured_bytes", (json_int_t)bytes, "off_pct",
			               (int)(off * 100.0 + (off < 0 ? -0.5 : 0.5))));
		break;
	}
}

/* After role's model loaded: measure_in from one ps call, which also
 * follows the engine's evictions. */
static void measure(residency *r, enum model_role role, double load_s)
{
	struct llm_resident *list = NULL;
	size_t n = 0;
	struct err e = {0};
	if (llm_ps(r->llm, &list, &n, &e))
		return;
	measure_in(r, role, load_s, list, n);
	follow_engine(r, role, list, n);
	free(list);
}

/* Learns, once, which of our models Ollama already has resident (a previous
 * run, or the user). Those count as resident but were not loaded by us. */
static void sync_once(residency *r)
{
	if (r->synced)
		return;
	struct llm_resident *list = NULL;
	size_t n = 0;
	struct err e = {0};
	if (llm_ps(r->llm, &list, &n, &e))
		return; /* try again at the next acquire */
	r->synced = 1;
	pthread_mutex_lock(&r->mu);
	int changed = 0, pinned = -1;
	for (size_t i = 0; i < n; i++)
		for (int o = 0; o < ROLE_COUNT; o++)
			if (is_llm_role((enum model_role)o) && llm_model_name_eq(list[i].name, model_of(r, (enum model_role)o))) {
				r->s[o].resident = 1;
				if (list[i].size_bytes) {
					r->s[o].bytes = list[i].size_bytes;
					r->s[o].predicted = r->s[o].bytes_measured = 1;
				}
				if (pinned < 0 && !strcmp(list[i].expires_at, LLM_EXPIRES_PINNED))
					pinned = o;
				changed = 1;
			}
	if (changed)
		memory_changed(r);
	pthread_mutex_unlock(&r->mu);
	/* a model the engine keeps loaded for good (a plain server's one model)
	 * is never loaded by us: what it uses is measured here, once, instead */
	if (pinned >= 0)
		measure_in(r, (enum model_role)pinned, 0, list, n);
	free(list);
}

/* -------------------------------------------------------- unload / load */

/* Waits (bounded) until no request is in flight on role's model. Caller holds op. */
static int wait_idle(residency *r, enum model_role role, struct err *err)
{
	int64_t limit_ms = r->cfg->load_timeout_ms > 0 ? r->cfg->load_timeout_ms : 300000;
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += limit_ms / 1000;
	dl.tv_nsec += (limit_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&r->mu);
	while (busy(r, role)) {
		if (pthread_cond_timedwait(&r->cv, &r->mu, &dl) == ETIMEDOUT && busy(r, role)) {
			pthread_mutex_unlock(&r->mu);
			return err_set(err, DOSSIER_ETIMEOUT,
			               "model '%s' was still answering after %lld s, so it could not be unloaded",
			               model_of(r, role), (long long)(limit_ms / 1000));
		}
	}
	pthread_mutex_unlock(&r->mu);
	return 0;
}

/* Waits until /api/ps no longer lists the model, or sleeps the fixed delay. */
static int wait_gone(residency *r, enum model_role role, struct err *err)
{
	double t0 = clock_mono_s();
	int rc = 0;
	if (r->cfg->swap_delay_s >= 0) {
		sleep_ms((int64_t)(r->cfg->swap_delay_s * 1000.0));
	} else {
		for (;;) {
			struct llm_resident *list = NULL;
			size_t n = 0, i;
			rc = llm_ps(r->llm, &list, &n, err);
			if (rc)
				break;
			for (i = 0; i < n; i++) /* a model the engine cannot unload is not waited for */
				if (llm_model_name_eq(list[i].name, model_of(r, role)) &&
				    strcmp(list[i].expires_at, LLM_EXPIRES_PINNED))
					break;
			free(list);
			if (i == n)
				break;
			if ((clock_mono_s() - t0) * 1000.0 > RESIDENCY_UNLOAD_WAIT_MS) {
				rc = err_set(err, DOSSIER_ETIMEOUT,
				             "model '%s' was still resident in Ollama %d s after dossier unloaded it (another client "
				             "may be using it); not loading a second model",
				             model_of(r, role), RESIDENCY_UNLOAD_WAIT_MS / 1000);
				break;
			}
			sleep_ms(RESIDENCY_POLL_MS);
		}
	}
	pthread_mutex_lock(&r->mu);
	r->st.swap_wait_s += clock_mono_s() - t0;
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* Unloads role's model (it must be idle) and waits until it is gone. Caller holds op. */
static int unload(residency *r, enum model_role role, int wait, struct err *err)
{
	int rc = llm_unload(r->llm, model_of(r, role), err);
	if (rc)
		return rc;
	pthread_mutex_lock(&r->mu);
	mark(r, role, 0, 0);
	r->st.unloads++;
	pthread_mutex_unlock(&r->mu);
	emit(r, "model_unloaded", json_pack("{s:s,s:s}", "model", model_of(r, role), "role", role_name(role)));
	rc = wait ? wait_gone(r, role, err) : 0;
	pthread_mutex_lock(&r->mu);
	memory_changed(r);
	pthread_mutex_unlock(&r->mu);
	return rc;
}

/* Loads role's model with the run's keep_alive. Caller holds op. */
static int load(residency *r, enum model_role role, struct err *err)
{
	double load_s = 0;
	emit(r, "model_loading", json_pack("{s:s,s:s}", "model", model_of(r, role), "role", role_name(role)));
	int rc = llm_load(r->llm, model_of(r, role), r->cfg->models[role].num_ctx, RESIDENCY_KEEP_ALIVE_S, &load_s, err);
	if (rc)
		return rc;
	emit(r, "model_loaded", json_pack("{s:s,s:s,s:I}", "model", model_of(r, role), "role", role_name(role),
	                                  "load_ms", (json_int_t)(load_s * 1000.0 + 0.5)));
	measure(r, role, load_s);
	pthread_mutex_lock(&r->mu);
	mark(r, role, 1, 1);
	r->st.loads++;
	r->st.load_s += load_s;
	memory_changed(r);
	pthread_mutex_unlock(&r->mu);
	return 0;
}

static void swapping(residency *r, enum model_role from, enum model_role to)
{
	pthread_mutex_lock(&r->mu);
	r->st.swaps++;
	pthread_mutex_unlock(&r->mu);
	emit(r, "swapping_model", json_pack("{s:s,s:s,s:s,s:s}", "from", model_of(r, from), "to", model_of(r, to),
	                                    "from_role", role_name(from), "to_role", role_name(to)));
}

/* sequential / grouped: at most one model. Unload whatever else is resident. */
static int make_room_single(residency *r, enum model_role role, struct err *err)
{
	for (int o = 0; o < ROLE_COUNT; o++) {
		if (!is_llm_role((enum model_role)o))
			continue;
		pthread_mutex_lock(&r->mu);
		int other = r->s[o].resident && !same_model(r, role, (enum model_role)o);
		pthread_mutex_unlock(&r->mu);
		if (!other)
			continue;
		int rc = wait_idle(r, (enum model_role)o, err);
		if (rc)
			return rc;
		swapping(r, (enum model_role)o, role);
		if ((rc = unload(r, (enum model_role)o, 1, err)))
			return rc;
	}
	return 0;
}

/* budget: unload least recently used idle models until role's model fits. */
static int make_room_budget(residency *r, enum model_role role, struct err *err)
{
	uint64_t need = residency_predict(r, role), budget = config_budget(r->cfg);
	for (;;) {
		uint64_t have;
		pthread_mutex_lock(&r->mu);
		int n = resident_set(r, &have);
		int victim = -1;
		for (int o = 0; o < ROLE_COUNT; o++) {
			const struct slot *s = &r->s[o];
			if (!is_llm_role((enum model_role)o) || !s->resident || same_model(r, role, (enum model_role)o))
				continue;
			if (victim < 0 || s->last_used < r->s[victim].last_used)
				victim = o;
		}
		int victim_busy = victim >= 0 && busy(r, (enum model_role)victim);
		pthread_mutex_unlock(&r->mu);
		if (n == 0 || have + need <= budget || victim < 0)
			return 0; /* fits, or nothing of ours to unload (a lone model over budget still runs) */
		int rc;
		if (victim_busy && (rc = wait_idle(r, (enum model_role)victim, err)))
			return rc;
		swapping(r, (enum model_role)victim, role);
		if ((rc = unload(r, (enum model_role)victim, 1, err)))
			return rc;
	}
}

/* ------------------------------------------------------------- public */

int residency_new(const struct config *cfg, llm_backend *llm, bus *b, residency **out, struct err *err)
{
	residency *r = calloc(1, sizeof *r);
	if (!r)
		return err_set(err, DOSSIER_ENOMEM, "out of memory creating the residency manager");
	r->cfg = cfg;
	r->llm = llm;
	r->bus = b;
	pthread_mutex_init(&r->op, NULL);
	pthread_mutex_init(&r->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->cv, &ca);
	pthread_condattr_destroy(&ca);
	*out = r;
	return 0;
}

void residency_free(residency *r)
{
	if (!r)
		return;
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	pthread_mutex_destroy(&r->op);
	free(r);
}

int residency_acquire(residency *r, enum model_role role, struct err *err)
{
	if (!is_llm_role(role))
		return 0;
	if (!r->llm || r->cfg->offline)
		return err_set(err, DOSSIER_EUNAVAILABLE, "no LLM is available (offline run)");
	pthread_mutex_lock(&r->op);
	sync_once(r);
	pthread_mutex_lock(&r->mu);
	int resident = r->s[role].resident;
	pthread_mutex_unlock(&r->mu);
	int rc = 0;
	if (!resident) {
		rc = r->cfg->policy == POLICY_BUDGET ? make_room_budget(r, role, err) : make_room_single(r, role, err);
		if (!rc)
			rc = load(r, role, err);
	}
	if (!rc) {
		pthread_mutex_lock(&r->mu);
		r->s[role].in_use++;
		r->s[role].last_used = ++r->tick;
		pthread_mutex_unlock(&r->mu);
	}
	pthread_mutex_unlock(&r->op);
	return rc;
}

void residency_release(residency *r, enum model_role role)
{
	if (!is_llm_role(role))
		return;
	pthread_mutex_lock(&r->mu);
	if (r->s[role].in_use > 0)
		r->s[role].in_use--;
	r->s[role].last_used = ++r->tick;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
}

int64_t residency_keep_alive(residency *r, enum model_role role)
{
	(void)r;
	(void)role;
	return RESIDENCY_KEEP_ALIVE_S;
}

void residency_note_asr(residency *r, uint64_t bytes, int loaded)
{
	pthread_mutex_lock(&r->mu);
	uint64_t now = loaded ? bytes : 0;
	if (now != r->asr_bytes) {
		r->asr_bytes = now;
		memory_changed(r);
	}
	pthread_mutex_unlock(&r->mu);
}

int residency_finish(residency *r, struct err *err)
{
	if (!r->llm)
		return 0;
	int first_rc = 0;
	pthread_mutex_lock(&r->op);
	for (int o = 0; o < ROLE_COUNT; o++) {
		enum model_role role = (enum model_role)o;
		if (!is_llm_role(role))
			continue;
		pthread_mutex_lock(&r->mu);
		int ours = r->s[o].resident && r->s[o].loaded_by_us;
		pthread_mutex_unlock(&r->mu);
		if (!ours)
			continue;
		struct err e = {0};
		int rc = wait_idle(r, role, &e);
		if (!rc && r->cfg->policy == POLICY_BUDGET) {
			/* Leave it for a follow-up run, on Ollama's default timer. */
			rc = llm_load(r->llm, model_of(r, role), r->cfg->models[o].num_ctx, RESIDENCY_KEEP_ALIVE_EXIT_S, NULL,
			              &e);
			pthread_mutex_lock(&r->mu);
			mark(r, role, 1, 0); /* no longer ours to manage */
			pthread_mutex_unlock(&r->mu);
		} else if (!rc) {
			rc = unload(r, role, 0, &e);
		}
		if (rc && !first_rc) {
			first_rc = rc;
			if (err)
				*err = e;
		}
	}
	pthread_mutex_unlock(&r->op);
	return first_rc;
}

void residency_resident(residency *r, char *out, size_t n)
{
	size_t used = 0;
	if (!n)
		return;
	out[0] = '\0';
	pthread_mutex_lock(&r->mu);
	for (int o = 0; o < ROLE_COUNT; o++) {
		if (!is_llm_role((enum model_role)o) || !r->s[o].resident)
			continue;
		int seen = 0;  /* a model that serves two roles is named once */
		for (int p = 0; p < o && !seen; p++)
			seen = is_llm_role((enum model_role)p) && r->s[p].resident && same_model(r, (enum model_role)o,
			                                                                          (enum model_role)p);
		if (!seen && used < n)
			used += (size_t)snprintf(out + used, n - used, "%s%s", used ? ", " : "", model_of(r, (enum model_role)o));
	}
	pthread_mutex_unlock(&r->mu);
}

void residency_stats(residency *r, struct residency_stats *out)
{
	pthread_mutex_lock(&r->mu);
	*out = r->st;
	pthread_mutex_unlock(&r->mu);
}
