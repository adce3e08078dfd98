/*
 * gguf.c — GGUF metadata reader. See gguf.h for the contract.
 *
 * Layout (little-endian; reference/ollama.md 12.1):
 *   u32 magic "GGUF" | u32 version | u64 tensor_count | u64 kv_count
 *   kv_count x { string key; u32 type; value }
 *   tensor_count x { string name; u32 n_dims; u64 dims[n_dims]; u32 type; u64 offset }
 *   padding to general.alignment (default 32), then tensor data (never read here)
 */
#include "plan/gguf.h"
#include "core/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------ ggml types */

struct ggml_type_info {
	const char *name;
	uint32_t block_elems;
	uint32_t block_bytes;
};

/* ggml type ids and block sizes (ggml.h / ggml.c type traits). Gaps are ids
 * that ggml removed; they stay unknown. */
static const struct ggml_type_info ggml_types[] = {
	[0] = {"F32", 1, 4},        [1] = {"F16", 1, 2},         [2] = {"Q4_0", 32, 18},
	[3] = {"Q4_1", 32, 20},     [6] = {"Q5_0", 32, 22},      [7] = {"Q5_1", 32, 24},
	[8] = {"Q8_0", 32, 34},     [9] = {"Q8_1", 32, 36},      [10] = {"Q2_K", 256, 84},
	[11] = {"Q3_K", 256, 110},  [12] = {"Q4_K", 256, 144},   [13] = {"Q5_K", 256, 176},
	[14] = {"Q6_K", 256, 210},  [15] = {"Q8_K", 256, 292},   [16] = {"IQ2_XXS", 256, 66},
	[17] = {"IQ2_XS", 256, 74}, [18] = {"IQ3_XXS", 256, 98}, [19] = {"IQ1_S", 256, 50},
	[20] = {"IQ4_NL", 32, 18},  [21] = {"IQ3_S", 256, 110},  [22] = {"IQ2_S", 256, 82},
	[23] = {"IQ4_XS", 256, 136},[24] = {"I8", 1, 1},         [25] = {"I16", 1, 2},
	[26] = {"I32", 1, 4},       [27] = {"I64", 1, 8},        [28] = {"F64", 1, 8},
	[29] = {"IQ1_M", 256, 56},  [30] = {"BF16", 1, 2},       [34] = {"TQ1_0", 256, 54},
	[35] = {"TQ2_0", 256, 66},  [39] = {"MXFP4", 32, 17},
};
#define GGML_TYPE_SLOTS (sizeof ggml_types / sizeof ggml_types[0])

int gguf_ggml_type_size(uint32_t t, uint32_t *block_elems, uint32_t *block_bytes)
{
	if (t >= GGML_TYPE_SLOTS || !ggml_types[t].name)
		return 0;
	*block_elems = ggml_types[t].block_elems;
	*block_bytes = ggml_types[t].block_bytes;
	return 1;
}

const char *gguf_ggml_type_name(uint32_t t)
{
	return t < GGML_TYPE_SLOTS ? ggml_types[t].name : NULL;
}

int gguf_ggml_type_by_name(const char *name, uint32_t *out)
{
	for (uint32_t t = 0; t < GGML_TYPE_SLOTS; t++)
		if (ggml_types[t].name && !strcasecmp(ggml_types[t].name, name)) {
			*out = t;
			return 0;
		}
	return DOSSIER_ENOTFOUND;
}

/* --------------------------------------------------------------- structures */

union gguf_num {
	uint64_t u;
	int64_t i;
	double f;
};

struct gguf_kv {
	char *key;              /* owned */
	enum gguf_type type;
	union gguf_num v;       /* scalars */
	char *str;              /* owned string value; NULL if skipped or not a string */
	int str_skipped;        /* 1 = string longer than GGUF_STRING_KEEP_MAX */
	enum gguf_type elem;    /* array element type */
	uint64_t arr_len;       /* array length */
	union gguf_num *arr;    /* owned numeric elements, NULL if skipped */
};

