/*
 * test_media_image.c — image_load/probe/resize/encode: EXIF orientation and
 * fields (JPEGs with an APP1 segment built here, both byte orders), damaged
 * EXIF, a PNG header claiming 60000x60000, a PNG with a broken CRC, alpha,
 * WebP/TIFF/GIF/BMP, resize and encode round trips.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stb_image_write.h>

#include "core/err.h"
#include "media/image.h"
#include "test_media_fixtures.h"

/* ------------------------------------------------------------- builders */

struct bw {
	unsigned char b[1024];
	size_t n;
	int be;
};

static void put8(struct bw *w, unsigned v) { w->b[w->n++] = (unsigned char)v; }
static void put16(struct bw *w, unsigned v)
{
	if (w->be) { put8(w, v >> 8); put8(w, v & 0xff); }
	else { put8(w, v & 0xff); put8(w, v >> 8); }
}
static void put32(struct bw *w, uint32_t v)
{
	if (w->be) { put16(w, v >> 16); put16(w, v & 0xffff); }
	else { put16(w, v & 0xffff); put16(w, v >> 16); }
}
static void entry(struct bw *w, unsigned tag, unsigned type, uint32_t count, uint32_t value_or_off, int is_short)
{
	put16(w, tag);
	put16(w, type);
	put32(w, count);
	if (is_short) { put16(w, value_or_off); put16(w, 0); }
	else put32(w, value_or_off);
}

/* A TIFF block: IFD0 {Make, Model, Orientation, ExifIFD} + Exif IFD {DateTimeOriginal}.
 * bad_offsets points Model and the Exif IFD outside the block. */
static size_t build_exif(unsigned char *out, int be, int orientation, int bad_offsets)
{
	struct bw w = { .be = be };
	const char make[] = "Canon", model[] = "EOS 5D Mark IV", date[] = "2021:07:04 12:34:56";
	/* layout: header 8 | IFD0 (2 + 4*12 + 4 = 54) at 8 | ExifIFD (2 + 12 + 4 = 18) at 62 | strings at 80 */
	uint32_t ifd0 = 8, exif_ifd = 62, s_make = 80, s_model = s_make + sizeof make, s_date = s_model + sizeof model;
	put8(&w, be ? 'M' : 'I'); put8(&w, be ? 'M' : 'I'); put16(&w, 42); put32(&w, ifd0);
	put16(&w, 4);
	entry(&w, 0x010F, 2, sizeof make, s_make, 0);
	entry(&w, 0x0110, 2, sizeof model, bad_offsets ? 0xFFFFFF00u : s_model, 0);
	entry(&w, 0x0112, 3, 1, (uint32_t)orientation, 1);
	entry(&w, 0x8769, 4, 1, bad_offsets ? 0x7FFFFFF0u : exif_ifd, 0);
	put32(&w, 0);
	assert_int_equal(w.n, exif_ifd);
	put16(&w, 1);
	entry(&w, 0x9003, 2, sizeof date, s_date, 0);
	put32(&w, 0);
	assert_int_equal(w.n, s_make);
	memcpy(w.b + w.n, make, sizeof make); w.n += sizeof make;
	memcpy(w.b + w.n, model, sizeof model); w.n += sizeof model;
	memcpy(w.b + w.n, date, sizeof date); w.n += sizeof date;
	memcpy(out, w.b, w.n);
	return w.n;
}

/* A 64x32 image, left half red and right half blue. */
static struct image *halves(void)
{
	unsigned char px[64 * 32 * 3];
	for (int y = 0; y < 32; y++)
		for (int x = 0; x < 64; x++) {
			unsigned char *p = px + (y * 64 + x) * 3;
			p[0] = x < 32 ? 230 : 20;
			p[1] = 20;
			p[2] = x < 32 ? 20 : 230;
		}
	struct image *img;
	struct err e = {0};
	assert_int_equal(image_from_rgb(px, 64, 32, 64 * 3, &img, &e), 0);
	return img;
}

