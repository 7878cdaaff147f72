/* The agent's other inputs against a fake collector: KServe CloudEvents
 * pairs (v1 and v2) become events with features, prediction and latency;
 * unpaired halves expire and are counted; a tailed JSONL file loses and
 * duplicates no line across rename rotation, copytruncate and agent
 * restarts; datagrams (unix and udp) are counted one for one and garbage is
 * counted, not fatal. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "../lib/agent_proc.h"
#include "../lib/fake_collector.h"
#include "../lib/harness.h"
#include "clock.h"

static struct agent_proc ag;
static struct fake_collector *fc;

static void setup(void)
{
	cr_assert_eq(ap_init(&ag, "agent-inputs"), 0);
	fc = fc_start(ag.collector);
	cr_assert_not_null(fc);
}

static void teardown(void)
{
	if (ag.p.pid > 0)
		cr_expect_eq(ap_stop(&ag), 0, "agent exit status");
	fc_free(fc);
	ap_cleanup(&ag);
}

/* ---- KServe ------------------------------------------------------------ */

static long kserve(const char *id, const char *type, double ts, const char *svc, const char *body,
                   char **resp)
{
	char hid[200], htype[200], htime[100], hrec[100], hsvc[200], t[64];
	const char *h[] = {hid,
	                   htype,
	                   htime,
	                   hrec,
	                   hsvc,
	                   "ce-specversion: 1.0",
	                   "ce-source: http://localhost:9081/",
	                   "Content-Type: application/json",
	                   NULL};
	snprintf(hid, sizeof(hid), "ce-id: %s", id);
	snprintf(htype, sizeof(htype), "ce-type: org.kubeflow.serving.inference.%s", type);
	snprintf(htime, sizeof(htime), "ce-time: %s", clock_format_rfc3339(ts, t, sizeof(t)));
	/* KServe v0.18+: Ce-Recordedtime proves ce-time is an occurrence time. */
	snprintf(hrec, sizeof(hrec), "ce-recordedtime: %s", t);
	snprintf(hsvc, sizeof(hsvc), "ce-inferenceservicename: %s", svc);
	return ap_post(&ag, "/v1/kserve", body, strlen(body), h, false, resp);
}

static const struct fc_event *find(const struct fc_event *ev, size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (ev[i].id && strcmp(ev[i].id, id) == 0)
			return &ev[i];
	return NULL;
}

Test(agent_kserve, v1_and_v2_pairs_become_events, .init = setup, .fini = teardown)
{
	double t0 = floor(clock_now()) - 10;
	char *resp;

	cr_assert_eq(ap_start(&ag, NULL), 0);
	cr_assert_eq(kserve("req-1", "request", t0, "sklearn-iris",
	                    "{\"instances\": [[6.8, 2.8, 4.8, 1.4]]}", &resp),
	             202);
	cr_expect_str_eq(resp, "{\"accepted\":0,\"sampled\":0}\n", "a half waits");
	free(resp);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_kserve_pending", NULL), 1);
	cr_assert_eq(kserve("req-1", "response", t0 + 0.012, "sklearn-iris",
	                    "{\"predictions\": [1]}", &resp),
	             202);
	cr_expect_str_eq(resp, "{\"accepted\":1,\"sampled\":1}\n");
	free(resp);

	/* v2, two instances, response first; probabilities as a second output. */
	cr_assert_eq(
	    kserve("v2", "response", t0 + 1.25, "iris-v2",
	           "{\"model_name\":\"iris\",\"model_version\":\"3\",\"outputs\":["
	           "{\"name\":\"predict\",\"shape\":[2],\"datatype\":\"INT64\",\"data\":[1,"
	           "2]},"
	           "{\"name\":\"proba\",\"shape\":[2,3],\"datatype\":\"FP32\",\"data\":["
	           "0.1,0.7,0.2,0.1,0.1,0.8]}]}",
	           NULL),
	    202);
	cr_assert_eq(kserve("v2", "request", t0 + 1, "iris-v2",
	                    "{\"inputs\":[{\"name\":\"input-0\",\"shape\":[2,4],\"datatype\":"
	                    "\"FP32\",\"data\":[[6.8,2.8,4.8,1.4],[6.0,3.4,4.5,1.6]]}]}",
	                    &resp),
	             202);
	cr_expect_str_eq(resp, "{\"accepted\":2,\"sampled\":2}\n");
	free(resp);

	cr_assert(fc_wait_events(fc, 3, 10));
	size_t n;
	struct fc_event *ev = fc_events_copy(fc, &n);
	const struct fc_event *e = find(ev, n, "req-1");
	cr_assert_not_null(e);
	cr_expect_str_eq(e->model, "sklearn-iris");
	cr_expect_eq(e->n_features, 4);
	cr_expect_str_eq(e->first_feature, "x0=6.7999999999999998");
	cr_expect_str_eq(e->prediction, "1");
	cr_expect(e->has_latency);
	cr_expect_float_eq(e->latency_ms, 12, 1e-3);
	cr_expect_float_eq(e->ts, t0, 1e-6);
	e = find(ev, n, "v2/1");
	cr_assert_not_null(e);
	cr_expect_str_eq(e->model, "iris-v2");
	cr_expect_eq(e->n_features, 4);
	cr_expect_str_eq(e->first_feature, "input-0[0]=6");
	cr_expect_str_eq(e->prediction, "2");
	cr_expect(e->has_score);
	cr_expect_float_eq(e->score, 0.8, 1e-6);
	cr_expect_float_eq(e->latency_ms, 250, 1e-3);
	cr_expect_not_null(find(ev, n, "v2/0"));
	fc_events_free(ev, n);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_events_received_total", "input=\"kserve\""), 3);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_kserve_paired_total", NULL), 2);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_kserve_pending", NULL), 0);
}

