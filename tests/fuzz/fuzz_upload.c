/*
 * fuzz_upload.c — libFuzzer target for POST /api/documents as the server
 * runs it, less the socket: the guards (Host, Origin, Sec-Fetch-Site, the
 * token; src/server/request.c) and the upload path (limits, Content-Type,
 * X-Filename, the multipart reader, the temp file, the content-addressed
 * rename, the reply; src/server/upload.c), into a real temp directory.
 *
 * Input: byte 0 picks the chunk size, byte 1 the server (bit 0: a token is
 * set, bit 1: --allow-host files.lan, bit 2: --max-upload of 300 bytes
 * instead of 64 KB, bit 3: every upload slot taken); then header lines
 * "Name: value\n" up to an empty line ("?token=..." is the query's token),
 * then the body. Each input is sent twice, the body whole and in chunks,
 * into an emptied uploads directory: the two replies must be the same
 * status and the same JSON text, a 2xx must have passed the token and
 * leave exactly one file, named by the SHA-256 of its content, every other
 * reply none, no temp file may stay and the upload slot must be given back.
 *
 * Replaced: upload_record (what the store makes of the stored file: the
 * ingest through libmagic and the pipeline's kind table, which would bring
 * the whole analysis tree into this build) by a stand-in that checks what it
 * is handed and answers as the store would; metrics_count and server_log
 * (in metrics.c and server.c, which need libmicrohttpd and the scheduler).
 * Built and run by tests/fuzz/run.sh.
 */
#include "server/internal.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------- stand-ins */

void metrics_count(server *s, uint64_t *field, int delta)
{
	pthread_mutex_lock(&s->m.mu);
	*field += (uint64_t)delta;
	pthread_mutex_unlock(&s->m.mu);
}

void server_log(server *s, const char *fmt, ...)
{
	(void)s;
	(void)fmt;
}

void doc_rec_clear(struct doc_rec *d)
{
	free(d->path);
	free(d->mime);
	free(d->error);
	free(d->name);
	memset(d, 0, sizeof *d);
}

static int64_t next_id;

/* 1 if s is UTF-8 without control characters (upload_display_name's promise). */
static int clean_name(const char *s)
{
	size_t left = strlen(s), k;
	while (left) {
		uint32_t cp = utf8_decode(s, left, &k);
		if (!k || cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0x2028 || cp == 0x2029)
			return 0;
		s += k;
		left -= k;
	}
	return 1;
}

int upload_record(server *s, const char *path, const char *filename, int named, struct doc_rec *d, int *queued,
                  int *unsupported, struct err *err)
{
	(void)err;
	memset(d, 0, sizeof *d);
	size_t ul = strlen(s->uploads_dir);
	struct stat sb;
	/* the file is in the uploads directory, under its hash, and not empty */
	if (strncmp(path, s->uploads_dir, ul) != 0 || path[ul] != '/' || strlen(path + ul + 1) < 64 ||
	    stat(path, &sb) != 0 || sb.st_size <= 0 || !clean_name(filename) || strlen(filename) > 255)
		abort();
	const char *base = path + ul + 1, *ext = base[64] == '.' ? base + 65 : "";
	d->id = ++next_id;
	d->path = xstrdup(path);
	memcpy(d->sha256, base, 64);
	d->bytes = sb.st_size;
	int text = !strcmp(ext, "txt") || !strcmp(ext, "md");
	snprintf(d->kind, sizeof d->kind, "%s", text ? "text" : *ext ? "image" : "unsupported");
	d->mime = xstrdup(text ? "text/plain" : "application/octet-stream");
	snprintf(d->status, sizeof d->status, "%s", *ext ? "queued" : "unsupported");
	if (named)
		d->name = xstrdup(filename);
	*queued = *ext != 0;
	*unsupported = !*ext;
	return 0;
}

/* ---------------------------------------------------- the request */

#define MAX_HEADERS 32

struct req {
	const char *name[MAX_HEADERS], *value[MAX_HEADERS];
	int n;
	const char *token; /* ?token= */
};

static const char *get_header(void *user, const char *name)
{
	struct req *r = user;
	for (int i = 0; i < r->n; i++)
		if (!strcasecmp(r->name[i], name))
			return r->value[i];
	return NULL;
}

static const char *get_query(void *user, const char *key)
{
	struct req *r = user;
	return !strcmp(key, "token") ? r->token : NULL;
}

static server srv;

static void empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		abort();
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		char p[PATH_MAX + 300];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
}

/* The files in the uploads directory: how many, and is each named by the
 * SHA-256 of its content (no temp file left)? */
static int stored_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		abort();
	struct dirent *de;
	int n = 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' && (!de->d_name[1] || (de->d_name[1] == '.' && !de->d_name[2])))
			continue;
		if (!strncmp(de->d_name, ".partial-", 9))
			abort(); /* a temp file outlived its upload */
		char p[PATH_MAX + 300], hex[65];
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		FILE *f = fopen(p, "rb");
		if (!f)
			abort();
		struct sha256 h;
		sha256_init(&h);
		char buf[4096];
		size_t k;
		while ((k = fread(buf, 1, sizeof buf, f)) > 0)
			sha256_update(&h, buf, k);
		fclose(f);
		sha256_final_hex(&h, hex);
		if (strncmp(de->d_name, hex, 64) != 0)
			abort(); /* stored under a name that is not its content's */
		n++;
	}
	closedir(d);
	return n;
}

