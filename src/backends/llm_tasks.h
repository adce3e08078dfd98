/*
 * llm_tasks.h — what the pipeline asks of an LLM: analyse a text, describe an
 * image, synthesise a video. Each task asks for JSON that matches a schema,
 * validates the reply, and re-asks (at most LLM_FIX_RETRIES times) with the
 * validation error in the prompt; after that it gives DOSSIER_EFORMAT with the
 * reason, so the pipeline can fall back to the offline analyser and say why.
 *
 *   struct llm_call call = llm_call_from_config(&cfg, ROLE_TEXT, residency_keep_alive(r, ROLE_TEXT));
 *   json_t *a;
 *   if (llm_analyze_text(b, &call, text, len, &a, &e) == 0) { ...; json_decref(a); }
 *
 * Every result object also carries
 *   "sources": {"<field>": "<engine>:<model>", ...}   for every field it produced,
 *   "timings": {"calls", "chunks", "retries", "prompt_eval_count", "eval_count",
 *               "total_ns", "load_ns", "prompt_eval_ns", "eval_ns", "wall_s"}
 *              summed over every request the task made.
 *
 * Transport errors (EUNAVAILABLE, EAGAIN, ETIMEOUT, EMODEL, ECANCELLED) are
 * returned as the backend gave them (llm.h); the tasks do not retry those.
 * Thread safe as far as the backend is.
 */
#ifndef DOSSIER_BACKENDS_LLM_TASKS_H
#define DOSSIER_BACKENDS_LLM_TASKS_H

#include "backends/llm.h"
#include "core/config.h"

#include <jansson.h>
#include <stddef.h>

#define LLM_FIX_RETRIES 2        /* re-asks after an invalid reply */
/* The version of the prompts and schemas below: raise it when one changes so
 * that `dossier analyze` (re-analysis of changed steps) asks the model again. */
#define LLM_PROMPT_VERSION 1
#define LLM_REPLY_TOKENS 1024    /* context kept free for the answer (at most num_ctx/4) */
#define LLM_PROMPT_TOKENS 256    /* context taken by our instructions */
#define LLM_OCR_CONTEXT_BYTES 4000 /* OCR text given to the vision model as context */

struct llm_call {
	const char *model;       /* borrowed; model name */
	int num_ctx;             /* context window sent on every request; 0 = engine default */
	int engine_num_ctx;      /* the engine's default window, for sizing when num_ctx is 0 (cfg->engine_num_ctx) */
	int64_t keep_alive_s;    /* seconds, or LLM_KEEP_ALIVE_* (llm.h); from residency_keep_alive() */
	double temperature;      /* sampling temperature */
	int seed;                /* sampling seed */
	volatile int *cancel;    /* borrowed; set *cancel != 0 to abort; may be NULL */
	/* May be NULL: told after each part of a long text is summarised (done of
	 * total parts, first round of llm_analyze_text's map-reduce only). */
	void (*on_part)(void *user, int done, int total);
	void *on_part_user;      /* borrowed; passed to on_part */
};

/* The call for a role as the config says (model, num_ctx, temperature, seed)
 * with keep_alive_s (seconds or LLM_KEEP_ALIVE_*); cancel is left NULL. */
struct llm_call llm_call_from_config(const struct config *cfg, enum model_role role, int64_t keep_alive_s);

/* Bytes of document text one request can take for this num_ctx (tokens ~ bytes/4,
 * minus room for the instructions and the reply; at least 1 KiB). Longer texts
 * are map-reduced. */
size_t llm_chunk_bytes(int num_ctx);

/*
 * Analyses a text: *out = {title, summary, key_points[], tags[], entities[{text,
 * type}], language, sources, timings} (caller decrefs). Texts longer than
 * llm_chunk_bytes(num_ctx) are split at paragraph/sentence boundaries, each part
 * summarised (map), then the summaries analysed together (reduce; repeated if they
 * are still too long) — never truncated. timings.chunks says how many parts.
 * Invalid UTF-8 bytes are replaced by '?'. DOSSIER_EEMPTY for an empty text.
 */
int llm_analyze_text(struct llm_backend *b, const struct llm_call *call, const char *text, size_t len,
                     json_t **out, struct err *err);

/*
 * Describes an image (PNG/JPEG bytes, borrowed): *out = {description, tags[],
 * text_in_image, sources, timings}. ocr_text (may be NULL) is given to the model
 * as context, at most LLM_OCR_CONTEXT_BYTES of it (the prompt says when it was
 * cut). DOSSIER_EMODEL if the model cannot read images.
 */
int llm_describe_image(struct llm_backend *b, const struct llm_call *call, const unsigned char *img, size_t len,
                       const char *ocr_text, json_t **out, struct err *err);

/*
 * Writes a video's dossier from its parts (borrowed): parts = {transcript_analysis:
 * {...}, frames: [{time (seconds), description}]}. *out = {title, summary,
 * key_points[], timeline[{time, text}], sources, timings}. If the frame
 * descriptions do not fit num_ctx they are shortened evenly and *out gets
 * "notes": ["..."] saying so.
 */
int llm_synthesize(struct llm_backend *b, const struct llm_call *call, json_t *parts, json_t **out,
                   struct err *err);

/*
 * Checks value against the subset of JSON Schema the tasks use (type object /
 * array / string / number / integer / boolean, properties, required, items,
 * enum of strings). Returns 0, or DOSSIER_EFORMAT with the first problem written
 * into why ("key_points[2]: expected string").
 */
int llm_schema_check(json_t *schema, json_t *value, char *why, size_t why_len);

/* The schemas the tasks send (new references; caller decrefs). */
json_t *llm_schema_text(void);
json_t *llm_schema_image(void);
json_t *llm_schema_video(void);

#endif
