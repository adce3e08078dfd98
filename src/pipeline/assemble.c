/*
 * assemble.c — turns a document's step results into its dossier (the JSON
 * documented in docs/dossier.schema.json). render.c renders dossiers as
 * Markdown and subtitles.
 */
#include "pipeline/steps_internal.h"
#include "core/buf.h"
#include "backends/asr.h"
#include "core/err.h"
#include "core/util.h"
#include "media/archive.h"

#include <math.h>
#include <string.h>

#define DOSSIER_FORMAT_VERSION 1

static void copy_field(json_t *dst, json_t *src, const char *key)
{
	json_t *v = json_object_get(src, key);
	if (v && !json_is_null(v))
		json_object_set(dst, key, v);
}

/* Copies src's "sources" entries into the dossier's, for the keys present. */
static void merge_sources(json_t *sources, json_t *result)
{
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(result, "sources"), k, v)
		json_object_set(sources, k, v);
}

/* One assembly in progress: the dossier being built and the step results it
 * is built from (each parsed once). */
struct assembly {
	const struct doc_rec *doc;
	const struct step_rec *steps;
	size_t n;
	json_t *d, *errors, *sources, *timings;  /* owned until handed to d */
	int n_done, n_bad;                         /* steps that succeeded, problems found */
	json_t **res;                              /* owned: res[i] is steps[i]'s parsed result, NULL if none */
	json_t *ex, *ocr, *an, *img, *tr, *fr, *fd, *sy; /* borrowed from res; NULL if none */
};

/* The parsed result of the first done step of this kind (steps_result's
 * choice), borrowed from a->res; NULL if none. */
static json_t *result_of(const struct assembly *a, const char *kind)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->steps[i].kind, kind) && a->steps[i].state == STEP_DONE)
			return a->res[i];
	return NULL;
}

static void add_identity(struct assembly *a)
{
	const struct doc_rec *doc = a->doc;
	json_object_set_new(a->d, "dossier_version", json_integer(DOSSIER_FORMAT_VERSION));
	json_object_set_new(a->d, "id", json_integer(doc->id));
	json_object_set_new(a->d, "path", json_string_lossy(doc->path));
	json_object_set_new(a->d, "sha256", json_string(doc->sha256));
	json_object_set_new(a->d, "kind", json_string(doc->kind));
	json_object_set_new(a->d, "mime", json_string(doc->mime ? doc->mime : ""));
	json_object_set_new(a->d, "bytes", json_integer(doc->bytes));
}

/* timings per step (with what the step measured), and an error per step that did not succeed */
static void add_steps(struct assembly *a)
{
	for (size_t i = 0; i < a->n; i++) {
		const struct step_rec *s = &a->steps[i];
		json_t *t = json_pack("{s:s,s:s,s:i}", "state", step_state_name(s->state), "role", role_name(s->role),
		                      "attempts", s->attempts);
		if (s->started_at > 0 && s->finished_at >= s->started_at)
			json_object_set_new(t, "seconds", json_real(round((s->finished_at - s->started_at) * 1000) / 1000));
		if (s->state == STEP_DONE) {
			a->n_done++;
			json_t *r = a->res[i];
			json_t *lt = json_object_get(r, "timings");
			if (json_is_object(lt))
				json_object_update(t, lt);
			json_t *by = json_object_get(r, "made_by");
			if (json_is_object(by))
				json_object_set(t, "made_by", by);
			if (s->last_error)  /* re-analysis failed: this is the earlier result */
				json_object_set_new(t, "kept", json_string_lossy(s->last_error));
		} else {
			a->n_bad++;
			json_array_append_new(a->errors, json_pack("{s:s,s:s}", "step", s->kind, "message",
			                                           s->last_error ? s->last_error : step_state_name(s->state)));
		}
		json_object_set_new(a->timings, s->kind, t);
	}
}

