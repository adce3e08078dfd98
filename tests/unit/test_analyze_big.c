/*
 * test_analyze_big.c — a generated 5 MB text is normalised and analysed in bounded
 * time and memory, and the result is still sane. Prints the measured numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "analyze/offline.h"
#include "analyze/text.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

#define BIG_BYTES (5u * 1000u * 1000u)
#define BIG_LIMIT_S 30.0        /* CPU seconds, even under ASan */
#define BIG_WALL_LIMIT_S 120.0  /* wall seconds: loose, other builds may share the cores */

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t rng_state = 12345;

static uint32_t rnd(uint32_t n)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return (rng_state >> 8) % n;
}

static const char *const topic[] = {
	"glacier", "glaciers", "ice", "meltwater", "moraine", "crevasse", "snowfall", "climate",
	"temperature", "retreat", "valley", "summit",
};
static const char *const common[] = {
	"river", "mountain", "village", "winter", "summer", "measurement", "station", "team",
	"record", "surface", "thickness", "season", "researchers", "satellite", "images",
	"data", "flow", "lake", "rock", "slope", "camp", "weather", "wind", "storm", "map",
	"survey", "altitude", "edge", "front", "layer", "sample", "core", "drill", "sensor",
	"field", "report", "analysis", "change", "rate", "volume", "water", "sediment",
	"history", "century", "decade", "observations", "instruments", "scientists",
};
static const char *const verbs[] = {
	"shows", "measured", "covers", "feeds", "shapes", "reaches", "records", "follows",
	"crosses", "reveals", "marks", "holds",
};
static const char *const glue[] = {
	"the", "a", "of", "in", "and", "with", "near", "during", "across", "from", "on", "at",
};

static size_t append_word(struct buf *b, const char *w, int cap)
{
	if (b->len && b->data[b->len - 1] != '\n')
		buf_appendc(b, ' ');
	if (cap) {
		buf_appendc(b, (char)(w[0] - 32));
		buf_appends(b, w + 1);
	} else {
		buf_appends(b, w);
	}
	return 1;
}

/* Generates about BIG_BYTES of English-like text; returns it and its word count. */
static char *generate(size_t *len, size_t *words)
{
	struct buf b;
	buf_init(&b, 0);
	size_t nw = 0;
	int sentence = 0;
	while (b.len < BIG_BYTES) {
		int n = 8 + (int)rnd(12);
		for (int i = 0; i < n; i++) {
			const char *w;
			uint32_t r = rnd(10);
			if (r < 3)
				w = glue[rnd(sizeof glue / sizeof glue[0])];
			else if (r < 5)
				w = topic[rnd(sizeof topic / sizeof topic[0])];
			else if (r < 6)
				w = verbs[rnd(sizeof verbs / sizeof verbs[0])];
			else
				w = common[rnd(sizeof common / sizeof common[0])];
			nw += append_word(&b, w, i == 0);
		}
		buf_appendc(&b, '.');
		if (++sentence % 500 == 0) {
			/* now and then: entities, decimals and abbreviations */
			buf_appends(&b, " Dr. Ingrid Halvorsen wrote to field.team@example.org on 2023-06-01 "
					"about 3.5 km of retreat.");
			nw += 12;
		}
		if (sentence % 6 == 0)
			buf_appends(&b, "\n\n");
	}
	*len = b.len;
	*words = nw;
	return buf_take(&b);
}

static void five_megabytes_in_bounded_time(void **state)
{
	(void)state;
	size_t raw_len, words;
	char *raw = generate(&raw_len, &words);
	assert_non_null(raw);

	double c0 = cpu_s();
	double t0 = clock_mono_s();
	char *text, *title;
	size_t len;
	char enc[16];
	struct err e = { 0 };
	assert_int_equal(text_normalize(raw, raw_len, TEXT_FORMAT_PLAIN, &text, &len, &title, enc, &e), 0);
	double t1 = clock_mono_s();
	json_t *j = NULL;
	int rc = offline_analyze(text, len, title, NULL, &j, &e);
	double t2 = clock_mono_s();
	double c2 = cpu_s();
	if (rc != 0)
		fail_msg("offline_analyze: %s", e.msg);

	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("analyze: %zu bytes, %zu words: normalise %.2f s, analyse %.2f s (wall), "
	       "%.2f s CPU in all, peak RSS %ld MB\n",
	       len, words, t1 - t0, t2 - t1, c2 - c0, ru.ru_maxrss / 1024);
	assert_true(c2 - c0 < BIG_LIMIT_S);
	assert_true(t2 - t0 < BIG_WALL_LIMIT_S);

	/* sane output */
	assert_string_equal(json_string_value(json_object_get(j, "language")), "en");
	assert_int_equal(json_integer_value(json_object_get(j, "word_count")), (json_int_t)words);
	assert_int_equal(json_integer_value(json_object_get(j, "reading_time_s")),
			 (json_int_t)((words * 60 + 115) / 230));
	const char *summary = json_string_value(json_object_get(j, "summary"));
	assert_true(strlen(summary) > 40 && strlen(summary) < 2000);
	assert_int_equal(json_array_size(json_object_get(j, "key_points")), 5);
	json_t *kw = json_object_get(j, "keywords");
	assert_int_equal(json_array_size(kw), 15);
	size_t i;
	json_t *v;
	json_array_foreach(kw, i, v) {
		const char *t = json_string_value(json_object_get(v, "term"));
		for (size_t g = 0; g < sizeof glue / sizeof glue[0]; g++)
			assert_false(strcmp(t, glue[g]) == 0);
	}
	json_t *ents = json_object_get(j, "entities");
	assert_true(json_array_size(ents) >= 3 && json_array_size(ents) <= 100);
	int found_email = 0;
	json_array_foreach(ents, i, v)
		found_email |= strcmp(json_string_value(json_object_get(v, "text")),
				      "field.team@example.org") == 0;
	assert_true(found_email);

	json_decref(j);
	free(text);
	free(title);
	free(raw);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(five_megabytes_in_bounded_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
