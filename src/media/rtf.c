/*
 * rtf.c — a small RTF reader (rtf.h): one pass over the bytes, a stack of
 * group states, literal bytes gathered and converted from the document's
 * code page with iconv whenever a control word or a group boundary comes.
 */
#include "media/rtf.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"

enum dest { D_TEXT, D_SKIP, D_INFO, D_TITLE, D_AUTHOR, D_SUBJECT, D_CREATIM, D_REVTIM };

#define MAX_DEPTH 512

struct group {
	enum dest dest;
	int uc;
};

struct datev {
	int yr, mo, dy, hr, mn;
};

struct src {
	FILE *f;
	const unsigned char *p;
	size_t n, i;
	int back;  /* one byte pushed back, or -1 */
};

static int src_get(struct src *s)
{
	if (s->back >= 0) {
		int c = s->back;
		s->back = -1;
		return c;
	}
	if (s->f)
		return getc_unlocked(s->f);
	return s->i < s->n ? s->p[s->i++] : EOF;
}

struct rtf {
	struct group st[MAX_DEPTH];
	int depth;       /* index of the current group in st */
	int overflow;    /* groups deeper than MAX_DEPTH (read as skipped) */
	struct buf text, title, author, subject;
	unsigned char pend[4096];
	size_t npend;
	iconv_t cd;
	char cp[32];
	int skip_chars;  /* characters left to skip after a \uN */
	unsigned hi_surrogate;
	struct datev created, revised;
	int star;        /* a \* was just read: the group is an ignorable destination */
};

static struct buf *sink(struct rtf *r)
{
	if (r->overflow)
		return NULL;
	switch (r->st[r->depth].dest) {
	case D_TEXT: return &r->text;
	case D_TITLE: return &r->title;
	case D_AUTHOR: return &r->author;
	case D_SUBJECT: return &r->subject;
	default: return NULL;
	}
}

static void set_codepage(struct rtf *r, const char *cp)
{
	if (!strcmp(cp, r->cp) && r->cd != (iconv_t)-1)
		return;
	iconv_t cd = iconv_open("UTF-8", cp);
	if (cd == (iconv_t)-1)
		return; /* unknown code page: keep the current one */
	if (r->cd != (iconv_t)-1)
		iconv_close(r->cd);
	r->cd = cd;
	snprintf(r->cp, sizeof r->cp, "%s", cp);
}

static void flush(struct rtf *r)
{
	if (!r->npend)
		return;
	struct buf *b = sink(r);
	if (b && r->cd != (iconv_t)-1) {
		char *in = (char *)r->pend;
		size_t inl = r->npend;
		char outb[4096 * 4];
		while (inl > 0) {
			char *o = outb;
			size_t ol = sizeof outb;
			size_t rc = iconv(r->cd, &in, &inl, &o, &ol);
			buf_append(b, outb, (size_t)(o - outb));
			if (rc == (size_t)-1 && (errno == EILSEQ || errno == EINVAL)) {
				/* an unmappable or cut byte: drop it */
				in++, inl--;
				iconv(r->cd, NULL, NULL, NULL, NULL);
			}
		}
	}
	r->npend = 0;
}

static void put_byte(struct rtf *r, unsigned char c)
{
	if (r->skip_chars > 0) {
		r->skip_chars--;
		return;
	}
	if (!sink(r))
		return;
	if (r->npend == sizeof r->pend)
		flush(r);
	r->pend[r->npend++] = c;
}

static void put_utf8(struct rtf *r, unsigned cp)
{
	flush(r);
	struct buf *b = sink(r);
	if (!b)
		return;
	char o[4];
	size_t n;
	if (cp < 0x80)
		o[0] = (char)cp, n = 1;
	else if (cp < 0x800)
		o[0] = (char)(0xC0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3F)), n = 2;
	else if (cp < 0x10000)
		o[0] = (char)(0xE0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[2] = (char)(0x80 | (cp & 0x3F)), n = 3;
	else
		o[0] = (char)(0xF0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
		o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), o[3] = (char)(0x80 | (cp & 0x3F)), n = 4;
	buf_append(b, o, n);
}

static void put_str(struct rtf *r, const char *s)
{
	flush(r);
	struct buf *b = sink(r);
	if (b)
		buf_appends(b, s);
}

