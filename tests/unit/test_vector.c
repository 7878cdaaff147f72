/* vector: parsing, refusal reasons and statuses, the float32 encoding and
 * JSON export of vector features (issue 19 item 1 and acceptance 5). */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vector.h"

static float buf[VECTOR_DIM_MAX];

/* Parses text, expecting a refusal for reason at index; returns the status. */
static int refused(const char *text, size_t expect_dim, enum vector_reason reason, long index)
{
	struct vector_error err;
	size_t dim = 0;
	int rc = vector_from_text(text, strlen(text), expect_dim, buf, VECTOR_DIM_MAX, &dim, &err);

	cr_assert_eq(rc, -1, "%.60s accepted", text);
	cr_expect_eq(err.reason, reason, "%.60s: reason %s want %s (%s)", text,
	             vector_reason_name(err.reason), vector_reason_name(reason), err.msg);
	cr_expect_eq(err.index, index, "%.60s: index %ld want %ld", text, err.index, index);
	cr_expect_neq(err.msg[0], '\0');
	return vector_reason_status(err.reason);
}

Test(vector, parses_numbers_into_float32)
{
	struct vector_error err;
	size_t dim;
	const char *t = " [0.12, -0.5, 3, 1e-3] ";

	cr_assert_eq(vector_from_text(t, strlen(t), 0, buf, VECTOR_DIM_MAX, &dim, &err), 0, "%s",
	             err.msg);
	cr_assert_eq(dim, 4);
	cr_expect_eq(buf[0], 0.12f);
	cr_expect_eq(buf[1], -0.5f);
	cr_expect_eq(buf[3], 1e-3f);
	cr_assert_eq(vector_from_text(t, strlen(t), 4, buf, VECTOR_DIM_MAX, &dim, &err), 0);
}

Test(vector, hostile_vectors_are_refused_precisely)
{
	struct vector_error err;
	size_t dim;

	cr_expect_eq(refused("[1, 2, NaN]", 0, VECTOR_SYNTAX, -1), 400, "NaN is not JSON");
	cr_expect_eq(refused("[1, 1e999]", 0, VECTOR_NONFINITE, 1), 400);
	cr_expect_eq(refused("[1, 1e39]", 0, VECTOR_NONFINITE, 1), 400, "beyond float32");
	cr_expect_eq(refused("[1, \"2\", 3]", 0, VECTOR_NOT_NUMBER, 1), 400, "mixed types");
	cr_expect_eq(refused("[1, null]", 0, VECTOR_NOT_NUMBER, 1), 400);
	cr_expect_eq(refused("[true]", 0, VECTOR_NOT_NUMBER, 0), 400);
	cr_expect_eq(refused("[[1, 2], [3]]", 0, VECTOR_NOT_NUMBER, 0), 400, "ragged/nested");
	cr_expect_eq(refused("[]", 0, VECTOR_EMPTY, -1), 400);
	cr_expect_eq(refused("{\"a\": 1}", 0, VECTOR_NOT_ARRAY, -1), 400);
	cr_expect_eq(refused("[1, 2] x", 0, VECTOR_SYNTAX, -1), 400);
	cr_expect_eq(refused("[1, 2, 3]", 4, VECTOR_DIM, -1), 400, "dimension mismatch");
	cr_expect_eq(refused("[1, 2, 3, 4, 5]", 4, VECTOR_DIM, -1), 400);

	/* 10^6 dimensions: built as a cJSON array (as an event body gives it)
	 * and as text (a CSV cell) */
	cJSON *big = cJSON_CreateArray();
	for (int i = 0; i < 1000000; i++)
		cJSON_AddItemToArray(big, cJSON_CreateNumber(0.5));
	cr_assert_eq(vector_from_json(big, 0, buf, VECTOR_DIM_MAX, &dim, &err), -1);
	cr_expect_eq(err.reason, VECTOR_TOO_LONG);
	cr_expect_eq(vector_reason_status(err.reason), 413);
	char *text = cJSON_PrintUnformatted(big);
	cr_assert_not_null(text);
	cr_assert_eq(vector_from_text(text, strlen(text), 0, buf, VECTOR_DIM_MAX, &dim, &err), -1);
	cr_expect_eq(err.reason, VECTOR_TOO_LONG);
	free(text);
	cJSON_Delete(big);

	/* exactly the limit is fine */
	cJSON *edge = cJSON_CreateArray();
	for (int i = 0; i < VECTOR_DIM_MAX; i++)
		cJSON_AddItemToArray(edge, cJSON_CreateNumber(i));
	cr_expect_eq(vector_from_json(edge, 0, buf, VECTOR_DIM_MAX, &dim, &err), 0);
	cr_expect_eq(dim, VECTOR_DIM_MAX);
	cr_expect_eq(vector_from_json(edge, 0, buf, 10, &dim, &err), -1, "caller's cap honoured");
	cJSON_Delete(edge);
}

Test(vector, encoding_round_trips_and_refuses_damage)
{
	float v[5] = {0.12f, -0.5f, 3.0f, FLT_MAX, -FLT_MIN}, out[5];
	uint8_t enc[64];
	size_t dim;
	size_t n = vector_encode(v, 5, enc, sizeof(enc));

	cr_assert_eq(n, vector_encoded_len(5));
	cr_assert_eq(n, 1 + 1 + 20, "float32: 4 bytes a dimension");
	cr_assert_eq(vector_decode(enc, n, out, 5, &dim), 0);
	cr_expect_eq(dim, 5);
	cr_expect_eq(memcmp(v, out, sizeof(v)), 0);
	cr_expect_eq(vector_decode(enc, n, out, 4, &dim), -ENOSPC);
	cr_expect_eq(vector_decode(enc, n - 1, out, 5, &dim), -EPROTO, "truncated");
	enc[0] = 9;
	cr_expect_eq(vector_decode(enc, n, out, 5, &dim), -EPROTO, "version");
	enc[0] = VECTOR_ENC_VERSION;
	enc[n - 1] = 0x7f;
	enc[n - 2] = 0xc0; /* a NaN in the last value */
	cr_expect_eq(vector_decode(enc, n, out, 5, &dim), -EPROTO, "NaN");
	cr_expect_eq(vector_encode(v, 5, enc, 10), 0, "short buffer");
	v[1] = NAN;
	cr_expect_eq(vector_encode(v, 5, enc, sizeof(enc)), 0);
}

Test(vector, json_export_reads_back_exactly)
{
	float v[4] = {0.1f, -1.0f / 3.0f, 1e-30f, 123456.789f};
	char text[128];
	struct vector_error err;
	size_t dim;
	size_t len = vector_to_json(v, 4, text, sizeof(text));

	cr_assert_lt(len, sizeof(text));
	cr_expect_eq(text[0], '[');
	cr_assert_eq(vector_from_text(text, len, 4, buf, VECTOR_DIM_MAX, &dim, &err), 0, "%s",
	             err.msg);
	cr_expect_eq(memcmp(v, buf, sizeof(v)), 0, "%s", text);
	char small[8];
	cr_expect_eq(vector_to_json(v, 4, small, sizeof(small)), len, "measures when short");
	cr_expect_eq(strlen(small), sizeof(small) - 1);
}
