/* embedding: see embedding.h. */
#include "embedding.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../drift.h"
#include "../sample.h"
#include "twosample.h"

static const char *const method_names[EMB_METHODS] = {
    [EMB_COSINE] = "cosine",         [EMB_EUCLID] = "euclidean", [EMB_MMD] = "mmd",
    [EMB_CLASSIFIER] = "classifier", [EMB_PCA_KS] = "pca_ks",
};

const char *emb_method_name(enum emb_method m)
{
	return (unsigned)m < EMB_METHODS ? method_names[m] : "unknown";
}

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double gauss(struct sample_rng *r)
{
	double u1 = 1.0 - sample_rng_double(r), u2 = sample_rng_double(r);

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* idx[0..k) a uniform k-subset of 0..n-1 (partial Fisher-Yates over idx[n]). */
static void subset(size_t *idx, size_t n, size_t k, struct sample_rng *r)
{
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	for (size_t i = 0; i < k; i++) {
		size_t j = i + (size_t)sample_rng_below(r, n - i), t = idx[i];

		idx[i] = idx[j];
		idx[j] = t;
	}
}

/* Rows idx[0..k) of x[. x d] copied into out[k x d]. */
static void gather(const double *x, size_t d, const size_t *idx, size_t k, double *out)
{
	for (size_t i = 0; i < k; i++)
		memcpy(out + i * d, x + idx[i] * d, d * sizeof(double));
}

/* The order statistic at (1 - alpha) of v[n] (sorts v). */
static double upper_quantile(double *v, size_t n, double alpha)
{
	qsort(v, n, sizeof(double), cmp_double);
	double pos = ceil((1 - alpha) * (double)n) - 1;
	size_t i = pos < 0 ? 0 : (size_t)pos;
	return v[i < n ? i : n - 1];
}

void emb_ref_fini(struct emb_ref *ref)
{
	if (!ref)
		return;
	free(ref->rows);
	free(ref->mean);
	free(ref->sorted);
	mv_pca_fini(&ref->pca);
	memset(ref, 0, sizeof(*ref));
}

int emb_ref_build(struct emb_ref *ref, const double *x, size_t n, size_t d, size_t pca_max_k,
                  uint64_t seed)
{
	size_t *idx = NULL;
	double *scores = NULL;
	int rc = -EINVAL;

	memset(ref, 0, sizeof(*ref));
	if (!x || n < 10 || d == 0 || d > MV_MAX_DIM || n > SIZE_MAX / sizeof(double) / d)
		return -EINVAL;
	for (size_t i = 0; i < n * d; i++)
		if (!isfinite(x[i]))
			return -EINVAL;
	/* all the components of 65% of the variance (a shift spread over
	 * many dimensions shows on many of them), bounded: the sorted scores
	 * take k x n doubles */
	if (pca_max_k == 0)
		pca_max_k = EMB_PCA_MAX_K;
	size_t keep = n < EMB_REF_ROWS_MAX ? n : EMB_REF_ROWS_MAX;
	rc = -ENOMEM;
	ref->rows = malloc(keep * d * sizeof(double));
	ref->mean = malloc(d * sizeof(double));
	if (!ref->rows || !ref->mean)
		goto out;
	if (keep < n) {
		struct sample_rng r;

		idx = malloc(n * sizeof(size_t));
		if (!idx)
			goto out;
		sample_rng_seed(&r, seed);
		subset(idx, n, keep, &r);
		gather(x, d, idx, keep, ref->rows);
	} else {
		memcpy(ref->rows, x, n * d * sizeof(double));
	}
	ref->d = d;
	ref->n = keep;
	mv_col_mean(ref->rows, keep, d, ref->mean);
	rc = mv_pca_fit(ref->rows, keep, d, false, MV_PCA_SHARE, pca_max_k, &ref->pca);
	if (rc != 0)
		goto out;
	size_t k = ref->pca.k;
	rc = -ENOMEM;
	scores = malloc(keep * k * sizeof(double));
	ref->sorted = malloc(keep * k * sizeof(double));
	if (!scores || !ref->sorted)
		goto out;
	rc = mv_pca_project(&ref->pca, ref->rows, keep, scores);
	if (rc != 0)
		goto out;
	/* Sorted once here, so a window sorts only its own scores. */
	for (size_t c = 0; c < k; c++) {
		double *col = ref->sorted + c * keep;

		for (size_t i = 0; i < keep; i++)
			col[i] = scores[i * k + c];
		qsort(col, keep, sizeof(double), cmp_double);
	}
	rc = 0;
out:
	free(idx);
	free(scores);
	if (rc != 0)
		emb_ref_fini(ref);
	return rc;
}

static struct emb_opts defaults(const struct emb_opts *o)
{
	struct emb_opts r = o ? *o : (struct emb_opts){0};

	if (!(r.alpha > 0 && r.alpha < 1))
		r.alpha = 0.05;
	if (!r.boot)
		r.boot = 200;
	if (!r.boot_rows)
		r.boot_rows = 4000;
	if (r.boot_rows < 2)
		r.boot_rows = 2; /* the covariance needs two rows */
	if (!r.mmd_rows)
		r.mmd_rows = 1500;
	if (!r.mmd_perms)
		r.mmd_perms = 100;
	if (!r.clf_rows)
		r.clf_rows = 1000;
	if (r.folds < 2 || r.folds > 20)
		r.folds = 5;
	if (!(r.c > 0) || !isfinite(r.c))
		r.c = 1.0;
	if (!r.pca_max_k)
		r.pca_max_k = EMB_PCA_MAX_K;
	/* the least each method can work with: two rows a side for MMD's
	 * unbiased sums, one row of each label in every fold */
	if (r.mmd_rows < 2)
		r.mmd_rows = 2;
	if (r.clf_rows < r.folds)
		r.clf_rows = r.folds;
	return r;
}

/* Mean distances and their multiplier-bootstrap null. */
static int mean_methods(const struct emb_ref *ref, const double *x, size_t m,
                        const struct emb_opts *o, struct emb_result *out)
{
	size_t d = ref->d, rows = ref->n < o->boot_rows ? ref->n : o->boot_rows, b = o->boot;
	double *cur = NULL, *xc = NULL, *xi = NULL, *delta = NULL, *nc = NULL, *ne = NULL,
	       *tmp = NULL;
	size_t *idx = NULL;
	struct sample_rng r;
	int rc = -ENOMEM;
	double t0 = cpu_now();

	cur = malloc(d * sizeof(double));
	xc = malloc(rows * d * sizeof(double));
	xi = malloc(b * rows * sizeof(double));
	delta = malloc(b * d * sizeof(double));
	nc = malloc(b * sizeof(double));
	ne = malloc(b * sizeof(double));
	tmp = malloc(d * sizeof(double));
	idx = malloc(ref->n * sizeof(size_t));
	if (!cur || !xc || !xi || !delta || !nc || !ne || !tmp || !idx)
		goto out;
	mv_col_mean(x, m, d, cur);
	double cosv, euc;
	mv_mean_distances(ref->mean, cur, d, &cosv, &euc);

	sample_rng_seed(&r, o->seed ^ 0x6d65616eULL);
	subset(idx, ref->n, rows, &r);
	gather(ref->rows, d, idx, rows, xc);
	for (size_t i = 0; i < rows; i++)
		for (size_t j = 0; j < d; j++)
			xc[i * d + j] -= ref->mean[j];
	for (size_t i = 0; i < b * rows; i++)
		xi[i] = gauss(&r);
	/* delta[b x d] = xi[b x rows] xc[rows x d] * sqrt((1/m + 1/n) / (rows - 1)):
	 * each row a draw of N(0, S (1/m + 1/n)), S the reference covariance. */
	double scale = sqrt((1.0 / (double)m + 1.0 / (double)ref->n) / (double)(rows - 1));
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, (int)d, (int)rows, scale, xi,
	            (int)rows, xc, (int)d, 0.0, delta, (int)d);
	size_t ge_c = 0, ge_e = 0;
	for (size_t k = 0; k < b; k++) {
		for (size_t j = 0; j < d; j++)
			tmp[j] = ref->mean[j] + delta[k * d + j];
		mv_mean_distances(ref->mean, tmp, d, &nc[k], &ne[k]);
		ge_c += nc[k] >= cosv;
		ge_e += ne[k] >= euc;
	}
	double secs = cpu_now() - t0;
	struct emb_stat *sc = &out->m[EMB_COSINE], *se = &out->m[EMB_EUCLID];
	sc->stat = cosv;
	sc->threshold = upper_quantile(nc, b, o->alpha);
	sc->p = (1.0 + (double)ge_c) / (1.0 + (double)b);
	se->stat = euc;
	se->threshold = upper_quantile(ne, b, o->alpha);
	se->p = (1.0 + (double)ge_e) / (1.0 + (double)b);
	sc->seconds = se->seconds = secs / 2;
	rc = 0;
out:
	free(cur);
	free(xc);
	free(xi);
	free(delta);
	free(nc);
	free(ne);
	free(tmp);
	free(idx);
	return rc;
}

