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

/* ---- json_fast: whatever it accepts, cJSON accepts with the same tree ---- */

#include <math.h>

#include "harness.h"
#include "json_fast.h"
#include "json_same.h"

/* Parses s both ways; fails the test when json_fast accepts what cJSON
 * refuses or builds another tree. Returns whether json_fast accepted. */
static bool check_same(const char *s, size_t n)
{
	struct arena a;
	const char *fend = NULL, *cend = NULL;
	char why[512];
	bool took;

	arena_init(&a, 0);
	cJSON *f = json_fast_parse(&a, s, n, &fend);
	cJSON *c = cJSON_ParseWithLengthOpts(s, n, &cend, 0);
	took = f != NULL;
	if (f) {
		cr_assert_not_null(c, "json_fast accepted what cJSON refuses: %.*s", (int)n, s);
		cr_assert_eq(fend, cend, "end %td vs %td: %.*s", fend - s, cend - s, (int)n, s);
		cr_assert(json_tree_same(f, c, why, sizeof(why)), "%s: %.*s", why, (int)n, s);
	}
	cJSON_Delete(c);
	arena_reset(&a);
	return took;
}

Test(json_fast, numbers_convert_to_the_same_bits_as_cjson)
{
	static const char *const nums[] = {"0",
	                                   "-0",
	                                   "1",
	                                   "-1",
	                                   "0.1",
	                                   "0.2",
	                                   "0.30000000000000004",
	                                   "1e22",
	                                   "1e23",
	                                   "-1e-22",
	                                   "9007199254740992",
	                                   "9007199254740993",
	                                   "9007199254740991.5",
	                                   "123456789012345678",
	                                   "1234567890123456789012345",
	                                   "0.000000000000000000000000001",
	                                   "1.7976931348623157e308",
	                                   "1.7976931348623159e308",
	                                   "1e309",
	                                   "-1e400",
	                                   "2.2250738585072014e-308",
	                                   "4.9406564584124654e-324",
	                                   "5e-324",
	                                   "2e-324",
	                                   "1e-400",
	                                   "0e0",
	                                   "0E+5",
	                                   "0.0e-999999",
	                                   "1234.5678",
	                                   "1765036800.123",
	                                   "2147483647",
	                                   "2147483648",
	                                   "-2147483648",
	                                   "-2147483649",
	                                   "3.4028234663852886e38",
	                                   "12345678901234567890",
	                                   "1E2",
	                                   "1e+2",
	                                   "100000000000000000000000",
	                                   "0.1e1",
	                                   "10.000000000000000000000000001"};
	char doc[256];
	int took = 0;

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		int n = snprintf(doc, sizeof(doc), "{\"x\":%s,\"y\":[%s]}", nums[i], nums[i]);
		took += check_same(doc, (size_t)n);
	}
	cr_assert_eq(took, (int)(sizeof(nums) / sizeof(nums[0])),
	             "every strict number is taken by the fast path");
	/* at the top level nothing follows to refuse "0000": cJSON's strtod
	 * takes all of it (fuzz_json_fast found json_fast stopping after "0") */
	static const char *const tops[] = {"0000]", "1.5.3", "-0-1", "7e5e", "12+"};
	for (size_t i = 0; i < sizeof(tops) / sizeof(tops[0]); i++)
		check_same(tops[i], strlen(tops[i]));
	/* random decimals in every range: mantissas of 1-25 digits, fractions,
	 * exponents -350..350 */
	uint64_t r = 88172645463325252ull;
	for (int k = 0; k < 100000; k++) {
		char num[96];
		size_t o = 0;
		r ^= r << 13, r ^= r >> 7, r ^= r << 17;
		if (r & 1)
			num[o++] = '-';
		int digits = 1 + (int)((r >> 8) % 25), point = (int)((r >> 16) % 28);
		for (int d = 0; d < digits; d++) {
			r ^= r << 13, r ^= r >> 7, r ^= r << 17;
			num[o++] = (char)('0' + (d == 0 && digits > 1 ? 1 + r % 9 : r % 10));
			if (d + 1 == point && d + 1 < digits)
				num[o++] = '.';
		}
		if ((r >> 40) % 3 == 0)
			o += (size_t)snprintf(num + o, sizeof(num) - o, "e%d",
			                      (int)((r >> 44) % 701) - 350);
		num[o] = '\0';
		int n = snprintf(doc, sizeof(doc), "[%s]", num);
		cr_assert(check_same(doc, (size_t)n), "strict number declined: %s", num);
	}
}

