/* multivariate: see multivariate.h. Linear algebra is LAPACK/OpenBLAS's. */
#include "multivariate.h"

#include <cblas.h>
#include <errno.h>
#include <lapacke.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "../sample.h"
#include "twosample.h"

/* Newton's method stops when every gradient entry is below this (sklearn's
 * lbfgs stops at 1e-4; a tighter optimum only makes the AUC exact). */
#define LOGREG_GTOL  1e-8
#define LOGREG_ITERS 100
/* Permutations whose sums one BLAS product computes. */
#define MMD_BATCH 128

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_init(void)
{
	openblas_set_num_threads(1);
}

void mv_blas_single_thread(void)
{
	pthread_once(&blas_once, blas_init);
}

static bool all_finite(const double *x, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (!isfinite(x[i]))
			return false;
	return true;
}

/* n x d with n * d * sizeof(double) representable. */
static bool dims_ok(size_t n, size_t d)
{
	return n > 0 && d > 0 && d <= MV_MAX_DIM && n <= SIZE_MAX / sizeof(double) / d;
}

/* ---- PCA ----------------------------------------------------------------- */

void mv_pca_fini(struct mv_pca *p)
{
	if (!p)
		return;
	free(p->mean);
	free(p->scale);
	free(p->comp);
	free(p->var);
	free(p->ratio);
	memset(p, 0, sizeof(*p));
}

int mv_pca_fit(const double *x, size_t n, size_t d, bool standardise, double share, size_t max_k,
               struct mv_pca *p)
{
	double *z = NULL, *cov = NULL, *eval = NULL, *evec = NULL;
	lapack_int *isupp = NULL;
	int rc = -EINVAL;

	memset(p, 0, sizeof(*p));
	if (!x || n < 2 || !dims_ok(n, d) || !(share > 0 && share <= 1) || max_k == 0)
		return -EINVAL;
	if (!all_finite(x, n * d))
		return -EINVAL;
	mv_blas_single_thread();
	rc = -ENOMEM;
	p->d = d;
	p->mean = calloc(d, sizeof(double));
	p->scale = calloc(d, sizeof(double));
	z = malloc(n * d * sizeof(double));
	cov = calloc(d * d, sizeof(double));
	eval = calloc(d, sizeof(double));
	evec = calloc(d * d, sizeof(double));
	isupp = calloc(2 * d, sizeof(lapack_int));
	if (!p->mean || !p->scale || !z || !cov || !eval || !evec || !isupp)
		goto out;

	/* Two passes (mean, then squared deviations) as numpy: exact enough
	 * for 1e-6 against sklearn even with large offsets. */
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++)
			p->mean[j] += x[i * d + j];
	for (size_t j = 0; j < d; j++)
		p->mean[j] /= (double)n;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++) {
			double dv = x[i * d + j] - p->mean[j];

			p->scale[j] += dv * dv;
		}
	for (size_t j = 0; j < d; j++) {
		double sd = sqrt(p->scale[j] / (double)n);

		p->scale[j] = standardise && sd > 0 ? sd : 1.0;
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++)
			z[i * d + j] = (x[i * d + j] - p->mean[j]) / p->scale[j];

	/* Covariance (upper triangle) = Z^T Z / (n - 1). The standardised
	 * columns have mean 0 up to rounding; sklearn centres them again,
	 * which changes nothing at 1e-6. */
	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)d, (int)n, 1.0 / (double)(n - 1), z,
	            (int)d, 0.0, cov, (int)d);

	lapack_int found = 0;
	lapack_int info =
	    LAPACKE_dsyevr(LAPACK_ROW_MAJOR, 'V', 'A', 'U', (lapack_int)d, cov, (lapack_int)d, 0, 0,
	                   0, 0, 0.0, &found, eval, evec, (lapack_int)d, isupp);
	if (info != 0 || found != (lapack_int)d) {
		rc = -EIO;
		goto out;
	}

	/* dsyevr gives ascending eigenvalues; rounding can make the smallest
	 * ones slightly negative: they explain nothing. */
	double total = 0;
	for (size_t j = 0; j < d; j++)
		total += eval[j] > 0 ? eval[j] : 0;
	p->total_var = total;
	size_t k = 0;
	double cum = 0;
	if (total <= 0) {
		k = 1; /* constant data: one (meaningless) component */
	} else {
		/* sklearn: searchsorted(cumsum(ratio), share, side="right") + 1 */
		while (k < d) {
			double ev = eval[d - 1 - k];

			cum += (ev > 0 ? ev : 0) / total;
			k++;
			if (cum > share || (share >= 1 && ev <= 0))
				break;
		}
	}
	if (k > max_k)
		k = max_k;
	p->k = k;
	p->comp = calloc(k * d, sizeof(double));
	p->var = calloc(k, sizeof(double));
	p->ratio = calloc(k, sizeof(double));
	if (!p->comp || !p->var || !p->ratio)
		goto out;
	for (size_t c = 0; c < k; c++) {
		size_t src = d - 1 - c; /* column of evec (row-major: evec[j * d + src]) */
		size_t arg = 0;
		double amax = -1;

		for (size_t j = 0; j < d; j++) {
			double a = fabs(evec[j * d + src]);

			if (a > amax) {
				amax = a;
				arg = j;
			}
		}
		double sign = evec[arg * d + src] < 0 ? -1.0 : 1.0;
		for (size_t j = 0; j < d; j++)
			p->comp[c * d + j] = sign * evec[j * d + src];
		p->var[c] = eval[src] > 0 ? eval[src] : 0;
		p->ratio[c] = total > 0 ? p->var[c] / total : 0;
	}
	rc = 0;
