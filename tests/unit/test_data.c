/* data: thresholds from [alert] rules, sorting the overview, and loading a
 * frame (series bucketed to a chart's width, the heatmap matrix sorted by
 * severity, the alert list) from a database with known values. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tui/data.h"
#include "../lib/dbgen.h"
#include "../lib/harness.h"
#include "ddsketch.h"
#include <sqlite3.h>

Test(data, parse_expr)
{
	struct data_threshold t;
	cr_assert_eq(data_parse_expr("p99_latency_ms > 250", &t), 0);
	cr_expect_str_eq(t.metric, "p99_latency_ms");
	cr_expect_str_eq(t.op, ">");
	cr_expect_eq(t.value, 250);
	cr_assert_eq(data_parse_expr("  accuracy <= 0.8 over 5m", &t), 0);
	cr_expect_str_eq(t.op, "<=");
	cr_expect_float_eq(t.value, 0.8, 1e-12);
	cr_expect_eq(data_parse_expr("drift(amount) > 1", &t), -1);
	cr_expect_eq(data_parse_expr("p99_latency_ms >", &t), -1);
	cr_expect_eq(data_parse_expr("p99_latency_ms ~ 3", &t), -1);
	cr_expect_eq(data_parse_expr("p99_latency_ms > 3 and x", &t), -1);
	cr_expect_eq(data_parse_expr("", &t), -1);
}

Test(data, thresholds_for_a_model)
{
	struct alert_config a[3] = {
	    {.name = "p99", .model = "fraud", .expr = "p99_latency_ms > 250"},
	    {.name = "any", .model = "*", .expr = "accuracy < 0.8"},
	    {.name = "other", .model = "churn", .expr = "p95_latency_ms > 100"},
	};
	struct mlw_config cfg = {.alerts = a, .n_alerts = 3};
	struct data_threshold t[8];

	cr_expect_eq(data_thresholds(&cfg, "fraud", t, 8), 2);
	cr_expect_str_eq(t[0].rule, "p99");
	cr_expect_str_eq(t[1].rule, "any");
	cr_expect_eq(data_thresholds(&cfg, "churn", t, 8), 2);
	cr_expect_eq(data_thresholds(&cfg, "churn", t, 1), 1);
	cr_expect_eq(data_thresholds(NULL, "churn", t, 8), 0);
}

static struct sq_status row(const char *name, int firing, double sev, double rps)
{
	struct sq_status s;
	memset(&s, 0, sizeof(s));
	snprintf(s.model.name, sizeof(s.model.name), "%s", name);
	s.firing = firing;
	s.worst_severity = sev;
	s.rps = rps;
	s.p99 = s.error_rate = s.accuracy = s.est_accuracy = NAN;
	s.win_start = 1;
	return s;
}

Test(data, sorting_the_overview)
{
	struct sq_status r[4] = {row("b", 0, 0.2, 5), row("a", 0, 3.0, NAN), row("c", 1, 0.1, 9),
	                         row("d", 0, 0.3, 1)};

	data_sort_status(r, 4, SORT_HEALTH, true);
	cr_expect_str_eq(r[0].model.name, "c"); /* firing */
	cr_expect_str_eq(r[1].model.name, "a"); /* drifting */
	data_sort_status(r, 4, SORT_RPS, true);
	cr_expect_str_eq(r[0].model.name, "c");
	cr_expect_str_eq(r[3].model.name, "a"); /* absent last */
	data_sort_status(r, 4, SORT_RPS, false);
	cr_expect_str_eq(r[0].model.name, "d");
	cr_expect_str_eq(r[3].model.name, "a"); /* absent last either way */
	data_sort_status(r, 4, SORT_NAME, false);
	cr_expect_str_eq(r[0].model.name, "a");
	data_sort_status(r, 4, SORT_NAME, true);
	cr_expect_str_eq(r[0].model.name, "d");
	cr_expect_str_eq(data_sort_name(SORT_P99), "p99");
}

static char *dir;
static char path[512];
static struct dbgen_opts opts;
static struct store st;
static struct sq q;

