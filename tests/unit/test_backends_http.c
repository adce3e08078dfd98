/* The shared HTTP transport against a scripted one-connection server in a
 * thread: a kept body and its cap, a streamed body in pieces, an error body
 * kept only at its start, the first-byte and idle deadlines, the cancel flag,
 * and a refused connection. */
#include "backends/http.h"
#include "core/err.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <cmocka.h>

/* ------------------------------------------------------- scripted server */

struct script {
	int status;           /* HTTP status to answer */
	int delay_first_ms;   /* before the status line */
	const char *chunks[8];/* body pieces, sent in order */
	int gap_ms;           /* between pieces */
	size_t filler;        /* bytes of 'x' appended after the pieces */
};

struct server {
	int fd;
	int port;
	struct script sc;
	pthread_t t;
	char request[4096];   /* what the client sent (start) */
};

static void sleep_ms(int ms)
{
	usleep((useconds_t)ms * 1000);
}

static void *serve(void *arg)
{
	struct server *s = arg;
	int c = accept(s->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	/* read the whole request (until the client pauses), so closing does not reset it */
	struct timeval tv = {.tv_sec = 0, .tv_usec = 200 * 1000};
	setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	size_t have = 0;
	char sink[4096];
	for (;;) {
		char *to = have < sizeof s->request - 1 ? s->request + have : sink;
		size_t room = have < sizeof s->request - 1 ? sizeof s->request - 1 - have : sizeof sink;
		ssize_t n = recv(c, to, room, 0);
		if (n <= 0)
			break;
		if (to != sink)
			have += (size_t)n;
	}
	s->request[have] = '\0';
	sleep_ms(s->sc.delay_first_ms);
	char hdr[256];
	int hl = snprintf(hdr, sizeof hdr, "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n",
	                  s->sc.status);
	if (send(c, hdr, (size_t)hl, MSG_NOSIGNAL) < 0)
		goto out;
	for (int i = 0; i < 8 && s->sc.chunks[i]; i++) {
		if (i && s->sc.gap_ms)
			sleep_ms(s->sc.gap_ms);
		if (send(c, s->sc.chunks[i], strlen(s->sc.chunks[i]), MSG_NOSIGNAL) < 0)
			goto out;
	}
	if (s->sc.filler) {
		char *x = malloc(s->sc.filler);
		memset(x, 'x', s->sc.filler);
		ssize_t w = send(c, x, s->sc.filler, MSG_NOSIGNAL);
		(void)w;
		free(x);
	}
out:
	close(c);
	return NULL;
}

static void server_start(struct server *s, const struct script *sc)
{
	memset(s, 0, sizeof *s);
	s->sc = *sc;
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(s->fd, 1), 0);
	getsockname(s->fd, (struct sockaddr *)&a, &al);
	s->port = ntohs(a.sin_port);
	pthread_create(&s->t, NULL, serve, s);
}

static void server_stop(struct server *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->t, NULL);
	close(s->fd);
}

static void request_for(struct http_request *rq, const struct server *s, char *url, size_t n)
{
	snprintf(url, n, "http://127.0.0.1:%d/api/x", s->port);
	http_request_default(rq);
	rq->url = url;
	rq->connect_timeout_ms = 2000;
}

/* ------------------------------------------------------------------ tests */

static void test_kept_body_and_posted_bytes(void **st)
{
	struct server s;
	server_start(&s, &(struct script){.status = 200, .chunks = {"{\"ok\":", "true}"}});
	char url[64];
	struct http_request rq;
	request_for(&rq, &s, url, sizeof url);
	rq.body = "{\"q\":1}";
	rq.body_len = 7;
	struct http_result res;
	struct err e = {0};
	assert_int_equal(http_run(&rq, &res, &e), 0);
	server_stop(&s);
	assert_int_equal(res.status, 200);
	assert_int_equal(res.fail, HTTP_FAIL_NONE);
	assert_string_equal(res.body.data, "{\"ok\":true}");
	assert_non_null(strstr(s.request, "POST /api/x"));
	assert_non_null(strstr(s.request, "Content-Type: application/json"));
	http_result_free(&res);
}

