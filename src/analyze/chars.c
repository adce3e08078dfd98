/*
 * chars.c — UTF-8 coding, Latin-aware character classes and a string interner.
 */
#include "analyze/internal.h"
#include "core/util.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ UTF-8 ---- */

uint32_t an_utf8_decode(const char *s, size_t n, size_t *adv)
{
	size_t len;
	uint32_t cp = utf8_decode(s, n, &len);
	*adv = len ? len : 1;
	return len ? cp : 0xFFFD;
}

size_t an_utf8_encode(uint32_t cp, char *out)
{
	unsigned char *o = (unsigned char *)out;
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | cp >> 6);
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | cp >> 12);
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (unsigned char)(0xF0 | cp >> 18);
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
	o[3] = (unsigned char)(0x80 | (cp & 0x3F));
	return 4;
}

/* -------------------------------------------------------- character classes ---- */

uint32_t an_lower(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'A' && cp <= 'Z') ? cp + 32 : cp;
	if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7)
		return cp + 32;
	if (cp >= 0x100 && cp <= 0x17F) {
		/* Latin Extended-A alternates upper/lower, with the parity flipping twice. */
		if (cp == 0x130)
			return 'i';
		if (cp == 0x178)
			return 0xFF;
		if ((cp >= 0x100 && cp <= 0x137) || (cp >= 0x14A && cp <= 0x177))
			return (cp % 2 == 0) ? cp + 1 : cp;
		if ((cp >= 0x139 && cp <= 0x148) || (cp >= 0x179 && cp <= 0x17E))
			return (cp % 2 == 1) ? cp + 1 : cp;
		return cp;
	}
	if (cp >= 0x391 && cp <= 0x3A9 && cp != 0x3A2)   /* Greek */
		return cp + 32;
	if (cp >= 0x410 && cp <= 0x42F)                  /* Cyrillic */
		return cp + 32;
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 80;
	if (cp == 0x1E9E)                                /* capital sharp s */
		return 0xDF;
	return cp;
}

int an_is_upper(uint32_t cp)
{
	return an_lower(cp) != cp;
}

int an_is_digit(uint32_t cp)
{
	return cp >= '0' && cp <= '9';
}

int an_is_letter(uint32_t cp)
{
	if (cp < 0x80)
		return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
	if (cp < 0xC0)
		return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
	if (cp == 0xD7 || cp == 0xF7)
		return 0;
	if (cp < 0x2B0)                     /* Latin-1 letters, Extended-A/B, IPA */
		return 1;
	if (cp < 0x370)                     /* spacing modifiers, combining marks */
		return cp >= 0x300;         /* combining marks belong to their word */
	if (cp >= 0x2000 && cp <= 0x2BFF)   /* punctuation, currency, symbols, arrows */
		return 0;
	if (cp >= 0x3000 && cp <= 0x303F)   /* CJK punctuation */
		return 0;
	if (cp >= 0xFE00 && cp <= 0xFE6F)
		return 0;
	if (cp >= 0xFF00 && cp <= 0xFF20)
		return 0;
	if (cp == 0xFFFD || cp == 0xFEFF)
		return 0;
	if (cp >= 0x1F000)                  /* emoji and pictographs */
		return 0;
	return 1;
}

int an_is_space(uint32_t cp)
{
	return cp == ' ' || cp == '\t' || cp == '\v' || cp == '\f' || cp == 0xA0 ||
	       (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

/* ---------------------------------------------------------------- interner ---- */

static uint32_t hash_bytes(const char *s, size_t n)
{
	uint32_t h = 2166136261u;   /* FNV-1a */
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 16777619u;
	}
	return h;
}

void an_intern_init(struct an_intern *in)
{
	memset(in, 0, sizeof *in);
}

void an_intern_free(struct an_intern *in)
{
	if (!in)
		return;
	free(in->arena);
	free(in->off);
	free(in->len);
	free(in->slots);
	memset(in, 0, sizeof *in);
}

const char *an_intern_str(const struct an_intern *in, uint32_t id)
{
	return in->arena + in->off[id];
}

static int intern_grow_slots(struct an_intern *in)
{
	uint32_t nslots = in->nslots ? in->nslots * 2 : 1024;
	uint32_t *slots = calloc(nslots, sizeof *slots);
	if (!slots)
		return -1;
	for (uint32_t id = 0; id < in->count; id++) {
		uint32_t h = hash_bytes(in->arena + in->off[id], in->len[id]) & (nslots - 1);
		while (slots[h])
			h = (h + 1) & (nslots - 1);
		slots[h] = id + 1;
	}
	free(in->slots);
	in->slots = slots;
	in->nslots = nslots;
	return 0;
}

uint32_t an_intern_add(struct an_intern *in, const char *s, size_t len)
{
	if (len > 0xFFFF)
		len = 0xFFFF;
	if ((uint64_t)(in->count + 1) * 2 > in->nslots && intern_grow_slots(in) != 0)
		return UINT32_MAX;
	uint32_t h = hash_bytes(s, len) & (in->nslots - 1);
	while (in->slots[h]) {
		uint32_t id = in->slots[h] - 1;
		if (in->len[id] == len && memcmp(in->arena + in->off[id], s, len) == 0)
			return id;
		h = (h + 1) & (in->nslots - 1);
	}
	if (in->count == in->cap_ids) {
		uint32_t cap = in->cap_ids ? in->cap_ids * 2 : 512;
		uint32_t *off = realloc(in->off, cap * sizeof *off);
		if (!off)
			return UINT32_MAX;
		in->off = off;
		uint32_t *lens = realloc(in->len, cap * sizeof *lens);
		if (!lens)
			return UINT32_MAX;
		in->len = lens;
		in->cap_ids = cap;
	}
	if (in->arena_len + len + 1 > in->arena_size) {
		size_t size = in->arena_size ? in->arena_size * 2 : 16384;
		while (size < in->arena_len + len + 1)
			size *= 2;
		char *a = realloc(in->arena, size);
		if (!a)
			return UINT32_MAX;
		in->arena = a;
		in->arena_size = size;
	}
	uint32_t id = in->count++;
	in->off[id] = (uint32_t)in->arena_len;
	in->len[id] = (uint32_t)len;
	memcpy(in->arena + in->arena_len, s, len);
	in->arena[in->arena_len + len] = '\0';
	in->arena_len += len + 1;
	in->slots[h] = id + 1;
	return id;
}
