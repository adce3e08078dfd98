/*
 * vectors.c — chunks of documents' text and their embeddings (store.h,
 * "vectors"; schema version 9). The store keeps the vectors; what a query
 * does with them (the scan, the re-rank, the fusion) is pipeline/semantic.c's.
 */
#include "store/internal.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct replace_ctx {
	int64_t doc_id;
	const char *model;
	int dim;
	const struct vec_chunk *c;
	size_t n;
	signed char *q8;
	float *f32;
	struct err *err;
};

/* v normalised into f (dim floats) and quantised into q with *scale. */
static void quantise(const float *v, int dim, float *f, signed char *q, float *scale)
{
	double ss = 0;
	for (int i = 0; i < dim; i++)
		ss += (double)v[i] * v[i];
	double inv = ss > 0 ? 1.0 / sqrt(ss) : 0;
	float mx = 0;
	for (int i = 0; i < dim; i++) {
		f[i] = (float)(v[i] * inv);
		if (fabsf(f[i]) > mx)
			mx = fabsf(f[i]);
	}
	*scale = mx > 0 ? mx / 127.0f : 1.0f;
	for (int i = 0; i < dim; i++) {
		long r = lroundf(f[i] / *scale);
		q[i] = (signed char)(r > 127 ? 127 : r < -127 ? -127 : r);
	}
}

static int replace_tx(store *st, void *user)
{
	struct replace_ctx *c = user;
	int rc = run1(st, "DELETE FROM chunks WHERE document_id = ?1", c->doc_id, NULL, c->err);
	if (rc)
		return rc;
	struct dbl_stmt *q = NULL;
	for (size_t i = 0; i < c->n; i++) {
		const struct vec_chunk *k = &c->c[i];
		float scale;
		quantise(k->vec, c->dim, c->f32, c->q8, &scale);
		q = stmt(st, "INSERT INTO chunks(document_id, seq, source, start_s, end_s, page, text, model, dim, f32)"
		             " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id", c->err);
		if (!q)
			return DOSSIER_EDB;
		dbl_bind_i64(q, 1, c->doc_id);
		dbl_bind_i64(q, 2, k->seq);
		bind_text(q, 3, k->source ? k->source : "text");
		if (k->start_s >= 0)
			dbl_bind_double(q, 4, k->start_s);
		if (k->end_s >= 0)
			dbl_bind_double(q, 5, k->end_s);
		if (k->page > 0)
			dbl_bind_i64(q, 6, k->page);
		bind_text(q, 7, k->text ? k->text : "");
		bind_text(q, 8, c->model);
		dbl_bind_i64(q, 9, c->dim);
		dbl_bind_blob(q, 10, c->f32, (size_t)c->dim * sizeof(float));
		int s = qstep(st, q);
		int64_t chunk_id = s == DBL_ROW ? dbl_col_i64(q, 0) : 0;
		if (s == DBL_ROW)
			s = qstep(st, q);
		stmt_done(q);
		if (s == DBL_DONE) {
			q = stmt(st, "INSERT INTO chunk_q8(chunk_id, document_id, model, dim, scale, q8) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
			         c->err);
			if (!q)
				return DOSSIER_EDB;
			dbl_bind_i64(q, 1, chunk_id);
			dbl_bind_i64(q, 2, c->doc_id);
			bind_text(q, 3, c->model);
			dbl_bind_i64(q, 4, c->dim);
			dbl_bind_double(q, 5, scale);
			dbl_bind_blob(q, 6, c->q8, (size_t)c->dim);
			s = qstep(st, q);
			stmt_done(q);
		}
		if (s != DBL_DONE)
			return db_err(st, c->err, "storing a chunk's vector");
	}
	return 0;
}

int store_vectors_replace(store *st, int64_t doc_id, const char *model, int dim, const struct vec_chunk *c,
                          size_t n, struct err *err)
{
	if (n && (!model || !*model || dim <= 0 || dim > 65536 || !c))
		return err_set(err, DOSSIER_EINVAL, "store_vectors_replace: no model, no chunks or a bad dimension (%d)", dim);
	struct replace_ctx x = {doc_id, model ? model : "", dim, c, n, NULL, NULL, err};
	if (n) {
		x.q8 = malloc((size_t)dim);
		x.f32 = malloc((size_t)dim * sizeof(float));
		if (!x.q8 || !x.f32) {
			free(x.q8);
			free(x.f32);
			return err_set(err, DOSSIER_ENOMEM, "out of memory storing vectors");
		}
	}
	int rc = store_tx(st, replace_tx, &x, err);
	free(x.q8);
	free(x.f32);
	return rc;
}

