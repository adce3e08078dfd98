/*
 * llm_tasks.c — the three LLM tasks (text, image, video) on top of llm.h.
 *
 * Reading order: schemas and their checker, one validated JSON request with
 * retries, text chunking, the tasks.
 */
#include "backends/llm_tasks.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REDUCE_ROUNDS_MAX 4 /* map-reduce rounds before a text is declared too long */

static const char SYSTEM_PROMPT[] =
	"You analyse documents for a private, searchable archive. Answer only with one JSON object that "
	"matches the requested schema. Write in the language of the document. Do not invent facts.";

/* ------------------------------------------------------------- schemas */

static json_t *str_array(void)
{
	return json_pack("{s:s,s:{s:s}}", "type", "array", "items", "type", "string");
}

json_t *llm_schema_text(void)
{
	return json_pack("{s:s,s:{s:{s:s},s:{s:s},s:o,s:o,s:{s:s,s:{s:s,s:{s:{s:s},s:{s:s}},s:[s,s]}},s:{s:s}},"
	                 "s:[s,s,s,s,s,s]}",
	                 "type", "object", "properties",
	                 "title", "type", "string",
	                 "summary", "type", "string",
	                 "key_points", str_array(),
	                 "tags", str_array(),
	                 "entities", "type", "array", "items", "type", "object", "properties",
	                 "text", "type", "string", "type", "type", "string", "required", "text", "type",
	                 "language", "type", "string",
	                 "required", "title", "summary", "key_points", "tags", "entities", "language");
}

/* What a part of a long text is reduced to (map step). */
static json_t *schema_part(void)
{
	return json_pack("{s:s,s:{s:{s:s},s:o},s:[s,s]}", "type", "object", "properties",
	                 "summary", "type", "string", "key_points", str_array(),
	                 "required", "summary", "key_points");
}

json_t *llm_schema_image(void)
{
	return json_pack("{s:s,s:{s:{s:s},s:o,s:{s:s}},s:[s,s,s]}", "type", "object", "properties",
	                 "description", "type", "string", "tags", str_array(), "text_in_image", "type", "string",
	                 "required", "description", "tags", "text_in_image");
}

json_t *llm_schema_video(void)
{
	return json_pack("{s:s,s:{s:{s:s},s:{s:s},s:o,s:{s:s,s:{s:s,s:{s:{s:s},s:{s:s}},s:[s,s]}}},"
	                 "s:[s,s,s,s]}",
	                 "type", "object", "properties",
	                 "title", "type", "string",
	                 "summary", "type", "string",
	                 "key_points", str_array(),
	                 "timeline", "type", "array", "items", "type", "object", "properties",
	                 "time", "type", "number", "text", "type", "string", "required", "time", "text",
	                 "required", "title", "summary", "key_points", "timeline");
}

static int type_ok(const char *type, json_t *v)
{
	if (!strcmp(type, "object"))
		return json_is_object(v);
	if (!strcmp(type, "array"))
		return json_is_array(v);
	if (!strcmp(type, "string"))
		return json_is_string(v);
	if (!strcmp(type, "number"))
		return json_is_number(v);
	if (!strcmp(type, "integer"))
		return json_is_integer(v);
	if (!strcmp(type, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(type, "null"))
		return json_is_null(v);
	return 1;
}

static int check_at(json_t *schema, json_t *v, const char *path, char *why, size_t n)
{
	const char *type = json_string_value(json_object_get(schema, "type"));
	const char *where = *path ? path : "the reply";
	if (type && !type_ok(type, v)) {
		snprintf(why, n, "%s: expected %s", where, type);
		return DOSSIER_EFORMAT;
	}
	json_t *en = json_object_get(schema, "enum");
	if (json_is_array(en)) {
		size_t i;
		json_t *e;
		int hit = 0;
		json_array_foreach(en, i, e) hit |= json_equal(e, v);
		if (!hit) {
			snprintf(why, n, "%s: not one of the allowed values", where);
			return DOSSIER_EFORMAT;
		}
	}
	if (json_is_object(v)) {
		size_t i;
		json_t *r;
		json_array_foreach(json_object_get(schema, "required"), i, r) {
			const char *k = json_string_value(r);
			if (k && !json_object_get(v, k)) {
				snprintf(why, n, "%s%s%s: missing", path, *path ? "." : "", k);
				return DOSSIER_EFORMAT;
			}
		}
		const char *k;
		json_t *sub;
		json_object_foreach(json_object_get(schema, "properties"), k, sub) {
			json_t *child = json_object_get(v, k);
			if (!child)
				continue;
			char p[256];
			snprintf(p, sizeof p, "%s%s%s", path, *path ? "." : "", k);
			if (check_at(sub, child, p, why, n))
				return DOSSIER_EFORMAT;
		}
	}
	if (json_is_array(v) && json_object_get(schema, "items")) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			char p[256];
			snprintf(p, sizeof p, "%s[%zu]", *path ? path : "reply", i);
			if (check_at(json_object_get(schema, "items"), e, p, why, n))
				return DOSSIER_EFORMAT;
		}
	}
	return 0;
}

