/*
 * runner.h — the pipeline's side of the scheduler's runner interface
 * (sched/runner.h): per-lane step environments, running one step of a
 * document by its kind's row, and finishing a document (assembling its
 * dossier, storing it, announcing `document_done` or `document_failed`).
 *
 *   pipeline_runner *pr;
 *   struct pipeline_runner_params pp = {.cfg = &cfg, .bus = b, .llm = llm, .res = res};
 *   pipeline_runner_new(&pp, &pr, &err);
 *   struct sched_params sp = {.cfg = &cfg, .bus = b, .res = res, .runner = pipeline_runner_iface(pr)};
 *   ... sched_new / sched_run / sched_free ...
 *   pipeline_runner_free(pr);
 */
#ifndef DOSSIER_PIPELINE_RUNNER_H
#define DOSSIER_PIPELINE_RUNNER_H

#include "core/config.h"
#include "core/event.h"
#include "sched/runner.h"

struct err;
struct llm_backend;
struct residency;
typedef struct pipeline_runner pipeline_runner;

struct pipeline_runner_params {
	const struct config *cfg;  /* borrowed; outlives the runner */
	bus *bus;                  /* borrowed */
	struct llm_backend *llm;   /* borrowed; NULL = no LLM engine */
	struct residency *res;     /* borrowed; NULL = no LLM engine */
	volatile int *cancel;      /* borrowed; non-zero aborts long steps; may be NULL */
	int offline_models;        /* 1 = LLM-role steps use the offline analysers */
};

/* Copies p. Caller frees with pipeline_runner_free, after the scheduler using it. */
int pipeline_runner_new(const struct pipeline_runner_params *p, pipeline_runner **out, struct err *err);
void pipeline_runner_free(pipeline_runner *r);  /* NULL is a no-op */
/* The interface to hand the scheduler; borrows r. */
struct sched_runner pipeline_runner_iface(pipeline_runner *r);

/* Builds, stores and announces the dossier of a document whose steps have all
 * settled (the runner's finish_document; also usable without a scheduler). */
int pipeline_finish_document(const struct config *cfg, bus *b, store *st, int64_t doc_id,
                             enum doc_outcome *outcome, struct err *err);

#endif
