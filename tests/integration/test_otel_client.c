/* A real OpenTelemetry client that no one here wrote (issue 15 acceptance
 * 3): the Node.js SDK (@opentelemetry/sdk-trace-node) with the OTLP/HTTP
 * protobuf exporter and with the JSON exporter, versions pinned by
 * tests/otel/package-lock.json and installed with `npm ci` into the build
 * directory (once; again when the lock changes), sends LLM-style server
 * spans with gen_ai.* attributes (tests/otel/client.js) to the real agent;
 * the real collector stores them and `mlwatch latency --json` reports their
 * count, TTFT p50 / p99 (within 1%) and token sums exactly. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_proc.h"
#include "collector_proc.h"
#include "harness.h"
#include "tuitest.h"

static int run_sh(const char *script, double timeout_s, char **out, char **err)
{
	char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
	return tt_run(argv, (char *[]){"TZ=UTC", NULL}, out, err, timeout_s);
}

/* The client's directory under the build directory, with its pinned
 * node_modules. */
static char *client_dir(void)
{
	char *dir = h_bin("otel-client"), *src = h_src("tests/otel"), script[4096];
	char *out = NULL, *err = NULL;
	snprintf(script, sizeof(script),
	         "set -e; d='%s'; mkdir -p \"$d\"; cp '%s'/package.json '%s'/package-lock.json "
	         "'%s'/client.js \"$d\"/; cd \"$d\"; if ! cmp -s package-lock.json "
	         "node_modules/.mlwatch-lock; then npm ci --no-audit --no-fund --ignore-scripts "
	         "--loglevel=error; cp package-lock.json node_modules/.mlwatch-lock; fi",
	         dir, src, src, src);
	int rc = run_sh(script, 300, &out, &err);
	cr_assert_eq(rc, 0, "npm ci of the OpenTelemetry client failed (%d): %s %s", rc,
	             out ? out : "", err ? err : "");
	free(out);
	free(err);
	free(src);
	return dir;
}

static double ttft_ms(long i)
{
	return (0.05 + (double)((i * 7919) % 1000) / 10000.0) * 1000.0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static double jnum(const cJSON *o, const char *k1, const char *k2)
{
	const cJSON *x = cJSON_GetObjectItem(o, k1);
	if (k2)
		x = cJSON_GetObjectItem(x, k2);
	cr_assert(cJSON_IsNumber(x), "%s.%s missing", k1, k2 ? k2 : "");
	return x->valuedouble;
}

/* Sends n spans of model through the exporter `format`, waits for them in
 * the store and checks what mlwatch reports. */
static void send_and_check(const char *dir, struct agent_proc *a, struct cproc *c,
                           const char *format, const char *model, long n)
{
	char script[2048], sql[256], *out = NULL, *err = NULL;
	double t0 = h_now();

	snprintf(script, sizeof(script), "cd '%s' && node client.js '%s' %s %ld %s", dir, a->http,
	         format, n, model);
	int rc = run_sh(script, 120, &out, &err);
	cr_assert_eq(rc, 0, "client (%s) failed (%d): %s %s", format, rc, out ? out : "",
	             err ? err : "");
	fprintf(stderr, "otel client %s: %s", format, out ? out : "");
	free(out);
	free(err);
	snprintf(sql, sizeof(sql),
	         "SELECT total(l.llm) FROM window_llm l JOIN models m ON m.id = l.model_id "
	         "WHERE m.name = '%s'",
	         model);
	double end = h_now() + 20 * cproc_slow();
	while (db_int(c->db, sql) < n && h_now() < end)
		h_sleep(0.1);
	cr_assert_eq(db_int(c->db, sql), n, "%s: LLM events stored", model);
	fprintf(stderr, "otel client %s: %ld spans sent and stored in %.2f s\n", format, n,
	        h_now() - t0);

	char *bin = h_bin("mlwatch");
	char *argv[] = {bin,           "--db",    c->db, "latency", "--model",
	                (char *)model, "--since", "10m", "--json",  NULL};
	cr_assert_eq(tt_run(argv, (char *[]){"TZ=UTC", NULL}, &out, &err, 20), 0, "%s", err);
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "%.300s", out);
	const cJSON *l = cJSON_GetObjectItem(j, "llm");
	cr_assert(cJSON_IsObject(l), "no llm object: %.300s", out);
	long in_sum = 0, out_sum = 0;
	double *v = malloc((size_t)n * sizeof(*v));
	for (long i = 0; i < n; i++) {
		in_sum += 10 + i % 17;
		out_sum += 50 + i % 23;
		v[i] = ttft_ms(i);
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	double w50 = v[(size_t)floor(0.5 * (double)(n - 1))];
	double w99 = v[(size_t)floor(0.99 * (double)(n - 1))];
	free(v);
	cr_expect_eq(jnum(l, "requests", NULL), n, "count");
	cr_expect_eq(jnum(l, "input_tokens", NULL), in_sum, "input tokens exactly");
	cr_expect_eq(jnum(l, "output_tokens", NULL), out_sum, "output tokens exactly");
	cr_expect_float_eq(jnum(l, "finish_reasons", "length"), 0.2, 1e-12, "finish reasons");
	double p50 = jnum(l, "ttft_ms", "p50"), p99 = jnum(l, "ttft_ms", "p99");
	cr_expect(fabs(p50 - w50) <= 0.01 * w50, "TTFT p50 %g vs %g", p50, w50);
	cr_expect(fabs(p99 - w99) <= 0.01 * w99, "TTFT p99 %g vs %g", p99, w99);
	fprintf(stderr,
	        "otel client %s: mlwatch reports %.0f requests, tokens %.0f/%.0f (sent %ld/%ld), "
	        "TTFT p50 %.3f ms (exact %.3f) p99 %.3f ms (exact %.3f)\n",
	        format, jnum(l, "requests", NULL), jnum(l, "input_tokens", NULL),
	        jnum(l, "output_tokens", NULL), in_sum, out_sum, p50, w50, p99, w99);
	cJSON_Delete(j);
	free(out);
	free(err);
	free(bin);
}

Test(otel_client, node_sdk_protobuf_and_json_exporters, .timeout = 600)
{
	struct cproc c;
	struct agent_proc a;
	char *dir = client_dir();
	const char *cargs[] = {"--window", "10s", NULL};

	cproc_init(&c, "otelclient");
	cr_assert_eq(cproc_start(&c, cargs), 0, "collector did not start, see %s", c.log);
	cr_assert_eq(ap_init(&a, "otelclient"), 0);
	snprintf(a.collector, sizeof(a.collector), "%s", c.url);
	cr_assert_eq(ap_start(&a, NULL), 0, "agent did not start, see %s", a.log);

	send_and_check(dir, &a, &c, "proto", "llama-proto", 3000);
	send_and_check(dir, &a, &c, "json", "llama-json", 3000);
	cr_expect_eq(ap_metric(&a, "mlwatch_agent_events_received_total", "input=\"otlp\""), 6000);

	cr_assert_eq(ap_stop(&a), 0);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	ap_cleanup(&a);
	cproc_cleanup(&c);
	free(dir);
}
