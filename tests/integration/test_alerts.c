/* Alerting end to end (issue 6's acceptance list): the real mlwatchd fed
 * per-second summaries by a wire client, notifying receivers played by
 * tests/lib/http_sink on loopback.
 *   1 a p99 breach past `for` -> one firing per receiver within 2 s, and one
 *     resolved on recovery (the detection-to-delivery time is printed)
 *   2 500s then 200 -> delivered once, with backoff (attempts counted);
 *     429 Retry-After: 5 waited out; a hung receiver delays nobody
 *   3 kill -9 with a pending notification -> delivered once after restart,
 *     not re-sent as new, repeat_interval kept
 *   4 the signature verifies with openssl and fails for a tampered body
 *   5 a silence suppresses notifications, not state; one goes out after it,
 *     even when the silence ended while mlwatchd was down (kill -9)
 *   6 each receiver type's payload through the real pipeline
 *   7 no_data fires when the (real) agent stops and resolves when it is back */
#include <criterion/criterion.h>
#include <cJSON.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_proc.h"
#include "clock.h"
#include "collector_proc.h"
#include "harness.h"
#include "http_sink.h"
#include "wire_client.h"

/* ---- traffic: 10 requests per 100 ms as per-second summaries -------------- */

enum { QUIET = 0, FAST = 1, SLOW = 2 };

struct traffic {
	pthread_t th;
	char url[600];
	atomic_int mode;
	atomic_bool stop;
	atomic_uint_fast64_t sent, failed;
	pthread_mutex_t mu;
	double max_rtt; /* the slowest successful request while measuring */
	bool measuring;
};

static void *traffic_main(void *arg)
{
	struct traffic *t = arg;
	struct wc_client *cl = NULL;
	uint64_t seq = 0;
	char err[256];

	while (!atomic_load(&t->stop)) {
		int mode = atomic_load(&t->mode);
		if (!cl && wc_open(&cl, t->url, NULL, 2.0, err, sizeof(err)) != 0)
			cl = NULL;
		if (mode != QUIET && cl) {
			struct wc_batch wb;
			struct wire_reply r;
			double lat[10];
			uint8_t *buf = NULL;
			size_t len;
			for (int i = 0; i < 10; i++)
				lat[i] = mode == SLOW ? 300.0 + 20.0 * i : 10.0 + 2.0 * i;
			wc_batch_init(&wb, "alerts-test", ++seq, NULL);
			wc_batch_summary(&wb, "fraud", (int64_t)clock_now(), 10, 0, 0, lat, 10);
			if (wc_batch_encode(&wb, &buf, &len) == 0) {
				double t0 = h_now();
				if (wc_request(cl, buf, len, &r, err, sizeof(err)) == 0 &&
				    r.status == WIRE_OK) {
					double rtt = h_now() - t0;
					atomic_fetch_add(&t->sent, 1);
					pthread_mutex_lock(&t->mu);
					if (t->measuring && rtt > t->max_rtt)
						t->max_rtt = rtt;
					pthread_mutex_unlock(&t->mu);
				} else {
					atomic_fetch_add(&t->failed, 1);
				}
			}
			free(buf);
			wc_batch_free(&wb);
		}
		h_sleep(0.1);
	}
	wc_close(cl);
	return NULL;
}

static void traffic_start(struct traffic *t, const char *url, int mode)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->url, sizeof(t->url), "%s", url);
	atomic_init(&t->mode, mode);
	pthread_mutex_init(&t->mu, NULL);
	cr_assert_eq(pthread_create(&t->th, NULL, traffic_main, t), 0);
}

static void traffic_stop(struct traffic *t)
{
	atomic_store(&t->stop, true);
	pthread_join(t->th, NULL);
	pthread_mutex_destroy(&t->mu);
}

/* ---- helpers ------------------------------------------------------------------ */

static char *write_conf(struct cproc *c, const char *body)
{
	char *path;
	cr_assert(asprintf(&path, "%s/mlwatch.conf", c->dir) > 0);
	cr_assert_eq(h_write_file(path, body, strlen(body)), 0);
	return path;
}

static void start(struct cproc *c, const char *conf)
{
	const char *extra[] = {"--config", conf, NULL};
	cr_assert_eq(cproc_start(c, extra), 0, "mlwatchd did not start, see %s", c->log);
}

static int64_t count_sql(struct cproc *c, const char *sql)
{
	int64_t v = db_int(c->db, sql);
	return v == INT64_MIN ? -1 : v;
}

