/*
 * text.c — text_normalize: encoding detection and decoding, HTML and Markdown
 * stripping, white-space folding. Three passes, each into a fresh buffer:
 *   decode (bytes -> UTF-8 with LF line ends) -> format (HTML/Markdown -> text) -> fold.
 */
#include "analyze/text.h"
#include "analyze/internal.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>
#include <uchardet/uchardet.h>
#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <strings.h>

#define TEXT_STAGE_CAP (4u * CAP_TEXT)   /* intermediate buffers: markup shrinks later */
#define TITLE_MAX 1000                   /* bytes of a title kept */
#define MD_INLINE_WINDOW 2048            /* bytes searched for a closing ], ), ` or > */

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

static const struct {
	const char *name;
	uint32_t cp;
} entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' }, { "apos", '\'' },
	{ "nbsp", ' ' }, { "copy", 0xA9 }, { "reg", 0xAE }, { "trade", 0x2122 },
	{ "euro", 0x20AC }, { "pound", 0xA3 }, { "yen", 0xA5 }, { "cent", 0xA2 },
	{ "sect", 0xA7 }, { "deg", 0xB0 }, { "plusmn", 0xB1 }, { "micro", 0xB5 },
	{ "para", 0xB6 }, { "middot", 0xB7 }, { "laquo", 0xAB }, { "raquo", 0xBB },
	{ "iexcl", 0xA1 }, { "iquest", 0xBF }, { "shy", 0xAD }, { "ordf", 0xAA },
	{ "ordm", 0xBA }, { "sup1", 0xB9 }, { "sup2", 0xB2 }, { "sup3", 0xB3 },
	{ "frac12", 0xBD }, { "frac14", 0xBC }, { "frac34", 0xBE }, { "times", 0xD7 },
	{ "divide", 0xF7 }, { "szlig", 0xDF }, { "yuml", 0xFF }, { "mdash", 0x2014 },
	{ "ndash", 0x2013 }, { "hellip", 0x2026 }, { "lsquo", 0x2018 }, { "rsquo", 0x2019 },
	{ "sbquo", 0x201A }, { "ldquo", 0x201C }, { "rdquo", 0x201D }, { "bdquo", 0x201E },
	{ "bull", 0x2022 }, { "dagger", 0x2020 }, { "Dagger", 0x2021 }, { "permil", 0x2030 },
	{ "prime", 0x2032 }, { "lsaquo", 0x2039 }, { "rsaquo", 0x203A }, { "OElig", 0x152 },
	{ "oelig", 0x153 }, { "Scaron", 0x160 }, { "scaron", 0x161 }, { "Yuml", 0x178 },
	{ "fnof", 0x192 }, { "circ", 0x2C6 }, { "tilde", 0x2DC }, { "ensp", ' ' },
	{ "emsp", ' ' }, { "thinsp", ' ' }, { "zwnj", 0x200C }, { "zwj", 0x200D },
	{ "lrm", 0x200E }, { "rlm", 0x200F }, { "larr", 0x2190 }, { "rarr", 0x2192 },
	{ "uarr", 0x2191 }, { "darr", 0x2193 }, { "harr", 0x2194 }, { "minus", 0x2212 },
	{ "le", 0x2264 }, { "ge", 0x2265 }, { "ne", 0x2260 }, { "infin", 0x221E },
	{ "alpha", 0x3B1 }, { "beta", 0x3B2 }, { "gamma", 0x3B3 }, { "delta", 0x3B4 },
	{ "pi", 0x3C0 }, { "mu", 0x3BC }, { "sigma", 0x3C3 }, { "omega", 0x3C9 },
	{ "Omega", 0x3A9 }, { "Delta", 0x394 }, { "hearts", 0x2665 }, { "star", 0x2606 },
	{ "check", 0x2713 },
};

/* Latin-1 letters U+00C0..U+00DE by entity name; the lower-case name (all letters
 * lowered) is the letter 0x20 higher. */
static const char *const latin1_upper[31] = {
	"Agrave", "Aacute", "Acirc", "Atilde", "Auml", "Aring", "AElig", "Ccedil",
	"Egrave", "Eacute", "Ecirc", "Euml", "Igrave", "Iacute", "Icirc", "Iuml",
	"ETH", "Ntilde", "Ograve", "Oacute", "Ocirc", "Otilde", "Ouml", NULL,
	"Oslash", "Ugrave", "Uacute", "Ucirc", "Uuml", "Yacute", "THORN",
};

