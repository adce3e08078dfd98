/*
 * pdf.c — PDF text, metadata and rendering through poppler-glib and cairo.
 * Recognising the text of a rendered page is the caller's (media never calls
 * an engine).
 */
#include "media/pdf.h"

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cairo.h>
#include <poppler.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"
#include "media/image.h"

struct pdf_doc {
	PopplerDocument *doc;
	int pages;
	char path[PATH_MAX];   /* for messages */
};

/* ---- quiet GLib ----------------------------------------------------------- */

static void drop_log(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer user)
{
	(void)domain, (void)level, (void)msg, (void)user;
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;

static void quiet_init(void)
{
	/* poppler-glib routes poppler's "Syntax Error ..." messages to g_log. */
	g_log_set_handler("Poppler", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
	                  drop_log, NULL);
}

/* ---- open / close --------------------------------------------------------- */

int pdf_open(const char *path, pdf_doc **out, struct err *err)
{
	*out = NULL;
	pthread_once(&quiet_once, quiet_init);
	char abs[PATH_MAX];
	if (!realpath(path, abs))
		return err_set(err, DOSSIER_ENOTFOUND, "%s: no such file", path);
	GError *gerr = NULL;
	gchar *uri = g_filename_to_uri(abs, NULL, &gerr);
	if (!uri) {
		int rc = err_set(err, DOSSIER_EINVAL, "%s: cannot make a file URI (%s)", path,
		                 gerr ? gerr->message : "?");
		g_clear_error(&gerr);
		return rc;
	}
	PopplerDocument *d = poppler_document_new_from_file(uri, NULL, &gerr);
	g_free(uri);
	if (!d) {
		int rc;
		if (gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED)
			rc = err_set(err, DOSSIER_EPERM,
			             "%s is encrypted: it needs a password to open; decrypt it first "
			             "(e.g. qpdf --decrypt --password=PASSWORD in.pdf out.pdf)", path);
		else if (gerr && gerr->domain == G_FILE_ERROR && gerr->code == G_FILE_ERROR_ACCES)
			rc = err_set(err, DOSSIER_EPERM, "%s: permission denied (%s)", path, gerr->message);
		else if (gerr && gerr->domain == G_FILE_ERROR)
			rc = err_set(err, DOSSIER_EIO, "%s: cannot read (%s)", path, gerr->message);
		else
			rc = err_set(err, DOSSIER_EFORMAT, "%s is not a readable PDF (corrupt?): %s", path,
			             gerr ? gerr->message : "poppler could not open it");
		g_clear_error(&gerr);
		return rc;
	}
	int n = poppler_document_get_n_pages(d);
	if (n <= 0) {
		g_object_unref(d);
		return err_set(err, DOSSIER_EFORMAT, "%s is not a readable PDF (corrupt?): it has no pages", path);
	}
	pdf_doc *doc = calloc(1, sizeof *doc);
	if (!doc) {
		g_object_unref(d);
		return err_set(err, DOSSIER_ENOMEM, "out of memory opening %s", path);
	}
	doc->doc = d;
	doc->pages = n;
	snprintf(doc->path, sizeof doc->path, "%s", path);
	*out = doc;
	return 0;
}

void pdf_close(pdf_doc *doc)
{
	if (!doc)
		return;
	g_object_unref(doc->doc);
	free(doc);
}

int pdf_page_count(const pdf_doc *doc)
{
	return doc->pages;
}

static int get_page(pdf_doc *doc, int i, PopplerPage **out, struct err *err)
{
	*out = NULL;
	if (i < 0 || i >= doc->pages)
		return err_set(err, DOSSIER_EINVAL, "%s: page %d does not exist (it has %d)", doc->path, i + 1,
		               doc->pages);
	*out = poppler_document_get_page(doc->doc, i);
	if (!*out)
		return err_set(err, DOSSIER_EFORMAT, "%s: page %d is damaged", doc->path, i + 1);
	return 0;
}

/* ---- text and metadata ---------------------------------------------------- */

int pdf_page_text(pdf_doc *doc, int i, char **out, struct err *err)
{
	*out = NULL;
	PopplerPage *page;
	int rc = get_page(doc, i, &page, err);
	if (rc != 0)
		return rc;
	gchar *t = poppler_page_get_text(page);
	g_object_unref(page);
	*out = strdup(t ? t : "");
	g_free(t);
	if (!*out)
		return err_set(err, DOSSIER_ENOMEM, "out of memory reading %s", doc->path);
	return 0;
}

static char *take_gstr(gchar *s)
{
	char *r = NULL;
	if (s && *s)
		r = strdup(s);
	g_free(s);
	return r;
}

int pdf_metadata(pdf_doc *doc, struct pdf_meta *out, struct err *err)
{
	(void)err;
	memset(out, 0, sizeof *out);
	out->title = take_gstr(poppler_document_get_title(doc->doc));
	out->author = take_gstr(poppler_document_get_author(doc->doc));
	out->subject = take_gstr(poppler_document_get_subject(doc->doc));
	out->keywords = take_gstr(poppler_document_get_keywords(doc->doc));
	out->creator = take_gstr(poppler_document_get_creator(doc->doc));
	out->producer = take_gstr(poppler_document_get_producer(doc->doc));
	time_t c = poppler_document_get_creation_date(doc->doc);
	time_t m = poppler_document_get_modification_date(doc->doc);
	if (c > 0)
		time_rfc3339((double)c, out->created);
	if (m > 0)
		time_rfc3339((double)m, out->modified);
	return 0;
}

void pdf_meta_clear(struct pdf_meta *m)
{
	if (!m)
		return;
	free(m->title);
	free(m->author);
	free(m->subject);
	free(m->keywords);
	free(m->creator);
	free(m->producer);
	memset(m, 0, sizeof *m);
}

/* ---- rendering ------------------------------------------------------------ */

/* The image size of a wpt x hpt page at dpi. */
static void page_pixels(double wpt, double hpt, double dpi, double *w, double *h)
{
	*w = ceil(wpt * dpi / 72.0);
	*h = ceil(hpt * dpi / 72.0);
}

/* Renders page (borrowed) at dpi; the caller has checked the size. */
static int render_page(pdf_doc *doc, int i, PopplerPage *page, double dpi, double w, double h,
                       struct image **out, struct err *err)
{
	cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)w, (int)h);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(s);
		return err_set(err, DOSSIER_ENOMEM, "%s: cannot allocate a %.0fx%.0f image of page %d", doc->path,
		               w, h, i + 1);
	}
	cairo_t *cr = cairo_create(s);
	cairo_set_source_rgb(cr, 1, 1, 1);  /* pages are transparent; paper is white */
	cairo_paint(cr);
	cairo_scale(cr, dpi / 72.0, dpi / 72.0);
	poppler_page_render(page, cr);
	cairo_destroy(cr);
	cairo_surface_flush(s);

	struct image *img = NULL;
	int rc = image_new((int)w, (int)h, &img, err);
	if (rc == 0) {
		const unsigned char *data = cairo_image_surface_get_data(s);
		int stride = cairo_image_surface_get_stride(s);
		for (int y = 0; y < img->height; y++) {
			/* RGB24 is one native-endian uint32 per pixel: 0x00RRGGBB. */
			const uint32_t *src = (const uint32_t *)(const void *)(data + (size_t)y * stride);
			unsigned char *dst = img->rgb + (size_t)y * img->stride;
			for (int x = 0; x < img->width; x++) {
				uint32_t p = src[x];
				dst[3 * x] = (unsigned char)(p >> 16);
				dst[3 * x + 1] = (unsigned char)(p >> 8);
				dst[3 * x + 2] = (unsigned char)p;
			}
		}
	}
	cairo_surface_destroy(s);
	if (rc != 0)
		return rc;
	*out = img;
	return 0;
}

