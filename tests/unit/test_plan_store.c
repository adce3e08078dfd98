/*
 * test_plan_store.c — resolving model names through an Ollama store the test
 * lays out (manifests + blobs), including a vision projector and a params layer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../fuzz/gguf_writer.h"
#include "core/err.h"
#include "core/util.h"
#include "plan/facts.h"
#include "plan/modelstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char root[512];

/* Writes data to <root>/blobs/sha256-<its hash> and returns "sha256:<hex>". */
static void put_blob(const void *data, size_t n, char digest[72])
{
	struct sha256 s;
	char hex[65], path[700];
	sha256_init(&s);
	sha256_update(&s, data, n);
	sha256_final_hex(&s, hex);
	snprintf(digest, 72, "sha256:%s", hex);
	snprintf(path, sizeof path, "%s/blobs/sha256-%s", root, hex);
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

/* A GGUF blob with a sparse data section; returns its digest. */
static void put_gguf_blob(struct gw *w, uint64_t data_bytes, char digest[72])
{
	char tmp[700], path[800], hex[65];
	struct sha256 s;
	/* name it after the metadata's hash: unique enough for a test store */
	sha256_init(&s);
	sha256_update(&s, w->p, w->len);
	sha256_final_hex(&s, hex);
	snprintf(digest, 72, "sha256:%s", hex);
	snprintf(tmp, sizeof tmp, "%s/blobs/sha256-%s", root, hex);
	snprintf(path, sizeof path, "%s", tmp);
	assert_int_equal(gw_write_file(w, path, data_bytes), 0);
}

static void put_manifest(const char *rel, const char *layers_json)
{
	char path[1024], dir[1024];
	struct err e = {0};
	snprintf(path, sizeof path, "%s/manifests/%s", root, rel);
	snprintf(dir, sizeof dir, "%s", path);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(mkdir_p(dir, &e), 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f,
	        "{\"schemaVersion\":2,\"mediaType\":\"application/vnd.docker.distribution.manifest.v2+json\","
	        "\"config\":{\"mediaType\":\"application/vnd.docker.container.image.v1+json\",\"digest\":\"sha256:%064d\",\"size\":500},"
	        "\"layers\":[%s]}",
	        0, layers_json);
	fclose(f);
}

static int setup(void **state)
{
	struct err e = {0};
	char blobs[600];
	snprintf(root, sizeof root, "%s/plan_store_%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	snprintf(blobs, sizeof blobs, "%s/blobs", root);
	return mkdir_p(blobs, &e);
}

static int teardown(void **state)
{
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static const struct gw_model tiny = {.arch = "llama", .layers = 4, .heads = 8, .kv_heads = 2, .embd = 256,
                                     .ctx_train = 32768, .vocab = 300, .wtype = GW_Q4_0};

static void parses_model_names_as_ollama_does(void **state)
{
	struct model_name n;
	struct err e = {0};
	assert_int_equal(model_name_parse("llava", &n, &e), 0);
	assert_string_equal(n.host, "registry.ollama.ai");
	assert_string_equal(n.ns, "library");
	assert_string_equal(n.model, "llava");
	assert_string_equal(n.tag, "latest");
	assert_int_equal(model_name_parse("library/llama3.1:8b", &n, &e), 0);
	assert_string_equal(n.model, "llama3.1");
	assert_string_equal(n.tag, "8b");
	assert_int_equal(model_name_parse("example.com:5000/me/m:q4_K_M", &n, &e), 0);
	assert_string_equal(n.host, "example.com:5000");
	assert_string_equal(n.ns, "me");
	assert_string_equal(n.tag, "q4_K_M");
	assert_int_equal(model_name_parse("../../etc/passwd", &n, &e), DOSSIER_EINVAL);
	assert_int_equal(model_name_parse("a/b/c/d", &n, &e), DOSSIER_EINVAL);
	assert_int_equal(model_name_parse("", &n, &e), DOSSIER_EINVAL);
}

static void resolves_a_vision_model_with_projector_and_params(void **state)
{
	struct gw wm = {0}, wp = {0};
	uint64_t tb, db;
	char dm[72], dp[72], dpar[72], layers[1024];
	gw_build_model(&wm, &tiny, &tb, &db);
	put_gguf_blob(&wm, db, dm);

	/* a CLIP projector with LLaVA-1.6's encoder shape and anyres grid */
	uint64_t off = 0, d2[2] = {1024, 1024};
	int32_t grid[4] = {336, 672, 672, 336};
	gw_header(&wp, 3, 1, 6);
	gw_kv_str(&wp, "general.architecture", "clip");
	gw_kv_u32(&wp, "clip.vision.image_size", 336);
	gw_kv_u32(&wp, "clip.vision.patch_size", 14);
	gw_kv_u32(&wp, "clip.vision.attention.head_count", 16);
	gw_kv_u32(&wp, "clip.vision.embedding_length", 1024);
	gw_kv_arr_i32(&wp, "clip.vision.image_grid_pinpoints", grid, 4);
	gw_tensor(&wp, "mm.0.weight", 2, d2, GW_F16, &off);
	gw_pad(&wp, 32);
	put_gguf_blob(&wp, off, dp);

	const char *params = "{\"num_ctx\":8192,\"stop\":[\"USER:\"]}";
	put_blob(params, strlen(params), dpar);
	snprintf(layers, sizeof layers,
	         "{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"%s\",\"size\":%llu},"
	         "{\"mediaType\":\"application/vnd.ollama.image.projector\",\"digest\":\"%s\",\"size\":%llu},"
	         "{\"mediaType\":\"application/vnd.ollama.image.params\",\"digest\":\"%s\",\"size\":%zu}",
	         dm, (unsigned long long)(wm.len + db), dp, (unsigned long long)(wp.len + off), dpar, strlen(params));
	put_manifest("registry.ollama.ai/library/llava/13b", layers);

	struct model_files mf;
	struct err e = {0};
	assert_int_equal(modelstore_resolve(root, "llava:13b", &mf, &e), 0);
	assert_non_null(strstr(mf.model_path, dm + 7));
	assert_non_null(strstr(mf.projector_path, dp + 7));
	assert_int_equal(mf.model_bytes, wm.len + db);
	assert_int_equal(mf.num_ctx, 8192);
	assert_int_equal(mf.total_bytes, 500 + wm.len + db + wp.len + off + strlen(params));

	struct model_facts f;
	assert_int_equal(model_facts_from_store(root, "llava:13b", ROLE_VISION, &f, &e), 0);
	assert_int_equal(f.weights_bytes, tb);
	assert_int_equal(f.projector_bytes, 1024 * 1024 * 2);
	assert_non_null(strstr(f.projector_src, "gguf:"));
	assert_true(f.is_vision);
	assert_int_equal(f.default_num_ctx, 8192);
	/* (336/14)^2 + 1 = 577 tokens, 5 anyres tiles */
	assert_int_equal(f.vision_graph_bytes, 5ull * 4 * (577ull * 577 * 16 + 4ull * 577 * 1024));

	/* the full name and the library/ short form find the same model */
	assert_int_equal(modelstore_resolve(root, "registry.ollama.ai/library/llava:13b", &mf, &e), 0);
	assert_int_equal(modelstore_resolve(root, "library/llava:13b", &mf, &e), 0);
	gw_free(&wm);
	gw_free(&wp);
}

static void resolves_a_namespaced_text_model_without_projector(void **state)
{
	struct gw w = {0};
	uint64_t tb, db;
	char dm[72], layers[512];
	gw_build_model(&w, &tiny, &tb, &db);
	put_gguf_blob(&w, db, dm);
	snprintf(layers, sizeof layers, "{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"%s\",\"size\":1}", dm);
	put_manifest("registry.ollama.ai/someone/notes-7b/q4", layers);
	struct model_files mf;
	struct err e = {0};
	assert_int_equal(modelstore_resolve(root, "someone/notes-7b:q4", &mf, &e), 0);
	assert_string_equal(mf.projector_path, "");
	assert_int_equal(mf.num_ctx, 0);
	gw_free(&w);
}

static void says_how_to_pull_a_missing_model(void **state)
{
	struct model_files mf;
	struct err e = {0};
	assert_int_equal(modelstore_resolve(root, "llama3.1:8b", &mf, &e), DOSSIER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "ollama pull llama3.1:8b"));
	assert_non_null(strstr(e.msg, root));
}

static void reports_a_missing_blob_and_an_unreadable_store(void **state)
{
	char layers[512];
	snprintf(layers, sizeof layers,
	         "{\"mediaType\":\"application/vnd.ollama.image.model\",\"digest\":\"sha256:%064d\",\"size\":1}", 7);
	put_manifest("registry.ollama.ai/library/half/latest", layers);
	struct model_files mf;
	struct err e = {0};
	assert_int_equal(modelstore_resolve(root, "half", &mf, &e), DOSSIER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "missing"));

	put_manifest("registry.ollama.ai/library/broken/latest", "not json");
	assert_int_equal(modelstore_resolve(root, "broken", &mf, &e), DOSSIER_EFORMAT);

	assert_int_equal(modelstore_resolve("/nonexistent/ollama/models", "llava", &mf, &e), DOSSIER_EUNAVAILABLE);
	assert_non_null(strstr(e.msg, "OLLAMA_MODELS"));
}

static void default_root_follows_ollama_models(void **state)
{
	char out[512];
	char *old = getenv("OLLAMA_MODELS") ? strdup(getenv("OLLAMA_MODELS")) : NULL;
	setenv("OLLAMA_MODELS", root, 1);
	modelstore_default_root(out, sizeof out);
	assert_string_equal(out, root);
	struct model_files mf;
	struct err e = {0};
	assert_int_equal(modelstore_resolve(NULL, "llava:13b", &mf, &e), 0);
	if (old) {
		setenv("OLLAMA_MODELS", old, 1);
		free(old);
	} else {
		unsetenv("OLLAMA_MODELS");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_model_names_as_ollama_does),
		cmocka_unit_test(resolves_a_vision_model_with_projector_and_params),
		cmocka_unit_test(resolves_a_namespaced_text_model_without_projector),
		cmocka_unit_test(says_how_to_pull_a_missing_model),
		cmocka_unit_test(reports_a_missing_blob_and_an_unreadable_store),
		cmocka_unit_test(default_root_follows_ollama_models),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
