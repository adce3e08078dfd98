/*
 * queue.c — the durable step queue: claims, results, retries, deferrals,
 * what is pending. Every change of a step's state checks that the caller's
 * lease holder still holds it, and may carry events that commit with it.
 */
#include "store/internal.h"
#include "core/buf.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

#define STR_(x) #x
#define STR(x) STR_(x)

#define STEP_COLS "s.id, s.document_id, s.idx, s.kind, s.role, s.deps, s.state, s.attempts," \
	" s.result, s.last_error, s.started_at, s.finished_at, s.not_before"

static void step_from_row(struct dbl_stmt *q, struct step_rec *s)
{
	memset(s, 0, sizeof *s);
	s->id = dbl_col_i64(q, 0);
	s->document_id = dbl_col_i64(q, 1);
	s->idx = (int)dbl_col_i64(q, 2);
	col_copy(q, 3, s->kind, sizeof s->kind);
	const char *r = dbl_col_text(q, 4);
	if (!r || role_parse(r, &s->role))
		s->role = ROLE_NONE;
	s->deps = (uint64_t)dbl_col_i64(q, 5);
	s->state = step_state_parse(dbl_col_text(q, 6));
	s->attempts = (int)dbl_col_i64(q, 7);
	s->result = col_dup(q, 8);
	s->last_error = col_dup(q, 9);
	s->started_at = dbl_col_double(q, 10);
	s->finished_at = dbl_col_double(q, 11);
	s->not_before = dbl_col_double(q, 12);
}

/* A queued step whose dependencies are all done (it may still be delayed):
 * pending_deps is kept by the triggers of schema 4 (docs/schema.md). */
#define READY_SQL "s.state = 'queued' AND s.pending_deps = 0"

#define ROLE_IN(param, col) DBL_INSTR "(" param ", ',' || " col " || ',') > 0"
/* Claimable by holder ?5 at time ?4: not delayed, not given back by that holder. */
#define CLAIMABLE_SQL \
	" AND (s.not_before IS NULL OR s.not_before <= ?4) AND (s.deferred_by IS NULL OR s.deferred_by != ?5)"

/*
 * Every claim statement is an index lookup whose cost does not depend on the
 * length of the queue: the terms repeat the WHERE of a partial index of
 * schema 4 word for word, so the planner can use it, and the ORDER BY is that
 * index's order (no sort).
 */
/* The oldest claimable step of role ?1 that nobody delayed or deferred (steps_ready). */
static const char SQL_FIRST_READY[] =
	"SELECT " STEP_COLS " FROM steps s" DBL_INDEXED_BY("steps_ready") " WHERE s.state = 'queued' AND s.pending_deps = 0"
	" AND s.not_before IS NULL AND s.deferred_by IS NULL AND s.role = ?1 ORDER BY s.document_id, s.idx LIMIT 1"
	DBL_SKIP_LOCKED;
/* The same among the delayed or deferred ones (steps_later: a small set, scanned
 * past the ones still waiting or given back by holder ?5). */
static const char SQL_FIRST_LATER[] =
	"SELECT " STEP_COLS " FROM steps s" DBL_INDEXED_BY("steps_later") " WHERE s.state = 'queued' AND s.pending_deps = 0"
	" AND (s.not_before IS NOT NULL OR s.deferred_by IS NOT NULL) AND s.role = ?1" CLAIMABLE_SQL
	" ORDER BY s.document_id, s.idx LIMIT 1" DBL_SKIP_LOCKED;
/* One document's claimable step of the roles ?3, the role ?1 first, then by idx. */
static const char SQL_FIRST_OF_DOC[] =
	"SELECT " STEP_COLS " FROM steps s WHERE s.document_id = ?2 AND " READY_SQL CLAIMABLE_SQL
	" AND " ROLE_IN("?3", "s.role") " ORDER BY (s.role = ?1) DESC, s.idx LIMIT 1" DBL_SKIP_LOCKED;
