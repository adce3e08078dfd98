/*
 * rtf.h — the text of an RTF file, read by stream with a small hand-written
 * tokenizer: groups, control words, \uN (with \ucN), \'hh in the document's
 * \ansicpg code page (converted with iconv), the \info group's title, author
 * and dates; font, colour and style tables, pictures, objects and every
 * \* destination are skipped.
 *
 *   json_t *r;
 *   if (rtf_extract("memo.rtf", 0, &r, &err) == 0) { ...; json_decref(r); }
 *
 * Thread safe: no shared state.
 */
#ifndef DOSSIER_MEDIA_RTF_H
#define DOSSIER_MEDIA_RTF_H

#include <stddef.h>

#include <jansson.h>

struct err;

/*
 * *out is a new object (caller decrefs):
 *   {"format": "rtf", "text": "...", "title"?, "author"?, "subject"?, "created"?,
 *    "modified"?, "encoding": "CP1252", "truncated": bool, "engine": "dossier:rtf"}
 * Paragraphs are separated by blank lines, \line is a newline, table cells
 * are tab-separated. max_text = 0 means CAP_TEXT. Errors: DOSSIER_ENOTFOUND,
 * DOSSIER_EPERM, DOSSIER_EFORMAT (the file does not start with "{\rtf").
 */
int rtf_extract(const char *path, size_t max_text, json_t **out, struct err *err);

/* The same on bytes in memory (for tests and callers that hold the file). */
int rtf_extract_mem(const char *data, size_t n, size_t max_text, json_t **out, struct err *err);

#endif
