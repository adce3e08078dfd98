/* cmd_prune.c — `dossier prune`: forget the documents whose file is gone. */
#include "cli/cli.h"
#include "cli/common.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/forget.h"
#include "store/recorder.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char usage[] =
	"usage: dossier prune [OPTIONS]\n"
	"\n"
	"Forgets every document whose file is gone (deleted, or moved where dossier\n"
	"has not seen it again), as 'dossier rm' does. A file on a disk that is not\n"
	"mounted looks gone too: run with --dry-run first.\n"
	"\n"
	"Options:\n"
	"  --dry-run             list them and change nothing\n"
	CLI_SHARED_CONFIG_HELP
	"  -h, --help            this help\n";

enum { OPT_DRY_RUN = 2000 };

struct gone {
	int64_t *ids;
	size_t n, cap;
	int dry_run;
};

static int collect_gone(const struct doc_rec *d, const char *title, void *user)
{
	(void)title;
	struct gone *g = user;
	struct stat sb;
	/* only a file that is certainly gone: EACCES or EIO say nothing about it */
	if (stat(d->path, &sb) == 0 || errno != ENOENT)
		return 0;
	if (g->dry_run) {
		char *path = str_escape(d->path, 1);
		printf("would forget %lld %s (file gone)\n", (long long)d->id, path);
		free(path);
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 64;
		g->ids = realloc(g->ids, g->cap * sizeof *g->ids);
		if (!g->ids)
			abort();
	}
	g->ids[g->n++] = d->id;
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"dry-run", no_argument, NULL, OPT_DRY_RUN}, {"db", required_argument, NULL, OPT_DB},
		{"profile", required_argument, NULL, OPT_PROFILE}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	struct gone g = {0};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_DRY_RUN: g.dry_run = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("prune");
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dossier prune: unexpected argument '%s' (to forget one document, use 'dossier rm')\n",
		        argv[optind]);
		return cli_bad_usage("prune");
	}
	struct config cfg;
	store *st;
	int rc = cli_config(&o, &cfg);
	if (rc || (rc = cli_open_store(&cfg, &st)))
		return rc;
	struct err e = {0};
	struct doc_filter all = {.copies = 1};
	bus *b = NULL;
	if (store_docs_find(st, &all, 0, 0, collect_gone, &g, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out;
	}
	if (g.dry_run) {
		printf("%zu document%s whose file is gone%s\n", g.n, g.n == 1 ? "" : "s",
		       g.n ? "; run 'dossier prune' to forget them" : "");
		goto out;
	}
	char data_dir[PATH_MAX];
	config_data_dir(&cfg, data_dir, sizeof data_dir);
	struct err be = {0};
	if (event_bus_open(cfg.db_path, &b, &be))
		b = NULL; /* pruning still works; the events are not stored */
	size_t forgotten = 0;
	for (size_t i = 0; i < g.n; i++) {
		struct forget_stats fs;
		int frc = pipeline_forget_ev(st, data_dir, b, g.ids[i], FORGET_PATH, &fs, &e);
		if (frc == DOSSIER_ENOTFOUND)
			continue;  /* forgotten meanwhile by another process */
		if (frc) {
			fprintf(stderr, "dossier: %s\n", e.msg);
			rc = EXIT_ENV;
			break;
		}
		char *path = str_escape(fs.path, 1), what[256];
		forget_stats_describe(&fs, what, sizeof what);
		printf("forgot %lld %s (%s)\n", (long long)fs.id, path, what);
		free(path);
		forget_stats_clear(&fs);
		forgotten++;
	}
	printf("forgot %zu document%s whose file is gone\n", forgotten, forgotten == 1 ? "" : "s");
out:
	bus_free(b);
	free(g.ids);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_prune = {
	.name = "prune", .summary = "forget the documents whose file is gone (--dry-run lists them)",
	.usage = usage, .run = run,
};
