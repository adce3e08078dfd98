/*
 * sentence.h — a sentence splitter for normalised UTF-8 text and raw Markdown.
 *
 *   struct sentence *s; size_t n;
 *   if (sentence_split(text, len, &s, &n, &e) == 0) {
 *       for (size_t i = 0; i < n; i++) {
 *           char *t = sentence_text(text, &s[i]);   // whitespace folded, caller frees
 *           ...
 *       }
 *       free(s);
 *   }
 *
 * Rules: '.', '!', '?', '…' end a sentence when followed by white space (so 3.14,
 * 1,234.56, example.com and a@b.org never split); '.' and ellipses only when the next
 * word does not start in lower case; no split after abbreviations (Mr., Dr., e.g., i.e.,
 * z.B., U.S., Sr., M. and other initials, month names before a number). A blank line
 * always ends a sentence; a single line break ends one when the next line is a Markdown
 * list item, heading, fence or table row, or the current line is short and the next one
 * starts in upper case. Markdown headings ('#') and list items are sentences of their
 * own; a fenced code block (``` or ~~~) is one SENTENCE_KIND_CODE sentence.
 * Thread safe.
 */
#ifndef DOSSIER_ANALYZE_SENTENCE_H
#define DOSSIER_ANALYZE_SENTENCE_H

#include <stddef.h>

struct err;

enum sentence_kind {
	SENTENCE_KIND_TEXT,     /* an ordinary sentence */
	SENTENCE_KIND_HEADING,  /* a Markdown heading, or a short line standing alone as a paragraph
				   without closing punctuation */
	SENTENCE_KIND_ITEM,     /* a Markdown list item (its marker excluded from start..end) */
	SENTENCE_KIND_CODE,     /* a fenced code block, fences included */
};

struct sentence {
	size_t start;             /* byte offset of its first character (markers skipped) */
	size_t end;               /* byte offset one past its last non-space character */
	enum sentence_kind kind;
};

/*
 * Splits len bytes of UTF-8 text into sentences in document order. On success *out is
 * a new array (caller frees with free(); NULL when *n_out is 0). Returns 0, or
 * DOSSIER_ENOMEM (nothing allocated). Stretches without a letter or digit (rules,
 * table separators) are not sentences.
 */
int sentence_split(const char *text, size_t len, struct sentence **out, size_t *n_out,
		   struct err *err);

/* The sentence's text with white space and line breaks folded to single spaces: a new
 * NUL-terminated string (caller frees with free()), NULL on out-of-memory. */
char *sentence_text(const char *text, const struct sentence *s);

#endif
