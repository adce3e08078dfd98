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

#define DEP(i) (1ull << (i))

static const struct step_decl steps[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
	{"embed", ROLE_EMBED, DEP(0)},
};
/* an EPUB is a zip of XHTML read by the same reader as ODF and OOXML */
static const step_fn run[] = {step_run_extract_office, step_run_analyze_text, step_run_embed};

const struct kind_def kind_epub = {
	.name = "epub",
	.plural = "e-books",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
