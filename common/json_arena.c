/* json_arena: see json_arena.h. */
#include "json_arena.h"

#include <stdlib.h>

#include "json_fast.h"

/* The arena of the parse running on this thread, or NULL. */
static _Thread_local struct arena *parse_arena;

static void *hook_malloc(size_t n)
{
	return parse_arena ? arena_alloc_raw(parse_arena, n) : malloc(n);
}

static void hook_free(void *p)
{
	/* Inside a parse only memory of that parse is freed (cJSON dropping
	 * a half-built tree on an error): it goes with the arena. */
	if (!parse_arena)
		free(p);
}

/* Before main, so no thread can be inside cJSON while the hooks change. */
__attribute__((constructor)) static void json_arena_install(void)
{
	cJSON_Hooks h = {hook_malloc, hook_free};
	cJSON_InitHooks(&h);
}

cJSON *json_arena_parse(struct arena *a, const char *s, size_t len, const char **end)
{
	cJSON *doc;

	/* The strict common case without cJSON's per-value costs; anything
	 * else (and every error) is cJSON's, which builds the same tree. */
	doc = json_fast_parse(a, s, len, end);
	if (doc)
		return doc;
	parse_arena = a;
	doc = cJSON_ParseWithLengthOpts(s, len, end, 0);
	parse_arena = NULL;
	return doc;
}