int llm_schema_check(json_t *schema, json_t *value, char *why, size_t why_len)
{
	why[0] = '\0';
	return check_at(schema, value, "", why, why_len);
}

/* ------------------------------------------------- one validated request */

struct tally {
	struct llm_metrics sum;  /* summed metrics */
	int calls;               /* requests made */
	int retries;             /* re-asks after invalid replies */
	int chunks;              /* parts of the text (1 = no map-reduce) */
};

static void tally_add(struct tally *t, const struct llm_metrics *m)
{
	t->sum.prompt_eval_count += m->prompt_eval_count;
	t->sum.eval_count += m->eval_count;
	t->sum.total_ns += m->total_ns;
	t->sum.load_ns += m->load_ns;
	t->sum.prompt_eval_ns += m->prompt_eval_ns;
	t->sum.eval_ns += m->eval_ns;
	t->sum.wall_s += m->wall_s;
	t->calls++;
}

static json_t *tally_json(const struct tally *t)
{
	return json_pack("{s:i,s:i,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:f}", "calls", t->calls, "chunks",
	                 t->chunks ? t->chunks : 1, "retries", t->retries,
	                 "prompt_eval_count", (json_int_t)t->sum.prompt_eval_count,
	                 "eval_count", (json_int_t)t->sum.eval_count, "total_ns", (json_int_t)t->sum.total_ns,
	                 "load_ns", (json_int_t)t->sum.load_ns, "prompt_eval_ns", (json_int_t)t->sum.prompt_eval_ns,
	                 "eval_ns", (json_int_t)t->sum.eval_ns, "wall_s", t->sum.wall_s);
}

struct ask {
	const char *prompt;                  /* borrowed */
	const unsigned char *const *images;  /* borrowed; may be NULL */
	const size_t *image_lens;
	int n_images;
	json_t *schema;                      /* borrowed */
};

/*
 * Sends the prompt with the schema as `format`, parses and checks the reply,
 * and re-asks up to LLM_FIX_RETRIES times with the problem named. *out gets
 * the valid object (caller decrefs). DOSSIER_EFORMAT after the last try.
 */
static int ask_json(struct llm_backend *b, const struct llm_call *call, const struct ask *a, struct tally *t,
                    json_t **out, struct err *err)
{
	char why[256] = "";
	struct buf prompt;
	buf_init(&prompt, 0);
	for (int attempt = 0; attempt <= LLM_FIX_RETRIES; attempt++) {
		buf_reset(&prompt);
		if (buf_appends(&prompt, a->prompt))
			return err_set(err, DOSSIER_ENOMEM, "out of memory building a prompt");
		if (attempt) {
			t->retries++;
			buf_appendf(&prompt,
			            "\n\nYour previous answer was not valid: %s. Answer again with one JSON object that has "
			            "exactly the requested fields and types.",
			            why);
		}
		struct llm_request rq = {
			.model = call->model, .system = SYSTEM_PROMPT, .prompt = prompt.data,
			.images = a->images, .image_lens = a->image_lens, .n_images = a->n_images,
			.format = a->schema, .num_ctx = call->num_ctx, .temperature = call->temperature,
			.seed = call->seed, .keep_alive_s = call->keep_alive_s, .cancel = call->cancel,
		};
		char *text = NULL;
		struct llm_metrics m;
		memset(&m, 0, sizeof m);
		int rc = llm_chat(b, &rq, &text, &m, err);
		if (rc) {
			buf_free(&prompt);
			return rc;
		}
		tally_add(t, &m);
		json_error_t je;
		json_t *v = json_loads(text, 0, &je);
		free(text);
		if (!v)
			snprintf(why, sizeof why, "it was not JSON (%s)", je.text);
		else if (llm_schema_check(a->schema, v, why, sizeof why) == 0) {
			buf_free(&prompt);
			*out = v;
			return 0;
		}
		json_decref(v);
	}
	buf_free(&prompt);
	return err_set(err, DOSSIER_EFORMAT, "model '%s' gave no valid answer after %d tries (last problem: %s)",
	               call->model, LLM_FIX_RETRIES + 1, why);
}

