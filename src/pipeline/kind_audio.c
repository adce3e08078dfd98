/*
 * kind_audio.c — recordings: transcribe(asr) ─▶ analyze_text(text).
 */
#include "pipeline/kinds.h"
#include "pipeline/steps_internal.h"

#include <string.h>

static enum kind_match recognise(const char *mime, const char *path, struct file_type *out)
{
	return !strncmp(mime, "audio/", 6) ? KIND_MATCH_CONTENT : KIND_MATCH_NO;
}

#define DEP(i) (1ull << (i))

static const struct step_decl steps[] = {
	{"transcribe", ROLE_ASR, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
	{"embed", ROLE_EMBED, DEP(0)},
};
static const step_fn run[] = {step_run_transcribe, step_run_analyze_text, step_run_embed};

const struct kind_def kind_audio = {
	.name = "audio",
	.plural = "recordings",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
