/*
 * archive.c — archives through libarchive, members streamed to the caller's files.
 */
#include "media/archive.h"
#include "core/err.h"
#include "core/util.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SKIPPED_MAX 100
#define RATIO_FLOOR (16ull << 20) /* below this many expanded bytes the ratio is not checked */

/* A reader of the formats this reads. */
static struct archive *new_reader(void)
{
	struct archive *a = archive_read_new();
	if (!a)
		return NULL;
	archive_read_support_filter_all(a);
	archive_read_support_format_zip(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_7zip(a);
	archive_read_support_format_cpio(a);
	archive_read_support_format_iso9660(a);
	archive_read_support_format_ar(a);
	return a;
}

static struct archive *open_any(const char *path)
{
	struct archive *a = new_reader();
	if (!a)
		return NULL;
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK) {
		archive_read_free(a);
		return NULL;
	}
	return a;
}

/* path's archive, opened (*a) after stat (*sb); an error names the file. */
static int open_path(const char *path, struct stat *sb, struct archive **a, struct err *err)
{
	if (stat(path, sb) != 0)
		return err_set(err, errno == EACCES ? DOSSIER_EPERM : DOSSIER_ENOTFOUND, "%s: %s", path, strerror(errno));
	if (!(*a = open_any(path)))
		return err_set(err, DOSSIER_EFORMAT, "%s: not an archive libarchive can read (damaged, or another type)",
		               path);
	return 0;
}

int archive_is_archive(const char *path)
{
	struct archive *a = open_any(path);
	if (!a)
		return 0;
	struct archive_entry *e;
	int r = archive_read_next_header(a, &e);
	/* a bare compressed file (.gz of one text) reads as format "raw": not an archive */
	int ok = (r == ARCHIVE_OK || r == ARCHIVE_WARN) && archive_format(a) != ARCHIVE_FORMAT_RAW &&
	         archive_format(a) != 0;
	archive_read_free(a);
	return ok;
}

static void skip(json_t *skipped, const char *name, const char *why)
{
	if (json_array_size(skipped) < SKIPPED_MAX)
		json_array_append_new(skipped, json_pack("{s:o,s:s}", "name", json_string_lossy(name), "why", why));
}

