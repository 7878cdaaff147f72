/* payload: the stored notification round-trips, and each receiver type's
 * body carries the fields its consumer requires (Alertmanager webhook v4,
 * Alertmanager API v2 postable alerts, Slack text + blocks, PagerDuty Events
 * API v2), checked field by field; the HMAC signature matches an
 * independent implementation (openssl dgst). */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../collector/payload.h"
#include "../lib/harness.h"
#include "clock.h"

static struct notification sample(const char *kind)
{
	static char fp[17];
	payload_fingerprint("fraud-p99", "fraud", "", fp);
	struct notification n = {
	    .kind = (char *)kind,
	    .rule = "fraud-p99",
	    .model = "fraud",
	    .feature = "",
	    .severity = "page",
	    .metric = "p99_latency_ms",
	    .op = ">",
	    .expr = "p99_latency_ms > 250",
	    .window = "1m",
	    .summary = "p99 latency of fraud is 312.5 ms <&>",
	    .description = "check the GPU pool",
	    .fingerprint = fp,
	    .value = 312.5,
	    .threshold = 250,
	    .starts_at = 1764072000.0,
	    .ends_at = strcmp(kind, "resolved") == 0 ? 1764072300.0 : NAN,
	    .created = 1764072001.0,
	    .alert_id = 17,
	};
	return n;
}

static const struct payload_ctx ctx = {"oncall", "https://mlwatch.example/", "R0UTINGKEY",
                                       "/usr/bin/mlwatch", "/var/lib/mlwatch/my db"};

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(cJSON_IsString(v), "'%s' is not a string", k);
	return v->valuestring;
}

static const cJSON *obj(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	cr_assert(v, "'%s' missing", k);
	return v;
}

