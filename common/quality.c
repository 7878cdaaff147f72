/* quality: accuracy, calibration, estimates, concept drift (quality.h). */
#include "quality.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

#define CALIB_VERSION 1
#define PH_VERSION    1
#define ADWIN_VERSION 1

/* ---- classification ---------------------------------------------------- */

void quality_cls_init(struct quality_cls *q)
{
	memset(q, 0, sizeof(*q));
}

void quality_cls_fini(struct quality_cls *q)
{
	for (size_t i = 0; i < q->n; i++)
		free(q->classes[i].name);
	free(q->classes);
	memset(q, 0, sizeof(*q));
}

/* Index of class name, or -1. Windows hold a handful of classes, so a
 * linear scan beats hashing. */
static long cls_find(const struct quality_cls *q, const char *name)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->classes[i].name, name) == 0)
			return (long)i;
	return -1;
}

static int cls_reserve(struct quality_cls *q, size_t n)
{
	size_t a = q->alloc ? q->alloc : 8;
	struct quality_class *c;

	if (n <= q->alloc)
		return 0;
	while (a < n)
		a *= 2;
	c = realloc(q->classes, a * sizeof(*c));
	if (!c)
		return -ENOMEM;
	q->classes = c;
	q->alloc = a;
	return 0;
}

/* Appends a zeroed class; room must be reserved. */
static int cls_append(struct quality_cls *q, const char *name)
{
	size_t len = strlen(name);
	char *copy = malloc(len + 1);

	if (!copy)
		return -ENOMEM;
	memcpy(copy, name, len + 1);
	memset(&q->classes[q->n], 0, sizeof(q->classes[q->n]));
	q->classes[q->n].name = copy;
	q->n++;
	return 0;
}

/* Drops classes appended after a failure, so callers see q unchanged. */
static void cls_truncate(struct quality_cls *q, size_t n)
{
	while (q->n > n)
		free(q->classes[--q->n].name);
}

int quality_cls_add(struct quality_cls *q, const char *pred, const char *label)
{
	size_t old_n = q->n;
	long ip, il;
	size_t need;
	int rc = 0;

	if (!pred || !label || strnlen(pred, QUALITY_CLASS_NAME_MAX + 1) > QUALITY_CLASS_NAME_MAX ||
	    strnlen(label, QUALITY_CLASS_NAME_MAX + 1) > QUALITY_CLASS_NAME_MAX) {
		rc = -EINVAL;
		goto out;
	}
	ip = cls_find(q, pred);
	il = cls_find(q, label);
	need = q->n + (ip < 0) + (il < 0 && strcmp(pred, label) != 0);
	if (need > QUALITY_MAX_CLASSES) {
		rc = -E2BIG;
		goto out;
	}
	rc = cls_reserve(q, need);
	if (rc < 0)
		goto out;
	if (ip < 0) {
		rc = cls_append(q, pred);
		if (rc < 0)
			goto out;
		ip = (long)q->n - 1;
	}
	if (il < 0) {
		il = cls_find(q, label);
		if (il < 0) {
			rc = cls_append(q, label);
			if (rc < 0)
				goto out;
			il = (long)q->n - 1;
		}
	}
	if (ip == il) {
		q->classes[ip].tp++;
		q->correct++;
	} else {
		q->classes[ip].fp++;
		q->classes[il].fn++;
	}
	q->total++;
out:
	if (rc < 0)
		cls_truncate(q, old_n);
	return rc;
}

int quality_cls_merge(struct quality_cls *dst, const struct quality_cls *src)
{
	size_t old_n = dst->n, need = dst->n;
	long *map = NULL;
	int rc = 0;

	map = malloc((src->n ? src->n : 1) * sizeof(*map));
	if (!map) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < src->n; i++) {
		map[i] = cls_find(dst, src->classes[i].name);
		need += map[i] < 0;
	}
	if (need > QUALITY_MAX_CLASSES) {
		rc = -E2BIG;
		goto out;
	}
	rc = cls_reserve(dst, need);
	if (rc < 0)
		goto out;
	for (size_t i = 0; i < src->n; i++) {
		if (map[i] >= 0)
			continue;
		rc = cls_append(dst, src->classes[i].name);
		if (rc < 0)
			goto out;
		map[i] = (long)dst->n - 1;
	}
	for (size_t i = 0; i < src->n; i++) {
		dst->classes[map[i]].tp += src->classes[i].tp;
		dst->classes[map[i]].fp += src->classes[i].fp;
		dst->classes[map[i]].fn += src->classes[i].fn;
	}
	dst->total += src->total;
	dst->correct += src->correct;
