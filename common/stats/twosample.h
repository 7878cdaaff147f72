/*
 * twosample: two-sample tests of homogeneity, each equal to its scipy
 * reference (scipy 1.10 semantics, checked by tests/unit/test_twosample.c
 * against tests/data/twosample_cases.json from tests/data/gen_twosample.py).
 *
 * Owns: the Kolmogorov-Smirnov p-value in ks_2samp's method="auto"
 * (exact distribution when max(n, m) <= 10,000, above it the finite-n
 * one-sample distribution at round(n m / (n + m)) as scipy does), the
 * 2 x k chi-square contingency test (chi2_contingency, no Yates unless
 * asked), the pooled two-proportion z-test, Fisher's exact test on a
 * 2 x 2 table, the Mann-Whitney U test and Welch's t-test.
 *
 * Pure functions: no allocation except the exact KS path's one scratch
 * column (-ENOMEM is reported, never a crash), no global state, thread-safe.
 * Inputs are counts and sizes the caller validated; degenerate inputs give
 * the "no evidence" answer (statistic 0, p 1) rather than NaN.
 */
#ifndef MLWATCH_STATS_TWOSAMPLE_H
#define MLWATCH_STATS_TWOSAMPLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest sample for which the KS p-value is exact (scipy's MAX_AUTO_N). */
#define STATS_KS_EXACT_MAX 10000
/* Steps of the exact path (about 2 d n m) above which a p that the limiting
 * distribution puts below 1e-20 is taken from it (about 30 ms). */
#define STATS_KS_EXACT_WORK 4e6

enum stats_ks_p_method {
	STATS_KS_P_EXACT = 0,      /* Hodges/Viehmann lattice-path count */
	STATS_KS_P_ASYMPTOTIC = 1, /* kstwo.sf(D, round(nm/(n+m))) */
};

/* "exact" or "asymptotic". */
const char *stats_ks_p_method_name(enum stats_ks_p_method m);
/* The method ks_2samp(method="auto") uses for sizes n and m. */
enum stats_ks_p_method stats_ks_p_method_for(size_t n, size_t m);

/* Exact two-sided P(D_{n,m} >= d) as ks_2samp(method="exact"): d is first
 * snapped to the lattice h / lcm(n, m). n, m >= 1 and <= STATS_KS_EXACT_MAX
 * (-EINVAL otherwise); -ENOMEM. Cost O(n + m) when n == m, else about
 * 2 d n m steps. */
int stats_ks_p_exact(double d, size_t n, size_t m, double *p);

/* ks_2samp(method="asymp") two-sided p: scipy.stats.kstwo.sf(d, round(en))
 * with en = n m / (n + m), the finite-n one-sample KS distribution
 * (kolmogorov.h), not the Kolmogorov limit. 1 when a side is empty. */
double stats_ks_p_asymp(double d, size_t n, size_t m);

/* Two-sided p-value of KS D for sizes n and m by ks_2samp's "auto" rule;
 * *how (may be NULL) says which. Above the exact limit it is
 * stats_ks_p_asymp. As scipy, an exact value that rounds outside [0, 1]
 * falls back to the asymptotic one at the lattice-snapped D. Also
 * asymptotic when the scratch column cannot be allocated, and when the
 * exact path would take more than STATS_KS_EXACT_WORK steps for a p below
 * 1e-20 (bounding a window's cost near 0.1 s; verdict and severity are the
 * same). 1 when a side is empty. */
double stats_ks_p(double d, size_t n, size_t m, enum stats_ks_p_method *how);

/* Pearson chi-square of the 2 x k contingency table (a[i], b[i]) over the
 * columns where a[i] + b[i] > 0, as scipy.stats.chi2_contingency with
 * correction=yates (Yates applies only when dof == 1, as in scipy). *dof is
 * the used columns minus 1; with dof 0 (or an empty row) statistic 0, p 1. */
void stats_chi2_contingency(const uint64_t *a, const uint64_t *b, size_t k, bool yates,
                            double *stat, double *p, int *dof);

/* Pooled two-proportion z-test of x1 successes in n1 vs x2 in n2:
 * z = (p1 - p2) / sqrt(P (1 - P) (1/n1 + 1/n2)), p = 2 norm.sf(|z|).
 * z 0 and p 1 when P is 0 or 1 or a side is empty. */
void stats_ztest_2prop(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2, double *z, double *p);

/* Standard normal survival function (scipy.stats.norm.sf). */
double stats_norm_sf(double x);

/* Fisher's exact test, two-sided, of [[a, b], [c, d]] as
 * scipy.stats.fisher_exact: the hypergeometric probability of the tables
 * no likelier than the observed one (relative slack 1e-14). p 1 when a row
 * or column sums to 0. With more than 10^7 possible tables (margins in the
 * tens of millions) the two-proportion z-test's p instead, so that the time
 * stays bounded whatever the counts. */
double stats_fisher_exact(uint64_t a, uint64_t b, uint64_t c, uint64_t d);

/* Mann-Whitney U of sorted a[0..n) and b[0..m) as scipy.stats.mannwhitneyu
 * (two-sided, continuity correction, method="auto": exact when min(n, m)
 * <= 8 and there are no ties, else the tie-corrected normal
 * approximation). *u is U of a. -EINVAL for an empty side; -ENOMEM (exact
 * path). */
int stats_mannwhitneyu(const double *a, size_t n, const double *b, size_t m, double *u, double *p);

/* Welch's t-test of a[0..n) and b[0..m) (any order) as
 * scipy.stats.ttest_ind(equal_var=False): t, p two-sided. n, m >= 2 else
 * -EINVAL; both variances 0 gives t 0, p 1 (scipy: NaN). *df may be NULL. */
int stats_welch_t(const double *a, size_t n, const double *b, size_t m, double *t, double *p,
                  double *df);

/* The same from moments: means, sample variances (ddof 1) and sizes (the
 * reference profile keeps its moments, so a window costs O(window)). */
int stats_welch_t_moments(double ma, double va, size_t n, double mb, double vb, size_t m, double *t,
                          double *p, double *df);

/* Anderson-Darling k-sample test for two sorted samples, as
 * scipy.stats.anderson_ksamp([a, b]) (midrank): *stat the normalised
 * statistic, *p its significance level interpolated from the critical
 * values (a quadratic in log p, as scipy), capped to [0.001, 0.25]. Needs
 * 2+ distinct values in all and both sides non-empty, else -EINVAL. */
int stats_anderson_ksamp(const double *a, size_t n, const double *b, size_t m, double *stat,
                         double *p);

/* Cramer-von Mises two-sample test of sorted a and b as
 * scipy.stats.cramervonmises_2samp (method="auto": exact when both have at
 * most 20 values, else the limiting distribution, whose series scipy stops
 * at a term below 1e-7). n, m >= 2 else -EINVAL; -ENOMEM (exact path). */
int stats_cvm_2samp(const double *a, size_t n, const double *b, size_t m, double *t, double *p);

/* Student t survival function (scipy.stats.t.sf), df > 0. */
double stats_t_sf(double t, double df);
/* Regularised incomplete beta I_x(a, b), a, b > 0, 0 <= x <= 1. */
double stats_betainc(double a, double b, double x);

#endif /* MLWATCH_STATS_TWOSAMPLE_H */
