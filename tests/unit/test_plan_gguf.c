/*
 * test_plan_gguf.c — the GGUF metadata reader against files the test writes
 * (tests/fuzz/gguf_writer.h): known shapes, sparse data sections, and files
 * that are truncated or lie about their lengths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../fuzz/gguf_writer.h"
#include "core/err.h"
#include "plan/gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char *tmp_path(const char *name)
{
	static char buf[4][512];
	static int k;
	const char *t = getenv("TMPDIR");
	char *p = buf[k++ % 4];
	snprintf(p, 512, "%s/plan_gguf_%d_%s", t && *t ? t : "/tmp", (int)getpid(), name);
	return p;
}

static const struct gw_model small_llama = {
	.arch = "llama", .layers = 4, .heads = 8, .kv_heads = 2, .embd = 256,
	.ctx_train = 8192, .vocab = 1000, .wtype = GW_Q8_0,
};

/* ---- well-formed files ---- */

static void reads_shape_and_tensor_bytes_of_a_llama_model(void **state)
{
	struct gw w = {0};
	uint64_t want_bytes, data_bytes, v;
	struct err e = {0};
	gguf_file *g = NULL;
	const char *path = tmp_path("llama.gguf");
	gw_build_model(&w, &small_llama, &want_bytes, &data_bytes);
	assert_int_equal(gw_write_file(&w, path, data_bytes), 0);

	assert_int_equal(gguf_open(path, &g, &e), 0);
	assert_int_equal(gguf_version(g), 3);
	assert_string_equal(gguf_architecture(g), "llama");
	assert_int_equal(gguf_arch_get_u64(g, "block_count", &v), 0);
	assert_int_equal(v, 4);
	assert_int_equal(gguf_arch_layer_u64(g, "attention.head_count_kv", 3, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(gguf_arch_get_u64(g, "context_length", &v), 0);
	assert_int_equal(v, 8192);
	uint64_t len;
	enum gguf_type et;
	assert_int_equal(gguf_array_len(g, "tokenizer.ggml.tokens", &len, &et), 0);
	assert_int_equal(len, 1000);
	assert_int_equal(et, GGUF_TYPE_STRING);
	const char *name;
	assert_int_equal(gguf_get_str(g, "general.name", &name), 0);
	assert_string_equal(name, "test model");
	assert_int_equal(gguf_get_u64(g, "no.such.key", &v), DOSSIER_ENOTFOUND);
	assert_int_equal(gguf_get_u64(g, "general.name", &v), DOSSIER_EINVAL);

	assert_int_equal(gguf_tensor_count(g), 2 + 4 * 4);
	assert_int_equal(gguf_tensor_bytes(g, &v, &e), 0);
	assert_int_equal(v, want_bytes);
	/* Q8_0: 34 bytes per 32 weights */
	struct gguf_tensor t;
	assert_int_equal(gguf_tensor_at(g, 0, &t), 0);
	assert_string_equal(t.name, "token_embd.weight");
	assert_int_equal(t.bytes, 256 * 1000 / 32 * 34);
	assert_int_equal(gguf_data_offset(g) % 32, 0);
	assert_int_equal(gguf_file_size(g), gguf_data_offset(g) + data_bytes);
	gguf_free(g);
	gw_free(&w);
	unlink(path);
}

static void reads_per_layer_head_count_kv_arrays(void **state)
{
	static const int32_t kv[6] = {8, 0, 8, 4, 8, 2};
	struct gw_model m = small_llama;
	struct gw w = {0};
	uint64_t tb, db, v;
	gguf_file *g = NULL;
	struct err e = {0};
	m.layers = 6;
	m.kv_heads_per_layer = kv;
	gw_build_model(&w, &m, &tb, &db);
	assert_int_equal(gguf_open_memory(w.p, w.len + 0, "mem", &g, &e), DOSSIER_EFORMAT); /* data section absent */
	const char *path = tmp_path("perlayer.gguf");
	assert_int_equal(gw_write_file(&w, path, db), 0);
	assert_int_equal(gguf_open(path, &g, &e), 0);
	for (int l = 0; l < 6; l++) {
		assert_int_equal(gguf_arch_layer_u64(g, "attention.head_count_kv", (uint64_t)l, &v), 0);
		assert_int_equal(v, (uint64_t)kv[l]);
	}
	assert_int_equal(gguf_arch_layer_u64(g, "attention.head_count_kv", 6, &v), DOSSIER_EINVAL);
	gguf_free(g);
	gw_free(&w);
	unlink(path);
}

static void skips_a_large_token_list_quickly(void **state)
{
	struct gw_model m = small_llama;
	struct gw w = {0};
	uint64_t tb, db, len;
	gguf_file *g = NULL;
	struct err e = {0};
	m.vocab = 152064; /* qwen2-sized: about 2 MB of strings */
	gw_build_model(&w, &m, &tb, &db);
	const char *path = tmp_path("vocab.gguf");
	assert_int_equal(gw_write_file(&w, path, db), 0);
	assert_int_equal(gguf_open(path, &g, &e), 0);
	assert_int_equal(gguf_array_len(g, "tokenizer.ggml.tokens", &len, NULL), 0);
	assert_int_equal(len, 152064);
	gguf_free(g);
	gw_free(&w);
	unlink(path);
}

/* ---- refusals ---- */

static void refuses_a_file_that_is_not_gguf(void **state)
{
	const char *path = tmp_path("notes.txt");
	FILE *f = fopen(path, "w");
	fputs("these are my notes, not a model\n", f);
	fclose(f);
	gguf_file *g = (gguf_file *)1;
	struct err e = {0};
	assert_int_equal(gguf_open(path, &g, &e), DOSSIER_EFORMAT);
	assert_null(g);
	assert_non_null(strstr(e.msg, "is not a GGUF file"));
	assert_non_null(strstr(e.msg, path));
	unlink(path);
	assert_int_equal(gguf_open(path, &g, &e), DOSSIER_ENOTFOUND);
}

static void refuses_every_truncation_of_the_metadata(void **state)
{
	struct gw w = {0};
	uint64_t tb, db;
	gw_build_model(&w, &small_llama, &tb, &db);
	/* the full metadata with its data section in memory is valid */
	unsigned char *full = calloc(1, w.len + db);
	memcpy(full, w.p, w.len);
	gguf_file *g = NULL;
	struct err e = {0};
	assert_int_equal(gguf_open_memory(full, w.len + db, "full", &g, &e), 0);
	gguf_free(g);
	/* every cut inside the metadata is refused as truncated, never read past */
	for (size_t cut = 0; cut < w.len; cut += (cut < 64 ? 1 : 7)) {
		unsigned char *p = malloc(cut ? cut : 1);
		memcpy(p, w.p, cut);
		g = NULL;
		err_clear(&e);
		int rc = gguf_open_memory(p, cut, "cut", &g, &e);
		if (rc != DOSSIER_EFORMAT)
			fail_msg("cut at %zu: rc %d (%s)", cut, rc, e.msg);
		assert_null(g);
		free(p);
	}
	free(full);
	gw_free(&w);
}

static void refuses_a_string_longer_than_the_file(void **state)
{
	struct gw w = {0};
	gw_header(&w, 3, 0, 1);
	gw_str(&w, "general.architecture");
	gw_u32(&w, 8);
	gw_u64(&w, 1ull << 40); /* claims a terabyte-long string */
	gw_raw(&w, "llama", 5);
	gguf_file *g = NULL;
	struct err e = {0};
	assert_int_equal(gguf_open_memory(w.p, w.len, "liar", &g, &e), DOSSIER_EFORMAT);
	assert_non_null(strstr(e.msg, "truncated or corrupt GGUF"));
	gw_free(&w);
}

static void refuses_huge_counts_without_allocating_them(void **state)
{
	struct gw w = {0};
	gguf_file *g = NULL;
	struct err e = {0};
	gw_header(&w, 3, UINT64_MAX / 2, 1);
	gw_kv_str(&w, "general.architecture", "llama");
	assert_int_equal(gguf_open_memory(w.p, w.len, "counts", &g, &e), DOSSIER_EFORMAT);
	assert_non_null(strstr(e.msg, "claims"));
	gw_free(&w);

	/* an array that claims 2^60 u32 elements */
	gw_header(&w, 3, 0, 1);
	gw_str(&w, "llama.attention.head_count_kv");
	gw_u32(&w, 9);
	gw_u32(&w, 4);
	gw_u64(&w, 1ull << 60);
	gw_u32(&w, 8);
	assert_int_equal(gguf_open_memory(w.p, w.len, "array", &g, &e), DOSSIER_EFORMAT);
	gw_free(&w);
}

static void refuses_a_data_section_shorter_than_its_tensors(void **state)
{
	struct gw w = {0};
	uint64_t tb, db;
	gguf_file *g = NULL;
	struct err e = {0};
	gw_build_model(&w, &small_llama, &tb, &db);
	const char *path = tmp_path("short.gguf");
	assert_int_equal(gw_write_file(&w, path, db / 2), 0); /* a download cut in half */
	assert_int_equal(gguf_open(path, &g, &e), DOSSIER_EFORMAT);
	assert_non_null(strstr(e.msg, "runs past the end"));
	gw_free(&w);
	unlink(path);
}

static void refuses_version_1_and_big_endian_files(void **state)
{
	struct gw w = {0};
	gguf_file *g = NULL;
	struct err e = {0};
	gw_header(&w, 1, 0, 0);
	assert_int_equal(gguf_open_memory(w.p, w.len, "v1", &g, &e), DOSSIER_EUNSUPPORTED);
	assert_non_null(strstr(e.msg, "version 1"));
	gw_free(&w);
	gw_header(&w, 0x03000000u, 0, 0);
	assert_int_equal(gguf_open_memory(w.p, w.len, "be", &g, &e), DOSSIER_EUNSUPPORTED);
	assert_non_null(strstr(e.msg, "big-endian"));
	gw_free(&w);
	gw_header(&w, 2, 0, 0); /* version 2, empty: valid */
	assert_int_equal(gguf_open_memory(w.p, w.len, "v2", &g, &e), 0);
	assert_int_equal(gguf_version(g), 2);
	assert_string_equal(gguf_architecture(g), "");
	gguf_free(g);
	gw_free(&w);
}

static void reports_an_unknown_tensor_type_by_name(void **state)
{
	struct gw w = {0};
	uint64_t off = 0, d[1] = {64}, v;
	gguf_file *g = NULL;
	struct err e = {0};
	gw_header(&w, 3, 1, 0);
	gw_str(&w, "mystery.weight");
	gw_u32(&w, 1);
	gw_u64(&w, 64);
	gw_u32(&w, 77); /* no such ggml type */
	gw_u64(&w, 0);
	gw_pad(&w, 32);
	(void)d;
	(void)off;
	unsigned char *p = calloc(1, w.len + 256);
	memcpy(p, w.p, w.len);
	assert_int_equal(gguf_open_memory(p, w.len + 256, "mystery", &g, &e), 0);
	assert_int_equal(gguf_tensor_bytes(g, &v, &e), DOSSIER_EUNSUPPORTED);
	assert_non_null(strstr(e.msg, "mystery.weight"));
	gguf_free(g);
	free(p);
	gw_free(&w);
}

static void skips_very_long_string_values(void **state)
{
	struct gw w = {0};
	gguf_file *g = NULL;
	struct err e = {0};
	size_t n = GGUF_STRING_KEEP_MAX + 10;
	char *big = malloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	gw_header(&w, 3, 0, 2);
	gw_kv_str(&w, "tokenizer.chat_template", big);
	gw_kv_str(&w, "general.architecture", "qwen2");
	assert_int_equal(gguf_open_memory(w.p, w.len, "long", &g, &e), 0);
	const char *s;
	assert_int_equal(gguf_get_str(g, "tokenizer.chat_template", &s), DOSSIER_ETOOBIG);
	assert_string_equal(gguf_architecture(g), "qwen2");
	gguf_free(g);
	free(big);
	gw_free(&w);
}

static void knows_the_ggml_type_table(void **state)
{
	uint32_t be, bb, id;
	assert_true(gguf_ggml_type_size(12, &be, &bb)); /* Q4_K */
	assert_int_equal(be, 256);
	assert_int_equal(bb, 144);
	assert_true(gguf_ggml_type_size(30, &be, &bb)); /* BF16 */
	assert_int_equal(bb, 2);
	assert_false(gguf_ggml_type_size(4, &be, &bb)); /* removed from ggml */
	assert_int_equal(gguf_ggml_type_by_name("q6_k", &id), 0);
	assert_int_equal(id, 14);
	assert_int_equal(gguf_ggml_type_by_name("Q9_Z", &id), DOSSIER_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reads_shape_and_tensor_bytes_of_a_llama_model),
		cmocka_unit_test(reads_per_layer_head_count_kv_arrays),
		cmocka_unit_test(skips_a_large_token_list_quickly),
		cmocka_unit_test(refuses_a_file_that_is_not_gguf),
		cmocka_unit_test(refuses_every_truncation_of_the_metadata),
		cmocka_unit_test(refuses_a_string_longer_than_the_file),
		cmocka_unit_test(refuses_huge_counts_without_allocating_them),
		cmocka_unit_test(refuses_a_data_section_shorter_than_its_tensors),
		cmocka_unit_test(refuses_version_1_and_big_endian_files),
		cmocka_unit_test(reports_an_unknown_tensor_type_by_name),
		cmocka_unit_test(skips_very_long_string_values),
		cmocka_unit_test(knows_the_ggml_type_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
