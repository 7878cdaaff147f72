/* kolmogorov: the finite-n one-sample KS distribution (see kolmogorov.h). */
#include "stats/kolmogorov.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KS_PI      3.14159265358979323846
#define KS_LOG_2PI 1.83787706640934548356
#define KS_SQRT2PI 2.50662827463100050242
#define KS_SQRT3   1.73205080756887729353
#define KS_EP128   0x1p128
#define KS_EM128   0x1p-128
/* exp() below this is 0 (scipy's _MIN_LOG). */
#define KS_MIN_LOG (-708.0)
/* cephes MINLOG, log(2^-1075): smirnov's sf is 0 below it. */
#define KS_CEPHES_MINLOG (-7.451332191019412076235e2)
/* Above this n scipy.special.smirnov uses its closed approximation. */
#define KS_SMIRNOV_MAX_N 1000000

static double clip01(double p)
{
	return p < 0 ? 0 : (p > 1 ? 1 : p);
}

/* log(n! / n^n) by Stirling with n log n taken out up front (scipy's
 * _log_nfactorial_div_n_pow_n), for n > 140 where the product underflows. */
static double log_nfact_div_npown(double n)
{
	static const double c[] = {-2.955065359477124183e-2,  6.4102564102564102564e-3,
	                           -1.9175269175269175269e-3, 8.4175084175084175084e-4,
	                           -5.952380952380952381e-4,  7.9365079365079365079e-4,
	                           -2.7777777777777777778e-3, 8.3333333333333333333e-2};
	double rn = 1.0 / n, x = rn / n, poly = 0;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		poly = poly * x + c[i];
	return log(n) / 2 - n + KS_LOG_2PI / 2 + rn * poly;
}

/* C = A B for m x m row-major matrices. */
static void matmul(const double *A, const double *B, double *C, int m)
{
	memset(C, 0, (size_t)m * (size_t)m * sizeof(*C));
	for (int i = 0; i < m; i++)
		for (int l = 0; l < m; l++) {
			double a = A[i * m + l];

			if (a == 0)
				continue;
			for (int j = 0; j < m; j++)
				C[i * m + j] += a * B[l * m + j];
		}
}

/* P(D_n <= d) by Durbin's matrix: the k-th diagonal entry of H^n times
 * n!/n^n, with H (2k-1 square, k = ceil(n d)) and its powers rescaled by
 * 2^128 steps so nothing overflows (Marsaglia, Tsang and Wang 2003; scipy's
 * _kolmogn_DMTW). NaN when the matrices cannot be allocated. */
static double kolmogn_dmtw_cdf(int64_t n, double d)
{
	double nd, h, fac = 1, tt, p = NAN;
	double *H = NULL, *Hp = NULL, *T = NULL, *v = NULL, *w = NULL;
	int k, m;
	int64_t nn, expnt = 0, hexpnt = 0;
	size_t mm;

	if (d >= 1.0)
		return 1;
	nd = (double)n * d;
	if (nd <= 0.5)
		return 0;
	k = (int)ceil(nd);
	h = k - nd;
	m = 2 * k - 1;
	mm = (size_t)m * (size_t)m;
	H = calloc(mm, sizeof(*H));
	Hp = calloc(mm, sizeof(*Hp));
	T = malloc(mm * sizeof(*T));
	v = malloc((size_t)m * sizeof(*v));
	w = malloc((size_t)m * sizeof(*w));
	if (!H || !Hp || !T || !v || !w)
		goto out;
	/* v[j-1] = (1 - h^j) / j!, w[j-1] = 1 / (j-1)!. */
	for (int j = 1; j <= m; j++) {
		w[j - 1] = fac;
		fac /= j;
		v[j - 1] = (1.0 - pow(h, j)) * fac;
	}
	tt = pow(fmax(2 * h - 1.0, 0), m) - 2 * pow(h, m);
	v[m - 1] = (1.0 + tt) * fac;
	for (int i = 1; i < m; i++)
		for (int r = i - 1; r < m; r++)
			H[r * m + i] = w[r - (i - 1)];
	for (int r = 0; r < m; r++)
		H[r * m] = v[r];
	for (int c = 0; c < m; c++)
		H[(m - 1) * m + c] = v[m - 1 - c];
	for (int i = 0; i < m; i++)
		Hp[i * m + i] = 1;
	for (nn = n; nn > 0; nn /= 2) {
		double *swap;

		if (nn % 2) {
			matmul(Hp, H, T, m);
			swap = Hp;
			Hp = T;
			T = swap;
			expnt += hexpnt;
		}
		matmul(H, H, T, m);
		swap = H;
		H = T;
		T = swap;
		hexpnt *= 2;
		if (fabs(H[(k - 1) * m + (k - 1)]) > KS_EP128) {
			for (size_t i = 0; i < mm; i++)
				H[i] /= KS_EP128;
			hexpnt += 128;
		}
	}
	p = Hp[(k - 1) * m + (k - 1)];
	/* times n!/n^n, one factor at a time, rescaling before underflow */
	for (int64_t i = 1; i <= n; i++) {
		p = (double)i * p / (double)n;
		if (fabs(p) < KS_EM128) {
			p *= KS_EP128;
			expnt -= 128;
		}
	}
	if (expnt != 0)
		p = ldexp(p, (int)(expnt < -100000 ? -100000 : expnt));
	p = clip01(p);
out:
	free(H);
	free(Hp);
	free(T);
	free(v);
	free(w);
	return p;
}

