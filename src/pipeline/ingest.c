#include "pipeline/ingest.h"
#include "pipeline/ingest_decide.h"
#include "core/err.h"
#include "core/util.h"

#include <dirent.h>
#include <stdint.h>
#include <stdarg.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* (device, inode) pairs already seen in this walk: an open-addressing hash
 * set, so a walk of n files costs O(n), not O(n^2). */
struct seen {
	struct {
		dev_t dev;
		ino_t ino;
		int used;
	} *v;
	size_t n, cap;   /* cap: 0 or a power of two */
};

static size_t seen_hash(dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * UINT64_C(0x9E3779B97F4A7C15) ^ (uint64_t)dev * UINT64_C(0xC2B2AE3D27D4EB4F);
	return (size_t)(h ^ (h >> 29));
}

/* 1 if the pair was new (and is now recorded), 0 if seen before. */
static int seen_add(struct seen *s, const struct stat *st)
{
	if (2 * (s->n + 1) > s->cap) {
		size_t ncap = s->cap ? 2 * s->cap : 64;
		void *nv = calloc(ncap, sizeof *s->v);
		if (!nv)
			abort();
		struct seen grown = {nv, 0, ncap};
		for (size_t i = 0; i < s->cap; i++)
			if (s->v[i].used) {
				size_t j = seen_hash(s->v[i].dev, s->v[i].ino) & (ncap - 1);
				while (grown.v[j].used)
					j = (j + 1) & (ncap - 1);
				grown.v[j] = s->v[i];
				grown.n++;
			}
		free(s->v);
		*s = grown;
	}
	size_t j = seen_hash(st->st_dev, st->st_ino) & (s->cap - 1);
	for (; s->v[j].used; j = (j + 1) & (s->cap - 1))
		if (s->v[j].dev == st->st_dev && s->v[j].ino == st->st_ino)
			return 0;
	s->v[j].dev = st->st_dev;
	s->v[j].ino = st->st_ino;
	s->v[j].used = 1;
	s->n++;
	return 1;
}

/* A large ingest commits its inserts BATCH_FILES at a time (or every
 * BATCH_SECONDS, whichever comes first); the events announcing them are held
 * and published once their batch committed. */
#define BATCH_FILES 200
#define BATCH_SECONDS 0.25
#define BATCH_BIG_FILE (4 << 20) /* bytes: a larger file is hashed with no batch open */

struct walk {
	store *st;
	classifier *cls;
	bus *bus;
	struct ingest_stats *stats;
	const struct ingest_opts *opts; /* may be NULL */
	struct seen files, dirs;
	struct err *err;
	char root[PATH_MAX];           /* the named folder being walked: links may not leave it */
	char db[PATH_MAX];             /* the store's own file, resolved; "" if unknown */
	int batching;                  /* 1: commit inserts in batches (a walk) */
	int n_batch;                   /* files ingested in the open batch */
	double batch_t0;               /* when the open batch began (monotonic s) */
	struct event **held;           /* owned refs: the open batch's events, published after its commit */
	int flush_rc;                  /* a batch commit that failed where no caller could return it */
	size_t n_held, cap_held;
};

/* Commits the open batch, then publishes its events (cancels them when the
 * commit failed). Returns 0 or the store's error. */
static int batch_flush(struct walk *w)
{
	if (!store_in_batch(w->st))
		return 0;
	int rc = store_batch_commit(w->st, w->err);
	for (size_t i = 0; i < w->n_held; i++) {
		if (rc)
			bus_event_cancel(w->bus, w->held[i]);
		else
			bus_event_publish(w->bus, w->held[i]);
	}
	w->n_held = 0;
	w->n_batch = 0;
	return rc;
}

/* Opens a batch if this walk batches and none is open (on failure it goes on
 * without: every file in its own transaction). */
static void batch_open(struct walk *w)
{
	bus_seq_prefetch(w->bus, w->batching ? BATCH_FILES + 16 : 16);
	if (!w->batching || store_in_batch(w->st))
		return;
	if (store_batch_begin(w->st, NULL) == 0)
		w->batch_t0 = (double)clock_mono_ms() / 1000.0;
}

/* Holds ev (a reference the caller gives) until the batch commits, or
 * publishes it now outside a batch. */
