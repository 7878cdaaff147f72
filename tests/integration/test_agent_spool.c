/* The agent while its collector is away, busy, silent or restarting:
 * nothing lost, replay in order, spool emptied afterwards, a restart of the
 * agent replays its spool, and with a tiny --spool-max the drop counters
 * equal exactly what the collector never got (the oldest batches). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/agent_proc.h"
#include "../lib/fake_collector.h"
#include "../lib/harness.h"

static struct agent_proc ag;
static struct fake_collector *fc;

static void setup(void)
{
	cr_assert_eq(ap_init(&ag, "agent-spool"), 0);
}

static void teardown(void)
{
	if (ag.p.pid > 0)
		cr_expect_eq(ap_stop(&ag), 0, "agent exit status");
	fc_free(fc);
	fc = NULL;
	ap_cleanup(&ag);
}

/* Posts events first..first+n-1 ("e-%07d"), pad bytes of feature text. */
static void post_range(int first, int n, int pad)
{
	size_t cap = (size_t)n * (220 + (size_t)pad) + 16, len = 0;
	char *s = malloc(cap), *padding = malloc((size_t)pad + 1);
	memset(padding, 'x', (size_t)pad);
	padding[pad] = '\0';
	len += (size_t)snprintf(s + len, cap - len, "[");
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len,
		                        "%s{\"model\":\"m\",\"id\":\"e-%07d\",\"latency_ms\":%d,"
		                        "\"features\":{\"pad\":\"%s\",\"x\":%d}}",
		                        i ? "," : "", first + i, (first + i) % 100, padding, i);
	snprintf(s + len, cap - len, "]");
	cr_assert_eq(ap_post(&ag, "/v1/events", s, strlen(s), NULL, false, NULL), 202);
	free(s);
	free(padding);
}

/* Every id e-0000000 .. e-(n-1) arrived exactly once; returns how many
 * arrived out of order (an id lower than one before it). */
static size_t check_all_once(int n, int first_expected)
{
	size_t m;
	struct fc_event *ev = fc_events_copy(fc, &m);
	char *seen = calloc((size_t)n, 1);
	size_t disorder = 0;
	int prev = -1;
	for (size_t i = 0; i < m; i++) {
		int id = (int)strtol(ev[i].id + 2, NULL, 10);
		cr_assert(id >= first_expected && id < n, "unexpected id %s", ev[i].id);
		cr_assert_eq(seen[id], 0, "id %s arrived twice", ev[i].id);
		seen[id] = 1;
		disorder += id < prev;
		prev = id;
	}
	cr_expect_eq(m, (size_t)(n - first_expected), "arrived %zu of %d", m, n - first_expected);
	free(seen);
	fc_events_free(ev, m);
	return disorder;
}

Test(agent_spool, collector_away_during_a_steady_stream, .init = setup, .fini = teardown,
     .timeout = 150)
{
	/* 5 s in make test; the contract's 30 s under make soak (SOAK_SECONDS
	 * set) or MLWATCH_AGENT_OUTAGE_S. */
	const char *env = getenv("MLWATCH_AGENT_OUTAGE_S");
	const double away_from = 1.5, away_for = env                      ? strtod(env, NULL)
	                                         : getenv("SOAK_SECONDS") ? 30.0
	                                                                  : 5.0;
	const int per_post = 20, posts = (int)((away_from + away_for + 2.0) / 0.05);
	fc = fc_start(ag.collector);
	cr_assert_not_null(fc);
	cr_assert_eq(ap_start(&ag, (const char *[]){"--resend", "1s", NULL}), 0);

	double t0 = h_now();
	bool stopped = false, restarted = false;
	for (int p = 0; p < posts; p++) {
		double t = h_now() - t0;
		if (!stopped && t >= away_from) {
			fc_stop(fc);
			stopped = true;
		}
		if (stopped && !restarted && t >= away_from + away_for) {
			cr_assert_eq(fc_restart(fc), 0);
			restarted = true;
		}
		post_range(p * per_post, per_post, 0);
		h_sleep(0.05);
	}
	if (!restarted)
		cr_assert_eq(fc_restart(fc), 0);
	int n = posts * per_post;
	cr_assert(fc_wait_events(fc, (size_t)n, 30), "collector got %zu of %d", fc_events(fc), n);
	cr_expect_eq(check_all_once(n, 0), 0, "replayed in order");
	cr_expect(ap_wait_metric(&ag, "mlwatch_agent_events_sent_total", NULL, n, 10));
	cr_expect_gt(ap_metric(&ag, "mlwatch_agent_events_spooled_total", NULL), 0,
	             "the outage went through the spool");
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_events_dropped_total", NULL), 0);
	for (int i = 0; i < 100 && ap_metric(&ag, "mlwatch_agent_spool_bytes", NULL) != 0; i++)
		h_sleep(0.05);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_spool_bytes", NULL), 0, "spool emptied");
	cr_expect(fc_wait_counted(fc, (uint64_t)n, 5));
	cr_expect_eq(fc_summary_count(fc), (uint64_t)n, "summaries cover every event once");
}

