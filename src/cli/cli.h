/*
 * cli.h — the command-line front end. Each subcommand is one file in src/cli/
 * exporting one `const struct cli_cmd`; cli.c holds the table and dispatch.
 */
#ifndef DOSSIER_CLI_H
#define DOSSIER_CLI_H

#include <stddef.h>
#include <stdio.h>

/* Exit codes (DESIGN.md): */
enum {
	EXIT_OK_ = 0,        /* success */
	EXIT_DOCS_FAILED = 1,/* some documents failed */
	EXIT_USAGE = 2,      /* bad usage */
	EXIT_ENV = 3,        /* environment problem: database, Ollama unusable, ... */
	CLI_RUN_IN_FULL = 0x100, /* never an exit status: the lean front's command asks dossier-full to run it */
};

struct cli_cmd {
	const char *name;    /* "analyze" */
	const char *summary; /* one line for `dossier --help` */
	const char *usage;   /* full --help text */
	int (*run)(int argc, char **argv);  /* argv[0] is the subcommand name */
};

int cli_main(int argc, char **argv);

/* The command table, NULL-terminated (static storage). */
const struct cli_cmd *const *cli_commands(void);
/* The command called name, or NULL. */
const struct cli_cmd *cli_command_find(const char *name);
/* Edits (insert, delete, substitute, swap two neighbours) from a to b. */
size_t cli_edit_distance(const char *a, const char *b);

/* cli_docs.c: generated from the command table and the commands' help texts. */
/* The man page, dossier.1, as roff on out. Returns 0. */
int cli_docs_man(FILE *out);
/* The completion script for shell ("bash" or "zsh") on out; 2 for another shell. */
int cli_docs_completion(const char *shell, FILE *out);

#endif
