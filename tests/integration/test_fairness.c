/* Fairness end to end (issue 22, acceptance 1): generated events with a
 * protected attribute through the real agent and mlwatchd.
 *   1 a known gap (group A positive rate 0.30, group B 0.18): the metrics
 *     `mlwatch fairness --json` shows equal, window by window and exactly, a
 *     direct computation in Python (numpy + scikit-learn confusion matrices
 *     per group) from the same events read from the database; the rule
 *     dp_ratio(gender) < 0.8 fires and is delivered to a webhook
 *   2 a fair stream (both groups at 0.30 in every batch) for 50 one-second
 *     windows: every window analysed, dp_ratio 1 on /metrics and seen by the
 *     rules (a control rule dp_ratio >= 0.99 fires), no four-fifths alert */
#include <criterion/criterion.h>
#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_proc.h"
#include "clock.h"
#include "collector_proc.h"
#include "harness.h"
#include "http_sink.h"

#define PYTHON "/usr/bin/python3"

static struct cproc cp;
static struct agent_proc ag;
static struct http_sink *hook;

static void teardown(void)
{
	if (ag.p.pid > 0)
		ap_stop(&ag);
	if (cp.running)
		cproc_stop(&cp, SIGTERM);
	cproc_cleanup(&cp);
	ap_cleanup(&ag);
	if (hook)
		sink_stop(hook);
	hook = NULL;
}

/* Runs argv with stdout to out_path; the exit status, -1 on timeout. */
static int run(char *const argv[], const char *out_path, double timeout_s)
{
	int status;
	double end = h_now() + timeout_s;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int nul = open("/dev/null", O_RDONLY);
		if (o < 0 || nul < 0)
			_exit(126);
		dup2(o, 1);
		dup2(nul, 0);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0)
			return -1;
		if (h_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		h_sleep(0.02);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* A small seeded generator (the same stream on every run). */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0;
}

/* Posts one batch at ts: per group, n events; `exact` puts exactly
 * round(rate * n) positives in each group, else each is positive with
 * probability rate. Labels agree with the prediction 80% of the time. */
static void post_batch(double ts, int n, double rate_a, double rate_b, bool exact, int *id)
{
	size_t cap = (size_t)n * 2 * 200 + 8, len = 0;
	char *s = malloc(cap);
	cr_assert(s);
	for (int g = 0; g < 2; g++) {
		double rate = g ? rate_b : rate_a;
		int want = (int)lround(rate * n);
		for (int i = 0; i < n; i++) {
			int pred = exact ? i < want : uniform() < rate;
			int label = uniform() < 0.8 ? pred : !pred;
			len += (size_t)snprintf(
			    s + len, cap - len,
			    "{\"model\":\"credit\",\"id\":\"r-%d\",\"ts\":%.3f,\"latency_ms\":5,"
			    "\"features\":{\"gender\":\"%s\",\"income\":%d},\"prediction\":%d,"
			    "\"label\":%d}\n",
			    (*id)++, ts, g ? "B" : "A", 1000 + i, pred, label);
		}
	}
	cr_assert_eq(ap_post(&ag, "/v1/events", s, len, NULL, false, NULL), 202);
	free(s);
}

static bool wait_sql(const char *sql, int64_t want, double timeout_s)
{
	double end = h_now() + timeout_s * cproc_slow();
	while (h_now() < end) {
		int64_t v = db_int(cp.db, sql);
		if (v != INT64_MIN && v >= want)
			return true;
		h_sleep(0.1);
	}
	return false;
}

