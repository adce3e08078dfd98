/*
 * frames.c — frame sampling (see frames.h for the strategy).
 *
 * One sampler walks the video: FULL and KEYFRAMES modes stream decoded frames
 * through slot_feed(), which keeps at most two frame references per slot (the
 * slot's first frame and its strongest scene change) and emits when the slot
 * ends; SEEK mode takes one frame per slot directly.
 */
#include "media/frames.h"
#include "media/av_internal.h"
#include "media/image.h"
#include "core/err.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#define THUMB_W 64
#define THUMB_H 36
/* Packets read after a seek before we give up on getting a frame. */
#define SEEK_MAX_PACKETS 4096
/* Consecutive seeks that land on an already-sampled frame before we conclude
 * the container overstates its duration. */
#define SEEK_MAX_STALLS 3

struct thumb {
	unsigned char px[THUMB_W * THUMB_H];   /* grey, 8 bit */
};

/* A candidate frame held until its slot ends. */
struct pick {
	AVFrame *frame;       /* a reference, or NULL when empty */
	struct thumb thumb;
	double time_s;
	double score;
};

struct sampler {
	const char *path;             /* borrowed */
	struct frame_params p;
	frame_cb cb;
	void *user;
	struct err *err;

	AVFormatContext *fmt;
	AVCodecContext *dec;
	AVStream *st;
	int si;                       /* video stream index */
	AVPacket *pkt;
	AVFrame *frm;
	struct SwsContext *thumb_sws;
	struct SwsContext *out_sws;
	double start_s;               /* stream start time, seconds */
	int orientation;              /* EXIF-style orientation for the display rotation */

	enum frames_mode mode;
	int key_only;                 /* send only keyframe packets to the decoder */
	double key_gap_s;             /* minimum spacing of decoded keyframes (KEYFRAMES mode) */
	double last_key_s;            /* time of the last keyframe packet sent */
	int demux_eof;
	double duration_s;            /* stated; 0 if unknown */
	double spacing_s;             /* slot length */
	int extra_budget;             /* scene frames allowed beyond one per slot */
	double budget_pixels;         /* FULL mode: decoded pixels before falling back to keyframes */
	double decoded_pixels;

	/* scene state: the previous decoded frame */
	struct thumb prev;
	double prev_mafd;
	int have_prev;

	/* slot state */
	long slot;                    /* current slot, -1 before the first frame */
	struct pick first, best;

	/* output state */
	struct thumb last_out;
	int have_out;
	double last_out_time;
	int emitted;
	int frames_decoded;
	int stop;                     /* cap reached or cancelled */
	int rc;                       /* first error */
};

void frame_params_default(struct frame_params *p)
{
	memset(p, 0, sizeof *p);
	p->interval_s = 5.0;
	p->max_frames = 32;
	p->scene_threshold = 0.3;
	p->dedup_threshold = 3.0;
	p->max_side = 1344;
	p->jpeg_quality = 85;
	p->threads = 0;
	p->mode = FRAMES_MODE_AUTO;
}

/* ------------------------------------------------------------ thumbnails */

