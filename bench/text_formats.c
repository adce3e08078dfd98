/*
 * bench/text_formats.c — speed of text_normalize on HTML and Markdown:
 *   bench_text_formats [MB]     times generated inputs of about MB megabytes each
 *                               (default 8): one large HTML page, many small pages,
 *                               one large Markdown file, and plain text for scale.
 *                               Prints "input MB seconds MB/s out-bytes out-hash"
 *                               (CPU seconds, best of three runs, so that a busy
 *                               machine skews less; hash: FNV-1a of the text).
 *   bench_text_formats --samples   prints the title and text of a few snippets
 *                               (entities, malformed HTML, CommonMark corners), so
 *                               that two builds can be compared with diff.
 * bench/text_formats.sh builds this file against two commits and compares them.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyze/text.h"
#include "core/err.h"

struct gen {
	char *p;
	size_t n, cap;
};

static void put(struct gen *g, const char *s)
{
	size_t l = strlen(s);
	if (g->n + l + 1 > g->cap) {
		g->cap = (g->n + l + 1) * 2;
		g->p = realloc(g->p, g->cap);
		if (!g->p)
			exit(1);
	}
	memcpy(g->p + g->n, s, l + 1);
	g->n += l;
}

static const char *const words[] = {
	"the", "ferry", "leaves", "harbour", "at", "nine", "tickets", "café", "Zürich", "report",
	"quarterly", "revenue", "grew", "by", "twelve", "percent", "while", "costs", "fell", "and",
};

static void sentence(struct gen *g, unsigned *seed, int n)
{
	for (int i = 0; i < n; i++) {
		*seed = *seed * 1103515245u + 12345u;
		put(g, words[(*seed >> 16) % 20]);
		put(g, i + 1 < n ? " " : ". ");
	}
}

/* A page: head with style and script, headings, paragraphs with entities and
 * links, a list, a table. sections ~ 1 KB each. */
static void html_page(struct gen *g, unsigned *seed, int sections)
{
	put(g, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Quarterly report &mdash; "
	       "Caf&eacute; &amp; Co</title>\n<style>body{font:12px sans-serif} td{padding:2px}</style>\n"
	       "<script>var x = 1; if (x < 2) { document.title = \"t\"; }</script></head>\n<body>\n");
	for (int s = 0; s < sections; s++) {
		put(g, "<div class=\"section\"><h2>Section &ndash; ");
		sentence(g, seed, 4);
		put(g, "</h2>\n<p>");
		sentence(g, seed, 30);
		put(g, "See <a href=\"https://example.com/a?b=1&amp;c=2\">the &ldquo;notes&rdquo;</a> &hellip; "
		       "&copy; 2024 &euro;5&nbsp;000.</p>\n<ul><li>");
		sentence(g, seed, 6);
		put(g, "</li><li>");
		sentence(g, seed, 6);
		put(g, "</li></ul>\n<table><tr><th>Item</th><th>Price</th></tr><tr><td>Tea</td><td>&pound;2</td></tr>"
		       "</table>\n<!-- a comment --></div>\n");
	}
	put(g, "</body></html>\n");
}

