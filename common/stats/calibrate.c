/* calibrate: drift thresholds with a stated false alarm rate (calibrate.h). */
#include "calibrate.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../sample.h"
#include "distance.h"
#include "twosample.h"

static const size_t class_sizes[CALIB_CLASSES] = {50, 100, 200, 400, 800, 1600, 3200, 6400, 10000};

const char *calib_source_name(enum calib_source s)
{
	switch (s) {
	case CALIB_SRC_CONFIGURED:
		return "configured";
	case CALIB_SRC_CALIBRATED:
		return "calibrated";
	case CALIB_SRC_REFERENCE_CHUNKS:
		return "reference_chunks";
	default:
		return "default";
	}
}

uint64_t calib_feature_seed(int64_t model_id, const char *name)
{
	uint64_t h = 1469598103934665603ull ^ (uint64_t)model_id;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++)
		h = (h ^ *p) * 1099511628211ull;
	return h;
}

uint64_t calib_class_seed(uint64_t seed, int cls)
{
	return seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(cls + 1));
}

int calib_class(size_t n)
{
	int best = 0;
	double bd = INFINITY, x = log(n ? (double)n : 1.0);

	for (int i = 0; i < CALIB_CLASSES; i++) {
		double d = fabs(x - log((double)class_sizes[i]));

		if (d < bd) {
			bd = d;
			best = i;
		}
	}
	return best;
}

size_t calib_class_size(int cls)
{
	if (cls < 0)
		cls = 0;
	if (cls >= CALIB_CLASSES)
		cls = CALIB_CLASSES - 1;
	return class_sizes[cls];
}

static bool numeric_fast(enum drift_method m)
{
	return m == DRIFT_METHOD_KS || m == DRIFT_METHOD_WASSERSTEIN || m == DRIFT_METHOD_PSI ||
	       m == DRIFT_METHOD_JS || m == DRIFT_METHOD_HELLINGER || m == DRIFT_METHOD_LINF ||
	       m == DRIFT_METHOD_TVD || m == DRIFT_METHOD_KL || m == DRIFT_METHOD_ENERGY ||
	       m == DRIFT_METHOD_MANNWHITNEY || m == DRIFT_METHOD_WELCH;
}

static bool numeric_generic(enum drift_method m)
{
	return m == DRIFT_METHOD_ANDERSON || m == DRIFT_METHOD_CVM;
}

static bool categorical_method(enum drift_method m)
{
	return m == DRIFT_METHOD_CHI2 || m == DRIFT_METHOD_Z || m == DRIFT_METHOD_FISHER ||
	       m == DRIFT_METHOD_PSI || m == DRIFT_METHOD_JS || m == DRIFT_METHOD_HELLINGER ||
	       m == DRIFT_METHOD_LINF || m == DRIFT_METHOD_TVD || m == DRIFT_METHOD_KL;
}

bool calib_applies(const struct drift_ref *ref, enum drift_method m, enum drift_preset preset)
{
	if (preset != DRIFT_PRESET_MLWATCH || ref->n < 4)
		return false;
	if (ref->kind == DRIFT_NUMERIC)
		return numeric_fast(m) || numeric_generic(m);
	return categorical_method(m);
}

/* Statistics that scale with (1/n + 1/N) under no drift rather than with
 * its square root. */
static bool square_law(enum drift_method m)
{
	return m == DRIFT_METHOD_PSI || m == DRIFT_METHOD_KL;
}

/* ---- drawing ------------------------------------------------------------ */

/* Uniform draws below bounds < 2^32 from half a 64-bit value each
 * (Lemire's multiply-shift with rejection on 32 bits: unbiased): one
 * generator step gives two draws, and the call stays inline. */
struct rng32 {
	struct sample_rng *rng;
	uint64_t buf;
	bool have;
};

static inline uint32_t below32(struct rng32 *r, uint32_t bound)
{
	for (;;) {
		uint32_t x;
		uint64_t m;

		if (r->have) {
			x = (uint32_t)(r->buf >> 32);
			r->have = false;
		} else {
			r->buf = sample_rng_next(r->rng);
			x = (uint32_t)r->buf;
			r->have = true;
		}
		m = (uint64_t)x * bound;
		/* reject the (rare) low parts that would bias the result */
		if ((uint32_t)m >= bound || (uint32_t)m >= (uint32_t)(-bound) % bound)
			return (uint32_t)(m >> 32);
	}
}

/* Floyd's sampling of k distinct positions of [0, p) (p < 2^32) into the
 * bitset mask (p bits, all clear on entry), then read back in ascending
 * order into idx[k] and the mask cleared again. */
