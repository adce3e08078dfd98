/*
 * filter.c — document filter words: kinds, statuses, dates, tag, language.
 */
#include "pipeline/filter.h"
#include "core/err.h"
#include "pipeline/kinds.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const statuses[] = {"queued", "running", "assembling", "done", "partial", "failed",
                                       "encrypted", "unsupported"};
#define N_STATUSES (sizeof statuses / sizeof statuses[0])

const char *const *doc_statuses(size_t *n)
{
	*n = N_STATUSES;
	return statuses;
}

int doc_status_valid(const char *s)
{
	for (size_t i = 0; s && i < N_STATUSES; i++)
		if (!strcmp(s, statuses[i]))
			return 1;
	return 0;
}

int doc_kind_valid(const char *s)
{
	return s && (kind_find(s) || !strcmp(s, "unsupported"));
}

void doc_statuses_list(char *out, size_t n)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < N_STATUSES && used < n; i++)
		used += (size_t)snprintf(out + used, n - used, "%s%s", i ? ", " : "", statuses[i]);
}

void doc_kinds_list(char *out, size_t n)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < kind_count() && used < n; i++)
		used += (size_t)snprintf(out + used, n - used, "%s, ", kind_at(i)->name);
	if (used < n)
		snprintf(out + used, n - used, "unsupported");
}

/* The local-time start of the year, month or day `s` names, and of the next
 * one (*next). -1 when s is not YYYY, YYYY-MM or YYYY-MM-DD. */
static int parse_period(const char *s, int64_t *start, int64_t *next)
{
	int y = 0, m = 1, d = 1, len = (int)strlen(s);
	char extra;
	int parts;
	if (len == 4 && sscanf(s, "%4d%c", &y, &extra) == 1)
		parts = 1;
	else if (len == 7 && s[4] == '-' && sscanf(s, "%4d-%2d%c", &y, &m, &extra) == 2)
		parts = 2;
	else if (len == 10 && s[4] == '-' && s[7] == '-' && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &extra) == 3)
		parts = 3;
	else
		return -1;
	for (int i = 0; i < len; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '-')
			return -1;
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return -1;
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (m == 2 && d == 29 && !leap)
		return -1;
	struct tm a = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_isdst = -1};
	struct tm b = a;
	if (parts == 1)
		b.tm_year++;
	else if (parts == 2)
		b.tm_mon++;
	else
		b.tm_mday++;
	time_t ta = mktime(&a), tb = mktime(&b);
	if (ta == (time_t)-1 || tb == (time_t)-1)
		return -1;
	*start = (int64_t)ta;
	*next = (int64_t)tb;
	return 0;
}

static int lang_valid(const char *s)
{
	size_t n = strlen(s);
	if (n < 2 || n > 3)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalpha((unsigned char)s[i]))
			return 0;
	return 1;
}

int doc_filter_set(struct doc_filter *f, const char *key, const char *value, struct err *err)
{
	char names[512];
	const char *v = value && *value ? value : NULL;
	if (!strcmp(key, "kind")) {
		if (v && !doc_kind_valid(v)) {
			doc_kinds_list(names, sizeof names);
			return err_set(err, DOSSIER_EINVAL, "kind '%s' is not one of %s", v, names);
		}
		f->kind = v;
	} else if (!strcmp(key, "status")) {
		if (v && !doc_status_valid(v)) {
			doc_statuses_list(names, sizeof names);
			return err_set(err, DOSSIER_EINVAL, "status '%s' is not one of %s", v, names);
		}
		f->status = v;
	} else if (!strcmp(key, "since") || !strcmp(key, "until")) {
		int64_t start = 0, next = 0;
		if (v && parse_period(v, &start, &next))
			return err_set(err, DOSSIER_EINVAL,
			               "%s '%s' is not a date: give YYYY-MM-DD (or YYYY-MM, or YYYY), e.g. 2026-05-12",
			               key, v);
		if (key[0] == 's')
			f->since = v ? start : 0;
		else
			f->until = v ? next : 0;
	} else if (!strcmp(key, "tag")) {
		if (v && strlen(v) > 200)
			return err_set(err, DOSSIER_EINVAL, "the tag is too long (at most 200 bytes)");
		f->tag = v;
	} else if (!strcmp(key, "lang") || !strcmp(key, "language")) {
		if (v && !lang_valid(v))
			return err_set(err, DOSSIER_EINVAL,
			               "language '%s' is not a language code: give an ISO 639-1 code such as en or de", v);
		f->language = v;
	} else {
		return err_set(err, DOSSIER_EINVAL, "no filter '%s' (kind, status, since, until, tag, lang)", key);
	}
	return 0;
}

int doc_filter_check(const struct doc_filter *f, struct err *err)
{
	if (f->since && f->until && f->since >= f->until)
		return err_set(err, DOSSIER_EINVAL, "the date range is empty: --since must come before --until");
	return 0;
}
