/*
 * cmd_worker.c — `dossier worker`: run the queued steps of a shared library
 * with this machine's engine and models, ingesting nothing; and `dossier
 * workers`: who runs what. Many workers share one PostgreSQL database (the
 * README's "Several machines"); a worker on a SQLite file shares it with the
 * processes of its own machine.
 *
 * A worker is one scheduler run with keep_running (as `watch` and `serve`):
 * its lanes claim steps as they become ready, its residency manager keeps its
 * own engine's models, its planner its own budget; its lease (the workers
 * table) is renewed by heartbeats, and when it stops beating (kill -9, power,
 * network) another worker requeues its steps once the lease has run out.
 */
#include "cli/cli.h"
#include "cli/common.h"
#include "cli/run_io.h"
#include "core/err.h"
#include "core/util.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_UNTIL_IDLE = 2100, OPT_LEASE_TTL };

static const char usage[] =
	"usage: dossier worker [OPTIONS]\n"
	"\n"
	"Runs the queued steps of a library with this machine's engine and models, and\n"
	"waits for more, until stopped (Ctrl-C, SIGTERM: the steps in flight go back to\n"
	"the queue). It ingests nothing: `dossier analyze --no-work PATH` (or any other\n"
	"machine's analyze, watch or serve) fills the queue. Several workers on several\n"
	"machines share one library through PostgreSQL: --db postgresql://HOST/DB (or the\n"
	"PG* variables with --db postgresql://). Each prefers the steps of the model its\n"
	"engine has resident, and plans its own memory.\n"
	"\n"
	"Options:\n"
	CLI_SHARED_CONFIG_HELP
	CLI_DATA_DIR_HELP
	"  --policy P            sequential | grouped (default) | budget: how models share memory\n"
	"  --budget SIZE         this machine's memory budget, e.g. 12G (default: RAM minus 2 GB)\n"
	"  --offline             never call an LLM: OCR, speech and the offline analysers only\n"
	"  --text-model NAME     text model (default llama3.2:3b dev, llama3.1:8b prod)\n"
	"  --vision-model NAME   vision model (default llava:latest dev, llava:13b prod)\n"
	"  --embed-model NAME    embedding model (default nomic-embed-text; none = no vectors)\n"
	"  --num-ctx N           context length sent with every LLM request\n"
	"  --ollama URL          this machine's Ollama (default $OLLAMA_HOST or 127.0.0.1:11434)\n"
	CLI_ENGINE_HELP
	"  --transcriber URL     a Whisper server instead of the embedded speech recogniser\n"
	"  --ocr-lang LANGS      tesseract languages, e.g. eng+deu (default eng)\n"
	"  --max-frames N        frames sampled per video at most (default 32)\n"
	"  --idle-timeout S      give up on an LLM stream silent for S seconds (default 120)\n"
	"  --swap-delay SECONDS  fixed wait after unloading a model\n"
	"  --lease-ttl S         seconds after its last heartbeat before other workers take\n"
	"                        this one's steps (default 30; heartbeats every third of it)\n"
	"  --until-idle          stop once nothing is left to run anywhere (no step queued or\n"
	"                        running in the library), instead of waiting for more\n"
	"  --events FILE|-       write every event as one JSON line to FILE (- = stdout)\n"
	"  --quiet               print only problems and the summary\n"
	"  -h, --help            this help\n"
	"\n"
	"`dossier workers` lists the workers of the library.\n"
	"\n"
	"Exit status: 0 stopped on request or idle; 2 usage; 3 environment (database\n"
	"unusable, engine unreachable at start).\n";

static const char usage_list[] =
	"usage: dossier workers [--db URL|PATH] [--json]\n"
	"\n"
	"Lists the workers registered in the library: each one's host and process, the\n"
	"models its engine has resident, the step it runs now, how many steps it\n"
	"finished, and its last heartbeat. A worker whose lease ran out is marked\n"
	"`expired`: its steps go to the others.\n"
	"\n"
	"Options:\n"
	CLI_SHARED_CONFIG_HELP
	"  --json                one JSON array\n"
	"  -h, --help            this help\n";

static volatile int cancel_flag;