Test(fairness, known_gap_matches_python_and_four_fifths_alert_is_delivered, .fini = teardown,
     .timeout = 120)
{
	char conf[2048], conf_path[600], out[700], py_out[700];
	char *hu;
	int id = 0;

	hook = sink_start(0);
	cr_assert(hook);
	hu = sink_url(hook, "/hook");
	snprintf(conf, sizeof(conf),
	         "[collector]\nfairness_min_sample = 50\n"
	         "[model credit]\ntask = classification\nfairness_by = gender\n"
	         "[alert four-fifths]\nmodel = credit\nexpr = dp_ratio(gender) < 0.8 over 4s\n"
	         "severity = page\nreceivers = hook\n"
	         "summary = {model}: dp_ratio({feature}) is {value}\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         hu);
	free(hu);
	cproc_init(&cp, "fair-gap");
	cr_assert_eq(ap_init(&ag, "fair-agent"), 0);
	snprintf(conf_path, sizeof(conf_path), "%s/mlwatch.conf", cp.dir);
	cr_assert_eq(h_write_file(conf_path, conf, strlen(conf)), 0);
	cr_assert_eq(cproc_start(&cp, (const char *[]){"--config", conf_path, "--window", "2s",
	                                               "--analyze-interval", "200ms", NULL}),
	             0, "mlwatchd did not start, see %s", cp.log);
	snprintf(ag.collector, sizeof(ag.collector), "%s", cp.url);
	cr_assert_eq(ap_start(&ag, NULL), 0);

	/* 8 s of traffic: 4 batches a second of 100 events per group. */
	double t0 = h_now();
	while (h_now() - t0 < 8.0) {
		post_batch(clock_now(), 100, 0.30, 0.18, false, &id);
		h_sleep(0.25);
	}
	cr_assert(sink_wait(hook, 1, 15 * cproc_slow()), "no notification, see %s", cp.log);
	const struct sink_request *r = sink_request(hook, 0);
	cr_assert(strstr(r->body, "\"four-fifths\""), "%s", r->body);
	cr_assert(strstr(r->body, "\"status\":\"firing\""), "%s", r->body);
	cr_assert(strstr(r->body, "dp_ratio(gender) is 0."), "%s", r->body);
	double detect = r->at - t0;

	/* every window closed and analysed */
	cr_assert(
	    wait_sql("SELECT count(*) = 0 FROM windows WHERE dirty = 1 OR provisional = 1", 1, 15),
	    "windows not final, see %s", cp.log);
	cr_assert(wait_sql("SELECT count(*) FROM events", id, 5));

	char *bin = h_bin("mlwatch");
	snprintf(out, sizeof(out), "%s/fairness.json", cp.dir);
	char *argv[] = {bin,       "--config", conf_path, "--db", cp.db,    "fairness",
	                "--model", "credit",   "--since", "1h",   "--json", NULL};
	cr_assert_eq(run(argv, out, 30), 0, "mlwatch fairness failed");
	free(bin);

	char *script = h_src("tests/integration/fairness_check.py");
	snprintf(py_out, sizeof(py_out), "%s/py.json", cp.dir);
	char *pargv[] = {PYTHON, script, cp.db, "credit", "gender", out, "50", NULL};
	cr_assert_eq(run(pargv, py_out, 60), 0, "fairness_check.py failed");
	free(script);
	char *text = h_read_file(py_out, NULL);
	cJSON *j = cJSON_Parse(text ? text : "");
	cr_assert(j, "python printed %s", text ? text : "");
	int windows = cJSON_GetObjectItem(j, "windows")->valueint;
	int groups = cJSON_GetObjectItem(j, "groups")->valueint;
	cJSON *bad = cJSON_GetObjectItem(j, "mismatches");
	cr_assert_geq(windows, 4, "%s", text);
	cr_assert_eq(groups, 2 * windows, "%s", text);
	cr_assert_eq(cJSON_GetArraySize(bad), 0, "mlwatch and python differ: %s", text);
	/* the gap is the generated one: every full window well below 4/5 */
	int below = 0;
	cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "dp_ratios")) if (cJSON_IsNumber(it) &&
	                                                                it->valuedouble < 0.8)
	    below++;
	cr_assert_geq(below, windows - 2, "%s", text);
	fprintf(stderr,
	        "fairness: %d events, %d windows x 2 groups equal to python exactly; four-fifths "
	        "alert delivered %.1f s after traffic started\n",
	        id, windows, detect);
	cJSON_Delete(j);
	free(text);
	/* clean exits (under sanitizers: no error, no leak) */
	cr_assert_eq(ap_stop(&ag), 0, "agent exit, see %s", ag.log);
	ag.p.pid = 0;
	cr_assert_eq(cproc_stop(&cp, SIGTERM), 0, "mlwatchd exit, see %s", cp.log);
}

