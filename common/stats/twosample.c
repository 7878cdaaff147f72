/* twosample: two-sample tests of homogeneity (see twosample.h). */
#include "stats/twosample.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "drift.h"

const char *stats_ks_p_method_name(enum stats_ks_p_method m)
{
	return m == STATS_KS_P_EXACT ? "exact" : "asymptotic";
}

enum stats_ks_p_method stats_ks_p_method_for(size_t n, size_t m)
{
	return (n > m ? n : m) <= STATS_KS_EXACT_MAX ? STATS_KS_P_EXACT : STATS_KS_P_ASYMPTOTIC;
}

static int64_t gcd64(int64_t a, int64_t b)
{
	while (b) {
		int64_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/* Floor and ceiling of a / b for b > 0 and any sign of a. */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t ceil_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && a > 0) ? q + 1 : q;
}

/* P(D_{n,n} >= h/n): 2 (C(2n, n-h) - C(2n, n-2h) + ...) / C(2n, n), each
 * term divided by C(2n, n) and nested Horner-like (A0 (1 - A1 (1 - ...)))
 * so nothing cancels. */
static double ks_outside_square(int64_t n, int64_t h)
{
	double P = 0;

	for (int64_t k = n / h; k >= 0; k--) {
		double p1 = 1;

		for (int64_t j = 0; j < h; j++)
			p1 = (double)(n - k * h - j) * p1 / (double)(n + k * h + j + 1);
		P = p1 * (1.0 - P);
	}
	return 2 * P;
}

/* Share of the lattice paths (0,0) -> (m,n) that leave the band
 * |x/m - y/n| < h/lcm (Hodges' inside method, with Viehmann's recursion
 * carrying the outside share directly so it keeps its precision for tiny
 * p). One column of the band is kept; A[] beyond the band reads as 1
 * ("already outside"). A has n + 2 slots. */
static double ks_outer_inside(int64_t m, int64_t n, int64_t g, int64_t h, double *A)
{
	int64_t mg, ng, minj, maxj, curlen;

	if (m < n) {
		int64_t t = m;

		m = n;
		n = t;
	}
	mg = m / g;
	ng = n / g;
	for (int64_t j = 0; j < n + 2; j++)
		A[j] = 1;
	minj = 0;
	maxj = ceil_div(h, mg);
	if (maxj > n + 1)
		maxj = n + 1;
	curlen = maxj - minj;
	for (int64_t j = minj; j < maxj; j++)
		A[j] = 0;
	for (int64_t i = 1; i <= m; i++) {
		int64_t lastminj = minj, lastlen = curlen;
		double val;

		minj = floor_div(ng * i - h, mg) + 1;
		if (minj < 0)
			minj = 0;
		if (minj > n)
			minj = n;
		maxj = ceil_div(ng * i + h, mg);
		if (maxj > n + 1)
			maxj = n + 1;
		if (maxj <= minj)
			return 1.0;
		val = minj == 0 ? 0.0 : 1.0;
		for (int64_t jj = 0; jj < maxj - minj; jj++) {
			int64_t j = jj + minj;

			val = (A[jj + minj - lastminj] * (double)i + val * (double)j) / (double)(i + j);
			A[jj] = val;
		}
		curlen = maxj - minj;
		for (int64_t jj = curlen; jj < lastlen; jj++)
			A[jj] = 1;
	}
	return A[maxj - minj - 1];
}

int stats_ks_p_exact(double d, size_t n, size_t m, double *p)
{
	int64_t nn = (int64_t)n, mm = (int64_t)m, g, lcm, h;
	double *col = NULL, prob;
	int rc = 0;

	*p = 1;
	if (n == 0 || m == 0 || n > STATS_KS_EXACT_MAX || m > STATS_KS_EXACT_MAX || !(d >= 0))
		return -EINVAL;
	g = gcd64(nn, mm);
	lcm = (nn / g) * mm;
	/* np.round: half to even, which nearbyint does in the default mode. */
	h = (int64_t)nearbyint(d * (double)lcm);
	if (h == 0)
		goto out;
	if (n == m) {
		prob = ks_outside_square(nn, h);
	} else {
		size_t big = n > m ? n : m;

		col = malloc((big + 2) * sizeof(*col));
		if (!col) {
			rc = -ENOMEM;
			goto out;
		}
		prob = ks_outer_inside(nn, mm, g, h, col);
	}
	*p = prob < 0 ? 0 : (prob > 1 ? 1 : prob);
out:
	free(col);
	return rc;
}

double stats_ks_p(double d, size_t n, size_t m, enum stats_ks_p_method *how)
{
	enum stats_ks_p_method m_ = stats_ks_p_method_for(n, m);
	double p;

	if (n == 0 || m == 0) {
		if (how)
			*how = m_;
		return 1;
	}
	if (m_ == STATS_KS_P_EXACT && stats_ks_p_exact(d, n, m, &p) == 0) {
		if (how)
			*how = STATS_KS_P_EXACT;
		return p;
	}
	if (how)
		*how = STATS_KS_P_ASYMPTOTIC;
	return drift_kstwobign_sf(d * sqrt((double)n * (double)m / ((double)n + (double)m)));
}

void stats_chi2_contingency(const uint64_t *a, const uint64_t *b, size_t k, bool yates,
                            double *stat, double *p, int *dof)
{
	double ra = 0, rb = 0, tot, chi = 0;
	int used = 0;

	for (size_t i = 0; i < k; i++) {
		ra += (double)a[i];
		rb += (double)b[i];
		used += a[i] + b[i] > 0;
	}
	*stat = 0;
	*p = 1;
	*dof = used > 0 ? used - 1 : 0;
	if (*dof == 0 || !(ra > 0) || !(rb > 0))
		return;
	tot = ra + rb;
	for (size_t i = 0; i < k; i++) {
		double col = (double)a[i] + (double)b[i];
		double obs[2] = {(double)a[i], (double)b[i]};
		double rows[2] = {ra, rb};

		if (!(col > 0))
			continue;
		for (int r = 0; r < 2; r++) {
			/* scipy: expected = row * col / total. */
			double e = rows[r] * col / tot, o = obs[r];

			if (yates && *dof == 1) {
				double diff = e - o, mag = fabs(diff) < 0.5 ? fabs(diff) : 0.5;

				o += diff > 0 ? mag : (diff < 0 ? -mag : 0);
			}
			chi += (o - e) * (o - e) / e;
		}
	}
	*stat = chi;
	*p = drift_chi2_sf(chi, (double)*dof);
}

double stats_norm_sf(double x)
{
	return 0.5 * erfc(x / M_SQRT2);
}

void stats_ztest_2prop(uint64_t x1, uint64_t n1, uint64_t x2, uint64_t n2, double *z, double *p)
{
	double p1, p2, P, se;

	*z = 0;
	*p = 1;
	if (n1 == 0 || n2 == 0)
		return;
	p1 = (double)x1 / (double)n1;
	p2 = (double)x2 / (double)n2;
	P = (p1 * (double)n1 + p2 * (double)n2) / ((double)n1 + (double)n2);
	se = sqrt(P * (1 - P) * (1.0 / (double)n1 + 1.0 / (double)n2));
	if (!(se > 0))
		return;
	*z = (p1 - p2) / se;
	*p = 2 * stats_norm_sf(fabs(*z));
}
