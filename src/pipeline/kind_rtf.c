/*
 * kind_rtf.c — Rich Text Format: text and the info group (media/rtf) ─▶
 * analyze_text.
 */
#include "pipeline/kinds.h"
#include "pipeline/steps_internal.h"
#include "media/rtf.h"

#include <stdio.h>
#include <string.h>

static const char *const rtf_ext[] = {".rtf", NULL};

static enum kind_match recognise(const char *mime, const char *path, struct file_type *out)
{
	snprintf(out->format, sizeof out->format, "rtf");
	if (!strcmp(mime, "text/rtf") || !strcmp(mime, "application/rtf"))
		return KIND_MATCH_CONTENT;
	return path_has_ext(path, rtf_ext) ? KIND_MATCH_NAME : KIND_MATCH_NO;
}

static STEP_FN(extract)
{
	(void)env, (void)step, (void)steps, (void)n;
	return rtf_extract(doc->path, 0, result, err);
}

#define DEP(i) (1ull << (i))

static const struct step_decl steps[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
	{"embed", ROLE_EMBED, DEP(0)},
};
static const step_fn run[] = {extract, step_run_analyze_text, step_run_embed};

const struct kind_def kind_rtf = {
	.name = "rtf",
	.plural = "RTF documents",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
