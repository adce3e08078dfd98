/*
 * modelstore.c — Ollama model store resolution. See modelstore.h.
 */
#include "plan/modelstore.h"
#include "core/err.h"
#include "core/util.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEDIA_MODEL     "application/vnd.ollama.image.model"
#define MEDIA_PROJECTOR "application/vnd.ollama.image.projector"
#define MEDIA_PARAMS    "application/vnd.ollama.image.params"

/* ------------------------------------------------------------------ names */

static int part_ok(const char *s, int allow_colon)
{
	if (!*s || !strcmp(s, ".") || !strcmp(s, "..") || !isalnum((unsigned char)s[0]))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '.' && *s != '-' && !(allow_colon && *s == ':'))
			return 0;
	return 1;
}

static int copy_part(char *dst, size_t n, const char *src, size_t len)
{
	if (len >= n)
		return -1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

int model_name_parse(const char *name, struct model_name *out, struct err *err)
{
	char buf[512];
	memset(out, 0, sizeof *out);
	if (!name || !*name || strlen(name) >= sizeof buf)
		return err_set(err, DOSSIER_EINVAL, "model name '%s' is empty or too long", name ? name : "");
	snprintf(buf, sizeof buf, "%s", name);
	char *at = strchr(buf, '@');
	if (at)
		*at = '\0';
	/* the tag follows the last ':' after the last '/' (a host may carry :port) */
	char *slash = strrchr(buf, '/');
	char *colon = strrchr(slash ? slash : buf, ':');
	const char *tag = "latest";
	if (colon) {
		*colon = '\0';
		tag = colon + 1;
	}
	char *parts[3];
	int n = 0;
	char *s = buf;
	for (;;) {
		if (n == 3)
			return err_set(err, DOSSIER_EINVAL, "model name '%s' has too many '/' parts (host/namespace/model:tag)", name);
		parts[n++] = s;
		char *sl = strchr(s, '/');
		if (!sl)
			break;
		*sl = '\0';
		s = sl + 1;
	}
	const char *host = n == 3 ? parts[0] : "registry.ollama.ai";
	const char *ns = n >= 2 ? parts[n - 2] : "library";
	const char *model = parts[n - 1];
	if (!part_ok(host, 1) || !part_ok(ns, 0) || !part_ok(model, 0) || !part_ok(tag, 0) ||
	    copy_part(out->host, sizeof out->host, host, strlen(host)) ||
	    copy_part(out->ns, sizeof out->ns, ns, strlen(ns)) ||
	    copy_part(out->model, sizeof out->model, model, strlen(model)) ||
	    copy_part(out->tag, sizeof out->tag, tag, strlen(tag)))
		return err_set(err, DOSSIER_EINVAL,
		               "model name '%s' is not valid (expected [host/][namespace/]model[:tag] with letters, digits, '.', '-', '_')",
		               name);
	return 0;
}

/* ------------------------------------------------------------------ root */

static int is_dir(const char *p)
{
	struct stat st;
	return !stat(p, &st) && S_ISDIR(st.st_mode);
}

void modelstore_default_root(char *out, size_t n)
{
	const char *env = getenv("OLLAMA_MODELS"), *home = getenv("HOME");
	if (env && *env) {
		snprintf(out, n, "%s", env);
		return;
	}
	if (home && *home) {
		snprintf(out, n, "%s/.ollama/models", home);
		if (is_dir(out))
			return;
	}
	snprintf(out, n, "/usr/share/ollama/.ollama/models");
}

/* ------------------------------------------------------------------ resolve */

/* "sha256:<64 hex>" -> <root>/blobs/sha256-<hex>; -1 if the digest is malformed. */
static int blob_path(const char *root, const char *digest, char *out, size_t n)
{
	if (strncmp(digest, "sha256:", 7) || strlen(digest) != 7 + 64)
		return -1;
	for (const char *h = digest + 7; *h; h++)
		if (!isxdigit((unsigned char)*h))
			return -1;
	if ((size_t)snprintf(out, n, "%s/blobs/sha256-%s", root, digest + 7) >= n)
		return -1;
	return 0;
}

static int read_params_num_ctx(const char *path, int *num_ctx)
{
	char *text = NULL;
	size_t len;
	struct err e = {0};
	*num_ctx = 0;
	if (file_read_all(path, MODELSTORE_PARAMS_MAX, &text, &len, &e))
		return -1;
	json_t *j = json_loadb(text, len, 0, NULL);
	free(text);
	if (!j)
		return -1;
	json_t *v = json_object_get(j, "num_ctx");
	if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= INT32_MAX)
		*num_ctx = (int)json_integer_value(v);
	json_decref(j);
	return 0;
}

