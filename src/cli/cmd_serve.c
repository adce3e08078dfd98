/*
 * cmd_serve.c — `dossier serve`: the HTTP API, live events and the web page,
 * with the same scheduler as `analyze` running on a thread and waiting for work.
 */
#include "cli/cli.h"
#include "cli/common.h"
#include "cli/llm_setup.h"
#include "cli/watch_cli.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/runner.h"
#include "pipeline/watch.h"
#include "sched/sched.h"
#include "server/server.h"
#include "store/recorder.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
	"usage: dossier serve [OPTIONS] [--watch FOLDER]...\n"
	"\n"
	"Serves the HTTP API (docs/api.md), live events (Server-Sent Events) and the\n"
	"web page, and analyses uploaded files as they arrive. The CLI may use the\n"
	"same database at the same time.\n"
	"\n"
	"Options:\n"
	"  --listen ADDR:PORT    address to listen on (default 127.0.0.1:8080; port 0 = any free\n"
	"                        port). Any address but loopback needs a token.\n"
	"  --token TOKEN         require 'Authorization: Bearer TOKEN' (or ?token=) on the API\n"
	"                        (default $DOSSIER_TOKEN); always required once set\n"
	"  --allow-host NAME     also answer to Host NAME (or NAME:PORT; repeatable; '*' = any):\n"
	"                        a name this server is reached by, e.g. behind a proxy. Otherwise\n"
	"                        only 127.0.0.1, localhost (and IP addresses with a token) are\n"
	"                        answered, so a web page cannot rebind its own name to this server\n"
	"  --max-upload SIZE     largest file an upload may be (default 512MB)\n"
	"  --max-uploads N       uploads in progress at once (default 8)\n"
	"  --heartbeat SECONDS   SSE keep-alive comment after this much silence (default 15)\n"
	"  --watch FOLDER        also analyse files as they arrive in FOLDER (repeatable), as\n"
	"                        'dossier watch' does; what is there already is taken first\n"
	"  --prune               with --watch: forget the documents whose file was deleted\n"
	"                        (default: keep them, marked missing)\n"
	"  --settle SECONDS      with --watch: a file moved in or linked is taken once its size and\n"
	"                        time held still this long (default 1)\n"
	CLI_SHARED_CONFIG_HELP
	CLI_DATA_DIR_HELP
	"  --policy P            sequential | grouped (default) | budget: how models share memory\n"
	"  --budget SIZE         memory budget, e.g. 12G (default: total RAM minus 2 GB)\n"
	"  --force               start even if the models a file may need do not fit the budget\n"
	"  --vector-cache SIZE   memory for the vectors of semantic search, loaded on the first\n"
	"                        query (default 256M, 0 = read them from the database per query)\n"
	"  --offline             never call Ollama: OCR, speech and the offline analysers only\n"
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
	"  --idle-timeout S      give up on an LLM stream silent for S seconds (default 120);\n"
	"                        the step is retried later and the other documents go on\n"
	"  -q, --quiet           do not log requests and finished documents on stderr\n"
	"  -h, --help            this help\n"
	"\n"
	"Prints 'listening on http://ADDR:PORT' when ready, then a line on stderr per\n"
	"request (time | status | duration | method path) and per finished document.\n"
	"SIGINT or SIGTERM stop it: the scheduler finishes its steps (10 s at most,\n"
	"then cancels them), event streams are closed, and models are left as the\n"
	"policy says.\n"
	"\n"
	"Exit status: 0 stopped cleanly; 2 usage; 3 environment (database, address).\n";

enum { OPT_MAX_UPLOAD = 2000, OPT_MAX_UPLOADS, OPT_HEARTBEAT, OPT_ALLOW_HOST, OPT_WATCH, OPT_PRUNE, OPT_SETTLE,
       OPT_VECTOR_CACHE };

/* serve --watch: folders consumed on a thread of their own, each batch ingested
 * and the scheduler poked, as after an upload. */
struct folder_watch {
	watcher *w;
	const struct config *cfg;
	bus *bus;
	sched *s;
	int prune;
	int stop[2];              /* a pipe: a byte written = stop */
	int rc;
	struct err e;
};

