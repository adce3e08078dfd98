/*
 * store.h — the SQLite store: documents, the durable step queue, dossiers,
 * events and the full-text index. The queue is the truth: a lane claims a
 * ready step in one transaction and records its result in one transaction.
 *
 *   store *st;
 *   if (store_open("/tmp/d.db", &st, &err)) die(err.msg);
 *   store_recover(st, &n);                  // steps left running by a dead process
 *   ...
 *   store_close(st);
 *
 * One `store` is one SQLite connection (WAL, busy timeout). A handle may be
 * used from one thread at a time; open one per thread. Several processes (the
 * CLI and a server) may share one database file.
 */
#ifndef DOSSIER_STORE_H
#define DOSSIER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

struct err;
typedef struct store store;

/* Opens (creating the file and its directory) and migrates the schema.
 * An unusable path gives DOSSIER_EDB or DOSSIER_EPERM with a message naming it.
 * Caller frees with store_close. */
int store_open(const char *path, store **out, struct err *err);
void store_close(store *st);  /* NULL is a no-op */
/* The schema version this build writes (PRAGMA user_version). */
int store_schema_version(void);

/* ---------------------------------------------------------------- documents */

struct doc_rec {
	int64_t id;
	char *path;          /* owned; absolute */
	char sha256[65];     /* "" when the file could not be read */
	char *mime;          /* owned */
	char kind[16];       /* text pdf image audio video unsupported */
	int64_t bytes;
	int64_t mtime;       /* seconds since the epoch */
	char status[16];     /* queued running done partial failed unsupported */
	char *error;         /* owned; NULL if none */
	double updated_at;   /* seconds since the epoch */
};
void doc_rec_clear(struct doc_rec *d);  /* frees the owned strings */

/* One step a pipeline declares for a document. */
struct step_decl {
	const char *kind;      /* "extract_text", "ocr", ... */
	enum model_role role;  /* the model it needs */
	uint64_t deps;         /* bit i set = needs step i of the same document */
};

struct doc_input {
	const char *path;     /* absolute */
	const char *sha256;   /* may be "" when unreadable */
	const char *mime;
	const char *kind;
	int64_t bytes, mtime;
	const char *status;   /* NULL = "queued"; or "unsupported" / "failed" (no steps) */
	const char *error;    /* message for failed/unsupported, else NULL */
};

/*
 * Primitives for ingest (pipeline/ingest_decide.c decides which to use); call
 * them inside store_tx to make one change of them. None of them looks at the
 * file system.
 */
/* A new document with its steps (none when in->status is set). *id_out = its id. */
int store_doc_insert(store *st, const struct doc_input *in, const struct step_decl *steps,
                     size_t n_steps, int64_t *id_out, struct err *err);
/* Rewrites document id's columns from *in, replaces its steps with `steps`
 * (none when in->status is set) and, with drop_dossier, drops its dossier and index entry. */
int store_doc_requeue(store *st, int64_t id, const struct doc_input *in, const struct step_decl *steps,
                      size_t n_steps, int drop_dossier, struct err *err);
/* Records that document id now lives at new_path (its dossier's "path" follows). */
int store_doc_move(store *st, int64_t id, const char *new_path, int64_t mtime, struct err *err);
int store_doc_set_mtime(store *st, int64_t id, int64_t mtime, struct err *err);
/* Calls cb with each document holding this content, oldest first; a non-zero
 * return stops the walk. path is borrowed for the call. */
int store_docs_by_sha256(store *st, const char *sha256,
                         int (*cb)(int64_t id, const char *path, void *user), void *user,
                         struct err *err);
/* Fills *out (caller clears with doc_rec_clear). DOSSIER_ENOTFOUND if none. */
int store_doc_get(store *st, int64_t id, struct doc_rec *out, struct err *err);
int store_doc_by_path(store *st, const char *path, struct doc_rec *out, struct err *err);
/* Calls cb for each document in id order (oldest first), filtered by status/kind (NULL = any).
 * A non-zero return from cb stops the walk. limit 0 = all. */
int store_doc_list(store *st, const char *status, const char *kind, int limit, int offset,
                   int (*cb)(const struct doc_rec *d, void *user), void *user, struct err *err);
int store_doc_count(store *st, const char *status, int64_t *out, struct err *err);
int store_doc_set_status(store *st, int64_t id, const char *status, const char *error,
                         struct err *err);
/* Deletes a document, its steps, dossier and index entry. */
int store_doc_delete(store *st, int64_t id, struct err *err);

/* ------------------------------------------------------------- steps queue */

enum step_state { STEP_QUEUED, STEP_RUNNING, STEP_DONE, STEP_FAILED, STEP_SKIPPED };
const char *step_state_name(enum step_state s);

