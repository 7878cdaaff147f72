/* summary and batcher: 100% of events counted per (model, second) with a
 * latency sketch; sampled payloads copied (the caller's memory may go);
 * batches closed by size, by age and on flush with consecutive seqs; labels
 * follow their events; tail marks ride on the batch that holds their lines. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batcher.h"
#include "clock.h"
#include "ddsketch.h"
#include "harness.h"
#include "sampler.h"
#include "state.h"
#include "stats.h"
#include "summary.h"
#include "wire.h"

Test(summary, counts_errors_sampled_and_sketches_per_model_and_second)
{
	struct summary_table *t = summary_new(16);
	struct arena a;
	struct wire_summary *s;
	size_t n;

	arena_init(&a, 0);
	for (int i = 0; i < 300; i++)
		cr_assert_eq(summary_add(t, i % 2 ? "b" : "a", 1000.0 + (i % 3) + 0.5, i % 10 == 0,
		                         i % 5 == 0 ? -1 : (double)i, i % 4 == 0),
		             0);
	cr_expect_eq(summary_entries(t), 6);
	cr_expect_eq(summary_events(t), 300);
	cr_assert_eq(summary_export(t, &a, &s, &n), 0);
	cr_assert_eq(n, 6);
	cr_expect_str_eq(s[0].model, "a");
	cr_expect_eq(s[0].second, 1000);
	cr_expect_str_eq(s[5].model, "b");
	cr_expect_eq(s[5].second, 1002);
	uint64_t count = 0, errors = 0, sampled = 0, lat = 0;
	for (size_t i = 0; i < n; i++) {
		struct ddsketch *sk = NULL;
		count += s[i].count;
		errors += s[i].errors;
		sampled += s[i].sampled;
		cr_assert_eq(ddsketch_decode(s[i].sketch, s[i].sketch_len, &sk), 0);
		lat += ddsketch_count(sk);
		ddsketch_free(sk);
	}
	cr_expect_eq(count, 300);
	cr_expect_eq(errors, 30);
	cr_expect_eq(sampled, 75);
	cr_expect_eq(lat, 240, "events without latency are counted but not sketched");
	cr_expect_eq(summary_entries(t), 0, "export empties the table");
	/* A full table says so instead of growing. */
	struct summary_table *small = summary_new(2);
	cr_expect_eq(summary_add(small, "m", 1, false, 1, true), 0);
	cr_expect_eq(summary_add(small, "m", 2, false, 1, true), 0);
	cr_expect_eq(summary_add(small, "m", 2.9, false, 1, true), 0, "same second");
	cr_expect_eq(summary_add(small, "m", 3, false, 1, true), -ENOSPC);
	summary_free(small);
	summary_free(t);
	arena_reset(&a);
}

/* The table keeps the list of its used slots: export reads and clear
 * empties only those. Rounds that fill it to its limit with different keys
 * (other slots) each export exactly their own entries, sketches included,
 * and nothing of an earlier round comes back. */
Test(summary, rounds_export_only_their_own_entries)
{
	struct summary_table *t = summary_new(64);
	struct arena a;

	arena_init(&a, 0);
	for (int round = 0; round < 5; round++) {
		struct wire_summary *s;
		size_t n;
		for (int i = 0; i < 64 * 3; i++) {
			char model[16];
			snprintf(model, sizeof(model), "m%d", i % 8);
			cr_assert_eq(summary_add(t, model, 1000.0 * round + i % 8 + (i / 8) % 8,
			                         i % 3 == 0, (double)(i + 1), true),
			             0);
		}
		cr_assert_eq(summary_add(t, "other", 99999, false, 1, true), -ENOSPC,
		             "64 entries fill the table");
		cr_assert_eq(summary_export(t, &a, &s, &n), 0);
		cr_assert_eq(n, 64, "round %d: %zu entries", round, n);
		uint64_t count = 0, errors = 0, lat = 0;
		for (size_t i = 0; i < n; i++) {
			struct ddsketch *sk = NULL;
			cr_assert(s[i].second >= 1000 * round && s[i].second < 1000 * round + 16,
			          "round %d exported second %lld", round, (long long)s[i].second);
			if (i)
				cr_assert(strcmp(s[i - 1].model, s[i].model) < 0 ||
				              (strcmp(s[i - 1].model, s[i].model) == 0 &&
				               s[i - 1].second < s[i].second),
				          "sorted by model and second");
			count += s[i].count;
			errors += s[i].errors;
			cr_assert_eq(ddsketch_decode(s[i].sketch, s[i].sketch_len, &sk), 0);
			lat += ddsketch_count(sk);
			ddsketch_free(sk);
		}
		cr_expect_eq(count, 64 * 3);
		cr_expect_eq(errors, 64);
		cr_expect_eq(lat, 64 * 3);
		cr_expect_eq(summary_entries(t), 0);
		cr_expect_eq(summary_events(t), 0);
		arena_reset(&a);
	}
	summary_free(t);
}