Test(agent_kserve, unpaired_halves_expire_and_bad_ones_are_400, .init = setup, .fini = teardown)
{
	char *resp;
	cr_assert_eq(ap_start(&ag, (const char *[]){"--kserve-ttl", "1s", NULL}), 0);
	cr_assert_eq(kserve("lonely", "request", clock_now(), "m", "{\"instances\":[[1]]}", NULL),
	             202);
	cr_expect(ap_wait_metric(&ag, "mlwatch_agent_kserve_expired_total", NULL, 1, 5));
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_kserve_pending", NULL), 0);
	/* The logger sends no response half for a failed request: the lone
	 * request half is one error event. */
	cr_expect(ap_wait_metric(&ag, "mlwatch_agent_kserve_orphan_errors_total", NULL, 1, 5));
	cr_assert(fc_wait_events(fc, 1, 10));

	cr_expect_eq(kserve("x", "bogus", clock_now(), "m", "{\"instances\":[[1]]}", &resp), 400);
	cr_expect(strstr(resp, "\"field\":\"ce-type\"") != NULL, "%s", resp);
	free(resp);
	cr_expect_eq(kserve("x", "request", clock_now(), "bad name!", "{\"instances\":[]}", &resp),
	             400);
	cr_expect(strstr(resp, "ce-inferenceservicename") != NULL, "%s", resp);
	free(resp);
	cr_expect_eq(kserve("x", "request", clock_now(), "m", "{\"instances\":", NULL), 400);
	cr_expect_eq(kserve("x", "response", clock_now(), "m", "{\"nothing\":1}", NULL), 400);
	const char *noid[] = {"ce-type: org.kubeflow.serving.inference.request",
	                      "ce-inferenceservicename: m", NULL};
	cr_expect_eq(ap_post(&ag, "/v1/kserve", "{\"instances\":[[1]]}", 19, noid, false, NULL),
	             400);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_rejected_total", "reason=\"malformed\""), 5);
	size_t n;
	struct fc_event *ev = fc_events_copy(fc, &n);
	cr_expect_eq(n, 1, "only the orphan's error event");
	if (n == 1) {
		cr_expect_str_eq(ev[0].id, "lonely");
		cr_expect(ev[0].error);
	}
	fc_events_free(ev, n);
}

/* ---- tail -------------------------------------------------------------- */

static void append_lines(const char *path, int first, int n)
{
	FILE *f = fopen(path, "a");
	cr_assert_not_null(f);
	for (int i = first; i < first + n; i++)
		fprintf(f, "{\"model\":\"m\",\"id\":\"t-%06d\",\"latency_ms\":1}\n", i);
	fclose(f);
}

