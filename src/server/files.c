/*
 * files.c — a document's own bytes and what is made from them:
 *   GET /api/documents/{id}/file       the original, with Range (206/416)
 *   GET /api/documents/{id}/thumbnail  a small JPEG (image, video frame, PDF page)
 *   GET /api/documents/{id}/export     the dossier as Markdown, SRT, WebVTT or JSON
 * The original is streamed from its file descriptor by libmicrohttpd, never
 * read whole. Thumbnails are made one at a time (bounded memory) and kept
 * under <data dir>/thumbs, named by content hash.
 */
#include "server/internal.h"
#include "core/err.h"
#include "media/image.h"
#include "media/pdf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

/* The document record, or a queued 404/500 (then *answered is the reply). */
static int doc_lookup(server *s, struct MHD_Connection *c, int64_t id, struct doc_rec *d, enum MHD_Result *answered)
{
	struct err e = {0};
	store *st = pool_get(s, &e);
	if (!st) {
		*answered = reply_error(c, 500, "%s", e.msg);
		return -1;
	}
	int rc = store_doc_get(st, id, d, &e);
	pool_put(s, st);
	if (rc == DOSSIER_ENOTFOUND) {
		*answered = reply_error(c, 404, "no document %lld", (long long)id);
		return -1;
	}
	if (rc) {
		*answered = reply_error(c, 500, "%s", e.msg);
		return -1;
	}
	return 0;
}

static const char *doc_name(const struct doc_rec *d)
{
	if (d->name && *d->name)
		return d->name;
	const char *base = strrchr(d->path, '/');
	return base ? base + 1 : d->path;
}

void files_disposition(const char *type, const char *name, const char *ext, char *out, size_t n)
{
	char ascii[300], enc[1024];
	size_t a = 0, k = 0;
	for (const unsigned char *p = (const unsigned char *)name; *p && a + 1 < sizeof ascii; p++)
		ascii[a++] = *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '%' ? (char)*p : '_';
	ascii[a] = '\0';
	for (const unsigned char *p = (const unsigned char *)name; *p && k + 4 < sizeof enc; p++) {
		if (isalnum(*p) || strchr("-._~", *p))
			enc[k++] = (char)*p;
		else
			k += (size_t)snprintf(enc + k, sizeof enc - k, "%%%02X", *p);
	}
	enc[k] = '\0';
	snprintf(out, n, "%s; filename=\"%s%s\"; filename*=UTF-8''%s%s", type, *ascii ? ascii : "document", ext,
	         *enc ? enc : "document", ext);
}

/*
 * The type a document's bytes are served as. Only types a browser shows
 * without running anything of the file's are served as themselves; HTML, SVG,
 * XML and everything else go as application/octet-stream (a download), so an
 * uploaded page can never run as this server's own.
 */
static const char *served_type(const struct doc_rec *d, int *inline_ok)
{
	static const char *const media[] = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp",
	                                    "image/avif", "application/pdf", "text/plain", "text/csv"};
	const char *m = d->mime ? d->mime : "";
	*inline_ok = 1;
	for (size_t i = 0; i < sizeof media / sizeof media[0]; i++)
		if (!strcmp(m, media[i]))
			return m;
	/* other text (Markdown, source code, ...) shows as plain text; markup
	 * that a browser would run or style does not */
	if (!strncmp(m, "text/", 5) && !strstr(m, "html") && !strstr(m, "xml") && !strstr(m, "script") &&
	    !strstr(m, "css"))
		return "text/plain";
	if (!strncmp(m, "audio/", 6) || !strncmp(m, "video/", 6)) {
		for (const char *p = m; *p; p++) /* a type from libmagic, but check: it goes into a header */
			if (!isalnum((unsigned char)*p) && !strchr("/.+-", *p))
				goto other;
		return m;
	}
other:
	*inline_ok = 0;
	return "application/octet-stream";
}

int files_parse_range(const char *h, uint64_t size, uint64_t *first, uint64_t *last)
{
	if (!h)
		return 0;
	while (*h == ' ')
		h++;
	if (strncasecmp(h, "bytes=", 6) != 0)
		return 0; /* a unit we do not know: ignored, as RFC 9110 says */
	h += 6;
	while (*h == ' ')
		h++;
	if (strchr(h, ','))
		return 0; /* several ranges: the whole file is a valid answer */
	char *end;
	if (*h == '-') { /* the last N bytes */
		if (!isdigit((unsigned char)h[1]))
			return -1;
		errno = 0;
		unsigned long long n = strtoull(h + 1, &end, 10);
		while (*end == ' ')
			end++;
		if (errno || *end || n == 0 || size == 0)
			return -1;
		*first = n >= size ? 0 : size - n;
		*last = size - 1;
		return 1;
	}
	if (!isdigit((unsigned char)*h))
		return -1;
	errno = 0;
	unsigned long long a = strtoull(h, &end, 10);
	if (errno || *end != '-')
		return -1;
	h = end + 1;
	unsigned long long b = size ? size - 1 : 0;
	if (isdigit((unsigned char)*h)) {
		b = strtoull(h, &end, 10);
		if (errno)
			return -1;
		h = end;
	}
	while (*h == ' ')
		h++;
	if (*h || b < a || a >= size)
		return -1;
	if (b >= size)
		b = size - 1;
	*first = a;
	*last = b;
	return 1;
}