static uint32_t entity_lookup(const char *name, size_t n)
{
	for (size_t i = 0; i < sizeof entities / sizeof entities[0]; i++)
		if (strlen(entities[i].name) == n && memcmp(entities[i].name, name, n) == 0)
			return entities[i].cp;
	for (int i = 0; i < 31; i++) {
		const char *u = latin1_upper[i];
		if (!u || strlen(u) != n)
			continue;
		if (memcmp(u, name, n) == 0)
			return 0xC0 + (uint32_t)i;
		if (strncasecmp(u, name, n) == 0) {
			int lower = 1;
			for (size_t k = 0; k < n; k++)
				lower &= !(name[k] >= 'A' && name[k] <= 'Z');
			if (lower)
				return 0xE0 + (uint32_t)i;
		}
	}
	return 0;
}

/* Decodes an entity at s[0] == '&'. Returns the bytes consumed (0 = not an entity). */
static size_t entity_decode(const char *s, size_t n, uint32_t *cp)
{
	size_t lim = n < 40 ? n : 40;
	const char *semi = memchr(s, ';', lim);
	if (!semi || semi == s + 1)
		return 0;
	size_t len = (size_t)(semi - s) - 1;
	const char *name = s + 1;
	if (name[0] == '#') {
		uint32_t v = 0;
		int hex = len > 1 && (name[1] == 'x' || name[1] == 'X');
		size_t k = hex ? 2 : 1;
		if (k >= len)
			return 0;
		for (; k < len; k++) {
			char c = name[k];
			int d;
			if (c >= '0' && c <= '9')
				d = c - '0';
			else if (hex && (c | 32) >= 'a' && (c | 32) <= 'f')
				d = (c | 32) - 'a' + 10;
			else
				return 0;
			v = v * (hex ? 16 : 10) + (uint32_t)d;
			if (v > 0x10FFFF)
				v = 0x110000;
		}
		if (v >= 0x80 && v < 0xA0 && cp1252_high[v - 0x80])
			v = cp1252_high[v - 0x80];   /* as browsers do */
		if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
			v = 0xFFFD;
		*cp = v;
		return len + 2;
	}
	uint32_t v = entity_lookup(name, len);
	if (!v)
		return 0;
	*cp = v;
	return len + 2;
}

/* -------------------------------------------------------------------- HTML ---- */

static size_t find_ci(const char *s, size_t n, size_t from, const char *needle)
{
	size_t m = strlen(needle);
	for (size_t i = from; i + m <= n; i++)
		if (strncasecmp(s + i, needle, m) == 0)
			return i;
	return n;
}

static int tag_in(const char *name, const char *const *list)
{
	for (int i = 0; list[i]; i++)
		if (strcmp(name, list[i]) == 0)
			return 1;
	return 0;
}

static const char *const html_para[] = {
	"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "ul", "ol", "dl",
	"table", "section", "article", "header", "footer", "nav", "aside", "hr", "figure",
	"main", "address", "form", "fieldset", "details", "summary", "title", NULL
};
static const char *const html_line[] = {
	"br", "div", "li", "tr", "dd", "dt", "figcaption", "caption", "option", "body", NULL
};
static const char *const html_cell[] = { "td", "th", NULL };
static const char *const html_raw[] = { "script", "style", "template", "svg", "math", NULL };

/* Appends text with entities decoded, white space folded to single spaces. */
static void html_text_into(struct writer *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t m;
		if (s[i] == '&' && (m = entity_decode(s + i, n - i, &cp))) {
			w_cp(w, cp);
			i += m;
		} else if (s[i] == '\n' || s[i] == '\t') {
			w_char(w, ' ');
			i++;
		} else {
			w_char(w, s[i]);
			i++;
		}
	}
}

static char *fold_title(const char *s, size_t n);