#define MAXB 64
static struct obatch *got[MAXB];
static size_t n_got;

static void emit(void *arg, struct obatch *b)
{
	(void)arg;
	cr_assert_lt(n_got, MAXB);
	got[n_got++] = b;
}

static char *dir;
static struct seqgen *seq;
static struct sampler *smp;

static void setup(void)
{
	char err[256];
	dir = h_tmpdir("batcher");
	seq = seqgen_open(dir, err, sizeof(err));
	cr_assert_not_null(seq, "%s", err);
	n_got = 0;
	stats_reset();
}

static void teardown(void)
{
	for (size_t i = 0; i < n_got; i++)
		obatch_free(got[i]);
	seqgen_close(seq);
	sampler_free(smp);
	smp = NULL;
	h_rmtree(dir);
	free(dir);
}

static struct batcher *make(double rate, size_t max_events, double delay)
{
	struct batcher_config bc = {.agent_id = "ut",
	                            .token = (const uint8_t *)"tok",
	                            .token_len = 3,
	                            .max_events = max_events,
	                            .max_delay_s = delay,
	                            .started = 1};
	smp = sampler_new(rate, NULL);
	return batcher_new(&bc, smp, seq, emit, NULL);
}

/* Parses n events "{model:m,id:e<first+i>,...}" into eb. */
static void parse(struct event_batch *eb, int first, int n)
{
	char *s = malloc((size_t)n * 160 + 1);
	size_t len = 0;
	struct event_error err;
	for (int i = first; i < first + n; i++)
		len += (size_t)snprintf(s + len, 160,
		                        "{\"model\":\"m\",\"id\":\"e%d\",\"latency_ms\":%d,"
		                        "\"features\":{\"f\":\"v%d\"},\"prediction\":%d}\n",
		                        i, i, i, i % 2);
	event_batch_init(eb);
	cr_assert_eq(event_parse_body(s, len, EVENT_BODY_EVENTS, clock_now(), 100000, eb, &err), 0,
	             "%s", err.reason);
	free(s);
}

