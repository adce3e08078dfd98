/* sched_internal.h — shared by the lanes of src/sched/. */
#ifndef DOSSIER_SCHED_INTERNAL_H
#define DOSSIER_SCHED_INTERNAL_H

#include <pthread.h>

#include "sched/sched.h"
#include "store/store.h"

struct sched {
	struct sched_params p;
	pthread_mutex_t mu;
	pthread_cond_t cond;           /* signalled when a step settles or work arrives */
	unsigned runnable_roles;       /* bit per role some live lane serves */
	unsigned preparing_roles;      /* roles of lanes that prepare work for the model lane */
	int stop;                      /* sched_stop called */
	int model_down;                /* model lane gave up for this run */
	struct sched_stats stats;
	char holder[STORE_HOLDER_MAX]; /* this run's lease holder id (store_lease_acquire) */
	int read_committed;            /* 1 on a database server: a transaction does not see what
	                                  others commit meanwhile, so a document whose finish was
	                                  tried in a step's batch and lost is tried again after the
	                                  commit (two lanes settling its last two steps at once each
	                                  saw the other's still running) */
	pthread_t heartbeat;           /* renews the lease every STORE_LEASE_HEARTBEAT_S */
	pthread_cond_t hb_cond;        /* wakes the heartbeat (its own: a step's broadcast does not) */
	int heartbeat_stop;            /* under mu */
	uint64_t rng;                  /* retry jitter state, under mu */
	/* What a step's end announced, under mu: wake_gen counts the wake-ups of
	 * every lane, role_gen[r] those of the lanes serving role r (a step of r
	 * became ready). A waiting cpu or asr lane sleeps through the others. */
	uint64_t wake_gen;
	uint64_t role_gen[ROLE_COUNT];
	/* the lanes in lane_wait, under mu: gated ones per role they serve, the
	 * others (the model lane) counted apart; a wake-up none of them would
	 * act on is not broadcast (each would cost two context switches) */
	unsigned waiting_role[ROLE_COUNT];
	unsigned waiting_ungated;
};

struct lane {
	sched *s;
	const char *name;              /* "cpu1", "asr", "model" */
	unsigned role_mask;            /* roles this lane claims */
	store *st;                     /* the lane's own connection */
	void *ctx;                     /* the runner's lane context (owned via runner.lane_free) */
	pthread_t thread;
	int gated;                     /* lane_wait wakes only for what concerns it (plain lanes) */
	uint64_t seen;                 /* gated: wake_key when the lane last looked for work */
	unsigned seen_roles;           /* gated: runnable_roles then */
};

/* Runs one claimed step to its end: executes it through the runner, records
 * the result or the failure, emits step events, and finishes the document if
 * it was the last. Returns the step's own result code (0, or why it failed or
 * was deferred), or the store's code when recording the outcome failed. */
int lane_execute(struct lane *l, struct step_rec *step);
/* The same, copying the step's message into *out (may be NULL). */
int lane_execute_msg(struct lane *l, struct step_rec *step, struct err *out);
/* Waits up to ms for a notification. Returns 1 if the lane should exit (idle
 * run over, or stop requested). */
int lane_wait(struct lane *l, int ms);
/* 1 when nothing runnable is left and nothing is running. */
int lane_run_is_idle(struct lane *l);

/* The model lane's thread (sched_model.c). */
void *model_lane_main(void *arg);
/* Records a step that could not start (its model could not be made resident):
 * deferred when the service is unavailable, else failed (retry when transient). */
void lane_step_not_started(struct lane *l, struct step_rec *step, int rc, const char *msg);

#endif
