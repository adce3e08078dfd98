/*
 * render.c — dossiers as Markdown and subtitles, and their copies (pipeline.h). Apart from
 * assemble.c so that the commands that only read dossiers (show, in the lean
 * front binary) link no step of the pipeline.
 */
#include "pipeline/pipeline.h"
#include "pipeline/steps_internal.h"
#include "core/buf.h"
#include "core/util.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

char *assemble_join_strings(json_t *arr, const char *sep)
{
	struct buf b;
	size_t i;
	json_t *v;
	buf_init(&b, 0);
	json_array_foreach(arr, i, v) {
		const char *s = json_is_string(v) ? json_string_value(v)
		                : json_string_value(json_object_get(v, "term"));
		if (!s)
			continue;
		if (b.len)
			buf_appends(&b, sep);
		buf_appends(&b, s);
	}
	return buf_take(&b);
}

/* ------------------------------------------------------------ Markdown */

static void md_list(struct buf *b, json_t *arr, const char *heading)
{
	if (!json_array_size(arr))
		return;
	buf_appendf(b, "\n## %s\n\n", heading);
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v) {
		if (json_is_string(v))
			buf_appendf(b, "- %s\n", json_string_value(v));
		else if (json_object_get(v, "text"))
			buf_appendf(b, "- %s (%s)\n", json_string_value(json_object_get(v, "text")),
			            json_string_value(json_object_get(v, "type")) ? json_string_value(json_object_get(v, "type")) : "");
	}
}

static void fmt_time(double s, char *out, size_t n, int srt)
{
	if (s < 0)
		s = 0;
	long ms = (long)llround(s * 1000);
	snprintf(out, n, srt ? "%02ld:%02ld:%02ld,%03ld" : "%02ld:%02ld:%02ld.%03ld", ms / 3600000,
	         ms / 60000 % 60, ms / 1000 % 60, ms % 1000);
}

