/* cmd_search.c — `dossier search`: full-text, semantic and hybrid search over the dossiers. */
#include "cli/cli.h"
#include "cli/common.h"
#include "cli/search_modes.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/filter.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: dossier search [OPTIONS] QUERY...\n"
	"\n"
	"Finds dossiers whose title, summary, tags, keywords, text, transcript or OCR\n"
	"text match QUERY, best first: a word in the title counts most, then the\n"
	"summary, then tags and keywords, then the text. Words are stemmed ('run'\n"
	"finds 'running'); case and accents do not matter. The snippet shows where\n"
	"the text, transcript, OCR or summary matched, the words in [ ].\n"
	"\n"
	"Query:\n"
	"  word word             every word must match\n"
	"  inv*                  a prefix: invoice, invoices, inventory\n"
	"  \"river warden\"        a phrase (quote it for the shell: '\"river warden\"')\n"
	"  kingfisher OR heron   either word (OR in capitals; binds before the other words)\n"
	"  -draft                without this word (beside a word that must match)\n"
	"  Any other character is plain text: nothing you type is a syntax error.\n"
	"  A query that starts with '-' goes after '--': dossier search -- -draft report\n"
	"\n"
	"Options:\n"
	SEARCH_MODES_HELP
	"  --limit N             at most N results (default 20)\n"
	"  --kind K              only this kind (text pdf image audio video office epub rtf mail\n"
	"                        table unsupported)\n"
	"  --status S            only this status (queued running assembling done partial failed\n"
	"                        encrypted unsupported duplicate)\n"
	"  --since DATE, --until DATE  only files modified in this range (YYYY-MM-DD, or YYYY-MM,\n"
	"                        or YYYY; local time; --until includes the whole day)\n"
	"  --taken-since DATE, --taken-until DATE  only content made in this range: a photo's\n"
	"                        capture time, an office file's creation, a mail's date\n"
	"  --parent ID           only documents found inside document ID (an archive, a mail)\n"
	"  --tag TAG             only dossiers with this tag (case does not matter)\n"
	"  --lang CODE           only dossiers in this language (ISO 639-1, e.g. en, de)\n"
	"  --json                one JSON array of {id, path, name, title, snippet, rank, kind,\n"
	"                        status, bytes, mtime, missing}\n"
	CLI_SHARED_CONFIG_HELP
	"  -h, --help            this help\n"
	"\n"
	"Exit status: 0 matches found, 1 none, 2 usage (a bad filter value, no words).\n";


struct search_ctx {
	int json, n, color;
	json_t *arr;
};

static int print_hit(const struct search_hit *h, void *user)
{
	struct search_ctx *c = user;
	c->n++;
	if (c->json) {
		const char *base = h->path ? strrchr(h->path, '/') : NULL;
		json_t *o = json_pack("{s:I,s:o,s:s,s:s,s:f}", "id", (json_int_t)h->id, "path", json_string_lossy(h->path),
		                      "title", h->title ? h->title : "", "snippet", h->snippet ? h->snippet : "", "rank",
		                      h->rank);
		json_object_set_new(o, "name", json_string_lossy(h->name ? h->name : base ? base + 1 : h->path));
		json_object_set_new(o, "kind", json_string(h->kind ? h->kind : ""));
		json_object_set_new(o, "status", json_string(h->status ? h->status : ""));
		json_object_set_new(o, "bytes", json_integer((json_int_t)h->bytes));
		json_object_set_new(o, "mtime", json_integer((json_int_t)h->mtime));
		json_object_set_new(o, "missing", json_boolean(h->missing_at > 0));
		json_array_append_new(c->arr, o);
		return 0;
	}
	/* a child or an upload is shown by its own name */
	char *path = str_escape(h->name ? h->name : h->path, 1);
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
		CLI_FILTER_LONGOPTS,
		SEARCH_MODES_LONGOPTS,
		{"help", no_argument, NULL, 'h'},              {NULL, 0, NULL, 0},
	};
	struct search_modes sm = {0};
	struct cli_opts o = {0};
	struct search_ctx c = {0};
	struct doc_filter f = {0};
	struct err e = {0};
	int limit = 20, opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		if (search_modes_take(&sm, opt, optarg))
			continue;
		int taken = cli_filter_take(&f, opt, optarg, "search");
		if (taken < 0)
			return cli_bad_usage("search");
		if (taken)
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
	if (doc_filter_check(&f, &e)) {
		fprintf(stderr, "dossier search: %s\n", e.msg);
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
	int sw = search_modes_wanted(&sm, &cfg, st);
	if (sw) {
		/* the lean front links no engine: dossier-full embeds the query */
		rc = sw < 0 ? EXIT_USAGE : !search_modes_runner ? CLI_RUN_IN_FULL
		                                                : search_modes_runner(&sm, &cfg, st, query, &f, limit, c.json);
		store_close(st);
		return rc;
	}
	c.arr = json_array();
	c.color = cli_color(stdout);
	if (store_search_filtered(st, query, &f, limit, print_hit, &c, &e)) {
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
