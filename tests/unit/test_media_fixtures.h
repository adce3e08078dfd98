/*
 * test_media_fixtures.h — fixtures for the media unit tests, generated at run
 * time with the ffmpeg CLI into a private directory under $TMPDIR (removed at
 * exit). Header-only; each test_media_*.c includes it once.
 */
#ifndef TEST_MEDIA_FIXTURES_H
#define TEST_MEDIA_FIXTURES_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char fx_root[512];

static void fx_cleanup(void)
{
	if (fx_root[0] && !getenv("KEEP_FIXTURES")) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", fx_root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", fx_root);
	}
}

/* The private fixture directory (created on first use). */
static const char *fx_dir(void)
{
	if (!fx_root[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(fx_root, sizeof fx_root, "%s/media-XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(fx_root)) {
			perror("mkdtemp");
			abort();
		}
		atexit(fx_cleanup);
	}
	return fx_root;
}

/* dir/name in one of a few rotating static buffers. */
static const char *fx_path(const char *name)
{
	static char bufs[8][640];
	static int next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof bufs[0], "%s/%s", fx_dir(), name);
	return b;
}

/* Runs `ffmpeg -nostdin -v error -y ARGS` inside the fixture dir; 0 on success. */
static int fx_ffmpeg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fx_ffmpeg(const char *fmt, ...)
{
	char args[4096], cmd[5000];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(args, sizeof args, fmt, ap);
	va_end(ap);
	snprintf(cmd, sizeof cmd, "cd '%s' && ffmpeg -nostdin -hide_banner -v error -y %s", fx_dir(), args);
	int rc = system(cmd);
	if (rc != 0)
		fprintf(stderr, "fixture command failed (%d): %s\n", rc, cmd);
	return rc;
}

static int fx_have_ffmpeg(void)
{
	return system("ffmpeg -version >/dev/null 2>&1") == 0;
}

static __attribute__((unused)) int fx_exists(const char *name)
{
	FILE *f = fopen(fx_path(name), "rb");
	if (f)
		fclose(f);
	return f != NULL;
}

static __attribute__((unused)) double fx_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Writes n bytes to dir/name. */
static __attribute__((unused)) void fx_write(const char *name, const void *data, size_t n)
{
	FILE *f = fopen(fx_path(name), "wb");
	if (!f || fwrite(data, 1, n, f) != n) {
		perror(name);
		abort();
	}
	fclose(f);
}

/* Reads dir/name into a malloc'd buffer. */
static __attribute__((unused)) unsigned char *fx_read(const char *name, size_t *len)
{
	FILE *f = fopen(fx_path(name), "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	unsigned char *p = malloc(n > 0 ? (size_t)n : 1);
	if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
		free(p);
		p = NULL;
	}
	fclose(f);
	*len = (size_t)n;
	return p;
}

/* Peak resident set (VmHWM) of this process, kB; -1 if unknown. */
static __attribute__((unused)) long fx_vmhwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;
	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

#endif
