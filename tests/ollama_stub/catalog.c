/*
 * catalog.c — the models the fake Ollama has "pulled": their shapes, the
 * memory they need, and the /api/tags and /api/show replies that describe them.
 */
#include "stub.h"
#include "core/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --------------------------------------------------------- built-in models */

struct builtin {
	const char *name, *family, *families, *arch, *psize, *quant;
	int file_type;
	uint64_t params, size, projector;
	int64_t ctx, blocks, heads, heads_kv, embd;
	int caps;
};

static const struct builtin BUILTIN[] = {
	{"llama3.2:3b", "llama", "llama", "llama", "3.2B", "Q4_K_M", 15, 3212749888ull,
	 2019393189ull, 0, 131072, 28, 24, 8, 3072, CAP_COMPLETION | CAP_TOOLS},
	{"llama3.1:8b", "llama", "llama", "llama", "8.0B", "Q4_K_M", 15, 8030261312ull,
	 4920753328ull, 0, 131072, 32, 32, 8, 4096, CAP_COMPLETION | CAP_TOOLS},
	{"llava:latest", "llama", "llama,clip", "llama", "7B", "Q4_0", 2, 7241732096ull,
	 4733363377ull, 624434344ull, 32768, 32, 32, 32, 4096, CAP_COMPLETION | CAP_VISION},
	{"llava:13b", "llama", "llama,clip", "llama", "13B", "Q4_0", 2, 13016028160ull,
	 8011256494ull, 645117544ull, 4096, 40, 40, 40, 5120, CAP_COMPLETION | CAP_VISION},
	{"qwen3:4b", "qwen3", "qwen3", "qwen3", "4.0B", "Q4_K_M", 15, 4022468096ull,
	 2497293931ull, 0, 40960, 36, 32, 8, 2560, CAP_COMPLETION | CAP_TOOLS | CAP_THINKING},
};

static void model_finish(struct model *m, int index)
{
	/* A stable fake manifest digest: sha256 of the name. */
	struct sha256 h;
	sha256_init(&h);
	sha256_update(&h, "manifest:", 9);
	sha256_update(&h, m->name, strlen(m->name));
	sha256_final_hex(&h, m->digest);
	/* Fixed pull times, newest first in catalogue order (as /api/tags sorts). */
	m->modified.tv_sec = 1767225600 - (time_t)index * 86400; /* 2026-01-01 */
	m->modified.tv_nsec = 123456789;
}

static void split_families(struct model *m, const char *list)
{
	m->n_families = 0;
	const char *p = list;
	while (*p && m->n_families < 4) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len >= sizeof m->families[0])
			len = sizeof m->families[0] - 1;
		memcpy(m->families[m->n_families], p, len);
		m->families[m->n_families][len] = '\0';
		m->n_families++;
		if (!e)
			break;
		p = e + 1;
	}
}

void catalog_builtin(struct catalog *c)
{
	memset(c, 0, sizeof *c);
	for (size_t i = 0; i < sizeof BUILTIN / sizeof BUILTIN[0]; i++) {
		const struct builtin *b = &BUILTIN[i];
		struct model *m = &c->models[c->n];
		snprintf(m->name, sizeof m->name, "%s", b->name);
		snprintf(m->family, sizeof m->family, "%s", b->family);
		split_families(m, b->families);
		snprintf(m->arch, sizeof m->arch, "%s", b->arch);
		snprintf(m->parameter_size, sizeof m->parameter_size, "%s", b->psize);
		snprintf(m->quantization, sizeof m->quantization, "%s", b->quant);
		m->file_type = b->file_type;
		m->parameter_count = b->params;
		m->size = b->size;
		m->projector_size = b->projector;
		m->context_length = b->ctx;
		m->block_count = b->blocks;
		m->head_count = b->heads;
		m->head_count_kv = b->heads_kv;
		m->embedding_length = b->embd;
		m->caps = b->caps;
		model_finish(m, c->n);
		c->n++;
	}
}

/* ------------------------------------------------------------ names */

