/* sample: reservoir, sorted samples, quantiles, category tables (sample.h). */
#include "sample.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"

#define RESERVOIR_VERSION 1
#define CATS_VERSION      1

/* ---- PRNG ---------------------------------------------------------------- */

void sample_rng_seed(struct sample_rng *r, uint64_t seed)
{
	r->state = seed;
}

/* splitmix64 (Steele, Lea, Flood 2014): passes BigCrush, one add per step,
 * and every seed (including 0) is a good one. */
uint64_t sample_rng_next(struct sample_rng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double sample_rng_double(struct sample_rng *r)
{
	return (double)(sample_rng_next(r) >> 11) * 0x1.0p-53;
}

/* Lemire's multiply-shift with rejection: unbiased for every bound. */
uint64_t sample_rng_below(struct sample_rng *r, uint64_t bound)
{
	unsigned __int128 m = (unsigned __int128)sample_rng_next(r) * bound;
	uint64_t low = (uint64_t)m;

	if (low < bound) {
		uint64_t t = -bound % bound;

		while (low < t) {
			m = (unsigned __int128)sample_rng_next(r) * bound;
			low = (uint64_t)m;
		}
	}
	return (uint64_t)(m >> 64);
}

/* ---- reservoir ------------------------------------------------------------ */

int sample_reservoir_init(struct sample_reservoir *r, size_t cap, uint64_t seed)
{
	memset(r, 0, sizeof(*r));
	if (cap == 0)
		return -EINVAL;
	r->cap = cap;
	sample_rng_seed(&r->rng, seed);
	return 0;
}

void sample_reservoir_fini(struct sample_reservoir *r)
{
	free(r->values);
	r->values = NULL;
	r->len = 0;
	r->alloc = 0;
	r->seen = 0;
}

void sample_reservoir_reset(struct sample_reservoir *r)
{
	r->len = 0;
	r->seen = 0;
}

/* Grows the value array to hold at least n (<= cap) values; a window often
 * sees far fewer values than the cap, so memory follows use. */
static int reservoir_reserve(struct sample_reservoir *r, size_t n)
{
	size_t a = r->alloc ? r->alloc : 64;
	double *v;

	if (n <= r->alloc)
		return 0;
	while (a < n)
		a *= 2;
	if (a > r->cap)
		a = r->cap;
	v = realloc(r->values, a * sizeof(*v));
	if (!v)
		return -ENOMEM;
	r->values = v;
	r->alloc = a;
	return 0;
}

int sample_reservoir_add(struct sample_reservoir *r, double v)
{
	int rc = 0;

	if (!isfinite(v)) {
		rc = -EINVAL;
		goto out;
	}
	if (r->len < r->cap) {
		rc = reservoir_reserve(r, r->len + 1);
		if (rc < 0)
			goto out;
		r->values[r->len++] = v;
		r->seen++;
		goto out;
	}
	/* Algorithm R: the seen-th value replaces a random slot with
	 * probability cap / seen. */
	r->seen++;
	{
		uint64_t j = sample_rng_below(&r->rng, r->seen);

		if (j < r->cap)
			r->values[j] = v;
	}
out:
	return rc;
}

/* Moves a uniform choice of k of v[0..n) to out (partial Fisher-Yates;
 * v is reordered). */
static void pick(struct sample_rng *rng, double *v, size_t n, size_t k, double *out)
{
	for (size_t i = 0; i < k; i++) {
		size_t j = i + (size_t)sample_rng_below(rng, n - i);
		double t = v[i];

		v[i] = v[j];
		v[j] = t;
		out[i] = v[i];
	}
}

int sample_reservoir_merge(struct sample_reservoir *dst, const struct sample_reservoir *src)
{
	double *a = NULL, *b = NULL, *out = NULL;
	size_t na, nb, k, ka, kb;
	double pb;
	int rc = 0;

	if (src->seen == 0)
		goto out;
	/* Both complete and small enough: the union is exact. */
	if (dst->len + src->len <= dst->cap && dst->seen == dst->len && src->seen == src->len) {
		rc = reservoir_reserve(dst, dst->len + src->len);
		if (rc < 0)
			goto out;
		memcpy(dst->values + dst->len, src->values, src->len * sizeof(*src->values));
		dst->len += src->len;
		dst->seen += src->seen;
		goto out;
	}
	na = dst->len;
	nb = src->len;
	k = na + nb < dst->cap ? na + nb : dst->cap;
	a = malloc((na ? na : 1) * sizeof(*a));
	b = malloc((nb ? nb : 1) * sizeof(*b));
	out = malloc((k ? k : 1) * sizeof(*out));
	if (!a || !b || !out) {
		rc = -ENOMEM;
		goto out;
	}
	if (na)
		memcpy(a, dst->values, na * sizeof(*a));
	if (nb)
		memcpy(b, src->values, nb * sizeof(*b));
	/* A uniform sample of k from the merged stream holds a binomial
	 * share of src's values (p = src->seen / total; hypergeometric,
	 * strictly, but k is far below the stream sizes). Each side's
	 * share is then a uniform pick from its own uniform sample. */
	pb = (double)src->seen / ((double)dst->seen + (double)src->seen);
	kb = 0;
	for (size_t i = 0; i < k; i++)
		kb += sample_rng_double(&dst->rng) < pb;
	if (kb > nb)
		kb = nb;
	ka = k - kb;
	if (ka > na) {
		ka = na;
		kb = k - ka;
	}
	pick(&dst->rng, a, na, ka, out);
	pick(&dst->rng, b, nb, kb, out + ka);
	free(dst->values);
	dst->values = out;
	out = NULL;
	dst->alloc = k ? k : 1;
	dst->len = k;
	dst->seen += src->seen;
out:
	free(a);
	free(b);
	free(out);
	return rc;
}

size_t sample_reservoir_encoded_size(const struct sample_reservoir *r)
{
	return 1 + bytes_varint_len(r->seen) + 8 + bytes_varint_len(r->len) + r->len * 8;
}

int sample_reservoir_encode(const struct sample_reservoir *r, uint8_t *buf, size_t cap, size_t *len)
{
	struct bytes_writer w;

	bytes_writer_init(&w, buf, cap);
	bytes_put_u8(&w, RESERVOIR_VERSION);
	bytes_put_varint(&w, r->seen);
	bytes_put_u64(&w, r->rng.state);
	bytes_put_varint(&w, r->len);
	for (size_t i = 0; i < r->len; i++)
		bytes_put_f64(&w, r->values[i]);
	if (w.overflow || !buf)
		return -ENOSPC;
	*len = w.len;
	return 0;
}

int sample_reservoir_decode(struct sample_reservoir *r, size_t cap, const uint8_t *buf, size_t len)
{
	struct bytes_reader rd;
	uint64_t seen, n;
	int rc = -EPROTO;

	if (sample_reservoir_init(r, cap, 0) < 0)
		return -EINVAL;
	bytes_reader_init(&rd, buf, len);
	if (bytes_get_u8(&rd) != RESERVOIR_VERSION)
		goto out;
	seen = bytes_get_varint(&rd);
	r->rng.state = bytes_get_u64(&rd);
	n = bytes_get_varint(&rd);
	/* Check the count against the bytes present before allocating. */
	if (rd.err || n > cap || n > seen || n > SIZE_MAX / 8 || bytes_remaining(&rd) != n * 8)
		goto out;
	if (n > 0) {
		rc = reservoir_reserve(r, (size_t)n);
		if (rc < 0)
			goto out;
		rc = -EPROTO;
	}
	for (uint64_t i = 0; i < n; i++) {
		double v = bytes_get_f64(&rd);

		if (!isfinite(v))
			goto out;
		r->values[i] = v;
	}
	r->len = (size_t)n;
	r->seen = seen;
	rc = 0;
out:
	if (rc < 0)
		sample_reservoir_fini(r);
	return rc;
}

/* ---- sorting and quantiles -------------------------------------------------- */

/* Order-preserving map of finite doubles to unsigned integers: flip all
 * bits of negatives, only the sign bit of positives. */
static uint64_t sort_key(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return (u >> 63) ? ~u : u | (1ULL << 63);
}

static double sort_unkey(uint64_t k)
{
	uint64_t u = (k >> 63) ? k & ~(1ULL << 63) : ~k;
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

static int cmp_double(const void *pa, const void *pb)
{
	double a = *(const double *)pa, b = *(const double *)pb;

	return (a > b) - (a < b);
}

#define RADIX_BITS   11
#define RADIX_SIZE   (1u << RADIX_BITS)
#define RADIX_PASSES 6 /* 6 x 11 bits >= 64 */
/* Below this a comparison sort is cheaper than six histogram passes. */
#define RADIX_MIN 512

int sample_sort(double *v, size_t n)
{
	uint64_t *keys = NULL, *tmp, *src, *dst;
	size_t *hist = NULL;
	int rc = 0;

	if (n < RADIX_MIN) {
		qsort(v, n, sizeof(*v), cmp_double);
		goto out;
	}
	keys = malloc(2 * n * sizeof(*keys));
	hist = calloc(RADIX_PASSES * RADIX_SIZE, sizeof(*hist));
	if (!keys || !hist) {
		rc = -ENOMEM;
		goto out;
	}
	tmp = keys + n;
	for (size_t i = 0; i < n; i++) {
		uint64_t k = sort_key(v[i]);

		keys[i] = k;
		for (int p = 0; p < RADIX_PASSES; p++)
			hist[p * RADIX_SIZE + ((k >> (p * RADIX_BITS)) & (RADIX_SIZE - 1))]++;
	}
	src = keys;
	dst = tmp;
	for (int p = 0; p < RADIX_PASSES; p++) {
		size_t *h = hist + p * RADIX_SIZE;
		size_t sum = 0;
		unsigned shift = (unsigned)p * RADIX_BITS;

		/* A digit every key shares (e.g. the exponent of data in one
		 * octave) does not reorder anything. */
		if (h[(src[0] >> shift) & (RADIX_SIZE - 1)] == n)
			continue;
		for (size_t d = 0; d < RADIX_SIZE; d++) {
			size_t c = h[d];

			h[d] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++) {
			uint64_t k = src[i];

			dst[h[(k >> shift) & (RADIX_SIZE - 1)]++] = k;
		}
		{
			uint64_t *t = src;

			src = dst;
			dst = t;
		}
	}
	for (size_t i = 0; i < n; i++)
		v[i] = sort_unkey(src[i]);
out:
	free(keys);
	free(hist);
	return rc;
}

double sample_quantile_sorted(const double *x, size_t n, double q)
{
	/* numpy "linear": virtual index (n - 1) q, then _lerp, which
	 * interpolates from the nearer end so q = 1 - eps stays exact. */
	double virt = (double)(n - 1) * q;
	double prev, gamma, a, b, diff;
	size_t i;

	if (n == 0)
		return 0;
	if (!(virt < (double)(n - 1)))
		return x[n - 1];
	if (virt < 0)
		return x[0];
	prev = floor(virt);
	i = (size_t)prev;
	gamma = virt - prev;
	a = x[i];
	b = x[i + 1];
	diff = b - a;
	if (gamma >= 0.5)
		return b - diff * (1 - gamma);
	return a + diff * gamma;
}

void sample_ref_edges(const double *x, size_t n, double edges[SAMPLE_BINS - 1])
{
	for (int i = 1; i < SAMPLE_BINS; i++) {
		/* numpy.percentile divides by 100; do the same so q is the
		 * identical double. */
		double q = (double)(i * 100 / SAMPLE_BINS) / 100.0;

		edges[i - 1] = sample_quantile_sorted(x, n, q);
	}
}

size_t sample_bin_index(const double edges[SAMPLE_BINS - 1], double v)
{
	size_t idx = 0;

	for (int i = 0; i < SAMPLE_BINS - 1; i++)
		idx += edges[i] < v;
	return idx;
}

/* Four doubles and their bin indexes as one GCC/Clang vector: the 9 edge
 * comparisons of 4 values run as 9 vector compares (2 SSE2 ops each on the
 * x86-64 baseline) instead of 36 scalar ones. */
typedef double bin_v2df __attribute__((vector_size(16)));
typedef int64_t bin_v2di __attribute__((vector_size(16)));

void sample_bin_counts(const double edges[SAMPLE_BINS - 1], const double *x, size_t n,
                       uint64_t counts[SAMPLE_BINS])
{
	/* Four interleaved histograms keep consecutive values in one bin from
	 * chaining every increment on the previous store (3x faster on a 10k
	 * window). Chunks of 2^30 values keep the 32-bit partial counts from
	 * wrapping. The index of a value is the number of edges strictly below
	 * it, as sample_bin_index (a NaN compares false: bin 0). */
	uint32_t part[4][SAMPLE_BINS];
	bin_v2df ev[SAMPLE_BINS - 1];
	size_t i = 0;

	for (int e = 0; e < SAMPLE_BINS - 1; e++)
		ev[e] = (bin_v2df){edges[e], edges[e]};
	while (i < n) {
		size_t end = n - i > ((size_t)1 << 30) ? i + ((size_t)1 << 30) : n;

		memset(part, 0, sizeof(part));
		for (; i + 4 <= end; i += 4) {
			bin_v2df v, w;
			bin_v2di a = {0, 0}, b = {0, 0};

			memcpy(&v, x + i, sizeof(v)); /* x need not be 16-byte aligned */
			memcpy(&w, x + i + 2, sizeof(w));
			/* A true comparison is -1 in its lane. */
			for (int e = 0; e < SAMPLE_BINS - 1; e++) {
				a -= (bin_v2di)(ev[e] < v);
				b -= (bin_v2di)(ev[e] < w);
			}
			part[0][a[0]]++;
			part[1][a[1]]++;
			part[2][b[0]]++;
			part[3][b[1]]++;
		}
		for (; i < end; i++)
			counts[sample_bin_index(edges, x[i])]++;
		for (int k = 0; k < 4; k++)
			for (int b = 0; b < SAMPLE_BINS; b++)
				counts[b] += part[k][b];
	}
}

void sample_mean_std(const double *x, size_t n, double *mean, double *std)
{
	double s = 0, ss = 0, m;

	*mean = 0;
	*std = 0;
	if (n == 0)
		return;
	for (size_t i = 0; i < n; i++)
		s += x[i];
	m = s / (double)n;
	for (size_t i = 0; i < n; i++)
		ss += (x[i] - m) * (x[i] - m);
	*mean = m;
	*std = sqrt(ss / (double)n);
}

/* ---- categorical frequency table ------------------------------------------ */

static uint64_t cats_hash(const char *s, size_t len)
{
	/* FNV-1a: short names, no adversarial pressure worth SipHash here
	 * since the table size is bounded. */
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

void sample_cats_init(struct sample_cats *t, size_t max_distinct)
{
	memset(t, 0, sizeof(*t));
	t->max_distinct = max_distinct ? max_distinct : SAMPLE_CATS_MAX_DISTINCT;
	if (t->max_distinct > SAMPLE_CATS_MAX_DISTINCT)
		t->max_distinct = SAMPLE_CATS_MAX_DISTINCT;
}

void sample_cats_fini(struct sample_cats *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->cats[i].name);
	free(t->cats);
	free(t->slots);
	free(t->top);
	memset(t, 0, sizeof(*t));
}

/* Slot of name: its entry's slot, or the empty slot where it would go. */
static size_t cats_slot(const struct sample_cats *t, const char *name, size_t len, uint64_t h)
{
	size_t mask = t->nslots - 1;
	size_t i = (size_t)h & mask;

	while (t->slots[i]) {
		const struct sample_cat *c = &t->cats[t->slots[i] - 1];

		if (c->name_len == len && memcmp(c->name, name, len) == 0)
			break;
		i = (i + 1) & mask;
	}
	return i;
}

/* Keeps the load factor at or below 1/2 for n entries. */
static int cats_grow(struct sample_cats *t, size_t n)
{
	size_t ns = t->nslots ? t->nslots : 64;
	uint32_t *slots;

	if (n * 2 <= t->nslots)
		return 0;
	while (n * 2 > ns)
		ns *= 2;
	slots = calloc(ns, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t e = 0; e < t->n; e++) {
		const struct sample_cat *c = &t->cats[e];
		size_t i = (size_t)cats_hash(c->name, c->name_len) & (ns - 1);

		while (slots[i])
			i = (i + 1) & (ns - 1);
		slots[i] = (uint32_t)(e + 1);
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = ns;
	return 0;
}

const struct sample_cat *sample_cats_find(const struct sample_cats *t, const char *name, size_t len)
{
	size_t i;

	if (t->nslots == 0)
		return NULL;
	i = cats_slot(t, name, len, cats_hash(name, len));
	return t->slots[i] ? &t->cats[t->slots[i] - 1] : NULL;
}

int sample_cats_add(struct sample_cats *t, const char *name, size_t len, uint64_t n)
{
	const struct sample_cat *found;
	struct sample_cat *c;
	size_t i;
	char *copy = NULL;
	int rc = 0;

	if (len > SAMPLE_CAT_NAME_MAX || (len > 0 && !name) || t->total > UINT64_MAX - n) {
		rc = -EINVAL;
		goto out;
	}
	if (!name)
		name = ""; /* len is 0: keep NULL away from memcmp */
	found = sample_cats_find(t, name, len);
	if (found) {
		((struct sample_cat *)found)->count += n;
		goto counted;
	}
	if (t->n >= t->max_distinct) {
		t->overflow += n;
		goto counted;
	}
	rc = cats_grow(t, t->n + 1);
	if (rc < 0)
		goto out;
	if (t->n == t->cats_alloc) {
		size_t a = t->cats_alloc ? t->cats_alloc * 2 : 16;
		struct sample_cat *cats = realloc(t->cats, a * sizeof(*cats));

		if (!cats) {
			rc = -ENOMEM;
			goto out;
		}
		t->cats = cats;
		t->cats_alloc = a;
	}
	copy = malloc(len + 1);
	if (!copy) {
		rc = -ENOMEM;
		goto out;
	}
	if (len)
		memcpy(copy, name, len);
	copy[len] = '\0';
	i = cats_slot(t, name, len, cats_hash(name, len));
	c = &t->cats[t->n];
	c->name = copy;
	c->name_len = len;
	c->count = n;
	c->cell = -1;
	copy = NULL;
	t->slots[i] = (uint32_t)(++t->n);
counted:
	t->total += n;
	t->ranked = false;
out:
	free(copy);
	return rc;
}

static int cats_cmp_name(const struct sample_cat *a, const struct sample_cat *b)
{
	size_t m = a->name_len < b->name_len ? a->name_len : b->name_len;
	int c = m ? memcmp(a->name, b->name, m) : 0;

	if (c)
		return c;
	return (a->name_len > b->name_len) - (a->name_len < b->name_len);
}

/* qsort has no context argument in C11; rank through a sort of pointers. */
static int cats_cmp_rank(const void *pa, const void *pb)
{
	const struct sample_cat *a = *(const struct sample_cat *const *)pa;
	const struct sample_cat *b = *(const struct sample_cat *const *)pb;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return cats_cmp_name(a, b);
}

int sample_cats_rank(struct sample_cats *t, size_t top)
{
	struct sample_cat **order = NULL;
	uint32_t *tops = NULL;
	size_t ntop;
	int rc = 0;

	if (top == 0 || top > SAMPLE_CATS_TOP)
		top = SAMPLE_CATS_TOP;
	ntop = t->n < top ? t->n : top;
	order = malloc((t->n ? t->n : 1) * sizeof(*order));
	tops = malloc((ntop ? ntop : 1) * sizeof(*tops));
	if (!order || !tops) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < t->n; i++)
		order[i] = &t->cats[i];
	qsort(order, t->n, sizeof(*order), cats_cmp_rank);
	for (size_t i = 0; i < t->n; i++)
		order[i]->cell = (int32_t)(i < ntop ? i : ntop);
	for (size_t i = 0; i < ntop; i++)
		tops[i] = (uint32_t)(order[i] - t->cats);
	free(t->top);
	t->top = tops;
	tops = NULL;
	t->ntop = ntop;
	t->has_other = t->n > ntop || t->overflow > 0;
	t->ranked = true;
out:
	free(order);
	free(tops);
	return rc;
}

size_t sample_cats_ncells(const struct sample_cats *t)
{
	return t->ranked ? t->ntop + (t->has_other ? 1 : 0) : 0;
}

uint64_t sample_cats_cell_count(const struct sample_cats *t, size_t c)
{
	uint64_t sum = 0;

	if (!t->ranked)
		return 0;
	if (c < t->ntop)
		return t->cats[t->top[c]].count;
	if (c == t->ntop && t->has_other) {
		sum = t->total;
		for (size_t i = 0; i < t->ntop; i++)
			sum -= t->cats[t->top[i]].count;
	}
	return sum;
}

int32_t sample_cats_cell(const struct sample_cats *t, const char *name, size_t len)
{
	const struct sample_cat *c;

	if (!t->ranked)
		return -1;
	c = sample_cats_find(t, name, len);
	return c ? c->cell : -1;
}

size_t sample_cats_encoded_size(const struct sample_cats *t)
{
	size_t n = 1 + bytes_varint_len(t->n) + bytes_varint_len(t->overflow);

	for (size_t i = 0; i < t->n; i++)
		n += bytes_varint_len(t->cats[i].name_len) + t->cats[i].name_len +
		     bytes_varint_len(t->cats[i].count);
	return n;
}

int sample_cats_encode(const struct sample_cats *t, uint8_t *buf, size_t cap, size_t *len)
{
	struct bytes_writer w;

	bytes_writer_init(&w, buf, cap);
	bytes_put_u8(&w, CATS_VERSION);
	bytes_put_varint(&w, t->n);
	bytes_put_varint(&w, t->overflow);
	for (size_t i = 0; i < t->n; i++) {
		bytes_put_varint(&w, t->cats[i].name_len);
		bytes_put_raw(&w, t->cats[i].name, t->cats[i].name_len);
		bytes_put_varint(&w, t->cats[i].count);
	}
	if (w.overflow || !buf)
		return -ENOSPC;
	*len = w.len;
	return 0;
}

int sample_cats_decode(struct sample_cats *t, const uint8_t *buf, size_t len)
{
	struct bytes_reader r;
	uint64_t n, overflow;
	int rc = -EPROTO;

	sample_cats_init(t, 0);
	bytes_reader_init(&r, buf, len);
	if (bytes_get_u8(&r) != CATS_VERSION)
		goto out;
	n = bytes_get_varint(&r);
	overflow = bytes_get_varint(&r);
	/* Each entry takes at least 2 bytes, which bounds n by the input. */
	if (r.err || n > SAMPLE_CATS_MAX_DISTINCT || n > bytes_remaining(&r) / 2)
		goto out;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t nl = bytes_get_varint(&r);
		const uint8_t *name;
		uint64_t count;

		if (r.err || nl > SAMPLE_CAT_NAME_MAX)
			goto out;
		name = bytes_get_raw(&r, (size_t)nl);
		count = bytes_get_varint(&r);
		if (r.err || count == 0 || sample_cats_find(t, (const char *)name, (size_t)nl))
			goto out;
		rc = sample_cats_add(t, (const char *)name, (size_t)nl, count);
		if (rc < 0) {
			if (rc == -EINVAL)
				rc = -EPROTO; /* total overflow */
			goto out;
		}
		rc = -EPROTO;
	}
	if (r.err || bytes_remaining(&r) != 0 || t->total > UINT64_MAX - overflow)
		goto out;
	t->overflow = overflow;
	t->total += overflow;
	rc = 0;
out:
	if (rc < 0)
		sample_cats_fini(t);
	return rc;
}
