/* The scriptable subcommands of the real `mlwatch` binary against a
 * database with known values: JSON shapes with stable names and types
 * (CONTRACT.md section 8), the values themselves, human tables, the two
 * writes (ack, silence), and errors with their exit status. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "../lib/dbgen.h"
#include "../lib/harness.h"
#include "../lib/tuitest.h"

static char *dir, *bin;
static char db[512], now_env[64];
static struct dbgen_opts opts;

static void setup(void)
{
	char err[512];

	dir = h_tmpdir("tuicmd");
	bin = h_bin("mlwatch");
	cr_assert(dir && bin);
	snprintf(db, sizeof(db), "%s/t.db", dir);
	memset(&opts, 0, sizeof(opts));
	opts.models = 3;
	opts.features = 4;
	opts.windows = 30;
	opts.events_per_window = 4;
	opts.open_window = true;
	dbgen_defaults(&opts, &opts); /* fixes now */
	snprintf(now_env, sizeof(now_env), "MLWATCH_NOW=%.3f", opts.now);
	cr_assert_eq(dbgen_fill(db, &opts, err, sizeof(err)), 0, "%s", err);
}

static void teardown(void)
{
	h_rmtree(dir);
	free(dir);
	free(bin);
}

TestSuite(tui_cmd, .init = setup, .fini = teardown, .timeout = 60);

/* Runs mlwatch with args (NULL-terminated); returns exit status. */
static int run(char **out, char **err, const char *a0, ...)
{
	char *argv[32];
	int n = 0;
	va_list ap;
	const char *a;

	argv[n++] = bin;
	va_start(ap, a0);
	for (a = a0; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return tt_run(argv, (char *[]){"TZ=UTC", now_env, NULL}, out, err, 20);
}

#define RUN_JSON(...)                                                                 \
	({                                                                            \
		char *out_ = NULL, *err_ = NULL;                                      \
		int rc_ = run(&out_, &err_, __VA_ARGS__, NULL);                       \
		cr_assert_eq(rc_, 0, "exit %d: %s", rc_, err_ ? err_ : "");           \
		cr_expect_str_eq(err_, "", "stderr not empty with --json: %s", err_); \
		cJSON *j_ = cJSON_Parse(out_);                                        \
		cr_assert_not_null(j_, "invalid JSON: %.300s", out_);                 \
		free(out_);                                                           \
		free(err_);                                                           \
		j_;                                                                   \
	})

#define EXPECT_KEYS(o, spec)                                                          \
	do {                                                                          \
		char why_[256];                                                       \
		cr_expect(tt_json_keys((o), (spec), why_, sizeof(why_)), "%s", why_); \
	} while (0)

static const char status_keys[] =
    "model:s,events:n,rps:n?,error_rate:n?,p50_ms:n?,p95_ms:n?,p99_ms:n?,accuracy:n?,"
    "est_accuracy:n?,label_coverage:n?,worst_feature:s?,worst_severity:n?,firing:n";

static cJSON *model_in(cJSON *arr, const char *name)
{
	cJSON *m;
	cJSON_ArrayForEach(m, arr)
	{
		cJSON *n = cJSON_GetObjectItem(m, "model");
		if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
			return m;
	}
	return NULL;
}

static double num(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

Test(tui_cmd, status_json_shape_and_values)
{
	cJSON *j = RUN_JSON("--db", db, "status", "--json");
	cJSON *models = cJSON_GetObjectItem(j, "models"), *m;
	struct dbgen_window w;

	cr_assert(cJSON_IsArray(models));
	cr_assert_eq(cJSON_GetArraySize(models), 3);
	cJSON_ArrayForEach(m, models) EXPECT_KEYS(m, status_keys);
	m = model_in(models, "fraud");
	cr_assert_not_null(m);
	dbgen_window(&opts, 0, opts.windows - 1, &w);
	cr_expect_float_eq(num(m, "rps"), (double)w.count / 60.0, 1e-9);
	cr_expect_float_eq(num(m, "p50_ms"), w.p50, 1e-9);
	cr_expect_float_eq(num(m, "p99_ms"), 400.0, 1e-9);
	cr_expect_float_eq(num(m, "error_rate"), (double)w.errors / (double)w.count, 1e-12);
	cr_expect_float_eq(num(m, "firing"), 1, 0);
	cr_expect_float_eq(num(m, "worst_severity"), 3.5, 1e-12);
	cr_expect_str_eq(cJSON_GetObjectItem(m, "worst_feature")->valuestring, "amount");
	m = model_in(models, "churn");
	cr_expect_float_eq(num(m, "firing"), 0, 0);
	cJSON_Delete(j);
}

Test(tui_cmd, global_flags_before_or_after_the_command)
{
	cJSON *a = RUN_JSON("status", "--json", "--db", db);
	cJSON *b = RUN_JSON("--json", "--db", db, "status");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(a, "models")), 3);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(b, "models")), 3);
	cJSON_Delete(a);
	cJSON_Delete(b);
}

