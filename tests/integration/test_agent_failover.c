/* One agent, two real mlwatchd (issue 16, item 2): `--collector` given twice.
 * Batches are spread over both; kill -9 of one mid-stream sends everything
 * to the other; restarted, it gets its share again. Every event reaches a
 * store (checked by id across both), none is stored twice in one store, and
 * the agent drops nothing and ends with an empty spool.
 *
 * Two mlwatchd cannot share one SQLite file (collector/dblock refuses), so
 * each has its own here. A batch that the killed collector committed but
 * could not acknowledge is sent again to the other and so sits in both
 * files: a shared PostgreSQL store refuses that second copy on (agent_id,
 * seq); with two files the test bounds and prints their number instead. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/agent_proc.h"
#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "clock.h"

#define BATCH_MAX 200 /* --batch-max-events: bounds a lost reply's duplicates */
#define INFLIGHT  4

/* POSTs events [from, to) with ids "<pfx>-<i>" in chunks of 500; returns
 * how many the agent accepted. */
static long post_events(struct agent_proc *a, const char *pfx, long from, long to)
{
	static const char *const hdr[] = {"Content-Type: application/x-ndjson", NULL};
	size_t cap = 500 * 200;
	char *body = malloc(cap);
	long accepted = 0;
	double ts = clock_now() - 5;

	cr_assert_not_null(body);
	for (long i = from; i < to;) {
		size_t len = 0;
		long start = i;
		for (; i < to && i - start < 500; i++)
			len += (size_t)snprintf(body + len, cap - len,
			                        "{\"model\":\"m\",\"id\":\"%s-%ld\",\"ts\":%.3f,"
			                        "\"latency_ms\":%ld}\n",
			                        pfx, i, ts, 1 + i % 50);
		for (int attempt = 0; attempt < 100; attempt++) {
			long st = ap_post(a, "/v1/events", body, len, hdr, false, NULL);
			if (st == 202) {
				accepted += i - start;
				break;
			}
			h_sleep(0.05); /* 503 while the agent is full: try again */
		}
	}
	free(body);
	return accepted;
}

static int64_t count_like(const char *db, const char *pfx)
{
	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE req_id LIKE '%s-%%'", pfx);
	int64_t n = db_int(db, sql);
	return n < 0 ? 0 : n;
}