static bool wait_sql(struct cproc *c, const char *sql, int64_t want, double timeout_s)
{
	double end = h_now() + timeout_s * cproc_slow();
	while (h_now() < end) {
		if (count_sql(c, sql) >= want)
			return true;
		h_sleep(0.05);
	}
	return false;
}

/* Requests of s whose body contains needle and that were answered status. */
static size_t count_bodies(struct http_sink *s, const char *needle, int status)
{
	size_t n = 0, total = sink_count(s);
	for (size_t i = 0; i < total; i++) {
		const struct sink_request *r = sink_request(s, i);
		if (strstr(r->body, needle) && (!status || r->status == status))
			n++;
	}
	return n;
}

/* Wall time of a request the sink saw (it stamps h_now()). */
static double wall_of(const struct sink_request *r)
{
	return clock_now() - (h_now() - r->at);
}

static size_t count_log(const char *path, const char *needle)
{
	char *text = h_read_file(path, NULL), *p;
	size_t n = 0;
	for (p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(text);
	return n;
}

/* ---- 1, 4, 6: breach, delivery time, resolve, payloads, signature -------------- */

Test(alerts, p99_breach_fires_once_per_receiver_and_resolves_once)
{
	struct cproc c;
	struct traffic t;
	struct http_sink *hook = sink_start(0), *pd = sink_start(0), *chat = sink_start(0),
	                 *am = sink_start(0);
	char *hu = sink_url(hook, "/hook"), *pu = sink_url(pd, "/v2/enqueue"),
	     *cu = sink_url(chat, "/services/x"), *au = sink_url(am, "/"), conf[4096];
	char secret[600], key[600];

	cproc_init(&c, "alerts-p99");
	snprintf(secret, sizeof(secret), "%s/hook.secret", c.dir);
	snprintf(key, sizeof(key), "%s/pd.key", c.dir);
	cr_assert_eq(h_write_file(secret, "s3cret\n", 7), 0);
	cr_assert_eq(h_write_file(key, "R0UTING\n", 8), 0);
	snprintf(conf, sizeof(conf),
	         "[collector]\nexternal_url = http://mlwatch.test\n"
	         "[alert fraud-p99]\nmodel = fraud\nexpr = p99_latency_ms > 250 over 3s\n"
	         "for = 2s\nseverity = page\nreceivers = hook, pd, chat, am\n"
	         "summary = p99 latency of {model} is {value} ms\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\nsecret_file = %s\n"
	         "[receiver pd]\ntype = pagerduty\nurl = %s\nrouting_key_file = %s\n"
	         "[receiver chat]\ntype = slack\nurl = %s\n"
	         "[receiver am]\ntype = alertmanager\nurl = %s\n",
	         hu, secret, pu, key, cu, au);
	char *cf = write_conf(&c, conf);
	start(&c, cf);
	traffic_start(&t, c.url, FAST);
	h_sleep(2.0);
	cr_assert_eq(count_sql(&c, "SELECT count(*) FROM alerts"), 0, "fast traffic: no alert");

	atomic_store(&t.mode, SLOW);
	struct http_sink *all[] = {hook, pd, chat, am};
	for (int i = 0; i < 4; i++)
		cr_assert(sink_wait(all[i], 1, 10 * cproc_slow()), "receiver %d got nothing", i);
	double active = db_double(c.db, "SELECT active_at FROM alerts WHERE rule = 'fraud-p99'");
	double fired = db_double(c.db, "SELECT fired_at FROM alerts WHERE rule = 'fraud-p99'");
	cr_assert(fired - active >= 1.95, "fired %.2f s after active, for = 2s", fired - active);
	double worst = 0;
	for (int i = 0; i < 4; i++) {
		double d = wall_of(sink_request(all[i], 0)) - (active + 2.0);
		if (d > worst)
			worst = d;
		cr_assert(d <= 2.0 * h_slow(), "receiver %d got it %.3f s after `for` elapsed", i,
		          d);
	}
	fprintf(stderr, "alerts: detection-to-delivery (for elapsed -> received): worst %.3f s\n",
	        worst);

	/* Still breaching: nothing more (repeat_interval is 4h). */
	h_sleep(1.5);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(sink_count(all[i]), 1, "receiver %d: exactly one firing", i);

	/* 6: each receiver type's payload, as the real pipeline sent it. */
	cJSON *w = cJSON_Parse(sink_request(hook, 0)->body);
	cr_assert(w);
	cr_assert_str_eq(cJSON_GetObjectItem(w, "version")->valuestring, "4");
	cr_assert_str_eq(cJSON_GetObjectItem(w, "status")->valuestring, "firing");
	cr_assert_str_eq(cJSON_GetObjectItem(w, "receiver")->valuestring, "hook");
	cr_assert_str_eq(cJSON_GetObjectItem(w, "externalURL")->valuestring, "http://mlwatch.test");
	const cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(w, "alerts"), 0);
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(a0, "labels"), "alertname")->valuestring,
	    "fraud-p99");
	const char *sum =
	    cJSON_GetObjectItem(cJSON_GetObjectItem(a0, "annotations"), "summary")->valuestring;
	cr_assert_eq(strncmp(sum, "p99 latency of fraud is ", 24), 0, "%s", sum);
	cr_assert(atof(sum + 24) > 250 && atof(sum + 24) < 500, "%s", sum);
	char fp[64];
	snprintf(fp, sizeof(fp), "%s", cJSON_GetObjectItem(a0, "fingerprint")->valuestring);
	cr_assert_str_eq(cJSON_GetObjectItem(a0, "generatorURL")->valuestring,
	                 "http://mlwatch.test/alerts?rule=fraud-p99&model=fraud");
	cJSON_Delete(w);
	cJSON *p = cJSON_Parse(sink_request(pd, 0)->body);
	cr_assert_str_eq(cJSON_GetObjectItem(p, "routing_key")->valuestring, "R0UTING");
	cr_assert_str_eq(cJSON_GetObjectItem(p, "event_action")->valuestring, "trigger");
	cr_assert_str_eq(cJSON_GetObjectItem(p, "dedup_key")->valuestring, fp);
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(p, "payload"), "severity")->valuestring,
	    "critical");
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(p, "payload"), "source")->valuestring, "fraud");
	cJSON_Delete(p);
	cJSON *s = cJSON_Parse(sink_request(chat, 0)->body);
	cr_assert_eq(strncmp(cJSON_GetObjectItem(s, "text")->valuestring,
	                     "[FIRING:page] fraud-p99: p99 latency of fraud is ", 49),
	             0);
	cr_assert(cJSON_IsArray(cJSON_GetObjectItem(s, "blocks")));
	cJSON_Delete(s);
	cr_assert_str_eq(sink_request(am, 0)->path, "/api/v2/alerts");
	cJSON *m = cJSON_Parse(sink_request(am, 0)->body);
	cr_assert(cJSON_IsArray(m));
	cr_assert_str_eq(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "labels"), "model")
	        ->valuestring,
	    "fraud");
	cr_assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(m, 0), "endsAt"));
	cJSON_Delete(m);

	/* 4: the signature, checked by openssl; a tampered body fails. */
	const struct sink_request *r = sink_request(hook, 0);
	char sig[200], body_path[600], cmd[1400], line[256] = "", ts[32];
	cr_assert(sink_header(r, "x-mlwatch-signature", sig, sizeof(sig)));
	cr_assert(sink_header(r, "x-mlwatch-timestamp", ts, sizeof(ts)));
	/* "t=TS,v1=HEX" over "TS.body" */
	char *v1 = strstr(sig, ",v1=");
	cr_assert(v1 && strncmp(sig + 2, ts, strlen(ts)) == 0, "header %s, timestamp %s", sig, ts);
	memmove(sig + 7, v1 + 4, strlen(v1 + 4) + 1); /* sig + 7 is the hex, as openssl prints */
	for (int tamper = 0; tamper < 2; tamper++) {
		snprintf(body_path, sizeof(body_path), "%s/body%d", c.dir, tamper);
		char *b = NULL;
		cr_assert(asprintf(&b, "%s.%s", ts, r->body) > 0);
		if (tamper)
			b[strlen(b) / 2] ^= 1;
		cr_assert_eq(h_write_file(body_path, b, strlen(b)), 0);
		free(b);
		snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -hmac s3cret -r %s", body_path);
		FILE *f = popen(cmd, "r");
		cr_assert(f && fgets(line, sizeof(line), f));
		pclose(f);
		bool match = strncmp(line, sig + 7, 64) == 0;
		cr_assert_eq(match, !tamper, "openssl %s vs header %s (tampered %d)", line, sig,
		             tamper);
	}

	/* Recovery: exactly one resolved per receiver. */
	atomic_store(&t.mode, FAST);
	for (int i = 0; i < 4; i++)
		cr_assert(sink_wait(all[i], 2, 10 * cproc_slow()), "receiver %d: no resolve", i);
	h_sleep(1.5);
	for (int i = 0; i < 4; i++)
		cr_assert_eq(sink_count(all[i]), 2, "receiver %d: one firing, one resolved", i);
	cr_assert(strstr(sink_request(hook, 1)->body, "\"status\":\"resolved\""));
	cr_assert(strstr(sink_request(pd, 1)->body, "\"event_action\":\"resolve\""));
	cr_assert(strstr(sink_request(chat, 1)->body, "[RESOLVED:page]"));
	cr_assert(strstr(sink_request(am, 1)->body, "\"endsAt\""));
	cr_assert_eq(count_sql(&c, "SELECT count(*) FROM alerts WHERE state = 'resolved'"), 1);

	/* /metrics has the alert and receiver lines. */
	char url[128];
	long status = 0;
	snprintf(url, sizeof(url), "%smetrics", c.http);
	char *page = http_get(url, &status);
	cr_assert_eq(status, 200);
	cr_assert_eq(
	    metrics_value(page, "mlwatch_alerts_firing{rule=\"fraud-p99\",model=\"fraud\"}"), 0);
	cr_assert_eq(metrics_value(page, "mlwatch_notifications_sent_total{receiver=\"hook\"}"), 2);
	free(page);

	traffic_stop(&t);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	for (int i = 0; i < 4; i++)
		sink_stop(all[i]);
	cproc_cleanup(&c);
	free(hu), free(pu), free(cu), free(au), free(cf);
}