/* Writes name: the halves JPEG with an APP1 Exif segment after SOI (and an APP0 before it). */
static void write_exif_jpeg(const char *name, int be, int orientation, int bad_offsets)
{
	struct image *img = halves();
	unsigned char *jpg, tiff[512], seg[700];
	size_t n;
	struct err e = {0};
	assert_int_equal(image_encode_jpeg(img, 95, &jpg, &n, &e), 0);
	image_free(img);
	size_t tn = build_exif(tiff, be, orientation, bad_offsets);
	size_t k = 0;
	/* an unrelated APP2 segment first, to exercise the segment walk */
	seg[k++] = 0xFF; seg[k++] = 0xE2; seg[k++] = 0; seg[k++] = 6;
	memcpy(seg + k, "ICCx", 4); k += 4;
	seg[k++] = 0xFF; seg[k++] = 0xE1;
	size_t len = 2 + 6 + tn;
	seg[k++] = (unsigned char)(len >> 8); seg[k++] = (unsigned char)len;
	memcpy(seg + k, "Exif\0\0", 6); k += 6;
	memcpy(seg + k, tiff, tn); k += tn;
	unsigned char *out = malloc(n + k);
	memcpy(out, jpg, 2);                 /* SOI */
	memcpy(out + 2, seg, k);
	memcpy(out + 2 + k, jpg + 2, n - 2);
	fx_write(name, out, n + k);
	free(out);
	free(jpg);
}

static uint32_t crc32_png(const unsigned char *p, size_t n)
{
	uint32_t c = 0xFFFFFFFFu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
	}
	return c ^ 0xFFFFFFFFu;
}

static void be32w(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = (unsigned char)v;
}

/* Pixel (x, y) of img as a colour class: 'r' red, 'b' blue, '?' other. */
static char colour_at(const struct image *img, int x, int y)
{
	const unsigned char *p = img->rgb + (size_t)y * img->stride + 3 * (size_t)x;
	if (p[0] > 150 && p[2] < 100) return 'r';
	if (p[2] > 150 && p[0] < 100) return 'b';
	return '?';
}

static int setup(void **state)
{
	(void)state;
	if (!fx_have_ffmpeg())
		return -1;
	if (fx_ffmpeg("-f lavfi -i testsrc=size=320x240 -frames:v 1 src.png") ||
	    fx_ffmpeg("-i src.png -c:v libwebp -quality 90 src.webp") ||
	    fx_ffmpeg("-i src.png src.tiff") ||
	    fx_ffmpeg("-i src.png -pix_fmt rgb48le src16.tiff") ||
	    fx_ffmpeg("-i src.png src.gif") ||
	    fx_ffmpeg("-i src.png src.bmp"))
		return -1;
	return 0;
}

/* ---------------------------------------------------------------- tests */

static void exif_orientation_rotates_and_fields_are_read(void **state)
{
	(void)state;
	for (int be = 0; be <= 1; be++) {
		const char *name = be ? "exif_mm.jpg" : "exif_ii.jpg";
		write_exif_jpeg(name, be, 6, 0);
		struct image *img;
		struct image_info info;
		struct err e = {0};
		assert_int_equal(image_load(fx_path(name), 100000000, &img, &info, &e), 0);
		/* stored 64x32, left red / right blue; rotated 90 clockwise: 32x64, red on top */
		assert_int_equal(img->width, 32);
		assert_int_equal(img->height, 64);
		assert_int_equal(colour_at(img, 16, 4), 'r');
		assert_int_equal(colour_at(img, 16, 60), 'b');
		assert_int_equal(info.width, 32);
		assert_int_equal(info.height, 64);
		assert_int_equal(info.orientation, 6);
		assert_string_equal(info.format, "jpeg");
		assert_string_equal(info.captured_at, "2021-07-04T12:34:56");
		assert_string_equal(info.camera_make, "Canon");
		assert_string_equal(info.camera_model, "EOS 5D Mark IV");
		image_free(img);

		struct image_info pi;
		assert_int_equal(image_probe(fx_path(name), &pi, &e), 0);
		assert_int_equal(pi.width, 32);
		assert_int_equal(pi.height, 64);
		assert_string_equal(pi.camera_model, "EOS 5D Mark IV");
	}
}

