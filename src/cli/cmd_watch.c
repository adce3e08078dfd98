/*
 * cmd_watch.c — `dossier watch`: consume folders as files arrive. The
 * watcher (pipeline/watch.h) turns inotify events into batches; each batch is
 * one ingest; one scheduler stays up on a thread for the whole run and is
 * poked after each batch, as `serve` pokes it after an upload.
 *
 * Why one scheduler that stays up rather than a run per burst: the lanes keep
 * what they loaded (the speech model, OCR engines, the resident LLM) between
 * bursts, a file arriving while a burst is being analysed starts at once
 * instead of after the burst's run ends, and there is one lease for the whole
 * watch, not one per burst.
 */
#include "cli/cli.h"
#include "cli/common.h"
#include "cli/llm_setup.h"
#include "cli/run_io.h"
#include "cli/watch_cli.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/runner.h"
#include "pipeline/watch.h"
#include "sched/sched.h"
#include "store/recorder.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static const char usage[] =
	"usage: dossier watch [OPTIONS] FOLDER...\n"
	"\n"
	"Watches folders (and the folders below them, new ones too) and analyses\n"
	"files as they arrive, like a consume folder. What is there already is taken\n"
	"first (unchanged files are not analysed again). A file still being written is\n"
	"waited for; a burst of files is one ingest; a renamed or moved file keeps its\n"
	"dossier; a deleted file's document is marked missing (or forgotten with\n"
	"--prune). Runs until Ctrl-C or SIGTERM: steps in flight go back to the queue.\n"
	"\n"
	"Options:\n"
	CLI_SHARED_CONFIG_HELP
	"  --prune               forget the documents whose file was deleted (default: keep them,\n"
	"                        marked missing)\n"
	"  --settle SECONDS      a file that arrives without being written here (moved in, a link)\n"
	"                        is taken once its size and time stayed the same this long\n"
	"                        (default 1)\n"
	"  --policy P            sequential | grouped (default) | budget: how models share memory\n"
	"  --budget SIZE         memory budget, e.g. 12G (default: total RAM minus 2 GB)\n"
	"  --force               start even if the models a file may need do not fit the budget\n"
	"  --offline             never call Ollama: OCR, speech and the offline analysers only\n"
	"  --events FILE|-       write every event as one JSON line to FILE (- = stdout)\n"
	"  --swap-delay SECONDS  fixed wait after unloading a model (default: poll /api/ps)\n"
	"  --text-model NAME     text model (default llama3.2:3b dev, llama3.1:8b prod)\n"
	"  --vision-model NAME   vision model (default llava:latest dev, llava:13b prod)\n"
	"  --embed-model NAME    embedding model for semantic search (default nomic-embed-text; none)\n"
	"  --num-ctx N           context length sent with every LLM request\n"
	"  --ollama URL          Ollama's address (default $OLLAMA_HOST or 127.0.0.1:11434)\n"
	CLI_ENGINE_HELP
	"  --transcriber URL     a Whisper server (OpenAI /v1/audio/transcriptions)\n"
	"  --ocr-lang LANGS      tesseract languages, e.g. eng+deu (default eng)\n"
	"  --max-frames N        frames sampled per video at most (default 32)\n"
	"  --idle-timeout S      give up on an LLM stream silent for S seconds (default 120)\n"
	"  --quiet               print only problems and the summary\n"
	"  -h, --help            this help\n"
	"\n"
	"Exit status: 0 stopped by a signal; 2 usage; 3 environment (database, a folder\n"
	"that cannot be watched, the inotify limits).\n";

enum { OPT_PRUNE = 3000, OPT_SETTLE };

static volatile int cancel_flag;

/* ------------------------------------------------ shared with serve --watch */

void watch_cli_ignore(const struct config *cfg, char **v, size_t cap)
{
	static const char *const db_files[] = {"", "-wal", "-shm", "-journal"};
	/* what dossier writes in its data directory (config_data_dir) */
	static const char *const beside[] = {"frames", "ocr", "uploads", "blobs", "thumbs", "tmp"};
	size_t n = 0;
	char dir[PATH_MAX];
	config_data_dir(cfg, dir, sizeof dir);
	for (size_t i = 0; i < sizeof db_files / sizeof *db_files && n + 1 < cap; i++) {
		char p[PATH_MAX + 16];
		snprintf(p, sizeof p, "%s%s", cfg->db_path, db_files[i]);
		v[n++] = xstrdup(p);
	}
	for (size_t i = 0; i < sizeof beside / sizeof *beside && n + 1 < cap; i++)
		v[n++] = path_join(dir, beside[i]);
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	if (n + 1 < cap && xdg && *xdg) {
		v[n++] = path_join(xdg, "dossier");
	} else if (n + 1 < cap && home && *home) {
		char p[PATH_MAX];
		snprintf(p, sizeof p, "%s/.local/share/dossier", home);
		v[n++] = xstrdup(p);
	}
	v[n] = NULL;
}

