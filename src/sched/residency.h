/*
 * residency.h — the residency manager: which Ollama models are in memory, and
 * the loads, unloads and swaps that keep the resident set within the policy
 * (S4, S5, S6). docs/residency.md explains the design.
 *
 *   residency *r;
 *   residency_new(&cfg, llm, bus, &r, &e);
 *   if (residency_acquire(r, ROLE_TEXT, &e) == 0) {          // may swap models
 *       struct llm_call c = llm_call_from_config(&cfg, ROLE_TEXT, residency_keep_alive(r, ROLE_TEXT));
 *       llm_analyze_text(llm, &c, text, len, &out, &e);
 *       residency_release(r, ROLE_TEXT);
 *   }
 *   residency_finish(r, &e);                                  // at exit
 *   residency_free(r);
 *
 * Policies (config.policy):
 *   sequential, grouped  at most one Ollama model resident. Acquiring another
 *                        role emits `swapping_model` {from, to}, waits until
 *                        the current model is idle, unloads it (`model_unloaded`),
 *                        waits until /api/ps no longer lists it (or sleeps
 *                        config.swap_delay_s if >= 0), then loads the next one
 *                        (`model_loading`, `model_loaded` {load_ms}).
 *   budget               models stay resident together while their predicted
 *                        sizes (weights + KV for num_ctx) fit config_budget();
 *                        otherwise the least recently used idle model is
 *                        unloaded first.
 * A `memory` event {predicted_bytes, budget_bytes, resident:[{model, role,
 * bytes}]} follows every change of the resident set. A model is never unloaded
 * while a request to it is in flight.
 *
 * Thread safe: acquire/finish are serialised; release, keep_alive, note_asr
 * and stats may be called from any thread.
 */
#ifndef DOSSIER_SCHED_RESIDENCY_H
#define DOSSIER_SCHED_RESIDENCY_H

#include "core/config.h"
#include "core/event.h"
#include "backends/llm.h"

#include <stdint.h>

struct err;
typedef struct residency residency;

/* The keep_alive every request carries while dossier runs (seconds): long
 * enough that the engine's own timer never unloads a model between two steps,
 * short enough that a crashed run does not pin memory for long. Unloads are
 * explicit. */
#define RESIDENCY_KEEP_ALIVE_S (30 * 60)
/* What budget-policy models are left with at exit: Ollama's default (5 min). */
#define RESIDENCY_KEEP_ALIVE_EXIT_S (5 * 60)
/* How long an unloaded model may stay in /api/ps before a swap gives up. */
#define RESIDENCY_UNLOAD_WAIT_MS 30000
/* A measured load more than this fraction off the planner's formula is
 * reported (`prediction_off`; `dossier plan` and `models` say it too). */
#define RESIDENCY_PREDICTION_TOLERANCE 0.15
/* How often /api/ps is polled while waiting. */
#define RESIDENCY_POLL_MS 100

struct residency_stats {
	int loads;                    /* models loaded by dossier */
	int unloads;                  /* models unloaded by dossier */
	int swaps;                    /* swapping_model events */
	int resident_models;          /* Ollama models resident now (as far as dossier knows) */
	int max_resident_models;      /* most Ollama models resident at once */
	uint64_t resident_bytes;      /* predicted bytes resident now, speech model included */
	uint64_t max_resident_bytes;  /* most predicted bytes resident at once */
	double load_s;                /* total wall time of loads */
	double swap_wait_s;           /* total time spent waiting for unloads to finish */
};

/*
 * cfg, llm and b are borrowed and must outlive the manager; b may be NULL (no
 * events). Does not contact Ollama. Caller frees with residency_free.
 */
int residency_new(const struct config *cfg, llm_backend *llm, bus *b, residency **out, struct err *err);
/* Frees the manager without touching Ollama (call residency_finish first). NULL is a no-op. */
void residency_free(residency *r);

/*
 * Makes role's model resident per the policy and marks it in use (one count
 * per call; pair with residency_release). ROLE_ASR and ROLE_NONE return 0 at
 * once (the speech model is in-process; see residency_note_asr). Errors: the
 * backend's (EUNAVAILABLE, EMODEL, ETIMEOUT, ...); DOSSIER_ETIMEOUT if the model
 * to displace stays busy or listed in /api/ps too long. On error nothing is
 * marked in use.
 */
int residency_acquire(residency *r, enum model_role role, struct err *err);
/* The request for role finished (success or not). */
void residency_release(residency *r, enum model_role role);
/* The keep_alive (seconds, llm.h) every request for role must carry. */
int64_t residency_keep_alive(residency *r, enum model_role role);
/* The in-process speech model's memory, counted in the resident set
 * (loaded = 1 when it is loaded, 0 when freed). Emits `memory`. */
void residency_note_asr(residency *r, uint64_t bytes, int loaded);
/*
 * At exit: sequential/grouped unload the models dossier loaded; budget sets
 * the models it loaded back to Ollama's default keep_alive (5m) so nothing
 * stays pinned. Waits for in-flight requests first (bounded).
 */
int residency_finish(residency *r, struct err *err);
/* Counters since residency_new. */
void residency_stats(residency *r, struct residency_stats *out);
/* The models resident now as far as dossier knows, "a, b" in role order
 * ("" = none), into out (n bytes, cut to fit). */
void residency_resident(residency *r, char *out, size_t n);
/*
 * The bytes the plan approved for role's model (plan_model(pl, role)->total):
 * budget decisions use them until /api/ps measures the loaded instance.
 * Ignored for roles that are no LLM and for 0.
 */
void residency_plan(residency *r, enum model_role role, uint64_t bytes);
/* Predicted resident bytes of role's model: what /api/ps measured once it was
 * loaded; else the number residency_plan gave; else the planner's footprint
 * (plan_role_footprint, facts from the model store, the engine's description,
 * or nominal sizes), computed once and remembered. */
uint64_t residency_predict(residency *r, enum model_role role);

#endif
