/*
 * distance: distances between two distributions, each equal to its
 * numpy/scipy definition (checked by tests/unit/test_twosample.c against
 * tests/data/twosample_cases.json).
 *
 * Owns the binned/categorical distances (Hellinger, L-infinity, total
 * variation, Kullback-Leibler) on two vectors of k counts or proportions,
 * each side normalised to sum 1 first, and the energy distance of two
 * sorted samples (scipy.stats.energy_distance).
 *
 * Pure functions: no allocation, no state, thread-safe. A side that sums to
 * 0 gives 0 ("no evidence"), never NaN; KL is +inf where scipy's is.
 */
#ifndef MLWATCH_STATS_DISTANCE_H
#define MLWATCH_STATS_DISTANCE_H

#include <stddef.h>

/* sqrt(sum((sqrt(p) - sqrt(q))^2)) / sqrt(2), in [0, 1]. */
double stats_hellinger(const double *p, const double *q, size_t k);
/* max |p_i - q_i|, in [0, 1]. */
double stats_linf(const double *p, const double *q, size_t k);
/* sum |p_i - q_i| / 2, in [0, 1]. */
double stats_tvd(const double *p, const double *q, size_t k);
/* scipy.stats.entropy(p, q): sum p ln(p / q), natural log; +inf when some
 * q_i = 0 < p_i. */
double stats_kl(const double *p, const double *q, size_t k);
/* scipy.stats.energy_distance of sorted a[0..n) and b[0..m):
 * sqrt(2 * integral (F_a - F_b)^2). 0 when a side is empty. */
double stats_energy(const double *a, size_t n, const double *b, size_t m);

#endif /* MLWATCH_STATS_DISTANCE_H */
