/*
 * children.c — child documents, their blobs and their parent.
 */
#include "pipeline/children.h"
#include "pipeline/ingest.h"
#include "pipeline/ingest_decide.h"
#include "pipeline/kinds.h"
#include "pipeline/forget.h"
#include "core/err.h"
#include "core/util.h"
#include "media/archive.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int collect_before(const struct doc_child *ch, void *user)
{
	struct children *c = user;
	c->before = realloc(c->before, (c->n_before + 1) * sizeof *c->before);
	if (!c->before)
		abort();
	c->before[c->n_before++] = ch->id;
	return 0;
}

int children_begin(struct step_env *env, const struct doc_rec *doc, struct children *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	out->env = env;
	out->doc = doc;
	if (!env->st)
		return err_set(err, DOSSIER_EINVAL, "%s: no store to record its members in", doc->path);
	/* how deep this document already is */
	int64_t id = doc->id, parent = 0;
	for (int d = 0; d <= CHILD_MAX_DEPTH + 1; d++) {
		if (store_doc_parent(env->st, id, &parent, NULL, 0, NULL) || !parent)
			break;
		out->depth++;
		id = parent;
	}
	if (out->depth >= CHILD_MAX_DEPTH)
		return err_set(err, DOSSIER_ETOOBIG,
		               "%s: nested %d levels deep; members deeper than %d levels are not unpacked", doc->path,
		               out->depth, CHILD_MAX_DEPTH);
	snprintf(out->tmp_dir, sizeof out->tmp_dir, "%s/tmp", env->data_dir ? env->data_dir : ".");
	int rc = mkdir_p(out->tmp_dir, err);
	if (rc)
		return rc;
	out->list = json_array();
	return store_doc_children(env->st, doc->id, collect_before, out, err);
}

/* The member's extension (a dot and up to 8 letters or digits), for the
 * classifier's tie-breaks, into out; "" when it has none. */
static void safe_ext(const char *place, char *out, size_t n)
{
	out[0] = '\0';
	const char *slash = strrchr(place, '/');
	const char *base = slash ? slash + 1 : place;
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base || strlen(dot) > 9 || n < 10)
		return;
	for (const char *p = dot + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return;
	snprintf(out, n, "%s", dot);
}

static int adopt(struct children *c, int64_t id, const char *place, struct err *err);

int children_add(struct children *c, const char *place, const char *file, int64_t *id_out, struct err *err)
{
	if (id_out)
		*id_out = 0;
	struct step_env *env = c->env;
	char sha[65], ext[16];
	int rc = sha256_file(file, sha, err);
	if (rc) {
		unlink(file);
		return rc;
	}
	safe_ext(place, ext, sizeof ext);
	char dir[4200], blob[4300];
	snprintf(dir, sizeof dir, "%s/blobs/%.2s", env->data_dir ? env->data_dir : ".", sha);
	if ((rc = mkdir_p(dir, err))) {
		unlink(file);
		return rc;
	}
	char real[4096];
	if (realpath(dir, real))  /* documents' paths are absolute */
		snprintf(dir, sizeof dir, "%s", real);
	snprintf(blob, sizeof blob, "%s/%s%s", dir, sha, ext);
	struct stat sb;
	int64_t id = 0;
	struct doc_rec known;
	if (stat(blob, &sb) == 0) {
		unlink(file);  /* the same content is kept already */
		if (store_doc_by_path(env->st, blob, &known, NULL) == 0) {
			id = known.id;  /* and is a document (of this parent or another): nothing to queue */
			doc_rec_clear(&known);
		}
	} else if (rename(file, blob) != 0) {
		int e = errno;
		unlink(file);
		return err_set(err, DOSSIER_EIO, "cannot keep a member of %s in %s: %s", c->doc->path, dir, strerror(e));
	}
	if (!id) {
		if (!env->cls && (rc = classifier_new(&env->cls, err)))
			return rc;
		struct ingest_stats is = {0};
		if ((rc = ingest_file(env->st, env->cls, env->bus, blob, &is, &id, err)))
			return rc;
	}
	if (id_out)
		*id_out = id;
	return adopt(c, id, place, err);
}

/* id becomes (or stays) a child at place and is listed; a document another
 * parent holds keeps that parent. */
static int adopt(struct children *c, int64_t id, const char *place, struct err *err)
{
	struct step_env *env = c->env;
	int rc;
	int64_t parent = 0;
	if (id && store_doc_parent(env->st, id, &parent, NULL, 0, NULL) == 0 && (!parent || parent == c->doc->id)) {
		const char *slash = strrchr(place, '/');
		const char *name = slash && slash[1] ? slash + 1 : place;
		if ((rc = store_doc_set_parent(env->st, id, c->doc->id, place, err)) ||
		    (rc = store_doc_set_name(env->st, id, name, err)))
			return rc;
	}
	if (id) {
		struct doc_rec d;
		json_t *e = json_pack("{s:I,s:o}", "id", (json_int_t)id, "place", json_string_lossy(place));
		if (store_doc_get(env->st, id, &d, NULL) == 0) {
			json_object_set_new(e, "kind", json_string(d.kind));
			doc_rec_clear(&d);
		}
		json_array_append_new(c->list, e);
		for (size_t i = 0; i < c->n_before; i++)
			if (c->before[i] == id)
				c->before[i] = 0;  /* still a child */
	}
	return 0;
}

