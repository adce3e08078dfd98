#include "cli/cli.h"
#include "dossier_config.h"

#include <stdio.h>
#include <string.h>

extern const struct cli_cmd cmd_analyze, cmd_list, cmd_show, cmd_search, cmd_models, cmd_plan, cmd_serve, cmd_watch, cmd_export;

static const struct cli_cmd *const commands[] = {
	&cmd_analyze, &cmd_list, &cmd_show, &cmd_search, &cmd_models, &cmd_plan, &cmd_serve, &cmd_watch, &cmd_export,
	NULL,
};

static void usage(FILE *f)
{
	fprintf(f, "usage: dossier COMMAND [OPTIONS] [ARGS]\n\n"
	           "Turns a folder of mixed files into searchable, structured dossiers.\n\n"
	           "Commands:\n");
	for (size_t i = 0; commands[i]; i++)
		fprintf(f, "  %-8s %s\n", commands[i]->name, commands[i]->summary);
	fprintf(f, "\nRun 'dossier COMMAND --help' for a command's options.\n");
}

int cli_main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
		printf("dossier %s\n", DOSSIER_VERSION);
		return 0;
	}
	for (size_t i = 0; commands[i]; i++)
		if (!strcmp(argv[1], commands[i]->name))
			return commands[i]->run(argc - 1, argv + 1);
	fprintf(stderr, "dossier: unknown command '%s' (run 'dossier --help')\n", argv[1]);
	return EXIT_USAGE;
}
