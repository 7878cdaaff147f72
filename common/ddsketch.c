/* ddsketch: mergeable relative-error quantile sketch (see ddsketch.h). */
#include "ddsketch.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

/* Decoded sketches may come from another producer; alpha outside this range
 * is either useless or would make bin indexes overflow. */
#define ALPHA_MIN 1e-4
#define ALPHA_MAX 0.2

struct ddsketch {
	double alpha;
	double gamma;
	double log_gamma;
	double inv_log_gamma;
	uint64_t count;
	uint64_t zero_count; /* values below DDSKETCH_MIN_VALUE */
	double min;
	double max;
	double sum;
	/* bins[k] counts bin index lo + k. When nbins > 0, bins[0] and
	 * bins[nbins - 1] are non-zero: bins never lose counts, so the span
	 * always runs from the lowest to the highest occupied index. */
	int32_t lo;
	uint32_t nbins;
	uint32_t alloc;
	uint64_t *bins;
};

static void sketch_set_alpha(struct ddsketch *s, double alpha)
{
	s->alpha = alpha;
	s->gamma = (1 + alpha) / (1 - alpha);
	s->log_gamma = log(s->gamma);
	s->inv_log_gamma = 1 / s->log_gamma;
}

struct ddsketch *ddsketch_new(void)
{
	struct ddsketch *s = calloc(1, sizeof(*s));

	if (s)
		sketch_set_alpha(s, DDSKETCH_ALPHA);
	return s;
}

void ddsketch_free(struct ddsketch *s)
{
	if (!s)
		return;
	free(s->bins);
	free(s);
}

void ddsketch_reset(struct ddsketch *s)
{
	s->count = 0;
	s->zero_count = 0;
	s->min = 0;
	s->max = 0;
	s->sum = 0;
	s->lo = 0;
	s->nbins = 0;
}

struct ddsketch *ddsketch_clone(const struct ddsketch *s)
{
	struct ddsketch *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	*c = *s;
	c->bins = NULL;
	c->alloc = 0;
	if (s->nbins > 0) {
		c->bins = malloc(s->nbins * sizeof(*c->bins));
		if (!c->bins) {
			free(c);
			return NULL;
		}
		memcpy(c->bins, s->bins, s->nbins * sizeof(*c->bins));
		c->alloc = s->nbins;
	}
	return c;
}

/* Bin i holds (gamma^(i-1), gamma^i]. */
static int32_t sketch_index(const struct ddsketch *s, double v)
{
	return (int32_t)ceil(log(v) * s->inv_log_gamma);
}

/* The point of bin i whose relative distance to both bounds is alpha. */
static double sketch_value(const struct ddsketch *s, int32_t i)
{
	return 2.0 * exp((double)i * s->log_gamma) / (s->gamma + 1.0);
}

/* Ensures room for n (<= DDSKETCH_MAX_BINS) bins without touching the
 * counts, so callers can fail before changing anything. */
static int sketch_reserve(struct ddsketch *s, uint32_t n)
{
	uint32_t a = s->alloc + s->alloc / 2;
	uint64_t *b;

	if (n <= s->alloc)
		return 0;
	/* Grow by half plus slack for a few more bins: amortised, but a
	 * collector holding thousands of per-second sketches should not pay
	 * for a doubling it never uses. */
	if (a < n + 16)
		a = n + 16;
	if (a > DDSKETCH_MAX_BINS)
		a = DDSKETCH_MAX_BINS;
	b = realloc(s->bins, a * sizeof(*b));
	if (!b)
		return -ENOMEM;
	s->bins = b;
	s->alloc = a;
	return 0;
}

/* Folds every bin below new_lo into bin new_lo; values there are reported
 * with new_lo's representative (clamped to min), the price of the cap. */