/* The oldest document with an open (queued or running) step of role ?1 (steps_open). */
static const char SQL_OLDEST_OPEN[] =
	"SELECT document_id FROM steps" DBL_INDEXED_BY("steps_open") " WHERE state IN ('queued','running') AND role = ?1"
	" ORDER BY document_id LIMIT 1";

/* The roles of a mask as ",none,text," for the statements' role filter
 * (ROLE_IN above), so statement texts stay fixed and are prepared once. */
static unsigned role_list(unsigned mask, char *out, size_t n)
{
	size_t used = 0;
	unsigned count = 0;
	used += (size_t)snprintf(out, n, ",");
	for (int r = 0; r < ROLE_COUNT && used < n; r++)
		if (mask & (1u << r)) {
			used += (size_t)snprintf(out + used, n - used, "%s,", role_name((enum model_role)r));
			count++;
		}
	return count;
}

/* Runs a candidate query; on a row better than *best (smaller document, then
 * idx) it replaces *best. Returns 0 or DOSSIER_EDB. */
static int candidate(store *st, const char *sql, const char *role, int64_t doc, const char *roles, double now,
                     const char *holder, struct step_rec *best, int *found, struct err *err)
{
	struct dbl_stmt *q = stmt(st, sql, err);
	if (!q)
		return DOSSIER_EDB;
	int n = dbl_param_count(q);
	bind_text(q, 1, role);
	if (n >= 2)
		dbl_bind_i64(q, 2, doc);
	if (n >= 3)
		bind_text(q, 3, roles);
	if (n >= 4)
		dbl_bind_double(q, 4, now);
	if (n >= 5)
		bind_text(q, 5, holder);
	int rc = qstep(st, q);
	if (rc == DBL_ROW) {
		int64_t d = dbl_col_i64(q, 1);
		int idx = (int)dbl_col_i64(q, 2);
		if (!*found || d < best->document_id || (d == best->document_id && idx < best->idx)) {
			if (*found)
				step_rec_clear(best);
			step_from_row(q, best);
			*found = 1;
		}
	}
	stmt_done(q);
	return rc == DBL_ROW || rc == DBL_DONE ? 0 : db_err(st, err, "choosing a step");
}

/* The oldest claimable step of one role: the undelayed set and the delayed one. */
static int first_of_role(store *st, enum model_role r, double now, const char *holder, struct step_rec *best,
                         int *found, struct err *err)
{
	int rc = candidate(st, SQL_FIRST_READY, role_name(r), 0, NULL, now, holder, best, found, err);
	return rc ? rc : candidate(st, SQL_FIRST_LATER, role_name(r), 0, NULL, now, holder, best, found, err);
}

/* Chooses the step a claim takes (see struct claim_filter); *found = 0 if none. */
static int choose(store *st, const struct claim_filter *f, const char *roles, double now, struct step_rec *out,
                  int *found, struct err *err)
{
	int rc;
	*found = 0;
	if (f->document_order) {
		/* strictly the oldest document with an open step of these roles */
		int64_t oldest = 0;
		for (int r = 0; r < ROLE_COUNT; r++) {
			if (!(f->role_mask & (1u << r)))
				continue;
			struct dbl_stmt *q = stmt(st, SQL_OLDEST_OPEN, err);
			if (!q)
				return DOSSIER_EDB;
			bind_text(q, 1, role_name((enum model_role)r));
			rc = qstep(st, q);
			if (rc == DBL_ROW) {
				int64_t d = dbl_col_i64(q, 0);
				if (!oldest || d < oldest)
					oldest = d;
			}
			stmt_done(q);
			if (rc != DBL_ROW && rc != DBL_DONE)
				return db_err(st, err, "finding the oldest document");
		}
		if (!oldest || (f->only_document > 0 && f->only_document != oldest))
			return 0;
		return candidate(st, SQL_FIRST_OF_DOC, "", oldest, roles, now, f->holder, out, found, err);
	}
	const char *prefer = f->prefer_role >= 0 ? role_name((enum model_role)f->prefer_role) : "";
	if (f->only_document > 0)
		return candidate(st, SQL_FIRST_OF_DOC, prefer, f->only_document, roles, now, f->holder, out, found, err);
	if (f->prefer_role >= 0 && f->prefer_role < ROLE_COUNT && (f->role_mask & (1u << f->prefer_role))) {
		if ((rc = first_of_role(st, (enum model_role)f->prefer_role, now, f->holder, out, found, err)))
			return rc;
		if (*found)
			return 0;
	}
	for (int r = 0; r < ROLE_COUNT; r++)
		if ((f->role_mask & (1u << r)) && r != f->prefer_role &&
		    (rc = first_of_role(st, (enum model_role)r, now, f->holder, out, found, err)))
			return rc;
	return 0;
}

