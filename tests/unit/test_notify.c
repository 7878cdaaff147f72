/* notify: the outbox is delivered once on 2xx, retried with visible
 * exponential backoff on 5xx, waits out 429 Retry-After, gives up for good
 * on other 4xx, drops after max_age, delivers a receiver's rows in order,
 * paces Slack, and a hung receiver never delays another. Real HTTP on
 * loopback against tests/lib/http_sink. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../collector/notify.h"
#include "../../collector/payload.h"
#include "../lib/harness.h"
#include "../lib/http_sink.h"
#include "clock.h"
#include "store.h"
#include "store_alerts.h"

struct fixture {
	char *dir, *db;
	struct mlw_config cfg;
	struct store st;
	struct store_alerts sa;
	struct notifier *nf;
};

static void fx_init(struct fixture *fx)
{
	char err[256];
	memset(fx, 0, sizeof(*fx));
	fx->dir = h_tmpdir("notify");
	cr_assert(asprintf(&fx->db, "%s/mlwatch.db", fx->dir) > 0);
	cr_assert_eq(config_init(&fx->cfg), 0);
	cr_assert_eq(store_open(&fx->st, fx->db, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s",
	             err);
	store_alerts_init(&fx->sa, &fx->st);
}

static void fx_fini(struct fixture *fx)
{
	notify_stop(fx->nf);
	store_alerts_close(&fx->sa);
	store_close(&fx->st);
	config_free(&fx->cfg);
	h_rmtree(fx->dir);
	free(fx->dir);
	free(fx->db);
}

static char *dup_or_empty(const char *s)
{
	char *d = strdup(s ? s : "");
	cr_assert(d);
	return d;
}

/* A [receiver] section as config_load would have made it. */
static void add_receiver(struct fixture *fx, const char *name, const char *type, const char *url,
                         const char *secret, double timeout_s)
{
	struct mlw_config *c = &fx->cfg;
	struct receiver_config *r;

	c->receivers = realloc(c->receivers, (c->n_receivers + 1) * sizeof(*r));
	cr_assert(c->receivers);
	r = &c->receivers[c->n_receivers++];
	memset(r, 0, sizeof(*r));
	r->name = dup_or_empty(name);
	r->type = dup_or_empty(type);
	r->url = dup_or_empty(url);
	r->routing_key_file = dup_or_empty("");
	r->ca_file = dup_or_empty("");
	r->secret_file = dup_or_empty("");
	if (secret) {
		char *path;
		cr_assert(asprintf(&path, "%s/%s.secret", fx->dir, name) > 0);
		cr_assert_eq(h_write_file(path, secret, strlen(secret)), 0);
		free(r->secret_file);
		r->secret_file = path;
	}
	r->max_age_ms = 24 * 3600 * 1000LL;
	r->timeout_ms = (int64_t)(timeout_s * 1000);
	r->min_interval_ms = 0;
}

static void enqueue(struct fixture *fx, const char *receiver, const char *kind, double created)
{
	char fp[17], *json;
	payload_fingerprint("r1", "fraud", "", fp);
	struct notification n = {.kind = (char *)kind,
	                         .rule = "r1",
	                         .model = "fraud",
	                         .feature = "",
	                         .severity = "page",
	                         .metric = "p99_latency_ms",
	                         .op = ">",
	                         .expr = "p99_latency_ms > 250",
	                         .window = "1m",
	                         .summary = "p99 high",
	                         .description = "",
	                         .fingerprint = fp,
	                         .value = 300,
	                         .threshold = 250,
	                         .starts_at = created,
	                         .ends_at = strcmp(kind, "resolved") == 0 ? created + 1 : NAN,
	                         .created = created,
	                         .alert_id = 1};
	cr_assert_eq(payload_encode(&n, &json), 0);
	cr_assert_eq(store_outbox_insert(&fx->sa, receiver, 1, kind, json, created), 0, "%s",
	             store_errmsg(&fx->st));
	free(json);
}

static void start(struct fixture *fx)
{
	char err[512];
	cr_assert_eq(notify_start(&fx->nf, &fx->cfg, fx->db, err, sizeof(err)), 0, "%s", err);
}