/* Row i's live column range in Pomeranz's recursion (scipy's
 * _pomeranz_compute_j1j2). */
static void pomeranz_j1j2(int64_t i, int64_t n, int64_t ll, int ceilf, int roundf, int64_t *j1,
                          int64_t *j2)
{
	int64_t a, b;

	if (i == 0) {
		a = -ll - ceilf - 1;
		b = ll + ceilf - 1;
	} else {
		int64_t d2 = (i + 1) / 2, m2 = (i + 1) % 2;

		if (m2 == 0) {
			if (d2 == n + 1) {
				a = n - ll - ceilf - 1;
				b = n + ll + ceilf - 1;
			} else {
				a = d2 - 1 - ll - roundf - 1;
				b = d2 + ll - 1 + ceilf - 1;
			}
		} else {
			a = d2 - 1 - ll - 1;
			b = d2 + ll + roundf - 1;
		}
	}
	*j1 = a + 2 > 0 ? a + 2 : 0;
	*j2 = b < n ? b : n;
}

/* P(D_n <= x) by Pomeranz's recursion (1974; scipy's _kolmogn_Pomeranz):
 * 2n + 1 convolutions of a short row with Poisson-like weights, n! at the
 * end. Used for n <= 140. */
static double kolmogn_pomeranz_cdf(int64_t n, double x)
{
	double t = (double)n * x, f, g, ans;
	int64_t ll = (int64_t)floor(t), npw, j1, j2, v0s = 0, v1s = 0, expnt = 0;
	int ceilf, roundf;
	double *buf, *gp, *tgp, *omgp, *V0, *V1, *conv;

	f = t - (double)ll;
	g = fmin(f, 1.0 - f);
	ceilf = f > 0;
	roundf = f > 0.5;
	npw = 2 * (ll + 1);
	buf = calloc((size_t)npw * 6, sizeof(*buf));
	if (!buf)
		return NAN;
	gp = buf;
	tgp = gp + npw;
	omgp = tgp + npw;
	V0 = omgp + npw;
	V1 = V0 + npw;
	conv = V1 + npw;
	gp[0] = tgp[0] = omgp[0] = 1;
	for (int64_t m = 1; m < npw; m++) {
		gp[m] = gp[m - 1] * (g / (double)n) / (double)m;
		tgp[m] = tgp[m - 1] * (2 * g / (double)n) / (double)m;
		omgp[m] = omgp[m - 1] * ((1 - 2 * g) / (double)n) / (double)m;
	}
	V1[0] = 1;
	pomeranz_j1j2(0, n, ll, ceilf, roundf, &j1, &j2);
	for (int64_t i = 1; i < 2 * n + 2; i++) {
		int64_t k1 = j1, ln2, s;
		double *sw = V0, vmax = 0;
		const double *pw;

		V0 = V1;
		V1 = sw;
		s = v0s;
		v0s = v1s;
		v1s = s;
		memset(V1, 0, (size_t)npw * sizeof(*V1));
		pomeranz_j1j2(i, n, ll, ceilf, roundf, &j1, &j2);
		pw = (i == 1 || i == 2 * n + 1) ? gp : (i % 2 ? tgp : omgp);
		ln2 = j2 - k1 + 1;
		if (ln2 <= 0)
			continue;
		/* conv[c] = sum_{a+b=c} V0[k1-v0s+a] pw[b], a, b < ln2; only the
		 * entries j1-k1 .. j2-k1 are kept. */
		for (int64_t c = j1 - k1; c <= j2 - k1; c++) {
			double acc = 0;

			for (int64_t b = 0; b < ln2 && b <= c; b++) {
				int64_t a = c - b, idx = k1 - v0s + a;

				if (a < ln2 && idx >= 0 && idx < npw)
					acc += V0[idx] * pw[b];
			}
			conv[c - (j1 - k1)] = acc;
		}
		for (int64_t c = 0; c < j2 - j1 + 1; c++) {
			V1[c] = conv[c];
			if (conv[c] > vmax)
				vmax = conv[c];
		}
		if (vmax > 0 && vmax < KS_EM128) {
			for (int64_t c = 0; c < npw; c++)
				V1[c] *= KS_EP128;
			expnt -= 128;
		}
		v1s = v0s + j1 - k1;
	}
	ans = (n - v1s >= 0 && n - v1s < npw) ? V1[n - v1s] : 0;
	for (int64_t m = 1; m <= n; m++) {
		if (fabs(ans) > KS_EP128) {
			ans *= KS_EM128;
			expnt += 128;
		}
		ans *= (double)m;
	}
	if (expnt != 0)
		ans = ldexp(ans, (int)expnt);
	free(buf);
	return clip01(ans);
}