static void draw_sorted(uint64_t *mask, size_t p, size_t k, struct rng32 *rng, uint32_t *idx)
{
	size_t got = 0;

	for (size_t j = p - k; j < p; j++) {
		size_t t = below32(rng, (uint32_t)j + 1);

		if (mask[t >> 6] & (1ull << (t & 63)))
			t = j;
		mask[t >> 6] |= 1ull << (t & 63);
	}
	for (size_t w = 0; got < k; w++) {
		uint64_t bits = mask[w];

		mask[w] = 0;
		while (bits) {
			idx[got++] = (uint32_t)(w * 64 + (size_t)__builtin_ctzll(bits));
			bits &= bits - 1;
		}
	}
}

/* ---- counts of a draw without replacement --------------------------------
 * The binned and categorical statistics only need how many of the drawn
 * values fall in each cell: a multivariate hypergeometric draw, taken cell
 * by cell (the count of cell c given the cells before it is hypergeometric)
 * by inversion searched outwards from the mode, O(k sd) per pseudo-window
 * instead of O(n) positions: the same law as drawing the positions. */
struct lfact {
	double *t; /* t[x] = log(x!) for x <= n */
	uint64_t n;
};

/* Largest table kept (doubles): above, lgamma. */
#define LFACT_MAX (1u << 22)

static int lfact_init(struct lfact *l, uint64_t n)
{
	l->n = n < LFACT_MAX ? n : LFACT_MAX;
	l->t = malloc(((size_t)l->n + 1) * sizeof(*l->t));
	if (!l->t)
		return -ENOMEM;
	l->t[0] = 0;
	for (uint64_t x = 1; x <= l->n; x++)
		l->t[x] = l->t[x - 1] + log((double)x);
	return 0;
}

static inline double lf(const struct lfact *l, uint64_t x)
{
	return x <= l->n ? l->t[x] : lgamma((double)x + 1);
}

/* One hypergeometric draw: how many of n draws without replacement from a
 * population of N hold one of its K marked items. */
static uint64_t hyper_draw(const struct lfact *l, struct sample_rng *rng, uint64_t N, uint64_t K,
                           uint64_t n)
{
	uint64_t lo, hi, mode, up, dn;
	double u, p0, pu, pd;

	if (n == 0 || K == 0)
		return 0;
	if (K == N)
		return n;
	lo = n + K > N ? n + K - N : 0;
	hi = n < K ? n : K;
	mode = (uint64_t)(((double)n + 1) * ((double)K + 1) / ((double)N + 2));
	mode = mode < lo ? lo : (mode > hi ? hi : mode);
	p0 = exp(lf(l, K) - lf(l, mode) - lf(l, K - mode) + lf(l, N - K) - lf(l, n - mode) -
	         lf(l, N - K - n + mode) - (lf(l, N) - lf(l, n) - lf(l, N - n)));
	u = sample_rng_double(rng) - p0;
	if (u <= 0)
		return mode;
	/* chop-down outwards from the mode, one step up then one down */
	up = dn = mode;
	pu = pd = p0;
	while (up < hi || dn > lo) {
		if (up < hi) {
			double x = (double)up;

			pu *= ((double)K - x) * ((double)n - x) /
			      ((x + 1) * ((double)N - (double)K - (double)n + x + 1));
			up++;
			u -= pu;
			if (u <= 0)
				return up;
		}
		if (dn > lo) {
			double x = (double)dn;

			pd *= x * ((double)N - (double)K - (double)n + x) /
			      (((double)K - x + 1) * ((double)n - x + 1));
			dn--;
			u -= pd;
			if (u <= 0)
				return dn;
		}
	}
	return mode; /* rounding left a sliver of u: the likeliest value */
}

/* w[0..k) = the cell counts of n values drawn without replacement from a
 * population of total with cnt[c] in cell c. */
static void mvhyper_draw(const struct lfact *l, struct sample_rng *rng, const uint64_t *cnt,
                         size_t k, uint64_t total, uint64_t n, uint64_t *w)
{
	for (size_t c = 0; c < k; c++) {
		uint64_t x = n && c + 1 < k ? hyper_draw(l, rng, total, cnt[c], n) : n;

		if (x > cnt[c]) /* only the last cell; cannot happen when the counts add up */
			x = cnt[c];
		w[c] = x;
		n -= x;
		total -= cnt[c];
	}
}

/* ---- threshold from the pseudo-window scores ----------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* b[0..B) are "badness" values (higher = more drift). Picks the distinct
 * value v whose share f(v) = #(b >= v) / B is nearest rate on a log scale
 * among those with f <= 2 rate, and returns the midpoint between v and the
 * next lower distinct value (so atoms never sit on the threshold). When
 * every candidate flags more than 2 rate (a statistic with one big atom at
 * the top), the threshold goes above every value: nothing is flagged. */
