/* cmd_list.c — `dossier list`: the documents in the database. */
#include "cli/cli.h"
#include "cli/common.h"
#include "core/err.h"
#include "core/util.h"

#include <jansson.h>
#include <string.h>

static const char usage[] =
	"usage: dossier list [OPTIONS]\n"
	"\n"
	"Lists the documents in the database with their id, status, kind and path.\n"
	"\n"
	"Options:\n"
	"  --json                one JSON array of documents\n"
	"  --status S            only documents with this status (queued running done partial\n"
	"                        failed unsupported)\n"
	"  --kind K              only this kind (text pdf image audio video unsupported)\n"
	CLI_SHARED_CONFIG_HELP
	"  -h, --help            this help\n";

struct list_ctx {
	int json;
	json_t *arr;
	int n;
};

static int print_doc(const struct doc_rec *d, void *user)
{
	struct list_ctx *c = user;
	c->n++;
	if (c->json) {
		json_array_append_new(c->arr, json_pack("{s:I,s:o,s:s,s:s,s:s,s:I,s:s,s:o}", "id", (json_int_t)d->id,
		                                        "path", json_string_lossy(d->path), "kind", d->kind, "mime", d->mime ? d->mime : "",
		                                        "status", d->status, "bytes", (json_int_t)d->bytes, "sha256",
		                                        d->sha256, "error", json_string_lossy(d->error)));
		return 0;
	}
	char *path = str_escape(d->path, 1);
	printf("%5lld  %-11s %-11s %s\n", (long long)d->id, d->status, d->kind, path);
	free(path);
	if (d->error && (!strcmp(d->status, "failed") || !strcmp(d->status, "unsupported"))) {
		char *msg = str_escape(d->error, 1);
		printf("%5s  %s\n", "", msg);
		free(msg);
	}
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, OPT_JSON},     {"status", required_argument, NULL, OPT_STATUS},
		{"kind", required_argument, NULL, OPT_KIND}, {"db", required_argument, NULL, OPT_DB},
		{"profile", required_argument, NULL, OPT_PROFILE}, {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	struct list_ctx c = {0};
	const char *status = NULL, *kind = NULL;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_JSON: c.json = 1; break;
		case OPT_STATUS: status = optarg; break;
		case OPT_KIND: kind = optarg; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("list");
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dossier list: unexpected argument '%s'\n", argv[optind]);
		return cli_bad_usage("list");
	}
	struct config cfg;
	store *st;
	int rc = cli_config(&o, &cfg);
	if (rc || (rc = cli_open_store(&cfg, &st)))
		return rc;
	struct err e = {0};
	c.arr = json_array();
	if (store_doc_list(st, status, kind, 0, 0, print_doc, &c, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
	} else if (c.json) {
		json_dumpf(c.arr, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (!c.n) {
		printf("no documents yet: run 'dossier analyze PATH'\n");
	}
	json_decref(c.arr);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_list = {
	.name = "list", .summary = "list the documents and their status", .usage = usage, .run = run,
};
