/*
 * forget.c — forgetting a document and the files dossier kept for it.
 */
#define _XOPEN_SOURCE 700
#include "pipeline/forget.h"
#include "core/err.h"
#include "core/util.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void forget_stats_clear(struct forget_stats *s)
{
	if (!s)
		return;
	free(s->path);
	free(s->moved_to);
	memset(s, 0, sizeof *s);
}

void forget_stats_describe(const struct forget_stats *s, char *out, size_t n)
{
	size_t u = 0;
#define PART(...) u += (size_t)snprintf(out + u, u < n ? n - u : 0, __VA_ARGS__)
	if (!n)
		return;
	out[0] = '\0';
	if (s->moved_to) {
		PART("its dossier now belongs to the copy at %s", s->moved_to);
		return;
	}
	PART("%s", s->had_dossier ? "dossier" : "no dossier yet");
	PART(", %d step%s", s->steps, s->steps == 1 ? "" : "s");
	if (s->frame_files)
		PART(", %d frame file%s", s->frame_files, s->frame_files == 1 ? "" : "s");
	if (s->ocr_files)
		PART(", %d OCR page%s", s->ocr_files, s->ocr_files == 1 ? "" : "s");
	if (s->kept_shared)
		PART(", frames kept for a copy with the same content");
	if (s->upload_removed)
		PART(", the uploaded file");
	if (s->children)
		PART(", %d document%s found inside it", s->children, s->children == 1 ? "" : "s");
	if (s->copies)
		PART(", the record%s of %d cop%s", s->copies == 1 ? "" : "s", s->copies, s->copies == 1 ? "y" : "ies");
	if (s->bytes_freed) {
		char sz[32];
		size_format(s->bytes_freed, sz, sizeof sz);
		PART("; %s freed", sz);
	}
#undef PART
}

/* data_dir made absolute and free of symbolic links when it exists */
static void real_dir(const char *data_dir, char *out, size_t n)
{
	char real[PATH_MAX];
	snprintf(out, n, "%s", realpath(data_dir, real) ? real : data_dir);
	size_t len = strlen(out);
	while (len > 1 && out[len - 1] == '/')
		out[--len] = '\0';
}

/* 1 if path is a child document's bytes: <data_dir>/blobs/XX/<name>. */
static int is_blob(const char *data_dir, const char *path)
{
	char dir[PATH_MAX + 16];
	real_dir(data_dir, dir, PATH_MAX);
	strcat(dir, "/blobs/");
	size_t n = strlen(dir);
	if (!path || strncmp(path, dir, n) || strlen(path + n) < 4 || path[n + 2] != '/')
		return 0;
	return !strchr(path + n + 3, '/');
}

struct kids {
	int64_t *v;
	size_t n;
};

/* Appends id; 1 (stop the walk) when out of memory. */
static int kids_push(struct kids *k, int64_t id)
{
	int64_t *nv = realloc(k->v, (k->n + 1) * sizeof *nv);
	if (!nv)
		return 1;
	k->v = nv;
	k->v[k->n++] = id;
	return 0;
}

static int collect_kid(const struct doc_child *c, void *user)
{
	return kids_push(user, c->id);
}

static int collect_copy(const struct doc_rec *d, void *user)
{
	return kids_push(user, d->id);
}

int pipeline_is_upload(const char *data_dir, const char *path)
{
	char dir[PATH_MAX + 16];
	real_dir(data_dir, dir, PATH_MAX);
	strcat(dir, "/uploads/");
	size_t n = strlen(dir);
	return path && !strncmp(path, dir, n) && path[n] && !strchr(path + n, '/');
}

static int is_hex64(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == 64;
}

/* nftw keeps no user pointer: the tree being removed, one at a time per
 * thread (the server forgets from several). */
static _Thread_local struct forget_stats *tree_stats;
static _Thread_local int tree_files;

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)ftw;
	if (type == FTW_DP) {
		if (rmdir(path) != 0)
			tree_stats->file_errors++;
		return 0;
	}
	if (unlink(path) == 0) {
		tree_files++;
		if (type == FTW_F)
			tree_stats->bytes_freed += (uint64_t)sb->st_size;
	} else if (errno != ENOENT) {
		tree_stats->file_errors++;
	}
	return 0;
}

/* Removes <dir>/<sub>/<sha256>/ and what it holds (not following links);
 * returns the number of files removed. */
static int remove_tree(const char *dir, const char *sub, const char *sha256, struct forget_stats *s)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof path, "%s/%s/%s", dir, sub, sha256) >= (int)sizeof path)
		return 0;
	struct stat sb;
	if (lstat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return 0;
	tree_stats = s;
	tree_files = 0;
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	tree_stats = NULL;
	return tree_files;
}

static int forget_depth(store *st, const char *data_dir, bus *b, int64_t id, int depth, struct forget_stats *out,
                        struct err *err);

int pipeline_forget(store *st, const char *data_dir, int64_t id, struct forget_stats *out, struct err *err)
{
	return pipeline_forget_ev(st, data_dir, NULL, id, 0, out, err);
}

/* Deletes document id's record with its document_deleted event (b may be NULL). */
static int forget_record(store *st, bus *b, int64_t id, struct doc_forgotten *f, struct err *err)
{
	struct event *ev = NULL;
	if (b && bus_event_new(b, "document_deleted", id, NULL, &ev))
		ev = NULL;
	struct store_event se;
	if (ev)
		se = store_event_of(ev);
	int rc = store_doc_forget_ev(st, id, ev ? &se : NULL, ev ? 1 : 0, f, err);
	if (rc)
		bus_event_cancel(b, ev);
	else
		bus_event_publish(b, ev);
	return rc;
}

