/*
 * asr_http.c — Whisper over HTTP: any server speaking OpenAI's
 * POST /v1/audio/transcriptions (whisper.cpp's server, speaches, LocalAI, ...).
 *
 * The audio track is decoded to 16 kHz mono S16 (audio_open) into a temporary
 * WAV file, sent as multipart `file` with `model` and
 * `response_format=verbose_json` through the shared transport (http.c), and
 * the reply's segments[] (or, failing that, its text) become asr segments.
 */
#include "backends/asr.h"
#include "backends/http.h"
#include "core/util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "media/audio.h"

#define RATE 16000
#define ENDPOINT "/v1/audio/transcriptions"

struct whisper {
	char url[1024];          /* full endpoint */
	char model[128];         /* `model` form field */
	long connect_timeout_ms; /* TCP connect */
	char language[32];       /* what the last reply said ("" = nothing) */
};

/* ---- open ----------------------------------------------------------------- */

static int http_open(const struct config *cfg, const char *where, void **ctx, struct err *err)
{
	*ctx = NULL;
	if (!where || !*where)
		return err_set(err, DOSSIER_EINVAL, "no transcriber URL given");
	struct whisper *w = calloc(1, sizeof *w);
	if (!w)
		return err_set(err, DOSSIER_ENOMEM, "out of memory");
	snprintf(w->model, sizeof w->model, "%s",
	         cfg && cfg->models[ROLE_ASR].name[0] ? cfg->models[ROLE_ASR].name : "whisper-1");
	/* "...?model=NAME" chooses the model from the URL alone (the query is not sent). */
	char base[1024];
	snprintf(base, sizeof base, "%s", where);
	char *query = strchr(base, '?');
	if (query) {
		*query++ = '\0';
		for (char *kv = strtok(query, "&"); kv; kv = strtok(NULL, "&"))
			if (!strncmp(kv, "model=", 6) && kv[6])
				snprintf(w->model, sizeof w->model, "%s", kv + 6);
	}
	/* A bare base URL ("http://host:8080" or ".../") gets the OpenAI path. */
	const char *scheme_end = strstr(base, "://");
	const char *path = scheme_end ? strchr(scheme_end + 3, '/') : NULL;
	size_t n = strlen(base);
	if (!path || !strcmp(path, "/"))
		snprintf(w->url, sizeof w->url, "%.*s%s", (int)(path ? n - 1 : n), base, ENDPOINT);
	else
		snprintf(w->url, sizeof w->url, "%s", base);
	w->connect_timeout_ms = cfg && cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 5000;
	http_global_init();
	*ctx = w;
	return 0;
}

static void http_close(void *ctx)
{
	free(ctx);
}

static uint64_t http_memory_bytes(void *ctx)
{
	(void)ctx;
	return 0;  /* the model lives in the server's memory, not ours */
}

/* ---- WAV ------------------------------------------------------------------ */

static void le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xff, p[1] = (v >> 8) & 0xff, p[2] = (v >> 16) & 0xff, p[3] = v >> 24;
}

static void wav_header(unsigned char h[44], uint32_t data_bytes)
{
	memcpy(h, "RIFF", 4);
	le32(h + 4, 36 + data_bytes);
	memcpy(h + 8, "WAVEfmt ", 8);
	le32(h + 16, 16);
	h[20] = 1, h[21] = 0;            /* PCM */
	h[22] = 1, h[23] = 0;            /* mono */
	le32(h + 24, RATE);
	le32(h + 28, RATE * 2);
	h[32] = 2, h[33] = 0;            /* block align */
	h[34] = 16, h[35] = 0;           /* bits */
	memcpy(h + 36, "data", 4);
	le32(h + 40, data_bytes);
}

/* Decodes media_path into a 16 kHz mono WAV at tmp (open fd). */
static int write_wav(const char *media_path, FILE *f, double *duration_s, volatile int *cancel,
                     struct err *err)
{
	audio_reader *ar;
	int rc = audio_open(media_path, RATE, &ar, err);
	if (rc != 0)
		return rc;
	unsigned char h[44];
	wav_header(h, 0);
	uint64_t samples = 0;
	int16_t pcm[8192];
	unsigned char le[2 * 8192];
	if (fwrite(h, 1, sizeof h, f) != sizeof h)
		goto io;
	for (;;) {
		if (cancel && *cancel) {
			audio_close(ar);
			return err_set(err, DOSSIER_ECANCELLED, "transcription of %s cancelled", media_path);
		}
		size_t got = 0;
		rc = audio_read(ar, pcm, 8192, &got, err);
		if (rc != 0 || got == 0)
			break;
		for (size_t i = 0; i < got; i++)
			le[2 * i] = (unsigned char)(pcm[i] & 0xff), le[2 * i + 1] = (unsigned char)((uint16_t)pcm[i] >> 8);
		if (fwrite(le, 2, got, f) != got)
			goto io;
		samples += got;
		if (samples * 2 > 0xffffffffu - 64) {
			audio_close(ar);
			return err_set(err, DOSSIER_ETOOBIG,
			               "%s: the audio is longer than a WAV file can hold (37 hours)", media_path);
		}
	}
	audio_close(ar);
	if (rc != 0)
		return rc;
	wav_header(h, (uint32_t)(samples * 2));
	if (fseek(f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, f) != sizeof h || fflush(f) != 0)
		goto io_closed;
	*duration_s = (double)samples / RATE;
	return 0;
io:
	audio_close(ar);
io_closed:
	return err_set(err, DOSSIER_EIO, "cannot write the temporary WAV for %s: %s", media_path,
	               strerror(errno));
}

