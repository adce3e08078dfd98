/*
 * reply.c — the fake model. It answers deterministically, with words taken
 * from the user's message and facts about the images it was sent, so a test
 * can see that its data reached the model. With a JSON schema in `format` it
 * builds a document that satisfies the schema.
 */
#include "stub.h"
#include "core/buf.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WORDS_MAX 8          /* words echoed from the user's message */
#define WORD_BYTES 48        /* longest echoed word */
#define SCHEMA_DEPTH_MAX 24  /* nesting (and $ref recursion) limit */
#define ARRAY_ITEMS_MAX 8    /* items generated for a large minItems */

struct words {
	char w[WORDS_MAX][WORD_BYTES];
	int n;
};

/* ------------------------------------------------------------ words */

/* Words too common to show that a message arrived. */
static int stopword(const char *w)
{
	static const char *const S[] = {
		"the", "this", "that", "these", "those", "and", "for", "with", "from", "about",
		"into", "are", "was", "were", "you", "your", "our", "its", "has", "have", "had",
		"not", "but", "all", "any", "can", "will", "please", "there", "their", "what",
		"which", "how", "why", NULL};
	for (int i = 0; S[i]; i++)
		if (strcasecmp(w, S[i]) == 0)
			return 1;
	return 0;
}

static int seen(const struct words *ws, const char *w)
{
	for (int i = 0; i < ws->n; i++)
		if (strcasecmp(ws->w[i], w) == 0)
			return 1;
	return 0;
}

/*
 * Picks up to 4 distinct words (3+ letters or digits, not stop words) from the start of the
 * text and up to 4 from its end: prompts put instructions at one end and the
 * document at the other, so both ends show that the data arrived.
 */
static void words_pick(const char *text, struct words *ws)
{
	char all[256][WORD_BYTES];
	int n = 0;
	memset(ws, 0, sizeof *ws);
	if (!text)
		return;
	const char *p = text;
	/* Collect the first 128 and keep a ring of the last 128 words. */
	int total = 0;
	char ring[128][WORD_BYTES];
	while (*p) {
		while (*p && !isalnum((unsigned char)*p))
			p++;
		const char *s = p;
		while (*p && (isalnum((unsigned char)*p) || *p == '\'' || *p == '-'))
			p++;
		size_t len = (size_t)(p - s);
		if (len < 3)
			continue;
		if (len >= WORD_BYTES)
			len = WORD_BYTES - 1;
		char w[WORD_BYTES];
		memcpy(w, s, len);
		w[len] = '\0';
		if (stopword(w))
			continue;
		if (n < 128)
			snprintf(all[n++], WORD_BYTES, "%s", w);
		snprintf(ring[total % 128], WORD_BYTES, "%s", w);
		total++;
	}
	for (int i = 0; i < n && ws->n < WORDS_MAX / 2; i++)
		if (!seen(ws, all[i]))
			snprintf(ws->w[ws->n++], WORD_BYTES, "%s", all[i]);
	/* Last words, in text order. */
	int tail = total < 128 ? total : 128;
	int start = total - tail;
	char last[WORDS_MAX][WORD_BYTES];
	int nl = 0;
	for (int i = total - 1; i >= start && nl < WORDS_MAX / 2; i--) {
		const char *w = ring[i % 128];
		int dup = seen(ws, w);
		for (int k = 0; k < nl && !dup; k++)
			dup = strcasecmp(last[k], w) == 0;
		if (!dup)
			snprintf(last[nl++], WORD_BYTES, "%s", w);
	}
	for (int k = nl - 1; k >= 0 && ws->n < WORDS_MAX; k--)
		snprintf(ws->w[ws->n++], WORD_BYTES, "%s", last[k]);
}

static void words_join(const struct words *ws, struct buf *b)
{
	for (int i = 0; i < ws->n; i++)
		buf_appendf(b, "%s%s", i ? " " : "", ws->w[i]);
	if (ws->n == 0)
		buf_appends(b, "nothing");
}

