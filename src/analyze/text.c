/*
 * text.c — text_normalize: encoding detection and decoding, HTML and Markdown
 * stripping, white-space folding. Three passes, each into a fresh buffer:
 *   decode (bytes -> UTF-8 with LF line ends) -> format (HTML/Markdown -> text) -> fold.
 * HTML is read by libxml2's HTML parser (SAX, no tree), Markdown by md4c.
 */
#include "analyze/text.h"
#include "analyze/internal.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

#include <libxml/HTMLparser.h>
#include <md4c.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <uchardet/uchardet.h>
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <strings.h>

#define TEXT_STAGE_CAP (4u * CAP_TEXT)   /* intermediate buffers: markup shrinks later */
#define TITLE_MAX 1000                   /* bytes of a title kept */
#define HTML_CHUNK (1u << 20)            /* bytes handed to libxml2's push parser at a time */
/* Elements open at once before the HTML parser is restarted on the rest of the input:
 * libxml2 2.9 scans its whole stack of open elements for every unmatched end tag (and
 * every <body>), so "<b>" x n then "</i>" x n would take n^2 steps. Real pages nest
 * a few dozen deep; past this, the nesting is dropped and the text kept. */
#define HTML_MAX_DEPTH 256

/* ------------------------------------------------------------ small writer ---- */

/* The passes write with these; the first error (ETOOBIG/ENOMEM) sticks in w->rc. */
struct writer {
	struct buf b;
	int rc;
};

static void w_bytes(struct writer *w, const char *s, size_t n)
{
	if (w->rc == 0 && n)
		w->rc = buf_append(&w->b, s, n);
}

static void w_char(struct writer *w, char c)
{
	if (w->rc == 0)
		w->rc = buf_appendc(&w->b, c);
}

/* Ends the current line (count 1) or paragraph (count 2) unless the output already
 * ends with that many line breaks (trailing spaces ignored). */
static void w_break(struct writer *w, int count)
{
	size_t k = w->b.len;
	int have = 0;
	while (k > 0 && (w->b.data[k - 1] == ' ' || w->b.data[k - 1] == '\n')) {
		have += w->b.data[k - 1] == '\n';
		k--;
	}
	if (k == 0)
		return;   /* nothing written yet: no break needed */
	for (; have < count; have++)
		w_char(w, '\n');
}

static void w_cp(struct writer *w, uint32_t cp)
{
	char tmp[4];
	w_bytes(w, tmp, an_utf8_encode(cp, tmp));
}

/* ------------------------------------------------------------------ decode ---- */

static const uint16_t cp1252_high[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178,
};

static int is_control(uint32_t cp)
{
	return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r' && cp != '\f' && cp != '\v') ||
	       cp == 0x7F;
}

/* Emits cp with CR and CRLF turned into LF. */
static void w_cp_lf(struct writer *w, uint32_t cp, int *prev_cr)
{
	if (cp == '\n' && *prev_cr) {
		*prev_cr = 0;
		return;
	}
	*prev_cr = cp == '\r';
	w_cp(w, cp == '\r' ? '\n' : cp);
}

static int decode_utf16(const unsigned char *p, size_t n, int be, struct writer *w,
			size_t *controls, size_t *units)
{
	int prev_cr = 0;
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint32_t u = be ? (uint32_t)(p[i] << 8 | p[i + 1]) : (uint32_t)(p[i] | p[i + 1] << 8);
		(*units)++;
		if (u >= 0xD800 && u <= 0xDBFF && i + 3 < n) {
			uint32_t v = be ? (uint32_t)(p[i + 2] << 8 | p[i + 3])
					: (uint32_t)(p[i + 2] | p[i + 3] << 8);
			if (v >= 0xDC00 && v <= 0xDFFF) {
				u = 0x10000 + ((u - 0xD800) << 10) + (v - 0xDC00);
				i += 2;
			} else {
				u = 0xFFFD;
			}
		} else if (u >= 0xD800 && u <= 0xDFFF) {
			u = 0xFFFD;
		}
		if (u == 0 || is_control(u)) {
			(*controls)++;
			if (u == 0)
				return -1;
			continue;
		}
		w_cp_lf(w, u, &prev_cr);
	}
	return 0;
}

