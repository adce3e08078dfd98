/* test_server_multipart.c — the upload form reader: a form read in chunks of
 * every size gives the same file; each way a form can be wrong has its own
 * error (no boundary, unclosed, long headers, long file name, too many parts,
 * junk after a boundary). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/multipart.h"

#define CT "multipart/form-data; boundary=----b0und"
#define B "----b0und"

struct seen {
	char names[8][64];
	char files[8][256];
	int has_file[8];
	char data[8][4096];
	size_t len[8];
	int n;   /* parts begun */
};

static int on_part(void *user, const char *name, const char *filename)
{
	struct seen *s = user;
	if (s->n >= 8) {
		s->n++;
		return 0;
	}
	snprintf(s->names[s->n], sizeof s->names[0], "%s", name);
	s->has_file[s->n] = filename != NULL;
	if (filename)
		snprintf(s->files[s->n], sizeof s->files[0], "%s", filename);
	s->n++;
	return 0;
}

static int on_data(void *user, const char *bytes, size_t n)
{
	struct seen *s = user;
	int i = s->n - 1;
	if (i < 0 || i >= 8)
		return 0;
	assert_true(s->len[i] + n < sizeof s->data[0]);
	memcpy(s->data[i] + s->len[i], bytes, n);
	s->len[i] += n;
	return 0;
}

static const struct mp_callbacks cb = {.part = on_part, .data = on_data};

/* Feeds body in chunks of `chunk` bytes; returns mp_end's (or the first) error. */
static int read_form(const char *ct, const char *body, size_t n, size_t chunk, struct seen *s)
{
	memset(s, 0, sizeof *s);
	mp *m;
	assert_int_equal(mp_new(ct, &cb, s, &m), 0);
	int rc = MP_OK;
	for (size_t off = 0; off < n && rc == MP_OK; off += chunk)
		rc = mp_feed(m, body + off, off + chunk > n ? n - off : chunk);
	if (rc == MP_OK)
		rc = mp_end(m);
	mp_free(m);
	return rc;
}

static const char form[] =
	"preamble to ignore\r\n"
	"--" B "\r\n"
	"Content-Disposition: form-data; name=\"note\"\r\n"
	"\r\n"
	"a field value\r\n"
	"--" B "\r\n"
	"content-disposition: form-data; name=\"file\"; filename=\"say \\\"hi\\\".txt\"\r\n"
	"Content-Type: text/plain\r\n"
	"\r\n"
	"line one\r\n------b0un is not a delimiter\r\n\r\n--not one either\r\nend"
	"\r\n--" B "--\r\n"
	"epilogue to ignore";

static const char file_bytes[] = "line one\r\n------b0un is not a delimiter\r\n\r\n--not one either\r\nend";

static void a_form_read_in_chunks_of_any_size_gives_the_same_parts(void **state)
{
	(void)state;
	struct seen s;
	for (size_t chunk = 1; chunk <= sizeof form; chunk++) {
		assert_int_equal(read_form(CT, form, sizeof form - 1, chunk, &s), MP_OK);
		assert_int_equal(s.n, 2);
		assert_string_equal(s.names[0], "note");
		assert_false(s.has_file[0]);
		assert_int_equal(s.len[0], strlen("a field value"));
		assert_memory_equal(s.data[0], "a field value", s.len[0]);
		assert_string_equal(s.names[1], "file");
		assert_true(s.has_file[1]);
		assert_string_equal(s.files[1], "say \"hi\".txt");
		assert_int_equal(s.len[1], sizeof file_bytes - 1);
		assert_memory_equal(s.data[1], file_bytes, s.len[1]);
	}
}

static void a_content_type_without_a_usable_boundary_is_refused(void **state)
{
	(void)state;
	mp *m = (mp *)1;
	assert_int_equal(mp_new("multipart/form-data", &cb, NULL, &m), -1);
	assert_null(m);
	assert_int_equal(mp_new("multipart/form-data; boundary=", &cb, NULL, &m), -1);
	char ct[200];
	snprintf(ct, sizeof ct, "multipart/form-data; boundary=%071d", 7);
	assert_int_equal(mp_new(ct, &cb, NULL, &m), -1);
	assert_int_equal(mp_new("multipart/form-data; charset=x; boundary=\"quoted b\"", &cb, NULL, &m), 0);
	mp_free(m);
}

