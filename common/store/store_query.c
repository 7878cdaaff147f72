/* store_query: see store_query.h. */
#include "store_query.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include "db.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddsketch.h"
#include "featcodec.h"
#include "store_rollup.h"

#define DRIFT_COLS                                                                              \
	"d.start, coalesce(w.\"end\", d.start + ?9), coalesce(w.provisional, 0), d.feature, "   \
	"d.kind, "                                                                              \
	"d.n, coalesce(d.n_ref, -1), d.missing_rate, d.type_error_rate, d.out_of_range_rate, "  \
	"d.new_category_rate, d.ks, d.ks_p, d.wasserstein, d.psi, d.js, d.chi2, d.chi2_p, "     \
	"coalesce(d.method, ''), d.score, d.threshold, d.severity, d.drifted, d.insufficient, " \
	"d.cur_hist, d.stats "                                                                  \
	"FROM drift d LEFT JOIN windows w ON w.model_id = d.model_id AND w.start = d.start "

#define ALERT_COLS                                                                                \
	"SELECT a.id, a.rule, a.model, a.feature, a.state, a.severity, coalesce(a.summary, ''), " \
	"a.value, a.threshold, a.active_at, a.fired_at, a.resolved_at, a.updated, a.acked, "      \
	"EXISTS (SELECT 1 FROM silences s WHERE (s.rule = a.rule OR s.rule = '*') "               \
	"AND (s.model IS NULL OR s.model IN ('', '*') OR s.model = a.model) "                     \
	"AND s.created <= ?1 AND s.ends > ?1), a.nodata_since FROM alerts a "

/* The spans of a bucketed read (see tier_plan), one SELECT each. */
#define LAT_MINUTES(lo, hi)                                                                     \
	"SELECT (start / ?4) * ?4 AS b, count, errors, provisional, p50, p90, p95, p99, p999, " \
	"max AS mx, mean, \"end\" - start AS span FROM windows WHERE model_id = ?1 AND "        \
	"start >= " lo " AND start < " hi
#define LAT_TIER(tier, lo, hi)                                                              \
	"SELECT (start / ?4) * ?4, count, errors, 0, p50, p90, p95, p99, p999, max, mean, " \
	"windows * ?7 FROM tiers WHERE model_id = ?1 AND tier = " tier " AND start >= " lo  \
	" AND start < " hi
#define CELL_MINUTES(lo, hi)                                                                 \
	"SELECT feature, kind, (start / ?4) * ?4 AS b, severity AS sev, "                    \
	"coalesce(drifted, 0) AS dr, 1 AS n FROM drift WHERE model_id = ?1 AND start >= " lo \
	" AND start < " hi
#define CELL_TIER(tier, lo, hi)                                                        \
	"SELECT feature, kind, (start / ?4) * ?4, max_severity, "                      \
	"CASE WHEN drifted_windows > 0 THEN 1 ELSE 0 END, windows FROM tier_features " \
	"WHERE model_id = ?1 AND tier = " tier " AND start >= " lo " AND start < " hi
#define LLM_MINUTES(lo, hi)                                                                      \
	"SELECT l.llm, l.input_tokens, l.output_tokens, l.ttft_sketch, l.tpot_sketch, "          \
	"w.\"end\" - w.start AS span FROM window_llm l JOIN windows w ON "                       \
	"w.model_id = l.model_id AND w.start = l.start WHERE l.model_id = ?1 AND l.start >= " lo \
	" AND l.start < " hi " AND l.llm > 0"
#define LLM_TIER(lo, hi)                                                                       \
	"SELECT llm, input_tokens, output_tokens, ttft_sketch, tpot_sketch, llm_windows * ?7 " \
	"FROM tiers WHERE model_id = ?1 AND tier = 3600 AND start >= " lo " AND start < " hi   \
	" AND llm > 0"

