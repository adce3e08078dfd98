/*
 * test_media_frames.c — frames_sample on generated videos: cuts found, real
 * timestamps, the cap, aspect ratio, duplicates of a static video dropped, a
 * container that lies about its duration, rotation, cancellation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stb_image.h>

#include "core/err.h"
#include "media/frames.h"
#include "test_media_fixtures.h"

#define MAXF 64

struct got {
	int n;
	double time[MAXF], target[MAXF];
	int scene[MAXF], w[MAXF], h[MAXF];
	double mean[MAXF];          /* mean of all RGB bytes of the decoded JPEG */
	int stop_after;             /* return 1 after this many frames (0 = never) */
	unsigned char *first_rgb;   /* decoded pixels of frame 0 (malloc'd) */
};

static int collect(const struct frame *f, void *user)
{
	struct got *g = user;
	int w, h, c;
	unsigned char *px = stbi_load_from_memory(f->jpeg, (int)f->jpeg_len, &w, &h, &c, 3);
	assert_non_null(px);                 /* every JPEG decodes */
	assert_int_equal(w, f->width);
	assert_int_equal(h, f->height);
	if (g->n < MAXF) {
		double sum = 0;
		for (long i = 0; i < (long)w * h * 3; i++)
			sum += px[i];
		g->time[g->n] = f->time_s;
		g->target[g->n] = f->target_s;
		g->scene[g->n] = f->scene;
		g->w[g->n] = w;
		g->h[g->n] = h;
		g->mean[g->n] = sum / ((double)w * h * 3);
		if (g->n == 0) {
			g->first_rgb = malloc((size_t)w * h * 3);
			memcpy(g->first_rgb, px, (size_t)w * h * 3);
		}
	}
	stbi_image_free(px);
	g->n++;
	return g->stop_after && g->n >= g->stop_after;
}

static int sample(const char *name, const struct frame_params *p, struct got *g, struct err *e)
{
	memset(g, 0, sizeof *g);
	return frames_sample(fx_path(name), p, collect, g, e);
}

static void got_free(struct got *g)
{
	free(g->first_rgb);
	g->first_rgb = NULL;
}

static int setup(void **state)
{
	(void)state;
	if (!fx_have_ffmpeg())
		return -1;
	/* four different sources, cuts at 5, 10 and 15 s */
	if (fx_ffmpeg("-f lavfi -i testsrc=duration=5:size=1280x720:rate=30 "
	              "-f lavfi -i smptebars=duration=5:size=1280x720:rate=30 "
	              "-f lavfi -i testsrc2=duration=5:size=1280x720:rate=30 "
	              "-f lavfi -i rgbtestsrc=duration=5:size=1280x720:rate=30 "
	              "-filter_complex \"[0][1][2][3]concat=n=4:v=1:a=0\" "
	              "-c:v libx264 -preset veryfast -pix_fmt yuv420p cuts.mp4") ||
	    fx_ffmpeg("-f lavfi -i color=c=0x3060a0:size=640x360:rate=10:duration=60 "
	              "-c:v libx264 -preset ultrafast -pix_fmt yuv420p static.mp4") ||
	    /* keyframes exactly every 2 s, none at scene cuts */
	    fx_ffmpeg("-f lavfi -i testsrc=duration=30:size=320x240:rate=30 "
	              "-c:v libx264 -preset ultrafast -g 60 -keyint_min 60 -sc_threshold 0 gop2.mp4") ||
	    fx_ffmpeg("-f lavfi -i testsrc=duration=2:size=320x240:rate=25 -c:v libx264 -preset ultrafast "
	              "-g 25 short.mkv") ||
	    fx_ffmpeg("-f lavfi -i testsrc=duration=1:size=320x240:rate=25 -c:v libx264 -preset ultrafast "
	              "plain.mp4") ||
	    fx_ffmpeg("-i plain.mp4 -c copy -metadata:s:v:0 rotate=90 rotated.mp4") ||
	    fx_ffmpeg("-i rotated.mp4 -frames:v 1 rotated_ref.png") ||
	    fx_ffmpeg("-f lavfi -i sine=duration=2 tone.wav"))
		return -1;

	/* a Matroska file whose Info/Duration (EBML id 0x4489, 8-byte float, ms) claims 10 hours */
	size_t n;
	unsigned char *p = fx_read("short.mkv", &n);
	if (!p)
		return -1;
	unsigned char *d = NULL;
	for (size_t i = 0; i + 11 <= n && i < 4096; i++)
		if (p[i] == 0x44 && p[i + 1] == 0x89 && p[i + 2] == 0x88) {
			d = p + i + 3;
			break;
		}
	if (!d) {
		free(p);
		return -1;
	}
	double ms = 36000.0 * 1000.0;
	uint64_t bits;
	memcpy(&bits, &ms, 8);
	for (int k = 0; k < 8; k++)
		d[k] = (unsigned char)(bits >> (56 - 8 * k));
	fx_write("liar.mkv", p, n);
	free(p);
	return 0;
}

