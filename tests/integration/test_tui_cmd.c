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
#include <time.h>

#include <cJSON.h>
#include <sqlite3.h>

#include "../../common/ddsketch.h"
#include "../../common/store/store_rollup.h"

#include "../lib/collector_proc.h"
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

/* Sets a window of model 1 (fraud): count, errors and a sketch of `count`
 * latencies of ms each. */
static void set_window(sqlite3 *h, int64_t start, int64_t count, int64_t errors, double ms)
{
	struct ddsketch *sk = ddsketch_new();
	uint8_t *blob = NULL;
	size_t len = 0;
	sqlite3_stmt *st = NULL;

	cr_assert_not_null(sk);
	cr_assert_eq(ddsketch_add_n(sk, ms, (uint64_t)count), 0);
	cr_assert_eq(ddsketch_encode_alloc(sk, &blob, &len), 0);
	cr_assert_eq(sqlite3_prepare_v2(h,
	                                "UPDATE windows SET count = ?2, errors = ?3, "
	                                "latency_sketch = ?4 WHERE start = ?1 AND model_id = "
	                                "(SELECT id FROM models WHERE name = 'fraud')",
	                                -1, &st, NULL),
	             SQLITE_OK, "%s", sqlite3_errmsg(h));
	sqlite3_bind_int64(st, 1, start);
	sqlite3_bind_int64(st, 2, count);
	sqlite3_bind_int64(st, 3, errors);
	sqlite3_bind_blob(st, 4, blob, (int)len, SQLITE_TRANSIENT);
	cr_assert_eq(sqlite3_step(st), SQLITE_DONE, "%s", sqlite3_errmsg(h));
	cr_assert_eq(sqlite3_changes(h), 1, "no window at %lld", (long long)start);
	sqlite3_finalize(st);
	free(blob);
	ddsketch_free(sk);
}

/* Issue 13 finding 8: in the first minutes, status showed the previous
 * window (0.03 req/s with 50/s flowing). The last 60 s are shown beside the
 * last closed window, each labelled. */
Test(tui_cmd, status_shows_the_last_60s_beside_the_last_window)
{
	int64_t base = (int64_t)floor(opts.now / 60) * 60;
	sqlite3 *h = NULL;
	cJSON *j, *m, *live;
	char *out = NULL, *err = NULL;
	const char *l;

	/* the closed window: 2 requests (traffic began at its end) at 10 ms;
	 * the open one, 30 s old: 1500 requests (50/s), 15 errors, at 100 ms */
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	set_window(h, base - 60, 2, 0, 10.0);
	set_window(h, base, 1500, 15, 100.0);
	sqlite3_close(h);
	snprintf(now_env, sizeof(now_env), "MLWATCH_NOW=%lld", (long long)base + 30);

	j = RUN_JSON("--db", db, "status", "--json");
	m = model_in(cJSON_GetObjectItem(j, "models"), "fraud");
	cr_assert_not_null(m);
	/* the last closed window, as before */
	cr_expect_float_eq(num(m, "rps"), 2.0 / 60.0, 1e-9);
	cr_expect_float_eq(num(m, "window_end"), (double)base, 0);
	live = cJSON_GetObjectItem(m, "live");
	cr_assert(cJSON_IsObject(live), "no live object");
	EXPECT_KEYS(live, "seconds:n,from:n,to:n,events:n,rps:n,error_rate:n?,p50_ms:n?,"
	                  "p95_ms:n?,p99_ms:n?");
	cr_expect_eq(num(live, "seconds"), 60);
	cr_expect_float_eq(num(live, "from"), (double)base - 30, 1e-9);
	cr_expect_float_eq(num(live, "to"), (double)base + 30, 1e-9);
	/* 1500 of the open window + half of the closed one's 2 */
	cr_expect_float_eq(num(live, "events"), 1501, 1e-9);
	cr_expect_float_eq(num(live, "rps"), 1501.0 / 60.0, 1e-9);
	cr_expect_float_eq(num(live, "error_rate"), 15.0 / 1501.0, 1e-9);
	cr_expect_float_eq(num(live, "p99_ms"), 100.0, 1.0); /* DDSketch: 1% */
	cr_expect_float_eq(num(live, "p50_ms"), 100.0, 1.0);
	cJSON_Delete(j);

	/* without traffic in the last 60 s: 0 req/s, no latency */
	snprintf(now_env, sizeof(now_env), "MLWATCH_NOW=%lld", (long long)base + 600);
	j = RUN_JSON("--db", db, "status", "--json");
	live = cJSON_GetObjectItem(model_in(cJSON_GetObjectItem(j, "models"), "fraud"), "live");
	cr_expect_eq(num(live, "rps"), 0);
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(live, "p99_ms")));
	cJSON_Delete(j);

	/* the table: both, labelled */
	snprintf(now_env, sizeof(now_env), "MLWATCH_NOW=%lld", (long long)base + 30);
	cr_assert_eq(run(&out, &err, "--db", db, "status", NULL), 0, "%s", err);
	cr_expect(strstr(out, "RPS(60s)") && strstr(out, "RPS(win)"), "%s", out);
	l = strstr(out, "fraud");
	cr_assert_not_null(l, "%s", out);
	cr_expect(strstr(l, " 25.0 ") || strstr(l, " 25 "), "live rps not in: %s", out);
	cr_expect(strstr(out, "(60s): live, the last 60 s"), "%s", out);
	cr_expect(strstr(out, "(win): the last closed window"), "%s", out);
	free(out);
	free(err);
}

