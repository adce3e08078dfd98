/*
 * llm_setup.c — the LLM side of a run: connect to Ollama, check the models,
 * make the residency manager, report loads and swaps afterwards.
 */
#include "cli/llm_setup.h"
#include "backends/llm.h"
#include "backends/ollama.h"
#include "core/err.h"
#include "core/util.h"
#include "plan/planner.h"
#include "sched/residency.h"

#include <string.h>

int llm_setup_open(const struct config *cfg, bus *b, struct llm_setup *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	struct err e = {0};
	if (ollama_global_init() != 0)
		return err_set(err, DOSSIER_EUNAVAILABLE, "cannot initialise libcurl");
	if (ollama_backend_new(cfg, &out->backend, &e)) {
		out->unavailable = 1;
		snprintf(out->unavailable_msg, sizeof out->unavailable_msg, "%s", e.msg);
		return 0;
	}
	char version[64] = "";
	if (out->backend->ops->ping(out->backend->ctx, version, sizeof version, &e)) {
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
	         json_pack("{s:s,s:s,s:s,s:b,s:s,s:s}", "engine", out->backend->ops->name, "url", out->backend->url,
	                   "version", version, "reachable", !out->unavailable, "policy", policy_name(cfg->policy),
	                   "profile", cfg->profile));
	return 0;
}

/* The planner's hook for model facts when Ollama's store is not readable
 * here (Ollama on another host): what /api/show says. */
int llm_setup_facts(void *user, enum model_role role, const char *model, struct model_facts *out,
                              struct err *err)
{
	struct llm_setup *l = user;
	struct llm_model_info info;
	if (!l->backend || l->unavailable)
		return DOSSIER_EUNAVAILABLE;
	int rc = l->backend->ops->show(l->backend->ctx, model, &info, err);
	if (rc)
		return rc;
	memset(out, 0, sizeof *out);
	out->role = role;
	snprintf(out->name, sizeof out->name, "%s", model);
	snprintf(out->arch, sizeof out->arch, "%s", info.family);
	out->weights_bytes = info.size_bytes;
	snprintf(out->weights_src, sizeof out->weights_src, "api/show");
	out->is_vision = info.vision;
	if (info.block_count > 0 && info.block_count <= MODEL_MAX_LAYERS && info.head_count > 0) {
		out->has_shape = 1;
		snprintf(out->shape_src, sizeof out->shape_src, "api/show");
		out->n_layers = (uint32_t)info.block_count;
		out->head_count = (uint32_t)info.head_count;
		for (int i = 0; i < info.block_count; i++)
			out->head_count_kv[i] = (uint32_t)(info.head_count_kv > 0 ? info.head_count_kv : info.head_count);
		out->embedding_length = (uint32_t)info.embedding_length;
		out->key_length = out->value_length = (uint32_t)(info.embedding_length / info.head_count);
		out->context_length = (uint64_t)info.context_length;
	}
	return out->weights_bytes ? 0 : DOSSIER_EFORMAT;
}

int llm_setup_check_plan(const struct config *cfg, struct llm_setup *l, const uint64_t counts[5],
                         int force, struct err *err)
{
	struct plan_params pp;
	plan_params_default(&pp, cfg);
	pp.inputs.assumed = 0;
	uint64_t total = 0;
	for (int k = 0; k < PLAN_DOC_KIND_COUNT && k < 5; k++) {
		pp.inputs.count[k] = counts[k];
		total += counts[k];
	}
	if (!total)
		return 0;
	pp.api_facts = llm_setup_facts;
	pp.api_user = l;
	plan *pl = NULL;
	int rc = plan_build(&pp, &pl, err);
	if (rc)
		return rc;
	l->planned_peak = plan_peak_bytes(pl);
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
