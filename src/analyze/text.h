/*
 * text.h — normalises the raw bytes of a text file (plain, Markdown, HTML) into clean
 * UTF-8 for analysis.
 *
 *   char *text, *title; size_t len; char enc[16]; struct err e = {0};
 *   if (text_normalize(bytes, n, TEXT_FORMAT_HTML, &text, &len, &title, enc, &e) == 0) {
 *       ... offline_analyze(text, len, title, NULL, &json, &e) ...
 *       free(text);
 *       free(title);
 *   }
 *
 * Thread safe (no shared state).
 */
#ifndef DOSSIER_ANALYZE_TEXT_H
#define DOSSIER_ANALYZE_TEXT_H

#include <stddef.h>

struct err;

enum text_format {
	TEXT_FORMAT_PLAIN,     /* kept as it is, apart from encoding and white space */
	TEXT_FORMAT_MARKDOWN,  /* syntax noise dropped, first heading is the title */
	TEXT_FORMAT_HTML,      /* tags stripped, entities decoded, <title> is the title */
};

/*
 * Normalises n raw bytes at in into clean UTF-8 text.
 * - Encoding: a UTF-8 BOM is dropped; UTF-16 with a BOM (or without one, when every
 *   other byte is NUL as in ASCII-range UTF-16) is converted; valid UTF-8 stays; anything
 *   else is decoded as Windows-1252 (a superset of Latin-1's printable range).
 *   encoding_out (may be NULL) receives "utf-8", "utf-16le", "utf-16be" or "windows-1252".
 * - Binary data (a NUL byte outside UTF-16, or more than 5% control characters) is
 *   refused with DOSSIER_EFORMAT ("looks binary, not text").
 * - HTML (libxml2's HTML parser, which recovers from malformed markup): <script>,
 *   <style>, <template>, <svg>, <math> and <head> contents and comments removed, tags
 *   stripped (block tags such as p, div, br, li, h1-h6, tr become line breaks, p and
 *   headings paragraph breaks, td/th a space), entities decoded (HTML 4's named ones,
 *   &#NNN;, &#xHH;, 128-159 as Windows-1252; names libxml2 does not know stay as
 *   written), &nbsp; becomes a plain space; a <meta charset> is ignored (the bytes are
 *   UTF-8 by then). Nesting past 256 open elements is dropped, its text kept.
 *   *title_out gets the first <title>.
 * - Markdown (md4c: CommonMark with tables, strike-through and task lists): heading,
 *   list, quote, emphasis and code markers dropped; links and images keep their text
 *   (or alt text), not their URL; reference definitions dropped; table rows become
 *   lines, cells separated by a space; HTML blocks go through the HTML path, inline
 *   tags are dropped; entities decoded as in HTML; headings are set off by blank
 *   lines; fenced code blocks are kept verbatim, fences included.
 *   *title_out gets the first heading (ATX or setext).
 * - White space: CRLF and CR -> LF; runs of spaces, tabs and Unicode spaces -> one
 *   space; spaces at line starts and ends dropped; 3+ line breaks -> 2; form feed -> a
 *   paragraph break; other control characters, zero-width spaces and soft hyphens
 *   dropped; leading and trailing blank lines dropped.
 * On success *out is the new NUL-terminated text (caller frees with free()), *out_len
 * its length, and *title_out (may be NULL) a new string (caller frees with free()) or
 * NULL when there is no title.
 * Returns 0; DOSSIER_EEMPTY (zero bytes, or nothing but white space / markup);
 * DOSSIER_EFORMAT (binary); DOSSIER_ETOOBIG (the text would exceed CAP_TEXT, or the input
 * exceeds 4 * CAP_TEXT); DOSSIER_ENOMEM; DOSSIER_EINVAL (in NULL with n > 0, out or
 * out_len NULL). On failure nothing is allocated and *out, *title_out are NULL.
 */
int text_normalize(const char *in, size_t n, enum text_format fmt, char **out, size_t *out_len,
		   char **title_out, char encoding_out[16], struct err *err);

#endif
