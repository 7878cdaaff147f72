/* vector: see vector.h. */
#include "vector.h"

#include <cJSON.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

static const char *const reason_names[VECTOR_REASONS] = {
    [VECTOR_OK] = "ok",
    [VECTOR_NOT_ARRAY] = "not_array",
    [VECTOR_EMPTY] = "empty",
    [VECTOR_TOO_LONG] = "too_long",
    [VECTOR_NOT_NUMBER] = "not_number",
    [VECTOR_NONFINITE] = "nonfinite",
    [VECTOR_DIM] = "dim_mismatch",
    [VECTOR_SYNTAX] = "syntax",
};

const char *vector_reason_name(enum vector_reason r)
{
	return (unsigned)r < VECTOR_REASONS ? reason_names[r] : "unknown";
}

int vector_reason_status(enum vector_reason r)
{
	return r == VECTOR_TOO_LONG ? 413 : 400;
}

static int fail(struct vector_error *err, enum vector_reason r, long index, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->reason = r;
		err->index = index;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

static const char *json_type(const cJSON *v)
{
	if (cJSON_IsNull(v))
		return "null";
	if (cJSON_IsBool(v))
		return "a boolean";
	if (cJSON_IsString(v))
		return "a string";
	if (cJSON_IsArray(v))
		return "an array";
	if (cJSON_IsObject(v))
		return "an object";
	return "not a number";
}

int vector_from_json(const cJSON *arr, size_t expect_dim, float *out, size_t cap, size_t *dim,
                     struct vector_error *err)
{
	const cJSON *v;
	size_t n = 0;

	if (err) {
		err->reason = VECTOR_OK;
		err->index = -1;
		err->msg[0] = '\0';
	}
	if (!cJSON_IsArray(arr))
		return fail(err, VECTOR_NOT_ARRAY, -1, "must be an array of numbers");
	/* Count first, stopping past the limit: a 10^6-element array costs
	 * VECTOR_DIM_MAX steps here, not a million conversions. */
	for (v = arr->child; v && n <= VECTOR_DIM_MAX; v = v->next)
		n++;
	if (n == 0)
		return fail(err, VECTOR_EMPTY, -1, "must hold at least one number");
	if (n > VECTOR_DIM_MAX)
		return fail(err, VECTOR_TOO_LONG, -1, "more than %d dimensions", VECTOR_DIM_MAX);
	if (expect_dim && n != expect_dim)
		return fail(err, VECTOR_DIM, -1,
		            "has %zu dimensions, this feature has %zu (fixed by its first vector)",
		            n, expect_dim);
	if (n > cap)
		return fail(err, VECTOR_TOO_LONG, -1, "more than %zu dimensions", cap);
	n = 0;
	cJSON_ArrayForEach(v, arr)
	{
		if (!cJSON_IsNumber(v))
			return fail(err, VECTOR_NOT_NUMBER, (long)n,
			            "element %zu: must be a number, not %s", n, json_type(v));
		double d = v->valuedouble;
		/* cJSON reads 1e999 as inf; a finite double beyond float32's
		 * range would become inf when stored. */
		if (!isfinite(d) || fabs(d) > FLT_MAX)
			return fail(err, VECTOR_NONFINITE, (long)n,
			            "element %zu: must be a finite number within float32 range", n);
		out[n++] = (float)d;
	}
	*dim = n;
	return 0;
}

int vector_from_text(const char *s, size_t len, size_t expect_dim, float *out, size_t cap,
                     size_t *dim, struct vector_error *err)
{
	const char *end = NULL;
	cJSON *j;
	int rc;

	/* The longest acceptable text: VECTOR_DIM_MAX numbers of a few dozen
	 * characters; refusing more keeps cJSON from building a huge tree. */
	if (len > (size_t)VECTOR_DIM_MAX * 64)
		return fail(err, VECTOR_TOO_LONG, -1, "vector text longer than %d bytes",
		            VECTOR_DIM_MAX * 64);
	j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
	if (!j)
		return fail(err, VECTOR_SYNTAX, -1, "not a JSON array (error at byte %zu)",
		            end && end >= s ? (size_t)(end - s) : 0);
	/* only whitespace may follow the array */
	for (const char *p = end; p && p < s + len; p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			cJSON_Delete(j);
			return fail(err, VECTOR_SYNTAX, -1, "trailing characters after the array");
		}
	rc = vector_from_json(j, expect_dim, out, cap, dim, err);
	cJSON_Delete(j);
	return rc;
}

size_t vector_encoded_len(size_t dim)
{
	return 1 + bytes_varint_len(dim) + dim * 4;
}

size_t vector_encode(const float *v, size_t dim, uint8_t *buf, size_t cap)
{
	struct bytes_writer w;

	if (!v || dim == 0 || dim > VECTOR_DIM_MAX)
		return 0;
	for (size_t i = 0; i < dim; i++)
		if (!isfinite(v[i]))
			return 0;
	bytes_writer_init(&w, buf, cap);
	bytes_put_u8(&w, VECTOR_ENC_VERSION);
	bytes_put_varint(&w, dim);
	for (size_t i = 0; i < dim; i++) {
		uint32_t u;
		uint8_t le[4];

		memcpy(&u, &v[i], 4);
		le[0] = (uint8_t)u;
		le[1] = (uint8_t)(u >> 8);
		le[2] = (uint8_t)(u >> 16);
		le[3] = (uint8_t)(u >> 24);
		bytes_put_raw(&w, le, 4);
	}
	return w.overflow ? 0 : w.len;
}

int vector_decode(const uint8_t *buf, size_t len, float *out, size_t cap, size_t *dim)
{
	struct bytes_reader r;

	if (!buf || !out || !dim)
		return -EINVAL;
	bytes_reader_init(&r, buf, len);
	uint8_t ver = bytes_get_u8(&r);
	uint64_t n = bytes_get_varint(&r);
	if (r.err || ver != VECTOR_ENC_VERSION || n == 0 || n > VECTOR_DIM_MAX)
		return -EPROTO;
	if (bytes_remaining(&r) != n * 4)
		return -EPROTO;
	if (n > cap)
		return -ENOSPC;
	const uint8_t *p = bytes_get_raw(&r, (size_t)n * 4);
	if (!p)
		return -EPROTO;
	for (size_t i = 0; i < n; i++) {
		uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		             (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
		float f;

		memcpy(&f, &u, 4);
		if (!isfinite(f))
			return -EPROTO;
		out[i] = f;
	}
	*dim = (size_t)n;
	return 0;
}

size_t vector_to_json(const float *v, size_t dim, char *buf, size_t cap)
{
	size_t len = 0;

	/* snprintf with size 0 only measures, so the total is exact even
	 * when buf is short */
#define EMIT(...)                                                                          \
	do {                                                                               \
		int k_ = snprintf(len < cap ? buf + len : NULL, len < cap ? cap - len : 0, \
		                  __VA_ARGS__);                                            \
		if (k_ > 0)                                                                \
			len += (size_t)k_;                                                 \
	} while (0)
	EMIT("[");
	for (size_t i = 0; i < dim; i++)
		EMIT("%s%.9g", i ? "," : "", (double)v[i]);
	EMIT("]");
#undef EMIT
	if (cap && len >= cap)
		buf[cap - 1] = '\0';
	return len;
}

static void put_f32(struct bytes_writer *w, float f)
{
	uint32_t u;
	uint8_t le[4];

	memcpy(&u, &f, 4);
	le[0] = (uint8_t)u;
	le[1] = (uint8_t)(u >> 8);
	le[2] = (uint8_t)(u >> 16);
	le[3] = (uint8_t)(u >> 24);
	bytes_put_raw(w, le, 4);
}

int vector_rows_encode(const float *rows, size_t n, size_t dim, uint8_t **out, size_t *len)
{
	struct bytes_writer w;
	size_t cap;

	*out = NULL;
	*len = 0;
	if (dim == 0 || dim > VECTOR_DIM_MAX || n > VECTOR_ROWS_MAX ||
	    n * dim > VECTOR_ROWS_BYTES_MAX / 4 || (n && !rows))
		return -EINVAL;
	for (size_t i = 0; i < n * dim; i++)
		if (!isfinite(rows[i]))
			return -EINVAL;
	cap = 1 + bytes_varint_len(dim) + bytes_varint_len(n) + n * dim * 4;
	*out = malloc(cap);
	if (!*out)
		return -ENOMEM;
	bytes_writer_init(&w, *out, cap);
	bytes_put_u8(&w, VECTOR_ENC_VERSION);
	bytes_put_varint(&w, dim);
	bytes_put_varint(&w, n);
	for (size_t i = 0; i < n * dim; i++)
		put_f32(&w, rows[i]);
	*len = w.len;
	return 0;
}

int vector_rows_decode(const uint8_t *buf, size_t len, float **rows, size_t *n, size_t *dim)
{
	struct bytes_reader r;
	float *v;

	*rows = NULL;
	*n = *dim = 0;
	if (!buf)
		return -EPROTO;
	bytes_reader_init(&r, buf, len);
	uint8_t ver = bytes_get_u8(&r);
	uint64_t d = bytes_get_varint(&r);
	uint64_t k = bytes_get_varint(&r);
	if (r.err || ver != VECTOR_ENC_VERSION || d == 0 || d > VECTOR_DIM_MAX ||
	    k > VECTOR_ROWS_MAX || k * d > VECTOR_ROWS_BYTES_MAX / 4 ||
	    bytes_remaining(&r) != k * d * 4)
		return -EPROTO;
	const uint8_t *p = bytes_get_raw(&r, (size_t)(k * d * 4));
	v = malloc((k ? (size_t)(k * d) : 1) * sizeof(float));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < k * d; i++) {
		uint32_t u = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
		             (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
		float f;

		memcpy(&f, &u, 4);
		if (!isfinite(f)) {
			free(v);
			return -EPROTO;
		}
		v[i] = f;
	}
	*rows = v;
	*n = (size_t)k;
	*dim = (size_t)d;
	return 0;
}
