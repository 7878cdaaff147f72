/* mlwatchd's analysis, checked against values computed outside mlwatch:
 * latency quantiles from the sent values; drift statistics, data quality
 * and accuracy from tests/data/analysis_expected.json (numpy, scipy and
 * sklearn on the same events: tests/data/gen_analysis.py); the raw events
 * the collector stored are read back and must be the ones sent. Also
 * provisional vs final windows and late events reopening a closed window. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/collector_proc.h"
#include "../lib/featblob.h"
#include "../lib/harness.h"
#include "../lib/wire_client.h"
#include "clock.h"
#include "ddsketch.h"
#include "drift.h"
#include "quality.h"
#include "sample.h"

#define W 10 /* window seconds in these tests */

static struct wc_client *client(const char *url)
{
	struct wc_client *cl;
	char err[256];
	cr_assert_eq(wc_open(&cl, url, NULL, 10 * cproc_slow(), err, sizeof(err)), 0, "%s", err);
	return cl;
}

static void send_ok(struct wc_client *cl, struct wc_batch *wb)
{
	uint8_t *buf;
	size_t len;
	char err[256];
	struct wire_reply r;
	cr_assert_eq(wc_batch_encode(wb, &buf, &len), 0);
	cr_assert_eq(wc_request(cl, buf, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.status, WIRE_OK, "%s", r.message);
	free(buf);
}

/* A reference written the way `mlwatch reference import` writes it. */
static void put_reference(const char *db, const char *model, const double *num, size_t n,
                          const char *const *cats, size_t nc)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	struct drift_ref ref;
	uint8_t *buf;
	size_t len;

	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 10000);
	char sql[256];
	snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO models (name, created) VALUES ('%s', 0)",
	         model);
	cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
	for (int k = 0; k < 2; k++) {
		if (k == 0)
			cr_assert_eq(drift_ref_numeric(&ref, num, n, 1), 0);
		else
			cr_assert_eq(drift_ref_categorical_values(&ref, cats, nc), 0);
		cr_assert_eq(drift_ref_encode(&ref, &buf, &len), 0);
		cr_assert_eq(
		    sqlite3_prepare_v2(h,
		                       "INSERT INTO reference (model_id, feature, kind, n, "
		                       "profile, created) SELECT id, ?1, ?2, ?3, ?4, ?5 "
		                       "FROM models WHERE name = ?6",
		                       -1, &s, NULL),
		    SQLITE_OK);
		sqlite3_bind_text(s, 1, k == 0 ? "amount" : "country", -1, SQLITE_STATIC);
		sqlite3_bind_int(s, 2, k == 0 ? 1 : 2);
		sqlite3_bind_int64(s, 3, (sqlite3_int64)ref.n);
		sqlite3_bind_blob(s, 4, buf, (int)len, SQLITE_STATIC);
		sqlite3_bind_double(s, 5, clock_now());
		sqlite3_bind_text(s, 6, model, -1, SQLITE_STATIC);
		cr_assert_eq(sqlite3_step(s), SQLITE_DONE);
		sqlite3_finalize(s);
		free(buf);
		drift_ref_fini(&ref);
	}
	sqlite3_close(h);
}

static bool wait_final(const char *db, int64_t start, double timeout)
{
	char sql[200];
	double end = h_now() + timeout * cproc_slow();
	snprintf(
	    sql, sizeof(sql),
	    "SELECT count(*) FROM windows WHERE start = %lld AND provisional = 0 AND dirty = 0 "
	    "AND analyzed IS NOT NULL",
	    (long long)start);
	while (h_now() < end) {
		if (db_int(db, sql) == 1)
			return true;
		h_sleep(0.1);
	}
	return false;
}

struct raw {
	double *amount;
	size_t n_amount;
	const char **country;
	size_t n_country;
	size_t events, missing_amount;
	struct quality_cls cls;
	double *scores;
	size_t n_scores;
};

/* Reads back the raw events of the window and rebuilds the inputs of
 * every statistic, independently of the collector's code. */