Test(tui_cmd, latency_json)
{
	cJSON *j = RUN_JSON("--db", db, "latency", "--model", "fraud", "--since", "10m", "--json");
	cJSON *wins = cJSON_GetObjectItem(j, "windows"), *w;
	struct dbgen_window e;
	int i = 0;

	cr_expect_str_eq(cJSON_GetObjectItem(j, "model")->valuestring, "fraud");
	cr_assert(cJSON_IsArray(wins));
	/* windows starting in the last 10 minutes: 9 or 10 complete + the open one */
	cr_expect_geq(cJSON_GetArraySize(wins), 10);
	cr_expect_leq(cJSON_GetArraySize(wins), 11);
	cJSON_ArrayForEach(w, wins)
	{
		EXPECT_KEYS(w, "start:n,end:n,count:n,rps:n?,error_rate:n?,p50:n?,p90:n?,p95:n?,"
		               "p99:n?,p999:n?,max:n?,mean:n?,provisional:b");
		i++;
	}
	w = cJSON_GetArrayItem(wins, cJSON_GetArraySize(wins) - 1);
	dbgen_window(&opts, 0, opts.windows, &e);
	cr_expect_float_eq(num(w, "start"), (double)e.start, 0);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(w, "provisional")));
	cr_expect_float_eq(num(w, "count"), (double)e.count, 0);
	w = cJSON_GetArrayItem(wins, cJSON_GetArraySize(wins) - 2);
	dbgen_window(&opts, 0, opts.windows - 1, &e);
	cr_expect_float_eq(num(w, "p99"), 400.0, 1e-9);
	cr_expect_float_eq(num(w, "p95"), e.p95, 1e-9);
	cr_expect_float_eq(num(w, "rps"), (double)e.count / 60.0, 1e-9);
	cJSON_Delete(j);
}

Test(tui_cmd, drift_json)
{
	cJSON *j = RUN_JSON("--db", db, "drift", "--model", "fraud", "--since", "5m", "--json");
	cJSON *wins = cJSON_GetObjectItem(j, "windows"), *w, *f;

	cr_assert(cJSON_IsArray(wins));
	cr_assert_geq(cJSON_GetArraySize(wins), 5);
	cJSON_ArrayForEach(w, wins)
	{
		EXPECT_KEYS(w, "start:n,end:n,provisional:b,features:o");
		f = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "features"), "amount");
		EXPECT_KEYS(f, "kind:s,n:n,missing_rate:n?,type_error_rate:n?,out_of_range_rate:n?,"
		               "ks:n?,ks_p:n?,ks_p_method:s,wasserstein:n?,psi:n?,js:n?,method:s?,"
		               "score:n?,severity:n?,drifted:b?");
		cr_expect_str_eq(cJSON_GetObjectItem(f, "ks_p_method")->valuestring, "exact");
		cr_expect_str_eq(cJSON_GetObjectItem(f, "preset")->valuestring, "mlwatch");
		cr_expect_str_eq(cJSON_GetObjectItem(f, "kind")->valuestring, "numeric");
		cr_expect_float_eq(num(f, "severity"), 3.5, 1e-12);
		cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(f, "drifted")));
		f = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "features"), "country");
		EXPECT_KEYS(f, "kind:s,n:n,missing_rate:n?,chi2:n?,chi2_p:n?,chi2_dof:n,z:n,z_p:n,"
		               "js:n?,psi:n?,method:s?,score:n?,severity:n?,drifted:b?");
		cr_expect_eq(num(f, "chi2_dof"), 4);
		cr_expect_str_eq(cJSON_GetObjectItem(f, "kind")->valuestring, "categorical");
		cr_expect_str_eq(cJSON_GetObjectItem(f, "method")->valuestring, "chi2");
	}
	cJSON_Delete(j);

	j = RUN_JSON("--db", db, "drift", "--model", "fraud", "--feature", "country", "--json");
	wins = cJSON_GetObjectItem(j, "windows");
	cr_expect_eq(cJSON_GetArraySize(wins), opts.windows + 1);
	w = cJSON_GetArrayItem(wins, 0);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(w, "features")), 1);
	cJSON_Delete(j);
}

