/*
 * audio.c — stream-decode the best audio track of a file to mono S16 at a
 * chosen rate.
 *
 * One packet is demuxed, decoded and resampled at a time; converted samples
 * wait in a small pending buffer sized for one decoded frame, so memory does
 * not depend on the file's length.
 */
#include "media/audio.h"
#include "media/av_internal.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

/* Isolated corrupt packets are skipped (as the ffmpeg CLI does); this many in a
 * row means the stream is broken and reading ends with DOSSIER_EFORMAT. */
#define AUDIO_MAX_BAD_PACKETS 32
/* One decoded frame never needs more than this many output samples (about 8 s
 * at 16 kHz); larger frames are refused rather than growing without bound. */
#define AUDIO_MAX_FRAME_OUT (1 << 17)

struct audio_reader {
	AVFormatContext *fmt;   /* owned */
	AVCodecContext *dec;    /* owned */
	SwrContext *swr;        /* owned; rebuilt if the input format changes */
	AVPacket *pkt;          /* owned, reused */
	AVFrame *frame;         /* owned, reused */
	int stream;             /* index of the audio stream in fmt */
	int rate;               /* output sample rate, Hz */
	/* the input format swr was configured for */
	int in_rate;
	int in_fmt;
	AVChannelLayout in_layout;
	int16_t *pend;          /* converted samples not yet handed out (owned) */
	size_t pend_cap;        /* samples allocated */
	size_t pend_len;        /* samples in pend */
	size_t pend_pos;        /* next sample to hand out */
	int demux_eof;          /* 1 once the flush packet was sent to the decoder */
	int done;               /* 1 once the decoder and resampler are drained */
	int bad_packets;        /* consecutive corrupt packets */
	int failed;             /* a DOSSIER_E* code to report once pending samples are out */
	struct err fail_err;    /* its message */
	char path[256];         /* for messages */
	double duration_s;      /* as the container states it */
};

static int reader_fail(audio_reader *r, struct err *err, int code, const char *what, int averr)
{
	char why[128];
	r->failed = code;
	err_set(&r->fail_err, code, "%s: %s (%s); the audio after this point is lost", r->path, what,
	        media_av_strerror(averr, why, sizeof why));
	if (err)
		*err = r->fail_err;
	return code;
}

