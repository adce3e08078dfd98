/*
 * leases.c — workers and their leases: who may hold running steps, until when.
 *
 * A worker (one scheduler run) registers a holder id with an expiry and keeps
 * it alive with heartbeats. Claims name the holder. Expiry is data: any
 * process sharing the database may requeue the running steps of a holder
 * whose lease has expired. On this host a dead holder is known at once (its
 * pid is gone, or the pid now belongs to another process), so `kill -9` and
 * a new run resume without waiting for the lease to run out.
 */
#include "store/internal.h"
#include "core/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The start time of a process (clock ticks since boot, /proc/<pid>/stat field
 * 22): with the pid it tells one life of a process from the next. 0 = unknown. */
static long long proc_start(long pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
	if (!p)
		return 0;
	p++;
	/* fields after the name start at 3 (state); starttime is field 22 */
	for (int field = 3; field < 22 && p; field++) {
		p = strchr(p + 1, ' ');
	}
	return p ? strtoll(p + 1, NULL, 10) : 0;
}

void store_this_host(char *out, size_t n)
{
	const char *h = getenv("DOSSIER_HOST");
	if (h && *h)
		snprintf(out, n, "%s", h);
	else if (gethostname(out, n) != 0 || !*out)
		snprintf(out, n, "localhost");
	out[n - 1] = '\0';
}

#define this_host store_this_host

int store_worker_note(store *st, const char *holder, const char *models, const char *engine, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "UPDATE workers SET models = ?2, engine = ?3 WHERE holder = ?1", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, holder);
	bind_text(q, 2, models ? models : "");
	bind_text(q, 3, engine ? engine : "");
	int rc = qstep(st, q);
	stmt_done(q);
	return rc == DBL_DONE ? 0 : db_err(st, err, "noting a worker's models");
}

int store_workers_list(store *st, int (*cb)(const struct worker_rec *w, void *user), void *user,
                       struct err *err)
{
	struct dbl_stmt *q = stmt(st,
		"SELECT w.holder, w.host, w.pid, w.started_at, w.heartbeat_at, w.expires_at, coalesce(w.models, ''),"
		" coalesce(w.engine, ''),"
		" (SELECT count(*) FROM steps s WHERE s.state = 'running' AND s.holder = w.holder),"
		" (SELECT s.kind FROM steps s WHERE s.state = 'running' AND s.holder = w.holder ORDER BY s.started_at LIMIT 1),"
		" (SELECT s.document_id FROM steps s WHERE s.state = 'running' AND s.holder = w.holder"
		"   ORDER BY s.started_at LIMIT 1),"
		" (SELECT count(*) FROM steps s WHERE s.state = 'done' AND s.done_by = w.holder)"
		" FROM workers w ORDER BY w.started_at DESC, w.holder", err);
	if (!q)
		return DOSSIER_EDB;
	int rc;
	while ((rc = qstep(st, q)) == DBL_ROW) {
		struct worker_rec w = {
			.holder = dbl_col_text(q, 0),
			.host = dbl_col_text(q, 1),
			.pid = (long)dbl_col_i64(q, 2),
			.started_at = dbl_col_double(q, 3),
			.heartbeat_at = dbl_col_double(q, 4),
			.expires_at = dbl_col_double(q, 5),
			.models = dbl_col_text(q, 6),
			.engine = dbl_col_text(q, 7),
			.running = (int)dbl_col_i64(q, 8),
			.step_kind = dbl_col_text(q, 9),
			.step_document = dbl_col_i64(q, 10),
			.done = (int)dbl_col_i64(q, 11),
		};
		if (cb(&w, user))
			break;
	}
	stmt_done(q);
	return rc == DBL_ROW || rc == DBL_DONE ? 0 : db_err(st, err, "listing workers");
}

