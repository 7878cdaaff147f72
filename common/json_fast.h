/* json_fast: a strict JSON parser that builds the very cJSON tree
 * cJSON_ParseWithLengthOpts builds (same types, strings, numbers, valueint,
 * next/prev/child links), in an arena, for the common case of the agent's
 * events; json_arena_parse tries it first.
 *
 * Why: cJSON 1.7 spends per value three strncmp (for null, false, true),
 * and per number a localeconv() call and a strtod, plus a hook call per
 * node. This parser converts the usual decimal numbers exactly without
 * strtod (a significand below 2^53 times an exact power of ten is one
 * correctly rounded IEEE operation; other numbers go to strtod_l in the C
 * locale, which rounds the same) and allocates from the arena directly.
 *
 * It accepts a subset of what cJSON accepts: RFC 8259 JSON with only
 * space, tab, CR and LF as blanks, numbers of at most 63 characters,
 * strings without \u escapes, nesting at most JSON_FAST_DEPTH deep. On
 * anything else (including every error) it declines with NULL and the
 * caller parses with cJSON, which either builds the same tree or reports
 * the error exactly as before. Whatever it accepts, cJSON accepts with an
 * identical tree (tests/unit/test_json_arena.c and fuzz_json_fast compare
 * the two).
 *
 * Thread-safe; no state besides a C locale made once. */
#ifndef MLW_JSON_FAST_H
#define MLW_JSON_FAST_H

#include <cJSON.h>
#include <stddef.h>

#include "arena.h"

#define JSON_FAST_DEPTH 32

/* Parses one JSON value at s[0..len) (s need not be NUL-terminated) into
 * a. Returns the tree and sets *end (may be NULL) just past the value; or
 * NULL when it declines (then *end is not set and a may hold garbage until
 * the caller rewinds it). The tree is read-only, like json_arena_parse's. */
cJSON *json_fast_parse(struct arena *a, const char *s, size_t len, const char **end);

#endif