/* Guesses UTF-16 without a BOM: ASCII-range text has a NUL in every other byte. */
static int guess_utf16(const unsigned char *p, size_t n)
{
	if (n < 8)
		return -1;
	size_t lim = n < 4096 ? n : 4096, even0 = 0, odd0 = 0;
	for (size_t i = 0; i + 1 < lim; i += 2) {
		even0 += p[i] == 0;
		odd0 += p[i + 1] == 0;
	}
	size_t pairs = lim / 2;
	if (odd0 * 10 >= pairs * 7 && even0 * 20 <= pairs)
		return 0;   /* little endian */
	if (even0 * 10 >= pairs * 7 && odd0 * 20 <= pairs)
		return 1;   /* big endian */
	return -1;
}

/* 1 if most non-ASCII bytes of p form valid UTF-8 sequences: the file is
 * UTF-8 with some stray bytes of another encoding. */
static int mostly_utf8(const unsigned char *p, size_t n)
{
	size_t good = 0, bad = 0, i = 0, len;
	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		utf8_decode((const char *)p + i, n - i, &len);
		if (len) {
			good++;
			i += len;
		} else {
			bad++;
			i++;
		}
	}
	return good > 0 && good >= 2 * bad;
}

/* Detects the charset (uchardet, on the first 256 KB) and converts with iconv.
 * Returns 0 when nothing useful was detected (the caller falls back to
 * Windows-1252); bytes iconv cannot convert are skipped. */
static int decode_detected(const unsigned char *p, size_t n, struct writer *w, char enc[16], int *prev_cr)
{
	/* a handful of non-ASCII bytes is too little for a guess: a short note
	 * with "café" would come out as Central European */
	size_t high = 0;
	for (size_t i = 0; i < n && high < 16; i++)
		high += p[i] >= 0x80;
	if (high < 16)
		return 0;
	uchardet_t ud = uchardet_new();
	if (!ud)
		return 0;
	uchardet_handle_data(ud, (const char *)p, n < 256 * 1024 ? n : 256 * 1024);
	uchardet_data_end(ud);
	char cs[64];
	snprintf(cs, sizeof cs, "%s", uchardet_get_charset(ud));
	uchardet_delete(ud);
	/* nothing found, or a guess we read better ourselves */
	if (!*cs || !strcasecmp(cs, "ASCII") || !strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "WINDOWS-1252") ||
	    !strcasecmp(cs, "ISO-8859-1"))
		return 0;
	if (!strcasecmp(cs, "WINDOWS-1250")) {
		/* uchardet does not tell Windows-1250 from ISO-8859-2; the Windows one
		 * puts common letters (š ž ť ś ź) at 0x8A-0x9F, which ISO-8859-2 leaves
		 * to control codes: without such bytes, it is ISO-8859-2 */
		int c1 = 0;
		for (size_t i = 0; i < n && !c1; i++)
			c1 = p[i] >= 0x80 && p[i] <= 0x9F;
		if (!c1)
			snprintf(cs, sizeof cs, "ISO-8859-2");
	}
	iconv_t cd = iconv_open("UTF-8", cs);
	if (cd == (iconv_t)-1)
		return 0;
	char out[4096];
	char *ip = (char *)p;
	size_t il = n;
	while (il > 0 && !w->rc) {
		char *op = out;
		size_t ol = sizeof out;
		size_t r = iconv(cd, &ip, &il, &op, &ol);
		for (size_t k = 0, len; k < (size_t)(op - out);) {
			uint32_t cp = utf8_decode(out + k, (size_t)(op - out) - k, &len);
			if (!len)
				break;
			w_cp_lf(w, cp, prev_cr);
			k += len;
		}
		if (r == (size_t)-1 && errno != E2BIG) {
			if (errno == EINVAL)
				break;   /* a sequence cut at the end of the file */
			ip++;        /* EILSEQ: a byte the charset does not have */
			il--;
		}
	}
	iconv_close(cd);
	for (char *c = cs; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	snprintf(enc, 16, "%s", cs);
	return 1;
}