static void sketch_collapse_below(struct ddsketch *s, int32_t new_lo)
{
	uint32_t k;
	uint64_t folded = 0;

	if (s->nbins == 0 || new_lo <= s->lo)
		return;
	k = (uint32_t)(new_lo - s->lo);
	if (k >= s->nbins) {
		/* Everything folds into one bin at new_lo. */
		for (uint32_t i = 0; i < s->nbins; i++)
			folded += s->bins[i];
		s->bins[0] = folded;
		s->nbins = 1;
		s->lo = new_lo;
		return;
	}
	for (uint32_t i = 0; i < k; i++)
		folded += s->bins[i];
	memmove(s->bins, s->bins + k, (s->nbins - k) * sizeof(*s->bins));
	s->nbins -= k;
	s->lo = new_lo;
	s->bins[0] += folded;
}

/* Widens the span to cover [lo, hi]; the caller has reserved enough room
 * and collapsed what would not fit. New bins are zero. */
static void sketch_widen(struct ddsketch *s, int32_t lo, int32_t hi)
{
	uint32_t need, shift;

	if (s->nbins == 0) {
		s->lo = lo;
		s->nbins = (uint32_t)(hi - lo) + 1;
		memset(s->bins, 0, s->nbins * sizeof(*s->bins));
		return;
	}
	if (lo > s->lo)
		lo = s->lo;
	if (hi < s->lo + (int32_t)s->nbins - 1)
		hi = s->lo + (int32_t)s->nbins - 1;
	need = (uint32_t)(hi - lo) + 1;
	assert(need <= s->alloc);
	shift = (uint32_t)(s->lo - lo);
	if (shift > 0) {
		memmove(s->bins + shift, s->bins, s->nbins * sizeof(*s->bins));
		memset(s->bins, 0, shift * sizeof(*s->bins));
	}
	memset(s->bins + shift + s->nbins, 0, (need - shift - s->nbins) * sizeof(*s->bins));
	s->lo = lo;
	s->nbins = need;
}

/* Makes the sketch cover [lo, hi] (plus what it already covers), collapsing
 * the lowest bins if the union is wider than the cap. Returns the lowest
 * index kept, or -ENOMEM with nothing changed. */
static int sketch_cover(struct ddsketch *s, int32_t lo, int32_t hi, int32_t *lowest)
{
	int32_t floor_idx;
	int rc;

	if (s->nbins > 0) {
		if (s->lo < lo)
			lo = s->lo;
		if (s->lo + (int32_t)s->nbins - 1 > hi)
			hi = s->lo + (int32_t)s->nbins - 1;
	}
	floor_idx = hi - (DDSKETCH_MAX_BINS - 1);
	if (lo < floor_idx)
		lo = floor_idx;
	rc = sketch_reserve(s, (uint32_t)(hi - lo) + 1);
	if (rc < 0)
		return rc;
	sketch_collapse_below(s, lo);
	sketch_widen(s, lo, hi);
	*lowest = lo;
	return 0;
}

int ddsketch_add_n(struct ddsketch *s, double v, uint64_t n)
{
	int rc = 0;

	if (!isfinite(v) || v < 0 || s->count > UINT64_MAX - n) {
		rc = -EINVAL;
		goto out;
	}
	if (n == 0)
		goto out;
	if (v == 0)
		v = 0; /* -0.0 would make min's encoding non-canonical */
	if (v >= DDSKETCH_MIN_VALUE) {
		int32_t idx = sketch_index(s, v), lowest;

		rc = sketch_cover(s, idx, idx, &lowest);
		if (rc < 0)
			goto out;
		if (idx < lowest)
			idx = lowest;
		s->bins[idx - s->lo] += n;
	} else {
		s->zero_count += n;
	}
	if (s->count == 0 || v < s->min)
		s->min = v;
	if (s->count == 0 || v > s->max)
		s->max = v;
	s->count += n;
	s->sum += v * (double)n;
out:
	return rc;
}

int ddsketch_add(struct ddsketch *s, double v)
{
	/* The hot path: a value inside the current span is one increment. */
	if (v >= DDSKETCH_MIN_VALUE && v <= DBL_MAX && s->nbins > 0) {
		int32_t idx = sketch_index(s, v);
		uint32_t k = (uint32_t)(idx - s->lo);

		if (idx >= s->lo && k < s->nbins) {
			s->bins[k]++;
			if (v < s->min)
				s->min = v;
			if (v > s->max)
				s->max = v;
			s->count++;
			s->sum += v;
			return 0;
		}
	}
	return ddsketch_add_n(s, v, 1);
}

