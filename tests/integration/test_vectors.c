/* Vector (embedding) features end to end (issue 19):
 *  - acceptance 3 through the pipeline: a reference of 384-dim embeddings
 *    imported with `mlwatch reference import` (JSONL), a stationary window
 *    and then a window whose mean moved by 0.5 sd along a random direction
 *    posted to the real agent, forwarded to the real collector; every
 *    method (cosine, euclidean, MMD, the classifier, pca_ks) flags the
 *    shifted window (the first full one after the stationary one) in
 *    `mlwatch drift --json` and so does the row's verdict, the stationary
 *    one is not drift;
 *  - acceptance 5 at the agent: NaN, 10^6 dimensions, mixed types and
 *    ragged dimensions refused with the right status and counter. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../lib/agent_proc.h"
#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "clock.h"
#include "sample.h"

#define W     10
#define DIM   384
#define N_REF 20000
#define N_WIN 5000
#define CHUNK 250 /* events per request */

static const char *const ndjson[] = {"Content-Type: application/x-ndjson", NULL};

static double gauss(struct sample_rng *r)
{
	double u1 = 1.0 - sample_rng_double(r), u2 = sample_rng_double(r);

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* A synthetic embedding model as test_embedding's: a non-zero mean and a
 * decaying spectrum, plus the 0.5 sd shift along a random unit direction. */
struct model {
	double mu[DIM], sd[DIM], shift[DIM];
};

static void model_init(struct model *m, struct sample_rng *r)
{
	double u[DIM], norm = 0, sdu = 0;

	for (size_t j = 0; j < DIM; j++) {
		m->mu[j] = 0.3 * gauss(r);
		m->sd[j] = 1.0 / sqrt(1.0 + (double)j / 16.0);
		u[j] = gauss(r);
		norm += u[j] * u[j];
	}
	for (size_t j = 0; j < DIM; j++) {
		u[j] /= sqrt(norm);
		sdu += u[j] * u[j] * m->sd[j] * m->sd[j];
	}
	for (size_t j = 0; j < DIM; j++)
		m->shift[j] = 0.5 * sqrt(sdu) * u[j];
}

/* One embedding as a JSON array into buf; returns its length. */
static size_t emb_json(const struct model *m, bool shifted, struct sample_rng *r, char *buf,
                       size_t cap)
{
	size_t len = 0;

	buf[len++] = '[';
	for (size_t j = 0; j < DIM; j++) {
		double v = m->mu[j] + m->sd[j] * gauss(r) + (shifted ? m->shift[j] : 0);
		len += (size_t)snprintf(buf + len, cap - len, "%s%.6g", j ? "," : "", v);
		cr_assert_lt(len + 32, cap);
	}
	buf[len++] = ']';
	buf[len] = '\0';
	return len;
}

static int run_mlwatch(const char *dir, const char *args, char **out)
{
	char cmd[4096], log[700];
	char *bin = h_bin("mlwatch");
	int rc;

	snprintf(log, sizeof(log), "%s/mlwatch.out", dir);
	snprintf(cmd, sizeof(cmd), "%s %s >%s 2>&1", bin, args, log);
	free(bin);
	rc = system(cmd);
	*out = h_read_file(log, NULL);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Posts N_WIN events of window start (shifted or not) to the agent. */
static void post_window(struct agent_proc *ag, const struct model *m, struct sample_rng *r,
                        int64_t start, bool shifted, const char *tag)
{
	size_t cap = (size_t)CHUNK * (DIM * 16 + 256);
	char *body = malloc(cap), *emb = malloc(DIM * 16 + 64);

	cr_assert(body && emb);
	for (int k0 = 0; k0 < N_WIN; k0 += CHUNK) {
		size_t len = 0;
		long st = -1;

		for (int k = k0; k < k0 + CHUNK && k < N_WIN; k++) {
			emb_json(m, shifted, r, emb, DIM * 16 + 64);
			len += (size_t)snprintf(body + len, cap - len,
			                        "{\"model\":\"enc\",\"id\":\"%s-%d\",\"ts\":%.3f,"
			                        "\"latency_ms\":1,\"features\":{\"emb\":%s}}\n",
			                        tag, k, (double)start + 0.5 + (double)(k % 9), emb);
			cr_assert_lt(len, cap);
		}
		for (int attempt = 0; attempt < 100 && st != 202; attempt++) {
			st = ap_post(ag, "/v1/events", body, len, ndjson, false, NULL);
			if (st != 202)
				h_sleep(0.1); /* 503 while the agent is full */
		}
		cr_assert_eq(st, 202, "agent answered %ld", st);
	}
	free(body);
	free(emb);
}

static cJSON *window_feature(cJSON *doc, int64_t start, const char *feature)
{
	cJSON *w;

	cJSON_ArrayForEach(w, cJSON_GetObjectItem(doc, "windows"))
	{
		if ((int64_t)cJSON_GetObjectItem(w, "start")->valuedouble == start)
			return cJSON_GetObjectItem(cJSON_GetObjectItem(w, "features"), feature);
	}
	return NULL;
}

Test(vectors, half_sd_shift_caught_by_every_embedding_method_through_the_pipeline, .timeout = 600)
{
	struct sample_rng r;
	struct model m;
	struct cproc col;
	struct agent_proc ag;
	char path[700], args[2048], *out, *emb = malloc(DIM * 16 + 64);
	int64_t now = (int64_t)clock_now(), calm = now / W * W - 4 * W, moved = calm + W;
	FILE *f;

	cr_assert_not_null(emb);
	sample_rng_seed(&r, 384);
	model_init(&m, &r);
	cproc_init(&col, "vectors");
	{
		const char *cargs[] = {"--window", "10s", "--analyze-interval", "300ms", NULL};
		cr_assert_eq(cproc_start(&col, cargs), 0, "collector did not start, see %s",
		             col.log);
	}
	/* The reference: N_REF stationary embeddings, JSONL. */
	snprintf(path, sizeof(path), "%s/ref.jsonl", col.dir);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	for (int i = 0; i < N_REF; i++) {
		emb_json(&m, false, &r, emb, DIM * 16 + 64);
		fprintf(f, "{\"model\":\"enc\",\"features\":{\"emb\":%s}}\n", emb);
	}
	fclose(f);
	snprintf(args, sizeof(args), "--db %s reference import --model enc %s", col.db, path);
	double t0 = h_now();
	cr_assert_eq(run_mlwatch(col.dir, args, &out), 0, "%s", out);
	printf("vectors: reference of %d x %d imported in %.2f s\n", N_REF, DIM, h_now() - t0);
	cr_expect(strstr(out, "1 feature (0 numeric, 0 categorical, 1 vector)"), "%s", out);
	free(out);
	snprintf(args, sizeof(args), "--db %s reference show --model enc --json", col.db);
	cr_assert_eq(run_mlwatch(col.dir, args, &out), 0, "%s", out);
	cr_expect(strstr(out, "\"kind\":\"vector\"") && strstr(out, "\"dim\":384"), "%s", out);
	free(out);

	cr_assert_eq(ap_init(&ag, "vectors"), 0);
	snprintf(ag.collector, sizeof(ag.collector), "%s", col.url);
	cr_assert_eq(ap_start(&ag, NULL), 0, "agent did not start, see %s", ag.log);
	post_window(&ag, &m, &r, calm, false, "calm");
	post_window(&ag, &m, &r, moved, true, "moved");
	{
		char sql[300];
		double end = h_now() + 120 * cproc_slow();

		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM drift WHERE feature = 'emb' AND start IN (%lld, "
		         "%lld) AND n = %d AND insufficient = 0",
		         (long long)calm, (long long)moved, N_WIN);
		while (db_int(col.db, sql) < 2 && h_now() < end)
			h_sleep(0.3);
		cr_assert_eq(db_int(col.db, sql), 2, "windows not analysed, see %s", col.log);
	}
	snprintf(args, sizeof(args), "--db %s drift --model enc --since 1h --json", col.db);
	cr_assert_eq(run_mlwatch(col.dir, args, &out), 0, "%s", out);
	cJSON *doc = cJSON_Parse(out);
	cr_assert_not_null(doc, "%s", out);
	cJSON *a = window_feature(doc, calm, "emb"), *b = window_feature(doc, moved, "emb");
	cr_assert(a && b, "%s", out);
	cr_expect_str_eq(cJSON_GetObjectItem(b, "kind")->valuestring, "vector");
	cr_expect_str_eq(cJSON_GetObjectItem(b, "method")->valuestring, "embedding");
	static const char *const methods[] = {"cosine", "euclidean", "mmd", "classifier", "pca_ks"};
	int calm_flags = 0, shifted_flags = 0;
	for (size_t k = 0; k < 5; k++) {
		cJSON *ma = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "methods"), methods[k]);
		cJSON *mb = cJSON_GetObjectItem(cJSON_GetObjectItem(b, "methods"), methods[k]);
		cr_assert(ma && mb, "no %s in %s", methods[k], out);
		printf("vectors: %-10s stationary stat %.6g (threshold %.6g, p %.4g)  shifted stat "
		       "%.6g (threshold %.6g, p %.4g) %s\n",
		       methods[k], cJSON_GetObjectItem(ma, "stat")->valuedouble,
		       cJSON_GetObjectItem(ma, "threshold")->valuedouble,
		       cJSON_GetObjectItem(ma, "p")->valuedouble,
		       cJSON_GetObjectItem(mb, "stat")->valuedouble,
		       cJSON_GetObjectItem(mb, "threshold")->valuedouble,
		       cJSON_GetObjectItem(mb, "p")->valuedouble,
		       cJSON_IsTrue(cJSON_GetObjectItem(mb, "drifted")) ? "DRIFT" : "missed");
		cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(mb, "drifted")), "%s missed the shift",
		          methods[k]);
		shifted_flags += cJSON_IsTrue(cJSON_GetObjectItem(mb, "drifted"));
		calm_flags += cJSON_IsTrue(cJSON_GetObjectItem(ma, "drifted"));
	}
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(b, "drifted")));
	cr_expect_eq(cJSON_GetObjectItem(b, "score")->valuedouble, shifted_flags);
	cr_expect_eq(shifted_flags, 5);
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(a, "drifted")), "stationary window: %d methods",
	          calm_flags);
	cr_expect_leq(calm_flags, 1, "stationary window flagged by %d methods", calm_flags);
	cJSON_Delete(doc);
	free(out);
	/* the stored event gives its vector back */
	snprintf(args, sizeof(args), "--db %s export --model enc --since 1h --format jsonl",
	         col.db);
	cr_assert_eq(run_mlwatch(col.dir, args, &out), 0, "%s", out);
	cr_expect(strstr(out, "\"emb\":[") != NULL, "export lost the vectors: %.300s", out);
	free(out);
	/* CSV: the vector as a JSON-array cell, which reference import reads back */
	snprintf(args, sizeof(args), "--db %s export --model enc --since 1h --format csv", col.db);
	cr_assert_eq(run_mlwatch(col.dir, args, &out), 0, "%s", out);
	snprintf(path, sizeof(path), "%s/export.csv", col.dir);
	cr_assert_eq(h_write_file(path, out, strlen(out)), 0);
	free(out);
	snprintf(args, sizeof(args), "--db %s reference import --model enc2 %s/export.csv", col.db,
	         col.dir);
	cr_assert_eq(run_mlwatch(col.dir, args, &out), 0, "%s", out);
	free(out);
	snprintf(args, sizeof(args), "--db %s reference show --model enc2 --json", col.db);
	cr_assert_eq(run_mlwatch(col.dir, args, &out), 0, "%s", out);
	cr_expect(strstr(out, "\"kind\":\"vector\"") && strstr(out, "\"dim\":384") &&
	              strstr(out, "\"n\":10000"),
	          "CSV export read back: %.400s", out);
	free(out);
	ap_stop(&ag);
	ap_cleanup(&ag);
	cproc_stop(&col, SIGTERM);
	cproc_cleanup(&col);
	free(emb);
}