/* ---- 2: 500s then 200, 429 Retry-After, a hung receiver ------------------------ */

static const char rps_rule[] = "[alert busy]\nmodel = fraud\nexpr = rps > 1 over 2s\n"
                               "severity = warn\nreceivers = %s\n";

Test(alerts, outage_then_recovery_delivers_once_with_backoff)
{
	struct cproc c;
	struct traffic t;
	struct http_sink *s = sink_start(0);
	char *u = sink_url(s, "/"), conf[1024], rules[256];
	double outage = getenv("SOAK_SECONDS") ? 30.0 : 5.0;
	struct sink_reply fail[] = {{.status = 500, .body = "down"}}, ok[] = {{.status = 200}};

	cproc_init(&c, "alerts-outage");
	snprintf(rules, sizeof(rules), rps_rule, "hook");
	snprintf(conf, sizeof(conf), "%s[receiver hook]\ntype = webhook\nurl = %s\n", rules, u);
	char *cf = write_conf(&c, conf);
	sink_script(s, fail, 1);
	start(&c, cf);
	traffic_start(&t, c.url, FAST);
	cr_assert(sink_wait(s, 1, 5 * cproc_slow()));
	double t0 = h_now();
	while (h_now() - t0 < outage)
		h_sleep(0.1);
	sink_script(s, ok, 1);
	double back = h_now();
	cr_assert(
	    wait_sql(&c, "SELECT count(*) FROM outbox WHERE status = 'delivered'", 1, outage + 10));
	size_t attempts = sink_count(s);
	/* Retries 1, 2, 4, ... s apart (+-20%): about log2(outage) + 2 attempts,
	 * not a storm. A 5 s outage ends between the 3rd and the 4th. */
	size_t most = (size_t)ceil(log2(outage / 0.8 + 1)) + 2;
	/* Each attempt's time from the first and its status, so that a failure
	 * says whether the retries came too fast or another notice (a resolve)
	 * joined them: it failed once, 6 attempts, in a run beside another. */
	char seen[1024];
	size_t used = 0;
	for (size_t i = 0; i < attempts && used < sizeof(seen) - 64; i++) {
		const struct sink_request *r = sink_request(s, i);
		used += (size_t)snprintf(
		    seen + used, sizeof(seen) - used, "%s%.2f s %s -> %d", i ? ", " : "",
		    r->at - sink_request(s, 0)->at,
		    strstr(r->body, "\"status\":\"resolved\"") ? "resolved" : "firing", r->status);
	}
	cr_assert(attempts >= 3 && attempts <= most,
	          "%zu attempts for a %.0f s outage (recovery at %.2f s): %s", attempts, outage,
	          back - sink_request(s, 0)->at, seen);
	cr_assert_eq(count_bodies(s, "\"status\":\"firing\"", 200), 1, "delivered exactly once");
	cr_assert(sink_request(s, attempts - 1)->at >= back, "delivered after recovery");
	cr_assert_eq(count_log(c.log, "will retry"), attempts - 1, "each retry is in the log");
	fprintf(stderr, "alerts: %.0f s outage -> %zu attempts, delivered %.1f s after recovery\n",
	        outage, attempts, sink_request(s, attempts - 1)->at - back);
	h_sleep(1.0);
	cr_assert_eq(sink_count(s), attempts);
	traffic_stop(&t);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	sink_stop(s);
	cproc_cleanup(&c);
	free(u), free(cf);
}

