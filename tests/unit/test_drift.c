/* drift: every statistic against scipy/numpy (tests/data/reference_stats.json,
 * made by tests/data/gen_reference.py), the contract's default method,
 * flag and severity, and defined results for degenerate inputs. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"
#include "drift.h"
#include "sample.h"
#include "stats/twosample.h"
#include "stats/distance.h"

/* Acceptance tolerances (issue 3). */
#define TOL_REL_STAT 1e-9 /* KS D, Wasserstein */
#define TOL_ABS_P    1e-6 /* p-values */
#define TOL_PSI_JS   1e-9

static cJSON *load_reference(void)
{
	char *path = h_src("tests/data/reference_stats.json");
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

static const char *str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	cr_assert(cJSON_IsString(v), "missing string '%s'", key);
	return v->valuestring;
}

static bool boolean(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	cr_assert(cJSON_IsBool(v), "missing bool '%s'", key);
	return cJSON_IsTrue(v);
}

static double *doubles(const cJSON *arr, size_t *n)
{
	double *x;
	size_t i = 0;
	const cJSON *v;

	cr_assert(cJSON_IsArray(arr));
	*n = (size_t)cJSON_GetArraySize(arr);
	x = malloc((*n ? *n : 1) * sizeof(*x));
	cr_assert_not_null(x);
	cJSON_ArrayForEach(v, arr) x[i++] = v->valuedouble;
	return x;
}

static double rel_err(double got, double want)
{
	if (got == want)
		return 0;
	return fabs(got - want) / fmax(fabs(want), 1e-300);
}

static void expect_rel(const char *c, const char *what, double got, double want, double tol)
{
	/* A zero expectation is met only by a (near) exact zero. */
	if (want == 0)
		cr_expect_leq(fabs(got), 1e-15, "%s %s: got %.17g want 0", c, what, got);
	else
		cr_expect_leq(rel_err(got, want), tol, "%s %s: got %.17g want %.17g (rel %.3g)", c,
		              what, got, want, rel_err(got, want));
}

static void expect_abs(const char *c, const char *what, double got, double want, double tol)
{
	cr_expect_leq(fabs(got - want), tol, "%s %s: got %.17g want %.17g", c, what, got, want);
}

static void expect_verdict(const char *c, const struct drift_result *r, const cJSON *e)
{
	double want_sev = num(e, "severity");

	cr_expect_str_eq(drift_method_name(r->method), str(e, "method"), "%s method", c);
	cr_expect_eq(r->threshold, num(e, "threshold"), "%s threshold", c);
	cr_expect_eq(r->drifted, boolean(e, "drifted"), "%s drifted (score %.17g)", c, r->score);
	if (drift_method_is_pvalue(r->method)) {
		expect_abs(c, "score", r->score, num(e, "score"), TOL_ABS_P);
		/* Both capped when p is below threshold / 1000. */
		if (want_sev >= DRIFT_SEVERITY_MAX)
			cr_expect_eq(r->severity, DRIFT_SEVERITY_MAX, "%s severity %.17g", c,
			             r->severity);
		else
			expect_rel(c, "severity", r->severity, want_sev, 1e-6);
	} else {
		expect_rel(c, "score", r->score, num(e, "score"), TOL_REL_STAT);
		expect_rel(c, "severity", r->severity, want_sev, TOL_REL_STAT);
	}
	cr_expect_not(r->insufficient, "%s insufficient", c);
}