static const char *const sql[SQS_COUNT] = {
    [SQS_MODELS] = "SELECT id, name, coalesce(task, ''), last_event FROM models ORDER BY name",
    [SQS_MODEL_FIND] =
        "SELECT id, name, coalesce(task, ''), last_event FROM models WHERE name = ?1",
    /* The newest window that has ended, or the newest one when none has,
     * of each model with an id in [?1, ?3] (one statement for all the
     * models of a dashboard: see sq_status_current_all). Each model's
     * start is found first (k, materialized) so that both engines seek
     * one window per model rather than scan every window of the models. */
    [SQS_LAST_WIN] =
        "WITH k AS MATERIALIZED (SELECT m.id AS id, coalesce((SELECT x.start FROM windows x "
        "WHERE x.model_id = m.id AND x.\"end\" <= ?2 ORDER BY x.start DESC LIMIT 1), "
        "(SELECT max(x.start) FROM windows x WHERE x.model_id = m.id)) AS s FROM models m "
        "WHERE m.id >= ?1 AND m.id <= ?3) SELECT k.id, w.start, w.\"end\", w.count, w.errors, "
        "w.p50, w.p95, w.p99 FROM k JOIN windows w ON w.model_id = k.id AND w.start = k.s",
    [SQS_RANGE_SUMS] =
        "SELECT m.id, total(w.count), total(w.errors), total(a.accuracy * a.labelled), "
        "total(CASE WHEN a.accuracy IS NOT NULL THEN a.labelled END), "
        "total(a.mae * a.labelled), total(CASE WHEN a.mae IS NOT NULL THEN a.labelled END), "
        "total(a.est_accuracy * max(w.count, 1)), "
        "total(CASE WHEN a.est_accuracy IS NOT NULL THEN max(w.count, 1) END), "
        "total(a.label_coverage * max(w.count, 1)), "
        "total(CASE WHEN a.label_coverage IS NOT NULL THEN max(w.count, 1) END) "
        "FROM models m JOIN windows w ON w.model_id = m.id AND w.start >= ?2 AND w.start < ?3 "
        "LEFT JOIN accuracy a ON a.model_id = w.model_id AND a.start = w.start "
        "WHERE m.id >= ?1 AND m.id <= ?4 GROUP BY m.id",
    /* Each model's newest drift window in [?2, ?3] (found first, as
     * above), its features by severity: the first row of a model is its
     * worst. */
    [SQS_WORST_DRIFT] =
        "WITH k AS MATERIALIZED (SELECT m.id AS id, (SELECT max(x.start) FROM drift x WHERE "
        "x.model_id = m.id AND x.start >= ?2 AND x.start <= ?3) AS s FROM models m WHERE "
        "m.id >= ?1 AND m.id <= ?4) SELECT k.id, d.feature, d.severity FROM k JOIN drift d "
        "ON d.model_id = k.id AND d.start = k.s WHERE d.severity IS NOT NULL "
        "ORDER BY k.id, d.severity DESC, d.feature",
    [SQS_FIRING] = "SELECT model, total(state = 'firing'), total(state = 'pending') FROM alerts "
                   "WHERE state IN ('firing', 'pending') GROUP BY model",
    [SQS_LIVE] = "SELECT start, \"end\", count, errors, latency_sketch FROM windows "
                 "WHERE model_id = ?1 AND \"end\" > ?2 AND start < ?3 ORDER BY start",
    [SQS_LATENCY] = "SELECT w.start, w.\"end\", w.count, w.errors, w.provisional, w.p50, w.p90, "
                    "w.p95, w.p99, w.p999, w.max, w.mean, l.llm, l.input_tokens, "
                    "l.output_tokens, l.ttft_sketch, l.tpot_sketch, l.finish FROM windows w "
                    "LEFT JOIN window_llm l ON l.model_id = w.model_id AND l.start = w.start "
                    "WHERE w.model_id = ?1 AND w.start >= ?2 AND w.start < ?3 "
                    "ORDER BY w.start",
    /* Buckets over five spans (tier_plan): minutes [?2, ?5), hours
     * [?5, ?8), days [?8, ?9), hours [?9, ?6), minutes [?6, ?3); a tier
     * row's span is its windows x ?7. */
    [SQS_LATENCY_BUCKETS] =
        "SELECT b, total(count), total(errors), max(provisional), "
        "total(p50 * max(count, 1)) / "
        "nullif(total(CASE WHEN p50 IS NOT NULL THEN max(count, 1) END), 0), "
        "max(p90), max(p95), max(p99), max(p999), max(mx), "
        "total(mean * max(count, 1)) / "
        "nullif(total(CASE WHEN mean IS NOT NULL THEN max(count, 1) END), 0), "
        "total(span) FROM (" LAT_MINUTES("?2", "?5") " UNION ALL " LAT_TIER(
            "3600", "?5",
            "?8") " UNION ALL " LAT_TIER("86400", "?8",
                                         "?9") " UNION ALL " LAT_TIER("3600", "?9",
                                                                      "?6") " UNION "
                                                                            "ALL " LAT_MINUTES(
                                                                                "?6",
                                                                                "?3") ") u GROUP "
                                                                                      "BY b "
                                                                                      "ORDER BY b",
    [SQS_DRIFT] = "SELECT " DRIFT_COLS "WHERE d.model_id = ?1 AND d.start >= ?2 AND d.start < ?3 "
                  "ORDER BY d.start, d.feature",
    [SQS_DRIFT_FEATURE] =
        "SELECT " DRIFT_COLS "WHERE d.model_id = ?1 AND d.start >= ?2 AND d.start < ?3 "
        "AND d.feature = ?4 ORDER BY d.start",
    [SQS_DRIFT_CELLS] =
        "SELECT feature, max(kind), b, max(sev), max(dr), total(n) FROM "
        "(" CELL_MINUTES("?2", "?5") " UNION ALL " CELL_TIER(
            "3600", "?5",
            "?8") " UNION ALL " CELL_TIER("86400", "?8",
                                          "?9") " UNION ALL " CELL_TIER("3600", "?9",
                                                                        "?6") " UNION "
                                                                              "ALL " CELL_MINUTES(
                                                                                  "?6",
                                                                                  "?3") ") u GROUP "
                                                                                        "BY "
                                                                                        "feature, "
                                                                                        "b ORDER "
                                                                                        "BY "
                                                                                        "feature, "
                                                                                        "b",
    [SQS_DRIFT_WORST_IN] =
        "SELECT " DRIFT_COLS "WHERE d.model_id = ?1 AND d.start >= ?2 AND d.start < ?3 "
        "AND d.feature = ?4 ORDER BY coalesce(d.severity, -1) DESC, "
        "d.start DESC LIMIT 1",
    [SQS_REF_HIST] = "SELECT kind, n, hist FROM reference WHERE model_id = ?1 AND feature = ?2",
    [SQS_ACCURACY] =
        "SELECT a.start, coalesce(w.\"end\", a.start + ?4), a.labelled, coalesce(w.count, 0), "
        "a.accuracy, a.macro_f1, a.mae, a.rmse, a.est_accuracy, a.est_low, a.est_high, "
        "a.label_coverage, coalesce(w.provisional, 0) FROM accuracy a "
        "LEFT JOIN windows w ON w.model_id = a.model_id AND w.start = a.start "
        "WHERE a.model_id = ?1 AND a.start >= ?2 AND a.start < ?3 ORDER BY a.start",
    [SQS_ACCURACY_BUCKETS] =
        "SELECT (a.start / ?4) * ?4 AS b, total(a.labelled), total(coalesce(w.count, 0)), "
        "total(a.accuracy * a.labelled) / "
        "nullif(total(CASE WHEN a.accuracy IS NOT NULL THEN a.labelled END), 0), "
        "total(a.macro_f1 * a.labelled) / "
        "nullif(total(CASE WHEN a.macro_f1 IS NOT NULL THEN a.labelled END), 0), "
        "total(a.mae * a.labelled) / "
        "nullif(total(CASE WHEN a.mae IS NOT NULL THEN a.labelled END), 0), "
        "sqrt(total(a.rmse * a.rmse * a.labelled) / "
        "nullif(total(CASE WHEN a.rmse IS NOT NULL THEN a.labelled END), 0)), "
        "total(a.est_accuracy * max(coalesce(w.count, 1), 1)) / "
        "nullif(total(CASE WHEN a.est_accuracy IS NOT NULL "
        "THEN max(coalesce(w.count, 1), 1) END), 0), "
        "min(a.est_low), max(a.est_high), "
        "total(a.label_coverage * max(coalesce(w.count, 1), 1)) / "
        "nullif(total(CASE WHEN a.label_coverage IS NOT NULL "
        "THEN max(coalesce(w.count, 1), 1) END), 0), max(coalesce(w.provisional, 0)) "
        "FROM accuracy a LEFT JOIN windows w ON w.model_id = a.model_id AND w.start = a.start "
        "WHERE a.model_id = ?1 AND a.start >= ?2 AND a.start < ?3 GROUP BY b ORDER BY b",
    [SQS_CONCEPT] = "SELECT id, ts, coalesce(window_start, 0), detector, coalesce(detail, '') "
                    "FROM concept_events WHERE model_id = ?1 AND ts >= ?2 AND ts < ?3 "
                    "ORDER BY ts",
    [SQS_ALERTS] = ALERT_COLS "WHERE a.state IN ('firing', 'pending') "
                              "ORDER BY a.state = 'firing' DESC, a.active_at DESC, a.id DESC",
    [SQS_ALERTS_ALL] = ALERT_COLS "ORDER BY a.active_at DESC, a.id DESC",
    [SQS_ALERT_GET] = ALERT_COLS "WHERE a.id = ?2",
    [SQS_ACK] = "UPDATE alerts SET acked = 1, acked_at = ?2 WHERE id = ?1",
    [SQS_SILENCE] = "INSERT INTO silences (rule, model, created, ends, comment) "
                    "VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
    [SQS_EVENTS] =
        "SELECT id, req_id, ts, latency_ms, error, version, features, pred_num, "
        "pred_str, score, scores, label_num, label_str, label_ts, features_bin FROM events "
        "WHERE model_id = ?1 AND window_start >= ?4 AND window_start < ?5 "
        "AND ts >= ?2 AND ts < ?3 ORDER BY window_start, ts, id",
    [SQS_FEATURES] = "SELECT name, kind FROM features WHERE model_id = ?1 ORDER BY name",
    [SQS_META] = "SELECT value FROM meta WHERE key = ?1",
    /* Windows with LLM events, as SQS_LATENCY's columns (start 0, end
     * the seconds they span), over the spans of tier_plan (hours only). */
    [SQS_LLM_RANGE] =
        "SELECT 0, span, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, llm, input_tokens, "
        "output_tokens, ttft_sketch, tpot_sketch, NULL FROM (" LLM_MINUTES(
            "?2", "?5") " UNION ALL " LLM_TIER("?5", "?6") " UNION ALL " LLM_MINUTES("?6",
                                                                                     "?3") ") u",
    /* the worst window of a feature: in the hourly tier rows of a range,
     * and in minutes */
    [SQS_TIER_WORST] =
        "SELECT worst_start, coalesce(max_severity, -1) FROM tier_features WHERE model_id = ?1 "
        "AND tier = ?4 AND start >= ?2 AND start < ?3 AND feature = ?5 AND worst_start IS NOT "
        "NULL ORDER BY coalesce(max_severity, -1) DESC, worst_start DESC LIMIT 1",
    [SQS_MINUTE_WORST] =
        "SELECT start, coalesce(severity, -1) FROM drift WHERE model_id = ?1 AND start >= ?2 "
        "AND start < ?3 AND feature = ?4 ORDER BY coalesce(severity, -1) DESC, start DESC "
        "LIMIT 1",
    [SQS_TIER_SUMS] =
        "SELECT m.id, total(t.count), total(t.errors), total(t.acc_num), total(t.acc_den), "
        "total(t.mae_num), total(t.mae_den), total(t.est_num), total(t.est_den), "
        "total(t.cov_num), total(t.cov_den) FROM models m JOIN tiers t ON t.model_id = m.id "
        "AND t.tier = ?4 AND t.start >= ?2 AND t.start < ?3 WHERE m.id >= ?1 AND m.id <= ?5 "
        "GROUP BY m.id",
};

static struct db_stmt *prep(struct sq *q, enum sq_stmt_id id)
{
	return store_prepare(q->st, &q->stmt[id], sql[id]);
}

static double col_num(struct db_stmt *s, int i)
{
	return db_column_type(s, i) == DB_NULL ? NAN : db_column_double(s, i);
}

static const char *col_text(struct db_stmt *s, int i)
{
	return (const char *)db_column_text(s, i);
}

static void copy_text(char *dst, size_t cap, struct db_stmt *s, int i)
{
	const char *t = col_text(s, i);
	snprintf(dst, cap, "%s", t ? t : "");
}

static int meta_text(struct sq *q, const char *key, char *buf, size_t cap)
{
	struct db_stmt *s = prep(q, SQS_META);
	int rc;

	if (!s)
		return -1;
	db_bind_text(s, 1, key, -1);
	rc = db_step(s);
	if (rc == DB_ROW) {
		copy_text(buf, cap, s, 0);
		db_reset(s);
		return 0;
	}
	db_reset(s);
	return rc == DB_DONE ? SQ_NOTFOUND : -1;
}

void sq_init(struct sq *q, struct store *st)
{
	char buf[64], *end;
	long v;

	memset(q, 0, sizeof(*q));
	q->st = st;
	q->window_s = 60;
	jsonw_init(&q->feat);
	if (meta_text(q, "window_seconds", buf, sizeof(buf)) == 0) {
		v = strtol(buf, &end, 10);
		if (end != buf && *end == '\0' && v > 0 && v <= 86400)
			q->window_s = v;
	}
}

void sq_fini(struct sq *q)
{
	store_finalize(q->stmt, SQS_COUNT);
	jsonw_fini(&q->feat);
}

/* ---- models and meta ---------------------------------------------------- */