static void check_cuts(enum frames_mode mode)
{
	struct frame_params p;
	struct got g;
	struct err e = {0};
	frame_params_default(&p);
	p.mode = mode;
	assert_int_equal(sample("cuts.mp4", &p, &g, &e), 0);
	assert_true(g.n >= 4 && g.n <= p.max_frames);
	for (int i = 0; i < g.n; i++) {
		assert_true(g.time[i] >= 0 && g.time[i] < 20.0);
		if (i)
			assert_true(g.time[i] > g.time[i - 1]);
		/* 1280x720 is under the 1344 cap: never upscaled, 16:9 kept */
		assert_int_equal(g.w[i], 1280);
		assert_int_equal(g.h[i], 720);
	}
	static const double cuts[] = { 5.0, 10.0, 15.0 };
	for (int c = 0; c < 3; c++) {
		int near = 0;
		for (int i = 0; i < g.n; i++)
			near |= fabs(g.time[i] - cuts[c]) < 0.5;
		if (!near)
			fail_msg("mode %d: no frame within 0.5 s of the cut at %.0f s (%d frames)", mode, cuts[c], g.n);
	}
	got_free(&g);
}

static void cuts_auto_has_a_frame_at_each_cut(void **state) { (void)state; check_cuts(FRAMES_MODE_AUTO); }
static void cuts_keyframes_mode_has_a_frame_at_each_cut(void **state) { (void)state; check_cuts(FRAMES_MODE_KEYFRAMES); }
static void cuts_seek_mode_has_a_frame_at_each_cut(void **state) { (void)state; check_cuts(FRAMES_MODE_SEEK); }

static void full_decode_marks_cuts_as_scenes(void **state)
{
	(void)state;
	struct frame_params p;
	struct got g;
	struct err e = {0};
	frame_params_default(&p);
	p.mode = FRAMES_MODE_FULL;
	p.interval_s = 20;            /* one slot: cuts can only appear as scene frames */
	assert_int_equal(sample("cuts.mp4", &p, &g, &e), 0);
	int scenes = 0;
	for (int i = 0; i < g.n; i++)
		scenes += g.scene[i];
	assert_true(g.n >= 2);
	assert_true(scenes >= 1);
	assert_true(g.time[0] < 0.1);   /* the slot's periodic frame */
	got_free(&g);
}

static void long_side_is_capped_and_aspect_kept(void **state)
{
	(void)state;
	struct frame_params p;
	struct got g;
	struct err e = {0};
	frame_params_default(&p);
	p.max_side = 640;
	assert_int_equal(sample("cuts.mp4", &p, &g, &e), 0);
	assert_true(g.n > 0);
	for (int i = 0; i < g.n; i++) {
		assert_int_equal(g.w[i], 640);
		assert_int_equal(g.h[i], 360);
	}
	got_free(&g);
}

static void max_frames_is_a_hard_cap(void **state)
{
	(void)state;
	struct frame_params p;
	struct got g;
	struct err e = {0};
	frame_params_default(&p);
	p.interval_s = 0.5;
	p.max_frames = 3;
	for (int mode = FRAMES_MODE_AUTO; mode <= FRAMES_MODE_SEEK; mode++) {
		p.mode = mode;
		assert_int_equal(sample("cuts.mp4", &p, &g, &e), 0);
		if (g.n < 1 || g.n > 3)
			fail_msg("mode %d: %d frames with max_frames 3", mode, g.n);
		got_free(&g);
	}
}

static void static_video_yields_one_frame(void **state)
{
	(void)state;
	struct frame_params p;
	struct got g;
	struct err e = {0};
	frame_params_default(&p);
	for (int mode = FRAMES_MODE_AUTO; mode <= FRAMES_MODE_SEEK; mode++) {
		p.mode = mode;
		assert_int_equal(sample("static.mp4", &p, &g, &e), 0);
		if (g.n != 1)
			fail_msg("mode %d: %d frames of a 60 s static video, expected 1", mode, g.n);
		got_free(&g);
	}
	/* with duplicate dropping off, the 60 s at one per 5 s come back */
	p.mode = FRAMES_MODE_AUTO;
	p.dedup_threshold = 0;
	assert_int_equal(sample("static.mp4", &p, &g, &e), 0);
	assert_int_equal(g.n, 12);
	got_free(&g);
}

