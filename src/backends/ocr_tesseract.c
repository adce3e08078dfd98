/*
 * ocr_tesseract.c — the tesseract OCR engine, the text-likeness pre-check, and
 * the OpenMP re-exec that keeps tesseract fast.
 */
#include "backends/ocr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <leptonica/allheaders.h>
#include <tesseract/capi.h>

#include "core/buf.h"
#include "core/err.h"

#ifndef DOSSIER_TESSDATA_DIR
#define DOSSIER_TESSDATA_DIR "/usr/share/tesseract-ocr/5/tessdata"  /* Debian bookworm */
#endif

/* The threads OpenMP may use inside tesseract; 1 and 2 measured the same on an
 * A4 page and 1 leaves the other core to a second lane (docs/speech.md). */
#define OCR_OMP_THREADS "1"
#define OCR_REEXEC_MARKER "DOSSIER_OMP_REEXEC"

int ocr_tesseract_new(const char *lang, struct ocr_backend **out, struct err *err)
{
	return ocr_backend_new(&ocr_tesseract_ops, lang, out, err);
}

/* ---- text-likeness pre-check ---------------------------------------------- */

/*
 * Text is rows of sharp light/dark transitions. Every fourth pair of rows is
 * averaged in 2x2 blocks (halves sensor/JPEG noise), and a row counts as
 * text-like when it has at least OCR_EDGES_PER_ROW places where the luminance
 * changes by OCR_EDGE_CONTRAST over two blocks. Blank pages, flat screenshots
 * and smooth gradients have none; photos and noisy scans pass (and are simply
 * recognised), so this only saves time, never text.
 */
#define OCR_EDGE_CONTRAST 16
#define OCR_EDGES_PER_ROW 4
#define OCR_TEXT_ROWS     2

