/* The real agent -> the real collector: every sampled event stored exactly
 * once with window counts and latency quantiles equal to what was sent;
 * kill -9 of the collector mid-stream; a wrong token refused on both sides;
 * two agents at once with overlapping models. (The 1e6-event run is in
 * tests/bench/bench_collector.c.) */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/agent_proc.h"
#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "clock.h"

#define W 10

static double latency_of(long i)
{
	return 0.5 + (double)((i * 7919) % 5000) / 20.0;
}

/* POSTs events [from, to) of model as NDJSON in chunks; ids "<pfx>-<i>".
 * Returns the number of events the agent accepted (202). */
static long post_events(struct agent_proc *a, const char *model, const char *pfx, long from,
                        long to, double t0)
{
	static const char *const hdr[] = {"Content-Type: application/x-ndjson", NULL};
	size_t cap = 600 * 1000;
	char *body = malloc(cap);
	long accepted = 0;

	for (long i = from; i < to;) {
		size_t len = 0;
		long start = i;
		for (; i < to && i - start < 1000; i++)
			len += (size_t)snprintf(
			    body + len, cap - len,
			    "{\"model\":\"%s\",\"id\":\"%s-%ld\",\"ts\":%.3f,\"latency_ms\":%.4f,"
			    "\"features\":{\"amount\":%ld,\"country\":\"%s\"},\"prediction\":\"%"
			    "s\","
			    "\"score\":0.%02ld}\n",
			    model, pfx, i, t0 + (double)(i % W) + 0.25, latency_of(i), i % 97,
			    i % 3 ? "DE" : "FR", i % 5 ? "ok" : "bad", 50 + i % 50);
		for (int attempt = 0; attempt < 50; attempt++) {
			long st = ap_post(a, "/v1/events", body, len, hdr, false, NULL);
			if (st == 202) {
				accepted += i - start;
				break;
			}
			h_sleep(0.1); /* 503 while the agent is full: try again */
		}
	}
	free(body);
	return accepted;
}

static bool wait_events(const char *db, int64_t n, double timeout)
{
	double end = h_now() + timeout * cproc_slow();
	while (h_now() < end) {
		int64_t k = db_int(db, "SELECT count(*) FROM events");
		if (k >= n)
			return k == n;
		h_sleep(0.1);
	}
	return false;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void start_pair(struct cproc *c, struct agent_proc *a, const char *tag,
                       const char *const *cargs, const char *const *aargs)
{
	cproc_init(c, tag);
	cr_assert_eq(cproc_start(c, cargs), 0, "collector did not start, see %s", c->log);
	cr_assert_eq(ap_init(a, tag), 0);
	snprintf(a->collector, sizeof(a->collector), "%s", c->url);
	cr_assert_eq(ap_start(a, aargs), 0, "agent did not start, see %s", a->log);
}

Test(agent_e2e, every_event_once_counts_and_quantiles_as_sent)
{
	struct cproc c;
	struct agent_proc a;
	const long N = 20000;
	int64_t start = (int64_t)clock_now() / W * W - 3 * W;
	const char *cargs[] = {"--window", "10s", "--analyze-interval", "300ms", NULL};

	start_pair(&c, &a, "e2e", cargs, NULL);
	cr_assert_eq(post_events(&a, "fraud", "r", 0, N, (double)start), N);
	cr_assert(wait_events(c.db, N, 30), "stored %lld of %ld",
	          (long long)db_int(c.db, "SELECT count(*) FROM events"), N);
	cr_assert_eq(db_int(c.db, "SELECT count(DISTINCT req_id) FROM events"), N);
	cr_assert_eq(db_int(c.db, "SELECT min(CAST(substr(req_id, 3) AS INTEGER)) FROM events"), 0);
	cr_assert_eq(db_int(c.db, "SELECT max(CAST(substr(req_id, 3) AS INTEGER)) FROM events"),
	             N - 1);

	/* the window: 100% of traffic counted, quantiles within 1% */
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM windows WHERE start = %lld AND provisional = 0 AND "
	         "dirty = 0",
	         (long long)start);
	double end = h_now() + 15 * cproc_slow();
	while (db_int(c.db, sql) != 1 && h_now() < end)
		h_sleep(0.1);
	cr_assert_eq(db_int(c.db, sql), 1, "window not final");
	snprintf(sql, sizeof(sql), "SELECT count FROM windows WHERE start = %lld",
	         (long long)start);
	cr_assert_eq(db_int(c.db, sql), N);
	double *lat = malloc((size_t)N * sizeof(double));
	for (long i = 0; i < N; i++)
		lat[i] = latency_of(i);
	qsort(lat, (size_t)N, sizeof(double), cmp_double);
	static const char *const cols[] = {"p50", "p90", "p95", "p99", "p999"};
	static const double qs[] = {0.5, 0.9, 0.95, 0.99, 0.999};
	for (int i = 0; i < 5; i++) {
		snprintf(sql, sizeof(sql), "SELECT %s FROM windows WHERE start = %lld", cols[i],
		         (long long)start);
		double got = db_double(c.db, sql), want = lat[(size_t)floor(qs[i] * (N - 1))];
		cr_assert(fabs(got - want) <= 0.01 * want, "%s %g vs %g", cols[i], got, want);
	}
	free(lat);
	cr_assert_eq(ap_stop(&a), 0);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	ap_cleanup(&a);
	cproc_cleanup(&c);
}

