/*
 * kind_mail.c — e-mail: one message (EML) or a mailbox (mbox), through
 * media/mail ─▶ analyze_text. Every attachment is a child document
 * (pipeline/children.h), analysed by its own kind.
 */
#include "pipeline/kinds.h"
#include "pipeline/children.h"
#include "core/err.h"
#include "pipeline/steps_internal.h"
#include "media/mail.h"

#include <stdio.h>
#include <string.h>

static const char *const mail_ext[] = {".eml", ".mbox", ".mbx", NULL};

static enum kind_match recognise(const char *mime, const char *path, struct file_type *out)
{
	if (!strcmp(mime, "message/rfc822") || !strcmp(mime, "message/news")) {
		snprintf(out->format, sizeof out->format, "eml");
		return KIND_MATCH_CONTENT;
	}
	if (!strcmp(mime, "application/mbox") || (!strncmp(mime, "text/", 5) && mail_is_mbox(path))) {
		snprintf(out->format, sizeof out->format, "mbox");
		snprintf(out->mime, sizeof out->mime, "application/mbox");
		return KIND_MATCH_CONTENT;
	}
	if (path_has_ext(path, mail_ext)) {
		snprintf(out->format, sizeof out->format, "%s", mail_is_mbox(path) ? "mbox" : "eml");
		return KIND_MATCH_NAME;
	}
	return KIND_MATCH_NO;
}

struct save_ctx {
	struct children *kids;
	int rc;
	struct err e;
};

static int on_attachment(const char *name, const char *file, unsigned long long bytes, void *user)
{
	(void)bytes;
	struct save_ctx *c = user;
	c->rc = children_add(c->kids, name, file, NULL, &c->e);
	return c->rc;
}

/* The message's text, and every attachment a child document. */
static STEP_FN(extract)
{
	(void)step, (void)steps, (void)n;
	struct children kids;
	struct err ce = {0};
	int have_kids = children_begin(env, doc, &kids, &ce) == 0;
	struct save_ctx c = {&kids, 0, {0}};
	struct mail_limits lim = {0};
	if (have_kids) {
		lim.save_dir = kids.tmp_dir;
		lim.on_attachment = on_attachment;
		lim.user = &c;
	}
	int rc = mail_extract(doc->path, &lim, result, err);
	json_t *list = NULL;
	children_end(&kids, rc ? NULL : &list);
	if (rc == 0 && c.rc)
		rc = err_set(err, c.rc, "%s", c.e.msg);  /* the store failed: the step is retried */
	if (rc == 0 && list && json_array_size(list))
		json_object_set_new(*result, "children", list);
	else
		json_decref(list);
	if (rc == 0 && !have_kids && ce.code == DOSSIER_ETOOBIG) {
		json_t *notes = json_object_get(*result, "notes");
		if (!json_is_array(notes))
			json_object_set_new(*result, "notes", notes = json_array());
		json_array_append_new(notes, json_string(ce.msg));
	}
	return rc;
}

#define DEP(i) (1ull << (i))

static const struct step_decl steps[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
	{"embed", ROLE_EMBED, DEP(0)},
};
static const step_fn run[] = {extract, step_run_analyze_text, step_run_embed};

const struct kind_def kind_mail = {
	.name = "mail",
	.plural = "e-mails",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
