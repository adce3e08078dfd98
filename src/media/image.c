/*
 * image.c — decode (stb_image, then leptonica, then libavcodec), EXIF
 * orientation, resize (stb_image_resize) and encode (stb_image_write).
 *
 * The pixel count is always read from the header and checked against the
 * caller's limit before any decoder allocates pixels. Images with alpha are
 * composited onto white, which is what a person (or a vision model) expects
 * to see behind a transparent screenshot.
 */
#include "media/image.h"
#include "media/av_internal.h"
#include "media/exif.h"
#include "core/err.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>
#include <leptonica/allheaders.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

/* The largest side any decoder here may produce (also bounds stride arithmetic). */
#define IMAGE_MAX_SIDE (1 << 20)

enum decoder { DEC_NONE, DEC_STB, DEC_LEPT, DEC_AV };

struct header {
	enum decoder dec;
	int width, height;      /* stored (before orientation) */
	char format[16];
};

/* --------------------------------------------------------------- helpers */

static pthread_once_t lept_once = PTHREAD_ONCE_INIT;

static void lept_quiet(void)
{
	setMsgSeverity(L_SEVERITY_NONE);
}

static struct image *image_alloc(int w, int h)
{
	if (w <= 0 || h <= 0 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE)
		return NULL;
	struct image *img = calloc(1, sizeof *img);
	if (!img)
		return NULL;
	img->width = w;
	img->height = h;
	img->stride = 3 * w;
	img->rgb = malloc((size_t)img->stride * (size_t)h);
	if (!img->rgb) {
		free(img);
		return NULL;
	}
	return img;
}

void image_free(struct image *img)
{
	if (!img)
		return;
	free(img->rgb);
	free(img);
}

/* Names the format from the magic bytes; "" when unknown. */
static void sniff_format(const unsigned char *h, size_t n, char out[16])
{
	const char *name = "";
	if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF)
		name = "jpeg";
	else if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0)
		name = "png";
	else if (n >= 6 && (memcmp(h, "GIF87a", 6) == 0 || memcmp(h, "GIF89a", 6) == 0))
		name = "gif";
	else if (n >= 2 && h[0] == 'B' && h[1] == 'M')
		name = "bmp";
	else if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0)
		name = "webp";
	else if (n >= 4 && (memcmp(h, "II*\0", 4) == 0 || memcmp(h, "MM\0*", 4) == 0))
		name = "tiff";
	else if (n >= 4 && memcmp(h, "8BPS", 4) == 0)
		name = "psd";
	else if (n >= 2 && h[0] == 'P' && h[1] >= '1' && h[1] <= '7')
		name = "pnm";
	else if (n >= 2 && h[0] == '#' && h[1] == '?')
		name = "hdr";
	else if (n >= 12 && memcmp(h + 4, "ftyp", 4) == 0 &&
	         (memcmp(h + 8, "heic", 4) == 0 || memcmp(h + 8, "heix", 4) == 0 ||
	          memcmp(h + 8, "mif1", 4) == 0 || memcmp(h + 8, "avif", 4) == 0))
		name = memcmp(h + 8, "avif", 4) == 0 ? "avif" : "heif";
	snprintf(out, 16, "%s", name);
}

static int open_file(const char *path, FILE **out, struct err *err)
{
	struct stat st;
	*out = NULL;
	if (!path || !*path)
		return err_set(err, DOSSIER_EINVAL, "no image file name given");
	if (stat(path, &st) != 0) {
		int e = errno;
		return err_set(err, e == ENOENT ? DOSSIER_ENOTFOUND : e == EACCES ? DOSSIER_EPERM : DOSSIER_EIO,
		               "%s: cannot open: %s", path, strerror(e));
	}
	if (S_ISDIR(st.st_mode))
		return err_set(err, DOSSIER_EINVAL, "%s is a directory, not an image", path);
	if (st.st_size == 0)
		return err_set(err, DOSSIER_EFORMAT, "%s is empty (0 bytes), not an image", path);
	FILE *f = fopen(path, "rb");
	if (!f) {
		int e = errno;
		return err_set(err, e == EACCES ? DOSSIER_EPERM : DOSSIER_EIO, "%s: cannot open: %s", path, strerror(e));
	}
	*out = f;
	return DOSSIER_OK;
}

