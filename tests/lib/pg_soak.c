/* pg_soak: two collectors on one PostgreSQL, two agents listing both, a
 * kill -9 mid-stream; see pg_soak.h. */
#include "pg_soak.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_proc.h"
#include "clock.h"
#include "collector_proc.h"
#include "db.h"
#include "ddsketch.h"
#include "harness.h"
#include "store.h"

#define CHUNK 1000 /* events per POST */

struct poster {
	struct agent_proc *a;
	const char *pfx;
	long n;
	int models;
	double t0, span; /* event times: t0 + i * span / n */
	double deadline;
	atomic_llong posted;
	double done_at; /* h_now() when the last event was accepted */
	int failed;     /* a POST kept failing until the deadline */
};

static void *poster_main(void *arg)
{
	static const char *const hdr[] = {"Content-Type: application/x-ndjson", NULL};
	struct poster *p = arg;
	size_t cap = (size_t)CHUNK * 160;
	char *body = malloc(cap);

	if (!body) {
		p->failed = 1;
		return NULL;
	}
	for (long i = 0; i < p->n && !p->failed;) {
		size_t len = 0;
		long start = i;
		for (; i < p->n && i - start < CHUNK; i++)
			len += (size_t)snprintf(
			    body + len, cap - len,
			    "{\"model\":\"soak-%ld\",\"id\":\"%s-%ld\",\"ts\":%.3f,"
			    "\"latency_ms\":%ld}\n",
			    i % p->models, p->pfx, i, p->t0 + (double)i * p->span / (double)p->n,
			    1 + i % 97);
		/* 503 while the agent's memory and spool are full: try again. */
		for (;;) {
			long st = ap_post(p->a, "/v1/events", body, len, hdr, false, NULL);
			if (st == 202) {
				atomic_fetch_add(&p->posted, i - start);
				break;
			}
			if (h_now() > p->deadline) {
				p->failed = 1;
				break;
			}
			h_sleep(0.05);
		}
	}
	p->done_at = h_now();
	free(body);
	return NULL;
}

static int q(struct pg_cluster *pg, const char *sql, long long *out, char *why, size_t whylen)
{
	char e[512];
	if (pg_cluster_query_ll(pg, NULL, sql, out, e, sizeof(e)) == 0)
		return 0;
	snprintf(why, whylen, "query failed: %s: %s", sql, e);
	return -1;
}

static long long metric(struct agent_proc *a, const char *name)
{
	double v = ap_metric(a, name, NULL);
	return v < 0 ? -1 : (long long)v;
}

/* Everything the agent took is acknowledged and nothing waits anywhere. */
static bool drained(struct agent_proc *a)
{
	long long rec = metric(a, "mlwatch_agent_events_received_total");
	return rec >= 0 && metric(a, "mlwatch_agent_events_sent_total") == rec &&
	       metric(a, "mlwatch_agent_spool_batches") == 0 &&
	       metric(a, "mlwatch_agent_batches_inflight") == 0 &&
	       metric(a, "mlwatch_agent_queue_bytes") == 0;
}

static double vmhwm_mib(pid_t pid)
{
	char path[64], line[256];
	double kb = 0;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmHWM: %lf", &kb) == 1)
			break;
	fclose(f);
	return kb / 1024.0;
}

/* A window whose latency sketch does not hold its count of events. */
static int sketch_row(struct db_stmt *s, void *ctx)
{
	long long *off = ctx;
	struct ddsketch *sk = NULL;
	uint64_t n = 0;

	if (db_column_type(s, 1) == DB_BLOB &&
	    ddsketch_decode(db_column_blob(s, 1), (size_t)db_column_bytes(s, 1), &sk) == 0)
		n = ddsketch_count(sk);
	ddsketch_free(sk);
	if ((int64_t)n != db_column_int64(s, 0))
		(*off)++;
	return 0;
}

static int check_sketches(struct pg_cluster *pg, struct pg_soak_result *r, char *why, size_t whylen)
{
	struct store st;
	struct db_stmt *s = NULL;
	char e[512];
	int rc = -1;

	if (store_open(&st, pg->uri, STORE_RO, false, e, sizeof(e)) != 0) {
		snprintf(why, whylen, "store_open: %s", e);
		return -1;
	}
	if (db_prepare(st.db, "SELECT count, latency_sketch FROM windows", &s) != DB_OK)
		snprintf(why, whylen, "windows' sketches: %s", store_errmsg(&st));
	else if (store_each_row(s, sketch_row, &r->sketches_off) != 0)
		snprintf(why, whylen, "windows' sketches: %s", store_errmsg(&st));
	else
		rc = 0;
	db_finalize(s);
	store_close(&st);
	return rc;
}