int store_lease_acquire(store *st, const char *holder, double ttl_s, char *holder_out, size_t n,
                        struct err *err)
{
	static unsigned counter; /* distinguishes the leases of one process */
	char host[256], auto_holder[STORE_HOLDER_MAX];
	long pid = (long)getpid();
	long long start = proc_start(pid);
	this_host(host, sizeof host);
	if (!holder) {
		unsigned k = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
		if (k == 1)
			snprintf(auto_holder, sizeof auto_holder, "%s:%ld:%lld", host, pid, start);
		else
			snprintf(auto_holder, sizeof auto_holder, "%s:%ld:%lld/%u", host, pid, start, k);
		holder = auto_holder;
	}
	if (strlen(holder) >= STORE_HOLDER_MAX || (holder_out && strlen(holder) >= n))
		return err_set(err, DOSSIER_EINVAL, "lease holder id too long: %s", holder);
	double now = clock_wall_s();
	struct dbl_stmt *q = stmt(st, "INSERT INTO workers(holder, host, pid, proc_start, started_at, heartbeat_at, expires_at)"
	                           " VALUES(?1,?2,?3,?4,?5,?5,?6) ON CONFLICT(holder) DO UPDATE SET host=excluded.host,"
	                           " pid=excluded.pid, proc_start=excluded.proc_start, heartbeat_at=excluded.heartbeat_at,"
	                           " expires_at=excluded.expires_at", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, holder);
	bind_text(q, 2, host);
	dbl_bind_i64(q, 3, pid);
	dbl_bind_i64(q, 4, start);
	dbl_bind_double(q, 5, now);
	dbl_bind_double(q, 6, now + (ttl_s > 0 ? ttl_s : STORE_LEASE_TTL_S));
	int rc = qstep(st, q);
	stmt_done(q);
	if (rc != DBL_DONE)
		return db_err(st, err, "registering a worker");
	if (holder_out)
		snprintf(holder_out, n, "%s", holder);
	return 0;
}

int store_lease_heartbeat(store *st, const char *holder, double ttl_s, struct err *err)
{
	double now = clock_wall_s();
	struct dbl_stmt *q = stmt(st, "UPDATE workers SET heartbeat_at = ?2, expires_at = ?3 WHERE holder = ?1", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, holder);
	dbl_bind_double(q, 2, now);
	dbl_bind_double(q, 3, now + (ttl_s > 0 ? ttl_s : STORE_LEASE_TTL_S));
	int rc = qstep(st, q);
	stmt_done(q);
	if (rc != DBL_DONE)
		return db_err(st, err, "renewing a lease");
	if (dbl_changes(st->c) != 1)
		return err_set(err, DOSSIER_ESTALE, "the lease of %s expired and its steps went to others", holder);
	return 0;
}

static const char SQL_REQUEUE_HOLDER[] =
	"UPDATE steps SET state='queued', attempts=" DBL_MAX2 "(attempts-1,0), holder=NULL, last_error=?2"
	" WHERE state='running' AND holder" DBL_IS "?1";

static int delete_worker(store *st, const char *holder, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "DELETE FROM workers WHERE holder = ?1", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, holder);
	int rc = qstep(st, q);
	stmt_done(q);
	return rc == DBL_DONE ? 0 : db_err(st, err, "removing a worker");
}

struct release_ctx {
	const char *holder;
	int n;
	struct err *err;
};

static int release_tx(store *st, void *user)
{
	struct release_ctx *c = user;
	struct dbl_stmt *q = stmt(st, SQL_REQUEUE_HOLDER, c->err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, c->holder);
	bind_text(q, 2, "interrupted: the run stopped before it finished");
	int rc = qstep(st, q);
	stmt_done(q);
	if (rc != DBL_DONE)
		return db_err(st, c->err, "giving back a worker's steps");
	c->n = dbl_changes(st->c);
	return delete_worker(st, c->holder, c->err);
}

int store_lease_release(store *st, const char *holder, int *n_requeued, struct err *err)
{
	struct release_ctx c = {holder, 0, err};
	int rc = store_tx(st, release_tx, &c, err);
	if (n_requeued)
		*n_requeued = rc ? 0 : c.n;
	return rc;
}