Test(drift, numeric_cases_match_scipy)
{
	cJSON *doc = load_reference();
	const cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "numeric"), *tc;
	double worst_ks = 0, worst_w = 0, worst_p = 0, worst_pj = 0;
	int ncases = 0;

	cr_assert(cJSON_IsArray(cases));
	cJSON_ArrayForEach(tc, cases)
	{
		const char *name = str(tc, "name");
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(tc, "expect"), *q;
		size_t n, m, ne;
		double *ref = doubles(cJSON_GetObjectItemCaseSensitive(tc, "ref"), &n);
		double *cur = doubles(cJSON_GetObjectItemCaseSensitive(tc, "cur"), &m);
		double *edges = doubles(cJSON_GetObjectItemCaseSensitive(e, "edges"), &ne);
		double *sorted_cur;
		struct drift_ref dr;
		struct drift_result r;
		uint64_t counts[SAMPLE_BINS] = {0};
		size_t i;

		cr_assert_eq(drift_ref_numeric(&dr, ref, n, 1), 0, "%s", name);
		cr_assert_eq(dr.n, n);
		cr_assert_eq(drift_numeric(&dr, cur, m, NULL, &r), 0, "%s", name);
		cr_expect_eq(r.n_ref, n);
		cr_expect_eq(r.n_cur, m);
		expect_rel(name, "ks", r.ks, num(e, "ks"), TOL_REL_STAT);
		expect_abs(name, "ks_p", r.ks_p, num(e, "ks_p"), TOL_ABS_P);
		cr_expect_str_eq(stats_ks_p_method_name(r.ks_p_method), str(e, "ks_p_method"),
		                 "%s ks_p_method", name);
		expect_rel(name, "wasserstein", r.wasserstein, num(e, "wasserstein"), TOL_REL_STAT);
		expect_rel(name, "std_ref", dr.std, num(e, "std_ref"), TOL_REL_STAT);
		expect_rel(name, "mean_ref", dr.mean, num(e, "mean_ref"), TOL_REL_STAT);
		expect_abs(name, "psi", r.psi, num(e, "psi"), TOL_PSI_JS);
		expect_abs(name, "js", r.js, num(e, "js"), TOL_PSI_JS);
		expect_verdict(name, &r, e);
		worst_ks = fmax(worst_ks, rel_err(r.ks, num(e, "ks")));
		worst_w = fmax(worst_w, rel_err(r.wasserstein, num(e, "wasserstein")));
		worst_p = fmax(worst_p, fabs(r.ks_p - num(e, "ks_p")));
		worst_pj =
		    fmax(worst_pj, fmax(fabs(r.psi - num(e, "psi")), fabs(r.js - num(e, "js"))));

		/* The bin edges are numpy's to the bit, so the bins agree too. */
		cr_assert_eq(ne, SAMPLE_BINS - 1);
		for (i = 0; i < ne; i++)
			cr_expect_eq(dr.edges[i], edges[i], "%s edge %zu: %.17g vs numpy %.17g",
			             name, i, dr.edges[i], edges[i]);
		sample_bin_counts(dr.edges, cur, m, counts);
		i = 0;
		cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(e, "cur_bins"))
		{
			cr_expect_eq(counts[i], (uint64_t)q->valuedouble, "%s cur bin %zu", name,
			             i);
			i++;
		}
		cr_expect_eq(i, SAMPLE_BINS, "%s: %zu cur_bins in the reference file", name, i);
		i = 0;
		cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(e, "ref_bins"))
		{
			cr_expect_float_eq(dr.bin_prop[i], q->valuedouble / (double)n, 1e-15,
			                   "%s ref bin %zu", name, i);
			i++;
		}
		cr_expect_eq(i, SAMPLE_BINS, "%s: %zu ref_bins in the reference file", name, i);
		cr_expect_gt(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(e, "quantiles")),
		             0, "%s: no quantiles in the reference file", name);
		cJSON_ArrayForEach(q, cJSON_GetObjectItemCaseSensitive(e, "quantiles"))
		{
			double qq = cJSON_GetArrayItem(q, 0)->valuedouble;
			double want = cJSON_GetArrayItem(q, 1)->valuedouble;

			cr_expect_eq(sample_quantile_sorted(dr.sorted, n, qq), want,
			             "%s quantile %g: %.17g vs numpy %.17g", name, qq,
			             sample_quantile_sorted(dr.sorted, n, qq), want);
		}

		/* The statistics alone, on sorted inputs. */
		sorted_cur = malloc(m * sizeof(*sorted_cur));
		memcpy(sorted_cur, cur, m * sizeof(*sorted_cur));
		cr_assert_eq(sample_sort(sorted_cur, m), 0);
		expect_rel(name, "wasserstein_raw", drift_wasserstein(dr.sorted, n, sorted_cur, m),
		           num(e, "wasserstein_raw"), TOL_REL_STAT);
		expect_rel(name, "ks (sorted)", drift_ks_stat(dr.sorted, n, sorted_cur, m),
		           num(e, "ks"), TOL_REL_STAT);

		drift_ref_fini(&dr);
		free(sorted_cur);
		free(ref);
		free(cur);
		free(edges);
		ncases++;
	}
	printf("drift numeric: %d cases vs scipy: max rel err KS D %.2g, Wasserstein %.2g; "
	       "max abs err KS p %.2g, PSI/JS %.2g\n",
	       ncases, worst_ks, worst_w, worst_p, worst_pj);
	cr_assert_geq(ncases, 20);
	cJSON_Delete(doc);
}

/* Builds a categorical reference from [[name, count], ...]. */
static void cat_ref(struct drift_ref *dr, const cJSON *pairs)
{
	struct sample_cats t;
	const cJSON *p;

	sample_cats_init(&t, 0);
	cJSON_ArrayForEach(p, pairs)
	{
		const char *name = cJSON_GetArrayItem(p, 0)->valuestring;

		cr_assert_eq(sample_cats_add(&t, name, strlen(name),
		                             (uint64_t)cJSON_GetArrayItem(p, 1)->valuedouble),
		             0);
	}
	cr_assert_eq(drift_ref_categorical(dr, &t), 0);
	sample_cats_fini(&t);
}

