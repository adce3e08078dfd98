/*
 * steps_media.c — OCR, speech and frame steps, and PDF extraction.
 */
#include "pipeline/steps_internal.h"
#include "backends/engines.h"
#include "backends/asr.h"
#include "backends/ocr.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"
#include "media/frames.h"
#include "media/image.h"
#include "media/pdf.h"
#include "media/probe.h"
#include "pipeline/kinds.h"
#include "sched/residency.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The lane's OCR engine, created on first use and kept for the lane's life. */
static int lane_ocr(struct step_env *env, struct ocr_backend **out, struct err *err)
{
	if (!env->ocr) {
		int rc = ocr_backend_from_config(env->cfg, &env->ocr, err);
		if (rc)
			return rc;
	}
	*out = env->ocr;
	return 0;
}

static int ocr_image(struct step_env *env, const struct image *img, char **text, double *conf,
                     struct err *err)
{
	struct ocr_backend *ocr;
	int rc = lane_ocr(env, &ocr, err);
	if (rc)
		return rc;
	return ocr_recognize(ocr, img->rgb, img->width, img->height, img->stride, text, conf, err);
}

static json_t *conf_json(double conf)
{
	return conf < 0 ? json_null() : json_real(conf);
}

/* ------------------------------------------------------- step_progress */

/* 3 pages as 3, 61.52 seconds as 61.52 */
static json_t *progress_number(double v)
{
	return v == (double)(json_int_t)v ? json_integer((json_int_t)v) : json_real(v);
}

void step_progress_init(struct step_progress *p, struct step_env *env, const struct doc_rec *doc,
                        const char *step, const char *unit, double total)
{
	memset(p, 0, sizeof *p);
	p->env = env;
	p->document = doc->id;
	p->step = step;
	p->unit = unit;
	p->total = total > 0 ? total : 0;
}

void step_progress_report(struct step_progress *p, double done)
{
	if (!p->env || !p->env->bus)
		return;
	double now = clock_mono_s();
	int last = p->total > 0 && done >= p->total && p->last_done < p->total;
	if (!last && p->last_emit_s > 0 && now - p->last_emit_s < STEP_PROGRESS_INTERVAL_S)
		return;
	if (done <= p->last_done && p->last_emit_s > 0)
		return; /* nothing new to say */
	p->last_emit_s = now;
	p->last_done = done;
	json_t *f = json_pack("{s:s,s:s,s:o,s:s}", "step", p->step, "label", step_label(p->step), "done",
	                      progress_number(done), "unit", p->unit);
	if (f)
		json_object_set_new(f, "total", p->total > 0 ? progress_number(p->total) : json_null());
	bus_emit(p->env->bus, "step_progress", p->document, f);
}

/* ---------------------------------------------------------------- ocr */

/* Pages OCRed so far are kept under <data_dir>/ocr/<sha256>/ as they are
 * recognised, so a run killed on page 900 of 1,000 starts again at page 900.
 * A file holds the page's confidence on its first line, then its text. */
static void page_cache_path(const struct step_env *env, const struct doc_rec *doc, int page, char *out, size_t n)
{
	snprintf(out, n, "%s/ocr/%s/page-%05d.txt", env->data_dir ? env->data_dir : ".", doc->sha256, page + 1);
}

static int page_cache_get(const struct step_env *env, const struct doc_rec *doc, int page, char **text, double *conf)
{
	char path[4200];
	page_cache_path(env, doc, page, path, sizeof path);
	char *data = NULL;
	size_t len = 0;
	if (file_read_all(path, CAP_OCR_TEXT + 64, &data, &len, NULL))
		return 0;
	char *nl = memchr(data, '\n', len);
	if (!nl) {
		free(data);
		return 0;
	}
	*nl = '\0';
	*conf = atof(data);
	*text = xstrdup(nl + 1);
	free(data);
	return 1;
}

static void page_cache_put(const struct step_env *env, const struct doc_rec *doc, int page, const char *text,
                           double conf)
{
	char path[4200], tmp[4300], dir[4200];
	page_cache_path(env, doc, page, path, sizeof path);
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (!slash)
		return;
	*slash = '\0';
	if (mkdir_p(dir, NULL))
		return; /* no checkpoint, the OCR itself still stands */
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	int ok = fprintf(f, "%.3f\n%s", conf, text) >= 0;
	ok &= fclose(f) == 0;
	if (!ok || rename(tmp, path) != 0)
		unlink(tmp);
}

