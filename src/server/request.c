/*
 * request.c — the part of a request's path that needs no socket: the guards
 * every request passes (the Host it names, a change sent by another site, the
 * token) and replies built as a status and a JSON body. server.c hands them
 * libmicrohttpd's headers and sends what they answer; the fuzz target
 * (tests/fuzz/fuzz_upload.c) hands them its own.
 */
#include "server/internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --------------------------------------------------------------- replies */

static const char *status_text(unsigned status)
{
	switch (status) {
	case 400: return "bad request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not found";
	case 405: return "method not allowed";
	case 413: return "too large";
	case 414: return "request URI too long";
	case 415: return "unsupported media type";
	case 421: return "misdirected request";
	case 429: return "too many requests";
	default: return "error";
	}
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned min;
	unsigned cp;
	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0)
		len = 2, min = 0x80, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		len = 3, min = 0x800, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		len = 4, min = 0x10000, cp = p[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void text_printable(const char *text, char *out, size_t n)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t left = strlen(text), j = 0;
	while (left && j + 5 < n) {
		size_t k = p[0] >= 0x20 && p[0] != 0x7f ? utf8_seq(p, left) : 0;
		if (k) {
			if (j + k + 1 > n)
				break;
			memcpy(out + j, p, k);
			j += k;
		} else {
			k = 1;
			j += (size_t)snprintf(out + j, n - j, "\\x%02x", p[0]);
		}
		p += k;
		left -= k;
	}
	out[j] = '\0';
}

void reply_out_json(struct reply_out *o, unsigned status, json_t *body)
{
	json_decref(o->body);
	o->status = status;
	o->body = body;
}

