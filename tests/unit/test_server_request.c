/* test_server_request.c — the guards of the request path without a socket
 * (request_guard): which Host names are answered with and without a token,
 * changes from another site, the token in a header or the query; and the
 * replies they give (status, JSON error, WWW-Authenticate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/internal.h"

struct hdrs {
	const char *host, *origin, *sfs, *auth, *token;
};

static const char *get(void *user, const char *name)
{
	struct hdrs *h = user;
	if (!strcasecmp(name, "Host"))
		return h->host;
	if (!strcasecmp(name, "Origin"))
		return h->origin;
	if (!strcasecmp(name, "Sec-Fetch-Site"))
		return h->sfs;
	if (!strcasecmp(name, "Authorization"))
		return h->auth;
	return NULL;
}

static const char *query(void *user, const char *key)
{
	struct hdrs *h = user;
	return !strcmp(key, "token") ? h->token : NULL;
}

static server srv;

/* The status request_guard answers (0 = passed); the error text into msg. */
static unsigned guard(const char *method, struct hdrs h, char *msg, size_t n)
{
	struct req_in rq = {.method = method, .header = get, .query = query, .user = &h};
	struct reply_out o = {0};
	unsigned status = request_guard(&srv, &rq, 0, &o) ? o.status : 0;
	if (msg) {
		const char *e = json_string_value(json_object_get(o.body, "error"));
		snprintf(msg, n, "%s", e ? e : "");
	}
	if (status == 401)
		assert_true(o.www_authenticate);
	reply_out_clear(&o);
	return status;
}

static int setup(void **state)
{
	(void)state;
	memset(&srv, 0, sizeof srv);
	pthread_mutex_init(&srv.m.mu, NULL);
	srv.port = 8080;
	snprintf(srv.url, sizeof srv.url, "http://127.0.0.1:8080");
	return 0;
}

static void without_a_token_only_loopback_names_on_our_port_are_answered(void **state)
{
	(void)state;
	char msg[1024];
	assert_int_equal(guard("GET", (struct hdrs){.host = "127.0.0.1:8080"}, NULL, 0), 0);
	assert_int_equal(guard("GET", (struct hdrs){.host = "localhost:8080"}, NULL, 0), 0);
	assert_int_equal(guard("GET", (struct hdrs){.host = "[::1]:8080"}, NULL, 0), 0);
	assert_int_equal(guard("GET", (struct hdrs){.host = "127.0.0.1:8081"}, NULL, 0), 421);
	assert_int_equal(guard("GET", (struct hdrs){.host = "192.168.1.20:8080"}, NULL, 0), 421);
	assert_int_equal(guard("GET", (struct hdrs){.host = "evil.example:8080"}, msg, sizeof msg), 421);
	assert_non_null(strstr(msg, "DNS rebinding"));
	assert_non_null(strstr(msg, "evil.example"));
	/* a name the client controls is shown as printable text */
	assert_int_equal(guard("GET", (struct hdrs){.host = "ev\x1b[2Jil\xff"}, msg, sizeof msg), 421);
	assert_null(strchr(msg, '\x1b'));
	assert_non_null(strstr(msg, "\\x1b"));
	assert_int_equal(srv.m.refused_host, 4);
}

static void with_a_token_ip_addresses_pass_and_names_still_need_allow_host(void **state)
{
	(void)state;
	snprintf(srv.token, sizeof srv.token, "s3cret");
	struct hdrs ok = {.host = "192.168.1.20:8080", .auth = "Bearer s3cret"};
	assert_int_equal(guard("GET", ok, NULL, 0), 0);
	ok.host = "[fd00::7]:8080";
	assert_int_equal(guard("GET", ok, NULL, 0), 0);
	ok.host = "192.168.1.20:9999"; /* another port: not us */
	assert_int_equal(guard("GET", ok, NULL, 0), 421);
	ok.host = "files.lan:8080";
	assert_int_equal(guard("GET", ok, NULL, 0), 421);
	snprintf(srv.allow_hosts, sizeof srv.allow_hosts, "files.lan");
	assert_int_equal(guard("GET", ok, NULL, 0), 0);
	srv.allow_hosts[0] = '\0';
	/* the token: in the header, in the query, or missing */
	char msg[1024];
	assert_int_equal(guard("GET", (struct hdrs){.host = "10.0.0.2:8080"}, msg, sizeof msg), 401);
	assert_non_null(strstr(msg, "Authorization: Bearer TOKEN"));
	assert_int_equal(guard("GET", (struct hdrs){.host = "10.0.0.2:8080", .auth = "Bearer s3cre"}, NULL, 0), 401);
	assert_int_equal(guard("GET", (struct hdrs){.host = "10.0.0.2:8080", .auth = "Bearer  s3cret "}, NULL, 0), 0);
	assert_int_equal(guard("GET", (struct hdrs){.host = "10.0.0.2:8080", .token = "s3cret"}, NULL, 0), 0);
	srv.token[0] = '\0';
}

static void changes_from_another_site_are_refused(void **state)
{
	(void)state;
	char msg[1024];
	struct hdrs h = {.host = "127.0.0.1:8080", .origin = "http://evil.example"};
	assert_int_equal(guard("POST", h, msg, sizeof msg), 403);
	assert_non_null(strstr(msg, "another site"));
	assert_int_equal(guard("DELETE", h, NULL, 0), 403);
	assert_int_equal(guard("GET", h, NULL, 0), 0); /* reading is the browser's to keep from the page */
	h.origin = "http://127.0.0.1:8080"; /* our own page */
	assert_int_equal(guard("POST", h, NULL, 0), 0);
	h.origin = "null";
	assert_int_equal(guard("POST", h, NULL, 0), 403);
	h.origin = NULL;
	h.sfs = "same-site";
	assert_int_equal(guard("POST", h, NULL, 0), 403);
	h.sfs = "same-origin";
	assert_int_equal(guard("POST", h, NULL, 0), 0);
	assert_int_equal(guard("POST", (struct hdrs){.host = "127.0.0.1:8080"}, NULL, 0), 0); /* curl */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(without_a_token_only_loopback_names_on_our_port_are_answered, setup),
		cmocka_unit_test_setup(with_a_token_ip_addresses_pass_and_names_still_need_allow_host, setup),
		cmocka_unit_test_setup(changes_from_another_site_are_refused, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