static void seek_mode_reports_the_real_keyframe_time(void **state)
{
	(void)state;
	struct frame_params p;
	struct got g;
	struct err e = {0};
	frame_params_default(&p);
	p.mode = FRAMES_MODE_SEEK;
	p.interval_s = 3;
	p.dedup_threshold = 0;
	assert_int_equal(sample("gop2.mp4", &p, &g, &e), 0);
	assert_true(g.n >= 8);
	int early = 0;
	for (int i = 0; i < g.n; i++) {
		double k = g.time[i] / 2.0;
		assert_true(fabs(k - round(k)) < 1e-3);            /* a keyframe: every 2 s */
		assert_true(g.time[i] <= g.target[i] + 1e-6);       /* seek lands at or before */
		assert_true(g.target[i] - g.time[i] < 2.0 + 1e-6);
		early |= g.target[i] - g.time[i] > 0.5;
	}
	assert_true(early);   /* some targets (3, 9, ...) fall between keyframes */
	got_free(&g);
}

static void container_lying_about_duration_stays_within_real_video(void **state)
{
	(void)state;
	struct frame_params p;
	struct got g;
	struct err e = {0};
	frame_params_default(&p);
	for (int mode = FRAMES_MODE_AUTO; mode <= FRAMES_MODE_SEEK; mode++) {
		p.mode = mode;
		double t0 = fx_now();
		assert_int_equal(sample("liar.mkv", &p, &g, &e), 0);
		double secs = fx_now() - t0;
		assert_true(g.n >= 1);
		for (int i = 0; i < g.n; i++)
			assert_true(g.time[i] < 2.0);
		if (secs > 10)
			fail_msg("mode %d took %.1f s on a 2 s video claiming 10 h", mode, secs);
		got_free(&g);
	}
}

static void rotation_is_applied_like_the_ffmpeg_cli(void **state)
{
	(void)state;
	struct frame_params p;
	struct got g;
	struct err e = {0};
	frame_params_default(&p);
	assert_int_equal(sample("rotated.mp4", &p, &g, &e), 0);
	assert_true(g.n >= 1);
	assert_int_equal(g.w[0], 240);
	assert_int_equal(g.h[0], 320);
	int w, h, c;
	unsigned char *ref = stbi_load(fx_path("rotated_ref.png"), &w, &h, &c, 3);
	assert_non_null(ref);
	assert_int_equal(w, 240);
	assert_int_equal(h, 320);
	double mad = 0;
	for (long i = 0; i < (long)w * h * 3; i++)
		mad += abs((int)ref[i] - (int)g.first_rgb[i]);
	mad /= (double)w * h * 3;
	stbi_image_free(ref);
	if (mad > 12)
		fail_msg("first frame differs from ffmpeg's autorotated one: mean abs diff %.1f", mad);
	got_free(&g);
}

static void callback_can_cancel(void **state)
{
	(void)state;
	struct got g;
	struct err e = {0};
	memset(&g, 0, sizeof g);
	g.stop_after = 1;
	assert_int_equal(frames_sample(fx_path("cuts.mp4"), NULL, collect, &g, &e), DOSSIER_ECANCELLED);
	assert_int_equal(g.n, 1);
	got_free(&g);
}

static void audio_only_and_non_media_are_refused(void **state)
{
	(void)state;
	struct err e = {0};
	struct got g = {0};
	assert_int_equal(frames_sample(fx_path("tone.wav"), NULL, collect, &g, &e), DOSSIER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "has no video stream"));
	fx_write("notes.mp4", "just text\n", 10);
	assert_int_equal(frames_sample(fx_path("notes.mp4"), NULL, collect, &g, &e), DOSSIER_EFORMAT);
	struct frame_params p;
	frame_params_default(&p);
	p.interval_s = 0;
	assert_int_equal(frames_sample(fx_path("cuts.mp4"), &p, collect, &g, &e), DOSSIER_EINVAL);
	assert_int_equal(g.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cuts_auto_has_a_frame_at_each_cut),
		cmocka_unit_test(cuts_keyframes_mode_has_a_frame_at_each_cut),
		cmocka_unit_test(cuts_seek_mode_has_a_frame_at_each_cut),
		cmocka_unit_test(full_decode_marks_cuts_as_scenes),
		cmocka_unit_test(long_side_is_capped_and_aspect_kept),
		cmocka_unit_test(max_frames_is_a_hard_cap),
		cmocka_unit_test(static_video_yields_one_frame),
		cmocka_unit_test(seek_mode_reports_the_real_keyframe_time),
		cmocka_unit_test(container_lying_about_duration_stays_within_real_video),
		cmocka_unit_test(rotation_is_applied_like_the_ffmpeg_cli),
		cmocka_unit_test(callback_can_cancel),
		cmocka_unit_test(audio_only_and_non_media_are_refused),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
