/* The agent's HTTP input against a fake collector: every accepted event is
 * counted and forwarded, labels too, in every body shape (object, array,
 * NDJSON, chunked via libcurl and via the curl CLI); bad requests get the
 * contract's status codes and keep nothing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/agent_proc.h"
#include "../lib/fake_collector.h"
#include "../lib/harness.h"

static struct agent_proc ag;
static struct fake_collector *fc;

static void setup(void)
{
	cr_assert_eq(ap_init(&ag, "agent-http"), 0);
	fc = fc_start(ag.collector);
	cr_assert_not_null(fc);
	cr_assert_eq(ap_start(&ag, NULL), 0, "agent did not start; see %s", ag.log);
}

static void teardown(void)
{
	if (ag.p.pid > 0)
		cr_expect_eq(ap_stop(&ag), 0, "agent exit status");
	fc_free(fc);
	ap_cleanup(&ag);
}

/* n events "{"model":"m","id":"<prefix>-i",...}" joined by sep, wrapped. */
static char *events(const char *prefix, int n, const char *open, const char *sep, const char *close)
{
	size_t cap = (size_t)n * 200 + 16, len = 0;
	char *s = malloc(cap);
	len += (size_t)snprintf(s + len, cap - len, "%s", open);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(s + len, cap - len,
		                        "%s{\"model\":\"m\",\"id\":\"%s-%d\",\"latency_ms\":%d.5,"
		                        "\"features\":{\"amount\":%d,\"country\":\"DE\"},"
		                        "\"prediction\":\"fraud\",\"score\":0.5}",
		                        i ? sep : "", prefix, i, i % 50, i);
	snprintf(s + len, cap - len, "%s", close);
	return s;
}

Test(agent_http, every_body_shape_is_counted_and_forwarded, .init = setup, .fini = teardown)
{
	char *resp = NULL;
	char *one = events("one", 1, "", "", "");
	char *arr = events("arr", 3, "[", ",", "]");
	char *nd = events("nd", 5, "", "\n", "\n");
	char *big = events("chunk", 200, "[", ",", "]");
	const char *ndh[] = {"Content-Type: application/x-ndjson", NULL};

	cr_assert_eq(ap_post(&ag, "/v1/events", one, strlen(one), NULL, false, &resp), 202);
	cr_expect_str_eq(resp, "{\"accepted\":1,\"sampled\":1}\n");
	free(resp);
	cr_assert_eq(ap_post(&ag, "/v1/events", arr, strlen(arr), NULL, false, &resp), 202);
	cr_expect_str_eq(resp, "{\"accepted\":3,\"sampled\":3}\n");
	free(resp);
	cr_assert_eq(ap_post(&ag, "/v1/events", nd, strlen(nd), ndh, false, &resp), 202);
	cr_expect_str_eq(resp, "{\"accepted\":5,\"sampled\":5}\n");
	free(resp);
	cr_assert_eq(ap_post(&ag, "/v1/events", big, strlen(big), NULL, true, &resp), 202);
	cr_expect_str_eq(resp, "{\"accepted\":200,\"sampled\":200}\n");
	free(resp);

	cr_assert(fc_wait_events(fc, 209, 10), "collector got %zu of 209", fc_events(fc));
	cr_assert(fc_wait_counted(fc, 209, 5));
	cr_expect_eq(fc_events(fc), 209);
	cr_expect_eq(fc_summary_count(fc), 209);
	cr_expect_eq(fc_sketch_count(fc), 209, "every latency is in a sketch");
	cr_expect_eq(fc_invalid(fc), 0);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_events_received_total", NULL), 209);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_events_sampled_total", NULL), 209);
	cr_expect(ap_wait_metric(&ag, "mlwatch_agent_events_sent_total", NULL, 209, 5));
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_collector_connected", NULL), 1);

	size_t n;
	struct fc_event *ev = fc_events_copy(fc, &n);
	bool found = false;
	for (size_t i = 0; i < n; i++)
		if (ev[i].id && strcmp(ev[i].id, "chunk-7") == 0) {
			found = true;
			cr_expect_str_eq(ev[i].model, "m");
			cr_expect_eq(ev[i].n_features, 2);
			cr_expect_str_eq(ev[i].prediction, "fraud");
			cr_expect_float_eq(ev[i].latency_ms, 7.5, 1e-9);
		}
	cr_expect(found, "event chunk-7 reached the collector");
	fc_events_free(ev, n);
	free(one);
	free(arr);
	free(nd);
	free(big);
}

