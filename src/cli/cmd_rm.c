/* cmd_rm.c — `dossier rm`: forget documents. */
#include "cli/cli.h"
#include "cli/common.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/forget.h"
#include "store/recorder.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: dossier rm [OPTIONS] ID|PATH...\n"
	"\n"
	"Forgets each document (an id from 'dossier list', or its path): its dossier,\n"
	"its steps, its search index entry, the frames and OCR pages kept for it (unless\n"
	"another document has the same content) and, for a file uploaded through\n"
	"'dossier serve', the uploaded copy. Your own files are never deleted; analysing\n"
	"one again makes a new dossier.\n"
	"\n"
	"Copies: when the same content is at two paths it has one dossier. 'rm PATH'\n"
	"forgets that path only (the dossier stays with the other copy); 'rm ID' forgets\n"
	"the dossier and every path it has.\n"
	"\n"
	"Exit status: 0 all forgotten, 1 some were unknown, 2 usage.\n"
	"\n"
	"Options:\n"
	CLI_SHARED_CONFIG_HELP
	"  -h, --help            this help\n";

static void print_forgotten(const struct forget_stats *fs)
{
	char *path = str_escape(fs->path, 1);
	char what[256];
	forget_stats_describe(fs, what, sizeof what);
	printf("forgot %lld %s (%s)\n", (long long)fs->id, path, what);
	fflush(stdout);
	if (fs->file_errors)
		fprintf(stderr, "dossier: %d file%s kept for %s could not be removed\n", fs->file_errors,
		        fs->file_errors == 1 ? "" : "s", path);
	free(path);
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, OPT_DB}, {"profile", required_argument, NULL, OPT_PROFILE},
		{"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("rm");
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "dossier rm: name the documents to forget (ids or paths)\n");
		return cli_bad_usage("rm");
	}
	struct config cfg;
	store *st;
	int rc = cli_config(&o, &cfg);
	if (rc || (rc = cli_open_store(&cfg, &st)))
		return rc;
	char data_dir[PATH_MAX];
	config_data_dir(&cfg, data_dir, sizeof data_dir);
	bus *b = NULL;
	struct err be = {0};
	if (event_bus_open(cfg.db_path, &b, &be))
		b = NULL; /* forgetting still works; the events are not stored */
	for (int i = optind; i < argc; i++) {
		int64_t id;
		if (cli_resolve_doc(st, argv[i], &id)) {
			rc = rc ? rc : EXIT_DOCS_FAILED;
			continue;
		}
		/* a number names the document; a path names that one file */
		char *end;
		long long v = strtoll(argv[i], &end, 10);
		unsigned flags = *argv[i] && !*end && v == id ? 0 : FORGET_PATH;
		struct forget_stats fs;
		struct err e = {0};
		int frc = pipeline_forget_ev(st, data_dir, b, id, flags, &fs, &e);
		if (frc == DOSSIER_ENOTFOUND) {
			/* named twice on the command line, or forgotten meanwhile */
			fprintf(stderr, "dossier: %s\n", e.msg);
			rc = rc ? rc : EXIT_DOCS_FAILED;
			continue;
		}
		if (frc) {
			fprintf(stderr, "dossier: %s\n", e.msg);
			rc = EXIT_ENV;
			break;
		}
		print_forgotten(&fs);
		forget_stats_clear(&fs);
	}
	bus_free(b);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_rm = {
	.name = "rm", .summary = "forget documents (dossier, frames, uploads; never your files)", .usage = usage,
	.run = run,
};
