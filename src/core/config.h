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

/* Where a setting's value came from, lowest precedence first. */
enum config_source {
	CONFIG_SOURCE_DEFAULT = 0,  /* the profile's default (config_defaults) */
	CONFIG_SOURCE_FILE,         /* the config file (config.file, at origin.line) */
	CONFIG_SOURCE_ENV,          /* the key's environment variable (config_key.env) */
	CONFIG_SOURCE_FLAG,         /* a command-line flag (origin.flag) */
};
/* "default", "file", "env", "flag". */
const char *config_source_name(enum config_source s);

/* One settable key: the one table of keys (config.c) is what the file, the
 * environment, the flags and `dossier config` all go through. */
struct config_key {
	const char *name;    /* as the config file spells it: "text_model" */
	const char *env;     /* the environment variable that sets it, or NULL */
	const char *help;    /* one line for people */
	int file_ok;         /* 0 = not settable from the file (a secret read from the environment only) */
};
#define CONFIG_KEYS_MAX 64
/* The keys in table order; config_key_at(i) for i < config_key_count() is never NULL (static storage). */
size_t config_key_count(void);
const struct config_key *config_key_at(size_t i);
/* The key's index, or -1 (an alias such as llm_engine finds engine). */
int config_key_find(const char *name);

/* Where one key's value came from. */
struct config_origin {
	unsigned char source;  /* enum config_source */
	int line;              /* CONFIG_SOURCE_FILE: line in config.file */
	const char *flag;      /* CONFIG_SOURCE_FLAG: "--db"; static storage, may be NULL */
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
	int max_nesting_depth;                 /* archives inside archives are opened this many levels deep */
	uint64_t vector_cache_bytes;           /* the int8 vectors `serve` keeps in memory for semantic search
	                                          (pipeline/veccache.h), counted in the reserve; 0 = none */
	int cpu_lanes;                         /* worker threads for steps that need no model; 0 = cores */
	int fairness;                          /* most steps of the resident model run while another
	                                          model's ready steps wait; then it swaps (default 64) */
	char ocr_engine[32];                   /* the OCR engine (backends/engines.c): "tesseract" */
	char ocr_lang[64];                     /* tesseract languages, e.g. "eng+deu" */
	char transcriber_url[256];             /* OpenAI-style /v1/audio/transcriptions server; "" = embedded */
	double frame_interval_s;               /* at most one sampled frame per this many seconds */
	int max_frames;                        /* at most this many frames per video */
	int max_ocr_pages;                     /* pages without a text layer OCRed per PDF at most */
	char data_dir[PATH_MAX];               /* frames, uploads, OCR checkpoints; "" = the rule of
	                                          config_data_dir (key data_dir, DOSSIER_DATA_DIR) */
	char file[PATH_MAX];                   /* the config file read ("" = none was) */
	struct config_origin origin[CONFIG_KEYS_MAX]; /* indexed like config_key_at */
};

/* Fills c with the named profile's defaults ("dev" or "prod"; anything else is prod). */
void config_defaults(struct config *c, const char *profile);
/* Applies the environment variable of every key that has one (config_key.env:
 * OLLAMA_HOST, OPENAI_BASE_URL, OPENAI_API_KEY, DOSSIER_DB, DOSSIER_DATA_DIR,
 * DOSSIER_BUDGET, DOSSIER_POLICY, each role's model variable such as
 * DOSSIER_TEXT_MODEL); an empty value is unset. Errors name the variable and its bad value. */
int config_apply_env(struct config *c, struct err *err);
/* Reads `key = value` lines (# comments). A missing file is not an error; a
 * file that exists is recorded in c->file. */
int config_load_file(struct config *c, const char *path, struct err *err);
/* The same from an open stream; name is used in messages. Does not close f. */
int config_load_stream(struct config *c, FILE *f, const char *name, struct err *err);
/* Sets one key as the file would ("text_model", "budget", ...). Each role's
 * model_key (role.h) names its model; "<role>_num_ctx" its context for LLM roles.
 * Recorded as set by a flag with no name. */
int config_set(struct config *c, const char *key, const char *value, struct err *err);
/* The same, recording where the value came from (flag: its name, static
 * storage, or NULL; line: the file's line, else 0). */
int config_set_from(struct config *c, const char *key, const char *value, enum config_source src,
                    const char *flag, int line, struct err *err);
/* Records that key (already set by the caller) came from src; no-op for an unknown key. */
void config_mark(struct config *c, const char *key, enum config_source src, const char *flag);
/* The effective value of key i, as the file would spell it (sizes in bytes,
 * timeouts in seconds); a secret is "(set)" or "". */
void config_format(const struct config *c, size_t i, char *out, size_t n);

/* How config_data_dir chose the data directory. */
enum config_data_rule {
	CONFIG_DATA_SET = 0,      /* data_dir was set (file, DOSSIER_DATA_DIR or a flag) */
	CONFIG_DATA_BESIDE_DB,    /* a database given explicitly that already has its data beside it */
	CONFIG_DATA_XDG,          /* $XDG_DATA_HOME/dossier (default ~/.local/share/dossier) */
	CONFIG_DATA_STORE,        /* another database: $XDG_DATA_HOME/dossier/stores/NAME-HASH */
};
/* The data directory (frames/, uploads/, ocr/, blobs/ go under it) into out:
 * data_dir when set; else, for the default database, $XDG_DATA_HOME/dossier;
 * for a database given explicitly (--db, DOSSIER_DB, the db key) elsewhere,
 * a directory of its own under $XDG_DATA_HOME/dossier/stores/ named after
 * the database file and a hash of its absolute path (so two databases never
 * share or delete each other's files, and nothing is written beside the
 * database) — unless that database already keeps frames/, uploads/, blobs/
 * or ocr/ beside it (made by an earlier version), which stay in use.
 * Returns the rule used. */
enum config_data_rule config_data_dir(const struct config *c, char *out, size_t n);
/* The XDG data directory, $XDG_DATA_HOME/dossier or ~/.local/share/dossier, into out. */
void config_default_data_dir(char *out, size_t n);
/* The config file's path, $XDG_CONFIG_HOME/dossier/config or ~/.config/dossier/config, into out. */
void config_default_file(char *out, size_t n);
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
