/*
 * search_modes.h — `dossier search`'s --semantic, --hybrid and --text, and
 * the printing of semantic and hybrid hits (pipeline/semantic.h), shared with
 * `dossier similar`.
 */
#ifndef DOSSIER_CLI_SEARCH_MODES_H
#define DOSSIER_CLI_SEARCH_MODES_H

#include <getopt.h>

#include "cli/common.h"
#include "pipeline/semantic.h"

enum { OPT_SM_SEMANTIC = 1900, OPT_SM_HYBRID, OPT_SM_TEXT, OPT_SM_OFFLINE, OPT_SM_EMBED_MODEL };

struct search_modes {
	enum search_mode mode;     /* SEARCH_AUTO unless a flag said */
	int offline;               /* --offline: never ask the engine (full-text only) */
	const char *embed_model;   /* --embed-model NAME, or NULL */
};

#define SEARCH_MODES_LONGOPTS \
	{"semantic", no_argument, NULL, OPT_SM_SEMANTIC}, {"hybrid", no_argument, NULL, OPT_SM_HYBRID}, \
	{"text", no_argument, NULL, OPT_SM_TEXT}, {"offline", no_argument, NULL, OPT_SM_OFFLINE}, \
	{"embed-model", required_argument, NULL, OPT_SM_EMBED_MODEL}, \
	{"engine", required_argument, NULL, OPT_ENGINE}, {"llm-url", required_argument, NULL, OPT_LLM_URL}, \
	{"ollama", required_argument, NULL, OPT_OLLAMA}

#define SEARCH_MODES_HELP \
	"  --hybrid              words and meaning, fused by reciprocal rank fusion (the default\n" \
	"                        when vectors of the embedding model are stored)\n" \
	"  --semantic            by meaning only: the query embedded, cosine over the stored chunks\n" \
	"  --text                by words only (full-text search, the default without vectors)\n" \
	"  --embed-model NAME    the embedding model (default: embed_model, nomic-embed-text)\n" \
	"  --offline             never ask the engine: full-text only, and say so\n" \
	"  --engine ollama|openai|auto, --llm-url URL, --ollama URL  the engine that embeds the query,\n" \
	"                        as for analyze (default: the config's, else Ollama's address)\n"

/* 1 if opt was one of these options. */
int search_modes_take(struct search_modes *m, int opt, const char *arg);
/* Applies --embed-model and --offline to cfg (a bad value: prints, returns
 * -1); then 1 if the search goes through search_modes_run (--semantic,
 * --hybrid, --offline, or by default when vectors of the model are stored),
 * 0 for the plain full-text search. */
int search_modes_wanted(const struct search_modes *m, struct config *cfg, store *st);
/* Runs and prints the search; returns the exit status (0 found, 1 none, 2
 * usage, 3 environment). cfg is changed by --embed-model / --offline. */
/* A semantic or hybrid search and its printing (search_engine.c). */
int search_modes_run(const struct search_modes *m, struct config *cfg, store *st, const char *query,
                     const struct doc_filter *f, int limit, int json);
typedef int (*search_modes_run_fn)(const struct search_modes *m, struct config *cfg, store *st, const char *query,
                                   const struct doc_filter *f, int limit, int json);
/* search_modes_run once search_engine_install ran (dossier-full's main); NULL in
 * the lean front, whose `search` then answers CLI_RUN_IN_FULL. */
extern search_modes_run_fn search_modes_runner;
void search_engine_install(void);
/* Prints r as search prints its hits. */
void search_modes_print(const struct search_result *r, int json);
/* The engine for the embedding model, or NULL (offline, unreachable); free with llm_backend_free. */
struct llm_backend *search_modes_engine(struct config *cfg);

#endif
