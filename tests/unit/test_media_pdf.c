/*
 * test_media_pdf.c — PDF text, metadata, rendering (at a dpi, and fitted
 * within caps: an A0 poster, a 200-inch strip) and the errors a user meets:
 * corrupt, encrypted, not a PDF, missing. PDFs are written in the test with
 * cairo; the encrypted one is hand-made (a standard security handler whose
 * empty user password does not match).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo-pdf.h>
#include <cairo.h>

#include "core/err.h"
#include "core/util.h"
#include "media/image.h"
#include "media/pdf.h"

static char fixdir[4096];

static char *fixture(const char *name)
{
	return path_join(fixdir, name);
}

/* ---- fixtures ------------------------------------------------------------- */

static const char *const page1[] = {"Quarterly report for the northern region",
                                    "Revenue grew by 12 percent to 4.2 million euros.", NULL};
static const char *const page2[] = {"Appendix: method", "Figures are unaudited.", NULL};

static void draw_lines(cairo_t *cr, const char *const *lines)
{
	cairo_set_source_rgb(cr, 0, 0, 0);
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
	cairo_set_font_size(cr, 14);
	for (int i = 0; lines[i]; i++) {
		cairo_move_to(cr, 72, 100 + 24 * i);
		cairo_show_text(cr, lines[i]);
	}
}

/* Three A4 pages: two with text, the third blank. */
static void make_text_pdf(const char *path)
{
	cairo_surface_t *s = cairo_pdf_surface_create(path, 595, 842);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, "Quarterly Report");
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_AUTHOR, "Ada Example");
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATE_DATE, "2024-03-12T10:00:00Z");
	cairo_t *cr = cairo_create(s);
	draw_lines(cr, page1);
	cairo_show_page(cr);
	draw_lines(cr, page2);
	cairo_show_page(cr);
	cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	cairo_surface_destroy(s);
}

/* One A0 poster page (841 x 1189 mm) whose title is drawn as outlines (no
 * text layer, like a scan), then a strip 200 inches wide and 4 tall. */
#define A0_W_PT 2384.0
#define A0_H_PT 3370.0
static void make_poster_pdf(const char *path)
{
	cairo_surface_t *s = cairo_pdf_surface_create(path, A0_W_PT, A0_H_PT);
	cairo_t *cr = cairo_create(s);
	cairo_set_source_rgb(cr, 0, 0, 0);
	cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
	cairo_set_font_size(cr, 96);
	cairo_move_to(cr, 200, 400);
	cairo_text_path(cr, "HEATHLAND SURVEY");
	cairo_fill(cr);
	cairo_show_page(cr);
	cairo_pdf_surface_set_size(s, 14400, 288);
	cairo_rectangle(cr, 0, 0, 14400, 10);
	cairo_fill(cr);
	cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	assert_int_equal(cairo_surface_status(s), CAIRO_STATUS_SUCCESS);
	cairo_surface_destroy(s);
}

static void write_bytes(const char *path, const void *data, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, n, f), n);
	fclose(f);
}

/* A one-page PDF whose trailer names a standard security handler (RC4 40-bit)
 * with an owner/user key that the empty password does not open. */
static void make_encrypted_pdf(const char *path)
{
	char body[4096];
	long off[5];
	size_t n = 0;
	n += (size_t)snprintf(body + n, sizeof body - n, "%%PDF-1.4\n");
	off[1] = (long)n;
	n += (size_t)snprintf(body + n, sizeof body - n, "1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n");
	off[2] = (long)n;
	n += (size_t)snprintf(body + n, sizeof body - n,
	                      "2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n");
	off[3] = (long)n;
	n += (size_t)snprintf(body + n, sizeof body - n,
	                      "3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>\nendobj\n");
	off[4] = (long)n;
	n += (size_t)snprintf(body + n, sizeof body - n,
	                      "4 0 obj\n<< /Filter /Standard /V 1 /R 2 /P -4 "
	                      "/O <6f776e65726f776e65726f776e65726f776e65726f776e65726f776e65726f77> "
	                      "/U <757365727573657275736572757365727573657275736572757365727573657a> >>\nendobj\n");
	long xref = (long)n;
	n += (size_t)snprintf(body + n, sizeof body - n, "xref\n0 5\n0000000000 65535 f \n");
	for (int i = 1; i <= 4; i++)
		n += (size_t)snprintf(body + n, sizeof body - n, "%010ld 00000 n \n", off[i]);
	n += (size_t)snprintf(body + n, sizeof body - n,
	                      "trailer\n<< /Size 5 /Root 1 0 R /Encrypt 4 0 R "
	                      "/ID [<00112233445566778899aabbccddeeff> <00112233445566778899aabbccddeeff>] >>\n"
	                      "startxref\n%ld\n%%%%EOF\n",
	                      xref);
	write_bytes(path, body, n);
}