/* content: the richest analysis available; later layers refine earlier ones */
static void add_analyses(struct assembly *a)
{
	static const char *const content_keys[] = {"title", "summary", "key_points", "tags", "entities",
	                                           "language", "keywords", "word_count", "reading_time_s", NULL};
	json_t *layers[] = {a->an, a->img, a->sy};
	static const char *const layer_steps[] = {"analyze_text", "describe_image", "synthesize"};
	for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
		if (!layers[l])
			continue;
		for (const char *const *k = content_keys; *k; k++)
			copy_field(a->d, layers[l], *k);
		merge_sources(a->sources, layers[l]);
		const char *why = json_string_value(json_object_get(layers[l], "fallback_reason"));
		if (why) {
			/* the model was asked and gave nothing usable: the dossier is
			 * partial and says so, never done on the offline analysis alone */
			json_object_set_new(a->d, "fallback_reason", json_string(why));
			char msg[ERR_MSG_MAX + 64];
			snprintf(msg, sizeof msg, "%s (analyse the file again to ask the model again)", why);
			json_array_append_new(a->errors, json_pack("{s:s,s:s}", "step", layer_steps[l], "message", msg));
			a->n_bad++;
		}
	}
	if (a->sy)
		copy_field(a->d, a->sy, "timeline");
}

/* the text itself, and a document's own properties and parts, whatever its kind reads them from */
static void add_text(struct assembly *a)
{
	json_t *ex = a->ex;
	const char *text = json_string_value(json_object_get(ex, "text"));
	if (text && *text) {
		json_object_set_new(a->d, "text", json_string(text));
		const char *engine = json_string_value(json_object_get(ex, "engine"));
		json_object_set_new(a->sources, "text", json_string(engine ? engine : "dossier:text"));
		copy_field(a->d, ex, "encoding");
		copy_field(a->d, ex, "pages");
	}
	static const char *const props[] = {"author", "created", "modified", "mail", "attachments", "table", "archive", "children", NULL};
	static const char *const parts[] = {"format", "headings", "slides", "sheets", "chapters", "messages",
	                                    "message_list", "truncated", "notes", NULL};
	for (const char *const *k = props; ex && *k; k++)
		copy_field(a->d, ex, *k);
	json_t *docpart = json_object();
	for (const char *const *k = parts; ex && *k; k++)
		copy_field(docpart, ex, *k);
	/* only for kinds that read a document's structure (not a PDF's bare "truncated") */
	if (json_object_get(docpart, "format") && json_object_size(docpart) > 2)
		json_object_set(a->d, "document", docpart);
	json_decref(docpart);
	if (ex && !json_object_get(a->d, "title") && json_is_string(json_object_get(ex, "title")))
		copy_field(a->d, ex, "title");
	/* a kind with no analysis step (an archive) says what it holds itself */
	if (ex && !json_object_get(a->d, "summary") && json_is_string(json_object_get(ex, "summary")))
		copy_field(a->d, ex, "summary");
	const char *otext = json_string_value(json_object_get(a->ocr, "text"));
	if (otext && *otext && (!text || !*text)) {
		json_object_set_new(a->d, "text", json_string(otext));
		json_object_set_new(a->sources, "text", json_string("tesseract"));
	}
}

/* a pipeline that looks at the file as a picture gets an image part */
static void add_image(struct assembly *a)
{
	int describes_image = 0;
	for (size_t i = 0; i < a->n; i++)
		describes_image |= !strcmp(a->steps[i].kind, "describe_image");
	if (!describes_image)
		return;
	json_t *im = json_object();
	const char *otext = json_string_value(json_object_get(a->ocr, "text"));
	if (a->ocr) {
		json_t *info = json_object_get(a->ocr, "image");
		if (json_is_object(info))
			json_object_update(im, info);
		if (otext) {
			json_t *conf = json_object_get(a->ocr, "confidence");
			json_object_set_new(im, "ocr", json_pack("{s:s,s:O}", "text", otext, "confidence", conf ? conf : json_null()));
		}
	}
	if (a->img) {
		copy_field(im, a->img, "description");
		copy_field(im, a->img, "text_in_image");
		if (json_object_get(a->img, "description")) {
			json_t *by = json_object_get(json_object_get(a->img, "sources"), "description");
			json_object_set_new(a->sources, "image.description", by ? json_incref(by) : json_string("unknown"));
		}
	}
	if (otext && *otext)
		json_object_set_new(a->sources, "image.ocr", json_string("tesseract"));
	json_object_set_new(a->d, "image", im);
}