static void expect_ids_once(int n)
{
	size_t m;
	struct fc_event *ev = fc_events_copy(fc, &m);
	char *seen = calloc((size_t)n, 1);
	for (size_t i = 0; i < m; i++) {
		long id = strtol(ev[i].id + 2, NULL, 10);
		cr_assert(id >= 0 && id < n, "unexpected id %s", ev[i].id);
		cr_expect_eq(seen[id], 0, "line %s sent twice", ev[i].id);
		seen[id] = 1;
	}
	cr_expect_eq(m, (size_t)n, "%zu of %d lines arrived", m, n);
	free(seen);
	fc_events_free(ev, m);
}

Test(agent_tail, rename_rotation_across_restarts, .init = setup, .fini = teardown, .timeout = 60)
{
	char path[700], p1[710], p2[710];
	snprintf(path, sizeof(path), "%s/preds.jsonl", ag.dir);
	snprintf(p1, sizeof(p1), "%s.1", path);
	snprintf(p2, sizeof(p2), "%s.2", path);
	const char *args[] = {"--tail", path, NULL};

	append_lines(path, 0, 100);
	cr_assert_eq(ap_start(&ag, args), 0);
	cr_assert(fc_wait_events(fc, 100, 10));
	cr_assert_eq(rename(path, p1), 0);
	append_lines(path, 100, 50);
	cr_assert(fc_wait_events(fc, 150, 10), "%zu after rotation", fc_events(fc));
	cr_expect(ap_wait_metric(&ag, "mlwatch_agent_tail_rotations_total", NULL, 1, 2));
	append_lines(path, 150, 30); /* written just before the stop */
	cr_assert_eq(ap_stop(&ag), 0);
	/* While the agent is down: more lines, then another rotation. */
	append_lines(path, 180, 20);
	cr_assert_eq(rename(p1, p2), 0);
	cr_assert_eq(rename(path, p1), 0);
	append_lines(path, 200, 40);
	cr_assert_eq(ap_start(&ag, args), 0);
	cr_assert(fc_wait_events(fc, 240, 10), "%zu after restart", fc_events(fc));
	h_sleep(0.5);
	expect_ids_once(240);
}

Test(agent_tail, copytruncate_across_restarts, .init = setup, .fini = teardown, .timeout = 60)
{
	char path[700], p1[710], cmd[2200];
	snprintf(path, sizeof(path), "%s/preds.jsonl", ag.dir);
	snprintf(p1, sizeof(p1), "%s.1", path);
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && : > '%s'", path, p1, path);
	const char *args[] = {"--tail", path, NULL};

	append_lines(path, 0, 100);
	cr_assert_eq(ap_start(&ag, args), 0);
	cr_assert(fc_wait_events(fc, 100, 10));
	cr_assert_eq(system(cmd), 0); /* copytruncate, agent running */
	h_sleep(0.3);
	append_lines(path, 100, 40);
	cr_assert(fc_wait_events(fc, 140, 10), "%zu after truncation", fc_events(fc));
	cr_expect(ap_wait_metric(&ag, "mlwatch_agent_tail_truncations_total", NULL, 1, 2));
	cr_assert_eq(ap_stop(&ag), 0);
	append_lines(path, 140, 30); /* while down, no rotation */
	cr_assert_eq(ap_start(&ag, args), 0);
	cr_assert(fc_wait_events(fc, 170, 10), "%zu after restart", fc_events(fc));
	cr_assert_eq(ap_stop(&ag), 0);
	cr_assert_eq(system(cmd), 0); /* copytruncate while down */
	append_lines(path, 170, 25);
	cr_assert_eq(ap_start(&ag, args), 0);
	cr_assert(fc_wait_events(fc, 195, 10), "%zu after truncation while down", fc_events(fc));
	h_sleep(0.5);
	expect_ids_once(195);
}

/* A line past the line limit (max_body, at most 1 MiB) is skipped and
 * counted once, however many 64 KiB reads it spans (it was counted on
 * every read past the limit: 3 for this one); the lines around it
 * arrive. */