/* Posts body; expects status and the counter of reason to move by one. */
static void refused(struct agent_proc *ag, const char *body, long status, const char *reason)
{
	char labels[64], *resp = NULL;
	double before;
	long st;

	snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
	before = ap_metric(ag, "mlwatch_agent_vectors_refused_total", labels);
	st = ap_post(ag, "/v1/events", body, strlen(body), NULL, false, &resp);
	cr_expect_eq(st, status, "%s: status %ld (%s)", reason, st, resp ? resp : "");
	cr_expect(resp && strstr(resp, "features.emb"), "%s: the answer names the feature: %s",
	          reason, resp ? resp : "");
	cr_expect_eq(ap_metric(ag, "mlwatch_agent_vectors_refused_total", labels), before + 1,
	             "%s counter", reason);
	free(resp);
}

Test(vectors, hostile_vectors_are_refused_with_status_and_counter, .timeout = 120)
{
	struct agent_proc ag;
	size_t cap = 3u * 1000000u + 256, len = 0;
	char *big = malloc(cap);
	char *resp = NULL;

	cr_assert_not_null(big);
	cr_assert_eq(ap_init(&ag, "vec-hostile"), 0);
	cr_assert_eq(ap_start(&ag, NULL), 0, "agent did not start, see %s", ag.log);
	/* the first vector fixes the dimension (3) */
	const char *ok = "{\"model\":\"enc\",\"features\":{\"emb\":[0.5,-1,2e-3]}}";
	cr_assert_eq(ap_post(&ag, "/v1/events", ok, strlen(ok), NULL, false, NULL), 202);
	/* 1e999 is read as inf: not a finite float32 */
	refused(&ag, "{\"model\":\"enc\",\"features\":{\"emb\":[0.5,1e999,1]}}", 400, "nonfinite");
	refused(&ag, "{\"model\":\"enc\",\"features\":{\"emb\":[0.5,1e39,1]}}", 400, "nonfinite");
	refused(&ag, "{\"model\":\"enc\",\"features\":{\"emb\":[0.5,\"x\",1]}}", 400, "not_number");
	refused(&ag, "{\"model\":\"enc\",\"features\":{\"emb\":[0.5,[1],1]}}", 400, "not_number");
	refused(&ag, "{\"model\":\"enc\",\"features\":{\"emb\":[]}}", 400, "empty");
	refused(&ag, "{\"model\":\"enc\",\"features\":{\"emb\":[1,2]}}", 400, "dim_mismatch");
	/* ragged inside one request: refused whole, nothing fixed */
	refused(&ag,
	        "[{\"model\":\"two\",\"features\":{\"emb\":[1,2]}},"
	        "{\"model\":\"two\",\"features\":{\"emb\":[1,2,3]}}]",
	        400, "dim_mismatch");
	const char *two = "{\"model\":\"two\",\"features\":{\"emb\":[1,2,3,4]}}";
	cr_expect_eq(ap_post(&ag, "/v1/events", two, strlen(two), NULL, false, NULL), 202,
	             "a refused request fixed no dimension");
	/* 10^6 dimensions: too large */
	len = (size_t)snprintf(big, cap, "{\"model\":\"enc\",\"features\":{\"emb\":[");
	for (int i = 0; i < 1000000; i++) {
		memcpy(big + len, i ? ",1" : "1", i ? 2 : 1);
		len += i ? 2 : 1;
	}
	len += (size_t)snprintf(big + len, cap - len, "]}}");
	refused(&ag, big, 413, "too_long");
	/* NaN is not JSON: the body is malformed */
	const char *nan = "{\"model\":\"enc\",\"features\":{\"emb\":[NaN,1,2]}}";
	double mal = ap_metric(&ag, "mlwatch_agent_rejected_total", "reason=\"malformed\"");
	cr_expect_eq(ap_post(&ag, "/v1/events", nan, strlen(nan), NULL, false, &resp), 400);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_rejected_total", "reason=\"malformed\""),
	             mal + 1);
	free(resp);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_rejected_total", "reason=\"too_large\""), 1);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_events_received_total", NULL), 2);
	ap_stop(&ag);
	ap_cleanup(&ag);
	free(big);
}