int watch_cli_settle(const char *cmd, const char *arg, double *out)
{
	char *end;
	double v = strtod(arg, &end);
	if (!*arg || *end || !(v >= 0 && v <= 60)) {
		fprintf(stderr, "dossier %s: --settle %s: give seconds from 0 to 60, e.g. 1 or 0.5\n", cmd, arg);
		return EXIT_USAGE;
	}
	*out = v;
	return 0;
}

void watch_cli_report(FILE *out, const char *cmd, int quiet, const struct watch_batch *b,
                      const struct watch_apply_stats *s, int rc, const struct err *e)
{
	if (rc) {
		fprintf(out, "dossier %s: %s; the folders are scanned again\n", cmd, e && *e->msg ? e->msg : "recording failed");
		return;
	}
	if (b->overflow)
		fprintf(out, "dossier %s: the kernel's event queue overflowed; scanned the folders again\n", cmd);
	if (quiet)
		return;
	const struct ingest_stats *is = &s->ingest;
	if (!is->queued && !is->retried && !is->moved && !is->duplicates && !is->unsupported && !is->failed && !s->missing &&
	    !s->pruned && !s->back && !b->rescan)
		return; /* nothing new (files seen again unchanged) */
	fprintf(out, "%s: %s%d queued, %d unchanged", cmd, b->rescan ? "scanned: " : "", is->queued + is->retried,
	        is->unchanged);
	if (is->moved)
		fprintf(out, ", %d moved", is->moved);
	if (is->duplicates)
		fprintf(out, ", %d cop%s of known files", is->duplicates, is->duplicates == 1 ? "y" : "ies");
	if (is->unsupported)
		fprintf(out, ", %d unsupported", is->unsupported);
	if (is->failed)
		fprintf(out, ", %d failed", is->failed);
	if (s->missing)
		fprintf(out, ", %d missing", s->missing);
	if (s->back)
		fprintf(out, ", %d back", s->back);
	if (s->pruned)
		fprintf(out, ", %d forgotten", s->pruned);
	fputc('\n', out);
	fflush(out);
}

/* ---------------------------------------------------------------- the run */

struct worker {
	sched *s;                 /* borrowed */
	struct sched_stats stats; /* filled when sched_run returns */
	struct err e;
	int rc;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	w->rc = sched_run(w->s, &w->stats, &w->e);
	return NULL;
}

struct batch_ctx {
	sched *s;
	int quiet;
	int missing, pruned;
};

static void on_batch(void *user, const struct watch_batch *b, const struct watch_apply_stats *s, int rc,
                     const struct err *e)
{
	struct batch_ctx *c = user;
	if (!rc) {
		c->missing += s->missing;
		c->pruned += s->pruned;
		sched_notify(c->s);
	}
	watch_cli_report(stderr, "watch", c->quiet, b, s, rc, e);
}