static void images_sentence(const struct reply_input *in, struct buf *b)
{
	if (in->n_images == 0)
		return;
	buf_appendf(b, "%d image%s:", in->n_images, in->n_images == 1 ? "" : "s");
	for (int i = 0; i < in->n_images; i++) {
		const struct image_info *im = &in->images[i];
		buf_appendf(b, "%s %s", i ? ";" : "", im->kind);
		if (im->width > 0)
			buf_appendf(b, " %dx%d", im->width, im->height);
		buf_appendf(b, " %zu bytes", im->bytes);
	}
}

/* ------------------------------------------------------------ images */

static unsigned be16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }
static unsigned le16(const unsigned char *p) { return (unsigned)p[1] << 8 | p[0]; }
static unsigned long be32(const unsigned char *p)
{
	return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3];
}

void image_inspect(const unsigned char *p, size_t n, struct image_info *out)
{
	memset(out, 0, sizeof *out);
	out->bytes = n;
	snprintf(out->kind, sizeof out->kind, "other");
	if (n >= 24 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) {
		snprintf(out->kind, sizeof out->kind, "PNG");
		if (memcmp(p + 12, "IHDR", 4) == 0) {
			out->width = (int)be32(p + 16);
			out->height = (int)be32(p + 20);
		}
	} else if (n >= 4 && p[0] == 0xFF && p[1] == 0xD8) {
		snprintf(out->kind, sizeof out->kind, "JPEG");
		size_t i = 2;
		while (i + 9 < n) {
			if (p[i] != 0xFF) {
				i++;
				continue;
			}
			unsigned char mk = p[i + 1];
			if (mk == 0xFF) {
				i++;
				continue;
			}
			if (mk == 0xD8 || mk == 0x01 || (mk >= 0xD0 && mk <= 0xD7)) {
				i += 2;
				continue;
			}
			if (mk >= 0xC0 && mk <= 0xCF && mk != 0xC4 && mk != 0xC8 && mk != 0xCC) {
				out->height = (int)be16(p + i + 5);
				out->width = (int)be16(p + i + 7);
				break;
			}
			i += 2 + be16(p + i + 2);
		}
	} else if (n >= 10 && memcmp(p, "GIF8", 4) == 0) {
		snprintf(out->kind, sizeof out->kind, "GIF");
		out->width = (int)le16(p + 6);
		out->height = (int)le16(p + 8);
	} else if (n >= 30 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0) {
		snprintf(out->kind, sizeof out->kind, "WEBP");
		if (memcmp(p + 12, "VP8X", 4) == 0) {
			out->width = 1 + (int)(p[24] | p[25] << 8 | p[26] << 16);
			out->height = 1 + (int)(p[27] | p[28] << 8 | p[29] << 16);
		} else if (memcmp(p + 12, "VP8L", 4) == 0 && n >= 25) {
			out->width = 1 + (((p[22] & 0x3F) << 8) | p[21]);
			out->height = 1 + (((p[24] & 0xF) << 10) | (p[23] << 2) | ((p[22] & 0xC0) >> 6));
		} else if (memcmp(p + 12, "VP8 ", 4) == 0) {
			out->width = (int)(le16(p + 26) & 0x3FFF);
			out->height = (int)(le16(p + 28) & 0x3FFF);
		}
	}
}

/* ------------------------------------------------------------ schema */

struct gen {
	const json_t *root;          /* the whole schema, for $ref */
	const struct words *ws;
	const struct reply_input *in;
};

static const json_t *resolve_ref(const struct gen *g, const char *ref)
{
	if (ref[0] != '#')
		return NULL;
	const json_t *cur = g->root;
	const char *p = ref + 1;
	while (*p == '/') {
		p++;
		char tok[128];
		size_t o = 0;
		while (*p && *p != '/' && o + 1 < sizeof tok) {
			if (p[0] == '~' && p[1] == '1') {
				tok[o++] = '/';
				p += 2;
			} else if (p[0] == '~' && p[1] == '0') {
				tok[o++] = '~';
				p += 2;
			} else {
				tok[o++] = *p++;
			}
		}
		tok[o] = '\0';
		if (json_is_array(cur))
			cur = json_array_get(cur, (size_t)strtoul(tok, NULL, 10));
		else
			cur = json_object_get(cur, tok);
		if (!cur)
			return NULL;
	}
	return cur;
}

