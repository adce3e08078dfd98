/*
 * sched_model.c — the model lane: LLM steps one at a time, in the order the
 * policy asks for, through the residency manager.
 *
 * sequential  the oldest document's next model step, whatever model it needs:
 *             the seed's order, a swap whenever consecutive documents differ.
 * grouped     the resident model's ready steps first (model affinity). When
 *             none is ready but some are still being prepared on the cpu or
 *             speech lanes, it waits (bounded) rather than swap away and back. A fairness bound
 *             (config.fairness) caps how many steps of one model run while
 *             another model's steps wait.
 * budget      as grouped; the residency manager keeps models together.
 */
#include "sched/sched_internal.h"
#include "core/err.h"
#include "core/util.h"
#include "sched/residency.h"

#include <string.h>

/* Longest wait for the resident model's steps to become ready before swapping
 * (a swap costs seconds of disk reads; waiting for a cpu step usually less). */
#define AFFINITY_WAIT_MS 15000

static void lane_down(struct lane *l, const char *msg)
{
	sched *s = l->s;
	pthread_mutex_lock(&s->mu);
	s->model_down = 1;
	s->runnable_roles &= ~role_mask_lane(ROLE_LANE_MODEL);
	s->stats.model_lane_down = 1;
	snprintf(s->stats.model_lane_error, sizeof s->stats.model_lane_error, "%s", msg);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->mu);
}

/* The model role (other than current) with the most ready steps, or -1. */
static int busiest_other(const unsigned ready[ROLE_COUNT], unsigned roles, int current)
{
	int best = -1;
	for (int r = 0; r < ROLE_COUNT; r++)
		if ((roles & (1u << r)) && r != current && ready[r] > 0 && (best < 0 || ready[r] > ready[best]))
			best = r;
	return best;
}

static int claim_next(struct lane *l, int current, int *streak, int64_t wait_started_ms, int *other_waiting,
                      struct step_rec *step)
{
	sched *s = l->s;
	const struct config *cfg = s->p.cfg;
	struct err e = {0};
	struct claim_filter f = {.role_mask = l->role_mask, .prefer_role = current, .holder = s->holder};

	if (cfg->policy == POLICY_SEQUENTIAL) {
		f.document_order = 1;
		return store_step_claim(l->st, &f, NULL, 0, step, &e);
	}
	struct steps_pending p;
	if (store_steps_pending(l->st, s->holder, &p, &e))
		return DOSSIER_EDB;
	const unsigned *ready = p.ready;
	*other_waiting = 0;
	if (current >= 0) {
		int other = busiest_other(ready, l->role_mask, current);
		unsigned upcoming = 0;
		*other_waiting = other >= 0;
		if (ready[current] == 0 && other >= 0 && clock_mono_ms() - wait_started_ms < AFFINITY_WAIT_MS &&
		    store_steps_upcoming(l->st, (enum model_role)current, s->preparing_roles, &upcoming, &e) == 0 &&
		    upcoming > 0)
			return DOSSIER_EAGAIN; /* its steps are being prepared on cpu lanes: do not swap yet */
		if (*streak >= cfg->fairness && other >= 0)
			f.prefer_role = other; /* fairness: another model's documents have waited enough */
	}
	return store_step_claim(l->st, &f, NULL, 0, step, &e);
}

void *model_lane_main(void *arg)
{
	struct lane *l = arg;
	sched *s = l->s;
	int current = -1, streak = 0;
	int64_t wait_started_ms = 0; /* when the lane started waiting for affinity; 0 = not waiting */

	for (;;) {
		if (s->p.cancel && *s->p.cancel)
			break;
		struct step_rec step;
		if (!wait_started_ms)
			wait_started_ms = clock_mono_ms();
		int other_waiting = 0;
		int rc = claim_next(l, current, &streak, wait_started_ms, &other_waiting, &step);
		if (rc == DOSSIER_EAGAIN) {
			if (lane_wait(l, 100))
				break;
			continue;
		}
		if (rc) {
			if (lane_wait(l, 200))
				break;
			continue;
		}
		wait_started_ms = 0;
		struct err e = {0};
		rc = residency_acquire(s->p.res, step.role, &e);
		if (rc) {
			lane_step_not_started(l, &step, rc, e.msg);
			step_rec_clear(&step);
			if (rc == DOSSIER_EUNAVAILABLE) {
				lane_down(l, e.msg);
				break;
			}
			continue;
		}
		/* the fairness streak counts steps run while the other model's documents wait */
		streak = (int)step.role == current ? streak + other_waiting : 0;
		current = (int)step.role;
		rc = lane_execute(l, &step);
		residency_release(s->p.res, step.role);
		step_rec_clear(&step);
		if (rc == DOSSIER_EUNAVAILABLE) {
			lane_down(l, "the LLM engine stopped answering during the run; the remaining LLM steps wait for the next run");
			break;
		}
	}
	return NULL;
}
