/*
 * kinds.c — the kind registry (kinds.h) and file classification by content:
 * libmagic names the type, each kind's row says how well it fits.
 */
#include "pipeline/kinds.h"
#include "pipeline/steps_internal.h"
#include "core/err.h"
#include "core/util.h"

#include <magic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

int path_has_ext(const char *path, const char *const *exts)
{
	for (; *exts; exts++)
		if (str_endswith_ci(path, *exts))
			return 1;
	return 0;
}

/* ------------------------------------------------------------ the registry */

/* Every document kind, once. A new kind is a kind_<name>.c file and a row here. */
extern const struct kind_def kind_text, kind_pdf, kind_image, kind_audio, kind_video;
extern const struct kind_def kind_office, kind_epub, kind_rtf, kind_mail, kind_table, kind_archive;
static const struct kind_def *const kinds[] = {
	&kind_text,
	&kind_pdf,
	&kind_image,
	&kind_audio,
	&kind_video,
	&kind_office,
	&kind_epub,
	&kind_rtf,
	&kind_mail,
	&kind_table,
	&kind_archive,
};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

size_t kind_count(void)
{
	return N_KINDS;
}

const struct kind_def *kind_at(size_t i)
{
	return i < N_KINDS ? kinds[i] : NULL;
}

const struct kind_def *kind_find(const char *name)
{
	for (size_t i = 0; name && i < N_KINDS; i++)
		if (!strcmp(kinds[i]->name, name))
			return kinds[i];
	return NULL;
}

unsigned kind_role_mask(const struct kind_def *k)
{
	unsigned m = 0;
	for (size_t i = 0; k && i < k->n_steps; i++)
		m |= 1u << k->steps[i].role;
	return m;
}

/* ------------------------------------------------------- step labels */

/* Every step kind a kind's pipeline declares (kind_*.c step_decl arrays), in
 * plain words. A new step kind gets a row here; test_pipeline_step_label
 * checks that no declared step lacks one. */
static const struct {
	const char *kind, *label;
} step_labels[] = {
	{"extract_text", "reading the text"},
	{"ocr", "recognising text in the images"},
	{"transcribe", "recognising speech"},
	{"analyze_text", "summarising the text"},
	{"describe_image", "describing the image"},
	{"sample_frames", "picking frames from the video"},
	{"describe_frames", "describing the video's frames"},
	{"synthesize", "putting the video's dossier together"},
	{"embed", "indexing the text for semantic search"},
};

const char *step_label(const char *step_kind)
{
	if (!step_kind)
		return "";
	for (size_t i = 0; i < sizeof step_labels / sizeof step_labels[0]; i++)
		if (!strcmp(step_labels[i].kind, step_kind))
			return step_labels[i].label;
	return step_kind;
}

const char *step_label_kind_at(size_t i)
{
	return i < sizeof step_labels / sizeof step_labels[0] ? step_labels[i].kind : NULL;
}

/* 1 if the n bytes are UTF-8 without NUL or other C0 controls than tab, line
 * feed, form feed and carriage return; a sequence cut by the end of the buffer
 * (at_eof = 0) counts as valid. */
static int plain_utf8(const unsigned char *p, size_t n, int at_eof)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = p[i];
		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f')
				return 0;
			if (c == 0x7f)
				return 0;
			i++;
			continue;
		}
		size_t len = c >= 0xc2 && c < 0xe0 ? 2 : c >= 0xe0 && c < 0xf0 ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
		if (!len)
			return 0;
		if (i + len > n)
			return !at_eof;
		for (size_t k = 1; k < len; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
		unsigned c1 = p[i + 1];
		if ((c == 0xe0 && c1 < 0xa0) || (c == 0xed && c1 >= 0xa0) || (c == 0xf0 && c1 < 0x90) ||
		    (c == 0xf4 && c1 >= 0x90))
			return 0; /* overlong, surrogate, beyond U+10FFFF */
		i += len;
	}
	return 1;
}

/* Plain text, Markdown and HTML decided without libmagic when the name says
 * text and the first bytes are clean UTF-8: 1 with out->mime set, 0 to ask
 * libmagic (any doubt: a binary named .txt, another encoding, an empty file). */
static int text_fast_path(const char *path, struct file_type *out)
{
	static const char *const md[] = {".md", ".markdown", ".mdown", ".mkd", NULL};
	static const char *const plain[] = {".txt", ".text", NULL};
	static const char *const html[] = {".html", ".htm", NULL};
	const char *mime = path_has_ext(path, md) ? "text/markdown" : path_has_ext(path, plain) ? "text/plain"
	                   : path_has_ext(path, html) ? "text/html" : NULL;
	if (!mime)
		return 0;
	unsigned char buf[8192];
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf, f);
	int at_eof = n < sizeof buf && feof(f);
	fclose(f);
	if (n == 0 || !plain_utf8(buf, n, at_eof))
		return 0;
	size_t i = 0;
	if (n >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf)
		i = 3;
	while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\n' || buf[i] == '\r'))
		i++;
	if (!strcmp(mime, "text/html")) {
		/* libmagic's word on HTML: a document that starts like one */
		if (!(n - i >= 14 && !strncasecmp((const char *)buf + i, "<!doctype html", 14)) &&
		    !(n - i >= 5 && !strncasecmp((const char *)buf + i, "<html", 5)))
			return 0;
	} else if (i == n || strchr("<{[", buf[i]) || (n - i >= 2 && (buf[i + 1] == '!') &&
	                                                 (buf[i] == '#' || buf[i] == '%'))) {
		return 0; /* markup, JSON, a script or PostScript under a text name: libmagic names it */
	}
	snprintf(out->mime, sizeof out->mime, "%s", mime);
	return 1;
}

int classify_file(classifier *c, const char *path, struct file_type *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	if (!text_fast_path(path, out)) {
		const char *m = magic_file(c->magic, path);
		if (!m)
			return err_set(err, DOSSIER_EIO, "%s: cannot determine its type: %s", path, magic_error(c->magic));
		snprintf(out->mime, sizeof out->mime, "%s", m);
		normalise_mime(out->mime, sizeof out->mime);
	}

	const struct kind_def *best = NULL;
	enum kind_match best_match = KIND_MATCH_NO;
	struct file_type best_ft = *out;
	for (size_t i = 0; i < N_KINDS; i++) {
		struct file_type ft = *out;
		enum kind_match km = kinds[i]->recognise(out->mime, path, &ft);
		if (km > best_match) {
			best = kinds[i];
			best_match = km;
			best_ft = ft;
		}
	}
	*out = best_ft;
	snprintf(out->kind, sizeof out->kind, "%s", best ? best->name : "unsupported");
	return 0;
}

const struct step_decl *pipeline_steps(const char *kind, size_t *n)
{
	const struct kind_def *k = kind_find(kind);
	*n = k ? k->n_steps : 0;
	return k ? k->steps : NULL;
}

const char *steps_result(const struct step_rec *steps, size_t n, const char *kind)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(steps[i].kind, kind) && steps[i].state == STEP_DONE)
			return steps[i].result;
	return NULL;
}
