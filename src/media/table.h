/*
 * table.h — CSV and TSV files as tables: the delimiter sniffed (comma,
 * semicolon, tab, pipe), RFC 4180 quoting (quoted delimiters, "" and line
 * breaks inside quotes), the header row, each column's type, the row count
 * (the whole file is streamed; memory holds only the sample), a sample of
 * rows as text, and a one-sentence description of what the table holds.
 *
 *   json_t *r;
 *   if (table_extract("people.csv", &r, &err) == 0) { ...; json_decref(r); }
 *
 * Thread safe: no shared state.
 */
#ifndef DOSSIER_MEDIA_TABLE_H
#define DOSSIER_MEDIA_TABLE_H

#include <stddef.h>

#include <jansson.h>

struct err;

#define TABLE_SAMPLE_ROWS 20   /* data rows kept in the text */
#define TABLE_MAX_COLUMNS 1000 /* columns described; more are counted only */

/*
 * *out is a new object (caller decrefs):
 *   {"format": "csv"|"tsv", "text": "...", "delimiter": ",",
 *    "table": {"columns": [{"name", "type": "number"|"date"|"text"|"empty", "min"?, "max"?}],
 *              "rows": n (data rows, header excluded), "header": bool, "sample_rows": n},
 *    "summary_hint": "A table of 42 rows and 4 columns: name, city, amount (numbers 0–58.5), date (dates).",
 *    "engine": "dossier:table"}
 * Errors: DOSSIER_ENOTFOUND / DOSSIER_EPERM (cannot open), DOSSIER_EEMPTY (no
 * rows), DOSSIER_EFORMAT (binary: NUL bytes).
 */
int table_extract(const char *path, json_t **out, struct err *err);

#endif