out:
	free(z);
	free(cov);
	free(eval);
	free(evec);
	free(isupp);
	if (rc != 0)
		mv_pca_fini(p);
	return rc;
}

/* Standardised copy of x[n x d] on p's mean and scale; NULL on ENOMEM. */
static double *standardised(const struct mv_pca *p, const double *x, size_t n)
{
	size_t d = p->d;
	double *z = malloc(n * d * sizeof(double));

	if (!z)
		return NULL;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++)
			z[i * d + j] = (x[i * d + j] - p->mean[j]) / p->scale[j];
	return z;
}

int mv_pca_project(const struct mv_pca *p, const double *x, size_t n, double *out)
{
	if (!p || !p->comp || !x || !out || !dims_ok(n, p->d) || !all_finite(x, n * p->d))
		return -EINVAL;
	mv_blas_single_thread();
	double *z = standardised(p, x, n);
	if (!z)
		return -ENOMEM;
	/* out[n x k] = Z[n x d] * comp^T[d x k] */
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)p->k, (int)p->d, 1.0, z,
	            (int)p->d, p->comp, (int)p->d, 0.0, out, (int)p->k);
	free(z);
	return 0;
}

int mv_pca_recon_error(const struct mv_pca *p, const double *x, size_t n, double *per_row,
                       double *mean)
{
	double *z = NULL, *s = NULL, *r = NULL;
	int rc = -EINVAL;

	if (!p || !p->comp || !x || !mean || !dims_ok(n, p->d) || !all_finite(x, n * p->d))
		return -EINVAL;
	mv_blas_single_thread();
	size_t d = p->d, k = p->k;
	rc = -ENOMEM;
	z = standardised(p, x, n);
	s = malloc(n * k * sizeof(double));
	r = malloc(n * d * sizeof(double));
	if (!z || !s || !r)
		goto out;
	/* The reconstruction is explicit (not sqrt(|z|^2 - |s|^2)), so a small
	 * error is not lost to cancellation. */
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)k, (int)d, 1.0, z, (int)d,
	            p->comp, (int)d, 0.0, s, (int)k);
	cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)d, (int)k, 1.0, s,
	            (int)k, p->comp, (int)d, 0.0, r, (int)d);
	double sum = 0;
	for (size_t i = 0; i < n; i++) {
		double e = 0;

		for (size_t j = 0; j < d; j++) {
			double dv = z[i * d + j] - r[i * d + j];

			e += dv * dv;
		}
		e = sqrt(e);
		if (per_row)
			per_row[i] = e;
		sum += e;
	}
	*mean = sum / (double)n;
	rc = 0;
out:
	free(z);
	free(s);
	free(r);
	return rc;
}