static void read_model(struct db_stmt *s, struct sq_model *m)
{
	m->id = db_column_int64(s, 0);
	copy_text(m->name, sizeof(m->name), s, 1);
	copy_text(m->task, sizeof(m->task), s, 2);
	m->last_event = col_num(s, 3);
}

/* The models read so far, grown by doubling. */
struct model_rows {
	struct sq_model *v;
	size_t len, cap;
};

static int model_row(struct db_stmt *s, void *ctx)
{
	struct model_rows *c = ctx;
	struct sq_model *nv;

	if (c->len == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		nv = realloc(c->v, c->cap * sizeof(*nv));
		if (!nv)
			return DB_NOMEM;
		c->v = nv;
	}
	read_model(s, &c->v[c->len++]);
	return 0;
}

int sq_models(struct sq *q, struct sq_model **out, size_t *n)
{
	struct db_stmt *s = prep(q, SQS_MODELS);
	struct model_rows c = {0};

	*out = NULL;
	*n = 0;
	if (!s)
		return -1;
	if (store_each_row(s, model_row, &c)) {
		free(c.v);
		return -1;
	}
	*out = c.v;
	*n = c.len;
	return 0;
}

int sq_model_find(struct sq *q, const char *name, struct sq_model *out)
{
	struct db_stmt *s = prep(q, SQS_MODEL_FIND);
	int rc;

	if (!s)
		return -1;
	db_bind_text(s, 1, name, -1);
	rc = db_step(s);
	if (rc == DB_ROW)
		read_model(s, out);
	db_reset(s);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? SQ_NOTFOUND : -1;
}

int sq_meta(struct sq *q, struct sq_meta *m)
{
	char buf[128], *end;
	double v;
	int rc;

	m->last_write = NAN;
	m->window_seconds = (int)q->window_s;
	rc = meta_text(q, "last_write", buf, sizeof(buf));
	if (rc == -1)
		return -1;
	if (rc == 0) {
		/* Unix seconds; an RFC 3339 time is not expected but costs nothing. */
		v = strtod(buf, &end);
		if (end != buf && *end == '\0' && isfinite(v))
			m->last_write = v;
	}
	return 0;
}

/* ---- status ------------------------------------------------------------- */

static double ratio(double num, double den)
{
	return den > 0 ? num / den : NAN;
}

/* The spans of [from, to) a bucketed read takes from each tier
 * (store_rollup.h): minutes [from, h0), hours [h0, d0), days [d0, d1),
 * hours [d1, h1), minutes [h1, to). Hours are used when a bucket is whole
 * hours (an hour row never straddles two buckets) and minute windows
 * divide an hour, up to meta.tier_until (the tiers are complete before
 * it); days inside that when a bucket is whole days. Without tiers every
 * bound is ceil(from): minutes only. */
struct tier_plan {
	int64_t h0, d0, d1, h1;
};

static void tier_plan(struct sq *q, double from, double to, int64_t bucket, struct tier_plan *p)
{
	int64_t until = 0, lo = (int64_t)ceil(from), h0, h1, d0, d1;

	p->h0 = p->d0 = p->d1 = p->h1 = lo;
	if (bucket % ROLLUP_HOUR != 0 || q->window_s <= 0 || ROLLUP_HOUR % q->window_s != 0 ||
	    !(to > from))
		return;
	if (store_rollup_until_get(q->st, &until) || until <= 0)
		return;
	h0 = (lo + ROLLUP_HOUR - 1) / ROLLUP_HOUR * ROLLUP_HOUR;
	h1 = (int64_t)floor(fmin(to, (double)until)) / ROLLUP_HOUR * ROLLUP_HOUR;
	if (h1 <= h0)
		return;
	d0 = d1 = h1;
	if (bucket % ROLLUP_DAY == 0) {
		int64_t a = (h0 + ROLLUP_DAY - 1) / ROLLUP_DAY * ROLLUP_DAY,
		        b = h1 / ROLLUP_DAY * ROLLUP_DAY;
		if (b > a) {
			d0 = a;
			d1 = b;
		}
	}
	p->h0 = h0;
	p->d0 = d0;
	p->d1 = d1;
	p->h1 = h1;
}

/* ---- figures of many models at once --------------------------------------
 *
 * The overview asks the same few questions of every model at each refresh.
 * One statement per question for all of them, rather than one per model:
 * over PostgreSQL each statement is a round trip (20 models cost ~200 of
 * them, 15-20 ms per refresh, before this). Each row names its model id;
 * a caller's models are found by binary search in an index sorted by id.
 * The statements bound the ids to [lo, hi] so that one model costs what it
 * did alone. */
struct model_ix {
	int64_t id;
	size_t i; /* the caller's position */
};

struct models_by_id {
	struct model_ix *ix, one;
	size_t n;
	int64_t lo, hi;
};

static int ix_cmp(const void *a, const void *b)
{
	const struct model_ix *x = a, *y = b;
	return (x->id > y->id) - (x->id < y->id);
}

/* 0, -1 when out of memory; byid_free after either. */
static int byid_init(struct models_by_id *b, const int64_t *ids, size_t stride, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->n = n;
	if (n == 1) {
		b->ix = &b->one;
	} else if (n && !(b->ix = malloc(n * sizeof(*b->ix)))) {
		b->n = 0;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		b->ix[i].id = *(const int64_t *)(const void *)((const char *)ids + i * stride);
		b->ix[i].i = i;
	}
	if (n > 1)
		qsort(b->ix, n, sizeof(*b->ix), ix_cmp);
	b->lo = n ? b->ix[0].id : 1;
	b->hi = n ? b->ix[n - 1].id : 0; /* lo > hi: no rows */
	return 0;
}

static void byid_free(struct models_by_id *b)
{
	if (b->ix != &b->one)
		free(b->ix);
	b->ix = NULL;
}

/* The caller's position of the model in column 0 of s, -1 when not asked. */
static ptrdiff_t byid_find(const struct models_by_id *b, struct db_stmt *s)
{
	struct model_ix key = {db_column_int64(s, 0), 0};
	const struct model_ix *hit = b->n ? bsearch(&key, b->ix, b->n, sizeof(key), ix_cmp) : NULL;
	return hit ? (ptrdiff_t)hit->i : -1;
}

struct sums_rows {
	const struct models_by_id *by;
	struct sq_sums *out;
};

/* Adds one row of SQS_RANGE_SUMS / SQS_TIER_SUMS to its model's sums. */
static int sums_row(struct db_stmt *s, void *arg)
{
	struct sums_rows *c = arg;
	ptrdiff_t i = byid_find(c->by, s);
	struct sq_sums p;
	/* the columns after the model id, in the order of struct sq_sums */
	double *const col[] = {&p.count,   &p.errors,  &p.acc_num, &p.acc_den, &p.mae_num,
	                       &p.mae_den, &p.est_num, &p.est_den, &p.cov_num, &p.cov_den};

	if (i < 0)
		return 0;
	for (int k = 0; k < (int)(sizeof(col) / sizeof(col[0])); k++)
		*col[k] = db_column_double(s, k + 1);
	sq_sums_add(&c->out[i], &p, 1);
	return 0;
}

static int tier_sums(struct sq *q, struct sums_rows *c, int64_t tier, int64_t from, int64_t to)
{
	struct db_stmt *s;

	if (to <= from)
		return 0;
	if (!(s = prep(q, SQS_TIER_SUMS)))
		return -1;
	db_bind_int64(s, 1, c->by->lo);
	db_bind_int64(s, 2, from);
	db_bind_int64(s, 3, to);
	db_bind_int64(s, 4, tier);
	db_bind_int64(s, 5, c->by->hi);
	return store_each_row(s, sums_row, c);
}

static int minute_sums(struct sq *q, struct sums_rows *c, double from, double to)
{
	struct db_stmt *s;

	if (!(to > from))
		return 0;
	s = prep(q, SQS_RANGE_SUMS);
	if (!s)
		return -1;
	db_bind_int64(s, 1, c->by->lo);
	db_bind_int64(s, 2, store_time_ceil(from)); /* w.start >= ?2 */
	db_bind_int64(s, 3, store_time_ceil(to));   /* w.start < ?3 */
	db_bind_int64(s, 4, c->by->hi);
	return store_each_row(s, sums_row, c);
}

/* Sums over minutes at the edges, hours, and days in the middle: the
 * rows hold the same sums the minutes would give (store_rollup.h). */
static int range_sums(struct sq *q, struct sums_rows *c, double from, double to)
{
	struct tier_plan p;

	for (size_t i = 0; i < c->by->n; i++)
		memset(&c->out[i], 0, sizeof(c->out[i]));
	if (!(to > from) || !c->by->n)
		return 0;
	tier_plan(q, from, to, ROLLUP_DAY, &p);
	return minute_sums(q, c, from, (double)p.h0) || tier_sums(q, c, ROLLUP_HOUR, p.h0, p.d0) ||
	               tier_sums(q, c, ROLLUP_DAY, p.d0, p.d1) ||
	               tier_sums(q, c, ROLLUP_HOUR, p.d1, p.h1) ||
	               minute_sums(q, c, (double)p.h1, to)
	           ? -1
	           : 0;
}

