/*
 * test_plan_footprint.c — KV-cache and compute arithmetic against hand-computed
 * values, and model facts read from GGUF files and from Ollama API replies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../fuzz/gguf_writer.h"
#include "core/config.h"
#include "core/err.h"
#include "plan/facts.h"
#include "plan/footprint.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB 1024ull
#define MIB (1024ull * 1024ull)
#define GIB (1024ull * 1024ull * 1024ull)

static void facts_of(const char *name, enum model_role role, struct model_facts *f)
{
	struct model_spec spec = {0};
	snprintf(spec.name, sizeof spec.name, "%s", name);
	spec.nominal_bytes = 1000;
	model_facts_nominal(&spec, role, f);
	assert_true(f->has_shape);
}

static void kv_of_llama32_3b_is_112_kib_per_token(void **state)
{
	struct model_facts f;
	facts_of("llama3.2:3b", ROLE_TEXT, &f);
	/* 28 layers x 8 KV heads x (128 + 128) x 2 bytes */
	assert_int_equal(kv_cache_bytes(&f, 1, KV_CACHE_F16), 112 * KIB);
	assert_int_equal(kv_cache_bytes(&f, 4096, KV_CACHE_F16), 448 * MIB);
}

static void kv_of_llama31_8b_is_128_kib_per_token(void **state)
{
	struct model_facts f;
	facts_of("llama3.1:8b", ROLE_TEXT, &f);
	assert_int_equal(kv_cache_bytes(&f, 1, KV_CACHE_F16), 128 * KIB);
	assert_int_equal(kv_cache_bytes(&f, 4096, KV_CACHE_F16), 512 * MIB);
	assert_int_equal(kv_cache_bytes(&f, 8192, KV_CACHE_F16), 1 * GIB);
	assert_int_equal(kv_cache_bytes(&f, 131072, KV_CACHE_F16), 16 * GIB);
	/* quantised caches: ggml blocks of 32 values in 34 (q8_0) or 18 (q4_0) bytes */
	assert_int_equal(kv_cache_bytes(&f, 1, KV_CACHE_Q8_0), 65536 * 34 / 32);
	assert_int_equal(kv_cache_bytes(&f, 1, KV_CACHE_Q4_0), 65536 * 18 / 32);
}

static void kv_of_llava_13b_has_no_gqa(void **state)
{
	struct model_facts f;
	facts_of("llava:13b", ROLE_VISION, &f);
	/* Vicuna-13B: 40 layers x 40 KV heads x 256 x 2 bytes = 800 KiB per token */
	assert_int_equal(kv_cache_bytes(&f, 1, KV_CACHE_F16), 800 * KIB);
	/* a 40-layer, 8-KV-head model at 4096 needs 640 MiB (issue #10417's log) */
	for (int l = 0; l < 40; l++)
		f.head_count_kv[l] = 8;
	assert_int_equal(kv_cache_bytes(&f, 4096, KV_CACHE_F16), 640 * MIB);
}

static void compute_estimate_matches_the_llama_graph_formula(void **state)
{
	struct model_facts f;
	struct footprint_params p;
	struct model_footprint m;
	facts_of("llama3.1:8b", ROLE_TEXT, &f);
	footprint_params_default(&p, NULL);
	p.num_ctx = 8192;
	footprint_compute(&f, &p, &m);
	/* 4 x 512 x (1 + 4 x 4096 + 8192 x 33): "about 560 MiB" in reference 11.5 */
	assert_int_equal(m.compute.bytes, 4ull * 512 * (1 + 4 * 4096 + 8192ull * 33));
	assert_string_equal(m.compute.source, "estimate:llama-graph");
	assert_int_equal(m.kv.bytes, 1 * GIB);
	assert_int_equal(m.num_ctx, 8192);
	assert_string_equal(m.num_ctx_src, "config");
	assert_int_equal(m.total, m.weights.bytes + m.kv.bytes + m.compute.bytes);
}