char *dossier_to_markdown(json_t *d)
{
	struct buf b;
	buf_init(&b, 0);
	const char *title = json_string_value(json_object_get(d, "title"));
	buf_appendf(&b, "# %s\n\n", title && *title ? title : json_string_value(json_object_get(d, "path")));
	buf_appendf(&b, "- **Path:** %s\n- **Kind:** %s (%s)\n- **Status:** %s\n",
	            json_string_value(json_object_get(d, "path")), json_string_value(json_object_get(d, "kind")),
	            json_string_value(json_object_get(d, "mime")), json_string_value(json_object_get(d, "status")));
	static const struct {
		const char *key, *label;
	} props[] = {{"author", "Author"}, {"created", "Created"}, {"modified", "Modified"}};
	for (size_t i = 0; i < sizeof props / sizeof props[0]; i++) {
		const char *v = json_string_value(json_object_get(d, props[i].key));
		if (v)
			buf_appendf(&b, "- **%s:** %s\n", props[i].label, v);
	}
	json_t *mail = json_object_get(d, "mail");
	static const char *const mail_keys[] = {"from", "to", "cc", "date", NULL};
	for (const char *const *k = mail_keys; *k; k++) {
		const char *v = json_string_value(json_object_get(mail, *k));
		if (v)
			buf_appendf(&b, "- **%c%s:** %s\n", **k - 32, *k + 1, v);
	}
	json_t *parent = json_object_get(d, "parent");
	if (parent) {
		const char *pn = json_string_value(json_object_get(parent, "name"));
		buf_appendf(&b, "- **Inside:** %s (document %lld), as %s\n", pn ? pn : "?",
		            (long long)json_integer_value(json_object_get(parent, "id")),
		            json_string_value(json_object_get(parent, "place")));
	}
	json_t *copies = json_object_get(d, "copies");
	for (size_t i = 0; i < json_array_size(copies); i++)
		buf_appendf(&b, "- **Also at:** %s\n", json_string_value(json_object_get(json_array_get(copies, i), "path")));
	const char *lang = json_string_value(json_object_get(d, "language"));
	if (lang)
		buf_appendf(&b, "- **Language:** %s\n", lang);
	json_t *tags = json_object_get(d, "tags");
	if (json_array_size(tags)) {
		char *t = assemble_join_strings(tags, ", ");
		buf_appendf(&b, "- **Tags:** %s\n", t);
		free(t);
	}
	const char *summary = json_string_value(json_object_get(d, "summary"));
	if (summary)
		buf_appendf(&b, "\n## Summary\n\n%s\n", summary);
	json_t *kids = json_object_get(d, "children");
	if (json_array_size(kids)) {
		buf_appendf(&b, "\n## Inside it\n\n");
		size_t i;
		json_t *k;
		json_array_foreach(kids, i, k) {
			buf_appendf(&b, "- %s (%s, document %lld)\n", json_string_value(json_object_get(k, "place")),
			            json_string_value(json_object_get(k, "kind")) ? json_string_value(json_object_get(k, "kind")) : "?",
			            (long long)json_integer_value(json_object_get(k, "id")));
		}
	}
	md_list(&b, json_object_get(d, "key_points"), "Key points");
	md_list(&b, json_object_get(d, "entities"), "Entities");
	json_t *im = json_object_get(d, "image");
	if (im) {
		buf_appendf(&b, "\n## Image\n\n");
		if (json_object_get(im, "width"))
			buf_appendf(&b, "- %lld x %lld px\n", (long long)json_integer_value(json_object_get(im, "width")),
			            (long long)json_integer_value(json_object_get(im, "height")));
		const char *desc = json_string_value(json_object_get(im, "description"));
		if (desc)
			buf_appendf(&b, "- Description: %s\n", desc);
		const char *o = json_string_value(json_object_get(json_object_get(im, "ocr"), "text"));
		if (o && *o)
			buf_appendf(&b, "\n### Text in the image (OCR)\n\n%s\n", o);
	}
	json_t *segs = json_object_get(json_object_get(d, "transcript"), "segments");
	if (json_array_size(segs)) {
		buf_appendf(&b, "\n## Transcript\n\n");
		size_t i;
		json_t *s;
		json_array_foreach(segs, i, s) {
			char t0[32];
			fmt_time(json_number_value(json_object_get(s, "start")), t0, sizeof t0, 0);
			buf_appendf(&b, "- [%s] %s\n", t0, json_string_value(json_object_get(s, "text")));
		}
	}
	json_t *frames = json_object_get(d, "frames");
	if (json_array_size(frames)) {
		buf_appendf(&b, "\n## Frames\n\n");
		size_t i;
		json_t *f;
		json_array_foreach(frames, i, f) {
			char t0[32];
			fmt_time(json_number_value(json_object_get(f, "time")), t0, sizeof t0, 0);
			const char *desc = json_string_value(json_object_get(f, "description"));
			const char *o = json_string_value(json_object_get(f, "ocr_text"));
			buf_appendf(&b, "- [%s] %s%s%s\n", t0, desc ? desc : "", o && *o ? " — text: " : "", o && *o ? o : "");
		}
	}
	json_t *atts = json_object_get(d, "attachments");
	if (json_array_size(atts)) {
		buf_appendf(&b, "\n## Attachments\n\n");
		size_t i;
		json_t *a;
		json_array_foreach(atts, i, a)
			buf_appendf(&b, "- %s (%s, %lld bytes)\n", json_string_value(json_object_get(a, "name")),
			            json_string_value(json_object_get(a, "type")),
			            (long long)json_integer_value(json_object_get(a, "size")));
	}
	json_t *errs = json_object_get(d, "errors");
	if (json_array_size(errs)) {
		buf_appendf(&b, "\n## Problems\n\n");
		size_t i;
		json_t *e;
		json_array_foreach(errs, i, e)
			buf_appendf(&b, "- %s: %s\n", json_string_value(json_object_get(e, "step")),
			            json_string_value(json_object_get(e, "message")));
	}
	json_t *src = json_object_get(d, "sources");
	if (json_object_size(src)) {
		buf_appendf(&b, "\n## Sources\n\n");
		const char *k;
		json_t *v;
		json_object_foreach(src, k, v)
			buf_appendf(&b, "- %s: %s\n", k, json_string_value(v) ? json_string_value(v) : "");
	}
	return buf_take(&b);
}

char *dossier_transcript_subtitles(json_t *d, int srt)
{
	json_t *segs = json_object_get(json_object_get(d, "transcript"), "segments");
	if (!json_array_size(segs))
		return NULL;
	struct buf b;
	buf_init(&b, 0);
	if (!srt)
		buf_appends(&b, "WEBVTT\n\n");
	size_t i;
	json_t *s;
	json_array_foreach(segs, i, s) {
		char t0[32], t1[32];
		fmt_time(json_number_value(json_object_get(s, "start")), t0, sizeof t0, srt);
		fmt_time(json_number_value(json_object_get(s, "end")), t1, sizeof t1, srt);
		if (srt)
			buf_appendf(&b, "%zu\n", i + 1);
		buf_appendf(&b, "%s --> %s\n%s\n\n", t0, t1, json_string_value(json_object_get(s, "text")));
	}
	return buf_take(&b);
}

/* ------------------------------------------------------------ copies */

static int add_copy(const struct doc_rec *c, void *user)
{
	json_array_append_new(user, json_pack("{s:I,s:o}", "id", (json_int_t)c->id, "path", json_string_lossy(c->path)));
	return 0;
}

void pipeline_dossier_add_copies(store *st, int64_t id, json_t *d)
{
	json_t *arr = json_array();
	store_doc_copies(st, id, add_copy, arr, NULL);
	if (json_array_size(arr))
		json_object_set_new(d, "copies", arr);
	else {
		json_object_del(d, "copies");
		json_decref(arr);
	}
}