void reply_out_error(struct reply_out *o, unsigned status, const char *fmt, ...)
{
	char msg[1024], clean[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (!*msg)
		snprintf(msg, sizeof msg, "%s", status_text(status));
	text_printable(msg, clean, sizeof clean);
	reply_out_json(o, status, json_pack("{s:s}", "error", clean));
}

char *reply_out_text(const struct reply_out *o)
{
	char *text = o->body ? json_dumps(o->body, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
	return text ? text : strdup("{\"error\":\"out of memory\"}");
}

void reply_out_clear(struct reply_out *o)
{
	json_decref(o->body);
	memset(o, 0, sizeof *o);
}

/* ---------------------------------------------------------------- auth */

/* Compares without an early exit, so timing does not tell how much matched. */
static int token_equal(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	unsigned diff = (unsigned)(alen ^ blen);
	for (size_t i = 0; i < blen; i++)
		diff |= (unsigned char)(i < alen ? a[i] : 0) ^ (unsigned char)b[i];
	return diff == 0;
}

static int authorized(server *s, const struct req_in *rq)
{
	if (!*s->token)
		return 1;
	const char *h = req_header(rq, "Authorization");
	if (h && !strncasecmp(h, "Bearer ", 7)) {
		h += 7;
		while (*h == ' ')
			h++;
		size_t n = strlen(h);
		while (n && h[n - 1] == ' ')
			n--;
		if (token_equal(h, n, s->token))
			return 1;
	}
	const char *q = rq->query ? rq->query(rq->user, "token") : NULL;
	return q && token_equal(q, strlen(q), s->token);
}

/* ------------------------------------------- Host and Origin (browsers) */

/* Splits a Host value ("name", "name:port", "[v6]:port") into a lower-case
 * name without a trailing dot and a port (0 when absent). -1 if malformed. */
static int host_split(const char *host, char *name, size_t n, long *port)
{
	const char *end, *p;
	if (host[0] == '[') {
		end = strchr(host, ']');
		if (!end)
			return -1;
		host++;
		p = end + 1;
	} else {
		end = strchr(host, ':');
		if (!end)
			end = host + strlen(host);
		p = end;
	}
	size_t len = (size_t)(end - host);
	if (len == 0 || len >= n)
		return -1;
	for (size_t i = 0; i < len; i++)
		name[i] = (char)tolower((unsigned char)host[i]);
	name[len] = '\0';
	if (len > 1 && name[len - 1] == '.')
		name[len - 1] = '\0';
	*port = 0;
	if (*p == ':') {
		char *e;
		errno = 0;
		*port = strtol(p + 1, &e, 10);
		if (!p[1] || *e || errno || *port < 1 || *port > 65535)
			return -1;
	} else if (*p) {
		return -1;
	}
	return 0;
}

/* 1 if `name` is one of the --allow-host names (an entry "NAME" takes any
 * port, "NAME:PORT" that port only), or the list is "*". */
static int host_listed(server *s, const char *name, long port)
{
	if (!strcmp(s->allow_hosts, "*"))
		return 1;
	for (const char *p = s->allow_hosts; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char entry[256], ename[256];
		long eport;
		if (len && len < sizeof entry) {
			memcpy(entry, p, len);
			entry[len] = '\0';
			int has_port = entry[0] == '[' ? strstr(entry, "]:") != NULL : strchr(entry, ':') != NULL;
			if (host_split(entry, ename, sizeof ename, &eport) == 0 && !strcmp(ename, name) &&
			    (!has_port || eport == port))
				return 1;
		}
		p = comma ? comma + 1 : p + len;
	}
	return 0;
}

/*
 * The Host a request names. A page on another site can point its own domain
 * at 127.0.0.1 (DNS rebinding) and its script then talks to this server as
 * to its own origin; the Host header still carries that domain. So a Host is
 * accepted only when it is a loopback address or localhost on the bound port,
 * an IP address on the bound port when a token is set (no domain name can be
 * rebound to those, and a rebinding page does not have the token), or a name
 * given with --allow-host.
 */
static int host_ok(server *s, const char *host)
{
	if (!host)
		return 1; /* HTTP/1.0 without Host (libmicrohttpd refuses HTTP/1.1 without one): not a browser */
	char name[256];
	long port;
	if (host_split(host, name, sizeof name, &port) != 0)
		return 0;
	if (host_listed(s, name, port))
		return 1;
	/* an explicit port must be ours; a client that leaves it out (some
	 * scripts do; browsers never do for a port other than 80) means us */
	if (port && port != s->port)
		return 0;
	if (!strcmp(name, "localhost"))
		return 1;
	struct in_addr a4;
	struct in6_addr a6;
	if (inet_pton(AF_INET, name, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127 || *s->token;
	if (inet_pton(AF_INET6, name, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127) || *s->token;
	return 0;
}

static int method_changes_state(const char *method)
{
	return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH") ||
	       !strcmp(method, "DELETE");
}

/*
 * A state-changing request sent by a page of another origin: its Origin is
 * not this server's own (http:// or https:// and the Host it was sent to), or
 * the browser says Sec-Fetch-Site: cross-site or same-site (same-site is
 * another origin of the same site, e.g. another port on 127.0.0.1). Clients
 * that send neither header (curl, scripts) are not browsers and pass.
 */
static int cross_site(const struct req_in *rq, const char **why)
{
	const char *sfs = req_header(rq, "Sec-Fetch-Site");
	if (sfs && (!strcasecmp(sfs, "cross-site") || !strcasecmp(sfs, "same-site"))) {
		*why = sfs;
		return 1;
	}
	const char *origin = req_header(rq, "Origin");
	if (!origin)
		return 0;
	*why = origin;
	const char *host = req_header(rq, "Host");
	const char *rest = !strncasecmp(origin, "http://", 7) ? origin + 7
	                   : !strncasecmp(origin, "https://", 8) ? origin + 8 : NULL;
	return !rest || !host || strcasecmp(rest, host) != 0;
}

const char *req_header(const struct req_in *rq, const char *name)
{
	return rq->header ? rq->header(rq->user, name) : NULL;
}

int request_guard(server *s, const struct req_in *rq, int is_public, struct reply_out *out)
{
	const char *host = req_header(rq, "Host");
	if (!host_ok(s, host)) {
		metrics_count(s, &s->m.refused_host, 1);
		if (*s->token)
			reply_out_error(out, 421, "this server does not answer to the name '%.200s' (a guard against DNS "
			                "rebinding); use %s, or start it with --allow-host NAME for each name it is "
			                "reached by", host, s->url);
		else
			reply_out_error(out, 421, "this server answers only to the address it printed at start (%s) or "
			                "localhost:%d, not to '%.200s' (a guard against DNS rebinding); open that address, "
			                "or set --token (and --allow-host NAME) to serve other names", s->url, s->port, host);
		return 1;
	}
	const char *why = NULL;
	if (method_changes_state(rq->method) && cross_site(rq, &why)) {
		metrics_count(s, &s->m.refused_cross_site, 1);
		reply_out_error(out, 403, "refused: a %s from another site (%.200s); this server takes changes only "
		                "from its own page (%s) or from clients that are not browsers", rq->method, why, s->url);
		return 1;
	}
	if (!is_public && !authorized(s, rq)) {
		reply_out_error(out, 401, "this server needs its token: send 'Authorization: Bearer TOKEN' (or "
		                "?token=TOKEN)");
		out->www_authenticate = 1;
		return 1;
	}
	return 0;
}
