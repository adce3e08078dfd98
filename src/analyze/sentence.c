/*
 * sentence.c — the sentence splitter described in sentence.h.
 *
 * The text is walked line by line. Markdown structure (fences, headings, list items,
 * table rows, setext underlines, block quotes) is decided per line; inside prose each
 * terminator ('.', '!', '?', '…') is judged by the word before it and the character
 * after it. A last pass marks lone short lines without closing punctuation as headings.
 */
#include "analyze/sentence.h"
#include "analyze/internal.h"
#include "core/err.h"

#include <stdlib.h>
#include <string.h>

struct splitter {
	const char *t;
	size_t len;
	struct sentence *v;
	size_t n, cap;
	int oom;
	size_t open;                 /* start of the open sentence; SIZE_MAX = none */
	enum sentence_kind open_kind;
};

#define NO_OPEN ((size_t)-1)

/* ---------------------------------------------------------------- helpers ---- */

static int is_hspace(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

static int is_lower_letter(uint32_t cp)
{
	if (cp >= 'a' && cp <= 'z')
		return 1;
	if (cp >= 0xDF && cp <= 0xFF)
		return cp != 0xF7;
	if (cp >= 0x100 && cp < 0x180)
		return !an_is_upper(cp) && cp != 0x130;
	return (cp >= 0x3B1 && cp <= 0x3C9) || (cp >= 0x430 && cp <= 0x45F);
}

static int has_alnum(const char *t, size_t a, size_t b)
{
	while (a < b) {
		size_t adv;
		uint32_t cp = an_utf8_decode(t + a, b - a, &adv);
		if (an_is_letter(cp) || an_is_digit(cp))
			return 1;
		a += adv;
	}
	return 0;
}

static void emit(struct splitter *sp, size_t a, size_t b, enum sentence_kind kind)
{
	while (a < b && (is_hspace(sp->t[a]) || sp->t[a] == '\n'))
		a++;
	while (b > a && (is_hspace(sp->t[b - 1]) || sp->t[b - 1] == '\n'))
		b--;
	if (a >= b || !has_alnum(sp->t, a, b))
		return;
	if (sp->n == sp->cap) {
		size_t cap = sp->cap ? sp->cap * 2 : 64;
		struct sentence *v = realloc(sp->v, cap * sizeof *v);
		if (!v) {
			sp->oom = 1;
			return;
		}
		sp->v = v;
		sp->cap = cap;
	}
	sp->v[sp->n++] = (struct sentence){ a, b, kind };
}

static void close_open(struct splitter *sp, size_t end)
{
	if (sp->open != NO_OPEN)
		emit(sp, sp->open, end, sp->open_kind);
	sp->open = NO_OPEN;
}

static size_t line_end_of(const char *t, size_t len, size_t pos)
{
	const char *nl = memchr(t + pos, '\n', len - pos);
	return nl ? (size_t)(nl - t) : len;
}

static size_t skip_hspace(const char *t, size_t pos, size_t end)
{
	while (pos < end && is_hspace(t[pos]))
		pos++;
	return pos;
}

/* Length of a list marker at p ("- ", "* ", "+ ", "12. ", "3) "), 0 if none. */
static size_t list_marker(const char *t, size_t p, size_t end)
{
	if (p >= end)
		return 0;
	if (t[p] == '-' || t[p] == '*' || t[p] == '+')
		return (p + 1 < end && t[p + 1] == ' ') ? 2 : 0;
	if ((unsigned char)t[p] == 0xE2) {   /* • U+2022 */
		if (p + 3 < end && (unsigned char)t[p + 1] == 0x80 &&
		    (unsigned char)t[p + 2] == 0xA2 && t[p + 3] == ' ')
			return 4;
		return 0;
	}
	size_t q = p;
	while (q < end && q - p < 9 && t[q] >= '0' && t[q] <= '9')
		q++;
	if (q > p && q + 1 < end && (t[q] == '.' || t[q] == ')') && t[q + 1] == ' ')
		return q + 2 - p;
	return 0;
}

static int is_fence(const char *t, size_t p, size_t end, char *fc)
{
	if (p + 3 <= end && (t[p] == '`' || t[p] == '~') && t[p + 1] == t[p] && t[p + 2] == t[p]) {
		if (fc)
			*fc = t[p];
		return 1;
	}
	return 0;
}

/* ATX heading: returns the offset of its text (after "#+ "), 0 if the line is not one. */
static size_t heading_text(const char *t, size_t p, size_t end)
{
	size_t q = p;
	while (q < end && t[q] == '#' && q - p < 7)
		q++;
	if (q == p || q - p > 6)
		return 0;
	if (q < end && t[q] != ' ' && t[q] != '\t')
		return 0;
	return skip_hspace(t, q, end);
}

/* A line of only '=' or only '-' (3 or more), a setext underline or a rule. */
static int is_underline(const char *t, size_t p, size_t end)
{
	size_t q = p, n = 0;
	char c = t[p];
	if (c != '=' && c != '-' && c != '*' && c != '_')
		return 0;
	for (; q < end; q++) {
		if (t[q] == c)
			n++;
		else if (!is_hspace(t[q]))
			return 0;
	}
	return n >= 3;
}

/* -------------------------------------------------------- terminator rules ---- */

static const char *const never_break[] = {
	"mr", "mrs", "ms", "dr", "prof", "st", "sr", "sra", "srta", "jr", "mt", "mme",
	"mlle", "mm", "messrs", "rev", "hr", "hrn", "fr", "frl", "dipl", "ing", "dott",
	"sig", "vs", "approx", "ca", "cf", "fig", "figs", "vol", "nr", "pp", "al", "resp",
	"vgl", "ggf", "inkl", "evtl", "bzw", "sog", "ggü", "z.b", "e.g", "i.e", "d.h",
	"u.a", "u.s", "u.k", "u.s.a", "a.k.a", "o.ä", "s.o", "s.u", "etw", "str", "tel",
	"capt", "col", "lt", "sgt", "gov", "sen", "rep", "esq", "dra", "ud", "uds",
	NULL
};

static const char *const months[] = {
	"jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "okt",
	"nov", "dec", "dez", "janv", "févr", "avr", "juil", "déc", "ene", "dic", NULL
};

static int in_list(const char *const *list, const char *w)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], w) == 0)
			return 1;
	return 0;
}

