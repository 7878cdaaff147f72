/* calibrate: calibrated drift thresholds hold their false alarm rate
 * (issue 17, acceptance 1). Stationary windows drawn from the reference's
 * own distribution, scored by the live path (drift_numeric /
 * drift_categorical) against thresholds from calib_cache_threshold: the
 * share flagged at a 1% target must lie in [0.5%, 2%] for every method and
 * window size. The rate is the one a user sees over references, so the
 * 2,000 windows of a cell are spread over several independently drawn
 * references (one reference's own sampling noise moves its rate, the same
 * for any threshold rule). Prints the table method x window size. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drift.h"
#include "featblob.h"
#include "sample.h"
#include "stats/calibrate.h"
#include "stats/distance.h"
#include "stats/twosample.h"
#include "windows.h"
#include "jsonw.h"
#include <cJSON.h>

#define TARGET   0.01
#define WINDOWS  2000
#define RATE_MIN 0.005
#define RATE_MAX 0.02

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double normal(struct sample_rng *r)
{
	double u = sample_rng_double(r), v = sample_rng_double(r);

	return sqrt(-2 * log(1 - u)) * cos(2 * M_PI * v);
}

/* A skewed numeric feature: log-normal. */
static double draw_num(struct sample_rng *r)
{
	return exp(0.5 * normal(r));
}

static const double cat5_p[] = {0.4, 0.3, 0.15, 0.1, 0.05};
static const char *const cat5_names[] = {"a", "b", "c", "d", "e"};
static const double cat2_p[] = {0.7, 0.3};

static size_t draw_cat(struct sample_rng *r, const double *p, size_t k)
{
	double u = sample_rng_double(r), c = 0;

	for (size_t i = 0; i + 1 < k; i++) {
		c += p[i];
		if (u < c)
			return i;
	}
	return k - 1;
}

static int build_cat_ref(struct drift_ref *ref, struct sample_rng *r, const double *p, size_t k,
                         size_t n)
{
	struct sample_cats t;
	uint64_t cnt[5] = {0};
	int rc = 0;

	sample_cats_init(&t, 0);
	for (size_t i = 0; i < n; i++)
		cnt[draw_cat(r, p, k)]++;
	for (size_t c = 0; c < k && rc == 0; c++)
		rc = sample_cats_add(&t, cat5_names[c], 1, cnt[c]);
	if (rc == 0)
		rc = drift_ref_categorical(ref, &t);
	sample_cats_fini(&t);
	return rc;
}

static bool flags(enum drift_method m, double score, double thr)
{
	return drift_method_is_pvalue(m) ? score < thr : score >= thr;
}

static const size_t sizes[] = {50, 200, 1000, 10000};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static const enum drift_method num_methods[] = {
    DRIFT_METHOD_KS,        DRIFT_METHOD_WASSERSTEIN, DRIFT_METHOD_PSI,   DRIFT_METHOD_JS,
    DRIFT_METHOD_HELLINGER, DRIFT_METHOD_LINF,        DRIFT_METHOD_TVD,   DRIFT_METHOD_KL,
    DRIFT_METHOD_ENERGY,    DRIFT_METHOD_MANNWHITNEY, DRIFT_METHOD_WELCH, DRIFT_METHOD_ANDERSON,
    DRIFT_METHOD_CVM,
};
#define NNUM (sizeof(num_methods) / sizeof(num_methods[0]))

static const enum drift_method cat_methods[] = {
    DRIFT_METHOD_CHI2, DRIFT_METHOD_PSI, DRIFT_METHOD_JS, DRIFT_METHOD_HELLINGER, DRIFT_METHOD_LINF,
    DRIFT_METHOD_TVD,  DRIFT_METHOD_KL,  DRIFT_METHOD_Z,  DRIFT_METHOD_FISHER,
};
#define NCAT (sizeof(cat_methods) / sizeof(cat_methods[0]))

/* References per cell (one reference's own sampling noise moves its rate:
 * the rate that holds is over references). */
static size_t refs_for(size_t n)
{
	(void)n;
	return 8;
}

