/*
 * kind_archive.c — archives (ZIP, TAR and its compressed forms, 7z, cpio,
 * ISO): every member a child document (pipeline/children.h), read by stream
 * through media/archive. The archive's own dossier lists its members.
 */
#include "pipeline/kinds.h"
#include "pipeline/children.h"
#include "pipeline/steps_internal.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/util.h"
#include "media/archive.h"

#include <stdio.h>
#include <string.h>

static const char *const archive_ext[] = {".zip", ".tar", ".tgz", ".tar.gz", ".tar.xz", ".txz", ".tar.bz2",
                                          ".tbz2", ".7z", ".cpio", ".iso", NULL};
/* zip containers that are documents of their own kind */
static const char *const container_ext[] = {".docx", ".xlsx", ".pptx", ".odt", ".ods", ".odp", ".epub",
                                            ".jar", ".apk", NULL};

static enum kind_match recognise(const char *mime, const char *path, struct file_type *out)
{
	static const char *const direct[] = {"application/zip", "application/x-tar", "application/x-7z-compressed",
	                                     "application/x-cpio", "application/x-iso9660-image", NULL};
	static const char *const filtered[] = {"application/gzip", "application/x-gzip", "application/x-xz",
	                                       "application/x-bzip2", NULL};
	if (path_has_ext(path, container_ext))
		return KIND_MATCH_NO;
	for (const char *const *m = direct; *m; m++)
		if (!strcmp(mime, *m)) {
			snprintf(out->format, sizeof out->format, "archive");
			return KIND_MATCH_CONTENT;
		}
	/* a compressed file is an archive only when it holds one (a .tar.gz, not a .txt.gz) */
	for (const char *const *m = filtered; *m; m++)
		if (!strcmp(mime, *m) && archive_is_archive(path)) {
			snprintf(out->format, sizeof out->format, "archive");
			return KIND_MATCH_CONTENT;
		}
	if (path_has_ext(path, archive_ext)) {
		snprintf(out->format, sizeof out->format, "archive");
		return KIND_MATCH_NAME;
	}
	return KIND_MATCH_NO;
}

/* The archive's name for its title: its own name (a member's), else the path's last part. */
static const char *base_name(const struct doc_rec *doc)
{
	if (doc->name)
		return doc->name;
	const char *s = strrchr(doc->path, '/');
	return s ? s + 1 : doc->path;
}

static STEP_FN(unpack)
{
	(void)step, (void)steps, (void)n;
	struct children kids;
	int rc = children_begin(env, doc, &kids, err);
	if (rc == DOSSIER_ETOOBIG) {
		/* nested too deep: the archive is recorded, its members are not unpacked */
		*result = json_pack("{s:s,s:s,s:[s]}", "title", base_name(doc), "text", "", "notes", err->msg);
		err_clear(err);
		children_end(&kids, NULL);
		return 0;
	}
	if (rc) {
		children_end(&kids, NULL);
		return rc;
	}
	struct archive_limits lim = {0};
	if (env->cfg && env->cfg->max_expanded_bytes)
		lim.max_expanded = env->cfg->max_expanded_bytes;
	json_t *summary = NULL;
	rc = children_unpack(&kids, doc->path, &lim, &summary, err);
	json_t *list = NULL;
	children_end(&kids, &list);
	if (rc) {
		json_decref(list);
		json_decref(summary);
		return rc;
	}
	json_int_t n_enc = json_integer_value(json_object_get(summary, "encrypted"));
	if (n_enc > 0 && json_integer_value(json_object_get(summary, "unpacked")) == 0) {
		/* nothing but encrypted members: the archive itself is; its members
		 * are listed under it, each encrypted too */
		json_decref(list);
		json_decref(summary);
		return err_set(err, DOSSIER_EPERM,
		               "%s: the archive " MEDIA_ENCRYPTED_WORDS " (%lld member%s need%s a password): extract it "
		               "with its password (e.g. 7z x or unzip) and analyse the extracted copy",
		               doc->path, (long long)n_enc, n_enc == 1 ? "" : "s", n_enc == 1 ? "s" : "");
	}
	/* the text is the listing, for search; the summary counts what it holds */
	struct buf b;
	buf_init(&b, CAP_TEXT);
	size_t i;
	json_t *c;
	json_t *by_kind = json_object();
	json_array_foreach(list, i, c) {
		buf_appends(&b, json_string_value(json_object_get(c, "place")));
		buf_appendc(&b, '\n');
		const char *k = json_string_value(json_object_get(c, "kind"));
		if (k) {
			json_t *v = json_object_get(by_kind, k);
			json_object_set_new(by_kind, k, json_integer(json_integer_value(v) + 1));
		}
	}
	char sum[512];
	const char *fmt = json_string_value(json_object_get(summary, "format"));
	const char *word = !fmt ? "An" : strstr(fmt, "ZIP") ? "ZIP" : strstr(fmt, "tar") ? "TAR" : strstr(fmt, "7-Zip") ? "7z" : fmt;
	int off = snprintf(sum, sizeof sum, "%s archive of %zu file%s", word, json_array_size(list),
	                   json_array_size(list) == 1 ? "" : "s");
	const char *k;
	json_t *v;
	int first = 1;
	json_object_foreach(by_kind, k, v) {
		if (off < 0 || (size_t)off >= sizeof sum)
			break;
		const struct kind_def *kd = kind_find(k);
		off += snprintf(sum + off, sizeof sum - (size_t)off, "%s%s: %lld", first ? " (" : ", ", kd ? kd->plural : k,
		                (long long)json_integer_value(v));
		first = 0;
	}
	if (off > 0 && (size_t)off < sizeof sum - 2)
		snprintf(sum + off, sizeof sum - (size_t)off, "%s.", first ? "" : ")");
	json_decref(by_kind);
	*result = json_pack("{s:s,s:s,s:s,s:o,s:o,s:s}", "title", base_name(doc), "text", b.data ? b.data : "",
	                    "summary", sum, "archive", summary, "children", list, "engine", "libarchive");
	json_t *notes = json_object_get(summary, "notes");
	if (notes)
		json_object_set(*result, "notes", notes);
	buf_free(&b);
	return 0;
}

static const struct step_decl steps[] = {
	{"extract_text", ROLE_NONE, 0},
};
static const step_fn run[] = {unpack};

const struct kind_def kind_archive = {
	.name = "archive",
	.plural = "archives",
	.recognise = recognise,
	.steps = steps,
	.run = run,
	.n_steps = sizeof steps / sizeof steps[0],
};