/* FFmpeg demuxers that hold single images rather than video. */
static int av_is_image_demuxer(const AVFormatContext *fmt)
{
	const char *n = fmt->iformat ? fmt->iformat->name : "";
	return strstr(n, "_pipe") || strcmp(n, "image2") == 0;
}

/* Reads the stored dimensions and picks the decoder, without decoding pixels. */
static int read_header(const char *path, FILE *f, struct header *hd, struct err *err)
{
	unsigned char magic[16] = {0};
	size_t n;
	int w = 0, h = 0, comp = 0;

	memset(hd, 0, sizeof *hd);
	rewind(f);
	n = fread(magic, 1, sizeof magic, f);
	rewind(f);
	sniff_format(magic, n, hd->format);

	/* TIFF is left to leptonica: stb does not read it, and header-only probing there is cheap */
	if (strcmp(hd->format, "tiff") != 0 && stbi_info_from_file(f, &w, &h, &comp)) {
		hd->dec = DEC_STB;
		if (!hd->format[0])
			snprintf(hd->format, sizeof hd->format, "tga");   /* the one stb format without magic */
	} else {
		l_int32 lf = 0, lw = 0, lh = 0, bps = 0, spp = 0, cmap = 0;
		pthread_once(&lept_once, lept_quiet);
		if (pixReadHeader(path, &lf, &lw, &lh, &bps, &spp, &cmap) == 0 && lw > 0 && lh > 0) {
			hd->dec = DEC_LEPT;
			w = lw;
			h = lh;
			if (!hd->format[0]) {
				const char *ext = getFormatExtension(lf);
				snprintf(hd->format, sizeof hd->format, "%s", ext && strcmp(ext, "tif") ? ext : "tiff");
			}
		} else {
			AVFormatContext *fmt = NULL;
			struct err ignore = {0};
			if (media_av_open(path, &fmt, &ignore) == 0) {
				if (av_is_image_demuxer(fmt)) {
					int si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
					if (si >= 0 && fmt->streams[si]->codecpar->width > 0) {
						hd->dec = DEC_AV;
						w = fmt->streams[si]->codecpar->width;
						h = fmt->streams[si]->codecpar->height;
						if (!hd->format[0])
							snprintf(hd->format, sizeof hd->format, "%s",
							         avcodec_get_name(fmt->streams[si]->codecpar->codec_id));
					}
				}
				avformat_close_input(&fmt);
			}
		}
	}
	if (hd->dec == DEC_NONE) {
		if (!strcmp(hd->format, "png") || !strcmp(hd->format, "jpeg") || !strcmp(hd->format, "gif"))
			return err_set(err, DOSSIER_EFORMAT,
			               "%s looks like a %s image but its header is damaged (%s); re-export it",
			               path, hd->format, stbi_failure_reason() ? stbi_failure_reason() : "unreadable");
		return err_set(err, DOSSIER_EFORMAT,
		               "%s is not an image dossier can read (JPEG, PNG, GIF, BMP, WebP, TIFF, ...)", path);
	}
	if (w <= 0 || h <= 0 || w > IMAGE_MAX_SIDE || h > IMAGE_MAX_SIDE)
		return err_set(err, DOSSIER_EFORMAT, "%s: the header claims an impossible size %d x %d", path, w, h);
	hd->width = w;
	hd->height = h;
	return DOSSIER_OK;
}

static void fill_info(struct image_info *info, const struct header *hd, const struct exif *ex)
{
	memset(info, 0, sizeof *info);
	info->orientation = ex->orientation;
	exif_oriented_size(ex->orientation, hd->width, hd->height, &info->width, &info->height);
	snprintf(info->format, sizeof info->format, "%s", hd->format);
	snprintf(info->captured_at, sizeof info->captured_at, "%s", ex->datetime_original);
	snprintf(info->camera_make, sizeof info->camera_make, "%s", ex->make);
	snprintf(info->camera_model, sizeof info->camera_model, "%s", ex->model);
}