static inline int luma(const unsigned char *p)
{
	return (p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8;
}

int ocr_image_has_text_like_regions(const unsigned char *rgb, int w, int h, int stride)
{
	int bw = w / 2, rows = 0;
	if (bw < 3 || h < 2)
		return 0;
	int *blk = malloc((size_t)bw * sizeof *blk);
	if (!blk)
		return 1;  /* cannot tell: let the engine look */
	for (int y = 0; y + 1 < h; y += 4) {
		const unsigned char *r0 = rgb + (size_t)y * stride, *r1 = r0 + stride;
		for (int x = 0; x < bw; x++) {
			const unsigned char *a = r0 + 6 * x, *b = r1 + 6 * x;
			blk[x] = (luma(a) + luma(a + 3) + luma(b) + luma(b + 3)) >> 2;
		}
		int edges = 0, in_edge = 0;
		for (int x = 2; x < bw; x++) {
			int d = blk[x] - blk[x - 2];
			int strong = d >= OCR_EDGE_CONTRAST || d <= -OCR_EDGE_CONTRAST;
			if (strong && !in_edge)
				edges++;
			in_edge = strong;
		}
		if (edges >= OCR_EDGES_PER_ROW && ++rows >= OCR_TEXT_ROWS)
			break;
	}
	free(blk);
	return rows >= OCR_TEXT_ROWS;
}

/* ---- tesseract ------------------------------------------------------------ */

struct tess {
	TessBaseAPI *api;
};

/* Debian names the package after the language with '_' as '-': chi_sim → tesseract-ocr-chi-sim. */
static void debian_package(const char *lang, char *out, size_t n)
{
	snprintf(out, n, "tesseract-ocr-%s", lang);
	for (char *p = out; *p; p++)
		if (*p == '_')
			*p = '-';
}

/* Checks each language of "eng+deu" has a traineddata file, so the error can
 * name the package instead of tesseract printing to stderr. */
static int check_languages(const char *langs, struct err *err)
{
	const char *prefix = getenv("TESSDATA_PREFIX");
	const char *dir = prefix && *prefix ? prefix : DOSSIER_TESSDATA_DIR;
	struct stat st;
	if (stat(dir, &st) != 0)
		return 0;  /* unusual install: let tesseract search */
	char one[64];
	const char *p = langs;
	while (*p) {
		size_t n = strcspn(p, "+");
		if (n == 0 || n >= sizeof one)
			return err_set(err, DOSSIER_EINVAL,
			               "OCR language list '%s' is malformed: use codes like eng or eng+deu", langs);
		memcpy(one, p, n);
		one[n] = '\0';
		for (size_t i = 0; i < n; i++) {
			char c = one[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
				return err_set(err, DOSSIER_EINVAL,
				               "OCR language '%s' is not a tesseract language code (e.g. eng, deu, chi_sim)",
				               one);
		}
		char path[4200], path2[4200];
		snprintf(path, sizeof path, "%s/%s.traineddata", dir, one);
		snprintf(path2, sizeof path2, "%s/tessdata/%s.traineddata", dir, one);
		if (stat(path, &st) != 0 && stat(path2, &st) != 0) {
			char pkg[96];
			debian_package(one, pkg, sizeof pkg);
			return err_set(err, DOSSIER_EMODEL,
			               "OCR language '%s' is not installed (no %s): install it with "
			               "`apt-get install %s`, or choose another language",
			               one, path, pkg);
		}
		p += n;
		if (*p == '+')
			p++;
	}
	return 0;
}

static int tess_open(const char *lang, void **ctx, struct err *err)
{
	*ctx = NULL;
	/* Leptonica reports through stderr; library code never prints. */
	setMsgSeverity(L_SEVERITY_NONE);
	int rc = check_languages(lang, err);
	if (rc != 0)
		return rc;
	struct tess *t = calloc(1, sizeof *t);
	if (!t)
		return err_set(err, DOSSIER_ENOMEM, "out of memory opening tesseract");
	t->api = TessBaseAPICreate();
	if (!t->api) {
		free(t);
		return err_set(err, DOSSIER_ENOMEM, "out of memory opening tesseract");
	}
	/* tesseract's own messages ("Estimating resolution as ...") go to debug_file. */
	TessBaseAPISetVariable(t->api, "debug_file", "/dev/null");
	if (TessBaseAPIInit3(t->api, NULL, lang) != 0) {
		TessBaseAPIDelete(t->api);
		free(t);
		return err_set(err, DOSSIER_EMODEL,
		               "tesseract could not load language '%s': check that tesseract-ocr-%s "
		               "is installed (apt-get install tesseract-ocr-%s) and TESSDATA_PREFIX, if set",
		               lang, lang, lang);
	}
	TessBaseAPISetVariable(t->api, "debug_file", "/dev/null");
	*ctx = t;
	return 0;
}

static void tess_close(void *ctx)
{
	struct tess *t = ctx;
	if (!t)
		return;
	TessBaseAPIEnd(t->api);
	TessBaseAPIDelete(t->api);
	free(t);
}

/* Runs recognition on the image already set; *out is malloc'ed, trailing
 * whitespace removed. */
static int tess_run(struct tess *t, char **out, double *conf, struct err *err)
{
	*out = NULL;
	char *txt = TessBaseAPIGetUTF8Text(t->api);
	if (!txt)
		return err_set(err, DOSSIER_EFORMAT, "tesseract could not recognise the image");
	size_t n = strlen(txt);
	while (n > 0 && (txt[n - 1] == '\n' || txt[n - 1] == ' ' || txt[n - 1] == '\f' ||
	                 txt[n - 1] == '\r' || txt[n - 1] == '\t'))
		n--;
	if (n > CAP_OCR_TEXT) {
		TessDeleteText(txt);
		return err_set(err, DOSSIER_ETOOBIG, "OCR text is larger than the %u-byte cap",
		               (unsigned)CAP_OCR_TEXT);
	}
	*out = malloc(n + 1);
	if (!*out) {
		TessDeleteText(txt);
		return err_set(err, DOSSIER_ENOMEM, "out of memory storing OCR text");
	}
	memcpy(*out, txt, n);
	(*out)[n] = '\0';
	TessDeleteText(txt);
	*conf = n > 0 ? TessBaseAPIMeanTextConf(t->api) : 0;
	return 0;
}

/* Smoothing, background normalisation and Otsu binarisation: the fix for
 * low-contrast text. */
static PIX *clean_copy(const unsigned char *rgb, int w, int h, int stride)
{
	PIX *gray = pixCreate(w, h, 8);
	if (!gray)
		return NULL;
	l_uint32 *data = pixGetData(gray);
	int wpl = pixGetWpl(gray);
	for (int y = 0; y < h; y++) {
		const unsigned char *row = rgb + (size_t)y * stride;
		l_uint32 *line = data + (size_t)y * wpl;
		for (int x = 0; x < w; x++)
			SET_DATA_BYTE(line, x, luma(row + 3 * x));
	}
	/* A 3x3 mean first: Otsu turns sensor noise on a faint page into speckle. */
	PIX *smooth = pixBlockconv(gray, 1, 1);
	pixDestroy(&gray);
	if (!smooth)
		return NULL;
	PIX *norm = pixBackgroundNormSimple(smooth, NULL, NULL);
	pixDestroy(&smooth);
	if (!norm)
		return NULL;
	PIX *bin = NULL;
	if (pixOtsuAdaptiveThreshold(norm, 2000, 2000, 0, 0, 0.1f, NULL, &bin) != 0)
		bin = NULL;
	pixDestroy(&norm);
	return bin;
}

/* One byte a pixel when every pixel of the RGB image is grey (a scan, a
 * greyscale PNG), else NULL. Tesseract copies each word's crop as a PNG of its
 * input's depth: fed a grey page as RGB, it spent 6x the zlib time of the
 * tesseract command line on the same page. Caller frees. */
static unsigned char *grey_copy(const unsigned char *rgb, int w, int h, int stride)
{
	for (int y = 0; y < h; y++) {
		const unsigned char *p = rgb + (size_t)y * stride;
		for (int x = 0; x < w; x++, p += 3)
			if (p[0] != p[1] || p[1] != p[2])
				return NULL;
	}
	unsigned char *g = malloc((size_t)w * (size_t)h);
	for (int y = 0; g && y < h; y++) {
		const unsigned char *p = rgb + (size_t)y * stride;
		for (int x = 0; x < w; x++)
			g[(size_t)y * (size_t)w + (size_t)x] = p[3 * x];
	}
	return g;
}

static int tess_recognize(void *ctx, const unsigned char *rgb, int w, int h, int stride,
                          char **text, double *mean_conf, struct err *err)
{
	struct tess *t = ctx;
	*text = NULL;
	*mean_conf = 0;
	if (w <= 0 || h <= 0 || stride < 3 * w || !rgb)
		return err_set(err, DOSSIER_EINVAL, "OCR given an empty or malformed image (%dx%d)", w, h);
	if (!ocr_image_has_text_like_regions(rgb, w, h, stride)) {
		*text = calloc(1, 1);
		if (!*text)
			return err_set(err, DOSSIER_ENOMEM, "out of memory");
		*mean_conf = -1;
		return 0;
	}
	unsigned char *grey = grey_copy(rgb, w, h, stride);
	if (grey)
		TessBaseAPISetImage(t->api, grey, w, h, 1, w);
	else
		TessBaseAPISetImage(t->api, rgb, w, h, 3, stride);
	char *best = NULL;
	double best_conf = 0;
	int rc = tess_run(t, &best, &best_conf, err);
	free(grey); /* tesseract copied the image in SetImage */
	if (rc != 0) {
		TessBaseAPIClear(t->api);
		return rc;
	}
	if (best_conf < OCR_LOW_CONFIDENCE) {
		PIX *clean = clean_copy(rgb, w, h, stride);
		if (clean) {
			TessBaseAPISetImage2(t->api, clean);
			char *again = NULL;
			double conf = 0;
			struct err ignored = {0};
			int rc2 = tess_run(t, &again, &conf, &ignored);
			if (rc2 == 0 && conf > best_conf) {
				free(best);
				best = again;
				best_conf = conf;
			} else {
				free(again);
			}
			TessBaseAPIClear(t->api);
			pixDestroy(&clean);
		}
	}
	TessBaseAPIClear(t->api);
	*text = best;
	*mean_conf = best_conf;
	return 0;
}

const struct ocr_backend_ops ocr_tesseract_ops = {
	.name = "tesseract",
	.open = tess_open,
	.recognize = tess_recognize,
	.close = tess_close,
};

/* ---- process preparation -------------------------------------------------- */

int ocr_prepare_process(int argc, char **argv)
{
	(void)argc;
	const char *limit = getenv("OMP_THREAD_LIMIT");
	if ((limit && *limit) || getenv(OCR_REEXEC_MARKER))
		return 0;
	if (setenv("OMP_THREAD_LIMIT", OCR_OMP_THREADS, 1) != 0 ||
	    setenv(OCR_REEXEC_MARKER, "1", 1) != 0)
		return DOSSIER_EIO;
	execv("/proc/self/exe", argv);
	/* Still here: the exec failed. Go on single-process; only OCR is slower. */
	return DOSSIER_EIO;
}
