/*
 * ingest_decide.c — the unchanged / changed / moved / retry decision of ingest.
 */
#include "pipeline/ingest_decide.h"
#include "core/err.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

const char *ingest_outcome_name(enum ingest_outcome o)
{
	static const char *const n[] = {"new", "unchanged", "changed", "moved", "retry", "recorded", "duplicate"};
	return (unsigned)o <= INGEST_DUPLICATE ? n[o] : "new";
}

struct decide {
	const struct doc_input *in;
	const struct step_decl *steps;
	size_t n_steps;
	int64_t id;
	enum ingest_outcome outcome;
	struct err *err;
};

static int is_finished(const char *status)
{
	/* encrypted: tried again only when the file changes (a password is not guessed) */
	return !strcmp(status, "done") || !strcmp(status, "partial") || !strcmp(status, "unsupported") ||
	       !strcmp(status, "encrypted");
}

static int is_unfinished(const char *status)
{
	return !strcmp(status, "queued") || !strcmp(status, "running");
}

/* A document with this content whose file is gone: the file moved here. */
static int find_gone(const struct doc_rec *d, void *user)
{
	struct stat sb;
	if (stat(d->path, &sb) != 0 && errno == ENOENT) {
		*(int64_t *)user = d->id;
		return 1;
	}
	return 0;
}

struct primary {
	int64_t exclude, id;
};

/* The document a copy of this content belongs to: the oldest that is not a
 * copy itself, not inside another file, not failed. */
static int find_original(const struct doc_rec *d, void *user)
{
	struct primary *p = user;
	if (d->id == p->exclude || d->parent_id || !strcmp(d->status, "duplicate") || !strcmp(d->status, "failed"))
		return 0;
	p->id = d->id;
	return 1;
}

static int original_of(store *st, const char *sha256, int64_t exclude, int64_t *id, struct err *err)
{
	struct primary p = {exclude, 0};
	int rc = store_docs_by_sha256(st, sha256, find_original, &p, err);
	*id = p.id;
	return rc;
}

/* in, recorded as a copy of document original */
static struct doc_input as_copy(const struct doc_input *in, int64_t original)
{
	struct doc_input c = *in;
	c.status = "duplicate";
	c.error = NULL;
	c.same_as = original;
	return c;
}

/* A path not recorded yet (or made free by its document moving to a copy). */
static int decide_new_path(store *st, struct decide *c)
{
	const struct doc_input *in = c->in;
	int rc;
	if (in->sha256 && *in->sha256 && !in->status) {
		int64_t moved = 0, original = 0;
		if ((rc = store_docs_by_sha256(st, in->sha256, find_gone, &moved, c->err)))
			return rc;
		if (moved) {
			c->id = moved;
			c->outcome = INGEST_MOVED;
			return store_doc_move(st, moved, in->path, in->mtime, c->err);
		}
		if ((rc = original_of(st, in->sha256, 0, &original, c->err)))
			return rc;
		if (original) {
			struct doc_input cp = as_copy(in, original);
			c->outcome = INGEST_DUPLICATE;
			return store_doc_insert(st, &cp, NULL, 0, &c->id, c->err);
		}
	}
	c->outcome = in->status ? INGEST_RECORDED : INGEST_NEW;
	return store_doc_insert(st, in, c->steps, c->n_steps, &c->id, c->err);
}

static int has_copy(const struct doc_rec *d, void *user)
{
	(void)d;
	*(int *)user = 1;
	return 1;
}

