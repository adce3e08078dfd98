/* (ctest: slow)
 * test_media_audio.c — audio_open/audio_read decode every common container to
 * 16 kHz mono S16 with the right length and pitch, and stream a 30-minute file
 * in constant memory (slow_* test: about 10 s).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>

#include "core/err.h"
#include "media/audio.h"
#include "test_media_fixtures.h"

#if defined(__SANITIZE_ADDRESS__)
/* ASan keeps freed blocks in a 256 MB quarantine by default, which would read as
 * RSS growth in the constant-memory test; a small one keeps that test meaningful. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=4";
}
#endif

struct stats {
	size_t samples;
	int peak;
	size_t crossings;   /* sign changes, ~2 x frequency x seconds for a sine */
	int calls;
	int rc;             /* last audio_read return code */
};

static struct stats decode_all(const char *name, size_t block)
{
	struct stats st = {0};
	struct err e = {0};
	audio_reader *r = NULL;
	int16_t *pcm = malloc(block * sizeof *pcm);
	int prev = 0;

	assert_non_null(pcm);
	int rc = audio_open(fx_path(name), 16000, &r, &e);
	if (rc)
		fail_msg("%s: %s", name, e.msg);
	for (;;) {
		size_t got = 0;
		st.rc = audio_read(r, pcm, block, &got, &e);
		st.calls++;
		if (st.rc != 0 || got == 0)
			break;
		assert_true(got <= block);
		for (size_t i = 0; i < got; i++) {
			int v = pcm[i];
			if (abs(v) > st.peak)
				st.peak = abs(v);
			int sign = v > 200 ? 1 : v < -200 ? -1 : 0;   /* hysteresis against noise */
			if (sign && prev && sign != prev)
				st.crossings++;
			if (sign)
				prev = sign;
		}
		st.samples += got;
	}
	audio_close(r);
	free(pcm);
	return st;
}

static int setup(void **state)
{
	(void)state;
	if (!fx_have_ffmpeg())
		return -1;
	const char *src = "-f lavfi -i sine=frequency=440:duration=20:sample_rate=44100 -ac 2";
	if (fx_ffmpeg("%s sine.wav", src) || fx_ffmpeg("%s -c:a libmp3lame sine.mp3", src) ||
	    fx_ffmpeg("%s -c:a libvorbis sine.ogg", src) || fx_ffmpeg("%s -c:a flac sine.flac", src) ||
	    fx_ffmpeg("%s -c:a aac sine.m4a", src) || fx_ffmpeg("%s -c:a libopus sine.opus", src) ||
	    fx_ffmpeg("-f lavfi -i testsrc=duration=20:size=160x120:rate=10 %s -c:v libx264 -preset ultrafast "
	              "-c:a aac sine_video.mp4", src))
		return -1;
	return 0;
}

static void check_sine(const char *name)
{
	struct stats st = decode_all(name, 4096);
	assert_int_equal(st.rc, 0);
	/* 20 s at 16 kHz; codecs add up to a few thousand samples of priming/padding */
	if (st.samples < 316000 || st.samples > 324000)
		fail_msg("%s: %zu samples, expected ~320000", name, st.samples);
	/* ffmpeg's sine source is 1/8 of full scale (4096); `-ac 2` spreads it at -3 dB to
	 * both channels (2896 each) and the mono downmix averages them back to ~2896 */
	if (st.peak < 2600 || st.peak > 3300)
		fail_msg("%s: peak %d, expected ~2896", name, st.peak);
	/* 440 Hz for 20 s: 17600 sign changes if the resampler kept the pitch */
	if (st.crossings < 17400 || st.crossings > 17800)
		fail_msg("%s: %zu zero crossings, expected ~17600", name, st.crossings);
}

