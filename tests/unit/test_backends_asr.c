/*
 * test_backends_asr.c — (ctest: slow) the embedded recogniser (pocketsphinx en-us): word
 * error rate on real read speech (LibriVox recordings from Debian's
 * pocketsphinx-testdata) and on espeak-ng sentences, segment timing on an MP4,
 * silence, cancellation, a missing model, memory reporting.
 *
 * The WER figures are printed; the bounds are the measured values plus slack
 * (docs/speech.md).
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

#include "backends/asr.h"
#include "core/err.h"
#include "core/util.h"

#define TESTDATA "/usr/share/pocketsphinx/test/data"
#define LIBRIVOX TESTDATA "/librivox"

static char fixdir[4096];
static asr_backend *g_asr;   /* loaded once, shared by the tests (as the asr lane does) */

static const char *const librivox_ids[] = {
	"sense_and_sensibility_01_austen_64kb-0870", "sense_and_sensibility_01_austen_64kb-0880",
	"sense_and_sensibility_01_austen_64kb-0890", "sense_and_sensibility_01_austen_64kb-0920",
	"sense_and_sensibility_01_austen_64kb-0930",
};

/* ---- helpers -------------------------------------------------------------- */

static char *fixture(const char *name)
{
	return path_join(fixdir, name);
}

/* Joins the segments' text with spaces (caller frees). */
static char *joined(json_t *segs)
{
	size_t i, n = 1;
	json_t *s;
	json_array_foreach(segs, i, s) n += strlen(json_string_value(json_object_get(s, "text"))) + 1;
	char *out = calloc(1, n);
	json_array_foreach(segs, i, s) {
		if (*out)
			strcat(out, " ");
		strcat(out, json_string_value(json_object_get(s, "text")));
	}
	return out;
}

/* The reference line for id in the testdata transcription file (caller frees). */
static char *librivox_reference(const char *id)
{
	char *all = NULL;
	size_t n;
	assert_int_equal(file_read_all(LIBRIVOX "/transcription", 1 << 20, &all, &n, NULL), 0);
	char *line = strtok(all, "\n"), *found = NULL;
	for (; line; line = strtok(NULL, "\n")) {
		if (!strstr(line, id))
			continue;
		char *s = strstr(line, "<s>"), *e = strstr(line, "</s>");
		assert_non_null(s);
		assert_non_null(e);
		*e = '\0';
		found = xstrdup(s + 3);
		break;
	}
	free(all);
	assert_non_null(found);
	return found;
}

