/*
 * gocompat.c — what Go's standard library would say, so the stub's errors and
 * encodings read like the real Ollama server's (which is written in Go).
 */
#include "stub.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ quoting */

void go_quote(const char *s, size_t len, char *out, size_t n)
{
	size_t o = 0;
	if (n == 0)
		return;
#define PUT(c) do { if (o + 1 < n) out[o++] = (c); } while (0)
	PUT('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			PUT('\\');
			PUT((char)c);
		} else if (c == '\n') {
			PUT('\\'); PUT('n');
		} else if (c == '\t') {
			PUT('\\'); PUT('t');
		} else if (c == '\r') {
			PUT('\\'); PUT('r');
		} else if (c < 0x20 || c == 0x7f) {
			char hex[8];
			snprintf(hex, sizeof hex, "\\x%02x", c);
			for (char *h = hex; *h; h++)
				PUT(*h);
		} else {
			PUT((char)c);
		}
	}
	PUT('"');
#undef PUT
	out[o] = '\0';
}

/* ------------------------------------------------------------ durations */

static int dur_invalid(const char *orig, char *msg, size_t msg_n)
{
	char q[256];
	go_quote(orig, strlen(orig), q, sizeof q);
	snprintf(msg, msg_n, "time: invalid duration %s", q);
	return -1;
}

int go_parse_duration(const char *orig, int64_t *out_ns, char *msg, size_t msg_n)
{
	static const struct { const char *u; uint64_t ns; } units[] = {
		{"ns", 1ull}, {"us", 1000ull}, {"\xc2\xb5s", 1000ull}, {"\xce\xbcs", 1000ull},
		{"ms", 1000000ull}, {"s", 1000000000ull}, {"m", 60000000000ull},
		{"h", 3600000000000ull},
	};
	const uint64_t lim = 1ull << 63;
	const char *s = orig;
	uint64_t d = 0;
	int neg = 0;

	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (strcmp(s, "0") == 0) {
		*out_ns = 0;
		return 0;
	}
	if (*s == '\0')
		return dur_invalid(orig, msg, msg_n);
	while (*s) {
		uint64_t v = 0, f = 0;
		double scale = 1.0;
		int pre = 0, post = 0;
		if (!(*s == '.' || isdigit((unsigned char)*s)))
			return dur_invalid(orig, msg, msg_n);
		while (isdigit((unsigned char)*s)) {
			if (v > (lim - 1) / 10)
				return dur_invalid(orig, msg, msg_n);
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > lim)
				return dur_invalid(orig, msg, msg_n);
			s++;
			pre = 1;
		}
		if (*s == '.') {
			int overflow = 0;
			s++;
			while (isdigit((unsigned char)*s)) {
				post = 1;
				if (!overflow) {
					if (f > (lim - 1) / 10) {
						overflow = 1;
					} else {
						f = f * 10 + (uint64_t)(*s - '0');
						scale *= 10;
					}
				}
				s++;
			}
		}
		if (!pre && !post)
			return dur_invalid(orig, msg, msg_n);
		size_t i = 0;
		while (s[i] && s[i] != '.' && !isdigit((unsigned char)s[i]))
			i++;
		if (i == 0) {
			char q[256];
			go_quote(orig, strlen(orig), q, sizeof q);
			snprintf(msg, msg_n, "time: missing unit in duration %s", q);
			return -1;
		}
		uint64_t unit = 0;
		for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
			if (strlen(units[k].u) == i && memcmp(units[k].u, s, i) == 0)
				unit = units[k].ns;
		if (unit == 0) {
			char qu[64], q[256];
			go_quote(s, i, qu, sizeof qu);
			go_quote(orig, strlen(orig), q, sizeof q);
			snprintf(msg, msg_n, "time: unknown unit %s in duration %s", qu, q);
			return -1;
		}
		s += i;
		if (v > lim / unit)
			return dur_invalid(orig, msg, msg_n);
		v *= unit;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > lim)
				return dur_invalid(orig, msg, msg_n);
		}
		d += v;
		if (d > lim)
			return dur_invalid(orig, msg, msg_n);
	}
	if (neg) {
		*out_ns = d == lim ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > lim - 1)
		return dur_invalid(orig, msg, msg_n);
	*out_ns = (int64_t)d;
	return 0;
}