int archive_unpack(const char *path, const char *dir, const struct archive_limits *limits, archive_member_fn cb,
                   void *user, json_t **summary, struct err *err)
{
	if (summary)
		*summary = NULL;
	struct archive_limits lim = limits ? *limits : (struct archive_limits){0};
	if (!lim.max_members)
		lim.max_members = 10000;
	if (!lim.max_expanded)
		lim.max_expanded = 1ull << 30;
	if (!lim.max_member)
		lim.max_member = lim.max_expanded;
	if (lim.max_ratio <= 0)
		lim.max_ratio = 200;
	struct stat sb;
	struct archive *a;
	int orc = open_path(path, &sb, &a, err);
	if (orc)
		return orc;
	json_t *skipped = json_array(), *notes = json_array();
	size_t listed = 0, unpacked = 0, n_encrypted = 0;
	uint64_t expanded = 0;
	int truncated = 0, rc = 0, r;
	char *buf = xcalloc(1, 65536);
	struct archive_entry *e;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		const char *name = archive_entry_pathname_utf8(e);
		if (!name)
			name = archive_entry_pathname(e);
		if (!name)
			name = "";
		listed++;
		if (archive_entry_filetype(e) != AE_IFREG) {
			if (archive_entry_filetype(e) != AE_IFDIR)
				skip(skipped, name, archive_entry_symlink(e) || archive_entry_hardlink(e) ? "a link" : "not a regular file");
			continue;
		}
		if (lim.want && !lim.want(name, archive_entry_size_is_set(e) ? (int64_t)archive_entry_size(e) : -1,
		                          lim.want_user))
			continue;
		if (archive_entry_is_encrypted(e)) {
			skip(skipped, name, "encrypted");
			n_encrypted++;
			if (lim.on_encrypted &&
			    (rc = lim.on_encrypted(name, archive_entry_size_is_set(e) ? (int64_t)archive_entry_size(e) : -1,
			                           archive_entry_mtime_is_set(e) ? (int64_t)archive_entry_mtime(e) : 0,
			                           lim.encrypted_user)))
				break;
			continue;
		}
		if (unpacked >= lim.max_members) {
			char note[160];
			snprintf(note, sizeof note, "only the first %zu members were unpacked (max_members)", lim.max_members);
			json_array_append_new(notes, json_string(note));
			truncated = 1;
			break;
		}
		char tmpl[4096];
		snprintf(tmpl, sizeof tmpl, "%s/member-XXXXXX", dir);
		int fd = mkstemp(tmpl);
		if (fd < 0) {
			rc = err_set(err, DOSSIER_EIO, "cannot create a file in %s: %s", dir, strerror(errno));
			break;
		}
		uint64_t bytes = 0;
		int stop = 0, werr = 0;
		la_ssize_t got;
		while ((got = archive_read_data(a, buf, 65536)) > 0) {
			if (bytes + (uint64_t)got > lim.max_member || expanded + (uint64_t)got > lim.max_expanded) {
				stop = 1;
				break;
			}
			if (lim.charge && lim.charge((uint64_t)got, lim.charge_user)) {
				stop = 3;
				break;
			}
			if (write(fd, buf, (size_t)got) != got) {
				werr = errno ? errno : EIO;
				break;
			}
			bytes += (uint64_t)got;
			expanded += (uint64_t)got;
			if (expanded > RATIO_FLOOR && (double)expanded > lim.max_ratio * (double)(sb.st_size ? sb.st_size : 1)) {
				stop = 2;
				break;
			}
		}
		close(fd);
		if (werr) {
			unlink(tmpl);
			rc = err_set(err, DOSSIER_EIO, "cannot write a member of %s into %s: %s", path, dir, strerror(werr));
			break;
		}
		if (stop) {
			unlink(tmpl);
			char note[640];
			if (stop == 2)
				snprintf(note, sizeof note, "unpacking stopped at %s: it expands more than %.0f times its size "
				         "(a zip bomb?)", name, lim.max_ratio);
			else if (stop == 3)
				snprintf(note, sizeof note, "unpacking stopped at %s: the archives of the same top-level file "
				         "have expanded %llu bytes in all, across their levels (max_expanded_bytes; a nested "
				         "zip bomb?)", name, (unsigned long long)lim.max_expanded);
			else
				snprintf(note, sizeof note, "unpacking stopped at %s: past %llu expanded bytes "
				         "(max_expanded_bytes)", name, (unsigned long long)lim.max_expanded);
			json_array_append_new(notes, json_string_lossy(note));
			skip(skipped, name, "over a limit");
			truncated = 1;
			break;
		}
		if (got < 0) {
			unlink(tmpl);
			const char *m = archive_error_string(a);
			char note[512];
			snprintf(note, sizeof note, "%s could not be read: %s", name, m ? m : "damaged");
			json_array_append_new(notes, json_string_lossy(note));
			skip(skipped, name, archive_entry_is_encrypted(e) ? "encrypted" : "damaged");
			if (r == ARCHIVE_FATAL || got == ARCHIVE_FATAL)
				break;
			continue;
		}
		unpacked++;
		if ((rc = cb(name, tmpl, bytes, user)) != 0) {
			unlink(tmpl);
			break;
		}
	}
	if (r == ARCHIVE_FATAL && !rc) {
		const char *m = archive_error_string(a);
		if (!listed) {
			rc = err_set(err, DOSSIER_EFORMAT, "%s: the archive cannot be read (%s): it is damaged or of another type",
			             path, m ? m : "damaged");
		} else {
			char note[512];
			snprintf(note, sizeof note, "the archive is damaged after %zu members (%s): what came before was read",
			         listed, m ? m : "unexpected end");
			json_array_append_new(notes, json_string_lossy(note));
			truncated = 1;
		}
	}
	free(buf);
	if (!rc && summary) {
		const char *fmt = archive_format_name(a);
		const char *filter = archive_filter_count(a) > 1 ? archive_filter_name(a, 0) : "none";
		*summary = json_pack("{s:s,s:s,s:I,s:I,s:I,s:o,s:b}", "format", fmt ? fmt : "unknown", "filter",
		                     filter ? filter : "none", "members", (json_int_t)listed, "unpacked",
		                     (json_int_t)unpacked, "bytes", (json_int_t)expanded, "skipped", skipped, "truncated",
		                     truncated);
		skipped = NULL;
		json_object_set_new(*summary, "encrypted", json_integer((json_int_t)n_encrypted));
		if (json_array_size(notes))
			json_object_set(*summary, "notes", notes);
	}
	json_decref(skipped);
	json_decref(notes);
	archive_read_free(a);
	return rc;
}

/* 1 if p (a member's first n bytes) starts like an archive or a compressed file. */
static int looks_like_archive(const unsigned char *p, size_t n)
{
	return (n >= 4 && !memcmp(p, "PK\3\4", 4)) || (n >= 6 && !memcmp(p, "7z\xBC\xAF\x27\x1C", 6)) ||
	       (n >= 2 && p[0] == 0x1F && p[1] == 0x8B) || (n >= 6 && !memcmp(p, "\xFD" "7zXZ\0", 6)) ||
	       (n >= 3 && !memcmp(p, "BZh", 3)) || (n >= 262 && !memcmp(p + 257, "ustar", 5)) ||
	       (n >= 6 && (!memcmp(p, "070707", 6) || !memcmp(p, "070701", 6)));
}

struct list_state {
	struct archive_scan_limits lim;
	archive_list_fn cb;
	void *user;
	double t0;
	size_t listed;
	uint64_t nested_read;   /* bytes of nested archives read into memory, against lim.max_read */
	int bounded;
};

/* Reads the rest of the current member (head already read) into a new buffer,
 * if it fits the bounds; NULL otherwise. */
