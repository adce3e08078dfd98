/*
 * store.h — the SQLite store: documents, the durable step queue, leases,
 * dossiers, events and the full-text index. The queue is the truth: a worker
 * claims a ready step in one transaction and records its result in one
 * transaction, together with the events announcing it. The store executes;
 * what to claim first, when to retry and what ingest means are the callers'.
 * Tables: docs/schema.md.
 *
 *   store *st;
 *   char me[STORE_HOLDER_MAX];
 *   if (store_open("/tmp/d.db", &st, &err)) die(err.msg);
 *   store_lease_acquire(st, NULL, STORE_LEASE_TTL_S, me, sizeof me, &err);
 *   store_recover(st, &n, &err);           // steps of dead or expired workers
 *   struct claim_filter f = {.role_mask = 1u << ROLE_NONE, .prefer_role = -1, .holder = me};
 *   if (store_step_claim(st, &f, NULL, 0, &step, &err) == 0)
 *       store_step_done(st, step.id, me, "{}", NULL, 0, &err);
 *   store_lease_release(st, me, NULL, &err);
 *   store_close(st);
 *
 * One `store` is one SQLite connection (WAL, busy timeout) with its prepared
 * statements. A handle may be used from one thread at a time; open one per
 * thread. Several processes (the CLI and a server) may share one database file.
 * Every function returns 0 or a DOSSIER_E* code; err may be NULL.
 */
#ifndef DOSSIER_STORE_H
#define DOSSIER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/event.h"

struct store_event;
struct err;
typedef struct store store;

/* Opens (creating the file and its directory) and migrates the schema.
 * An unusable path gives DOSSIER_EDB or DOSSIER_EPERM with a message naming it.
 * Caller frees with store_close. */
int store_open(const char *path, store **out, struct err *err);
void store_close(store *st);  /* NULL is a no-op */
/* The database's location as opened (a file path for SQLite). Borrowed, valid
 * while st lives. Ingest uses it to never take the store's own files as documents. */
const char *store_location(const store *st);
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
	char *name;          /* owned; an upload's original file name, NULL = basename of path */
	double missing_at;   /* when the file was found gone (epoch s); 0 = present */
	int64_t same_as;     /* status "duplicate": the document holding this content's dossier; else 0 */
	int64_t parent_id;   /* the document this one was found inside (an archive, a mail); 0 = none */
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
	const char *status;   /* NULL = "queued"; or "unsupported" / "failed" / "duplicate" (no steps) */
	const char *error;    /* message for failed/unsupported, else NULL */
	int64_t same_as;      /* status "duplicate": the document with the same content; else 0 */
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
 * return stops the walk. d is borrowed for the call. */
int store_docs_by_sha256(store *st, const char *sha256, int (*cb)(const struct doc_rec *d, void *user), void *user,
                         struct err *err);
/* Calls cb with each copy of document id (status "duplicate", same_as = id), oldest first. */
int store_doc_copies(store *st, int64_t id, int (*cb)(const struct doc_rec *d, void *user), void *user,
                     struct err *err);
/* Document id moves to the path of its oldest copy whose file is not marked
 * missing (keeping its dossier), and that copy's row is deleted. *copy_out =
 * the copy's row as it was (caller clears). DOSSIER_ENOTFOUND when id has no
 * such copy. A primitive: call it inside store_tx. */
int store_doc_take_copy(store *st, int64_t id, struct doc_rec *copy_out, struct err *err);
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
/* Sets the document's display name (an upload's original file name; NULL
 * clears it, the path's last component is shown). */
int store_doc_set_name(store *st, int64_t id, const char *name, struct err *err);
/* Marks the document's file gone since `at` (epoch s), or present again (at 0). */
int store_doc_set_missing(store *st, int64_t id, double at, struct err *err);
/* Deletes a document, its steps, dossier and index entry. */
int store_doc_delete(store *st, int64_t id, struct err *err);

