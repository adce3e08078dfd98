/*
 * pdf.h — PDF text, metadata and page rendering (poppler-glib + cairo).
 *
 *   pdf_doc *doc;
 *   if (pdf_open("report.pdf", &doc, &err) == 0) {
 *       for (int i = 0; i < pdf_page_count(doc); i++) {
 *           char *text;
 *           if (pdf_page_text(doc, i, &text, &err) == 0) { ...; free(text); }
 *       }
 *       pdf_close(doc);
 *   }
 *
 *   json_t *r;                                   // or all at once:
 *   pdf_extract("scan.pdf", &r, &err);           // lists the pages without text
 *
 *   struct image *img; double dpi;               // a scanned page, for OCR
 *   pdf_page_render_fit(doc, 3, PDF_OCR_DPI, PDF_RENDER_MAX_PIXELS,
 *                       PDF_RENDER_MAX_SIDE, &img, &dpi, &err);
 *
 * One pdf_doc must be used by one thread at a time (poppler documents are not
 * thread safe); open one per thread. Separate documents are independent.
 * Poppler's and GLib's warnings about damaged files are silenced: library code
 * never prints.
 */
#ifndef DOSSIER_MEDIA_PDF_H
#define DOSSIER_MEDIA_PDF_H

#include <jansson.h>

struct err;
struct image;

typedef struct pdf_doc pdf_doc;

/* Pages are rendered for OCR at this resolution, lowered for pages too large
 * for the caps below (pdf_page_render_fit). */
#define PDF_OCR_DPI 300
/* No render is larger than this (an A3 page at about 290 dpi, an A0 poster at
 * about 100 dpi, where poster text is still large): PDF_RENDER_BYTES_PER_PIXEL
 * each while it is drawn and handed to OCR, so one render peaks near 112 MB.
 * Nor is one wider or taller than PDF_RENDER_MAX_SIDE (cairo's limit for an
 * image surface, which tesseract shares). */
#define PDF_RENDER_MAX_PIXELS 16000000.0
#define PDF_RENDER_BYTES_PER_PIXEL 7  /* cairo's ARGB surface + the RGB copy OCR reads */
#define PDF_RENDER_MAX_SIDE 32767

/*
 * Opens path (relative paths are made absolute). Errors: DOSSIER_ENOTFOUND (no
 * such file), DOSSIER_EPERM (encrypted with a password), DOSSIER_EFORMAT (not a
 * readable PDF, or no pages). Caller frees *out with pdf_close.
 */
int pdf_open(const char *path, pdf_doc **out, struct err *err);
void pdf_close(pdf_doc *doc);  /* NULL is a no-op */

int pdf_page_count(const pdf_doc *doc);

/* The text layer of page i (0-based) as UTF-8; "" when it has none. Caller
 * frees *out with free(). DOSSIER_EINVAL for a page out of range. */
int pdf_page_text(pdf_doc *doc, int i, char **out, struct err *err);

/* Document information; absent fields are NULL / "". */
struct pdf_meta {
	char *title;         /* owned; free with pdf_meta_clear */
	char *author;
	char *subject;
	char *keywords;
	char *creator;       /* the authoring application */
	char *producer;      /* the PDF writer */
	char created[32];    /* RFC 3339 UTC, "" if absent */
	char modified[32];   /* RFC 3339 UTC, "" if absent */
};
/* Fills *out (caller releases with pdf_meta_clear). */
int pdf_metadata(pdf_doc *doc, struct pdf_meta *out, struct err *err);
void pdf_meta_clear(struct pdf_meta *m);

/*
 * Renders page i on white at dpi. DOSSIER_ETOOBIG if the result would exceed
 * PDF_RENDER_MAX_PIXELS or PDF_RENDER_MAX_SIDE; DOSSIER_EINVAL for dpi <= 0 or
 * a page out of range. Caller frees *out with image_free.
 */
int pdf_page_render(pdf_doc *doc, int i, double dpi, struct image **out, struct err *err);

/*
 * Renders page i on white at target_dpi, or at the highest lower dpi at which
 * the image has at most max_pixels pixels and neither side is longer than
 * max_side (a poster or a drawing comes back smaller instead of failing).
 * max_pixels <= 0 or above PDF_RENDER_MAX_PIXELS means PDF_RENDER_MAX_PIXELS;
 * max_side likewise with PDF_RENDER_MAX_SIDE. *dpi_used (may be NULL) is the
 * resolution rendered at. Caller frees *out with image_free. Errors as
 * pdf_page_render; DOSSIER_EFORMAT for a page without a size.
 */
int pdf_page_render_fit(pdf_doc *doc, int i, double target_dpi, double max_pixels, int max_side,
                        struct image **out, double *dpi_used, struct err *err);

/*
 * The text layer at once: a new JSON object (caller decrefs)
 *   {"pages": n, "title": s|null, "author": s|null, "text": "all pages, blank-line separated",
 *    "page_texts": ["...", ...], "pages_without_text": [i, ...], "truncated": bool}
 * Page indices are 0-based positions in page_texts. A page whose text layer
 * has no visible character stays "" and is listed in pages_without_text (the
 * pages to render and OCR). Text past CAP_TEXT is not added (truncated = true).
 */
int pdf_extract(const char *path, json_t **out, struct err *err);

#endif
