/*
 * pdf.h — PDF text, metadata and page rendering (poppler-glib + cairo), and
 * OCR of pages that have no text layer.
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
 *   json_t *r;                                   // or all at once, OCR included:
 *   pdf_extract("scan.pdf", ocr, &r, &err);      // ocr may be NULL
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
struct ocr_backend;

typedef struct pdf_doc pdf_doc;

/* Pages are rendered for OCR at this resolution, lowered for huge pages so
 * that no render exceeds PDF_RENDER_MAX_PIXELS. */
#define PDF_OCR_DPI 300
#define PDF_RENDER_MAX_PIXELS 40000000.0  /* about an A3 page at 300 dpi */
/* A page whose text layer has fewer non-space characters than this is treated
 * as a scan (OCR is tried; the longer result wins). */
#define PDF_MIN_TEXT_CHARS 16

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
 * PDF_RENDER_MAX_PIXELS. Caller frees *out with image_free.
 */
int pdf_page_render(pdf_doc *doc, int i, double dpi, struct image **out, struct err *err);

/*
 * Renders page i at PDF_OCR_DPI (lower for huge pages) and runs ocr on it.
 * *text is caller-freed with free(); *conf as ocr_recognize (-1 = nothing text-like).
 */
int pdf_page_ocr(pdf_doc *doc, int i, struct ocr_backend *ocr, char **text, double *conf,
                 struct err *err);

/*
 * Everything at once: a new JSON object (caller decrefs)
 *   {"pages": n, "title": s|null, "author": s|null, "text": "all pages, blank-line separated",
 *    "page_texts": ["...", ...], "ocr_pages": [i, ...], "ocr_conf": mean|null,
 *    "pages_without_text": [i, ...], "truncated": bool}
 * Page indices are 0-based positions in page_texts. Pages without a text layer
 * are OCRed when ocr is non-NULL; otherwise (or when OCR finds nothing) they
 * stay "" and are listed in pages_without_text. Text past CAP_TEXT is not
 * added (truncated = true).
 */
int pdf_extract(const char *path, struct ocr_backend *ocr, json_t **out, struct err *err);

#endif