Test(agent_tail, an_overlong_line_is_skipped_and_counted_once, .init = setup, .fini = teardown,
     .timeout = 60)
{
	char path[700];
	snprintf(path, sizeof(path), "%s/preds.jsonl", ag.dir);
	const char *args[] = {"--tail", path, NULL};
	const size_t big = (3u << 20) + (512u << 10);

	append_lines(path, 0, 1);
	FILE *f = fopen(path, "a");
	cr_assert_not_null(f);
	fputs("{\"model\":\"m\",\"id\":\"huge\",\"note\":\"", f);
	for (size_t i = 0; i < big; i++)
		fputc('x', f);
	fputs("\"}\n", f);
	fclose(f);
	append_lines(path, 1, 1);
	cr_assert_eq(ap_start(&ag, args), 0);
	cr_assert(fc_wait_events(fc, 2, 20), "%zu events", fc_events(fc));
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_rejected_total", "reason=\"too_large\""), 1);
	h_sleep(0.3);
	expect_ids_once(2);
}

/* README "Hooking up" BentoML: --tail the monitor's data file with
 * --format bentoml; the schema beside it gives the roles. */
Test(agent_tail, bentoml_monitor_files, .init = setup, .fini = teardown, .timeout = 60)
{
	char p[800], data[800];
	snprintf(p, sizeof(p), "%s/monitoring", ag.dir);
	cr_assert_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/monitoring/iris_clf", ag.dir);
	cr_assert_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/monitoring/iris_clf/schema", ag.dir);
	cr_assert_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/monitoring/iris_clf/data", ag.dir);
	cr_assert_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/monitoring/iris_clf/schema/schema.0.log", ag.dir);
	const char *schema =
	    "{\"meta_data\": {\"bento_name\": \"iris\", \"bento_version\": \"1\"}, \"columns\": "
	    "[{\"name\": \"sepal_len\", \"role\": \"feature\", \"type\": \"numerical\"}, "
	    "{\"name\": \"pred\", \"role\": \"prediction\", \"type\": \"categorical\"}]}\n";
	cr_assert_eq(h_write_file(p, schema, strlen(schema)), 0);
	snprintf(data, sizeof(data), "%s/monitoring/iris_clf/data/data.0.log", ag.dir);
	const char *lines =
	    "{\"sepal_len\": 5.1, \"pred\": \"setosa\", \"timestamp\": "
	    "\"2026-03-05T03:33:59.490137\", \"request_id\": \"14642743634293743168\", "
	    "\"trace_id\": \"0\"}\n"
	    "{\"sepal_len\": 6.5, \"pred\": \"virginica\", \"timestamp\": "
	    "\"2026-03-05T03:41:49.870589\", \"request_id\": \"7485759375304577245\", "
	    "\"trace_id\": \"0\"}\n";
	cr_assert_eq(h_write_file(data, lines, strlen(lines)), 0);
	cr_assert_eq(ap_start(&ag, (const char *[]){"--tail", data, "--format", "bentoml",
	                                            "--tail-timezone", "UTC", NULL}),
	             0);
	cr_assert(fc_wait_events(fc, 2, 10));
	size_t n;
	struct fc_event *ev = fc_events_copy(fc, &n);
	const struct fc_event *e = find(ev, n, "7485759375304577245");
	cr_assert_not_null(e);
	cr_expect_str_eq(e->model, "iris_clf");
	cr_expect_str_eq(e->prediction, "virginica");
	cr_expect_str_eq(e->first_feature, "sepal_len=6.5");
	double want;
	cr_assert_eq(clock_parse_rfc3339("2026-03-05T03:41:49.870589Z", &want), 0);
	cr_expect_float_eq(e->ts, want, 1e-3);
	fc_events_free(ev, n);
}

/* Triton's --trace-config triton,file=PATH,log_frequency=N: one whole JSON
 * array per indexed file PATH.0, PATH.1, ..., read in order as they appear
 * (one still being written is read up to its open trace), every trace once
 * across an agent restart; a tensor Triton's docs elide ("...") is dropped
 * and counted, its trace kept. */