/* Canonical form for matching: lower case, no registry/library prefix, a tag. */
void model_name_canon(const char *in, char *out, size_t n)
{
	const char *p = in;
	if (strncasecmp(p, "registry.ollama.ai/", 19) == 0)
		p += 19;
	if (strncasecmp(p, "library/", 8) == 0)
		p += 8;
	size_t o = 0;
	for (; *p && o + 1 < n; p++)
		out[o++] = (char)tolower((unsigned char)*p);
	out[o] = '\0';
	const char *slash = strrchr(out, '/');
	const char *base = slash ? slash + 1 : out;
	if (!strchr(base, ':') && o + 8 < n)
		strcat(out, ":latest");
}

const struct model *catalog_find(const struct catalog *c, const char *name)
{
	char want[STUB_NAME_MAX + 32], have[STUB_NAME_MAX + 32];
	if (!name || !*name)
		return NULL;
	model_name_canon(name, want, sizeof want);
	for (int i = 0; i < c->n; i++) {
		model_name_canon(c->models[i].name, have, sizeof have);
		if (strcmp(want, have) == 0)
			return &c->models[i];
	}
	return NULL;
}

/* ------------------------------------------------------------ loading JSON */

static int cap_bit(const char *s)
{
	static const struct { const char *n; int bit; } t[] = {
		{"completion", CAP_COMPLETION}, {"tools", CAP_TOOLS}, {"insert", CAP_INSERT},
		{"vision", CAP_VISION}, {"embedding", CAP_EMBEDDING}, {"thinking", CAP_THINKING},
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(s, t[i].n) == 0)
			return t[i].bit;
	return 0;
}

static int64_t jint(json_t *o, const char *k, int64_t dflt)
{
	json_t *v = json_object_get(o, k);
	return json_is_number(v) ? (int64_t)json_number_value(v) : dflt;
}

static void jstr(json_t *o, const char *k, char *out, size_t n, const char *dflt)
{
	json_t *v = json_object_get(o, k);
	snprintf(out, n, "%s", json_is_string(v) ? json_string_value(v) : dflt);
}

int catalog_load(struct catalog *c, const char *path, char *msg, size_t msg_n)
{
	json_error_t je;
	json_t *root = json_load_file(path, 0, &je);
	if (!root) {
		snprintf(msg, msg_n, "%s: line %d: %s; expected a JSON array of models", path,
		         je.line, je.text);
		return -1;
	}
	json_t *arr = json_is_array(root) ? root : json_object_get(root, "models");
	if (!json_is_array(arr)) {
		snprintf(msg, msg_n, "%s: expected a JSON array of models (or {\"models\":[...]})",
		         path);
		json_decref(root);
		return -1;
	}
	struct catalog nc;
	memset(&nc, 0, sizeof nc);
	size_t i;
	json_t *o;
	json_array_foreach(arr, i, o) {
		if (nc.n >= STUB_MAX_MODELS) {
			snprintf(msg, msg_n, "%s: more than %d models", path, STUB_MAX_MODELS);
			json_decref(root);
			return -1;
		}
		struct model *m = &nc.models[nc.n];
		json_t *nm = json_object_get(o, "name");
		if (!json_is_string(nm) || !*json_string_value(nm)) {
			snprintf(msg, msg_n, "%s: model %zu has no \"name\"", path, i);
			json_decref(root);
			return -1;
		}
		jstr(o, "name", m->name, sizeof m->name, "");
		if (!strchr(m->name, ':'))
			strncat(m->name, ":latest", sizeof m->name - strlen(m->name) - 1);
		jstr(o, "family", m->family, sizeof m->family, "llama");
		jstr(o, "architecture", m->arch, sizeof m->arch, m->family);
		jstr(o, "parameter_size", m->parameter_size, sizeof m->parameter_size, "7B");
		jstr(o, "quantization_level", m->quantization, sizeof m->quantization, "Q4_K_M");
		json_t *fams = json_object_get(o, "families");
		if (json_is_array(fams)) {
			size_t k;
			json_t *f;
			json_array_foreach(fams, k, f) {
				if (json_is_string(f) && m->n_families < 4)
					snprintf(m->families[m->n_families++], sizeof m->families[0], "%s",
					         json_string_value(f));
			}
		} else {
			split_families(m, m->family);
		}
		m->file_type = (int)jint(o, "file_type", 15);
		m->size = (uint64_t)jint(o, "size", 0);
		m->projector_size = (uint64_t)jint(o, "projector_size", 0);
		m->context_length = jint(o, "context_length", 4096);
		m->block_count = jint(o, "block_count", 32);
		m->head_count = jint(o, "head_count", 32);
		m->head_count_kv = jint(o, "head_count_kv", m->head_count);
		m->embedding_length = jint(o, "embedding_length", 4096);
		m->parameter_count = (uint64_t)jint(o, "parameter_count",
		                                    (int64_t)(m->size * 2)); /* ~Q4: 2 params/byte */
		if (m->size == 0 || m->head_count <= 0 || m->block_count <= 0) {
			snprintf(msg, msg_n, "%s: model \"%s\" needs \"size\" > 0 and positive shapes",
			         path, m->name);
			json_decref(root);
			return -1;
		}
		json_t *caps = json_object_get(o, "capabilities");
		if (json_is_array(caps)) {
			size_t k;
			json_t *cv;
			json_array_foreach(caps, k, cv) {
				if (json_is_string(cv))
					m->caps |= cap_bit(json_string_value(cv));
			}
		} else {
			m->caps = CAP_COMPLETION;
		}
		model_finish(m, nc.n);
		nc.n++;
	}
	json_decref(root);
	*c = nc;
	return 0;
}