static double pick_threshold(double *b, size_t B, double rate, double *observed)
{
	double best_err = INFINITY, thr;
	size_t best = B; /* B = above the maximum */

	qsort(b, B, sizeof(*b), cmp_double);
	for (size_t i = B; i-- > 0;) {
		size_t lo = i;
		double f, err;

		while (lo > 0 && b[lo - 1] == b[i])
			lo--;
		f = (double)(B - lo) / (double)B;
		if (f > 2 * rate || lo == 0)
			break;
		err = fabs(log(f / rate));
		if (err < best_err) {
			best_err = err;
			best = lo;
		}
		i = lo;
	}
	if (best == B) {
		*observed = 0;
		/* above the largest value: p-values (b = -p <= 0) halve the
		 * smallest p, distances double the largest */
		thr = b[B - 1] <= 0 ? b[B - 1] / 2 : b[B - 1] * 2 + 1e-12;
		return thr;
	}
	*observed = (double)(B - best) / (double)B;
	return (b[best] + b[best - 1]) / 2;
}

/* ---- numeric ------------------------------------------------------------ */

struct num_ctx {
	const double *a; /* the pool, sorted */
	size_t p;        /* pool size */
	double *h;       /* h[k] = sum_{j<k} (j+1) (a[j+1] - a[j]) */
	double *ah;      /* a[k], h[k] interleaved: one cache line per position in w1_rest */
	uint32_t *tend, *tstart; /* tie groups (NULL when there are none) */
	uint8_t *bin;            /* the reference bin of a[k] */
	uint64_t bin_total[SAMPLE_BINS];
	double std;
	/* energy: sum_{j<k} (j+1) g_j and (j+1)^2 g_j, g_j = a[j+1] - a[j] */
	long double *e1, *e2;
	/* Welch: the pool's mean, and sums of (x - mean) and its square */
	double mean;
	long double s1, s2;
	/* Mann-Whitney: midranks of the pool and its tie term */
	double *midrank, tie_term;
	/* Anderson-Darling, Cramer-von Mises: the materialised samples */
	double *wv, *rv;
};

/* W1 between the pool positions idx[0..n) and the rest (m = p - n) in O(n):
 * between consecutive drawn positions both CDFs are affine in the rank, so
 * the integral of their gap splits at one crossing and comes from prefix
 * sums. */
static double w1_rest(const struct num_ctx *c, const uint32_t *idx, size_t n)
{
	const double *ah = c->ah;
	double m = (double)(c->p - n), w = 0, step = 1.0 / (double)n + 1.0 / m;
	size_t lo = 0;

	for (size_t s = 0; s <= n; s++) {
		size_t hi = s < n ? idx[s] : c->p - 1;

		if (hi > lo) {
			double cs = (double)s * step, km = ceil(cs * m) - 1;
			size_t k = km <= (double)lo ? lo : (km >= (double)hi ? hi : (size_t)km);
			double al = ah[2 * lo], hl = ah[2 * lo + 1], ak = ah[2 * k],
			       hk = ah[2 * k + 1];
			double ahi = ah[2 * hi], hhi = ah[2 * hi + 1];

			w += cs * (ak - al) - (hk - hl) / m + (hhi - hk) / m - cs * (ahi - ak);
		}
		lo = hi;
	}
	return w;
}

/* KS D between idx[0..n) and the rest in O(n): |F_s - F_rest| is monotone
 * between drawn positions, so only the first and last distinct-value end of
 * each stretch need looking at. */
static double ks_rest(const struct num_ctx *c, const uint32_t *idx, size_t n)
{
	double m = (double)(c->p - n), d = 0;
	size_t lo = 0;

	for (size_t s = 0; s <= n; s++) {
		size_t hi = s < n ? idx[s] : c->p;

		if (hi > lo) {
			size_t k1 = c->tend ? c->tend[lo] : lo, k2;
			bool has2;

			if (hi == c->p) {
				k2 = c->p - 1;
				has2 = true;
			} else {
				size_t st = c->tstart ? c->tstart[hi] : hi;

				has2 = st > lo;
				k2 = st - 1;
			}
			if (k1 < hi) {
				double v =
				    fabs((double)s / (double)n - ((double)k1 + 1 - (double)s) / m);

				d = v > d ? v : d;
			}
			if (has2 && k2 >= lo) {
				double v =
				    fabs((double)s / (double)n - ((double)k2 + 1 - (double)s) / m);

				d = v > d ? v : d;
			}
		}
		lo = hi;
	}
	return d;
}

/* The binned distances of window bin counts w (n values) against the rest
 * of the pool on the reference's bins (the live path's bins and shares). */
static double binned_counts(const struct num_ctx *c, const uint64_t *w, size_t n,
                            enum drift_method m)
{
	double r[SAMPLE_BINS], q[SAMPLE_BINS], rf[SAMPLE_BINS], qf[SAMPLE_BINS];
	double rest = (double)(c->p - n);

