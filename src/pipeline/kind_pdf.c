/*
 * kind_pdf.c — PDF: the text layer page by page ─▶ OCR of the pages without
 * one ─▶ analyze_text(text).
 */
#include "pipeline/kinds.h"
#include "pipeline/steps_internal.h"
#include "core/buf.h"
#include "media/pdf.h"

#include <string.h>

static enum kind_match recognise(const char *mime, const char *path, struct file_type *out)
{
	return !strcmp(mime, "application/pdf") ? KIND_MATCH_CONTENT : KIND_MATCH_NO;
}

#define DEP(i) (1ull << (i))

static const struct step_decl steps[] = {
	{"extract_text", ROLE_NONE, 0},
	{"ocr", ROLE_NONE, DEP(0)},
	{"analyze_text", ROLE_TEXT, DEP(0) | DEP(1)},
	{"embed", ROLE_EMBED, DEP(0) | DEP(1)},
};
static const step_fn run[] = {step_run_extract_pdf, step_run_ocr_pages, step_run_analyze_text, step_run_embed};

const struct kind_def kind_pdf = {
	.name = "pdf",
	.plural = "PDFs",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
	/* its text, and one page rendered for OCR at the largest size allowed */
	.lane_bytes = CAP_TEXT + (uint64_t)PDF_RENDER_MAX_PIXELS * PDF_RENDER_BYTES_PER_PIXEL,
};
