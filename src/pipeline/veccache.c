/*
 * veccache.c — see veccache.h.
 */
#include "pipeline/veccache.h"
#include "core/err.h"
#include "core/util.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* reserve(): the rows would pass the limit */
#define VC_FULL (-1)

struct veccache {
	pthread_rwlock_t rw;
	size_t limit;
	void (*log)(void *, const char *);
	void *log_user;
	/* under rw */
	char model[128];
	int dim;
	int loaded;          /* the arrays reflect the store at generation gen */
	int over;            /* the vectors did not fit at generation gen */
	int told_over;       /* the log heard so */
	int64_t gen;
	size_t n, cap;       /* rows held, rows allocated */
	signed char *q8;     /* n x dim */
	float *scale;
	int64_t *id, *doc;
	uint64_t loads, updates;
	double last_load_s;
};

int veccache_new(size_t limit_bytes, void (*log)(void *, const char *), void *log_user, veccache **out)
{
	veccache *c = calloc(1, sizeof *c);
	if (!c || pthread_rwlock_init(&c->rw, NULL)) {
		free(c);
		*out = NULL;
		return DOSSIER_ENOMEM;
	}
	c->limit = limit_bytes;
	c->log = log;
	c->log_user = log_user;
	*out = c;
	return 0;
}

static void drop(veccache *c)
{
	free(c->q8);
	free(c->scale);
	free(c->id);
	free(c->doc);
	c->q8 = NULL;
	c->scale = NULL;
	c->id = c->doc = NULL;
	c->n = c->cap = 0;
	c->loaded = 0;
}

void veccache_free(veccache *c)
{
	if (!c)
		return;
	drop(c);
	pthread_rwlock_destroy(&c->rw);
	free(c);
}

/* Room for want rows: 0, VC_FULL past the limit, or DOSSIER_ENOMEM. */
static int reserve(veccache *c, size_t want)
{
	if (want <= c->cap)
		return 0;
	size_t row = VECCACHE_ROW_BYTES(c->dim), max_rows = c->limit / row;
	if (want > max_rows)
		return VC_FULL;
	size_t cap = c->cap ? c->cap + c->cap / 4 : 1024;
	if (cap < want)
		cap = want;
	if (cap > max_rows)
		cap = max_rows;
	signed char *q8 = realloc(c->q8, cap * (size_t)c->dim);
	if (q8)
		c->q8 = q8;
	float *sc = realloc(c->scale, cap * sizeof *sc);
	if (sc)
		c->scale = sc;
	int64_t *id = realloc(c->id, cap * sizeof *id);
	if (id)
		c->id = id;
	int64_t *doc = realloc(c->doc, cap * sizeof *doc);
	if (doc)
		c->doc = doc;
	if (!q8 || !sc || !id || !doc)
		return DOSSIER_ENOMEM;
	c->cap = cap;
	return 0;
}

struct fill {
	veccache *c;
	int rc;
};

static int on_row(int64_t id, int64_t doc, const signed char *q8, float scale, void *user)
{
	struct fill *f = user;
	veccache *c = f->c;
	if (c->n == c->cap && (f->rc = reserve(c, c->n + 1)))
		return 1;
	memcpy(c->q8 + c->n * (size_t)c->dim, q8, (size_t)c->dim);
	c->scale[c->n] = scale;
	c->id[c->n] = id;
	c->doc[c->n] = doc;
	c->n++;
	return 0;
}

