/* quality: metrics on hand-worked confusion matrices, isotonic calibration,
 * the label-free accuracy estimate on a simulated model, and concept-drift
 * detectors that catch an accuracy drop but stay quiet on stationary data. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "quality.h"
#include "sample.h"

Test(quality, classification_metrics_by_hand)
{
	/* true a a a b b c / pred a a b b c c:
	 * a: tp 2 fp 0 fn 1 -> P 1, R 2/3, F1 0.8
	 * b: tp 1 fp 1 fn 1 -> P R F1 0.5
	 * c: tp 1 fp 1 fn 0 -> P 0.5, R 1, F1 2/3 */
	const char *truth[] = {"a", "a", "a", "b", "b", "c"};
	const char *pred[] = {"a", "a", "b", "b", "c", "c"};
	struct quality_cls q;

	quality_cls_init(&q);
	cr_expect_eq(quality_cls_accuracy(&q), 0);
	cr_expect_eq(quality_cls_macro_f1(&q), 0);
	for (int i = 0; i < 6; i++)
		cr_assert_eq(quality_cls_add(&q, pred[i], truth[i]), 0);
	cr_expect_eq(q.total, 6);
	cr_expect_eq(q.n, 3);
	cr_expect_float_eq(quality_cls_accuracy(&q), 4.0 / 6, 1e-15);
	cr_expect_str_eq(q.classes[0].name, "a");
	cr_expect_float_eq(quality_cls_precision(&q, 0), 1.0, 1e-15);
	cr_expect_float_eq(quality_cls_recall(&q, 0), 2.0 / 3, 1e-15);
	cr_expect_float_eq(quality_cls_f1(&q, 0), 0.8, 1e-15);
	cr_expect_float_eq(quality_cls_f1(&q, 1), 0.5, 1e-15);
	cr_expect_float_eq(quality_cls_precision(&q, 2), 0.5, 1e-15);
	cr_expect_float_eq(quality_cls_recall(&q, 2), 1.0, 1e-15);
	cr_expect_float_eq(quality_cls_macro_f1(&q), (0.8 + 0.5 + 2.0 / 3) / 3, 1e-15);
	/* A class only ever predicted (never a label, never right) counts in
	 * the macro average with F1 0, as scikit-learn's union of labels. */
	cr_assert_eq(quality_cls_add(&q, "d", "a"), 0);
	cr_expect_eq(q.n, 4);
	cr_expect_eq(quality_cls_f1(&q, 3), 0);
	cr_expect_eq(quality_cls_recall(&q, 3), 0);
	cr_expect_float_eq(quality_cls_macro_f1(&q), (2 * 2.0 / (4 + 2) + 0.5 + 2.0 / 3) / 4,
	                   1e-15);
	quality_cls_fini(&q);
}

Test(quality, classification_merge_and_limits)
{
	struct quality_cls a, b;
	char name[QUALITY_CLASS_NAME_MAX + 2];

	quality_cls_init(&a);
	quality_cls_init(&b);
	cr_assert_eq(quality_cls_add(&a, "x", "x"), 0);
	cr_assert_eq(quality_cls_add(&b, "y", "x"), 0);
	cr_assert_eq(quality_cls_add(&b, "y", "y"), 0);
	cr_assert_eq(quality_cls_merge(&a, &b), 0);
	cr_expect_eq(a.total, 3);
	cr_expect_eq(a.correct, 2);
	cr_expect_eq(a.n, 2);
	cr_expect_eq(a.classes[0].fn, 1); /* x mislabelled as y once */
	cr_expect_eq(a.classes[1].tp, 1);
	cr_expect_eq(a.classes[1].fp, 1);
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	cr_expect_eq(quality_cls_add(&a, name, "x"), -EINVAL);
	cr_expect_eq(quality_cls_add(&a, NULL, "x"), -EINVAL);
	for (int i = 2; i < QUALITY_MAX_CLASSES; i++) {
		snprintf(name, sizeof(name), "c%d", i);
		cr_assert_eq(quality_cls_add(&a, name, name), 0);
	}
	cr_expect_eq(a.n, QUALITY_MAX_CLASSES);
	/* One more class would pass the bound: refused, nothing changes. */
	cr_expect_eq(quality_cls_add(&a, "x", "new"), -E2BIG);
	cr_expect_eq(a.n, QUALITY_MAX_CLASSES);
	cr_expect_eq(a.total, 3 + QUALITY_MAX_CLASSES - 2);
	cr_expect_eq(a.classes[0].tp, 1);
	quality_cls_fini(&a);
	quality_cls_fini(&b);
}

