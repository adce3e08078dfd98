/*
 * internal.h — what the files of src/server/ share: the server struct, the
 * per-request state, reply helpers, the store pool and the metrics collector.
 * Not a public header.
 */
#ifndef DOSSIER_SERVER_INTERNAL_H
#define DOSSIER_SERVER_INTERNAL_H

#include <jansson.h>
#include <limits.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/util.h"
#include "pipeline/pipeline.h"
#include "pipeline/veccache.h"
#include "server/server.h"
#include "store/store.h"

struct upload;
struct sse_client;

/* One open connection, from accept to close (the header deadline). */
struct conn_rec {
	struct conn_rec *prev, *next;   /* in server.conns, under conn_mu */
	int fd;                         /* the socket; valid until the close notification */
	int64_t since_ms;               /* mono ms: accepted, or the last request ended */
	int in_request;                 /* 1 once a request's headers are complete */
	int shut;                       /* the deadline passed and the socket was shut down */
	size_t uri_len;                 /* the current request's URI, in bytes */
};

/* Step kinds the histogram keeps apart; more are counted under "other". */
#define METRICS_MAX_STEPS 16
/* Histogram bucket bounds for step durations (seconds). */
#define METRICS_BUCKETS 11

struct step_hist {
	char kind[24];                         /* "ocr", ...; "" = unused slot */
	uint64_t buckets[METRICS_BUCKETS];     /* observations <= bound[i] (cumulative on output) */
	uint64_t count;                        /* observations */
	double sum_s;                          /* seconds, summed */
	uint64_t done, failed, retried;        /* step_finished outcomes */
};

struct metrics {
	pthread_mutex_t mu;
	struct step_hist steps[METRICS_MAX_STEPS];
	uint64_t docs_done, docs_failed, docs_queued;   /* events seen since start */
	uint64_t model_loads, swaps;                    /* from events (offline: 0) */
	uint64_t dropped;                               /* times the collector fell behind */
	char *memory_json;                              /* owned: the last `memory` event, or NULL */
	char *speech_json;                              /* owned: {model, bytes} of the speech model loaded
	                                                   (model_loaded, role asr), or NULL (server.c) */
	uint64_t sse_dropped;                           /* SSE clients dropped for falling behind */
	uint64_t uploads, uploads_rejected;             /* finished and refused uploads */
	uint64_t requests;                              /* HTTP requests answered */
	uint64_t header_timeouts;                       /* connections cut for slow headers */
	uint64_t refused_host, refused_cross_site;      /* DNS rebinding and cross-site guards */
	int sse_clients;                                /* SSE streams open now */
};

struct server {
	struct server_params p;             /* copy; borrowed pointers as documented there */
	char token[256];                    /* "" = none */
	char allow_hosts[1024];             /* extra Host names, comma-separated; "*" = any */
	char url[128];                      /* http://host:port */
	int port;
	char data_dir[PATH_MAX];            /* config_data_dir: frames, uploads, OCR checkpoints */
	char uploads_dir[PATH_MAX];         /* <data_dir>/uploads */
	char frames_dir[PATH_MAX];          /* <data_dir>/frames (real path, may not exist yet) */
	struct MHD_Daemon *daemon;

	pthread_mutex_t pool_mu;            /* guards pool[] and uploads_active */
	store *pool[16];                    /* idle store connections */
	int pool_n;
	int uploads_active;

	veccache *vcache;                   /* the semantic search's vectors in memory (api_search.c) */

	pthread_mutex_t ingest_mu;          /* one classifier (libmagic is not thread safe) */
	classifier *cls;

	pthread_mutex_t conn_mu;            /* guards conns and every conn_rec */
	struct conn_rec *conns;             /* open connections */

	pthread_mutex_t sse_mu;             /* guards sse list and the clients' suspended flags */
	struct sse_client *sse;             /* open streams */
	pthread_t ticker;                   /* header deadline, SSE wake-ups */
	int ticker_started;
	volatile int ticker_stop;

	struct metrics m;
	pthread_t collector;
	int collector_started;
	volatile int closing;               /* set by server_stop: SSE streams end */
	double started_at;                  /* clock_wall_s() at start */
};

/* Per-request state kept in *req_cls across the access handler's calls. */
struct request {
	size_t uri_len;             /* bytes of the request URI, query included */
	int route;                  /* enum route in server.c */
	int64_t id;                 /* document id from the path, when the route has one */
	long n;                     /* frame number from the path */
	struct upload *up;          /* POST /api/documents */
	struct buf body;            /* a JSON body, capped at CAP_API_BODY */
	int body_too_big;           /* the JSON body passed the cap */
	int answered;               /* a response was queued already */
	double started_s;           /* clock_mono_s(): the headers were complete */
	char method[8];             /* for the request log */
	char path[200];             /* the path (no query: a token never reaches the log), printable */
};

