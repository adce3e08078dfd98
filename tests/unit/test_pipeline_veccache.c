/* test_pipeline_veccache.c — the int8 vectors in memory (pipeline/veccache.h):
 * the same best chunks as the scan through SQLite, and a float32 brute force's
 * best ten among its candidates; coherent when another connection re-embeds or
 * deletes a document; the memory limit's fallback, said once; and search_run's
 * filtered results equal with and without the cache. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyze/vecsearch.h"
#include "core/config.h"
#include "core/err.h"
#include "pipeline/semantic.h"
#include "pipeline/veccache.h"
#include "store/store.h"

#define STORE_FIXTURE_NAME "veccache"
#include "store_fixture.h"

#define DIM 64
#define DOCS 300
#define PER_DOC 3
#define N (DOCS * PER_DOC)

static const struct step_decl one[] = {{"extract_text", ROLE_NONE, 0}};
static float vecs[N][DIM];
static int64_t doc_ids[DOCS];

static uint64_t rng = 12345;
static float unif(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}

static void random_unit(float *v)
{
	for (int i = 0; i < DIM; i++)
		v[i] = unif();
	vec_normalise(v, DIM);
}

/* DOCS documents (every third a pdf) of PER_DOC random chunks each, model "m". */
static store *fill(void)
{
	store *st;
	assert_int_equal(store_open(db, &st, NULL), 0);
	for (int d = 0; d < DOCS; d++) {
		char path[64];
		snprintf(path, sizeof path, "/d/%d.%s", d, d % 3 ? "txt" : "pdf");
		struct doc_input in = {.path = path, .sha256 = "ab", .mime = "text/plain", .kind = d % 3 ? "text" : "pdf",
		                       .bytes = 10, .mtime = 1};
		assert_int_equal(store_doc_insert(st, &in, one, 1, &doc_ids[d], NULL), 0);
		struct vec_chunk c[PER_DOC];
		for (int k = 0; k < PER_DOC; k++) {
			random_unit(vecs[d * PER_DOC + k]);
			c[k] = (struct vec_chunk){k, "text", -1, -1, 0, "chunk", vecs[d * PER_DOC + k]};
		}
		assert_int_equal(store_vectors_replace(st, doc_ids[d], "m", DIM, c, PER_DOC, NULL), 0);
	}
	return st;
}

struct st_scan {
	const signed char *q;
	float qs;
	struct vec_topk t;
};
static int on_row(int64_t id, int64_t doc, const signed char *v, float s, void *u)
{
	struct st_scan *x = u;
	vec_topk_push(&x->t, id, doc, (float)vec_dot_q8(x->q, v, DIM) * x->qs * s);
	return 0;
}

static void cache_equals_sqlite_scan_and_float_reference(void **state)
{
	(void)state;
	store *st = fill();
	veccache *c;
	assert_int_equal(veccache_new(1 << 20, NULL, NULL, &c), 0);
	for (int round = 0; round < 20; round++) {
		float q[DIM];
		random_unit(q);
		signed char qq[DIM];
		float qs;
		vec_quantise(q, DIM, qq, &qs);
		struct vec_hit a[SEMANTIC_RERANK], b[SEMANTIC_RERANK];
		struct vec_topk ta, tb;
		vec_topk_init(&ta, a, SEMANTIC_RERANK);
		assert_int_equal(veccache_topk(c, st, "m", DIM, qq, qs, &ta, NULL), 0);
		struct st_scan x = {qq, qs, {0}};
		vec_topk_init(&x.t, b, SEMANTIC_RERANK);
		assert_int_equal(store_vectors_scan(st, "m", DIM, on_row, &x, NULL), 0);
		tb = x.t;
		vec_topk_sort(&ta);
		vec_topk_sort(&tb);
		assert_int_equal(ta.n, tb.n);
		for (int i = 0; i < ta.n; i++) {
			assert_int_equal(a[i].id, b[i].id);
			assert_int_equal(a[i].group, b[i].group);
			assert_true(a[i].score == b[i].score);
		}
		/* the float32 brute force's best ten are among the candidates */
		struct vec_hit f[10];
		struct vec_topk tf;
		vec_topk_init(&tf, f, 10);
		for (int i = 0; i < N; i++)
			vec_topk_push(&tf, i, i, vec_dot(q, vecs[i], DIM));
		for (int i = 0; i < tf.n; i++) {
			int64_t doc = doc_ids[f[i].id / PER_DOC];
			int found = 0;
			for (int j = 0; j < ta.n; j++)
				found |= a[j].group == doc;
			assert_true(found);
		}
	}
	struct veccache_stats s;
	veccache_stats(c, &s);
	assert_int_equal(s.chunks, N);
	assert_int_equal(s.loads, 1);
	assert_int_equal(s.dim, DIM);
	assert_true(s.bytes >= (size_t)N * VECCACHE_ROW_BYTES(DIM));
	veccache_free(c);
	store_close(st);
}