static void html_to_text(const char *s, size_t n, struct writer *w, char **title)
{
	int in_head = 0, in_pre = 0;
	size_t i = 0;
	while (i < n && w->rc == 0) {
		char c = s[i];
		if (c == '<') {
			if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
				size_t e = i + 4;
				while (e + 3 <= n && memcmp(s + e, "-->", 3) != 0)
					e++;
				i = e + 3 <= n ? e + 3 : n;
				continue;
			}
			if (n - i >= 9 && memcmp(s + i, "<![CDATA[", 9) == 0) {
				size_t e = i + 9;
				while (e + 3 <= n && memcmp(s + e, "]]>", 3) != 0)
					e++;
				if (e + 3 > n)
					e = n;  /* unterminated: the rest is its content (not cut inside a character) */
				if (!in_head)
					w_bytes(w, s + i + 9, e - (i + 9));
				i = e + 3 <= n ? e + 3 : n;
				continue;
			}
			if (i + 1 < n && (s[i + 1] == '!' || s[i + 1] == '?')) {
				const char *gt = memchr(s + i, '>', n - i);
				i = gt ? (size_t)(gt - s) + 1 : n;
				continue;
			}
			size_t j = i + 1;
			int closing = 0;
			if (j < n && s[j] == '/') {
				closing = 1;
				j++;
			}
			char name[16];
			size_t k = 0;
			while (j < n && (((s[j] | 32) >= 'a' && (s[j] | 32) <= 'z') ||
					 (k > 0 && ((s[j] >= '0' && s[j] <= '9') || s[j] == '-')))) {
				if (k < sizeof name - 1)
					name[k++] = (char)(s[j] | 32);
				j++;
			}
			name[k] = '\0';
			if (k == 0) {                  /* a lone '<' is text */
				if (!in_head)
					w_char(w, '<');
				i++;
				continue;
			}
			char quote = 0;
			while (j < n) {
				if (quote) {
					if (s[j] == quote)
						quote = 0;
				} else if (s[j] == '"' || s[j] == '\'') {
					quote = s[j];
				} else if (s[j] == '>') {
					break;
				}
				j++;
			}
			size_t after = j < n ? j + 1 : n;
			if (!closing && tag_in(name, html_raw)) {
				char end[16];
				snprintf(end, sizeof end, "</%s", name);
				size_t e = find_ci(s, n, after, end);
				const char *gt = e < n ? memchr(s + e, '>', n - e) : NULL;
				i = gt ? (size_t)(gt - s) + 1 : n;
				continue;
			}
			if (!closing && strcmp(name, "title") == 0) {
				size_t e = find_ci(s, n, after, "</title");
				if (title && !*title)
					*title = fold_title(s + after, e - after);
				const char *gt = e < n ? memchr(s + e, '>', n - e) : NULL;
				i = gt ? (size_t)(gt - s) + 1 : n;
				continue;
			}
			if (strcmp(name, "head") == 0)
				in_head = !closing;
			else if (strcmp(name, "pre") == 0)
				in_pre = !closing;
			if (tag_in(name, html_para)) {
				in_head = 0;
				w_break(w, 2);
			} else if (tag_in(name, html_line)) {
				in_head = 0;
				w_break(w, 1);
			} else if (tag_in(name, html_cell)) {
				w_char(w, ' ');
			}
			i = after;
			continue;
		}
		if (in_head) {
			i++;
			continue;
		}
		uint32_t cp;
		size_t m;
		if (c == '&' && (m = entity_decode(s + i, n - i, &cp))) {
			w_cp(w, cp);
			i += m;
			continue;
		}
		if (!in_pre && (c == '\n' || c == '\t'))
			c = ' ';
		w_char(w, c);
		i++;
	}
}

/* ---------------------------------------------------------------- Markdown ---- */

static int is_blank_line(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	return 1;
}

static int md_is_fence(const char *s, size_t n, char *fc)
{
	if (n >= 3 && (s[0] == '`' || s[0] == '~') && s[1] == s[0] && s[2] == s[0]) {
		*fc = s[0];
		return 1;
	}
	return 0;
}

/* A line of one repeated '-', '*', '_' or '=' (spaces allowed), 3 or more. */
static int md_rule_char(const char *s, size_t n)
{
	char c = 0;
	size_t count = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t')
			continue;
		if (!c && strchr("-*_=", s[i]))
			c = s[i];
		if (s[i] != c)
			return 0;
		count++;
	}
	return count >= 3 ? c : 0;
}

static int is_ascii_punct(char c)
{
	return c > 32 && c < 127 && !((c | 32) >= 'a' && (c | 32) <= 'z') && !(c >= '0' && c <= '9');
}

static int is_space_or_none(const char *s, size_t n, long i)
{
	return i < 0 || (size_t)i >= n || s[i] == ' ' || s[i] == '\t';
}

static int is_alnum_at(const char *s, size_t n, long i)
{
	if (i < 0 || (size_t)i >= n)
		return 0;
	char c = s[i];
	return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') ||
	       (unsigned char)c >= 0x80;
}

