/*
 * config.h — run configuration: profiles (S8), policies (S4, S6), models per role.
 *
 * Precedence, lowest first: the profile's defaults (config_defaults), the config
 * file (config_load_file; $XDG_CONFIG_HOME/dossier/config), the environment
 * (config_apply_env), then command-line flags (set by cli/ directly).
 *
 *   struct config c;
 *   config_defaults(&c, getenv("DEV_MODE") ? "dev" : "prod");
 */
#ifndef DOSSIER_CORE_CONFIG_H
#define DOSSIER_CORE_CONFIG_H

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "core/role.h"

struct err;


enum policy {
	POLICY_SEQUENTIAL = 0, /* documents in order, one LLM resident (the seed) */
	POLICY_GROUPED,        /* steps grouped by model, one LLM resident (default) */
	POLICY_BUDGET,         /* models stay together while they fit the budget */
};
const char *policy_name(enum policy p);
int policy_parse(const char *s, enum policy *out);

struct model_spec {
	char name[128];          /* Ollama model name (text, vision) or engine name (asr) */
	uint64_t nominal_bytes;  /* the seed's size for the profile, used until measured */
	int num_ctx;             /* context window sent on every request; 0 = Ollama's default */
};

struct config {
	char profile[8];                       /* "dev" or "prod" */
	enum policy policy;                    /* see enum policy */
	uint64_t budget_bytes;                 /* memory budget; 0 = total RAM minus reserve */
	uint64_t reserve_bytes;                /* RAM kept for the system when budget is 0 */
	struct model_spec models[ROLE_COUNT];  /* indexed by enum model_role */
	double swap_delay_s;                   /* fixed wait after an unload; < 0 = poll /api/ps */
	char llm_engine[32];                   /* the LLM engine (backends/engines.c): "ollama", "openai", or
	                                          "auto" (the default: ask the server what it is); key `engine` */
	char llm_url[256];                     /* the LLM engine's base URL; "" = its own default (Ollama: ollama_host,
	                                          openai: openai_base_url, else http://127.0.0.1:8080) */
	char openai_base_url[256];             /* OPENAI_BASE_URL as OpenAI's clients read it ("" = unset) */
	char llm_api_key[256];                 /* OPENAI_API_KEY: sent as `Authorization: Bearer`; never printed,
	                                          never stored, not settable from the config file */
	char ollama_host[256];                 /* base URL, e.g. http://127.0.0.1:11434 */
	int engine_num_ctx;                    /* context the engine uses when neither the config nor the
	                                          model sets one (Ollama: 4096) */
	int vision_min_num_ctx;                /* the engine raises models that read images to at least this (2048) */
	int offline;                           /* 1 = never call Ollama; offline analysers only */
	char db_path[PATH_MAX];                /* SQLite database file */
	int connect_timeout_ms;                /* TCP connect to Ollama */
	int load_timeout_ms;                   /* a model load may take this long */
	int idle_timeout_ms;                   /* longest silence between streamed chunks */
	int max_attempts;                      /* tries per step in one run before it waits for the next */
	double retry_base_s;                   /* backoff before the first retry of a transient failure */
	double retry_max_s;                    /* longest backoff between two tries */
	double temperature;                    /* sampling temperature sent to the LLM */
	int seed;                              /* sampling seed sent to the LLM */
	int max_image_side_px;                 /* long side of images sent to the vision model */
	uint64_t max_image_pixels;             /* larger images are refused */
	uint64_t max_expanded_bytes;           /* a zip (office file, EPUB) stops past this many decompressed bytes */
	int cpu_lanes;                         /* worker threads for steps that need no model; 0 = cores */
	int fairness;                          /* most steps of the resident model run while another
	                                          model's ready steps wait; then it swaps (default 64) */
	char ocr_engine[32];                   /* the OCR engine (backends/engines.c): "tesseract" */
	char ocr_lang[64];                     /* tesseract languages, e.g. "eng+deu" */
	char transcriber_url[256];             /* OpenAI-style /v1/audio/transcriptions server; "" = embedded */
	double frame_interval_s;               /* at most one sampled frame per this many seconds */
	int max_frames;                        /* at most this many frames per video */
	int max_ocr_pages;                     /* pages without a text layer OCRed per PDF at most */
};

/* Fills c with the named profile's defaults ("dev" or "prod"; anything else is prod). */
void config_defaults(struct config *c, const char *profile);
/* Applies OLLAMA_HOST, OPENAI_BASE_URL, OPENAI_API_KEY, DOSSIER_DB, each role's model variable (role.h env_var:
 * DOSSIER_TEXT_MODEL, DOSSIER_VISION_MODEL), DOSSIER_BUDGET, DOSSIER_POLICY.
 * Errors name the variable and its bad value. */
int config_apply_env(struct config *c, struct err *err);
/* Reads `key = value` lines (# comments). A missing file is not an error. */
int config_load_file(struct config *c, const char *path, struct err *err);
/* The same from an open stream; name is used in messages. Does not close f. */
int config_load_stream(struct config *c, FILE *f, const char *name, struct err *err);
/* Sets one key as the file would ("text_model", "budget", ...). Each role's
 * model_key (role.h) names its model; "<role>_num_ctx" its context for LLM roles. */
int config_set(struct config *c, const char *key, const char *value, struct err *err);
/* The profile a run uses: explicit (may be NULL), else DEV_MODE, else "prod". */
const char *config_pick_profile(const char *explicit_profile);
/* The default database path ($XDG_DATA_HOME/dossier/dossier.db) into out. */
void config_default_db(char *out, size_t n);
/* The budget in force: budget_bytes, or total RAM minus reserve. */
uint64_t config_budget(const struct config *c);
/* Normalises an OLLAMA_HOST value as Ollama does ("host", "host:port",
 * "scheme://host:port"; default http://127.0.0.1:11434) into a base URL. */
void config_ollama_url(const char *host_env, char *out, size_t n);

#endif
