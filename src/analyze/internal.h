/*
 * internal.h — helpers shared by the files of src/analyze/ only (not a public API).
 *
 * UTF-8 decoding and encoding, Latin-aware character classes and lower-casing, the
 * stop-word tables, a string interner, and the per-document token model that the
 * ranking files (textrank.c, yake.c, entities.c, lang.c) share.
 * All functions are thread safe unless they take a mutable struct argument.
 */
#ifndef DOSSIER_ANALYZE_INTERNAL_H
#define DOSSIER_ANALYZE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "analyze/sentence.h"

/* ---- UTF-8 ---- */

/* Decodes one code point at s (n > 0 bytes available). Sets *adv to the bytes used
 * (always >= 1). An invalid sequence yields U+FFFD and advances one byte. */
uint32_t an_utf8_decode(const char *s, size_t n, size_t *adv);
/* Encodes cp into out (at least 4 bytes); returns the byte count (1..4). Surrogates and
 * values above U+10FFFF are written as U+FFFD. */
size_t an_utf8_encode(uint32_t cp, char *out);

/* ---- character classes (Unicode-aware for Latin, Greek, Cyrillic) ---- */
uint32_t an_lower(uint32_t cp);    /* simple lower-case mapping; others unchanged */
int an_is_upper(uint32_t cp);      /* cp has a different lower-case form */
int an_is_letter(uint32_t cp);     /* letters of any script we know; not digits */
int an_is_digit(uint32_t cp);      /* ASCII 0-9 */
int an_is_space(uint32_t cp);      /* ASCII and Unicode spaces, not newlines */

/* ---- languages and stop words ---- */
enum an_lang { AN_LANG_EN, AN_LANG_DE, AN_LANG_FR, AN_LANG_ES, AN_LANG_IT, AN_LANG_PT,
	       AN_LANG_NL, AN_LANG_COUNT };
#define AN_LANG_ALL ((1u << AN_LANG_COUNT) - 1u)
/* ISO 639-1 code of a language ("en"...). */
const char *an_lang_code(enum an_lang l);
/* Bit mask (1 << enum an_lang) of the languages whose stop list holds the lower-case
 * word w (len bytes, UTF-8); 0 when it is no stop word anywhere. */
unsigned an_stopword_mask(const char *w, size_t len);

/* ---- string interner: equal strings get equal small ids ---- */
struct an_intern {
	char *arena;        /* all strings, each NUL-terminated */
	size_t arena_len;   /* bytes used in arena */
	size_t arena_size;  /* bytes allocated */
	uint32_t *off;      /* id -> offset of its string in arena */
	uint32_t *len;      /* id -> string length in bytes */
	uint32_t count;     /* ids handed out */
	uint32_t cap_ids;   /* entries allocated in off/len */
	uint32_t *slots;    /* open-addressing table of id+1 (0 = empty) */
	uint32_t nslots;    /* power of two */
};
void an_intern_init(struct an_intern *in);
void an_intern_free(struct an_intern *in);
/* Returns the id of s (len bytes), adding it if new; UINT32_MAX on out-of-memory. */
uint32_t an_intern_add(struct an_intern *in, const char *s, size_t len);
/* The string of an id: borrowed, valid until the next an_intern_add or _free. */
const char *an_intern_str(const struct an_intern *in, uint32_t id);

/* ---- the document model ---- */
enum {
	AN_TOK_UPPER_INITIAL = 1 << 0,   /* first letter is upper case */
	AN_TOK_ALL_UPPER = 1 << 1,       /* two or more letters, all upper case (acronym) */
	AN_TOK_SENT_START = 1 << 2,      /* first token of its sentence */
	AN_TOK_NUMBER = 1 << 3,          /* starts with a digit */
	AN_TOK_BREAK_BEFORE = 1 << 4,    /* punctuation separates it from the previous token */
};

struct an_tok {
	uint32_t off;    /* byte offset in the text */
	uint32_t word;   /* id of the lower-case form in doc->words */
	uint32_t sent;   /* index of its sentence in doc->sents */
	uint16_t len;    /* bytes in the text (capped at 65535) */
	uint16_t flags;  /* AN_TOK_* */
};

struct an_doc {
	const char *text;          /* borrowed, the analysed text */
	size_t len;                /* its bytes */
	struct sentence *sents;    /* owned, from sentence_split */
	size_t nsents;
	uint32_t *sent_tok0;       /* owned, per sentence: index of its first token */
	uint32_t *sent_ntok;       /* owned, per sentence: its token count */
	struct an_tok *toks;       /* owned, tokens of all non-code sentences */
	size_t ntoks;
	size_t code_words;         /* words inside code blocks (counted, not tokenised) */
	struct an_intern words;    /* lower-case word forms */
	uint32_t *word_stem;       /* owned, per word id: its stem id in stems */
	uint8_t *word_stop;        /* owned, per word id: 1 if a stop word for this document
				      (or a single character) */
	uint8_t *word_mask;        /* owned, per word id: an_stopword_mask of the word */
	uint32_t *word_lower_count;/* owned, per word id: occurrences starting lower case */
	struct an_intern stems;    /* stems, from an_doc_stem (Snowball or the neutral stem) */
	unsigned stop_langs;       /* language mask used for word_stop */
};

