/* store_query: every read of the dashboard and subcommands returns what the
 * database holds (filled by dbgen with known values), and the two writes
 * (ack, silence) change only what they should. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/dbgen.h"
#include "../lib/harness.h"
#include "store.h"
#include "store_query.h"

static char *dir;
static char path[512];
static struct dbgen_opts opts;
static struct store st;
static struct sq q;

static void setup(void)
{
	char err[512];

	dir = h_tmpdir("sq");
	cr_assert(dir);
	snprintf(path, sizeof(path), "%s/t.db", dir);
	memset(&opts, 0, sizeof(opts));
	opts.now = 1764072030.5; /* 30.5 s into a window */
	opts.models = 3;
	opts.features = 4;
	opts.windows = 30;
	opts.events_per_window = 4;
	opts.open_window = true;
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

TestSuite(store_query, .init = setup, .fini = teardown);

Test(store_query, models_and_meta)
{
	struct sq_model *m = NULL, one;
	struct sq_meta meta;
	size_t n = 0;

	cr_assert_eq(sq_models(&q, &m, &n), 0);
	cr_assert_eq(n, 3);
	/* by name */
	cr_expect_str_eq(m[0].name, "churn");
	cr_expect_str_eq(m[1].name, "eta");
	cr_expect_str_eq(m[2].name, "fraud");
	cr_expect_str_eq(m[2].task, "classification");
	free(m);
	cr_assert_eq(sq_model_find(&q, "fraud", &one), 0);
	cr_expect_eq(one.id, 1);
	cr_expect_eq(sq_model_find(&q, "nope", &one), SQ_NOTFOUND);
	cr_assert_eq(sq_meta(&q, &meta), 0);
	cr_expect_float_eq(meta.last_write, opts.now, 1e-3);
	cr_expect_eq(meta.window_seconds, 60);
	cr_expect_eq(q.window_s, 60);
}

Test(store_query, status_uses_newest_complete_window)
{
	struct sq_status *s = NULL;
	struct dbgen_window w;
	size_t n = 0;
	int64_t events = 0, errors = 0;

	cr_assert_eq(sq_status(&q, opts.now, opts.now - 600, &s, &n), 0);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(s[2].model.name, "fraud");
	/* The newest complete window is windows-1; the open one is skipped. */
	dbgen_window(&opts, 0, opts.windows - 1, &w);
	cr_expect_eq(s[2].win_start, w.start);
	cr_expect_float_eq(s[2].rps, (double)w.count / 60.0, 1e-9);
	cr_expect_float_eq(s[2].error_rate, (double)w.errors / (double)w.count, 1e-12);
	cr_expect_float_eq(s[2].p50, w.p50, 1e-12);
	cr_expect_float_eq(s[2].p95, w.p95, 1e-12);
	cr_expect_float_eq(s[2].p99, 400.0, 1e-12);
	/* events: windows starting in [now - 600, now]: the last 10 + the open one */
	for (int i = opts.windows - 9; i <= opts.windows; i++) {
		dbgen_window(&opts, 0, i, &w);
		events += w.count;
		errors += w.errors;
	}
	cr_expect_eq(s[2].events, events);
	cr_expect_eq(s[2].errors, errors);
	cr_expect_str_eq(s[2].worst_feature, "amount");
	cr_expect_float_eq(s[2].worst_severity, 3.5, 1e-12);
	cr_expect_eq(s[2].firing, 1);
	cr_expect_eq(s[2].pending, 1);
	cr_expect_eq(s[0].firing, 0);
	/* accuracy: labelled-weighted over the range; the newest 5 have none */
	{
		double num = 0, den = 0;
		for (int i = opts.windows - 9; i <= opts.windows; i++) {
			struct dbgen_accuracy a;
			dbgen_accuracy(&opts, 0, i, &a);
			if (a.labelled) {
				num += a.accuracy * (double)a.labelled;
				den += (double)a.labelled;
			}
		}
		cr_expect_float_eq(s[2].accuracy, num / den, 1e-9);
	}
	cr_expect(isnan(s[2].mae));
	free(s);
}

Test(store_query, status_of_a_model_without_windows_is_all_absent)
{
	struct sq_model m = {.id = 99};
	struct sq_status s;

	snprintf(m.name, sizeof(m.name), "ghost");
	cr_assert_eq(sq_status_one(&q, &m, opts.now, opts.now - 3600, &s), 0);
	cr_expect_eq(s.win_start, 0);
	cr_expect(isnan(s.rps));
	cr_expect(isnan(s.p99));
	cr_expect(isnan(s.accuracy));
	cr_expect_eq(s.events, 0);
	cr_expect_str_eq(s.worst_feature, "");
}

