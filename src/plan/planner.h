/*
 * planner.h — predicts the peak memory of a run before it starts (S7), from the
 * models' facts (facts.h), their footprints (footprint.h), the policy and the
 * documents to analyse, and says what would fit when it does not.
 *
 *   struct plan_kind_use kinds[] = {{"video", 1u << ROLE_ASR | 1u << ROLE_TEXT | 1u << ROLE_VISION, 3, 0}};
 *   struct plan_params pp;
 *   plan_params_default(&pp, &cfg);
 *   pp.inputs = (struct plan_inputs){.kinds = kinds, .n_kinds = 1};
 *   plan *pl;
 *   if (plan_build(&pp, &pl, &e) == 0) {
 *       if (!plan_fits(pl)) ... plan_render_text(pl, &b) explains and suggests ...
 *       json_t *j = plan_to_json(pl);   // docs/planner.md
 *       plan_free(pl);
 *   }
 *
 * The planner knows no document kinds: it is told which roles each kind's
 * steps use (plan_kind_use, from the kind registry) and derives the scenarios
 * from those masks: for each LLM role, its model alone (beside the speech
 * model when the run has recordings: it stays resident once loaded) and, for
 * kinds that also use the speech model, its model beside it; a swap transition
 * between the two largest LLMs; co-resident under the budget policy. With the
 * seed's roles these are seed.md's text, image, video transcription, video
 * frames and swap transition (the names come from the role table). Formulas
 * and the JSON shape are in docs/planner.md. A plan is immutable once built.
 */
#ifndef DOSSIER_PLAN_PLANNER_H
#define DOSSIER_PLAN_PLANNER_H

#include "core/buf.h"
#include "core/config.h"
#include "plan/facts.h"
#include "plan/footprint.h"

#include <jansson.h>
#include <stdint.h>

struct err;

/* What the documents of one kind need. */
struct plan_kind_use {
	const char *name;      /* borrowed, must outlive the plan (static): the kind ("text"), for output */
	unsigned role_mask;    /* bit 1u << role for every role its steps use (pipeline's kind_role_mask) */
	uint64_t count;        /* documents of the kind */
	uint64_t lane_bytes;   /* dossier's working set for one such document on a cpu lane;
	                          0 = from its roles (PLAN_LANE_BYTES_ASR, _IMAGES, _TEXT) */
	uint64_t children;     /* more of the kind inside those documents (archive members, attachments,
	                          embedded images), counted before the run; 0 = none */
	const char *children_src; /* static: how children was found, "scanned" or "estimated"; NULL = none */
};

/* The cpu-lane working set of a kind that does not say (plan_kind_use.lane_bytes 0):
 * an hour of 16 kHz PCM plus decoder state and frames; a 12 MP photo decoded to RGBA
 * plus grey copies for OCR; CAP_TEXT of extracted text. */
#define PLAN_LANE_BYTES_ASR    (128ull << 20)
#define PLAN_LANE_BYTES_IMAGES (72ull << 20)
#define PLAN_LANE_BYTES_TEXT   (16ull << 20)

#define PLAN_MAX_KINDS 32      /* kinds a plan keeps; more are refused (DOSSIER_EINVAL) */

struct plan_inputs {
	const struct plan_kind_use *kinds; /* borrowed during plan_build (copied): every kind, counts may be 0 */
	size_t n_kinds;                    /* entries in kinds */
	int assumed;                       /* 1 = no documents named: plan as if every kind were present */
};

/*
 * Hook for model facts from Ollama's API (the store is not readable, e.g. Ollama
 * on another host): fill *out (model_facts_from_api does the parsing) and
 * return 0, or return an error code to fall back to nominal sizes.
 */
typedef int (*plan_facts_fn)(void *user_data, enum model_role role, const char *model_name,
                             struct model_facts *out, struct err *err);

/* What an earlier load of a model cost (the store's measures table, passed in
 * by the caller: the planner reads no database). Strings borrowed. */
struct plan_measure {
	const char *engine;       /* "ollama", "openai" */
	const char *model;        /* model name */
	int num_ctx;              /* context it ran with */
	uint64_t bytes;           /* what it used */
	const char *source;       /* "rss:/proc", "api/ps", "engine:meta.size" */
	int loads;                /* loads measured */
};

struct plan_params {
	const struct config *cfg;      /* borrowed: models, num_ctx, policy, budget, swap delay, lanes */
	struct plan_inputs inputs;     /* documents by kind */
	struct footprint_params fp;    /* KV type, parallel slots, batch; fp.num_ctx is ignored (per model from cfg) */
	const char *store_root;        /* Ollama store; NULL = modelstore_default_root, "" = do not read it */
	const char *asr_model_dir;     /* NULL = DOSSIER_POCKETSPHINX_MODEL_DIR, "" = nominal size */
	plan_facts_fn api_facts;       /* NULL = none; tried when the store cannot answer */
	void *api_user;                /* passed to api_facts */
	int suggest;                   /* 1 = when the peak exceeds the budget, try alternatives */
	const struct plan_measure *measured; /* borrowed during plan_build: earlier loads; NULL = none. A model
	                                        measured with the same engine and context plans with the
	                                        measurement (source "measured"), the formula kept beside it */
	size_t n_measured;             /* entries in measured */
	const char *engine;            /* the engine the run uses, to match measured; NULL = any */
};
/* Defaults: no kinds (set inputs.kinds), inputs assumed, f16 KV, 1 slot, batch
 * 512, default store and speech model dir, no API hook, suggest = 1. cfg is borrowed. */
