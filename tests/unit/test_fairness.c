/* fairness: per-group counts, rates and gaps (common/fairness.c) against
 * hand-computed values; the fairness table round trip and pooling
 * (common/store_fairness.c); the rule metrics and config keys. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"
#include "config.h"
#include "fairness.h"
#include "rules.h"
#include "store.h"
#include "store_fairness.h"

static struct value num(double v)
{
	return (struct value){VALUE_NUMBER, v, NULL};
}

static struct value str(const char *s)
{
	return (struct value){VALUE_STRING, 0, s};
}

static const struct value none = {VALUE_NONE, 0, NULL};

/* n events of group g: `pos` predicted 1, the first `lab` of them labelled
 * with label l (pred p per event as given by the caller's loop). */
static void add(struct fairness_attr *a, const char *g, double pred, const struct value *label)
{
	struct value p = num(pred);
	cr_assert_eq(fairness_add(a, g, &p, label, NULL), 0);
}

static struct fairness_group *find(struct fairness_attr *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->g[i].name, name) == 0)
			return &a->g[i];
	return NULL;
}

Test(fairness, confusion_counts_rates_and_gaps)
{
	struct fairness_attr a;
	struct value l1 = num(1), l0 = num(0);
	struct fairness_gaps g;

	fairness_attr_init(&a, "gender");
	/* A: 10 events, 3 positive; labels: tp 2, fn 1, fp 1, tn 4 (8 labelled) */
	add(&a, "A", 1, &l1);
	add(&a, "A", 1, &l1);
	add(&a, "A", 1, &l0);
	add(&a, "A", 0, &l1);
	for (int i = 0; i < 4; i++)
		add(&a, "A", 0, &l0);
	add(&a, "A", 0, &none);
	add(&a, "A", 0, &none);
	/* B: 5 events, 1 positive; tp 1, fn 2, fp 0, tn 2 */
	add(&a, "B", 1, &l1);
	add(&a, "B", 0, &l1);
	add(&a, "B", 0, &l1);
	add(&a, "B", 0, &l0);
	add(&a, "B", 0, &l0);
	/* a missing attribute is not counted */
	struct value p1 = num(1);
	cr_assert_eq(fairness_add(&a, NULL, &p1, &l1, NULL), 0);
	cr_assert_eq(a.n, 2);

	struct fairness_group *A = find(&a, "A"), *B = find(&a, "B");
	cr_assert(A && B);
	cr_assert_eq(A->n, 10);
	cr_assert_eq(A->positives, 3);
	cr_assert_eq(A->labelled, 8);
	cr_assert_eq(A->tp, 2);
	cr_assert_eq(A->fn, 1);
	cr_assert_eq(A->fp, 1);
	cr_assert_eq(A->tn, 4);
	cr_assert_eq(A->correct, 6);
	cr_assert_eq(B->tp, 1);
	cr_assert_eq(B->fn, 2);
	cr_assert_eq(B->tn, 2);
	cr_assert_eq(B->correct, 3);

	struct fairness_rates r;
	fairness_rates(A, &r);
	cr_assert_eq(r.positive_rate, 3.0 / 10);
	cr_assert_eq(r.accuracy, 6.0 / 8);
	cr_assert_eq(r.tpr, 2.0 / 3);
	cr_assert_eq(r.fpr, 1.0 / 5);

	fairness_gaps(a.g, a.n, 1, &g);
	cr_assert_eq(g.dp_diff, 3.0 / 10 - 1.0 / 5);
	cr_assert_eq(g.dp_ratio, (1.0 / 5) / (3.0 / 10));
	cr_assert_eq(g.eo_diff, 2.0 / 3 - 1.0 / 3);
	/* FPR A 0.2, B 0: the TPR gap (1/3) is larger */
	cr_assert_eq(g.eodds_diff, 2.0 / 3 - 1.0 / 3);
	cr_assert_eq(g.acc_gap, 6.0 / 8 - 3.0 / 5);
	cr_assert_eq(g.n_dp, 2);
	cr_assert_eq(fairness_gap_value(&g, FAIR_DP_RATIO), g.dp_ratio);
	cr_assert_eq(fairness_gap_value(&g, FAIR_ACC_GAP), g.acc_gap);

	/* B has 5 events: below a minimum of 6 the gaps are insufficient */
	fairness_gaps(a.g, a.n, 6, &g);
	cr_assert(isnan(g.dp_ratio));
	cr_assert(isnan(g.dp_diff));
	cr_assert(isnan(g.eo_diff));
	cr_assert_eq(g.n_dp, 1);
	fairness_attr_fini(&a);
}

