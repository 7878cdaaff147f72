/* store_alerts: what rules read from the analysed tables (the newest
 * non-NULL accuracy value; the newest drift row per feature, severity only
 * from windows with enough data, within the lookback), silences that expire
 * by themselves, and the outbox's order and states. */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "store.h"
#include "store_alerts.h"

struct fx {
	char *dir, *db;
	struct store st;
	struct store_alerts sa;
};

static void fx_init(struct fx *x)
{
	char err[256];
	x->dir = h_tmpdir("storealerts");
	cr_assert(asprintf(&x->db, "%s/m.db", x->dir) > 0);
	cr_assert_eq(store_open(&x->st, x->db, STORE_RW_CREATE, false, err, sizeof(err)), 0);
	store_alerts_init(&x->sa, &x->st);
	cr_assert_eq(
	    store_exec(&x->st,
	               "INSERT INTO models (id, name, created, last_event) VALUES "
	               "(1, 'fraud', 0, 1000.5), (2, 'churn', 0, NULL);"
	               "INSERT INTO accuracy (model_id, start, labelled, accuracy, "
	               "est_accuracy) VALUES (1, 60, 10, 0.9, 0.8), (1, 120, 5, 0.7, 0.85), "
	               "(1, 180, 0, NULL, 0.88), (2, 60, 3, 0.5, NULL);"
	               "INSERT INTO drift (model_id, start, feature, kind, n, severity, psi, "
	               "missing_rate, insufficient) VALUES "
	               "(1, 0, 'old', 1, 100, 9.0, 0.9, 0.0, 0),"
	               "(1, 600, 'amount', 1, 100, 2.5, 0.3, 0.1, 0),"
	               "(1, 660, 'amount', 1, 3, 7.0, 0.5, 0.2, 1),"
	               "(1, 660, 'country', 2, 100, 0.4, 0.01, 0.0, 0);"),
	    0, "%s", store_errmsg(&x->st));
}

static void fx_fini(struct fx *x)
{
	store_alerts_close(&x->sa);
	store_close(&x->st);
	h_rmtree(x->dir);
	free(x->dir);
	free(x->db);
}

struct got {
	char names[8][32];
	double values[8];
	int64_t starts[8];
	int n;
};

static void on_row(void *arg, const char *feature, double value, int64_t start)
{
	struct got *g = arg;
	cr_assert(g->n < 8);
	snprintf(g->names[g->n], sizeof(g->names[0]), "%s", feature);
	g->values[g->n] = value;
	g->starts[g->n++] = start;
}

Test(store_alerts, newest_accuracy_value_that_exists)
{
	struct fx x;
	double v;
	int64_t start;
	fx_init(&x);
	cr_assert_eq(store_alerts_accuracy(&x.sa, "fraud", "accuracy", &v, &start), 0);
	cr_assert_float_eq(v, 0.7, 1e-12, "the newest window with labels, not the newest window");
	cr_assert_eq(start, 120);
	cr_assert_eq(store_alerts_accuracy(&x.sa, "fraud", "est_accuracy", &v, &start), 0);
	cr_assert_float_eq(v, 0.88, 1e-12);
	cr_assert_eq(start, 180);
	cr_assert_eq(store_alerts_accuracy(&x.sa, "churn", "est_accuracy", &v, &start), 1);
	cr_assert_eq(store_alerts_accuracy(&x.sa, "nobody", "accuracy", &v, &start), 1);
	cr_assert_eq(store_alerts_accuracy(&x.sa, "fraud", "accuracy; DROP", &v, &start), -1,
	             "only the known columns");
	fx_fini(&x);
}

Test(store_alerts, newest_drift_row_per_feature)
{
	struct fx x;
	struct got g = {0};
	fx_init(&x);
	cr_assert_eq(store_alerts_drift(&x.sa, "fraud", "severity", NULL, 300, on_row, &g), 0);
	cr_assert_eq(g.n, 2, "'old' is outside the lookback");
	cr_assert_str_eq(g.names[0], "amount");
	cr_assert_float_eq(g.values[0], 2.5, 1e-12, "the window with too little data is skipped");
	cr_assert_eq(g.starts[0], 600);
	cr_assert_str_eq(g.names[1], "country");
	cr_assert_float_eq(g.values[1], 0.4, 1e-12);

	memset(&g, 0, sizeof(g));
	cr_assert_eq(store_alerts_drift(&x.sa, "fraud", "missing_rate", "amount", 300, on_row, &g),
	             0);
	cr_assert_eq(g.n, 1);
	cr_assert_float_eq(g.values[0], 0.2, 1e-12, "quality rates come from any window");
	cr_assert_eq(g.starts[0], 660);

	memset(&g, 0, sizeof(g));
	cr_assert_eq(store_alerts_drift(&x.sa, "fraud", "psi", NULL, 100000, on_row, &g), 0);
	cr_assert_eq(g.n, 3);
	cr_assert_str_eq(g.names[2], "old");
	fx_fini(&x);
}

static void on_model(void *arg, const char *model, double last)
{
	struct got *g = arg;
	on_row(arg, model, last, 0);
	(void)g;
}

static void on_silence(void *arg, const char *rule, const char *model, double ends)
{
	on_row(arg, model ? model : "*", ends, 0);
}

