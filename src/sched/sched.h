/*
 * sched.h — the step scheduler: lanes that claim ready steps from the store and
 * run them.
 *
 *   cpu lanes (about one per core)  steps that need no model (extraction, OCR,
 *                                   frame sampling), and with --offline the
 *                                   text/vision steps through the offline analysers
 *   asr lane (one)                  the resident speech model
 *   model lane (one)                LLM steps, one request at a time, through the
 *                                   residency manager; it picks steps by policy:
 *                                   sequential = oldest document first (the seed),
 *                                   grouped/budget = the resident model's steps
 *                                   first, with a fairness bound
 *
 * The queue in the store is the truth: a crash loses at most the steps in
 * flight, which store_recover() puts back.
 *
 * The scheduler does not know what a step does: it calls the runner it is
 * handed (sched/runner.h), which the pipeline provides.
 *
 *   sched *s;
 *   struct sched_params params = {.cfg = &cfg, .bus = b, .runner = runner, ...};
 *   sched_new(&params, &s, &err);
 *   sched_run(s, &stats, &err);     // returns when nothing runnable is left
 *   sched_free(s);
 */
#ifndef DOSSIER_SCHED_H
#define DOSSIER_SCHED_H

#include "core/config.h"
#include "core/event.h"
#include "sched/runner.h"

struct err;
struct residency;
typedef struct sched sched;

struct sched_params {
	const struct config *cfg;      /* borrowed; outlives the scheduler */
	bus *bus;                      /* borrowed */
	struct sched_runner runner;    /* what runs the steps (borrowed; see runner.h) */
	struct residency *res;         /* borrowed; NULL = no LLM engine: no model lane */
	int offline;                   /* 1 = LLM-role steps run on cpu lanes (offline analysers) */
	int keep_running;              /* 1 = wait for new work (server) instead of returning */
	double lease_ttl_s;            /* the run's lease (s): others take its steps this long after its
	                                  last heartbeat; heartbeats every third of it. 0 = STORE_LEASE_TTL_S */
	volatile int *cancel;          /* borrowed; non-zero stops the run early */
};

struct sched_stats {
	int steps_done, steps_failed, steps_retried, steps_deferred;
	int steps_unrecorded;          /* ran, but the store refused the result: run again later */
	int docs_done, docs_partial, docs_failed;
	int model_lane_down;           /* 1 if LLM steps were left queued */
	char model_lane_error[512];    /* why, e.g. Ollama not reachable */
	double seconds;                /* wall time of the run */
};

int sched_new(const struct sched_params *p, sched **out, struct err *err);
/* Runs until no runnable step is left (or, with keep_running, until sched_stop). */
int sched_run(sched *s, struct sched_stats *out, struct err *err);
/* Wakes idle lanes: new documents were queued. Thread safe. */
void sched_notify(sched *s);
/* Asks a keep_running scheduler to return from sched_run. Thread safe. */
void sched_stop(sched *s);
void sched_free(sched *s);  /* NULL is a no-op */

#endif