/* Is w (lower-cased) made of single letters separated by dots ("u.s", "e.g", "z.b")? */
static int is_initialism(const char *w)
{
	size_t n = strlen(w);
	if (n < 3)
		return 0;
	for (size_t i = 0; i < n; i++) {
		int letter = (i % 2 == 0);
		if (letter && !((w[i] >= 'a' && w[i] <= 'z') || (unsigned char)w[i] >= 0x80))
			return 0;
		if (!letter && w[i] != '.')
			return 0;
	}
	return 1;
}

/* The next character after pos that is not white space, skipping into the next line when
 * the current one ends. Returns 0 at a blank line or the end of the text. */
static uint32_t next_visible(const char *t, size_t len, size_t pos)
{
	int newlines = 0;
	while (pos < len) {
		if (t[pos] == '\n') {
			if (++newlines >= 2)
				return 0;
			pos++;
		} else if (is_hspace(t[pos])) {
			pos++;
		} else {
			size_t adv;
			uint32_t cp = an_utf8_decode(t + pos, len - pos, &adv);
			/* skip opening quotes and brackets to reach the word */
			if (cp == '"' || cp == '\'' || cp == '(' || cp == '[' || cp == 0x201C ||
			    cp == 0x2018 || cp == 0xAB || cp == 0xBF || cp == 0xA1 || cp == '*' ||
			    cp == '_') {
				pos += adv;
				continue;
			}
			return cp;
		}
	}
	return 0;
}

/* After a terminator run ending at pos: skip closing quotes and brackets. */
static size_t skip_closers(const char *t, size_t len, size_t pos)
{
	while (pos < len) {
		size_t adv;
		uint32_t cp = an_utf8_decode(t + pos, len - pos, &adv);
		if (cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == 0x201D ||
		    cp == 0x2019 || cp == 0xBB || cp == '*' || cp == '_')
			pos += adv;
		else
			break;
	}
	return pos;
}

/* Decides whether the '.' at i (a single dot) ends a sentence, given the next visible
 * character. */