static void say(veccache *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(veccache *c, const char *fmt, ...)
{
	if (!c->log)
		return;
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	c->log(c->log_user, line);
}

/* The vectors do not fit: nothing held, queries go to the store; said once. */
static int over_limit(veccache *c, int64_t gen, int64_t rows)
{
	drop(c);
	c->over = 1;
	c->gen = gen;
	if (!c->told_over) {
		c->told_over = 1;
		char lim[32], need[32];
		size_format(c->limit, lim, sizeof lim);
		size_format((uint64_t)rows * VECCACHE_ROW_BYTES(c->dim), need, sizeof need);
		say(c, "vector cache: %lld chunks of '%s' need %s, more than vector_cache %s: semantic search reads "
		       "the vectors from the database on each query (slower; raise vector_cache or --vector-cache)",
		    (long long)rows, c->model, need, lim);
	}
	return DOSSIER_EUNAVAILABLE;
}

static int full_load(veccache *c, store *st, int64_t gen, struct err *err)
{
	double t0 = clock_mono_s();
	drop(c);
	c->over = 0;
	int64_t rows = 0;
	int rc = store_vectors_count(st, c->model, &rows, NULL, err);
	if (rc)
		return rc;
	if ((uint64_t)rows > c->limit / VECCACHE_ROW_BYTES(c->dim))
		return over_limit(c, gen, rows);
	if (rows && (rc = reserve(c, (size_t)rows)))
		return rc == VC_FULL ? over_limit(c, gen, rows) : err_set(err, rc, "out of memory loading vectors");
	struct fill f = {c, 0};
	rc = store_vectors_scan(st, c->model, c->dim, on_row, &f, err);
	if (!rc && f.rc == VC_FULL)
		return over_limit(c, gen, (int64_t)c->n + 1);
	if (!rc && f.rc)
		rc = err_set(err, f.rc, "out of memory loading vectors");
	if (rc) {
		drop(c);
		return rc;
	}
	c->loaded = 1;
	c->gen = gen;
	c->loads++;
	c->last_load_s = clock_mono_s() - t0;
	char sz[32];
	size_format(c->n * VECCACHE_ROW_BYTES(c->dim), sz, sizeof sz);
	say(c, "vector cache: %zu chunks of '%s' (%d dimensions) loaded in %.0f ms, %s", c->n, c->model, c->dim,
	    c->last_load_s * 1e3, sz);
	return 0;
}

struct changed {
	int64_t *ids;
	size_t n, cap;
};

static int on_changed(int64_t doc, int64_t gen, void *user)
{
	(void)gen;
	struct changed *ch = user;
	if (ch->n == ch->cap) {
		size_t cap = ch->cap ? ch->cap * 2 : 64;
		int64_t *p = realloc(ch->ids, cap * sizeof *p);
		if (!p)
			return 1;
		ch->ids = p;
		ch->cap = cap;
	}
	ch->ids[ch->n++] = doc;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* The documents changed since c->gen dropped and read again. */
static int update(veccache *c, store *st, int64_t gen, struct err *err)
{
	struct changed ch = {0};
	int rc = store_vectors_changed(st, c->gen, on_changed, &ch, err);
	if (rc) {
		free(ch.ids);
		return rc;
	}
	qsort(ch.ids, ch.n, sizeof *ch.ids, cmp_i64);
	/* many documents changed: one load is cheaper than many small reads */
	if (ch.n > 64 && ch.n * 20 > c->n) {
		free(ch.ids);
		return full_load(c, st, gen, err);
	}
	for (size_t i = 0; i < c->n;) {
		if (bsearch(&c->doc[i], ch.ids, ch.n, sizeof *ch.ids, cmp_i64)) {
			size_t last = --c->n;
			if (i != last) {
				memcpy(c->q8 + i * (size_t)c->dim, c->q8 + last * (size_t)c->dim, (size_t)c->dim);
				c->scale[i] = c->scale[last];
				c->id[i] = c->id[last];
				c->doc[i] = c->doc[last];
			}
		} else {
			i++;
		}
	}
	struct fill f = {c, 0};
	for (size_t i = 0; !rc && !f.rc && i < ch.n; i++)
		rc = store_vectors_scan_doc(st, ch.ids[i], c->model, c->dim, on_row, &f, err);
	free(ch.ids);
	if (!rc && f.rc == VC_FULL)
		return over_limit(c, gen, (int64_t)c->n + 1);
	if (!rc && f.rc)
		rc = err_set(err, f.rc, "out of memory updating the vector cache");
	if (rc) {
		drop(c);
		return rc;
	}
	c->gen = gen;
	c->updates++;
	return 0;
}

static void scan(const veccache *c, const signed char *q, float qscale, struct vec_topk *top)
{
	const signed char *v = c->q8;
	for (size_t i = 0; i < c->n; i++, v += c->dim)
		vec_topk_push(top, c->id[i], c->doc[i], (float)vec_dot_q8(q, v, c->dim) * qscale * c->scale[i]);
}

/* Whether the state at generation gen answers for model and dim: 1 fresh, 0 not. */
static int fresh(const veccache *c, const char *model, int dim, int64_t gen)
{
	return (c->loaded || c->over) && c->gen == gen && c->dim == dim && !strcmp(c->model, model);
}

int veccache_topk(veccache *c, store *st, const char *model, int dim, const signed char *q, float qscale,
                  struct vec_topk *top, struct err *err)
{
	int64_t gen;
	int rc = store_vectors_gen(st, &gen, err);
	if (rc)
		return rc;
	pthread_rwlock_rdlock(&c->rw);
	if (fresh(c, model, dim, gen)) {
		rc = c->over ? DOSSIER_EUNAVAILABLE : 0;
		if (!rc)
			scan(c, q, qscale, top);
		pthread_rwlock_unlock(&c->rw);
		return rc;
	}
	pthread_rwlock_unlock(&c->rw);

	pthread_rwlock_wrlock(&c->rw);
	if (!fresh(c, model, dim, gen)) {
		if (c->loaded && c->dim == dim && !strcmp(c->model, model) && c->gen < gen) {
			rc = update(c, st, gen, err);
		} else {
			snprintf(c->model, sizeof c->model, "%s", model);
			c->dim = dim;
			rc = full_load(c, st, gen, err);
		}
	}
	if (!rc && c->over)
		rc = DOSSIER_EUNAVAILABLE;
	if (!rc)
		scan(c, q, qscale, top);
	pthread_rwlock_unlock(&c->rw);
	return rc;
}

void veccache_stats(veccache *c, struct veccache_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!c)
		return;
	pthread_rwlock_rdlock(&c->rw);
	out->limit = c->limit;
	out->bytes = c->cap * VECCACHE_ROW_BYTES(c->dim);
	out->chunks = (int64_t)c->n;
	out->dim = c->dim;
	out->gen = c->gen;
	out->over_limit = c->over;
	out->loads = c->loads;
	out->updates = c->updates;
	out->last_load_s = c->last_load_s;
	pthread_rwlock_unlock(&c->rw);
}
