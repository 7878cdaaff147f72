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

/* A dense run of bins: bins[k] counts bin index lo + k. When nbins > 0,
 * bins[0] and bins[nbins - 1] are non-zero: bins never lose counts, so the
 * span always runs from the lowest to the highest occupied index. */
struct dd_store {
	int32_t lo;
	uint32_t nbins;
	uint32_t alloc;
	uint64_t *bins;
};

struct ddsketch {
	double alpha;
	double gamma;
	double log_gamma;
	double inv_log_gamma;
	uint64_t count;
	uint64_t zero_count; /* |v| below DDSKETCH_MIN_VALUE */
	double min;
	double max;
	double sum;
	struct dd_store pos; /* v >= DDSKETCH_MIN_VALUE, index of v */
	struct dd_store neg; /* v <= -DDSKETCH_MIN_VALUE, index of -v (mirrored) */
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
	free(s->pos.bins);
	free(s->neg.bins);
	free(s);
}

void ddsketch_reset(struct ddsketch *s)
{
	s->count = 0;
	s->zero_count = 0;
	s->min = 0;
	s->max = 0;
	s->sum = 0;
	s->pos.lo = s->neg.lo = 0;
	s->pos.nbins = s->neg.nbins = 0;
}

/* A copy of src's bins into dst (whose bins are not owned yet). */
static int store_copy(struct dd_store *dst, const struct dd_store *src)
{
	*dst = *src;
	dst->bins = NULL;
	dst->alloc = 0;
	if (src->nbins == 0)
		return 0;
	dst->bins = malloc(src->nbins * sizeof(*dst->bins));
	if (!dst->bins)
		return -ENOMEM;
	memcpy(dst->bins, src->bins, src->nbins * sizeof(*dst->bins));
	dst->alloc = src->nbins;
	return 0;
}

struct ddsketch *ddsketch_clone(const struct ddsketch *s)
{
	struct ddsketch *c = malloc(sizeof(*c));

	if (!c)
		return NULL;
	*c = *s;
	c->neg.bins = NULL;
	if (store_copy(&c->pos, &s->pos) < 0 || store_copy(&c->neg, &s->neg) < 0) {
		ddsketch_free(c);
		return NULL;
	}
	return c;
}

/* Bin i holds (gamma^(i-1), gamma^i] (of -v for the negative store). */
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
static int store_reserve(struct dd_store *st, uint32_t n)
{
	uint32_t a = st->alloc + st->alloc / 2;
	uint64_t *b;

	if (n <= st->alloc)
		return 0;
	/* Grow by half plus slack for a few more bins: amortised, but a
	 * collector holding thousands of per-second sketches should not pay
	 * for a doubling it never uses. */
	if (a < n + 16)
		a = n + 16;
	if (a > DDSKETCH_MAX_BINS)
		a = DDSKETCH_MAX_BINS;
	b = realloc(st->bins, a * sizeof(*b));
	if (!b)
		return -ENOMEM;
	st->bins = b;
	st->alloc = a;
	return 0;
}

/* Folds every bin below new_lo into bin new_lo; values there are reported
 * with new_lo's representative (clamped to min), the price of the cap. In
 * both stores the lowest indexes are the values nearest 0, so the tails
 * keep their accuracy. */
static void store_collapse_below(struct dd_store *st, int32_t new_lo)
{
	uint32_t k;
	uint64_t folded = 0;

	if (st->nbins == 0 || new_lo <= st->lo)
		return;
	k = (uint32_t)(new_lo - st->lo);
	if (k >= st->nbins) {
		/* Everything folds into one bin at new_lo. */
		for (uint32_t i = 0; i < st->nbins; i++)
			folded += st->bins[i];
		st->bins[0] = folded;
		st->nbins = 1;
		st->lo = new_lo;
		return;
	}
	for (uint32_t i = 0; i < k; i++)
		folded += st->bins[i];
	memmove(st->bins, st->bins + k, (st->nbins - k) * sizeof(*st->bins));
	st->nbins -= k;
	st->lo = new_lo;
	st->bins[0] += folded;
}

/* Widens the span to cover [lo, hi]; the caller has reserved enough room
 * and collapsed what would not fit. New bins are zero. */
