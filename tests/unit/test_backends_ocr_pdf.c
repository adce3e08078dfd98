/*
 * test_backends_ocr_pdf.c — scanned PDFs: pages without a text layer are
 * rendered at 300 dpi and OCRed by tesseract through pdf_extract.
 *
 * The "scan" is a PDF (written with cairo) whose pages only hold a picture of
 * text rendered by ffmpeg drawtext (tests/fixtures/speech_fixtures.sh).
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
	if (pdf_extract(pdf, ocr, &r, &e) != 0)
		fail_msg("%s", e.msg);
	double dt = clock_mono_s() - t0;
	json_t *pages = json_object_get(r, "page_texts");
	assert_int_equal(json_array_size(pages), 3);
	assert_non_null(strstr(json_string_value(json_array_get(pages, 0)), "Cover letter"));
	const char *scanned = json_string_value(json_array_get(pages, 1));
	double c = cer(ref, scanned);
	double conf = json_number_value(json_object_get(r, "ocr_conf"));
	printf("pdf+ocr: 3 pages (1 text, 1 scanned, 1 blank) in %.2f s; scanned page CER %.1f%%, confidence %.0f\n",
	       dt, 100 * c, conf);
	assert_true(c <= 0.02);
	assert_true(conf >= 80);
	/* Page 1 (0-based) was OCRed; the blank page was skipped as having nothing
	 * text-like, so it is neither OCRed nor counted in the confidence. */
	json_t *ocred = json_object_get(r, "ocr_pages");
	assert_int_equal(json_array_size(ocred), 1);
	assert_int_equal(json_integer_value(json_array_get(ocred, 0)), 1);
	json_t *empty = json_object_get(r, "pages_without_text");
	assert_int_equal(json_array_size(empty), 1);
	assert_int_equal(json_integer_value(json_array_get(empty, 0)), 2);
	const char *all = json_string_value(json_object_get(r, "text"));
	assert_non_null(strstr(all, "Cover letter"));
	assert_non_null(strstr(all, "billing@example.com"));
	json_decref(r);

	/* Without an OCR engine the scan is reported, not silently dropped. */
	assert_int_equal(pdf_extract(pdf, NULL, &r, &e), 0);
	empty = json_object_get(r, "pages_without_text");
	assert_int_equal(json_array_size(empty), 2);
	assert_int_equal(json_integer_value(json_array_get(empty, 0)), 1);
	json_decref(r);

	ocr_backend_free(ocr);
	free(ref);
	free(pdf);
	free(png);
	free(ref_path);
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
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
