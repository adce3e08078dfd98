/*
 * ingest.h — walks the paths a user names, classifies each file, and records
 * it in the store with its steps (or as unchanged, moved, unsupported, failed).
 *
 * Directories are walked recursively; hidden entries are skipped unless named
 * explicitly; symbolic links are followed but a directory is never entered
 * twice (loops are reported, not followed); a file reached twice (named twice,
 * or through a link) is one document.
 *
 * Emits: document_queued, document_unchanged, document_unsupported,
 * document_failed (unreadable files), ingest_warning (loops, missing paths).
 */
#ifndef DOSSIER_PIPELINE_INGEST_H
#define DOSSIER_PIPELINE_INGEST_H

#include "core/event.h"
#include "pipeline/pipeline.h"
#include "store/store.h"

struct ingest_stats {
	int queued;       /* new or changed documents with steps queued */
	int unchanged;    /* same content as last time: nothing to do */
	int moved;        /* known content at a new path */
	int retried;      /* unfinished or failed earlier: queued again */
	int unsupported;  /* recorded as unsupported */
	int failed;       /* recorded as failed (unreadable) or missing paths */
	int duplicates;   /* second copies of content already known: one dossier, another path */
};

/*
 * Ingests each path. Problems with single files are events and counts, not
 * errors; the return code is non-zero only when the store itself fails.
 */
int ingest_paths(store *st, classifier *cls, bus *b, char *const *paths, int n,
                 struct ingest_stats *stats, struct err *err);

/* What a caller wants to hear about during ingest (every field may be NULL). */
struct ingest_opts {
	/* a document already analysed, seen again unchanged or moved (called
	 * with its id; re-analysis looks at it after ingest) */
	void (*on_known)(int64_t id, void *user);
	void *user;
};
/* ingest_paths, with opts (may be NULL). */
int ingest_paths_opts(store *st, classifier *cls, bus *b, char *const *paths, int n, const struct ingest_opts *opts,
                      struct ingest_stats *stats, struct err *err);
/* Ingests one regular file at an absolute path; *id_out is its document. */
int ingest_file(store *st, classifier *cls, bus *b, const char *abs_path,
                struct ingest_stats *stats, int64_t *id_out, struct err *err);

#endif