#define TRITON_TRACE(id, rid, start, end)                                                     \
	"{\"id\":" #id ",\"model_name\":\"simple\",\"model_version\":1,\"request_id\":\"" rid \
	"\"},{\"id\":" #id ",\"timestamps\":[{\"name\":\"REQUEST_START\",\"ns\":" #start      \
	"}]},{\"id\":" #id ",\"timestamps\":[{\"name\":\"REQUEST_END\",\"ns\":" #end "}]}"

static void append_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, strlen(text), f), strlen(text));
	cr_assert_eq(fclose(f), 0);
}

Test(agent_tail, triton_indexed_trace_files, .init = setup, .fini = teardown, .timeout = 60)
{
	char base[700], p[720];
	snprintf(base, sizeof(base), "%s/trace.json", ag.dir);
	const char *args[] = {"--tail", base, "--format", "triton", NULL};

	snprintf(p, sizeof(p), "%s.0", base);
	append_text(
	    p,
	    "[" TRITON_TRACE(
	        1, "t-0", 1000000,
	        3000000) ","
	                 "{\"id\":2,\"model_name\":\"simple\",\"model_version\":1,\"request_id\":"
	                 "\"t-1\"},"
	                 "{\"id\":2,\"activity\":\"TENSOR_QUEUE_INPUT\",\"tensor\":{\"name\":"
	                 "\"input\","
	                 "\"data\":\"0.1,0.1,0.1,...\",\"shape\":\"1,16\",\"dtype\":\"FP32\"}},"
	                 "{\"id\":2,\"activity\":\"TENSOR_QUEUE_INPUT\",\"tensor\":{\"name\":\"x\","
	                 "\"data\":\"4.5\",\"shape\":\"1,1\",\"dtype\":\"FP64\"}}]");
	cr_assert_eq(ap_start(&ag, args), 0);
	cr_assert(fc_wait_events(fc, 2, 10), "%zu events", fc_events(fc));
	/* PATH.1 while Triton writes it: trace 3 is followed by a record of
	 * trace 4, which stays open until the array closes. */
	snprintf(p, sizeof(p), "%s.1", base);
	append_text(p, "[" TRITON_TRACE(3, "t-2", 5000000,
	                                6000000) ","
	                                         "{\"id\":4,\"model_name\":\"simple\",\"model_"
	                                         "version\":1,\"request_id\":\"t-3\"},"
	                                         "{\"id\":4,\"timest");
	cr_assert(fc_wait_events(fc, 3, 10), "%zu events", fc_events(fc));
	h_sleep(0.3);
	cr_expect_eq(fc_events(fc), 3, "trace 4 is not complete yet");
	append_text(p, "amps\":[{\"name\":\"REQUEST_START\",\"ns\":1}]}]");
	cr_assert(fc_wait_events(fc, 4, 10), "%zu events", fc_events(fc));
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_triton_traces_total", NULL), 4);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_triton_tensors_refused_total", NULL), 1);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_triton_latency_unknown_total", NULL), 2);
	/* Restart; PATH.2 was written meanwhile: read, nothing read twice. */
	cr_assert_eq(ap_stop(&ag), 0);
	snprintf(p, sizeof(p), "%s.2", base);
	append_text(p, "[" TRITON_TRACE(5, "t-4", 1000, 2501000) "]");
	cr_assert_eq(ap_start(&ag, args), 0);
	cr_assert(fc_wait_events(fc, 5, 10), "%zu events", fc_events(fc));
	h_sleep(0.3);
	expect_ids_once(5);
	size_t n;
	struct fc_event *ev = fc_events_copy(fc, &n);
	const struct fc_event *e0 = find(ev, n, "t-0"), *e1 = find(ev, n, "t-1");
	const struct fc_event *e4 = find(ev, n, "t-4");
	cr_assert(e0 && e1 && e4);
	cr_expect_str_eq(e0->model, "simple");
	cr_expect(e0->has_latency && fabs(e0->latency_ms - 2.0) < 1e-9, "%g", e0->latency_ms);
	cr_expect_not(e1->has_latency);
	cr_expect_eq(e1->n_features, 1, "the elided tensor dropped, x kept");
	cr_expect_str_eq(e1->first_feature, "x=4.5");
	cr_expect(e4->has_latency && fabs(e4->latency_ms - 2.5) < 1e-9, "%g", e4->latency_ms);
	fc_events_free(ev, n);
}

