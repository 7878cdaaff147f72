/* drift: drift statistics against a reference profile (see drift.h). */
#include "drift.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "stats/binning.h"
#include "stats/distance.h"

#define REF_VERSION 1
/* numeric with NannyML's reference-chunk thresholds after the values */
#define REF_VERSION_CHUNKS 2

/* ---- methods -------------------------------------------------------------- */

static const char *const method_names[] = {
    [DRIFT_METHOD_DEFAULT] = "default",
    [DRIFT_METHOD_KS] = "ks",
    [DRIFT_METHOD_WASSERSTEIN] = "wasserstein",
    [DRIFT_METHOD_PSI] = "psi",
    [DRIFT_METHOD_JS] = "js",
    [DRIFT_METHOD_CHI2] = "chi2",
    [DRIFT_METHOD_Z] = "z",
    [DRIFT_METHOD_HELLINGER] = "hellinger",
    [DRIFT_METHOD_LINF] = "linf",
    [DRIFT_METHOD_TVD] = "tvd",
    [DRIFT_METHOD_KL] = "kl",
    [DRIFT_METHOD_ENERGY] = "energy",
    [DRIFT_METHOD_MANNWHITNEY] = "mannwhitney",
    [DRIFT_METHOD_WELCH] = "welch",
    [DRIFT_METHOD_FISHER] = "fisher",
    [DRIFT_METHOD_ANDERSON] = "anderson",
    [DRIFT_METHOD_CVM] = "cvm",
};

#define N_METHODS (sizeof(method_names) / sizeof(method_names[0]))

const char *drift_method_name(enum drift_method m)
{
	if ((size_t)m >= N_METHODS)
		return "unknown";
	return method_names[m];
}

int drift_method_parse(const char *name, enum drift_method *m)
{
	for (size_t i = 0; i < N_METHODS; i++) {
		if (strcmp(name, method_names[i]) == 0) {
			*m = (enum drift_method)i;
			return 0;
		}
	}
	return -EINVAL;
}

bool drift_method_is_pvalue(enum drift_method m)
{
	return m == DRIFT_METHOD_KS || m == DRIFT_METHOD_CHI2 || m == DRIFT_METHOD_Z ||
	       m == DRIFT_METHOD_MANNWHITNEY || m == DRIFT_METHOD_WELCH ||
	       m == DRIFT_METHOD_FISHER || m == DRIFT_METHOD_ANDERSON || m == DRIFT_METHOD_CVM;
}

double drift_method_default_threshold(enum drift_method m)
{
	return drift_method_is_pvalue(m) ? DRIFT_P_THRESHOLD : DRIFT_DIST_THRESHOLD;
}

static const char *const preset_names[] = {
    [DRIFT_PRESET_MLWATCH] = "mlwatch",
    [DRIFT_PRESET_EVIDENTLY] = "evidently",
    [DRIFT_PRESET_NANNYML] = "nannyml",
};

const char *drift_preset_name(enum drift_preset p)
{
	if ((size_t)p >= sizeof(preset_names) / sizeof(preset_names[0]))
		return "unknown";
	return preset_names[p];
}

