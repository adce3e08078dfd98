/*
 * facts.c — model facts from GGUF files, the Ollama store, Ollama's API replies,
 * or the config's nominal sizes. See facts.h.
 */
#include "plan/facts.h"
#include "core/err.h"
#include "plan/gguf.h"
#include "plan/modelstore.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* --------------------------------------------------- vision encoder estimate */

/*
 * Compute memory of a CLIP-style image encoder for one image: the attention
 * scores (tokens^2 x heads) and four activations of tokens x embedding, in f32.
 * tokens = (image_size / patch_size)^2 + 1 (the class token). LLaVA-1.6 "anyres"
 * encodes up to 5 tiles (the overview plus a 2x2 grid), signalled in the GGUF
 * by clip.vision.image_grid_pinpoints.
 */
static uint64_t clip_graph_bytes(uint64_t image_size, uint64_t patch_size, uint64_t heads, uint64_t embd,
                                 uint64_t tiles)
{
	if (!patch_size || image_size < patch_size || image_size > 8192)
		return 0;
	uint64_t side = image_size / patch_size;
	uint64_t tokens = side * side + 1;
	return 4 * (tokens * tokens * heads + 4 * tokens * embd) * tiles;
}

/* ViT-L/14 at 336 px (LLaVA's encoder), 5 tiles: about 154 MB. Used when a
 * vision model's projector does not say. */
#define CLIP_DEFAULT_GRAPH clip_graph_bytes(336, 14, 16, 1024, 5)

/* --------------------------------------------------------------- from GGUF */

static void shape_finish(struct model_facts *f)
{
	if (!f->key_length && f->head_count)
		f->key_length = f->embedding_length / f->head_count;
	if (!f->value_length)
		f->value_length = f->key_length;
}

static uint32_t clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* Reads the architecture from an open GGUF; leaves has_shape 0 when the basic
 * keys are missing (not every GGUF is an LLM). */
static void shape_from_gguf(const gguf_file *g, const char *src, struct model_facts *f)
{
	uint64_t layers, v;
	snprintf(f->arch, sizeof f->arch, "%s", gguf_architecture(g));
	if (gguf_arch_get_u64(g, "block_count", &layers) || !layers)
		return;
	if (layers > MODEL_MAX_LAYERS) {
		snprintf(f->note, sizeof f->note, "%llu layers is more than the planner handles (%u)",
		         (unsigned long long)layers, MODEL_MAX_LAYERS);
		return;
	}
	f->n_layers = (uint32_t)layers;
	f->head_count = 0;
	for (uint64_t l = 0; l < layers; l++) {
		uint64_t h = 0, hkv;
		if (!gguf_arch_layer_u64(g, "attention.head_count", l, &h) && h > f->head_count)
			f->head_count = clamp32(h);
		if (gguf_arch_layer_u64(g, "attention.head_count_kv", l, &hkv))
			hkv = h; /* no GQA: every head has its own K and V */
		f->head_count_kv[l] = clamp32(hkv);
	}
	if (!gguf_arch_get_u64(g, "embedding_length", &v))
		f->embedding_length = clamp32(v);
	if (!gguf_arch_get_u64(g, "attention.key_length", &v))
		f->key_length = clamp32(v);
	if (!gguf_arch_get_u64(g, "attention.value_length", &v))
		f->value_length = clamp32(v);
	if (!gguf_arch_get_u64(g, "context_length", &v))
		f->context_length = v;
	if (!gguf_array_len(g, "tokenizer.ggml.tokens", &v, NULL) || !gguf_arch_get_u64(g, "vocab_size", &v))
		f->vocab_size = clamp32(v);
	if (!f->head_count || !f->embedding_length)
		return;
	shape_finish(f);
	f->has_shape = 1;
	snprintf(f->shape_src, sizeof f->shape_src, "%s", src);
	if (!gguf_arch_get_u64(g, "vision.block_count", &v)) /* projector inside the model (gemma3, qwen2.5-vl) */
		f->is_vision = 1;
}

/* Tensor bytes, or the data section's size when a tensor type is unknown. */
static uint64_t gguf_weights(const gguf_file *g, const char *path, char *src, size_t n)
{
	uint64_t b;
	if (!gguf_tensor_bytes(g, &b, NULL)) {
		snprintf(src, n, "gguf:%s", path);
		return b;
	}
	snprintf(src, n, "gguf:%s (file size)", path);
	return gguf_file_size(g) - gguf_data_offset(g);
}