static void every_orientation_puts_red_where_expected(void **state)
{
	(void)state;
	/* where the red half ends up: 'L'eft, 'R'ight, 'T'op, 'B'ottom */
	static const char where[9] = { 0, 'L', 'R', 'R', 'L', 'T', 'T', 'B', 'B' };
	for (int o = 1; o <= 8; o++) {
		char name[32];
		snprintf(name, sizeof name, "orient%d.jpg", o);
		write_exif_jpeg(name, 0, o, 0);
		struct image *img;
		struct err e = {0};
		assert_int_equal(image_load(fx_path(name), 0, &img, NULL, &e), 0);
		int portrait = o >= 5;
		assert_int_equal(img->width, portrait ? 32 : 64);
		assert_int_equal(img->height, portrait ? 64 : 32);
		char got;
		if (portrait)
			got = colour_at(img, 16, 4) == 'r' ? 'T' : colour_at(img, 16, 60) == 'r' ? 'B' : '?';
		else
			got = colour_at(img, 4, 16) == 'r' ? 'L' : colour_at(img, 60, 16) == 'r' ? 'R' : '?';
		if (got != where[o])
			fail_msg("orientation %d: red half at %c, expected %c", o, got, where[o]);
		image_free(img);
	}
}

static void damaged_exif_offsets_are_ignored(void **state)
{
	(void)state;
	write_exif_jpeg("exif_bad.jpg", 0, 6, 1);
	struct image *img;
	struct image_info info;
	struct err e = {0};
	assert_int_equal(image_load(fx_path("exif_bad.jpg"), 0, &img, &info, &e), 0);
	assert_int_equal(info.orientation, 6);          /* inline value still good */
	assert_string_equal(info.camera_make, "Canon");
	assert_string_equal(info.camera_model, "");     /* offset outside the block */
	assert_string_equal(info.captured_at, "");      /* Exif IFD outside the block */
	image_free(img);
}

static void huge_png_header_is_refused_before_decoding(void **state)
{
	(void)state;
	unsigned char png[8 + 25 + 12 + 12];
	memcpy(png, "\x89PNG\r\n\x1a\n", 8);
	unsigned char *ihdr = png + 8;
	be32w(ihdr, 13);
	memcpy(ihdr + 4, "IHDR", 4);
	be32w(ihdr + 8, 60000);
	be32w(ihdr + 12, 60000);
	ihdr[16] = 8; ihdr[17] = 2; ihdr[18] = 0; ihdr[19] = 0; ihdr[20] = 0;
	be32w(ihdr + 21, crc32_png(ihdr + 4, 17));
	unsigned char *idat = ihdr + 25;
	be32w(idat, 0);
	memcpy(idat + 4, "IDAT", 4);
	be32w(idat + 8, crc32_png(idat + 4, 4));
	unsigned char *iend = idat + 12;
	be32w(iend, 0);
	memcpy(iend + 4, "IEND", 4);
	be32w(iend + 8, crc32_png(iend + 4, 4));
	fx_write("huge.png", png, sizeof png);

	struct image *img = (struct image *)1;
	struct err e = {0};
	double t0 = fx_now();
	assert_int_equal(image_load(fx_path("huge.png"), 100000000, &img, NULL, &e), DOSSIER_ETOOBIG);
	double secs = fx_now() - t0;
	assert_null(img);
	assert_non_null(strstr(e.msg, "60000 x 60000"));
	assert_non_null(strstr(e.msg, "huge.png"));
	assert_true(secs < 0.1);

	struct image_info info;
	assert_int_equal(image_probe(fx_path("huge.png"), &info, &e), 0);
	assert_int_equal(info.width, 60000);
	assert_string_equal(info.format, "png");
}

