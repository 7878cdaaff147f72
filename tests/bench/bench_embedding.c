/* bench_embedding: every embedding drift method of common/stats/embedding.c
 * on a window of 10,000 events x 384 dims against a 50,000-row reference,
 * on one core (OpenBLAS single-threaded), each method's CPU time printed;
 * then the same computation with numpy/scipy/scikit-learn
 * (tests/bench/embedding_numpy.py under /usr/bin/python3, one BLAS thread)
 * on the same data, and the ratio (issue 19 acceptance 4: together <= 1 s,
 * >= 5x faster). Exits non-zero only if something fails, not on a missed
 * goal. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/harness.h"

#include "sample.h"
#include "stats/embedding.h"

#define DIM    384
#define N_REF  50000
#define N_WIN  10000
#define GOAL_S 1.0
#define GOAL_X 5.0

static double gauss(struct sample_rng *r)
{
	double u = 1.0 - sample_rng_double(r), v = sample_rng_double(r);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static int write_f64(const char *path, const double *x, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(x, sizeof(double), n, f) == n;

	if (f && fclose(f) != 0)
		ok = 0;
	return ok ? 0 : -1;
}

int main(void)
{
	struct sample_rng r;
	struct emb_ref ref;
	struct emb_result res;
	double sd[DIM], mu[DIM];
	double *x = malloc((size_t)N_REF * DIM * sizeof(double));
	double *w = malloc((size_t)N_WIN * DIM * sizeof(double));
	int rc = 1;

	if (!x || !w)
		return 1;
	sample_rng_seed(&r, 4);
	for (int j = 0; j < DIM; j++) {
		mu[j] = 0.3 * gauss(&r);
		sd[j] = 1.0 / sqrt(1.0 + j / 16.0);
	}
	for (size_t i = 0; i < (size_t)N_REF * DIM; i++)
		x[i] = mu[i % DIM] + sd[i % DIM] * gauss(&r);
	for (size_t i = 0; i < (size_t)N_WIN * DIM; i++)
		w[i] = mu[i % DIM] + sd[i % DIM] * gauss(&r) + (i % DIM == 0 ? 0.05 : 0);

	mv_blas_single_thread();
	double t0 = h_cpu();
	if (emb_ref_build(&ref, x, N_REF, DIM, 0, 1) != 0) {
		fprintf(stderr, "emb_ref_build failed\n");
		goto out;
	}
	printf("embedding: reference profile %d x %d built in %.3f s CPU (once per reference)\n",
	       N_REF, DIM, h_cpu() - t0);
	t0 = h_cpu();
	if (emb_drift(&ref, w, N_WIN, NULL, &res) != 0) {
		fprintf(stderr, "emb_drift failed\n");
		goto out;
	}
	double total = h_cpu() - t0;
	for (int k = 0; k < EMB_METHODS; k++)
		printf("embedding: %-10s %.3f s  (stat %.4g threshold %.4g p %.3g)\n",
		       emb_method_name(k), res.m[k].seconds, res.m[k].stat, res.m[k].threshold,
		       res.m[k].p);
	printf("embedding: all methods, window %d x %d vs %d rows: %.3f s CPU on one core "
	       "(goal <= %.1f s: %s)\n",
	       N_WIN, DIM, N_REF, total, GOAL_S, total <= GOAL_S ? "met" : "MISSED");

	char dir[] = "/tmp/mlw-bench-emb-XXXXXX", pr[64], pw[64], cmd[512];
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		goto out;
	}
	snprintf(pr, sizeof(pr), "%s/ref.f64", dir);
	snprintf(pw, sizeof(pw), "%s/win.f64", dir);
	if (write_f64(pr, x, (size_t)N_REF * DIM) || write_f64(pw, w, (size_t)N_WIN * DIM)) {
		perror("write");
		goto clean;
	}
	const char *src = getenv("MLWATCH_SRC_DIR");
	snprintf(cmd, sizeof(cmd),
	         "OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 "
	         "'%s/tests/bench/embedding_numpy.py' '%s' '%s' %d 2>&1",
	         src ? src : ".", pr, pw, DIM);
	FILE *p = popen(cmd, "r");
	char line[256];
	double np_total = -1;
	while (p && fgets(line, sizeof(line), p)) {
		double s;

		fputs(line, stdout);
		if (sscanf(line, "numpy total %lf", &s) == 1)
			np_total = s;
	}
	if (p)
		pclose(p);
	if (np_total > 0) {
		printf("embedding: numpy/sklearn %.3f s vs mlwatch %.3f s: %.1fx (goal >= %.0fx: "
		       "%s)\n",
		       np_total, total, np_total / total, GOAL_X,
		       np_total / total >= GOAL_X ? "met" : "MISSED");
	} else {
		printf("numpy: not available (needs /usr/bin/python3 with python3-sklearn); no "
		       "ratio\n");
	}
	rc = 0;
clean:
	unlink(pr);
	unlink(pw);
	rmdir(dir);
out:
	emb_ref_fini(&ref);
	free(x);
	free(w);
	return rc;
}