/* What store_doc_forget removed. */
struct doc_forgotten {
	struct doc_rec doc;      /* the record as it was (caller clears with doc_rec_clear) */
	int had_dossier;         /* 1 if it had a stored dossier */
	int steps;               /* steps deleted */
	int64_t same_content;    /* documents left holding its sha256 (0 = none, or sha256 "") */
	int64_t same_path;       /* documents left at its path (always 0 today: paths are unique) */
};
/* Deletes document id, its steps, dossier and index entry in one transaction
 * and says what was there (*out filled only on success). DOSSIER_ENOTFOUND
 * (with a message naming the id) when there is no such document. */
int store_doc_forget(store *st, int64_t id, struct doc_forgotten *out, struct err *err);
/* store_doc_forget, with ev (n_ev) stored in its transaction (the outbox). */
int store_doc_forget_ev(store *st, int64_t id, const struct store_event *ev, size_t n_ev,
                        struct doc_forgotten *out, struct err *err);

/* The order of store_docs_find: oldest first (the default), or by name,
 * size or modification time; each also reversed (ids break ties). */
enum doc_order {
	DOC_ORDER_ID = 0, DOC_ORDER_ID_DESC, DOC_ORDER_NAME, DOC_ORDER_NAME_DESC,
	DOC_ORDER_SIZE, DOC_ORDER_SIZE_DESC, DOC_ORDER_MODIFIED, DOC_ORDER_MODIFIED_DESC,
	DOC_ORDER_COUNT
};

/*
 * Which documents a listing or a search keeps. Each field NULL (or 0) = any.
 * Values are compared as given; which ones exist (the kind table, the
 * statuses) is checked by the caller (pipeline/filter.h).
 */
struct doc_filter {
	const char *status;     /* documents.status */
	const char *kind;       /* documents.kind */
	int64_t since, until;   /* the file's mtime in [since, until) (epoch s); 0 = unbounded */
	const char *tag;        /* one of the dossier's tags (ASCII case-insensitive) */
	const char *language;   /* the dossier's language (ASCII case-insensitive) */
	int missing;            /* 1 = only documents whose file is marked missing */
	int64_t parent;         /* only the documents found inside this one (0 = any) */
	char taken_since[24];   /* the content's own date (a photo's capture time, an office file's
	                           creation, a mail's date; ISO 8601 text) in [taken_since, */
	char taken_until[24];   /* taken_until); "" = unbounded */
	int copies;             /* 1 = also the rows of second copies (status "duplicate"), which are
	                           left out otherwise unless status asks for them */
	enum doc_order order;   /* store_docs_find's order (searches rank by relevance) */
};
/* Like store_doc_list, filtered by f (NULL = all), in f->order; title is the
 * dossier's title (borrowed for the call; NULL when it has none). */
int store_docs_find(store *st, const struct doc_filter *f, int limit, int offset,
                    int (*cb)(const struct doc_rec *d, const char *title, void *user), void *user,
                    struct err *err);
/* The number of documents f keeps (NULL = all). */
int store_docs_count(store *st, const struct doc_filter *f, int64_t *out, struct err *err);

/* ------------------------------------------------------------- children */

/* A child document (an archive member, a mail attachment): its parent and its
 * place there (the member's path, the attachment's name). */
struct doc_child {
	int64_t id;
	const char *place;   /* borrowed for the callback */
	const char *name;    /* borrowed; the child's display name, may be NULL */
	const char *kind;    /* borrowed */
	const char *status;  /* borrowed */
};
/* Makes document id a child of parent_id at place (copied), or no one's child
 * (parent_id 0). */
int store_doc_set_parent(store *st, int64_t id, int64_t parent_id, const char *place, struct err *err);
/* *parent_id = document id's parent (0 = none); place (n bytes, may be NULL)
 * gets its place. DOSSIER_ENOTFOUND for an unknown id. */
int store_doc_parent(store *st, int64_t id, int64_t *parent_id, char *place, size_t n, struct err *err);
/* Calls cb for each child of parent_id in id order; a non-zero return stops. */
int store_doc_children(store *st, int64_t parent_id, int (*cb)(const struct doc_child *c, void *user), void *user,
                       struct err *err);

/* ------------------------------------------------------------------ events */

/*
 * An event that commits with a change of state (the outbox): the state-changing
 * calls below insert the ones they are given in their own transaction, so a
 * change and the event announcing it are stored together or not at all. The
 * caller reserves the number first (bus_event_new) and publishes the event on
 * its bus after the call succeeded (bus_event_publish), or cancels it.
 */
