/*
 * sched_model.c — the model lane: LLM steps one at a time, in the order the
 * policy asks for, through the residency manager.
 */
#include "sched/sched_internal.h"
#include "core/err.h"

#include <string.h>

void *model_lane_main(void *arg)
{
	(void)arg;
	return NULL;
}

void lane_env_release(struct step_env *env)
{
	(void)env;
}