static const char *schema_type(const json_t *sc)
{
	json_t *t = json_object_get(sc, "type");
	if (json_is_string(t))
		return json_string_value(t);
	if (json_is_array(t)) {
		size_t i;
		json_t *v;
		json_array_foreach(t, i, v) {
			if (json_is_string(v) && strcmp(json_string_value(v), "null") != 0)
				return json_string_value(v);
		}
		if (json_array_size(t) > 0 && json_is_string(json_array_get(t, 0)))
			return json_string_value(json_array_get(t, 0));
	}
	if (json_object_get(sc, "properties"))
		return "object";
	if (json_object_get(sc, "items") || json_object_get(sc, "prefixItems"))
		return "array";
	return "string";
}

static double num_value(const json_t *sc, int integer)
{
	json_t *mn = json_object_get(sc, "minimum"), *emn = json_object_get(sc, "exclusiveMinimum");
	json_t *mx = json_object_get(sc, "maximum"), *emx = json_object_get(sc, "exclusiveMaximum");
	double v = 1;
	if (json_is_number(mn))
		v = json_number_value(mn);
	else if (json_is_number(emn))
		v = integer ? floor(json_number_value(emn)) + 1 : json_number_value(emn) + 0.5;
	if (integer)
		v = ceil(v);
	if (json_is_number(mx) && v > json_number_value(mx))
		v = integer ? floor(json_number_value(mx)) : json_number_value(mx);
	if (json_is_number(emx) && v >= json_number_value(emx))
		v = integer ? ceil(json_number_value(emx)) - 1 : json_number_value(emx) - 0.5;
	return v;
}

/* Cuts s to at most max code points. */
static void utf8_cut(char *s, size_t max_cp)
{
	size_t cp = 0;
	for (char *p = s; *p; p++) {
		if (((unsigned char)*p & 0xC0) != 0x80) {
			if (cp == max_cp) {
				*p = '\0';
				return;
			}
			cp++;
		}
	}
}

static size_t utf8_len(const char *s)
{
	size_t cp = 0;
	for (; *s; s++)
		cp += ((unsigned char)*s & 0xC0) != 0x80;
	return cp;
}

static json_t *gen_string(const struct gen *g, const json_t *sc, int index)
{
	const char *fmt = json_string_value(json_object_get(sc, "format"));
	struct buf b;
	buf_init(&b, 64 * 1024);
	if (fmt && strcmp(fmt, "date") == 0)
		buf_appends(&b, "2026-01-01");
	else if (fmt && strcmp(fmt, "date-time") == 0)
		buf_appends(&b, "2026-01-01T00:00:00Z");
	else if (fmt && strcmp(fmt, "time") == 0)
		buf_appends(&b, "00:00:00");
	else if (fmt && strcmp(fmt, "email") == 0)
		buf_appends(&b, "stub@example.com");
	else if (fmt && (strcmp(fmt, "uri") == 0 || strcmp(fmt, "url") == 0))
		buf_appends(&b, "https://example.com/stub");
	else if (fmt && strcmp(fmt, "uuid") == 0)
		buf_appends(&b, "00000000-0000-4000-8000-000000000000");
	else if (index >= 0) {
		/* An array item: one word each, so tags/keywords look like tags. */
		if (g->ws->n > 0)
			buf_appends(&b, g->ws->w[index % g->ws->n]);
		else
			buf_appendf(&b, "item %d", index + 1);
	} else {
		words_join(g->ws, &b);
		if (g->in->n_images > 0) {
			buf_appends(&b, " (");
			images_sentence(g->in, &b);
			buf_appends(&b, ")");
		}
	}
	json_t *mn = json_object_get(sc, "minLength"), *mx = json_object_get(sc, "maxLength");
	if (json_is_integer(mn))
		while (utf8_len(b.data ? b.data : "") < (size_t)json_integer_value(mn))
			if (buf_appendc(&b, '.') != 0)
				break;
	char *s = buf_take(&b);
	buf_free(&b);
	if (json_is_integer(mx) && json_integer_value(mx) >= 0)
		utf8_cut(s, (size_t)json_integer_value(mx));
	json_t *v = json_string(s);
	free(s);
	return v ? v : json_string("");
}

