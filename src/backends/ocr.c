/*
 * ocr.c — the engine-independent half of ocr.h: opening and freeing a backend
 * over any engine's table.
 */
#include "backends/ocr.h"
#include "core/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ocr_backend {
	const struct ocr_backend_ops *ops;  /* borrowed, static */
	void *ctx;                          /* owned; freed by ocr_backend_free */
	char lang[64];                      /* languages it was opened with */
};

int ocr_backend_new(const struct ocr_backend_ops *ops, const char *lang,
                    struct ocr_backend **out, struct err *err)
{
	*out = NULL;
	if (!lang || !*lang)
		lang = "eng";
	if (strlen(lang) >= sizeof((struct ocr_backend *)0)->lang)
		return err_set(err, DOSSIER_EINVAL, "OCR language list '%s' is too long", lang);
	struct ocr_backend *b = calloc(1, sizeof *b);
	if (!b)
		return err_set(err, DOSSIER_ENOMEM, "out of memory opening OCR");
	b->ops = ops;
	snprintf(b->lang, sizeof b->lang, "%s", lang);
	int rc = ops->open(b->lang, &b->ctx, err);
	if (rc != 0) {
		free(b);
		return rc;
	}
	*out = b;
	return 0;
}

void ocr_backend_free(struct ocr_backend *b)
{
	if (!b)
		return;
	b->ops->close(b->ctx);
	free(b);
}

int ocr_recognize(ocr_backend *b, const unsigned char *rgb, int w, int h, int stride, char **text,
                  double *mean_conf, struct err *err)
{
	return b->ops->recognize(b->ctx, rgb, w, h, stride, text, mean_conf, err);
}

const char *ocr_backend_name(const ocr_backend *b)
{
	return b->ops->name;
}

const char *ocr_backend_lang(const ocr_backend *b)
{
	return b->lang;
}
