/*
 * events.c — the events table and event numbers shared by processes.
 */
#include "store/internal.h"
#include "core/util.h"

/* ================================================================ events */

int store_event_put(store *st, uint64_t seq, const char *name, int64_t doc_id,
                    const char *json, struct err *err)
{
	sqlite3_stmt *q = stmt(st, "INSERT OR IGNORE INTO events(seq, time, event, document_id, json) VALUES(?,?,?,?,?)", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)seq);
	sqlite3_bind_double(q, 2, clock_wall_s());
	bind_text(q, 3, name);
	if (doc_id)
		sqlite3_bind_int64(q, 4, doc_id);
	else
		sqlite3_bind_null(q, 4);
	bind_text(q, 5, json);
	int rc = sqlite3_step(q);
	stmt_done(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, err, "storing an event");
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
	sqlite3_stmt *q = stmt(st, "SELECT max(coalesce((SELECT value FROM meta WHERE key = 'next_event_seq'), 1),"
	                           " coalesce((SELECT max(seq) FROM events), 0) + 1)", c->err);
	if (!q)
		return DOSSIER_EDB;
	c->first = sqlite3_step(q) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(q, 0) : 1;
	stmt_done(q);
	q = stmt(st, "INSERT INTO meta(key, value) VALUES('next_event_seq', ?)"
	             " ON CONFLICT(key) DO UPDATE SET value = excluded.value", c->err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)(c->first + c->n));
	int rc = sqlite3_step(q);
	stmt_done(q);
	return rc == SQLITE_DONE ? 0 : db_err(st, c->err, "reserving event numbers");
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
	sqlite3_stmt *q = stmt(st, "SELECT seq, json FROM events WHERE seq > ? ORDER BY seq LIMIT ?", err);
	if (!q)
		return DOSSIER_EDB;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)after);
	sqlite3_bind_int(q, 2, limit > 0 ? limit : -1);
	while (sqlite3_step(q) == SQLITE_ROW)
		if (cb((uint64_t)sqlite3_column_int64(q, 0), (const char *)sqlite3_column_text(q, 1), user))
			break;
	stmt_done(q);
	return 0;
}