struct step_rec {
	int64_t id, document_id;
	int idx;               /* position in the document's pipeline */
	char kind[24];
	enum model_role role;
	uint64_t deps;
	enum step_state state;
	int attempts;
	char *result;          /* owned JSON text, NULL until done */
	char *last_error;      /* owned, NULL if none */
	double started_at, finished_at;
};
void step_rec_clear(struct step_rec *s);
void step_recs_free(struct step_rec *v, size_t n);

/* What a lane may take. */
struct claim_filter {
	unsigned role_mask;      /* bit (1u << role) for each role this lane runs */
	int prefer_role;         /* a role to take first (model affinity); -1 = none */
	int document_order;      /* 1 = strictly the oldest document's step (sequential) */
	int64_t only_document;   /* > 0: only this document's steps */
};
/* Claims one ready step (queued, every dependency done) atomically.
 * Returns 0 with *out filled, or DOSSIER_ENOTFOUND when none is ready. */
int store_step_claim(store *st, const struct claim_filter *f, struct step_rec *out,
                     struct err *err);
/* Counts queued steps by role: ready ones and those still waiting on dependencies. */
int store_steps_pending(store *st, unsigned ready_by_role[ROLE_COUNT],
                        unsigned waiting_by_role[ROLE_COUNT], unsigned *running,
                        struct err *err);
/* Queued steps of `role` that are not ready but will be once the steps of the
 * roles in preparing_mask (bit 1u << role) now pending finish, and nothing
 * else: work about to arrive. Which roles prepare work is the caller's
 * (the scheduler's lane topology). */
int store_steps_upcoming(store *st, enum model_role role, unsigned preparing_mask, unsigned *out,
                         struct err *err);
/* Records success: result is JSON text (copied). */
int store_step_done(store *st, int64_t step_id, const char *result, struct err *err);
/*
 * Records a failure. retry = 1 puts the step back in the queue while attempts
 * < max_attempts; otherwise it fails and the steps depending on it are skipped.
 * *failed_out (may be NULL) says whether it is now failed for good.
 */
int store_step_fail(store *st, int64_t step_id, const char *error, int retry,
                    int max_attempts, int *failed_out, struct err *err);
/* Puts a running step back in the queue without counting the attempt (the
 * service it needs is unavailable; a later run takes it). */
int store_step_defer(store *st, int64_t step_id, const char *error, struct err *err);
/* Steps of one document in pipeline order (caller frees with step_recs_free). */
int store_doc_steps(store *st, int64_t doc_id, struct step_rec **out, size_t *n,
                    struct err *err);
/* Steps left running by a process that no longer exists go back to the queue. */
int store_recover(store *st, int *n_recovered, struct err *err);
/* Atomically moves a document whose steps are all settled (none queued or
 * running) to status "assembling"; *won = 1 for exactly one caller. */
int store_doc_try_finish(store *st, int64_t doc_id, int *won, struct err *err);
/* Documents left "running" with no running step (their steps were deferred)
 * go back to "queued". */
int store_docs_requeue_idle(store *st, int *n, struct err *err);
/* 1 if the document has no queued or running step left. */
int store_doc_settled(store *st, int64_t doc_id, int *settled, struct err *err);

/* ---------------------------------------------------------------- dossiers */

/* The fields the full-text index holds, borrowed. */
struct fts_fields {
	const char *title, *summary, *tags, *keywords, *text, *transcript, *ocr;
};
/* Stores the dossier JSON and the document's final status, and updates the index. */
int store_dossier_put(store *st, int64_t doc_id, const char *status, const char *json,
                      const struct fts_fields *fts, struct err *err);
/* *out is the JSON text (caller frees with free()); DOSSIER_ENOTFOUND if none. */
int store_dossier_get(store *st, int64_t doc_id, char **out, struct err *err);

struct search_hit {
	int64_t id;
	const char *path, *title, *snippet;  /* borrowed for the callback */
	double rank;                         /* bm25; lower is better */
};
/* Full-text search over the dossiers. The query is words (all must match; a
 * trailing * is a prefix); FTS5 syntax characters are neutralised. */
int store_search(store *st, const char *query, int limit,
                 int (*cb)(const struct search_hit *h, void *user), void *user,
                 struct err *err);

/* ------------------------------------------------------------------ events */

int store_event_put(store *st, uint64_t seq, const char *name, int64_t doc_id,
                    const char *json, struct err *err);
/* Reserves n event numbers for this process: [*first, *first + n). Processes
 * sharing a database never hand out the same number. */
int store_event_reserve(store *st, uint64_t n, uint64_t *first, struct err *err);
/* Calls cb with each stored event's JSON after seq `after`, oldest first. */
int store_events_since(store *st, uint64_t after, int limit,
                       int (*cb)(uint64_t seq, const char *json, void *user), void *user,
                       struct err *err);

/* Runs fn inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK on a non-zero return). */
int store_tx(store *st, int (*fn)(store *st, void *user), void *user, struct err *err);

#endif
