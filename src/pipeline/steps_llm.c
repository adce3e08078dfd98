/*
 * steps_llm.c — steps that need the text or vision LLM: analyse a text,
 * describe an image, describe a video's frames, synthesise a video.
 *
 * Offline (--offline), the text steps use the offline analysers, the image
 * step records what OCR read (with an offline analysis of that text), and a
 * video's synthesis is built from its transcript analysis and frame OCR.
 */
#include "pipeline/steps_internal.h"
#include "backends/llm_tasks.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"
#include "media/image.h"
#include "sched/residency.h"

#include <stdlib.h>
#include <string.h>

static struct llm_call call_for(struct step_env *env, enum model_role role)
{
	struct llm_call c = llm_call_from_config(env->cfg, role, residency_keep_alive(env->res, role));
	c.cancel = env->cancel;
	return c;
}

int step_last_attempt(const struct step_env *env, const struct step_rec *step)
{
	return !step || step->attempts >= env->cfg->max_attempts;
}

/* A long text's parts summarised, as step_progress in chunks. */
static void on_chunk(void *user, int done, int total)
{
	struct step_progress *p = user;
	p->total = total;
	step_progress_report(p, done);
}

int step_analyze_llm(struct step_env *env, const struct doc_rec *doc, const struct step_rec *step,
                     const char *text, size_t len, const char *title_hint, json_t **result, struct err *err)
{
	struct llm_call c = call_for(env, ROLE_TEXT);
	struct step_progress prog;
	step_progress_init(&prog, env, doc, step ? step->kind : "analyze_text", "chunks", 0);
	c.on_part = on_chunk;
	c.on_part_user = &prog;
	int rc = llm_analyze_text(env->llm, &c, text, len, result, err);
	if (rc != DOSSIER_EFORMAT)
		return rc;
	if (!step_last_attempt(env, step)) {
		/* the same rule as for images: an answer outside the schema is asked again later */
		err_prefix(err, "%s: ", doc->path);
		return DOSSIER_EAGAIN;
	}
	/* the model kept answering outside the schema: keep the offline analysis and say why */
	char why[ERR_MSG_MAX];
	snprintf(why, sizeof why, "%s gave no valid analysis in %d tries (%s); offline analysis used", c.model,
	         step ? step->attempts : 1, err->msg);
	err_clear(err);
	rc = step_analyze_offline(text, len, title_hint, result, err);
	if (!rc)
		json_object_set_new(*result, "fallback_reason", json_string(why));
	return rc;
}

/* The image the vision model sees: decoded (EXIF applied), scaled to the
 * model's input size, JPEG. Caller frees *out. */
static int vision_jpeg(struct step_env *env, const char *path, unsigned char **out, size_t *len,
                       struct err *err)
{
	struct image *img = NULL, *small = NULL;
	int rc = image_load(path, env->cfg->max_image_pixels, &img, NULL, err);
	if (rc)
		return rc;
	rc = image_resize_long_side(img, env->cfg->max_image_side_px, &small, err);
	if (!rc)
		rc = image_encode_jpeg(small, 90, out, len, err);
	image_free(small);
	image_free(img);
	return rc;
}