int pdf_page_render(pdf_doc *doc, int i, double dpi, struct image **out, struct err *err)
{
	*out = NULL;
	if (!(dpi > 0))
		return err_set(err, DOSSIER_EINVAL, "%s: cannot render at %g dpi", doc->path, dpi);
	PopplerPage *page;
	int rc = get_page(doc, i, &page, err);
	if (rc != 0)
		return rc;
	double wpt, hpt, w, h;
	poppler_page_get_size(page, &wpt, &hpt);
	page_pixels(wpt, hpt, dpi, &w, &h);
	if (w < 1 || h < 1 || w * h > PDF_RENDER_MAX_PIXELS || w > PDF_RENDER_MAX_SIDE ||
	    h > PDF_RENDER_MAX_SIDE) {
		g_object_unref(page);
		return err_set(err, DOSSIER_ETOOBIG,
		               "%s: page %d at %.0f dpi would be %.0fx%.0f pixels (cap %.0f, %d per side)",
		               doc->path, i + 1, dpi, w, h, PDF_RENDER_MAX_PIXELS, PDF_RENDER_MAX_SIDE);
	}
	rc = render_page(doc, i, page, dpi, w, h, out, err);
	g_object_unref(page);
	return rc;
}

int pdf_page_render_fit(pdf_doc *doc, int i, double target_dpi, double max_pixels, int max_side,
                        struct image **out, double *dpi_used, struct err *err)
{
	*out = NULL;
	if (dpi_used)
		*dpi_used = 0;
	if (!(target_dpi > 0))
		return err_set(err, DOSSIER_EINVAL, "%s: cannot render at %g dpi", doc->path, target_dpi);
	if (!(max_pixels > 0) || max_pixels > PDF_RENDER_MAX_PIXELS)
		max_pixels = PDF_RENDER_MAX_PIXELS;
	if (max_side <= 0 || max_side > PDF_RENDER_MAX_SIDE)
		max_side = PDF_RENDER_MAX_SIDE;
	PopplerPage *page;
	int rc = get_page(doc, i, &page, err);
	if (rc != 0)
		return rc;
	double wpt, hpt, w, h;
	poppler_page_get_size(page, &wpt, &hpt);
	if (!(wpt > 0) || !(hpt > 0)) {
		g_object_unref(page);
		return err_set(err, DOSSIER_EFORMAT, "%s: page %d has no size", doc->path, i + 1);
	}
	/* The highest dpi up to the target whose image keeps both caps: from the
	 * closed forms, then a little lower while rounding up still overshoots. */
	double dpi = target_dpi;
	double by_area = 72.0 * sqrt(max_pixels / (wpt * hpt));
	double by_side = 72.0 * max_side / (wpt > hpt ? wpt : hpt);
	if (by_area < dpi)
		dpi = by_area;
	if (by_side < dpi)
		dpi = by_side;
	page_pixels(wpt, hpt, dpi, &w, &h);
	for (int k = 0; k < 64 && (w * h > max_pixels || w > max_side || h > max_side); k++) {
		dpi *= 0.999;
		page_pixels(wpt, hpt, dpi, &w, &h);
	}
	if (w * h > max_pixels || w > max_side || h > max_side) {
		g_object_unref(page);
		return err_set(err, DOSSIER_ETOOBIG, "%s: page %d (%.0fx%.0f pt) cannot be rendered within %.0f pixels",
		               doc->path, i + 1, wpt, hpt, max_pixels);
	}
	rc = render_page(doc, i, page, dpi, w, h, out, err);
	g_object_unref(page);
	if (rc == 0 && dpi_used)
		*dpi_used = dpi;
	return rc;
}