static void batch_announce(struct walk *w, struct event *ev)
{
	if (!store_in_batch(w->st)) {
		bus_event_publish(w->bus, ev);
		return;
	}
	if (w->n_held == w->cap_held) {
		w->cap_held = w->cap_held ? 2 * w->cap_held : 256;
		void *nv = realloc(w->held, w->cap_held * sizeof *w->held);
		if (!nv)
			abort();
		w->held = nv;
	}
	w->held[w->n_held++] = ev;
}

/* 1 if real is the store's database or one of its companion files. */
static int is_store_file(const struct walk *w, const char *real)
{
	static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
	size_t n = strlen(w->db);
	if (!n || strncmp(real, w->db, n))
		return 0;
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++)
		if (!strcmp(real + n, suffixes[i]))
			return 1;
	return 0;
}

static void warn(struct walk *w, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn(struct walk *w, const char *path, const char *fmt, ...)
{
	char msg[PATH_MAX + 256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* a warning takes a seq too: never inside the batch, whose seqs were counted */
	int rc = batch_flush(w);
	if (rc && !w->flush_rc)
		w->flush_rc = rc;
	bus_seq_prefetch(w->bus, 16);
	bus_emit(w->bus, "ingest_warning", 0,
	         json_pack("{s:o,s:o}", "path", json_string_lossy(path), "message", json_string_lossy(msg)));
}

/* 1 if real (a resolved path) is root or inside it. */
static int path_within(const char *real, const char *root)
{
	size_t n = strlen(root);
	if (n == 1 && root[0] == '/')
		return 1;
	return !strncmp(real, root, n) && (real[n] == '\0' || real[n] == '/');
}

/* Kernel-made files (/proc, /sys, /dev) are not documents: reading them can
 * hang, never end, or expose another process's memory. */
static int virtual_path(const char *real)
{
	return path_within(real, "/proc") || path_within(real, "/sys") || path_within(real, "/dev");
}

static const char *file_type_name(mode_t m)
{
	return S_ISFIFO(m) ? "a named pipe (FIFO)" : S_ISSOCK(m) ? "a socket" : S_ISCHR(m) ? "a character device"
	       : S_ISBLK(m) ? "a block device" : "not a regular file";
}

static int fail_doc(struct walk *w, const char *path, const struct stat *sb, const char *mime,
                    const char *kind, const char *status, const char *msg, int64_t *id_out)
{
	struct doc_input in = {.path = path, .sha256 = "", .mime = mime, .kind = kind,
	                       .bytes = sb ? sb->st_size : 0, .mtime = sb ? sb->st_mtime : 0,
	                       .status = status, .error = msg};
	int64_t id;
	enum ingest_outcome o;
	/* its event is emitted at once: the batch before it commits first */
	int rc = batch_flush(w);
	if (rc)
		return rc;
	bus_seq_prefetch(w->bus, 16);
	if ((rc = ingest_decide(w->st, &in, NULL, 0, &id, &o, w->err)))
		return rc;
	if (id_out)
		*id_out = id;
	if (!strcmp(status, "unsupported")) {
		w->stats->unsupported++;
		bus_emit(w->bus, "document_unsupported", id, json_pack("{s:o,s:s,s:o}", "path", json_string_lossy(path), "mime", mime, "message", json_string_lossy(msg)));
	} else {
		w->stats->failed++;
		bus_emit(w->bus, "document_failed", id, json_pack("{s:o,s:o}", "path", json_string_lossy(path), "error", json_string_lossy(msg)));
	}
	return 0;
}

/* The event that announces an ingest outcome, stored in the ingest's own
 * transaction (announce_tx) and published once it committed. */
struct announce {
	bus *b;
	const char *path;
	const struct file_type *ft;
	int64_t bytes;
	size_t n_steps;
	struct event *ev;              /* reserved inside the transaction */
};

static int announce_tx(store *st, int64_t id, enum ingest_outcome o, void *user)
{
	struct announce *a = user;
	json_t *fields;
	const char *name;
	if (o == INGEST_UNCHANGED || o == INGEST_MOVED) {
		name = o == INGEST_UNCHANGED ? "document_unchanged" : "document_moved";
		fields = json_pack("{s:o}", "path", json_string_lossy(a->path));
	} else if (o == INGEST_DUPLICATE) {
		struct doc_rec d;
		int64_t original = 0;
		if (store_doc_get(st, id, &d, NULL) == 0) {
			original = d.same_as;
			doc_rec_clear(&d);
		}
		name = "document_duplicate";
		fields = json_pack("{s:o,s:I}", "path", json_string_lossy(a->path), "same_as", (json_int_t)original);
	} else {
		name = "document_queued";
		fields = json_pack("{s:o,s:s,s:s,s:I,s:s,s:i}", "path", json_string_lossy(a->path), "kind", a->ft->kind,
		                   "mime", a->ft->mime, "bytes", (json_int_t)a->bytes, "reason", ingest_outcome_name(o),
		                   "steps", (int)a->n_steps);
	}
	if (bus_event_new(a->b, name, id, fields, &a->ev) || !a->ev)
		return 0; /* no memory for the event: the ingest itself still counts */
	struct store_event se = store_event_of(a->ev);
	return store_events_put(st, &se, 1, NULL);
}

static int ingest_one(struct walk *wk, const char *path, int64_t *id_out)
{
	struct walk *w = wk;
	store *st = w->st;
	classifier *cls = w->cls;
	bus *b = w->bus;
	struct ingest_stats *stats = w->stats;
	struct err *err = w->err;
	struct stat sb;
	struct err e = {0};
	char sha[65], msg[ERR_MSG_MAX + 64];
	struct file_type ft;

	*id_out = 0;
	if (stat(path, &sb) != 0) {
		snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno));
		return fail_doc(w, path, NULL, "", "unsupported", "failed", msg, id_out);
	}
	/* hashing a large file takes a while: the open batch does not hold the write lock meanwhile */
	if (sb.st_size > BATCH_BIG_FILE) {
		int rc = batch_flush(w);
		if (rc)
			return rc;
	}
	if (sha256_file(path, sha, &e)) {
		snprintf(msg, sizeof msg, "%s%s", e.msg,
		         e.code == DOSSIER_EPERM ? " (check the file's permissions, e.g. chmod a+r)" : "");
		return fail_doc(w, path, &sb, "", "unsupported", "failed", msg, id_out);
	}
	if (classify_file(cls, path, &ft, &e)) {
		return fail_doc(w, path, &sb, "", "unsupported", "failed", e.msg, id_out);
	}
	if (!strcmp(ft.kind, "unsupported")) {
		snprintf(msg, sizeof msg, "%s: %s files are not supported (recorded, not analysed)", path, ft.mime);
		int rc = fail_doc(w, path, &sb, ft.mime, "unsupported", "unsupported", msg, id_out);
		return rc;
	}
	size_t n_steps;
	const struct step_decl *steps = pipeline_steps(ft.kind, &n_steps);
	struct doc_input in = {.path = path, .sha256 = sha, .mime = ft.mime, .kind = ft.kind,
	                       .bytes = sb.st_size, .mtime = sb.st_mtime};
	enum ingest_outcome o;
	struct announce an = {b, path, &ft, sb.st_size, n_steps, NULL};
	batch_open(w);
	int rc = ingest_decide_announced(st, &in, steps, n_steps, announce_tx, &an, id_out, &o, err);
	if (an.ev) {
		if (rc)
			bus_event_cancel(b, an.ev);
		else
			batch_announce(w, an.ev);
	}
	if (rc)
		return rc;
	/* a library on a database server keeps the bytes too: its workers on
	 * other machines cannot open this path (store/contents.c) */
	if (store_is_server(store_location(st)) && (rc = store_content_put(st, sha, path, err)))
		return rc;
	if (store_in_batch(st) && (++w->n_batch >= BATCH_FILES ||
	                           (double)clock_mono_ms() / 1000.0 - w->batch_t0 >= BATCH_SECONDS) &&
	    (rc = batch_flush(w)))
		return rc;
	if ((o == INGEST_UNCHANGED || o == INGEST_MOVED) && w->opts && w->opts->on_known)
		w->opts->on_known(*id_out, w->opts->user);
	switch (o) {
	case INGEST_UNCHANGED:
		stats->unchanged++;
		break;
	case INGEST_MOVED:
		stats->moved++;
		break;
	case INGEST_RETRY:
		stats->retried++;
		break;
	case INGEST_DUPLICATE:
		stats->duplicates++;
		break;
	default:
		stats->queued++;
		break;
	}
	return 0;
}