int model_facts_from_gguf(const char *model_path, const char *projector_path, enum model_role role,
                          struct model_facts *out, struct err *err)
{
	gguf_file *g = NULL;
	int rc;
	char src[FACT_SRC_MAX];
	memset(out, 0, sizeof *out);
	out->role = role;
	if ((rc = gguf_open(model_path, &g, err)))
		return rc;
	snprintf(src, sizeof src, "gguf:%s", model_path);
	shape_from_gguf(g, src, out);
	out->weights_bytes = gguf_weights(g, model_path, out->weights_src, sizeof out->weights_src);
	gguf_free(g);
	if (projector_path && *projector_path) {
		if ((rc = gguf_open(projector_path, &g, err)))
			return rc;
		uint64_t img = 0, patch = 0, heads = 0, embd = 0, grid = 0;
		out->projector_bytes = gguf_weights(g, projector_path, out->projector_src, sizeof out->projector_src);
		gguf_get_u64(g, "clip.vision.image_size", &img);
		gguf_get_u64(g, "clip.vision.patch_size", &patch);
		gguf_get_u64(g, "clip.vision.attention.head_count", &heads);
		gguf_get_u64(g, "clip.vision.embedding_length", &embd);
		gguf_array_len(g, "clip.vision.image_grid_pinpoints", &grid, NULL);
		out->vision_graph_bytes = clip_graph_bytes(img, patch, heads, embd, grid ? 5 : 1);
		if (!out->vision_graph_bytes)
			out->vision_graph_bytes = CLIP_DEFAULT_GRAPH;
		out->is_vision = 1;
		gguf_free(g);
	} else if (out->is_vision) {
		out->vision_graph_bytes = CLIP_DEFAULT_GRAPH;
	}
	return 0;
}

int model_facts_from_store(const char *root, const char *name, enum model_role role, struct model_facts *out,
                           struct err *err)
{
	struct model_files mf;
	int rc = modelstore_resolve(root, name, &mf, err);
	if (!rc)
		rc = model_facts_from_gguf(mf.model_path, mf.projector_path, role, out, err);
	if (rc)
		return rc;
	snprintf(out->name, sizeof out->name, "%s", name);
	out->default_num_ctx = mf.num_ctx;
	return 0;
}

/* ---------------------------------------------------------------- from API */

static int json_u64(const json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 1.8e19) {
		*out = (uint64_t)json_real_value(v);
		return 0;
	}
	return -1;
}

/* model_info["<arch>.<suffix>"], scalar or per-layer array element l. */
static int info_layer(const json_t *info, const char *arch, const char *suffix, uint64_t l, uint64_t *out)
{
	char key[256];
	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	json_t *v = json_object_get(info, key);
	if (json_is_array(v)) {
		json_t *e = json_array_get(v, l);
		if (!json_is_integer(e) || json_integer_value(e) < 0)
			return -1;
		*out = (uint64_t)json_integer_value(e);
		return 0;
	}
	return json_u64(info, key, out);
}

static int info_u64(const json_t *info, const char *arch, const char *suffix, uint64_t *out)
{
	char key[256];
	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	return json_u64(info, key, out);
}

static uint64_t api_tensor_bytes(const json_t *tensors, int *ok)
{
	size_t i;
	json_t *t;
	uint64_t sum = 0;
	*ok = json_is_array(tensors) && json_array_size(tensors) > 0;
	json_array_foreach(tensors, i, t) {
		uint32_t type, be, bb;
		const char *tn = json_string_value(json_object_get(t, "type"));
		json_t *shape = json_object_get(t, "shape");
		uint64_t elems = 1;
		size_t k;
		json_t *d;
		if (!tn || gguf_ggml_type_by_name(tn, &type) || !gguf_ggml_type_size(type, &be, &bb) || !json_is_array(shape)) {
			*ok = 0;
			return 0;
		}
		json_array_foreach(shape, k, d) {
			if (!json_is_integer(d) || json_integer_value(d) < 0 ||
			    (json_integer_value(d) && elems > UINT64_MAX / (uint64_t)json_integer_value(d))) {
				*ok = 0;
				return 0;
			}
			elems *= (uint64_t)json_integer_value(d);
		}
		sum += elems / be * bb;
	}
	return sum;
}

/* The /api/tags entry named name (also matching an implicit ":latest"). */
static uint64_t tags_size(const json_t *tags, const char *name)
{
	size_t i;
	json_t *m;
	char latest[160];
	snprintf(latest, sizeof latest, "%s:latest", name);
	json_array_foreach(json_object_get(tags, "models"), i, m) {
		const char *n = json_string_value(json_object_get(m, "name"));
		if (!n)
			n = json_string_value(json_object_get(m, "model"));
		uint64_t sz;
		if (n && (!strcmp(n, name) || !strcmp(n, latest)) && !json_u64(m, "size", &sz))
			return sz;
	}
	return 0;
}

