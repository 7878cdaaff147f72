/* store_refcal: the SQL of what is kept beside a model's reference (schema
 * v7, issue 17): the drift thresholds calibrated from it (reference_threshold:
 * one row per feature, method, false alarm rate and window size class, so a
 * restart of mlwatchd reuses them instead of recalibrating, and `mlwatch
 * reference show` lists them), and where a rolling or same-hour-of-week
 * reference came from (reference_source: the parts of the stored history it
 * was built from, and the missing ones).
 *
 * No state of its own: each call prepares its statement on the caller's
 * connection, from the thread that owns it. Functions return 0, -1 on a
 * database error (store_errmsg says why), or the non-zero a callback
 * returned to stop. */
#ifndef MLW_STORE_REFCAL_H
#define MLW_STORE_REFCAL_H

#include <stddef.h>
#include <stdint.h>

#include "stats/calibrate.h"
#include "store.h"

/* Writes (or replaces) one calibration of feature. Inside the caller's
 * transaction when there is one. */
int store_refcal_put(struct store *st, int64_t model_id, const char *feature,
                     const struct calib_result *c, double created);
/* For each stored calibration of model_id (by feature, method, rate, n),
 * fn(feature, calibration, arg). */
int store_refcal_each(struct store *st, int64_t model_id,
                      int (*fn)(const char *feature, const struct calib_result *c, void *arg),
                      void *arg);
/* Deletes the model's calibrations (its reference is being replaced). */
int store_refcal_clear(struct store *st, int64_t model_id);

/* Where a model's reference came from. */
struct store_refsrc {
	const char *mode; /* "rolling", "same-hour-of-week" */
	int64_t span;     /* seconds: the rolling duration or N weeks */
	double built;     /* when */
	double slot;      /* same-hour-of-week: the start of the hour it is for; else 0 */
	uint64_t rows;    /* events read */
	uint32_t parts;   /* days (rolling) or weeks (same-hour-of-week) */
	uint32_t missing_parts;
	const char *missing; /* JSON array of {"from","to"} (RFC 3339), NULL = none */
};
int store_refsrc_put(struct store *st, int64_t model_id, const struct store_refsrc *r);
/* 0 with *r filled (strings valid until the next call on st's statement,
 * copied into buf[cap]), 1 when there is none. */
int store_refsrc_get(struct store *st, int64_t model_id, struct store_refsrc *r, char *buf,
                     size_t cap);

#endif
