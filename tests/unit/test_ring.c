/* ring: the 1-second ring alerting reads. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>

#include "../../collector/ring.h"
#include "ddsketch.h"

static struct ddsketch *sketch_of(const double *v, size_t n)
{
	struct ddsketch *s = ddsketch_new();
	cr_assert_not_null(s);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ddsketch_add(s, v[i]), 0);
	return s;
}

Test(ring, unknown_model_is_minus_one)
{
	struct ring *r = ring_new(60);
	struct ring_stats st;

	cr_assert_not_null(r);
	cr_assert_eq(ring_query(r, "nope", 0, 100, &st), -1);
	cr_assert_eq(st.count, 0);
	cr_assert_null(st.latency);
	cr_assert_eq(ring_new(0), NULL);
	ring_free(r);
}

Test(ring, merges_counts_errors_and_sketches_over_a_range)
{
	struct ring *r = ring_new(60);
	double a[] = {1, 2, 3}, b[] = {10, 20};
	struct ddsketch *sa = sketch_of(a, 3), *sb = sketch_of(b, 2);
	struct ring_stats st;
	double q;

	cr_assert_eq(ring_add(r, "m", 1000, 3, 1, sa), 0);
	cr_assert_eq(ring_add(r, "m", 1001, 2, 0, sb), 0);
	cr_assert_eq(ring_add(r, "m", 1001, 5, 2, NULL), 0); /* same second, another agent */
	cr_assert_eq(ring_query(r, "m", 1000, 1001, &st), 0);
	cr_assert_eq(st.count, 10);
	cr_assert_eq(st.errors, 3);
	cr_assert_not_null(st.latency);
	cr_assert_eq(ddsketch_count(st.latency), 5);
	cr_assert_eq(ddsketch_quantile(st.latency, 1.0, &q), 0);
	cr_assert_float_eq(q, 20.0, 1e-9);
	cr_assert_float_eq(st.last_event, 1001.0, 1e-9);
	ddsketch_free(st.latency);

	/* only the second second */
	cr_assert_eq(ring_query(r, "m", 1001, 1001, &st), 0);
	cr_assert_eq(st.count, 7);
	cr_assert_eq(st.errors, 2);
	cr_assert_eq(ddsketch_count(st.latency), 2);
	ddsketch_free(st.latency);

	/* a range with nothing: zero counts, no sketch, but last_event known */
	cr_assert_eq(ring_query(r, "m", 2000, 2100, &st), 0);
	cr_assert_eq(st.count, 0);
	cr_assert_null(st.latency);
	cr_assert_float_eq(st.last_event, 1001.0, 1e-9);

	ddsketch_free(sa);
	ddsketch_free(sb);
	ring_free(r);
}

Test(ring, old_seconds_fall_out_and_slots_are_reused)
{
	struct ring *r = ring_new(10);
	struct ring_stats st;

	for (int64_t s = 100; s < 130; s++)
		cr_assert_eq(ring_add(r, "m", s, 1, 0, NULL), 0);
	/* only 120..129 remain */
	cr_assert_eq(ring_query(r, "m", 0, 1000, &st), 0);
	cr_assert_eq(st.count, 10);
	/* a second older than the ring is ignored, not added to a live slot */
	cr_assert_eq(ring_add(r, "m", 110, 100, 100, NULL), 0);
	cr_assert_eq(ring_query(r, "m", 0, 1000, &st), 0);
	cr_assert_eq(st.count, 10);
	cr_assert_eq(st.errors, 0);
	/* a late second still inside the ring counts */
	cr_assert_eq(ring_add(r, "m", 121, 4, 1, NULL), 0);
	cr_assert_eq(ring_query(r, "m", 121, 121, &st), 0);
	cr_assert_eq(st.count, 5);
	cr_assert_eq(st.errors, 1);
	cr_assert_float_eq(st.last_event, 129.0, 1e-9);
	ring_free(r);
}

Test(ring, negative_seconds_and_bad_arguments)
{
	struct ring *r = ring_new(7);
	struct ring_stats st;

	cr_assert_eq(ring_add(r, "m", -3, 2, 0, NULL), 0);
	cr_assert_eq(ring_query(r, "m", -3, -3, &st), 0);
	cr_assert_eq(st.count, 2);
	cr_assert_eq(ring_add(r, "", 1, 1, 0, NULL), -1);
	cr_assert_eq(ring_add(r, NULL, 1, 1, 0, NULL), -1);
	ring_free(r);
}

Test(ring, models_are_listed_sorted)
{
	struct ring *r = ring_new(5);
	char **names;
	size_t n;

	cr_assert_eq(ring_models(r, &names), 0);
	cr_assert_null(names);
	ring_add(r, "zeta", 1, 1, 0, NULL);
	ring_add(r, "alpha", 1, 1, 0, NULL);
	ring_add(r, "mid", 1, 1, 0, NULL);
	ring_add(r, "alpha", 2, 1, 0, NULL);
	n = ring_models(r, &names);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(names[0], "alpha");
	cr_assert_str_eq(names[1], "mid");
	cr_assert_str_eq(names[2], "zeta");
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	ring_free(r);
}

struct adder {
	struct ring *r;
	const char *model;
};

static void *add_many(void *arg)
{
	struct adder *a = arg;
	double v = 5.0;
	struct ddsketch *s = sketch_of(&v, 1);
	for (int i = 0; i < 20000; i++)
		ring_add(a->r, a->model, 1000 + i % 30, 1, (uint64_t)(i % 2), s);
	ddsketch_free(s);
	return NULL;
}

