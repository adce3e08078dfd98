/*
 * test_media_exif.c — the EXIF reader (libexif underneath) on blocks built
 * here: every field in both byte orders (GPS with its references, pixel
 * sizes, DateTime when DateTimeOriginal is absent), a PNG eXIf chunk read
 * from a file, and damaged blocks (cut, offsets outside, IFD loops, a count
 * that overflows, 65535 claimed entries, not TIFF at all) that must neither
 * crash nor invent values.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "media/exif.h"

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
static void ent(struct bw *w, unsigned tag, unsigned type, uint32_t count, uint32_t v, int is_short)
{
	put16(w, tag); put16(w, type); put32(w, count);
	if (is_short) { put16(w, v); put16(w, 0); } else put32(w, v);
}
static void ent_ref(struct bw *w, unsigned tag, char c)
{
	put16(w, tag); put16(w, 2); put32(w, 2);
	put8(w, (unsigned char)c); put8(w, 0); put8(w, 0); put8(w, 0);
}
static void at(struct bw *w, size_t off) { while (w->n < off) put8(w, 0); }

enum dmg { OK, NO_ORIGINAL, CUT, OUTSIDE, LOOP, OVERFLOW, HUGE_COUNT, ZERO_DENOM };

/* header | IFD0 at 8 (6 entries) | Exif IFD at 100 | GPS IFD at 150 | strings at 210 | rationals at 280 */
static size_t build(unsigned char *out, int be, enum dmg d, char lat_ref, char lon_ref)
{
	struct bw w = { .be = be };
	const char make[] = "  Nikon ", model[] = "Z 6\x01II", dt[] = "2020:01:02 03:04:05", dto[] = "2021:07:04 12:34:56";
	uint32_t s_make = 210, s_model = s_make + sizeof make, s_dt = s_model + sizeof model, s_dto = s_dt + sizeof dt;
	uint32_t bad = 0xFFFFFF00u, r_lat = 280, r_lon = r_lat + 24;
	int o = d == OUTSIDE;
	put8(&w, be ? 'M' : 'I'); put8(&w, be ? 'M' : 'I'); put16(&w, 42); put32(&w, 8);
	put16(&w, d == HUGE_COUNT ? 65535 : 6);
	ent(&w, 0x010F, 2, sizeof make, o ? bad : s_make, 0);
	ent(&w, 0x0110, 2, d == OVERFLOW ? 0xFFFFFFF0u : sizeof model, o ? bad : s_model, 0);
	ent(&w, 0x0112, 3, 1, 8, 1);
	ent(&w, 0x0132, 2, sizeof dt, o ? bad : s_dt, 0);
	ent(&w, 0x8769, 4, 1, o ? bad : d == LOOP ? 8 : 100, 0);
	ent(&w, 0x8825, 4, 1, o ? bad : d == LOOP ? 150 : 150, 0);
	put32(&w, d == LOOP ? 8 : 0);
	at(&w, 100);
	put16(&w, d == NO_ORIGINAL ? 2 : 3);
	if (d != NO_ORIGINAL)
		ent(&w, 0x9003, 2, sizeof dto, o ? bad : s_dto, 0);
	ent(&w, 0xA002, 4, 1, 6048, 0);
	ent(&w, 0xA003, 3, 1, 4024, 1);
	put32(&w, d == LOOP ? 100 : 0);
	at(&w, 150);
	put16(&w, 4);
	ent_ref(&w, 0x0001, lat_ref);
	ent(&w, 0x0002, 5, 3, o ? bad : r_lat, 0);
	ent_ref(&w, 0x0003, lon_ref);
	ent(&w, 0x0004, 5, 3, o ? bad : r_lon, 0);
	put32(&w, d == LOOP ? 150 : 0);
	at(&w, s_make);
	memcpy(w.b + w.n, make, sizeof make); w.n += sizeof make;
	memcpy(w.b + w.n, model, sizeof model); w.n += sizeof model;
	memcpy(w.b + w.n, dt, sizeof dt); w.n += sizeof dt;
	memcpy(w.b + w.n, dto, sizeof dto); w.n += sizeof dto;
	at(&w, r_lat);
	uint32_t lat[6] = {59, 1, 20, 1, 1530, 100}, lon[6] = {18, 1, 4, 1, d == ZERO_DENOM ? 5 : 30, d == ZERO_DENOM ? 0 : 1};
	for (int i = 0; i < 6; i++) put32(&w, lat[i]);
	for (int i = 0; i < 6; i++) put32(&w, lon[i]);
	size_t n = w.n;
	if (d == CUT)
		n = 8 + 2 + 12 * 3 + 5;
	memcpy(out, w.b, n);
	return n;
}