static void md_file(struct gen *g, unsigned *seed, int sections)
{
	put(g, "Quarterly report\n================\n\n");
	for (int s = 0; s < sections; s++) {
		put(g, "## Section ");
		sentence(g, seed, 4);
		put(g, "\n\n");
		sentence(g, seed, 15);
		put(g, "with **bold**, _emphasis_, `code` and a [link](https://example.com/x \"t\").\n");
		sentence(g, seed, 15);
		put(g, "&copy; &amp; ![an image](img.png)\n\n- ");
		sentence(g, seed, 6);
		put(g, "\n- [x] ");
		sentence(g, seed, 6);
		put(g, "\n  1. nested\n\n> ");
		sentence(g, seed, 8);
		put(g, "\n\n| Item | Price |\n|------|------:|\n| Tea | 2 |\n| Cake | 3 |\n\n```c\n"
		       "int main(void) { return 0; }\n```\n\n");
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t fnv(const char *s, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	return h;
}

/* Normalises count inputs (each len bytes, back to back in p) as fmt; best of three. */
static void bench(const char *name, const char *p, size_t len, int count, enum text_format fmt)
{
	double best = 1e9;
	size_t out = 0;
	uint64_t h = 1469598103934665603ull;
	for (int round = 0; round < 3; round++) {
		out = 0;
		h = 1469598103934665603ull;
		double t0 = now();
		for (int i = 0; i < count; i++) {
			char *text = NULL, *title = NULL, enc[16];
			size_t tl = 0;
			struct err e = {0};
			if (text_normalize(p + (size_t)i * len, len, fmt, &text, &tl, &title, enc, &e) == 0) {
				out += tl;
				h = fnv(text, tl, h);
				if (title)
					h = fnv(title, strlen(title), h);
			}
			free(text);
			free(title);
		}
		double t = now() - t0;
		if (t < best)
			best = t;
	}
	double mb = (double)len * count / 1e6;
	printf("%-16s %8.2f %8.3f %8.1f %10zu %016llx\n", name, mb, best, mb / best, out, (unsigned long long)h);
}

static const char *const samples[][2] = {
	{ "h", "<p>&NotNestedGreaterGreater; &bigstar; &check; &star; &spades; &forall; &rArr; &sum;</p>" },
	{ "h", "<p>&amp;amp; &lt 6 &bogus; &#150; &#x1F600; &#0; &#xD800;</p>" },
	{ "h", "<title>T</title><p>one<p>two</span><table><tr><td>a<td>b<tr><td>c</table><div>x <i>y <b>z</i> w" },
	{ "h", "<html><head><meta charset=\"iso-8859-1\"></head><body>Café</body></html>" },
	{ "h", "<p>a<![CDATA[ cdata ]]>b</p><svg><text>svg text</text></svg><math>m</math><template>t</template>" },
	{ "h", "<head>stray head text<title>In head</title></head><body>body</body>" },
	{ "m", "A title\nover two lines\n---\n\nBody.\n" },
	{ "m", "Text\n\n---\n\n    # code, not heading\n\n#5 not heading\n" },
	{ "m", "| a | b |\n|---|---|\n| 1 | 2 |\n" },
	{ "m", "- a\n  - b\n    1. c\n- d\n\n  loose\n" },
	{ "m", "<div>\n<p>in &amp; out</p>\n<script>x()</script>\n</div>\n\nSome <b>bold</b> &spades; &bigstar;\n" },
	{ "m", "[a](http://x.y) ![img alt](i.png) [r][r] <http://auto.link> \\*not em\\*\n\n[r]: http://r.s\n" },
	{ "m", "*a **b** c* ***d*** __e__ ~~f~~ `` g ` h ``\n" },
	{ "m", "1) one\n2) two\n\n+ plus\n\nterm\n: not a definition list\n" },
};

static void print_samples(void)
{
	for (size_t i = 0; i < sizeof samples / sizeof samples[0]; i++) {
		const char *in = samples[i][1];
		enum text_format fmt = samples[i][0][0] == 'h' ? TEXT_FORMAT_HTML : TEXT_FORMAT_MARKDOWN;
		char *text = NULL, *title = NULL, enc[16];
		size_t tl = 0;
		struct err e = {0};
		int rc = text_normalize(in, strlen(in), fmt, &text, &tl, &title, enc, &e);
		printf("== %s sample %zu\n", samples[i][0][0] == 'h' ? "html" : "markdown", i + 1);
		if (rc)
			printf("error: %s\n", e.msg);
		else
			printf("title: %s\ntext:\n%s\n", title ? title : "(none)", text);
		free(text);
		free(title);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--samples") == 0) {
		print_samples();
		return 0;
	}
	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: bench_text_formats [MB] | --samples\n");
		return 0;
	}
	double mb = argc > 1 ? atof(argv[1]) : 8;
	if (mb <= 0 || mb > 60) {
		fprintf(stderr, "bench_text_formats: MB must be between 0 and 60 (the normaliser's input cap)\n");
		return 2;
	}
	unsigned seed = 7;
	int sections = (int)(mb * 1e6 / 1000);
	printf("%-16s %8s %8s %8s %10s %16s\n", "input", "MB", "seconds", "MB/s", "out_bytes", "out_hash");

	struct gen g = {0};
	html_page(&g, &seed, sections);
	bench("html_large", g.p, g.n, 1, TEXT_FORMAT_HTML);

	/* many small pages of the same size, back to back */
	struct gen one = {0};
	html_page(&one, &seed, 2);
	int pages = (int)(mb * 1e6 / (double)one.n) + 1;
	struct gen many = {0};
	for (int i = 0; i < pages; i++)
		put(&many, one.p);
	bench("html_small_pages", many.p, one.n, pages, TEXT_FORMAT_HTML);

	struct gen m = {0};
	md_file(&m, &seed, sections);
	bench("markdown_large", m.p, m.n, 1, TEXT_FORMAT_MARKDOWN);
	bench("markdown_as_plain", m.p, m.n, 1, TEXT_FORMAT_PLAIN);
	free(g.p);
	free(one.p);
	free(many.p);
	free(m.p);
	return 0;
}