int drift_preset_parse(const char *name, enum drift_preset *p)
{
	for (size_t i = 0; i < sizeof(preset_names) / sizeof(preset_names[0]); i++) {
		if (strcmp(name, preset_names[i]) == 0) {
			*p = (enum drift_preset)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- special functions ---------------------------------------------------- */

#define GAMMA_EPS   1e-16
#define GAMMA_ITMAX 10000

/* P(a, x) by its power series; converges fast for x < a + 1. */
static double gamma_p_series(double a, double x)
{
	double ap = a, sum = 1.0 / a, del = sum;

	for (int n = 0; n < GAMMA_ITMAX; n++) {
		ap += 1;
		del *= x / ap;
		sum += del;
		if (fabs(del) < fabs(sum) * GAMMA_EPS)
			break;
	}
	return sum * exp(-x + a * log(x) - lgamma(a));
}

/* Q(a, x) by its continued fraction (modified Lentz); for x >= a + 1. */
static double gamma_q_cf(double a, double x)
{
	const double tiny = 1e-300;
	double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;

	for (int i = 1; i < GAMMA_ITMAX; i++) {
		double an = -i * (i - a), del;

		b += 2;
		d = an * d + b;
		if (fabs(d) < tiny)
			d = tiny;
		c = b + an / c;
		if (fabs(c) < tiny)
			c = tiny;
		d = 1 / d;
		del = d * c;
		h *= del;
		if (fabs(del - 1) < GAMMA_EPS)
			break;
	}
	return exp(-x + a * log(x) - lgamma(a)) * h;
}

double drift_gamma_p(double a, double x)
{
	if (!(a > 0) || !(x > 0))
		return 0;
	if (isinf(x))
		return 1;
	return x < a + 1 ? gamma_p_series(a, x) : 1 - gamma_q_cf(a, x);
}

double drift_gamma_q(double a, double x)
{
	if (!(a > 0) || !(x > 0))
		return 1;
	if (isinf(x))
		return 0;
	return x < a + 1 ? 1 - gamma_p_series(a, x) : gamma_q_cf(a, x);
}

double drift_chi2_sf(double x, double dof)
{
	return drift_gamma_q(dof / 2, x / 2);
}

double drift_kstwobign_sf(double x)
{
	double sum = 0;

	if (!(x > 0))
		return 1;
	if (x < 1) {
		/* 1 - K(x) with the Jacobi-theta form of the CDF, which
		 * converges fast for small x: K = sqrt(2 pi)/x sum_k
		 * exp(-(2k-1)^2 pi^2 / (8 x^2)). */
		double f = -M_PI * M_PI / (8 * x * x);

		for (int k = 1; k < 100; k++) {
			double t = exp((2 * k - 1) * (2 * k - 1) * f);

			sum += t;
			if (t < 1e-300 || t < sum * 1e-17)
				break;
		}
		return 1 - sqrt(2 * M_PI) / x * sum;
	}
	/* 2 sum_k (-1)^(k-1) exp(-2 k^2 x^2), alternating and fast for x >= 1. */
	for (int k = 1; k < 100; k++) {
		double t = exp(-2.0 * k * k * x * x);

		sum += (k % 2) ? t : -t;
		if (t < 1e-300 || t < fabs(sum) * 1e-17)
			break;
	}
	sum *= 2;
	return sum < 0 ? 0 : (sum > 1 ? 1 : sum);
}

double drift_ks_pvalue(double d, size_t n, size_t m)
{
	return stats_ks_p(d, n, m, NULL);
}

/* ---- two-sample statistics ------------------------------------------------ */

/* One merge walk gives both KS D and W1: at every distinct sample point x both right-continuous
 * CDFs are taken after all values <= x (the points and divisions ks_2samp uses), and |F_a - F_b| is
 * constant from x to the next point (scipy's _cdf_distance). One pass instead of two halves the
 * branch misses that dominate the cost on interleaved samples. */
void drift_ks_wasserstein(const double *a, size_t n, const double *b, size_t m, double *d_out,
                          double *w_out)
{
	size_t i = 0, j = 0;
	double area = 0, d = 0, x;

	if (n == 0 || m == 0) {
		*d_out = 0;
		*w_out = 0;
		return;
	}
	x = a[0] < b[0] ? a[0] : b[0];
	for (;;) {
		double next, diff;

		while (i < n && a[i] <= x)
			i++;
		while (j < m && b[j] <= x)
			j++;
		diff = fabs((double)i / (double)n - (double)j / (double)m);
		if (diff > d)
			d = diff;
		if (i == n && j == m)
			break;
		if (i == n)
			next = b[j];
		else if (j == m)
			next = a[i];
		else
			next = a[i] < b[j] ? a[i] : b[j];
		area += diff * (next - x);
		x = next;
	}
	*d_out = d;
	*w_out = area;
}

double drift_ks_stat(const double *a, size_t n, const double *b, size_t m)
{
	double d, w;

	drift_ks_wasserstein(a, n, b, m, &d, &w);
	return d;
}

double drift_wasserstein(const double *a, size_t n, const double *b, size_t m)
{
	double d, w;

	drift_ks_wasserstein(a, n, b, m, &d, &w);
	return w;
}

double drift_psi(const double *ref_prop, const double *cur_prop, size_t k)
{
	double psi = 0;

	for (size_t i = 0; i < k; i++) {
		double r = ref_prop[i] > DRIFT_PROP_FLOOR ? ref_prop[i] : DRIFT_PROP_FLOOR;
		double c = cur_prop[i] > DRIFT_PROP_FLOOR ? cur_prop[i] : DRIFT_PROP_FLOOR;

		psi += (c - r) * log(c / r);
	}
	return psi;
}

/* x ln(x / y) with scipy.special.rel_entr's conventions for 0. */
static double rel_entr(double x, double y)
{
	if (x > 0 && y > 0)
		return x * log(x / y);
	return 0; /* x == 0; y == 0 < x cannot happen with y = (p + q) / 2 */
}

double drift_js(const double *p, const double *q, size_t k)
{
	double sp = 0, sq = 0, left = 0, right = 0, js;

	for (size_t i = 0; i < k; i++) {
		sp += p[i];
		sq += q[i];
	}
	if (!(sp > 0) || !(sq > 0))
		return 0;
	for (size_t i = 0; i < k; i++) {
		double pi = p[i] / sp, qi = q[i] / sq, mi = (pi + qi) / 2.0;

		left += rel_entr(pi, mi);
		right += rel_entr(qi, mi);
	}
	js = (left + right) / log(2.0);
	/* Rounding can leave -1e-17 for identical inputs; scipy would
	 * return NaN there, a distance of 0 is the meaning. */
	if (js < 0)
		js = 0;
	js = sqrt(js / 2.0);
	return js > 1 ? 1 : js;
}

double drift_chi2_stat(const uint64_t *obs, const double *expected, size_t k)
{
	double chi2 = 0;

	for (size_t i = 0; i < k; i++) {
		double o = (double)obs[i], e = expected[i];

		if (e > 0)
			chi2 += (o - e) * (o - e) / e;
	}
	return chi2;
}

/* ---- reference profile ---------------------------------------------------- */

void drift_ref_fini(struct drift_ref *ref)
{
	free(ref->sorted);
	sample_cats_fini(&ref->cats);
	memset(ref, 0, sizeof(*ref));
}

/* Derives edges, bin proportions and moments from ref->sorted[0..n). */
static void ref_numeric_finish(struct drift_ref *ref)
{
	uint64_t counts[SAMPLE_BINS] = {0};
	size_t n = (size_t)ref->n;

	if (n == 0)
		return;
	sample_ref_edges(ref->sorted, n, ref->edges);
	sample_bin_counts(ref->edges, ref->sorted, n, counts);
	for (int i = 0; i < SAMPLE_BINS; i++)
		ref->bin_prop[i] = (double)counts[i] / (double)n;
	ref->min = ref->sorted[0];
	ref->max = ref->sorted[n - 1];
	sample_mean_std(ref->sorted, n, &ref->mean, &ref->std);
}

/* NannyML's reference-chunk thresholds (struct drift_chunk_thr) from
 * values[0..n) in their order, against the profile's sorted sample. */
static int ref_chunk_thresholds(struct drift_ref *ref, const double *values, size_t n)
{
	size_t size = n / DRIFT_CHUNK_COUNT, nch = 0;
	double d[2 * DRIFT_CHUNK_COUNT], w[2 * DRIFT_CHUNK_COUNT], *buf = NULL;
	double dm = 0, wm = 0, dv = 0, wv = 0;
	int rc = 0;

	if (size == 0 || ref->n == 0)
		return 0;
	buf = malloc(size * sizeof(*buf)); /* the remainder chunk is smaller */
	if (!buf)
		return -ENOMEM;
	/* ceil(n / (n / 10)) < 20 chunks: the last one n % size values */
	for (size_t start = 0; start < n && nch < 2 * DRIFT_CHUNK_COUNT; start += size) {
		size_t k = n - start < size ? n - start : size;

		memcpy(buf, values + start, k * sizeof(*buf));
		rc = sample_sort(buf, k);
		if (rc < 0)
			goto out;
		drift_ks_wasserstein(ref->sorted, (size_t)ref->n, buf, k, &d[nch], &w[nch]);
		nch++;
	}
	/* np.mean then np.std (ddof 0) of the chunk values */
	for (size_t i = 0; i < nch; i++) {
		dm += d[i];
		wm += w[i];
	}
	dm /= (double)nch;
	wm /= (double)nch;
	for (size_t i = 0; i < nch; i++) {
		dv += (d[i] - dm) * (d[i] - dm);
		wv += (w[i] - wm) * (w[i] - wm);
	}
	dv = sqrt(dv / (double)nch);
	wv = sqrt(wv / (double)nch);
	ref->chunk_thr.set = true;
	ref->chunk_thr.chunks = (uint32_t)nch;
	ref->chunk_thr.ks_upper = dm + DRIFT_CHUNK_STD_K * dv;
	if (ref->chunk_thr.ks_upper > 1) /* KS's upper limit */
		ref->chunk_thr.ks_upper = 1;
	ref->chunk_thr.w_lower = wm - DRIFT_CHUNK_STD_K * wv;
	if (ref->chunk_thr.w_lower < 0) /* Wasserstein's lower limit */
		ref->chunk_thr.w_lower = 0;
	ref->chunk_thr.w_upper = wm + DRIFT_CHUNK_STD_K * wv;
out:
	free(buf);
	return rc;
}

int drift_ref_numeric(struct drift_ref *ref, const double *values, size_t n, uint64_t seed)
{
	struct sample_reservoir res = {0};
	size_t keep = n < SAMPLE_REF_MAX ? n : SAMPLE_REF_MAX;
	int rc = 0;

	memset(ref, 0, sizeof(*ref));
	ref->kind = DRIFT_NUMERIC;
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(values[i])) {
			rc = -EINVAL;
			goto out;
		}
	}
	ref->sorted = malloc((keep ? keep : 1) * sizeof(*ref->sorted));
	if (!ref->sorted) {
		rc = -ENOMEM;
		goto out;
	}
	if (n > SAMPLE_REF_MAX) {
		rc = sample_reservoir_init(&res, SAMPLE_REF_MAX, seed);
		for (size_t i = 0; rc == 0 && i < n; i++)
			rc = sample_reservoir_add(&res, values[i]);
		if (rc < 0)
			goto out;
		memcpy(ref->sorted, res.values, keep * sizeof(*ref->sorted));
	} else if (n > 0) {
		memcpy(ref->sorted, values, n * sizeof(*ref->sorted));
	}
	rc = sample_sort(ref->sorted, keep);
	if (rc < 0)
		goto out;
	ref->n = keep;
	ref_numeric_finish(ref);
	rc = ref_chunk_thresholds(ref, values, n);
out:
	sample_reservoir_fini(&res);
	if (rc < 0)
		drift_ref_fini(ref);
	return rc;
}

/* Ranks ref->cats and derives the cell proportions, plain and floored. */
static int ref_categorical_finish(struct drift_ref *ref)
{
	struct sample_cats *t = &ref->cats;
	size_t ncat;
	double total, fsum = 0;
	int rc;

	rc = sample_cats_rank(t, SAMPLE_CATS_TOP);
	if (rc < 0)
		return rc;
	ncat = sample_cats_ncells(t);
	ref->ncells = ncat + 1;
	ref->n = t->total;
	total = (double)t->total;
	for (size_t c = 0; c < ref->ncells; c++) {
		double p = 0;

		if (c < ncat && total > 0)
			p = (double)sample_cats_cell_count(t, c) / total;
		ref->cell_prop[c] = p;
		ref->cell_prop_floor[c] = p > DRIFT_PROP_FLOOR ? p : DRIFT_PROP_FLOOR;
		fsum += ref->cell_prop_floor[c];
	}
	for (size_t c = 0; c < ref->ncells; c++)
		ref->cell_prop_floor[c] /= fsum;
	return 0;
}

/* Deep copy through the encoding: one code path to trust for both. */
static int cats_copy(struct sample_cats *dst, const struct sample_cats *src)
{
	size_t cap = sample_cats_encoded_size(src), len;
	uint8_t *buf = malloc(cap);
	int rc = -ENOMEM;

	sample_cats_init(dst, 0);
	if (!buf)
		goto out;
	rc = sample_cats_encode(src, buf, cap, &len);
	if (rc < 0)
		goto out;
	/* Decoding re-initialises dst. A table that does not survive its
	 * own encoding (a hand-edited struct) is the caller's bad input. */
	rc = sample_cats_decode(dst, buf, len);
	if (rc == -EPROTO)
		rc = -EINVAL;
out:
	free(buf);
	return rc;
}

int drift_ref_categorical(struct drift_ref *ref, const struct sample_cats *counts)
{
	int rc;

	memset(ref, 0, sizeof(*ref));
	ref->kind = DRIFT_CATEGORICAL;
	rc = cats_copy(&ref->cats, counts);
	if (rc == 0)
		rc = ref_categorical_finish(ref);
	if (rc < 0)
		drift_ref_fini(ref);
	return rc;
}

int drift_ref_categorical_values(struct drift_ref *ref, const char *const *values, size_t n)
{
	int rc = 0;

	memset(ref, 0, sizeof(*ref));
	ref->kind = DRIFT_CATEGORICAL;
	sample_cats_init(&ref->cats, 0);
	for (size_t i = 0; i < n; i++) {
		rc = sample_cats_add(&ref->cats, values[i], strlen(values[i]), 1);
		if (rc < 0)
			goto out;
	}
	rc = ref_categorical_finish(ref);
out:
	if (rc < 0)
		drift_ref_fini(ref);
	return rc;
}

int drift_ref_encode(const struct drift_ref *ref, uint8_t **out, size_t *len)
{
	struct bytes_writer w;
	size_t cap, clen = 0;
	uint8_t *buf;
	int rc = 0;

	*out = NULL;
	if (ref->kind == DRIFT_NUMERIC)
		cap = 2 + 2 * BYTES_VARINT_MAX + (size_t)ref->n * 8 + 3 * 8;
	else
		cap = 2 + sample_cats_encoded_size(&ref->cats);
	buf = malloc(cap);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	bytes_writer_init(&w, buf, cap);
	bytes_put_u8(&w, ref->kind == DRIFT_NUMERIC && ref->chunk_thr.set ? REF_VERSION_CHUNKS
	                                                                  : REF_VERSION);
	bytes_put_u8(&w, (uint8_t)ref->kind);
	if (ref->kind == DRIFT_NUMERIC) {
		bytes_put_varint(&w, ref->n);
		for (uint64_t i = 0; i < ref->n; i++)
			bytes_put_f64(&w, ref->sorted[i]);
		if (ref->chunk_thr.set) {
			bytes_put_varint(&w, ref->chunk_thr.chunks);
			bytes_put_f64(&w, ref->chunk_thr.ks_upper);
			bytes_put_f64(&w, ref->chunk_thr.w_lower);
			bytes_put_f64(&w, ref->chunk_thr.w_upper);
		}
	} else {
		rc = sample_cats_encode(&ref->cats, buf + w.len, cap - w.len, &clen);
	}
	/* cap is computed to fit: either failure is a broken invariant. */
	assert(rc == 0 && !w.overflow);
	if (rc < 0 || w.overflow) {
		rc = rc < 0 ? rc : -ENOSPC;
		goto out;
	}
	*len = w.len + clen;
	*out = buf;
	buf = NULL;
out:
	free(buf);
	return rc;
}

int drift_ref_decode(struct drift_ref *ref, const uint8_t *buf, size_t len)
{
	struct bytes_reader r;
	uint8_t kind, version;
	uint64_t n;
	int rc = -EPROTO;

	memset(ref, 0, sizeof(*ref));
	bytes_reader_init(&r, buf, len);
	version = bytes_get_u8(&r);
	kind = bytes_get_u8(&r);
	if (r.err || (version != REF_VERSION && version != REF_VERSION_CHUNKS))
		goto out;
	if (version == REF_VERSION_CHUNKS && kind != DRIFT_NUMERIC)
		goto out;
	if (kind == DRIFT_CATEGORICAL) {
		ref->kind = DRIFT_CATEGORICAL;
		rc = sample_cats_decode(&ref->cats, buf + r.pos, len - r.pos);
		if (rc == 0)
			rc = ref_categorical_finish(ref);
		goto out;
	}
	if (kind != DRIFT_NUMERIC)
		goto out;
	ref->kind = DRIFT_NUMERIC;
	n = bytes_get_varint(&r);
	if (r.err || n > SAMPLE_REF_MAX || bytes_remaining(&r) < n * 8 ||
	    (version == REF_VERSION && bytes_remaining(&r) != n * 8))
		goto out;
	ref->sorted = malloc((n ? (size_t)n : 1) * sizeof(*ref->sorted));
	if (!ref->sorted) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		double v = bytes_get_f64(&r);

		if (!isfinite(v) || (i > 0 && v < ref->sorted[i - 1]))
			goto out;
		ref->sorted[i] = v;
	}
	if (version == REF_VERSION_CHUNKS) {
		struct drift_chunk_thr *t = &ref->chunk_thr;
		uint64_t chunks = bytes_get_varint(&r);

		t->ks_upper = bytes_get_f64(&r);
		t->w_lower = bytes_get_f64(&r);
		t->w_upper = bytes_get_f64(&r);
		/* what ref_chunk_thresholds can produce, and nothing after */
		if (r.err || bytes_remaining(&r) != 0 || n == 0 || chunks < DRIFT_CHUNK_COUNT ||
		    chunks >= 2 * DRIFT_CHUNK_COUNT || !(t->ks_upper >= 0 && t->ks_upper <= 1) ||
		    !(t->w_lower >= 0) || !(t->w_upper >= t->w_lower) || !isfinite(t->w_upper))
			goto out;
		t->chunks = (uint32_t)chunks;
		t->set = true;
	}
	ref->n = n;
	ref_numeric_finish(ref);
	rc = 0;
out:
	if (rc < 0)
		drift_ref_fini(ref);
	return rc;
}