static void paragraph(struct rtf *r)
{
	flush(r);
	struct buf *b = sink(r);
	if (!b || b != &r->text || !b->len)
		return;
	if (b->len >= 2 && b->data[b->len - 1] == '\n' && b->data[b->len - 2] == '\n')
		return;
	buf_appends(b, b->data[b->len - 1] == '\n' ? "\n" : "\n\n");
}

static int is_skipped_dest(const char *w)
{
	static const char *const d[] = {
		"fonttbl", "colortbl", "stylesheet", "pict", "object", "objdata", "header", "headerl", "headerr",
		"headerf", "footer", "footerl", "footerr", "footerf", "footnote", "fldinst", "listtable",
		"listoverridetable", "revtbl", "rsidtbl", "generator", "xmlnstbl", "themedata", "colorschememapping",
		"datastore", "latentstyles", "pgdsctbl", "filetbl", "bkmkstart", "bkmkend", "nonshppict", "shppict",
		"picprop", "userprops", "comment", "keywords", "doccomm", "company", "manager", "category", "operator",
		"hlinkbase", "annotation", "atnid", "atnauthor", "xe", "tc", "txe", "template", "printim", "buptim",
		"shpinst", "sp", "sn", "sv", "blipuid", "mmathPr", "wgrffmtfilter", "listtext_none", NULL};
	for (const char *const *p = d; *p; p++)
		if (!strcmp(w, *p))
			return 1;
	return 0;
}

static void set_dest(struct rtf *r, enum dest d)
{
	flush(r);
	r->st[r->depth].dest = d;
}

static void date_field(struct rtf *r, const char *w, long v)
{
	enum dest d = r->st[r->depth].dest;
	struct datev *t = d == D_CREATIM ? &r->created : d == D_REVTIM ? &r->revised : NULL;
	if (!t)
		return;
	if (!strcmp(w, "yr"))
		t->yr = (int)v;
	else if (!strcmp(w, "mo"))
		t->mo = (int)v;
	else if (!strcmp(w, "dy"))
		t->dy = (int)v;
	else if (!strcmp(w, "hr"))
		t->hr = (int)v;
	else if (!strcmp(w, "min"))
		t->mn = (int)v;
}

static void control_word(struct rtf *r, struct src *s, const char *w, int has_param, long param)
{
	enum dest cur = r->overflow ? D_SKIP : r->st[r->depth].dest;
	if (r->star) {
		r->star = 0;
		set_dest(r, D_SKIP);
		return;
	}
	if (!strcmp(w, "bin")) {
		/* binary data: skip its bytes whatever they are */
		flush(r);
		for (long i = 0; i < param && src_get(s) != EOF; i++)
			;
		return;
	}
	if (cur == D_SKIP)
		return;
	if (!strcmp(w, "u") && has_param) {
		long v = param < 0 ? param + 65536 : param;
		int skip = r->st[r->depth].uc;
		if (v >= 0xD800 && v < 0xDC00) {
			r->hi_surrogate = (unsigned)v;
		} else if (v >= 0xDC00 && v < 0xE000 && r->hi_surrogate) {
			put_utf8(r, 0x10000 + ((r->hi_surrogate - 0xD800) << 10) + ((unsigned)v - 0xDC00));
			r->hi_surrogate = 0;
		} else if (v > 0 && v < 0x110000) {
			put_utf8(r, (unsigned)v);
		}
		r->skip_chars = skip;
		return;
	}
	r->skip_chars = 0;
	if (!strcmp(w, "uc")) {
		r->st[r->depth].uc = has_param && param >= 0 && param < 10 ? (int)param : 1;
	} else if (!strcmp(w, "ansicpg") && has_param) {
		char cp[32];
		if (param == 65001)
			snprintf(cp, sizeof cp, "UTF-8");
		else if (param == 10000)
			snprintf(cp, sizeof cp, "MACINTOSH");
		else
			snprintf(cp, sizeof cp, "CP%ld", param);
		flush(r);
		set_codepage(r, cp);
	} else if (!strcmp(w, "mac")) {
		flush(r), set_codepage(r, "MACINTOSH");
	} else if (!strcmp(w, "pc")) {
		flush(r), set_codepage(r, "CP437");
	} else if (!strcmp(w, "pca")) {
		flush(r), set_codepage(r, "CP850");
	} else if (is_skipped_dest(w)) {
		set_dest(r, D_SKIP);
	} else if (!strcmp(w, "info")) {
		set_dest(r, D_INFO);
	} else if (cur == D_INFO || cur == D_CREATIM || cur == D_REVTIM) {
		if (!strcmp(w, "title"))
			set_dest(r, D_TITLE);
		else if (!strcmp(w, "author"))
			set_dest(r, D_AUTHOR);
		else if (!strcmp(w, "subject"))
			set_dest(r, D_SUBJECT);
		else if (!strcmp(w, "creatim"))
			set_dest(r, D_CREATIM);
		else if (!strcmp(w, "revtim"))
			set_dest(r, D_REVTIM);
		else if (has_param)
			date_field(r, w, param);
		else if (cur == D_INFO)
			set_dest(r, D_SKIP); /* another info field: not kept */
	} else if (!strcmp(w, "par") || !strcmp(w, "sect") || !strcmp(w, "page")) {
		paragraph(r);
	} else if (!strcmp(w, "line") || !strcmp(w, "row")) {
		put_str(r, "\n");
	} else if (!strcmp(w, "tab") || !strcmp(w, "cell")) {
		put_str(r, "\t");
	} else if (!strcmp(w, "emdash")) {
		put_utf8(r, 0x2014);
	} else if (!strcmp(w, "endash")) {
		put_utf8(r, 0x2013);
	} else if (!strcmp(w, "bullet")) {
		put_utf8(r, 0x2022);
	} else if (!strcmp(w, "lquote")) {
		put_utf8(r, 0x2018);
	} else if (!strcmp(w, "rquote")) {
		put_utf8(r, 0x2019);
	} else if (!strcmp(w, "ldblquote")) {
		put_utf8(r, 0x201C);
	} else if (!strcmp(w, "rdblquote")) {
		put_utf8(r, 0x201D);
	} else if (!strcmp(w, "emspace") || !strcmp(w, "enspace") || !strcmp(w, "qmspace")) {
		put_str(r, " ");
	}
	/* every other control word (formatting) has no text */
}

