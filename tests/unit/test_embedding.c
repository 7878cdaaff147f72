/* embedding: drift of a vector feature by every embedding method (issue 19
 * acceptance 3): a shift of the window's mean by 0.5 sd along a random
 * direction in 384 dimensions is caught in the first full window, and 200
 * stationary windows alarm at the 5% level within [2%, 9%] per method. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"
#include "sample.h"
#include "stats/embedding.h"

#define DIM 384

static double gauss(struct sample_rng *r)
{
	double u1 = 1.0 - sample_rng_double(r), u2 = sample_rng_double(r);

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* A synthetic embedding model: coordinates with a non-zero mean and a
 * decaying spectrum (sd 1 / sqrt(1 + j / 16)), as a text encoder's are far
 * from isotropic. */
struct model {
	double mu[DIM], sd[DIM];
};

static void model_init(struct model *m, struct sample_rng *r)
{
	for (size_t j = 0; j < DIM; j++) {
		m->mu[j] = 0.3 * gauss(r);
		m->sd[j] = 1.0 / sqrt(1.0 + (double)j / 16.0);
	}
}

static double *draw(const struct model *m, size_t n, const double *shift, struct sample_rng *r)
{
	double *x = malloc(n * DIM * sizeof(double));

	cr_assert_not_null(x);
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < DIM; j++)
			x[i * DIM + j] = m->mu[j] + m->sd[j] * gauss(r) + (shift ? shift[j] : 0);
	return x;
}

/* No .timeout on these long tests: Criterion 2.4.1's runner leaks one
 * 48-byte timeout record when a test with a timeout runs beside others
 * (2 jobs), and LeakSanitizer fails `make asan` on it. Every loop here is
 * bounded by its count (windows, draws), so none can hang. */
Test(embedding, half_sd_shift_caught_by_every_method)
{
	struct sample_rng r;
	struct model m;
	struct emb_ref ref;
	struct emb_result res;
	double u[DIM], shift[DIM], norm = 0, sdu = 0;
	const size_t n_ref = 20000, n_win = 5000;

	sample_rng_seed(&r, 384);
	model_init(&m, &r);
	for (size_t j = 0; j < DIM; j++) {
		u[j] = gauss(&r);
		norm += u[j] * u[j];
	}
	for (size_t j = 0; j < DIM; j++) {
		u[j] /= sqrt(norm);
		sdu += u[j] * u[j] * m.sd[j] * m.sd[j];
	}
	/* 0.5 sd of the data along u */
	for (size_t j = 0; j < DIM; j++)
		shift[j] = 0.5 * sqrt(sdu) * u[j];
	double *x = draw(&m, n_ref, NULL, &r), *w = draw(&m, n_win, shift, &r);
	cr_assert_eq(emb_ref_build(&ref, x, n_ref, DIM, 0, 1), 0);
	cr_assert_eq(emb_drift(&ref, w, n_win, NULL, &res), 0);
	for (int k = 0; k < EMB_METHODS; k++) {
		printf("embedding shift: %-10s stat %.6g threshold %.6g p %.4g %s (%.3f s)\n",
		       emb_method_name(k), res.m[k].stat, res.m[k].threshold, res.m[k].p,
		       res.m[k].drifted ? "DRIFT" : "no drift", res.m[k].seconds);
		cr_expect(res.m[k].drifted, "%s missed the shift: stat %g threshold %g p %g",
		          emb_method_name(k), res.m[k].stat, res.m[k].threshold, res.m[k].p);
	}
	emb_ref_fini(&ref);
	free(x);
	free(w);
}

Test(embedding, stationary_windows_alarm_at_the_nominal_rate)
{
	struct sample_rng r;
	struct model m;
	struct emb_ref ref;
	const size_t n_ref = 12000, n_win = 300;
	const size_t windows = getenv("EMB_WINDOWS") ? (size_t)atoi(getenv("EMB_WINDOWS")) : 200;
	unsigned alarms[EMB_METHODS] = {0};
	double secs[EMB_METHODS] = {0};
	struct emb_opts o = {.clf_rows = 100, .folds = 3, .mmd_rows = 300, .boot_rows = 1000};

	sample_rng_seed(&r, 5);
	model_init(&m, &r);
	double *x = draw(&m, n_ref, NULL, &r);
	cr_assert_eq(emb_ref_build(&ref, x, n_ref, DIM, 0, 2), 0);
	for (size_t t = 0; t < windows; t++) {
		struct emb_result res;
		double *w = draw(&m, n_win, NULL, &r);

		o.seed = t;
		cr_assert_eq(emb_drift(&ref, w, n_win, &o, &res), 0);
		for (int k = 0; k < EMB_METHODS; k++) {
			alarms[k] += res.m[k].drifted;
			secs[k] += res.m[k].seconds;
		}
		free(w);
	}
	for (int k = 0; k < EMB_METHODS; k++) {
		double rate = (double)alarms[k] / (double)windows;

		printf("embedding stationary: %-10s %u / %zu windows alarm (%.1f%%), %.2f s CPU\n",
		       emb_method_name(k), alarms[k], windows, 100 * rate, secs[k]);
		cr_expect(rate >= 0.02 && rate <= 0.09,
		          "%s: false-alarm rate %.3f outside [2%%, 9%%]", emb_method_name(k), rate);
	}
	emb_ref_fini(&ref);
	free(x);
}

Test(embedding, refuses_bad_input)
{
	struct emb_ref ref;
	struct emb_result res;
	double x[20 * 2];

	for (size_t i = 0; i < 40; i++)
		x[i] = (double)(i % 7);
	cr_expect_eq(emb_ref_build(&ref, x, 5, 2, 0, 1), -EINVAL, "too few rows");
	cr_expect_eq(emb_ref_build(&ref, x, 20, MV_MAX_DIM + 1, 0, 1), -EINVAL);
	cr_assert_eq(emb_ref_build(&ref, x, 20, 2, 0, 1), 0);
	/* options too small to compute with are raised, never a division by 0 */
	struct emb_opts tiny = {.boot_rows = 1, .mmd_rows = 1, .clf_rows = 1};
	cr_assert_eq(emb_drift(&ref, x, 20, &tiny, &res), 0);
	for (int k = 0; k < EMB_METHODS; k++)
		cr_expect(isfinite(res.m[k].stat) && isfinite(res.m[k].threshold) &&
		              res.m[k].p >= 0 && res.m[k].p <= 1,
		          "%s: stat %g threshold %g p %g", emb_method_name(k), res.m[k].stat,
		          res.m[k].threshold, res.m[k].p);
	x[3] = NAN;
	cr_expect_eq(emb_drift(&ref, x, 20, NULL, &res), -EINVAL, "NaN in the window");
	cr_expect_eq(emb_drift(&ref, x, 5, NULL, &res), -EINVAL, "too few rows");
	emb_ref_fini(&ref);
}