static void store_widen(struct dd_store *st, int32_t lo, int32_t hi)
{
	uint32_t need, shift;

	if (st->nbins == 0) {
		st->lo = lo;
		st->nbins = (uint32_t)(hi - lo) + 1;
		memset(st->bins, 0, st->nbins * sizeof(*st->bins));
		return;
	}
	if (lo > st->lo)
		lo = st->lo;
	if (hi < st->lo + (int32_t)st->nbins - 1)
		hi = st->lo + (int32_t)st->nbins - 1;
	need = (uint32_t)(hi - lo) + 1;
	assert(need <= st->alloc);
	shift = (uint32_t)(st->lo - lo);
	if (shift > 0) {
		memmove(st->bins + shift, st->bins, st->nbins * sizeof(*st->bins));
		memset(st->bins, 0, shift * sizeof(*st->bins));
	}
	memset(st->bins + shift + st->nbins, 0, (need - shift - st->nbins) * sizeof(*st->bins));
	st->lo = lo;
	st->nbins = need;
}

/* Makes the store cover [lo, hi] (plus what it already covers), collapsing
 * the lowest bins if the union is wider than the cap. Returns the lowest
 * index kept, or -ENOMEM with nothing changed. */
static int store_cover(struct dd_store *st, int32_t lo, int32_t hi, int32_t *lowest)
{
	int32_t floor_idx;
	int rc;

	if (st->nbins > 0) {
		if (st->lo < lo)
			lo = st->lo;
		if (st->lo + (int32_t)st->nbins - 1 > hi)
			hi = st->lo + (int32_t)st->nbins - 1;
	}
	floor_idx = hi - (DDSKETCH_MAX_BINS - 1);
	if (lo < floor_idx)
		lo = floor_idx;
	rc = store_reserve(st, (uint32_t)(hi - lo) + 1);
	if (rc < 0)
		return rc;
	store_collapse_below(st, lo);
	store_widen(st, lo, hi);
	*lowest = lo;
	return 0;
}

/* Adds n at index idx of st. -ENOMEM leaves st unchanged. */
static int store_add(struct dd_store *st, int32_t idx, uint64_t n)
{
	int32_t lowest;
	int rc = store_cover(st, idx, idx, &lowest);

	if (rc < 0)
		return rc;
	if (idx < lowest)
		idx = lowest;
	st->bins[idx - st->lo] += n;
	return 0;
}