static void add_media(struct assembly *a)
{
	if (a->tr) {
		json_t *t = json_object();
		copy_field(t, a->tr, "segments");
		/* the segments the recogniser was unsure of, for the page to mark */
		size_t i;
		json_t *seg;
		json_array_foreach(json_object_get(t, "segments"), i, seg) {
			json_t *c = json_object_get(seg, "confidence");
			if (json_is_number(c) && json_number_value(c) < ASR_SURE)
				json_object_set_new(seg, "uncertain", json_true());
		}
		copy_field(t, a->tr, "engine");
		copy_field(t, a->tr, "language");
		json_object_set_new(a->d, "transcript", t);
		if (json_object_get(a->tr, "engine"))
			json_object_set(a->sources, "transcript", json_object_get(a->tr, "engine"));
	}
	if (a->fr) {
		json_t *frames = json_deep_copy(json_object_get(a->fr, "frames"));
		json_t *descs = json_object_get(a->fd, "frames");
		size_t i;
		json_t *f;
		json_array_foreach(frames, i, f) {
			json_t *dd = json_array_get(descs, i);
			if (dd) {
				copy_field(f, dd, "description");
				copy_field(f, dd, "tags");
			}
		}
		json_object_set_new(a->d, "frames", frames ? frames : json_array());
		if (a->fd)
			merge_sources(a->sources, a->fd);
	}
}

/* limits that were hit (a page cap, say) are said, not hidden */
static void add_notes(struct assembly *a)
{
	json_t *notes = json_array();
	for (size_t i = 0; i < a->n; i++) {
		const struct step_rec *s = &a->steps[i];
		json_t *r = s->state == STEP_DONE ? a->res[i] : NULL;
		const char *note = json_string_value(json_object_get(r, "note"));
		if (note)
			json_array_append_new(notes, json_pack("{s:s,s:s}", "step", s->kind, "message", note));
		size_t k;
		json_t *v;
		json_array_foreach(json_object_get(r, "notes"), k, v)
			if (json_is_string(v))
				json_array_append_new(notes, json_pack("{s:s,s:O}", "step", s->kind, "message", v));
	}
	if (json_array_size(notes))
		json_object_set_new(a->d, "notes", notes);
	else
		json_decref(notes);
}

/* 1 if a step failed because the file (or the member it is) needs a
 * password: its message says MEDIA_ENCRYPTED_WORDS after the file's path. */
static int failed_encrypted(const struct assembly *a)
{
	const char *path = a->doc->path ? a->doc->path : "";
	size_t pl = strlen(path);
	for (size_t i = 0; i < a->n; i++) {
		const char *m = a->steps[i].last_error;
		if (a->steps[i].state != STEP_FAILED || !m)
			continue;
		if (!strncmp(m, path, pl))
			m += pl;
		if (strstr(m, MEDIA_ENCRYPTED_WORDS))
			return 1;
	}
	return 0;
}

/* done when every step did; partial when something useful survived;
 * encrypted when nothing could be read for want of a password */
static const char *decide_status(struct assembly *a)
{
	json_t *d = a->d;
	int useful = json_object_get(d, "summary") || json_object_get(d, "text") || json_object_get(d, "transcript") ||
	             json_object_get(d, "image");
	const char *status = a->n_bad == 0 ? "done" : (useful && a->n_done) ? "partial" : "failed";
	if (!strcmp(status, "failed") && failed_encrypted(a))
		status = "encrypted";
	char ts[32];
	json_object_set_new(d, "status", json_string(status));
	json_object_set_new(d, "errors", a->errors);
	json_object_set_new(d, "sources", a->sources);
	json_object_set_new(d, "timings", a->timings);
	time_rfc3339(clock_wall_s(), ts);
	json_object_set_new(d, "analyzed_at", json_string(ts));
	return status;
}