/* README "Hooking up" TorchServe / Ray Serve: --tail their logs with
 * --format torchserve | ray_serve; only request lines become events. */
Test(agent_tail, torchserve_and_ray_serve_logs, .init = setup, .fini = teardown, .timeout = 60)
{
	char ts[700], ray[700];
	snprintf(ts, sizeof(ts), "%s/access_log.log", ag.dir);
	snprintf(ray, sizeof(ray), "%s/replica.log", ag.dir);
	append_text(ts, "2018-10-15 13:56:18,976 [INFO ] BackendWorker-9000 ACCESS_LOG - "
	                "/127.0.0.1:64003 \"POST /predictions/resnet-18 HTTP/1.1\" 200 118\n"
	                "2018-10-15 13:56:19,000 [INFO ] W ACCESS_LOG - /127.0.0.1:64003 "
	                "\"GET /ping HTTP/1.1\" 200 1\n"
	                "2018-10-15 13:56:19,500 [INFO ] W ACCESS_LOG - /127.0.0.1:64003 "
	                "\"POST /predictions/resnet-18 HTTP/1.1\" 500 7\n");
	cr_assert_eq(ap_start(&ag, (const char *[]){"--tail", ts, "--format", "torchserve",
	                                            "--tail-timezone", "UTC", NULL}),
	             0);
	cr_assert(fc_wait_events(fc, 2, 10), "%zu events", fc_events(fc));
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_tail_ignored_lines_total", NULL), 1);
	size_t n;
	struct fc_event *ev = fc_events_copy(fc, &n);
	cr_assert_eq(n, 2);
	double want;
	cr_assert_eq(clock_parse_rfc3339("2018-10-15T13:56:18.976Z", &want), 0);
	for (size_t i = 0; i < n; i++) {
		cr_expect_str_eq(ev[i].model, "resnet-18");
		bool first = ev[i].latency_ms == 118;
		cr_expect(first || ev[i].latency_ms == 7, "%g", ev[i].latency_ms);
		cr_expect_eq(ev[i].error, !first);
		if (first)
			cr_expect_float_eq(ev[i].ts, want, 1e-3);
	}
	fc_events_free(ev, n);
	cr_assert_eq(ap_stop(&ag), 0);

	append_text(ray, "INFO 2022-08-02 16:17:02,502 http_proxy 127.0.0.1 http_proxy.py:315 - "
	                 "GET / 200 3.5ms\n"
	                 "INFO 2022-08-02 16:17:02,501 SayHello SayHello#kKGBoa replica.py:482 - "
	                 "HANDLE __call__ OK 0.3ms\n");
	cr_assert_eq(ap_start(&ag, (const char *[]){"--tail", ray, "--format", "ray_serve", NULL}),
	             0);
	cr_assert(fc_wait_events(fc, 3, 10), "%zu events", fc_events(fc));
	h_sleep(0.3);
	cr_expect_eq(fc_events(fc), 3, "the proxy's line is not a second request");
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_tail_ignored_lines_total", NULL), 1);
}

/* ---- datagrams --------------------------------------------------------- */

/* Sends each message with MSG_DONTWAIT (the sender never blocks); on
 * EAGAIN (a unix socket's queue holds only net.unix.max_dgram_qlen
 * datagrams, often 10) it counts it, waits 1 ms and tries again, up to 1000
 * times. Returns how many were sent. */
static int send_all(int fd, const struct sockaddr *to, socklen_t tolen, const char *const *msgs,
                    int n, int *eagain)
{
	int sent = 0;
	for (int i = 0; i < n; i++) {
		for (int tries = 0; tries < 1000; tries++) {
			ssize_t k = sendto(fd, msgs[i], strlen(msgs[i]), MSG_DONTWAIT, to, tolen);
			if (k >= 0) {
				sent++;
				break;
			}
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				break;
			(*eagain)++;
			h_sleep(0.001);
		}
	}
	return sent;
}