Test(drift, categorical_cases_match_scipy)
{
	cJSON *doc = load_reference();
	const cJSON *cases = cJSON_GetObjectItemCaseSensitive(doc, "categorical"), *tc;
	double worst_chi = 0, worst_p = 0;
	int ncases = 0;

	cJSON_ArrayForEach(tc, cases)
	{
		const char *name = str(tc, "name");
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(tc, "expect"), *p;
		const cJSON *cells = cJSON_GetObjectItemCaseSensitive(e, "cells");
		struct drift_ref dr;
		struct drift_result r;
		uint64_t counts[DRIFT_MAX_CELLS] = {0};
		size_t i = 0;

		cat_ref(&dr, cJSON_GetObjectItemCaseSensitive(tc, "ref"));
		cr_assert_eq(dr.ncells, (size_t)cJSON_GetArraySize(cells), "%s ncells", name);
		/* Same cells in the same order as the contract's ranking. */
		cJSON_ArrayForEach(p, cells)
		{
			if (p->valuestring[0] != '@')
				cr_expect_eq(
				    drift_ref_cell(&dr, p->valuestring, strlen(p->valuestring)),
				    (int)i, "%s cell %s", name, p->valuestring);
			i++;
		}
		cr_expect_gt(i, 0, "%s: no cells in the reference file", name);
		cr_expect_gt(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(tc, "cur")), 0,
		             "%s: no cur counts in the reference file", name);
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(tc, "cur"))
		{
			const char *cat = cJSON_GetArrayItem(p, 0)->valuestring;

			counts[drift_ref_cell(&dr, cat, strlen(cat))] +=
			    (uint64_t)cJSON_GetArrayItem(p, 1)->valuedouble;
		}
		i = 0;
		cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(e, "cur_cells"))
		{
			cr_expect_eq(counts[i], (uint64_t)p->valuedouble, "%s cur cell %zu", name,
			             i);
			i++;
		}
		cr_expect_eq(i, dr.ncells, "%s: %zu cur_cells in the reference file", name, i);
		cr_assert_eq(drift_categorical(&dr, counts, dr.ncells, NULL, &r), 0, "%s", name);
		expect_rel(name, "chi2", r.chi2, num(e, "chi2"), TOL_REL_STAT);
		expect_abs(name, "chi2_p", r.chi2_p, num(e, "chi2_p"), TOL_ABS_P);
		cr_expect_eq(r.chi2_dof, (int)num(e, "chi2_dof"), "%s chi2 dof", name);
		expect_rel(name, "z", r.z, num(e, "z"), TOL_REL_STAT);
		expect_abs(name, "z_p", r.z_p, num(e, "z_p"), TOL_ABS_P);
		expect_abs(name, "psi", r.psi, num(e, "psi"), TOL_PSI_JS);
		expect_abs(name, "js", r.js, num(e, "js"), TOL_PSI_JS);
		expect_verdict(name, &r, e);
		cr_expect_eq(r.ks, 0);
		cr_expect_eq(r.wasserstein, 0);
		worst_chi = fmax(worst_chi, rel_err(r.chi2, num(e, "chi2")));
		worst_p = fmax(worst_p, fabs(r.chi2_p - num(e, "chi2_p")));
		drift_ref_fini(&dr);
		ncases++;
	}
	printf("drift categorical: %d cases vs scipy: max rel err chi2 %.2g, max abs err p %.2g\n",
	       ncases, worst_chi, worst_p);
	cr_assert_geq(ncases, 10);
	cJSON_Delete(doc);
}

Test(drift, special_functions_match_scipy)
{
	cJSON *doc = load_reference();
	const cJSON *sp = cJSON_GetObjectItemCaseSensitive(doc, "special"), *row;
	double worst = 0;

	cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(sp, "kstwobign_sf"))
	{
		double x = cJSON_GetArrayItem(row, 0)->valuedouble;
		double want = cJSON_GetArrayItem(row, 1)->valuedouble;

		cr_expect_float_eq(drift_kstwobign_sf(x), want, 1e-12, "kstwobign.sf(%g)", x);
		worst = fmax(worst, fabs(drift_kstwobign_sf(x) - want));
	}
	cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(sp, "chi2_sf"))
	{
		double x = cJSON_GetArrayItem(row, 0)->valuedouble;
		double dof = cJSON_GetArrayItem(row, 1)->valuedouble;
		double want = cJSON_GetArrayItem(row, 2)->valuedouble;

		cr_expect_float_eq(drift_chi2_sf(x, dof), want, 1e-12, "chi2.sf(%g, %g)", x, dof);
		worst = fmax(worst, fabs(drift_chi2_sf(x, dof) - want));
	}
	cJSON_ArrayForEach(row, cJSON_GetObjectItemCaseSensitive(sp, "gammainc"))
	{
		double a = cJSON_GetArrayItem(row, 0)->valuedouble;
		double x = cJSON_GetArrayItem(row, 1)->valuedouble;
		double p = cJSON_GetArrayItem(row, 2)->valuedouble;
		double q = cJSON_GetArrayItem(row, 3)->valuedouble;

		cr_expect_float_eq(drift_gamma_p(a, x), p, 1e-12, "P(%g, %g)", a, x);
		cr_expect_float_eq(drift_gamma_q(a, x), q, 1e-12, "Q(%g, %g)", a, x);
		/* Tail values are accurate relative to their size, too. */
		if (q > 1e-300)
			cr_expect_leq(rel_err(drift_gamma_q(a, x), q), 1e-9, "Q(%g, %g) relative",
			              a, x);
		worst = fmax(worst, fabs(drift_gamma_p(a, x) - p));
	}
	printf("drift special functions: max abs error vs scipy %.2g\n", worst);
	cJSON_Delete(doc);
}

static bool all_finite(const struct drift_result *r)
{
	return isfinite(r->ks) && isfinite(r->ks_p) && isfinite(r->wasserstein) &&
	       isfinite(r->chi2) && isfinite(r->chi2_p) && isfinite(r->psi) && isfinite(r->js) &&
	       isfinite(r->score) && isfinite(r->severity);
}

