/*
 * bench/exif.c — the EXIF reader (media/exif.h) on generated blocks and JPEGs.
 *
 *   bench_exif [DIR] [N]   (DIR defaults to $TMPDIR or /tmp; N calls per case, default 20000)
 *
 * Cases: a well-formed block (IFD0 with Make, Model, Orientation, DateTime,
 * the Exif IFD with DateTimeOriginal and pixel sizes, the GPS IFD), in both
 * byte orders; the same as a JPEG file read through exif_read_file (APP2
 * then APP1, then 200 kB of scan data); and damaged blocks: cut in the middle
 * of IFD0, every offset pointing outside, IFDs pointing at themselves and at
 * each other (loops), an IFD claiming 65535 entries, counts that overflow.
 * Prints per case the time per call and what was read (found, orientation,
 * date, make, model; with -DBENCH_NEW also GPS and pixel sizes). No pass/fail.
 * bench/exif.sh builds it against the hand-written reader and libexif's.
 */
#include "media/exif.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct bw {
	unsigned char b[4096];
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
/* an ASCII entry of up to 3 characters and its NUL, inline */
static void ent_str(struct bw *w, unsigned tag, const char *s)
{
	put16(w, tag); put16(w, 2); put32(w, (uint32_t)strlen(s) + 1);
	for (int i = 0; i < 4; i++) put8(w, i < (int)strlen(s) ? (unsigned char)s[i] : 0);
}
static void at(struct bw *w, size_t off) { while (w->n < off) put8(w, 0); }
static void bytes(struct bw *w, const void *p, size_t n) { memcpy(w->b + w->n, p, n); w->n += n; }

enum damage { OK, CUT, OUTSIDE, LOOP, HUGE_COUNT, OVERFLOW };

/* Layout: header 8 | IFD0 at 8 (7 entries: 2+84+4=90) | Exif IFD at 100 (3: 42) |
 * GPS IFD at 150 (4: 54) | data at 210. */