/* ---- data quality ------------------------------------------------------ */

bool drift_out_of_range(const struct drift_ref *ref, double v)
{
	if (ref->kind != DRIFT_NUMERIC || ref->n == 0)
		return false;
	return v < ref->min || v > ref->max;
}

bool drift_is_new_category(const struct drift_ref *ref, const char *name, size_t len)
{
	if (ref->kind != DRIFT_CATEGORICAL || ref->n == 0)
		return false;
	return sample_cats_cell(&ref->cats, name, len) < 0;
}

int drift_ref_cell(const struct drift_ref *ref, const char *name, size_t len)
{
	int32_t c;

	if (ref->kind != DRIFT_CATEGORICAL)
		return -1;
	c = sample_cats_cell(&ref->cats, name, len);
	return c < 0 ? (int)ref->ncells - 1 : (int)c;
}

/* ---- results ----------------------------------------------------------- */

/* Picks the method and threshold for a feature; -EINVAL if the method
 * does not apply to the kind. */
static int resolve_method(const struct drift_ref *ref, const struct drift_opts *opts,
                          enum drift_method *method, double *threshold)
{
	enum drift_method m = opts ? opts->method : DRIFT_METHOD_DEFAULT;
	double t = opts ? opts->threshold : 0;
	bool small = ref->n <= DRIFT_SMALL_REF, ok;