/* The Pelz-Good (1976) approximation to P(D_n <= x): the Li-Chien and
 * Korolyuk expansion K0 + K1/sqrt(n) + K2/n + K3/n^1.5 with each K turned
 * by Jacobi's theta identity into a series that converges for small z
 * (scipy's _kolmogn_PelzGood, not clipped). */
static double kolmogn_pelzgood_cdf(int64_t n, double x)
{
	double z, z2, z3, z4, z6, qlog, q, k1a, k1b, k2a, k2b, k2c, k3a, k3b, k3c, k3d;
	double K[4] = {0, 0, 0, 0}, k2extra = 0, k3extra = 0, sqrt3z, sum;
	int64_t maxk;

	if (x <= 0.0)
		return 0;
	if (x >= 1.0)
		return 1;
	z = sqrt((double)n) * x;
	z2 = z * z;
	z3 = z2 * z;
	z4 = z2 * z2;
	z6 = z4 * z2;
	qlog = -KS_PI * KS_PI / 8 / z2;
	if (qlog < KS_MIN_LOG)
		return 0;
	q = exp(qlog);
	k1a = -z2;
	k1b = KS_PI * KS_PI / 4;
	k2a = 6 * z6 + 2 * z4;
	k2b = (2 * z4 - 5 * z2) * KS_PI * KS_PI / 4;
	k2c = pow(KS_PI, 4) * (1 - 2 * z2) / 16;
	k3d = pow(KS_PI, 6) * (5 - 30 * z2) / 64;
	k3c = pow(KS_PI, 4) * (-60 * z2 + 212 * z4) / 16;
	k3b = KS_PI * KS_PI * (135 * z4 - 96 * z6) / 4;
	k3a = -30 * z6 - 90 * pow(z, 8);
	maxk = (int64_t)ceil(16 * z / KS_PI);
	/* Horner over odd m = 2k - 1 of c_i q^(m^2) */
	for (int64_t k = maxk; k > 0; k--) {
		double m = (double)(2 * k - 1), m2 = m * m, m4 = m2 * m2, m6 = m4 * m2;
		double qp = pow(q, (double)(8 * k));

		K[0] = K[0] * qp + 1.0;
		K[1] = K[1] * qp + (k1a + k1b * m2);
		K[2] = K[2] * qp + (k2a + k2b * m2 + k2c * m4);
		K[3] = K[3] * qp + (k3a + k3b * m2 + k3c * m4 + k3d * m6);
	}
	for (int i = 0; i < 4; i++)
		K[i] = K[i] * q * KS_SQRT2PI;
	K[0] /= z;
	K[1] /= 6 * z4;
	K[2] /= 72 * pow(z, 7);
	K[3] /= 6480 * pow(z, 10);
	/* the sums over all integers k of (pi k)^2 q^(k^2) terms */
	q = exp(-KS_PI * KS_PI / 2 / z2);
	sqrt3z = KS_SQRT3 * z;
	for (int64_t k = maxk; k > 0; k--) {
		double ks = (double)k, ks2 = ks * ks, kspi = KS_PI * ks, qk = pow(q, ks2);

		k2extra += ks2 * qk;
		k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qk;
	}
	K[2] += k2extra * (KS_PI * KS_PI * KS_SQRT2PI / (-36 * z3));
	K[3] += k3extra * (KS_PI * KS_PI * KS_SQRT2PI / (216 * z6));
	K[1] /= pow((double)n, 0.5);
	K[2] /= (double)n;
	K[3] /= pow((double)n, 1.5);
	sum = 0;
	for (int i = 0; i < 4; i++)
		sum += K[i];
	return sum;
}

/* n x split exactly into floor and fraction (fma recovers the product's
 * rounding error), so 1 - x - v/n keeps its precision near 0. */
static void split_nx(int64_t n, double x, double *nxfl, double *alpha)
{
	double hi = (double)n * x, lo = fma((double)n, x, -hi), fl = floor(hi);

	*alpha = (hi - fl) + lo;
	if (*alpha < 0) {
		fl -= 1;
		*alpha += 1;
	} else if (*alpha >= 1) {
		fl += 1;
		*alpha -= 1;
	}
	*nxfl = fl;
}

