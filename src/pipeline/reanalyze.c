/*
 * reanalyze.c — provenance of model steps and re-queueing the ones due again.
 */
#include "pipeline/reanalyze.h"
#include "backends/llm.h"
#include "backends/llm_tasks.h"
#include "core/err.h"
#include "core/role.h"
#include "core/util.h"

#include <string.h>

int reanalyze_mode_parse(const char *s, enum reanalyze_mode *out)
{
	static const char *const names[] = {"none", "changed", "all", "full"};
	for (int i = 0; s && i < 4; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum reanalyze_mode)i;
			return 0;
		}
	return DOSSIER_EINVAL;
}

void reanalyze_now(const struct config *cfg, const struct llm_backend *llm, int offline, struct made_by_now *out)
{
	memset(out, 0, sizeof *out);
	out->offline = offline || !llm;
	out->engine = out->offline ? NULL : llm_backend_name(llm);
	for (int r = 0; r < ROLE_COUNT; r++)
		if (role_info((enum model_role)r)->is_llm)
			out->model[r] = cfg->models[r].name;
}

/* Whether a result without "made_by" (made before it was recorded) came from
 * the offline analysers: it says so, or every field it names is "offline:...". */
static int made_offline(json_t *r)
{
	const char *engine = json_string_value(json_object_get(r, "engine"));
	if ((engine && !strcmp(engine, "offline")) || json_object_get(r, "fallback_reason"))
		return 1;
	json_t *src = json_object_get(r, "sources");
	if (!json_is_object(src) || !json_object_size(src))
		return 0;
	const char *k;
	json_t *v;
	json_object_foreach(src, k, v) {
		const char *s = json_string_value(v);
		if (!s || strncmp(s, "offline:", 8))
			return 0;
	}
	return 1;
}

void reanalyze_stamp(json_t *result, enum model_role role, const struct made_by_now *now)
{
	if (!json_is_object(result) || !role_info(role)->is_llm)
		return;
	json_t *m;
	if (now->offline || made_offline(result) || !now->engine)
		m = json_pack("{s:s,s:i}", "engine", "offline", "prompt", LLM_PROMPT_VERSION);
	else
		m = json_pack("{s:s,s:s,s:i}", "engine", now->engine, "model", now->model[role] ? now->model[role] : "",
		              "prompt", LLM_PROMPT_VERSION);
	json_object_set_new(result, "made_by", m);
}

int reanalyze_step_due(const struct step_rec *s, const struct made_by_now *now, enum reanalyze_mode mode)
{
	if (mode == REANALYZE_NONE)
		return 0;
	if (role_info(s->role)->optional && (!now->model[s->role] || !now->model[s->role][0]))
		return 0;  /* no model for it this run (embed without an embedding model): nothing would change */
	if (mode == REANALYZE_FULL)
		return 1;
	if (!role_info(s->role)->is_llm)
		return 0;
	if (mode == REANALYZE_ALL)
		return 1;
	/* changed: only when a model would be asked now */
	if (now->offline || !now->engine)
		return 0;
	if (s->state != STEP_DONE)
		return 0;  /* failed or skipped steps are ingest's retries, not re-analysis */
	json_t *r = s->result ? json_loads(s->result, 0, NULL) : NULL;
	if (!r)
		return 0;
	int due;
	json_t *m = json_object_get(r, "made_by");
	if (!json_is_object(m)) {
		due = made_offline(r);  /* before provenance was kept: only what is known to be offline */
	} else {
		const char *engine = json_string_value(json_object_get(m, "engine"));
		const char *model = json_string_value(json_object_get(m, "model"));
		json_int_t prompt = json_integer_value(json_object_get(m, "prompt"));
		const char *want = now->model[s->role];
		due = !engine || !strcmp(engine, "offline") || strcmp(engine, now->engine) ||
		      (want && (!model || !llm_model_name_eq(model, want))) || prompt != LLM_PROMPT_VERSION;
	}
	json_decref(r);
	return due;
}

static const char *mode_reason(enum reanalyze_mode mode)
{
	switch (mode) {
	case REANALYZE_CHANGED: return "changed";
	case REANALYZE_ALL: return "all";
	case REANALYZE_FULL: return "full";
	default: return "none";
	}
}

int reanalyze_document(store *st, bus *b, int64_t id, const struct made_by_now *now, enum reanalyze_mode mode,
                       int *n_steps, struct err *err)
{
	if (n_steps)
		*n_steps = 0;
	if (mode == REANALYZE_NONE)
		return 0;
	struct doc_rec doc;
	int rc = store_doc_get(st, id, &doc, err);
	if (rc)
		return rc;
	struct step_rec *steps = NULL;
	size_t n = 0;
	if ((rc = store_doc_steps(st, id, &steps, &n, err))) {
		doc_rec_clear(&doc);
		return rc;
	}
	uint64_t mask = 0;
	int settled = 1;
	for (size_t i = 0; i < n; i++) {
		if (steps[i].state == STEP_QUEUED || steps[i].state == STEP_RUNNING)
			settled = 0;
		if (steps[i].idx >= 0 && steps[i].idx < 64 && reanalyze_step_due(&steps[i], now, mode))
			mask |= 1ull << steps[i].idx;
	}
	/* and everything that depends on a step queued again, transitively */
	for (int grew = mask != 0; grew;) {
		grew = 0;
		for (size_t i = 0; i < n; i++) {
			uint64_t bit = steps[i].idx >= 0 && steps[i].idx < 64 ? 1ull << steps[i].idx : 0;
			int idle = role_info(steps[i].role)->optional &&
			           (!now->model[steps[i].role] || !now->model[steps[i].role][0]); /* no model: it would do nothing */
			if (bit && !(mask & bit) && (steps[i].deps & mask) && !idle) {
				mask |= bit;
				grew = 1;
			}
		}
	}
	int queued = 0;
	if (mask && settled) {
		json_t *names = json_array();
		for (size_t i = 0; i < n; i++)
			if (steps[i].idx >= 0 && steps[i].idx < 64 && (mask >> steps[i].idx) & 1)
				json_array_append_new(names, json_string(steps[i].kind));
		struct event *ev = NULL;
		bus_event_new(b, "document_reanalyze", id,
		              json_pack("{s:o,s:o,s:s}", "path", json_string_lossy(doc.path), "steps", names, "reason",
		                        mode_reason(mode)),
		              &ev);
		struct store_event se = ev ? store_event_of(ev) : (struct store_event){0};
		rc = store_steps_requeue(st, id, mask, ev ? &se : NULL, ev ? 1 : 0, &queued, err);
		if (rc == 0 && queued)
			bus_event_publish(b, ev);
		else
			bus_event_cancel(b, ev);
	}
	if (n_steps)
		*n_steps = queued;
	step_recs_free(steps, n);
	doc_rec_clear(&doc);
	return rc;
}
