/* twosample: the KS p-value (exact and asymptotic), the 2 x k chi-square
 * contingency test and the two-proportion z-test against scipy
 * (tests/data/twosample_cases.json, made by tests/data/gen_twosample.py).
 * Each family prints its worst relative error. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <time.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"
#include "drift.h"
#include "sample.h"
#include "stats/distance.h"
#include "stats/kolmogorov.h"
#include "stats/twosample.h"

/* Acceptance 2 of issue 14: statistics and p-values within 1e-9 relative;
 * 1e-6 for p-values from series expansions (continued fractions). */
#define TOL_REL    1e-9
#define TOL_SERIES 1e-6

static cJSON *load_cases(void)
{
	char *path = h_src("tests/data/twosample_cases.json");
	cJSON *doc = h_load_json(path);

	cr_assert_not_null(doc, "cannot read %s (set MLWATCH_SRC_DIR)", path);
	free(path);
	return doc;
}

static double num(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	cr_assert(cJSON_IsNumber(v), "missing number '%s'", key);
	return v->valuedouble;
}

static const cJSON *arr(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	cr_assert(cJSON_IsArray(v), "missing array '%s'", key);
	return v;
}

static double rel_err(double got, double want)
{
	if (got == want)
		return 0;
	if (want == 0)
		return fabs(got);
	return fabs(got - want) / fabs(want);
}

/* Checks got against want and folds the error into *worst. */
static void check(const char *c, const char *what, double got, double want, double *worst)
{
	double e = rel_err(got, want);

	cr_expect_leq(e, TOL_REL, "%s %s: got %.17g want %.17g (rel %.3g)", c, what, got, want, e);
	if (e > *worst)
		*worst = e;
}

/* As check with the series tolerance. */
static void check_series(const char *c, const char *what, double got, double want, double *worst)
{
	double e = rel_err(got, want);

	cr_expect_leq(e, TOL_SERIES, "%s %s: got %.17g want %.17g (rel %.3g)", c, what, got, want,
	              e);
	if (e > *worst)
		*worst = e;
}

static double *sorted_doubles(const cJSON *a, size_t *n)
{
	const cJSON *v;
	size_t i = 0;
	double *x;

	*n = (size_t)cJSON_GetArraySize(a);
	x = malloc((*n ? *n : 1) * sizeof(*x));
	cr_assert_not_null(x);
	cJSON_ArrayForEach(v, a) x[i++] = v->valuedouble;
	cr_assert_eq(sample_sort(x, *n), 0);
	return x;
}

static const char *name_of(const cJSON *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "name");

	return cJSON_IsString(v) ? v->valuestring : "?";
}

Test(twosample, ks_2samp_auto_matches_scipy)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double worst_d = 0, worst_p = 0;
	int n_cases = 0;

	cJSON_ArrayForEach(c, arr(doc, "ks"))
	{
		size_t n, m;
		double *a = sorted_doubles(arr(c, "a"), &n), *b = sorted_doubles(arr(c, "b"), &m);
		double d = drift_ks_stat(a, n, b, m), p;
		enum stats_ks_p_method how;

		cr_assert_eq((size_t)num(c, "n"), n);
		check(name_of(c), "D", d, num(c, "d"), &worst_d);
		p = stats_ks_p(d, n, m, &how);
		check(name_of(c), "p", p, num(c, "p"), &worst_p);
		cr_expect_eq(how, STATS_KS_P_EXACT, "%s: method", name_of(c));
		n_cases++;
		free(a);
		free(b);
	}
	printf("twosample ks_2samp: %d cases vs scipy %s: worst rel err D %.3g, p %.3g\n", n_cases,
	       cJSON_GetObjectItem(doc, "scipy")->valuestring, worst_d, worst_p);
	cr_expect_geq(n_cases, 30);
	cJSON_Delete(doc);
}

