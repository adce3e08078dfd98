/*
 * office.h — the text of zipped XML documents: Office Open XML (DOCX, PPTX,
 * XLSX), OpenDocument (ODT, ODS, ODP) and EPUB, through libarchive (the zip,
 * read by stream: nothing is ever written to disk, so a member's name is never
 * used as a path) and libxml2's SAX push parser (never a DOM: document.xml
 * may be hundreds of MB).
 *
 *   char fmt[16];
 *   if (office_sniff("report.bin", fmt, sizeof fmt) == 0) ...;   // "docx", ...
 *   struct office_limits lim;
 *   office_limits_default(&lim);
 *   json_t *r;
 *   if (office_extract("report.docx", &lim, &r, &err) == 0) { ...; json_decref(r); }
 *
 * The XML is parsed with the network off, no DTD loaded and no entity
 * substituted (a billion-laughs bomb or an XXE entity is left unexpanded), and
 * the text collected is capped. Thread safe: no shared state.
 */
#ifndef DOSSIER_MEDIA_OFFICE_H
#define DOSSIER_MEDIA_OFFICE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct err;

/* Defaults of struct office_limits. */
#define OFFICE_MAX_EXPANDED (1024ull * 1024u * 1024u) /* bytes decompressed per file, all members */
#define OFFICE_MAX_MEMBERS  100000u                   /* members listed */

struct office_limits {
	uint64_t max_expanded; /* stop (DOSSIER_ETOOBIG) past this many decompressed bytes; 0 = default */
	size_t max_text;       /* text collected, bytes (past it: "truncated": true); 0 = CAP_TEXT */
	size_t max_members;    /* zip members looked at; 0 = default */
};
void office_limits_default(struct office_limits *l);

/*
 * What the zip at path holds, judged by its member names (and ODF's and
 * EPUB's `mimetype` member): writes "docx", "xlsx", "pptx", "odt", "ods",
 * "odp" or "epub" into fmt and returns 0; "encrypted" for an OLE container
 * holding an EncryptedPackage (a password-protected Office file). Returns -1
 * when the file is none of these (or not a readable zip). Never fails loudly.
 */
int office_sniff(const char *path, char *fmt, size_t n);

/*
 * Reads the document. *out is a new object (caller decrefs):
 *   {"format": "docx", "text": "...", "title"?, "author"?, "created"?, "modified"?,
 *    "headings": [{"level": n, "text": s}], "slides"?: n, "sheets"?: [{"name", "rows"}],
 *    "chapters"?: n, "language"?, "truncated": bool, "expanded_bytes": n,
 *    "summary_hint"?: "A workbook of 2 sheets: Sales (2 rows), Costs (1 row).",
 *    "engine": "dossier:office"}
 * Headings come out as "# " lines and list items as "- " lines in text;
 * spreadsheet rows as tab-separated cached cell values (never formulas).
 * A text document's footnote and endnote references stay in the body as
 * their marks ("[1]", endnotes "[i]" in DOCX; an ODT note's own citation),
 * and after the body come "## Notes" (each note led by its mark), a DOCX's
 * "## Comments" ("Author: text") and "## Headers and footers": each distinct
 * page header and footer once, without a page number field's cached value.
 * Errors (the message names the file and what to do): DOSSIER_EPERM
 * (encrypted: the message says MEDIA_ENCRYPTED_WORDS, media/archive.h), DOSSIER_EFORMAT (not a zip of this kind, truncated, damaged),
 * DOSSIER_ETOOBIG (the members expand past lim->max_expanded: a zip bomb),
 * DOSSIER_ENOTFOUND (no such file). lim may be NULL (defaults).
 */
int office_extract(const char *path, const struct office_limits *lim, json_t **out, struct err *err);

/* HTML or XHTML (e.g. an e-mail's HTML part) to text, blocks on their own
 * lines, script/style dropped, at most max bytes (0 = CAP_TEXT). Caller frees
 * *out. Never fails on malformed markup (it takes what it can). */
int office_html_to_text(const char *html, size_t n, size_t max, char **out, struct err *err);

/* Sets up libxml2 for the process; call once, before any thread parses (libxml2
 * 2.9's first-use set-up is not thread safe). Later calls do nothing. */
void office_process_init(void);

#endif