/* The overview asks every figure of all the models in one statement
 * (sq_*_all): each row must land on its own model, whatever the order of
 * the caller's array, and a model asked alone gets the same figures. */
Test(store_query, figures_of_all_models_at_once_equal_each_alone)
{
	struct sq_model *m = NULL, rev[4];
	struct sq_status all[4], one;
	struct sq_sums sums[4], alone;
	size_t n = 0;

	cr_assert_eq(sq_models(&q, &m, &n), 0);
	cr_assert_eq(n, 3);
	/* reversed, and a model the store does not have in the middle */
	rev[0] = m[2];
	rev[1] = (struct sq_model){.id = 99, .name = "ghost"};
	rev[2] = m[1];
	rev[3] = m[0];
	cr_assert_eq(sq_status_current_all(&q, rev, 4, opts.now, opts.now - 600, all), 0);
	cr_assert_eq(sq_range_sums_all(&q, rev, 4, opts.now - 600, opts.now, sums), 0);
	for (int i = 0; i < 4; i++) {
		cr_assert_eq(sq_status_current(&q, &rev[i], opts.now, opts.now - 600, &one), 0);
		cr_assert_eq(sq_range_sums(&q, rev[i].id, opts.now - 600, opts.now, &alone), 0);
		cr_expect_str_eq(all[i].model.name, rev[i].name);
		cr_expect_eq(all[i].win_start, one.win_start, "%s", rev[i].name);
		cr_expect(all[i].p99 == one.p99 || (isnan(all[i].p99) && isnan(one.p99)));
		cr_expect(all[i].rps == one.rps || (isnan(all[i].rps) && isnan(one.rps)));
		cr_expect_str_eq(all[i].worst_feature, one.worst_feature);
		cr_expect_eq(all[i].firing, one.firing);
		cr_expect_eq(all[i].pending, one.pending);
		cr_expect_eq(memcmp(&sums[i], &alone, sizeof(alone)), 0, "%s", rev[i].name);
	}
	/* the figures are the model's own, not a neighbour's */
	cr_expect_eq(all[0].firing, 1);
	cr_expect_eq(all[3].firing, 0);
	cr_expect_float_eq(all[0].worst_severity, 3.5, 1e-12);
	cr_expect_eq(all[1].win_start, 0);
	cr_expect_eq(sums[1].count, 0);
	cr_expect_gt(sums[0].count, 0);
	free(m);
}

struct collect {
	int n;
	int64_t first_start, last_start;
	double sum_p99, max_p99;
	int64_t count;
	bool last_provisional;
};

static int lat_fn(const struct sq_latency *r, void *arg)
{
	struct collect *c = arg;
	if (c->n++ == 0)
		c->first_start = r->start;
	c->last_start = r->start;
	c->sum_p99 += r->p99;
	if (r->p99 > c->max_p99)
		c->max_p99 = r->p99;
	c->count += r->count;
	c->last_provisional = r->provisional;
	return 0;
}

Test(store_query, latency_windows_and_buckets)
{
	struct collect c = {0}, b = {0};
	struct dbgen_window w0, wl;

	cr_assert_eq(sq_latency_each(&q, 1, 0, 1e12, lat_fn, &c), 0);
	cr_expect_eq(c.n, opts.windows + 1);
	dbgen_window(&opts, 0, 0, &w0);
	dbgen_window(&opts, 0, opts.windows, &wl);
	cr_expect_eq(c.first_start, w0.start);
	cr_expect_eq(c.last_start, wl.start);
	cr_expect(c.last_provisional);
	/* 10-minute buckets: the spike survives as the max, counts add up */
	cr_assert_eq(sq_latency_buckets(&q, 1, 0, 1e12, 600, lat_fn, &b), 0);
	cr_expect_eq(b.count, c.count);
	cr_expect_float_eq(b.max_p99, 400.0, 1e-9);
	cr_expect_eq(b.first_start % 600, 0);
	cr_expect_leq(b.n, 5);
	cr_expect_geq(b.n, 4);
}

static int stop_fn(const struct sq_latency *r, void *arg)
{
	(*(int *)arg)++;
	return 7;
}

