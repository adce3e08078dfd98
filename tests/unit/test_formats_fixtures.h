/*
 * test_formats_fixtures.h — the office, RTF, e-mail and table fixtures of the
 * media format tests, written at run time by tests/formats_fixtures.py into a
 * private directory under $TMPDIR (removed at exit). Header-only.
 */
#ifndef TEST_FORMATS_FIXTURES_H
#define TEST_FORMATS_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static char ff_root[512];

static void ff_cleanup(void)
{
	if (ff_root[0] && !getenv("KEEP_FIXTURES")) {
		char cmd[600];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", ff_root);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", ff_root);
	}
}

/* Writes the fixture groups (e.g. "office hostile") once; 0 on success. */
static int ff_make(const char *groups)
{
	const char *t = getenv("TMPDIR");
	snprintf(ff_root, sizeof ff_root, "%s/formats-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(ff_root))
		return -1;
	atexit(ff_cleanup);
	char cmd[1500];
	snprintf(cmd, sizeof cmd, "python3 '%s/tests/formats_fixtures.py' '%s' %s", DOSSIER_SOURCE_DIR, ff_root, groups);
	return system(cmd) == 0 ? 0 : -1;
}

/* ff_root/name in one of a few rotating static buffers. */
static const char *ff_path(const char *name)
{
	static char bufs[8][640];
	static int next;
	char *b = bufs[next++ % 8];
	snprintf(b, sizeof bufs[0], "%s/%s", ff_root, name);
	return b;
}

__attribute__((unused)) static const char *ff_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* Writes n bytes to ff_root/name. */
__attribute__((unused)) static const char *ff_write(const char *name, const void *data, size_t n)
{
	const char *p = ff_path(name);
	FILE *f = fopen(p, "wb");
	if (!f || fwrite(data, 1, n, f) != n)
		abort();
	fclose(f);
	return p;
}

#endif
