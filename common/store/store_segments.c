/* store_segments: see store_segments.h. */
#include "store_segments.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "db.h"

/* ---- reference ----------------------------------------------------------- */

int store_seg_ref_clear(struct store *st, int64_t model_id)
{
	struct db_stmt *s = NULL;
	int rc = -1;

	if (db_prepare(st->db, "DELETE FROM segment_reference WHERE model_id = ?1", &s) != DB_OK)
		goto out;
	db_bind_int64(s, 1, model_id);
	rc = db_step(s) == DB_DONE ? 0 : -1;
out:
	db_finalize(s);
	return rc;
}

int store_seg_ref_put(struct store *st, int64_t model_id, const char *key, const char *segment,
                      const char *feature, int kind, uint64_t n, uint64_t rows,
                      const uint8_t *profile, size_t len)
{
	struct db_stmt *s = NULL;
	int rc = -1;

	if (len > INT32_MAX)
		return -1;
	if (db_prepare(st->db,
	               "INSERT INTO segment_reference (model_id, seg_key, segment, feature, kind, "
	               "n, ref_rows, profile) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	               &s) != DB_OK)
		goto out;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, key, -1);
	db_bind_text(s, 3, segment, -1);
	db_bind_text(s, 4, feature, -1);
	db_bind_int(s, 5, kind);
	db_bind_int64(s, 6, (int64_t)n);
	db_bind_int64(s, 7, (int64_t)rows);
	db_bind_blob(s, 8, profile, (int)len);
	rc = db_step(s) == DB_DONE ? 0 : -1;
out:
	db_finalize(s);
	return rc;
}

struct ref_rows {
	int (*fn)(const char *, const char *, const char *, int, uint64_t, uint64_t,
	          const uint8_t *, size_t, void *);
	void *arg;
};

static int ref_row(struct db_stmt *s, void *ctx)
{
	struct ref_rows *r = ctx;
	const char *key = (const char *)db_column_text(s, 0);
	const char *seg = (const char *)db_column_text(s, 1);
	const char *feature = (const char *)db_column_text(s, 2);
	int len = db_column_bytes(s, 7);
	const uint8_t *blob = db_column_blob(s, 7);

	if (!key || !seg || !feature || !blob || len <= 0)
		return 0; /* NOT NULL columns: only a hand-edited row lacks one */
	return r->fn(key, seg, feature, db_column_int(s, 3), (uint64_t)db_column_int64(s, 4),
	             (uint64_t)db_column_int64(s, 5), blob, (size_t)len, r->arg);
}

int store_seg_ref_each(struct store *st, int64_t model_id,
                       int (*fn)(const char *key, const char *segment, const char *feature,
                                 int kind, uint64_t n, uint64_t rows, const uint8_t *profile,
                                 size_t len, void *arg),
                       void *arg)
{
	struct db_stmt *s = NULL;
	struct ref_rows r = {fn, arg};
	int rc = -1;

	if (db_prepare(st->db,
	               "SELECT seg_key, segment, feature, kind, n, ref_rows, 0, profile "
	               "FROM segment_reference WHERE model_id = ?1 ORDER BY segment, feature",
	               &s) != DB_OK)
		goto out;
	db_bind_int64(s, 1, model_id);
	rc = store_each_row(s, ref_row, &r);
out:
	db_finalize(s);
	return rc;
}

/* ---- window results ------------------------------------------------------- */

/* A filter's value: NULL matches everything ("?N IS NULL OR ..."). */
static void bind_text_or_null(struct db_stmt *s, int i, const char *v)
{
	if (v)
		db_bind_text(s, i, v, -1);
	else
		db_bind_null(s, i);
}

static void bind_opt(struct db_stmt *s, int i, bool has, double v)
{
	if (has && !isnan(v))
		db_bind_double(s, i, v);
	else
		db_bind_null(s, i);
}

static int put_drift(struct db_stmt *s, int64_t model_id, int64_t start, const char *key,
                     const char *segment, const struct store_drift_row *d)
{
	db_reset(s);
	db_clear_bindings(s);
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, start);
	db_bind_text(s, 3, key, -1);
	db_bind_text(s, 4, segment, -1);
	db_bind_text(s, 5, d->feature, -1);
	db_bind_int(s, 6, d->kind);
	db_bind_int64(s, 7, (int64_t)d->n);
	if (d->has_ref)
		db_bind_int64(s, 8, (int64_t)d->n_ref);
	else
		db_bind_null(s, 8);
	bind_opt(s, 9, true, d->missing_rate);
	bind_opt(s, 10, true, d->type_error_rate);
	bind_opt(s, 11, d->has_ref, d->out_of_range_rate);
	bind_opt(s, 12, d->has_ref, d->new_category_rate);
	bind_opt(s, 13, d->method && d->numeric, d->ks);
	bind_opt(s, 14, d->method && d->numeric, d->ks_p);
	bind_opt(s, 15, d->method && d->numeric, d->wasserstein);
	bind_opt(s, 16, d->method != NULL, d->psi);
	bind_opt(s, 17, d->method != NULL, d->js);
	bind_opt(s, 18, d->method && !d->numeric, d->chi2);
	bind_opt(s, 19, d->method && !d->numeric, d->chi2_p);
	bind_text_or_null(s, 20, d->method);
	bind_opt(s, 21, d->method != NULL, d->score);
	bind_opt(s, 22, d->method != NULL, d->threshold);
	bind_opt(s, 23, d->method != NULL, d->severity);
	db_bind_int(s, 24, d->drifted ? 1 : 0);
	db_bind_int(s, 25, d->insufficient ? 1 : 0);
	return db_step(s) == DB_DONE ? 0 : -1;
}