struct poster {
	struct agent_proc *a;
	const char *model, *pfx;
	long n;
	double t0;
	atomic_long posted;
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	for (long i = 0; i < p->n; i += 500) {
		long to = i + 500 < p->n ? i + 500 : p->n;
		post_events(p->a, p->model, p->pfx, i, to, p->t0);
		atomic_store(&p->posted, to);
		h_sleep(0.01);
	}
	return NULL;
}

Test(agent_e2e, kill9_of_the_collector_loses_nothing_acknowledged)
{
	struct cproc c;
	struct agent_proc a;
	pthread_t t;
	const long N = 30000;
	struct poster p = {&a, "m", "k", N, 0, 0};
	char ok[32];

	p.t0 = (double)((int64_t)clock_now() / W * W - 2 * W);
	start_pair(&c, &a, "e2e-kill", NULL, NULL);
	pthread_create(&t, NULL, poster_main, &p);
	double end = h_now() + 30 * cproc_slow();
	while (ap_metric(&a, "mlwatch_agent_events_sent_total", NULL) < N / 4 && h_now() < end)
		h_sleep(0.01);
	cr_assert_eq(cproc_stop(&c, SIGKILL), 128 + SIGKILL);
	double acked = ap_metric(&a, "mlwatch_agent_events_sent_total", NULL);
	int64_t stored = db_int(c.db, "SELECT count(*) FROM events");
	/* the agent counts an event sent only when its batch was answered OK,
	 * which happens after COMMIT */
	cr_assert_geq((double)stored, acked, "acknowledged %g, stored %lld", acked,
	              (long long)stored);
	cr_assert_lt(acked, (double)N, "the kill came after the stream ended");
	h_sleep(0.5);
	cr_assert_eq(cproc_start(&c, NULL), 0);
	pthread_join(t, NULL);
	cr_assert_eq(atomic_load(&p.posted), N);
	cr_assert(wait_events(c.db, N, 60), "stored %lld of %ld",
	          (long long)db_int(c.db, "SELECT count(*) FROM events"), N);
	cr_assert_eq(db_int(c.db, "SELECT count(DISTINCT req_id) FROM events"), N);
	cr_assert_eq(db_int(c.db, "SELECT sum(count) FROM windows"), N);
	cr_assert_eq(ap_stop(&a), 0);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cr_assert_eq(db_text(c.db, "PRAGMA integrity_check", ok, sizeof(ok)), 0);
	cr_assert_str_eq(ok, "ok");
	ap_cleanup(&a);
	cproc_cleanup(&c);
}

