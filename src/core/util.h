/*
 * util.h — small helpers shared by every layer: hashing, clocks, sizes, files.
 * All functions are thread safe.
 */
#ifndef DOSSIER_CORE_UTIL_H
#define DOSSIER_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

struct err;

/* ---- SHA-256 (GLib's GChecksum) ----
 *   struct sha256 h; sha256_init(&h); sha256_update(&h, p, n); ...; sha256_final_hex(&h, hex);
 * A hash that is abandoned before sha256_final_hex is released with sha256_clear. */
struct sha256 {
	struct _GChecksum *gc;  /* owned; made by sha256_init, freed by sha256_final_hex/sha256_clear */
};
void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t n);
/* Writes 64 lower-case hex digits and a NUL into hex, and releases the state
 * (sha256_init starts a new hash). */
void sha256_final_hex(struct sha256 *s, char hex[65]);
/* Releases an unfinished hash. NULL, a finished or a zeroed struct is a no-op. */
void sha256_clear(struct sha256 *s);
/* Hashes a whole file, streaming in 64 KiB blocks. */
int sha256_file(const char *path, char hex[65], struct err *err);

/* ---- clocks ---- */
double clock_mono_s(void);                 /* monotonic seconds */
int64_t clock_mono_ms(void);
double clock_wall_s(void);                 /* seconds since the epoch */
/* RFC 3339 UTC time with milliseconds, e.g. 2026-11-29T06:48:39.123Z. */
void time_rfc3339(double epoch_s, char out[32]);

/* ---- sizes ---- */
/* Parses "16G", "6.5GB", "512MiB", "1000000" (bytes). Decimal units are powers of
 * 1000, binary (KiB, MiB, GiB) of 1024; a bare G/M/K means GiB/MiB/KiB as in
 * `free -h`. Returns DOSSIER_EINVAL on anything else. */
int size_parse(const char *s, uint64_t *out);
/* "5.0 GB" (decimal, one decimal place) into out. */
void size_format(uint64_t bytes, char *out, size_t n);
/* Total physical memory in bytes (sysconf), 0 if unknown. */
uint64_t mem_total_bytes(void);

/* ---- files ---- */
/* Reads at most cap bytes of a file into a NUL-terminated buffer (caller frees).
 * DOSSIER_ETOOBIG when the file is larger than cap. */
int file_read_all(const char *path, size_t cap, char **out, size_t *out_len, struct err *err);
/* Creates a directory and its parents (mode 0755). */
int mkdir_p(const char *path, struct err *err);
/* A new string (caller frees) that is the concatenation of a, "/", b. */
char *path_join(const char *a, const char *b);

/* ---- strings ---- */
/* strdup that aborts on out-of-memory, for small strings only. */
char *xstrdup(const char *s);
void *xcalloc(size_t n, size_t size);
/* strcmp over two `char *const *` (for qsort of string arrays). */
int strcmp_p(const void *a, const void *b);
/* Case-insensitive suffix test. */
int str_endswith_ci(const char *s, const char *suffix);
/* The code point of the UTF-8 sequence at s (n >= 1 bytes available); *len
 * is its length, or 0 when the bytes there are not valid UTF-8 (overlong,
 * surrogate, truncated, out of range). */
uint32_t utf8_decode(const char *s, size_t n, size_t *len);
/* 1 if the n bytes at s are valid UTF-8. */
int utf8_valid(const char *s, size_t n);
/*
 * Writes s into out (cap bytes, NUL-terminated, cut only between whole
 * characters) with every byte that is not part of valid UTF-8 written as
 * \xNN; with controls = 1 also control characters (C0 but newline and tab,
 * DEL, C1), so that text from outside cannot drive a terminal. Returns the
 * length written. File names on Linux are bytes: this is how dossier shows them.
 */
size_t str_escape_into(const char *s, int controls, char *out, size_t cap);
/* The same into a new string (caller frees). NULL gives NULL. */
char *str_escape(const char *s, int controls);
/* The n bytes at s as valid UTF-8: every invalid byte becomes U+FFFD, NUL
 * bytes are dropped. A new NUL-terminated string (caller frees). */
char *utf8_repair(const char *s, size_t n);
/* A JSON string for text from outside (a path, a message): s itself when it is
 * valid UTF-8, else its \xNN-escaped form. NULL gives JSON null. New reference. */
json_t *json_string_lossy(const char *s);

#endif
