/*
 * asr.h — speech recognition behind a small vtable: the embedded pocketsphinx
 * engine, or any Whisper server that speaks OpenAI's /v1/audio/transcriptions.
 *
 *   struct asr_backend *asr;
 *   asr_backend_from_config(&cfg, &asr, &err);     // cheap: nothing loaded yet
 *   ...
 *   json_t *segs;                                   // first use loads the model
 *   if (asr_transcribe_json(asr, "talk.mp4", &segs, &err) == 0) {
 *       // [{"start": 0.52, "end": 3.1, "text": "...", "confidence": 0.8}, ...]
 *       json_decref(segs);
 *   }
 *   uint64_t rss = asr_backend_memory_bytes(asr);  // for the residency manager
 *   asr_backend_free(asr);
 *
 * Not thread safe for one backend (the asr lane owns it). Separate backends
 * are independent.
 */
#ifndef DOSSIER_BACKENDS_ASR_H
#define DOSSIER_BACKENDS_ASR_H

/* A segment whose confidence is below this is one the recogniser is unsure
 * of: its words do not make a title, tags or a summary when other evidence
 * (text on screen, the file's name) exists, and the page marks it. Measured
 * with the embedded recogniser (mean word posterior): read human speech
 * 0.57-0.73 with most words right, synthetic or noisy speech 0.23-0.53 with
 * most words wrong. */
#define ASR_SURE 0.55

#include <jansson.h>
#include <stdint.h>

struct config;
struct err;

/* One recognised stretch of speech. */
struct asr_segment {
	double start_s;     /* seconds from the start of the media */
	double end_s;       /* seconds from the start of the media */
	const char *text;   /* UTF-8, borrowed: valid during the callback only */
	double confidence;  /* 0..1, or -1 if the engine gives none */
};

/* Receives segments in time order as they are recognised. Return 0 to go on,
 * non-zero to stop (the transcription then ends with DOSSIER_ECANCELLED). */
typedef int (*asr_segment_cb)(const struct asr_segment *seg, void *user);

/* A speech engine. A new engine is one new file that fills this table. */
struct asr_backend_ops {
	const char *name;  /* engine name for `sources`, e.g. "pocketsphinx" */
	/* Loads the engine. `where` is engine specific (pocketsphinx: the model
	 * directory; http: the server URL); cfg may be NULL (defaults). *ctx is
	 * freed by close. Called lazily, on the first audio or video document. */
	int (*open)(const struct config *cfg, const char *where, void **ctx, struct err *err);
	/* Transcribes the audio track of media_path, calling cb per segment.
	 * Stops with DOSSIER_ECANCELLED when *cancel becomes non-zero (cancel may be
	 * NULL) or cb returns non-zero; DOSSIER_ETOOBIG when the text passes
	 * CAP_TRANSCRIPT. Segments delivered before an error stay valid. Audio with
	 * no speech gives zero segments and returns 0. */
	int (*transcribe)(void *ctx, const char *media_path, asr_segment_cb cb, void *user,
	                  volatile int *cancel, struct err *err);
	/* Resident bytes the loaded engine holds (0 for a remote server). */
	uint64_t (*memory_bytes)(void *ctx);
	/* The language of the last transcription as an ISO 639-1 code ("en"), or
	 * NULL when the engine did not say. Borrowed, valid until the next call. */
	const char *(*language)(void *ctx);
	void (*close)(void *ctx);  /* NULL ctx is a no-op */
};

typedef struct asr_backend asr_backend;

/*
 * A backend for any engine; nothing is loaded until the first transcription
 * (or asr_backend_open). ops is borrowed (static); where and cfg are copied
 * (cfg may be NULL). Caller frees *out with asr_backend_free.
 */
int asr_backend_new(const struct asr_backend_ops *ops, const char *where,
                    const struct config *cfg, asr_backend **out, struct err *err);

/* pocketsphinx with Debian's en-us model. model_dir NULL = DOSSIER_POCKETSPHINX_MODEL_DIR
 * (holding en-us/, en-us.lm.bin, cmudict-en-us.dict). */
extern const struct asr_backend_ops asr_pocketsphinx_ops;
int asr_pocketsphinx_new(const char *model_dir, asr_backend **out, struct err *err);

/* A Whisper server: url is the full endpoint, or a base URL (no path, or "/")
 * to which /v1/audio/transcriptions is appended; a query "?model=NAME" in url
 * sets the model (and is not sent). model is sent as the `model` field (NULL =
 * "whisper-1"; whisper.cpp ignores it, speaches needs a real one). */
extern const struct asr_backend_ops asr_http_ops;
int asr_http_new(const char *url, const char *model, asr_backend **out, struct err *err);

/* The engine the configuration asks for (the factory, engines.c): whisper-http
 * when cfg->transcriber_url is set, else pocketsphinx. Caller frees *out with
 * asr_backend_free. */
int asr_backend_from_config(const struct config *cfg, asr_backend **out, struct err *err);
/* Each engine's constructor from the configuration, for the factory's rows:
 * pocketsphinx with Debian's model; http at cfg->transcriber_url with
 * cfg->models[ROLE_ASR].name as model unless it names pocketsphinx. */
int asr_pocketsphinx_from_config(const struct config *cfg, asr_backend **out, struct err *err);
int asr_http_from_config(const struct config *cfg, asr_backend **out, struct err *err);

/* Loads the engine now (idempotent). DOSSIER_EMODEL if the model is missing. */
int asr_backend_open(asr_backend *b, struct err *err);
/* Releases the loaded engine (the handle stays usable and reloads on demand). */
void asr_backend_unload(asr_backend *b);
/* 1 while the engine is loaded. */
int asr_backend_is_loaded(const asr_backend *b);
/* Resident bytes when loaded (pocketsphinx: RSS added by the load, measured
 * 94 MB for en-us); otherwise the expected size once loaded (pocketsphinx:
 * 2.5x its model files, 93 MB), so the planner can use it before the first load. */
uint64_t asr_backend_memory_bytes(const asr_backend *b);
/* The language of the last transcription (asr_backend_ops.language): the
 * model's for an embedded engine, what the server reported for a remote one;
 * NULL when unknown. Borrowed, valid until the next transcription. */
const char *asr_backend_language(const asr_backend *b);
/* A language as a server names it ("english", "en", "German") as an ISO 639-1
 * code into out (n bytes): the 2-letter code when it is one or a known name,
 * else the name in lower case. */
void asr_language_code(const char *name, char *out, size_t n);
/* "pocketsphinx:en-us" or "whisper-http:<model>" — for `sources`. Borrowed. */
const char *asr_backend_name(const asr_backend *b);

/* See asr_backend_ops.transcribe; loads the engine first if needed. */
int asr_transcribe(asr_backend *b, const char *media_path, asr_segment_cb cb, void *user,
                   volatile int *cancel, struct err *err);

/* Collects all segments into a new JSON array (caller decrefs) of
 * {"start": s, "end": s, "text": "...", "confidence": 0..1 (omitted if unknown)}.
 * On error *segments_out is NULL. */
int asr_transcribe_json(asr_backend *b, const char *media_path, json_t **segments_out,
                        struct err *err);

void asr_backend_free(asr_backend *b);  /* NULL is a no-op */

/* Word error rate of hyp against ref, in 0..(usually)1: word-level Levenshtein
 * distance divided by the number of reference words. Case and punctuation are
 * ignored. For tests and docs/speech.md measurements. */
double asr_word_error_rate(const char *ref, const char *hyp, int *out_errors, int *out_ref_words);

#endif
