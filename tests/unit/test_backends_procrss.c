/* test_backends_procrss.c — a loaded Ollama model's resident set from a
 * /proc tree (a fake one under $TMPDIR): the runner whose --model is the
 * model's weights file, not another runner, not `ollama serve`, not a process
 * that merely names the file; the only runner when no path is known; none. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/procrss.h"

static char root[512];

/* <root>/<pid>/cmdline (argv joined by NULs) and status with VmRSS kb (0 = no line). */
static void proc(int pid, const char *const *argv, unsigned long kb)
{
	char p[700];
	snprintf(p, sizeof p, "%s/%d", root, pid);
	mkdir(p, 0755);
	snprintf(p, sizeof p, "%s/%d/cmdline", root, pid);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	for (int i = 0; argv[i]; i++)
		fwrite(argv[i], 1, strlen(argv[i]) + 1, f);
	fclose(f);
	snprintf(p, sizeof p, "%s/%d/status", root, pid);
	f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f, "Name:\tx\nVmPeak:\t999999 kB\n");
	if (kb)
		fprintf(f, "VmRSS:\t%lu kB\n", kb);
	fprintf(f, "Threads:\t4\n");
	fclose(f);
}

static void rm_tree(void)
{
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

#define BLOB_A "/root/.ollama/models/blobs/sha256-aaaa"
#define BLOB_B "/root/.ollama/models/blobs/sha256-bbbb"

static void finds_the_runner_of_the_model(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(root, sizeof root, "%s/procrss-%d", tmp && *tmp ? tmp : "/tmp", (int)getpid());
	rm_tree();
	mkdir(root, 0755);
	uint64_t b = 0;
	assert_int_equal(proc_ollama_runner_rss(root, BLOB_A, &b), -1); /* nothing runs */

	const char *serve[] = {"/usr/local/bin/ollama", "serve", NULL};
	const char *cat[] = {"cat", BLOB_A, NULL};
	const char *ra[] = {"/usr/local/bin/ollama", "runner", "--model", BLOB_A, "--ctx-size", "4096", "--port", "4001", NULL};
	proc(100, serve, 50000);
	proc(200, cat, 700);
	assert_int_equal(proc_ollama_runner_rss(root, BLOB_A, &b), -1); /* serve and cat are not runners */
	assert_int_equal(proc_ollama_runner_rss(root, NULL, &b), -1);
	proc(300, ra, 2100000);
	assert_int_equal(proc_ollama_runner_rss(root, BLOB_A, &b), 0);
	assert_int_equal(b, 2100000ull * 1024);
	assert_int_equal(proc_ollama_runner_rss(root, BLOB_B, &b), -1);
	b = 0;
	assert_int_equal(proc_ollama_runner_rss(root, NULL, &b), 0); /* the only runner */
	assert_int_equal(b, 2100000ull * 1024);

	/* a second runner (the older binary name): each found by its model, no guess without one */
	const char *rb[] = {"/usr/lib/ollama/runners/cpu/ollama_llama_server", "--model", BLOB_B, "--port", "4002", NULL};
	proc(400, rb, 300000);
	assert_int_equal(proc_ollama_runner_rss(root, BLOB_B, &b), 0);
	assert_int_equal(b, 300000ull * 1024);
	assert_int_equal(proc_ollama_runner_rss(root, BLOB_A, &b), 0);
	assert_int_equal(b, 2100000ull * 1024);
	assert_int_equal(proc_ollama_runner_rss(root, "", &b), -1);

	/* a runner without VmRSS (a zombie) does not count */
	const char *rc[] = {"ollama", "runner", "--model", "/m/c", NULL};
	proc(500, rc, 0);
	assert_int_equal(proc_ollama_runner_rss(root, "/m/c", &b), -1);
	assert_int_equal(proc_ollama_runner_rss("/nonexistent-proc-root", BLOB_A, &b), -1);
	rm_tree();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(finds_the_runner_of_the_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