Test(drift, empty_sides_are_insufficient_not_nan)
{
	const double ref[] = {1, 2, 3}, cur[] = {2};
	struct drift_ref dr, empty;
	struct drift_result r;
	const char *cats[] = {"a", "b"};

	cr_assert_eq(drift_ref_numeric(&dr, ref, 3, 0), 0);
	cr_assert_eq(drift_numeric(&dr, cur, 0, NULL, &r), 0);
	cr_expect(r.insufficient);
	cr_expect_not(r.drifted);
	cr_expect_eq(r.n_ref, 3);
	cr_expect_eq(r.n_cur, 0);
	cr_expect_eq(r.ks_p, 1);
	cr_expect_eq(r.score, 1); /* KS p: "no evidence" */
	cr_expect_eq(r.severity, 0);
	cr_expect(all_finite(&r));
	cr_expect_eq(r.method, DRIFT_METHOD_KS);

	cr_assert_eq(drift_ref_numeric(&empty, NULL, 0, 0), 0);
	cr_assert_eq(drift_numeric(&empty, cur, 1, NULL, &r), 0);
	cr_expect(r.insufficient);
	cr_expect(all_finite(&r));
	cr_expect_not(drift_out_of_range(&empty, 1e9));
	drift_ref_fini(&empty);

	drift_ref_fini(&dr);
	cr_assert_eq(drift_ref_categorical_values(&dr, cats, 2), 0);
	cr_assert_eq(drift_categorical_values(&dr, cats, 0, NULL, &r), 0);
	cr_expect(r.insufficient);
	cr_expect_eq(r.chi2_p, 1);
	cr_expect_eq(r.method, DRIFT_METHOD_CHI2);
	cr_expect(all_finite(&r));
	drift_ref_fini(&dr);

	cr_assert_eq(drift_ref_categorical_values(&empty, NULL, 0), 0);
	cr_expect_eq(empty.ncells, 1); /* only "new" */
	cr_assert_eq(drift_categorical_values(&empty, cats, 2, NULL, &r), 0);
	cr_expect(r.insufficient);
	cr_expect(all_finite(&r));
	drift_ref_fini(&empty);
}

Test(drift, tiny_random_inputs_never_nan)
{
	struct sample_rng rng;

	sample_rng_seed(&rng, 11);
	for (int it = 0; it < 2000; it++) {
		size_t n = (size_t)sample_rng_below(&rng, 6), m = (size_t)sample_rng_below(&rng, 6);
		double ref[6], cur[6];
		struct drift_ref dr;
		struct drift_result r;
		struct drift_opts o = {(enum drift_method)sample_rng_below(&rng, 5), 0,
		                       DRIFT_PRESET_MLWATCH, false, false};

		/* Few distinct values: ties and constant samples are common. */
		for (size_t i = 0; i < n; i++)
			ref[i] = (double)sample_rng_below(&rng, 3);
		for (size_t i = 0; i < m; i++)
			cur[i] = (double)sample_rng_below(&rng, 3);
		cr_assert_eq(drift_ref_numeric(&dr, ref, n, 0), 0);
		cr_assert_eq(drift_numeric(&dr, cur, m, &o, &r), 0);
		cr_assert(all_finite(&r), "n=%zu m=%zu", n, m);
		cr_assert_eq(r.insufficient, n == 0 || m == 0);
		cr_assert(r.ks >= 0 && r.ks <= 1 && r.ks_p >= 0 && r.ks_p <= 1);
		cr_assert(r.js >= 0 && r.js <= 1 && r.psi >= 0 && r.wasserstein >= 0);
		drift_ref_fini(&dr);
	}
}

Test(drift, method_override_and_validation)
{
	double ref[2000], cur[500];
	struct drift_ref dr, dc;
	struct drift_result r, d;
	struct drift_opts psi = {DRIFT_METHOD_PSI, 0.2, DRIFT_PRESET_MLWATCH, false, false},
	                  chi = {DRIFT_METHOD_CHI2, 0, DRIFT_PRESET_MLWATCH, false, false};
	struct drift_opts ks = {DRIFT_METHOD_KS, 0.01, DRIFT_PRESET_MLWATCH, false, false},
	                  ws = {DRIFT_METHOD_WASSERSTEIN, 0, DRIFT_PRESET_MLWATCH, false, false};
	const char *cats[] = {"x"};
	const double bad[] = {1, NAN};
	enum drift_method m;

	for (int i = 0; i < 2000; i++)
		ref[i] = i % 100;
	for (int i = 0; i < 500; i++)
		cur[i] = (i % 100) + 30;
	cr_assert_eq(drift_ref_numeric(&dr, ref, 2000, 0), 0);
	/* > 1000 reference values: the default is normed Wasserstein. */
	cr_assert_eq(drift_numeric(&dr, cur, 500, NULL, &d), 0);
	cr_expect_eq(d.method, DRIFT_METHOD_WASSERSTEIN);
	cr_expect_eq(d.score, d.wasserstein);
	cr_expect_float_eq(d.wasserstein, 30.0 / dr.std, 1e-12);
	cr_expect(d.drifted);
	cr_expect_float_eq(d.severity, d.wasserstein / 0.1, 1e-12);
	/* The same window judged by PSI at 0.2. */
	cr_assert_eq(drift_numeric(&dr, cur, 500, &psi, &r), 0);
	cr_expect_eq(r.method, DRIFT_METHOD_PSI);
	cr_expect_eq(r.threshold, 0.2);
	cr_expect_eq(r.score, d.psi);
	cr_expect_eq(r.drifted, d.psi >= 0.2);
	cr_expect_float_eq(r.severity, d.psi / 0.2, 1e-12);
	/* KS at 0.01: severity is threshold / p, capped at 1000. */
	cr_assert_eq(drift_numeric(&dr, cur, 500, &ks, &r), 0);
	cr_expect_eq(r.score, r.ks_p);
	cr_expect_eq(r.severity, fmin(0.01 / fmax(r.ks_p, 1e-12), 1000));
	cr_expect_eq(drift_numeric(&dr, cur, 500, &chi, &r), -EINVAL);
	cr_expect_eq(drift_numeric(&dr, bad, 2, NULL, &r), -EINVAL);
	cr_expect_eq(drift_numeric_sorted(&dr, (const double[]){2, 1}, 2, NULL, &r), -EINVAL);
	cr_expect_eq(drift_ref_numeric(&dc, bad, 2, 0), -EINVAL);
	cr_assert_eq(drift_ref_categorical_values(&dc, cats, 1), 0);
	cr_expect_eq(drift_categorical_values(&dc, cats, 1, &ws, &r), -EINVAL);
	cr_expect_eq(drift_numeric(&dc, cur, 1, NULL, &r), -EINVAL);
	cr_expect_eq(drift_categorical_values(&dr, cats, 1, NULL, &r), -EINVAL);
	{
		uint64_t c3[3] = {1, 1, 1};

		cr_expect_eq(drift_categorical(&dc, c3, 3, NULL, &r), -EINVAL); /* 2 cells */
	}
	drift_ref_fini(&dc);
	drift_ref_fini(&dr);

	cr_assert_eq(drift_method_parse("wasserstein", &m), 0);
	cr_expect_eq(m, DRIFT_METHOD_WASSERSTEIN);
	cr_expect_eq(drift_method_parse("Wasserstein", &m), -EINVAL);
	cr_expect_str_eq(drift_method_name(DRIFT_METHOD_CHI2), "chi2");
	cr_expect_eq(drift_method_default_threshold(DRIFT_METHOD_KS), 0.05);
	cr_expect_eq(drift_method_default_threshold(DRIFT_METHOD_JS), 0.1);
}

