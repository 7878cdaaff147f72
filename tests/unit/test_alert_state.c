/* alert_state: the state machine of CONTRACT section 7 driven with made-up
 * values and clocks: pending -> firing after `for`, exactly one notification
 * per receiver and transition, repeats, resolves, restarts that neither
 * re-page nor forget, silences and acks that suppress notifications but not
 * state, per-feature instances, and values that cannot be known yet. */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../collector/alert_state.h"
#include "../lib/harness.h"
#include "store.h"
#include "store_alerts.h"

#define T0 1764072000.0

struct fake {
	const char *models[4];
	double value[4]; /* per model */
	int held;        /* 1: every value unknown, 2: no data in the interval */
	struct {
		const char *feature;
		double value;
	} feats[8];
	size_t n_feats;
};

static void f_models(void *ctx, void (*fn)(void *, const char *), void *arg)
{
	struct fake *f = ctx;
	for (int i = 0; i < 4 && f->models[i]; i++)
		fn(arg, f->models[i]);
}

static int f_value(void *ctx, const struct rule_expr *e, const char *model, const char *feature,
                   double now, double *v, char *window, size_t wcap)
{
	struct fake *f = ctx;
	if (f->held)
		return f->held;
	snprintf(window, wcap, "1m");
	*v = NAN;
	if (feature) {
		for (size_t i = 0; i < f->n_feats; i++)
			if (strcmp(f->feats[i].feature, feature) == 0)
				*v = f->feats[i].value;
		return 0;
	}
	for (int i = 0; i < 4 && f->models[i]; i++)
		if (strcmp(f->models[i], model) == 0)
			*v = f->value[i];
	return 0;
}

static int f_features(void *ctx, const struct rule_expr *e, const char *model, double now,
                      void (*fn)(void *, const char *, double, const char *), void *arg)
{
	struct fake *f = ctx;
	if (f->held)
		return 1;
	for (size_t i = 0; i < f->n_feats; i++)
		fn(arg, f->feats[i].feature, f->feats[i].value, "2025-11-25T12:00:00Z");
	return 0;
}

struct fx {
	char *dir, *db;
	struct mlw_config cfg;
	struct rule_set rules;
	struct store st;
	struct store_alerts sa;
	struct alert_engine *eng;
	struct fake fake;
	struct alert_source src;
};

static void fx_open_engine(struct fx *x)
{
	char err[512];
	x->eng = alert_engine_new(&x->cfg, &x->rules, &x->sa, err, sizeof(err));
	cr_assert(x->eng, "%s", err);
}

