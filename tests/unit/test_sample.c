/* sample: a reproducible RNG, reservoirs that are uniform and merge by
 * weight, a radix sort that agrees with qsort, numpy's quantiles, and
 * category tables ranked the contract's way. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sample.h"

Test(sample, rng_is_deterministic_and_in_range)
{
	struct sample_rng a, b;
	uint64_t buckets[10] = {0};
	double chi2 = 0;

	sample_rng_seed(&a, 42);
	sample_rng_seed(&b, 42);
	for (int i = 0; i < 1000; i++)
		cr_assert_eq(sample_rng_next(&a), sample_rng_next(&b));
	for (int i = 0; i < 100000; i++) {
		double d = sample_rng_double(&a);
		uint64_t k = sample_rng_below(&a, 10);

		cr_assert(d >= 0 && d < 1);
		cr_assert_lt(k, 10);
		buckets[k]++;
	}
	for (int i = 0; i < 10; i++)
		chi2 += (buckets[i] - 10000.0) * (buckets[i] - 10000.0) / 10000.0;
	/* chi2 with 9 dof: 27.9 is the 0.1% critical value. */
	cr_expect_lt(chi2, 27.9, "chi2 %g", chi2);
	cr_expect_eq(sample_rng_below(&a, 1), 0);
}

Test(sample, reservoir_keeps_everything_below_capacity)
{
	struct sample_reservoir r;

	cr_assert_eq(sample_reservoir_init(&r, 100, 1), 0);
	for (int i = 0; i < 70; i++)
		cr_assert_eq(sample_reservoir_add(&r, i), 0);
	cr_expect_eq(r.len, 70);
	cr_expect_eq(r.seen, 70);
	for (int i = 0; i < 70; i++)
		cr_expect_eq(r.values[i], i);
	cr_expect_eq(sample_reservoir_add(&r, NAN), -EINVAL);
	cr_expect_eq(sample_reservoir_add(&r, -INFINITY), -EINVAL);
	cr_expect_eq(r.seen, 70);
	sample_reservoir_reset(&r);
	cr_expect_eq(r.len, 0);
	cr_expect_eq(r.seen, 0);
	sample_reservoir_fini(&r);
	cr_expect_eq(sample_reservoir_init(&r, 0, 1), -EINVAL);
}

Test(sample, reservoir_is_uniform)
{
	/* Each of 20 items must be kept with probability 5/20. */
	int kept[20] = {0};
	const int trials = 20000;

	for (int t = 0; t < trials; t++) {
		struct sample_reservoir r;

		cr_assert_eq(sample_reservoir_init(&r, 5, (uint64_t)t), 0);
		for (int i = 0; i < 20; i++)
			cr_assert_eq(sample_reservoir_add(&r, i), 0);
		cr_assert_eq(r.len, 5);
		for (size_t k = 0; k < r.len; k++)
			kept[(int)r.values[k]]++;
		sample_reservoir_fini(&r);
	}
	for (int i = 0; i < 20; i++) {
		double p = (double)kept[i] / trials;

		/* sd = sqrt(.25 * .75 / 20000) = 0.003; allow 5 sd. */
		cr_expect_float_eq(p, 0.25, 0.016, "item %d kept with p=%g", i, p);
	}
}

Test(sample, reservoir_bounded_on_long_streams)
{
	struct sample_reservoir r;
	double sum = 0;

	cr_assert_eq(sample_reservoir_init(&r, SAMPLE_WINDOW_MAX, 3), 0);
	for (int i = 0; i < 200000; i++)
		cr_assert_eq(sample_reservoir_add(&r, i), 0);
	cr_expect_eq(r.len, SAMPLE_WINDOW_MAX);
	cr_expect_leq(r.alloc, SAMPLE_WINDOW_MAX);
	cr_expect_eq(r.seen, 200000);
	for (size_t k = 0; k < r.len; k++)
		sum += r.values[k];
	/* Mean of a uniform sample of 0..199999: 100000 +- 3 * 577. */
	cr_expect_float_eq(sum / r.len, 100000, 1800, "mean %g", sum / r.len);
	sample_reservoir_fini(&r);
}

