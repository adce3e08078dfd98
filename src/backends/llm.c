/*
 * llm.c — the engine-independent half of llm.h: the handle, the dispatchers,
 * model name comparison.
 */
#include "backends/llm.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct llm_backend {
	const struct llm_backend_ops *ops;  /* borrowed, static; never NULL */
	void *ctx;                          /* owned; freed by ops->close */
	char url[256];                      /* where the engine lives, for messages */
};

static int alloc(const struct llm_backend_ops *ops, llm_backend **out, struct err *err)
{
	*out = calloc(1, sizeof **out);
	if (!*out)
		return err_set(err, DOSSIER_ENOMEM, "out of memory creating the %s client", ops->name);
	(*out)->ops = ops;
	return 0;
}

int llm_backend_new(const struct llm_backend_ops *ops, const char *where, const struct config *cfg,
                    llm_backend **out, struct err *err)
{
	*out = NULL;
	if (!ops || !ops->open)
		return err_set(err, DOSSIER_EINVAL, "llm_backend_new: an engine without an open slot");
	llm_backend *b;
	int rc = alloc(ops, &b, err);
	if (rc)
		return rc;
	if ((rc = ops->open(cfg, where, &b->ctx, err))) {
		free(b);
		return rc;
	}
	const char *u = ops->url ? ops->url(b->ctx) : where;
	snprintf(b->url, sizeof b->url, "%s", u ? u : "");
	*out = b;
	return 0;
}

int llm_backend_wrap(const struct llm_backend_ops *ops, void *ctx, const char *url, llm_backend **out,
                     struct err *err)
{
	*out = NULL;
	llm_backend *b;
	int rc = alloc(ops, &b, err);
	if (rc) {
		if (ops->close)
			ops->close(ctx);
		return rc;
	}
	b->ctx = ctx;
	snprintf(b->url, sizeof b->url, "%s", url ? url : "");
	*out = b;
	return 0;
}

void llm_backend_free(llm_backend *b)
{
	if (!b)
		return;
	if (b->ops->close)
		b->ops->close(b->ctx);
	free(b);
}

const char *llm_backend_name(const llm_backend *b)
{
	return b->ops->name;
}

const char *llm_backend_url(const llm_backend *b)
{
	return b->url;
}

static int unsupported(const llm_backend *b, const char *what, struct err *err)
{
	return err_set(err, DOSSIER_EUNSUPPORTED, "the %s engine cannot %s", b->ops->name, what);
}

int llm_chat(llm_backend *b, const struct llm_request *rq, char **text_out, struct llm_metrics *m,
             struct err *err)
{
	return b->ops->chat ? b->ops->chat(b->ctx, rq, text_out, m, err) : unsupported(b, "chat", err);
}

int llm_embed(llm_backend *b, const struct llm_embed_request *rq, float **vectors, int *dim,
              struct llm_metrics *m, struct err *err)
{
	return b->ops->embed ? b->ops->embed(b->ctx, rq, vectors, dim, m, err) : unsupported(b, "embed text", err);
}

int llm_load(llm_backend *b, const char *model, int num_ctx, int64_t keep_alive_s, double *load_s,
             struct err *err)
{
	return b->ops->load ? b->ops->load(b->ctx, model, num_ctx, keep_alive_s, load_s, err)
	                    : unsupported(b, "load a model", err);
}

int llm_unload(llm_backend *b, const char *model, struct err *err)
{
	return b->ops->unload ? b->ops->unload(b->ctx, model, err) : unsupported(b, "unload a model", err);
}

int llm_ps(llm_backend *b, struct llm_resident **out, size_t *n, struct err *err)
{
	return b->ops->ps ? b->ops->ps(b->ctx, out, n, err) : unsupported(b, "list its resident models", err);
}

int llm_show(llm_backend *b, const char *model, struct llm_model_info *out, struct err *err)
{
	return b->ops->show ? b->ops->show(b->ctx, model, out, err) : unsupported(b, "describe a model", err);
}

int llm_describe(llm_backend *b, const char *model, json_t **out, struct err *err)
{
	return b->ops->describe ? b->ops->describe(b->ctx, model, out, err)
	                        : unsupported(b, "describe a model's architecture", err);
}

int llm_ping(llm_backend *b, char *version, size_t n, struct err *err)
{
	return b->ops->ping ? b->ops->ping(b->ctx, version, n, err) : unsupported(b, "report its version", err);
}

int llm_served(llm_backend *b, char *model, size_t n, struct err *err)
{
	if (!b->ops->served)
		return err_set(err, DOSSIER_ENOTFOUND, "the engine at %s serves models by name", llm_backend_url(b));
	return b->ops->served(b->ctx, model, n, err);
}

int llm_model_name_eq(const char *a, const char *b)
{
	if (!a || !b)
		return 0;
	if (!strcmp(a, b))
		return 1;
	/* "name" means "name:latest" */
	size_t la = strlen(a), lb = strlen(b);
	if (!strchr(a, ':') && lb == la + 7 && !strncmp(a, b, la) && !strcmp(b + la, ":latest"))
		return 1;
	if (!strchr(b, ':') && la == lb + 7 && !strncmp(a, b, lb) && !strcmp(a + lb, ":latest"))
		return 1;
	return 0;
}
