/*
 * progress.h — what a person sees while `analyze` runs, and the NDJSON event
 * file. Both are bus subscribers with their own thread; neither can slow the
 * pipeline (a sink that falls behind is dropped and says so).
 */
#ifndef DOSSIER_CLI_PROGRESS_H
#define DOSSIER_CLI_PROGRESS_H

#include <stdio.h>

#include "core/event.h"

typedef struct sink sink;

enum progress_mode {
	PROGRESS_LIVE,   /* a terminal: redrawn lines per active document and a bar */
	PROGRESS_PLAIN,  /* not a terminal: one log line per notable event */
	PROGRESS_QUIET,  /* errors only */
};

/* Renders progress to out (borrowed; usually stderr). Caller stops with sink_stop. */
int progress_start(bus *b, FILE *out, enum progress_mode mode, int color, sink **s);
/* Writes each event as one JSON line to out (borrowed; flushed per line). */
int events_writer_start(bus *b, FILE *out, sink **s);
/* Drains events published before the call, stops the thread, frees. NULL is a no-op. */
void sink_stop(sink *s);

#endif
