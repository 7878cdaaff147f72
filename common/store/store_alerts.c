/* store_alerts: see store_alerts.h. */
#include "store_alerts.h"

#include <math.h>
#include "db.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	S_LOAD,
	S_INSERT,
	S_UPDATE,
	S_DELETE,
	S_SET_RESOLVED,
	S_ACKED,
	S_ACK,
	S_SIL_ACTIVE,
	S_SIL_ADD,
	S_OB_INSERT,
	S_OB_HEAD,
	S_OB_DELIVERED,
	S_OB_RETRY,
	S_OB_FINISH,
	S_OB_COUNT,
	S_MODELS,
	S_ACC0,                /* + index of the accuracy column */
	S_DRIFT0 = S_ACC0 + 6, /* + index of the drift column */
	S_END_ = S_DRIFT0 + 6
};

_Static_assert((int)S_END_ <= (int)SA_STMT_N, "statement cache too small");

static const char *const acc_columns[] = {"accuracy", "est_accuracy", "macro_f1",
                                          "mae",      "rmse",         "label_coverage"};
static const char *const drift_columns[] = {
    "severity", "psi", "missing_rate", "type_error_rate", "out_of_range_rate", "new_category_rate"};

void store_alerts_init(struct store_alerts *sa, struct store *st)
{
	memset(sa, 0, sizeof(*sa));
	sa->st = st;
}

void store_alerts_close(struct store_alerts *sa)
{
	store_finalize(sa->stmt, SA_STMT_N);
}

static struct db_stmt *prep(struct store_alerts *sa, int i, const char *sql)
{
	return store_prepare(sa->st, &sa->stmt[i], sql);
}

static void bind_real_or_null(struct db_stmt *s, int i, double v)
{
	if (isnan(v))
		db_bind_null(s, i);
	else
		db_bind_double(s, i, v);
}

static double col_real(struct db_stmt *s, int i)
{
	return db_column_type(s, i) == DB_NULL ? NAN : db_column_double(s, i);
}

static void col_copy(struct db_stmt *s, int i, char *buf, size_t cap)
{
	const unsigned char *t = db_column_text(s, i);
	snprintf(buf, cap, "%s", t ? (const char *)t : "");
}

/* Steps a statement that returns no rows. */
static int run(struct db_stmt *s)
{
	int rc;
	if (!s)
		return -1;
	rc = db_step(s);
	db_reset(s);
	return rc == DB_DONE ? 0 : -1;
}

/* ---- alerts ---------------------------------------------------------------- */

struct alert_rows {
	int (*fn)(void *arg, const struct store_alert_row *row);
	void *arg;
};

static int alert_row(struct db_stmt *s, void *ctx)
{
	struct alert_rows *c = ctx;
	struct store_alert_row row;

	memset(&row, 0, sizeof(row));
	row.id = db_column_int64(s, 0);
	col_copy(s, 1, row.rule, sizeof(row.rule));
	col_copy(s, 2, row.model, sizeof(row.model));
	col_copy(s, 3, row.feature, sizeof(row.feature));
	col_copy(s, 4, row.state, sizeof(row.state));
	col_copy(s, 5, row.severity, sizeof(row.severity));
	row.value = col_real(s, 6);
	row.threshold = col_real(s, 7);
	row.active_at = col_real(s, 8);
	row.fired_at = col_real(s, 9);
	row.resolved_at = col_real(s, 10);
	row.last_notified = col_real(s, 11);
	col_copy(s, 12, row.fingerprint, sizeof(row.fingerprint));
	row.acked = db_column_int(s, 13) != 0;
	row.owed = db_column_int(s, 14) != 0;
	row.nodata_since = col_real(s, 15);
	return c->fn(c->arg, &row);
}