Test(fairness, fair_stream_gives_no_alert_over_50_windows, .fini = teardown, .timeout = 150)
{
	char conf[2048], conf_path[600];
	int id = 0;

	hook = sink_start(0);
	cr_assert(hook);
	char *hu = sink_url(hook, "/hook");
	snprintf(conf, sizeof(conf),
	         "[collector]\nfairness_min_sample = 20\n"
	         "[model credit]\ntask = classification\nfairness_by = gender\n"
	         "[alert four-fifths]\nmodel = credit\nexpr = dp_ratio(gender) < 0.8 over 2s\n"
	         "severity = page\nreceivers = hook\n"
	         "[alert parity-seen]\nmodel = credit\nexpr = dp_ratio(gender) >= 0.99 over 2s\n"
	         "severity = info\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         hu);
	free(hu);
	cproc_init(&cp, "fair-even");
	cr_assert_eq(ap_init(&ag, "fair-agent"), 0);
	snprintf(conf_path, sizeof(conf_path), "%s/mlwatch.conf", cp.dir);
	cr_assert_eq(h_write_file(conf_path, conf, strlen(conf)), 0);
	cr_assert_eq(cproc_start(&cp, (const char *[]){"--config", conf_path, "--window", "1s",
	                                               "--analyze-interval", "200ms", NULL}),
	             0, "mlwatchd did not start, see %s", cp.log);
	snprintf(ag.collector, sizeof(ag.collector), "%s", cp.url);
	cr_assert_eq(ap_start(&ag, NULL), 0);

	/* Each batch has one timestamp (so one window) and exactly 3 of 10
	 * positives per group: every window and every pool is at parity. */
	double t0 = h_now(), seen_ratio = NAN;
	int64_t windows = 0;
	while (h_now() - t0 < 100 * cproc_slow()) {
		post_batch(clock_now(), 10, 0.30, 0.30, true, &id);
		h_sleep(0.1);
		windows = db_int(cp.db, "SELECT count(DISTINCT start) FROM fairness");
		if (isnan(seen_ratio) && windows >= 3) {
			char m[128];
			snprintf(m, sizeof(m), "%smetrics", cp.http);
			char *page = http_get(m, NULL);
			if (page)
				seen_ratio = metrics_value(
				    page, "mlwatch_model_fairness_dp_ratio{model=\"credit\","
				          "attribute=\"gender\"}");
			free(page);
		}
		if (windows >= 52)
			break;
	}
	cr_assert_geq(windows, 52, "only %lld windows with fairness rows, see %s",
	              (long long)windows, cp.log);
	/* the last window closes and the rule sees it before we look */
	cr_assert(
	    wait_sql("SELECT count(*) = 0 FROM windows WHERE dirty = 1 OR provisional = 1", 1, 10));
	h_sleep(1.5);
	cr_assert_eq(seen_ratio, 1.0, "dp_ratio on /metrics: %g", seen_ratio);
	cr_assert_eq(db_int(cp.db, "SELECT count(*) FROM fairness WHERE n < 10"), 0);
	/* the evaluator did see the ratio (the control rule fired on it), and
	 * the four-fifths rule never held */
	char states[512] = "";
	db_text(cp.db, "SELECT group_concat(rule || ':' || state, ' ') FROM alerts", states,
	        sizeof(states));
	cr_assert_geq(db_int(cp.db, "SELECT count(*) FROM alerts WHERE rule = 'parity-seen' AND "
	                            "fired_at IS NOT NULL"),
	              1, "the rules never saw a dp_ratio (alerts: %s)", states);
	cr_assert_eq(db_int(cp.db, "SELECT count(*) FROM alerts WHERE rule = 'four-fifths'"), 0,
	             "an alert on a fair stream");
	cr_assert_eq(sink_count(hook), 0);
	fprintf(stderr, "fairness: fair stream, %lld windows, %d events, no alert\n",
	        (long long)windows, id);
	cr_assert_eq(ap_stop(&ag), 0, "agent exit, see %s", ag.log);
	ag.p.pid = 0;
	cr_assert_eq(cproc_stop(&cp, SIGTERM), 0, "mlwatchd exit, see %s", cp.log);
}
