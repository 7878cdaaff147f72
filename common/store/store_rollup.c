/* store_rollup: see store_rollup.h. */
#include "store_rollup.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddsketch.h"
#include "drift.h"
#include "sample.h"

enum {
	R_DEL_T,
	R_DEL_F,
	R_DEL_FAIR,
	R_DEL_S,
	R_MIN_CHILD,
	R_HOUR_CHILD,
	R_MIN_FEAT,
	R_HOUR_FEAT,
	R_INS_T,
	R_INS_F,
	R_INS_S,
	R_FAIR_MIN,
	R_FAIR_HOUR,
	R_REF_STAMP,
	R_REF,
	R_CHANGED,
	R_CHANGED_INCL,
	R_RET_T,
	R_RET_F,
	R_RET_FAIR,
	R_RET_S,
	R_DIRTY,
	R_COUNT
};

/* The children of a tier row, in the same columns whichever tier they are:
 * minutes computed from windows + accuracy + window_llm, hours as stored. */
#define CHILD_COLS_MIN                                                                        \
	"SELECT 1, w.count, w.errors, w.sampled, w.labelled, w.latency_sketch, "              \
	"coalesce(a.accuracy * a.labelled, 0), "                                              \
	"coalesce(CASE WHEN a.accuracy IS NOT NULL THEN a.labelled END, 0), "                 \
	"coalesce(a.mae * a.labelled, 0), "                                                   \
	"coalesce(CASE WHEN a.mae IS NOT NULL THEN a.labelled END, 0), "                      \
	"coalesce(a.est_accuracy * max(w.count, 1), 0), "                                     \
	"coalesce(CASE WHEN a.est_accuracy IS NOT NULL THEN max(w.count, 1) END, 0), "        \
	"coalesce(a.label_coverage * max(w.count, 1), 0), "                                   \
	"coalesce(CASE WHEN a.label_coverage IS NOT NULL THEN max(w.count, 1) END, 0), "      \
	"coalesce(l.llm, 0), coalesce(l.input_tokens, 0), coalesce(l.output_tokens, 0), "     \
	"l.ttft_sketch, l.tpot_sketch, CASE WHEN l.llm > 0 THEN 1 ELSE 0 END FROM windows w " \
	"LEFT JOIN accuracy a ON a.model_id = w.model_id AND a.start = w.start "              \
	"LEFT JOIN window_llm l ON l.model_id = w.model_id AND l.start = w.start "            \
	"WHERE w.model_id = ?1 AND w.start >= ?2 AND w.start < ?3"

#define FAIR_COLS                                                                                 \
	"attribute, grp, sum(n), sum(positives), sum(labelled), sum(correct), sum(tp), sum(fp), " \
	"sum(tn), sum(fn)"