out:
	if (rc < 0)
		cls_truncate(dst, old_n);
	free(map);
	return rc;
}

static double ratio(uint64_t num, uint64_t den)
{
	return den ? (double)num / (double)den : 0;
}

double quality_cls_accuracy(const struct quality_cls *q)
{
	return ratio(q->correct, q->total);
}

double quality_cls_precision(const struct quality_cls *q, size_t i)
{
	const struct quality_class *c = &q->classes[i];

	return ratio(c->tp, c->tp + c->fp);
}

double quality_cls_recall(const struct quality_cls *q, size_t i)
{
	const struct quality_class *c = &q->classes[i];

	return ratio(c->tp, c->tp + c->fn);
}

double quality_cls_f1(const struct quality_cls *q, size_t i)
{
	const struct quality_class *c = &q->classes[i];

	/* 2PR / (P + R) simplified; 0 when the class was never predicted
	 * correctly, as scikit-learn's zero_division=0. */
	return ratio(2 * c->tp, 2 * c->tp + c->fp + c->fn);
}

double quality_cls_macro_f1(const struct quality_cls *q)
{
	double sum = 0;

	if (q->n == 0)
		return 0;
	for (size_t i = 0; i < q->n; i++)
		sum += quality_cls_f1(q, i);
	return sum / (double)q->n;
}

/* ---- regression ---------------------------------------------------------- */

int quality_reg_add(struct quality_reg *q, double pred, double label)
{
	double d = pred - label;

	if (!isfinite(d))
		return -EINVAL;
	q->n++;
	q->sum_abs += fabs(d);
	q->sum_sq += d * d;
	return 0;
}

void quality_reg_merge(struct quality_reg *dst, const struct quality_reg *src)
{
	dst->n += src->n;
	dst->sum_abs += src->sum_abs;
	dst->sum_sq += src->sum_sq;
}

double quality_reg_mae(const struct quality_reg *q)
{
	return q->n ? q->sum_abs / (double)q->n : 0;
}

double quality_reg_rmse(const struct quality_reg *q)
{
	return q->n ? sqrt(q->sum_sq / (double)q->n) : 0;
}

double quality_label_coverage(uint64_t labelled, uint64_t total)
{
	if (total == 0)
		return 0;
	return labelled >= total ? 1.0 : (double)labelled / (double)total;
}

/* ---- isotonic calibration ---------------------------------------------- */

struct pair {
	double x;
	double y;
};

static int cmp_pair(const void *pa, const void *pb)
{
	const struct pair *a = pa, *b = pb;

	return (a->x > b->x) - (a->x < b->x);
}

void quality_calib_fini(struct quality_calib *calib)
{
	free(calib->x);
	free(calib->y);
	memset(calib, 0, sizeof(*calib));
}

