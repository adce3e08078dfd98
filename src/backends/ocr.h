/*
 * ocr.h — optical character recognition behind a small vtable.
 *
 *   int main(int argc, char **argv) {
 *       ocr_prepare_process(argc, argv);      // first thing: may re-exec once
 *       ...
 *   }
 *
 *   struct ocr_backend *ocr;
 *   if (ocr_tesseract_new("eng", &ocr, &err) == 0) {
 *       char *text; double conf;
 *       if (ocr_recognize(ocr, img->rgb, img->width, img->height, img->stride,
 *                         &text, &conf, &err) == 0) {
 *           ...;                               // conf 0..100, -1 = skipped (no text)
 *           free(text);
 *       }
 *       ocr_backend_free(ocr);
 *   }
 *
 * One backend is one engine instance (tesseract: about 20-40 MB). It is NOT
 * thread safe: give each lane its own backend. Separate backends are independent.
 *
 * The handle is opaque and the dispatchers are functions, as in llm.h and
 * asr.h. The factory is ocr_backend_from_config (engines.h).
 */
#ifndef DOSSIER_BACKENDS_OCR_H
#define DOSSIER_BACKENDS_OCR_H

#include <stddef.h>

struct err;

/* Below this mean confidence (0..100) tesseract retries once on a cleaned-up
 * (background-normalised, Otsu-binarised) copy and keeps the better result. */
#define OCR_LOW_CONFIDENCE 60.0

/* A text engine. Each slot documents its contract; a new engine is one new file. */
struct ocr_backend_ops {
	const char *name;  /* engine name recorded in `sources`, e.g. "tesseract" */
	/* Loads the engine for lang ("eng", "eng+deu"). *ctx is engine state, freed by
	 * close. DOSSIER_EMODEL (message names the Debian package) if a language is
	 * not installed. */
	int (*open)(const char *lang, void **ctx, struct err *err);
	/* Recognises the text of an RGB8 image (stride bytes per row). *text is
	 * NUL-terminated UTF-8, caller frees with free(); "" when there is no text.
	 * *mean_conf is 0..100, or -1 when the image was skipped as having no
	 * text-like regions. DOSSIER_ETOOBIG if the text exceeds CAP_OCR_TEXT
	 * (nothing returned). On error *text is NULL. */
	int (*recognize)(void *ctx, const unsigned char *rgb, int w, int h, int stride,
	                 char **text, double *mean_conf, struct err *err);
	void (*close)(void *ctx);  /* NULL ctx is a no-op */
};

/* An opened engine (opaque). */
typedef struct ocr_backend ocr_backend;

/*
 * Opens any engine (ops is borrowed and must outlive the backend; lang NULL or
 * "" = "eng"). Caller frees *out with ocr_backend_free. On error *out is NULL.
 */
int ocr_backend_new(const struct ocr_backend_ops *ops, const char *lang,
                    struct ocr_backend **out, struct err *err);

/* tesseract (libtesseract 5, LSTM models from tesseract-ocr-<lang>). */
extern const struct ocr_backend_ops ocr_tesseract_ops;
int ocr_tesseract_new(const char *lang, struct ocr_backend **out, struct err *err);

void ocr_backend_free(struct ocr_backend *b);  /* NULL is a no-op */

/* See struct ocr_backend_ops.recognize. */
int ocr_recognize(ocr_backend *b, const unsigned char *rgb, int w, int h, int stride, char **text,
                  double *mean_conf, struct err *err);
/* The engine's name for `sources` ("tesseract"). Borrowed, static. */
const char *ocr_backend_name(const ocr_backend *b);
/* The languages it was opened with. Borrowed, valid while b lives. */
const char *ocr_backend_lang(const ocr_backend *b);

/*
 * The cheap "is there anything text-like here?" test tesseract runs before
 * recognising (see docs/speech.md): 1 if the image has at least a few rows
 * with several sharp light/dark transitions, 0 for blank, flat or smoothly
 * shaded images. About 1 ms per megapixel.
 */
int ocr_image_has_text_like_regions(const unsigned char *rgb, int w, int h, int stride);

/*
 * Makes the process fast for tesseract. libtesseract is linked with OpenMP,
 * whose default thread count makes OCR 4-5x slower on a 2-core machine, and
 * OMP_THREAD_LIMIT only works if it is set before the process starts. So when
 * it is unset, this sets it to 1 and re-executes /proc/self/exe with the same
 * argv (argv must be main's, NULL-terminated). Call it first thing in main().
 * Returns 0 when nothing was needed (already set, or this is the re-executed
 * child: the marker DOSSIER_OMP_REEXEC prevents loops). Returns DOSSIER_EIO if
 * the re-exec failed; the process can go on, only OCR is slower. On success it
 * does not return.
 */
int ocr_prepare_process(int argc, char **argv);

#endif