Test(agent_e2e, wrong_token_is_refused_on_both_sides)
{
	struct cproc c;
	struct agent_proc a;
	char right[700], wrong[700];

	cproc_init(&c, "e2e-tok");
	snprintf(right, sizeof(right), "%s/right", c.dir);
	snprintf(wrong, sizeof(wrong), "%s/wrong", c.dir);
	h_write_file(right, "correct horse\n", 14);
	h_write_file(wrong, "battery staple\n", 15);
	const char *cargs[] = {"--token-file", right, NULL};
	const char *aargs[] = {"--token-file", wrong, NULL};
	cr_assert_eq(cproc_start(&c, cargs), 0);
	cr_assert_eq(ap_init(&a, "e2e-tok"), 0);
	snprintf(a.collector, sizeof(a.collector), "%s", c.url);
	cr_assert_eq(ap_start(&a, aargs), 0);
	cr_assert_eq(post_events(&a, "m", "t", 0, 100, clock_now() - 5), 100);
	cr_assert(h_wait_log(a.log, "status=unauthorized", 10 * cproc_slow()), "no refusal in %s",
	          a.log);
	cr_assert(h_wait_log(c.log, "reason=unauthorized", 5));
	char url[128];
	snprintf(url, sizeof(url), "%smetrics", c.http);
	char *page = http_get(url, NULL);
	cr_assert(metrics_value(page, "mlwatch_collector_rejects_total{reason=\"unauthorized\"}") >=
	          1);
	free(page);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"), 0);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM windows"), 0);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM batches_seen"), 0);
	ap_stop(&a);

	/* The same agent (same state directory, spool and ids), restarted with
	 * the right token, delivers new events, and the 100 it spooled while the
	 * token was wrong: they were encoded with the old token, and the
	 * forwarder sends them with the current one. */
	const char *good[] = {"--token-file", right, NULL};
	cr_assert_eq(ap_start(&a, good), 0);
	cr_assert_eq(post_events(&a, "m", "u", 0, 100, clock_now() - 5), 100);
	cr_assert(wait_events(c.db, 200, 15 * cproc_slow()), "stored %lld of 200",
	          (long long)db_int(c.db, "SELECT count(*) FROM events"));
	cr_assert_eq(db_int(c.db, "SELECT count(DISTINCT req_id) FROM events WHERE req_id LIKE "
	                          "'u-%'"),
	             100);
	cr_assert_eq(db_int(c.db, "SELECT count(DISTINCT req_id) FROM events WHERE req_id LIKE "
	                          "'t-%'"),
	             100, "the batches spooled under the wrong token were delivered");
	ap_stop(&a);
	ap_cleanup(&a);
	cproc_cleanup(&c);
}

Test(agent_e2e, two_agents_with_overlapping_models)
{
	struct cproc c;
	struct agent_proc a, b;
	pthread_t t[4];
	double t0 = (double)((int64_t)clock_now() / W * W - 2 * W);
	struct poster p[4] = {{&a, "shared", "a", 5000, t0, 0},
	                      {&a, "only-a", "a2", 5000, t0, 0},
	                      {&b, "shared", "b", 5000, t0, 0},
	                      {&b, "only-b", "b2", 5000, t0, 0}};

	start_pair(&c, &a, "e2e-two", NULL, NULL);
	cr_assert_eq(ap_init(&b, "e2e-two-b"), 0);
	snprintf(b.collector, sizeof(b.collector), "%s", c.url);
	const char *bargs[] = {"--agent-id", "agent-b", NULL};
	cr_assert_eq(ap_start(&b, bargs), 0);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, poster_main, &p[i]);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	cr_assert(wait_events(c.db, 20000, 30));
	cr_assert_eq(db_int(c.db, "SELECT count(DISTINCT req_id) FROM events"), 20000);
	cr_assert_eq(db_int(c.db, "SELECT sum(w.count) FROM windows w JOIN models m ON "
	                          "m.id = w.model_id WHERE m.name = 'shared'"),
	             10000);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM agents"), 2);
	ap_stop(&a);
	ap_stop(&b);
	ap_cleanup(&a);
	ap_cleanup(&b);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
}
