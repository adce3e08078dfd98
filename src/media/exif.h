/*
 * exif.h — the few EXIF fields dossier uses, read from JPEG (APP1), PNG (eXIf),
 * WebP (EXIF chunk) and TIFF files, or from a TIFF-structured block in memory.
 *
 *   struct exif ex;
 *   FILE *f = fopen("photo.jpg", "rb");
 *   exif_read_file(f, &ex);          // ex.orientation is 1 when absent
 *
 * The TIFF structure is parsed by libexif (0.6.24 or later: the versions
 * before it had out-of-bounds reads); this file only finds the block in the
 * container and reads the whole block (at most 1 MiB; a JPEG's APP1 is at
 * most 64 KiB) into memory. An entry whose value lies outside the block is
 * dropped, the others are kept. Thread safe.
 */
#ifndef DOSSIER_MEDIA_EXIF_H
#define DOSSIER_MEDIA_EXIF_H

#include <stddef.h>
#include <stdio.h>

struct exif {
	int found;                 /* 1 if an EXIF/TIFF block was found and its header was valid */
	int orientation;           /* 1..8; 1 when absent or out of range */
	char datetime_original[32]; /* "YYYY-MM-DDTHH:MM:SS" from DateTimeOriginal (0x9003), else
	                              DateTime (0x0132); "" if both absent/invalid */
	char make[64];             /* tag 0x010F, printable ASCII, trimmed; "" if absent */
	char model[64];            /* tag 0x0110, as make */
	int has_gps;               /* 1 when both GPS latitude and longitude are valid */
	double gps_lat, gps_lon;   /* degrees, south and west negative; 0 without has_gps */
	int pixel_width, pixel_height; /* PixelX/YDimension (0xA002/0xA003); 0 if absent */
};

/*
 * Parses a TIFF-structured block (starting with "II*\0" or "MM\0*"), as found
 * after "Exif\0\0" in a JPEG APP1 segment. Fills *out (reset first). Returns 0,
 * or DOSSIER_EFORMAT when the header is not TIFF (out then holds defaults).
 */
int exif_parse_mem(const void *tiff, size_t len, struct exif *out);

/*
 * Finds the EXIF block in an open image file (JPEG, PNG, WebP or TIFF, told
 * apart by their magic bytes) and parses it. Reads only the metadata, seeking
 * past pixel data (a TIFF file, whose directories may sit anywhere, is read
 * whole up to 8 MiB, else only its first 1 MiB). Fills *out (defaults when there is none). Returns 0, or
 * DOSSIER_EFORMAT when an EXIF block is present but unreadable. The file
 * position is left unspecified. f is borrowed.
 */
int exif_read_file(FILE *f, struct exif *out);

/* Width and height after applying orientation o to a w x h image. */
void exif_oriented_size(int o, int w, int h, int *out_w, int *out_h);

#endif