int ingest_file(store *st, classifier *cls, bus *b, const char *path,
                struct ingest_stats *stats, int64_t *id_out, struct err *err)
{
	struct walk w = {.st = st, .cls = cls, .bus = b, .stats = stats, .err = err};
	return ingest_one(&w, path, id_out);
}

static int walk_path(struct walk *w, const char *path, int explicit_name);

static int walk_dir(struct walk *w, const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		warn(w, dir, "%s: cannot read the folder: %s; skipped (check its permissions)", dir, strerror(errno));
		w->stats->failed++;
		return 0;
	}
	/* sorted, so runs are repeatable and documents are queued in name order */
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue; /* ".", "..", and hidden entries */
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			char **nn = realloc(names, cap * sizeof *names);
			if (!nn)
				abort();
			names = nn;
		}
		names[n++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (n > 1)
		qsort(names, n, sizeof *names, strcmp_p);
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char *child = path_join(dir, names[i]);
		if (!rc)
			rc = walk_path(w, child, 0);
		free(child);
		free(names[i]);
	}
	free(names);
	return rc;
}

static int walk_path(struct walk *w, const char *path, int explicit_name)
{
	struct stat sb;
	if (stat(path, &sb) != 0) {
		struct stat lsb;
		char msg[PATH_MAX + 128];
		if (lstat(path, &lsb) == 0 && S_ISLNK(lsb.st_mode))
			snprintf(msg, sizeof msg, "%s: broken or looping symbolic link (%s); skipped", path, strerror(errno));
		else
			snprintf(msg, sizeof msg, "%s: %s", path, strerror(errno));
		warn(w, path, "%s", msg);
		if (explicit_name)
			w->stats->failed++;
		return 0;
	}
	char real[PATH_MAX];
	if (!realpath(path, real))
		snprintf(real, sizeof real, "%s", path);
	if (explicit_name && S_ISDIR(sb.st_mode))
		snprintf(w->root, sizeof w->root, "%s", real);
	if (!explicit_name && *w->root && !path_within(real, w->root)) {
		/* a link out of the folder: following it would analyse (and record
		 * under that name) files the user did not point at */
		warn(w, path, "%s: a symbolic link to %s, outside %s; not followed (name it directly to analyse it)",
		     path, real, w->root);
		return 0;
	}
	if (is_store_file(w, real)) {
		if (explicit_name)
			warn(w, path, "%s: this is dossier's own database; skipped", path);
		return 0; /* the database in the analysed folder is not a document of it */
	}
	if (virtual_path(real)) {
		warn(w, path, "%s: %s is a kernel file (/proc, /sys or /dev), not a document; skipped", path, real);
		if (explicit_name)
			w->stats->failed++;
		return 0;
	}
	if (S_ISDIR(sb.st_mode)) {
		if (!seen_add(&w->dirs, &sb)) {
			warn(w, path, "%s: folder already visited (a symbolic-link loop?); not entered again", path);
			return 0;
		}
		return walk_dir(w, real);
	}
	if (!S_ISREG(sb.st_mode)) {
		warn(w, path, "%s: %s; skipped", path, file_type_name(sb.st_mode));
		if (explicit_name)
			w->stats->failed++;
		return 0;
	}
	if (!seen_add(&w->files, &sb))
		return 0; /* the same file named twice is one document */
	int64_t id;
	return ingest_one(w, real, &id);
}

int ingest_paths(store *st, classifier *cls, bus *b, char *const *paths, int n,
                 struct ingest_stats *stats, struct err *err)
{
	return ingest_paths_opts(st, cls, b, paths, n, NULL, stats, err);
}

int ingest_paths_opts(store *st, classifier *cls, bus *b, char *const *paths, int n, const struct ingest_opts *opts,
                      struct ingest_stats *stats, struct err *err)
{
	struct walk w = {.st = st, .cls = cls, .bus = b, .stats = stats, .opts = opts, .err = err, .batching = 1};
	int rc = 0;
	const char *db = store_location(st);
	if (!db || !realpath(db, w.db))
		w.db[0] = '\0';
	for (int i = 0; i < n && !rc; i++) {
		w.root[0] = '\0';
		rc = walk_path(&w, paths[i], 1);
	}
	int frc = batch_flush(&w);
	if (!rc)
		rc = frc ? frc : w.flush_rc;
	free(w.held);
	free(w.files.v);
	free(w.dirs.v);
	return rc;
}