int mv_pca_recon_band(const struct mv_pca *p, const double *x, size_t n, size_t chunk, double *mean,
                      double *sd, size_t *chunks)
{
	if (!p || !x || !mean || !sd || chunk < 2 || n / chunk < 2)
		return -EINVAL;
	size_t k = n / chunk;
	double sum = 0, sq = 0;
	for (size_t c = 0; c < k; c++) {
		double e;
		int rc = mv_pca_recon_error(p, x + c * chunk * p->d, chunk, NULL, &e);

		if (rc != 0)
			return rc;
		sum += e;
		sq += e * e;
	}
	double mu = sum / (double)k, var = (sq - (double)k * mu * mu) / (double)(k - 1);
	*mean = mu;
	*sd = var > 0 ? sqrt(var) : 0;
	if (chunks)
		*chunks = k;
	return 0;
}

/* ---- MMD ----------------------------------------------------------------- */

static void swap_d(double *a, double *b)
{
	double t = *a;

	*a = *b;
	*b = t;
}

/* The k-th smallest of v[0..n) (reorders v so that v[0..k) <= v[k]):
 * quickselect with a median-of-three pivot and a three-way partition
 * (ties do not degrade it), expected O(n). */
static double select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n; /* [lo, hi) holds the k-th */

	while (hi - lo > 1) {
		double a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
		double pivot =
		    a < b ? (b < c ? b : (a < c ? c : a)) : (a < c ? a : (b < c ? c : b));
		size_t lt = lo, i = lo, gt = hi;

		while (i < gt) {
			if (v[i] < pivot)
				swap_d(&v[lt++], &v[i++]);
			else if (v[i] > pivot)
				swap_d(&v[i], &v[--gt]);
			else
				i++;
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return pivot;
	}
	return v[k];
}

/* np.median of v[0..n), n >= 1 (reorders v). */
static double median_inplace(double *v, size_t n)
{
	double hi = select_kth(v, n, n / 2);

	if (n % 2)
		return hi;
	/* the lower middle is the largest value left of n / 2 after selection */
	double lo = v[0];
	for (size_t i = 1; i < n / 2; i++)
		if (v[i] > lo)
			lo = v[i];
	return (lo + hi) / 2;
}

static double sqdist(const double *a, const double *b, size_t d)
{
	double s = 0;

	for (size_t j = 0; j < d; j++) {
		double dv = a[j] - b[j];

		s += dv * dv;
	}
	return s;
}

int mv_median_sqdist(const double *x, size_t n, const double *y, size_t m, size_t d, double *h)
{
	if (!x || !y || !h || !dims_ok(n, d) || !dims_ok(m, d) || n > SIZE_MAX / sizeof(double) / m)
		return -EINVAL;
	double *v = malloc(n * m * sizeof(double));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < m; j++)
			v[i * m + j] = sqdist(x + i * d, y + j * d, d);
	*h = median_inplace(v, n * m);
	free(v);
	return 0;
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return (x > y) - (x < y);
}

/* Sum of K[idx[a], idx[b]] over all a, b < cnt (the diagonal included). */
static double block_sum(const double *kmat, size_t nn, const size_t *idx, size_t cnt)
{
	double s = 0;

	for (size_t a = 0; a < cnt; a++) {
		const double *row = kmat + idx[a] * nn;
		double rs = 0;

		for (size_t b = 0; b < cnt; b++)
			rs += row[idx[b]];
		s += rs;
	}
	return s;
}

/* MMD^2 from the sum a of the first group's block (diagonal included), b the
 * sum of the first group's kernel row sums, total the sum of K. */
static double mmd2_from_sums(double a, double b, double total, size_t n, size_t m)
{
	double sxx = a - (double)n, syy = total - 2 * b + a - (double)m, sxy = b - a;

	return sxx / ((double)n * (double)(n - 1)) + syy / ((double)m * (double)(m - 1)) -
	       2 * sxy / ((double)n * (double)m);
}

