/*
 * kind_mail.c — e-mail: one message (EML) or a mailbox (mbox), through
 * media/mail ─▶ analyze_text. Attachments are listed in the dossier.
 */
#include "pipeline/kinds.h"
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

static STEP_FN(extract)
{
	(void)env, (void)step, (void)steps, (void)n;
	return mail_extract(doc->path, NULL, result, err);
}

#define DEP(i) (1ull << (i))

static const struct step_decl steps[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
};
static const step_fn run[] = {extract, step_run_analyze_text};

const struct kind_def kind_mail = {
	.name = "mail",
	.plural = "e-mails",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