static int decode(const char *in, size_t n, struct writer *w, char enc[16], struct err *err)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t controls = 0, units = 0;

	int utf16 = -1;
	if (n >= 2 && p[0] == 0xFF && p[1] == 0xFE) {
		utf16 = 0;
		p += 2;
		n -= 2;
	} else if (n >= 2 && p[0] == 0xFE && p[1] == 0xFF) {
		utf16 = 1;
		p += 2;
		n -= 2;
	} else if (memchr(p, 0, n)) {
		utf16 = guess_utf16(p, n);
		if (utf16 < 0)
			return err_set(err, DOSSIER_EFORMAT,
				       "the file looks binary, not text (it contains NUL bytes); "
				       "open it with a tool for its real format");
	}
	if (utf16 >= 0) {
		strcpy(enc, utf16 ? "utf-16be" : "utf-16le");
		if (decode_utf16(p, n, utf16, w, &controls, &units) != 0 || controls * 20 > units)
			return err_set(err, DOSSIER_EFORMAT,
				       "the file looks binary, not text (NUL or control characters in "
				       "its UTF-16); open it with a tool for its real format");
		return w->rc ? err_set(err, w->rc, "the decoded text is too large (over %u MB)",
				       TEXT_STAGE_CAP / 1000000u) : 0;
	}

	for (size_t i = 0; i < n; i++)
		controls += is_control(p[i]);
	if (controls * 20 > n)
		return err_set(err, DOSSIER_EFORMAT,
			       "the file looks binary, not text (%zu of %zu bytes are control "
			       "characters); open it with a tool for its real format", controls, n);

	if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF) {
		p += 3;
		n -= 3;
	}
	int prev_cr = 0;
	if (utf8_valid((const char *)p, n)) {
		strcpy(enc, "utf-8");
		size_t i = 0;
		while (i < n) {
			/* copy runs without CR in one go */
			const unsigned char *cr = memchr(p + i, '\r', n - i);
			size_t run = cr ? (size_t)(cr - (p + i)) : n - i;
			if (run) {
				if (prev_cr && p[i] == '\n') {
					i++;
					run--;
				}
				w_bytes(w, (const char *)p + i, run);
				i += run;
				prev_cr = 0;
			}
			if (i < n && p[i] == '\r') {
				w_char(w, '\n');
				prev_cr = 1;
				i++;
			}
		}
	} else if (mostly_utf8(p, n)) {
		/* a file that mixes UTF-8 and Latin-1 (edited by two tools): the valid
		 * UTF-8 stays as it is, each stray byte is read as Windows-1252 */
		strcpy(enc, "utf-8/cp1252");
		size_t i = 0, len;
		while (i < n) {
			uint32_t cp = utf8_decode((const char *)p + i, n - i, &len);
			if (!len) {
				cp = p[i] >= 0x80 && p[i] < 0xA0 ? cp1252_high[p[i] - 0x80] : p[i];
				len = 1;
			}
			if (cp)
				w_cp_lf(w, cp, &prev_cr);
			i += len;
		}
	} else if (!decode_detected(p, n, w, enc, &prev_cr)) {
		strcpy(enc, "windows-1252");
		for (size_t i = 0; i < n; i++) {
			uint32_t cp = p[i];
			if (cp >= 0x80 && cp < 0xA0) {
				cp = cp1252_high[cp - 0x80];
				if (!cp)
					continue;   /* undefined in Windows-1252 */
			}
			w_cp_lf(w, cp, &prev_cr);
		}
	}
	return w->rc ? err_set(err, w->rc, "the decoded text is too large (over %u MB)",
			       TEXT_STAGE_CAP / 1000000u) : 0;
}

/* ---------------------------------------------------------------- entities ---- */

/* Numeric character references as browsers read them: 0x80-0x9F as Windows-1252,
 * 0, surrogates and values past U+10FFFF as U+FFFD. */
static uint32_t charref_fix(uint32_t v)
{
	if (v >= 0x80 && v < 0xA0 && cp1252_high[v - 0x80])
		return cp1252_high[v - 0x80];
	if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0xFFFD;
	return v;
}

/* Decodes the entity s[0..n) ("&name;" or "&#...;", as md4c reports it) into w:
 * named ones through libxml2's HTML entity table, unknown ones kept as written. */
static void w_entity(struct writer *w, const char *s, size_t n)
{
	if (n >= 4 && s[1] == '#') {
		int hex = s[2] == 'x' || s[2] == 'X';
		uint32_t v = 0;
		for (size_t k = hex ? 3 : 2; k + 1 < n; k++) {
			char c = s[k];
			uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0')
				   : hex && (c | 32) >= 'a' && (c | 32) <= 'f' ? (uint32_t)((c | 32) - 'a' + 10) : 99;
			if (d == 99)
				goto verbatim;
			v = v * (hex ? 16 : 10) + d;
			if (v > 0x10FFFF)
				v = 0x110000;
		}
		w_cp(w, charref_fix(v));
		return;
	}
	if (n >= 3 && n < 40) {
		char name[40];
		memcpy(name, s + 1, n - 2);
		name[n - 2] = '\0';
		const htmlEntityDesc *d = htmlEntityLookup((const xmlChar *)name);
		if (d && d->value) {
			w_cp(w, d->value);
			return;
		}
	}
verbatim:
	w_bytes(w, s, n);
}

