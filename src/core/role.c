/*
 * role.c — the role table (see role.h).
 */
#include "core/role.h"
#include "core/err.h"

#include <string.h>

static const struct role_info roles[ROLE_COUNT] = {
	[ROLE_NONE] = {ROLE_NONE, "none", ROLE_LANE_CPU, 0, 0, NULL, NULL, 0, NULL, NULL, 0},
	[ROLE_ASR] = {ROLE_ASR, "asr", ROLE_LANE_ASR, 0, 0, "asr_model", NULL, 0, NULL, NULL, 0},
	[ROLE_TEXT] = {ROLE_TEXT, "text", ROLE_LANE_MODEL, 1, 1, "text_model", "DOSSIER_TEXT_MODEL", 0, "text",
	               "video transcription", 0},
	[ROLE_VISION] = {ROLE_VISION, "vision", ROLE_LANE_MODEL, 1, 1, "vision_model", "DOSSIER_VISION_MODEL", 1, "image",
	                 "video frames", 0},
	/* offline_cpu: with --offline (or no embedding model) its step runs on a cpu
	 * lane and records that the document has no vectors: search stays full-text */
	[ROLE_EMBED] = {ROLE_EMBED, "embed", ROLE_LANE_MODEL, 1, 1, "embed_model", "DOSSIER_EMBED_MODEL", 0, "embedding",
	                "embedding beside speech", 1},
};

const struct role_info *role_info(enum model_role r)
{
	return (unsigned)r < ROLE_COUNT ? &roles[r] : &roles[ROLE_NONE];
}

const char *role_name(enum model_role r)
{
	return role_info(r)->name;
}

int role_parse(const char *s, enum model_role *out)
{
	for (int i = 0; s && i < ROLE_COUNT; i++)
		if (!strcmp(s, roles[i].name)) {
			*out = (enum model_role)i;
			return 0;
		}
	return DOSSIER_EINVAL;
}

unsigned role_mask_llm(void)
{
	unsigned m = 0;
	for (int i = 0; i < ROLE_COUNT; i++)
		if (roles[i].is_llm)
			m |= 1u << i;
	return m;
}

unsigned role_mask_lane(enum role_lane lane)
{
	unsigned m = 0;
	for (int i = 0; i < ROLE_COUNT; i++)
		if (roles[i].lane == lane)
			m |= 1u << i;
	return m;
}

unsigned role_mask_offline_cpu(void)
{
	unsigned m = 0;
	for (int i = 0; i < ROLE_COUNT; i++)
		if (roles[i].offline_cpu)
			m |= 1u << i;
	return m;
}