int image_probe(const char *path, struct image_info *out, struct err *err)
{
	FILE *f;
	struct header hd;
	struct exif ex;
	int rc;

	memset(out, 0, sizeof *out);
	rc = open_file(path, &f, err);
	if (rc)
		return rc;
	rc = read_header(path, f, &hd, err);
	if (rc == 0) {
		exif_read_file(f, &ex);   /* damaged EXIF is not fatal: defaults stay */
		fill_info(out, &hd, &ex);
	}
	fclose(f);
	return rc;
}

/* -------------------------------------------------------------- decoders */

/* Blends 4-channel (or grey+alpha as 4) pixels onto white into a new image. */
static struct image *from_rgba(const unsigned char *px, int w, int h)
{
	struct image *img = image_alloc(w, h);
	if (!img)
		return NULL;
	size_t n = (size_t)w * (size_t)h;
	for (size_t i = 0; i < n; i++) {
		unsigned a = px[4 * i + 3];
		for (int c = 0; c < 3; c++)
			img->rgb[3 * i + c] = (unsigned char)((px[4 * i + c] * a + 255u * (255u - a) + 127u) / 255u);
	}
	return img;
}

static int decode_stb(const char *path, FILE *f, struct image **out, struct err *err)
{
	int w, h, comp = 0;
	rewind(f);
	if (!stbi_info_from_file(f, &w, &h, &comp))
		comp = 3;
	int want = comp == 2 || comp == 4 ? 4 : 3;
	unsigned char *px = stbi_load_from_file(f, &w, &h, &comp, want);
	if (!px)
		return err_set(err, DOSSIER_EFORMAT, "%s: the image data is corrupt or truncated (%s); re-export the image", path,
		               stbi_failure_reason() ? stbi_failure_reason() : "decode failed");
	struct image *img;
	if (want == 4) {
		img = from_rgba(px, w, h);
	} else {
		img = calloc(1, sizeof *img);
		if (img) {
			img->width = w;
			img->height = h;
			img->stride = 3 * w;
			img->rgb = malloc((size_t)img->stride * (size_t)h);
			if (img->rgb)
				memcpy(img->rgb, px, (size_t)img->stride * (size_t)h);
			else {
				free(img);
				img = NULL;
			}
		}
	}
	stbi_image_free(px);
	if (!img)
		return err_set(err, DOSSIER_ENOMEM, "%s: out of memory for %d x %d pixels", path, w, h);
	*out = img;
	return DOSSIER_OK;
}

static int decode_lept(const char *path, struct image **out, struct err *err)
{
	pthread_once(&lept_once, lept_quiet);
	PIX *pix = pixRead(path);
	if (!pix)
		return err_set(err, DOSSIER_EFORMAT, "%s: the image data is corrupt or in a variant leptonica cannot read",
		               path);
	PIX *p32 = pixConvertTo32(pix);
	pixDestroy(&pix);
	if (!p32)
		return err_set(err, DOSSIER_EFORMAT, "%s: cannot convert the image to RGB", path);
	int w = pixGetWidth(p32), h = pixGetHeight(p32), wpl = pixGetWpl(p32);
	int has_alpha = pixGetSpp(p32) == 4;
	const l_uint32 *data = pixGetData(p32);
	struct image *img = image_alloc(w, h);
	if (!img) {
		pixDestroy(&p32);
		return err_set(err, DOSSIER_ENOMEM, "%s: out of memory for %d x %d pixels", path, w, h);
	}
	for (int y = 0; y < h; y++) {
		const l_uint32 *line = data + (size_t)y * wpl;
		unsigned char *o = img->rgb + (size_t)y * img->stride;
		for (int x = 0; x < w; x++) {
			l_uint32 v = line[x];
			unsigned a = has_alpha ? (v >> L_ALPHA_SHIFT) & 0xff : 255u;
			unsigned rgb[3] = { (v >> L_RED_SHIFT) & 0xff, (v >> L_GREEN_SHIFT) & 0xff, (v >> L_BLUE_SHIFT) & 0xff };
			for (int c = 0; c < 3; c++)
				o[3 * x + c] = (unsigned char)((rgb[c] * a + 255u * (255u - a) + 127u) / 255u);
		}
	}
	pixDestroy(&p32);
	*out = img;
	return DOSSIER_OK;
}

