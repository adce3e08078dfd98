/*
 * server.h — `dossier serve`: the HTTP API, Server-Sent Events and the
 * embedded web page, on libmicrohttpd. docs/api.md describes every route.
 *
 *   struct server_params p;
 *   server_params_default(&p);
 *   p.cfg = &cfg; p.bus = b; p.sched = s; p.res = llm.res;
 *   server_listen_parse("127.0.0.1:8080", &p.addr, &e);
 *   server *srv;
 *   if (server_start(&p, &srv, &e)) die(e.msg);
 *   printf("listening on %s\n", server_url(srv));
 *   ...                       // until SIGINT
 *   server_stop(srv);         // SSE clients closed, daemon stopped, freed
 *
 * Threads: libmicrohttpd's event loop (epoll) on a pool of `threads` threads;
 * an open connection costs a socket, not a thread. An SSE stream with nothing
 * to send suspends its connection; a ticker thread resumes streams when events
 * arrive or a heartbeat is due, and shuts down connections whose request
 * headers take longer than header_timeout_s. One collector thread counts
 * events for /metrics and remembers the last `memory` event. The scheduler is
 * the caller's: the server only calls sched_notify after an upload.
 *
 * Security: a token, when set, is required on every API route and /metrics
 * (Authorization: Bearer, or ?token=); the page's static files and /healthz
 * are public. server_start refuses a non-loopback address without a token.
 * Against pages on other sites (docs/api.md, "Browsers"): a Host that is not
 * the server's own gets 421 (DNS rebinding), a state-changing request whose
 * Origin or Sec-Fetch-Site is another site's gets 403.
 */
#ifndef DOSSIER_SERVER_H
#define DOSSIER_SERVER_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/config.h"
#include "core/event.h"
#include "sched/sched.h"

struct err;
struct residency;
struct llm_backend;
typedef struct server server;

/* A parsed --listen value. */
struct server_addr {
	struct sockaddr_storage ss;  /* the address to bind, port included */
	socklen_t len;               /* bytes of ss in use */
	int loopback;                /* 1 = 127.0.0.0/8 or ::1 */
	char host[64];               /* numeric host as printed, e.g. "127.0.0.1" or "::1" */
	int port;                    /* 0 = any free port (server_url tells which) */
};

/*
 * Parses "ADDR:PORT", "[IPV6]:PORT", "HOSTNAME:PORT" or a bare "PORT"
 * (= 127.0.0.1:PORT). A host name is resolved once (first address).
 * DOSSIER_EINVAL with a message naming the value on anything else.
 */
int server_listen_parse(const char *spec, struct server_addr *out, struct err *err);

struct server_params {
	const struct config *cfg;    /* borrowed; outlives the server (db_path, models, budget) */
	bus *bus;                    /* borrowed; events for SSE and /metrics */
	sched *sched;                /* borrowed; notified after each upload; NULL = none */
	struct residency *res;       /* borrowed; NULL when offline or Ollama is unavailable */
	struct llm_backend *llm;     /* borrowed; embeds search queries (api_search.c); NULL = full-text only */
	const char *llm_message;     /* borrowed; why the LLM is unavailable, or NULL */
	struct server_addr addr;     /* where to listen (server_listen_parse) */
	const char *token;           /* borrowed; NULL or "" = no token (loopback only) */
	const char *allow_hosts;     /* borrowed; extra Host names, comma-separated ("NAME" any port,
	                                "NAME:PORT"), "*" = any; NULL = none */
	uint64_t max_upload_bytes;   /* largest uploaded file; larger gets 413 */
	int max_uploads;             /* uploads in progress at once; more get 429 */
	int max_connections;         /* open connections at once (SSE clients included); lowered to
	                                what the open-file limit allows */
	int max_connections_per_ip;  /* of them, from one address; 0 = max_connections / 2 */
	int heartbeat_s;             /* SSE ": ping" comment after this much silence (1..60) */
	size_t sse_queue_len;        /* events one SSE client may have waiting before it is dropped */
	int connection_timeout_s;    /* a connection that sends or takes nothing for this long is
	                                closed (a stalled upload then frees its slot) */
	int header_timeout_s;        /* a request's line and headers must arrive within this */
	int threads;                 /* the event loop's threads; 0 = the core count, 4 to 16 */
	/* The request log: one line per request (time, status, duration, method,
	 * path) and per finished document, without a newline, from the server's
	 * threads (at once; the callee serialises if it must). NULL = none. */
	void (*log)(void *user, const char *line);
	void *log_user;              /* borrowed; passed to log */
};

/* Defaults: 512 MB uploads, 8 at once, 4096 connections (half of them from
 * one address), 15 s heartbeat, 1024 queued events per SSE client, 15 s idle
 * timeout, 10 s for a request's headers. */
void server_params_default(struct server_params *p);

/*
 * Creates <data dir>/uploads, starts listening and serving. Errors:
 * DOSSIER_EPERM for a non-loopback address without a token, DOSSIER_EIO when
 * the address cannot be bound (message names it), DOSSIER_EDB. Caller stops
 * and frees with server_stop.
 */
int server_start(const struct server_params *p, server **out, struct err *err);
/* "http://127.0.0.1:8080" (the real port when 0 was asked). Borrowed. */
const char *server_url(server *s);
/*
 * Ends every SSE stream, stops the daemon (in-flight requests finish, partial
 * uploads are deleted), stops the collector and frees. NULL is a no-op.
 */
void server_stop(server *s);

#endif
