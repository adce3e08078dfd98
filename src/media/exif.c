/*
 * exif.c — a small, bounds-checked EXIF reader.
 *
 * EXIF is a TIFF structure: an 8-byte header giving the byte order and the
 * offset of IFD0, then IFDs of 12-byte entries (tag, type, count, value or
 * offset). Every offset is relative to the header and is checked against the
 * block's length before it is read. Only IFD0 and the Exif sub-IFD are
 * visited, each once, so a looping file cannot make us spin.
 */
#include "media/exif.h"
#include "core/err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define EXIF_MAX_ENTRIES   1024          /* entries read per IFD */
#define EXIF_MAX_BLOCK     (1u << 20)    /* an eXIf / EXIF chunk we are willing to read */
#define JPEG_MAX_SEGMENTS  512
#define PNG_MAX_CHUNKS     4096
#define WEBP_MAX_CHUNKS    64

enum {
	TAG_MAKE = 0x010F,
	TAG_MODEL = 0x0110,
	TAG_ORIENTATION = 0x0112,
	TAG_EXIF_IFD = 0x8769,
	TAG_DATETIME_ORIGINAL = 0x9003,
};

/* Where the TIFF block lives: in memory, or at [base, base+len) of a file. */
struct tsrc {
	const unsigned char *mem;
	FILE *f;
	uint64_t base;
	uint64_t len;
	int big_endian;
};

static int src_read(const struct tsrc *s, uint64_t off, void *buf, size_t n)
{
	if (off > s->len || n > s->len - off)
		return -1;
	if (s->mem) {
		memcpy(buf, s->mem + off, n);
		return 0;
	}
	if (fseeko(s->f, (off_t)(s->base + off), SEEK_SET) != 0)
		return -1;
	return fread(buf, 1, n, s->f) == n ? 0 : -1;
}