/* ------------------------------------------ an OpenAI-compatible engine */

static int readable_file(const char *path)
{
	struct stat st;
	return path && *path && stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

int model_facts_from_engine(const char *name, enum model_role role, const json_t *describe, struct model_facts *out,
                            struct err *err)
{
	const char *gguf = json_string_value(json_object_get(describe, "gguf_path"));
	const char *mmproj = json_string_value(json_object_get(describe, "mmproj_path"));
	const json_t *meta = json_object_get(describe, "meta");
	int llamacpp = json_is_true(json_object_get(describe, "router")) || gguf || json_is_object(meta);
	char why[300] = "";
	int have = 0;
	if (readable_file(gguf)) {
		struct err e = {0};
		if (!model_facts_from_gguf(gguf, readable_file(mmproj) ? mmproj : NULL, role, out, &e))
			have = 1;
		else
			snprintf(why, sizeof why, "%s", e.msg);
	} else if (gguf) {
		snprintf(why, sizeof why, "the engine's GGUF %s is not on this machine", gguf);
	}
	if (!have) {
		memset(out, 0, sizeof *out);
		uint64_t size = 0, v;
		if (json_u64(meta, "size", &size) || !size)
			json_u64(describe, "size", &size);
		if (!size)
			return err_set(err, DOSSIER_EFORMAT, "the engine's description of '%s' gives no size%s%s", name,
			               why[0] ? ": " : "", why);
		out->weights_bytes = size;
		snprintf(out->weights_src, sizeof out->weights_src, "engine:meta");
		if (!json_u64(meta, "n_ctx_train", &v))
			out->context_length = v;
		if (!json_u64(meta, "n_embd", &v))
			out->embedding_length = clamp32(v);
		if (!json_u64(meta, "n_vocab", &v))
			out->vocab_size = clamp32(v);
		if (why[0])
			snprintf(out->note, sizeof out->note, "%s: sizes from the engine's meta", why);
	}
	out->role = role;
	snprintf(out->name, sizeof out->name, "%s", name);
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(describe, "capabilities"), i, c)
		if (json_is_string(c) && !strcmp(json_string_value(c), "vision"))
			out->is_vision = 1;
	if (out->is_vision && !out->vision_graph_bytes)
		out->vision_graph_bytes = CLIP_DEFAULT_GRAPH;
	if (llamacpp) {
		snprintf(out->engine, sizeof out->engine, "llama.cpp");
		uint64_t nctx = 0;
		if (json_u64(describe, "num_ctx", &nctx) || !nctx)
			json_u64(meta, "n_ctx", &nctx);
		out->engine_num_ctx = nctx > 0 && nctx < (1u << 30) ? (int)nctx : 0;
		/* llama.cpp's --flash-attn defaults to "auto", which is on for the CPU */
		const char *fa = json_string_value(json_object_get(describe, "flash_attn"));
		out->flash_attn = !fa || (strcmp(fa, "off") && strcmp(fa, "0") && strcmp(fa, "false"));
	}
	return 0;
}

int model_facts_from_api(const char *name, enum model_role role, const json_t *show, const json_t *tags,
                         struct model_facts *out, struct err *err)
{
	const char *engine = json_string_value(json_object_get(show, "engine"));
	if (engine && !strcmp(engine, "openai"))
		return model_facts_from_engine(name, role, show, out, err);
	memset(out, 0, sizeof *out);
	out->role = role;
	snprintf(out->name, sizeof out->name, "%s", name);
	const json_t *info = json_object_get(show, "model_info");
	const char *arch = json_string_value(json_object_get(info, "general.architecture"));
	if (!json_is_object(info) || !arch)
		return err_set(err, DOSSIER_EFORMAT,
		               "Ollama's /api/show reply for '%s' has no model_info.general.architecture", name);
	snprintf(out->arch, sizeof out->arch, "%s", arch);

