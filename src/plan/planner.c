/*
 * planner.c — peak-memory planner. See planner.h and docs/planner.md.
 *
 * Reading order: model facts (with a small cache), dossier's working memory,
 * scenarios and the peak, suggestions, then JSON and text output.
 */
#include "plan/planner.h"
#include "core/err.h"
#include "core/util.h"
#include "dossier_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MIB (1024ull * 1024ull)

struct plan {
	struct config cfg;                        /* copy of the config planned for */
	struct plan_kind_use kinds[PLAN_MAX_KINDS]; /* documents by kind (names borrowed) */
	size_t n_kinds;                           /* entries in kinds */
	int assumed;                              /* every kind counts as present */
	struct footprint_params fp_params;        /* KV type, slots, batch */
	uint64_t budget;                          /* bytes */
	char budget_src[96];                      /* "config" or "RAM minus reserve" */
	int used[ROLE_COUNT];                     /* 1 = the run loads this model */
	struct model_facts facts[ROLE_COUNT];     /* per role */
	struct model_footprint fp[ROLE_COUNT];    /* per role */
	struct fp_item working;                   /* dossier's own memory */
	int lanes;                                /* cpu lanes assumed for working memory */
	struct plan_scenario sc[PLAN_MAX_SCENARIOS]; /* in plan_scenario_at order */
	size_t n_sc;                              /* entries in sc */
	uint64_t peak;                            /* bytes */
	int peak_sc;                              /* index into sc, -1 if none applies */
	int fits;                                 /* peak <= budget */
	struct plan_suggestion sugg[PLAN_MAX_SUGGESTIONS];
	size_t n_sugg;
	char warnings[PLAN_MAX_WARNINGS][384];
	size_t n_warn;
};

void plan_params_default(struct plan_params *p, const struct config *cfg)
{
	memset(p, 0, sizeof *p);
	p->cfg = cfg;
	p->inputs.assumed = 1;
	footprint_params_default(&p->fp, cfg);
	p->suggest = 1;
}

/* ------------------------------------------------------------ model facts */

#define FACTS_CACHE_MAX 8

struct facts_cache {
	struct model_facts f[FACTS_CACHE_MAX];
	int n;
};

/* Store, then the API hook, then nominal; the reason for each fallback goes
 * into the facts' note. */
static void facts_resolve(const struct plan_params *p, enum model_role r, const struct model_spec *spec,
                          struct model_facts *out)
{
	struct err e = {0};
	char why[512] = "";
	if (r == ROLE_ASR) {
		const char *dir = p->asr_model_dir ? p->asr_model_dir : DOSSIER_POCKETSPHINX_MODEL_DIR;
		model_facts_asr(spec, dir, p->cfg->transcriber_url, out);
		return;
	}
	if (!p->store_root || *p->store_root) {
		if (!model_facts_from_store(p->store_root, spec->name, r, out, &e))
			return;
		snprintf(why, sizeof why, "%s", e.msg);
	} else {
		snprintf(why, sizeof why, "the Ollama store is not consulted");
	}
	if (p->api_facts) {
		err_clear(&e);
		if (!p->api_facts(p->api_user, r, spec->name, out, &e)) {
			out->role = r;
			snprintf(out->name, sizeof out->name, "%s", spec->name);
			return;
		}
		size_t l = strlen(why);
		snprintf(why + l, sizeof why - l, "; api: %s", e.msg[0] ? e.msg : dossier_rc_name(e.code));
	}
	model_facts_nominal(spec, r, out);
	snprintf(out->note, sizeof out->note, "using the nominal size: %s", why);
}

static const struct model_facts *facts_get(const struct plan_params *p, struct facts_cache *c, enum model_role r,
                                           const struct model_spec *spec)
{
	for (int i = 0; i < c->n; i++)
		if (c->f[i].role == r && !strcmp(c->f[i].name, spec->name))
			return &c->f[i];
	if (c->n >= FACTS_CACHE_MAX) /* full (never with one config and a dev alternative): reuse the last */
		c->n = FACTS_CACHE_MAX - 1;
	struct model_facts *f = &c->f[c->n++];
	facts_resolve(p, r, spec, f);
	return f;
}

int plan_role_footprint(const struct plan_params *p, enum model_role r, struct model_footprint *out,
                        struct err *err)
{
	if (!p || !p->cfg || (unsigned)r >= ROLE_COUNT || r == ROLE_NONE)
		return err_set(err, DOSSIER_EINVAL, "plan_role_footprint: no configuration or no such role");
	struct model_facts *f = malloc(sizeof *f);
	if (!f)
		return err_set(err, DOSSIER_ENOMEM, "out of memory reading model facts");
	facts_resolve(p, r, &p->cfg->models[r], f);
	struct footprint_params fp = p->fp;
	fp.num_ctx = p->cfg->models[r].num_ctx;
	footprint_compute(f, &fp, out);
	free(f);
	return 0;
}