Test(tui_cmd, accuracy_json_keeps_null_keys)
{
	cJSON *j = RUN_JSON("--db", db, "accuracy", "--model", "fraud", "--json");
	cJSON *wins = cJSON_GetObjectItem(j, "windows"), *w, *last;
	struct dbgen_accuracy a;

	cr_assert_eq(cJSON_GetArraySize(wins), opts.windows + 1);
	cJSON_ArrayForEach(w, wins)
	    EXPECT_KEYS(w, "start:n,end:n,labelled:n,accuracy:n?,macro_f1:n?,mae:n?,rmse:n?,"
	                   "est_accuracy:n?,est_low:n?,est_high:n?,label_coverage:n?");
	last = cJSON_GetArrayItem(wins, opts.windows);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(last, "accuracy")));
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(last, "mae")));
	w = cJSON_GetArrayItem(wins, 0);
	dbgen_accuracy(&opts, 0, 0, &a);
	cr_expect_float_eq(num(w, "accuracy"), a.accuracy, 1e-12);
	cr_expect_float_eq(num(w, "labelled"), (double)a.labelled, 0);
	cr_expect_float_eq(num(w, "est_low"), a.est_low, 1e-12);
	cJSON_Delete(j);
}

static const char alert_keys[] = "id:n,rule:s,model:s,feature:s?,state:s,severity:s,since:n,"
                                 "value:n?,silenced:b,acked:b";

Test(tui_cmd, alerts_ack_and_silence)
{
	cJSON *j = RUN_JSON("--db", db, "alerts", "--json"), *a;
	char *out = NULL, *err = NULL;

	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "alerts")), 2);
	cJSON_ArrayForEach(a, cJSON_GetObjectItem(j, "alerts")) EXPECT_KEYS(a, alert_keys);
	a = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "alerts"), 0);
	cr_expect_str_eq(cJSON_GetObjectItem(a, "state")->valuestring, "firing");
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(a, "feature")));
	cr_expect_float_eq(num(a, "value"), 400, 0);
	cJSON_Delete(j);
	j = RUN_JSON("--db", db, "alerts", "--all", "--json");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "alerts")), 3);
	cJSON_Delete(j);

	cr_expect_eq(run(&out, &err, "--db", db, "ack", "1", NULL), 0, "%s", err);
	cr_expect(strstr(out, "acked alert 1"), "%s", out);
	free(out);
	free(err);
	j = RUN_JSON("--db", db, "silence", "p99-high", "--model", "fraud", "--for", "30m",
	             "--comment", "deploy in progress", "--json");
	EXPECT_KEYS(j, "id:n,rule:s,model:s,created:n,ends:n,comment:s");
	cr_expect_float_eq(num(j, "ends") - num(j, "created"), 1800, 1e-3);
	cJSON_Delete(j);
	j = RUN_JSON("--db", db, "alerts", "--json");
	a = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "alerts"), 0);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(a, "acked")));
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(a, "silenced")));
	a = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "alerts"), 1);
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(a, "silenced")));
	cJSON_Delete(j);

	cr_expect_eq(run(&out, &err, "--db", db, "ack", "999", NULL), 1);
	cr_expect(strstr(err, "mlwatch: error: no alert with id 999"), "%s", err);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "--db", db, "ack", "x1", NULL), 2);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "--db", db, "silence", "r", "--for", "soon", NULL), 2);
	cr_expect(strstr(err, "--for"), "%s", err);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "--db", db, "silence", "r", NULL), 2);
	free(out);
	free(err);
}