static void num_ctx_follows_ollama_defaults_and_clamps(void **state)
{
	struct model_facts f;
	struct footprint_params p;
	struct model_footprint m;
	footprint_params_default(&p, NULL);
	facts_of("llava:13b", ROLE_VISION, &f); /* trained on 4096 */
	p.num_ctx = 32768;
	footprint_compute(&f, &p, &m);
	assert_int_equal(m.num_ctx, 4096);
	assert_string_equal(m.num_ctx_src, "clamped to trained length");
	p.num_ctx = 1024;
	footprint_compute(&f, &p, &m);
	assert_int_equal(m.num_ctx, 2048);
	assert_string_equal(m.num_ctx_src, "vision minimum");
	facts_of("llama3.2:3b", ROLE_TEXT, &f);
	p.num_ctx = 0;
	footprint_compute(&f, &p, &m);
	assert_int_equal(m.num_ctx, 4096);
	assert_string_equal(m.num_ctx_src, "ollama default");
	f.default_num_ctx = 8192;
	footprint_compute(&f, &p, &m);
	assert_int_equal(m.num_ctx, 8192);
	assert_string_equal(m.num_ctx_src, "model params");
	p.num_parallel = 2; /* KV is sized num_ctx x slots */
	footprint_compute(&f, &p, &m);
	assert_int_equal(m.kv.bytes, 2 * 8192 * 112 * KIB);
}

static void unknown_model_gets_a_documented_estimate(void **state)
{
	struct model_spec spec = {.name = "mystery:7b", .nominal_bytes = 4000000000ull, .num_ctx = 8192};
	struct model_facts f;
	struct footprint_params p;
	struct model_footprint m;
	model_facts_nominal(&spec, ROLE_TEXT, &f);
	assert_false(f.has_shape);
	footprint_params_default(&p, NULL);
	p.num_ctx = 8192;
	footprint_compute(&f, &p, &m);
	assert_int_equal(m.kv.bytes, 800000000ull); /* 10% of the weights per 4096 tokens */
	assert_int_equal(m.compute.bytes, 512 * MIB);
	assert_string_equal(m.weights.source, "nominal:seed");
}

/* ---- facts from a GGUF file ---- */