/* The step's result holds the pages now: the checkpoint files go. */
static void page_cache_drop(const struct step_env *env, const struct doc_rec *doc)
{
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/ocr/%s", env->data_dir ? env->data_dir : ".", doc->sha256);
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			char *p = path_join(dir, de->d_name);
			unlink(p);
			free(p);
		}
	closedir(d);
	rmdir(dir);
}

/* 1 if a page has nothing text-like, judged on a cheap 100-dpi render: a
 * blank page costs a few milliseconds instead of a full render and OCR. */
static int page_looks_blank(pdf_doc *pdf, int page)
{
	struct image *thumb = NULL;
	if (pdf_page_render_fit(pdf, page, 100, 2e6, 4000, &thumb, NULL, NULL))
		return 0; /* cannot tell: OCR it */
	int blank = !ocr_image_has_text_like_regions(thumb->rgb, thumb->width, thumb->height, thumb->stride);
	image_free(thumb);
	return blank;
}

static int ocr_pdf_pages(struct step_env *env, const struct doc_rec *doc, const struct step_rec *steps,
                         size_t n, json_t **result, struct err *err)
{
	json_t *ex = step_result_json(steps, n, "extract_text");
	json_t *todo = json_object_get(ex, "pages_without_text");
	json_t *pages = json_array();
	struct buf b;
	buf_init(&b, CAP_OCR_TEXT);
	double conf_sum = 0;
	int conf_n = 0, rc = 0, blank = 0, resumed = 0;
	size_t total = json_array_size(todo), limit = (size_t)env->cfg->max_ocr_pages;
	struct step_progress prog;
	step_progress_init(&prog, env, doc, "ocr", "pages", (double)(total < limit ? total : limit));
	if (total) {
		pdf_doc *pdf = NULL;
		if ((rc = pdf_open(doc->path, &pdf, err)))
			goto out;
		for (size_t i = 0; i < total && i < limit; i++) {
			int page = (int)json_integer_value(json_array_get(todo, i));
			struct image *img = NULL;
			char *text = NULL;
			double conf = -1;
			if (page_cache_get(env, doc, page, &text, &conf)) {
				resumed++;
			} else if (page_looks_blank(pdf, page)) {
				blank++;
				text = xstrdup("");
				page_cache_put(env, doc, page, text, conf);
			} else {
				/* a poster or a drawing is rendered at a lower dpi, not refused */
				if ((rc = pdf_page_render_fit(pdf, page, PDF_OCR_DPI, PDF_RENDER_MAX_PIXELS,
				                              PDF_RENDER_MAX_SIDE, &img, NULL, err)) ||
				    (rc = ocr_image(env, img, &text, &conf, err))) {
					image_free(img);
					break;
				}
				image_free(img);
				page_cache_put(env, doc, page, text, conf);
			}
			json_array_append_new(pages, json_pack("{s:i,s:s,s:o}", "page", page + 1, "text", text,
			                                       "confidence", conf_json(conf)));
			if (*text) {
				if (b.len)
					buf_appends(&b, "\n\n");
				if (buf_appends(&b, text) == DOSSIER_ETOOBIG) {
					free(text);
					break;
				}
			}
			if (conf >= 0) {
				conf_sum += conf;
				conf_n++;
			}
			free(text);
			step_progress_report(&prog, (double)(i + 1));
			if (env->cancel && *env->cancel) {
				rc = err_set(err, DOSSIER_ECANCELLED, "cancelled");
				break;
			}
		}
		pdf_close(pdf);
	}
out:
	json_decref(ex);
	if (rc) {
		json_decref(pages);
		buf_free(&b);
		return rc;
	}
	/* under "timings", the counts reach the dossier's timings.ocr */
	*result = json_pack("{s:s,s:o,s:o,s:s,s:{s:i,s:i,s:i}}", "text", b.data ? b.data : "", "pages", pages,
	                    "confidence", conf_n ? json_real(conf_sum / conf_n) : json_null(), "engine", "tesseract",
	                    "timings", "pages_ocr", (int)json_array_size(pages), "pages_blank", blank, "pages_resumed",
	                    resumed);
	if (total > limit) {
		char note[256];
		snprintf(note, sizeof note,
		         "OCR read the first %zu of %zu pages without a text layer (max_ocr_pages = %zu; raise it "
		         "in the config to read more)",
		         limit, total, limit);
		json_object_set_new(*result, "note", json_string(note));
	}
	buf_free(&b);
	page_cache_drop(env, doc);
	return 0;
}