/* ------------------------------------------------------------- the file */

enum MHD_Result files_original(server *s, struct MHD_Connection *c, int64_t id)
{
	struct doc_rec d;
	enum MHD_Result answered;
	if (doc_lookup(s, c, id, &d, &answered))
		return answered;
	int fd = open(d.path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		int e = fd < 0 ? errno : EISDIR;
		if (fd >= 0)
			close(fd);
		enum MHD_Result res = reply_error(c, 404, "the file of document %lld is gone from %s (%s)", (long long)id,
		                                  d.path, strerror(e));
		doc_rec_clear(&d);
		return res;
	}
	uint64_t size = (uint64_t)sb.st_size, first = 0, last = size ? size - 1 : 0;
	const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
	/* If-Range with another validator than ours: the whole file */
	const char *if_range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Range");
	char etag[80];
	snprintf(etag, sizeof etag, "\"%s-%" PRIu64 "\"", d.sha256[0] ? d.sha256 : "none", size);
	if (if_range && strcmp(if_range, etag) != 0)
		range = NULL;
	int pr = files_parse_range(range, size, &first, &last);
	if (pr < 0) {
		close(fd);
		char cr[64];
		snprintf(cr, sizeof cr, "bytes */%" PRIu64, size);
		char msg[256];
		int len = snprintf(msg, sizeof msg,
		                   "{\"error\":\"the range is outside the file (%" PRIu64 " bytes), or malformed\"}", size);
		struct MHD_Response *r = MHD_create_response_from_buffer((size_t)len, msg, MHD_RESPMEM_MUST_COPY);
		doc_rec_clear(&d);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
		MHD_add_response_header(r, "Content-Range", cr);
		MHD_add_response_header(r, "Accept-Ranges", "bytes");
		return reply_queue(c, 416, r);
	}
	uint64_t len = pr ? last - first + 1 : size;
	struct MHD_Response *r = MHD_create_response_from_fd_at_offset64(len, fd, pr ? first : 0);
	if (!r) {
		close(fd);
		doc_rec_clear(&d);
		return MHD_NO;
	}
	int inline_ok;
	const char *type = served_type(&d, &inline_ok);
	const char *dl = query_arg(c, "download");
	char disp[1600];
	files_disposition(inline_ok && !(dl && strcmp(dl, "0")) ? "inline" : "attachment", doc_name(&d), "", disp,
	            sizeof disp);
	if (!strcmp(type, "text/plain") || !strcmp(type, "text/csv")) {
		char t[64];
		snprintf(t, sizeof t, "%s; charset=utf-8", type);
		MHD_add_response_header(r, "Content-Type", t);
	} else {
		MHD_add_response_header(r, "Content-Type", type);
	}
	MHD_add_response_header(r, "Content-Disposition", disp);
	MHD_add_response_header(r, "Accept-Ranges", "bytes");
	MHD_add_response_header(r, "ETag", etag);
	MHD_add_response_header(r, "Cache-Control", "private, no-cache");
	/* nothing in a document runs as this origin (a PDF needs the browser's
	 * viewer, which a sandbox would refuse) */
	if (strcmp(type, "application/pdf") != 0)
		MHD_add_response_header(r, "Content-Security-Policy", "sandbox; default-src 'none'; img-src 'self'; "
		                                                      "media-src 'self'; style-src 'unsafe-inline'");
	if (pr) {
		char cr[96];
		snprintf(cr, sizeof cr, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last, size);
		MHD_add_response_header(r, "Content-Range", cr);
	}
	doc_rec_clear(&d);
	return reply_queue(c, pr ? 206 : 200, r);
}

/* ------------------------------------------------------------- thumbnails */

/* Long side of a thumbnail, in pixels. */
#define THUMB_SIDE 320
/* Images larger than this are not decoded for a thumbnail (3 bytes a pixel). */
#define THUMB_MAX_PIXELS (40ull * 1000 * 1000)