/* ---- a request without its socket (request.c) ---- */
/* A request's method and headers, from libmicrohttpd (server.c) or a test. */
struct req_in {
	const char *method;                                     /* "POST", ...; borrowed */
	const char *(*header)(void *user, const char *name);    /* a header's value (name in any case),
	                                                           or NULL; borrowed for the request */
	const char *(*query)(void *user, const char *key);      /* a query argument, or NULL; may be NULL */
	void *user;                                             /* borrowed */
};
/* A reply to send: a status and a JSON body. */
struct reply_out {
	unsigned status;            /* 0 = none yet */
	json_t *body;               /* owned; NULL = out of memory (sent as such) */
	int www_authenticate;       /* a 401: say "Bearer" in WWW-Authenticate */
};
/* A header of rq, or NULL. */
const char *req_header(const struct req_in *rq, const char *name);
/* The guards every request passes before its route: the Host it names (DNS
 * rebinding), a state-changing method sent by another site (Origin,
 * Sec-Fetch-Site), the token unless is_public. 0 = go on; 1 = refused, with
 * *out set (421, 403 or 401). */
int request_guard(server *s, const struct req_in *rq, int is_public, struct reply_out *out);
/* Sets the reply; consumes body (NULL = out of memory). */
void reply_out_json(struct reply_out *o, unsigned status, json_t *body);
/* Sets {"error": msg}: the message printf'd, then made printable UTF-8. */
void reply_out_error(struct reply_out *o, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The body as compact JSON text (owned by the caller; never NULL unless out of memory). */
char *reply_out_text(const struct reply_out *o);
/* Frees the body; the reply is empty again. */
void reply_out_clear(struct reply_out *o);
/* Copies text into out (n bytes) as valid UTF-8: control characters and
 * bytes that are not UTF-8 (a client's %ff, say) are written as \xHH. */
void text_printable(const char *text, char *out, size_t n);

/* ---- replies (server.c) ---- */
/* Sends o (status, JSON body, headers); consumes its body. */
enum MHD_Result reply_send(struct MHD_Connection *c, struct reply_out *o);
/* Queues a JSON reply; consumes body. */
enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *body);
/* Queues {"error": msg} with status. */
/* Why a search query cannot be run (empty, over 1,000 bytes, not UTF-8), or
 * NULL when it can; the words are the 400 reply's. Static storage. */
const char *search_query_bad(const char *q);
enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Maps a dossier error code to an HTTP status (ENOTFOUND 404, EINVAL 400, ...). */
unsigned http_status_for(int rc);
/* Queues a response with the server's common headers added. */
enum MHD_Result reply_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r);
/* A query argument, or NULL. Borrowed from libmicrohttpd. */
const char *query_arg(struct MHD_Connection *c, const char *key);
/* Parses an optional non-negative integer argument into *out (unchanged if
 * absent). Returns 0, or -1 when present but not a number in [min, max]. */
int query_int(struct MHD_Connection *c, const char *key, long min, long max, long *out);

/* ---- the store pool (server.c): one connection per request at a time ---- */
store *pool_get(server *s, struct err *err);
void pool_put(server *s, store *st);

/* ---- routes ---- */
enum MHD_Result api_documents_list(server *s, struct MHD_Connection *c);
enum MHD_Result api_document_get(server *s, struct MHD_Connection *c, int64_t id);
enum MHD_Result api_document_delete(server *s, struct MHD_Connection *c, int64_t id);
/* POST /api/documents/{id}/reanalyze[?full=1]: the model steps (every step
 * with full) queued again; 202 {"id","steps"}, 404, or 409 while it runs. */
enum MHD_Result api_document_reanalyze(server *s, struct MHD_Connection *c, int64_t id, const char *full);
enum MHD_Result api_document_frame(server *s, struct MHD_Connection *c, int64_t id, long n);
enum MHD_Result api_search(server *s, struct MHD_Connection *c, const char *q, long limit);
enum MHD_Result api_search_post(server *s, struct MHD_Connection *c, struct request *r);
/* api_search.c: /api/search with mode=semantic|hybrid|text (or hybrid by
 * default when vectors of the embedding model are stored). mode may be NULL.
 * 1 if the search goes through api_search_modes, 0 for the plain full-text one. */