/* ------------------------------------------------------------- recovery */

struct holder_row {
	char *holder;          /* NULL: steps left running by a schema-2 process (no holder) */
	int known;             /* a workers row exists */
	char host[256];
	long pid;
	long long start;
	double expires_at;
};

/* 1 if the holder's claims are void: its lease ran out, or on this host its
 * process is gone or the pid belongs to a later process. */
static int holder_dead(const struct holder_row *h, const char *host, double now)
{
	if (!h->holder || !h->known || h->expires_at <= now)
		return 1;
	if (strcmp(h->host, host) || h->pid <= 0)
		return 0;
	if (kill((pid_t)h->pid, 0) != 0 && errno == ESRCH)
		return 1;
	long long start = proc_start(h->pid);
	return h->start && start && start != h->start;
}

struct recover_ctx {
	int n;
	struct err *err;
};

static int recover_tx(store *st, void *user)
{
	struct recover_ctx *c = user;
	char host[256];
	double now = clock_wall_s();
	this_host(host, sizeof host);
	struct dbl_stmt *q = stmt(st, "SELECT DISTINCT s.holder, w.holder IS NOT NULL, w.host, w.pid, w.proc_start, w.expires_at"
	                           " FROM steps s LEFT JOIN workers w ON w.holder = s.holder WHERE s.state = 'running'", c->err);
	if (!q)
		return DOSSIER_EDB;
	struct holder_row *v = NULL;
	size_t n = 0, cap = 0;
	int rc;
	while ((rc = qstep(st, q)) == DBL_ROW) {
		if (n == cap) {
			size_t ncap = cap ? 2 * cap : 8;
			struct holder_row *nv = realloc(v, ncap * sizeof *v);
			if (!nv) {
				rc = DOSSIER_ENOMEM;
				break;
			}
			v = nv;
			cap = ncap;
		}
		struct holder_row *h = &v[n++];
		memset(h, 0, sizeof *h);
		h->holder = col_dup(q, 0);
		h->known = (int)dbl_col_i64(q, 1);
		col_copy(q, 2, h->host, sizeof h->host);
		h->pid = (long)dbl_col_i64(q, 3);
		h->start = dbl_col_i64(q, 4);
		h->expires_at = dbl_col_double(q, 5);
	}
	stmt_done(q);
	rc = rc == DBL_DONE ? 0 : rc == DOSSIER_ENOMEM ? err_set(c->err, DOSSIER_ENOMEM, "out of memory")
	                               : db_err(st, c->err, "finding running steps");
	for (size_t i = 0; i < n && !rc; i++) {
		if (!holder_dead(&v[i], host, now))
			continue;
		struct dbl_stmt *u = stmt(st, SQL_REQUEUE_HOLDER, c->err);
		if (!u) {
			rc = DOSSIER_EDB;
			break;
		}
		bind_text(u, 1, v[i].holder);
		bind_text(u, 2, "interrupted: the process running it stopped");
		if (qstep(st, u) != DBL_DONE)
			rc = db_err(st, c->err, "requeueing orphaned steps");
		c->n += dbl_changes(st->c);
		stmt_done(u);
		if (!rc && v[i].holder && v[i].known)
			rc = delete_worker(st, v[i].holder, c->err);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].holder);
	free(v);
	/* leases that ran out without steps: forget them */
	if (!rc) {
		struct dbl_stmt *d = stmt(st, "DELETE FROM workers WHERE expires_at < ?1", c->err);
		if (!d)
			return DOSSIER_EDB;
		dbl_bind_double(d, 1, now);
		rc = qstep(st, d) == DBL_DONE ? 0 : db_err(st, c->err, "removing expired workers");
		stmt_done(d);
	}
	return rc;
}

int store_recover(store *st, int *n_recovered, struct err *err)
{
	struct recover_ctx c = {0, err};
	int rc = store_tx(st, recover_tx, &c, err);
	if (n_recovered)
		*n_recovered = rc ? 0 : c.n;
	return rc;
}
