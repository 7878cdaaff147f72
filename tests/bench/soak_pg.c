/* `make soak-pg`: issue 16 acceptance 2 at full size. Two mlwatchd on one
 * throw-away PostgreSQL cluster, two agents listing both, 2 x 500,000 events
 * with request ids (SOAK_PG_EVENTS sets the total), kill -9 of one collector
 * once 30% are stored, restarted 5 s later. Prints events/s, the time to
 * drain the agents' spools after the restart, duplicates and missing ids,
 * window checks and the agents' counters; exits 1 unless every event is
 * stored exactly once, windows are exact and both agents drained. Bounded:
 * SOAK_PG_BUDGET seconds (default 1800). Not part of `make bench` (its name
 * is not bench_*). */
#include <stdio.h>
#include <stdlib.h>

#include "harness.h"
#include "pg_harness.h"
#include "pg_soak.h"

int main(void)
{
	struct pg_cluster pg = {0};
	struct pg_soak_result r;
	char why[1024];
	const char *ev = getenv("SOAK_PG_EVENTS"), *bud = getenv("SOAK_PG_BUDGET");
	long total = ev ? strtol(ev, NULL, 10) : 1000000;
	double budget = bud ? strtod(bud, NULL) : 1800;
	struct pg_soak_opts o = {
	    .events_per_agent = total / 2,
	    .models = 8,
	    .kill_at = 0.3,
	    .down_s = 5.0,
	    .budget_s = budget,
	    .batch_max_events = 1000,
	    .verbose = 1,
	};

	if (total < 2 || total > 100000000 || !(budget > 0 && budget <= 86400)) {
		fprintf(stderr,
		        "soak_pg: SOAK_PG_EVENTS must be 2..1e8 and SOAK_PG_BUDGET 1..86400 s\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0); /* progress lines as they come */
	int rc = pg_cluster_start(&pg, why, sizeof(why));
	if (rc != 0) {
		printf("soak_pg: SKIP: PostgreSQL %s: %s\n",
		       rc == PG_UNAVAILABLE ? "not available" : "cluster did not start", why);
		return rc == PG_UNAVAILABLE ? 0 : 1;
	}
	printf("soak_pg: %ld events (2 agents x %ld), 2 collectors on one PostgreSQL, kill -9 at "
	       "30%%, down %.0f s, budget %.0f s\n",
	       2 * o.events_per_agent, o.events_per_agent, o.down_s, budget);
	fflush(stdout);
	if (pg_soak_run(&pg, &o, &r, why, sizeof(why)) != 0) {
		printf("soak_pg: FAILED: %s\n", why);
		pg_cluster_destroy(&pg);
		return 1;
	}
	printf("soak_pg: sent %lld events; all acknowledged %.1f s after the first post "
	       "(posting took %.1f s): %.0f events/s end to end\n",
	       r.sent, r.total_s, r.post_s, r.events_per_s);
	printf("soak_pg: kill -9 with %lld stored; down %.2f s; spools drained %.1f s after the "
	       "restart (%.1f s after the last post)\n",
	       r.stored_at_kill, r.down_s, r.drain_after_restart_s, r.drain_after_post_s);
	printf(
	    "soak_pg: stored %lld, distinct ids %lld, duplicates %lld, missing %lld, strays %lld\n",
	    r.stored, r.distinct_ids, r.duplicates, r.missing, r.strays);
	printf("soak_pg: %lld windows, sum of counts %lld, models off %lld, windows off %lld\n",
	       r.windows, r.window_sum, r.models_off, r.windows_off);
	for (int i = 0; i < 2; i++)
		printf("soak_pg: agent %d: received %lld, acknowledged %lld, batches spooled %lld, "
		       "spool left %lld, dropped %lld, peak RSS %.1f MiB\n",
		       i + 1, r.agent_received[i], r.agent_acked[i], r.agent_spooled[i],
		       r.agent_spool_left[i], r.agent_dropped[i], r.rss_mib[i]);
	rc = pg_soak_judge(&o, &r, why, sizeof(why));
	printf("soak_pg: %s%s\n", rc ? "FAILED: " : "ok", rc ? why : "");
	pg_cluster_destroy(&pg);
	return rc ? 1 : 0;
}
