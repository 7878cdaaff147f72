/* Issue 14, acceptance 1: every drift case the peers publish
 * (../shared/testdata/peer-drift-tests/cases.json) through the whole
 * pipeline: a [model] per case with its source's drift_preset, method and
 * threshold in the config; the reference imported with `mlwatch reference
 * import`; the window's values posted to the real agent over HTTP, which
 * forwards them to the real collector; the value and verdict read back from
 * `mlwatch drift --json`. Prints "N/N values, N/N verdicts". (The DDSketch
 * cases are unit tests: they are not drift.) */
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

#define W        10
#define MAX_CASE 64

static cJSON *load_cases(void)
{
	char *path = h_shared("testdata/peer-drift-tests/cases.json");
	cJSON *doc = h_load_json(path);

	cr_assert(cJSON_IsArray(doc), "cannot read %s (set MLWATCH_SRC_DIR or MLWATCH_SHARED_DIR)",
	          path);
	free(path);
	return doc;
}

static const char *sget(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The case's method as mlwatch names it, and the drift --json key of the
 * value it asserts. */
static bool method_of(const char *peer, const char **name, const char **key)
{
	static const char *const map[][3] = {
	    {"ks", "ks", "ks_p"},
	    {"chisquare", "chi2", "chi2_p"},
	    {"z", "z", "z_p"},
	    {"psi", "psi", "psi"},
	    {"hellinger", "hellinger", "hellinger"},
	    {"l_infinity", "linf", "linf"},
	    {"jensenshannon", "js", "js"},
	    {"wasserstein", "wasserstein", "wasserstein"},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i][0], peer) == 0) {
			*name = map[i][1];
			*key = map[i][2];
			return true;
		}
	return false;
}

static const char *preset_of(const char *id)
{
	if (strncmp(id, "ev-", 3) == 0)
		return "evidently";
	if (strncmp(id, "nm-", 3) == 0)
		return "nannyml";
	return "mlwatch"; /* Alibi Detect: mlwatch's own tests are its tests */
}

static double threshold_of(const cJSON *params)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(params, "threshold");
	const cJSON *pv = cJSON_GetObjectItemCaseSensitive(params, "p_val");
	const char *rule = sget(params, "drift_if");

	if (cJSON_IsNumber(t))
		return t->valuedouble;
	if (cJSON_IsNumber(pv))
		return rule && strstr(rule, "p_val/6") ? pv->valuedouble / 6 : pv->valuedouble;
	return 0;
}

/* A value as JSON for the feature: categorical ones as strings ("1" for
 * 1), numeric ones as numbers; false for a missing value (null, "inf"). */
