/*
 * kind_video.c — videos, in the seed's order per video: transcribe(asr) ─▶
 * analyze_text(text) ─▶ describe_frames(vision) ─▶ synthesize(text). Frame
 * sampling needs no model and runs early on a cpu lane.
 */
#include "pipeline/kinds.h"
#include "pipeline/steps_internal.h"

#include <string.h>

static enum kind_match recognise(const char *mime, const char *path, struct file_type *out)
{
	return !strncmp(mime, "video/", 6) ? KIND_MATCH_CONTENT : KIND_MATCH_NO;
}

#define DEP(i) (1ull << (i))

static const struct step_decl steps[] = {
	{"transcribe", ROLE_ASR, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
	{"sample_frames", ROLE_NONE, 0},
	{"describe_frames", ROLE_VISION, DEP(1) | DEP(2)},
	{"synthesize", ROLE_TEXT, DEP(1) | DEP(3)},
	{"embed", ROLE_EMBED, DEP(0)},
};
/* a video without sound still has frames to look at: no audio is no speech */
static const step_fn run[] = {step_run_transcribe_optional, step_run_analyze_text, step_run_sample_frames,
                              step_run_describe_frames, step_run_synthesize, step_run_embed};

const struct kind_def kind_video = {
	.name = "video",
	.plural = "videos",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
