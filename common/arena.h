/* arena: a bump allocator for data that dies together (one parsed request,
 * one decoded batch). Strings and arrays of a batch of events live in one
 * arena so that freeing the batch is one call and parsing does few mallocs. */
#ifndef MLW_ARENA_H
#define MLW_ARENA_H

#include <stddef.h>

struct arena_block;

struct arena {
	struct arena_block *head;
	size_t used;  /* bytes handed out, for limits and metrics */
	size_t limit; /* 0 = unlimited; else arena_alloc fails past this many bytes */
};

void arena_init(struct arena *a, size_t limit);
/* Returns zeroed memory aligned for any type, or NULL when out of memory or
 * past the limit. Owned by the arena. */
void *arena_alloc(struct arena *a, size_t n);
/* Like arena_alloc without the zeroing, for memory the caller fills. */
void *arena_alloc_raw(struct arena *a, size_t n);
/* Copies n bytes of s and a NUL terminator; NULL on failure. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* Frees every block; the arena may be reused afterwards. */
void arena_reset(struct arena *a);
/* Drops everything allocated but keeps the largest block for reuse, for an
 * arena refilled in a loop (one parse per line). */
void arena_rewind(struct arena *a);

#endif