Test(twosample, ks_exact_large_sizes_match_scipy)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double worst = 0;
	int n_cases = 0;

	cJSON_ArrayForEach(c, arr(doc, "ks_lattice"))
	{
		size_t n = (size_t)num(c, "n"), m = (size_t)num(c, "m");
		double p;
		char name[64];

		snprintf(name, sizeof(name), "%zu x %zu d=%g", n, m, num(c, "d"));
		cr_assert_eq(stats_ks_p_exact(num(c, "d"), n, m, &p), 0, "%s", name);
		check(name, "p", p, num(c, "p"), &worst);
		n_cases++;
	}
	printf("twosample ks exact (up to 10000 x 10000): %d cases: worst rel err p %.3g\n",
	       n_cases, worst);
	cr_expect_geq(n_cases, 30);
	cJSON_Delete(doc);
}

Test(twosample, ks_method_switches_above_10000)
{
	double p;
	enum stats_ks_p_method how;

	cr_expect_eq(stats_ks_p_method_for(10000, 10000), STATS_KS_P_EXACT);
	cr_expect_eq(stats_ks_p_method_for(10001, 5), STATS_KS_P_ASYMPTOTIC);
	p = stats_ks_p(0.1, 20000, 500, &how);
	cr_expect_eq(how, STATS_KS_P_ASYMPTOTIC);
	/* scipy 1.10: ks_2samp(..., method="asymp") = kstwo.sf(0.1, 488) */
	cr_expect_leq(rel_err(p, 1.061082516684975e-04), TOL_REL, "p %.17g", p);
	cr_expect_eq(stats_ks_p_exact(0.1, 10001, 5, &p), -EINVAL);
	cr_expect_eq(stats_ks_p_exact(0.1, 0, 5, &p), -EINVAL);
	/* The example: 20 vs 20 values, D = 0.5. */
	cr_expect_float_eq(stats_ks_p(0.5, 20, 20, &how), 0.012298612583953816, 1e-15);
	cr_expect_eq(stats_ks_p(0.3, 0, 20, &how), 1);
	/* The work bound: 10,000 vs 9,999 values at D = 0.5 would take ~1.4 s
	 * exact; p is ~0 either way, so the limiting value is taken. */
	p = stats_ks_p(0.5, 10000, 9999, &how);
	cr_expect_eq(how, STATS_KS_P_ASYMPTOTIC);
	cr_expect_lt(p, 1e-20);
	p = stats_ks_p(0.02, 10000, 9999, &how);
	cr_expect_eq(how, STATS_KS_P_EXACT, "p %g is not tiny: exact", p);
}

/* Whether kstwo.sf(x, n) takes scipy's Pelz-Good series (then 1e-6). */
static bool kstwo_is_series(double x, int64_t n)
{
	double nx2 = (double)n * x * x;

	return n > 140 && x < 0.5 && (double)n * x > 1 && (double)n * x < (double)n - 1 &&
	       nx2 < 2.2 && (n > 100000 || (double)n * pow(x, 1.5) > 1.4);
}

Test(twosample, kstwo_sf_matches_scipy)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double worst = 0, worst_s = 0;
	int n_cases = 0;

	cJSON_ArrayForEach(c, arr(doc, "kstwo"))
	{
		int64_t n = (int64_t)num(c, "n");
		double x = num(c, "x"), sf = stats_kstwo_sf(x, n);
		char name[64];

		snprintf(name, sizeof(name), "kstwo n=%lld x=%.6g", (long long)n, x);
		if (kstwo_is_series(x, n))
			check_series(name, "sf", sf, num(c, "sf"), &worst_s);
		else
			check(name, "sf", sf, num(c, "sf"), &worst);
		n_cases++;
	}
	printf("twosample kstwo.sf: %d cases vs scipy: worst rel err %.3g (Pelz-Good series "
	       "%.3g)\n",
	       n_cases, worst, worst_s);
	cr_expect_geq(n_cases, 100);
	cJSON_Delete(doc);
}

/* Rebuilds a sorted integer sample from its histogram (counts of 0, 1, ...). */
static double *from_hist(const cJSON *h, size_t n)
{
	const cJSON *v;
	double *x = malloc(n * sizeof(*x)), val = 0;
	size_t i = 0;

	cr_assert_not_null(x);
	cJSON_ArrayForEach(v, h)
	{
		for (int64_t k = 0; k < (int64_t)v->valuedouble; k++) {
			cr_assert_lt(i, n);
			x[i++] = val;
		}
		val += 1;
	}
	cr_assert_eq(i, n);
	return x;
}

