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

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_tree(const cJSON *x, const cJSON *y)
{
	if ((x->type & 0xff) != (y->type & 0xff) || !same_str(x->string, y->string) ||
	    !same_str(x->valuestring, y->valuestring) ||
	    memcmp(&x->valuedouble, &y->valuedouble, sizeof(double)) != 0 ||
	    x->valueint != y->valueint)
		return false;
	const cJSON *a = x->child, *b = y->child;
	if ((a == NULL) != (b == NULL))
		return false;
	if (a) {
		const cJSON *la = a, *lb = b;
		while (la->next)
			la = la->next;
		while (lb->next)
			lb = lb->next;
		if (a->prev != la || b->prev != lb)
			return false;
	}
	for (; a && b; a = a->next, b = b->next)
		if ((a->next && a->next->prev != a) || !same_tree(a, b))
			return false;
	return !a && !b;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	const char *fend = NULL, *cend = NULL, *aend = NULL;
	struct arena a;

	arena_init(&a, 0);
	cJSON *f = json_fast_parse(&a, s, size, &fend);
	cJSON *c = size ? cJSON_ParseWithLengthOpts(s, size, &cend, 0) : NULL;
	if (f && (!c || fend != cend || !same_tree(f, c)))
		abort();
	arena_rewind(&a);
	cJSON *j = size ? json_arena_parse(&a, s, size, &aend) : NULL;
	if ((j == NULL) != (c == NULL) || (j && (aend != cend || !same_tree(j, c))))
		abort();
	cJSON_Delete(c);
	arena_reset(&a);
	return 0;
}
