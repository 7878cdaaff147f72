/* KServe as it really sends (issue 15 acceptance 2), through the real agent
 * and the real collector, read back with `mlwatch latency --json`:
 * a pre-v0.18 pair gives count 1 and no latency; a v0.18+ pair gives the
 * ce-time difference, in either order; an orphan request half becomes one
 * error after the TTL; transformer + predictor count once; a gzip body and
 * a namespaced model name arrive as sent; OpenAI chat/completions pairs
 * (JSON and streamed SSE) give the llm fields (tokens, finish reasons). */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "../lib/agent_proc.h"
#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/tuitest.h"
#include "clock.h"

static struct cproc c;
static struct agent_proc a;

/* One half with the v0.14-v0.17 header set, plus Ce-Recordedtime when
 * recorded (v0.18+). */
static long half(const char *id, const char *type, double ts, bool recorded, const char *svc,
                 const char *component, const char *body, size_t len, bool gzip)
{
	char hid[200], htype[200], htime[100], hrec[100], hsvc[200], hcomp[100], t[64];
	const char *h[16];
	int n = 0;
	snprintf(hid, sizeof(hid), "Ce-Id: %s", id);
	snprintf(htype, sizeof(htype), "Ce-Type: org.kubeflow.serving.inference.%s", type);
	snprintf(htime, sizeof(htime), "Ce-Time: %s", clock_format_rfc3339(ts, t, sizeof(t)));
	snprintf(hrec, sizeof(hrec), "Ce-Recordedtime: %s", t);
	snprintf(hsvc, sizeof(hsvc), "Ce-Inferenceservicename: %s", svc);
	snprintf(hcomp, sizeof(hcomp), "Ce-Component: %s", component);
	h[n++] = hid;
	h[n++] = htype;
	h[n++] = htime;
	if (recorded)
		h[n++] = hrec;
	h[n++] = hsvc;
	h[n++] = hcomp;
	h[n++] = "Ce-Namespace: team-a";
	h[n++] = "Ce-Endpoint: ";
	h[n++] = "Ce-Metadata: {}";
	h[n++] = "Ce-Source: http://localhost:9081/";
	h[n++] = "Ce-Specversion: 1.0";
	/* curl -d without -H: the request's type, on both halves (v0.14+) */
	h[n++] = "Content-Type: application/x-www-form-urlencoded";
	if (gzip)
		h[n++] = "Content-Encoding: gzip";
	h[n] = NULL;
	return ap_post(&a, "/v1/kserve", body, len, h, false, NULL);
}

static long json_half(const char *id, const char *type, double ts, bool recorded, const char *svc,
                      const char *body)
{
	return half(id, type, ts, recorded, svc, "predictor", body, strlen(body), false);
}

/* count, errors and p50 summed over `mlwatch latency --json` windows. */
struct lat {
	double count, errors, p50;
	int with_p50;
};

static struct lat latency_of(const char *model)
{
	char *bin = h_bin("mlwatch"), *out = NULL, *err = NULL;
	char *argv[] = {bin,           "--db",    c.db, "latency", "--model",
	                (char *)model, "--since", "1h", "--json",  NULL};
	struct lat l = {0};
	int rc = tt_run(argv, (char *[]){"TZ=UTC", NULL}, &out, &err, 20);
	cJSON *j = rc == 0 ? cJSON_Parse(out) : NULL, *w;
	cJSON *wins = j ? cJSON_GetObjectItem(j, "windows") : NULL;
	cJSON_ArrayForEach(w, wins)
	{
		l.count += cJSON_GetObjectItem(w, "count")->valuedouble;
		l.errors += cJSON_GetObjectItem(w, "errors")->valuedouble;
		const cJSON *p = cJSON_GetObjectItem(w, "p50");
		if (cJSON_IsNumber(p)) {
			l.p50 = p->valuedouble;
			l.with_p50++;
		}
	}
	cJSON_Delete(j);
	free(out);
	free(err);
	free(bin);
	return l;
}

/* Waits until the windows hold count events (and a latency when
 * want_p50: the quantiles come with the next analysis pass). */
static struct lat wait_count(const char *model, double count, bool want_p50)
{
	double end = h_now() + 20 * cproc_slow();
	struct lat l;
	while (((l = latency_of(model)).count < count || (want_p50 && !(l.p50 > 0))) &&
	       h_now() < end)
		h_sleep(0.2);
	return l;
}

static void setup(void)
{
	const char *cargs[] = {"--window", "10s", "--analyze-interval", "300ms", NULL};
	cproc_init(&c, "kserve-e2e");
	cr_assert_eq(cproc_start(&c, cargs), 0, "collector did not start, see %s", c.log);
	cr_assert_eq(ap_init(&a, "kserve-e2e"), 0);
	snprintf(a.collector, sizeof(a.collector), "%s", c.url);
	cr_assert_eq(ap_start(&a, (const char *[]){"--kserve-ttl", "1s", "--kserve-model",
	                                           "{namespace}.{isvc}", NULL}),
	             0, "agent did not start, see %s", a.log);
}