/* First frame of a single-image file that only FFmpeg decodes. */
static int decode_av(const char *path, struct image **out, struct err *err)
{
	AVFormatContext *fmt = NULL;
	AVCodecContext *dec = NULL;
	const AVCodec *codec = NULL;
	AVPacket *pkt = av_packet_alloc();
	AVFrame *frm = av_frame_alloc();
	struct SwsContext *sws = NULL;
	struct image *img = NULL;
	int rc, si;

	if (!pkt || !frm) {
		rc = err_set(err, DOSSIER_ENOMEM, "%s: out of memory", path);
		goto done;
	}
	rc = media_av_open(path, &fmt, err);
	if (rc)
		goto done;
	si = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
	if (si < 0 || !codec || !(dec = avcodec_alloc_context3(codec)) ||
	    avcodec_parameters_to_context(dec, fmt->streams[si]->codecpar) < 0 ||
	    avcodec_open2(dec, codec, NULL) < 0) {
		rc = err_set(err, DOSSIER_EUNSUPPORTED, "%s: FFmpeg cannot decode this image", path);
		goto done;
	}
	int got = 0;
	while (!got) {
		rc = avcodec_receive_frame(dec, frm);
		if (rc == 0) {
			got = 1;
			break;
		}
		if (rc != AVERROR(EAGAIN))
			break;
		rc = av_read_frame(fmt, pkt);
		if (rc < 0) {
			avcodec_send_packet(dec, NULL);
			continue;
		}
		if (pkt->stream_index == si)
			avcodec_send_packet(dec, pkt);
		av_packet_unref(pkt);
	}
	if (!got) {
		rc = err_set(err, DOSSIER_EFORMAT, "%s: the image data is corrupt (FFmpeg decoded no picture)", path);
		goto done;
	}
	img = image_alloc(frm->width, frm->height);
	sws = sws_getContext(frm->width, frm->height, frm->format, frm->width, frm->height, AV_PIX_FMT_RGB24,
	                     SWS_BILINEAR, NULL, NULL, NULL);
	if (!img || !sws) {
		rc = err_set(err, DOSSIER_ENOMEM, "%s: cannot convert a %d x %d picture to RGB", path, frm->width, frm->height);
		goto done;
	}
	uint8_t *dst[4] = { img->rgb };
	int dst_stride[4] = { img->stride };
	sws_scale(sws, (const uint8_t *const *)frm->data, frm->linesize, 0, frm->height, dst, dst_stride);
	*out = img;
	img = NULL;
	rc = DOSSIER_OK;
done:
	image_free(img);
	sws_freeContext(sws);
	av_frame_free(&frm);
	av_packet_free(&pkt);
	avcodec_free_context(&dec);
	avformat_close_input(&fmt);
	return rc;
}

/* ----------------------------------------------------------- orientation */

/* A new image with EXIF orientation o (2..8) applied to src. */
static struct image *orient(const struct image *src, int o)
{
	int w = src->width, h = src->height, ow, oh;
	exif_oriented_size(o, w, h, &ow, &oh);
	struct image *dst = image_alloc(ow, oh);
	if (!dst)
		return NULL;
	for (int y = 0; y < oh; y++) {
		unsigned char *d = dst->rgb + (size_t)y * dst->stride;
		for (int x = 0; x < ow; x++) {
			int sx, sy;
			switch (o) {
			case 2: sx = w - 1 - x; sy = y; break;             /* mirror horizontal */
			case 3: sx = w - 1 - x; sy = h - 1 - y; break;     /* rotate 180 */
			case 4: sx = x; sy = h - 1 - y; break;             /* mirror vertical */
			case 5: sx = y; sy = x; break;                     /* transpose */
			case 6: sx = y; sy = h - 1 - x; break;             /* rotate 90 clockwise */
			case 7: sx = w - 1 - y; sy = h - 1 - x; break;     /* transverse */
			case 8: sx = w - 1 - y; sy = x; break;             /* rotate 90 counter-clockwise */
			default: sx = x; sy = y; break;
			}
			memcpy(d + 3 * x, src->rgb + (size_t)sy * src->stride + 3 * (size_t)sx, 3);
		}
	}
	return dst;
}

int image_load(const char *path, uint64_t max_pixels, struct image **out, struct image_info *info,
               struct err *err)
{
	FILE *f = NULL;
	struct header hd;
	struct exif ex;
	struct image *img = NULL;
	int rc;