/* Issue 13 finding 15: the accuracy table did not mark the open window with
 * "*" as mlwatch(1) says (the latency and drift tables did). */
Test(tui_cmd, accuracy_table_marks_the_open_window)
{
	int64_t base = (int64_t)floor(opts.now / 60) * 60;
	char *out = NULL, *err = NULL, t[64], want[80];
	time_t ts = (time_t)base;
	struct tm tmv;
	cJSON *j, *w, *last = NULL;

	gmtime_r(&ts, &tmv);
	strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S", &tmv);
	cr_assert_eq(
	    run(&out, &err, "--db", db, "accuracy", "--model", "fraud", "--since", "5m", NULL), 0,
	    "%s", err);
	snprintf(want, sizeof(want), "%s*", t);
	cr_expect(strstr(out, want), "the open window %s is not marked in:\n%s", t, out);
	ts = (time_t)(base - 60);
	gmtime_r(&ts, &tmv);
	strftime(t, sizeof(t), "%Y-%m-%d %H:%M:%S", &tmv);
	snprintf(want, sizeof(want), "%s ", t);
	cr_expect(strstr(out, want), "the closed window %s is marked in:\n%s", t, out);
	free(out);
	free(err);
	j = RUN_JSON("--db", db, "accuracy", "--model", "fraud", "--since", "5m", "--json");
	cJSON_ArrayForEach(w, cJSON_GetObjectItem(j, "windows"))
	{
		EXPECT_KEYS(w, "provisional:b");
		last = w;
	}
	cr_assert_not_null(last);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(last, "provisional")));
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

/* --since 5h --step 1h (issue 18): one row per hour, its counts those of
 * its minutes, read from the hourly tier where it is complete (the
 * minutes of one hour are removed after the rollup to prove it). */