struct gguf_file {
	char *name;             /* owned; used in messages */
	uint32_t version;
	uint64_t size;          /* file bytes */
	uint64_t data_offset;   /* start of the tensor data section */
	struct gguf_kv *kv;     /* owned, kv_n entries */
	uint64_t kv_n, kv_cap;
	struct gguf_tensor *t;  /* owned, t_n entries; names owned */
	uint64_t t_n, t_cap;
	int unknown_type;       /* first unknown ggml type seen, -1 if none */
	const char *unknown_tensor; /* its tensor's name (borrowed from t) */
};

/* ----------------------------------------------------------- windowed reader */

struct rd {
	const struct gguf_source *src;
	const char *name;
	uint64_t pos;                 /* next byte to read */
	uint64_t win_off;             /* file offset of win[0] */
	size_t win_len;               /* valid bytes in win */
	unsigned char win[GGUF_WINDOW];
	struct err *err;
};

static int corrupt(struct rd *r, const char *what, uint64_t need)
{
	return err_set(r->err, DOSSIER_EFORMAT,
	               "%s: truncated or corrupt GGUF: %s at offset %llu needs %llu bytes but only %llu remain"
	               " (re-pull the model or check the download)",
	               r->name, what, (unsigned long long)r->pos, (unsigned long long)need,
	               (unsigned long long)(r->src->size - r->pos));
}

static uint64_t remain(const struct rd *r)
{
	return r->src->size - r->pos;
}

/* Copies n bytes at pos into dst and advances; refuses to read past the end. */
static int rd_bytes(struct rd *r, void *dst, size_t n, const char *what)
{
	unsigned char *d = dst;
	if (n > remain(r))
		return corrupt(r, what, n);
	while (n) {
		if (r->pos < r->win_off || r->pos >= r->win_off + r->win_len) {
			uint64_t left = r->src->size - r->pos;
			size_t want = left < GGUF_WINDOW ? (size_t)left : GGUF_WINDOW;
			int rc = r->src->read_at(r->src->user_data, r->pos, r->win, want);
			if (rc)
				return err_set(r->err, rc, "%s: read failed at offset %llu: %s", r->name,
				               (unsigned long long)r->pos, rc == DOSSIER_EIO ? strerror(errno) : dossier_rc_name(rc));
			r->win_off = r->pos;
			r->win_len = want;
		}
		size_t at = (size_t)(r->pos - r->win_off);
		size_t take = r->win_len - at < n ? r->win_len - at : n;
		memcpy(d, r->win + at, take);
		d += take;
		n -= take;
		r->pos += take;
	}
	return 0;
}

static int rd_skip(struct rd *r, uint64_t n, const char *what)
{
	if (n > remain(r))
		return corrupt(r, what, n);
	r->pos += n;
	return 0;
}

static int rd_u32(struct rd *r, uint32_t *v, const char *what)
{
	unsigned char b[4];
	int rc = rd_bytes(r, b, 4, what);
	if (!rc)
		*v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return rc;
}

static int rd_u64(struct rd *r, uint64_t *v, const char *what)
{
	unsigned char b[8];
	int rc = rd_bytes(r, b, 8, what);
	if (!rc) {
		*v = 0;
		for (int i = 7; i >= 0; i--)
			*v = *v << 8 | b[i];
	}
	return rc;
}

/* Reads a string into a new NUL-terminated buffer when its length is at most
 * keep_max; longer strings are skipped (*out = NULL, *skipped = 1), or refused
 * when skipped is NULL. */