/* Splits and tokenises text. DOSSIER_ENOMEM on allocation failure. The stems are
 * filled by an_doc_stem, which must run before an_textrank. */
int an_doc_build(struct an_doc *doc, const char *text, size_t len);
struct an_stemmer;
/* Fills doc->stems and doc->word_stem with st's stems (st NULL: the neutral stem).
 * DOSSIER_ENOMEM. */
int an_doc_stem(struct an_doc *doc, struct an_stemmer *st);
/* Marks stop words for the language mask (AN_LANG_ALL when unsure). */
void an_doc_set_stop_langs(struct an_doc *doc, unsigned mask);
void an_doc_free(struct an_doc *doc);

/* Guesses the language from stop-word frequencies; returns an index of enum an_lang
 * or -1 for "und" (too short or ambiguous). */
int an_lang_guess(const struct an_doc *doc);
/* The same guess; *sure = 1 when the text is long enough and its function words
 * frequent and one-sided enough that no n-gram classifier needs asking. */
int an_lang_guess_sure(const struct an_doc *doc, int *sure);

/* ---- language identification (lang.c, libexttextcat) ---- */
struct an_lang_result {
	int lang;            /* enum an_lang, or -1 (und, or a language outside the seven) */
	char code[4];        /* ISO 639-1 code, or "und" */
	const char *method;  /* static: "offline:textcat" or "offline:stopwords" */
};
/* The document's language: exttextcat where it is confident, else the stop-word
 * guess (see lang.c for the rule). Thread safe. */
void an_lang_detect(const struct an_doc *doc, struct an_lang_result *r);
/* Loads exttextcat's models once per process (thread safe); 1 when loaded, 0 when
 * they cannot be read (the stop-word guess then decides alone). *load_s (may be NULL)
 * gets the seconds the load took. */
int an_textcat_ready(double *load_s);
/* Classifies n bytes of UTF-8: returns exttextcat's number of candidates (> 0), 0 for
 * too short or unknown, -1 when the models are not loaded or on out-of-memory. The
 * first max candidates with an ISO 639-1 code go into codes, their count in *ncodes. */
int an_textcat_classify(const char *s, size_t n, char codes[][4], int max, int *ncodes);
/* enum an_lang of an ISO 639-1 code, -1 when not one of the seven. */
int an_lang_index(const char *code);

/* ---- stemming (stem.c, Snowball) ---- */
/* A stemmer for an ISO 639-1 code: Snowball's when it has one, else (and for "und" or
 * NULL) the neutral stem. One per analysis: not safe to share between threads. NULL
 * on out-of-memory. Free with an_stemmer_free (NULL-safe). */
struct an_stemmer *an_stemmer_new(const char *code);
void an_stemmer_free(struct an_stemmer *s);
/* 1 when s stems with Snowball, 0 for the neutral stem. */
int an_stemmer_snowball(const struct an_stemmer *s);
/* Writes the stem of the lower-case UTF-8 word w (n bytes, n <= cap) into out (cap + 4
 * bytes) and returns its length. s NULL: the neutral stem. */
size_t an_stem(struct an_stemmer *s, const char *w, size_t n, char *out, size_t cap);
/* The neutral stem: w without a plural 's', cut to 6 characters (into out, n bytes). */
size_t an_stem_neutral(const char *w, size_t n, char *out);

/* ---- rankers (results are indices / ids owned by the caller, free with free()) ---- */

/* TextRank over sentences. Writes into *order_out the sentence indices of ranking
 * candidates, best first, and their count in *n_out (identical sentences appear once).
 * At most max_sentences sentences enter the graph. DOSSIER_ENOMEM. */
int an_textrank(const struct an_doc *doc, size_t max_sentences, uint32_t **order_out,
		size_t *n_out);

struct an_keyword {
	uint32_t words[3];  /* word ids */
	int n;              /* 1..3 */
	double score;       /* YAKE score: lower is better */
};
/* YAKE-style keyword extraction: up to max_out keywords, best first, near-duplicates
 * (same stems) removed. DOSSIER_ENOMEM. */
int an_yake(const struct an_doc *doc, size_t max_out, struct an_keyword **out, size_t *n_out);

/* Pattern-based entities (see offline.h): a new JSON array, NULL on out-of-memory. */
json_t *an_entities(const struct an_doc *doc);

#endif