/* Adds "sources" (each listed field -> engine:model) and "timings" to o. */
static void finish_result(json_t *o, struct llm_backend *b, const struct llm_call *call, const char *const *fields,
                          const struct tally *t)
{
	char src[200];
	snprintf(src, sizeof src, "%s:%s", llm_backend_name(b), call->model);
	json_t *s = json_object();
	for (size_t i = 0; fields[i]; i++)
		if (json_object_get(o, fields[i]))
			json_object_set_new(s, fields[i], json_string(src));
	json_object_set_new(o, "sources", s);
	json_object_set_new(o, "timings", tally_json(t));
}

/* ------------------------------------------------------------ text prep */

struct llm_call llm_call_from_config(const struct config *cfg, enum model_role role, int64_t keep_alive_s)
{
	struct llm_call c = {
		.model = cfg->models[role].name, .num_ctx = cfg->models[role].num_ctx,
		.engine_num_ctx = cfg->engine_num_ctx, .keep_alive_s = keep_alive_s,
		.temperature = cfg->temperature, .seed = cfg->seed, .cancel = NULL,
	};
	return c;
}

/* The window a call runs with: its num_ctx, else the engine's default. */
static int call_ctx(const struct llm_call *call)
{
	return call->num_ctx > 0 ? call->num_ctx : call->engine_num_ctx;
}

size_t llm_chunk_bytes(int num_ctx)
{
	int ctx = num_ctx > 0 ? num_ctx : 0;
	int reply = ctx / 4 < LLM_REPLY_TOKENS ? ctx / 4 : LLM_REPLY_TOKENS;
	int usable = ctx - reply - LLM_PROMPT_TOKENS;
	if (usable < 256)
		usable = 256;
	return (size_t)usable * 4;
}

/* A copy of text that jansson accepts: invalid UTF-8 bytes and NULs become '?'
 * and ' '. Caller frees. */
static char *clean_utf8(const char *s, size_t n)
{
	char *out = malloc(n + 1);
	if (!out)
		return NULL;
	size_t i = 0, o = 0;
	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
		if (len == 1) {
			out[o++] = c ? (char)c : ' ';
			i++;
		} else if (len && i + len <= n && utf8_valid(s + i, len)) {
			memcpy(out + o, s + i, len);
			o += len;
			i += len;
		} else {
			out[o++] = '?';
			i++;
		}
	}
	out[o] = '\0';
	return out;
}

/* Where to end a chunk of at most max bytes starting at s (n bytes left):
 * a paragraph, line, sentence or word end in the second half, else a UTF-8
 * character boundary. */
static size_t chunk_end(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	static const char *const seps[] = {"\n\n", "\n", ". ", "? ", "! ", " "};
	for (size_t k = 0; k < sizeof seps / sizeof seps[0]; k++) {
		size_t sl = strlen(seps[k]);
		for (size_t e = max; e >= max / 2 && e >= sl; e--)
			if (!memcmp(s + e - sl, seps[k], sl))
				return e;
	}
	size_t e = max;
	while (e > 1 && ((unsigned char)s[e] & 0xC0) == 0x80)
		e--;
	return e;
}

static const char TEXT_INSTRUCTIONS[] =
	"Analyse the document below. Give: title (short, specific); summary (2 to 4 sentences); key_points "
	"(3 to 7 short statements); tags (3 to 8 lowercase keywords); entities (people, organisations, places, "
	"dates, products, each with its type); language (ISO 639-1 code such as \"en\").";