static const char *const sql[R_COUNT] = {
    [R_DIRTY] = "SELECT coalesce(min(start), -1) FROM windows WHERE dirty = 1",
    [R_DEL_T] = "DELETE FROM tiers WHERE model_id = ?1 AND tier = ?2 AND start = ?3",
    [R_DEL_F] = "DELETE FROM tier_features WHERE model_id = ?1 AND tier = ?2 AND start = ?3",
    [R_DEL_FAIR] = "DELETE FROM tier_fairness WHERE model_id = ?1 AND tier = ?2 AND start = ?3",
    [R_DEL_S] = "DELETE FROM tier_samples WHERE model_id = ?1 AND tier = ?2 AND start = ?3",
    [R_MIN_CHILD] = CHILD_COLS_MIN,
    [R_HOUR_CHILD] =
        "SELECT windows, count, errors, sampled, labelled, latency_sketch, acc_num, acc_den, "
        "mae_num, mae_den, est_num, est_den, cov_num, cov_den, llm, input_tokens, "
        "output_tokens, ttft_sketch, tpot_sketch, llm_windows FROM tiers "
        "WHERE model_id = ?1 AND tier = 3600 AND start >= ?2 AND start < ?3",
    /* drift drives: every window analysis wrote has a drift row per
     * feature; window_features adds the counts and the reservoir */
    [R_MIN_FEAT] = "SELECT d.feature, d.kind, d.n, coalesce(f.missing, 0), "
                   "coalesce(f.type_errors, 0), coalesce(f.out_of_range, 0), "
                   "coalesce(f.new_category, 0), f.sample, d.severity, "
                   "coalesce(d.drifted, 0), 1, d.start FROM drift d LEFT JOIN window_features f "
                   "ON f.model_id = d.model_id AND f.start = d.start AND f.feature = d.feature "
                   "WHERE d.model_id = ?1 AND d.start >= ?2 AND d.start < ?3 "
                   "ORDER BY d.feature, d.start",
    [R_HOUR_FEAT] = "SELECT f.feature, f.kind, f.n, f.missing, f.type_errors, f.out_of_range, "
                    "f.new_category, s.sample, f.max_severity, f.drifted_windows, f.windows, "
                    "f.worst_start FROM tier_features f LEFT JOIN tier_samples s ON "
                    "s.model_id = f.model_id AND s.tier = f.tier AND s.start = f.start AND "
                    "s.feature = f.feature WHERE f.model_id = ?1 AND f.tier = 3600 AND "
                    "f.start >= ?2 AND f.start < ?3 ORDER BY f.feature, f.start",
    [R_INS_T] = "INSERT INTO tiers (model_id, tier, start, \"end\", windows, count, errors, "
                "sampled, labelled, latency_sketch, p50, p90, p95, p99, p999, max, mean, "
                "acc_num, acc_den, mae_num, mae_den, est_num, est_den, cov_num, cov_den, llm, "
                "input_tokens, output_tokens, ttft_sketch, tpot_sketch, updated, llm_windows) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
                "?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)",
    [R_INS_F] = "INSERT INTO tier_features (model_id, tier, start, feature, kind, n, missing, "
                "type_errors, out_of_range, new_category, worst_start, n_ref, ks, ks_p, "
                "wasserstein, psi, js, method, score, threshold, severity, drifted, "
                "max_severity, windows, drifted_windows, chi2, chi2_p) VALUES (?1, ?2, ?3, ?4, "
                "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, "
                "?22, ?23, ?24, ?25, ?26, ?27)",
    [R_INS_S] = "INSERT INTO tier_samples (model_id, tier, start, feature, sample) VALUES (?1, "
                "?2, ?3, ?4, ?5)",
    [R_FAIR_MIN] = "INSERT INTO tier_fairness (model_id, tier, start, attribute, grp, n, "
                   "positives, labelled, correct, tp, fp, tn, fn) SELECT ?1, ?4, ?2, " FAIR_COLS
                   " FROM fairness WHERE model_id = ?1 AND start >= ?2 AND start < ?3 "
                   "GROUP BY attribute, grp",
    [R_FAIR_HOUR] = "INSERT INTO tier_fairness (model_id, tier, start, attribute, grp, n, "
                    "positives, labelled, correct, tp, fp, tn, fn) SELECT ?1, ?4, ?2, " FAIR_COLS
                    " FROM tier_fairness WHERE model_id = ?1 AND tier = 3600 AND start >= ?2 "
                    "AND start < ?3 GROUP BY attribute, grp",
    [R_REF_STAMP] = "SELECT count(*), coalesce(max(created), 0) FROM reference "
                    "WHERE model_id = ?1",
    [R_REF] = "SELECT feature, profile FROM reference WHERE model_id = ?1 ORDER BY feature",
    [R_CHANGED] = "SELECT model_id, start, analyzed FROM windows WHERE analyzed > ?1 "
                  "AND provisional = 0 ORDER BY analyzed LIMIT ?2",
    [R_CHANGED_INCL] = "SELECT model_id, start, analyzed FROM windows WHERE analyzed >= ?1 "
                       "AND provisional = 0 ORDER BY analyzed LIMIT ?2",
    /* bounded deletes: a batch of keys at a time, as the minute
     * retention does (store_ingest.c) */
    [R_RET_T] = "DELETE FROM tiers WHERE (model_id, tier, start) IN (SELECT model_id, tier, "
                "start FROM tiers WHERE (tier = 3600 AND start < ?1) OR (tier = 86400 AND "
                "start < ?2) LIMIT ?3)",
    [R_RET_F] = "DELETE FROM tier_features WHERE (model_id, tier, start, feature) IN (SELECT "
                "model_id, tier, start, feature FROM tier_features WHERE (tier = 3600 AND "
                "start < ?1) OR (tier = 86400 AND start < ?2) LIMIT ?3)",
    [R_RET_FAIR] = "DELETE FROM tier_fairness WHERE (model_id, tier, start, attribute, grp) IN "
                   "(SELECT model_id, tier, start, attribute, grp FROM tier_fairness WHERE "
                   "(tier = 3600 AND start < ?1) OR (tier = 86400 AND start < ?2) LIMIT ?3)",
    /* merged samples serve only rebuilds (late events): kept as long as
     * an event can still arrive, ?4 */
    [R_RET_S] = "DELETE FROM tier_samples WHERE (model_id, tier, start, feature) IN (SELECT "
                "model_id, tier, start, feature FROM tier_samples WHERE start < ?4 LIMIT ?3)",
};

