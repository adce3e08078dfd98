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

/* ------------------------------------------------------------------ SHA-256 */

static const uint32_t K256[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
	0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
	0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
	0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
	0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
	0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
	0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(struct sha256 *s, const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, h;
	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		       (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (int i = 16; i < 64; i++) {
		uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
		uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
		w[i] = w[i - 16] + s0 + w[i - 7] + s1;
	}
	a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3];
	e = s->h[4]; f = s->h[5]; g = s->h[6]; h = s->h[7];
	for (int i = 0; i < 64; i++) {
		uint32_t t1 = h + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
		uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		h = g; g = f; f = e; e = d + t1;
		d = c; c = b; b = a; a = t1 + t2;
	}
	s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d;
	s->h[4] += e; s->h[5] += f; s->h[6] += g; s->h[7] += h;
}

void sha256_init(struct sha256 *s)
{
	static const uint32_t iv[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	                               0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
	memcpy(s->h, iv, sizeof iv);
	s->total = 0;
	s->blen = 0;
}

void sha256_update(struct sha256 *s, const void *data, size_t n)
{
	const unsigned char *p = data;
	s->total += n;
	while (n) {
		size_t take = 64 - s->blen;
		if (take > n)
			take = n;
		memcpy(s->blk + s->blen, p, take);
		s->blen += take;
		p += take;
		n -= take;
		if (s->blen == 64) {
			sha256_block(s, s->blk);
			s->blen = 0;
		}
	}
}

void sha256_final_hex(struct sha256 *s, char hex[65])
{
	uint64_t bits = s->total * 8;
	unsigned char pad = 0x80, zero = 0, len[8];
	sha256_update(s, &pad, 1);
	while (s->blen != 56)
		sha256_update(s, &zero, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)(bits >> (56 - 8 * i));
	sha256_update(s, len, 8);
	for (int i = 0; i < 8; i++)
		snprintf(hex + 8 * i, 9, "%08x", s->h[i]);
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

int utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	while (p < end) {
		unsigned c = *p;
		size_t len;
		uint32_t cp;
		if (c < 0x80) {
			p++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			len = 2; cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			len = 3; cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			len = 4; cp = c & 0x07;
		} else
			return 0;
		if ((size_t)(end - p) < len)
			return 0;
		for (size_t i = 1; i < len; i++) {
			if ((p[i] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (p[i] & 0x3F);
		}
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		p += len;
	}
	return 1;
}
