/* multivariate: PCA, reconstruction error, MMD^2, the domain classifier,
 * mean-embedding distances and per-component KS against scikit-learn, numpy
 * and scipy (tests/data/multivariate_cases.json, made by
 * tests/data/gen_multivariate.py); issue 19 acceptance 1 and 2. Each family
 * prints its worst error. */
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
#include "stats/multivariate.h"

/* Acceptance 1: PCA 1e-6 relative, MMD^2 1e-9, AUC 0.01 absolute. */
#define TOL_PCA 1e-6
#define TOL_MMD 1e-9
#define TOL_AUC 0.01

static cJSON *load_cases(void)
{
	char *path = h_src("tests/data/multivariate_cases.json");
	cJSON *doc = h_load_json(path);

	cr_assert_not_null(doc, "cannot read %s (set MLWATCH_SRC_DIR)", path);
	free(path);
	return doc;
}

static const cJSON *item(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	cr_assert_not_null(v, "missing '%s'", key);
	return v;
}

static double num(const cJSON *obj, const char *key)
{
	const cJSON *v = item(obj, key);

	cr_assert(cJSON_IsNumber(v), "'%s' not a number", key);
	return v->valuedouble;
}

static const char *name_of(const cJSON *c)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(c, "name");

	return cJSON_IsString(v) ? v->valuestring : "?";
}

/* A JSON array of numbers as a malloc'd vector. */
static double *vec(const cJSON *a, size_t *n)
{
	const cJSON *v;
	size_t i = 0;

	cr_assert(cJSON_IsArray(a));
	*n = (size_t)cJSON_GetArraySize(a);
	double *x = malloc((*n ? *n : 1) * sizeof(double));
	cr_assert_not_null(x);
	cJSON_ArrayForEach(v, a) x[i++] = v->valuedouble;
	return x;
}

/* A JSON array of rows as a malloc'd row-major matrix. */
static double *matrix(const cJSON *a, size_t *n, size_t *d)
{
	const cJSON *row, *v;
	size_t i = 0;

	cr_assert(cJSON_IsArray(a));
	*n = (size_t)cJSON_GetArraySize(a);
	cr_assert_gt(*n, 0);
	*d = (size_t)cJSON_GetArraySize(cJSON_GetArrayItem(a, 0));
	double *x = malloc(*n * *d * sizeof(double));
	cr_assert_not_null(x);
	cJSON_ArrayForEach(row, a)
	{
		cr_assert_eq((size_t)cJSON_GetArraySize(row), *d, "ragged fixture");
		cJSON_ArrayForEach(v, row) x[i++] = v->valuedouble;
	}
	return x;
}

static double rel_err(double got, double want)
{
	if (got == want)
		return 0;
	if (want == 0)
		return fabs(got);
	return fabs(got - want) / fabs(want);
}