static void decode(struct obatch *ob, struct wire_batch *wb)
{
	char err[256];
	cr_assert_not_null(ob->buf);
	cr_assert_eq(wire_decode_batch(ob->buf, ob->len, 0, wb, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(wb->n_invalid, 0);
}

/* Issue 15: 100% of LLM traffic: token sums and TTFT / TPOT sketches per
 * (model, second), only from events that carry them. */
Test(summary, llm_tokens_and_sketches_per_model_and_second)
{
	struct summary_table *t = summary_new(16);
	struct arena a;
	struct wire_summary *s;
	size_t n;

	arena_init(&a, 0);
	for (int i = 0; i < 100; i++) {
		struct event e = {.model = "llm", .ts = 1000.5};
		if (i % 4) { /* 75 LLM events; every other one with TTFT */
			e.has_input_tokens = e.has_output_tokens = true;
			e.input_tokens = 10;
			e.output_tokens = i;
			e.has_ttft = i % 2;
			e.ttft_ms = 100 + i;
		}
		cr_assert_eq(summary_add(t, e.model, e.ts, false, 5, false), 0);
		cr_assert_eq(summary_add_llm(t, &e), 0);
	}
	/* finish reasons: the first 7 kept, the rest counted as "other" */
	static const char *const why[] = {"stop", "length", "a", "b", "c", "d", "e", "f", "g"};
	for (int i = 0; i < 9; i++) {
		struct event e = {.model = "llm", .ts = 1000.5, .finish_reason = why[i]};
		cr_assert_eq(summary_add(t, e.model, e.ts, false, -1, false), 0);
		cr_assert_eq(summary_add_llm(t, &e), 0);
	}
	/* A negative duration never reaches a sketch (the sketch has a
	 * negative store since issue 14, durations must not use it). */
	{
		struct event e = {.model = "llm", .ts = 1000.5, .has_ttft = true, .ttft_ms = -5};
		cr_assert_eq(summary_add(t, e.model, e.ts, false, -1, false), 0);
		cr_assert_eq(summary_add_llm(t, &e), 0);
	}
	struct event orphan = {.model = "other", .ts = 1.0, .has_tpot = true, .tpot_ms = 1};
	cr_expect_eq(summary_add_llm(t, &orphan), -ENOENT);
	cr_assert_eq(summary_export(t, &a, &s, &n), 0);
	cr_assert_eq(n, 1);
	cr_expect_eq(s[0].count, 110);
	cr_expect_eq(s[0].llm, 85);
	cr_expect_eq(s[0].input_tokens, 750);
	cr_assert_eq(s[0].n_finish, SUMMARY_FINISH_MAX);
	cr_expect_str_eq(s[0].finish[0].reason, "stop");
	cr_expect_str_eq(s[0].finish[6].reason, "e");
	cr_expect_str_eq(s[0].finish[7].reason, "other");
	cr_expect_eq(s[0].finish[7].count, 2, "f and g");
	uint64_t out = 0;
	for (int i = 0; i < 100; i++)
		out += i % 4 ? (uint64_t)i : 0;
	cr_expect_eq(s[0].output_tokens, out);
	struct ddsketch *sk = NULL;
	cr_assert_not_null(s[0].ttft);
	cr_assert_eq(ddsketch_decode(s[0].ttft, s[0].ttft_len, &sk), 0);
	cr_expect_eq(ddsketch_count(sk), 50, "odd i: 50 events with TTFT, not the -5 one");
	cr_expect_geq(ddsketch_min(sk), 0);
	ddsketch_free(sk);
	cr_expect_null(s[0].tpot, "no TPOT given: no sketch");
	summary_free(t);
	arena_reset(&a);
}

Test(batcher, closes_by_size_with_consecutive_seqs_and_copies_payloads, .init = setup,
     .fini = teardown)
{
	struct batcher *b = make(1.0, 100, 60);
	struct event_batch eb;
	size_t kept = 0;

	parse(&eb, 0, 250);
	cr_assert_eq(batcher_submit(b, eb.events, eb.n_events, NULL, 0, NULL, &kept), 0);
	event_batch_reset(&eb); /* the batcher must not point into it */
	cr_expect_eq(kept, 250);
	cr_assert_eq(n_got, 2, "two full batches of 100");
	batcher_flush(b);
	cr_assert_eq(n_got, 3);
	uint64_t total = 0;
	for (size_t i = 0; i < n_got; i++) {
		struct wire_batch wb;
		decode(got[i], &wb);
		cr_expect_eq(wb.seq, got[0]->seq + i, "consecutive seqs");
		cr_expect_str_eq(wb.agent_id, "ut");
		cr_expect_eq(wb.token_len, 3);
		cr_expect_eq(wb.n_events, i < 2 ? 100 : 50);
		char want[16];
		snprintf(want, sizeof(want), "e%zu", i * 100 + 7);
		cr_expect_str_eq(wb.events[7].id, want);
		char fv[16];
		snprintf(fv, sizeof(fv), "v%zu", i * 100 + 7);
		cr_expect_str_eq(wb.events[7].features[0].str, fv);
		for (size_t k = 0; k < wb.n_summaries; k++)
			total += wb.summaries[k].count;
		cr_expect_eq(got[i]->n_events, wb.n_events);
		wire_batch_free(&wb);
	}
	cr_expect_eq(total, 250, "every event counted once across batches");
	cr_expect_eq(stats_get(ST_EVENTS_SAMPLED), 250);
	batcher_free(b);
}

Test(batcher, age_closes_a_batch_and_labels_follow_events, .init = setup, .fini = teardown)
{
	struct batcher *b = make(0.5, 1000, 0.2);
	struct event_batch eb;
	size_t kept = 0, kept_labels = 0;

	parse(&eb, 0, 400);
	cr_assert_eq(batcher_submit(b, eb.events, eb.n_events, NULL, 0, NULL, &kept), 0);
	cr_expect(kept > 150 && kept < 250, "kept %zu of 400 at 0.5", kept);
	/* A label for every event. */
	struct label *lb = calloc(400, sizeof(*lb));
	char ids[400][16];
	for (int i = 0; i < 400; i++) {
		snprintf(ids[i], sizeof(ids[i]), "e%d", i);
		lb[i] = (struct label){"m", ids[i], {VALUE_NUMBER, 1, NULL}, 1, true};
	}
	cr_assert_eq(batcher_submit(b, NULL, 0, lb, 400, NULL, &kept_labels), 0);
	cr_expect_eq(kept_labels, kept, "labels kept exactly for kept events");
	batcher_tick(b, clock_mono());
	cr_expect_eq(n_got, 0, "not old enough yet");
	batcher_tick(b, clock_mono() + 0.3);
	cr_assert_eq(n_got, 1);
	struct wire_batch wb;
	decode(got[0], &wb);
	cr_expect_eq(wb.n_events, kept);
	cr_expect_eq(wb.n_labels, kept);
	for (size_t i = 0; i < wb.n_labels && i < wb.n_events; i++)
		cr_expect_str_eq(wb.labels[i].id, wb.events[i].id);
	wire_batch_free(&wb);
	event_batch_reset(&eb);
	free(lb);
	batcher_free(b);
}

Test(batcher, a_tail_mark_rides_on_the_batch_with_its_lines, .init = setup, .fini = teardown)
{
	struct batcher *b = make(1.0, 100, 60);
	struct event_batch eb;
	struct tail_mark m = {3, 1, 2, 4242, 99, 16};

	parse(&eb, 0, 150);
	cr_assert_eq(batcher_submit(b, eb.events, eb.n_events, NULL, 0, &m, NULL), 0);
	cr_assert_eq(n_got, 1);
	cr_expect_eq(got[0]->n_marks, 0, "the first batch closed before the mark");
	batcher_flush(b);
	cr_assert_eq(n_got, 2);
	cr_assert_eq(got[1]->n_marks, 1);
	cr_expect_eq(got[1]->marks[0].off, 4242);
	cr_expect_eq(got[1]->marks[0].source, 3);
	cr_expect(got[1]->tracked);
	/* A mark alone (all lines invalid) still makes a batch, so it is saved. */
	m.off = 5000;
	cr_assert_eq(batcher_submit(b, NULL, 0, NULL, 0, &m, NULL), 0);
	batcher_flush(b);
	cr_assert_eq(n_got, 3);
	cr_expect_eq(got[2]->marks[0].off, 5000);
	event_batch_reset(&eb);
	batcher_free(b);
}

/* A corrupt <state-dir>/seq ("-2", which strtoull reads as 2^64 - 2, or a
 * number near 2^64) must not make the sequence wrap around to numbers
 * already used: it is ignored and the clock decides (found by fuzz_state). */
Test(seqgen, a_corrupt_reservation_file_does_not_wrap_the_sequence)
{
	static const char *const bad[] = {"-2\n", "18446744073709551615\n", "9223372036854775807",
	                                  "+5\n"};
	char *d = h_tmpdir("seqgen"), path[600], err[256];
	snprintf(path, sizeof(path), "%s/seq", d);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(h_write_file(path, bad[i], strlen(bad[i])), 0);
		struct seqgen *g = seqgen_open(d, err, sizeof(err));
		cr_assert_not_null(g, "%s", err);
		uint64_t a = seqgen_next(g), b = seqgen_next(g);
		cr_expect_gt(b, a, "%s", bad[i]);
		cr_expect_lt(b, (uint64_t)INT64_MAX / 2, "seq %llu from a seq file of %s",
		             (unsigned long long)b, bad[i]);
		seqgen_close(g);
		g = seqgen_open(d, err, sizeof(err));
		cr_assert_not_null(g, "%s", err);
		cr_expect_gt(seqgen_next(g), b, "after a restart, from %s", bad[i]);
		seqgen_close(g);
	}
	h_rmtree(d);
	free(d);
}