/* The checks, all in SQL on the server: ids sent are "<pfx>-<i>" for
 * i < n and pfx in a, b. */
static int check_store(struct pg_cluster *pg, long n, struct pg_soak_result *r, char *why,
                       size_t whylen)
{
	char sql[1024], ids[256];

	if (q(pg, "SELECT count(*) FROM events", &r->stored, why, whylen) ||
	    q(pg, "SELECT count(DISTINCT req_id) FROM events", &r->distinct_ids, why, whylen))
		return -1;
	r->duplicates = r->stored - r->distinct_ids;
	/* The ids sent, as a relation; missing and strays are hash joins
	 * with it (NOT EXISTS under an OR was a nested loop of n x 2n rows). */
	snprintf(ids, sizeof(ids),
	         "(SELECT p || '-' || g AS id FROM generate_series(0, %ld) g,"
	         " (VALUES ('a'), ('b')) v(p))",
	         n - 1);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM %s s WHERE NOT EXISTS"
	         " (SELECT 1 FROM events e WHERE e.req_id = s.id)",
	         ids);
	if (q(pg, sql, &r->missing, why, whylen))
		return -1;
	snprintf(
	    sql, sizeof(sql),
	    "SELECT count(*) FROM events e LEFT JOIN %s s ON s.id = e.req_id WHERE s.id IS NULL",
	    ids);
	if (q(pg, sql, &r->strays, why, whylen))
		return -1;
	if (q(pg, "SELECT count(*) FROM windows", &r->windows, why, whylen) ||
	    q(pg, "SELECT coalesce(sum(count), 0) FROM windows", &r->window_sum, why, whylen))
		return -1;
	if (q(pg,
	      "SELECT count(*) FROM (SELECT model_id, sum(count) AS s FROM windows GROUP BY "
	      "model_id)"
	      " w FULL JOIN (SELECT model_id, count(*) AS c FROM events GROUP BY model_id) e"
	      " USING (model_id) WHERE w.s IS DISTINCT FROM e.c",
	      &r->models_off, why, whylen))
		return -1;
	if (q(pg,
	      "SELECT count(*) FROM windows w FULL JOIN (SELECT model_id, window_start AS start,"
	      " count(*) AS c FROM events GROUP BY model_id, window_start) e"
	      " USING (model_id, start) WHERE w.count IS DISTINCT FROM e.c",
	      &r->windows_off, why, whylen))
		return -1;
	return check_sketches(pg, r, why, whylen);
}

