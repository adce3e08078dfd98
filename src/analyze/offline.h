/*
 * offline.h — extractive analysis of a text with no language model: a summary and key
 * points by TextRank, keywords and tags by a YAKE-style statistic, pattern-based
 * entities, the language by libexttextcat's n-grams and a stop-word guess, and Snowball
 * stems for the sentence graph.
 *
 *   struct offline_params p;
 *   offline_params_default(&p);
 *   json_t *a;
 *   if (offline_analyze(text, len, title_hint, &p, &a, &e) == 0) {
 *       ... json_object_get(a, "summary") ...
 *       json_decref(a);
 *   }
 *
 * Thread safe (no shared mutable state). Time and memory are bounded for any text up
 * to CAP_TEXT: a 5 MB text takes a few seconds and well under 200 MB.
 */
#ifndef DOSSIER_ANALYZE_OFFLINE_H
#define DOSSIER_ANALYZE_OFFLINE_H

#include <stddef.h>
#include <jansson.h>

struct err;

struct offline_params {
	int summary_sentences;   /* sentences in the summary (default 3; 0..50) */
	int key_points;          /* key points (default 5; 0..100) */
	int max_tags;            /* tags (default 8; 0..100) */
	int max_keywords;        /* keywords (default 15; 0..200) */
	size_t max_sentences;    /* sentences ranked at most (default 2000, at most 3000; 0 =
				    default): when a text has more, the most central ones by a
				    cheap shared-word estimate enter the TextRank graph, whose
				    memory is 4 * max_sentences^2 bytes */
};

/* Fills *p with the defaults above. */
void offline_params_default(struct offline_params *p);

/*
 * Analyses len bytes of normalised UTF-8 text (from text_normalize). title_hint
 * (borrowed; may be NULL) is used as the title when not empty. p may be NULL (defaults);
 * counts above their maximum are clamped.
 * On success *out is a new JSON object (caller json_decref's it) with exactly these keys:
 *   "title": string        title_hint, else the first heading-like line, else the best
 *                          sentence; at most ~120 characters ("…" marks a cut)
 *   "summary": string      the top-ranked sentences joined, in document order
 *   "key_points": [string] the next-best sentences, in document order
 *   "tags": [string]       best keywords, lower case, 1-3 words, none contained in a better one
 *   "keywords": [{"term": string, "score": number}]  best first; score is higher-is-better
 *                          in (0, 1]: the best keyword's YAKE score divided by this one's
 *   "entities": [{"text": string, "type": "email"|"url"|"date"|"money"|"phone"|"name"}]
 *                          at most 100, in order of appearance per kind
 *   "language": string     ISO 639-1 code or "und" when unsure: one of the seven
 *                          languages of the stop lists (en de fr es it pt nl), or another
 *                          that libexttextcat recognises with confidence (ru, pl, sv...)
 *   "word_count": integer, "reading_time_s": integer (at 230 words per minute)
 *   "sources": {"title": "offline:heading"|"offline:textrank", "summary":
 *               "offline:textrank", "key_points": "offline:textrank", "tags": "offline:yake",
 *               "keywords": "offline:yake", "entities": "offline:patterns",
 *               "language": "offline:textcat"|"offline:stopwords" (which method decided)}
 * Keywords are never stop words of the detected language or English (of any of the
 * seven languages when the language is "und" or outside them), numbers, or single characters.
 * Returns 0; DOSSIER_EEMPTY (no words); DOSSIER_EFORMAT (not valid UTF-8: normalise it
 * first); DOSSIER_ETOOBIG (len > CAP_TEXT); DOSSIER_EINVAL (text or out NULL, negative
 * parameter); DOSSIER_ENOMEM. On failure *out is NULL.
 */
int offline_analyze(const char *text, size_t len, const char *title_hint,
		    const struct offline_params *p, json_t **out, struct err *err);

#endif
