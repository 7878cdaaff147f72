/*
 * kolmogorov: the finite-n one-sample Kolmogorov-Smirnov distribution, as
 * scipy 1.10 computes it (scipy.stats.kstwo, scipy/stats/_ksstats.py, and
 * the one-sided scipy.special.smirnov it calls). ks_2samp's "asymp" method
 * takes its two-sided p-value from kstwo.sf(D, round(n m / (n + m))), not
 * from the Kolmogorov limit, so this is what twosample.c uses above the
 * exact path's 10,000-value limit.
 *
 * Owns: the choice among scipy's algorithms by n and x (Simard and
 * L'Ecuyer 2011): Ruben-Gambino closed forms at the ends, twice the
 * one-sided Smirnov tail for large x, Durbin's matrix (Marsaglia-Tsang-Wang)
 * and Pomeranz's recursion for small n, and the Pelz-Good series for large
 * n and small x. Values agree with scipy to about 1e-11 relative except on
 * the Pelz-Good series (an approximation both compute the same way).
 *
 * Pure functions, thread-safe; the matrix path allocates O(k^2) doubles
 * (k = ceil(n x) <= 60 where it is used) and returns NaN when it cannot.
 */
#ifndef MLWATCH_STATS_KOLMOGOROV_H
#define MLWATCH_STATS_KOLMOGOROV_H

#include <stdint.h>

/* scipy.stats.kstwo.sf(x, n): P(D_n >= x) for the two-sided one-sample
 * statistic with n values. 1 for x <= 1/(2n), 0 for x >= 1; NaN for n < 1,
 * NaN x, or (only) when a scratch matrix cannot be allocated. */
double stats_kstwo_sf(double x, int64_t n);

/* scipy.special.smirnov(n, x): P(D_n^+ >= x), the one-sided statistic. */
double stats_smirnov_sf(int64_t n, double x);

#endif