/* the index's fields point into d, or into fts_owned[0..1] */
static void fill_index(struct assembly *a, struct fts_fields *fts, char *fts_owned[2])
{
	json_t *d = a->d;
	memset(fts, 0, sizeof *fts);
	fts->title = json_string_value(json_object_get(d, "title"));
	fts->summary = json_string_value(json_object_get(d, "summary"));
	fts_owned[0] = fts_owned[1] = NULL;
	char *tags = assemble_join_strings(json_object_get(d, "tags"), ", ");
	char *kw = assemble_join_strings(json_object_get(d, "keywords"), ", ");
	size_t ln = strlen(tags) + strlen(kw) + 4;
	char *both = xcalloc(1, ln + 1);
	snprintf(both, ln + 1, "%s%s%s", tags, *tags && *kw ? " | " : "", kw);
	free(tags);
	free(kw);
	fts_owned[0] = both;
	fts->tags = both;
	fts->text = json_string_value(json_object_get(d, "text"));
	/* the transcript's text, kept in the dossier too */
	if (a->tr) {
		struct buf b;
		buf_init(&b, CAP_TRANSCRIPT);
		size_t i;
		json_t *seg;
		json_array_foreach(json_object_get(json_object_get(d, "transcript"), "segments"), i, seg) {
			const char *s = json_string_value(json_object_get(seg, "text"));
			if (s) {
				if (b.len)
					buf_appendc(&b, ' ');
				buf_appends(&b, s);
			}
		}
		json_object_set_new(json_object_get(d, "transcript"), "text", json_string(b.data ? b.data : ""));
		buf_free(&b);
		fts->transcript = json_string_value(json_object_get(json_object_get(d, "transcript"), "text"));
	}
	/* what was read or seen in pictures: OCR, frames, the image's description */
	struct buf b;
	buf_init(&b, CAP_OCR_TEXT);
	const char *otext = json_string_value(json_object_get(a->ocr, "text"));
	if (otext && *otext)
		buf_appends(&b, otext);
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(d, "frames"), i, f) {
		const char *s = json_string_value(json_object_get(f, "ocr_text"));
		const char *ds = json_string_value(json_object_get(f, "description"));
		if (s && *s) {
			buf_appendc(&b, ' ');
			buf_appends(&b, s);
		}
		if (ds && *ds) {
			buf_appendc(&b, ' ');
			buf_appends(&b, ds);
		}
	}
	const char *desc = json_string_value(json_object_get(json_object_get(d, "image"), "description"));
	if (desc) {
		buf_appendc(&b, ' ');
		buf_appends(&b, desc);
	}
	if (b.len) {
		fts_owned[1] = buf_take(&b);
		fts->ocr = fts_owned[1];
	}
	buf_free(&b);
}

int pipeline_assemble(const struct doc_rec *doc, const struct step_rec *steps, size_t n,
                      json_t **dossier, const char **status_out, struct fts_fields *fts,
                      char *fts_owned[2], struct err *err)
{
	(void)err;
	struct assembly a = {
		.doc = doc, .steps = steps, .n = n,
		.d = json_object(), .errors = json_array(), .sources = json_object(), .timings = json_object(),
		.res = xcalloc(n ? n : 1, sizeof(json_t *)),
	};
	/* each result is parsed once, here, and read by every part below */
	for (size_t i = 0; i < n; i++)
		if (steps[i].state == STEP_DONE && steps[i].result)
			a.res[i] = step_result_parse(&steps[i]);
	a.ex = result_of(&a, "extract_text");
	a.ocr = result_of(&a, "ocr");
	a.an = result_of(&a, "analyze_text");
	a.img = result_of(&a, "describe_image");
	a.tr = result_of(&a, "transcribe");
	a.fr = result_of(&a, "sample_frames");
	a.fd = result_of(&a, "describe_frames");
	a.sy = result_of(&a, "synthesize");
	add_identity(&a);
	add_steps(&a);
	add_analyses(&a);
	add_text(&a);
	add_image(&a);
	add_media(&a);
	add_notes(&a);
	*status_out = decide_status(&a);
	fill_index(&a, fts, fts_owned);
	for (size_t i = 0; i < n; i++)
		json_decref(a.res[i]);
	free(a.res);
	*dossier = a.d;
	return 0;
}