/* The best chunk for q: its document. */
static int64_t best_doc(veccache *c, store *st, const float *q, float *score)
{
	signed char qq[DIM];
	float qs;
	vec_quantise(q, DIM, qq, &qs);
	struct vec_hit h[1];
	struct vec_topk t;
	vec_topk_init(&t, h, 1);
	assert_int_equal(veccache_topk(c, st, "m", DIM, qq, qs, &t, NULL), 0);
	assert_int_equal(t.n, 1);
	if (score)
		*score = h[0].score;
	return h[0].group;
}

static void coherent_after_another_connection_changes_vectors(void **state)
{
	(void)state;
	store *st = fill();
	veccache *c;
	assert_int_equal(veccache_new(1 << 20, NULL, NULL, &c), 0);
	float q[DIM];
	random_unit(q);
	float s0;
	int64_t before = best_doc(c, st, q, &s0);
	assert_true(s0 < 0.9f);

	/* another connection (as `dossier analyze` in another process) re-embeds doc 7 with q itself */
	store *other;
	assert_int_equal(store_open(db, &other, NULL), 0);
	struct vec_chunk ch = {0, "text", -1, -1, 0, "now about q", q};
	assert_int_equal(store_vectors_replace(other, doc_ids[7], "m", DIM, &ch, 1, NULL), 0);
	float s1;
	assert_int_equal(best_doc(c, st, q, &s1), doc_ids[7]);
	assert_true(s1 > 0.98f);
	struct veccache_stats s;
	veccache_stats(c, &s);
	assert_int_equal(s.loads, 1);       /* updated, not reloaded */
	assert_int_equal(s.updates, 1);
	assert_int_equal(s.chunks, N - PER_DOC + 1);

	/* ... then deletes it: the old best is back */
	assert_int_equal(store_doc_delete(other, doc_ids[7], NULL), 0);
	int64_t after = best_doc(c, st, q, NULL);
	assert_int_equal(after, before == doc_ids[7] ? after : before);
	assert_true(after != doc_ids[7]);
	veccache_stats(c, &s);
	assert_int_equal(s.chunks, N - PER_DOC);
	assert_int_equal(s.loads, 1);
	/* an unchanged store: no update */
	best_doc(c, st, q, NULL);
	veccache_stats(c, &s);
	assert_int_equal(s.updates, 2);
	store_close(other);
	veccache_free(c);
	store_close(st);
}

static int logged;
static char last_line[512];
static void on_log(void *user, const char *line)
{
	(void)user;
	logged++;
	snprintf(last_line, sizeof last_line, "%s", line);
}