static void fx_init(struct fx *x, const char *alerts)
{
	char err[512], *conf, *path;
	memset(x, 0, sizeof(*x));
	x->dir = h_tmpdir("alertstate");
	cr_assert(asprintf(&x->db, "%s/m.db", x->dir) > 0);
	cr_assert(asprintf(&path, "%s/m.conf", x->dir) > 0);
	cr_assert(asprintf(&conf,
	                   "[receiver a]\ntype = webhook\nurl = http://127.0.0.1:1/\n"
	                   "[receiver b]\ntype = slack\nurl = http://127.0.0.1:2/\n%s",
	                   alerts) > 0);
	cr_assert_eq(h_write_file(path, conf, strlen(conf)), 0);
	cr_assert_eq(config_init(&x->cfg), 0);
	cr_assert_eq(config_load(&x->cfg, path, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(rules_load(&x->cfg, &x->rules, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_open(&x->st, x->db, STORE_RW_CREATE, false, err, sizeof(err)), 0);
	store_alerts_init(&x->sa, &x->st);
	x->fake.models[0] = "fraud";
	x->src = (struct alert_source){&x->fake, f_models, f_value, f_features};
	fx_open_engine(x);
	free(conf);
	free(path);
}

static void fx_fini(struct fx *x)
{
	alert_engine_free(x->eng);
	store_alerts_close(&x->sa);
	store_close(&x->st);
	rules_free(&x->rules);
	config_free(&x->cfg);
	h_rmtree(x->dir);
	free(x->dir);
	free(x->db);
}

/* Simulates a restart: a new engine on the same database. */
static void fx_restart(struct fx *x)
{
	alert_engine_free(x->eng);
	fx_open_engine(x);
}

static int tick(struct fx *x, double now)
{
	int n = alert_engine_tick(x->eng, &x->src, now);
	cr_assert(n >= 0, "tick failed");
	return n;
}

static long long q(struct fx *x, const char *sql)
{
	sqlite3_stmt *s;
	long long v = -1;
	cr_assert_eq(sqlite3_prepare_v2(db_sqlite_handle(x->st.db), sql, -1, &s, NULL), SQLITE_OK,
	             "%s", sql);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

static long long outbox(struct fx *x, const char *receiver, const char *kind)
{
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM outbox WHERE receiver = '%s' AND kind = '%s'", receiver,
	         kind);
	return q(x, sql);
}

static const char p99_rule[] = "[alert p99]\n"
                               "model = fraud\n"
                               "expr = p99_latency_ms > 250\n"
                               "for = 2s\n"
                               "receivers = a, b\n"
                               "repeat_interval = 10s\n"
                               "summary = p99 of {model} is {value} ms\n";

Test(alert_state, pending_firing_resolved_one_notification_each)
{
	struct fx x;
	fx_init(&x, p99_rule);

	x.fake.value[0] = 100;
	cr_assert_eq(tick(&x, T0), 0);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts"), 0, "inactive: no row");

	x.fake.value[0] = 300;
	cr_assert_eq(tick(&x, T0 + 1), 0);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'pending'"), 1);
	cr_assert_eq(q(&x, "SELECT active_at FROM alerts"), (long long)T0 + 1);
	cr_assert_eq(tick(&x, T0 + 2), 0, "for not elapsed");
	cr_assert_eq(tick(&x, T0 + 3), 2, "fires after for: one row per receiver");
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'firing'"), 1);
	cr_assert_eq(q(&x, "SELECT fired_at FROM alerts"), (long long)T0 + 3);
	cr_assert_eq(outbox(&x, "a", "firing"), 1);
	cr_assert_eq(outbox(&x, "b", "firing"), 1);
	for (int s = 4; s < 12; s++)
		cr_assert_eq(tick(&x, T0 + s), 0, "still firing, no repeat yet (t=%d)", s);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE summary = 'p99 of fraud is 300 ms'"),
	             1);

	x.fake.value[0] = 120;
	cr_assert_eq(tick(&x, T0 + 12), 2);
	cr_assert_eq(outbox(&x, "a", "resolved"), 1);
	cr_assert_eq(outbox(&x, "b", "resolved"), 1);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'resolved' AND resolved_at = "
	                   "1764072012"),
	             1);
	cr_assert_eq(tick(&x, T0 + 13), 0);
	cr_assert_eq(q(&x, "SELECT count(*) FROM outbox"), 4);
	/* The stored notification carries the rendered summary. */
	cr_assert_eq(q(&x, "SELECT count(*) FROM outbox WHERE kind = 'firing' AND payload LIKE "
	                   "'%\"summary\":\"p99 of fraud is 300 ms\"%'"),
	             2);
	fx_fini(&x);
}

Test(alert_state, pending_that_clears_is_forgotten)
{
	struct fx x;
	fx_init(&x, p99_rule);
	x.fake.value[0] = 300;
	tick(&x, T0);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'pending'"), 1);
	x.fake.value[0] = 100;
	cr_assert_eq(tick(&x, T0 + 1), 0);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts"), 0);
	cr_assert_eq(q(&x, "SELECT count(*) FROM outbox"), 0);
	/* A new breach starts a new ActiveAt. */
	x.fake.value[0] = 300;
	tick(&x, T0 + 5);
	cr_assert_eq(q(&x, "SELECT active_at FROM alerts"), (long long)T0 + 5);
	fx_fini(&x);
}

Test(alert_state, repeats_every_repeat_interval)
{
	struct fx x;
	fx_init(&x, p99_rule);
	x.fake.value[0] = 300;
	tick(&x, T0);
	tick(&x, T0 + 2); /* fires */
	cr_assert_eq(outbox(&x, "a", "firing"), 1);
	cr_assert_eq(tick(&x, T0 + 11), 0);
	cr_assert_eq(tick(&x, T0 + 12), 2, "repeat 10 s after the firing notice");
	cr_assert_eq(outbox(&x, "a", "repeat"), 1);
	cr_assert_eq(tick(&x, T0 + 21), 0);
	cr_assert_eq(tick(&x, T0 + 22), 2);
	cr_assert_eq(outbox(&x, "a", "repeat"), 2);
	fx_fini(&x);
}