int store_vectors_count(store *st, const char *model, int64_t *n, int64_t *other, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT COUNT(*) FILTER (WHERE CAST(?1 AS TEXT) IS NULL OR model = ?1),"
	                           " COUNT(*) FILTER (WHERE CAST(?1 AS TEXT) IS NOT NULL AND model != ?1) FROM chunks", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, model);
	int rc = qstep(st, q) == DBL_ROW ? 0 : db_err(st, err, "counting vectors");
	if (!rc) {
		if (n)
			*n = dbl_col_i64(q, 0);
		if (other)
			*other = dbl_col_i64(q, 1);
	}
	stmt_done(q);
	return rc;
}

int store_vectors_dim(store *st, const char *model, int *dim, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT dim FROM chunks WHERE model = ?1 LIMIT 1", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, model);
	int s = qstep(st, q);
	*dim = s == DBL_ROW ? (int)dbl_col_i64(q, 0) : 0;
	stmt_done(q);
	return s == DBL_ROW || s == DBL_DONE ? 0 : db_err(st, err, "reading the vectors' dimension");
}

int store_vectors_scan(store *st, const char *model, int dim,
                       int (*cb)(int64_t id, int64_t doc_id, const signed char *q8, float scale, void *user),
                       void *user, struct err *err)
{
	/* the whole small table, in rowid order: no index lookups per row */
	struct dbl_stmt *q = stmt(st, "SELECT chunk_id, document_id, scale, q8 FROM chunk_q8 WHERE model = ?1 AND dim = ?2", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, model);
	dbl_bind_i64(q, 2, dim);
	int s;
	while ((s = qstep(st, q)) == DBL_ROW) {
		size_t nb;
		const void *b = dbl_col_blob(q, 3, &nb);
		if (!b || nb != (size_t)dim)
			continue;
		if (cb(dbl_col_i64(q, 0), dbl_col_i64(q, 1), b, (float)dbl_col_double(q, 2), user))
			break;
	}
	stmt_done(q);
	return s == DBL_ROW || s == DBL_DONE ? 0 : db_err(st, err, "reading vectors");
}

int store_vectors_scan_doc(store *st, int64_t doc_id, const char *model, int dim,
                           int (*cb)(int64_t id, int64_t doc_id, const signed char *q8, float scale, void *user),
                           void *user, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT q.chunk_id, q.document_id, q.scale, q.q8 FROM chunks c"
	                           " JOIN chunk_q8 q ON q.chunk_id = c.id"
	                           " WHERE c.document_id = ?1 AND q.model = ?2 AND q.dim = ?3", err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, doc_id);
	bind_text(q, 2, model);
	dbl_bind_i64(q, 3, dim);
	int s;
	while ((s = qstep(st, q)) == DBL_ROW) {
		size_t nb;
		const void *b = dbl_col_blob(q, 3, &nb);
		if (!b || nb != (size_t)dim)
			continue;
		if (cb(dbl_col_i64(q, 0), dbl_col_i64(q, 1), b, (float)dbl_col_double(q, 2), user))
			break;
	}
	stmt_done(q);
	return s == DBL_ROW || s == DBL_DONE ? 0 : db_err(st, err, "reading a document's vectors");
}

int store_vectors_gen(store *st, int64_t *gen, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT COALESCE(MAX(gen), 0) FROM vector_docs", err);
	if (!q)
		return DOSSIER_EDB;
	int rc = qstep(st, q) == DBL_ROW ? 0 : db_err(st, err, "reading the vectors' generation");
	*gen = rc ? 0 : dbl_col_i64(q, 0);
	stmt_done(q);
	return rc;
}

