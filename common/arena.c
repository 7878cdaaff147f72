/* arena: see arena.h. */
#include "arena.h"

#include <stdlib.h>
#include <string.h>

/* Only the head block is allocated from, through a->cur and a->avail. */
struct arena_block {
	struct arena_block *next;
	size_t cap;
	_Alignas(16) unsigned char data[];
};

#define ARENA_BLOCK_MIN 16384

void arena_init(struct arena *a, size_t limit)
{
	a->head = NULL;
	a->used = 0;
	a->limit = limit;
	a->cur = NULL;
	a->avail = 0;
}

void *arena_alloc_block(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;
	size_t need = (n + 15) & ~(size_t)15;

	if (need < n || (a->limit && (need > a->limit || a->used + need > a->limit)))
		return NULL;
	if (a->avail < need) {
		size_t cap = need > ARENA_BLOCK_MIN ? need : ARENA_BLOCK_MIN;
		if (b && b->cap * 2 > cap && b->cap < (1u << 20))
			cap = b->cap * 2;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
		a->cur = b->data;
		a->avail = cap;
	}
	void *p = a->cur;
	a->cur += need;
	a->avail -= need;
	a->used += need;
	return p;
}

void *arena_alloc(struct arena *a, size_t n)
{
	void *p = arena_alloc_raw(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc_raw(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *arena_strdup(struct arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

void arena_reset(struct arena *a)
{
	struct arena_block *b = a->head;
	while (b) {
		struct arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
	a->used = 0;
	a->cur = NULL;
	a->avail = 0;
}

void arena_rewind(struct arena *a)
{
	struct arena_block *keep = a->head;

	if (!keep)
		return;
	/* the head is the newest block and, as blocks grow, the largest */
	a->head = keep->next;
	arena_reset(a);
	keep->next = NULL;
	a->head = keep;
	a->cur = keep->data;
	a->avail = keep->cap;
}