int audio_open(const char *path, int rate, audio_reader **out, struct err *err)
{
	audio_reader *r;
	const AVCodec *codec = NULL;
	int rc, si;
	char why[128];

	*out = NULL;
	if (rate < 1000 || rate > 384000)
		return err_set(err, DOSSIER_EINVAL, "audio_open: sample rate %d Hz is out of range", rate);
	r = calloc(1, sizeof *r);
	if (!r)
		return err_set(err, DOSSIER_ENOMEM, "%s: out of memory opening audio", path);
	snprintf(r->path, sizeof r->path, "%s", path);
	r->rate = rate;

	rc = media_av_open(path, &r->fmt, err);
	if (rc)
		goto fail;
	si = av_find_best_stream(r->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
	if (si == AVERROR_STREAM_NOT_FOUND) {
		rc = err_set(err, DOSSIER_ENOTFOUND, "%s has no audio stream; there is no speech to transcribe", path);
		goto fail;
	}
	if (si < 0 || !codec) {
		rc = err_set(err, DOSSIER_EUNSUPPORTED, "%s: FFmpeg has no decoder for its audio (%s)", path,
		             avcodec_get_name(si >= 0 ? r->fmt->streams[si]->codecpar->codec_id : AV_CODEC_ID_NONE));
		goto fail;
	}
	r->stream = si;
	/* Only the chosen stream is demuxed: packets of the others are discarded early. */
	for (unsigned i = 0; i < r->fmt->nb_streams; i++)
		if ((int)i != si)
			r->fmt->streams[i]->discard = AVDISCARD_ALL;

	r->dec = avcodec_alloc_context3(codec);
	if (!r->dec) {
		rc = err_set(err, DOSSIER_ENOMEM, "%s: out of memory opening the audio decoder", path);
		goto fail;
	}
	rc = avcodec_parameters_to_context(r->dec, r->fmt->streams[si]->codecpar);
	if (rc >= 0) {
		r->dec->thread_count = 1;
		rc = avcodec_open2(r->dec, codec, NULL);
	}
	if (rc < 0) {
		rc = err_set(err, DOSSIER_EFORMAT, "%s: cannot open the %s audio decoder: %s", path,
		             codec->name, media_av_strerror(rc, why, sizeof why));
		goto fail;
	}
	r->pkt = av_packet_alloc();
	r->frame = av_frame_alloc();
	if (!r->pkt || !r->frame) {
		rc = err_set(err, DOSSIER_ENOMEM, "%s: out of memory opening audio", path);
		goto fail;
	}
	r->in_fmt = -1;
	if (r->fmt->duration != AV_NOPTS_VALUE && r->fmt->duration > 0)
		r->duration_s = (double)r->fmt->duration / AV_TIME_BASE;
	else {
		const AVStream *st = r->fmt->streams[si];
		if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
			r->duration_s = st->duration * av_q2d(st->time_base);
	}
	*out = r;
	return DOSSIER_OK;
fail:
	audio_close(r);
	return rc;
}

/* (Re)configures the resampler for the format of r->frame. */
static int swr_setup(audio_reader *r, struct err *err)
{
	AVFrame *f = r->frame;
	AVChannelLayout in_layout = {0}, mono = AV_CHANNEL_LAYOUT_MONO;
	int rc;

	if (f->ch_layout.order != AV_CHANNEL_ORDER_UNSPEC && f->ch_layout.nb_channels > 0)
		rc = av_channel_layout_copy(&in_layout, &f->ch_layout);
	else {
		/* e.g. some WAV files: count only; assume the default layout for that count */
		int n = f->ch_layout.nb_channels > 0 ? f->ch_layout.nb_channels : r->dec->ch_layout.nb_channels;
		if (n <= 0)
			return reader_fail(r, err, DOSSIER_EFORMAT, "audio frame has no channels", AVERROR_INVALIDDATA);
		av_channel_layout_default(&in_layout, n);
		rc = 0;
	}
	if (rc < 0)
		return reader_fail(r, err, DOSSIER_ENOMEM, "out of memory", rc);

	if (r->swr && f->format == r->in_fmt && f->sample_rate == r->in_rate &&
	    av_channel_layout_compare(&in_layout, &r->in_layout) == 0) {
		av_channel_layout_uninit(&in_layout);
		return DOSSIER_OK;
	}
	swr_free(&r->swr);
	rc = swr_alloc_set_opts2(&r->swr, &mono, AV_SAMPLE_FMT_S16, r->rate,
	                         &in_layout, f->format, f->sample_rate, 0, NULL);
	if (rc >= 0)
		rc = swr_init(r->swr);
	av_channel_layout_uninit(&r->in_layout);
	r->in_layout = in_layout;
	r->in_fmt = f->format;
	r->in_rate = f->sample_rate;
	if (rc < 0)
		return reader_fail(r, err, DOSSIER_EFORMAT, "cannot resample this audio", rc);
	return DOSSIER_OK;
}

static int pend_reserve(audio_reader *r, size_t n, struct err *err)
{
	if (n <= r->pend_cap)
		return DOSSIER_OK;
	if (n > AUDIO_MAX_FRAME_OUT)
		return reader_fail(r, err, DOSSIER_ETOOBIG, "one audio frame is implausibly long", AVERROR_INVALIDDATA);
	int16_t *p = realloc(r->pend, n * sizeof *p);
	if (!p)
		return reader_fail(r, err, DOSSIER_ENOMEM, "out of memory", AVERROR(ENOMEM));
	r->pend = p;
	r->pend_cap = n;
	return DOSSIER_OK;
}

/* Resamples r->frame (or drains swr when frame is NULL) into the pending buffer. */
static int convert(audio_reader *r, const AVFrame *f, struct err *err)
{
	int in_n = f ? f->nb_samples : 0;
	int want = swr_get_out_samples(r->swr, in_n);
	if (want < 0)
		return reader_fail(r, err, DOSSIER_EFORMAT, "resampler failed", want);
	int rc = pend_reserve(r, (size_t)want + 16, err);
	if (rc)
		return rc;
	uint8_t *outp = (uint8_t *)r->pend;
	int got = swr_convert(r->swr, &outp, (int)r->pend_cap,
	                      f ? (const uint8_t **)f->extended_data : NULL, in_n);
	if (got < 0)
		return reader_fail(r, err, DOSSIER_EFORMAT, "resampler failed", got);
	r->pend_len = (size_t)got;
	r->pend_pos = 0;
	return DOSSIER_OK;
}

/* Produces the next batch of pending samples. Sets r->done at the end. */
static int refill(audio_reader *r, struct err *err)
{
	int rc;
	for (;;) {
		rc = avcodec_receive_frame(r->dec, r->frame);
		if (rc == 0) {
			rc = swr_setup(r, err);
			if (rc == 0)
				rc = convert(r, r->frame, err);
			av_frame_unref(r->frame);
			if (rc)
				return rc;
			if (r->pend_len > 0)
				return DOSSIER_OK;
			continue;
		}
		if (rc == AVERROR_EOF) {
			if (r->swr) {
				rc = convert(r, NULL, err);   /* the resampler's delayed tail */
				if (rc)
					return rc;
			}
			r->done = 1;
			return DOSSIER_OK;
		}
		if (rc != AVERROR(EAGAIN))
			return reader_fail(r, err, DOSSIER_EFORMAT, "audio decoding failed", rc);

		/* the decoder wants input */
		if (r->demux_eof)
			return reader_fail(r, err, DOSSIER_EFORMAT, "audio decoder did not finish", rc);
		rc = av_read_frame(r->fmt, r->pkt);
		if (rc == AVERROR_EOF) {
			avcodec_send_packet(r->dec, NULL);
			r->demux_eof = 1;
			continue;
		}
		if (rc < 0)
			return reader_fail(r, err, DOSSIER_EFORMAT, "reading the file failed (truncated?)", rc);
		if (r->pkt->stream_index != r->stream) {
			av_packet_unref(r->pkt);
			continue;
		}
		rc = avcodec_send_packet(r->dec, r->pkt);
		av_packet_unref(r->pkt);
		if (rc == AVERROR_INVALIDDATA) {
			if (++r->bad_packets > AUDIO_MAX_BAD_PACKETS)
				return reader_fail(r, err, DOSSIER_EFORMAT, "too many corrupt audio packets in a row", rc);
			continue;
		}
		if (rc < 0 && rc != AVERROR(EAGAIN))
			return reader_fail(r, err, DOSSIER_EFORMAT, "audio decoding failed", rc);
		r->bad_packets = 0;
	}
}

int audio_read(audio_reader *r, int16_t *pcm, size_t max, size_t *got, struct err *err)
{
	size_t n = 0;
	int rc = DOSSIER_OK;

	*got = 0;
	if (!r || !pcm)
		return err_set(err, DOSSIER_EINVAL, "audio_read: no reader or buffer");
	while (n < max) {
		if (r->pend_pos < r->pend_len) {
			size_t k = r->pend_len - r->pend_pos;
			if (k > max - n)
				k = max - n;
			memcpy(pcm + n, r->pend + r->pend_pos, k * sizeof *pcm);
			r->pend_pos += k;
			n += k;
			continue;
		}
		if (r->done)
			break;
		if (r->failed) {
			/* samples first; the failure is reported once, by the call that returns none */
			if (n == 0) {
				rc = r->failed;
				if (err)
					*err = r->fail_err;
				r->done = 1;
			}
			break;
		}
		refill(r, NULL);
	}
	*got = n;
	return rc;
}

double audio_duration_s(const audio_reader *r)
{
	return r ? r->duration_s : 0.0;
}

void audio_close(audio_reader *r)
{
	if (!r)
		return;
	swr_free(&r->swr);
	av_channel_layout_uninit(&r->in_layout);
	av_frame_free(&r->frame);
	av_packet_free(&r->pkt);
	avcodec_free_context(&r->dec);
	avformat_close_input(&r->fmt);
	free(r->pend);
	free(r);
}