static int rd_string(struct rd *r, uint64_t keep_max, char **out, int *skipped, const char *what)
{
	uint64_t len;
	int rc = rd_u64(r, &len, what);
	*out = NULL;
	if (rc)
		return rc;
	if (len > remain(r))
		return corrupt(r, what, len);
	if (len > keep_max) {
		if (!skipped)
			return err_set(r->err, DOSSIER_EFORMAT,
			               "%s: truncated or corrupt GGUF: %s at offset %llu is %llu bytes long (at most %llu expected)",
			               r->name, what, (unsigned long long)r->pos, (unsigned long long)len,
			               (unsigned long long)keep_max);
		*skipped = 1;
		return rd_skip(r, len, what);
	}
	char *s = malloc((size_t)len + 1);
	if (!s)
		return err_set(r->err, DOSSIER_ENOMEM, "%s: out of memory reading %s", r->name, what);
	rc = rd_bytes(r, s, (size_t)len, what);
	if (rc) {
		free(s);
		return rc;
	}
	s[len] = '\0';
	*out = s;
	if (skipped)
		*skipped = 0;
	return 0;
}

/* ------------------------------------------------------------- key / values */

static size_t scalar_size(enum gguf_type t)
{
	switch (t) {
	case GGUF_TYPE_U8: case GGUF_TYPE_I8: case GGUF_TYPE_BOOL: return 1;
	case GGUF_TYPE_U16: case GGUF_TYPE_I16: return 2;
	case GGUF_TYPE_U32: case GGUF_TYPE_I32: case GGUF_TYPE_F32: return 4;
	case GGUF_TYPE_U64: case GGUF_TYPE_I64: case GGUF_TYPE_F64: return 8;
	default: return 0;
	}
}

/* Decodes a little-endian scalar of type t from b into a union. */
static union gguf_num decode_scalar(enum gguf_type t, const unsigned char *b)
{
	union gguf_num v;
	uint64_t raw = 0;
	size_t n = scalar_size(t);
	for (size_t i = n; i > 0; i--)
		raw = raw << 8 | b[i - 1];
	switch (t) {
	case GGUF_TYPE_I8: v.i = (int8_t)raw; break;
	case GGUF_TYPE_I16: v.i = (int16_t)raw; break;
	case GGUF_TYPE_I32: v.i = (int32_t)raw; break;
	case GGUF_TYPE_I64: v.i = (int64_t)raw; break;
	case GGUF_TYPE_F32: {
		float f;
		uint32_t r32 = (uint32_t)raw;
		memcpy(&f, &r32, 4);
		v.f = f;
		break;
	}
	case GGUF_TYPE_F64: memcpy(&v.f, &raw, 8); break;
	default: v.u = raw; break;
	}
	return v;
}

static int is_signed(enum gguf_type t)
{
	return t == GGUF_TYPE_I8 || t == GGUF_TYPE_I16 || t == GGUF_TYPE_I32 || t == GGUF_TYPE_I64;
}

static int is_float(enum gguf_type t)
{
	return t == GGUF_TYPE_F32 || t == GGUF_TYPE_F64;
}

static int read_array(struct rd *r, struct gguf_kv *kv)
{
	uint32_t et;
	uint64_t n;
	int rc;
	if ((rc = rd_u32(r, &et, "array element type")) || (rc = rd_u64(r, &n, "array length")))
		return rc;
	if (et >= GGUF_TYPE_COUNT || et == GGUF_TYPE_ARRAY)
		return err_set(r->err, DOSSIER_EFORMAT,
		               "%s: truncated or corrupt GGUF: key '%s' has array element type %u (not a GGUF scalar type)",
		               r->name, kv->key, et);
	kv->elem = (enum gguf_type)et;
	kv->arr_len = n;
	if (et == GGUF_TYPE_STRING) {
		/* Token lists and merges: 8 bytes of length at least per element. */
		if (n > remain(r) / 8)
			return corrupt(r, "string array", n > UINT64_MAX / 8 ? UINT64_MAX : n * 8);
		for (uint64_t i = 0; i < n; i++) {
			uint64_t len;
			if ((rc = rd_u64(r, &len, "array string length")) || (rc = rd_skip(r, len, "array string")))
				return rc;
		}
		return 0;
	}
	size_t es = scalar_size(kv->elem);
	if (n > remain(r) / es)
		return corrupt(r, "array data", n <= UINT64_MAX / es ? n * es : UINT64_MAX);
	if (n > GGUF_ARRAY_KEEP_MAX)
		return rd_skip(r, n * es, "array data");
	kv->arr = calloc(n ? (size_t)n : 1, sizeof *kv->arr);
	if (!kv->arr)
		return err_set(r->err, DOSSIER_ENOMEM, "%s: out of memory reading '%s'", r->name, kv->key);
	for (uint64_t i = 0; i < n; i++) {
		unsigned char b[8];
		if ((rc = rd_bytes(r, b, es, "array element")))
			return rc;
		kv->arr[i] = decode_scalar(kv->elem, b);
	}
	return 0;
}

