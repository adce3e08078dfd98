/*
 * gguf_writer.h — a tiny GGUF writer for tests and for the fuzzer's seed corpus.
 * Header-only, test code: aborts on out-of-memory.
 *
 *   struct gw w = {0};
 *   gw_header(&w, 3, n_tensors, n_kv);
 *   gw_kv_str(&w, "general.architecture", "llama");
 *   ...
 *   gw_tensor(&w, "token_embd.weight", 2, dims, GW_F16, &data_off);
 *   gw_pad(&w, 32);
 *   gw_write_file(&w, path, data_off);  // header, then a sparse data section
 *   gw_free(&w);
 */
#ifndef DOSSIER_TESTS_GGUF_WRITER_H
#define DOSSIER_TESTS_GGUF_WRITER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ggml type ids used by the tests, with block sizes written out independently
 * of the reader's table so the tests check it. */
enum { GW_F32 = 0, GW_F16 = 1, GW_Q4_0 = 2, GW_Q8_0 = 8, GW_Q4_K = 12, GW_Q6_K = 14 };

static inline uint64_t gw_type_bytes(uint32_t type, uint64_t elems)
{
	switch (type) {
	case GW_F32: return elems * 4;
	case GW_F16: return elems * 2;
	case GW_Q4_0: return elems / 32 * 18;
	case GW_Q8_0: return elems / 32 * 34;
	case GW_Q4_K: return elems / 256 * 144;
	case GW_Q6_K: return elems / 256 * 210;
	default: abort();
	}
}

struct gw {
	unsigned char *p;
	size_t len, cap;
};

static inline void gw_raw(struct gw *w, const void *d, size_t n)
{
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		while (cap < w->len + n)
			cap *= 2;
		w->p = realloc(w->p, cap);
		if (!w->p)
			abort();
		w->cap = cap;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}

static inline void gw_u32(struct gw *w, uint32_t v)
{
	unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
	gw_raw(w, b, 4);
}

static inline void gw_u64(struct gw *w, uint64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	gw_raw(w, b, 8);
}

static inline void gw_str(struct gw *w, const char *s)
{
	gw_u64(w, strlen(s));
	gw_raw(w, s, strlen(s));
}

static inline void gw_header(struct gw *w, uint32_t version, uint64_t n_tensors, uint64_t n_kv)
{
	gw_raw(w, "GGUF", 4);
	gw_u32(w, version);
	gw_u64(w, n_tensors);
	gw_u64(w, n_kv);
}

static inline void gw_kv_str(struct gw *w, const char *key, const char *val)
{
	gw_str(w, key);
	gw_u32(w, 8);
	gw_str(w, val);
}

static inline void gw_kv_u32(struct gw *w, const char *key, uint32_t v)
{
	gw_str(w, key);
	gw_u32(w, 4);
	gw_u32(w, v);
}

static inline void gw_kv_u64(struct gw *w, const char *key, uint64_t v)
{
	gw_str(w, key);
	gw_u32(w, 10);
	gw_u64(w, v);
}

static inline void gw_kv_f32(struct gw *w, const char *key, float f)
{
	uint32_t v;
	memcpy(&v, &f, 4);
	gw_str(w, key);
	gw_u32(w, 6);
	gw_u32(w, v);
}

static inline void gw_kv_arr_i32(struct gw *w, const char *key, const int32_t *v, uint64_t n)
{
	gw_str(w, key);
	gw_u32(w, 9);
	gw_u32(w, 5);
	gw_u64(w, n);
	for (uint64_t i = 0; i < n; i++)
		gw_u32(w, (uint32_t)v[i]);
}

/* An array of n strings "tok<i>" (a stand-in for tokenizer.ggml.tokens). */
static inline void gw_kv_arr_tokens(struct gw *w, const char *key, uint64_t n)
{
	char s[32];
	gw_str(w, key);
	gw_u32(w, 9);
	gw_u32(w, 8);
	gw_u64(w, n);
	for (uint64_t i = 0; i < n; i++) {
		snprintf(s, sizeof s, "tok%llu", (unsigned long long)i);
		gw_str(w, s);
	}
}

/* A tensor entry at *data_off; advances *data_off by its size rounded to 32. */
static inline void gw_tensor(struct gw *w, const char *name, uint32_t n_dims, const uint64_t *dims, uint32_t type,
                             uint64_t *data_off)
{
	uint64_t elems = 1;
	gw_str(w, name);
	gw_u32(w, n_dims);
	for (uint32_t i = 0; i < n_dims; i++) {
		gw_u64(w, dims[i]);
		elems *= dims[i];
	}
	gw_u32(w, type);
	gw_u64(w, *data_off);
	*data_off += (gw_type_bytes(type, elems) + 31) / 32 * 32;
}

