/*
 * llm_setup.c — the LLM side of a run: connect to Ollama, check the models,
 * make the residency manager, report loads and swaps afterwards.
 */
#include "cli/llm_setup.h"
#include "backends/llm.h"
#include "backends/ollama.h"
#include "core/err.h"
#include "core/util.h"
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

int llm_setup_check_plan(const struct config *cfg, struct llm_setup *l, char *const *paths, int n,
                         struct err *err)
{
	(void)cfg;
	(void)l;
	(void)paths;
	(void)n;
	(void)err;
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
	char peak[32];
	size_format(st.max_resident_bytes, peak, sizeof peak);
	fprintf(out, "models: %d load(s), %d unload(s), %d swap(s), %.1f s loading; peak %s in %d model(s)\n",
	        st.loads, st.unloads, st.swaps, st.load_s, peak, st.max_resident_models);
}

void llm_setup_close(struct llm_setup *l)
{
	residency_free(l->res);
	l->res = NULL;
	llm_backend_free(l->backend);
	l->backend = NULL;
}
