/*
 * server.c — the daemon: listening, routing, authentication, replies, the
 * store pool and the embedded page.
 */
#include "server/internal.h"
#include "core/err.h"
#include "server/assets.h"

#include <sys/resource.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ addresses */

static int addr_is_loopback(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
	}
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		if (IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
			return 1;
		if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
			return a->sin6_addr.s6_addr[12] == 127;
	}
	return 0;
}

int server_listen_parse(const char *spec, struct server_addr *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	char host[256];
	const char *port_s;
	if (!spec || !*spec)
		return err_set(err, DOSSIER_EINVAL, "--listen: give ADDR:PORT, e.g. 127.0.0.1:8080");
	const char *colon = strrchr(spec, ':');
	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':' || (size_t)(close - spec - 1) >= sizeof host)
			return err_set(err, DOSSIER_EINVAL, "--listen %s: write an IPv6 address as [ADDR]:PORT, e.g. [::1]:8080",
			               spec);
		memcpy(host, spec + 1, (size_t)(close - spec - 1));
		host[close - spec - 1] = '\0';
		port_s = close + 2;
	} else if (!colon) {
		snprintf(host, sizeof host, "127.0.0.1");
		port_s = spec;
	} else {
		if ((size_t)(colon - spec) >= sizeof host)
			return err_set(err, DOSSIER_EINVAL, "--listen %s: the host name is too long", spec);
		if (strchr(spec, ':') != colon)
			return err_set(err, DOSSIER_EINVAL, "--listen %s: write an IPv6 address as [ADDR]:PORT, e.g. [::1]:8080",
			               spec);
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		port_s = colon + 1;
	}
	char *end;
	errno = 0;
	long port = strtol(port_s, &end, 10);
	if (!*port_s || *end || errno || port < 0 || port > 65535)
		return err_set(err, DOSSIER_EINVAL, "--listen %s: the port must be a number from 0 to 65535", spec);
	if (!*host)
		return err_set(err, DOSSIER_EINVAL, "--listen %s: name the address too, e.g. 127.0.0.1:%ld", spec, port);

	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, NULL, &hints, &res);
	if (gai || !res)
		return err_set(err, DOSSIER_EINVAL, "--listen %s: cannot resolve '%s': %s", spec, host, gai_strerror(gai));
	memcpy(&out->ss, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	if (out->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&out->ss)->sin_port = htons((uint16_t)port);
	else if (out->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&out->ss)->sin6_port = htons((uint16_t)port);
	else
		return err_set(err, DOSSIER_EINVAL, "--listen %s: not an IPv4 or IPv6 address", spec);
	if (out->ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&out->ss)->sin6_addr)) {
		/* [::ffff:a.b.c.d] is an IPv4 address: listen on it as one */
		struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
		memcpy(&v4.sin_addr, ((struct sockaddr_in6 *)&out->ss)->sin6_addr.s6_addr + 12, 4);
		memset(&out->ss, 0, sizeof out->ss);
		memcpy(&out->ss, &v4, sizeof v4);
		out->len = sizeof v4;
	}
	out->port = (int)port;
	out->loopback = addr_is_loopback(&out->ss);
	const void *a = out->ss.ss_family == AF_INET ? (const void *)&((struct sockaddr_in *)&out->ss)->sin_addr
	                                             : (const void *)&((struct sockaddr_in6 *)&out->ss)->sin6_addr;
	inet_ntop(out->ss.ss_family, a, out->host, sizeof out->host);
	return 0;
}

/* The longest request URI (path and query) answered; longer gets 414. */
#define CAP_URI 16384u

/* --------------------------------------------------------------- replies */

enum MHD_Result reply_queue(struct MHD_Connection *c, unsigned status, struct MHD_Response *r)
{
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
	enum MHD_Result rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

enum MHD_Result reply_send(struct MHD_Connection *c, struct reply_out *o)
{
	char *text = reply_out_text(o);
	unsigned status = o->status ? o->status : 500;
	int www = o->www_authenticate;
	reply_out_clear(o);
	if (!text)
		return MHD_NO;
	size_t n = strlen(text);
	struct MHD_Response *r = MHD_create_response_from_buffer(n, text, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(text);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
	MHD_add_response_header(r, "Cache-Control", "no-store");
	if (www)
		MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"dossier\"");
	return reply_queue(c, status, r);
}

enum MHD_Result reply_json(struct MHD_Connection *c, unsigned status, json_t *body)
{
	struct reply_out o = {0};
	reply_out_json(&o, status, body);
	return reply_send(c, &o);
}

enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct reply_out o = {0};
	reply_out_error(&o, status, "%s", msg);
	return reply_send(c, &o);
}