static int put_window(struct db_stmt *s, int64_t model_id, int64_t start, const char *key,
                      const struct store_seg_window *w)
{
	db_reset(s);
	db_clear_bindings(s);
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, start);
	db_bind_text(s, 3, key, -1);
	db_bind_text(s, 4, w->segment, -1);
	db_bind_int64(s, 5, (int64_t)w->events);
	db_bind_int64(s, 6, (int64_t)w->errors);
	bind_opt(s, 7, w->has_latency, w->p50);
	bind_opt(s, 8, w->has_latency, w->p90);
	bind_opt(s, 9, w->has_latency, w->p95);
	bind_opt(s, 10, w->has_latency, w->p99);
	db_bind_int64(s, 11, (int64_t)w->labelled);
	bind_opt(s, 12, w->has_accuracy, w->accuracy);
	bind_opt(s, 13, w->has_macro_f1, w->macro_f1);
	bind_opt(s, 14, w->has_mae, w->mae);
	bind_opt(s, 15, w->has_rmse, w->rmse);
	bind_opt(s, 16, w->has_est, w->est);
	return db_step(s) == DB_DONE ? 0 : -1;
}

int store_seg_write(struct store *st, int64_t model_id, int64_t start, const char *key,
                    const struct store_seg_window *w, size_t n)
{
	static const char *const del_sql[] = {
	    "DELETE FROM segment_drift WHERE model_id = ?1 AND start = ?2",
	    "DELETE FROM segment_windows WHERE model_id = ?1 AND start = ?2",
	};
	struct db_stmt *del = NULL, *ins_d = NULL, *ins_w = NULL;
	int rc = -1;

	for (size_t i = 0; i < 2; i++) {
		if (db_prepare(st->db, del_sql[i], &del) != DB_OK)
			goto out;
		db_bind_int64(del, 1, model_id);
		db_bind_int64(del, 2, start);
		if (db_step(del) != DB_DONE)
			goto out;
		db_finalize(del);
		del = NULL;
	}
	if (!n) {
		rc = 0;
		goto out;
	}
	if (db_prepare(
	        st->db,
	        "INSERT INTO segment_drift (model_id, start, seg_key, segment, feature, kind, "
	        "n, n_ref, missing_rate, type_error_rate, out_of_range_rate, "
	        "new_category_rate, ks, ks_p, wasserstein, psi, js, chi2, chi2_p, method, "
	        "score, threshold, severity, drifted, insufficient) VALUES (?1, ?2, ?3, ?4, "
	        "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, "
	        "?21, ?22, ?23, ?24, ?25)",
	        &ins_d) != DB_OK ||
	    db_prepare(st->db,
	               "INSERT INTO segment_windows (model_id, start, seg_key, segment, events, "
	               "errors, p50, p90, p95, p99, labelled, accuracy, macro_f1, mae, rmse, "
	               "est_accuracy) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
	               "?13, ?14, ?15, ?16)",
	               &ins_w) != DB_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (put_window(ins_w, model_id, start, key, &w[i]))
			goto out;
		for (size_t k = 0; k < w[i].ndrift; k++)
			if (put_drift(ins_d, model_id, start, key, w[i].segment, &w[i].drift[k]))
				goto out;
	}
	rc = 0;
out:
	db_finalize(del);
	db_finalize(ins_d);
	db_finalize(ins_w);
	return rc;
}