/* -------------------------------------------------------------------- HTML ---- */

/* What an element does to the text (the names libxml2 reports, lower case). */
enum tag_kind { T_NONE, T_PARA, T_LINE, T_CELL, T_RAW, T_HEAD, T_TITLE };

/* Sorted by name, for bsearch: paragraph breaks, line breaks, cell separators,
 * dropped content (script, style, template, svg, math), head and title. */
static const struct tag_entry {
	const char *name;
	enum tag_kind kind;
} tag_table[] = {
	{ "address", T_PARA },
	{ "article", T_PARA },
	{ "aside", T_PARA },
	{ "blockquote", T_PARA },
	{ "body", T_LINE },
	{ "br", T_LINE },
	{ "caption", T_LINE },
	{ "dd", T_LINE },
	{ "details", T_PARA },
	{ "div", T_LINE },
	{ "dl", T_PARA },
	{ "dt", T_LINE },
	{ "fieldset", T_PARA },
	{ "figcaption", T_LINE },
	{ "figure", T_PARA },
	{ "footer", T_PARA },
	{ "form", T_PARA },
	{ "h1", T_PARA },
	{ "h2", T_PARA },
	{ "h3", T_PARA },
	{ "h4", T_PARA },
	{ "h5", T_PARA },
	{ "h6", T_PARA },
	{ "head", T_HEAD },
	{ "header", T_PARA },
	{ "hr", T_PARA },
	{ "li", T_LINE },
	{ "main", T_PARA },
	{ "math", T_RAW },
	{ "nav", T_PARA },
	{ "ol", T_PARA },
	{ "option", T_LINE },
	{ "p", T_PARA },
	{ "pre", T_PARA },
	{ "script", T_RAW },
	{ "section", T_PARA },
	{ "style", T_RAW },
	{ "summary", T_PARA },
	{ "svg", T_RAW },
	{ "table", T_PARA },
	{ "td", T_CELL },
	{ "template", T_RAW },
	{ "th", T_CELL },
	{ "title", T_TITLE },
	{ "tr", T_LINE },
	{ "ul", T_PARA },
};

static int tag_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct tag_entry *)e)->name);
}

static enum tag_kind tag_kind(const char *name)
{
	const struct tag_entry *e = bsearch(name, tag_table, sizeof tag_table / sizeof tag_table[0],
					    sizeof tag_table[0], tag_cmp);
	return e ? e->kind : T_NONE;
}

static char *fold_title(const char *s, size_t n);

/* The state of one HTML conversion, fed by libxml2's SAX callbacks. */
struct html_sax {
	struct writer *w;
	char **title;          /* NULL: no title wanted */
	struct buf tbuf;       /* text of the first <title> */
	int raw;               /* depth inside script, style, template, svg, math */
	int head;              /* depth inside head */
	int in_title, pre, title_done;
	int depth;             /* elements open in the current parser */
	long restart_at;       /* >= 0: the parser stopped there (bytes into its input) */
	htmlParserCtxtPtr ctxt;
};

static void hs_start(void *ud, const xmlChar *tag, const xmlChar **atts)
{
	(void)atts;
	struct html_sax *h = ud;
	const char *name = (const char *)tag;
	if (++h->depth > HTML_MAX_DEPTH && h->restart_at < 0) {
		long at = xmlByteConsumed(h->ctxt);
		h->restart_at = at > 0 ? at : 0;   /* 0 (unknown): the rest is dropped */
		xmlStopParser(h->ctxt);
		return;
	}
	enum tag_kind k = tag_kind(name);
	if (k == T_RAW)
		h->raw++;
	if (h->raw)
		return;
	if (k == T_HEAD) {
		h->head++;
	} else if (k == T_TITLE) {
		h->in_title++;
	} else if (!h->head) {
		if (k == T_PARA && strcmp(name, "pre") == 0)
			h->pre++;
		if (k == T_PARA)
			w_break(h->w, 2);
		else if (k == T_LINE)
			w_break(h->w, 1);
		else if (k == T_CELL)
			w_char(h->w, ' ');
		if (h->w->rc)
			xmlStopParser(h->ctxt);
	}
}