	if (m == DRIFT_METHOD_DEFAULT && opts && opts->preset == DRIFT_PRESET_NANNYML)
		m = DRIFT_METHOD_JS;
	if (m == DRIFT_METHOD_DEFAULT) {
		if (ref->kind == DRIFT_NUMERIC)
			m = small ? DRIFT_METHOD_KS : DRIFT_METHOD_WASSERSTEIN;
		else
			m = small ? DRIFT_METHOD_CHI2 : DRIFT_METHOD_JS;
	}
	switch (m) {
	case DRIFT_METHOD_KS:
	case DRIFT_METHOD_WASSERSTEIN:
	case DRIFT_METHOD_ENERGY:
	case DRIFT_METHOD_MANNWHITNEY:
	case DRIFT_METHOD_WELCH:
	case DRIFT_METHOD_ANDERSON:
	case DRIFT_METHOD_CVM:
		ok = ref->kind == DRIFT_NUMERIC;
		break;
	case DRIFT_METHOD_CHI2:
	case DRIFT_METHOD_Z:
	case DRIFT_METHOD_FISHER:
		ok = ref->kind == DRIFT_CATEGORICAL;
		break;
	case DRIFT_METHOD_PSI:
	case DRIFT_METHOD_JS:
	case DRIFT_METHOD_HELLINGER:
	case DRIFT_METHOD_LINF:
	case DRIFT_METHOD_TVD:
	case DRIFT_METHOD_KL:
		ok = true;
		break;
	default:
		ok = false;
		break;
	}
	if (!(t > 0) || !isfinite(t))
		t = drift_method_default_threshold(m);
	*method = m;
	*threshold = t;
	return ok ? 0 : -EINVAL;
}

/* The distances of proportions p (reference) and q (window) over k bins or
 * cells. KL is KL(ref || cur) on proportions floored at DRIFT_PROP_FLOOR
 * (finite where a bin is empty), the others on the plain proportions. */
static void dists(const double *p, const double *q, size_t k, struct drift_result *r)
{
	double pf[DRIFT_MAX_CELLS], qf[DRIFT_MAX_CELLS];

	r->hellinger = stats_hellinger(p, q, k);
	r->linf = stats_linf(p, q, k);
	r->tvd = stats_tvd(p, q, k);
	for (size_t i = 0; i < k; i++) {
		pf[i] = p[i] > DRIFT_PROP_FLOOR ? p[i] : DRIFT_PROP_FLOOR;
		qf[i] = q[i] > DRIFT_PROP_FLOOR ? q[i] : DRIFT_PROP_FLOOR;
	}
	r->kl = stats_kl(pf, qf, k);
}

static const char *const rule_names[] = {
    [DRIFT_THR_DEFAULT] = "default",
    [DRIFT_THR_CONFIGURED] = "configured",
    [DRIFT_THR_REFERENCE_CHUNKS] = "reference_chunks",
};

const char *drift_threshold_rule_name(enum drift_threshold_rule r)
{
	return (unsigned)r < sizeof(rule_names) / sizeof(rule_names[0]) ? rule_names[r] : "default";
}