unsigned http_status_for(int rc)
{
	switch (rc) {
	case DOSSIER_OK: return 200;
	case DOSSIER_EINVAL:
	case DOSSIER_EFORMAT:
	case DOSSIER_EEMPTY: return 400;
	case DOSSIER_EPERM: return 403;
	case DOSSIER_ENOTFOUND: return 404;
	case DOSSIER_ETOOBIG: return 413;
	case DOSSIER_EUNSUPPORTED: return 415;
	case DOSSIER_EUNAVAILABLE:
	case DOSSIER_EAGAIN: return 503;
	case DOSSIER_ETIMEOUT: return 504;
	default: return 500;
	}
}

const char *query_arg(struct MHD_Connection *c, const char *key)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
}

int query_int(struct MHD_Connection *c, const char *key, long min, long max, long *out)
{
	const char *v = query_arg(c, key);
	if (!v)
		return 0;
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (!*v || *end || errno || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* ------------------------------------------------------------ store pool */

store *pool_get(server *s, struct err *err)
{
	pthread_mutex_lock(&s->pool_mu);
	store *st = s->pool_n ? s->pool[--s->pool_n] : NULL;
	pthread_mutex_unlock(&s->pool_mu);
	if (st)
		return st;
	if (store_open(s->p.cfg->db_path, &st, err))
		return NULL;
	return st;
}

void pool_put(server *s, store *st)
{
	if (!st)
		return;
	pthread_mutex_lock(&s->pool_mu);
	if (s->pool_n < (int)(sizeof s->pool / sizeof s->pool[0])) {
		s->pool[s->pool_n++] = st;
		st = NULL;
	}
	pthread_mutex_unlock(&s->pool_mu);
	store_close(st);
}

/* --------------------------------------------------------------- routing */

enum route {
	R_NONE = 0,
	R_STATIC,     /* the page */
	R_HEALTH,     /* /healthz */
	R_METRICS,    /* /metrics */
	R_DOCS,       /* /api/documents */
	R_DOC,        /* /api/documents/{id} */
	R_FRAME,      /* /api/documents/{id}/frames/{n} */
	R_FILE,       /* /api/documents/{id}/file */
	R_THUMB,      /* /api/documents/{id}/thumbnail */
	R_EXPORT,     /* /api/documents/{id}/export */
	R_REANALYZE,  /* /api/documents/{id}/reanalyze */
	R_SEARCH,     /* /api/search */
	R_MODELS,     /* /api/models */
	R_WORKERS,    /* /api/workers */
	R_EVENTS,     /* /api/events */
	R_API_BAD_ID, /* /api/documents/{not a number}... */
	R_API_NONE,   /* /api/<unknown> */
};

/* Parses a positive decimal number that ends at '/' or the end. */
static int parse_num(const char **p, long long *out)
{
	const char *s = *p;
	long long v = 0;
	int n = 0;
	while (isdigit((unsigned char)*s) && n < 18) {
		v = v * 10 + (*s - '0');
		s++;
		n++;
	}
	if (!n || (*s && *s != '/'))
		return -1;
	*p = s;
	*out = v;
	return 0;
}

static int route_of(const char *url, int64_t *id, long *n)
{
	if (!strcmp(url, "/healthz"))
		return R_HEALTH;
	if (!strcmp(url, "/metrics"))
		return R_METRICS;
	if (strncmp(url, "/api/", 5) != 0 && strcmp(url, "/api") != 0)
		return R_STATIC;
	if (!strcmp(url, "/api/documents") || !strcmp(url, "/api/documents/"))
		return R_DOCS;
	if (!strcmp(url, "/api/search"))
		return R_SEARCH;
	if (!strcmp(url, "/api/models"))
		return R_MODELS;
	if (!strcmp(url, "/api/workers"))
		return R_WORKERS;
	if (!strcmp(url, "/api/events"))
		return R_EVENTS;
	if (!strncmp(url, "/api/documents/", 15)) {
		const char *p = url + 15;
		long long v;
		if (parse_num(&p, &v) || v <= 0)
			return R_API_BAD_ID;
		*id = v;
		if (!*p || !strcmp(p, "/"))
			return R_DOC;
		if (!strcmp(p, "/file"))
			return R_FILE;
		if (!strcmp(p, "/thumbnail"))
			return R_THUMB;
		if (!strcmp(p, "/export"))
			return R_EXPORT;
		if (!strcmp(p, "/reanalyze"))
			return R_REANALYZE;
		if (!strncmp(p, "/frames/", 8)) {
			p += 8;
			long long f;
			if (parse_num(&p, &f) || *p)
				return R_API_NONE;
			*n = (long)f;
			return R_FRAME;
		}
	}
	return R_API_NONE;
}

/* Which methods a route takes: "GET", "GET, POST", ... (for 405's Allow). */
static const char *route_methods(int route)
{
	switch (route) {
	case R_DOCS: return "GET, HEAD, POST";
	case R_DOC: return "GET, HEAD, DELETE";
	case R_REANALYZE: return "POST";
	case R_SEARCH: return "GET, HEAD, POST";
	default: return "GET, HEAD";
	}
}

static int method_allowed(int route, const char *method)
{
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD"))
		return route != R_REANALYZE;
	if (!strcmp(method, "POST"))
		return route == R_DOCS || route == R_SEARCH || route == R_REANALYZE;
	if (!strcmp(method, "DELETE"))
		return route == R_DOC;
	return 0;
}

static int route_is_public(int route)
{
	return route == R_STATIC || route == R_HEALTH;
}

/* A request's headers and query, as request.c and upload.c take them. */
static const char *mhd_header(void *user, const char *name)
{
	return MHD_lookup_connection_value(user, MHD_HEADER_KIND, name);
}

static const char *mhd_query(void *user, const char *key)
{
	return MHD_lookup_connection_value(user, MHD_GET_ARGUMENT_KIND, key);
}

static struct req_in req_of(struct MHD_Connection *c, const char *method)
{
	return (struct req_in){.method = method, .header = mhd_header, .query = mhd_query, .user = c};
}

static enum MHD_Result refuse(struct MHD_Connection *c, struct request *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static enum MHD_Result refuse(struct MHD_Connection *c, struct request *r, unsigned status, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->answered = 1;
	return reply_error(c, status, "%s", msg);
}

/* --------------------------------------------------------------- the page */

static const char *content_type_for(const char *path)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{".html", "text/html; charset=utf-8"},
		{".js", "text/javascript; charset=utf-8"},
		{".css", "text/css; charset=utf-8"},
		{".svg", "image/svg+xml"},
		{".png", "image/png"},
		{".ico", "image/x-icon"},
		{".json", "application/json; charset=utf-8"},
		{".txt", "text/plain; charset=utf-8"},
	};
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		if (str_endswith_ci(path, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

static enum MHD_Result serve_static(struct MHD_Connection *c, const char *url)
{
	const char *path = !strcmp(url, "/") ? "/index.html" : url;
	for (const struct web_asset *a = web_assets; a->path; a++) {
		if (strcmp(a->path, path) != 0)
			continue;
		struct MHD_Response *r =
			MHD_create_response_from_buffer(a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "Content-Type", content_type_for(path));
		MHD_add_response_header(r, "Cache-Control", "no-cache");
		MHD_add_response_header(r, "Content-Security-Policy",
		                        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
		                        "script-src 'self'; connect-src 'self'; frame-ancestors 'none'");
		return reply_queue(c, 200, r);
	}
	return reply_error(c, 404, "no page or route '%s' (the API is under /api/; see docs/api.md)", url);
}

/* -------------------------------------------------------- access handler */

static enum MHD_Result dispatch(server *s, struct MHD_Connection *c, struct request *r, const char *url,
                               const char *method)
{
	long limit;
	switch (r->route) {
	case R_STATIC: return serve_static(c, url);
	case R_HEALTH: return api_healthz(s, c);
	case R_METRICS: return metrics_reply(s, c);
	case R_MODELS: return api_models(s, c);
	case R_WORKERS: return api_workers(s, c);
	case R_EVENTS: return sse_open(s, c);
	case R_DOCS:
		if (!strcmp(method, "POST")) {
			struct reply_out o = {0};
			upload_finish(s, r->up, &o);
			return reply_send(c, &o);
		}
		return api_documents_list(s, c);
	case R_DOC:
		if (!strcmp(method, "DELETE"))
			return api_document_delete(s, c, r->id);
		return api_document_get(s, c, r->id);
	case R_FRAME: return api_document_frame(s, c, r->id, r->n);
	case R_FILE: return files_original(s, c, r->id);
	case R_THUMB: return files_thumbnail(s, c, r->id);
	case R_EXPORT: return files_export(s, c, r->id);
	case R_REANALYZE: return api_document_reanalyze(s, c, r->id, query_arg(c, "full"));
	case R_SEARCH:
		if (!strcmp(method, "POST"))
			return api_search_post(s, c, r);
		limit = 20;
		if (query_int(c, "limit", 1, 1000, &limit))
			return reply_error(c, 400, "limit must be a number from 1 to 1000");
		return api_search(s, c, query_arg(c, "q"), limit);
	case R_API_BAD_ID:
		return reply_error(c, 400, "a document id is a positive number, as in /api/documents/7");
	default:
		return reply_error(c, 404, "no route %s %s (see docs/api.md)", method, url);
	}
}

static enum MHD_Result first_call(server *s, struct MHD_Connection *c, struct request *r, const char *url,
                                  const char *method)
{
	r->route = route_of(url, &r->id, &r->n);
	metrics_count(s, &s->m.requests, 1);
	if (r->uri_len > CAP_URI)
		return refuse(c, r, 414, "the request URI is %zu bytes; this server takes at most %u (send a long "
		              "search as POST /api/search with a JSON body)", r->uri_len, CAP_URI);
	struct req_in rq = req_of(c, method);
	struct reply_out o = {0};
	if (request_guard(s, &rq, route_is_public(r->route), &o)) {
		r->answered = 1;
		return reply_send(c, &o);
	}
	if (r->route == R_API_NONE || r->route == R_API_BAD_ID)
		return MHD_YES; /* answered as 404/400 once the request is read */
	if (!method_allowed(r->route, method)) {
		struct MHD_Response *resp;
		char msg[256];
		snprintf(msg, sizeof msg, "{\"error\":\"%s is not allowed on this route; use %s\"}", method,
		         route_methods(r->route));
		resp = MHD_create_response_from_buffer(strlen(msg), msg, MHD_RESPMEM_MUST_COPY);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, "Content-Type", "application/json; charset=utf-8");
		MHD_add_response_header(resp, "Allow", route_methods(r->route));
		r->answered = 1;
		return reply_queue(c, 405, resp);
	}
	if (r->route == R_DOCS && !strcmp(method, "POST")) {
		if (upload_begin(s, &rq, &r->up, &o)) {
			r->answered = 1;
			return reply_send(c, &o);
		}
		return MHD_YES;
	}
	if (r->route == R_SEARCH && !strcmp(method, "POST")) {
		const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
		if (!ct || strncasecmp(ct, "application/json", 16) != 0) {
			r->answered = 1;
			return reply_error(c, 415, "send the search as JSON with 'Content-Type: application/json'");
		}
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > CAP_API_BODY) {
			r->answered = 1;
			return reply_error(c, 413, "a JSON body may be at most %u bytes", CAP_API_BODY);
		}
	}
	return MHD_YES;
}

/* The connection's record (notify-connection), or NULL. */
static struct conn_rec *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return ci ? ci->socket_context : NULL;
}

static void conn_set_in_request(server *s, struct MHD_Connection *c, int in_request)
{
	struct conn_rec *k = conn_of(c);
	if (!k)
		return;
	pthread_mutex_lock(&s->conn_mu);
	k->in_request = in_request;
	k->since_ms = clock_mono_ms();
	pthread_mutex_unlock(&s->conn_mu);
}

/* ------------------------------------------------------------------ log */

void server_log(server *s, const char *fmt, ...)
{
	if (!s->p.log)
		return;
	char line[1024], when[32];
	time_rfc3339(clock_wall_s(), when);
	when[19] = '\0'; /* seconds are enough: "2026-12-01T12:00:00" */
	int n = snprintf(line, sizeof line, "%s | ", when);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	s->p.log(s->p.log_user, line);
}

/* One line per request, as `ollama serve` prints them:
 * "2026-12-01T12:00:00 | 200 |    1.2 ms | GET    /api/documents". */
static void log_request(server *s, struct MHD_Connection *c, const struct request *r,
                        enum MHD_RequestTerminationCode toe)
{
	if (!s->p.log)
		return;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
	unsigned status = ci ? ci->http_status : 0;
	double ms = (clock_mono_s() - r->started_s) * 1000;
	char dur[32];
	if (ms < 1000)
		snprintf(dur, sizeof dur, "%6.1f ms", ms);
	else
		snprintf(dur, sizeof dur, "%6.2f s ", ms / 1000);
	const char *how = toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
	                  : toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (timed out)"
	                  : toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? " (client went away)"
	                  : toe == MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN ? " (server stopping)" : " (cut off)";
	if (status)
		server_log(s, "%3u | %s | %-6s %s%s", status, dur, r->method, r->path, how);
	else
		server_log(s, "--- | %s | %-6s %s%s", dur, r->method, r->path, how);
}

/* Remembers the speech model: the embedded recogniser is no Ollama model, so
 * the `memory` events do not list it. */
static void note_speech(server *s, const struct event *ev)
{
	int loaded = !strcmp(ev->name, "model_loaded");
	if (!loaded && strcmp(ev->name, "model_unloaded") != 0)
		return;
	json_error_t je;
	json_t *o = json_loadb(ev->line, ev->len, 0, &je);
	const char *role = json_string_value(json_object_get(o, "role"));
	if (role && !strcmp(role, "asr")) {
		char *text = NULL;
		if (loaded) {
			json_t *m = json_pack("{s:O?,s:s,s:O?}", "model", json_object_get(o, "model"), "role", "asr", "bytes",
			                      json_object_get(o, "bytes"));
			text = m ? json_dumps(m, JSON_COMPACT) : NULL;
			json_decref(m);
		}
		pthread_mutex_lock(&s->m.mu);
		free(s->m.speech_json);
		s->m.speech_json = text;
		pthread_mutex_unlock(&s->m.mu);
	}
	json_decref(o);
}

json_t *server_speech_model(server *s)
{
	pthread_mutex_lock(&s->m.mu);
	json_error_t je;
	json_t *o = s->m.speech_json ? json_loads(s->m.speech_json, 0, &je) : NULL;
	pthread_mutex_unlock(&s->m.mu);
	return o;
}

/* One line per finished document, from the event bus (the ticker's subscription). */
static void log_document(server *s, const struct event *ev)
{
	if (!s->p.log || ev->document <= 0)
		return;
	int done = !strcmp(ev->name, "document_done"), failed = !strcmp(ev->name, "document_failed"),
	    unsupported = !strcmp(ev->name, "document_unsupported");
	if (!done && !failed && !unsupported)
		return;
	json_error_t je;
	json_t *o = json_loadb(ev->line, ev->len, 0, &je);
	const char *status = done ? json_string_value(json_object_get(o, "status")) : failed ? "failed" : "unsupported";
	const char *title = json_string_value(json_object_get(o, "title"));
	const char *why = json_string_value(json_object_get(o, failed ? "error" : "message"));
	char name[256] = "", d_path[PATH_MAX] = "";
	struct err e = {0};
	store *st = pool_get(s, &e);
	struct doc_rec d;
	if (st && store_doc_get(st, ev->document, &d, NULL) == 0) {
		size_t ul = strlen(s->uploads_dir);
		if (unsupported && !d.name && !strncmp(d.path, s->uploads_dir, ul) && d.path[ul] == '/') {
			/* an upload refused during its ingest, before its name is stored:
			 * upload_finish logs it with the name */
			doc_rec_clear(&d);
			pool_put(s, st);
			json_decref(o);
			return;
		}
		const char *base = strrchr(d.path, '/');
		text_printable(d.name ? d.name : base ? base + 1 : d.path, name, sizeof name);
		snprintf(d_path, sizeof d_path, "%s", d.path);
		doc_rec_clear(&d);
	}
	pool_put(s, st);
	char t[256] = "", w[400] = "";
	if (title)
		text_printable(title, t, sizeof t);
	if (why) {
		/* "PATH: reason": the path is the hashed upload's, the name says it better */
		size_t pl = d_path[0] ? strlen(d_path) : 0;
		if (pl && !strncmp(why, d_path, pl) && why[pl] == ':' && why[pl + 1] == ' ')
			why += pl + 2;
		text_printable(why, w, sizeof w);
	}
	size_t errors = json_array_size(json_object_get(o, "errors"));
	char errs[48] = "";
	if (errors)
		snprintf(errs, sizeof errs, " (%zu problem%s)", errors, errors == 1 ? "" : "s");
	server_log(s, "%-11s | document %lld %s%s%s%s%s%s", status ? status : "done", (long long)ev->document, name,
	           *t ? ": " : "", t, *w ? ": " : "", w, errs);
	json_decref(o);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *data_size, void **req_cls)
{
	server *s = cls;
	struct request *r = *req_cls;
	(void)version;
	if (!r) {
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		buf_init(&r->body, CAP_API_BODY);
		*req_cls = r;
		r->started_s = clock_mono_s();
		snprintf(r->method, sizeof r->method, "%s", method);
		text_printable(url, r->path, sizeof r->path);
		/* the headers are complete: the header deadline no longer applies */
		conn_set_in_request(s, c, 1);
		struct conn_rec *k = conn_of(c);
		if (k) {
			pthread_mutex_lock(&s->conn_mu);
			r->uri_len = k->uri_len;
			pthread_mutex_unlock(&s->conn_mu);
		}
		return first_call(s, c, r, url, method);
	}
	if (*data_size) {
		size_t n = *data_size;
		*data_size = 0;
		if (r->answered)
			return MHD_YES;
		if (r->up)
			return upload_data(r->up, data, n) ? MHD_NO : MHD_YES;
		if (!r->body_too_big && buf_append(&r->body, data, n) != 0)
			r->body_too_big = 1;
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
	r->answered = 1;
	if (r->body_too_big)
		return reply_error(c, 413, "a JSON body may be at most %u bytes", CAP_API_BODY);
	return dispatch(s, c, r, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls, enum MHD_RequestTerminationCode toe)
{
	server *s = cls;
	struct request *r = *req_cls;
	/* a kept-alive connection has header_timeout_s for its next request */
	conn_set_in_request(s, c, 0);
	if (!r)
		return;
	log_request(s, c, r, toe);
	upload_free(r->up); /* a client that went away (or timed out) mid-upload leaves no temp file, and its
	                          upload slot is free again */
	buf_free(&r->body);
	free(r);
	*req_cls = NULL;
}

/* Called with the raw request line's URI (query included), before the headers
 * are read: remembers its length for the 414 in first_call. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	server *s = cls;
	struct conn_rec *k = conn_of(c);
	if (k) {
		pthread_mutex_lock(&s->conn_mu);
		k->uri_len = uri ? strlen(uri) : 0;
		pthread_mutex_unlock(&s->conn_mu);
	}
	return NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
	server *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		struct conn_rec *k = calloc(1, sizeof *k);
		if (!k)
			return;
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		k->fd = ci ? ci->connect_fd : -1;
		k->since_ms = clock_mono_ms();
		pthread_mutex_lock(&s->conn_mu);
		k->next = s->conns;
		if (s->conns)
			s->conns->prev = k;
		s->conns = k;
		pthread_mutex_unlock(&s->conn_mu);
		*socket_context = k;
	} else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		struct conn_rec *k = *socket_context;
		if (!k)
			return;
		/* libmicrohttpd closes the socket after this returns: once k is out of
		 * the list, the ticker never touches that descriptor again */
		pthread_mutex_lock(&s->conn_mu);
		if (k->prev)
			k->prev->next = k->next;
		else
			s->conns = k->next;
		if (k->next)
			k->next->prev = k->prev;
		pthread_mutex_unlock(&s->conn_mu);
		free(k);
		*socket_context = NULL;
	}
}

/* Shuts down connections that have not sent a whole request's headers within
 * header_timeout_s (libmicrohttpd's own timeout restarts with every byte, so a
 * client sending a header line every few seconds would hold on forever). */
static void reap_slow_headers(server *s)
{
	int64_t now = clock_mono_ms(), limit = (int64_t)s->p.header_timeout_s * 1000;
	int n = 0;
	pthread_mutex_lock(&s->conn_mu);
	for (struct conn_rec *k = s->conns; k; k = k->next) {
		if (k->in_request || k->shut || k->fd < 0 || now - k->since_ms <= limit)
			continue;
		shutdown(k->fd, SHUT_RDWR); /* the event loop sees the end and closes it */
		k->shut = 1;
		n++;
	}
	pthread_mutex_unlock(&s->conn_mu);
	if (n)
		metrics_count(s, &s->m.header_timeouts, n);
}

/* How often the ticker looks at the clock (SSE heartbeats, the header deadline). */
#define TICK_MS 100

static void *ticker_main(void *arg)
{
	server *s = arg;
	bus_sub *sub = NULL;
	bus_subscribe(s->p.bus, 4096, &sub);
	int64_t next_reap = 0;
	while (!__atomic_load_n(&s->ticker_stop, __ATOMIC_SEQ_CST)) {
		int got = 0, rc;
		struct event *ev;
		if (sub) {
			rc = bus_sub_next(sub, TICK_MS, &ev);
			if (rc == 0) {
				got = 1;
				log_document(s, ev);
				note_speech(s, ev);
				event_release(ev);
				usleep(5 * 1000); /* let a burst of events gather: one wake-up for all */
				while ((rc = bus_sub_next(sub, 0, &ev)) == 0) {
					log_document(s, ev);
					note_speech(s, ev);
					event_release(ev);
				}
			}
			if (rc == DOSSIER_ECANCELLED) {
				int dropped = bus_sub_dropped(sub);
				bus_unsubscribe(sub);
				sub = NULL;
				got = 1;
				if (dropped) /* fell behind: the streams take what they have, we listen again */
					bus_subscribe(s->p.bus, 4096, &sub);
			}
		} else {
			usleep(TICK_MS * 1000);
		}
		sse_wake(s, got);
		int64_t now = clock_mono_ms();
		if (now >= next_reap) {
			reap_slow_headers(s);
			next_reap = now + 1000;
		}
	}
	bus_unsubscribe(sub);
	return NULL;
}

/* ------------------------------------------------------------ lifecycle */

void server_params_default(struct server_params *p)
{
	memset(p, 0, sizeof *p);
	p->max_upload_bytes = 512ull * 1000 * 1000;
	p->max_uploads = 8;
	p->max_connections = 4096;
	p->max_connections_per_ip = 0;
	p->heartbeat_s = 15;
	p->sse_queue_len = 1024;
	p->connection_timeout_s = 15;
	p->header_timeout_s = 10;
	p->threads = 0;
	struct err e;
	server_listen_parse("127.0.0.1:8080", &p->addr, &e);
}

/* Each connection is a file descriptor: raises the soft limit on open files
 * to fit max_connections (and the database, uploads and helpers besides),
 * or lowers max_connections to what the hard limit allows. */
static void limit_connections_to_files(struct server_params *p)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	rlim_t want = (rlim_t)p->max_connections + 256;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= want ? want : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		p->max_connections = rl.rlim_cur > 256 + 4 ? (int)(rl.rlim_cur - 256) : 4;
}