Test(store_query, a_callback_stops_the_iteration)
{
	int n = 0;
	cr_expect_eq(sq_latency_each(&q, 1, 0, 1e12, stop_fn, &n), 7);
	cr_expect_eq(n, 1);
	/* and the statement is reusable afterwards */
	n = 0;
	cr_expect_eq(sq_latency_each(&q, 1, 0, 1e12, stop_fn, &n), 7);
}

struct dcollect {
	int n;
	struct dbgen_opts *o;
	int mismatches;
	char last_feature[64];
};

static int drift_fn(const struct sq_drift *d, void *arg)
{
	struct dcollect *c = arg;
	struct dbgen_drift e;
	int f = strcmp(d->feature, "amount") == 0    ? 0
	        : strcmp(d->feature, "country") == 0 ? 1
	                                             : atoi(d->feature + 1);
	int w = (int)((d->start - (int64_t)floor(c->o->now / 60) * 60) / 60) + c->o->windows;

	dbgen_drift(c->o, 0, f, w, &e);
	if (fabs(d->severity - e.severity) > 1e-9 || d->kind != e.kind ||
	    strcmp(d->method, e.method) != 0 || d->drifted != (int)e.drifted || d->n != e.n ||
	    d->n_ref != 5000 || !d->cur_hist)
		c->mismatches++;
	if (e.kind == 1 && fabs(d->ks - e.ks) > 1e-12)
		c->mismatches++;
	if (e.kind == 2 && (fabs(d->chi2_p - e.chi2_p) > 1e-12 || !isnan(d->ks)))
		c->mismatches++;
	c->n++;
	snprintf(c->last_feature, sizeof(c->last_feature), "%s", d->feature);
	return 0;
}

Test(store_query, drift_rows_match_what_was_stored)
{
	struct dcollect c = {.o = &opts};

	cr_assert_eq(sq_drift_each(&q, 1, opts.now - 300, 1e12, NULL, drift_fn, &c), 0);
	/* windows starting in the last 300 s: 4 complete + the open one */
	cr_expect_eq(c.n, 5 * 4);
	cr_expect_eq(c.mismatches, 0);
	memset(&c, 0, sizeof(c));
	c.o = &opts;
	cr_assert_eq(sq_drift_each(&q, 1, 0, 1e12, "country", drift_fn, &c), 0);
	cr_expect_eq(c.n, opts.windows + 1);
	cr_expect_str_eq(c.last_feature, "country");
	cr_expect_eq(c.mismatches, 0);
}

struct cells {
	int n;
	double amount_max;
	int amount_drifted;
	int windows;
};

static int cell_fn(const struct sq_drift_cell *c, void *arg)
{
	struct cells *x = arg;
	x->n++;
	x->windows += c->windows;
	if (strcmp(c->feature, "amount") == 0 && c->severity > x->amount_max) {
		x->amount_max = c->severity;
		x->amount_drifted |= c->drifted;
	}
	return 0;
}

Test(store_query, drift_cells_and_worst_window)
{
	struct cells x = {0};
	struct dcollect c = {.o = &opts};
	char *hist = NULL;
	int kind = 0;
	int64_t n = 0;
	struct sq_hist h;

	cr_assert_eq(sq_drift_cells(&q, 1, 0, 1e12, 300, cell_fn, &x), 0);
	cr_expect_eq(x.windows, (opts.windows + 1) * 4);
	cr_expect_float_eq(x.amount_max, 3.5, 1e-12);
	cr_expect_eq(x.amount_drifted, 1);
	cr_assert_eq(sq_drift_worst_in(&q, 1, "f02", 0, 1e12, drift_fn, &c), 0);
	cr_expect_eq(c.n, 1);
	cr_expect_eq(c.mismatches, 0);
	cr_expect_eq(sq_drift_worst_in(&q, 1, "nope", 0, 1e12, drift_fn, &c), SQ_NOTFOUND);
	cr_assert_eq(sq_reference_hist(&q, 1, "country", &kind, &n, &hist), 0);
	cr_expect_eq(kind, 2);
	cr_expect_eq(n, 5000);
	cr_assert_eq(sq_hist_parse(hist, &h), 0);
	cr_expect_eq(h.n, 5);
	cr_expect_str_eq(h.label[0], "DE");
	cr_expect_str_eq(h.label[4], "new");
	cr_expect_float_eq(h.prop[0], 0.4, 1e-12);
	free(hist);
	cr_expect_eq(sq_reference_hist(&q, 1, "nope", &kind, &n, &hist), SQ_NOTFOUND);
	cr_expect_null(hist);
}