/* ---------------------------------------------------- dossier working memory */

/* 1 if the kind's documents are part of the run. */
static int present(const plan *pl, const struct plan_kind_use *k)
{
	return pl->assumed || k->count > 0 || k->children > 0;
}

/* Bit (1u << role) for every role some present kind needs. */
static unsigned roles_needed(const plan *pl)
{
	unsigned m = 0;
	for (size_t i = 0; i < pl->n_kinds; i++)
		if (present(pl, &pl->kinds[i]))
			m |= pl->kinds[i].role_mask;
	return m;
}

static uint64_t lane_bytes(const struct plan_kind_use *k)
{
	if (k->lane_bytes)
		return k->lane_bytes;
	if (k->role_mask & (1u << ROLE_ASR))
		return PLAN_LANE_BYTES_ASR;
	for (int r = 0; r < ROLE_COUNT; r++)
		if ((k->role_mask & (1u << r)) && role_info((enum model_role)r)->reads_images)
			return PLAN_LANE_BYTES_IMAGES;
	return PLAN_LANE_BYTES_TEXT;
}

/*
 * dossier's own memory (estimate:dossier): 64 MiB for the process, SQLite page
 * cache and event queues; for each cpu lane, the working set of the most
 * demanding kind of document present (plan_kind_use.lane_bytes; the seed's
 * kinds: text 16 MiB = CAP_TEXT, pdf as its kind says (text plus the largest
 * page render OCR may ask for), image 72 MiB, audio and video 128 MiB); and when an LLM is used,
 * one request body (CAP_REQUEST_BODY) and one reply (CAP_LLM_REPLY) on the
 * model lane.
 */
static uint64_t working_estimate(const struct config *cfg, const plan *pl, int llm_used, int *lanes_out)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	int lanes = cfg->cpu_lanes > 0 ? cfg->cpu_lanes : cores > 0 ? (int)cores : 1;
	uint64_t per_lane = 0;
	for (size_t i = 0; i < pl->n_kinds; i++)
		if (present(pl, &pl->kinds[i]) && lane_bytes(&pl->kinds[i]) > per_lane)
			per_lane = lane_bytes(&pl->kinds[i]);
	*lanes_out = lanes;
	return 64 * MIB + (uint64_t)lanes * per_lane + (llm_used ? (uint64_t)CAP_REQUEST_BODY + CAP_LLM_REPLY : 0);
}

/* ----------------------------------------------------- scenarios and peak */

static int is_llm(int r)
{
	return role_info((enum model_role)r)->is_llm;
}

static struct plan_scenario *sc_add(plan *pl, enum plan_sc_type type, enum model_role role, const char *name,
                                    int applies, const enum model_role *roles, int n)
{
	struct plan_scenario *s = &pl->sc[pl->n_sc++];
	memset(s, 0, sizeof *s);
	s->type = type;
	s->role = role;
	s->name = name;
	s->applies = applies;
	s->counted = applies;
	for (int i = 0; i < n; i++)
		if (pl->used[roles[i]]) {
			s->roles[s->n_models++] = roles[i];
			s->model_bytes += pl->fp[roles[i]].total;
		}
	s->working_bytes = pl->working.bytes;
	s->bytes = s->model_bytes + s->working_bytes;
	return s;
}

/* 1 if a present kind uses role r, with (asr = 1) or without (asr = 0) the speech model. */
static int kind_uses(const plan *pl, int r, int asr)
{
	for (size_t i = 0; i < pl->n_kinds; i++) {
		const struct plan_kind_use *k = &pl->kinds[i];
		if (present(pl, k) && (k->role_mask & (1u << r)) && !!(k->role_mask & (1u << ROLE_ASR)) == asr)
			return 1;
	}
	return 0;
}