	uint64_t layers = 0, v;
	if (!info_u64(info, arch, "block_count", &layers) && layers && layers <= MODEL_MAX_LAYERS) {
		int kv_missing = 0;
		out->n_layers = (uint32_t)layers;
		for (uint64_t l = 0; l < layers; l++) {
			uint64_t h = 0, hkv;
			if (!info_layer(info, arch, "attention.head_count", l, &h) && h > out->head_count)
				out->head_count = clamp32(h);
			if (info_layer(info, arch, "attention.head_count_kv", l, &hkv)) {
				hkv = h;
				kv_missing = 1;
			}
			out->head_count_kv[l] = clamp32(hkv);
		}
		if (!info_u64(info, arch, "embedding_length", &v))
			out->embedding_length = clamp32(v);
		if (!info_u64(info, arch, "attention.key_length", &v))
			out->key_length = clamp32(v);
		if (!info_u64(info, arch, "attention.value_length", &v))
			out->value_length = clamp32(v);
		if (!info_u64(info, arch, "context_length", &v))
			out->context_length = v;
		json_t *tok = json_object_get(info, "tokenizer.ggml.tokens");
		if (json_array_size(tok))
			out->vocab_size = clamp32(json_array_size(tok));
		else if (!info_u64(info, arch, "vocab_size", &v))
			out->vocab_size = clamp32(v);
		if (out->head_count && out->embedding_length) {
			shape_finish(out);
			out->has_shape = 1;
			snprintf(out->shape_src, sizeof out->shape_src, "api/show");
			if (kv_missing)
				snprintf(out->note, sizeof out->note,
				         "api/show without verbose: per-layer KV heads unknown, assumed equal to the heads (overestimate)");
		}
	}

	int ok;
	uint64_t tb = api_tensor_bytes(json_object_get(show, "tensors"), &ok);
	uint64_t ts = tags ? tags_size(tags, name) : 0, ss = 0;
	/* "size": the on-disk bytes an engine's description carries (llm_describe) */
	if (json_u64(show, "size", &ss))
		ss = 0;
	if (!ts)
		ts = ss;
	if (ok) {
		out->weights_bytes = tb;
		snprintf(out->weights_src, sizeof out->weights_src, "api/show");
	} else if (ss) {
		out->weights_bytes = ss; /* includes a projector layer */
		snprintf(out->weights_src, sizeof out->weights_src, "api/show");
		ts = 0;
	} else if (ts) {
		out->weights_bytes = ts; /* includes a projector layer */
		snprintf(out->weights_src, sizeof out->weights_src, "api/tags");
		ts = 0;
	} else {
		return err_set(err, DOSSIER_EFORMAT,
		               "Ollama's replies for '%s' give neither tensors (/api/show) nor a size (/api/tags)", name);
	}

	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(show, "capabilities"), i, c)
		if (json_is_string(c) && !strcmp(json_string_value(c), "vision"))
			out->is_vision = 1;
	const json_t *pinfo = json_object_get(show, "projector_info");
	if (json_is_object(pinfo) && json_object_size(pinfo)) {
		uint64_t img = 0, patch = 0, heads = 0, embd = 0;
		json_u64(pinfo, "clip.vision.image_size", &img);
		json_u64(pinfo, "clip.vision.patch_size", &patch);
		json_u64(pinfo, "clip.vision.attention.head_count", &heads);
		json_u64(pinfo, "clip.vision.embedding_length", &embd);
		int grid = json_object_get(pinfo, "clip.vision.image_grid_pinpoints") != NULL;
		out->vision_graph_bytes = clip_graph_bytes(img, patch, heads, embd, grid ? 5 : 1);
		out->is_vision = 1;
		if (ts > out->weights_bytes) {
			/* the tensors list covers the model blob only; the rest of the
			 * on-disk size is the projector (plus a few KB of metadata) */
			out->projector_bytes = ts - out->weights_bytes;
			snprintf(out->projector_src, sizeof out->projector_src, "api/tags minus api/show tensors");
		}
	}
	if (out->is_vision && !out->vision_graph_bytes)
		out->vision_graph_bytes = CLIP_DEFAULT_GRAPH;

	const char *params = json_string_value(json_object_get(show, "parameters"));
	const char *p = params ? strstr(params, "num_ctx") : NULL;
	if (p) {
		long n = strtol(p + 7, NULL, 10);
		if (n > 0 && n <= INT32_MAX)
			out->default_num_ctx = (int)n;
	}
	return 0;
}

/* ----------------------------------------------------------------- nominal */

/* The architectures of the seed's models (from their GGUF headers). */
struct known_shape {
	const char *names;         /* space-separated names it answers to */
	const char *arch;
	uint32_t layers, heads, kv_heads, embd, head_dim, vocab;
	uint64_t ctx;
	int vision;                /* 1 = LLaVA-1.6 with a ViT-L/336 encoder */
};