/* The reference is 20x the window (100,000 at most, the profile's cap). */
static size_t ref_size(size_t n)
{
	size_t N = 20 * n;

	return N < 5000 ? 5000 : (N > SAMPLE_REF_MAX ? SAMPLE_REF_MAX : N);
}

/* No .timeout on these long tests: Criterion 2.4.1's runner leaks one
 * 48-byte timeout record when a test with a timeout runs beside others
 * (2 jobs), and LeakSanitizer fails `make asan` on it. Every loop here is
 * bounded by its count (windows, draws), so none can hang. */
Test(calibrate, numeric_false_alarm_rate)
{
	double rate[NNUM][NSIZES];
	struct sample_rng rng;
	double t0 = now_s();

	sample_rng_seed(&rng, 17);
	for (size_t si = 0; si < NSIZES; si++) {
		size_t n = sizes[si], N = ref_size(n), R = refs_for(n), per = WINDOWS / R;
		uint64_t hits[NNUM] = {0};
		double tc = 0, tl = 0;
		double *v = malloc(N * sizeof(*v));

		cr_assert_not_null(v);
		for (size_t ri = 0; ri < R; ri++) {
			struct drift_ref ref;
			struct calib_cache cache[NNUM];
			double thr[NNUM];

			double t1;

			memset(cache, 0, sizeof(cache));
			for (size_t i = 0; i < N; i++)
				v[i] = draw_num(&rng);
			t1 = now_s();
			cr_assert_eq(drift_ref_numeric(&ref, v, N, 1), 0);
			for (size_t mi = 0; mi < NNUM; mi++)
				cr_assert_eq(calib_cache_threshold(&cache[mi], &ref,
				                                   num_methods[mi], TARGET, n,
				                                   100 + ri, &thr[mi], NULL),
				             0, "calibration of %s failed",
				             drift_method_name(num_methods[mi]));
			tc += now_s() - t1;
			t1 = now_s();
			for (size_t w = 0; w < per; w++) {
				struct drift_result r;

				for (size_t i = 0; i < n; i++)
					v[i] = draw_num(&rng);
				cr_assert_eq(drift_numeric(&ref, v, n, NULL, &r), 0);
				for (size_t mi = 0; mi < NNUM; mi++)
					hits[mi] += flags(
					    num_methods[mi],
					    drift_result_score_of(&r, num_methods[mi]), thr[mi]);
			}
			tl += now_s() - t1;
			drift_ref_fini(&ref);
		}
		for (size_t mi = 0; mi < NNUM; mi++)
			rate[mi][si] = (double)hits[mi] / (double)(per * R);
		free(v);
		printf("n=%zu calib %.1f s live %.1f s\n", n, tc, tl);
	}
	printf("calibrate: numeric false alarm rate at a 1%% target, %d stationary windows per "
	       "cell (%.1f s)\n%-12s",
	       WINDOWS, now_s() - t0, "method");
	for (size_t si = 0; si < NSIZES; si++)
		printf(" %7zu", sizes[si]);
	printf("\n");
	for (size_t mi = 0; mi < NNUM; mi++) {
		printf("%-12s", drift_method_name(num_methods[mi]));
		for (size_t si = 0; si < NSIZES; si++)
			printf(" %6.2f%%", 100 * rate[mi][si]);
		printf("\n");
	}
	for (size_t mi = 0; mi < NNUM; mi++)
		for (size_t si = 0; si < NSIZES; si++)
			cr_expect(rate[mi][si] >= RATE_MIN && rate[mi][si] <= RATE_MAX,
			          "%s at n=%zu: false alarm rate %.2f%% outside [0.5%%, 2%%]",
			          drift_method_name(num_methods[mi]), sizes[si],
			          100 * rate[mi][si]);
}

