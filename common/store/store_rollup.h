/* store_rollup: the hourly and daily tiers (schema v7: tiers, tier_features,
 * tier_fairness) and all their SQL. A tier row is rebuilt whole from its
 * children: an hour from the minute windows that start in it (windows,
 * accuracy, window_llm, drift + window_features, fairness), a day from its
 * hour rows. Sums and counts add up exactly; DDSketches (latency, TTFT,
 * TPOT) merge exactly, and the quantiles are read from the merged sketch;
 * per-feature reservoirs (window_features.sample) merge into one bounded
 * reservoir (SAMPLE_WINDOW_MAX values, deterministic seed; a categorical
 * feature's category counts are summed) and drift is computed on it
 * against the model's reference with the default method, never averaged;
 * the highest minute severity and the drifted minutes are kept for the
 * heatmap. The accuracy columns are the sums the dashboard weighs
 * by (accuracy x labelled, est_accuracy x max(count, 1), ...), so a range
 * summed over tiers equals the same range summed over minutes.
 *
 * Rebuilding rather than adding keeps a tier exact when a late event
 * reopens a minute window: the minute is recomputed by analysis, then its
 * hour and day are rebuilt (store_rollup_changed finds them by
 * windows.analyzed). meta.tier_until tells readers up to when the tiers are
 * complete; before the first rollup it is absent and readers use minutes.
 *
 * Threads: one struct store_rollup per connection (cached statements).
 * Failures: -1 with store_errmsg(st) saying why (or out of memory); a
 * malformed stored sketch or sample is skipped and counted in *bad. */
#ifndef MLW_STORE_ROLLUP_H
#define MLW_STORE_ROLLUP_H

#include <stdint.h>

#include "store.h"

#define ROLLUP_HOUR 3600
#define ROLLUP_DAY  86400

struct store_rollup;

/* 0, or -1 when out of memory. The rollup uses st's connection. */
int store_rollup_open(struct store_rollup **out, struct store *st);
/* NULL is a no-op. Call before store_close. */
void store_rollup_close(struct store_rollup *r);

/* Rebuilds the row of (model_id, tier, start) (tier ROLLUP_HOUR or
 * ROLLUP_DAY, start aligned to it) from its children, inside the caller's
 * transaction; with no children the row is removed. 0 or -1. */
int store_rollup_build(struct store_rollup *r, int64_t model_id, int64_t tier, int64_t start,
                       double now);
/* Rebuilds every hour, then every day, of model_id overlapping [from, to)
 * (a backfill: the benchmark store, an old store). Its own transactions,
 * one per day. 0 or -1. */
int store_rollup_range(struct store_rollup *r, int64_t model_id, int64_t from, int64_t to,
                       double now);

/* Final windows analysed at or after since (strictly after when !incl),
 * oldest first, at most limit: fn(model_id, start, analyzed) for each.
 * Returns the number of rows or -1. */
int store_rollup_changed(struct store_rollup *r, double since, int incl, int limit,
                         void (*fn)(int64_t model_id, int64_t start, double analyzed, void *),
                         void *arg);

/* meta.tier_until: tier rows cover every hour that ends at or before it.
 * get returns 0 (*until 0 when absent) or -1. */
int store_rollup_until_get(struct store *st, int64_t *until);
int store_rollup_until_set(struct store_rollup *r, int64_t until);

/* meta.tier_cursor: the windows.analyzed time the rollup has reached
 * (0 when absent: roll up everything). */
int store_rollup_cursor_get(struct store *st, double *cursor);
int store_rollup_cursor_set(struct store_rollup *r, double cursor);
/* The start of the oldest window waiting for analysis (dirty), -1 when
 * none. 0 or -1. */
int store_rollup_oldest_dirty(struct store_rollup *r, int64_t *start);

/* Deletes at most chunk rows of each tier table older than its cut
 * (hour rows starting before hours_before, day rows before days_before,
 * merged samples of either tier before samples_before: they only serve
 * rebuilds, so they need to live as long as a late event can come).
 * *deleted gets the count. Returns 1 when a table had more to delete,
 * 0 when done, -1 on error. */
int store_rollup_retention_step(struct store_rollup *r, int64_t hours_before, int64_t days_before,
                                int64_t samples_before, int chunk, int64_t *deleted);

/* Sample blobs and sketches skipped as malformed since open. */
uint64_t store_rollup_bad(const struct store_rollup *r);

#endif
