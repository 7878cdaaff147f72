/* mvprofile: see mvprofile.h. */
#include "mvprofile.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "sample.h"

#define MVP_VERSION 1

int mvp_encode(const char *const *names, size_t d, const double *rows, size_t n, uint8_t **out,
               size_t *len)
{
	struct bytes_writer w;
	size_t cap;

	*out = NULL;
	*len = 0;
	if (d == 0 || d > MVP_COLS_MAX || n > MVP_ROWS_MAX || (n && !rows))
		return -EINVAL;
	cap = 1 + 10 + 10 + n * d * 8;
	for (size_t j = 0; j < d; j++)
		cap += 10 + strlen(names[j]);
	*out = malloc(cap);
	if (!*out)
		return -ENOMEM;
	bytes_writer_init(&w, *out, cap);
	bytes_put_u8(&w, MVP_VERSION);
	bytes_put_varint(&w, d);
	for (size_t j = 0; j < d; j++) {
		size_t l = strlen(names[j]);
		bytes_put_varint(&w, l);
		bytes_put_raw(&w, names[j], l);
	}
	bytes_put_varint(&w, n);
	for (size_t i = 0; i < n * d; i++)
		bytes_put_f64(&w, rows[i]);
	*len = w.len;
	return 0;
}

void mvp_fini(struct mvp *p)
{
	for (size_t j = 0; p->names && j < p->d; j++)
		free(p->names[j]);
	free(p->names);
	free(p->rows);
	if (p->fitted)
		mv_pca_fini(&p->pca);
	memset(p, 0, sizeof(*p));
}

int mvp_decode(struct mvp *p, const uint8_t *buf, size_t len)
{
	struct bytes_reader r;
	int rc = -EPROTO;

	memset(p, 0, sizeof(*p));
	if (!buf)
		return -EPROTO;
	bytes_reader_init(&r, buf, len);
	uint8_t ver = bytes_get_u8(&r);
	uint64_t d = bytes_get_varint(&r);
	if (r.err || ver != MVP_VERSION || d == 0 || d > MVP_COLS_MAX)
		return -EPROTO;
	p->names = calloc((size_t)d, sizeof(*p->names));
	if (!p->names)
		return -ENOMEM;
	p->d = (size_t)d;
	for (size_t j = 0; j < p->d; j++) {
		uint64_t l = bytes_get_varint(&r);
		const uint8_t *s = r.err || l == 0 || l > 256 ? NULL : bytes_get_raw(&r, (size_t)l);
		if (!s)
			goto fail;
		p->names[j] = malloc((size_t)l + 1);
		if (!p->names[j]) {
			rc = -ENOMEM;
			goto fail;
		}
		memcpy(p->names[j], s, (size_t)l);
		p->names[j][l] = '\0';
		if (strlen(p->names[j]) != l)
			goto fail; /* a NUL inside a name */
	}
	uint64_t n = bytes_get_varint(&r);
	if (r.err || n > MVP_ROWS_MAX || bytes_remaining(&r) != n * d * 8)
		goto fail;
	p->rows = malloc((n ? (size_t)(n * d) : 1) * sizeof(double));
	if (!p->rows) {
		rc = -ENOMEM;
		goto fail;
	}
	p->n = (size_t)n;
	for (size_t i = 0; i < p->n * p->d; i++) {
		p->rows[i] = bytes_get_f64(&r);
		if (!isfinite(p->rows[i]))
			goto fail;
	}
	if (r.err)
		goto fail;
	return 0;
fail:
	mvp_fini(p);
	return rc;
}

int mvp_fit(struct mvp *p)
{
	if (p->fitted)
		return 0;
	if (p->n < MVP_ROWS_MIN)
		return -EINVAL;
	int rc = mv_pca_fit(p->rows, p->n, p->d, true, MV_PCA_SHARE, p->d, &p->pca);
	if (rc == 0)
		p->fitted = true;
	return rc;
}

/* rows[idx[0..k)] of x[. x d] into out[k x d'] (d' the quadratic
 * dimension when quad). */
static int gather(const double *x, size_t d, const size_t *idx, size_t k, bool quad, double *tmp,
                  double *out)
{
	for (size_t i = 0; i < k; i++)
		memcpy(tmp + i * d, x + idx[i] * d, d * sizeof(double));
	if (quad)
		return mv_quadratic_features(tmp, k, d, out);
	memcpy(out, tmp, k * d * sizeof(double));
	return 0;
}

