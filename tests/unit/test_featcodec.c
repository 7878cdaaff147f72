/* featcodec: the binary features blob of a stored event (issue 18 item 3):
 * round trips of every kind, its bounds, non-finite numbers stored as null
 * as the JSON text did, the JSON rendering byte for byte as the collector
 * wrote it before, legacy JSON rows encoded, and corrupt blobs refused with
 * where and why at every offset. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "featcodec.h"
#include "jsonw.h"

static char *json_of(const struct featcodec_enc *e)
{
	struct jsonw w;
	struct featcodec_error err;
	char *s;

	jsonw_init(&w);
	cr_assert_eq(featcodec_to_json(e->buf, e->len, &w, &err), 0, "%s", err.msg);
	s = strdup(w.buf);
	jsonw_fini(&w);
	return s;
}

Test(featcodec, round_trip_of_every_kind)
{
	struct featcodec_enc e;
	struct featcodec_it it;
	struct featcodec_error err;
	const float v[3] = {0.125f, -2.5f, 3e-7f};
	float back[3];

	featcodec_enc_init(&e);
	featcodec_add_num(&e, "amount", 12.75);
	featcodec_add_num(&e, "age", 42);
	featcodec_add_num(&e, "neg", -7);
	featcodec_add_num(&e, "big", 1e300);
	featcodec_add_num(&e, "negzero", -0.0);
	featcodec_add_num(&e, "huge_int", 9007199254740994.0); /* past 2^53: f64 form */
	featcodec_add_str(&e, "country", "DE", 2);
	featcodec_add_str(&e, "empty", "", 0);
	featcodec_add_vec(&e, "emb", v, 3);
	featcodec_add_null(&e, "gone");
	cr_assert_eq(featcodec_finish(&e), 0);

	cr_assert_eq(featcodec_begin(&it, e.buf, e.len, &err), 0, "%s", err.msg);
	cr_assert_eq(it.count, 10);
	struct {
		const char *name;
		enum feature_kind kind;
		double num;
		const char *str;
	} want[] = {
	    {"amount", FEATURE_NUMERIC, 12.75, NULL},
	    {"age", FEATURE_NUMERIC, 42, NULL},
	    {"neg", FEATURE_NUMERIC, -7, NULL},
	    {"big", FEATURE_NUMERIC, 1e300, NULL},
	    {"negzero", FEATURE_NUMERIC, -0.0, NULL},
	    {"huge_int", FEATURE_NUMERIC, 9007199254740994.0, NULL},
	    {"country", FEATURE_CATEGORICAL, 0, "DE"},
	    {"empty", FEATURE_CATEGORICAL, 0, ""},
	    {"emb", FEATURE_VECTOR, 0, NULL},
	    {"gone", FEATURE_MISSING, 0, NULL},
	};
	for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
		cr_assert_eq(featcodec_next(&it, &err), 1, "feature %zu: %s", k, err.msg);
		cr_expect_str_eq(it.name, want[k].name);
		cr_expect_eq(it.kind, want[k].kind, "%s", it.name);
		if (want[k].kind == FEATURE_NUMERIC) {
			cr_expect_eq(it.num, want[k].num, "%s", it.name);
			cr_expect_eq(signbit(it.num), signbit(want[k].num), "%s sign", it.name);
		}
		if (want[k].str)
			cr_expect_str_eq(it.str, want[k].str);
	}
	cr_assert_eq(featcodec_next(&it, &err), 0, "%s", err.msg);
	/* the vector, read again */
	cr_assert_eq(featcodec_begin(&it, e.buf, e.len, &err), 0);
	while (featcodec_next(&it, &err) == 1 && it.kind != FEATURE_VECTOR)
		;
	cr_assert_eq(it.dim, 3);
	featcodec_vec(&it, back);
	cr_expect_eq(memcmp(back, v, sizeof(v)), 0);

	char *j = json_of(&e);
	cr_expect_str_eq(j, "{\"amount\":12.75,\"age\":42,\"neg\":-7,\"big\":1e+300,\"negzero\":-0,"
	                    "\"huge_int\":9007199254740994,\"country\":\"DE\",\"empty\":\"\","
	                    "\"emb\":[0.125,-2.5,3.00000011e-07],\"gone\":null}");
	free(j);
	featcodec_enc_fini(&e);
}

Test(featcodec, small_integers_take_few_bytes)
{
	struct featcodec_enc e;

	featcodec_enc_init(&e);
	featcodec_add_num(&e, "a", 42);
	cr_assert_eq(featcodec_finish(&e), 0);
	/* header 3, name length 1, name 1, tag 1, zigzag 84 in one byte */
	cr_expect_eq(e.len, 7);
	featcodec_enc_fini(&e);
}