struct ref_entry {
	char *feature;
	struct drift_ref ref;
	bool ok;
};

struct store_rollup {
	struct store *st;
	struct db_stmt *stmt[R_COUNT];
	/* the references of one model, reloaded when its rows change */
	int64_t ref_model;
	int64_t ref_count;
	double ref_stamp;
	struct ref_entry *refs;
	size_t nrefs;
	uint64_t bad;
};

static struct db_stmt *prep(struct store_rollup *r, int id)
{
	return store_prepare(r->st, &r->stmt[id], sql[id]);
}

static int step_done(struct db_stmt *s)
{
	int rc = db_step(s);
	db_reset(s);
	return rc == DB_DONE ? 0 : -1;
}

int store_rollup_open(struct store_rollup **out, struct store *st)
{
	struct store_rollup *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return -1;
	r->st = st;
	r->ref_model = -1;
	*out = r;
	return 0;
}

static void refs_free(struct store_rollup *r)
{
	for (size_t i = 0; i < r->nrefs; i++) {
		free(r->refs[i].feature);
		if (r->refs[i].ok)
			drift_ref_fini(&r->refs[i].ref);
	}
	free(r->refs);
	r->refs = NULL;
	r->nrefs = 0;
	r->ref_model = -1;
}

void store_rollup_close(struct store_rollup *r)
{
	if (!r)
		return;
	refs_free(r);
	store_finalize(r->stmt, R_COUNT);
	free(r);
}

uint64_t store_rollup_bad(const struct store_rollup *r)
{
	return r->bad;
}

/* ---- references --------------------------------------------------------- */

struct ref_load {
	struct store_rollup *r;
	size_t cap;
};

/* One reference row; stops (1) when the rows counted before are in, so
 * that one added between the two reads waits for the next build. */
static int ref_row(struct db_stmt *s, void *arg)
{
	struct ref_load *l = arg;
	struct store_rollup *r = l->r;
	const char *name = (const char *)db_column_text(s, 0);
	const void *blob = db_column_blob(s, 1);
	int len = db_column_bytes(s, 1);
	struct ref_entry *e;

	if (r->nrefs >= l->cap)
		return 1;
	e = &r->refs[r->nrefs];
	memset(e, 0, sizeof(*e));
	if (!(e->feature = strdup(name ? name : "")))
		return -1;
	r->nrefs++;
	/* a reference that does not decode is no reference: no drift figures */
	if (blob && len > 0 && drift_ref_decode(&e->ref, blob, (size_t)len) == 0)
		e->ok = true;
	else
		r->bad++;
	return 0;
}

static int stamp_row(struct db_stmt *s, void *arg)
{
	double *v = arg;
	v[0] = (double)db_column_int64(s, 0);
	v[1] = db_column_double(s, 1);
	return 0;
}

/* Loads model_id's references unless the cached ones are current. */
static int refs_load(struct store_rollup *r, int64_t model_id)
{
	struct db_stmt *s = prep(r, R_REF_STAMP);
	double stamp[2] = {0, 0};

	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	if (store_each_row(s, stamp_row, stamp))
		return -1;
	if (r->ref_model == model_id && r->ref_count == (int64_t)stamp[0] &&
	    r->ref_stamp == stamp[1])
		return 0;
	refs_free(r);
	if (stamp[0] > 0 && !(r->refs = calloc((size_t)stamp[0], sizeof(*r->refs))))
		return -1;
	if (!(s = prep(r, R_REF)))
		return -1;
	db_bind_int64(s, 1, model_id);
	{
		struct ref_load l = {r, (size_t)stamp[0]};
		if (store_each_row(s, ref_row, &l) < 0)
			return -1;
	}
	r->ref_model = model_id;
	r->ref_count = (int64_t)stamp[0];
	r->ref_stamp = stamp[1];
	return 0;
}