int store_alerts_load_active(struct store_alerts *sa,
                             int (*fn)(void *arg, const struct store_alert_row *row), void *arg)
{
	struct db_stmt *s =
	    prep(sa, S_LOAD,
	         "SELECT id, rule, model, feature, state, severity, value, threshold, "
	         "active_at, fired_at, resolved_at, last_notified, fingerprint, acked, owed, "
	         "nodata_since FROM alerts WHERE state IN ('pending', 'firing') ORDER BY id");

	if (!s)
		return -1;
	return store_each_row(s, alert_row, &(struct alert_rows){.fn = fn, .arg = arg});
}

int store_alerts_insert(struct store_alerts *sa, struct store_alert_row *row, double now)
{
	struct db_stmt *s =
	    prep(sa, S_INSERT,
	         "INSERT INTO alerts (rule, model, feature, state, severity, value, "
	         "threshold, active_at, fired_at, resolved_at, last_notified, "
	         "fingerprint, summary, description, updated, owed, nodata_since) VALUES "
	         "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) "
	         "RETURNING id");
	if (!s)
		return -1;
	db_bind_text(s, 1, row->rule, -1);
	db_bind_text(s, 2, row->model, -1);
	db_bind_text(s, 3, row->feature, -1);
	db_bind_text(s, 4, row->state, -1);
	db_bind_text(s, 5, row->severity, -1);
	bind_real_or_null(s, 6, row->value);
	bind_real_or_null(s, 7, row->threshold);
	db_bind_double(s, 8, row->active_at);
	bind_real_or_null(s, 9, row->fired_at);
	bind_real_or_null(s, 10, row->resolved_at);
	bind_real_or_null(s, 11, row->last_notified);
	db_bind_text(s, 12, row->fingerprint, -1);
	db_bind_text(s, 13, row->summary, -1);
	db_bind_text(s, 14, row->description, -1);
	db_bind_double(s, 15, now);
	db_bind_int(s, 16, row->owed);
	bind_real_or_null(s, 17, row->nodata_since > 0 ? row->nodata_since : NAN);
	if (!s || db_insert_id(s, &row->id) != DB_OK)
		return -1;
	return 0;
}

int store_alerts_update(struct store_alerts *sa, const struct store_alert_row *row, double now)
{
	struct db_stmt *s =
	    prep(sa, S_UPDATE,
	         "UPDATE alerts SET state = ?2, value = ?3, fired_at = ?4, "
	         "resolved_at = ?5, last_notified = ?6, "
	         "summary = coalesce(?7, summary), "
	         "description = coalesce(?8, description), updated = ?9, owed = ?10, "
	         "nodata_since = ?11 WHERE id = ?1");
	if (!s)
		return -1;
	db_bind_int64(s, 1, row->id);
	db_bind_text(s, 2, row->state, -1);
	bind_real_or_null(s, 3, row->value);
	bind_real_or_null(s, 4, row->fired_at);
	bind_real_or_null(s, 5, row->resolved_at);
	bind_real_or_null(s, 6, row->last_notified);
	db_bind_text(s, 7, row->summary, -1);
	db_bind_text(s, 8, row->description, -1);
	db_bind_double(s, 9, now);
	db_bind_int(s, 10, row->owed);
	bind_real_or_null(s, 11, row->nodata_since > 0 ? row->nodata_since : NAN);
	return run(s);
}

int store_alerts_delete(struct store_alerts *sa, int64_t id)
{
	struct db_stmt *s = prep(sa, S_DELETE, "DELETE FROM alerts WHERE id = ?1");
	if (!s)
		return -1;
	db_bind_int64(s, 1, id);
	return run(s);
}

int store_alerts_set_resolved(struct store_alerts *sa, int64_t id, double now)
{
	struct db_stmt *s =
	    prep(sa, S_SET_RESOLVED,
	         "UPDATE alerts SET state = 'resolved', resolved_at = ?2, updated = ?2 "
	         "WHERE id = ?1");
	if (!s)
		return -1;
	db_bind_int64(s, 1, id);
	db_bind_double(s, 2, now);
	return run(s);
}

struct acked_rows {
	void (*fn)(void *arg, int64_t id);
	void *arg;
};

