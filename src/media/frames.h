/*
 * frames.h — pick a few representative frames of a video, as JPEGs.
 *
 *   static int on_frame(const struct frame *f, void *user)
 *   {
 *       save(f->jpeg, f->jpeg_len, f->time_s);   // borrowed: copy what you keep
 *       return 0;                                // non-zero aborts sampling
 *   }
 *   struct frame_params p;
 *   frame_params_default(&p);
 *   frames_sample("talk.mp4", &p, on_frame, NULL, &err);
 *
 * Sampling. The timeline is cut into slots of s = max(interval_s,
 * duration / max_frames) seconds. Each slot yields at most one periodic frame
 * (its first frame) and, while the max_frames cap leaves room beyond one frame
 * per slot, its strongest scene change as an extra frame; when there is no
 * room, the scene change replaces the slot's periodic frame. A periodic frame
 * that looks like the previously emitted one (mean absolute difference of
 * 64x36 grey thumbnails below dedup_threshold) is dropped, so a static video
 * yields one frame. Frames arrive in time order.
 *
 * Scene score: libavfilter's `select=gt(scene,T)` formula,
 * min(mafd, |mafd - previous mafd|) / 100 where mafd is the mean absolute
 * difference (0..255) between consecutive decoded frames, computed on the
 * 64x36 grey thumbnails instead of full frames (decoding dominates the cost).
 *
 * Decode strategy (FRAMES_MODE_AUTO picks by cost):
 *   FULL       every frame is decoded; exact scene changes. Short clips only
 *              (duration x fps x pixels <= FRAMES_FULL_DECODE_PIXELS).
 *   KEYFRAMES  the file is read once, only keyframes are decoded (at most one
 *              per second or per slot/8); scene changes are found between
 *              consecutive keyframes (encoders put keyframes at cuts). Up to
 *              FRAMES_KEYFRAME_MAX_S of stated duration.
 *   SEEK       one backward keyframe seek per slot, first decoded frame taken;
 *              for long files. No extra scene frames; scene_score compares a
 *              frame with the previous sample.
 * Whatever the mode, time_s is the frame's real presentation time (a keyframe
 * seek can land seconds before the target), frames never come from beyond
 * the real end of the stream (a container that states a wrong duration is
 * handled), the video is never held in memory (at most three decoded frames),
 * and the display rotation and sample aspect ratio are applied.
 *
 * Thread safe (separate calls are independent).
 */
#ifndef DOSSIER_MEDIA_FRAMES_H
#define DOSSIER_MEDIA_FRAMES_H

#include <stddef.h>

struct err;

/* Full decode only while duration x fps x width x height stays under this. */
#define FRAMES_FULL_DECODE_PIXELS 1.2e9
/* Keyframe scanning up to this stated duration; longer files are seeked. */
#define FRAMES_KEYFRAME_MAX_S 1800.0

enum frames_mode {
	FRAMES_MODE_AUTO = 0,
	FRAMES_MODE_FULL,
	FRAMES_MODE_KEYFRAMES,
	FRAMES_MODE_SEEK,
};

struct frame_params {
	double interval_s;       /* at most one periodic frame per interval, seconds (default 5) */
	int max_frames;          /* cap on frames delivered, scene frames included (default 32) */
	double scene_threshold;  /* 0..1 scene score above which a frame is a scene change (default 0.3); <= 0 disables */
	double dedup_threshold;  /* thumbnail mean abs difference 0..255 below which a frame is a duplicate (default 3); 0 disables */
	int max_side;            /* long side of delivered frames, pixels; aspect kept, never upscaled (default 1344) */
	int jpeg_quality;        /* 1..100 (default 85) */
	int threads;             /* decoder threads; 0 = FFmpeg's choice (default 0) */
	enum frames_mode mode;   /* decode strategy (default FRAMES_MODE_AUTO) */
};

struct frame {
	double time_s;               /* the frame's real presentation time, seconds from the stream start */
	double target_s;             /* the slot start it was sampled for (= time_s for scene frames) */
	int scene;                   /* 1 if picked (or also qualifies) as a scene change */
	double scene_score;          /* 0..1, see above */
	const unsigned char *jpeg;   /* JPEG bytes, borrowed: valid only during the callback */
	size_t jpeg_len;             /* bytes */
	int width, height;           /* of the JPEG, pixels, after rotation */
};

/* Returns non-zero to stop sampling (frames_sample then returns DOSSIER_ECANCELLED). */
typedef int (*frame_cb)(const struct frame *f, void *user);

void frame_params_default(struct frame_params *p);

/*
 * Samples frames of path's main video stream (cover art is ignored) and calls
 * cb for each, in time order. p may be NULL for defaults. Returns 0, or
 *   DOSSIER_ENOTFOUND    no such file, or no video stream ("has no video stream");
 *   DOSSIER_EFORMAT      FFmpeg cannot read it, or no frame could be decoded;
 *   DOSSIER_EUNSUPPORTED no decoder for its codec;
 *   DOSSIER_ECANCELLED   cb returned non-zero;
 *   DOSSIER_EINVAL       bad parameters.
 * Frames delivered before an error stay delivered. A decode error after at
 * least one frame ends sampling early and still returns 0.
 */
int frames_sample(const char *path, const struct frame_params *p, frame_cb cb, void *user,
                  struct err *err);

#endif