static void fmt_date(const struct datev *d, char out[32])
{
	out[0] = 0;
	if (d->yr > 0)
		snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:00", d->yr, d->mo ? d->mo : 1, d->dy ? d->dy : 1, d->hr, d->mn);
}

static void trim_buf(struct buf *b)
{
	while (b->len && isspace((unsigned char)b->data[b->len - 1]))
		b->data[--b->len] = 0;
}

static char *trimmed(struct buf *b)
{
	trim_buf(b);
	char *s = buf_take(b);
	size_t i = 0;
	while (s[i] && isspace((unsigned char)s[i]))
		i++;
	memmove(s, s + i, strlen(s + i) + 1);
	return s;
}

static int parse(struct src *s, size_t max_text, json_t **out, struct err *err)
{
	struct rtf *r = calloc(1, sizeof *r);
	if (!r)
		return err_set(err, DOSSIER_ENOMEM, "out of memory reading RTF");
	r->cd = (iconv_t)-1;
	set_codepage(r, "CP1252");
	buf_init(&r->text, max_text ? max_text : CAP_TEXT);
	buf_init(&r->title, 4096);
	buf_init(&r->author, 1024);
	buf_init(&r->subject, 4096);
	r->st[0].dest = D_TEXT;
	r->st[0].uc = 1;
	int truncated = 0, c;
	/* the header: optional white space or BOM, then {\rtf */
	char head[6] = {0};
	do
		c = src_get(s);
	while (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == 0xEF || c == 0xBB || c == 0xBF);
	head[0] = (char)c;
	for (int i = 1; i < 5; i++)
		head[i] = (char)src_get(s);
	int rc = 0;
	if (strncmp(head, "{\\rtf", 5)) {
		rc = err_set(err, DOSSIER_EFORMAT, "not an RTF document (it does not start with {\\rtf)");
		goto done;
	}
	/* the header's '{' opened the document's group (st[0]); \rtf's version follows */
	r->depth = 0;
	while (isdigit(c = src_get(s)))
		;
	if (c != ' ' && c != EOF)
		s->back = c;
	while ((c = src_get(s)) != EOF) {
		if (r->text.len + r->npend >= (max_text ? max_text : CAP_TEXT)) {
			truncated = 1;
			break;
		}
		if (c == '{') {
			flush(r);
			r->skip_chars = 0;
			if (r->overflow || r->depth + 1 >= MAX_DEPTH) {
				r->overflow++;
			} else {
				r->st[r->depth + 1] = r->st[r->depth];
				r->depth++;
			}
		} else if (c == '}') {
			flush(r);
			r->skip_chars = 0;
			r->star = 0;
			if (r->overflow)
				r->overflow--;
			else if (r->depth > 0)
				r->depth--;
		} else if (c == '\\') {
			int d = src_get(s);
			if (d == EOF)
				break;
			if (isalpha(d)) {
				char w[40];
				size_t k = 0;
				while (isalpha(d)) {
					if (k < sizeof w - 1)
						w[k++] = (char)d;
					d = src_get(s);
				}
				w[k] = 0;
				int has = 0, neg = 0;
				long v = 0;
				if (d == '-') {
					neg = 1;
					d = src_get(s);
				}
				while (isdigit(d)) {
					has = 1;
					if (v < 100000000)
						v = v * 10 + (d - '0');
					d = src_get(s);
				}
				if (neg)
					v = -v;
				if (d != ' ' && d != EOF)
					s->back = d;
				if (r->star && k) {
					/* \*\word: an ignorable destination, skipped whole */
					r->star = 0;
					set_dest(r, D_SKIP);
					continue;
				}
				control_word(r, s, w, has, v);
			} else if (d == '\'') {
				char hx[3] = {0};
				hx[0] = (char)src_get(s);
				hx[1] = (char)src_get(s);
				if (isxdigit((unsigned char)hx[0]) && isxdigit((unsigned char)hx[1]))
					put_byte(r, (unsigned char)strtol(hx, NULL, 16));
			} else if (d == '*') {
				r->star = 1;
			} else if (d == '{' || d == '}' || d == '\\') {
				put_byte(r, (unsigned char)d);
			} else if (d == '~') {
				put_utf8(r, 0xA0);
			} else if (d == '_') {
				put_utf8(r, 0x2011);
			} else if (d == '\n' || d == '\r') {
				paragraph(r);
			}
			/* \- (optional hyphen), \| and the rest: nothing */
		} else if (c == '\n' || c == '\r') {
			/* line breaks of the source are not text */
		} else if (c == 0) {
			/* NUL bytes are never text */
		} else {
			r->star = 0;
			put_byte(r, (unsigned char)c);
		}
	}
	flush(r);
	if (r->text.len >= (max_text ? max_text : CAP_TEXT))
		truncated = 1;
	{
		json_t *o = json_object();
		char *t = trimmed(&r->text);
		json_t *js = json_string(t);
		if (!js) /* never invalid UTF-8 from iconv, but stay safe */
			js = json_string("");
		json_object_set_new(o, "format", json_string("rtf"));
		json_object_set_new(o, "text", js);
		free(t);
		struct {
			const char *key;
			struct buf *b;
		} f[] = {{"title", &r->title}, {"author", &r->author}, {"subject", &r->subject}};
		for (size_t i = 0; i < 3; i++) {
			char *v = trimmed(f[i].b);
			json_t *jv = *v ? json_string(v) : NULL;
			if (jv)
				json_object_set_new(o, f[i].key, jv);
			free(v);
		}
		char d[32];
		fmt_date(&r->created, d);
		if (*d)
			json_object_set_new(o, "created", json_string(d));
		fmt_date(&r->revised, d);
		if (*d)
			json_object_set_new(o, "modified", json_string(d));
		json_object_set_new(o, "encoding", json_string(r->cp));
		json_object_set_new(o, "truncated", json_boolean(truncated));
		json_object_set_new(o, "engine", json_string("dossier:rtf"));
		*out = o;
	}
done:
	if (r->cd != (iconv_t)-1)
		iconv_close(r->cd);
	buf_free(&r->text);
	buf_free(&r->title);
	buf_free(&r->author);
	buf_free(&r->subject);
	free(r);
	return rc;
}

int rtf_extract_mem(const char *data, size_t n, size_t max_text, json_t **out, struct err *err)
{
	*out = NULL;
	struct src s = {.p = (const unsigned char *)data, .n = n, .back = -1};
	return parse(&s, max_text, out, err);
}

int rtf_extract(const char *path, size_t max_text, json_t **out, struct err *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return err_set(err, errno == EACCES ? DOSSIER_EPERM : DOSSIER_ENOTFOUND,
		               "%s: cannot open the file (%s)%s", path, strerror(errno),
		               errno == EACCES ? ": check its permissions" : "");
	struct src s = {.f = f, .back = -1};
	int rc = parse(&s, max_text, out, err);
	fclose(f);
	if (rc)
		err_prefix(err, "%s: ", path);
	return rc;
}