static void plan_scenarios(plan *pl)
{
	const struct config *cfg = &pl->cfg;
	int asr = pl->used[ROLE_ASR];
	enum model_role llms[ROLE_COUNT + 1];
	int n_llm = 0; /* the distinct models: roles naming one model share its instance, as in residency.c */
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (!is_llm(r) || !pl->used[r])
			continue;
		int seen = 0;
		for (int j = 0; j < n_llm && !seen; j++)
			seen = !strcmp(pl->fp[llms[j]].name, pl->fp[r].name);
		if (!seen)
			llms[n_llm++] = (enum model_role)r;
	}
	struct plan_scenario *s;
	pl->n_sc = 0;

	/* Each LLM role alone, then beside the speech model. The speech model loads
	 * on the first recording and stays (S3), so once a run has audio or video
	 * it may sit beside any LLM. */
	for (int pass = 0; pass < 2; pass++)
		for (int r = 0; r < ROLE_COUNT; r++) {
			if (!is_llm(r) || (role_info((enum model_role)r)->optional && !pl->used[r]))
				continue; /* an optional role the run does not use (embed) is no scenario */
			const struct role_info *ri = role_info((enum model_role)r);
			enum model_role two[] = {(enum model_role)r, ROLE_ASR};
			s = sc_add(pl, pass ? PLAN_SC_WITH_ASR : PLAN_SC_ALONE, (enum model_role)r,
			           pass ? ri->scenario_asr : ri->scenario, kind_uses(pl, r, pass), two, pass || asr ? 2 : 1);
			if (cfg->offline)
				snprintf(s->note, sizeof s->note, "offline: no LLM is loaded");
			else if (!pass && asr)
				snprintf(s->note, sizeof s->note, "the speech model stays resident once loaded");
		}

	/* Budget policy: the LLMs stay together when they fit. */
	enum model_role all[ROLE_COUNT + 1];
	memcpy(all, llms, sizeof llms[0] * (size_t)n_llm);
	all[n_llm] = ROLE_ASR;
	s = sc_add(pl, PLAN_SC_CORESIDENT, ROLE_NONE, "co-resident", 0, all, n_llm + 1);
	int together = 0;
	if (cfg->policy == POLICY_BUDGET && n_llm >= 2) {
		together = s->bytes <= pl->budget;
		s->applies = s->counted = together;
		if (!together)
			snprintf(s->note, sizeof s->note,
			         "the models do not fit the budget together: the residency manager keeps one LLM at a time");
		else
			snprintf(s->note, sizeof s->note, "budget policy: all LLMs stay resident, no swaps");
	} else {
		snprintf(s->note, sizeof s->note, cfg->policy == POLICY_BUDGET ? "only one LLM is needed" : "budget policy only");
	}
	struct plan_scenario co = *s;
	pl->n_sc--; /* listed after the swap */

	/*
	 * Swap transition (seed scenario 4): when LLMs alternate, Ollama may briefly
	 * hold the outgoing model while the incoming one loads; the worst case is
	 * the two largest. The residency manager awaits the unload (polls /api/ps)
	 * when swap_delay is negative; then the transition never holds both and is
	 * not counted. With a fixed delay the unload is not confirmed, so both
	 * models count at once.
	 */
	enum model_role pair[3] = {ROLE_NONE, ROLE_NONE, ROLE_ASR};
	int a = -1, b = -1;
	for (int i = 0; i < n_llm; i++) {
		uint64_t t = pl->fp[llms[i]].total;
		if (a < 0 || t > pl->fp[llms[a]].total) {
			b = a;
			a = i;
		} else if (b < 0 || t > pl->fp[llms[b]].total) {
			b = i;
		}
	}
	if (b >= 0) { /* in role order: outgoing -> incoming */
		pair[0] = llms[a < b ? a : b];
		pair[1] = llms[a < b ? b : a];
	}
	s = sc_add(pl, PLAN_SC_SWAP, ROLE_NONE, "swap transition", n_llm >= 2 && !together, pair,
	           b >= 0 ? (asr ? 3 : 2) : 0);
	if (!s->applies)
		snprintf(s->note, sizeof s->note, together ? "no swaps: the LLMs stay together" : "only one LLM is used");
	else if (cfg->swap_delay_s < 0) {
		s->counted = 0;
		snprintf(s->note, sizeof s->note, "not counted: the unload is awaited (/api/ps) before the next load");
	} else {
		snprintf(s->note, sizeof s->note, "counted: a fixed %.1f s delay does not confirm the unload, both models may be resident",
		         cfg->swap_delay_s);
	}
	pl->sc[pl->n_sc++] = co;

	pl->peak = pl->working.bytes;
	pl->peak_sc = -1;
	for (size_t k = 0; k < pl->n_sc; k++)
		if (pl->sc[k].counted && (pl->peak_sc < 0 || pl->sc[k].bytes >= pl->peak)) { /* ties: the later, more specific one */
			pl->peak = pl->sc[k].bytes;
			pl->peak_sc = (int)k;
		}
	pl->fits = pl->peak <= pl->budget;
}

static void use_measured(const struct plan_params *p, plan *pl, enum model_role r);

static void add_warning(plan *pl, const char *model, const char *note)
{
	if (pl->n_warn < PLAN_MAX_WARNINGS)
		snprintf(pl->warnings[pl->n_warn++], sizeof pl->warnings[0], "%s: %s", model, note);
}

