/*
 * gguf.h — reads the metadata of a GGUF model file: header, key/value pairs and
 * the tensor table, never the tensor data.
 *
 *   gguf_file *g;
 *   struct err e = {0};
 *   if (gguf_open("/path/blob", &g, &e)) { ... e.msg names the file ... }
 *   uint64_t layers, bytes;
 *   gguf_arch_get_u64(g, "block_count", &layers);   // "<arch>.block_count"
 *   gguf_tensor_bytes(g, &bytes, &e);
 *   gguf_free(g);
 *
 * The file is read through pread with one 64 KiB window, so a multi-GB blob costs
 * a few hundred kilobytes of reads. Long arrays (the token list, BPE merges) are
 * skipped by reading their lengths only; numeric arrays up to GGUF_ARRAY_KEEP_MAX
 * elements (per-layer head counts) are kept. Every length, count and offset is
 * checked against the file size before it is used, so a truncated or lying file
 * is refused with DOSSIER_EFORMAT instead of causing a large allocation.
 *
 * GGUF versions 2 and 3, little-endian, are read. Version 1 and big-endian files
 * are refused with DOSSIER_EUNSUPPORTED.
 *
 * A gguf_file is immutable after open: concurrent getters are safe.
 */
#ifndef DOSSIER_PLAN_GGUF_H
#define DOSSIER_PLAN_GGUF_H

#include <stddef.h>
#include <stdint.h>

struct err;

/* Caps for this reader (bytes or counts). Named here rather than in core/buf.h
 * because nothing outside plan/ uses them. */
#define GGUF_KEY_MAX         (64u * 1024u)        /* longest key accepted */
#define GGUF_STRING_KEEP_MAX (1024u * 1024u)      /* longer string values are skipped */
#define GGUF_ARRAY_KEEP_MAX  (64u * 1024u)        /* longer numeric arrays are skipped */
#define GGUF_TENSOR_NAME_MAX (64u * 1024u)        /* longest tensor name accepted */
#define GGUF_MAX_DIMS        8u                   /* ggml uses 4; more is refused */
#define GGUF_WINDOW          (64u * 1024u)        /* read window */

/* Value types of the key/value section (GGUF spec). */
enum gguf_type {
	GGUF_TYPE_U8 = 0,
	GGUF_TYPE_I8 = 1,
	GGUF_TYPE_U16 = 2,
	GGUF_TYPE_I16 = 3,
	GGUF_TYPE_U32 = 4,
	GGUF_TYPE_I32 = 5,
	GGUF_TYPE_F32 = 6,
	GGUF_TYPE_BOOL = 7,
	GGUF_TYPE_STRING = 8,
	GGUF_TYPE_ARRAY = 9,
	GGUF_TYPE_U64 = 10,
	GGUF_TYPE_I64 = 11,
	GGUF_TYPE_F64 = 12,
	GGUF_TYPE_COUNT
};

/* A random-access byte source, so the reader can run over a file or memory. */
struct gguf_source {
	uint64_t size;  /* total bytes available */
	/* Reads exactly n bytes at off (off + n <= size is guaranteed by the caller).
	 * Returns 0 or a DOSSIER_E* code. */
	int (*read_at)(void *user_data, uint64_t off, void *dst, size_t n);
	void *user_data; /* passed to read_at; borrowed */
};

typedef struct gguf_file gguf_file; /* opaque; defined in gguf.c */

/* One entry of the tensor table. */
struct gguf_tensor {
	const char *name;              /* borrowed, valid until gguf_free */
	uint32_t n_dims;               /* 1..GGUF_MAX_DIMS */
	uint64_t dims[GGUF_MAX_DIMS];  /* elements per dimension, innermost first */
	uint32_t ggml_type;            /* ggml type id (F32 0, F16 1, Q4_0 2, ...) */
	uint64_t offset;               /* from the start of the data section, bytes */
	uint64_t bytes;                /* size of the data; 0 if the type is unknown */
};

/*
 * Opens path and reads its metadata. *out is NULL on failure. Errors:
 * DOSSIER_ENOTFOUND/EPERM/EIO (cannot open or read), DOSSIER_EFORMAT (not GGUF,
 * truncated, corrupt), DOSSIER_EUNSUPPORTED (version 1, big-endian), DOSSIER_ENOMEM.
 * The message names path.
 */