Test(multivariate, pca_matches_sklearn)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double worst_comp = 0, worst_var = 0, worst_err = 0;
	int cases = 0;

	cJSON_ArrayForEach(c, item(doc, "pca"))
	{
		size_t n, d, m, dw, k, nv;
		double *x = matrix(item(c, "x"), &n, &d), *w = matrix(item(c, "w"), &m, &dw);
		double *comp = matrix(item(c, "components"), &k, &nv);
		double *var = vec(item(c, "explained_variance"), &nv);
		double *ratio = vec(item(c, "explained_variance_ratio"), &nv);
		double *err = vec(item(c, "recon_per_row"), &nv);
		double *mean = vec(item(c, "mean"), &nv), *scale = vec(item(c, "scale"), &nv);
		struct mv_pca p;

		cr_assert_eq(mv_pca_fit(x, n, d, cJSON_IsTrue(item(c, "standardise")),
		                        num(c, "share"), d, &p),
		             0);
		cr_assert_eq(p.k, (size_t)num(c, "k"), "%s: k %zu want %g", name_of(c), p.k,
		             num(c, "k"));
		for (size_t j = 0; j < d; j++) {
			cr_expect_leq(rel_err(p.mean[j], mean[j]), 1e-12, "%s mean[%zu]",
			              name_of(c), j);
			cr_expect_leq(rel_err(p.scale[j], scale[j]), 1e-12, "%s scale[%zu]",
			              name_of(c), j);
		}
		for (size_t i = 0; i < k; i++) {
			/* relative to the unit row: entries near 0 are compared
			 * absolutely at the same tolerance */
			for (size_t j = 0; j < d; j++) {
				double e = fabs(p.comp[i * d + j] - comp[i * d + j]);

				cr_expect_leq(e, TOL_PCA, "%s comp[%zu][%zu] %.12g want %.12g",
				              name_of(c), i, j, p.comp[i * d + j], comp[i * d + j]);
				worst_comp = fmax(worst_comp, e);
			}
			double ev = rel_err(p.var[i], var[i]), er = rel_err(p.ratio[i], ratio[i]);
			cr_expect_leq(ev, TOL_PCA, "%s var[%zu] %.12g want %.12g", name_of(c), i,
			              p.var[i], var[i]);
			cr_expect_leq(er, TOL_PCA, "%s ratio[%zu]", name_of(c), i);
			worst_var = fmax(worst_var, fmax(ev, er));
		}

		double *rows = malloc(m * sizeof(double)), got_mean;
		cr_assert_eq(mv_pca_recon_error(&p, w, m, rows, &got_mean), 0);
		for (size_t i = 0; i < m; i++) {
			double e = rel_err(rows[i], err[i]);

			cr_expect_leq(e, TOL_PCA, "%s err[%zu] %.12g want %.12g", name_of(c), i,
			              rows[i], err[i]);
			worst_err = fmax(worst_err, e);
		}
		double e = rel_err(got_mean, num(c, "recon_mean"));
		cr_expect_leq(e, TOL_PCA, "%s mean err %.12g want %.12g", name_of(c), got_mean,
		              num(c, "recon_mean"));
		worst_err = fmax(worst_err, e);

		/* per-component KS on the scores, as scipy's ks_2samp */
		size_t nk;
		double *ks_p = vec(item(c, "ks_p"), &nk), share, bp;
		double *sr = malloc(n * k * sizeof(double)), *sw = malloc(m * k * sizeof(double));
		double *pp = malloc(k * sizeof(double));
		cr_assert_eq(nk, k);
		cr_assert_eq(mv_pca_project(&p, x, n, sr), 0);
		cr_assert_eq(mv_pca_project(&p, w, m, sw), 0);
		cr_assert_eq(mv_pca_ks_share(sr, n, sw, m, k, 0.05, &share, &bp, pp), 0);
		size_t below = 0;
		for (size_t i = 0; i < k; i++) {
			cr_expect_leq(rel_err(pp[i], ks_p[i]), 1e-6,
			              "%s ks p[%zu] %.12g want %.12g", name_of(c), i, pp[i],
			              ks_p[i]);
			below += ks_p[i] < 0.05 / (double)k;
		}
		cr_expect_float_eq(share, (double)below / (double)k, 1e-15);

		free(sr);
		free(sw);
		free(pp);
		free(ks_p);
		free(rows);
		mv_pca_fini(&p);
		free(x);
		free(w);
		free(comp);
		free(var);
		free(ratio);
		free(err);
		free(mean);
		free(scale);
		cases++;
	}
	cr_assert_geq(cases, 4);
	printf("multivariate: PCA %d cases, worst component abs err %.3g, variance rel %.3g, "
	       "reconstruction rel %.3g\n",
	       cases, worst_comp, worst_var, worst_err);
	cJSON_Delete(doc);
}