Test(twosample, ks_asymp_above_10000_matches_scipy)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double worst = 0, worst_s = 0, worst_d = 0;
	int n_cases = 0, n_big = 0;

	cJSON_ArrayForEach(c, arr(doc, "ks_asymp"))
	{
		size_t n = (size_t)num(c, "n"), m = (size_t)num(c, "m");
		double d = num(c, "d"), p, en;
		enum stats_ks_p_method how;
		const cJSON *ha = cJSON_GetObjectItemCaseSensitive(c, "ha");

		if (ha) { /* ties: D computed here from the rebuilt samples */
			double *a = from_hist(ha, n), *b = from_hist(arr(c, "hb"), m);

			check(name_of(c), "D", drift_ks_stat(a, n, b, m), d, &worst_d);
			free(a);
			free(b);
		}
		p = stats_ks_p(d, n, m, &how);
		cr_expect_eq(how, STATS_KS_P_ASYMPTOTIC, "%s", name_of(c));
		en = (double)(n > m ? n : m) * (double)(n > m ? m : n) / ((double)n + (double)m);
		if (kstwo_is_series(d, (int64_t)nearbyint(en)))
			check_series(name_of(c), "p", p, num(c, "p"), &worst_s);
		else
			check(name_of(c), "p", p, num(c, "p"), &worst);
		n_big += n > STATS_KS_EXACT_MAX || m > STATS_KS_EXACT_MAX;
		n_cases++;
	}
	printf("twosample ks_2samp above 10,000 values: %d cases vs scipy: worst rel err D %.3g, "
	       "p %.3g (Pelz-Good series %.3g)\n",
	       n_cases, worst_d, worst, worst_s);
	cr_expect_eq(n_big, n_cases);
	cr_expect_geq(n_cases, 30);
	cJSON_Delete(doc);
}

/* On n == m where the square formula rounds past 1, ks_2samp falls back to
 * the asymptotic p at the snapped D (0.99996 for 7 vs 7 at D = 1/7, not 1). */
Test(twosample, ks_exact_out_of_range_falls_back_as_scipy)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double worst = 0;
	int n_cases = 0;

	cJSON_ArrayForEach(c, arr(doc, "ks_fallback"))
	{
		size_t n = (size_t)num(c, "n");
		char name[32];

		snprintf(name, sizeof(name), "%zu vs %zu", n, n);
		check(name, "p", stats_ks_p(num(c, "d"), n, n, NULL), num(c, "p"), &worst);
		n_cases++;
	}
	printf("twosample ks_2samp exact-to-asymptotic fallback: %d cases: worst rel err %.3g\n",
	       n_cases, worst);
	cJSON_Delete(doc);
}

static void u64s(const cJSON *a, uint64_t *out, size_t *n)
{
	const cJSON *v;

	*n = 0;
	cJSON_ArrayForEach(v, a) out[(*n)++] = (uint64_t)v->valuedouble;
}

Test(twosample, chi2_contingency_matches_scipy)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double worst_s = 0, worst_p = 0;
	int n_cases = 0;

	cJSON_ArrayForEach(c, arr(doc, "chi2"))
	{
		uint64_t a[64], b[64];
		size_t k, kb;

		cr_assert_leq(cJSON_GetArraySize(arr(c, "a")), 64);
		u64s(arr(c, "a"), a, &k);
		u64s(arr(c, "b"), b, &kb);
		cr_assert_eq(k, kb);
		for (int y = 0; y < 2; y++) {
			const cJSON *e = cJSON_GetObjectItem(c, y ? "yates" : "plain");
			double stat, p;
			int dof;

			stats_chi2_contingency(a, b, k, y, &stat, &p, &dof);
			check(name_of(c), y ? "yates stat" : "stat", stat, num(e, "stat"),
			      &worst_s);
			check(name_of(c), y ? "yates p" : "p", p, num(e, "p"), &worst_p);
			cr_expect_eq(dof, (int)num(e, "dof"), "%s dof", name_of(c));
		}
		n_cases++;
	}
	printf("twosample chi2_contingency: %d cases x (plain, Yates) vs scipy: worst rel err "
	       "stat %.3g, p %.3g\n",
	       n_cases, worst_s, worst_p);
	cr_expect_geq(n_cases, 30);
	cJSON_Delete(doc);
}