static void wav_decodes_to_16k_mono(void **state) { (void)state; check_sine("sine.wav"); }
static void mp3_decodes_to_16k_mono(void **state) { (void)state; check_sine("sine.mp3"); }
static void ogg_vorbis_decodes_to_16k_mono(void **state) { (void)state; check_sine("sine.ogg"); }
static void flac_decodes_to_16k_mono(void **state) { (void)state; check_sine("sine.flac"); }
static void m4a_aac_decodes_to_16k_mono(void **state) { (void)state; check_sine("sine.m4a"); }
static void opus_decodes_to_16k_mono(void **state) { (void)state; check_sine("sine.opus"); }
static void video_soundtrack_decodes_to_16k_mono(void **state) { (void)state; check_sine("sine_video.mp4"); }

static void block_size_does_not_change_the_samples(void **state)
{
	(void)state;
	struct stats a = decode_all("sine.flac", 1);
	struct stats b = decode_all("sine.flac", 100000);
	assert_int_equal(a.samples, b.samples);
	assert_int_equal(a.crossings, b.crossings);
	assert_true(b.calls < 10);
}

static void duration_and_rate_are_reported(void **state)
{
	(void)state;
	struct err e = {0};
	audio_reader *r;
	assert_int_equal(audio_open(fx_path("sine.mp3"), 8000, &r, &e), 0);
	assert_true(fabs(audio_duration_s(r) - 20.0) < 0.2);
	int16_t pcm[1024];
	size_t got, total = 0;
	while (audio_read(r, pcm, 1024, &got, &e) == 0 && got > 0)
		total += got;
	audio_close(r);
	assert_true(total > 158000 && total < 162000);   /* 20 s at 8 kHz */
	assert_int_equal(audio_open(fx_path("sine.mp3"), 0, &r, &e), DOSSIER_EINVAL);
	audio_close(NULL);
}

static void truncated_file_returns_what_it_has(void **state)
{
	(void)state;
	size_t n = 0;
	unsigned char *p = fx_read("sine.mp3", &n);
	assert_non_null(p);
	fx_write("half.mp3", p, n / 2);
	free(p);
	struct stats st = decode_all("half.mp3", 4096);
	assert_true(st.rc == 0 || st.rc == DOSSIER_EFORMAT);
	assert_true(st.samples > 150000 && st.samples < 170000);
}

static void slow_thirty_minutes_stream_in_constant_memory(void **state)
{
	(void)state;
	if (!fx_exists("long.mp3") &&
	    fx_ffmpeg("-f lavfi -i sine=frequency=440:duration=1800:sample_rate=22050 -ac 1 "
	              "-c:a libmp3lame -b:a 32k long.mp3"))
		fail_msg("could not generate the 30-minute fixture");
	/* reset the peak-RSS mark so earlier tests do not hide our growth */
	FILE *cr = fopen("/proc/self/clear_refs", "w");
	if (cr) {
		fputs("5", cr);
		fclose(cr);
	}
	long before = fx_vmhwm_kb();
	double t0 = fx_now();
	struct stats st = decode_all("long.mp3", 4096);
	double secs = fx_now() - t0;
	long after = fx_vmhwm_kb();
	assert_int_equal(st.rc, 0);
	assert_true(st.samples > 1800 * 16000 - 16000 && st.samples < 1800 * 16000 + 16000);
	print_message("30 min mp3 -> %zu samples in %.2f s; peak RSS %ld kB -> %ld kB (growth %ld kB)\n",
	              st.samples, secs, before, after, after - before);
	assert_true(before > 0 && after > 0);
	assert_true(after - before < 30 * 1024);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(wav_decodes_to_16k_mono),
		cmocka_unit_test(mp3_decodes_to_16k_mono),
		cmocka_unit_test(ogg_vorbis_decodes_to_16k_mono),
		cmocka_unit_test(flac_decodes_to_16k_mono),
		cmocka_unit_test(m4a_aac_decodes_to_16k_mono),
		cmocka_unit_test(opus_decodes_to_16k_mono),
		cmocka_unit_test(video_soundtrack_decodes_to_16k_mono),
		cmocka_unit_test(block_size_does_not_change_the_samples),
		cmocka_unit_test(duration_and_rate_are_reported),
		cmocka_unit_test(truncated_file_returns_what_it_has),
		cmocka_unit_test(slow_thirty_minutes_stream_in_constant_memory),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
