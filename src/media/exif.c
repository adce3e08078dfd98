/*
 * exif.c — a small, bounds-checked EXIF reader.
 *
 * EXIF is a TIFF structure: an 8-byte header giving the byte order and the
 * offset of IFD0, then IFDs of 12-byte entries (tag, type, count, value or
 * offset). Every offset is relative to the header and is checked against the
 * block's length before it is read. Only IFD0 and the Exif sub-IFD are
 * visited, each once, so a looping file cannot make us spin.
 */
/*
 * exif.c — EXIF fields through libexif.
 *
 * EXIF is a TIFF structure (byte order, IFD0, the Exif and GPS sub-IFDs).
 * libexif parses it; this file finds the block inside the image container
 * (JPEG APP1, PNG eXIf, WebP EXIF chunk, or a TIFF file itself), reads that
 * block alone into memory, and copies the few fields dossier uses out of
 * libexif's entries, checking each entry's format and size first.
 */
#include "media/exif.h"
#include "core/err.h"

#include <libexif/exif-data.h>

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define EXIF_MAX_BLOCK     (1u << 20)    /* an eXIf / EXIF chunk we are willing to read */
#define TIFF_MAX_WHOLE     (8u << 20)    /* a TIFF file read whole up to this size */
#define JPEG_MAX_SEGMENTS  512
#define PNG_MAX_CHUNKS     4096
#define WEBP_MAX_CHUNKS    64

/* libexif takes a block beginning with the APP1 identifier */
static const unsigned char exif_id[6] = { 'E', 'x', 'i', 'f', 0, 0 };

/* The entry t of IFD i when it has format fmt (or fmt2) and at least n components. */
static ExifEntry *entry_of(ExifData *d, ExifIfd i, ExifTag t, ExifFormat fmt, ExifFormat fmt2, unsigned long n)
{
	ExifEntry *e = exif_content_get_entry(d->ifd[i], t);
	if (!e || !e->data || e->components < n || (e->format != fmt && e->format != fmt2))
		return NULL;
	if (e->size < n * (unsigned long)exif_format_get_size(e->format))
		return NULL;
	return e;
}

static long entry_uint(ExifData *d, ExifIfd i, ExifTag t)
{
	ExifEntry *e = entry_of(d, i, t, EXIF_FORMAT_SHORT, EXIF_FORMAT_LONG, 1);
	if (!e)
		return -1;
	ExifByteOrder bo = exif_data_get_byte_order(d);
	return e->format == EXIF_FORMAT_SHORT ? (long)exif_get_short(e->data, bo) : (long)exif_get_long(e->data, bo);
}