Test(quality, regression_and_coverage)
{
	struct quality_reg r = {0}, s = {0};

	cr_expect_eq(quality_reg_mae(&r), 0);
	cr_assert_eq(quality_reg_add(&r, 3, 1), 0);  /* |2|  4 */
	cr_assert_eq(quality_reg_add(&r, -1, 1), 0); /* |2|  4 */
	cr_assert_eq(quality_reg_add(&s, 5, 5), 0);  /* 0    0 */
	cr_assert_eq(quality_reg_add(&s, 0, 4), 0);  /* |4| 16 */
	cr_expect_eq(quality_reg_add(&s, NAN, 4), -EINVAL);
	cr_expect_eq(quality_reg_add(&s, 1, INFINITY), -EINVAL);
	quality_reg_merge(&r, &s);
	cr_expect_eq(r.n, 4);
	cr_expect_float_eq(quality_reg_mae(&r), 2.0, 1e-15);
	cr_expect_float_eq(quality_reg_rmse(&r), sqrt(24.0 / 4), 1e-15);
	cr_expect_eq(quality_label_coverage(0, 0), 0);
	cr_expect_eq(quality_label_coverage(42, 100), 0.42);
	cr_expect_eq(quality_label_coverage(120, 100), 1.0);
}

Test(quality, isotonic_by_hand)
{
	const double conf[] = {0.3, 0.1, 0.5, 0.2, 0.4};
	const uint8_t ok[] = {0, 0, 1, 1, 1};
	const double tie_conf[] = {0.5, 0.5, 0.5, 0.5};
	const uint8_t tie_ok[] = {1, 1, 0, 1};
	struct quality_calib c;

	/* Sorted: 0.1:0 0.2:1 0.3:0 0.4:1 0.5:1 -> PAV pools 0.2 and 0.3 at 0.5. */
	cr_assert_eq(quality_calib_fit(&c, conf, ok, 5), 0);
	cr_expect_eq(c.n, 5);
	cr_expect_eq(c.y[0], 0);
	cr_expect_eq(c.y[1], 0.5);
	cr_expect_eq(c.y[2], 0.5);
	cr_expect_eq(c.y[3], 1);
	cr_expect_float_eq(quality_calib_apply(&c, 0.25), 0.5, 1e-15);
	cr_expect_float_eq(quality_calib_apply(&c, 0.15), 0.25, 1e-15);
	cr_expect_float_eq(quality_calib_apply(&c, 0.35), 0.75, 1e-15);
	cr_expect_eq(quality_calib_apply(&c, 0.0), 0);  /* clipped */
	cr_expect_eq(quality_calib_apply(&c, 0.99), 1); /* clipped */
	cr_expect_eq(quality_calib_apply(&c, NAN), 0);
	quality_calib_fini(&c);
	/* Equal scores are one point with their mean outcome. */
	cr_assert_eq(quality_calib_fit(&c, tie_conf, tie_ok, 4), 0);
	cr_expect_eq(c.n, 1);
	cr_expect_eq(quality_calib_apply(&c, 0.1), 0.75);
	cr_expect_eq(quality_calib_apply(&c, 0.9), 0.75);
	quality_calib_fini(&c);
	/* Identity when there is no calibration. */
	cr_expect_eq(quality_calib_apply(NULL, 0.7), 0.7);
	cr_expect_eq(quality_calib_apply(NULL, 1.7), 1);
	cr_expect_eq(quality_calib_fit(&c, conf, ok, 0), -EINVAL);
	cr_expect_eq(quality_calib_fit(&c, (const double[]){1.5}, ok, 1), -EINVAL);
	cr_expect_eq(quality_calib_fit(&c, conf, (const uint8_t[]){2}, 1), -EINVAL);
	cr_expect_null(c.x);
}

/* An overconfident model: the true probability of being right is t, the
 * reported confidence is sqrt(t). */
