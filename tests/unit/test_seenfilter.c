/* seenfilter: the writer's filter of recently stored (model, request id)
 * pairs that lets the duplicate check skip its index lookup (issue 18). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../../collector/seenfilter.h"

static size_t id_of(char *buf, size_t cap, const char *prefix, long i)
{
	return (size_t)snprintf(buf, cap, "%s%ld", prefix, i);
}

Test(seenfilter, invalid_options_are_refused)
{
	struct seenfilter_opts o = {.first_bytes = 16, .max_bytes = 1024, .span_s = 10};

	cr_assert_null(seenfilter_new(&o, -HUGE_VAL), "a generation smaller than a block");
	o.first_bytes = 2048;
	cr_assert_null(seenfilter_new(&o, -HUGE_VAL), "first larger than max");
	o.first_bytes = 1024;
	o.span_s = 0;
	cr_assert_null(seenfilter_new(&o, -HUGE_VAL), "no span");
	o.span_s = NAN;
	cr_assert_null(seenfilter_new(&o, -HUGE_VAL), "a NaN span");
	cr_assert_null(seenfilter_new(NULL, -HUGE_VAL));
	/* NULL is a filter that knows nothing: always "maybe" */
	cr_assert_not(seenfilter_certainly_new(NULL, 1, "a", 1, 100, 10));
}

/* Every pair added must read "maybe" afterwards, through growth and
 * rotations: a false "new" would store a duplicate. */
Test(seenfilter, never_a_false_negative)
{
	struct seenfilter_opts o = {.first_bytes = 4096, .max_bytes = 1 << 16, .span_s = 1e9};
	struct seenfilter *f = seenfilter_new(&o, -HUGE_VAL);
	char id[32];
	long n = 200000, kept_from;
	struct seenfilter_info in;

	cr_assert_not_null(f);
	for (long i = 0; i < n; i++) {
		size_t len = id_of(id, sizeof(id), "req-", i);
		seenfilter_add(f, 1 + i % 7, id, len, 1000.0 + (double)i * 1e-3, 0);
	}
	seenfilter_info(f, &in);
	cr_assert_gt(in.rotations, 0, "the generations filled and rotated");
	/* every pair whose generation is still held reads "maybe" ... */
	kept_from = n - (long)(in.keys[0] + in.keys[1]);
	for (long i = kept_from; i < n; i++) {
		size_t len = id_of(id, sizeof(id), "req-", i);
		cr_assert_not(
		    seenfilter_certainly_new(f, 1 + i % 7, id, len, 1000.0 + (double)i * 1e-3, 1.0),
		    "pair %ld added but called new", i);
	}
	/* ... and the dropped ones are no longer covered: an event near
	 * their time is "maybe" whatever the bits say */
	for (long i = 0; i < kept_from; i += 97) {
		size_t len = id_of(id, sizeof(id), "req-", i);
		cr_assert_not(
		    seenfilter_certainly_new(f, 1 + i % 7, id, len, 1000.0 + (double)i * 1e-3, 1.0),
		    "dropped pair %ld called new", i);
	}
	cr_assert_geq(in.covered_from, 1000.0 + (double)(kept_from - 1) * 1e-3);
	seenfilter_free(f);
}

Test(seenfilter, false_positives_near_one_percent)
{
	struct seenfilter_opts o = {.first_bytes = 1 << 16, .max_bytes = 1 << 16, .span_s = 1e9};
	struct seenfilter *f = seenfilter_new(&o, -HUGE_VAL);
	char id[32];
	long n = (1 << 16) / 32 * 24, fp = 0, q = 100000; /* a full generation */
	struct seenfilter_info in;

	cr_assert_not_null(f);
	for (long i = 0; i < n - 1; i++) /* one short of full: no rotation */
		seenfilter_add(f, 3, id, id_of(id, sizeof(id), "", i), 50, 0);
	seenfilter_info(f, &in);
	cr_assert_eq(in.rotations, 0);
	cr_assert_eq(in.keys[0], (uint64_t)(n - 1));
	for (long i = 0; i < q; i++)
		fp += !seenfilter_certainly_new(f, 3, id, id_of(id, sizeof(id), "new-", i), 50, 1);
	cr_log_info("false positives %ld of %ld at %ld keys in 64 KiB", fp, q, n - 1);
	cr_assert_lt(fp, q * 3 / 100, "%ld false positives of %ld", fp, q);
	/* another model's pair with the same id is another key */
	fp = 0;
	for (long i = 0; i < q; i++)
		fp += !seenfilter_certainly_new(f, 4, id, id_of(id, sizeof(id), "", i % (n - 1)),
		                                50, 1);
	cr_assert_lt(fp, q * 3 / 100);
	seenfilter_free(f);
}

