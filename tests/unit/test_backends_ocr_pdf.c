/*
 * test_backends_ocr_pdf.c — scanned PDFs as the pipeline reads them: the text
 * layer through pdf_extract, then each page without one rendered to fit
 * (300 dpi, lower for a poster) and OCRed by tesseract.
 *
 * The "scan" is a PDF (written with cairo) whose pages only hold a picture of
 * text rendered by ffmpeg drawtext (tests/fixtures/speech_fixtures.sh); the
 * poster is an A0 page whose text is drawn as outlines (no text layer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cairo-pdf.h>
#include <cairo.h>

#include "backends/ocr.h"
#include "core/err.h"
#include "core/util.h"
#include "media/image.h"
#include "media/pdf.h"

static char fixdir[4096];

static char *fixture(const char *name)
{
	return path_join(fixdir, name);
}

/* Page 1 has a text layer; page 2 is the picture of text.png at 300 dpi;
 * page 3 is a blank scan. */
static void make_mixed_pdf(const char *path, const char *png)
{
	cairo_surface_t *pic = cairo_image_surface_create_from_png(png);
	assert_int_equal(cairo_surface_status(pic), CAIRO_STATUS_SUCCESS);
	cairo_surface_t *s = cairo_pdf_surface_create(path, 595, 842);
	cairo_t *cr = cairo_create(s);
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 14);
	cairo_move_to(cr, 72, 100);
	cairo_show_text(cr, "Cover letter: the scanned invoice follows on the next page.");
	cairo_show_page(cr);
	cairo_save(cr);
	cairo_translate(cr, 36, 72);
	cairo_scale(cr, 72.0 / 300, 72.0 / 300);
	cairo_set_source_surface(cr, pic, 0, 0);
	cairo_paint(cr);
	cairo_restore(cr);
	cairo_show_page(cr);
	cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	cairo_surface_destroy(s);
	cairo_surface_destroy(pic);
}

/* Whitespace-insensitive character error rate. */
static double cer(const char *ref, const char *hyp)
{
	char a[4096], b[4096];
	size_t n = 0, m = 0;
	for (; *ref && n < sizeof a - 1; ref++)
		if (*ref != ' ' && *ref != '\n')
			a[n++] = *ref;
	for (; *hyp && m < sizeof b - 1; hyp++)
		if (*hyp != ' ' && *hyp != '\n')
			b[m++] = *hyp;
	size_t *d = calloc((n + 1) * (m + 1), sizeof *d);
	for (size_t i = 0; i <= n; i++)
		d[i * (m + 1)] = i;
	for (size_t j = 0; j <= m; j++)
		d[j] = j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			size_t sub = d[(i - 1) * (m + 1) + j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = d[(i - 1) * (m + 1) + j] + 1, ins = d[i * (m + 1) + j - 1] + 1;
			size_t best = sub < del ? sub : del;
			d[i * (m + 1) + j] = best < ins ? best : ins;
		}
	double r = (double)d[n * (m + 1) + m] / (double)(n ? n : 1);
	free(d);
	return r;
}

/* Renders page i to fit the product's caps and OCRs it. */
static int ocr_page(pdf_doc *doc, int i, struct ocr_backend *ocr, char **text, double *conf, double *dpi,
                    struct err *e)
{
	struct image *img = NULL;
	int rc = pdf_page_render_fit(doc, i, PDF_OCR_DPI, PDF_RENDER_MAX_PIXELS, PDF_RENDER_MAX_SIDE, &img, dpi, e);
	if (rc == 0)
		rc = ocr_recognize(ocr, img->rgb, img->width, img->height, img->stride, text, conf, e);
	image_free(img);
	return rc;
}

static void test_scanned_page_is_ocred(void **state)
{
	(void)state;
	char *pdf = fixture("mixed.pdf"), *png = fixture("text.png"), *ref_path = fixture("text.txt");
	make_mixed_pdf(pdf, png);
	char *ref = NULL;
	size_t n;
	assert_int_equal(file_read_all(ref_path, 1 << 16, &ref, &n, NULL), 0);

	struct ocr_backend *ocr = NULL;
	struct err e = {0};
	assert_int_equal(ocr_tesseract_new("eng", &ocr, &e), 0);
	json_t *r = NULL;
	double t0 = clock_mono_s();
	if (pdf_extract(pdf, &r, &e) != 0)
		fail_msg("%s", e.msg);
	json_t *pages = json_object_get(r, "page_texts");
	assert_int_equal(json_array_size(pages), 3);
	assert_non_null(strstr(json_string_value(json_array_get(pages, 0)), "Cover letter"));
	/* The text layer alone reports the scan and the blank page, not drops them. */
	json_t *empty = json_object_get(r, "pages_without_text");
	assert_int_equal(json_array_size(empty), 2);
	assert_int_equal(json_integer_value(json_array_get(empty, 0)), 1);
	assert_int_equal(json_integer_value(json_array_get(empty, 1)), 2);

	pdf_doc *doc = NULL;
	assert_int_equal(pdf_open(pdf, &doc, &e), 0);
	char *scanned = NULL;
	double conf = 0, dpi = 0;
	if (ocr_page(doc, 1, ocr, &scanned, &conf, &dpi, &e) != 0)
		fail_msg("%s", e.msg);
	double dt = clock_mono_s() - t0;
	double c = cer(ref, scanned);
	printf("pdf+ocr: text layer + scanned page in %.2f s at %.0f dpi; CER %.1f%%, confidence %.0f\n", dt, dpi,
	       100 * c, conf);
	assert_true(dpi == PDF_OCR_DPI);  /* an A4 page fits at 300 dpi */
	assert_true(c <= 0.02);
	assert_true(conf >= 80);
	assert_non_null(strstr(scanned, "billing@example.com"));
	/* The blank page is skipped as having nothing text-like: no text, and a
	 * confidence of -1 that a mean must not count. */
	char *blank = NULL;
	assert_int_equal(ocr_page(doc, 2, ocr, &blank, &conf, &dpi, &e), 0);
	assert_string_equal(blank, "");
	assert_true(conf == -1);
	free(blank);
	free(scanned);
	pdf_close(doc);
	json_decref(r);

	ocr_backend_free(ocr);
	free(ref);
	free(pdf);
	free(png);
	free(ref_path);
}