int ddsketch_merge(struct ddsketch *dst, const struct ddsketch *src)
{
	int32_t lowest;
	int rc = 0;

	if (dst->alpha != src->alpha || dst->count > UINT64_MAX - src->count) {
		rc = -EINVAL;
		goto out;
	}
	if (src->count == 0)
		goto out;
	if (src->nbins > 0) {
		rc = sketch_cover(dst, src->lo, src->lo + (int32_t)src->nbins - 1, &lowest);
		if (rc < 0)
			goto out;
		for (uint32_t k = 0; k < src->nbins; k++) {
			int32_t idx = src->lo + (int32_t)k;

			if (idx < lowest)
				idx = lowest;
			dst->bins[idx - dst->lo] += src->bins[k];
		}
	}
	dst->zero_count += src->zero_count;
	if (dst->count == 0 || src->min < dst->min)
		dst->min = src->min;
	if (dst->count == 0 || src->max > dst->max)
		dst->max = src->max;
	dst->count += src->count;
	dst->sum += src->sum;
out:
	return rc;
}

static double sketch_rank_value(const struct ddsketch *s, uint64_t rank)
{
	uint64_t seen = s->zero_count;
	double v = 0;

	if (rank < seen) {
		v = 0;
	} else {
		v = s->max;
		for (uint32_t k = 0; k < s->nbins; k++) {
			seen += s->bins[k];
			if (rank < seen) {
				v = sketch_value(s, s->lo + (int32_t)k);
				break;
			}
		}
	}
	if (v < s->min)
		v = s->min;
	if (v > s->max)
		v = s->max;
	return v;
}

static double sketch_quantile(const struct ddsketch *s, double q)
{
	if (q == 0)
		return s->min;
	if (q == 1)
		return s->max;
	return sketch_rank_value(s, (uint64_t)(q * (double)(s->count - 1)));
}

int ddsketch_quantile(const struct ddsketch *s, double q, double *out)
{
	return ddsketch_quantiles(s, &q, 1, out);
}

