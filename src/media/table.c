/*
 * table.c — CSV/TSV as a table (table.h): the first 64 KiB decide the
 * delimiter and the encoding, then the whole file is streamed once.
 */
#include "media/table.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

#define SNIFF_BYTES 65536
#define FIELD_CAP (1u << 20)

/* Count of d outside quotes on each of the first lines; the delimiter whose
 * count is the same (and non-zero) on most lines wins. */
static char sniff_delim(const char *s, size_t n, int tsv_name)
{
	static const char cands[] = {',', ';', '\t', '|'};
	double best = -1;
	char pick = tsv_name ? '\t' : ',';
	for (size_t c = 0; c < sizeof cands; c++) {
		int counts[32], lines = 0, q = 0, cur = 0;
		for (size_t i = 0; i < n && lines < 32; i++) {
			if (s[i] == '"')
				q = !q;
			else if (!q && s[i] == cands[c])
				cur++;
			else if (!q && s[i] == '\n') {
				counts[lines++] = cur;
				cur = 0;
			}
		}
		if (lines < 32 && cur)
			counts[lines++] = cur;
		if (!lines || !counts[0])
			continue;
		int same = 0;
		for (int i = 0; i < lines; i++)
			same += counts[i] == counts[0];
		double score = (double)same / lines + (tsv_name && cands[c] == '\t' ? 0.5 : 0) + counts[0] * 1e-3;
		if (score > best)
			best = score, pick = cands[c];
	}
	return pick;
}

enum ctype { C_EMPTY, C_NUMBER, C_DATE, C_TEXT };

struct col {
	char *name;
	long n_num, n_date, n_text;
	double min, max;
	char dmin[32], dmax[32];
};

static int is_number(const char *s, double *v)
{
	while (*s == ' ')
		s++;
	if (!*s)
		return 0;
	char *e;
	errno = 0;
	double d = strtod(s, &e);
	if (e == s || errno || !isfinite(d))
		return 0;
	while (*e == ' ')
		e++;
	if (*e)
		return 0;
	*v = d;
	return 1;
}

static int is_iso_date(const char *s)
{
	int y, m, d;
	char rest;
	return sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &rest) >= 3 && m >= 1 && m <= 12 && d >= 1 && d <= 31 &&
	       strlen(s) >= 10;
}

static int is_other_date(const char *s)
{
	int a, b, y;
	char sep1, sep2, rest;
	int n = sscanf(s, "%2d%c%2d%c%4d%c", &a, &sep1, &b, &sep2, &y, &rest);
	return n == 5 && sep1 == sep2 && (sep1 == '/' || sep1 == '.') && y > 999;
}

struct parser {
	FILE *f;
	char delim;
	int cp1252;       /* the bytes are not UTF-8: read as Windows-1252 */
	iconv_t cd;
	struct buf field;
	char **rec;       /* fields of the current record (first TABLE_MAX_COLUMNS) */
	size_t nrec, caprec;
	size_t nfields;   /* all fields of the record, counted */
	int nul;
};

static char *to_utf8(struct parser *p, const char *s)
{
	if (!p->cp1252)
		return g_utf8_make_valid(s, -1);
	size_t inl = strlen(s), outl = inl * 3 + 1;
	char *out = g_malloc(outl), *o = out, *in = (char *)s;
	iconv(p->cd, NULL, NULL, NULL, NULL);
	while (inl && iconv(p->cd, &in, &inl, &o, &outl) == (size_t)-1) {
		if (errno != EILSEQ && errno != EINVAL)
			break;
		in++, inl--;
	}
	*o = 0;
	return out;
}

static void push_field(struct parser *p)
{
	if (p->nrec < TABLE_MAX_COLUMNS) {
		if (p->nrec == p->caprec) {
			p->caprec = p->caprec ? p->caprec * 2 : 16;
			char **nr = realloc(p->rec, p->caprec * sizeof *nr);
			if (!nr)
				abort();
			p->rec = nr;
		}
		char *raw = buf_take(&p->field);
		p->rec[p->nrec++] = to_utf8(p, raw);
		free(raw);
	} else {
		buf_reset(&p->field);
	}
	p->nfields++;
}

static void clear_rec(struct parser *p)
{
	for (size_t i = 0; i < p->nrec; i++)
		g_free(p->rec[i]);
	p->nrec = 0;
	p->nfields = 0;
}

