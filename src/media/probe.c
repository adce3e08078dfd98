/*
 * probe.c — media_probe, plus the FFmpeg open/quiet helpers every media file
 * in src/media/ shares (av_internal.h).
 */
#include "media/probe.h"
#include "media/av_internal.h"
#include "core/err.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>

/* ------------------------------------------------------------ shared helpers */

static void av_log_discard(void *avcl, int level, const char *fmt, va_list vl)
{
	(void)avcl; (void)level; (void)fmt; (void)vl;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_init(void)
{
	av_log_set_level(AV_LOG_QUIET);
	av_log_set_callback(av_log_discard);
}

void media_av_quiet(void)
{
	pthread_once(&quiet_once, quiet_init);
}

const char *media_av_strerror(int averr, char *buf, size_t n)
{
	if (av_strerror(averr, buf, n) < 0)
		snprintf(buf, n, "FFmpeg error %d", averr);
	return buf;
}

int media_av_open(const char *path, AVFormatContext **out, struct err *err)
{
	struct stat st;
	AVFormatContext *fmt = NULL;
	char why[128];
	int rc;

	*out = NULL;
	media_av_quiet();
	if (!path || !*path)
		return err_set(err, DOSSIER_EINVAL, "no media file name given");
	if (stat(path, &st) != 0) {
		int e = errno;
		return err_set(err, e == ENOENT ? DOSSIER_ENOTFOUND : e == EACCES ? DOSSIER_EPERM : DOSSIER_EIO,
		               "%s: cannot open: %s", path, strerror(e));
	}
	if (S_ISDIR(st.st_mode))
		return err_set(err, DOSSIER_EINVAL, "%s is a directory, not a media file", path);
	if (st.st_size == 0)
		return err_set(err, DOSSIER_EFORMAT, "%s is empty (0 bytes), not a media file", path);

	rc = avformat_open_input(&fmt, path, NULL, NULL);
	if (rc < 0) {
		if (rc == AVERROR(EACCES))
			return err_set(err, DOSSIER_EPERM, "%s: permission denied; check the file's mode", path);
		return err_set(err, DOSSIER_EFORMAT,
		               "%s is not a media file FFmpeg can read (corrupt or truncated?): %s",
		               path, media_av_strerror(rc, why, sizeof why));
	}
	rc = avformat_find_stream_info(fmt, NULL);
	if (rc < 0) {
		avformat_close_input(&fmt);
		return err_set(err, DOSSIER_EFORMAT,
		               "%s is not a media file FFmpeg can read (corrupt or truncated?): %s",
		               path, media_av_strerror(rc, why, sizeof why));
	}
	*out = fmt;
	return DOSSIER_OK;
}

/* ---------------------------------------------------------------- probing */

/* The largest video stream that is not cover art, or -1. */
static int best_video_stream(const AVFormatContext *fmt)
{
	int best = -1;
	int64_t best_area = -1;
	for (unsigned i = 0; i < fmt->nb_streams; i++) {
		const AVStream *s = fmt->streams[i];
		if (s->codecpar->codec_type != AVMEDIA_TYPE_VIDEO)
			continue;
		if (s->disposition & AV_DISPOSITION_ATTACHED_PIC)
			continue;
		int64_t area = (int64_t)s->codecpar->width * s->codecpar->height;
		if (area > best_area) {
			best_area = area;
			best = (int)i;
		}
	}
	return best;
}

static int stream_rotation_cw(const AVStream *st)
{
	size_t size = 0;
	const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
	if (!m || size < 9 * sizeof(int32_t))
		return 0;
	double ccw = av_display_rotation_get((const int32_t *)m);
	if (isnan(ccw))
		return 0;
	/* the matrix gives counter-clockwise degrees; we report clockwise, snapped to 90 */
	long cw = lround(-ccw / 90.0) * 90;
	cw %= 360;
	if (cw < 0)
		cw += 360;
	return (int)cw;
}

static void copy_name(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

int media_probe(const char *path, struct media_info *out, struct err *err)
{
	AVFormatContext *fmt = NULL;
	int rc;

	memset(out, 0, sizeof *out);
	rc = media_av_open(path, &fmt, err);
	if (rc)
		return rc;

	copy_name(out->container, sizeof out->container, fmt->iformat ? fmt->iformat->name : "");
	if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0)
		out->duration_s = (double)fmt->duration / AV_TIME_BASE;

	int vi = best_video_stream(fmt);
	if (vi >= 0) {
		const AVStream *st = fmt->streams[vi];
		const AVCodecParameters *cp = st->codecpar;
		out->has_video = 1;
		copy_name(out->video_codec, sizeof out->video_codec, avcodec_get_name(cp->codec_id));
		out->width = cp->width;
		out->height = cp->height;
		AVRational fr = st->avg_frame_rate.num > 0 ? st->avg_frame_rate : st->r_frame_rate;
		if (fr.num > 0 && fr.den > 0)
			out->fps = av_q2d(fr);
		out->rotation = stream_rotation_cw(st);
		int swap = out->rotation == 90 || out->rotation == 270;
		out->display_width = swap ? cp->height : cp->width;
		out->display_height = swap ? cp->width : cp->height;
		if (out->duration_s <= 0 && st->duration != AV_NOPTS_VALUE && st->duration > 0)
			out->duration_s = st->duration * av_q2d(st->time_base);
	}
	int ai = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
	if (ai >= 0) {
		const AVStream *st = fmt->streams[ai];
		const AVCodecParameters *cp = st->codecpar;
		out->has_audio = 1;
		copy_name(out->audio_codec, sizeof out->audio_codec, avcodec_get_name(cp->codec_id));
		out->sample_rate = cp->sample_rate;
		out->channels = cp->ch_layout.nb_channels;
		if (out->duration_s <= 0 && st->duration != AV_NOPTS_VALUE && st->duration > 0)
			out->duration_s = st->duration * av_q2d(st->time_base);
	}
	avformat_close_input(&fmt);

	if (!out->has_video && !out->has_audio)
		return err_set(err, DOSSIER_ENOTFOUND,
		               "%s has no audio or video stream FFmpeg can use; nothing to analyse as media",
		               path);
	return DOSSIER_OK;
}