/* ---- tests ---------------------------------------------------------------- */

static void test_pdf_text_pages_come_back_exactly(void **state)
{
	(void)state;
	char *path = fixture("report.pdf");
	pdf_doc *doc = NULL;
	struct err e = {0};
	double t0 = clock_mono_s();
	if (pdf_open(path, &doc, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(pdf_page_count(doc), 3);
	char *t = NULL;
	assert_int_equal(pdf_page_text(doc, 0, &t, &e), 0);
	assert_string_equal(t, "Quarterly report for the northern region\n"
	                       "Revenue grew by 12 percent to 4.2 million euros.");
	free(t);
	assert_int_equal(pdf_page_text(doc, 1, &t, &e), 0);
	assert_non_null(strstr(t, "Figures are unaudited."));
	free(t);
	assert_int_equal(pdf_page_text(doc, 2, &t, &e), 0);
	assert_string_equal(t, "");
	free(t);
	printf("pdf: open + 3 pages of text in %.1f ms\n", 1000 * (clock_mono_s() - t0));
	assert_int_equal(pdf_page_text(doc, 3, &t, &e), DOSSIER_EINVAL);
	assert_null(t);

	struct pdf_meta m;
	assert_int_equal(pdf_metadata(doc, &m, &e), 0);
	assert_string_equal(m.title, "Quarterly Report");
	assert_string_equal(m.author, "Ada Example");
	assert_null(m.subject);
	assert_non_null(strstr(m.producer, "cairo"));
	assert_int_equal(strncmp(m.created, "2024-03-12T10:00:00", 19), 0);
	pdf_meta_clear(&m);
	pdf_close(doc);
	pdf_close(NULL);
	free(path);
}

static void test_pdf_page_renders_on_white_at_dpi(void **state)
{
	(void)state;
	char *path = fixture("report.pdf");
	pdf_doc *doc = NULL;
	assert_int_equal(pdf_open(path, &doc, NULL), 0);
	struct image *img = NULL;
	struct err e = {0};
	double t0 = clock_mono_s();
	assert_int_equal(pdf_page_render(doc, 0, 150, &img, &e), 0);
	printf("pdf: page rendered at 150 dpi (%dx%d) in %.1f ms\n", img->width, img->height,
	       1000 * (clock_mono_s() - t0));
	assert_int_equal(img->width, 1240);   /* 595 pt * 150 / 72 */
	assert_int_equal(img->height, 1755);  /* 842 pt */
	/* Paper is white; the first line of text (baseline 100 pt) has dark pixels. */
	const unsigned char *corner = img->rgb;
	assert_int_equal(corner[0], 255);
	assert_int_equal(corner[1], 255);
	assert_int_equal(corner[2], 255);
	int dark = 0;
	int y = (int)(95 * 150 / 72.0);
	for (int x = 0; x < img->width; x++)
		if (img->rgb[(size_t)y * img->stride + 3 * x] < 100)
			dark++;
	assert_true(dark > 20);
	image_free(img);
	assert_int_equal(pdf_page_render(doc, 0, 3000, &img, &e), DOSSIER_ETOOBIG);
	assert_null(img);
	pdf_close(doc);
	free(path);
}

/* Render-to-fit: a page that fits comes back at the asked dpi; a tighter cap
 * lowers the dpi just enough; an A0 poster, refused at 300 dpi, comes back
 * within the caps with its title drawn; a very long page stays under the
 * per-side limit. */
static void test_pdf_render_fit_lowers_the_dpi_only_as_needed(void **state)
{
	(void)state;
	char *path = fixture("report.pdf");
	pdf_doc *doc = NULL;
	assert_int_equal(pdf_open(path, &doc, NULL), 0);
	struct image *img = NULL;
	struct err e = {0};
	double dpi = 0;
	assert_int_equal(pdf_page_render_fit(doc, 0, 150, PDF_RENDER_MAX_PIXELS, PDF_RENDER_MAX_SIDE, &img, &dpi, &e), 0);
	assert_true(dpi == 150);
	assert_int_equal(img->width, 1240);
	assert_int_equal(img->height, 1755);
	image_free(img);

	/* at most a million pixels: about 101 dpi for A4, and not much less */
	assert_int_equal(pdf_page_render_fit(doc, 0, 150, 1e6, 0, &img, &dpi, &e), 0);
	double px = (double)img->width * img->height;
	printf("pdf: A4 capped at 1 Mpx: %.1f dpi, %dx%d\n", dpi, img->width, img->height);
	assert_true(px <= 1e6);
	assert_true(px >= 0.98e6);
	assert_true(dpi > 100 && dpi < 102);
	image_free(img);

	/* at most 1000 pixels per side */
	assert_int_equal(pdf_page_render_fit(doc, 0, 300, 0, 1000, &img, NULL, &e), 0);
	assert_true(img->height <= 1000 && img->height >= 995);
	assert_true(img->width < img->height);
	image_free(img);

	assert_int_equal(pdf_page_render_fit(doc, 0, 0, 0, 0, &img, &dpi, &e), DOSSIER_EINVAL);
	assert_null(img);
	assert_int_equal(pdf_page_render_fit(doc, 3, 300, 0, 0, &img, &dpi, &e), DOSSIER_EINVAL);
	assert_null(img);
	pdf_close(doc);
	free(path);

	path = fixture("poster.pdf");
	make_poster_pdf(path);
	assert_int_equal(pdf_open(path, &doc, NULL), 0);
	/* what the product did before: 300 dpi for every page, refused */
	assert_int_equal(pdf_page_render(doc, 0, PDF_OCR_DPI, &img, &e), DOSSIER_ETOOBIG);
	assert_null(img);
	double t0 = clock_mono_s();
	if (pdf_page_render_fit(doc, 0, PDF_OCR_DPI, PDF_RENDER_MAX_PIXELS, PDF_RENDER_MAX_SIDE, &img, &dpi, &e) != 0)
		fail_msg("%s", e.msg);
	px = (double)img->width * img->height;
	printf("pdf: A0 poster rendered at %.1f dpi (%dx%d, %.1f Mpx) in %.2f s\n", dpi, img->width, img->height,
	       px / 1e6, clock_mono_s() - t0);
	assert_true(px <= PDF_RENDER_MAX_PIXELS);
	assert_true(px >= 0.98 * PDF_RENDER_MAX_PIXELS);
	assert_true(dpi > 72 && dpi < PDF_OCR_DPI); /* lowered, still readable */
	/* the same proportions as the page */
	assert_true(fabs((double)img->width / img->height - A0_W_PT / A0_H_PT) < 0.001);
	/* the title (baseline 400 pt, 96 pt bold) is there in black */
	int dark = 0;
	int y = (int)(370 * dpi / 72.0);
	for (int x = 0; x < img->width; x++)
		if (img->rgb[(size_t)y * img->stride + 3 * x] < 100)
			dark++;
	assert_true(dark > 200);
	image_free(img);

	/* 200 x 4 inches: too wide at 300 dpi; rendered within both caps, one of which binds */
	assert_int_equal(pdf_page_render(doc, 1, PDF_OCR_DPI, &img, &e), DOSSIER_ETOOBIG);
	assert_int_equal(pdf_page_render_fit(doc, 1, PDF_OCR_DPI, PDF_RENDER_MAX_PIXELS, PDF_RENDER_MAX_SIDE, &img, &dpi, &e), 0);
	printf("pdf: 200-inch strip rendered at %.1f dpi (%dx%d)\n", dpi, img->width, img->height);
	double strip_px = (double)img->width * img->height;
	assert_true(img->width <= PDF_RENDER_MAX_SIDE && strip_px <= PDF_RENDER_MAX_PIXELS);
	assert_true(img->width > PDF_RENDER_MAX_SIDE - 20 || strip_px >= 0.98 * PDF_RENDER_MAX_PIXELS);
	image_free(img);
	pdf_close(doc);
	free(path);
}

static void test_pdf_extract_without_ocr_lists_empty_pages(void **state)
{
	(void)state;
	char *path = fixture("report.pdf");
	json_t *r = NULL;
	struct err e = {0};
	if (pdf_extract(path, &r, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(json_integer_value(json_object_get(r, "pages")), 3);
	assert_string_equal(json_string_value(json_object_get(r, "title")), "Quarterly Report");
	const char *text = json_string_value(json_object_get(r, "text"));
	assert_non_null(strstr(text, "northern region"));
	assert_non_null(strstr(text, "euros.\n\nAppendix"));
	assert_int_equal(json_array_size(json_object_get(r, "page_texts")), 3);
	json_t *empty = json_object_get(r, "pages_without_text");
	assert_int_equal(json_array_size(empty), 1);
	assert_int_equal(json_integer_value(json_array_get(empty, 0)), 2);
	assert_true(json_is_false(json_object_get(r, "truncated")));
	json_decref(r);
	free(path);
}

static void test_pdf_corrupt_is_a_format_error(void **state)
{
	(void)state;
	char *good = fixture("report.pdf"), *bad = fixture("truncated.pdf"), *buf = NULL;
	size_t n;
	assert_int_equal(file_read_all(good, 1 << 20, &buf, &n, NULL), 0);
	write_bytes(bad, buf, 200);  /* the header and a little of the first object */
	pdf_doc *doc = NULL;
	struct err e = {0};
	assert_int_equal(pdf_open(bad, &doc, &e), DOSSIER_EFORMAT);
	assert_null(doc);
	printf("pdf: %s\n", e.msg);
	assert_non_null(strstr(e.msg, "is not a readable PDF (corrupt?)"));
	assert_non_null(strstr(e.msg, "truncated.pdf"));

	char *txt = fixture("notes.pdf");
	write_bytes(txt, "just some text, not a PDF\n", 26);
	assert_int_equal(pdf_open(txt, &doc, &e), DOSSIER_EFORMAT);

	json_t *r = (json_t *)1;
	assert_int_equal(pdf_extract(bad, &r, &e), DOSSIER_EFORMAT);
	assert_null(r);
	char *missing = fixture("nope.pdf");
	assert_int_equal(pdf_open(missing, &doc, &e), DOSSIER_ENOTFOUND);
	free(buf);
	free(good);
	free(bad);
	free(txt);
	free(missing);
}

static void test_pdf_encrypted_says_decrypt_first(void **state)
{
	(void)state;
	char *path = fixture("locked.pdf");
	make_encrypted_pdf(path);
	pdf_doc *doc = NULL;
	struct err e = {0};
	assert_int_equal(pdf_open(path, &doc, &e), DOSSIER_EPERM);
	assert_null(doc);
	printf("pdf: %s\n", e.msg);
	assert_non_null(strstr(e.msg, "is encrypted"));
	assert_non_null(strstr(e.msg, "decrypt it first"));
	assert_non_null(strstr(e.msg, "qpdf --decrypt"));
	free(path);
}

/* Poppler complains about damaged files through GLib's log (shown with
 * G_MESSAGES_DEBUG=all, which setup turns on) unless silenced. */
static void test_pdf_damaged_files_print_nothing(void **state)
{
	(void)state;
	char *bad = fixture("truncated.pdf"), *log = fixture("stderr.txt");
	/* GLib prints info messages on stdout, warnings on stderr: catch both. */
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(1), saved_err = dup(2);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dup2(fd, 1);
	dup2(fd, 2);
	close(fd);
	pdf_doc *doc = NULL;
	pdf_open(bad, &doc, NULL);
	char *good = fixture("report.pdf"), *buf = NULL;
	size_t n;
	assert_int_equal(file_read_all(good, 1 << 20, &buf, &n, NULL), 0);
	/* A stream with a broken /Length: poppler repairs it, with complaints. */
	char *len = strstr(buf, "/Length");
	assert_non_null(len);
	len[2] = 'x';
	char *mid = fixture("damaged.pdf");
	write_bytes(mid, buf, n);
	json_t *r = NULL;
	assert_int_equal(pdf_extract(mid, &r, NULL), 0);
	json_decref(r);
	/* Cut at 70 %: no trailer, no xref. */
	write_bytes(mid, buf, n * 7 / 10);
	assert_int_not_equal(pdf_open(mid, &doc, NULL), 0);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	close(saved_out);
	close(saved_err);
	char *out = NULL;
	assert_int_equal(file_read_all(log, 1 << 20, &out, &n, NULL), 0);
	if (n)
		fail_msg("the library printed: %s", out);
	free(out);
	free(buf);
	free(bad);
	free(good);
	free(mid);
	free(log);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(fixdir, sizeof fixdir, "%s/pdf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fixdir))
		return -1;
	setenv("G_MESSAGES_DEBUG", "all", 1);
	char *p = fixture("report.pdf");
	make_text_pdf(p);
	free(p);
	return 0;
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
		cmocka_unit_test(test_pdf_text_pages_come_back_exactly),
		cmocka_unit_test(test_pdf_page_renders_on_white_at_dpi),
		cmocka_unit_test(test_pdf_render_fit_lowers_the_dpi_only_as_needed),
		cmocka_unit_test(test_pdf_extract_without_ocr_lists_empty_pages),
		cmocka_unit_test(test_pdf_corrupt_is_a_format_error),
		cmocka_unit_test(test_pdf_encrypted_says_decrypt_first),
		cmocka_unit_test(test_pdf_damaged_files_print_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