static int64_t count(struct fixture *fx, const char *receiver, const char *status)
{
	int64_t n = -1;
	cr_assert_eq(store_outbox_count(&fx->sa, receiver, status, &n), 0);
	return n;
}

static bool wait_status(struct fixture *fx, const char *receiver, const char *status, int64_t n,
                        double timeout_s)
{
	double end = h_now() + timeout_s * h_slow();
	while (h_now() < end) {
		if (count(fx, receiver, status) >= n)
			return true;
		h_sleep(0.02);
	}
	return false;
}

Test(notify, backoff_doubles_with_jitter_and_caps)
{
	cr_assert_float_eq(notify_backoff(1, 0.5), 1.0, 1e-9);
	cr_assert_float_eq(notify_backoff(2, 0.5), 2.0, 1e-9);
	cr_assert_float_eq(notify_backoff(3, 0.5), 4.0, 1e-9);
	cr_assert_float_eq(notify_backoff(9, 0.5), 256.0, 1e-9);
	cr_assert_float_eq(notify_backoff(10, 0.5), 300.0, 1e-9);
	cr_assert_float_eq(notify_backoff(1000, 0.99), 300.0, 1e-9);
	cr_assert_float_eq(notify_backoff(3, 0.0), 3.2, 1e-9);
	cr_assert(notify_backoff(3, 0.999) < 4.8);
}

Test(notify, retry_after_seconds_and_http_dates)
{
	double now = 1764072000.0; /* Tue, 25 Nov 2025 12:00:00 GMT */
	cr_assert_float_eq(notify_parse_retry_after("5", now), 5.0, 1e-9);
	cr_assert_float_eq(notify_parse_retry_after(" 120", now), 120.0, 1e-9);
	cr_assert_float_eq(notify_parse_retry_after("Tue, 25 Nov 2025 12:00:30 GMT", now), 30.0,
	                   1e-9);
	cr_assert_float_eq(notify_parse_retry_after("Tue, 25 Nov 2025 11:00:00 GMT", now), 0.0,
	                   1e-9);
	cr_assert_float_eq(notify_parse_retry_after("999999", now), 3600.0, 1e-9);
	cr_assert_eq(notify_parse_retry_after("soon", now), -1);
	cr_assert_eq(notify_parse_retry_after("5x", now), -1);
	cr_assert_eq(notify_parse_retry_after("-5", now), -1);
}

Test(notify, delivers_once_with_a_valid_signature)
{
	struct fixture fx;
	struct http_sink *s = sink_start(0);
	char *url = sink_url(s, "/hook"), buf[200], sig[65];

	fx_init(&fx);
	add_receiver(&fx, "hook", "webhook", url, "s3cret", 5);
	enqueue(&fx, "hook", "firing", clock_now());
	start(&fx);
	cr_assert(wait_status(&fx, "hook", "delivered", 1, 5));
	h_sleep(0.3);
	cr_assert_eq(sink_count(s), 1);
	const struct sink_request *r = sink_request(s, 0);
	cr_assert_str_eq(r->method, "POST");
	cr_assert_str_eq(r->path, "/hook");
	cr_assert_str_eq(sink_header(r, "content-type", buf, sizeof(buf)), "application/json");
	cr_assert(sink_header(r, "x-mlwatch-timestamp", buf, sizeof(buf)));
	cr_assert(fabs(atof(buf) - clock_now()) < 10);
	long long ts = atoll(buf);
	payload_sign("s3cret", ts, r->body, r->len, sig);
	cr_assert(sink_header(r, "x-mlwatch-signature", buf, sizeof(buf)));
	char want[120];
	snprintf(want, sizeof(want), "t=%lld,v1=%s", ts, sig);
	cr_assert_str_eq(buf, want, "the signed timestamp is the header's");
	cr_assert_null(sink_header(r, "x-mlwatch-signature-256", buf, sizeof(buf)),
	               "no body-only (replayable) signature");
	cr_assert(strstr(r->body, "\"version\":\"4\""));
	struct notify_stats st;
	cr_assert_str_eq(notify_receiver_stats(fx.nf, 0, &st), "hook");
	cr_assert_eq(st.sent, 1);
	cr_assert_eq(st.attempts, 1);
	fx_fini(&fx);
	sink_stop(s);
	free(url);
}