static inline void gw_pad(struct gw *w, size_t alignment)
{
	static const unsigned char zero[64];
	while (w->len % alignment)
		gw_raw(w, zero, 1);
	(void)zero;
}

/* Writes the metadata, then extends the file by data_bytes of (sparse) zeros.
 * Returns 0 or -1. */
static inline int gw_write_file(const struct gw *w, const char *path, uint64_t data_bytes)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	int bad = fwrite(w->p, 1, w->len, f) != w->len;
	bad |= fflush(f) != 0;
	bad |= ftruncate(fileno(f), (off_t)(w->len + data_bytes)) != 0;
	bad |= fclose(f) != 0;
	return bad ? -1 : 0;
}

static inline void gw_free(struct gw *w)
{
	free(w->p);
	w->p = NULL;
	w->len = w->cap = 0;
}

/* ---- a llama-shaped model ---- */

struct gw_model {
	const char *arch;         /* "llama" */
	uint32_t layers;          /* block_count */
	uint32_t heads;           /* attention.head_count */
	uint32_t kv_heads;        /* attention.head_count_kv (scalar) */
	const int32_t *kv_heads_per_layer; /* non-NULL: written as an array instead */
	uint32_t embd;            /* embedding_length */
	uint32_t key_length;      /* 0 = not written */
	uint64_t ctx_train;       /* context_length */
	uint64_t vocab;           /* tokens in tokenizer.ggml.tokens */
	uint32_t wtype;           /* ggml type of the weight matrices */
};

/* Builds the file: per layer attn_q/attn_k/attn_v/attn_output/ffn (4 x embd each
 * way) plus token_embd and output_norm. Returns the data bytes (what
 * gguf_tensor_bytes must report, before the 32-byte padding of each tensor)
 * in *tensor_bytes and the data section size in *data_bytes. */
static inline void gw_build_model(struct gw *w, const struct gw_model *m, uint64_t *tensor_bytes, uint64_t *data_bytes)
{
	char key[128];
	uint64_t off = 0, sum = 0;
	uint64_t n_tensors = 2 + 4ull * m->layers;
	uint64_t n_kv = 8 + (m->key_length ? 2 : 0);
	gw_header(w, 3, n_tensors, n_kv);
	gw_kv_str(w, "general.architecture", m->arch);
	gw_kv_str(w, "general.name", "test model");
	snprintf(key, sizeof key, "%s.block_count", m->arch);
	gw_kv_u32(w, key, m->layers);
	snprintf(key, sizeof key, "%s.attention.head_count", m->arch);
	gw_kv_u32(w, key, m->heads);
	snprintf(key, sizeof key, "%s.attention.head_count_kv", m->arch);
	if (m->kv_heads_per_layer)
		gw_kv_arr_i32(w, key, m->kv_heads_per_layer, m->layers);
	else
		gw_kv_u32(w, key, m->kv_heads);
	snprintf(key, sizeof key, "%s.embedding_length", m->arch);
	gw_kv_u32(w, key, m->embd);
	snprintf(key, sizeof key, "%s.context_length", m->arch);
	gw_kv_u64(w, key, m->ctx_train);
	if (m->key_length) {
		snprintf(key, sizeof key, "%s.attention.key_length", m->arch);
		gw_kv_u32(w, key, m->key_length);
		snprintf(key, sizeof key, "%s.attention.value_length", m->arch);
		gw_kv_u32(w, key, m->key_length);
	}
	gw_kv_arr_tokens(w, "tokenizer.ggml.tokens", m->vocab);

	uint64_t d2[2] = {m->embd, m->vocab};
	gw_tensor(w, "token_embd.weight", 2, d2, m->wtype, &off);
	sum += gw_type_bytes(m->wtype, d2[0] * d2[1]);
	uint64_t d1[1] = {m->embd};
	gw_tensor(w, "output_norm.weight", 1, d1, GW_F32, &off);
	sum += gw_type_bytes(GW_F32, d1[0]);
	static const char *const parts[] = {"attn_q", "attn_k", "attn_v", "ffn_up"};
	for (uint32_t l = 0; l < m->layers; l++)
		for (int p = 0; p < 4; p++) {
			char name[64];
			uint64_t dd[2] = {m->embd, m->embd};
			snprintf(name, sizeof name, "blk.%u.%s.weight", l, parts[p]);
			gw_tensor(w, name, 2, dd, m->wtype, &off);
			sum += gw_type_bytes(m->wtype, dd[0] * dd[1]);
		}
	gw_pad(w, 32);
	*tensor_bytes = sum;
	*data_bytes = off;
}

#endif