int pg_soak_run(struct pg_cluster *pg, const struct pg_soak_opts *o, struct pg_soak_result *r,
                char *why, size_t whylen)
{
	struct cproc c[2];
	struct agent_proc a[2];
	struct poster p[2];
	pthread_t th[2];
	int started = 0, rc = -1, connected_before[2] = {0, 0};
	char bme[16];
	double t_restart = 0;
	const double slow = h_slow();
	const double t_start = h_now(), deadline = t_start + o->budget_s * slow;

	memset(r, 0, sizeof(*r));
	memset(c, 0, sizeof(c));
	memset(a, 0, sizeof(a));
	memset(p, 0, sizeof(p));
	snprintf(bme, sizeof(bme), "%d", o->batch_max_events > 0 ? o->batch_max_events : 1000);
	for (int i = 0; i < 2; i++) {
		cproc_init(&c[i], i ? "soak-c2" : "soak-c1");
		snprintf(c[i].db, sizeof(c[i].db), "%.500s", pg->uri);
		if (cproc_start(&c[i], NULL) != 0) {
			snprintf(why, whylen, "collector %d did not start, see %s", i + 1,
			         c[i].log);
			goto out;
		}
	}
	for (int i = 0; i < 2; i++) {
		const char *id = i ? "soak-agent-b" : "soak-agent-a";
		if (ap_init(&a[i], id) != 0) {
			snprintf(why, whylen, "agent %d: no temp dir", i + 1);
			goto out;
		}
		snprintf(a[i].collector, sizeof(a[i].collector), "%s", c[0].url);
		const char *extra[] = {"--collector",        c[1].url, "--agent-id", id,
		                       "--batch-max-events", bme,      NULL};
		if (ap_start(&a[i], extra) != 0 ||
		    !h_wait_log(a[i].log, "collectors_connected=2/2", 10 * slow)) {
			snprintf(why, whylen, "agent %d did not connect to both, see %s", i + 1,
			         a[i].log);
			goto out;
		}
	}

	/* The stream: minute windows over the last 50 minutes (events come in
	 * time order, so a few windows are open at any moment). */
	double now = clock_now();
	for (int i = 0; i < 2; i++) {
		p[i].a = &a[i];
		p[i].pfx = i ? "b" : "a";
		p[i].n = o->events_per_agent;
		p[i].models = o->models > 0 ? o->models : 1;
		p[i].t0 = now - 3000;
		p[i].span = 2400;
		p[i].deadline = deadline;
		if (pthread_create(&th[i], NULL, poster_main, &p[i]) != 0) {
			snprintf(why, whylen, "pthread_create failed");
			goto join;
		}
		started++;
	}

	/* kill -9 of the first collector once kill_at of everything is stored. */
	long long target = (long long)(o->kill_at * 2.0 * (double)o->events_per_agent), n = 0;
	while (h_now() < deadline) {
		if (q(pg, "SELECT count(*) FROM events", &n, why, whylen))
			goto join;
		if (n >= target)
			break;
		h_sleep(0.25);
	}
	if (n < target) {
		snprintf(why, whylen, "only %lld of %lld events stored before the deadline", n,
		         target);
		goto join;
	}
	if (cproc_stop(&c[0], SIGKILL) != 128 + SIGKILL) {
		snprintf(why, whylen, "kill -9 of collector 1 did not end it, see %s", c[0].log);
		goto join;
	}
	double t_kill = h_now();
	r->stored_at_kill = n;
	if (o->verbose)
		printf("pg_soak: kill -9 of collector 1 with %lld events stored (posted %lld)\n", n,
		       (long long)(atomic_load(&p[0].posted) + atomic_load(&p[1].posted)));
	while (h_now() < t_kill + o->down_s)
		h_sleep(0.05);
	for (int i = 0; i < 2; i++)
		connected_before[i] = h_count_in_file(a[i].log, "collectors_connected=2/2");
	if (cproc_start(&c[0], NULL) != 0) {
		snprintf(why, whylen, "collector 1 did not restart, see %s", c[0].log);
		goto join;
	}
	t_restart = h_now();
	r->down_s = t_restart - t_kill;
	if (o->verbose)
		printf("pg_soak: collector 1 listening again %.2f s after the kill\n", r->down_s);

join:
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (started < 2 || r->down_s == 0)
		goto out;
	for (int i = 0; i < 2; i++) {
		if (p[i].failed) {
			snprintf(why, whylen,
			         "agent %d kept refusing events until the deadline, see %s", i + 1,
			         a[i].log);
			goto out;
		}
		r->sent += atomic_load(&p[i].posted);
	}
	double t_posted = p[0].done_at > p[1].done_at ? p[0].done_at : p[1].done_at;
	r->post_s = t_posted - t_start;

	/* Drained: both agents acknowledged everything they took. */
	while (h_now() < deadline && !(drained(&a[0]) && drained(&a[1])))
		h_sleep(0.1);
	double t_drained = h_now();
	for (int i = 0; i < 2; i++) {
		r->agent_received[i] = metric(&a[i], "mlwatch_agent_events_received_total");
		r->agent_acked[i] = metric(&a[i], "mlwatch_agent_events_sent_total");
		r->agent_spooled[i] = metric(&a[i], "mlwatch_agent_batches_spooled_total");
		r->agent_spool_left[i] = metric(&a[i], "mlwatch_agent_spool_batches");
		r->agent_dropped[i] = metric(&a[i], "mlwatch_agent_events_dropped_total") +
		                      metric(&a[i], "mlwatch_agent_batches_dropped_total");
		r->rss_mib[i] = vmhwm_mib(a[i].p.pid);
	}
	r->total_s = t_drained - t_start;
	r->events_per_s = r->total_s > 0 ? (double)r->sent / r->total_s : 0;
	r->drain_after_restart_s = t_drained - t_restart;
	r->drain_after_post_s = t_drained - t_posted;
	if (!(drained(&a[0]) && drained(&a[1]))) {
		snprintf(
		    why, whylen,
		    "agents not drained within the budget: acked %lld/%lld and %lld/%lld, spool "
		    "%lld and %lld batches; see %s and %s",
		    r->agent_acked[0], r->agent_received[0], r->agent_acked[1],
		    r->agent_received[1], r->agent_spool_left[0], r->agent_spool_left[1], a[0].log,
		    a[1].log);
		goto out;
	}
	/* The restarted collector reconnected to both agents. The agents'
	 * dialers retry on their own backoff, traffic or not: with a fast
	 * store the survivor may have drained both spools before that. */
	for (double t_wait = h_now() + 30; h_now() < t_wait;) {
		if (h_count_in_file(a[0].log, "collectors_connected=2/2") > connected_before[0] &&
		    h_count_in_file(a[1].log, "collectors_connected=2/2") > connected_before[1])
			break;
		h_sleep(0.1);
	}
	for (int i = 0; i < 2; i++)
		if (h_count_in_file(a[i].log, "collectors_connected=2/2") <= connected_before[i]) {
			snprintf(why, whylen,
			         "agent %d did not reconnect to the restarted collector, see %s",
			         i + 1, a[i].log);
			goto out;
		}
	rc = check_store(pg, o->events_per_agent, r, why, whylen);
out:
	for (int i = 0; i < 2; i++) {
		if (a[i].dir && a[i].p.pid > 0 && ap_stop(&a[i]) != 0 && rc == 0) {
			snprintf(why, whylen, "agent %d did not stop cleanly, see %s", i + 1,
			         a[i].log);
			rc = -1;
		}
		if (rc == 0 && h_count_in_file(a[i].log, "batches_lost=") > 0) {
			snprintf(why, whylen, "agent %d lost batches at shutdown, see %s", i + 1,
			         a[i].log);
			rc = -1;
		}
		if (c[i].running && c[i].p.pid > 0)
			cproc_stop(&c[i], SIGTERM);
	}
	/* Logs are kept (moved aside) only when the run failed. */
	for (int i = 0; i < 2; i++) {
		if (rc != 0) {
			char keep[700];
			snprintf(keep, sizeof(keep), "/tmp/pg_soak_agent%d.log", i + 1);
			rename(a[i].log, keep);
			snprintf(keep, sizeof(keep), "/tmp/pg_soak_collector%d.log", i + 1);
			rename(c[i].log, keep);
		}
		if (a[i].dir)
			ap_cleanup(&a[i]);
		if (c[i].dir)
			cproc_cleanup(&c[i]);
	}
	return rc;
}