int mv_mmd2(const double *x, size_t n, const double *y, size_t m, size_t d, double h,
            unsigned perms, uint64_t seed, double *mmd2, double *p, double *h_used,
            double *perm_stats)
{
	double *zz = NULL, *kmat = NULL, *rows = NULL;
	size_t *idx = NULL;
	int rc = -EINVAL;

	if (!x || !y || !mmd2 || n < 2 || m < 2 || !dims_ok(n, d) || !dims_ok(m, d) ||
	    n > SIZE_MAX / 2 || n + m > 65536 || !all_finite(x, n * d) || !all_finite(y, m * d) ||
	    (h > 0 && !isfinite(h)))
		return -EINVAL;
	mv_blas_single_thread();
	size_t nn = n + m;
	rc = -ENOMEM;
	zz = malloc(nn * d * sizeof(double));
	kmat = malloc(nn * nn * sizeof(double));
	rows = malloc(nn * sizeof(double));
	idx = malloc(nn * sizeof(size_t));
	if (!zz || !kmat || !rows || !idx)
		goto out;
	memcpy(zz, x, n * d * sizeof(double));
	memcpy(zz + n * d, y, m * d * sizeof(double));
	/* The Gram matrix by BLAS, then |a - b|^2 = |a|^2 + |b|^2 - 2 a.b;
	 * its rounding (~1e-16 of |a|^2) is far below the 1e-9 asked. The
	 * upper triangle becomes the squared distances first. */
	cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, (int)nn, (int)d, 1.0, zz, (int)d, 0.0,
	            kmat, (int)nn);
	for (size_t i = 0; i < nn; i++)
		rows[i] = kmat[i * nn + i];
	for (size_t i = 0; i < nn; i++)
		for (size_t j = i + 1; j < nn; j++) {
			double dd = rows[i] + rows[j] - 2 * kmat[i * nn + j];

			kmat[i * nn + j] = dd > 0 ? dd : 0;
		}
	if (!(h > 0)) {
		/* np.median of the cross block (rows < n, columns >= n), copied
		 * into zz (no longer needed) when it fits there */
		double *v = n * m <= nn * d ? zz : malloc(n * m * sizeof(double));

		if (!v)
			goto out;
		for (size_t i = 0; i < n; i++)
			memcpy(v + i * m, kmat + i * nn + n, m * sizeof(double));
		h = median_inplace(v, n * m);
		if (v != zz)
			free(v);
		if (!(h > 0))
			h = 1.0; /* every cross pair identical: any bandwidth gives 0 */
	}
	for (size_t i = 0; i < nn; i++) {
		kmat[i * nn + i] = 1.0;
		for (size_t j = i + 1; j < nn; j++) {
			double kv = exp(-kmat[i * nn + j] / h);

			kmat[i * nn + j] = kv;
			kmat[j * nn + i] = kv;
		}
	}
	double total = 0;
	for (size_t i = 0; i < nn; i++) {
		double s = 0;

		for (size_t j = 0; j < nn; j++)
			s += kmat[i * nn + j];
		rows[i] = s;
		total += s;
	}
	for (size_t i = 0; i < nn; i++)
		idx[i] = i;
	double bsum = 0;
	for (size_t i = 0; i < n; i++)
		bsum += rows[i];
	double obs = mmd2_from_sums(block_sum(kmat, nn, idx, n), bsum, total, n, m);
	*mmd2 = obs;
	if (h_used)
		*h_used = h;
	if (p) {
		struct sample_rng rng;
		unsigned ge = 0;
		/* Permutations go in batches of MMD_BATCH columns of 0/1
		 * indicators Z, so that the permuted within-group sums z' K z
		 * come from one BLAS product K Z (compute-bound, ~10x faster
		 * than gathering K's entries one by one). */
		size_t cols = perms < MMD_BATCH ? perms : MMD_BATCH;
		double *zm = calloc(nn * (cols ? cols : 1), sizeof(double));
		double *kz = malloc(nn * (cols ? cols : 1) * sizeof(double));
		double bsums[MMD_BATCH];

		if (!zm || !kz) {
			free(zm);
			free(kz);
			goto out;
		}
		sample_rng_seed(&rng, seed);
		/* MMD^2 is symmetric in the two groups: permute the smaller. */
		size_t g = n <= m ? n : m, other = nn - g;
		for (unsigned t0 = 0; t0 < perms; t0 += (unsigned)cols) {
			size_t nc = perms - t0 < cols ? perms - t0 : cols;

			for (size_t c = 0; c < nc; c++) {
				/* partial Fisher-Yates: idx[0..g) a uniform g-subset */
				for (size_t i = 0; i < g; i++) {
					size_t j = i + (size_t)sample_rng_below(&rng, nn - i);
					size_t tmp = idx[i];

					idx[i] = idx[j];
					idx[j] = tmp;
				}
				/* sorted as before, so the sequence of subsets (and
				 * so the p-value for a seed) is unchanged */
				qsort(idx, g, sizeof(size_t), cmp_size);
				bsums[c] = 0;
				for (size_t i = 0; i < g; i++) {
					zm[idx[i] * cols + c] = 1.0;
					bsums[c] += rows[idx[i]];
				}
			}
			cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nn, (int)nc,
			            (int)nn, 1.0, kmat, (int)nn, zm, (int)cols, 0.0, kz, (int)cols);
			for (size_t c = 0; c < nc; c++) {
				double a = 0;

				for (size_t i = 0; i < nn; i++) {
					a += zm[i * cols + c] * kz[i * cols + c];
					zm[i * cols + c] = 0.0;
				}
				double st = mmd2_from_sums(a, bsums[c], total, g, other);
				if (perm_stats)
					perm_stats[t0 + c] = st;
				if (st >= obs)
					ge++;
			}
		}
		free(zm);
		free(kz);
		*p = (1.0 + ge) / (1.0 + perms);
	}
	rc = 0;