Test(multivariate, mmd2_unbiased_matches_numpy)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double worst = 0, worst_h = 0;
	int cases = 0;

	cJSON_ArrayForEach(c, item(doc, "mmd"))
	{
		size_t n, m, d, d2;
		double *x = matrix(item(c, "x"), &n, &d), *y = matrix(item(c, "y"), &m, &d2);
		double h, mmd2, h_used;

		cr_assert_eq(d, d2);
		cr_assert_eq(mv_median_sqdist(x, n, y, m, d, &h), 0);
		double eh = rel_err(h, num(c, "h"));
		cr_expect_leq(eh, 1e-12, "%s h %.17g want %.17g", name_of(c), h, num(c, "h"));
		cr_assert_eq(mv_mmd2(x, n, y, m, d, 0, 0, 1, &mmd2, NULL, &h_used, NULL), 0);
		/* from the Gram matrix here, directly above: same to rounding */
		cr_expect_leq(rel_err(h_used, num(c, "h")), 1e-12, "%s h_used %.17g", name_of(c),
		              h_used);
		double e = rel_err(mmd2, num(c, "mmd2"));
		cr_expect_leq(e, TOL_MMD, "%s mmd2 %.17g want %.17g (rel %.3g)", name_of(c), mmd2,
		              num(c, "mmd2"), e);
		worst = fmax(worst, e);
		worst_h = fmax(worst_h, eh);
		free(x);
		free(y);
		cases++;
	}
	cr_assert_geq(cases, 4);
	printf("multivariate: MMD^2 %d cases, worst rel err %.3g (bandwidth %.3g)\n", cases, worst,
	       worst_h);
	cJSON_Delete(doc);
}

Test(multivariate, domain_auc_matches_sklearn_folds)
{
	cJSON *doc = load_cases();
	const cJSON *c;
	double worst = 0;
	int cases = 0;

	cJSON_ArrayForEach(c, item(doc, "auc"))
	{
		size_t n, m, d, d2;
		double *x = matrix(item(c, "ref"), &n, &d), *y = matrix(item(c, "cur"), &m, &d2);
		double auc;

		cr_assert_eq(d, d2);
		cr_assert_eq(mv_domain_auc(x, n, y, m, d, (unsigned)num(c, "folds"), num(c, "C"),
		                           &auc, NULL),
		             0);
		double e = fabs(auc - num(c, "auc"));
		cr_expect_leq(e, TOL_AUC, "%s auc %.6f want %.6f", name_of(c), auc, num(c, "auc"));
		worst = fmax(worst, e);
		free(x);
		free(y);
		cases++;
	}
	cr_assert_geq(cases, 4);
	printf("multivariate: domain classifier %d cases, worst |AUC - sklearn| %.3g\n", cases,
	       worst);
	cJSON_Delete(doc);
}

Test(multivariate, roc_auc_with_ties_matches_sklearn)
{
	cJSON *doc = load_cases();
	const cJSON *c = cJSON_GetArrayItem(item(doc, "roc"), 0), *v;
	size_t n, i = 0;
	double *s = vec(item(c, "scores"), &n), auc;
	uint8_t *lab = malloc(n);

	cJSON_ArrayForEach(v, item(c, "labels")) lab[i++] = (uint8_t)v->valueint;
	cr_assert_eq(i, n);
	cr_assert_eq(mv_roc_auc(s, lab, n, &auc), 0);
	cr_expect_leq(rel_err(auc, num(c, "auc")), 1e-12, "auc %.17g want %.17g", auc,
	              num(c, "auc"));
	memset(lab, 1, n);
	cr_expect_eq(mv_roc_auc(s, lab, n, &auc), -EINVAL, "one class only");
	free(s);
	free(lab);
	cJSON_Delete(doc);
}

