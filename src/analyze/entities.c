/*
 * entities.c — pattern-based entities: e-mail addresses, URLs, dates, amounts of money,
 * phone numbers (one scan over the text), and personal or organisation names (runs of
 * capitalised words, from the tokens).
 */
#include "analyze/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENT_MAX_TOTAL 100        /* entities reported at most */
#define ENT_TEXT_MAX 200         /* bytes of one entity's text at most */

/* ---------------------------------------------------------------- helpers ---- */

static int is_alnum_b(char c)
{
	return (c >= '0' && c <= '9') || ((c | 32) >= 'a' && (c | 32) <= 'z') ||
	       (unsigned char)c >= 0x80;
}

static int is_digit_b(char c)
{
	return c >= '0' && c <= '9';
}

static int is_space_b(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

struct ents {
	json_t *arr;
	json_t *seen;    /* object used as a set of "type\ttext" */
	size_t count;
	/* byte spans of the pattern entities (money, dates, ...), in text order:
	 * a name inside one ("2,5 Millionen Euro") is part of it, not a name */
	size_t span[ENT_MAX_TOTAL][2];
	size_t nspan;
};

static void span_add(struct ents *e, size_t from, size_t to)
{
	if (e->nspan < ENT_MAX_TOTAL) {
		e->span[e->nspan][0] = from;
		e->span[e->nspan][1] = to;
		e->nspan++;
	}
}

/* 1 if [from, to) overlaps a pattern entity's span (binary search: spans are sorted, disjoint). */
static int span_overlaps(const struct ents *e, size_t from, size_t to)
{
	size_t lo = 0, hi = e->nspan;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (e->span[mid][1] <= from)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < e->nspan && e->span[lo][0] < to;
}

static void ent_add(struct ents *e, const char *s, size_t n, const char *type)
{
	if (e->count >= ENT_MAX_TOTAL || n == 0 || n > ENT_TEXT_MAX)
		return;
	char key[ENT_TEXT_MAX + 16];
	int kl = snprintf(key, sizeof key, "%s\t%.*s", type, (int)n, s);
	if (kl < 0 || json_object_get(e->seen, key))
		return;
	json_object_set_new(e->seen, key, json_true());
	json_t *o = json_object();
	json_object_set_new(o, "text", json_stringn(s, n));
	json_object_set_new(o, "type", json_string(type));
	if (json_array_append_new(e->arr, o) == 0)
		e->count++;
}

/* ------------------------------------------------------------ URL / e-mail ---- */

static size_t match_url(const char *t, size_t len, size_t i)
{
	size_t j = i;
	if (len - i >= 8 && strncmp(t + i, "https://", 8) == 0)
		j += 8;
	else if (len - i >= 7 && strncmp(t + i, "http://", 7) == 0)
		j += 7;
	else if (len - i >= 5 && strncmp(t + i, "www.", 4) == 0 && is_alnum_b(t[i + 4]))
		j += 4;
	else
		return 0;
	size_t host = j;
	int parens = 0;
	while (j < len && !is_space_b(t[j]) && !strchr("<>\"`", t[j])) {
		parens += (t[j] == '(') - (t[j] == ')');
		j++;
	}
	/* trailing punctuation belongs to the sentence, and an unbalanced ')' to the text */
	while (j > host) {
		char c = t[j - 1];
		if (strchr(".,;:!?'*_", c) || (c == ')' && parens < 0)) {
			parens += (c == ')');
			j--;
		} else {
			break;
		}
	}
	return j > host + 2 ? j - i : 0;
}

static int email_local(char c)
{
	return is_alnum_b(c) || strchr("._%+-", c);
}

static size_t match_email(const char *t, size_t len, size_t i)
{
	size_t j = i;
	while (j < len && j - i < 64 && email_local(t[j]) && (unsigned char)t[j] < 0x80)
		j++;
	if (j == i || j >= len || t[j] != '@')
		return 0;
	size_t d = ++j, last_dot = 0;
	/* a domain name is at most 253 bytes: never scan further (keeps the matcher linear) */
	while (j < len && j - d < 253 && ((is_alnum_b(t[j]) && (unsigned char)t[j] < 0x80) || t[j] == '-' || t[j] == '.')) {
		if (t[j] == '.')
			last_dot = j;
		j++;
	}
	while (j > d && (t[j - 1] == '.' || t[j - 1] == '-'))
		j--;
	if (last_dot == 0 || last_dot <= d || last_dot + 3 > j)
		return 0;
	for (size_t k = last_dot + 1; k < j; k++)
		if (!((t[k] | 32) >= 'a' && (t[k] | 32) <= 'z'))
			return 0;
	return j - i;
}

/* ------------------------------------------------------------------- dates ---- */

#define M(s) { s, sizeof(s) - 1 }
static const struct {
	const char *name;
	size_t len;
} month_names[] = {
	/* en de fr es it pt nl */
	M("january"), M("february"), M("march"), M("april"), M("may"), M("june"), M("july"),
	M("august"), M("september"), M("october"), M("november"), M("december"), M("jan"),
	M("feb"), M("mar"), M("apr"), M("jun"), M("jul"), M("aug"), M("sep"), M("sept"), M("oct"),
	M("nov"), M("dec"), M("januar"), M("februar"), M("märz"), M("mai"), M("juni"), M("juli"),
	M("oktober"), M("dezember"), M("janvier"), M("février"), M("mars"), M("avril"), M("juin"),
	M("juillet"), M("août"), M("septembre"), M("octobre"), M("novembre"), M("décembre"),
	M("enero"), M("febrero"), M("marzo"), M("abril"), M("mayo"), M("junio"), M("julio"),
	M("agosto"), M("septiembre"), M("octubre"), M("noviembre"), M("diciembre"), M("gennaio"),
	M("febbraio"), M("aprile"), M("maggio"), M("giugno"), M("luglio"), M("settembre"),
	M("ottobre"), M("dicembre"), M("janeiro"), M("fevereiro"), M("março"), M("maio"),
	M("junho"), M("julho"), M("setembro"), M("outubro"), M("dezembro"), M("januari"),
	M("februari"), M("maart"), M("mei"), M("augustus"),
	{ NULL, 0 }
};
#undef M

/* Length of a month name at t+i (case-insensitive, optional '.' after an abbreviation). */
static size_t match_month(const char *t, size_t len, size_t i)
{
	size_t j = i;
	char w[16];
	size_t k = 0;
	while (j < len && is_alnum_b(t[j]) && !is_digit_b(t[j]) && k < sizeof w - 1) {
		char c = t[j];
		w[k++] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		j++;
	}
	if (j < len && is_alnum_b(t[j]))
		return 0;
	w[k] = '\0';
	/* capitalised non-ASCII: lower the first code point of É / Ä etc. by hand */
	if ((unsigned char)w[0] == 0xC3 && (unsigned char)w[1] >= 0x80 && (unsigned char)w[1] <= 0x9E)
		w[1] = (char)((unsigned char)w[1] + 0x20);
	for (size_t m = 0; month_names[m].name; m++) {
		if (month_names[m].len == k && memcmp(month_names[m].name, w, k) == 0) {
			if (k <= 4 && j < len && t[j] == '.')
				j++;
			return j - i;
		}
	}
	return 0;
}

static size_t digits_at(const char *t, size_t len, size_t i, size_t max, int *value)
{
	size_t j = i;
	int v = 0;
	while (j < len && is_digit_b(t[j]) && j - i < max) {
		v = v * 10 + (t[j] - '0');
		j++;
	}
	if (j < len && is_digit_b(t[j]))
		return 0;
	*value = v;
	return j - i;
}

static size_t skip_spaces(const char *t, size_t len, size_t j)
{
	while (j < len && (t[j] == ' ' || t[j] == '\t'))
		j++;
	return j;
}

/* "de " / "of " / "del " between day, month and year (es, pt, en). */
static size_t skip_connector(const char *t, size_t len, size_t j)
{
	static const char *const conn[] = { "de ", "of ", "del ", NULL };
	for (int c = 0; conn[c]; c++) {
		size_t n = strlen(conn[c]);
		if (len - j >= n && strncmp(t + j, conn[c], n) == 0)
			return j + n;
	}
	return j;
}

static size_t match_date(const char *t, size_t len, size_t i)
{
	int a, b, c;
	size_t n1, n2, n3, j;

	if (is_digit_b(t[i])) {
		n1 = digits_at(t, len, i, 4, &a);
		if (!n1)
			return 0;
		j = i + n1;
		/* 2024-03-12 */
		if (n1 == 4 && j < len && t[j] == '-') {
			n2 = digits_at(t, len, j + 1, 2, &b);
			if (n2 == 2 && j + 3 < len && t[j + 3] == '-') {
				n3 = digits_at(t, len, j + 4, 2, &c);
				if (n3 == 2 && b >= 1 && b <= 12 && c >= 1 && c <= 31)
					return j + 6 - i;
			}
			return 0;
		}
		/* 12/03/2024, 12.03.2024, 3/12/24 */
		if (n1 <= 2 && j < len && (t[j] == '/' || t[j] == '.' || t[j] == '-')) {
			char sep = t[j];
			n2 = digits_at(t, len, j + 1, 2, &b);
			if (n2 && j + 1 + n2 < len && t[j + 1 + n2] == sep) {
				size_t y = j + 2 + n2;
				n3 = digits_at(t, len, y, 4, &c);
				if ((n3 == 4 || n3 == 2) && a >= 1 && b >= 1 && a <= 31 && b <= 31 &&
				    (a <= 12 || b <= 12))
					return y + n3 - i;
			}
			/* 3. Mai 2024 (German ordinal day) falls through below */
		}
		/* 12 March 2024, 12th of March, 3. Mai 2024, 1er janvier 2020 */
		if (n1 <= 2 && a >= 1 && a <= 31) {
			if (len - j >= 2 && (strncmp(t + j, "st", 2) == 0 || strncmp(t + j, "nd", 2) == 0 ||
					     strncmp(t + j, "rd", 2) == 0 || strncmp(t + j, "th", 2) == 0 ||
					     strncmp(t + j, "er", 2) == 0))
				j += 2;
			else if (j < len && t[j] == '.')
				j++;
			j = skip_spaces(t, len, j);
			j = skip_connector(t, len, j);
			size_t m = match_month(t, len, j);
			if (!m)
				return 0;
			j += m;
			size_t y = skip_connector(t, len, skip_spaces(t, len, j));
			if (y < len && t[y] == ',')
				y = skip_spaces(t, len, y + 1);
			n3 = digits_at(t, len, y, 4, &c);
			if (n3 == 4)
				return y + 4 - i;
			return j - i;
		}
		return 0;
	}
	/* March 12, 2024 / March 2024 */
	size_t m = match_month(t, len, i);
	if (!m)
		return 0;
	j = skip_spaces(t, len, i + m);
	n1 = digits_at(t, len, j, 4, &a);
	if (n1 == 4)
		return j + 4 - i;
	if (n1 >= 1 && n1 <= 2 && a >= 1 && a <= 31) {
		size_t e = j + n1;
		if (len - e >= 2 && (strncmp(t + e, "st", 2) == 0 || strncmp(t + e, "nd", 2) == 0 ||
				     strncmp(t + e, "rd", 2) == 0 || strncmp(t + e, "th", 2) == 0))
			e += 2;
		size_t y = e;
		if (y < len && t[y] == ',')
			y++;
		y = skip_spaces(t, len, y);
		n3 = digits_at(t, len, y, 4, &c);
		if (n3 == 4)
			return y + 4 - i;
		if (e < len && is_alnum_b(t[e]))
			return 0;
		return e - i;
	}
	return 0;
}

/* ------------------------------------------------------------------- money ---- */

/* A number with grouping: 1,234.56 / 1.234,56 / 1 234 / 12. Returns its length. */
/* No amount of money is written with more than this many bytes; the cap keeps
 * the matcher linear on endless runs of digits and separators. */
#define AMOUNT_MAX 40

static size_t match_amount(const char *t, size_t len, size_t i)
{
	size_t j = i;
	if (j >= len || !is_digit_b(t[j]))
		return 0;
	while (j < len) {
		if (j - i >= AMOUNT_MAX)
			return 0;
		if (is_digit_b(t[j])) {
			j++;
		} else if ((t[j] == ',' || t[j] == '.' || t[j] == '\'') && j + 1 < len && is_digit_b(t[j + 1])) {
			j++;
		} else if (t[j] == ' ' && j + 3 < len && is_digit_b(t[j + 1]) && is_digit_b(t[j + 2]) &&
			   is_digit_b(t[j + 3]) && (j + 4 >= len || !is_digit_b(t[j + 4]))) {
			j++;   /* "1 234" thousands group */
		} else {
			break;
		}
	}
	return j - i;
}

static size_t match_scale(const char *t, size_t len, size_t j)
{
	static const char *const scales[] = { " Millionen", " Milliarden", " Milliarde", " Million",
					      " Tausend", " million", " billion", " thousand", " Mio.",
					      " Mrd.", " Mio", " Mrd", " millions", " milliards",
					      " millones", " milioni", "bn", "m", "k", NULL };
	for (int s = 0; scales[s]; s++) {
		size_t n = strlen(scales[s]);
		if (len - j >= n && strncmp(t + j, scales[s], n) == 0 &&
		    (j + n >= len || !is_alnum_b(t[j + n]) || scales[s][n - 1] == '.'))
			return n;
	}
	return 0;
}

static const char *const currency_after[] = {
	"€", "$", "£", "¥", "EUR", "USD", "GBP", "CHF", "JPY", "euros", "euro", "Euro",
	"dollars", "dollar", "Dollar", "pounds", "francs", NULL
};

static size_t match_money(const char *t, size_t len, size_t i)
{
	static const char *const before[] = { "US$", "€", "$", "£", "¥", "EUR ", "USD ", "GBP ",
					      "CHF ", NULL };
	for (int c = 0; before[c]; c++) {
		size_t n = strlen(before[c]);
		if (len - i >= n && strncmp(t + i, before[c], n) == 0) {
			size_t j = skip_spaces(t, len, i + n);
			size_t a = match_amount(t, len, j);
			if (!a)
				return 0;
			j += a;
			j += match_scale(t, len, j);
			return j - i;
		}
	}
	if (!is_digit_b(t[i]))
		return 0;
	size_t a = match_amount(t, len, i);
	if (!a)
		return 0;
	size_t j = i + a;
	j += match_scale(t, len, j);
	size_t k = skip_spaces(t, len, j);
	for (int c = 0; currency_after[c]; c++) {
		size_t n = strlen(currency_after[c]);
		if (len - k >= n && strncmp(t + k, currency_after[c], n) == 0 &&
		    (k + n >= len || !is_alnum_b(t[k + n]) || (unsigned char)t[k] >= 0x80 ||
		     t[k] == '$'))
			return k + n - i;
	}
	return 0;
}

/* ------------------------------------------------------------------- phone ---- */

#define PHONE_MAX 32  /* bytes: "+44 (0) 20 7946 0958 12" and the like fit */

static size_t match_phone(const char *t, size_t len, size_t i)
{
	size_t j = i, digits = 0, groups = 0, dashes = 0;
	int plus = 0, paren = 0, lead0 = 0;
	if (t[j] == '+') {
		plus = 1;
		j++;
	}
	if (j < len && t[j] == '(') {
		paren = 1;
	}
	if (j >= len || !(is_digit_b(t[j]) || t[j] == '('))
		return 0;
	lead0 = t[j] == '0' || (t[j] == '(' && j + 1 < len && t[j + 1] == '0');
	int in_group = 0;
	size_t end = j;
	while (j < len) {
		char c = t[j];
		/* a phone number has at most 15 digits and a few separators: stop
		 * early on longer runs, so the matcher stays linear */
		if (digits > 15 || j - i > PHONE_MAX)
			return 0;
		if (is_digit_b(c)) {
			digits++;
			if (!in_group)
				groups++;
			in_group = 1;
			j++;
			end = j;
		} else if ((c == ' ' || c == '-' || c == '.' || c == '/' || c == '(' || c == ')') &&
			   j + 1 < len && (is_digit_b(t[j + 1]) || t[j + 1] == '(' ||
					   (c == ')' && t[j + 1] == ' '))) {
			dashes += (c == '-' || c == '/');
			in_group = 0;
			j++;
		} else {
			break;
		}
	}
	if (end < len && is_alnum_b(t[end]))
		return 0;
	if (digits < 8 || digits > 15)
		return 0;
	if (plus || paren || (lead0 && groups >= 2) || (dashes >= 2 && groups >= 3))
		return end - i;
	return 0;
}

/* ------------------------------------------------------------------- names ---- */

/* Title-case word: an upper-case first letter, then no upper-case letters (hyphenated
 * parts may start upper-case again: "Jean-Luc"). */
static int is_title_word(const struct an_doc *doc, const struct an_tok *tk)
{
	if (!(tk->flags & AN_TOK_UPPER_INITIAL) || (tk->flags & (AN_TOK_ALL_UPPER | AN_TOK_NUMBER)))
		return 0;
	const char *s = doc->text + tk->off;
	size_t i = 0, adv;
	uint32_t prev = 0;
	int letters = 0;
	while (i < tk->len) {
		uint32_t cp = an_utf8_decode(s + i, tk->len - i, &adv);
		if (i > 0 && an_is_upper(cp) && prev != '-')
			return 0;
		letters += an_is_letter(cp);
		prev = cp;
		i += adv;
	}
	return letters >= 2;
}

/* Honorifics end a name run instead of joining it ("Dr. Jane Goodall" -> "Jane Goodall"). */
static int is_honorific(const struct an_doc *doc, uint32_t word)
{
	static const char *const titles[] = { "mr", "mrs", "ms", "dr", "prof", "sir", "sr", "sra",
					      "jr", "st", "mme", "mlle", "hr", "fr", "frau", "herr",
					      "dott", "sig", "don", "doña", "lady", "lord", NULL };
	const char *w = an_intern_str(&doc->words, word);
	for (int i = 0; titles[i]; i++)
		if (strcmp(titles[i], w) == 0)
			return 1;
	return 0;
}

static void find_names(const struct an_doc *doc, struct ents *e)
{
	for (size_t s = 0; s < doc->nsents && e->count < ENT_MAX_TOTAL; s++) {
		if (doc->sents[s].kind != SENTENCE_KIND_TEXT && doc->sents[s].kind != SENTENCE_KIND_ITEM)
			continue;
		uint32_t a = doc->sent_tok0[s], n = doc->sent_ntok[s];
		uint32_t k = 0;
		while (k < n) {
			uint32_t r = k;
			while (r < n && is_title_word(doc, &doc->toks[a + r]) &&
			       !(doc->word_mask[doc->toks[a + r].word]) &&
			       !is_honorific(doc, doc->toks[a + r].word) &&
			       (r == k || !(doc->toks[a + r].flags & AN_TOK_BREAK_BEFORE)))
				r++;
			uint32_t b = k, end = r;
			/* A sentence-initial word must be one never written in lower case. */
			if (b == 0 && end > b && doc->word_lower_count[doc->toks[a].word] > 0)
				b++;
			if (end > b + 1 && end - b <= 4 &&
			    doc->word_lower_count[doc->toks[a + end - 1].word] == 0) {
				const struct an_tok *f = &doc->toks[a + b], *l = &doc->toks[a + end - 1];
				if (!span_overlaps(e, f->off, l->off + l->len))
					ent_add(e, doc->text + f->off, l->off + l->len - f->off, "name");
			}
			k = r > k ? r : k + 1;
		}
	}
}

/* ------------------------------------------------------------------ public ---- */

json_t *an_entities(const struct an_doc *doc)
{
	struct ents e = { json_array(), json_object(), 0, {{0}}, 0 };
	const char *t = doc->text;
	size_t len = doc->len;

	if (!e.arr || !e.seen) {
		json_decref(e.arr);
		json_decref(e.seen);
		return NULL;
	}
	for (size_t i = 0; i < len && e.count < ENT_MAX_TOTAL;) {
		char c = t[i];
		int word_start = i == 0 || !is_alnum_b(t[i - 1]);
		size_t m;
		if (!word_start || is_space_b(c)) {
			i++;
			continue;
		}
		if ((m = match_url(t, len, i))) {
			ent_add(&e, t + i, m, "url");
			span_add(&e, i, i + m);
		} else if ((m = match_email(t, len, i))) {
			ent_add(&e, t + i, m, "email");
			span_add(&e, i, i + m);
		} else if ((m = match_money(t, len, i))) {
			ent_add(&e, t + i, m, "money");
			span_add(&e, i, i + m);
		} else if ((m = match_date(t, len, i))) {
			ent_add(&e, t + i, m, "date");
			span_add(&e, i, i + m);
		} else if ((m = match_phone(t, len, i))) {
			ent_add(&e, t + i, m, "phone");
			span_add(&e, i, i + m);
		} else {
			/* skip the rest of this word */
			m = 1;
			while (i + m < len && !is_space_b(t[i + m]) && is_alnum_b(t[i + m]))
				m++;
		}
		i += m;
	}
	find_names(doc, &e);
	json_decref(e.seen);
	return e.arr;
}