out:
	free(zz);
	free(kmat);
	free(rows);
	free(idx);
	return rc;
}

/* ---- logistic regression and AUC ------------------------------------------ */

/* log(1 + exp(t)) without overflow. */
static double log1pexp(double t)
{
	return t > 0 ? t + log1p(exp(-t)) : log1p(exp(t));
}

static double sigmoid(double t)
{
	if (t >= 0)
		return 1.0 / (1.0 + exp(-t));
	double e = exp(t);
	return e / (1.0 + e);
}

/* sum log-loss + |w|^2 / (2c) at beta = (w, b), margins t[n] filled. */
static double logreg_loss(const double *xa, const uint8_t *y, size_t n, size_t da,
                          const double *beta, double c, double *t)
{
	double loss = 0, ww = 0;

	cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)da, 1.0, xa, (int)da, beta, 1, 0.0, t,
	            1);
	for (size_t i = 0; i < n; i++)
		loss += y[i] ? log1pexp(-t[i]) : log1pexp(t[i]);
	for (size_t j = 0; j + 1 < da; j++)
		ww += beta[j] * beta[j];
	return loss + ww / (2 * c);
}

int mv_logreg_fit(const double *x, const uint8_t *y, size_t n, size_t d, double c, double *w,
                  double *b, int *iters)
{
	double *xa = NULL, *xs = NULL, *beta = NULL, *trial = NULL, *g = NULL, *hess = NULL,
	       *t = NULL, *step = NULL;
	int rc = -EINVAL;

	if (!x || !y || !w || !b || n < 2 || !dims_ok(n, d + 1) || !(c > 0) || !isfinite(c) ||
	    !all_finite(x, n * d))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (y[i] > 1)
			return -EINVAL;
	mv_blas_single_thread();
	size_t da = d + 1; /* the intercept is the last coefficient */
	rc = -ENOMEM;
	xa = malloc(n * da * sizeof(double));
	xs = malloc(n * da * sizeof(double));
	beta = calloc(da, sizeof(double));
	trial = calloc(da, sizeof(double));
	g = calloc(da, sizeof(double));
	hess = calloc(da * da, sizeof(double));
	step = calloc(da, sizeof(double));
	t = calloc(n, sizeof(double));
	if (!xa || !xs || !beta || !trial || !g || !hess || !step || !t)
		goto out;
	for (size_t i = 0; i < n; i++) {
		memcpy(xa + i * da, x + i * d, d * sizeof(double));
		xa[i * da + d] = 1.0;
	}
	double loss = logreg_loss(xa, y, n, da, beta, c, t);
	int it = 0;
	for (; it < LOGREG_ITERS; it++) {
		/* gradient X^T (p - y) + w / c; Hessian X^T W X + I / c (not the
		 * intercept), W = p (1 - p), built as (sqrt(W) X)^T (sqrt(W) X). */
		for (size_t i = 0; i < n; i++) {
			double pr = sigmoid(t[i]);

			t[i] = pr - (double)y[i];
			double sw = sqrt(pr * (1 - pr));
			for (size_t j = 0; j < da; j++)
				xs[i * da + j] = sw * xa[i * da + j];
		}
		cblas_dgemv(CblasRowMajor, CblasTrans, (int)n, (int)da, 1.0, xa, (int)da, t, 1, 0.0,
		            g, 1);
		double gmax = 0;
		for (size_t j = 0; j < da; j++) {
			if (j < d)
				g[j] += beta[j] / c;
			if (fabs(g[j]) > gmax)
				gmax = fabs(g[j]);
		}
		if (gmax < LOGREG_GTOL)
			break;
		cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)da, (int)n, 1.0, xs,
		            (int)da, 0.0, hess, (int)da);
		for (size_t j = 0; j < d; j++)
			hess[j * da + j] += 1.0 / c;
		/* The intercept's diagonal can be ~0 when every p is 0 or 1;
		 * a tiny ridge keeps the Cholesky factor defined. */
		hess[d * da + d] += 1e-12;
		memcpy(step, g, da * sizeof(double));
		lapack_int info = LAPACKE_dposv(LAPACK_ROW_MAJOR, 'U', (lapack_int)da, 1, hess,
		                                (lapack_int)da, step, 1);
		if (info != 0) {
			rc = -EIO;
			goto out;
		}
		/* Backtracking: the loss is convex, so a halved Newton step
		 * eventually decreases it (Armijo with 1e-4). */
		double slope = cblas_ddot((int)da, g, 1, step, 1), alpha = 1.0, nl = loss;
		/* Newton decrement: the step would lower the loss by about
		 * slope / 2. Below 1e-12 of the loss that is rounding, and the
		 * line search could only crawl (100 iterations of ever smaller
		 * steps were seen on random data): at the optimum. */
		if (slope / 2 <= 1e-12 * (1.0 + fabs(loss)))
			break;
		int tries = 0;
		for (; tries < 50; tries++) {
			for (size_t j = 0; j < da; j++)
				trial[j] = beta[j] - alpha * step[j];
			nl = logreg_loss(xa, y, n, da, trial, c, t);
			if (nl <= loss - 1e-4 * alpha * slope)
				break;
			alpha /= 2;
		}
		if (tries == 50) {
			/* no decrease at machine precision: at the optimum */
			logreg_loss(xa, y, n, da, beta, c, t);
			break;
		}
		memcpy(beta, trial, da * sizeof(double));
		loss = nl;
	}
	memcpy(w, beta, d * sizeof(double));
	*b = beta[d];
	if (iters)
		*iters = it;
	rc = 0;