static void test_form_parts_go_as_multipart(void **st)
{
	char path[] = "/tmp/dossier-http-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "RIFFdata", 8), 8);
	close(fd);
	struct server s;
	server_start(&s, &(struct script){.status = 200, .chunks = {"{}"}});
	char url[64];
	struct http_request rq;
	request_for(&rq, &s, url, sizeof url);
	const struct http_form_part form[] = {
		{.name = "file", .file = path, .filename = "audio.wav", .type = "audio/wav"},
		{.name = "model", .value = "whisper-1"},
	};
	rq.form = form;
	rq.n_form = 2;
	struct http_result res;
	struct err e = {0};
	assert_int_equal(http_run(&rq, &res, &e), 0);
	server_stop(&s);
	unlink(path);
	assert_int_equal(res.status, 200);
	assert_non_null(strstr(s.request, "POST /api/x"));
	assert_non_null(strstr(s.request, "multipart/form-data; boundary="));
	assert_null(strstr(s.request, "application/json"));
	http_result_free(&res);
}

static void test_kept_body_over_cap_is_toobig(void **st)
{
	struct server s;
	server_start(&s, &(struct script){.status = 200, .filler = 5000});
	char url[64];
	struct http_request rq;
	request_for(&rq, &s, url, sizeof url);
	rq.body_cap = 1000;
	struct http_result res;
	struct err e = {0};
	assert_int_equal(http_run(&rq, &res, &e), DOSSIER_ETOOBIG);
	server_stop(&s);
	assert_int_equal(res.fail, HTTP_FAIL_CALLBACK);
	assert_non_null(strstr(e.msg, "1000-byte cap"));
	http_result_free(&res);
}

struct gathered {
	char data[256];
	size_t len;
	int calls;
	int stop_rc;
};

static int gather(void *ud, const char *data, size_t n)
{
	struct gathered *g = ud;
	g->calls++;
	memcpy(g->data + g->len, data, n);
	g->len += n;
	g->data[g->len] = '\0';
	return g->stop_rc;
}

static void test_streamed_body_reaches_the_callback(void **st)
{
	struct server s;
	server_start(&s, &(struct script){.status = 200, .chunks = {"one\n", "two\n", "three\n"}, .gap_ms = 50});
	char url[64];
	struct http_request rq;
	request_for(&rq, &s, url, sizeof url);
	struct gathered g = {0};
	rq.on_data = gather;
	rq.user_data = &g;
	rq.idle_ms = 2000;
	struct http_result res;
	struct err e = {0};
	assert_int_equal(http_run(&rq, &res, &e), 0);
	server_stop(&s);
	assert_string_equal(g.data, "one\ntwo\nthree\n");
	assert_true(g.calls >= 2); /* pieces arrive apart */
	assert_int_equal(res.body.len, 0);
	http_result_free(&res);
}

static void test_callback_code_stops_the_transfer(void **st)
{
	struct server s;
	server_start(&s, &(struct script){.status = 200, .chunks = {"a", "b"}, .gap_ms = 50});
	char url[64];
	struct http_request rq;
	request_for(&rq, &s, url, sizeof url);
	struct gathered g = {.stop_rc = DOSSIER_EAGAIN};
	rq.on_data = gather;
	rq.user_data = &g;
	struct http_result res;
	struct err e = {0};
	assert_int_equal(http_run(&rq, &res, &e), DOSSIER_EAGAIN);
	server_stop(&s);
	assert_int_equal(res.fail, HTTP_FAIL_CALLBACK);
	assert_int_equal(g.calls, 1);
	http_result_free(&res);
}

static void test_error_body_is_kept_only_at_its_start(void **st)
{
	struct server s;
	server_start(&s, &(struct script){.status = 500, .chunks = {"{\"error\":\"boom\"}"}, .filler = 200000});
	char url[64];
	struct http_request rq;
	request_for(&rq, &s, url, sizeof url);
	struct gathered g = {0};
	rq.on_data = gather; /* not called for a non-2xx reply */
	rq.user_data = &g;
	rq.error_cap = 1024;
	struct http_result res;
	struct err e = {0};
	assert_int_equal(http_run(&rq, &res, &e), 0);
	server_stop(&s);
	assert_int_equal(res.status, 500);
	assert_int_equal(g.calls, 0);
	assert_true(res.body.len <= 1024);
	assert_int_equal(strncmp(res.body.data, "{\"error\":\"boom\"}", 16), 0);
	http_result_free(&res);
}

