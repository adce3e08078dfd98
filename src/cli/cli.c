#include "cli/cli.h"
#include "dossier_config.h"

#include <stdio.h>
#include <string.h>

extern const struct cli_cmd cmd_analyze, cmd_reanalyze, cmd_list, cmd_show, cmd_search, cmd_models, cmd_plan, cmd_serve;
extern const struct cli_cmd cmd_config;
extern const struct cli_cmd cmd_rm, cmd_prune;
extern const struct cli_cmd cmd_watch, cmd_export;
extern const struct cli_cmd cmd_similar;

static const struct cli_cmd *const commands[] = {
	&cmd_analyze, &cmd_reanalyze, &cmd_watch, &cmd_list, &cmd_show, &cmd_search, &cmd_similar, &cmd_export,
	&cmd_rm, &cmd_prune, &cmd_models, &cmd_plan, &cmd_serve, &cmd_config,
	NULL,
};

const struct cli_cmd *const *cli_commands(void)
{
	return commands;
}

const struct cli_cmd *cli_command_find(const char *name)
{
	for (size_t i = 0; name && commands[i]; i++)
		if (!strcmp(name, commands[i]->name))
			return commands[i];
	return NULL;
}

size_t cli_edit_distance(const char *a, const char *b)
{
	/* optimal string alignment: insertions, deletions, substitutions and
	 * swaps of two neighbours ("anaylze") each cost one */
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return la > lb ? la : lb;
	size_t d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

/* "unknown command" and the commands close to what was typed. */
static int unknown_command(const char *typed)
{
	size_t best = (size_t)-1, len = strlen(typed);
	for (size_t i = 0; commands[i]; i++) {
		size_t dist = cli_edit_distance(typed, commands[i]->name);
		if (dist < best)
			best = dist;
	}
	/* close enough to be a slip: two edits, one for a name of three letters or less */
	size_t limit = len <= 3 ? 1 : 2;
	fprintf(stderr, "dossier: unknown command '%s'\n", typed);
	if (best <= limit) {
		int n = 0;
		for (size_t i = 0; commands[i]; i++)
			if (cli_edit_distance(typed, commands[i]->name) == best)
				fprintf(stderr, "%s`%s`", n++ ? " or " : "Did you mean ", commands[i]->name);
		fprintf(stderr, "?\n");
	}
	fprintf(stderr, "Run 'dossier --help' for the list of commands.\n");
	return EXIT_USAGE;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: dossier COMMAND [OPTIONS] [ARGS]\n\n"
	           "Turns a folder of mixed files into searchable, structured dossiers.\n\n"
	           "Commands:\n");
	for (size_t i = 0; commands[i]; i++)
		fprintf(f, "  %-9s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nOptions:\n"
	           "  -h, --help     this help\n"
	           "  -V, --version  print the version and exit\n"
	           "\nRun 'dossier help COMMAND' (or 'dossier COMMAND --help') for a command's options.\n");
}

int cli_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    (!strcmp(argv[1], "help") && (argc == 2 || !strcmp(argv[2], "help")))) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "help")) {
		const struct cli_cmd *c = cli_command_find(argv[2]);
		if (!c)
			return unknown_command(argv[2]);
		fputs(c->usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("dossier %s\n", DOSSIER_VERSION);
		return 0;
	}
	/* hidden: the build makes the man page and the shell completions with these */
	if (!strcmp(argv[1], "--man"))
		return cli_docs_man(stdout);
	if (!strcmp(argv[1], "--completion") && argc == 3)
		return cli_docs_completion(argv[2], stdout);
	const struct cli_cmd *c = cli_command_find(argv[1]);
	if (c)
		return c->run(argc - 1, argv + 1);
	if (argv[1][0] == '-') {
		fprintf(stderr, "dossier: unknown option '%s' (run 'dossier --help')\n", argv[1]);
		return EXIT_USAGE;
	}
	return unknown_command(argv[1]);
}