static const struct gguf_kv *find_kv(const gguf_file *g, const char *key)
{
	for (uint64_t i = 0; i < g->kv_n; i++)
		if (!strcmp(g->kv[i].key, key))
			return &g->kv[i];
	return NULL;
}

static int read_kv(struct rd *r, gguf_file *g)
{
	int rc;
	if (g->kv_n == g->kv_cap) {
		uint64_t cap = g->kv_cap ? g->kv_cap * 2 : 32;
		struct gguf_kv *kv = realloc(g->kv, (size_t)cap * sizeof *kv);
		if (!kv)
			return err_set(r->err, DOSSIER_ENOMEM, "%s: out of memory reading metadata", r->name);
		g->kv = kv;
		g->kv_cap = cap;
	}
	struct gguf_kv *kv = &g->kv[g->kv_n];
	memset(kv, 0, sizeof *kv);
	if ((rc = rd_string(r, GGUF_KEY_MAX, &kv->key, NULL, "key")))
		return rc;
	g->kv_n++; /* owned by g from here, freed by gguf_free on error */
	if (find_kv(g, kv->key) != kv)
		return err_set(r->err, DOSSIER_EFORMAT, "%s: truncated or corrupt GGUF: key '%s' appears twice", r->name, kv->key);
	uint32_t type;
	if ((rc = rd_u32(r, &type, "value type")))
		return rc;
	if (type >= GGUF_TYPE_COUNT)
		return err_set(r->err, DOSSIER_EFORMAT,
		               "%s: truncated or corrupt GGUF: key '%s' has value type %u (at most 12 is defined)",
		               r->name, kv->key, type);
	kv->type = (enum gguf_type)type;
	if (kv->type == GGUF_TYPE_STRING)
		return rd_string(r, GGUF_STRING_KEEP_MAX, &kv->str, &kv->str_skipped, "string value");
	if (kv->type == GGUF_TYPE_ARRAY)
		return read_array(r, kv);
	unsigned char b[8];
	if ((rc = rd_bytes(r, b, scalar_size(kv->type), "value")))
		return rc;
	kv->v = decode_scalar(kv->type, b);
	return 0;
}

/* --------------------------------------------------------------- tensors */

