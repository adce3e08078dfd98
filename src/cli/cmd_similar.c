/* cmd_similar.c — `dossier similar`: the documents nearest in meaning to one ("more like this"). */
#include "cli/cli.h"
#include "cli/common.h"
#include "cli/search_modes.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: dossier similar [OPTIONS] ID|PATH\n"
	"\n"
	"Lists the documents whose text is nearest in meaning to document ID (or the\n"
	"document of PATH): the mean of its chunks' vectors against every stored chunk\n"
	"of the embedding model, best first, each with the chunk that matched and where\n"
	"(page, time in a recording). Needs vectors, made by `dossier analyze` with an\n"
	"embedding model; the engine is not asked.\n"
	"\n"
	"Options:\n"
	"  --limit N             at most N documents (default 10)\n"
	"  --embed-model NAME    the embedding model whose vectors to use (default: embed_model)\n"
	"  --json                one JSON array, as `dossier search --semantic --json`\n"
	CLI_SHARED_CONFIG_HELP
	"  -h, --help            this help\n"
	"\n"
	"Exit status: 0 documents found, 1 none, 2 usage, 3 no vectors or no database.\n";

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"limit", required_argument, NULL, OPT_LIMIT}, {"json", no_argument, NULL, OPT_JSON},
		{"db", required_argument, NULL, OPT_DB},       {"profile", required_argument, NULL, OPT_PROFILE},
		{"embed-model", required_argument, NULL, OPT_SM_EMBED_MODEL},
		{"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	struct search_modes sm = {.mode = SEARCH_SEMANTIC};
	int limit = 10, json = 0, opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg) || search_modes_take(&sm, opt, optarg))
			continue;
		switch (opt) {
		case OPT_LIMIT:
			limit = atoi(optarg);
			if (limit <= 0) {
				fprintf(stderr, "dossier similar: --limit takes a positive number\n");
				return cli_bad_usage("similar");
			}
			break;
		case OPT_JSON: json = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("similar");
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "dossier similar: give one document (ID or PATH)\n");
		return cli_bad_usage("similar");
	}
	struct config cfg;
	store *st;
	int rc = cli_config(&o, &cfg);
	if (rc || (rc = cli_open_store(&cfg, &st)))
		return rc;
	if (search_modes_wanted(&sm, &cfg, st) < 0) {
		store_close(st);
		return EXIT_USAGE;
	}
	int64_t id;
	if (cli_resolve_doc(st, argv[optind], &id)) {
		store_close(st);
		return EXIT_USAGE;
	}
	struct search_request rq = {.limit = limit, .mode = SEARCH_SEMANTIC, .similar_to = id};
	struct search_result r;
	struct err e = {0};
	if (search_run(st, NULL, &cfg, &rq, &r, &e)) {
		fprintf(stderr, "dossier similar: %s\n", e.msg);
		store_close(st);
		return e.code == DOSSIER_EINVAL ? EXIT_USAGE : EXIT_ENV;
	}
	search_modes_print(&r, json);
	rc = r.n ? 0 : EXIT_DOCS_FAILED;
	if (!r.n && !json)
		printf("no other document has vectors of '%s'\n", r.model);
	search_result_clear(&r);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_similar = {
	.name = "similar", .summary = "the documents nearest in meaning to one (more like this)", .usage = usage,
	.run = run,
};