Test(drift, data_quality_helpers)
{
	const double ref[] = {-1, 0, 4.5};
	const char *cats[] = {"de", "fr", "de"};
	struct drift_ref dr, dc;

	cr_assert_eq(drift_ref_numeric(&dr, ref, 3, 0), 0);
	cr_expect_not(drift_out_of_range(&dr, -1));
	cr_expect_not(drift_out_of_range(&dr, 4.5));
	cr_expect(drift_out_of_range(&dr, 4.50001));
	cr_expect(drift_out_of_range(&dr, -1.5));
	cr_expect_not(drift_is_new_category(&dr, "x", 1));
	cr_assert_eq(drift_ref_categorical_values(&dc, cats, 3), 0);
	cr_expect_not(drift_is_new_category(&dc, "fr", 2));
	cr_expect(drift_is_new_category(&dc, "it", 2));
	cr_expect(drift_is_new_category(&dc, "f", 1));
	cr_expect_eq(drift_ref_cell(&dc, "de", 2), 0);
	cr_expect_eq(drift_ref_cell(&dc, "fr", 2), 1);
	cr_expect_eq(drift_ref_cell(&dc, "it", 2), 2); /* new */
	cr_expect_eq(drift_ref_cell(&dr, "de", 2), -1);
	cr_expect_not(drift_out_of_range(&dc, 1e9));
	drift_ref_fini(&dr);
	drift_ref_fini(&dc);
}

Test(drift, reference_profile_sampled_and_roundtrips)
{
	size_t n = 150000;
	double *x = malloc(n * sizeof(*x));
	struct drift_ref dr, back;
	struct sample_cats t;
	uint8_t *enc = NULL;
	size_t len;

	for (size_t i = 0; i < n; i++)
		x[i] = (double)((i * 7919) % n); /* 0 .. n-1, shuffled */
	cr_assert_eq(drift_ref_numeric(&dr, x, n, 5), 0);
	cr_expect_eq(dr.n, SAMPLE_REF_MAX);
	for (size_t i = 1; i < dr.n; i++)
		cr_assert_leq(dr.sorted[i - 1], dr.sorted[i]);
	/* A uniform sample of a uniform grid: median near n/2. */
	cr_expect_float_eq(dr.edges[4], n / 2.0, n * 0.01);
	cr_assert_eq(drift_ref_encode(&dr, &enc, &len), 0);
	/* + NannyML's chunk thresholds: varint 10, three f64 */
	cr_expect(dr.chunk_thr.set);
	cr_expect_eq(len, 2 + 3 + SAMPLE_REF_MAX * 8 + 1 + 3 * 8);
	cr_assert_eq(drift_ref_decode(&back, enc, len), 0);
	cr_expect_eq(back.n, dr.n);
	cr_expect_eq(memcmp(back.edges, dr.edges, sizeof(dr.edges)), 0);
	cr_expect_eq(back.std, dr.std);
	drift_ref_fini(&back);
	/* Truncated or unsorted blobs are refused. */
	cr_expect_eq(drift_ref_decode(&back, enc, len - 1), -EPROTO);
	cr_expect_eq(drift_ref_decode(&back, enc, 1), -EPROTO);
	memcpy(enc + 5, &(double){1e300}, 8);
	cr_expect_eq(drift_ref_decode(&back, enc, len), -EPROTO);
	free(enc);
	drift_ref_fini(&dr);

	/* Categorical: 70 names, ranked the same after a round trip. */
	sample_cats_init(&t, 0);
	for (int i = 0; i < 70; i++) {
		char name[8];
		int l = snprintf(name, sizeof(name), "k%d", i);

		cr_assert_eq(sample_cats_add(&t, name, (size_t)l, (uint64_t)(100 - i)), 0);
	}
	cr_assert_eq(drift_ref_categorical(&dr, &t), 0);
	sample_cats_fini(&t);
	cr_expect_eq(dr.ncells, 66);
	cr_assert_eq(drift_ref_encode(&dr, &enc, &len), 0);
	cr_assert_eq(drift_ref_decode(&back, enc, len), 0);
	cr_expect_eq(back.ncells, 66);
	cr_expect_eq(memcmp(back.cell_prop, dr.cell_prop, sizeof(dr.cell_prop)), 0);
	cr_expect_eq(drift_ref_cell(&back, "k69", 3), 64); /* other */
	cr_expect_eq(drift_ref_cell(&back, "k0", 2), 0);
	drift_ref_fini(&back);
	for (size_t l = 0; l < len; l++)
		cr_expect_eq(drift_ref_decode(&back, enc, l), -EPROTO, "truncated at %zu", l);
	free(enc);
	drift_ref_fini(&dr);
	free(x);
}