static void simulate(struct sample_rng *r, double lo, double hi, size_t n, double *conf,
                     uint8_t *ok)
{
	for (size_t i = 0; i < n; i++) {
		double t = lo + (hi - lo) * sample_rng_double(r);

		conf[i] = sqrt(t);
		ok[i] = sample_rng_double(r) < t;
	}
}

Test(quality, isotonic_properties)
{
	size_t n = 20000;
	double *conf = malloc(n * sizeof(*conf)), mean_fit = 0, mean_ok = 0;
	uint8_t *ok = malloc(n);
	struct sample_rng r;
	struct quality_calib c, back;
	uint8_t *enc = NULL;
	size_t len;

	sample_rng_seed(&r, 3);
	simulate(&r, 0.3, 1.0, n, conf, ok);
	cr_assert_eq(quality_calib_fit(&c, conf, ok, n), 0);
	for (size_t i = 1; i < c.n; i++) {
		cr_assert_lt(c.x[i - 1], c.x[i]);
		cr_assert_leq(c.y[i - 1], c.y[i]);
	}
	/* PAV keeps each block's mean: the fitted values average to the
	 * observed accuracy. */
	for (size_t i = 0; i < n; i++) {
		mean_fit += quality_calib_apply(&c, conf[i]);
		mean_ok += ok[i];
	}
	cr_expect_float_eq(mean_fit / n, mean_ok / n, 1e-9);
	/* It learned the miscalibration: confidence 0.9 is right ~81%. */
	cr_expect_float_eq(quality_calib_apply(&c, 0.9), 0.81, 0.05);
	printf("isotonic: %zu pairs -> %zu points; calib(0.9) = %.3f (true 0.81)\n", n, c.n,
	       quality_calib_apply(&c, 0.9));

	cr_assert_eq(quality_calib_encode(&c, &enc, &len), 0);
	cr_assert_eq(quality_calib_decode(&back, enc, len), 0);
	cr_expect_eq(back.n, c.n);
	cr_expect_eq(quality_calib_apply(&back, 0.77), quality_calib_apply(&c, 0.77));
	quality_calib_fini(&back);
	for (size_t l = 0; l < len; l += 7)
		cr_expect_eq(quality_calib_decode(&back, enc, l), -EPROTO);
	/* A decreasing y is not an isotonic fit. */
	memcpy(enc + 1 + bytes_varint_len(c.n) + 8, &(double){1.0}, 8);
	cr_expect_eq(quality_calib_decode(&back, enc, len), -EPROTO);
	free(enc);
	quality_calib_fini(&c);
	free(conf);
	free(ok);
}

Test(quality, estimated_accuracy_tracks_realized)
{
	size_t nref = 20000, nwin = 1000;
	double *conf = malloc(nref * sizeof(*conf));
	uint8_t *ok = malloc(nref);
	struct sample_rng r;
	struct quality_calib c;
	int inside = 0, windows = 0;
	double est, low, high;

	sample_rng_seed(&r, 17);
	simulate(&r, 0.1, 1.0, nref, conf, ok);
	cr_assert_eq(quality_calib_fit(&c, conf, ok, nref), 0);
	/* 40 windows; the second half sees harder inputs (covariate shift
	 * within the calibrated range): accuracy drops from 0.55 to 0.4, and
	 * the estimate must follow without labels. */
	for (int w = 0; w < 40; w++) {
		struct quality_est e = {0};
		double lo = 0.1, hi = w < 20 ? 1.0 : 0.7;
		size_t right = 0;

		simulate(&r, lo, hi, nwin, conf, ok);
		for (size_t i = 0; i < nwin; i++) {
			quality_est_add(&e, &c, conf[i]);
			right += ok[i];
		}
		cr_assert_eq(quality_est_result(&e, &est, &low, &high), 0);
		cr_assert(low <= est && est <= high);
		inside += (double)right / nwin >= low && (double)right / nwin <= high;
		windows++;
		if (w == 0 || w == 39)
			printf("estimated accuracy window %d: est %.3f band [%.3f, %.3f], "
			       "realized %.3f\n",
			       w, est, low, high, (double)right / nwin);
	}
	/* +-3 sigma covers 99.7% if the estimate is unbiased; the fitted
	 * calibration has its own error, so allow a couple of misses. */
	printf("estimated accuracy: realized inside the band in %d of %d windows\n", inside,
	       windows);
	cr_expect_geq(inside, 37);
	{
		struct quality_est e = {0}, f = {0};

		cr_expect_eq(quality_est_result(&e, &est, NULL, NULL), -ENODATA);
		cr_expect_eq(est, 0);
		quality_est_add(&e, NULL, 0.9);
		quality_est_add(&f, NULL, 0.5);
		quality_est_merge(&e, &f);
		cr_assert_eq(quality_est_result(&e, &est, &low, &high), 0);
		cr_expect_float_eq(est, 0.7, 1e-15);
		/* sigma = sqrt(0.09 + 0.25) / 2 */
		cr_expect_float_eq(high - est, 3 * sqrt(0.34) / 2 > 0.3 ? 0.3 : 3 * sqrt(0.34) / 2,
		                   1e-12);
		cr_expect_eq(low, fmax(0, 0.7 - 3 * sqrt(0.34) / 2));
	}
	quality_calib_fini(&c);
	free(conf);
	free(ok);
}

