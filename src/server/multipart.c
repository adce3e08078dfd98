/*
 * multipart.c — the streaming multipart/form-data reader (multipart.h).
 *
 * The body is taken as "\r\n" + body, so the first boundary line looks like
 * every other delimiter: "\r\n--BOUNDARY". Bytes not yet consumed wait in
 * `hold`: the tail of a part that may be the start of a delimiter, or a header
 * line not yet complete (at most MP_HEADERS_MAX of them).
 */
#include "server/multipart.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum mp_state { MP_PREAMBLE, MP_AFTER_DELIM, MP_HEADERS, MP_BODY, MP_DONE };

struct mp {
	const struct mp_callbacks *cb;       /* borrowed */
	void *user;                          /* borrowed */
	char delim[4 + MP_BOUNDARY_MAX + 1]; /* "\r\n--" + boundary */
	size_t dlen;
	int state;                           /* enum mp_state */
	int error;                           /* enum mp_error; sticky */
	char *hold;                          /* bytes not yet consumed */
	size_t hold_len, hold_cap;
	char hdr[MP_HEADERS_MAX + 1];        /* this part's header lines, '\n'-separated */
	size_t hdr_len;
	size_t scanned;                      /* MP_HEADERS: bytes of the line in hold known to hold no
	                                        line break (so a line dripping in is not searched anew) */
	int parts;                           /* parts begun */
};

static const char *find_bytes(const char *h, size_t hn, const char *n, size_t nn)
{
	if (nn == 0 || hn < nn)
		return NULL;
	const char *end = h + hn - nn + 1;
	for (const char *p = h; p < end; p++) {
		p = memchr(p, n[0], (size_t)(end - p));
		if (!p)
			return NULL;
		if (!memcmp(p, n, nn))
			return p;
	}
	return NULL;
}

/* The boundary parameter of a multipart Content-Type, into out; -1 if there is
 * none or it is longer than MP_BOUNDARY_MAX. */
static int boundary_of(const char *ct, char *out)
{
	for (const char *p = ct; (p = strchr(p, ';'));) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "boundary=", 9) != 0)
			continue;
		p += 9;
		size_t n = 0;
		if (*p == '"') {
			p++;
			while (p[n] && p[n] != '"')
				n++;
		} else {
			while (p[n] && p[n] != ';' && p[n] != ' ' && p[n] != '\t')
				n++;
		}
		if (n < 1 || n > MP_BOUNDARY_MAX)
			return -1;
		memcpy(out, p, n);
		out[n] = '\0';
		return 0;
	}
	return -1;
}

/* The value of parameter `key` (name, filename) in a Content-Disposition line,
 * into out (NUL-terminated, at most n-1 bytes). Returns its full length, or -1
 * when absent. */
static long disposition_param(const char *line, const char *key, char *out, size_t n)
{
	size_t klen = strlen(key);
	for (const char *p = strchr(line, ';'); p; p = strchr(p, ';')) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, key, klen) != 0 || p[klen] != '=')
			continue;
		p += klen + 1;
		size_t len = 0;
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\' && p[1])
					p++;
				if (len + 1 < n)
					out[len] = *p;
				len++;
			}
		} else {
			for (; *p && *p != ';' && *p != ' ' && *p != '\t'; p++) {
				if (len + 1 < n)
					out[len] = *p;
				len++;
			}
		}
		out[len < n ? len : n - 1] = '\0';
		return (long)len;
	}
	return -1;
}

/* The field name (into name) and the file name (into fname, cut to
 * MP_NAME_MAX bytes) of the header lines in hdr ('\n'-separated, NUL-ended;
 * the line breaks are overwritten): the last Content-Disposition line decides.
 * Returns the file name's full length, -1 when there is none. */
static long header_fields(char *hdr, char name[256], char fname[MP_NAME_MAX + 1])
{
	long fname_len = -1;
	for (char *line = hdr; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (!strncasecmp(line, "content-disposition:", 20)) {
			disposition_param(line, "name", name, 256);
			fname_len = disposition_param(line, "filename", fname, MP_NAME_MAX + 1);
		}
		line = nl ? nl + 1 : NULL;
	}
	return fname_len;
}

/* A part's headers are complete: which field is it? */
static int part_begin(mp *m)
{
	m->hdr[m->hdr_len] = '\0';
	char name[256] = "", fname[MP_NAME_MAX + 1];
	long fname_len = header_fields(m->hdr, name, fname);
	if (fname_len > (long)MP_NAME_MAX)
		return MP_E_NAME;
	if (m->cb->part && m->cb->part(m->user, name, fname_len >= 0 ? fname : NULL) != 0)
		return MP_E_CALLBACK;
	return MP_OK;
}

/*
 * The header block passes its cap with the line at `line`, of which at least
 * the first MP_HEADERS_MAX - hdr_len bytes have arrived. Which limit was
 * crossed first decides: the file name's, if a file name read from the lines
 * so far and those bytes (exactly the block up to the cap) is already over
 * MP_NAME_MAX; the block's otherwise. The bytes past the cap are not looked
 * at, as they may not have arrived yet: so the verdict is the same however
 * the body is cut into chunks.
 */
static int headers_error(mp *m, const char *line)
{
	size_t k = MP_HEADERS_MAX - m->hdr_len;
	memcpy(m->hdr + m->hdr_len, line, k);
	m->hdr[MP_HEADERS_MAX] = '\0';
	char name[256], fname[MP_NAME_MAX + 1];
	return header_fields(m->hdr, name, fname) > (long)MP_NAME_MAX ? MP_E_NAME : MP_E_HEADERS;
}

