/*
 * run_io.h — what every command that runs the queue (analyze, reanalyze,
 * watch, worker) opens around it: the event bus over the database, the
 * recorder that stores the events, the --events file and the progress display;
 * and the run of the queue itself (the pipeline's runner under the scheduler).
 */
#ifndef DOSSIER_CLI_RUN_IO_H
#define DOSSIER_CLI_RUN_IO_H

#include <stdio.h>

#include "cli/llm_setup.h"
#include "cli/progress.h"
#include "core/config.h"
#include "core/event.h"
#include "sched/sched.h"
#include "store/recorder.h"

struct run_io {
	bus *bus;           /* owned */
	recorder *rec;      /* owned; NULL when the events cannot be stored (said on stderr) */
	FILE *events_file;  /* owned, unless it is stdout; NULL without --events */
	sink *events_sink;  /* owned */
	sink *progress;     /* owned */
};

/* Opens the bus over cfg's database, the recorder, --events (events_path,
 * "-" = stdout; NULL = none) and the progress display in `mode`. Returns 0, or
 * EXIT_ENV / EXIT_USAGE after printing why (what was opened is closed). */
int run_io_open(const struct config *cfg, const char *events_path, enum progress_mode mode, struct run_io *io);
/* Where a command's summary goes: stdout, or stderr when the events go to stdout. */
FILE *run_io_summary(const struct run_io *io);
/* Ends the progress display (before the summary); the rest stays open. */
void run_io_stop_progress(struct run_io *io);
void run_io_close(struct run_io *io);  /* every part; a zeroed io is a no-op */

/* Runs the queue with the pipeline's runner: until nothing runnable is left,
 * or with keep_running until *cancel. llm's backend and residency manager are
 * used when there are; llm_setup_finish runs at the end (a failure there is
 * printed, not returned). lease_ttl_s 0 = the
 * default. Returns 0 or the code, with the message in e. */
int run_queue(const struct config *cfg, bus *b, struct llm_setup *llm, volatile int *cancel, int keep_running,
              double lease_ttl_s, struct sched_stats *ss, struct err *e);

#endif