int store_vectors_changed(store *st, int64_t since,
                          int (*cb)(int64_t doc_id, int64_t gen, void *user), void *user, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT document_id, gen FROM vector_docs WHERE gen > ?1 ORDER BY gen", err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, since);
	int s;
	while ((s = qstep(st, q)) == DBL_ROW)
		if (cb(dbl_col_i64(q, 0), dbl_col_i64(q, 1), user))
			break;
	stmt_done(q);
	return s == DBL_ROW || s == DBL_DONE ? 0 : db_err(st, err, "reading which vectors changed");
}

int store_vector_get(store *st, int64_t id, int dim, float *out, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT f32 FROM chunks WHERE id = ?1", err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, id);
	int rc;
	size_t nb = 0;
	const void *b = qstep(st, q) == DBL_ROW ? dbl_col_blob(q, 0, &nb) : NULL;
	if (b && nb == (size_t)dim * sizeof(float)) {
		memcpy(out, b, nb);
		rc = 0;
	} else {
		rc = err_set(err, DOSSIER_ENOTFOUND, "no vector of %d dimensions for chunk %lld", dim, (long long)id);
	}
	stmt_done(q);
	return rc;
}

int store_chunk_info(store *st, int64_t id, struct vec_chunk_info *info, struct err *err)
{
	memset(info, 0, sizeof *info);
	struct dbl_stmt *q = stmt(st, "SELECT document_id, seq, source, start_s, end_s, page, text FROM chunks WHERE id = ?1",
	                       err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, id);
	int rc = 0;
	if (qstep(st, q) == DBL_ROW) {
		info->id = id;
		info->document_id = dbl_col_i64(q, 0);
		info->seq = (int)dbl_col_i64(q, 1);
		col_copy(q, 2, info->source, sizeof info->source);
		info->start_s = dbl_col_is_null(q, 3) ? -1 : dbl_col_double(q, 3);
		info->end_s = dbl_col_is_null(q, 4) ? -1 : dbl_col_double(q, 4);
		info->page = (int)dbl_col_i64(q, 5);
		info->text = col_dup(q, 6);
	} else {
		rc = err_set(err, DOSSIER_ENOTFOUND, "no chunk %lld", (long long)id);
	}
	stmt_done(q);
	return rc;
}

int store_doc_vector(store *st, int64_t doc_id, const char *model, int dim, float *out, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT f32 FROM chunks WHERE document_id = ?1 AND model = ?2 AND dim = ?3", err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, doc_id);
	bind_text(q, 2, model);
	dbl_bind_i64(q, 3, dim);
	memset(out, 0, (size_t)dim * sizeof(float));
	int n = 0, s;
	while ((s = qstep(st, q)) == DBL_ROW) {
		size_t nb;
		const float *v = dbl_col_blob(q, 0, &nb);
		if (!v || nb != (size_t)dim * sizeof(float))
			continue;
		for (int i = 0; i < dim; i++)
			out[i] += v[i];
		n++;
	}
	stmt_done(q);
	if (s != DBL_DONE)
		return db_err(st, err, "reading a document's vectors");
	if (!n)
		return err_set(err, DOSSIER_ENOTFOUND, "document %lld has no vectors of model '%s' (analyse it with an "
		               "embedding model first)", (long long)doc_id, model);
	for (int i = 0; i < dim; i++)
		out[i] /= (float)n;
	return 0;
}

int store_doc_brief(store *st, int64_t id, const struct doc_filter *f, struct doc_rec *d, char **title,
                    struct err *err)
{
	*title = NULL;
	struct dbl_stmt *q = stmt(st, "SELECT " DOC_COLS ", (SELECT f.title FROM dossier_fts f WHERE f.rowid = d.id)"
	                           " FROM documents d WHERE d.id = ?1 AND" DOC_FILTER_WHERE, err);
	if (!q)
		return DOSSIER_EDB;
	dbl_bind_i64(q, 1, id);
	bind_doc_filter(q, f);
	int s = qstep(st, q), rc = 0;
	if (s == DBL_ROW) {
		doc_from_row(q, d);
		*title = col_dup(q, 12);
	} else if (s == DBL_DONE) {
		rc = DOSSIER_ENOTFOUND;
		err_set(err, rc, "document %lld is not there or not kept by the filter", (long long)id);
	} else {
		rc = db_err(st, err, "reading a document");
	}
	stmt_done(q);
	return rc;
}