static const struct drift_ref *ref_find(const struct store_rollup *r, const char *feature)
{
	for (size_t i = 0; i < r->nrefs; i++)
		if (r->refs[i].ok && strcmp(r->refs[i].feature, feature) == 0)
			return &r->refs[i].ref;
	return NULL;
}

/* ---- the tier row ------------------------------------------------------- */

struct tier_acc {
	struct store_rollup *r;
	int64_t windows, count, errors, sampled, labelled, llm, in_tok, out_tok, llm_windows;
	double sums[8]; /* acc_num, acc_den, mae_num, mae_den, est_num, est_den, cov_num, cov_den */
	struct ddsketch *lat, *ttft, *tpot;
};

/* Merges a stored sketch blob into *dst (created on first use). */
static int sketch_merge(struct store_rollup *r, struct ddsketch **dst, struct db_stmt *s, int col)
{
	const void *blob = db_column_blob(s, col);
	int len = db_column_bytes(s, col);
	struct ddsketch *sk = NULL;
	int rc = 0;

	if (!blob || len <= 0)
		return 0;
	if (ddsketch_decode(blob, (size_t)len, &sk) != 0) {
		r->bad++; /* one bad blob must not stop the tier */
		return 0;
	}
	if (!*dst) {
		*dst = sk;
		return 0;
	}
	rc = ddsketch_merge(*dst, sk) == 0 ? 0 : -1;
	ddsketch_free(sk);
	return rc;
}

static int child_row(struct db_stmt *s, void *arg)
{
	struct tier_acc *t = arg;

	t->windows += db_column_int64(s, 0);
	t->count += db_column_int64(s, 1);
	t->errors += db_column_int64(s, 2);
	t->sampled += db_column_int64(s, 3);
	t->labelled += db_column_int64(s, 4);
	for (int i = 0; i < 8; i++)
		t->sums[i] += db_column_double(s, 6 + i);
	t->llm += db_column_int64(s, 14);
	t->in_tok += db_column_int64(s, 15);
	t->out_tok += db_column_int64(s, 16);
	t->llm_windows += db_column_int64(s, 19);
	if (sketch_merge(t->r, &t->lat, s, 5) || sketch_merge(t->r, &t->ttft, s, 17) ||
	    sketch_merge(t->r, &t->tpot, s, 18))
		return -1;
	return 0;
}

/* Binds a sketch as a blob (NULL when absent); *buf is freed by the caller. */
static int bind_sketch(struct db_stmt *s, int i, const struct ddsketch *sk, uint8_t **buf)
{
	size_t len = 0;

	if (!sk || ddsketch_count(sk) == 0)
		return db_bind_null(s, i) == DB_OK ? 0 : -1;
	if (ddsketch_encode_alloc(sk, buf, &len) != 0)
		return -1;
	return db_bind_blob(s, i, *buf, (int)len) == DB_OK ? 0 : -1;
}

static int write_tier(struct store_rollup *r, int64_t model_id, int64_t tier, int64_t start,
                      double now, const struct tier_acc *t)
{
	static const double qs[] = {0.5, 0.9, 0.95, 0.99, 0.999};
	struct db_stmt *s = prep(r, R_INS_T);
	uint8_t *b1 = NULL, *b2 = NULL, *b3 = NULL;
	double v[5];
	bool lat =
	    t->lat && ddsketch_count(t->lat) > 0 && ddsketch_quantiles(t->lat, qs, 5, v) == 0;
	int rc = -1;

	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, tier);
	db_bind_int64(s, 3, start);
	db_bind_int64(s, 4, start + tier);
	db_bind_int64(s, 5, t->windows);
	db_bind_int64(s, 6, t->count);
	db_bind_int64(s, 7, t->errors);
	db_bind_int64(s, 8, t->sampled);
	db_bind_int64(s, 9, t->labelled);
	if (bind_sketch(s, 10, t->lat, &b1))
		goto out;
	for (int i = 0; i < 5; i++)
		if (lat)
			db_bind_double(s, 11 + i, v[i]);
		else
			db_bind_null(s, 11 + i);
	if (lat) {
		db_bind_double(s, 16, ddsketch_max(t->lat));
		db_bind_double(s, 17, ddsketch_mean(t->lat));
	} else {
		db_bind_null(s, 16);
		db_bind_null(s, 17);
	}
	for (int i = 0; i < 8; i++)
		db_bind_double(s, 18 + i, t->sums[i]);
	db_bind_int64(s, 26, t->llm);
	db_bind_int64(s, 27, t->in_tok);
	db_bind_int64(s, 28, t->out_tok);
	if (bind_sketch(s, 29, t->ttft, &b2) || bind_sketch(s, 30, t->tpot, &b3))
		goto out;
	db_bind_double(s, 31, now);
	db_bind_int64(s, 32, t->llm_windows);
	rc = step_done(s);