/* Returns the listening socket, or -1 with *err set. */
static int open_listener(server *s, struct err *err)
{
	const struct server_addr *a = &s->p.addr;
	int fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		err_set(err, DOSSIER_EIO, "cannot create a socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (a->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	char shown[96];
	if (a->ss.ss_family == AF_INET6)
		snprintf(shown, sizeof shown, "[%s]:%d", a->host, a->port);
	else
		snprintf(shown, sizeof shown, "%s:%d", a->host, a->port);
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0 || listen(fd, 1024) != 0) {
		int e = errno;
		close(fd);
		err_set(err, e == EACCES ? DOSSIER_EPERM : DOSSIER_EIO, "cannot listen on %s: %s%s", shown, strerror(e),
		        e == EADDRINUSE ? " (another server uses that port; pick another with --listen)" : "");
		return -1;
	}
	struct sockaddr_storage bound;
	socklen_t blen = sizeof bound;
	getsockname(fd, (struct sockaddr *)&bound, &blen);
	s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
	                                            : ((struct sockaddr_in *)&bound)->sin_port);
	if (a->ss.ss_family == AF_INET6)
		snprintf(s->url, sizeof s->url, "http://[%s]:%d", a->host, s->port);
	else
		snprintf(s->url, sizeof s->url, "http://%s:%d", a->host, s->port);
	return fd;
}