static void read_raw(const char *db, int64_t start, struct raw *r)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	memset(r, 0, sizeof(*r));
	quality_cls_init(&r->cls);
	r->amount = calloc(20000, sizeof(double));
	r->country = calloc(20000, sizeof(char *));
	r->scores = calloc(20000, sizeof(double));
	cr_assert_eq(sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	cr_assert_eq(
	    sqlite3_prepare_v2(h,
	                       "SELECT features_bin, pred_str, label_str, score FROM events "
	                       "WHERE window_start = ?1 ORDER BY id",
	                       -1, &s, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(s, 1, start);
	while (sqlite3_step(s) == SQLITE_ROW) {
		char feat[4096];
		cJSON *o =
		    featblob_column_json(s, 0, feat, sizeof(feat)) == 0 ? cJSON_Parse(feat) : NULL;
		const cJSON *a = cJSON_GetObjectItem(o, "amount");
		const cJSON *c = cJSON_GetObjectItem(o, "country");
		r->events++;
		if (cJSON_IsNumber(a))
			r->amount[r->n_amount++] = a->valuedouble;
		else
			r->missing_amount++;
		if (cJSON_IsString(c))
			r->country[r->n_country++] = strdup(c->valuestring);
		cJSON_Delete(o);
		if (sqlite3_column_type(s, 2) != SQLITE_NULL)
			quality_cls_add(&r->cls, (const char *)sqlite3_column_text(s, 1),
			                (const char *)sqlite3_column_text(s, 2));
		r->scores[r->n_scores++] = sqlite3_column_double(s, 3);
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
}

static void free_raw(struct raw *r)
{
	for (size_t i = 0; i < r->n_country; i++)
		free((char *)r->country[i]);
	free(r->country);
	free(r->amount);
	free(r->scores);
	quality_cls_fini(&r->cls);
}

static double drift_col(const char *db, int64_t start, const char *feature, const char *col)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT %s FROM drift WHERE start = %lld AND feature = '%s'",
	         col, (long long)start, feature);
	return db_double(db, sql);
}

/* The expected value key of section obj of tests/data/analysis_expected.json. */
static double expected(const cJSON *doc, const char *obj, const char *key)
{
	const cJSON *o = cJSON_GetObjectItemCaseSensitive(doc, obj);
	const cJSON *v = key ? cJSON_GetObjectItemCaseSensitive(o, key) : o;
	cr_assert(cJSON_IsNumber(v) || cJSON_IsBool(v), "analysis_expected.json lacks %s.%s", obj,
	          key ? key : "");
	return cJSON_IsBool(v) ? (cJSON_IsTrue(v) ? 1 : 0) : v->valuedouble;
}

/* |got - want| within rel of want (or abs when want is 0). */
#define EXPECT_NEAR(what, got, want, rel)                                           \
	cr_expect(fabs((got) - (want)) <= (rel)*fmax(fabs(want), 1e-300) ||         \
	              ((want) == 0 && fabs(got) <= (rel)),                          \
	          "%s: mlwatchd %.17g, scipy/sklearn %.17g", (what), (double)(got), \
	          (double)(want))

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

Test(analysis, tables_match_scipy_and_sklearn_on_the_sent_events)
{
	struct cproc c;
	struct wc_client *cl;
	double ref_num[800], lat[4000];
	const char *ref_cat[600];
	size_t nlat = 0;
	int64_t now = (int64_t)clock_now();
	int64_t start = now / W * W - 3 * W; /* closed, well within retention */

	for (size_t i = 0; i < 800; i++)
		ref_num[i] = 50.0 + (double)((i * 37) % 100);
	for (size_t i = 0; i < 600; i++)
		ref_cat[i] = i % 10 < 6 ? "DE" : i % 10 < 9 ? "FR" : "US";

	cproc_init(&c, "ana-match");
	const char *args[] = {"--window", "10s", "--analyze-interval", "200ms", NULL};
	cr_assert_eq(cproc_start(&c, args), 0);
	put_reference(c.db, "m", ref_num, 800, ref_cat, 600);
	cl = client(c.url);

	/* 10 batches, one per second of the window: the amount drifts
	 * upwards, a new country appears, a tenth have no amount */
	uint64_t seq = 0;
	for (int sec = 0; sec < W; sec++) {
		struct wc_batch wb;
		char id[32];
		double l[300];
		wc_batch_init(&wb, "ana", ++seq, NULL);
		for (int k = 0; k < 300; k++) {
			int i = sec * 300 + k;
			struct wc_feature f[2] = {
			    {"amount", i % 10 == 3 ? 0 : 1, 70.0 + (double)((i * 13) % 90), NULL},
			    {"country", 2, 0,
			     i % 7 == 0 ? "XX"
			     : i % 3    ? "DE"
			                : "FR"},
			};
			l[k] = 2.0 + (double)((i * 7919) % 1000) / 10.0;
			lat[nlat++] = l[k];
			snprintf(id, sizeof(id), "e%d", i);
			cr_assert_eq(wc_batch_event(&wb, "m", id, (double)(start + sec) + 0.5, l[k],
			                            false, f, 2, wc_str(i % 4 ? "a" : "b"),
			                            0.5 + (double)(i % 50) / 100.0,
			                            i % 2 ? wc_str(i % 5 ? "a" : "b") : wc_none()),
			             0);
		}
		wc_batch_summary(&wb, "m", start + sec, 300, 3, 300, l, 300);
		/* 100 more requests this second that were not sampled */
		double extra[100];
		for (int k = 0; k < 100; k++)
			extra[k] = lat[nlat++] = 1.0 + k;
		wc_batch_summary(&wb, "m", start + sec, 100, 1, 0, extra, 100);
		send_ok(cl, &wb);
		wc_batch_free(&wb);
	}
	cr_assert(wait_final(c.db, start, 15), "window not analysed, see %s", c.log);

	/* latency: the window's quantiles are the sent ones within 1% */
	char sql[256];
	qsort(lat, nlat, sizeof(double), cmp_double);
	static const char *const cols[] = {"p50", "p90", "p95", "p99", "p999"};
	static const double qs[] = {0.5, 0.9, 0.95, 0.99, 0.999};
	for (int i = 0; i < 5; i++) {
		snprintf(sql, sizeof(sql), "SELECT %s FROM windows WHERE start = %lld", cols[i],
		         (long long)start);
		double got = db_double(c.db, sql);
		double want = lat[(size_t)floor(qs[i] * (double)(nlat - 1))];
		cr_assert(fabs(got - want) <= 0.01 * want, "%s: %g vs %g", cols[i], got, want);
	}
	snprintf(sql, sizeof(sql), "SELECT max FROM windows WHERE start = %lld", (long long)start);
	cr_assert_float_eq(db_double(c.db, sql), lat[nlat - 1], 1e-9);
	snprintf(sql, sizeof(sql), "SELECT count FROM windows WHERE start = %lld",
	         (long long)start);
	cr_assert_eq(db_int(c.db, sql), 4000);

	/* drift, quality and accuracy: scipy/sklearn's numbers for these events
	 * (tests/data/gen_analysis.py); the stored raw events are the sent ones */
	char *xpath = h_src("tests/data/analysis_expected.json");
	char *xtext = h_read_file(xpath, NULL);
	cr_assert_not_null(xtext, "cannot read %s", xpath);
	cJSON *x = cJSON_Parse(xtext);
	cr_assert_not_null(x, "%s: not JSON", xpath);
	free(xtext);
	free(xpath);
	struct raw r;
	read_raw(c.db, start, &r);
	cr_assert_eq(r.events, (size_t)expected(x, "events", NULL));
	cr_assert_eq(r.n_amount, (size_t)expected(x, "amount", "n"));
	cr_assert_eq(drift_col(c.db, start, "amount", "n"), expected(x, "amount", "n"));
	EXPECT_NEAR("amount ks", drift_col(c.db, start, "amount", "ks"),
	            expected(x, "amount", "ks"), 1e-9);
	/* p-values: absolute, as in test_drift (asymptotic Kolmogorov tail) */
	cr_expect(fabs(drift_col(c.db, start, "amount", "ks_p") - expected(x, "amount", "ks_p")) <=
	              1e-6,
	          "amount ks_p %g vs scipy %g", drift_col(c.db, start, "amount", "ks_p"),
	          expected(x, "amount", "ks_p"));
	EXPECT_NEAR("amount wasserstein", drift_col(c.db, start, "amount", "wasserstein"),
	            expected(x, "amount", "wasserstein"), 1e-9);
	EXPECT_NEAR("amount psi", drift_col(c.db, start, "amount", "psi"),
	            expected(x, "amount", "psi"), 1e-9);
	EXPECT_NEAR("amount js", drift_col(c.db, start, "amount", "js"),
	            expected(x, "amount", "js"), 1e-9);
	/* severity: the p-value's (capped) under the effect floor of issue 17,
	 * min(severity, normed Wasserstein / min_effect 0.1) */
	EXPECT_NEAR(
	    "amount severity", drift_col(c.db, start, "amount", "severity"),
	    fmin(expected(x, "amount", "severity"), expected(x, "amount", "wasserstein") / 0.1),
	    1e-9);
	cr_assert_eq(drift_col(c.db, start, "amount", "drifted"), expected(x, "amount", "drifted"));
	cr_assert_eq(expected(x, "amount", "drifted"), 1, "the test's window is meant to drift");
	EXPECT_NEAR("amount missing_rate", drift_col(c.db, start, "amount", "missing_rate"),
	            expected(x, "amount", "missing_rate"), 1e-12);
	EXPECT_NEAR("amount out_of_range_rate",
	            drift_col(c.db, start, "amount", "out_of_range_rate"),
	            expected(x, "amount", "out_of_range_rate"), 1e-12);
	char method[32];
	snprintf(sql, sizeof(sql),
	         "SELECT method FROM drift WHERE start = %lld AND feature = 'amount'",
	         (long long)start);
	cr_assert_eq(db_text(c.db, sql, method, sizeof(method)), 0);
	cr_assert_str_eq(method, "ks"); /* reference <= 1000 values */
	/* 800 and at most 10,000 values: ks_2samp's exact p (the fixture's
	 * method="auto"), and the stored JSON says so. */
	snprintf(sql, sizeof(sql),
	         "SELECT json_extract(stats, '$.ks_p_method') FROM drift WHERE start = %lld AND "
	         "feature = 'amount'",
	         (long long)start);
	cr_assert_eq(db_text(c.db, sql, method, sizeof(method)), 0);
	cr_assert_str_eq(method, "exact");

	cr_assert_eq(drift_col(c.db, start, "country", "n"), expected(x, "country", "n"));
	EXPECT_NEAR("country chi2", drift_col(c.db, start, "country", "chi2"),
	            expected(x, "country", "chi2"), 1e-9);
	cr_expect(fabs(drift_col(c.db, start, "country", "chi2_p") -
	               expected(x, "country", "chi2_p")) <= 1e-6,
	          "country chi2_p %g vs scipy %g", drift_col(c.db, start, "country", "chi2_p"),
	          expected(x, "country", "chi2_p"));
	EXPECT_NEAR("country psi", drift_col(c.db, start, "country", "psi"),
	            expected(x, "country", "psi"), 1e-9);
	EXPECT_NEAR("country js", drift_col(c.db, start, "country", "js"),
	            expected(x, "country", "js"), 1e-9);
	EXPECT_NEAR("country new_category_rate",
	            drift_col(c.db, start, "country", "new_category_rate"),
	            expected(x, "country", "new_category_rate"), 1e-12);
	cr_assert_gt(expected(x, "country", "new_category_rate"), 0);

	/* the outputs are monitored too (no reference: quality only) */
	cr_assert_eq(drift_col(c.db, start, "@prediction", "n"), 3000);
	cr_assert_eq(drift_col(c.db, start, "@score", "n"), 3000);
	cr_assert_eq(drift_col(c.db, start, "@score", "insufficient"), 1);

	/* accuracy from the joined labels, against sklearn */
	snprintf(sql, sizeof(sql), "SELECT accuracy FROM accuracy WHERE start = %lld",
	         (long long)start);
	EXPECT_NEAR("accuracy", db_double(c.db, sql), expected(x, "accuracy", "accuracy"), 1e-12);
	snprintf(sql, sizeof(sql), "SELECT macro_f1 FROM accuracy WHERE start = %lld",
	         (long long)start);
	EXPECT_NEAR("macro_f1", db_double(c.db, sql), expected(x, "accuracy", "macro_f1"), 1e-12);
	snprintf(sql, sizeof(sql), "SELECT labelled FROM accuracy WHERE start = %lld",
	         (long long)start);
	cr_assert_eq(db_int(c.db, sql), (int64_t)expected(x, "accuracy", "labelled"));
	cr_assert_eq(r.cls.total, (uint64_t)expected(x, "accuracy", "labelled"));
	snprintf(sql, sizeof(sql), "SELECT label_coverage FROM accuracy WHERE start = %lld",
	         (long long)start);
	EXPECT_NEAR("label_coverage", db_double(c.db, sql),
	            expected(x, "accuracy", "label_coverage"), 1e-12);
	double n_amount_sent = expected(x, "amount", "n");
	cJSON_Delete(x);
	/* estimate without calibration: mean confidence, +-3 sigma */
	struct quality_est est = {0};
	double e, lo, hi;
	for (size_t i = 0; i < r.n_scores; i++)
		quality_est_add(&est, NULL, r.scores[i]);
	quality_est_result(&est, &e, &lo, &hi);
	snprintf(sql, sizeof(sql), "SELECT est_accuracy FROM accuracy WHERE start = %lld",
	         (long long)start);
	cr_assert_float_eq(db_double(c.db, sql), e, 1e-9);
	snprintf(sql, sizeof(sql), "SELECT est_low FROM accuracy WHERE start = %lld",
	         (long long)start);
	cr_assert_float_eq(db_double(c.db, sql), lo, 1e-9);
	free_raw(&r);

	/* kinds were fixed and recorded */
	cr_assert_eq(db_int(c.db, "SELECT kind FROM features WHERE name = 'amount'"), 1);
	cr_assert_eq(db_int(c.db, "SELECT kind FROM features WHERE name = 'country'"), 2);
	char task[32];
	cr_assert_eq(db_text(c.db, "SELECT task FROM models WHERE name = 'm'", task, sizeof(task)),
	             0);
	cr_assert_str_eq(task, "classification");

	/* the dashboard histogram of the window */
	char hist[512];
	snprintf(sql, sizeof(sql),
	         "SELECT cur_hist FROM drift WHERE start = %lld AND feature = 'country'",
	         (long long)start);
	cr_assert_eq(db_text(c.db, sql, hist, sizeof(hist)), 0);
	cr_assert(strncmp(hist, "{\"cells\":[\"DE\",\"FR\",\"US\",\"new\"],\"counts\":[", 40) == 0,
	          "%s", hist);

	/* a late event reopens the closed window, which is recomputed */
	struct wc_batch wb;
	struct wc_feature f[2] = {{"amount", 1, 1000.0, NULL}, {"country", 1, 5.0, NULL}};
	wc_batch_init(&wb, "ana", ++seq, NULL);
	wc_batch_event(&wb, "m", "late", (double)start + 1, 3, false, f, 2, wc_str("a"), 0.9,
	               wc_none());
	send_ok(cl, &wb);
	wc_batch_free(&wb);
	cr_assert(wait_final(c.db, start, 15));
	cr_assert_eq(drift_col(c.db, start, "amount", "n"), n_amount_sent + 1);
	/* a number for a categorical feature is a type error; the event's
	 * other values are kept */
	cr_assert_float_eq(drift_col(c.db, start, "country", "type_error_rate"), 1.0 / 3001.0,
	                   1e-12);

	wc_close(cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
}

Test(analysis, open_window_is_provisional_then_final)
{
	struct cproc c;
	struct wc_client *cl;
	struct wc_batch wb;
	double l[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
	double t = clock_now();
	int64_t start = (int64_t)t / W * W;

	/* stay clear of the window's end so it is certainly open at first */
	if (t - (double)start > W - 4) {
		h_sleep((double)(start + W) - t + 0.1);
		t = clock_now();
		start = (int64_t)t / W * W;
	}
	cproc_init(&c, "ana-prov");
	const char *args[] = {"--window", "10s", "--analyze-interval", "200ms", NULL};
	cr_assert_eq(cproc_start(&c, args), 0);
	cl = client(c.url);
	wc_batch_init(&wb, "p", 1, NULL);
	for (int i = 0; i < 10; i++)
		wc_batch_event(&wb, "reg", NULL, t, l[i], false, NULL, 0, wc_num(i * 1.5), -1,
		               wc_num(i * 1.5 + 1));
	wc_batch_summary(&wb, "reg", (int64_t)t, 10, 0, 10, l, 10);
	send_ok(cl, &wb);
	wc_batch_free(&wb);

	char sql[200];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM windows WHERE start = %lld AND provisional = 1 AND "
	         "analyzed IS NOT NULL AND p50 IS NOT NULL",
	         (long long)start);
	double end = h_now() + 5 * cproc_slow();
	while (db_int(c.db, sql) != 1 && h_now() < end)
		h_sleep(0.05);
	cr_assert_eq(db_int(c.db, sql), 1, "no provisional result");
	/* regression: MAE/RMSE, no accuracy */
	snprintf(sql, sizeof(sql), "SELECT mae FROM accuracy WHERE start = %lld", (long long)start);
	cr_assert_float_eq(db_double(c.db, sql), 1.0, 1e-12);
	snprintf(sql, sizeof(sql), "SELECT accuracy IS NULL FROM accuracy WHERE start = %lld",
	         (long long)start);
	cr_assert_eq(db_int(c.db, sql), 1);
	cr_assert(wait_final(c.db, start, W + 5));

	/* per-model gauges reach /metrics */
	char url[128];
	snprintf(url, sizeof(url), "%smetrics", c.http);
	char *page = http_get(url, NULL);
	cr_assert_not_null(page);
	cr_assert_float_eq(metrics_value(page, "mlwatch_model_mae{model=\"reg\"}"), 1.0, 1e-9);
	cr_assert(metrics_value(page, "mlwatch_collector_windows_analyzed_total") >= 2);
	free(page);
	wc_close(cl);
	cproc_cleanup(&c);
}

/* Two closed windows, every prediction right, then every one wrong, into
 * an mlwatchd with conf (NULL: none); returns the first window's start. */
static int64_t concept_run(struct cproc *c, const char *conf)
{
	struct wc_client *cl;
	int64_t first = (int64_t)clock_now() / W * W - 5 * W;
	char path[600];
	const char *args[] = {"--window", "10s", "--analyze-interval", "200ms", NULL, NULL, NULL};

	if (conf) {
		snprintf(path, sizeof(path), "%s/mlwatch.conf", c->dir);
		cr_assert_eq(h_write_file(path, conf, strlen(conf)), 0);
		args[4] = "--config";
		args[5] = path;
	}
	cr_assert_eq(cproc_start(c, args), 0);
	cl = client(c->url);
	for (int w = 0; w < 2; w++) {
		struct wc_batch wb;
		char id[32];
		wc_batch_init(&wb, "cd", (uint64_t)w + 1, NULL);
		for (int i = 0; i < 300; i++) {
			snprintf(id, sizeof(id), "w%d-%d", w, i);
			wc_batch_event(&wb, "cls", id, (double)(first + w * W) + 1 + i / 100.0, 2,
			               false, NULL, 0, wc_str("yes"), 0.9,
			               wc_str(w == 0 ? "yes" : "no"));
		}
		send_ok(cl, &wb);
		wc_batch_free(&wb);
	}
	cr_assert(wait_final(c->db, first + W, 15));
	wc_close(cl);
	return first;
}

static int64_t concept_events(struct cproc *c, const char *detector, int64_t start)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM concept_events WHERE detector = '%s' AND "
	         "window_start = %lld",
	         detector, (long long)start);
	return db_int(c->db, sql);
}

Test(analysis, concept_drift_on_the_error_stream_is_recorded)
{
	struct cproc c;
	char sql[256];

	/* default: ADWIN reports, Page-Hinkley runs silently */
	cproc_init(&c, "ana-concept");
	int64_t first = concept_run(&c, NULL);
	cr_assert_eq(concept_events(&c, "adwin", first + W), 1);
	cr_assert_eq(concept_events(&c, "page_hinkley", first + W), 0, "not chosen");
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM concept_events WHERE window_start = "
	                          "(SELECT min(start) FROM windows)"),
	             0);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM concept_state"), 2, "both keep state");
	snprintf(sql, sizeof(sql), "SELECT accuracy FROM accuracy WHERE start = %lld",
	         (long long)(first + W));
	cr_assert_float_eq(db_double(c.db, sql), 0.0, 1e-12);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);

	/* [model cls] concept_detector = page_hinkley: only Page-Hinkley */
	cproc_init(&c, "ana-concept-ph");
	first = concept_run(&c, "[model cls]\nconcept_detector = page_hinkley\n");
	cr_assert_eq(concept_events(&c, "page_hinkley", first + W), 1);
	cr_assert_eq(concept_events(&c, "adwin", first + W), 0, "not chosen");
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
}