out:
	db_reset(s);
	free(b1);
	free(b2);
	free(b3);
	return rc;
}

/* ---- the features ------------------------------------------------------- */

struct feat_acc {
	struct store_rollup *r;
	int64_t model_id, tier, start;
	char feature[256];
	bool open;
	int kind;
	int64_t n, missing, type_errors, out_of_range, new_category, windows, drifted_windows;
	double max_sev; /* NAN when no child had a severity */
	/* the minute with the highest severity (ties: the latest; no
	 * severity counts as -1), as the detail view picks it */
	double worst_key;
	int64_t worst_start;
	bool has_worst;
	struct sample_reservoir res; /* numeric */
	bool has_sample;
	struct sample_cats cats; /* categorical */
	bool has_cats;
};

/* A deterministic seed per row, so that rebuilding gives the same sample. */
static uint64_t row_seed(int64_t model_id, int64_t tier, int64_t start, const char *feature)
{
	uint64_t h = 1469598103934665603ULL;
	int64_t k[3] = {model_id, tier, start};

	for (size_t i = 0; i < sizeof(k); i++) {
		h ^= ((const unsigned char *)k)[i];
		h *= 1099511628211ULL;
	}
	for (const char *p = feature; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 1099511628211ULL;
	}
	return h;
}

static int feat_flush(struct feat_acc *f)
{
	struct store_rollup *r = f->r;
	struct db_stmt *s;
	const struct drift_ref *ref;
	struct drift_result dr;
	uint8_t *buf = NULL;
	size_t len = 0;
	bool drift = false;
	int rc = -1;

	if (!f->open)
		return 0;
	if (!(s = prep(r, R_INS_F)))
		goto out;
	ref = ref_find(r, f->feature);
	if (ref && ref->kind != (f->kind == 2 ? DRIFT_CATEGORICAL : DRIFT_NUMERIC))
		ref = NULL;
	if (f->kind != 2 && f->has_sample && f->res.len > 0) {
		len = sample_reservoir_encoded_size(&f->res);
		if (!(buf = malloc(len)) || sample_reservoir_encode(&f->res, buf, len, &len) != 0)
			goto out;
		/* drift on the merged sample, the default method: the same
		 * statistics a recomputation from these values gives */
		if (ref && drift_numeric(ref, f->res.values, f->res.len, NULL, &dr) == 0)
			drift = true;
	} else if (f->kind == 2 && f->has_cats && f->cats.total > 0) {
		uint64_t counts[DRIFT_MAX_CELLS] = {0};

		len = sample_cats_encoded_size(&f->cats);
		if (!(buf = malloc(len)) || sample_cats_encode(&f->cats, buf, len, &len) != 0)
			goto out;
		/* the merged counts in the reference's cells (an unseen name,
		 * and names past the distinct bound, in its "new" cell), as
		 * analysis counts a window */
		if (ref && ref->ncells > 0) {
			size_t nc = ref->ncells;
			for (size_t i = 0; i < f->cats.n; i++) {
				const struct sample_cat *c = &f->cats.cats[i];
				int cell = drift_ref_cell(ref, c->name, c->name_len);
				counts[cell >= 0 && (size_t)cell < nc ? (size_t)cell : nc - 1] +=
				    c->count;
			}
			counts[nc - 1] += f->cats.overflow;
			if (drift_categorical(ref, counts, nc, NULL, &dr) == 0)
				drift = true;
		}
	}
	db_bind_int64(s, 1, f->model_id);
	db_bind_int64(s, 2, f->tier);
	db_bind_int64(s, 3, f->start);
	db_bind_text(s, 4, f->feature, -1);
	db_bind_int(s, 5, f->kind);
	db_bind_int64(s, 6, f->n);
	db_bind_int64(s, 7, f->missing);
	db_bind_int64(s, 8, f->type_errors);
	db_bind_int64(s, 9, f->out_of_range);
	db_bind_int64(s, 10, f->new_category);
	if (f->has_worst)
		db_bind_int64(s, 11, f->worst_start);
	else
		db_bind_null(s, 11);
	if (drift) {
		db_bind_int64(s, 12, (int64_t)dr.n_ref);
		db_bind_double(s, 13, dr.ks);
		db_bind_double(s, 14, dr.ks_p);
		db_bind_double(s, 15, dr.wasserstein);
		db_bind_double(s, 16, dr.psi);
		db_bind_double(s, 17, dr.js);
		db_bind_text(s, 18, drift_method_name(dr.method), -1);
		db_bind_double(s, 19, dr.score);
		db_bind_double(s, 20, dr.threshold);
		db_bind_double(s, 21, dr.severity);
		db_bind_int(s, 22, dr.drifted);
		/* a chi2 of a cell the reference never had is infinite: NULL,
		 * as analysis stores it */
		if (isfinite(dr.chi2))
			db_bind_double(s, 26, dr.chi2);
		else
			db_bind_null(s, 26);
		db_bind_double(s, 27, dr.chi2_p);
		if (f->kind == 2) { /* distances of samples: not for categories */
			db_bind_null(s, 13);
			db_bind_null(s, 14);
			db_bind_null(s, 15);
		} else {
			db_bind_null(s, 26);
			db_bind_null(s, 27);
		}
	} else {
		for (int i = 12; i <= 22; i++)
			db_bind_null(s, i);
		db_bind_null(s, 26);
		db_bind_null(s, 27);
	}
	if (isnan(f->max_sev))
		db_bind_null(s, 23);
	else
		db_bind_double(s, 23, f->max_sev);
	db_bind_int64(s, 24, f->windows);
	db_bind_int64(s, 25, f->drifted_windows);
	if ((rc = step_done(s)) == 0 && buf) {
		rc = -1;
		if (!(s = prep(r, R_INS_S)))
			goto out;
		db_bind_int64(s, 1, f->model_id);
		db_bind_int64(s, 2, f->tier);
		db_bind_int64(s, 3, f->start);
		db_bind_text(s, 4, f->feature, -1);
		db_bind_blob(s, 5, buf, (int)len);
		rc = step_done(s);
	}
out:
	free(buf);
	if (f->has_sample)
		sample_reservoir_fini(&f->res);
	if (f->has_cats)
		sample_cats_fini(&f->cats);
	f->has_sample = f->has_cats = false;
	f->open = false;
	return rc;
}

