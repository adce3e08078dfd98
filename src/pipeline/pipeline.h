/*
 * pipeline.h — what each kind of document needs done, and how the results
 * become a dossier.
 *
 * A pipeline is a list of steps (store.h `struct step_decl`): each names the
 * model role it needs and the steps it depends on. The scheduler never needs to
 * know what a step does; it calls pipeline_run_step, stores the JSON result,
 * and when a document's steps are all settled calls pipeline_assemble.
 *
 *   text   extract_text ─▶ analyze_text(text)
 *   pdf    extract_text ─▶ ocr (pages without text) ─▶ analyze_text(text)
 *   image  ocr ─▶ describe_image(vision)
 *   audio  transcribe(asr) ─▶ analyze_text(text)
 *   video  transcribe(asr) ─▶ analyze_text(text) ─▶ describe_frames(vision) ─▶ synthesize(text)
 *          sample_frames ───────────────────────────▲ (runs early on a cpu lane)
 */
#ifndef DOSSIER_PIPELINE_H
#define DOSSIER_PIPELINE_H

#include <jansson.h>
#include <stddef.h>

#include "core/config.h"
#include "core/event.h"
#include "store/store.h"

struct err;
struct llm_backend;
struct residency;
struct ocr_backend;
struct asr_backend;

/* ---- ingest ---- */

struct file_type {
	char kind[16];   /* text pdf image audio video unsupported */
	char mime[96];   /* as detected by content (libmagic), normalised */
	char format[16]; /* text sub-format: plain markdown html; "" otherwise */
};
typedef struct classifier classifier;
/* One classifier per thread (libmagic is not thread safe). Free with classifier_free. */
int classifier_new(classifier **out, struct err *err);
void classifier_free(classifier *c);
/* Decides a file's kind by its content, with the extension as a tie-breaker for
 * text formats (Markdown, HTML). A zero-byte file is kind "text" with mime
 * "inode/x-empty" so that it fails with a clear message in extraction. */
int classify_file(classifier *c, const char *path, struct file_type *out, struct err *err);

/* The steps a kind declares (static storage). n = 0 for "unsupported". */
const struct step_decl *pipeline_steps(const char *kind, size_t *n);

/* ---- running steps ---- */

/* Everything a step may use; borrowed, owned by the scheduler. */
struct step_env {
	const struct config *cfg;
	bus *bus;
	struct llm_backend *llm;      /* NULL when offline */
	struct residency *res;        /* NULL when offline */
	struct ocr_backend *ocr;      /* per-lane OCR engine, may be NULL (created lazily) */
	struct asr_backend *asr;      /* the resident speech engine, may be NULL (lazy) */
	const char *data_dir;         /* where frames are kept: <data_dir>/frames/<sha256>/ */
	volatile int *cancel;         /* set to non-zero to abort long work */
	int offline_models;           /* 1: text/vision steps use the offline analysers */
	store *st;                    /* the lane's store connection, for steps that add child documents */
	classifier *cls;              /* per-lane classifier for child documents, may be NULL (lazy) */
};

/*
 * Runs one step of doc. `steps` are all the document's steps (results of the
 * finished ones available). On success *result is a new JSON object (caller
 * decrefs). Errors: DOSSIER_EUNAVAILABLE (service down: defer), DOSSIER_EAGAIN
 * (transient: retry), anything else fails the step.
 */
int pipeline_run_step(struct step_env *env, const struct doc_rec *doc, const struct step_rec *step,
                      const struct step_rec *steps, size_t n, json_t **result, struct err *err);

/* ---- dossiers ---- */

/*
 * Builds the dossier from the document and its steps' results. *status_out is
 * "done", "partial", "failed" or "encrypted" (it failed for want of a password); *dossier is a new object (caller decrefs).
 * fts_out's strings point into *dossier (valid while it lives) or into
 * fts_owned[0..1], which the caller frees with free().
 */
int pipeline_assemble(const struct doc_rec *doc, const struct step_rec *steps, size_t n,
                      json_t **dossier, const char **status_out, struct fts_fields *fts_out,
                      char *fts_owned[2], struct err *err);

/* The dossier rendered as Markdown (caller frees). */
char *dossier_to_markdown(json_t *dossier);
/* Sets "copies" in dossier (document id's) to the other paths holding its
 * content, [{id, path}] (ingest_decide.h), or removes it when there are none. */
void pipeline_dossier_add_copies(store *st, int64_t id, json_t *dossier);
/* A transcript as SubRip (srt = 1) or WebVTT (srt = 0); caller frees. NULL if none. */
char *dossier_transcript_subtitles(json_t *dossier, int srt);

/* Finds the result of the document's first step of this kind (borrowed JSON text), or NULL. */
const char *steps_result(const struct step_rec *steps, size_t n, const char *kind);

#endif