int ddsketch_add_n(struct ddsketch *s, double v, uint64_t n)
{
	int rc = 0;

	if (!isfinite(v) || s->count > UINT64_MAX - n) {
		rc = -EINVAL;
		goto out;
	}
	if (n == 0)
		goto out;
	if (v == 0)
		v = 0; /* -0.0 would make min's encoding non-canonical */
	if (v >= DDSKETCH_MIN_VALUE)
		rc = store_add(&s->pos, sketch_index(s, v), n);
	else if (v <= -DDSKETCH_MIN_VALUE)
		rc = store_add(&s->neg, sketch_index(s, -v), n);
	else
		s->zero_count += n;
	if (rc < 0)
		goto out;
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
	/* The hot path: a positive value inside the current span is one
	 * increment. */
	if (v >= DDSKETCH_MIN_VALUE && v <= DBL_MAX && s->pos.nbins > 0) {
		int32_t idx = sketch_index(s, v);
		uint32_t k = (uint32_t)(idx - s->pos.lo);

		if (idx >= s->pos.lo && k < s->pos.nbins) {
			s->pos.bins[k]++;
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

/* Adds src's bins into dst, whose span already covers src's (lowest kept
 * index `lowest`). */
static void store_merge(struct dd_store *dst, const struct dd_store *src, int32_t lowest)
{
	for (uint32_t k = 0; k < src->nbins; k++) {
		int32_t idx = src->lo + (int32_t)k;

		if (idx < lowest)
			idx = lowest;
		dst->bins[idx - dst->lo] += src->bins[k];
	}
}

/* The bins store_cover will need to take src into dst (src non-empty). */
static uint32_t store_union_bins(const struct dd_store *dst, const struct dd_store *src)
{
	int64_t lo = src->lo, hi = (int64_t)src->lo + src->nbins - 1;

	if (dst->nbins > 0) {
		if (dst->lo < lo)
			lo = dst->lo;
		if ((int64_t)dst->lo + dst->nbins - 1 > hi)
			hi = (int64_t)dst->lo + dst->nbins - 1;
	}
	return hi - lo + 1 > DDSKETCH_MAX_BINS ? DDSKETCH_MAX_BINS : (uint32_t)(hi - lo + 1);
}

int ddsketch_merge(struct ddsketch *dst, const struct ddsketch *src)
{
	int32_t plow = 0, nlow = 0;
	int rc = 0;

	if (dst->alpha != src->alpha || dst->count > UINT64_MAX - src->count) {
		rc = -EINVAL;
		goto out;
	}
	if (src->count == 0)
		goto out;
	/* Reserve both stores before changing either, so -ENOMEM leaves dst
	 * as it was (cover only reserves, collapses and zero-widens: the
	 * counts it moves are still dst's own). */
	if (src->pos.nbins > 0) {
		rc = store_reserve(&dst->pos, store_union_bins(&dst->pos, &src->pos));
		if (rc < 0)
			goto out;
	}
	if (src->neg.nbins > 0) {
		rc = store_reserve(&dst->neg, store_union_bins(&dst->neg, &src->neg));
		if (rc < 0)
			goto out;
	}
	if (src->pos.nbins > 0) {
		rc = store_cover(&dst->pos, src->pos.lo, src->pos.lo + (int32_t)src->pos.nbins - 1,
		                 &plow);
		if (rc < 0)
			goto out;
	}
	if (src->neg.nbins > 0) {
		rc = store_cover(&dst->neg, src->neg.lo, src->neg.lo + (int32_t)src->neg.nbins - 1,
		                 &nlow);
		if (rc < 0)
			goto out;
	}
	store_merge(&dst->pos, &src->pos, plow);
	store_merge(&dst->neg, &src->neg, nlow);
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

/* The value of 0-based rank `rank` in sorted order: the negative store from
 * its highest index (most negative) down, then the zero bin, then the
 * positive store upwards. */
static double sketch_rank_value(const struct ddsketch *s, uint64_t rank)
{
	uint64_t seen = 0;
	double v = s->max;
	bool found = false;

	for (uint32_t k = s->neg.nbins; k-- > 0 && !found;) {
		seen += s->neg.bins[k];
		if (rank < seen) {
			v = -sketch_value(s, s->neg.lo + (int32_t)k);
			found = true;
		}
	}
	if (!found) {
		seen += s->zero_count;
		if (rank < seen) {
			v = 0;
			found = true;
		}
	}
	for (uint32_t k = 0; k < s->pos.nbins && !found; k++) {
		seen += s->pos.bins[k];
		if (rank < seen) {
			v = sketch_value(s, s->pos.lo + (int32_t)k);
			found = true;
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
	return (size_t)s->pos.nbins + s->neg.nbins;
}

size_t ddsketch_memory(const struct ddsketch *s)
{
	return sizeof(*s) + ((size_t)s->pos.alloc + s->neg.alloc) * sizeof(uint64_t);
}

/* ---- encoding ----------------------------------------------------------- */

size_t ddsketch_encoded_bound(const struct ddsketch *s)
{
	/* version, flags, 4 f64, 3 varints, zvarint, one varint per bin; the
	 * negative store adds a varint, a zvarint and its bins. */
	return 2 + 4 * 8 + 6 * BYTES_VARINT_MAX + ddsketch_bin_count(s) * BYTES_VARINT_MAX;
}

static void store_write(const struct dd_store *st, struct bytes_writer *w)
{
	bytes_put_varint(w, st->nbins);
	if (st->nbins > 0)
		bytes_put_zvarint(w, st->lo);
	for (uint32_t k = 0; k < st->nbins; k++)
		bytes_put_varint(w, st->bins[k]);
}

static void sketch_write(const struct ddsketch *s, struct bytes_writer *w)
{
	/* A sketch that never saw a value < 0 keeps the version-1 layout
	 * byte for byte (stored sketches and the golden bytes); one that did
	 * says so in flags and appends its negative store. */
	bool neg = s->count > 0 && s->min < 0;

	bytes_put_u8(w, DDSKETCH_ENCODING_VERSION);
	bytes_put_u8(w, neg ? DDSKETCH_FLAG_NEGATIVE : 0);
	bytes_put_f64(w, s->alpha);
	bytes_put_varint(w, s->count);
	bytes_put_varint(w, s->zero_count);
	bytes_put_f64(w, ddsketch_min(s));
	bytes_put_f64(w, ddsketch_max(s));
	bytes_put_f64(w, s->sum);
	store_write(&s->pos, w);
	if (neg)
		store_write(&s->neg, w);
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

/* Reads one store (varint nbins | zvarint lo | nbins x varint) into st,
 * adding its counts to *total, which may not pass count. Both end bins of
 * a non-empty store must be non-zero (the canonical span). */
static int store_read(const struct ddsketch *s, struct bytes_reader *r, struct dd_store *st,
                      uint64_t count, uint64_t *total)
{
	uint64_t nbins = bytes_get_varint(r);
	int64_t lo, max_index;

	if (r->err || nbins > DDSKETCH_MAX_BINS)
		return -EPROTO;
	if (nbins == 0)
		return 0;
	lo = bytes_get_zvarint(r);
	/* Every representative value must be a finite non-zero double. */
	max_index = (int64_t)floor(700.0 / s->log_gamma);
	/* lo comes from outside: compared so that nothing can overflow. */
	if (r->err || lo < -max_index || lo > max_index - ((int64_t)nbins - 1))
		return -EPROTO;
	/* nbins is bounded above, so this allocation is too. */
	st->bins = malloc((size_t)nbins * sizeof(*st->bins));
	if (!st->bins)
		return -ENOMEM;
	st->alloc = (uint32_t)nbins;
	st->nbins = (uint32_t)nbins;
	st->lo = (int32_t)lo;
	for (uint64_t k = 0; k < nbins; k++) {
		uint64_t c = bytes_get_varint(r);

		if (r->err || c > count - *total)
			return -EPROTO;
		*total += c;
		st->bins[k] = c;
	}
	if (st->bins[0] == 0 || st->bins[nbins - 1] == 0)
		return -EPROTO;
	return 0;
}

int ddsketch_decode(const uint8_t *buf, size_t len, struct ddsketch **out)
{
	struct bytes_reader r;
	struct ddsketch *s = NULL;
	uint64_t count, zero_count, total;
	double alpha, min, max, sum;
	uint8_t flags;
	bool neg;
	int rc = -EPROTO;

	*out = NULL;
	bytes_reader_init(&r, buf, len);
	if (bytes_get_u8(&r) != DDSKETCH_ENCODING_VERSION)
		goto out;
	flags = bytes_get_u8(&r);
	if (flags & ~DDSKETCH_FLAG_NEGATIVE)
		goto out;
	neg = flags & DDSKETCH_FLAG_NEGATIVE;
	alpha = bytes_get_f64(&r);
	count = bytes_get_varint(&r);
	zero_count = bytes_get_varint(&r);
	min = bytes_get_f64(&r);
	max = bytes_get_f64(&r);
	sum = bytes_get_f64(&r);
	if (r.err || !(alpha >= ALPHA_MIN && alpha <= ALPHA_MAX))
		goto out;
	if (!isfinite(min) || !isfinite(max) || !isfinite(sum) || max < min || zero_count > count)
		goto out;
	/* The flag is set exactly when min < 0 (the encoder's rule, so every
	 * sketch has one encoding); without it the version-1 rules hold, and
	 * sign bits catch -0.0, which the encoder never writes. */
	if (neg ? !(min < 0) || signbit(max) != (max < 0)
	        : signbit(min) || signbit(max) || signbit(sum) || sum < 0)
		goto out;
	if (count == 0 && (min != 0 || max != 0 || sum != 0))
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
	total = zero_count;
	rc = store_read(s, &r, &s->pos, count, &total);
	if (rc == 0 && neg)
		rc = store_read(s, &r, &s->neg, count, &total);
	if (rc < 0)
		goto out;
	rc = -EPROTO;
	/* Values below 0 need the negative store or the zero bin, values
	 * above 0 the positive store or the zero bin. */
	if (total != count || (min <= -DDSKETCH_MIN_VALUE && s->neg.nbins == 0) ||
	    (max >= DDSKETCH_MIN_VALUE && s->pos.nbins == 0) ||
	    (s->neg.nbins > 0 && !(min <= -DDSKETCH_MIN_VALUE)) ||
	    (s->pos.nbins > 0 && !(max >= DDSKETCH_MIN_VALUE)))
		goto out;
	if (r.err || bytes_remaining(&r) != 0)
		goto out;
	*out = s;
	s = NULL;
	rc = 0;
out:
	ddsketch_free(s);
	return rc;
}