/* ---- readers --------------------------------------------------------------- */

static double col_num(struct db_stmt *s, int i)
{
	return db_column_type(s, i) == DB_NULL ? NAN : db_column_double(s, i);
}

struct drift_rows {
	int (*fn)(const char *, const struct sq_drift *, void *);
	void *arg;
};

static int drift_row(struct db_stmt *s, void *ctx)
{
	struct drift_rows *r = ctx;
	struct sq_drift d;
	const char *seg = (const char *)db_column_text(s, 26);

	sq_drift_read(s, &d); /* cur_hist and stats are NULL here */
	return r->fn(seg ? seg : "", &d, r->arg);
}

int store_seg_drift_each(struct store *st, int64_t model_id, double from, double to,
                         const char *key, const char *segment, const char *feature,
                         int64_t window_s,
                         int (*fn)(const char *segment, const struct sq_drift *d, void *arg),
                         void *arg)
{
	struct db_stmt *s = NULL;
	struct drift_rows r = {fn, arg};
	int rc = -1;

	if (db_prepare(st->db,
	               "SELECT d.start, coalesce(w.\"end\", d.start + ?7), "
	               "coalesce(w.provisional, 0), d.feature, d.kind, d.n, coalesce(d.n_ref, -1), "
	               "d.missing_rate, d.type_error_rate, d.out_of_range_rate, "
	               "d.new_category_rate, d.ks, d.ks_p, d.wasserstein, d.psi, d.js, d.chi2, "
	               "d.chi2_p, coalesce(d.method, ''), d.score, d.threshold, d.severity, "
	               "d.drifted, d.insufficient, NULL, NULL, d.segment FROM segment_drift d "
	               "LEFT JOIN windows w ON w.model_id = d.model_id AND w.start = d.start "
	               "WHERE d.model_id = ?1 AND d.start >= ?2 AND d.start < ?3 "
	               "AND (?4 IS NULL OR d.seg_key = ?4) AND (?5 IS NULL OR d.segment = ?5) "
	               "AND (?6 IS NULL OR d.feature = ?6) ORDER BY d.start, d.segment, d.feature",
	               &s) != DB_OK)
		goto out;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, store_time_ceil(from)); /* start >= ?2, an integer */
	db_bind_int64(s, 3, store_time_ceil(to));   /* start < ?3 */
	bind_text_or_null(s, 4, key);
	bind_text_or_null(s, 5, segment);
	bind_text_or_null(s, 6, feature);
	db_bind_int64(s, 7, window_s);
	rc = store_each_row(s, drift_row, &r);
out:
	db_finalize(s);
	return rc;
}

struct win_rows {
	int (*fn)(int64_t, const struct store_seg_window *, void *);
	void *arg;
};