static int acked_row(struct db_stmt *s, void *ctx)
{
	struct acked_rows *c = ctx;

	c->fn(c->arg, db_column_int64(s, 0));
	return 0;
}

int store_alerts_acked(struct store_alerts *sa, void (*fn)(void *arg, int64_t id), void *arg)
{
	struct db_stmt *s = prep(sa, S_ACKED,
	                         "SELECT id FROM alerts WHERE acked != 0 AND state IN ('pending', "
	                         "'firing')");

	if (!s)
		return -1;
	return store_each_row(s, acked_row, &(struct acked_rows){.fn = fn, .arg = arg});
}

int store_alerts_ack(struct store_alerts *sa, int64_t id, double now)
{
	struct db_stmt *s = prep(
	    sa, S_ACK, "UPDATE alerts SET acked = 1, acked_at = ?2, updated = ?2 WHERE id = ?1");
	if (!s)
		return -1;
	db_bind_int64(s, 1, id);
	db_bind_double(s, 2, now);
	return run(s);
}

/* ---- silences -------------------------------------------------------------- */

struct silence_rows {
	void (*fn)(void *arg, const char *rule, const char *model, double ends);
	void *arg;
};

static int silence_row(struct db_stmt *s, void *ctx)
{
	struct silence_rows *c = ctx;
	const char *model = (const char *)db_column_text(s, 1);

	c->fn(c->arg, (const char *)db_column_text(s, 0), model && *model ? model : NULL,
	      db_column_double(s, 2));
	return 0;
}

int store_silences_active(struct store_alerts *sa, double now,
                          void (*fn)(void *arg, const char *rule, const char *model, double ends),
                          void *arg)
{
	struct db_stmt *s =
	    prep(sa, S_SIL_ACTIVE,
	         "SELECT rule, model, ends FROM silences WHERE ends > ?1 AND created <= "
	         "?1");

	if (!s)
		return -1;
	db_bind_double(s, 1, now);
	return store_each_row(s, silence_row, &(struct silence_rows){.fn = fn, .arg = arg});
}

int store_silences_add(struct store_alerts *sa, const char *rule, const char *model, double now,
                       double ends, const char *comment, int64_t *id)
{
	struct db_stmt *s =
	    prep(sa, S_SIL_ADD,
	         "INSERT INTO silences (rule, model, created, ends, comment) VALUES "
	         "(?1, ?2, ?3, ?4, ?5) RETURNING id");
	if (!s)
		return -1;
	db_bind_text(s, 1, rule, -1);
	db_bind_text(s, 2, model, -1);
	db_bind_double(s, 3, now);
	db_bind_double(s, 4, ends);
	db_bind_text(s, 5, comment, -1);
	int64_t new_id = 0;
	if (db_insert_id(s, &new_id) != DB_OK)
		return -1;
	if (id)
		*id = new_id;
	return 0;
}

/* ---- outbox ---------------------------------------------------------------- */

int store_outbox_insert(struct store_alerts *sa, const char *receiver, int64_t alert_id,
                        const char *kind, const char *payload, double now)
{
	struct db_stmt *s = prep(sa, S_OB_INSERT,
	                         "INSERT INTO outbox (receiver, alert_id, kind, payload, created, "
	                         "next_attempt) VALUES (?1, ?2, ?3, ?4, ?5, ?5)");
	if (!s)
		return -1;
	db_bind_text(s, 1, receiver, -1);
	db_bind_int64(s, 2, alert_id);
	db_bind_text(s, 3, kind, -1);
	db_bind_text(s, 4, payload, -1);
	db_bind_double(s, 5, now);
	return run(s);
}

