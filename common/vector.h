/*
 * vector: the value of a vector (embedding) feature, issue 19 item 1:
 * `"emb": [0.12, -0.5, ...]`, 1 to VECTOR_DIM_MAX finite numbers, kept as
 * float32 (half the bytes of doubles; embeddings carry no more precision).
 *
 * Owns: parsing a JSON array (cJSON, or the text of one, as a reference
 * CSV's JSON-array cell) with every rule enforced and a precise error (what,
 * which element, why) mapped to an HTTP status (400 malformed, 413 too many
 * dimensions); the dimension check against the one fixed for a model and
 * feature; the compact encoding (u8 version | varint dim | dim x f32 LE)
 * and its validating decoder; the JSON text of a vector for export (each
 * value printed with 9 significant digits, so it reads back to the same
 * float32).
 *
 * Pure functions, no global state, thread-safe. Buffers are the caller's;
 * vector_encode allocates (*out, freed by the caller).
 */
#ifndef MLWATCH_VECTOR_H
#define MLWATCH_VECTOR_H

#include <stddef.h>
#include <stdint.h>

#define VECTOR_DIM_MAX     4096
#define VECTOR_ENC_VERSION 1

/* Why a vector was refused; each has its own counter name
 * (vector_reason_name) so /metrics can tell them apart. */
enum vector_reason {
	VECTOR_OK = 0,
	VECTOR_NOT_ARRAY,  /* not a JSON array */
	VECTOR_EMPTY,      /* [] */
	VECTOR_TOO_LONG,   /* more than VECTOR_DIM_MAX elements (413) */
	VECTOR_NOT_NUMBER, /* an element is not a number (mixed types, nested) */
	VECTOR_NONFINITE,  /* NaN, inf, or beyond float32's range */
	VECTOR_DIM,        /* dimension differs from the one fixed for the feature */
	VECTOR_SYNTAX,     /* text that is not JSON (CSV cell) */
	VECTOR_REASONS
};

struct vector_error {
	enum vector_reason reason;
	long index; /* offending element, -1 for the array as a whole */
	char msg[160];
};

/* "not_array", "empty", "too_long", ... ; never NULL. */
const char *vector_reason_name(enum vector_reason r);
/* HTTP status for a refusal: 413 for too_long, else 400. */
int vector_reason_status(enum vector_reason r);

struct cJSON;

/* Parses arr into out[0..cap) (cap >= VECTOR_DIM_MAX is always enough) and
 * *dim. expect_dim 0 accepts any dimension, else it must match (the
 * feature's fixed dimension). Returns 0, or -1 with *err filled (out
 * unspecified). */
int vector_from_json(const struct cJSON *arr, size_t expect_dim, float *out, size_t cap,
                     size_t *dim, struct vector_error *err);
/* The same from JSON text s[0..len) (a CSV cell). */
int vector_from_text(const char *s, size_t len, size_t expect_dim, float *out, size_t cap,
                     size_t *dim, struct vector_error *err);

/* Encoded size of a dim-vector. */
size_t vector_encoded_len(size_t dim);
/* Encodes v[0..dim) (1 <= dim <= VECTOR_DIM_MAX, finite) into buf[cap];
 * returns the bytes written, or 0 when cap is short or v invalid. */
size_t vector_encode(const float *v, size_t dim, uint8_t *buf, size_t cap);
/* Decodes buf[0..len) into out[0..cap); *dim. -EPROTO for anything
 * malformed (version, dimension, trailing bytes, non-finite values),
 * -ENOSPC when cap is short. */
int vector_decode(const uint8_t *buf, size_t len, float *out, size_t cap, size_t *dim);

/* A set of rows of one dimension, as a reference profile keeps the vectors
 * of a feature (issue 19): u8 version | varint dim | varint n | n x dim x
 * f32 LE. At most VECTOR_ROWS_MAX rows and VECTOR_ROWS_BYTES_MAX bytes of
 * values. */
#define VECTOR_ROWS_MAX       50000
#define VECTOR_ROWS_BYTES_MAX ((size_t)128 << 20)
/* Encodes rows[n x dim] into a malloc'd *out (*len bytes). 0, -EINVAL
 * (sizes, non-finite values), -ENOMEM. */
int vector_rows_encode(const float *rows, size_t n, size_t dim, uint8_t **out, size_t *len);
/* Decodes into a malloc'd *rows (*n x *dim). 0, -EPROTO for anything
 * malformed, -ENOMEM. */
int vector_rows_decode(const uint8_t *buf, size_t len, float **rows, size_t *n, size_t *dim);

/* JSON text of v[0..dim) into buf[cap] ("[0.12,-0.5]"), NUL-terminated;
 * returns the length, or the length it would need (>= cap: truncated). */
size_t vector_to_json(const float *v, size_t dim, char *buf, size_t cap);

#endif /* MLWATCH_VECTOR_H */