static void png_with_broken_crc_is_handled(void **state)
{
	(void)state;
	struct image *src = halves(), *img;
	unsigned char *png;
	size_t n;
	struct err e = {0};
	assert_int_equal(image_encode_png(src, &png, &n, &e), 0);
	/* find IDAT and break its CRC */
	size_t off = 8;
	while (off + 8 <= n && memcmp(png + off + 4, "IDAT", 4) != 0)
		off += 12 + ((size_t)png[off] << 24 | (size_t)png[off + 1] << 16 | (size_t)png[off + 2] << 8 | png[off + 3]);
	assert_true(off + 8 <= n);
	size_t len = (size_t)png[off] << 24 | (size_t)png[off + 1] << 16 | (size_t)png[off + 2] << 8 | png[off + 3];
	png[off + 8 + len] ^= 0x5a;
	fx_write("badcrc.png", png, n);
	int rc = image_load(fx_path("badcrc.png"), 0, &img, NULL, &e);
	if (rc == 0) {
		assert_int_equal(img->width, 64);
		assert_int_equal(colour_at(img, 4, 4), 'r');
		assert_int_equal(colour_at(img, 60, 4), 'b');
		image_free(img);
	} else {
		assert_int_equal(rc, DOSSIER_EFORMAT);
		assert_non_null(strstr(e.msg, "badcrc.png"));
	}
	/* pixel data cut short is a clear format error, never a crash */
	fx_write("cut.png", png, off + 8 + len / 2);
	rc = image_load(fx_path("cut.png"), 0, &img, NULL, &e);
	if (rc == 0)
		image_free(img);
	else {
		assert_int_equal(rc, DOSSIER_EFORMAT);
		assert_non_null(strstr(e.msg, "cut.png"));
	}
	free(png);
	image_free(src);
}

static void load_and_compare(const char *name, const char *format, double max_mad)
{
	struct image *ref, *img;
	struct image_info info;
	struct err e = {0};
	assert_int_equal(image_load(fx_path("src.png"), 0, &ref, NULL, &e), 0);
	int rc = image_load(fx_path(name), 0, &img, &info, &e);
	if (rc)
		fail_msg("%s: %s", name, e.msg);
	assert_int_equal(img->width, 320);
	assert_int_equal(img->height, 240);
	assert_string_equal(info.format, format);
	double mad = 0;
	for (int y = 0; y < 240; y++)
		for (int x = 0; x < 320 * 3; x++)
			mad += abs((int)ref->rgb[y * ref->stride + x] - (int)img->rgb[y * img->stride + x]);
	mad /= 320.0 * 240 * 3;
	if (mad > max_mad)
		fail_msg("%s: mean abs difference %.2f from the PNG", name, mad);
	image_free(ref);
	image_free(img);
}

static void webp_loads(void **state) { (void)state; load_and_compare("src.webp", "webp", 6); }
static void tiff_loads(void **state) { (void)state; load_and_compare("src.tiff", "tiff", 0.5); }
static void tiff_16bit_loads(void **state) { (void)state; load_and_compare("src16.tiff", "tiff", 1.5); }
static void gif_loads(void **state) { (void)state; load_and_compare("src.gif", "gif", 20); }
static void bmp_loads(void **state) { (void)state; load_and_compare("src.bmp", "bmp", 0.5); }

static void transparent_png_is_composited_on_white(void **state)
{
	(void)state;
	unsigned char px[4 * 4 * 4];
	for (int i = 0; i < 16; i++) {
		px[4 * i] = 0; px[4 * i + 1] = 0; px[4 * i + 2] = 0;
		px[4 * i + 3] = i < 8 ? 0 : 255;   /* top half transparent black, bottom opaque black */
	}
	assert_true(stbi_write_png(fx_path("alpha.png"), 4, 4, 4, px, 16));
	struct image *img;
	struct err e = {0};
	assert_int_equal(image_load(fx_path("alpha.png"), 0, &img, NULL, &e), 0);
	assert_int_equal(img->rgb[0], 255);
	assert_int_equal(img->rgb[3 * 4 * 3], 0);
	image_free(img);
}