static pthread_mutex_t thumb_mu = PTHREAD_MUTEX_INITIALIZER; /* one thumbnail made at a time */
static pthread_mutex_t thumb_count_mu = PTHREAD_MUTEX_INITIALIZER;
static int thumb_waiting;                                     /* requests making or waiting to make one */

/* The first frame file of a video's dossier (under frames_dir), or "". */
static void first_frame(server *s, int64_t id, char *out, size_t n)
{
	out[0] = '\0';
	struct err e = {0};
	store *st = pool_get(s, &e);
	if (!st)
		return;
	char *text = NULL;
	int rc = store_dossier_get(st, id, &text, &e);
	pool_put(s, st);
	if (rc)
		return;
	json_error_t je;
	json_t *dj = json_loads(text, 0, &je);
	free(text);
	json_t *frames = json_object_get(dj, "frames");
	/* the frame a third of the way in: the first is often black */
	size_t count = json_array_size(frames);
	const char *file = json_string_value(json_object_get(json_array_get(frames, count / 3), "file"));
	char real[PATH_MAX], root[PATH_MAX];
	if (file && realpath(file, real) && realpath(s->frames_dir, root) && !strncmp(real, root, strlen(root)) &&
	    real[strlen(root)] == '/')
		snprintf(out, n, "%s", real);
	json_decref(dj);
}

/* Makes the thumbnail of d into `dest` (a JPEG). DOSSIER_EUNSUPPORTED for a
 * kind without a picture. */
static int thumb_make(server *s, const struct doc_rec *d, const char *dest, struct err *err)
{
	struct image *img = NULL, *small = NULL;
	int rc;
	if (!strcmp(d->kind, "image")) {
		rc = image_load(d->path, THUMB_MAX_PIXELS, &img, NULL, err);
	} else if (!strcmp(d->kind, "video")) {
		char frame[PATH_MAX];
		first_frame(s, d->id, frame, sizeof frame);
		if (!*frame)
			return err_set(err, DOSSIER_ENOTFOUND, "document %lld has no frames (yet)", (long long)d->id);
		rc = image_load(frame, THUMB_MAX_PIXELS, &img, NULL, err);
	} else if (!strcmp(d->kind, "pdf")) {
		pdf_doc *pdf = NULL;
		rc = pdf_open(d->path, &pdf, err);
		if (!rc)
			rc = pdf_page_render_fit(pdf, 0, 48, 4e6, 2 * THUMB_SIDE, &img, NULL, err);
		pdf_close(pdf);
	} else {
		return err_set(err, DOSSIER_EUNSUPPORTED, "a %s document has no thumbnail", d->kind);
	}
	if (rc)
		return rc;
	rc = image_resize_long_side(img, THUMB_SIDE, &small, err);
	image_free(img);
	if (rc)
		return rc;
	unsigned char *jpg = NULL;
	size_t len = 0;
	rc = image_encode_jpeg(small, 80, &jpg, &len, err);
	image_free(small);
	if (rc)
		return rc;
	char tmp[PATH_MAX];
	snprintf(tmp, sizeof tmp, "%s.partial-%d", dest, (int)getpid());
	FILE *f = fopen(tmp, "wb");
	int ok = f && fwrite(jpg, 1, len, f) == len;
	if (f && fclose(f) != 0)
		ok = 0;
	free(jpg);
	if (!ok || rename(tmp, dest) != 0) {
		int e = errno;
		unlink(tmp);
		return err_set(err, DOSSIER_EIO, "cannot write the thumbnail %s: %s", dest, strerror(e));
	}
	return 0;
}

