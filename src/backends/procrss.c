/*
 * procrss.c — see procrss.h.
 */
#include "backends/procrss.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* argv of process pid as NUL-separated strings into buf; its length, or 0. */
static size_t read_cmdline(const char *root, const char *pid, char *buf, size_t cap)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s/cmdline", root, pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

static int is_runner(const char *args, size_t n)
{
	const char *a0 = args, *base = strrchr(a0, '/');
	base = base ? base + 1 : a0;
	if (!strcmp(base, "ollama_llama_server"))
		return 1;
	size_t l0 = strlen(a0);
	return !strncmp(base, "ollama", 6) && l0 + 1 < n && !strcmp(args + l0 + 1, "runner");
}

static int has_arg(const char *args, size_t n, const char *want)
{
	for (size_t i = 0; i < n; i += strlen(args + i) + 1)
		if (!strcmp(args + i, want))
			return 1;
	return 0;
}

static int vmrss(const char *root, const char *pid, uint64_t *bytes)
{
	char path[4200], line[256];
	snprintf(path, sizeof path, "%s/%s/status", root, pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	int rc = -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6)) {
			unsigned long long kb = strtoull(line + 6, NULL, 10);
			if (kb) {
				*bytes = (uint64_t)kb * 1024;
				rc = 0;
			}
			break;
		}
	fclose(f);
	return rc;
}

int proc_ollama_runner_rss(const char *proc_root, const char *model_path, uint64_t *bytes)
{
	DIR *d = opendir(proc_root ? proc_root : "/proc");
	if (!d)
		return -1;
	const char *root = proc_root ? proc_root : "/proc";
	int any_path = !model_path || !*model_path, found = 0;
	uint64_t rss = 0;
	char args[8192];
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		size_t n = read_cmdline(root, de->d_name, args, sizeof args);
		if (!n || !is_runner(args, n) || (!any_path && !has_arg(args, n, model_path)))
			continue;
		uint64_t b = 0;
		if (vmrss(root, de->d_name, &b))
			continue;
		rss = b;
		if (++found > 1 && any_path)
			break;
		if (!any_path)
			break;
	}
	closedir(d);
	if (found != 1 && !(found && !any_path))
		return -1;
	*bytes = rss;
	return 0;
}
