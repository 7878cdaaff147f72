/* store_fairness: all SQL of the fairness table (schema v4): the analysis
 * writes one row per window, protected attribute and group with the counts
 * of common/fairness.h; readers get the rows of a range per window, or the
 * counts pooled over a range (alert rules `dp_ratio(gender) < 0.8 over 1h`).
 * Gaps are never stored: fairness_gaps() computes them from the counts.
 *
 * No state of its own: each call prepares its statement on the caller's
 * connection, from the thread that owns it. Functions return 0, -1 on a
 * database error (store_errmsg says why), or the non-zero a callback
 * returned to stop. */
#ifndef MLW_STORE_FAIRNESS_H
#define MLW_STORE_FAIRNESS_H

#include <stddef.h>
#include <stdint.h>

#include "fairness.h"
#include "store.h"

/* Replaces the rows of (model_id, start) by the groups of attrs. Inside the
 * caller's transaction. */
int store_fairness_write(struct store *st, int64_t model_id, int64_t start,
                         const struct fairness_attr *attrs, size_t nattrs);

/* One window's groups of one attribute. */
struct store_fairness_window {
	int64_t start;
	const struct fairness_attr *attr;
};

/* For each (window, attribute) of model_id with start in [from, to), in
 * window then attribute order, fn with its groups (sorted by name). */
int store_fairness_each(struct store *st, int64_t model_id, double from, double to,
                        int (*fn)(const struct store_fairness_window *w, void *arg), void *arg);

/* For each attribute of model (by name; NULL attribute = every one), the
 * counts of the windows with start >= from pooled per group, and the newest
 * of those windows' start. */
int store_fairness_pooled(struct store *st, const char *model, const char *attribute, double from,
                          int (*fn)(const struct fairness_attr *pooled, int64_t newest, void *arg),
                          void *arg);

#endif