/* ---- all at once ---------------------------------------------------------- */

static size_t visible_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (*s != ' ' && *s != '\n' && *s != '\r' && *s != '\t' && *s != '\f')
			n++;
	return n;
}

int pdf_extract(const char *path, json_t **out, struct err *err)
{
	*out = NULL;
	pdf_doc *doc;
	int rc = pdf_open(path, &doc, err);
	if (rc != 0)
		return rc;
	struct pdf_meta meta;
	pdf_metadata(doc, &meta, NULL);
	json_t *r = json_object(), *texts = json_array(), *empty = json_array();
	struct buf all;
	buf_init(&all, CAP_TEXT);
	int truncated = 0;
	for (int i = 0; i < doc->pages; i++) {
		char *text = NULL;
		rc = pdf_page_text(doc, i, &text, err);
		if (rc != 0)
			goto fail;
		if (visible_chars(text) == 0)
			json_array_append_new(empty, json_integer(i));
		json_array_append_new(texts, json_string(utf8_valid(text, strlen(text)) ? text : ""));
		if (!truncated && *text) {
			if ((all.len && buf_appends(&all, "\n\n") != 0) || buf_appends(&all, text) != 0)
				truncated = 1;
		}
		free(text);
	}
	json_object_set_new(r, "pages", json_integer(doc->pages));
	json_object_set_new(r, "title", meta.title ? json_string(meta.title) : json_null());
	json_object_set_new(r, "author", meta.author ? json_string(meta.author) : json_null());
	json_object_set_new(r, "text", json_string(all.data && utf8_valid(all.data, all.len) ? all.data : ""));
	json_object_set_new(r, "page_texts", texts);
	json_object_set_new(r, "pages_without_text", empty);
	json_object_set_new(r, "truncated", json_boolean(truncated));
	buf_free(&all);
	pdf_meta_clear(&meta);
	pdf_close(doc);
	*out = r;
	return 0;
fail:
	json_decref(texts);
	json_decref(empty);
	json_decref(r);
	buf_free(&all);
	pdf_meta_clear(&meta);
	pdf_close(doc);
	return rc;
}