#define DRIFT_AT 10000

/* A stream of 0/1 errors: rate p0 until DRIFT_AT, then p1. Returns the
 * detection delay in events after DRIFT_AT (-1 if never), and sets
 * *early when an alarm came before the drift. */
static long run_detector(bool adwin, double p0, double p1, uint64_t seed, bool *early)
{
	struct quality_ph ph;
	struct quality_adwin *a = malloc(sizeof(*a));
	struct sample_rng r;
	long delay = -1;

	quality_ph_init(&ph);
	quality_adwin_init(a);
	sample_rng_seed(&r, seed);
	*early = false;
	for (long i = 0; i < 3 * DRIFT_AT && delay < 0; i++) {
		double x = sample_rng_double(&r) < (i < DRIFT_AT ? p0 : p1);
		int fired = adwin ? quality_adwin_add(a, x) : quality_ph_add(&ph, x);

		cr_assert_geq(fired, 0);
		if (fired && i < DRIFT_AT)
			*early = true;
		else if (fired)
			delay = i - DRIFT_AT;
	}
	free(a);
	return delay;
}

Test(quality, detectors_catch_an_accuracy_drop)
{
	/* Accuracy 95% -> 80% and 90% -> 70%, 10 seeds each. */
	const double drops[][2] = {{0.05, 0.20}, {0.10, 0.30}};

	for (int d = 0; d < 2; d++) {
		for (int det = 0; det < 2; det++) {
			long sum = 0, worst = 0;

			for (uint64_t s = 1; s <= 10; s++) {
				bool early;
				long delay = run_detector(det, drops[d][0], drops[d][1], s, &early);

				cr_expect_not(early, "%s alarm before the drift (seed %lu)",
				              det ? "ADWIN" : "PH", (unsigned long)s);
				cr_expect_geq(delay, 0, "%s missed the drift",
				              det ? "ADWIN" : "PH");
				cr_expect_lt(delay, 2000);
				sum += delay;
				worst = delay > worst ? delay : worst;
			}
			printf("%s: accuracy %.0f%% -> %.0f%%: detection delay mean %ld, max %ld "
			       "events (10 streams)\n",
			       det ? "ADWIN (delta 0.002)"
			           : "Page-Hinkley (delta 0.005, lambda 50)",
			       100 * (1 - drops[d][0]), 100 * (1 - drops[d][1]), sum / 10, worst);
		}
	}
}