static void serve_on_batch(void *user, const struct watch_batch *b, const struct watch_apply_stats *st, int rc,
                           const struct err *e)
{
	struct folder_watch *fw = user;
	if (!rc)
		sched_notify(fw->s);
	watch_cli_report(stderr, "serve", 0, b, st, rc, e);
}

static void *folder_watch_main(void *arg)
{
	struct folder_watch *fw = arg;
	store *st = NULL;
	classifier *cls = NULL;
	if ((fw->rc = store_open(fw->cfg->db_path, &st, &fw->e)) == 0 &&
	    (fw->rc = classifier_new(&cls, &fw->e)) == 0) {
		char data_dir[PATH_MAX];
		config_data_dir(fw->cfg, data_dir, sizeof data_dir);
		struct watch_run_params wp = {.st = st, .cls = cls, .bus = fw->bus,
		                              .prune_data_dir = fw->prune ? data_dir : NULL,
		                              .stop_fd = fw->stop[0], .on_batch = serve_on_batch, .user = fw};
		fw->rc = watch_run(fw->w, &wp, &fw->e);
	}
	if (fw->rc)
		fprintf(stderr, "dossier serve: watching stopped: %s\n", fw->e.msg);
	classifier_free(cls);
	store_close(st);
	return NULL;
}

/* How long a stopping server lets running steps finish before cancelling them. */
#define SERVE_STOP_GRACE_S 10

struct worker {
	sched *s;                 /* borrowed */
	struct sched_stats stats; /* filled when sched_run returns */
	struct err e;
	int rc;
	int done;                 /* guarded by mu */
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	w->rc = sched_run(w->s, &w->stats, &w->e);
	pthread_mutex_lock(&w->mu);
	w->done = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Waits up to seconds for the worker to finish; 1 if it did. */
static int worker_wait(struct worker *w, int seconds)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += seconds;
	pthread_mutex_lock(&w->mu);
	while (!w->done)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &dl) == ETIMEDOUT)
			break;
	int done = w->done;
	pthread_mutex_unlock(&w->mu);
	return done;
}

static volatile int cancel_flag;