int quality_calib_fit(struct quality_calib *calib, const double *conf, const uint8_t *correct,
                      size_t n)
{
	struct pair *p = NULL;
	double *bsum = NULL, *bw = NULL, *ux = NULL, *uy = NULL;
	size_t *bend = NULL;
	size_t nu = 0, nb = 0, keep = 0;
	int rc = 0;

	memset(calib, 0, sizeof(*calib));
	if (n == 0 || n > 10 * (size_t)QUALITY_CALIB_MAX_POINTS) {
		rc = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!(conf[i] >= 0 && conf[i] <= 1) || correct[i] > 1) {
			rc = -EINVAL;
			goto out;
		}
	}
	p = malloc(n * sizeof(*p));
	ux = malloc(n * sizeof(*ux));
	uy = malloc(n * sizeof(*uy));
	bsum = malloc(n * sizeof(*bsum));
	bw = malloc(n * sizeof(*bw));
	bend = malloc(n * sizeof(*bend));
	if (!p || !ux || !uy || !bsum || !bw || !bend) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		p[i].x = conf[i];
		p[i].y = correct[i];
	}
	qsort(p, n, sizeof(*p), cmp_pair);
	/* Pool adjacent violators over unique x (equal scores are one point
	 * with the mean outcome and their count as weight, as scikit-learn).
	 * Blocks live on a stack: (sum of y, weight, last unique index). */
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double s = 0;

		while (j < n && p[j].x == p[i].x)
			s += p[j++].y;
		ux[nu] = p[i].x;
		bsum[nb] = s;
		bw[nb] = (double)(j - i);
		bend[nb] = nu;
		nb++;
		nu++;
		/* Merge while the previous block's mean exceeds this one's. */
		while (nb > 1 && bsum[nb - 2] * bw[nb - 1] > bsum[nb - 1] * bw[nb - 2]) {
			bsum[nb - 2] += bsum[nb - 1];
			bw[nb - 2] += bw[nb - 1];
			bend[nb - 2] = bend[nb - 1];
			nb--;
		}
		i = j;
	}
	for (size_t b = 0, u = 0; b < nb; b++)
		for (; u <= bend[b]; u++)
			uy[u] = bsum[b] / bw[b];
	/* Keep only the points where the step function bends: interpolation
	 * between the kept ones gives the same values. */
	for (size_t u = 0; u < nu; u++) {
		if (u == 0 || u == nu - 1 || uy[u] != uy[u - 1] || uy[u] != uy[u + 1]) {
			ux[keep] = ux[u];
			uy[keep] = uy[u];
			keep++;
		}
	}
	/* Too many bends for the stored form: thin evenly, keeping ends. */
	if (keep > QUALITY_CALIB_MAX_POINTS) {
		size_t m = QUALITY_CALIB_MAX_POINTS;

		for (size_t k = 0; k < m; k++) {
			size_t src = (size_t)((double)k * (double)(keep - 1) / (double)(m - 1));

			ux[k] = ux[src];
			uy[k] = uy[src];
		}
		keep = m;
	}
	calib->x = malloc(keep * sizeof(*calib->x));
	calib->y = malloc(keep * sizeof(*calib->y));
	if (!calib->x || !calib->y) {
		rc = -ENOMEM;
		goto out;
	}
	memcpy(calib->x, ux, keep * sizeof(*ux));
	memcpy(calib->y, uy, keep * sizeof(*uy));
	calib->n = keep;
out:
	if (rc < 0)
		quality_calib_fini(calib);
	free(p);
	free(ux);
	free(uy);
	free(bsum);
	free(bw);
	free(bend);
	return rc;
}

double quality_calib_apply(const struct quality_calib *calib, double conf)
{
	size_t lo, hi;

	if (isnan(conf))
		return 0;
	if (!calib || calib->n == 0)
		return conf < 0 ? 0 : (conf > 1 ? 1 : conf);
	if (conf <= calib->x[0])
		return calib->y[0];
	if (conf >= calib->x[calib->n - 1])
		return calib->y[calib->n - 1];
	/* x[lo] < conf < x[hi], found by bisection. */
	lo = 0;
	hi = calib->n - 1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (calib->x[mid] <= conf)
			lo = mid;
		else
			hi = mid;
	}
	return calib->y[lo] + (calib->y[hi] - calib->y[lo]) * (conf - calib->x[lo]) /
	                          (calib->x[hi] - calib->x[lo]);
}

int quality_calib_encode(const struct quality_calib *calib, uint8_t **out, size_t *len)
{
	size_t cap = 1 + BYTES_VARINT_MAX + calib->n * 16;
	struct bytes_writer w;
	uint8_t *buf = malloc(cap);

	*out = NULL;
	if (!buf)
		return -ENOMEM;
	bytes_writer_init(&w, buf, cap);
	bytes_put_u8(&w, CALIB_VERSION);
	bytes_put_varint(&w, calib->n);
	for (size_t i = 0; i < calib->n; i++) {
		bytes_put_f64(&w, calib->x[i]);
		bytes_put_f64(&w, calib->y[i]);
	}
	/* cap is exact-or-larger by construction. */
	*out = buf;
	*len = w.len;
	return 0;
}

int quality_calib_decode(struct quality_calib *calib, const uint8_t *buf, size_t len)
{
	struct bytes_reader r;
	uint64_t n;
	int rc = -EPROTO;

	memset(calib, 0, sizeof(*calib));
	bytes_reader_init(&r, buf, len);
	if (bytes_get_u8(&r) != CALIB_VERSION)
		goto out;
	n = bytes_get_varint(&r);
	if (r.err || n == 0 || n > QUALITY_CALIB_MAX_POINTS || bytes_remaining(&r) != n * 16)
		goto out;
	calib->x = malloc((size_t)n * sizeof(*calib->x));
	calib->y = malloc((size_t)n * sizeof(*calib->y));
	if (!calib->x || !calib->y) {
		rc = -ENOMEM;
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		double x = bytes_get_f64(&r), y = bytes_get_f64(&r);

		if (!(x >= 0 && x <= 1) || !(y >= 0 && y <= 1))
			goto out;
		if (i > 0 && (x <= calib->x[i - 1] || y < calib->y[i - 1]))
			goto out;
		calib->x[i] = x;
		calib->y[i] = y;
	}
	calib->n = (size_t)n;
	rc = 0;
out:
	if (rc < 0)
		quality_calib_fini(calib);
	return rc;
}