/* 0 if holder has a lease that has not expired, else DOSSIER_ESTALE. */
static int lease_live(store *st, const char *holder, double now, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT expires_at FROM workers WHERE holder = ?1", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, holder);
	int rc = qstep(st, q);
	double expires = rc == DBL_ROW ? dbl_col_double(q, 0) : 0;
	stmt_done(q);
	if (rc != DBL_ROW && rc != DBL_DONE)
		return db_err(st, err, "reading a lease");
	if (expires <= now)
		return err_set(err, DOSSIER_ESTALE, "the lease of %s is gone (expired or released): acquire a new one",
		               holder);
	return 0;
}

struct claim_ctx {
	const struct claim_filter *f;
	const struct store_event *ev;
	size_t n_ev;
	struct step_rec *out;
	int found;
	struct err *err;
};

static int claim_tx(store *st, void *user)
{
	struct claim_ctx *c = user;
	char roles[96];
	double now = clock_wall_s();
	if (!role_list(c->f->role_mask, roles, sizeof roles))
		return 0;
	int rc = lease_live(st, c->f->holder, now, c->err);
	if (rc)
		return rc;
	if ((rc = choose(st, c->f, roles, now, c->out, &c->found, c->err)))
		return rc;
	if (!c->found)
		return 0;
	struct dbl_stmt *u = stmt(st, "UPDATE steps SET state='running', holder=?1, attempts=attempts+1, started_at=?2,"
	                           " not_before=NULL, deferred_by=NULL WHERE id=?3 AND state='queued'", c->err);
	if (!u)
		return DOSSIER_EDB;
	bind_text(u, 1, c->f->holder);
	dbl_bind_double(u, 2, now);
	dbl_bind_i64(u, 3, c->out->id);
	rc = qstep(st, u);
	stmt_done(u);
	if (rc != DBL_DONE || dbl_changes(st->c) != 1) {
		step_rec_clear(c->out);
		c->found = 0;
		return rc == DBL_DONE ? 0 : db_err(st, c->err, "claiming a step");
	}
	c->out->state = STEP_RUNNING;
	c->out->attempts++;
	c->out->not_before = 0;
	if ((rc = run1(st, "UPDATE documents SET status='running' WHERE id=?1 AND status='queued'",
	               c->out->document_id, NULL, c->err)))
		return rc;
	return events_insert(st, c->ev, c->n_ev, c->err);
}

int store_step_claim(store *st, const struct claim_filter *f, const struct store_event *events,
                     size_t n_events, struct step_rec *out, struct err *err)
{
	struct claim_ctx c = {f, events, n_events, out, 0, err};
	memset(out, 0, sizeof *out);
	if (!f->holder)
		return err_set(err, DOSSIER_EINVAL, "a claim needs a lease holder (store_lease_acquire)");
	int rc = store_tx(st, claim_tx, &c, err);
	if (rc) {
		if (c.found)
			step_rec_clear(out);
		return rc;
	}
	return c.found ? 0 : DOSSIER_ENOTFOUND;
}

/* ---------------------------------------------------------- settling a step */

enum settle { SETTLE_DONE, SETTLE_RETRY, SETTLE_FAIL, SETTLE_DEFER };

struct settle_ctx {
	enum settle how;
	int64_t id;
	const char *holder;
	const char *text;      /* the result (done) or the error */
	double not_before;     /* retry, defer: wall seconds; <= 0 = none */
	const struct store_event *ev;
	size_t n_ev;
	struct err *err;
};