int pg_soak_judge(const struct pg_soak_opts *o, const struct pg_soak_result *r, char *why,
                  size_t whylen)
{
	long long n = 2LL * o->events_per_agent;
	const char *bad = NULL;

	if (r->sent != n)
		bad = "not every event was accepted by the agents";
	else if (r->stored != n || r->distinct_ids != n)
		bad = "stored rows or distinct ids differ from the events sent";
	else if (r->duplicates || r->missing || r->strays)
		bad = "duplicates, missing or stray ids";
	else if (r->window_sum != n || r->models_off || r->windows_off)
		bad = "window counts are not exact";
	else if (r->sketches_off)
		bad = "latency sketches short of their window's count (a lost merge)";
	for (int i = 0; !bad && i < 2; i++)
		if (r->agent_received[i] != o->events_per_agent ||
		    r->agent_acked[i] != r->agent_received[i] || r->agent_spool_left[i] ||
		    r->agent_dropped[i])
			bad = "an agent did not get everything acknowledged";
	if (!bad)
		return 0;
	snprintf(
	    why, whylen,
	    "%s: sent %lld of %lld, stored %lld, distinct %lld, duplicates %lld, missing %lld, "
	    "strays %lld, window sum %lld, models off %lld, windows off %lld, sketches off "
	    "%lld, agents acked "
	    "%lld/%lld and %lld/%lld, spool left %lld and %lld, dropped %lld and %lld",
	    bad, r->sent, n, r->stored, r->distinct_ids, r->duplicates, r->missing, r->strays,
	    r->window_sum, r->models_off, r->windows_off, r->sketches_off, r->agent_acked[0],
	    r->agent_received[0], r->agent_acked[1], r->agent_received[1], r->agent_spool_left[0],
	    r->agent_spool_left[1], r->agent_dropped[0], r->agent_dropped[1]);
	return -1;
}