	*out = NULL;
	if (info)
		memset(info, 0, sizeof *info);
	rc = open_file(path, &f, err);
	if (rc)
		return rc;
	rc = read_header(path, f, &hd, err);
	if (rc)
		goto done;
	uint64_t pixels = (uint64_t)hd.width * (uint64_t)hd.height;
	if (max_pixels && pixels > max_pixels) {
		rc = err_set(err, DOSSIER_ETOOBIG,
		             "%s is %d x %d = %llu pixels, more than the limit of %llu; "
		             "scale it down or raise the image pixel limit",
		             path, hd.width, hd.height, (unsigned long long)pixels, (unsigned long long)max_pixels);
		goto done;
	}
	exif_read_file(f, &ex);

	struct err first = {0};
	switch (hd.dec) {
	case DEC_STB:
		rc = decode_stb(path, f, &img, &first);
		if (rc == DOSSIER_EFORMAT) {
			/* a variant stb rejects may still decode in FFmpeg (which, unlike
			 * libpng/libjpeg inside leptonica, can be kept from printing) */
			struct err ignore = {0};
			if (decode_av(path, &img, &ignore) == 0)
				rc = DOSSIER_OK;
		}
		break;
	case DEC_LEPT:
		rc = decode_lept(path, &img, &first);
		if (rc == DOSSIER_EFORMAT) {
			struct err ignore = {0};
			if (decode_av(path, &img, &ignore) == 0)
				rc = DOSSIER_OK;
		}
		break;
	default:
		rc = decode_av(path, &img, &first);
		break;
	}
	if (rc) {
		if (err)
			*err = first;
		goto done;
	}
	if (max_pixels && (uint64_t)img->width * (uint64_t)img->height > max_pixels) {
		/* the decoder disagreed with the header: still honour the limit */
		rc = err_set(err, DOSSIER_ETOOBIG, "%s decodes to %d x %d pixels, more than the limit of %llu",
		             path, img->width, img->height, (unsigned long long)max_pixels);
		goto done;
	}
	if (ex.orientation >= 2 && ex.orientation <= 8) {
		struct image *o = orient(img, ex.orientation);
		if (!o) {
			rc = err_set(err, DOSSIER_ENOMEM, "%s: out of memory rotating the image", path);
			goto done;
		}
		image_free(img);
		img = o;
	}
	if (info) {
		fill_info(info, &hd, &ex);
		info->width = img->width;     /* the decoder's truth, after orientation */
		info->height = img->height;
	}
	*out = img;
	img = NULL;
done:
	image_free(img);
	if (f)
		fclose(f);
	return rc;
}

/* ---------------------------------------------------- construct, resize */

int image_new(int width, int height, struct image **out, struct err *err)
{
	*out = image_alloc(width, height);
	if (!*out)
		return err_set(err, width > 0 && height > 0 && width <= IMAGE_MAX_SIDE && height <= IMAGE_MAX_SIDE
		                    ? DOSSIER_ENOMEM : DOSSIER_EINVAL,
		               "cannot allocate a %d x %d image", width, height);
	return DOSSIER_OK;
}

int image_orient(const struct image *img, int orientation, struct image **out, struct err *err)
{
	*out = NULL;
	if (!img || orientation < 1 || orientation > 8)
		return err_set(err, DOSSIER_EINVAL, "image_orient: no image or orientation %d", orientation);
	if (orientation == 1)
		return image_from_rgb(img->rgb, img->width, img->height, img->stride, out, err);
	*out = orient(img, orientation);
	if (!*out)
		return err_set(err, DOSSIER_ENOMEM, "out of memory rotating a %d x %d image", img->width, img->height);
	return DOSSIER_OK;
}

int image_from_rgb(const unsigned char *rgb, int width, int height, int stride, struct image **out,
                   struct err *err)
{
	*out = NULL;
	if (!rgb || width <= 0 || height <= 0 || stride < 3 * width)
		return err_set(err, DOSSIER_EINVAL, "image_from_rgb: bad size %d x %d (stride %d)", width, height, stride);
	struct image *img = image_alloc(width, height);
	if (!img)
		return err_set(err, DOSSIER_ENOMEM, "out of memory for a %d x %d image", width, height);
	for (int y = 0; y < height; y++)
		memcpy(img->rgb + (size_t)y * img->stride, rgb + (size_t)y * stride, (size_t)img->stride);
	*out = img;
	return DOSSIER_OK;
}

