/*
 * fuzz_gguf.c — libFuzzer target for the GGUF metadata reader (src/plan/gguf.c).
 * Parses the input through the in-memory source, then exercises every getter
 * on what was read. Built and run by tests/fuzz/run.sh.
 *
 * With -DFUZZ_GEN_SEEDS it is instead a small program that writes a seed corpus
 * (well-formed files of several shapes) into the directory named by argv[1].
 */
#include "core/err.h"
#include "plan/gguf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_GEN_SEEDS

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	gguf_file *g = NULL;
	struct err e = {0};
	if (gguf_open_memory(data, size, "fuzz", &g, &e)) {
		/* a refusal must explain itself */
		if (!e.msg[0])
			abort();
		return 0;
	}
	uint64_t v, n;
	int64_t i;
	double f;
	const char *s;
	enum gguf_type t;
	(void)gguf_architecture(g);
	(void)gguf_arch_get_u64(g, "block_count", &v);
	for (uint64_t l = 0; l < 4; l++)
		(void)gguf_arch_layer_u64(g, "attention.head_count_kv", l, &v);
	(void)gguf_get_i64(g, "general.alignment", &i);
	(void)gguf_get_f64(g, "general.alignment", &f);
	(void)gguf_get_str(g, "general.name", &s);
	(void)gguf_get_type(g, "general.name", &t);
	(void)gguf_array_len(g, "tokenizer.ggml.tokens", &n, &t);
	for (uint64_t k = 0; k < gguf_tensor_count(g) && k < 64; k++) {
		struct gguf_tensor tt;
		if (gguf_tensor_at(g, k, &tt) || !tt.name)
			abort();
		if (tt.bytes > gguf_file_size(g))
			abort(); /* a known-size tensor was checked against the file */
	}
	(void)gguf_tensor_bytes(g, &v, &e);
	if (gguf_data_offset(g) > gguf_file_size(g))
		abort();
	gguf_free(g);
	return 0;
}

#else /* FUZZ_GEN_SEEDS */

#include "gguf_writer.h"

static void save(const char *dir, const char *name, const struct gw *w, uint64_t data_bytes)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		exit(1);
	fwrite(w->p, 1, w->len, f);
	/* real zero bytes: the fuzzer reads the corpus into memory */
	for (uint64_t k = 0; k < data_bytes; k++)
		fputc(0, f);
	fclose(f);
}

int main(int argc, char **argv)
{
	static const int32_t kv[3] = {4, 0, 2};
	struct gw w = {0};
	uint64_t tb, db;
	if (argc != 2)
		return 2;
	struct gw_model m = {.arch = "llama", .layers = 2, .heads = 4, .kv_heads = 2, .embd = 32, .ctx_train = 512,
	                     .vocab = 8, .wtype = GW_Q8_0};
	gw_build_model(&w, &m, &tb, &db);
	save(argv[1], "llama_q8.gguf", &w, db);
	gw_free(&w);
	m.layers = 3;
	m.kv_heads_per_layer = kv;
	m.key_length = 16;
	m.wtype = GW_F16;
	gw_build_model(&w, &m, &tb, &db);
	save(argv[1], "perlayer_f16.gguf", &w, db);
	gw_free(&w);
	gw_header(&w, 2, 0, 3);
	gw_kv_str(&w, "general.architecture", "clip");
	gw_kv_u32(&w, "general.alignment", 64);
	gw_kv_f32(&w, "clip.vision.image_mean", 0.5f);
	save(argv[1], "v2_kv_only.gguf", &w, 0);
	gw_free(&w);
	gw_raw(&w, "GGUF", 4);
	save(argv[1], "magic_only.gguf", &w, 0);
	gw_free(&w);
	return 0;
}

#endif
