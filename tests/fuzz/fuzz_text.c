/*
 * fuzz_text.c — libFuzzer target for everything that reads a document's text
 * with no engine: the normaliser (plain, Markdown, HTML, any encoding), the
 * sentence splitter, and the offline analysis with its entity matcher. The
 * first byte picks the format. A success must give valid UTF-8 and a
 * well-formed analysis; a refusal must say why. Built and run by
 * tests/fuzz/run.sh.
 */
#include "analyze/offline.h"
#include "analyze/sentence.h"
#include "analyze/text.h"
#include "core/err.h"
#include "core/util.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	enum text_format fmt = (enum text_format)(data[0] % 3);
	char *text = NULL, *title = NULL, enc[16];
	size_t len = 0;
	struct err e = {0};
	int rc = text_normalize((const char *)data + 1, size - 1, fmt, &text, &len, &title, enc, &e);
	if (rc) {
		if (!e.msg[0] || text || title)
			abort();
		return 0;
	}
	if (strlen(text) != len || !utf8_valid(text, len) || (title && !utf8_valid(title, strlen(title))))
		abort();
	struct sentence *s = NULL;
	size_t ns = 0;
	if (sentence_split(text, len, &s, &ns, &e) == 0) {
		for (size_t i = 0; i < ns; i++) {
			char *st = sentence_text(text, &s[i]);
			if (st && !utf8_valid(st, strlen(st)))
				abort();
			free(st);
		}
		free(s);
	}
	json_t *a = NULL;
	if (offline_analyze(text, len, title, NULL, &a, &e) == 0) {
		if (!json_is_string(json_object_get(a, "summary")) || !json_is_array(json_object_get(a, "entities")))
			abort();
		json_decref(a);
	}
	free(text);
	free(title);
	return 0;
}
