/*
 * steps.c — what each step kind does. Each executor reads the results of the
 * steps before it, does its work, and returns a JSON result; the scheduler
 * stores it. Executors for media steps live in steps_media.c, the LLM ones in
 * steps_llm.c.
 */
#include "pipeline/steps_internal.h"
#include "pipeline/kinds.h"
#include "analyze/offline.h"
#include "analyze/text.h"
#include "backends/asr.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------- results kept parsed */

/* The results this process stored lately, parsed, so the steps after them
 * and the document's assembly read them without parsing the stored text
 * again. An entry serves a step only when its text is the step's stored text
 * byte for byte, and what it hands out is a copy: a reader may change it. */
#define KEPT_RESULTS 64
#define KEPT_MAX_BYTES (64u << 10) /* larger results are parsed each time */

static struct kept {
	int64_t step_id;
	char *text;    /* owned: the stored text */
	size_t len;
	json_t *j;     /* owned: what parsing text gives */
} kept[KEPT_RESULTS];
static size_t kept_next;
static pthread_mutex_t kept_mu = PTHREAD_MUTEX_INITIALIZER;

/* Makes j what parsing its text gives: reals as their printed digits read
 * back. Returns 0 if j holds what the text cannot give back (a string with
 * a NUL, which json_loads refuses): such a result is not kept. */
static int kept_normalize(json_t *j)
{
	const char *k;
	json_t *v;
	size_t i;
	switch (json_typeof(j)) {
	case JSON_OBJECT:
		json_object_foreach(j, k, v)
			if (!kept_normalize(v))
				return 0;
		return 1;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
			if (!kept_normalize(v))
				return 0;
		return 1;
	case JSON_STRING:
		return strlen(json_string_value(j)) == json_string_length(j);
	case JSON_REAL: {
		char digits[64];
		snprintf(digits, sizeof digits, "%.*g", STEP_RESULT_PRECISION, json_real_value(j));
		json_real_set(j, strtod(digits, NULL));
		return 1;
	}
	default:
		return 1;
	}
}

void step_result_keep(int64_t step_id, const char *text, json_t *result)
{
	size_t len = text ? strlen(text) : 0;
	if (!text || !result || len > KEPT_MAX_BYTES)
		return;
	/* the caller's result is its own (refcount 1): kept as it is, else copied */
	json_t *j = result->refcount == 1 ? json_incref(result) : json_deep_copy(result);
	if (!j || !kept_normalize(j)) {
		json_decref(j);
		return;
	}
	struct kept k = {step_id, xstrdup(text), len, j}, old = {0};
	pthread_mutex_lock(&kept_mu);
	size_t slot = kept_next;
	for (size_t i = 0; i < KEPT_RESULTS; i++)
		if (kept[i].j && kept[i].step_id == step_id)
			slot = i;  /* a step run again replaces its entry */
	if (slot == kept_next)
		kept_next = (kept_next + 1) % KEPT_RESULTS;
	old = kept[slot];
	kept[slot] = k;
	pthread_mutex_unlock(&kept_mu);
	free(old.text);
	json_decref(old.j);
}

json_t *step_result_parse(const struct step_rec *s)
{
	if (!s->result)
		return NULL;
	size_t len = strlen(s->result);
	json_t *hit = NULL;
	pthread_mutex_lock(&kept_mu);
	for (size_t i = 0; i < KEPT_RESULTS && !hit; i++)
		if (kept[i].j && kept[i].step_id == s->id && kept[i].len == len && !memcmp(kept[i].text, s->result, len))
			hit = json_incref(kept[i].j);
	pthread_mutex_unlock(&kept_mu);
	if (!hit)
		return json_loads(s->result, 0, NULL);
	json_t *copy = json_deep_copy(hit);
	json_decref(hit);
	return copy;
}

/* ------------------------------------------------------------ helpers */

json_t *step_result_json(const struct step_rec *steps, size_t n, const char *kind)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(steps[i].kind, kind) && steps[i].state == STEP_DONE)
			return step_result_parse(&steps[i]);
	return NULL;
}

/* Gathers the text a document's analysis works on: extracted text, OCR text,
 * or the transcript, in that order of preference. Caller frees. */
const char *step_first_line_hint(const char *text, char *out, size_t n)
{
	while (*text == ' ' || *text == '\n')
		text++;
	size_t fl = strcspn(text, "\n"), letters = 0;
	for (size_t i = 0; i < fl; i++)
		letters += ((unsigned char)text[i] | 32) >= 'a' && ((unsigned char)text[i] | 32) <= 'z';
	if (fl < 4 || fl >= n || letters < 3)
		return NULL;
	memcpy(out, text, fl);
	out[fl] = '\0';
	return out;
}

