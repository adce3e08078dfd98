/*
 * llm_setup.c — the LLM side of a run: connect to Ollama, check the models,
 * make the residency manager, report loads and swaps afterwards.
 */
#include "cli/llm_setup.h"
#include "cli/cli.h"
#include "backends/engines.h"
#include "backends/http.h"
#include "backends/llm.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/kinds.h"
#include "plan/planner.h"
#include "sched/residency.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int llm_setup_open(struct config *cfg, bus *b, struct llm_setup *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	struct err e = {0};
	if (http_global_init() != 0)
		return err_set(err, DOSSIER_EUNAVAILABLE, "cannot initialise libcurl");
	if (llm_backend_from_config(cfg, &out->backend, &e)) {
		out->unavailable = 1;
		snprintf(out->unavailable_msg, sizeof out->unavailable_msg, "%s", e.msg);
		return 0;
	}
	char version[64] = "";
	if (llm_backend_check(&out->backend, cfg, version, sizeof version, &e)) {
		out->unavailable = 1;
		snprintf(out->unavailable_msg, sizeof out->unavailable_msg, "%s", e.msg);
		/* keep the backend: the model lane reports the same to each step */
	}
	if (!b)
		return 0; /* planning only: no residency manager */
	if (residency_new(cfg, out->backend, b, &out->res, err)) {
		llm_backend_free(out->backend);
		out->backend = NULL;
		return err->code;
	}
	bus_emit(b, "llm_backend", 0,
	         json_pack("{s:s,s:s,s:s,s:b,s:s,s:s}", "engine", llm_backend_name(out->backend), "url", llm_backend_url(out->backend),
	                   "version", version, "reachable", !out->unavailable, "policy", policy_name(cfg->policy),
	                   "profile", cfg->profile));
	return 0;
}

/* The planner's hook for model facts when Ollama's store is not readable
 * here (Ollama on another host): the engine's description of the model,
 * read by plan/facts.c (the one conversion). */
int llm_setup_facts(void *user, enum model_role role, const char *model, struct model_facts *out,
                    struct err *err)
{
	struct llm_setup *l = user;
	if (!l->backend || l->unavailable)
		return DOSSIER_EUNAVAILABLE;
	json_t *show = NULL;
	int rc = llm_describe(l->backend, model, &show, err);
	if (rc)
		return rc;
	rc = model_facts_from_api(model, role, show, NULL, out, err);
	json_decref(show);
	return rc;
}

size_t llm_setup_kinds(struct plan_kind_use *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < kind_count() && n < max; i++) {
		const struct kind_def *k = kind_at(i);
		out[n++] = (struct plan_kind_use){.name = k->name, .role_mask = kind_role_mask(k),
		                                  .lane_bytes = k->lane_bytes};
	}
	return n;
}

struct plan_kind_use *llm_setup_kind(struct plan_kind_use *kinds, size_t n, const char *kind)
{
	for (size_t i = 0; kind && i < n; i++)
		if (!strcmp(kinds[i].name, kind))
			return &kinds[i];
	return NULL;
}

/* ------------------------------------------------------- measured loads */

static int take_measure(const struct store_measure *m, void *user)
{
	struct llm_measured *ms = user;
	struct store_measure *nr = realloc(ms->rows, (ms->n + 1) * sizeof *nr);
	if (!nr)
		return 1;
	ms->rows = nr;
	ms->rows[ms->n++] = *m;
	return 0;
}

void llm_measured_load(const char *db_path, struct llm_measured *ms)
{
	struct stat st;
	store *s;
	struct err e = {0};
	memset(ms, 0, sizeof *ms);
	if (!db_path || !*db_path || (!store_is_server(db_path) && stat(db_path, &st)) || store_open(db_path, &s, &e))
		return;
	store_measures_each(s, NULL, take_measure, ms, &e);
	store_close(s);
	if (!ms->n || !(ms->plan = calloc(ms->n, sizeof *ms->plan))) {
		ms->n = 0;
		return;
	}
	for (size_t i = 0; i < ms->n; i++)
		ms->plan[i] = (struct plan_measure){.engine = ms->rows[i].engine, .model = ms->rows[i].model,
		                                    .num_ctx = ms->rows[i].num_ctx, .bytes = ms->rows[i].resident_bytes,
		                                    .source = ms->rows[i].source, .loads = ms->rows[i].loads};
}

void llm_measured_free(struct llm_measured *ms)
{
	free(ms->rows);
	free(ms->plan);
	memset(ms, 0, sizeof *ms);
}