Test(featcodec, non_finite_numbers_are_stored_as_null_like_the_json)
{
	struct featcodec_enc e;
	char *j;

	featcodec_enc_init(&e);
	featcodec_add_num(&e, "nan", NAN);
	featcodec_add_num(&e, "inf", INFINITY);
	featcodec_add_num(&e, "ninf", -INFINITY);
	cr_assert_eq(featcodec_finish(&e), 0);
	j = json_of(&e);
	cr_expect_str_eq(j, "{\"nan\":null,\"inf\":null,\"ninf\":null}");
	free(j);
	/* a vector must be finite: refused, not stored */
	featcodec_reset(&e);
	float v[2] = {1, NAN};
	featcodec_add_vec(&e, "emb", v, 2);
	cr_expect_eq(featcodec_finish(&e), -EINVAL);
	featcodec_enc_fini(&e);
}

Test(featcodec, zero_features)
{
	struct featcodec_enc e;
	struct featcodec_it it;
	char *j;

	featcodec_enc_init(&e);
	cr_assert_eq(featcodec_finish(&e), 0);
	cr_expect_eq(e.len, 3);
	cr_assert_eq(featcodec_begin(&it, e.buf, e.len, NULL), 0);
	cr_expect_eq(featcodec_next(&it, NULL), 0);
	j = json_of(&e);
	cr_expect_str_eq(j, "{}");
	free(j);
	featcodec_enc_fini(&e);
}

Test(featcodec, bounds_of_names_strings_vectors_and_count)
{
	struct featcodec_enc e;
	struct featcodec_it it;
	struct featcodec_error err;
	char name[FEATCODEC_NAME_MAX + 2], str[FEATCODEC_STR_MAX + 2];
	static float vec[VECTOR_DIM_MAX + 1];

	memset(name, 'n', sizeof(name));
	memset(str, 's', sizeof(str));
	for (size_t i = 0; i <= VECTOR_DIM_MAX; i++)
		vec[i] = (float)i / 7.0f;
	featcodec_enc_init(&e);

	/* the largest of each fits and reads back */
	name[FEATCODEC_NAME_MAX] = '\0';
	featcodec_add_str(&e, name, str, FEATCODEC_STR_MAX);
	featcodec_add_vec(&e, "v", vec, VECTOR_DIM_MAX);
	cr_assert_eq(featcodec_finish(&e), 0);
	cr_assert_eq(featcodec_begin(&it, e.buf, e.len, &err), 0);
	cr_assert_eq(featcodec_next(&it, &err), 1, "%s", err.msg);
	cr_expect_eq(strlen(it.name), FEATCODEC_NAME_MAX);
	cr_expect_eq(it.str_len, FEATCODEC_STR_MAX);
	cr_assert_eq(featcodec_next(&it, &err), 1, "%s", err.msg);
	cr_expect_eq(it.dim, VECTOR_DIM_MAX);
	static float back[VECTOR_DIM_MAX];
	featcodec_vec(&it, back);
	cr_expect_eq(memcmp(back, vec, VECTOR_DIM_MAX * sizeof(float)), 0);
	cr_expect_eq(featcodec_next(&it, &err), 0);

	/* one past each is refused */
	name[FEATCODEC_NAME_MAX] = 'n';
	name[FEATCODEC_NAME_MAX + 1] = '\0';
	featcodec_reset(&e);
	featcodec_add_num(&e, name, 1);
	cr_expect_eq(featcodec_finish(&e), -EINVAL, "name of %d bytes", FEATCODEC_NAME_MAX + 1);
	featcodec_reset(&e);
	featcodec_add_num(&e, "", 1);
	cr_expect_eq(featcodec_finish(&e), -EINVAL, "empty name");
	featcodec_reset(&e);
	featcodec_add_str(&e, "s", str, FEATCODEC_STR_MAX + 1);
	cr_expect_eq(featcodec_finish(&e), -EINVAL, "string too long");
	featcodec_reset(&e);
	featcodec_add_str(&e, "s", "a\0b", 3);
	cr_expect_eq(featcodec_finish(&e), -EINVAL, "NUL in a string");
	featcodec_reset(&e);
	featcodec_add_vec(&e, "v", vec, VECTOR_DIM_MAX + 1);
	cr_expect_eq(featcodec_finish(&e), -EINVAL, "too many dimensions");
	featcodec_reset(&e);
	featcodec_add_vec(&e, "v", vec, 0);
	cr_expect_eq(featcodec_finish(&e), -EINVAL, "no dimension");

	/* the most features an event can have, then one more */
	featcodec_reset(&e);
	for (int i = 0; i < FEATCODEC_FEATURES_MAX; i++) {
		char n[16];
		snprintf(n, sizeof(n), "f%d", i);
		featcodec_add_num(&e, n, i);
	}
	cr_assert_eq(featcodec_finish(&e), 0);
	cr_assert_eq(featcodec_validate(e.buf, e.len, &err), 0, "%s", err.msg);
	featcodec_add_num(&e, "one_more", 1);
	cr_expect_eq(featcodec_finish(&e), -EINVAL);
	featcodec_enc_fini(&e);
}