/* The rule for method m under opts; with REFERENCE_CHUNKS *upper and
 * *lower are the profile's (NannyML's DEFAULT_THRESHOLDS: ks and
 * wasserstein take a StandardDeviationThreshold, the rest a constant). */
static enum drift_threshold_rule threshold_rule(const struct drift_ref *ref,
                                                const struct drift_opts *opts, enum drift_method m,
                                                double *upper, double *lower)
{
	*lower = 0;
	if (opts && opts->threshold > 0 && isfinite(opts->threshold))
		return DRIFT_THR_CONFIGURED;
	if (opts && opts->preset == DRIFT_PRESET_NANNYML && ref->kind == DRIFT_NUMERIC &&
	    ref->chunk_thr.set) {
		if (m == DRIFT_METHOD_KS) {
			*upper = ref->chunk_thr.ks_upper;
			return DRIFT_THR_REFERENCE_CHUNKS;
		}
		if (m == DRIFT_METHOD_WASSERSTEIN) {
			*upper = ref->chunk_thr.w_upper;
			*lower = ref->chunk_thr.w_lower;
			return DRIFT_THR_REFERENCE_CHUNKS;
		}
	}
	return DRIFT_THR_DEFAULT;
}

int drift_resolve(const struct drift_ref *ref, const struct drift_opts *opts,
                  enum drift_method *method, double *threshold)
{
	double lower;
	int rc = resolve_method(ref, opts, method, threshold);

	if (rc == 0)
		(void)threshold_rule(ref, opts, *method, threshold, &lower);
	return rc;
}

enum drift_threshold_rule drift_resolve_rule(const struct drift_ref *ref,
                                             const struct drift_opts *opts, double *lower)
{
	enum drift_method m;
	double t;

	*lower = 0;
	if (resolve_method(ref, opts, &m, &t) < 0)
		return DRIFT_THR_DEFAULT;
	return threshold_rule(ref, opts, m, &t, lower);
}

double drift_result_score_of(const struct drift_result *r, enum drift_method m)
{
	double score;

	/* one switch for both: the live score and a test's other methods */
	switch (m) {
	case DRIFT_METHOD_KS:
		score = r->ks_p;
		break;
	case DRIFT_METHOD_WASSERSTEIN:
		score = r->wasserstein;
		break;
	case DRIFT_METHOD_PSI:
		score = r->psi;
		break;
	case DRIFT_METHOD_JS:
		score = r->js;
		break;
	case DRIFT_METHOD_CHI2:
		score = r->chi2_p;
		break;
	case DRIFT_METHOD_Z:
		score = r->z_p;
		break;
	case DRIFT_METHOD_HELLINGER:
		score = r->hellinger;
		break;
	case DRIFT_METHOD_LINF:
		score = r->linf;
		break;
	case DRIFT_METHOD_TVD:
		score = r->tvd;
		break;
	case DRIFT_METHOD_KL:
		score = r->kl;
		break;
	case DRIFT_METHOD_ENERGY:
		score = r->energy;
		break;
	case DRIFT_METHOD_MANNWHITNEY:
		score = r->mwu_p;
		break;
	case DRIFT_METHOD_WELCH:
		score = r->welch_p;
		break;
	case DRIFT_METHOD_FISHER:
		score = r->fisher_p;
		break;
	case DRIFT_METHOD_ANDERSON:
		score = r->ad_p;
		break;
	case DRIFT_METHOD_CVM:
		score = r->cvm_p;
		break;
	default:
		score = 0;
		break;
	}
	return score;
}

/* Score, flag and severity from the statistics already in r. */
static void result_score(struct drift_result *r)
{
	r->score = drift_result_score_of(r, r->method);
	if (r->threshold_rule == DRIFT_THR_REFERENCE_CHUNKS) {
		/* NannyML's Method.alert: the statistic itself (KS's D, not its
		 * p) outside [lower, upper], both strict */
		r->score = r->method == DRIFT_METHOD_KS ? r->ks : r->wasserstein;
		r->drifted = r->score > r->threshold ||
		             (r->threshold_lower > 0 && r->score < r->threshold_lower);
		if (r->threshold > 0)
			r->severity = r->score / r->threshold;
		else
			r->severity = r->score > 0 ? DRIFT_SEVERITY_MAX : 0;
		if (r->severity > DRIFT_SEVERITY_MAX)
			r->severity = DRIFT_SEVERITY_MAX;
		return;
	}
	if (drift_method_is_pvalue(r->method)) {
		double p = r->score > DRIFT_P_FLOOR ? r->score : DRIFT_P_FLOOR;

		r->drifted = r->score < r->threshold;
		r->severity = r->threshold / p;
		if (r->severity > DRIFT_SEVERITY_MAX)
			r->severity = DRIFT_SEVERITY_MAX;
	} else {
		r->drifted = r->score >= r->threshold;
		r->severity = r->score / r->threshold;
	}
}

/* The common start of a result; true when one side is empty, in which
 * case r is complete (insufficient, zeros, not drifted). */
static bool result_begin(struct drift_result *r, const struct drift_ref *ref, uint64_t n_cur,
                         enum drift_method m, double threshold, const struct drift_opts *opts)
{
	memset(r, 0, sizeof(*r));
	r->kind = ref->kind;
	r->n_ref = ref->n;
	r->n_cur = n_cur;
	r->method = m;
	r->threshold = threshold;
	r->threshold_rule = threshold_rule(ref, opts, m, &r->threshold, &r->threshold_lower);
	r->preset = opts ? opts->preset : DRIFT_PRESET_MLWATCH;
	r->insufficient = ref->n == 0 || n_cur == 0;
	if (r->insufficient) {
		/* p = 1 is "no evidence"; a p of 0 would read as certain drift
		 * to anyone who looks at the column without the flag. */
		if (ref->kind == DRIFT_NUMERIC) {
			r->ks_p = 1;
			r->ks_p_method = stats_ks_p_method_for((size_t)ref->n, (size_t)n_cur);
			r->mwu_p = 1;
			r->welch_p = 1;
			r->ad_p = 1;
			r->cvm_p = 1;
		} else {
			r->chi2_p = 1;
			r->z_p = 1;
			r->fisher_p = 1;
		}
		r->score =
		    drift_method_is_pvalue(m) && r->threshold_rule != DRIFT_THR_REFERENCE_CHUNKS
		        ? 1
		        : 0;
	}
	return r->insufficient;
}

/* Evidently's floored distances of bin shares r and c (k bins): empty
 * bins become 0.0001 without renormalising; PSI sum (r - c) ln(r / c),
 * JS distance in natural log, KL = entropy(r, c); Hellinger, L-infinity
 * and TVD on the plain shares. */