static void hs_end(void *ud, const xmlChar *tag)
{
	struct html_sax *h = ud;
	const char *name = (const char *)tag;
	if (h->depth > 0)
		h->depth--;
	enum tag_kind k = tag_kind(name);
	if (k == T_RAW) {
		if (h->raw)
			h->raw--;
		return;
	}
	if (h->raw)
		return;
	if (k == T_HEAD) {
		if (h->head)
			h->head--;
	} else if (k == T_TITLE) {
		if (h->in_title && !--h->in_title)
			h->title_done = 1;
	} else if (!h->head) {
		if (k == T_PARA && strcmp(name, "pre") == 0 && h->pre)
			h->pre--;
		if (k == T_PARA)
			w_break(h->w, 2);
		else if (k == T_LINE)
			w_break(h->w, 1);
		else if (k == T_CELL)
			w_char(h->w, ' ');
	}
}

static void hs_text(void *ud, const xmlChar *ch, int len)
{
	struct html_sax *h = ud;
	const char *s = (const char *)ch;
	size_t n = len > 0 ? (size_t)len : 0;
	if (h->raw)
		return;
	if (h->in_title) {
		if (h->title && !h->title_done && h->tbuf.len < TITLE_MAX * 4)
			buf_append(&h->tbuf, s, n);   /* capped: the title is cut later anyway */
		return;
	}
	if (h->head)
		return;
	struct writer *w = h->w;
	size_t run = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		/* U+0080-U+009F (from &#128; to &#159;) are Windows-1252 in browsers */
		int c1 = c == 0xC2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] < 0xA0;
		int ws = !h->pre && (c == '\n' || c == '\t');
		if (!c1 && !ws)
			continue;
		w_bytes(w, s + run, i - run);
		if (c1) {
			w_cp(w, charref_fix((unsigned char)s[i + 1]));
			i++;
		} else {
			w_char(w, ' ');
		}
		run = i + 1;
	}
	w_bytes(w, s + run, n - run);
	if (w->rc)
		xmlStopParser(h->ctxt);
}

static void hs_quiet(void *ud, const char *msg, ...)
{
	(void)ud;
	(void)msg;
}

/* Runs one libxml2 HTML push parser over s[0..n) into h; returns the bytes read
 * when it stopped at HTML_MAX_DEPTH (h->restart_at), or n. */
static size_t html_parse_run(struct html_sax *h, const char *s, size_t n)
{
	htmlSAXHandler sax;
	memset(&sax, 0, sizeof sax);
	sax.startElement = hs_start;
	sax.endElement = hs_end;
	sax.characters = hs_text;
	sax.ignorableWhitespace = hs_text;
	sax.cdataBlock = hs_text;   /* script and style bodies: dropped in hs_text */
	sax.warning = hs_quiet;
	sax.error = hs_quiet;
	sax.fatalError = hs_quiet;
	struct writer *w = h->w;
	htmlParserCtxtPtr c = htmlCreatePushParserCtxt(&sax, h, NULL, 0, NULL, XML_CHAR_ENCODING_UTF8);
	if (!c) {
		w->rc = DOSSIER_ENOMEM;
		return n;
	}
	/* no network, no external entities (HTML has none), no messages; the input is
	 * UTF-8 already, so a <meta charset> must not switch the decoder */
	htmlCtxtUseOptions(c, HTML_PARSE_NONET | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER |
			      HTML_PARSE_IGNORE_ENC | HTML_PARSE_NODEFDTD);
	h->ctxt = c;
	h->depth = 0;
	h->restart_at = -1;
	size_t fed = 0;
	while (fed < n && w->rc == 0 && h->restart_at < 0) {
		size_t chunk = n - fed > HTML_CHUNK ? HTML_CHUNK : n - fed;
		htmlParseChunk(c, s + fed, (int)chunk, 0);
		fed += chunk;
	}
	if (w->rc == 0 && h->restart_at < 0)
		htmlParseChunk(c, NULL, 0, 1);
	if (c->myDoc)
		xmlFreeDoc(c->myDoc);
	c->myDoc = NULL;
	htmlFreeParserCtxt(c);
	h->ctxt = NULL;
	if (h->restart_at < 0)
		return n;
	size_t at = (size_t)h->restart_at;
	if (at > n)
		at = n;
	/* the parser stopped in a start tag, before its '>' */
	while (at < n && s[at] != '>' && s[at] != '<')
		at++;
	if (at < n && s[at] == '>')
		at++;
	return at > 0 ? at : n;   /* always progress */
}

