/* bench_vector_window: the collector's analysis of one window of a vector
 * feature (issue 19), as analyze.c runs it: a reference of 50,000 x 384
 * loaded (float32 rows decoded, the embedding profile and its PCA built),
 * 10,000 stored events folded (their features JSON parsed, the vectors
 * sampled), and the window's drift row computed (the five embedding
 * methods). Prints each step's wall and CPU time. Reports, never fails on
 * time. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "featcodec.h"
#include "jsonw.h"
#include "sample.h"
#include "vector.h"
#include "windows.h"

#define DIM   384
#define N_REF 50000
#define N_WIN 10000

static double gauss(struct sample_rng *r)
{
	double u = 1.0 - sample_rng_double(r), v = sample_rng_double(r);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static double now_s(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(void)
{
	struct sample_rng r;
	float *ref = malloc((size_t)N_REF * DIM * sizeof(float));
	char *json = malloc(DIM * 20 + 64);
	double mu[DIM], sd[DIM];
	uint8_t *blob = NULL;
	size_t len = 0;
	int rc = 1;

	if (!ref || !json)
		return 1;
	sample_rng_seed(&r, 4);
	for (size_t j = 0; j < DIM; j++) {
		mu[j] = 0.3 * gauss(&r);
		sd[j] = 1.0 / sqrt(1.0 + (double)j / 16.0);
	}
	for (size_t i = 0; i < (size_t)N_REF * DIM; i++)
		ref[i] = (float)(mu[i % DIM] + sd[i % DIM] * gauss(&r));
	if (vector_rows_encode(ref, N_REF, DIM, &blob, &len))
		return 1;
	printf("reference profile: %d x %d float32, %.1f MB\n", N_REF, DIM, (double)len / 1e6);

	struct wmodel *m = wmodel_new(1, "enc", NULL);
	struct wstate *w = wstate_new(1, 0);
	double t0 = now_s(CLOCK_MONOTONIC), c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
	if (!m || !w || wmodel_set_reference(m, "emb", 3, blob, len))
		goto out;
	printf("reference load (decode, embedding profile, PCA): %.3f s wall, %.3f s CPU\n",
	       now_s(CLOCK_MONOTONIC) - t0, now_s(CLOCK_PROCESS_CPUTIME_ID) - c0);

	/* the stored events, as the collector writes their features */
	char **text = malloc(N_WIN * sizeof(*text));
	if (!text)
		goto out;
	for (int i = 0; i < N_WIN; i++) {
		size_t l = (size_t)snprintf(json, DIM * 20 + 64, "{\"emb\":[");
		for (size_t j = 0; j < DIM; j++)
			l += (size_t)snprintf(json + l, DIM * 20 + 64 - l, "%s%.9g", j ? "," : "",
			                      (double)(float)(mu[j] + sd[j] * gauss(&r)));
		snprintf(json + l, DIM * 20 + 64 - l, "]}");
		text[i] = strdup(json);
	}
	/* stored as the collector stores them: featcodec blobs */
	struct featcodec_enc *blobs = calloc(N_WIN, sizeof(*blobs));
	if (!blobs)
		goto out;
	for (int i = 0; i < N_WIN; i++)
		if (!text[i] || featcodec_from_json(text[i], &blobs[i], NULL))
			goto out;
	t0 = now_s(CLOCK_MONOTONIC);
	c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
	for (int i = 0; i < N_WIN; i++) {
		struct store_raw_event e = {.id = i + 1,
		                            .model_id = 1,
		                            .ts = 1,
		                            .features = blobs[i].buf,
		                            .features_len = blobs[i].len};
		bool changed = false;
		if (wstate_fold(w, m, &e, &changed))
			goto out;
	}
	double fw = now_s(CLOCK_MONOTONIC) - t0, fc = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("fold %d events: %.3f s wall, %.3f s CPU (%.1f us an event)\n", N_WIN, fw, fc,
	       fc / N_WIN * 1e6);
	for (int i = 0; i < N_WIN; i++) {
		free(text[i]);
		featcodec_enc_fini(&blobs[i]);
	}
	free(text);
	free(blobs);

	struct store_feature_row fr;
	struct store_drift_row dr;
	struct jsonw j;
	jsonw_init(&j);
	long fi = wmodel_find(m, "emb");
	t0 = now_s(CLOCK_MONOTONIC);
	c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
	if (fi < 0 || wstate_feature_result(w, m, (size_t)fi, &fr, &dr, &j))
		goto out;
	double rw = now_s(CLOCK_MONOTONIC) - t0, rcpu = now_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
	printf("window result (5 embedding methods, %llu x %d vs %llu): %.3f s wall, %.3f s CPU\n",
	       (unsigned long long)dr.n, DIM, (unsigned long long)dr.n_ref, rw, rcpu);
	printf("  verdict %s (%g of 5 methods), stats %s\n", dr.drifted ? "DRIFT" : "no drift",
	       dr.score, dr.stats);
	printf("per-window analysis with vectors: %.3f s CPU (fold + result)\n", fc + rcpu);
	jsonw_fini(&j);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "bench_vector_window: failed\n");
	wstate_free(w);
	wmodel_free(m);
	free(blob);
	free(ref);
	free(json);
	return rc;
}