Test(tui_cmd, latency_step_reads_whole_hours_from_the_tiers)
{
	struct dbgen_opts o;
	struct store st;
	struct store_rollup *r;
	char path[600], err[512], env[64], model[64], *out = NULL, *e = NULL;
	int64_t until, want[8] = {0}, h0;
	sqlite3 *h;
	cJSON *j, *w;

	memset(&o, 0, sizeof(o));
	o.models = 1;
	o.features = 2;
	o.windows = 300;
	o.no_alerts = true;
	dbgen_defaults(&o, &o);
	snprintf(path, sizeof(path), "%s/step.db", dir);
	cr_assert_eq(dbgen_fill(path, &o, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_open(&st, path, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_rollup_open(&r, &st), 0);
	cr_assert_eq(store_rollup_range(r, 1, (int64_t)o.now - 86400, (int64_t)o.now, o.now), 0,
	             "%s", store_errmsg(&st));
	until = (int64_t)o.now - (int64_t)o.now % 3600;
	cr_assert_eq(store_rollup_until_set(r, until), 0);
	store_rollup_close(r);
	store_close(&st);
	/* expected: the windows of the last 5 hours, by hour. The command reads
	 * windows with start >= now - 5h in seconds with fractions; comparing
	 * against a truncated now counted one window too many whenever now fell
	 * within a second after a whole minute (CI hit it: about 1 run in 60). */
	h0 = ((int64_t)o.now - 5 * 3600 + 3599) / 3600 * 3600;
	for (int i = 0; i < o.windows; i++) {
		struct dbgen_window dw;
		dbgen_window(&o, 0, i, &dw);
		if ((double)dw.start >= o.now - 5 * 3600 && dw.start >= h0 - 3600)
			want[(dw.start - (h0 - 3600)) / 3600] += dw.count;
	}
	cr_assert_eq(sqlite3_open(path, &h), SQLITE_OK);
	{
		char sql[160];
		snprintf(sql, sizeof(sql),
		         "DELETE FROM windows WHERE start >= %lld AND start < %lld",
		         (long long)(until - 7200), (long long)(until - 3600));
		cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	sqlite3_close(h);
	snprintf(env, sizeof(env), "MLWATCH_NOW=%.3f", o.now);
	dbgen_model_name(&o, 0, model, sizeof(model));
	{
		char *argv[] = {bin,       "--db", path,     "latency", "--model", model,
		                "--since", "5h",   "--step", "1h",      "--json",  NULL};
		cr_assert_eq(tt_run(argv, (char *[]){"TZ=UTC", env, NULL}, &out, &e, 20), 0, "%s",
		             e);
	}
	j = cJSON_Parse(out);
	cr_assert_not_null(j, "%s", out);
	cJSON_ArrayForEach(w, cJSON_GetObjectItem(j, "windows"))
	{
		int64_t start = (int64_t)num(w, "start");
		cr_assert_eq(start % 3600, 0);
		cr_assert_eq((int64_t)num(w, "end"), start + 3600);
		cr_assert_eq((int64_t)num(w, "count"), want[(start - (h0 - 3600)) / 3600],
		             "hour %lld", (long long)start);
		want[(start - (h0 - 3600)) / 3600] = -1;
	}
	/* every complete hour came back, the one without minutes too */
	for (int64_t t = h0; t < until; t += 3600)
		cr_assert_eq(want[(t - (h0 - 3600)) / 3600], -1, "hour %lld missing", (long long)t);
	cJSON_Delete(j);
	free(out);
	free(e);
	out = e = NULL;
	{
		char *argv[] = {bin,   "--db",   path, "latency", "--model",
		                model, "--step", "7s", NULL};
		cr_assert_eq(tt_run(argv, (char *[]){"TZ=UTC", env, NULL}, &out, &e, 20), 2);
		cr_assert(strstr(e, "--step: '7s' is not a whole number of 60s windows"), "%s", e);
	}
	free(out);
	free(e);
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

/* --from/--to select from <= ts < to: bounds that are events' own ts take
 * the first and leave the last (what an exec notification's window needs). */
Test(tui_cmd, export_from_to_is_half_open)
{
	char *out = NULL, *err = NULL, from[64], to[64], sql[256];
	int n = 0;
	double a, b;

	a = db_double(db, "SELECT ts FROM events e JOIN models m ON m.id = e.model_id WHERE "
	                  "m.name = 'fraud' ORDER BY ts LIMIT 1 OFFSET 10");
	b = db_double(db, "SELECT ts FROM events e JOIN models m ON m.id = e.model_id WHERE "
	                  "m.name = 'fraud' ORDER BY ts LIMIT 1 OFFSET 30");
	cr_assert(isfinite(a) && isfinite(b) && b > a);
	snprintf(from, sizeof(from), "%.17g", a);
	snprintf(to, sizeof(to), "%.17g", b);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM events e JOIN models m ON m.id = e.model_id WHERE "
	         "m.name = 'fraud' AND ts >= %s AND ts < %s",
	         from, to);
	int64_t want = db_int(db, sql);
	cr_assert_eq(run(&out, &err, "--db", db, "export", "--model", "fraud", "--from", from,
	                 "--to", to, "--json", NULL),
	             0, "%s", err);
	for (char *p = out; *p; p++)
		n += *p == '\n';
	cr_expect_eq(n, want);
	cr_expect(want >= 20, "%lld rows", (long long)want);
	free(out);
	free(err);
	/* --from without --to, or with --since, is a usage error. */
	cr_expect_eq(run(&out, &err, "--db", db, "export", "--model", "fraud", "--from", from,
	                 "--json", NULL),
	             2);
	cr_expect(strstr(err, "--from and --to go together"), "%s", err);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "--db", db, "export", "--model", "fraud", "--from", from,
	                 "--to", to, "--since", "1h", "--json", NULL),
	             2);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "--db", db, "export", "--model", "fraud", "--from", to, "--to",
	                 from, "--json", NULL),
	             2);
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