Test(agent_http, curl_cli_chunked_upload, .init = setup, .fini = teardown)
{
	char path[700], cmd[2048];
	char *body = events("cli", 50, "", "\n", "\n");

	snprintf(path, sizeof(path), "%s/body.ndjson", ag.dir);
	cr_assert_eq(h_write_file(path, body, strlen(body)), 0);
	snprintf(cmd, sizeof(cmd),
	         "curl -s -o %s/out.json -w '%%{http_code}' -H 'Transfer-Encoding: chunked' "
	         "-H 'Content-Type: application/x-ndjson' --data-binary @%s %s/v1/events",
	         ag.dir, path, ag.http);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	char code[16] = "";
	cr_assert_not_null(fgets(code, sizeof(code), p));
	pclose(p);
	cr_expect_str_eq(code, "202");
	snprintf(path, sizeof(path), "%s/out.json", ag.dir);
	char *out = h_read_file(path, NULL);
	cr_assert_not_null(out);
	cr_expect_str_eq(out, "{\"accepted\":50,\"sampled\":50}\n");
	cr_expect(fc_wait_events(fc, 50, 10));
	free(out);
	free(body);
}

Test(agent_http, labels_are_forwarded, .init = setup, .fini = teardown)
{
	const char *lb = "[{\"model\":\"m\",\"id\":\"a\",\"label\":\"fraud\"},"
	                 "{\"model\":\"m\",\"id\":\"b\",\"label\":1}]";
	char *resp = NULL;

	cr_assert_eq(ap_post(&ag, "/v1/labels", lb, strlen(lb), NULL, false, &resp), 202);
	cr_expect_str_eq(resp, "{\"accepted\":2,\"sampled\":2}\n");
	free(resp);
	for (int i = 0; i < 200 && fc_labels(fc) < 2; i++)
		h_sleep(0.05);
	size_t n;
	struct fc_label *l = fc_labels_copy(fc, &n);
	cr_assert_eq(n, 2);
	cr_expect_str_eq(l[0].id, "a");
	cr_expect_str_eq(l[0].label, "fraud");
	cr_expect_str_eq(l[1].label, "1");
	fc_labels_free(l, n);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_labels_received_total", NULL), 2);
}

Test(agent_http, malformed_request_is_400_and_keeps_nothing, .init = setup, .fini = teardown)
{
	const char *bad = "[{\"model\":\"m\",\"id\":\"ok\"},{\"model\":\"m\",\"latency_ms\":-1}]";
	/* an array of numbers is a vector feature (issue 19); of strings, not */
	const char *kind = "{\"model\":\"m\",\"features\":{\"a\":[\"x\",2]}}";
	const char *junk = "{\"model\": ";
	const char *good = "{\"model\":\"m\",\"id\":\"after\"}";
	char *resp = NULL;

	cr_assert_eq(ap_post(&ag, "/v1/events", bad, strlen(bad), NULL, false, &resp), 400);
	cr_expect_str_eq(resp, "{\"error\":\"[1].latency_ms: must be a finite number >= "
	                       "0\",\"index\":1,\"field\":\"latency_ms\"}\n");
	free(resp);
	cr_assert_eq(ap_post(&ag, "/v1/events", kind, strlen(kind), NULL, false, &resp), 400);
	cr_expect(strstr(resp, "\"field\":\"features.a\"") != NULL, "%s", resp);
	free(resp);
	cr_assert_eq(ap_post(&ag, "/v1/events", junk, strlen(junk), NULL, false, &resp), 400);
	cr_expect(strstr(resp, "invalid JSON") != NULL, "%s", resp);
	free(resp);
	cr_assert_eq(ap_post(&ag, "/v1/labels", good, strlen(good), NULL, false, &resp), 400,
	             "a label without a label value");
	free(resp);
	cr_assert_eq(ap_post(&ag, "/v1/events", good, strlen(good), NULL, false, NULL), 202);
	cr_assert(fc_wait_events(fc, 1, 10));
	h_sleep(0.3);
	size_t n;
	struct fc_event *ev = fc_events_copy(fc, &n);
	cr_expect_eq(n, 1, "only the good request's event arrives");
	cr_expect_str_eq(ev[0].id, "after");
	fc_events_free(ev, n);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_events_received_total", NULL), 1);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_rejected_total", "reason=\"malformed\""), 4);
}