	for (int b = 0; b < SAMPLE_BINS; b++) {
		r[b] = (double)(c->bin_total[b] - w[b]) / rest;
		q[b] = (double)w[b] / (double)n;
		rf[b] = r[b] > DRIFT_PROP_FLOOR ? r[b] : DRIFT_PROP_FLOOR;
		qf[b] = q[b] > DRIFT_PROP_FLOOR ? q[b] : DRIFT_PROP_FLOOR;
	}
	switch (m) {
	case DRIFT_METHOD_PSI:
		return drift_psi(r, q, SAMPLE_BINS);
	case DRIFT_METHOD_JS:
		return drift_js(r, q, SAMPLE_BINS);
	case DRIFT_METHOD_HELLINGER:
		return stats_hellinger(r, q, SAMPLE_BINS);
	case DRIFT_METHOD_LINF:
		return stats_linf(r, q, SAMPLE_BINS);
	case DRIFT_METHOD_TVD:
		return stats_tvd(r, q, SAMPLE_BINS);
	default:
		return stats_kl(rf, qf, SAMPLE_BINS);
	}
}

/* The same for the drawn positions idx[0..n). */
static double binned_rest(const struct num_ctx *c, const uint32_t *idx, size_t n,
                          enum drift_method m)
{
	uint64_t w[SAMPLE_BINS] = {0};

	for (size_t i = 0; i < n; i++)
		w[c->bin[idx[i]]]++;
	return binned_counts(c, w, n, m);
}

/* scipy's energy distance sqrt(2 int (F_s - F_rest)^2) in O(n), by the
 * same stretches as w1_rest with prefix sums of the squared terms. */
static double energy_rest(const struct num_ctx *c, const uint32_t *idx, size_t n)
{
	long double m = (long double)(c->p - n), area = 0;
	size_t lo = 0;

	for (size_t s = 0; s <= n; s++) {
		size_t hi = s < n ? idx[s] : c->p - 1;

		if (hi > lo) {
			long double cs = (long double)s * (1.0L / (long double)n + 1.0L / m);
			long double g0 = (long double)c->a[hi] - (long double)c->a[lo];

			area += cs * cs * g0 - 2 * cs * (c->e1[hi] - c->e1[lo]) / m +
			        (c->e2[hi] - c->e2[lo]) / (m * m);
		}
		lo = hi;
	}
	return area > 0 ? sqrt((double)(2 * area)) : 0;
}

/* Welch's p of the rest against the drawn values from their moments, as
 * the live path (reference moments, window moments). */
static double welch_rest(const struct num_ctx *c, const uint32_t *idx, size_t n)
{
	long double w1 = 0, w2 = 0, r1, r2, m = (long double)(c->p - n);
	double t, p = 1;

	for (size_t i = 0; i < n; i++) {
		long double x = (long double)c->a[idx[i]] - c->mean;

		w1 += x;
		w2 += x * x;
	}
	r1 = c->s1 - w1;
	r2 = c->s2 - w2;
	if (n < 2 || m < 2)
		return -1;
	if (stats_welch_t_moments((double)(r1 / m) + c->mean,
	                          (double)((r2 - r1 * r1 / m) / (m - 1)), c->p - n,
	                          (double)(w1 / n) + c->mean,
	                          (double)((w2 - w1 * w1 / n) / (n - 1)), n, &t, &p, NULL) < 0)
		p = 1;
	return -p;
}

/* Mann-Whitney's p (normal approximation with the tie correction, as
 * stats_mannwhitneyu for these sizes): the pool is the combined sample,
 * so the ranks are the pool's midranks. */
static double mwu_rest(const struct num_ctx *c, const uint32_t *idx, size_t n)
{
	double rw = 0, P = (double)c->p, m = P - (double)n, u1, u2, big, mu, sd, p;

	for (size_t i = 0; i < n; i++)
		rw += c->midrank[idx[i]];
	u1 = (P * (P + 1) / 2 - rw) - m * (m + 1) / 2; /* U of the rest, the live "a" side */
	u2 = (double)n * m - u1;
	big = u1 > u2 ? u1 : u2;
	mu = (double)n * m / 2;
	sd = sqrt((double)n * m / 12 * ((P + 1) - c->tie_term / (P * (P - 1))));
	p = sd > 0 ? 2 * stats_norm_sf((big - mu - 0.5) / sd) : 1;
	return -(p > 1 ? 1 : (p < 0 ? 0 : p));
}

/* Badness of the materialised window w[n] against rest r[m] (both sorted)
 * for the methods without a fast path: -p for the tests, the distance for
 * energy. */