/* ---- estimated accuracy ------------------------------------------------- */

void quality_est_add(struct quality_est *e, const struct quality_calib *calib, double conf)
{
	double p = quality_calib_apply(calib, conf);

	e->n++;
	e->sum_p += p;
	e->sum_var += p * (1 - p);
}

void quality_est_merge(struct quality_est *dst, const struct quality_est *src)
{
	dst->n += src->n;
	dst->sum_p += src->sum_p;
	dst->sum_var += src->sum_var;
}

int quality_est_result(const struct quality_est *e, double *est, double *low, double *high)
{
	double m = 0, sigma = 0;
	int rc = 0;

	if (e->n == 0) {
		rc = -ENODATA;
	} else {
		/* The number correct is a sum of independent Bernoulli(p_i):
		 * variance sum p_i (1 - p_i), so the rate's sigma is its root
		 * over n. */
		m = e->sum_p / (double)e->n;
		sigma = sqrt(e->sum_var > 0 ? e->sum_var : 0) / (double)e->n;
	}
	if (est)
		*est = m;
	if (low)
		*low = e->n ? fmax(0, m - 3 * sigma) : 0;
	if (high)
		*high = e->n ? fmin(1, m + 3 * sigma) : 0;
	return rc;
}

/* ---- Page-Hinkley ---------------------------------------------------------- */

void quality_ph_init(struct quality_ph *ph)
{
	(void)quality_ph_init_params(ph, QUALITY_PH_DELTA, QUALITY_PH_THRESHOLD, QUALITY_PH_ALPHA);
}

int quality_ph_init_params(struct quality_ph *ph, double delta, double threshold, double alpha)
{
	if (!(delta >= 0) || !(threshold > 0) || !(alpha > 0 && alpha <= 1) || isinf(delta) ||
	    isinf(threshold))
		return -EINVAL;
	memset(ph, 0, sizeof(*ph));
	ph->delta = delta;
	ph->threshold = threshold;
	ph->alpha = alpha;
	return 0;
}

static void ph_restart(struct quality_ph *ph)
{
	ph->n = 0;
	ph->mean = 0;
	ph->sum = 0;
	ph->min_sum = 0;
}

int quality_ph_add(struct quality_ph *ph, double x)
{
	if (!isfinite(x))
		return -EINVAL;
	ph->n++;
	ph->mean += (x - ph->mean) / (double)ph->n;
	/* Cumulative deviation above the running mean, less the tolerated
	 * drift delta; an increase of the error rate makes it climb away
	 * from its running minimum. */
	ph->sum = ph->alpha * ph->sum + (x - ph->mean - ph->delta);
	if (ph->n == 1 || ph->sum < ph->min_sum)
		ph->min_sum = ph->sum;
	if (ph->n >= QUALITY_PH_MIN_INSTANCES && ph->sum - ph->min_sum > ph->threshold) {
		ph->alarms++;
		ph_restart(ph);
		return 1;
	}
	return 0;
}

int quality_ph_encode(const struct quality_ph *ph, uint8_t *buf, size_t cap, size_t *len)
{
	struct bytes_writer w;

	bytes_writer_init(&w, buf, cap);
	bytes_put_u8(&w, PH_VERSION);
	bytes_put_f64(&w, ph->delta);
	bytes_put_f64(&w, ph->threshold);
	bytes_put_f64(&w, ph->alpha);
	bytes_put_f64(&w, ph->mean);
	bytes_put_f64(&w, ph->sum);
	bytes_put_f64(&w, ph->min_sum);
	bytes_put_varint(&w, ph->n);
	bytes_put_varint(&w, ph->alarms);
	if (w.overflow || !buf)
		return -ENOSPC;
	*len = w.len;
	return 0;
}

