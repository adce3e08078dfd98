/*
 * upload.c — POST /api/documents: a file arrives as multipart/form-data (field
 * `file`) or as a raw body (name in X-Filename). It is streamed to a temp file
 * in <data dir>/uploads in the chunks libmicrohttpd hands us, hashed on the
 * way, then renamed to <sha256><.ext> — never to a name the client chose — and
 * ingested like any file the CLI is given.
 *
 * The multipart parser is our own (a small streaming state machine), so every
 * way a form can be wrong gets its own message: no boundary in the header, a
 * body that never closes, part headers or a file name over their caps, too
 * many parts. A body that is cut short is never stored.
 */
#include "server/internal.h"
#include "core/err.h"
#include "pipeline/ingest.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UPLOAD_TMP_PREFIX ".partial-"
/* Multipart framing around the file (boundaries, part headers) allowed on top of
 * --max-upload when judging Content-Length. */
#define UPLOAD_FRAMING_SLACK (64u * 1024u)
/* An upload without Content-Length that passes the limit is read and thrown
 * away up to this much more (so the client gets its 413), then cut off. */
#define UPLOAD_DISCARD_MAX (16ull * 1024 * 1024)
/* Caps on a multipart form: one part's header block, parts in one form, the
 * bytes of a file name. */
#define MP_HEADERS_MAX (8u * 1024u)
#define MP_PARTS_MAX 1000
#define MP_NAME_MAX 1024u
/* RFC 2046: a boundary is 1 to 70 characters. */
#define MP_BOUNDARY_MAX 70

enum mp_state { MP_PREAMBLE, MP_AFTER_DELIM, MP_HEADERS, MP_BODY, MP_DONE };
enum mp_error {
	MP_OK,
	MP_E_HEADERS,   /* a part's header block passed MP_HEADERS_MAX */
	MP_E_NAME,      /* a file name passed MP_NAME_MAX */
	MP_E_PARTS,     /* more than MP_PARTS_MAX parts */
	MP_E_SYNTAX,    /* junk after a boundary line */
	MP_E_UNCLOSED,  /* the body ended before the closing boundary */
	MP_E_NOPART,    /* the body never contains its boundary */
};

/* A streaming multipart/form-data reader. */
struct mp {
	char delim[4 + MP_BOUNDARY_MAX + 1]; /* "\r\n--" + boundary */
	size_t dlen;
	int state;                           /* enum mp_state */
	int error;                           /* enum mp_error; sticky */
	char *hold;                          /* bytes not yet consumed */
	size_t hold_len, hold_cap;
	char hdr[MP_HEADERS_MAX + 1];        /* this part's header lines, '\n'-separated */
	size_t hdr_len;
	int parts;                           /* parts begun */
	int in_file;                         /* the current part is the file being kept */
};

struct upload {
	server *s;                     /* borrowed */
	int fd;                        /* the temp file; -1 once closed */
	char tmp[PATH_MAX];            /* its path; "" once renamed or deleted */
	struct sha256 sha;             /* of the file bytes so far */
	uint64_t bytes;                /* file bytes received */
	uint64_t discarded;            /* body bytes thrown away after the limit */
	char filename[256];            /* the client's name: shown, and its extension kept */
	struct mp *mp;                 /* multipart parser; NULL for a raw body */
	int part;                      /* multipart: 0 before the file part, 1 in it, 2 after */
	int too_big;                   /* the file passed max_upload_bytes */
	int form_error;                /* enum mp_error: why the form could not be read */
	int io_errno;                  /* a write failed (errno), 0 if none */
	int holds_slot;                /* counted in uploads_active */
};

/* ------------------------------------------------------------ helpers */

static void release_slot(struct upload *up)
{
	if (!up->holds_slot)
		return;
	pthread_mutex_lock(&up->s->pool_mu);
	up->s->uploads_active--;
	pthread_mutex_unlock(&up->s->pool_mu);
	up->holds_slot = 0;
}