Test(store_query, hist_parse_forms)
{
	struct sq_hist h;

	cr_assert_eq(sq_hist_parse("{\"edges\":[1,2],\"counts\":[1,2,1]}", &h), 0);
	cr_expect_eq(h.n, 3);
	cr_expect_str_eq(h.label[0], "<=1");
	cr_expect_str_eq(h.label[1], "<=2");
	cr_expect_str_eq(h.label[2], ">2");
	cr_expect_float_eq(h.prop[1], 0.5, 1e-12);
	cr_assert_eq(sq_hist_parse("{\"labels\":[\"a\",\"b\"],\"props\":[0.25,0.75]}", &h), 0);
	cr_expect_str_eq(h.label[1], "b");
	cr_expect_float_eq(h.prop[1], 0.75, 1e-12);
	cr_assert_eq(sq_hist_parse("{\"DE\":3,\"US\":1}", &h), 0);
	cr_expect_eq(h.n, 2);
	cr_expect_str_eq(h.label[0], "DE");
	cr_expect_float_eq(h.prop[0], 0.75, 1e-12);
	cr_expect_eq(sq_hist_parse("[1,2]", &h), -1);
	cr_expect_eq(sq_hist_parse("{\"counts\":[1,-2]}", &h), -1);
	cr_expect_eq(sq_hist_parse("{\"counts\":[1,\"x\"]}", &h), -1);
	cr_expect_eq(sq_hist_parse("not json", &h), -1);
	cr_expect_eq(sq_hist_parse(NULL, &h), -1);
	cr_expect_eq(sq_hist_parse("{}", &h), -1);
}

struct acollect {
	int n, labelled_windows;
	double last_est;
};

static int acc_fn(const struct sq_accuracy *a, void *arg)
{
	struct acollect *c = arg;
	c->n++;
	if (a->labelled > 0)
		c->labelled_windows++;
	c->last_est = a->est_accuracy;
	return 0;
}

static int concept_fn(const struct sq_concept *e, void *arg)
{
	(*(int *)arg)++;
	cr_expect_str_eq(e->detector, "page-hinkley");
	return 0;
}

Test(store_query, accuracy_and_concept_events)
{
	struct acollect c = {0};
	struct dbgen_accuracy a;
	int ncon = 0;

	cr_assert_eq(sq_accuracy_each(&q, 1, 0, 1e12, acc_fn, &c), 0);
	cr_expect_eq(c.n, opts.windows + 1);
	cr_expect_eq(c.labelled_windows, opts.windows - 5);
	dbgen_accuracy(&opts, 0, opts.windows, &a);
	cr_expect_float_eq(c.last_est, a.est_accuracy, 1e-12);
	memset(&c, 0, sizeof(c));
	cr_assert_eq(sq_accuracy_buckets(&q, 1, 0, 1e12, 1800, acc_fn, &c), 0);
	cr_expect_geq(c.n, 1);
	cr_expect_leq(c.n, 2);
	cr_assert_eq(sq_concept_each(&q, 1, 0, 1e12, concept_fn, &ncon), 0);
	cr_expect_eq(ncon, 1);
	ncon = 0;
	cr_assert_eq(sq_concept_each(&q, 2, 0, 1e12, concept_fn, &ncon), 0);
	cr_expect_eq(ncon, 0);
}

struct alcollect {
	int n;
	int64_t ids[8];
	bool silenced[8], acked[8];
	double since[8];
	const char *feature_null[8];
};

static int alert_fn(const struct sq_alert *a, void *arg)
{
	struct alcollect *c = arg;
	if (c->n < 8) {
		c->ids[c->n] = a->id;
		c->silenced[c->n] = a->silenced;
		c->acked[c->n] = a->acked;
		c->since[c->n] = a->since;
		c->feature_null[c->n] = a->feature ? "set" : NULL;
	}
	c->n++;
	return 0;
}