int sq_range_sums(struct sq *q, int64_t model_id, double from, double to, struct sq_sums *o)
{
	struct models_by_id by;
	struct sums_rows c = {&by, o};
	int rc;

	byid_init(&by, &model_id, sizeof(model_id), 1); /* one: no allocation */
	rc = range_sums(q, &c, from, to);
	byid_free(&by);
	return rc;
}

int sq_range_sums_all(struct sq *q, const struct sq_model *m, size_t n, double from, double to,
                      struct sq_sums *out)
{
	struct models_by_id by;
	struct sums_rows c = {&by, out};
	int rc = -1;

	if (!n)
		return 0;
	if (byid_init(&by, &m[0].id, sizeof(*m), n) == 0)
		rc = range_sums(q, &c, from, to);
	byid_free(&by);
	return rc;
}

void sq_sums_add(struct sq_sums *a, const struct sq_sums *b, double sign)
{
	a->count += sign * b->count;
	a->errors += sign * b->errors;
	a->acc_num += sign * b->acc_num;
	a->acc_den += sign * b->acc_den;
	a->mae_num += sign * b->mae_num;
	a->mae_den += sign * b->mae_den;
	a->est_num += sign * b->est_num;
	a->est_den += sign * b->est_den;
	a->cov_num += sign * b->cov_num;
	a->cov_den += sign * b->cov_den;
}

/* Weights are whole events: sums kept by adding and subtracting can end a
 * hair above zero, which is no data. */
static double ratio_sum(double num, double den)
{
	return den > 0.5 ? num / den : NAN;
}

void sq_status_apply(struct sq_status *o, const struct sq_sums *s)
{
	o->events = (int64_t)llround(s->count);
	o->errors = (int64_t)llround(s->errors);
	o->accuracy = ratio_sum(s->acc_num, s->acc_den);
	o->mae = ratio_sum(s->mae_num, s->mae_den);
	o->est_accuracy = ratio_sum(s->est_num, s->est_den);
	o->label_coverage = ratio_sum(s->cov_num, s->cov_den);
}

struct current_rows {
	const struct models_by_id *by;
	struct sq_status *out;
	size_t n; /* SQS_FIRING: out[0..n) by name */
	double now;
};

static int last_win_row(struct db_stmt *s, void *arg)
{
	struct current_rows *c = arg;
	ptrdiff_t i = byid_find(c->by, s);
	struct sq_status *o;
	int64_t count, errors;
	double span;

	if (i < 0)
		return 0;
	o = &c->out[i];
	count = db_column_int64(s, 3);
	errors = db_column_int64(s, 4);
	o->win_start = db_column_int64(s, 1);
	o->win_end = db_column_int64(s, 2);
	/* A window still open is measured over the part that has passed. */
	span = (double)(o->win_end - o->win_start);
	if (c->now < (double)o->win_end && c->now > (double)o->win_start)
		span = c->now - (double)o->win_start;
	o->rps = ratio((double)count, span);
	o->error_rate = ratio((double)errors, (double)count);
	o->p50 = col_num(s, 5);
	o->p95 = col_num(s, 6);
	o->p99 = col_num(s, 7);
	return 0;
}

static int current_worst_row(struct db_stmt *s, void *arg)
{
	struct current_rows *c = arg;
	ptrdiff_t i = byid_find(c->by, s);

	/* rows come by model, the worst first */
	if (i >= 0 && isnan(c->out[i].worst_severity)) {
		copy_text(c->out[i].worst_feature, sizeof(c->out[i].worst_feature), s, 1);
		c->out[i].worst_severity = col_num(s, 2);
	}
	return 0;
}

static int firing_row(struct db_stmt *s, void *arg)
{
	struct current_rows *c = arg;
	const char *model = (const char *)db_column_text(s, 0);

	for (size_t i = 0; model && i < c->n; i++)
		if (strcmp(c->out[i].model.name, model) == 0) {
			c->out[i].firing = db_column_int(s, 1);
			c->out[i].pending = db_column_int(s, 2);
		}
	return 0;
}

int sq_status_current_all(struct sq *q, const struct sq_model *m, size_t n, double now, double from,
                          struct sq_status *out)
{
	struct models_by_id by;
	struct current_rows c = {&by, out, n, now};
	struct db_stmt *s;
	int rc = -1;

	for (size_t i = 0; i < n; i++) {
		struct sq_status *o = &out[i];
		memset(o, 0, sizeof(*o));
		o->model = m[i];
		o->rps = o->error_rate = o->p50 = o->p95 = o->p99 = NAN;
		o->accuracy = o->est_accuracy = o->label_coverage = o->mae = NAN;
		o->worst_severity = NAN;
	}
	if (!n)
		return 0;
	if (byid_init(&by, &m[0].id, sizeof(*m), n))
		return -1;
	if (!(s = prep(q, SQS_LAST_WIN)))
		goto out;
	db_bind_int64(s, 1, by.lo);
	db_bind_int64(s, 2, store_time_floor(now)); /* "end" <= ?2 */
	db_bind_int64(s, 3, by.hi);
	if (store_each_row(s, last_win_row, &c))
		goto out;
	if (!(s = prep(q, SQS_WORST_DRIFT)))
		goto out;
	db_bind_int64(s, 1, by.lo);
	db_bind_int64(s, 2, store_time_ceil(from)); /* start >= ?2 */
	db_bind_int64(s, 3, store_time_floor(now)); /* start <= ?3 */
	db_bind_int64(s, 4, by.hi);
	if (store_each_row(s, current_worst_row, &c))
		goto out;
	if (!(s = prep(q, SQS_FIRING)) || store_each_row(s, firing_row, &c))
		goto out;
	rc = 0;
out:
	byid_free(&by);
	return rc;
}

int sq_status_current(struct sq *q, const struct sq_model *m, double now, double from,
                      struct sq_status *o)
{
	return sq_status_current_all(q, m, 1, now, from, o);
}

int sq_status_one(struct sq *q, const struct sq_model *m, double now, double from,
                  struct sq_status *o)
{
	struct sq_sums sums;

	if (sq_status_current(q, m, now, from, o) ||
	    sq_range_sums(q, m->id, from, nextafter(now, INFINITY), &sums))
		return -1;
	sq_status_apply(o, &sums);
	return 0;
}

int sq_status(struct sq *q, double now, double from, struct sq_status **out, size_t *n)
{
	struct sq_model *models = NULL;
	struct sq_status *v = NULL;
	struct sq_sums *sums = NULL;
	size_t nm = 0;
	int rc = -1;

	*out = NULL;
	*n = 0;
	if (sq_models(q, &models, &nm))
		goto out;
	if (nm && (!(v = calloc(nm, sizeof(*v))) || !(sums = calloc(nm, sizeof(*sums)))))
		goto out;
	if (sq_status_current_all(q, models, nm, now, from, v) ||
	    sq_range_sums_all(q, models, nm, from, nextafter(now, INFINITY), sums))
		goto out;
	for (size_t i = 0; i < nm; i++)
		sq_status_apply(&v[i], &sums[i]);
	*out = v;
	*n = nm;
	v = NULL;
	rc = 0;
out:
	free(models);
	free(v);
	free(sums);
	return rc;
}

/* ---- live figures ------------------------------------------------------- */

/* The live figures summed so far; all: the merged latency sketch. */
struct live_rows {
	struct sq_live *o;
	double now;
	struct ddsketch *all;
};

static int live_row(struct db_stmt *s, void *ctx)
{
	struct live_rows *c = ctx;
	struct sq_live *o = c->o;
	double start = (double)db_column_int64(s, 0),
	       end = fmin((double)db_column_int64(s, 1), c->now);
	double passed = end - start, in_span = end - fmax(start, o->from), share;
	const void *blob = db_column_blob(s, 4);
	int len = db_column_bytes(s, 4);
	struct ddsketch *one = NULL;

	if (passed <= 0 || in_span <= 0)
		return 0;
	/* counts spread evenly over the part of the window that has passed */
	share = in_span / passed;
	o->events += (double)db_column_int64(s, 2) * share;
	o->errors += (double)db_column_int64(s, 3) * share;
	/* A sketch that does not decode leaves the quantiles to the others;
	 * the counts above do not depend on it. */
	if (!blob || len <= 0 || ddsketch_decode(blob, (size_t)len, &one) != 0)
		return 0;
	if (!c->all)
		c->all = one;
	else {
		ddsketch_merge(c->all, one);
		ddsketch_free(one);
	}
	return 0;
}