int store_outbox_head(struct store_alerts *sa, const char *receiver, struct store_outbox_row *row)
{
	struct db_stmt *s =
	    prep(sa, S_OB_HEAD,
	         "SELECT id, alert_id, kind, payload, created, next_attempt, attempts "
	         "FROM outbox WHERE receiver = ?1 AND status = 'pending' "
	         "ORDER BY id LIMIT 1");
	int rc, r = -1;

	memset(row, 0, sizeof(*row));
	if (!s)
		return -1;
	db_bind_text(s, 1, receiver, -1);
	rc = db_step(s);
	if (rc == DB_DONE) {
		r = 1;
	} else if (rc == DB_ROW) {
		const unsigned char *p = db_column_text(s, 3);
		row->id = db_column_int64(s, 0);
		row->alert_id = db_column_int64(s, 1);
		col_copy(s, 2, row->kind, sizeof(row->kind));
		row->payload = strdup(p ? (const char *)p : "");
		row->created = db_column_double(s, 4);
		row->next_attempt = db_column_double(s, 5);
		row->attempts = db_column_int(s, 6);
		r = row->payload ? 0 : -1;
	}
	db_reset(s);
	return r;
}

void store_outbox_row_free(struct store_outbox_row *row)
{
	free(row->payload);
	row->payload = NULL;
}

int store_outbox_delivered(struct store_alerts *sa, int64_t id, long attempts, double now)
{
	struct db_stmt *s = prep(sa, S_OB_DELIVERED,
	                         "UPDATE outbox SET status = 'delivered', attempts = ?2, "
	                         "delivered_at = ?3, last_error = NULL WHERE id = ?1");
	if (!s)
		return -1;
	db_bind_int64(s, 1, id);
	db_bind_int64(s, 2, attempts);
	db_bind_double(s, 3, now);
	return run(s);
}

int store_outbox_retry(struct store_alerts *sa, int64_t id, long attempts, double next_attempt,
                       const char *last_error)
{
	struct db_stmt *s =
	    prep(sa, S_OB_RETRY,
	         "UPDATE outbox SET attempts = ?2, next_attempt = ?3, last_error = ?4 "
	         "WHERE id = ?1");
	if (!s)
		return -1;
	db_bind_int64(s, 1, id);
	db_bind_int64(s, 2, attempts);
	db_bind_double(s, 3, next_attempt);
	db_bind_text(s, 4, last_error, -1);
	return run(s);
}

int store_outbox_finish(struct store_alerts *sa, int64_t id, const char *status, long attempts,
                        const char *last_error)
{
	struct db_stmt *s = prep(sa, S_OB_FINISH,
	                         "UPDATE outbox SET status = ?2, attempts = ?3, last_error = ?4 "
	                         "WHERE id = ?1");
	if (!s)
		return -1;
	db_bind_int64(s, 1, id);
	db_bind_text(s, 2, status, -1);
	db_bind_int64(s, 3, attempts);
	db_bind_text(s, 4, last_error, -1);
	return run(s);
}

int store_outbox_count(struct store_alerts *sa, const char *receiver, const char *status,
                       int64_t *n)
{
	struct db_stmt *s =
	    prep(sa, S_OB_COUNT, "SELECT count(*) FROM outbox WHERE receiver = ?1 AND status = ?2");
	int rc;

	if (!s)
		return -1;
	db_bind_text(s, 1, receiver, -1);
	db_bind_text(s, 2, status, -1);
	rc = db_step(s);
	if (rc == DB_ROW)
		*n = db_column_int64(s, 0);
	db_reset(s);
	return rc == DB_ROW ? 0 : -1;
}

/* ---- what rules read ------------------------------------------------------- */

struct model_rows {
	void (*fn)(void *arg, const char *model, double last_event);
	void *arg;
};

static int model_row(struct db_stmt *s, void *ctx)
{
	struct model_rows *c = ctx;

	c->fn(c->arg, (const char *)db_column_text(s, 0), col_real(s, 1));
	return 0;
}

int store_alerts_models(struct store_alerts *sa,
                        void (*fn)(void *arg, const char *model, double last_event), void *arg)
{
	struct db_stmt *s = prep(sa, S_MODELS, "SELECT name, last_event FROM models ORDER BY name");

	if (!s)
		return -1;
	return store_each_row(s, model_row, &(struct model_rows){.fn = fn, .arg = arg});
}