static double transcribe_text(const char *path, char **text, int *nsegs)
{
	json_t *segs = NULL;
	struct err e = {0};
	double t0 = clock_mono_s();
	int rc = asr_transcribe_json(g_asr, path, &segs, &e);
	double dt = clock_mono_s() - t0;
	if (rc != 0)
		fail_msg("transcribe %s: %s", path, e.msg);
	*text = joined(segs);
	if (nsegs)
		*nsegs = (int)json_array_size(segs);
	json_decref(segs);
	return dt;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_asr_librivox_word_error_rate(void **state)
{
	(void)state;
	int errs = 0, words = 0;
	double audio_s = 0, cpu_s = 0;
	for (size_t i = 0; i < sizeof librivox_ids / sizeof *librivox_ids; i++) {
		char path[512], *hyp;
		snprintf(path, sizeof path, "%s/%s.wav", LIBRIVOX, librivox_ids[i]);
		char *ref = librivox_reference(librivox_ids[i]);
		cpu_s += transcribe_text(path, &hyp, NULL);
		int e, w;
		asr_word_error_rate(ref, hyp, &e, &w);
		printf("asr: REF %s\n     HYP %s\n", ref, hyp);
		errs += e, words += w;
		uint64_t bytes = 0;
		char *raw = NULL;
		size_t n;
		if (file_read_all(path, 4 << 20, &raw, &n, NULL) == 0)
			bytes = n - 44;
		free(raw);
		audio_s += (double)bytes / 32000.0;
		free(ref);
		free(hyp);
	}
	double wer = (double)errs / words;
	printf("asr: LibriVox (5 utterances, %.1f s): WER %.1f%% (%d/%d), RTF %.2f\n", audio_s,
	       100 * wer, errs, words, cpu_s / audio_s);
	assert_true(words == 71);
	assert_true(wer <= 0.35);   /* measured 28.2 % */
}

static void test_asr_goforward_is_exact(void **state)
{
	(void)state;
	char *wav = fixture("goforward.wav"), *hyp, cmd[8400];
	snprintf(cmd, sizeof cmd,
	         "ffmpeg -nostdin -v error -y -f s16le -ar 16000 -ac 1 -i %s/goforward.raw '%s'", TESTDATA, wav);
	assert_int_equal(system(cmd), 0);
	transcribe_text(wav, &hyp, NULL);
	printf("asr: goforward.raw -> \"%s\"\n", hyp);
	assert_true(asr_word_error_rate("go forward ten meters", hyp, NULL, NULL) <= 0.25);
	free(hyp);
	free(wav);
}

static void test_asr_espeak_word_error_rate(void **state)
{
	(void)state;
	char *list = fixture("espeak.txt"), *all = NULL;
	size_t n;
	assert_int_equal(file_read_all(list, 1 << 16, &all, &n, NULL), 0);
	int errs = 0, words = 0, k = 1;
	for (char *line = strtok(all, "\n"); line; line = strtok(NULL, "\n"), k++) {
		char name[32], *hyp;
		snprintf(name, sizeof name, "espeak%d.wav", k);
		char *wav = fixture(name);
		transcribe_text(wav, &hyp, NULL);
		int e, w;
		asr_word_error_rate(line, hyp, &e, &w);
		printf("asr: REF %s\n     HYP %s\n", line, hyp);
		errs += e, words += w;
		free(hyp);
		free(wav);
	}
	double wer = (double)errs / words;
	printf("asr: espeak-ng en-us (%d sentences): WER %.1f%% (%d/%d)\n", k - 1, 100 * wer, errs, words);
	assert_int_equal(k - 1, 8);
	assert_true(wer <= 0.85);   /* measured 78.0 % */
	free(all);
	free(list);
}

/* The five recordings joined with 1 s pauses into an MP4 (AAC): one segment
 * per utterance, each starting where the recording was placed. */
static void test_asr_mp4_segments_follow_the_speech(void **state)
{
	(void)state;
	char *mp4 = fixture("librivox.mp4");
	json_t *segs = NULL;
	struct err e = {0};
	double t0 = clock_mono_s();
	if (asr_transcribe_json(g_asr, mp4, &segs, &e) != 0)
		fail_msg("%s", e.msg);
	double dt = clock_mono_s() - t0;
	/* Where each recording starts in the joined file. */
	double starts[5], offset = 0, total = 0;
	for (int i = 0; i < 5; i++) {
		char path[512], *raw = NULL;
		size_t n;
		snprintf(path, sizeof path, "%s/%s.wav", LIBRIVOX, librivox_ids[i]);
		assert_int_equal(file_read_all(path, 4 << 20, &raw, &n, NULL), 0);
		free(raw);
		starts[i] = offset;
		offset += (double)(n - 44) / 32000.0 + 1.0;
	}
	total = offset;
	size_t i;
	json_t *s;
	double prev_end = 0;
	int matched[5] = {0};
	json_array_foreach(segs, i, s) {
		double st = json_number_value(json_object_get(s, "start"));
		double en = json_number_value(json_object_get(s, "end"));
		printf("asr: [%6.2f - %6.2f] %s\n", st, en, json_string_value(json_object_get(s, "text")));
		assert_true(st >= prev_end - 0.01);
		assert_true(en > st);
		assert_true(en <= total + 0.1);
		prev_end = en;
		for (int k = 0; k < 5; k++)
			if (st >= starts[k] && st <= starts[k] + 0.6)
				matched[k] = 1;
	}
	char *hyp = joined(segs);
	char ref[2048] = "";
	for (int k = 0; k < 5; k++) {
		char *r = librivox_reference(librivox_ids[k]);
		strcat(ref, r);
		strcat(ref, " ");
		free(r);
	}
	int errs, words;
	double wer = asr_word_error_rate(ref, hyp, &errs, &words);
	printf("asr: MP4/AAC %.1f s, %zu segments: WER %.1f%% (%d/%d), %.2f s (RTF %.2f)\n", total,
	       json_array_size(segs), 100 * wer, errs, words, dt, dt / total);
	for (int k = 0; k < 5; k++)
		if (!matched[k])
			fail_msg("no segment starts near %.2f s, where utterance %d begins", starts[k], k + 1);
	assert_true(json_array_size(segs) >= 5 && json_array_size(segs) <= 10);
	assert_true(wer <= 0.35);   /* measured 26.8 % */
	free(hyp);
	json_decref(segs);
	free(mp4);
}

static void test_asr_silence_gives_no_segments(void **state)
{
	(void)state;
	char *wav = fixture("silence.wav");
	json_t *segs = NULL;
	struct err e = {0};
	assert_int_equal(asr_transcribe_json(g_asr, wav, &segs, &e), 0);
	assert_non_null(segs);
	assert_int_equal(json_array_size(segs), 0);
	json_decref(segs);
	free(wav);
}

static int stop_at_first(const struct asr_segment *seg, void *user)
{
	(*(int *)user)++;
	return 1;
}

static void test_asr_cancel_stops_transcription(void **state)
{
	(void)state;
	char *mp4 = fixture("librivox.mp4");
	struct err e = {0};
	int calls = 0;
	assert_int_equal(asr_transcribe(g_asr, mp4, stop_at_first, &calls, NULL, &e), DOSSIER_ECANCELLED);
	assert_int_equal(calls, 1);
	volatile int cancel = 1;
	calls = 0;
	assert_int_equal(asr_transcribe(g_asr, mp4, stop_at_first, &calls, &cancel, &e), DOSSIER_ECANCELLED);
	assert_int_equal(calls, 0);
	/* Still usable afterwards. */
	char *hyp;
	char path[512];
	snprintf(path, sizeof path, "%s/%s.wav", LIBRIVOX, librivox_ids[1]);
	transcribe_text(path, &hyp, NULL);
	assert_true(strlen(hyp) > 0);
	free(hyp);
	free(mp4);
}

static void test_asr_errors_name_the_fix(void **state)
{
	(void)state;
	asr_backend *b = NULL;
	struct err e = {0};
	/* Construction is lazy: a wrong model directory fails at first use. */
	assert_int_equal(asr_pocketsphinx_new("/nonexistent/model", &b, &e), 0);
	assert_false(asr_backend_is_loaded(b));
	json_t *segs = (json_t *)1;
	char *wav = fixture("silence.wav");
	assert_int_equal(asr_transcribe_json(b, wav, &segs, &e), DOSSIER_EMODEL);
	assert_null(segs);
	printf("asr: %s\n", e.msg);
	assert_non_null(strstr(e.msg, "apt-get install pocketsphinx-en-us"));
	asr_backend_free(b);
	/* A file with no audio stream. */
	char *txt = fixture("espeak.txt");
	assert_int_not_equal(asr_transcribe_json(g_asr, txt, &segs, &e), 0);
	printf("asr: %s\n", e.msg);
	asr_backend_free(NULL);
	free(txt);
	free(wav);
}

static void test_asr_memory_is_reported(void **state)
{
	(void)state;
	asr_backend *b = NULL;
	struct err e = {0};
	assert_int_equal(asr_pocketsphinx_new(NULL, &b, &e), 0);
	uint64_t predicted = asr_backend_memory_bytes(b);
	double t0 = clock_mono_s();
	assert_int_equal(asr_backend_open(b, &e), 0);
	double dt = clock_mono_s() - t0;
	uint64_t resident = asr_backend_memory_bytes(b);
	printf("asr: predicted before load %.1f MB, RSS added at load %.1f MB, load %.2f s\n",
	       predicted / 1e6, resident / 1e6, dt);
	assert_true(predicted > 60000000 && predicted < 150000000);
	assert_true(resident > 10000000);
	/* The prediction the planner sees is within a factor 2 of the real cost. */
	assert_true(resident < 2 * predicted && predicted < 2 * resident);
	assert_true(asr_backend_is_loaded(b));
	asr_backend_unload(b);
	assert_false(asr_backend_is_loaded(b));
	assert_string_equal(asr_backend_name(b), "pocketsphinx:en-us");
	asr_backend_free(b);
}

static void test_asr_word_error_rate_counts_edits(void **state)
{
	(void)state;
	int e, w;
	assert_true(asr_word_error_rate("the cat sat", "the cat sat", &e, &w) == 0);
	assert_int_equal(w, 3);
	assert_true(asr_word_error_rate("The cat, sat.", "the bat sat on", &e, &w) > 0.66);
	assert_int_equal(e, 2);  /* one substitution, one insertion */
	assert_true(asr_word_error_rate("a b c d", "", &e, &w) == 1.0);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(fixdir, sizeof fixdir, "%s/asr-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fixdir))
		return -1;
	char cmd[8400];
	snprintf(cmd, sizeof cmd, "sh '%s/tests/fixtures/speech_fixtures.sh' speech '%s'", DOSSIER_SOURCE_DIR, fixdir);
	if (system(cmd) != 0)
		return -1;
	struct err e = {0};
	return asr_pocketsphinx_new(NULL, &g_asr, &e);
}

static int teardown(void **state)
{
	(void)state;
	asr_backend_free(g_asr);
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fixdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_asr_word_error_rate_counts_edits),
		cmocka_unit_test(test_asr_librivox_word_error_rate),
		cmocka_unit_test(test_asr_goforward_is_exact),
		cmocka_unit_test(test_asr_espeak_word_error_rate),
		cmocka_unit_test(test_asr_mp4_segments_follow_the_speech),
		cmocka_unit_test(test_asr_silence_gives_no_segments),
		cmocka_unit_test(test_asr_cancel_stops_transcription),
		cmocka_unit_test(test_asr_errors_name_the_fix),
		cmocka_unit_test(test_asr_memory_is_reported),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