int sq_live(struct sq *q, int64_t model_id, double now, struct sq_live *o)
{
	static const double qs[3] = {0.5, 0.95, 0.99};
	struct live_rows c = {0};
	struct ddsketch *all = NULL;
	struct db_stmt *s;
	double v[3];
	int rc = -1;

	memset(o, 0, sizeof(*o));
	o->from = now - SQ_LIVE_SPAN;
	o->to = now;
	o->error_rate = o->p50 = o->p95 = o->p99 = NAN;
	s = prep(q, SQS_LIVE);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, store_time_floor(o->from)); /* "end" > ?2 */
	db_bind_int64(s, 3, store_time_ceil(now));      /* start < ?3 */
	c.o = o;
	c.now = now;
	rc = store_each_row(s, live_row, &c);
	all = c.all;
	if (rc != 0) {
		rc = -1;
		goto out;
	}
	o->rps = o->events / SQ_LIVE_SPAN;
	o->error_rate = ratio(o->errors, o->events);
	if (all && ddsketch_count(all) > 0 && ddsketch_quantiles(all, qs, 3, v) == 0) {
		o->p50 = v[0];
		o->p95 = v[1];
		o->p99 = v[2];
	}
out:
	ddsketch_free(all);
	return rc;
}

/* ---- latency ------------------------------------------------------------ */

static void bind_range(struct db_stmt *s, int64_t model_id, double from, double to)
{
	db_bind_int64(s, 1, model_id);
	db_bind_double(s, 2, from);
	db_bind_double(s, 3, to);
}

/* ?1 the model, ?2 and ?3 bounds of an integer window start:
 * start >= ?2 AND start < ?3 (see store_time_ceil). */
static void bind_start_range(struct db_stmt *s, int64_t model_id, double from, double to)
{
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, store_time_ceil(from));
	db_bind_int64(s, 3, store_time_ceil(to));
}

/* Prepares a bucketed range query: ?1..?3 as bind_start_range, ?4 the bucket
 * width, raised to at least 1 second in *bucket. NULL on failure. */
static struct db_stmt *prep_buckets(struct sq *q, enum sq_stmt_id id, int64_t model_id, double from,
                                    double to, int64_t *bucket)
{
	struct db_stmt *s = prep(q, id);

	if (!s)
		return NULL;
	if (*bucket < 1)
		*bucket = 1;
	bind_start_range(s, model_id, from, to);
	db_bind_int64(s, 4, *bucket);
	if (id == SQS_LATENCY_BUCKETS || id == SQS_DRIFT_CELLS || id == SQS_LLM_RANGE) {
		struct tier_plan p;
		/* the LLM figures are merged sketches: hours are enough */
		tier_plan(q, from, to, id == SQS_LLM_RANGE ? ROLLUP_HOUR : *bucket, &p);
		db_bind_int64(s, 5, p.h0);
		db_bind_int64(s, 6, p.h1);
		db_bind_int64(s, 7, q->window_s);
		if (id != SQS_LLM_RANGE) {
			db_bind_int64(s, 8, p.d0);
			db_bind_int64(s, 9, p.d1);
		}
	}
	return s;
}

/* Decodes the sketch blob in column col (NULL when absent or unreadable)
 * and its p50/p90/p99 (NAN when none). */
static struct ddsketch *col_sketch(struct db_stmt *s, int col, double *p50, double *p90,
                                   double *p99)
{
	static const double qs[] = {0.5, 0.9, 0.99};
	struct ddsketch *sk = NULL;
	double v[3];

	*p50 = *p90 = *p99 = NAN;
	if (db_column_type(s, col) != DB_BLOB ||
	    ddsketch_decode(db_column_blob(s, col), (size_t)db_column_bytes(s, col), &sk) != 0)
		return NULL;
	if (ddsketch_count(sk) > 0 && ddsketch_quantiles(sk, qs, 3, v) == 0) {
		*p50 = v[0];
		*p90 = v[1];
		*p99 = v[2];
	}
	return sk;
}

/* The caller's callback and the row handed to it, reused row after row
 * (no allocation per row); bucket: the bucket width of sq_latency_buckets. */
struct latency_rows {
	int (*fn)(const struct sq_latency *, void *);
	void *arg;
	int64_t bucket;
	struct sq_latency r;
};

/* The figures of a latency row or bucket, count .. mean, from column c on
 * (the two queries differ only in where they start), and its error rate. */
static void read_latency(struct db_stmt *s, int c, struct sq_latency *r)
{
	r->count = db_column_int64(s, c);
	r->errors = db_column_int64(s, c + 1);
	r->provisional = db_column_int(s, c + 2) != 0;
	r->p50 = col_num(s, c + 3);
	r->p90 = col_num(s, c + 4);
	r->p95 = col_num(s, c + 5);
	r->p99 = col_num(s, c + 6);
	r->p999 = col_num(s, c + 7);
	r->max = col_num(s, c + 8);
	r->mean = col_num(s, c + 9);
	r->error_rate = ratio((double)r->errors, (double)r->count);
}

static int latency_row(struct db_stmt *s, void *ctx)
{
	struct latency_rows *c = ctx;
	struct sq_latency *r = &c->r;
	int stop;

	r->start = db_column_int64(s, 0);
	r->end = db_column_int64(s, 1);
	read_latency(s, 2, r);
	r->rps = ratio((double)r->count, (double)(r->end - r->start));
	r->llm = db_column_int64(s, 12);
	r->input_tokens = db_column_int64(s, 13);
	r->output_tokens = db_column_int64(s, 14);
	struct ddsketch *ttft = col_sketch(s, 15, &r->ttft_p50, &r->ttft_p90, &r->ttft_p99);
	struct ddsketch *tpot = col_sketch(s, 16, &r->tpot_p50, &r->tpot_p90, &r->tpot_p99);
	r->ttft = ttft;
	r->tpot = tpot;
	r->finish = (const char *)db_column_text(s, 17);
	stop = c->fn(r, c->arg);
	/* The sketches live for the callback only. */
	r->ttft = r->tpot = NULL;
	ddsketch_free(ttft);
	ddsketch_free(tpot);
	return stop;
}

int sq_latency_each(struct sq *q, int64_t model_id, double from, double to,
                    int (*fn)(const struct sq_latency *, void *), void *arg)
{
	struct db_stmt *s = prep(q, SQS_LATENCY);
	struct latency_rows c = {.fn = fn, .arg = arg};

	if (!s)
		return -1;
	bind_start_range(s, model_id, from, to);
	return store_each_row(s, latency_row, &c);
}

int sq_llm_each(struct sq *q, int64_t model_id, double from, double to,
                int (*fn)(const struct sq_latency *, void *), void *arg)
{
	int64_t bucket = ROLLUP_HOUR;
	struct db_stmt *s = prep_buckets(q, SQS_LLM_RANGE, model_id, from, to, &bucket);
	struct latency_rows c = {.fn = fn, .arg = arg};

	if (!s)
		return -1;
	return store_each_row(s, latency_row, &c);
}

static int latency_bucket_row(struct db_stmt *s, void *ctx)
{
	struct latency_rows *c = ctx;
	struct sq_latency *r = &c->r;

	r->start = db_column_int64(s, 0);
	r->end = r->start + c->bucket;
	read_latency(s, 1, r);
	r->rps = ratio((double)r->count, db_column_double(s, 11));
	return c->fn(r, c->arg);
}

int sq_latency_buckets(struct sq *q, int64_t model_id, double from, double to, int64_t bucket,
                       int (*fn)(const struct sq_latency *, void *), void *arg)
{
	struct db_stmt *s = prep_buckets(q, SQS_LATENCY_BUCKETS, model_id, from, to, &bucket);
	/* Buckets carry no LLM figures (see sq_latency_each). */
	struct latency_rows c = {.fn = fn,
	                         .arg = arg,
	                         .r = {.ttft_p50 = NAN,
	                               .ttft_p90 = NAN,
	                               .ttft_p99 = NAN,
	                               .tpot_p50 = NAN,
	                               .tpot_p90 = NAN,
	                               .tpot_p99 = NAN}};

	if (!s)
		return -1;
	c.bucket = bucket;
	return store_each_row(s, latency_bucket_row, &c);
}

/* ---- drift -------------------------------------------------------------- */

void sq_drift_read(struct db_stmt *s, struct sq_drift *d)
{
	d->start = db_column_int64(s, 0);
	d->end = db_column_int64(s, 1);
	d->provisional = db_column_int(s, 2) != 0;
	d->feature = col_text(s, 3);
	if (!d->feature)
		d->feature = "";
	d->kind = db_column_int(s, 4);
	d->n = db_column_int64(s, 5);
	d->n_ref = db_column_int64(s, 6);
	d->missing_rate = col_num(s, 7);
	d->type_error_rate = col_num(s, 8);
	d->out_of_range_rate = col_num(s, 9);
	d->new_category_rate = col_num(s, 10);
	d->ks = col_num(s, 11);
	d->ks_p = col_num(s, 12);
	d->wasserstein = col_num(s, 13);
	d->psi = col_num(s, 14);
	d->js = col_num(s, 15);
	d->chi2 = col_num(s, 16);
	d->chi2_p = col_num(s, 17);
	d->method = col_text(s, 18);
	if (!d->method)
		d->method = "";
	d->score = col_num(s, 19);
	d->threshold = col_num(s, 20);
	d->severity = col_num(s, 21);
	d->drifted = db_column_type(s, 22) == DB_NULL ? -1 : db_column_int(s, 22) != 0;
	d->insufficient = db_column_int(s, 23) != 0;
	d->cur_hist = col_text(s, 24);
	d->stats = col_text(s, 25);
}