Test(twosample, ztest_matches_scipy)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double worst_z = 0, worst_p = 0;
	int n_cases = 0;

	cJSON_ArrayForEach(c, arr(doc, "z"))
	{
		double z, p;

		stats_ztest_2prop((uint64_t)num(c, "x1"), (uint64_t)num(c, "n1"),
		                  (uint64_t)num(c, "x2"), (uint64_t)num(c, "n2"), &z, &p);
		check(name_of(c), "z", z, num(c, "z"), &worst_z);
		check(name_of(c), "p", p, num(c, "p"), &worst_p);
		n_cases++;
	}
	printf("twosample z-test: %d cases vs scipy.stats.norm: worst rel err z %.3g, p %.3g\n",
	       n_cases, worst_z, worst_p);
	cr_expect_geq(n_cases, 30);
	cJSON_Delete(doc);
}

/* A JSON number, or "inf". */
static double num_or_inf(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsString(v) && strcmp(v->valuestring, "inf") == 0)
		return INFINITY;
	return num(obj, key);
}

Test(twosample, distances_match_numpy)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double worst[4] = {0};
	int n_cases = 0;

	cJSON_ArrayForEach(c, arr(doc, "distances"))
	{
		double p[64], q[64], kl;
		size_t k = 0, kq = 0;
		const cJSON *v;

		cr_assert_leq(cJSON_GetArraySize(arr(c, "p")), 64);
		cJSON_ArrayForEach(v, arr(c, "p")) p[k++] = v->valuedouble;
		cJSON_ArrayForEach(v, arr(c, "q")) q[kq++] = v->valuedouble;
		cr_assert_eq(k, kq);
		check(name_of(c), "hellinger", stats_hellinger(p, q, k), num(c, "hellinger"),
		      &worst[0]);
		check(name_of(c), "linf", stats_linf(p, q, k), num(c, "linf"), &worst[1]);
		check(name_of(c), "tvd", stats_tvd(p, q, k), num(c, "tvd"), &worst[2]);
		kl = stats_kl(p, q, k);
		if (isinf(num_or_inf(c, "kl")))
			cr_expect(isinf(kl), "%s kl: got %g want inf", name_of(c), kl);
		else
			check(name_of(c), "kl", kl, num(c, "kl"), &worst[3]);
		n_cases++;
	}
	printf("twosample distances: %d cases vs numpy/scipy: worst rel err Hellinger %.3g, "
	       "L-inf %.3g, TVD %.3g, KL %.3g\n",
	       n_cases, worst[0], worst[1], worst[2], worst[3]);
	cr_expect_geq(n_cases, 30);
	cJSON_Delete(doc);
}