int go_keep_alive(const json_t *v, int *is_set, int64_t *out_ns, char *msg, size_t msg_n)
{
	*is_set = 0;
	*out_ns = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_number(v)) {
		double t = json_number_value(v);
		*is_set = 1;
		if (t < 0)
			*out_ns = STUB_FOREVER_NS;
		else if (t * 1e9 >= 9.2e18)
			*out_ns = STUB_FOREVER_NS;
		else
			*out_ns = (int64_t)(t * 1e9);
		return 0;
	}
	if (json_is_string(v)) {
		int64_t d;
		if (go_parse_duration(json_string_value(v), &d, msg, msg_n) != 0)
			return -1;
		*is_set = 1;
		*out_ns = d < 0 ? STUB_FOREVER_NS : d;
		return 0;
	}
	const char *tn = json_is_boolean(v) ? "bool"
	                 : json_is_array(v) ? "[]interface {}"
	                                    : "map[string]interface {}";
	snprintf(msg, msg_n, "Unsupported type: '%s'", tn);
	return -1;
}

/* ------------------------------------------------------------ times */

static void frac9(long nsec, char *out, size_t n)
{
	if (nsec <= 0) {
		out[0] = '\0';
		return;
	}
	char d[16];
	snprintf(d, sizeof d, "%09ld", nsec);
	size_t len = strlen(d);
	while (len > 0 && d[len - 1] == '0')
		d[--len] = '\0';
	snprintf(out, n, ".%s", d);
}

void go_time_utc(const struct timespec *ts, char out[48])
{
	struct tm tm;
	char fr[16];
	time_t t = ts->tv_sec;
	gmtime_r(&t, &tm);
	frac9(ts->tv_nsec, fr, sizeof fr);
	snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fr);
}

void go_time_local(const struct timespec *ts, char out[48])
{
	struct tm tm;
	char fr[16], off[8];
	time_t t = ts->tv_sec;
	localtime_r(&t, &tm);
	frac9(ts->tv_nsec, fr, sizeof fr);
	long g = tm.tm_gmtoff;
	if (g == 0) {
		snprintf(off, sizeof off, "Z");
	} else {
		char sign = g < 0 ? '-' : '+';
		if (g < 0)
			g = -g;
		snprintf(off, sizeof off, "%c%02ld:%02ld", sign, g / 3600, (g / 60) % 60);
	}
	snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d%s%s", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, fr, off);
}

void go_human_bytes2(uint64_t b, char *out, size_t n)
{
	const double KiB = 1024.0, MiB = KiB * 1024, GiB = MiB * 1024;
	if ((double)b >= GiB)
		snprintf(out, n, "%.1f GiB", (double)b / GiB);
	else if ((double)b >= MiB)
		snprintf(out, n, "%.1f MiB", (double)b / MiB);
	else if ((double)b >= KiB)
		snprintf(out, n, "%.1f KiB", (double)b / KiB);
	else
		snprintf(out, n, "%llu B", (unsigned long long)b);
}

/* ------------------------------------------------------------ JSON syntax */

/*
 * A recursive scanner that reports errors with the same words as Go's
 * encoding/json scanner. Only the first value is checked: json.Decoder
 * stops there, so Ollama ignores trailing bytes.
 */
struct jscan {
	const char *s;
	size_t n, i;
	int depth;
	char *msg;
	size_t msg_n;
};

enum { JS_OK = 0, JS_EOF = 1, JS_ERR = 2 };

static int js_err(struct jscan *j, const char *context)
{
	unsigned char c = (unsigned char)j->s[j->i];
	char q[16];
	if (c == '\'')
		snprintf(q, sizeof q, "'\\''");
	else if (c == '"')
		snprintf(q, sizeof q, "'\"'");
	else if (c == '\n')
		snprintf(q, sizeof q, "'\\n'");
	else if (c == '\r')
		snprintf(q, sizeof q, "'\\r'");
	else if (c == '\t')
		snprintf(q, sizeof q, "'\\t'");
	else if (c < 0x20 || c == 0x7f)
		snprintf(q, sizeof q, "'\\x%02x'", c);
	else if (c >= 0x80)
		snprintf(q, sizeof q, "'\\ufffd'");
	else
		snprintf(q, sizeof q, "'%c'", c);
	snprintf(j->msg, j->msg_n, "invalid character %s %s", q, context);
	return JS_ERR;
}

static void js_ws(struct jscan *j)
{
	while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t' || j->s[j->i] == '\n' ||
	                       j->s[j->i] == '\r'))
		j->i++;
}

#define JS_NEED(j) do { if ((j)->i >= (j)->n) return JS_EOF; } while (0)

static int js_value(struct jscan *j);

