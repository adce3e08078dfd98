/* test_analyze_vecsearch.c — the arithmetic of semantic search: int8
 * quantisation close to the float cosine, the best-k list, and reciprocal
 * rank fusion (a document in both rankings beats one in a single ranking;
 * ties and absent ranks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>

#include "analyze/vecsearch.h"
#include "core/err.h"

static void quantised_cosine_is_close_to_exact(void **state)
{
	(void)state;
	enum { D = 256 };
	float a[D], b[D];
	unsigned s = 7;
	for (int i = 0; i < D; i++) {
		s = s * 1103515245u + 12345u;
		a[i] = (float)((s >> 8) % 2001) / 1000.0f - 1.0f;
		s = s * 1103515245u + 12345u;
		b[i] = a[i] * 0.5f + ((float)((s >> 8) % 2001) / 1000.0f - 1.0f) * 0.5f;
	}
	vec_normalise(a, D);
	vec_normalise(b, D);
	assert_true(fabsf(vec_dot(a, a, D) - 1.0f) < 1e-5f);
	signed char qa[D], qb[D];
	float sa, sb;
	vec_quantise(a, D, qa, &sa);
	vec_quantise(b, D, qb, &sb);
	float exact = vec_dot(a, b, D), approx = (float)vec_dot_q8(qa, qb, D) * sa * sb;
	assert_true(exact > 0.3f);
	assert_true(fabsf(exact - approx) < 0.01f);
	float zero[4] = {0, 0, 0, 0};
	signed char qz[4];
	float sz;
	vec_normalise(zero, 4);
	vec_quantise(zero, 4, qz, &sz);
	assert_int_equal(vec_dot_q8(qz, qz, 4), 0);
}

static void topk_keeps_the_best(void **state)
{
	(void)state;
	struct vec_hit keep[3];
	struct vec_topk t;
	vec_topk_init(&t, keep, 3);
	float scores[] = {0.1f, 0.9f, 0.3f, 0.8f, 0.2f, 0.95f, 0.0f};
	for (int i = 0; i < 7; i++)
		vec_topk_push(&t, i + 1, 100 + i, scores[i]);
	vec_topk_sort(&t);
	assert_int_equal(t.n, 3);
	assert_int_equal(keep[0].id, 6);
	assert_int_equal(keep[1].id, 2);
	assert_int_equal(keep[2].id, 4);
	assert_int_equal(keep[0].group, 105);
}

static void rrf_prefers_documents_in_both_lists(void **state)
{
	(void)state;
	int64_t text[] = {10, 20, 30};
	int64_t sem[] = {40, 30, 50};
	struct rrf_item *it;
	size_t n;
	assert_int_equal(rrf_fuse(text, 3, sem, 3, RRF_K0, &it, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(it[0].id, 30); /* third and second: 1/63 + 1/62 beats any single first place */
	assert_int_equal(it[0].rank_a, 3);
	assert_int_equal(it[0].rank_b, 2);
	assert_true(fabs(it[0].score - (1.0 / 63 + 1.0 / 62)) < 1e-12);
	assert_int_equal(it[1].id, 10); /* 10 and 40 tie at 1/61: the text ranking's first goes first */
	assert_int_equal(it[2].id, 40);
	assert_int_equal(it[2].rank_a, 0);
	assert_int_equal(it[3].id, 20);
	assert_int_equal(it[4].id, 50);
	free(it);
	assert_int_equal(rrf_fuse(NULL, 0, sem, 3, RRF_K0, &it, &n), 0); /* one list: its order */
	assert_int_equal(n, 3);
	assert_int_equal(it[0].id, 40);
	assert_int_equal(it[2].id, 50);
	free(it);
	assert_int_equal(rrf_fuse(NULL, 0, NULL, 0, RRF_K0, &it, &n), 0);
	assert_int_equal(n, 0);
	free(it);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quantised_cosine_is_close_to_exact),
		cmocka_unit_test(topk_keeps_the_best),
		cmocka_unit_test(rrf_prefers_documents_in_both_lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