/* HTML -> text through libxml2's HTML parser (SAX: no tree is built). The input is
 * UTF-8 already (decode()), so libxml2 is told so and ignores <meta charset>. */
static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();   /* libxml2 2.9's first-use set-up is not thread safe */
}

static void html_to_text(const char *s, size_t n, struct writer *w, char **title)
{
	pthread_once(&xml_once, xml_init);
	struct html_sax h = { .w = w, .title = title, .restart_at = -1 };
	buf_init(&h.tbuf, 0);
	while (n > 0 && w->rc == 0) {
		size_t used = html_parse_run(&h, s, n);
		s += used;
		n -= used;
		/* a fresh parser knows nothing of what was open */
		h.raw = h.head = h.in_title = h.pre = 0;
		if (h.tbuf.len)
			h.title_done = 1;
	}
	if (title && !*title && h.tbuf.len)
		*title = fold_title(h.tbuf.data, h.tbuf.len);
	buf_free(&h.tbuf);
}

/* ---------------------------------------------------------------- Markdown ---- */

/* The state of one Markdown conversion, fed by md4c's callbacks. */
struct md_state {
	struct writer *w;
	char **title;
	const char *doc;       /* the source, to see blank lines between blocks */
	size_t doc_len;
	const char *seen;      /* the source up to here is accounted for */
	int pend;              /* line breaks owed before the next text (0, 1, 2) */
	int title_at;          /* -1, or the output offset where the first heading began */
	int col;               /* cell index in the current table row */
	int in_html;           /* inside an HTML block: its text goes to html */
	struct buf html;
};

static void md_owe(struct md_state *m, int count)
{
	if (m->pend < count)
		m->pend = count;
}

/* Pays the breaks owed before text at src (a pointer into the source, or not): one
 * owed break becomes two when the source has a blank line in between. */
static void md_flush(struct md_state *m, const char *src)
{
	uintptr_t p = (uintptr_t)src, a = (uintptr_t)m->doc, e = a + m->doc_len;
	int in_doc = src && p >= a && p <= e;
	if (m->pend == 1 && in_doc && p > (uintptr_t)m->seen) {
		const char *q = m->seen;
		int nl = 0;
		for (; q < src && m->pend < 2; q++) {
			if (*q == '\n') {
				if (nl)
					m->pend = 2;
				nl = 1;
			} else if (*q != ' ' && *q != '\t' && *q != '>') {
				nl = 0;
			}
		}
	}
	if (in_doc && p > (uintptr_t)m->seen)
		m->seen = src;
	if (m->pend)
		w_break(m->w, m->pend);
	m->pend = 0;
}

static int md_enter_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct md_state *m = ud;
	switch (type) {
	case MD_BLOCK_H:
		md_owe(m, 2);
		md_flush(m, NULL);
		if (m->title && !*m->title && m->title_at < 0)
			m->title_at = (int)m->w->b.len;
		break;
	case MD_BLOCK_CODE: {
		const MD_BLOCK_CODE_DETAIL *d = detail;
		md_owe(m, 2);
		if (d->fence_char) {
			md_flush(m, NULL);
			for (int i = 0; i < 3; i++)
				w_char(m->w, d->fence_char);
			w_bytes(m->w, d->info.text, d->info.size);
			w_char(m->w, '\n');
		}
		break;
	}
	case MD_BLOCK_HTML:
		md_owe(m, 1);
		m->in_html = 1;
		m->html.len = 0;
		break;
	case MD_BLOCK_TABLE:
	case MD_BLOCK_HR:
		md_owe(m, 2);
		break;
	case MD_BLOCK_TR:
		md_owe(m, 1);
		m->col = 0;
		break;
	case MD_BLOCK_TH:
	case MD_BLOCK_TD:
		if (m->col++ > 0) {
			md_flush(m, NULL);
			w_char(m->w, ' ');
		}
		break;
	case MD_BLOCK_DOC:
	case MD_BLOCK_THEAD:
	case MD_BLOCK_TBODY:
		break;
	default:   /* paragraphs, lists, items, quotes */
		md_owe(m, 1);
		break;
	}
	return m->w->rc ? 1 : 0;
}

