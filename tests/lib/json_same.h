/* json_same: exact equality of two cJSON trees, for the tests that hold
 * json_fast to cJSON (tests/unit/test_json_arena.c, tests/fuzz/fuzz_json_fast.c):
 * types, keys, strings, the bits of every number, valueint, and the links
 * (prev included: the first child's prev is the last child). No threads,
 * no allocation. */
#ifndef MLW_TEST_JSON_SAME_H
#define MLW_TEST_JSON_SAME_H

#include <cJSON.h>
#include <stdbool.h>
#include <stddef.h>

/* true when x and y are the same tree; otherwise false and why in
 * why[cap] (what differs, at the first difference). */
bool json_tree_same(const cJSON *x, const cJSON *y, char *why, size_t cap);

#endif