/* Consumes what it can of m->hold. Returns an enum mp_error. */
static int run(mp *m)
{
	size_t pos = 0;
	int rc = MP_OK;
	while (rc == MP_OK && pos < m->hold_len) {
		const char *p = m->hold + pos;
		size_t n = m->hold_len - pos;
		if (m->state == MP_DONE) {
			pos = m->hold_len; /* the epilogue is ignored */
		} else if (m->state == MP_PREAMBLE || m->state == MP_BODY) {
			const char *d = find_bytes(p, n, m->delim, m->dlen);
			/* without a delimiter, keep what could be the start of one */
			size_t len = d ? (size_t)(d - p) : (n >= m->dlen ? n - (m->dlen - 1) : 0);
			if (m->state == MP_BODY && len && m->cb->data && m->cb->data(m->user, p, len) != 0)
				rc = MP_E_CALLBACK;
			pos += len;
			if (!d || rc)
				break;
			pos += m->dlen;
			m->state = MP_AFTER_DELIM;
		} else if (m->state == MP_AFTER_DELIM) {
			if (p[0] == ' ' || p[0] == '\t') {
				pos++; /* transport padding */
				continue;
			}
			if (n < 2)
				break;
			if (p[0] == '-' && p[1] == '-') {
				m->state = MP_DONE;
				pos += 2;
			} else if (p[0] == '\r' && p[1] == '\n') {
				pos += 2;
				if (++m->parts > MP_PARTS_MAX)
					rc = MP_E_PARTS;
				m->state = MP_HEADERS;
				m->hdr_len = 0;
			} else {
				rc = MP_E_SYNTAX;
			}
		} else { /* MP_HEADERS: one line at a time */
			const char *eol = find_bytes(p + m->scanned, n - m->scanned, "\r\n", 2);
			size_t len = eol ? (size_t)(eol - p) : n;
			m->scanned = eol ? 0 : n - 1; /* the last byte may be a '\r' */
			/* a '\r' the chunk ends with may begin the line break: not counted yet */
			if (!eol && len && p[len - 1] == '\r')
				len--;
			if (m->hdr_len + len + 1 > MP_HEADERS_MAX) {
				rc = headers_error(m, p);
				break;
			}
			if (!eol)
				break; /* wait for the rest of the line */
			if (len == 0) {
				rc = part_begin(m);
				m->state = MP_BODY;
			} else {
				memcpy(m->hdr + m->hdr_len, p, len);
				m->hdr_len += len;
				m->hdr[m->hdr_len++] = '\n';
			}
			pos += len + 2;
		}
	}
	memmove(m->hold, m->hold + pos, m->hold_len - pos);
	m->hold_len -= pos;
	return rc;
}

int mp_feed(mp *m, const char *data, size_t n)
{
	if (m->error)
		return m->error;
	if (m->hold_len + n > m->hold_cap) {
		/* doubled, so a header line that drips in is not copied again and again */
		size_t cap = 2 * m->hold_cap > m->hold_len + n ? 2 * m->hold_cap : m->hold_len + n + 256;
		char *h = realloc(m->hold, cap);
		if (!h)
			return m->error = MP_E_NOMEM;
		m->hold = h;
		m->hold_cap = cap;
	}
	memcpy(m->hold + m->hold_len, data, n);
	m->hold_len += n;
	m->error = run(m);
	return m->error;
}

int mp_end(mp *m)
{
	if (m->error)
		return m->error;
	if (m->state == MP_DONE)
		return MP_OK;
	m->error = m->parts == 0 && m->state == MP_PREAMBLE ? MP_E_NOPART : MP_E_UNCLOSED;
	return m->error;
}

int mp_new(const char *content_type, const struct mp_callbacks *cb, void *user, mp **out)
{
	char b[MP_BOUNDARY_MAX + 1];
	*out = NULL;
	if (!content_type || boundary_of(content_type, b) != 0)
		return -1;
	mp *m = calloc(1, sizeof *m);
	if (!m)
		return -1;
	m->cb = cb;
	m->user = user;
	m->dlen = (size_t)snprintf(m->delim, sizeof m->delim, "\r\n--%s", b);
	m->hold_cap = 4096;
	m->hold = malloc(m->hold_cap);
	if (!m->hold) {
		free(m);
		return -1;
	}
	/* the first boundary line has no line break before it: pretend it had */
	memcpy(m->hold, "\r\n", 2);
	m->hold_len = 2;
	*out = m;
	return 0;
}

void mp_free(mp *m)
{
	if (!m)
		return;
	free(m->hold);
	free(m);
}

const char *mp_message(int error)
{
	switch (error) {
	case MP_E_HEADERS: return "a part of the form has headers longer than 8 KB (8192 bytes per part at most)";
	case MP_E_NAME: return "file name too long: a file name may be at most 1024 bytes";
	case MP_E_PARTS: return "the form has more than 1000 parts";
	case MP_E_SYNTAX: return "the multipart/form-data body is malformed: a boundary line is followed by "
	                         "something other than a line break or '--'";
	case MP_E_UNCLOSED: return "the multipart/form-data body ends before its closing boundary "
	                           "('--BOUNDARY--'): the upload is incomplete and was not stored";
	case MP_E_NOPART: return "the multipart/form-data body does not contain the boundary its Content-Type "
	                         "names";
	case MP_E_NOMEM: return "out of memory while reading the form";
	default: return "the multipart/form-data body cannot be read";
	}
}