Test(alert_state, restart_neither_repages_nor_forgets)
{
	struct fx x;
	fx_init(&x, p99_rule);
	x.fake.value[0] = 300;
	tick(&x, T0);
	tick(&x, T0 + 2); /* fires and notifies at T0+2 */
	cr_assert_eq(outbox(&x, "a", "firing"), 1);

	fx_restart(&x);
	cr_assert_eq(tick(&x, T0 + 5), 0, "a firing alert is not re-sent as new");
	cr_assert_eq(tick(&x, T0 + 11), 0);
	cr_assert_eq(tick(&x, T0 + 12), 2, "repeat_interval counts from before the restart");
	cr_assert_eq(outbox(&x, "a", "firing"), 1);
	cr_assert_eq(outbox(&x, "a", "repeat"), 1);

	fx_fini(&x);

	/* A pending alert keeps its ActiveAt across a restart. */

	fx_init(&x, p99_rule);
	x.fake.value[0] = 300;
	tick(&x, T0);
	fx_restart(&x);
	cr_assert_eq(tick(&x, T0 + 1), 0);
	cr_assert_eq(tick(&x, T0 + 2), 2, "fires at the original ActiveAt + for");
	fx_fini(&x);
}

Test(alert_state, unknown_values_hold_state)
{
	struct fx x;
	fx_init(&x, p99_rule);
	x.fake.value[0] = 300;
	tick(&x, T0);
	tick(&x, T0 + 2);
	x.fake.held = 1;
	for (int s = 3; s < 8; s++)
		cr_assert_eq(tick(&x, T0 + s), 0);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'firing'"), 1);
	/* No value at all (NaN: the metric is gone) clears it, and the
	 * resolve says so rather than quoting the breaching value. */
	x.fake.held = 0;
	x.fake.value[0] = NAN;
	cr_assert_eq(tick(&x, T0 + 8), 2);
	cr_assert_eq(outbox(&x, "a", "resolved"), 1);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE summary = 'p99 of fraud is 300 ms "
	                   "(resolved: the metric has no value any more; last value 300)'"),
	             1);
	fx_fini(&x);
}

/* Issue 13, finding 4: traffic stops while firing. The empty interval keeps
 * the state (marked nodata, no resolve, nothing sent by default); data back
 * clears the mark; the resolve quotes the value that resolved it. */
Test(alert_state, no_data_keeps_state_and_resolve_states_its_value)
{
	struct fx x;
	fx_init(&x, p99_rule);
	x.fake.value[0] = 300;
	tick(&x, T0);
	cr_assert_eq(tick(&x, T0 + 2), 2, "fired");
	x.fake.held = 2;
	for (int s = 3; s < 30; s++)
		cr_assert_eq(tick(&x, T0 + s), 0, "nothing sent while there is no data (t=%d)", s);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'firing'"), 1, "kept");
	cr_assert_eq(q(&x, "SELECT nodata_since FROM alerts"), (long long)T0 + 3);
	cr_assert_eq(q(&x, "SELECT count(*) FROM outbox WHERE kind != 'firing'"), 0,
	             "no resolve, no repeat while nodata, no nodata notice by default");
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE summary LIKE 'no data for fraud over "
	                   "1m; still firing (last: p99 of fraud is 300 ms)'"),
	             1);
	/* Survives a restart. */
	fx_restart(&x);
	cr_assert_eq(tick(&x, T0 + 30), 0);
	cr_assert_eq(q(&x, "SELECT nodata_since FROM alerts"), (long long)T0 + 3);
	/* Data again, still breaching: the mark goes, the alert goes on. */
	x.fake.held = 0;
	x.fake.value[0] = 280;
	tick(&x, T0 + 31);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'firing' AND nodata_since IS "
	                   "NULL"),
	             1);
	/* Recovery: the resolve states the value that resolved it. */
	x.fake.value[0] = 120;
	cr_assert_eq(tick(&x, T0 + 32), 2);
	cr_assert_eq(outbox(&x, "a", "resolved"), 1);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'resolved' AND summary = "
	                   "'p99 of fraud is 120 ms'"),
	             1);
	cr_assert_eq(q(&x, "SELECT count(*) FROM outbox WHERE kind = 'resolved' AND payload LIKE "
	                   "'%\"summary\":\"p99 of fraud is 120 ms\"%'"),
	             2);
	fx_fini(&x);
}

