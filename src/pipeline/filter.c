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
                                       "encrypted", "unsupported", "duplicate"};
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

/* The content-date bounds of the period s names, as ISO 8601 text that
 * compares as a string: "2026-05" gives ["2026-05", "2026-06"). */
static int period_text(const char *s, char since[24], char until[24])
{
	int64_t a, b;
	if (parse_period(s, &a, &b))
		return -1;
	size_t len = strlen(s);
	int y = atoi(s), m = len >= 7 ? atoi(s + 5) : 1, d = len >= 10 ? atoi(s + 8) : 1;
	struct tm t = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12, .tm_isdst = -1};
	if (len == 4)
		t.tm_year++;
	else if (len == 7)
		t.tm_mon++;
	else
		t.tm_mday++;
	if (mktime(&t) == (time_t)-1)
		return -1;
	snprintf(since, 24, "%s", s);
	strftime(until, 24, len == 4 ? "%Y" : len == 7 ? "%Y-%m" : "%Y-%m-%d", &t);
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
	} else if (!strcmp(key, "taken_since") || !strcmp(key, "taken-since") || !strcmp(key, "taken_until") ||
	           !strcmp(key, "taken-until")) {
		char a[24] = "", b[24] = "";
		if (v && period_text(v, a, b))
			return err_set(err, DOSSIER_EINVAL,
			               "%s '%s' is not a date: give YYYY-MM-DD (or YYYY-MM, or YYYY), e.g. 2026-05-12",
			               key, v);
		if (key[6] == 's')
			memcpy(f->taken_since, a, sizeof f->taken_since);
		else
			memcpy(f->taken_until, b, sizeof f->taken_until);
	} else if (!strcmp(key, "parent")) {
		char *end;
		long long id = v ? strtoll(v, &end, 10) : 0;
		if (v && (*end || id <= 0))
			return err_set(err, DOSSIER_EINVAL, "parent '%s' is not a document id (see 'dossier list')", v);
		f->parent = id;
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
		return err_set(err, DOSSIER_EINVAL,
		               "no filter '%s' (kind, status, since, until, taken_since, taken_until, tag, lang, parent)", key);
	}
	return 0;
}

int doc_filter_check(const struct doc_filter *f, struct err *err)
{
	if (f->since && f->until && f->since >= f->until)
		return err_set(err, DOSSIER_EINVAL, "the date range is empty: --since must come before --until");
	if (f->taken_since[0] && f->taken_until[0] && strcmp(f->taken_since, f->taken_until) >= 0)
		return err_set(err, DOSSIER_EINVAL,
		               "the date range is empty: --taken-since must come before --taken-until");
	return 0;
}