struct store_event {
	uint64_t seq;          /* the event's number, unique across the database */
	const char *name;      /* borrowed; "step_finished", ... */
	int64_t doc_id;        /* 0 = about no document */
	const char *json;      /* borrowed; the whole event object as JSON text */
};
/* The store_event for a bus event (borrows its strings). */
static inline struct store_event store_event_of(const struct event *ev)
{
	return (struct store_event){ev->seq, ev->name, ev->document, ev->line};
}

/* ------------------------------------------------------------------ leases */

/*
 * A worker (one scheduler run) is a lease holder: an id such as
 * "host:pid:start", registered with an expiry that heartbeats push forward.
 * Claims name the holder; a step whose holder's lease expired is anyone's to
 * requeue (store_recover), and its late result is refused (DOSSIER_ESTALE).
 */
#define STORE_LEASE_TTL_S 30.0        /* default lease length */
#define STORE_LEASE_HEARTBEAT_S 10.0  /* how often a live worker renews it */
#define STORE_HOLDER_MAX 160          /* longest holder id, with its NUL */

/* Registers (or renews) a lease of ttl_s seconds (<= 0: STORE_LEASE_TTL_S).
 * holder NULL = this process's own id, "host:pid:start[/n]". The id is copied
 * into holder_out (n bytes; may be NULL when holder is given). */
int store_lease_acquire(store *st, const char *holder, double ttl_s, char *holder_out, size_t n,
                        struct err *err);
/* Pushes the expiry to now + ttl_s. DOSSIER_ESTALE if the lease is gone
 * (expired and recovered by another process): its claims are void. */
int store_lease_heartbeat(store *st, const char *holder, double ttl_s, struct err *err);
/* A clean exit: the holder's running steps go back to the queue (the attempt
 * not counted) and the lease is removed. *n_requeued (may be NULL) counts them. */
int store_lease_release(store *st, const char *holder, int *n_requeued, struct err *err);
/* What a worker says of itself at its heartbeats: the models its engine has
 * resident now, as "a, b" ("" = none), and its engine's address. */
int store_worker_note(store *st, const char *holder, const char *models, const char *engine, struct err *err);

/* A worker as `dossier workers` shows it. Strings borrowed for the callback. */
struct worker_rec {
	const char *holder, *host;
	long pid;
	double started_at, heartbeat_at, expires_at;
	const char *models;      /* resident models, "" = none or not said */
	const char *engine;      /* its engine's address, "" = offline or not said */
	int running;             /* steps it holds now */
	const char *step_kind;   /* one of them (the oldest), NULL = none */
	int64_t step_document;   /* that step's document, 0 = none */
	int done;                /* steps it finished (those still done and still held by its id) */
};
/* Calls cb for every registered worker, the most recently started first;
 * stops early when cb returns non-zero. Includes expired leases not yet
 * removed (expires_at in the past). */
int store_workers_list(store *st, int (*cb)(const struct worker_rec *w, void *user), void *user,
                       struct err *err);
/* ------------------------------------------------------------- contents */

/*
 * The documents' bytes in the database (content-addressed by sha256), for
 * workers that cannot open the paths the files were queued from: ingest on a
 * database server keeps each new content once; a step whose file is not
 * readable here gets it from there. Streamed in chunks of 1 MiB.
 */
int store_content_has(store *st, const char *sha256, int *yes, struct err *err);
/* Keeps path's bytes as content sha256 (the caller hashed them); 0 at once when kept already. */
int store_content_put(store *st, const char *sha256, const char *path, struct err *err);
/* Writes content sha256 to out_path (through out_path.part, checked against the
 * hash, then renamed). DOSSIER_ENOTFOUND when the database keeps none. */
int store_content_fetch(store *st, const char *sha256, const char *out_path, struct err *err);

/* 1 if `location` names a database server (postgresql://, postgres://) rather
 * than a file: there is no file to stat, and nothing beside it. */
int store_is_server(const char *location);
/* The host name leases register: $DOSSIER_HOST when set (several workers on
 * one machine that should count as machines of their own), else gethostname. */