/* Everything but the suggestions. */
static void plan_core(const struct plan_params *p, const struct config *cfg, struct facts_cache *cache, plan *pl)
{
	struct plan_params pc = *p;
	pc.cfg = cfg;
	memset(pl, 0, sizeof *pl);
	pl->cfg = *cfg;
	pl->n_kinds = p->inputs.n_kinds < PLAN_MAX_KINDS ? p->inputs.n_kinds : PLAN_MAX_KINDS;
	if (pl->n_kinds)
		memcpy(pl->kinds, p->inputs.kinds, pl->n_kinds * sizeof pl->kinds[0]);
	pl->assumed = p->inputs.assumed;
	pl->fp_params = p->fp;
	pl->budget = config_budget(cfg);
	if (cfg->budget_bytes)
		snprintf(pl->budget_src, sizeof pl->budget_src, "config");
	else {
		char r[32];
		size_format(cfg->reserve_bytes, r, sizeof r);
		snprintf(pl->budget_src, sizeof pl->budget_src, "RAM minus %s reserve", r);
	}
	unsigned need = roles_needed(pl);
	int llm_used = 0;
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (r == ROLE_NONE)
			continue;
		pl->used[r] = (need & (1u << r)) && !(cfg->offline && is_llm(r)) &&
		              !(role_info((enum model_role)r)->optional && !cfg->models[r].name[0]);
		llm_used |= pl->used[r] && is_llm(r);
	}
	for (int r = 0; r < ROLE_COUNT; r++) {
		if (!pl->used[r])
			continue;
		pl->facts[r] = *facts_get(&pc, cache, (enum model_role)r, &cfg->models[r]);
		struct footprint_params fp = p->fp;
		fp.num_ctx = cfg->models[r].num_ctx;
		footprint_compute(&pl->facts[r], &fp, &pl->fp[r]);
		if (pl->facts[r].note[0])
			add_warning(pl, cfg->models[r].name, pl->facts[r].note);
		if (is_llm(r))
			use_measured(p, pl, (enum model_role)r);
	}
	pl->working.bytes = working_estimate(cfg, pl, llm_used, &pl->lanes);
	snprintf(pl->working.source, sizeof pl->working.source, "estimate:dossier");
	plan_scenarios(pl);
}

/* ------------------------------------------------------- measured loads */

/* "llava" and "llava:latest" name one model. */
static int same_name(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la == lb)
		return !strcmp(a, b);
	const char *l = la > lb ? a : b, *s = la > lb ? b : a;
	size_t ls = la > lb ? lb : la;
	return !strncmp(l, s, ls) && !strcmp(l + ls, ":latest") && !strchr(s, ':');
}

/* Measured beats predicted: role r's model planned with an earlier load of
 * the same model, engine and context, and a warning when the formula was
 * more than FOOTPRINT_TOLERANCE off. */
static void use_measured(const struct plan_params *p, plan *pl, enum model_role r)
{
	struct model_footprint *m = &pl->fp[r];
	for (size_t i = 0; p->measured && i < p->n_measured; i++) {
		const struct plan_measure *x = &p->measured[i];
		if (!x->model || !same_name(x->model, m->name) || x->num_ctx != m->num_ctx || !x->bytes ||
		    (p->engine && x->engine && strcmp(p->engine, x->engine)))
			continue;
		char src[96], a[32], b[32], note[256];
		snprintf(src, sizeof src, "%s, %d load%s", x->source ? x->source : "measured", x->loads,
		         x->loads == 1 ? "" : "s");
		footprint_use_measured(m, x->bytes, src);
		double off = footprint_error(m);
		if (off > FOOTPRINT_TOLERANCE || off < -FOOTPRINT_TOLERANCE) {
			size_format(m->predicted, a, sizeof a);
			size_format(m->measured, b, sizeof b);
			snprintf(note, sizeof note, "predicted %s but a load measured %s (%+.0f %%, more than %.0f %% off): "
			         "planning with the measurement", a, b, off * 100.0, FOOTPRINT_TOLERANCE * 100.0);
			add_warning(pl, m->name, note);
		}
		return;
	}
}

/* ------------------------------------------------------------ suggestions */

static void try_alt(const struct plan_params *p, struct facts_cache *cache, plan *pl, plan *tmp,
                    const struct config *alt, const char *change, const char *message)
{
	if (pl->n_sugg >= PLAN_MAX_SUGGESTIONS)
		return;
	plan_core(p, alt, cache, tmp);
	struct plan_suggestion *s = &pl->sugg[pl->n_sugg++];
	snprintf(s->change, sizeof s->change, "%s", change);
	snprintf(s->message, sizeof s->message, "%s", message);
	s->peak_bytes = tmp->peak;
	s->fits = tmp->fits;
}