/* issue 13 F3: a misspelled rule or model is refused (exit 1) with the
 * nearest known name, and nothing is written. */
Test(tui_cmd, silence_refuses_unknown_rule_or_model_with_a_suggestion)
{
	char *out = NULL, *err = NULL;

	cr_expect_eq(run(&out, &err, "--db", db, "silence", "p99-hgh", "--for", "1h", NULL), 1);
	cr_expect(strstr(err, "mlwatch: error: silence: no rule 'p99-hgh'"), "%s", err);
	cr_expect(strstr(err, "did you mean 'p99-high'?"), "%s", err);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "--db", db, "silence", "p99-high", "--model", "frau", "--for",
	                 "1h", NULL),
	             1);
	cr_expect(strstr(err, "no model 'frau'"), "%s", err);
	cr_expect(strstr(err, "did you mean 'fraud'?"), "%s", err);
	free(out);
	free(err);
	/* far from every name: the list of known rules instead */
	cr_expect_eq(run(&out, &err, "--db", db, "silence", "zzzzzzzzzz", "--for", "1h", NULL), 1);
	cr_expect(strstr(err, "known: "), "%s", err);
	cr_expect(strstr(err, "p99-high"), "%s", err);
	free(out);
	free(err);
	cr_expect_eq(db_int(db, "SELECT count(*) FROM silences"), 0, "nothing written");
	/* known names, and *, still work */
	cr_expect_eq(
	    run(&out, &err, "--db", db, "silence", "*", "--model", "fraud", "--for", "1h", NULL), 0,
	    "%s", err);
	free(out);
	free(err);
	cr_expect_eq(db_int(db, "SELECT count(*) FROM silences"), 1);
}

/* issue 13 F3: `silences` lists, `unsilence` ends (exit 1 for an unknown
 * or already ended id), and the alert is no longer silenced. */
Test(tui_cmd, silences_lists_and_unsilence_ends)
{
	char *out = NULL, *err = NULL;
	cJSON *j, *s;

	j = RUN_JSON("--db", db, "silence", "p99-high", "--model", "fraud", "--for", "30m",
	             "--comment", "deploy", "--json");
	int64_t id = (int64_t)num(j, "id");
	cJSON_Delete(j);
	j = RUN_JSON("--db", db, "silences", "--json");
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "silences")), 1);
	s = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "silences"), 0);
	EXPECT_KEYS(s, "id:n,rule:s,model:s?,created:n,ends:n,comment:s?,active:b");
	cr_expect_eq((int64_t)num(s, "id"), id);
	cr_expect_str_eq(cJSON_GetObjectItem(s, "rule")->valuestring, "p99-high");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(s, "active")));
	cJSON_Delete(j);
	cr_expect_eq(run(&out, &err, "--db", db, "silences", NULL), 0, "%s", err);
	cr_expect(strstr(out, "p99-high"), "%s", out);
	cr_expect(strstr(out, "deploy"), "%s", out);
	free(out);
	free(err);
	j = RUN_JSON("--db", db, "alerts", "--json");
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(j, "alerts"), 0), "silenced")));
	cJSON_Delete(j);

	char ids[32];
	snprintf(ids, sizeof(ids), "%lld", (long long)id);
	cr_expect_eq(run(&out, &err, "--db", db, "unsilence", ids, NULL), 0, "%s", err);
	cr_expect(strstr(out, "ended"), "%s", out);
	free(out);
	free(err);
	j = RUN_JSON("--db", db, "alerts", "--json");
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(j, "alerts"), 0), "silenced")));
	cJSON_Delete(j);
	j = RUN_JSON("--db", db, "silences", "--json");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "silences")), 0);
	cJSON_Delete(j);
	j = RUN_JSON("--db", db, "silences", "--all", "--json");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "silences")), 1);
	cJSON_Delete(j);
	cr_expect_eq(run(&out, &err, "--db", db, "unsilence", ids, NULL), 1);
	cr_expect(strstr(err, "no active silence with id"), "%s", err);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "--db", db, "unsilence", "x", NULL), 2);
	free(out);
	free(err);
}

