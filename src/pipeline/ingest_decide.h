/*
 * ingest_decide.h — what recording a file means for the queue: a new document,
 * nothing to do, new content, a move, or a retry. The decision is ingest's;
 * the store only executes the primitives chosen here, in one transaction.
 *
 * Copies: a file whose content another document already holds (same sha256,
 * that document's file still there) is that document's copy, one dossier
 * with two paths. When the document's own file changes or is forgotten by
 * path, its oldest copy takes its place and keeps its dossier
 * (store_doc_take_copy); a copy whose original changed becomes a document
 * of its own.
 *
 *   int64_t id; enum ingest_outcome o;
 *   ingest_decide(st, &in, steps, n, &id, &o, &err);
 */
#ifndef DOSSIER_PIPELINE_INGEST_DECIDE_H
#define DOSSIER_PIPELINE_INGEST_DECIDE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

struct err;

enum ingest_outcome {
	INGEST_NEW,         /* first time seen: steps queued */
	INGEST_UNCHANGED,   /* same path, same content, finished: nothing to do */
	INGEST_CHANGED,     /* same path, new content: old steps and dossier dropped, new steps queued */
	INGEST_MOVED,       /* known content whose old path no longer exists: path updated */
	INGEST_RETRY,       /* same content, last run failed or is unfinished: queued again */
	INGEST_RECORDED,    /* recorded without steps (unsupported or failed at ingest) */
	INGEST_DUPLICATE,   /* a second copy of content another document holds: recorded as its copy
	                       (status "duplicate", same_as), no steps, no dossier of its own */
};
/* A stable lower-case name ("new", "unchanged", ...). Never NULL. */
const char *ingest_outcome_name(enum ingest_outcome o);

/*
 * Records the file described by *in and queues `steps` (borrowed) when there
 * is work, in one transaction (store_tx). A path already known keeps its id.
 * A new path with content known under a path that no longer exists (stat
 * says ENOENT) is a move. in->status set ("unsupported", "failed") records
 * the document without steps. Fills *id_out and *outcome. On error nothing
 * is changed.
 */
int ingest_decide(store *st, const struct doc_input *in, const struct step_decl *steps, size_t n_steps,
                  int64_t *id_out, enum ingest_outcome *outcome, struct err *err);

/* Called inside ingest_decide_announced's transaction once the outcome is
 * known (id is the document): stores the event announcing it with
 * store_events_put, so the change and its announcement commit together. A
 * non-zero return rolls the whole ingest back. */
typedef int (*ingest_announce_fn)(store *st, int64_t id, enum ingest_outcome outcome, void *user);
/* ingest_decide, with announce (may be NULL) called in the same transaction. */
int ingest_decide_announced(store *st, const struct doc_input *in, const struct step_decl *steps, size_t n_steps,
                            ingest_announce_fn announce, void *user, int64_t *id_out,
                            enum ingest_outcome *outcome, struct err *err);

#endif
