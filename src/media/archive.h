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

/* 1 if libarchive recognises path as an archive of a kind this reads. */
int archive_is_archive(const char *path);

#endif