static int md_leave_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
	struct md_state *m = ud;
	switch (type) {
	case MD_BLOCK_H:
		if (m->title_at >= 0 && m->title && !*m->title && m->w->rc == 0 &&
		    m->w->b.len > (size_t)m->title_at)
			*m->title = fold_title(m->w->b.data + m->title_at, m->w->b.len - (size_t)m->title_at);
		m->title_at = -1;
		md_owe(m, 2);
		break;
	case MD_BLOCK_CODE: {
		const MD_BLOCK_CODE_DETAIL *d = detail;
		if (d->fence_char) {
			md_flush(m, NULL);
			for (int i = 0; i < 3; i++)
				w_char(m->w, d->fence_char);
		}
		md_owe(m, 2);
		break;
	}
	case MD_BLOCK_HTML:
		m->in_html = 0;
		md_flush(m, NULL);
		if (m->html.len)
			html_to_text(m->html.data, m->html.len, m->w, NULL);
		md_owe(m, 1);
		break;
	case MD_BLOCK_TABLE:
		md_owe(m, 2);
		break;
	case MD_BLOCK_DOC:
	case MD_BLOCK_THEAD:
	case MD_BLOCK_TBODY:
	case MD_BLOCK_TH:
	case MD_BLOCK_TD:
		break;
	default:
		md_owe(m, 1);
		break;
	}
	return m->w->rc ? 1 : 0;
}

static int md_span(MD_SPANTYPE type, void *detail, void *ud)
{
	(void)type;
	(void)detail;
	(void)ud;
	return 0;   /* emphasis, links, images, code: only their text matters */
}

static int md_text(MD_TEXTTYPE type, const MD_CHAR *s, MD_SIZE n, void *ud)
{
	struct md_state *m = ud;
	struct writer *w = m->w;
	if (type == MD_TEXT_HTML) {
		/* an HTML block goes through the HTML path whole; inline tags are dropped */
		int rc = m->in_html ? buf_append(&m->html, s, n) : 0;
		if (rc && w->rc == 0)
			w->rc = rc;
		return w->rc ? 1 : 0;
	}
	md_flush(m, s);
	switch (type) {
	case MD_TEXT_NULLCHAR:
		w_cp(w, 0xFFFD);
		break;
	case MD_TEXT_BR:
	case MD_TEXT_SOFTBR:
		w_char(w, '\n');
		break;
	case MD_TEXT_ENTITY:
		w_entity(w, s, n);
		break;
	default:
		w_bytes(w, s, n);
		break;
	}
	return w->rc ? 1 : 0;
}

/* Markdown -> text through md4c (CommonMark with GitHub's tables, strike-through and
 * task lists). */
static void md_to_text(const char *s, size_t n, struct writer *w, char **title)
{
	struct md_state m = { .w = w, .title = title, .doc = s, .doc_len = n, .seen = s, .title_at = -1 };
	buf_init(&m.html, TEXT_STAGE_CAP);
	MD_PARSER p;
	memset(&p, 0, sizeof p);
	p.abi_version = 0;
	p.flags = MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH | MD_FLAG_TASKLISTS;
	p.enter_block = md_enter_block;
	p.leave_block = md_leave_block;
	p.enter_span = md_span;
	p.leave_span = md_span;
	p.text = md_text;
	int rc = md_parse(s, (MD_SIZE)n, &p, &m);
	if (rc < 0 && w->rc == 0)
		w->rc = DOSSIER_ENOMEM;   /* md4c fails only when out of memory */
	buf_free(&m.html);
}
/* ---------------------------------------------------------------- folding ---- */

static int is_dropped(uint32_t cp)
{
	return (cp < 0x20 && cp != '\n' && cp != '\f') || cp == 0x7F || (cp >= 0x80 && cp < 0xA0) ||
	       cp == 0xAD || cp == 0x200B || cp == 0xFEFF || cp == 0x2060;
}

/* Folds white space of s into w (see text.h). */
static void fold(const char *s, size_t n, struct writer *w)
{
	int space = 0, newlines = 0;
	size_t i = 0;
	while (i < n && w->rc == 0) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp;
		size_t adv = 1;
		if (c < 0x80)
			cp = c;
		else
			cp = an_utf8_decode(s + i, n - i, &adv);
		i += adv;
		if (cp == '\n') {
			newlines++;
			space = 0;
			continue;
		}
		if (cp == '\f') {
			newlines += 2;
			space = 0;
			continue;
		}
		if (an_is_space(cp) || cp == '\r') {
			space = 1;
			continue;
		}
		if (is_dropped(cp))
			continue;
		if (w->b.len > 0) {
			if (newlines)
				w_bytes(w, "\n\n", newlines >= 2 ? 2 : 1);
			else if (space)
				w_char(w, ' ');
		}
		newlines = 0;
		space = 0;
		if (adv == 1)
			w_char(w, (char)c);
		else
			w_bytes(w, s + i - adv, adv);
	}
}