/* issue 13 F16: `COMMAND --help` prints that command's help, wherever
 * --help and the global flags stand. */
Test(tui_cmd, subcommand_help_is_its_own)
{
	static const char *const cmds[] = {"status", "drift",          "latency",   "accuracy",
	                                   "alerts", "silence",        "silences",  "unsilence",
	                                   "ack",    "export",         "reference", "models",
	                                   "demo",   "webhook-listen", NULL};
	char *out = NULL, *err = NULL, want[64];

	for (const char *const *c = cmds; *c; c++) {
		cr_expect_eq(run(&out, &err, *c, "--help", NULL), 0, "%s --help", *c);
		snprintf(want, sizeof(want), "Usage: mlwatch %s", *c);
		cr_expect(strstr(out, want) == out, "%s --help printed: %.200s", *c, out);
		cr_expect_null(strstr(out, "Without a command"), "%s --help is the global help",
		               *c);
		free(out);
		free(err);
	}
	cr_expect_eq(run(&out, &err, "--db", db, "silence", "--help", NULL), 0);
	cr_expect(strstr(out, "Usage: mlwatch silence RULE"), "%s", out);
	free(out);
	free(err);
	cr_expect_eq(run(&out, &err, "--help", NULL), 0);
	cr_expect(strstr(out, "Without a command"), "%s", out);
	free(out);
	free(err);
}

/* issue 13 F16: --json on export is --format jsonl; with --format csv it
 * is a usage error rather than ignored. */
Test(tui_cmd, export_json_is_jsonl_and_refused_with_csv)
{
	char *a = NULL, *b = NULL, *err = NULL;

	cr_assert_eq(run(&a, &err, "--db", db, "export", "--model", "fraud", "--json", NULL), 0,
	             "%s", err);
	free(err);
	cr_assert_eq(
	    run(&b, &err, "--db", db, "export", "--model", "fraud", "--format", "jsonl", NULL), 0,
	    "%s", err);
	free(err);
	cr_expect(a[0] == '{' && strlen(a) > 100, "%.100s", a);
	cr_expect_str_eq(a, b);
	free(a);
	free(b);
	cr_expect_eq(run(&a, &err, "--db", db, "export", "--model", "fraud", "--format", "csv",
	                 "--json", NULL),
	             2);
	cr_expect(strstr(err, "--json means --format jsonl"), "%s", err);
	cr_expect_str_eq(a, "");
	free(a);
	free(err);
}

/* issue 13 F11: `models rm` removes a model created by a typo with all its
 * rows; a misspelled name is refused with a suggestion. */
Test(tui_cmd, models_lists_and_rm_removes_everything_of_one_model)
{
	char *out = NULL, *err = NULL;
	cJSON *j = RUN_JSON("--db", db, "models", "--json");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "models")), 3);
	cJSON_Delete(j);
	int64_t id = db_int(db, "SELECT id FROM models WHERE name = 'churn'");
	char sql[200];
	cr_assert(id > 0);
	{
		/* its hourly and daily tiers go too (issue 18) */
		struct store st;
		struct store_rollup *r;
		char e[512];
		cr_assert_eq(store_open(&st, db, STORE_RW, false, e, sizeof(e)), 0, "%s", e);
		cr_assert_eq(store_rollup_open(&r, &st), 0);
		cr_assert_eq(store_rollup_range(r, id, (int64_t)opts.now - 86400, (int64_t)opts.now,
		                                opts.now),
		             0);
		store_rollup_close(r);
		store_close(&st);
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM tiers WHERE model_id = %lld",
		         (long long)id);
		cr_assert_gt(db_int(db, sql), 0);
	}

	cr_expect_eq(run(&out, &err, "--db", db, "models", "rm", "chrun", NULL), 1);
	cr_expect(strstr(err, "did you mean 'churn'?"), "%s", err);
	free(out);
	free(err);
	/* still receiving events: refused */
	cr_expect_eq(run(&out, &err, "--db", db, "models", "rm", "churn", NULL), 1);
	cr_expect(strstr(err, "received events"), "%s", err);
	free(out);
	free(err);
	/* an hour later, quiet: removed */
	char later[64];
	snprintf(later, sizeof(later), "MLWATCH_NOW=%.3f", opts.now + 3600);
	char *argv[] = {bin, "--db", db, "models", "rm", "churn", NULL};
	cr_expect_eq(tt_run(argv, (char *[]){"TZ=UTC", later, NULL}, &out, &err, 20), 0, "%s", err);
	cr_expect(strstr(out, "removed model churn"), "%s", out);
	free(out);
	free(err);
	static const char *const tables[] = {"windows", "drift",         "accuracy",
	                                     "events",  "features",      "window_features",
	                                     "tiers",   "tier_features", NULL};
	for (const char *const *t = tables; *t; t++) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE model_id = %lld", *t,
		         (long long)id);
		cr_expect_eq(db_int(db, sql), 0, "%s rows left", *t);
	}
	cr_expect_eq(db_int(db, "SELECT count(*) FROM alerts WHERE model = 'churn'"), 0);
	cr_expect(db_int(db, "SELECT count(*) FROM windows") > 0, "other models kept");
	j = RUN_JSON("--db", db, "models", "--json");
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "models")), 2);
	cJSON_Delete(j);
}