Test(sample, reservoir_merge_weights_by_seen)
{
	struct sample_reservoir a, b, c, d;
	size_t ones = 0;

	cr_assert_eq(sample_reservoir_init(&a, 1000, 1), 0);
	cr_assert_eq(sample_reservoir_init(&b, 1000, 2), 0);
	for (int i = 0; i < 30000; i++)
		cr_assert_eq(sample_reservoir_add(&a, 0), 0);
	for (int i = 0; i < 10000; i++)
		cr_assert_eq(sample_reservoir_add(&b, 1), 0);
	cr_assert_eq(sample_reservoir_merge(&a, &b), 0);
	cr_expect_eq(a.seen, 40000);
	cr_expect_eq(a.len, 1000);
	for (size_t k = 0; k < a.len; k++)
		ones += a.values[k] == 1;
	/* A quarter of the merged stream came from b: 250 +- 3 * 13.7. */
	cr_expect(ones > 200 && ones < 300, "ones %zu", ones);
	cr_expect_eq(b.seen, 10000); /* src unchanged */

	/* Two complete small samples merge exactly. */
	cr_assert_eq(sample_reservoir_init(&c, 10, 1), 0);
	cr_assert_eq(sample_reservoir_init(&d, 10, 1), 0);
	cr_assert_eq(sample_reservoir_add(&c, 1.5), 0);
	cr_assert_eq(sample_reservoir_add(&d, 2.5), 0);
	cr_assert_eq(sample_reservoir_add(&d, 3.5), 0);
	cr_assert_eq(sample_reservoir_merge(&c, &d), 0);
	cr_expect_eq(c.len, 3);
	cr_expect_eq(c.seen, 3);
	cr_expect_eq(c.values[0], 1.5);
	cr_expect_eq(c.values[2], 3.5);
	/* Merging an empty one changes nothing; merging into an empty one
	 * takes the other's values. */
	sample_reservoir_reset(&d);
	cr_assert_eq(sample_reservoir_merge(&c, &d), 0);
	cr_expect_eq(c.len, 3);
	cr_assert_eq(sample_reservoir_merge(&d, &a), 0);
	cr_expect_eq(d.len, 10);
	cr_expect_eq(d.seen, 40000);
	sample_reservoir_fini(&a);
	sample_reservoir_fini(&b);
	sample_reservoir_fini(&c);
	sample_reservoir_fini(&d);
}