/* Resolves one layer's blob: path and on-disk size. */
static int layer_blob(const char *root, const char *manifest, const char *name, json_t *layer, char *path, size_t n,
                      uint64_t *bytes, struct err *err)
{
	const char *digest = json_string_value(json_object_get(layer, "digest"));
	struct stat st;
	if (!digest || blob_path(root, digest, path, n))
		return err_set(err, DOSSIER_EFORMAT, "%s: a layer of model '%s' has no valid sha256 digest", manifest, name);
	if (stat(path, &st) || !S_ISREG(st.st_mode))
		return err_set(err, DOSSIER_ENOTFOUND,
		               "%s: blob of model '%s' is missing (the pull did not finish; run `ollama pull %s`)", path, name,
		               name);
	*bytes = (uint64_t)st.st_size;
	return 0;
}

int modelstore_resolve(const char *root, const char *name, struct model_files *out, struct err *err)
{
	struct model_name mn;
	char *text = NULL;
	size_t len;
	int rc;
	json_t *j = NULL;

	memset(out, 0, sizeof *out);
	if ((rc = model_name_parse(name, &mn, err)))
		return rc;
	if (root)
		snprintf(out->root, sizeof out->root, "%s", root);
	else
		modelstore_default_root(out->root, sizeof out->root);
	char manifests[PATH_MAX];
	snprintf(manifests, sizeof manifests, "%s/manifests", out->root);
	if (!is_dir(manifests) || access(manifests, R_OK | X_OK))
		return err_set(err, DOSSIER_EUNAVAILABLE,
		               "the Ollama model store at %s is not readable here (set OLLAMA_MODELS, or Ollama runs on another host)",
		               out->root);
	snprintf(out->manifest_path, sizeof out->manifest_path, "%s/%s/%s/%s/%s", manifests, mn.host, mn.ns, mn.model, mn.tag);
	rc = file_read_all(out->manifest_path, MODELSTORE_MANIFEST_MAX, &text, &len, err);
	if (rc == DOSSIER_ENOTFOUND) {
		/* Ollama matches names case-insensitively; pulls store them in lower case */
		char lower[PATH_MAX];
		snprintf(lower, sizeof lower, "%s", out->manifest_path);
		for (char *c = lower + strlen(manifests); *c; c++)
			*c = (char)tolower((unsigned char)*c);
		rc = file_read_all(lower, MODELSTORE_MANIFEST_MAX, &text, &len, err);
		if (!rc)
			snprintf(out->manifest_path, sizeof out->manifest_path, "%s", lower);
	}
	if (rc == DOSSIER_ENOTFOUND)
		return err_set(err, DOSSIER_ENOTFOUND,
		               "model '%s' is not in the Ollama store at %s (run `ollama pull %s`)", name, out->root, name);
	if (rc)
		return rc;
	json_error_t je;
	j = json_loadb(text, len, 0, &je);
	free(text);
	if (!json_is_object(j)) {
		json_decref(j);
		return err_set(err, DOSSIER_EFORMAT, "%s: manifest of '%s' is not a JSON object (%s)", out->manifest_path, name,
		               je.text);
	}
	json_t *layers = json_object_get(j, "layers");
	if (!json_is_array(layers)) {
		rc = err_set(err, DOSSIER_EFORMAT, "%s: manifest of '%s' has no layers array", out->manifest_path, name);
		goto done;
	}
	json_t *cfg = json_object_get(j, "config");
	json_t *csize = json_object_get(cfg, "size");
	if (json_is_integer(csize) && json_integer_value(csize) > 0)
		out->total_bytes += (uint64_t)json_integer_value(csize);
	size_t i;
	json_t *layer;
	json_array_foreach(layers, i, layer) {
		const char *mt = json_string_value(json_object_get(layer, "mediaType"));
		json_t *sz = json_object_get(layer, "size");
		if (json_is_integer(sz) && json_integer_value(sz) > 0)
			out->total_bytes += (uint64_t)json_integer_value(sz);
		if (!mt)
			continue;
		if (!strcmp(mt, MEDIA_MODEL) && !out->model_path[0]) {
			if ((rc = layer_blob(out->root, out->manifest_path, name, layer, out->model_path, sizeof out->model_path,
			                     &out->model_bytes, err)))
				goto done;
		} else if (!strcmp(mt, MEDIA_PROJECTOR) && !out->projector_path[0]) {
			if ((rc = layer_blob(out->root, out->manifest_path, name, layer, out->projector_path,
			                     sizeof out->projector_path, &out->projector_bytes, err)))
				goto done;
		} else if (!strcmp(mt, MEDIA_PARAMS)) {
			char p[PATH_MAX];
			uint64_t b;
			/* a missing or odd params blob only loses the default num_ctx */
			if (!layer_blob(out->root, out->manifest_path, name, layer, p, sizeof p, &b, NULL))
				read_params_num_ctx(p, &out->num_ctx);
		}
	}
	if (!out->model_path[0])
		rc = err_set(err, DOSSIER_EFORMAT,
		             "%s: model '%s' has no GGUF weights layer (%s); safetensors-style models are not supported by the planner",
		             out->manifest_path, name, MEDIA_MODEL);
done:
	json_decref(j);
	return rc;
}
