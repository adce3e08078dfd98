/*
 * cmd_analyze.c — `dossier analyze`: ingest the paths, run every queued step,
 * report.
 */
#include "cli/cli.h"
#include "cli/common.h"
#include "cli/progress.h"
#include "cli/llm_setup.h"
#include "plan/planner.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/ingest.h"
#include "pipeline/kinds.h"
#include "pipeline/runner.h"
#include "sched/sched.h"
#include "store/recorder.h"

#include <errno.h>
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
	"  --num-ctx N           context length sent with every LLM request\n"
	"  --ollama URL          Ollama's address (default $OLLAMA_HOST or 127.0.0.1:11434)\n"
	CLI_ENGINE_HELP
	"  --transcriber URL     a Whisper server (OpenAI /v1/audio/transcriptions) instead of\n"
	"                        the embedded speech recogniser\n"
	"  --ocr-lang LANGS      tesseract languages, e.g. eng+deu (default eng)\n"
	"  --max-frames N        frames sampled per video at most (default 32)\n"
	"  --idle-timeout S      give up on an LLM stream silent for S seconds (default 120);\n"
	"                        the step is retried later and the other documents go on\n"
	"  --force               run even if the planned peak memory exceeds the budget\n"
	"  --quiet               print only problems and the summary\n"
	"  -h, --help            this help\n"
	"\n"
	"Exit status: 0 all documents analysed; 1 some failed or are partial; 2 usage;\n"
	"3 environment (database unusable, Ollama unreachable: documents stay queued for\n"
	"the next run).\n";

static volatile int cancel_flag;

struct kind_counts {
	struct plan_kind_use k[PLAN_MAX_KINDS];
	size_t n;
};

static int count_kind(const struct doc_rec *d, void *user)
{
	struct kind_counts *kc = user;
	struct plan_kind_use *u = llm_setup_kind(kc->k, kc->n, d->kind);
	if (u)
		u->count++;
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	if (cancel_flag)
		_exit(130); /* second Ctrl-C: leave now; the queue resumes next run */
	cancel_flag = 1;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ANALYSIS_LONGOPTS,
		{"events", required_argument, NULL, OPT_EVENTS},
		{"force", no_argument, NULL, OPT_FORCE},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	const char *events_path = NULL;
	int force = 0, quiet = 0, opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_EVENTS: events_path = optarg; break;
		case OPT_FORCE: force = 1; break;
		case OPT_QUIET: quiet = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("analyze");
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "dossier analyze: name at least one file or folder\n");
		return cli_bad_usage("analyze");
	}
	struct config cfg;
	int rc = cli_config(&o, &cfg);
	if (rc)
		return rc;

	store *st = NULL;
	if ((rc = cli_open_store(&cfg, &st)))
		return rc;

	struct err e = {0};
	bus *b = NULL;
	if (event_bus_open(cfg.db_path, &b, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		store_close(st);
		return EXIT_ENV;
	}
	recorder *rec = NULL;
	if (recorder_start(b, cfg.db_path, &rec, &e))
		fprintf(stderr, "dossier: events will not be stored: %s\n", e.msg);

	FILE *events_file = NULL;
	sink *events_sink = NULL, *progress = NULL;
	if (events_path) {
		events_file = strcmp(events_path, "-") ? fopen(events_path, "w") : stdout;
		if (!events_file) {
			fprintf(stderr, "dossier: cannot write events to %s: %s\n", events_path, strerror(errno));
			rc = EXIT_USAGE;
			goto out;
		}
		events_writer_start(b, events_file, &events_sink);
	}
	enum progress_mode mode = quiet ? PROGRESS_QUIET : isatty(fileno(stderr)) ? PROGRESS_LIVE : PROGRESS_PLAIN;
	progress_start(b, stderr, mode, cli_color(stderr), &progress);

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* LLM backend and residency manager (unless offline) */
	struct llm_setup llm = {0};
	if (!cfg.offline && llm_setup_open(&cfg, b, &llm, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out;
	}

	double t0 = clock_mono_s();
	classifier *cls = NULL;
	if (classifier_new(&cls, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out_llm;
	}
	struct ingest_stats is = {0};
	rc = ingest_paths(st, cls, b, argv + optind, argc - optind, &is, &e);
	classifier_free(cls);
	if (rc) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
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

	pipeline_runner *pr = NULL;
	struct pipeline_runner_params pp = {.cfg = &cfg, .bus = b, .llm = llm.backend, .res = llm.res,
	                                    .cancel = &cancel_flag, .offline_models = cfg.offline};
	sched *s = NULL;
	struct sched_stats ss = {0};
	if ((rc = pipeline_runner_new(&pp, &pr, &e)) == 0) {
		struct sched_params sp = {.cfg = &cfg, .bus = b, .runner = pipeline_runner_iface(pr),
		                          .res = llm.backend ? llm.res : NULL, .offline = cfg.offline,
		                          .cancel = &cancel_flag};
		if ((rc = sched_new(&sp, &s, &e)) == 0)
			rc = sched_run(s, &ss, &e);
		sched_free(s);
	}
	pipeline_runner_free(pr);
	llm_setup_finish(&llm, &e);
	if (rc) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out_llm;
	}
	sink_stop(progress);
	progress = NULL;

	int64_t waiting = 0;
	store_doc_count(st, "queued", &waiting, NULL);
	FILE *sum = events_file == stdout ? stderr : stdout;
	double secs = clock_mono_s() - t0;
	fprintf(sum, "analysed %d (%d partial), unchanged %d, failed %d, unsupported %d",
	        ss.docs_done + ss.docs_partial, ss.docs_partial, is.unchanged, ss.docs_failed + is.failed,
	        is.unsupported);
	if (is.moved)
		fprintf(sum, ", moved %d", is.moved);
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
		rc = ss.docs_failed + ss.docs_partial + is.failed > 0 ? EXIT_DOCS_FAILED : 0;
	}
out_llm:
	llm_setup_close(&llm);
out:
	sink_stop(progress);
	sink_stop(events_sink);
	if (events_file && events_file != stdout)
		fclose(events_file);
	recorder_stop(rec, NULL);
	bus_free(b);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_analyze = {
	.name = "analyze",
	.summary = "analyse files and folders into dossiers",
	.usage = usage,
	.run = run,
};
