/*
 * kind_epub.c — e-books (EPUB): chapters in spine order and the book's
 * metadata (media/office) ─▶ analyze_text.
 */
#include "pipeline/kinds.h"
#include "pipeline/steps_internal.h"
#include "media/office.h"
#include "core/config.h"
#include "core/util.h"

#include <stdio.h>
#include <string.h>

static enum kind_match recognise(const char *mime, const char *path, struct file_type *out)
{
	char fmt[16];
	if (!strcmp(mime, "application/epub+zip") ||
	    ((!strcmp(mime, "application/zip") || !strcmp(mime, "application/octet-stream")) &&
	     office_sniff(path, fmt, sizeof fmt) == 0 && !strcmp(fmt, "epub"))) {
		snprintf(out->format, sizeof out->format, "epub");
		return KIND_MATCH_CONTENT;
	}
	if (str_endswith_ci(path, ".epub") && !strncmp(mime, "application/", 12)) {
		/* named as one but unreadable (truncated, damaged): extraction says why */
		snprintf(out->format, sizeof out->format, "epub");
		return KIND_MATCH_NAME;
	}
	return KIND_MATCH_NO;
}

static STEP_FN(extract)
{
	(void)step, (void)steps, (void)n;
	struct office_limits lim;
	office_limits_default(&lim);
	if (env->cfg && env->cfg->max_expanded_bytes)
		lim.max_expanded = env->cfg->max_expanded_bytes;
	return office_extract(doc->path, &lim, result, err);
}

#define DEP(i) (1ull << (i))

static const struct step_decl steps[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
};
static const step_fn run[] = {extract, step_run_analyze_text};

const struct kind_def kind_epub = {
	.name = "epub",
	.plural = "e-books",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