/* A title: white space folded to single spaces on one line, at most TITLE_MAX bytes
 * (cut at a character boundary). NULL when empty or out of memory. */
static char *fold_title(const char *s, size_t n)
{
	struct writer w = { { 0 }, 0 };
	buf_init(&w.b, 0);
	fold(s, n, &w);   /* entities are decoded already, by libxml2 or md_text */
	if (w.rc || !w.b.data || w.b.len == 0) {
		buf_free(&w.b);
		return NULL;
	}
	for (size_t k = 0; k < w.b.len; k++)
		if (w.b.data[k] == '\n')
			w.b.data[k] = ' ';
	if (w.b.len > TITLE_MAX) {
		size_t cut = TITLE_MAX;
		while (cut > 0 && ((unsigned char)w.b.data[cut] & 0xC0) == 0x80)
			cut--;
		w.b.data[cut] = '\0';
		w.b.len = cut;
	}
	return buf_take(&w.b);
}

/* ------------------------------------------------------------------ public ---- */

int text_normalize(const char *in, size_t n, enum text_format fmt, char **out, size_t *out_len,
		   char **title_out, char encoding_out[16], struct err *err)
{
	struct writer dec = { { 0 }, 0 }, fmtd = { { 0 }, 0 }, fin = { { 0 }, 0 };
	char *title = NULL;
	char enc[16] = "utf-8";
	int rc;

	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (title_out)
		*title_out = NULL;
	if (encoding_out)
		strcpy(encoding_out, "utf-8");
	if (!out || !out_len || (!in && n > 0))
		return err_set(err, DOSSIER_EINVAL, "text_normalize: missing input or output argument");
	if (n == 0)
		return err_set(err, DOSSIER_EEMPTY, "the file contains no text (it is empty)");
	if (n > TEXT_STAGE_CAP)
		return err_set(err, DOSSIER_ETOOBIG,
			       "the file is too large to analyse as text (%zu bytes; the limit is %u)",
			       n, TEXT_STAGE_CAP);

	buf_init(&dec.b, TEXT_STAGE_CAP);
	buf_init(&fmtd.b, TEXT_STAGE_CAP);
	buf_init(&fin.b, CAP_TEXT);
	rc = decode(in, n, &dec, enc, err);
	if (rc)
		goto fail;

	const char *src = dec.b.data ? dec.b.data : "";
	size_t slen = dec.b.len;
	if (fmt == TEXT_FORMAT_HTML) {
		html_to_text(src, slen, &fmtd, &title);
		src = fmtd.b.data ? fmtd.b.data : "";
		slen = fmtd.b.len;
	} else if (fmt == TEXT_FORMAT_MARKDOWN) {
		md_to_text(src, slen, &fmtd, &title);
		src = fmtd.b.data ? fmtd.b.data : "";
		slen = fmtd.b.len;
	}
	if (fmtd.rc) {
		rc = err_set(err, fmtd.rc, fmtd.rc == DOSSIER_ETOOBIG
				   ? "the text is too large to analyse (over %u MB after markup removal)"
				   : "out of memory while normalising the text (%u MB limit)",
			     TEXT_STAGE_CAP / 1000000u);
		goto fail;
	}
	fold(src, slen, &fin);
	if (fin.rc) {
		rc = err_set(err, fin.rc, fin.rc == DOSSIER_ETOOBIG
				   ? "the text is too large to analyse (over %u MB); split the file"
				   : "out of memory while normalising the text (%u MB)",
			     CAP_TEXT / 1000000u);
		goto fail;
	}
	if (fin.b.len == 0) {
		rc = err_set(err, DOSSIER_EEMPTY, "the file contains no text (only white space%s)",
			     fmt == TEXT_FORMAT_PLAIN ? "" : " or markup");
		goto fail;
	}
	buf_free(&dec.b);
	buf_free(&fmtd.b);
	*out_len = fin.b.len;
	*out = buf_take(&fin.b);
	if (title_out)
		*title_out = title;
	else
		free(title);
	if (encoding_out)
		strcpy(encoding_out, enc);
	return 0;
fail:
	buf_free(&dec.b);
	buf_free(&fmtd.b);
	buf_free(&fin.b);
	free(title);
	return rc;
}
