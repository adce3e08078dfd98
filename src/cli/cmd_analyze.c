/*
 * cmd_analyze.c — `dossier analyze`: ingest the paths, run every queued step,
 * report.
 */
#include "cli/cli.h"
#include "cli/common.h"
#include "cli/run_io.h"
#include "plan/planner.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/children.h"
#include "pipeline/ingest.h"
#include "pipeline/kinds.h"
#include "pipeline/reanalyze.h"
#include "pipeline/runner.h"
#include "sched/sched.h"
#include "store/recorder.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
	"usage: dossier analyze [OPTIONS] PATH...\n"
	"\n"
	"Analyses files and folders (recursively) into dossiers. Unchanged files are\n"
	"not analysed again; a run that was interrupted resumes where it stopped.\n"
	"\n"
	"Options:\n"
	CLI_SHARED_CONFIG_HELP
	CLI_DATA_DIR_HELP
	"  --policy P            sequential | grouped (default) | budget: how models share memory\n"
	"  --budget SIZE         memory budget, e.g. 12G (default: total RAM minus 2 GB)\n"
	"  --offline             never call Ollama: OCR, speech and the offline analysers only\n"
	"  --events FILE|-       write every event as one JSON line to FILE (- = stdout)\n"
	"  --swap-delay SECONDS  fixed wait after unloading a model, as the seed does (default:\n"
	"                        wait until Ollama's /api/ps no longer lists it)\n"
	"  --text-model NAME     text model (default llama3.2:3b dev, llama3.1:8b prod)\n"
	"  --vision-model NAME   vision model (default llava:latest dev, llava:13b prod)\n"
	"  --embed-model NAME    embedding model for semantic search (default nomic-embed-text;\n"
	"                        none = no vectors); a changed model re-embeds\n"
	"  --num-ctx N           context length sent with every LLM request\n"
	"  --ollama URL          Ollama's address (default $OLLAMA_HOST or 127.0.0.1:11434)\n"
	CLI_ENGINE_HELP
	"  --transcriber URL     a Whisper server (OpenAI /v1/audio/transcriptions) instead of\n"
	"                        the embedded speech recogniser\n"
	"  --ocr-lang LANGS      tesseract languages, e.g. eng+deu (default eng)\n"
	"  --max-frames N        frames sampled per video at most (default 32)\n"
	"  --idle-timeout S      give up on an LLM stream silent for S seconds (default 120);\n"
	"                        the step is retried later and the other documents go on\n"
	"  --reanalyze MODE      documents analysed before: changed (default) asks the model\n"
	"                        again where another engine, model or prompt version, or the\n"
	"                        offline analysers, made a result; all re-runs every model\n"
	"                        step; none keeps every result\n"
	"  --force               run even if the planned peak memory exceeds the budget\n"
	"  --no-work             queue the documents and stop: `dossier worker` runs them\n"
	"                        (on this machine or others sharing the database)\n"
	"  --quiet               print only problems and the summary\n"
	"  -h, --help            this help\n"
	"\n"
	"Exit status: 0 all documents analysed; 1 some failed or are partial; 2 usage;\n"
	"3 environment (database unusable, Ollama unreachable: documents stay queued for\n"
	"the next run).\n";

static const char usage_re[] =
	"usage: dossier reanalyze [OPTIONS] ID|PATH...\n"
	"\n"
	"Analyses documents already in the library again with the configured engine and\n"
	"models: the model steps (text analysis, image and frame descriptions, the\n"
	"synthesis) are run anew, and with --full every step (extraction, OCR, speech).\n"
	"A folder names every document under it. The dossier shown until the new one is\n"
	"made is the old one.\n"
	"\n"
	"Options:\n"
	CLI_SHARED_CONFIG_HELP
	"  --full                re-run every step, not only the model steps\n"
	"  --offline             use the offline analysers (no LLM)\n"
	"  --text-model NAME     text model;  --vision-model NAME  vision model\n"
	"  --embed-model NAME    embedding model (none = no vectors)\n"
	CLI_ENGINE_HELP
	"  --events FILE|-       write every event as one JSON line to FILE (- = stdout)\n"
	"  --force               run even if the planned peak memory exceeds the budget\n"
	"  --quiet               print only problems and the summary\n"
	"  -h, --help            this help\n"
	"\n"
	"Exit status: 0 all analysed; 1 some failed, or an ID or PATH is not in the library;\n"
	"2 usage; 3 environment.\n";