Test(notify, retries_5xx_with_exponential_backoff)
{
	struct fixture fx;
	struct http_sink *s = sink_start(0);
	char *url = sink_url(s, "/"), *log;
	struct sink_reply script[] = {{.status = 500}, {.status = 502}, {.status = 503}, {0}};

	sink_script(s, script, 4);
	fx_init(&fx);
	add_receiver(&fx, "hook", "webhook", url, NULL, 5);
	enqueue(&fx, "hook", "firing", clock_now());
	start(&fx);
	cr_assert(wait_status(&fx, "hook", "delivered", 1, 15));
	cr_assert_eq(sink_count(s), 4, "3 failures then one success, no storm");
	double t[4];
	for (int i = 0; i < 4; i++)
		t[i] = sink_request(s, (size_t)i)->at;
	/* Gaps of about 1, 2 and 4 s, each within the +-20% jitter (plus the
	 * time a request takes, which valgrind stretches). */
	double slack = 0.2 * h_slow();
	for (int i = 1; i < 4; i++) {
		double want = ldexp(1.0, i - 1), gap = t[i] - t[i - 1];
		cr_assert(gap > 0.75 * want && gap < 1.3 * want + slack,
		          "gap %d is %.2f s, want ~%.0f", i, gap, want);
	}
	h_sleep(0.2);
	cr_assert_eq(sink_count(s), 4);
	fx_fini(&fx);
	sink_stop(s);
	free(url);
	(void)log;
}

Test(notify, waits_out_429_retry_after)
{
	struct fixture fx;
	struct http_sink *s = sink_start(0);
	char *url = sink_url(s, "/");
	struct sink_reply script[] = {{.status = 429, .retry_after = "2"}, {0}};

	sink_script(s, script, 2);
	fx_init(&fx);
	add_receiver(&fx, "hook", "webhook", url, NULL, 5);
	enqueue(&fx, "hook", "firing", clock_now());
	start(&fx);
	cr_assert(wait_status(&fx, "hook", "delivered", 1, 8));
	cr_assert_eq(sink_count(s), 2);
	double gap = sink_request(s, 1)->at - sink_request(s, 0)->at;
	cr_assert(gap >= 1.95 && gap < 2 + 0.6 * h_slow(), "waited %.2f s for Retry-After: 2", gap);
	fx_fini(&fx);
	sink_stop(s);
	free(url);
}

Test(notify, permanent_4xx_fails_once_and_the_next_row_goes_on)
{
	struct fixture fx;
	struct http_sink *s = sink_start(0);
	char *url = sink_url(s, "/");
	struct sink_reply script[] = {{.status = 400, .body = "bad payload"}, {0}};

	sink_script(s, script, 2);
	fx_init(&fx);
	add_receiver(&fx, "hook", "webhook", url, NULL, 5);
	enqueue(&fx, "hook", "firing", clock_now());
	enqueue(&fx, "hook", "resolved", clock_now());
	start(&fx);
	cr_assert(wait_status(&fx, "hook", "delivered", 1, 5));
	cr_assert_eq(count(&fx, "hook", "failed"), 1);
	cr_assert_eq(sink_count(s), 2, "the 400 is not retried");
	/* In id order: the firing first (refused), then the resolve. */
	cr_assert(strstr(sink_request(s, 0)->body, "\"status\":\"firing\""));
	cr_assert(strstr(sink_request(s, 1)->body, "\"status\":\"resolved\""));
	struct notify_stats st;
	notify_receiver_stats(fx.nf, 0, &st);
	cr_assert_eq(st.failed, 1);
	cr_assert_eq(st.sent, 1);
	fx_fini(&fx);
	sink_stop(s);
	free(url);
}