/* ------------------------------------------------------------ memory */

uint64_t model_kv_bytes(const struct model *m, int64_t num_ctx)
{
	/* 2 (K and V) x layers x kv heads x head dim x ctx x 2 bytes (f16). */
	uint64_t head_dim = (uint64_t)(m->embedding_length / m->head_count);
	return 2ull * (uint64_t)m->block_count * (uint64_t)m->head_count_kv * head_dim *
	       (uint64_t)num_ctx * 2ull;
}

int64_t model_effective_ctx(const struct model *m, int64_t requested)
{
	int64_t c = requested;
	if (m->context_length > 0 && c > m->context_length)
		c = m->context_length;
	if (c < 4)
		c = 4;
	if ((m->caps & CAP_VISION) && c < 2048)
		c = 2048;
	return c;
}

uint64_t model_resident_bytes(const struct model *m, int64_t num_ctx)
{
	return m->size + model_kv_bytes(m, num_ctx);
}

/* ------------------------------------------------------------ JSON shapes */

json_t *model_details_json(const struct model *m)
{
	json_t *fams = json_array();
	for (int i = 0; i < m->n_families; i++)
		json_array_append_new(fams, json_string(m->families[i]));
	json_t *d = json_object();
	json_object_set_new(d, "parent_model", json_string(""));
	json_object_set_new(d, "format", json_string("gguf"));
	json_object_set_new(d, "family", json_string(m->family));
	json_object_set_new(d, "families", fams);
	json_object_set_new(d, "parameter_size", json_string(m->parameter_size));
	json_object_set_new(d, "quantization_level", json_string(m->quantization));
	json_object_set_new(d, "context_length", json_integer(m->context_length));
	json_object_set_new(d, "embedding_length", json_integer(m->embedding_length));
	return d;
}

json_t *model_caps_json(const struct model *m)
{
	static const char *names[] = {"completion", "tools", "insert", "vision", "embedding",
	                              "thinking"};
	json_t *a = json_array();
	for (int i = 0; i < 6; i++)
		if (m->caps & (1 << i))
			json_array_append_new(a, json_string(names[i]));
	return a;
}

json_t *catalog_tags_json(const struct catalog *c)
{
	json_t *arr = json_array();
	for (int i = 0; i < c->n; i++) {
		const struct model *m = &c->models[i];
		char ts[48];
		go_time_local(&m->modified, ts);
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(m->name));
		json_object_set_new(o, "model", json_string(m->name));
		json_object_set_new(o, "modified_at", json_string(ts));
		json_object_set_new(o, "size", json_integer((json_int_t)m->size));
		json_object_set_new(o, "digest", json_string(m->digest));
		json_object_set_new(o, "details", model_details_json(m));
		json_object_set_new(o, "capabilities", model_caps_json(m));
		json_array_append_new(arr, o);
	}
	json_t *root = json_object();
	json_object_set_new(root, "models", arr);
	return root;
}