static void plan_suggest(const struct plan_params *p, struct facts_cache *cache, plan *pl)
{
	const struct config *cfg = p->cfg;
	struct config alt;
	char change[96], msg[320];
	plan *tmp = malloc(sizeof *tmp);
	if (!tmp)
		return;

	/* 1. the dev profile's smaller models, everything else unchanged */
	if (strcmp(cfg->profile, "dev")) {
		struct config dev;
		config_defaults(&dev, "dev");
		alt = *cfg;
		memcpy(alt.models, dev.models, sizeof alt.models);
		snprintf(alt.profile, sizeof alt.profile, "dev");
		size_t l = (size_t)snprintf(msg, sizeof msg, "the dev profile (--profile dev or DEV_MODE=1:");
		for (int r = 0, n = 0; r < ROLE_COUNT && l < sizeof msg; r++)
			if (is_llm(r))
				l += (size_t)snprintf(msg + l, sizeof msg - l, "%s %s", n++ ? " and" : "", dev.models[r].name);
		if (l < sizeof msg)
			snprintf(msg + l, sizeof msg - l, ")");
		try_alt(p, cache, pl, tmp, &alt, "profile=dev", msg);
	}

	/* 2. a smaller context window: halve the largest until it fits, not below
	 * the engine's vision minimum (2048: less buys nothing for a vision model) */
	int floor_ctx = cfg->vision_min_num_ctx > 0 ? cfg->vision_min_num_ctx : 1;
	int maxctx = 0;
	for (int r = 0; r < ROLE_COUNT; r++)
		if (is_llm(r) && pl->used[r] && pl->fp[r].num_ctx > maxctx)
			maxctx = pl->fp[r].num_ctx;
	for (int c = maxctx / 2; c >= floor_ctx; c /= 2) {
		alt = *cfg;
		for (int r = 0; r < ROLE_COUNT; r++)
			if (is_llm(r) && pl->used[r] && pl->fp[r].num_ctx > c)
				alt.models[r].num_ctx = c;
		plan_core(p, &alt, cache, tmp);
		if (tmp->fits || c / 2 < floor_ctx) {
			snprintf(change, sizeof change, "num_ctx=%d", c);
			size_t l = (size_t)snprintf(msg, sizeof msg, "a context window of at most %d tokens (", c);
			for (int r = 0, n = 0; r < ROLE_COUNT && l < sizeof msg; r++)
				if (is_llm(r))
					l += (size_t)snprintf(msg + l, sizeof msg - l, "%s%s_num_ctx", n++ ? " / " : "", role_name((enum model_role)r));
			if (l < sizeof msg)
				snprintf(msg + l, sizeof msg - l, " = %d)", c);
			try_alt(p, cache, pl, tmp, &alt, change, msg);
			break;
		}
	}

	/* 3. another policy */
	for (int pol = POLICY_SEQUENTIAL; pol <= POLICY_BUDGET; pol++) {
		if (pol == (int)cfg->policy)
			continue;
		alt = *cfg;
		alt.policy = (enum policy)pol;
		plan_core(p, &alt, cache, tmp);
		if (tmp->fits) {
			snprintf(change, sizeof change, "policy=%s", policy_name(alt.policy));
			snprintf(msg, sizeof msg, "the %s policy (--policy %s)", policy_name(alt.policy), policy_name(alt.policy));
			try_alt(p, cache, pl, tmp, &alt, change, msg);
		}
	}

	/* 4. await unloads, when the swap overlap sets the peak */
	if (pl->peak_sc >= 0 && pl->sc[pl->peak_sc].type == PLAN_SC_SWAP) {
		alt = *cfg;
		alt.swap_delay_s = -1;
		try_alt(p, cache, pl, tmp, &alt, "swap_delay=-1",
		        "waiting for each unload to finish before the next load (swap_delay = -1)");
	}

	/* 5. no LLM at all */
	if (!cfg->offline) {
		alt = *cfg;
		alt.offline = 1;
		try_alt(p, cache, pl, tmp, &alt, "offline",
		        "--offline (OCR, speech recognition and extractive summaries only, no LLM)");
	}
	free(tmp);
}

int plan_build(const struct plan_params *p, plan **out, struct err *err)
{
	*out = NULL;
	if (!p || !p->cfg)
		return err_set(err, DOSSIER_EINVAL, "plan_build: no configuration given");
	if (p->inputs.n_kinds > PLAN_MAX_KINDS)
		return err_set(err, DOSSIER_EINVAL, "plan_build: %zu kinds of documents, at most %d", p->inputs.n_kinds,
		               PLAN_MAX_KINDS);
	plan *pl = malloc(sizeof *pl);
	struct facts_cache *cache = calloc(1, sizeof *cache);
	if (!pl || !cache) {
		free(pl);
		free(cache);
		return err_set(err, DOSSIER_ENOMEM, "out of memory building the memory plan");
	}
	plan_core(p, p->cfg, cache, pl);
	if (!pl->fits && p->suggest)
		plan_suggest(p, cache, pl);
	free(cache);
	*out = pl;
	return 0;
}

