/* forward: batches reach a (fake) collector and are done only on its
 * reply; tail marks are released in seq order once every earlier batch is
 * safe; with the collector away batches go to the spool and are replayed in
 * order when it comes back; stop spools what is still in memory. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "fake_collector.h"
#include "forward.h"
#include "harness.h"
#include "spool.h"
#include "stats.h"
#include "wire.h"

static char *dir, url[64];
static struct spool *sp;
static struct fake_collector *fc;
static uint64_t released[256];
static size_t n_released;

static void on_done(void *arg, const struct tail_mark *m, size_t n)
{
	(void)arg;
	for (size_t i = 0; i < n && n_released < 256; i++)
		released[n_released++] = m[i].off;
}

static void setup(void)
{
	char err[256], sdir[700];
	dir = h_tmpdir("forward");
	snprintf(sdir, sizeof(sdir), "%s/spool", dir);
	sp = spool_open(sdir, 1 << 20, err, sizeof(err));
	cr_assert_not_null(sp, "%s", err);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", h_free_port());
	n_released = 0;
	stats_reset();
}

static void teardown(void)
{
	fc_free(fc);
	fc = NULL;
	spool_close(sp);
	h_rmtree(dir);
	free(dir);
}

/* A batch of n events (ids "s<seq>-<i>") with a tail mark at offset seq. */
static struct obatch *make(uint64_t seq, int n)
{
	struct obatch *ob = calloc(1, sizeof(*ob));
	struct wire_batch wb;
	struct event *ev = calloc((size_t)n, sizeof(*ev));
	char(*ids)[32] = calloc((size_t)n, 32);
	memset(&wb, 0, sizeof(wb));
	for (int i = 0; i < n; i++) {
		snprintf(ids[i], 32, "s%llu-%d", (unsigned long long)seq, i);
		ev[i] = (struct event){.model = "m", .id = ids[i], .ts = clock_now() - 1};
	}
	wb.agent_id = "fw";
	wb.seq = seq;
	wb.events = ev;
	wb.n_events = (size_t)n;
	cr_assert_eq(wire_encode_batch(&wb, &ob->buf, &ob->len), 0);
	ob->seq = seq;
	ob->n_events = (uint32_t)n;
	ob->tracked = true;
	ob->born = clock_mono();
	ob->marks = calloc(1, sizeof(*ob->marks));
	ob->marks[0] = (struct tail_mark){.source = 0, .off = seq};
	ob->n_marks = 1;
	free(ev);
	free(ids);
	return ob;
}

static struct forward *start(uint64_t first_seq)
{
	char err[256];
	struct forward_config cfg = {.url = url,
	                             .inflight = 4,
	                             .resend_ms = 500,
	                             .queue_max = 1 << 20,
	                             .spool_after_s = 0.3,
	                             .first_seq = first_seq};
	struct forward *f = forward_new(&cfg, sp, on_done, NULL, err, sizeof(err));
	cr_assert_not_null(f, "%s", err);
	cr_assert_eq(forward_start(f, err, sizeof(err)), 0, "%s", err);
	return f;
}

Test(forward, delivers_and_releases_marks_in_order, .init = setup, .fini = teardown)
{
	fc = fc_start(url);
	cr_assert_not_null(fc);
	struct forward *f = start(100);
	/* Enqueued slightly out of order, as two closing threads may do. */
	uint64_t order[] = {100, 102, 101, 103, 104, 105, 106, 107, 108, 109};
	for (size_t i = 0; i < 10; i++)
		forward_enqueue(f, make(order[i], 5));
	cr_assert(fc_wait_events(fc, 50, 10));
	for (int i = 0; i < 100 && n_released < 10; i++)
		h_sleep(0.02);
	cr_assert_eq(n_released, 10);
	for (size_t i = 0; i < n_released; i++)
		cr_expect_eq(released[i], 100 + i, "marks in seq order");
	cr_expect_eq(stats_get(ST_EVENTS_SENT), 50);
	cr_expect_eq(stats_get(ST_BATCHES_SENT), 10);
	cr_expect(forward_connected(f));
	forward_stop(f, 2);
	forward_free(f);
	cr_expect_eq(spool_records(sp), 0);
}

Test(forward, spools_while_away_and_replays_in_order, .init = setup, .fini = teardown)
{
	struct forward *f = start(1);
	for (uint64_t s = 1; s <= 6; s++)
		forward_enqueue(f, make(s, 3));
	for (int i = 0; i < 100 && spool_records(sp) < 6; i++)
		h_sleep(0.02);
	cr_expect_eq(stats_get(ST_BATCHES_SPOOLED), 6, "not sent within 0.3 s: spooled");
	cr_expect_eq(n_released, 6, "spooled batches are safe for the tail");
	fc = fc_start(url);
	cr_assert_not_null(fc);
	cr_assert(fc_wait_events(fc, 18, 10));
	size_t n;
	uint64_t *seqs = fc_seqs_copy(fc, &n);
	cr_assert_eq(n, 6);
	for (size_t i = 0; i < n; i++)
		cr_expect_eq(seqs[i], i + 1, "replayed in order");
	free(seqs);
	/* The collector has the events before the agent has read its replies. */
	for (int i = 0; i < 250 && stats_get(ST_EVENTS_REPLAYED) < 18; i++)
		h_sleep(0.02);
	cr_expect_eq(stats_get(ST_EVENTS_REPLAYED), 18);
	for (int i = 0; i < 100 && spool_records(sp) > 0; i++)
		h_sleep(0.02);
	cr_expect_eq(spool_records(sp), 0);
	forward_stop(f, 1);
	forward_free(f);
}