static int win_row(struct db_stmt *s, void *ctx)
{
	struct win_rows *r = ctx;
	struct store_seg_window w;

	memset(&w, 0, sizeof(w));
	w.segment = (const char *)db_column_text(s, 1);
	if (!w.segment)
		w.segment = "";
	w.events = (uint64_t)db_column_int64(s, 2);
	w.errors = (uint64_t)db_column_int64(s, 3);
	w.p50 = col_num(s, 4);
	w.p90 = col_num(s, 5);
	w.p95 = col_num(s, 6);
	w.p99 = col_num(s, 7);
	w.has_latency = !isnan(w.p50);
	w.labelled = (uint64_t)db_column_int64(s, 8);
	w.accuracy = col_num(s, 9);
	w.has_accuracy = !isnan(w.accuracy);
	w.macro_f1 = col_num(s, 10);
	w.has_macro_f1 = !isnan(w.macro_f1);
	w.mae = col_num(s, 11);
	w.has_mae = !isnan(w.mae);
	w.rmse = col_num(s, 12);
	w.has_rmse = !isnan(w.rmse);
	w.est = col_num(s, 13);
	w.has_est = !isnan(w.est);
	return r->fn(db_column_int64(s, 0), &w, r->arg);
}

int store_seg_windows_each(struct store *st, int64_t model_id, double from, double to,
                           const char *key, const char *segment,
                           int (*fn)(int64_t start, const struct store_seg_window *w, void *arg),
                           void *arg)
{
	struct db_stmt *s = NULL;
	struct win_rows r = {fn, arg};
	int rc = -1;

	if (db_prepare(st->db,
	               "SELECT start, segment, events, errors, p50, p90, p95, p99, labelled, "
	               "accuracy, macro_f1, mae, rmse, est_accuracy FROM segment_windows "
	               "WHERE model_id = ?1 AND start >= ?2 AND start < ?3 "
	               "AND (?4 IS NULL OR seg_key = ?4) AND (?5 IS NULL OR segment = ?5) "
	               "ORDER BY start, segment",
	               &s) != DB_OK)
		goto out;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, store_time_ceil(from)); /* start >= ?2, an integer */
	db_bind_int64(s, 3, store_time_ceil(to));   /* start < ?3 */
	bind_text_or_null(s, 4, key);
	bind_text_or_null(s, 5, segment);
	rc = store_each_row(s, win_row, &r);
out:
	db_finalize(s);
	return rc;
}

struct name_rows {
	int (*fn)(const char *, const char *, void *);
	void *arg;
};

static int name_row(struct db_stmt *s, void *ctx)
{
	struct name_rows *r = ctx;
	const char *key = (const char *)db_column_text(s, 0);
	const char *seg = (const char *)db_column_text(s, 1);

	return key && seg ? r->fn(key, seg, r->arg) : 0;
}

int store_seg_names_each(struct store *st, int64_t model_id, double from,
                         int (*fn)(const char *key, const char *segment, void *arg), void *arg)
{
	struct db_stmt *s = NULL;
	struct name_rows r = {fn, arg};
	int rc = -1;

	if (db_prepare(st->db,
	               "SELECT seg_key, segment FROM segment_reference WHERE model_id = ?1 "
	               "UNION SELECT seg_key, segment FROM segment_windows WHERE model_id = ?1 "
	               "AND start >= ?2 ORDER BY 1, 2",
	               &s) != DB_OK)
		goto out;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, store_time_ceil(from)); /* start >= ?2, an integer */
	rc = store_each_row(s, name_row, &r);
out:
	db_finalize(s);
	return rc;
}

static const char *const alert_columns[] = {
    "severity", "psi", "missing_rate", "type_error_rate", "out_of_range_rate", "new_category_rate"};

struct alert_rows {
	void (*fn)(void *, const char *, const char *, double, int64_t);
	void *arg;
	char last_feature[256], last_segment[STORE_SEGMENT_MAX + 1];
	bool any;
};

