/*
 * image.h — decoded images: load (EXIF orientation applied), resize, encode.
 *
 *   struct image *img;
 *   struct image_info info;
 *   if (image_load("photo.jpg", 100000000, &img, &info, &err) == 0) {
 *       struct image *small;
 *       image_resize_long_side(img, 1344, &small, &err);
 *       unsigned char *jpg; size_t n;
 *       image_encode_jpeg(small, 85, &jpg, &n, &err);   // free(jpg)
 *       image_free(small);
 *       image_free(img);
 *   }
 *
 * Formats: JPEG, PNG, GIF (first frame), BMP via stb_image; WebP, TIFF and
 * anything else leptonica or libavcodec decodes as fallbacks. Thread safe
 * (no shared state).
 */
#ifndef DOSSIER_MEDIA_IMAGE_H
#define DOSSIER_MEDIA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

struct err;

struct image {
	int width, height;     /* pixels, after EXIF orientation */
	int stride;            /* bytes per row (>= 3 * width) */
	unsigned char *rgb;    /* RGB8, owned by the image */
};

struct image_info {
	int width, height;           /* as displayed (after orientation) */
	int orientation;             /* EXIF orientation 1..8; 1 = none/absent */
	char format[16];             /* "jpeg", "png", "webp", "gif", "tiff", "bmp", ... */
	char captured_at[32];        /* EXIF DateTimeOriginal as RFC 3339 (no zone), "" if absent */
	char camera_make[64];        /* EXIF Make, "" if absent */
	char camera_model[64];       /* EXIF Model, "" if absent */
};

/*
 * Reads only the header: dimensions, format, EXIF. Cheap; no pixel decode.
 * DOSSIER_EFORMAT for a file that is not an image it can read.
 */
int image_probe(const char *path, struct image_info *out, struct err *err);

/*
 * Decodes path into RGB8 with EXIF orientation applied. Images with more than
 * max_pixels pixels (width*height from the header) are refused with
 * DOSSIER_ETOOBIG before any pixel is decoded. info may be NULL.
 * Caller frees *out with image_free.
 */
int image_load(const char *path, uint64_t max_pixels, struct image **out,
               struct image_info *info, struct err *err);

/* Wraps a copy of raw RGB8 pixels. Caller frees with image_free. */
int image_from_rgb(const unsigned char *rgb, int width, int height, int stride,
                   struct image **out, struct err *err);

/* A new width x height image with uninitialised pixels (stride = 3 * width).
 * Caller frees *out with image_free. */
int image_new(int width, int height, struct image **out, struct err *err);

/* A copy with EXIF orientation 1..8 applied (5..8 swap width and height).
 * Caller frees *out with image_free. */
int image_orient(const struct image *img, int orientation, struct image **out, struct err *err);

/* A copy scaled so the long side is at most max_side (never upscaled; aspect kept).
 * Caller frees *out with image_free. */
int image_resize_long_side(const struct image *img, int max_side, struct image **out,
                           struct err *err);

/* JPEG bytes (quality 1..100); caller frees *out with free(). */
int image_encode_jpeg(const struct image *img, int quality, unsigned char **out,
                      size_t *out_len, struct err *err);
/* PNG bytes; caller frees *out with free(). */
int image_encode_png(const struct image *img, unsigned char **out, size_t *out_len,
                     struct err *err);

void image_free(struct image *img);  /* NULL is a no-op */

#endif
