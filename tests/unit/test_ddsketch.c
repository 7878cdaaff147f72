/* ddsketch: relative accuracy on real-looking latency distributions, exact
 * merges, bounded size, and a decoder that refuses anything malformed. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "ddsketch.h"
#include "sample.h"

#define N_BIG 1000000

static double gauss(struct sample_rng *r)
{
	/* Box-Muller; 1 - u keeps log away from 0. */
	double u = 1.0 - sample_rng_double(r), v = sample_rng_double(r);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static double *lognormal(size_t n, double mu, double sigma, uint64_t seed)
{
	struct sample_rng r;
	double *x = malloc(n * sizeof(*x));

	cr_assert_not_null(x);
	sample_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++)
		x[i] = exp(mu + sigma * gauss(&r));
	return x;
}

/* 70% around 10 ms, 30% around 200 ms: a cache hit/miss latency profile. */
static double *bimodal(size_t n, uint64_t seed)
{
	struct sample_rng r;
	double *x = malloc(n * sizeof(*x));

	cr_assert_not_null(x);
	sample_rng_seed(&r, seed);
	for (size_t i = 0; i < n; i++) {
		if (sample_rng_double(&r) < 0.7)
			x[i] = exp(log(10.0) + 0.3 * gauss(&r));
		else
			x[i] = exp(log(200.0) + 0.2 * gauss(&r));
	}
	return x;
}

static struct ddsketch *sketch_of(const double *x, size_t n)
{
	struct ddsketch *s = ddsketch_new();

	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ddsketch_add(s, x[i]), 0);
	return s;
}

/* Max relative error over q = 0.01 .. 0.99 step 0.01 and 0.999 against
 * the exact lower-rank quantile, the definition the sketch reports. */
static double max_rel_error(const struct ddsketch *s, double *x, size_t n, const char *what)
{
	double worst = 0, worst_q = 0;

	cr_assert_eq(sample_sort(x, n), 0);
	for (int k = 1; k <= 100; k++) {
		double q = k == 100 ? 0.999 : k / 100.0;
		double exact = x[(size_t)(q * (double)(n - 1))];
		double got, rel;

		cr_assert_eq(ddsketch_quantile(s, q, &got), 0);
		rel = fabs(got - exact) / exact;
		if (rel > worst) {
			worst = rel;
			worst_q = q;
		}
		cr_expect_leq(rel, DDSKETCH_ALPHA + 1e-12,
		              "%s q=%g: sketch %.9g exact %.9g rel %.5f", what, q, got, exact, rel);
	}
	printf("ddsketch %s: 1e6 values, max relative error %.5f (at q=%g)\n", what, worst,
	       worst_q);
	return worst;
}

Test(ddsketch, lognormal_quantiles_within_one_percent)
{
	double *x = lognormal(N_BIG, log(20.0), 1.0, 1);
	struct ddsketch *s = sketch_of(x, N_BIG);
	double q0, q1;

	cr_assert_eq(ddsketch_count(s), N_BIG);
	max_rel_error(s, x, N_BIG, "lognormal");
	/* min and max are exact, as are q = 0 and q = 1. */
	cr_assert_eq(ddsketch_quantile(s, 0, &q0), 0);
	cr_assert_eq(ddsketch_quantile(s, 1, &q1), 0);
	cr_assert_eq(q0, x[0]);
	cr_assert_eq(q1, x[N_BIG - 1]);
	cr_assert_eq(ddsketch_min(s), x[0]);
	cr_assert_eq(ddsketch_max(s), x[N_BIG - 1]);
	ddsketch_free(s);
	free(x);
}

Test(ddsketch, bimodal_quantiles_within_one_percent)
{
	double *x = bimodal(N_BIG, 2);
	struct ddsketch *s = sketch_of(x, N_BIG);
	double sum = 0;

	for (size_t i = 0; i < N_BIG; i++)
		sum += x[i];
	max_rel_error(s, x, N_BIG, "bimodal");
	cr_assert_float_eq(ddsketch_sum(s), sum, 1e-9 * sum);
	cr_assert_float_eq(ddsketch_mean(s), sum / N_BIG, 1e-9 * sum / N_BIG);
	ddsketch_free(s);
	free(x);
}