STEP_FN(step_run_ocr_pages)
{
	return ocr_pdf_pages(env, doc, steps, n, result, err);
}

STEP_FN(step_run_ocr_image)
{
	struct image *img = NULL;
	struct image_info info;
	int rc = image_load(doc->path, env->cfg->max_image_pixels, &img, &info, err);
	if (rc)
		return rc;
	char *text = NULL;
	double conf = -1;
	rc = ocr_image(env, img, &text, &conf, err);
	image_free(img);
	if (rc)
		return rc;
	json_t *exif = json_object();
	if (info.captured_at[0])
		json_object_set_new(exif, "captured_at", json_string(info.captured_at));
	if (info.camera_make[0])
		json_object_set_new(exif, "camera_make", json_string(info.camera_make));
	if (info.camera_model[0])
		json_object_set_new(exif, "camera_model", json_string(info.camera_model));
	json_object_set_new(exif, "orientation", json_integer(info.orientation));
	*result = json_pack("{s:s,s:o,s:s,s:{s:i,s:i,s:s,s:o}}", "text", text, "confidence", conf_json(conf),
	                    "engine", "tesseract", "image", "width", info.width, "height", info.height, "format",
	                    info.format, "exif", exif);
	free(text);
	return 0;
}

/* ---------------------------------------------------------------- pdf */

STEP_FN(step_run_extract_pdf)
{
	(void)env;
	int rc = pdf_extract(doc->path, result, err);
	if (rc == 0 && !json_object_get(*result, "engine"))
		json_object_set_new(*result, "engine", json_string("poppler"));
	return rc;
}

/* --------------------------------------------------------- transcribe */

struct transcript_ctx {
	json_t *segments;           /* [{start, end, text, confidence?}] */
	struct step_progress prog;  /* seconds of the media recognised */
};

static double round_ms(double s)
{
	return (double)(long long)(s * 1000.0 + 0.5) / 1000.0;
}

static int collect_segment(const struct asr_segment *seg, void *user)
{
	struct transcript_ctx *tc = user;
	json_t *o = json_pack("{s:f,s:f,s:s}", "start", round_ms(seg->start_s), "end", round_ms(seg->end_s), "text",
	                      seg->text);
	if (!o)
		return 1;
	if (seg->confidence >= 0)
		json_object_set_new(o, "confidence", json_real(round_ms(seg->confidence)));
	if (json_array_append_new(tc->segments, o))
		return 1;
	double done = seg->end_s;
	if (tc->prog.total > 0 && done > tc->prog.total)
		done = tc->prog.total;
	step_progress_report(&tc->prog, round_ms(done));
	return 0;
}

static int transcribe(struct step_env *env, const struct doc_rec *doc, int no_audio_is_silence,
                      json_t **result, struct err *err)
{
	if (!env->asr) {
		int rc = asr_backend_from_config(env->cfg, &env->asr, err);
		if (rc)
			return rc;
	}
	if (!asr_backend_is_loaded(env->asr)) {
		/* the seed's Whisper: loaded on the first audio or video, then kept */
		bus_emit(env->bus, "model_loading", doc->id,
		         json_pack("{s:s,s:s}", "model", asr_backend_name(env->asr), "role", "asr"));
		double t0 = clock_mono_s();
		int rc = asr_backend_open(env->asr, err);
		if (rc)
			return rc;
		uint64_t bytes = asr_backend_memory_bytes(env->asr);
		bus_emit(env->bus, "model_loaded", doc->id,
		         json_pack("{s:s,s:s,s:I,s:I}", "model", asr_backend_name(env->asr), "role", "asr", "load_ms",
		                   (json_int_t)((clock_mono_s() - t0) * 1000), "bytes", (json_int_t)bytes));
		if (env->res)
			residency_note_asr(env->res, bytes, 1);
	}
	/* the segments as asr_transcribe_json gives them, with step_progress in
	 * seconds of the media recognised */
	struct media_info mi;
	struct transcript_ctx tc = {json_array(), {0}};
	step_progress_init(&tc.prog, env, doc, "transcribe", "seconds",
	                   media_probe(doc->path, &mi, NULL) == 0 ? mi.duration_s : 0);
	json_t *segments = NULL;
	int rc = asr_transcribe(env->asr, doc->path, collect_segment, &tc, NULL, err);
	if (rc == 0) {
		segments = tc.segments;
		if (tc.prog.total > 0)
			step_progress_report(&tc.prog, tc.prog.total); /* trailing silence is recognised too */
	} else
		json_decref(tc.segments);
	if (rc == DOSSIER_ENOTFOUND && no_audio_is_silence) {
		/* a video without sound still has frames to look at */
		*result = json_pack("{s:[],s:s,s:s}", "segments", "engine", asr_backend_name(env->asr), "note",
		                    "the video has no audio stream");
		err_clear(err);
		return 0;
	}
	if (rc)
		return rc;
	*result = json_pack("{s:o,s:s}", "segments", segments, "engine", asr_backend_name(env->asr));
	const char *lang = asr_backend_language(env->asr);
	if (lang)  /* what the engine says it heard; unknown stays unsaid */
		json_object_set_new(*result, "language", json_string(lang));
	return 0;
}