Test(calibrate, categorical_false_alarm_rate)
{
	double rate[NCAT][NSIZES];
	struct sample_rng rng;
	double t0 = now_s();

	sample_rng_seed(&rng, 1717);
	for (size_t si = 0; si < NSIZES; si++) {
		size_t n = sizes[si], N = ref_size(n), R = refs_for(n), per = WINDOWS / R;
		uint64_t hits[NCAT] = {0};

		for (size_t ri = 0; ri < R; ri++) {
			struct drift_ref ref5, ref2;
			struct calib_cache cache[NCAT];
			double thr[NCAT];

			memset(cache, 0, sizeof(cache));
			cr_assert_eq(build_cat_ref(&ref5, &rng, cat5_p, 5, N), 0);
			cr_assert_eq(build_cat_ref(&ref2, &rng, cat2_p, 2, N), 0);
			for (size_t mi = 0; mi < NCAT; mi++) {
				bool two = cat_methods[mi] == DRIFT_METHOD_Z ||
				           cat_methods[mi] == DRIFT_METHOD_FISHER;

				cr_assert_eq(calib_cache_threshold(&cache[mi], two ? &ref2 : &ref5,
				                                   cat_methods[mi], TARGET, n,
				                                   200 + ri, &thr[mi], NULL),
				             0);
			}
			for (size_t w = 0; w < per; w++) {
				uint64_t c5[DRIFT_MAX_CELLS] = {0}, c2[DRIFT_MAX_CELLS] = {0};
				struct drift_result r5, r2;

				for (size_t i = 0; i < n; i++) {
					size_t c = draw_cat(&rng, cat5_p, 5);

					c5[drift_ref_cell(&ref5, cat5_names[c], 1)]++;
					c = draw_cat(&rng, cat2_p, 2);
					c2[drift_ref_cell(&ref2, cat5_names[c], 1)]++;
				}
				cr_assert_eq(drift_categorical(&ref5, c5, ref5.ncells, NULL, &r5),
				             0);
				cr_assert_eq(drift_categorical(&ref2, c2, ref2.ncells, NULL, &r2),
				             0);
				for (size_t mi = 0; mi < NCAT; mi++) {
					enum drift_method m = cat_methods[mi];
					bool two = m == DRIFT_METHOD_Z || m == DRIFT_METHOD_FISHER;

					hits[mi] += flags(
					    m, drift_result_score_of(two ? &r2 : &r5, m), thr[mi]);
				}
			}
			drift_ref_fini(&ref5);
			drift_ref_fini(&ref2);
		}
		for (size_t mi = 0; mi < NCAT; mi++)
			rate[mi][si] = (double)hits[mi] / (double)(per * R);
	}
	printf("calibrate: categorical false alarm rate at a 1%% target (5 categories; z and "
	       "fisher on 2), %d stationary windows per cell (%.1f s)\n%-12s",
	       WINDOWS, now_s() - t0, "method");
	for (size_t si = 0; si < NSIZES; si++)
		printf(" %7zu", sizes[si]);
	printf("\n");
	for (size_t mi = 0; mi < NCAT; mi++) {
		printf("%-12s", drift_method_name(cat_methods[mi]));
		for (size_t si = 0; si < NSIZES; si++)
			printf(" %6.2f%%", 100 * rate[mi][si]);
		printf("\n");
	}
	for (size_t mi = 0; mi < NCAT; mi++)
		for (size_t si = 0; si < NSIZES; si++)
			cr_expect(rate[mi][si] >= RATE_MIN && rate[mi][si] <= RATE_MAX,
			          "%s at n=%zu: false alarm rate %.2f%% outside [0.5%%, 2%%]",
			          drift_method_name(cat_methods[mi]), sizes[si],
			          100 * rate[mi][si]);
}

/* The O(n) split statistics equal the live statistics of the materialised
 * window and rest (with and without ties). */