/* Reads one record; 0 at end of file. */
static int next_record(struct parser *p)
{
	clear_rec(p);
	int c, q = 0, any = 0;
	while ((c = getc_unlocked(p->f)) != EOF) {
		any = 1;
		if (c == 0) {
			p->nul = 1;
			continue;
		}
		if (q) {
			if (c == '"') {
				int d = getc_unlocked(p->f);
				if (d == '"')
					buf_appendc(&p->field, '"');
				else {
					q = 0;
					if (d != EOF)
						ungetc(d, p->f);
				}
			} else {
				buf_appendc(&p->field, (char)c);
			}
			continue;
		}
		if (c == '"' && p->field.len == 0) {
			q = 1;
		} else if (c == p->delim) {
			push_field(p);
		} else if (c == '\n') {
			push_field(p);
			return 1;
		} else if (c == '\r') {
			/* CR LF: the LF ends the record */
		} else {
			buf_appendc(&p->field, (char)c);
		}
	}
	if (any) {
		push_field(p);
		return 1;
	}
	return 0;
}

static int blank_record(const struct parser *p)
{
	for (size_t i = 0; i < p->nrec; i++)
		if (p->rec[i][0])
			return 0;
	return 1;
}

static void fmt_num(double v, char *out, size_t n)
{
	if (fabs(v) < 1e15 && v == floor(v))
		snprintf(out, n, "%.0f", v);
	else
		snprintf(out, n, "%.6g", v);
}

static void append_row(struct buf *b, char **f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (i)
			buf_appendc(b, '\t');
		for (const char *s = f[i]; *s; s++)
			buf_appendc(b, *s == '\n' || *s == '\t' || *s == '\r' ? ' ' : *s);
	}
	buf_appendc(b, '\n');
}