enum MHD_Result files_thumbnail(server *s, struct MHD_Connection *c, int64_t id)
{
	struct doc_rec d;
	enum MHD_Result answered;
	if (doc_lookup(s, c, id, &d, &answered))
		return answered;
	if (strcmp(d.kind, "image") && strcmp(d.kind, "video") && strcmp(d.kind, "pdf")) {
		enum MHD_Result res = reply_error(c, 404, "a %s document has no thumbnail (images, videos and PDFs have "
		                                  "one)", d.kind);
		doc_rec_clear(&d);
		return res;
	}
	if (!d.sha256[0]) {
		doc_rec_clear(&d);
		return reply_error(c, 404, "document %lld could not be read, so it has no thumbnail", (long long)id);
	}
	char dir[PATH_MAX + 8], path[PATH_MAX + 96];
	snprintf(dir, sizeof dir, "%s/thumbs", s->data_dir);
	snprintf(path, sizeof path, "%s/%s-%d.jpg", dir, d.sha256, THUMB_SIDE);
	struct err e = {0};
	int rc = 0;
	if (access(path, R_OK) != 0) {
		/* at most half the server's threads wait here: the rest go on
		 * answering while a page of fifty new thumbnails is made */
		int cap = s->p.threads / 2 > 0 ? s->p.threads / 2 : 1;
		pthread_mutex_lock(&thumb_count_mu);
		int busy = thumb_waiting >= cap;
		if (!busy)
			thumb_waiting++;
		pthread_mutex_unlock(&thumb_count_mu);
		if (busy) {
			doc_rec_clear(&d);
			char msg[] = "{\"error\":\"busy making other thumbnails; try again in a second\"}";
			struct MHD_Response *r = MHD_create_response_from_buffer(strlen(msg), msg, MHD_RESPMEM_MUST_COPY);
			if (!r)
				return MHD_NO;
			MHD_add_response_header(r, "Content-Type", "application/json; charset=utf-8");
			MHD_add_response_header(r, "Retry-After", "1");
			return reply_queue(c, 503, r);
		}
		pthread_mutex_lock(&thumb_mu);
		if (access(path, R_OK) != 0) { /* another request may have made it meanwhile */
			rc = mkdir_p(dir, &e);
			if (!rc)
				rc = thumb_make(s, &d, path, &e);
		}
		pthread_mutex_unlock(&thumb_mu);
		pthread_mutex_lock(&thumb_count_mu);
		thumb_waiting--;
		pthread_mutex_unlock(&thumb_count_mu);
	}
	doc_rec_clear(&d);
	if (rc)
		return reply_error(c, rc == DOSSIER_ENOTFOUND || rc == DOSSIER_EUNSUPPORTED ? 404
		                      : rc == DOSSIER_EFORMAT || rc == DOSSIER_ETOOBIG ? 415 : 500,
		                   "no thumbnail for document %lld: %s", (long long)id, e.msg);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0) {
		if (fd >= 0)
			close(fd);
		return reply_error(c, 500, "cannot read the thumbnail %s", path);
	}
	struct MHD_Response *r = MHD_create_response_from_fd((uint64_t)sb.st_size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", "image/jpeg");
	MHD_add_response_header(r, "Cache-Control", "private, max-age=86400");
	return reply_queue(c, 200, r);
}

/* ----------------------------------------------------------------- export */

enum MHD_Result files_export(server *s, struct MHD_Connection *c, int64_t id)
{
	const char *fmt = query_arg(c, "format");
	if (!fmt || !*fmt)
		fmt = "md";
	int f = !strcmp(fmt, "md") ? 0 : !strcmp(fmt, "srt") ? 1 : !strcmp(fmt, "vtt") ? 2 : !strcmp(fmt, "json") ? 3 : -1;
	if (f < 0)
		return reply_error(c, 400, "format must be md, srt, vtt or json");
	struct doc_rec d;
	enum MHD_Result answered;
	if (doc_lookup(s, c, id, &d, &answered))
		return answered;
	struct err e = {0};
	store *st = pool_get(s, &e);
	char *text = NULL;
	int rc = st ? store_dossier_get(st, id, &text, &e) : DOSSIER_EDB;
	pool_put(s, st);
	if (rc) {
		doc_rec_clear(&d);
		if (rc == DOSSIER_ENOTFOUND)
			return reply_error(c, 404, "document %lld has no dossier yet", (long long)id);
		return reply_error(c, 500, "%s", e.msg);
	}
	json_error_t je;
	json_t *dj = json_loads(text, 0, &je);
	free(text);
	char *out = NULL;
	if (dj)
		out = f == 0 ? dossier_to_markdown(dj)
		      : f == 3 ? json_dumps(dj, JSON_INDENT(2))
		               : dossier_transcript_subtitles(dj, f == 1);
	json_decref(dj);
	if (!out) {
		doc_rec_clear(&d);
		if (f == 1 || f == 2)
			return reply_error(c, 404, "document %lld has no transcript, so no subtitles", (long long)id);
		return reply_error(c, 500, "cannot render the dossier of document %lld", (long long)id);
	}
	static const char *const types[] = {"text/markdown; charset=utf-8", "application/x-subrip; charset=utf-8",
	                                    "text/vtt; charset=utf-8", "application/json; charset=utf-8"};
	static const char *const exts[] = {".md", ".srt", ".vtt", ".json"};
	char name[300], disp[1600];
	snprintf(name, sizeof name, "%s", doc_name(&d));
	char *dot = strrchr(name, '.');
	if (dot && dot != name)
		*dot = '\0';
	files_disposition("attachment", name, exts[f], disp, sizeof disp);
	doc_rec_clear(&d);
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(out), out, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(out);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", types[f]);
	MHD_add_response_header(r, "Content-Disposition", disp);
	MHD_add_response_header(r, "Cache-Control", "no-store");
	return reply_queue(c, 200, r);
}
