/* cmd_list.c — `dossier list`: the documents in the database. */
#include "cli/cli.h"
#include "cli/common.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/filter.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static const char usage[] =
	"usage: dossier list [OPTIONS]\n"
	"\n"
	"Lists the documents in the database, oldest first: id, the file's date and\n"
	"size, status, kind and path, and the dossier's title beneath. A document whose\n"
	"file is gone is marked '(missing since DATE)'; 'dossier prune' forgets those.\n"
	"\n"
	"Options:\n"
	"  --json                one JSON array of documents\n"
	"  --status S            only documents with this status (queued running assembling done\n"
	"                        partial failed encrypted unsupported duplicate); second copies of known\n"
	"                        content are listed under their original ('also at') unless\n"
	"                        --status duplicate asks for them\n"
	"  --kind K              only this kind (text pdf image audio video office epub rtf mail\n"
	"                        table unsupported)\n"
	"  --since DATE, --until DATE  only files modified in this range (YYYY-MM-DD, local time;\n"
	"                        --until includes the day)\n"
	"  --taken-since DATE, --taken-until DATE  only content made in this range: a photo's\n"
	"                        capture time, an office file's creation, a mail's date\n"
	"  --tag TAG, --lang CODE      only dossiers with this tag / language (e.g. en)\n"
	"  --parent ID           only the documents found inside document ID (an archive, a mail)\n"
	"  --missing             only documents whose file is gone\n"
	"  --sort KEY            id (the default, oldest first), name, size or modified; a\n"
	"                        leading '-' reverses it: --sort=-size lists the largest first\n"
	CLI_SHARED_CONFIG_HELP
	"  -h, --help            this help\n";

enum { OPT_MISSING = 2000, OPT_SORT };

struct list_ctx {
	store *st;
	int json;
	int only_missing;        /* --missing: by what stat says now, not what was recorded */
	json_t *arr;
	int n;
	double now;
	/* files found gone or back, recorded after the walk */
	struct mark { int64_t id; double at; } *marks;
	size_t n_marks, cap_marks;
};

static void mark(struct list_ctx *c, int64_t id, double at)
{
	if (c->n_marks == c->cap_marks) {
		c->cap_marks = c->cap_marks ? 2 * c->cap_marks : 32;
		c->marks = realloc(c->marks, c->cap_marks * sizeof *c->marks);
		if (!c->marks)
			abort();
	}
	c->marks[c->n_marks++] = (struct mark){id, at};
}

static void local_date(int64_t t, char out[16])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0 || !localtime_r(&tt, &tm) || !strftime(out, 16, "%Y-%m-%d", &tm))
		snprintf(out, 16, "-");
}

static int copy_json(const struct doc_rec *cp, void *user)
{
	json_array_append_new(user, json_pack("{s:I,s:o}", "id", (json_int_t)cp->id, "path", json_string_lossy(cp->path)));
	return 0;
}

static int copy_line(const struct doc_rec *cp, void *user)
{
	(void)user;
	char *p = str_escape(cp->path, 1);
	printf("%5s  also at %s\n", "", p);
	free(p);
	return 0;
}