static const struct known_shape known_shapes[] = {
	{"llama3.2:3b llama3.2 llama3.2:latest", "llama", 28, 24, 8, 3072, 128, 128256, 131072, 0},
	{"llama3.2:1b", "llama", 16, 32, 8, 2048, 64, 128256, 131072, 0},
	{"llama3.1:8b llama3.1 llama3.1:latest", "llama", 32, 32, 8, 4096, 128, 128256, 131072, 0},
	{"llama3:8b llama3 llama3:latest", "llama", 32, 32, 8, 4096, 128, 128256, 8192, 0},
	/* llava:7b is LLaVA-1.6 on Mistral-7B (GQA, 8 KV heads) */
	{"llava llava:latest llava:7b", "llama", 32, 32, 8, 4096, 128, 32000, 32768, 1},
	/* llava:13b is LLaVA-1.6 on Vicuna-13B (Llama-2: no GQA, 40 KV heads) */
	{"llava:13b", "llama", 40, 40, 40, 5120, 128, 32000, 4096, 1},
};

static int names_contain(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *sp = strchr(p, ' ');
		size_t len = sp ? (size_t)(sp - p) : strlen(p);
		if (len == n && !strncmp(p, name, n))
			return 1;
		p += len + (sp ? 1 : 0);
	}
	return 0;
}

void model_facts_nominal(const struct model_spec *spec, enum model_role role, struct model_facts *out)
{
	const char *name = spec->name;
	memset(out, 0, sizeof *out);
	out->role = role;
	snprintf(out->name, sizeof out->name, "%s", name);
	out->weights_bytes = spec->nominal_bytes;
	snprintf(out->weights_src, sizeof out->weights_src, "nominal:seed");
	out->is_vision = role_info(role)->reads_images;
	/* "registry.ollama.ai/library/llava:13b" and "library/llava:13b" are "llava:13b" */
	if (!strncmp(name, "registry.ollama.ai/", 19))
		name += 19;
	if (!strncmp(name, "library/", 8))
		name += 8;
	for (size_t i = 0; i < sizeof known_shapes / sizeof known_shapes[0]; i++) {
		const struct known_shape *k = &known_shapes[i];
		if (!names_contain(k->names, name))
			continue;
		snprintf(out->arch, sizeof out->arch, "%s", k->arch);
		out->n_layers = k->layers;
		out->head_count = k->heads;
		for (uint32_t l = 0; l < k->layers; l++)
			out->head_count_kv[l] = k->kv_heads;
		out->embedding_length = k->embd;
		out->key_length = out->value_length = k->head_dim;
		out->vocab_size = k->vocab;
		out->context_length = k->ctx;
		out->has_shape = 1;
		out->is_vision |= k->vision;
		snprintf(out->shape_src, sizeof out->shape_src, "nominal:shape-table");
		break;
	}
	if (out->is_vision)
		out->vision_graph_bytes = CLIP_DEFAULT_GRAPH;
}

/* --------------------------------------------------------------------- asr */

static uint64_t dir_bytes(const char *dir, int depth, int *ok)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t sum = 0;
	if (!d) {
		*ok = 0;
		return 0;
	}
	while ((de = readdir(d))) {
		char p[4096];
		struct stat st;
		if (de->d_name[0] == '.')
			continue;
		if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, de->d_name) >= sizeof p || stat(p, &st))
			continue;
		if (S_ISREG(st.st_mode))
			sum += (uint64_t)st.st_size;
		else if (S_ISDIR(st.st_mode) && depth < 4)
			sum += dir_bytes(p, depth + 1, ok);
	}
	closedir(d);
	return sum;
}

void model_facts_asr(const struct model_spec *spec, const char *model_dir, const char *transcriber_url,
                     struct model_facts *out)
{
	memset(out, 0, sizeof *out);
	out->role = ROLE_ASR;
	snprintf(out->name, sizeof out->name, "%s", spec->name);
	if (transcriber_url && *transcriber_url) {
		snprintf(out->weights_src, sizeof out->weights_src, "remote:%s", transcriber_url);
		return;
	}
	if (model_dir && *model_dir && !strncmp(spec->name, "pocketsphinx", 12)) {
		int ok = 1;
		uint64_t b = dir_bytes(model_dir, 0, &ok);
		if (ok && b) {
			out->weights_bytes = b;
			snprintf(out->weights_src, sizeof out->weights_src, "files:%s", model_dir);
			return;
		}
		snprintf(out->note, sizeof out->note, "speech model directory %s is not readable", model_dir);
	}
	out->weights_bytes = spec->nominal_bytes;
	snprintf(out->weights_src, sizeof out->weights_src, "nominal:seed");
}
