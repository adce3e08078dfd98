/*
 * watch.h — consume folders as files arrive (inotify): the watcher turns the
 * kernel's events into batches of paths to ingest and paths gone, and
 * watch_apply records one batch in the store.
 *
 *   watcher *w;
 *   struct watch_opts o;
 *   watch_opts_default(&o);
 *   if (watcher_new(roots, n, &o, &w, &err)) die(err.msg);
 *   for (;;) {
 *       struct watch_batch b;
 *       int timeout_ms;
 *       watcher_next_batch(w, &b, &timeout_ms, &err);   // never blocks
 *       if (b.n_ingest || b.n_gone || b.n_gone_dirs)
 *           watch_apply(st, cls, bus, &b, prune, &stats, &err);
 *       watch_batch_clear(&b);
 *       poll(&(struct pollfd){watcher_fd(w), POLLIN}, 1, timeout_ms);
 *   }
 *   watcher_free(w);
 *
 * What becomes ready when:
 *   - a file closed after writing (IN_CLOSE_WRITE) is ready at once;
 *   - a file that arrives otherwise (moved in, a link made, found in a new
 *     folder) is ready once its size and mtime stayed the same for settle_s;
 *     one written to (IN_MODIFY) without a close yet waits for the close;
 *   - a file renamed inside the watched trees keeps its state under its new
 *     name, and its old name is reported gone in the same batch as the new one
 *     (ingest then sees known content whose old path is gone: a move);
 *   - a new folder is watched at once and its files are taken as arrivals;
 *   - ready paths are held until no event came for quiet_s (or the oldest
 *     waited max_wait_s), so a burst of files is one batch;
 *   - an overflow of the kernel's queue (IN_Q_OVERFLOW) gives a rescan batch:
 *     every root to ingest and every root as a gone folder.
 * Hidden names (a leading '.') and the paths in opts.ignore are never reported.
 *
 * A watcher is used from one thread. Library code: it never prints.
 */
#ifndef DOSSIER_PIPELINE_WATCH_H
#define DOSSIER_PIPELINE_WATCH_H

#include <stddef.h>

#include "core/event.h"
#include "pipeline/ingest.h"
#include "pipeline/pipeline.h"
#include "store/store.h"

struct err;
typedef struct watcher watcher;

struct watch_opts {
	double settle_s;          /* size and mtime stable this long: ready (default 1.0) */
	double quiet_s;           /* a batch is due after this long without events (default 0.3) */
	double max_wait_s;        /* ... or once its oldest path waited this long (default 5) */
	int initial_scan;         /* 1 (default): the first batch is a rescan of the roots */
	const char *const *ignore; /* borrowed, NULL-terminated; absolute paths (a file, or a folder
	                              and all below it) never reported; may be NULL */
	unsigned max_events;      /* fake an overflow after this many events (tests); 0 = never */
};
void watch_opts_default(struct watch_opts *o);

/*
 * Watches each root (a folder, recursively; resolved to its real path). A
 * root that is not a folder, or a folder that cannot be watched, is
 * DOSSIER_EINVAL / DOSSIER_EIO with a message naming it; running out of
 * inotify watches says which limit to raise. roots are copied. Caller frees
 * with watcher_free.
 */
int watcher_new(char *const *roots, int n, const struct watch_opts *o, watcher **out, struct err *err);
void watcher_free(watcher *w);  /* NULL is a no-op */
/* The inotify descriptor to poll for POLLIN (owned by the watcher). */
int watcher_fd(const watcher *w);
/* The roots as resolved (borrowed, valid while w lives). */
char *const *watcher_roots(const watcher *w, int *n);

struct watch_batch {
	char **ingest;            /* owned; absolute paths (files, or the roots on a rescan) */
	size_t n_ingest;
	char **gone;              /* owned; files whose name went away */
	size_t n_gone;
	char **gone_dirs;         /* owned; folders that went away (everything below is gone) */
	size_t n_gone_dirs;
	int rescan;               /* 1: an initial scan or an overflow's rescan */
	int overflow;             /* 1: the kernel's queue overflowed since the last batch */
};
void watch_batch_clear(struct watch_batch *b);  /* frees the arrays and zeroes *b */

/*
 * Reads whatever events are waiting (never blocks) and fills *b with the
 * batch that is due, or an empty one. *timeout_ms is how long the caller may
 * wait for the descriptor before calling again (-1: until it is readable).
 * Errors are DOSSIER_EIO (the descriptor failed); *b is empty then.
 */
int watcher_next_batch(watcher *w, struct watch_batch *b, int *timeout_ms, struct err *err);
/* Paths waiting (not yet in a batch): for tests and progress lines. */
size_t watcher_pending(const watcher *w);
/* The next batch is a rescan of the roots (after a batch that could not be recorded). */
void watcher_rescan(watcher *w);

struct watch_apply_stats {
	struct ingest_stats ingest;  /* of the ingest */
	int missing;                 /* documents newly marked missing */
	int pruned;                  /* documents forgotten (prune) */
	int back;                    /* documents marked missing before whose file is back */
};

/*
 * Records one batch: ingests b->ingest (pipeline/ingest.h: one batched
 * walk; a move keeps its document), clears the missing mark of documents
 * whose file is there again, then marks missing (store_doc_set_missing) every
 * document whose path is in b->gone or below b->gone_dirs and whose file is
 * really gone, or with prune_data_dir (not NULL) forgets it through
 * pipeline_forget with that data directory. Emits document_missing or
 * document_deleted for each. Returns 0 or the store's error.
 */
int watch_apply(store *st, classifier *cls, bus *bs, const struct watch_batch *b, const char *prune_data_dir,
                struct watch_apply_stats *stats, struct err *err);

/* What watch_run needs; all borrowed. */
struct watch_run_params {
	store *st;
	classifier *cls;
	bus *bus;
	const char *prune_data_dir; /* not NULL: forget documents whose file is gone (their frames
	                               and children under this data directory too) */
	int stop_fd;               /* readable (a pipe, a signalfd) = stop; -1 = none */
	/* After each batch (may be NULL): rc and err are watch_apply's; on an
	 * error the next batch is a rescan, so nothing is lost. */
	void (*on_batch)(void *user, const struct watch_batch *b, const struct watch_apply_stats *s, int rc,
	                 const struct err *err);
	void *user;
};
/* Records batches as they come until stop_fd is readable. Returns 0, or
 * DOSSIER_EIO when the watcher itself failed. */
int watch_run(watcher *w, const struct watch_run_params *p, struct err *err);

#endif