Test(store_alerts, models_silences_and_outbox_order)
{
	struct fx x;
	struct got g = {0};
	struct store_outbox_row row;
	int64_t n;
	fx_init(&x);
	cr_assert_eq(store_alerts_models(&x.sa, on_model, &g), 0);
	cr_assert_eq(g.n, 2);
	cr_assert_str_eq(g.names[0], "churn");
	cr_assert(isnan(g.values[0]));
	cr_assert_float_eq(g.values[1], 1000.5, 1e-9);

	memset(&g, 0, sizeof(g));
	cr_assert_eq(store_silences_add(&x.sa, "r", NULL, 100, 200, "c", NULL), 0);
	cr_assert_eq(store_silences_add(&x.sa, "r", "fraud", 100, 150, NULL, NULL), 0);
	cr_assert_eq(store_silences_active(&x.sa, 149, on_silence, &g), 0);
	cr_assert_eq(g.n, 2);
	memset(&g, 0, sizeof(g));
	cr_assert_eq(store_silences_active(&x.sa, 150, on_silence, &g), 0);
	cr_assert_eq(g.n, 1, "a silence ends by itself");
	cr_assert_str_eq(g.names[0], "*");
	memset(&g, 0, sizeof(g));
	cr_assert_eq(store_silences_active(&x.sa, 99, on_silence, &g), 0);
	cr_assert_eq(g.n, 0, "not before it was created");

	cr_assert_eq(store_outbox_head(&x.sa, "hook", &row), 1);
	cr_assert_eq(store_outbox_insert(&x.sa, "hook", 7, "firing", "{\"a\":1}", 10), 0);
	cr_assert_eq(store_outbox_insert(&x.sa, "hook", 7, "resolved", "{\"a\":2}", 11), 0);
	cr_assert_eq(store_outbox_insert(&x.sa, "other", 7, "firing", "{}", 9), 0);
	cr_assert_eq(store_outbox_head(&x.sa, "hook", &row), 0);
	cr_assert_str_eq(row.kind, "firing");
	cr_assert_str_eq(row.payload, "{\"a\":1}");
	cr_assert_eq(row.alert_id, 7);
	cr_assert_float_eq(row.next_attempt, 10, 1e-9);
	cr_assert_eq(store_outbox_retry(&x.sa, row.id, 1, 99, "HTTP 500"), 0);
	store_outbox_row_free(&row);
	cr_assert_eq(store_outbox_head(&x.sa, "hook", &row), 0);
	cr_assert_str_eq(row.kind, "firing", "the head waits; the resolve does not overtake it");
	cr_assert_eq(row.attempts, 1);
	cr_assert_float_eq(row.next_attempt, 99, 1e-9);
	cr_assert_eq(store_outbox_delivered(&x.sa, row.id, 2, 100), 0);
	store_outbox_row_free(&row);
	cr_assert_eq(store_outbox_head(&x.sa, "hook", &row), 0);
	cr_assert_str_eq(row.kind, "resolved");
	cr_assert_eq(store_outbox_finish(&x.sa, row.id, "dropped", 3, "max_age"), 0);
	store_outbox_row_free(&row);
	cr_assert_eq(store_outbox_head(&x.sa, "hook", &row), 1);
	cr_assert_eq(store_outbox_count(&x.sa, "hook", "delivered", &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(store_outbox_count(&x.sa, "hook", "dropped", &n), 0);
	cr_assert_eq(n, 1);
	fx_fini(&x);
}

static int load_one(void *arg, const struct store_alert_row *row)
{
	*(struct store_alert_row *)arg = *row;
	return 0;
}

/* A database of schema 1 (before alerts.owed) is migrated forward on a
 * writable open; its rows keep their values and owe nothing; a read-only
 * open of it is refused with what to do. */
Test(store_alerts, schema_1_database_is_migrated_and_owed_round_trips)
{
	char err[256], *dir = h_tmpdir("storemigrate"), *db;
	sqlite3 *h;
	struct store st;
	struct store_alerts sa;
	struct store_alert_row row;

	cr_assert(asprintf(&db, "%s/old.db", dir) > 0);
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, store_schema_sql(), NULL, NULL, NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h,
	                          "PRAGMA user_version = 1;"
	                          "INSERT INTO alerts (rule, model, state, severity, active_at, "
	                          "fired_at, last_notified, fingerprint, updated) VALUES "
	                          "('p99', 'fraud', 'firing', 'warning', 10, 12, 12, 'f', 12)",
	                          NULL, NULL, NULL),
	             SQLITE_OK, "%s", sqlite3_errmsg(h));
	sqlite3_close(h);

	cr_assert_neq(store_open(&st, db, STORE_RO, false, err, sizeof(err)), 0);
	cr_assert(strstr(err, "schema version 1 is older than 4; start mlwatchd once"), "%s", err);

	cr_assert_eq(store_open(&st, db, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	store_alerts_init(&sa, &st);
	memset(&row, 0xff, sizeof(row));
	cr_assert_eq(store_alerts_load_active(&sa, load_one, &row), 0);
	cr_assert_str_eq(row.rule, "p99");
	cr_assert_float_eq(row.last_notified, 12, 1e-9);
	cr_assert_not(row.owed, "rows from before the column owe nothing");
	row.owed = true;
	cr_assert_eq(store_alerts_update(&sa, &row, 20), 0);
	memset(&row, 0, sizeof(row));
	cr_assert_eq(store_alerts_load_active(&sa, load_one, &row), 0);
	cr_assert(row.owed);
	store_alerts_close(&sa);
	store_close(&st);

	cr_assert_eq(store_open(&st, db, STORE_RO, false, err, sizeof(err)), 0, "%s", err);
	store_close(&st);
	h_rmtree(dir);
	free(dir);
	free(db);
}