Test(agent_http, endpoints_and_methods, .init = setup, .fini = teardown)
{
	struct h_http r;
	char url[128];

	snprintf(url, sizeof(url), "%s/healthz", ag.http);
	cr_assert_eq(h_http("GET", url, NULL, 0, NULL, false, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(r.body, "ok\n");
	h_http_free(&r);
	snprintf(url, sizeof(url), "%s/v1/events", ag.http);
	cr_assert_eq(h_http("GET", url, NULL, 0, NULL, false, &r), 0);
	cr_expect_eq(r.status, 405);
	cr_expect(strstr(r.headers, "Allow: POST") != NULL);
	h_http_free(&r);
	snprintf(url, sizeof(url), "%s/nope", ag.http);
	cr_assert_eq(h_http("POST", url, "{}", 2, NULL, false, &r), 0);
	cr_expect_eq(r.status, 404);
	h_http_free(&r);
	snprintf(url, sizeof(url), "%s/metrics", ag.http);
	cr_assert_eq(h_http("GET", url, NULL, 0, NULL, false, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body, "# TYPE mlwatch_agent_events_received_total counter") != NULL);
	cr_expect(strstr(r.body, "mlwatch_agent_spool_bytes ") != NULL);
	h_http_free(&r);
	if (system("command -v promtool >/dev/null 2>&1") == 0) {
		char cmd[300];
		snprintf(cmd, sizeof(cmd), "curl -s %s | promtool check metrics >/dev/null 2>&1",
		         url);
		cr_expect_eq(system(cmd), 0, "promtool check metrics accepts /metrics");
	}
}

Test(agent_http, http_token_is_required_when_configured)
{
	char tok[700], *resp = NULL;
	const char *good[] = {"Authorization: Bearer s3cret", NULL};
	const char *bad[] = {"Authorization: Bearer s3cre", NULL};
	const char *ev = "{\"model\":\"m\",\"id\":\"t\"}";

	cr_assert_eq(ap_init(&ag, "agent-http"), 0);
	fc = fc_start(ag.collector);
	cr_assert_not_null(fc);
	snprintf(tok, sizeof(tok), "%s/http.token", ag.dir);
	cr_assert_eq(h_write_file(tok, "s3cret\n", 7), 0);
	cr_assert_eq(ap_start(&ag, (const char *[]){"--http-token-file", tok, NULL}), 0);
	cr_expect_eq(ap_post(&ag, "/v1/events", ev, strlen(ev), NULL, false, &resp), 401);
	cr_expect(strstr(resp, "token") != NULL, "%s", resp);
	free(resp);
	cr_expect_eq(ap_post(&ag, "/v1/events", ev, strlen(ev), bad, false, NULL), 401);
	cr_expect_eq(ap_post(&ag, "/v1/labels", ev, strlen(ev), bad, false, NULL), 401);
	cr_expect_eq(ap_post(&ag, "/v1/events", ev, strlen(ev), good, false, NULL), 202);
	/* /metrics is behind the same token (issue 21): the read without it is
	 * the fourth refusal. */
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_rejected_total", NULL), -1,
	             "/metrics answered without the token");
	cr_expect_eq(ap_metric_token(&ag, "mlwatch_agent_rejected_total", "reason=\"unauthorized\"",
	                             "s3cret"),
	             4);
	cr_expect_eq(ap_metric_token(&ag, "mlwatch_agent_events_received_total", NULL, "s3cret"),
	             1);
	cr_expect(fc_wait_events(fc, 1, 10));
	teardown();
}
