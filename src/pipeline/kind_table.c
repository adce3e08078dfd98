/*
 * kind_table.c — CSV and TSV tables: extract (media/table: columns, rows, a
 * sample) ─▶ analyze_text, whose offline summary is the table's description
 * (what the table holds), not sentences picked from its numbers.
 */
#include "pipeline/kinds.h"
#include "pipeline/steps_internal.h"
#include "media/table.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

static const char *const table_ext[] = {".csv", ".tsv", ".tab", NULL};
static const char *const prose_ext[] = {".txt", ".text", ".md", ".markdown", ".log", ".rst", ".org", NULL};

static enum kind_match recognise(const char *mime, const char *path, struct file_type *out)
{
	snprintf(out->format, sizeof out->format, "%s", str_endswith_ci(path, ".tsv") ? "tsv" : "csv");
	/* the same test as kind_text's, which leaves these to this kind */
	if ((!strcmp(mime, "text/csv") || !strcmp(mime, "text/tab-separated-values")) && !path_has_ext(path, prose_ext))
		return KIND_MATCH_CONTENT;
	if (!strncmp(mime, "text/", 5) && path_has_ext(path, table_ext))
		return KIND_MATCH_CONTENT;
	return KIND_MATCH_NO;
}

static STEP_FN(extract)
{
	(void)env, (void)step, (void)steps, (void)n;
	return table_extract(doc->path, result, err);
}

/* analyze_text, whose offline summary is the extract result's summary_hint
 * when it has one (a table or a workbook says what it holds). */
STEP_FN(step_run_analyze_hinted)
{
	int rc = step_run_analyze_text(env, doc, step, steps, n, result, err);
	if (rc || !(env->offline_models || !env->llm))
		return rc;
	json_t *ex = step_result_json(steps, n, "extract_text");
	json_t *hint = json_object_get(ex, "summary_hint");
	if (json_is_string(hint)) {
		json_object_set(*result, "summary", hint);
		json_t *src = json_object_get(*result, "sources");
		if (json_is_object(src))
			json_object_set_new(src, "summary", json_string("dossier:structure"));
	}
	json_decref(ex);
	return 0;
}

static STEP_FN(analyze)
{
	int rc = step_run_analyze_hinted(env, doc, step, steps, n, result, err);
	if (rc || !(env->offline_models || !env->llm))
		return rc;
	/* a table's title is its name, not its first row */
	const char *base = strrchr(doc->path, '/');
	json_object_set_new(*result, "title", json_string(base ? base + 1 : doc->path));
	json_t *src = json_object_get(*result, "sources");
	if (json_is_object(src))
		json_object_set_new(src, "title", json_string("dossier:structure"));
	return 0;
}

#define DEP(i) (1ull << (i))

static const struct step_decl steps[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
	{"embed", ROLE_EMBED, DEP(0)},
};
static const step_fn run[] = {extract, analyze, step_run_embed};

const struct kind_def kind_table = {
	.name = "table",
	.plural = "tables",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
