/* json_arena: cJSON trees whose nodes and strings live in an arena.
 *
 * cJSON takes every node and every string of a parse from malloc, and
 * cJSON_Delete gives each back: for an event of a dozen fields that is
 * dozens of mallocs and frees, more time than the parse itself. A parse
 * through json_arena_parse takes its memory from the caller's arena
 * instead, and the tree dies with it (arena_reset or arena_rewind).
 *
 * This works through cJSON's process-wide hooks, installed before main: a
 * thread inside json_arena_parse allocates from its arena; everywhere else
 * (other threads, every other cJSON call) the hooks are plain malloc and
 * free, so the rest of the program is unaffected. json_arena_parse tries
 * json_fast (json_fast.h) first: the same tree for strict JSON without
 * cJSON's per-value costs; cJSON parses whatever it declines. */
#ifndef MLW_JSON_ARENA_H
#define MLW_JSON_ARENA_H

#include <cJSON.h>
#include <stddef.h>

#include "arena.h"

/* cJSON_ParseWithLengthOpts (no NUL required) with the tree in a. *end is
 * set to where parsing stopped (the error position on failure). The tree
 * is read-only: never cJSON_Delete it nor add to it. NULL on invalid JSON
 * or when a's limit is reached. */
cJSON *json_arena_parse(struct arena *a, const char *s, size_t len, const char **end);

#endif