static const char *const settle_sql[] = {
	[SETTLE_DONE] = "UPDATE steps SET state='done', result=?3, last_error=NULL, holder=NULL, done_by=?2, finished_at=?4"
	                " WHERE id=?1 AND state='running' AND holder=?2",
	[SETTLE_RETRY] = "UPDATE steps SET state='queued', last_error=?3, holder=NULL, finished_at=?4, not_before=?5"
	                 " WHERE id=?1 AND state='running' AND holder=?2",
	/* a step queued again by re-analysis keeps its earlier result until a new
	 * one lands: failing, it is done with that result (and the error) */
	[SETTLE_FAIL] = "UPDATE steps SET state=CASE WHEN result IS NULL THEN 'failed' ELSE 'done' END,"
	                " last_error=?3, holder=NULL, finished_at=?4"
	                " WHERE id=?1 AND state='running' AND holder=?2",
	[SETTLE_DEFER] = "UPDATE steps SET state='queued', attempts=0, last_error=?3, holder=NULL, finished_at=?4,"
	                 " not_before=?5, deferred_by=CASE WHEN CAST(?5 AS DOUBLE PRECISION) IS NULL THEN ?2 END"
	                 " WHERE id=?1 AND state='running' AND holder=?2",
};
static const char *const settle_what[] = {"recording a step's result", "queueing a step's retry",
                                          "recording a step's failure", "deferring a step"};

static int settle_tx(store *st, void *user)
{
	struct settle_ctx *c = user;
	struct dbl_stmt *q = stmt(st, settle_sql[c->how], c->err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, c->id);
	bind_text(q, 2, c->holder);
	bind_text(q, 3, c->how == SETTLE_DONE && !c->text ? "{}" : c->text);
	dbl_bind_double(q, 4, clock_wall_s());
	if (c->how == SETTLE_RETRY || c->how == SETTLE_DEFER)
		bind_time(q, 5, c->not_before);
	int rc = qstep(st, q);
	stmt_done(q);
	if (rc != DBL_DONE)
		return db_err(st, c->err, settle_what[c->how]);
	if (dbl_changes(st->c) != 1)
		return err_set(c->err, DOSSIER_ESTALE,
		               "step %lld is no longer held by %s (its lease expired and another worker took it)",
		               (long long)c->id, c->holder ? c->holder : "(none)");
	if (c->how == SETTLE_FAIL) {
		int64_t doc = 0;
		struct dbl_stmt *d = stmt(st, "SELECT document_id FROM steps WHERE id = ?1 AND state = 'failed'", c->err);
		if (!d)
			return DOSSIER_EDB;
		dbl_bind_i64(d, 1, c->id);
		if (qstep(st, d) == DBL_ROW)
			doc = dbl_col_i64(d, 0);
		stmt_done(d);
		if ((rc = skip_dependents(st, doc, c->err)))
			return rc;
	}
	return events_insert(st, c->ev, c->n_ev, c->err);
}

static int settle(store *st, enum settle how, int64_t step_id, const char *holder, const char *text,
                  double not_before, const struct store_event *ev, size_t n_ev, struct err *err)
{
	struct settle_ctx c = {how, step_id, holder, text, not_before, ev, n_ev, err};
	return store_tx(st, settle_tx, &c, err);
}

int store_step_done(store *st, int64_t step_id, const char *holder, const char *result,
                    const struct store_event *events, size_t n_events, struct err *err)
{
	return settle(st, SETTLE_DONE, step_id, holder, result, 0, events, n_events, err);
}

int store_step_retry(store *st, int64_t step_id, const char *holder, const char *error, double not_before,
                     const struct store_event *events, size_t n_events, struct err *err)
{
	return settle(st, SETTLE_RETRY, step_id, holder, error, not_before, events, n_events, err);
}

int store_step_fail(store *st, int64_t step_id, const char *holder, const char *error,
                    const struct store_event *events, size_t n_events, struct err *err)
{
	return settle(st, SETTLE_FAIL, step_id, holder, error, 0, events, n_events, err);
}

