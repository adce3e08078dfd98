/*
 * filter.h — the words of a document filter (kind, status, dates, tag,
 * language) as the CLI and the API take them, checked against the kind table
 * and the statuses, turned into a store `struct doc_filter`.
 *
 *   struct doc_filter f = {0};
 *   if (doc_filter_set(&f, "kind", "pdf", &err) || doc_filter_set(&f, "since", "2026-05-01", &err))
 *       usage_error(err.msg);          // "kind 'pfd' is not one of text, pdf, ..."
 *   store_search_filtered(st, "invoice", &f, 20, cb, NULL, &err);
 *
 * Stateless and thread safe.
 */
#ifndef DOSSIER_PIPELINE_FILTER_H
#define DOSSIER_PIPELINE_FILTER_H

#include <stddef.h>

#include "store/store.h"

struct err;

/* The document statuses, in lifecycle order; statuses[i] for i < n. Static storage. */
const char *const *doc_statuses(size_t *n);
/* 1 if s is a status of doc_statuses / a kind of the kind table or "unsupported". */
int doc_status_valid(const char *s);
int doc_kind_valid(const char *s);
/* "queued, running, ..." and "text, pdf, ..., unsupported" into out (n bytes). */
void doc_statuses_list(char *out, size_t n);
void doc_kinds_list(char *out, size_t n);

/*
 * Sets one filter field from its word: key is "kind", "status", "tag",
 * "lang" (or "language"), "since", "until", "taken_since", "taken_until"
 * (or with '-') or "parent" (a document id). value is borrowed and must
 * outlive f; "" clears the field. Dates are YYYY, YYYY-MM or YYYY-MM-DD in
 * local time; since/until are over the file's modification time, taken_*
 * over the content's own date (a photo's capture time, an office file's
 * creation, a mail's date): since = the start of that period, until = its
 * end (so --until 2026-05-12 keeps the whole day).
 * Returns 0, or DOSSIER_EINVAL with a message naming the value and the valid
 * ones (f unchanged).
 */
int doc_filter_set(struct doc_filter *f, const char *key, const char *value, struct err *err);
/* DOSSIER_EINVAL when since is not before until. */
int doc_filter_check(const struct doc_filter *f, struct err *err);

#endif
