/*
 * run_io.c — the bus, recorder, event file and progress around a run of the
 * queue, and the run itself (run_io.h).
 */
#include "cli/run_io.h"
#include "cli/cli.h"
#include "cli/common.h"
#include "core/err.h"
#include "pipeline/runner.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int run_io_open(const struct config *cfg, const char *events_path, enum progress_mode mode, struct run_io *io)
{
	struct err e = {0};
	memset(io, 0, sizeof *io);
	if (event_bus_open(cfg->db_path, &io->bus, &e)) {
		fprintf(stderr, "dossier: %s\n", e.msg);
		return EXIT_ENV;
	}
	if (recorder_start(io->bus, cfg->db_path, &io->rec, &e))
		fprintf(stderr, "dossier: events will not be stored: %s\n", e.msg);
	if (events_path) {
		io->events_file = strcmp(events_path, "-") ? fopen(events_path, "w") : stdout;
		if (!io->events_file) {
			fprintf(stderr, "dossier: cannot write events to %s: %s\n", events_path, strerror(errno));
			run_io_close(io);
			return EXIT_USAGE;
		}
		events_writer_start(io->bus, io->events_file, &io->events_sink);
	}
	progress_start(io->bus, stderr, mode, cli_color(stderr), &io->progress);
	return 0;
}

FILE *run_io_summary(const struct run_io *io)
{
	return io->events_file == stdout ? stderr : stdout;
}

void run_io_stop_progress(struct run_io *io)
{
	sink_stop(io->progress);
	io->progress = NULL;
}

void run_io_close(struct run_io *io)
{
	run_io_stop_progress(io);
	sink_stop(io->events_sink);
	io->events_sink = NULL;
	if (io->events_file && io->events_file != stdout)
		fclose(io->events_file);
	io->events_file = NULL;
	recorder_stop(io->rec, NULL);
	io->rec = NULL;
	bus_free(io->bus);
	io->bus = NULL;
}

int run_queue(const struct config *cfg, bus *b, struct llm_setup *llm, volatile int *cancel, int keep_running,
              double lease_ttl_s, struct sched_stats *ss, struct err *e)
{
	pipeline_runner *pr = NULL;
	struct pipeline_runner_params pp = {.cfg = cfg, .bus = b, .llm = llm->backend, .res = llm->res,
	                                    .cancel = cancel, .offline_models = cfg->offline};
	sched *s = NULL;
	int rc = pipeline_runner_new(&pp, &pr, e);
	if (rc == 0) {
		struct sched_params sp = {.cfg = cfg, .bus = b, .runner = pipeline_runner_iface(pr),
		                          .res = llm->backend ? llm->res : NULL, .offline = cfg->offline,
		                          .keep_running = keep_running, .lease_ttl_s = lease_ttl_s, .cancel = cancel};
		if ((rc = sched_new(&sp, &s, e)) == 0)
			rc = sched_run(s, ss, e);
		sched_free(s);
	}
	pipeline_runner_free(pr);
	struct err fe = {0};
	if (llm_setup_finish(llm, &fe))
		fprintf(stderr, "dossier: %s\n", fe.msg);  /* the models are left as they are; the run's outcome stands */
	return rc;
}