void store_this_host(char *out, size_t n);

/* Requeues the running steps of holders whose lease expired (the attempt not
 * counted). On this host a holder whose pid is gone, or is now another
 * process's, counts as expired at once. Steps left running without a holder
 * (an older schema) are requeued too. */
int store_recover(store *st, int *n_recovered, struct err *err);

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
	int attempts;          /* claims since it was queued (or last deferred) */
	char *result;          /* owned JSON text, NULL until done */
	char *last_error;      /* owned, NULL if none */
	double started_at, finished_at;
	double not_before;     /* queued: not claimable before (wall s); 0 = now */
};
void step_rec_clear(struct step_rec *s);
void step_recs_free(struct step_rec *v, size_t n);

/* What a lane may take, in the order the caller asks for. */
struct claim_filter {
	unsigned role_mask;      /* bit (1u << role) for each role this lane runs */
	int prefer_role;         /* a role to take first (model affinity); -1 = none */
	int document_order;      /* 1 = strictly the oldest document's step (sequential) */
	int64_t only_document;   /* > 0: only this document's steps */
	const char *holder;      /* borrowed; the claiming lease holder (required) */
};
/*
 * Claims one ready step atomically: queued, every dependency done, its
 * not_before passed, not deferred by this same holder. events (may be NULL)
 * are stored in the same transaction when a step is claimed. Returns 0 with
 * *out filled (caller clears), DOSSIER_ENOTFOUND when none is ready,
 * DOSSIER_ESTALE when the holder's lease is gone.
 */
int store_step_claim(store *st, const struct claim_filter *f, const struct store_event *events,
                     size_t n_events, struct step_rec *out, struct err *err);

/*
 * Settling a claimed step. Each call changes the step only while it is running
 * and held by `holder`; otherwise it writes nothing (not even the events) and
 * returns DOSSIER_ESTALE: the lease expired and the step went back to the
 * queue or to another worker, whose result stands. events (may be NULL) are
 * stored in the same transaction.
 */
/* Success: result is JSON text (copied). */
int store_step_done(store *st, int64_t step_id, const char *holder, const char *result,
                    const struct store_event *events, size_t n_events, struct err *err);
/* Back to the queue, the attempt counted, not claimable before not_before
 * (wall seconds; <= 0 = at once). */
int store_step_retry(store *st, int64_t step_id, const char *holder, const char *error, double not_before,
                     const struct store_event *events, size_t n_events, struct err *err);
/* Failed for good; the steps depending on it are skipped. A step queued again
 * by store_steps_requeue that holds its earlier result is done with it instead
 * (last_error says why the new attempt failed). */
int store_step_fail(store *st, int64_t step_id, const char *holder, const char *error,
                    const struct store_event *events, size_t n_events, struct err *err);
/* Given back: queued with attempts reset to 0 (a full set of tries next
 * time). not_before <= 0: for a later run, this holder never claims it again;
 * else claimable by anyone, this holder too, from not_before on. */
int store_step_defer(store *st, int64_t step_id, const char *holder, const char *error, double not_before,
                     const struct store_event *events, size_t n_events, struct err *err);

/* What the queue holds, for a scheduler deciding whether to wait. */
struct steps_pending {
	unsigned ready[ROLE_COUNT];    /* queued, dependencies done, claimable now */
	unsigned waiting[ROLE_COUNT];  /* queued, some dependency not done yet */
	unsigned delayed[ROLE_COUNT];  /* dependencies done, not before a future time (a retry's backoff) */
	unsigned deferred;             /* given back by the asking holder for a later run */
	unsigned running;              /* claimed by any holder */
	double next_at;                /* earliest not_before of the delayed steps (wall s); 0 = none */
};
/* Fills *out; holder (may be NULL) is the asker, whose deferred steps are not ready for it. */
int store_steps_pending(store *st, const char *holder, struct steps_pending *out, struct err *err);
/* Queued steps of `role` that are not ready but will be once the steps of the
 * roles in preparing_mask (bit 1u << role) now pending finish, and nothing
 * else: work about to arrive. Which roles prepare work is the caller's
 * (the scheduler's lane topology). */