Test(twosample, energy_mannwhitney_welch_match_scipy)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double w_e = 0, w_u = 0, w_up = 0, w_t = 0, w_tp = 0, w_ad = 0, w_adp = 0, w_cv = 0;
	double w_cvx = 0, w_cva = 0;
	int n_cases = 0, n_welch = 0, n_ad = 0, n_cv = 0, n_cvx = 0;

	cJSON_ArrayForEach(c, arr(doc, "numeric_tests"))
	{
		size_t n, m;
		double *a = sorted_doubles(arr(c, "a"), &n), *b = sorted_doubles(arr(c, "b"), &m);
		double u, p, t;

		check(name_of(c), "energy", stats_energy(a, n, b, m), num(c, "energy"), &w_e);
		cr_assert_eq(stats_mannwhitneyu(a, n, b, m, &u, &p), 0);
		check(name_of(c), "U", u, num(c, "mwu_u"), &w_u);
		check(name_of(c), "U p", p, num(c, "mwu_p"), &w_up);
		if (cJSON_GetObjectItem(c, "ad_stat")) {
			double st, ap;

			cr_assert_eq(stats_anderson_ksamp(a, n, b, m, &st, &ap), 0, "%s",
			             name_of(c));
			check(name_of(c), "AD stat", st, num(c, "ad_stat"), &w_ad);
			check_series(name_of(c), "AD p", ap, num(c, "ad_p"), &w_adp);
			n_ad++;
		}
		if (cJSON_GetObjectItem(c, "cvm_t")) {
			double ct, cp;
			bool exact = cJSON_IsTrue(cJSON_GetObjectItem(c, "cvm_exact"));

			cr_assert_eq(stats_cvm_2samp(a, n, b, m, &ct, &cp), 0, "%s", name_of(c));
			check(name_of(c), "CvM T", ct, num(c, "cvm_t"), &w_cv);
			if (exact)
				check(name_of(c), "CvM p exact", cp, num(c, "cvm_p"), &w_cvx);
			else
				check_series(name_of(c), "CvM p", cp, num(c, "cvm_p"), &w_cva);
			n_cv++;
			n_cvx += exact;
		}
		if (cJSON_GetObjectItem(c, "welch_t")) {
			cr_assert_eq(stats_welch_t(a, n, b, m, &t, &p, NULL), 0);
			check(name_of(c), "welch t", t, num(c, "welch_t"), &w_t);
			check_series(name_of(c), "welch p", p, num(c, "welch_p"), &w_tp);
			n_welch++;
		}
		free(a);
		free(b);
		n_cases++;
	}
	printf("twosample: %d cases vs scipy: worst rel err energy %.3g, Mann-Whitney U %.3g, "
	       "U p %.3g; %d Welch cases: t %.3g, p %.3g (incomplete beta)\n",
	       n_cases, w_e, w_u, w_up, n_welch, w_t, w_tp);
	cr_expect_geq(n_cases, 30);
	cr_expect_geq(n_welch, 30);
	printf("twosample anderson_ksamp: %d cases vs scipy: worst rel err statistic %.3g, "
	       "p %.3g (interpolated)\n",
	       n_ad, w_ad, w_adp);
	cr_expect_geq(n_ad, 30);
	printf("twosample cramervonmises_2samp: %d cases (%d exact) vs scipy: worst rel err T "
	       "%.3g, exact p %.3g, asymptotic p %.3g (series)\n",
	       n_cv, n_cvx, w_cv, w_cvx, w_cva);
	cr_expect_geq(n_cv, 30);
	cJSON_Delete(doc);
}

Test(twosample, fisher_exact_matches_scipy)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double worst = 0;
	int n_cases = 0;

	cJSON_ArrayForEach(c, arr(doc, "fisher"))
	{
		uint64_t t[4];
		size_t k;

		u64s(arr(c, "t"), t, &k);
		cr_assert_eq(k, 4);
		check(name_of(c), "p", stats_fisher_exact(t[0], t[1], t[2], t[3]), num(c, "p"),
		      &worst);
		n_cases++;
	}
	printf("twosample fisher_exact: %d cases vs scipy: worst rel err p %.3g\n", n_cases, worst);
	cr_expect_geq(n_cases, 30);
	cJSON_Delete(doc);
}

/* Counts from outside are unbounded: Fisher's walk over the possible tables
 * must stay bounded (a fuzzed reference profile with counts near 2^60 made
 * it endless). Past 10^7 tables it answers with the z-test's p. */
Test(twosample, fisher_exact_is_bounded_for_huge_counts)
{
	double t0 = clock(), p, z, pz;

	p = stats_fisher_exact((uint64_t)1 << 60, 5, (uint64_t)1 << 61, 7);
	cr_expect(p >= 0 && p <= 1, "p %g", p);
	/* few possible tables, but counts past 2^53, where x++ cannot move */
	p = stats_fisher_exact(((uint64_t)1 << 60) + 3, 2, 4, ((uint64_t)1 << 60) + 1);
	cr_expect(p >= 0 && p <= 1, "p %g", p);
	p = stats_fisher_exact(30000000, 30000000, 30005000, 30000000);
	stats_ztest_2prop(30000000, 60000000, 30005000, 60005000, &z, &pz);
	cr_expect_float_eq(p, pz, 1e-15, "p %g vs z-test %g", p, pz);
	cr_expect_lt((clock() - t0) / CLOCKS_PER_SEC, 1.0, "took %g s",
	             (clock() - t0) / CLOCKS_PER_SEC);
	/* just under the bound: still the exact walk */
	p = stats_fisher_exact(4000000, 4000000, 4000000, 4000000);
	cr_expect(p > 0.99, "identical rows: p %g", p);
}