/* Distinct ids over both stores and ids present in both. */
static void union_ids(const char *db1, const char *db2, int64_t *distinct, int64_t *in_both)
{
	sqlite3 *d = NULL;
	sqlite3_stmt *st = NULL;
	char sql[1400];

	*distinct = *in_both = -1;
	cr_assert_eq(sqlite3_open_v2(db2, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(d, 5000);
	snprintf(sql, sizeof(sql), "ATTACH DATABASE 'file:%s?mode=ro' AS one", db1);
	cr_assert_eq(sqlite3_exec(d, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(d));
	const char *q = "SELECT (SELECT count(*) FROM (SELECT req_id FROM main.events UNION "
	                "SELECT req_id FROM one.events)),"
	                " (SELECT count(*) FROM main.events e JOIN one.events f"
	                "  ON e.req_id = f.req_id)";
	cr_assert_eq(sqlite3_prepare_v2(d, q, -1, &st, NULL), SQLITE_OK, "%s", sqlite3_errmsg(d));
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	*distinct = sqlite3_column_int64(st, 0);
	*in_both = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	sqlite3_close(d);
}

static int64_t stored_total(struct cproc *c1, struct cproc *c2)
{
	int64_t a = db_int(c1->db, "SELECT count(*) FROM events");
	int64_t b = db_int(c2->db, "SELECT count(*) FROM events");
	return (a < 0 ? 0 : a) + (b < 0 ? 0 : b);
}

struct poster {
	struct agent_proc *a;
	long n;
	atomic_long posted;
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	for (long i = 0; i < p->n; i += 500) {
		long to = i + 500 < p->n ? i + 500 : p->n;
		atomic_fetch_add(&p->posted, post_events(p->a, "k", i, to));
		h_sleep(0.02); /* a stream, not one burst: the kill lands mid-way */
	}
	return NULL;
}

Test(agent_failover, two_collectors_spread_fail_over_and_resume, .timeout = 240)
{
	struct cproc c1, c2;
	struct agent_proc a;
	const long N1 = 4000, N2 = 20000, N3 = 4000;
	char batch[16], infl[16];

	cproc_init(&c1, "fo1");
	cproc_init(&c2, "fo2");
	cr_assert_eq(cproc_start(&c1, NULL), 0, "see %s", c1.log);
	cr_assert_eq(cproc_start(&c2, NULL), 0, "see %s", c2.log);
	cr_assert_eq(ap_init(&a, "fo-agent"), 0);
	snprintf(a.collector, sizeof(a.collector), "%s", c1.url);
	snprintf(batch, sizeof(batch), "%d", BATCH_MAX);
	snprintf(infl, sizeof(infl), "%d", INFLIGHT);
	const char *extra[] = {"--collector", c2.url,       "--batch-max-events",
	                       batch,         "--inflight", infl,
	                       "--resend",    "2s",         NULL};
	cr_assert_eq(ap_start(&a, extra), 0, "agent did not start, see %s", a.log);
	cr_assert(h_wait_log(a.log, "collectors_connected=2/2", 10 * h_slow()),
	          "both collectors connected, see %s", a.log);

	/* 1. Both up: spread. */
	cr_assert_eq(post_events(&a, "s", 0, N1), N1);
	double end = h_now() + 30 * h_slow();
	while (stored_total(&c1, &c2) < N1 && h_now() < end)
		h_sleep(0.05);
	int64_t s1 = count_like(c1.db, "s"), s2 = count_like(c2.db, "s");
	cr_assert_eq(s1 + s2, N1, "phase 1 stored %lld + %lld of %ld", (long long)s1, (long long)s2,
	             N1);
	cr_assert_gt(s1, 0, "the first collector got a share");
	cr_assert_gt(s2, 0, "the second collector got a share");

	/* 2. kill -9 of the first mid-stream: the second takes everything. */
	struct poster p = {.a = &a, .n = N2};
	pthread_t t;
	pthread_create(&t, NULL, poster_main, &p);
	end = h_now() + 60 * h_slow();
	while (count_like(c1.db, "k") + count_like(c2.db, "k") < N2 / 4 && h_now() < end)
		h_sleep(0.01);
	cr_assert_eq(cproc_stop(&c1, SIGKILL), 128 + SIGKILL);
	long posted_at_kill = atomic_load(&p.posted);
	int64_t k1_at_kill = count_like(c1.db, "k");
	double t_kill = h_now();
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&p.posted), N2);
	cr_assert_lt(posted_at_kill, N2, "the kill came mid-stream");
	end = h_now() + 60 * h_slow();
	int64_t distinct = 0, in_both = 0;
	while (h_now() < end) {
		int64_t k2 = count_like(c2.db, "k");
		if (k1_at_kill + k2 >= N2)
			break;
		h_sleep(0.05);
	}
	union_ids(c1.db, c2.db, &distinct, &in_both);
	printf("agent_failover: kill -9 after %ld of %ld posted: first had %lld, second %lld; "
	       "all stored %.2f s after the kill; in both stores: %lld\n",
	       posted_at_kill, N2, (long long)k1_at_kill, (long long)count_like(c2.db, "k"),
	       h_now() - t_kill, (long long)in_both);
	cr_assert_eq(distinct, N1 + N2, "every event of phases 1-2 in a store (by id)");
	cr_assert_eq(count_like(c1.db, "k"), k1_at_kill, "nothing reached the dead collector");

	/* 3. Restarted: the spread resumes. */
	cr_assert_eq(cproc_start(&c1, NULL), 0, "restart, see %s", c1.log);
	end = h_now() + 15 * h_slow();
	while (h_count_in_file(a.log, "collectors_connected=2/2") < 2 && h_now() < end)
		h_sleep(0.05);
	cr_assert_eq(post_events(&a, "r", 0, N3), N3);
	end = h_now() + 30 * h_slow();
	while (count_like(c1.db, "r") + count_like(c2.db, "r") < N3 && h_now() < end)
		h_sleep(0.05);
	int64_t r1 = count_like(c1.db, "r"), r2 = count_like(c2.db, "r");
	printf("agent_failover: after the restart: first %lld, second %lld of %ld\n", (long long)r1,
	       (long long)r2, N3);
	cr_assert_eq(r1 + r2, N3);
	cr_assert_gt(r1, 0, "the restarted collector gets its share again");

	/* Exactly once per store, everything somewhere, nothing dropped. */
	union_ids(c1.db, c2.db, &distinct, &in_both);
	cr_assert_eq(distinct, N1 + N2 + N3, "every event stored (by id)");
	cr_assert_eq(db_int(c1.db, "SELECT count(*) - count(DISTINCT req_id) FROM events"), 0);
	cr_assert_eq(db_int(c2.db, "SELECT count(*) - count(DISTINCT req_id) FROM events"), 0);
	cr_assert_leq(in_both, (int64_t)INFLIGHT * BATCH_MAX,
	              "only batches in flight at the kill can be in both stores: %lld",
	              (long long)in_both);
	cr_assert_eq(ap_metric(&a, "mlwatch_agent_events_dropped_total", NULL), 0);
	cr_assert_eq(ap_stop(&a), 0);
	size_t loglen = 0;
	char *log = h_read_file(a.log, &loglen);
	cr_assert(log && !strstr(log, "batches_lost="), "nothing lost at shutdown");
	free(log);
	cr_assert_eq(cproc_stop(&c1, SIGTERM), 0);
	cr_assert_eq(cproc_stop(&c2, SIGTERM), 0);
	ap_cleanup(&a);
	cproc_cleanup(&c1);
	cproc_cleanup(&c2);
}