/* Events stored before the filter existed: no answer about an event whose
 * horizon reaches back to them. */
Test(seenfilter, nothing_answered_before_covered_from)
{
	struct seenfilter_opts o = {.first_bytes = 1024, .max_bytes = 1024, .span_s = 100};
	struct seenfilter *f = seenfilter_new(&o, 1000);

	cr_assert_not_null(f);
	cr_assert_not(seenfilter_certainly_new(f, 1, "x", 1, 1500, 600), "1500 - 600 <= 1000");
	cr_assert_not(seenfilter_certainly_new(f, 1, "x", 1, 1600, 600), "the bound is exclusive");
	cr_assert(seenfilter_certainly_new(f, 1, "x", 1, 1601, 600));
	cr_assert_not(seenfilter_certainly_new(f, 1, "x", 1, NAN, 600));
	seenfilter_free(f);
	f = seenfilter_new(&o, HUGE_VAL); /* never trusted */
	cr_assert_not(seenfilter_certainly_new(f, 1, "x", 1, 1e12, 1));
	seenfilter_free(f);
}

/* Rotation by age: a pair lives through one rotation in the previous
 * generation; the second drops it and raises covered_from to its ts. */
Test(seenfilter, rotation_keeps_one_generation_and_moves_the_cover)
{
	struct seenfilter_opts o = {.first_bytes = 1024, .max_bytes = 1024, .span_s = 100};
	struct seenfilter *f = seenfilter_new(&o, -HUGE_VAL);
	struct seenfilter_info in;

	cr_assert_not_null(f);
	seenfilter_add(f, 1, "a", 1, 100, 0);
	cr_assert_not(seenfilter_certainly_new(f, 1, "a", 1, 105, 10));
	seenfilter_add(f, 1, "b", 1, 200, 100); /* a's generation is 100 s old */
	seenfilter_info(f, &in);
	cr_assert_eq(in.rotations, 1);
	cr_assert_eq(in.keys[0], 1);
	cr_assert_eq(in.keys[1], 1);
	cr_assert(isinf(in.covered_from) && in.covered_from < 0, "nothing dropped yet");
	cr_assert_not(seenfilter_certainly_new(f, 1, "a", 1, 105, 10), "still in the previous");
	seenfilter_add(f, 1, "c", 1, 300, 200);
	seenfilter_info(f, &in);
	cr_assert_eq(in.rotations, 2);
	cr_assert_eq(in.covered_from, 100, "a's generation held ts up to 100");
	cr_assert_not(seenfilter_certainly_new(f, 1, "a", 1, 105, 10), "near a dropped pair");
	cr_assert_not(seenfilter_certainly_new(f, 1, "b", 1, 205, 10));
	cr_assert_not(seenfilter_certainly_new(f, 1, "c", 1, 305, 10));
	seenfilter_free(f);
}

/* Memory: generations start small, double when one fills before its span,
 * and never pass max_bytes each. */
Test(seenfilter, memory_is_bounded)
{
	struct seenfilter_opts o = {.first_bytes = 1024, .max_bytes = 8192, .span_s = 1e9};
	struct seenfilter *f = seenfilter_new(&o, -HUGE_VAL);
	struct seenfilter_info in;
	char id[32];
	size_t most = 0;

	cr_assert_not_null(f);
	seenfilter_info(f, &in);
	cr_assert_eq(in.bytes, 0, "nothing allocated before the first add");
	for (long i = 0; i < 50000; i++) {
		seenfilter_add(f, 1, id, id_of(id, sizeof(id), "r", i), (double)i, 0);
		seenfilter_info(f, &in);
		if (in.bytes > most)
			most = in.bytes;
		cr_assert_leq(in.bytes, 2 * o.max_bytes, "%zu bytes after %ld adds", in.bytes, i);
	}
	cr_assert_eq(most, 2 * o.max_bytes, "grew to the bound");
	cr_assert_gt(in.rotations, 5);
	seenfilter_free(f);
}
