/*
 * test_media_mail.c — EML and mbox through media/mail: headers, the text
 * part (or the HTML part as text), attachments listed, a mailbox streamed
 * message by message, malformed MIME trees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/resource.h>

#include "core/err.h"
#include "core/util.h"
#include "media/mail.h"
#include "test_formats_fixtures.h"

static json_t *read_ok(const char *name)
{
	json_t *r = NULL;
	struct err e = {0};
	if (mail_extract(ff_path(name), NULL, &r, &e))
		fail_msg("%s: %s", name, e.msg);
	return r;
}

static void test_eml_headers_text_and_attachments(void **s)
{
	(void)s;
	json_t *r = read_ok("minutes.eml");
	json_t *m = json_object_get(r, "mail");
	assert_string_equal(ff_str(m, "from"), "Alice Example <alice@example.org>");
	assert_string_equal(ff_str(m, "to"), "Bob <bob@example.com>");
	assert_string_equal(ff_str(m, "cc"), "carol@example.net");
	assert_string_equal(ff_str(m, "date"), "2024-03-05T10:00:00+01:00");
	assert_string_equal(ff_str(m, "subject"), "Harbour meeting minutes");
	assert_string_equal(ff_str(m, "message_id"), "minutes-42@example.org");
	assert_string_equal(ff_str(r, "title"), "Harbour meeting minutes");
	const char *t = ff_str(r, "text");
	/* the plain part, quoted-printable Latin-1 decoded; not the HTML alternative */
	assert_non_null(strstr(t, "The meeting at the caf\xc3\xa9 is moved to Friday."));
	assert_null(strstr(t, "(html)"));
	assert_null(strstr(t, "\r"));
	assert_null(strstr(t, "Agenda of the harbour")); /* the attachment is not the mail's text */
	json_t *a = json_object_get(r, "attachments");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(ff_str(json_array_get(a, 0), "name"), "agenda.txt");
	assert_string_equal(ff_str(json_array_get(a, 0), "type"), "text/plain");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "size")), 92);
	json_decref(r);
}

static void test_html_only_mail_becomes_text(void **s)
{
	(void)s;
	json_t *r = read_ok("news.eml");
	const char *t = ff_str(r, "text");
	assert_non_null(strstr(t, "# Spring news\n\nTulips are blooming."));
	assert_null(strstr(t, "<"));
	assert_null(strstr(t, ".x{}"));
	json_decref(r);
}

static void test_mbox_every_message_in_order(void **s)
{
	(void)s;
	json_t *r = read_ok("list.mbox");
	assert_string_equal(ff_str(r, "format"), "mbox");
	assert_int_equal(json_integer_value(json_object_get(r, "messages")), 3);
	json_t *l = json_object_get(r, "message_list");
	assert_int_equal(json_array_size(l), 3);
	assert_string_equal(ff_str(json_array_get(l, 2), "subject"), "Message number 2");
	const char *t = ff_str(r, "text");
	const char *a = strstr(t, "Body of message 0"), *b = strstr(t, "Body of message 1"), *c = strstr(t, "Body of message 2");
	assert_true(a && b && c && a < b && b < c);
	json_decref(r);
}

static void test_big_mbox_streams(void **s)
{
	(void)s;
	/* 2,000 messages, one with a 30 MB attachment: read message by message */
	const char *p = ff_path("big.mbox");
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	for (int i = 0; i < 2000; i++) {
		fprintf(f, "From x@example.org Mon Jan  1 00:00:00 2024\nFrom: x@example.org\nSubject: n%d\n", i);
		if (i == 7) {
			fprintf(f, "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=B\n\n--B\nContent-Type: text/plain\n\n"
			           "has a big file\n--B\nContent-Type: application/octet-stream; name=big.bin\n"
			           "Content-Transfer-Encoding: base64\n\n");
			for (int k = 0; k < 30 * 1024 * 1024 / 57; k++)
				fputs("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB\n", f);
			fputs("--B--\n\n", f);
		} else {
			fprintf(f, "\nbody %d\n\n", i);
		}
	}
	fclose(f);
	double t0 = clock_mono_s();
	json_t *r = read_ok("big.mbox");
	assert_true(clock_mono_s() - t0 < 120); /* a hang guard, not a speed test */
	assert_int_equal(json_integer_value(json_object_get(r, "messages")), 2000);
	json_t *a = json_object_get(r, "attachments");
	assert_int_equal(json_array_size(a), 1);
	assert_string_equal(ff_str(json_array_get(a, 0), "name"), "big.bin");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(a, 0), "message")), 7);
	assert_true(json_integer_value(json_object_get(json_array_get(a, 0), "size")) > 30000000);
	assert_non_null(strstr(ff_str(r, "text"), "body 1999"));
	json_decref(r);
	/* a limit on messages */
	struct mail_limits lim = {.max_messages = 10};
	struct err e = {0};
	assert_int_equal(mail_extract(p, &lim, &r, &e), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "messages")), 10);
	assert_non_null(json_object_get(r, "notes"));
	json_decref(r);
}

static void test_malformed_mime_finishes_with_what_it_could_read(void **s)
{
	(void)s;
	double t0 = clock_mono_s();
	json_t *r = read_ok("noboundary.eml");
	assert_non_null(strstr(ff_str(r, "text"), "Just some text."));
	assert_string_equal(ff_str(r, "title"), "No boundary");
	json_decref(r);
	r = read_ok("nested.eml");
	assert_string_equal(ff_str(r, "title"), "Deep nesting");
	assert_non_null(json_object_get(r, "notes"));
	json_decref(r);
	assert_true(clock_mono_s() - t0 < 30); /* a hang guard, not a speed test */
}

static void test_not_mail(void **s)
{
	(void)s;
	json_t *r = NULL;
	struct err e = {0};
	assert_int_equal(mail_extract(ff_path("absent.eml"), NULL, &r, &e), DOSSIER_ENOTFOUND);
	assert_non_null(strstr(e.msg, "absent.eml"));
	assert_false(mail_is_mbox(ff_path("minutes.eml")));
	assert_true(mail_is_mbox(ff_path("list.mbox")));
	assert_true(mail_is_mbox(ff_write("tz.mbox", "From a@b Mon Jan  1 00:00:00 2024 +0000\nSubject: x\n\nhi\n", 55)));
	/* prose that starts with "From " is not a mailbox */
	assert_false(mail_is_mbox(ff_write("prose.txt", "From the desk of the editor, 2024\nDear reader,\n", 47)));
	assert_false(mail_is_mbox(ff_write("prose2.txt", "From here we walked on.\nIt rained.\n", 35)));
}

static int setup(void **s)
{
	(void)s;
	return ff_make("mail hostile");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_eml_headers_text_and_attachments),
		cmocka_unit_test(test_html_only_mail_becomes_text),
		cmocka_unit_test(test_mbox_every_message_in_order),
		cmocka_unit_test(test_big_mbox_streams),
		cmocka_unit_test(test_malformed_mime_finishes_with_what_it_could_read),
		cmocka_unit_test(test_not_mail),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