/* Seeded subsamples of up to cap rows a side of the reference and window. */
static int subsample(const struct emb_ref *ref, const double *x, size_t m, size_t cap,
                     uint64_t seed, double **a, size_t *na, double **bb, size_t *nb)
{
	size_t d = ref->d, big = ref->n > m ? ref->n : m;
	size_t *idx = malloc(big * sizeof(size_t));
	struct sample_rng r;

	*na = ref->n < cap ? ref->n : cap;
	*nb = m < cap ? m : cap;
	*a = malloc(*na * d * sizeof(double));
	*bb = malloc(*nb * d * sizeof(double));
	if (!idx || !*a || !*bb) {
		free(idx);
		free(*a);
		free(*bb);
		*a = *bb = NULL;
		return -ENOMEM;
	}
	sample_rng_seed(&r, seed);
	subset(idx, ref->n, *na, &r);
	gather(ref->rows, d, idx, *na, *a);
	subset(idx, m, *nb, &r);
	gather(x, d, idx, *nb, *bb);
	free(idx);
	return 0;
}

static int mmd_method(const struct emb_ref *ref, const double *x, size_t m,
                      const struct emb_opts *o, struct emb_result *out)
{
	double *a = NULL, *b = NULL, *perm = NULL, stat, p;
	size_t na, nb;
	double t0 = cpu_now();
	int rc = subsample(ref, x, m, o->mmd_rows, o->seed ^ 0x6d6d64ULL, &a, &na, &b, &nb);

	if (rc != 0)
		return rc;
	perm = malloc(o->mmd_perms * sizeof(double));
	if (!perm) {
		rc = -ENOMEM;
		goto out;
	}
	rc = mv_mmd2(a, na, b, nb, ref->d, 0, o->mmd_perms, o->seed, &stat, &p, NULL, perm);
	if (rc != 0)
		goto out;
	out->m[EMB_MMD].stat = stat;
	out->m[EMB_MMD].p = p;
	out->m[EMB_MMD].threshold = upper_quantile(perm, o->mmd_perms, o->alpha);
	out->m[EMB_MMD].seconds = cpu_now() - t0;
out:
	free(a);
	free(b);
	free(perm);
	return rc;
}

