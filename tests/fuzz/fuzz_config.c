/*
 * fuzz_config.c — libFuzzer target for the config file reader
 * (config_load_stream) and the EXIF parser (exif_parse_mem), both fed bytes a
 * user or a camera wrote. The first byte picks the parser. A refused config
 * must name its line; nothing may crash or read out of bounds. Built and run
 * by tests/fuzz/run.sh.
 */
#include "core/config.h"
#include "core/err.h"
#include "media/exif.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1) {
		struct exif x;
		(void)exif_parse_mem(data + 1, size - 1, &x);
		return 0;
	}
	FILE *f = fmemopen((void *)(data + 1), size - 1 ? size - 1 : 1, "r");
	if (!f)
		return 0;
	struct config c;
	config_defaults(&c, "dev");
	struct err e = {0};
	if (size > 1 && config_load_stream(&c, f, "fuzz.conf", &e) && strncmp(e.msg, "fuzz.conf:", 10))
		abort();
	fclose(f);
	return 0;
}