int ddsketch_quantiles(const struct ddsketch *s, const double *qs, size_t n, double *out)
{
	int rc = 0;

	for (size_t i = 0; i < n; i++) {
		if (!(qs[i] >= 0 && qs[i] <= 1)) {
			rc = -EINVAL;
			goto out;
		}
	}
	if (s->count == 0) {
		rc = -ENODATA;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = sketch_quantile(s, qs[i]);
out:
	return rc;
}

uint64_t ddsketch_count(const struct ddsketch *s)
{
	return s->count;
}

double ddsketch_min(const struct ddsketch *s)
{
	return s->count ? s->min : 0;
}

double ddsketch_max(const struct ddsketch *s)
{
	return s->count ? s->max : 0;
}

double ddsketch_sum(const struct ddsketch *s)
{
	return s->sum;
}

double ddsketch_mean(const struct ddsketch *s)
{
	return s->count ? s->sum / (double)s->count : 0;
}

double ddsketch_alpha(const struct ddsketch *s)
{
	return s->alpha;
}

size_t ddsketch_bin_count(const struct ddsketch *s)
{
	return s->nbins;
}

size_t ddsketch_memory(const struct ddsketch *s)
{
	return sizeof(*s) + (size_t)s->alloc * sizeof(*s->bins);
}

/* ---- encoding ----------------------------------------------------------- */

size_t ddsketch_encoded_bound(const struct ddsketch *s)
{
	/* version, flags, 4 f64, 3 varints, zvarint, one varint per bin. */
	return 2 + 4 * 8 + 4 * BYTES_VARINT_MAX + (size_t)s->nbins * BYTES_VARINT_MAX;
}

static void sketch_write(const struct ddsketch *s, struct bytes_writer *w)
{
	bytes_put_u8(w, DDSKETCH_ENCODING_VERSION);
	bytes_put_u8(w, 0);
	bytes_put_f64(w, s->alpha);
	bytes_put_varint(w, s->count);
	bytes_put_varint(w, s->zero_count);
	bytes_put_f64(w, ddsketch_min(s));
	bytes_put_f64(w, ddsketch_max(s));
	bytes_put_f64(w, s->sum);
	bytes_put_varint(w, s->nbins);
	if (s->nbins > 0)
		bytes_put_zvarint(w, s->lo);
	for (uint32_t k = 0; k < s->nbins; k++)
		bytes_put_varint(w, s->bins[k]);
}

int ddsketch_encode(const struct ddsketch *s, uint8_t *buf, size_t cap, size_t *len)
{
	struct bytes_writer w;

	/* A NULL buffer would make the writer only measure. */
	bytes_writer_init(&w, buf, buf ? cap : 0);
	if (buf)
		sketch_write(s, &w);
	if (!buf || w.overflow)
		return -ENOSPC;
	*len = w.len;
	return 0;
}

int ddsketch_encode_alloc(const struct ddsketch *s, uint8_t **out, size_t *len)
{
	size_t cap = ddsketch_encoded_bound(s);
	uint8_t *buf = malloc(cap);
	int rc = -ENOMEM;

	*out = NULL;
	if (!buf)
		goto out;
	/* The bound is an upper bound: this cannot run out of room. */
	rc = ddsketch_encode(s, buf, cap, len);
	if (rc < 0)
		goto out;
	*out = buf;
	buf = NULL;
out:
	free(buf);
	return rc;
}

int ddsketch_decode(const uint8_t *buf, size_t len, struct ddsketch **out)
{
	struct bytes_reader r;
	struct ddsketch *s = NULL;
	uint64_t count, zero_count, nbins, total;
	double alpha, min, max, sum;
	int64_t lo, max_index;
	int rc = -EPROTO;

	*out = NULL;
	bytes_reader_init(&r, buf, len);
	if (bytes_get_u8(&r) != DDSKETCH_ENCODING_VERSION || bytes_get_u8(&r) != 0)
		goto out;
	alpha = bytes_get_f64(&r);
	count = bytes_get_varint(&r);
	zero_count = bytes_get_varint(&r);
	min = bytes_get_f64(&r);
	max = bytes_get_f64(&r);
	sum = bytes_get_f64(&r);
	nbins = bytes_get_varint(&r);
	if (r.err || !(alpha >= ALPHA_MIN && alpha <= ALPHA_MAX))
		goto out;
	/* Sign bits catch -0.0, which the encoder never writes. */
	if (!isfinite(min) || !isfinite(max) || !isfinite(sum) || signbit(min) || signbit(max) ||
	    signbit(sum) || max < min || sum < 0 || zero_count > count || nbins > DDSKETCH_MAX_BINS)
		goto out;
	if (count == 0 && (min != 0 || max != 0 || sum != 0 || nbins != 0))
		goto out;
	/* A non-empty bin span needs at least one value per end bin. */
	if ((nbins == 0) != (count == zero_count))
		goto out;

	s = calloc(1, sizeof(*s));
	if (!s) {
		rc = -ENOMEM;
		goto out;
	}
	sketch_set_alpha(s, alpha);
	s->count = count;
	s->zero_count = zero_count;
	s->min = min;
	s->max = max;
	s->sum = sum;
	if (nbins > 0) {
		lo = bytes_get_zvarint(&r);
		/* Every representative value must be a finite positive double. */
		max_index = (int64_t)floor(700.0 / s->log_gamma);
		if (r.err || lo < -max_index || lo + (int64_t)nbins - 1 > max_index)
			goto out;
		/* nbins is bounded above, so this allocation is too. */
		s->bins = malloc((size_t)nbins * sizeof(*s->bins));
		if (!s->bins) {
			rc = -ENOMEM;
			goto out;
		}
		s->alloc = (uint32_t)nbins;
		s->nbins = (uint32_t)nbins;
		s->lo = (int32_t)lo;
		total = zero_count;
		for (uint64_t k = 0; k < nbins; k++) {
			uint64_t c = bytes_get_varint(&r);

			if (r.err || c > count - total)
				goto out;
			total += c;
			s->bins[k] = c;
		}
		if (total != count || s->bins[0] == 0 || s->bins[nbins - 1] == 0)
			goto out;
	}
	if (r.err || bytes_remaining(&r) != 0)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	ddsketch_free(s);
	return rc;
}
