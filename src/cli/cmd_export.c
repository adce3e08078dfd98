/*
 * cmd_export.c — `dossier export`: the dossiers (all, or those a search or a
 * filter picks) written into a folder as JSON, Markdown or one CSV index,
 * optionally with a copy of each original file.
 */
#include "cli/cli.h"
#include "cli/common.h"
#include "core/err.h"
#include "core/util.h"
#include "pipeline/kinds.h"
#include "pipeline/pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage[] =
	"usage: dossier export --format json|md|csv [OPTIONS] DIR [QUERY...]\n"
	"\n"
	"Writes the dossiers into the folder DIR (made if missing; what is in it\n"
	"already stays, a file of an earlier export with the same name is replaced):\n"
	"every dossier, or those matching a search QUERY (as 'dossier search' takes it)\n"
	"and the filters.\n"
	"\n"
	"  json   one file per dossier, ID-TITLE.json (the dossier JSON,\n"
	"         docs/dossier.schema.json), and index.json listing every document\n"
	"  md     one Markdown file per dossier, ID-TITLE.md (as 'dossier show' prints it)\n"
	"  csv    index.csv: id, path, kind, status, title, date, size, tags, summary\n"
	"         (RFC 4180; date = the document's own date, else the file's time)\n"
	"\n"
	"Options:\n"
	"  --format F            json, md or csv (required)\n"
	"  --kind K              only documents of this kind (text pdf image audio video ...)\n"
	"  --status S            only documents with this status (done partial failed queued\n"
	"                        running unsupported)\n"
	"  --originals           also copy each original file into DIR/files/ as ID-NAME\n"
	CLI_SHARED_CONFIG_HELP
	"  -h, --help            this help\n"
	"\n"
	"Documents without a dossier yet (queued, unsupported) are listed in the\n"
	"indexes but get no file of their own.\n"
	"\n"
	"Exit status: 0 written; 1 some originals could not be copied (named on stderr);\n"
	"2 usage; 3 environment (DIR not writable, database).\n";

enum { OPT_FORMAT = 3100, OPT_ORIGINALS };
enum fmt { FMT_JSON, FMT_MD, FMT_CSV };

struct pick {
	int64_t *ids;
	size_t n, cap;
};

static void pick_add(struct pick *p, int64_t id)
{
	if (p->n == p->cap) {
		p->cap = p->cap ? 2 * p->cap : 256;
		void *nv = realloc(p->ids, p->cap * sizeof *p->ids);
		if (!nv)
			abort();
		p->ids = nv;
	}
	p->ids[p->n++] = id;
}

static int pick_doc(const struct doc_rec *d, void *user)
{
	pick_add(user, d->id);
	return 0;
}

static int pick_hit(const struct search_hit *h, void *user)
{
	pick_add(user, h->id);
	return 0;
}

static int id_cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/*
 * A file name for document id: "ID-words-of-the-title" plus ext, ASCII
 * letters, digits, '.', '_' and '-' only, at most 80 bytes before ext. It
 * can hold no '/' and never starts with '.', so it stays inside the folder;
 * the id makes it unique.
 */
static void safe_name(int64_t id, const char *title, const char *ext, char *out, size_t n)
{
	char words[81];
	size_t k = 0;
	int dash = 0;
	for (const unsigned char *p = (const unsigned char *)(title ? title : ""); *p && k < sizeof words - 1; p++) {
		unsigned char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || (c == '.' && k)) {
			words[k++] = (char)c;
			dash = 0;
		} else if (c >= 'A' && c <= 'Z') {
			words[k++] = (char)(c - 'A' + 'a');
			dash = 0;
		} else if (!dash && k) {
			words[k++] = '-';
			dash = 1;
		}
	}
	while (k && (words[k - 1] == '-' || words[k - 1] == '.'))
		k--;
	words[k] = '\0';
	snprintf(out, n, "%lld%s%s%s", (long long)id, k ? "-" : "", words, ext);
}

/* The extension of a path's last component (".pdf"), "" if none or odd. */
static void path_ext(const char *path, char *out, size_t n)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	out[0] = '\0';
	if (!dot || dot == base || strlen(dot) > 9)
		return;
	for (const char *p = dot + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return;
	snprintf(out, n, "%s", dot);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
}

static const char *base_of(const char *path)
{
	const char *b = strrchr(path, '/');
	return b ? b + 1 : path;
}

/* Creates (or replaces) DIR/name, never writing through a symbolic link
 * found there: the link itself is replaced, what it points at is untouched. */
static int open_out(const char *dir, const char *name, char *path, size_t n)
{
	snprintf(path, n, "%s/%s", dir, name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 && errno == ELOOP && unlink(path) == 0)
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	return fd;
}