/* The server's request log, on stderr (one fprintf per line: lines never mix). */
static void log_line(void *user, const char *line)
{
	(void)user;
	fprintf(stderr, "%s\n", line);
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"listen", required_argument, NULL, OPT_LISTEN},
		{"token", required_argument, NULL, OPT_TOKEN},
		{"max-upload", required_argument, NULL, OPT_MAX_UPLOAD},
		{"max-uploads", required_argument, NULL, OPT_MAX_UPLOADS},
		{"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
		{"allow-host", required_argument, NULL, OPT_ALLOW_HOST},
		{"watch", required_argument, NULL, OPT_WATCH},
		{"prune", no_argument, NULL, OPT_PRUNE},
		{"settle", required_argument, NULL, OPT_SETTLE},
		{"force", no_argument, NULL, OPT_FORCE},
		{"vector-cache", required_argument, NULL, OPT_VECTOR_CACHE},
		CLI_ANALYSIS_LONGOPTS,
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	int quiet = 0;
	struct server_params sp;
	server_params_default(&sp);
	const char *listen = "127.0.0.1:8080", *token = getenv("DOSSIER_TOKEN");
	struct err e = {0};
	char allow_hosts[1024] = "";
	int opt, prune = 0, force = 0, n_watch = 0;
	const char *vector_cache = NULL;
	char *watch_dirs[64];
	struct watch_opts wo;
	watch_opts_default(&wo);
	long n;
	char *end;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_LISTEN: listen = optarg; break;
		case 'q': quiet = 1; break;
		case OPT_FORCE: force = 1; break;
		case OPT_TOKEN: token = optarg; break;
		case OPT_ALLOW_HOST:
			if (!*optarg || strchr(optarg, ',') || strchr(optarg, '/') ||
			    strlen(allow_hosts) + strlen(optarg) + 2 > sizeof allow_hosts) {
				fprintf(stderr, "dossier serve: --allow-host '%s': give one host name (or NAME:PORT) per "
				                "--allow-host\n", optarg);
				return EXIT_USAGE;
			}
			if (*allow_hosts)
				strcat(allow_hosts, ",");
			strcat(allow_hosts, optarg);
			break;
		case OPT_WATCH:
			if (n_watch == (int)(sizeof watch_dirs / sizeof *watch_dirs)) {
				fprintf(stderr, "dossier serve: at most %zu --watch folders\n", sizeof watch_dirs / sizeof *watch_dirs);
				return EXIT_USAGE;
			}
			watch_dirs[n_watch++] = optarg;
			break;
		case OPT_PRUNE: prune = 1; break;
		case OPT_VECTOR_CACHE: vector_cache = optarg; break;
		case OPT_SETTLE:
			if (watch_cli_settle("serve", optarg, &wo.settle_s))
				return EXIT_USAGE;
			break;
		case OPT_MAX_UPLOAD:
			if (size_parse(optarg, &sp.max_upload_bytes) || sp.max_upload_bytes == 0) {
				fprintf(stderr, "dossier serve: --max-upload %s: give a size such as 512MB or 2G\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_MAX_UPLOADS:
		case OPT_HEARTBEAT:
			n = strtol(optarg, &end, 10);
			if (!*optarg || *end || n < 1 || n > (opt == OPT_HEARTBEAT ? 60 : 1000)) {
				fprintf(stderr, "dossier serve: --%s %s: give a number from 1 to %d\n",
				        opt == OPT_HEARTBEAT ? "heartbeat" : "max-uploads", optarg,
				        opt == OPT_HEARTBEAT ? 60 : 1000);
				return EXIT_USAGE;
			}
			if (opt == OPT_HEARTBEAT)
				sp.heartbeat_s = (int)n;
			else
				sp.max_uploads = (int)n;
			break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("serve");
		}
	}
	if (optind < argc) {
		fprintf(stderr, "dossier serve: unexpected argument '%s' (upload files through the API or the page)\n",
		        argv[optind]);
		return cli_bad_usage("serve");
	}
	if (server_listen_parse(listen, &sp.addr, &e)) {
		fprintf(stderr, "dossier serve: %s\n", e.msg);
		return EXIT_USAGE;
	}
	if (token && !*token)
		token = NULL;
	if (!sp.addr.loopback && !token) {
		fprintf(stderr, "dossier serve: refusing to listen on %s without a token: anyone who can reach it "
		                "could read and upload documents. Set --token or DOSSIER_TOKEN, or listen on "
		                "127.0.0.1.\n", sp.addr.host);
		return EXIT_USAGE;
	}
	sp.token = token;
	sp.allow_hosts = allow_hosts;
	if (!quiet)
		sp.log = log_line;

	struct config cfg;
	int rc = cli_config(&o, &cfg);
	if (rc)
		return rc;
	if (vector_cache &&
	    config_set_from(&cfg, "vector_cache", vector_cache, CONFIG_SOURCE_FLAG, "--vector-cache", 0, &e)) {
		fprintf(stderr, "dossier serve: --vector-cache: %s\n", e.msg);
		return EXIT_USAGE;
	}
	store *st = NULL;
	if ((rc = cli_open_store(&cfg, &st)))
		return rc;
	struct folder_watch fw = {.cfg = &cfg, .prune = prune, .stop = {-1, -1}};
	if (n_watch) {
		char *ignore[16];
		watch_cli_ignore(&cfg, ignore, sizeof ignore / sizeof *ignore);
		wo.ignore = (const char *const *)ignore;
		rc = watcher_new(watch_dirs, n_watch, &wo, &fw.w, &e);
		for (size_t i = 0; ignore[i]; i++)
			free(ignore[i]);
		if (rc || pipe(fw.stop) != 0) {
			fprintf(stderr, "dossier serve: %s\n", rc ? e.msg : strerror(errno));
			watcher_free(fw.w);
			store_close(st);
			return rc == DOSSIER_EINVAL ? EXIT_USAGE : EXIT_ENV;
		}
	} else if (prune) {
		fprintf(stderr, "dossier serve: --prune goes with --watch FOLDER\n");
		store_close(st);
		return EXIT_USAGE;
	}
	store_close(st);

	/* Signals go to sigwait below, not to whichever thread happens to run:
	 * block them before any thread starts, so every thread inherits the mask. */
	sigset_t stop_sigs;
	sigemptyset(&stop_sigs);
	sigaddset(&stop_sigs, SIGINT);
	sigaddset(&stop_sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &stop_sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	bus *b = NULL;
	recorder *rec = NULL;
	if (event_bus_open(cfg.db_path, &b, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out_rec;
	}
	if (recorder_start(b, cfg.db_path, &rec, &e))
		fprintf(stderr, "dossier: events will not be stored (no replay after reconnects): %s\n", e.msg);

	struct llm_setup llm = {0};
	if ((rc = llm_setup_start(&cfg, b, &llm)))
		goto out_rec;
	if (llm.unavailable)
		fprintf(stderr, "dossier: %s; text, image and embed steps wait until the engine answers\n",
		        llm.unavailable_msg);
	/* uploads and watched folders may bring any kind: every model one could need must fit */
	e.code = 0;
	if (llm_setup_check_plan_any(&cfg, &llm, force, &e) || e.code) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		if (e.code == DOSSIER_ENOSPACE && !force) {
			rc = EXIT_ENV;
			llm_setup_close(&llm);
			goto out_rec;
		}
	}

	pipeline_runner *pr = NULL;
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
	sched *s = NULL;
	if (sched_new(&schp, &s, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		rc = EXIT_ENV;
		goto out_llm;
	}
	struct worker w = {.s = s};
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	pthread_t wt;
	if (pthread_create(&wt, NULL, worker_main, &w) != 0) {
		fprintf(stderr, "dossier: cannot start the scheduler thread\n");
		rc = EXIT_ENV;
		goto out_sched;
	}

	sp.cfg = &cfg;
	sp.bus = b;
	sp.sched = s;
	sp.res = llm.unavailable ? NULL : llm.res;
	sp.llm = llm.unavailable ? NULL : llm.backend;
	sp.llm_message = llm.unavailable ? llm.unavailable_msg : NULL;
	server *srv = NULL;
	if (server_start(&sp, &srv, &e)) {
		fprintf(stderr, "dossier serve: %s\n", e.msg);
		rc = EXIT_ENV;
	} else {
		printf("listening on %s\n", server_url(srv));
		fflush(stdout);
		pthread_t ft;
		int watching = 0;
		if (fw.w) {
			fw.bus = b;
			fw.s = s;
			watching = pthread_create(&ft, NULL, folder_watch_main, &fw) == 0;
			if (!watching)
				fprintf(stderr, "dossier serve: cannot start watching the folders\n");
		}
		int sig = 0;
		while (sigwait(&stop_sigs, &sig) != 0)
			;
		fprintf(stderr, "dossier serve: %s: stopping\n", sig == SIGINT ? "interrupted" : "terminated");
		rc = 0;
		if (watching) {
			/* no new batch after this: the one being recorded finishes first */
			if (write(fw.stop[1], "x", 1) != 1)
				fprintf(stderr, "dossier serve: cannot stop watching: %s\n", strerror(errno));
			pthread_join(ft, NULL);
		}
	}

	/* the scheduler first, so no step starts while the rest shuts down */
	sched_stop(s);
	if (!worker_wait(&w, SERVE_STOP_GRACE_S)) {
		fprintf(stderr, "dossier serve: cancelling the steps still running (they are queued again next start)\n");
		cancel_flag = 1;
	}
	pthread_join(wt, NULL);
	server_stop(srv); /* event streams end, the daemon stops */
	if (llm_setup_finish(&llm, &e))
		fprintf(stderr, "dossier: %s\n", e.msg);
out_sched:
	sched_free(s);
	pipeline_runner_free(pr);
	pthread_cond_destroy(&w.cv);
	pthread_mutex_destroy(&w.mu);
out_llm:
	llm_setup_close(&llm);
out_rec:
	recorder_stop(rec, NULL);
	bus_free(b);
	watcher_free(fw.w);
	if (fw.stop[0] >= 0) {
		close(fw.stop[0]);
		close(fw.stop[1]);
	}
	return rc;
}

const struct cli_cmd cmd_serve = {
	.name = "serve",
	.summary = "serve the HTTP API, live events and the web page",
	.usage = usage,
	.run = run,
};