Test(fairness, positive_label_and_class_names)
{
	struct value one = num(1), onef = num(1.0), yes = str("approve"), no = str("deny"),
	             s1 = str("1");

	cr_assert(fairness_is_positive(&one, NULL));
	cr_assert(fairness_is_positive(&onef, "1"));
	cr_assert(fairness_is_positive(&s1, NULL));
	cr_assert_not(fairness_is_positive(&yes, NULL));
	cr_assert(fairness_is_positive(&yes, "approve"));
	cr_assert_not(fairness_is_positive(&no, "approve"));
	cr_assert_not(fairness_is_positive(&none, NULL));

	/* 1 against "1" is a correct prediction */
	struct fairness_attr a;
	fairness_attr_init(&a, "x");
	cr_assert_eq(fairness_add(&a, "g", &one, &s1, NULL), 0);
	cr_assert_eq(a.g[0].correct, 1);
	cr_assert_eq(a.g[0].tp, 1);
	fairness_attr_fini(&a);
}

Test(fairness, no_positives_is_parity_and_groups_are_bounded)
{
	struct fairness_attr a;
	struct value zero = num(0);
	struct fairness_gaps g;
	char name[300];

	fairness_attr_init(&a, "zip");
	for (int i = 0; i < FAIRNESS_GROUPS_MAX + 10; i++) {
		snprintf(name, sizeof(name), "g%d", i);
		cr_assert_eq(fairness_add(&a, name, &zero, &none, NULL), 0);
	}
	cr_assert_eq(a.n, FAIRNESS_GROUPS_MAX + 1, "the extra groups share one overflow group");
	cr_assert_str_eq(a.g[FAIRNESS_GROUPS_MAX].name, FAIRNESS_OTHER);
	cr_assert_eq(a.g[FAIRNESS_GROUPS_MAX].n, 10);
	fairness_gaps(a.g, a.n, 1, &g);
	cr_assert_eq(g.dp_ratio, 1.0, "nobody positive: treated alike");
	cr_assert_eq(g.dp_diff, 0.0);
	cr_assert(isnan(g.eo_diff), "no labels: no TPR");
	fairness_attr_fini(&a);

	/* a name longer than the bound is cut, not refused */
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	fairness_attr_init(&a, name);
	cr_assert_eq(strlen(a.name), FAIRNESS_NAME_MAX);
	cr_assert_eq(fairness_add(&a, name, &zero, &none, NULL), 0);
	cr_assert_eq(strlen(a.g[0].name), FAIRNESS_NAME_MAX);
	fairness_attr_fini(&a);
}

static int collect_attr(const char *name, void *arg)
{
	char *buf = arg;
	strcat(buf, "[");
	strcat(buf, name);
	strcat(buf, "]");
	return 0;
}

Test(fairness, attribute_list)
{
	char buf[256] = "";
	cr_assert_eq(fairness_each_attr(" gender , age_band,,region ", collect_attr, buf), 0);
	cr_assert_str_eq(buf, "[gender][age_band][region]");
}

/* ---- the table ---- */

struct seen {
	int windows;
	int64_t starts[8];
	char attrs[8][FAIRNESS_NAME_MAX + 1];
	uint64_t n_a[8];
	double ratio;
	int64_t newest;
	int calls;
};