STEP_FN(step_run_describe_image)
{
	json_t *ocr = step_result_json(steps, n, "ocr");
	const char *otext = json_string_value(json_object_get(ocr, "text"));
	int rc = 0;
	if (env->offline_models || !env->llm) {
		/* offline: what OCR read is the description's substance */
		if (otext && *otext) {
			/* the first line of a scan or screenshot is usually its heading */
			char first[96];
			size_t fl = strcspn(otext, "\n");
			snprintf(first, sizeof first, "%.*s", (int)(fl < sizeof first - 1 ? fl : sizeof first - 1), otext);
			rc = step_analyze_offline(otext, strlen(otext), fl >= 4 && fl < sizeof first - 1 ? first : NULL,
			                          result, err);
			if (!rc) {
				json_object_del(*result, "summary");
				json_object_del(*result, "key_points");
			}
		} else {
			*result = json_object();
		}
		json_object_set_new(*result, "engine", json_string("offline"));
		json_decref(ocr);
		return rc;
	}
	unsigned char *jpg = NULL;
	size_t len = 0;
	rc = vision_jpeg(env, doc->path, &jpg, &len, err);
	if (!rc) {
		struct llm_call c = call_for(env, ROLE_VISION);
		rc = llm_describe_image(env->llm, &c, jpg, len, otext, result, err);
		if (rc == DOSSIER_EFORMAT && !step_last_attempt(env, step)) {
			err_prefix(err, "%s: ", doc->path);
			rc = DOSSIER_EAGAIN; /* asked again after a backoff, like a text analysis */
		}
		if (!rc) {
			/* the description is the image's summary; its first sentence a title */
			const char *desc = json_string_value(json_object_get(*result, "description"));
			if (desc) {
				json_object_set_new(*result, "summary", json_string(desc));
				char title[128];
				snprintf(title, sizeof title, "%s", desc);
				char *dot = strpbrk(title, ".!?");
				if (dot)
					*dot = '\0';
				json_object_set_new(*result, "title", json_string(title));
				json_t *src = json_object_get(*result, "sources");
				json_t *by = json_object_get(src, "description");
				if (by) {
					json_object_set(src, "summary", by);
					json_object_set(src, "title", by);
				}
			}
		}
	}
	free(jpg);
	json_decref(ocr);
	return rc;
}

STEP_FN(step_run_describe_frames)
{
	json_t *fr = step_result_json(steps, n, "sample_frames");
	json_t *frames = json_object_get(fr, "frames");
	json_t *out = json_pack("{s:[]}", "frames");
	int rc = 0;
	if (env->offline_models || !env->llm) {
		json_object_set_new(out, "engine", json_string("offline"));
		json_decref(fr);
		*result = out;
		return 0;
	}
	struct llm_call c = call_for(env, ROLE_VISION);
	json_t *timings = json_object();
	struct step_progress prog;
	step_progress_init(&prog, env, doc, step->kind, "frames", (double)json_array_size(frames));
	size_t i;
	json_t *f;
	json_array_foreach(frames, i, f) {
		const char *file = json_string_value(json_object_get(f, "file"));
		char *jpg = NULL;
		size_t len = 0;
		json_t *d = NULL;
		if (!file || (rc = file_read_all(file, CAP_REQUEST_BODY, &jpg, &len, err)))
			break;
		rc = llm_describe_image(env->llm, &c, (unsigned char *)jpg, len,
		                        json_string_value(json_object_get(f, "ocr_text")), &d, err);
		free(jpg);
		if (rc)
			break;
		json_t *one = json_pack("{s:O,s:O*,s:O*}", "time", json_object_get(f, "time"), "description",
		                        json_object_get(d, "description"), "tags", json_object_get(d, "tags"));
		json_array_append_new(json_object_get(out, "frames"), one);
		/* sum the counters over frames */
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(d, "timings"), k, v) {
			if (json_is_number(v))
				json_object_set_new(timings, k, json_real(json_number_value(json_object_get(timings, k)) +
				                                          json_number_value(v)));
		}
		json_decref(d);
		step_progress_report(&prog, (double)(i + 1));
		if (env->cancel && *env->cancel) {
			rc = err_set(err, DOSSIER_ECANCELLED, "cancelled");
			break;
		}
	}
	json_decref(fr);
	if (rc) {
		json_decref(out);
		json_decref(timings);
		return rc;
	}
	char src[160];
	snprintf(src, sizeof src, "%s:%s", llm_backend_name(env->llm), c.model);
	json_object_set_new(out, "sources", json_pack("{s:s}", "frames.description", src));
	json_object_set_new(out, "timings", timings);
	*result = out;
	return 0;
}

/* The frames' OCR text (each frame's text once, in order) analysed offline
 * into out's summary, key points, tags, keywords and entities. */