/* ---- HTTP ----------------------------------------------------------------- */

/* A short, single-line excerpt of a server's reply for error messages. */
static void excerpt(const char *body, char *out, size_t n)
{
	size_t o = 0;
	for (; body && *body && o + 1 < n && o < 200; body++)
		out[o++] = (*body == '\n' || *body == '\r') ? ' ' : *body;
	out[o] = '\0';
}

/* POSTs the WAV as multipart form through the shared transport (http.c); on
 * success *res holds the reply body (CAP_ASR_REPLY at most). The caller frees
 * res with http_result_free. No first-byte deadline: a server transcribes the
 * whole file before it answers. */
static int post(struct whisper *w, const char *wav_path, volatile int *cancel, struct http_result *res,
                struct err *err)
{
	const struct http_form_part form[] = {
		{.name = "file", .file = wav_path, .filename = "audio.wav", .type = "audio/wav"},
		{.name = "model", .value = w->model},
		{.name = "response_format", .value = "verbose_json"},
	};
	struct http_request rq;
	http_request_default(&rq);
	rq.url = w->url;
	rq.form = form;
	rq.n_form = sizeof form / sizeof form[0];
	rq.connect_timeout_ms = (int)w->connect_timeout_ms;
	rq.cancel = cancel;
	rq.use_proxy = 1; /* a transcription server may well be remote */
	rq.body_cap = CAP_ASR_REPLY;
	int rc = http_run(&rq, res, err);
	switch (rc ? res->fail : HTTP_FAIL_NONE) {
	case HTTP_FAIL_NONE:
		break;
	case HTTP_FAIL_CANCEL:
		return err_set(err, DOSSIER_ECANCELLED, "transcription cancelled");
	case HTTP_FAIL_CALLBACK:
		return err_set(err, rc, "the transcription server at %s sent more than %u bytes", w->url,
		               (unsigned)CAP_ASR_REPLY);
	case HTTP_FAIL_CONNECT:
	case HTTP_FAIL_TIMEOUT:
		return err_set(err, DOSSIER_EUNAVAILABLE,
		               "cannot reach the transcription server at %s (%s): start it, or drop "
		               "--transcriber to use the embedded recogniser",
		               w->url, res->detail);
	default:
		return err_set(err, rc == DOSSIER_ENOMEM ? rc : DOSSIER_EUNAVAILABLE,
		               "the transcription request to %s failed: %s", w->url, res->detail);
	}
	if (res->status != 200) {
		char ex[256];
		excerpt(res->body.data, ex, sizeof ex);
		if (res->status == 404 || res->status == 405)
			/* a wrong URL, not a file without sound: nothing can be transcribed
			 * until the user fixes it, so the documents wait */
			return err_set(err, DOSSIER_EUNAVAILABLE,
			               "the transcription server at %s has no such endpoint (HTTP %ld%s%s%s): give "
			               "--transcriber the server's /v1/audio/transcriptions URL",
			               w->url, res->status, ex[0] ? ": " : "", ex, "");
		/* busy, overloaded or failing: transient, retried with backoff */
		int code = res->status >= 500 || res->status == 429 || res->status == 408 ? DOSSIER_EAGAIN
		                                                                          : DOSSIER_EFORMAT;
		return err_set(err, code, "the transcription server at %s answered HTTP %ld%s%s%s", w->url,
		               res->status, ex[0] ? " (" : "", ex, ex[0] ? ")" : "");
	}
	return 0;
}

/* ---- reply ---------------------------------------------------------------- */

/* Whisper puts a leading space on each segment's text. */
static const char *trim_left(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t')
		s++;
	return s;
}

static int deliver(const char *text, double start, double end, double conf, asr_segment_cb cb, void *user,
                   size_t *total, struct err *err)
{
	text = trim_left(text);
	if (!*text)
		return 0;
	*total += strlen(text) + 1;
	if (*total > CAP_TRANSCRIPT)
		return err_set(err, DOSSIER_ETOOBIG, "the transcript passed the %u-byte cap",
		               (unsigned)CAP_TRANSCRIPT);
	struct asr_segment seg = {start, end, text, conf};
	if (cb(&seg, user) != 0)
		return err_set(err, DOSSIER_ECANCELLED, "transcription stopped by the caller");
	return 0;
}