/* The caller's callback, and the rows handed to it (for SQ_NOTFOUND). */
struct drift_rows {
	int (*fn)(const struct sq_drift *, void *);
	void *arg;
	int rows;
};

static int drift_row(struct db_stmt *s, void *ctx)
{
	struct drift_rows *c = ctx;
	struct sq_drift d;

	sq_drift_read(s, &d);
	c->rows++;
	return c->fn(&d, c->arg);
}

int sq_drift_each(struct sq *q, int64_t model_id, double from, double to, const char *feature,
                  int (*fn)(const struct sq_drift *, void *), void *arg)
{
	struct db_stmt *s = prep(q, feature ? SQS_DRIFT_FEATURE : SQS_DRIFT);

	if (!s)
		return -1;
	bind_start_range(s, model_id, from, to);
	if (feature)
		db_bind_text(s, 4, feature, -1);
	db_bind_int64(s, 9, q->window_s);
	return store_each_row(s, drift_row, &(struct drift_rows){.fn = fn, .arg = arg});
}

struct worst {
	bool found;
	int64_t start;
	double key;
};

static int worst_row(struct db_stmt *s, void *arg)
{
	struct worst *w = arg;
	int64_t at = db_column_int64(s, 0);
	double key = db_column_double(s, 1);

	/* as SQS_DRIFT_WORST_IN orders: severity (none = -1), then latest */
	if (!w->found || key > w->key || (key == w->key && at > w->start)) {
		w->found = true;
		w->start = at;
		w->key = key;
	}
	return 0;
}

static int minute_worst(struct sq *q, int64_t model_id, const char *feature, int64_t from,
                        double to, struct worst *w)
{
	struct db_stmt *s;

	if (!((double)from < to))
		return 0;
	if (!(s = prep(q, SQS_MINUTE_WORST)))
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, from);
	db_bind_int64(s, 3, store_time_ceil(to)); /* start < ?3, an integer */
	db_bind_text(s, 4, feature, -1);
	return store_each_row(s, worst_row, w);
}

int sq_drift_worst_in(struct sq *q, int64_t model_id, const char *feature, double from, double to,
                      int (*fn)(const struct sq_drift *, void *), void *arg)
{
	struct db_stmt *s;
	struct drift_rows c = {.fn = fn, .arg = arg};
	struct tier_plan p;
	int64_t tier = ROLLUP_HOUR, a, cut;
	int rc;

	/* Over complete hours the tier knows each hour's worst minute: the
	 * candidates are those and the worst minutes at the edges, and only
	 * the winner's row is read (a heatmap cell of a month is 43,200
	 * drift rows per feature otherwise). */
	tier_plan(q, from, to, ROLLUP_HOUR, &p);
	a = p.h0;
	cut = p.h1;
	if (cut > a) {
		struct worst w = {0};
		if (!(s = prep(q, SQS_TIER_WORST)))
			return -1;
		db_bind_int64(s, 1, model_id);
		db_bind_int64(s, 2, a);
		db_bind_int64(s, 3, cut);
		db_bind_int64(s, 4, tier);
		db_bind_text(s, 5, feature, -1);
		if (store_each_row(s, worst_row, &w) ||
		    minute_worst(q, model_id, feature, (int64_t)ceil(from), (double)a, &w) ||
		    minute_worst(q, model_id, feature, cut, to, &w))
			return -1;
		if (!w.found)
			return SQ_NOTFOUND;
		from = (double)w.start;
		to = from + 1;
	}
	if (!(s = prep(q, SQS_DRIFT_WORST_IN)))
		return -1;
	bind_start_range(s, model_id, from, to);
	db_bind_text(s, 4, feature, -1);
	db_bind_int64(s, 9, q->window_s);
	rc = store_each_row(s, drift_row, &c);
	return rc ? rc : c.rows ? 0 : SQ_NOTFOUND;
}

struct cell_rows {
	int (*fn)(const struct sq_drift_cell *, void *);
	void *arg;
};

static int cell_row(struct db_stmt *s, void *ctx)
{
	struct cell_rows *cr = ctx;
	struct sq_drift_cell c;

	c.feature = col_text(s, 0);
	if (!c.feature)
		c.feature = "";
	c.kind = db_column_int(s, 1);
	c.bucket_start = db_column_int64(s, 2);
	c.severity = col_num(s, 3);
	c.drifted = db_column_int(s, 4);
	c.windows = db_column_int(s, 5);
	return cr->fn(&c, cr->arg);
}

int sq_drift_cells(struct sq *q, int64_t model_id, double from, double to, int64_t bucket,
                   int (*fn)(const struct sq_drift_cell *, void *), void *arg)
{
	struct db_stmt *s = prep_buckets(q, SQS_DRIFT_CELLS, model_id, from, to, &bucket);

	if (!s)
		return -1;
	return store_each_row(s, cell_row, &(struct cell_rows){.fn = fn, .arg = arg});
}

int sq_reference_hist(struct sq *q, int64_t model_id, const char *feature, int *kind, int64_t *n,
                      char **hist)
{
	struct db_stmt *s = prep(q, SQS_REF_HIST);
	const char *t;
	int rc;

	*hist = NULL;
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, feature, -1);
	rc = db_step(s);
	if (rc == DB_ROW) {
		*kind = db_column_int(s, 0);
		*n = db_column_int64(s, 1);
		t = col_text(s, 2);
		if (t && !(*hist = strdup(t)))
			rc = DB_NOMEM;
	}
	db_reset(s);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? SQ_NOTFOUND : -1;
}

static const cJSON *first_of(const cJSON *o, const char *const *names)
{
	for (; *names; names++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, *names);
		if (v)
			return v;
	}
	return NULL;
}

static void fmt_edge(char *buf, size_t cap, const char *op, double v)
{
	snprintf(buf, cap, "%s%.4g", op, v);
}

int sq_hist_parse(const char *json, struct sq_hist *h)
{
	static const char *const count_keys[] = {"counts", "props", "proportions", NULL};
	static const char *const label_keys[] = {"cells", "labels", "categories", NULL};
	const cJSON *counts, *labels, *edges, *it;
	cJSON *root;
	int rc = -1, i;

	memset(h, 0, sizeof(*h));
	if (!json)
		return -1;
	root = cJSON_Parse(json);
	if (!cJSON_IsObject(root))
		goto out;
	counts = first_of(root, count_keys);
	if (cJSON_IsArray(counts)) {
		labels = first_of(root, label_keys);
		edges = cJSON_GetObjectItemCaseSensitive(root, "edges");
		i = 0;
		cJSON_ArrayForEach(it, counts)
		{
			if (i >= SQ_HIST_MAX || !cJSON_IsNumber(it) || !(it->valuedouble >= 0))
				goto out;
			h->count[i++] = it->valuedouble;
		}
		h->n = i;
		if (cJSON_IsArray(labels)) {
			for (i = 0; i < h->n; i++) {
				const cJSON *l = cJSON_GetArrayItem(labels, i);
				snprintf(h->label[i], sizeof(h->label[i]), "%s",
				         cJSON_IsString(l) ? l->valuestring : "?");
			}
		} else if (cJSON_IsArray(edges) && cJSON_GetArraySize(edges) == h->n - 1) {
			for (i = 0; i < h->n; i++) {
				const cJSON *e =
				    cJSON_GetArrayItem(edges, i < h->n - 1 ? i : i - 1);
				double v = cJSON_IsNumber(e) ? e->valuedouble : NAN;
				fmt_edge(h->label[i], sizeof(h->label[i]),
				         i < h->n - 1 ? "<=" : ">", v);
			}
		} else {
			for (i = 0; i < h->n; i++)
				snprintf(h->label[i], sizeof(h->label[i]), "bin %d", i + 1);
		}
	} else {
		/* {"DE": 12, "US": 30}: categories and their counts. */
		i = 0;
		cJSON_ArrayForEach(it, root)
		{
			if (i >= SQ_HIST_MAX || !cJSON_IsNumber(it) || !(it->valuedouble >= 0))
				goto out;
			snprintf(h->label[i], sizeof(h->label[i]), "%s", it->string);
			h->count[i++] = it->valuedouble;
		}
		h->n = i;
		if (i == 0)
			goto out;
	}
	for (i = 0; i < h->n; i++)
		h->total += h->count[i];
	for (i = 0; i < h->n; i++)
		h->prop[i] = h->total > 0 ? h->count[i] / h->total : 0;
	rc = 0;
out:
	cJSON_Delete(root);
	if (rc)
		memset(h, 0, sizeof(*h));
	return rc;
}

/* ---- accuracy ----------------------------------------------------------- */

/* The figures of an accuracy row or bucket, labelled .. provisional, from
 * column c on: the two queries differ only in where they start. */
