/*
 * bench/formats.c — text extraction speed of the format readers:
 *   bench_formats FILE...   prints "FILE  MB  seconds  MB/s  text-bytes" per file
 * (best of three runs; the reader is chosen by the file's extension).
 * bench/formats.sh generates the inputs and compares with Debian's tools.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/util.h"
#include "media/mail.h"
#include "media/office.h"
#include "media/rtf.h"
#include "media/table.h"

static int run(const char *p, json_t **r, struct err *e)
{
	if (str_endswith_ci(p, ".rtf"))
		return rtf_extract(p, 0, r, e);
	if (str_endswith_ci(p, ".eml") || str_endswith_ci(p, ".mbox"))
		return mail_extract(p, NULL, r, e);
	if (str_endswith_ci(p, ".csv") || str_endswith_ci(p, ".tsv"))
		return table_extract(p, r, e);
	return office_extract(p, NULL, r, e);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st)) {
			fprintf(stderr, "%s: no such file\n", argv[i]);
			return 1;
		}
		double best = 1e9;
		size_t tlen = 0;
		for (int k = 0; k < 3; k++) {
			json_t *r = NULL;
			struct err e = {0};
			double t0 = clock_mono_s();
			if (run(argv[i], &r, &e)) {
				fprintf(stderr, "%s\n", e.msg);
				return 1;
			}
			double dt = clock_mono_s() - t0;
			if (dt < best)
				best = dt;
			tlen = strlen(json_string_value(json_object_get(r, "text")));
			json_decref(r);
		}
		double mb = (double)st.st_size / 1e6;
		printf("%s\t%.2f\t%.3f\t%.1f\t%zu\n", argv[i], mb, best, mb / best, tlen);
	}
	return 0;
}