/* Appends the segments' text, only those at or above min_conf (unknown
 * confidence counts as sure); returns how many were appended. */
static size_t append_segments(struct buf *b, json_t *segments, double min_conf)
{
	size_t i, n = 0;
	json_t *seg;
	json_array_foreach(segments, i, seg) {
		const char *t = json_string_value(json_object_get(seg, "text"));
		json_t *c = json_object_get(seg, "confidence");
		if (!t || !*t || (json_is_number(c) && json_number_value(c) < min_conf))
			continue;
		if (b->len)
			buf_appendc(b, ' ');
		buf_appends(b, t);
		n++;
	}
	return n;
}

char *step_input_text(const struct step_rec *steps, size_t n, const char **title_hint_out,
                      char **title_owned, int *uncertain)
{
	if (uncertain)
		*uncertain = 0;
	struct buf b;
	buf_init(&b, CAP_TEXT);
	*title_owned = NULL;
	*title_hint_out = NULL;
	json_t *ex = step_result_json(steps, n, "extract_text");
	if (ex) {
		const char *t = json_string_value(json_object_get(ex, "text"));
		if (t)
			buf_appends(&b, t);
		const char *title = json_string_value(json_object_get(ex, "title"));
		if (title && *title)
			*title_owned = xstrdup(title);
		json_decref(ex);
	}
	json_t *ocr = step_result_json(steps, n, "ocr");
	if (ocr) {
		const char *t = json_string_value(json_object_get(ocr, "text"));
		if (t && *t) {
			/* a scan's first line is usually its heading, as for images */
			char first[96];
			if (!b.len && !*title_owned && step_first_line_hint(t, first, sizeof first))
				*title_owned = xstrdup(first);
			if (b.len)
				buf_appends(&b, "\n\n");
			buf_appends(&b, t);
		}
		json_decref(ocr);
	}
	json_t *tr = step_result_json(steps, n, "transcribe");
	if (tr) {
		json_t *segs = json_object_get(tr, "segments");
		size_t before = b.len;
		if (!append_segments(&b, segs, ASR_SURE) && json_array_size(segs)) {
			b.len = before;  /* nothing the recogniser is sure of: all of it, flagged */
			if (b.data)
				b.data[before] = '\0';
			if (append_segments(&b, segs, -1) && uncertain)
				*uncertain = 1;
		}
		json_decref(tr);
	}
	*title_hint_out = *title_owned;
	return buf_take(&b);
}

/* -------------------------------------------------------- extract_text */

static enum text_format format_of(const struct doc_rec *doc)
{
	if (doc->mime && (!strcmp(doc->mime, "text/html") || !strcmp(doc->mime, "application/xhtml+xml")))
		return TEXT_FORMAT_HTML;
	if (doc->mime && !strcmp(doc->mime, "text/markdown"))
		return TEXT_FORMAT_MARKDOWN;
	return TEXT_FORMAT_PLAIN;
}

static const char *format_name(enum text_format f)
{
	return f == TEXT_FORMAT_HTML ? "html" : f == TEXT_FORMAT_MARKDOWN ? "markdown" : "plain";
}

static int extract_plain(struct step_env *env, const struct doc_rec *doc, json_t **result,
                         struct err *err)
{
	char *raw = NULL, *text = NULL, *title = NULL, enc[16] = "";
	size_t raw_len = 0, len = 0;
	int rc = file_read_all(doc->path, CAP_TEXT, &raw, &raw_len, err);
	if (rc) {
		if (rc == DOSSIER_EPERM)
			err_set(err, rc, "%s: permission denied (check the file's permissions, e.g. chmod a+r)", doc->path);
		else if (rc == DOSSIER_ETOOBIG)
			err_set(err, rc, "%s: text files over %u MB are not analysed; split the file", doc->path,
			        CAP_TEXT / (1024u * 1024u));
		return rc;
	}
	if (raw_len == 0) {
		free(raw);
		return err_set(err, DOSSIER_EEMPTY, "%s: the file is empty (0 bytes): nothing to analyse", doc->path);
	}
	enum text_format fmt = format_of(doc);
	rc = text_normalize(raw, raw_len, fmt, &text, &len, &title, enc, err);
	free(raw);
	if (rc) {
		err_prefix(err, "%s: ", doc->path);
		return rc;
	}
	json_t *o = json_pack("{s:s%,s:s,s:s}", "text", text, len, "encoding", enc, "format", format_name(fmt));
	if (title)
		json_object_set_new(o, "title", json_string(title));
	free(text);
	free(title);
	*result = o;
	return 0;
}