static double generic_score(enum drift_method meth, const double *r, size_t m, const double *w,
                            size_t n)
{
	double s = 0, p = 1;

	switch (meth) {
	case DRIFT_METHOD_ANDERSON:
		if (stats_anderson_ksamp(r, m, w, n, &s, &p) < 0)
			p = 1;
		break;
	default:
		if (stats_cvm_2samp(r, m, w, n, &s, &p) < 0)
			p = 1;
		break;
	}
	return -p;
}

static void num_ctx_fini(struct num_ctx *c)
{
	free(c->h);
	free(c->ah);
	free(c->tend);
	free(c->tstart);
	free(c->bin);
	free(c->e1);
	free(c->e2);
	free(c->midrank);
	free(c->wv);
	free(c->rv);
	memset(c, 0, sizeof(*c));
}

/* Prepares what method meth needs over the sorted pool a[0..p) of ref for
 * pseudo-windows of np values. */
static int num_ctx_init(struct num_ctx *c, const struct drift_ref *ref, const double *a, size_t p,
                        size_t np, enum drift_method meth)
{
	memset(c, 0, sizeof(*c));
	c->a = a;
	c->p = p;
	c->std = ref->std > DRIFT_STD_FLOOR ? ref->std : DRIFT_STD_FLOOR;
	if (numeric_generic(meth)) {
		c->wv = malloc((np ? np : 1) * sizeof(*c->wv));
		c->rv = malloc((p - np ? p - np : 1) * sizeof(*c->rv));
		if (!c->wv || !c->rv)
			goto nomem;
	} else if (meth == DRIFT_METHOD_KS || meth == DRIFT_METHOD_WASSERSTEIN) {
		bool ties = false;

		c->h = malloc(p * sizeof(*c->h));
		if (!c->h)
			goto nomem;
		c->h[0] = 0;
		for (size_t k = 0; k + 1 < p; k++) {
			c->h[k + 1] = c->h[k] + (double)(k + 1) * (a[k + 1] - a[k]);
			ties |= a[k + 1] == a[k];
		}
		if (meth == DRIFT_METHOD_WASSERSTEIN) {
			c->ah = malloc(2 * p * sizeof(*c->ah));
			if (!c->ah)
				goto nomem;
			for (size_t k = 0; k < p; k++) {
				c->ah[2 * k] = a[k];
				c->ah[2 * k + 1] = c->h[k];
			}
		}
		if (ties && meth == DRIFT_METHOD_KS) {
			c->tend = malloc(p * sizeof(*c->tend));
			c->tstart = malloc(p * sizeof(*c->tstart));
			if (!c->tend || !c->tstart)
				goto nomem;
			for (size_t k = 0; k < p; k++)
				c->tstart[k] =
				    (k > 0 && a[k] == a[k - 1]) ? c->tstart[k - 1] : (uint32_t)k;
			for (size_t k = p; k-- > 0;)
				c->tend[k] =
				    (k + 1 < p && a[k] == a[k + 1]) ? c->tend[k + 1] : (uint32_t)k;
		}
	} else if (meth == DRIFT_METHOD_ENERGY) {
		c->e1 = malloc(p * sizeof(*c->e1));
		c->e2 = malloc(p * sizeof(*c->e2));
		if (!c->e1 || !c->e2)
			goto nomem;
		c->e1[0] = c->e2[0] = 0;
		for (size_t k = 0; k + 1 < p; k++) {
			long double g = (long double)a[k + 1] - (long double)a[k];
			long double t = (long double)k + 1;

			c->e1[k + 1] = c->e1[k] + t * g;
			c->e2[k + 1] = c->e2[k] + t * t * g;
		}
	} else if (meth == DRIFT_METHOD_WELCH) {
		long double sum = 0;

		for (size_t k = 0; k < p; k++)
			sum += a[k];
		c->mean = (double)(sum / (long double)p);
		for (size_t k = 0; k < p; k++) {
			long double x = (long double)a[k] - c->mean;

			c->s1 += x;
			c->s2 += x * x;
		}
	} else if (meth == DRIFT_METHOD_MANNWHITNEY) {
		c->midrank = malloc(p * sizeof(*c->midrank));
		if (!c->midrank)
			goto nomem;
		for (size_t k = 0; k < p;) {
			size_t e = k;
			double t;

			while (e + 1 < p && a[e + 1] == a[k])
				e++;
			t = (double)(e - k + 1);
			c->tie_term += t * t * t - t;
			for (size_t j = k; j <= e; j++)
				c->midrank[j] = ((double)k + (double)e) / 2 + 1;
			k = e + 1;
		}
	} else {
		c->bin = malloc(p);
		if (!c->bin)
			goto nomem;
		for (size_t k = 0; k < p; k++) {
			c->bin[k] = (uint8_t)sample_bin_index(ref->edges, a[k]);
			c->bin_total[c->bin[k]]++;
		}
	}
	return 0;
nomem:
	num_ctx_fini(c);
	return -ENOMEM;
}