/* Adds a child's category counts (sample_cats_encode) to f->cats. */
static int cats_merge(struct feat_acc *f, const void *blob, size_t len)
{
	struct sample_cats child;
	int rc = 0;

	if (sample_cats_decode(&child, blob, len) != 0) {
		f->r->bad++;
		return 0;
	}
	if (!f->has_cats) {
		sample_cats_init(&f->cats, 0);
		f->has_cats = true;
	}
	for (size_t i = 0; i < child.n && rc == 0; i++)
		rc = sample_cats_add(&f->cats, child.cats[i].name, child.cats[i].name_len,
		                     child.cats[i].count);
	/* names the child could not keep stay unknown: counted, never named */
	f->cats.overflow += child.overflow;
	f->cats.total += child.overflow;
	sample_cats_fini(&child);
	return rc ? -1 : 0;
}

static int feat_row(struct db_stmt *s, void *arg)
{
	struct feat_acc *f = arg;
	const char *name = (const char *)db_column_text(s, 0);
	const void *blob = db_column_blob(s, 7);
	int len = db_column_bytes(s, 7);

	if (!name)
		return 0;
	if (f->open && strcmp(name, f->feature) != 0 && feat_flush(f))
		return -1;
	if (!f->open) {
		snprintf(f->feature, sizeof(f->feature), "%s", name);
		f->open = true;
		f->kind = db_column_int(s, 1);
		f->n = f->missing = f->type_errors = f->out_of_range = f->new_category = 0;
		f->windows = f->drifted_windows = 0;
		f->max_sev = NAN;
		f->has_worst = false;
	}
	if (db_column_type(s, 11) != DB_NULL) {
		double key = db_column_type(s, 8) == DB_NULL ? -1 : db_column_double(s, 8);
		int64_t at = db_column_int64(s, 11);
		if (!f->has_worst || key > f->worst_key ||
		    (key == f->worst_key && at > f->worst_start)) {
			f->worst_key = key;
			f->worst_start = at;
			f->has_worst = true;
		}
	}
	f->n += db_column_int64(s, 2);
	f->missing += db_column_int64(s, 3);
	f->type_errors += db_column_int64(s, 4);
	f->out_of_range += db_column_int64(s, 5);
	f->new_category += db_column_int64(s, 6);
	if (db_column_type(s, 8) != DB_NULL) {
		double sev = db_column_double(s, 8);
		if (isnan(f->max_sev) || sev > f->max_sev)
			f->max_sev = sev;
	}
	f->drifted_windows += db_column_int64(s, 9);
	f->windows += db_column_int64(s, 10);
	if (blob && len > 0 && f->kind == 2)
		return cats_merge(f, blob, (size_t)len);
	if (blob && len > 0) {
		struct sample_reservoir child;

		if (sample_reservoir_decode(&child, SAMPLE_WINDOW_MAX, blob, (size_t)len) != 0) {
			f->r->bad++;
			return 0;
		}
		if (!f->has_sample) {
			sample_reservoir_init(&f->res, SAMPLE_WINDOW_MAX,
			                      row_seed(f->model_id, f->tier, f->start, f->feature));
			f->has_sample = true;
		}
		int rc = sample_reservoir_merge(&f->res, &child);
		sample_reservoir_fini(&child);
		if (rc)
			return -1;
	}
	return 0;
}

