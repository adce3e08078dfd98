/*
 * cli.h — the command-line front end. Each subcommand is one file in src/cli/
 * exporting one `const struct cli_cmd`; cli.c holds the table and dispatch.
 */
#ifndef DOSSIER_CLI_H
#define DOSSIER_CLI_H

/* Exit codes (DESIGN.md): */
enum {
	EXIT_OK_ = 0,        /* success */
	EXIT_DOCS_FAILED = 1,/* some documents failed */
	EXIT_USAGE = 2,      /* bad usage */
	EXIT_ENV = 3,        /* environment problem: database, Ollama unusable, ... */
};

struct cli_cmd {
	const char *name;    /* "analyze" */
	const char *summary; /* one line for `dossier --help` */
	const char *usage;   /* full --help text */
	int (*run)(int argc, char **argv);  /* argv[0] is the subcommand name */
};

int cli_main(int argc, char **argv);

#endif