Test(alert_state, notify_nodata_sends_one_nodata_notice)
{
	struct fx x;
	char rule[512];
	snprintf(rule, sizeof(rule), "%snotify_nodata = true\n", p99_rule);
	fx_init(&x, rule);
	x.fake.value[0] = 300;
	tick(&x, T0);
	cr_assert_eq(tick(&x, T0 + 2), 2, "fired");
	x.fake.held = 2;
	cr_assert_eq(tick(&x, T0 + 3), 2, "one nodata notice per receiver");
	for (int s = 4; s < 10; s++)
		cr_assert_eq(tick(&x, T0 + s), 0, "once (t=%d)", s);
	cr_assert_eq(outbox(&x, "a", "nodata"), 1);
	cr_assert_eq(outbox(&x, "b", "nodata"), 1);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'firing'"), 1);
	fx_fini(&x);
}

/* Issue 13, finding 1: a database that two collectors wrote (before the
 * store lock) holds two active rows for one alert; the next start keeps the
 * newer and resolves the older, so no copy stays firing for ever. */
Test(alert_state, duplicate_active_rows_resolve_the_older_on_start)
{
	struct fx x;
	fx_init(&x, p99_rule);
	x.fake.value[0] = 300;
	tick(&x, T0);
	cr_assert_eq(tick(&x, T0 + 2), 2, "fired");
	/* The other collector's copy, newer. */
	cr_assert_eq(sqlite3_exec(db_sqlite_handle(x.st.db),
	                          "INSERT INTO alerts (rule, model, feature, state, severity, "
	                          "value, threshold, active_at, fired_at, last_notified, "
	                          "fingerprint, updated) SELECT rule, model, feature, state, "
	                          "severity, value, threshold, active_at, fired_at, last_notified, "
	                          "fingerprint, updated FROM alerts",
	                          NULL, NULL, NULL),
	             SQLITE_OK);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'firing'"), 2);
	fx_restart(&x);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'firing'"), 1);
	cr_assert_eq(q(&x, "SELECT state = 'resolved' FROM alerts ORDER BY id LIMIT 1"), 1,
	             "the older copy");
	cr_assert_eq(tick(&x, T0 + 3), 0, "no re-page");
	x.fake.value[0] = 100;
	cr_assert_eq(tick(&x, T0 + 4), 2, "one resolve per receiver, for the kept one");
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state != 'resolved'"), 0);
	fx_fini(&x);
}

Test(alert_state, silence_suppresses_notifications_not_state)
{
	struct fx x;
	int64_t id;
	fx_init(&x, p99_rule);
	cr_assert_eq(store_silences_add(&x.sa, "p99", NULL, T0 - 1, T0 + 20, "deploy", &id), 0);
	x.fake.value[0] = 300;
	tick(&x, T0);
	cr_assert_eq(tick(&x, T0 + 2), 0, "silenced: fires but sends nothing");
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'firing'"), 1);
	for (int s = 3; s < 20; s++)
		cr_assert_eq(tick(&x, T0 + s), 0);
	cr_assert_eq(q(&x, "SELECT count(*) FROM outbox"), 0);
	/* The silence ends by itself; the alert still fires: exactly one notice. */
	cr_assert_eq(tick(&x, T0 + 20), 2);
	cr_assert_eq(outbox(&x, "a", "firing"), 1);
	for (int s = 21; s < 29; s++)
		cr_assert_eq(tick(&x, T0 + s), 0);
	fx_fini(&x);
}

/* A notice owed when a silence ends is kept in the row: when the silence
 * ends while mlwatchd is down, the receivers hear right after the restart,
 * not a repeat_interval later. */
