/*
 * runner.h — what the scheduler runs. The scheduler claims steps, picks lanes
 * and models, and records outcomes; it never knows what a step does. Whoever
 * declares the work (the pipeline) hands it a runner: a per-lane context, a
 * function that runs one claimed step, and one that finishes a document once
 * all its steps have settled.
 *
 *   static const struct sched_runner_ops my_ops = {
 *       .lane_new = my_lane_new, .lane_free = my_lane_free,
 *       .run_step = my_run_step, .finish_document = my_finish,
 *   };
 *   struct sched_params p = {.runner = {&my_ops, my_state}, ...};
 *
 * Thread safety: lane_new, lane_free and run_step of one lane context are
 * called from that lane's thread only; different lanes run concurrently, and
 * finish_document may be called from any lane (for different documents).
 */
#ifndef DOSSIER_SCHED_RUNNER_H
#define DOSSIER_SCHED_RUNNER_H

#include <stdint.h>

#include "store/store.h"

struct err;

/* What a finished document became. */
enum doc_outcome {
	DOC_OUTCOME_DONE = 0,  /* every step succeeded */
	DOC_OUTCOME_PARTIAL,   /* some parts failed, the dossier has the rest */
	DOC_OUTCOME_FAILED,    /* nothing usable */
};

struct sched_runner_ops {
	/* A lane starts. lane_name is "cpu1", "asr", "model"...; role_mask has bit
	 * (1u << role) for each role the lane runs. *lane_ctx (may be set to NULL)
	 * is passed to run_step and freed by lane_free. A failure stops the run. */
	int (*lane_new)(void *user, const char *lane_name, unsigned role_mask, void **lane_ctx,
	                struct err *err);
	/* The lane stops: frees what lane_new made (engines it loaded). NULL ctx is a no-op. */
	void (*lane_free)(void *user, void *lane_ctx);
	/* Runs one claimed step to its end. st is the lane's own store connection
	 * (read the document and its other steps through it; the scheduler records
	 * the outcome). On success *result_json is the step's result as JSON text
	 * (caller frees with free()). Codes: 0; DOSSIER_EUNAVAILABLE (the service it
	 * needs is down: the step waits, the attempt is not counted); DOSSIER_EAGAIN
	 * or DOSSIER_ETIMEOUT (transient: retried later); anything else fails the
	 * step for good. err holds the sentence a person reads. */
	int (*run_step)(void *lane_ctx, store *st, const struct step_rec *step, char **result_json,
	                struct err *err);
	/* Every step of doc_id has settled and this caller won the right to
	 * finish it (store_doc_try_finish): build and store the result, announce
	 * it, and say what it became. A non-zero return leaves the document to be
	 * finished again by a later run. */
	int (*finish_document)(void *user, store *st, int64_t doc_id, enum doc_outcome *outcome,
	                       struct err *err);
	/* Optional (may be NULL): a step kind in a person's words, sent as "label"
	 * with step_started and step_finished. Static storage; NULL = no label. */
	const char *(*step_label)(void *user, const char *step_kind);
	/* Optional (may be NULL): 1 for a step that takes no time and writes only
	 * through st, the same each time it runs (the embed step with no model:
	 * it drops the document's vectors). The scheduler may run it inside the
	 * transaction that claims it and records its result: a kill -9 leaves
	 * neither its claim nor anything it did. */
	int (*step_instant)(void *user, const struct step_rec *step);
};

struct sched_runner {
	const struct sched_runner_ops *ops;  /* borrowed, static; never NULL when used */
	void *user;                          /* borrowed; outlives the scheduler */
};

#endif
