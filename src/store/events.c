/*
 * events.c — the events table and event numbers shared by processes.
 */
#include "store/internal.h"
#include "core/util.h"

/* ================================================================ events */

int store_event_put(store *st, uint64_t seq, const char *name, int64_t doc_id,
                    const char *json, struct err *err)
{
	struct dbl_stmt *q = stmt(st, DBL_INSERT_OR_IGNORE " INTO events(seq, time, event, document_id, json) VALUES(?1,?2,?3,?4,?5)" DBL_ON_CONFLICT_IGNORE, err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, (int64_t)seq);
	dbl_bind_double(q, 2, clock_wall_s());
	bind_text(q, 3, name);
	if (doc_id)
		dbl_bind_i64(q, 4, doc_id);
	else
		dbl_bind_null(q, 4);
	bind_text(q, 5, json);
	int rc = qstep(st, q);
	stmt_done(q);
	return rc == DBL_DONE ? 0 : db_err(st, err, "storing an event");
}

int events_insert(store *st, const struct store_event *ev, size_t n, struct err *err)
{
	for (size_t i = 0; i < n; i++) {
		int rc = store_event_put(st, ev[i].seq, ev[i].name, ev[i].doc_id, ev[i].json, err);
		if (rc)
			return rc;
	}
	return 0;
}

int store_events_put(store *st, const struct store_event *events, size_t n_events, struct err *err)
{
	return events_insert(st, events, n_events, err);
}

struct reserve_ctx {
	uint64_t n, first;
	struct err *err;
};

static int reserve_tx(store *st, void *user)
{
	struct reserve_ctx *c = user;
	/* PostgreSQL reads committed rows without a lock: the row is locked first,
	 * so two processes reserving at once take their blocks one after the other
	 * (SQLite's BEGIN IMMEDIATE already serialises them) */
	if (st->backend == DBL_PG &&
	    (run1(st, "INSERT INTO meta(key, value) VALUES('next_event_seq', ?1) ON CONFLICT(key) DO NOTHING", 1, NULL,
	          c->err) ||
	     run1(st, "SELECT value FROM meta WHERE key = 'next_event_seq' AND ?1 = ?1 FOR UPDATE", 0, NULL, c->err)))
		return DOSSIER_EDB;
	struct dbl_stmt *q = stmt(st, "SELECT " DBL_MAX2 "(coalesce((SELECT value FROM meta WHERE key = 'next_event_seq'), 1),"
	                           " coalesce((SELECT max(seq) FROM events), 0) + 1)", c->err);
	if (!q)
		return DOSSIER_EDB;
	c->first = qstep(st, q) == DBL_ROW ? (uint64_t)dbl_col_i64(q, 0) : 1;
	stmt_done(q);
	q = stmt(st, "INSERT INTO meta(key, value) VALUES('next_event_seq', ?1)"
	             " ON CONFLICT(key) DO UPDATE SET value = excluded.value", c->err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, (int64_t)(c->first + c->n));
	int rc = qstep(st, q);
	stmt_done(q);
	return rc == DBL_DONE ? 0 : db_err(st, c->err, "reserving event numbers");
}

int store_event_reserve(store *st, uint64_t n, uint64_t *first, struct err *err)
{
	struct reserve_ctx c = {n, 0, err};
	int rc = store_tx(st, reserve_tx, &c, err);
	if (!rc)
		*first = c.first;
	return rc;
}

int store_events_since(store *st, uint64_t after, int limit,
                       int (*cb)(uint64_t seq, const char *json, void *user), void *user,
                       struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT seq, json FROM events WHERE seq > ?1 ORDER BY seq" DBL_LIMIT("?2"), err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, (int64_t)after);
	dbl_bind_i64(q, 2, limit > 0 ? limit : -1);
	while (qstep(st, q) == DBL_ROW)
		if (cb((uint64_t)dbl_col_i64(q, 0), dbl_col_text(q, 1), user))
			break;
	stmt_done(q);
	return 0;
}
