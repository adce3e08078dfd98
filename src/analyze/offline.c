/*
 * offline.c — offline_analyze: builds the document model, runs the rankers and
 * assembles the JSON described in offline.h.
 */
#include "analyze/offline.h"
#include "analyze/internal.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TITLE_CHARS 120          /* characters of a title before it is cut */
#define HEADING_LOOKAHEAD 20     /* a title heading must be among the first sentences */
#define WORDS_PER_MINUTE 230

void offline_params_default(struct offline_params *p)
{
	p->summary_sentences = 3;
	p->key_points = 5;
	p->max_tags = 8;
	p->max_keywords = 15;
	p->max_sentences = 2000;
}

static int clamp(int v, int hi)
{
	return v > hi ? hi : v;
}

/* A new string: s cut to about TITLE_CHARS characters at a word boundary, with "…". */
static char *trim_title(const char *s)
{
	size_t n = strlen(s), chars = 0, i = 0, cut = 0, last_space = 0;
	while (i < n) {
		size_t adv;
		an_utf8_decode(s + i, n - i, &adv);
		if (chars == TITLE_CHARS) {
			cut = i;
			break;
		}
		if (s[i] == ' ')
			last_space = i;
		chars++;
		i += adv;
	}
	if (cut == 0)
		return xstrdup(s);
	if (last_space > cut / 2)
		cut = last_space;
	while (cut > 0 && strchr(" ,;:-", s[cut - 1]))
		cut--;
	char *o = malloc(cut + 4);
	if (!o)
		return NULL;
	memcpy(o, s, cut);
	memcpy(o + cut, "\xE2\x80\xA6", 4);   /* … and NUL */
	return o;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/* Appends the sentences of idx (sorted into document order) to arr or joins them into
 * one string. */
static json_t *sentences_json(const struct an_doc *doc, uint32_t *idx, size_t n, int join)
{
	qsort(idx, n, sizeof *idx, cmp_u32);
	if (!join) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n && arr; i++) {
			char *t = sentence_text(doc->text, &doc->sents[idx[i]]);
			if (t)
				json_array_append_new(arr, json_string(t));
			free(t);
		}
		return arr;
	}
	struct buf b;
	buf_init(&b, CAP_TEXT);
	for (size_t i = 0; i < n; i++) {
		char *t = sentence_text(doc->text, &doc->sents[idx[i]]);
		if (!t)
			continue;
		if (b.len)
			buf_appendc(&b, ' ');
		buf_appends(&b, t);
		free(t);
	}
	char *s = buf_take(&b);
	json_t *j = s ? json_string(s) : json_string("");
	free(s);
	buf_free(&b);
	return j;
}

static char *keyword_text(const struct an_doc *doc, const struct an_keyword *kw)
{
	struct buf b;
	buf_init(&b, 0);
	for (int i = 0; i < kw->n; i++) {
		if (i)
			buf_appendc(&b, ' ');
		buf_appends(&b, an_intern_str(&doc->words, kw->words[i]));
	}
	return buf_take(&b);
}

/* A tag's comparison key: each word in its singular form ("honey bees" -> "honey bee"). */
static char *tag_key(const char *term)
{
	size_t n = strlen(term);
	char *k = malloc(n + 1);
	if (!k)
		return NULL;
	size_t o = 0, i = 0;
	while (i <= n) {
		size_t e = i;
		while (e < n && term[e] != ' ')
			e++;
		size_t wl = e - i;
		if (wl >= 4 && term[e - 1] == 's' && !strchr("sui", term[e - 2]))
			wl--;
		memcpy(k + o, term + i, wl);
		o += wl;
		if (e < n)
			k[o++] = ' ';
		i = e + 1;
	}
	k[o] = '\0';
	return k;
}

/* Is a a word-aligned part of b ("bee" in "honey bee")? */
static int word_part_of(const char *a, const char *b)
{
	size_t la = strlen(a);
	for (const char *p = strstr(b, a); p; p = strstr(p + 1, a)) {
		int left = p == b || p[-1] == ' ';
		int right = p[la] == '\0' || p[la] == ' ';
		if (left && right)
			return 1;
	}
	return 0;
}