void upload_free(server *s, struct upload *up)
{
	(void)s;
	if (!up)
		return;
	if (up->mp) {
		free(up->mp->hold);
		free(up->mp);
	}
	if (up->fd >= 0)
		close(up->fd);
	if (*up->tmp)
		unlink(up->tmp);
	release_slot(up);
	sha256_clear(&up->sha);  /* an upload that ended early */
	free(up);
}

void upload_sweep(server *s)
{
	DIR *d = opendir(s->uploads_dir);
	if (!d)
		return;
	struct dirent *de;
	double now = clock_wall_s();
	while ((de = readdir(d))) {
		if (strncmp(de->d_name, UPLOAD_TMP_PREFIX, strlen(UPLOAD_TMP_PREFIX)) != 0)
			continue;
		char *p = path_join(s->uploads_dir, de->d_name);
		struct stat sb;
		/* an hour: another server sharing this data directory may be mid-upload */
		if (stat(p, &sb) == 0 && now - (double)sb.st_mtime > 3600)
			unlink(p);
		free(p);
	}
	closedir(d);
}

/* The extension of the client's file name, lower-cased, if it is 1-8 letters
 * and digits; "" otherwise. Only this much of a client's name reaches a path. */
static void safe_extension(const char *name, char out[10])
{
	out[0] = '\0';
	const char *base = name;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base)
		return;
	size_t n = strlen(dot + 1);
	if (n < 1 || n > 8)
		return;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)dot[1 + i]) || (unsigned char)dot[1 + i] > 127)
			return;
	out[0] = '.';
	for (size_t i = 0; i < n; i++)
		out[1 + i] = (char)tolower((unsigned char)dot[1 + i]);
	out[1 + n] = '\0';
}

/* A display copy of the client's name: its last path component, control
 * characters dropped, at most 255 bytes of valid UTF-8. */
static void display_name(const char *name, char *out, size_t n)
{
	const char *base = name;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	size_t j = 0;
	for (const char *p = base; *p && j + 1 < n; p++)
		if ((unsigned char)*p >= 0x20 && *p != 0x7f)
			out[j++] = *p;
	out[j] = '\0';
	while (j && !utf8_valid(out, j))
		out[--j] = '\0';
}

static int write_file(struct upload *up, const char *data, size_t n)
{
	if (up->too_big || up->io_errno)
		return 0;
	if (up->bytes + n > up->s->p.max_upload_bytes) {
		up->too_big = 1;
		/* give the disk back now; the reply comes when the body ends */
		if (ftruncate(up->fd, 0) != 0)
			up->io_errno = errno;
		return 0;
	}
	sha256_update(&up->sha, data, n);
	up->bytes += n;
	while (n) {
		ssize_t w = write(up->fd, data, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			up->io_errno = errno;
			return -1;
		}
		data += w;
		n -= (size_t)w;
	}
	return 0;
}

/* ------------------------------------------------------- multipart */

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
static int mp_boundary(const char *ct, char *out)
{
	const char *p = ct;
	for (; (p = strchr(p, ';')); ) {
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
	const char *p = strchr(line, ';');
	while (p) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!strncasecmp(p, key, klen) && p[klen] == '=') {
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
		p = strchr(p, ';');
	}
	return -1;
}

/* A part's headers are complete: which field is it? */
static int mp_part_begin(struct upload *up, struct mp *m)
{
	m->hdr[m->hdr_len] = '\0';
	char name[64] = "", fname[MP_NAME_MAX + 1];
	long fname_len = -1;
	for (char *line = m->hdr; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (!strncasecmp(line, "content-disposition:", 20)) {
			disposition_param(line, "name", name, sizeof name);
			fname_len = disposition_param(line, "filename", fname, MP_NAME_MAX + 1);
		}
		line = nl ? nl + 1 : NULL;
	}
	m->in_file = 0;
	if (fname_len > (long)MP_NAME_MAX)
		return MP_E_NAME;
	if (!strcmp(name, "file")) {
		if (up->part == 1)
			up->part = 2; /* a second `file` part: only the first is taken */
		if (up->part == 0) {
			up->part = 1;
			m->in_file = 1;
			if (fname_len >= 0)
				display_name(fname, up->filename, sizeof up->filename);
		}
	}
	return MP_OK;
}