static void on_signal(int sig)
{
	(void)sig;
	if (cancel_flag)
		_exit(130); /* second Ctrl-C: leave now; the lease runs out and others take the steps */
	cancel_flag = 1;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_ANALYSIS_LONGOPTS,
		{"events", required_argument, NULL, OPT_EVENTS},
		{"quiet", no_argument, NULL, OPT_QUIET},
		{"until-idle", no_argument, NULL, OPT_UNTIL_IDLE},
		{"lease-ttl", required_argument, NULL, OPT_LEASE_TTL},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	const char *events_path = NULL;
	int quiet = 0, until_idle = 0, opt;
	double ttl = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_EVENTS: events_path = optarg; break;
		case OPT_QUIET: quiet = 1; break;
		case OPT_UNTIL_IDLE: until_idle = 1; break;
		case OPT_LEASE_TTL: {
			char *end;
			ttl = strtod(optarg, &end);
			if (!*optarg || *end || ttl < 1 || ttl > 3600) {
				fprintf(stderr, "dossier worker: --lease-ttl takes seconds from 1 to 3600, not '%s'\n", optarg);
				return cli_bad_usage("worker");
			}
			break;
		}
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("worker");
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dossier worker: takes no paths (`dossier analyze --no-work PATH` queues them)\n");
		return cli_bad_usage("worker");
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
	/* a long-running command: one line per event, never a redrawn display */
	if ((rc = run_io_open(&cfg, events_path, quiet ? PROGRESS_QUIET : PROGRESS_PLAIN, &io))) {
		store_close(st);
		return rc;
	}
	bus *b = io.bus;

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	struct llm_setup llm = {0};
	if ((rc = llm_setup_start(&cfg, b, &llm)))
		goto out;
	if (!cfg.offline && llm.unavailable)
		fprintf(stderr, "dossier worker: %s: the model steps are left to the other workers\n",
		        *llm.unavailable_msg ? llm.unavailable_msg : "no LLM engine is reachable");

	double t0 = clock_mono_s();
	struct sched_stats ss = {0};
	if ((rc = run_queue(&cfg, b, &llm, &cancel_flag, !until_idle, ttl, &ss, &e))) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out_llm;
	}
	run_io_stop_progress(&io);
	FILE *sum = run_io_summary(&io);
	fprintf(sum, "worker: %d steps done, %d failed, %d retried; %d documents finished here in %.1f s\n",
	        ss.steps_done, ss.steps_failed, ss.steps_retried, ss.docs_done + ss.docs_partial + ss.docs_failed,
	        clock_mono_s() - t0);
	if (ss.steps_unrecorded)
		fprintf(sum, "worker: %d result(s) refused: the step's lease had run out and another worker held it "
		        "(its result stands)\n", ss.steps_unrecorded);
	llm_setup_report(&llm, sum);
	rc = 0;
out_llm:
	llm_setup_close(&llm);
out:
	run_io_close(&io);
	store_close(st);
	return rc;
}

/* ------------------------------------------------------------ workers */

struct list_ctx {
	json_t *arr;  /* --json: the rows; NULL = a table */
	double now;
	int n;
};

static int list_one(const struct worker_rec *w, void *user)
{
	struct list_ctx *c = user;
	int expired = w->expires_at <= c->now;
	c->n++;
	if (c->arr) {
		json_t *o = json_pack("{s:s,s:s,s:I,s:f,s:f,s:f,s:b,s:s,s:s,s:i,s:i}", "holder", w->holder, "host", w->host,
		                      "pid", (json_int_t)w->pid, "started_at", w->started_at, "heartbeat_at", w->heartbeat_at,
		                      "expires_at", w->expires_at, "expired", expired, "models", w->models, "engine",
		                      w->engine, "running", w->running, "done", w->done);
		if (o && w->step_kind)
			json_object_set_new(o, "step", json_pack("{s:s,s:I}", "kind", w->step_kind, "document",
			                                         (json_int_t)w->step_document));
		json_array_append_new(c->arr, o);
		return 0;
	}
	if (c->n == 1)
		printf("%-28s %-7s %-8s %6s %-26s %s\n", "HOST", "PID", "STATE", "DONE", "MODELS", "NOW");
	char now[96];
	if (w->step_kind)
		snprintf(now, sizeof now, "%s of document %lld%s", w->step_kind, (long long)w->step_document,
		         w->running > 1 ? " (and more)" : "");
	else
		snprintf(now, sizeof now, "idle");
	char state[32];
	double ago = c->now - w->heartbeat_at;
	snprintf(state, sizeof state, "%s", expired ? "expired" : "live");
	printf("%-28s %-7ld %-8s %6d %-26s %s (heartbeat %.0f s ago)\n", w->host, w->pid, state, w->done,
	       *w->models ? w->models : "-", now, ago < 0 ? 0 : ago);
	return 0;
}

static int run_list(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"db", required_argument, NULL, OPT_DB},
		{"profile", required_argument, NULL, OPT_PROFILE},
		{"json", no_argument, NULL, OPT_JSON},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	int json = 0, opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_JSON: json = 1; break;
		case 'h': fputs(usage_list, stdout); return 0;
		default: return cli_bad_usage("workers");
		}
	}
	if (optind < argc)
		return cli_bad_usage("workers");
	struct config cfg;
	int rc = cli_config(&o, &cfg);
	if (rc)
		return rc;
	store *st = NULL;
	if ((rc = cli_open_store(&cfg, &st)))
		return rc;
	struct list_ctx c = {json ? json_array() : NULL, clock_wall_s(), 0};
	struct err e = {0};
	rc = store_workers_list(st, list_one, &c, &e);
	store_close(st);
	if (rc) {
		json_decref(c.arr);
		fprintf(stderr, "dossier workers: %s\n", e.msg);
		return EXIT_ENV;
	}
	if (c.arr) {
		json_dumpf(c.arr, stdout, JSON_INDENT(2));
		fputc('\n', stdout);
		json_decref(c.arr);
	} else if (!c.n) {
		printf("no workers: start one with 'dossier worker' (or analyze, watch, serve)\n");
	}
	return 0;
}

const struct cli_cmd cmd_worker = {
	.name = "worker",
	.summary = "run the queued steps of a shared library with this machine's models",
	.usage = usage,
	.run = run,
};

const struct cli_cmd cmd_workers = {
	.name = "workers",
	.summary = "list the workers of the library: host, resident models, current step",
	.usage = usage_list,
	.run = run_list,
};
