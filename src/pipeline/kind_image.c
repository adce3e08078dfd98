/*
 * kind_image.c — photos, scans, screenshots: OCR ─▶ describe_image(vision),
 * the OCR text given to the vision model as context.
 */
#include "pipeline/kinds.h"
#include "pipeline/steps_internal.h"

#include <string.h>

static enum kind_match recognise(const char *mime, const char *path, struct file_type *out)
{
	/* SVG is XML (text) and DjVu is a document format neither decoder reads */
	return !strncmp(mime, "image/", 6) && strcmp(mime, "image/svg+xml") && strcmp(mime, "image/vnd.djvu")
	               ? KIND_MATCH_CONTENT
	               : KIND_MATCH_NO;
}

#define DEP(i) (1ull << (i))

static const struct step_decl steps[] = {
	{"ocr", ROLE_NONE, 0},
	{"describe_image", ROLE_VISION, DEP(0)},
	{"embed", ROLE_EMBED, DEP(0)},
};
static const step_fn run[] = {step_run_ocr_image, step_run_describe_image, step_run_embed};

const struct kind_def kind_image = {
	.name = "image",
	.plural = "images",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
