/*
 * upload.c — POST /api/documents: a file arrives as multipart/form-data (field
 * `file`) or as a raw body (name in X-Filename). It is streamed to a temp file
 * in <data dir>/uploads in the chunks libmicrohttpd hands us, hashed on the
 * way, then renamed to <sha256><.ext> — never to a name the client chose — and
 * ingested like any file the CLI is given.
 *
 * The multipart reader is our own (multipart.c), so every way a form can be
 * wrong gets its own message: no boundary in the header, a body that never
 * closes, part headers or a file name over their caps, too many parts. A body
 * that is cut short is never stored.
 *
 * Nothing here knows libmicrohttpd: the headers come as a struct req_in, the
 * body as chunks, and the answer goes out as a struct reply_out (server.c
 * sends it; tests/fuzz/fuzz_upload.c drives the same path with its own). What
 * the store makes of the file is upload_record's (upload_record.c).
 */
#include "server/internal.h"
#include "core/err.h"
#include "server/multipart.h"

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
struct upload {
	server *s;                     /* borrowed */
	int fd;                        /* the temp file; -1 once closed */
	char tmp[PATH_MAX];            /* its path; "" once renamed or deleted */
	struct sha256 sha;             /* of the file bytes so far */
	uint64_t bytes;                /* file bytes received */
	uint64_t discarded;            /* body bytes thrown away after the limit */
	char filename[256];            /* the client's name (display_name): stored, shown, its extension kept */
	int named;                     /* the client gave a name (filename= or X-Filename) */
	mp *mp;                        /* multipart reader; NULL for a raw body */
	int in_file;                   /* multipart: the current part is the file being kept */
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

void upload_free(struct upload *up)
{
	if (!up)
		return;
	mp_free(up->mp);
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

void upload_display_name(const char *name, char *out, size_t n)
{
	const char *base = name;
	for (const char *p = name; *p; p++)
		if (*p == '/' || *p == '\\')
			base = p + 1;
	while (*base == ' ')
		base++;
	size_t j = 0, left = strlen(base);
	const char *p = base;
	while (left) {
		size_t k;
		uint32_t cp = utf8_decode(p, left, &k);
		if (!k) { /* not UTF-8: dropped */
			p++;
			left--;
			continue;
		}
		int control = cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029;
		if (!control) {
			if (j + k + 1 > n)
				break;
			memcpy(out + j, p, k);
			j += k;
		}
		p += k;
		left -= k;
	}
	while (j && out[j - 1] == ' ')
		j--;
	out[j] = '\0';
	if (!strcmp(out, ".") || !strcmp(out, ".."))
		out[0] = '\0';
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

/* A form part begins: only the first `file` field is kept. */
static int on_part(void *user, const char *name, const char *filename)
{
	struct upload *up = user;
	up->in_file = 0;
	if (strcmp(name, "file") != 0)
		return 0; /* other form fields are ignored */
	if (up->part == 1)
		up->part = 2; /* a second `file` part: only the first is taken */
	if (up->part == 0) {
		up->part = 1;
		up->in_file = 1;
		if (filename) {
			upload_display_name(filename, up->filename, sizeof up->filename);
			up->named = up->filename[0] != '\0';
		}
	}
	return 0;
}

static int on_part_data(void *user, const char *bytes, size_t n)
{
	struct upload *up = user;
	if (!up->in_file)
		return 0;
	return write_file(up, bytes, n) != 0 ? -1 : 0; /* io_errno says why */
}

static const struct mp_callbacks upload_form = {.part = on_part, .data = on_part_data};

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

int upload_begin(server *s, const struct req_in *rq, struct upload **out, struct reply_out *reply)
{
	*out = NULL;
	const char *cl = req_header(rq, "Content-Length");
	char limit[32];
	size_format(s->p.max_upload_bytes, limit, sizeof limit);
	if (cl && strtoull(cl, NULL, 10) > s->p.max_upload_bytes + UPLOAD_FRAMING_SLACK) {
		metrics_count(s, &s->m.uploads_rejected, 1);
		reply_out_error(reply, 413, "the upload is %s bytes; this server takes files up to %s (--max-upload)", cl,
		                limit);
		return 1;
	}
	const char *ct = req_header(rq, "Content-Type");
	const char *xname = req_header(rq, "X-Filename");
	int multipart = ct && !strncasecmp(ct, "multipart/form-data", 19);
	/* A raw body names itself with X-Filename. Without one, only a content type
	 * that names a kind of file will do: text/plain, JSON and urlencoded bodies
	 * are what a form or a script on another page sends, not a file (curl
	 * --data-binary sends urlencoded). */
	if (!multipart && !xname && raw_type_needs_name(ct)) {
		if (ct && !strncasecmp(ct, "application/json", 16))
			reply_out_error(reply, 415, "POST /api/documents takes a file, not a JSON request: send it as "
			                            "multipart/form-data (field 'file') or as the raw body with an "
			                            "X-Filename header");
		else
			reply_out_error(reply, 415, "send the file as multipart/form-data (field 'file') or as the raw "
			                            "body with an X-Filename header");
		return 1;
	}

	pthread_mutex_lock(&s->pool_mu);
	int busy = s->uploads_active >= s->p.max_uploads;
	if (!busy)
		s->uploads_active++;
	pthread_mutex_unlock(&s->pool_mu);
	if (busy) {
		metrics_count(s, &s->m.uploads_rejected, 1);
		reply_out_error(reply, 429, "%d uploads are in progress already; try again when one has finished",
		                s->p.max_uploads);
		return 1;
	}
	struct upload *up = xcalloc(1, sizeof *up);
	up->s = s;
	up->holds_slot = 1;
	up->fd = -1;
	sha256_init(&up->sha);

	snprintf(up->tmp, sizeof up->tmp, "%s/" UPLOAD_TMP_PREFIX "XXXXXX", s->uploads_dir);
	up->fd = mkstemp(up->tmp);
	if (up->fd >= 0)
		fcntl(up->fd, F_SETFD, FD_CLOEXEC);
	if (up->fd < 0) {
		int e = errno;
		*up->tmp = '\0';
		reply_out_error(reply, 500, "cannot create a file in %s: %s", s->uploads_dir, strerror(e));
		upload_free(up);
		return 1;
	}
	if (multipart) {
		if (mp_new(ct, &upload_form, up, &up->mp) != 0) {
			reply_out_error(reply, 400, "the multipart/form-data Content-Type has no usable boundary (a "
			                            "boundary=... parameter of 1 to %d characters)", MP_BOUNDARY_MAX);
			upload_free(up);
			return 1;
		}
	} else {
		upload_display_name(xname ? xname : "", up->filename, sizeof up->filename);
		up->named = up->filename[0] != '\0';
		if (!up->named)
			snprintf(up->filename, sizeof up->filename, "upload");
		up->part = 1;
	}
	*out = up;
	return 0;
}

int upload_data(struct upload *up, const char *data, size_t n)
{
	if (up->too_big || up->form_error) {
		up->discarded += n;
		/* without Content-Length a client could stream forever: cut it off */
		return up->discarded > UPLOAD_DISCARD_MAX ? -1 : 0;
	}
	if (up->mp) {
		if (!up->io_errno) {
			int e = mp_feed(up->mp, data, n);
			if (e && e != MP_E_CALLBACK) /* a callback stops only for io_errno */
				up->form_error = e;
		}
		return 0;
	}
	write_file(up, data, n);
	return 0;
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

void upload_finish(server *s, struct upload *up, struct reply_out *reply)
{
	char limit[32];
	int form_error = MP_OK;
	if (up->mp && !up->too_big && !up->io_errno)
		form_error = up->form_error ? up->form_error : mp_end(up->mp);
	size_format(s->p.max_upload_bytes, limit, sizeof limit);
	if (up->too_big) {
		metrics_count(s, &s->m.uploads_rejected, 1);
		reply_out_error(reply, 413, "the file is larger than this server takes (%s, --max-upload)", limit);
		return;
	}
	if (up->io_errno) {
		reply_out_error(reply, up->io_errno == ENOSPC ? 507 : 500, "cannot store the upload in %s: %s",
		                s->uploads_dir, strerror(up->io_errno));
		return;
	}
	if (form_error) {
		reply_out_error(reply, 400, "%s", mp_message(form_error));
		return;
	}
	if (up->part == 0) {
		reply_out_error(reply, 400, "no file in the form: send it as the multipart field 'file' "
		                            "(curl -F file=@NAME)");
		return;
	}
	if (up->bytes == 0) {
		reply_out_error(reply, 400, "the uploaded file '%s' is empty", up->filename);
		return;
	}
	if (close(up->fd) != 0) {
		up->fd = -1;
		reply_out_error(reply, 500, "cannot store the upload in %s: %s", s->uploads_dir, strerror(errno));
		return;
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
		if (rename(up->tmp, path) != 0) {
			reply_out_error(reply, 500, "cannot move the upload to %s: %s", path, strerror(errno));
			return;
		}
	}
	*up->tmp = '\0';
	release_slot(up);

	struct err e = {0};
	struct doc_rec d;
	int queued = 0, unsupported = 0;
	if (upload_record(s, path, up->filename, up->named, &d, &queued, &unsupported, &e) != 0) {
		reply_out_error(reply, 500, "%s", e.msg);
		return;
	}
	metrics_count(s, &s->m.uploads, 1);

	unsigned status = queued ? 201 : 200;
	if (!strcmp(d.status, "unsupported")) {
		status = 415;
		if (queued || unsupported) /* new: the event's log line waited for the name */
			server_log(s, "%-11s | document %lld %s: %s files are not supported (recorded, not analysed)",
			           "unsupported", (long long)d.id, up->filename, d.mime && *d.mime ? d.mime : "such");
	}
	else if (!strcmp(d.status, "failed") && !d.sha256[0])
		status = 422;
	json_t *body = json_pack("{s:I,s:o,s:s,s:s,s:s,s:s,s:I,s:s,s:b}", "id", (json_int_t)d.id, "path", json_string_lossy(d.path),
	                         /* what this upload did: the scheduler may have begun the
	                          * document already (SSE tells what happens next) */
	                         "status", status == 201 ? "queued" : d.status, "sha256", d.sha256, "kind", d.kind,
	                         "mime", d.mime ? d.mime : "", "bytes", (json_int_t)d.bytes, "filename", up->filename, "existing", status == 200);
	const char *base = strrchr(d.path, '/');
	json_object_set_new(body, "name", json_string_lossy(d.name ? d.name : base ? base + 1 : d.path));
	if (d.error)
		json_object_set_new(body, "error", json_string(d.error));
	else if (status == 415)
		json_object_set_new(body, "error", json_string("this kind of file is not supported (recorded, not analysed)"));
	doc_rec_clear(&d);
	reply_out_json(reply, status, body);
}