static bool value_json(const cJSON *v, bool categorical, char *buf, size_t len)
{
	if (cJSON_IsString(v)) {
		if (strcmp(v->valuestring, "inf") == 0)
			return false;
		snprintf(buf, len, "\"%s\"", v->valuestring);
		return true;
	}
	if (!cJSON_IsNumber(v))
		return false;
	snprintf(buf, len, categorical ? "\"%.17g\"" : "%.17g", v->valuedouble);
	return true;
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

Test(peer_pipeline, every_peer_drift_case_through_agent_collector_and_cli, .timeout = 600)
{
	cJSON *doc = load_cases(), *c;
	const cJSON *cases[MAX_CASE];
	int n = 0, values = 0, values_ok = 0, verdicts = 0, verdicts_ok = 0, rules_chunks = 0;
	struct cproc col;
	struct agent_proc ag;
	char conf[600], path[700], args[2048], *out;
	int64_t start = (int64_t)clock_now() / W * W - 3 * W;
	FILE *f;

	cJSON_ArrayForEach(c, doc) if (strcmp(sget(c, "method"), "ddsketch_quantile") != 0)
	{
		cr_assert_lt(n, MAX_CASE);
		cases[n++] = c;
	}
	cproc_init(&col, "peer-pipe");
	/* One [model cNN] per case: its preset, method (unless the case is
	 * about the default choice) and threshold. */
	snprintf(conf, sizeof(conf), "%s/mlwatch.conf", col.dir);
	f = fopen(conf, "w");
	cr_assert_not_null(f);
	/* The peers assert verdicts on windows of 2-20 values: no minimum
	 * sample here (mlwatch's default of 100 would say insufficient). */
	fprintf(f, "[collector]\ndrift_min_sample = 1\n\n");
	for (int i = 0; i < n; i++) {
		const cJSON *params = cJSON_GetObjectItem(cases[i], "params");
		const char *st = sget(params, "stattest"), *mname, *key;
		double thr = threshold_of(params);

		cr_assert(method_of(sget(cases[i], "method"), &mname, &key), "%s: no method",
		          sget(cases[i], "id"));
		fprintf(f, "[model c%02d]\ndrift_preset = %s\nkind.x = %s\n", i,
		        preset_of(sget(cases[i], "id")), sget(cases[i], "kind"));
		if (!st || strncmp(st, "default", 7) != 0)
			fprintf(f, "method.x = %s\n", mname);
		if (thr > 0)
			fprintf(f, "threshold.x = %.17g\n", thr);
	}
	fclose(f);
	{
		const char *cargs[] = {"--config",           conf,    "--window", "10s",
		                       "--analyze-interval", "300ms", NULL};

		cr_assert_eq(cproc_start(&col, cargs), 0, "collector did not start, see %s",
		             col.log);
	}
	/* References, imported as JSONL events. */
	for (int i = 0; i < n; i++) {
		bool cat = strcmp(sget(cases[i], "kind"), "categorical") == 0;
		const cJSON *v;
		char val[64];

		snprintf(path, sizeof(path), "%s/ref%02d.jsonl", col.dir, i);
		f = fopen(path, "w");
		cr_assert_not_null(f);
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(cases[i], "reference"))
		{
			if (value_json(v, cat, val, sizeof(val)))
				fprintf(f, "{\"model\":\"c%02d\",\"features\":{\"x\":%s}}\n", i,
				        val);
			else
				fprintf(f, "{\"model\":\"c%02d\",\"features\":{}}\n", i);
		}
		fclose(f);
		snprintf(args, sizeof(args),
		         "--config %s --db %s reference import --model c%02d %s", conf, col.db, i,
		         path);
		cr_assert_eq(run_mlwatch(col.dir, args, &out), 0, "%s: %s", sget(cases[i], "id"),
		             out);
		free(out);
	}
	cr_assert_eq(ap_init(&ag, "peer-pipe"), 0);
	snprintf(ag.collector, sizeof(ag.collector), "%s", col.url);
	cr_assert_eq(ap_start(&ag, NULL), 0, "agent did not start, see %s", ag.log);
	/* The window: every current value as one event, posted to the agent. */
	for (int i = 0; i < n; i++) {
		static const char *const hdr[] = {"Content-Type: application/x-ndjson", NULL};
		bool cat = strcmp(sget(cases[i], "kind"), "categorical") == 0;
		size_t cap = 256 * 1024, len = 0;
		char *body = malloc(cap), val[64];
		const cJSON *v;
		int k = 0;
		long st = -1;

		cr_assert_not_null(body);
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(cases[i], "current"))
		{
			const char *x = value_json(v, cat, val, sizeof(val)) ? val : NULL;

			cr_assert_lt(len + 256, cap);
			len +=
			    (size_t)snprintf(body + len, cap - len,
			                     "{\"model\":\"c%02d\",\"id\":\"c%02d-%d\",\"ts\":%.3f,"
			                     "\"latency_ms\":1,\"features\":{%s%s}}\n",
			                     i, i, k, (double)start + 1 + (double)(k % 8),
			                     x ? "\"x\":" : "", x ? x : "");
			k++;
		}
		for (int attempt = 0; attempt < 50 && st != 202; attempt++) {
			st = ap_post(&ag, "/v1/events", body, len, hdr, false, NULL);
			if (st != 202)
				h_sleep(0.1); /* 503 while the agent is full */
		}
		cr_assert_eq(st, 202, "%s: agent answered %ld", sget(cases[i], "id"), st);
		free(body);
	}
	/* Wait until every case's window is analysed and final. */
	{
		char sql[300];
		double end = h_now() + 60 * cproc_slow();

		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM windows WHERE start = %lld AND provisional = 0 AND "
		         "dirty = 0",
		         (long long)start);
		while (db_int(col.db, sql) < n && h_now() < end)
			h_sleep(0.2);
		cr_assert_eq(db_int(col.db, sql), n, "windows not final, see %s", col.log);
	}
	for (int i = 0; i < n; i++) {
		const cJSON *cs = cases[i];
		const char *id = sget(cs, "id"), *mname = NULL, *key = NULL;
		const cJSON *exp = cJSON_GetObjectItem(cs, "expected");
		const cJSON *want = cJSON_GetObjectItem(exp, "value");
		const cJSON *drifted = cJSON_GetObjectItem(exp, "drifted");
		const cJSON *tt = cJSON_GetObjectItem(exp, "tolerance_type");
		cJSON *j, *w = NULL, *x, *got;

		cr_assert(method_of(sget(cs, "method"), &mname, &key));
		snprintf(args, sizeof(args), "--db %s drift --model c%02d --since 1h --json",
		         col.db, i);
		cr_assert_eq(run_mlwatch(col.dir, args, &out), 0, "%s: %s", id, out);
		j = cJSON_Parse(out);
		cr_assert_not_null(j, "%s: %s", id, out);
		cJSON_ArrayForEach(
		    w,
		    cJSON_GetObjectItem(
		        j, "windows")) if ((int64_t)cJSON_GetObjectItem(w, "start")->valuedouble ==
		                           start) break;
		cr_assert_not_null(w, "%s: no window %lld in %s", id, (long long)start, out);
		x = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "features"), "x");
		cr_assert_not_null(x, "%s: no feature x in %s", id, out);
		cr_expect_str_eq(sget(x, "preset"), preset_of(id), "%s preset", id);
		{
			/* where the threshold came from: NannyML's ks and
			 * wasserstein take theirs from the reference's chunks */
			double thr = threshold_of(cJSON_GetObjectItem(cs, "params"));
			bool chunks =
			    strcmp(preset_of(id), "nannyml") == 0 &&
			    (strcmp(mname, "ks") == 0 || strcmp(mname, "wasserstein") == 0);
			const char *rule = sget(x, "threshold_rule");

			cr_expect_str_eq(rule ? rule : "(none)",
			                 thr > 0  ? "configured"
			                 : chunks ? "reference_chunks"
			                          : "default",
			                 "%s threshold_rule", id);
			rules_chunks += chunks && !(thr > 0);
		}
		if (cJSON_IsNumber(want)) {
			double tol = cJSON_GetObjectItem(exp, "tolerance")->valuedouble, v, err;
			bool rel = cJSON_IsString(tt) && strncmp(tt->valuestring, "rel", 3) == 0;

			values++;
			got = cJSON_GetObjectItem(x, key);
			cr_expect(cJSON_IsNumber(got), "%s: no %s in %s", id, key, out);
			v = cJSON_IsNumber(got) ? got->valuedouble : NAN;
			err = rel ? fabs(v - want->valuedouble) / fabs(want->valuedouble)
			          : fabs(v - want->valuedouble);
			cr_expect(err <= tol + 1e-12,
			          "%s: %s = %.10g via the pipeline, asserted %.10g +- %g", id, key,
			          v, want->valuedouble, tol);
			values_ok += err <= tol + 1e-12;
		}
		if (cJSON_IsBool(drifted)) {
			bool ok = cJSON_IsTrue(cJSON_GetObjectItem(x, "drifted")) ==
			          cJSON_IsTrue(drifted);

			verdicts++;
			cr_expect(ok, "%s: drifted differs (%s)", id, out);
			verdicts_ok += ok;
		}
		cJSON_Delete(j);
		free(out);
	}
	printf("peer cases through agent, collector and `mlwatch drift --json` (%d): %d/%d "
	       "values, %d/%d verdicts (%d with reference-chunk thresholds)\n",
	       n, values_ok, values, verdicts_ok, verdicts, rules_chunks);
	cr_expect_geq(rules_chunks, 1);
	cr_expect_eq(values_ok, values);
	cr_expect_eq(verdicts_ok, verdicts);
	ap_stop(&ag);
	ap_cleanup(&ag);
	cproc_stop(&col, SIGTERM);
	cproc_cleanup(&col);
	cJSON_Delete(doc);
}