/* Badness of the pool positions idx[0..np) against the rest. */
static double num_score(struct num_ctx *c, enum drift_method meth, const uint32_t *idx, size_t np)
{
	size_t wi = 0, ri = 0;

	switch (meth) {
	case DRIFT_METHOD_KS:
		return ks_rest(c, idx, np);
	case DRIFT_METHOD_WASSERSTEIN:
		return w1_rest(c, idx, np) / c->std;
	case DRIFT_METHOD_ENERGY:
		return energy_rest(c, idx, np);
	case DRIFT_METHOD_WELCH:
		return welch_rest(c, idx, np);
	case DRIFT_METHOD_MANNWHITNEY:
		return mwu_rest(c, idx, np);
	case DRIFT_METHOD_ANDERSON:
	case DRIFT_METHOD_CVM:
		for (size_t k = 0, j = 0; k < c->p; k++) {
			if (j < np && idx[j] == k) {
				c->wv[wi++] = c->a[k];
				j++;
			} else {
				c->rv[ri++] = c->a[k];
			}
		}
		return generic_score(meth, c->rv, ri, c->wv, wi);
	default:
		return binned_rest(c, idx, np, meth);
	}
}

static int calib_numeric(const struct drift_ref *ref, enum drift_method meth, size_t n,
                         struct sample_rng *rng, double *b, struct calib_result *out)
{
	struct num_ctx c = {0};
	struct rng32 r32 = {rng, 0, false};
	size_t N = (size_t)ref->n, p = N, np;
	double *pool = NULL;
	uint64_t *mask = NULL;
	uint32_t *idx = NULL;
	int rc = -ENOMEM;

	{
		/* A random pool of the reference: small enough to stay in cache
		 * (the rest's size enters the rescaling), large enough that the
		 * rest is many windows; AD and CvM (materialised samples) take a
		 * smaller one, their p-values do not depend on the sizes. */
		size_t np_max = n < CALIB_PSEUDO_MAX ? n : CALIB_PSEUDO_MAX;
		size_t cap = numeric_generic(meth)
		                 ? (2 * np_max > CALIB_POOL_MIN ? 2 * np_max : CALIB_POOL_MIN)
		                 : (20 * np_max > CALIB_POOL_FAST ? 20 * np_max : CALIB_POOL_FAST);

		p = N < cap ? N : cap;
	}
	np = n < p / 2 ? n : p / 2;
	np = np < CALIB_PSEUDO_MAX ? np : CALIB_PSEUDO_MAX;
	mask = calloc(N / 64 + 1, sizeof(*mask));
	idx = malloc((N > 0 ? N : 1) * sizeof(*idx));
	if (!mask || !idx || N >= UINT32_MAX)
		goto out;
	if (p < N) {
		/* A random pool (sorted, as its positions are ascending). */
		pool = malloc(p * sizeof(*pool));
		if (!pool)
			goto out;
		draw_sorted(mask, N, p, &r32, idx);
		for (size_t i = 0; i < p; i++)
			pool[i] = ref->sorted[idx[i]];
	}
	rc = num_ctx_init(&c, ref, pool ? pool : ref->sorted, p, np, meth);
	if (rc < 0)
		goto out;
	/* The binned methods draw positions too, not bin counts (the same law,
	 * cheaper): their statistics have atoms (10 bins), which atom a
	 * calibration lands on is luck of the draw, and the acceptance cells
	 * (TVD at 50) sit near an atom's edge; drawing counts is kept for the
	 * categorical methods. */
	for (unsigned it = 0; it < CALIB_BOOT; it++) {
		draw_sorted(mask, p, np, &r32, idx);
		b[it] = num_score(&c, meth, idx, np);
	}
	out->n_pseudo = np;
	out->n_rest = p - np;
out:
	num_ctx_fini(&c);
	free(pool);
	free(mask);
	free(idx);
	return rc;
}

int calib_split_score(const struct drift_ref *ref, enum drift_method m, const uint32_t *idx,
                      size_t n, double *badness)
{
	struct num_ctx c;
	int rc;

	if (ref->kind != DRIFT_NUMERIC || n == 0 || n >= ref->n ||
	    !calib_applies(ref, m, DRIFT_PRESET_MLWATCH))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (idx[i] >= ref->n || (i > 0 && idx[i] <= idx[i - 1]))
			return -EINVAL;
	rc = num_ctx_init(&c, ref, ref->sorted, (size_t)ref->n, n, m);
	if (rc < 0)
		return rc;
	*badness = num_score(&c, m, idx, n);
	num_ctx_fini(&c);
	return 0;
}