static void a_body_cut_short_is_unclosed_and_one_without_its_boundary_says_so(void **state)
{
	(void)state;
	struct seen s;
	const char cut[] = "--" B "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nhalf a fi";
	assert_int_equal(read_form(CT, cut, sizeof cut - 1, 7, &s), MP_E_UNCLOSED);
	const char nodelim[] = "--" B "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--" B;
	assert_int_equal(read_form(CT, nodelim, sizeof nodelim - 1, 100, &s), MP_E_UNCLOSED);
	const char other[] = "--another\r\n\r\nx\r\n--another--\r\n";
	assert_int_equal(read_form(CT, other, sizeof other - 1, 100, &s), MP_E_NOPART);
	assert_non_null(strstr(mp_message(MP_E_UNCLOSED), "closing boundary"));
}

/* A form whose one part has `pad` bytes of extra header, or a file name of
 * `name_len` bytes. */
static char *big_form(size_t pad, size_t name_len, size_t *n)
{
	size_t cap = pad + name_len + 512;
	char *b = malloc(cap), *p = b;
	p += sprintf(p, "--" B "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"");
	memset(p, 'n', name_len);
	p += name_len;
	p += sprintf(p, ".txt\"\r\n");
	if (pad) {
		p += sprintf(p, "X-Pad: ");
		memset(p, 'p', pad);
		p += pad;
		p += sprintf(p, "\r\n");
	}
	p += sprintf(p, "\r\nhello\r\n--" B "--\r\n");
	*n = (size_t)(p - b);
	return b;
}

static void long_headers_and_long_file_names_have_their_own_errors(void **state)
{
	(void)state;
	struct seen s;
	size_t n;
	char *b = big_form(60000, 5, &n);
	assert_int_equal(read_form(CT, b, n, 4096, &s), MP_E_HEADERS);
	free(b);
	b = big_form(0, 70000, &n);
	assert_int_equal(read_form(CT, b, n, 4096, &s), MP_E_NAME);
	free(b);
	b = big_form(0, MP_NAME_MAX + 1, &n); /* fits the header block, not the name cap */
	assert_int_equal(read_form(CT, b, n, 4096, &s), MP_E_NAME);
	free(b);
	b = big_form(MP_HEADERS_MAX - 2000, MP_NAME_MAX - 4, &n); /* both just within */
	assert_int_equal(read_form(CT, b, n, 333, &s), MP_OK);
	assert_int_equal(strlen(s.files[0]), 255); /* the test keeps 255 bytes of it */
	assert_int_equal(s.len[0], 5);
	free(b);
	assert_non_null(strstr(mp_message(MP_E_NAME), "file name too long"));
}

/* Feeds body in two pieces, cut at `at`. */
static int read_split(const char *body, size_t n, size_t at, struct seen *s)
{
	memset(s, 0, sizeof *s);
	mp *m;
	assert_int_equal(mp_new(CT, &cb, s, &m), 0);
	int rc = mp_feed(m, body, at);
	if (rc == MP_OK)
		rc = mp_feed(m, body + at, n - at);
	if (rc == MP_OK)
		rc = mp_end(m);
	mp_free(m);
	return rc;
}

/* Every way of cutting body gives `want`: whole, in chunks of 1 to 70 bytes
 * and of 4 KB, and in two pieces cut anywhere. */
static void one_verdict_however_split(const char *body, size_t n, int want)
{
	struct seen s;
	assert_int_equal(read_form(CT, body, n, n, &s), want);
	for (size_t chunk = 1; chunk <= 70; chunk++)
		assert_int_equal(read_form(CT, body, n, chunk, &s), want);
	assert_int_equal(read_form(CT, body, n, 4096, &s), want);
	for (size_t at = 0; at <= n; at++)
		assert_int_equal(read_split(body, n, at, &s), want);
}

/* One part: `pad` bytes of an X-Pad header, then a Content-Disposition line
 * with `junk` bytes of another parameter before a file name of `name_len`. */
static char *capped_form(size_t pad, size_t junk, size_t name_len, size_t *n)
{
	char *b = malloc(pad + junk + name_len + 512), *p = b;
	p += sprintf(p, "--" B "\r\n");
	if (pad) {
		p += sprintf(p, "X-Pad: ");
		memset(p, 'p', pad);
		p += pad;
		p += sprintf(p, "\r\n");
	}
	p += sprintf(p, "Content-Disposition: form-data; name=\"file\"; x=\"");
	memset(p, 'j', junk);
	p += junk;
	p += sprintf(p, "\"; filename=\"");
	memset(p, 'n', name_len);
	p += name_len;
	p += sprintf(p, "\"\r\n\r\nhello\r\n--" B "--\r\n");
	*n = (size_t)(p - b);
	return b;
}

static void the_verdict_on_long_headers_does_not_depend_on_the_chunks(void **state)
{
	(void)state;
	size_t n;
	/* the header cap is passed before the (long) file name begins: the headers
	 * are too long, whether or not the rest of the line has arrived (the fuzz
	 * find: whole it said "file name too long", in 4-byte chunks "headers") */
	char *b = capped_form(0, MP_HEADERS_MAX, MP_NAME_MAX + 100, &n);
	one_verdict_however_split(b, n, MP_E_HEADERS);
	free(b);
	/* the file name passes its cap before the block does: the name */
	b = capped_form(0, 100, 3 * MP_NAME_MAX, &n);
	one_verdict_however_split(b, n, MP_E_NAME);
	free(b);
	/* the block's cap comes first, 600 bytes into a 2 KB name: the headers */
	b = capped_form(MP_HEADERS_MAX - 700, 0, 2 * MP_NAME_MAX, &n);
	one_verdict_however_split(b, n, MP_E_HEADERS);
	free(b);
	/* lines of exactly MP_HEADERS_MAX bytes with their line breaks: one too
	 * many (a cut just after a line's '\r' once counted it as a byte of the
	 * line), and one byte less is fine */
	size_t line = strlen("Content-Disposition: form-data; name=\"file\"; x=\"\"; filename=\"\"") + 5;
	b = capped_form(MP_HEADERS_MAX - strlen("X-Pad: ") - 2 - line, 0, 5, &n);
	one_verdict_however_split(b, n, MP_E_HEADERS);
	free(b);
	b = capped_form(MP_HEADERS_MAX - strlen("X-Pad: ") - 2 - line - 1, 0, 5, &n);
	one_verdict_however_split(b, n, MP_OK);
	free(b);
}

static void too_many_parts_and_junk_after_a_boundary_are_errors(void **state)
{
	(void)state;
	struct seen s;
	size_t cap = 128 * (MP_PARTS_MAX + 2), n = 0;
	char *b = malloc(cap);
	for (int i = 0; i <= MP_PARTS_MAX; i++)
		n += (size_t)sprintf(b + n, "--" B "\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
	n += (size_t)sprintf(b + n, "--" B "--\r\n");
	assert_int_equal(read_form(CT, b, n, 1000, &s), MP_E_PARTS);
	/* exactly the cap is fine */
	n = 0;
	for (int i = 0; i < MP_PARTS_MAX; i++)
		n += (size_t)sprintf(b + n, "--" B "\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i);
	n += (size_t)sprintf(b + n, "--" B "--\r\n");
	assert_int_equal(read_form(CT, b, n, 1000, &s), MP_OK);
	free(b);
	const char junk[] = "--" B "junk\r\n\r\nx\r\n--" B "--\r\n";
	assert_int_equal(read_form(CT, junk, sizeof junk - 1, 3, &s), MP_E_SYNTAX);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_form_read_in_chunks_of_any_size_gives_the_same_parts),
		cmocka_unit_test(a_content_type_without_a_usable_boundary_is_refused),
		cmocka_unit_test(a_body_cut_short_is_unclosed_and_one_without_its_boundary_says_so),
		cmocka_unit_test(long_headers_and_long_file_names_have_their_own_errors),
		cmocka_unit_test(the_verdict_on_long_headers_does_not_depend_on_the_chunks),
		cmocka_unit_test(too_many_parts_and_junk_after_a_boundary_are_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