int store_steps_upcoming(store *st, enum model_role role, unsigned preparing_mask, unsigned *out,
                         struct err *err);
/* When a document's queued steps may next run: *when = the earliest not_before
 * among them (wall s; 0 = whenever a run takes them), *last_error = the
 * latest error of a queued step (caller frees; may be NULL; NULL if none).
 * DOSSIER_ENOTFOUND when it has no queued step. */
int store_doc_next_attempt(store *st, int64_t doc_id, double *when, char **last_error, struct err *err);
/* Steps of one document in pipeline order (caller frees with step_recs_free). */
int store_doc_steps(store *st, int64_t doc_id, struct step_rec **out, size_t *n,
                    struct err *err);
/* Atomically moves a document whose steps are all settled (none queued or
 * running) to status "assembling"; *won = 1 for exactly one caller. */
int store_doc_try_finish(store *st, int64_t doc_id, int *won, struct err *err);
/* Documents left "running" with no running step (their steps were deferred)
 * go back to "queued". */
int store_docs_requeue_idle(store *st, int *n, struct err *err);
/* 1 if the document has no queued or running step left. */
int store_doc_settled(store *st, int64_t doc_id, int *settled, struct err *err);
/* Re-analysis: queues the settled (done, failed, skipped) steps of document
 * doc_id whose idx has its bit set in idx_mask again (attempts 0, no error),
 * and the document with them; a running step is left to its worker. A step
 * keeps its earlier result until a new one is stored (store_step_fail falls
 * back to it); the stored dossier stays until the document is finished anew.
 * events (may be NULL) are stored in the same transaction, only when a step
 * was queued. *n_requeued (may be NULL) = how many were. */
int store_steps_requeue(store *st, int64_t doc_id, uint64_t idx_mask, const struct store_event *events,
                        size_t n_events, int *n_requeued, struct err *err);
/* The query plans (EXPLAIN QUERY PLAN) of the statements a claim runs, one
 * "name: detail" line each (caller frees *out); for tests and benchmarks. */
int store_queue_explain(store *st, char **out, struct err *err);

/* ---------------------------------------------------------------- dossiers */

/* The fields the full-text index holds, borrowed. */
struct fts_fields {
	const char *title, *summary, *tags, *keywords, *text, *transcript, *ocr;
};
/* Stores the dossier JSON and the document's final status (and error, may be
 * NULL), updates the index and stores events (may be NULL), in one transaction. */
int store_dossier_put(store *st, int64_t doc_id, const char *status, const char *error, const char *json,
                      const struct fts_fields *fts, const struct store_event *events, size_t n_events,
                      struct err *err);
/* *out is the JSON text (caller frees with free()); DOSSIER_ENOTFOUND if none. */
int store_dossier_get(store *st, int64_t doc_id, char **out, struct err *err);

struct search_hit {
	int64_t id;
	const char *path, *title, *snippet;  /* borrowed for the callback */
	double rank;                         /* weighted bm25; lower is better */
	const char *kind, *status;           /* borrowed; the document's */
	const char *name;                    /* borrowed; its own name (an upload's), NULL = the path's last part */
	int64_t bytes, mtime;                /* the file's size and modification time (epoch s) */
	double missing_at;                   /* when its file was found gone; 0 = present */
};
/*
 * Full-text search over the dossiers, best first. The query language (any
 * input is safe: it never reaches FTS5 as syntax):
 *   word        every word must match (stemmed; case and accents ignored)
 *   foo*        a prefix
 *   "a b c"     a phrase (an unclosed quote runs to the end)
 *   a OR b      either (OR in capitals, between two terms; binds tighter than AND)
 *   -word       not this word or phrase (only beside a term that must match)
 * Anything else is literal text. DOSSIER_EINVAL when no word is left.
 * Ranking is bm25 with column weights (title 10, summary 4, tags 2, keywords 2,
 * text, transcript and OCR 1); the snippet comes from the text, transcript, OCR
 * or summary that matched best (the start of the summary when only the title
 * or tags matched), matched words in [ and ].
 * f (may be NULL) filters the documents.
 */
int store_search_filtered(store *st, const char *query, const struct doc_filter *f, int limit,
                          int (*cb)(const struct search_hit *h, void *user), void *user,
                          struct err *err);