void plan_free(plan *pl)
{
	free(pl);
}

/* ----------------------------------------------------------------- getters */

uint64_t plan_peak_bytes(const plan *pl) { return pl->peak; }
uint64_t plan_budget_bytes(const plan *pl) { return pl->budget; }
int plan_fits(const plan *pl) { return pl->fits; }
uint64_t plan_working_bytes(const plan *pl) { return pl->working.bytes; }
size_t plan_suggestion_count(const plan *pl) { return pl->n_sugg; }

const struct plan_scenario *plan_peak_scenario(const plan *pl)
{
	return pl->peak_sc >= 0 ? &pl->sc[pl->peak_sc] : NULL;
}

size_t plan_scenario_count(const plan *pl) { return pl->n_sc; }

const struct plan_scenario *plan_scenario_at(const plan *pl, size_t i)
{
	return i < pl->n_sc ? &pl->sc[i] : NULL;
}

const struct plan_scenario *plan_scenario_find(const plan *pl, enum plan_sc_type type, enum model_role role)
{
	for (size_t i = 0; i < pl->n_sc; i++)
		if (pl->sc[i].type == type && (type >= PLAN_SC_SWAP || pl->sc[i].role == role))
			return &pl->sc[i];
	return NULL;
}

const struct model_footprint *plan_model(const plan *pl, enum model_role r)
{
	return (unsigned)r < ROLE_COUNT && r != ROLE_NONE && pl->used[r] ? &pl->fp[r] : NULL;
}

const struct plan_suggestion *plan_suggestion_at(const plan *pl, size_t i)
{
	return i < pl->n_sugg ? &pl->sugg[i] : NULL;
}

/* -------------------------------------------------------------------- JSON */

static json_t *item_json(const struct fp_item *it)
{
	return json_pack("{s:I,s:s}", "bytes", (json_int_t)it->bytes, "source", it->source);
}

static json_t *model_json(const plan *pl, enum model_role r)
{
	const struct model_footprint *m = &pl->fp[r];
	const struct model_facts *f = &pl->facts[r];
	json_t *o = json_pack("{s:s,s:s,s:o,s:I}", "role", role_name(r), "name", m->name, "weights", item_json(&m->weights),
	                      "total_bytes", (json_int_t)m->total);
	if (!o)
		return NULL;
	if (r != ROLE_ASR) {
		json_object_set_new(o, "num_ctx", json_integer(m->num_ctx));
		json_object_set_new(o, "num_ctx_source", json_string(m->num_ctx_src));
		json_object_set_new(o, "kv_bytes_per_token", json_integer((json_int_t)m->kv_bytes_per_token));
		json_object_set_new(o, "projector", item_json(&m->projector));
		json_object_set_new(o, "kv_cache", item_json(&m->kv));
		json_object_set_new(o, "compute", item_json(&m->compute));
		json_object_set_new(o, "vision", json_boolean(f->is_vision));
		json_object_set_new(o, "predicted_bytes", json_integer((json_int_t)m->predicted));
		if (m->measured)
			json_object_set_new(o, "measured", json_pack("{s:I,s:s,s:s,s:f}", "bytes", (json_int_t)m->measured,
			                                             "source", "measured", "how", m->measured_src, "error",
			                                             footprint_error(m)));
		if (f->has_shape)
			json_object_set_new(o, "architecture",
			                    json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:s}", "name", f->arch, "layers",
			                              (int)f->n_layers, "heads", (int)f->head_count, "kv_heads_layer0",
			                              (int)f->head_count_kv[0], "embedding_length", (int)f->embedding_length,
			                              "head_dim", (int)f->key_length, "vocab_size", (int)f->vocab_size,
			                              "context_length", (json_int_t)f->context_length, "source", f->shape_src));
	}
	if (f->note[0])
		json_object_set_new(o, "note", json_string(f->note));
	return o;
}