out:
	free(xa);
	free(xs);
	free(beta);
	free(trial);
	free(g);
	free(hess);
	free(step);
	free(t);
	return rc;
}

struct scored {
	double s;
	uint8_t label;
};

static int cmp_scored(const void *a, const void *b)
{
	double x = ((const struct scored *)a)->s, y = ((const struct scored *)b)->s;

	return (x > y) - (x < y);
}

int mv_roc_auc(const double *scores, const uint8_t *labels, size_t n, double *auc)
{
	struct scored *v;
	size_t pos = 0;

	if (!scores || !labels || !auc || n < 2 || !all_finite(scores, n))
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (labels[i] > 1)
			return -EINVAL;
		pos += labels[i];
	}
	if (pos == 0 || pos == n)
		return -EINVAL;
	v = malloc(n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		v[i].s = scores[i];
		v[i].label = labels[i];
	}
	qsort(v, n, sizeof(*v), cmp_scored);
	/* Mann-Whitney: AUC = (rank sum of positives - P(P+1)/2) / (P N),
	 * average ranks over ties. */
	double rsum = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		size_t npos = 0;

		while (j < n && v[j].s == v[i].s) {
			npos += v[j].label;
			j++;
		}
		double avg = ((double)i + 1 + (double)j) / 2; /* ranks i+1..j */
		rsum += avg * (double)npos;
		i = j;
	}
	double np_ = (double)pos, nn_ = (double)(n - pos);
	*auc = (rsum - np_ * (np_ + 1) / 2) / (np_ * nn_);
	free(v);
	return 0;
}

