/*
 * sched.c — lanes, the run loop, and document completion.
 */
#include "sched/sched_internal.h"
#include "sched/residency.h"

/* How long a finished step's result waits for an unreachable database. */
#define STORE_WAIT_S 300.0
#include "core/err.h"
#include "core/retry.h"
#include "core/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------ document finish */

/* An event stored in the transaction of the change it announces (the outbox),
 * published on the bus only if that change committed. */
static void outbox_settle(bus *b, struct event *ev, int rc)
{
	if (!ev)
		return;
	if (rc)
		bus_event_cancel(b, ev);
	else
		bus_event_publish(b, ev);
}
#define OUTBOX(ev, se) ((ev) ? &(se) : NULL), ((ev) ? 1u : 0u)

static void count_outcome(sched *s, enum doc_outcome o)
{
	pthread_mutex_lock(&s->mu);
	if (o == DOC_OUTCOME_DONE)
		s->stats.docs_done++;
	else if (o == DOC_OUTCOME_PARTIAL)
		s->stats.docs_partial++;
	else
		s->stats.docs_failed++;
	pthread_mutex_unlock(&s->mu);
}

/* Wakes the waiting lanes: all of them (roles ~0u), or those serving one
 * of roles (steps of theirs became ready). Takes s->mu. */
static void wake_lanes(sched *s, unsigned roles)
{
	pthread_mutex_lock(&s->mu);
	int anyone = roles == ~0u || s->waiting_ungated;
	if (roles == ~0u)
		s->wake_gen++;
	else
		for (int r = 0; r < ROLE_COUNT; r++)
			if (roles & (1u << r)) {
				s->role_gen[r]++;
				anyone |= s->waiting_role[r] > 0;
			}
	if (anyone)
		pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

/* What a gated lane's wait compares (under s->mu): changes whenever a wake-up
 * for all lanes or for one of the lane's roles was announced. */
static uint64_t wake_key(const sched *s, const struct lane *l)
{
	uint64_t k = s->wake_gen;
	for (int r = 0; r < ROLE_COUNT; r++)
		if (l->role_mask & (1u << r))
			k += s->role_gen[r];
	return k;
}

/* Counts the lane in (+1) or out of (-1) the waiting ones; under s->mu. */
static void waiting(sched *s, const struct lane *l, int d)
{
	if (!l->gated) {
		s->waiting_ungated += (unsigned)d;
		return;
	}
	for (int r = 0; r < ROLE_COUNT; r++)
		if (l->role_mask & (1u << r))
			s->waiting_role[r] += (unsigned)d;
}

/* Finishes the document if all its steps have settled and no other lane (or
 * process) got there first. Returns the store's or the runner's code. */
static int finish_won(sched *s, store *st, int64_t doc_id, struct err *err);

static int finish_document(sched *s, store *st, int64_t doc_id, struct err *err)
{
	int won = 0, rc;
	if ((rc = store_doc_try_finish(st, doc_id, &won, err)) || !won)
		return rc;
	return finish_won(s, st, doc_id, err);
}

/* Finishes a document whose store_doc_try_finish this lane won. */
static int finish_won(sched *s, store *st, int64_t doc_id, struct err *err)
{
	int rc;
	enum doc_outcome o = DOC_OUTCOME_FAILED;
	const struct sched_runner *r = &s->p.runner;
	if ((rc = r->ops->finish_document(r->user, st, doc_id, &o, err)))
		return rc;
	count_outcome(s, o);
	return 0;
}

struct id_list {
	int64_t *v;
	size_t n, cap;
};

static int collect_id(const struct doc_rec *d, void *user)
{
	struct id_list *c = user;
	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		int64_t *nv = realloc(c->v, cap * sizeof *nv);
		if (!nv)
			return 1;
		c->v = nv;
		c->cap = cap;
	}
	c->v[c->n++] = d->id;
	return 0;
}

/* Documents whose steps are all settled but have no dossier (an interrupted
 * run) are finished now. A document that cannot be finished stays as it is
 * for a later run; a store that cannot be read is an error. */
