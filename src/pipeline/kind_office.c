/*
 * kind_office.c — word-processor documents, presentations and spreadsheets
 * (DOCX, PPTX, XLSX, ODT, ODP, ODS): extract (media/office) ─▶ analyze_text
 * (offline, a workbook's summary says which sheets it holds).
 */
#include "pipeline/kinds.h"
#include "pipeline/children.h"
#include "media/archive.h"
#include "pipeline/steps_internal.h"
#include "media/office.h"
#include "core/config.h"
#include "core/err.h"

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
		/* an OLE file holding an EncryptedPackage is a password-protected
		 * DOCX, XLSX or PPTX whatever its name */
		if (office_sniff(path, fmt, sizeof fmt) == 0 && strcmp(fmt, "epub")) {
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

/* An image embedded in the document that is large enough to matter (a
 * photo, a scan, a chart; not an icon or a bullet): in the media folders of
 * OOXML and ODF, at least OFFICE_CHILD_MIN_BYTES. */
#define OFFICE_CHILD_MIN_BYTES (32 * 1024)

int office_child_wanted(const char *name, int64_t size, void *user)
{
	(void)user;
	static const char *const dirs[] = {"word/media/", "ppt/media/", "xl/media/", "Pictures/", NULL};
	static const char *const exts[] = {".png", ".jpg", ".jpeg", ".gif", ".tif", ".tiff", ".bmp", ".webp", NULL};
	int in_media = 0;
	for (const char *const *d = dirs; *d; d++)
		in_media |= !strncmp(name, *d, strlen(*d));
	return in_media && path_has_ext(name, exts) && (size < 0 || size >= OFFICE_CHILD_MIN_BYTES);
}

/* The document's embedded images become child documents (OCR and a
 * description of their own); a failure here costs the images, not the text. */
static void add_images(struct step_env *env, const struct doc_rec *doc, json_t *result)
{
	struct children kids;
	struct err e = {0};
	if (children_begin(env, doc, &kids, &e)) {
		children_end(&kids, NULL);
		return;
	}
	struct archive_limits alim = {.want = office_child_wanted, .max_members = 1000};
	if (env->cfg && env->cfg->max_expanded_bytes)
		alim.max_expanded = env->cfg->max_expanded_bytes;
	json_t *summary = NULL, *list = NULL;
	int rc = children_unpack(&kids, doc->path, &alim, &summary, &e);
	children_end(&kids, &list);
	if (rc == 0 && json_array_size(list))
		json_object_set_new(result, "children", list);
	else
		json_decref(list);
	json_decref(summary);
}

STEP_FN(step_run_extract_office)
{
	(void)step, (void)steps, (void)n;
	struct office_limits lim;
	office_limits_default(&lim);
	if (env->cfg && env->cfg->max_expanded_bytes)
		lim.max_expanded = env->cfg->max_expanded_bytes;
	int rc = office_extract(doc->path, &lim, result, err);
	if (rc == 0)
		add_images(env, doc, *result);
	return rc;
}

#define DEP(i) (1ull << (i))

static const struct step_decl steps[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
	{"embed", ROLE_EMBED, DEP(0)},
};
static const step_fn run[] = {step_run_extract_office, step_run_analyze_hinted, step_run_embed};

const struct kind_def kind_office = {
	.name = "office",
	.plural = "office documents",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