static json_t *build(const struct an_doc *doc, const char *title_hint, const struct offline_params *p,
		     const struct an_lang_result *lang, uint32_t *order, size_t norder, const struct an_keyword *kws,
		     size_t nkw)
{
	json_t *o = json_object();
	json_t *sources = json_object();
	if (!o || !sources) {
		json_decref(o);
		json_decref(sources);
		return NULL;
	}

	/* title */
	char *title = NULL;
	const char *title_src = "offline:heading";
	if (title_hint) {
		size_t a = 0, b = strlen(title_hint);
		while (a < b && strchr(" \t\n\r", title_hint[a]))
			a++;
		while (b > a && strchr(" \t\n\r", title_hint[b - 1]))
			b--;
		if (a < b) {
			char *h = malloc(b - a + 1);
			if (h) {
				memcpy(h, title_hint + a, b - a);
				h[b - a] = '\0';
				title = trim_title(h);
				free(h);
			}
		}
	}
	for (size_t s = 0; !title && s < doc->nsents && s < HEADING_LOOKAHEAD; s++) {
		if (doc->sents[s].kind == SENTENCE_KIND_HEADING) {
			char *t = sentence_text(doc->text, &doc->sents[s]);
			if (t)
				title = trim_title(t);
			free(t);
		}
	}
	if (!title) {
		title_src = "offline:textrank";
		size_t best = norder ? order[0] : 0;
		if (doc->nsents) {
			char *t = sentence_text(doc->text, &doc->sents[best]);
			if (t)
				title = trim_title(t);
			free(t);
		}
	}
	json_object_set_new(o, "title", json_string(title ? title : ""));
	free(title);

	/* summary and key points */
	size_t ns = (size_t)p->summary_sentences, nk = (size_t)p->key_points;
	if (ns > norder)
		ns = norder;
	if (nk > norder - ns)
		nk = norder - ns;
	if (norder == 0 && doc->nsents) {
		/* nothing rankable (only headings or fragments): the opening sentences */
		uint32_t first[50];
		size_t nf = 0;
		for (size_t s = 0; s < doc->nsents && nf < (size_t)p->summary_sentences; s++)
			if (doc->sents[s].kind != SENTENCE_KIND_CODE)
				first[nf++] = (uint32_t)s;
		json_object_set_new(o, "summary", sentences_json(doc, first, nf, 1));
	} else {
		uint32_t *top = malloc((ns + 1) * sizeof *top);
		if (top && ns)
			memcpy(top, order, ns * sizeof *top);
		json_object_set_new(o, "summary", top ? sentences_json(doc, top, ns, 1) : json_string(""));
		free(top);
	}
	uint32_t *kp = malloc((nk + 1) * sizeof *kp);
	if (kp && nk)
		memcpy(kp, order + ns, nk * sizeof *kp);
	json_object_set_new(o, "key_points", kp ? sentences_json(doc, kp, nk, 0) : json_array());
	free(kp);

	/* keywords and tags */
	json_t *tags = json_array(), *keywords = json_array();
	char **tag_s = calloc((size_t)p->max_tags + 1, sizeof *tag_s);
	size_t ntags = 0;
	for (size_t i = 0; i < nkw && keywords; i++) {
		char *term = keyword_text(doc, &kws[i]);
		if (!term)
			continue;
		double score = kws[i].score > 0 ? kws[0].score / kws[i].score : 1.0;
		score = round(score * 10000.0) / 10000.0;
		json_t *k = json_object();
		json_object_set_new(k, "term", json_string(term));
		json_object_set_new(k, "score", json_real(score));
		json_array_append_new(keywords, k);
		char *key = tag_key(term);
		/* tags are short labels: longer phrases stay keywords only */
		int words = 1;
		for (const char *c = term; *c; c++)
			words += *c == ' ';
		int dup = !key || words > 2;
		for (size_t t = 0; t < ntags && !dup; t++)
			dup = word_part_of(key, tag_s[t]) || word_part_of(tag_s[t], key);
		if (!dup && tag_s && ntags < (size_t)p->max_tags) {
			tag_s[ntags++] = key;
			json_array_append_new(tags, json_string(term));
		} else {
			free(key);
		}
		free(term);
	}
	for (size_t t = 0; t < ntags; t++)
		free(tag_s[t]);
	free(tag_s);
	if ((size_t)p->max_keywords < json_array_size(keywords)) {
		while (json_array_size(keywords) > (size_t)p->max_keywords)
			json_array_remove(keywords, json_array_size(keywords) - 1);
	}
	json_object_set_new(o, "tags", tags ? tags : json_array());
	json_object_set_new(o, "keywords", keywords ? keywords : json_array());

	json_t *ents = an_entities(doc);
	json_object_set_new(o, "entities", ents ? ents : json_array());
	json_object_set_new(o, "language", json_string(lang->code));
	size_t words = doc->ntoks + doc->code_words;
	json_object_set_new(o, "word_count", json_integer((json_int_t)words));
	json_object_set_new(o, "reading_time_s",
			    json_integer((json_int_t)((words * 60 + WORDS_PER_MINUTE / 2) / WORDS_PER_MINUTE)));

	json_object_set_new(sources, "title", json_string(title_src));
	json_object_set_new(sources, "summary", json_string("offline:textrank"));
	json_object_set_new(sources, "key_points", json_string("offline:textrank"));
	json_object_set_new(sources, "tags", json_string("offline:yake"));
	json_object_set_new(sources, "keywords", json_string("offline:yake"));
	json_object_set_new(sources, "entities", json_string("offline:patterns"));
	json_object_set_new(sources, "language", json_string(lang->method));
	json_object_set_new(o, "sources", sources);

	/* a failed allocation above leaves a key missing: report it as out of memory */
	static const char *const keys[] = { "title", "summary", "key_points", "tags", "keywords",
					    "entities", "language", "word_count", "reading_time_s",
					    "sources", NULL };
	for (int i = 0; keys[i]; i++) {
		if (!json_object_get(o, keys[i])) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

int offline_analyze(const char *text, size_t len, const char *title_hint,
		    const struct offline_params *params, json_t **out, struct err *err)
{
	struct offline_params p;
	struct an_doc doc;
	uint32_t *order = NULL;
	size_t norder = 0, nkw = 0;
	struct an_keyword *kws = NULL;
	int rc;

	if (out)
		*out = NULL;
	if (!out || (!text && len > 0))
		return err_set(err, DOSSIER_EINVAL, "offline_analyze: missing text or output argument");
	if (params)
		p = *params;
	else
		offline_params_default(&p);
	if (p.summary_sentences < 0 || p.key_points < 0 || p.max_tags < 0 || p.max_keywords < 0)
		return err_set(err, DOSSIER_EINVAL, "offline_analyze: negative count in the parameters");
	p.summary_sentences = clamp(p.summary_sentences, 50);
	p.key_points = clamp(p.key_points, 100);
	p.max_tags = clamp(p.max_tags, 100);
	p.max_keywords = clamp(p.max_keywords, 200);
	if (len == 0)
		return err_set(err, DOSSIER_EEMPTY, "the text is empty: nothing to analyse");
	if (len > CAP_TEXT)
		return err_set(err, DOSSIER_ETOOBIG, "the text is too large to analyse (%zu bytes; the "
			       "limit is %u); split it", len, CAP_TEXT);
	if (!utf8_valid(text, len))
		return err_set(err, DOSSIER_EFORMAT, "the text is not valid UTF-8; pass it through "
			       "text_normalize first");

	if (an_doc_build(&doc, text, len) != 0)
		return err_set(err, DOSSIER_ENOMEM, "out of memory while analysing a %zu-byte text", len);
	if (doc.ntoks + doc.code_words == 0) {
		an_doc_free(&doc);
		return err_set(err, DOSSIER_EEMPTY, "the text contains no words to analyse");
	}
	struct an_lang_result lr;
	an_lang_detect(&doc, &lr);
	int lang = lr.lang;
	an_doc_set_stop_langs(&doc, lang >= 0 ? (1u << lang) | (1u << AN_LANG_EN) : AN_LANG_ALL);
	struct an_stemmer *stemmer = an_stemmer_new(lr.code);
	rc = stemmer ? an_doc_stem(&doc, stemmer) : DOSSIER_ENOMEM;
	an_stemmer_free(stemmer);
	if (rc) {
		an_doc_free(&doc);
		return err_set(err, rc, "out of memory while analysing a %zu-byte text", len);
	}

	size_t want_kw = (size_t)(p.max_keywords > p.max_tags ? p.max_keywords : p.max_tags) * 3 + 10;
	rc = an_textrank(&doc, p.max_sentences, &order, &norder);
	if (rc == 0)
		rc = an_yake(&doc, want_kw, &kws, &nkw);
	if (rc == 0) {
		*out = build(&doc, title_hint, &p, &lr, order, norder, kws, nkw);
		if (!*out)
			rc = DOSSIER_ENOMEM;
	}
	if (rc)
		err_set(err, rc, "out of memory while analysing a %zu-byte text", len);
	free(order);
	free(kws);
	an_doc_free(&doc);
	return rc;
}