static int read_tensor(struct rd *r, gguf_file *g)
{
	int rc;
	if (g->t_n == g->t_cap) {
		uint64_t cap = g->t_cap ? g->t_cap * 2 : 64;
		struct gguf_tensor *t = realloc(g->t, (size_t)cap * sizeof *t);
		if (!t)
			return err_set(r->err, DOSSIER_ENOMEM, "%s: out of memory reading the tensor table", r->name);
		g->t = t;
		g->t_cap = cap;
	}
	struct gguf_tensor *t = &g->t[g->t_n];
	char *name;
	memset(t, 0, sizeof *t);
	if ((rc = rd_string(r, GGUF_TENSOR_NAME_MAX, &name, NULL, "tensor name")))
		return rc;
	t->name = name;
	g->t_n++;
	if ((rc = rd_u32(r, &t->n_dims, "tensor dimension count")))
		return rc;
	if (t->n_dims == 0 || t->n_dims > GGUF_MAX_DIMS)
		return err_set(r->err, DOSSIER_EFORMAT,
		               "%s: truncated or corrupt GGUF: tensor '%s' has %u dimensions (1 to %u expected)",
		               r->name, name, t->n_dims, GGUF_MAX_DIMS);
	uint64_t elems = 1;
	for (uint32_t d = 0; d < t->n_dims; d++) {
		if ((rc = rd_u64(r, &t->dims[d], "tensor dimension")))
			return rc;
		if (t->dims[d] && elems > UINT64_MAX / t->dims[d])
			return err_set(r->err, DOSSIER_EFORMAT,
			               "%s: truncated or corrupt GGUF: tensor '%s' has an impossible shape", r->name, name);
		elems *= t->dims[d];
	}
	if ((rc = rd_u32(r, &t->ggml_type, "tensor type")) || (rc = rd_u64(r, &t->offset, "tensor offset")))
		return rc;
	uint32_t be, bb;
	if (!gguf_ggml_type_size(t->ggml_type, &be, &bb)) {
		if (g->unknown_type < 0) {
			g->unknown_type = (int)t->ggml_type;
			g->unknown_tensor = t->name;
		}
		return 0;
	}
	if (t->dims[0] % be)
		return err_set(r->err, DOSSIER_EFORMAT,
		               "%s: truncated or corrupt GGUF: tensor '%s' row of %llu elements is not a multiple of the %s block (%u)",
		               r->name, name, (unsigned long long)t->dims[0], gguf_ggml_type_name(t->ggml_type), be);
	uint64_t blocks = elems / be;
	if (blocks > UINT64_MAX / bb)
		return err_set(r->err, DOSSIER_EFORMAT,
		               "%s: truncated or corrupt GGUF: tensor '%s' has an impossible size", r->name, name);
	t->bytes = blocks * bb;
	return 0;
}

/* Checks every tensor with a known size lies inside the file's data section. */
static int check_tensor_extents(struct rd *r, gguf_file *g, uint64_t alignment)
{
	uint64_t avail = g->size - g->data_offset;
	for (uint64_t i = 0; i < g->t_n; i++) {
		const struct gguf_tensor *t = &g->t[i];
		if (t->offset % alignment)
			return err_set(r->err, DOSSIER_EFORMAT,
			               "%s: truncated or corrupt GGUF: tensor '%s' offset %llu is not aligned to %llu",
			               r->name, t->name, (unsigned long long)t->offset, (unsigned long long)alignment);
		if (t->offset > avail || t->bytes > avail - t->offset)
			return err_set(r->err, DOSSIER_EFORMAT,
			               "%s: truncated or corrupt GGUF: tensor '%s' (%llu bytes at data offset %llu) runs past the end"
			               " of the file (%llu data bytes): the download is incomplete, re-pull the model",
			               r->name, t->name, (unsigned long long)t->bytes, (unsigned long long)t->offset,
			               (unsigned long long)avail);
	}
	return 0;
}

/* ------------------------------------------------------------------ open */