Test(forward, stop_spools_what_is_in_memory, .init = setup, .fini = teardown)
{
	struct forward *f = start(1);
	for (uint64_t s = 1; s <= 3; s++)
		forward_enqueue(f, make(s, 2));
	forward_stop(f, 0.1); /* collector away: nothing can be sent */
	forward_free(f);
	cr_expect_eq(spool_records(sp), 3);
	cr_expect_eq(stats_get(ST_EVENTS_DROPPED), 0);
	struct spool_record r;
	cr_assert_eq(spool_read(sp, &r), 0);
	cr_expect_eq(r.seq, 1);
	free(r.buf);
}

Test(forward, a_hung_collector_does_not_hold_back_later_batches, .init = setup, .fini = teardown)
{
	fc = fc_start(url);
	cr_assert_not_null(fc);
	fc_set_mode(fc, FC_SILENT);   /* connected, reads, never answers */
	struct forward *f = start(1); /* resend 0.5 s: stuck after 1.5 s */
	for (uint64_t s = 1; s <= 8; s++)
		forward_enqueue(f, make(s, 1));
	for (int i = 0; i < 200 && n_released < 8; i++)
		h_sleep(0.02);
	cr_expect_eq(n_released, 8, "in-flight batches were copied to the spool and count as safe");
	cr_expect_eq(stats_get(ST_BATCHES_SPOOLED), 8);
	fc_set_mode(fc, FC_OK);
	cr_assert(fc_wait_events(fc, 8, 10));
	for (int i = 0; i < 200 && spool_records(sp) > 0; i++)
		h_sleep(0.02);
	cr_expect_eq(spool_records(sp), 0, "replayed copies were answered (as duplicates)");
	cr_expect_eq(fc_events(fc), 8, "stored once");
	forward_stop(f, 1);
	forward_free(f);
}

static bool wait_connected(struct forward *f, int n, double timeout_s)
{
	double end = h_now() + timeout_s;
	while (forward_collectors_connected(f) != n && h_now() < end)
		h_sleep(0.02);
	return forward_collectors_connected(f) == n;
}

/* Seqs stored by a or b, each at most once in all (a seq in both would be
 * a duplicate across collectors); fills seen[seq - first]. */
static size_t union_seqs(struct fake_collector *a, struct fake_collector *b, uint64_t first,
                         bool *seen, size_t n_seen, size_t *dups)
{
	struct fake_collector *both[2] = {a, b};
	size_t distinct = 0;
	*dups = 0;
	for (int k = 0; k < 2; k++) {
		size_t n;
		uint64_t *seqs = fc_seqs_copy(both[k], &n);
		for (size_t i = 0; i < n; i++) {
			cr_assert(seqs[i] >= first && seqs[i] - first < n_seen, "seq %llu",
			          (unsigned long long)seqs[i]);
			if (seen[seqs[i] - first])
				(*dups)++;
			else
				distinct++;
			seen[seqs[i] - first] = true;
		}
		free(seqs);
	}
	return distinct;
}

/* Issue 16: --collector repeated. Batches are spread over both collectors;
 * when one goes away the other takes everything; when it is back it gets
 * its share again. Every batch is acknowledged once, marks in order. */