static int column_index(const char *const *cols, const char *column)
{
	for (int i = 0; i < 6; i++)
		if (strcmp(cols[i], column) == 0)
			return i;
	return -1;
}

int store_alerts_accuracy(struct store_alerts *sa, const char *model, const char *column,
                          double *value, int64_t *start)
{
	int c = column_index(acc_columns, column), rc, r = -1;
	char sql[512];
	struct db_stmt *s;

	if (c < 0)
		return -1;
	/* The column name comes from the fixed list above, never from input. */
	snprintf(sql, sizeof(sql),
	         "SELECT a.start, a.%s FROM accuracy a JOIN models m ON m.id = a.model_id "
	         "WHERE m.name = ?1 AND a.%s IS NOT NULL ORDER BY a.start DESC LIMIT 1",
	         acc_columns[c], acc_columns[c]);
	s = prep(sa, S_ACC0 + c, sql);
	if (!s)
		return -1;
	db_bind_text(s, 1, model, -1);
	rc = db_step(s);
	if (rc == DB_ROW) {
		*start = db_column_int64(s, 0);
		*value = db_column_double(s, 1);
		r = 0;
	} else if (rc == DB_DONE) {
		r = 1;
	}
	db_reset(s);
	return r;
}

/* The caller's callback and the feature last reported (rows come grouped by
 * feature, newest first: only the first of each run is reported). */
struct drift_rows {
	void (*fn)(void *arg, const char *feature, double value, int64_t start);
	void *arg;
	char last[SA_FEATURE_MAX + 1];
	bool have_last;
};

static int drift_row(struct db_stmt *s, void *ctx)
{
	struct drift_rows *c = ctx;
	const char *f = (const char *)db_column_text(s, 0);

	if (!f || (c->have_last && strcmp(f, c->last) == 0))
		return 0;
	snprintf(c->last, sizeof(c->last), "%s", f);
	c->have_last = true;
	c->fn(c->arg, f, db_column_double(s, 2), db_column_int64(s, 1));
	return 0;
}

int store_alerts_drift(struct store_alerts *sa, const char *model, const char *column,
                       const char *feature, int64_t lookback_s,
                       void (*fn)(void *arg, const char *feature, double value, int64_t start),
                       void *arg)
{
	int c = column_index(drift_columns, column);
	struct drift_rows rows = {.fn = fn, .arg = arg};
	char sql[768];
	struct db_stmt *s;

	if (c < 0)
		return -1;
	/* Newest row per feature: rows come newest first within each feature, so
	 * the first one of every run of a feature is the one to report. An open
	 * (provisional) window counts only once its sample is large enough: early
	 * in every window a few dozen values would make distances noisy enough to
	 * page on nothing. drift() and psi() also skip windows without a verdict
	 * (insufficient: fewer values than drift_min_sample, or no reference). */
	snprintf(sql, sizeof(sql),
	         "SELECT d.feature, d.start, d.%s FROM drift d JOIN models m ON m.id = d.model_id "
	         "LEFT JOIN windows w ON w.model_id = d.model_id AND w.start = d.start "
	         "WHERE m.name = ?1 AND d.%s IS NOT NULL%s AND (CAST(?2 AS TEXT) IS NULL OR "
	         "d.feature = ?2) "
	         "AND (w.provisional IS NULL OR w.provisional = 0 OR d.n >= %d) "
	         "AND d.start >= (SELECT max(start) FROM drift WHERE model_id = m.id) - ?3 "
	         "ORDER BY d.feature, d.start DESC",
	         drift_columns[c], drift_columns[c], c <= 1 ? " AND d.insufficient = 0" : "",
	         STORE_ALERTS_PROVISIONAL_MIN_N);
	s = prep(sa, S_DRIFT0 + c, sql);
	if (!s)
		return -1;
	db_bind_text(s, 1, model, -1);
	if (feature)
		db_bind_text(s, 2, feature, -1);
	db_bind_int64(s, 3, lookback_s);
	return store_each_row(s, drift_row, &rows);
}