Test(calibrate, split_scores_match_live_statistics)
{
	static const enum drift_method ms[] = {
	    DRIFT_METHOD_KS,    DRIFT_METHOD_WASSERSTEIN, DRIFT_METHOD_ENERGY,
	    DRIFT_METHOD_WELCH, DRIFT_METHOD_MANNWHITNEY, DRIFT_METHOD_PSI,
	    DRIFT_METHOD_JS,    DRIFT_METHOD_HELLINGER,   DRIFT_METHOD_LINF,
	    DRIFT_METHOD_TVD,   DRIFT_METHOD_KL,          DRIFT_METHOD_ANDERSON,
	    DRIFT_METHOD_CVM,
	};
	struct sample_rng rng;
	size_t N = 3000;
	double *v = malloc(N * sizeof(*v)), *w = malloc(N * sizeof(*w)),
	       *r = malloc(N * sizeof(*r));
	uint32_t *idx = malloc(N * sizeof(*idx));
	double worst = 0;

	cr_assert(v && w && r && idx);
	sample_rng_seed(&rng, 5);
	for (int ties = 0; ties < 2; ties++) {
		struct drift_ref ref;

		for (size_t i = 0; i < N; i++)
			v[i] = ties ? round(draw_num(&rng) * 10) / 10 : draw_num(&rng);
		cr_assert_eq(drift_ref_numeric(&ref, v, N, 1), 0);
		for (int rep = 0; rep < 20; rep++) {
			size_t n = 0, nr = 0;
			double fw[SAMPLE_BINS], fr[SAMPLE_BINS], ff[SAMPLE_BINS], gf[SAMPLE_BINS];
			uint64_t cw[SAMPLE_BINS] = {0}, cr_[SAMPLE_BINS] = {0};

			for (size_t k = 0; k < N; k++) {
				if (sample_rng_below(&rng, 10) < (uint64_t)(1 + rep % 5)) {
					idx[n] = (uint32_t)k;
					w[n++] = ref.sorted[k];
				} else {
					r[nr++] = ref.sorted[k];
				}
			}
			sample_bin_counts(ref.edges, w, n, cw);
			sample_bin_counts(ref.edges, r, nr, cr_);
			for (int b = 0; b < SAMPLE_BINS; b++) {
				fw[b] = (double)cw[b] / (double)n;
				fr[b] = (double)cr_[b] / (double)nr;
				ff[b] = fr[b] > DRIFT_PROP_FLOOR ? fr[b] : DRIFT_PROP_FLOOR;
				gf[b] = fw[b] > DRIFT_PROP_FLOOR ? fw[b] : DRIFT_PROP_FLOOR;
			}
			for (size_t mi = 0; mi < sizeof(ms) / sizeof(ms[0]); mi++) {
				double got, want = 0, s, p = 1, err;

				cr_assert_eq(calib_split_score(&ref, ms[mi], idx, n, &got), 0);
				switch (ms[mi]) {
				case DRIFT_METHOD_KS:
					want = drift_ks_stat(r, nr, w, n);
					break;
				case DRIFT_METHOD_WASSERSTEIN:
					want = drift_wasserstein(r, nr, w, n) / ref.std;
					break;
				case DRIFT_METHOD_ENERGY:
					want = stats_energy(r, nr, w, n);
					break;
				case DRIFT_METHOD_WELCH:
					cr_assert_eq(stats_welch_t(r, nr, w, n, &s, &p, NULL), 0);
					want = -p;
					break;
				case DRIFT_METHOD_MANNWHITNEY:
					cr_assert_eq(stats_mannwhitneyu(r, nr, w, n, &s, &p), 0);
					want = -p;
					break;
				case DRIFT_METHOD_ANDERSON:
					cr_assert_eq(stats_anderson_ksamp(r, nr, w, n, &s, &p), 0);
					want = -p;
					break;
				case DRIFT_METHOD_CVM:
					cr_assert_eq(stats_cvm_2samp(r, nr, w, n, &s, &p), 0);
					want = -p;
					break;
				case DRIFT_METHOD_PSI:
					want = drift_psi(fr, fw, SAMPLE_BINS);
					break;
				case DRIFT_METHOD_JS:
					want = drift_js(fr, fw, SAMPLE_BINS);
					break;
				case DRIFT_METHOD_HELLINGER:
					want = stats_hellinger(fr, fw, SAMPLE_BINS);
					break;
				case DRIFT_METHOD_LINF:
					want = stats_linf(fr, fw, SAMPLE_BINS);
					break;
				case DRIFT_METHOD_TVD:
					want = stats_tvd(fr, fw, SAMPLE_BINS);
					break;
				default:
					want = stats_kl(ff, gf, SAMPLE_BINS);
					break;
				}
				err = fabs(got - want) / (fabs(want) > 1e-300 ? fabs(want) : 1);
				worst = err > worst ? err : worst;
				cr_expect(err < 1e-9, "%s (ties %d, n %zu): split %.17g live %.17g",
				          drift_method_name(ms[mi]), ties, n, got, want);
			}
		}
		drift_ref_fini(&ref);
	}
	printf("calibrate: split statistics vs live, worst relative error %.3g\n", worst);
	free(v);
	free(w);
	free(r);
	free(idx);
}

