/*
 * llm_setup.h — the LLM side of a run, for analyze and serve: the Ollama
 * backend, the residency manager, the plan check before the run, and the
 * report after it.
 */
#ifndef DOSSIER_CLI_LLM_SETUP_H
#define DOSSIER_CLI_LLM_SETUP_H

#include <stdint.h>
#include <stdio.h>

#include "core/config.h"
#include "core/event.h"
#include "backends/llm.h"

struct err;

struct llm_setup {
	llm_backend *backend;          /* owned; NULL when unavailable */
	struct residency *res;         /* owned; NULL when unavailable */
	int unavailable;               /* 1: Ollama could not be reached */
	char unavailable_msg[512];     /* why */
	uint64_t planned_peak;         /* predicted peak bytes of the run; 0 = not planned */
	uint64_t budget;               /* the budget it was checked against */
};

/* Connects to the LLM engine. Unreachable is not an error: documents wait (unavailable = 1).
 * b may be NULL (planning only): then no residency manager is made. A server
 * with one model serving every name gives cfg's LLM roles that model's name. */
int llm_setup_open(struct config *cfg, bus *b, struct llm_setup *out, struct err *err);
/*
 * Every kind of the registry (pipeline/kinds.h) as the planner takes it: name,
 * role mask, count 0. Fills at most max entries of out; returns how many.
 */
struct plan_kind_use;
size_t llm_setup_kinds(struct plan_kind_use *out, size_t max);
/* The entry named kind in kinds (n entries), or NULL. */
struct plan_kind_use *llm_setup_kind(struct plan_kind_use *kinds, size_t n, const char *kind);
/*
 * Plans the run for the queued documents (kinds with their counts, from
 * llm_setup_kinds) and refuses one whose predicted peak exceeds the budget with
 * DOSSIER_ENOSPACE and a message saying what would fit; force = 1 only warns.
 * The residency manager then budgets with the plan's numbers (residency_plan).
 */
int llm_setup_check_plan(const struct config *cfg, struct llm_setup *l, const struct plan_kind_use *kinds,
                         size_t n_kinds, int force, struct err *err);
struct store_measure;
struct plan_measure;
/* What earlier loads of models measured (the store's measures table), as the
 * planner takes them (plan_params.measured); empty when the database does not
 * exist (it is never created here). Free with llm_measured_free. */
struct llm_measured {
	struct store_measure *rows;   /* owned */
	struct plan_measure *plan;    /* owned; n entries borrowing rows' strings */
	size_t n;
};
void llm_measured_load(const char *db_path, struct llm_measured *ms);
void llm_measured_free(struct llm_measured *ms);

/* llm_setup_check_plan for a long-running command (watch, serve) that cannot
 * know what will arrive: one document of every kind, so every model a file
 * may need is planned and budgeted. A no-op offline or without an engine. */
int llm_setup_check_plan_any(const struct config *cfg, struct llm_setup *l, int force, struct err *err);
/* The planner's plan_facts_fn: a model's size and shape from the engine's
 * description (llm_describe, read by model_facts_from_api), for when its model
 * store is not readable here. user = the setup. */
struct model_facts;
int llm_setup_facts(void *user, enum model_role role, const char *model, struct model_facts *out,
                    struct err *err);
/*
 * The embedding model of the run (the embed role): when the engine answers
 * and does not have cfg's embed_model, or it cannot embed, the model is
 * cleared from cfg so the embed steps record that search stays full-text;
 * an `embed_unavailable` event {model, reason} (b may be NULL) and, with
 * out (may be NULL), one line there say why and what to do. Returns 1 when
 * the run embeds, 0 otherwise.
 */
int llm_setup_embed(struct config *cfg, struct llm_setup *l, bus *b, FILE *out);
/* What a command that runs the queue does first: llm_setup_open unless
 * cfg->offline, then llm_setup_embed. Returns 0, or EXIT_ENV after printing
 * why (an unreachable engine is not an error: out->unavailable says it). */
int llm_setup_start(struct config *cfg, bus *b, struct llm_setup *out);
/* Leaves models as the policy says. */
int llm_setup_finish(struct llm_setup *l, struct err *err);
/* Prints loads, swaps and predicted vs. observed peak. */
void llm_setup_report(struct llm_setup *l, FILE *out);
void llm_setup_close(struct llm_setup *l);

#endif