Test(alerts, retry_after_429_is_waited_out)
{
	struct cproc c;
	struct traffic t;
	struct http_sink *s = sink_start(0);
	char *u = sink_url(s, "/"), conf[1024], rules[256];
	struct sink_reply script[] = {{.status = 429, .retry_after = "5"}, {.status = 200}};

	cproc_init(&c, "alerts-429");
	snprintf(rules, sizeof(rules), rps_rule, "hook");
	snprintf(conf, sizeof(conf), "%s[receiver hook]\ntype = webhook\nurl = %s\n", rules, u);
	char *cf = write_conf(&c, conf);
	sink_script(s, script, 2);
	start(&c, cf);
	traffic_start(&t, c.url, FAST);
	cr_assert(wait_sql(&c, "SELECT count(*) FROM outbox WHERE status = 'delivered'", 1, 12));
	cr_assert_eq(sink_count(s), 2);
	double gap = sink_request(s, 1)->at - sink_request(s, 0)->at;
	cr_assert(gap >= 4.95 && gap < 5 + 1.5 * h_slow(),
	          "retried %.2f s after 429 Retry-After: 5", gap);
	cr_assert_eq(sink_request(s, 0)->status, 429);
	cr_assert_eq(sink_request(s, 1)->status, 200);
	traffic_stop(&t);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	sink_stop(s);
	cproc_cleanup(&c);
	free(u), free(cf);
}

