/* textlog: TorchServe access lines and Ray Serve replica lines (text and
 * JSON encodings) become events with model, latency, error and local
 * time; the lines that are not one request (step timings, host counters,
 * the proxy's copy, user logs) are ignored; broken access lines refused
 * with the field and the reason. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bentoml.h"
#include "clock.h"
#include "textlog.h"

#define NOW 1800000000.0

static struct event_batch eb;
static struct event_error err;

static void setup(void)
{
	char e[200];
	cr_assert_eq(bentoml_set_timezone("UTC", e, sizeof(e)), 0, "%s", e);
	event_batch_init(&eb);
}

static void teardown(void)
{
	event_batch_reset(&eb);
}

TestSuite(textlog, .init = setup, .fini = teardown);

static int line(enum textlog_kind k, const char *l)
{
	memset(&err, 0, sizeof(err));
	return textlog_line(k, l, strlen(l), NOW, &eb, &err);
}

static double utc(const char *s)
{
	double t;
	cr_assert_eq(clock_parse_rfc3339(s, &t), 0, "%s", s);
	return t;
}

Test(textlog, torchserve_access_lines)
{
	cr_assert_eq(line(TEXTLOG_TORCHSERVE,
	                  "2018-10-15 13:56:18,976 [INFO ] BackendWorker-9000 ACCESS_LOG - "
	                  "/127.0.0.1:64003 \"POST /predictions/resnet-18 HTTP/1.1\" 200 118"),
	             0, "%s: %s", err.field, err.reason);
	cr_assert_eq(eb.n_events, 1);
	const struct event *e = &eb.events[0];
	cr_expect_str_eq(e->model, "resnet-18");
	cr_expect_null(e->version);
	cr_expect(e->has_latency && e->latency_ms == 118);
	cr_expect_not(e->error);
	cr_expect(e->ts_given && fabs(e->ts - utc("2018-10-15T13:56:18.976Z")) < 1e-6, "%f", e->ts);

	/* Versions, the KServe-style paths, a failed request. */
	cr_expect_eq(line(TEXTLOG_TORCHSERVE,
	                  "2024-01-01T00:00:00,001 [INFO ] W ACCESS_LOG - /10.0.0.1:1 "
	                  "\"POST /predictions/mnist/2.0?x=1 HTTP/1.1\" 503 7.5"),
	             0, "%s", err.reason);
	cr_expect_eq(line(TEXTLOG_TORCHSERVE, "2024-01-01 00:00:00,001 [INFO ] W ACCESS_LOG - /a:1 "
	                                      "\"POST /v1/models/bert:predict HTTP/1.1\" 200 3"),
	             0);
	cr_expect_eq(line(TEXTLOG_TORCHSERVE,
	                  "2024-01-01 00:00:00,001 [INFO ] W ACCESS_LOG - /a:1 "
	                  "\"POST /v2/models/bert/versions/3/infer HTTP/1.1\" 200 4"),
	             0);
	cr_assert_eq(eb.n_events, 4);
	cr_expect_str_eq(eb.events[1].model, "mnist");
	cr_expect_str_eq(eb.events[1].version, "2.0");
	cr_expect(eb.events[1].error && eb.events[1].latency_ms == 7.5);
	cr_expect_str_eq(eb.events[2].model, "bert");
	cr_expect_str_eq(eb.events[3].version, "3");
}

Test(textlog, torchserve_lines_that_are_not_a_prediction_are_ignored)
{
	const char *ignored[] = {
	    "2018-10-15 13:56:18,976 [INFO ] W ACCESS_LOG - /a:1 \"GET /ping HTTP/1.1\" 200 1",
	    "2018-10-15 13:56:18,976 [INFO ] W ACCESS_LOG - /a:1 \"GET /models HTTP/1.1\" 200 1",
	    "2024-02-03T00:54:31,155 [INFO ] W-9000-densenet161_1.0-stdout "
	    "org.pytorch.serve.wlm.WorkerLifeCycle - result=[METRICS]ts_handler_inference."
	    "Milliseconds:18.77|#ModelName:densenet161,Level:Model|#type:GAUGE|#hostname:h,"
	    "1706921671,c02b3170-c8fc-4396-857d-6c6266bf94a9, pattern=[METRICS]",
	    "2024-05-30T21:41:47,099 [INFO ] epollEventLoopGroup-3-2 TS_METRICS - "
	    "Requests2XX.Count:1.0|#Level:Host|#hostname:ip-172-31-11-32,timestamp:1717105307",
	};
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		cr_expect_eq(line(TEXTLOG_TORCHSERVE, ignored[i]), 1, "line %zu", i);
	cr_expect_eq(eb.n_events, 0);
}