Test(agent_spool, tiny_spool_drops_the_oldest_and_counts_exactly, .init = setup, .fini = teardown,
     .timeout = 60)
{
	const int per_post = 50, posts = 40, n = per_post * posts;
	/* No collector yet: everything goes to a 64 KiB spool. */
	cr_assert_eq(ap_start(&ag, (const char *[]){"--spool-max", "64KiB", NULL}), 0);
	for (int p = 0; p < posts; p++) {
		post_range(p * per_post, per_post, 200);
		h_sleep(0.06); /* about one batch per request */
	}
	cr_assert(ap_wait_metric(&ag, "mlwatch_agent_events_spooled_total", NULL, n, 20),
	          "spooled %g of %d", ap_metric(&ag, "mlwatch_agent_events_spooled_total", NULL),
	          n);
	double dropped = ap_metric(&ag, "mlwatch_agent_events_dropped_total", NULL);
	double cdropped = ap_metric(&ag, "mlwatch_agent_counted_dropped_total", NULL);
	cr_assert_gt(dropped, 0, "a 64 KiB spool cannot hold ~500 KiB");
	cr_expect_leq(ap_metric(&ag, "mlwatch_agent_spool_bytes", NULL), 65536);

	fc = fc_start(ag.collector);
	cr_assert_not_null(fc);
	cr_assert(fc_wait_events(fc, (size_t)(n - dropped), 20), "replayed %zu, expected %g",
	          fc_events(fc), n - dropped);
	h_sleep(0.3);
	cr_expect_eq(fc_events(fc) + (size_t)dropped, (size_t)n, "sent + dropped == sent in");
	cr_expect_eq(fc_summary_count(fc) + (uint64_t)cdropped, (uint64_t)n);
	/* The oldest went: what arrived is exactly the newest n - dropped. */
	cr_expect_eq(check_all_once(n, (int)dropped), 0, "replayed in order");
	cr_expect(ap_wait_metric(&ag, "mlwatch_agent_events_replayed_total", NULL, n - dropped, 5));
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_spool_bytes", NULL), 0);
}

Test(agent_spool, agent_restart_replays_its_spool, .init = setup, .fini = teardown, .timeout = 60)
{
	cr_assert_eq(ap_start(&ag, NULL), 0);
	for (int p = 0; p < 10; p++)
		post_range(p * 50, 50, 0);
	/* SIGTERM with the collector away: what is in memory goes to the spool. */
	cr_assert_eq(ap_stop(&ag), 0);
	char *log = h_read_file(ag.log, NULL);
	cr_expect(strstr(log, "stopped") != NULL);
	free(log);
	fc = fc_start(ag.collector);
	cr_assert_not_null(fc);
	cr_assert_eq(ap_start(&ag, NULL), 0);
	cr_assert(fc_wait_events(fc, 500, 20), "replayed %zu of 500", fc_events(fc));
	cr_expect_eq(check_all_once(500, 0), 0);
	cr_expect(ap_wait_metric(&ag, "mlwatch_agent_events_replayed_total", NULL, 500, 5));
	for (int i = 0; i < 100 && ap_metric(&ag, "mlwatch_agent_spool_bytes", NULL) != 0; i++)
		h_sleep(0.05);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_spool_bytes", NULL), 0);
}

Test(agent_spool, busy_then_silent_collector_loses_nothing, .init = setup, .fini = teardown,
     .timeout = 60)
{
	fc = fc_start(ag.collector);
	cr_assert_not_null(fc);
	fc_set_mode(fc, FC_BUSY);
	cr_assert_eq(ap_start(&ag, (const char *[]){"--resend", "500ms", NULL}), 0);
	for (int p = 0; p < 10; p++)
		post_range(p * 30, 30, 0);
	cr_assert(ap_wait_metric(&ag, "mlwatch_agent_replies_busy_total", NULL, 1, 5));
	fc_set_mode(fc, FC_SILENT);
	for (int p = 10; p < 20; p++)
		post_range(p * 30, 30, 0);
	h_sleep(1.5);
	cr_expect_eq(fc_events(fc), 0, "nothing stored while busy or silent");
	fc_set_mode(fc, FC_OK);
	cr_assert(fc_wait_events(fc, 600, 20), "got %zu of 600", fc_events(fc));
	check_all_once(600, 0);
	cr_expect_gt(ap_metric(&ag, "mlwatch_agent_send_retries_total", NULL), 0);
}
