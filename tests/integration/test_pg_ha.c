/* Two mlwatchd on one PostgreSQL store (issue 16, items 2 and 4): both
 * ingest, exactly one (elected through collector/leader.c) evaluates the
 * rules and sends notifications; when it dies (kill -9) the other takes
 * over, continues the pending `for` timer from the database and pages once.
 * A real cluster (tests/lib/pg_harness.c) and a real HTTP receiver. */
#include <cJSON.h>
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
#include "../lib/tuitest.h"
#include "../lib/slow_traffic.h"
#include "../lib/wire_client.h"
#include "clock.h"
#include "wire.h"

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

/* Two mlwatchd on one cluster with a `for = 4s` p99 rule to a real
 * receiver; c[0] evaluates, c[1] is a candidate; traffic to both; returns
 * once the alert is pending. */
struct pair {
	struct pg_cluster pg;
	struct cproc c[2];
	struct slow_traffic t[2];
	struct http_sink *s;
	char *u, *cf;
};

static void pair_start(struct pair *p)
{
	char conf[1024];
	const char *extra[3];

	memset(p, 0, sizeof(*p));
	p->s = sink_start(0);
	p->u = sink_url(p->s, "/");
	PG_CLUSTER_START_OR_SKIP(&p->pg);
	snprintf(conf, sizeof(conf),
	         "[alert slow]\nmodel = fraud\nexpr = p99_latency_ms > 250 over 10s\nfor = 4s\n"
	         "severity = page\nreceivers = hook\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         p->u);
	for (int i = 0; i < 2; i++) {
		cproc_init(&p->c[i], i ? "pgha-b" : "pgha-a");
		snprintf(p->c[i].db, sizeof(p->c[i].db), "%.500s", p->pg.uri);
	}
	cr_assert(asprintf(&p->cf, "%s/mlwatch.conf", p->c[0].dir) > 0);
	cr_assert_eq(h_write_file(p->cf, conf, strlen(conf)), 0);
	extra[0] = "--config";
	extra[1] = p->cf;
	extra[2] = NULL;
	cr_assert_eq(cproc_start(&p->c[0], extra), 0, "see %s", p->c[0].log);
	cr_assert(h_wait_log(p->c[0].log, EVALUATES, 10 * cproc_slow()), "see %s", p->c[0].log);
	cr_assert_eq(cproc_start(&p->c[1], extra), 0, "see %s", p->c[1].log);

	/* both ingest; the second stays a candidate */
	for (int i = 0; i < 2; i++) {
		snprintf(p->t[i].url, sizeof(p->t[i].url), "%s", p->c[i].url);
		snprintf(p->t[i].agent, sizeof(p->t[i].agent), "pgha-agent-%d", i);
		cr_assert_eq(pthread_create(&p->t[i].th, NULL, slow_traffic_main, &p->t[i]), 0);
	}
	double end = h_now() + 20 * cproc_slow();
	while (h_now() < end &&
	       pg_count(&p->pg, "SELECT count(*) FROM alerts WHERE state = 'pending'") < 1)
		h_sleep(0.1);
	cr_assert_eq(pg_count(&p->pg, "SELECT count(*) FROM alerts WHERE state = 'pending'"), 1,
	             "the alert is pending; see %s", p->c[0].log);
	cr_assert(!log_has(p->c[1].log, EVALUATES), "only one evaluator; see %s", p->c[1].log);
	cr_assert(atomic_load(&p->t[1].sent) > 0, "the candidate ingests too");
}

/* Exactly one firing notification, one alert row, one outbox row. */
static void expect_paged_once(struct pair *p)
{
	cr_assert_eq(count_firing(p->s), 1, "delivered exactly once");
	cr_assert_eq(sink_count(p->s), 1);
	cr_assert_eq(pg_count(&p->pg, "SELECT count(*) FROM alerts"), 1, "one alert record");
	cr_assert_eq(pg_count(&p->pg, "SELECT count(*) FROM outbox WHERE kind = 'firing'"), 1);
}

static void pair_stop(struct pair *p)
{
	for (int i = 0; i < 2; i++) {
		atomic_store(&p->t[i].stop, true);
		pthread_join(p->t[i].th, NULL);
	}
	for (int i = 0; i < 2; i++) {
		if (p->c[i].running)
			cr_expect_eq(cproc_stop(&p->c[i], SIGTERM), 0, "see %s", p->c[i].log);
		cproc_cleanup(&p->c[i]);
	}
	free(p->cf);
	free(p->u);
	sink_stop(p->s);
	pg_cluster_destroy(&p->pg);
}

Test(pg_ha, one_evaluator_pages_once_and_the_other_takes_over_after_kill9, .timeout = 180)
{
	struct pair p;

	pair_start(&p);
	/* `mlwatch status --json` names the evaluator: c[0], by its pid */
	char *bin = h_bin("mlwatch"), *out = NULL, *err = NULL, pid[32];
	char *argv[] = {bin, "--db", p.pg.uri, "status", "--json", NULL};
	cr_assert_eq(tt_run(argv, NULL, &out, &err, 30), 0, "%s", err);
	cJSON *st = cJSON_Parse(out), *ev = cJSON_GetObjectItem(st, "evaluator");
	snprintf(pid, sizeof(pid), ":%ld", (long)p.c[0].p.pid);
	cr_assert(cJSON_IsObject(ev), "%s", out);
	const char *node = cJSON_GetStringValue(cJSON_GetObjectItem(ev, "node"));
	cr_assert(node && strstr(node, pid), "evaluator %s, want pid %s", node, pid);
	cr_assert_eq(cJSON_GetObjectItem(ev, "epoch")->valueint, 1);
	cJSON_Delete(st);
	free(out);
	free(err);
	free(bin);
	/* the evaluator dies before `for` elapses */
	double killed = h_now();
	cr_assert_eq(cproc_stop(&p.c[0], SIGKILL), 128 + SIGKILL);
	cr_assert(h_wait_log(p.c[1].log, EVALUATES, 2.0 * cproc_slow()),
	          "the other took over within 2 s; see %s", p.c[1].log);
	fprintf(stderr, "pg_ha: takeover %.3f s after kill -9\n", h_now() - killed);

	/* the pending alert fires from the stored active_at, exactly once */
	cr_assert(sink_wait(p.s, 1, 15 * cproc_slow()), "the breach was delivered; see %s",
	          p.c[1].log);
	/* within 3 s of `for` elapsing from the stored active_at */
	double wall_minus_mono = h_wall() - h_now();
	long long active_ms =
	    pg_count(&p.pg, "SELECT (active_at * 1000)::bigint FROM alerts WHERE rule = 'slow'");
	double lag = sink_request(p.s, 0)->at + wall_minus_mono - (active_ms / 1000.0 + 4.0);
	fprintf(stderr, "pg_ha: delivered %.3f s after `for` elapsed\n", lag);
	cr_assert(lag <= 3.0 * cproc_slow(), "delivered %.3f s after `for` elapsed", lag);
	h_sleep(2.5);
	expect_paged_once(&p);
	pair_stop(&p);
}

/* Acceptance 3's second half: the evaluator paused (SIGSTOP, a VM stall)
 * for 30 s, past its 10 s lease: the other takes over and pages; resumed,
 * the former one is fenced (its first write is refused), steps down and
 * sends nothing. */
Test(pg_ha, a_paused_evaluator_is_fenced_and_steps_down_after_sigcont, .timeout = 240)
{
	struct pair p;

	pair_start(&p);
	double stopped = h_now();
	cr_assert_eq(kill(p.c[0].p.pid, SIGSTOP), 0);
	cr_assert(h_wait_log(p.c[1].log, EVALUATES, 20 * cproc_slow()),
	          "the other took over after the lease; see %s", p.c[1].log);
	fprintf(stderr, "pg_ha: takeover %.3f s after SIGSTOP (lease 10 s)\n", h_now() - stopped);
	cr_assert(sink_wait(p.s, 1, 15 * cproc_slow()), "the breach was delivered; see %s",
	          p.c[1].log);
	while (h_now() < stopped + 30)
		h_sleep(0.2);
	cr_assert_eq(kill(p.c[0].p.pid, SIGCONT), 0);
	cr_assert(h_wait_log(p.c[0].log, "no longer evaluates", 10 * cproc_slow()),
	          "the resumed one stepped down; see %s", p.c[0].log);
	h_sleep(3.0);
	expect_paged_once(&p);
	pair_stop(&p);
}