Test(ddsketch, merge_equals_sketch_of_union)
{
	size_t n = 200000;
	double *x = bimodal(n, 3);
	struct ddsketch *all = sketch_of(x, n);
	struct ddsketch *a = sketch_of(x, n / 3);
	struct ddsketch *b = sketch_of(x + n / 3, n - n / 3);
	struct ddsketch *empty = ddsketch_new();
	uint8_t *ea = NULL, *eb = NULL;
	size_t la, lb;

	cr_assert_eq(ddsketch_merge(a, b), 0);
	cr_assert_eq(ddsketch_merge(a, empty), 0);
	cr_assert_eq(ddsketch_count(a), n);
	cr_assert_eq(ddsketch_min(a), ddsketch_min(all));
	cr_assert_eq(ddsketch_max(a), ddsketch_max(all));
	cr_assert_float_eq(ddsketch_sum(a), ddsketch_sum(all), 1e-9 * ddsketch_sum(all));
	for (int k = 0; k <= 1000; k++) {
		double qa, qb;

		cr_assert_eq(ddsketch_quantile(a, k / 1000.0, &qa), 0);
		cr_assert_eq(ddsketch_quantile(all, k / 1000.0, &qb), 0);
		cr_assert_eq(qa, qb, "q=%g: merged %.17g vs union %.17g", k / 1000.0, qa, qb);
	}
	/* Bins are identical, so encodings differ at most in the f64 sum. */
	cr_assert_eq(ddsketch_encode_alloc(a, &ea, &la), 0);
	cr_assert_eq(ddsketch_encode_alloc(all, &eb, &lb), 0);
	cr_assert_eq(la, lb);
	{
		size_t sum_at = 10 + bytes_varint_len(n) + bytes_varint_len(0) + 16;

		cr_assert_eq(memcmp(ea, eb, sum_at), 0);
		cr_assert_eq(memcmp(ea + sum_at + 8, eb + sum_at + 8, la - sum_at - 8), 0);
	}
	/* Merging into an empty sketch copies. */
	cr_assert_eq(ddsketch_merge(empty, all), 0);
	cr_assert_eq(ddsketch_count(empty), n);
	free(ea);
	free(eb);
	ddsketch_free(all);
	ddsketch_free(a);
	ddsketch_free(b);
	ddsketch_free(empty);
	free(x);
}

Test(ddsketch, zero_tiny_and_invalid_values)
{
	struct ddsketch *s = ddsketch_new();
	double v;

	cr_assert_eq(ddsketch_quantile(s, 0.5, &v), -ENODATA);
	cr_assert_eq(ddsketch_add(s, NAN), -EINVAL);
	cr_assert_eq(ddsketch_add(s, -INFINITY), -EINVAL);
	cr_assert_eq(ddsketch_add(s, INFINITY), -EINVAL);
	cr_assert_eq(ddsketch_count(s), 0);
	cr_assert_eq(ddsketch_add(s, 0), 0);
	cr_assert_eq(ddsketch_add(s, 1e-12), 0); /* below the zero threshold */
	cr_assert_eq(ddsketch_add(s, 1e-9), 0);
	cr_assert_eq(ddsketch_add_n(s, 5.0, 7), 0);
	cr_assert_eq(ddsketch_add_n(s, 5.0, 0), 0);
	cr_assert_eq(ddsketch_count(s), 10);
	cr_assert_eq(ddsketch_quantile(s, 0.1, &v), 0);
	cr_assert_eq(v, 0); /* rank 0: the zero bin, clamped to min */
	cr_assert_eq(ddsketch_quantile(s, 0.2, &v), 0);
	cr_assert_eq(v, 0); /* rank 1 is 1e-12, in the zero bin */
	cr_assert_eq(ddsketch_quantile(s, 0.25, &v), 0);
	cr_assert_float_eq(v, 1e-9, 1e-11); /* rank 2 */
	cr_assert_eq(ddsketch_quantile(s, 0.5, &v), 0);
	cr_assert_float_eq(v, 5.0, 0.05);
	cr_assert_eq(ddsketch_quantile(s, 1.5, &v), -EINVAL);
	cr_assert_eq(ddsketch_quantile(s, NAN, &v), -EINVAL);
	cr_assert_eq(ddsketch_add_n(s, 1.0, UINT64_MAX), -EINVAL);
	cr_assert_eq(ddsketch_count(s), 10);
	ddsketch_reset(s);
	cr_assert_eq(ddsketch_count(s), 0);
	cr_assert_eq(ddsketch_add(s, 3.0), 0);
	cr_assert_eq(ddsketch_quantile(s, 0.5, &v), 0);
	cr_assert_eq(v, 3.0); /* a single value is exact via the clamp */
	ddsketch_free(s);
}