enum { OPT_REANALYZE = 1900, OPT_FULL, OPT_NO_WORK };

/* The ids of documents seen again by ingest (re-analysis candidates). */
struct idlist {
	int64_t *v;
	size_t n, cap;
};

static void idlist_add(int64_t id, void *user)
{
	struct idlist *l = user;
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		void *nv = realloc(l->v, l->cap * sizeof *l->v);
		if (!nv)
			abort();
		l->v = nv;
	}
	l->v[l->n++] = id;
}

static int add_child_id(const struct doc_child *c, void *user)
{
	idlist_add(c->id, user);
	return 0;
}

struct under_ctx {
	const char *dir;
	size_t len;
	struct idlist *ids;
};

static int add_under(const struct doc_rec *d, void *user)
{
	struct under_ctx *u = user;
	if (d->path && !strncmp(d->path, u->dir, u->len) && (d->path[u->len] == '/' || u->dir[u->len - 1] == '/'))
		idlist_add(d->id, u->ids);
	return 0;
}

/* Resolves each argument (an id, a document's path, a folder holding
 * documents) into ids; names the ones that are not in the library. */
static int resolve_targets(store *st, char *const *args, int n, struct idlist *ids)
{
	int missing = 0;
	for (int i = 0; i < n; i++) {
		const char *a = args[i];
		int digits = *a != 0;
		for (const char *p = a; *p; p++)
			digits &= isdigit((unsigned char)*p) != 0;
		struct doc_rec d;
		if (digits) {
			if (store_doc_get(st, strtoll(a, NULL, 10), &d, NULL) == 0) {
				idlist_add(d.id, ids);
				doc_rec_clear(&d);
				continue;
			}
		} else {
			char real[PATH_MAX];
			const char *p = realpath(a, real) ? real : a;
			if (store_doc_by_path(st, p, &d, NULL) == 0) {
				idlist_add(d.id, ids);
				doc_rec_clear(&d);
				continue;
			}
			size_t before = ids->n;
			struct under_ctx u = {p, strlen(p), ids};
			if (u.len > 0)
				store_doc_list(st, NULL, NULL, 0, 0, add_under, &u, NULL);
			if (ids->n > before)
				continue;
		}
		fprintf(stderr, "dossier reanalyze: '%s' is no document in the library (see 'dossier list')\n", a);
		missing++;
	}
	return missing;
}

static volatile int cancel_flag;

struct kind_counts {
	struct plan_kind_use k[PLAN_MAX_KINDS];
	size_t n;
};