int server_start(const struct server_params *p, server **out, struct err *err)
{
	*out = NULL;
	if (!p->cfg || !p->bus)
		return err_set(err, DOSSIER_EINVAL, "server_start needs a config and an event bus");
	const char *tok = p->token ? p->token : "";
	if (!p->addr.loopback && !*tok)
		return err_set(err, DOSSIER_EPERM,
		               "refusing to listen on %s without a token: anyone who can reach it could read and "
		               "upload documents; set --token or DOSSIER_TOKEN, or listen on 127.0.0.1",
		               p->addr.host);
	if (strlen(tok) >= sizeof ((server *)0)->token)
		return err_set(err, DOSSIER_EINVAL, "the token is too long (at most 255 characters)");

	server *s = xcalloc(1, sizeof *s);
	s->p = *p;
	if (s->p.heartbeat_s < 1)
		s->p.heartbeat_s = 1;
	if (s->p.heartbeat_s > 60)
		s->p.heartbeat_s = 60;
	if (s->p.sse_queue_len < 16)
		s->p.sse_queue_len = 16;
	if (s->p.max_uploads < 1)
		s->p.max_uploads = 1;
	if (s->p.max_connections < 4)
		s->p.max_connections = 4;
	if (s->p.connection_timeout_s < 1)
		s->p.connection_timeout_s = 15;
	if (s->p.header_timeout_s < 1)
		s->p.header_timeout_s = 10;
	if (s->p.threads < 1) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		/* about the core count; at least 4, as a request may wait on the database */
		s->p.threads = ncpu < 4 ? 4 : ncpu > 16 ? 16 : (int)ncpu;
	}
	limit_connections_to_files(&s->p);
	if (s->p.max_connections_per_ip < 1)
		s->p.max_connections_per_ip = s->p.max_connections / 2;
	snprintf(s->token, sizeof s->token, "%s", tok);
	s->p.token = NULL;
	if (p->allow_hosts && strlen(p->allow_hosts) >= sizeof s->allow_hosts) {
		free(s);
		return err_set(err, DOSSIER_EINVAL, "--allow-host: the names are too long (1023 bytes at most)");
	}
	snprintf(s->allow_hosts, sizeof s->allow_hosts, "%s", p->allow_hosts ? p->allow_hosts : "");
	s->p.allow_hosts = NULL;
	s->started_at = clock_wall_s();
	pthread_mutex_init(&s->pool_mu, NULL);
	pthread_mutex_init(&s->ingest_mu, NULL);
	pthread_mutex_init(&s->m.mu, NULL);
	pthread_mutex_init(&s->conn_mu, NULL);
	pthread_mutex_init(&s->sse_mu, NULL);

	config_data_dir(p->cfg, s->data_dir, sizeof s->data_dir);
	char real[PATH_MAX];
	if (realpath(s->data_dir, real))
		snprintf(s->data_dir, sizeof s->data_dir, "%s", real);
	snprintf(s->uploads_dir, sizeof s->uploads_dir, "%s/uploads", s->data_dir);
	snprintf(s->frames_dir, sizeof s->frames_dir, "%s/frames", s->data_dir);

	int rc, fd = -1;
	store *st = NULL;
	if ((rc = mkdir_p(s->uploads_dir, err)))
		goto fail;
	if (!(st = pool_get(s, err))) { /* the database must be usable before we say "listening" */
		rc = err ? err->code : DOSSIER_EDB;
		goto fail;
	}
	pool_put(s, st);
	if ((rc = classifier_new(&s->cls, err)))
		goto fail;
	if (veccache_new((size_t)p->cfg->vector_cache_bytes, s->p.log, s->p.log_user, &s->vcache)) {
		rc = err_set(err, DOSSIER_ENOMEM, "out of memory starting the server");
		goto fail;
	}
	upload_sweep(s);
	if ((fd = open_listener(s, err)) < 0) {
		rc = err ? err->code : DOSSIER_EIO;
		goto fail;
	}
	if ((rc = metrics_start(s, err)))
		goto fail_fd;

	/* libmicrohttpd's event loop on a small pool of threads: an open
	 * connection costs a socket and a little memory, not a thread, so idle
	 * and slow clients cannot lock the others out. */