Test(ring, concurrent_adds_lose_nothing)
{
	struct ring *r = ring_new(60);
	pthread_t t[4];
	struct adder a[4] = {{r, "a"}, {r, "b"}, {r, "a"}, {r, "b"}};
	struct ring_stats st;

	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, add_many, &a[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(ring_query(r, "a", 0, 5000, &st), 0);
	cr_assert_eq(st.count, 40000);
	cr_assert_eq(st.errors, 20000);
	cr_assert_eq(ddsketch_count(st.latency), 40000);
	ddsketch_free(st.latency);
	ring_free(r);
}

/* Issue 15: TTFT / TPOT sketches and token sums per second, merged over a
 * range like latency, and reset with the slot. */
Test(ring, llm_sketches_and_tokens_merge_and_reset)
{
	struct ring *r = ring_new(4);
	double t1[] = {100, 200}, t2[] = {300}, p1[] = {10};
	struct ddsketch *s1 = sketch_of(t1, 2), *s2 = sketch_of(t2, 1), *sp = sketch_of(p1, 1);
	struct ring_stats st;
	double q;

	cr_assert_eq(ring_add(r, "llm", 1000, 2, 0, NULL), 0);
	cr_assert_eq(ring_add_llm(r, "llm", 1000, 2, 30, 400, s1, sp), 0);
	cr_assert_eq(ring_add(r, "llm", 1001, 1, 0, NULL), 0);
	cr_assert_eq(ring_add_llm(r, "llm", 1001, 1, 5, 7, s2, NULL), 0);
	cr_assert_eq(ring_add_llm(r, "nope", 1001, 1, 5, 7, s2, NULL), 0, "unknown: ignored");
	cr_assert_eq(ring_query(r, "llm", 1000, 1001, &st), 0);
	cr_expect_eq(st.llm, 3);
	cr_expect_eq(st.input_tokens, 35);
	cr_expect_eq(st.output_tokens, 407);
	cr_assert_not_null(st.ttft);
	cr_expect_eq(ddsketch_count(st.ttft), 3);
	cr_assert_eq(ddsketch_quantile(st.ttft, 1.0, &q), 0);
	cr_expect_float_eq(q, 300.0, 3.0);
	cr_assert_not_null(st.tpot);
	cr_expect_eq(ddsketch_count(st.tpot), 1);
	ring_stats_free(&st);
	cr_expect_null(st.ttft);
	/* Second 1004 reuses the slot of 1000: its LLM figures start over. */
	cr_assert_eq(ring_add(r, "llm", 1004, 1, 0, NULL), 0);
	cr_assert_eq(ring_query(r, "llm", 1004, 1004, &st), 0);
	cr_expect_eq(st.llm, 0);
	cr_expect_eq(st.output_tokens, 0);
	cr_expect_null(st.ttft);
	cr_expect_null(st.tpot);
	ring_stats_free(&st);
	ddsketch_free(s1);
	ddsketch_free(s2);
	ddsketch_free(sp);
	ring_free(r);
}

/* Issue 15: finish-reason counts per second, merged over a range in
 * first-seen order, bounded (reasons beyond RING_FINISH_MAX counted as
 * other), invalid reasons refused, reset with the slot. */
Test(ring, finish_reasons_merge_bound_and_reset)
{
	struct ring *r = ring_new(4);
	struct ring_stats st;
	char name[16];

	cr_assert_eq(ring_add(r, "llm", 1000, 4, 0, NULL), 0);
	cr_assert_eq(ring_add_finish(r, "llm", 1000, "stop", 3), 0);
	cr_assert_eq(ring_add_finish(r, "llm", 1000, "length", 1), 0);
	cr_assert_eq(ring_add(r, "llm", 1001, 2, 0, NULL), 0);
	cr_assert_eq(ring_add_finish(r, "llm", 1001, "stop", 2), 0);
	cr_expect_eq(ring_add_finish(r, "llm", 1001, "Not valid!", 1), -1);
	cr_expect_eq(ring_add_finish(r, "nope", 1001, "stop", 1), 0, "unknown model: ignored");
	cr_expect_eq(ring_add_finish(r, "llm", 990, "stop", 1), 0, "second not held: ignored");
	cr_assert_eq(ring_query(r, "llm", 1000, 1001, &st), 0);
	cr_assert_eq(st.n_finish, 2);
	cr_expect_str_eq(st.finish[0].reason, "stop");
	cr_expect_eq(st.finish[0].count, 5);
	cr_expect_str_eq(st.finish[1].reason, "length");
	cr_expect_eq(st.finish[1].count, 1);
	cr_expect_eq(st.finish_other, 0);
	ring_stats_free(&st);
	/* More distinct reasons than kept: the rest are counted together. */
	for (int i = 0; i < RING_FINISH_MAX + 3; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		cr_assert_eq(ring_add_finish(r, "llm", 1001, name, 1), 0);
	}
	cr_assert_eq(ring_query(r, "llm", 1000, 1001, &st), 0);
	cr_expect_eq(st.n_finish, RING_FINISH_MAX);
	uint64_t total = st.finish_other;
	for (size_t i = 0; i < st.n_finish; i++)
		total += st.finish[i].count;
	cr_expect_eq(total, 6 + RING_FINISH_MAX + 3, "nothing lost");
	cr_expect_gt(st.finish_other, 0);
	ring_stats_free(&st);
	/* Second 1004 reuses the slot of 1000: its reasons start over. */
	cr_assert_eq(ring_add(r, "llm", 1004, 1, 0, NULL), 0);
	cr_assert_eq(ring_query(r, "llm", 1004, 1004, &st), 0);
	cr_expect_eq(st.n_finish, 0);
	cr_expect_eq(st.finish_other, 0);
	ring_stats_free(&st);
	ring_free(r);
}