/* splitmix64: a fixed stream, so the rates below are the same on every run. */
static uint64_t mix_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int draw_cat(uint64_t *s, const double *cum, int k)
{
	double u = (double)(mix_next(s) >> 11) * 0x1.0p-53;

	for (int i = 0; i < k - 1; i++)
		if (u < cum[i])
			return i;
	return k - 1;
}

/* Issue 14, acceptance 3: with a 200-row reference and no drift, the
 * default categorical test (homogeneity) raises p < 0.05 in 3.5-6.5% of
 * 2,000 windows; the goodness-of-fit test against the reference's shares
 * (the old default) over-alarms, its rate printed beside. */
Test(drift, homogeneity_false_alarm_rate_is_nominal)
{
	static const char *const names[] = {"a", "b", "c", "d", "e"};
	static const double share[] = {0.4, 0.25, 0.15, 0.12, 0.08};
	enum { K = 5, N_REF = 200, N_CUR = 500, TRIALS = 2000 };
	double cum[K];
	uint64_t seed = 14;
	int alarms = 0, gof_alarms = 0;

	cum[0] = share[0];
	for (int i = 1; i < K; i++)
		cum[i] = cum[i - 1] + share[i];
	for (int t = 0; t < TRIALS; t++) {
		struct sample_cats cats;
		struct drift_ref ref;
		struct drift_result r;
		uint64_t ref_n[K] = {0}, counts[DRIFT_MAX_CELLS] = {0};
		double expected[DRIFT_MAX_CELLS], gof;

		for (int i = 0; i < N_REF; i++)
			ref_n[draw_cat(&seed, cum, K)]++;
		sample_cats_init(&cats, 0);
		for (int c = 0; c < K; c++)
			if (ref_n[c])
				cr_assert_eq(sample_cats_add(&cats, names[c], 1, ref_n[c]), 0);
		cr_assert_eq(drift_ref_categorical(&ref, &cats), 0);
		sample_cats_fini(&cats);
		for (int i = 0; i < N_CUR; i++) {
			int c = draw_cat(&seed, cum, K);

			counts[drift_ref_cell(&ref, names[c], 1)]++;
		}
		cr_assert_eq(drift_categorical(&ref, counts, ref.ncells, NULL, &r), 0);
		cr_assert(r.method == DRIFT_METHOD_CHI2 || r.method == DRIFT_METHOD_Z);
		alarms += r.drifted;
		/* Goodness of fit: the window against the reference's floored
		 * shares taken as exact, over every cell. */
		for (size_t c = 0; c < ref.ncells; c++)
			expected[c] = ref.cell_prop_floor[c] * N_CUR;
		gof = drift_chi2_stat(counts, expected, ref.ncells);
		gof_alarms += drift_chi2_sf(gof, (double)(ref.ncells - 1)) < 0.05;
		drift_ref_fini(&ref);
	}
	printf("drift false alarms at p < 0.05, 200-row reference, %d windows of %d: homogeneity "
	       "(default) %.2f%%, goodness of fit %.2f%%\n",
	       TRIALS, N_CUR, 100.0 * alarms / TRIALS, 100.0 * gof_alarms / TRIALS);
	cr_expect_geq(alarms, TRIALS * 35 / 1000);
	cr_expect_leq(alarms, TRIALS * 65 / 1000);
	cr_expect_gt(gof_alarms, alarms);
}

/* Every method named in method.FEATURE scores its own statistic, with the
 * p-value / distance rule, and the statistics are the stats/ functions'
 * on the same data (their scipy agreement is test_twosample's). */