/* issue 13 F2: the import prints per column kind, values, missing and
 * dropped, names the odd cell with its line, refuses it with --strict
 * (exit 1, nothing stored), and warns when the model is new (a typo). */
Test(tui_cmd, reference_import_reports_columns_and_odd_cells)
{
	char path[600], *out = NULL, *err = NULL;
	snprintf(path, sizeof(path), "%s/ref.csv", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "amount,country\n");
	for (int i = 0; i < 300; i++)
		fprintf(f, "%s,%s\n", i == 150 ? "?" : "12.5", i % 2 ? "DE" : "FR");
	fclose(f);

	cr_expect_eq(run(&out, &err, "--db", db, "reference", "import", "--model", "fraud",
	                 "--strict", path, NULL),
	             1);
	cr_expect(strstr(err, "column amount: 1 of 300 values not numeric, line 152: '?'"), "%s",
	          err);
	free(out);
	free(err);
	cr_expect_eq(db_int(db, "SELECT count(*) FROM reference r JOIN models m ON m.id = "
	                        "r.model_id WHERE m.name = 'fraud' AND r.feature = 'amount' "
	                        "AND r.kind = 1 AND r.n = 299"),
	             0, "--strict stored nothing");

	cr_expect_eq(
	    run(&out, &err, "--db", db, "reference", "import", "--model", "fraud", path, NULL), 0,
	    "%s", err);
	cr_expect(strstr(out, "reference for fraud: 300 rows, 2 features (1 numeric, 1 "
	                      "categorical)"),
	          "%s", out);
	cr_expect(strstr(out, "KIND"), "%s", out);
	cr_expect(strstr(out, "MISSING"), "%s", out);
	cr_expect(strstr(out, "DROPPED"), "%s", out);
	cr_expect(strstr(out, "column amount: 1 of 300 values not numeric, line 152: '?'"), "%s",
	          out);
	cr_expect_str_eq(err, "", "fraud is a known model: no warning");
	free(out);
	free(err);
	cr_expect_eq(db_int(db, "SELECT count(*) FROM reference r JOIN models m ON m.id = "
	                        "r.model_id WHERE m.name = 'fraud' AND r.feature = 'amount' "
	                        "AND r.kind = 1 AND r.n = 299"),
	             1);

	/* one row, one feature: singular */
	snprintf(path, sizeof(path), "%s/one.csv", dir);
	h_write_file(path, "amount\n1\n", 9);
	cr_expect_eq(
	    run(&out, &err, "--db", db, "reference", "import", "--model", "frud", path, NULL), 0,
	    "%s", err);
	cr_expect(strstr(out, "reference for frud: 1 row, 1 feature (1 numeric, 0 categorical)"),
	          "%s", out);
	cr_expect(strstr(err, "mlwatch: warning: model 'frud' is new"), "%s", err);
	cr_expect(strstr(err, "did you mean 'fraud'?"), "%s", err);
	free(out);
	free(err);
}
