/* steps_internal.h — shared between the step executors of src/pipeline/. */
#ifndef DOSSIER_PIPELINE_STEPS_INTERNAL_H
#define DOSSIER_PIPELINE_STEPS_INTERNAL_H

#include "pipeline/pipeline.h"

/* The named step's result parsed (caller decrefs), or NULL. */
json_t *step_result_json(const struct step_rec *steps, size_t n, const char *kind);
/* Extracted + OCR + transcript text (caller frees); *title_hint_out borrows *title_owned. */
char *step_input_text(const struct step_rec *steps, size_t n, const char **title_hint_out,
                      char **title_owned);
int step_analyze_offline(const char *text, size_t len, const char *title_hint, json_t **result,
                         struct err *err);

int step_extract_pdf(struct step_env *env, const struct doc_rec *doc, json_t **result, struct err *err);
int step_analyze_llm(struct step_env *env, const struct doc_rec *doc, const char *text, size_t len,
                     const char *title_hint, json_t **result, struct err *err);

#define STEP_FN(name)                                                                        \
	int name(struct step_env *env, const struct doc_rec *doc, const struct step_rec *step,  \
	         const struct step_rec *steps, size_t n, json_t **result, struct err *err)
STEP_FN(step_run_ocr);
STEP_FN(step_run_describe_image);
STEP_FN(step_run_transcribe);
STEP_FN(step_run_sample_frames);
STEP_FN(step_run_describe_frames);
STEP_FN(step_run_synthesize);

#endif
