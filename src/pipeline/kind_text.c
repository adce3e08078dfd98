/*
 * kind_text.c — plain text, Markdown and HTML: extract ─▶ analyze_text(text).
 */
#include "pipeline/kinds.h"
#include "pipeline/steps_internal.h"
#include "media/mail.h"

#include <stdio.h>
#include <string.h>

static const char *const md_ext[] = {".md", ".markdown", ".mdown", ".mkd", NULL};
static const char *const html_ext[] = {".html", ".htm", ".xhtml", NULL};
static const char *const text_ext[] = {".txt", ".text", ".md", ".markdown", ".csv", ".log", ".rst", ".org", NULL};

static const char *const table_ext[] = {".csv", ".tsv", ".tab", NULL};
static const char *const prose_ext[] = {".txt", ".text", ".md", ".markdown", ".log", ".rst", ".org", NULL};

/* Text types that other kinds read: RTF, tables, e-mail and mailboxes. */
static int left_to_others(const char *mime, const char *path)
{
	if (!strcmp(mime, "text/rtf") || !strncmp(mime, "message/", 8))
		return 1;
	if ((!strcmp(mime, "text/csv") || !strcmp(mime, "text/tab-separated-values")) && !path_has_ext(path, prose_ext))
		return 1;
	if (!strncmp(mime, "text/", 5) && path_has_ext(path, table_ext))
		return 1;
	return !strncmp(mime, "text/", 5) && mail_is_mbox(path);
}

static enum kind_match recognise(const char *mime, const char *path, struct file_type *out)
{
	if (left_to_others(mime, path))
		return KIND_MATCH_NO;
	if (!strcmp(mime, "inode/x-empty")) {
		/* a zero-byte file fails with a clear message in extraction */
		snprintf(out->format, sizeof out->format, "plain");
		return KIND_MATCH_CONTENT;
	}
	if (!strcmp(mime, "text/html") || !strcmp(mime, "application/xhtml+xml")) {
		snprintf(out->format, sizeof out->format, "html");
		return KIND_MATCH_CONTENT;
	}
	if (!strncmp(mime, "text/", 5) || !strcmp(mime, "application/json") || !strcmp(mime, "application/xml") ||
	    !strcmp(mime, "application/javascript")) {
		snprintf(out->format, sizeof out->format, "%s",
		         !strcmp(mime, "text/markdown") || path_has_ext(path, md_ext) ? "markdown"
		         : path_has_ext(path, html_ext)                               ? "html"
		                                                                      : "plain");
		if (!strcmp(out->format, "markdown"))
			snprintf(out->mime, sizeof out->mime, "text/markdown");
		return KIND_MATCH_CONTENT;
	}
	if (path_has_ext(path, text_ext)) {
		/* named as text but not text by content: let extraction say why (binary, ...) */
		snprintf(out->format, sizeof out->format, "plain");
		return KIND_MATCH_NAME;
	}
	return KIND_MATCH_NO;
}

#define DEP(i) (1ull << (i))

static const struct step_decl steps[] = {
	{"extract_text", ROLE_NONE, 0},
	{"analyze_text", ROLE_TEXT, DEP(0)},
	{"embed", ROLE_EMBED, DEP(0)},
};
static const step_fn run[] = {step_run_extract_plain, step_run_analyze_text, step_run_embed};

const struct kind_def kind_text = {
	.name = "text",
	.plural = "text files",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