static void test_first_byte_deadline(void **st)
{
	struct server s;
	server_start(&s, &(struct script){.status = 200, .delay_first_ms = 3000, .chunks = {"late"}});
	char url[64];
	struct http_request rq;
	request_for(&rq, &s, url, sizeof url);
	rq.first_byte_ms = 300;
	struct http_result res;
	struct err e = {0};
	double t0 = clock_mono_s();
	assert_int_equal(http_run(&rq, &res, &e), DOSSIER_ETIMEOUT);
	assert_true(clock_mono_s() - t0 < 2.5);
	assert_int_equal(res.fail, HTTP_FAIL_FIRST_BYTE);
	server_stop(&s);
	http_result_free(&res);
}

static void test_idle_deadline_between_chunks(void **st)
{
	struct server s;
	server_start(&s, &(struct script){.status = 200, .chunks = {"a", "b"}, .gap_ms = 3000});
	char url[64];
	struct http_request rq;
	request_for(&rq, &s, url, sizeof url);
	struct gathered g = {0};
	rq.on_data = gather;
	rq.user_data = &g;
	rq.first_byte_ms = 5000;
	rq.idle_ms = 300;
	struct http_result res;
	struct err e = {0};
	double t0 = clock_mono_s();
	assert_int_equal(http_run(&rq, &res, &e), DOSSIER_ETIMEOUT);
	assert_true(clock_mono_s() - t0 < 2.5);
	assert_int_equal(res.fail, HTTP_FAIL_IDLE);
	assert_string_equal(g.data, "a");
	server_stop(&s);
	http_result_free(&res);
}

static volatile int cancel_flag;

static void *cancel_later(void *arg)
{
	sleep_ms(200);
	cancel_flag = 1;
	return NULL;
}

static void test_cancel_flag_aborts(void **st)
{
	struct server s;
	server_start(&s, &(struct script){.status = 200, .delay_first_ms = 3000, .chunks = {"late"}});
	char url[64];
	struct http_request rq;
	request_for(&rq, &s, url, sizeof url);
	cancel_flag = 0;
	rq.cancel = &cancel_flag;
	pthread_t t;
	pthread_create(&t, NULL, cancel_later, NULL);
	struct http_result res;
	struct err e = {0};
	double t0 = clock_mono_s();
	assert_int_equal(http_run(&rq, &res, &e), DOSSIER_ECANCELLED);
	assert_true(clock_mono_s() - t0 < 2.5);
	assert_int_equal(res.fail, HTTP_FAIL_CANCEL);
	pthread_join(t, NULL);
	server_stop(&s);
	http_result_free(&res);
}

static void test_refused_connection_is_unavailable(void **st)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof a;
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &al);
	close(fd); /* nobody listens there now */
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/x", ntohs(a.sin_port));
	struct http_request rq;
	http_request_default(&rq);
	rq.url = url;
	struct http_result res;
	struct err e = {0};
	assert_int_equal(http_run(&rq, &res, &e), DOSSIER_EUNAVAILABLE);
	assert_int_equal(res.fail, HTTP_FAIL_CONNECT);
	assert_non_null(strstr(e.msg, url));
	http_result_free(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kept_body_and_posted_bytes),
		cmocka_unit_test(test_form_parts_go_as_multipart),
		cmocka_unit_test(test_kept_body_over_cap_is_toobig),
		cmocka_unit_test(test_streamed_body_reaches_the_callback),
		cmocka_unit_test(test_callback_code_stops_the_transfer),
		cmocka_unit_test(test_error_body_is_kept_only_at_its_start),
		cmocka_unit_test(test_first_byte_deadline),
		cmocka_unit_test(test_idle_deadline_between_chunks),
		cmocka_unit_test(test_cancel_flag_aborts),
		cmocka_unit_test(test_refused_connection_is_unavailable),
	};
	http_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