static void setup(void)
{
	char err[512];
	dir = h_tmpdir("data");
	snprintf(path, sizeof(path), "%s/t.db", dir);
	memset(&opts, 0, sizeof(opts));
	opts.now = 1764072030;
	opts.models = 2;
	opts.features = 6;
	opts.windows = 120;
	dbgen_defaults(&opts, &opts);
	cr_assert_eq(dbgen_fill(path, &opts, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_open(&st, path, STORE_RO, false, err, sizeof(err)), 0, "%s", err);
	sq_init(&q, &st);
}

static void teardown(void)
{
	sq_fini(&q);
	store_close(&st);
	h_rmtree(dir);
	free(dir);
}

Test(data, latency_bucketed_to_the_width, .init = setup, .fini = teardown)
{
	struct data_latency l = {0};
	double from = opts.now - 3600;

	/* one point per window */
	cr_assert_eq(data_load_latency(&q, 1, from, opts.now + 1, 60, 0, &l), 0);
	cr_expect_eq(l.n, 60); /* the window that holds now - 1h, and the rest */
	cr_expect_float_eq(l.p99[l.n - 1], 400, 1e-9);
	/* 5-minute buckets: 12 (or 13 with a partial one), the spike kept */
	cr_assert_eq(data_load_latency(&q, 1, from, opts.now + 1, 300, 0, &l), 0);
	cr_expect_leq(l.n, 13);
	cr_expect_geq(l.n, 12);
	cr_expect_float_eq(l.p99[l.n - 1], 400, 1e-9);
	cr_expect_eq(l.bucket, 300);
	data_latency_free(&l);
	cr_expect_eq(l.n, 0);
}

Test(data, heat_sorted_by_severity, .init = setup, .fini = teardown)
{
	struct data_heat h = {0};
	double from = opts.now - 3600;

	cr_assert_eq(data_load_heat(&q, 1, from, opts.now + 1, 60, 0, &h), 0);
	cr_expect_eq(h.nf, 6);
	cr_expect_eq(h.ncols, 61);
	/* amount (drifting) first, then by severity: f05 > f04 > f03 ... */
	cr_expect_str_eq(h.name[h.order[0]], "amount");
	cr_expect_str_eq(h.name[h.order[1]], "f05");
	cr_expect_float_eq(h.latest[h.order[0]], 3.5, 1e-12);
	for (size_t i = 2; i < h.nf; i++)
		cr_expect_geq(h.latest[h.order[i - 1]], h.latest[h.order[i]]);
	/* the newest column with data is the last complete window */
	cr_expect_eq(h.t0 + (int64_t)h.last_col * h.bucket, (int64_t)opts.now / 60 * 60 - 60);
	/* coarser buckets: fewer columns, the worst window kept */
	cr_assert_eq(data_load_heat(&q, 1, from, opts.now + 1, 600, 0, &h), 0);
	cr_expect_leq(h.ncols, 7);
	cr_expect_float_eq(h.maxsev[h.order[0]], 3.5, 1e-12);
	data_heat_free(&h);
}

Test(data, detail_and_alerts, .init = setup, .fini = teardown)
{
	struct data_detail dt;
	struct data_alerts a = {0};
	struct data_accuracy acc = {0};

	cr_assert_eq(data_load_detail(&q, 1, "country", opts.now - 600, opts.now, &dt), 0);
	cr_expect(dt.valid);
	cr_expect_str_eq(dt.feature, "country");
	cr_expect(dt.has_ref);
	cr_expect(dt.has_cur);
	cr_expect_eq(dt.ref.n, 5);
	cr_expect_eq(dt.ref_n, 5000);
	cr_expect_eq(dt.d.kind, 2);
	cr_expect_eq(data_load_detail(&q, 1, "nope", opts.now - 600, opts.now, &dt), SQ_NOTFOUND);

	cr_assert_eq(data_load_alerts(&q, opts.now, 100, &a), 0);
	cr_expect_eq(a.n, 3);
	cr_expect_str_eq(a.v[0].state, "firing");
	cr_expect_str_eq(a.v[1].state, "pending");
	cr_expect_str_eq(a.v[2].state, "resolved");
	cr_expect_str_eq(a.v[1].feature, "amount");
	data_alerts_free(&a);

	cr_assert_eq(data_load_accuracy(&q, 1, opts.now - 3600, opts.now + 1, 60, 0, &acc), 0);
	cr_expect_eq(acc.n, 60);
	cr_expect_eq(acc.nconcept, 1);
	cr_expect_str_eq(acc.concept_detector[0], "page-hinkley");
	data_accuracy_free(&acc);
}

/* The overview's cached range sums, slid forward, give what a fresh
 * sq_status gives. */
Test(data, overview_cache_slides_to_the_same_numbers, .init = setup, .fini = teardown)
{
	struct data_ov_cache c = {0};
	struct sq_status *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	double t = opts.now;

	cr_assert_eq(data_load_overview(&q, t, t - 3600, 100, &c, &a, &na), 0);
	cr_expect_float_eq(c.built, 100, 0);
	free(a);
	for (int step = 0; step < 4; step++) {
		t += 47; /* crosses window starts and the tail boundary */
		cr_assert_eq(data_load_overview(&q, t, t - 3600, 100 + step, &c, &a, &na), 0);
		cr_expect_float_eq(c.built, 100, 0, "slid, not rebuilt");
		cr_assert_eq(sq_status(&q, t, t - 3600, &b, &nb), 0);
		cr_assert_eq(na, nb);
		for (size_t i = 0; i < na; i++) {
			cr_expect_str_eq(a[i].model.name, b[i].model.name);
			cr_expect_eq(a[i].events, b[i].events, "step %d %s", step, a[i].model.name);
			cr_expect_eq(a[i].errors, b[i].errors);
			cr_expect_float_eq(a[i].accuracy, b[i].accuracy, 1e-9);
			cr_expect_float_eq(a[i].est_accuracy, b[i].est_accuracy, 1e-9);
			cr_expect_float_eq(a[i].label_coverage, b[i].label_coverage, 1e-9);
			cr_expect_float_eq(a[i].p99, b[i].p99, 0);
		}
		free(a);
		free(b);
	}
	/* a longer range, or a stale cache, reads everything again */
	cr_assert_eq(data_load_overview(&q, t, t - 7200, 200, &c, &a, &na), 0);
	cr_expect_float_eq(c.built, 200, 0);
	free(a);
	cr_assert_eq(data_load_overview(&q, t, t - 7200, 200 + DATA_REBUILD_S, &c, &a, &na), 0);
	cr_expect_float_eq(c.built, 200 + DATA_REBUILD_S, 0);
	free(a);
	data_ov_cache_free(&c);
}

/* The heatmap refreshed incrementally (columns shifted, tail re-read) is
 * the heatmap read in full. */
Test(data, heat_refresh_reads_only_the_tail_and_matches_a_full_read, .init = setup,
     .fini = teardown)
{
	struct data_heat inc = {0}, full = {0};
	double t = opts.now;

	cr_assert_eq(data_load_heat(&q, 1, t - 3600, t + 1, 60, 50, &inc), 0);
	for (int step = 0; step < 3; step++) {
		t += 130;
		cr_assert_eq(data_load_heat(&q, 1, t - 3600, t + 1, 60, 51 + step, &inc), 0);
		cr_expect_float_eq(inc.built, 50, 0, "incremental, not rebuilt");
		cr_assert_eq(data_load_heat(&q, 1, t - 3600, t + 1, 60, 0, &full), 0);
		cr_assert_eq(inc.t0, full.t0);
		cr_assert_eq(inc.ncols, full.ncols);
		cr_assert_eq(inc.nf, full.nf);
		cr_expect_eq(inc.last_col, full.last_col);
		for (size_t i = 0; i < inc.nf; i++) {
			size_t fi = inc.order[i], ff = full.order[i];
			cr_expect_str_eq(inc.name[fi], full.name[ff]);
			for (int col = 0; col < inc.ncols; col++) {
				double x = inc.sev[fi * (size_t)inc.ncols + (size_t)col];
				double y = full.sev[ff * (size_t)full.ncols + (size_t)col];
				cr_expect(isnan(x) ? isnan(y) : x == y, "%s col %d: %g vs %g",
				          inc.name[fi], col, x, y);
			}
		}
	}
	data_heat_free(&inc);
	data_heat_free(&full);
}

/* Latency and accuracy series refreshed by reading only their tail equal a
 * full read. */
Test(data, series_refresh_reads_only_the_tail_and_matches_a_full_read, .init = setup,
     .fini = teardown)
{
	struct data_latency li = {0}, lf = {0};
	struct data_accuracy ai = {0}, af = {0};
	double t = opts.now;

	for (int b = 0; b < 2; b++) {
		int64_t bucket = b ? 300 : 60;
		t = opts.now;
		cr_assert_eq(data_load_latency(&q, 1, t - 3600, t + 1, bucket, 10, &li), 0);
		cr_assert_eq(data_load_accuracy(&q, 1, t - 3600, t + 1, bucket, 10, &ai), 0);
		for (int step = 0; step < 3; step++) {
			t += 170;
			cr_assert_eq(data_load_latency(&q, 1, t - 3600, t + 1, bucket, 11, &li), 0);
			cr_assert_eq(data_load_latency(&q, 1, t - 3600, t + 1, bucket, 0, &lf), 0);
			cr_expect_float_eq(li.built, 10, 0);
			cr_assert_eq(li.n, lf.n, "bucket %lld step %d", (long long)bucket, step);
			for (size_t i = 0; i < li.n; i++) {
				cr_expect_eq(li.t[i], lf.t[i]);
				cr_expect_eq(li.p99[i], lf.p99[i]);
				cr_expect_eq(li.count[i], lf.count[i]);
			}
			cr_assert_eq(data_load_accuracy(&q, 1, t - 3600, t + 1, bucket, 11, &ai),
			             0);
			cr_assert_eq(data_load_accuracy(&q, 1, t - 3600, t + 1, bucket, 0, &af), 0);
			cr_assert_eq(ai.n, af.n);
			cr_expect_eq(ai.nconcept, af.nconcept);
			for (size_t i = 0; i < ai.n; i++) {
				cr_expect_eq(ai.t[i], af.t[i]);
				cr_expect(isnan(ai.acc[i]) ? isnan(af.acc[i])
				                           : ai.acc[i] == af.acc[i]);
				cr_expect_eq(ai.est[i], af.est[i]);
			}
		}
		data_latency_free(&li);
		data_accuracy_free(&ai);
	}
	data_latency_free(&lf);
	data_accuracy_free(&af);
}

/* A heatmap of nf features x ncols columns of bucket seconds from t0, with
 * severity sev(f, c) (NAN past last); sorted as the dashboard sorts it. */
static void make_heat(struct data_heat *h, size_t nf, int ncols, int64_t t0, int64_t bucket,
                      int last, double (*sev)(size_t, int))
{
	memset(h, 0, sizeof(*h));
	h->nf = nf;
	h->ncols = ncols;
	h->t0 = t0;
	h->bucket = bucket;
	h->name = calloc(nf, sizeof(*h->name));
	h->kind = calloc(nf, sizeof(int));
	h->sev = calloc(nf * (size_t)ncols, sizeof(double));
	h->drifted = calloc(nf * (size_t)ncols, 1);
	h->latest = calloc(nf, sizeof(double));
	h->maxsev = calloc(nf, sizeof(double));
	h->order = calloc(nf, sizeof(size_t));
	cr_assert(h->name && h->kind && h->sev && h->drifted && h->latest && h->maxsev && h->order);
	for (size_t f = 0; f < nf; f++) {
		snprintf(h->name[f], sizeof(h->name[f]), "f%zu", f);
		for (int c = 0; c < ncols; c++)
			h->sev[f * (size_t)ncols + (size_t)c] = c <= last ? sev(f, c) : NAN;
	}
	data_heat_sort(h);
}

static double sev_a(size_t f, int c)
{
	return 0.1 * (double)(f + 1) + 0 * c; /* f3 worst, then f2, f1, f0 */
}

static double sev_b(size_t f, int c)
{
	return f == 0 ? 5.0 + 0 * c : sev_a(f, c); /* f0 now worst */
}

static void visible(const struct data_heat *h, size_t *idx, int *n)
{
	*n = (int)h->nf;
	for (size_t i = 0; i < h->nf; i++)
		idx[i] = h->order[i];
}

/* Issue 13 finding 7: the heatmap selection was a screen position (row
 * and column index): a re-sort moved it to another feature, a refresh that
 * shifts columns moved it to another window, and after a resize (fewer,
 * wider columns) it pointed past the newest window. It is now a feature and
 * a window start. */
Test(data, heat_cursor_stays_on_its_feature_and_window)
{
	struct data_heat h;
	struct data_heat_cursor c = {.follow = true};
	size_t idx[8];
	int n, row, col;

	/* 60 columns of 60 s, results up to column 59 */
	make_heat(&h, 4, 60, 6000, 60, 59, sev_a);
	visible(&h, idx, &n);
	data_heat_cursor_resolve(&c, &h, idx, n, &row, &col);
	cr_expect_eq(row, 0);
	cr_expect_str_eq(c.feature, "f3");
	cr_expect_eq(col, 59);
	/* down two rows (f1), ten columns left: window 6000 + 49 * 60 */
	data_heat_cursor_move(&c, &h, idx, n, 2, -10);
	data_heat_cursor_resolve(&c, &h, idx, n, &row, &col);
	cr_expect_str_eq(c.feature, "f1");
	cr_expect_eq(row, 2);
	cr_expect_eq(col, 49);
	cr_expect_eq(c.start, 6000 + 49 * 60);
	cr_expect_not(c.follow);
	data_heat_free(&h);

	/* the refresh: f0 jumps to the top, and time moved on by 3 columns */
	make_heat(&h, 4, 60, 6000 + 3 * 60, 60, 59, sev_b);
	visible(&h, idx, &n);
	data_heat_cursor_resolve(&c, &h, idx, n, &row, &col);
	cr_expect_str_eq(c.feature, "f1", "the selection moved to another feature");
	cr_expect_str_eq(h.name[idx[row]], "f1");
	cr_expect_eq(row, 3); /* f0 f3 f2 f1 */
	cr_expect_eq(col, 46, "the selection moved to another window");
	cr_expect_eq(h.t0 + col * h.bucket, 6000 + 49 * 60);
	data_heat_free(&h);

	/* a resize: 20 columns of 180 s over the same span, results up to 19 */
	make_heat(&h, 4, 20, 6000 + 3 * 60, 180, 19, sev_b);
	visible(&h, idx, &n);
	data_heat_cursor_resolve(&c, &h, idx, n, &row, &col);
	cr_expect_eq(col, (6000 + 49 * 60 - (6000 + 3 * 60)) / 180); /* holds the window */
	cr_expect_lt(col, h.ncols);
	data_heat_free(&h);

	/* a narrower screen whose grid ends before the window: clamped to the
	 * newest column with results, never past it */
	make_heat(&h, 4, 10, 6000 + 3 * 60, 60, 6, sev_b);
	visible(&h, idx, &n);
	data_heat_cursor_resolve(&c, &h, idx, n, &row, &col);
	cr_expect_eq(col, 6);
	cr_expect(c.follow);
	/* scrolled out on the left: the oldest column */
	c.follow = false;
	c.start = 0;
	data_heat_cursor_resolve(&c, &h, idx, n, &row, &col);
	cr_expect_eq(col, 0);
	cr_expect_eq(c.start, h.t0);
	/* the feature gone (filtered): the row it was on, clamped */
	snprintf(c.feature, sizeof(c.feature), "gone");
	c.row = 9;
	data_heat_cursor_resolve(&c, &h, idx, n, &row, &col);
	cr_expect_eq(row, 3);
	cr_expect_str_eq(c.feature, h.name[idx[3]]);
	/* no rows */
	data_heat_cursor_resolve(&c, &h, idx, 0, &row, &col);
	cr_expect_eq(row, -1);
	data_heat_free(&h);
}

/* A window below drift_min_sample has rows but no severity: the heatmap must
 * tell it from "no window" and from "fine" (issue 13 finding 9). A bucket
 * with one insufficient window among sufficient ones keeps their verdict. */
Test(data, heat_marks_insufficient_windows, .init = setup, .fini = teardown)
{
	struct data_heat h = {0};
	struct store rw;
	char err[512], sql[256];
	int64_t w0 = (int64_t)opts.now / 60 * 60 - 600; /* a closed minute window */
	double from = opts.now - 3600;
	size_t f = SIZE_MAX;
	int64_t col;

	cr_assert_eq(store_open(&rw, path, STORE_RW, false, err, sizeof(err)), 0, "%s", err);
	snprintf(sql, sizeof(sql),
	         "UPDATE drift SET severity = NULL, drifted = 0, insufficient = 1 "
	         "WHERE model_id = 1 AND feature = 'f03' AND start = %lld",
	         (long long)w0);
	cr_assert_eq(sqlite3_exec(db_sqlite_handle(rw.db), sql, NULL, NULL, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_changes(db_sqlite_handle(rw.db)), 1,
	             "the window exists in the generated store");
	store_close(&rw);

	cr_assert_eq(data_load_heat(&q, 1, from, opts.now + 1, 60, 0, &h), 0);
	for (size_t i = 0; i < h.nf; i++)
		if (strcmp(h.name[i], "f03") == 0)
			f = i;
	cr_assert_neq(f, SIZE_MAX);
	col = (w0 - h.t0) / h.bucket;
	cr_assert(isnan(h.sev[f * (size_t)h.ncols + (size_t)col]));
	cr_expect_eq(h.drifted[f * (size_t)h.ncols + (size_t)col], DATA_HEAT_INSUFFICIENT);
	/* its neighbours had a verdict */
	cr_expect_eq(h.drifted[f * (size_t)h.ncols + (size_t)col - 1], DATA_HEAT_NONE);
	cr_expect(!isnan(h.sev[f * (size_t)h.ncols + (size_t)col - 1]));
	/* 10-minute buckets: the other windows' severity wins, no "insufficient" */
	cr_assert_eq(data_load_heat(&q, 1, from, opts.now + 1, 600, 0, &h), 0);
	col = (w0 - h.t0) / h.bucket;
	for (size_t i = 0; i < h.nf; i++)
		if (strcmp(h.name[i], "f03") == 0)
			f = i;
	cr_expect(!isnan(h.sev[f * (size_t)h.ncols + (size_t)col]));
	cr_expect_neq(h.drifted[f * (size_t)h.ncols + (size_t)col], DATA_HEAT_INSUFFICIENT);
	data_heat_free(&h);
}

/* Issue 15: the latency view's LLM line: TTFT / TPOT percentiles of the
 * range's merged sketches and output tokens per second, from window_llm;
 * a model without LLM events has none. */
Test(data, latency_carries_the_range_llm_summary, .init = setup, .fini = teardown)
{
	sqlite3 *h;
	sqlite3_stmt *s;
	int64_t starts[2];
	int k = 0;

	cr_assert_eq(sqlite3_open(path, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h,
	                                "SELECT start FROM windows WHERE model_id = 1 ORDER BY "
	                                "start DESC LIMIT 2",
	                                -1, &s, NULL),
	             SQLITE_OK);
	while (k < 2 && sqlite3_step(s) == SQLITE_ROW)
		starts[k++] = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	cr_assert_eq(k, 2);
	for (int w = 0; w < 2; w++) {
		struct ddsketch *tt = ddsketch_new(), *tp = ddsketch_new();
		uint8_t *a, *b;
		size_t al, bl;
		for (int i = 0; i < 100; i++) {
			ddsketch_add(tt, 100.0 + w * 100 + i); /* 100..199, 200..299 */
			ddsketch_add(tp, 10.0 + w);
		}
		cr_assert_eq(ddsketch_encode_alloc(tt, &a, &al), 0);
		cr_assert_eq(ddsketch_encode_alloc(tp, &b, &bl), 0);
		cr_assert_eq(
		    sqlite3_prepare_v2(h,
		                       "INSERT INTO window_llm (model_id, start, llm, "
		                       "input_tokens, output_tokens, ttft_sketch, "
		                       "tpot_sketch) VALUES (1, ?1, 100, 1000, 3000, ?2, ?3)",
		                       -1, &s, NULL),
		    SQLITE_OK);
		sqlite3_bind_int64(s, 1, starts[w]);
		sqlite3_bind_blob(s, 2, a, (int)al, SQLITE_STATIC);
		sqlite3_bind_blob(s, 3, b, (int)bl, SQLITE_STATIC);
		cr_assert_eq(sqlite3_step(s), SQLITE_DONE, "%s", sqlite3_errmsg(h));
		sqlite3_finalize(s);
		free(a);
		free(b);
		ddsketch_free(tt);
		ddsketch_free(tp);
	}
	sqlite3_close(h);

	struct data_latency l = {0};
	cr_assert_eq(data_load_latency(&q, 1, opts.now - 3600, opts.now + 1, 60, 0, &l), 0);
	cr_expect_eq(l.llm, 200);
	cr_expect(fabs(l.ttft_p50 - 199) <= 0.01 * 199, "TTFT p50 %g", l.ttft_p50);
	cr_expect(fabs(l.ttft_p99 - 297) <= 0.01 * 297, "TTFT p99 %g", l.ttft_p99);
	cr_expect(fabs(l.tpot_p99 - 11) <= 0.01 * 11, "TPOT p99 %g", l.tpot_p99);
	cr_expect_float_eq(l.out_tok_s, 6000.0 / 120.0, 1e-9, "2 windows of 60 s");
	cr_assert_eq(data_load_latency(&q, 2, opts.now - 3600, opts.now + 1, 60, 0, &l), 0);
	cr_expect_eq(l.llm, 0);
	cr_expect(isnan(l.ttft_p99));
	data_latency_free(&l);
}

/* The drill-down of a feature (issue 17, segment_by): each segment's worst
 * severity in the range, worst first, with its verdict; rows outside the
 * range or of another feature are left out. */
Test(data, detail_lists_the_segments_worst_first, .init = setup, .fini = teardown)
{
	struct data_detail dt;
	sqlite3 *db;
	char sql[1024];
	int64_t w = (int64_t)opts.now / 60 * 60 - 120;

	cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
	snprintf(sql, sizeof(sql),
	         "INSERT INTO segment_drift (model_id, start, seg_key, segment, feature, kind, n, "
	         "severity, drifted, insufficient) VALUES "
	         "(1, %lld, 'country', 'DE', 'country', 2, 200, 2.5, 1, 0),"
	         "(1, %lld, 'country', 'DE', 'country', 2, 200, 0.5, 0, 0),"
	         "(1, %lld, 'country', 'FR', 'country', 2, 200, 0.7, 0, 0),"
	         "(1, %lld, 'country', 'other', 'country', 2, 50, 0.2, 0, 0),"
	         "(1, %lld, 'country', 'IT', 'amount', 2, 50, 9, 1, 0),"
	         "(1, %lld, 'country', 'ES', 'country', 2, 50, 9, 1, 0)",
	         (long long)w, (long long)w + 60, (long long)w, (long long)w, (long long)w,
	         (long long)w - 7200);
	cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(db));
	sqlite3_close(db);

	cr_assert_eq(data_load_detail(&q, 1, "country", opts.now - 600, opts.now, &dt), 0);
	cr_assert_eq(dt.nseg, 3);
	cr_expect_str_eq(dt.seg[0].name, "DE");
	cr_expect_float_eq(dt.seg[0].severity, 2.5, 1e-12);
	cr_expect(dt.seg[0].drifted);
	cr_expect_str_eq(dt.seg[1].name, "FR");
	cr_expect(!dt.seg[1].drifted);
	cr_expect_str_eq(dt.seg[2].name, "other");
}

/* Issue 19: the detail view of a vector feature or of @multivariate reads
 * each method's figures from the drift row's stats. */
Test(data, methods_of_a_vector_or_multivariate_row)
{
	struct data_method m[DATA_METHODS_MAX];
	size_t n = data_parse_methods(
	    "{\"dim\":384,\"methods\":{\"cosine\":{\"stat\":0.01,\"threshold\":0.002,\"p\":0.004,"
	    "\"drifted\":true},\"pca_recon\":{\"stat\":1.5,\"threshold\":0.4,\"lower\":0.3,"
	    "\"drifted\":false},\"odd\":3}}",
	    m, DATA_METHODS_MAX);

	cr_assert_eq(n, 2, "an entry that is not an object is left out");
	cr_expect_str_eq(m[0].name, "cosine");
	cr_expect_float_eq(m[0].stat, 0.01, 1e-15);
	cr_expect_float_eq(m[0].threshold, 0.002, 1e-15);
	cr_expect_float_eq(m[0].p, 0.004, 1e-15);
	cr_expect(isnan(m[0].lower));
	cr_expect_eq(m[0].drifted, 1);
	cr_expect_str_eq(m[1].name, "pca_recon");
	cr_expect_float_eq(m[1].lower, 0.3, 1e-15);
	cr_expect(isnan(m[1].p));
	cr_expect_eq(m[1].drifted, 0);
	cr_expect_eq(data_parse_methods("{\"preset\":\"mlwatch\"}", m, DATA_METHODS_MAX), 0);
	cr_expect_eq(data_parse_methods("not json", m, DATA_METHODS_MAX), 0);
	cr_expect_eq(data_parse_methods(NULL, m, DATA_METHODS_MAX), 0);
	cr_expect_eq(data_parse_methods("{\"methods\":{\"a\":{},\"b\":{},\"c\":{}}}", m, 2), 2,
	             "bounded by cap");
}