static int write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Writes text as DIR/name; 0, or prints the problem and returns -1. */
static int write_file(const char *dir, const char *name, const char *text)
{
	char path[PATH_MAX + 256];
	int fd = open_out(dir, name, path, sizeof path);
	if (fd < 0 || write_all(fd, text, strlen(text)) != 0 || close(fd) != 0) {
		fprintf(stderr, "dossier export: cannot write %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return 0;
}

/* Copies src to DIR/name in pieces (never whole in memory), keeping its time.
 * 0, 1 when the source could not be read (said on stderr), -1 when DIR failed. */
static int copy_file(const char *src, const char *dir, const char *name)
{
	int in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		fprintf(stderr, "dossier export: cannot copy %s: %s (the dossier is exported without it)\n", src,
		        strerror(errno));
		return 1;
	}
	char path[PATH_MAX + 256];
	int out = open_out(dir, name, path, sizeof path);
	if (out < 0) {
		fprintf(stderr, "dossier export: cannot write %s: %s\n", path, strerror(errno));
		close(in);
		return -1;
	}
	static char buf[1 << 16];
	int rc = 0;
	for (;;) {
		ssize_t r = read(in, buf, sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fprintf(stderr, "dossier export: cannot read %s: %s\n", src, strerror(errno));
			rc = 1;
			break;
		}
		if (r == 0)
			break;
		if (write_all(out, buf, (size_t)r) != 0) {
			fprintf(stderr, "dossier export: cannot write %s: %s\n", path, strerror(errno));
			rc = -1;
			break;
		}
	}
	struct stat sb;
	if (rc == 0 && fstat(in, &sb) == 0) {
		struct timespec t[2] = {sb.st_atim, sb.st_mtim};
		futimens(out, t);
	}
	if (close(out) != 0 && rc == 0) {
		fprintf(stderr, "dossier export: cannot write %s: %s\n", path, strerror(errno));
		rc = -1;
	}
	close(in);
	if (rc)
		unlink(path); /* no half copy left behind */
	return rc;
}

/* One CSV field, RFC 4180: always quoted, quotes doubled. */
static void csv_field(FILE *f, const char *s, int last)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
	fputs(last ? "\r\n" : ",", f);
}

/* The document's own date (its properties, a mail's Date), else the file's time. */
static void doc_date(json_t *dj, const struct doc_rec *d, char out[32])
{
	const char *v = json_string_value(json_object_get(dj, "created"));
	if (!v || !*v)
		v = json_string_value(json_object_get(json_object_get(dj, "mail"), "date"));
	if (v && *v) {
		snprintf(out, 32, "%s", v);
		return;
	}
	if (d->mtime > 0)
		time_rfc3339((double)d->mtime, out);
	else
		out[0] = '\0';
}

static char *tags_joined(json_t *dj)
{
	json_t *tags = json_object_get(dj, "tags"), *t;
	size_t i, n = 1;
	json_array_foreach(tags, i, t)
		n += strlen(json_string_value(t) ? json_string_value(t) : "") + 2;
	char *s = xcalloc(1, n);
	json_array_foreach(tags, i, t) {
		if (!json_string_value(t))
			continue;
		if (*s)
			strcat(s, "; ");
		strcat(s, json_string_value(t));
	}
	return s;
}

static int valid_status(const char *s)
{
	static const char *const v[] = {"queued", "running", "done", "partial", "failed", "encrypted", "unsupported"};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++)
		if (!strcmp(s, v[i]))
			return 1;
	return 0;
}

static int valid_kind(const char *k)
{
	return !strcmp(k, "unsupported") || kind_find(k) != NULL;
}

