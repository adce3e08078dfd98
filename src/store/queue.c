/*
 * queue.c — the durable step queue: claims, results, failures, recovery.
 */
#include "store/internal.h"
#include "core/util.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ================================================================ steps */

#define STEP_COLS "s.id, s.document_id, s.idx, s.kind, s.role, s.deps, s.state, s.attempts," \
	" s.result, s.last_error, s.started_at, s.finished_at"

static void step_from_row(sqlite3_stmt *q, struct step_rec *s)
{
	memset(s, 0, sizeof *s);
	s->id = sqlite3_column_int64(q, 0);
	s->document_id = sqlite3_column_int64(q, 1);
	s->idx = sqlite3_column_int(q, 2);
	col_copy(q, 3, s->kind, sizeof s->kind);
	const char *r = (const char *)sqlite3_column_text(q, 4);
	if (!r || role_parse(r, &s->role))
		s->role = ROLE_NONE;
	s->deps = (uint64_t)sqlite3_column_int64(q, 5);
	s->state = step_state_parse((const char *)sqlite3_column_text(q, 6));
	s->attempts = sqlite3_column_int(q, 7);
	s->result = col_dup(q, 8);
	s->last_error = col_dup(q, 9);
	s->started_at = sqlite3_column_double(q, 10);
	s->finished_at = sqlite3_column_double(q, 11);
}

/* A queued step is ready when none of the steps it depends on is unfinished. */
#define READY_SQL \
	"s.state = 'queued' AND NOT EXISTS (SELECT 1 FROM steps d WHERE d.document_id = s.document_id" \
	" AND (s.deps >> d.idx) & 1 AND d.state != 'done')"

/* The roles of a mask as ",none,text," for the statements' role filter
 * (ROLE_IN below), so statement texts stay fixed and are prepared once. */
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
#define ROLE_IN(param, col) "instr(" param ", ',' || " col " || ',') > 0"

/* Strictly the oldest document with a pending step of these roles. */
static const char SQL_CLAIM_IN_ORDER[] =
	"SELECT " STEP_COLS " FROM steps s WHERE " READY_SQL " AND " ROLE_IN("?3", "s.role")
	" AND s.document_id = (SELECT min(document_id) FROM steps WHERE state IN ('queued','running')"
	" AND " ROLE_IN("?3", "role") ") AND (?2 <= 0 OR s.document_id = ?2) ORDER BY s.idx LIMIT 1";
/* The preferred role's steps first, then by document. */
static const char SQL_CLAIM_PREFER[] =
	"SELECT " STEP_COLS " FROM steps s WHERE " READY_SQL " AND " ROLE_IN("?3", "s.role")
	" AND (?2 <= 0 OR s.document_id = ?2) ORDER BY (s.role = ?1) DESC, s.document_id, s.idx LIMIT 1";

struct claim_ctx {
	const struct claim_filter *f;
	struct step_rec *out;
	int found;
	struct err *err;
};

static int claim_tx(store *st, void *user)
{
	struct claim_ctx *c = user;
	char roles[96];
	if (!role_list(c->f->role_mask, roles, sizeof roles))
		return 0;
	const char *prefer = c->f->prefer_role >= 0 ? role_name((enum model_role)c->f->prefer_role) : "";
	sqlite3_stmt *q = stmt(st, c->f->document_order ? SQL_CLAIM_IN_ORDER : SQL_CLAIM_PREFER, c->err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, prefer);
	sqlite3_bind_int64(q, 2, c->f->only_document);
	bind_text(q, 3, roles);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_ROW) {
		step_from_row(q, c->out);
		c->found = 1;
	}
	stmt_done(q);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return db_err(st, c->err, "choosing a step");
	if (!c->found)
		return 0;
	sqlite3_stmt *u = stmt(st, "UPDATE steps SET state='running', owner=?, attempts=attempts+1, started_at=?"
	                           " WHERE id=? AND state='queued'", c->err);
	if (!u)
		return DOSSIER_EDB;
	sqlite3_bind_int64(u, 1, (sqlite3_int64)getpid());
	sqlite3_bind_double(u, 2, clock_wall_s());
	sqlite3_bind_int64(u, 3, c->out->id);
	rc = sqlite3_step(u);
	stmt_done(u);
	if (rc != SQLITE_DONE || sqlite3_changes(st->db) != 1) {
		step_rec_clear(c->out);
		c->found = 0;
		return rc == SQLITE_DONE ? 0 : db_err(st, c->err, "claiming a step");
	}
	c->out->state = STEP_RUNNING;
	c->out->attempts++;
	run1(st, "UPDATE documents SET status='running' WHERE id=? AND status='queued'", c->out->document_id, NULL, NULL);
	return 0;
}

