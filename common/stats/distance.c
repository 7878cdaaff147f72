/* distance: distances between two distributions (see distance.h). */
#include "stats/distance.h"

#include <math.h>

/* Sums of p and q; false when either is not positive. */
static int sums(const double *p, const double *q, size_t k, double *sp, double *sq)
{
	*sp = 0;
	*sq = 0;
	for (size_t i = 0; i < k; i++) {
		*sp += p[i];
		*sq += q[i];
	}
	return *sp > 0 && *sq > 0;
}

double stats_hellinger(const double *p, const double *q, size_t k)
{
	double sp, sq, acc = 0, h;

	if (!sums(p, q, k, &sp, &sq))
		return 0;
	for (size_t i = 0; i < k; i++) {
		double d = sqrt(p[i] / sp) - sqrt(q[i] / sq);

		acc += d * d;
	}
	h = sqrt(acc) / M_SQRT2;
	return h > 1 ? 1 : h;
}

double stats_linf(const double *p, const double *q, size_t k)
{
	double sp, sq, m = 0;

	if (!sums(p, q, k, &sp, &sq))
		return 0;
	for (size_t i = 0; i < k; i++) {
		double d = fabs(p[i] / sp - q[i] / sq);

		if (d > m)
			m = d;
	}
	return m;
}

double stats_tvd(const double *p, const double *q, size_t k)
{
	double sp, sq, acc = 0;

	if (!sums(p, q, k, &sp, &sq))
		return 0;
	for (size_t i = 0; i < k; i++)
		acc += fabs(p[i] / sp - q[i] / sq);
	return acc / 2;
}

double stats_kl(const double *p, const double *q, size_t k)
{
	double sp, sq, acc = 0;

	if (!sums(p, q, k, &sp, &sq))
		return 0;
	for (size_t i = 0; i < k; i++) {
		double pi = p[i] / sp, qi = q[i] / sq;

		/* scipy.special.rel_entr: 0 for p = 0, inf for q = 0 < p. */
		if (pi > 0)
			acc += qi > 0 ? pi * log(pi / qi) : INFINITY;
	}
	return acc;
}

double stats_energy(const double *a, size_t n, const double *b, size_t m)
{
	size_t i = 0, j = 0;
	double area = 0, x;

	if (n == 0 || m == 0)
		return 0;
	/* The same walk as drift_ks_wasserstein: both right-continuous CDFs
	 * after all values <= x, constant up to the next sample point. */
	x = a[0] < b[0] ? a[0] : b[0];
	for (;;) {
		double next, diff;

		while (i < n && a[i] <= x)
			i++;
		while (j < m && b[j] <= x)
			j++;
		if (i == n && j == m)
			break;
		diff = (double)i / (double)n - (double)j / (double)m;
		if (i == n)
			next = b[j];
		else if (j == m)
			next = a[i];
		else
			next = a[i] < b[j] ? a[i] : b[j];
		area += diff * diff * (next - x);
		x = next;
	}
	return sqrt(2 * area);
}
