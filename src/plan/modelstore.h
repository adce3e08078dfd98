/*
 * modelstore.h — finds an Ollama model's files in Ollama's on-disk store
 * (reference/ollama.md section 12), so the planner can read real GGUF metadata
 * without a running server.
 *
 *   struct model_files mf;
 *   struct err e = {0};
 *   if (modelstore_resolve(NULL, "llava:13b", &mf, &e) == 0)
 *       ... mf.model_path is the weights GGUF, mf.projector_path the projector ...
 *
 * Store root: OLLAMA_MODELS, else ~/.ollama/models if it exists, else
 * /usr/share/ollama/.ollama/models (the Linux service's store).
 * Thread safe (reads only; the root lookup reads the environment).
 */
#ifndef DOSSIER_PLAN_MODELSTORE_H
#define DOSSIER_PLAN_MODELSTORE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

struct err;

#define MODELSTORE_MANIFEST_MAX (1024u * 1024u) /* cap on a manifest file (bytes) */
#define MODELSTORE_PARAMS_MAX   (64u * 1024u)   /* cap on a params layer (bytes) */

/* A model name split as Ollama does (types/model/name.go). */
struct model_name {
	char host[128];      /* "registry.ollama.ai" by default */
	char ns[128];        /* namespace, "library" by default */
	char model[128];     /* "llava" */
	char tag[128];       /* "latest" by default */
};

/* Parses "llava", "llava:13b", "library/llama3.1:8b", "host/ns/model:tag"
 * (a trailing "@sha256:..." digest is ignored). DOSSIER_EINVAL for an empty
 * part, "..", or characters Ollama does not allow. */
int model_name_parse(const char *name, struct model_name *out, struct err *err);

/* What the store holds for one model. Paths are empty when absent. */
struct model_files {
	char root[PATH_MAX];            /* the store root used */
	char manifest_path[PATH_MAX];   /* <root>/manifests/<host>/<ns>/<model>/<tag> */
	char model_path[PATH_MAX];      /* blob of the application/vnd.ollama.image.model layer */
	uint64_t model_bytes;           /* its size on disk */
	char projector_path[PATH_MAX];  /* blob of the ...image.projector layer; "" if none */
	uint64_t projector_bytes;       /* its size on disk; 0 if none */
	int num_ctx;                    /* num_ctx from the ...image.params layer; 0 if not set */
	uint64_t total_bytes;           /* all layers plus the config blob, as /api/tags "size" */
};

/* Writes the store root in force into out (see above). Never fails. */
void modelstore_default_root(char *out, size_t n);

/*
 * Resolves name through <root>/manifests to its blobs. root NULL = the default.
 * Errors: DOSSIER_EUNAVAILABLE (root missing or unreadable: Ollama may run on
 * another host), DOSSIER_ENOTFOUND (the model is not pulled; the message says
 * `ollama pull <name>`), DOSSIER_EFORMAT (manifest is not valid JSON or has no
 * model layer), DOSSIER_EINVAL (bad name). *out is zeroed first.
 */
int modelstore_resolve(const char *root, const char *name, struct model_files *out, struct err *err);

#endif
