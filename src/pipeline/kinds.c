/*
 * kinds.c — file classification (by content) and the step list of each kind.
 */
#include "pipeline/pipeline.h"
#include "pipeline/kinds.h"
#include "core/err.h"
#include "core/util.h"

#include <magic.h>
#include <stdlib.h>
#include <string.h>

struct classifier {
	magic_t magic;
};

int classifier_new(classifier **out, struct err *err)
{
	classifier *c = xcalloc(1, sizeof *c);
	c->magic = magic_open(MAGIC_MIME_TYPE | MAGIC_SYMLINK | MAGIC_ERROR);
	if (!c->magic || magic_load(c->magic, NULL) != 0) {
		err_set(err, DOSSIER_EUNAVAILABLE, "cannot load libmagic's database: %s (install libmagic-mgc)",
		        c->magic ? magic_error(c->magic) : "out of memory");
		classifier_free(c);
		return DOSSIER_EUNAVAILABLE;
	}
	*out = c;
	return 0;
}

void classifier_free(classifier *c)
{
	if (!c)
		return;
	if (c->magic)
		magic_close(c->magic);
	free(c);
}

/* libmagic spells some types with x- prefixes or older names; fold them. */
static void normalise_mime(char *m, size_t n)
{
	static const struct {
		const char *from, *to;
	} map[] = {
		{"audio/x-wav", "audio/wav"},       {"audio/x-m4a", "audio/mp4"},
		{"audio/x-flac", "audio/flac"},     {"audio/x-hx-aac-adts", "audio/aac"},
		{"video/x-matroska", "video/x-matroska"}, {"image/x-ms-bmp", "image/bmp"},
		{"text/x-markdown", "text/markdown"}, {"application/x-pdf", "application/pdf"},
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (!strcmp(m, map[i].from)) {
			snprintf(m, n, "%s", map[i].to);
			return;
		}
}

static int has_ext(const char *path, const char *const *exts)
{
	for (; *exts; exts++)
		if (str_endswith_ci(path, *exts))
			return 1;
	return 0;
}

static const char *const md_ext[] = {".md", ".markdown", ".mdown", ".mkd", NULL};
static const char *const html_ext[] = {".html", ".htm", ".xhtml", NULL};
static const char *const text_ext[] = {".txt", ".text", ".md", ".markdown", ".csv", ".log", ".rst", ".org", NULL};

int classify_file(classifier *c, const char *path, struct file_type *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	const char *m = magic_file(c->magic, path);
	if (!m)
		return err_set(err, DOSSIER_EIO, "%s: cannot determine its type: %s", path, magic_error(c->magic));
	snprintf(out->mime, sizeof out->mime, "%s", m);
	normalise_mime(out->mime, sizeof out->mime);
	const char *mime = out->mime;

	if (!strcmp(mime, "inode/x-empty")) {
		snprintf(out->kind, sizeof out->kind, "text");
		snprintf(out->format, sizeof out->format, "plain");
	} else if (!strcmp(mime, "text/html") || !strcmp(mime, "application/xhtml+xml")) {
		snprintf(out->kind, sizeof out->kind, "text");
		snprintf(out->format, sizeof out->format, "html");
	} else if (!strncmp(mime, "text/", 5) || !strcmp(mime, "application/json") ||
	           !strcmp(mime, "application/xml") || !strcmp(mime, "application/javascript")) {
		snprintf(out->kind, sizeof out->kind, "text");
		snprintf(out->format, sizeof out->format, "%s",
		         !strcmp(mime, "text/markdown") || has_ext(path, md_ext) ? "markdown"
		         : has_ext(path, html_ext) ? "html" : "plain");
		if (!strcmp(out->format, "markdown"))
			snprintf(out->mime, sizeof out->mime, "text/markdown");
	} else if (!strcmp(mime, "application/pdf")) {
		snprintf(out->kind, sizeof out->kind, "pdf");
	} else if (!strncmp(mime, "image/", 6) && strcmp(mime, "image/svg+xml") &&
	           strcmp(mime, "image/vnd.djvu")) {
		snprintf(out->kind, sizeof out->kind, "image");
	} else if (!strncmp(mime, "audio/", 6)) {
		snprintf(out->kind, sizeof out->kind, "audio");
	} else if (!strncmp(mime, "video/", 6)) {
		snprintf(out->kind, sizeof out->kind, "video");
	} else if (has_ext(path, text_ext)) {
		/* named as text but not text by content: let extraction say why (binary, ...) */
		snprintf(out->kind, sizeof out->kind, "text");
		snprintf(out->format, sizeof out->format, "plain");
	} else {
		snprintf(out->kind, sizeof out->kind, "unsupported");
	}
	return 0;
}

#define DEP(i) (1ull << (i))

static const struct step_decl text_steps[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
};
static const struct step_decl pdf_steps[] = {
	{"extract_text", ROLE_NONE, 0},
	{"ocr", ROLE_NONE, DEP(0)},
	{"analyze_text", ROLE_TEXT, DEP(0) | DEP(1)},
};
static const struct step_decl image_steps[] = {
	{"ocr", ROLE_NONE, 0},
	{"describe_image", ROLE_VISION, DEP(0)},
};
static const struct step_decl audio_steps[] = {
	{"transcribe", ROLE_ASR, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
};
/* The seed's order per video: transcribe, analyse the transcript, describe the
 * frames, synthesise. Frame sampling needs no model and runs early. */
static const struct step_decl video_steps[] = {
	{"transcribe", ROLE_ASR, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
	{"sample_frames", ROLE_NONE, 0},
	{"describe_frames", ROLE_VISION, DEP(1) | DEP(2)},
	{"synthesize", ROLE_TEXT, DEP(1) | DEP(3)},
};

const struct step_decl *pipeline_steps(const char *kind, size_t *n)
{
#define RET(a) do { *n = sizeof a / sizeof a[0]; return a; } while (0)
	if (!strcmp(kind, "text"))
		RET(text_steps);
	if (!strcmp(kind, "pdf"))
		RET(pdf_steps);
	if (!strcmp(kind, "image"))
		RET(image_steps);
	if (!strcmp(kind, "audio"))
		RET(audio_steps);
	if (!strcmp(kind, "video"))
		RET(video_steps);
#undef RET
	*n = 0;
	return NULL;
}

const char *steps_result(const struct step_rec *steps, size_t n, const char *kind)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(steps[i].kind, kind) && steps[i].state == STEP_DONE)
			return steps[i].result;
	return NULL;
}

/* ---- the kind registry (kinds.h): a minimal table over the step lists above,
 * until the registry proper replaces this file. Recognition stays in
 * classify_file for now (recognise is NULL). ---- */

#define KIND_ROW(n, pl, st) {n, pl, NULL, st, sizeof st / sizeof st[0]}
static const struct kind_def kind_rows[] = {
	KIND_ROW("text", "text files", text_steps),
	KIND_ROW("pdf", "PDFs", pdf_steps),
	KIND_ROW("image", "images", image_steps),
	KIND_ROW("audio", "recordings", audio_steps),
	KIND_ROW("video", "videos", video_steps),
};
#undef KIND_ROW

size_t kind_count(void)
{
	return sizeof kind_rows / sizeof kind_rows[0];
}

const struct kind_def *kind_at(size_t i)
{
	return i < kind_count() ? &kind_rows[i] : NULL;
}

const struct kind_def *kind_find(const char *name)
{
	for (size_t i = 0; name && i < kind_count(); i++)
		if (!strcmp(kind_rows[i].name, name))
			return &kind_rows[i];
	return NULL;
}

unsigned kind_role_mask(const struct kind_def *k)
{
	unsigned m = 0;
	for (size_t i = 0; k && i < k->n_steps; i++)
		m |= 1u << k->steps[i].role;
	return m & ~(1u << ROLE_NONE);
}