Test(payload, stored_form_round_trips)
{
	struct notification n = sample("firing"), back;
	char *json, err[256];

	cr_assert_eq(payload_encode(&n, &json), 0);
	cr_assert_eq(payload_decode(json, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(back.kind, "firing");
	cr_assert_str_eq(back.rule, "fraud-p99");
	cr_assert_str_eq(back.summary, n.summary);
	cr_assert_str_eq(back.fingerprint, n.fingerprint);
	cr_assert_float_eq(back.value, 312.5, 1e-9);
	cr_assert(isnan(back.ends_at), "NaN ends_at survives as null");
	cr_assert_eq(back.alert_id, 17);
	payload_free(&back);
	free(json);

	cr_assert_eq(payload_decode("[1]", &back, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "notification is not a JSON object");
	cr_assert_eq(payload_decode("{\"kind\": \"firing\"}", &back, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "notification has no string 'rule'");
}

/* Found by fuzz_payload under UBSan: an alert_id past int64 (the outbox is
 * outside input) was converted to int64_t, which is undefined; now it is
 * refused with the field named. */
Test(payload, alert_id_out_of_range_is_refused)
{
	struct notification n = sample("firing"), back;
	char *json, err[256];

	cr_assert_eq(payload_encode(&n, &json), 0);
	cJSON *o = cJSON_Parse(json);
	free(json);
	cr_assert(o);
	cJSON_ReplaceItemInObjectCaseSensitive(o, "alert_id", cJSON_CreateNumber(8.9e71));
	json = cJSON_PrintUnformatted(o);
	cr_assert_eq(payload_decode(json, &back, err, sizeof(err)), -1);
	cr_assert_str_eq(err, "notification's 'alert_id' is out of range");
	free(json);
	cJSON_ReplaceItemInObjectCaseSensitive(o, "alert_id", cJSON_CreateNumber(-1e19));
	json = cJSON_PrintUnformatted(o);
	cr_assert_eq(payload_decode(json, &back, err, sizeof(err)), -1);
	free(json);
	cJSON_ReplaceItemInObjectCaseSensitive(o, "alert_id", cJSON_CreateNumber(42));
	json = cJSON_PrintUnformatted(o);
	cr_assert_eq(payload_decode(json, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back.alert_id, 42);
	payload_free(&back);
	free(json);
	cJSON_Delete(o);
}

/* A "nodata" notice (notify_nodata) is stored, read back by the notifier and
 * sent with status firing: the alert has not ended. */
Test(payload, nodata_notice_decodes_and_is_firing)
{
	struct notification n = sample("nodata"), back;
	char *json, err[256];

	cr_assert_eq(payload_encode(&n, &json), 0);
	cr_assert_eq(payload_decode(json, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(back.kind, "nodata");
	char *body = payload_render(RECEIVER_WEBHOOK, &back, &ctx);
	cJSON *root = cJSON_Parse(body);
	cr_assert(root, "%s", body);
	cr_assert_str_eq(str(root, "status"), "firing");
	cJSON_Delete(root);
	free(body);
	payload_free(&back);
	free(json);
}

Test(payload, fingerprint_is_stable_and_distinct)
{
	char a[17], b[17], c[17];
	payload_fingerprint("r", "m", "f", a);
	payload_fingerprint("r", "m", "f", b);
	payload_fingerprint("r", "mf", "", c);
	cr_assert_str_eq(a, b);
	cr_assert_str_neq(a, c);
	cr_assert_eq(strlen(a), 16);
	cr_assert_eq(strspn(a, "0123456789abcdef"), 16);
}

Test(payload, webhook_is_alertmanager_v4)
{
	struct notification n = sample("firing");
	char *body = payload_render(RECEIVER_WEBHOOK, &n, &ctx);
	cJSON *root = cJSON_Parse(body);

	cr_assert(root, "%s", body);
	cr_assert_str_eq(str(root, "version"), "4");
	cr_assert_str_eq(str(root, "status"), "firing");
	cr_assert_str_eq(str(root, "receiver"), "oncall");
	cr_assert_str_eq(str(root, "externalURL"), "https://mlwatch.example/");
	cr_assert_str_eq(str(obj(root, "groupLabels"), "alertname"), "fraud-p99");
	const cJSON *cl = obj(root, "commonLabels");
	cr_assert_str_eq(str(cl, "alertname"), "fraud-p99");
	cr_assert_str_eq(str(cl, "model"), "fraud");
	cr_assert_str_eq(str(cl, "severity"), "page");
	cr_assert_null(cJSON_GetObjectItem(cl, "feature"), "no feature label for a model alert");
	cr_assert_str_eq(str(obj(root, "commonAnnotations"), "summary"), n.summary);
	const cJSON *alerts = obj(root, "alerts");
	cr_assert_eq(cJSON_GetArraySize(alerts), 1);
	const cJSON *a = cJSON_GetArrayItem(alerts, 0);
	cr_assert_str_eq(str(a, "status"), "firing");
	cr_assert_str_eq(str(obj(a, "labels"), "alertname"), "fraud-p99");
	cr_assert_str_eq(str(obj(a, "annotations"), "summary"), n.summary);
	cr_assert_str_eq(str(obj(a, "annotations"), "description"), "check the GPU pool");
	cr_assert_str_eq(str(obj(a, "annotations"), "value"), "312.5");
	cr_assert_str_eq(str(a, "startsAt"), "2025-11-25T12:00:00.000Z");
	cr_assert_str_eq(str(a, "endsAt"), "0001-01-01T00:00:00Z");
	cr_assert_str_eq(str(a, "generatorURL"),
	                 "https://mlwatch.example/alerts?rule=fraud-p99&model=fraud");
	cr_assert_str_eq(str(a, "fingerprint"), n.fingerprint);
	cJSON_Delete(root);
	free(body);

	n = sample("resolved");
	n.feature = "amount";
	body = payload_render(RECEIVER_WEBHOOK, &n, &ctx);
	root = cJSON_Parse(body);
	cr_assert_str_eq(str(root, "status"), "resolved");
	a = cJSON_GetArrayItem(obj(root, "alerts"), 0);
	cr_assert_str_eq(str(a, "status"), "resolved");
	cr_assert_str_eq(str(a, "endsAt"), "2025-11-25T12:05:00.000Z");
	cr_assert_str_eq(str(obj(a, "labels"), "feature"), "amount");
	cJSON_Delete(root);
	free(body);
}

Test(payload, alertmanager_postable_alerts)
{
	struct notification n = sample("firing");
	char *body = payload_render(RECEIVER_ALERTMANAGER, &n, &ctx);
	cJSON *root = cJSON_Parse(body);
	char *url = payload_url(RECEIVER_ALERTMANAGER, "http://am:9093/");

	cr_assert_str_eq(url, "http://am:9093/api/v2/alerts");
	free(url);
	cr_assert(cJSON_IsArray(root), "%s", body);
	cr_assert_eq(cJSON_GetArraySize(root), 1);
	const cJSON *a = cJSON_GetArrayItem(root, 0);
	cr_assert_str_eq(str(obj(a, "labels"), "alertname"), "fraud-p99");
	cr_assert_str_eq(str(obj(a, "annotations"), "summary"), n.summary);
	cr_assert_str_eq(str(a, "startsAt"), "2025-11-25T12:00:00.000Z");
	cr_assert_null(cJSON_GetObjectItem(a, "endsAt"), "no endsAt while firing");
	cr_assert_str_eq(str(a, "generatorURL"),
	                 "https://mlwatch.example/alerts?rule=fraud-p99&model=fraud");
	cJSON_Delete(root);
	free(body);

	n = sample("resolved");
	struct payload_ctx noext = {"am", "", NULL, NULL, NULL};
	body = payload_render(RECEIVER_ALERTMANAGER, &n, &noext);
	root = cJSON_Parse(body);
	a = cJSON_GetArrayItem(root, 0);
	cr_assert_str_eq(str(a, "endsAt"), "2025-11-25T12:05:00.000Z");
	cr_assert_null(cJSON_GetObjectItem(a, "generatorURL"), "no URI without external_url");
	cJSON_Delete(root);
	free(body);
}

Test(payload, slack_text_and_blocks)
{
	struct notification n = sample("firing");
	n.feature = "amount";
	char *body = payload_render(RECEIVER_SLACK, &n, &ctx);
	cJSON *root = cJSON_Parse(body);

	cr_assert(root, "%s", body);
	cr_assert_str_eq(str(root, "text"),
	                 "[FIRING:page] fraud-p99: p99 latency of fraud is 312.5 ms <&>");
	const cJSON *blocks = obj(root, "blocks");
	cr_assert_eq(cJSON_GetArraySize(blocks), 2);
	const cJSON *b0 = cJSON_GetArrayItem(blocks, 0);
	cr_assert_str_eq(str(b0, "type"), "section");
	cr_assert_str_eq(str(obj(b0, "text"), "type"), "mrkdwn");
	cr_assert_str_eq(
	    str(obj(b0, "text"), "text"),
	    "*[FIRING:page] fraud-p99*\np99 latency of fraud is 312.5 ms &lt;&amp;&gt;\n"
	    "check the GPU pool");
	const cJSON *b1 = cJSON_GetArrayItem(blocks, 1);
	cr_assert_str_eq(str(b1, "type"), "context");
	const char *ctxt = str(cJSON_GetArrayItem(obj(b1, "elements"), 0), "text");
	cr_assert(strstr(ctxt, "model *fraud* feature *amount* · p99_latency_ms 312.5 > 250 (1m)"),
	          "%s", ctxt);
	cr_assert(
	    strstr(ctxt, "<https://mlwatch.example/alerts?rule=fraud-p99&model=fraud|mlwatch>"),
	    "%s", ctxt);
	cJSON_Delete(root);
	free(body);

	n = sample("resolved");
	body = payload_render(RECEIVER_SLACK, &n, &ctx);
	root = cJSON_Parse(body);
	cr_assert_eq(strncmp(str(root, "text"), "[RESOLVED:page] fraud-p99: ", 27), 0);
	cJSON_Delete(root);
	free(body);
}

/* A stored notification is outside input: a metric (or op) of any length
 * must fit the context line (found by fuzz_payload: a heap overflow). */
Test(payload, slack_context_line_fits_a_long_metric)
{
	struct notification n = sample("firing");
	static char metric[4001];
	memset(metric, 'm', sizeof(metric) - 1);
	n.metric = metric;
	n.op = ">=";
	char *body = payload_render(RECEIVER_SLACK, &n, &ctx);
	cr_assert_not_null(body);
	cJSON *root = cJSON_Parse(body);
	cr_assert(root, "%s", body);
	const cJSON *b1 = cJSON_GetArrayItem(obj(root, "blocks"), 1);
	const char *ctxt = str(cJSON_GetArrayItem(obj(b1, "elements"), 0), "text");
	cr_assert(strstr(ctxt, metric) && strstr(ctxt, "|mlwatch>"), "context line cut: %.80s...",
	          ctxt);
	cJSON_Delete(root);
	free(body);
}

Test(payload, pagerduty_events_v2)
{
	struct notification n = sample("firing");
	char *body = payload_render(RECEIVER_PAGERDUTY, &n, &ctx);
	cJSON *root = cJSON_Parse(body);
	char *url = payload_url(RECEIVER_PAGERDUTY, "");

	cr_assert_str_eq(url, "https://events.pagerduty.com/v2/enqueue");
	free(url);
	cr_assert(root, "%s", body);
	cr_assert_str_eq(str(root, "routing_key"), "R0UTINGKEY");
	cr_assert_str_eq(str(root, "event_action"), "trigger");
	cr_assert_str_eq(str(root, "dedup_key"), n.fingerprint);
	const cJSON *p = obj(root, "payload");
	cr_assert_str_eq(str(p, "summary"), n.summary);
	cr_assert_str_eq(str(p, "source"), "fraud");
	cr_assert_str_eq(str(p, "severity"), "critical");
	cr_assert_str_eq(str(p, "timestamp"), "2025-11-25T12:00:00.000Z");
	cr_assert_str_eq(str(obj(p, "custom_details"), "expr"), "p99_latency_ms > 250");
	cr_assert_str_eq(str(cJSON_GetArrayItem(obj(root, "links"), 0), "href"),
	                 "https://mlwatch.example/alerts?rule=fraud-p99&model=fraud");
	cJSON_Delete(root);
	free(body);

	n = sample("resolved");
	n.severity = "warn";
	body = payload_render(RECEIVER_PAGERDUTY, &n, &ctx);
	root = cJSON_Parse(body);
	cr_assert_str_eq(str(root, "event_action"), "resolve");
	cr_assert_str_eq(str(root, "dedup_key"), n.fingerprint);
	cr_assert_str_eq(str(obj(root, "payload"), "severity"), "warning");
	cJSON_Delete(root);
	free(body);
	n.severity = "info";
	body = payload_render(RECEIVER_PAGERDUTY, &n, &ctx);
	root = cJSON_Parse(body);
	cr_assert_str_eq(str(obj(root, "payload"), "severity"), "info");
	cJSON_Delete(root);
	free(body);

	/* A summary longer than PagerDuty's 1024 characters is cut. */
	char big[3000];
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	n.summary = big;
	body = payload_render(RECEIVER_PAGERDUTY, &n, &ctx);
	root = cJSON_Parse(body);
	cr_assert_eq(strlen(str(obj(root, "payload"), "summary")), 1023);
	cJSON_Delete(root);
	free(body);
}

Test(payload, signature_matches_openssl)
{
	const char *body = "{\"version\":\"4\",\"status\":\"firing\"}";
	char sig[65], cmd[1024], line[256] = "";
	char *dir = h_tmpdir("payload"), *path;
	FILE *p;

	/* What a receiver verifies: HMAC over "timestamp.body". */
	char signed_text[128];
	payload_sign("s3cret", 1764000000, body, strlen(body), sig);
	snprintf(signed_text, sizeof(signed_text), "1764000000.%s", body);
	cr_assert(asprintf(&path, "%s/body", dir) > 0);
	cr_assert_eq(h_write_file(path, signed_text, strlen(signed_text)), 0);
	snprintf(cmd, sizeof(cmd), "openssl dgst -sha256 -hmac s3cret -r %s", path);
	p = popen(cmd, "r");
	cr_assert(p);
	cr_assert(fgets(line, sizeof(line), p));
	pclose(p);
	cr_assert_eq(strncmp(line, sig, 64), 0, "openssl says %s, we say %s", line, sig);

	/* The same secret over a tampered body gives another digest. */
	char sig2[65];
	payload_sign("s3cret", 1764000000, "{\"version\":\"4\",\"status\":\"resolved\"}", 35, sig2);
	cr_assert_str_neq(sig, sig2);
	/* So does the same body at another time. */
	payload_sign("s3cret", 1764000001, body, strlen(body), sig2);
	cr_assert_str_neq(sig, sig2);
	h_rmtree(dir);
	free(dir);
	free(path);
}

/* exec: the notification as one object, with the window and a ready export
 * command line that selects exactly it; webhook carries the same. */
Test(payload, exec_and_webhook_carry_window_and_export_command)
{
	struct notification n = sample("firing");
	cJSON *root, *ex, *argv, *a;
	char *body, *rt = NULL, err[128];
	struct notification back;

	n.window_start = 1764071940.25;
	n.window_end = 1764072000.5;
	body = payload_render(RECEIVER_EXEC, &n, &ctx);
	cr_assert_not_null(body);
	root = cJSON_Parse(body);
	cr_assert_not_null(root, "exec body is JSON: %s", body);
	cr_expect_str_eq(str(root, "model"), "fraud");
	cr_expect_str_eq(str(root, "rule"), "fraud-p99");
	cr_expect_str_eq(str(root, "kind"), "firing");
	cr_expect_str_eq(str(root, "receiver"), "oncall");
	ex = cJSON_GetObjectItem(root, "window");
	cr_expect_float_eq(cJSON_GetObjectItem(ex, "start_unix")->valuedouble, 1764071940.25, 1e-9);
	cr_expect_float_eq(cJSON_GetObjectItem(ex, "end_unix")->valuedouble, 1764072000.5, 1e-9);
	cr_expect_str_eq(str(ex, "start"), "2025-11-25T11:59:00.250Z");
	argv = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "export"), "argv");
	cr_assert(cJSON_IsArray(argv));
	const char *want[] = {"/usr/bin/mlwatch", "--db",          "/var/lib/mlwatch/my db",
	                      "export",           "--model",       "fraud",
	                      "--from",           "1764071940.25", "--to",
	                      "1764072000.5",     "--format",      "jsonl"};
	cr_assert_eq(cJSON_GetArraySize(argv), 12);
	for (int i = 0; i < 12; i++)
		cr_expect_str_eq(cJSON_GetArrayItem(argv, i)->valuestring, want[i]);
	/* The database path has a blank: quoted for a shell. */
	cr_expect_str_eq(str(cJSON_GetObjectItem(root, "export"), "command"),
	                 "/usr/bin/mlwatch --db '/var/lib/mlwatch/my db' export --model fraud "
	                 "--from 1764071940.25 --to 1764072000.5 --format jsonl");
	cJSON_Delete(root);
	free(body);

	body = payload_render(RECEIVER_WEBHOOK, &n, &ctx);
	root = cJSON_Parse(body);
	a = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "alerts"), 0),
	                        "annotations");
	cr_expect_str_eq(str(a, "window_end"), "2025-11-25T12:00:00.500Z");
	cr_expect(strstr(str(a, "export_command"), "--from 1764071940.25 --to 1764072000.5"));
	cJSON_Delete(root);
	free(body);

	/* The stored form keeps the window; a row stored without one has none. */
	cr_assert_eq(payload_encode(&n, &rt), 0);
	cr_assert_eq(payload_decode(rt, &back, err, sizeof(err)), 0, "%s", err);
	cr_expect_float_eq(back.window_start, 1764071940.25, 1e-9);
	cr_expect_float_eq(back.window_end, 1764072000.5, 1e-9);
	payload_free(&back);
	free(rt);
	n.window_start = n.window_end = NAN;
	body = payload_render(RECEIVER_EXEC, &n, &ctx);
	root = cJSON_Parse(body);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(root, "export")));
	cJSON_Delete(root);
	free(body);
}

/* On PostgreSQL the export command carries the URI without its password:
 * the command goes to webhook receivers and onto a command line that other
 * users' `ps` shows. */
Test(payload, export_command_never_carries_a_database_password)
{
	struct notification n = sample("firing");
	struct payload_ctx pg = ctx;
	const char *kinds[] = {"exec", "webhook"};
	enum receiver_type types[] = {RECEIVER_EXEC, RECEIVER_WEBHOOK};

	pg.db_path = "postgresql://mlw:s3cret@db.example/mlwatch?password=other";
	n.window_start = 1764071940.25;
	n.window_end = 1764072000.5;
	for (int i = 0; i < 2; i++) {
		char *body = payload_render(types[i], &n, &pg);
		cr_assert_not_null(body, "%s", kinds[i]);
		cr_expect_null(strstr(body, "s3cret"), "%s: %s", kinds[i], body);
		cr_expect_null(strstr(body, "other"), "%s: %s", kinds[i], body);
		cr_expect_not_null(strstr(body, "postgresql://mlw@db.example/mlwatch"), "%s: %s",
		                   kinds[i], body);
		free(body);
	}
}
