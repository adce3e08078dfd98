#include "core/util.h"
#include "core/err.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <glib.h>

/* ------------------------------------------------------------------ SHA-256 */

/* GLib's GChecksum does the hashing; struct sha256 only carries it between calls. */

void sha256_init(struct sha256 *s)
{
	s->gc = g_checksum_new(G_CHECKSUM_SHA256);  /* aborts on out of memory, as GLib does */
}

void sha256_update(struct sha256 *s, const void *data, size_t n)
{
	const unsigned char *p = data;
	while (n) {
		/* g_checksum_update takes a signed length: feed huge buffers in pieces */
		size_t take = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);
		g_checksum_update(s->gc, p, (gssize)take);
		p += take;
		n -= take;
	}
}

void sha256_final_hex(struct sha256 *s, char hex[65])
{
	const gchar *h = g_checksum_get_string(s->gc);
	memcpy(hex, h, 64);
	hex[64] = '\0';
	sha256_clear(s);
}

void sha256_clear(struct sha256 *s)
{
	if (!s || !s->gc)
		return;
	g_checksum_free(s->gc);
	s->gc = NULL;
}

int sha256_file(const char *path, char hex[65], struct err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno == EACCES ? DOSSIER_EPERM : DOSSIER_EIO,
		               "%s: cannot open: %s", path, strerror(errno));
	struct sha256 s;
	unsigned char block[65536];
	sha256_init(&s);
	for (;;) {
		ssize_t n = read(fd, block, sizeof block);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return err_set(err, DOSSIER_EIO, "%s: read failed: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		sha256_update(&s, block, (size_t)n);
	}
	close(fd);
	sha256_final_hex(&s, hex);
	return 0;
}

/* ------------------------------------------------------------------- clocks */

double clock_mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t clock_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double clock_wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void time_rfc3339(double epoch_s, char out[32])
{
	time_t t = (time_t)epoch_s;
	int ms = (int)((epoch_s - (double)t) * 1000.0);
	struct tm tm;
	gmtime_r(&t, &tm);
	if (ms < 0)
		ms = 0;
	if (ms > 999)
		ms = 999;
	snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

/* -------------------------------------------------------------------- sizes */

int size_parse(const char *s, uint64_t *out)
{
	char *end;
	if (!s || !*s)
		return DOSSIER_EINVAL;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || v < 0 || !isfinite(v))
		return DOSSIER_EINVAL;
	while (*end == ' ')
		end++;
	double mul = 1;
	char u[8] = {0};
	size_t i = 0;
	while (end[i] && i < sizeof u - 1) {
		u[i] = (char)toupper((unsigned char)end[i]);
		i++;
	}
	if (end[i])
		return DOSSIER_EINVAL;
	if (!*u || !strcmp(u, "B"))
		mul = 1;
	else if (!strcmp(u, "K") || !strcmp(u, "KIB"))
		mul = 1024.0;
	else if (!strcmp(u, "M") || !strcmp(u, "MIB"))
		mul = 1024.0 * 1024;
	else if (!strcmp(u, "G") || !strcmp(u, "GIB"))
		mul = 1024.0 * 1024 * 1024;
	else if (!strcmp(u, "T") || !strcmp(u, "TIB"))
		mul = 1024.0 * 1024 * 1024 * 1024;
	else if (!strcmp(u, "KB"))
		mul = 1e3;
	else if (!strcmp(u, "MB"))
		mul = 1e6;
	else if (!strcmp(u, "GB"))
		mul = 1e9;
	else if (!strcmp(u, "TB"))
		mul = 1e12;
	else
		return DOSSIER_EINVAL;
	/* 2^64 as a double; a size at or above it does not fit (and the cast
	 * would be undefined) */
	if (v * mul + 0.5 >= 18446744073709551616.0)
		return DOSSIER_ETOOBIG;
	*out = (uint64_t)(v * mul + 0.5);
	return 0;
}

void size_format(uint64_t bytes, char *out, size_t n)
{
	if (bytes >= 1000000000ull)
		snprintf(out, n, "%.1f GB", (double)bytes / 1e9);
	else if (bytes >= 1000000ull)
		snprintf(out, n, "%.1f MB", (double)bytes / 1e6);
	else if (bytes >= 1000ull)
		snprintf(out, n, "%.1f kB", (double)bytes / 1e3);
	else
		snprintf(out, n, "%llu B", (unsigned long long)bytes);
}

uint64_t mem_total_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
	if (pages <= 0 || psize <= 0)
		return 0;
	return (uint64_t)pages * (uint64_t)psize;
}

/* -------------------------------------------------------------------- files */