Test(quality, detectors_quiet_on_stationary_streams)
{
	/* 1e5 events at 95% accuracy: no alarm from either detector. */
	for (uint64_t s = 1; s <= 5; s++) {
		struct quality_ph ph;
		struct quality_adwin *a = malloc(sizeof(*a));
		struct sample_rng r;

		quality_ph_init(&ph);
		quality_adwin_init(a);
		sample_rng_seed(&r, 100 + s);
		for (int i = 0; i < 100000; i++) {
			double x = sample_rng_double(&r) < 0.05;

			cr_assert_eq(quality_ph_add(&ph, x), 0, "PH false alarm at %d (seed %lu)",
			             i, (unsigned long)s);
			cr_assert_eq(quality_adwin_add(a, x), 0, "ADWIN false alarm at %d", i);
		}
		cr_expect_eq(ph.alarms, 0);
		cr_expect_eq(a->detections, 0);
		/* ADWIN's window grew over the whole stream, its mean is the
		 * error rate. */
		cr_expect_eq(a->width, 100000);
		cr_expect_float_eq(quality_adwin_mean(a), 0.05, 0.005);
		free(a);
	}
	/* ADWIN also at 70% accuracy, where Page-Hinkley with lambda 50
	 * is known to wander over the threshold (see quality.h). */
	for (uint64_t s = 1; s <= 3; s++) {
		struct quality_adwin *a = malloc(sizeof(*a));
		struct sample_rng r;

		quality_adwin_init(a);
		sample_rng_seed(&r, 200 + s);
		for (int i = 0; i < 100000; i++)
			cr_assert_eq(quality_adwin_add(a, sample_rng_double(&r) < 0.3), 0,
			             "ADWIN false alarm at %d", i);
		free(a);
	}
}

Test(quality, detector_state_survives_encoding)
{
	struct quality_ph ph, ph2;
	struct quality_adwin *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	uint8_t buf[QUALITY_ADWIN_ENCODED_MAX];
	size_t len;
	struct sample_rng r;

	quality_ph_init(&ph);
	quality_adwin_init(a);
	sample_rng_seed(&r, 9);
	for (int i = 0; i < 5000; i++) {
		double x = sample_rng_double(&r) < 0.1;

		cr_assert_geq(quality_ph_add(&ph, x), 0);
		cr_assert_geq(quality_adwin_add(a, x), 0);
	}
	cr_assert_eq(quality_ph_encode(&ph, buf, QUALITY_PH_ENCODED_MAX, &len), 0);
	cr_assert_eq(quality_ph_decode(&ph2, buf, len), 0);
	cr_expect_eq(memcmp(&ph, &ph2, sizeof(ph)), 0);
	for (size_t l = 0; l < len; l++)
		cr_expect_eq(quality_ph_decode(&ph2, buf, l), -EPROTO);
	cr_assert_eq(quality_adwin_encode(a, buf, sizeof(buf), &len), 0);
	cr_assert_eq(quality_adwin_decode(b, buf, len), 0);
	for (size_t l = 0; l < len; l++)
		cr_expect_eq(quality_adwin_decode(b, buf, l), -EPROTO);
	/* The last 8 bytes are the oldest bucket's variance: a negative, NaN or
	 * infinite one (a broken sign or exponent) is refused. */
	uint8_t keep[8];
	memcpy(keep, buf + len - 8, 8);
	const double bad[] = {-1.0, NAN, INFINITY};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct bytes_writer w;
		bytes_writer_init(&w, buf + len - 8, 8);
		bytes_put_f64(&w, bad[i]);
		cr_assert(!w.overflow);
		cr_expect_eq(quality_adwin_decode(b, buf, len), -EPROTO, "variance %g accepted",
		             bad[i]);
	}
	memcpy(buf + len - 8, keep, 8);
	cr_assert_eq(quality_adwin_decode(b, buf, len), 0);
	cr_expect_eq(quality_adwin_encode(a, buf, 10, &len), -ENOSPC);
	/* Both copies now see a drop and must answer identically. */
	for (int i = 0; i < 5000; i++) {
		double x = sample_rng_double(&r) < 0.4;

		cr_assert_eq(quality_adwin_add(a, x), quality_adwin_add(b, x), "event %d", i);
		cr_assert_eq(quality_ph_add(&ph, x), quality_ph_add(&ph2, x), "event %d", i);
	}
	cr_expect_gt(a->detections, 0);
	cr_expect_eq(a->width, b->width);
	cr_expect_eq(a->total, b->total);
	cr_expect_eq(quality_adwin_add(a, NAN), -EINVAL);
	cr_expect_eq(quality_ph_add(&ph, INFINITY), -EINVAL);
	cr_expect_eq(quality_ph_init_params(&ph, 0.005, 0, 1), -EINVAL);
	cr_expect_eq(quality_adwin_init_delta(a, 0), -EINVAL);
	free(a);
	free(b);
}