static int js_string(struct jscan *j)
{
	j->i++; /* opening quote */
	for (;;) {
		JS_NEED(j);
		unsigned char c = (unsigned char)j->s[j->i];
		if (c == '"') {
			j->i++;
			return JS_OK;
		}
		if (c < 0x20)
			return js_err(j, "in string literal");
		if (c == '\\') {
			j->i++;
			JS_NEED(j);
			c = (unsigned char)j->s[j->i];
			if (c == 'u') {
				j->i++;
				for (int k = 0; k < 4; k++) {
					JS_NEED(j);
					if (!isxdigit((unsigned char)j->s[j->i]))
						return js_err(j, "in \\u hexadecimal character escape");
					j->i++;
				}
				continue;
			}
			if (!strchr("bfnrt\\/\"", c) || c == 0)
				return js_err(j, "in string escape code");
		}
		j->i++;
	}
}

static int js_digits(struct jscan *j)
{
	while (j->i < j->n && isdigit((unsigned char)j->s[j->i]))
		j->i++;
	return JS_OK;
}

static int js_number(struct jscan *j)
{
	if (j->s[j->i] == '-') {
		j->i++;
		JS_NEED(j);
		if (!isdigit((unsigned char)j->s[j->i]))
			return js_err(j, "in numeric literal");
	}
	if (j->s[j->i] == '0')
		j->i++;
	else
		js_digits(j);
	if (j->i < j->n && j->s[j->i] == '.') {
		j->i++;
		JS_NEED(j);
		if (!isdigit((unsigned char)j->s[j->i]))
			return js_err(j, "after decimal point in numeric literal");
		js_digits(j);
	}
	if (j->i < j->n && (j->s[j->i] == 'e' || j->s[j->i] == 'E')) {
		j->i++;
		JS_NEED(j);
		if (j->s[j->i] == '+' || j->s[j->i] == '-') {
			j->i++;
			JS_NEED(j);
		}
		if (!isdigit((unsigned char)j->s[j->i]))
			return js_err(j, "in exponent of numeric literal");
		js_digits(j);
	}
	return JS_OK;
}

static int js_literal(struct jscan *j, const char *word)
{
	for (size_t k = 0; word[k]; k++) {
		JS_NEED(j);
		if (j->s[j->i] != word[k]) {
			char ctx[64];
			snprintf(ctx, sizeof ctx, "in literal %s (expecting '%c')", word, word[k]);
			return js_err(j, ctx);
		}
		j->i++;
	}
	return JS_OK;
}

static int js_object(struct jscan *j)
{
	int rc;
	j->i++;
	js_ws(j);
	JS_NEED(j);
	if (j->s[j->i] == '}') {
		j->i++;
		return JS_OK;
	}
	for (;;) {
		if (j->s[j->i] != '"')
			return js_err(j, "looking for beginning of object key string");
		if ((rc = js_string(j)) != JS_OK)
			return rc;
		js_ws(j);
		JS_NEED(j);
		if (j->s[j->i] != ':')
			return js_err(j, "after object key");
		j->i++;
		if ((rc = js_value(j)) != JS_OK)
			return rc;
		js_ws(j);
		JS_NEED(j);
		if (j->s[j->i] == '}') {
			j->i++;
			return JS_OK;
		}
		if (j->s[j->i] != ',')
			return js_err(j, "after object key:value pair");
		j->i++;
		js_ws(j);
		JS_NEED(j);
	}
}

static int js_array(struct jscan *j)
{
	int rc;
	j->i++;
	js_ws(j);
	JS_NEED(j);
	if (j->s[j->i] == ']') {
		j->i++;
		return JS_OK;
	}
	for (;;) {
		if ((rc = js_value(j)) != JS_OK)
			return rc;
		js_ws(j);
		JS_NEED(j);
		if (j->s[j->i] == ']') {
			j->i++;
			return JS_OK;
		}
		if (j->s[j->i] != ',')
			return js_err(j, "after array element");
		j->i++;
	}
}

static int js_value(struct jscan *j)
{
	int rc;
	js_ws(j);
	JS_NEED(j);
	if (++j->depth > 10000) {
		snprintf(j->msg, j->msg_n, "exceeded max depth");
		return JS_ERR;
	}
	char c = j->s[j->i];
	if (c == '{')
		rc = js_object(j);
	else if (c == '[')
		rc = js_array(j);
	else if (c == '"')
		rc = js_string(j);
	else if (c == '-' || isdigit((unsigned char)c))
		rc = js_number(j);
	else if (c == 't')
		rc = js_literal(j, "true");
	else if (c == 'f')
		rc = js_literal(j, "false");
	else if (c == 'n')
		rc = js_literal(j, "null");
	else
		rc = js_err(j, "looking for beginning of value");
	j->depth--;
	return rc;
}