static void evidently_dists(const double *r, const double *c, size_t k, double *rf, double *cf,
                            struct drift_result *out)
{
	out->psi = 0;
	for (size_t i = 0; i < k; i++) {
		rf[i] = r[i] == 0 ? DRIFT_PROP_FLOOR : r[i];
		cf[i] = c[i] == 0 ? DRIFT_PROP_FLOOR : c[i];
		out->psi += (rf[i] - cf[i]) * log(rf[i] / cf[i]);
	}
	/* JS distance scales with sqrt(ln base): base 2 -> natural log. */
	out->js = drift_js(rf, cf, k) * sqrt(log(2.0));
	out->kl = stats_kl(rf, cf, k);
	out->hellinger = stats_hellinger(r, c, k);
	out->linf = stats_linf(r, c, k);
	out->tvd = stats_tvd(r, c, k);
}

/* Evidently's binning: one bin per distinct value of either side while the
 * reference has at most 20, else Sturges over both together. */
static int evidently_numeric(const struct drift_ref *ref, const double *cur, size_t n,
                             struct drift_result *out)
{
	const double *a = ref->sorted;
	size_t na = (size_t)ref->n, distinct = 0, k = 0, cap = na + n + 1;
	double *r = NULL, *c = NULL, *rf = NULL, *cf = NULL, *edges = NULL;
	uint64_t *cnt = NULL;
	int rc = -ENOMEM;

	for (size_t i = 0; i < na; i++)
		distinct += i == 0 || a[i] != a[i - 1];
	if (distinct > 20) {
		size_t nb;

		rc = stats_bin_edges(STATS_BINS_STURGES, a, na, cur, n, &edges, &nb);
		if (rc < 0)
			goto out;
		cap = nb;
	}
	rc = -ENOMEM;
	r = malloc(cap * sizeof(*r));
	c = malloc(cap * sizeof(*c));
	rf = malloc(cap * sizeof(*rf));
	cf = malloc(cap * sizeof(*cf));
	cnt = malloc(cap * sizeof(*cnt));
	if (!r || !c || !rf || !cf || !cnt)
		goto out;
	if (edges) {
		k = cap;
		stats_hist_sorted(edges, k, a, na, cnt, NULL);
		for (size_t i = 0; i < k; i++)
			r[i] = (double)cnt[i] / (double)na;
		stats_hist_sorted(edges, k, cur, n, cnt, NULL);
		for (size_t i = 0; i < k; i++)
			c[i] = (double)cnt[i] / (double)n;
	} else {
		size_t i = 0, j = 0;

		/* Per value over the union, by a merge walk. */
		while (i < na || j < n) {
			double x = (j == n || (i < na && a[i] <= cur[j])) ? a[i] : cur[j];
			size_t ci = 0, cj = 0;

			while (i < na && a[i] == x) {
				i++;
				ci++;
			}
			while (j < n && cur[j] == x) {
				j++;
				cj++;
			}
			r[k] = (double)ci / (double)na;
			c[k] = (double)cj / (double)n;
			k++;
		}
	}
	evidently_dists(r, c, k, rf, cf, out);
	rc = 0;
out:
	free(edges);
	free(r);
	free(c);
	free(rf);
	free(cf);
	free(cnt);
	return rc;
}

static void evidently_categorical(const uint64_t *rc_, const uint64_t *cc, size_t k, uint64_t n_ref,
                                  uint64_t n, const double *r, const double *c, size_t nused,
                                  struct drift_result *out);

/* Evidently's unique-count switch: a numeric feature with at most 5
 * distinct values over reference and window is tested as categorical
 * (z-test for <= 2 values, else chi-square goodness of fit, for <= 1000
 * reference rows; Jensen-Shannon on the per-value bins above). */
static void evidently_few_values(const struct drift_ref *ref, const double *cur, size_t n,
                                 struct drift_result *out)
{
	const double *a = ref->sorted;
	size_t na = (size_t)ref->n, i = 0, j = 0, k = 0;
	uint64_t rc_[6] = {0}, cc[6] = {0};
	double r[6] = {0}, c[6] = {0};

	while ((i < na || j < n) && k < 6) {
		double x = (j == n || (i < na && a[i] <= cur[j])) ? a[i] : cur[j];

		rc_[k] = cc[k] = 0;
		while (i < na && a[i] == x) {
			i++;
			rc_[k]++;
		}
		while (j < n && cur[j] == x) {
			j++;
			cc[k]++;
		}
		r[k] = (double)rc_[k] / (double)na;
		c[k] = (double)cc[k] / (double)n;
		k++;
	}
	if (k > 5)
		return; /* more than 5 distinct values: stays numeric */
	if (ref->n > DRIFT_SMALL_REF) {
		out->method = DRIFT_METHOD_JS; /* on the per-value bins already */
		return;
	}
	if (k == 2)
		stats_ztest_2prop(rc_[0], na, cc[0], n, &out->z, &out->z_p);
	else
		out->z_p = 1;
	/* Evidently's chi-square, z p and floors over the k values. */
	{
		double keep_js = out->js, keep_psi = out->psi, keep_kl = out->kl;
		double keep_h = out->hellinger, keep_l = out->linf, keep_t = out->tvd;

		evidently_categorical(rc_, cc, k, na, n, r, c, k, out);
		out->js = keep_js; /* the numeric fields stay the per-value bins' */
		out->psi = keep_psi;
		out->kl = keep_kl;
		out->hellinger = keep_h;
		out->linf = keep_l;
		out->tvd = keep_t;
	}
	/* The threshold stays: KS's default is the p-value tests' too. */
	out->method = k <= 2 ? DRIFT_METHOD_Z : DRIFT_METHOD_CHI2;
}

/* NannyML's binning: Doane's rule on the reference; window values outside
 * its range go to one more bin (reference share 0). JS base 2 and
 * Hellinger without floors; Wasserstein not normalised. */
static int nannyml_numeric(const struct drift_ref *ref, const double *cur, size_t n, double w1,
                           struct drift_result *out)
{
	double *edges = NULL, *r = NULL, *c = NULL;
	uint64_t *cnt = NULL, outside = 0;
	size_t nb, k;
	int rc;

	out->wasserstein = w1;
	rc = stats_bin_edges(STATS_BINS_DOANE, ref->sorted, (size_t)ref->n, NULL, 0, &edges, &nb);
	if (rc < 0)
		goto out;
	rc = -ENOMEM;
	r = calloc(nb + 1, sizeof(*r));
	c = calloc(nb + 1, sizeof(*c));
	cnt = malloc((nb + 1) * sizeof(*cnt));
	if (!r || !c || !cnt)
		goto out;
	stats_hist_sorted(edges, nb, ref->sorted, (size_t)ref->n, cnt, NULL);
	for (size_t i = 0; i < nb; i++)
		r[i] = (double)cnt[i] / (double)ref->n;
	stats_hist_sorted(edges, nb, cur, n, cnt, &outside);
	for (size_t i = 0; i < nb; i++)
		c[i] = (double)cnt[i] / (double)n;
	k = nb;
	if (outside) {
		c[k++] = (double)outside / (double)n; /* r[nb] stays 0 */
	}
	out->js = drift_js(r, c, k);
	out->hellinger = stats_hellinger(r, c, k);
	out->linf = stats_linf(r, c, k);
	out->tvd = stats_tvd(r, c, k);
	rc = 0;
out:
	free(edges);
	free(r);
	free(c);
	free(cnt);
	return rc;
}