Test(sample, reservoir_encode_decode)
{
	struct sample_reservoir r, back;
	uint8_t *buf;
	size_t cap, len;

	cr_assert_eq(sample_reservoir_init(&r, 50, 9), 0);
	for (int i = 0; i < 80; i++)
		cr_assert_eq(sample_reservoir_add(&r, i * 0.5 - 3), 0);
	cap = sample_reservoir_encoded_size(&r);
	buf = malloc(cap);
	cr_assert_eq(sample_reservoir_encode(&r, buf, cap, &len), 0);
	cr_expect_eq(len, cap);
	cr_assert_eq(sample_reservoir_encode(&r, buf, cap - 1, &len), -ENOSPC);
	cr_assert_eq(sample_reservoir_encode(&r, buf, cap, &len), 0);
	cr_assert_eq(sample_reservoir_decode(&back, 50, buf, len), 0);
	cr_expect_eq(back.len, r.len);
	cr_expect_eq(back.seen, 80);
	cr_expect_eq(back.rng.state, r.rng.state);
	cr_expect_eq(memcmp(back.values, r.values, r.len * sizeof(double)), 0);
	/* The next value lands in the same place in both. */
	cr_assert_eq(sample_reservoir_add(&r, 1000), 0);
	cr_assert_eq(sample_reservoir_add(&back, 1000), 0);
	cr_expect_eq(memcmp(back.values, r.values, r.len * sizeof(double)), 0);
	sample_reservoir_fini(&back);
	/* More values than the capacity, truncation, trailing bytes, NaN. */
	cr_expect_eq(sample_reservoir_decode(&back, 49, buf, len), -EPROTO);
	for (size_t l = 0; l < len; l++)
		cr_expect_eq(sample_reservoir_decode(&back, 50, buf, l), -EPROTO);
	memset(buf + len - 8, 0xff, 8);
	cr_expect_eq(sample_reservoir_decode(&back, 50, buf, len), -EPROTO);
	cr_expect_eq(back.values, NULL);
	free(buf);
	sample_reservoir_fini(&r);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

Test(sample, radix_sort_matches_qsort)
{
	const size_t sizes[] = {0, 1, 2, 511, 512, 513, 4096, 100000};
	struct sample_rng r;

	sample_rng_seed(&r, 5);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t n = sizes[s];
		double *a = malloc((n ? n : 1) * sizeof(*a)), *b = malloc((n ? n : 1) * sizeof(*b));

		for (size_t i = 0; i < n; i++) {
			switch (sample_rng_below(&r, 6)) {
			case 0:
				a[i] = (double)sample_rng_below(&r, 5) - 2; /* ties */
				break;
			case 1:
				a[i] = (sample_rng_double(&r) - 0.5) * 1e300;
				break;
			case 2:
				a[i] = (sample_rng_double(&r) - 0.5) * 1e-300;
				break;
			case 3:
				a[i] = 0.0;
				break;
			default:
				a[i] = sample_rng_double(&r) * 100 - 50;
			}
		}
		memcpy(b, a, n * sizeof(*a));
		cr_assert_eq(sample_sort(a, n), 0);
		qsort(b, n, sizeof(*b), cmp);
		for (size_t i = 0; i < n; i++)
			cr_assert_eq(a[i], b[i], "n=%zu i=%zu", n, i);
		free(a);
		free(b);
	}
}

