/* store_rollup: hourly and daily tiers equal a recomputation from the raw
 * events (issue 18, acceptance 2), and retention per tier keeps a store fed
 * for 40 simulated days flat (acceptance 3). The minute rows are written as
 * analysis writes them (counts, sketches, reservoirs, drift, accuracy, LLM,
 * fairness), from raw events this test keeps in memory; the simulated clock
 * is the `now` every call takes. SQLite always; PostgreSQL too when its
 * server package is installed (tests/lib/pg_harness). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/harness.h"
#include "../lib/pg_harness.h"
#include "ddsketch.h"
#include "drift.h"
#include "sample.h"
#include "store.h"
#include "store_ingest.h"
#include "store_query.h"
#include "store_rollup.h"

#define T0      1767225600 /* 2026-01-01T00:00:00Z, a day boundary */
#define WIN     60
#define PER_MIN 3

struct raw {
	int64_t start; /* minute */
	double latency, x, ttft;
	int error, labelled, correct, llm_tokens;
	const char *grp;
	const char *cat; /* feature c (categorical) */
};

static struct raw *raws;
static size_t nraw, capraw;

static void raw_add(struct raw r)
{
	if (nraw == capraw) {
		capraw = capraw ? capraw * 2 : 4096;
		raws = realloc(raws, capraw * sizeof(*raws));
		cr_assert_not_null(raws);
	}
	raws[nraw++] = r;
}

static void exec_bind(struct store *st, const char *sql, const char *fmt, ...)
{
	struct db_stmt *s = NULL;
	va_list ap;

	cr_assert_eq(db_prepare(st->db, sql, &s), DB_OK, "%s: %s", sql, store_errmsg(st));
	va_start(ap, fmt);
	for (int i = 0; fmt[i]; i++) {
		switch (fmt[i]) {
		case 'i':
			db_bind_int64(s, i + 1, va_arg(ap, int64_t));
			break;
		case 'd':
			db_bind_double(s, i + 1, va_arg(ap, double));
			break;
		case 't':
			db_bind_text(s, i + 1, va_arg(ap, const char *), -1);
			break;
		case 'b': {
			const void *p = va_arg(ap, const void *);
			int n = va_arg(ap, int);
			db_bind_blob(s, i + 1, p, n);
			break;
		}
		}
	}
	va_end(ap);
	cr_assert_eq(db_step(s), DB_DONE, "%s: %s", sql, store_errmsg(st));
	db_finalize(s);
}

static uint8_t *sketch_blob(const double *v, size_t n, size_t *len)
{
	struct ddsketch *sk = ddsketch_new();
	uint8_t *out = NULL;

	for (size_t i = 0; i < n; i++)
		cr_assert_eq(ddsketch_add(sk, v[i]), 0);
	cr_assert_eq(ddsketch_encode_alloc(sk, &out, len), 0);
	ddsketch_free(sk);
	return out;
}

/* Writes (replaces) the minute rows of `start` from the raw events in it,
 * as analysis does when it finishes the window at `analyzed`. */