/* One request: the guards, then the upload; the reply's status, its JSON into *text. */
static unsigned send_request(struct req *rq, const char *body, size_t n, size_t chunk, char **text)
{
	empty_dir(srv.uploads_dir);
	next_id = 0;
	int slots = srv.uploads_active;
	struct req_in in = {.method = "POST", .header = get_header, .query = get_query, .user = rq};
	struct reply_out o = {0};
	struct upload *up = NULL;
	if (!request_guard(&srv, &in, 0, &o) && !upload_begin(&srv, &in, &up, &o)) {
		int cut = 0;
		for (size_t i = 0; i < n && !cut; i += chunk)
			cut = upload_data(up, body + i, n - i < chunk ? n - i : chunk) != 0;
		if (cut) /* the server drops the connection: no reply */
			reply_out_error(&o, 499, "cut off");
		else
			upload_finish(&srv, up, &o);
	}
	upload_free(up);
	if (srv.uploads_active != slots || !o.status || !o.body)
		abort(); /* a slot not given back, or no reply */
	*text = reply_out_text(&o);
	unsigned status = o.status;
	/* a document's reply (the file was kept) or an error's */
	int kept = json_object_get(o.body, "id") != NULL;
	if (!json_is_object(o.body) || (kept && status != 200 && status != 201 && status != 415 && status != 422) ||
	    (!kept && (status < 400 || !json_is_string(json_object_get(o.body, "error")))))
		abort();
	if (stored_files(srv.uploads_dir) != kept)
		abort();
	reply_out_clear(&o);
	return status;
}

static void cleanup(void)
{
	empty_dir(srv.uploads_dir);
	rmdir(srv.uploads_dir);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(srv.uploads_dir, sizeof srv.uploads_dir, "%s/fuzz-upload-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(srv.uploads_dir))
		abort();
	atexit(cleanup);
	pthread_mutex_init(&srv.pool_mu, NULL);
	pthread_mutex_init(&srv.m.mu, NULL);
	srv.port = 8080;
	snprintf(srv.url, sizeof srv.url, "http://127.0.0.1:8080");
	srv.p.max_uploads = 8;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!srv.uploads_dir[0])
		setup();
	if (size < 2)
		return 0;
	size_t chunk = 1 + data[0];
	int flags = data[1];
	snprintf(srv.token, sizeof srv.token, "%s", flags & 1 ? "t0k3n" : "");
	snprintf(srv.allow_hosts, sizeof srv.allow_hosts, "%s", flags & 2 ? "files.lan" : "");
	srv.p.max_upload_bytes = flags & 4 ? 300 : 64 * 1024;
	srv.uploads_active = flags & 8 ? srv.p.max_uploads : 0;

	/* the header lines, into a NUL-separated copy */
	char *copy = malloc(size - 1);
	memcpy(copy, data + 2, size - 2);
	copy[size - 2] = '\0';
	struct req rq = {.n = 0};
	size_t off = 0, len = size - 2;
	const char *body = NULL;
	while (off < len) {
		char *line = copy + off, *nl = memchr(line, '\n', len - off);
		if (!nl)
			break;
		*nl = '\0';
		off = (size_t)(nl - copy) + 1;
		if (!*line) {
			body = (const char *)data + 2 + off;
			break;
		}
		if (!strncmp(line, "?token=", 7)) {
			rq.token = line + 7;
			continue;
		}
		char *colon = strchr(line, ':');
		if (!colon || rq.n == MAX_HEADERS)
			continue;
		*colon = '\0';
		char *v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		rq.name[rq.n] = line;
		rq.value[rq.n++] = v;
	}
	if (!body) {
		free(copy);
		return 0;
	}
	size_t n = size - (size_t)(body - (const char *)data);
	char *t1 = NULL, *t2 = NULL;
	unsigned s1 = send_request(&rq, body, n, n ? n : 1, &t1);
	unsigned s2 = send_request(&rq, body, n, chunk, &t2);
	if (getenv("FUZZ_UPLOAD_TRACE")) /* to read what an input gets */
		fprintf(stderr, "%u %s\n%u %s\n", s1, t1 ? t1 : "", s2, t2 ? t2 : "");
	if (s1 != s2 || !t1 || !t2 || strcmp(t1, t2) != 0)
		abort(); /* the reply depends on how the body arrived */
	/* a file was taken only from a client that has the token */
	if (*srv.token && s1 < 300) {
		const char *a = get_header(&rq, "Authorization");
		int has = (rq.token && !strcmp(rq.token, srv.token)) || (a && strstr(a, srv.token));
		if (!has)
			abort();
	}
	free(t1);
	free(t2);
	free(copy);
	return 0;
}