Test(agent_dgram, unix_and_udp_count_every_event_and_garbage, .init = setup, .fini = teardown)
{
	char sock[700], unixurl[720], udpurl[64];
	int port = h_free_port(), eagain = 0;
	snprintf(sock, sizeof(sock), "%s/dg.sock", ag.dir);
	snprintf(unixurl, sizeof(unixurl), "unix:%s", sock);
	snprintf(udpurl, sizeof(udpurl), "udp://127.0.0.1:%d", port);
	cr_assert_eq(ap_start(&ag, (const char *[]){"--listen-dgram", unixurl, "--listen-dgram",
	                                            udpurl, NULL}),
	             0);

	enum { N = 400 };
	char *msgs[N + 20];
	for (int i = 0; i < N; i++) {
		msgs[i] = malloc(160);
		snprintf(msgs[i], 160, "{\"model\":\"dg\",\"id\":\"d-%d\",\"latency_ms\":%d}", i,
		         i % 30);
	}
	/* 20 datagrams of 5 NDJSON lines each. */
	for (int i = 0; i < 20; i++) {
		msgs[N + i] = malloc(1024);
		size_t len = 0;
		for (int k = 0; k < 5; k++)
			len += (size_t)snprintf(msgs[N + i] + len, 1024 - len,
			                        "{\"model\":\"dg\",\"id\":\"nd-%d-%d\"}\n", i, k);
	}
	struct sockaddr_un ua = {.sun_family = AF_UNIX};
	memcpy(ua.sun_path, sock, strlen(sock) + 1);
	struct sockaddr_in ia = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	ia.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int ufd = socket(AF_UNIX, SOCK_DGRAM, 0), ifd = socket(AF_INET, SOCK_DGRAM, 0);
	/* unix: N/2 single events and 10 NDJSON datagrams of 5; udp: the other N/2
	 * singles and the other 10 NDJSON datagrams. */
	int s1 = send_all(ufd, (struct sockaddr *)&ua, sizeof(ua), (const char *const *)msgs, N / 2,
	                  &eagain);
	s1 += send_all(ufd, (struct sockaddr *)&ua, sizeof(ua), (const char *const *)msgs + N, 10,
	               &eagain);
	int s2 = send_all(ifd, (struct sockaddr *)&ia, sizeof(ia),
	                  (const char *const *)msgs + N / 2, N / 2, &eagain);
	int s3 = send_all(ifd, (struct sockaddr *)&ia, sizeof(ia),
	                  (const char *const *)msgs + N + 10, 10, &eagain);
	cr_log_info("unix sender saw EAGAIN %d times (never blocked)", eagain);
	cr_assert_eq(s1, N / 2 + 10);
	cr_assert_eq(s2, N / 2);
	cr_assert_eq(s3, 10);
	int expected = N + 20 * 5;
	cr_assert(ap_wait_metric(&ag, "mlwatch_agent_events_received_total", "input=\"dgram\"",
	                         expected, 10),
	          "received %g of %d",
	          ap_metric(&ag, "mlwatch_agent_events_received_total", "input=\"dgram\""),
	          expected);
	cr_assert(fc_wait_events(fc, (size_t)expected, 10));

	/* Garbage: never fatal, always counted. */
	const char *junk[] = {"not json",
	                      "{",
	                      "\x01\x02\x03",
	                      "[1,2,3]",
	                      "{\"model\":\"bad name\"}",
	                      "{\"model\":\"dg\",\"id\":\"ok-1\"}\nnope\n{\"model\":\"dg\",\"id\":"
	                      "\"ok-2\"}\n"};
	send_all(ifd, (struct sockaddr *)&ia, sizeof(ia), junk, 6, &eagain);
	cr_expect(
	    ap_wait_metric(&ag, "mlwatch_agent_rejected_total", "reason=\"malformed\"", 6, 5));
	cr_expect(fc_wait_events(fc, (size_t)expected + 2, 5), "good lines beside a bad one kept");
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_rejected_total", "reason=\"malformed\""), 6);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_datagrams_received_total", NULL),
	             (double)(s1 + s2 + s3 + 6));
	cr_expect_eq(ap_post(&ag, "/v1/events", "{\"model\":\"m\"}", 13, NULL, false, NULL), 202,
	             "still serving");
	close(ufd);
	close(ifd);
	for (int i = 0; i < N + 20; i++)
		free(msgs[i]);
}