static void write_minute(struct store *st, int64_t model, int64_t start, double analyzed)
{
	double lat[64], ttft[64];
	struct sample_reservoir res;
	struct sample_cats cats;
	int64_t count = 0, errors = 0, labelled = 0, correct = 0, llm = 0, tokens = 0;
	int64_t ga[2][3] = {{0}}; /* group a / b: n, labelled, correct */
	size_t nl = 0, nt = 0, len, slen;
	uint8_t *sk, *tk = NULL, sbuf[64 * 8 + 64];

	sample_reservoir_init(&res, SAMPLE_WINDOW_MAX, 1);
	sample_cats_init(&cats, 0);
	for (size_t i = 0; i < nraw; i++) {
		struct raw *r = &raws[i];
		if (r->start != start)
			continue;
		count++;
		errors += r->error;
		labelled += r->labelled;
		correct += r->correct;
		lat[nl++] = r->latency;
		cr_assert_eq(sample_reservoir_add(&res, r->x), 0);
		cr_assert_eq(sample_cats_add(&cats, r->cat, strlen(r->cat), 1), 0);
		if (r->llm_tokens) {
			llm++;
			tokens += r->llm_tokens;
			ttft[nt++] = r->ttft;
		}
		int g = strcmp(r->grp, "a") == 0 ? 0 : 1;
		ga[g][0]++;
		ga[g][1] += r->labelled;
		ga[g][2] += r->correct;
	}
	cr_assert(nl > 0 && nl <= 64);
	for (const char *t = "windows\0window_features\0drift\0accuracy\0window_llm\0fairness\0";
	     *t; t += strlen(t) + 1) {
		char sql[128];
		snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE model_id = ?1 AND start = ?2", t);
		exec_bind(st, sql, "ii", model, start);
	}
	sk = sketch_blob(lat, nl, &len);
	exec_bind(st,
	          "INSERT INTO windows (model_id, start, \"end\", count, errors, sampled, "
	          "latency_sketch, labelled, provisional, dirty, analyzed) VALUES (?1, ?2, ?3, ?4, "
	          "?5, ?6, ?7, ?8, 0, 0, ?9)",
	          "iiiiiibid", model, start, start + WIN, count, errors, count, sk, (int)len,
	          labelled, analyzed);
	free(sk);
	cr_assert_eq(sample_reservoir_encode(&res, sbuf, sizeof(sbuf), &slen), 0);
	exec_bind(st,
	          "INSERT INTO window_features (model_id, start, feature, kind, n, sample) "
	          "VALUES (?1, ?2, 'x', 1, ?3, ?4)",
	          "iiib", model, start, count, sbuf, (int)slen);
	cr_assert_eq(sample_cats_encode(&cats, sbuf, sizeof(sbuf), &slen), 0);
	exec_bind(st,
	          "INSERT INTO window_features (model_id, start, feature, kind, n, sample) "
	          "VALUES (?1, ?2, 'c', 2, ?3, ?4)",
	          "iiib", model, start, count, sbuf, (int)slen);
	exec_bind(
	    st, "INSERT INTO drift (model_id, start, feature, kind, n) VALUES (?1, ?2, 'c', 2, ?3)",
	    "iii", model, start, count);
	sample_cats_fini(&cats);
	/* a severity that rises through the day, so the max is known */
	exec_bind(st,
	          "INSERT INTO drift (model_id, start, feature, kind, n, severity, drifted) "
	          "VALUES (?1, ?2, 'x', 1, ?3, ?4, ?5)",
	          "iiidi", model, start, count, (double)(start - T0) / 86400.0,
	          (int64_t)(((start - T0) / WIN) % 97 == 0));
	if (labelled)
		exec_bind(
		    st,
		    "INSERT INTO accuracy (model_id, start, labelled, accuracy, est_accuracy, "
		    "label_coverage) VALUES (?1, ?2, ?3, ?4, 0.9, ?5)",
		    "iiidd", model, start, labelled, (double)correct / (double)labelled,
		    (double)labelled / (double)count);
	if (llm) {
		tk = sketch_blob(ttft, nt, &len);
		exec_bind(
		    st,
		    "INSERT INTO window_llm (model_id, start, llm, input_tokens, output_tokens, "
		    "ttft_sketch) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		    "iiiiib", model, start, llm, tokens, 2 * tokens, tk, (int)len);
		free(tk);
	}
	for (int g = 0; g < 2; g++)
		if (ga[g][0])
			exec_bind(
			    st,
			    "INSERT INTO fairness (model_id, start, attribute, grp, n, positives, "
			    "labelled, correct, tp, fp, tn, fn) VALUES (?1, ?2, 'sex', ?3, ?4, 0, "
			    "?5, ?6, 0, 0, 0, 0)",
			    "iitiii", model, start, g ? "b" : "a", ga[g][0], ga[g][1], ga[g][2]);
	sample_reservoir_fini(&res);
}

/* One minute's raw events: deterministic, varied. */
static void gen_minute(int64_t start, uint64_t *seed, int n)
{
	for (int k = 0; k < n; k++) {
		*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
		uint32_t u = (uint32_t)(*seed >> 33);
		struct raw r = {.start = start,
		                .latency = 5.0 + (double)(u % 2000) / 10.0,
		                .x = (double)(u % 1000) / 100.0 + (start - T0 > 43200 ? 2.0 : 0.0),
		                .error = u % 17 == 0,
		                .labelled = u % 3 != 0,
		                .grp = u % 5 < 2 ? "a" : "b"};
		r.correct = r.labelled && u % 7 != 0;
		{
			/* "Z" is new to the reference, and only in the afternoon */
			static const char *const cats[] = {"A", "B", "C", "D", "Z"};
			r.cat = cats[(u / 7) % (start - T0 > 43200 ? 5 : 4)];
		}
		if (u % 4 == 0) {
			r.llm_tokens = 10 + (int)(u % 50);
			r.ttft = 20.0 + (double)(u % 300);
		}
		raw_add(r);
	}
}

/* The categorical reference: A..D, A the most common. */
static int cat_ref(struct drift_ref *ref)
{
	const char *v[400];
	static const char *const names[] = {"A", "A", "B", "C", "D"};

	for (int i = 0; i < 400; i++)
		v[i] = names[i % 5];
	return drift_ref_categorical_values(ref, v, 400);
}

static void put_reference(struct store *st, int64_t model)
{
	double v[500];
	struct drift_ref ref;
	uint8_t *blob = NULL;
	size_t len = 0;

	for (int i = 0; i < 500; i++)
		v[i] = (double)(i % 100) / 10.0;
	cr_assert_eq(drift_ref_numeric(&ref, v, 500, 7), 0);
	cr_assert_eq(drift_ref_encode(&ref, &blob, &len), 0);
	exec_bind(st,
	          "INSERT INTO reference (model_id, feature, kind, n, profile, created) "
	          "VALUES (?1, 'x', 1, 500, ?2, 1)",
	          "ib", model, blob, (int)len);
	free(blob);
	drift_ref_fini(&ref);
	cr_assert_eq(cat_ref(&ref), 0);
	cr_assert_eq(drift_ref_encode(&ref, &blob, &len), 0);
	exec_bind(st,
	          "INSERT INTO reference (model_id, feature, kind, n, profile, created) "
	          "VALUES (?1, 'c', 2, 400, ?2, 1)",
	          "ib", model, blob, (int)len);
	free(blob);
	drift_ref_fini(&ref);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

struct tier_row {
	int found;
	int64_t windows, count, errors, labelled, llm, in_tok;
	double acc_num, acc_den, p50, p90, p99, max;
	int64_t ttft_count;
	/* feature x */
	int64_t fn;
	double max_sev, ks, ks_p, wasserstein, psi, js, severity;
	int64_t drifted_windows;
	struct sample_reservoir res;
	bool has_res;
	int64_t fair[2][3];
};

static int tier_cb(struct db_stmt *s, void *arg)
{
	struct tier_row *t = arg;
	struct ddsketch *sk = NULL;

	t->found = 1;
	t->windows = db_column_int64(s, 0);
	t->count = db_column_int64(s, 1);
	t->errors = db_column_int64(s, 2);
	t->labelled = db_column_int64(s, 3);
	t->llm = db_column_int64(s, 4);
	t->in_tok = db_column_int64(s, 5);
	t->acc_num = db_column_double(s, 6);
	t->acc_den = db_column_double(s, 7);
	t->p50 = db_column_double(s, 8);
	t->p90 = db_column_double(s, 9);
	t->p99 = db_column_double(s, 10);
	t->max = db_column_double(s, 11);
	if (db_column_blob(s, 12)) {
		cr_assert_eq(
		    ddsketch_decode(db_column_blob(s, 12), (size_t)db_column_bytes(s, 12), &sk), 0);
		t->ttft_count = (int64_t)ddsketch_count(sk);
		ddsketch_free(sk);
	}
	return 0;
}

static int feat_cb(struct db_stmt *s, void *arg)
{
	struct tier_row *t = arg;

	t->fn = db_column_int64(s, 0);
	t->max_sev = db_column_double(s, 1);
	t->ks = db_column_double(s, 2);
	t->ks_p = db_column_double(s, 3);
	t->wasserstein = db_column_double(s, 4);
	t->psi = db_column_double(s, 5);
	t->js = db_column_double(s, 6);
	t->severity = db_column_double(s, 7);
	t->drifted_windows = db_column_int64(s, 8);
	cr_assert_not_null(db_column_blob(s, 9));
	cr_assert_eq(sample_reservoir_decode(&t->res, SAMPLE_WINDOW_MAX, db_column_blob(s, 9),
	                                     (size_t)db_column_bytes(s, 9)),
	             0);
	t->has_res = true;
	return 0;
}

static int fair_cb(struct db_stmt *s, void *arg)
{
	struct tier_row *t = arg;
	int g = strcmp((const char *)db_column_text(s, 0), "a") == 0 ? 0 : 1;

	for (int k = 0; k < 3; k++)
		t->fair[g][k] = db_column_int64(s, 1 + k);
	return 0;
}

/* Runs sql (?1 model, ?2 tier, ?3 start) with cb on each row. */
static void query_tier(struct store *st, const char *sql, int64_t model, int64_t tier,
                       int64_t start, db_row_fn cb, void *arg)
{
	struct db_stmt *s = NULL;

	cr_assert_eq(db_prepare(st->db, sql, &s), DB_OK, "%s: %s", sql, store_errmsg(st));
	db_bind_int64(s, 1, model);
	db_bind_int64(s, 2, tier);
	db_bind_int64(s, 3, start);
	cr_assert_eq(store_each_row(s, cb, arg), 0);
	db_finalize(s);
}

static void read_tier(struct store *st, int64_t model, int64_t tier, int64_t start,
                      struct tier_row *t)
{
	memset(t, 0, sizeof(*t));
	query_tier(st,
	           "SELECT windows, count, errors, labelled, llm, input_tokens, acc_num, acc_den, "
	           "p50, p90, p99, max, ttft_sketch FROM tiers WHERE model_id = ?1 AND tier = ?2 "
	           "AND start = ?3",
	           model, tier, start, tier_cb, t);
	query_tier(
	    st,
	    "SELECT f.n, f.max_severity, f.ks, f.ks_p, f.wasserstein, f.psi, f.js, "
	    "f.severity, f.drifted_windows, s.sample FROM tier_features f JOIN tier_samples s "
	    "USING (model_id, tier, start, feature) WHERE f.model_id = ?1 AND f.tier = ?2 "
	    "AND f.start = ?3 AND f.feature = 'x'",
	    model, tier, start, feat_cb, t);
	query_tier(st,
	           "SELECT grp, n, labelled, correct FROM tier_fairness WHERE model_id = ?1 AND "
	           "tier = ?2 AND start = ?3 AND attribute = 'sex'",
	           model, tier, start, fair_cb, t);
}

/* The exact value of rank floor(q (n - 1)) of sorted v (DDSketch's rank). */
static double rank_q(const double *v, size_t n, double q)
{
	return v[(size_t)floor(q * (double)(n - 1))];
}

struct cat_row {
	bool found;
	int64_t n;
	double psi, js, severity, chi2_p, chi2;
	struct sample_cats cats;
};

static int cats_cb(struct db_stmt *s, void *arg)
{
	struct cat_row *c = arg;

	c->n = db_column_int64(s, 0);
	c->psi = db_column_double(s, 1);
	c->js = db_column_double(s, 2);
	c->severity = db_column_double(s, 3);
	c->chi2_p = db_column_double(s, 4);
	c->chi2 = db_column_type(s, 5) == DB_NULL ? NAN : db_column_double(s, 5);
	cr_assert_not_null(db_column_blob(s, 6));
	cr_assert_eq(
	    sample_cats_decode(&c->cats, db_column_blob(s, 6), (size_t)db_column_bytes(s, 6)), 0);
	c->found = true;
	return 0;
}

/* The categorical feature: merged counts per name equal the raw ones, and
 * drift on them equals drift on the raw values, exactly. */
static void check_cats(struct store *st, int64_t model, int64_t tier, int64_t start)
{
	struct cat_row c = {0};
	struct sample_cats *got = &c.cats;
	const char **vals = malloc(nraw * sizeof(*vals));
	struct drift_ref ref;
	struct drift_result dr;
	size_t n = 0;

	query_tier(st,
	           "SELECT f.n, f.psi, f.js, f.severity, f.chi2_p, f.chi2, s.sample FROM "
	           "tier_features f JOIN tier_samples s USING (model_id, tier, start, feature) "
	           "WHERE f.model_id = ?1 AND f.tier = ?2 AND f.start = ?3 AND f.feature = 'c'",
	           model, tier, start, cats_cb, &c);
	cr_assert(c.found, "no categorical tier row");
	for (size_t i = 0; i < nraw; i++)
		if (raws[i].start >= start && raws[i].start < start + tier)
			vals[n++] = raws[i].cat;
	cr_assert_eq((size_t)c.n, n);
	cr_assert_eq(got->total, (uint64_t)n);
	for (size_t i = 0; i < got->n; i++) {
		uint64_t want = 0;
		for (size_t k = 0; k < n; k++)
			want += strcmp(vals[k], got->cats[i].name) == 0;
		cr_assert_eq(got->cats[i].count, want, "%s", got->cats[i].name);
	}
	cr_assert_eq(cat_ref(&ref), 0);
	cr_assert_eq(drift_categorical_values(&ref, vals, n, NULL, &dr), 0);
	cr_assert_eq(c.psi, dr.psi);
	cr_assert_eq(c.js, dr.js);
	cr_assert_eq(c.severity, dr.severity);
	cr_assert_eq(c.chi2_p, dr.chi2_p);
	if (isfinite(dr.chi2))
		cr_assert_eq(c.chi2, dr.chi2);
	drift_ref_fini(&ref);
	sample_cats_fini(got);
	free(vals);
}

/* Every figure of the tier row of [start, start + tier) against the raw
 * events in it. */
static void check_tier(struct store *st, int64_t model, int64_t tier, int64_t start,
                       const struct drift_ref *ref)
{
	struct tier_row t;
	double *lat = malloc(nraw * sizeof(double)), *x = malloc(nraw * sizeof(double));
	int64_t count = 0, errors = 0, labelled = 0, correct = 0, llm = 0, tokens = 0;
	int64_t fair[2][3] = {{0}}, minutes = 0;
	double max_sev = -1;
	int64_t drifted = 0;
	struct drift_result dr;

	cr_assert(lat && x);
	read_tier(st, model, tier, start, &t);
	cr_assert(t.found, "tier %lld row %lld missing", (long long)tier, (long long)start);
	for (size_t i = 0; i < nraw; i++) {
		struct raw *r = &raws[i];
		if (r->start < start || r->start >= start + tier)
			continue;
		lat[count] = r->latency;
		x[count] = r->x;
		count++;
		errors += r->error;
		labelled += r->labelled;
		correct += r->correct;
		if (r->llm_tokens) {
			llm++;
			tokens += r->llm_tokens;
		}
		int g = strcmp(r->grp, "a") == 0 ? 0 : 1;
		fair[g][0]++;
		fair[g][1] += r->labelled;
		fair[g][2] += r->correct;
	}
	for (int64_t m = start; m < start + tier; m += WIN) {
		bool any = false;
		for (size_t i = 0; i < nraw && !any; i++)
			any = raws[i].start == m;
		if (!any)
			continue;
		minutes++;
		max_sev = fmax(max_sev, (double)(m - T0) / 86400.0);
		drifted += ((m - T0) / WIN) % 97 == 0;
	}
	/* counts exactly */
	cr_assert_eq(t.windows, minutes);
	cr_assert_eq(t.count, count, "tier %lld %lld: count %lld, raw %lld", (long long)tier,
	             (long long)start, (long long)t.count, (long long)count);
	cr_assert_eq(t.errors, errors);
	cr_assert_eq(t.labelled, labelled);
	cr_assert_eq(t.llm, llm);
	cr_assert_eq(t.in_tok, tokens);
	cr_assert_eq(t.ttft_count, llm);
	cr_assert_eq(t.acc_den, (double)labelled);
	cr_assert(fabs(t.acc_num - (double)correct) < 1e-6, "correct %g vs %lld", t.acc_num,
	          (long long)correct);
	for (int g = 0; g < 2; g++)
		for (int k = 0; k < 3; k++)
			cr_assert_eq(t.fair[g][k], fair[g][k]);
	cr_assert_eq(t.fn, count);
	cr_assert_eq(t.max_sev, max_sev);
	cr_assert_eq(t.drifted_windows, drifted);
	/* quantiles to the sketch's bound (alpha 1%) */
	qsort(lat, (size_t)count, sizeof(double), cmp_d);
	{
		const double qs[] = {0.5, 0.9, 0.99};
		const double got[] = {t.p50, t.p90, t.p99};
		for (int k = 0; k < 3; k++) {
			double want = rank_q(lat, (size_t)count, qs[k]);
			cr_assert(fabs(got[k] - want) <= 0.01 * want + 1e-9, "q%g: %g vs %g", qs[k],
			          got[k], want);
		}
		cr_assert(fabs(t.max - lat[count - 1]) <= 1e-9);
	}
	/* the merged reservoir holds every value (fewer than its bound), and
	 * drift on it is drift on the raw values, exactly */
	cr_assert(t.has_res);
	cr_assert_eq((int64_t)t.res.len, count);
	qsort(x, (size_t)count, sizeof(double), cmp_d);
	{
		double *got = malloc((size_t)count * sizeof(double));
		memcpy(got, t.res.values, (size_t)count * sizeof(double));
		qsort(got, (size_t)count, sizeof(double), cmp_d);
		cr_assert_eq(memcmp(got, x, (size_t)count * sizeof(double)), 0);
		free(got);
	}
	cr_assert_eq(drift_numeric(ref, x, (size_t)count, NULL, &dr), 0);
	cr_assert_eq(t.ks, dr.ks);
	cr_assert_eq(t.ks_p, dr.ks_p);
	cr_assert_eq(t.wasserstein, dr.wasserstein);
	cr_assert_eq(t.psi, dr.psi);
	cr_assert_eq(t.js, dr.js);
	cr_assert_eq(t.severity, dr.severity);
	sample_reservoir_fini(&t.res);
	check_cats(st, model, tier, start);
	free(lat);
	free(x);
}

static struct drift_ref the_ref;

struct found {
	int64_t k[16];
	size_t n;
};

static void found_cb(int64_t model_id, int64_t start, double analyzed, void *arg)
{
	struct found *f = arg;
	cr_assert_eq(model_id, 1);
	cr_assert_eq(analyzed, (double)(T0 + 86400 + 100));
	if (f->n < 16)
		f->k[f->n++] = start;
}

static void day_of_traffic(struct store *st)
{
	struct store_rollup *r;
	uint64_t seed = 42;
	int64_t late[] = {T0 + 5 * WIN, T0 + 700 * WIN, T0 + 1439 * WIN};
	double v[500];

	nraw = 0;
	for (int i = 0; i < 500; i++)
		v[i] = (double)(i % 100) / 10.0;
	cr_assert_eq(drift_ref_numeric(&the_ref, v, 500, 7), 0);
	exec_bind(st, "INSERT INTO models (id, name, created) VALUES (1, 'm', 0)", "");
	put_reference(st, 1);
	cr_assert_eq(store_rollup_open(&r, st), 0);
	cr_assert_eq(store_begin(st), 0);
	for (int64_t m = 0; m < 1440; m++) {
		if (m % 60 == 30)
			continue; /* a quiet minute now and then */
		gen_minute(T0 + m * WIN, &seed, PER_MIN);
		write_minute(st, 1, T0 + m * WIN, (double)(T0 + m * WIN + WIN + 3));
	}
	cr_assert_eq(store_commit(st), 0);
	cr_assert_eq(store_rollup_range(r, 1, T0, T0 + 86400, T0 + 86400 + 10), 0);

	/* late events reopen three minutes (one of them was quiet before):
	 * analysis rewrites them later, and the rollup finds them by
	 * windows.analyzed and rebuilds their hours and the day */
	late[1] = T0 + 690 * WIN; /* minute 690 is quiet (690 % 60 == 30) */
	cr_assert_eq(store_begin(st), 0);
	for (size_t i = 0; i < 3; i++) {
		gen_minute(late[i], &seed, 2);
		write_minute(st, 1, late[i], (double)(T0 + 86400 + 100));
	}
	cr_assert_eq(store_commit(st), 0);
	{
		struct found f = {0};
		int n = store_rollup_changed(r, (double)(T0 + 86400 + 50), 0, 100, found_cb, &f);
		cr_assert_eq(n, 3, "the three reopened minutes, got %d", n);
		cr_assert_eq(store_begin(st), 0);
		for (size_t i = 0; i < f.n; i++) {
			int64_t h = f.k[i] - f.k[i] % ROLLUP_HOUR;
			cr_assert_eq(store_rollup_build(r, 1, ROLLUP_HOUR, h, T0 + 86400 + 200), 0);
		}
		cr_assert_eq(store_rollup_build(r, 1, ROLLUP_DAY, T0, T0 + 86400 + 200), 0);
		cr_assert_eq(store_commit(st), 0);
		/* strictly after the newest: nothing left */
		cr_assert_eq(
		    store_rollup_changed(r, (double)(T0 + 86400 + 100), 0, 100, found_cb, &f), 0);
	}
	store_rollup_close(r);
}

static void check_day(struct store *st)
{
	for (int64_t h = T0; h < T0 + 86400; h += 3600)
		check_tier(st, 1, ROLLUP_HOUR, h, &the_ref);
	check_tier(st, 1, ROLLUP_DAY, T0, &the_ref);
	drift_ref_fini(&the_ref);
	free(raws);
	raws = NULL;
	nraw = capraw = 0;
}

static char *dir;
static void readers_agree(struct store *st);

static void setup(void)
{
	dir = h_tmpdir("rollup");
}

static void teardown(void)
{
	h_rmtree(dir);
	free(dir);
}

TestSuite(rollup, .init = setup, .fini = teardown);

Test(rollup, tiers_equal_recomputation_sqlite)
{
	struct store st;
	char path[600], err[256];

	snprintf(path, sizeof(path), "%s/t.db", dir);
	cr_assert_eq(store_open(&st, path, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	day_of_traffic(&st);
	check_day(&st);
	store_close(&st);
}

/* No .timeout on the two long tests: Criterion 2.4.1's runner leaks a
 * 48-byte timeout record when a test with one runs beside others (jobs
 * 2), which fails make asan's leak check (see test_calibrate.c). Their
 * waits are bounded: the cluster's by pg_harness, the days by count. */
Test(rollup, tiers_equal_recomputation_postgres)
{
	struct pg_cluster pg;
	struct store st;
	char err[512];

	/* scripts/deps.sh installs the server: no skip */
	cr_assert_eq(pg_cluster_start(&pg, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_open(&st, pg.uri, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s",
	             err);
	day_of_traffic(&st);
	check_day(&st);
	readers_agree(&st);
	store_close(&st);
	pg_cluster_destroy(&pg);
}

/* Acceptance 3: a store fed for 40 simulated days (the clock is the `now`
 * each step is given) keeps raw events for 7 days and minute windows for
 * 30 (the defaults), the tiers beyond, and stops growing once retention
 * deletes as much as a day adds. */
Test(rollup, retention_keeps_the_store_flat_over_40_days)
{
	struct store st;
	struct store_ingest *si;
	struct store_rollup *r;
	char path[600], err[256];
	uint64_t seed = 7;
	int64_t size[41] = {0};
	const int days = 40;

	snprintf(path, sizeof(path), "%s/flat.db", dir);
	cr_assert_eq(store_open(&st, path, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	si = store_ingest_new(&st);
	cr_assert_not_null(si);
	cr_assert_eq(store_rollup_open(&r, &st), 0);
	exec_bind(&st, "INSERT INTO models (id, name, created) VALUES (1, 'm', 0)", "");
	put_reference(&st, 1);
	for (int d = 0; d < days; d++) {
		int64_t day = T0 + (int64_t)d * 86400;
		double now = (double)(day + 86400 + 60);
		struct store_retention ret = {.raw_before = now - 7 * 86400.0,
		                              .windows_before = (int64_t)now - 30 * 86400,
		                              .seen_before = now - 86400.0,
		                              .now = now,
		                              .chunk = 5000};
		int more;

		cr_assert_eq(store_begin(&st), 0);
		/* traffic in every fourth minute: 360 windows a day */
		for (int64_t m = 0; m < 1440; m += 4) {
			int64_t start = day + m * WIN;
			nraw = 0;
			gen_minute(start, &seed, PER_MIN);
			write_minute(&st, 1, start, (double)(start + WIN + 3));
			for (size_t i = 0; i < nraw; i++) {
				char feats[64];
				snprintf(feats, sizeof(feats), "{\"x\":%.2f}", raws[i].x);
				exec_bind(
				    &st,
				    "INSERT INTO events (model_id, ts, window_start, latency_ms, "
				    "error, features) VALUES (1, ?1, ?2, ?3, ?4, ?5)",
				    "diidt", (double)start + (double)i, start, raws[i].latency,
				    (int64_t)raws[i].error, feats);
			}
		}
		cr_assert_eq(store_commit(&st), 0);
		cr_assert_eq(store_rollup_range(r, 1, day, day + 86400, now), 0);
		do {
			struct store_retention_done done;
			cr_assert_eq(store_begin(&st), 0);
			more = store_ingest_retention_step(si, &ret, &done);
			cr_assert_geq(more, 0, "%s", store_errmsg(&st));
			cr_assert_eq(store_commit(&st), 0);
		} while (more);
		do {
			int64_t deleted;
			cr_assert_eq(store_begin(&st), 0);
			more = store_rollup_retention_step(
			    r, (int64_t)now - 400 * 86400, (int64_t)now - 1825 * 86400,
			    ((int64_t)now - 7 * 86400) / 86400 * 86400 - 86400, 5000, &deleted);
			cr_assert_geq(more, 0, "%s", store_errmsg(&st));
			cr_assert_eq(store_commit(&st), 0);
		} while (more);
		db_sqlite_checkpoint(st.db);
		size[d + 1] = store_file_size(&st);
		printf("rollup retention: day %2d size %.2f MB\n", d + 1,
		       (double)size[d + 1] / 1e6);
		fflush(stdout);
	}
	{
		double now = (double)(T0 + (int64_t)days * 86400 + 60);
		struct db_stmt *s = NULL;
		double v[5];
		cr_assert_eq(
		    db_prepare(st.db,
		               "SELECT (SELECT min(ts) FROM events), (SELECT min(start) FROM "
		               "windows), (SELECT min(start) FROM tiers WHERE tier = 3600), "
		               "(SELECT count(*) FROM tiers WHERE tier = 86400), "
		               "(SELECT min(start) FROM tier_samples)",
		               &s),
		    DB_OK);
		cr_assert_eq(db_step(s), DB_ROW);
		for (int i = 0; i < 5; i++)
			v[i] = db_column_double(s, i);
		db_finalize(s);
		cr_assert_geq(v[0], now - 7 * 86400.0 - 86400, "events older than 7 days kept");
		cr_assert_lt(v[0], now - 6 * 86400.0, "7 days of events expected");
		cr_assert_geq(v[1], now - 30 * 86400.0 - 86400, "minutes older than 30 days kept");
		cr_assert_lt(v[1], now - 29 * 86400.0, "30 days of minutes expected");
		cr_assert_eq(v[2], (double)T0, "the hours of day 1 are kept (400 days)");
		cr_assert_eq(v[3], (double)days, "a day row per day");
		/* merged samples only while a late event can rebuild their rows */
		cr_assert_geq(v[4], now - 9 * 86400.0, "tier samples older than 9 days kept");
		cr_assert_lt(v[4], now - 7 * 86400.0, "tier samples of the last week expected");
	}
	/* flat: once minutes expire (day 31 on), a day adds what retention
	 * removes; free pages are reused, the file does not grow */
	cr_assert_leq((double)size[days], 1.05 * (double)size[32], "grew from %lld to %lld bytes",
	              (long long)size[32], (long long)size[days]);
	store_rollup_close(r);
	store_ingest_free(si);
	store_close(&st);
	free(raws);
	raws = NULL;
	nraw = capraw = 0;
}

static int sum_bucket(const struct sq_latency *l, void *arg)
{
	double *v = arg;
	v[0] += (double)l->count;
	v[1] += (double)l->errors;
	v[2] += 1;
	return 0;
}

/* The dashboard's readers give the same figures from tiers as from
 * minutes: range sums exactly, hourly buckets' counts exactly, heatmap
 * cells' highest severity and windows. Removes the minutes of hour 2 to
 * prove the tier is read. */
struct cells {
	double sev[2][24], n[2][24]; /* features c, x */
};

static int cell_cb(const struct sq_drift_cell *c, void *arg)
{
	struct cells *k = arg;
	int64_t i = (c->bucket_start - T0) / 3600;
	int f = strcmp(c->feature, "x") == 0;
	cr_assert(i >= 0 && i < 24);
	cr_assert(f || strcmp(c->feature, "c") == 0, "%s", c->feature);
	k->sev[f][i] = c->severity;
	k->n[f][i] = c->windows;
	return 0;
}

static int llm_cb(const struct sq_latency *l, void *arg)
{
	double *v = arg;
	v[0] += (double)l->llm;
	v[1] += (double)l->input_tokens;
	v[2] += (double)(l->end - l->start);
	v[3] += l->ttft ? (double)ddsketch_count(l->ttft) : 0;
	return 0;
}

static int worst_cb(const struct sq_drift *d, void *arg)
{
	*(int64_t *)arg = d->start;
	return 0;
}

static void readers_agree(struct store *st)
{
	double ma[4] = {0}, mb[4] = {0};
	int64_t wa = 0, wb = 0, wc = 0;
	struct sq_sums da, db;
	double lda[3] = {0}, ldb[3] = {0};
	struct sq q;
	struct sq_sums a, b;
	struct store_rollup *r;
	struct cells ca, cb;
	double from = T0 + 1234, to = T0 + 86400 - 77, la[3] = {0}, lb[3] = {0};

	memset(&ca, 0, sizeof(ca));
	memset(&cb, 0, sizeof(cb));
	sq_init(&q, st);
	cr_assert_eq(sq_range_sums(&q, 1, from, to, &a), 0); /* no tier_until: minutes */
	cr_assert_eq(sq_range_sums(&q, 1, T0 - 10, T0 + 86400 + 10, &da), 0);
	cr_assert_eq(sq_latency_buckets(&q, 1, T0, T0 + 86400, 86400, sum_bucket, lda), 0);
	cr_assert_eq(sq_latency_buckets(&q, 1, T0, T0 + 86400, 3600, sum_bucket, la), 0);
	cr_assert_eq(sq_drift_cells(&q, 1, T0, T0 + 86400, 3600, cell_cb, &ca), 0);
	cr_assert_eq(sq_llm_each(&q, 1, from, to, llm_cb, ma), 0);
	cr_assert_gt(ma[0], 100);
	cr_assert_eq(sq_drift_worst_in(&q, 1, "x", from, to, worst_cb, &wa), 0);
	cr_assert_eq(sq_drift_worst_in(&q, 1, "c", from, to, worst_cb, &wc), 0);
	cr_assert_eq(store_rollup_open(&r, st), 0);
	cr_assert_eq(store_rollup_until_set(r, T0 + 86400), 0);
	store_rollup_close(r);
	exec_bind(st, "DELETE FROM windows WHERE start >= ?1 AND start < ?2", "ii",
	          (int64_t)(T0 + 7200), (int64_t)(T0 + 10800));
	exec_bind(st, "DELETE FROM drift WHERE start >= ?1 AND start < ?2", "ii",
	          (int64_t)(T0 + 7200), (int64_t)(T0 + 10800));
	cr_assert_eq(sq_range_sums(&q, 1, from, to, &b), 0);
	/* a whole day: its day row */
	cr_assert_eq(sq_range_sums(&q, 1, T0 - 10, T0 + 86400 + 10, &db), 0);
	cr_assert_eq(da.count, db.count);
	cr_assert_eq(da.errors, db.errors);
	cr_assert(fabs(da.acc_num - db.acc_num) < 1e-6);
	cr_assert_eq(sq_latency_buckets(&q, 1, T0, T0 + 86400, 86400, sum_bucket, ldb), 0);
	cr_assert_eq(lda[0], ldb[0]);
	cr_assert_eq(ldb[2], 1);
	cr_assert_eq(a.count, b.count);
	cr_assert_eq(a.errors, b.errors);
	cr_assert_eq(a.acc_den, b.acc_den);
	cr_assert(fabs(a.acc_num - b.acc_num) < 1e-6);
	cr_assert(fabs(a.est_num - b.est_num) < 1e-6);
	cr_assert_eq(a.cov_den, b.cov_den);
	cr_assert_eq(sq_latency_buckets(&q, 1, T0, T0 + 86400, 3600, sum_bucket, lb), 0);
	cr_assert_eq(la[0], lb[0]);
	cr_assert_eq(la[1], lb[1]);
	cr_assert_eq(lb[2], 24);
	cr_assert_eq(sq_drift_cells(&q, 1, T0, T0 + 86400, 3600, cell_cb, &cb), 0);
	cr_assert_eq(sq_llm_each(&q, 1, from, to, llm_cb, mb), 0);
	/* the worst minute through the tiers is the one the minutes gave */
	cr_assert_eq(sq_drift_worst_in(&q, 1, "x", from, to, worst_cb, &wb), 0);
	cr_assert_eq(wa, wb);
	cr_assert_eq(wa, T0 + 1438 * WIN, "the severity rises through the day (1439 is past to)");
	cr_assert_eq(sq_drift_worst_in(&q, 1, "c", from, to, worst_cb, &wb), 0);
	cr_assert_eq(wc, wb, "no severity: the latest minute");
	for (int i = 0; i < 4; i++)
		cr_assert_eq(ma[i], mb[i], "LLM figure %d: %g from minutes, %g from tiers", i,
		             ma[i], mb[i]);
	for (int f = 0; f < 2; f++)
		for (int i = 0; i < 24; i++) {
			/* c has no severity (NAN) in either; x's is known */
			cr_assert(ca.sev[f][i] == cb.sev[f][i] ||
			              (isnan(ca.sev[f][i]) && isnan(cb.sev[f][i])),
			          "feature %d hour %d", f, i);
			cr_assert_eq(ca.n[f][i], cb.n[f][i], "feature %d hour %d", f, i);
		}
	cr_assert_gt(cb.sev[1][23], 0.9);
	sq_fini(&q);
}

Test(rollup, readers_use_tiers_and_agree_with_minutes)
{
	struct store st;
	char path[600], err[256];

	snprintf(path, sizeof(path), "%s/r.db", dir);
	cr_assert_eq(store_open(&st, path, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	day_of_traffic(&st);
	readers_agree(&st);
	drift_ref_fini(&the_ref);
	free(raws);
	raws = NULL;
	nraw = capraw = 0;
	store_close(&st);
}

/* A stored sketch or sample that does not decode (a damaged file, a
 * future format) is left out of its tier and counted; the counts still
 * add up and the rollup goes on. */
Test(rollup, malformed_blobs_are_skipped_and_counted)
{
	struct store st;
	struct store_rollup *r;
	char path[600], err[256];
	static const uint8_t junk[] = {0xff, 0x01, 0x02, 0x03};
	struct tier_row t;

	snprintf(path, sizeof(path), "%s/bad.db", dir);
	cr_assert_eq(store_open(&st, path, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	exec_bind(&st, "INSERT INTO models (id, name, created) VALUES (1, 'm', 0)", "");
	exec_bind(&st,
	          "INSERT INTO windows (model_id, start, \"end\", count, errors, latency_sketch, "
	          "provisional, dirty, analyzed) VALUES (1, ?1, ?2, 7, 1, ?3, 0, 0, 1)",
	          "iib", (int64_t)T0, (int64_t)(T0 + WIN), junk, (int)sizeof(junk));
	exec_bind(&st,
	          "INSERT INTO window_features (model_id, start, feature, kind, n, sample) "
	          "VALUES (1, ?1, 'x', 1, 7, ?2)",
	          "ib", (int64_t)T0, junk, (int)sizeof(junk));
	exec_bind(&st,
	          "INSERT INTO drift (model_id, start, feature, kind, n) VALUES (1, ?1, 'x', 1, 7)",
	          "i", (int64_t)T0);
	cr_assert_eq(store_rollup_open(&r, &st), 0);
	cr_assert_eq(store_begin(&st), 0);
	cr_assert_eq(store_rollup_build(r, 1, ROLLUP_HOUR, T0, T0 + 100), 0);
	cr_assert_eq(store_commit(&st), 0);
	cr_assert_eq(store_rollup_bad(r), 2, "the sketch and the sample");
	/* a start not aligned to its tier is refused */
	cr_assert_eq(store_rollup_build(r, 1, ROLLUP_HOUR, T0 + 60, T0 + 100), -1);
	store_rollup_close(r);
	memset(&t, 0, sizeof(t));
	{
		struct db_stmt *s = NULL;
		cr_assert_eq(
		    db_prepare(st.db,
		               "SELECT windows, count, errors, labelled, llm, input_tokens, "
		               "acc_num, acc_den, p50, p90, p99, max, ttft_sketch FROM tiers "
		               "WHERE model_id = 1 AND tier = 3600 AND start = ?1",
		               &s),
		    DB_OK);
		db_bind_int64(s, 1, T0);
		cr_assert_eq(store_each_row(s, tier_cb, &t), 0);
		db_finalize(s);
	}
	cr_assert(t.found);
	cr_assert_eq(t.count, 7);
	cr_assert_eq(t.errors, 1);
	{
		struct db_stmt *s = NULL;
		cr_assert_eq(db_prepare(st.db,
		                        "SELECT count(*) FROM tiers WHERE p50 IS NULL AND "
		                        "latency_sketch IS NULL",
		                        &s),
		             DB_OK);
		cr_assert_eq(db_step(s), DB_ROW);
		cr_assert_eq(db_column_int64(s, 0), 1, "no latency: no sketch, NULL quantiles");
		db_finalize(s);
	}
	store_close(&st);
}