/* ---- categorical -------------------------------------------------------- */

/* The live path's categorical score (drift_categorical, mlwatch preset) of
 * window counts w against reference counts r over k cells, as badness. */
static double cat_score(enum drift_method meth, const uint64_t *r, const uint64_t *w, size_t k)
{
	double rp[DRIFT_MAX_CELLS], rpf[DRIFT_MAX_CELLS], q[DRIFT_MAX_CELLS];
	double rpf2[DRIFT_MAX_CELLS], qf[DRIFT_MAX_CELLS];
	uint64_t nr = 0, nw = 0;
	size_t used[2] = {0, 0}, nused = 0;
	double fsum = 0, stat, p = 1;
	int dof;

	for (size_t c = 0; c < k; c++) {
		nr += r[c];
		nw += w[c];
	}
	for (size_t c = 0; c < k; c++) {
		rp[c] = (double)r[c] / (double)nr;
		rpf[c] = rp[c] > DRIFT_PROP_FLOOR ? rp[c] : DRIFT_PROP_FLOOR;
		fsum += rpf[c];
		q[c] = (double)w[c] / (double)nw;
		rpf2[c] = rpf[c];
		qf[c] = q[c] > DRIFT_PROP_FLOOR ? q[c] : DRIFT_PROP_FLOOR;
		if (r[c] + w[c] > 0 && nused++ < 2)
			used[nused - 1] = c;
	}
	for (size_t c = 0; c < k; c++)
		rpf[c] /= fsum;
	switch (meth) {
	case DRIFT_METHOD_CHI2:
		stats_chi2_contingency(r, w, k, false, &stat, &p, &dof);
		return -p;
	case DRIFT_METHOD_Z:
		if (nused == 2)
			stats_ztest_2prop(r[used[0]], nr, w[used[0]], nw, &stat, &p);
		return -p;
	case DRIFT_METHOD_FISHER:
		if (nused == 2)
			p = stats_fisher_exact(r[used[0]], r[used[1]], w[used[0]], w[used[1]]);
		return -p;
	case DRIFT_METHOD_PSI:
		return drift_psi(rpf, q, k);
	case DRIFT_METHOD_JS:
		return drift_js(rp, q, k);
	case DRIFT_METHOD_HELLINGER:
		return stats_hellinger(rp, q, k);
	case DRIFT_METHOD_LINF:
		return stats_linf(rp, q, k);
	case DRIFT_METHOD_TVD:
		return stats_tvd(rp, q, k);
	default:
		return stats_kl(rpf2, qf, k);
	}
}

static int calib_categorical(const struct drift_ref *ref, enum drift_method meth, size_t n,
                             struct sample_rng *rng, double *b, struct calib_result *out)
{
	uint64_t cnt[DRIFT_MAX_CELLS] = {0}, total = 0;
	size_t k = ref->ncells, np;
	struct lfact lft = {0};
	int rc;

	if (k < 2 || k > DRIFT_MAX_CELLS)
		return -EINVAL;
	for (size_t c = 0; c + 1 < k; c++) {
		cnt[c] = sample_cats_cell_count(&ref->cats, c);
		total += cnt[c];
	}
	cnt[k - 1] = 0; /* "new": none in the reference */
	if (total < 4)
		return -EINVAL;
	np = (uint64_t)n < total / 2 ? n : (size_t)(total / 2);
	np = np < CALIB_PSEUDO_MAX ? np : CALIB_PSEUDO_MAX;
	rc = lfact_init(&lft, total);
	if (rc < 0)
		goto out;
	for (unsigned it = 0; it < CALIB_BOOT; it++) {
		uint64_t w[DRIFT_MAX_CELLS], r[DRIFT_MAX_CELLS];

		mvhyper_draw(&lft, rng, cnt, k, total, np, w);
		for (size_t c = 0; c < k; c++)
			r[c] = cnt[c] - w[c];
		b[it] = cat_score(meth, r, w, k);
	}
	out->n_pseudo = np;
	out->n_rest = (size_t)(total - np);
	rc = 0;
out:
	free(lft.t);
	return rc;
}

/* ---- entry points ------------------------------------------------------- */

