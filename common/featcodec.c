/* featcodec: see featcodec.h. */
#include "featcodec.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

/* version, u16 count */
#define HEADER_LEN 3
/* integers up to 2^53 are exact doubles; beyond, the f64 form is kept */
#define INT_EXACT_MAX 9007199254740992.0

/* ---- encoding ------------------------------------------------------------ */

void featcodec_enc_init(struct featcodec_enc *e)
{
	memset(e, 0, sizeof(*e));
	featcodec_reset(e);
}

void featcodec_enc_fini(struct featcodec_enc *e)
{
	free(e->buf);
	memset(e, 0, sizeof(*e));
}

/* Room for n more bytes; sets err when out of memory. */
static bool room(struct featcodec_enc *e, size_t n)
{
	size_t ncap;
	uint8_t *nb;

	if (e->err)
		return false;
	if (e->cap - e->len >= n)
		return true;
	ncap = e->cap ? e->cap : 256;
	while (ncap - e->len < n)
		ncap *= 2;
	nb = realloc(e->buf, ncap);
	if (!nb) {
		e->err = -ENOMEM;
		return false;
	}
	e->buf = nb;
	e->cap = ncap;
	return true;
}

void featcodec_reset(struct featcodec_enc *e)
{
	e->len = 0;
	e->count = 0;
	e->err = 0;
	if (!room(e, HEADER_LEN))
		return;
	e->buf[0] = FEATCODEC_VERSION;
	e->buf[1] = e->buf[2] = 0; /* the count, set by featcodec_finish */
	e->len = HEADER_LEN;
}

/* Callers made room for it (at most 10 bytes). */
static void put_varint(struct featcodec_enc *e, uint64_t v)
{
	while (v >= 0x80) {
		e->buf[e->len++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	e->buf[e->len++] = (uint8_t)v;
}

/* The name and the tag of a new feature, with room for `value` more
 * bytes after them. false (err set) when the feature cannot be added. */
static bool head(struct featcodec_enc *e, const char *name, enum featcodec_tag tag, size_t value)
{
	size_t n = name ? strlen(name) : 0;

	if (e->err)
		return false;
	if (n == 0 || n > FEATCODEC_NAME_MAX || e->count == FEATCODEC_FEATURES_MAX) {
		e->err = -EINVAL;
		return false;
	}
	if (!room(e, 2 + n + 1 + value))
		return false;
	put_varint(e, n); /* n <= 128: at most 2 bytes */
	memcpy(e->buf + e->len, name, n);
	e->len += n;
	e->buf[e->len++] = (uint8_t)tag;
	e->count++;
	return true;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

void featcodec_add_num(struct featcodec_enc *e, const char *name, double v)
{
	if (!isfinite(v)) {
		featcodec_add_null(e, name);
		return;
	}
	if (v == floor(v) && fabs(v) <= INT_EXACT_MAX && !(v == 0 && signbit(v))) {
		int64_t i = (int64_t)v;
		if (head(e, name, FC_INTEGER, 10))
			put_varint(e, ((uint64_t)i << 1) ^ (uint64_t)(i >> 63));
		return;
	}
	if (head(e, name, FC_NUMBER, 8)) {
		uint64_t u;
		memcpy(&u, &v, sizeof(u));
		for (int i = 0; i < 8; i++)
			e->buf[e->len++] = (uint8_t)(u >> (8 * i));
	}
}

void featcodec_add_str(struct featcodec_enc *e, const char *name, const char *s, size_t len)
{
	if (!e->err && (len > FEATCODEC_STR_MAX || (len && memchr(s, '\0', len)))) {
		e->err = -EINVAL;
		return;
	}
	if (head(e, name, FC_STRING, 2 + len)) {
		put_varint(e, len);
		if (len)
			memcpy(e->buf + e->len, s, len);
		e->len += len;
	}
}

void featcodec_add_vec(struct featcodec_enc *e, const char *name, const float *v, size_t dim)
{
	if (e->err)
		return;
	if (dim == 0 || dim > VECTOR_DIM_MAX) {
		e->err = -EINVAL;
		return;
	}
	for (size_t i = 0; i < dim; i++)
		if (!isfinite(v[i])) {
			e->err = -EINVAL;
			return;
		}
	if (head(e, name, FC_VECTOR, 2 + dim * 4)) {
		put_varint(e, dim);
		for (size_t i = 0; i < dim; i++) {
			uint32_t u;
			memcpy(&u, &v[i], sizeof(u));
			put_le32(e->buf + e->len, u);
			e->len += 4;
		}
	}
}

void featcodec_add_null(struct featcodec_enc *e, const char *name)
{
	head(e, name, FC_NULL, 0);
}

int featcodec_finish(struct featcodec_enc *e)
{
	if (e->err)
		return e->err;
	e->buf[1] = (uint8_t)(e->count & 0xff);
	e->buf[2] = (uint8_t)(e->count >> 8);
	return 0;
}

/* ---- decoding ------------------------------------------------------------ */

static int fail(struct featcodec_error *err, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct featcodec_error *err, size_t at, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		int k;
		err->offset = at;
		k = snprintf(err->msg, sizeof(err->msg), "features blob byte %zu: ", at);
		va_start(ap, fmt);
		if (k > 0 && (size_t)k < sizeof(err->msg))
			vsnprintf(err->msg + k, sizeof(err->msg) - (size_t)k, fmt, ap);
		va_end(ap);
	}
	return -EPROTO;
}

/* A varint at it->pos; the canonical (shortest) form only, at most 64
 * bits. false when truncated or malformed. */
static bool get_varint_slow(struct featcodec_it *it, uint64_t *out)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b;
		if (it->pos >= it->len)
			return false;
		b = it->buf[it->pos++];
		if (shift == 63 && b > 1)
			return false;
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			if (b == 0 && shift)
				return false; /* overlong */
			*out = v;
			return true;
		}
	}
	return false;
}