Test(ddsketch, quantiles_batch_matches_single)
{
	double *x = lognormal(10000, 2.0, 0.5, 9);
	struct ddsketch *s = sketch_of(x, 10000);
	const double qs[] = {0.999, 0.5, 0.9, 0.95, 0.99};
	double out[5], one;

	cr_assert_eq(ddsketch_quantiles(s, qs, 5, out), 0);
	for (int i = 0; i < 5; i++) {
		cr_assert_eq(ddsketch_quantile(s, qs[i], &one), 0);
		cr_assert_eq(out[i], one);
	}
	ddsketch_free(s);
	free(x);
}

Test(ddsketch, latency_range_is_compact)
{
	/* 1e6 values log-uniform over 1 us .. 1 h, in ms. */
	struct sample_rng r;
	struct ddsketch *s = ddsketch_new();
	uint8_t *enc = NULL;
	size_t len;

	sample_rng_seed(&r, 4);
	for (int i = 0; i < N_BIG; i++) {
		double v = exp(log(1e-3) + sample_rng_double(&r) * (log(3.6e6) - log(1e-3)));

		cr_assert_eq(ddsketch_add(s, v), 0);
	}
	cr_assert_eq(ddsketch_encode_alloc(s, &enc, &len), 0);
	printf("ddsketch 1e6 values 1us..1h: %zu bins, %zu bytes in memory, "
	       "%zu bytes encoded\n",
	       ddsketch_bin_count(s), ddsketch_memory(s), len);
	/* ln(3.6e9) / ln(1.0202) = 1101 bins at most. */
	cr_assert_leq(ddsketch_bin_count(s), 1102);
	cr_assert_leq(len, 2 + 4 * 8 + 4 * 10 + 1102 * 3);
	cr_assert_leq(ddsketch_memory(s), 256 + DDSKETCH_MAX_BINS * 8);
	free(enc);
	ddsketch_free(s);
}

Test(ddsketch, bins_bounded_and_high_quantiles_kept)
{
	/* 2048 bins of gamma = 1.0202 span 17.8 decades; 1e-9 .. 1e30 needs
	 * more, so the low end collapses and the high end stays accurate. */
	struct ddsketch *s = ddsketch_new();
	struct ddsketch *t = ddsketch_new();
	double v;

	for (int e = -9; e <= 30; e++) {
		cr_assert_eq(ddsketch_add_n(s, pow(10, e), 10), 0);
		cr_assert_eq(ddsketch_add(t, pow(10, -e / 2.0)), 0);
	}
	cr_assert_eq(ddsketch_bin_count(s), DDSKETCH_MAX_BINS);
	cr_assert_leq(ddsketch_memory(s), 256 + DDSKETCH_MAX_BINS * 8);
	cr_assert_eq(ddsketch_quantile(s, 0.99, &v), 0);
	cr_assert_float_eq(v, 1e30, 1e30 * DDSKETCH_ALPHA);
	cr_assert_eq(ddsketch_quantile(s, 0.8, &v), 0);
	cr_assert_float_eq(v, 1e22, 1e22 * DDSKETCH_ALPHA);
	/* Collapsed values are reported at the lowest kept bin: too high,
	 * never too low. */
	cr_assert_eq(ddsketch_quantile(s, 0.1, &v), 0);
	cr_assert_gt(v, 1e-5);
	cr_assert_lt(v, 1e13);
	/* A merge that widens past the cap collapses the same way. */
	cr_assert_eq(ddsketch_merge(t, s), 0);
	cr_assert_leq(ddsketch_bin_count(t), DDSKETCH_MAX_BINS);
	cr_assert_eq(ddsketch_count(t), 40 * 11);
	cr_assert_eq(ddsketch_quantile(t, 0.999, &v), 0);
	cr_assert_float_eq(v, 1e30, 1e30 * DDSKETCH_ALPHA);
	ddsketch_free(s);
	ddsketch_free(t);
}

static void roundtrip(const struct ddsketch *s)
{
	uint8_t *a = NULL, *b = NULL;
	size_t la, lb;
	struct ddsketch *d = NULL;

	cr_assert_eq(ddsketch_encode_alloc(s, &a, &la), 0);
	cr_assert_eq(ddsketch_decode(a, la, &d), 0);
	cr_assert_eq(ddsketch_count(d), ddsketch_count(s));
	cr_assert_eq(ddsketch_encode_alloc(d, &b, &lb), 0);
	cr_assert_eq(la, lb);
	cr_assert_eq(memcmp(a, b, la), 0);
	free(a);
	free(b);
	ddsketch_free(d);
}