/* An A0 poster (841 x 1189 mm) with its text as outlines. */
static const char *const poster_lines[] = {
	"Nightjars nest on bare ground among the heather.",
	"Keep dogs on the paths from May until August.",
	NULL,
};

static void make_poster_pdf(const char *path)
{
	cairo_surface_t *s = cairo_pdf_surface_create(path, 2384, 3370);
	cairo_t *cr = cairo_create(s);
	cairo_set_source_rgb(cr, 0, 0, 0);
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	cairo_set_font_size(cr, 120);
	cairo_move_to(cr, 200, 500);
	cairo_text_path(cr, "HEATHLAND SURVEY");
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 48);
	for (int i = 0; poster_lines[i]; i++) {
		cairo_move_to(cr, 200, 800 + 90 * i);
		cairo_text_path(cr, poster_lines[i]);
	}
	cairo_fill(cr);
	cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	cairo_surface_destroy(s);
}

/* A page larger than A2 used to fail its OCR ("too big" at 300 dpi); it is
 * rendered at a lower dpi within the caps and its text is found. */
static void test_poster_page_is_ocred_at_a_lower_dpi(void **state)
{
	(void)state;
	char *pdf = fixture("poster.pdf");
	make_poster_pdf(pdf);
	struct err e = {0};
	json_t *r = NULL;
	assert_int_equal(pdf_extract(pdf, &r, &e), 0);
	json_t *empty = json_object_get(r, "pages_without_text");
	assert_int_equal(json_array_size(empty), 1);
	json_decref(r);

	pdf_doc *doc = NULL;
	assert_int_equal(pdf_open(pdf, &doc, &e), 0);
	struct image *img = NULL;
	assert_int_equal(pdf_page_render(doc, 0, PDF_OCR_DPI, &img, &e), DOSSIER_ETOOBIG);
	struct ocr_backend *ocr = NULL;
	assert_int_equal(ocr_tesseract_new("eng", &ocr, &e), 0);
	char *text = NULL;
	double conf = 0, dpi = 0;
	double t0 = clock_mono_s();
	if (ocr_page(doc, 0, ocr, &text, &conf, &dpi, &e) != 0)
		fail_msg("%s", e.msg);
	printf("pdf+ocr: A0 poster at %.0f dpi in %.2f s, confidence %.0f: %s\n", dpi, clock_mono_s() - t0, conf,
	       text);
	assert_true(dpi < PDF_OCR_DPI && dpi > 100);
	assert_non_null(strstr(text, "HEATHLAND SURVEY"));
	assert_non_null(strstr(text, "Nightjars nest on bare ground"));
	assert_non_null(strstr(text, "Keep dogs on the paths"));
	assert_true(conf >= 80);
	free(text);
	ocr_backend_free(ocr);
	pdf_close(doc);
	free(pdf);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(fixdir, sizeof fixdir, "%s/ocrpdf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fixdir))
		return -1;
	char cmd[8400];
	snprintf(cmd, sizeof cmd, "sh '%s/tests/fixtures/speech_fixtures.sh' ocr '%s'", DOSSIER_SOURCE_DIR, fixdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* fontconfig (under cairo and poppler) parses its configuration once per
 * process and never frees it; that is not ours to fix. Read by LeakSanitizer
 * in the sanitizer build, unused otherwise. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
	return "leak:libfontconfig.so\n";
}

static int teardown(void **state)
{
	(void)state;
	/* cairo's toy font API (used to write the fixtures) caches font faces for
	 * the life of the process; release them for LeakSanitizer. */
	cairo_debug_reset_static_data();
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", fixdir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scanned_page_is_ocred),
		cmocka_unit_test(test_poster_page_is_ocred_at_a_lower_dpi),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