STEP_FN(step_run_extract_plain)
{
	return extract_plain(env, doc, result, err);
}

/* -------------------------------------------------------- analyze_text */

int step_analyze_offline(const char *text, size_t len, const char *title_hint, json_t **result,
                         struct err *err)
{
	struct offline_params p;
	offline_params_default(&p);
	return offline_analyze(text, len, title_hint, &p, result, err);
}

/* 1 if the document's pipeline has a step of this kind. */
static int has_step(const struct step_rec *steps, size_t n, const char *kind)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(steps[i].kind, kind))
			return 1;
	return 0;
}

/* A title from a file's name: its last component without the extension,
 * separators as spaces, the first letter upper case ("harbour-tour.mp4" ->
 * "Harbour tour"). NULL when nothing with a letter is left. */
static const char *file_title(const char *path, char *out, size_t n)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	size_t len = dot && dot > base ? (size_t)(dot - base) : strlen(base);
	if (len >= n)
		len = n - 1;
	int letters = 0;
	for (size_t i = 0; i < len; i++) {
		char c = base[i];
		out[i] = c == '_' || c == '-' || c == '.' ? ' ' : c;
		letters |= ((unsigned char)c | 32) >= 'a' && ((unsigned char)c | 32) <= 'z';
	}
	out[len] = '\0';
	if (!letters)
		return NULL;
	if (out[0] >= 'a' && out[0] <= 'z')
		out[0] = (char)(out[0] - 'a' + 'A');
	return out;
}

STEP_FN(step_run_analyze_text)
{
	const char *hint;
	char *title_owned;
	int uncertain = 0;
	char *text = step_input_text(steps, n, &hint, &title_owned, &uncertain);
	size_t len = strlen(text);
	int rc;
	int media = has_step(steps, n, "transcribe");
	if (len == 0 && media) {
		/* silence is a fact about the recording, not a failure: frames still follow */
		*result = json_pack("{s:s}", "note", "no speech was recognised");
		rc = 0;
	} else if (len == 0) {
		rc = err_set(err, DOSSIER_EEMPTY, "%s: no text was found to analyse%s", doc->path,
		             has_step(steps, n, "extract_text") && has_step(steps, n, "ocr")
		                     ? " (the pages have no text layer and OCR found no text either)"
		                     : "");
	} else if (env->offline_models || !env->llm) {
		rc = step_analyze_offline(text, len, hint, result, err);
		if (!rc && !env->offline_models)
			json_object_set_new(*result, "fallback_reason", json_string("no LLM backend configured"));
	} else {
		rc = step_analyze_llm(env, doc, step, text, len, hint, result, err);
	}
	if (rc == 0 && uncertain && *result) {
		/* the recogniser was unsure of every word: say so, and for a
		 * recording with nothing on screen, let its file name be the title */
		json_object_set_new(*result, "uncertain_speech", json_true());
		if (!has_step(steps, n, "sample_frames")) {
			char name[160];
			if (file_title(doc->path, name, sizeof name)) {
				json_object_set_new(*result, "title", json_string(name));
				json_t *src = json_object_get(*result, "sources");
				if (json_is_object(src))
					json_object_set_new(src, "title", json_string("file name"));
			}
		}
	}
	free(text);
	free(title_owned);
	return rc;
}

/* ------------------------------------------------------------ dispatch */

int pipeline_run_step(struct step_env *env, const struct doc_rec *doc, const struct step_rec *step,
                      const struct step_rec *steps, size_t n, json_t **result, struct err *err)
{
	*result = NULL;
	const struct kind_def *k = kind_find(doc->kind);
	if (!k || step->idx < 0 || (size_t)step->idx >= k->n_steps || strcmp(k->steps[step->idx].kind, step->kind))
		return err_set(err, DOSSIER_EUNSUPPORTED,
		               "%s: step %d '%s' is not part of the %s pipeline of this dossier (a database from "
		               "another version?): run `dossier analyze` on the file again",
		               doc->path, step->idx, step->kind, doc->kind);
	int rc = k->run[step->idx](env, doc, step, steps, n, result, err);
	if (!rc && !*result)
		*result = json_object();
	return rc;
}