Test(ddsketch, encode_decode_roundtrip)
{
	struct ddsketch *s = ddsketch_new();
	double *x = lognormal(5000, 1.0, 2.0, 5);
	uint8_t small[8];
	size_t len;

	roundtrip(s); /* empty */
	cr_assert_eq(ddsketch_add(s, 0), 0);
	roundtrip(s); /* zeros only */
	for (int i = 0; i < 5000; i++)
		cr_assert_eq(ddsketch_add(s, x[i]), 0);
	roundtrip(s);
	cr_assert_eq(ddsketch_encode(s, small, sizeof(small), &len), -ENOSPC);
	ddsketch_free(s);
	free(x);
}

static int decode_rc(const uint8_t *buf, size_t len)
{
	struct ddsketch *d = NULL;
	int rc = ddsketch_decode(buf, len, &d);

	if (rc == 0)
		ddsketch_free(d);
	else
		cr_assert_null(d);
	return rc;
}

Test(ddsketch, decode_rejects_garbage)
{
	struct ddsketch *s = ddsketch_new();
	uint8_t *enc = NULL, *buf;
	size_t len;
	struct sample_rng r;
	int accepted = 0;

	for (int i = 1; i <= 100; i++)
		cr_assert_eq(ddsketch_add(s, i * 1.5), 0);
	cr_assert_eq(ddsketch_encode_alloc(s, &enc, &len), 0);
	cr_assert_eq(decode_rc(enc, len), 0);
	/* Every truncation and any trailing byte is an error. */
	for (size_t l = 0; l < len; l++)
		cr_assert_eq(decode_rc(enc, l), -EPROTO, "truncated at %zu", l);
	buf = malloc(len + 1);
	memcpy(buf, enc, len);
	buf[len] = 0;
	cr_assert_eq(decode_rc(buf, len + 1), -EPROTO);
	cr_assert_eq(decode_rc(NULL, 0), -EPROTO);
	/* Wrong version, flags, alpha. */
	buf[0] = 2;
	cr_assert_eq(decode_rc(buf, len), -EPROTO);
	buf[0] = enc[0];
	buf[1] = 1; /* the negative-store flag on a sketch with min > 0 */
	cr_assert_eq(decode_rc(buf, len), -EPROTO);
	buf[1] = 2; /* an unknown flag */
	cr_assert_eq(decode_rc(buf, len), -EPROTO);
	buf[1] = 0;
	memset(buf + 2, 0xff, 8); /* alpha = NaN */
	cr_assert_eq(decode_rc(buf, len), -EPROTO);
	free(buf);

	/* A header claiming 1e9 bins must not allocate them. */
	{
		uint8_t h[64] = {1, 0};
		double alpha = 0.01, zero = 0, one = 1;
		size_t p = 2;

		memcpy(h + p, &alpha, 8), p += 8;
		h[p++] = 5;                      /* count */
		h[p++] = 0;                      /* zero count */
		memcpy(h + p, &one, 8), p += 8;  /* min */
		memcpy(h + p, &one, 8), p += 8;  /* max */
		memcpy(h + p, &zero, 8), p += 8; /* sum */
		h[p++] = 0x80, h[p++] = 0x94, h[p++] = 0xeb, h[p++] = 0xdc, h[p++] = 0x03;
		h[p++] = 0; /* lo */
		cr_assert_eq(decode_rc(h, p), -EPROTO);
		/* An overlong varint is rejected too. */
		memset(h + 2 + 8, 0xff, 11);
		cr_assert_eq(decode_rc(h, 40), -EPROTO);
	}

	/* Random bytes and random bit flips: never a crash, and whatever is
	 * accepted is canonical (re-encodes to the same bytes). */
	sample_rng_seed(&r, 6);
	buf = malloc(len);
	for (int it = 0; it < 20000; it++) {
		size_t l = it % 2 ? len : (size_t)sample_rng_below(&r, len + 1);
		struct ddsketch *d = NULL;

		if (it % 2) {
			memcpy(buf, enc, len);
			buf[sample_rng_below(&r, len)] ^= (uint8_t)(1u << sample_rng_below(&r, 8));
		} else {
			for (size_t k = 0; k < l; k++)
				buf[k] = (uint8_t)sample_rng_next(&r);
			if (l > 0)
				buf[0] = 1;
		}
		if (ddsketch_decode(buf, l, &d) == 0) {
			uint8_t *again = NULL;
			size_t la;

			accepted++;
			cr_assert_eq(ddsketch_encode_alloc(d, &again, &la), 0);
			cr_assert_eq(la, l);
			cr_assert_eq(memcmp(again, buf, l), 0);
			free(again);
			ddsketch_free(d);
		}
	}
	printf("ddsketch fuzz: %d of 20000 mutated inputs were valid sketches\n", accepted);
	/* Both paths ran: some mutations still decode (and re-encode to the
	 * same bytes), most are refused. */
	cr_expect_gt(accepted, 0);
	cr_expect_lt(accepted, 20000);
	free(buf);
	free(enc);
	ddsketch_free(s);
}

