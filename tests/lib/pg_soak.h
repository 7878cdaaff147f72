/* pg_soak: issue 16 acceptance 2 as one reusable run. Two real mlwatchd on
 * one PostgreSQL store, two real mlwatch-agent each listing both collectors
 * (`--collector` twice); N events per agent posted over HTTP with request ids
 * "<agent>-<i>" spread over several models and minute windows; once a given
 * share of them is stored, kill -9 of the first collector, restart after a
 * pause, and drain. Then the store is checked against what was sent:
 * every id stored exactly once (missing, duplicates and strays counted by id
 * in SQL), window counts exact (per model the sum of window counts equals
 * its events; each window's count equals the count of its events), and both
 * agents acknowledged everything they took (events_sent_total = events
 * received, empty spool, nothing dropped).
 *
 * Used by tests/integration/test_pg_soak.c (scaled down, in `make test`)
 * and tests/bench/soak_pg.c (1,000,000 events, `make soak-pg`).
 *
 * Threads: pg_soak_run starts one poster thread per agent and joins them
 * before it returns. Failures: a process that does not start, a wait past
 * its bound or a query that fails returns -1 with why filled (what and the
 * log to read); the checks themselves are left to the caller (the figures
 * are in the result) so that a soak can print them all before judging.
 * Every wait is bounded by opts.budget_s (times h_slow()). */
#ifndef MLW_PG_SOAK_H
#define MLW_PG_SOAK_H

#include <stddef.h>

#include "pg_harness.h"

struct pg_soak_opts {
	long events_per_agent; /* events each of the two agents is given */
	int models;            /* events spread over this many models */
	double kill_at;        /* kill -9 once this share of all events is stored */
	double down_s;         /* the killed collector stays down this long */
	double budget_s;       /* bound of the whole run (before h_slow) */
	int batch_max_events;  /* the agents' --batch-max-events (0: default) */
	int verbose;           /* progress lines on stdout */
};

struct pg_soak_result {
	long long sent;         /* events accepted by the agents (HTTP 202) */
	long long stored;       /* rows in events */
	long long distinct_ids; /* distinct req_id */
	long long duplicates;   /* stored - distinct */
	long long missing;      /* sent ids not stored */
	long long strays;       /* stored ids that were never sent */
	long long windows;      /* window rows */
	long long window_sum;   /* sum of window counts */
	long long models_off;   /* models whose window counts do not sum to their events */
	long long windows_off;  /* windows whose count is not the count of their events */
	long long sketches_off; /* windows whose latency sketch does not hold count values
	                           (every event carries a latency: a lost merge) */
	long long agent_received[2], agent_acked[2]; /* events, per agent */
	long long agent_spooled[2];                  /* batches written to the spool */
	long long agent_spool_left[2];               /* spool_batches at the end */
	long long agent_dropped[2];                  /* events + batches dropped */
	long long stored_at_kill;
	double post_s;                /* from the first post to the last one accepted */
	double total_s;               /* from the first post to everything acknowledged */
	double events_per_s;          /* sent / total_s */
	double down_s;                /* kill -9 to the restarted collector listening */
	double drain_after_restart_s; /* restart to both agents drained */
	double drain_after_post_s;    /* last post accepted to both drained */
	double rss_mib[2];            /* agents' peak RSS (VmHWM) at the end */
};

/* Runs the scenario on the started cluster pg (its database must be empty).
 * Returns 0 with r filled, or -1 with why filled. */
int pg_soak_run(struct pg_cluster *pg, const struct pg_soak_opts *o, struct pg_soak_result *r,
                char *why, size_t whylen);

/* True when r shows exactly once, exact windows and drained agents for
 * 2 * events_per_agent events; otherwise why names the first figure off. */
int pg_soak_judge(const struct pg_soak_opts *o, const struct pg_soak_result *r, char *why,
                  size_t whylen);

#endif