static void facts_from_gguf_read_the_shape(void **state)
{
	static const int32_t kv[6] = {8, 0, 8, 4, 8, 2};
	struct gw_model mdl = {.arch = "llama", .layers = 6, .heads = 8, .kv_heads_per_layer = kv, .embd = 256,
	                       .ctx_train = 4096, .vocab = 500, .wtype = GW_F16};
	struct gw w = {0};
	uint64_t tb, db;
	char path[512];
	snprintf(path, sizeof path, "%s/plan_fp_%d.gguf", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	gw_build_model(&w, &mdl, &tb, &db);
	assert_int_equal(gw_write_file(&w, path, db), 0);
	struct model_facts f;
	struct err e = {0};
	assert_int_equal(model_facts_from_gguf(path, NULL, ROLE_TEXT, &f, &e), 0);
	assert_true(f.has_shape);
	assert_int_equal(f.n_layers, 6);
	assert_int_equal(f.key_length, 32); /* 256 / 8 heads */
	assert_int_equal(f.vocab_size, 500);
	assert_int_equal(f.weights_bytes, tb);
	char want[600];
	snprintf(want, sizeof want, "gguf:%s", path);
	assert_string_equal(f.weights_src, want);
	/* per-layer KV heads 8+0+8+4+8+2 = 30, x (32 + 32) x 2 bytes */
	assert_int_equal(kv_cache_bytes(&f, 1, KV_CACHE_F16), 30 * 64 * 2);
	gw_free(&w);
	unlink(path);
}

/* ---- facts from /api/show and /api/tags ---- */

static const char *show_json =
	"{\"model_info\":{\"general.architecture\":\"llama\",\"llama.block_count\":2,"
	"\"llama.attention.head_count\":4,\"llama.attention.head_count_kv\":[2,1],"
	"\"llama.embedding_length\":128,\"llama.context_length\":2048,\"llama.vocab_size\":1000},"
	"\"tensors\":[{\"name\":\"a\",\"type\":\"Q8_0\",\"shape\":[128,64]},{\"name\":\"b\",\"type\":\"F32\",\"shape\":[128]}],"
	"\"projector_info\":{\"clip.vision.image_size\":224,\"clip.vision.patch_size\":14,"
	"\"clip.vision.attention.head_count\":12,\"clip.vision.embedding_length\":768},"
	"\"capabilities\":[\"completion\",\"vision\"],\"parameters\":\"stop \\\"x\\\"\\nnum_ctx 8192\"}";

static void facts_from_api_reply(void **state)
{
	json_t *show = json_loads(show_json, 0, NULL);
	json_t *tags = json_loads("{\"models\":[{\"name\":\"tiny:latest\",\"size\":1000000}]}", 0, NULL);
	assert_non_null(show);
	struct model_facts f;
	struct err e = {0};
	assert_int_equal(model_facts_from_api("tiny", ROLE_VISION, show, tags, &f, &e), 0);
	assert_int_equal(f.weights_bytes, 128 * 64 / 32 * 34 + 128 * 4);
	assert_string_equal(f.weights_src, "api/show");
	assert_int_equal(f.projector_bytes, 1000000 - f.weights_bytes);
	assert_true(f.is_vision);
	assert_int_equal(f.default_num_ctx, 8192);
	/* KV heads 2 and 1, head dim 32: (2 + 1) x 64 x 2 bytes per token */
	assert_int_equal(kv_cache_bytes(&f, 1, KV_CACHE_F16), 3 * 64 * 2);
	/* 16 x 16 patches + 1: 4 x (257^2 x 12 + 4 x 257 x 768) */
	assert_int_equal(f.vision_graph_bytes, 4ull * (257 * 257 * 12 + 4 * 257 * 768));
	/* without tensors, the size comes from /api/tags */
	json_object_del(show, "tensors");
	assert_int_equal(model_facts_from_api("tiny", ROLE_VISION, show, tags, &f, &e), 0);
	assert_int_equal(f.weights_bytes, 1000000);
	assert_string_equal(f.weights_src, "api/tags");
	json_object_del(show, "model_info");
	assert_int_equal(model_facts_from_api("tiny", ROLE_VISION, show, tags, &f, &e), DOSSIER_EFORMAT);
	json_decref(show);
	json_decref(tags);
}

static void asr_facts_come_from_files_or_nominal(void **state)
{
	struct model_spec spec = {.name = "pocketsphinx:en-us", .nominal_bytes = 75000000};
	struct model_facts f;
	char dir[512], file[600];
	snprintf(dir, sizeof dir, "%s/plan_asr_%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	mkdir(dir, 0755);
	snprintf(file, sizeof file, "%s/model.bin", dir);
	FILE *fp = fopen(file, "wb");
	assert_non_null(fp);
	assert_int_equal(ftruncate(fileno(fp), 12345678), 0);
	fclose(fp);
	model_facts_asr(&spec, dir, "", &f);
	assert_int_equal(f.weights_bytes, 12345678);
	assert_non_null(strstr(f.weights_src, "files:"));
	model_facts_asr(&spec, "/nonexistent/dir", "", &f);
	assert_int_equal(f.weights_bytes, 75000000);
	assert_string_equal(f.weights_src, "nominal:seed");
	model_facts_asr(&spec, dir, "http://asr:8000", &f);
	assert_int_equal(f.weights_bytes, 0);
	unlink(file);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kv_of_llama32_3b_is_112_kib_per_token),
		cmocka_unit_test(kv_of_llama31_8b_is_128_kib_per_token),
		cmocka_unit_test(kv_of_llava_13b_has_no_gqa),
		cmocka_unit_test(compute_estimate_matches_the_llama_graph_formula),
		cmocka_unit_test(num_ctx_follows_ollama_defaults_and_clamps),
		cmocka_unit_test(unknown_model_gets_a_documented_estimate),
		cmocka_unit_test(facts_from_gguf_read_the_shape),
		cmocka_unit_test(facts_from_api_reply),
		cmocka_unit_test(asr_facts_come_from_files_or_nominal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