static int make_thumb(struct sampler *s, const AVFrame *f, struct thumb *out)
{
	s->thumb_sws = sws_getCachedContext(s->thumb_sws, f->width, f->height, f->format, THUMB_W, THUMB_H,
	                                    AV_PIX_FMT_GRAY8, SWS_AREA, NULL, NULL, NULL);
	if (!s->thumb_sws)
		return -1;
	uint8_t *dst[4] = { out->px };
	int stride[4] = { THUMB_W };
	sws_scale(s->thumb_sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
	return 0;
}

static double thumb_mad(const struct thumb *a, const struct thumb *b)
{
	long sum = 0;
	for (int i = 0; i < THUMB_W * THUMB_H; i++)
		sum += abs((int)a->px[i] - (int)b->px[i]);
	return (double)sum / (THUMB_W * THUMB_H);
}

/* libavfilter's scene score on thumbnails; updates the previous-frame state. */
static double scene_score(struct sampler *s, const struct thumb *t)
{
	double score = 0.0;
	if (s->have_prev) {
		double mafd = thumb_mad(&s->prev, t);
		double diff = fabs(mafd - s->prev_mafd);
		score = fmin(mafd, diff) / 100.0;
		if (score > 1.0)
			score = 1.0;
		s->prev_mafd = mafd;
	}
	s->prev = *t;
	s->have_prev = 1;
	return score;
}

/* -------------------------------------------------------------- emitting */

/* Converts, rotates, encodes and delivers one frame. */
static int emit(struct sampler *s, const AVFrame *f, const struct thumb *t, double time_s, double target_s,
                int scene, double score)
{
	struct image *img = NULL, *rot = NULL;
	unsigned char *jpg = NULL;
	size_t jpg_len = 0;
	int rc;

	if (s->stop)
		return 0;
	if (s->have_out && time_s <= s->last_out_time)
		return 0;   /* never twice the same frame, never backwards */

	/* display size: sample aspect ratio applied, then long side capped */
	double dw = f->width, dh = f->height;
	AVRational sar = f->sample_aspect_ratio.num > 0 ? f->sample_aspect_ratio : s->st->sample_aspect_ratio;
	if (sar.num > 0 && sar.den > 0)
		dw = dw * sar.num / sar.den;
	double scale = fmax(dw, dh) > s->p.max_side ? s->p.max_side / fmax(dw, dh) : 1.0;
	int ow = (int)lround(dw * scale), oh = (int)lround(dh * scale);
	if (ow < 1)
		ow = 1;
	if (oh < 1)
		oh = 1;

	rc = image_new(ow, oh, &img, s->err);
	if (rc)
		goto fail;
	s->out_sws = sws_getCachedContext(s->out_sws, f->width, f->height, f->format, ow, oh, AV_PIX_FMT_RGB24,
	                                  SWS_BICUBIC, NULL, NULL, NULL);
	if (!s->out_sws) {
		rc = err_set(s->err, DOSSIER_EUNSUPPORTED, "%s: cannot convert %s video frames to RGB", s->path,
		             av_get_pix_fmt_name(f->format) ? av_get_pix_fmt_name(f->format) : "these");
		goto fail;
	}
	uint8_t *dst[4] = { img->rgb };
	int stride[4] = { img->stride };
	sws_scale(s->out_sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
	if (s->orientation != 1) {
		rc = image_orient(img, s->orientation, &rot, s->err);
		if (rc)
			goto fail;
		image_free(img);
		img = rot;
		rot = NULL;
	}
	rc = image_encode_jpeg(img, s->p.jpeg_quality, &jpg, &jpg_len, s->err);
	if (rc)
		goto fail;

	struct frame out = {
		.time_s = time_s, .target_s = target_s, .scene = scene, .scene_score = score,
		.jpeg = jpg, .jpeg_len = jpg_len, .width = img->width, .height = img->height,
	};
	s->emitted++;
	s->last_out = *t;
	s->have_out = 1;
	s->last_out_time = time_s;
	if (s->cb && s->cb(&out, s->user) != 0) {
		s->stop = 1;
		rc = err_set(s->err, DOSSIER_ECANCELLED, "%s: frame sampling cancelled", s->path);
		goto fail;
	}
	if (s->emitted >= s->p.max_frames)
		s->stop = 1;
	free(jpg);
	image_free(img);
	return 0;
fail:
	free(jpg);
	image_free(img);
	image_free(rot);
	if (!s->rc)
		s->rc = rc;
	s->stop = 1;
	return rc;
}

static int is_duplicate(const struct sampler *s, const struct thumb *t)
{
	return s->have_out && s->p.dedup_threshold > 0 && thumb_mad(&s->last_out, t) < s->p.dedup_threshold;
}

static void pick_clear(struct pick *pk)
{
	av_frame_free(&pk->frame);
}

static int pick_set(struct pick *pk, const AVFrame *f, const struct thumb *t, double time_s, double score)
{
	pick_clear(pk);
	pk->frame = av_frame_clone(f);
	if (!pk->frame)
		return -1;
	pk->thumb = *t;
	pk->time_s = time_s;
	pk->score = score;
	return 0;
}

/* Decides what the finished slot contributes and emits it. */
static void slot_finish(struct sampler *s)
{
	double thr = s->p.scene_threshold;
	double target = s->slot * s->spacing_s;
	struct pick *first = &s->first, *best = &s->best;

	if (first->frame) {
		int first_scene = thr > 0 && first->score >= thr;
		if (best->frame && s->extra_budget > 0) {
			if (!is_duplicate(s, &first->thumb) || first_scene)
				emit(s, first->frame, &first->thumb, first->time_s, target, first_scene, first->score);
			s->extra_budget--;
			emit(s, best->frame, &best->thumb, best->time_s, best->time_s, 1, best->score);
		} else if (best->frame) {
			/* no room for both: the cut says more than the slot's first frame */
			emit(s, best->frame, &best->thumb, best->time_s, best->time_s, 1, best->score);
		} else if (!is_duplicate(s, &first->thumb) || first_scene) {
			emit(s, first->frame, &first->thumb, first->time_s, target, first_scene, first->score);
		}
	}
	pick_clear(first);
	pick_clear(best);
}

/* Takes one decoded frame in FULL/KEYFRAMES mode. */
static void slot_feed(struct sampler *s, const AVFrame *f, double time_s)
{
	struct thumb t;
	if (make_thumb(s, f, &t) != 0) {
		s->rc = err_set(s->err, DOSSIER_EUNSUPPORTED, "%s: cannot scale %s video frames", s->path,
		                av_get_pix_fmt_name(f->format) ? av_get_pix_fmt_name(f->format) : "these");
		s->stop = 1;
		return;
	}
	double score = scene_score(s, &t);
	long slot = time_s > 0 ? (long)floor(time_s / s->spacing_s) : 0;
	if (slot != s->slot) {
		if (s->slot >= 0)
			slot_finish(s);
		s->slot = slot;
	}
	if (s->stop)
		return;
	if (!s->first.frame) {
		if (pick_set(&s->first, f, &t, time_s, score) != 0)
			goto oom;
	} else if (s->p.scene_threshold > 0 && score >= s->p.scene_threshold &&
	           (!s->best.frame || score > s->best.score)) {
		if (pick_set(&s->best, f, &t, time_s, score) != 0)
			goto oom;
	}
	return;
oom:
	s->rc = err_set(s->err, DOSSIER_ENOMEM, "%s: out of memory holding a video frame", s->path);
	s->stop = 1;
}

/* -------------------------------------------------------------- decoding */

static double frame_time(const struct sampler *s, const AVFrame *f)
{
	int64_t ts = f->best_effort_timestamp != AV_NOPTS_VALUE ? f->best_effort_timestamp : f->pts;
	if (ts == AV_NOPTS_VALUE)
		return s->frames_decoded / (s->st->avg_frame_rate.num > 0 ? av_q2d(s->st->avg_frame_rate) : 25.0);
	return ts * av_q2d(s->st->time_base) - s->start_s;
}

/*
 * Produces the next decoded frame into s->frm. Returns 0 with a frame, 1 at
 * the end of the stream, or a negative AVERROR. max_packets bounds the packets
 * read (0 = unbounded).
 */
static int decode_next(struct sampler *s, int max_packets)
{
	int packets = 0;
	for (;;) {
		int rc = avcodec_receive_frame(s->dec, s->frm);
		if (rc == 0) {
			s->frames_decoded++;
			return 0;
		}
		if (rc == AVERROR_EOF)
			return 1;
		if (rc != AVERROR(EAGAIN))
			return rc;
		if (s->demux_eof)
			return 1;
		if (max_packets && ++packets > max_packets)
			return 1;
		rc = av_read_frame(s->fmt, s->pkt);
		if (rc < 0) {
			/* end of file, or a truncated one: drain what the decoder holds */
			avcodec_send_packet(s->dec, NULL);
			s->demux_eof = 1;
			continue;
		}
		if (s->pkt->stream_index != s->si) {
			av_packet_unref(s->pkt);
			continue;
		}
		if (s->key_only) {
			int64_t ts = s->pkt->pts != AV_NOPTS_VALUE ? s->pkt->pts : s->pkt->dts;
			double t = ts != AV_NOPTS_VALUE ? ts * av_q2d(s->st->time_base) - s->start_s : NAN;
			if (!(s->pkt->flags & AV_PKT_FLAG_KEY) ||
			    (!isnan(t) && s->last_key_s > -1e300 && t < s->last_key_s + s->key_gap_s)) {
				av_packet_unref(s->pkt);
				continue;
			}
			if (!isnan(t))
				s->last_key_s = t;
		}
		rc = avcodec_send_packet(s->dec, s->pkt);
		av_packet_unref(s->pkt);
		(void)rc;   /* a corrupt packet is skipped, as the ffmpeg CLI does */
	}
}

static void run_linear(struct sampler *s)
{
	for (;;) {
		int rc = decode_next(s, 0);
		if (rc != 0)
			break;
		double t = frame_time(s, s->frm);
		if (s->mode == FRAMES_MODE_FULL && !s->key_only) {
			s->decoded_pixels += (double)s->frm->width * s->frm->height;
			if (s->decoded_pixels > s->budget_pixels) {
				/* the stated duration was too short: stop paying for every frame */
				s->key_only = 1;
				s->dec->skip_frame = AVDISCARD_NONKEY;
			}
		}
		slot_feed(s, s->frm, t);
		av_frame_unref(s->frm);
		if (s->stop)
			return;
	}
	if (s->slot >= 0)
		slot_finish(s);
}

static void run_seek(struct sampler *s)
{
	int nslots = (int)ceil(s->duration_s / s->spacing_s);
	int stalls = 0;
	if (nslots < 1)
		nslots = 1;
	if (nslots > s->p.max_frames)
		nslots = s->p.max_frames;
	s->dec->skip_frame = AVDISCARD_NONKEY;   /* after a seek we want the keyframe only */
	for (int k = 0; k < nslots && !s->stop; k++) {
		double target = k * s->spacing_s;
		int64_t ts = (int64_t)((target + s->start_s) / av_q2d(s->st->time_base));
		if (av_seek_frame(s->fmt, s->si, ts, AVSEEK_FLAG_BACKWARD) < 0 && k > 0)
			break;
		avcodec_flush_buffers(s->dec);
		s->demux_eof = 0;
		if (decode_next(s, SEEK_MAX_PACKETS) != 0)
			break;
		double t = frame_time(s, s->frm);
		if (s->have_out && t <= s->last_out_time) {
			/* same keyframe as before: a long GOP, or a duration the file does not have */
			av_frame_unref(s->frm);
			if (++stalls >= SEEK_MAX_STALLS)
				break;
			continue;
		}
		stalls = 0;
		struct thumb th;
		if (make_thumb(s, s->frm, &th) != 0) {
			av_frame_unref(s->frm);
			s->rc = err_set(s->err, DOSSIER_EUNSUPPORTED, "%s: cannot scale these video frames", s->path);
			break;
		}
		double score = scene_score(s, &th);
		if (!is_duplicate(s, &th))
			emit(s, s->frm, &th, t, target, 0, score);
		av_frame_unref(s->frm);
	}
}

/* ----------------------------------------------------------------- setup */

static int best_video(const AVFormatContext *fmt)
{
	int best = -1;
	int64_t area = -1;
	for (unsigned i = 0; i < fmt->nb_streams; i++) {
		const AVStream *st = fmt->streams[i];
		if (st->codecpar->codec_type != AVMEDIA_TYPE_VIDEO || (st->disposition & AV_DISPOSITION_ATTACHED_PIC))
			continue;
		int64_t a = (int64_t)st->codecpar->width * st->codecpar->height;
		if (a > area) {
			area = a;
			best = (int)i;
		}
	}
	return best;
}

static int rotation_orientation(const AVStream *st)
{
	size_t size = 0;
	const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, &size);
	if (!m || size < 9 * sizeof(int32_t))
		return 1;
	double ccw = av_display_rotation_get((const int32_t *)m);
	if (isnan(ccw))
		return 1;
	long cw = (lround(-ccw / 90.0) * 90) % 360;
	if (cw < 0)
		cw += 360;
	return cw == 90 ? 6 : cw == 180 ? 3 : cw == 270 ? 8 : 1;
}

static int check_params(const struct frame_params *p, struct err *err)
{
	if (!(p->interval_s > 0) || p->max_frames < 1 || p->max_side < 16 || p->jpeg_quality < 1 ||
	    p->jpeg_quality > 100 || p->scene_threshold > 1 || p->dedup_threshold < 0 || p->threads < 0 ||
	    p->mode < FRAMES_MODE_AUTO || p->mode > FRAMES_MODE_SEEK)
		return err_set(err, DOSSIER_EINVAL,
		               "frames_sample: bad parameters (interval %.3g s, max_frames %d, max_side %d, quality %d)",
		               p->interval_s, p->max_frames, p->max_side, p->jpeg_quality);
	return DOSSIER_OK;
}

int frames_sample(const char *path, const struct frame_params *p, frame_cb cb, void *user, struct err *err)
{
	struct sampler s = { .path = path, .cb = cb, .user = user, .err = err, .slot = -1, .last_key_s = -1e308 };
	const AVCodec *codec;
	char why[128];
	int rc;

	if (p)
		s.p = *p;
	else
		frame_params_default(&s.p);
	rc = check_params(&s.p, err);
	if (rc)
		return rc;
	rc = media_av_open(path, &s.fmt, err);
	if (rc)
		return rc;
	s.si = best_video(s.fmt);
	if (s.si < 0) {
		rc = err_set(err, DOSSIER_ENOTFOUND, "%s has no video stream; there are no frames to sample", path);
		goto done;
	}
	s.st = s.fmt->streams[s.si];
	for (unsigned i = 0; i < s.fmt->nb_streams; i++)
		if ((int)i != s.si)
			s.fmt->streams[i]->discard = AVDISCARD_ALL;
	codec = avcodec_find_decoder(s.st->codecpar->codec_id);
	if (!codec) {
		rc = err_set(err, DOSSIER_EUNSUPPORTED, "%s: FFmpeg has no decoder for its %s video", path,
		             avcodec_get_name(s.st->codecpar->codec_id));
		goto done;
	}
	s.dec = avcodec_alloc_context3(codec);
	s.pkt = av_packet_alloc();
	s.frm = av_frame_alloc();
	if (!s.dec || !s.pkt || !s.frm) {
		rc = err_set(err, DOSSIER_ENOMEM, "%s: out of memory opening the video decoder", path);
		goto done;
	}
	rc = avcodec_parameters_to_context(s.dec, s.st->codecpar);
	if (rc >= 0) {
		s.dec->thread_count = s.p.threads;
		rc = avcodec_open2(s.dec, codec, NULL);
	}
	if (rc < 0) {
		rc = err_set(err, DOSSIER_EFORMAT, "%s: cannot open the %s video decoder: %s", path, codec->name,
		             media_av_strerror(rc, why, sizeof why));
		goto done;
	}

	s.start_s = s.st->start_time != AV_NOPTS_VALUE ? s.st->start_time * av_q2d(s.st->time_base) : 0.0;
	s.orientation = rotation_orientation(s.st);
	if (s.fmt->duration != AV_NOPTS_VALUE && s.fmt->duration > 0)
		s.duration_s = (double)s.fmt->duration / AV_TIME_BASE;
	else if (s.st->duration != AV_NOPTS_VALUE && s.st->duration > 0)
		s.duration_s = s.st->duration * av_q2d(s.st->time_base);

	int nslots = s.p.max_frames;
	s.spacing_s = s.p.interval_s;
	if (s.duration_s > 0) {
		s.spacing_s = fmax(s.p.interval_s, s.duration_s / s.p.max_frames);
		nslots = (int)ceil(s.duration_s / s.spacing_s - 1e-9);
		if (nslots < 1)
			nslots = 1;
	}
	s.extra_budget = s.p.max_frames - nslots;
	if (s.extra_budget < 0)
		s.extra_budget = 0;

	double fps = s.st->avg_frame_rate.num > 0 ? av_q2d(s.st->avg_frame_rate) : 30.0;
	double px = (double)s.st->codecpar->width * s.st->codecpar->height;
	s.mode = s.p.mode;
	if (s.mode == FRAMES_MODE_AUTO) {
		if (s.duration_s > 0 && s.duration_s * fps * px <= FRAMES_FULL_DECODE_PIXELS)
			s.mode = FRAMES_MODE_FULL;
		else if (s.duration_s <= FRAMES_KEYFRAME_MAX_S)
			s.mode = FRAMES_MODE_KEYFRAMES;
		else
			s.mode = FRAMES_MODE_SEEK;
	}
	s.budget_pixels = 2.0 * fmax(FRAMES_FULL_DECODE_PIXELS, s.duration_s * fps * px);
	s.key_gap_s = fmax(1.0, s.spacing_s / 8.0);
	if (s.mode == FRAMES_MODE_KEYFRAMES) {
		s.key_only = 1;
		s.dec->skip_frame = AVDISCARD_NONKEY;
	}

	if (s.mode == FRAMES_MODE_SEEK)
		run_seek(&s);
	else
		run_linear(&s);
	pick_clear(&s.first);
	pick_clear(&s.best);

	if (s.rc == DOSSIER_ECANCELLED || (s.rc && s.emitted == 0))
		rc = s.rc;
	else if (s.emitted == 0 && s.frames_decoded == 0)
		rc = err_set(err, DOSSIER_EFORMAT, "%s: no video frame could be decoded (corrupt or truncated?)", path);
	else
		rc = DOSSIER_OK;
done:
	sws_freeContext(s.thumb_sws);
	sws_freeContext(s.out_sws);
	av_frame_free(&s.frm);
	av_packet_free(&s.pkt);
	avcodec_free_context(&s.dec);
	avformat_close_input(&s.fmt);
	return rc;
}
