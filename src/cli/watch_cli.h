/* watch_cli.h — what `dossier watch` and `dossier serve --watch` share
 * (defined in cmd_watch.c). */
#ifndef DOSSIER_CLI_WATCH_CLI_H
#define DOSSIER_CLI_WATCH_CLI_H

#include <stdio.h>

#include "core/config.h"
#include "pipeline/watch.h"

/* The paths a watcher must never report: the database and its companion
 * files, and the folders dossier writes beside it (frames, OCR pages,
 * uploads). Fills v (cap entries, the last one NULL) with strings the caller
 * frees with free(). */
void watch_cli_ignore(const struct config *cfg, char **v, size_t cap);

/* Parses --settle's value (0 to 60 seconds); prints and returns 2 on a bad one. */
int watch_cli_settle(const char *cmd, const char *arg, double *out);

/* One line to out about a recorded batch (nothing for an empty one; quiet =
 * only errors). cmd names the command ("watch", "serve"). */
void watch_cli_report(FILE *out, const char *cmd, int quiet, const struct watch_batch *b,
                      const struct watch_apply_stats *s, int rc, const struct err *e);

#endif
