/*
 * probe.h — what a media file holds, read from its container headers.
 *
 *   struct media_info mi;
 *   if (media_probe("talk.mp4", &mi, &err) == 0 && mi.has_audio)
 *       printf("%.1f s of %s audio\n", mi.duration_s, mi.audio_codec);
 *
 * Reads headers and a little of the stream (FFmpeg's stream-info probe); never
 * the whole file. FFmpeg's own logging is silenced. Thread safe (no shared state).
 */
#ifndef DOSSIER_MEDIA_PROBE_H
#define DOSSIER_MEDIA_PROBE_H

struct err;

struct media_info {
	double duration_s;        /* as the container states it, seconds; 0 if unknown (may be wrong) */
	char container[64];       /* FFmpeg demuxer name, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "wav" */
	int has_video;            /* 1 if a real video stream exists (cover art does not count) */
	int has_audio;            /* 1 if an audio stream exists */
	char video_codec[32];     /* e.g. "h264"; "" without video */
	int width, height;        /* coded size in pixels, before rotation; 0 without video */
	int display_width;        /* width after rotation (= height when rotated 90/270) */
	int display_height;       /* height after rotation */
	double fps;               /* average frame rate; 0 if unknown */
	int rotation;             /* degrees clockwise to display upright: 0, 90, 180 or 270 */
	char audio_codec[32];     /* e.g. "aac"; "" without audio */
	int sample_rate;          /* Hz; 0 without audio */
	int channels;             /* 0 without audio */
};

/*
 * Fills *out (zeroed first). Returns 0, or:
 *   DOSSIER_ENOTFOUND  the file does not exist, or has neither audio nor video stream;
 *   DOSSIER_EPERM      it cannot be read;
 *   DOSSIER_EFORMAT    FFmpeg cannot read it ("... is not a media file FFmpeg can read").
 */
int media_probe(const char *path, struct media_info *out, struct err *err);

#endif