static size_t build(unsigned char *out, int be, enum damage dmg)
{
	struct bw w = { .be = be };
	const char make[] = "Canon", model[] = "EOS 5D Mark IV", dt[] = "2021:07:05 08:00:00", dto[] = "2021:07:04 12:34:56";
	uint32_t d_make = 210, d_model = d_make + sizeof make, d_dt = d_model + sizeof model, d_dto = d_dt + sizeof dt;
	uint32_t d_lat = 280, d_lon = d_lat + 24;
	uint32_t bad = 0xFFFFFF00u;
	int out_ = dmg == OUTSIDE;
	put8(&w, be ? 'M' : 'I'); put8(&w, be ? 'M' : 'I'); put16(&w, 42); put32(&w, 8);
	put16(&w, dmg == HUGE_COUNT ? 65535 : 7);
	ent(&w, 0x010F, 2, sizeof make, out_ ? bad : d_make, 0);
	ent(&w, 0x0110, 2, dmg == OVERFLOW ? 0xFFFFFFF0u : sizeof model, out_ ? bad : d_model, 0);
	ent(&w, 0x0112, 3, 1, 6, 1);
	ent(&w, 0x0132, 2, sizeof dt, out_ ? bad : d_dt, 0);
	ent(&w, 0x8769, 4, 1, out_ ? bad : dmg == LOOP ? 8 : 100, 0);
	ent(&w, 0x8825, 4, 1, out_ ? bad : dmg == LOOP ? 100 : 150, 0);
	ent_str(&w, 0x0131, "TEX");               /* Software, inline */
	put32(&w, dmg == LOOP ? 8 : 0);           /* next IFD: itself when looping */
	at(&w, 100);
	put16(&w, 3);
	ent(&w, 0x9003, 2, sizeof dto, out_ ? bad : d_dto, 0);
	ent(&w, 0xA002, 4, 1, 4032, 0);
	ent(&w, 0xA003, 4, 1, 3024, 0);
	put32(&w, dmg == LOOP ? 100 : 0);
	at(&w, 150);
	put16(&w, 4);
	ent_str(&w, 0x0001, "N");
	ent(&w, 0x0002, 5, dmg == OVERFLOW ? 0x40000000u : 3, out_ ? bad : d_lat, 0);
	ent_str(&w, 0x0003, "W");
	ent(&w, 0x0004, 5, 3, out_ ? bad : d_lon, 0);
	put32(&w, 0);
	at(&w, d_make);
	bytes(&w, make, sizeof make); bytes(&w, model, sizeof model); bytes(&w, dt, sizeof dt); bytes(&w, dto, sizeof dto);
	at(&w, d_lat);
	uint32_t lat[6] = {48, 1, 51, 1, 3000, 100}, lon[6] = {2, 1, 17, 1, 4000, 100};  /* 48°51'30" N, 2°17'40" W */
	for (int i = 0; i < 6; i++) put32(&w, lat[i]);
	for (int i = 0; i < 6; i++) put32(&w, lon[i]);
	size_t n = w.n;
	if (dmg == CUT)
		n = 8 + 2 + 12 * 3 + 5;   /* in the middle of IFD0's fourth entry */
	memcpy(out, w.b, n);
	return n;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void show(const char *name, double us, int rc, const struct exif *x)
{
	printf("%-22s %8.2f us  rc=%-3d found=%d orient=%d date='%s' make='%s' model='%s'", name, us, rc, x->found,
	       x->orientation, x->datetime_original, x->make, x->model);
#ifdef BENCH_NEW
	if (x->has_gps)
		printf(" gps=%.5f,%.5f", x->gps_lat, x->gps_lon);
	if (x->pixel_width)
		printf(" px=%dx%d", x->pixel_width, x->pixel_height);
#endif
	printf("\n");
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	int n = argc > 2 ? atoi(argv[2]) : 20000;
	static const struct { const char *name; int be; enum damage d; } cases[] = {
		{"good II", 0, OK}, {"good MM", 1, OK}, {"cut IFD0", 0, CUT}, {"offsets outside", 0, OUTSIDE},
		{"IFD loops", 1, LOOP}, {"65535 entries", 0, HUGE_COUNT}, {"count overflow", 1, OVERFLOW},
	};
	unsigned char blk[4096];
	struct exif x;
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		size_t len = build(blk, cases[c].be, cases[c].d);
		int rc = 0;
		double t0 = now_s();
		for (int i = 0; i < n; i++)
			rc = exif_parse_mem(blk, len, &x);
		show(cases[c].name, (now_s() - t0) / n * 1e6, rc, &x);
	}
	/* a JPEG: SOI, APP2, APP1 Exif, 200 kB of "scan data", EOI */
	char path[4096];
	snprintf(path, sizeof path, "%s/bench-exif.jpg", dir);
	FILE *f = fopen(path, "wb");
	if (!f) {
		perror(path);
		return 1;
	}
	size_t len = build(blk, 0, OK);
	fwrite("\xFF\xD8\xFF\xE2\x00\x06ICCx", 1, 10, f);
	unsigned seg = (unsigned)(2 + 6 + len);
	fputc(0xFF, f); fputc(0xE1, f); fputc((int)(seg >> 8), f); fputc((int)(seg & 0xff), f);
	fwrite("Exif\0\0", 1, 6, f);
	fwrite(blk, 1, len, f);
	fwrite("\xFF\xDA\x00\x02", 1, 4, f);
	for (int i = 0; i < 200000; i++)
		fputc(i & 0x7f, f);
	fwrite("\xFF\xD9", 1, 2, f);
	fclose(f);
	int rc = 0;
	int files = n / 10 ? n / 10 : 1;
	double t0 = now_s();
	for (int i = 0; i < files; i++) {
		FILE *g = fopen(path, "rb");
		rc = exif_read_file(g, &x);
		fclose(g);
	}
	show("JPEG file (open+read)", (now_s() - t0) / files * 1e6, rc, &x);
	remove(path);
	return 0;
}