Test(ddsketch, merge_rejects_other_alpha)
{
	/* A sketch decoded from another producer with alpha 0.02. */
	struct ddsketch *s = ddsketch_new(), *d = NULL;
	uint8_t *enc = NULL;
	size_t len;
	double alpha = 0.02;

	cr_assert_eq(ddsketch_add(s, 1), 0);
	cr_assert_eq(ddsketch_encode_alloc(s, &enc, &len), 0);
	memcpy(enc + 2, &alpha, 8);
	cr_assert_eq(ddsketch_decode(enc, len, &d), 0);
	cr_assert_eq(ddsketch_alpha(d), 0.02);
	cr_assert_eq(ddsketch_merge(s, d), -EINVAL);
	cr_assert_eq(ddsketch_count(s), 1);
	free(enc);
	ddsketch_free(s);
	ddsketch_free(d);
}

/* Mixed-sign data (as DataDog's sketches take it): values < 0 go to a
 * mirrored negative store, so every quantile keeps the relative-accuracy
 * guarantee on either side of 0 (issue 14: the peer NumberLine and Linear
 * cases). */
Test(ddsketch, negative_values_within_one_percent)
{
	enum { N = 200000 };
	struct sample_rng r;
	double *x = malloc(N * sizeof(*x)), worst = 0;
	struct ddsketch *s = ddsketch_new();

	cr_assert(x && s);
	sample_rng_seed(&r, 14);
	for (size_t i = 0; i < N; i++) {
		/* 40% negative, a few exact and tiny zeros, wide magnitudes. */
		double m = exp(2.0 * gauss(&r)), u = sample_rng_double(&r);

		x[i] = u < 0.4 ? -m : u < 0.42 ? (u < 0.41 ? 0 : -1e-12) : m;
		cr_assert_eq(ddsketch_add(s, x[i]), 0);
	}
	cr_assert_eq(sample_sort(x, N), 0);
	for (int k = 0; k <= 1000; k++) {
		double q = k / 1000.0, exact = x[(size_t)(q * (double)(N - 1))], got;

		cr_assert_eq(ddsketch_quantile(s, q, &got), 0);
		/* The zero bin answers 0 for |v| < DDSKETCH_MIN_VALUE. */
		cr_expect_leq(fabs(got - exact), DDSKETCH_ALPHA * fabs(exact) + DDSKETCH_MIN_VALUE,
		              "q=%g: sketch %.9g exact %.9g", q, got, exact);
		if (fabs(exact) > DDSKETCH_MIN_VALUE && fabs(got - exact) / fabs(exact) > worst)
			worst = fabs(got - exact) / fabs(exact);
	}
	printf("ddsketch mixed sign: 2e5 values, max relative error %.5f\n", worst);
	cr_expect_eq(ddsketch_min(s), x[0]);
	cr_expect_eq(ddsketch_max(s), x[N - 1]);
	cr_expect_lt(ddsketch_min(s), 0);
	ddsketch_free(s);
	free(x);
}

/* A negative-only and a positive-only sketch merge into the sketch of the
 * union, byte for byte; the encoding round-trips and carries the flag only
 * when min < 0, so positive sketches keep the version-1 bytes. */