static json_t *gen(const struct gen *g, const json_t *sc, int index, int depth);

static json_t *gen_object(const struct gen *g, const json_t *sc, int depth)
{
	json_t *o = json_object();
	json_t *props = json_object_get(sc, "properties");
	const char *k;
	json_t *sub;
	json_object_foreach(props, k, sub) {
		json_object_set_new(o, k, gen(g, sub, -1, depth + 1));
	}
	json_t *req = json_object_get(sc, "required");
	size_t i;
	json_t *rk;
	json_array_foreach(req, i, rk) {
		if (json_is_string(rk) && !json_object_get(o, json_string_value(rk)))
			json_object_set_new(o, json_string_value(rk), json_string("stub"));
	}
	return o;
}

static json_t *gen_array(const struct gen *g, const json_t *sc, int depth)
{
	json_t *a = json_array();
	json_t *prefix = json_object_get(sc, "prefixItems");
	json_t *items = json_object_get(sc, "items");
	if (json_is_array(items)) /* draft 4-7 tuple form */
		prefix = items, items = NULL;
	size_t n = 2;
	json_t *mn = json_object_get(sc, "minItems"), *mx = json_object_get(sc, "maxItems");
	if (json_is_integer(mn) && (size_t)json_integer_value(mn) > n)
		n = (size_t)json_integer_value(mn);
	if (n > ARRAY_ITEMS_MAX)
		n = ARRAY_ITEMS_MAX;
	if (json_is_integer(mx) && json_integer_value(mx) >= 0 &&
	    (size_t)json_integer_value(mx) < n)
		n = (size_t)json_integer_value(mx);
	size_t np = json_array_size(prefix);
	if (np > n)
		n = np;
	for (size_t i = 0; i < n; i++) {
		const json_t *isc = i < np ? json_array_get(prefix, i) : items;
		if (i >= np && np > 0 && !items)
			break; /* a tuple without "items": no extra entries */
		json_t *v = isc ? gen(g, isc, (int)i, depth + 1)
		                : json_string(g->ws->n ? g->ws->w[i % g->ws->n] : "item");
		json_array_append_new(a, v);
	}
	return a;
}

