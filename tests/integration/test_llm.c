/* LLM serving end to end (issue 15): events with tokens, TTFT, TPOT and a
 * finish reason, posted to the real agent, reach the real collector as
 * 100%-of-traffic summaries: `mlwatch latency --json` reports their count,
 * TTFT / TPOT percentiles (within DDSketch's 1%) and token sums exactly,
 * token counts are stored as features (for drift), /metrics shows TTFT,
 * and an alert rule on p99_ttft_ms fires and is
 * delivered, signed, to a webhook receiver. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_proc.h"
#include "clock.h"
#include "collector_proc.h"
#include "featblob.h"
#include "harness.h"
#include "http_sink.h"
#include "tuitest.h"

static double ttft_of(long i)
{
	return 10.0 + (double)((i * 7919) % 1000) / 10.0; /* 10 .. 110 ms */
}

static double tpot_of(long i)
{
	return 5.0 + (double)((i * 104729) % 500) / 50.0; /* 5 .. 15 ms */
}

static const char *const reasons[] = {"stop", "length", "stop", "stop"};

/* POSTs events [from, to) of model "llama" with ts, TTFT ttft_ms (< 0: the
 * function above); returns the number accepted (202). */
/* Stored events whose features hold output_tokens = 100 + i % 13 (i from
 * the request id "r-i") and some input_tokens. */
static long token_features(const char *db)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	long n = 0;

	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h,
	                                "SELECT CAST(substr(req_id, 3) AS INTEGER), "
	                                "features_bin FROM events",
	                                -1, &s, NULL),
	             SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW) {
		char feat[512];
		cJSON *o =
		    featblob_column_json(s, 1, feat, sizeof(feat)) == 0 ? cJSON_Parse(feat) : NULL;
		const cJSON *out = cJSON_GetObjectItem(o, "output_tokens");
		n += cJSON_IsNumber(out) &&
		     out->valuedouble == (double)(100 + sqlite3_column_int64(s, 0) % 13) &&
		     cJSON_IsNumber(cJSON_GetObjectItem(o, "input_tokens"));
		cJSON_Delete(o);
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
	return n;
}