int store_step_claim(store *st, const struct claim_filter *f, struct step_rec *out,
                     struct err *err)
{
	struct claim_ctx c = {f, out, 0, err};
	memset(out, 0, sizeof *out);
	int rc = store_tx(st, claim_tx, &c, err);
	if (rc)
		return rc;
	return c.found ? 0 : DOSSIER_ENOTFOUND;
}

int store_steps_pending(store *st, unsigned ready_by_role[ROLE_COUNT],
                        unsigned waiting_by_role[ROLE_COUNT], unsigned *running,
                        struct err *err)
{
	sqlite3_stmt *q = stmt(st, "SELECT s.role, s.state, (" READY_SQL ") FROM steps s"
	                           " WHERE s.state IN ('queued','running')", err);
	if (!q)
		return DOSSIER_EDB;
	for (int i = 0; i < ROLE_COUNT; i++) {
		if (ready_by_role)
			ready_by_role[i] = 0;
		if (waiting_by_role)
			waiting_by_role[i] = 0;
	}
	if (running)
		*running = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		enum model_role r;
		const char *rs = (const char *)sqlite3_column_text(q, 0);
		if (!rs || role_parse(rs, &r))
			r = ROLE_NONE;
		const char *state = (const char *)sqlite3_column_text(q, 1);
		if (state && !strcmp(state, "running")) {
			if (running)
				(*running)++;
		} else if (sqlite3_column_int(q, 2)) {
			if (ready_by_role)
				ready_by_role[r]++;
		} else if (waiting_by_role) {
			waiting_by_role[r]++;
		}
	}
	stmt_done(q);
	return 0;
}

int store_steps_upcoming(store *st, enum model_role role, unsigned preparing_mask, unsigned *out,
                         struct err *err)
{
	char roles[96];
	role_list(preparing_mask, roles, sizeof roles);
	sqlite3_stmt *q = stmt(st, "SELECT count(*) FROM steps s WHERE s.state = 'queued' AND s.role = ?1"
	                           " AND NOT (" READY_SQL ") AND NOT EXISTS (SELECT 1 FROM steps d"
	                           " WHERE d.document_id = s.document_id AND (s.deps >> d.idx) & 1 AND d.state != 'done'"
	                           " AND (NOT " ROLE_IN("?2", "d.role") " OR d.state NOT IN ('queued','running')))", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, role_name(role));
	bind_text(q, 2, roles);
	int rc = sqlite3_step(q);
	*out = rc == SQLITE_ROW ? (unsigned)sqlite3_column_int(q, 0) : 0;
	stmt_done(q);
	return rc == SQLITE_ROW ? 0 : db_err(st, err, "counting upcoming steps");
}

int store_step_done(store *st, int64_t step_id, const char *result, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "UPDATE steps SET state='done', result=?, last_error=NULL, owner=NULL,"
	                           " finished_at=? WHERE id=?", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, result ? result : "{}");
	sqlite3_bind_double(q, 2, clock_wall_s());
	sqlite3_bind_int64(q, 3, step_id);
	int rc = sqlite3_step(q);
	stmt_done(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "recording a step's result");
}

struct fail_ctx {
	int64_t id;
	const char *error;
	int retry, max_attempts, failed;
	struct err *err;
};

/* Marks steps that depend (directly or not) on a failed or skipped step as skipped. */
int skip_dependents(store *st, int64_t doc_id, struct err *err)
{
	for (int round = 0; round < 64; round++) {
		sqlite3_stmt *q = stmt(st, "UPDATE steps AS s SET state='skipped', owner=NULL,"
		                           " last_error='skipped: a step it needs failed' WHERE s.document_id = ?1"
		                           " AND s.state = 'queued' AND EXISTS (SELECT 1 FROM steps d WHERE"
		                           " d.document_id = s.document_id AND (s.deps >> d.idx) & 1"
		                           " AND d.state IN ('failed','skipped'))", err);
		if (!q)
			return DOSSIER_EDB;
		sqlite3_bind_int64(q, 1, doc_id);
		int rc = sqlite3_step(q);
		stmt_done(q);
		if (rc != SQLITE_DONE)
			return db_err(st, err, "skipping dependent steps");
		if (sqlite3_changes(st->db) == 0)
			break;
	}
	return 0;
}

