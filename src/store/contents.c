/*
 * contents.c — the documents' bytes in the database, content-addressed
 * (schema 12), for workers on other machines: a file is kept once per
 * content as chunks of CONTENT_CHUNK bytes, streamed in and out, never held
 * whole in memory. A content counts once its row in content_files is there,
 * written after its last chunk; a partial upload is never read.
 */
#include "store/internal.h"
#include "core/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONTENT_CHUNK (1 << 20)

int store_content_has(store *st, const char *sha256, int *yes, struct err *err)
{
	*yes = 0;
	struct dbl_stmt *q = stmt(st, "SELECT 1 FROM content_files WHERE sha256 = ?1", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, sha256);
	int rc = qstep(st, q);
	*yes = rc == DBL_ROW;
	stmt_done(q);
	return rc == DBL_ROW || rc == DBL_DONE ? 0 : db_err(st, err, "looking up a document's content");
}

/* Reads up to n bytes (fewer only at the end of the file); -1 on error. */
static ssize_t read_full(int fd, unsigned char *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int store_content_put(store *st, const char *sha256, const char *path, struct err *err)
{
	int have = 0, rc = store_content_has(st, sha256, &have, err);
	if (rc || have)
		return rc;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return err_set(err, errno == EACCES ? DOSSIER_EPERM : DOSSIER_EIO, "%s: cannot read it to keep its content: %s",
		               path, strerror(errno));
	unsigned char *buf = malloc(CONTENT_CHUNK);
	if (!buf) {
		close(fd);
		return err_set(err, DOSSIER_ENOMEM, "out of memory keeping the content of %s", path);
	}
	int64_t chunk = 0, total = 0;
	for (;;) {
		ssize_t n = read_full(fd, buf, CONTENT_CHUNK);
		if (n < 0) {
			rc = err_set(err, DOSSIER_EIO, "%s: read failed while keeping its content: %s", path, strerror(errno));
			break;
		}
		if (n == 0 && chunk > 0)
			break;
		struct dbl_stmt *q = stmt(st, DBL_INSERT_OR_IGNORE " INTO contents(sha256, chunk, bytes, data)"
		                              " VALUES(?1, ?2, ?3, ?4)" DBL_ON_CONFLICT_IGNORE, err);
		if (!q) {
			rc = DOSSIER_EDB;
			break;
		}
		bind_text(q, 1, sha256);
		dbl_bind_i64(q, 2, chunk);
		dbl_bind_i64(q, 3, n);
		dbl_bind_blob(q, 4, buf, (size_t)n);
		int s = qstep(st, q);
		stmt_done(q);
		if (s != DBL_DONE) {
			rc = db_err(st, err, "keeping a document's content");
			break;
		}
		chunk++;
		total += n;
		if (n < CONTENT_CHUNK)
			break;
	}
	free(buf);
	close(fd);
	if (rc)
		return rc;
	struct dbl_stmt *q = stmt(st, DBL_INSERT_OR_IGNORE " INTO content_files(sha256, bytes, chunks)"
	                              " VALUES(?1, ?2, ?3)" DBL_ON_CONFLICT_IGNORE, err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, sha256);
	dbl_bind_i64(q, 2, total);
	dbl_bind_i64(q, 3, chunk);
	int s = qstep(st, q);
	stmt_done(q);
	return s == DBL_DONE ? 0 : db_err(st, err, "keeping a document's content");
}

int store_content_fetch(store *st, const char *sha256, const char *out_path, struct err *err)
{
	struct dbl_stmt *q = stmt(st, "SELECT bytes, chunks FROM content_files WHERE sha256 = ?1", err);
	if (!q)
		return DOSSIER_EDB;
	bind_text(q, 1, sha256);
	int rc = qstep(st, q);
	int64_t bytes = rc == DBL_ROW ? dbl_col_i64(q, 0) : 0, chunks = rc == DBL_ROW ? dbl_col_i64(q, 1) : 0;
	stmt_done(q);
	if (rc == DBL_DONE)
		return err_set(err, DOSSIER_ENOTFOUND, "the database %s keeps no content %.12s…", st->path, sha256);
	if (rc != DBL_ROW)
		return db_err(st, err, "reading a document's content");
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.part", out_path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(err, DOSSIER_EIO, "cannot write %s: %s", tmp, strerror(errno));
	int64_t got = 0;
	rc = 0;
	for (int64_t k = 0; k < chunks && !rc; k++) {
		/* one chunk per statement: a result is read whole, and a chunk is small */
		q = stmt(st, "SELECT data FROM contents WHERE sha256 = ?1 AND chunk = ?2", err);
		if (!q) {
			rc = DOSSIER_EDB;
			break;
		}
		bind_text(q, 1, sha256);
		dbl_bind_i64(q, 2, k);
		int s = qstep(st, q);
		size_t n = 0;
		const void *data = s == DBL_ROW ? dbl_col_blob(q, 0, &n) : NULL;
		if (s == DBL_ROW && (!data && n) ) {
			rc = err_set(err, DOSSIER_EDB, "chunk %lld of content %.12s… is unreadable", (long long)k, sha256);
		} else if (s == DBL_DONE) {
			rc = err_set(err, DOSSIER_EDB, "the database %s lacks chunk %lld of content %.12s…", st->path,
			             (long long)k, sha256);
		} else if (s != DBL_ROW) {
			rc = db_err(st, err, "reading a document's content");
		} else if (n && write(fd, data, n) != (ssize_t)n) {
			rc = err_set(err, DOSSIER_EIO, "cannot write %s: %s", tmp, strerror(errno));
		}
		got += (int64_t)n;
		stmt_done(q);
	}
	if (close(fd) != 0 && !rc)
		rc = err_set(err, DOSSIER_EIO, "cannot write %s: %s", tmp, strerror(errno));
	char hex[65];
	struct err he = {0};
	if (!rc && (got != bytes || sha256_file(tmp, hex, &he) || strcmp(hex, sha256)))
		rc = err_set(err, DOSSIER_EDB,
		             "the content kept in %s for %.12s… does not match its checksum (%lld bytes, %lld expected: "
		             "damaged in the database): analyse the file again from a machine that has it",
		             st->path, sha256, (long long)got, (long long)bytes);
	if (!rc && rename(tmp, out_path) != 0)
		rc = err_set(err, DOSSIER_EIO, "cannot write %s: %s", out_path, strerror(errno));
	if (rc)
		unlink(tmp);
	return rc;
}