int drift_numeric_sorted(const struct drift_ref *ref, const double *cur, size_t n,
                         const struct drift_opts *opts, struct drift_result *out)
{
	uint64_t counts[SAMPLE_BINS] = {0};
	double prop[SAMPLE_BINS];
	enum drift_method m;
	double t, std, w1;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (ref->kind != DRIFT_NUMERIC)
		goto out;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(cur[i]) || (i > 0 && cur[i] < cur[i - 1]))
			goto out;
	rc = resolve_method(ref, opts, &m, &t);
	if (rc < 0 || result_begin(out, ref, n, m, t, opts))
		goto out;
	drift_ks_wasserstein(ref->sorted, (size_t)ref->n, cur, n, &out->ks, &w1);
	if (opts && opts->ks_p_asymptotic && m != DRIFT_METHOD_KS) {
		out->ks_p = stats_ks_p_asymp(out->ks, (size_t)ref->n, n);
		out->ks_p_method = STATS_KS_P_ASYMPTOTIC;
	} else {
		out->ks_p = stats_ks_p(out->ks, (size_t)ref->n, n, &out->ks_p_method);
	}
	std = ref->std > DRIFT_STD_FLOOR ? ref->std : DRIFT_STD_FLOOR;
	out->wasserstein = w1 / std;
	sample_bin_counts(ref->edges, cur, n, counts);
	for (int i = 0; i < SAMPLE_BINS; i++)
		prop[i] = (double)counts[i] / (double)n;
	out->psi = drift_psi(ref->bin_prop, prop, SAMPLE_BINS);
	out->js = drift_js(ref->bin_prop, prop, SAMPLE_BINS);
	dists(ref->bin_prop, prop, SAMPLE_BINS, out);
	bool all = !opts || !opts->verdict_only;
	if (all || m == DRIFT_METHOD_ENERGY)
		out->energy = stats_energy(ref->sorted, (size_t)ref->n, cur, n);
	out->mwu_p = 1;
	rc = all || m == DRIFT_METHOD_MANNWHITNEY
	         ? stats_mannwhitneyu(ref->sorted, (size_t)ref->n, cur, n, &out->mwu_u, &out->mwu_p)
	         : 0;
	if (rc < 0)
		goto out;
	out->welch_p = 1;
	if ((all || m == DRIFT_METHOD_WELCH) && ref->n >= 2 && n >= 2) {
		/* The profile's moments: O(window), not O(reference). */
		double cm, cs, nr = (double)ref->n;

		sample_mean_std(cur, n, &cm, &cs);
		(void)stats_welch_t_moments(
		    ref->mean, ref->std * ref->std * nr / (nr - 1), (size_t)ref->n, cm,
		    cs * cs * (double)n / ((double)n - 1), n, &out->welch_t, &out->welch_p, NULL);
	}
	out->ad_p = 1;
	if (all || m == DRIFT_METHOD_ANDERSON)
		(void)stats_anderson_ksamp(ref->sorted, (size_t)ref->n, cur, n, &out->ad_stat,
		                           &out->ad_p); /* one distinct value in all: 0, p 1 */
	out->cvm_p = 1;
	if ((all || m == DRIFT_METHOD_CVM) && ref->n >= 2 && n >= 2) {
		rc = stats_cvm_2samp(ref->sorted, (size_t)ref->n, cur, n, &out->cvm_t, &out->cvm_p);
		if (rc < 0)
			goto out;
	}
	if (out->preset == DRIFT_PRESET_EVIDENTLY) {
		rc = evidently_numeric(ref, cur, n, out);
		if (rc == 0 && (!opts || opts->method == DRIFT_METHOD_DEFAULT))
			evidently_few_values(ref, cur, n, out);
	} else if (out->preset == DRIFT_PRESET_NANNYML) {
		rc = nannyml_numeric(ref, cur, n, w1, out);
	}
	if (rc < 0)
		goto out;
	result_score(out);
out:
	return rc;
}

int drift_numeric(const struct drift_ref *ref, const double *cur, size_t n,
                  const struct drift_opts *opts, struct drift_result *out)
{
	double *copy = NULL;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		if (!isfinite(cur[i])) {
			rc = -EINVAL;
			goto out;
		}
	}
	copy = malloc((n ? n : 1) * sizeof(*copy));
	if (!copy) {
		rc = -ENOMEM;
		goto out;
	}
	if (n)
		memcpy(copy, cur, n * sizeof(*copy));
	rc = sample_sort(copy, n);
	if (rc == 0)
		rc = drift_numeric_sorted(ref, copy, n, opts, out);
out:
	free(copy);
	return rc;
}

/* Evidently's categorical statistics over the cells in use: chi-square
 * goodness of fit with expected = reference count * n / n_ref (a window
 * category the reference lacks has expected 0: statistic inf, p 0), the
 * z-test's p as 2 (1 - Phi(|z|)), and the floored distances. */
static void evidently_categorical(const uint64_t *rc_, const uint64_t *cc, size_t k, uint64_t n_ref,
                                  uint64_t n, const double *r, const double *c, size_t nused,
                                  struct drift_result *out)
{
	double chi = 0, rf[DRIFT_SPLIT_CELLS], cf[DRIFT_SPLIT_CELLS];
	bool unseen = false;

	for (size_t i = 0; i < k; i++) {
		double e = (double)rc_[i] * (double)n / (double)n_ref, o = (double)cc[i];

		if (rc_[i] + cc[i] == 0)
			continue;
		if (rc_[i] == 0)
			unseen = true;
		else
			chi += (o - e) * (o - e) / e;
	}
	out->chi2_dof = nused > 0 ? (int)nused - 1 : 0;
	if (unseen) {
		out->chi2 = INFINITY;
		out->chi2_p = 0;
	} else {
		out->chi2 = chi;
		out->chi2_p = out->chi2_dof > 0 ? drift_chi2_sf(chi, out->chi2_dof) : 1;
	}
	if (nused == 2)
		out->z_p = 2 * (1 - 0.5 * erfc(-fabs(out->z) / M_SQRT2)); /* 2 (1 - ndtr) */
	evidently_dists(r, c, k, rf, cf, out);
}