int mv_domain_auc(const double *ref, size_t n, const double *cur, size_t m, size_t d,
                  unsigned folds, double c, double *auc, double *fold_auc)
{
	double *xtr = NULL, *xte = NULL, *w = NULL, *sc = NULL;
	uint8_t *ytr = NULL, *yte = NULL;
	int rc = -EINVAL;

	if (!ref || !cur || !auc || folds < 2 || folds > 20 || !dims_ok(n, d) || !dims_ok(m, d) ||
	    m > SIZE_MAX / 2 / sizeof(double) / d || n > SIZE_MAX / 2 / sizeof(double) / d - m)
		return -EINVAL;
	size_t nn = n + m;
	/* every fold (train and test) needs both labels */
	for (unsigned f = 0; f < folds; f++) {
		size_t r0 = 0, r1 = 0;

		for (size_t i = f; i < nn; i += folds)
			*(i < n ? &r0 : &r1) += 1;
		if (r0 == 0 || r1 == 0 || r0 == n || r1 == m)
			return -EINVAL;
	}
	rc = -ENOMEM;
	xtr = malloc(nn * d * sizeof(double));
	xte = malloc(nn * d * sizeof(double));
	w = malloc(d * sizeof(double));
	sc = malloc(nn * sizeof(double));
	ytr = malloc(nn);
	yte = malloc(nn);
	if (!xtr || !xte || !w || !sc || !ytr || !yte)
		goto out;
	double sum = 0;
	for (unsigned f = 0; f < folds; f++) {
		size_t ntr = 0, nte = 0;
		double b = 0, a = 0;

		for (size_t i = 0; i < nn; i++) {
			const double *row = i < n ? ref + i * d : cur + (i - n) * d;
			bool test = i % folds == f;
			double *dst = test ? xte + nte * d : xtr + ntr * d;

			memcpy(dst, row, d * sizeof(double));
			if (test)
				yte[nte++] = i >= n;
			else
				ytr[ntr++] = i >= n;
		}
		rc = mv_logreg_fit(xtr, ytr, ntr, d, c, w, &b, NULL);
		if (rc != 0)
			goto out;
		cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)nte, (int)d, 1.0, xte, (int)d, w, 1,
		            0.0, sc, 1);
		for (size_t i = 0; i < nte; i++)
			sc[i] += b;
		rc = mv_roc_auc(sc, yte, nte, &a);
		if (rc != 0)
			goto out;
		if (fold_auc)
			fold_auc[f] = a;
		sum += a;
	}
	*auc = sum / folds;
	rc = 0;
out:
	free(xtr);
	free(xte);
	free(w);
	free(sc);
	free(ytr);
	free(yte);
	return rc;
}

/* Null sd of the AUC of a fold's n0 + n1 test rows. */
static double fold_sd(double n0, double n1)
{
	return sqrt((n0 + n1 + 1) / (12 * n0 * n1));
}

double mv_domain_pvalue(const double *fold_auc, unsigned folds, size_t n, size_t m)
{
	double pmin = 1;

	if (!fold_auc || folds == 0 || n < folds || m < folds)
		return 1.0;
	double sd = fold_sd((double)n / folds, (double)m / folds);
	for (unsigned f = 0; f < folds; f++) {
		double p = isfinite(fold_auc[f]) ? stats_norm_sf((fold_auc[f] - 0.5) / sd) : 1.0;

		if (p < pmin)
			pmin = p;
	}
	return fmin(1.0, pmin * folds);
}

double mv_domain_threshold(double alpha, unsigned folds, size_t n, size_t m)
{
	double lo = 0, hi = 40, target = alpha / (folds ? folds : 1);

	if (folds == 0 || n < folds || m < folds || !(alpha > 0 && alpha < 1))
		return 1.0;
	/* z with norm.sf(z) = target, by bisection */
	for (int i = 0; i < 100; i++) {
		double mid = (lo + hi) / 2;

		if (stats_norm_sf(mid) > target)
			lo = mid;
		else
			hi = mid;
	}
	return 0.5 + (lo + hi) / 2 * fold_sd((double)n / folds, (double)m / folds);
}