Test(store_query, alerts_ack_and_silence)
{
	struct alcollect c = {0};
	char err[512];
	int64_t sid = 0;

	cr_assert_eq(sq_alerts_each(&q, false, opts.now, alert_fn, &c), 0);
	cr_assert_eq(c.n, 2);
	cr_expect_eq(c.ids[0], DBGEN_ALERT_P99); /* firing first */
	cr_expect_float_eq(c.since[0], opts.now - 120, 1e-6);
	cr_expect_null(c.feature_null[0]);
	cr_expect_eq(c.ids[1], DBGEN_ALERT_DRIFT);
	cr_expect_not_null(c.feature_null[1]);
	memset(&c, 0, sizeof(c));
	cr_assert_eq(sq_alerts_each(&q, true, opts.now, alert_fn, &c), 0);
	cr_expect_eq(c.n, 3);

	/* writes need a read-write store */
	sq_fini(&q);
	store_close(&st);
	cr_assert_eq(store_open(&st, path, STORE_RW, false, err, sizeof(err)), 0, "%s", err);
	sq_init(&q, &st);
	cr_expect_eq(sq_ack(&q, DBGEN_ALERT_P99, opts.now), 0);
	cr_expect_eq(sq_ack(&q, 999, opts.now), SQ_NOTFOUND);
	cr_assert_eq(sq_silence_add(&q, "p99-high", NULL, opts.now, opts.now + 600, "deploy", &sid),
	             0);
	cr_expect_gt(sid, 0);
	memset(&c, 0, sizeof(c));
	cr_assert_eq(sq_alert_get(&q, DBGEN_ALERT_P99, opts.now, alert_fn, &c), 0);
	cr_expect(c.acked[0]);
	cr_expect(c.silenced[0]);
	/* the silence ends */
	memset(&c, 0, sizeof(c));
	cr_assert_eq(sq_alert_get(&q, DBGEN_ALERT_P99, opts.now + 601, alert_fn, &c), 0);
	cr_expect_not(c.silenced[0]);
	/* a silence for another model does not cover it */
	cr_assert_eq(
	    sq_silence_add(&q, "drift-amount", "churn", opts.now, opts.now + 600, NULL, &sid), 0);
	memset(&c, 0, sizeof(c));
	cr_assert_eq(sq_alert_get(&q, DBGEN_ALERT_DRIFT, opts.now, alert_fn, &c), 0);
	cr_expect_not(c.silenced[0]);
	cr_expect_eq(sq_alert_get(&q, 999, opts.now, alert_fn, &c), SQ_NOTFOUND);
}

Test(store_query, writes_fail_on_a_read_only_store)
{
	int64_t sid;
	cr_expect_eq(sq_ack(&q, 1, opts.now), -1);
	cr_expect_eq(sq_silence_add(&q, "x", NULL, opts.now, opts.now + 1, NULL, &sid), -1);
}

struct ecollect {
	int n;
	int labelled;
	double last_ts;
	bool ordered;
};

static int ev_fn(const struct sq_event *e, void *arg)
{
	struct ecollect *c = arg;
	if (c->n && e->ts < c->last_ts)
		c->ordered = false;
	c->last_ts = e->ts;
	c->n++;
	if (e->label_type == SQV_STR)
		c->labelled++;
	cr_expect_eq(e->pred_type, SQV_STR);
	cr_expect_not_null(e->features);
	return 0;
}

static int feat_fn(const char *name, int kind, void *arg)
{
	(*(int *)arg)++;
	return 0;
}

Test(store_query, events_in_order_and_features)
{
	struct ecollect c = {.ordered = true};
	int nf = 0;

	/* the last 3 complete windows and the open one, 4 events each */
	cr_assert_eq(sq_events_each(&q, 1, opts.now - 210.5, 1e12, ev_fn, &c), 0);
	cr_expect_eq(c.n, 16);
	cr_expect_eq(c.labelled, 8);
	cr_expect(c.ordered);
	cr_assert_eq(sq_features_each(&q, 1, feat_fn, &nf), 0);
	cr_expect_eq(nf, 4);
}

struct each_count {
	int n, stop_at;
};

static int each_count_fn(struct db_stmt *s, void *arg)
{
	struct each_count *c = arg;

	c->n++;
	cr_expect_eq(db_column_int(s, 0), c->n);
	/* DB_DONE on purpose: a stop that looks like an engine code */
	return c->n == c->stop_at ? DB_DONE : 0;
}

/* store_each_row, the row loop under every query above: a stop value is
 * passed through as it is (even one equal to an engine code), the rows end
 * in 0, a failing step in -1, and the statement is reset on every return. */