int gguf_open(const char *path, gguf_file **out, struct err *err);
/* The same over any source; name (borrowed) is used in messages. */
int gguf_open_source(const struct gguf_source *src, const char *name, gguf_file **out, struct err *err);
/* The same over n bytes at data (borrowed only during the call). */
int gguf_open_memory(const void *data, size_t n, const char *name, gguf_file **out, struct err *err);
/* NULL is a no-op. */
void gguf_free(gguf_file *g);

uint32_t gguf_version(const gguf_file *g);
uint64_t gguf_file_size(const gguf_file *g);
/* Offset of the (aligned) tensor data section from the start of the file. */
uint64_t gguf_data_offset(const gguf_file *g);
/* general.architecture, "" if absent. Borrowed, valid until gguf_free. */
const char *gguf_architecture(const gguf_file *g);
uint64_t gguf_kv_count(const gguf_file *g);

/*
 * Lookups by key. Return 0, DOSSIER_ENOTFOUND (no such key) or DOSSIER_EINVAL
 * (the value has another type). *out is untouched on failure.
 *  u64: any integer type with a non-negative value, or bool.
 *  i64: any integer type that fits in int64_t.
 *  f64: any numeric type.
 *  str: borrowed, NUL-terminated, valid until gguf_free; DOSSIER_ETOOBIG if the
 *       value was longer than GGUF_STRING_KEEP_MAX and was skipped.
 */
int gguf_get_u64(const gguf_file *g, const char *key, uint64_t *out);
int gguf_get_i64(const gguf_file *g, const char *key, int64_t *out);
int gguf_get_f64(const gguf_file *g, const char *key, double *out);
int gguf_get_str(const gguf_file *g, const char *key, const char **out);
/* Type of a key's value; DOSSIER_ENOTFOUND if absent. */
int gguf_get_type(const gguf_file *g, const char *key, enum gguf_type *out);
/* Length and element type of an array value (kept or skipped). */
int gguf_array_len(const gguf_file *g, const char *key, uint64_t *len, enum gguf_type *elem_type);
/* Element i of a kept numeric array as u64 (non-negative integers only).
 * DOSSIER_ETOOBIG if the array was skipped, DOSSIER_EINVAL if i is out of range
 * or the element is not a non-negative integer. */
int gguf_array_u64(const gguf_file *g, const char *key, uint64_t i, uint64_t *out);

/* "<architecture>.<suffix>" lookups, e.g. gguf_arch_get_u64(g, "block_count", &n). */
int gguf_arch_get_u64(const gguf_file *g, const char *suffix, uint64_t *out);
/*
 * A per-layer value that may be a scalar or an array (attention.head_count_kv,
 * attention.head_count): the scalar, or element `layer` of the array.
 */
int gguf_arch_layer_u64(const gguf_file *g, const char *suffix, uint64_t layer, uint64_t *out);

uint64_t gguf_tensor_count(const gguf_file *g);
/* Entry i (< gguf_tensor_count) into *out; DOSSIER_EINVAL if out of range. */
int gguf_tensor_at(const gguf_file *g, uint64_t i, struct gguf_tensor *out);
/*
 * Sum of the tensors' data sizes from their shapes and ggml types.
 * DOSSIER_EUNSUPPORTED if a tensor has a type this reader does not know (the
 * message names it; callers fall back to the file size).
 */
int gguf_tensor_bytes(const gguf_file *g, uint64_t *out, struct err *err);

/* ggml type table: elements per block and bytes per block; 0 if unknown. */
int gguf_ggml_type_size(uint32_t ggml_type, uint32_t *block_elems, uint32_t *block_bytes);
/* "Q4_K", "F16", ... or NULL if unknown. */
const char *gguf_ggml_type_name(uint32_t ggml_type);
/* The id for a name as /api/show prints it ("Q4_K", "f16"; case-insensitive);
 * DOSSIER_ENOTFOUND if unknown. */
int gguf_ggml_type_by_name(const char *name, uint32_t *out);

#endif