Test(drift, every_method_scores_its_statistic)
{
	double ref_v[300], cur_v[120];
	const char *ref_c[200], *cur_c[90];
	struct drift_ref nr, cr;
	struct drift_result r, base;
	uint64_t seed = 3;

	for (size_t i = 0; i < 300; i++)
		ref_v[i] = (double)(mix_next(&seed) % 1000) / 100.0;
	for (size_t i = 0; i < 120; i++)
		cur_v[i] = (double)(mix_next(&seed) % 1000) / 90.0;
	for (size_t i = 0; i < 200; i++)
		ref_c[i] = i % 3 ? "yes" : "no";
	for (size_t i = 0; i < 90; i++)
		cur_c[i] = i % 2 ? "yes" : "no";
	cr_assert_eq(drift_ref_numeric(&nr, ref_v, 300, 1), 0);
	cr_assert_eq(drift_ref_categorical_values(&cr, ref_c, 200), 0);
	cr_assert_eq(drift_numeric(&nr, cur_v, 120, NULL, &base), 0);
	{
		double *s = malloc(120 * sizeof(*s)), u, p, t;

		memcpy(s, cur_v, sizeof(cur_v));
		cr_assert_eq(sample_sort(s, 120), 0);
		cr_expect_eq(base.energy, stats_energy(nr.sorted, 300, s, 120));
		cr_assert_eq(stats_mannwhitneyu(nr.sorted, 300, s, 120, &u, &p), 0);
		cr_expect_eq(base.mwu_u, u);
		cr_expect_eq(base.mwu_p, p);
		cr_assert_eq(stats_welch_t(nr.sorted, 300, s, 120, &t, &p, NULL), 0);
		/* drift takes the profile's moments: equal up to rounding */
		cr_expect_float_eq(base.welch_t, t, 1e-12 * fabs(t));
		cr_expect_float_eq(base.welch_p, p, 1e-12 * p);
		cr_assert_eq(stats_anderson_ksamp(nr.sorted, 300, s, 120, &t, &p), 0);
		cr_expect_eq(base.ad_stat, t);
		cr_expect_eq(base.ad_p, p);
		cr_assert_eq(stats_cvm_2samp(nr.sorted, 300, s, 120, &t, &p), 0);
		cr_expect_eq(base.cvm_t, t);
		cr_expect_eq(base.cvm_p, p);
		free(s);
	}
	cr_expect_gt(base.hellinger, 0);
	cr_expect_gt(base.tvd, 0);
	cr_expect_gt(base.kl, 0);
	for (int m = DRIFT_METHOD_KS; m <= DRIFT_METHOD_CVM; m++) {
		struct drift_opts o = {(enum drift_method)m, 0, DRIFT_PRESET_MLWATCH, false, false};
		const struct drift_ref *ref = &nr;
		double want;
		int rc;

		if (m == DRIFT_METHOD_CHI2 || m == DRIFT_METHOD_Z || m == DRIFT_METHOD_FISHER) {
			cr_expect_eq(drift_numeric(&nr, cur_v, 120, &o, &r), -EINVAL, "%s",
			             drift_method_name(o.method));
			ref = &cr;
			rc = drift_categorical_values(ref, cur_c, 90, &o, &r);
		} else {
			rc = drift_numeric(ref, cur_v, 120, &o, &r);
		}
		cr_assert_eq(rc, 0, "%s", drift_method_name(o.method));
		cr_expect_eq(r.method, o.method);
		switch (o.method) {
		case DRIFT_METHOD_KS:
			want = r.ks_p;
			break;
		case DRIFT_METHOD_WASSERSTEIN:
			want = r.wasserstein;
			break;
		case DRIFT_METHOD_PSI:
			want = r.psi;
			break;
		case DRIFT_METHOD_JS:
			want = r.js;
			break;
		case DRIFT_METHOD_CHI2:
			want = r.chi2_p;
			break;
		case DRIFT_METHOD_Z:
			want = r.z_p;
			break;
		case DRIFT_METHOD_HELLINGER:
			want = r.hellinger;
			break;
		case DRIFT_METHOD_LINF:
			want = r.linf;
			break;
		case DRIFT_METHOD_TVD:
			want = r.tvd;
			break;
		case DRIFT_METHOD_KL:
			want = r.kl;
			break;
		case DRIFT_METHOD_ENERGY:
			want = r.energy;
			break;
		case DRIFT_METHOD_MANNWHITNEY:
			want = r.mwu_p;
			break;
		case DRIFT_METHOD_WELCH:
			want = r.welch_p;
			break;
		case DRIFT_METHOD_FISHER:
			want = r.fisher_p;
			break;
		case DRIFT_METHOD_ANDERSON:
			want = r.ad_p;
			break;
		case DRIFT_METHOD_CVM:
			want = r.cvm_p;
			break;
		default:
			want = NAN;
			break;
		}
		cr_expect_eq(r.score, want, "%s score", drift_method_name(o.method));
		if (ref == &nr) {
			/* verdict_only (segments): the same score and verdict
			 * without the tests the method does not use */
			struct drift_opts vo = o;
			struct drift_result rv;
			vo.verdict_only = true;
			cr_assert_eq(drift_numeric(ref, cur_v, 120, &vo, &rv), 0);
			cr_expect_eq(rv.score, r.score, "%s verdict_only",
			             drift_method_name(o.method));
			cr_expect_eq(rv.drifted, r.drifted);
			cr_expect_eq(rv.severity, r.severity);
			if (o.method != DRIFT_METHOD_ANDERSON)
				cr_expect_eq(rv.ad_p, 1, "%s: Anderson-Darling skipped",
				             drift_method_name(o.method));
		}
		if (drift_method_is_pvalue(o.method)) {
			cr_expect_eq(r.threshold, 0.05);
			cr_expect_eq(r.drifted, r.score < 0.05, "%s", drift_method_name(o.method));
			cr_expect_eq(r.severity, fmin(0.05 / fmax(r.score, 1e-12), 1000));
		} else {
			cr_expect_eq(r.threshold, 0.1);
			cr_expect_eq(r.drifted, r.score >= 0.1, "%s", drift_method_name(o.method));
			cr_expect_eq(r.severity, r.score / 0.1);
		}
		{
			enum drift_method back;

			cr_expect_eq(drift_method_parse(drift_method_name(o.method), &back), 0);
			cr_expect_eq(back, o.method);
		}
	}
	/* Two categories in use: Fisher's exact on the 2 x 2 table. */
	cr_assert_eq(drift_categorical_values(&cr, cur_c, 90, NULL, &r), 0);
	cr_expect_eq(r.method, DRIFT_METHOD_Z);
	cr_expect_eq(r.fisher_p, stats_fisher_exact(133, 67, 45, 45));
	cr_expect_float_eq(r.chi2_p, r.z_p, 1e-12, "1 dof: chi2 and z agree");
	drift_ref_fini(&nr);
	drift_ref_fini(&cr);
}