/* Index of the ']' closing the '[' at s[i], or n. */
static size_t md_close_bracket(const char *s, size_t n, size_t i, char open, char close)
{
	int depth = 0;
	size_t lim = n - i > MD_INLINE_WINDOW ? i + MD_INLINE_WINDOW : n;
	if (!memchr(s + i, close, lim - i))
		return n;   /* the common case of a lone bracket, without the walk */
	for (size_t k = i; k < lim; k++) {
		if (s[k] == '\\') {
			k++;
			continue;
		}
		if (s[k] == open)
			depth++;
		else if (s[k] == close && --depth == 0)
			return k;
	}
	return n;
}

static void md_inline(const char *s, size_t n, struct writer *w)
{
	size_t i = 0;
	while (i < n) {
		char c = s[i];
		if (c == '\\' && i + 1 < n && is_ascii_punct(s[i + 1])) {
			w_char(w, s[i + 1]);
			i += 2;
			continue;
		}
		if (c == '`') {
			size_t r = i;
			while (r < n && s[r] == '`')
				r++;
			size_t run = r - i, k = r;
			size_t lim = n - r > MD_INLINE_WINDOW ? r + MD_INLINE_WINDOW : n;
			while (k < lim) {
				if (s[k] == '`') {
					size_t e = k;
					while (e < n && s[e] == '`')
						e++;
					if (e - k == run)
						break;
					k = e;
				} else {
					k++;
				}
			}
			if (k < lim) {
				w_bytes(w, s + r, k - r);
				i = k + run;
			} else {
				w_bytes(w, s + i, run);
				i = r;
			}
			continue;
		}
		if ((c == '[' || (c == '!' && i + 1 < n && s[i + 1] == '['))) {
			size_t open = c == '!' ? i + 1 : i;
			size_t close = md_close_bracket(s, n, open, '[', ']');
			if (close < n) {
				if (close + 1 < n && s[close + 1] == '(') {
					size_t pe = md_close_bracket(s, n, close + 1, '(', ')');
					if (pe < n) {
						md_inline(s + open + 1, close - open - 1, w);
						i = pe + 1;
						continue;
					}
				} else if (close + 1 < n && s[close + 1] == '[') {
					size_t re = md_close_bracket(s, n, close + 1, '[', ']');
					if (re < n) {
						md_inline(s + open + 1, close - open - 1, w);
						i = re + 1;
						continue;
					}
				}
			}
			w_char(w, c);
			i++;
			continue;
		}
		if (c == '<') {
			size_t lim = n - i > MD_INLINE_WINDOW ? MD_INLINE_WINDOW : n - i;
			const char *gt = memchr(s + i, '>', lim);
			if (gt) {
				size_t e = (size_t)(gt - s);
				const char *in = s + i + 1;
				size_t ilen = e - i - 1;
				if ((ilen > 7 && (strncmp(in, "http://", 7) == 0 || strncmp(in, "https://", 8) == 0)) ||
				    (ilen > 3 && memchr(in, '@', ilen) && !memchr(in, ' ', ilen))) {
					w_bytes(w, in, ilen);   /* autolink */
					i = e + 1;
					continue;
				}
				size_t k = (ilen > 0 && in[0] == '/') ? 1 : 0;
				if (k < ilen && ((in[k] | 32) >= 'a' && (in[k] | 32) <= 'z')) {
					i = e + 1;                 /* inline HTML tag */
					continue;
				}
			}
		}
		if (c == '*' || c == '_' || c == '~') {
			size_t r = i;
			while (r < n && s[r] == c)
				r++;
			size_t run = r - i;
			int left = !is_space_or_none(s, n, (long)r);     /* opens emphasis */
			int right = !is_space_or_none(s, n, (long)i - 1); /* closes emphasis */
			int intraword = is_alnum_at(s, n, (long)i - 1) && is_alnum_at(s, n, (long)r);
			int drop = (left || right) && run <= 3;
			if (c == '_' && intraword)
				drop = 0;                  /* snake_case */
			if (c == '~' && run != 2)
				drop = 0;
			if (!drop)
				w_bytes(w, s + i, run);
			i = r;
			continue;
		}
		w_char(w, c);
		i++;
	}
}