static void fuse_screen_text(json_t *out, json_t *fr)
{
	struct buf b;
	buf_init(&b, 64 * 1024);
	size_t i;
	json_t *f;
	const char *prev = NULL;
	json_array_foreach(json_object_get(fr, "frames"), i, f) {
		const char *o = json_string_value(json_object_get(f, "ocr_text"));
		if (!o || !*o || (prev && !strcmp(prev, o)))
			continue;
		/* each screen its own sentence */
		buf_appends(&b, o);
		size_t l = strlen(o);
		buf_appends(&b, l && strchr(".!?", o[l - 1]) ? "\n\n" : ".\n\n");
		prev = o;
	}
	json_t *a = NULL;
	if (b.len && step_analyze_offline(b.data, b.len, NULL, &a, NULL) == 0 && a) {
		static const char *const keys[] = {"summary", "key_points", "tags", "keywords", "entities", NULL};
		json_t *src = json_object_get(out, "sources");
		for (const char *const *k = keys; *k; k++) {
			json_t *v = json_object_get(a, *k);
			if (v) {
				json_object_set(out, *k, v);
				json_object_set_new(src, *k, json_string("offline:frame-ocr"));
			}
		}
	}
	json_decref(a);
	buf_free(&b);
}

/* Offline synthesis: the transcript analysis, and a timeline from the
 * transcript's segments and what the frames show. */
static json_t *synthesize_offline(json_t *an, json_t *tr, json_t *fr)
{
	json_t *out = json_object();
	json_t *timeline = json_array();
	size_t i;
	json_t *s;
	double next = 0;
	json_array_foreach(json_object_get(tr, "segments"), i, s) {
		double t = json_number_value(json_object_get(s, "start"));
		if (t >= next) {
			json_array_append_new(timeline, json_pack("{s:f,s:O}", "time", t, "text", json_object_get(s, "text")));
			next = t + 30;
		}
	}
	json_array_foreach(json_object_get(fr, "frames"), i, s) {
		const char *o = json_string_value(json_object_get(s, "ocr_text"));
		if (o && *o) {
			char line[300];
			snprintf(line, sizeof line, "on screen: %s", o);
			json_array_append_new(timeline, json_pack("{s:O,s:s}", "time", json_object_get(s, "time"), "text", line));
		}
	}
	json_object_set_new(out, "timeline", timeline);
	json_object_set_new(out, "sources", json_pack("{s:s}", "timeline", "offline:transcript+ocr"));
	/* a title slide says what a video is about better than a rough transcript */
	json_t *first = json_array_get(json_object_get(fr, "frames"), 0);
	const char *o = json_string_value(json_object_get(first, "ocr_text"));
	double conf = json_number_value(json_object_get(first, "ocr_confidence"));
	if (o && *o && conf >= 70) {
		char title[128];
		snprintf(title, sizeof title, "%s", o);
		title[strcspn(title, "\n")] = '\0';
		if (strlen(title) >= 4) {
			json_object_set_new(out, "title", json_string(title));
			json_object_set_new(json_object_get(out, "sources"), "title", json_string("offline:frame-ocr"));
		}
	}
	/* the recogniser was unsure of every word: what is on screen says what
	 * the video holds better, so it makes the summary, key points and tags */
	if (json_is_true(json_object_get(an, "uncertain_speech")))
		fuse_screen_text(out, fr);
	return out;
}

STEP_FN(step_run_synthesize)
{
	json_t *an = step_result_json(steps, n, "analyze_text");
	json_t *tr = step_result_json(steps, n, "transcribe");
	json_t *fr = step_result_json(steps, n, "sample_frames");
	json_t *fd = step_result_json(steps, n, "describe_frames");
	int rc = 0;
	if (env->offline_models || !env->llm || !json_array_size(json_object_get(fd, "frames"))) {
		*result = synthesize_offline(an, tr, fr);
	} else {
		json_t *parts = json_pack("{s:O,s:O}", "transcript_analysis", an ? an : json_null(), "frames",
		                          json_object_get(fd, "frames"));
		struct llm_call c = call_for(env, ROLE_TEXT);
		rc = llm_synthesize(env->llm, &c, parts, result, err);
		json_decref(parts);
	}
	json_decref(an);
	json_decref(tr);
	json_decref(fr);
	json_decref(fd);
	return rc;
}