int quality_ph_decode(struct quality_ph *ph, const uint8_t *buf, size_t len)
{
	struct bytes_reader r;
	struct quality_ph t;

	bytes_reader_init(&r, buf, len);
	if (bytes_get_u8(&r) != PH_VERSION)
		return -EPROTO;
	t.delta = bytes_get_f64(&r);
	t.threshold = bytes_get_f64(&r);
	t.alpha = bytes_get_f64(&r);
	t.mean = bytes_get_f64(&r);
	t.sum = bytes_get_f64(&r);
	t.min_sum = bytes_get_f64(&r);
	t.n = bytes_get_varint(&r);
	t.alarms = bytes_get_varint(&r);
	if (r.err || bytes_remaining(&r) != 0)
		return -EPROTO;
	if (!(t.delta >= 0) || isinf(t.delta) || !(t.threshold > 0) || isinf(t.threshold) ||
	    !(t.alpha > 0 && t.alpha <= 1) || !isfinite(t.mean) || !isfinite(t.sum) ||
	    !isfinite(t.min_sum) || t.min_sum > t.sum)
		return -EPROTO;
	*ph = t;
	return 0;
}

/* ---- ADWIN ----------------------------------------------------------------- */

void quality_adwin_init(struct quality_adwin *a)
{
	(void)quality_adwin_init_delta(a, QUALITY_ADWIN_DELTA);
}

int quality_adwin_init_delta(struct quality_adwin *a, double delta)
{
	if (!(delta > 0 && delta < 1))
		return -EINVAL;
	memset(a, 0, sizeof(*a));
	a->delta = delta;
	return 0;
}

double quality_adwin_mean(const struct quality_adwin *a)
{
	return a->width ? a->total / (double)a->width : 0;
}

/* Merges the two oldest buckets of every full row into the next row, as
 * an exponential histogram: row r keeps at most M buckets of 2^r values. */
static void adwin_compress(struct quality_adwin *a)
{
	for (uint32_t r = 0; r < a->nrows && a->count[r] > QUALITY_ADWIN_M; r++) {
		struct quality_adwin_bucket *row = a->b[r], merged;
		double n = ldexp(1.0, (int)r), u1 = row[0].total / n, u2 = row[1].total / n;

		if (r + 1 >= QUALITY_ADWIN_ROWS)
			break; /* 2^64 values: unreachable with a uint64 width */
		merged.total = row[0].total + row[1].total;
		merged.variance =
		    row[0].variance + row[1].variance + n * n * (u1 - u2) * (u1 - u2) / (2 * n);
		memmove(row, row + 2, (a->count[r] - 2) * sizeof(*row));
		a->count[r] -= 2;
		if (r + 1 == a->nrows) {
			a->nrows++;
			a->count[r + 1] = 0;
		}
		a->b[r + 1][a->count[r + 1]++] = merged;
	}
}

static void adwin_insert(struct quality_adwin *a, double x)
{
	if (a->nrows == 0) {
		a->nrows = 1;
		a->count[0] = 0;
	}
	a->b[0][a->count[0]].total = x;
	a->b[0][a->count[0]].variance = 0;
	a->count[0]++;
	a->width++;
	if (a->width > 1) {
		double w = (double)(a->width - 1), d = x - a->total / w;

		a->variance += w * d * d / (w + 1);
	}
	a->total += x;
	adwin_compress(a);
}

/* Drops the oldest bucket, updating the window's sums. */
static void adwin_drop_oldest(struct quality_adwin *a)
{
	uint32_t r = a->nrows - 1;
	struct quality_adwin_bucket old = a->b[r][0];
	double n1 = ldexp(1.0, (int)r), u1 = old.total / n1, w;

	a->width -= (uint64_t)n1;
	a->total -= old.total;
	w = (double)a->width;
	if (a->width == 0) {
		a->total = 0;
		a->variance = 0;
	} else {
		double d = u1 - a->total / w;

		a->variance -= old.variance + n1 * w * d * d / (n1 + w);
		if (a->variance < 0)
			a->variance = 0;
	}
	memmove(a->b[r], a->b[r] + 1, (a->count[r] - 1) * sizeof(a->b[r][0]));
	if (--a->count[r] == 0)
		a->nrows--;
}

/* Hoeffding/Bernstein cut test of ADWIN2 (Bifet & Gavalda 2007, as in
 * MOA): the two sub-window means differ by more than epsilon. */
static bool adwin_cut(const struct quality_adwin *a, double n0, double n1, double u0, double u1)
{
	double n = (double)a->width;
	double dd = log(2 * log(n) / a->delta);
	double v = a->variance / n;
	double m = 1 / (n0 - QUALITY_ADWIN_MIN_LEN + 1) + 1 / (n1 - QUALITY_ADWIN_MIN_LEN + 1);
	double eps = sqrt(2 * m * v * dd) + 2.0 / 3.0 * dd * m;

	return fabs(u0 / n0 - u1 / n1) > eps;
}