int children_add_encrypted(struct children *c, const char *place, int64_t size, int64_t mtime, int64_t *id_out,
                           struct err *err)
{
	if (id_out)
		*id_out = 0;
	struct step_env *env = c->env;
	/* no bytes to address it by: this version of the member (its parent, its
	 * place, the size and time the archive states) names it, and an empty
	 * file at that name keeps 'prune' from taking it for gone */
	char key[4200], hex[65], ext[16];
	snprintf(key, sizeof key, "%lld\n%s\n%lld\n%lld", (long long)c->doc->id, place, (long long)size,
	         (long long)mtime);
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, key, strlen(key));
	sha256_final_hex(&h, hex);
	safe_ext(place, ext, sizeof ext);
	char dir[4200], path[4400];
	snprintf(dir, sizeof dir, "%s/blobs/%.2s", env->data_dir ? env->data_dir : ".", hex);
	int rc = mkdir_p(dir, err);
	if (rc)
		return rc;
	char real[4096];
	if (realpath(dir, real))
		snprintf(dir, sizeof dir, "%s", real);
	snprintf(path, sizeof path, "%s/%s.encrypted%s", dir, hex, ext);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(err, DOSSIER_EIO, "cannot record a member of %s in %s: %s", c->doc->path, dir, strerror(errno));
	close(fd);
	/* its kind, as its name says */
	enum kind_match bm = KIND_MATCH_NO;
	const char *kind = "unsupported";
	for (size_t i = 0; i < kind_count(); i++) {
		struct file_type ft = {0};
		snprintf(ft.mime, sizeof ft.mime, "application/octet-stream");
		enum kind_match m = kind_at(i)->recognise(ft.mime, path, &ft);
		if (m > bm) {
			bm = m;
			kind = kind_at(i)->name;
		}
	}
	char msg[ERR_MSG_MAX];
	snprintf(msg, sizeof msg,
	         "%s in %s: the member " MEDIA_ENCRYPTED_WORDS ": extract it from the archive with its password "
	         "and analyse the extracted copy",
	         place, c->doc->name ? c->doc->name : c->doc->path);
	struct doc_input in = {.path = path, .sha256 = "", .mime = "application/octet-stream", .kind = kind,
	                       .bytes = size > 0 ? size : 0, .mtime = mtime, .status = "encrypted", .error = msg};
	int64_t id = 0;
	enum ingest_outcome o;
	if ((rc = ingest_decide(env->st, &in, NULL, 0, &id, &o, err)))
		return rc;
	if (env->bus)
		bus_emit(env->bus, "document_failed", id,
		         json_pack("{s:o,s:o,s:s}", "path", json_string_lossy(path), "error", json_string_lossy(msg), "status",
		                   "encrypted"));
	if (id_out)
		*id_out = id;
	return adopt(c, id, place, err);
}

static void forget_gone(struct children *c, int64_t id)
{
	struct forget_stats fs;
	if (pipeline_forget(c->env->st, c->env->data_dir, id, &fs, NULL) == 0)
		forget_stats_clear(&fs);
}

void children_end(struct children *c, json_t **list)
{
	/* members of an earlier version of the parent that are gone now */
	for (size_t i = 0; c->env && c->env->st && i < c->n_before; i++)
		if (c->before[i])
			forget_gone(c, c->before[i]);
	free(c->before);
	c->before = NULL;
	c->n_before = 0;
	if (list)
		*list = c->list;
	else
		json_decref(c->list);
	c->list = NULL;
}

struct unpack_ctx {
	struct children *kids;
	struct err *err;
	int rc;
};

static int on_member(const char *name, const char *file, uint64_t bytes, void *user)
{
	(void)bytes;
	struct unpack_ctx *u = user;
	if ((u->rc = children_add(u->kids, name, file, NULL, u->err)))
		return u->rc;
	return u->kids->env->cancel && *u->kids->env->cancel ? DOSSIER_ECANCELLED : 0;
}

static int on_encrypted(const char *name, int64_t size, int64_t mtime, void *user)
{
	struct unpack_ctx *u = user;
	return u->rc = children_add_encrypted(u->kids, name, size, mtime, NULL, u->err);
}

int children_unpack(struct children *c, const char *path, const struct archive_limits *lim, json_t **summary,
                    struct err *err)
{
	struct unpack_ctx u = {c, err, 0};
	struct archive_limits l = lim ? *lim : (struct archive_limits){0};
	l.on_encrypted = on_encrypted;
	l.encrypted_user = &u;
	return archive_unpack(path, c->tmp_dir, &l, on_member, &u, summary, err);
}
