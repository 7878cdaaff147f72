/* Two mlwatchd on one PostgreSQL store (issue 16, items 2 and 4): both
 * ingest, exactly one (elected through collector/leader.c) evaluates the
 * rules and sends notifications; when it dies (kill -9) the other takes
 * over, continues the pending `for` timer from the database and pages once.
 * A real cluster (tests/lib/pg_harness.c) and a real HTTP receiver. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/http_sink.h"
#include "../lib/pg_harness.h"
#include "../lib/wire_client.h"
#include "clock.h"
#include "wire.h"

/* Per-second summaries of 10 slow requests (p99 about 480 ms) every 100 ms
 * to url, as an agent listing both collectors sends to each. */
struct slow_traffic {
	pthread_t th;
	char url[600];
	char agent[32];
	atomic_bool stop;
	atomic_uint_fast64_t sent;
};

static void *slow_main(void *arg)
{
	struct slow_traffic *t = arg;
	struct wc_client *cl = NULL;
	uint64_t seq = 0;
	char err[256];

	while (!atomic_load(&t->stop)) {
		if (!cl && wc_open(&cl, t->url, NULL, 1.0, err, sizeof(err)) != 0)
			cl = NULL;
		if (cl) {
			struct wc_batch wb;
			struct wire_reply r;
			double lat[10];
			uint8_t *buf = NULL;
			size_t len;
			for (int i = 0; i < 10; i++)
				lat[i] = 300.0 + 20.0 * i;
			wc_batch_init(&wb, t->agent, ++seq, NULL);
			wc_batch_summary(&wb, "fraud", (int64_t)clock_now(), 10, 0, 0, lat, 10);
			if (wc_batch_encode(&wb, &buf, &len) == 0 &&
			    wc_request(cl, buf, len, &r, err, sizeof(err)) == 0 &&
			    r.status == WIRE_OK)
				atomic_fetch_add(&t->sent, 1);
			else {
				wc_close(cl);
				cl = NULL;
			}
			free(buf);
			wc_batch_free(&wb);
		}
		h_sleep(0.1);
	}
	wc_close(cl);
	return NULL;
}

static size_t count_firing(struct http_sink *s)
{
	size_t n = 0;
	for (size_t i = 0; i < sink_count(s); i++)
		if (strstr(sink_request(s, i)->body, "\"status\":\"firing\""))
			n++;
	return n;
}

static bool log_has(const char *path, const char *what)
{
	char *t = h_read_file(path, NULL);
	bool yes = t && strstr(t, what);
	free(t);
	return yes;
}

static long long pg_count(const struct pg_cluster *pg, const char *sql)
{
	long long n = -1;
	char why[256];
	if (pg_cluster_query_ll(pg, NULL, sql, &n, why, sizeof(why)) != 0)
		return -1;
	return n;
}

#define EVALUATES "this node evaluates the alert rules"

Test(pg_ha, one_evaluator_pages_once_and_the_other_takes_over_after_kill9, .timeout = 180)
{
	struct pg_cluster pg = {0};
	struct cproc c[2];
	struct slow_traffic t[2] = {0};
	struct http_sink *s = sink_start(0);
	char *u = sink_url(s, "/"), conf[1024], *cf;

	PG_CLUSTER_START_OR_SKIP(&pg);
	snprintf(conf, sizeof(conf),
	         "[alert slow]\nmodel = fraud\nexpr = p99_latency_ms > 250 over 10s\nfor = 4s\n"
	         "severity = page\nreceivers = hook\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         u);
	for (int i = 0; i < 2; i++) {
		cproc_init(&c[i], i ? "pgha-b" : "pgha-a");
		snprintf(c[i].db, sizeof(c[i].db), "%.500s", pg.uri);
	}
	cr_assert(asprintf(&cf, "%s/mlwatch.conf", c[0].dir) > 0);
	cr_assert_eq(h_write_file(cf, conf, strlen(conf)), 0);
	const char *extra[] = {"--config", cf, NULL};
	cr_assert_eq(cproc_start(&c[0], extra), 0, "see %s", c[0].log);
	cr_assert(h_wait_log(c[0].log, EVALUATES, 10 * cproc_slow()), "see %s", c[0].log);
	cr_assert_eq(cproc_start(&c[1], extra), 0, "see %s", c[1].log);

	/* both ingest; the second stays a candidate */
	for (int i = 0; i < 2; i++) {
		snprintf(t[i].url, sizeof(t[i].url), "%s", c[i].url);
		snprintf(t[i].agent, sizeof(t[i].agent), "pgha-agent-%d", i);
		cr_assert_eq(pthread_create(&t[i].th, NULL, slow_main, &t[i]), 0);
	}
	double end = h_now() + 20 * cproc_slow();
	while (h_now() < end && pg_count(&pg, "SELECT count(*) FROM alerts WHERE state = "
	                                      "'pending'") < 1)
		h_sleep(0.1);
	cr_assert_eq(pg_count(&pg, "SELECT count(*) FROM alerts WHERE state = 'pending'"), 1,
	             "the alert is pending; see %s", c[0].log);
	cr_assert(!log_has(c[1].log, EVALUATES), "only one evaluator; see %s", c[1].log);
	cr_assert(atomic_load(&t[1].sent) > 0, "the candidate ingests too");

	/* the evaluator dies before `for` elapses */
	double killed = h_now();
	cr_assert_eq(cproc_stop(&c[0], SIGKILL), 128 + SIGKILL);
	cr_assert(h_wait_log(c[1].log, EVALUATES, 2.0 * cproc_slow()),
	          "the other took over within 2 s; see %s", c[1].log);
	fprintf(stderr, "pg_ha: takeover %.3f s after kill -9\n", h_now() - killed);

	/* the pending alert fires from the stored active_at, exactly once */
	cr_assert(sink_wait(s, 1, 15 * cproc_slow()), "the breach was delivered; see %s",
	          c[1].log);
	h_sleep(2.5);
	cr_assert_eq(count_firing(s), 1, "delivered exactly once");
	cr_assert_eq(sink_count(s), 1);
	cr_assert_eq(pg_count(&pg, "SELECT count(*) FROM alerts"), 1, "one alert record");
	cr_assert_eq(pg_count(&pg, "SELECT count(*) FROM outbox WHERE kind = 'firing'"), 1);

	for (int i = 0; i < 2; i++) {
		atomic_store(&t[i].stop, true);
		pthread_join(t[i].th, NULL);
	}
	cr_assert_eq(cproc_stop(&c[1], SIGTERM), 0, "see %s", c[1].log);
	for (int i = 0; i < 2; i++)
		cproc_cleanup(&c[i]);
	free(cf);
	free(u);
	sink_stop(s);
	pg_cluster_destroy(&pg);
}
