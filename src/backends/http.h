/*
 * http.h — the HTTP client transport the engines share (libcurl): one request,
 * its deadlines (connect, first byte, silence between chunks), a cancel flag,
 * and a capped body or a streaming callback. Engines put the protocol on top
 * (ollama.c: JSON and NDJSON; an OpenAI-compatible engine: JSON and SSE).
 *
 *   struct http_request rq;
 *   http_request_default(&rq);
 *   rq.url = "http://127.0.0.1:11434/api/chat";
 *   rq.body = json; rq.body_len = strlen(json);
 *   rq.first_byte_ms = 300000; rq.idle_ms = 120000;
 *   rq.on_data = feed_ndjson; rq.user_data = &nd;   // 2xx body bytes as they come
 *   struct http_result res;
 *   int rc = http_run(&rq, &res, &e);
 *   if (!rc && res.status != 200) ... res.body holds the start of the error body ...
 *   http_result_free(&res);
 *
 * Thread safe: every request has its own curl handle. Call http_global_init
 * once before threads start.
 */
#ifndef DOSSIER_BACKENDS_HTTP_H
#define DOSSIER_BACKENDS_HTTP_H

#include "core/buf.h"

#include <stddef.h>

struct err;

/* Receives body bytes of a 2xx reply as they arrive (data is borrowed, valid
 * during the call). Return 0 to go on, or a DOSSIER_E* code to stop the
 * transfer: http_run then returns that code (fail = HTTP_FAIL_CALLBACK). */
typedef int (*http_data_cb)(void *user_data, const char *data, size_t n);

/* One part of a multipart/form-data body (a file upload). */
struct http_form_part {
	const char *name;         /* borrowed; the field name */
	const char *value;        /* borrowed; a text value, or NULL when file is set */
	const char *file;         /* borrowed; path of a file sent as the part's content, or NULL */
	const char *filename;     /* borrowed; the filename reported for file; NULL = its path's */
	const char *type;         /* borrowed; the part's content type; NULL = none */
};

struct http_request {
	const char *url;          /* borrowed; the full URL */
	const char *body;         /* borrowed; NULL = GET, else POST these bytes */
	size_t body_len;          /* bytes of body */
	const char *content_type; /* borrowed; of body (default "application/json") */
	const char *bearer;       /* borrowed; sent as "Authorization: Bearer <bearer>"; NULL or "" = none */
	const struct http_form_part *form; /* borrowed; n_form parts POSTed as multipart/form-data instead of body */
	size_t n_form;            /* parts in form; 0 = none */
	int connect_timeout_ms;   /* TCP connect; 0 = libcurl's default */
	int first_byte_ms;        /* deadline for the first reply byte; 0 = none */
	int idle_ms;              /* deadline between two reply bytes; 0 = none */
	volatile int *cancel;     /* borrowed; *cancel != 0 aborts (checked at least once a second); may be NULL */
	int use_proxy;            /* 0 = never a proxy from the environment (a local engine) */
	http_data_cb on_data;     /* NULL = the 2xx body is kept in the result, up to body_cap */
	void *user_data;          /* passed to on_data */
	size_t body_cap;          /* most bytes of a kept 2xx body; more is DOSSIER_ETOOBIG */
	size_t error_cap;         /* most bytes kept of a non-2xx body (the rest is dropped) */
};

/* Why a transfer did not complete. */
enum http_fail {
	HTTP_FAIL_NONE = 0,   /* completed (any status) */
	HTTP_FAIL_CONNECT,    /* no connection: refused, unresolvable, connect timeout */
	HTTP_FAIL_TIMEOUT,    /* libcurl's own timeout after connecting */
	HTTP_FAIL_FIRST_BYTE, /* first_byte_ms passed without a reply byte */
	HTTP_FAIL_IDLE,       /* idle_ms passed between two reply bytes */
	HTTP_FAIL_CANCEL,     /* *cancel was set */
	HTTP_FAIL_CALLBACK,   /* on_data stopped it, or body_cap was passed */
	HTTP_FAIL_BROKEN,     /* the connection broke (reset, truncated reply, ...) */
	HTTP_FAIL_SETUP,      /* no curl handle (out of memory) */
};

struct http_result {
	long status;          /* HTTP status; 0 if none arrived */
	struct buf body;      /* the kept 2xx body (on_data NULL) or the start of a non-2xx body; free with http_result_free */
	enum http_fail fail;  /* HTTP_FAIL_NONE when the transfer completed */
	char detail[256];     /* libcurl's sentence when it failed; "" otherwise */
};

/* Defaults: GET, JSON content type, no deadlines, no proxy, no callback,
 * body_cap CAP_NDJSON_LINE, error_cap 64 KiB. */
void http_request_default(struct http_request *rq);

/*
 * Runs one request. Returns 0 when the transfer completed, whatever the status
 * (check out->status). Otherwise: DOSSIER_EUNAVAILABLE (HTTP_FAIL_CONNECT),
 * DOSSIER_ETIMEOUT (TIMEOUT, FIRST_BYTE, IDLE), DOSSIER_ECANCELLED, the
 * callback's code or DOSSIER_ETOOBIG (CALLBACK), DOSSIER_EAGAIN (BROKEN),
 * DOSSIER_ENOMEM (SETUP), with a sentence naming the URL in err; the caller
 * may reword it from out->fail. out is always initialised: free it with
 * http_result_free, also after a failure.
 */
int http_run(const struct http_request *rq, struct http_result *out, struct err *err);
void http_result_free(struct http_result *r);  /* the body; the struct may be reused */

/* curl_global_init, once per process. 0 or DOSSIER_EUNAVAILABLE. */
int http_global_init(void);

#endif