int gguf_open_source(const struct gguf_source *src, const char *name, gguf_file **out, struct err *err)
{
	int rc;
	struct rd *r;
	gguf_file *g;
	uint32_t magic, version;
	uint64_t n_tensors, n_kv;

	*out = NULL;
	if (!name)
		name = "(memory)";
	r = malloc(sizeof *r);
	g = calloc(1, sizeof *g);
	if (!r || !g) {
		free(r);
		free(g);
		return err_set(err, DOSSIER_ENOMEM, "%s: out of memory", name);
	}
	r->src = src;
	r->name = name;
	r->pos = 0;
	r->win_off = 0;
	r->win_len = 0;
	r->err = err;
	g->size = src->size;
	g->unknown_type = -1;
	g->name = strdup(name);
	if (!g->name) {
		rc = err_set(err, DOSSIER_ENOMEM, "%s: out of memory", name);
		goto fail;
	}

	if (src->size < 4 || rd_u32(r, &magic, "magic")) {
		rc = err_set(err, DOSSIER_EFORMAT, "%s: is not a GGUF file (too short: %llu bytes)", name,
		             (unsigned long long)src->size);
		goto fail;
	}
	if (magic != 0x46554747u) { /* "GGUF" read as a little-endian u32 */
		rc = err_set(err, DOSSIER_EFORMAT, "%s: is not a GGUF file (it does not start with the bytes 'GGUF')", name);
		goto fail;
	}
	if ((rc = rd_u32(r, &version, "version")))
		goto fail;
	if (version == 1) {
		rc = err_set(err, DOSSIER_EUNSUPPORTED,
		             "%s: GGUF version 1 is not supported (re-pull or convert the model to GGUF v3)", name);
		goto fail;
	}
	if (version != 2 && version != 3) {
		int swapped = (version & 0xffffu) == 0 && version != 0;
		rc = err_set(err, DOSSIER_EUNSUPPORTED, "%s: GGUF version %u%s is not supported (versions 2 and 3 are)", name,
		             swapped ? __builtin_bswap32(version) : version, swapped ? " big-endian" : "");
		goto fail;
	}
	g->version = version;
	if ((rc = rd_u64(r, &n_tensors, "tensor count")) || (rc = rd_u64(r, &n_kv, "key/value count")))
		goto fail;
	/* The smallest key/value is 13 bytes (8 length + 4 type + 1 value); the
	 * smallest tensor entry 28 bytes. A count that cannot fit is a lie. */
	if (n_kv > remain(r) / 13 || n_tensors > remain(r) / 28) {
		rc = err_set(err, DOSSIER_EFORMAT,
		             "%s: truncated or corrupt GGUF: it claims %llu keys and %llu tensors but has only %llu bytes left",
		             name, (unsigned long long)n_kv, (unsigned long long)n_tensors, (unsigned long long)remain(r));
		goto fail;
	}
	for (uint64_t i = 0; i < n_kv; i++)
		if ((rc = read_kv(r, g)))
			goto fail;
	for (uint64_t i = 0; i < n_tensors; i++)
		if ((rc = read_tensor(r, g)))
			goto fail;

	uint64_t alignment = 32;
	const struct gguf_kv *a = find_kv(g, "general.alignment");
	if (a) {
		if (a->type == GGUF_TYPE_ARRAY || a->type == GGUF_TYPE_STRING || is_float(a->type) ||
		    (is_signed(a->type) && a->v.i <= 0) || a->v.u == 0 || (a->v.u & (a->v.u - 1)) ||
		    a->v.u > (1u << 30)) {
			rc = err_set(err, DOSSIER_EFORMAT,
			             "%s: truncated or corrupt GGUF: general.alignment is not a power of two", name);
			goto fail;
		}
		alignment = a->v.u;
	}
	g->data_offset = (r->pos + alignment - 1) / alignment * alignment;
	if (n_tensors && g->data_offset > g->size) {
		rc = err_set(err, DOSSIER_EFORMAT,
		             "%s: truncated or corrupt GGUF: the file ends before its tensor data (re-pull the model)", name);
		goto fail;
	}
	if (g->data_offset > g->size)
		g->data_offset = g->size;
	if ((rc = check_tensor_extents(r, g, alignment)))
		goto fail;
	free(r);
	*out = g;
	return 0;
fail:
	free(r);
	gguf_free(g);
	return rc;
}

struct fd_src {
	int fd;
};