int llm_setup_check_plan(const struct config *cfg, struct llm_setup *l, const struct plan_kind_use *kinds,
                         size_t n_kinds, int force, struct err *err)
{
	struct plan_params pp;
	plan_params_default(&pp, cfg);
	pp.inputs = (struct plan_inputs){.kinds = kinds, .n_kinds = n_kinds, .assumed = 0};
	uint64_t total = 0;
	for (size_t k = 0; k < n_kinds; k++)
		total += kinds[k].count;
	if (!total)
		return 0;
	pp.api_facts = llm_setup_facts;
	pp.api_user = l;
	/* measured beats predicted: earlier loads of the same model, engine and context */
	struct llm_measured ms;
	llm_measured_load(cfg->db_path, &ms);
	pp.measured = ms.plan;
	pp.n_measured = ms.n;
	pp.engine = l->backend ? llm_backend_name(l->backend) : NULL;
	plan *pl = NULL;
	int rc = plan_build(&pp, &pl, err);
	llm_measured_free(&ms);
	if (rc)
		return rc;
	l->planned_peak = plan_peak_bytes(pl);
	/* the residency manager decides with the very numbers the plan approved */
	for (int r = 0; r < ROLE_COUNT && l->res; r++) {
		const struct model_footprint *m = plan_model(pl, (enum model_role)r);
		if (m && role_info((enum model_role)r)->is_llm)
			residency_plan(l->res, (enum model_role)r, m->total);
	}
	l->budget = plan_budget_bytes(pl);
	if (!plan_fits(pl)) {
		char peak[32], budget[32];
		size_format(l->planned_peak, peak, sizeof peak);
		size_format(l->budget, budget, sizeof budget);
		const struct plan_suggestion *sg = plan_suggestion_count(pl) ? plan_suggestion_at(pl, 0) : NULL;
		err_set(err, DOSSIER_ENOSPACE,
		        "the planned peak memory %s exceeds the budget %s (see 'dossier plan').%s%s%s",
		        peak, budget, sg ? " " : "", sg ? sg->message : "",
		        force ? "" : " Run with --force to try anyway; the documents stay queued.");
		rc = force ? 0 : DOSSIER_ENOSPACE;
	}
	plan_free(pl);
	return rc;
}

int llm_setup_check_plan_any(const struct config *cfg, struct llm_setup *l, int force, struct err *err)
{
	if (cfg->offline || !l->backend || l->unavailable)
		return 0;
	struct plan_kind_use k[PLAN_MAX_KINDS];
	size_t n = llm_setup_kinds(k, PLAN_MAX_KINDS);
	for (size_t i = 0; i < n; i++)
		k[i].count = 1;
	return llm_setup_check_plan(cfg, l, k, n, force, err);
}

int llm_setup_start(struct config *cfg, bus *b, struct llm_setup *out)
{
	struct err e = {0};
	memset(out, 0, sizeof *out);
	if (!cfg->offline && llm_setup_open(cfg, b, out, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		return EXIT_ENV;
	}
	llm_setup_embed(cfg, out, b, NULL);
	return 0;
}

int llm_setup_embed(struct config *cfg, struct llm_setup *l, bus *b, FILE *out)
{
	char *name = cfg->models[ROLE_EMBED].name;
	if (cfg->offline || !name[0])
		return 0;
	if (!l->backend || l->unavailable)
		return 1; /* the engine is down: the embed steps wait with the others */
	struct llm_model_info info;
	struct err e = {0};
	int rc = llm_show(l->backend, name, &info, &e);
	char why[ERR_MSG_MAX + 64] = "";
	if (rc == DOSSIER_EMODEL)
		snprintf(why, sizeof why, "%s", e.msg);
	else if (!rc && !info.embedding && info.completion && !strcmp(llm_backend_name(l->backend), "ollama"))
		snprintf(why, sizeof why, "'%s' is not an embedding model (no \"embedding\" capability): set embed_model to one, "
		         "e.g. nomic-embed-text", name);
	if (!why[0] && !rc && strcmp(llm_backend_name(l->backend), "ollama")) {
		/* an OpenAI-compatible server lists no capabilities (a plain server answers
		 * to any name for its one model): one short text says whether it embeds */
		const char *probe[1] = {"dossier"};
		struct llm_embed_request rq = {.model = name, .texts = probe, .n_texts = 1,
		                               .keep_alive_s = LLM_KEEP_ALIVE_UNSET};
		float *v = NULL;
		int d = 0;
		struct err pe = {0};
		if (llm_embed(l->backend, &rq, &v, &d, NULL, &pe))
			snprintf(why, sizeof why, "the server at %s does not embed with '%s' (%s)", llm_backend_url(l->backend),
			         name, pe.msg);
		free(v);
	}
	if (!why[0])
		return 1;
	if (b)
		bus_emit(b, "embed_unavailable", 0, json_pack("{s:s,s:s}", "model", name, "reason", why));
	if (out)
		fprintf(out, "dossier: no embedding model, search stays full-text: %s\n", why);
	name[0] = '\0';
	return 0;
}

int llm_setup_finish(struct llm_setup *l, struct err *err)
{
	if (!l->res || l->unavailable)
		return 0;
	return residency_finish(l->res, err);
}

void llm_setup_report(struct llm_setup *l, FILE *out)
{
	if (!l->res)
		return;
	struct residency_stats st;
	residency_stats(l->res, &st);
	if (!st.loads && !st.unloads)
		return;
	char peak[32], planned[32];
	size_format(st.max_resident_bytes, peak, sizeof peak);
	fprintf(out, "models: %d load(s), %d unload(s), %d swap(s), %.1f s loading; resident at most %s in %d model(s)",
	        st.loads, st.unloads, st.swaps, st.load_s, peak, st.max_resident_models);
	if (l->planned_peak) {
		/* the LLM part of the plan is what /api/ps can confirm */
		size_format(l->planned_peak, planned, sizeof planned);
		fprintf(out, " (planned peak %s, with dossier's own memory)", planned);
	}
	fputc('\n', out);
}

void llm_setup_close(struct llm_setup *l)
{
	residency_free(l->res);
	l->res = NULL;
	llm_backend_free(l->backend);
	l->backend = NULL;
}