/* store_search_filtered without a filter. */
int store_search(store *st, const char *query, int limit,
                 int (*cb)(const struct search_hit *h, void *user), void *user,
                 struct err *err);
/* The FTS5 expression store_search runs for a user's query (caller frees), or
 * NULL with DOSSIER_EINVAL when the query has no word; for tests. */
char *store_search_expr(const char *query, struct err *err);

/* ----------------------------------------------------------------- vectors */

/* One chunk of a document's text and its embedding (store/vectors.c). */
struct vec_chunk {
	int seq;                 /* its place among the document's chunks, from 0 */
	const char *source;      /* borrowed: "text", "transcript" or "ocr" */
	double start_s, end_s;   /* transcript: seconds into the recording; < 0 = none */
	int page;                /* the page it is on (1-based); 0 = none */
	const char *text;        /* borrowed: the chunk */
	const float *vec;        /* borrowed: dim floats, unit length (vectors.c normalises) */
};
/* A chunk as stored: what search shows for a hit. */
struct vec_chunk_info {
	int64_t id, document_id;
	int seq, page;
	char source[16];
	double start_s, end_s;   /* < 0 = none */
	char *text;              /* owned: free() it */
};
/*
 * Replaces document doc_id's chunks by these n (n = 0 deletes them), made by
 * model with vectors of dim floats, in one transaction. Each vector is stored
 * twice: int8 with a per-vector scale (q = round(x / scale), scale =
 * max|x| / 127; the scan) and float32 (the re-rank). Vectors of another model
 * for this document go too: a document's chunks are of one model.
 */
int store_vectors_replace(store *st, int64_t doc_id, const char *model, int dim, const struct vec_chunk *c,
                          size_t n, struct err *err);
/* How many chunks there are of model (NULL = any) and, with other (may be
 * NULL), how many of other models. */
int store_vectors_count(store *st, const char *model, int64_t *n, int64_t *other, struct err *err);
/* Calls cb for every chunk of model with dimension dim: its id, its document,
 * the int8 vector and its scale (borrowed for the call). Nonzero from cb stops. */
int store_vectors_scan(store *st, const char *model, int dim,
                       int (*cb)(int64_t id, int64_t doc_id, const signed char *q8, float scale, void *user),
                       void *user, struct err *err);
/* The float32 vector (dim floats into out) of chunk id. DOSSIER_ENOTFOUND if none. */
int store_vector_get(store *st, int64_t id, int dim, float *out, struct err *err);
/* Chunk id's place and text (free info->text). DOSSIER_ENOTFOUND if none. */
int store_chunk_info(store *st, int64_t id, struct vec_chunk_info *info, struct err *err);
/* The mean of document doc_id's float32 vectors of model (dim floats into
 * out, not normalised); DOSSIER_ENOTFOUND when it has none. */
int store_doc_vector(store *st, int64_t doc_id, const char *model, int dim, float *out, struct err *err);
/* Document id into *d (doc_rec_clear it) and its dossier's title into
 * *title (caller frees; NULL when none) when f (NULL = all) keeps it;
 * DOSSIER_ENOTFOUND when it is not there or f does not keep it. */
int store_doc_brief(store *st, int64_t id, const struct doc_filter *f, struct doc_rec *d, char **title,
                    struct err *err);
/* The dimension of model's stored vectors into *dim (0 = none stored). */
int store_vectors_dim(store *st, const char *model, int *dim, struct err *err);
/* The vectors' generation into *gen: it grows with every chunk_q8 row added
 * or deleted, by any process (schema v10's triggers); 0 = never changed. One
 * indexed read: what a cache of the vectors checks per query. */
int store_vectors_gen(store *st, int64_t *gen, struct err *err);
/* Calls cb with each document whose vectors changed after generation since
 * (added, replaced or deleted), with the generation of its last change.
 * Nonzero from cb stops. */
int store_vectors_changed(store *st, int64_t since,
                          int (*cb)(int64_t doc_id, int64_t gen, void *user), void *user, struct err *err);