static void over_the_limit_falls_back_and_says_so_once(void **state)
{
	(void)state;
	store *st = fill();
	veccache *c;
	/* room for half the chunks */
	assert_int_equal(veccache_new(N / 2 * VECCACHE_ROW_BYTES(DIM), on_log, NULL, &c), 0);
	logged = 0;
	float q[DIM];
	random_unit(q);
	signed char qq[DIM];
	float qs;
	vec_quantise(q, DIM, qq, &qs);
	struct vec_hit h[10];
	struct vec_topk t;
	for (int i = 0; i < 3; i++) {
		vec_topk_init(&t, h, 10);
		assert_int_equal(veccache_topk(c, st, "m", DIM, qq, qs, &t, NULL), DOSSIER_EUNAVAILABLE);
		assert_int_equal(t.n, 0);
	}
	assert_int_equal(logged, 1);
	assert_non_null(strstr(last_line, "vector_cache"));
	struct veccache_stats s;
	veccache_stats(c, &s);
	assert_int_equal(s.over_limit, 1);
	assert_int_equal(s.bytes, 0);
	/* enough documents go to fit: the cache loads */
	for (int d = 0; d < DOCS * 2 / 3; d++)
		assert_int_equal(store_doc_delete(st, doc_ids[d], NULL), 0);
	vec_topk_init(&t, h, 10);
	assert_int_equal(veccache_topk(c, st, "m", DIM, qq, qs, &t, NULL), 0);
	assert_int_equal(t.n, 10);
	veccache_stats(c, &s);
	assert_int_equal(s.over_limit, 0);
	assert_int_equal(s.chunks, N - DOCS * 2 / 3 * PER_DOC);
	assert_int_equal(logged, 2);  /* the load */
	veccache_free(c);
	store_close(st);
}

static void same_filtered_results_with_and_without_cache(void **state)
{
	(void)state;
	store *st = fill();
	struct config cfg;
	config_defaults(&cfg, "prod");
	snprintf(cfg.models[ROLE_EMBED].name, sizeof cfg.models[0].name, "m");
	veccache *big, *small;
	assert_int_equal(veccache_new(1 << 20, NULL, NULL, &big), 0);
	assert_int_equal(veccache_new(100, NULL, NULL, &small), 0);
	struct doc_filter pdf = {.kind = "pdf"}, text = {.kind = "text"};
	const struct doc_filter *filters[] = {NULL, &pdf, &text};
	for (int d = 0; d < 12; d++)
		for (int fi = 0; fi < 3; fi++) {
			struct search_result r[3];
			veccache *caches[3] = {NULL, big, small};
			for (int k = 0; k < 3; k++) {
				struct search_request rq = {.f = filters[fi], .limit = 15, .mode = SEARCH_SEMANTIC,
				                            .similar_to = doc_ids[d * 7], .cache = caches[k]};
				struct err e = {0};
				assert_int_equal(search_run(st, NULL, &cfg, &rq, &r[k], &e), 0);
			}
			assert_true(r[0].n > 0);
			for (int k = 1; k < 3; k++) {
				assert_int_equal(r[k].n, r[0].n);
				for (size_t i = 0; i < r[0].n; i++) {
					assert_int_equal(r[k].hits[i].id, r[0].hits[i].id);
					assert_true(r[k].hits[i].score == r[0].hits[i].score);
					assert_int_equal(r[k].hits[i].chunk.id, r[0].hits[i].chunk.id);
					if (filters[fi])
						assert_string_equal(r[k].hits[i].kind, filters[fi]->kind);
				}
			}
			for (int k = 0; k < 3; k++)
				search_result_clear(&r[k]);
		}
	struct veccache_stats s;
	veccache_stats(big, &s);
	assert_int_equal(s.loads, 1);
	veccache_stats(small, &s);
	assert_int_equal(s.over_limit, 1);
	veccache_free(big);
	veccache_free(small);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(cache_equals_sqlite_scan_and_float_reference, setup, teardown),
		cmocka_unit_test_setup_teardown(coherent_after_another_connection_changes_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(over_the_limit_falls_back_and_says_so_once, setup, teardown),
		cmocka_unit_test_setup_teardown(same_filtered_results_with_and_without_cache, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