/* One map step: summarise part i of n. Appends the summary to *acc. */
static int map_part(struct llm_backend *b, const struct llm_call *call, const char *part, size_t len, int i, int n,
                    struct tally *t, struct buf *acc, struct err *err)
{
	struct buf p;
	buf_init(&p, 0);
	buf_appendf(&p,
	            "This is part %d of %d of a long document that is read in parts. Summarise this part in 3 to 6 "
	            "sentences (summary) and list its important facts, names, numbers and dates (key_points).\n\n"
	            "Part %d:\n<<<\n",
	            i, n, i);
	buf_append(&p, part, len);
	buf_appends(&p, "\n>>>");
	json_t *schema = schema_part(), *v = NULL;
	struct ask a = {.prompt = p.data, .schema = schema};
	int rc = ask_json(b, call, &a, t, &v, err);
	json_decref(schema);
	buf_free(&p);
	if (rc)
		return rc;
	buf_appendf(acc, "Part %d of %d: %s\n", i, n, json_string_value(json_object_get(v, "summary")));
	size_t k;
	json_t *kp;
	json_array_foreach(json_object_get(v, "key_points"), k, kp) buf_appendf(acc, "- %s\n", json_string_value(kp));
	buf_appends(acc, "\n");
	json_decref(v);
	return 0;
}

/* ---------------------------------------------------------------- tasks */

int llm_analyze_text(struct llm_backend *b, const struct llm_call *call, const char *text, size_t len,
                     json_t **out, struct err *err)
{
	static const char *const fields[] = {"title", "summary", "key_points", "tags", "entities", "language", NULL};
	struct tally t;
	memset(&t, 0, sizeof t);
	size_t max = llm_chunk_bytes(call_ctx(call));
	int rc = 0, reduced = 0;

	while (len && (text[0] == ' ' || text[0] == '\n' || text[0] == '\t' || text[0] == '\r')) {
		text++;
		len--;
	}
	if (!len)
		return err_set(err, DOSSIER_EEMPTY, "there is no text to analyse");
	char *cur = clean_utf8(text, len);
	if (!cur)
		return err_set(err, DOSSIER_ENOMEM, "out of memory preparing %zu bytes of text", len);
	size_t curlen = strlen(cur);

	/* Map-reduce until what is left fits one request. */
	for (int round = 0; curlen > max; round++) {
		if (round == REDUCE_ROUNDS_MAX) {
			free(cur);
			return err_set(err, DOSSIER_ETOOBIG,
			               "the text (%zu bytes) is still %zu bytes after %d rounds of summarising; raise text_num_ctx",
			               len, curlen, REDUCE_ROUNDS_MAX);
		}
		int n = 0;
		for (size_t off = 0; off < curlen; n++) /* count the parts first, for "part i of n" */
			off += chunk_end(cur + off, curlen - off, max);
		if (round == 0)
			t.chunks = n;
		struct buf acc;
		buf_init(&acc, 0);
		size_t off = 0;
		for (int i = 1; off < curlen && !rc; i++) {
			size_t e = chunk_end(cur + off, curlen - off, max);
			rc = map_part(b, call, cur + off, e, i, n, &t, &acc, err);
			off += e;
			if (!rc && round == 0 && call->on_part)
				call->on_part(call->on_part_user, i, n);
		}
		free(cur);
		if (rc) {
			buf_free(&acc);
			return rc;
		}
		curlen = acc.len;
		cur = buf_take(&acc);
		reduced = 1;
	}

	struct buf p;
	buf_init(&p, 0);
	buf_appends(&p, TEXT_INSTRUCTIONS);
	if (reduced)
		buf_appends(&p, "\n\nThe document was too long to read at once. Below are summaries of its consecutive "
		                "parts, in order; analyse the whole document from them.");
	buf_appends(&p, "\n\nDocument:\n<<<\n");
	buf_append(&p, cur, curlen);
	buf_appends(&p, "\n>>>");
	free(cur);
	json_t *schema = llm_schema_text(), *v = NULL;
	struct ask a = {.prompt = p.data, .schema = schema};
	rc = ask_json(b, call, &a, &t, &v, err);
	json_decref(schema);
	buf_free(&p);
	if (rc)
		return rc;
	if (!t.chunks)
		t.chunks = 1;
	finish_result(v, b, call, fields, &t);
	*out = v;
	return 0;
}