static unsigned u16(const struct tsrc *s, const unsigned char *p)
{
	return s->big_endian ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t u32(const struct tsrc *s, const unsigned char *p)
{
	return s->big_endian
		? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
		: (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static unsigned type_size(unsigned type)
{
	switch (type) {
	case 1: case 2: case 6: case 7: return 1;   /* BYTE ASCII SBYTE UNDEFINED */
	case 3: case 8: return 2;                   /* SHORT SSHORT */
	case 4: case 9: case 11: case 13: return 4; /* LONG SLONG FLOAT IFD */
	case 5: case 10: case 12: return 8;         /* RATIONAL SRATIONAL DOUBLE */
	default: return 0;
	}
}

/* Reads up to n bytes of an entry's value into buf; returns the byte count or -1. */
static long entry_value(const struct tsrc *s, const unsigned char *e, void *buf, size_t n)
{
	unsigned ts = type_size(u16(s, e + 2));
	uint64_t count = u32(s, e + 4);
	if (!ts)
		return -1;
	uint64_t size = count * ts;
	if (size > n)
		size = n;
	if (count * ts <= 4) {
		memcpy(buf, e + 8, (size_t)size);
		return (long)size;
	}
	if (src_read(s, u32(s, e + 8), buf, (size_t)size) != 0)
		return -1;
	return (long)size;
}

static long entry_uint(const struct tsrc *s, const unsigned char *e)
{
	unsigned type = u16(s, e + 2);
	if (u32(s, e + 4) < 1)
		return -1;
	if (type == 3)
		return (long)u16(s, e + 8);
	if (type == 4 || type == 13)
		return (long)u32(s, e + 8);
	return -1;
}

/* Copies printable ASCII of an ASCII/UNDEFINED entry, trimmed, into dst. */
static void entry_text(const struct tsrc *s, const unsigned char *e, char *dst, size_t n)
{
	unsigned char raw[256];
	unsigned type = u16(s, e + 2);
	size_t k = 0;

	dst[0] = '\0';
	if (type != 2 && type != 7)
		return;
	long got = entry_value(s, e, raw, n - 1 < sizeof raw ? n - 1 : sizeof raw);
	if (got <= 0)
		return;
	for (long i = 0; i < got && raw[i]; i++)
		dst[k++] = raw[i] >= 0x20 && raw[i] < 0x7f ? (char)raw[i] : '?';
	while (k > 0 && dst[k - 1] == ' ')
		k--;
	dst[k] = '\0';
	size_t lead = strspn(dst, " ");
	memmove(dst, dst + lead, k - lead + 1);
}

/* "YYYY:MM:DD HH:MM:SS" → "YYYY-MM-DDTHH:MM:SS"; "" if malformed or blank. */
static void exif_date(const char *in, char out[32])
{
	static const char shape[] = "dddd:dd:dd dd:dd:dd";
	out[0] = '\0';
	for (int i = 0; shape[i]; i++) {
		char c = in[i];
		if (shape[i] == 'd' ? (c < '0' || c > '9') : (c != shape[i] && !(i == 10 && c == 'T')))
			return;
	}
	int mon = (in[5] - '0') * 10 + (in[6] - '0');
	int day = (in[8] - '0') * 10 + (in[9] - '0');
	int hour = (in[11] - '0') * 10 + (in[12] - '0');
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 24)
		return;
	snprintf(out, 32, "%.4s-%.2s-%.2sT%.8s", in, in + 5, in + 8, in + 11);
}

/* Visits one IFD; *sub receives the Exif sub-IFD offset when seen. */
static void read_ifd(const struct tsrc *s, uint32_t off, int is_exif_ifd, struct exif *out, uint32_t *sub)
{
	unsigned char b[12];
	if (src_read(s, off, b, 2) != 0)
		return;
	unsigned n = u16(s, b);
	if (n > EXIF_MAX_ENTRIES)
		n = EXIF_MAX_ENTRIES;
	for (unsigned i = 0; i < n; i++) {
		if (src_read(s, (uint64_t)off + 2 + 12ull * i, b, 12) != 0)
			return;
		unsigned tag = u16(s, b);
		if (!is_exif_ifd) {
			if (tag == TAG_ORIENTATION) {
				long o = entry_uint(s, b);
				out->orientation = o >= 1 && o <= 8 ? (int)o : 1;
			} else if (tag == TAG_MAKE) {
				entry_text(s, b, out->make, sizeof out->make);
			} else if (tag == TAG_MODEL) {
				entry_text(s, b, out->model, sizeof out->model);
			} else if (tag == TAG_EXIF_IFD && sub) {
				long v = entry_uint(s, b);
				if (v > 0)
					*sub = (uint32_t)v;
			}
		} else if (tag == TAG_DATETIME_ORIGINAL) {
			char raw[32];
			entry_text(s, b, raw, sizeof raw);
			exif_date(raw, out->datetime_original);
		}
	}
}

static void exif_reset(struct exif *out)
{
	memset(out, 0, sizeof *out);
	out->orientation = 1;
}

static int parse_src(struct tsrc *s, struct exif *out)
{
	unsigned char h[8];
	if (src_read(s, 0, h, 8) != 0)
		return DOSSIER_EFORMAT;
	if (h[0] == 'I' && h[1] == 'I')
		s->big_endian = 0;
	else if (h[0] == 'M' && h[1] == 'M')
		s->big_endian = 1;
	else
		return DOSSIER_EFORMAT;
	if (u16(s, h + 2) != 42)
		return DOSSIER_EFORMAT;
	out->found = 1;
	uint32_t sub = 0, ifd0 = u32(s, h + 4);
	read_ifd(s, ifd0, 0, out, &sub);
	if (sub && sub != ifd0)
		read_ifd(s, sub, 1, out, NULL);
	return DOSSIER_OK;
}

int exif_parse_mem(const void *tiff, size_t len, struct exif *out)
{
	struct tsrc s = { .mem = tiff, .len = len };
	exif_reset(out);
	if (!tiff)
		return DOSSIER_EFORMAT;
	return parse_src(&s, out);
}

/* Reads n bytes at the current position into a new buffer and parses it as
 * EXIF, skipping an optional "Exif\0\0" prefix. */
static int parse_block_at(FILE *f, uint64_t n, struct exif *out)
{
	if (n < 8 || n > EXIF_MAX_BLOCK)
		return DOSSIER_EFORMAT;
	unsigned char *p = malloc((size_t)n);
	if (!p)
		return DOSSIER_ENOMEM;
	int rc = DOSSIER_EFORMAT;
	if (fread(p, 1, (size_t)n, f) == n) {
		size_t skip = n >= 14 && memcmp(p, "Exif\0\0", 6) == 0 ? 6 : 0;
		rc = exif_parse_mem(p + skip, (size_t)n - skip, out);
	}
	free(p);
	return rc;
}

static int read_jpeg(FILE *f, struct exif *out)
{
	unsigned char b[8];
	if (fseeko(f, 2, SEEK_SET) != 0)
		return DOSSIER_OK;
	for (int seg = 0; seg < JPEG_MAX_SEGMENTS; seg++) {
		int c = fgetc(f);
		if (c != 0xFF)
			return DOSSIER_OK;   /* not at a marker: give up quietly */
		while ((c = fgetc(f)) == 0xFF)
			;
		if (c == EOF || c == 0xDA || c == 0xD9)
			return DOSSIER_OK;   /* image data or end: no EXIF before it */
		if (c == 0x01 || (c >= 0xD0 && c <= 0xD8))
			continue;            /* markers without a length */
		if (fread(b, 1, 2, f) != 2)
			return DOSSIER_OK;
		unsigned len = (unsigned)b[0] << 8 | b[1];
		if (len < 2)
			return DOSSIER_EFORMAT;
		off_t body = ftello(f);
		if (c == 0xE1 && len >= 2 + 6 + 8) {
			if (fread(b, 1, 6, f) != 6)
				return DOSSIER_OK;
			if (memcmp(b, "Exif\0\0", 6) == 0)
				return parse_block_at(f, len - 2 - 6, out);
		}
		if (body < 0 || fseeko(f, body + (off_t)(len - 2), SEEK_SET) != 0)
			return DOSSIER_OK;
	}
	return DOSSIER_OK;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int read_png(FILE *f, struct exif *out)
{
	unsigned char b[8];
	if (fseeko(f, 8, SEEK_SET) != 0)
		return DOSSIER_OK;
	for (int i = 0; i < PNG_MAX_CHUNKS; i++) {
		if (fread(b, 1, 8, f) != 8)
			return DOSSIER_OK;
		uint32_t len = be32(b);
		if (memcmp(b + 4, "IDAT", 4) == 0 || memcmp(b + 4, "IEND", 4) == 0)
			return DOSSIER_OK;   /* eXIf must come before the image data */
		if (memcmp(b + 4, "eXIf", 4) == 0)
			return parse_block_at(f, len, out);
		if (len > 0x7FFFFFFFu || fseeko(f, (off_t)len + 4, SEEK_CUR) != 0)
			return DOSSIER_OK;
	}
	return DOSSIER_OK;
}

static int read_webp(FILE *f, struct exif *out)
{
	unsigned char b[8];
	if (fseeko(f, 12, SEEK_SET) != 0)
		return DOSSIER_OK;
	for (int i = 0; i < WEBP_MAX_CHUNKS; i++) {
		if (fread(b, 1, 8, f) != 8)
			return DOSSIER_OK;
		uint32_t len = le32(b + 4);
		if (memcmp(b, "EXIF", 4) == 0)
			return parse_block_at(f, len, out);
		if (fseeko(f, (off_t)len + (len & 1), SEEK_CUR) != 0)
			return DOSSIER_OK;
	}
	return DOSSIER_OK;
}

int exif_read_file(FILE *f, struct exif *out)
{
	unsigned char h[12];
	exif_reset(out);
	if (!f || fseeko(f, 0, SEEK_SET) != 0 || fread(h, 1, sizeof h, f) != sizeof h)
		return DOSSIER_OK;
	if (h[0] == 0xFF && h[1] == 0xD8)
		return read_jpeg(f, out);
	if (memcmp(h, "\x89PNG", 4) == 0)
		return read_png(f, out);
	if (memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0)
		return read_webp(f, out);
	if (memcmp(h, "II*\0", 4) == 0 || memcmp(h, "MM\0*", 4) == 0) {
		/* a TIFF file is itself the TIFF structure; its IFDs may sit anywhere */
		if (fseeko(f, 0, SEEK_END) != 0)
			return DOSSIER_OK;
		off_t size = ftello(f);
		if (size < 8)
			return DOSSIER_OK;
		struct tsrc s = { .f = f, .base = 0, .len = (uint64_t)size };
		return parse_src(&s, out);
	}
	return DOSSIER_OK;
}

void exif_oriented_size(int o, int w, int h, int *out_w, int *out_h)
{
	int swap = o >= 5 && o <= 8;
	*out_w = swap ? h : w;
	*out_h = swap ? w : h;
}