static int on_window(const struct store_fairness_window *w, void *arg)
{
	struct seen *s = arg;
	cr_assert_lt(s->windows, 8);
	s->starts[s->windows] = w->start;
	snprintf(s->attrs[s->windows], sizeof(s->attrs[0]), "%s", w->attr->name);
	s->n_a[s->windows] = w->attr->g[0].n;
	s->windows++;
	return 0;
}

static int on_pooled(const struct fairness_attr *p, int64_t newest, void *arg)
{
	struct seen *s = arg;
	struct fairness_gaps g;
	fairness_gaps(p->g, p->n, 1, &g);
	s->ratio = g.dp_ratio;
	s->newest = newest;
	s->calls++;
	return 0;
}

/* Stops (with 9) at the stop_at-th window or pooled attribute. */
static int stop_at, stop_calls;

static int on_window_stop(const struct store_fairness_window *w, void *arg)
{
	return ++stop_calls == stop_at ? 9 : 0;
}

static int on_pooled_stop(const struct fairness_attr *p, int64_t newest, void *arg)
{
	return ++stop_calls == stop_at ? 9 : 0;
}

Test(fairness, table_round_trip_and_pooling)
{
	char *dir = h_tmpdir("fair"), path[512], err[512];
	struct store st;
	struct value l0 = num(0);

	snprintf(path, sizeof(path), "%s/t.db", dir);
	cr_assert_eq(store_open(&st, path, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(
	    store_exec(&st, "INSERT INTO models (id, name, created) VALUES (7, 'credit', 0)"), 0);
	/* window 100: A 3/10 positive, B 1/10; window 160: A 3/10, B 3/10 */
	for (int w = 0; w < 2; w++) {
		struct fairness_attr at[2];
		fairness_attr_init(&at[0], "gender");
		fairness_attr_init(&at[1], "age");
		for (int i = 0; i < 10; i++) {
			add(&at[0], "A", i < 3 ? 1 : 0, &l0);
			add(&at[0], "B", i < (w ? 3 : 1) ? 1 : 0, &none);
			add(&at[1], "young", 0, &none);
		}
		cr_assert_eq(store_begin(&st), 0);
		cr_assert_eq(store_fairness_write(&st, 7, 100 + 60 * w, at, 2), 0, "%s",
		             store_errmsg(&st));
		/* rewriting a window replaces its rows */
		cr_assert_eq(store_fairness_write(&st, 7, 100 + 60 * w, at, 2), 0);
		cr_assert_eq(store_commit(&st), 0);
		fairness_attr_fini(&at[0]);
		fairness_attr_fini(&at[1]);
	}
	struct seen s = {0};
	cr_assert_eq(store_fairness_each(&st, 7, 0, 1000, on_window, &s), 0);
	cr_assert_eq(s.windows, 4, "two windows x two attributes");
	cr_assert_eq(s.starts[0], 100);
	cr_assert_str_eq(s.attrs[0], "age");
	cr_assert_str_eq(s.attrs[1], "gender");
	cr_assert_eq(s.n_a[1], 10, "group A of gender counted once after the rewrite");
	cr_assert_eq(s.starts[3], 160);

	/* pooled from 100: A 6/20, B 4/20 -> 0.2/0.3 */
	memset(&s, 0, sizeof(s));
	cr_assert_eq(store_fairness_pooled(&st, "credit", "gender", 100, on_pooled, &s), 0);
	cr_assert_eq(s.calls, 1);
	cr_assert_eq(s.ratio, (4.0 / 20) / (6.0 / 20));
	cr_assert_eq(s.newest, 160);
	/* from 160 only: equal rates */
	memset(&s, 0, sizeof(s));
	cr_assert_eq(store_fairness_pooled(&st, "credit", "gender", 160, on_pooled, &s), 0);
	cr_assert_eq(s.ratio, 1.0);
	/* every attribute; an unknown model has none */
	memset(&s, 0, sizeof(s));
	cr_assert_eq(store_fairness_pooled(&st, "credit", NULL, 0, on_pooled, &s), 0);
	cr_assert_eq(s.calls, 2);
	memset(&s, 0, sizeof(s));
	cr_assert_eq(store_fairness_pooled(&st, "nope", NULL, 0, on_pooled, &s), 0);
	cr_assert_eq(s.calls, 0);
	/* a callback's stop value comes back as it is, whether it stops at a
	 * change of key or on the last run (handed on after the rows) */
	for (stop_at = 1; stop_at <= 4; stop_at++) {
		stop_calls = 0;
		cr_expect_eq(store_fairness_each(&st, 7, 0, 1000, on_window_stop, NULL), 9);
		cr_expect_eq(stop_calls, stop_at);
	}
	for (stop_at = 1; stop_at <= 2; stop_at++) {
		stop_calls = 0;
		cr_expect_eq(store_fairness_pooled(&st, "credit", NULL, 0, on_pooled_stop, NULL),
		             9);
		cr_expect_eq(stop_calls, stop_at);
	}
	store_close(&st);
	h_rmtree(dir);
	free(dir);
}

/* ---- rules and config ---- */

Test(fairness, rule_metrics_parse_with_over)
{
	struct rule_expr e;
	char err[256];

	cr_assert_eq(rules_parse_expr("dp_ratio(gender) < 0.8 over 1h", &e, err, sizeof(err)), 0,
	             "%s", err);
	cr_assert_eq(e.metric, METRIC_DP_RATIO);
	cr_assert_eq(e.op, OP_LT);
	cr_assert_eq(e.threshold, 0.8);
	cr_assert_eq(e.over_ms, 3600000);
	cr_assert_str_eq(e.feature, "gender");
	cr_assert_eq(rules_metric_source(e.metric), SOURCE_FAIRNESS);
	cr_assert(rules_metric_per_feature(e.metric));
	static const char *const ok[] = {"dp_diff(age_band) > 0.1", "eo_diff(*) > 0.1 over 10m",
	                                 "eodds_diff(\"age band\") > 0.2",
	                                 "acc_gap(gender) > 0.05"};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		cr_assert_eq(rules_parse_expr(ok[i], &e, err, sizeof(err)), 0, "%s: %s", ok[i],
		             err);
	cr_assert_neq(rules_parse_expr("dp_ratio < 0.8", &e, err, sizeof(err)), 0);
	cr_assert_neq(rules_parse_expr("dp_ratio(gender) < 0.8 over 2h", &e, err, sizeof(err)), 0);
	cr_assert(strstr(err, "between 1s and 1h"), "%s", err);
}

Test(fairness, config_keys)
{
	char *dir = h_tmpdir("faircfg"), path[512], err[512];
	struct mlw_config cfg;
	const char *text =
	    "[collector]\nfairness_min_sample = 50\n"
	    "[model credit]\nfairness_by = gender, age_band\npositive_label = approve\n";

	snprintf(path, sizeof(path), "%s/c.conf", dir);
	cr_assert_eq(h_write_file(path, text, strlen(text)), 0);
	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_eq(cfg.collector.fairness_min_sample, FAIRNESS_MIN_SAMPLE_DEFAULT);
	cr_assert_eq(config_load(&cfg, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(cfg.collector.fairness_min_sample, 50);
	const struct model_config *m = config_model(&cfg, "credit");
	cr_assert(m);
	cr_assert_str_eq(m->fairness_by, "gender, age_band");
	cr_assert_str_eq(m->positive_label, "approve");
	config_free(&cfg);

	text = "[model credit]\nfairness_by =\n";
	cr_assert_eq(h_write_file(path, text, strlen(text)), 0);
	cr_assert_eq(config_init(&cfg), 0);
	cr_assert_neq(config_load(&cfg, path, err, sizeof(err)), 0);
	cr_assert(strstr(err, ":2:") && strstr(err, "fairness_by"), "%s", err);
	config_free(&cfg);
	h_rmtree(dir);
	free(dir);
}