static void read_accuracy(struct db_stmt *s, int c, struct sq_accuracy *a)
{
	a->labelled = db_column_int64(s, c);
	a->count = db_column_int64(s, c + 1);
	a->accuracy = col_num(s, c + 2);
	a->macro_f1 = col_num(s, c + 3);
	a->mae = col_num(s, c + 4);
	a->rmse = col_num(s, c + 5);
	a->est_accuracy = col_num(s, c + 6);
	a->est_low = col_num(s, c + 7);
	a->est_high = col_num(s, c + 8);
	a->label_coverage = col_num(s, c + 9);
	a->provisional = db_column_int(s, c + 10) != 0;
}

/* The caller's callback; bucket: the width of sq_accuracy_buckets. */
struct accuracy_rows {
	int (*fn)(const struct sq_accuracy *, void *);
	void *arg;
	int64_t bucket;
};

static int accuracy_row(struct db_stmt *s, void *ctx)
{
	struct accuracy_rows *c = ctx;
	struct sq_accuracy a;

	a.start = db_column_int64(s, 0);
	a.end = db_column_int64(s, 1);
	read_accuracy(s, 2, &a);
	return c->fn(&a, c->arg);
}

int sq_accuracy_each(struct sq *q, int64_t model_id, double from, double to,
                     int (*fn)(const struct sq_accuracy *, void *), void *arg)
{
	struct db_stmt *s = prep(q, SQS_ACCURACY);

	if (!s)
		return -1;
	bind_start_range(s, model_id, from, to);
	db_bind_int64(s, 4, q->window_s);
	return store_each_row(s, accuracy_row, &(struct accuracy_rows){.fn = fn, .arg = arg});
}

static int accuracy_bucket_row(struct db_stmt *s, void *ctx)
{
	struct accuracy_rows *c = ctx;
	struct sq_accuracy a;

	a.start = db_column_int64(s, 0);
	a.end = a.start + c->bucket;
	read_accuracy(s, 1, &a);
	return c->fn(&a, c->arg);
}

int sq_accuracy_buckets(struct sq *q, int64_t model_id, double from, double to, int64_t bucket,
                        int (*fn)(const struct sq_accuracy *, void *), void *arg)
{
	struct db_stmt *s = prep_buckets(q, SQS_ACCURACY_BUCKETS, model_id, from, to, &bucket);

	if (!s)
		return -1;
	return store_each_row(s, accuracy_bucket_row,
	                      &(struct accuracy_rows){.fn = fn, .arg = arg, .bucket = bucket});
}

struct concept_rows {
	int (*fn)(const struct sq_concept *, void *);
	void *arg;
};

static int concept_row(struct db_stmt *s, void *ctx)
{
	struct concept_rows *cr = ctx;
	struct sq_concept c;

	c.id = db_column_int64(s, 0);
	c.ts = db_column_double(s, 1);
	c.window_start = db_column_int64(s, 2);
	c.detector = col_text(s, 3);
	c.detail = col_text(s, 4);
	if (!c.detector)
		c.detector = "";
	if (!c.detail)
		c.detail = "";
	return cr->fn(&c, cr->arg);
}

int sq_concept_each(struct sq *q, int64_t model_id, double from, double to,
                    int (*fn)(const struct sq_concept *, void *), void *arg)
{
	struct db_stmt *s = prep(q, SQS_CONCEPT);

	if (!s)
		return -1;
	bind_range(s, model_id, from, to);
	return store_each_row(s, concept_row, &(struct concept_rows){.fn = fn, .arg = arg});
}

/* ---- alerts ------------------------------------------------------------- */

/* The caller's callback, and the rows handed to it (for SQ_NOTFOUND). */
struct alert_rows {
	int (*fn)(const struct sq_alert *, void *);
	void *arg;
	int rows;
};

static int alert_row(struct db_stmt *s, void *ctx)
{
	struct alert_rows *c = ctx;
	struct sq_alert a;
	const char *f;

	a.id = db_column_int64(s, 0);
	a.rule = col_text(s, 1);
	a.model = col_text(s, 2);
	f = col_text(s, 3);
	a.feature = f && *f ? f : NULL;
	a.state = col_text(s, 4);
	a.severity = col_text(s, 5);
	a.summary = col_text(s, 6);
	if (!a.rule)
		a.rule = "";
	if (!a.model)
		a.model = "";
	if (!a.state)
		a.state = "";
	if (!a.severity)
		a.severity = "";
	if (!a.summary)
		a.summary = "";
	a.value = col_num(s, 7);
	a.threshold = col_num(s, 8);
	a.active_at = col_num(s, 9);
	a.fired_at = col_num(s, 10);
	a.resolved_at = col_num(s, 11);
	a.acked = db_column_int(s, 13) != 0;
	a.silenced = db_column_int(s, 14) != 0;
	a.nodata = db_column_type(s, 15) != DB_NULL &&
	           (strcmp(a.state, "firing") == 0 || strcmp(a.state, "pending") == 0);
	if (strcmp(a.state, "firing") == 0 && !isnan(a.fired_at))
		a.since = a.fired_at;
	else if (strcmp(a.state, "resolved") == 0 && !isnan(a.resolved_at))
		a.since = a.resolved_at;
	else if (strcmp(a.state, "pending") == 0 || strcmp(a.state, "firing") == 0)
		a.since = a.active_at;
	else
		a.since = col_num(s, 12);
	c->rows++;
	return c->fn(&a, c->arg);
}

int sq_alerts_each(struct sq *q, bool all, double now, int (*fn)(const struct sq_alert *, void *),
                   void *arg)
{
	struct db_stmt *s = prep(q, all ? SQS_ALERTS_ALL : SQS_ALERTS);

	if (!s)
		return -1;
	db_bind_double(s, 1, now);
	return store_each_row(s, alert_row, &(struct alert_rows){.fn = fn, .arg = arg});
}

int sq_alert_get(struct sq *q, int64_t id, double now, int (*fn)(const struct sq_alert *, void *),
                 void *arg)
{
	struct db_stmt *s = prep(q, SQS_ALERT_GET);
	struct alert_rows c = {.fn = fn, .arg = arg};
	int rc;

	if (!s)
		return -1;
	db_bind_double(s, 1, now);
	db_bind_int64(s, 2, id);
	rc = store_each_row(s, alert_row, &c);
	return rc ? rc : c.rows ? 0 : SQ_NOTFOUND;
}

int sq_ack(struct sq *q, int64_t id, double now)
{
	struct db_stmt *s = prep(q, SQS_ACK);
	int rc;

	if (!s)
		return -1;
	db_bind_int64(s, 1, id);
	db_bind_double(s, 2, now);
	rc = db_step(s);
	db_reset(s);
	if (rc != DB_DONE)
		return -1;
	return db_changes(q->st->db) > 0 ? 0 : SQ_NOTFOUND;
}

int sq_silence_add(struct sq *q, const char *rule, const char *model, double now, double ends,
                   const char *comment, int64_t *id)
{
	struct db_stmt *s = prep(q, SQS_SILENCE);
	int rc;

	if (!s)
		return -1;
	db_bind_text(s, 1, rule, -1);
	if (model)
		db_bind_text(s, 2, model, -1);
	db_bind_double(s, 3, now);
	db_bind_double(s, 4, ends);
	if (comment)
		db_bind_text(s, 5, comment, -1);
	rc = db_insert_id(s, id);
	if (rc != DB_OK)
		return -1;
	return 0;
}

/* ---- raw events --------------------------------------------------------- */

static enum sq_value_type value_at(struct db_stmt *s, int num_col, int str_col, double *num,
                                   const char **str)
{
	*num = NAN;
	*str = NULL;
	if (db_column_type(s, str_col) != DB_NULL) {
		*str = col_text(s, str_col);
		return SQV_STR;
	}
	if (db_column_type(s, num_col) != DB_NULL) {
		*num = db_column_double(s, num_col);
		return SQV_NUM;
	}
	return SQV_NULL;
}

struct event_rows {
	struct sq *q;
	int (*fn)(const struct sq_event *, void *);
	void *arg;
	struct featcodec_error err;
};

/* The features as JSON text: the blob (features_bin) rendered, or the text
 * of a row stored before the blob, as it is. */
static void event_features(struct event_rows *c, struct db_stmt *s, struct sq_event *e)
{
	struct jsonw *w = &c->q->feat;
	int rc;

	if (db_column_type(s, 14) == DB_NULL) {
		e->features = col_text(s, 6);
		return;
	}
	jsonw_reset(w);
	rc = featcodec_to_json(db_column_blob(s, 14), (size_t)db_column_bytes(s, 14), w, &c->err);
	if (rc == 0) {
		e->features = w->buf;
		return;
	}
	e->features_bad = true;
	e->features_err = rc == -ENOMEM ? "out of memory" : c->err.msg;
}