/* Copies printable ASCII of an ASCII/UNDEFINED entry, trimmed, into dst. */
static void entry_text(ExifData *d, ExifIfd i, ExifTag t, char *dst, size_t n)
{
	ExifEntry *e = entry_of(d, i, t, EXIF_FORMAT_ASCII, EXIF_FORMAT_UNDEFINED, 1);
	size_t k = 0;

	dst[0] = '\0';
	if (!e)
		return;
	for (unsigned int j = 0; j < e->size && k + 1 < n && e->data[j]; j++)
		dst[k++] = e->data[j] >= 0x20 && e->data[j] < 0x7f ? (char)e->data[j] : '?';
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

/* Degrees from a GPS coordinate (three rationals: degrees, minutes, seconds)
 * and its reference ("N"/"S", "E"/"W"); 0 when absent or malformed. */
static int gps_coord(ExifData *d, ExifTag tag, ExifTag ref_tag, char neg, double limit, double *out)
{
	ExifEntry *e = entry_of(d, EXIF_IFD_GPS, tag, EXIF_FORMAT_RATIONAL, EXIF_FORMAT_RATIONAL, 3);
	char ref[4];
	if (!e)
		return 0;
	ExifByteOrder bo = exif_data_get_byte_order(d);
	double v = 0, scale = 1;
	for (int k = 0; k < 3; k++, scale *= 60) {
		ExifRational r = exif_get_rational(e->data + 8 * k, bo);
		if (r.denominator == 0)
			return 0;
		v += (double)r.numerator / r.denominator / scale;
	}
	entry_text(d, EXIF_IFD_GPS, ref_tag, ref, sizeof ref);
	if (ref[0] == neg)
		v = -v;
	if (v > limit || v < -limit)
		return 0;
	*out = v;
	return 1;
}

static void exif_reset(struct exif *out)
{
	memset(out, 0, sizeof *out);
	out->orientation = 1;
}

/* Parses block[0..len), which begins with exif_id, into out. */
static int parse_block(const unsigned char *block, size_t len, struct exif *out)
{
	ExifData *d = exif_data_new();
	if (!d)
		return DOSSIER_ENOMEM;
	/* keep the block as it is: no entries invented to follow the standard */
	exif_data_unset_option(d, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
	exif_data_load_data(d, block, (unsigned int)len);

	long o = entry_uint(d, EXIF_IFD_0, EXIF_TAG_ORIENTATION);
	out->orientation = o >= 1 && o <= 8 ? (int)o : 1;
	entry_text(d, EXIF_IFD_0, EXIF_TAG_MAKE, out->make, sizeof out->make);
	entry_text(d, EXIF_IFD_0, EXIF_TAG_MODEL, out->model, sizeof out->model);
	char raw[32];
	entry_text(d, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, raw, sizeof raw);
	exif_date(raw, out->datetime_original);
	if (!out->datetime_original[0]) {
		entry_text(d, EXIF_IFD_0, EXIF_TAG_DATE_TIME, raw, sizeof raw);
		exif_date(raw, out->datetime_original);
	}
	double lat, lon;
	if (gps_coord(d, EXIF_TAG_GPS_LATITUDE, EXIF_TAG_GPS_LATITUDE_REF, 'S', 90, &lat) &&
	    gps_coord(d, EXIF_TAG_GPS_LONGITUDE, EXIF_TAG_GPS_LONGITUDE_REF, 'W', 180, &lon)) {
		out->has_gps = 1;
		out->gps_lat = lat;
		out->gps_lon = lon;
	}
	long w = entry_uint(d, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_X_DIMENSION);
	long h = entry_uint(d, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_Y_DIMENSION);
	if (w > 0 && h > 0 && w <= INT_MAX && h <= INT_MAX) {
		out->pixel_width = (int)w;
		out->pixel_height = (int)h;
	}
	exif_data_unref(d);
	return DOSSIER_OK;
}

static int tiff_header_ok(const unsigned char *h, size_t len)
{
	return len >= 8 && ((h[0] == 'I' && h[1] == 'I' && h[2] == 42 && h[3] == 0) ||
	                    (h[0] == 'M' && h[1] == 'M' && h[2] == 0 && h[3] == 42));
}

/* Parses block, a TIFF structure of len bytes preceded by exif_id (block - 6
 * is the identifier), after checking the header. */
static int parse_prefixed(unsigned char *block, size_t len, struct exif *out)
{
	if (!tiff_header_ok(block + 6, len - 6))
		return DOSSIER_EFORMAT;
	out->found = 1;
	return parse_block(block, len, out);
}

int exif_parse_mem(const void *tiff, size_t len, struct exif *out)
{
	exif_reset(out);
	if (!tiff || !tiff_header_ok(tiff, len))
		return DOSSIER_EFORMAT;
	if (len > TIFF_MAX_WHOLE)
		len = TIFF_MAX_WHOLE;
	unsigned char *p = malloc(len + sizeof exif_id);
	if (!p)
		return DOSSIER_ENOMEM;
	memcpy(p, exif_id, sizeof exif_id);
	memcpy(p + sizeof exif_id, tiff, len);
	int rc = parse_prefixed(p, len + sizeof exif_id, out);
	free(p);
	return rc;
}

/* Reads n bytes at the current position (a TIFF structure, after an optional
 * "Exif\0\0") and parses them. */
static int parse_block_at(FILE *f, uint64_t n, struct exif *out)
{
	if (n < 8 || n > TIFF_MAX_WHOLE)
		return DOSSIER_EFORMAT;
	unsigned char *p = malloc((size_t)n + sizeof exif_id);
	if (!p)
		return DOSSIER_ENOMEM;
	int rc = DOSSIER_EFORMAT;
	memcpy(p, exif_id, sizeof exif_id);
	if (fread(p + sizeof exif_id, 1, (size_t)n, f) == n) {
		/* a PNG eXIf or WebP EXIF chunk may repeat the identifier */
		size_t skip = n >= 14 && memcmp(p + sizeof exif_id, exif_id, sizeof exif_id) == 0 ? 6 : 0;
		rc = parse_prefixed(p + skip, (size_t)n + sizeof exif_id - skip, out);
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
				return parse_block_at(f, len - 2 - 6, out);   /* the APP1 body alone */
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
			return len <= EXIF_MAX_BLOCK ? parse_block_at(f, len, out) : DOSSIER_EFORMAT;
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
			return len <= EXIF_MAX_BLOCK ? parse_block_at(f, len, out) : DOSSIER_EFORMAT;
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
		/* a TIFF file is itself the TIFF structure; its IFDs may sit anywhere,
		 * so a small one is read whole and a large one by its head */
		if (fseeko(f, 0, SEEK_END) != 0)
			return DOSSIER_OK;
		off_t size = ftello(f);
		if (size < 8 || fseeko(f, 0, SEEK_SET) != 0)
			return DOSSIER_OK;
		uint64_t n = (uint64_t)size <= TIFF_MAX_WHOLE ? (uint64_t)size : EXIF_MAX_BLOCK;
		return parse_block_at(f, n, out);
	}
	return DOSSIER_OK;
}

void exif_oriented_size(int o, int w, int h, int *out_w, int *out_h)
{
	int swap = o >= 5 && o <= 8;
	*out_w = swap ? h : w;
	*out_h = swap ? w : h;
}