static int fail_tx(store *st, void *user)
{
	struct fail_ctx *c = user;
	sqlite3_stmt *q = stmt(st, "SELECT attempts, document_id FROM steps WHERE id = ?", c->err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, c->id);
	int attempts = 0;
	int64_t doc = 0;
	if (sqlite3_step(q) == SQLITE_ROW) {
		attempts = sqlite3_column_int(q, 0);
		doc = sqlite3_column_int64(q, 1);
	}
	stmt_done(q);
	c->failed = !(c->retry && attempts < c->max_attempts);
	q = stmt(st, "UPDATE steps SET state=?, last_error=?, owner=NULL, finished_at=? WHERE id=?", c->err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, c->failed ? "failed" : "queued");
	bind_text(q, 2, c->error);
	sqlite3_bind_double(q, 3, clock_wall_s());
	sqlite3_bind_int64(q, 4, c->id);
	int rc = sqlite3_step(q);
	stmt_done(q);
	if (rc != SQLITE_DONE)
		return db_err(st, c->err, "recording a step's failure");
	return c->failed ? skip_dependents(st, doc, c->err) : 0;
}

int store_step_fail(store *st, int64_t step_id, const char *error, int retry,
                    int max_attempts, int *failed_out, struct err *err)
{
	struct fail_ctx c = {step_id, error, retry, max_attempts, 0, err};
	int rc = store_tx(st, fail_tx, &c, err);
	if (failed_out)
		*failed_out = c.failed;
	return rc;
}

int store_step_defer(store *st, int64_t step_id, const char *error, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "UPDATE steps SET state='queued', attempts=max(attempts-1,0), owner=NULL,"
	                           " last_error=? WHERE id=?", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, error);
	sqlite3_bind_int64(q, 2, step_id);
	int rc = sqlite3_step(q);
	stmt_done(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "deferring a step");
}

int store_doc_steps(store *st, int64_t doc_id, struct step_rec **out, size_t *n,
                    struct err *err)
{
	sqlite3_stmt *q = stmt(st, "SELECT " STEP_COLS " FROM steps s WHERE s.document_id = ? ORDER BY s.idx", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, doc_id);
	size_t cap = 8, len = 0;
	struct step_rec *v = xcalloc(cap, sizeof *v);
	while (sqlite3_step(q) == SQLITE_ROW) {
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

int store_recover(store *st, int *n_recovered, struct err *err)
{
	/* one owner at a time: a step whose owner is gone (or is us, from an
	 * earlier life of this pid) is orphaned; live owners (another dossier
	 * sharing the database) keep theirs */
	sqlite3_stmt *q = stmt(st, "SELECT DISTINCT owner FROM steps WHERE state = 'running' AND coalesce(owner, 0) > ?"
	                           " ORDER BY coalesce(owner, 0)", err);
	if (!q)
		return DOSSIER_EDB;
	int total = 0;
	int64_t after = -1;
	for (;;) {
		sqlite3_reset(q);
		sqlite3_bind_int64(q, 1, after);
		if (sqlite3_step(q) != SQLITE_ROW)
			break;
		int64_t pid = sqlite3_column_int64(q, 0);
		after = pid > 0 ? pid : 0;
		if (pid > 0 && pid != (int64_t)getpid() && !(kill((pid_t)pid, 0) != 0 && errno == ESRCH))
			continue;
		sqlite3_stmt *u = stmt(st, "UPDATE steps SET state='queued', attempts=max(attempts-1,0), owner=NULL,"
		                           " last_error='interrupted: the process running it stopped'"
		                           " WHERE state='running' AND coalesce(owner, 0) = ?", err);
		if (!u) {
			stmt_done(q);
			return DOSSIER_EDB;
		}
		sqlite3_bind_int64(u, 1, pid > 0 ? pid : 0);
		sqlite3_step(u);
		total += sqlite3_changes(st->db);
		stmt_done(u);
	}
	stmt_done(q);
	if (n_recovered)
		*n_recovered = total;
	return 0;
}

int store_doc_settled(store *st, int64_t doc_id, int *settled, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "SELECT count(*) FROM steps WHERE document_id = ? AND state IN ('queued','running')", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, doc_id);
	*settled = sqlite3_step(q) == SQLITE_ROW && sqlite3_column_int(q, 0) == 0;
	stmt_done(q);
	return 0;
}

int store_doc_try_finish(store *st, int64_t doc_id, int *won, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "UPDATE documents SET status='assembling' WHERE id = ?1"
	                           " AND status IN ('queued','running') AND NOT EXISTS (SELECT 1 FROM steps"
	                           " WHERE document_id = ?1 AND state IN ('queued','running'))", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, doc_id);
	int rc = sqlite3_step(q);
	stmt_done(q);
	if (rc != SQLITE_DONE)
		return db_err(st, err, "finishing a document");
	*won = sqlite3_changes(st->db) == 1;
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
		*n = sqlite3_changes(st->db);
	return 0;
}