static void teardown(void)
{
	cr_expect_eq(ap_stop(&a), 0);
	cr_expect_eq(cproc_stop(&c, SIGTERM), 0);
	ap_cleanup(&a);
	cproc_cleanup(&c);
}

TestSuite(kserve_e2e, .init = setup, .fini = teardown, .timeout = 90);

Test(kserve_e2e, real_pairs_counted_as_the_logger_means_them)
{
	/* 2 s into the last complete 10 s window: every pair in one window */
	double t0 = floor(clock_now() / 10) * 10 - 8;
	const char *req = "{\"instances\":[[6.8,2.8,4.8,1.4]]}", *resp = "{\"predictions\":[1]}";

	/* pre-v0.18: ce-time is when each half was sent; 1.58 ms apart */
	cr_assert_eq(json_half("o-1", "request", t0, false, "old", req), 202);
	cr_assert_eq(json_half("o-1", "response", t0 + 0.00158, false, "old", resp), 202);
	/* v0.18+: 24.78 ms, then a second pair response first, 40 ms */
	cr_assert_eq(json_half("n-1", "request", t0, true, "new", req), 202);
	cr_assert_eq(json_half("n-1", "response", t0 + 0.02478, true, "new", resp), 202);
	cr_assert_eq(json_half("n-2", "response", t0 + 0.04 + 1, true, "new", resp), 202);
	cr_assert_eq(json_half("n-2", "request", t0 + 1, true, "new", req), 202);
	/* a failed request: no response half ever comes */
	cr_assert_eq(json_half("f-1", "request", t0, true, "fail", req), 202);
	/* transformer and predictor for one prediction, each under its own id */
	cr_assert_eq(half("t-1", "request", t0, true, "tp", "transformer",
	                  "{\"instances\":[[\"a\"]]}", 22, false),
	             202);
	cr_assert_eq(half("p-1", "request", t0, true, "tp", "predictor", req, strlen(req), false),
	             202);
	cr_assert_eq(
	    half("p-1", "response", t0 + 0.01, true, "tp", "predictor", resp, strlen(resp), false),
	    202);
	cr_assert_eq(half("t-1", "response", t0 + 0.02, true, "tp", "transformer", resp,
	                  strlen(resp), false),
	             202);

	struct lat l = wait_count("team-a.old", 1, false);
	cr_expect_eq(l.count, 1, "a pre-v0.18 pair is one request");
	cr_expect_eq(l.with_p50, 0, "and its latency is unknown, not 1.58 ms (p50 %g)", l.p50);
	l = wait_count("team-a.new", 2, true);
	cr_expect_eq(l.count, 2);
	cr_expect_eq(l.with_p50, 1, "both pairs are in one 10 s window");
	cr_expect(l.p50 >= 24.78 * 0.99 && l.p50 <= 40 * 1.01, "p50 %g", l.p50);
	l = wait_count("team-a.fail", 1, false);
	cr_expect_eq(l.count, 1, "the orphan is one request");
	cr_expect_eq(l.errors, 1, "and one error");
	l = wait_count("team-a.tp", 1, false);
	h_sleep(0.5); /* a second event would be in the same batch: give it time */
	l = latency_of("team-a.tp");
	cr_expect_eq(l.count, 1, "transformer + predictor count once");
	cr_expect_eq(ap_metric(&a, "mlwatch_agent_kserve_orphan_errors_total", NULL), 1);
	cr_expect_eq(ap_metric(&a, "mlwatch_agent_kserve_other_component_total", NULL), 2);
	cr_expect_eq(ap_metric(&a, "mlwatch_agent_kserve_latency_unknown_total", NULL), 2,
	             "the old pair and the orphan");
}

Test(kserve_e2e, gzip_body_and_zip_bomb)
{
	const char *req = "{\"instances\":[[1,2]]}";
	unsigned char gz[256], *bomb_gz = malloc(1 << 20);
	uLongf n = 0;
	z_stream z;
	double t0 = floor(clock_now()) - 5;

	memset(&z, 0, sizeof(z));
	cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)(uintptr_t)req;
	z.avail_in = (uInt)strlen(req);
	z.next_out = gz;
	z.avail_out = sizeof(gz);
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	n = z.total_out;
	deflateEnd(&z);
	cr_assert_eq(half("g-1", "request", t0, true, "gz", "predictor", (const char *)gz, n, true),
	             202);
	cr_assert_eq(json_half("g-1", "response", t0 + 0.01, true, "gz", "{\"predictions\":[0]}"),
	             202);
	struct lat l = wait_count("team-a.gz", 1, false);
	cr_expect_eq(l.count, 1);
	/* 64 MiB of zeros inflated from ~64 KiB: over max_body (8 MiB) -> 413 */
	size_t big = 64u << 20;
	unsigned char *zeros = calloc(1, big);
	memset(&z, 0, sizeof(z));
	cr_assert_eq(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = zeros;
	z.avail_in = (uInt)big;
	z.next_out = bomb_gz;
	z.avail_out = 1 << 20;
	cr_assert_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	n = z.total_out;
	deflateEnd(&z);
	free(zeros);
	double before = ap_metric(&a, "mlwatch_agent_rejected_total", "reason=\"too_large\"");
	cr_expect_eq(
	    half("bomb", "request", t0, true, "gz", "predictor", (const char *)bomb_gz, n, true),
	    413);
	cr_expect_eq(ap_metric(&a, "mlwatch_agent_rejected_total", "reason=\"too_large\""),
	             before + 1);
	free(bomb_gz);
}

