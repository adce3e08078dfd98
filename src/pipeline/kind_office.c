/*
 * kind_office.c — word-processor documents, presentations and spreadsheets
 * (DOCX, PPTX, XLSX, ODT, ODP, ODS): extract (media/office) ─▶ analyze_text
 * (offline, a workbook's summary says which sheets it holds).
 */
#include "pipeline/kinds.h"
#include "pipeline/steps_internal.h"
#include "media/office.h"
#include "core/config.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *mime, *format;
} types[] = {
	{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"},
	{"application/vnd.openxmlformats-officedocument.wordprocessingml.template", "docx"},
	{"application/vnd.openxmlformats-officedocument.presentationml.presentation", "pptx"},
	{"application/vnd.openxmlformats-officedocument.presentationml.slideshow", "pptx"},
	{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"},
	{"application/vnd.openxmlformats-officedocument.spreadsheetml.template", "xlsx"},
	{"application/vnd.oasis.opendocument.text", "odt"},
	{"application/vnd.oasis.opendocument.text-template", "odt"},
	{"application/vnd.oasis.opendocument.presentation", "odp"},
	{"application/vnd.oasis.opendocument.spreadsheet", "ods"},
};

static const char *const office_ext[] = {".docx", ".docm", ".dotx", ".pptx", ".xlsx", ".xlsm", ".odt", ".ods", ".odp", NULL};

static enum kind_match recognise(const char *mime, const char *path, struct file_type *out)
{
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (!strcmp(mime, types[i].mime)) {
			snprintf(out->format, sizeof out->format, "%s", types[i].format);
			return KIND_MATCH_CONTENT;
		}
	/* generated files often come out as plain zips; a password-protected
	 * Office file is an OLE container: look inside */
	if (!strcmp(mime, "application/zip") || !strcmp(mime, "application/octet-stream") ||
	    !strcmp(mime, "application/x-ole-storage") || !strcmp(mime, "application/encrypted") ||
	    !strncmp(mime, "application/CDFV2", 17)) {
		char fmt[16];
		if (office_sniff(path, fmt, sizeof fmt) == 0 && strcmp(fmt, "epub") &&
		    (strcmp(fmt, "encrypted") || path_has_ext(path, office_ext))) {
			snprintf(out->format, sizeof out->format, "%s", fmt);
			return KIND_MATCH_CONTENT;
		}
	}
	if (path_has_ext(path, office_ext) && !strncmp(mime, "application/", 12)) {
		/* named as one but unreadable (truncated, damaged): extraction says why */
		snprintf(out->format, sizeof out->format, "%s", strrchr(path, '.') + 1);
		return KIND_MATCH_NAME;
	}
	return KIND_MATCH_NO;
}

STEP_FN(step_run_extract_office)
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
static const step_fn run[] = {step_run_extract_office, step_run_analyze_hinted};

const struct kind_def kind_office = {
	.name = "office",
	.plural = "office documents",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
