/*
 * procrss.h — the resident set of an engine's serving process on this
 * machine, read from /proc: what a model really takes once loaded, beside
 * the size the engine reports. Ollama runs each loaded model in a child,
 * `ollama runner ... --model <the GGUF blob> ...`; its VmRSS is the model's.
 *
 *   uint64_t rss;
 *   if (proc_ollama_runner_rss("/proc", "/root/.ollama/models/blobs/sha256-ab..", &rss) == 0) ...
 */
#ifndef DOSSIER_BACKENDS_PROCRSS_H
#define DOSSIER_BACKENDS_PROCRSS_H

#include <stdint.h>

/*
 * VmRSS in bytes of the Ollama runner process under proc_root ("/proc", or a
 * test's tree of <pid>/cmdline and <pid>/status files) whose arguments hold
 * model_path; with model_path NULL or "", of the only runner running. A
 * runner is a process whose first argument's base name starts with "ollama"
 * and whose second is "runner" (or the older "ollama_llama_server"). 0 when
 * found; -1 when there is none, or several and no path tells them apart.
 */
int proc_ollama_runner_rss(const char *proc_root, const char *model_path, uint64_t *bytes);

#endif