/* The collector's side: a feature with a reference gets a calibrated
 * threshold (mlwatch preset), threshold.F overrides it, a rate of 0 or a
 * peer preset keeps the default; the drift row says which. */
Test(calibrate, window_threshold_source)
{
	struct wmodel *m = wmodel_new(7, "m", NULL);
	struct wstate *w = wstate_new(7, 60);
	struct drift_ref ref;
	struct sample_rng rng;
	struct drift_opts o;
	struct store_feature_row fr;
	struct store_drift_row dr;
	struct jsonw j;
	const struct calib_result *cal;
	uint8_t *blob;
	size_t len, N = 20000;
	double *v = malloc(N * sizeof(*v)), thr;
	long fi;
	cJSON *st;

	cr_assert_not_null(m);
	cr_assert_not_null(v);
	sample_rng_seed(&rng, 3);
	for (size_t i = 0; i < N; i++)
		v[i] = draw_num(&rng);
	cr_assert_eq(drift_ref_numeric(&ref, v, N, 1), 0);
	cr_assert_eq(drift_ref_encode(&ref, &blob, &len), 0);
	cr_assert_eq(wmodel_set_reference(m, "a", 1, blob, len), 0);
	fi = wmodel_find(m, "a");
	cr_assert_geq(fi, 0);

	cr_assert_eq(wmodel_threshold(m, (size_t)fi, 500, &o, &cal), CALIB_SRC_CALIBRATED);
	cr_assert_not_null(cal);
	cr_assert_eq(cal->n, 400); /* the size class nearest 500 */
	cr_assert_eq(cal->method, DRIFT_METHOD_WASSERSTEIN);
	thr = o.threshold;
	cr_assert(thr > 0 && thr < 0.5, "calibrated threshold %g", thr);

	/* a window of 500 values from the same distribution */
	jsonw_init(&j);
	for (int i = 0; i < 500; i++) {
		char feat[64];
		struct store_raw_event e = {0};
		bool changed = false;

		snprintf(feat, sizeof(feat), "{\"a\":%.17g}", draw_num(&rng));
		e.id = i + 1;
		e.model_id = 7;
		e.window_start = 60;
		e.ts = 61;
		featblob_set(&e, feat);
		cr_assert_eq(wstate_fold(w, m, &e, &changed), 0);
	}
	cr_assert_eq(wstate_feature_result(w, m, (size_t)fi, &fr, &dr, &j), 0);
	cr_assert_float_eq(dr.threshold, thr, 1e-15);
	cr_assert_float_eq(dr.severity, dr.score / thr, 1e-12);
	st = cJSON_Parse(dr.stats);
	cr_assert_not_null(st, "stats: %s", dr.stats);
	cr_assert_str_eq(cJSON_GetObjectItem(st, "threshold_source")->valuestring, "calibrated");
	cr_assert_float_eq(cJSON_GetObjectItem(st, "false_alarm_rate")->valuedouble, 0.01, 1e-15);
	cr_assert_eq(cJSON_GetObjectItem(st, "calibrated_n")->valueint, 400);
	cJSON_Delete(st);

	m->f[fi].opts.threshold = 0.2;
	cr_assert_eq(wmodel_threshold(m, (size_t)fi, 500, &o, &cal), CALIB_SRC_CONFIGURED);
	cr_assert_float_eq(o.threshold, 0.2, 0);
	cr_assert_null(cal);
	cr_assert_eq(wstate_feature_result(w, m, (size_t)fi, &fr, &dr, &j), 0);
	cr_assert(strstr(dr.stats, "\"threshold_source\":\"configured\""), "%s", dr.stats);

	m->f[fi].opts.threshold = 0;
	m->far = 0;
	cr_assert_eq(wmodel_threshold(m, (size_t)fi, 500, &o, &cal), CALIB_SRC_DEFAULT);
	m->f[fi].far = 0.05; /* false_alarm_rate.a wins over the model's */
	cr_assert_eq(wmodel_threshold(m, (size_t)fi, 500, &o, &cal), CALIB_SRC_CALIBRATED);
	cr_assert(o.threshold < thr, "5%% target %g not below the 1%% one %g", o.threshold, thr);
	m->f[fi].opts.preset = DRIFT_PRESET_EVIDENTLY;
	cr_assert_eq(wmodel_threshold(m, (size_t)fi, 500, &o, &cal), CALIB_SRC_DEFAULT);
	cr_assert_float_eq(o.threshold, 0, 0); /* resolved to 0.1 by drift_numeric */

	jsonw_fini(&j);
	free(blob);
	free(v);
	drift_ref_fini(&ref);
	wstate_free(w);
	wmodel_free(m);
}

