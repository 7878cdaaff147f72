/* json_same: see json_same.h. */
#include "json_same.h"

#include <stdio.h>
#include <string.h>

/* Exact equality of two trees: types, keys, strings, the bits of every
 * number, valueint, and the links (prev included: the first child's prev
 * is the last child). */
bool json_tree_same(const cJSON *x, const cJSON *y, char *why, size_t cap)
{
	if ((x->type & 0xff) != (y->type & 0xff))
		return snprintf(why, cap, "type %d vs %d", x->type, y->type), false;
	if ((x->string == NULL) != (y->string == NULL) ||
	    (x->string && strcmp(x->string, y->string) != 0))
		return snprintf(why, cap, "key %s vs %s", x->string, y->string), false;
	if ((x->valuestring == NULL) != (y->valuestring == NULL) ||
	    (x->valuestring && strcmp(x->valuestring, y->valuestring) != 0))
		return snprintf(why, cap, "string %s vs %s", x->valuestring, y->valuestring), false;
	if (memcmp(&x->valuedouble, &y->valuedouble, sizeof(double)) != 0 ||
	    x->valueint != y->valueint)
		return snprintf(why, cap, "number %.17g/%d vs %.17g/%d", x->valuedouble,
		                x->valueint, y->valuedouble, y->valueint),
		       false;
	const cJSON *a = x->child, *b = y->child;
	if ((a == NULL) != (b == NULL))
		return snprintf(why, cap, "children present in one only"), false;
	if (a) {
		const cJSON *la = a, *lb = b;
		while (la->next)
			la = la->next;
		while (lb->next)
			lb = lb->next;
		if (a->prev != la || b->prev != lb)
			return snprintf(why, cap, "first child's prev is not the last"), false;
	}
	for (; a && b; a = a->next, b = b->next) {
		if (a->next && a->next->prev != a)
			return snprintf(why, cap, "broken prev link"), false;
		if (!json_tree_same(a, b, why, cap))
			return false;
	}
	if (a || b)
		return snprintf(why, cap, "child counts differ"), false;
	return true;
}