static int dot_ends_sentence(const char *t, size_t i, size_t line_start, uint32_t next)
{
	if (is_lower_letter(next))
		return 0;
	size_t ws = i;
	while (ws > line_start && i - ws < 24) {
		char c = t[ws - 1];
		if (is_hspace(c) || c == '\n' || c == '(' || c == '[' || c == '"' || c == '\'')
			break;
		ws--;
	}
	size_t wl = i - ws;
	if (wl == 0 || wl >= 24)
		return 1;
	char w[32];
	for (size_t k = 0; k < wl; k++) {
		char c = t[ws + k];
		w[k] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
	}
	w[wl] = '\0';
	/* a single upper-case letter is an initial ("J. R. Tolkien", "M. Dupont") */
	if (wl == 1 && t[ws] >= 'A' && t[ws] <= 'Z')
		return 0;
	if (wl == 2 && (unsigned char)t[ws] >= 0xC0) {   /* a single non-ASCII letter */
		size_t adv;
		uint32_t cp = an_utf8_decode(t + ws, wl, &adv);
		if (adv == wl && an_is_upper(cp))
			return 0;
	}
	if (wl <= 6 && in_list(never_break, w))   /* no entry is longer than 6 bytes */
		return 0;
	if (strchr(w, '.') && is_initialism(w))
		return strcmp(w, "a.m") == 0 || strcmp(w, "p.m") == 0;
	if (an_is_digit(next) && wl <= 6 && in_list(months, w))
		return 0;
	return 1;
}

/* Scans the prose in [a, b) of one line for sentence ends. */
static void scan_prose(struct splitter *sp, size_t line_start, size_t a, size_t b)
{
	const char *t = sp->t;
	size_t i = a;
	while (i < b) {
		unsigned char c = (unsigned char)t[i];
		if (sp->open == NO_OPEN) {
			if (!is_hspace((char)c)) {
				sp->open = i;
				sp->open_kind = (sp->open_kind == SENTENCE_KIND_ITEM) ? SENTENCE_KIND_ITEM
										    : SENTENCE_KIND_TEXT;
			} else {
				i++;
				continue;
			}
		}
		int ellipsis = 0, strong = 0;
		size_t run_end;
		if (c == '.') {
			run_end = i;
			while (run_end < b && t[run_end] == '.')
				run_end++;
			ellipsis = run_end - i >= 2;
		} else if (c == '!' || c == '?') {
			run_end = i;
			while (run_end < b && (t[run_end] == '!' || t[run_end] == '?'))
				run_end++;
			strong = 1;
		} else if (c == 0xE2 && i + 2 < b && (unsigned char)t[i + 1] == 0x80 &&
			   (unsigned char)t[i + 2] == 0xA6) {
			run_end = i + 3;
			ellipsis = 1;
		} else if (c == 0xE3 && i + 2 < b && (unsigned char)t[i + 1] == 0x80 &&
			   (unsigned char)t[i + 2] == 0x82) {   /* 。 */
			run_end = i + 3;
			strong = 1;
		} else {
			i++;
			continue;
		}
		size_t after = skip_closers(t, b, run_end);
		if (after < b && !is_hspace(t[after])) {
			i = run_end;   /* "3.14", "example.com", "e.g.," */
			continue;
		}
		uint32_t next = next_visible(t, sp->len, after);
		int ends;
		if (strong)
			ends = 1;
		else if (ellipsis)
			ends = !is_lower_letter(next);
		else
			ends = dot_ends_sentence(t, i, line_start, next);
		if (ends) {
			close_open(sp, after);
			sp->open_kind = (sp->open_kind == SENTENCE_KIND_ITEM) ? SENTENCE_KIND_ITEM
									    : SENTENCE_KIND_TEXT;
		}
		i = after > run_end ? after : run_end;
	}
}

/* Lone short lines without closing punctuation, standing as a paragraph: headings. */
static void mark_headings(struct splitter *sp)
{
	const char *t = sp->t;
	for (size_t k = 0; k < sp->n; k++) {
		struct sentence *s = &sp->v[k];
		if (s->kind != SENTENCE_KIND_TEXT || s->end - s->start > 150)
			continue;
		if (memchr(t + s->start, '\n', s->end - s->start))
			continue;
		unsigned char last = (unsigned char)t[s->end - 1];
		if (strchr(".!?,;", last) || (last == 0xA6 && s->end - s->start >= 3))
			continue;
		size_t p = s->start;
		while (p > 0 && is_hspace(t[p - 1]))
			p--;
		if (p > 0) {
			if (t[p - 1] != '\n')
				continue;
			p--;
			while (p > 0 && is_hspace(t[p - 1]))
				p--;
			if (p > 0 && t[p - 1] != '\n')
				continue;
		}
		size_t q = s->end;
		while (q < sp->len && is_hspace(t[q]))
			q++;
		if (q < sp->len) {
			if (t[q] != '\n')
				continue;
			q++;
			while (q < sp->len && is_hspace(t[q]))
				q++;
			if (q < sp->len && t[q] != '\n')
				continue;
		}
		s->kind = SENTENCE_KIND_HEADING;
	}
}

/* ------------------------------------------------------------------ public ---- */

