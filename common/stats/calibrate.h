/*
 * calibrate: drift thresholds set from the reference with a stated false
 * alarm rate (issue 17, item 1).
 *
 * For one feature and one method, CALIB_BOOT pseudo-windows of the live
 * window's size are drawn from the reference without replacement and each is
 * scored against the rest of the reference (the values not drawn), exactly
 * as a live window is scored against the whole reference. The threshold is
 * put where the share of pseudo-windows it flags is nearest to the target
 * rate (nearest on a log scale, so 0.5x and 2x are equally bad), half-way to
 * the next distinct value so that a statistic with atoms (Fisher, chi-square
 * on few cells, KS on small windows) never sits on the threshold: with a
 * discrete statistic the rate cannot be 1% exactly, and this rule keeps it as
 * close as the atoms allow.
 *
 * p-value methods are calibrated on the p-value (the threshold stays a
 * p-value, severity = threshold / p as before, so `threshold.F = 0.05` keeps
 * its meaning). KS is calibrated on D (the same ordering; cheaper) and the
 * threshold turned into the p-value of that D at the live sizes. Distances
 * are calibrated on the distance.
 *
 * Sizes: the pseudo-window has n' = min(n, pool / 2, CALIB_PSEUDO_MAX)
 * values and the rest
 * M = pool - n', while a live window of n is scored against all N reference
 * values. Distances are rescaled to the live sizes by their large-sample
 * law: D, Wasserstein, JS, Hellinger, L-inf, TVD and energy scale with
 * sqrt(1/n + 1/N), PSI and KL with (1/n + 1/N). p-values need no rescaling
 * (their null law does not depend on the sizes), except KS through D.
 * Windows are grouped in size classes (representatives 50, 100, 200, ...,
 * 6400, 10000, nearest on a log scale); a class is calibrated on first use
 * and the threshold rescaled from the class's size to the window's.
 *
 * Cost: KS, Wasserstein and the binned distances (PSI, JS, Hellinger, L-inf,
 * TVD, KL on the reference's 10 bins) cost O(n) per pseudo-window after an
 * O(N) set-up, on a random pool of max(20 n', CALIB_POOL_FAST) reference
 * values (the rest's size enters the rescaling); the categorical methods O(n)
 * too, and so do energy (prefix sums), Welch (moments) and Mann-Whitney
 * (the pool's midranks). Anderson-Darling and Cramer-von Mises score the
 * materialised samples, on a random pool of at most max(2 n', CALIB_POOL_MIN)
 * reference values (their p-values do not depend on the pool's size).
 * Draws: positions by Floyd's sampling with two 32-bit draws per generator
 * step; the categorical methods draw the pseudo-window's cell counts
 * directly (multivariate hypergeometric, cell by cell, by inversion from
 * the mode over a log-factorial table): the same law as drawing positions,
 * O(k sd) instead of O(n) per pseudo-window.
 *
 * Only the mlwatch preset is calibrated: the evidently and nannyml presets
 * reproduce a peer's numbers, thresholds included (calib_applies).
 *
 * Ownership: plain data; calib_cache holds no pointers. Thread-safe on
 * distinct outputs. Errors are negative errno values (-EINVAL: method not
 * applicable, empty reference, rate outside (0, 0.5]; -ENOMEM).
 */
#ifndef MLWATCH_STATS_CALIBRATE_H
#define MLWATCH_STATS_CALIBRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../drift.h"

#define CALIB_RATE_DEFAULT 0.01
#define CALIB_BOOT         2000
#define CALIB_POOL_MIN     5000
/* Pool of the O(n) methods: max(20 n', CALIB_POOL_FAST) reference values. */
#define CALIB_POOL_FAST 20000
/* Largest pseudo-window drawn: bigger windows are calibrated at this size
 * and rescaled (the large-sample laws below hold well from here on: at
 * 1,000 the rates of windows of 10,000 stay within 0.95-1.6% for a 1%
 * target, tests calibrate/numeric_false_alarm_rate and categorical_...;
 * 2,000 cost twice the time
 * for windows of 10,000, over issue 17's 2 s for 50 features). */
#define CALIB_PSEUDO_MAX 1000
#define CALIB_CLASSES    9

/* Where a feature's threshold came from. */
enum calib_source {
	CALIB_SRC_DEFAULT = 0,      /* the method's contract default (0.05 / 0.1) */
	CALIB_SRC_CONFIGURED,       /* threshold.FEATURE */
	CALIB_SRC_CALIBRATED,       /* from the reference at false_alarm_rate */
	CALIB_SRC_REFERENCE_CHUNKS, /* the nannyml preset's chunk rule (drift.h) */
};
/* "default", "configured", "calibrated", "reference_chunks". */
const char *calib_source_name(enum calib_source s);

