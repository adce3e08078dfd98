/* test_store_vectors.c — the chunks table (schema 9): vectors stored per
 * model and dimension, replaced whole per document (never two models for one
 * document), the int8 copy close to the float32 one, chunk places (page,
 * seconds), a document's mean vector, the filter of store_doc_brief, and the
 * chunks going with their document. */
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

#include "core/err.h"
#include "store/store.h"

#define STORE_FIXTURE_NAME "vectors"
#include "store_fixture.h"

static const struct step_decl one[] = {{"extract_text", ROLE_NONE, 0}};

static int64_t put_doc(store *st, const char *path, const char *kind)
{
	struct doc_input in = {.path = path, .sha256 = "ab", .mime = "text/plain", .kind = kind, .bytes = 10, .mtime = 1};
	int64_t id;
	assert_int_equal(store_doc_insert(st, &in, one, 1, &id, NULL), 0);
	return id;
}

#define DIM 8

struct seen {
	int n;
	int64_t docs[16];
	float best;
	int64_t best_id;
	const float *q;
};

static int on_vec(int64_t id, int64_t doc_id, const signed char *q8, float scale, void *user)
{
	struct seen *s = user;
	s->docs[s->n++ % 16] = doc_id;
	float dot = 0;
	for (int i = 0; i < DIM; i++)
		dot += s->q[i] * q8[i] * scale;
	if (s->n == 1 || dot > s->best) {
		s->best = dot;
		s->best_id = id;
	}
	return 0;
}