Test(alert_state, notice_owed_by_a_silence_that_ended_while_down_is_sent_on_restart)
{
	static const char rule[] = "[alert p99]\n"
	                           "model = fraud\n"
	                           "expr = p99_latency_ms > 250\n"
	                           "for = 2s\n"
	                           "receivers = a, b\n"
	                           "repeat_interval = 1h\n";
	struct fx x;
	fx_init(&x, rule);
	x.fake.value[0] = 300;
	tick(&x, T0);
	cr_assert_eq(tick(&x, T0 + 2), 2, "fires and notifies");
	cr_assert_eq(store_silences_add(&x.sa, "p99", NULL, T0 + 3, T0 + 30, "deploy", NULL), 0);
	for (int s = 3; s < 10; s++)
		cr_assert_eq(tick(&x, T0 + s), 0);
	cr_assert_eq(q(&x, "SELECT owed FROM alerts"), 1, "the owed notice is in the row");
	/* down from T0+10 to T0+40; the silence ends at T0+30 meanwhile */
	fx_restart(&x);
	cr_assert_eq(tick(&x, T0 + 40), 2, "one notice per receiver right after the restart");
	cr_assert_eq(outbox(&x, "a", "firing"), 2);
	cr_assert_eq(q(&x, "SELECT owed FROM alerts"), 0);
	for (int s = 41; s < 60; s++)
		cr_assert_eq(tick(&x, T0 + s), 0, "and no more (t=%d)", s);
	fx_fini(&x);
}

Test(alert_state, silence_of_another_model_or_rule_does_not_apply)
{
	struct fx x;
	fx_init(&x, p99_rule);
	cr_assert_eq(store_silences_add(&x.sa, "p99", "other", T0 - 1, T0 + 60, "", NULL), 0);
	cr_assert_eq(store_silences_add(&x.sa, "other-rule", NULL, T0 - 1, T0 + 60, "", NULL), 0);
	x.fake.value[0] = 300;
	tick(&x, T0);
	cr_assert_eq(tick(&x, T0 + 2), 2);
	fx_fini(&x);
}

Test(alert_state, silence_while_firing_then_resolve)
{
	struct fx x;
	fx_init(&x, p99_rule);
	x.fake.value[0] = 300;
	tick(&x, T0);
	cr_assert_eq(tick(&x, T0 + 2), 2);
	cr_assert_eq(store_silences_add(&x.sa, "p99", "fraud", T0 + 3, T0 + 100, "", NULL), 0);
	for (int s = 3; s < 30; s++)
		cr_assert_eq(tick(&x, T0 + s), 0, "no repeat under the silence (t=%d)", s);
	/* Receivers were told it fired: they hear it ended. */
	x.fake.value[0] = 100;
	cr_assert_eq(tick(&x, T0 + 30), 2);
	cr_assert_eq(outbox(&x, "a", "resolved"), 1);
	fx_fini(&x);
}

Test(alert_state, ack_stops_repeats)
{
	struct fx x;
	fx_init(&x, p99_rule);
	x.fake.value[0] = 300;
	tick(&x, T0);
	tick(&x, T0 + 2);
	cr_assert_eq(store_alerts_ack(&x.sa, q(&x, "SELECT id FROM alerts"), T0 + 3), 0);
	for (int s = 3; s < 40; s++)
		cr_assert_eq(tick(&x, T0 + s), 0);
	cr_assert_eq(outbox(&x, "a", "repeat"), 0);
	x.fake.value[0] = 100;
	cr_assert_eq(tick(&x, T0 + 40), 2, "the resolve still goes out");
	fx_fini(&x);
}

Test(alert_state, for_zero_fires_at_once_and_send_resolved_false)
{
	struct fx x;
	fx_init(&x, "[alert e]\nmodel = *\nexpr = error_rate > 0.1\nreceivers = a\n"
	            "send_resolved = false\n");
	x.fake.models[1] = "churn";
	x.fake.value[0] = 0.5;
	x.fake.value[1] = 0.01;
	cr_assert_eq(tick(&x, T0), 1);
	cr_assert_eq(
	    q(&x, "SELECT count(*) FROM alerts WHERE state = 'firing' AND model = 'fraud'"), 1);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE model = 'churn'"), 0);
	x.fake.value[1] = 0.9;
	cr_assert_eq(tick(&x, T0 + 1), 1, "model = * covers churn too");
	x.fake.value[0] = 0;
	cr_assert_eq(tick(&x, T0 + 2), 0, "send_resolved = false");
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'resolved'"), 1);
	fx_fini(&x);
}