static json_t *gen(const struct gen *g, const json_t *sc, int index, int depth)
{
	if (depth > SCHEMA_DEPTH_MAX)
		return json_null();
	if (!json_is_object(sc))
		return gen_string(g, NULL, index);
	json_t *ref = json_object_get(sc, "$ref");
	if (json_is_string(ref)) {
		const json_t *t = resolve_ref(g, json_string_value(ref));
		if (t)
			return gen(g, t, index, depth + 1);
	}
	json_t *c = json_object_get(sc, "const");
	if (c)
		return json_deep_copy(c);
	json_t *en = json_object_get(sc, "enum");
	if (json_is_array(en) && json_array_size(en) > 0)
		return json_deep_copy(json_array_get(en, 0));
	const char *alts[] = {"anyOf", "oneOf"};
	for (int k = 0; k < 2; k++) {
		json_t *alt = json_object_get(sc, alts[k]);
		if (json_is_array(alt) && json_array_size(alt) > 0) {
			/* First alternative that is not just null. */
			size_t i;
			json_t *a;
			json_array_foreach(alt, i, a) {
				json_t *t = json_object_get(a, "type");
				if (!(json_is_string(t) && strcmp(json_string_value(t), "null") == 0))
					return gen(g, a, index, depth + 1);
			}
			return json_null();
		}
	}
	json_t *all = json_object_get(sc, "allOf");
	if (json_is_array(all) && json_array_size(all) > 0) {
		json_t *merged = json_deep_copy(sc);
		json_object_del(merged, "allOf");
		json_t *props = json_object();
		json_t *req = json_array();
		size_t i;
		json_t *a;
		json_array_foreach(all, i, a) {
			const json_t *part = a;
			json_t *r = json_object_get(a, "$ref");
			if (json_is_string(r) && resolve_ref(g, json_string_value(r)))
				part = resolve_ref(g, json_string_value(r));
			json_object_update(props, json_object_get(part, "properties"));
			json_array_extend(req, json_object_get(part, "required"));
			if (!json_object_get(merged, "type") && json_object_get(part, "type"))
				json_object_set(merged, "type", json_object_get(part, "type"));
		}
		json_object_update(props, json_object_get(sc, "properties"));
		json_object_set_new(merged, "properties", props);
		json_object_set_new(merged, "required", req);
		json_t *v = gen(g, merged, index, depth + 1);
		json_decref(merged);
		return v;
	}
	const char *t = schema_type(sc);
	if (strcmp(t, "object") == 0)
		return gen_object(g, sc, depth);
	if (strcmp(t, "array") == 0)
		return gen_array(g, sc, depth);
	if (strcmp(t, "integer") == 0)
		return json_integer((json_int_t)num_value(sc, 1));
	if (strcmp(t, "number") == 0) {
		double v = num_value(sc, 0);
		if (v == floor(v) && fabs(v) < 1e15)
			return json_integer((json_int_t)v);
		return json_real(v);
	}
	if (strcmp(t, "boolean") == 0)
		return json_true();
	if (strcmp(t, "null") == 0)
		return json_null();
	return gen_string(g, sc, index);
}

/* ------------------------------------------------------------ public */

int reply_format_valid(const json_t *format)
{
	if (!format || json_is_null(format) || json_is_object(format))
		return 1;
	if (json_is_string(format)) {
		const char *s = json_string_value(format);
		return *s == '\0' || strcmp(s, "json") == 0;
	}
	return 0;
}

void reply_make(const struct reply_input *in, char **answer, char **thinking)
{
	struct words ws;
	struct buf b;
	words_pick(in->user_text, &ws);
	buf_init(&b, 0);
	*thinking = NULL;
	if (in->think) {
		buf_appends(&b, "The user asks about ");
		words_join(&ws, &b);
		buf_appends(&b, ". I should answer briefly.");
		*thinking = buf_take(&b);
	}
	const json_t *f = in->format;
	if (json_is_object(f)) {
		struct gen g = {.root = f, .ws = &ws, .in = in};
		json_t *v = gen(&g, f, -1, 0);
		char *s = go_json_dump(v);
		json_decref(v);
		buf_free(&b);
		*answer = s ? s : strdup("{}");
		return;
	}
	struct buf text;
	buf_init(&text, 0);
	buf_appends(&text, "Stub answer about ");
	words_join(&ws, &text);
	buf_appends(&text, ".");
	if (in->n_images > 0) {
		buf_appends(&text, " I see ");
		images_sentence(in, &text);
		buf_appends(&text, ".");
	}
	if (json_is_string(f) && strcmp(json_string_value(f), "json") == 0) {
		json_t *o = json_object();
		json_object_set_new(o, "answer", json_string(text.data));
		*answer = go_json_dump(o);
		json_decref(o);
		buf_free(&text);
	} else {
		*answer = buf_take(&text);
		buf_free(&text);
	}
	buf_free(&b);
}

char **reply_split(const char *text, int *n)
{
	/* Chunk boundaries sit before a space that follows a non-space, so the
	 * chunks concatenate back to exactly the text. */
	int cap = 1;
	for (const char *p = text; *p; p++)
		cap += *p == ' ';
	char **out = calloc((size_t)cap + 1, sizeof *out);
	int k = 0;
	const char *start = text;
	for (const char *p = text; *p; p++) {
		if (*p == ' ' && p > start && p[-1] != ' ') {
			out[k++] = strndup(start, (size_t)(p - start));
			start = p;
		}
	}
	if (*start || k == 0)
		out[k++] = strdup(start);
	*n = k;
	return out;
}