static int alert_row(struct db_stmt *s, void *ctx)
{
	struct alert_rows *r = ctx;
	const char *f = (const char *)db_column_text(s, 0);
	const char *seg = (const char *)db_column_text(s, 1);

	if (!f || !seg || db_column_type(s, 3) == DB_NULL)
		return 0;
	/* rows come newest first within each (feature, segment): the first of
	 * every run is the newest */
	if (r->any && strcmp(r->last_feature, f) == 0 && strcmp(r->last_segment, seg) == 0)
		return 0;
	r->any = true;
	snprintf(r->last_feature, sizeof(r->last_feature), "%s", f);
	snprintf(r->last_segment, sizeof(r->last_segment), "%s", seg);
	r->fn(r->arg, f, seg, db_column_double(s, 3), db_column_int64(s, 2));
	return 0;
}

int store_seg_alert_drift(struct store *st, const char *model, const char *column,
                          const char *feature, const char *key, const char *segment,
                          int64_t lookback_s, int64_t min_n,
                          void (*fn)(void *arg, const char *feature, const char *segment,
                                     double value, int64_t start),
                          void *arg)
{
	struct alert_rows r = {.fn = fn, .arg = arg};
	struct db_stmt *s = NULL;
	char sql[1024];
	int c = -1, rc = -1;

	for (int i = 0; i < (int)(sizeof(alert_columns) / sizeof(alert_columns[0])); i++)
		if (strcmp(alert_columns[i], column) == 0)
			c = i;
	if (c < 0)
		return -1;
	/* The column name comes from the fixed list above, never from input. */
	snprintf(sql, sizeof(sql),
	         "SELECT d.feature, d.segment, d.start, d.%s FROM segment_drift d "
	         "JOIN models m ON m.id = d.model_id "
	         "LEFT JOIN windows w ON w.model_id = d.model_id AND w.start = d.start "
	         "WHERE m.name = ?1 AND d.seg_key = ?2 AND d.%s IS NOT NULL%s "
	         "AND (?3 IS NULL OR d.feature = ?3) AND (?4 IS NULL OR d.segment = ?4) "
	         "AND (w.provisional IS NULL OR w.provisional = 0 OR d.n >= ?5) "
	         "AND d.start >= (SELECT max(start) FROM segment_drift WHERE model_id = m.id) - ?6 "
	         "ORDER BY d.feature, d.segment, d.start DESC",
	         alert_columns[c], alert_columns[c], c <= 1 ? " AND d.insufficient = 0" : "");
	if (db_prepare(st->db, sql, &s) != DB_OK)
		goto out;
	db_bind_text(s, 1, model, -1);
	db_bind_text(s, 2, key, -1);
	bind_text_or_null(s, 3, feature);
	bind_text_or_null(s, 4, segment);
	db_bind_int64(s, 5, min_n);
	db_bind_int64(s, 6, lookback_s);
	rc = store_each_row(s, alert_row, &r);
out:
	db_finalize(s);
	return rc;
}

struct worst_rows {
	int (*fn)(const char *, double, bool, int64_t, void *);
	void *arg;
};

static int worst_row(struct db_stmt *s, void *ctx)
{
	struct worst_rows *r = ctx;
	const char *seg = (const char *)db_column_text(s, 0);

	return r->fn(seg ? seg : "", col_num(s, 1), db_column_int(s, 2) != 0, db_column_int64(s, 3),
	             r->arg);
}

int store_seg_feature_worst(
    struct store *st, int64_t model_id, const char *feature, double from, double to,
    int (*fn)(const char *segment, double severity, bool drifted, int64_t n, void *arg), void *arg)
{
	struct db_stmt *s = NULL;
	struct worst_rows r = {fn, arg};
	int rc = -1;

	if (db_prepare(st->db,
	               "SELECT segment, max(severity), max(coalesce(drifted, 0)), sum(n) "
	               "FROM segment_drift WHERE model_id = ?1 AND feature = ?2 AND start >= ?3 "
	               "AND start < ?4 GROUP BY segment ORDER BY max(severity) DESC, segment",
	               &s) != DB_OK)
		goto out;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, feature, -1);
	db_bind_int64(s, 3, store_time_ceil(from)); /* start >= ?3, an integer */
	db_bind_int64(s, 4, store_time_ceil(to));   /* start < ?4 */
	rc = store_each_row(s, worst_row, &r);
out:
	db_finalize(s);
	return rc;
}