Test(multivariate, mean_distances_match_scipy)
{
	cJSON *doc = load_cases();
	const cJSON *c = cJSON_GetArrayItem(item(doc, "means"), 0);
	size_t n, m, d, d2;
	double *x = matrix(item(c, "x"), &n, &d), *y = matrix(item(c, "y"), &m, &d2);
	double *ma = malloc(d * sizeof(double)), *mb = malloc(d * sizeof(double)), cosv, euc;

	cr_assert_eq(mv_col_mean(x, n, d, ma), 0);
	cr_assert_eq(mv_col_mean(y, m, d, mb), 0);
	mv_mean_distances(ma, mb, d, &cosv, &euc);
	cr_expect_leq(rel_err(cosv, num(c, "cosine")), 1e-9, "cosine %.17g want %.17g", cosv,
	              num(c, "cosine"));
	cr_expect_leq(rel_err(euc, num(c, "euclid")), 1e-12, "euclid %.17g want %.17g", euc,
	              num(c, "euclid"));
	memset(ma, 0, d * sizeof(double));
	mv_mean_distances(ma, mb, d, &cosv, &euc);
	cr_expect_eq(cosv, 0.0, "zero vector: no direction, no evidence");
	free(x);
	free(y);
	free(ma);
	free(mb);
	cJSON_Delete(doc);
}

/* ---- generated data ------------------------------------------------------ */