static int clf_method(const struct emb_ref *ref, const double *x, size_t m,
                      const struct emb_opts *o, struct emb_result *out)
{
	double *a = NULL, *b = NULL, auc, fold[20];
	size_t na, nb;
	double t0 = cpu_now();
	int rc = subsample(ref, x, m, o->clf_rows, o->seed ^ 0x636c66ULL, &a, &na, &b, &nb);

	if (rc != 0)
		return rc;
	rc = mv_domain_auc(a, na, b, nb, ref->d, o->folds, o->c, &auc, fold);
	if (rc == 0) {
		struct emb_stat *s = &out->m[EMB_CLASSIFIER];

		s->stat = auc;
		s->p = mv_domain_pvalue(fold, o->folds, na, nb);
		s->threshold = mv_domain_threshold(o->alpha, o->folds, na, nb);
		s->seconds = cpu_now() - t0;
	}
	free(a);
	free(b);
	return rc;
}

/* The chi-square value with tail probability alpha (dof degrees of
 * freedom), by bisection on drift_chi2_sf: the threshold the Fisher
 * statistic is compared with. */
static double chi2_isf(double alpha, double dof)
{
	double lo = 0, hi = dof + 10 * sqrt(2 * dof) + 100;

	while (drift_chi2_sf(hi, dof) > alpha)
		hi *= 2;
	for (int i = 0; i < 200 && hi - lo > 1e-9 * hi; i++) {
		double mid = 0.5 * (lo + hi);
		if (drift_chi2_sf(mid, dof) > alpha)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 * (lo + hi);
}

/* Per-component KS of the window's projections against the reference's,
 * combined by Fisher's method: X = -2 sum ln p_c is chi-square with 2k
 * degrees of freedom when nothing moved (the components' scores are
 * uncorrelated, so their tests are taken as independent). A Bonferroni
 * minimum (one component at alpha / k) misses a shift spread over many
 * dimensions: 0.5 sd along a random direction of 384 puts ~0.026 sd on
 * each component, which no single KS sees, while together they do. The
 * share of components drifted at alpha is kept for the display. */
static int pca_ks_method(const struct emb_ref *ref, const double *x, size_t m,
                         const struct emb_opts *o, struct emb_result *out)
{
	size_t k = ref->pca.k;
	double *sc = malloc(m * k * sizeof(double)), *col = malloc(m * sizeof(double));
	double t0 = cpu_now(), fisher = 0;
	size_t drifted = 0;
	int rc = -ENOMEM;

	if (!sc || !col)
		goto out;
	rc = mv_pca_project(&ref->pca, x, m, sc);
	if (rc != 0)
		goto out;
	for (size_t c = 0; c < k; c++) {
		for (size_t i = 0; i < m; i++)
			col[i] = sc[i * k + c];
		qsort(col, m, sizeof(double), cmp_double);
		double p = mv_ks_sorted_p(ref->sorted + c * ref->n, ref->n, col, m, NULL);
		if (p < o->alpha)
			drifted++;
		fisher += -2 * log(fmax(p, 1e-300)); /* p 0 would be +inf */
	}
	struct emb_stat *s = &out->m[EMB_PCA_KS];
	s->stat = fisher;
	s->p = drift_chi2_sf(fisher, 2.0 * (double)k);
	s->threshold = chi2_isf(o->alpha, 2.0 * (double)k);
	s->share = (double)drifted / (double)k;
	s->seconds = cpu_now() - t0;
	rc = 0;
out:
	free(sc);
	free(col);
	return rc;
}

int emb_drift(const struct emb_ref *ref, const double *x, size_t m, const struct emb_opts *opts,
              struct emb_result *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	if (!ref || !ref->rows || !x || m < 10 || m > SIZE_MAX / sizeof(double) / ref->d)
		return -EINVAL;
	for (size_t i = 0; i < m * ref->d; i++)
		if (!isfinite(x[i]))
			return -EINVAL;
	mv_blas_single_thread();
	struct emb_opts o = defaults(opts);
	out->n_ref = ref->n;
	out->n_cur = m;
	out->d = ref->d;
	rc = mean_methods(ref, x, m, &o, out);
	if (rc == 0)
		rc = mmd_method(ref, x, m, &o, out);
	if (rc == 0)
		rc = clf_method(ref, x, m, &o, out);
	if (rc == 0)
		rc = pca_ks_method(ref, x, m, &o, out);
	if (rc != 0) {
		memset(out, 0, sizeof(*out));
		return rc;
	}
	for (int i = 0; i < EMB_METHODS; i++)
		out->m[i].drifted = out->m[i].p < o.alpha;
	return 0;
}