static int decide_tx(store *st, void *user)
{
	struct decide *c = user;
	const struct doc_input *in = c->in;
	int known_content = in->sha256 && *in->sha256;
	struct doc_rec old;
	struct err e = {0};
	int rc = store_doc_by_path(st, in->path, &old, &e);

	if (rc == DOSSIER_ENOTFOUND)
		return decide_new_path(st, c);
	if (rc)
		return err_set(c->err, rc, "%s", e.msg);

	int same = known_content && !strcmp(old.sha256, in->sha256);
	c->id = old.id;
	/* ingest sees the file: it is not missing any more */
	if (old.missing_at > 0 && (rc = store_doc_set_missing(st, old.id, 0, c->err)))
		goto out;
	if (!strcmp(old.status, "duplicate") && same && !in->status) {
		/* a copy stays a copy while some document still holds its content */
		int64_t original = 0;
		if ((rc = original_of(st, in->sha256, old.id, &original, c->err)))
			goto out;
		if (original) {
			c->outcome = INGEST_UNCHANGED;
			if (original != old.same_as || old.mtime != in->mtime) {
				struct doc_input cp = as_copy(in, original);
				rc = store_doc_requeue(st, old.id, &cp, NULL, 0, 1, c->err);
			}
		} else {
			/* its original changed or is gone: a document of its own now */
			c->outcome = INGEST_RETRY;
			rc = store_doc_requeue(st, old.id, in, c->steps, c->n_steps, 1, c->err);
		}
		goto out;
	}
	if (!same && strcmp(old.status, "duplicate")) {
		/* the content changed under a document that has copies: the oldest
		 * copy keeps the dossier, and this path is a new file */
		int copies = 0;
		if ((rc = store_doc_copies(st, old.id, has_copy, &copies, c->err)))
			goto out;
		if (copies) {
			struct doc_rec cp;
			struct err te = {0};
			rc = store_doc_take_copy(st, old.id, &cp, &te);
			if (rc == 0) {
				doc_rec_clear(&cp);
				doc_rec_clear(&old);
				return decide_new_path(st, c);
			}
			if (rc != DOSSIER_ENOTFOUND) {
				err_set(c->err, rc, "%s", te.msg);
				goto out;
			}
			rc = 0; /* every copy is missing: the document changes as usual */
		}
	}
	if (same && !in->status && is_finished(old.status)) {
		c->outcome = INGEST_UNCHANGED;
		rc = old.mtime != in->mtime ? store_doc_set_mtime(st, old.id, in->mtime, c->err) : 0;
	} else if (same && !in->status && is_unfinished(old.status)) {
		/* unfinished from an earlier run: its queued steps are still there */
		c->outcome = INGEST_RETRY;
		rc = 0;
	} else {
		int64_t original = 0;
		if (!same && known_content && !in->status &&
		    (rc = original_of(st, in->sha256, old.id, &original, c->err)))
			goto out;
		if (original) {
			/* new content here that another document already holds */
			struct doc_input cp = as_copy(in, original);
			c->outcome = INGEST_DUPLICATE;
			rc = store_doc_requeue(st, old.id, &cp, NULL, 0, 1, c->err);
		} else {
			c->outcome = in->status ? INGEST_RECORDED : same ? INGEST_RETRY : INGEST_CHANGED;
			rc = store_doc_requeue(st, old.id, in, c->steps, c->n_steps, 1, c->err);
		}
	}
out:
	doc_rec_clear(&old);
	return rc;
}

struct decide_announced {
	struct decide *c;
	ingest_announce_fn announce;
	void *user;
};

static int decide_announce_tx(store *st, void *user)
{
	struct decide_announced *a = user;
	int rc = decide_tx(st, a->c);
	if (rc == 0 && a->announce)
		rc = a->announce(st, a->c->id, a->c->outcome, a->user);
	return rc;
}

int ingest_decide_announced(store *st, const struct doc_input *in, const struct step_decl *steps, size_t n_steps,
                            ingest_announce_fn announce, void *user, int64_t *id_out,
                            enum ingest_outcome *outcome, struct err *err)
{
	struct decide c = {in, steps, n_steps, 0, INGEST_NEW, err};
	if (n_steps > 63)
		return err_set(err, DOSSIER_EINVAL, "a pipeline may declare at most 63 steps");
	struct decide_announced a = {&c, announce, user};
	int rc = store_tx(st, decide_announce_tx, &a, err);
	if (rc)
		return rc;
	*id_out = c.id;
	*outcome = c.outcome;
	return 0;
}

int ingest_decide(store *st, const struct doc_input *in, const struct step_decl *steps, size_t n_steps,
                  int64_t *id_out, enum ingest_outcome *outcome, struct err *err)
{
	struct decide c = {in, steps, n_steps, 0, INGEST_NEW, err};
	if (n_steps > 63)
		return err_set(err, DOSSIER_EINVAL, "a pipeline may declare at most 63 steps");
	int rc = store_tx(st, decide_tx, &c, err);
	if (rc)
		return rc;
	*id_out = c.id;
	*outcome = c.outcome;
	return 0;
}