int store_step_defer(store *st, int64_t step_id, const char *holder, const char *error, double not_before,
                     const struct store_event *events, size_t n_events, struct err *err)
{
	return settle(st, SETTLE_DEFER, step_id, holder, error, not_before, events, n_events, err);
}

int skip_dependents(store *st, int64_t doc_id, struct err *err)
{
	for (int round = 0; round < 64; round++) {
		struct dbl_stmt *q = stmt(st, "UPDATE steps AS s SET state='skipped', "
		                           " last_error='skipped: a step it needs failed' WHERE s.document_id = ?1"
		                           " AND s.state = 'queued' AND EXISTS (SELECT 1 FROM steps d WHERE"
		                           " d.document_id = s.document_id AND ((s.deps >> CAST(d.idx AS INTEGER)) & 1) <> 0"
		                           " AND d.state IN ('failed','skipped'))", err);
		if (!q)
			return DOSSIER_EDB;
		dbl_bind_i64(q, 1, doc_id);
		int rc = qstep(st, q);
		stmt_done(q);
		if (rc != DBL_DONE)
			return db_err(st, err, "skipping dependent steps");
		if (dbl_changes(st->c) == 0)
			break;
	}
	return 0;
}

/* ----------------------------------------------------------- what is pending */

/* Bounded: the number of waiting steps store_steps_upcoming looks at. */
#define UPCOMING_SCAN 256

int store_steps_pending(store *st, const char *holder, struct steps_pending *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	/* the counts per role and bucket: a handful of rows kept by triggers */
	struct dbl_stmt *q = stmt(st, "SELECT role, bucket, sum(n) FROM step_counts GROUP BY role, bucket HAVING sum(n) > 0", err);
	if (!q)
		return DOSSIER_EDB;
	int rc;
	while ((rc = qstep(st, q)) == DBL_ROW) {
		enum model_role r;
		const char *rs = dbl_col_text(q, 0);
		const char *b = dbl_col_text(q, 1);
		unsigned n = (unsigned)dbl_col_i64(q, 2);
		if (!rs || role_parse(rs, &r))
			r = ROLE_NONE;
		if (!b)
			continue;
		if (!strcmp(b, "running"))
			out->running += n;
		else if (!strcmp(b, "waiting"))
			out->waiting[r] += n;
		else
			out->ready[r] += n;
	}
	stmt_done(q);
	if (rc != DBL_DONE)
		return db_err(st, err, "counting pending steps");
	/* the delayed or deferred part of the ready set (steps_later, small) is not ready now */
	q = stmt(st, "SELECT s.role, coalesce(s.not_before, 0), s.deferred_by IS NOT NULL AND s.deferred_by = ?1"
	             " FROM steps s" DBL_INDEXED_BY("steps_later") " WHERE s.state = 'queued' AND s.pending_deps = 0"
	             " AND (s.not_before IS NOT NULL OR s.deferred_by IS NOT NULL)", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, holder);
	double now = clock_wall_s();
	while ((rc = qstep(st, q)) == DBL_ROW) {
		enum model_role r;
		const char *rs = dbl_col_text(q, 0);
		if (!rs || role_parse(rs, &r))
			r = ROLE_NONE;
		double not_before = dbl_col_double(q, 1);
		int mine = (int)dbl_col_i64(q, 2);
		if (!mine && not_before <= now)
			continue; /* claimable now: stays in ready */
		if (out->ready[r])
			out->ready[r]--;
		if (mine) {
			out->deferred++;
		} else {
			out->delayed[r]++;
			if (!out->next_at || not_before < out->next_at)
				out->next_at = not_before;
		}
	}
	stmt_done(q);
	return rc == DBL_DONE ? 0 : db_err(st, err, "counting delayed steps");
}