#ifdef __linux__
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME;
#else
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME;
#endif
	if (s->p.addr.ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
	                             MHD_OPTION_LISTEN_SOCKET, fd,
	                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	                             MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
	                             MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
	                             MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->p.threads,
	                             MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->p.max_connections,
	                             MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)s->p.max_connections_per_ip,
	                             /* any byte restarts it: it ends idle sockets and stalled uploads */
	                             MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->p.connection_timeout_s,
	                             /* bounds the request line and headers per connection: room for a
	                              * URI past CAP_URI, so it gets our JSON 414, not libmicrohttpd's
	                              * page (the pool is mapped lazily: an idle connection uses little) */
	                             MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
	                             MHD_OPTION_THREAD_STACK_SIZE, (size_t)(1024 * 1024),
	                             MHD_OPTION_END);
	if (!s->daemon) {
		rc = err_set(err, DOSSIER_EIO, "cannot start the HTTP server on %s (libmicrohttpd refused it)", s->url);
		metrics_stop(s);
		goto fail_fd;
	}
	if (pthread_create(&s->ticker, NULL, ticker_main, s) != 0) {
		MHD_stop_daemon(s->daemon);
		metrics_stop(s);
		rc = err_set(err, DOSSIER_EIO, "cannot start the server's ticker thread");
		goto fail;
	}
	s->ticker_started = 1;
	*out = s;
	return 0;