static int run(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"format", required_argument, NULL, OPT_FORMAT}, {"kind", required_argument, NULL, OPT_KIND},
		{"status", required_argument, NULL, OPT_STATUS}, {"originals", no_argument, NULL, OPT_ORIGINALS},
		{"db", required_argument, NULL, OPT_DB},         {"profile", required_argument, NULL, OPT_PROFILE},
		{"help", no_argument, NULL, 'h'},                {NULL, 0, NULL, 0},
	};
	struct cli_opts o = {0};
	const char *kind = NULL, *status = NULL;
	int format = -1, originals = 0, opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_opts_take(&o, opt, optarg))
			continue;
		switch (opt) {
		case OPT_FORMAT:
			if (!strcmp(optarg, "json"))
				format = FMT_JSON;
			else if (!strcmp(optarg, "md") || !strcmp(optarg, "markdown"))
				format = FMT_MD;
			else if (!strcmp(optarg, "csv"))
				format = FMT_CSV;
			else {
				fprintf(stderr, "dossier export: --format %s: give json, md or csv\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case OPT_KIND:
			if (!valid_kind(optarg)) {
				fprintf(stderr, "dossier export: --kind %s: not a kind (text pdf image audio video office "
				                "epub rtf mail table unsupported)\n", optarg);
				return EXIT_USAGE;
			}
			kind = optarg;
			break;
		case OPT_STATUS:
			if (!valid_status(optarg)) {
				fprintf(stderr, "dossier export: --status %s: give done, partial, failed, encrypted, queued, "
				                "running or unsupported\n", optarg);
				return EXIT_USAGE;
			}
			status = optarg;
			break;
		case OPT_ORIGINALS: originals = 1; break;
		case 'h': fputs(usage, stdout); return 0;
		default: return cli_bad_usage("export");
		}
	}
	if (format < 0) {
		fprintf(stderr, "dossier export: say which format: --format json, md or csv\n");
		return cli_bad_usage("export");
	}
	if (optind >= argc) {
		fprintf(stderr, "dossier export: name the folder to write into\n");
		return cli_bad_usage("export");
	}
	const char *dir_arg = argv[optind++];
	char query[2048] = "";
	for (int i = optind; i < argc; i++) {
		if (strlen(query) + strlen(argv[i]) + 2 > sizeof query) {
			fprintf(stderr, "dossier export: the query is too long (at most %zu bytes)\n", sizeof query - 2);
			return EXIT_USAGE;
		}
		strcat(query, argv[i]);
		strcat(query, " ");
	}

	struct config cfg;
	store *st;
	int rc = cli_config(&o, &cfg);
	if (rc || (rc = cli_open_store(&cfg, &st)))
		return rc;
	struct err e = {0};
	struct pick p = {0};
	if (*query) {
		rc = store_search(st, query, 1 << 30, pick_hit, &p, &e);
		if (!rc && p.n > 1)
			qsort(p.ids, p.n, sizeof *p.ids, id_cmp);
	} else {
		rc = store_doc_list(st, status, kind, 0, 0, pick_doc, &p, &e);
	}
	if (rc) {
		fprintf(stderr, "dossier export: %s\n", e.msg);
		free(p.ids);
		store_close(st);
		return e.code == DOSSIER_EINVAL ? EXIT_USAGE : EXIT_ENV;
	}

	char dir[PATH_MAX], files_dir[PATH_MAX + 8];
	if (mkdir_p(dir_arg, &e) || !realpath(dir_arg, dir)) {
		fprintf(stderr, "dossier export: cannot make the folder %s: %s\n", dir_arg, *e.msg ? e.msg : strerror(errno));
		free(p.ids);
		store_close(st);
		return EXIT_ENV;
	}
	snprintf(files_dir, sizeof files_dir, "%s/files", dir);
	if (originals && mkdir_p(files_dir, &e)) {
		fprintf(stderr, "dossier export: cannot make the folder %s: %s\n", files_dir, e.msg);
		free(p.ids);
		store_close(st);
		return EXIT_ENV;
	}

	FILE *csv = NULL;
	char csv_path[PATH_MAX + 16];
	if (format == FMT_CSV) {
		int fd = open_out(dir, "index.csv", csv_path, sizeof csv_path);
		if (fd < 0 || !(csv = fdopen(fd, "w"))) {
			fprintf(stderr, "dossier export: cannot write %s: %s\n", csv_path, strerror(errno));
			if (fd >= 0)
				close(fd);
			free(p.ids);
			store_close(st);
			return EXIT_ENV;
		}
		static const char *const head[] = {"id", "path", "kind", "status", "title", "date", "size", "tags", "summary"};
		for (size_t i = 0; i < 9; i++)
			csv_field(csv, head[i], i == 8);
	}
	json_t *index = json_array();
	int n_files = 0, n_orig = 0, n_orig_failed = 0, n_without = 0, n_docs = 0;
	for (size_t i = 0; i < p.n && !rc; i++) {
		struct doc_rec d;
		if (store_doc_get(st, p.ids[i], &d, NULL))
			continue; /* forgotten meanwhile */
		if ((status && strcmp(d.status, status)) || (kind && strcmp(d.kind, kind))) {
			doc_rec_clear(&d);
			continue;
		}
		n_docs++;
		char *text = NULL;
		json_t *dj = NULL;
		if (store_dossier_get(st, d.id, &text, NULL) == 0)
			dj = json_loads(text, 0, NULL);
		const char *title = json_string_value(json_object_get(dj, "title"));
		const char *label = title && *title ? title : (d.name ? d.name : base_of(d.path));
		char date[32], name[128];
		doc_date(dj, &d, date);
		json_t *entry = json_pack("{s:I,s:o,s:s,s:s,s:o,s:s,s:I}", "id", (json_int_t)d.id, "path",
		                          json_string_lossy(d.path), "kind", d.kind, "status", d.status, "title",
		                          json_string_lossy(title ? title : ""), "date", date, "bytes", (json_int_t)d.bytes);
		json_t *tag_arr = json_object_get(dj, "tags");
		json_object_set_new(entry, "tags", tag_arr ? json_incref(tag_arr) : json_array());
		if (d.missing_at > 0)
			json_object_set_new(entry, "missing", json_true());
		if (dj && format != FMT_CSV) {
			char *body;
			if (format == FMT_JSON) {
				safe_name(d.id, label, ".json", name, sizeof name);
				size_t len = strlen(text);
				body = xcalloc(1, len + 2);
				memcpy(body, text, len);
				body[len] = '\n';
			} else {
				safe_name(d.id, label, ".md", name, sizeof name);
				body = dossier_to_markdown(dj);
			}
			if (!body || write_file(dir, name, body))
				rc = EXIT_ENV;
			else
				n_files++;
			free(body);
			json_object_set_new(entry, "file", json_string(name));
		} else if (!dj) {
			n_without++;
		}
		if (format == FMT_CSV) {
			char id_s[24], size_s[24];
			snprintf(id_s, sizeof id_s, "%lld", (long long)d.id);
			snprintf(size_s, sizeof size_s, "%lld", (long long)d.bytes);
			char *tags = tags_joined(dj);
			char *path_s = utf8_repair(d.path, strlen(d.path));
			csv_field(csv, id_s, 0);
			csv_field(csv, path_s, 0);
			csv_field(csv, d.kind, 0);
			csv_field(csv, d.status, 0);
			csv_field(csv, title, 0);
			csv_field(csv, date, 0);
			csv_field(csv, size_s, 0);
			csv_field(csv, tags, 0);
			csv_field(csv, json_string_value(json_object_get(dj, "summary")), 1);
			free(tags);
			free(path_s);
		}
		if (originals && !rc) {
			char ext[16], orig[128];
			path_ext(d.path, ext, sizeof ext);
			const char *bn = d.name ? d.name : base_of(d.path);
			/* the name without its extension, then the extension kept as it was */
			char stem[96];
			snprintf(stem, sizeof stem, "%s", bn);
			char *dot = strrchr(stem, '.');
			if (dot && *ext)
				*dot = '\0';
			safe_name(d.id, stem, ext, orig, sizeof orig);
			int c = copy_file(d.path, files_dir, orig);
			if (c < 0) {
				rc = EXIT_ENV;
			} else if (c > 0) {
				n_orig_failed++;
			} else {
				n_orig++;
				char rel[160];
				snprintf(rel, sizeof rel, "files/%s", orig);
				json_object_set_new(entry, "original", json_string(rel));
			}
		}
		json_array_append_new(index, entry);
		json_decref(dj);
		free(text);
		doc_rec_clear(&d);
	}
	if (csv && fclose(csv) != 0 && !rc) {
		fprintf(stderr, "dossier export: cannot write %s: %s\n", csv_path, strerror(errno));
		rc = EXIT_ENV;
	}
	if (!rc && format == FMT_JSON) {
		char *s = json_dumps(index, JSON_INDENT(2));
		size_t len = s ? strlen(s) : 0;
		char *body = xcalloc(1, len + 2);
		if (s)
			memcpy(body, s, len);
		body[len] = '\n';
		if (write_file(dir, "index.json", body))
			rc = EXIT_ENV;
		free(body);
		free(s);
	}
	json_decref(index);
	free(p.ids);
	store_close(st);
	if (rc)
		return rc;
	printf("exported %d document%s to %s", n_docs, n_docs == 1 ? "" : "s", dir);
	if (format == FMT_CSV)
		printf(" (index.csv)");
	else
		printf(" (%d file%s%s)", n_files, n_files == 1 ? "" : "s", format == FMT_JSON ? " and index.json" : "");
	if (originals)
		printf(", %d original%s in files/", n_orig, n_orig == 1 ? "" : "s");
	if (n_without)
		printf("; %d without a dossier yet", n_without);
	putchar('\n');
	if (n_orig_failed) {
		fprintf(stderr, "dossier export: %d original%s could not be copied (see above)\n", n_orig_failed,
		        n_orig_failed == 1 ? "" : "s");
		return EXIT_DOCS_FAILED;
	}
	return 0;
}

const struct cli_cmd cmd_export = {
	.name = "export",
	.summary = "write the dossiers into a folder (json, md or csv; the originals too)",
	.usage = usage,
	.run = run,
};