Test(alert_state, drift_star_is_one_instance_per_feature)
{
	struct fx x;
	fx_init(&x, "[alert d]\nmodel = fraud\nexpr = drift(*) > 1\nreceivers = a\n"
	            "summary = {feature} drifted to {value} in {window}\n");
	x.fake.feats[0].feature = "amount";
	x.fake.feats[0].value = 3.5;
	x.fake.feats[1].feature = "country";
	x.fake.feats[1].value = 0.2;
	x.fake.feats[2].feature = "@prediction";
	x.fake.feats[2].value = 1.5;
	x.fake.n_feats = 3;
	cr_assert_eq(tick(&x, T0), 2);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE feature IN ('amount', '@prediction') "
	                   "AND state = 'firing'"),
	             2);
	cr_assert_eq(q(&x, "SELECT count(*) FROM outbox WHERE payload LIKE '%amount drifted to 3.5 "
	                   "in 2025-11-25T12:00:00Z%'"),
	             1);
	/* Features have their own fingerprints. */
	cr_assert_eq(q(&x, "SELECT count(DISTINCT fingerprint) FROM alerts"), 2);
	/* amount is gone from the newest window: its instance resolves. */
	x.fake.feats[0] = x.fake.feats[2];
	x.fake.n_feats = 2;
	cr_assert_eq(tick(&x, T0 + 1), 1);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE feature = 'amount' AND state = "
	                   "'resolved'"),
	             1);
	fx_fini(&x);
}

Test(alert_state, removed_rules_resolve_quietly_on_start)
{
	struct fx x;
	fx_init(&x, p99_rule);
	x.fake.value[0] = 300;
	tick(&x, T0);
	tick(&x, T0 + 2);
	alert_engine_free(x.eng);
	x.eng = NULL;
	rules_free(&x.rules);
	x.rules.n = 0;
	fx_open_engine(&x);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'resolved'"), 1);
	cr_assert_eq(q(&x, "SELECT count(*) FROM outbox WHERE kind = 'resolved'"), 0);
	fx_fini(&x);
}

Test(alert_state, alertmanager_receivers_are_refreshed_every_minute)
{
	struct fx x;
	fx_init(&x, "[receiver am]\ntype = alertmanager\nurl = http://127.0.0.1:3/\n"
	            "[alert p]\nmodel = fraud\nexpr = p99_latency_ms > 250\nreceivers = a, am\n");
	x.fake.value[0] = 300;
	cr_assert_eq(tick(&x, T0), 2);
	for (int s = 1; s < 60; s++)
		cr_assert_eq(tick(&x, T0 + s), 0);
	cr_assert_eq(tick(&x, T0 + 60), 1, "Alertmanager hears it is still firing");
	cr_assert_eq(outbox(&x, "am", "repeat"), 1);
	cr_assert_eq(outbox(&x, "a", "repeat"), 0, "a webhook waits for repeat_interval");
	/* An ack stops pages, not the refresh that keeps Alertmanager's view. */
	cr_assert_eq(store_alerts_ack(&x.sa, q(&x, "SELECT id FROM alerts"), T0 + 61), 0);
	for (int s = 61; s < 120; s++)
		cr_assert_eq(tick(&x, T0 + s), 0);
	cr_assert_eq(tick(&x, T0 + 120), 1);
	cr_assert_eq(outbox(&x, "am", "repeat"), 2);
	x.fake.value[0] = 100;
	cr_assert_eq(tick(&x, T0 + 121), 2);
	cr_assert_eq(outbox(&x, "am", "resolved"), 1);
	fx_fini(&x);
}

/* inhibit = RULE (issue 17): while the model's accuracy alert fires, its
 * drift alerts fire but page nobody; when the accuracy alert resolves, a
 * drift alert still firing is told once. Another model is not held back. */