static void every_field_in_both_byte_orders(void **state)
{
	(void)state;
	for (int be = 0; be < 2; be++) {
		unsigned char b[1024];
		struct exif x;
		size_t n = build(b, be, OK, 'S', 'W');
		assert_int_equal(exif_parse_mem(b, n, &x), 0);
		assert_int_equal(x.found, 1);
		assert_int_equal(x.orientation, 8);
		assert_string_equal(x.make, "Nikon");        /* trimmed */
		assert_string_equal(x.model, "Z 6?II");      /* a control byte shown as ? */
		assert_string_equal(x.datetime_original, "2021-07-04T12:34:56");
		assert_int_equal(x.has_gps, 1);
		assert_true(fabs(x.gps_lat - -(59 + 20 / 60.0 + 15.3 / 3600)) < 1e-6);
		assert_true(fabs(x.gps_lon - -(18 + 4 / 60.0 + 30 / 3600.0)) < 1e-6);
		assert_int_equal(x.pixel_width, 6048);
		assert_int_equal(x.pixel_height, 4024);
		n = build(b, be, OK, 'N', 'E');
		assert_int_equal(exif_parse_mem(b, n, &x), 0);
		assert_true(x.gps_lat > 59 && x.gps_lon > 18);
	}
}

static void datetime_is_the_fallback(void **state)
{
	(void)state;
	unsigned char b[1024];
	struct exif x;
	size_t n = build(b, 1, NO_ORIGINAL, 'N', 'E');
	assert_int_equal(exif_parse_mem(b, n, &x), 0);
	assert_string_equal(x.datetime_original, "2020-01-02T03:04:05");
}

static void damaged_blocks_give_what_is_sound(void **state)
{
	(void)state;
	unsigned char b[1024];
	struct exif x;
	size_t n = build(b, 0, CUT, 'N', 'E');
	assert_int_equal(exif_parse_mem(b, n, &x), 0);
	assert_int_equal(x.orientation, 8);            /* inline, before the cut */
	assert_string_equal(x.make, "");               /* its bytes are past the cut */
	assert_int_equal(x.has_gps, 0);

	n = build(b, 1, OUTSIDE, 'N', 'E');
	assert_int_equal(exif_parse_mem(b, n, &x), 0);
	assert_int_equal(x.found, 1);
	assert_int_equal(x.orientation, 8);
	assert_string_equal(x.make, "");
	assert_string_equal(x.datetime_original, "");
	assert_int_equal(x.has_gps, 0);

	n = build(b, 0, LOOP, 'N', 'E');                /* must end */
	assert_int_equal(exif_parse_mem(b, n, &x), 0);
	assert_string_equal(x.make, "Nikon");

	n = build(b, 1, OVERFLOW, 'N', 'E');
	assert_int_equal(exif_parse_mem(b, n, &x), 0);
	assert_string_equal(x.model, "");              /* 0xFFFFFFF0 characters: dropped */
	assert_string_equal(x.make, "Nikon");

	n = build(b, 0, HUGE_COUNT, 'N', 'E');
	assert_int_equal(exif_parse_mem(b, n, &x), 0);
	assert_int_equal(x.orientation, 8);

	n = build(b, 0, ZERO_DENOM, 'N', 'E');
	assert_int_equal(exif_parse_mem(b, n, &x), 0);
	assert_int_equal(x.has_gps, 0);                /* a zero denominator is no position */

	assert_int_equal(exif_parse_mem("Exif\0\0II*\0", 10, &x), DOSSIER_EFORMAT);
	assert_int_equal(x.orientation, 1);
	assert_int_equal(exif_parse_mem("II*\0", 4, &x), DOSSIER_EFORMAT);
	assert_int_equal(exif_parse_mem(NULL, 0, &x), DOSSIER_EFORMAT);
	/* every prefix of a good block: no crash, never a wrong orientation */
	n = build(b, 1, OK, 'N', 'E');
	for (size_t k = 0; k <= n; k++) {
		exif_parse_mem(b, k, &x);
		assert_true(x.orientation == 1 || x.orientation == 8);
	}
}

static void png_exif_chunk_is_read(void **state)
{
	(void)state;
	unsigned char b[1024];
	size_t n = build(b, 0, OK, 'N', 'E');
	char path[] = "/tmp/test-exif-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w+b");
	fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
	unsigned char hdr[8] = {0, 0, 0, 13, 'I', 'H', 'D', 'R'};
	fwrite(hdr, 1, 8, f);
	fwrite("\0\0\0\1\0\0\0\1\x08\x02\0\0\0" "CRC!", 1, 17, f);
	unsigned char eh[8] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16), (unsigned char)(n >> 8),
	                       (unsigned char)n, 'e', 'X', 'I', 'f'};
	fwrite(eh, 1, 8, f);
	fwrite(b, 1, n, f);
	fwrite("CRC!\0\0\0\0IEND", 1, 12, f);
	fflush(f);
	struct exif x;
	assert_int_equal(exif_read_file(f, &x), 0);
	fclose(f);
	remove(path);
	assert_int_equal(x.found, 1);
	assert_int_equal(x.orientation, 8);
	assert_string_equal(x.make, "Nikon");
	assert_int_equal(x.has_gps, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_field_in_both_byte_orders),
		cmocka_unit_test(datetime_is_the_fallback),
		cmocka_unit_test(damaged_blocks_give_what_is_sound),
		cmocka_unit_test(png_exif_chunk_is_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
