/* fuzz-deps: tests/lib/json_same.c */
/* libFuzzer target: json_fast against cJSON (common/json_fast.h). For any
 * input, from its first byte: when json_fast accepts, cJSON must accept the
 * same bytes, stop at the same byte and build the same tree (types, keys,
 * strings, the bits of every number, valueint, child/next/prev links);
 * json_fast may decline anything. Then json_arena_parse (fast path with
 * cJSON behind it) must agree with cJSON on accepting at all. */
#include <cJSON.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "json_arena.h"
#include "json_fast.h"
#include "../lib/json_same.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *fend = NULL, *cend = NULL, *aend = NULL;
	struct arena a;
	char why[256];

	arena_init(&a, 0);
	cJSON *f = json_fast_parse(&a, s, size, &fend);
	cJSON *c = size ? cJSON_ParseWithLengthOpts(s, size, &cend, 0) : NULL;
	if (f && (!c || fend != cend || !json_tree_same(f, c, why, sizeof(why))))
		abort();
	arena_rewind(&a);
	cJSON *j = size ? json_arena_parse(&a, s, size, &aend) : NULL;
	if ((j == NULL) != (c == NULL) ||
	    (j && (aend != cend || !json_tree_same(j, c, why, sizeof(why)))))
		abort();
	cJSON_Delete(c);
	arena_reset(&a);
	return 0;
}
