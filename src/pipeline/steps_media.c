/*
 * steps_media.c — OCR, speech and frame steps.
 * (Wired to src/media and src/backends as those engines land.)
 */
#include "pipeline/steps_internal.h"
#include "core/err.h"

#include <string.h>

static int not_built(const struct doc_rec *doc, const char *what, struct err *err)
{
	return err_set(err, DOSSIER_EUNSUPPORTED, "%s: %s is not available in this build", doc->path, what);
}

STEP_FN(step_run_ocr)
{
	if (!strcmp(doc->kind, "pdf")) {
		/* pages without a text layer are OCRed once the engine exists; none to do yet */
		*result = json_pack("{s:s,s:[]}", "text", "", "pages");
		return 0;
	}
	return not_built(doc, "OCR", err);
}

STEP_FN(step_run_transcribe)
{
	return not_built(doc, "speech recognition", err);
}

STEP_FN(step_run_sample_frames)
{
	return not_built(doc, "frame sampling", err);
}

int step_extract_pdf(struct step_env *env, const struct doc_rec *doc, json_t **result, struct err *err)
{
	return not_built(doc, "PDF text extraction", err);
}