static unsigned char *read_member(struct archive *a, const unsigned char *head, size_t n_head, struct list_state *s,
                                  size_t *len)
{
	uint64_t cap = s->lim.max_nested_bytes;
	size_t cap_n = 1 << 16, n = n_head;
	unsigned char *buf = malloc(cap_n);
	if (!buf)
		return NULL;
	memcpy(buf, head, n_head);
	for (;;) {
		if (n == cap_n) {
			if (cap_n >= cap || s->nested_read + cap_n >= s->lim.max_read)
				break;
			unsigned char *nb = realloc(buf, cap_n * 2);
			if (!nb)
				break;
			buf = nb;
			cap_n *= 2;
		}
		la_ssize_t got = archive_read_data(a, buf + n, cap_n - n);
		if (got == 0) {
			s->nested_read += n;
			*len = n;
			return buf;
		}
		if (got < 0)
			break;
		n += (size_t)got;
		if (n > cap)
			break;
	}
	free(buf);
	return NULL;
}

static int list_level(struct archive *a, struct list_state *s, int depth, const char *prefix, int *fatal)
{
	int r, rc = 0;
	struct archive_entry *e;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		if (archive_entry_filetype(e) == AE_IFREG) {
			const char *name = archive_entry_pathname_utf8(e);
			if (!name)
				name = archive_entry_pathname(e);
			char full[4096];
			snprintf(full, sizeof full, "%s%s%s", prefix ? prefix : "", prefix ? "/" : "", name ? name : "");
			int enc = archive_entry_is_encrypted(e) != 0;
			int64_t size = archive_entry_size_is_set(e) ? (int64_t)archive_entry_size(e) : -1;
			/* a member that is an archive by its first bytes is listed too, from memory */
			if (!enc && depth + 1 < s->lim.max_depth && (size < 0 || (uint64_t)size <= s->lim.max_nested_bytes)) {
				unsigned char head[512];
				la_ssize_t got = archive_read_data(a, head, sizeof head);
				int is_archive = got > 0 && looks_like_archive(head, (size_t)got);
				if ((rc = s->cb(full, size, 0, is_archive, s->user)) == ARCHIVE_LIST_NO_OPEN)
					is_archive = rc = 0;
				if (rc)
					break;
				size_t len = 0;
				unsigned char *buf = is_archive ? read_member(a, head, (size_t)got, s, &len) : NULL;
				if (buf) {
					struct archive *b = new_reader();
					if (b) {
						int inner_fatal = 0;
						if (archive_read_open_memory(b, buf, len) == ARCHIVE_OK)
							rc = list_level(b, s, depth + 1, full, &inner_fatal);
						archive_read_free(b);
					}
					free(buf);
					if (rc || s->bounded)
						break;
				}
			} else if ((rc = s->cb(full, size, enc, 0, s->user)) && rc != ARCHIVE_LIST_NO_OPEN) {
				break;
			}
			rc = 0;
		}
		/* a ZIP's members are found by seeking, nothing decompressed: only
		 * the other formats' bytes are bounded */
		int zip = (archive_format(a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP;
		if (++s->listed >= s->lim.max_members || clock_mono_s() - s->t0 > s->lim.max_seconds ||
		    (depth == 0 && !zip && (uint64_t)archive_filter_bytes(a, -1) > s->lim.max_read)) {
			s->bounded = 1;
			break;
		}
		if (archive_read_data_skip(a) == ARCHIVE_FATAL)
			break;
	}
	*fatal = r == ARCHIVE_FATAL;
	return rc;
}

int archive_list(const char *path, const struct archive_scan_limits *limits, archive_list_fn cb, void *user,
                 double *fraction, struct err *err)
{
	if (fraction)
		*fraction = 1;
	struct list_state s = {.lim = limits ? *limits : (struct archive_scan_limits){0}, .cb = cb, .user = user};
	if (!s.lim.max_read)
		s.lim.max_read = ARCHIVE_SCAN_MAX_READ;
	if (s.lim.max_seconds <= 0)
		s.lim.max_seconds = ARCHIVE_SCAN_MAX_SECONDS;
	if (!s.lim.max_members)
		s.lim.max_members = ARCHIVE_SCAN_MAX_MEMBERS;
	if (s.lim.max_depth < 1)
		s.lim.max_depth = 1;
	if (!s.lim.max_nested_bytes)
		s.lim.max_nested_bytes = ARCHIVE_SCAN_MAX_NESTED;
	struct stat sb;
	struct archive *a;
	int orc = open_path(path, &sb, &a, err);
	if (orc)
		return orc;
	s.t0 = clock_mono_s();
	int fatal = 0;
	int rc = list_level(a, &s, 0, NULL, &fatal);
	if (fatal && !s.listed)
		rc = err_set(err, DOSSIER_EFORMAT, "%s: the archive cannot be read: it is damaged or of another type", path);
	if (s.bounded && fraction && sb.st_size > 0) {
		double f = (double)archive_filter_bytes(a, -1) / (double)sb.st_size;
		/* libarchive reads ahead by a block: a bound reached is never the whole file */
		*fraction = f <= 0 ? 1e-6 : f >= 1 ? 0.999 : f;
	}
	archive_read_free(a);
	return rc;
}
