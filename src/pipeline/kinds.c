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
extern const struct kind_def kind_office, kind_epub, kind_rtf, kind_mail, kind_table;
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

int classify_file(classifier *c, const char *path, struct file_type *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	const char *m = magic_file(c->magic, path);
	if (!m)
		return err_set(err, DOSSIER_EIO, "%s: cannot determine its type: %s", path, magic_error(c->magic));
	snprintf(out->mime, sizeof out->mime, "%s", m);
	normalise_mime(out->mime, sizeof out->mime);

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
