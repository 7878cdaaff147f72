/* segment: what the collector, the reference import, the subcommands and
 * the alert rules share about segments (issue 17). A model with
 * `segment_by = F` (F a categorical feature) is also analysed per value of
 * F: the segment_top_k (default 20) values with the most reference rows
 * each get their own segment, every other value (and an event without F)
 * falls in "other".
 *
 * Here: the segment value of an event or a reference row, the parsing of
 * `KEY=VALUE` (mlwatch --segment, alert rules) and the reference builder
 * that keeps one profile set per segment (struct segb, used by
 * reference.c's builder when the model has segment_by).
 *
 * Ownership: a segb owns its per-value builders until segb_free; a struct
 * seg_result owns its names and profiles until seg_result_free. Not
 * thread-safe. Errors: -1 with why in err. */
#ifndef MLW_SEGMENTS_H
#define MLW_SEGMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store_segments.h"

struct cJSON;
struct model_config;
struct ref_row;
struct ref_result;

#define SEGMENT_TOP_K_DEFAULT 20
/* Distinct values a reference import tracks on its own; rows of values
 * first seen after that many go straight to "other". */
#define SEGMENT_TRACK_MAX 256

/* The configured K of a model (segment_top_k, or the default). */
size_t segment_top_k(const struct model_config *mc);

/* The segment value of an event's features object for key: a string as is,
 * a number in its shortest exact form, a boolean as true/false; NULL when
 * missing, of another type, empty, longer than STORE_SEGMENT_MAX or not
 * printable (such events count in "other"). buf holds formatted numbers. */
const char *segment_of_json(const struct cJSON *features, const char *key, char *buf, size_t cap);
/* The same from a stored event's features blob (common/featcodec.h); the
 * value is copied into buf (cap > STORE_SEGMENT_MAX). */
const char *segment_of_blob(const uint8_t *blob, size_t len, const char *key, char *buf,
                            size_t cap);

/* Splits "KEY=VALUE" (VALUE may be "*" when allow_all). KEY: 1..128 bytes,
 * VALUE: 1..STORE_SEGMENT_MAX bytes of printable UTF-8. Returns 0, or -1
 * with why in err. */
int segment_parse(const char *text, bool allow_all, char *key, size_t kcap, char *value,
                  size_t vcap, char *err, size_t errlen);

/* ---- the reference builder -------------------------------------------------- */

struct segb;

struct seg_one {
	char *name; /* the value, or STORE_SEGMENT_OTHER */
	uint64_t rows;
	struct ref_result *r;
};

struct seg_result {
	char *key;
	struct seg_one *v; /* by rows, most first; "other" last */
	size_t n;
};

/* A builder for mc's segment_by (NULL when mc has none, or out of memory:
 * *oom tells which). */
struct segb *segb_new(const struct model_config *mc, bool *oom);
void segb_free(struct segb *s);
/* Routes one reference row to its segment's builder. */
int segb_add(struct segb *s, const struct ref_row *row, char *err, size_t errlen);
/* The profiles per segment: the K values with the most rows, and "other"
 * with the rest (when there is any). */
int segb_finish(struct segb *s, struct seg_result *out, char *err, size_t errlen);
void seg_result_free(struct seg_result *r);

/* Replaces the model's segment profiles by r (NULL: removes them). Inside
 * the caller's transaction. */
int segments_store(struct store *st, int64_t model_id, const struct seg_result *r);

#endif