Test(notify, drops_after_max_age)
{
	struct fixture fx;
	struct http_sink *s = sink_start(0);
	char *url = sink_url(s, "/");

	fx_init(&fx);
	add_receiver(&fx, "hook", "webhook", url, NULL, 5);
	fx.cfg.receivers[0].max_age_ms = 1000;
	enqueue(&fx, "hook", "firing", clock_now() - 5);
	enqueue(&fx, "hook", "resolved", clock_now());
	start(&fx);
	cr_assert(wait_status(&fx, "hook", "delivered", 1, 5));
	cr_assert_eq(count(&fx, "hook", "dropped"), 1);
	cr_assert_eq(sink_count(s), 1);
	struct notify_stats st;
	notify_receiver_stats(fx.nf, 0, &st);
	cr_assert_eq(st.dropped, 1);
	fx_fini(&fx);
	sink_stop(s);
	free(url);
}

Test(notify, a_hung_receiver_does_not_delay_another)
{
	struct fixture fx;
	struct http_sink *slow = sink_start(0), *fast = sink_start(0);
	char *su = sink_url(slow, "/"), *fu = sink_url(fast, "/");
	struct sink_reply hang[] = {{.hang = true}};

	sink_script(slow, hang, 1);
	fx_init(&fx);
	add_receiver(&fx, "slow", "webhook", su, NULL, 30);
	add_receiver(&fx, "fast", "webhook", fu, NULL, 5);
	enqueue(&fx, "slow", "firing", clock_now());
	cr_assert_eq(count(&fx, "slow", "pending"), 1, "the alert is queued before the start");
	start(&fx);
	cr_assert(sink_wait(slow, 1, 5), "the slow receiver got its request");
	double t0 = h_now();
	enqueue(&fx, "fast", "firing", clock_now());
	notify_wake(fx.nf);
	cr_assert(sink_wait(fast, 1, 2));
	cr_assert(h_now() - t0 < 0.5 * h_slow(), "fast receiver served in %.3f s", h_now() - t0);
	cr_assert_eq(count(&fx, "slow", "pending"), 1);
	/* Stopping aborts the hung transfer at once and leaves the row pending. */
	t0 = h_now();
	notify_stop(fx.nf);
	fx.nf = NULL;
	cr_assert(h_now() - t0 < 2 * h_slow(), "stop took %.2f s", h_now() - t0);
	cr_assert_eq(count(&fx, "slow", "pending"), 1);
	fx_fini(&fx);
	sink_stop(slow);
	sink_stop(fast);
	free(su);
	free(fu);
}

Test(notify, slack_sends_at_most_one_message_per_second)
{
	struct fixture fx;
	struct http_sink *s = sink_start(0);
	char *url = sink_url(s, "/services/T/B/X");

	fx_init(&fx);
	add_receiver(&fx, "chat", "slack", url, NULL, 5);
	for (int i = 0; i < 3; i++)
		enqueue(&fx, "chat", "firing", clock_now());
	start(&fx);
	cr_assert(wait_status(&fx, "chat", "delivered", 3, 6));
	cr_assert_eq(sink_count(s), 3);
	for (size_t i = 1; i < 3; i++) {
		double gap = sink_request(s, i)->at - sink_request(s, i - 1)->at;
		cr_assert(gap >= 0.95, "slack messages %.3f s apart", gap);
	}
	cr_assert(strstr(sink_request(s, 0)->body, "\"text\":\"[FIRING:page] r1: p99 high\""));
	fx_fini(&fx);
	sink_stop(s);
	free(url);
}

Test(notify, bad_secret_file_is_a_start_error)
{
	struct fixture fx;
	char err[512];

	fx_init(&fx);
	add_receiver(&fx, "hook", "webhook", "http://127.0.0.1:1/", NULL, 5);
	free(fx.cfg.receivers[0].secret_file);
	fx.cfg.receivers[0].secret_file = strdup("/nonexistent/secret");
	cr_assert_eq(notify_start(&fx.nf, &fx.cfg, fx.db, err, sizeof(err)), -1);
	cr_assert(strstr(err, "[receiver hook] secret_file: "), "%s", err);
	cr_assert_null(fx.nf);
	fx_fini(&fx);
}
