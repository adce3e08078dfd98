/* common.h — helpers shared by the subcommands in src/cli/. */
#ifndef DOSSIER_CLI_COMMON_H
#define DOSSIER_CLI_COMMON_H

#include <getopt.h>
#include <stdio.h>

#include "core/config.h"
#include "store/store.h"

/* Options most commands share; a command lists the ones it takes. */
enum {
	OPT_PROFILE = 1000, OPT_POLICY, OPT_BUDGET, OPT_OFFLINE, OPT_EVENTS, OPT_DB, OPT_JSON,
	OPT_MD, OPT_LIMIT, OPT_SWAP_DELAY, OPT_FORCE, OPT_TEXT_MODEL, OPT_VISION_MODEL,
	OPT_NUM_CTX, OPT_TRANSCRIBER, OPT_OCR_LANG, OPT_SRT, OPT_VTT, OPT_LISTEN, OPT_TOKEN,
	OPT_STATUS, OPT_KIND, OPT_MAX_FRAMES, OPT_QUIET, OPT_OLLAMA, OPT_IDLE_TIMEOUT, OPT_ENGINE, OPT_LLM_URL,
	OPT_SINCE, OPT_UNTIL, OPT_TAG, OPT_LANG, OPT_TAKEN_SINCE, OPT_TAKEN_UNTIL, OPT_PARENT,
	OPT_DATA_DIR,
	OPT_EMBED_MODEL,
};

/* Flags collected before the config is built (so the profile is known first). */
struct cli_opts {
	const char *profile, *policy, *budget, *db, *swap_delay, *text_model, *vision_model;
	const char *num_ctx, *transcriber, *ocr_lang, *max_frames, *ollama, *idle_timeout, *engine, *llm_url;
	const char *data_dir;
	const char *embed_model;  /* --embed-model NAME ("none" = no embedding model) */
	int offline;
};

/* Handles a shared option; returns 1 if it was one. */
int cli_opts_take(struct cli_opts *o, int opt, const char *arg);
/* Builds the config: profile defaults, config file, environment, then flags.
 * Prints the problem and returns EXIT_USAGE (2) on a bad value. */
int cli_config(const struct cli_opts *o, struct config *cfg);
/* Opens the store; prints the problem and returns EXIT_ENV (3) on failure. */
int cli_open_store(const struct config *cfg, store **out);
/* Prints "dossier CMD: unknown option; run 'dossier CMD --help'" and returns 2. */
int cli_bad_usage(const char *cmd);
/* Resolves ID or PATH to a document id; prints and returns non-zero if none. */
int cli_resolve_doc(store *st, const char *arg, int64_t *id);
/* 1 if stdout/stderr should get colour (a terminal and NO_COLOR unset). */
int cli_color(FILE *f);

/* The long options of a run's analysis settings (analyze and serve), handled by cli_opts_take. */
#define CLI_ANALYSIS_LONGOPTS \
	{"profile", required_argument, NULL, OPT_PROFILE}, \
	{"policy", required_argument, NULL, OPT_POLICY}, \
	{"budget", required_argument, NULL, OPT_BUDGET}, \
	{"offline", no_argument, NULL, OPT_OFFLINE}, \
	{"db", required_argument, NULL, OPT_DB}, \
	{"data-dir", required_argument, NULL, OPT_DATA_DIR}, \
	{"swap-delay", required_argument, NULL, OPT_SWAP_DELAY}, \
	{"text-model", required_argument, NULL, OPT_TEXT_MODEL}, \
	{"vision-model", required_argument, NULL, OPT_VISION_MODEL}, \
	{"embed-model", required_argument, NULL, OPT_EMBED_MODEL}, \
	{"num-ctx", required_argument, NULL, OPT_NUM_CTX}, \
	{"ollama", required_argument, NULL, OPT_OLLAMA}, \
	{"engine", required_argument, NULL, OPT_ENGINE}, \
	{"llm-url", required_argument, NULL, OPT_LLM_URL}, \
	{"transcriber", required_argument, NULL, OPT_TRANSCRIBER}, \
	{"ocr-lang", required_argument, NULL, OPT_OCR_LANG}, \
	{"max-frames", required_argument, NULL, OPT_MAX_FRAMES}, \
	{"idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT}

/* Help lines of --engine and --llm-url (analyze, serve, models). */
#define CLI_ENGINE_HELP \
	"  --engine ollama|openai|auto  the LLM engine (default auto: ask the server what it is)\n" \
	"  --llm-url URL         the LLM engine's address (default: Ollama's, or $OPENAI_BASE_URL for openai;\n" \
	"                        $OPENAI_API_KEY is sent as a bearer token)\n"

#define CLI_SHARED_CONFIG_HELP \
	"  --profile dev|prod    model profile (default: prod, or dev when DEV_MODE=1)\n" \
	"  --db PATH             database (default: $DOSSIER_DB or $XDG_DATA_HOME/dossier/dossier.db)\n"

/* Help of --data-dir (the commands that take CLI_ANALYSIS_LONGOPTS). */
#define CLI_DATA_DIR_HELP \
	"  --data-dir DIR        frames, uploads, OCR checkpoints (default: $DOSSIER_DATA_DIR, else the\n" \
	"                        directory of a database given explicitly, else $XDG_DATA_HOME/dossier)\n"

/* The document filters (pipeline/filter.h) as options: list and search take them. */
#define CLI_FILTER_LONGOPTS \
	{"status", required_argument, NULL, OPT_STATUS}, {"kind", required_argument, NULL, OPT_KIND}, \
	{"since", required_argument, NULL, OPT_SINCE}, {"until", required_argument, NULL, OPT_UNTIL}, \
	{"tag", required_argument, NULL, OPT_TAG}, {"lang", required_argument, NULL, OPT_LANG}, \
	{"taken-since", required_argument, NULL, OPT_TAKEN_SINCE}, \
	{"taken-until", required_argument, NULL, OPT_TAKEN_UNTIL}, {"parent", required_argument, NULL, OPT_PARENT}
struct doc_filter;
/* Takes a filter option into *f: 1 if opt was one (set), 0 if not, -1 for a
 * bad value (the message, naming cmd and the option, is printed). */
int cli_filter_take(struct doc_filter *f, int opt, const char *arg, const char *cmd);

#endif
