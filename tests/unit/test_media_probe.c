/*
 * test_media_probe.c — media_probe on generated files: a normal mp4, one
 * without audio, a rotated one, a truncated one, and things that are not media.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/err.h"
#include "media/audio.h"
#include "media/probe.h"
#include "test_media_fixtures.h"

static int setup(void **state)
{
	(void)state;
	if (!fx_have_ffmpeg())
		return -1;
	if (fx_ffmpeg("-f lavfi -i testsrc=duration=4:size=320x240:rate=25 "
	              "-f lavfi -i sine=frequency=440:duration=4:sample_rate=44100 -ac 2 "
	              "-c:v libx264 -preset ultrafast -c:a aac av.mp4") ||
	    fx_ffmpeg("-f lavfi -i testsrc=duration=2:size=320x240:rate=25 -c:v libx264 -preset ultrafast "
	              "silent.mp4") ||
	    fx_ffmpeg("-f lavfi -i testsrc=duration=1:size=320x240:rate=25 -c:v libx264 -preset ultrafast "
	              "plain.mp4") ||
	    /* the rotate tag only becomes a display matrix when stream-copying */
	    fx_ffmpeg("-i plain.mp4 -c copy -metadata:s:v:0 rotate=90 rotated.mp4"))
		return -1;
	return 0;
}

static void probe_reports_streams_and_duration(void **state)
{
	(void)state;
	struct media_info mi;
	struct err e = {0};
	assert_int_equal(media_probe(fx_path("av.mp4"), &mi, &e), 0);
	assert_true(mi.duration_s > 3.9 && mi.duration_s < 4.2);
	assert_non_null(strstr(mi.container, "mp4"));
	assert_int_equal(mi.has_video, 1);
	assert_int_equal(mi.has_audio, 1);
	assert_string_equal(mi.video_codec, "h264");
	assert_int_equal(mi.width, 320);
	assert_int_equal(mi.height, 240);
	assert_true(mi.fps > 24.9 && mi.fps < 25.1);
	assert_int_equal(mi.rotation, 0);
	assert_string_equal(mi.audio_codec, "aac");
	assert_int_equal(mi.sample_rate, 44100);
	assert_int_equal(mi.channels, 2);
}

static void probe_reports_rotation_and_display_size(void **state)
{
	(void)state;
	struct media_info mi;
	struct err e = {0};
	assert_int_equal(media_probe(fx_path("rotated.mp4"), &mi, &e), 0);
	/* FFmpeg 5.1 turns rotate=90 into a matrix that its CLI shows with transpose=cclock,
	 * i.e. 270 degrees clockwise; either way the displayed picture is portrait */
	assert_true(mi.rotation == 90 || mi.rotation == 270);
	assert_int_equal(mi.width, 320);
	assert_int_equal(mi.display_width, 240);
	assert_int_equal(mi.display_height, 320);
}

static void video_without_audio_probes_and_audio_open_says_so(void **state)
{
	(void)state;
	struct media_info mi;
	struct err e = {0};
	assert_int_equal(media_probe(fx_path("silent.mp4"), &mi, &e), 0);
	assert_int_equal(mi.has_video, 1);
	assert_int_equal(mi.has_audio, 0);
	assert_string_equal(mi.audio_codec, "");

	audio_reader *r = NULL;
	assert_int_equal(audio_open(fx_path("silent.mp4"), 16000, &r, &e), DOSSIER_ENOTFOUND);
	assert_null(r);
	assert_non_null(strstr(e.msg, "has no audio stream"));
	assert_non_null(strstr(e.msg, "silent.mp4"));
}

static void truncated_mp4_is_a_clear_format_error(void **state)
{
	(void)state;
	size_t n;
	unsigned char *p = fx_read("av.mp4", &n);
	assert_non_null(p);
	assert_true(n > 20 * 1024);
	fx_write("truncated.mp4", p, 20 * 1024);   /* the moov atom (index) is at the end: gone */
	free(p);

	struct media_info mi;
	struct err e = {0};
	int rc = media_probe(fx_path("truncated.mp4"), &mi, &e);
	if (rc == 0) {
		/* partial read is acceptable only if it still says something true */
		assert_true(mi.has_video || mi.has_audio);
	} else {
		assert_int_equal(rc, DOSSIER_EFORMAT);
		assert_non_null(strstr(e.msg, "truncated.mp4"));
		assert_non_null(strstr(e.msg, "corrupt or truncated"));
	}
}

static void text_renamed_mp4_is_format_error(void **state)
{
	(void)state;
	const char *txt = "These are meeting notes, not a video.\nSecond line.\n";
	fx_write("notes.mp4", txt, strlen(txt));
	struct media_info mi;
	struct err e = {0};
	assert_int_equal(media_probe(fx_path("notes.mp4"), &mi, &e), DOSSIER_EFORMAT);
	assert_non_null(strstr(e.msg, "not a media file FFmpeg can read"));
	assert_non_null(strstr(e.msg, "notes.mp4"));

	audio_reader *r = NULL;
	assert_int_equal(audio_open(fx_path("notes.mp4"), 16000, &r, &e), DOSSIER_EFORMAT);
}

static void missing_and_empty_files(void **state)
{
	(void)state;
	struct media_info mi;
	struct err e = {0};
	assert_int_equal(media_probe(fx_path("no-such-file.mp4"), &mi, &e), DOSSIER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "no-such-file.mp4"));
	fx_write("empty.mp4", "", 0);
	assert_int_equal(media_probe(fx_path("empty.mp4"), &mi, &e), DOSSIER_EFORMAT);
	assert_non_null(strstr(e.msg, "empty"));
	assert_int_equal(media_probe(fx_dir(), &mi, &e), DOSSIER_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(probe_reports_streams_and_duration),
		cmocka_unit_test(probe_reports_rotation_and_display_size),
		cmocka_unit_test(video_without_audio_probes_and_audio_open_says_so),
		cmocka_unit_test(truncated_mp4_is_a_clear_format_error),
		cmocka_unit_test(text_renamed_mp4_is_format_error),
		cmocka_unit_test(missing_and_empty_files),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