Test(store_query, each_row_passes_stops_through_and_resets)
{
	struct db_stmt *s = NULL, *bad = NULL;
	struct each_count c = {0, 2};

	cr_assert_eq(db_prepare(st.db, "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3", &s),
	             DB_OK);
	cr_expect_eq(store_each_row(s, each_count_fn, &c), DB_DONE);
	cr_expect_eq(c.n, 2);
	/* reset: the next walk starts again at the first row */
	c = (struct each_count){0, 0};
	cr_expect_eq(store_each_row(s, each_count_fn, &c), 0);
	cr_expect_eq(c.n, 3);
	db_finalize(s);

	/* the second row fails to compute (integer overflow) */
	cr_assert_eq(
	    db_prepare(st.db, "SELECT 1 UNION ALL SELECT abs(-9223372036854775807 - 1)", &bad),
	    DB_OK);
	c = (struct each_count){0, 0};
	cr_expect_eq(store_each_row(bad, each_count_fn, &c), -1);
	cr_expect_eq(c.n, 1);
	db_finalize(bad);
}

/* Up to 64 rows of one query, to compare two of them field by field. */
struct rows64 {
	int n;
	struct sq_latency lat[64];
	struct sq_accuracy acc[64];
};

static int lat_keep(const struct sq_latency *r, void *arg)
{
	struct rows64 *c = arg;
	if (c->n < 64)
		c->lat[c->n] = *r;
	c->n++;
	return 0;
}

static int acc_keep(const struct sq_accuracy *a, void *arg)
{
	struct rows64 *c = arg;
	if (c->n < 64)
		c->acc[c->n] = *a;
	c->n++;
	return 0;
}

/* Equal, or both absent (NAN); sums and weighted means may round. */
static bool same_num(double a, double b)
{
	return (isnan(a) && isnan(b)) || fabs(a - b) <= 1e-9 * fmax(1.0, fabs(a));
}

/* A one-second bucket holds exactly one window: every figure of the bucket
 * queries must be the window's own, which pins which column each decoder
 * reads (the rows and the buckets share their decoders at an offset). */
Test(store_query, one_second_buckets_are_their_windows)
{
	static struct rows64 w, b;

	memset(&w, 0, sizeof(w));
	memset(&b, 0, sizeof(b));
	cr_assert_eq(sq_latency_each(&q, 1, 0, 1e12, lat_keep, &w), 0);
	cr_assert_eq(sq_latency_buckets(&q, 1, 0, 1e12, 1, lat_keep, &b), 0);
	cr_assert_eq(w.n, opts.windows + 1);
	cr_assert_eq(b.n, w.n);
	for (int i = 0; i < w.n; i++) {
		const struct sq_latency *x = &w.lat[i], *y = &b.lat[i];
		cr_expect_eq(y->start, x->start);
		cr_expect_eq(y->end, x->start + 1);
		cr_expect_eq(y->count, x->count, "row %d", i);
		cr_expect_eq(y->errors, x->errors, "row %d", i);
		cr_expect_eq(y->provisional, x->provisional, "row %d", i);
		cr_expect(same_num(y->p50, x->p50) && same_num(y->p90, x->p90) &&
		              same_num(y->p95, x->p95) && same_num(y->p99, x->p99) &&
		              same_num(y->p999, x->p999) && same_num(y->max, x->max) &&
		              same_num(y->mean, x->mean),
		          "row %d: quantiles differ", i);
		cr_expect(same_num(y->rps, x->rps) && same_num(y->error_rate, x->error_rate),
		          "row %d: rates %g/%g vs %g/%g", i, y->rps, y->error_rate, x->rps,
		          x->error_rate);
	}

	memset(&w, 0, sizeof(w));
	memset(&b, 0, sizeof(b));
	cr_assert_eq(sq_accuracy_each(&q, 1, 0, 1e12, acc_keep, &w), 0);
	cr_assert_eq(sq_accuracy_buckets(&q, 1, 0, 1e12, 1, acc_keep, &b), 0);
	cr_assert_eq(w.n, opts.windows + 1);
	cr_assert_eq(b.n, w.n);
	for (int i = 0; i < w.n; i++) {
		const struct sq_accuracy *x = &w.acc[i], *y = &b.acc[i];
		cr_expect_eq(y->start, x->start);
		cr_expect_eq(y->labelled, x->labelled, "row %d", i);
		cr_expect_eq(y->count, x->count, "row %d", i);
		cr_expect_eq(y->provisional, x->provisional, "row %d", i);
		cr_expect(
		    same_num(y->accuracy, x->accuracy) && same_num(y->macro_f1, x->macro_f1) &&
		        same_num(y->mae, x->mae) && same_num(y->rmse, x->rmse) &&
		        same_num(y->est_accuracy, x->est_accuracy) &&
		        same_num(y->est_low, x->est_low) && same_num(y->est_high, x->est_high) &&
		        same_num(y->label_coverage, x->label_coverage),
		    "row %d: figures differ", i);
	}
}