int llm_describe_image(struct llm_backend *b, const struct llm_call *call, const unsigned char *img, size_t len,
                       const char *ocr_text, json_t **out, struct err *err)
{
	static const char *const fields[] = {"description", "tags", "text_in_image", NULL};
	struct tally t;
	memset(&t, 0, sizeof t);
	if (!img || !len)
		return err_set(err, DOSSIER_EEMPTY, "there is no image to describe");
	struct buf p;
	buf_init(&p, 0);
	buf_appends(&p, "Describe this image for a searchable archive. Give: description (2 to 5 sentences: what it "
	                "shows, its setting and purpose); tags (3 to 8 lowercase keywords); text_in_image (the text "
	                "you can read in the image, verbatim; \"\" if there is none).");
	if (ocr_text && *ocr_text) {
		size_t n = strlen(ocr_text), keep = n;
		if (keep > LLM_OCR_CONTEXT_BYTES) {
			keep = LLM_OCR_CONTEXT_BYTES;
			while (keep && ((unsigned char)ocr_text[keep] & 0xC0) == 0x80)
				keep--;
		}
		char *ocr = clean_utf8(ocr_text, keep);
		buf_appendf(&p, "\n\nOCR read this text in the image (it may contain errors%s):\n<<<\n%s\n>>>",
		            keep < n ? "; only its beginning is shown" : "", ocr ? ocr : "");
		free(ocr);
	}
	const unsigned char *imgs[1] = {img};
	size_t lens[1] = {len};
	json_t *schema = llm_schema_image(), *v = NULL;
	struct ask a = {.prompt = p.data, .images = imgs, .image_lens = lens, .n_images = 1, .schema = schema};
	int rc = ask_json(b, call, &a, &t, &v, err);
	json_decref(schema);
	buf_free(&p);
	if (rc)
		return rc;
	t.chunks = 1;
	finish_result(v, b, call, fields, &t);
	*out = v;
	return 0;
}

int llm_synthesize(struct llm_backend *b, const struct llm_call *call, json_t *parts, json_t **out,
                   struct err *err)
{
	static const char *const fields[] = {"title", "summary", "key_points", "timeline", NULL};
	struct tally t;
	memset(&t, 0, sizeof t);
	json_t *ta = json_object_get(parts, "transcript_analysis");
	json_t *frames = json_object_get(parts, "frames");
	char *tas = ta ? json_dumps(ta, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
	size_t max = llm_chunk_bytes(call_ctx(call)), nframes = json_array_size(frames);
	size_t fixed = tas ? strlen(tas) : 0, frame_bytes = 0;
	json_t *f;
	size_t i;
	json_array_foreach(frames, i, f) frame_bytes += strlen(json_string_value(json_object_get(f, "description"))
	                                                       ? json_string_value(json_object_get(f, "description")) : "") + 16;
	/* Frame descriptions are the part that can give: shorten them evenly. */
	size_t per_frame = 0;
	int shortened = 0;
	if (nframes && fixed + frame_bytes > max) {
		size_t room = max > fixed + nframes * 48 ? max - fixed : nframes * 48;
		per_frame = room / nframes;
		shortened = 1;
	}
	struct buf p;
	buf_init(&p, 0);
	buf_appends(&p, "Write the dossier of a video from its parts. Give: title; summary (3 to 5 sentences about the "
	                "whole video); key_points (3 to 7); timeline (the important moments in order, each with time "
	                "in seconds from the start and a one-sentence text).");
	if (tas)
		buf_appendf(&p, "\n\nAnalysis of what is said (from the transcript):\n%s", tas);
	else
		buf_appends(&p, "\n\nThe video has no usable speech.");
	if (nframes) {
		buf_appends(&p, "\n\nWhat is seen (sampled frames):\n");
		json_array_foreach(frames, i, f) {
			const char *d = json_string_value(json_object_get(f, "description"));
			double tm = json_number_value(json_object_get(f, "time"));
			size_t dl = d ? strlen(d) : 0;
			if (per_frame && dl > per_frame) {
				dl = per_frame;
				while (dl && ((unsigned char)d[dl] & 0xC0) == 0x80)
					dl--;
			}
			buf_appendf(&p, "[%.1f s] ", tm);
			if (d)
				buf_append(&p, d, dl);
			buf_appends(&p, "\n");
		}
	}
	free(tas);
	json_t *schema = llm_schema_video(), *v = NULL;
	struct ask a = {.prompt = p.data, .schema = schema};
	int rc = ask_json(b, call, &a, &t, &v, err);
	json_decref(schema);
	buf_free(&p);
	if (rc)
		return rc;
	t.chunks = 1;
	finish_result(v, b, call, fields, &t);
	if (shortened)
		json_object_set_new(v, "notes", json_pack("[s]", "frame descriptions were shortened to fit the model's context"));
	*out = v;
	return 0;
}