int api_search_wants_modes(server *s, const char *mode);
enum MHD_Result api_search_modes(server *s, struct MHD_Connection *c, const char *q, long limit,
                                 const struct doc_filter *f, const char *mode);
enum MHD_Result api_models(server *s, struct MHD_Connection *c);
enum MHD_Result api_workers(server *s, struct MHD_Connection *c);
enum MHD_Result api_healthz(server *s, struct MHD_Connection *c);

/* ---- a document's bytes (files.c) ---- */
/* GET /api/documents/{id}/file: the original, streamed, with Range (206, 416). */
enum MHD_Result files_original(server *s, struct MHD_Connection *c, int64_t id);
/* GET /api/documents/{id}/thumbnail: a JPEG, made once into <data dir>/thumbs. */
enum MHD_Result files_thumbnail(server *s, struct MHD_Connection *c, int64_t id);
/* GET /api/documents/{id}/export?format=md|srt|vtt|json: the dossier as a download. */
enum MHD_Result files_export(server *s, struct MHD_Connection *c, int64_t id);

/* Parses a Range header against a file of `size` bytes. Returns 0 = serve it
 * all (no header, another unit, several ranges), 1 = one range [*first,
 * *last] (clamped to the file), -1 = unsatisfiable or malformed (416). */
int files_parse_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last);
/* Content-Disposition "TYPE; filename=ASCII; filename*=UTF-8''PERCENT" for
 * name + ext (RFC 6266, 8187): in the ASCII form quotes, backslashes, '%' and
 * anything outside printable ASCII are '_'. */
void files_disposition(const char *type, const char *name, const char *ext, char *out, size_t n);

/* ---- the request log (server.c) ---- */
/* Sends one line to server_params.log, if set ("" fields are not added). */
void server_log(server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The speech model, once this process loaded it: {model, role: "asr", bytes}
 * (a new object), or NULL. */
json_t *server_speech_model(server *s);

/* ---- uploads (upload.c): POST /api/documents without its socket ---- */
/* The headers are in (Content-Length, Content-Type, X-Filename; the guards
 * passed): 0 = read the body into *out (free it with upload_free); else the
 * request is answered with *reply (413, 415, 429, 400, 500). */
int upload_begin(server *s, const struct req_in *rq, struct upload **out, struct reply_out *reply);
/* The next chunk of the body. 0 = go on; -1 = cut the connection off (a
 * refused body that goes on for too long). */
int upload_data(struct upload *up, const char *data, size_t n);
/* The body is complete: the file is stored and recorded (upload_record), and
 * *reply says what became of it (201, 200, 415, 422) or why not (4xx, 5xx). */
void upload_finish(server *s, struct upload *up, struct reply_out *reply);
/* Frees the upload; deletes its temp file unless it was kept, frees its
 * upload slot. NULL is a no-op. */
void upload_free(struct upload *up);
/* What the store made of a stored upload (the document, *d, to clear with
 * doc_rec_clear; *queued: it was new and is queued; *unsupported: recorded as
 * unsupported by this ingest): ingests path, gives the document the client's
 * name (when named and it has none yet), wakes the scheduler
 * (upload_record.c; the fuzz target has its own). */
int upload_record(server *s, const char *path, const char *filename, int named, struct doc_rec *d, int *queued,
                  int *unsupported, struct err *err);
/* Deletes partial uploads older than an hour left by a killed server. */
void upload_sweep(server *s);
/* The client's file name as stored in documents.name: its last path component
 * (after '/' or '\\'), bytes that are not UTF-8 and control characters (C0,
 * DEL, C1, line/paragraph separators) dropped, spaces trimmed, at most n - 1
 * bytes cut between whole characters; "." and ".." become "". */
void upload_display_name(const char *name, char *out, size_t n);

/* ---- SSE (sse.c) ---- */
/* Streams are never served by a blocked thread: a stream with nothing to send
 * suspends its connection, and sse_wake resumes it. */
enum MHD_Result sse_open(server *s, struct MHD_Connection *c);
/* Resumes suspended streams: all of them when events arrived (or the server
 * is closing), else those whose heartbeat or replay retry is due. */
void sse_wake(server *s, int events_arrived);

/* ---- metrics (metrics.c) ---- */
int metrics_start(server *s, struct err *err);
void metrics_stop(server *s);
enum MHD_Result metrics_reply(server *s, struct MHD_Connection *c);
/* The last `memory` event as a new JSON object, or NULL. */
json_t *metrics_memory(server *s);
void metrics_count(server *s, uint64_t *field, int delta);

#endif