json_t *plan_to_json(const plan *pl)
{
	json_t *o = json_object(), *inputs = json_object(), *models = json_array(), *scs = json_array(),
	       *sugg = json_array(), *warn = json_array();
	if (!o || !inputs || !models || !scs || !sugg || !warn)
		goto oom;
	json_object_set_new(o, "profile", json_string(pl->cfg.profile));
	json_object_set_new(o, "policy", json_string(policy_name(pl->cfg.policy)));
	json_object_set_new(o, "budget_bytes", json_integer((json_int_t)pl->budget));
	json_object_set_new(o, "budget_source", json_string(pl->budget_src));
	json_object_set_new(o, "kv_cache_type", json_string(kv_cache_type_name(pl->fp_params.kv_type)));
	json_object_set_new(o, "num_parallel", json_integer(pl->fp_params.num_parallel > 0 ? pl->fp_params.num_parallel : 1));
	json_object_set_new(inputs, "assumed", json_boolean(pl->assumed));
	for (size_t k = 0; k < pl->n_kinds; k++)
		json_object_set_new(inputs, pl->kinds[k].name, json_integer((json_int_t)pl->kinds[k].count));
	json_object_set_new(o, "inputs", inputs);
	json_t *kids = json_object();
	for (size_t k = 0; k < pl->n_kinds && kids; k++)
		if (pl->kinds[k].children)
			json_object_set_new(kids, pl->kinds[k].name,
			                    json_pack("{s:I,s:s}", "count", (json_int_t)pl->kinds[k].children, "source",
			                              pl->kinds[k].children_src ? pl->kinds[k].children_src : "scanned"));
	json_object_set_new(o, "children", kids ? kids : json_object());
	for (int r = 0; r < ROLE_COUNT; r++)
		if (pl->used[r])
			json_array_append_new(models, model_json(pl, (enum model_role)r));
	json_object_set_new(o, "models", models);
	json_object_set_new(o, "working", json_pack("{s:I,s:s,s:i}", "bytes", (json_int_t)pl->working.bytes, "source",
	                                            pl->working.source, "cpu_lanes", pl->lanes));
	for (size_t k = 0; k < pl->n_sc; k++) {
		const struct plan_scenario *s = &pl->sc[k];
		json_t *names = json_array();
		for (int i = 0; i < s->n_models; i++)
			json_array_append_new(names, json_string(pl->fp[s->roles[i]].name));
		json_array_append_new(scs, json_pack("{s:s,s:b,s:b,s:o,s:I,s:I,s:I,s:s}", "name", s->name, "applies", s->applies,
		                                     "counted", s->counted, "models", names, "model_bytes",
		                                     (json_int_t)s->model_bytes, "working_bytes", (json_int_t)s->working_bytes,
		                                     "bytes", (json_int_t)s->bytes, "note", s->note));
	}
	json_object_set_new(o, "scenarios", scs);
	json_object_set_new(o, "peak", json_pack("{s:I,s:s?}", "bytes", (json_int_t)pl->peak, "scenario",
	                                         pl->peak_sc >= 0 ? pl->sc[pl->peak_sc].name : NULL));
	json_object_set_new(o, "fits", json_boolean(pl->fits));
	for (size_t i = 0; i < pl->n_sugg; i++)
		json_array_append_new(sugg, json_pack("{s:s,s:s,s:I,s:b}", "change", pl->sugg[i].change, "message",
		                                      pl->sugg[i].message, "peak_bytes", (json_int_t)pl->sugg[i].peak_bytes,
		                                      "fits", pl->sugg[i].fits));
	json_object_set_new(o, "suggestions", sugg);
	for (size_t i = 0; i < pl->n_warn; i++)
		json_array_append_new(warn, json_string(pl->warnings[i]));
	json_object_set_new(o, "warnings", warn);
	return o;
oom:
	json_decref(o);
	json_decref(inputs);
	json_decref(models);
	json_decref(scs);
	json_decref(sugg);
	json_decref(warn);
	return NULL;
}

/* -------------------------------------------------------------------- text */

static const char *sz(uint64_t b, char buf[32])
{
	size_format(b, buf, 32);
	return buf;
}

static int render_models(const plan *pl, struct buf *out)
{
	char a[32], b[32], c[32], d[32], e[32];
	int rc = buf_appends(out, "models:\n");
	for (int r = 0; r < ROLE_COUNT && !rc; r++) {
		const struct model_footprint *m = &pl->fp[r];
		if (!pl->used[r] || !is_llm(r))
			continue;
		rc = buf_appendf(out, "  %-7s %-20s %8s = weights %s (%s)", role_name((enum model_role)r), m->name,
		                 sz(m->total, a), sz(m->weights.bytes, b), m->weights.source);
		if (!rc && m->projector.bytes)
			rc = buf_appendf(out, " + projector %s (%s)", sz(m->projector.bytes, e), m->projector.source);
		if (!rc)
			rc = buf_appendf(out, " + KV %s (%d ctx, %s%s%s) + compute %s (%s)\n", sz(m->kv.bytes, c), m->num_ctx,
			                 kv_cache_type_name(pl->fp_params.kv_type),
			                 strcmp(m->kv.source, m->weights.source) ? ", " : "",
			                 strcmp(m->kv.source, m->weights.source) ? m->kv.source : "", sz(m->compute.bytes, d),
			                 m->compute.source);
		if (!rc && m->measured)
			rc = buf_appendf(out, "  %-28s %8s measured (%s); predicted %s (%+.0f %%)\n", "", sz(m->measured, a),
			                 m->measured_src, sz(m->predicted, b), footprint_error(m) * 100.0);
	}
	if (!rc && pl->used[ROLE_ASR])
		rc = buf_appendf(out, "  %-7s %-20s %8s (%s)\n", "asr", pl->fp[ROLE_ASR].name, sz(pl->fp[ROLE_ASR].total, a),
		                 pl->fp[ROLE_ASR].weights.source);
	if (!rc)
		rc = buf_appendf(out, "  %-28s %8s (%s, %d cpu lanes)\n", "dossier working memory", sz(pl->working.bytes, a),
		                 pl->working.source, pl->lanes);
	return rc;
}