void plan_params_default(struct plan_params *p, const struct config *cfg);

enum plan_sc_type {
	PLAN_SC_ALONE = 0,  /* one LLM role's model (and the speech model, once the run has recordings) */
	PLAN_SC_WITH_ASR,   /* one LLM role's model beside the speech model (kinds that use both) */
	PLAN_SC_SWAP,       /* swap transition: outgoing + incoming LLM */
	PLAN_SC_CORESIDENT, /* budget policy: every LLM kept together */
};

#define PLAN_MAX_SCENARIOS (2 * ROLE_COUNT + 2)

struct plan_scenario {
	enum plan_sc_type type;           /* what state it is */
	enum model_role role;             /* the LLM role for ALONE and WITH_ASR; ROLE_NONE otherwise */
	const char *name;                 /* static: "text", "image", "video transcription", ... (role table) */
	int applies;                      /* 1 = the documents lead to this state */
	int counted;                      /* 1 = part of the peak (applies, and for a swap: unload not awaited) */
	int n_models;                     /* models resident */
	enum model_role roles[ROLE_COUNT];/* their roles, first n_models */
	uint64_t model_bytes;             /* the models' footprints */
	uint64_t working_bytes;           /* dossier's own working memory */
	uint64_t bytes;                   /* model_bytes + working_bytes */
	char note[256];                   /* why it applies or is not counted */
};

struct plan_suggestion {
	char change[96];                  /* machine-readable: "profile=dev", "num_ctx=4096", "swap_delay=-1", "offline" */
	char message[320];                /* human sentence */
	uint64_t peak_bytes;              /* the peak with that change */
	int fits;                         /* 1 = within the budget */
};

#define PLAN_MAX_SUGGESTIONS 6
#define PLAN_MAX_WARNINGS 6

typedef struct plan plan; /* opaque; defined in planner.c */

/*
 * Builds the plan. Never fails for lack of model facts (falls back to nominal
 * sizes, noted in the warnings); errors: DOSSIER_EINVAL (no cfg, more than
 * PLAN_MAX_KINDS kinds), DOSSIER_ENOMEM.
 * A plan that does not fit is still returned with rc 0: check plan_fits.
 * *out: caller frees with plan_free.
 */
int plan_build(const struct plan_params *p, plan **out, struct err *err);
void plan_free(plan *pl); /* NULL is a no-op */

/*
 * The footprint of role r's model alone, exactly as plan_build computes it
 * (same facts resolution: store, api_facts hook, nominal; same formula), for
 * the residency manager's budget decisions. p->inputs are ignored.
 * DOSSIER_EINVAL (no cfg, no such role), DOSSIER_ENOMEM.
 */
int plan_role_footprint(const struct plan_params *p, enum model_role r, struct model_footprint *out,
                        struct err *err);

uint64_t plan_peak_bytes(const plan *pl);
uint64_t plan_budget_bytes(const plan *pl);
int plan_fits(const plan *pl);                 /* 1 = peak <= budget */
/* The scenario that sets the peak, or NULL if no scenario applies. Borrowed. */
const struct plan_scenario *plan_peak_scenario(const plan *pl);
/* Scenarios in order: ALONE per LLM role (role table order), WITH_ASR per LLM
 * role, SWAP, CORESIDENT. Borrowed. */
size_t plan_scenario_count(const plan *pl);
const struct plan_scenario *plan_scenario_at(const plan *pl, size_t i);
/* The scenario of that type (and LLM role, for ALONE and WITH_ASR), or NULL. Borrowed. */
const struct plan_scenario *plan_scenario_find(const plan *pl, enum plan_sc_type type, enum model_role role);
/* The footprint of the model in role r, or NULL if the run does not use it. Borrowed. */
const struct model_footprint *plan_model(const plan *pl, enum model_role r);
uint64_t plan_working_bytes(const plan *pl);
size_t plan_suggestion_count(const plan *pl);
const struct plan_suggestion *plan_suggestion_at(const plan *pl, size_t i); /* borrowed */

/* The plan as a JSON object (docs/planner.md). Caller releases with json_decref;
 * NULL on out-of-memory. */
json_t *plan_to_json(const plan *pl);
/* The plan for people, appended to out (a few lines per scenario, then the
 * peak against the budget, then suggestions). DOSSIER_ETOOBIG/ENOMEM from buf. */
int plan_render_text(const plan *pl, struct buf *out);

#endif