Test(alerts, hung_receiver_delays_neither_another_nor_ingest)
{
	struct cproc c;
	struct traffic t;
	struct http_sink *slow = sink_start(0), *fast = sink_start(0);
	char *su = sink_url(slow, "/"), *fu = sink_url(fast, "/"), conf[1024], rules[256];
	struct sink_reply hang[] = {{.hang = true}};

	cproc_init(&c, "alerts-hang");
	snprintf(rules, sizeof(rules), rps_rule, "slow, fast");
	snprintf(conf, sizeof(conf),
	         "%s[receiver slow]\ntype = webhook\nurl = %s\ntimeout = 60s\n"
	         "[receiver fast]\ntype = webhook\nurl = %s\n",
	         rules, su, fu);
	char *cf = write_conf(&c, conf);
	sink_script(slow, hang, 1);
	start(&c, cf);
	traffic_start(&t, c.url, FAST);
	cr_assert(sink_wait(slow, 1, 5 * cproc_slow()), "the slow receiver was called");
	cr_assert(sink_wait(fast, 1, 2 * cproc_slow()), "the fast one is not held up");
	double d = fabs(sink_request(fast, 0)->at - sink_request(slow, 0)->at);
	cr_assert(d < 0.5 * h_slow(), "fast got it %.3f s apart from slow", d);
	/* Ingest goes on at full speed while the slow receiver hangs. */
	pthread_mutex_lock(&t.mu);
	t.measuring = true;
	pthread_mutex_unlock(&t.mu);
	uint64_t before = atomic_load(&t.sent);
	h_sleep(2.0);
	pthread_mutex_lock(&t.mu);
	double worst = t.max_rtt;
	pthread_mutex_unlock(&t.mu);
	cr_assert(atomic_load(&t.sent) - before >= 12, "batches kept flowing");
	cr_assert(worst < 0.5 * h_slow(), "slowest ingest round trip %.3f s while a receiver hangs",
	          worst);
	cr_assert_eq(count_sql(&c, "SELECT count(*) FROM outbox WHERE receiver = 'slow' AND "
	                           "status = 'pending'"),
	             1);
	/* Shutdown does not wait for the hung receiver. */
	traffic_stop(&t);
	double t0 = h_now();
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cr_assert(h_now() - t0 < 5 * h_slow(), "stopped in %.2f s", h_now() - t0);
	sink_release(slow);
	sink_stop(slow);
	sink_stop(fast);
	cproc_cleanup(&c);
	free(su), free(fu), free(cf);
}

/* ---- 3: kill -9 with a pending notification ------------------------------------- */