/* JSON object member path1[.path2]; NAN when absent or not a number. */
static double jget(const cJSON *o, const char *path1, const char *path2)
{
	const cJSON *x = cJSON_GetObjectItem(o, path1);
	if (path2)
		x = cJSON_GetObjectItem(x, path2);
	return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

Test(kserve_e2e, openai_pairs_reach_latency_json_llm_fields)
{
	double t0 = floor(clock_now() / 10) * 10 - 8;
	/* The published request (kserve test/e2e/data/qwen_input_chat.json)
	 * and a vLLM response; then a streamed completion, logged as SSE. */
	const char *q = "{\"model\":\"qwen-chat\",\"messages\":[{\"role\":\"system\",\"content\":"
	                "\"Answer with just the number, nothing else.\"},{\"role\":\"user\","
	                "\"content\":\"2+2=\"}],\"temperature\":0,\"max_tokens\":20}";
	const char *r = "{\"id\":\"c1\",\"object\":\"chat.completion\",\"model\":\"qwen-chat\","
	                "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
	                "\"4\"},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":45,"
	                "\"completion_tokens\":67,\"total_tokens\":112}}";
	const char *qs = "{\"model\":\"qwen-cmpl\",\"prompt\":\"2+2=\",\"max_tokens\":1,"
	                 "\"stream\":true}";
	const char *rs = "data: {\"choices\":[{\"index\":0,\"text\":\"4\",\"finish_reason\":null}]}"
	                 "\n\ndata: {\"choices\":[{\"index\":0,\"text\":\"\",\"finish_reason\":"
	                 "\"length\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}"
	                 "\n\ndata: [DONE]\n\n";

	cr_assert_eq(json_half("ai-1", "request", t0, true, "qwen", q), 202);
	cr_assert_eq(json_half("ai-1", "response", t0 + 0.5, true, "qwen", r), 202);
	cr_assert_eq(json_half("ai-2", "response", t0 + 1.25, true, "qwen", rs), 202);
	cr_assert_eq(json_half("ai-2", "request", t0 + 1, true, "qwen", qs), 202);
	/* a malformed OpenAI body is refused with its reason */
	cr_assert_eq(json_half("ai-3", "request", t0, true, "qwen", "{\"messages\":{}}"), 400);

	/* kserve_model is set here ({namespace}.{isvc}): it names the model. */
	struct lat l = wait_count("team-a.qwen", 2, true);
	cr_assert_eq(l.count, 2, "one event per pair");
	cr_expect(l.p50 >= 250 * 0.99 && l.p50 <= 500 * 1.01, "latency from ce-time: p50 %g",
	          l.p50);
	char *bin = h_bin("mlwatch"), *out = NULL, *err = NULL;
	char *argv[] = {bin,           "--db",    c.db, "latency", "--model",
	                "team-a.qwen", "--since", "1h", "--json",  NULL};
	cr_assert_eq(tt_run(argv, (char *[]){"TZ=UTC", NULL}, &out, &err, 20), 0, "%s", err);
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "invalid JSON: %.300s", out);
	const cJSON *llm = cJSON_GetObjectItem(j, "llm");
	cr_assert(cJSON_IsObject(llm), "no llm object: %.500s", out);
	cr_expect_eq(jget(llm, "requests", NULL), 2);
	cr_expect_eq(jget(llm, "input_tokens", NULL), 45 + 5, "usage.prompt_tokens summed");
	cr_expect_eq(jget(llm, "output_tokens", NULL), 67 + 1, "usage.completion_tokens summed");
	cr_expect_float_eq(jget(llm, "finish_reasons", "stop"), 0.5, 1e-12, "%.500s", out);
	cr_expect_float_eq(jget(llm, "finish_reasons", "length"), 0.5, 1e-12, "%.500s", out);
	cr_expect(isnan(jget(llm, "ttft_ms", "p50")), "no TTFT from a logger: %.500s", out);
	cJSON_Delete(j);
	free(out);
	free(err);
	free(bin);
}