fail_fd:
	close(fd);
fail:
	classifier_free(s->cls);
	veccache_free(s->vcache);
	for (int i = 0; i < s->pool_n; i++)
		store_close(s->pool[i]);
	pthread_mutex_destroy(&s->pool_mu);
	pthread_mutex_destroy(&s->ingest_mu);
	pthread_mutex_destroy(&s->m.mu);
	pthread_mutex_destroy(&s->conn_mu);
	pthread_mutex_destroy(&s->sse_mu);
	free(s);
	return rc ? rc : DOSSIER_EIO;
}

const char *server_url(server *s)
{
	return s->url;
}

void server_stop(server *s)
{
	if (!s)
		return;
	/* Suspended streams are woken by the ticker, see this flag, send
	 * `closing` and end; none suspends again once it is set. */
	__atomic_store_n(&s->closing, 1, __ATOMIC_SEQ_CST);
	/* give the streams a moment to say `closing` and finish cleanly */
	for (int i = 0; i < 80; i++) {
		pthread_mutex_lock(&s->m.mu);
		int open = s->m.sse_clients;
		pthread_mutex_unlock(&s->m.mu);
		if (!open)
			break;
		usleep(25 * 1000);
	}
	if (s->ticker_started) {
		__atomic_store_n(&s->ticker_stop, 1, __ATOMIC_SEQ_CST);
		pthread_join(s->ticker, NULL);
	}
	/* libmicrohttpd must not be stopped with a connection suspended (a stream
	 * whose client stopped reading, say): resume them all first */
	sse_wake(s, 1);
	MHD_stop_daemon(s->daemon);
	metrics_stop(s);
	classifier_free(s->cls);
	veccache_free(s->vcache);
	for (int i = 0; i < s->pool_n; i++)
		store_close(s->pool[i]);
	free(s->m.memory_json);
	free(s->m.speech_json);
	pthread_mutex_destroy(&s->pool_mu);
	pthread_mutex_destroy(&s->ingest_mu);
	pthread_mutex_destroy(&s->m.mu);
	pthread_mutex_destroy(&s->conn_mu);
	pthread_mutex_destroy(&s->sse_mu);
	free(s);
}