int go_json_check(const char *s, size_t n, size_t *value_end, char *msg, size_t msg_n)
{
	struct jscan j = {.s = s, .n = n, .i = 0, .depth = 0, .msg = msg, .msg_n = msg_n};
	js_ws(&j);
	if (j.i >= n)
		return 1;
	int rc = js_value(&j);
	if (rc == JS_EOF) {
		snprintf(msg, msg_n, "unexpected EOF");
		return -1;
	}
	if (rc != JS_OK)
		return -1;
	if (value_end)
		*value_end = j.i;
	return 0;
}

/* ------------------------------------------------------------ base64 */

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int go_base64_decode(const char *s, size_t n, unsigned char **out, size_t *out_n, char *msg,
                     size_t msg_n)
{
	unsigned char *o = malloc(n / 4 * 3 + 4);
	size_t on = 0, si = 0;
	if (!o) {
		snprintf(msg, msg_n, "out of memory");
		return -1;
	}
	while (si < n) {
		int q[4], j = 0;
		size_t qstart = si;
		(void)qstart;
		while (j < 4) {
			if (si >= n) {
				if (j == 0)
					goto done;
				free(o);
				snprintf(msg, msg_n, "illegal base64 data at input byte %zu", si - (size_t)j);
				return -1;
			}
			unsigned char c = (unsigned char)s[si];
			if (c == '\n' || c == '\r') {
				si++;
				continue;
			}
			if (c == '=') {
				/* padding: "xx==" or "xxx=" and nothing after */
				if (j < 2) {
					free(o);
					snprintf(msg, msg_n, "illegal base64 data at input byte %zu", si);
					return -1;
				}
				size_t pad_at = si;
				si++;
				if (j == 2) {
					while (si < n && (s[si] == '\n' || s[si] == '\r'))
						si++;
					if (si >= n) {
						free(o);
						snprintf(msg, msg_n, "illegal base64 data at input byte %zu", n);
						return -1;
					}
					if (s[si] != '=') {
						free(o);
						snprintf(msg, msg_n, "illegal base64 data at input byte %zu",
						         pad_at);
						return -1;
					}
					si++;
				}
				while (si < n && (s[si] == '\n' || s[si] == '\r'))
					si++;
				if (si < n) {
					free(o);
					snprintf(msg, msg_n, "illegal base64 data at input byte %zu", si);
					return -1;
				}
				o[on++] = (unsigned char)(q[0] << 2 | q[1] >> 4);
				if (j == 3)
					o[on++] = (unsigned char)((q[1] & 15) << 4 | q[2] >> 2);
				goto done;
			}
			int v = b64val(c);
			if (v < 0) {
				free(o);
				snprintf(msg, msg_n, "illegal base64 data at input byte %zu", si);
				return -1;
			}
			q[j++] = v;
			si++;
		}
		o[on++] = (unsigned char)(q[0] << 2 | q[1] >> 4);
		o[on++] = (unsigned char)((q[1] & 15) << 4 | q[2] >> 2);
		o[on++] = (unsigned char)((q[2] & 3) << 6 | q[3]);
	}
done:
	*out = o;
	*out_n = on;
	return 0;
}

/* ------------------------------------------------------------ JSON output */

char *go_json_dump(const json_t *v)
{
	char *raw = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(15));
	if (!raw)
		return NULL;
	size_t extra = 0;
	for (const char *p = raw; *p; p++) {
		if (*p == '<' || *p == '>' || *p == '&')
			extra += 5;
		else if ((unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x80 &&
		         ((unsigned char)p[2] == 0xa8 || (unsigned char)p[2] == 0xa9))
			extra += 3;
	}
	if (extra == 0)
		return raw;
	char *out = malloc(strlen(raw) + extra + 1), *o = out;
	if (!out) {
		free(raw);
		return NULL;
	}
	/* These characters can only occur inside strings, so replacing them keeps
	 * the document valid, and matches Go's HTML-safe encoder. */
	for (const char *p = raw; *p; p++) {
		if (*p == '<') {
			memcpy(o, "\\u003c", 6), o += 6;
		} else if (*p == '>') {
			memcpy(o, "\\u003e", 6), o += 6;
		} else if (*p == '&') {
			memcpy(o, "\\u0026", 6), o += 6;
		} else if ((unsigned char)p[0] == 0xe2 && (unsigned char)p[1] == 0x80 &&
		           ((unsigned char)p[2] == 0xa8 || (unsigned char)p[2] == 0xa9)) {
			memcpy(o, (unsigned char)p[2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
			o += 6;
			p += 2;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
	free(raw);
	return out;
}