int calib_run(const struct drift_ref *ref, enum drift_method m, size_t n, double rate,
              uint64_t seed, struct calib_result *out)
{
	struct sample_rng rng;
	double *b = NULL;
	int rc = -EINVAL;

	memset(out, 0, sizeof(*out));
	if (!calib_applies(ref, m, DRIFT_PRESET_MLWATCH) || n < 2 || !(rate > 0) || rate > 0.5)
		goto out;
	b = malloc(CALIB_BOOT * sizeof(*b));
	if (!b) {
		rc = -ENOMEM;
		goto out;
	}
	sample_rng_seed(&rng, seed);
	rc = ref->kind == DRIFT_NUMERIC ? calib_numeric(ref, m, n, &rng, b, out)
	                                : calib_categorical(ref, m, n, &rng, b, out);
	if (rc < 0)
		goto out;
	out->method = m;
	out->rate = rate;
	out->n = n;
	out->n_ref = ref->n;
	out->boot = CALIB_BOOT;
	out->stat = pick_threshold(b, CALIB_BOOT, rate, &out->observed);
out:
	free(b);
	return rc;
}

double calib_threshold_for(const struct calib_result *c, size_t n)
{
	double nn = (double)(n ? n : 1), N = (double)c->n_ref;
	double f2 = (1.0 / nn + 1.0 / N) / (1.0 / (double)c->n_pseudo + 1.0 / (double)c->n_rest);
	double f = sqrt(f2);

	if (c->method == DRIFT_METHOD_KS) {
		/* D scales with Stephens' (sqrt(ne) + 0.12 + 0.11 / sqrt(ne)),
		 * ne = n m / (n + m), closer than sqrt(ne) alone for the sizes
		 * calibrated at (sqrt(n) D grows towards its limit). Then D -> its
		 * p-value at the live sizes; the nudge makes p <= that value (the
		 * same D) a drift, as D >= threshold is. */
		double nec = (double)c->n_pseudo * (double)c->n_rest /
		             ((double)c->n_pseudo + (double)c->n_rest);
		double nel = nn * N / (nn + N);
		double ks_f =
		    (sqrt(nec) + 0.12 + 0.11 / sqrt(nec)) / (sqrt(nel) + 0.12 + 0.11 / sqrt(nel));
		double p = stats_ks_p(c->stat * ks_f, (size_t)c->n_ref, n ? n : 1, NULL);

		return p * (1 + 1e-9);
	}
	if (drift_method_is_pvalue(c->method))
		return -c->stat;
	return c->stat * (square_law(c->method) ? f2 : f);
}

int calib_cache_threshold(struct calib_cache *cache, const struct drift_ref *ref,
                          enum drift_method m, double rate, size_t n, uint64_t seed,
                          double *threshold, const struct calib_result **res)
{
	int cls = calib_class(n), rc;

	if (cache->method != m || cache->rate != rate) {
		memset(cache, 0, sizeof(*cache));
		cache->method = m;
		cache->rate = rate;
	}
	if (!cache->have[cls]) {
		rc = calib_run(ref, m, calib_class_size(cls), rate, calib_class_seed(seed, cls),
		               &cache->cls[cls]);
		if (rc < 0)
			return rc;
		cache->have[cls] = true;
		cache->fresh[cls] = true;
	}
	*threshold = calib_threshold_for(&cache->cls[cls], n);
	if (res)
		*res = &cache->cls[cls];
	return 0;
}

int calib_cache_put(struct calib_cache *cache, enum drift_method m, double rate, uint64_t n_ref,
                    const struct calib_result *c)
{
	int cls = calib_class(c->n);

	if (c->method != m || c->rate != rate || c->n_ref != n_ref ||
	    calib_class_size(cls) != c->n || c->n_pseudo < 1 || c->n_pseudo > c->n ||
	    c->n_rest < 1 || !isfinite(c->stat) || c->boot < 1)
		return -EINVAL;
	if (cache->method != m || cache->rate != rate) {
		memset(cache, 0, sizeof(*cache));
		cache->method = m;
		cache->rate = rate;
	}
	cache->cls[cls] = *c;
	cache->have[cls] = true;
	cache->fresh[cls] = false;
	return 0;
}

/* ---- effect size ---------------------------------------------------------- */

double calib_effect(const struct drift_result *r)
{
	switch (r->method) {
	case DRIFT_METHOD_KS:
	case DRIFT_METHOD_MANNWHITNEY:
	case DRIFT_METHOD_WELCH:
	case DRIFT_METHOD_ANDERSON:
	case DRIFT_METHOD_CVM:
		return r->wasserstein;
	case DRIFT_METHOD_CHI2:
	case DRIFT_METHOD_Z:
	case DRIFT_METHOD_FISHER:
		return r->linf;
	default:
		return r->score;
	}
}

double calib_min_effect_default(enum drift_method m)
{
	return m == DRIFT_METHOD_ENERGY ? 0 : 0.1;
}

void calib_apply_min_effect(struct drift_result *r, double min_effect)
{
	double e, cap;

	if (!(min_effect > 0) || r->insufficient)
		return;
	e = calib_effect(r);
	cap = e / min_effect;
	if (e < min_effect)
		r->drifted = false;
	if (cap < r->severity)
		r->severity = cap;
}