static void vectors_replace_count_scan_and_never_mix(void **state)
{
	(void)state;
	store *st;
	assert_int_equal(store_open(db, &st, NULL), 0);
	assert_true(store_schema_version() >= 9);
	int64_t a = put_doc(st, "/a.txt", "text"), b = put_doc(st, "/b.pdf", "pdf");
	float va[2][DIM] = {{3, 0, 0, 0, 0, 0, 0, 4}, {0, 1, 0, 0, 0, 0, 0, 0}};
	float vb[DIM] = {0, 0, 2, 0, 0, 0, 0, 0};
	struct vec_chunk ca[2] = {{0, "text", -1, -1, 0, "first chunk", va[0]}, {1, "transcript", 12.5, 20, 0, "second", va[1]}};
	struct vec_chunk cb[1] = {{0, "text", -1, -1, 3, "on page three", vb}};
	struct err e = {0};
	assert_int_equal(store_vectors_replace(st, a, "m1", DIM, ca, 2, &e), 0);
	assert_int_equal(store_vectors_replace(st, b, "m1", DIM, cb, 1, &e), 0);
	int64_t n = 0, other = 0;
	int dim = 0;
	assert_int_equal(store_vectors_count(st, "m1", &n, &other, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(other, 0);
	assert_int_equal(store_vectors_dim(st, "m1", &dim, &e), 0);
	assert_int_equal(dim, DIM);
	assert_int_equal(store_vectors_dim(st, "m2", &dim, &e), 0);
	assert_int_equal(dim, 0);

	/* the scan finds the chunk along the query, its int8 score close to the exact cosine */
	float q[DIM] = {0.6f, 0, 0, 0, 0, 0, 0, 0.8f};
	struct seen s = {.q = q};
	assert_int_equal(store_vectors_scan(st, "m1", DIM, on_vec, &s, &e), 0);
	assert_int_equal(s.n, 3);
	assert_true(fabsf(s.best - 1.0f) < 0.02f);
	float f32[DIM];
	assert_int_equal(store_vector_get(st, s.best_id, DIM, f32, &e), 0);
	assert_true(fabsf(f32[0] - 0.6f) < 1e-6f && fabsf(f32[7] - 0.8f) < 1e-6f); /* stored normalised */
	struct vec_chunk_info ci;
	assert_int_equal(store_chunk_info(st, s.best_id, &ci, &e), 0);
	assert_int_equal(ci.document_id, a);
	assert_string_equal(ci.text, "first chunk");
	assert_true(ci.start_s < 0 && ci.page == 0);
	free(ci.text);

	/* places: seconds of a transcript chunk, the page of a PDF chunk */
	struct seen s2 = {.q = (float[DIM]){0, 1, 0, 0, 0, 0, 0, 0}};
	assert_int_equal(store_vectors_scan(st, "m1", DIM, on_vec, &s2, &e), 0);
	assert_int_equal(store_chunk_info(st, s2.best_id, &ci, &e), 0);
	assert_string_equal(ci.source, "transcript");
	assert_true(fabs(ci.start_s - 12.5) < 1e-9 && fabs(ci.end_s - 20) < 1e-9);
	free(ci.text);
	struct seen s3 = {.q = (float[DIM]){0, 0, 1, 0, 0, 0, 0, 0}};
	assert_int_equal(store_vectors_scan(st, "m1", DIM, on_vec, &s3, &e), 0);
	assert_int_equal(store_chunk_info(st, s3.best_id, &ci, &e), 0);
	assert_int_equal(ci.page, 3);
	free(ci.text);

	/* a document's mean vector */
	float mean[DIM];
	assert_int_equal(store_doc_vector(st, a, "m1", DIM, mean, &e), 0);
	assert_true(fabsf(mean[0] - 0.3f) < 1e-6f && fabsf(mean[1] - 0.5f) < 1e-6f);
	assert_int_equal(store_doc_vector(st, a, "m2", DIM, mean, &e), DOSSIER_ENOTFOUND);

	/* another model for document a replaces its vectors: a's chunks are of m2 only */
	float v2[4] = {1, 0, 0, 0};
	struct vec_chunk c2 = {0, "text", -1, -1, 0, "again", v2};
	assert_int_equal(store_vectors_replace(st, a, "m2", 4, &c2, 1, &e), 0);
	assert_int_equal(store_vectors_count(st, "m1", &n, &other, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(other, 1);
	assert_int_equal(store_doc_vector(st, a, "m1", DIM, mean, &e), DOSSIER_ENOTFOUND);
	struct seen s4 = {.q = q};
	assert_int_equal(store_vectors_scan(st, "m1", DIM, on_vec, &s4, &e), 0);
	assert_int_equal(s4.n, 1);
	assert_int_equal(s4.docs[0], b);

	/* replacing by none deletes; forgetting the document deletes its chunks */
	assert_int_equal(store_vectors_replace(st, a, NULL, 0, NULL, 0, &e), 0);
	assert_int_equal(store_vectors_count(st, NULL, &n, NULL, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(store_vectors_replace(st, b, "m1", 0, cb, 1, &e), DOSSIER_EINVAL);
	store_close(st);
}

static void doc_brief_keeps_what_the_filter_keeps(void **state)
{
	(void)state;
	store *st;
	assert_int_equal(store_open(db, &st, NULL), 0);
	int64_t a = put_doc(st, "/x/a.txt", "text"), b = put_doc(st, "/x/b.pdf", "pdf");
	struct doc_rec d;
	char *title = NULL;
	struct doc_filter f = {.kind = "pdf"};
	assert_int_equal(store_doc_brief(st, a, &f, &d, &title, NULL), DOSSIER_ENOTFOUND);
	assert_int_equal(store_doc_brief(st, b, &f, &d, &title, NULL), 0);
	assert_string_equal(d.path, "/x/b.pdf");
	assert_null(title);
	doc_rec_clear(&d);
	assert_int_equal(store_doc_brief(st, a, NULL, &d, &title, NULL), 0);
	doc_rec_clear(&d);
	assert_int_equal(store_doc_brief(st, 999, NULL, &d, &title, NULL), DOSSIER_ENOTFOUND);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(vectors_replace_count_scan_and_never_mix, setup, teardown),
		cmocka_unit_test_setup_teardown(doc_brief_keeps_what_the_filter_keeps, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