STEP_FN(step_run_transcribe)
{
	return transcribe(env, doc, 0, result, err);
}

STEP_FN(step_run_transcribe_optional)
{
	return transcribe(env, doc, 1, result, err);
}

/* ------------------------------------------------------- sample_frames */

struct frames_ctx {
	struct step_env *env;
	const char *dir;
	json_t *frames;
	struct err *err;
	int rc;
};

static int on_frame(const struct frame *f, void *user)
{
	struct frames_ctx *c = user;
	char name[64];
	snprintf(name, sizeof name, "frame-%03zu.jpg", json_array_size(c->frames));
	char *file = path_join(c->dir, name);
	FILE *fp = fopen(file, "wb");
	if (!fp || fwrite(f->jpeg, 1, f->jpeg_len, fp) != f->jpeg_len) {
		c->rc = err_set(c->err, DOSSIER_EIO, "cannot write frame %s", file);
		if (fp)
			fclose(fp);
		free(file);
		return 1;
	}
	fclose(fp);
	json_t *fj = json_pack("{s:f,s:f,s:b,s:f,s:s,s:i,s:i}", "time", f->time_s, "target", f->target_s, "scene",
	                       f->scene, "scene_score", f->scene_score, "file", file, "width", f->width, "height",
	                       f->height);
	/* what is written on screen, for search and for the vision model's context */
	struct image *img = NULL;
	struct err e = {0};
	if (image_load(file, 0, &img, NULL, &e) == 0) {
		char *text = NULL;
		double conf = -1;
		if (ocr_image(c->env, img, &text, &conf, &e) == 0) {
			json_object_set_new(fj, "ocr_text", json_string(text));
			json_object_set_new(fj, "ocr_confidence", conf_json(conf));
		}
		free(text);
		image_free(img);
	}
	json_array_append_new(c->frames, fj);
	free(file);
	return c->env->cancel && *c->env->cancel;
}

STEP_FN(step_run_sample_frames)
{
	struct media_info mi;
	int rc = media_probe(doc->path, &mi, err);
	if (rc)
		return rc;
	char sub[128];
	snprintf(sub, sizeof sub, "frames/%s", doc->sha256);
	char *dir = path_join(env->data_dir, sub);
	if ((rc = mkdir_p(dir, err))) {
		free(dir);
		return rc;
	}
	struct frame_params p;
	frame_params_default(&p);
	p.interval_s = env->cfg->frame_interval_s;
	p.max_frames = env->cfg->max_frames;
	p.max_side = env->cfg->max_image_side_px;
	struct frames_ctx c = {env, dir, json_array(), err, 0};
	rc = frames_sample(doc->path, &p, on_frame, &c, err);
	if (c.rc)
		rc = c.rc;
	free(dir);
	if (rc) {
		json_decref(c.frames);
		return rc;
	}
	*result = json_pack("{s:o,s:{s:f,s:i,s:i,s:s,s:f,s:i,s:b}}", "frames", c.frames, "video", "duration",
	                    mi.duration_s, "width", mi.display_width, "height", mi.display_height, "codec",
	                    mi.video_codec, "fps", mi.fps, "rotation", mi.rotation, "has_audio", mi.has_audio);
	return 0;
}