/* One window of n values of N(shift, 1) through the collector's path
 * against reference ref (already installed as feature "a" of m). */
static void window_result(struct wmodel *m, struct sample_rng *rng, size_t n, double shift,
                          struct store_drift_row *dr)
{
	struct wstate *w = wstate_new(m->id, 60);
	struct store_feature_row fr;
	struct jsonw j;

	jsonw_init(&j);
	for (size_t i = 0; i < n; i++) {
		char feat[64];
		struct store_raw_event e = {0};
		bool changed = false;

		snprintf(feat, sizeof(feat), "{\"a\":%.17g}", shift + normal(rng));
		e.id = (int64_t)i + 1;
		e.model_id = m->id;
		e.window_start = 60;
		e.ts = 61;
		featblob_set(&e, feat);
		cr_assert_eq(wstate_fold(w, m, &e, &changed), 0);
	}
	cr_assert_eq(wstate_feature_result(w, m, (size_t)wmodel_find(m, "a"), &fr, dr, &j), 0);
	jsonw_fini(&j);
	wstate_free(w);
}

/* Acceptance 2: 10,000-value windows; a 0.02 sd shift is no DRIFT (effect
 * below the minimum, however small the p-value), a 0.5 sd shift is DRIFT
 * in the first full window, for the default method and for p-value
 * methods. At 0.05 sd the tests' p-values alone would flag (checked), the
 * effect floor holds the verdict. */
Test(calibrate, min_effect_large_windows)
{
	static const char *const methods[] = {NULL, "ks", "welch", "mannwhitney", "psi"};
	struct sample_rng rng;
	struct drift_ref ref;
	size_t N = 100000, n = 10000;
	double *v = malloc(N * sizeof(*v));
	uint8_t *blob;
	size_t len;

	cr_assert_not_null(v);
	sample_rng_seed(&rng, 99);
	for (size_t i = 0; i < N; i++)
		v[i] = normal(&rng);
	cr_assert_eq(drift_ref_numeric(&ref, v, N, 1), 0);
	cr_assert_eq(drift_ref_encode(&ref, &blob, &len), 0);
	for (size_t mi = 0; mi < sizeof(methods) / sizeof(methods[0]); mi++) {
		struct wmodel *m = wmodel_new(11, "m", NULL);
		struct store_drift_row dr;
		long fi;

		cr_assert_eq(wmodel_set_reference(m, "a", 1, blob, len), 0);
		fi = wmodel_find(m, "a");
		if (methods[mi])
			cr_assert_eq(drift_method_parse(methods[mi], &m->f[fi].opts.method), 0);
		window_result(m, &rng, n, 0.02, &dr);
		printf("min_effect: %-12s shift 0.02 sd: score %.4g threshold %.4g severity %.3f "
		       "%s (%s)\n",
		       dr.method, dr.score, dr.threshold, dr.severity, dr.drifted ? "DRIFT" : "ok",
		       dr.stats + (strstr(dr.stats, "\"threshold_source\"") - dr.stats));
		cr_expect(!dr.drifted, "%s: 0.02 sd shift flagged", dr.method);
		cr_expect(dr.severity < 1, "%s: severity %g", dr.method, dr.severity);
		window_result(m, &rng, n, 0.05, &dr);
		if (methods[mi] && strcmp(methods[mi], "psi") != 0)
			cr_expect(dr.score < dr.threshold,
			          "%s: the p-value alone should flag a 0.05 sd shift (p %g, "
			          "threshold %g)",
			          dr.method, dr.score, dr.threshold);
		cr_expect(!dr.drifted, "%s: 0.05 sd shift flagged", dr.method);
		window_result(m, &rng, n, 0.5, &dr);
		printf(
		    "min_effect: %-12s shift 0.5 sd: score %.4g threshold %.4g severity %.3f %s\n",
		    dr.method, dr.score, dr.threshold, dr.severity, dr.drifted ? "DRIFT" : "ok");
		cr_expect(dr.drifted, "%s: 0.5 sd shift not flagged", dr.method);
		cr_expect(dr.severity >= 1, "%s: severity %g", dr.method, dr.severity);
		wmodel_free(m);
	}
	free(blob);
	free(v);
	drift_ref_fini(&ref);
}