Test(sample, numpy_quantiles_and_bins)
{
	const double x[] = {1, 2, 3, 4};
	const double one[] = {7};
	const double grid[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	double e[SAMPLE_BINS - 1], mean, std;
	uint64_t counts[SAMPLE_BINS] = {0};

	cr_expect_eq(sample_quantile_sorted(x, 4, 0.5), 2.5);
	cr_expect_eq(sample_quantile_sorted(x, 4, 0), 1);
	cr_expect_eq(sample_quantile_sorted(x, 4, 1), 4);
	cr_expect_float_eq(sample_quantile_sorted(x, 4, 0.9), 3.7, 1e-15);
	cr_expect_eq(sample_quantile_sorted(one, 1, 0.3), 7);
	sample_ref_edges(grid, 11, e);
	for (int i = 0; i < SAMPLE_BINS - 1; i++)
		cr_expect_float_eq(e[i], i + 1.0, 1e-12);
	/* Right-closed: an edge value belongs to the bin below it. */
	cr_expect_eq(sample_bin_index(e, 1.0), 0);
	cr_expect_eq(sample_bin_index(e, 1.0000001), 1);
	cr_expect_eq(sample_bin_index(e, -5), 0);
	cr_expect_eq(sample_bin_index(e, 9), 8);
	cr_expect_eq(sample_bin_index(e, 100), 9);
	sample_bin_counts(e, grid, 11, counts);
	cr_expect_eq(counts[0], 2); /* 0 and 1 */
	cr_expect_eq(counts[9], 1); /* 10 */
	sample_mean_std(x, 4, &mean, &std);
	cr_expect_eq(mean, 2.5);
	cr_expect_float_eq(std, sqrt(1.25), 1e-15);
	sample_mean_std(x, 0, &mean, &std);
	cr_expect_eq(mean, 0);
	cr_expect_eq(std, 0);
}

/* The vectorised bin pass (issue 14, bench) counts exactly what the scalar
 * definition does: values on edges, NaN (bin 0), infinities, duplicated
 * edges, every length modulo 4 and unaligned starts. */
Test(sample, bin_counts_match_bin_index)
{
	const double dup[SAMPLE_BINS - 1] = {-1, 0, 0, 0, 0.5, 0.5, 1, 2, 2};
	double x[1003], e[SAMPLE_BINS - 1];
	struct sample_rng r;

	sample_rng_seed(&r, 14);
	for (size_t i = 0; i < 1003; i++) {
		uint64_t k = sample_rng_below(&r, 8);

		x[i] = k == 0   ? NAN
		       : k == 1 ? INFINITY
		       : k == 2 ? -INFINITY
		       : k == 3 ? dup[sample_rng_below(&r, SAMPLE_BINS - 1)]
		                : 4 * sample_rng_double(&r) - 2;
	}
	for (int which = 0; which < 2; which++) {
		if (which == 0)
			memcpy(e, dup, sizeof(e));
		else
			for (int i = 0; i < SAMPLE_BINS - 1; i++)
				e[i] = -1.5 + 0.4 * i;
		for (size_t off = 0; off < 4; off++) {
			for (size_t n = 0; n + off <= 1003; n += n < 16 ? 1 : 97) {
				uint64_t got[SAMPLE_BINS] = {0}, want[SAMPLE_BINS] = {0};

				sample_bin_counts(e, x + off, n, got);
				for (size_t i = 0; i < n; i++)
					want[sample_bin_index(e, x[off + i])]++;
				for (int b = 0; b < SAMPLE_BINS; b++)
					cr_assert_eq(got[b], want[b],
					             "edges %d off %zu n %zu bin %d", which, off, n,
					             b);
			}
		}
	}
}

Test(sample, cats_rank_top_other_new)
{
	struct sample_cats t;
	char name[16];

	sample_cats_init(&t, 0);
	/* 70 categories, k0 most frequent; k60..k69 tie at 5. */
	for (int i = 0; i < 70; i++) {
		int l = snprintf(name, sizeof(name), "k%d", i);

		cr_assert_eq(sample_cats_add(&t, name, (size_t)l, i < 60 ? 100 - i : 5), 0);
	}
	cr_expect_eq(sample_cats_cell(&t, "k0", 2), -1); /* not ranked yet */
	cr_assert_eq(sample_cats_rank(&t, 0), 0);
	cr_expect_eq(t.ntop, 64);
	cr_expect(t.has_other);
	cr_expect_eq(sample_cats_ncells(&t), 65);
	cr_expect_eq(sample_cats_cell(&t, "k0", 2), 0);
	cr_expect_eq(sample_cats_cell(&t, "k59", 3), 59);
	/* Ties broken by name bytes: k60 k61 k62 k63 in, k64.. pooled. */
	cr_expect_eq(sample_cats_cell(&t, "k60", 3), 60);
	cr_expect_eq(sample_cats_cell(&t, "k63", 3), 63);
	cr_expect_eq(sample_cats_cell(&t, "k64", 3), 64);
	cr_expect_eq(sample_cats_cell(&t, "k69", 3), 64);
	cr_expect_eq(sample_cats_cell(&t, "zz", 2), -1);
	cr_expect_eq(sample_cats_cell_count(&t, 0), 100);
	cr_expect_eq(sample_cats_cell_count(&t, 64), 6 * 5);
	cr_expect_eq(t.total, 60 * 100 - 59 * 60 / 2 + 10 * 5);
	/* Adding invalidates the ranking. */
	cr_assert_eq(sample_cats_add(&t, "k0", 2, 1), 0);
	cr_expect_not(t.ranked);
	cr_expect_eq(sample_cats_find(&t, "k0", 2)->count, 101);
	sample_cats_fini(&t);
}

Test(sample, cats_bounds_and_binary_names)
{
	struct sample_cats t;
	char big[SAMPLE_CAT_NAME_MAX + 1];

	sample_cats_init(&t, 3);
	memset(big, 'x', sizeof(big));
	cr_expect_eq(sample_cats_add(&t, big, sizeof(big), 1), -EINVAL);
	cr_expect_eq(sample_cats_add(&t, big, SAMPLE_CAT_NAME_MAX, 1), 0);
	cr_expect_eq(sample_cats_add(&t, "a\0b", 3, 2), 0);
	cr_expect_eq(sample_cats_add(&t, "a", 1, 4), 0);
	cr_expect_eq(sample_cats_add(&t, "", 0, 1), 0); /* 4th distinct: overflow */
	cr_expect_eq(t.n, 3);
	cr_expect_eq(t.overflow, 1);
	cr_expect_eq(t.total, 8);
	cr_expect_eq(sample_cats_find(&t, "a\0b", 3)->count, 2);
	cr_expect_null(sample_cats_find(&t, "a\0c", 3));
	cr_assert_eq(sample_cats_rank(&t, 2), 0);
	cr_expect_eq(t.ntop, 2);
	cr_expect(t.has_other);
	cr_expect_eq(sample_cats_cell(&t, "a", 1), 0);
	cr_expect_eq(sample_cats_cell(&t, "a\0b", 3), 1);
	cr_expect_eq(sample_cats_cell(&t, big, SAMPLE_CAT_NAME_MAX), 2);
	cr_expect_eq(sample_cats_cell_count(&t, 2), 2); /* big + overflow */
	cr_expect_eq(sample_cats_cell(&t, "", 0), -1);  /* overflowed: new */
	sample_cats_fini(&t);
}

Test(sample, cats_many_distinct_grow)
{
	struct sample_cats t;
	char name[16];

	sample_cats_init(&t, 0);
	for (int rep = 0; rep < 2; rep++)
		for (int i = 0; i < 20000; i++) {
			int l = snprintf(name, sizeof(name), "n%d", i);

			cr_assert_eq(sample_cats_add(&t, name, (size_t)l, 1), 0);
		}
	cr_expect_eq(t.n, 20000);
	cr_expect_eq(t.total, 40000);
	cr_expect_eq(sample_cats_find(&t, "n12345", 6)->count, 2);
	sample_cats_fini(&t);
}

Test(sample, cats_encode_decode)
{
	struct sample_cats t, back;
	uint8_t *buf;
	size_t cap, len;

	sample_cats_init(&t, 0);
	cr_assert_eq(sample_cats_add(&t, "de", 2, 300), 0);
	cr_assert_eq(sample_cats_add(&t, "fr", 2, 5), 0);
	cr_assert_eq(sample_cats_add(&t, "日本", strlen("日本"), 7), 0);
	cap = sample_cats_encoded_size(&t);
	buf = malloc(cap + 4);
	cr_assert_eq(sample_cats_encode(&t, buf, cap, &len), 0);
	cr_expect_eq(len, cap);
	cr_assert_eq(sample_cats_decode(&back, buf, len), 0);
	cr_expect_eq(back.n, 3);
	cr_expect_eq(back.total, 312);
	cr_expect_eq(sample_cats_find(&back, "日本", strlen("日本"))->count, 7);
	sample_cats_fini(&back);
	for (size_t l = 0; l < len; l++)
		cr_expect_eq(sample_cats_decode(&back, buf, l), -EPROTO, "truncated at %zu", l);
	buf[len] = 0;
	cr_expect_eq(sample_cats_decode(&back, buf, len + 1), -EPROTO);
	/* A duplicated name: "fr" renamed to "de". */
	memcpy(buf + 1 + 1 + 1 + 1 + 2 + 2 + 1, "de", 2);
	cr_expect_eq(sample_cats_decode(&back, buf, len), -EPROTO);
	/* Claimed count far beyond the bytes present. */
	buf[1] = 0xff, buf[2] = 0xff, buf[3] = 0x7f;
	cr_expect_eq(sample_cats_decode(&back, buf, len), -EPROTO);
	free(buf);
	sample_cats_fini(&t);
}
