/* binning: numpy's histogram binning (see binning.h). */
#include "stats/binning.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

/* First index i with x[i] >= v (left) or x[i] > v (right). */
static size_t lower_bound(const double *x, size_t n, double v, int right)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (right ? x[mid] <= v : x[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int stats_bin_edges(enum stats_bin_rule rule, const double *a, size_t n, const double *b, size_t m,
                    double **edges, size_t *nb)
{
	double lo, hi, width = 0, total = (double)n + (double)m, step;
	size_t k = 1;

	*edges = NULL;
	*nb = 0;
	if (n + m == 0)
		return -EINVAL;
	lo = n ? a[0] : b[0];
	hi = n ? a[n - 1] : b[m - 1];
	if (m && b[0] < lo)
		lo = b[0];
	if (m && b[m - 1] > hi)
		hi = b[m - 1];
	if (rule == STATS_BINS_STURGES) {
		width = (hi - lo) / (log2(total) + 1.0);
	} else if (n + m > 2) {
		/* Doane: ptp / (1 + log2 N + log2(1 + |g1| / sg1)), with the
		 * population skewness g1 (numpy's _hist_bin_doane). */
		double mean = 0, var = 0, g1 = 0, sigma, sg1;

		sg1 = sqrt(6.0 * (total - 2) / ((total + 1.0) * (total + 3)));
		for (size_t i = 0; i < n; i++)
			mean += a[i];
		for (size_t i = 0; i < m; i++)
			mean += b[i];
		mean /= total;
		for (size_t i = 0; i < n; i++)
			var += (a[i] - mean) * (a[i] - mean);
		for (size_t i = 0; i < m; i++)
			var += (b[i] - mean) * (b[i] - mean);
		sigma = sqrt(var / total);
		if (sigma > 0) {
			for (size_t i = 0; i < n; i++) {
				double t = (a[i] - mean) / sigma;

				g1 += t * t * t;
			}
			for (size_t i = 0; i < m; i++) {
				double t = (b[i] - mean) / sigma;

				g1 += t * t * t;
			}
			g1 /= total;
			width = (hi - lo) / (1.0 + log2(total) + log2(1.0 + fabs(g1) / sg1));
		}
	}
	if (lo == hi) {
		/* numpy widens a zero range to +-0.5 (after the width rule). */
		lo -= 0.5;
		hi += 0.5;
	}
	if (width > 0) {
		double kk = ceil((hi - lo) / width);

		k = kk > STATS_BINS_MAX ? STATS_BINS_MAX : (size_t)kk;
		if (k == 0)
			k = 1;
	}
	*edges = malloc((k + 1) * sizeof(**edges));
	if (!*edges)
		return -ENOMEM;
	/* np.linspace: start + i * step, the last one exactly stop. */
	step = (hi - lo) / (double)k;
	for (size_t i = 0; i < k; i++)
		(*edges)[i] = lo + (double)i * step;
	(*edges)[k] = hi;
	*nb = k;
	return 0;
}

void stats_hist_sorted(const double *edges, size_t nb, const double *x, size_t n, uint64_t *counts,
                       uint64_t *outside)
{
	size_t prev = lower_bound(x, n, edges[0], 0), inside;

	for (size_t i = 0; i < nb; i++) {
		size_t next = i + 1 < nb ? lower_bound(x, n, edges[i + 1], 0)
		                         : lower_bound(x, n, edges[nb], 1);

		counts[i] = next - prev;
		prev = next;
	}
	inside = prev - lower_bound(x, n, edges[0], 0);
	if (outside)
		*outside = n - inside;
}