Test(alerts, kill9_then_restart_delivers_once_and_keeps_repeat_interval)
{
	struct cproc c;
	struct traffic t;
	struct http_sink *s = sink_start(0);
	char *u = sink_url(s, "/"), conf[1024];
	struct sink_reply fail[] = {{.status = 503}}, ok[] = {{.status = 200}};

	cproc_init(&c, "alerts-kill9");
	/* `over 10s` so that the ring refilling after the restart keeps the
	 * alert's state rather than resolving it. */
	snprintf(conf, sizeof(conf),
	         "[alert slow]\nmodel = fraud\nexpr = p99_latency_ms > 250 over 10s\n"
	         "severity = page\nreceivers = hook\nrepeat_interval = 8s\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         u);
	char *cf = write_conf(&c, conf);
	sink_script(s, fail, 1);
	start(&c, cf);
	traffic_start(&t, c.url, SLOW);
	cr_assert(sink_wait(s, 1, 5 * cproc_slow()), "first attempt made (and refused)");
	double notified = db_double(c.db, "SELECT last_notified FROM alerts");
	cr_assert(!isnan(notified));
	cr_assert_eq(count_sql(&c, "SELECT count(*) FROM outbox WHERE status = 'pending'"), 1);

	cr_assert_eq(cproc_stop(&c, SIGKILL), 128 + SIGKILL);
	sink_script(s, ok, 1);
	start(&c, cf);
	cr_assert(wait_sql(&c, "SELECT count(*) FROM outbox WHERE status = 'delivered'", 1, 5),
	          "the pending notification is delivered after the restart");
	cr_assert_eq(count_bodies(s, "\"status\":\"firing\"", 200), 1);
	cr_assert_eq(count_sql(&c, "SELECT count(*) FROM alerts"), 1, "same alert, not a new one");
	cr_assert_eq(count_sql(&c, "SELECT count(*) FROM alerts WHERE state = 'firing'"), 1);
	cr_assert_eq(count_sql(&c, "SELECT count(*) FROM outbox WHERE kind = 'firing'"), 1,
	             "a firing alert is not re-sent as new after the restart");
	/* The repeat comes repeat_interval after the notification before the kill. */
	cr_assert(wait_sql(&c, "SELECT count(*) FROM outbox WHERE kind = 'repeat'", 1, 12),
	          "a repeat within repeat_interval");
	double rep = db_double(c.db, "SELECT created FROM outbox WHERE kind = 'repeat'");
	cr_assert(rep - notified >= 7.9 && rep - notified < 8 + 2 * h_slow(),
	          "repeat %.2f s after the last notification (repeat_interval 8s)", rep - notified);
	traffic_stop(&t);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	sink_stop(s);
	cproc_cleanup(&c);
	free(u), free(cf);
}

/* ---- 5: silences ------------------------------------------------------------------- */

/* Silences rule for model fraud with the real `mlwatch silence`, as an
 * operator would; returns when the silence ends. */
static double silence(struct cproc *c, const char *rule, const char *duration)
{
	char *mlwatch = h_bin("mlwatch"), logp[600], conf[600];
	/* the rule is known from mlwatchd's config (it has not fired yet) */
	snprintf(conf, sizeof(conf), "%s/mlwatch.conf", c->dir);
	char *argv[] = {mlwatch,          "--config",   conf,      "--db",  c->db,
	                "silence",        (char *)rule, "--model", "fraud", "--for",
	                (char *)duration, "--comment",  "deploy",  NULL};
	struct h_proc p;

	snprintf(logp, sizeof(logp), "%s/silence.log", c->dir);
	cr_assert_eq(h_spawn(&p, argv, logp, NULL), 0);
	cr_assert_eq(h_stop(&p, 0, 10), 0, "mlwatch silence failed, see %s", logp);
	free(mlwatch);
	double ends = db_double(c->db, "SELECT ends FROM silences");
	cr_assert(!isnan(ends));
	return ends;
}

Test(alerts, silence_changes_state_but_sends_nothing_until_it_ends)
{
	struct cproc c;
	struct traffic t;
	struct http_sink *s = sink_start(0);
	char *u = sink_url(s, "/"), conf[1024], rules[256];

	cproc_init(&c, "alerts-silence");
	snprintf(rules, sizeof(rules), rps_rule, "hook");
	snprintf(conf, sizeof(conf), "%s[receiver hook]\ntype = webhook\nurl = %s\n", rules, u);
	char *cf = write_conf(&c, conf);
	start(&c, cf);
	double ends = silence(&c, "busy", "5s");

	traffic_start(&t, c.url, FAST);
	cr_assert(wait_sql(&c, "SELECT count(*) FROM alerts WHERE state = 'firing'", 1, 4),
	          "the state changes under the silence");
	while (clock_now() < ends - 0.3)
		h_sleep(0.1);
	cr_assert_eq(sink_count(s), 0, "nothing sent while silenced");
	cr_assert(sink_wait(s, 1, 3 * cproc_slow()), "one notification when the silence ends");
	cr_assert(wall_of(sink_request(s, 0)) >= ends);
	h_sleep(2.0);
	cr_assert_eq(sink_count(s), 1, "exactly one");
	cr_assert(strstr(sink_request(s, 0)->body, "\"status\":\"firing\""));
	traffic_stop(&t);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	sink_stop(s);
	cproc_cleanup(&c);
	free(u), free(cf);
}

/* A notice owed at the end of a silence is kept in the database: when the
 * silence ends while mlwatchd is down (kill -9), the receiver hears once
 * right after the restart, not a repeat_interval (here an hour) later. */
Test(alerts, silence_ending_while_down_is_notified_after_restart)
{
	struct cproc c;
	struct traffic t;
	struct http_sink *s = sink_start(0);
	char *u = sink_url(s, "/"), conf[1024];

	cproc_init(&c, "alerts-silence-kill9");
	snprintf(conf, sizeof(conf),
	         "[alert slow]\nmodel = fraud\nexpr = p99_latency_ms > 250 over 10s\n"
	         "receivers = hook\nrepeat_interval = 1h\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         u);
	char *cf = write_conf(&c, conf);
	start(&c, cf);
	traffic_start(&t, c.url, SLOW);
	cr_assert(sink_wait(s, 1, 5 * cproc_slow()), "fired and notified");

	double ends = silence(&c, "slow", "4s");
	cr_assert(wait_sql(&c, "SELECT count(*) FROM alerts WHERE owed = 1", 1, 3),
	          "the notice due at the silence's end is written down");

	cr_assert_eq(cproc_stop(&c, SIGKILL), 128 + SIGKILL);
	while (clock_now() < ends + 1.0) /* the silence ends while mlwatchd is down */
		h_sleep(0.1);
	cr_assert_eq(sink_count(s), 1, "nothing while silenced");
	double up = clock_now();
	start(&c, cf);
	cr_assert(sink_wait(s, 2, 4 * cproc_slow()), "one notification soon after the restart");
	cr_assert(wall_of(sink_request(s, 1)) >= up);
	cr_assert(strstr(sink_request(s, 1)->body, "\"status\":\"firing\""));
	h_sleep(2.0);
	cr_assert_eq(sink_count(s), 2, "exactly one");
	cr_assert_eq(count_sql(&c, "SELECT count(*) FROM alerts WHERE owed = 1"), 0);
	traffic_stop(&t);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	sink_stop(s);
	cproc_cleanup(&c);
	free(u), free(cf);
}

/* ---- 7: no_data, with the real agent ---------------------------------------------- */

struct agent_feed {
	pthread_t th;
	struct agent_proc *a;
	atomic_bool stop;
	atomic_uint_fast64_t accepted;
};

/* One event every 100 ms through the agent's HTTP input; failures (the
 * agent is down) are simply retried on the next turn. */
static void *feed_main(void *arg)
{
	struct agent_feed *f = arg;
	static const char *const hdr[] = {"Content-Type: application/json", NULL};
	char body[256];
	long i = 0;

	while (!atomic_load(&f->stop)) {
		long k = i++;
		int n = snprintf(body, sizeof(body),
		                 "{\"model\":\"fraud\",\"id\":\"nd-%ld\",\"latency_ms\":12.5,"
		                 "\"features\":{\"amount\":%ld},\"prediction\":\"ok\"}",
		                 k, k % 50);
		if (ap_post(f->a, "/v1/events", body, (size_t)n, hdr, false, NULL) == 202)
			atomic_fetch_add(&f->accepted, 1);
		h_sleep(0.1);
	}
	return NULL;
}

Test(alerts, no_data_fires_when_the_agent_stops_and_resolves_when_it_returns)
{
	struct cproc c;
	struct agent_proc a;
	struct agent_feed feed = {0};
	struct http_sink *s = sink_start(0);
	char *u = sink_url(s, "/"), conf[1024];

	cproc_init(&c, "alerts-nodata");
	snprintf(conf, sizeof(conf),
	         "[alert silent]\nmodel = *\nexpr = no_data > 3\nreceivers = hook\n"
	         "summary = {model} sent nothing for {value} s\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         u);
	char *cf = write_conf(&c, conf);
	start(&c, cf);
	cr_assert_eq(ap_init(&a, "alerts-nodata-agent"), 0);
	snprintf(a.collector, sizeof(a.collector), "%s", c.url);
	cr_assert_eq(ap_start(&a, NULL), 0, "agent did not start, see %s", a.log);
	feed.a = &a;
	cr_assert_eq(pthread_create(&feed.th, NULL, feed_main, &feed), 0);
	cr_assert(wait_sql(&c, "SELECT count(*) FROM models WHERE name = 'fraud'", 1, 5),
	          "events reached the collector");
	h_sleep(1.5);
	cr_assert_eq(sink_count(s), 0, "the agent is sending: no alert");

	cr_assert_eq(ap_stop(&a), 0);
	double stopped = h_now();
	cr_assert(sink_wait(s, 1, 8 * cproc_slow()), "no_data fired");
	double after = sink_request(s, 0)->at - stopped;
	cr_assert(after >= 2.0 && after < 2 + 4 * h_slow(), "fired %.2f s after the agent stopped",
	          after);
	cr_assert(strstr(sink_request(s, 0)->body, "\"alertname\":\"silent\""));
	cr_assert(strstr(sink_request(s, 0)->body, "\"model\":\"fraud\""));
	cr_assert(strstr(sink_request(s, 0)->body, "\"status\":\"firing\""));

	cr_assert_eq(ap_start(&a, NULL), 0, "agent did not restart, see %s", a.log);
	cr_assert(sink_wait(s, 2, 6 * cproc_slow()), "resolved when the agent came back");
	cr_assert(strstr(sink_request(s, 1)->body, "\"status\":\"resolved\""));
	atomic_store(&feed.stop, true);
	pthread_join(feed.th, NULL);
	cr_assert_eq(ap_stop(&a), 0);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	sink_stop(s);
	ap_cleanup(&a);
	cproc_cleanup(&c);
	free(u), free(cf);
}

/* ---- mlwatch webhook-listen as the receiver ------------------------------------ */

Test(alerts, webhook_listen_prints_and_verifies_what_mlwatchd_sends)
{
	struct cproc c;
	struct traffic t;
	struct h_proc good, bad;
	char conf[2048], secret[600], wrong[600], glog[600], blog[600], ga[64], ba[64];
	int gp = h_free_port(), bp = h_free_port();
	char *mlwatch = h_bin("mlwatch");

	cproc_init(&c, "alerts-listen");
	snprintf(secret, sizeof(secret), "%s/hook.secret", c.dir);
	snprintf(wrong, sizeof(wrong), "%s/wrong.secret", c.dir);
	cr_assert_eq(h_write_file(secret, "s3cret\n", 7), 0);
	cr_assert_eq(h_write_file(wrong, "not-it\n", 7), 0);
	snprintf(glog, sizeof(glog), "%s/good.log", c.dir);
	snprintf(blog, sizeof(blog), "%s/bad.log", c.dir);
	snprintf(ga, sizeof(ga), "127.0.0.1:%d", gp);
	snprintf(ba, sizeof(ba), "127.0.0.1:%d", bp);
	char *gargv[] = {mlwatch, "webhook-listen", "--listen", ga, "--secret-file", secret, NULL};
	char *bargv[] = {mlwatch, "webhook-listen", "--listen", ba, "--secret-file", wrong, NULL};
	cr_assert_eq(h_spawn(&good, gargv, glog, NULL), 0);
	cr_assert_eq(h_spawn(&bad, bargv, blog, NULL), 0);
	cr_assert(h_wait_port(gp, 10) && h_wait_port(bp, 10), "webhook-listen did not start");
	snprintf(conf, sizeof(conf),
	         "[alert busy]\nmodel = fraud\nexpr = rps > 1 over 2s\nreceivers = good, bad\n"
	         "summary = {model} serves {value} requests/s\n"
	         "[receiver good]\ntype = webhook\nurl = http://%s/alerts\nsecret_file = %s\n"
	         "[receiver bad]\ntype = webhook\nurl = http://%s/alerts\nsecret_file = %s\n",
	         ga, secret, ba, secret);
	char *cf = write_conf(&c, conf);
	start(&c, cf);
	traffic_start(&t, c.url, FAST);
	cr_assert(h_wait_log(glog,
	                     "received status=firing rule=busy model=fraud severity=warn "
	                     "signature=valid format=webhook",
	                     5 * cproc_slow()),
	          "see %s", glog);
	cr_assert(h_wait_log(glog, "  summary: fraud serves ", 1));
	cr_assert(h_wait_log(blog,
	                     "received status=firing rule=busy model=fraud severity=warn "
	                     "signature=invalid format=webhook",
	                     5 * cproc_slow()),
	          "a listener with another secret says invalid; see %s", blog);
	traffic_stop(&t);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cr_assert_eq(h_stop(&good, SIGTERM, 5), 0);
	cr_assert_eq(h_stop(&bad, SIGTERM, 5), 0);
	cr_assert(h_wait_log(glog, "stopped after 1 alert(s)", 1));
	cproc_cleanup(&c);
	free(cf), free(mlwatch);
}
