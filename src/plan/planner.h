/*
 * planner.h — predicts the peak memory of a run before it starts (S7), from the
 * models' facts (facts.h), their footprints (footprint.h), the policy and the
 * documents to analyse, and says what would fit when it does not.
 *
 *   struct plan_params pp;
 *   plan_params_default(&pp, &cfg);
 *   pp.inputs.count[PLAN_DOC_VIDEO] = 3;
 *   plan *pl;
 *   if (plan_build(&pp, &pl, &e) == 0) {
 *       if (!plan_fits(pl)) ... plan_render_text(pl, &b) explains and suggests ...
 *       json_t *j = plan_to_json(pl);   // docs/planner.md
 *       plan_free(pl);
 *   }
 *
 * The scenarios follow seed.md: text, image, video transcription, video frames,
 * swap transition, plus co-resident under the budget policy. Formulas and the
 * JSON shape are in docs/planner.md. A plan is immutable once built.
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

enum plan_doc_kind {
	PLAN_DOC_TEXT = 0,
	PLAN_DOC_PDF,
	PLAN_DOC_IMAGE,
	PLAN_DOC_AUDIO,
	PLAN_DOC_VIDEO,
	PLAN_DOC_KIND_COUNT
};
const char *plan_doc_kind_name(enum plan_doc_kind k); /* "text", "pdf", "image", "audio", "video" */

struct plan_inputs {
	uint64_t count[PLAN_DOC_KIND_COUNT]; /* documents of each kind */
	int assumed;                         /* 1 = no documents named: plan for every kind */
};

/*
 * Hook for model facts from Ollama's API (the store is not readable, e.g. Ollama
 * on another host): fill *out (model_facts_from_api does the parsing) and
 * return 0, or return an error code to fall back to nominal sizes.
 */
typedef int (*plan_facts_fn)(void *user_data, enum model_role role, const char *model_name,
                             struct model_facts *out, struct err *err);

struct plan_params {
	const struct config *cfg;      /* borrowed: models, num_ctx, policy, budget, swap delay, lanes */
	struct plan_inputs inputs;     /* documents by kind */
	struct footprint_params fp;    /* KV type, parallel slots, batch; fp.num_ctx is ignored (per model from cfg) */
	const char *store_root;        /* Ollama store; NULL = modelstore_default_root, "" = do not read it */
	const char *asr_model_dir;     /* NULL = DOSSIER_POCKETSPHINX_MODEL_DIR, "" = nominal size */
	plan_facts_fn api_facts;       /* NULL = none; tried when the store cannot answer */
	void *api_user;                /* passed to api_facts */
	int suggest;                   /* 1 = when the peak exceeds the budget, try alternatives */
};
/* Defaults: inputs assumed (every kind), f16 KV, 1 slot, batch 512, default
 * store and speech model dir, no API hook, suggest = 1. cfg is borrowed. */
void plan_params_default(struct plan_params *p, const struct config *cfg);

enum plan_scenario_kind {
	PLAN_SC_TEXT = 0,      /* a text document: the text LLM */
	PLAN_SC_IMAGE,         /* an image: the vision LLM */
	PLAN_SC_TRANSCRIPTION, /* video/audio transcription: text LLM + speech model */
	PLAN_SC_FRAMES,        /* video frames: vision LLM + speech model */
	PLAN_SC_SWAP,          /* swap transition: outgoing + incoming LLM */
	PLAN_SC_CORESIDENT,    /* budget policy: every LLM kept together */
	PLAN_SC_COUNT
};

struct plan_scenario {
	enum plan_scenario_kind kind;
	const char *name;                 /* static: "text", "image", "video transcription", ... */
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
 * sizes, noted in the warnings); errors: DOSSIER_EINVAL (no cfg), DOSSIER_ENOMEM.
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
const struct plan_scenario *plan_scenario(const plan *pl, enum plan_scenario_kind k); /* borrowed */
/* The footprint of the model in role r, or NULL if the run does not use it. Borrowed. */
const struct model_footprint *plan_model(const plan *pl, enum model_role r);
const struct model_facts *plan_facts(const plan *pl, enum model_role r);
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
