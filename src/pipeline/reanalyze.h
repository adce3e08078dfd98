/*
 * reanalyze.h — what made each model step's result, and queueing the steps a
 * different engine, model or prompt would now make differently.
 *
 * Every successful step of an LLM role records in its result
 *   "made_by": {"engine": "ollama" | "openai" | "offline", "model": "...", "prompt": N}
 * (model absent for "offline"). When the engine or model configured for that
 * role differs, the prompts changed, or a model is available where the
 * offline analysers made the fields, the step is due again; so is every step
 * that depends on it. The stored dossier stays until the new one is made.
 *
 *   struct made_by_now now;
 *   reanalyze_now(&cfg, backend, offline, &now);
 *   reanalyze_document(st, b, id, &now, REANALYZE_CHANGED, &n, &err);
 */
#ifndef DOSSIER_PIPELINE_REANALYZE_H
#define DOSSIER_PIPELINE_REANALYZE_H

#include <jansson.h>
#include <stdint.h>

#include "core/config.h"
#include "core/event.h"
#include "store/store.h"

struct err;
struct llm_backend;

enum reanalyze_mode {
	REANALYZE_NONE = 0,  /* never */
	REANALYZE_CHANGED,   /* model steps made by another engine, model, prompt, or offline (default) */
	REANALYZE_ALL,       /* every model step, and what depends on it */
	REANALYZE_FULL,      /* every step, extraction, OCR and speech too */
};
/* "none" "changed" "all" "full" -> mode; DOSSIER_EINVAL otherwise. */
int reanalyze_mode_parse(const char *s, enum reanalyze_mode *out);

/* What this run would use for each role. Strings borrowed from cfg and the backend. */
struct made_by_now {
	int offline;                       /* 1 = no model would be asked (--offline, engine unreachable) */
	const char *engine;                /* the LLM engine's name ("ollama"), NULL when offline */
	const char *model[ROLE_COUNT];     /* each LLM role's configured model */
};
void reanalyze_now(const struct config *cfg, const struct llm_backend *llm, int offline, struct made_by_now *out);

/* Adds "made_by" to a successful step result of role `role` (nothing for a
 * role that is not an LLM role). Offline when now->offline, or when the result
 * says the offline analysers made it (engine "offline", a fallback_reason). */
void reanalyze_stamp(json_t *result, enum model_role role, const struct made_by_now *now);

/* 1 if the settled step s would be made differently now under mode. */
int reanalyze_step_due(const struct step_rec *s, const struct made_by_now *now, enum reanalyze_mode mode);

/* Queues the due steps of document id and every step depending on them
 * (store_steps_requeue), with a `document_reanalyze` event {path, steps,
 * reason}. *n_steps (may be NULL) = how many were queued (0 = nothing due, or
 * the document is not settled). DOSSIER_ENOTFOUND for an unknown id. */
int reanalyze_document(store *st, bus *b, int64_t id, const struct made_by_now *now, enum reanalyze_mode mode,
                       int *n_steps, struct err *err);

#endif