static long post_llm(struct agent_proc *a, long from, long to, double ts, double ttft_ms)
{
	static const char *const hdr[] = {"Content-Type: application/x-ndjson", NULL};
	size_t cap = 300 * 1000;
	char *body = malloc(cap);
	long accepted = 0;

	cr_assert_not_null(body);
	for (long i = from; i < to;) {
		size_t len = 0;
		long start = i;
		for (; i < to && i - start < 1000; i++)
			len += (size_t)snprintf(
			    body + len, cap - len,
			    "{\"model\":\"llama\",\"id\":\"r-%ld\",\"ts\":%.3f,\"latency_ms\":%.3f,"
			    "\"input_tokens\":%ld,\"output_tokens\":%ld,\"ttft_ms\":%.3f,"
			    "\"tpot_ms\":%.3f,\"finish_reason\":\"%s\"}\n",
			    i, ts, 500.0 + (double)(i % 100), 20 + i % 7, 100 + i % 13,
			    ttft_ms < 0 ? ttft_of(i) : ttft_ms, tpot_of(i), reasons[i % 4]);
		for (int attempt = 0; attempt < 50; attempt++) {
			if (ap_post(a, "/v1/events", body, len, hdr, false, NULL) == 202) {
				accepted += i - start;
				break;
			}
			h_sleep(0.1); /* 503 while the agent is full */
		}
	}
	free(body);
	return accepted;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static double exact_quantile(double (*f)(long), long n, double q)
{
	double *v = malloc((size_t)n * sizeof(*v)), r;
	cr_assert_not_null(v);
	for (long i = 0; i < n; i++)
		v[i] = f(i);
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	r = v[(size_t)floor(q * (double)(n - 1))];
	free(v);
	return r;
}

static double jnum(const cJSON *o, const char *path1, const char *path2)
{
	const cJSON *x = cJSON_GetObjectItem(o, path1);
	if (path2)
		x = cJSON_GetObjectItem(x, path2);
	cr_assert(cJSON_IsNumber(x), "%s.%s is not a number", path1, path2 ? path2 : "");
	return x->valuedouble;
}

Test(llm, agent_to_latency_json_metrics_and_a_signed_p99_ttft_alert, .timeout = 120)
{
	struct cproc c;
	struct agent_proc a;
	struct http_sink *hook = sink_start(0);
	char *hu = sink_url(hook, "/hook"), conf[2048], conf_path[600], secret[600];
	const long N = 5000;
	double now = clock_now();

	cr_assert_not_null(hook);
	cproc_init(&c, "llm");
	snprintf(secret, sizeof(secret), "%s/hook.secret", c.dir);
	cr_assert_eq(h_write_file(secret, "s3cret\n", 7), 0);
	snprintf(conf, sizeof(conf),
	         "[alert slow-first-token]\nmodel = llama\nexpr = p99_ttft_ms > 1000 over 5s\n"
	         "severity = page\nreceivers = hook\n"
	         "summary = p99 TTFT of {model} is {value} ms\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\nsecret_file = %s\n",
	         hu, secret);
	snprintf(conf_path, sizeof(conf_path), "%s/mlwatch.conf", c.dir);
	cr_assert_eq(h_write_file(conf_path, conf, strlen(conf)), 0);
	const char *cargs[] = {"--config", conf_path, "--window", "10s", NULL};
	cr_assert_eq(cproc_start(&c, cargs), 0, "collector did not start, see %s", c.log);
	cr_assert_eq(ap_init(&a, "llm"), 0);
	snprintf(a.collector, sizeof(a.collector), "%s", c.url);
	cr_assert_eq(ap_start(&a, NULL), 0, "agent did not start, see %s", a.log);

	/* 1. N events in one second 90 s ago (older than the minute /metrics
	 * shows): fast first tokens. */
	cr_assert_eq(post_llm(&a, 0, N, floor(now) - 90.5, -1), N);
	double end = h_now() + 20 * cproc_slow();
	while (db_int(c.db, "SELECT total(llm) FROM window_llm") < N && h_now() < end)
		h_sleep(0.1);
	cr_assert_eq(db_int(c.db, "SELECT total(llm) FROM window_llm"), N, "LLM events stored");
	/* token counts are stored as features, for drift (every event is
	 * sampled at the default rate 1.0) */
	cr_expect_eq(token_features(c.db), N);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM alerts"), 0, "fast first tokens: no alert");

	char *out = NULL, *err = NULL,
	     *argv[] = {h_bin("mlwatch"), "--db",    c.db,  "latency", "--model",
	                "llama",          "--since", "10m", "--json",  NULL};
	cr_assert_eq(tt_run(argv, (char *[]){"TZ=UTC", NULL}, &out, &err, 20), 0, "%s", err);
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "invalid JSON: %.300s", out);
	const cJSON *l = cJSON_GetObjectItem(j, "llm");
	cr_assert(cJSON_IsObject(l), "no llm object: %.300s", out);
	cr_expect_eq(jnum(l, "requests", NULL), N);
	long in_sum = 0, out_sum = 0;
	for (long i = 0; i < N; i++) {
		in_sum += 20 + i % 7;
		out_sum += 100 + i % 13;
	}
	cr_expect_eq(jnum(l, "input_tokens", NULL), in_sum, "token sums exactly");
	cr_expect_eq(jnum(l, "output_tokens", NULL), out_sum);
	double p50 = jnum(l, "ttft_ms", "p50"), p99 = jnum(l, "ttft_ms", "p99");
	double w50 = exact_quantile(ttft_of, N, 0.5), w99 = exact_quantile(ttft_of, N, 0.99);
	cr_expect(fabs(p50 - w50) <= 0.01 * w50, "TTFT p50 %g vs %g", p50, w50);
	cr_expect(fabs(p99 - w99) <= 0.01 * w99, "TTFT p99 %g vs %g", p99, w99);
	double t99 = jnum(l, "tpot_ms", "p99"), v99 = exact_quantile(tpot_of, N, 0.99);
	cr_expect(fabs(t99 - v99) <= 0.01 * v99, "TPOT p99 %g vs %g", t99, v99);
	const cJSON *fr = cJSON_GetObjectItem(l, "finish_reasons");
	cr_expect_float_eq(jnum(fr, "stop", NULL), 0.75, 1e-12, "finish-reason shares");
	cr_expect_float_eq(jnum(fr, "length", NULL), 0.25, 1e-12);
	fprintf(stderr, "llm: %ld events, TTFT p50 %.3f (exact %.3f) p99 %.3f (exact %.3f)\n", N,
	        p50, w50, p99, w99);
	/* The window that holds them says the same. */
	const cJSON *wins = cJSON_GetObjectItem(j, "windows"), *w, *wl = NULL;
	cJSON_ArrayForEach(w, wins) if (cJSON_GetObjectItem(w, "llm")) wl =
	    cJSON_GetObjectItem(w, "llm");
	cr_assert_not_null(wl);
	cr_expect_eq(jnum(wl, "requests", NULL), N);
	cr_expect_eq(jnum(wl, "output_tokens", NULL), out_sum);
	cJSON_Delete(j);
	free(out);
	free(err);

	/* mlwatch status: the same figures per model, JSON and table. */
	char *sargv[] = {argv[0], "--db", c.db, "status", "--since", "10m", "--json", NULL};
	cr_assert_eq(tt_run(sargv, (char *[]){"TZ=UTC", NULL}, &out, &err, 20), 0, "%s", err);
	j = cJSON_Parse(out);
	const cJSON *m0 = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "models"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(m0, "model")->valuestring, "llama");
	l = cJSON_GetObjectItem(m0, "llm");
	cr_assert(cJSON_IsObject(l), "status: no llm object: %.300s", out);
	cr_expect_eq(jnum(l, "requests", NULL), N);
	cr_expect_eq(jnum(l, "output_tokens", NULL), out_sum);
	cr_expect_float_eq(jnum(l, "ttft_ms", "p99"), p99, 1e-9);
	cJSON_Delete(j);
	free(out);
	free(err);
	sargv[6] = NULL;
	cr_assert_eq(tt_run(sargv, (char *[]){"TZ=UTC", NULL}, &out, &err, 20), 0, "%s", err);
	cr_expect(strstr(out, "llama (LLM): TTFT p50 "), "%s", out);
	free(out);
	free(err);
	free(argv[0]);

	/* 2. Slow first tokens now: the rule fires and the webhook gets it,
	 * signed. Traffic goes on until it does (bounded). */
	end = h_now() + 30 * cproc_slow();
	long sent = N;
	while (sink_count(hook) == 0 && h_now() < end) {
		cr_assert_eq(post_llm(&a, sent, sent + 20, clock_now(), 2500.0), 20);
		sent += 20;
		/* /metrics: the collector's last-minute TTFT */
		h_sleep(0.2);
	}
	cr_assert(sink_wait(hook, 1, 1), "no alert delivered; see %s", c.log);
	const struct sink_request *r = sink_request(hook, 0);
	cr_assert(strstr(r->body, "\"status\":\"firing\""), "%s", r->body);
	cr_assert(strstr(r->body, "slow-first-token"), "%s", r->body);
	cr_assert(strstr(r->body, "p99 TTFT of llama is "), "%s", r->body);
	/* signed as "t=TS,v1=HEX" over "TS.body" (mlwatch.conf(5)) */
	char sig[200], ts[32], line[256] = "", body_path[700], cmd[1500], *signed_body = NULL;
	cr_assert(sink_header(r, "x-mlwatch-signature", sig, sizeof(sig)));
	cr_assert(sink_header(r, "x-mlwatch-timestamp", ts, sizeof(ts)));
	char *v1 = strstr(sig, ",v1=");
	cr_assert(v1 && strncmp(sig, "t=", 2) == 0 && strncmp(sig + 2, ts, strlen(ts)) == 0,
	          "header %s, timestamp %s", sig, ts);
	snprintf(body_path, sizeof(body_path), "%s/alert-body", c.dir);
	cr_assert(asprintf(&signed_body, "%s.%.*s", ts, (int)r->len, r->body) > 0);
	cr_assert_eq(h_write_file(body_path, signed_body, strlen(signed_body)), 0);
	free(signed_body);
	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -hmac s3cret -r %s", body_path);
	FILE *f = popen(cmd, "r");
	cr_assert(f && fgets(line, sizeof(line), f));
	pclose(f);
	cr_assert_eq(strncmp(line, v1 + 4, 64), 0, "signature %s vs openssl %s", sig, line);

	/* /metrics: the last full minute holds only the slow ones (2.5 s);
	 * wait for the second they were sent in to be complete. */
	long status;
	char murl[128], *page = NULL;
	const char *m = NULL;
	snprintf(murl, sizeof(murl), "%smetrics", c.http);
	end = h_now() + 5 * cproc_slow();
	do {
		free(page);
		h_sleep(0.2);
		page = http_get(murl, &status);
		cr_assert_eq(status, 200);
		m = strstr(page, "mlwatch_model_ttft_seconds{model=\"llama\",percentile=\"p99\"} ");
	} while (!m && h_now() < end);
	cr_assert_not_null(m, "no TTFT in /metrics: %.2000s", page);
	double v = atof(strchr(m, ' ') + 1);
	cr_assert(fabs(v - 2.5) <= 0.025, "/metrics TTFT p99 %g s", v);
	cr_assert(
	    strstr(page, "mlwatch_model_tokens_per_second{model=\"llama\",direction=\"output\"}"));
	/* finish-reason shares of the last minute: every post is 20 events of
	 * stop, length, stop, stop */
	m = strstr(page, "mlwatch_model_finish_reason_ratio{model=\"llama\",reason=\"stop\"} ");
	cr_assert_not_null(m, "no finish reasons in /metrics: %.3000s", page);
	cr_expect_float_eq(atof(strchr(m, ' ') + 1), 0.75, 1e-9, "stop share");
	m = strstr(page, "mlwatch_model_finish_reason_ratio{model=\"llama\",reason=\"length\"} ");
	cr_assert_not_null(m);
	cr_expect_float_eq(atof(strchr(m, ' ') + 1), 0.25, 1e-9, "length share");
	free(page);

	cr_assert_eq(ap_stop(&a), 0);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	ap_cleanup(&a);
	cproc_cleanup(&c);
	sink_stop(hook);
	free(hu);
}