static int bind_span(struct db_stmt *s, int64_t model_id, int64_t start, int64_t end)
{
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, start);
	db_bind_int64(s, 3, end);
	return 0;
}

int store_rollup_build(struct store_rollup *r, int64_t model_id, int64_t tier, int64_t start,
                       double now)
{
	struct tier_acc t = {.r = r};
	struct feat_acc f = {.r = r, .model_id = model_id, .tier = tier, .start = start};
	bool hour = tier == ROLLUP_HOUR;
	struct db_stmt *s;
	int rc = -1;

	if ((tier != ROLLUP_HOUR && tier != ROLLUP_DAY) || start % tier != 0)
		return -1;
	for (int id = R_DEL_T; id <= R_DEL_S; id++) {
		if (!(s = prep(r, id)))
			goto out;
		db_bind_int64(s, 1, model_id);
		db_bind_int64(s, 2, tier);
		db_bind_int64(s, 3, start);
		if (step_done(s))
			goto out;
	}
	if (!(s = prep(r, hour ? R_MIN_CHILD : R_HOUR_CHILD)))
		goto out;
	bind_span(s, model_id, start, start + tier);
	if (store_each_row(s, child_row, &t))
		goto out;
	if (t.windows == 0) {
		rc = 0; /* nothing left to roll up: the row stays removed */
		goto out;
	}
	if (write_tier(r, model_id, tier, start, now, &t))
		goto out;
	if (refs_load(r, model_id))
		goto out;
	if (!(s = prep(r, hour ? R_MIN_FEAT : R_HOUR_FEAT)))
		goto out;
	bind_span(s, model_id, start, start + tier);
	if (store_each_row(s, feat_row, &f) || feat_flush(&f))
		goto out;
	if (!(s = prep(r, hour ? R_FAIR_MIN : R_FAIR_HOUR)))
		goto out;
	bind_span(s, model_id, start, start + tier);
	db_bind_int64(s, 4, tier);
	if (step_done(s))
		goto out;
	rc = 0;
out:
	if (f.has_sample)
		sample_reservoir_fini(&f.res);
	if (f.has_cats)
		sample_cats_fini(&f.cats);
	ddsketch_free(t.lat);
	ddsketch_free(t.ttft);
	ddsketch_free(t.tpot);
	return rc;
}