/* Evidently's category set is the union of the values either side holds
 * (get_binned_data, _chi_stat_test, get_default_stattest's nunique): the
 * reference's cells in use, then each unseen category of the window
 * (new_counts, split out of the pooled "new" cell), then what is left of
 * that cell (names past the cap or the window's table) as one "other_new".
 * Redoes the default test's choice (z-test for at most two values), the
 * chi-square goodness of fit and the floored distances over that set. */
static void evidently_union(const struct drift_ref *ref, const uint64_t *ref_counts,
                            const uint64_t *counts, size_t ncells, const uint64_t *new_counts,
                            size_t n_new, uint64_t n, bool by_default, enum drift_method resolved,
                            struct drift_result *out)
{
	uint64_t rc_[DRIFT_SPLIT_CELLS], cc[DRIFT_SPLIT_CELLS], left = counts[ncells - 1];
	double r[DRIFT_SPLIT_CELLS], c[DRIFT_SPLIT_CELLS];
	size_t k = 0;

	for (size_t i = 0; i + 1 < ncells; i++) {
		if (ref_counts[i] + counts[i] == 0)
			continue;
		rc_[k] = ref_counts[i];
		cc[k++] = counts[i];
	}
	for (size_t j = 0; j < n_new && j < DRIFT_NEW_CATS_MAX; j++) {
		uint64_t take = new_counts[j] < left ? new_counts[j] : left;

		if (take == 0)
			continue;
		rc_[k] = 0;
		cc[k++] = take;
		left -= take;
	}
	if (left > 0) { /* other_new */
		rc_[k] = 0;
		cc[k++] = left;
	}
	for (size_t i = 0; i < k; i++) {
		r[i] = (double)rc_[i] / (double)ref->n;
		c[i] = (double)cc[i] / (double)n;
	}
	if (by_default && resolved == DRIFT_METHOD_CHI2)
		out->method = k <= 2 ? DRIFT_METHOD_Z : DRIFT_METHOD_CHI2;
	if (k != 2) { /* the z-test and Fisher's need exactly two values */
		out->z = 0;
		out->z_p = 1;
		out->fisher_p = 1;
	}
	evidently_categorical(rc_, cc, k, ref->n, n, r, c, k, out);
}

int drift_categorical(const struct drift_ref *ref, const uint64_t *counts, size_t ncells,
                      const struct drift_opts *opts, struct drift_result *out)
{
	return drift_categorical_split(ref, counts, ncells, NULL, 0, opts, out);
}

int drift_categorical_split(const struct drift_ref *ref, const uint64_t *counts, size_t ncells,
                            const uint64_t *new_counts, size_t n_new, const struct drift_opts *opts,
                            struct drift_result *out)
{
	double prop[DRIFT_MAX_CELLS];
	uint64_t ref_counts[DRIFT_MAX_CELLS] = {0}, n = 0;
	size_t used[2], nused = 0;
	enum drift_method m;
	double t;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (ref->kind != DRIFT_CATEGORICAL || ncells != ref->ncells || ncells == 0 ||
	    n_new > DRIFT_NEW_CATS_MAX || (n_new && !new_counts))
		goto out;
	for (size_t c = 0; c < ncells; c++) {
		if (n > UINT64_MAX - counts[c])
			goto out;
		n += counts[c];
	}
	rc = resolve_method(ref, opts, &m, &t);
	if (rc < 0 || result_begin(out, ref, n, m, t, opts))
		goto out;
	/* The reference's own counts, not its shares: the question is whether
	 * two samples share one distribution (a test of homogeneity), so the
	 * reference's sampling noise counts too, and a cell neither side uses
	 * ("new" when nothing is new) is no degree of freedom. */
	for (size_t c = 0; c + 1 < ncells; c++)
		ref_counts[c] = sample_cats_cell_count(&ref->cats, c);
	for (size_t c = 0; c < ncells; c++) {
		prop[c] = (double)counts[c] / (double)n;
		if (ref_counts[c] + counts[c] > 0 && nused++ < 2)
			used[nused - 1] = c;
	}
	stats_chi2_contingency(ref_counts, counts, ncells, out->preset == DRIFT_PRESET_NANNYML,
	                       &out->chi2, &out->chi2_p, &out->chi2_dof);
	out->z_p = 1;
	out->fisher_p = 1;
	if (nused == 2) {
		stats_ztest_2prop(ref_counts[used[0]], ref->n, counts[used[0]], n, &out->z,
		                  &out->z_p);
		out->fisher_p = stats_fisher_exact(ref_counts[used[0]], ref_counts[used[1]],
		                                   counts[used[0]], counts[used[1]]);
	}
	/* The default's p-value test is the z-test when two cells are in use
	 * (Evidently's choice; its p equals the 1-dof contingency p). */
	if ((!opts || opts->method == DRIFT_METHOD_DEFAULT) && m == DRIFT_METHOD_CHI2 &&
	    (nused == 2 || (nused < 2 && out->preset == DRIFT_PRESET_EVIDENTLY)))
		out->method = DRIFT_METHOD_Z;
	out->psi = drift_psi(ref->cell_prop_floor, prop, ncells);
	out->js = drift_js(ref->cell_prop, prop, ncells);
	dists(ref->cell_prop, prop, ncells, out);
	if (out->preset == DRIFT_PRESET_EVIDENTLY)
		evidently_union(ref, ref_counts, counts, ncells, new_counts, n_new, n,
		                !opts || opts->method == DRIFT_METHOD_DEFAULT, m, out);
	result_score(out);
out:
	return rc;
}

int drift_categorical_values(const struct drift_ref *ref, const char *const *values, size_t n,
                             const struct drift_opts *opts, struct drift_result *out)
{
	uint64_t counts[DRIFT_MAX_CELLS] = {0}, new_counts[DRIFT_NEW_CATS_MAX] = {0};
	const char *new_names[DRIFT_NEW_CATS_MAX];
	size_t n_new = 0;

	memset(out, 0, sizeof(*out));
	if (ref->kind != DRIFT_CATEGORICAL)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		int cell = drift_ref_cell(ref, values[i], strlen(values[i]));
		size_t j = 0;

		counts[cell]++;
		if ((size_t)cell + 1 != ref->ncells)
			continue;
		/* an unseen value: its own count, the first DRIFT_NEW_CATS_MAX */
		while (j < n_new && strcmp(new_names[j], values[i]) != 0)
			j++;
		if (j == n_new && n_new < DRIFT_NEW_CATS_MAX)
			new_names[n_new++] = values[i];
		if (j < n_new)
			new_counts[j]++;
	}
	return drift_categorical_split(ref, counts, ref->ncells, new_counts, n_new, opts, out);
}
