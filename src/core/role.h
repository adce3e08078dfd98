/*
 * role.h — the model roles: the one table that says which roles exist, which
 * lane runs a role's steps, and whether the role is served by an LLM engine
 * (and so is subject to residency: loads, unloads, swaps).
 *
 *   for (int r = 0; r < ROLE_COUNT; r++)
 *       if (role_info(r)->is_llm) ...;          // every LLM role, whatever they are
 *
 * Adding a role (as the embedding model was) is one enum value and one row in
 * role.c; residency, the model lane, the planner and `dossier models` iterate
 * the table. Thread safe: the table is static and read-only.
 */
#ifndef DOSSIER_CORE_ROLE_H
#define DOSSIER_CORE_ROLE_H

enum model_role {
	ROLE_NONE = 0,  /* needs no model: a cpu lane */
	ROLE_ASR,       /* the in-process speech model */
	ROLE_TEXT,      /* the text LLM */
	ROLE_VISION,    /* the vision LLM */
	ROLE_EMBED,     /* the embedding model: one vector per chunk of a document's text */
	ROLE_COUNT
};

/* Which kind of lane runs a role's steps. */
enum role_lane {
	ROLE_LANE_CPU = 0,  /* cpu lanes (about one per core) */
	ROLE_LANE_ASR,      /* the lane that owns the resident speech engine */
	ROLE_LANE_MODEL,    /* the model lane: one LLM request at a time, through residency */
};

struct role_info {
	enum model_role role;   /* the row's own value */
	const char *name;       /* "none", "asr", "text", "vision", "embed": stored in the queue, shown to people */
	enum role_lane lane;    /* who runs its steps */
	int is_llm;             /* 1 = served by the LLM engine (residency applies) */
	int offline_cpu;        /* 1 = with --offline its steps run on cpu lanes (offline analysers) */
	const char *model_key;  /* config key naming its model ("text_model"); NULL = none */
	const char *env_var;    /* environment variable naming its model; NULL = none */
	int reads_images;       /* 1 = its model must accept images (the engine's "vision" capability) */
	const char *scenario;     /* LLM roles: the planner's name for its model resident alone ("text") */
	const char *scenario_asr; /* LLM roles: ... beside the speech model ("video transcription") */
	int optional;           /* 1 = a run without its model is complete: its steps record that they had
	                           none (the embed role: search stays full-text), never fail for it */
};

/* The row for r (never NULL: an out-of-range r gives ROLE_NONE's row). */
const struct role_info *role_info(enum model_role r);
const char *role_name(enum model_role r);          /* role_info(r)->name */
/* 0 and *out set, or DOSSIER_EINVAL for a name that is no role. */
int role_parse(const char *s, enum model_role *out);
/* Bit (1u << r) for every LLM role. */
unsigned role_mask_llm(void);
/* Bit (1u << r) for every role run by lanes of this kind. */
unsigned role_mask_lane(enum role_lane lane);
/* Bit (1u << r) for every role whose steps run on cpu lanes with --offline. */
unsigned role_mask_offline_cpu(void);

#endif