static void on_second_signal(int sig)
{
	(void)sig;
	_exit(130); /* a second Ctrl-C: leave now; the queue resumes next run */
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ANALYSIS_LONGOPTS,
		{"events", required_argument, NULL, OPT_EVENTS},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"prune", no_argument, NULL, OPT_PRUNE},
		{"settle", required_argument, NULL, OPT_SETTLE},
		{"force", no_argument, NULL, OPT_FORCE},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	const char *events_path = NULL;
	int quiet = 0, prune = 0, force = 0, opt;
	struct watch_opts wo;
	watch_opts_default(&wo);
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_EVENTS: events_path = optarg; break;
		case OPT_QUIET: quiet = 1; break;
		case OPT_PRUNE: prune = 1; break;
		case OPT_FORCE: force = 1; break;
		case OPT_SETTLE:
			if (watch_cli_settle("watch", optarg, &wo.settle_s))
				return EXIT_USAGE;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("watch");
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "dossier watch: name at least one folder to watch\n");
		return cli_bad_usage("watch");
	}
	struct config cfg;
	int rc = cli_config(&o, &cfg);
	if (rc)
		return rc;
	store *st = NULL;
	if ((rc = cli_open_store(&cfg, &st)))
		return rc;

	char *ignore[16];
	watch_cli_ignore(&cfg, ignore, sizeof ignore / sizeof *ignore);
	wo.ignore = (const char *const *)ignore;
	struct err e = {0};
	watcher *w = NULL;
	if (watcher_new(argv + optind, argc - optind, &wo, &w, &e)) {
		fprintf(stderr, "dossier watch: %s\n", e.msg);
		for (size_t i = 0; ignore[i]; i++)
			free(ignore[i]);
		store_close(st);
		return e.code == DOSSIER_EINVAL ? EXIT_USAGE : EXIT_ENV;
	}
	for (size_t i = 0; ignore[i]; i++)
		free(ignore[i]);

	/* SIGINT and SIGTERM arrive on a descriptor the watch loop polls: blocked
	 * before any thread starts, so every thread inherits the mask */
	sigset_t stop_sigs;
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	int sfd = signalfd(-1, &stop_sigs, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "dossier watch: cannot receive signals: %s\n", strerror(errno));
		watcher_free(w);
		store_close(st);
		return EXIT_ENV;
	}

	struct run_io io;
	/* a long-running command: one line per event, never a redrawn display */
	if ((rc = run_io_open(&cfg, events_path, quiet ? PROGRESS_QUIET : PROGRESS_PLAIN, &io))) {
		close(sfd);
		watcher_free(w);
		store_close(st);
		return rc;
	}
	bus *b = io.bus;
	classifier *cls = NULL;
	pipeline_runner *pr = NULL;
	sched *s = NULL;
	struct llm_setup llm = {0};

	if ((rc = llm_setup_start(&cfg, b, &llm)))
		goto out;
	if (llm.unavailable)
		fprintf(stderr, "dossier: %s; text, image and embed steps wait until the engine answers\n",
		        llm.unavailable_msg);
	/* any kind of file may arrive: every model it could need must fit */
	e.code = 0;
	if (llm_setup_check_plan_any(&cfg, &llm, force, &e) || e.code) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		if (e.code == DOSSIER_ENOSPACE && !force) {
			rc = EXIT_ENV;
			goto out_llm;
		}
	}
	if (classifier_new(&cls, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out_llm;
	}
	struct pipeline_runner_params pp = {.cfg = &cfg, .bus = b, .llm = llm.backend, .res = llm.res,
	                                    .cancel = &cancel_flag, .offline_models = cfg.offline};
	if (pipeline_runner_new(&pp, &pr, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out_llm;
	}
	struct sched_params schp = {.cfg = &cfg, .bus = b, .runner = pipeline_runner_iface(pr),
	                            .res = llm.backend ? llm.res : NULL, .offline = cfg.offline,
	                            .keep_running = 1, .cancel = &cancel_flag};
	if (sched_new(&schp, &s, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out_llm;
	}
	struct worker wk = {.s = s};
	pthread_t wt;
	if (pthread_create(&wt, NULL, worker_main, &wk) != 0) {
		fprintf(stderr, "dossier: cannot start the scheduler thread\n");
		rc = EXIT_ENV;
		goto out_llm;
	}

	int n_roots;
	char *const *roots = watcher_roots(w, &n_roots);
	if (!quiet) {
		fprintf(stderr, "watching");
		for (int i = 0; i < n_roots; i++)
			fprintf(stderr, " %s", roots[i]);
		fprintf(stderr, " (Ctrl-C stops)\n");
	}
	double t0 = clock_mono_s();
	struct batch_ctx bc = {.s = s, .quiet = quiet};
	char data_dir[PATH_MAX];
	config_data_dir(&cfg, data_dir, sizeof data_dir);
	struct watch_run_params wp = {.st = st, .cls = cls, .bus = b, .prune_data_dir = prune ? data_dir : NULL,
	                              .stop_fd = sfd,
	                              .on_batch = on_batch, .user = &bc};
	rc = watch_run(w, &wp, &e);
	if (rc) {
		fprintf(stderr, "dossier watch: %s\n", e.msg);
		rc = EXIT_ENV;
	} else {
		struct signalfd_siginfo si;
		if (read(sfd, &si, sizeof si) == (ssize_t)sizeof si && !quiet)
			fprintf(stderr, "dossier watch: %s: stopping\n", si.ssi_signo == SIGINT ? "interrupted" : "terminated");
	}
	/* as analyze on Ctrl-C: the steps running stop and go back to the queue */
	signal(SIGINT, on_second_signal);
	signal(SIGTERM, on_second_signal);
	pthread_sigmask(SIG_UNBLOCK, &stop_sigs, NULL);
	cancel_flag = 1;
	sched_stop(s);
	pthread_join(wt, NULL);
	if (wk.rc) {
		fprintf(stderr, "dossier: %s\n", wk.e.msg);
		rc = EXIT_ENV;
	}
	run_io_stop_progress(&io);
	int64_t waiting = 0;
	store_doc_count(st, "queued", &waiting, NULL);
	FILE *sum = run_io_summary(&io);
	fprintf(sum, "watched %.0f s: analysed %d (%d partial), failed %d, missing %d", clock_mono_s() - t0,
	        wk.stats.docs_done + wk.stats.docs_partial, wk.stats.docs_partial, wk.stats.docs_failed, bc.missing);
	if (bc.pruned)
		fprintf(sum, ", forgotten %d", bc.pruned);
	if (waiting)
		fprintf(sum, ", waiting %lld (the next run resumes them)", (long long)waiting);
	fputc('\n', sum);
	if (llm_setup_finish(&llm, &e))
		fprintf(stderr, "dossier: %s\n", e.msg);
out_llm:
	sched_free(s);
	pipeline_runner_free(pr);
	classifier_free(cls);
	llm_setup_close(&llm);
out:
	run_io_close(&io);
	close(sfd);
	watcher_free(w);
	store_close(st);
	return rc;
}

const struct cli_cmd cmd_watch = {
	.name = "watch",
	.summary = "analyse files as they arrive in folders (inotify)",
	.usage = usage,
	.run = run,
};