static int count_kind(const struct doc_rec *d, void *user)
{
	struct kind_counts *kc = user;
	struct plan_kind_use *u = llm_setup_kind(kc->k, kc->n, d->kind);
	if (u) {
		u->count++;
		children_plan_scan(d->path, d->kind, kc->k, kc->n); /* its members, attachments, images */
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	if (cancel_flag)
		_exit(130); /* second Ctrl-C: leave now; the queue resumes next run */
	cancel_flag = 1;
}

/* `analyze` (reanalyze = 0) ingests paths; `reanalyze` (1) queues known documents again. */
static int run_common(int argc, char **argv, int reanalyze)
{
	static const struct option longopts[] = {
		CLI_ANALYSIS_LONGOPTS,
		{"events", required_argument, NULL, OPT_EVENTS},
		{"force", no_argument, NULL, OPT_FORCE},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"reanalyze", required_argument, NULL, OPT_REANALYZE},
		{"full", no_argument, NULL, OPT_FULL},
		{"no-work", no_argument, NULL, OPT_NO_WORK},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = reanalyze ? "reanalyze" : "analyze";
	struct cli_opts o = {0};
	const char *events_path = NULL;
	int force = 0, quiet = 0, no_work = 0, opt;
	enum reanalyze_mode re_mode = reanalyze ? REANALYZE_ALL : REANALYZE_CHANGED;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_EVENTS: events_path = optarg; break;
		case OPT_FORCE: force = 1; break;
		case OPT_QUIET: quiet = 1; break;
		case OPT_NO_WORK: no_work = 1; break;
		case OPT_REANALYZE:
			if (reanalyze || reanalyze_mode_parse(optarg, &re_mode) || re_mode == REANALYZE_FULL) {
				fprintf(stderr, "dossier analyze: --reanalyze takes changed, all or none, not '%s'\n", optarg);
				return cli_bad_usage(cmd);
			}
			break;
		case OPT_FULL:
			if (!reanalyze)
				return cli_bad_usage(cmd);
			re_mode = REANALYZE_FULL;
			break;
		case 'h': fputs(reanalyze ? usage_re : usage, stdout); return 0;
		default: return cli_bad_usage(cmd);
		}
	}
	if (optind >= argc) {
		fprintf(stderr, reanalyze ? "dossier reanalyze: name at least one document (an ID or a PATH)\n"
		                          : "dossier analyze: name at least one file or folder\n");
		return cli_bad_usage(cmd);
	}
	struct config cfg;
	int rc = cli_config(&o, &cfg);
	if (rc)
		return rc;

	store *st = NULL;
	if ((rc = cli_open_store(&cfg, &st)))
		return rc;

	struct err e = {0};
	struct run_io io;
	enum progress_mode mode = quiet ? PROGRESS_QUIET : isatty(fileno(stderr)) ? PROGRESS_LIVE : PROGRESS_PLAIN;
	if ((rc = run_io_open(&cfg, events_path, mode, &io))) {
		store_close(st);
		return rc;
	}
	bus *b = io.bus;

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* LLM backend and residency manager (unless offline) */
	struct llm_setup llm = {0};
	if ((rc = llm_setup_start(&cfg, b, &llm)))
		goto out;

	double t0 = clock_mono_s();
	classifier *cls = NULL;
	if (classifier_new(&cls, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out_llm;
	}
	struct ingest_stats is = {0};
	struct idlist known = {0};
	int not_found = 0, n_re_docs = 0, n_re_steps = 0;
	if (reanalyze) {
		not_found = resolve_targets(st, argv + optind, argc - optind, &known);
	} else {
		struct ingest_opts iopts = {.on_known = idlist_add, .user = &known};
		rc = ingest_paths_opts(st, cls, b, argv + optind, argc - optind, &iopts, &is, &e);
	}
	classifier_free(cls);
	if (rc) {
		free(known.v);
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out_llm;
	}
	/* re-analysis: the documents seen again whose results another engine,
	 * model or the offline analysers made */
	struct made_by_now now;
	reanalyze_now(&cfg, llm.unavailable ? NULL : llm.backend, cfg.offline, &now);
	if (reanalyze && now.offline && re_mode != REANALYZE_FULL && !cfg.offline)
		fprintf(stderr, "dossier reanalyze: no LLM engine is reachable: the model steps will wait for it\n");
	if (reanalyze && cfg.offline)
		now.offline = 1;
	for (size_t i = 0; i < known.n; i++) {
		int n = 0;
		struct err re = {0};
		if (reanalyze_document(st, b, known.v[i], &now, re_mode, &n, &re))
			fprintf(stderr, "dossier: %s\n", re.msg);
		n_re_docs += n > 0;
		n_re_steps += n;
		/* the documents found inside it (an archive's members, a mail's
		 * attachments) are due on the same terms: they join the list */
		store_doc_children(st, known.v[i], add_child_id, &known, NULL);
	}
	free(known.v);
	if (n_re_docs && !reanalyze)
		fprintf(stderr, "dossier: %d document(s) were analysed by another engine or model, or offline: "
		        "analysing them again (--reanalyze none keeps them)\n", n_re_docs);

	if (no_work) {
		int64_t waiting = 0;
		store_doc_count(st, "queued", &waiting, NULL);
		run_io_stop_progress(&io);
		printf("queued %lld document(s) for the workers; unchanged %d, failed %d, unsupported %d", (long long)waiting,
		       is.unchanged, is.failed, is.unsupported);
		if (is.duplicates)
			printf(", %d cop%s of files already known", is.duplicates, is.duplicates == 1 ? "y" : "ies");
		printf(" in %.1f s\n", clock_mono_s() - t0);
		rc = is.failed + not_found > 0 ? EXIT_DOCS_FAILED : 0;
		goto out_llm;
	}
	if (!cfg.offline && !llm.unavailable) {
		struct kind_counts kc;
		kc.n = llm_setup_kinds(kc.k, PLAN_MAX_KINDS);
		store_doc_list(st, "queued", NULL, 0, 0, count_kind, &kc, NULL);
		e.code = 0;
		int prc = llm_setup_check_plan(&cfg, &llm, kc.k, kc.n, force, &e);
		if (prc || e.code) {
			fprintf(stderr, "dossier: %s\n", e.msg);
			if (prc) {
				rc = EXIT_ENV;
				goto out_llm;
			}
		}
	}

	struct sched_stats ss = {0};
	if ((rc = run_queue(&cfg, b, &llm, &cancel_flag, 0, 0, &ss, &e))) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out_llm;
	}
	run_io_stop_progress(&io);

	int64_t waiting = 0;
	store_doc_count(st, "queued", &waiting, NULL);
	FILE *sum = run_io_summary(&io);
	double secs = clock_mono_s() - t0;
	fprintf(sum, "analysed %d (%d partial), unchanged %d, failed %d, unsupported %d",
	        ss.docs_done + ss.docs_partial, ss.docs_partial, is.unchanged, ss.docs_failed + is.failed,
	        is.unsupported);
	if (is.moved)
		fprintf(sum, ", moved %d", is.moved);
	if (is.duplicates)
		fprintf(sum, ", %d cop%s of files already known", is.duplicates, is.duplicates == 1 ? "y" : "ies");
	if (n_re_docs)
		fprintf(sum, ", reanalysed %d (%d steps)", n_re_docs, n_re_steps);
	if (waiting)
		fprintf(sum, ", waiting %lld", (long long)waiting);
	fprintf(sum, " in %.1f s\n", secs);
	llm_setup_report(&llm, sum);
	if (cancel_flag) {
		fprintf(stderr, "dossier: interrupted; run the same command again to resume\n");
		rc = 130;
	} else if (waiting && (ss.model_lane_down || llm.unavailable)) {
		fprintf(stderr, "dossier: %lld document(s) wait for the engine they need: %s\n", (long long)waiting,
		        *llm.unavailable_msg ? llm.unavailable_msg : ss.model_lane_error);
		rc = EXIT_ENV;
	} else if (waiting && ss.steps_deferred) {
		/* store branch: transient failures past max_attempts wait for the next run */
		fprintf(stderr, "dossier: %lld document(s) failed transiently and will be retried on the next run "
		        "(see 'dossier show ID')\n", (long long)waiting);
		rc = EXIT_DOCS_FAILED;
	} else {
		/* a partial dossier is a document whose analysis partly failed */
		rc = ss.docs_failed + ss.docs_partial + is.failed + not_found > 0 ? EXIT_DOCS_FAILED : 0;
	}
out_llm:
	llm_setup_close(&llm);
out:
	run_io_close(&io);
	store_close(st);
	return rc;
}

static int run(int argc, char **argv)
{
	return run_common(argc, argv, 0);
}

static int run_re(int argc, char **argv)
{
	return run_common(argc, argv, 1);
}

const struct cli_cmd cmd_analyze = {
	.name = "analyze",
	.summary = "analyse files and folders into dossiers",
	.usage = usage,
	.run = run,
};

const struct cli_cmd cmd_reanalyze = {
	.name = "reanalyze",
	.summary = "analyse documents in the library again with the configured models",
	.usage = usage_re,
	.run = run_re,
};