int file_read_all(const char *path, size_t cap, char **out, size_t *out_len, struct err *err)
{
	*out = NULL;
	if (out_len)
		*out_len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno == EACCES ? DOSSIER_EPERM : errno == ENOENT ? DOSSIER_ENOTFOUND : DOSSIER_EIO,
		               "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) == 0 && cap && (uint64_t)st.st_size > cap) {
		close(fd);
		return err_set(err, DOSSIER_ETOOBIG, "%s: %lld bytes is more than the %zu-byte limit",
		               path, (long long)st.st_size, cap);
	}
	size_t size = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, len = 0;
	char *p = malloc(size);
	if (!p) {
		close(fd);
		return err_set(err, DOSSIER_ENOMEM, "%s: out of memory", path);
	}
	for (;;) {
		if (len + 1 >= size) {
			if (cap && len >= cap) {
				free(p);
				close(fd);
				return err_set(err, DOSSIER_ETOOBIG, "%s: larger than the %zu-byte limit", path, cap);
			}
			char *np = realloc(p, size * 2);
			if (!np) {
				free(p);
				close(fd);
				return err_set(err, DOSSIER_ENOMEM, "%s: out of memory", path);
			}
			p = np;
			size *= 2;
		}
		ssize_t n = read(fd, p + len, size - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			free(p);
			close(fd);
			return err_set(err, e == EISDIR ? DOSSIER_EUNSUPPORTED : DOSSIER_EIO,
			               "%s: read failed: %s", path, strerror(e));
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	p[len] = '\0';
	*out = p;
	if (out_len)
		*out_len = len;
	return 0;
}

int mkdir_p(const char *path, struct err *err)
{
	char *tmp = xstrdup(path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
			int e = errno;
			err_set(err, e == EACCES || e == EROFS ? DOSSIER_EPERM : DOSSIER_EIO,
			        "cannot create directory %s: %s", tmp, strerror(e));
			free(tmp);
			return err->code;
		}
		*p = '/';
	}
	int rc = 0;
	if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
		rc = err_set(err, errno == EACCES || errno == EROFS ? DOSSIER_EPERM : DOSSIER_EIO,
		             "cannot create directory %s: %s", tmp, strerror(errno));
	free(tmp);
	return rc;
}

char *path_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int slash = la && a[la - 1] != '/';
	char *p = malloc(la + lb + 2);
	if (!p)
		abort();
	memcpy(p, a, la);
	if (slash)
		p[la] = '/';
	memcpy(p + la + slash, b, lb + 1);
	return p;
}

/* ------------------------------------------------------------------ strings */

char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		abort();
	return p;
}

int strcmp_p(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int str_endswith_ci(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && strcasecmp(s + ls - lx, suffix) == 0;
}

uint32_t utf8_decode(const char *s, size_t n, size_t *len)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned c = p[0];
	size_t k;
	uint32_t cp;
	*len = 0;
	if (c < 0x80) {
		*len = 1;
		return c;
	} else if ((c & 0xE0) == 0xC0) {
		k = 2, cp = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		k = 3, cp = c & 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		k = 4, cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) || cp > 0x10FFFF ||
	    (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	*len = k;
	return cp;
}

size_t str_escape_into(const char *s, int controls, char *out, size_t cap)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), used = 0;
	if (!cap)
		return 0;
	while (n) {
		size_t len;
		utf8_decode((const char *)p, n, &len);
		int esc = len == 0;
		if (controls && len == 1 && (*p < 0x20 || *p == 0x7f) && *p != '\n' && *p != '\t')
			esc = 1;
		if (controls && len == 2 && p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)
			esc = 2; /* a C1 control: escape both bytes of its encoding as one code */
		if (esc) {
			unsigned v = esc == 2 ? p[1] : p[0];
			if (used + 4 >= cap)
				break;
			out[used++] = '\\';
			out[used++] = 'x';
			out[used++] = hex[v >> 4];
			out[used++] = hex[v & 15];
			size_t adv = esc == 2 ? 2 : 1;
			p += adv;
			n -= adv;
			continue;
		}
		if (used + len >= cap)
			break;
		memcpy(out + used, p, len);
		used += len;
		p += len;
		n -= len;
	}
	out[used] = '\0';
	return used;
}

char *utf8_repair(const char *s, size_t n)
{
	char *out = xcalloc(1, 3 * n + 1), *o = out;
	size_t i = 0, len;
	while (i < n) {
		if (s[i] == '\0') { /* a NUL would end the text early */
			i++;
			continue;
		}
		utf8_decode(s + i, n - i, &len);
		if (len) {
			memcpy(o, s + i, len);
			o += len;
			i += len;
		} else {
			memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD */
			o += 3;
			i++;
		}
	}
	*o = '\0';
	return out;
}

char *str_escape(const char *s, int controls)
{
	if (!s)
		return NULL;
	size_t cap = 4 * strlen(s) + 1;
	char *out = xcalloc(1, cap);
	str_escape_into(s, controls, out, cap);
	return out;
}

json_t *json_string_lossy(const char *s)
{
	if (!s)
		return json_null();
	if (utf8_valid(s, strlen(s)))
		return json_string(s);
	char *e = str_escape(s, 0);
	json_t *j = json_string(e);
	free(e);
	return j;
}

int utf8_valid(const char *s, size_t n)
{
	size_t i = 0, len;
	while (i < n) {
		if ((unsigned char)s[i] < 0x80) {
			i++;
			continue;
		}
		utf8_decode(s + i, n - i, &len);
		if (!len)
			return 0;
		i += len;
	}
	return 1;
}
