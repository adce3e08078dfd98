#include "cli/llm_setup.h"
#include "core/err.h"

#include <string.h>

int llm_setup_open(const struct config *cfg, bus *b, struct llm_setup *out, struct err *err)
{
	memset(out, 0, sizeof *out);
	out->unavailable = 1;
	snprintf(out->unavailable_msg, sizeof out->unavailable_msg,
	         "the Ollama backend is not wired into this build yet; run with --offline");
	return 0;
}

int llm_setup_check_plan(const struct config *cfg, struct llm_setup *l, char *const *paths, int n,
                         struct err *err)
{
	return 0;
}

int llm_setup_finish(struct llm_setup *l, struct err *err)
{
	return 0;
}

void llm_setup_report(struct llm_setup *l, FILE *out)
{
}

void llm_setup_close(struct llm_setup *l)
{
}
