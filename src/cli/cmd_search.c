/* cmd_search.c — `dossier search`: full-text search over the dossiers. */
#include "cli/cli.h"
#include "cli/common.h"
#include "core/err.h"
#include "core/util.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: dossier search [OPTIONS] QUERY...\n"
	"\n"
	"Finds dossiers whose title, summary, tags, keywords, text, transcript or OCR\n"
	"text contain every word of QUERY (stemmed: 'run' finds 'running'; 'inv*' is a\n"
	"prefix). Best matches first.\n"
	"\n"
	"Options:\n"
	"  --limit N             at most N results (default 20)\n"
	"  --json                one JSON array of {id, path, title, snippet, rank}\n"
	CLI_SHARED_CONFIG_HELP
	"  -h, --help            this help\n";

struct search_ctx {
	int json, n, color;
	json_t *arr;
};

static int print_hit(const struct search_hit *h, void *user)
{
	struct search_ctx *c = user;
	c->n++;
	if (c->json) {
		json_array_append_new(c->arr, json_pack("{s:I,s:o,s:s,s:s,s:f}", "id", (json_int_t)h->id, "path",
		                                        json_string_lossy(h->path), "title", h->title ? h->title : "", "snippet",
		                                        h->snippet ? h->snippet : "", "rank", h->rank));
		return 0;
	}
	char *path = str_escape(h->path, 1);
	printf("%5lld  %s\n", (long long)h->id, path);
	free(path);
	if (h->title && *h->title) {
		char *title = str_escape(h->title, 1);
		printf("       %s\n", title);
		free(title);
	}
	if (h->snippet && *h->snippet) {
		char *snippet = str_escape(h->snippet, 1);
		printf("       ");
		for (const char *p = snippet; *p; p++) {
			if (*p == '[' && c->color)
				fputs("\033[1;33m", stdout);
			else if (*p == ']' && c->color)
				fputs("\033[0m", stdout);
			else if (*p == '\n')
				putchar(' ');
			else
				putchar(*p);
		}
		putchar('\n');
		free(snippet);
	}
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"limit", required_argument, NULL, OPT_LIMIT}, {"json", no_argument, NULL, OPT_JSON},
		{"db", required_argument, NULL, OPT_DB},       {"profile", required_argument, NULL, OPT_PROFILE},
		{"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	struct search_ctx c = {0};
	int limit = 20, opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_LIMIT:
			limit = atoi(optarg);
			if (limit <= 0) {
				fprintf(stderr, "dossier search: --limit takes a positive number\n");
				return cli_bad_usage("search");
			}
			break;
		case OPT_JSON: c.json = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("search");
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "dossier search: give words to search for\n");
		return cli_bad_usage("search");
	}
	char query[2048] = "";
	for (int i = optind; i < argc; i++) {
		strncat(query, argv[i], sizeof query - strlen(query) - 2);
		strncat(query, " ", sizeof query - strlen(query) - 1);
	}
	struct config cfg;
	store *st;
	int rc = cli_config(&o, &cfg);
	if (rc || (rc = cli_open_store(&cfg, &st)))
		return rc;
	struct err e = {0};
	c.arr = json_array();
	c.color = cli_color(stdout);
	if (store_search(st, query, limit, print_hit, &c, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = e.code == DOSSIER_EINVAL ? EXIT_USAGE : EXIT_ENV;
	} else if (c.json) {
		json_dumpf(c.arr, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (!c.n) {
		printf("no matches for '%s'\n", query);
		rc = EXIT_DOCS_FAILED;
	}
	json_decref(c.arr);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_search = {
	.name = "search", .summary = "full-text search over the dossiers", .usage = usage, .run = run,
};
