/* Unit tests for common/arena and common/json_arena. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "json_arena.h"

Test(arena, alloc_zeroed_aligned_and_limited)
{
	struct arena a;
	arena_init(&a, 1024);
	for (int i = 0; i < 10; i++) {
		unsigned char *p = arena_alloc(&a, 13);
		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % 16, 0);
		for (int k = 0; k < 13; k++)
			cr_assert_eq(p[k], 0);
		memset(p, 0xab, 13);
	}
	cr_assert_eq(a.used, 160);
	cr_assert_null(arena_alloc(&a, 1000), "past the limit of 1024 bytes");
	cr_assert_not_null(arena_alloc(&a, 800));
	cr_assert_null(arena_alloc(&a, SIZE_MAX - 4), "a size that overflows when rounded");
	arena_reset(&a);
	cr_assert_eq(a.used, 0);
	cr_assert_null(a.head);
}

Test(arena, rewind_keeps_one_block_for_reuse)
{
	struct arena a;
	arena_init(&a, 0);
	arena_rewind(&a); /* empty: nothing to keep */
	cr_assert_null(a.head);
	for (int i = 0; i < 100; i++)
		cr_assert_not_null(arena_alloc(&a, 4000));
	arena_rewind(&a);
	cr_assert_not_null(a.head);
	cr_assert_eq(a.used, 0);
	void *first = arena_alloc_raw(&a, 100);
	arena_rewind(&a);
	cr_assert_eq(arena_alloc_raw(&a, 100), first, "the kept block is reused from its start");
	char *s = arena_strndup(&a, "hello world", 5);
	cr_assert_str_eq(s, "hello");
	arena_reset(&a);
}

Test(json_arena, parse_into_arena)
{
	static const char doc[] = "{\"a\":1.5,\"b\":[true,null,\"x\\u00e9\"],\"c\":{}} trailing";
	struct arena a;
	const char *end = NULL;

	arena_init(&a, 0);
	cJSON *j = json_arena_parse(&a, doc, sizeof(doc) - 1, &end);
	cr_assert_not_null(j);
	cr_assert_eq(end, doc + strlen("{\"a\":1.5,\"b\":[true,null,\"x\\u00e9\"],\"c\":{}}"));
	cr_assert_float_eq(cJSON_GetObjectItem(j, "a")->valuedouble, 1.5, 1e-12);
	cJSON *b = cJSON_GetObjectItem(j, "b");
	cr_assert_eq(cJSON_GetArraySize(b), 3);
	cr_assert_str_eq(cJSON_GetArrayItem(b, 2)->valuestring, "x\xc3\xa9");
	cr_assert(a.used > 0, "the tree was taken from the arena");
	arena_reset(&a); /* frees the tree; no cJSON_Delete */
}

Test(json_arena, error_position_and_no_leak_on_failure)
{
	static const char doc[] = "{\"a\":[1,2,{\"b\":\"unterminated}]}";
	struct arena a;
	const char *end = NULL;

	arena_init(&a, 0);
	cr_assert_null(json_arena_parse(&a, doc, sizeof(doc) - 1, &end));
	cr_assert(end >= doc && end <= doc + sizeof(doc) - 1);
	/* what cJSON freed of the half-built tree went to the arena; valgrind
	 * and ASan see no leak once it is reset */
	arena_reset(&a);
}

Test(json_arena, arena_limit_fails_the_parse)
{
	char doc[4096];
	size_t n = 0;
	struct arena a;
	const char *end;

	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "[");
	for (int i = 0; i < 500; i++)
		n += (size_t)snprintf(doc + n, sizeof(doc) - n, "%s%d", i ? "," : "", i);
	n += (size_t)snprintf(doc + n, sizeof(doc) - n, "]");
	arena_init(&a, 2048); /* 500 nodes need far more */
	cr_assert_null(json_arena_parse(&a, doc, n, &end));
	arena_reset(&a);
	arena_init(&a, 0);
	cr_assert_not_null(json_arena_parse(&a, doc, n, &end));
	arena_reset(&a);
}

Test(json_arena, ordinary_cjson_use_is_unaffected)
{
	struct arena a;
	const char *end;

	arena_init(&a, 0);
	cr_assert_not_null(json_arena_parse(&a, "[1]", 3, &end));
	size_t used = a.used;
	/* outside json_arena_parse cJSON allocates with malloc and frees */
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "k", "a value long enough to need growth of the buffer");
	for (int i = 0; i < 50; i++)
		cJSON_AddNumberToObject(o, "n", i);
	char *s = cJSON_PrintUnformatted(o);
	cr_assert_not_null(s);
	cJSON *back = cJSON_Parse(s);
	cr_assert_not_null(back);
	cr_assert_str_eq(cJSON_GetObjectItem(back, "k")->valuestring,
	                 "a value long enough to need growth of the buffer");
	cJSON_Delete(back);
	cJSON_free(s);
	cJSON_Delete(o);
	cr_assert_eq(a.used, used, "nothing else came from the arena");
	arena_reset(&a);
}

struct parse_job {
	int seed;
	int ok;
};

static void *parse_many(void *arg)
{
	struct parse_job *job = arg;
	struct arena a;
	char doc[128];

	arena_init(&a, 0);
	for (int i = 0; i < 2000; i++) {
		const char *end;
		int n = snprintf(doc, sizeof(doc), "{\"id\":\"t%d-%d\",\"v\":%d}", job->seed, i, i);
		cJSON *j = json_arena_parse(&a, doc, (size_t)n, &end);
		char want[32];
		snprintf(want, sizeof(want), "t%d-%d", job->seed, i);
		if (j && strcmp(cJSON_GetObjectItem(j, "id")->valuestring, want) == 0 &&
		    cJSON_GetObjectItem(j, "v")->valueint == i)
			job->ok++;
		/* a malloc'd tree on the same thread, between arena parses */
		cJSON *m = cJSON_Parse(doc);
		cJSON_Delete(m);
		arena_rewind(&a);
	}
	arena_reset(&a);
	return NULL;
}

Test(json_arena, threads_parse_into_their_own_arenas)
{
	pthread_t t[4];
	struct parse_job jobs[4];

	for (int i = 0; i < 4; i++) {
		jobs[i] = (struct parse_job){i, 0};
		pthread_create(&t[i], NULL, parse_many, &jobs[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(jobs[i].ok, 2000, "thread %d", i);
	}
}