size_t mv_quadratic_dim(size_t d)
{
	return d + d * (d + 1) / 2;
}

int mv_quadratic_features(const double *x, size_t n, size_t d, double *out)
{
	if (!x || !out || !dims_ok(n, d) || mv_quadratic_dim(d) > MV_MAX_DIM)
		return -EINVAL;
	size_t q = mv_quadratic_dim(d);
	for (size_t i = 0; i < n; i++) {
		const double *r = x + i * d;
		double *o = out + i * q;

		memcpy(o, r, d * sizeof(double));
		o += d;
		for (size_t a = 0; a < d; a++)
			for (size_t b = a; b < d; b++)
				*o++ = r[a] * r[b];
	}
	return 0;
}

/* ---- mean-embedding distances -------------------------------------------- */

int mv_col_mean(const double *x, size_t n, size_t d, double *mean)
{
	if (!x || !mean || !dims_ok(n, d))
		return -EINVAL;
	memset(mean, 0, d * sizeof(double));
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < d; j++)
			mean[j] += x[i * d + j];
	for (size_t j = 0; j < d; j++)
		mean[j] /= (double)n;
	return 0;
}

void mv_mean_distances(const double *a, const double *b, size_t d, double *cosine, double *euclid)
{
	double ab = 0, aa = 0, bb = 0, e = 0;

	for (size_t j = 0; j < d; j++) {
		ab += a[j] * b[j];
		aa += a[j] * a[j];
		bb += b[j] * b[j];
		e += (a[j] - b[j]) * (a[j] - b[j]);
	}
	if (cosine)
		*cosine = aa > 0 && bb > 0 ? 1.0 - ab / (sqrt(aa) * sqrt(bb)) : 0.0;
	if (euclid)
		*euclid = sqrt(e);
}

/* ---- per-component KS ----------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* KS D of sorted a[n] and b[m], as scipy (right-continuous CDFs). */
static double ks_d(const double *a, size_t n, const double *b, size_t m)
{
	size_t i = 0, j = 0;
	double dmax = 0;

	while (i < n && j < m) {
		double v = a[i] < b[j] ? a[i] : b[j];

		while (i < n && a[i] == v)
			i++;
		while (j < m && b[j] == v)
			j++;
		double dd = fabs((double)i / (double)n - (double)j / (double)m);
		if (dd > dmax)
			dmax = dd;
	}
	return dmax;
}

double mv_ks_sorted_p(const double *a, size_t n, const double *b, size_t m, double *d)
{
	double dd = n && m ? ks_d(a, n, b, m) : 0;

	if (d)
		*d = dd;
	return stats_ks_p(dd, n, m, NULL);
}

int mv_pca_ks_share(const double *ref_scores, size_t n, const double *cur_scores, size_t m,
                    size_t k, double alpha, double *share, double *p, double *per_p)
{
	double *a = NULL, *b = NULL;
	int rc = -EINVAL;

	if (!ref_scores || !cur_scores || !share || !p || !dims_ok(n, k) || !dims_ok(m, k) ||
	    !(alpha > 0 && alpha < 1))
		return -EINVAL;
	rc = -ENOMEM;
	a = malloc(n * sizeof(double));
	b = malloc(m * sizeof(double));
	if (!a || !b)
		goto out;
	size_t drifted = 0;
	double pmin = 1;
	for (size_t c = 0; c < k; c++) {
		for (size_t i = 0; i < n; i++)
			a[i] = ref_scores[i * k + c];
		for (size_t i = 0; i < m; i++)
			b[i] = cur_scores[i * k + c];
		qsort(a, n, sizeof(double), cmp_double);
		qsort(b, m, sizeof(double), cmp_double);
		double pc = stats_ks_p(ks_d(a, n, b, m), n, m, NULL);
		if (per_p)
			per_p[c] = pc;
		if (pc < alpha / (double)k)
			drifted++;
		if (pc < pmin)
			pmin = pc;
	}
	*share = (double)drifted / (double)k;
	*p = fmin(1.0, pmin * (double)k);
	rc = 0;
out:
	free(a);
	free(b);
	return rc;
}