/* Evidently's unique-count switch: a numeric feature with at most 5
 * distinct values over both samples is tested as categorical under the
 * evidently preset's default (values from Evidently's own tests, see
 * ../shared/testdata/peer-drift-tests: ev-z-test_computation_of_categories_
 * as_numbers, ev-chisq-0.064). */
Test(drift, evidently_few_numeric_values_are_categories)
{
	double ref01[20], ones[5] = {1, 1, 1, 1, 1}, r3[] = {1, 1, 2, 0}, c3[] = {0, 0, 0, 1};
	double big[1200], cur_new[] = {0, 1, 7};
	struct drift_opts ev = {DRIFT_METHOD_DEFAULT, 0, DRIFT_PRESET_EVIDENTLY, false, false};
	struct drift_ref dr;
	struct drift_result r;

	for (int i = 0; i < 20; i++)
		ref01[i] = i % 2;
	cr_assert_eq(drift_ref_numeric(&dr, ref01, 20, 1), 0);
	cr_assert_eq(drift_numeric(&dr, ones, 5, &ev, &r), 0);
	cr_expect_eq(r.method, DRIFT_METHOD_Z);
	cr_expect_float_eq(r.score, 0.041226833337163704, 1e-12);
	/* the mlwatch preset keeps KS */
	cr_assert_eq(drift_numeric(&dr, ones, 5, NULL, &r), 0);
	cr_expect_eq(r.method, DRIFT_METHOD_KS);
	drift_ref_fini(&dr);

	cr_assert_eq(drift_ref_numeric(&dr, r3, 4, 1), 0);
	cr_assert_eq(drift_numeric(&dr, c3, 4, &ev, &r), 0);
	cr_expect_eq(r.method, DRIFT_METHOD_CHI2);
	cr_expect_float_eq(r.chi2, 5.5, 1e-12);
	cr_expect_float_eq(r.score, 0.06392786120670757, 1e-12);
	/* a value the reference never had: goodness of fit gives p = 0 */
	cr_assert_eq(drift_numeric(&dr, cur_new, 3, &ev, &r), 0);
	cr_expect_eq(r.method, DRIFT_METHOD_CHI2);
	cr_expect_eq(r.score, 0);
	cr_expect(r.drifted);
	drift_ref_fini(&dr);

	/* above 1000 reference rows: Jensen-Shannon on the per-value bins */
	for (int i = 0; i < 1200; i++)
		big[i] = i % 3;
	cr_assert_eq(drift_ref_numeric(&dr, big, 1200, 1), 0);
	cr_assert_eq(drift_numeric(&dr, c3, 4, &ev, &r), 0);
	cr_expect_eq(r.method, DRIFT_METHOD_JS);
	cr_expect_eq(r.score, r.js);
	drift_ref_fini(&dr);
}

/* drift_opts.ks_p_asymptotic (the per-segment analysis, issue 17): the KS
 * p-value is the asymptotic one where scipy's rule would take the exact one,
 * except when KS gives the verdict; nothing else changes. */
Test(drift, ks_p_asymptotic_unless_ks_decides)
{
	double ref[2000], cur[300];
	struct drift_ref dr;
	struct drift_result exact, asym, ks;
	struct drift_opts ws = {DRIFT_METHOD_WASSERSTEIN, 0, DRIFT_PRESET_MLWATCH, false, false};
	struct drift_opts wsa = {DRIFT_METHOD_WASSERSTEIN, 0, DRIFT_PRESET_MLWATCH, true, false};
	struct drift_opts ksa = {DRIFT_METHOD_KS, 0, DRIFT_PRESET_MLWATCH, true, false};

	for (int i = 0; i < 2000; i++)
		ref[i] = (i * 7919) % 2000 / 20.0;
	for (int i = 0; i < 300; i++)
		cur[i] = 5 + (i * 104729) % 300 / 3.0;
	cr_assert_eq(drift_ref_numeric(&dr, ref, 2000, 1), 0);
	cr_assert_eq(drift_numeric(&dr, cur, 300, &ws, &exact), 0);
	cr_assert_eq(drift_numeric(&dr, cur, 300, &wsa, &asym), 0);
	cr_assert_eq(drift_numeric(&dr, cur, 300, &ksa, &ks), 0);
	cr_expect_eq(exact.ks_p_method, STATS_KS_P_EXACT);
	cr_expect_eq(asym.ks_p_method, STATS_KS_P_ASYMPTOTIC);
	cr_expect_float_eq(asym.ks_p, stats_ks_p_asymp(asym.ks, 2000, 300), 1e-15);
	cr_expect_float_eq(asym.ks, exact.ks, 0);
	cr_expect_float_eq(asym.severity, exact.severity, 0);
	cr_expect_eq(asym.drifted, exact.drifted);
	/* KS decides: exact as before */
	cr_expect_eq(ks.ks_p_method, STATS_KS_P_EXACT);
	cr_expect_float_eq(ks.ks_p, exact.ks_p, 0);
	drift_ref_fini(&dr);
}