int image_resize_long_side(const struct image *img, int max_side, struct image **out, struct err *err)
{
	*out = NULL;
	if (!img || max_side <= 0)
		return err_set(err, DOSSIER_EINVAL, "image_resize_long_side: no image or max_side %d", max_side);
	int w = img->width, h = img->height, nw = w, nh = h;
	if (w > max_side || h > max_side) {
		if (w >= h) {
			nw = max_side;
			nh = (int)(((int64_t)h * max_side + w / 2) / w);
		} else {
			nh = max_side;
			nw = (int)(((int64_t)w * max_side + h / 2) / h);
		}
		if (nw < 1)
			nw = 1;
		if (nh < 1)
			nh = 1;
	}
	if (nw == w && nh == h)
		return image_from_rgb(img->rgb, w, h, img->stride, out, err);
	struct image *dst = image_alloc(nw, nh);
	if (!dst)
		return err_set(err, DOSSIER_ENOMEM, "out of memory for a %d x %d image", nw, nh);
	if (!stbir_resize_uint8(img->rgb, w, h, img->stride, dst->rgb, nw, nh, dst->stride, 3)) {
		image_free(dst);
		return err_set(err, DOSSIER_ENOMEM, "resizing a %d x %d image to %d x %d failed", w, h, nw, nh);
	}
	*out = dst;
	return DOSSIER_OK;
}

/* ---------------------------------------------------------------- encode */

struct membuf {
	unsigned char *p;
	size_t len, cap;
	int oom;
};

static void membuf_write(void *ctx, void *data, int size)
{
	struct membuf *m = ctx;
	if (m->oom || size <= 0)
		return;
	if (m->len + (size_t)size > m->cap) {
		size_t cap = m->cap ? m->cap : 64 * 1024;
		while (cap < m->len + (size_t)size)
			cap *= 2;
		unsigned char *np = realloc(m->p, cap);
		if (!np) {
			m->oom = 1;
			return;
		}
		m->p = np;
		m->cap = cap;
	}
	memcpy(m->p + m->len, data, (size_t)size);
	m->len += (size_t)size;
}

static int membuf_finish(struct membuf *m, int ok, const char *what, unsigned char **out, size_t *out_len,
                         struct err *err)
{
	if (!ok || m->oom || m->len == 0) {
		free(m->p);
		return err_set(err, m->oom ? DOSSIER_ENOMEM : DOSSIER_EINVAL, "%s encoding failed%s", what,
		               m->oom ? ": out of memory" : "");
	}
	*out = m->p;
	*out_len = m->len;
	return DOSSIER_OK;
}

int image_encode_jpeg(const struct image *img, int quality, unsigned char **out, size_t *out_len,
                      struct err *err)
{
	struct membuf m = {0};
	*out = NULL;
	*out_len = 0;
	if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
		return err_set(err, DOSSIER_EINVAL, "image_encode_jpeg: no image");
	if (quality < 1)
		quality = 1;
	if (quality > 100)
		quality = 100;
	if (img->stride != 3 * img->width) {
		/* stb's JPEG writer takes packed rows only */
		struct image *packed;
		int rc = image_from_rgb(img->rgb, img->width, img->height, img->stride, &packed, err);
		if (rc)
			return rc;
		rc = image_encode_jpeg(packed, quality, out, out_len, err);
		image_free(packed);
		return rc;
	}
	int ok = stbi_write_jpg_to_func(membuf_write, &m, img->width, img->height, 3, img->rgb, quality);
	return membuf_finish(&m, ok, "JPEG", out, out_len, err);
}

int image_encode_png(const struct image *img, unsigned char **out, size_t *out_len, struct err *err)
{
	struct membuf m = {0};
	*out = NULL;
	*out_len = 0;
	if (!img || !img->rgb || img->width <= 0 || img->height <= 0)
		return err_set(err, DOSSIER_EINVAL, "image_encode_png: no image");
	int ok = stbi_write_png_to_func(membuf_write, &m, img->width, img->height, 3, img->rgb, img->stride);
	return membuf_finish(&m, ok, "PNG", out, out_len, err);
}