/* A seeded uniform choice of k of n row indexes (a partial shuffle). */
static size_t *choose(size_t n, size_t k, struct sample_rng *r)
{
	size_t *idx = malloc(n * sizeof(*idx));

	if (!idx)
		return NULL;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	for (size_t i = 0; i < k; i++) {
		size_t j = i + (size_t)sample_rng_below(r, n - i);
		size_t t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
	return idx;
}

/* The classifier part of mvp_drift. */
static int classify(const struct mvp *p, const double *x, size_t m, double alpha, uint64_t seed,
                    struct mvp_result *out)
{
	const unsigned folds = 5;
	size_t kr = p->n < MVP_CLF_ROWS ? p->n : MVP_CLF_ROWS;
	size_t kc = m < MVP_CLF_ROWS ? m : MVP_CLF_ROWS;
	bool quad = p->d <= MVP_QUADRATIC_MAX;
	size_t q = quad ? mv_quadratic_dim(p->d) : p->d;
	struct sample_rng r;
	size_t *ir = NULL, *ic = NULL;
	double *tmp = NULL, *a = NULL, *b = NULL, fold[5];
	int rc = -ENOMEM;

	if (kr < 2 * folds || kc < 2 * folds)
		return 0; /* too few rows for five folds of both kinds */
	sample_rng_seed(&r, seed);
	ir = choose(p->n, kr, &r);
	ic = choose(m, kc, &r);
	tmp = malloc((kr > kc ? kr : kc) * p->d * sizeof(double));
	a = malloc(kr * q * sizeof(double));
	b = malloc(kc * q * sizeof(double));
	if (!ir || !ic || !tmp || !a || !b)
		goto out;
	if ((rc = gather(p->rows, p->d, ir, kr, quad, tmp, a)) ||
	    (rc = gather(x, p->d, ic, kc, quad, tmp, b)))
		goto out;
	/* standardise on the reference rows: Newton's steps stay well
	 * conditioned whatever the features' units */
	for (size_t j = 0; j < q; j++) {
		double mu = 0, ss = 0;
		for (size_t i = 0; i < kr; i++)
			mu += a[i * q + j];
		mu /= (double)kr;
		for (size_t i = 0; i < kr; i++)
			ss += (a[i * q + j] - mu) * (a[i * q + j] - mu);
		double sd = sqrt(ss / (double)kr);
		if (!(sd > 0))
			sd = 1;
		for (size_t i = 0; i < kr; i++)
			a[i * q + j] = (a[i * q + j] - mu) / sd;
		for (size_t i = 0; i < kc; i++)
			b[i * q + j] = (b[i * q + j] - mu) / sd;
	}
	rc = mv_domain_auc(a, kr, b, kc, q, folds, 1.0, &out->auc, fold);
	if (rc)
		goto out;
	out->auc_p = mv_domain_pvalue(fold, folds, kr, kc);
	out->auc_threshold = mv_domain_threshold(alpha, folds, kr, kc);
	out->clf_drifted = out->auc_p < alpha;
	out->clf_done = true;
out:
	free(ir);
	free(ic);
	free(tmp);
	free(a);
	free(b);
	return rc;
}

int mvp_drift(const struct mvp *p, const double *x, size_t m, double alpha, uint64_t seed,
              struct mvp_result *out)
{
	size_t chunk;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!p || !p->fitted || !x || m < 10)
		return -EINVAL;
	if (!(alpha > 0 && alpha < 1))
		alpha = 0.05;
	out->n_ref = p->n;
	out->n_cur = m;
	out->k = p->pca.k;
	rc = mv_pca_recon_error(&p->pca, x, m, NULL, &out->recon);
	if (rc)
		return rc;
	/* the band from chunks of the window's size, at least five of them */
	chunk = m < p->n / 5 ? m : p->n / 5;
	if (chunk < 2)
		return -EINVAL;
	rc = mv_pca_recon_band(&p->pca, p->rows, p->n, chunk, &out->band_mean, &out->band_sd,
	                       &out->chunks);
	if (rc)
		return rc;
	out->lower = out->band_mean - 3 * out->band_sd;
	out->upper = out->band_mean + 3 * out->band_sd;
	out->recon_drifted = out->recon > out->upper || out->recon < out->lower;
	return classify(p, x, m, alpha, seed ^ 0x6d76ull, out);
}
