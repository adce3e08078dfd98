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
	static const char *const n[] = {"new", "unchanged", "changed", "moved", "retry", "recorded"};
	return (unsigned)o <= INGEST_RECORDED ? n[o] : "new";
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
static int find_gone(int64_t id, const char *path, void *user)
{
	struct stat sb;
	if (stat(path, &sb) != 0 && errno == ENOENT) {
		*(int64_t *)user = id;
		return 1;
	}
	return 0;
}

static int decide_tx(store *st, void *user)
{
	struct decide *c = user;
	const struct doc_input *in = c->in;
	int known_content = in->sha256 && *in->sha256;
	struct doc_rec old;
	struct err e = {0};
	int rc = store_doc_by_path(st, in->path, &old, &e);

	if (rc == 0) {
		int same = known_content && !strcmp(old.sha256, in->sha256);
		c->id = old.id;
		/* ingest sees the file: it is not missing any more */
		if (old.missing_at > 0 && (rc = store_doc_set_missing(st, old.id, 0, c->err))) {
			doc_rec_clear(&old);
			return rc;
		}
		if (same && !in->status && is_finished(old.status)) {
			c->outcome = INGEST_UNCHANGED;
			rc = old.mtime != in->mtime ? store_doc_set_mtime(st, old.id, in->mtime, c->err) : 0;
		} else if (same && !in->status && is_unfinished(old.status)) {
			/* unfinished from an earlier run: its queued steps are still there */
			c->outcome = INGEST_RETRY;
			rc = 0;
		} else {
			c->outcome = in->status ? INGEST_RECORDED : same ? INGEST_RETRY : INGEST_CHANGED;
			rc = store_doc_requeue(st, old.id, in, c->steps, c->n_steps, 1, c->err);
		}
		doc_rec_clear(&old);
		return rc;
	}
	if (rc != DOSSIER_ENOTFOUND)
		return err_set(c->err, rc, "%s", e.msg);

	if (known_content && !in->status) {
		int64_t moved = 0;
		if ((rc = store_docs_by_sha256(st, in->sha256, find_gone, &moved, c->err)))
			return rc;
		if (moved) {
			c->id = moved;
			c->outcome = INGEST_MOVED;
			return store_doc_move(st, moved, in->path, in->mtime, c->err);
		}
	}
	c->outcome = in->status ? INGEST_RECORDED : INGEST_NEW;
	return store_doc_insert(st, in, c->steps, c->n_steps, &c->id, c->err);
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