Test(ddsketch, negative_merge_and_encoding)
{
	struct ddsketch *all = ddsketch_new(), *neg = ddsketch_new(), *pos = ddsketch_new();
	uint8_t *a = NULL, *b = NULL;
	size_t la, lb;
	double q[3], p[3] = {0.1, 0.5, 0.9};

	cr_assert(all && neg && pos);
	for (int i = -49; i <= 50; i++) {
		struct ddsketch *half = i < 0 ? neg : pos;

		cr_assert_eq(ddsketch_add(all, i), 0);
		cr_assert_eq(ddsketch_add(half, i), 0);
	}
	cr_assert_eq(ddsketch_encode_alloc(pos, &a, &la), 0);
	cr_assert_eq(a[1], 0, "a sketch without negatives has flags 0");
	free(a);
	cr_assert_eq(ddsketch_encode_alloc(neg, &a, &la), 0);
	cr_assert_eq(a[1], DDSKETCH_FLAG_NEGATIVE);
	free(a);
	roundtrip(neg);
	roundtrip(all);
	cr_assert_eq(ddsketch_merge(pos, neg), 0);
	cr_assert_eq(ddsketch_encode_alloc(all, &a, &la), 0);
	cr_assert_eq(ddsketch_encode_alloc(pos, &b, &lb), 0);
	cr_assert_eq(la, lb);
	cr_assert_eq(memcmp(a, b, la), 0, "merge differs from the sketch of the union");
	cr_assert_eq(ddsketch_quantiles(pos, p, 3, q), 0);
	cr_expect_leq(fabs(q[0] - -40), 0.4 + 1e-9, "p10 %g", q[0]);
	cr_expect_eq(q[1], 0, "p50 %g", q[1]); /* rank 49 is the value 0 */
	cr_expect_leq(fabs(q[2] - 40), 0.4 + 1e-9, "p90 %g", q[2]);
	cr_expect_eq(ddsketch_sum(pos), 50);
	free(a);
	free(b);
	ddsketch_free(all);
	ddsketch_free(neg);
	ddsketch_free(pos);
}

/* The negative store is validated like the positive one: flag without
 * min < 0, min < 0 without the flag, a negative store whose values the
 * header does not admit, truncation, trailing bytes; random bit flips
 * never crash and whatever decodes re-encodes to the same bytes. */
Test(ddsketch, negative_decode_rejects_inconsistent)
{
	struct ddsketch *s = ddsketch_new();
	uint8_t *enc = NULL, *buf;
	size_t len;
	struct sample_rng r;
	double v;
	int accepted = 0;

	cr_assert_not_null(s);
	for (int i = 1; i <= 50; i++)
		cr_assert_eq(ddsketch_add(s, -i * 1.5), 0);
	cr_assert_eq(ddsketch_encode_alloc(s, &enc, &len), 0);
	cr_assert_eq(decode_rc(enc, len), 0);
	for (size_t l = 0; l < len; l++)
		cr_assert_eq(decode_rc(enc, l), -EPROTO, "truncated at %zu", l);
	buf = malloc(len + 1);
	cr_assert_not_null(buf);
	memcpy(buf, enc, len);
	buf[len] = 0;
	cr_assert_eq(decode_rc(buf, len + 1), -EPROTO);
	buf[1] = 0; /* min < 0 without the flag */
	cr_assert_eq(decode_rc(buf, len), -EPROTO);
	buf[1] = DDSKETCH_FLAG_NEGATIVE;
	v = 1.0; /* flag with min > 0 */
	memcpy(buf + 2 + 8 + 2, &v, 8);
	cr_assert_eq(decode_rc(buf, len), -EPROTO);
	v = -1e-12; /* negative bins the min cannot hold */
	memcpy(buf + 2 + 8 + 2, &v, 8);
	cr_assert_eq(decode_rc(buf, len), -EPROTO);

	sample_rng_seed(&r, 15);
	for (int it = 0; it < 20000; it++) {
		struct ddsketch *d = NULL;

		memcpy(buf, enc, len);
		buf[sample_rng_below(&r, len)] ^= (uint8_t)(1u << sample_rng_below(&r, 8));
		if (ddsketch_decode(buf, len, &d) == 0) {
			uint8_t *again = NULL;
			size_t la;

			accepted++;
			cr_assert_eq(ddsketch_encode_alloc(d, &again, &la), 0);
			cr_assert_eq(la, len);
			cr_assert_eq(memcmp(again, buf, len), 0);
			free(again);
			ddsketch_free(d);
		} else {
			cr_assert_null(d);
		}
	}
	printf("ddsketch negative fuzz: %d of 20000 bit flips decoded\n", accepted);
	cr_expect_lt(accepted, 20000);
	free(buf);
	free(enc);
	ddsketch_free(s);
}
