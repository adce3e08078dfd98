/*
 * measures.c — what loading a model cost (schema 8, table measures): one row
 * per engine, model and context, replaced by each new load. Written from the
 * residency manager's `model_measured` events by the recorder; read by
 * `dossier plan` and `dossier models`.
 */
#include "store/internal.h"
#include "core/util.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

int store_measure_put(store *st, const struct store_measure *m, struct err *err)
{
	struct dbl_stmt *q = stmt(st,
	                       "INSERT INTO measures(engine, model, num_ctx, load_s, resident_bytes, source, predicted_bytes,"
	                       " loads, measured_at) VALUES(?1,?2,?3,?4,?5,?6,?7,1,?8)"
	                       " ON CONFLICT(engine, model, num_ctx) DO UPDATE SET load_s=?4, resident_bytes=?5,"
	                       " source=?6, predicted_bytes=COALESCE(?7, measures.predicted_bytes), loads=measures.loads+1, measured_at=?8",
	                       err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, m->engine);
	bind_text(q, 2, m->model);
	dbl_bind_i64(q, 3, m->num_ctx);
	dbl_bind_double(q, 4, m->load_s);
	dbl_bind_i64(q, 5, (int64_t)m->resident_bytes);
	bind_text(q, 6, m->source);
	if (m->predicted_bytes)
		dbl_bind_i64(q, 7, (int64_t)m->predicted_bytes);
	else
		dbl_bind_null(q, 7);
	dbl_bind_double(q, 8, m->measured_at > 0 ? m->measured_at : clock_wall_s());
	int rc = qstep(st, q);
	stmt_done(q);
	return rc == DBL_DONE ? 0 : db_err(st, err, "recording what a model load cost");
}

int store_measure_from_event(store *st, const char *event_json, struct err *err)
{
	json_t *j = json_loads(event_json ? event_json : "", 0, NULL);
	const char *ev = json_string_value(json_object_get(j, "event"));
	if (!ev || strcmp(ev, "model_measured")) {
		json_decref(j);
		return 0;
	}
	struct store_measure m;
	memset(&m, 0, sizeof m);
	const char *engine = json_string_value(json_object_get(j, "engine"));
	const char *model = json_string_value(json_object_get(j, "model"));
	const char *src = json_string_value(json_object_get(j, "resident_source"));
	json_int_t bytes = json_integer_value(json_object_get(j, "resident_bytes"));
	if (!engine || !model || !src || bytes <= 0) {
		json_decref(j);
		return err_set(err, DOSSIER_EFORMAT, "a model_measured event without engine, model or resident size");
	}
	snprintf(m.engine, sizeof m.engine, "%s", engine);
	snprintf(m.model, sizeof m.model, "%s", model);
	snprintf(m.source, sizeof m.source, "%s", src);
	m.num_ctx = (int)json_integer_value(json_object_get(j, "num_ctx"));
	m.load_s = (double)json_integer_value(json_object_get(j, "load_ms")) / 1000.0;
	m.resident_bytes = (uint64_t)bytes;
	json_int_t pred = json_integer_value(json_object_get(j, "predicted_bytes"));
	m.predicted_bytes = pred > 0 ? (uint64_t)pred : 0;
	json_decref(j);
	return store_measure_put(st, &m, err);
}

int store_measures_each(store *st, const char *engine, int (*cb)(const struct store_measure *m, void *user),
                        void *user, struct err *err)
{
	struct dbl_stmt *q = stmt(st,
	                       "SELECT engine, model, num_ctx, load_s, resident_bytes, source, predicted_bytes, loads,"
	                       " measured_at FROM measures WHERE CAST(?1 AS TEXT) IS NULL OR engine = ?1 ORDER BY model, num_ctx",
	                       err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, engine);
	int rc;
	while ((rc = qstep(st, q)) == DBL_ROW) {
		struct store_measure m;
		memset(&m, 0, sizeof m);
		col_copy(q, 0, m.engine, sizeof m.engine);
		col_copy(q, 1, m.model, sizeof m.model);
		m.num_ctx = (int)dbl_col_i64(q, 2);
		m.load_s = dbl_col_double(q, 3);
		m.resident_bytes = (uint64_t)dbl_col_i64(q, 4);
		col_copy(q, 5, m.source, sizeof m.source);
		m.predicted_bytes = (uint64_t)dbl_col_i64(q, 6);
		m.loads = (int)dbl_col_i64(q, 7);
		m.measured_at = dbl_col_double(q, 8);
		if (cb(&m, user))
			break;
	}
	int ok = rc == DBL_ROW || rc == DBL_DONE;
	stmt_done(q);
	return ok ? 0 : db_err(st, err, "reading the measured model loads");
}
