/* cmd_show.c — `dossier show`: one dossier as text, JSON, Markdown or subtitles. */
#include "cli/cli.h"
#include "cli/common.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/pipeline.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: dossier show [OPTIONS] ID|PATH\n"
	"\n"
	"Shows the dossier of one document (an id from 'dossier list', or its path).\n"
	"\n"
	"Options:\n"
	"  --json                the dossier JSON (docs/dossier.schema.json)\n"
	"  --md                  Markdown (the default is the same, for reading)\n"
	"  --srt, --vtt          the transcript as SubRip or WebVTT subtitles\n"
	CLI_SHARED_CONFIG_HELP
	"  -h, --help            this help\n";

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"json", no_argument, NULL, OPT_JSON}, {"md", no_argument, NULL, OPT_MD},
		{"srt", no_argument, NULL, OPT_SRT},   {"vtt", no_argument, NULL, OPT_VTT},
		{"db", required_argument, NULL, OPT_DB}, {"profile", required_argument, NULL, OPT_PROFILE},
		{"help", no_argument, NULL, 'h'},      {NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	int format = OPT_MD, opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_JSON: case OPT_MD: case OPT_SRT: case OPT_VTT: format = opt; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("show");
		}
	}
	if (optind != argc - 1) {
		fprintf(stderr, "dossier show: name one document (an id or a path)\n");
		return cli_bad_usage("show");
	}
	struct config cfg;
	store *st;
	int rc = cli_config(&o, &cfg);
	if (rc || (rc = cli_open_store(&cfg, &st)))
		return rc;
	int64_t id;
	char *json = NULL;
	struct err e = {0};
	if ((rc = cli_resolve_doc(st, argv[optind], &id)))
		goto out;
	/* a second copy of known content has its original's dossier */
	struct doc_rec cp;
	if (store_doc_get(st, id, &cp, NULL) == 0) {
		if (!strcmp(cp.status, "duplicate") && cp.same_as > 0) {
			char *path = str_escape(cp.path, 1);
			fprintf(stderr, "dossier: %s has the same content as document %lld: showing its dossier\n", path,
			        (long long)cp.same_as);
			free(path);
			id = cp.same_as;
		}
		doc_rec_clear(&cp);
	}
	if (store_dossier_get(st, id, &json, &e)) {
		struct doc_rec d;
		if (store_doc_get(st, id, &d, NULL) == 0) {
			double when = 0;
			char *why = NULL, ts[32] = "";
			char *path = str_escape(d.path, 1), *msg = str_escape(d.error, 1);
			/* a queued document whose last try failed says when it is tried again */
			if (!d.error && store_doc_next_attempt(st, id, &when, &why, NULL) == 0 && why) {
				char *safe_why = str_escape(why, 1);
				if (when > 0)
					time_rfc3339(when, ts);
				fprintf(stderr, "dossier: %s is %s: %s; next attempt %s%s\n", path, d.status, safe_why,
				        when > 0 ? "at " : "on the next run", ts);
				free(safe_why);
			} else {
				fprintf(stderr, "dossier: %s is %s%s%s\n", path, d.status, msg ? ": " : "",
				        msg ? msg : " (no dossier yet; run 'dossier analyze' on it)");
			}
			free(why);
			free(path);
			free(msg);
			doc_rec_clear(&d);
		}
		rc = EXIT_DOCS_FAILED;
		goto out;
	}
	json_t *d = json_loads(json, 0, NULL);
	if (!d) {
		fprintf(stderr, "dossier: the stored dossier of document %lld is not valid JSON\n", (long long)id);
		rc = EXIT_ENV;
		goto out;
	}
	pipeline_dossier_add_copies(st, id, d);
	if (format == OPT_JSON) {
		char *all = json_object_get(d, "copies") ? json_dumps(d, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) : NULL;
		fputs(all ? all : json, stdout);
		putchar('\n');
		free(all);
		json_decref(d);
		goto out;
	}
	char *text = format == OPT_MD ? dossier_to_markdown(d) : dossier_transcript_subtitles(d, format == OPT_SRT);
	if (!text) {
		fprintf(stderr, "dossier: document %lld has no transcript\n", (long long)id);
		rc = EXIT_DOCS_FAILED;
	} else {
		/* text from the file itself: its control characters must not reach a terminal raw */
		char *safe = str_escape(text, 1);
		fputs(safe, stdout);
		free(safe);
	}
	free(text);
	json_decref(d);
out:
	free(json);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_show = {
	.name = "show", .summary = "show one dossier (text, --json, --md, --srt, --vtt)", .usage = usage, .run = run,
};