Test(forward, spreads_over_two_collectors_and_fails_over, .init = setup, .fini = teardown)
{
	char url2[64], err[256];
	snprintf(url2, sizeof(url2), "tcp://127.0.0.1:%d", h_free_port());
	fc = fc_start(url);
	struct fake_collector *fc2 = fc_start(url2);
	cr_assert_not_null(fc);
	cr_assert_not_null(fc2);
	const char *urls[2] = {url, url2};
	struct forward_config cfg = {.urls = urls,
	                             .n_urls = 2,
	                             .inflight = 4,
	                             .resend_ms = 500,
	                             .queue_max = 1 << 20,
	                             .spool_after_s = 5,
	                             .first_seq = 1};
	struct forward *f = forward_new(&cfg, sp, on_done, NULL, err, sizeof(err));
	cr_assert_not_null(f, "%s", err);
	char both[160];
	snprintf(both, sizeof(both), "%s,%s", url, url2);
	cr_assert_str_eq(forward_urls(f), both);
	cr_assert_eq(forward_start(f, err, sizeof(err)), 0, "%s", err);
	cr_assert(wait_connected(f, 2, 10), "both collectors connected");

	/* Both up: the batches land on both. */
	uint64_t s = 1;
	for (; s <= 40; s++)
		forward_enqueue(f, make(s, 2));
	double end = h_now() + 10;
	while (fc_batches(fc) + fc_batches(fc2) < 40 && h_now() < end)
		h_sleep(0.02);
	size_t a1 = fc_batches(fc), b1 = fc_batches(fc2);
	cr_assert_eq(a1 + b1, 40, "a=%zu b=%zu", a1, b1);
	cr_expect_gt(a1, 0, "spread: the first collector got some");
	cr_expect_gt(b1, 0, "spread: the second collector got some");

	/* The first goes away: everything goes to the second. */
	fc_stop(fc);
	cr_assert(wait_connected(f, 1, 10));
	for (; s <= 80; s++)
		forward_enqueue(f, make(s, 2));
	end = h_now() + 10;
	while (fc_batches(fc2) < b1 + 40 && h_now() < end)
		h_sleep(0.02);
	cr_assert_eq(fc_batches(fc2), b1 + 40, "the second took all 40 while the first was away");
	cr_assert_eq(fc_batches(fc), a1);

	/* Back: it gets its share again. */
	cr_assert_eq(fc_restart(fc), 0);
	cr_assert(wait_connected(f, 2, 10));
	for (; s <= 120; s++)
		forward_enqueue(f, make(s, 2));
	end = h_now() + 10;
	while (fc_batches(fc) + fc_batches(fc2) < 120 && h_now() < end)
		h_sleep(0.02);
	cr_expect_gt(fc_batches(fc), a1, "spread resumed on the first collector");

	bool seen[120] = {false};
	size_t dups;
	size_t distinct = union_seqs(fc, fc2, 1, seen, 120, &dups);
	cr_assert_eq(distinct, 120, "every batch stored");
	cr_assert_eq(dups, 0, "no batch on both collectors");
	for (int i = 0; i < 250 && n_released < 120; i++)
		h_sleep(0.02);
	cr_assert_eq(n_released, 120);
	for (size_t i = 0; i < n_released; i++)
		cr_expect_eq(released[i], 1 + i, "marks in seq order");
	cr_expect_eq(stats_get(ST_EVENTS_SENT), 240);
	forward_stop(f, 2);
	forward_free(f);
	fc_free(fc2);
	cr_expect_eq(spool_records(sp), 0);
}

/* A collector that stops answering while connected (a hung process): the
 * requests waiting on it are sent again after --resend and reach the
 * other one; nothing is lost. */
Test(forward, a_hung_collector_among_two_does_not_lose_batches, .init = setup, .fini = teardown)
{
	char url2[64], err[256];
	snprintf(url2, sizeof(url2), "tcp://127.0.0.1:%d", h_free_port());
	fc = fc_start(url);
	struct fake_collector *fc2 = fc_start(url2);
	cr_assert_not_null(fc);
	cr_assert_not_null(fc2);
	const char *urls[2] = {url, url2};
	struct forward_config cfg = {.urls = urls,
	                             .n_urls = 2,
	                             .inflight = 4,
	                             .resend_ms = 300,
	                             .queue_max = 1 << 20,
	                             .spool_after_s = 5,
	                             .first_seq = 1};
	struct forward *f = forward_new(&cfg, sp, on_done, NULL, err, sizeof(err));
	cr_assert_not_null(f, "%s", err);
	cr_assert_eq(forward_start(f, err, sizeof(err)), 0, "%s", err);
	cr_assert(wait_connected(f, 2, 10));
	fc_set_mode(fc, FC_SILENT);
	for (uint64_t s = 1; s <= 20; s++)
		forward_enqueue(f, make(s, 1));
	double end = h_now() + 15;
	while (fc_batches(fc2) < 20 && h_now() < end)
		h_sleep(0.02);
	cr_assert_eq(fc_batches(fc2), 20, "the answering collector got every batch");
	for (int i = 0; i < 500 && n_released < 20; i++)
		h_sleep(0.02);
	cr_assert_eq(n_released, 20);
	forward_stop(f, 2);
	forward_free(f);
	fc_free(fc2);
}

Test(forward, refuses_a_collector_listed_twice_or_too_many, .init = setup, .fini = teardown)
{
	char err[256];
	const char *twice[2] = {url, url};
	struct forward_config cfg = {.urls = twice, .n_urls = 2, .inflight = 1, .resend_ms = 500};
	cr_assert_null(forward_new(&cfg, sp, on_done, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "listed twice"), "%s", err);
	const char *many[FORWARD_MAX_COLLECTORS + 1];
	for (size_t i = 0; i <= FORWARD_MAX_COLLECTORS; i++)
		many[i] = url;
	cfg.urls = many;
	cfg.n_urls = FORWARD_MAX_COLLECTORS + 1;
	cr_assert_null(forward_new(&cfg, sp, on_done, NULL, err, sizeof(err)));
	cr_assert(strstr(err, "at most 16 collectors"), "%s", err);
}