static int fd_read_at(void *user_data, uint64_t off, void *dst, size_t n)
{
	struct fd_src *s = user_data;
	unsigned char *d = dst;
	while (n) {
		ssize_t k = pread(s->fd, d, n, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return DOSSIER_EIO;
		}
		d += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

int gguf_open(const char *path, gguf_file **out, struct err *err)
{
	struct stat st;
	struct fd_src s;
	*out = NULL;
	s.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s.fd < 0)
		return err_set(err, errno == ENOENT ? DOSSIER_ENOTFOUND : errno == EACCES ? DOSSIER_EPERM : DOSSIER_EIO,
		               "%s: cannot open: %s", path, strerror(errno));
	if (fstat(s.fd, &st) || !S_ISREG(st.st_mode)) {
		int e = errno;
		close(s.fd);
		return err_set(err, DOSSIER_EIO, "%s: is not a regular file%s%s", path, e ? ": " : "", e ? strerror(e) : "");
	}
	struct gguf_source src = {.size = (uint64_t)st.st_size, .read_at = fd_read_at, .user_data = &s};
	int rc = gguf_open_source(&src, path, out, err);
	close(s.fd);
	return rc;
}

struct mem_src {
	const unsigned char *p;
};

static int mem_read_at(void *user_data, uint64_t off, void *dst, size_t n)
{
	const struct mem_src *m = user_data;
	memcpy(dst, m->p + off, n);
	return 0;
}

int gguf_open_memory(const void *data, size_t n, const char *name, gguf_file **out, struct err *err)
{
	struct mem_src m = {data};
	struct gguf_source src = {.size = n, .read_at = mem_read_at, .user_data = &m};
	return gguf_open_source(&src, name, out, err);
}

void gguf_free(gguf_file *g)
{
	if (!g)
		return;
	for (uint64_t i = 0; i < g->kv_n; i++) {
		free(g->kv[i].key);
		free(g->kv[i].str);
		free(g->kv[i].arr);
	}
	for (uint64_t i = 0; i < g->t_n; i++)
		free((char *)g->t[i].name);
	free(g->kv);
	free(g->t);
	free(g->name);
	free(g);
}

/* ---------------------------------------------------------------- getters */

uint32_t gguf_version(const gguf_file *g) { return g->version; }
uint64_t gguf_file_size(const gguf_file *g) { return g->size; }
uint64_t gguf_data_offset(const gguf_file *g) { return g->data_offset; }
uint64_t gguf_kv_count(const gguf_file *g) { return g->kv_n; }
uint64_t gguf_tensor_count(const gguf_file *g) { return g->t_n; }

const char *gguf_architecture(const gguf_file *g)
{
	const struct gguf_kv *kv = find_kv(g, "general.architecture");
	return kv && kv->type == GGUF_TYPE_STRING && kv->str ? kv->str : "";
}

static int num_to_u64(enum gguf_type t, union gguf_num v, uint64_t *out)
{
	if (is_float(t) || t == GGUF_TYPE_STRING || t == GGUF_TYPE_ARRAY)
		return DOSSIER_EINVAL;
	if (is_signed(t) && v.i < 0)
		return DOSSIER_EINVAL;
	*out = v.u;
	return 0;
}

int gguf_get_u64(const gguf_file *g, const char *key, uint64_t *out)
{
	const struct gguf_kv *kv = find_kv(g, key);
	if (!kv)
		return DOSSIER_ENOTFOUND;
	return num_to_u64(kv->type, kv->v, out);
}

int gguf_get_i64(const gguf_file *g, const char *key, int64_t *out)
{
	const struct gguf_kv *kv = find_kv(g, key);
	if (!kv)
		return DOSSIER_ENOTFOUND;
	if (is_float(kv->type) || kv->type == GGUF_TYPE_STRING || kv->type == GGUF_TYPE_ARRAY)
		return DOSSIER_EINVAL;
	if (!is_signed(kv->type) && kv->v.u > (uint64_t)INT64_MAX)
		return DOSSIER_EINVAL;
	*out = kv->v.i;
	return 0;
}

int gguf_get_f64(const gguf_file *g, const char *key, double *out)
{
	const struct gguf_kv *kv = find_kv(g, key);
	if (!kv)
		return DOSSIER_ENOTFOUND;
	if (kv->type == GGUF_TYPE_STRING || kv->type == GGUF_TYPE_ARRAY)
		return DOSSIER_EINVAL;
	*out = is_float(kv->type) ? kv->v.f : is_signed(kv->type) ? (double)kv->v.i : (double)kv->v.u;
	return 0;
}

int gguf_get_str(const gguf_file *g, const char *key, const char **out)
{
	const struct gguf_kv *kv = find_kv(g, key);
	if (!kv)
		return DOSSIER_ENOTFOUND;
	if (kv->type != GGUF_TYPE_STRING)
		return DOSSIER_EINVAL;
	if (kv->str_skipped)
		return DOSSIER_ETOOBIG;
	*out = kv->str;
	return 0;
}

int gguf_get_type(const gguf_file *g, const char *key, enum gguf_type *out)
{
	const struct gguf_kv *kv = find_kv(g, key);
	if (!kv)
		return DOSSIER_ENOTFOUND;
	*out = kv->type;
	return 0;
}

int gguf_array_len(const gguf_file *g, const char *key, uint64_t *len, enum gguf_type *elem_type)
{
	const struct gguf_kv *kv = find_kv(g, key);
	if (!kv)
		return DOSSIER_ENOTFOUND;
	if (kv->type != GGUF_TYPE_ARRAY)
		return DOSSIER_EINVAL;
	if (len)
		*len = kv->arr_len;
	if (elem_type)
		*elem_type = kv->elem;
	return 0;
}

int gguf_array_u64(const gguf_file *g, const char *key, uint64_t i, uint64_t *out)
{
	const struct gguf_kv *kv = find_kv(g, key);
	if (!kv)
		return DOSSIER_ENOTFOUND;
	if (kv->type != GGUF_TYPE_ARRAY || i >= kv->arr_len)
		return DOSSIER_EINVAL;
	if (kv->elem == GGUF_TYPE_STRING)
		return DOSSIER_EINVAL;
	if (!kv->arr)
		return DOSSIER_ETOOBIG;
	return num_to_u64(kv->elem, kv->arr[i], out);
}

static int arch_key(const gguf_file *g, const char *suffix, char *key, size_t n)
{
	const char *arch = gguf_architecture(g);
	if (!*arch)
		return DOSSIER_ENOTFOUND;
	if ((size_t)snprintf(key, n, "%s.%s", arch, suffix) >= n)
		return DOSSIER_ENOTFOUND;
	return 0;
}

int gguf_arch_get_u64(const gguf_file *g, const char *suffix, uint64_t *out)
{
	char key[256];
	int rc = arch_key(g, suffix, key, sizeof key);
	return rc ? rc : gguf_get_u64(g, key, out);
}

int gguf_arch_layer_u64(const gguf_file *g, const char *suffix, uint64_t layer, uint64_t *out)
{
	char key[256];
	int rc = arch_key(g, suffix, key, sizeof key);
	if (rc)
		return rc;
	const struct gguf_kv *kv = find_kv(g, key);
	if (!kv)
		return DOSSIER_ENOTFOUND;
	if (kv->type == GGUF_TYPE_ARRAY)
		return gguf_array_u64(g, key, layer, out);
	return num_to_u64(kv->type, kv->v, out);
}

int gguf_tensor_at(const gguf_file *g, uint64_t i, struct gguf_tensor *out)
{
	if (i >= g->t_n)
		return DOSSIER_EINVAL;
	*out = g->t[i];
	return 0;
}

int gguf_tensor_bytes(const gguf_file *g, uint64_t *out, struct err *err)
{
	if (g->unknown_type >= 0)
		return err_set(err, DOSSIER_EUNSUPPORTED,
		               "%s: tensor '%s' has ggml type %d, which this reader does not know; using the file size instead",
		               g->name, g->unknown_tensor, g->unknown_type);
	uint64_t sum = 0;
	for (uint64_t i = 0; i < g->t_n; i++) /* tensors may overlap in a lying file: saturate */
		sum = g->t[i].bytes > UINT64_MAX - sum ? UINT64_MAX : sum + g->t[i].bytes;
	*out = sum;
	return 0;
}