/* Every truncation of a valid blob and every single-byte change is either
 * refused with an offset inside the blob and a message, or (a change that
 * makes another valid blob) accepted; never read past the end (ASan). */
Test(featcodec, corrupt_input_at_every_offset)
{
	struct featcodec_enc e;
	struct featcodec_error err;
	const float v[2] = {1.5f, -0.25f};
	uint8_t *copy;

	featcodec_enc_init(&e);
	featcodec_add_num(&e, "amount", 12.75);
	featcodec_add_num(&e, "age", 300);
	featcodec_add_str(&e, "country", "DE", 2);
	featcodec_add_vec(&e, "emb", v, 2);
	featcodec_add_null(&e, "x");
	cr_assert_eq(featcodec_finish(&e), 0);
	for (size_t n = 0; n < e.len; n++) {
		/* an exact-size copy so that ASan sees any read past it */
		copy = malloc(n ? n : 1);
		memcpy(copy, e.buf, n);
		memset(&err, 0, sizeof(err));
		cr_expect_eq(featcodec_validate(copy, n, &err), -EPROTO, "truncated to %zu", n);
		cr_expect_neq(err.msg[0], '\0');
		cr_expect_leq(err.offset, n, "offset %zu of %zu bytes", err.offset, n);
		free(copy);
	}
	size_t refused = 0;
	for (size_t i = 0; i < e.len; i++) {
		static const uint8_t flips[] = {0x00, 0xff, 0x80, 0x7f, 0x01};
		for (size_t f = 0; f < sizeof(flips); f++) {
			struct jsonw w;
			copy = malloc(e.len);
			memcpy(copy, e.buf, e.len);
			if (copy[i] == flips[f]) {
				free(copy);
				continue;
			}
			copy[i] = flips[f];
			memset(&err, 0, sizeof(err));
			int rc = featcodec_validate(copy, e.len, &err);
			cr_expect(rc == 0 || rc == -EPROTO);
			jsonw_init(&w);
			cr_expect_eq(featcodec_to_json(copy, e.len, &w, NULL), rc,
			             "to_json agrees with validate at byte %zu", i);
			if (rc) {
				refused++;
				cr_expect_neq(err.msg[0], '\0', "byte %zu = %02x", i, flips[f]);
				cr_expect_leq(err.offset, e.len);
				cr_expect_eq(w.len, 0, "nothing rendered of a broken blob");
			} else {
				/* another valid blob: its JSON is an object */
				cJSON *o = cJSON_Parse(w.buf);
				cr_expect(cJSON_IsObject(o), "byte %zu = %02x: %s", i, flips[f],
				          w.buf);
				cJSON_Delete(o);
			}
			jsonw_fini(&w);
			free(copy);
		}
	}
	cr_expect_gt(refused, e.len, "most corruptions are caught (%zu)", refused);
	featcodec_enc_fini(&e);
}

