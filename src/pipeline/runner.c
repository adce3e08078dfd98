/*
 * runner.c — the pipeline as the scheduler's runner (see runner.h).
 */
#include "pipeline/runner.h"
#include "pipeline/reanalyze.h"
#include "backends/asr.h"
#include "backends/ocr.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/kinds.h"
#include "pipeline/pipeline.h"
#include "pipeline/steps_internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pipeline_runner {
	struct pipeline_runner_params p;
	char data_dir[4096];           /* config_data_dir: frames and OCR checkpoints live under it */
};

int pipeline_runner_new(const struct pipeline_runner_params *p, pipeline_runner **out, struct err *err)
{
	(void)err;
	pipeline_runner *r = xcalloc(1, sizeof *r);
	r->p = *p;
	config_data_dir(p->cfg, r->data_dir, sizeof r->data_dir);
	*out = r;
	return 0;
}

void pipeline_runner_free(pipeline_runner *r)
{
	free(r);
}

/* ------------------------------------------------------------- lanes */

static int lane_new(void *user, const char *lane_name, unsigned role_mask, void **lane_ctx, struct err *err)
{
	(void)lane_name;
	(void)role_mask;
	(void)err;
	pipeline_runner *r = user;
	struct step_env *env = xcalloc(1, sizeof *env);
	env->cfg = r->p.cfg;
	env->bus = r->p.bus;
	env->llm = r->p.llm;
	env->res = r->p.res;
	env->data_dir = r->data_dir;
	env->cancel = r->p.cancel;
	env->offline_models = r->p.offline_models;
	*lane_ctx = env;
	return 0;
}

/* The lane's engines (OCR, speech) were created lazily by its steps. */
static void lane_free(void *user, void *lane_ctx)
{
	(void)user;
	struct step_env *env = lane_ctx;
	if (!env)
		return;
	ocr_backend_free(env->ocr);
	asr_backend_free(env->asr);
	classifier_free(env->cls);
	free(env);
}

/*
 * A library on a database server keeps the documents' bytes (store/contents.c):
 * a file this machine cannot read (it was queued on another machine) is
 * fetched for the step into <data_dir>/fetched/<sha256><ext>, which the step
 * reads in its place and which is removed after it. *fetched gets that path,
 * "" when the file was readable here or the database keeps no bytes of it.
 */