/* Lengths, tags and small integers are one byte nearly always. */
static inline bool get_varint(struct featcodec_it *it, uint64_t *out)
{
	if (it->pos < it->len && it->buf[it->pos] < 0x80) {
		*out = it->buf[it->pos++];
		return true;
	}
	return get_varint_slow(it, out);
}

/* n bytes at src into dst (NULL: only checked), NUL-terminated; false when
 * one of them is a NUL. Names and categories are a few bytes: a loop beats
 * memchr + memcpy calls. */
static inline bool copy_text(char *dst, const uint8_t *src, size_t n)
{
	uint8_t all = 0xff;

	if (dst) {
		for (size_t i = 0; i < n; i++) {
			uint8_t c = src[i];
			all &= (uint8_t)(c ? 0xff : 0);
			dst[i] = (char)c;
		}
		dst[n] = '\0';
	} else {
		for (size_t i = 0; i < n; i++)
			all &= (uint8_t)(src[i] ? 0xff : 0);
	}
	return all != 0;
}

int featcodec_begin(struct featcodec_it *it, const void *blob, size_t len,
                    struct featcodec_error *err)
{
	memset(it, 0, offsetof(struct featcodec_it, name));
	it->name[0] = '\0';
	it->buf = blob;
	it->len = len;
	if (len < HEADER_LEN || !blob)
		return fail(err, 0, "%zu bytes, shorter than the %d-byte header", len, HEADER_LEN);
	if (it->buf[0] != FEATCODEC_VERSION)
		return fail(err, 0, "version %u, this mlwatch reads %d", it->buf[0],
		            FEATCODEC_VERSION);
	it->count = (size_t)it->buf[1] | (size_t)it->buf[2] << 8;
	if (it->count > FEATCODEC_FEATURES_MAX)
		return fail(err, 1, "%zu features, more than %d", it->count,
		            FEATCODEC_FEATURES_MAX);
	it->pos = HEADER_LEN;
	return 0;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One feature; copy false (validation) checks it without copying its name
 * or string out. */
static inline int step(struct featcodec_it *it, struct featcodec_error *err, bool copy)
{
	size_t at = it->pos;
	uint64_t n;
	uint8_t tag;

	if (it->seen == it->count) {
		if (it->pos != it->len)
			return fail(err, at, "%zu bytes after the last of %zu features",
			            it->len - it->pos, it->count);
		return 0;
	}
	if (!get_varint(it, &n))
		return fail(err, at, "feature %zu: truncated or malformed name length", it->seen);
	if (n == 0 || n > FEATCODEC_NAME_MAX)
		return fail(err, at, "feature %zu: name of %llu bytes (1 to %d)", it->seen,
		            (unsigned long long)n, FEATCODEC_NAME_MAX);
	if (it->len - it->pos < n + 1)
		return fail(err, it->pos, "feature %zu: truncated name", it->seen);
	if (!copy_text(copy ? it->name : NULL, it->buf + it->pos, (size_t)n))
		return fail(err, it->pos, "feature %zu: NUL byte in the name", it->seen);
	/* the messages below name the feature (checked: no NUL in it) */
	const char *nm = (const char *)it->buf + it->pos;
	int nl = (int)n;
	it->pos += n;
	at = it->pos;
	tag = it->buf[it->pos++];
	it->vec = NULL;
	it->dim = 0;
	it->str_len = 0;
	it->str[0] = '\0';
	it->num = 0;
	switch (tag) {
	case FC_NULL:
		it->kind = FEATURE_MISSING;
		break;
	case FC_NUMBER: {
		uint64_t u = 0;
		if (it->len - it->pos < 8)
			return fail(err, it->pos, "feature '%.*s': truncated number", nl, nm);
		for (int i = 0; i < 8; i++)
			u |= (uint64_t)it->buf[it->pos + (size_t)i] << (8 * i);
		memcpy(&it->num, &u, sizeof(u));
		if (!isfinite(it->num))
			return fail(err, it->pos, "feature '%.*s': non-finite number", nl, nm);
		it->pos += 8;
		it->kind = FEATURE_NUMERIC;
		break;
	}
	case FC_INTEGER: {
		size_t vat = it->pos;
		int64_t i;
		if (!get_varint(it, &n))
			return fail(err, vat, "feature '%.*s': truncated or malformed integer", nl,
			            nm);
		i = (int64_t)(n >> 1) ^ -(int64_t)(n & 1);
		if (i > (int64_t)INT_EXACT_MAX || i < -(int64_t)INT_EXACT_MAX)
			return fail(err, vat, "feature '%.*s': integer beyond 2^53", nl, nm);
		it->num = (double)i;
		it->kind = FEATURE_NUMERIC;
		break;
	}
	case FC_STRING: {
		size_t vat = it->pos;
		if (!get_varint(it, &n))
			return fail(err, vat,
			            "feature '%.*s': truncated or malformed string length", nl, nm);
		if (n > FEATCODEC_STR_MAX)
			return fail(err, vat, "feature '%.*s': string of %llu bytes, more than %d",
			            nl, nm, (unsigned long long)n, FEATCODEC_STR_MAX);
		if (it->len - it->pos < n)
			return fail(err, it->pos, "feature '%.*s': truncated string", nl, nm);
		if (!copy_text(copy ? it->str : NULL, it->buf + it->pos, (size_t)n))
			return fail(err, it->pos, "feature '%.*s': NUL byte in the string", nl, nm);
		it->str_len = n;
		it->pos += n;
		it->kind = FEATURE_CATEGORICAL;
		break;
	}
	case FC_VECTOR: {
		size_t vat = it->pos;
		if (!get_varint(it, &n))
			return fail(err, vat, "feature '%.*s': truncated or malformed dimension",
			            nl, nm);
		if (n == 0 || n > VECTOR_DIM_MAX)
			return fail(err, vat, "feature '%.*s': %llu dimensions (1 to %d)", nl, nm,
			            (unsigned long long)n, VECTOR_DIM_MAX);
		if ((it->len - it->pos) / 4 < n)
			return fail(err, it->pos, "feature '%.*s': truncated vector", nl, nm);
		for (size_t k = 0; k < n; k++) {
			uint32_t u = get_le32(it->buf + it->pos + 4 * k);
			float f;
			memcpy(&f, &u, sizeof(f));
			if (!isfinite(f))
				return fail(err, it->pos + 4 * k,
				            "feature '%.*s': non-finite value at dimension %zu", nl,
				            nm, k);
		}
		it->vec = it->buf + it->pos;
		it->dim = (size_t)n;
		it->pos += 4 * (size_t)n;
		it->kind = FEATURE_VECTOR;
		break;
	}
	default:
		return fail(err, at, "feature '%.*s': unknown type tag %u", nl, nm, tag);
	}
	it->seen++;
	return 1;
}

int featcodec_next(struct featcodec_it *it, struct featcodec_error *err)
{
	return step(it, err, true);
}

void featcodec_vec(const struct featcodec_it *it, float *out)
{
	for (size_t k = 0; k < it->dim; k++) {
		uint32_t u = get_le32(it->vec + 4 * k);
		memcpy(&out[k], &u, sizeof(u));
	}
}

int featcodec_validate(const void *blob, size_t len, struct featcodec_error *err)
{
	struct featcodec_it it;
	int rc = featcodec_begin(&it, blob, len, err);

	while (rc == 0 && (rc = step(&it, err, false)) == 1)
		rc = 0;
	return rc;
}

/* ---- JSON ------------------------------------------------------------------ */

int featcodec_to_json(const void *blob, size_t len, struct jsonw *w, struct featcodec_error *err)
{
	struct featcodec_it it;
	size_t mark = w->len;
	int rc;

	if ((rc = featcodec_begin(&it, blob, len, err)) != 0)
		return rc;
	jsonw_char(w, '{');
	while ((rc = featcodec_next(&it, err)) == 1) {
		if (it.seen > 1)
			jsonw_char(w, ',');
		jsonw_str(w, it.name, strlen(it.name));
		jsonw_char(w, ':');
		switch (it.kind) {
		case FEATURE_NUMERIC:
			jsonw_num(w, it.num);
			break;
		case FEATURE_CATEGORICAL:
			jsonw_str(w, it.str, it.str_len);
			break;
		case FEATURE_VECTOR:
			/* 9 significant digits read back to the same float32 */
			jsonw_char(w, '[');
			for (size_t k = 0; k < it.dim; k++) {
				char num[32];
				float f;
				uint32_t u = get_le32(it.vec + 4 * k);
				memcpy(&f, &u, sizeof(f));
				int n =
				    snprintf(num, sizeof(num), "%s%.9g", k ? "," : "", (double)f);
				jsonw_raw(w, num, (size_t)n);
			}
			jsonw_char(w, ']');
			break;
		default:
			jsonw_raw(w, "null", 4);
		}
	}
	if (rc < 0) {
		/* the broken blob leaves no half object behind */
		w->len = mark;
		if (w->buf && w->cap > mark)
			w->buf[mark] = '\0';
		return rc;
	}
	jsonw_char(w, '}');
	return w->oom ? -ENOMEM : 0;
}

/* The names an object's encoding took, for a repeated JSON key (the first
 * value is kept): open addressing over the item names, a power of two at
 * least twice their number. */
#define NAMESET_SMALL 128

/* true when name was added before; else adds it. */
static bool nameset_seen(const char **set, size_t cap, const char *name)
{
	uint64_t h = 1469598103934665603ull;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	for (size_t j = h & (cap - 1), k = 0; k < cap; j = (j + 1) & (cap - 1), k++) {
		if (!set[j]) {
			set[j] = name;
			return false;
		}
		if (strcmp(set[j], name) == 0)
			return true;
	}
	return false;
}

int featcodec_from_json(const char *json, struct featcodec_enc *e, struct featcodec_error *err)
{
	cJSON *root = json ? cJSON_Parse(json) : NULL;
	const cJSON *it;
	const char *small[NAMESET_SMALL] = {0}, **names = small;
	size_t cap = NAMESET_SMALL;
	float *v = NULL;
	int rc = 0;

	featcodec_reset(e);
	if (!cJSON_IsObject(root)) {
		rc = fail(err, 0, "stored features are not a JSON object");
		goto out;
	}
	for (size_t n = (size_t)cJSON_GetArraySize(root); cap < 2 * n + 2;)
		cap *= 2;
	if (cap > NAMESET_SMALL && !(names = calloc(cap, sizeof(*names)))) {
		rc = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(it, root)
	{
		if (!it->string || nameset_seen(names, cap, it->string))
			continue;
		if (cJSON_IsNumber(it)) {
			featcodec_add_num(e, it->string, it->valuedouble);
		} else if (cJSON_IsString(it)) {
			featcodec_add_str(e, it->string, it->valuestring, strlen(it->valuestring));
		} else if (cJSON_IsBool(it)) {
			const char *b = cJSON_IsTrue(it) ? "true" : "false";
			featcodec_add_str(e, it->string, b, strlen(b));
		} else if (cJSON_IsNull(it)) {
			featcodec_add_null(e, it->string);
		} else if (cJSON_IsArray(it)) {
			size_t dim = 0;
			if (!v && !(v = malloc(VECTOR_DIM_MAX * sizeof(*v)))) {
				rc = -ENOMEM;
				goto out;
			}
			if (vector_from_json(it, 0, v, VECTOR_DIM_MAX, &dim, NULL) == 0)
				featcodec_add_vec(e, it->string, v, dim);
		}
		if (e->err)
			break;
	}
	rc = featcodec_finish(e);
	if (rc == -EINVAL)
		rc = fail(err, 0, "stored feature %zu is beyond the blob's bounds", e->count);
out:
	if (names != small)
		free(names);
	free(v);
	cJSON_Delete(root);
	return rc;
}