int store_steps_upcoming(store *st, enum model_role role, unsigned preparing_mask, unsigned *out,
                         struct err *err)
{
	char roles[96];
	role_list(preparing_mask, roles, sizeof roles);
	/* among the oldest waiting steps of the role (bounded, through steps_open) */
	struct dbl_stmt *q = stmt(st, "SELECT count(*) FROM (SELECT s.document_id, s.deps FROM steps s" DBL_INDEXED_BY("steps_open")
	                           " WHERE s.state IN ('queued','running') AND s.role = ?1 AND s.state = 'queued'"
	                           " AND s.pending_deps > 0 ORDER BY s.document_id LIMIT " STR(UPCOMING_SCAN) ") AS s"
	                           " WHERE NOT EXISTS (SELECT 1 FROM steps d"
	                           " WHERE d.document_id = s.document_id AND ((s.deps >> CAST(d.idx AS INTEGER)) & 1) <> 0 AND d.state != 'done'"
	                           " AND (NOT " ROLE_IN("?2", "d.role") " OR d.state NOT IN ('queued','running')))", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, role_name(role));
	bind_text(q, 2, roles);
	int rc = qstep(st, q);
	*out = rc == DBL_ROW ? (unsigned)(int)dbl_col_i64(q, 0) : 0;
	stmt_done(q);
	return rc == DBL_ROW ? 0 : db_err(st, err, "counting upcoming steps");
}

int store_doc_next_attempt(store *st, int64_t doc_id, double *when, char **last_error, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT count(*), min(not_before),"
	                           " (SELECT last_error FROM steps WHERE document_id = ?1 AND state = 'queued'"
	                           "  AND last_error IS NOT NULL ORDER BY finished_at DESC LIMIT 1)"
	                           " FROM steps WHERE document_id = ?1 AND state = 'queued'", err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, doc_id);
	*when = 0;
	if (last_error)
		*last_error = NULL;
	int rc = qstep(st, q);
	if (rc == DBL_ROW) {
		if ((int)dbl_col_i64(q, 0) == 0) {
			stmt_done(q);
			return DOSSIER_ENOTFOUND;
		}
		*when = dbl_col_double(q, 1); /* NULL (no delayed step) reads as 0 */
		if (last_error)
			*last_error = col_dup(q, 2);
	}
	stmt_done(q);
	return rc == DBL_ROW ? 0 : db_err(st, err, "reading a document's next attempt");
}

int store_doc_steps(store *st, int64_t doc_id, struct step_rec **out, size_t *n,
                    struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT " STEP_COLS " FROM steps s WHERE s.document_id = ?1 ORDER BY s.idx", err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, doc_id);
	size_t cap = 8, len = 0;
	struct step_rec *v = xcalloc(cap, sizeof *v);
	while (qstep(st, q) == DBL_ROW) {
		if (len == cap) {
			struct step_rec *nv = realloc(v, 2 * cap * sizeof *v);
			if (!nv) {
				stmt_done(q);
				step_recs_free(v, len);
				return err_set(err, DOSSIER_ENOMEM, "out of memory");
			}
			v = nv;
			cap *= 2;
		}
		step_from_row(q, &v[len++]);
	}
	stmt_done(q);
	*out = v;
	*n = len;
	return 0;
}

int store_doc_settled(store *st, int64_t doc_id, int *settled, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT count(*) FROM steps WHERE document_id = ?1 AND state IN ('queued','running')", err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, doc_id);
	*settled = qstep(st, q) == DBL_ROW && (int)dbl_col_i64(q, 0) == 0;
	stmt_done(q);
	return 0;
}

int store_doc_try_finish(store *st, int64_t doc_id, int *won, struct err *err)
{
	*won = 0;
	struct dbl_stmt *q = stmt(st, "UPDATE documents SET status='assembling' WHERE id = ?1"
	                           " AND status IN ('queued','running') AND NOT EXISTS (SELECT 1 FROM steps"
	                           " WHERE document_id = ?1 AND state IN ('queued','running'))", err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, doc_id);
	int rc = qstep(st, q);
	stmt_done(q);
	if (rc != DBL_DONE)
		return db_err(st, err, "finishing a document");
	*won = dbl_changes(st->c) == 1;
	return 0;
}