static bool adwin_detect(struct quality_adwin *a)
{
	bool changed = false, again = true;

	while (again && a->width > 2 * QUALITY_ADWIN_MIN_LEN) {
		double n0 = 0, n1 = (double)a->width, u0 = 0, u1 = a->total;

		again = false;
		/* Split after each bucket, oldest first; the newest bucket
		 * never ends the old side. */
		for (int r = (int)a->nrows - 1; r >= 0 && !again; r--) {
			double size = ldexp(1.0, r);

			for (uint32_t k = 0; k < a->count[r]; k++) {
				if (r == 0 && k == a->count[0] - 1u)
					break;
				n0 += size;
				n1 -= size;
				u0 += a->b[r][k].total;
				u1 -= a->b[r][k].total;
				if (n0 > QUALITY_ADWIN_MIN_LEN + 1 &&
				    n1 > QUALITY_ADWIN_MIN_LEN + 1 &&
				    adwin_cut(a, n0, n1, u0, u1)) {
					adwin_drop_oldest(a);
					changed = again = true;
					break;
				}
			}
		}
	}
	return changed;
}

int quality_adwin_add(struct quality_adwin *a, double x)
{
	if (!isfinite(x))
		return -EINVAL;
	a->time++;
	adwin_insert(a, x);
	if (a->time % QUALITY_ADWIN_CLOCK == 0 && adwin_detect(a)) {
		a->detections++;
		return 1;
	}
	return 0;
}

int quality_adwin_encode(const struct quality_adwin *a, uint8_t *buf, size_t cap, size_t *len)
{
	struct bytes_writer w;

	bytes_writer_init(&w, buf, cap);
	bytes_put_u8(&w, ADWIN_VERSION);
	bytes_put_f64(&w, a->delta);
	bytes_put_varint(&w, a->width);
	bytes_put_varint(&w, a->time);
	bytes_put_varint(&w, a->detections);
	bytes_put_f64(&w, a->total);
	bytes_put_f64(&w, a->variance);
	bytes_put_u8(&w, (uint8_t)a->nrows);
	for (uint32_t r = 0; r < a->nrows; r++) {
		bytes_put_u8(&w, a->count[r]);
		for (uint32_t k = 0; k < a->count[r]; k++) {
			bytes_put_f64(&w, a->b[r][k].total);
			bytes_put_f64(&w, a->b[r][k].variance);
		}
	}
	if (w.overflow || !buf)
		return -ENOSPC;
	*len = w.len;
	return 0;
}

int quality_adwin_decode(struct quality_adwin *a, const uint8_t *buf, size_t len)
{
	struct bytes_reader r;
	struct quality_adwin *t = calloc(1, sizeof(*t));
	uint64_t width = 0;
	int rc = -EPROTO;

	if (!t)
		return -ENOMEM;
	bytes_reader_init(&r, buf, len);
	if (bytes_get_u8(&r) != ADWIN_VERSION)
		goto out;
	t->delta = bytes_get_f64(&r);
	t->width = bytes_get_varint(&r);
	t->time = bytes_get_varint(&r);
	t->detections = bytes_get_varint(&r);
	t->total = bytes_get_f64(&r);
	t->variance = bytes_get_f64(&r);
	t->nrows = bytes_get_u8(&r);
	if (r.err || !(t->delta > 0 && t->delta < 1) || !isfinite(t->total) ||
	    !isfinite(t->variance) || t->variance < 0 || t->nrows > QUALITY_ADWIN_ROWS ||
	    t->width > t->time)
		goto out;
	for (uint32_t row = 0; row < t->nrows; row++) {
		t->count[row] = bytes_get_u8(&r);
		/* Only the oldest row may be empty-free: every row in use holds
		 * 1..M buckets after compression. */
		if (r.err || t->count[row] == 0 || t->count[row] > QUALITY_ADWIN_M)
			goto out;
		for (uint32_t k = 0; k < t->count[row]; k++) {
			t->b[row][k].total = bytes_get_f64(&r);
			t->b[row][k].variance = bytes_get_f64(&r);
			if (!isfinite(t->b[row][k].total) || !isfinite(t->b[row][k].variance) ||
			    t->b[row][k].variance < 0)
				goto out;
		}
		width += (uint64_t)t->count[row] << row;
	}
	if (r.err || bytes_remaining(&r) != 0 || width != t->width)
		goto out;
	*a = *t;
	rc = 0;
out:
	free(t);
	return rc;
}
