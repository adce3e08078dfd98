/*
 * archive.h — archives (ZIP, TAR and its gzip/bzip2/xz forms, 7z, cpio, ISO),
 * through libarchive: each regular member streamed to a file of the caller's
 * directory, never to a path the archive chooses, within limits.
 *
 *   struct archive_limits lim = {0};                 // defaults
 *   archive_unpack("photos.zip", "/tmp/x", &lim, on_member, ctx, &summary, &err);
 *
 * Thread safe (no shared state).
 */
#ifndef DOSSIER_MEDIA_ARCHIVE_H
#define DOSSIER_MEDIA_ARCHIVE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct err;

/* Every message about an encrypted document or member says this (after the
 * file's path), e.g. "x.docx: the document is password-protected (encrypted):
 * ...": the pipeline gives such a document the status "encrypted". */
#define MEDIA_ENCRYPTED_WORDS "is password-protected (encrypted)"

/* An encrypted regular member, which is not unpacked: its name (as stored,
 * never a path), its size and mtime as the archive states them (-1, 0 if not).
 * A non-zero return stops the unpacking (and is returned). */
typedef int (*archive_encrypted_fn)(const char *name, int64_t size, int64_t mtime, void *user);

struct archive_limits {
	size_t max_members;      /* regular members unpacked at most; 0 = 10000 */
	uint64_t max_expanded;   /* bytes written in all, across members; 0 = 1 GiB */
	/* Called before each block of a member is written, with its size (NULL =
	 * none): a non-zero return means the archives around this one (inside one
	 * top-level file) have used the budget, and the unpacking stops with a
	 * note saying so. charge_user says how many bytes (for the note). */
	int (*charge)(uint64_t bytes, void *user);
	void *charge_user;
	uint64_t max_member;     /* bytes of one member; 0 = max_expanded */
	double max_ratio;        /* expanded / archive bytes past which it stops (once over 16 MiB); 0 = 200 */
	/* Which regular members to unpack (name, size as the archive states it,
	 * -1 if unknown); NULL = all. Members it declines are neither unpacked
	 * nor counted as skipped. */
	int (*want)(const char *name, int64_t size, void *user);
	void *want_user;
	/* Called for each encrypted regular member `want` lets through (NULL = none). */
	archive_encrypted_fn on_encrypted;
	void *encrypted_user;
};

/* One member, unpacked: name is its path inside the archive (UTF-8, as
 * stored, never used as a path), file the caller's copy of its bytes (in
 * dir, the caller's to keep or remove), bytes its size. A non-zero return
 * stops the unpacking (and is returned). */
typedef int (*archive_member_fn)(const char *name, const char *file, uint64_t bytes, void *user);

/*
 * Unpacks path's regular members one at a time into new files in dir,
 * calling cb for each. Directories, links and devices are listed, not
 * unpacked. *summary (may be NULL; caller decrefs) is
 *   {"format": "ZIP"|"GNU tar format"|..., "filter": "gzip"|"none"|...,
 *    "members": n listed, "unpacked": n, "encrypted": n (regular members that need
 *    a password, lim->on_encrypted called for each), "bytes": expanded bytes,
 *    "skipped": [{"name","why"}] (encrypted, links, over a limit; at most 100),
 *    "truncated": bool (a limit stopped it), "notes": ["..."]}.
 * A damaged archive gives what was read before the damage (a note says so),
 * or DOSSIER_EFORMAT when nothing could be. DOSSIER_EIO when dir is not writable.
 */
int archive_unpack(const char *path, const char *dir, const struct archive_limits *lim, archive_member_fn cb,
                   void *user, json_t **summary, struct err *err);

/* Bounds of archive_list: it stops at the first it reaches. */
struct archive_scan_limits {
	uint64_t max_read;     /* bytes of the file consumed; 0 = ARCHIVE_SCAN_MAX_READ */
	double max_seconds;    /* wall time; 0 = ARCHIVE_SCAN_MAX_SECONDS */
	size_t max_members;    /* members listed; 0 = ARCHIVE_SCAN_MAX_MEMBERS */
	int max_depth;         /* levels listed: 0 or 1 = this archive only; 3 = also the archives
	                          inside it and those inside them (told by their first bytes) */
	uint64_t max_nested_bytes; /* a nested archive larger than this is not opened; 0 = ARCHIVE_SCAN_MAX_NESTED */
};
#define ARCHIVE_SCAN_MAX_READ    (256ull << 20)
#define ARCHIVE_SCAN_MAX_SECONDS 2.0
#define ARCHIVE_SCAN_MAX_MEMBERS 100000u
#define ARCHIVE_SCAN_MAX_NESTED  (64ull << 20)

/* One regular member seen by archive_list: its stored name (never a path),
 * its size as the archive states it (-1 if it does not), whether it is
 * encrypted, whether its first bytes are an archive's (looked at only when
 * max_depth > 1 lets it be opened). ARCHIVE_LIST_NO_OPEN (for an archive:
 * a .docx or an .epub is a document, not a folder) goes on without opening
 * it; another non-zero return stops the listing. */
typedef int (*archive_list_fn)(const char *name, int64_t size, int encrypted, int is_archive, void *user);
#define ARCHIVE_LIST_NO_OPEN 0x4e4f4f50

/*
 * Lists path's regular members without unpacking any: a ZIP's are read from
 * its central directory and nothing is decompressed; a compressed TAR's data
 * is decompressed to be skipped (never kept), which the bounds limit. With
 * lim->max_depth > 1, a member whose first 512 bytes are an archive's (ZIP,
 * 7z, gzip, xz, bzip2, tar, cpio) is read into memory (at most
 * max_nested_bytes; all of them together within max_read) and its members are
 * listed after it as "member/inner-name", down to max_depth levels. When a
 * bound stops it, *fraction (may be NULL) is the share of the file consumed
 * by then (0 < f < 1), else 1. Memory: libarchive's state, and one nested
 * archive per level when max_depth > 1.
 * DOSSIER_EFORMAT when path is no archive libarchive reads.
 */
int archive_list(const char *path, const struct archive_scan_limits *lim, archive_list_fn cb, void *user,
                 double *fraction, struct err *err);

/* 1 if libarchive recognises path as an archive of a kind this reads. */
int archive_is_archive(const char *path);

#endif
