/* The real agent's OTLP/HTTP endpoints (issue 15): hostile bodies refused
 * with the status the OTLP spec wants and the agent's counter for it
 * (truncated protobuf 400 with a google.rpc.Status, a zip bomb 413, a
 * million attributes 400, another content type 415), a partly bad request
 * answered 200 with partial success and counted, and /v1/traces behind the
 * same token as /v1/events. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "agent_proc.h"
#include "clock.h"
#include "fake_collector.h"
#include "harness.h"
#include "otlp.pb-c.h"

static struct agent_proc ag;
static struct fake_collector *fc;

static void start(const char *const *extra)
{
	cr_assert_eq(ap_init(&ag, "otlp-http"), 0);
	fc = fc_start(ag.collector);
	cr_assert_not_null(fc);
	cr_assert_eq(ap_start(&ag, extra), 0, "agent did not start; see %s", ag.log);
}

static void stop(void)
{
	cr_expect_eq(ap_stop(&ag), 0, "agent exit status");
	fc_free(fc);
	ap_cleanup(&ag);
}

static const char *const PB[] = {"Content-Type: application/x-protobuf", NULL};
static const char *const PBGZ[] = {"Content-Type: application/x-protobuf", "Content-Encoding: gzip",
                                   NULL};
static const char *const JSON[] = {"Content-Type: application/json", NULL};

static double rejected(const char *reason)
{
	char l[64];
	snprintf(l, sizeof(l), "reason=\"%s\"", reason);
	return ap_metric(&ag, "mlwatch_agent_rejected_total", l);
}

Test(otlp_http, hostile_bodies_get_the_right_status_and_counter, .timeout = 120)
{
	char *resp = NULL;
	start(NULL);

	/* truncated protobuf: 400, a google.rpc.Status in protobuf */
	uint8_t trunc[] = {0x0a, 0x20, 0x12, 0x05}; /* lengths past the end */
	cr_expect_eq(ap_post(&ag, "/v1/traces", (char *)trunc, sizeof(trunc), PB, false, &resp),
	             400);
	Mlwatch__Otlp__RpcStatus *st =
	    resp ? mlwatch__otlp__rpc_status__unpack(NULL, strlen(resp), (uint8_t *)resp) : NULL;
	cr_assert_not_null(st, "the 400 body is a google.rpc.Status");
	cr_expect_eq(st->code, 3);
	cr_expect(strstr(st->message, "truncated"), "%s", st->message);
	mlwatch__otlp__rpc_status__free_unpacked(st, NULL);
	free(resp);
	cr_expect_eq(rejected("malformed"), 1);

	/* a zip bomb: 64 MiB of zeros in ~64 KiB of gzip; 413 */
	size_t n = 64u << 20;
	char *zeros = calloc(1, n);
	z_stream zs = {0};
	size_t cap = compressBound(n) + 64;
	char *gz = malloc(cap);
	cr_assert_eq(deflateInit2(&zs, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	zs.next_in = (Bytef *)zeros;
	zs.avail_in = (uInt)n;
	zs.next_out = (Bytef *)gz;
	zs.avail_out = (uInt)cap;
	cr_assert_eq(deflate(&zs, Z_FINISH), Z_STREAM_END);
	size_t glen = cap - zs.avail_out;
	deflateEnd(&zs);
	free(zeros);
	cr_expect_eq(ap_post(&ag, "/v1/traces", gz, glen, PBGZ, false, &resp), 413);
	cr_expect(resp && strstr(resp, "max_body"), "%s", resp ? resp : "");
	free(resp);
	free(gz);
	cr_expect_eq(rejected("too_large"), 1);

	/* a million empty attributes in one span: 400 */
	size_t m = 1000000, k = 0;
	uint8_t *big = malloc(m * 2 + 32);
	big[k++] = 0x0a;                                /* resource_spans */
	size_t ss_len = m * 2 + 5, rs_len = ss_len + 5; /* tag + 4-byte length + content */
	/* lengths as 4-byte varints so the sizes need no second pass */
#define V4(x)                                                      \
	do {                                                       \
		big[k++] = (uint8_t)(((x)&0x7f) | 0x80);           \
		big[k++] = (uint8_t)((((x) >> 7) & 0x7f) | 0x80);  \
		big[k++] = (uint8_t)((((x) >> 14) & 0x7f) | 0x80); \
		big[k++] = (uint8_t)(((x) >> 21) & 0x7f);          \
	} while (0)
	V4(rs_len);
	big[k++] = 0x12; /* scope_spans */
	V4(ss_len);
	big[k++] = 0x12; /* spans */
	V4(m * 2);
	for (size_t i = 0; i < m; i++) {
		big[k++] = 0x4a; /* attributes (9), an empty KeyValue */
		big[k++] = 0x00;
	}
	cr_expect_eq(ap_post(&ag, "/v1/traces", (char *)big, k, PB, false, &resp), 400);
	cr_expect(resp && strstr(resp, "attributes"), "%s", resp ? resp : "");
	free(resp);
	free(big);
	cr_expect_eq(rejected("malformed"), 2);

	/* another content type: 415 */
	cr_expect_eq(ap_post(&ag, "/v1/traces", "{}", 2,
	                     (const char *[]){"Content-Type: text/plain", NULL}, false, NULL),
	             415);
	cr_expect_eq(rejected("malformed"), 3);

	/* OTLP metrics (the gen_ai.server.* histograms) are not an input: 404. */
	cr_expect_eq(ap_post(&ag, "/v1/metrics", "{}", 2, JSON, false, NULL), 404);
	cr_expect_eq(rejected("bad_request"), 1);

	/* one bad span, one good, one internal: 200 partial success */
	const char *j =
	    "{\"resourceSpans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
	    "\"value\":{\"stringValue\":\"chat\"}}]},\"scopeSpans\":[{\"spans\":["
	    "{\"kind\":2,\"startTimeUnixNano\":\"1764071990000000000\","
	    "\"endTimeUnixNano\":\"1764071989000000000\"},"
	    "{\"kind\":2,\"startTimeUnixNano\":\"%lld000000000\",\"endTimeUnixNano\":"
	    "\"%lld500000000\"},{\"kind\":1,\"name\":\"internal\"}]}]}]}";
	char body[1024];
	long long now = (long long)clock_now();
	snprintf(body, sizeof(body), j, now - 5, now - 5);
	cr_expect_eq(ap_post(&ag, "/v1/traces", body, strlen(body), JSON, false, &resp), 200);
	cr_expect(resp && strstr(resp, "\"partialSuccess\":{\"rejectedSpans\":\"1\""), "%s",
	          resp ? resp : "");
	free(resp);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_otlp_rejected_total", NULL), 1);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_otlp_ignored_total", NULL), 1);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_events_received_total", "input=\"otlp\""), 1);
	cr_expect(fc_wait_counted(fc, 1, 10), "the good span reached the collector");
	stop();
}

Test(otlp_http, traces_sit_behind_the_http_token)
{
	char tok[700];
	const char *good[] = {"Content-Type: application/json", "Authorization: Bearer s3cret",
	                      NULL};

	cr_assert_eq(ap_init(&ag, "otlp-http"), 0);
	fc = fc_start(ag.collector);
	cr_assert_not_null(fc);
	snprintf(tok, sizeof(tok), "%s/http.token", ag.dir);
	cr_assert_eq(h_write_file(tok, "s3cret\n", 7), 0);
	cr_assert_eq(ap_start(&ag, (const char *[]){"--http-token-file", tok, NULL}), 0);
	cr_expect_eq(ap_post(&ag, "/v1/traces", "{}", 2, JSON, false, NULL), 401);
	cr_expect_eq(ap_post(&ag, "/v1/logs", "{}", 2, JSON, false, NULL), 401);
	cr_expect_eq(ap_post(&ag, "/v1/traces", "{}", 2, good, false, NULL), 200);
	/* /metrics sits behind the same token (issue 21) */
	cr_expect_eq(ap_metric_token(&ag, "mlwatch_agent_rejected_total", "reason=\"unauthorized\"",
	                             "s3cret"),
	             2);
	stop();
}
