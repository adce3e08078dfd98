/*
 * embed.c — the fake embedding model behind POST /api/embed (Ollama) and
 * POST /v1/embeddings (OpenAI): deterministic vectors in which texts that
 * share words are close.
 *
 * The rule (README.md, "Embeddings"): a text's words (runs of letters and
 * digits, lower-cased, at least 3 characters, not one of a few dozen
 * stop words such as "the" and "and") each add +1 or -1 (by a second
 * hash) at one of the model's embedding_length dimensions (FNV-1a of the
 * word, modulo the dimension; 64 if the model has none), and the vector is
 * scaled to unit length. A word of the synonym table counts as its group's
 * first word, so "automobile" and "car" land on the same dimension: a query
 * finds a document by a word it does not contain when the document holds a
 * neighbour. An empty text is the zero vector.
 */
#include "stub.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Groups of neighbours; each word stands for the group's first. */
static const char *const SYNONYMS[][5] = {
	{"car", "automobile", "vehicle", "motorcar", NULL},
	{"doctor", "physician", "medic", NULL},
	{"cat", "feline", "kitten", NULL},
	{"dog", "canine", "puppy", NULL},
	{"sea", "ocean", "marine", NULL},
	{"money", "cash", "funds", "currency", NULL},
	{"film", "movie", "cinema", NULL},
};

/* Words that say nothing about a text's subject: they add nothing. */
static const char *const STOPWORDS[] = {"the", "and", "for", "with", "that", "this", "from", "are", "was", "were",
                                         "has", "have", "not", "but", "all", "our", "its", "into", "out", "you",
                                         "your", "their", "they", "his", "her", "she", "him", "who", "what", "when",
                                         "which", "will", "would", "can", "could", "there", "here", "than", "then",
                                         "also", "about", "over", "under", "after", "before", "some", "any", NULL};

static int stopword(const char *w)
{
	for (int i = 0; STOPWORDS[i]; i++)
		if (!strcmp(STOPWORDS[i], w))
			return 1;
	return 0;
}

static const char *canonical(const char *w)
{
	for (size_t g = 0; g < sizeof SYNONYMS / sizeof SYNONYMS[0]; g++)
		for (int i = 0; SYNONYMS[g][i]; i++)
			if (!strcmp(SYNONYMS[g][i], w))
				return SYNONYMS[g][0];
	return w;
}

static uint32_t fnv1a(const char *s, uint32_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

void embed_vector(const char *text, int dim, float *out)
{
	memset(out, 0, (size_t)dim * sizeof *out);
	char w[64];
	size_t n = 0;
	for (const char *p = text ? text : "";; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch && (isalnum(ch) || ch >= 0x80)) {
			if (n + 1 < sizeof w)
				w[n++] = (char)tolower(ch);
			continue;
		}
		if (n >= 3)
			w[n] = '\0';
		if (n >= 3 && !stopword(w)) {
			const char *c = canonical(w);
			uint32_t h = fnv1a(c, 2166136261u);
			uint32_t sign = fnv1a(c, 0x9747b28cu);
			out[h % (uint32_t)dim] += (sign & 1) ? 1.0f : -1.0f;
		}
		n = 0;
		if (!ch)
			break;
	}
	double ss = 0;
	for (int i = 0; i < dim; i++)
		ss += (double)out[i] * out[i];
	if (ss > 0)
		for (int i = 0; i < dim; i++)
			out[i] = (float)(out[i] / sqrt(ss));
}

int embed_dim(const struct model *m)
{
	return m && m->embedding_length > 0 && m->embedding_length <= 8192 ? (int)m->embedding_length : 64;
}

/* The texts of an "input" (a string or an array of strings) into *texts
 * (borrowed from input; caller frees the array). -1 + msg when it is neither. */
int embed_inputs(const json_t *input, const char ***texts, size_t *n, char *msg, size_t msg_n)
{
	*texts = NULL;
	*n = 0;
	if (!input || json_is_null(input))
		return 0;
	if (json_is_string(input)) {
		*texts = malloc(sizeof **texts);
		(*texts)[0] = json_string_value(input);
		*n = 1;
		return 0;
	}
	if (!json_is_array(input)) {
		snprintf(msg, msg_n, "invalid input type");
		return -1;
	}
	*texts = calloc(json_array_size(input) + 1, sizeof **texts);
	size_t i;
	json_t *v;
	json_array_foreach(input, i, v) {
		if (!json_is_string(v)) {
			free(*texts);
			*texts = NULL;
			snprintf(msg, msg_n, "invalid input type");
			return -1;
		}
		(*texts)[i] = json_string_value(v);
	}
	*n = json_array_size(input);
	return 0;
}

/* A JSON array of the vector of text. */
json_t *embed_json(const char *text, int dim)
{
	float *v = malloc((size_t)dim * sizeof *v);
	embed_vector(text, dim, v);
	json_t *a = json_array();
	for (int i = 0; i < dim; i++)
		json_array_append_new(a, json_real(v[i]));
	free(v);
	return a;
}
