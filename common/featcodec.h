/*
 * featcodec: an event's features as the compact binary blob the store keeps
 * in events.features_bin (issue 18 item 3), instead of JSON text that every
 * reader parsed again.
 *
 * Format (version 1; all integers little-endian, varint = LEB128):
 *   u8 version (= 1) | u16 count | count x feature
 *   feature = varint name_len | name bytes | u8 tag | value
 *   tag 0 null     (a non-finite number, or a JSON null): no value
 *   tag 1 number   f64, finite
 *   tag 2 integer  zigzag varint: a number that is an integer of magnitude
 *                  <= 2^53 (not -0), so 1 or 2 bytes for most counts
 *   tag 3 string   varint len | bytes (a category, "true"/"false" for booleans)
 *   tag 4 vector   varint dim | dim x f32, finite (an embedding, issue 19)
 * Bounds: 0..FEATCODEC_FEATURES_MAX features, names 1..FEATCODEC_NAME_MAX
 * bytes, strings 0..FEATCODEC_STR_MAX bytes, vectors 1..VECTOR_DIM_MAX
 * dimensions; no NUL byte in a name or string; nothing after the last
 * feature. Names are not deduplicated here: the writer keeps a name's first
 * value (as the JSON parser did).
 *
 * Owns: encoding (featcodec_enc, a growable buffer), validating iteration
 * without allocation (featcodec_it: each feature's name and string are
 * copied, NUL-terminated, into the iterator), the JSON text of a blob
 * (byte for byte what the collector stored before: jsonw numbers, vectors
 * with 9 significant digits), and the blob of a stored JSON text (rows
 * written before the blob, read through the same readers).
 *
 * Failures: a blob that breaks any rule is refused with the byte offset and
 * the rule (featcodec_error), never read past its end. The encoder refuses
 * values out of bounds (-EINVAL) and reports allocation failure (-ENOMEM).
 * Pure functions, no global state; thread-safe on distinct objects.
 */
#ifndef MLWATCH_FEATCODEC_H
#define MLWATCH_FEATCODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "vector.h"

#define FEATCODEC_VERSION 1
/* the event's features plus the two LLM token counts */
#define FEATCODEC_FEATURES_MAX (EVENT_FEATURES_MAX + 2)
#define FEATCODEC_NAME_MAX     EVENT_FEATURE_NAME_MAX
#define FEATCODEC_STR_MAX      EVENT_CATEGORY_MAX

enum featcodec_tag {
	FC_NULL = 0,
	FC_NUMBER = 1,
	FC_INTEGER = 2,
	FC_STRING = 3,
	FC_VECTOR = 4,
};

struct featcodec_error {
	size_t offset; /* byte of the blob where the rule broke */
	char msg[160]; /* "byte 17: string longer than 256 bytes" */
};

/* ---- encoding ------------------------------------------------------------ */

/* Owns buf (featcodec_enc_fini frees it). After a failure (err set) the
 * later calls do nothing and featcodec_finish returns the failure. */
struct featcodec_enc {
	uint8_t *buf;
	size_t len, cap;
	size_t count;
	int err; /* 0, -EINVAL or -ENOMEM */
};

void featcodec_enc_init(struct featcodec_enc *e);
void featcodec_enc_fini(struct featcodec_enc *e);
/* Starts a new blob, keeping the allocation. */
void featcodec_reset(struct featcodec_enc *e);
/* A non-finite number is stored as null (what the JSON text held). */
void featcodec_add_num(struct featcodec_enc *e, const char *name, double v);
void featcodec_add_str(struct featcodec_enc *e, const char *name, const char *s, size_t len);
void featcodec_add_vec(struct featcodec_enc *e, const char *name, const float *v, size_t dim);
void featcodec_add_null(struct featcodec_enc *e, const char *name);
/* Completes the blob in e->buf[0..e->len). 0, -EINVAL (a value out of
 * bounds) or -ENOMEM. */
int featcodec_finish(struct featcodec_enc *e);

/* ---- decoding ------------------------------------------------------------ */

/* The current feature after featcodec_next returned 1. */
struct featcodec_it {
	const uint8_t *buf;
	size_t len, pos;
	size_t count, seen;
	char name[FEATCODEC_NAME_MAX + 1];
	enum feature_kind kind;          /* FEATURE_MISSING for null */
	double num;                      /* FEATURE_NUMERIC */
	char str[FEATCODEC_STR_MAX + 1]; /* FEATURE_CATEGORICAL */
	size_t str_len;
	const uint8_t *vec; /* FEATURE_VECTOR: dim x f32 LE, in the blob */
	size_t dim;
};

/* Reads the header. 0, or -EPROTO with *err (may be NULL) filled. */
int featcodec_begin(struct featcodec_it *it, const void *blob, size_t len,
                    struct featcodec_error *err);
/* 1 with the next feature in it, 0 after the last one (the blob is then
 * known whole), -EPROTO with *err filled for a broken rule. */
int featcodec_next(struct featcodec_it *it, struct featcodec_error *err);
/* The current vector's values into out[0..it->dim). */
void featcodec_vec(const struct featcodec_it *it, float *out);
/* Walks the whole blob: 0 when valid, -EPROTO with *err. */
int featcodec_validate(const void *blob, size_t len, struct featcodec_error *err);

/* ---- JSON ------------------------------------------------------------------ */

struct jsonw;
/* Appends the features as a JSON object to w (the text the collector
 * stored before the blob). 0, -EPROTO (err) or -ENOMEM (w->oom). Nothing
 * is written for a blob that turns out broken (w is left as it was). */
int featcodec_to_json(const void *blob, size_t len, struct jsonw *w, struct featcodec_error *err);
/* Encodes a stored JSON object's features into e (reset first): numbers,
 * strings, null, number arrays as vectors, booleans as "true"/"false"; a
 * repeated name keeps its first value; other values are skipped. 0,
 * -EPROTO (not an object, a bound broken; err says why) or -ENOMEM. */
int featcodec_from_json(const char *json, struct featcodec_enc *e, struct featcodec_error *err);

#endif
