/* bench_calibrate: the cost of calibrating drift thresholds (issue 17,
 * acceptance 6, first part): 50 features (40 numeric, 10 categorical with
 * 20 categories), each with a 100,000-row reference, calibrated at a 1%
 * target with their default method (normed Wasserstein / Jensen-Shannon),
 * for windows of 1,000 and of 10,000 values; goal <= 2 s for the 50. Then
 * one feature under every method, to show which are the dear ones. Exits
 * non-zero only if something fails, not on a missed goal. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/harness.h"

#include "drift.h"
#include "sample.h"
#include "stats/calibrate.h"

#define N_REF     100000
#define N_NUMERIC 40
#define N_CATEG   10
#define GOAL_S    2.0

/* CPU seconds of this process: the figure that does not depend on what
 * else the machine runs. */
static double gauss(struct sample_rng *r)
{
	double u = 1.0 - sample_rng_double(r), v = sample_rng_double(r);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

int main(void)
{
	static const size_t sizes[] = {1000, 10000};
	struct drift_ref refs[N_NUMERIC + N_CATEG];
	struct sample_rng rng;
	double *v = malloc(N_REF * sizeof(*v));
	int rc = 0;

	if (!v)
		return 1;
	sample_rng_seed(&rng, 6);
	for (int f = 0; f < N_NUMERIC; f++) {
		for (size_t i = 0; i < N_REF; i++)
			v[i] = exp(0.3 * gauss(&rng)) * (f + 1);
		if (drift_ref_numeric(&refs[f], v, N_REF, (uint64_t)f) != 0)
			return 1;
	}
	for (int f = 0; f < N_CATEG; f++) {
		struct sample_cats t;
		char name[16];

		sample_cats_init(&t, 0);
		for (int c = 0; c < 20; c++) {
			snprintf(name, sizeof(name), "c%d", c);
			/* Zipf-like shares summing to N_REF */
			if (sample_cats_add(&t, name, strlen(name),
			                    (uint64_t)(N_REF * (1.0 / (c + 1)) / 3.5977)) != 0)
				return 1;
		}
		if (drift_ref_categorical(&refs[N_NUMERIC + f], &t) != 0)
			return 1;
		sample_cats_fini(&t);
	}
	for (size_t si = 0; si < sizeof(sizes) / sizeof(sizes[0]); si++) {
		double t0 = h_now(), c0 = h_cpu(), el, cpu;

		for (int f = 0; f < N_NUMERIC + N_CATEG; f++) {
			struct calib_result c;
			enum drift_method m;
			double thr;

			if (drift_resolve(&refs[f], NULL, &m, &thr) != 0 ||
			    calib_run(&refs[f], m, sizes[si], 0.01, (uint64_t)f, &c) != 0) {
				printf("calibration failed (feature %d)\n", f);
				rc = 1;
			}
		}
		el = h_now() - t0;
		cpu = h_cpu() - c0;
		printf(
		    "calibration of %d features (%d numeric, %d categorical), %d-row references, "
		    "windows of %zu, 1%% target, %d pseudo-windows each: %.3f s wall, %.3f s CPU "
		    "(goal <= %.0f s: %s)\n",
		    N_NUMERIC + N_CATEG, N_NUMERIC, N_CATEG, N_REF, sizes[si], CALIB_BOOT, el, cpu,
		    GOAL_S, cpu <= GOAL_S ? "met" : "MISSED");
	}
	printf("one numeric feature, %d-row reference, per method (ms, windows of 1000 / 10000):\n",
	       N_REF);
	for (int m = DRIFT_METHOD_KS; m <= DRIFT_METHOD_CVM; m++) {
		double ms[2];

		if (!calib_applies(&refs[0], (enum drift_method)m, DRIFT_PRESET_MLWATCH))
			continue;
		for (int si = 0; si < 2; si++) {
			struct calib_result c;
			double t0 = h_now();

			if (calib_run(&refs[0], (enum drift_method)m, sizes[si], 0.01, 1, &c) != 0)
				rc = 1;
			ms[si] = (h_now() - t0) * 1e3;
		}
		printf("  %-12s %9.1f %9.1f\n", drift_method_name((enum drift_method)m), ms[0],
		       ms[1]);
	}
	for (int f = 0; f < N_NUMERIC + N_CATEG; f++)
		drift_ref_fini(&refs[f]);
	free(v);
	return rc;
}