Test(featcodec, refuses_what_breaks_a_rule_with_where_and_why)
{
	struct featcodec_error err;
	struct {
		const char *what;
		uint8_t b[16];
		size_t len;
		size_t at;
		const char *says;
	} cases[] = {
	    {"empty", {0}, 0, 0, "shorter than"},
	    {"version 2", {2, 0, 0}, 3, 0, "version 2"},
	    {"too many features", {1, 0xff, 0xff}, 3, 1, "more than"},
	    {"trailing bytes", {1, 0, 0, 9}, 4, 3, "after the last"},
	    {"empty name", {1, 1, 0, 0, 0}, 5, 3, "name of 0 bytes"},
	    {"NUL in a name", {1, 1, 0, 2, 'a', 0, 0}, 7, 4, "NUL byte"},
	    {"unknown tag", {1, 1, 0, 1, 'a', 9}, 6, 5, "unknown type tag 9"},
	    {"NaN number", {1, 1, 0, 1, 'a', 1, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f}, 14, 6, "non-finite"},
	    {"overlong varint", {1, 1, 0, 1, 'a', 2, 0x80, 0x00}, 8, 6, "malformed integer"},
	    {"string too long", {1, 1, 0, 1, 'a', 3, 0x81, 0x02}, 8, 6, "more than 256"},
	    {"vector of 0", {1, 1, 0, 1, 'a', 4, 0}, 7, 6, "0 dimensions"},
	    {"vector with inf", {1, 1, 0, 1, 'a', 4, 1, 0, 0, 0x80, 0x7f}, 11, 7, "non-finite"},
	    {"truncated vector", {1, 1, 0, 1, 'a', 4, 2, 0, 0, 0x80, 0x3f}, 11, 7, "truncated"},
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		memset(&err, 0, sizeof(err));
		cr_expect_eq(featcodec_validate(cases[k].b, cases[k].len, &err), -EPROTO, "%s",
		             cases[k].what);
		cr_expect_eq(err.offset, cases[k].at, "%s: offset %zu (%s)", cases[k].what,
		             err.offset, err.msg);
		cr_expect(strstr(err.msg, cases[k].says), "%s: %s", cases[k].what, err.msg);
	}
}

/* A row stored before the blob: its JSON text encodes to a blob whose JSON
 * is the same text (so export prints what it printed before). */
Test(featcodec, legacy_json_rows_encode_to_the_same_json)
{
	static const char *const texts[] = {
	    "{\"amount\":90,\"country\":\"DE\",\"age\":null}",
	    "{\"a\":0.1,\"b\":-1.5e-10,\"c\":\"\\u00e9t\\u00e9 \\\"q\\\"\",\"input_tokens\":12}",
	    "{\"emb\":[0.100000001,-2,3.5],\"x\":1}",
	    "{}",
	};
	struct featcodec_enc e;
	struct featcodec_error err;

	featcodec_enc_init(&e);
	for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
		cr_assert_eq(featcodec_from_json(texts[k], &e, &err), 0, "%s: %s", texts[k],
		             err.msg);
		char *j = json_of(&e);
		cJSON *a = cJSON_Parse(j), *b = cJSON_Parse(texts[k]);
		cr_expect(cJSON_Compare(a, b, true), "%s became %s", texts[k], j);
		cJSON_Delete(a);
		cJSON_Delete(b);
		free(j);
	}
	/* a repeated name keeps its first value; booleans are categories */
	cr_assert_eq(featcodec_from_json("{\"a\":1,\"a\":2,\"ok\":true}", &e, &err), 0);
	char *j = json_of(&e);
	cr_expect_str_eq(j, "{\"a\":1,\"ok\":\"true\"}");
	free(j);
	/* not an object */
	cr_expect_eq(featcodec_from_json("[1,2]", &e, &err), -EPROTO);
	cr_expect(strstr(err.msg, "not a JSON object"), "%s", err.msg);
	cr_expect_eq(featcodec_from_json("{\"a\":", &e, &err), -EPROTO);
	featcodec_enc_fini(&e);
}

/* A legacy row with many features (more than the small name set holds)
 * and a repeated name at the end: every name once, its first value. */
Test(featcodec, legacy_json_with_many_features_keeps_first_values)
{
	size_t cap = 32 * 1100, len = 0;
	char *json = malloc(cap);
	struct featcodec_enc e;
	struct featcodec_it it;
	struct featcodec_error err;

	cr_assert_not_null(json);
	len += (size_t)snprintf(json + len, cap - len, "{");
	for (int i = 0; i < 1000; i++)
		len += (size_t)snprintf(json + len, cap - len, "\"f%d\":%d,", i, i);
	snprintf(json + len, cap - len, "\"f5\":-1,\"f999\":\"x\"}");
	featcodec_enc_init(&e);
	cr_assert_eq(featcodec_from_json(json, &e, &err), 0, "%s", err.msg);
	cr_assert_eq(featcodec_begin(&it, e.buf, e.len, &err), 0);
	cr_assert_eq(it.count, 1000);
	for (int i = 0; i < 1000; i++) {
		char name[16];
		cr_assert_eq(featcodec_next(&it, &err), 1, "%s", err.msg);
		snprintf(name, sizeof(name), "f%d", i);
		cr_expect_str_eq(it.name, name);
		cr_expect_eq(it.kind, FEATURE_NUMERIC);
		cr_expect_eq(it.num, i);
	}
	cr_expect_eq(featcodec_next(&it, &err), 0);
	featcodec_enc_fini(&e);
	free(json);
}