int store_rollup_range(struct store_rollup *r, int64_t model_id, int64_t from, int64_t to,
                       double now)
{
	int64_t d0 = from - ((from % ROLLUP_DAY) + ROLLUP_DAY) % ROLLUP_DAY;

	for (int64_t d = d0; d < to; d += ROLLUP_DAY) {
		if (store_begin(r->st))
			return -1;
		for (int64_t h = d; h < d + ROLLUP_DAY; h += ROLLUP_HOUR)
			if (store_rollup_build(r, model_id, ROLLUP_HOUR, h, now))
				goto fail;
		if (store_rollup_build(r, model_id, ROLLUP_DAY, d, now) || store_commit(r->st))
			goto fail;
	}
	return 0;
fail:
	store_rollback(r->st);
	return -1;
}

struct changed_ctx {
	void (*fn)(int64_t, int64_t, double, void *);
	void *arg;
	int n;
};

static int changed_row(struct db_stmt *s, void *arg)
{
	struct changed_ctx *c = arg;
	c->fn(db_column_int64(s, 0), db_column_int64(s, 1), db_column_double(s, 2), c->arg);
	c->n++;
	return 0;
}

int store_rollup_changed(struct store_rollup *r, double since, int incl, int limit,
                         void (*fn)(int64_t, int64_t, double, void *), void *arg)
{
	struct db_stmt *s = prep(r, incl ? R_CHANGED_INCL : R_CHANGED);
	struct changed_ctx c = {fn, arg, 0};

	if (!s)
		return -1;
	db_bind_double(s, 1, since);
	db_bind_int(s, 2, limit);
	if (store_each_row(s, changed_row, &c))
		return -1;
	return c.n;
}

int store_rollup_until_get(struct store *st, int64_t *until)
{
	char buf[64], *end;
	long long v;

	*until = 0;
	if (store_meta_get(st, "tier_until", buf, sizeof(buf)))
		return 0; /* absent: no tiers yet */
	v = strtoll(buf, &end, 10);
	if (end == buf || *end || v < 0)
		return 0; /* not ours to trust: minutes only */
	*until = v;
	return 0;
}

int store_rollup_until_set(struct store_rollup *r, int64_t until)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", (long long)until);
	return store_meta_set(r->st, "tier_until", buf);
}

int store_rollup_retention_step(struct store_rollup *r, int64_t hours_before, int64_t days_before,
                                int64_t samples_before, int chunk, int64_t *deleted)
{
	int more = 0;

	*deleted = 0;
	for (int id = R_RET_T; id <= R_RET_S; id++) {
		struct db_stmt *s = prep(r, id);
		int64_t n;

		if (!s)
			return -1;
		if (id == R_RET_S) {
			db_bind_int(s, 3, chunk);
			db_bind_int64(s, 4, samples_before);
		} else {
			db_bind_int64(s, 1, hours_before);
			db_bind_int64(s, 2, days_before);
			db_bind_int(s, 3, chunk);
		}
		if (step_done(s))
			return -1;
		n = db_changes(r->st->db);
		*deleted += n;
		if (n >= chunk)
			more = 1;
	}
	return more;
}

int store_rollup_cursor_get(struct store *st, double *cursor)
{
	char buf[64], *end;
	double v;

	*cursor = 0;
	if (store_meta_get(st, "tier_cursor", buf, sizeof(buf)))
		return 0;
	v = strtod(buf, &end);
	if (end != buf && !*end && isfinite(v) && v > 0)
		*cursor = v;
	return 0;
}

int store_rollup_cursor_set(struct store_rollup *r, double cursor)
{
	char buf[64];

	snprintf(buf, sizeof(buf), "%.17g", cursor);
	return store_meta_set(r->st, "tier_cursor", buf);
}

static int int_row(struct db_stmt *s, void *arg)
{
	*(int64_t *)arg = db_column_int64(s, 0);
	return 0;
}

int store_rollup_oldest_dirty(struct store_rollup *r, int64_t *start)
{
	struct db_stmt *s = prep(r, R_DIRTY);

	*start = -1;
	if (!s)
		return -1;
	return store_each_row(s, int_row, start);
}