Test(alert_state, inhibit_holds_drift_pages_while_accuracy_fires)
{
	struct fx x;
	fx_init(&x, "[alert acc]\nmodel = *\nexpr = accuracy < 0.9\nreceivers = b\n"
	            "[alert d]\nmodel = *\nexpr = drift(*) > 1\nreceivers = a\n"
	            "inhibit = acc\n");
	x.fake.models[1] = "churn";
	x.fake.value[0] = 0.5; /* fraud: accuracy breached */
	x.fake.value[1] = 0.95;
	x.fake.feats[0].feature = "amount";
	x.fake.feats[0].value = 3;
	x.fake.n_feats = 1;
	tick(&x, T0);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE rule = 'd' AND state = 'firing'"), 2);
	cr_assert_eq(outbox(&x, "b", "firing"), 1, "the accuracy page");
	cr_assert_eq(q(&x, "SELECT count(*) FROM outbox WHERE receiver = 'a' AND payload LIKE "
	                   "'%fraud%'"),
	             0, "fraud's drift is inhibited");
	cr_assert_eq(q(&x, "SELECT count(*) FROM outbox WHERE receiver = 'a' AND payload LIKE "
	                   "'%churn%'"),
	             1, "churn's accuracy is fine: its drift pages");
	for (int s = 1; s < 10; s++)
		tick(&x, T0 + s);
	cr_assert_eq(outbox(&x, "a", "firing"), 1);
	/* fraud's accuracy recovers: its drift, still firing, is told now */
	x.fake.value[0] = 0.95;
	tick(&x, T0 + 10);
	cr_assert_eq(outbox(&x, "b", "resolved"), 1);
	tick(&x, T0 + 11);
	cr_assert_eq(q(&x, "SELECT count(*) FROM outbox WHERE receiver = 'a' AND payload LIKE "
	                   "'%fraud%'"),
	             1);
	fx_fini(&x);
}

Test(alert_state, inhibit_names_a_rule_of_the_config)
{
	struct mlw_config cfg;
	struct rule_set rs;
	char err[512], *dir = h_tmpdir("inhibit"), path[600];
	static const char *const bad[][2] = {
	    {"[alert d]\nexpr = drift(*) > 1\ninhibit = nope\n",
	     "[alert d] inhibit: 'nope' is not an [alert] section"},
	    {"[alert d]\nexpr = drift(*) > 1\ninhibit = d\n", "cannot inhibit itself"},
	};
	snprintf(path, sizeof(path), "%s/c.conf", dir);
	for (size_t i = 0; i < 2; i++) {
		cr_assert_eq(h_write_file(path, bad[i][0], strlen(bad[i][0])), 0);
		cr_assert_eq(config_init(&cfg), 0);
		cr_assert_eq(config_load(&cfg, path, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(rules_load(&cfg, &rs, err, sizeof(err)), -1);
		cr_expect(strstr(err, bad[i][1]), "%s", err);
		cr_expect(strstr(err, "c.conf:1:"), "%s", err);
		config_free(&cfg);
	}
	h_rmtree(dir);
	free(dir);
}

/* expr = A and B (issue 17): drift(amount) > 1 pages only while the
 * estimated accuracy is below 0.9 too; it resolves when either stops. */
Test(alert_state, and_condition_gates_the_rule)
{
	struct fx x;
	fx_init(&x, "[alert d]\nmodel = fraud\nexpr = drift(amount) > 1 and est_accuracy < 0.9\n"
	            "receivers = a\nsummary = {feature} at {value}\n");
	x.fake.feats[0].feature = "amount";
	x.fake.feats[0].value = 3;
	x.fake.n_feats = 1;
	x.fake.value[0] = 0.95; /* accuracy fine: no alert */
	cr_assert_eq(tick(&x, T0), 0);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts"), 0);
	x.fake.value[0] = 0.8; /* both hold: fires, with the drift's value */
	cr_assert_eq(tick(&x, T0 + 1), 1);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'firing' AND feature = "
	                   "'amount' AND value = 3"),
	             1);
	cr_assert_eq(q(&x, "SELECT count(*) FROM outbox WHERE payload LIKE '%amount at 3%'"), 1);
	x.fake.value[0] = NAN; /* unknown: not held true */
	cr_assert_eq(tick(&x, T0 + 2), 1);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'resolved'"), 1);
	x.fake.value[0] = 0.8;
	x.fake.feats[0].value = 0.5; /* drift gone: nothing */
	cr_assert_eq(tick(&x, T0 + 3), 0);
	cr_assert_eq(q(&x, "SELECT count(*) FROM alerts WHERE state = 'firing'"), 0);
	fx_fini(&x);
}