/* The header block passed its cap: is it a file name that is too long? */
static int mp_headers_error(const char *line, size_t n)
{
	if (n >= 20 && !strncasecmp(line, "content-disposition:", 20) && find_bytes(line, n, "filename", 8))
		return MP_E_NAME;
	return MP_E_HEADERS;
}

/* Consumes what it can of m->hold. Returns an enum mp_error. */
static int mp_run(struct upload *up, struct mp *m)
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
			size_t data = d ? (size_t)(d - p) : (n >= m->dlen ? n - (m->dlen - 1) : 0);
			if (m->state == MP_BODY && m->in_file && data && write_file(up, p, data) != 0)
				return MP_OK; /* io_errno says why */
			pos += data;
			if (!d)
				break; /* the tail may be the start of a delimiter */
			pos += m->dlen;
			m->state = MP_AFTER_DELIM;
		} else if (m->state == MP_AFTER_DELIM) {
			if (n < 2)
				break;
			if (p[0] == '-' && p[1] == '-') {
				m->state = MP_DONE;
				pos += 2;
			} else if (p[0] == ' ' || p[0] == '\t') {
				pos++; /* transport padding */
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
			const char *eol = find_bytes(p, n, "\r\n", 2);
			size_t len = eol ? (size_t)(eol - p) : n;
			if (m->hdr_len + len + 1 > MP_HEADERS_MAX) {
				/* the line being read decides the message */
				rc = mp_headers_error(p, len);
				break;
			}
			if (!eol)
				break; /* wait for the rest of the line */
			if (len == 0) {
				rc = mp_part_begin(up, m);
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

static void mp_feed(struct upload *up, const char *data, size_t n)
{
	struct mp *m = up->mp;
	if (up->form_error || up->io_errno || up->too_big)
		return;
	if (m->hold_len + n > m->hold_cap) {
		size_t cap = m->hold_len + n + 256;
		char *h = realloc(m->hold, cap);
		if (!h) {
			up->io_errno = ENOMEM;
			return;
		}
		m->hold = h;
		m->hold_cap = cap;
	}
	memcpy(m->hold + m->hold_len, data, n);
	m->hold_len += n;
	up->form_error = mp_run(up, m);
}

/* The body ended: was the form complete? */
static int mp_end(struct upload *up)
{
	struct mp *m = up->mp;
	if (up->form_error)
		return up->form_error;
	if (m->state == MP_DONE)
		return MP_OK;
	return m->parts == 0 && m->state == MP_PREAMBLE ? MP_E_NOPART : MP_E_UNCLOSED;
}

static int mp_new(const char *ct, struct mp **out)
{
	char b[MP_BOUNDARY_MAX + 1];
	*out = NULL;
	if (mp_boundary(ct, b) != 0)
		return -1;
	struct mp *m = xcalloc(1, sizeof *m);
	m->dlen = (size_t)snprintf(m->delim, sizeof m->delim, "\r\n--%s", b);
	/* the first boundary line has no CRLF before it: pretend it had */
	m->hold_cap = 4096;
	m->hold = xcalloc(1, m->hold_cap);
	memcpy(m->hold, "\r\n", 2);
	m->hold_len = 2;
	*out = m;
	return 0;
}

static const char *mp_message(int e)
{
	switch (e) {
	case MP_E_HEADERS: return "a part of the form has headers longer than 8 KB (8192 bytes per part at most)";
	case MP_E_NAME: return "file name too long: a file name may be at most 1024 bytes";
	case MP_E_PARTS: return "the form has more than 1000 parts";
	case MP_E_SYNTAX: return "the multipart/form-data body is malformed: a boundary line is followed by "
	                         "something other than a line break or '--'";
	case MP_E_UNCLOSED: return "the multipart/form-data body ends before its closing boundary "
	                           "('--BOUNDARY--'): the upload is incomplete and was not stored";
	case MP_E_NOPART: return "the multipart/form-data body does not contain the boundary its Content-Type "
	                         "names";
	default: return "the multipart/form-data body cannot be read";
	}
}

/* ------------------------------------------------------------ the route */

/* 1 when a raw body of this Content-Type must name itself with X-Filename. */
static int raw_type_needs_name(const char *ct)
{
	static const char *const not_files[] = {"text/plain", "application/json", "application/x-www-form-urlencoded"};
	if (!ct || !*ct)
		return 1;
	for (size_t i = 0; i < sizeof not_files / sizeof not_files[0]; i++)
		if (!strncasecmp(ct, not_files[i], strlen(not_files[i])))
			return 1;
	return 0;
}

enum MHD_Result upload_begin(server *s, struct MHD_Connection *c, struct request *r)
{
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char limit[32];
	size_format(s->p.max_upload_bytes, limit, sizeof limit);
	if (cl && strtoull(cl, NULL, 10) > s->p.max_upload_bytes + UPLOAD_FRAMING_SLACK) {
		r->answered = 1;
		metrics_count(s, &s->m.uploads_rejected, 1);
		return reply_error(c, 413, "the upload is %s bytes; this server takes files up to %s (--max-upload)", cl,
		                   limit);
	}
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	const char *xname = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Filename");
	int multipart = ct && !strncasecmp(ct, "multipart/form-data", 19);
	struct mp *mp = NULL;
	if (multipart && mp_new(ct, &mp) != 0) {
		r->answered = 1;
		return reply_error(c, 400, "the multipart/form-data Content-Type has no usable boundary (a "
		                           "boundary=... parameter of 1 to 70 characters)");
	}
	/* A raw body names itself with X-Filename. Without one, only a content type
	 * that names a kind of file will do: text/plain, JSON and urlencoded bodies
	 * are what a form or a script on another page sends, not a file (curl
	 * --data-binary sends urlencoded). */
	if (!multipart && !xname && raw_type_needs_name(ct)) {
		r->answered = 1;
		if (ct && !strncasecmp(ct, "application/json", 16))
			return reply_error(c, 415, "POST /api/documents takes a file, not a JSON request: send it as "
			                           "multipart/form-data (field 'file') or as the raw body with an "
			                           "X-Filename header");
		return reply_error(c, 415, "send the file as multipart/form-data (field 'file') or as the raw body "
		                           "with an X-Filename header");
	}

	pthread_mutex_lock(&s->pool_mu);
	int busy = s->uploads_active >= s->p.max_uploads;
	if (!busy)
		s->uploads_active++;
	pthread_mutex_unlock(&s->pool_mu);
	if (busy) {
		if (mp) {
			free(mp->hold);
			free(mp);
		}
		r->answered = 1;
		metrics_count(s, &s->m.uploads_rejected, 1);
		return reply_error(c, 429, "%d uploads are in progress already; try again when one has finished",
		                   s->p.max_uploads);
	}
	struct upload *up = xcalloc(1, sizeof *up);
	up->s = s;
	up->holds_slot = 1;
	up->fd = -1;
	sha256_init(&up->sha);
	r->up = up;
	up->mp = mp;

	snprintf(up->tmp, sizeof up->tmp, "%s/" UPLOAD_TMP_PREFIX "XXXXXX", s->uploads_dir);
	up->fd = mkstemp(up->tmp);
	if (up->fd >= 0)
		fcntl(up->fd, F_SETFD, FD_CLOEXEC);
	if (up->fd < 0) {
		int e = errno;
		*up->tmp = '\0';
		r->answered = 1;
		return reply_error(c, 500, "cannot create a file in %s: %s", s->uploads_dir, strerror(e));
	}
	if (!multipart) {
		display_name(xname ? xname : "upload", up->filename, sizeof up->filename);
		up->part = 1;
	}
	return MHD_YES;
}

enum MHD_Result upload_data(server *s, struct MHD_Connection *c, struct request *r, const char *data, size_t n)
{
	struct upload *up = r->up;
	(void)c;
	if (up->too_big || up->form_error) {
		up->discarded += n;
		/* without Content-Length a client could stream forever: cut it off */
		return up->discarded > UPLOAD_DISCARD_MAX ? MHD_NO : MHD_YES;
	}
	if (up->mp) {
		mp_feed(up, data, n);
		return MHD_YES;
	}
	write_file(up, data, n);
	(void)s;
	return MHD_YES;
}

/* The stored copy of this content, if an earlier upload kept one. */
static int find_existing(server *s, const char *hex, char *out, size_t n)
{
	DIR *d = opendir(s->uploads_dir);
	if (!d)
		return 0;
	struct dirent *de;
	int found = 0;
	while ((de = readdir(d))) {
		if (!strncmp(de->d_name, hex, 64) && (de->d_name[64] == '\0' || de->d_name[64] == '.')) {
			snprintf(out, n, "%s/%s", s->uploads_dir, de->d_name);
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
}

enum MHD_Result upload_finish(server *s, struct MHD_Connection *c, struct request *r)
{
	struct upload *up = r->up;
	char limit[32];
	int form_error = up->mp && !up->too_big && !up->io_errno ? mp_end(up) : MP_OK;
	size_format(s->p.max_upload_bytes, limit, sizeof limit);
	if (up->too_big) {
		metrics_count(s, &s->m.uploads_rejected, 1);
		return reply_error(c, 413, "the file is larger than this server takes (%s, --max-upload)", limit);
	}
	if (up->io_errno)
		return reply_error(c, up->io_errno == ENOSPC ? 507 : 500, "cannot store the upload in %s: %s",
		                   s->uploads_dir, strerror(up->io_errno));
	if (form_error)
		return reply_error(c, 400, "%s", mp_message(form_error));
	if (up->part == 0)
		return reply_error(c, 400, "no file in the form: send it as the multipart field 'file' "
		                           "(curl -F file=@NAME)");
	if (up->bytes == 0)
		return reply_error(c, 400, "the uploaded file '%s' is empty", up->filename);
	if (close(up->fd) != 0) {
		up->fd = -1;
		return reply_error(c, 500, "cannot store the upload in %s: %s", s->uploads_dir, strerror(errno));
	}
	up->fd = -1;

	char hex[65], ext[10], path[PATH_MAX];
	sha256_final_hex(&up->sha, hex);
	safe_extension(up->filename, ext);
	/* Identical content is one file, whatever the client called it. */
	if (find_existing(s, hex, path, sizeof path)) {
		unlink(up->tmp);
	} else {
		snprintf(path, sizeof path, "%s/%s%s", s->uploads_dir, hex, ext);
		if (rename(up->tmp, path) != 0)
			return reply_error(c, 500, "cannot move the upload to %s: %s", path, strerror(errno));
	}
	*up->tmp = '\0';
	release_slot(up);

	struct err e = {0};
	struct ingest_stats stats = {0};
	int64_t id = 0;
	store *st = pool_get(s, &e);
	if (!st)
		return reply_error(c, 500, "%s", e.msg);
	pthread_mutex_lock(&s->ingest_mu);
	int rc = ingest_file(st, s->cls, s->p.bus, path, &stats, &id, &e);
	pthread_mutex_unlock(&s->ingest_mu);
	struct doc_rec d;
	if (rc == 0 && id > 0)
		rc = store_doc_get(st, id, &d, &e);
	else if (rc == 0) /* recorded without steps (unsupported, failed): found by its path */
		rc = store_doc_by_path(st, path, &d, &e);
	pool_put(s, st);
	if (rc)
		return reply_error(c, 500, "%s", e.msg);
	if (s->p.sched)
		sched_notify(s->p.sched);
	metrics_count(s, &s->m.uploads, 1);

	unsigned status = stats.queued ? 201 : 200;
	if (!strcmp(d.status, "unsupported"))
		status = 415;
	else if (!strcmp(d.status, "failed") && !d.sha256[0])
		status = 422;
	json_t *body = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:b}", "id", (json_int_t)d.id, "path", d.path,
	                         "status", d.status, "sha256", d.sha256, "kind", d.kind, "mime", d.mime ? d.mime : "",
	                         "bytes", (json_int_t)d.bytes, "filename", up->filename, "existing", status == 200);
	if (d.error)
		json_object_set_new(body, "error", json_string(d.error));
	else if (status == 415)
		json_object_set_new(body, "error", json_string("this kind of file is not supported (recorded, not analysed)"));
	doc_rec_clear(&d);
	return reply_json(c, status, body);
}
