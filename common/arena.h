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
	/* The free part of the head block (NULL and 0 before the first one):
	 * arena_alloc_raw takes from it inline, a parse does dozens a line. */
	unsigned char *cur;
	size_t avail;
};

void arena_init(struct arena *a, size_t limit);
/* Returns zeroed memory aligned for any type, or NULL when out of memory or
 * past the limit. Owned by the arena. */
void *arena_alloc(struct arena *a, size_t n);
/* A new block, the limit: arena_alloc_raw's slow path. */
void *arena_alloc_block(struct arena *a, size_t n);
/* Like arena_alloc without the zeroing, for memory the caller fills. */
static inline void *arena_alloc_raw(struct arena *a, size_t n)
{
	size_t need = (n + 15) & ~(size_t)15;

	if (a->limit == 0 && need >= n && need <= a->avail) {
		void *p = a->cur;
		a->cur += need;
		a->avail -= need;
		a->used += need;
		return p;
	}
	return arena_alloc_block(a, n);
}
/* Copies n bytes of s and a NUL terminator; NULL on failure. */
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_strdup(struct arena *a, const char *s);
/* Frees every block; the arena may be reused afterwards. */
void arena_reset(struct arena *a);
/* Drops everything allocated but keeps the largest block for reuse, for an
 * arena refilled in a loop (one parse per line). */
void arena_rewind(struct arena *a);

#endif