Test(tui_cmd, export_jsonl_and_csv)
{
	char *out = NULL, *err = NULL, *line, *save = NULL;
	int n = 0;

	cr_assert_eq(run(&out, &err, "--db", db, "export", "--model", "fraud", "--since", "1h",
	                 "--format", "jsonl", NULL),
	             0, "%s", err);
	for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		cJSON *e = cJSON_Parse(line);
		cr_assert_not_null(e, "bad line %s", line);
		EXPECT_KEYS(e, "model:s,id:s?,ts:n,latency_ms:n?,features:o,prediction:s?,"
		               "score:n?,label:s?");
		cJSON_Delete(e);
		n++;
	}
	cr_expect_eq(n, (opts.windows + 1) * opts.events_per_window);
	free(out);
	free(err);
	cr_assert_eq(
	    run(&out, &err, "--db", db, "export", "--model", "fraud", "--format", "csv", NULL), 0);
	{
		const char *head = "id,ts,latency_ms,error,version,prediction,score,label,amount,"
		                   "country,f02,f03\n";
		cr_expect_eq(strncmp(out, head, strlen(head)), 0, "%.100s", out);
	}
	n = 0;
	for (char *p = out; *p; p++)
		n += *p == '\n';
	cr_expect_eq(n, 1 + (opts.windows + 1) * opts.events_per_window);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "--db", db, "export", "--model", "fraud", NULL), 2);
	free(out);
	free(err);
	cr_expect_eq(
	    run(&out, &err, "--db", db, "export", "--model", "fraud", "--format", "xml", NULL), 2);
	free(out);
	free(err);
}

Test(tui_cmd, human_tables)
{
	char *out = NULL, *err = NULL;

	cr_assert_eq(run(&out, &err, "--db", db, "status", NULL), 0, "%s", err);
	cr_expect(strstr(out, "MODEL"), "%s", out);
	cr_expect(strstr(out, "fraud"), "%s", out);
	cr_expect(strstr(out, " 400 "), "%s", out);
	cr_expect(strstr(out, "amount"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(
	    run(&out, &err, "--db", db, "drift", "--model", "fraud", "--since", "2m", NULL), 0);
	cr_expect(strstr(out, "DRIFT"), "%s", out);
	free(out);
	free(err);
	cr_assert_eq(run(&out, &err, "--db", db, "alerts", NULL), 0);
	cr_expect(strstr(out, "p99-high"), "%s", out);
	cr_expect(strstr(out, "firing"), "%s", out);
	free(out);
	free(err);
}

Test(tui_cmd, errors_are_one_line_with_the_right_status)
{
	char *out = NULL, *err = NULL, *dbx;

	cr_expect_eq(run(&out, &err, "--db", db, "latency", NULL), 2);
	cr_expect_str_eq(err, "mlwatch: error: latency needs --model NAME\n");
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "--db", db, "latency", "--model", "nope", NULL), 1);
	cr_expect(strncmp(err, "mlwatch: error: no such model 'nope'", 35) == 0, "%s", err);
	free(out);
	free(err);
	dbx = h_src("nonexistent.db");
	cr_expect_eq(run(&out, &err, "--db", dbx, "status", NULL), 1);
	cr_expect(strstr(err, "no such database"), "%s", err);
	free(dbx);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "--db", db, "status", "--bogus", NULL), 2);
	cr_expect(strncmp(err, "mlwatch: error: ", 16) == 0, "%s", err);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "--db", db, "frobnicate", NULL), 2);
	free(out);
	free(err);
	cr_expect_eq(
	    run(&out, &err, "--db", db, "drift", "--model", "fraud", "--since", "-1h", NULL), 2);
	free(out);
	free(err);
}