Test(json_fast, declines_what_it_does_not_handle_and_json_arena_still_parses_it)
{
	static const char *const docs[] = {
	    "{\"a\":\"\\u00e9\"}", /* \u escapes are cJSON's */
	    "{\"a\":\x0b 1}",      /* a blank only cJSON skips */
	    "{\"a\":01}",          /* a leading zero strtod takes */
	    "{\"a\":1.}",          /* a bare point strtod takes */
	    "{\"a\":-.5}",         /* likewise */
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", /* 34 deep */
	};
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct arena a;
		const char *end;
		arena_init(&a, 0);
		cr_assert_null(json_fast_parse(&a, docs[i], strlen(docs[i]), &end), "%s", docs[i]);
		arena_reset(&a);
		arena_init(&a, 0);
		cJSON *c = cJSON_Parse(docs[i]);
		cJSON *j = json_arena_parse(&a, docs[i], strlen(docs[i]), &end);
		char why[512];
		cr_assert_not_null(c, "%s", docs[i]);
		cr_assert_not_null(j, "json_arena_parse falls back to cJSON: %s", docs[i]);
		cr_assert(json_tree_same(j, c, why, sizeof(why)), "%s: %s", why, docs[i]);
		cJSON_Delete(c);
		arena_reset(&a);
	}
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Mutations of real event objects (bytes replaced by JSON syntax, blanks,
 * escapes and arbitrary bytes; inserted; deleted): wherever json_fast
 * accepts, cJSON gives the same tree and stops at the same byte. */
Test(json_fast, mutated_events_parse_the_same_as_cjson)
{
	static const char *const seeds[] = {
	    "{\"model\":\"fraud\",\"id\":\"r1\",\"ts\":1765036800.123,\"latency_ms\":12.5,"
	    "\"features\":{\"amount\":99.5,\"age\":31,\"country\":\"DE\",\"vip\":true,"
	    "\"emb\":[0.1,-0.25,3e-2],\"gone\":null},\"prediction\":\"legit\",\"score\":0.93}",
	    "{\"model\":\"m\",\"scores\":{\"a\":0.25,\"b\":0.75},\"prediction\":1,\"label\":0,"
	    "\"error\":false,\"note\":\"tab\\there \\\"quoted\\\" \\/ "
	    "\\\\\",\"x\":{\"y\":[[],{}]}}",
	    "[{\"model\":\"a\"} , {\"model\":\"b\",\"input_tokens\":12,\"ttft_ms\":3.25}]\n{}",
	};
	static const char alphabet[] = "{}[]:,\"\\-+.eE0123456789 \t\n\r\x0bu/ntf\x80\xc3";
	uint64_t r = 0x9e3779b97f4a7c15ull;
	int took = 0, total = 0;

	for (size_t si = 0; si < sizeof(seeds) / sizeof(seeds[0]); si++) {
		size_t n0 = strlen(seeds[si]);
		took += check_same(seeds[si], n0);
		for (int k = 0; k < 6000; k++) {
			char buf[512];
			size_t n = n0;
			memcpy(buf, seeds[si], n);
			int edits = 1 + (int)(rnd(&r) % 3);
			for (int e = 0; e < edits && n > 1 && n < sizeof(buf) - 1; e++) {
				size_t at = (size_t)(rnd(&r) % n);
				char c = rnd(&r) % 4 ? alphabet[rnd(&r) % (sizeof(alphabet) - 1)]
				                     : (char)(1 + rnd(&r) % 255);
				switch (rnd(&r) % 3) {
				case 0:
					buf[at] = c;
					break;
				case 1:
					memmove(buf + at + 1, buf + at, n - at);
					buf[at] = c;
					n++;
					break;
				default:
					memmove(buf + at, buf + at + 1, n - at - 1);
					n--;
				}
			}
			took += check_same(buf, n);
			total++;
		}
	}
	/* the check means something only if the fast path took a fair share */
	cr_assert(took > total / 20, "json_fast took %d of %d mutants", took, total);
}

/* Event bodies as files: the NDJSON and event fuzz seeds, object by
 * object. */
Test(json_fast, fuzz_seed_bodies_parse_the_same_as_cjson)
{
	static const char *const files[] = {
	    "tests/fuzz/corpus/ndjson/events",     "tests/fuzz/corpus/ndjson/escapes",
	    "tests/fuzz/corpus/ndjson/crlf_blank", "tests/fuzz/corpus/event/array",
	    "tests/fuzz/corpus/event/ndjson",      "tests/fuzz/corpus/event/single",
	    "tests/fuzz/corpus/event/label"};
	int took = 0;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		size_t n;
		char *path = h_src(files[i]), *body = h_read_file(path, &n);
		free(path);
		cr_assert_not_null(body, "%s", files[i]);
		for (size_t at = 0; at < n; at++)
			if (body[at] == '{' || body[at] == '[')
				took += check_same(body + at, n - at);
		free(body);
	}
	cr_assert(took > 0);
}