double stats_smirnov_sf(int64_t n, double x)
{
	double nxfl, alpha, nd = (double)n, sum = 0, scale = -INFINITY, logc = 0, logc_err = 0;
	double prev = -INFINITY;
	int64_t last;

	if (isnan(x) || n < 1 || x < 0 || x > 1)
		return NAN;
	if (n == 1)
		return 1 - x;
	if (x == 0)
		return 1;
	if (x == 1)
		return 0;
	split_nx(n, x, &nxfl, &alpha);
	if (nxfl == 0 || (nxfl == 1 && alpha == 0))
		return 1 - x * pow(1 + x, nd - 1);
	if (-2 * nd * x * x < KS_CEPHES_MINLOG)
		return 0;
	if (nxfl >= nd - 1)
		return pow(1 - x, nd);
	if (n > KS_SMIRNOV_MAX_N)
		return exp(-pow(6 * nd * x + 1.0, 2) / 18.0 / nd);
	/* Birnbaum-Tingey: x sum_{v < n(1-x)} C(n,v) (x + v/n)^(v-1)
	 * (1 - x - v/n)^(n-v), every term positive; summed in logs with a
	 * running scale, stopping once past the peak a term no longer counts. */
	last = n - (int64_t)nxfl - 1;
	for (int64_t v = 0; v <= last; v++) {
		double b1 = ((nxfl + (double)v) + alpha) / nd;
		/* log(1 - b1) by log1p: its error scales with b1, small where
		 * the terms count, as it is multiplied by n - v (up to 10^5) */
		double lt = logc + (double)(v - 1) * log(b1) + (double)(n - v) * log1p(-b1);
		double y, tsum;

		if (v == last) /* 1 - b1 is tiny here: from the exact remainder */
			lt = logc + (double)(v - 1) * log(b1) +
			     (double)(n - v) * log(((nd - (double)v - nxfl) - alpha) / nd);
		if (lt > scale) {
			sum = sum * exp(scale - lt) + 1;
			scale = lt;
		} else {
			sum += exp(lt - scale);
		}
		if (lt < prev && lt - scale < -50)
			break;
		prev = lt;
		/* log C(n, v+1), summed with Kahan's compensation: the running
		 * log grows to thousands and plain sums would lose 1e-9 */
		y = log((nd - (double)v) / ((double)v + 1)) - logc_err;
		tsum = logc + y;
		logc_err = (tsum - logc) - y;
		logc = tsum;
	}
	return clip01(x * sum * exp(scale));
}

/* kstwo.sf for n >= 1 and 1/(2n) < x < 1 (scipy's _kolmogn, cdf=False). */
static double kolmogn_sf(int64_t n, double x)
{
	double nd = (double)n, t = nd * x, nxsq, cdf;

	if (x >= 1.0)
		return 0;
	if (x <= 0.0)
		return 1;
	if (t <= 1.0) { /* Ruben-Gambino: 1/(2n) <= x <= 1/n */
		double prob;

		if (t <= 0.5)
			return 1;
		if (n <= 140) {
			prob = 1;
			for (int64_t i = 1; i <= n; i++)
				prob *= (double)i * (1.0 / nd) * (2 * t - 1);
		} else {
			prob = exp(log_nfact_div_npown(nd) + nd * log(2 * t - 1));
		}
		return clip01(1.0 - prob);
	}
	if (t >= nd - 1) /* Ruben-Gambino */
		return clip01(2 * pow(1.0 - x, nd));
	if (x >= 0.5) /* exact: twice the one-sided tail */
		return clip01(2 * stats_smirnov_sf(n, x));
	nxsq = t * x;
	if (n <= 140) {
		if (nxsq <= 0.754693)
			return clip01(1.0 - kolmogn_dmtw_cdf(n, x));
		if (nxsq <= 4)
			return clip01(1.0 - kolmogn_pomeranz_cdf(n, x));
		return clip01(2 * stats_smirnov_sf(n, x));
	}
	if (nxsq >= 370.0)
		return 0;
	if (nxsq >= 2.2)
		return clip01(2 * stats_smirnov_sf(n, x));
	if (n <= 100000 && nd * pow(x, 1.5) <= 1.4)
		cdf = kolmogn_dmtw_cdf(n, x);
	else
		cdf = kolmogn_pelzgood_cdf(n, x);
	return clip01(1.0 - cdf);
}

double stats_kstwo_sf(double x, int64_t n)
{
	/* rv_continuous.sf: support (1/(2n), 1), 1 at and below it, 0 above */
	if (n < 1 || isnan(x))
		return NAN;
	if (x <= 0.5 / (double)n)
		return 1;
	if (x >= 1)
		return 0;
	return kolmogn_sf(n, x);
}
