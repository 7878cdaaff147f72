/* reference: a model's reference profile (what "no drift" looks like),
 * built from a CSV file with a header row, a JSONL file of events, or the
 * events already stored for a time range, and written to the database
 * (reference, calibration and features tables).
 *
 * CSV: the columns `prediction`, `score` and `label` are the model's
 * outputs and ground truth, `id` and `ts` are ignored, every other column is
 * a feature. JSONL: one event object per line (CONTRACT section 2): its
 * `features` object, `prediction`, `score`, `label`. A feature is numeric
 * when most of its non-empty values are numbers (the others are counted,
 * the first is kept for the report, and they are left out), otherwise
 * categorical, unless the [model] section fixes kind.F. A CSV whose header
 * is one column holding ';' or a tab is refused (not comma-separated). The outputs become
 * "@prediction" (categorical for classification, numeric for regression) and "@score". Per feature
 * the profile keeps a uniform sample of up to 100,000 values (or exact category counts); labelled
 * rows with a score fit the isotonic calibration of the estimated accuracy.
 * A vector (embedding) feature, a JSON array of numbers in JSONL or a CSV cell
 * holding one ("[0.1, 0.2]"), keeps up to VECTOR_ROWS_MAX rows (fewer for
 * wide vectors, VECTOR_ROWS_BYTES_MAX in all; a uniform sample beyond) as
 * float32, kind 3; its dimension is fixed by its first vector.
 *
 * Ownership: a struct refb (builder) owns its per-column state until
 * refb_free; a struct ref_result owns its arrays until ref_result_free.
 * Errors: -1 with "FILE:LINE: what" in err. */
#ifndef MLW_REFERENCE_H
#define MLW_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "drift.h"
#include "event.h"
#include "store.h"

struct jsonw;
struct cJSON;
struct model_config;
struct refb;
struct seg_result;

/* One input value: `str` is always set (the text as read, or a number
 * formatted); is_number when it is (or parses as) a finite number. */
struct ref_value {
	bool missing;
	bool is_number;
	double num;
	const char *str;
	/* a vector (issue 19): the JSON array of a JSONL feature, or the
	 * text of a CSV cell starting with '['; parsed (with every rule of
	 * common/vector.h) when the column takes it */
	const struct cJSON *vec_json;
	/* or its values, decoded (a stored event's vector, issue 18) */
	const float *vec;
	size_t vec_dim;
	bool is_vector;
};

struct ref_col_value {
	const char *name;
	struct ref_value v;
};

struct ref_row {
	const struct ref_col_value *f; /* features */
	size_t nf;
	struct ref_value prediction, score, label; /* missing when absent */
	size_t line;                               /* of the input, for reports; 0 when unknown */
};

#define REF_ODD_MAX 40 /* bytes of an odd cell quoted in reports */

/* A builder; mc (may be NULL) fixes kinds and the task, and with its
 * segment_by the builder keeps profiles per segment too (segment.h).
 * NULL when out of memory. */
struct refb *refb_new(const struct model_config *mc);
/* The same without per-segment profiles (a segment's own builder). */
struct refb *refb_new_flat(const struct model_config *mc);
/* Adds src's rows to dst (uniform samples merged by the rows each saw,
 * category counts summed; not the calibration pairs). -1 out of memory. */
int refb_merge(struct refb *dst, const struct refb *src);
void refb_free(struct refb *b);
/* Adds one row. Returns 0, -1 (err) on an invalid value or out of memory. */
int refb_add(struct refb *b, const struct ref_row *row, char *err, size_t errlen);
uint64_t refb_rows(const struct refb *b);

struct ref_profile {
	char *feature;
	int kind; /* 1 numeric, 2 categorical */
	uint64_t n;
	uint8_t *blob; /* drift_ref_encode */
	size_t len;
	char *hist;       /* {"edges","counts"} or {"cells","counts"} */
	uint64_t values;  /* non-missing values seen */
	uint64_t missing; /* rows without a value */
	/* numeric columns: text values left out (the kind is the majority's
	 * or the config's), the first one's line (0 unknown) and text */
	uint64_t ignored;
	size_t odd_line;
	char odd[REF_ODD_MAX + 1];
};

struct ref_result {
	struct ref_profile *p;
	size_t n;
	uint8_t *calib; /* quality_calib_encode, NULL when no labelled scores */
	size_t calib_len;
	uint64_t calib_n;
	const char *task; /* "classification", "regression" or NULL */
	uint64_t rows;
	struct seg_result *seg; /* per segment of segment_by; NULL = none */
};

int refb_finish(struct refb *b, struct ref_result *out, char *err, size_t errlen);
void ref_result_free(struct ref_result *r);

/* Progress callback: bytes read so far (file inputs) and rows. */
typedef void (*ref_progress_fn)(uint64_t bytes, uint64_t rows, void *arg);

/* Reads a CSV file (header row first; RFC 4180 quoting). name is used in
 * errors. */
int reference_read_csv(FILE *f, const char *name, struct refb *b, ref_progress_fn progress,
                       void *arg, char *err, size_t errlen);
/* Reads JSONL events (blank lines skipped). */
int reference_read_jsonl(FILE *f, const char *name, struct refb *b, ref_progress_fn progress,
                         void *arg, char *err, size_t errlen);
/* Feeds the events of model stored with ts in [from, to). */
int reference_read_stored(struct store *st, const char *model, double from, double to,
                          struct refb *b, char *err, size_t errlen);

/* Replaces the model's reference and calibration (creating the model row
 * when new), records the kinds as fixed by the reference and marks the
 * model's windows since dirty_from dirty so drift is recomputed. One
 * transaction. */
int reference_store(struct store *st, const char *model, const struct ref_result *r, double now,
                    int64_t dirty_from, char *err, size_t errlen);

/* The dashboard's histogram JSON of a profile. */
int reference_hist(const struct drift_ref *ref, struct jsonw *out);

#endif