static void md_to_text(const char *s, size_t n, struct writer *w, char **title)
{
	size_t pos = 0, prev_a = 0, prev_b = 0;
	int in_code = 0, prev_text = 0;
	char fence = 0;
	while (pos < n && w->rc == 0) {
		const char *nl = memchr(s + pos, '\n', n - pos);
		size_t le = nl ? (size_t)(nl - s) : n;
		size_t next = nl ? le + 1 : n;
		size_t p = pos;
		while (p < le && (s[p] == ' ' || s[p] == '\t'))
			p++;
		const char *line = s + p;
		size_t ll = le - p;
		char fc;
		int was_text = prev_text;
		prev_text = 0;

		if (in_code) {
			w_bytes(w, s + pos, le - pos);
			w_char(w, '\n');
			if (md_is_fence(line, ll, &fc) && fc == fence)
				in_code = 0;
			pos = next;
			continue;
		}
		if (md_is_fence(line, ll, &fc)) {
			in_code = 1;
			fence = fc;
			w_bytes(w, line, ll);
			w_char(w, '\n');
			pos = next;
			continue;
		}
		if (is_blank_line(line, ll)) {
			w_char(w, '\n');
			pos = next;
			continue;
		}
		char rule = (char)md_rule_char(line, ll);
		if (rule) {
			/* "Title\n=====" or "Title\n-----": the previous line was a heading */
			if (was_text && (rule == '=' || rule == '-') && title && !*title) {
				struct writer tw = { { 0 }, 0 };
				buf_init(&tw.b, TITLE_MAX * 4);
				md_inline(s + prev_a, prev_b - prev_a, &tw);
				*title = fold_title(tw.b.data ? tw.b.data : "", tw.b.len);
				buf_free(&tw.b);
			}
			w_bytes(w, "\n\n", 2);
			pos = next;
			continue;
		}
		/* [ref]: http://... */
		if (line[0] == '[') {
			size_t close = md_close_bracket(line, ll, 0, '[', ']');
			if (close + 1 < ll && line[close + 1] == ':') {
				pos = next;
				continue;
			}
		}
		size_t h = 0;
		while (h < ll && h < 7 && line[h] == '#')
			h++;
		if (h >= 1 && h <= 6 && (h == ll || line[h] == ' ' || line[h] == '\t')) {
			size_t a = h, b = ll;
			while (a < b && (line[a] == ' ' || line[a] == '\t'))
				a++;
			while (b > a && (line[b - 1] == '#' || line[b - 1] == ' ' || line[b - 1] == '\t'))
				b--;
			size_t start = w->b.len;
			w_bytes(w, "\n\n", 2);
			md_inline(line + a, b - a, w);
			if (title && !*title && w->rc == 0)
				*title = fold_title(w->b.data + start, w->b.len - start);
			w_bytes(w, "\n\n", 2);
			pos = next;
			continue;
		}
		/* block quotes, list markers, task boxes */
		size_t a = 0;
		while (a < ll && line[a] == '>') {
			a++;
			while (a < ll && (line[a] == ' ' || line[a] == '\t'))
				a++;
		}
		if (a + 1 < ll && strchr("-*+", line[a]) && (line[a + 1] == ' ' || line[a + 1] == '\t')) {
			a += 2;
		} else {
			size_t d = a;
			while (d < ll && d - a < 9 && line[d] >= '0' && line[d] <= '9')
				d++;
			if (d > a && d + 1 < ll && (line[d] == '.' || line[d] == ')') && line[d + 1] == ' ')
				a = d + 2;
		}
		while (a < ll && (line[a] == ' ' || line[a] == '\t'))
			a++;
		if (ll - a >= 4 && line[a] == '[' && strchr(" xX", line[a + 1]) && line[a + 2] == ']' &&
		    line[a + 3] == ' ')
			a += 4;
		/* tables: separator rows vanish, pipes become spaces */
		if (line[0] == '|' || memchr(line, '|', ll)) {
			int sep = 1;
			for (size_t k = 0; k < ll; k++)
				if (!strchr("|-: \t", line[k]))
					sep = 0;
			if (sep) {
				pos = next;
				continue;
			}
		}
		size_t start = w->b.len;
		md_inline(line + a, ll - a, w);
		if (w->rc == 0 && memchr(line, '|', ll) && line[0] == '|') {
			for (size_t k = start; k < w->b.len; k++)
				if (w->b.data[k] == '|')
					w->b.data[k] = ' ';
		}
		w_char(w, '\n');
		prev_text = 1;
		prev_a = p;
		prev_b = le;
		pos = next;
	}
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
	struct writer dec = { { 0 }, 0 };
	buf_init(&dec.b, 0);
	html_text_into(&dec, s, n);    /* titles come from HTML or Markdown: decode entities */
	if (dec.rc == 0 && dec.b.data)
		fold(dec.b.data, dec.b.len, &w);
	buf_free(&dec.b);
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