struct take {
	bus *b;
	int64_t id;
	struct doc_rec copy;
	struct event *ev[2];
};

static int take_tx(store *st, void *user)
{
	struct take *t = user;
	struct doc_rec d;
	int rc = store_doc_get(st, t->id, &d, NULL);
	if (rc)
		return rc;
	rc = store_doc_take_copy(st, t->id, &t->copy, NULL);
	if (rc == 0 && t->b) {
		struct store_event se[2];
		size_t n = 0;
		if (!bus_event_new(t->b, "document_moved", t->id,
		                   json_pack("{s:o,s:o}", "path", json_string_lossy(t->copy.path), "from",
		                             json_string_lossy(d.path)), &t->ev[0]) && t->ev[0])
			se[n++] = store_event_of(t->ev[0]);
		if (!bus_event_new(t->b, "document_deleted", t->copy.id, NULL, &t->ev[1]) && t->ev[1])
			se[n++] = store_event_of(t->ev[1]);
		rc = store_events_put(st, se, n, NULL);
	}
	doc_rec_clear(&d);
	return rc;
}

int pipeline_move_to_copy(store *st, bus *b, int64_t id, struct forget_stats *out, struct err *err)
{
	struct take t = {.b = b, .id = id};
	struct doc_rec before;
	int rc = store_doc_get(st, id, &before, err);
	if (rc)
		return rc;
	rc = store_tx(st, take_tx, &t, NULL);
	for (int i = 0; i < 2; i++) {
		if (rc)
			bus_event_cancel(b, t.ev[i]);
		else
			bus_event_publish(b, t.ev[i]);
	}
	if (rc) {
		doc_rec_clear(&before);
		return rc == DOSSIER_ENOTFOUND ? rc : err_set(err, rc, "moving document %lld to its copy", (long long)id);
	}
	memset(out, 0, sizeof *out);
	out->id = id;
	out->path = before.path;
	before.path = NULL;
	snprintf(out->sha256, sizeof out->sha256, "%s", before.sha256);
	out->moved_to = t.copy.path;
	t.copy.path = NULL;
	doc_rec_clear(&t.copy);
	doc_rec_clear(&before);
	return 0;
}

int pipeline_forget_ev(store *st, const char *data_dir, bus *b, int64_t id, unsigned flags,
                       struct forget_stats *out, struct err *err)
{
	if (flags & FORGET_PATH) {
		int rc = pipeline_move_to_copy(st, b, id, out, err);
		if (rc != DOSSIER_ENOTFOUND)
			return rc;
	}
	/* the records of its copies first: then its frames go when nothing else has the content */
	struct kids k = {0};
	int copies = 0;
	if (store_doc_copies(st, id, collect_copy, &k, NULL) == 0)
		for (size_t i = 0; i < k.n; i++) {
			struct doc_forgotten f;
			if (forget_record(st, b, k.v[i], &f, NULL) == 0) {
				copies++;
				doc_rec_clear(&f.doc);
			}
		}
	free(k.v);
	int rc = forget_depth(st, data_dir, b, id, 0, out, err);
	if (!rc)
		out->copies = copies;
	return rc;
}

static int forget_depth(store *st, const char *data_dir, bus *b, int64_t id, int depth, struct forget_stats *out,
                        struct err *err)
{
	/* its children first (an archive's members, a mail's attachments) */
	struct kids k = {0};
	int children = 0;
	uint64_t child_bytes = 0;
	if (depth < 8 && store_doc_children(st, id, collect_kid, &k, NULL) == 0) {
		for (size_t i = 0; i < k.n; i++) {
			struct forget_stats cs;
			if (forget_depth(st, data_dir, b, k.v[i], depth + 1, &cs, NULL) == 0) {
				children += 1 + cs.children;
				child_bytes += cs.bytes_freed;
				forget_stats_clear(&cs);
			}
		}
	}
	free(k.v);
	struct doc_forgotten f;
	int rc = forget_record(st, b, id, &f, err);
	if (rc)
		return rc;
	struct forget_stats s;
	memset(&s, 0, sizeof s);
	s.id = id;
	s.path = f.doc.path;
	f.doc.path = NULL;
	snprintf(s.sha256, sizeof s.sha256, "%s", f.doc.sha256);
	s.had_dossier = f.had_dossier;
	s.steps = f.steps;
	char dir[PATH_MAX];
	real_dir(data_dir && *data_dir ? data_dir : ".", dir, sizeof dir);
	/* frames and OCR pages are keyed by content: another copy still needs them */
	if (f.same_content > 0) {
		s.kept_shared = 1;
	} else if (is_hex64(s.sha256)) {
		s.frame_files = remove_tree(dir, "frames", s.sha256, &s);
		s.ocr_files = remove_tree(dir, "ocr", s.sha256, &s);
	}
	s.children = children;
	s.bytes_freed += child_bytes;
	struct stat sb;
	if (!f.same_path && (pipeline_is_upload(dir, s.path) || is_blob(dir, s.path)) && lstat(s.path, &sb) == 0 &&
	    S_ISREG(sb.st_mode)) {
		if (unlink(s.path) == 0) {
			s.upload_removed = 1;
			s.bytes_freed += (uint64_t)sb.st_size;
		} else {
			s.file_errors++;
		}
	}
	doc_rec_clear(&f.doc);
	*out = s;
	return 0;
}