/* A segment's times within the media: servers report ends past the end. */
static double clamp_time(double t, double duration_s)
{
	if (!(t >= 0))
		return 0;
	return duration_s > 0 && t > duration_s ? duration_s : t;
}

static int parse_reply(struct whisper *w, const char *body, double duration_s, asr_segment_cb cb,
                       void *user, struct err *err)
{
	json_error_t je;
	/* invalid UTF-8 in the text is replaced, not a reason to lose the reply */
	char *repaired = utf8_repair(body ? body : "", body ? strlen(body) : 0);
	json_t *root = json_loads(repaired, 0, &je);
	free(repaired);
	if (!json_is_object(root)) {
		json_decref(root);
		return err_set(err, DOSSIER_EFORMAT,
		               "the transcription server at %s sent a reply that is not a JSON object "
		               "(line %d: %s); is it OpenAI-compatible?",
		               w->url, je.line, je.text);
	}
	size_t total = 0;
	int rc = 0;
	const char *lang = json_string_value(json_object_get(root, "language"));
	if (lang && *lang)
		asr_language_code(lang, w->language, sizeof w->language);
	else
		w->language[0] = '\0';
	json_t *segs = json_object_get(root, "segments");
	if (json_is_array(segs) && json_array_size(segs) > 0) {
		size_t i;
		json_t *s;
		json_array_foreach(segs, i, s) {
			const char *text = json_string_value(json_object_get(s, "text"));
			json_t *st = json_object_get(s, "start"), *en = json_object_get(s, "end");
			if (!text || !json_is_number(st) || !json_is_number(en)) {
				rc = err_set(err, DOSSIER_EFORMAT,
				             "the transcription server at %s sent segment %zu without text/start/end",
				             w->url, i);
				break;
			}
			json_t *lp = json_object_get(s, "avg_logprob");
			double conf = json_is_number(lp) ? exp(json_number_value(lp)) : -1;
			if (conf > 1)
				conf = 1;
			double t0 = clamp_time(json_number_value(st), duration_s);
			double t1 = clamp_time(json_number_value(en), duration_s);
			rc = deliver(text, t0, t1 < t0 ? t0 : t1, conf, cb, user, &total, err);
			if (rc != 0)
				break;
		}
	} else {
		const char *text = json_string_value(json_object_get(root, "text"));
		if (!text) {
			json_decref(root);
			return err_set(err, DOSSIER_EFORMAT,
			               "the transcription server at %s sent neither segments nor text", w->url);
		}
		json_t *d = json_object_get(root, "duration");
		rc = deliver(text, 0, json_is_number(d) ? json_number_value(d) : duration_s, -1, cb, user,
		             &total, err);
	}
	json_decref(root);
	return rc;
}

static int http_transcribe(void *ctx, const char *media_path, asr_segment_cb cb, void *user,
                           volatile int *cancel, struct err *err)
{
	struct whisper *w = ctx;
	const char *tmpdir = getenv("TMPDIR");
	char wav[4096];
	snprintf(wav, sizeof wav, "%s/dossier-asr-XXXXXX.wav", tmpdir && *tmpdir ? tmpdir : "/tmp");
	int fd = mkstemps(wav, 4);
	if (fd < 0)
		return err_set(err, DOSSIER_EIO, "cannot create a temporary WAV in %s: %s",
		               tmpdir && *tmpdir ? tmpdir : "/tmp", strerror(errno));
	FILE *f = fdopen(fd, "wb");
	if (!f) {
		close(fd);
		unlink(wav);
		return err_set(err, DOSSIER_EIO, "cannot open %s: %s", wav, strerror(errno));
	}
	double duration = 0;
	int rc = write_wav(media_path, f, &duration, cancel, err);
	if (fclose(f) != 0 && rc == 0)
		rc = err_set(err, DOSSIER_EIO, "cannot write %s: %s", wav, strerror(errno));
	struct http_result res = {0};
	if (rc == 0)
		rc = post(w, wav, cancel, &res, err);
	unlink(wav);
	if (rc == 0)
		rc = parse_reply(w, res.body.data, duration, cb, user, err);
	http_result_free(&res);
	return rc;
}

static const char *http_language(void *ctx)
{
	struct whisper *w = ctx;
	return w->language[0] ? w->language : NULL;
}

const struct asr_backend_ops asr_http_ops = {
	.language = http_language,
	.name = "whisper-http",
	.open = http_open,
	.transcribe = http_transcribe,
	.memory_bytes = http_memory_bytes,
	.close = http_close,
};