int store_docs_requeue_idle(store *st, int *n, struct err *err)
{
	int rc = db_exec(st, "UPDATE documents SET status='queued' WHERE status IN ('running','assembling')"
	                 " AND NOT EXISTS (SELECT 1 FROM steps WHERE document_id = documents.id AND state = 'running')",
	                 err);
	if (rc)
		return rc;
	if (n)
		*n = dbl_changes(st->c);
	return 0;
}


/* ------------------------------------------------------------- diagnostics */

int store_queue_explain(store *st, char **out, struct err *err)
{
	static const struct {
		const char *name, *sql;
	} qs[] = {
		{"claim_ready", SQL_FIRST_READY},
		{"claim_later", SQL_FIRST_LATER},
		{"claim_of_document", SQL_FIRST_OF_DOC},
		{"oldest_open", SQL_OLDEST_OPEN},
	};
	struct buf b;
	buf_init(&b, 0);
	*out = NULL;
	for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
		char sql[2048];
		int pg = st->backend == DBL_PG;
		snprintf(sql, sizeof sql, "%s %s", pg ? "EXPLAIN" : "EXPLAIN QUERY PLAN", qs[i].sql);
		struct dbl_stmt *q = dbl_prep_uncached(st->c, sql, err);
		if (!q) {
			buf_free(&b);
			return err && err->code ? err->code : DOSSIER_EDB;
		}
		/* PG plans with parameters left unbound as NULLs of the inferred types */
		while (qstep(st, q) == DBL_ROW)
			buf_appendf(&b, "%s: %s\n", qs[i].name, dbl_col_text(q, pg ? 0 : 3));
		dbl_stmt_free(q);
	}
	*out = buf_take(&b);
	return 0;
}

/* ---------------------------------------------------------- re-analysis */

struct requeue_ctx {
	int64_t doc;
	uint64_t mask;
	const struct store_event *ev;
	size_t n_ev;
	int changed;
	struct err *err;
};

static int requeue_tx(store *st, void *user)
{
	struct requeue_ctx *c = user;
	/* running steps are left alone: their worker's result stands */
	struct dbl_stmt *q = stmt(st,
	                       "UPDATE steps SET state='queued', attempts=0, last_error=NULL, holder=NULL,"
	                       " not_before=NULL, deferred_by=NULL, started_at=NULL, finished_at=NULL"
	                       " WHERE document_id=?1 AND idx < 64 AND ((?2 >> CAST(idx AS INTEGER)) & 1) <> 0 AND state IN ('done','failed','skipped')",
	                       c->err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, c->doc);
	dbl_bind_i64(q, 2, (int64_t)c->mask);
	int rc = qstep(st, q);
	c->changed = dbl_changes(st->c);
	stmt_done(q);
	if (rc != DBL_DONE)
		return db_err(st, c->err, "queueing steps again");
	if (!c->changed)
		return 0;
	/* a dependent queued again that depends on a step that is not done waits
	 * for it: pending_deps was raised by steps_dep_undone for done steps; a
	 * step that had failed or been skipped was never done, so nothing to fix */
	struct dbl_stmt *d = stmt(st, "UPDATE documents SET status='queued', error=NULL, updated_at=?2 WHERE id=?1", c->err);
	if (!d)
		return DOSSIER_EDB;
	dbl_bind_i64(d, 1, c->doc);
	dbl_bind_double(d, 2, clock_wall_s());
	rc = qstep(st, d);
	stmt_done(d);
	if (rc != DBL_DONE)
		return db_err(st, c->err, "queueing a document again");
	return events_insert(st, c->ev, c->n_ev, c->err);
}

int store_steps_requeue(store *st, int64_t doc_id, uint64_t idx_mask, const struct store_event *events,
                        size_t n_events, int *n_requeued, struct err *err)
{
	struct requeue_ctx c = {doc_id, idx_mask, events, n_events, 0, err};
	int rc = store_tx(st, requeue_tx, &c, err);
	if (n_requeued)
		*n_requeued = rc ? 0 : c.changed;
	return rc;
}
