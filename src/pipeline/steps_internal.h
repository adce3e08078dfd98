/* steps_internal.h — shared between the step executors of src/pipeline/. */
#ifndef DOSSIER_PIPELINE_STEPS_INTERNAL_H
#define DOSSIER_PIPELINE_STEPS_INTERNAL_H

#include "pipeline/pipeline.h"

/* The named step's result parsed (caller decrefs), or NULL. */
json_t *step_result_json(const struct step_rec *steps, size_t n, const char *kind);
/* A step's stored result parsed (caller decrefs), or NULL: a copy of the one
 * step_result_keep kept when it is the same text, else json_loads of it. */
json_t *step_result_parse(const struct step_rec *s);
/* The digits of reals in a stored result (runner.c's JSON_REAL_PRECISION). */
#define STEP_RESULT_PRECISION 10
/* Keeps a step's result, stored as text (borrowed), for step_result_parse;
 * bounded (the last few, none over 64 KB). Thread-safe. result is borrowed,
 * but when the caller holds its only reference it is kept itself (its reals
 * rounded to the stored digits): the caller must not change it afterwards. */
void step_result_keep(int64_t step_id, const char *text, json_t *result);
/* Extracted + OCR + transcript text (caller frees); *title_hint_out borrows
 * *title_owned. Of a transcript only the segments the recogniser is sure of
 * (backends/asr.h ASR_SURE), unless it is sure of none: then all of them, and
 * *uncertain (may be NULL) = 1. Text read by OCR alone hints its first line
 * as the title (a scan's heading), as for images. */
/* The strings of a JSON array (or its objects' "term"s) joined by sep;
 * caller frees (render.c). */
char *assemble_join_strings(json_t *arr, const char *sep);
char *step_input_text(const struct step_rec *steps, size_t n, const char **title_hint_out,
                      char **title_owned, int *uncertain);
/* The first line of an OCR text as a title hint into out (n bytes), or NULL
 * when it is too short or long to be one. */
const char *step_first_line_hint(const char *text, char *out, size_t n);
int step_analyze_offline(const char *text, size_t len, const char *title_hint, json_t **result,
                         struct err *err);

/* The text analysed by the LLM. When the model keeps answering outside the
 * schema: DOSSIER_EAGAIN (the scheduler retries after a backoff) until the
 * step's last attempt, which keeps the offline analysis and says why in
 * `fallback_reason` (the dossier is then partial, never done). */
int step_analyze_llm(struct step_env *env, const struct doc_rec *doc, const struct step_rec *step,
                     const char *text, size_t len, const char *title_hint, json_t **result, struct err *err);
/* 1 if this is the step's last attempt in this run (config.max_attempts). */
int step_last_attempt(const struct step_env *env, const struct step_rec *step);

/* step_progress events of one long step (docs/events.md): at most one every
 * STEP_PROGRESS_INTERVAL_S per document, plus the last (done == total).
 * step and unit are borrowed, static ("ocr", "pages"). */
#define STEP_PROGRESS_INTERVAL_S 0.5
struct step_progress {
	struct step_env *env;   /* borrowed; its bus gets the events */
	int64_t document;       /* the document's id */
	const char *step;       /* step kind, e.g. "ocr" */
	const char *unit;       /* "pages", "seconds", "frames", "chunks" */
	double total;           /* how many units in all; 0 = unknown */
	double last_emit_s;     /* monotonic time of the last event; 0 = none yet */
	double last_done;       /* done in the last event */
};
void step_progress_init(struct step_progress *p, struct step_env *env, const struct doc_rec *doc,
                        const char *step, const char *unit, double total);
/* Reports that done units of total are finished; publishes when it is time. */
void step_progress_report(struct step_progress *p, double done);

#define STEP_FN(name)                                                                        \
	int name(struct step_env *env, const struct doc_rec *doc, const struct step_rec *step,  \
	         const struct step_rec *steps, size_t n, json_t **result, struct err *err)
/* 1 if path ends with one of exts (NULL-terminated), case-insensitively. */
int path_has_ext(const char *path, const char *const *exts);

/* The executors the kinds' rows name (kind_*.c). */
STEP_FN(step_run_extract_plain);       /* text, Markdown, HTML in any encoding */
STEP_FN(step_run_extract_pdf);
STEP_FN(step_run_extract_office);        /* OOXML, ODF and EPUB (kind_office.c), within max_expanded_bytes */         /* a PDF's text layer, page by page */
STEP_FN(step_run_ocr_pages);           /* a PDF's pages without a text layer, rendered and OCRed */
STEP_FN(step_run_ocr_image);           /* an image file */
STEP_FN(step_run_analyze_text);        /* the gathered text, by the LLM or offline */
STEP_FN(step_run_analyze_hinted);      /* the same; offline, the extract's summary_hint is the summary */
STEP_FN(step_run_describe_image);
STEP_FN(step_run_transcribe);          /* media without an audio stream is an error */
STEP_FN(step_run_transcribe_optional); /* media without an audio stream has no speech */
STEP_FN(step_run_sample_frames);
STEP_FN(step_run_describe_frames);
STEP_FN(step_run_synthesize);
STEP_FN(step_run_embed);             /* chunks of the text, OCR and transcript, one vector each (steps_embed.c) */

#endif