int plan_render_text(const plan *pl, struct buf *out)
{
	char a[32], b[32];
	int rc = buf_appendf(out, "plan: profile %s, policy %s, budget %s (%s)\n", pl->cfg.profile,
	                     policy_name(pl->cfg.policy), sz(pl->budget, a), pl->budget_src);
	if (!rc && pl->assumed)
		rc = buf_appends(out, "documents: none named, planning for every kind\n");
	else if (!rc) {
		rc = buf_appends(out, "documents:");
		for (size_t k = 0; k < pl->n_kinds && !rc; k++)
			rc = buf_appendf(out, "%s %llu %s", k ? "," : "", (unsigned long long)pl->kinds[k].count, pl->kinds[k].name);
		if (!rc)
			rc = buf_appendc(out, '\n');
		int any = 0;
		for (size_t k = 0; k < pl->n_kinds && !rc; k++)
			if (pl->kinds[k].children) {
				rc = buf_appendf(out, "%s %llu %s (%s)", any ? "," : "inside them:", (unsigned long long)pl->kinds[k].children,
				                 pl->kinds[k].name, pl->kinds[k].children_src ? pl->kinds[k].children_src : "scanned");
				any = 1;
			}
		if (!rc && any)
			rc = buf_appendc(out, '\n');
	}
	if (!rc)
		rc = render_models(pl, out);
	if (!rc)
		rc = buf_appends(out, "scenarios:\n");
	for (size_t k = 0; k < pl->n_sc && !rc; k++) {
		const struct plan_scenario *s = &pl->sc[k];
		char names[400] = "";
		size_t l = 0;
		if (s->type == PLAN_SC_CORESIDENT && pl->cfg.policy != POLICY_BUDGET)
			continue;
		for (int i = 0; i < s->n_models && l < sizeof names; i++)
			l += (size_t)snprintf(names + l, sizeof names - l, "%s%s",
			                      i ? (s->type == PLAN_SC_SWAP && i == 1 ? " -> " : " + ") : "", pl->fp[s->roles[i]].name);
		if (!s->n_models)
			snprintf(names, sizeof names, "(no model)");
		if (!s->applies) {
			rc = buf_appendf(out, "  %-20s %-44s %8s  (%s)\n", s->name, "", "-",
			                 s->type >= PLAN_SC_SWAP && s->note[0] ? s->note : "no such documents");
			continue;
		}
		rc = buf_appendf(out, "  %-20s %-44s %8s%s", s->name, names, sz(s->bytes, a),
		                 (int)k == pl->peak_sc ? "  <- peak" : "");
		if (!rc && s->note[0])
			rc = buf_appendf(out, "  [%s]", s->note);
		if (!rc)
			rc = buf_appendc(out, '\n');
	}
	for (size_t i = 0; i < pl->n_warn && !rc; i++)
		rc = buf_appendf(out, "note: %s\n", pl->warnings[i]);
	if (rc)
		return rc;
	const char *pname = pl->peak_sc >= 0 ? pl->sc[pl->peak_sc].name : "working memory only";
	if (pl->fits)
		return buf_appendf(out, "peak: %.1f GB (%s) within budget %s: fits\n", (double)pl->peak / 1e9, pname,
		                   sz(pl->budget, a));
	rc = buf_appendf(out, "peak: %.1f GB (%s) exceeds budget %s by %s: does not fit\n", (double)pl->peak / 1e9, pname,
	                 sz(pl->budget, a), sz(pl->peak - pl->budget, b));
	int any = 0;
	for (size_t i = 0; i < pl->n_sugg && !rc; i++)
		if (pl->sugg[i].fits) {
			rc = buf_appendf(out, "%s  - %s: peak %.1f GB\n", any ? "" : "what would fit:\n", pl->sugg[i].message,
			                 (double)pl->sugg[i].peak_bytes / 1e9);
			any = 1;
		}
	for (size_t i = 0; i < pl->n_sugg && !rc; i++)
		if (!pl->sugg[i].fits)
			rc = buf_appendf(out, "not enough: %s: peak %.1f GB\n", pl->sugg[i].message,
			                 (double)pl->sugg[i].peak_bytes / 1e9);
	if (!rc && !any)
		rc = buf_appends(out, "nothing tried fits: free memory or raise --budget\n");
	return rc;
}