struct calib_result {
	enum drift_method method;
	double rate;     /* target false alarm rate per window */
	size_t n;        /* the window size calibrated for */
	size_t n_pseudo; /* pseudo-window size drawn (<= n) */
	size_t n_rest;   /* the rest it was scored against */
	uint64_t n_ref;  /* the reference size */
	double stat;     /* threshold in the calibrated statistic's units at (n_pseudo, n_rest) */
	double observed; /* share of pseudo-windows flagged at stat */
	unsigned boot;   /* pseudo-windows drawn */
};

/* True when m under preset is calibrated (mlwatch preset, a method that
 * applies to ref's kind). */
bool calib_applies(const struct drift_ref *ref, enum drift_method m, enum drift_preset preset);

/* Calibrates method m (resolved, never DEFAULT) on ref for windows of n
 * values at rate, deterministic in seed. */
int calib_run(const struct drift_ref *ref, enum drift_method m, size_t n, double rate,
              uint64_t seed, struct calib_result *out);

/* The statistic calibration uses for the split of ref's sorted values into
 * positions idx[0..n) (ascending) and the rest, as badness (higher = more
 * drift: the distance, D for KS, -p for the other tests). Exposed so tests
 * can hold the O(n) forms against the live statistics. -EINVAL for a bad
 * split or a method calib_applies refuses. */
int calib_split_score(const struct drift_ref *ref, enum drift_method m, const uint32_t *idx,
                      size_t n, double *badness);

/* The threshold, in drift_result.score units, for a live window of n values
 * scored against c's reference. */
double calib_threshold_for(const struct calib_result *c, size_t n);

/* The draws' seed of a model's feature (FNV-1a of the name over the model
 * id: reproducible per feature, different between features), and of one
 * size class of it: what mlwatchd calibrates with, so `mlwatch reference
 * show` computes the same threshold when none is stored yet. */
uint64_t calib_feature_seed(int64_t model_id, const char *name);
uint64_t calib_class_seed(uint64_t seed, int cls);

/* Size class of a window of n values (0..CALIB_CLASSES-1) and its size. */
int calib_class(size_t n);
size_t calib_class_size(int cls);

/* Lazily filled per-feature cache: one calibration per size class, dropped
 * when the method or the rate changes. A zeroed struct is empty. fresh
 * marks the classes calibrated here and not yet stored with the reference
 * (the caller stores them and clears the mark). */
struct calib_cache {
	enum drift_method method;
	double rate;
	bool have[CALIB_CLASSES];
	bool fresh[CALIB_CLASSES];
	struct calib_result cls[CALIB_CLASSES];
};

/* Puts a stored calibration c (for method m at rate) into the cache, not
 * fresh. Refused (-EINVAL) when c is not one calib_run gives for m, rate
 * and a reference of n_ref values at a class size: a stale or hand-edited
 * row is recalibrated instead of trusted. */
int calib_cache_put(struct calib_cache *cache, enum drift_method m, double rate, uint64_t n_ref,
                    const struct calib_result *c);

/* The calibrated threshold for a window of n values (calibrating its size
 * class first when needed); *res (may be NULL) points at the class's
 * calibration. */
int calib_cache_threshold(struct calib_cache *cache, const struct drift_ref *ref,
                          enum drift_method m, double rate, size_t n, uint64_t seed,
                          double *threshold, const struct calib_result **res);

/* ---- effect size (issue 17, item 2) -------------------------------------
 * A p-value shrinks with the window however small the change, and on
 * 10,000-value windows a calibrated distance threshold is small too: the
 * minimum effect is the size of change worth a DRIFT. The effect is the
 * score itself for distances (Wasserstein normed by the reference's std,
 * PSI, JS, Hellinger, L-inf, TVD, KL, energy); the normed Wasserstein for
 * the numeric tests (KS, Mann-Whitney, Welch, Anderson-Darling, CvM); the
 * L-infinity of the cell shares (the largest change of one category's
 * share) for the categorical tests (chi-square, z, Fisher). */

/* The effect measure of r (for r->method). */
double calib_effect(const struct drift_result *r);
/* Default minimum effect under the mlwatch preset: 0.1 for every method
 * but energy (not normalised: 0, none). */
double calib_min_effect_default(enum drift_method m);
/* No DRIFT below min_effect (> 0): severity becomes
 * min(severity, effect / min_effect), so the heatmap and drift() rules
 * agree with the verdict. */
void calib_apply_min_effect(struct drift_result *r, double min_effect);

#endif /* MLWATCH_STATS_CALIBRATE_H */
