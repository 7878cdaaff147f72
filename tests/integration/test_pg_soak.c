/* Issue 16 acceptance 2, scaled down for `make test`: two mlwatchd on one
 * PostgreSQL, two agents listing both, 2 x 25,000 events with request ids,
 * kill -9 of one collector mid-stream and its restart; every event stored
 * exactly once (by id), window counts exact, both agents' spools drained
 * with everything acknowledged. The scenario is tests/lib/pg_soak.c; the
 * 1,000,000-event run of it is `make soak-pg` (tests/bench/soak_pg.c). */
#include <criterion/criterion.h>
#include <stdio.h>

#include "../lib/harness.h"
#include "../lib/pg_harness.h"
#include "../lib/pg_soak.h"

Test(pg_soak, kill_one_of_two_collectors_mid_stream_exactly_once, .timeout = 300)
{
	struct pg_cluster pg = {0};
	struct pg_soak_result r;
	char why[1024];
	const struct pg_soak_opts o = {
	    .events_per_agent = 25000,
	    .models = 4,
	    .kill_at = 0.3,
	    .down_s = 2.0,
	    .budget_s = 200, /* 26 s alone; 96 s beside a 1M soak and five other sessions */
	    .batch_max_events = 500,
	};

	PG_CLUSTER_START_OR_SKIP(&pg);
	int rc = pg_soak_run(&pg, &o, &r, why, sizeof(why));
	cr_assert_eq(rc, 0, "%s", why);
	printf("pg_soak: %lld events, %.0f events/s end to end (%.1f s), kill -9 at %lld stored, "
	       "down %.2f s, drained %.2f s after the restart (%.2f s after the last post); "
	       "duplicates %lld, missing %lld, strays %lld; %lld windows, %lld off; "
	       "%lld latency sketches short of their window's count; batches spooled %lld + %lld\n",
	       r.sent, r.events_per_s, r.total_s, r.stored_at_kill, r.down_s,
	       r.drain_after_restart_s, r.drain_after_post_s, r.duplicates, r.missing, r.strays,
	       r.windows, r.windows_off, r.sketches_off, r.agent_spooled[0], r.agent_spooled[1]);
	cr_assert_eq(pg_soak_judge(&o, &r, why, sizeof(why)), 0, "%s", why);
	cr_assert_gt(r.windows, 4 * 30, "events spread over many windows per model");
	pg_cluster_destroy(&pg);
}