static void resize_keeps_aspect_and_never_upscales(void **state)
{
	(void)state;
	unsigned char *px = calloc(1000 * 500 * 3, 1);
	struct image *img, *small, *same;
	struct err e = {0};
	assert_int_equal(image_from_rgb(px, 1000, 500, 3000, &img, &e), 0);
	assert_int_equal(image_resize_long_side(img, 300, &small, &e), 0);
	assert_int_equal(small->width, 300);
	assert_int_equal(small->height, 150);
	assert_int_equal(image_resize_long_side(small, 1344, &same, &e), 0);
	assert_int_equal(same->width, 300);
	assert_int_equal(same->height, 150);
	image_free(same);
	image_free(small);
	image_free(img);
	/* portrait */
	assert_int_equal(image_from_rgb(px, 500, 1000, 1500, &img, &e), 0);
	assert_int_equal(image_resize_long_side(img, 336, &small, &e), 0);
	assert_int_equal(small->width, 168);
	assert_int_equal(small->height, 336);
	image_free(small);
	image_free(img);
	free(px);
}

static void jpeg_and_png_encode_round_trip(void **state)
{
	(void)state;
	unsigned char px[96 * 64 * 3];
	for (int y = 0; y < 64; y++)
		for (int x = 0; x < 96; x++) {
			px[(y * 96 + x) * 3] = (unsigned char)(x * 2);
			px[(y * 96 + x) * 3 + 1] = (unsigned char)(y * 3);
			px[(y * 96 + x) * 3 + 2] = 128;
		}
	struct image *img, *back;
	unsigned char *bytes;
	size_t n;
	struct err e = {0};
	assert_int_equal(image_from_rgb(px, 96, 64, 96 * 3, &img, &e), 0);

	assert_int_equal(image_encode_jpeg(img, 90, &bytes, &n, &e), 0);
	assert_true(n > 100 && bytes[0] == 0xFF && bytes[1] == 0xD8);
	fx_write("rt.jpg", bytes, n);
	free(bytes);
	assert_int_equal(image_load(fx_path("rt.jpg"), 0, &back, NULL, &e), 0);
	assert_int_equal(back->width, 96);
	assert_int_equal(back->height, 64);
	double mad = 0;
	for (int i = 0; i < 96 * 64 * 3; i++)
		mad += abs((int)px[i] - (int)back->rgb[i]);
	assert_true(mad / (96 * 64 * 3) < 4.0);
	image_free(back);

	assert_int_equal(image_encode_png(img, &bytes, &n, &e), 0);
	fx_write("rt.png", bytes, n);
	free(bytes);
	assert_int_equal(image_load(fx_path("rt.png"), 0, &back, NULL, &e), 0);
	assert_memory_equal(back->rgb, px, sizeof px);   /* lossless */
	image_free(back);
	image_free(img);
}

static void non_images_are_refused_clearly(void **state)
{
	(void)state;
	struct image *img;
	struct image_info info;
	struct err e = {0};
	fx_write("notes.jpg", "not a picture at all\n", 21);
	assert_int_equal(image_load(fx_path("notes.jpg"), 0, &img, NULL, &e), DOSSIER_EFORMAT);
	assert_non_null(strstr(e.msg, "notes.jpg"));
	assert_int_equal(image_probe(fx_path("notes.jpg"), &info, &e), DOSSIER_EFORMAT);
	assert_int_equal(image_load(fx_path("missing.png"), 0, &img, NULL, &e), DOSSIER_ENOTFOUND);
	fx_write("zero.png", "", 0);
	assert_int_equal(image_load(fx_path("zero.png"), 0, &img, NULL, &e), DOSSIER_EFORMAT);
	image_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(exif_orientation_rotates_and_fields_are_read),
		cmocka_unit_test(every_orientation_puts_red_where_expected),
		cmocka_unit_test(damaged_exif_offsets_are_ignored),
		cmocka_unit_test(huge_png_header_is_refused_before_decoding),
		cmocka_unit_test(png_with_broken_crc_is_handled),
		cmocka_unit_test(webp_loads),
		cmocka_unit_test(tiff_loads),
		cmocka_unit_test(tiff_16bit_loads),
		cmocka_unit_test(gif_loads),
		cmocka_unit_test(bmp_loads),
		cmocka_unit_test(transparent_png_is_composited_on_white),
		cmocka_unit_test(resize_keeps_aspect_and_never_upscales),
		cmocka_unit_test(jpeg_and_png_encode_round_trip),
		cmocka_unit_test(non_images_are_refused_clearly),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