/* Item 1: a calibration stored with the reference is put back into the
 * cache and used as is (no new draws: not fresh, the same threshold);
 * one that does not fit the method, rate, reference or a class size is
 * refused, and that class is calibrated again. */
Test(calibrate, stored_calibration_is_reused)
{
	struct sample_rng rng;
	struct drift_ref ref;
	struct calib_cache a, b;
	const struct calib_result *res;
	double v[3000], thr_a, thr_b;

	sample_rng_seed(&rng, 11);
	for (size_t i = 0; i < 3000; i++)
		v[i] = draw_num(&rng);
	cr_assert_eq(drift_ref_numeric(&ref, v, 3000, 1), 0);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	cr_assert_eq(
	    calib_cache_threshold(&a, &ref, DRIFT_METHOD_WASSERSTEIN, 0.01, 500, 42, &thr_a, &res),
	    0);
	cr_assert(a.fresh[calib_class(500)], "a new calibration is fresh (to be stored)");
	cr_assert_eq(res->n, 400);

	struct calib_result stored = *res, bad;
	cr_assert_eq(calib_cache_put(&b, DRIFT_METHOD_WASSERSTEIN, 0.01, ref.n, &stored), 0);
	cr_assert(b.have[calib_class(500)] && !b.fresh[calib_class(500)]);
	/* a different seed would give other draws: the same threshold shows
	 * the stored one was used */
	cr_assert_eq(
	    calib_cache_threshold(&b, &ref, DRIFT_METHOD_WASSERSTEIN, 0.01, 500, 7, &thr_b, NULL),
	    0);
	cr_expect_float_eq(thr_b, thr_a, 0);
	cr_expect(!b.fresh[calib_class(500)], "the stored class was calibrated again");

	bad = stored;
	cr_expect_eq(calib_cache_put(&b, DRIFT_METHOD_KS, 0.01, ref.n, &bad), -EINVAL);
	cr_expect_eq(calib_cache_put(&b, DRIFT_METHOD_WASSERSTEIN, 0.05, ref.n, &bad), -EINVAL);
	cr_expect_eq(calib_cache_put(&b, DRIFT_METHOD_WASSERSTEIN, 0.01, ref.n + 1, &bad), -EINVAL);
	bad.n = 500; /* not a class size */
	cr_expect_eq(calib_cache_put(&b, DRIFT_METHOD_WASSERSTEIN, 0.01, ref.n, &bad), -EINVAL);
	bad = stored;
	bad.stat = NAN;
	cr_expect_eq(calib_cache_put(&b, DRIFT_METHOD_WASSERSTEIN, 0.01, ref.n, &bad), -EINVAL);
	/* another class is not stored: calibrated when first used */
	cr_assert_eq(
	    calib_cache_threshold(&b, &ref, DRIFT_METHOD_WASSERSTEIN, 0.01, 100, 7, &thr_b, NULL),
	    0);
	cr_expect(b.fresh[calib_class(100)]);
	drift_ref_fini(&ref);
}