static int finish_settled(sched *s, store *st, struct err *err)
{
	static const char *const states[] = {"queued", "running", "assembling"};
	for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
		struct id_list c = {0};
		int rc = store_doc_list(st, states[i], NULL, 0, 0, collect_id, &c, err);
		for (size_t j = 0; rc == 0 && j < c.n; j++) {
			int settled = 0;
			if (!strcmp(states[i], "assembling") &&
			    (rc = store_doc_set_status(st, c.v[j], "running", NULL, err)))
				break;
			if ((rc = store_doc_settled(st, c.v[j], &settled, err)))
				break;
			struct err fe = {0};
			if (settled && finish_document(s, st, c.v[j], &fe))
				bus_emit(s->p.bus, "document_unfinished", c.v[j],
				         json_pack("{s:s}", "error", fe.msg));
		}
		free(c.v);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---------------------------------------------------------- lanes */

/* The step's "label" (the runner's words for its kind) added to an event's fields. */
static json_t *with_label(const sched *s, const struct step_rec *step, json_t *fields)
{
	const struct sched_runner *r = &s->p.runner;
	const char *label = r->ops && r->ops->step_label ? r->ops->step_label(r->user, step->kind) : NULL;
	if (fields && label)
		json_object_set_new(fields, "label", json_string(label));
	return fields;
}

/* A step that did not succeed: deferred when its service is unavailable (the
 * attempt is not counted); retried after a backoff while transient, and
 * deferred to the next run after max_attempts tries; else failed. Each event commits with its change. */
static void record_unsuccessful(struct lane *l, struct step_rec *step, int rc, const char *msg, double secs)
{
	sched *s = l->s;
	bus *b = s->p.bus;
	const struct config *cfg = s->p.cfg;
	struct event *ev = NULL;
	struct store_event se = {0};
	int transient = rc == DOSSIER_EAGAIN || rc == DOSSIER_ETIMEOUT;
	if (rc == DOSSIER_EUNAVAILABLE || (transient && step->attempts >= cfg->max_attempts)) {
		char why[ERR_MSG_MAX + 96];
		double not_before = 0; /* the next run */
		if (rc == DOSSIER_EUNAVAILABLE) {
			snprintf(why, sizeof why, "%s", msg);
		} else if (s->p.keep_running) {
			/* a server's run does not end: try again after the longest backoff */
			not_before = clock_wall_s() + cfg->retry_max_s;
			snprintf(why, sizeof why, "%s (failed %d times; will be retried in %.0f s)", msg, step->attempts,
			         cfg->retry_max_s);
		} else {
			snprintf(why, sizeof why, "%s (failed %d times in this run; will be retried on the next run)", msg,
			         step->attempts);
		}
		bus_event_new(b, "step_deferred", step->document_id,
		              json_pack("{s:s,s:s,s:s}", "step", step->kind, "role", role_name(step->role), "error", why), &ev);
		if (ev)
			se = store_event_of(ev);
		outbox_settle(b, ev, store_step_defer(l->st, step->id, s->holder, why, not_before, OUTBOX(ev, se), NULL));
		pthread_mutex_lock(&s->mu);
		s->stats.steps_deferred++;
		pthread_mutex_unlock(&s->mu);
		return;
	}
	int failed = !transient;
	double delay = 0;
	if (!failed) {
		pthread_mutex_lock(&s->mu);
		delay = retry_delay_s(step->attempts, cfg->retry_base_s, cfg->retry_max_s, &s->rng);
		pthread_mutex_unlock(&s->mu);
	}
	json_t *fields = json_pack("{s:s,s:s,s:b,s:f,s:s,s:s,s:b}", "step", step->kind, "role", role_name(step->role),
	                           "ok", 0, "seconds", secs, "error", msg, "code", dossier_rc_name(rc), "final", failed);
	if (!failed)
		json_object_set_new(fields, "retry_in_s", json_real(delay));
	bus_event_new(b, "step_finished", step->document_id, with_label(s, step, fields), &ev);
	if (ev)
		se = store_event_of(ev);
	int src = failed ? store_step_fail(l->st, step->id, s->holder, msg, OUTBOX(ev, se), NULL)
	                 : store_step_retry(l->st, step->id, s->holder, msg, clock_wall_s() + delay, OUTBOX(ev, se), NULL);
	outbox_settle(b, ev, src);
	pthread_mutex_lock(&s->mu);
	if (failed)
		s->stats.steps_failed++;
	else
		s->stats.steps_retried++;
	pthread_mutex_unlock(&s->mu);
}

/* The step_started event of a claimed step (NULL when it cannot be built). */
static struct event *started_event(struct lane *l, const struct step_rec *step)
{
	struct event *ev = NULL;
	bus_event_new(l->s->p.bus, "step_started", step->document_id,
	              with_label(l->s, step, json_pack("{s:s,s:s,s:i,s:s,s:i}", "step", step->kind, "role",
	                                               role_name(step->role), "step_id", (int)step->id, "lane", l->name,
	                                               "attempt", step->attempts)),
	              &ev);
	return ev;
}

/* Claims a step of f and stores its step_started in the caller's open batch.
 * *ev is the reserved event, for the caller to publish once the batch
 * committed (or cancel). Returns store_step_claim's code. */
static int claim_in_batch(struct lane *l, const struct claim_filter *f, struct step_rec *step, struct event **ev,
                          struct err *e)
{
	*ev = NULL;
	int rc = store_step_claim(l->st, f, NULL, 0, step, e);
	if (rc)
		return rc;
	*ev = started_event(l, step);
	if (*ev) {
		struct store_event se = store_event_of(*ev);
		store_events_put(l->st, &se, 1, NULL); /* if this fails the recorder stores it */
	}
	return 0;
}

/* A claim and its step_started in one transaction. */
static int lane_claim(struct lane *l, const struct claim_filter *f, struct step_rec *step, struct err *e)
{
	bus *b = l->s->p.bus;
	struct event *ev = NULL;
	bus_seq_prefetch(b, 1); /* a seq refill inside our write transaction would wait for it */
	int rc = store_batch_begin(l->st, e);
	if (rc)
		return rc;
	rc = claim_in_batch(l, f, step, &ev, e);
	int crc = store_batch_commit(l->st, rc ? NULL : e);
	if (rc == 0 && crc) {
		step_rec_clear(step);
		bus_event_cancel(b, ev);
		return crc;
	}
	bus_event_publish(b, ev);
	return rc;
}

/* Inside a step's batch, after its result and the lane's next claim: the
 * roles with a step ready now (their lanes are woken), or ~0u (every lane:
 * to see whether the run is over) when nothing is running or the counts
 * cannot be read. */
static unsigned ready_roles(struct lane *l)
{
	struct steps_pending p;
	if (store_steps_pending(l->st, l->s->holder, &p, NULL) || !p.running)
		return ~0u;
	unsigned roles = 0;
	for (int r = 0; r < ROLE_COUNT; r++)
		if (p.ready[r])
			roles |= 1u << r;
	return roles;
}

/* At most this many instant steps run inside one step's batch. */
#define INLINE_MAX 4

/* What the instant steps run inside a batch did, applied once it committed. */
struct inlined {
	int steps;                         /* steps done */
	int docs;                          /* documents they finished */
	int64_t doc[INLINE_MAX];
	int frc[INLINE_MAX];               /* the runner's finish_document codes */
	enum doc_outcome outcome[INLINE_MAX];
	struct err err[INLINE_MAX];
	int lost;                          /* documents whose finish they tried and lost */
	int64_t lost_doc[INLINE_MAX];      /* (tried again after the commit on a database server) */
};

static int step_instant(const sched *s, const struct step_rec *step)
{
	const struct sched_runner *r = &s->p.runner;
	return r->ops->step_instant && r->ops->step_instant(r->user, step);
}

/* Runs an instant step (the runner's step_instant) that this lane claimed in
 * its open batch, records its result, and finishes its document if it was
 * the last: all in the batch. started is its step_started (reserved). 0 when
 * it is done; else it stays claimed (and started with it) for the caller to
 * run the usual way. */
static int run_inline(struct lane *l, const struct step_rec *step, struct event *started, struct inlined *il)
{
	sched *s = l->s;
	bus *b = s->p.bus;
	const struct sched_runner *r = &s->p.runner;
	char *result = NULL;
	struct err e = {0};
	double t0 = clock_mono_s();
	if (r->ops->run_step(l->ctx, l->st, step, &result, &e)) {
		free(result);
		return 1;
	}
	struct event *ev = NULL;
	bus_event_new(b, "step_finished", step->document_id,
	              with_label(s, step, json_pack("{s:s,s:s,s:b,s:f}", "step", step->kind, "role", role_name(step->role),
	                                            "ok", 1, "seconds", clock_mono_s() - t0)), &ev);
	struct store_event sev = ev ? store_event_of(ev) : (struct store_event){0};
	int rc = store_step_done(l->st, step->id, s->holder, result ? result : "{}", OUTBOX(ev, sev), NULL);
	free(result);
	if (rc) {
		bus_event_cancel(b, ev);
		return 1;
	}
	store_batch_publish(l->st, s->p.bus, started);
	store_batch_publish(l->st, s->p.bus, ev);
	il->steps++;
	int won = 0;
	if (store_doc_try_finish(l->st, step->document_id, &won, NULL) == 0 && won) {
		int k = il->docs++;
		il->doc[k] = step->document_id;
		il->frc[k] = r->ops->finish_document(r->user, l->st, step->document_id, &il->outcome[k], &il->err[k]);
	} else if (il->lost < INLINE_MAX) {
		il->lost_doc[il->lost++] = step->document_id;
	}
	return 0;
}

/*
 * Runs a claimed step to its end (see lane_execute_msg). started: its
 * step_started is stored already (lane_claim). next_f (may be NULL): after a
 * success, the lane's next claim is made in the transaction that records the
 * result, together with the document's finish (the dossier too) and any
 * instant steps claimed next (run_inline): one write transaction per step.
 * *have_next says whether *next was claimed (the caller owns it).
 */
static int execute(struct lane *l, struct step_rec *step, int started, const struct claim_filter *next_f,
                   struct step_rec *next, int *have_next, struct err *out)
{
	sched *s = l->s;
	bus *b = s->p.bus;
	const struct sched_runner *r = &s->p.runner;
	struct err e = {0};
	char *result = NULL;
	if (have_next)
		*have_next = 0;

	/* stored before the step runs, so the database's history never lacks the
	 * start of a step whose outcome it has */
	if (!started) {
		struct event *sev_ev = started_event(l, step);
		if (sev_ev) {
			struct store_event se0 = store_event_of(sev_ev);
			store_events_put(l->st, &se0, 1, NULL); /* if this fails the recorder stores it */
			bus_event_publish(b, sev_ev);
		}
	}
	double t0 = clock_mono_s();
	int rc = r->ops->run_step(l->ctx, l->st, step, &result, &e);
	double secs = clock_mono_s() - t0;
	int tried_finish = 0, won = 0, finished = 0, finish_rc = 0;
	struct inlined il;
	memset(&il, 0, sizeof il);
	unsigned wake = ~0u; /* the lanes to wake at the end: all unless the batch said */
	enum doc_outcome outcome = DOC_OUTCOME_FAILED;
	struct err fe = {0};

	if (rc == 0) {
		struct err se = {0};
		struct event *ev = NULL, *next_ev = NULL;
		struct store_event sev = {0};
		bus_event_new(b, "step_finished", step->document_id,
		              with_label(s, step, json_pack("{s:s,s:s,s:b,s:f}", "step", step->kind, "role",
		                                            role_name(step->role), "ok", 1, "seconds", secs)), &ev);
		if (ev)
			sev = store_event_of(ev);
		/* the result and its step_finished commit together; with them, in the
		 * same transaction, the document's finish and the lane's next claim */
		int src;
		/* step_finished, document_done, the next step_started; those of the instant steps */
		bus_seq_prefetch(b, 3 + 3 * INLINE_MAX);
		if (store_batch_begin(l->st, NULL) == 0) {
			src = store_step_done(l->st, step->id, s->holder, result ? result : "{}", OUTBOX(ev, sev), &se);
			if (src == 0)
				tried_finish = store_doc_try_finish(l->st, step->document_id, &won, NULL) == 0;
			if (won) {
				/* the document's dossier commits with its last step's result
				 * (its document_done is published after the commit) */
				const struct sched_runner *rr = &s->p.runner;
				finish_rc = rr->ops->finish_document(rr->user, l->st, step->document_id, &outcome, &fe);
				won = 0;
				finished = 1;
			}
			if (src == 0 && next_f && have_next && !(s->p.cancel && *s->p.cancel)) {
				*have_next = claim_in_batch(l, next_f, next, &next_ev, NULL) == 0;
				/* an instant step claimed next runs now, in this transaction */
				while (*have_next && il.steps < INLINE_MAX && step_instant(s, next) &&
				       run_inline(l, next, next_ev, &il) == 0) {
					next_ev = NULL; /* published with the batch */
					step_rec_clear(next);
					*have_next = claim_in_batch(l, next_f, next, &next_ev, NULL) == 0;
				}
			}
			if (src == 0)
				wake = ready_roles(l);
			int crc = store_batch_commit(l->st, src ? NULL : &se);
			if (src == 0 && crc) {
				src = crc;
				wake = ~0u;
				tried_finish = won = finished = 0;
				memset(&il, 0, sizeof il); /* undone with the batch */
				if (have_next && *have_next)
					step_rec_clear(next);
				*have_next = 0;
				bus_event_cancel(b, next_ev);
				next_ev = NULL;
			}
		} else {
			src = store_step_done(l->st, step->id, s->holder, result ? result : "{}", OUTBOX(ev, sev), &se);
		}
		/* a busy database (another process writing) is worth a few more tries:
		 * the work is done and costly to redo; an unreachable one (a
		 * PostgreSQL server restarting, the network gone) is waited for, up
		 * to STORE_WAIT_S: if it comes back within the lease the result is
		 * stored, else another worker has the step and the store refuses it */
		double wait_until = clock_mono_s() + STORE_WAIT_S;
		for (int t = 0; src && src != DOSSIER_ESTALE && !(s->p.cancel && *s->p.cancel) &&
		                (t < 3 || (src == DOSSIER_EUNAVAILABLE && clock_mono_s() < wait_until));
		     t++) {
			usleep(src == DOSSIER_EUNAVAILABLE ? 1000000u : (useconds_t)(100000u << (2 * t))); /* 0.1, 0.4, 1.6 s */
			err_clear(&se);
			src = store_step_done(l->st, step->id, s->holder, result ? result : "{}", OUTBOX(ev, sev), &se);
		}
		if (src == DOSSIER_EUNAVAILABLE)
			src = DOSSIER_EDB; /* the database, not the step's engine: the lane goes on */
		outbox_settle(b, ev, src);
		bus_event_publish(b, next_ev);
		if (src && src != DOSSIER_ESTALE) {
			/* still not recorded: give the step back to the queue rather than
			 * leave it running under our live lease, where no one would take it */
			store_step_retry(l->st, step->id, s->holder, se.msg, clock_wall_s() + s->p.cfg->retry_base_s, NULL, 0,
			                 NULL);
		}
		if (src == 0) {
			pthread_mutex_lock(&s->mu);
			s->stats.steps_done += 1 + il.steps;
			pthread_mutex_unlock(&s->mu);
			for (int k = 0; k < il.docs; k++)
				if (il.frc[k])
					bus_emit(b, "document_unfinished", il.doc[k], json_pack("{s:s}", "error", il.err[k].msg));
				else
					count_outcome(s, il.outcome[k]);
			for (int k = 0; s->read_committed && k < il.lost; k++) {
				struct err le = {0};
				if (finish_document(s, l->st, il.lost_doc[k], &le))
					bus_emit(b, "document_unfinished", il.lost_doc[k], json_pack("{s:s}", "error", le.msg));
			}
		} else {
			/* the work was done but not recorded (a lost lease, a failed
			 * write): never announce it done; the step is recovered and run
			 * again, by this worker or another */
			rc = src;
			bus_emit(b, "step_finished", step->document_id,
			         with_label(s, step, json_pack("{s:s,s:s,s:b,s:f,s:s,s:s,s:b}", "step", step->kind, "role",
			                                       role_name(step->role), "ok", 0, "seconds", secs, "error",
			                                       se.msg, "code", dossier_rc_name(rc), "final", 0)));
			pthread_mutex_lock(&s->mu);
			s->stats.steps_unrecorded++;
			pthread_mutex_unlock(&s->mu);
		}
	} else {
		record_unsuccessful(l, step, rc, e.msg, secs);
	}
	free(result);
	int frc;
	if (finished) {
		/* finished in the step's batch, which committed */
		if (!(frc = finish_rc))
			count_outcome(s, outcome);
	} else {
		err_clear(&fe);
		frc = won ? finish_won(s, l->st, step->document_id, &fe)
		          : tried_finish && !s->read_committed ? 0 : finish_document(s, l->st, step->document_id, &fe);
	}
	if (frc)
		bus_emit(b, "document_unfinished", step->document_id, json_pack("{s:s}", "error", fe.msg));

	wake_lanes(s, frc ? ~0u : wake);
	if (out && rc)
		*out = e;
	return rc;
}

int lane_execute(struct lane *l, struct step_rec *step)
{
	return execute(l, step, 0, NULL, NULL, NULL, NULL);
}

int lane_execute_msg(struct lane *l, struct step_rec *step, struct err *out)
{
	return execute(l, step, 0, NULL, NULL, NULL, out);
}

void lane_step_not_started(struct lane *l, struct step_rec *step, int rc, const char *msg)
{
	sched *s = l->s;
	record_unsuccessful(l, step, rc, msg, 0.0);
	struct err fe = {0};
	if (rc != DOSSIER_EUNAVAILABLE && finish_document(s, l->st, step->document_id, &fe))
		bus_emit(s->p.bus, "document_unfinished", step->document_id, json_pack("{s:s}", "error", fe.msg));
	wake_lanes(s, ~0u);
}

int lane_run_is_idle(struct lane *l)
{
	sched *s = l->s;
	struct steps_pending p;
	struct err e = {0};
	if (store_steps_pending(l->st, s->holder, &p, &e))
		return 0;
	pthread_mutex_lock(&s->mu);
	unsigned roles = s->runnable_roles;
	pthread_mutex_unlock(&s->mu);
	if (p.running)
		return 0;
	/* steps waiting out a retry's backoff keep the run alive */
	for (int r = 0; r < ROLE_COUNT; r++)
		if ((roles & (1u << r)) && (p.ready[r] || p.delayed[r]))
			return 0;
	return 1;
}

int lane_wait(struct lane *l, int ms)
{
	sched *s = l->s;
	if (s->p.cancel && *s->p.cancel)
		return 1;
	pthread_mutex_lock(&s->mu);
	int stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	if (stop)
		return 1;
	if (!s->p.keep_running && lane_run_is_idle(l)) {
		wake_lanes(s, ~0u);
		return 1;
	}
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_nsec += (long)ms * 1000000L;
	dl.tv_sec += dl.tv_nsec / 1000000000L;
	dl.tv_nsec %= 1000000000L;
	pthread_mutex_lock(&s->mu);
	/* a gated lane sleeps through the wake-ups that are not for it (another
	 * role's steps became ready), each of which would cost it a look at the
	 * database; any wake-up counts once it waited since it last looked */
	waiting(s, l, 1);
	while (!s->stop) {
		if (l->gated && (wake_key(s, l) != l->seen || s->runnable_roles != l->seen_roles))
			break;
		if (pthread_cond_timedwait(&s->cond, &s->mu, &dl) != 0 || !l->gated)
			break;
	}
	waiting(s, l, -1);
	stop = s->stop;
	pthread_mutex_unlock(&s->mu);
	return stop;
}

/* 1 when a step of the lane's roles may be claimable now, read from the
 * trigger-kept counts without the write lock: a lane woken by another's step
 * does not take the write lock only to find nothing. 1 when unsure. */
static int lane_has_work(struct lane *l)
{
	struct steps_pending p;
	if (store_steps_pending(l->st, l->s->holder, &p, NULL))
		return 1;
	for (int r = 0; r < ROLE_COUNT; r++)
		if ((l->role_mask & (1u << r)) && p.ready[r])
			return 1;
	return 0;
}

/* cpu and asr lanes: take the oldest ready step of the lane's roles. A step's
 * success is recorded in the transaction that claims the lane's next one. */
static void *plain_lane_main(void *arg)
{
	struct lane *l = arg;
	struct step_rec step;
	int have = 0;
	l->gated = 1;
	for (;;) {
		if (l->s->p.cancel && *l->s->p.cancel)
			break; /* a step claimed already goes back to the queue with the lease */
		struct claim_filter f = {.role_mask = l->role_mask, .prefer_role = -1, .holder = l->s->holder};
		struct err e = {0};
		if (!have) {
			pthread_mutex_lock(&l->s->mu);
			l->seen = wake_key(l->s, l);
			l->seen_roles = l->s->runnable_roles;
			pthread_mutex_unlock(&l->s->mu);
			int rc = lane_has_work(l) ? lane_claim(l, &f, &step, &e) : DOSSIER_ENOTFOUND;
			if (rc) {
				if (lane_wait(l, rc == DOSSIER_ENOTFOUND ? 200 : 1000))
					break;
				continue;
			}
		}
		struct err se = {0};
		struct step_rec next;
		int have_next = 0;
		int src = execute(l, &step, 1, &f, &next, &have_next, &se);
		if (src == DOSSIER_EUNAVAILABLE && step.role != ROLE_NONE) {
			/* the engine this role needs is down (a transcription server,
			 * say): stop sending it work for this run; its steps wait */
			unsigned bit = 1u << step.role;
			l->role_mask &= ~bit;
			pthread_mutex_lock(&l->s->mu);
			l->s->runnable_roles &= ~bit;
			l->s->stats.model_lane_down = 1;
			snprintf(l->s->stats.model_lane_error, sizeof l->s->stats.model_lane_error, "%s", se.msg);
			l->s->wake_gen++;
			pthread_cond_broadcast(&l->s->cond);
			pthread_mutex_unlock(&l->s->mu);
		}
		step_rec_clear(&step);
		have = have_next;
		if (have)
			step = next;
		if (!l->role_mask)
			break;
	}
	if (have)
		step_rec_clear(&step);
	return NULL;
}

/* ---------------------------------------------------------- the run */

static double lease_ttl(const sched *s)
{
	return s->p.lease_ttl_s > 0 ? s->p.lease_ttl_s : STORE_LEASE_TTL_S;
}

/* What the run says of itself in the workers table: its resident models and
 * engine; written when they changed since `last` (the caller's, 512 bytes). */
static void note_worker(sched *s, store *st, char *last)
{
	char models[512] = "";
	const struct config *cfg = s->p.cfg;
	if (s->p.res)
		residency_resident(s->p.res, models, sizeof models);
	if (last && last[0] && !strcmp(last + 1, models))
		return;
	const char *engine = s->p.offline || !s->p.res ? "" : cfg->llm_url[0] ? cfg->llm_url : cfg->ollama_host;
	if (store_worker_note(st, s->holder, models, engine, NULL) == 0 && last)
		snprintf(last, 512, "+%.510s", models);  /* "+" marks it written, even when "" */
}

/* Keeps this run's lease alive, and requeues the steps of other
 * workers whose leases expired (a process on another host that died). */
static void *heartbeat_main(void *arg)
{
	sched *s = arg;
	store *st;
	if (store_open(s->p.cfg->db_path, &st, NULL))
		return NULL;
	double next = clock_mono_s() + (lease_ttl(s) / 3.0);
	char noted[512] = "";
	pthread_mutex_lock(&s->mu);
	while (!s->heartbeat_stop) {
		struct timespec dl;
		clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += 1;
		pthread_cond_timedwait(&s->hb_cond, &s->mu, &dl);
		if (s->heartbeat_stop)
			continue;
		if (clock_mono_s() < next) {
			/* between heartbeats, a change of the resident models is said within a second */
			pthread_mutex_unlock(&s->mu);
			note_worker(s, st, noted);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		pthread_mutex_unlock(&s->mu);
		next = clock_mono_s() + (lease_ttl(s) / 3.0);
		if (store_lease_heartbeat(st, s->holder, lease_ttl(s), NULL) == DOSSIER_ESTALE)
			store_lease_acquire(st, s->holder, lease_ttl(s), NULL, 0, NULL); /* our old claims are void */
		note_worker(s, st, noted);
		int recovered = 0;
		if (store_recover(st, &recovered, NULL) == 0 && recovered)
			bus_emit(s->p.bus, "steps_recovered", 0, json_pack("{s:i}", "count", recovered));
		pthread_mutex_lock(&s->mu);
		if (recovered) {
			s->wake_gen++;
			pthread_cond_broadcast(&s->cond);
		}
	}
	pthread_mutex_unlock(&s->mu);
	store_close(st);
	return NULL;
}

int sched_new(const struct sched_params *p, sched **out, struct err *err)
{
	sched *s = xcalloc(1, sizeof *s);
	s->p = *p;
	pthread_mutex_init(&s->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_cond_init(&s->hb_cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = s;
	if (!p->runner.ops || !p->runner.ops->run_step || !p->runner.ops->finish_document) {
		sched_free(s);
		*out = NULL;
		return err_set(err, DOSSIER_EINVAL, "the scheduler needs a runner (run_step, finish_document)");
	}
	return 0;
}

void sched_notify(sched *s)
{
	wake_lanes(s, ~0u);
}

void sched_stop(sched *s)
{
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

void sched_free(sched *s)
{
	if (!s)
		return;
	pthread_cond_destroy(&s->cond);
	pthread_cond_destroy(&s->hb_cond);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

#define MAX_LANES 16

int sched_run(sched *s, struct sched_stats *out, struct err *err)
{
	const struct config *cfg = s->p.cfg;
	struct lane lanes[MAX_LANES];
	int n_lanes = 0, rc = 0;
	double t0 = clock_mono_s();
	int cpus = cfg->cpu_lanes > 0 ? cfg->cpu_lanes : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1)
		cpus = 1;
	if (cpus > MAX_LANES - 2)
		cpus = MAX_LANES - 2;

	memset(lanes, 0, sizeof lanes);
	memset(&s->stats, 0, sizeof s->stats);
	s->read_committed = store_is_server(cfg->db_path);
	s->stop = 0;
	s->model_down = 0;

	/* take a lease, recover steps orphaned by a dead worker, finish settled documents */
	{
		store *st;
		if ((rc = store_open(cfg->db_path, &st, err)))
			return rc;
		if ((rc = store_lease_acquire(st, NULL, lease_ttl(s), s->holder, sizeof s->holder, err))) {
			store_close(st);
			return rc;
		}
		note_worker(s, st, NULL);
		s->rng = (uint64_t)getpid() * 0x9e3779b97f4a7c15ull ^ (uint64_t)clock_mono_ms();
		int recovered = 0;
		rc = store_recover(st, &recovered, err);
		if (recovered)
			bus_emit(s->p.bus, "steps_recovered", 0, json_pack("{s:i}", "count", recovered));
		if (!rc)
			rc = finish_settled(s, st, err);
		store_close(st);
		if (rc)
			return rc;
	}

	/* the lane topology, from the role table */
	unsigned llm_roles = role_mask_lane(ROLE_LANE_MODEL);
	unsigned offline_roles = s->p.offline ? role_mask_offline_cpu() : 0;
	/* an optional role without a model this run (embed: none configured, or the
	 * engine lacks it) runs on cpu lanes, where its step records that */
	for (int r = 0; r < ROLE_COUNT; r++)
		if (role_info((enum model_role)r)->optional && !cfg->models[r].name[0]) {
			offline_roles |= 1u << r;
			llm_roles &= ~(1u << r);
		}
	int with_model_lane = !s->p.offline && s->p.res;
	s->preparing_roles = role_mask_lane(ROLE_LANE_CPU) | role_mask_lane(ROLE_LANE_ASR);
	s->runnable_roles = role_mask_lane(ROLE_LANE_CPU) | role_mask_lane(ROLE_LANE_ASR) | offline_roles |
	                    (with_model_lane ? llm_roles : 0);

	static const char *const cpu_names[] = {"cpu1", "cpu2", "cpu3", "cpu4", "cpu5", "cpu6", "cpu7",
	                                        "cpu8", "cpu9", "cpu10", "cpu11", "cpu12", "cpu13", "cpu14"};
	for (int i = 0; i < cpus; i++) {
		lanes[n_lanes].name = cpu_names[i];
		lanes[n_lanes].role_mask = role_mask_lane(ROLE_LANE_CPU) | offline_roles;
		n_lanes++;
	}
	if (role_mask_lane(ROLE_LANE_ASR)) {
		lanes[n_lanes].name = "asr";
		lanes[n_lanes].role_mask = role_mask_lane(ROLE_LANE_ASR);
		n_lanes++;
	}
	if (with_model_lane) {
		lanes[n_lanes].name = "model";
		lanes[n_lanes].role_mask = llm_roles;
		n_lanes++;
	}

	const struct sched_runner *runner = &s->p.runner;
	s->heartbeat_stop = 0;
	int heartbeat = pthread_create(&s->heartbeat, NULL, heartbeat_main, s) == 0;
	int started = 0;
	for (int i = 0; i < n_lanes; i++) {
		struct lane *l = &lanes[i];
		l->s = s;
		if ((rc = store_open(cfg->db_path, &l->st, err)))
			break;
		if (runner->ops->lane_new &&
		    (rc = runner->ops->lane_new(runner->user, l->name, l->role_mask, &l->ctx, err))) {
			store_close(l->st);
			break;
		}
		void *(*fn)(void *) = !strcmp(l->name, "model") ? model_lane_main : plain_lane_main;
		if (pthread_create(&l->thread, NULL, fn, l) != 0) {
			if (runner->ops->lane_free)
				runner->ops->lane_free(runner->user, l->ctx);
			store_close(l->st);
			rc = err_set(err, DOSSIER_ENOMEM, "cannot start lane %s", l->name);
			break;
		}
		started++;
	}
	if (started < n_lanes)
		sched_stop(s); /* a lane could not start: the others stop too, nothing is lost */
	for (int i = 0; i < started; i++) {
		pthread_join(lanes[i].thread, NULL);
		if (runner->ops->lane_free)
			runner->ops->lane_free(runner->user, lanes[i].ctx);
		store_close(lanes[i].st);
	}

	if (heartbeat) {
		pthread_mutex_lock(&s->mu);
		s->heartbeat_stop = 1;
		pthread_cond_broadcast(&s->hb_cond);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->heartbeat, NULL);
	}
	/* give back the lease (steps still running go back to the queue); documents
	 * whose model steps were deferred wait for the next run */
	{
		store *st;
		if (store_open(cfg->db_path, &st, NULL) == 0) {
			store_lease_release(st, s->holder, NULL, NULL);
			store_docs_requeue_idle(st, NULL, NULL);
			store_close(st);
		}
	}
	if (!with_model_lane && !s->p.offline) {
		s->stats.model_lane_down = 1;
		snprintf(s->stats.model_lane_error, sizeof s->stats.model_lane_error,
		         "no LLM engine: the steps that need one stay queued");
	}
	s->stats.seconds = clock_mono_s() - t0;
	if (out)
		*out = s->stats;
	return rc;
}