int table_extract(const char *path, json_t **out, struct err *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return err_set(err, errno == EACCES ? DOSSIER_EPERM : DOSSIER_ENOTFOUND, "%s: cannot open the file (%s)%s",
		               path, strerror(errno), errno == EACCES ? ": check its permissions" : "");
	char *head = malloc(SNIFF_BYTES);
	size_t hn = head ? fread(head, 1, SNIFF_BYTES, f) : 0;
	int tsv = str_endswith_ci(path, ".tsv") || str_endswith_ci(path, ".tab");
	struct parser p = {.f = f};
	p.delim = sniff_delim(head ? head : "", hn, tsv);
	/* cut at the last line end so a split UTF-8 sequence does not count */
	size_t check = hn;
	while (check > 0 && hn == SNIFF_BYTES && head[check - 1] != '\n')
		check--;
	p.cp1252 = head && !g_utf8_validate(head, (gssize)check, NULL) && memchr(head, 0, hn) == NULL;
	p.cd = p.cp1252 ? iconv_open("UTF-8", "CP1252") : (iconv_t)-1;
	if (p.cd == (iconv_t)-1)
		p.cp1252 = 0;
	free(head);
	rewind(f);
	buf_init(&p.field, FIELD_CAP);

	struct col *cols = NULL;
	size_t ncols = 0, maxfields = 0;
	long rows = 0;
	int header = 0;
	struct buf sample;
	buf_init(&sample, CAP_TEXT);
	char **hdr = NULL;
	size_t nhdr = 0;
	int first = 1;
	while (next_record(&p)) {
		if (blank_record(&p))
			continue;
		if (p.nfields > maxfields)
			maxfields = p.nfields;
		if (first) {
			first = 0;
			/* a header: every field non-empty and none a number */
			header = 1;
			for (size_t i = 0; i < p.nrec; i++) {
				double v;
				if (!p.rec[i][0] || is_number(p.rec[i], &v))
					header = 0;
			}
			ncols = p.nrec;
			cols = calloc(ncols ? ncols : 1, sizeof *cols);
			if (header) {
				hdr = p.rec;
				nhdr = p.nrec;
				for (size_t i = 0; i < ncols; i++)
					cols[i].name = g_strdup(hdr[i]);
				append_row(&sample, hdr, nhdr);
				p.rec = NULL, p.nrec = 0, p.caprec = 0;
				continue;
			}
		}
		rows++;
		for (size_t i = 0; i < p.nrec && i < ncols; i++) {
			const char *s = p.rec[i];
			struct col *c = &cols[i];
			double v;
			if (!*s)
				continue;
			if (is_number(s, &v)) {
				if (!c->n_num || v < c->min)
					c->min = v;
				if (!c->n_num || v > c->max)
					c->max = v;
				c->n_num++;
			} else if (is_iso_date(s)) {
				if (!c->n_date || strncmp(s, c->dmin, 10) < 0)
					snprintf(c->dmin, sizeof c->dmin, "%.10s", s);
				if (!c->n_date || strncmp(s, c->dmax, 10) > 0)
					snprintf(c->dmax, sizeof c->dmax, "%.10s", s);
				c->n_date++;
			} else if (is_other_date(s)) {
				c->n_date++;
			} else {
				c->n_text++;
			}
		}
		if (rows <= TABLE_SAMPLE_ROWS)
			append_row(&sample, p.rec, p.nrec);
	}
	clear_rec(&p);
	free(p.rec);
	buf_free(&p.field);
	if (p.cd != (iconv_t)-1)
		iconv_close(p.cd);
	fclose(f);
	int rc = 0;
	if (p.nul) {
		rc = err_set(err, DOSSIER_EFORMAT, "%s: the file has NUL bytes: it is binary, not a CSV/TSV table", path);
	} else if (rows == 0 && !header) {
		rc = err_set(err, DOSSIER_EEMPTY, "%s: the table has no rows: nothing to analyse", path);
	}
	if (!rc) {
		json_t *jc = json_array();
		struct buf hint;
		buf_init(&hint, 1u << 20);
		buf_appendf(&hint, "A table of %ld row%s and %zu column%s", rows, rows == 1 ? "" : "s", maxfields,
		            maxfields == 1 ? "" : "s");
		for (size_t i = 0; i < ncols; i++) {
			struct col *c = &cols[i];
			const char *type = c->n_text ? "text" : c->n_date && c->n_date >= c->n_num ? "date"
			                   : c->n_num ? "number" : "empty";
			char name[64];
			if (c->name)
				snprintf(name, sizeof name, "%s", c->name);
			else
				snprintf(name, sizeof name, "column %zu", i + 1);
			json_t *o = json_pack("{s:s,s:s}", "name", name, "type", type);
			char a[40] = "", b[40] = "";
			if (!strcmp(type, "number")) {
				json_object_set_new(o, "min", json_real(c->min));
				json_object_set_new(o, "max", json_real(c->max));
				fmt_num(c->min, a, sizeof a);
				fmt_num(c->max, b, sizeof b);
			} else if (!strcmp(type, "date") && c->dmin[0]) {
				json_object_set_new(o, "min", json_string(c->dmin));
				json_object_set_new(o, "max", json_string(c->dmax));
				snprintf(a, sizeof a, "%s", c->dmin);
				snprintf(b, sizeof b, "%s", c->dmax);
			}
			json_array_append_new(jc, o);
			if (i < 12) {
				buf_appends(&hint, i ? ", " : ": ");
				buf_appends(&hint, name);
				if (!strcmp(type, "number"))
					buf_appendf(&hint, " (numbers, %s to %s)", a, b);
				else if (!strcmp(type, "date"))
					buf_appendf(&hint, *a ? " (dates, %s to %s)" : " (dates)", a, b);
			} else if (i == 12) {
				buf_appendf(&hint, " and %zu more", ncols - 12);
			}
		}
		buf_appendc(&hint, '.');
		struct buf text;
		buf_init(&text, CAP_TEXT);
		buf_appends(&text, hint.data);
		buf_appends(&text, "\n\n");
		if (sample.data)
			buf_appends(&text, sample.data);
		if (rows > TABLE_SAMPLE_ROWS)
			buf_appendf(&text, "… %ld more rows\n", rows - TABLE_SAMPLE_ROWS);
		char d[3] = {p.delim, 0};
		json_t *r = json_object();
		json_object_set_new(r, "format", json_string(p.delim == '\t' ? "tsv" : "csv"));
		char *t = buf_take(&text);
		json_t *js = json_string(t);
		json_object_set_new(r, "text", js ? js : json_string(""));
		free(t);
		json_object_set_new(r, "delimiter", json_string(d));
		json_object_set_new(r, "table",
		                    json_pack("{s:o,s:I,s:b,s:I}", "columns", jc, "rows", (json_int_t)rows, "header", header,
		                              "sample_rows", (json_int_t)(rows < TABLE_SAMPLE_ROWS ? rows : TABLE_SAMPLE_ROWS)));
		json_object_set_new(r, "summary_hint", json_string(hint.data));
		if (p.cp1252)
			json_object_set_new(r, "encoding", json_string("windows-1252"));
		json_object_set_new(r, "engine", json_string("dossier:table"));
		buf_free(&hint);
		*out = r;
	}
	for (size_t i = 0; i < ncols; i++)
		g_free(cols[i].name);
	free(cols);
	for (size_t i = 0; i < nhdr; i++)
		g_free(hdr[i]);
	free(hdr);
	buf_free(&sample);
	return rc;
}