int sentence_split(const char *text, size_t len, struct sentence **out, size_t *n_out,
		   struct err *err)
{
	struct splitter sp = { .t = text, .len = len, .open = NO_OPEN,
			       .open_kind = SENTENCE_KIND_TEXT };
	size_t pos = 0;
	int item_line = 0;   /* the previous line belonged to a list item */

	*out = NULL;
	*n_out = 0;
	while (pos < len && !sp.oom) {
		size_t le = line_end_of(text, len, pos);
		size_t next = le < len ? le + 1 : len;
		size_t p = skip_hspace(text, pos, le);
		int indented = p > pos;
		char fc;

		if (p == le) {                                  /* blank line */
			close_open(&sp, le);
			sp.open_kind = SENTENCE_KIND_TEXT;
			item_line = 0;
			pos = next;
			continue;
		}
		if (is_fence(text, p, le, &fc)) {               /* fenced code block */
			close_open(&sp, pos);
			size_t q = next, end = len, after = len;
			while (q < len) {
				size_t qe = line_end_of(text, len, q);
				size_t qp = skip_hspace(text, q, qe);
				char qc;
				if (is_fence(text, qp, qe, &qc) && qc == fc) {
					end = qe;
					after = qe < len ? qe + 1 : len;
					break;
				}
				q = qe < len ? qe + 1 : len;
			}
			emit(&sp, p, end, SENTENCE_KIND_CODE);
			item_line = 0;
			pos = after;
			continue;
		}
		size_t h = heading_text(text, p, le);
		if (h) {                                        /* ATX heading */
			close_open(&sp, pos);
			size_t e = le;
			while (e > h && (text[e - 1] == '#' || is_hspace(text[e - 1])))
				e--;
			emit(&sp, h, e, SENTENCE_KIND_HEADING);
			item_line = 0;
			pos = next;
			continue;
		}
		if (is_underline(text, p, le)) {                /* setext underline or rule */
			close_open(&sp, pos);
			item_line = 0;
			pos = next;
			continue;
		}
		if (text[p] == '|') {                           /* table row */
			close_open(&sp, pos);
			emit(&sp, p, le, SENTENCE_KIND_TEXT);
			item_line = 0;
			pos = next;
			continue;
		}
		while (p < le && text[p] == '>')                /* block quote */
			p = skip_hspace(text, p + 1, le);
		size_t m = list_marker(text, p, le);
		if (m) {                                        /* list item */
			close_open(&sp, pos);
			p = skip_hspace(text, p + m, le);
			sp.open = p;
			sp.open_kind = SENTENCE_KIND_ITEM;
			item_line = 1;
		} else if (item_line && !indented) {
			close_open(&sp, pos);
			sp.open_kind = SENTENCE_KIND_TEXT;
			item_line = 0;
		}
		scan_prose(&sp, pos, p, le);

		/* Does the line break end the open sentence? */
		if (sp.open != NO_OPEN && next < len) {
			size_t ne = line_end_of(text, len, next);
			size_t np = skip_hspace(text, next, ne);
			int ends = 0;
			if (np == ne || text[np] == '#' || text[np] == '|' || is_fence(text, np, ne, NULL) ||
			    list_marker(text, np, ne) || is_underline(text, np, ne)) {
				ends = 1;
			} else if (item_line) {
				ends = !(np > next);    /* an item continues on indented lines */
			} else if (le - pos < 50) {
				size_t adv;
				uint32_t cp = an_utf8_decode(text + np, ne - np, &adv);
				ends = an_is_upper(cp) || an_is_digit(cp);
			}
			if (ends)
				close_open(&sp, le);
		}
		if (sp.open == NO_OPEN && !item_line)
			sp.open_kind = SENTENCE_KIND_TEXT;
		pos = next;
	}
	close_open(&sp, len);
	if (sp.oom) {
		free(sp.v);
		return err_set(err, DOSSIER_ENOMEM, "out of memory while splitting text into sentences");
	}
	mark_headings(&sp);
	*out = sp.v;
	*n_out = sp.n;
	return 0;
}

char *sentence_text(const char *text, const struct sentence *s)
{
	size_t n = s->end - s->start;
	char *o = malloc(n + 1);
	if (!o)
		return NULL;
	size_t k = 0;
	int space = 0;
	for (size_t i = s->start; i < s->end; i++) {
		char c = text[i];
		if (is_hspace(c) || c == '\n') {
			space = 1;
			continue;
		}
		if (space && k > 0)
			o[k++] = ' ';
		space = 0;
		o[k++] = c;
	}
	o[k] = '\0';
	return o;
}