static double gauss(struct sample_rng *r)
{
	/* Box-Muller; u1 in (0, 1] */
	double u1 = 1.0 - sample_rng_double(r), u2 = sample_rng_double(r);

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* n rows of two standard normal features with correlation rho. */
static double *corr_pairs(struct sample_rng *r, size_t n, double rho)
{
	double *x = malloc(n * 2 * sizeof(double));

	cr_assert_not_null(x);
	for (size_t i = 0; i < n; i++) {
		double a = gauss(r), b = gauss(r);

		x[2 * i] = a;
		x[2 * i + 1] = rho * a + sqrt(1 - rho * rho) * b;
	}
	return x;
}

Test(multivariate, mmd_permutation_p_is_seeded_and_separates)
{
	struct sample_rng r;
	size_t n = 120, d = 8;
	double *x = malloc(n * d * sizeof(double)), *y = malloc(n * d * sizeof(double));
	double *z = malloc(n * d * sizeof(double));
	double s1, p1, s2, p2, s3, p3;

	sample_rng_seed(&r, 7);
	for (size_t i = 0; i < n * d; i++) {
		x[i] = gauss(&r);
		y[i] = gauss(&r) + 0.5;
		z[i] = gauss(&r);
	}
	cr_assert_eq(mv_mmd2(x, n, y, n, d, 0, 200, 42, &s1, &p1, NULL, NULL), 0);
	cr_assert_eq(mv_mmd2(x, n, y, n, d, 0, 200, 42, &s2, &p2, NULL, NULL), 0);
	cr_expect_eq(s1, s2);
	cr_expect_eq(p1, p2, "same seed, same p");
	cr_expect_eq(p1, 1.0 / 201, "a 0.5 sd shift in 8 dims beats every permutation (p %g)", p1);
	cr_assert_eq(mv_mmd2(x, n, z, n, d, 0, 200, 42, &s3, &p3, NULL, NULL), 0);
	cr_expect_gt(p3, 0.05, "same distribution (seeded): p %g", p3);
	free(x);
	free(y);
	free(z);
}

/* Fold 0 of a domain classifier on 1,000 + 1,000 random rows of 384 dims
 * (no signal; the bench's size): Newton reaches the optimum in a few steps.
 * It used to crawl 100 iterations of ever smaller line-search steps once
 * the gradient was at rounding level (10x the time). */
Test(multivariate, logreg_stops_at_working_precision)
{
	struct sample_rng r;
	const size_t half = 1000, d = 384, folds = 5;
	double *a = malloc(half * d * sizeof(double)), *c = malloc(half * d * sizeof(double));
	double *x = malloc(2 * half * d * sizeof(double)), *w = malloc(d * sizeof(double)), b;
	uint8_t *y = malloc(2 * half);
	size_t n = 0;
	int iters = -1;

	sample_rng_seed(&r, 1);
	for (size_t i = 0; i < half * d; i++) {
		a[i] = sample_rng_double(&r) - 0.5;
		c[i] = sample_rng_double(&r) - 0.5;
	}
	for (size_t i = 0; i < 2 * half; i++) {
		if (i % folds == 0)
			continue; /* fold 0's test rows */
		memcpy(x + n * d, i < half ? a + i * d : c + (i - half) * d, d * sizeof(double));
		y[n++] = i >= half;
	}
	cr_assert_eq(mv_logreg_fit(x, y, n, d, 1.0, w, &b, &iters), 0);
	cr_expect_leq(iters, 12, "%d Newton steps", iters);
	cr_expect_gt(iters, 0);
	free(a);
	free(c);
	free(x);
	free(w);
	free(y);
}

Test(multivariate, hostile_inputs_are_refused)
{
	double x[8] = {1, 2, 3, 4, 5, 6, 7, 8}, y[8] = {1, 2, 3, 4, 5, 6, 7, 8}, s, p;
	struct mv_pca pca;
	uint8_t lab[4] = {0, 1, 0, 2};

	cr_expect_eq(mv_pca_fit(x, 1, 2, true, 0.65, 2, &pca), -EINVAL, "one row");
	cr_expect_eq(mv_pca_fit(x, 2, MV_MAX_DIM + 1, true, 0.65, 2, &pca), -EINVAL, "too wide");
	cr_expect_eq(mv_pca_fit(x, 4, 2, true, 0, 2, &pca), -EINVAL, "share 0");
	x[3] = NAN;
	cr_expect_eq(mv_pca_fit(x, 4, 2, true, 0.65, 2, &pca), -EINVAL, "NaN");
	cr_expect_eq(mv_mmd2(x, 4, y, 4, 2, 0, 10, 1, &s, &p, NULL, NULL), -EINVAL, "NaN");
	x[3] = INFINITY;
	cr_expect_eq(mv_domain_auc(x, 4, y, 4, 2, 2, 1.0, &s, NULL), -EINVAL, "inf");
	x[3] = 4;
	cr_expect_eq(mv_logreg_fit(x, lab, 4, 2, 1.0, y, &s, NULL), -EINVAL, "label 2");
	cr_expect_eq(mv_domain_auc(x, 4, y, 4, 2, 21, 1.0, &s, NULL), -EINVAL, "folds");
	cr_expect_eq(mv_mmd2(x, 1, y, 4, 2, 0, 10, 1, &s, &p, NULL, NULL), -EINVAL, "one row");
	cr_expect_eq(mv_pca_project(NULL, x, 4, y), -EINVAL);
	cr_expect_eq(mv_pca_recon_band(NULL, x, 4, 2, &s, &p, NULL), -EINVAL);
}

/* Issue 19 acceptance 2: the correlation of two features flips from 0.8 to
 * -0.8, their marginals stay N(0, 1). Every univariate method of drift.c
 * sees nothing; PCA reconstruction error (against the band of the
 * reference's own windows), MMD, the share of drifted PCA components and
 * the domain classifier (with pairwise products) all see it. */
Test(multivariate, correlation_flip_caught_by_multivariate_only)
{
	struct sample_rng r;
	const size_t n_ref = 5000, n_win = 500, chunks = n_ref / n_win;
	double *ref, *win;
	struct mv_pca pca;

	sample_rng_seed(&r, 19);
	ref = corr_pairs(&r, n_ref, 0.8);
	win = corr_pairs(&r, n_win, -0.8);

	/* univariate: none of drift.c's numeric methods flags either feature */
	static const enum drift_method numeric[] = {
	    DRIFT_METHOD_KS,          DRIFT_METHOD_WASSERSTEIN, DRIFT_METHOD_PSI,
	    DRIFT_METHOD_JS,          DRIFT_METHOD_HELLINGER,   DRIFT_METHOD_LINF,
	    DRIFT_METHOD_TVD,         DRIFT_METHOD_KL,          DRIFT_METHOD_ENERGY,
	    DRIFT_METHOD_MANNWHITNEY, DRIFT_METHOD_WELCH,       DRIFT_METHOD_ANDERSON,
	    DRIFT_METHOD_CVM};
	for (size_t f = 0; f < 2; f++) {
		double *a = malloc(n_ref * sizeof(double)), *b = malloc(n_win * sizeof(double));
		struct drift_ref dr;

		for (size_t i = 0; i < n_ref; i++)
			a[i] = ref[2 * i + f];
		for (size_t i = 0; i < n_win; i++)
			b[i] = win[2 * i + f];
		cr_assert_eq(drift_ref_numeric(&dr, a, n_ref, 1), 0);
		for (size_t k = 0; k < sizeof(numeric) / sizeof(numeric[0]); k++) {
			struct drift_opts o = {.method = numeric[k]};
			struct drift_result res;

			cr_assert_eq(drift_numeric(&dr, b, n_win, &o, &res), 0);
			cr_expect(!res.drifted,
			          "univariate %s on feature %zu: score %g threshold %g",
			          drift_method_name(numeric[k]), f, res.score, res.threshold);
		}
		drift_ref_fini(&dr);
		free(a);
		free(b);
	}

	/* PCA reconstruction error: outside mean +- 3 sd of the reference's own
	 * windows of the same size (NannyML's band) */
	cr_assert_eq(mv_pca_fit(ref, n_ref, 2, true, MV_PCA_SHARE, 2, &pca), 0);
	cr_assert_eq(pca.k, 1);
	double mu, sd, e;
	size_t used;
	cr_assert_eq(mv_pca_recon_band(&pca, ref, n_ref, n_win, &mu, &sd, &used), 0);
	cr_expect_eq(used, chunks);
	cr_expect_gt(sd, 0);
	/* the reference's own windows sit inside their band */
	for (size_t c = 0; c < chunks; c++) {
		cr_assert_eq(mv_pca_recon_error(&pca, ref + c * n_win * 2, n_win, NULL, &e), 0);
		cr_expect_leq(fabs(e - mu), 3 * sd, "reference chunk %zu: %g vs %g +- 3 x %g", c, e,
		              mu, sd);
	}
	cr_assert_eq(mv_pca_recon_error(&pca, win, n_win, NULL, &e), 0);
	cr_expect_gt(e, mu + 3 * sd, "PCA error %g vs band %g +- 3 x %g", e, mu, sd);

	/* MMD (first 500 reference rows against the window) */
	double mmd2, p;
	cr_assert_eq(mv_mmd2(ref, n_win, win, n_win, 2, 0, 100, 3, &mmd2, &p, NULL, NULL), 0);
	cr_expect_lt(p, 0.05, "MMD^2 %g p %g", mmd2, p);

	/* share of drifted PCA components (one component: its KS) */
	double *sr = malloc(n_ref * sizeof(double)), *sw = malloc(n_win * sizeof(double)), share;
	cr_assert_eq(mv_pca_project(&pca, ref, n_ref, sr), 0);
	cr_assert_eq(mv_pca_project(&pca, win, n_win, sw), 0);
	cr_assert_eq(mv_pca_ks_share(sr, n_ref, sw, n_win, pca.k, 0.05, &share, &p, NULL), 0);
	cr_expect_eq(share, 1.0);
	cr_expect_lt(p, 0.05);

	/* domain classifier over the features and their products */
	size_t q = mv_quadratic_dim(2);
	double *qr = malloc(n_win * q * sizeof(double)), *qw = malloc(n_win * q * sizeof(double));
	double auc, fold[5];
	cr_assert_eq(mv_quadratic_features(ref, n_win, 2, qr), 0);
	cr_assert_eq(mv_quadratic_features(win, n_win, 2, qw), 0);
	cr_assert_eq(mv_domain_auc(qr, n_win, qw, n_win, q, 5, 1.0, &auc, fold), 0);
	p = mv_domain_pvalue(fold, 5, n_win, n_win);
	cr_expect_lt(p, 0.05, "domain classifier AUC %g p %g", auc, p);
	printf(
	    "correlation flip: PCA error %.4f (band %.4f +- 3 x %.4f), MMD^2 %.4g, KS share %.2f, "
	    "AUC %.3f\n",
	    e, mu, sd, mmd2, share, auc);

	free(qr);
	free(qw);
	free(sr);
	free(sw);
	mv_pca_fini(&pca);
	free(ref);
	free(win);
}