static int print_doc(const struct doc_rec *d, const char *title, void *user)
{
	struct list_ctx *c = user;
	/* is the file still there? (ENOENT only: a permission problem says nothing) */
	struct stat sb;
	double missing_at = d->missing_at;
	if (stat(d->path, &sb) != 0 && errno == ENOENT) {
		if (missing_at <= 0) {
			missing_at = c->now;
			mark(c, d->id, c->now);
		}
	} else if (missing_at > 0) {
		missing_at = 0;
		mark(c, d->id, 0);
	}
	if (c->only_missing && missing_at <= 0)
		return 0;
	c->n++;
	const char *base = strrchr(d->path, '/');
	if (c->json) {
		json_t *o = json_pack("{s:I,s:o,s:s,s:s,s:s,s:I,s:s,s:o}", "id", (json_int_t)d->id, "path",
		                      json_string_lossy(d->path), "kind", d->kind, "mime", d->mime ? d->mime : "",
		                      "status", d->status, "bytes", (json_int_t)d->bytes, "sha256", d->sha256, "error",
		                      json_string_lossy(d->error));
		json_object_set_new(o, "title", json_string_lossy(title));
		json_object_set_new(o, "name", json_string_lossy(d->name ? d->name : base ? base + 1 : d->path));
		json_object_set_new(o, "mtime", json_integer((json_int_t)d->mtime));
		json_object_set_new(o, "missing", json_boolean(missing_at > 0));
		if (missing_at > 0) {
			char t[32];
			time_rfc3339(missing_at, t);
			json_object_set_new(o, "missing_since", json_string(t));
		}
		if (d->same_as > 0)
			json_object_set_new(o, "same_as", json_integer((json_int_t)d->same_as));
		json_t *copies = json_array();
		store_doc_copies(c->st, d->id, copy_json, copies, NULL);
		if (json_array_size(copies))
			json_object_set_new(o, "copies", copies);
		else
			json_decref(copies);
		json_array_append_new(c->arr, o);
		return 0;
	}
	if (c->n == 1)
		printf("%5s  %-10s %8s  %-11s %-11s %s\n", "ID", "MODIFIED", "SIZE", "STATUS", "KIND", "PATH / TITLE");
	char date[16], size[32], gone[48] = "";
	local_date(d->mtime, date);
	size_format((uint64_t)(d->bytes > 0 ? d->bytes : 0), size, sizeof size);
	if (missing_at > 0) {
		char day[16];
		local_date((int64_t)missing_at, day);
		snprintf(gone, sizeof gone, "  (missing since %s)", day);
	}
	/* a child or an upload is shown by its own name */
	char *path = str_escape(d->name ? d->name : d->path, 1);
	printf("%5lld  %-10s %8s  %-11s %-11s %s%s\n", (long long)d->id, date, size, d->status, d->kind, path, gone);
	free(path);
	if (d->name && d->parent_id > 0) {
		/* a member or an attachment: where it was found (show names the parent) */
		printf("%5s  inside document %lld\n", "", (long long)d->parent_id);
	} else if (d->name) {
		char *name = str_escape(d->name, 1);
		printf("%5s  uploaded as %s\n", "", name);
		free(name);
	}
	if (title) {
		char *t = str_escape(title, 1);
		printf("%5s  %s\n", "", t);
		free(t);
	}
	if (d->same_as > 0)
		printf("%5s  the same content as document %lld\n", "", (long long)d->same_as);
	store_doc_copies(c->st, d->id, copy_line, NULL, NULL);
	if (d->error && (!strcmp(d->status, "failed") || !strcmp(d->status, "encrypted") ||
	                 !strcmp(d->status, "unsupported"))) {
		char *msg = str_escape(d->error, 1);
		printf("%5s  %s\n", "", msg);
		free(msg);
	}
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_FILTER_LONGOPTS,
		{"json", no_argument, NULL, OPT_JSON},       {"missing", no_argument, NULL, OPT_MISSING},
		{"sort", required_argument, NULL, OPT_SORT},
		{"db", required_argument, NULL, OPT_DB},     {"profile", required_argument, NULL, OPT_PROFILE},
		{"help", no_argument, NULL, 'h'},            {NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	struct list_ctx c = {0};
	struct doc_filter f = {0};
	struct err e = {0};
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		int taken = cli_filter_take(&f, opt, optarg, "list");
		if (taken < 0)
			return cli_bad_usage("list");
		if (taken)
			continue;
		switch (opt) {
		case OPT_JSON: c.json = 1; break;
		case OPT_MISSING: c.only_missing = 1; break;
		case OPT_SORT: {
			static const char *const orders[DOC_ORDER_COUNT] = {"id", "-id", "name", "-name", "size", "-size",
			                                                    "modified", "-modified"};
			size_t i = 0;
			while (i < DOC_ORDER_COUNT && strcmp(optarg, orders[i]))
				i++;
			if (i == DOC_ORDER_COUNT) {
				fprintf(stderr, "dossier list: --sort %s: give id, name, size or modified (a leading '-' "
				        "reverses it, e.g. --sort=-size)\n", optarg);
				return cli_bad_usage("list");
			}
			f.order = (enum doc_order)i;
			break;
		}
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("list");
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dossier list: unexpected argument '%s'\n", argv[optind]);
		return cli_bad_usage("list");
	}
	if (doc_filter_check(&f, &e)) {
		fprintf(stderr, "dossier list: %s\n", e.msg);
		return cli_bad_usage("list");
	}
	int filtered = f.status || f.kind || f.since || f.until || f.tag || f.language || c.only_missing;
	struct config cfg;
	store *st;
	int rc = cli_config(&o, &cfg);
	if (rc || (rc = cli_open_store(&cfg, &st)))
		return rc;
	c.arr = json_array();
	c.now = clock_wall_s();
	c.st = st;
	if (store_docs_find(st, &f, 0, 0, print_doc, &c, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
	} else if (c.json) {
		json_dumpf(c.arr, stdout, JSON_INDENT(2));
		putchar('\n');
	} else if (!c.n && filtered) {
		printf("no documents match\n");
	} else if (!c.n) {
		printf("no documents yet: run 'dossier analyze PATH'\n");
	}
	/* what the walk found, for the page and the next listing; a list must not
	 * fail or wait long because a run holds the database */
	if (c.n_marks) {
		store_busy_timeout(st, 500);
		for (size_t i = 0; i < c.n_marks; i++)
			if (store_doc_set_missing(st, c.marks[i].id, c.marks[i].at, NULL))
				break;
	}
	free(c.marks);
	json_decref(c.arr);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_list = {
	.name = "list", .summary = "list the documents and their status", .usage = usage, .run = run,
};
