/*
 * test_backends_asr_http.c — the Whisper-over-HTTP engine against a tiny fake
 * OpenAI-style transcription server (libmicrohttpd) run inside the test: the
 * multipart request that arrives (a 16 kHz mono WAV, model, response_format),
 * verbose_json segments, text-only replies, server errors, an unreachable server.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <microhttpd.h>

#include "backends/asr.h"
#include "core/config.h"
#include "core/err.h"
#include "core/util.h"

static char fixdir[4096];
static char media[4200];

/* ---- the fake server ------------------------------------------------------ */

/* What the last request carried. */
static struct {
	char path[256];
	char model[128];
	char format[64];
	char filename[128];
	char content_type[64];
	size_t file_bytes;
	unsigned char head[44];  /* the WAV header */
	int requests;
} seen;

struct conn {
	struct MHD_PostProcessor *pp;
};

static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key,
                                const char *filename, const char *content_type,
                                const char *transfer_encoding, const char *data, uint64_t off,
                                size_t size)
{
	if (!strcmp(key, "file")) {
		if (filename)
			snprintf(seen.filename, sizeof seen.filename, "%s", filename);
		if (content_type)
			snprintf(seen.content_type, sizeof seen.content_type, "%s", content_type);
		for (size_t i = 0; i < size; i++)
			if (off + i < sizeof seen.head)
				seen.head[off + i] = (unsigned char)data[i];
		seen.file_bytes += size;
	} else if (!strcmp(key, "model")) {
		snprintf(seen.model + strlen(seen.model), sizeof seen.model - strlen(seen.model), "%.*s",
		         (int)size, data);
	} else if (!strcmp(key, "response_format")) {
		snprintf(seen.format + strlen(seen.format), sizeof seen.format - strlen(seen.format), "%.*s",
		         (int)size, data);
	}
	return MHD_YES;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *body)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size,
                               void **req_cls)
{
	struct conn *cn = *req_cls;
	if (!cn) {
		cn = calloc(1, sizeof *cn);
		memset(&seen, 0, sizeof seen - sizeof seen.requests);
		snprintf(seen.path, sizeof seen.path, "%s", url);
		cn->pp = MHD_create_post_processor(c, 64 * 1024, on_field, NULL);
		*req_cls = cn;
		return MHD_YES;
	}
	if (*upload_size) {
		if (cn->pp)
			MHD_post_process(cn->pp, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	seen.requests++;
	if (strstr(url, "/fail"))
		return reply(c, 500, "{\"error\":{\"message\":\"model exploded\"}}");
	if (strstr(url, "/garbage"))
		return reply(c, 200, "<html>not json</html>");
	if (strstr(url, "/mangled"))
		/* raw Latin-1 bytes inside the JSON text, and an end past the 2 s of audio */
		return reply(c, 200, "{\"segments\":[{\"start\":0.2,\"end\":1.0,\"text\":\" caf\xe9 au lait\"},"
		                     "{\"start\":1.0,\"end\":27.5,\"text\":\" the end\"}]}");
	if (strstr(url, "/busy"))
		return reply(c, 429, "{\"error\":\"too many requests\"}");
	if (strstr(url, "/german"))
		return reply(c, 200, "{\"language\":\"German\",\"text\":\" Guten Morgen.\"}");
	if (strstr(url, "/text-only"))
		return reply(c, 200, "{\"text\":\" Hello from a text-only server.\"}");
	if (strcmp(url, "/v1/audio/transcriptions") != 0)
		return reply(c, 404, "{\"error\":\"no such route\"}");
	return reply(c, 200,
	             "{\"task\":\"transcribe\",\"language\":\"english\",\"duration\":3.0,"
	             "\"text\":\" Hello there. General Kenobi.\",\"segments\":["
	             "{\"id\":0,\"start\":0.0,\"end\":1.4,\"text\":\" Hello there.\",\"tokens\":[1,2],"
	             "\"avg_logprob\":-0.25,\"no_speech_prob\":0.01},"
	             "{\"id\":1,\"start\":1.4,\"end\":2.9,\"text\":\" General Kenobi.\",\"tokens\":[3]}]}");
}

static void completed(void *cls, struct MHD_Connection *c, void **req_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *req_cls;
	if (cn) {
		if (cn->pp)
			MHD_destroy_post_processor(cn->pp);
		free(cn);
	}
	*req_cls = NULL;
}

static struct MHD_Daemon *server;
static unsigned port;

static int32_t le32(const unsigned char *p)
{
	return (int32_t)(p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
}

static asr_backend *make(const char *path, const char *model)
{
	char url[256];
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
	asr_backend *b = NULL;
	struct err e = {0};
	if (asr_http_new(url, model, &b, &e) != 0)
		fail_msg("asr_http_new: %s", e.msg);
	return b;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_http_multipart_arrives_and_segments_parse(void **state)
{
	(void)state;
	asr_backend *b = make("", "Systran/faster-whisper-small");  /* base URL: path appended */
	assert_int_equal(asr_backend_memory_bytes(b), 0);
	json_t *segs = NULL;
	struct err e = {0};
	if (asr_transcribe_json(b, media, &segs, &e) != 0)
		fail_msg("%s", e.msg);
	assert_string_equal(seen.path, "/v1/audio/transcriptions");
	assert_string_equal(seen.model, "Systran/faster-whisper-small");
	assert_string_equal(seen.format, "verbose_json");
	assert_string_equal(seen.filename, "audio.wav");
	assert_string_equal(seen.content_type, "audio/wav");
	/* A 16 kHz mono 16-bit WAV of the 2 s stereo 44.1 kHz input. */
	assert_memory_equal(seen.head, "RIFF", 4);
	assert_memory_equal(seen.head + 8, "WAVE", 4);
	assert_int_equal(seen.head[22], 1);
	assert_int_equal(le32(seen.head + 24), 16000);
	assert_int_equal(seen.head[34], 16);
	int32_t data = le32(seen.head + 40);
	printf("asr_http: server got %zu bytes of WAV (data %d bytes)\n", seen.file_bytes, data);
	assert_int_equal(seen.file_bytes, 44 + (size_t)data);
	assert_true(data >= 2 * 31000 && data <= 2 * 33000);

	assert_int_equal(json_array_size(segs), 2);
	json_t *s0 = json_array_get(segs, 0), *s1 = json_array_get(segs, 1);
	assert_string_equal(json_string_value(json_object_get(s0, "text")), "Hello there.");
	assert_true(json_number_value(json_object_get(s0, "start")) == 0.0);
	assert_true(json_number_value(json_object_get(s0, "end")) == 1.4);
	double conf = json_number_value(json_object_get(s0, "confidence"));
	assert_true(conf > 0.77 && conf < 0.79);   /* exp(-0.25) */
	assert_string_equal(json_string_value(json_object_get(s1, "text")), "General Kenobi.");
	assert_null(json_object_get(s1, "confidence"));  /* no avg_logprob: unknown */
	assert_string_equal(asr_backend_name(b), "whisper-http:Systran/faster-whisper-small");
	/* the language the server heard, as a code ("english" -> "en") */
	assert_string_equal(asr_backend_language(b), "en");
	json_decref(segs);
	asr_backend_free(b);
}

static void test_http_language_is_what_the_server_said(void **state)
{
	(void)state;
	asr_backend *b = make("/german", NULL);
	json_t *segs = NULL;
	struct err e = {0};
	assert_int_equal(asr_transcribe_json(b, media, &segs, &e), 0);
	assert_string_equal(asr_backend_language(b), "de");
	json_decref(segs);
	segs = NULL;
	asr_backend_free(b);
	/* a reply that names no language: unknown, not "en" */
	b = make("/text-only", NULL);
	assert_int_equal(asr_transcribe_json(b, media, &segs, &e), 0);
	assert_null(asr_backend_language(b));
	json_decref(segs);
	asr_backend_free(b);
	char code[16];
	asr_language_code("fr", code, sizeof code);
	assert_string_equal(code, "fr");
	asr_language_code("Klingon", code, sizeof code);
	assert_string_equal(code, "klingon");
}

static void test_http_text_only_reply_is_one_segment(void **state)
{
	(void)state;
	asr_backend *b = make("/text-only", NULL);
	json_t *segs = NULL;
	struct err e = {0};
	assert_int_equal(asr_transcribe_json(b, media, &segs, &e), 0);
	assert_string_equal(seen.model, "whisper-1");
	assert_int_equal(json_array_size(segs), 1);
	json_t *s = json_array_get(segs, 0);
	assert_string_equal(json_string_value(json_object_get(s, "text")), "Hello from a text-only server.");
	double end = json_number_value(json_object_get(s, "end"));
	assert_true(end > 1.9 && end < 2.1);  /* the audio's own duration */
	json_decref(segs);
	asr_backend_free(b);
}

static void test_http_reply_with_bad_bytes_and_times_is_repaired(void **state)
{
	(void)state;
	json_t *segs = NULL;
	struct err e = {0};
	asr_backend *b = make("/mangled", NULL);
	assert_int_equal(asr_transcribe_json(b, media, &segs, &e), 0);
	assert_int_equal(json_array_size(segs), 2);
	const char *t0 = json_string_value(json_object_get(json_array_get(segs, 0), "text"));
	assert_non_null(t0);
	assert_non_null(strstr(t0, "caf\xef\xbf\xbd au lait")); /* the bad byte replaced, the rest kept */
	double end = json_number_value(json_object_get(json_array_get(segs, 1), "end"));
	assert_true(end > 1.0 && end < 2.2); /* clamped to the audio's duration, not 27.5 */
	json_decref(segs);
	asr_backend_free(b);
}

static void test_http_errors_are_clear(void **state)
{
	(void)state;
	json_t *segs = NULL;
	struct err e = {0};
	asr_backend *b = make("/fail", NULL);
	/* a failing server is transient: retried with backoff, never a hot loop */
	assert_int_equal(asr_transcribe_json(b, media, &segs, &e), DOSSIER_EAGAIN);
	printf("asr_http: %s\n", e.msg);
	assert_non_null(strstr(e.msg, "HTTP 500"));
	assert_non_null(strstr(e.msg, "model exploded"));
	asr_backend_free(b);

	b = make("/busy", NULL);
	assert_int_equal(asr_transcribe_json(b, media, &segs, &e), DOSSIER_EAGAIN);
	assert_non_null(strstr(e.msg, "HTTP 429"));
	asr_backend_free(b);

	/* a wrong path is not "no audio": the documents wait, the message says what to fix */
	b = make("/v2/wrong", NULL);
	assert_int_equal(asr_transcribe_json(b, media, &segs, &e), DOSSIER_EUNAVAILABLE);
	assert_non_null(strstr(e.msg, "HTTP 404"));
	assert_non_null(strstr(e.msg, "/v1/audio/transcriptions"));
	asr_backend_free(b);

	b = make("/garbage", NULL);
	assert_int_equal(asr_transcribe_json(b, media, &segs, &e), DOSSIER_EFORMAT);
	printf("asr_http: %s\n", e.msg);
	asr_backend_free(b);

	/* Nobody listens on port 1. */
	assert_int_equal(asr_http_new("http://127.0.0.1:1/v1/audio/transcriptions", NULL, &b, &e), 0);
	double t0 = clock_mono_s();
	assert_int_equal(asr_transcribe_json(b, media, &segs, &e), DOSSIER_EUNAVAILABLE);
	printf("asr_http: %s (%.2f s)\n", e.msg, clock_mono_s() - t0);
	assert_non_null(strstr(e.msg, "cannot reach the transcription server"));
	assert_null(segs);
	asr_backend_free(b);

	assert_int_equal(asr_http_new("ftp://example.com", NULL, &b, &e), DOSSIER_EINVAL);
	assert_null(b);

	/* No temporary WAV is left behind. */
	char cmd[4400];
	snprintf(cmd, sizeof cmd, "ls '%s' | grep -q dossier-asr", fixdir);
	assert_int_not_equal(system(cmd), 0);
}

static void test_http_chosen_by_config(void **state)
{
	(void)state;
	struct config c;
	config_defaults(&c, "dev");
	asr_backend *b = NULL;
	struct err e = {0};
	assert_int_equal(asr_backend_from_config(&c, &b, &e), 0);
	assert_string_equal(asr_backend_name(b), "pocketsphinx:en-us");
	asr_backend_free(b);
	snprintf(c.transcriber_url, sizeof c.transcriber_url, "http://127.0.0.1:%u/", port);
	assert_int_equal(asr_backend_from_config(&c, &b, &e), 0);
	assert_string_equal(asr_backend_name(b), "whisper-http:whisper-1");
	json_t *segs = NULL;
	assert_int_equal(asr_transcribe_json(b, media, &segs, &e), 0);
	assert_string_equal(seen.path, "/v1/audio/transcriptions");
	assert_int_equal(json_array_size(segs), 2);
	json_decref(segs);
	asr_backend_free(b);

	/* The model can ride on the URL, for servers that need a real one. */
	snprintf(c.transcriber_url, sizeof c.transcriber_url, "http://127.0.0.1:%u?model=Systran/faster-whisper-base.en",
	         port);
	assert_int_equal(asr_backend_from_config(&c, &b, &e), 0);
	assert_int_equal(asr_transcribe_json(b, media, &segs, &e), 0);
	assert_string_equal(seen.path, "/v1/audio/transcriptions");
	assert_string_equal(seen.model, "Systran/faster-whisper-base.en");
	assert_string_equal(asr_backend_name(b), "whisper-http:Systran/faster-whisper-base.en");
	json_decref(segs);
	asr_backend_free(b);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(fixdir, sizeof fixdir, "%s/asrhttp-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fixdir))
		return -1;
	setenv("TMPDIR", fixdir, 1);  /* where the engine writes its temporary WAV */
	snprintf(media, sizeof media, "%s/tone.wav", fixdir);
	char cmd[8400];
	snprintf(cmd, sizeof cmd,
	         "ffmpeg -nostdin -v error -y -f lavfi -i 'sine=frequency=440:sample_rate=44100:duration=2' "
	         "-ac 2 '%s'", media);
	if (system(cmd) != 0)
		return -1;
	server = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	                          handler, NULL, MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
	                          MHD_OPTION_END);
	if (!server)
		return -1;
	port = MHD_get_daemon_info(server, MHD_DAEMON_INFO_BIND_PORT)->port;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	MHD_stop_daemon(server);
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fixdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_http_multipart_arrives_and_segments_parse),
		cmocka_unit_test(test_http_language_is_what_the_server_said),
		cmocka_unit_test(test_http_text_only_reply_is_one_segment),
		cmocka_unit_test(test_http_reply_with_bad_bytes_and_times_is_repaired),
		cmocka_unit_test(test_http_errors_are_clear),
		cmocka_unit_test(test_http_chosen_by_config),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
