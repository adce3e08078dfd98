/*
 * test_backends_stub.h — starts the Ollama test server (tests/ollama_stub,
 * binary DOSSIER_BINARY_DIR/ollama-stub) on a free port for one test, and
 * talks to its /_stub/ control endpoints. Included by the unit tests that need
 * a real HTTP Ollama; header-only so each test stays one executable.
 */
#ifndef DOSSIER_TEST_BACKENDS_STUB_H
#define DOSSIER_TEST_BACKENDS_STUB_H

#include "core/buf.h"

#include <curl/curl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

struct stub {
	pid_t pid;      /* the stub process */
	int port;       /* where it listens */
	char url[64];   /* http://127.0.0.1:PORT */
};

/* Starts the stub with extra flags (NULL-terminated list, may be NULL).
 * Returns 0, or -1 if it did not say "listening on" within 10 s. */
static inline int stub_start(struct stub *s, const char *const *extra)
{
	int fd[2];
	const char *argv[32] = {DOSSIER_BINARY_DIR "/ollama-stub", "--listen", "127.0.0.1:0"};
	int n = 3;
	for (int i = 0; extra && extra[i] && n < 30; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	if (pipe(fd))
		return -1;
	s->pid = fork();
	if (s->pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(fd[1]);
	FILE *f = fdopen(fd[0], "r");
	char line[256];
	s->port = 0;
	/* the stub prints its address once it accepts connections */
	while (fgets(line, sizeof line, f)) {
		const char *p = strstr(line, "listening on 127.0.0.1:");
		if (p) {
			s->port = atoi(p + strlen("listening on 127.0.0.1:"));
			break;
		}
	}
	fclose(f);
	if (!s->port) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		return -1;
	}
	snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
	return 0;
}

static inline void stub_stop(struct stub *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

static inline size_t stub_write_(char *d, size_t sz, size_t n, void *ud)
{
	return buf_append(ud, d, sz * n) ? 0 : sz * n;
}

/* GET (body NULL) or POST a control endpoint; returns the parsed reply or NULL. */
static inline json_t *stub_call(const struct stub *s, const char *path, const char *body)
{
	char url[256];
	struct buf b;
	buf_init(&b, 64u * 1024u * 1024u);
	snprintf(url, sizeof url, "%s%s", s->url, path);
	CURL *h = curl_easy_init();
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, stub_write_);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	if (body)
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	CURLcode cc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	json_t *j = cc == CURLE_OK && b.data ? json_loads(b.data, JSON_DECODE_ANY, NULL) : NULL;
	buf_free(&b);
	return j;
}

/* Injects a fault (see tests/ollama_stub/fault.c for the kinds). */
static inline void stub_fault(const struct stub *s, const char *json_body)
{
	json_decref(stub_call(s, "/_stub/fault", json_body));
}

/* The recorded requests whose path is `path` (new array; caller decrefs). */
static inline json_t *stub_requests(const struct stub *s, const char *path)
{
	json_t *all = stub_call(s, "/_stub/requests", NULL), *out = json_array(), *r;
	size_t i;
	json_array_foreach(all, i, r) {
		const char *p = json_string_value(json_object_get(r, "path"));
		if (p && !strcmp(p, path))
			json_array_append(out, r);
	}
	json_decref(all);
	return out;
}

/* A TCP port nothing listens on (bound, then closed). */
static inline int closed_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t l = sizeof a;
	bind(fd, (struct sockaddr *)&a, sizeof a);
	getsockname(fd, (struct sockaddr *)&a, &l);
	close(fd);
	return ntohs(a.sin_port);
}

#endif
