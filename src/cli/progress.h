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

/* Copies the first line of `line` into out (n bytes, always terminated), cut
 * to at most `width` terminal columns: UTF-8 characters are never split (a
 * wide one counts two columns), colour escapes count none and a cut line
 * ends with a colour reset. Returns the bytes written. */
size_t progress_fit(const char *line, int width, char *out, size_t n);
/* The terminal's columns for fd (TIOCGWINSZ), else $COLUMNS, else 80. */
int progress_width(int fd);

#endif