/* store_vectors_scan for one document's chunks (through the chunks index). */
int store_vectors_scan_doc(store *st, int64_t doc_id, const char *model, int dim,
                           int (*cb)(int64_t id, int64_t doc_id, const signed char *q8, float scale, void *user),
                           void *user, struct err *err);

/* ------------------------------------------------------------------ events */

/* Stores one event unless its seq is stored already (INSERT OR IGNORE). */
int store_event_put(store *st, uint64_t seq, const char *name, int64_t doc_id,
                    const char *json, struct err *err);
/* Stores events, each unless its seq is stored already; inside store_tx they
 * commit with the rest of the transaction. */
int store_events_put(store *st, const struct store_event *events, size_t n_events, struct err *err);
/* Reserves n event numbers for this process: [*first, *first + n). Processes
 * sharing a database never hand out the same number. */
int store_event_reserve(store *st, uint64_t n, uint64_t *first, struct err *err);
/* Calls cb with each stored event's JSON after seq `after`, oldest first. */
int store_events_since(store *st, uint64_t after, int limit,
                       int (*cb)(uint64_t seq, const char *json, void *user), void *user,
                       struct err *err);

/* ------------------------------------------------------------- measures */

/* What one load of a model cost, per engine, model and context (schema 7,
 * table measures; store/measures.c). The planner prefers these numbers. */
struct store_measure {
	char engine[32];           /* "ollama", "openai" */
	char model[128];           /* model name as configured */
	int num_ctx;               /* context the instance ran with */
	double load_s;             /* the load's wall time (last one) */
	uint64_t resident_bytes;   /* what it used, by the best source below */
	char source[64];           /* "rss:/proc", "api/ps", "engine:meta.size" */
	uint64_t predicted_bytes;  /* what the planner's formula said (0 = unknown) */
	int loads;                 /* loads measured so far */
	double measured_at;        /* wall-clock seconds of the last one */
};
/* Records a load: the row for (engine, model, num_ctx) takes the new numbers,
 * loads counts up. */
int store_measure_put(store *st, const struct store_measure *m, struct err *err);
/* The row from a `model_measured` event's JSON (docs/events.md); 0 and nothing
 * done for another event; DOSSIER_EFORMAT for a malformed one. */
int store_measure_from_event(store *st, const char *event_json, struct err *err);
/* Calls cb with each row (engine NULL = every engine), by model then context;
 * cb returns non-zero to stop. */
int store_measures_each(store *st, const char *engine, int (*cb)(const struct store_measure *m, void *user),
                        void *user, struct err *err);

/* Runs fn inside BEGIN IMMEDIATE ... COMMIT (ROLLBACK on a non-zero return).
 * Inside a batch it runs in a savepoint instead: a failure undoes only fn's
 * changes, and its changes commit with the batch. */
int store_tx(store *st, int (*fn)(store *st, void *user), void *user, struct err *err);
/* A batch: one write transaction around many store_tx (a large ingest's
 * inserts), so they cost one commit. Nothing in it is visible to another
 * connection or durable before store_batch_commit; the caller publishes
 * what announces it only after that. It holds the write lock: keep it short. */
int store_batch_begin(store *st, struct err *err);
int store_batch_commit(store *st, struct err *err);  /* rolls back (and reports) when the commit fails */
void store_batch_rollback(store *st);                /* no-op outside a batch */
int store_in_batch(const store *st);                 /* 1 inside a batch */
/* Calls fn(user, committed) once the open batch ends, in the order of the
 * calls: committed is 1 after its commit, 0 after a rollback (or a commit that
 * failed). For what announces a change made inside the batch (an event to
 * publish or cancel). DOSSIER_EINVAL and no call outside a batch. */
int store_batch_after(store *st, void (*fn)(void *user, int committed), void *user, struct err *err);
/* Announces ev (whose change is stored through st) on b: inside a batch once
 * it commits, cancelled if it rolls back; outside one, now. Consumes ev; NULL
 * is a no-op. Out of memory only loses the live announcement (the event is
 * stored with its change). */
void store_batch_publish(store *st, bus *b, struct event *ev);
/* How long a statement waits for another connection's write lock before
 * DOSSIER_EDB "database is locked" (default 10000 ms). */
void store_busy_timeout(store *st, int ms);

#endif