Test(textlog, broken_torchserve_access_lines_are_refused)
{
	static const struct {
		const char *l, *field, *reason;
	} cases[] = {
	    {"x ACCESS_LOG - /a:1 POST /predictions/m 200 1", "request", "no quoted request"},
	    {"x ACCESS_LOG - /a:1 \"POST /predictions/m HTTP/1.1\" 200", "status",
	     "not \"STATUS MILLISECONDS\""},
	    {"x ACCESS_LOG - /a:1 \"POST /predictions/m HTTP/1.1\" 200 1 extra", "status",
	     "not \"STATUS MILLISECONDS\""},
	    {"x ACCESS_LOG - /a:1 \"POST /predictions/m HTTP/1.1\" 999 1", "status", "status 999"},
	    {"x ACCESS_LOG - /a:1 \"POST /predictions/m HTTP/1.1\" 200 -1", "status", "-1 ms"},
	    {"x ACCESS_LOG - /a:1 \"POST\" 200 1", "request", "no path"},
	    /* A name over 64 bytes is refused, not cut. */
	    {"x ACCESS_LOG - /a:1 \"POST /predictions/"
	     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\" "
	     "200 1",
	     "model", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(line(TEXTLOG_TORCHSERVE, cases[i].l), -1, "case %zu", i);
		cr_expect_str_eq(err.field, cases[i].field, "case %zu", i);
		cr_expect(strstr(err.reason, cases[i].reason), "case %zu: %s", i, err.reason);
	}
	cr_expect_eq(eb.n_events, 0);
}

Test(textlog, ray_serve_replica_lines_text_and_json)
{
	cr_assert_eq(line(TEXTLOG_RAY_SERVE,
	                  "(ServeReplica:SayHello pid=71162) INFO 2022-08-02 16:17:02,501 SayHello "
	                  "SayHello#kKGBoa replica.py:482 - HANDLE __call__ OK 0.3ms"),
	             0, "%s", err.reason);
	/* As written in the file (no driver prefix), an app-qualified one. */
	cr_assert_eq(line(TEXTLOG_RAY_SERVE,
	                  "ERROR 2024-03-01 10:00:00,000 Translator Translator#ab12 "
	                  "replica.py:1 - __CALL__ ERROR 12.5ms"),
	             0, "%s", err.reason);
	cr_assert_eq(line(TEXTLOG_RAY_SERVE,
	                  "{\"levelname\": \"INFO\", \"asctime\": \"2024-03-01 10:00:01,250\", "
	                  "\"deployment\": \"Summarizer\", \"replica\": \"Summarizer#x1\", "
	                  "\"request_id\": \"9f2c\", \"route\": \"/sum\", \"component_name\": "
	                  "\"replica\", \"message\": \"POST /sum 500 40.0ms\"}"),
	             0, "%s", err.reason);
	cr_assert_eq(eb.n_events, 3);
	const struct event *e = &eb.events[0];
	cr_expect_str_eq(e->model, "SayHello");
	cr_expect(e->has_latency && fabs(e->latency_ms - 0.3) < 1e-9);
	cr_expect_not(e->error);
	cr_expect(fabs(e->ts - utc("2022-08-02T16:17:02.501Z")) < 1e-6);
	cr_expect_str_eq(eb.events[1].model, "Translator");
	cr_expect(eb.events[1].error && eb.events[1].latency_ms == 12.5);
	e = &eb.events[2];
	cr_expect_str_eq(e->model, "Summarizer");
	cr_expect_str_eq(e->id, "9f2c");
	cr_expect(e->error && e->latency_ms == 40.0);
	cr_expect(fabs(e->ts - utc("2024-03-01T10:00:01.25Z")) < 1e-6);
}

Test(textlog, ray_serve_proxy_and_user_lines_are_ignored)
{
	const char *ignored[] = {
	    "(HTTPProxyActor pid=71150) INFO 2022-08-02 16:17:02,502 http_proxy 127.0.0.1 "
	    "http_proxy.py:315 - GET / 200 3.5ms",
	    "INFO 2022-08-02 16:17:02,502 http_proxy 127.0.0.1 http_proxy.py:315 - GET / 200 3.5ms",
	    "(ServeReplica:SayHello pid=71162) INFO 2022-08-02 16:17:02,501 SayHello "
	    "SayHello#kKGBoa monitoring.py:13 - Hello world!",
	    "{\"deployment\": \"\", \"component_name\": \"proxy\", \"message\": \"GET / 200 "
	    "3.5ms\"}",
	    "{\"deployment\": \"D\", \"component_name\": \"replica\", \"message\": \"loaded\"}",
	    "not a log line",
	};
	for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
		cr_expect_eq(line(TEXTLOG_RAY_SERVE, ignored[i]), 1, "line %zu: %s", i, err.reason);
	cr_expect_eq(line(TEXTLOG_RAY_SERVE, "{\"deployment\": 1"), -1);
	cr_expect_str_eq(err.reason, "not a JSON object");
	cr_expect_eq(eb.n_events, 0);
}