static int event_row(struct db_stmt *s, void *ctx)
{
	struct event_rows *c = ctx;
	struct sq_event e;

	memset(&e, 0, sizeof(e));
	e.id = db_column_int64(s, 0);
	e.req_id = col_text(s, 1);
	e.ts = db_column_double(s, 2);
	e.latency_ms = col_num(s, 3);
	e.error = db_column_int(s, 4) != 0;
	e.version = col_text(s, 5);
	event_features(c, s, &e);
	e.pred_type = value_at(s, 7, 8, &e.pred_num, &e.pred_str);
	e.score = col_num(s, 9);
	e.scores = col_text(s, 10);
	e.label_type = value_at(s, 11, 12, &e.label_num, &e.label_str);
	e.label_ts = col_num(s, 13);
	return c->fn(&e, c->arg);
}

int sq_events_each(struct sq *q, int64_t model_id, double from, double to,
                   int (*fn)(const struct sq_event *, void *), void *arg)
{
	struct db_stmt *s = prep(q, SQS_EVENTS);

	if (!s)
		return -1;
	bind_range(s, model_id, from, to); /* ts, a real */
	/* The window of an event starts at most one window before its ts
	 * (window_start, an integer: see store_time_ceil). */
	db_bind_int64(s, 4, store_time_ceil(from - (double)q->window_s));
	db_bind_int64(s, 5, store_time_ceil(to));
	return store_each_row(s, event_row, &(struct event_rows){.q = q, .fn = fn, .arg = arg});
}

struct feature_rows {
	int (*fn)(const char *name, int kind, void *arg);
	void *arg;
};

static int feature_row(struct db_stmt *s, void *ctx)
{
	struct feature_rows *c = ctx;
	const char *name = col_text(s, 0);

	return c->fn(name ? name : "", db_column_int(s, 1), c->arg);
}

int sq_features_each(struct sq *q, int64_t model_id,
                     int (*fn)(const char *name, int kind, void *arg), void *arg)
{
	struct db_stmt *s = prep(q, SQS_FEATURES);

	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	return store_each_row(s, feature_row, &(struct feature_rows){.fn = fn, .arg = arg});
}

/* ---- silences, rule names and model removal ------------------------------
 * One-shot statements of the `mlwatch silences|unsilence|models rm`
 * commands: prepared per call rather than cached, as each runs once per
 * process. */

static int one_shot(struct sq *q, const char *text, struct db_stmt **s)
{
	return db_prepare(q->st->db, text, s) == DB_OK ? 0 : -1;
}

struct silence_rows {
	int (*fn)(const struct sq_silence *, void *);
	void *arg;
	double now;
};

static int silence_row(struct db_stmt *s, void *ctx)
{
	struct silence_rows *c = ctx;
	struct sq_silence v;

	v.id = db_column_int64(s, 0);
	v.rule = col_text(s, 1);
	v.model = col_text(s, 2);
	v.created = db_column_double(s, 3);
	v.ends = db_column_double(s, 4);
	v.comment = col_text(s, 5);
	v.active = v.ends > c->now;
	if (!v.rule)
		v.rule = "";
	return c->fn(&v, c->arg);
}

int sq_silences_each(struct sq *q, bool all, double now,
                     int (*fn)(const struct sq_silence *, void *), void *arg)
{
	struct db_stmt *s = NULL;
	int rc;

	if (one_shot(q,
	             "SELECT id, rule, model, created, ends, comment FROM silences "
	             "WHERE ?2 OR ends > ?1 ORDER BY ends > ?1 DESC, id",
	             &s))
		return -1;
	db_bind_double(s, 1, now);
	db_bind_int(s, 2, all ? 1 : 0);
	rc = store_each_row(s, silence_row,
	                    &(struct silence_rows){.fn = fn, .arg = arg, .now = now});
	db_finalize(s);
	return rc;
}

int sq_silence_end(struct sq *q, int64_t id, double now)
{
	struct db_stmt *s = NULL;
	int rc;

	/* Ended, not deleted: mlwatchd sees the silence end as if it had run
	 * out (a firing alert's owed notice goes out) and the history stays. */
	if (one_shot(q, "UPDATE silences SET ends = ?2 WHERE id = ?1 AND ends > ?2", &s))
		return -1;
	db_bind_int64(s, 1, id);
	db_bind_double(s, 2, now);
	rc = db_step(s);
	db_finalize(s);
	if (rc != DB_DONE)
		return -1;
	return db_changes(q->st->db) > 0 ? 0 : SQ_NOTFOUND;
}

struct rule_rows {
	int (*fn)(const char *rule, void *);
	void *arg;
};

static int rule_row(struct db_stmt *s, void *ctx)
{
	struct rule_rows *c = ctx;
	const char *r = col_text(s, 0);

	return r ? c->fn(r, c->arg) : 0;
}

int sq_rules_each(struct sq *q, int (*fn)(const char *rule, void *), void *arg)
{
	struct db_stmt *s = NULL;
	int rc;

	if (one_shot(q, "SELECT DISTINCT rule FROM alerts ORDER BY rule", &s))
		return -1;
	rc = store_each_row(s, rule_row, &(struct rule_rows){.fn = fn, .arg = arg});
	db_finalize(s);
	return rc;
}

int sq_model_rm(struct sq *q, int64_t model_id, const char *name)
{
	/* Every table keyed by the model, then the model itself; alerts and
	 * silences name the model, the rest carry its id. */
	static const char *const by_id[] = {
	    "DELETE FROM events WHERE model_id = ?1",
	    "DELETE FROM pending_labels WHERE model_id = ?1",
	    "DELETE FROM windows WHERE model_id = ?1",
	    "DELETE FROM window_features WHERE model_id = ?1",
	    "DELETE FROM drift WHERE model_id = ?1",
	    "DELETE FROM accuracy WHERE model_id = ?1",
	    "DELETE FROM fairness WHERE model_id = ?1",
	    "DELETE FROM segment_reference WHERE model_id = ?1",
	    "DELETE FROM segment_drift WHERE model_id = ?1",
	    "DELETE FROM segment_windows WHERE model_id = ?1",
	    "DELETE FROM window_llm WHERE model_id = ?1",
	    "DELETE FROM tiers WHERE model_id = ?1",
	    "DELETE FROM tier_features WHERE model_id = ?1",
	    "DELETE FROM tier_samples WHERE model_id = ?1",
	    "DELETE FROM tier_fairness WHERE model_id = ?1",
	    "DELETE FROM reference WHERE model_id = ?1",
	    "DELETE FROM calibration WHERE model_id = ?1",
	    "DELETE FROM concept_state WHERE model_id = ?1",
	    "DELETE FROM concept_events WHERE model_id = ?1",
	    "DELETE FROM features WHERE model_id = ?1",
	    "DELETE FROM outbox WHERE alert_id IN (SELECT id FROM alerts WHERE model = ?2)",
	    "DELETE FROM alerts WHERE model = ?2",
	    "DELETE FROM silences WHERE model = ?2",
	    "DELETE FROM models WHERE id = ?1",
	};
	struct db_stmt *s = NULL;

	if (store_begin(q->st))
		return -1;
	for (size_t i = 0; i < sizeof(by_id) / sizeof(by_id[0]); i++) {
		int rc;
		if (one_shot(q, by_id[i], &s))
			goto fail;
		if (db_param_count(s) >= 1)
			db_bind_int64(s, 1, model_id);
		if (db_param_count(s) >= 2)
			db_bind_text(s, 2, name, -1);
		rc = db_step(s);
		db_finalize(s);
		if (rc != DB_DONE)
			goto fail;
	}
	if (store_commit(q->st))
		goto fail;
	return 0;
fail:
	store_rollback(q->st);
	return -1;
}

int sq_evaluator(struct sq *q, struct sq_evaluator *out)
{
	struct db_stmt *s = NULL;
	int rc = -1, step;

	memset(out, 0, sizeof(*out));
	if (db_engine(q->st->db) != DB_POSTGRES)
		return 0;
	/* the election creates the table: none yet is no evaluator, not an
	 * error (an error would abort the reader's transaction) */
	if (db_prepare(q->st->db,
	               "SELECT CASE WHEN to_regclass('leader') IS NULL THEN 0 ELSE 1 END",
	               &s) != DB_OK ||
	    db_step(s) != DB_ROW)
		goto out;
	if (db_column_int(s, 0) == 0) {
		rc = 0;
		goto out;
	}
	db_finalize(s);
	s = NULL;
	if (db_prepare(q->st->db,
	               "SELECT node, epoch, extract(epoch FROM since)::float8, "
	               "extract(epoch FROM heartbeat)::float8 FROM leader WHERE id = 1",
	               &s) != DB_OK)
		goto out;
	step = db_step(s);
	if (step == DB_ROW) {
		const unsigned char *node = db_column_text(s, 0);
		snprintf(out->node, sizeof(out->node), "%s", node ? (const char *)node : "");
		out->epoch = db_column_int64(s, 1);
		out->since = db_column_double(s, 2);
		out->heartbeat = db_column_double(s, 3);
		out->known = true;
	}
	rc = step == DB_ROW || step == DB_DONE ? 0 : -1;
out:
	db_finalize(s);
	return rc;
}