static void kv_put(json_t *mi, const struct model *m, const char *suffix, json_t *v)
{
	char key[96];
	snprintf(key, sizeof key, "%s.%s", m->arch, suffix);
	json_object_set_new(mi, key, v);
}

json_t *model_show_json(const struct model *m, int verbose)
{
	char ts[48], mf[1024], params[256];
	go_time_local(&m->modified, ts);
	json_t *mi = json_object();
	json_object_set_new(mi, "general.architecture", json_string(m->arch));
	json_object_set_new(mi, "general.file_type", json_integer(m->file_type));
	json_object_set_new(mi, "general.parameter_count", json_integer((json_int_t)m->parameter_count));
	json_object_set_new(mi, "general.quantization_version", json_integer(2));
	kv_put(mi, m, "attention.head_count", json_integer(m->head_count));
	kv_put(mi, m, "attention.head_count_kv", json_integer(m->head_count_kv));
	kv_put(mi, m, "attention.layer_norm_rms_epsilon", json_real(1e-05));
	kv_put(mi, m, "block_count", json_integer(m->block_count));
	kv_put(mi, m, "context_length", json_integer(m->context_length));
	kv_put(mi, m, "embedding_length", json_integer(m->embedding_length));
	kv_put(mi, m, "feed_forward_length", json_integer(m->embedding_length * 7 / 2));
	kv_put(mi, m, "rope.freq_base", json_integer(500000)); /* Go prints 500000 */
	kv_put(mi, m, "vocab_size", json_integer(128256));
	json_object_set_new(mi, "tokenizer.ggml.model", json_string("gpt2"));
	/* Long arrays are emptied unless verbose, as Ollama does. */
	json_t *tok = json_array();
	if (verbose)
		for (int i = 0; i < 8; i++) {
			char t[16];
			snprintf(t, sizeof t, "tok%d", i);
			json_array_append_new(tok, json_string(t));
		}
	json_object_set_new(mi, "tokenizer.ggml.tokens", tok);

	snprintf(params, sizeof params, "stop                           \"<|eot_id|>\"");
	snprintf(mf, sizeof mf,
	         "# Modelfile generated by \"ollama show\"\n# To build a new Modelfile based on "
	         "this, replace FROM with:\n# FROM %s\n\nFROM /root/.ollama/models/blobs/"
	         "sha256-%s\nTEMPLATE \"{{ .Prompt }}\"\nPARAMETER %s\n",
	         m->name, m->digest, params);

	json_t *o = json_object();
	json_object_set_new(o, "license", json_string(""));
	json_object_set_new(o, "modelfile", json_string(mf));
	json_object_set_new(o, "parameters", json_string(params));
	json_object_set_new(o, "template", json_string("{{ .Prompt }}"));
	json_object_set_new(o, "details", model_details_json(m));
	json_object_set_new(o, "model_info", mi);
	if (m->projector_size > 0) {
		json_t *pi = json_object();
		json_object_set_new(pi, "general.architecture", json_string("clip"));
		json_object_set_new(pi, "general.parameter_count",
		                    json_integer((json_int_t)(m->projector_size / 2)));
		json_object_set_new(pi, "clip.has_vision_encoder", json_true());
		json_object_set_new(pi, "clip.vision.image_size", json_integer(336));
		json_object_set_new(pi, "clip.vision.patch_size", json_integer(14));
		json_object_set_new(pi, "clip.vision.block_count", json_integer(23));
		json_object_set_new(o, "projector_info", pi);
	}
	json_object_set_new(o, "tensors", json_array());
	json_object_set_new(o, "capabilities", model_caps_json(m));
	json_object_set_new(o, "modified_at", json_string(ts));
	return o;
}
