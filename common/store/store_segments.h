/* store_segments: all SQL of the segment tables (schema v7, issue 17). A
 * model with `segment_by = F` has its reference profiles kept per value of
 * F too (segment_reference: the top-K values by reference rows, the rest
 * as "other"), and every analysed window gets per segment the drift rows
 * of its features (segment_drift, the drift table's statistics) and the
 * segment's events, errors, latency quantiles and accuracy
 * (segment_windows). Readers: `mlwatch drift|latency|accuracy --segment`,
 * the dashboard's drill-down and the alert rules `drift(F, KEY=VALUE)`.
 *
 * No state of its own: each call prepares its statements on the caller's
 * connection, from the thread that owns it. Functions return 0, -1 on a
 * database error (store_errmsg says why), or the non-zero a callback
 * returned to stop. */
#ifndef MLW_STORE_SEGMENTS_H
#define MLW_STORE_SEGMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"
#include "store_ingest.h"
#include "store_query.h"

/* A segment value as stored: at most this many bytes. */
#define STORE_SEGMENT_MAX 64
/* The segment of the values beyond the top K (and of events without one). */
#define STORE_SEGMENT_OTHER "other"

/* ---- reference ----------------------------------------------------------- */

/* Removes the model's segment profiles (inside the caller's transaction). */
int store_seg_ref_clear(struct store *st, int64_t model_id);
/* Adds one segment profile (inside the caller's transaction). */
int store_seg_ref_put(struct store *st, int64_t model_id, const char *key, const char *segment,
                      const char *feature, int kind, uint64_t n, uint64_t rows,
                      const uint8_t *profile, size_t len);
/* Calls fn for each segment profile of the model, by segment then feature
 * (the profile bytes are valid during the call). */
int store_seg_ref_each(struct store *st, int64_t model_id,
                       int (*fn)(const char *key, const char *segment, const char *feature,
                                 int kind, uint64_t n, uint64_t rows, const uint8_t *profile,
                                 size_t len, void *arg),
                       void *arg);

/* ---- window results ------------------------------------------------------- */

struct store_seg_window {
	const char *segment;
	uint64_t events, errors; /* sampled events of the segment, and failed ones */
	bool has_latency;
	double p50, p90, p95, p99; /* of the sampled events' latency */
	uint64_t labelled;
	bool has_accuracy, has_macro_f1, has_mae, has_rmse, has_est;
	double accuracy, macro_f1, mae, rmse, est;
	const struct store_drift_row *drift; /* cur_hist and stats are not kept */
	size_t ndrift;
};

/* Replaces the segment rows of (model_id, start) by w[0..n). Inside the
 * caller's transaction. */
int store_seg_write(struct store *st, int64_t model_id, int64_t start, const char *key,
                    const struct store_seg_window *w, size_t n);

/* ---- readers --------------------------------------------------------------- */

/* Drift rows of windows starting in [from, to), by window, segment and
 * feature; segment and feature NULL for all. window_s gives `end` of a
 * window without its windows row. cur_hist and stats are NULL. */
int store_seg_drift_each(struct store *st, int64_t model_id, double from, double to,
                         const char *key, const char *segment, const char *feature,
                         int64_t window_s,
                         int (*fn)(const char *segment, const struct sq_drift *d, void *arg),
                         void *arg);

/* Window rows of windows starting in [from, to), by window and segment;
 * segment NULL for all. ->drift is NULL. */
int store_seg_windows_each(struct store *st, int64_t model_id, double from, double to,
                           const char *key, const char *segment,
                           int (*fn)(int64_t start, const struct store_seg_window *w, void *arg),
                           void *arg);

/* The (key, segment) pairs of the model, each once, by key then segment:
 * those of its reference profiles and of its windows starting at or after
 * from (for `status --segment`, which names what exists when asked for
 * what does not). */
int store_seg_names_each(struct store *st, int64_t model_id, double from,
                         int (*fn)(const char *key, const char *segment, void *arg), void *arg);

/* For the alert rules: the newest value of column (severity, psi,
 * missing_rate, type_error_rate, out_of_range_rate, new_category_rate) per
 * feature and segment of the model's segment_by key over the windows that
 * started within lookback_s of the newest; feature and segment NULL for
 * all. As store_alerts_drift: severity and psi skip windows without a
 * verdict, and an open window counts once it holds min_n values. */
int store_seg_alert_drift(struct store *st, const char *model, const char *column,
                          const char *feature, const char *key, const char *segment,
                          int64_t lookback_s, int64_t min_n,
                          void (*fn)(void *arg, const char *feature, const char *segment,
                                     double value, int64_t start),
                          void *arg);

/* The dashboard's drill-down: per segment, the worst severity of feature
 * among the windows starting in [from, to), and whether any drifted. */
int store_seg_feature_worst(
    struct store *st, int64_t model_id, const char *feature, double from, double to,
    int (*fn)(const char *segment, double severity, bool drifted, int64_t n, void *arg), void *arg);

#endif