static int fetch_if_remote(struct step_env *env, store *st, struct doc_rec *doc, char *fetched, size_t n,
                           struct err *err)
{
	fetched[0] = '\0';
	if (!store_is_server(store_location(st)) || !doc->sha256[0] || access(doc->path, R_OK) == 0)
		return 0;
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/fetched", env->data_dir ? env->data_dir : ".");
	int rc = mkdir_p(dir, err);
	if (rc)
		return rc;
	const char *base = strrchr(doc->path, '/'), *dot = strrchr(base ? base : doc->path, '.');
	char ext[16] = "";
	if (dot && strlen(dot) < sizeof ext) {
		snprintf(ext, sizeof ext, "%s", dot);
		for (char *p = ext + 1; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
				*p = '_';
	}
	snprintf(fetched, n, "%s/%s%s", dir, doc->sha256, ext);
	rc = store_content_fetch(st, doc->sha256, fetched, err);
	if (rc == DOSSIER_ENOTFOUND) {
		fetched[0] = '\0';
		return 0;  /* the step reports the unreadable path itself */
	}
	if (rc) {
		err_prefix(err, "%s: ", doc->path);
		fetched[0] = '\0';
		return rc;
	}
	free(doc->path);
	doc->path = xstrdup(fetched);
	return 0;
}

static int run_step(void *lane_ctx, store *st, const struct step_rec *step, char **result_json, struct err *err)
{
	struct step_env *env = lane_ctx;
	struct doc_rec doc;
	struct step_rec *steps = NULL;
	size_t n = 0;
	json_t *result = NULL;
	int rc;
	*result_json = NULL;
	if ((rc = store_doc_get(st, step->document_id, &doc, err)))
		return rc;
	if ((rc = store_doc_steps(st, step->document_id, &steps, &n, err))) {
		doc_rec_clear(&doc);
		return rc;
	}
	char fetched[4400];
	if ((rc = fetch_if_remote(env, st, &doc, fetched, sizeof fetched, err))) {
		step_recs_free(steps, n);
		doc_rec_clear(&doc);
		return rc;
	}
	env->st = st;
	rc = pipeline_run_step(env, &doc, step, steps, n, &result, err);
	env->st = NULL;
	if (fetched[0])
		unlink(fetched);
	if (rc == 0) {
		struct made_by_now now;
		reanalyze_now(env->cfg, env->llm, env->offline_models, &now);
		reanalyze_stamp(result, step->role, &now);
		*result_json = json_dumps(result, JSON_COMPACT | JSON_REAL_PRECISION(STEP_RESULT_PRECISION));
		if (!*result_json)
			rc = err_set(err, DOSSIER_ENOMEM, "%s: out of memory writing the %s result", doc.path, step->kind);
		else  /* the steps after it and the assembly read it from here, unparsed */
			step_result_keep(step->id, *result_json, result);
	}
	json_decref(result);
	step_recs_free(steps, n);
	doc_rec_clear(&doc);
	return rc;
}

/* ------------------------------------------------------ document finish */

static int add_child(const struct doc_child *c, void *user)
{
	json_t *o = json_pack("{s:I,s:o,s:s}", "id", (json_int_t)c->id, "place", json_string_lossy(c->place ? c->place : ""),
	                      "kind", c->kind ? c->kind : "");
	json_array_append_new(user, o);
	return json_array_size(user) >= 10000;
}

/* A child's parent and place, a parent's children, from the store. */
static void add_family(store *st, const struct doc_rec *doc, json_t *d)
{
	int64_t parent = 0;
	char place[1024];
	if (store_doc_parent(st, doc->id, &parent, place, sizeof place, NULL) == 0 && parent) {
		struct doc_rec p;
		json_t *o = json_pack("{s:I,s:o}", "id", (json_int_t)parent, "place", json_string_lossy(place));
		if (store_doc_get(st, parent, &p, NULL) == 0) {
			const char *base = p.path ? strrchr(p.path, '/') : NULL;
			json_object_set_new(o, "name", json_string_lossy(p.name ? p.name : base ? base + 1 : p.path));
			doc_rec_clear(&p);
		}
		json_object_set_new(d, "parent", o);
	}
	if (json_object_get(d, "children"))
		return;  /* the kind listed them, with what another parent holds too */
	json_t *kids = json_array();
	store_doc_children(st, doc->id, add_child, kids, NULL);
	if (json_array_size(kids))
		json_object_set_new(d, "children", kids);
	else
		json_decref(kids);
}

int pipeline_finish_document(const struct config *cfg, bus *b, store *st, int64_t doc_id,
                             enum doc_outcome *outcome, struct err *err)
{
	(void)cfg;
	struct doc_rec doc;
	struct step_rec *steps = NULL;
	size_t n = 0;
	int rc;
	if ((rc = store_doc_get(st, doc_id, &doc, err)))
		return rc;
	if ((rc = store_doc_steps(st, doc_id, &steps, &n, err))) {
		doc_rec_clear(&doc);
		return rc;
	}
	json_t *d = NULL;
	const char *status = "failed";
	struct fts_fields fts;
	char *owned[2] = {NULL, NULL};
	char *json = NULL;
	if ((rc = pipeline_assemble(&doc, steps, n, &d, &status, &fts, owned, err)))
		goto out;
	add_family(st, &doc, d);
	json = json_dumps(d, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
	if (!json) {
		rc = err_set(err, DOSSIER_ENOMEM, "%s: out of memory writing the dossier", doc.path);
		goto out;
	}
	json_t *errs = json_object_get(d, "errors");
	const char *first = json_string_value(json_object_get(json_array_get(errs, 0), "message"));
	struct event *ev = NULL;
	int failed = !strcmp(status, "failed") || !strcmp(status, "encrypted");
	if (failed) {
		bus_event_new(b, "document_failed", doc_id,
		              json_pack("{s:o,s:s,s:s}", "path", json_string_lossy(doc.path), "error", first ? first : "failed",
		                        "status", status),
		              &ev);
	} else {
		const char *title = json_string_value(json_object_get(d, "title"));
		json_t *fields = json_pack("{s:o,s:s,s:s,s:i}", "path", json_string_lossy(doc.path), "status", status,
		                           "title", title ? title : "", "errors", (int)json_array_size(errs));
		if (first)
			json_object_set_new(fields, "error", json_string(first));
		bus_event_new(b, "document_done", doc_id, fields, &ev);
	}
	/* the dossier, the final status and document_done/failed commit together
	 * (the outbox): after a kill -9 the event is there exactly when the dossier is */
	struct store_event se = ev ? store_event_of(ev) : (struct store_event){0};
	rc = store_dossier_put(st, doc_id, status, failed ? first : NULL, json, &fts, ev ? &se : NULL, ev ? 1 : 0, err);
	/* inside the caller's batch (sched.c finishes a document in the
	 * transaction of its last step) the event waits for the batch's end */
	if (rc)
		bus_event_cancel(b, ev);
	else
		store_batch_publish(st, b, ev);
	if (rc)
		goto out;
	*outcome = failed ? DOC_OUTCOME_FAILED : !strcmp(status, "done") ? DOC_OUTCOME_DONE : DOC_OUTCOME_PARTIAL;
out:
	free(json);
	json_decref(d);
	free(owned[0]);
	free(owned[1]);
	step_recs_free(steps, n);
	doc_rec_clear(&doc);
	return rc;
}

static int finish_document(void *user, store *st, int64_t doc_id, enum doc_outcome *outcome, struct err *err)
{
	pipeline_runner *r = user;
	return pipeline_finish_document(r->p.cfg, r->p.bus, st, doc_id, outcome, err);
}

static const char *label_of(void *user, const char *step_kind)
{
	(void)user;
	return step_label(step_kind);
}

/* The embed step with no embedding model (steps_embed.c: it only drops the
 * document's vectors and says search is full-text). */
static int step_instant(void *user, const struct step_rec *step)
{
	pipeline_runner *r = user;
	return !strcmp(step->kind, "embed") &&
	       (r->p.offline_models || !r->p.llm || !r->p.cfg->models[ROLE_EMBED].name[0]);
}

static const struct sched_runner_ops pipeline_runner_ops = {
	.lane_new = lane_new,
	.lane_free = lane_free,
	.run_step = run_step,
	.finish_document = finish_document,
	.step_label = label_of,
	.step_instant = step_instant,
};

struct sched_runner pipeline_runner_iface(pipeline_runner *r)
{
	return (struct sched_runner){&pipeline_runner_ops, r};
}
