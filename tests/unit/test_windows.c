/* windows: folding events into a window's state, kinds fixed per model,
 * quality counters, and the drift rows against a reference. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "featblob.h"
#include "drift.h"
#include "jsonw.h"
#include "vector.h"
#include "windows.h"
#include "reference.h"
#include "sample.h"

static struct store_raw_event ev(int64_t id, const char *features, const char *pred, double score)
{
	struct store_raw_event e = {0};
	e.id = id;
	e.model_id = 1;
	e.window_start = 60;
	e.ts = 61;
	featblob_set(&e, features);
	if (pred) {
		e.prediction.kind = VALUE_STRING;
		e.prediction.str = pred;
	}
	if (score >= 0) {
		e.has_score = true;
		e.score = score;
	}
	return e;
}

static void fold(struct wstate *w, struct wmodel *m, struct store_raw_event e)
{
	bool changed = false;
	cr_assert_eq(wstate_fold(w, m, &e, &changed), 0);
}

Test(windows, first_kind_wins_and_other_kind_is_a_type_error)
{
	struct wmodel *m = wmodel_new(1, "m", NULL);
	struct wstate *w = wstate_new(1, 60);
	struct store_feature_row fr;
	struct store_drift_row dr;
	struct jsonw j;
	bool changed = false;
	struct store_raw_event e = ev(1, "{\"a\":1.5,\"c\":\"x\",\"z\":null}", "yes", 0.8);

	jsonw_init(&j);
	cr_assert_eq(wstate_fold(w, m, &e, &changed), 0);
	cr_assert(changed); /* new kinds to record */
	fold(w, m, ev(2, "{\"a\":\"oops\",\"c\":\"y\"}", "no", 0.6));
	fold(w, m, ev(3, "{\"c\":7}", NULL, -1));
	fold(w, m, ev(4, NULL, "yes", 0.9));
	cr_assert_eq(w->events, 4);
	cr_assert_eq(w->upto_id, 4);
	cr_assert_eq(m->task, TASK_CLASSIFICATION);

	long a = wmodel_find(m, "a"), c = wmodel_find(m, "c");
	cr_assert_eq(m->f[a].kind, 1);
	cr_assert_eq(m->f[c].kind, 2);
	cr_assert_eq(wmodel_find(m, "z"), 2); /* known, kind unknown */
	cr_assert_eq(m->f[2].kind, 0);

	cr_assert_eq(wstate_feature_result(w, m, (size_t)a, &fr, &dr, &j), 0);
	cr_assert_eq(fr.n, 1);
	cr_assert_eq(fr.type_errors, 1);
	cr_assert_eq(fr.missing, 2);
	cr_assert_float_eq(dr.missing_rate, 0.5, 1e-12);
	cr_assert_float_eq(dr.type_error_rate, 0.25, 1e-12);
	cr_assert(dr.insufficient); /* no reference */
	cr_assert_null(dr.method);

	cr_assert_eq(wstate_feature_result(w, m, (size_t)c, &fr, &dr, &j), 0);
	cr_assert_eq(fr.n, 2);
	cr_assert_eq(fr.type_errors, 1);
	cr_assert_eq(fr.missing, 1);
	cr_assert_str_eq(dr.cur_hist, "{\"cells\":[\"x\",\"y\"],\"counts\":[1,1]}");

	long p = wmodel_find(m, WIN_PREDICTION), s = wmodel_find(m, WIN_SCORE);
	cr_assert_eq(m->f[p].kind, 2);
	cr_assert_eq(m->f[s].kind, 1);
	cr_assert_eq(w->est.n, 3);
	cr_assert_float_eq(w->est.sum_p, 0.8 + 0.6 + 0.9, 1e-12);
	jsonw_fini(&j);
	wstate_free(w);
	wmodel_free(m);
}

Test(windows, config_fixes_kind_and_task)
{
	struct model_feature_config fc[2] = {{.name = "zip", .kind = KIND_CATEGORICAL},
	                                     {.name = "a",
	                                      .kind = KIND_AUTO,
	                                      .method = "psi",
	                                      .threshold = 0.2,
	                                      .preset = "nannyml"}};
	struct model_config mc = {.name = "m",
	                          .task = "regression",
	                          .drift_preset = "evidently",
	                          .features = fc,
	                          .n_features = 2};
	struct wmodel *m = wmodel_new(1, "m", &mc);
	struct wstate *w = wstate_new(1, 60);
	struct store_raw_event e = ev(1, "{\"zip\":12345,\"a\":2}", NULL, -1);

	e.prediction.kind = VALUE_NUMBER;
	e.prediction.num = 3.5;
	fold(w, m, e);
	long z = wmodel_find(m, "zip");
	cr_assert_eq(m->f[z].kind, 2);
	cr_assert_eq(w->f[z].type_errors, 1); /* a number where text was declared */
	cr_assert_eq(m->task, TASK_REGRESSION);
	cr_assert_eq(m->f[wmodel_find(m, WIN_PREDICTION)].kind, 1);
	cr_assert_eq(m->f[wmodel_find(m, "a")].opts.method, DRIFT_METHOD_PSI);
	/* drift_preset: the feature's own, else the model's (also for a
	 * feature first seen in events) */
	cr_assert_eq(m->f[wmodel_find(m, "a")].opts.preset, DRIFT_PRESET_NANNYML);
	cr_assert_eq(m->f[z].opts.preset, DRIFT_PRESET_EVIDENTLY);
	cr_assert_eq(m->f[wmodel_add(m, "later", 0)].opts.preset, DRIFT_PRESET_EVIDENTLY);
	/* a reference kind does not override the config */
	double vals[] = {1, 2, 3};
	struct drift_ref ref;
	uint8_t *buf;
	size_t len;
	cr_assert_eq(drift_ref_numeric(&ref, vals, 3, 1), 0);
	cr_assert_eq(drift_ref_encode(&ref, &buf, &len), 0);
	cr_assert_eq(wmodel_set_reference(m, "zip", 1, buf, len), 0);
	cr_assert_eq(m->f[z].kind, 2);
	wmodel_reset_references(m);
	cr_assert(m->f[z].kind_fixed);
	free(buf);
	drift_ref_fini(&ref);
	wstate_free(w);
	wmodel_free(m);
}

Test(windows, drift_row_matches_the_library)
{
	struct wmodel *m = wmodel_new(1, "m", NULL);
	struct wstate *w = wstate_new(1, 60);
	double ref_vals[200], cur[300];
	struct drift_ref ref;
	struct drift_result r;
	struct store_feature_row fr;
	struct store_drift_row dr;
	struct jsonw j;
	uint8_t *buf;
	size_t len;
	char json[64];

	for (int i = 0; i < 200; i++)
		ref_vals[i] = i;
	cr_assert_eq(drift_ref_numeric(&ref, ref_vals, 200, 1), 0);
	cr_assert_eq(drift_ref_encode(&ref, &buf, &len), 0);
	cr_assert_eq(wmodel_set_reference(m, "a", 1, buf, len), 0);
	free(buf);
	for (int i = 0; i < 300; i++) {
		cur[i] = 50 + i;
		snprintf(json, sizeof(json), "{\"a\":%d}", 50 + i);
		fold(w, m, ev(i + 1, json, NULL, -1));
	}
	/* the collector's threshold (calibrated from the reference) and effect
	 * floor, applied to the library's result */
	{
		struct drift_opts o;

		cr_assert_eq(wmodel_threshold(m, (size_t)wmodel_find(m, "a"), 300, &o, NULL),
		             CALIB_SRC_CALIBRATED);
		cr_assert_eq(drift_numeric(&ref, cur, 300, &o, &r), 0);
		calib_apply_min_effect(&r, calib_min_effect_default(r.method));
	}
	jsonw_init(&j);
	cr_assert_eq(wstate_feature_result(w, m, (size_t)wmodel_find(m, "a"), &fr, &dr, &j), 0);
	cr_assert_eq(fr.n, 300);
	cr_assert_eq(fr.out_of_range, 150); /* 200..349 above the reference max 199 */
	cr_assert_float_eq(dr.ks, r.ks, 1e-15);
	cr_assert_float_eq(dr.ks_p, r.ks_p, 1e-15);
	cr_assert_float_eq(dr.wasserstein, r.wasserstein, 1e-15);
	cr_assert_float_eq(dr.psi, r.psi, 1e-15);
	cr_assert_float_eq(dr.threshold, r.threshold, 1e-15);
	cr_assert_float_eq(dr.severity, r.severity, 1e-12);
	cr_assert_str_eq(dr.method, "ks");
	cr_assert(dr.drifted);
	cr_assert(strncmp(dr.cur_hist, "{\"edges\":[", 10) == 0);
	jsonw_fini(&j);
	drift_ref_fini(&ref);
	wstate_free(w);
	wmodel_free(m);
}

Test(windows, confidence_rules)
{
	struct store_raw_event e = {0};
	double c;
	e.prediction.kind = VALUE_NUMBER;
	e.prediction.num = 0;
	e.has_score = true;
	e.score = 0.3;
	cr_assert(win_confidence(&e, &c));
	cr_assert_float_eq(c, 0.7, 1e-12); /* binary: score is P(class 1) */
	e.prediction.num = 1;
	cr_assert(win_confidence(&e, &c));
	cr_assert_float_eq(c, 0.3, 1e-12);
	e.scores_json = "{\"1\":0.9,\"0\":0.1}";
	cr_assert(win_confidence(&e, &c));
	cr_assert_float_eq(c, 0.9, 1e-12);
	e.has_score = false;
	e.scores_json = NULL;
	cr_assert(!win_confidence(&e, &c));
}

Test(windows, labels_carried_by_events_are_scored_when_folded)
{
	struct wmodel *m = wmodel_new(1, "m", NULL);
	struct wstate *w = wstate_new(1, 60);
	struct store_raw_event e = ev(1, NULL, "a", 0.9);

	e.label.kind = VALUE_STRING;
	e.label.str = "a";
	fold(w, m, e);
	e.id = 2;
	e.label.str = "b";
	fold(w, m, e);
	e.id = 3;
	e.label.kind = VALUE_NONE;
	fold(w, m, e);
	cr_assert_eq(w->labelled_fold, 2);
	cr_assert_eq(w->cls.total, 2);
	cr_assert_float_eq(quality_cls_accuracy(&w->cls), 0.5, 1e-12);
	/* regression: absolute errors */
	struct quality_cls cls;
	struct quality_reg reg = {0};
	struct value p = {VALUE_NUMBER, 2.0, NULL}, l = {VALUE_NUMBER, 3.5, NULL};
	quality_cls_init(&cls);
	cr_assert_eq(win_score_label(TASK_REGRESSION, &p, &l, &cls, &reg), 0);
	cr_assert_float_eq(quality_reg_mae(&reg), 1.5, 1e-12);
	l.kind = VALUE_STRING;
	l.str = "x";
	cr_assert_eq(win_score_label(TASK_REGRESSION, &p, &l, &cls, &reg), -1);
	cr_assert_eq(win_score_label(TASK_CLASSIFICATION, &p, &l, &cls, &reg), 1);
	quality_cls_fini(&cls);
	wstate_free(w);
	wmodel_free(m);
}

/* Features reach the fold as the blob the store hands out (a row stored as
 * JSON text before the blob is encoded by the reader): text with escapes,
 * blanks, booleans and arrays folds the same values as the plain text. */
Test(windows, stored_texts_of_either_shape_fold_the_same)
{
	static const char *const fast =
	    "{\"a\":-1.5e2,\"c\":\"caf\\u00e9 \\\"q\\\" \\\\ \\n\",\"z\":null, \"n\" : 7 }";
	static const char *const slow =
	    "{\"a\":-1.5e2,\"c\":\"caf\\u00e9 \\\"q\\\" \\\\ \\n\",\"z\":null,\"n\":7,"
	    "\"b\":true,\"arr\":[1]}";
	struct wmodel *m1 = wmodel_new(1, "m", NULL), *m2 = wmodel_new(1, "m", NULL);
	struct wstate *w1 = wstate_new(1, 60), *w2 = wstate_new(1, 60);

	fold(w1, m1, ev(1, fast, NULL, -1));
	fold(w2, m2, ev(1, slow, NULL, -1));
	const char *names[] = {"a", "c", "n"};
	for (int k = 0; k < 3; k++) {
		long i1 = wmodel_find(m1, names[k]), i2 = wmodel_find(m2, names[k]);
		cr_assert_geq(i1, 0);
		cr_assert_geq(i2, 0);
		cr_assert_eq(m1->f[i1].kind, m2->f[i2].kind, "%s", names[k]);
		cr_assert_eq(w1->f[i1].n, 1);
		cr_assert_eq(w2->f[i2].n, 1);
	}
	long c1 = wmodel_find(m1, "c"), c2 = wmodel_find(m2, "c");
	const char *want = "caf\xc3\xa9 \"q\" \\ \n";
	cr_assert_not_null(sample_cats_find(&w1->f[c1].cats, want, strlen(want)));
	cr_assert_not_null(sample_cats_find(&w2->f[c2].cats, want, strlen(want)));
	long a1 = wmodel_find(m1, "a");
	cr_assert_float_eq(w1->f[a1].res.values[0], -150.0, 1e-12);
	cr_assert_eq(m1->f[wmodel_find(m1, "z")].kind, 0);
	/* unreadable stored features (the reader marks them, hands none):
	 * nothing folded, the event still counts */
	struct store_raw_event bad = ev(2, NULL, NULL, -1);
	bad.features_bad = true;
	bad.features_err = "features blob byte 3: unknown type tag 9";
	fold(w1, m1, bad);
	cr_assert_eq(w1->f[a1].n, 1);
	cr_assert_eq(w1->events, 2);
	wstate_free(w1);
	wstate_free(w2);
	wmodel_free(m1);
	wmodel_free(m2);
}

/* drift.stats of a row: valid JSON with every further statistic; under the
 * evidently preset a numeric feature with few values carries the
 * categorical test's figures, an infinite chi2 as null (issue 14). */
Test(windows, drift_row_stats_json)
{
	struct model_config mc = {.name = "m", .drift_preset = "evidently"};
	struct wmodel *m = wmodel_new(1, "m", &mc);
	struct wstate *w = wstate_new(1, 60);
	double ref_vals[] = {1, 1, 2, 2};
	struct drift_ref ref;
	struct store_feature_row fr;
	struct store_drift_row dr;
	struct jsonw j;
	uint8_t *buf;
	size_t len;
	cJSON *o;

	cr_assert_eq(drift_ref_numeric(&ref, ref_vals, 4, 1), 0);
	cr_assert_eq(drift_ref_encode(&ref, &buf, &len), 0);
	cr_assert_eq(wmodel_set_reference(m, "a", 1, buf, len), 0);
	free(buf);
	fold(w, m, ev(1, "{\"a\":1}", NULL, -1));
	fold(w, m, ev(2, "{\"a\":7}", NULL, -1)); /* a value the reference lacks */
	jsonw_init(&j);
	cr_assert_eq(wstate_feature_result(w, m, (size_t)wmodel_find(m, "a"), &fr, &dr, &j), 0);
	cr_assert_str_eq(dr.method, "chi2");
	o = cJSON_Parse(dr.stats);
	cr_assert_not_null(o, "not JSON: %s", dr.stats);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "preset")->valuestring, "evidently");
	cr_expect_str_eq(cJSON_GetObjectItem(o, "ks_p_method")->valuestring, "exact");
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(o, "chi2")), "%s", dr.stats);
	cr_expect_eq(cJSON_GetObjectItem(o, "chi2_p")->valuedouble, 0);
	for (const char *const *k =
	         (const char *const[]){"hellinger", "linf", "tvd", "kl", "energy", "mwu_p",
	                               "welch_p", "ad_p", "cvm_p", NULL};
	     *k; k++)
		cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(o, *k)), "%s missing: %s", *k,
		          dr.stats);
	cJSON_Delete(o);
	jsonw_fini(&j);
	drift_ref_fini(&ref);
	wstate_free(w);
	wmodel_free(m);
}

/* What window_features.sample keeps (issue 18): the reservoir, a uniform
 * subsample of WINDOW_SAMPLE_KEEP values when larger, with the count of
 * values the window saw; a categorical feature's counts per name. */
Test(windows, feature_sample_is_bounded_and_keeps_what_was_seen)
{
	struct wmodel *m = wmodel_new(1, "m", NULL);
	struct wstate *w = wstate_new(1, 60);
	struct sample_reservoir r;
	struct sample_cats c;
	uint8_t *buf = NULL;
	size_t cap = 0, len = 0;
	char json[64];
	long a, k;

	for (int i = 0; i < 2000; i++) {
		snprintf(json, sizeof(json), "{\"a\":%d,\"k\":\"%s\"}", i, i % 4 ? "x" : "y");
		fold(w, m, ev(i + 1, json, NULL, -1));
	}
	a = wmodel_find(m, "a");
	k = wmodel_find(m, "k");
	cr_assert_eq(wstate_feature_sample(w, (size_t)a, 1, &buf, &cap, &len), 0);
	cr_assert_gt(len, 0);
	cr_assert_eq(sample_reservoir_decode(&r, SAMPLE_WINDOW_MAX, buf, len), 0);
	cr_assert_eq(r.len, WINDOW_SAMPLE_KEEP);
	cr_assert_eq(r.seen, 2000);
	for (size_t i = 0; i < r.len; i++)
		cr_assert(r.values[i] >= 0 && r.values[i] < 2000 &&
		          r.values[i] == floor(r.values[i]));
	sample_reservoir_fini(&r);
	cr_assert_eq(wstate_feature_sample(w, (size_t)k, 2, &buf, &cap, &len), 0);
	cr_assert_eq(sample_cats_decode(&c, buf, len), 0);
	cr_assert_eq(c.total, 2000);
	cr_assert_eq(sample_cats_find(&c, "y", 1)->count, 500);
	sample_cats_fini(&c);
	/* a numeric feature has no category counts to keep */
	cr_assert_eq(wstate_feature_sample(w, (size_t)a, 2, &buf, &cap, &len), 0);
	cr_assert_eq(len, 0);
	free(buf);
	wstate_free(w);
	wmodel_free(m);
}

/* Issue 19: a vector feature's window is a sample of its vectors; a vector
 * of another dimension than the reference's is a type error; the drift row
 * carries every embedding method, and a window far from the reference is
 * drift by all five. */
Test(windows, vector_feature_window_and_drift_row)
{
	struct wmodel *m = wmodel_new(1, "m", NULL);
	struct wstate *w = wstate_new(1, 60);
	struct store_feature_row fr;
	struct store_drift_row dr;
	struct sample_rng r;
	struct jsonw j;
	float ref[300 * 4];
	uint8_t *blob;
	size_t len;
	char feats[256];

	jsonw_init(&j);
	sample_rng_seed(&r, 19);
	for (size_t i = 0; i < 300 * 4; i++)
		ref[i] = (float)sample_rng_double(&r);
	cr_assert_eq(vector_rows_encode(ref, 300, 4, &blob, &len), 0);
	cr_assert_eq(wmodel_set_reference(m, "emb", 3, blob, len), 0);
	free(blob);
	long e = wmodel_find(m, "emb");
	cr_assert_geq(e, 0);
	cr_expect_eq(m->f[e].kind, 3);
	cr_expect_eq(m->f[e].dim, 4);
	for (int i = 0; i < 200; i++) {
		snprintf(feats, sizeof(feats), "{\"emb\":[%.6g,%.6g,%.6g,%.6g],\"a\":%d}",
		         sample_rng_double(&r) + 0.5, sample_rng_double(&r),
		         sample_rng_double(&r) + 0.5, sample_rng_double(&r), i);
		fold(w, m, ev(i + 1, feats, NULL, -1));
	}
	fold(w, m, ev(201, "{\"emb\":[1,2,3]}", NULL, -1)); /* 3 dims: a type error */
	fold(w, m, ev(202, "{\"emb\":7}", NULL, -1));       /* a scalar: a type error */
	cr_assert_eq(wstate_feature_result(w, m, (size_t)e, &fr, &dr, &j), 0);
	cr_expect_eq(fr.kind, 3);
	cr_expect_eq(fr.n, 200);
	cr_expect_eq(fr.type_errors, 2);
	cr_expect_eq(dr.kind, 3);
	cr_expect_eq(dr.n_ref, 300);
	cr_expect_str_eq(dr.method, "embedding");
	cr_expect(!dr.insufficient);
	cr_expect(dr.drifted, "stats %s", dr.stats);
	cr_expect_eq(dr.score, 5, "stats %s", dr.stats);
	cr_expect_eq(dr.threshold, 3);
	cJSON *s = cJSON_Parse(dr.stats);
	cr_assert_not_null(s, "%s", dr.stats);
	cJSON *ms = cJSON_GetObjectItem(s, "methods");
	cr_expect_eq(cJSON_GetArraySize(ms), 5);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(ms, "mmd"), "drifted")));
	cr_expect(cJSON_IsNumber(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(ms, "classifier"), "threshold")));
	cJSON_Delete(s);
	jsonw_fini(&j);
	wstate_free(w);
	wmodel_free(m);
}

static double gauss(struct sample_rng *r)
{
	double u1 = 1.0 - sample_rng_double(r), u2 = sample_rng_double(r);

	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* Issue 19 acceptance 2 through the reference builder and a window: two
 * features whose correlation flips from 0.8 to -0.8 (marginals unchanged).
 * The reference gets a multivariate profile ("@multivariate", kind 4) of
 * its row-aligned numbers; the window's row-aligned sample gives a PCA
 * reconstruction error outside the band and a classifier AUC past its
 * threshold; a window like the reference stays inside. */
Test(windows, multivariate_row_catches_a_correlation_flip)
{
	struct refb *b = refb_new(NULL);
	struct ref_result rr;
	struct sample_rng r;
	char err[256], feats[128];
	struct ref_col_value cv[3];
	const struct ref_profile *p = NULL;

	sample_rng_seed(&r, 8);
	for (int i = 0; i < 3000; i++) {
		double z1 = gauss(&r), z2 = gauss(&r);
		struct ref_row row = {0};
		cv[0] = (struct ref_col_value){.name = "x", .v = {.is_number = true, .num = z1}};
		cv[1] = (struct ref_col_value){
		    .name = "y", .v = {.is_number = true, .num = 0.8 * z1 + 0.6 * z2}};
		cv[2] = (struct ref_col_value){.name = "c", .v = {.str = "k"}};
		row.f = cv;
		row.nf = 3;
		row.prediction.missing = row.score.missing = row.label.missing = true;
		cr_assert_eq(refb_add(b, &row, err, sizeof(err)), 0, "%s", err);
	}
	cr_assert_eq(refb_finish(b, &rr, err, sizeof(err)), 0, "%s", err);
	for (size_t i = 0; i < rr.n; i++)
		if (strcmp(rr.p[i].feature, "@multivariate") == 0)
			p = &rr.p[i];
	cr_assert_not_null(p, "no multivariate profile");
	cr_expect_eq(p->kind, 4);
	cr_expect_eq(p->n, 3000);
	cr_expect_str_eq(p->hist, "{\"columns\":2,\"rows\":3000}");

	for (int flip = 0; flip < 2; flip++) {
		struct wmodel *m = wmodel_new(1, "m", NULL);
		struct wstate *w = wstate_new(1, 60);
		struct store_feature_row fr;
		struct store_drift_row dr;
		struct jsonw j;

		jsonw_init(&j);
		cr_assert_eq(wmodel_set_reference(m, "@multivariate", 4, p->blob, p->len), 0);
		for (int i = 0; i < 1000; i++) {
			double z1 = gauss(&r), z2 = gauss(&r);
			double y = (flip ? -0.8 : 0.8) * z1 + 0.6 * z2;
			snprintf(feats, sizeof(feats), "{\"x\":%.17g,\"y\":%.17g}", z1, y);
			fold(w, m, ev(i + 1, feats, NULL, -1));
		}
		fold(w, m, ev(1001, "{\"x\":1}", NULL, -1)); /* not a whole row */
		long k = wmodel_find(m, "@multivariate");
		cr_assert_geq(k, 0);
		cr_assert_eq(wstate_feature_result(w, m, (size_t)k, &fr, &dr, &j), 0);
		cr_expect_eq(dr.kind, 4);
		cr_expect_eq(dr.n, 1000, "rows with every column");
		cr_expect_eq(dr.n_ref, 3000);
		cr_expect_str_eq(dr.method, "pca_recon");
		cJSON *s = cJSON_Parse(dr.stats);
		cr_assert_not_null(s, "%s", dr.stats);
		cJSON *ms = cJSON_GetObjectItem(s, "methods");
		bool pca = cJSON_IsTrue(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(ms, "pca_recon"), "drifted"));
		bool clf = cJSON_IsTrue(
		    cJSON_GetObjectItem(cJSON_GetObjectItem(ms, "classifier"), "drifted"));
		printf("multivariate window (%s): %s\n", flip ? "flipped" : "as reference",
		       dr.stats);
		cr_expect_eq(pca, flip == 1, "pca_recon: %s", dr.stats);
		cr_expect_eq(clf, flip == 1, "classifier: %s", dr.stats);
		cr_expect_eq(dr.drifted, flip == 1);
		cJSON_Delete(s);
		jsonw_fini(&j);
		wstate_free(w);
		wmodel_free(m);
	}
	ref_result_free(&rr);
	refb_free(b);
}

/* The fold tries the index the k-th feature had in the last event first
 * (events of a model keep one order nearly always); an event in another
 * order, with fewer or new features, still folds each value into its own
 * feature. */
Test(windows, features_in_any_order_fold_into_their_own_feature)
{
	struct wmodel *m = wmodel_new(1, "m", NULL);
	struct wstate *w = wstate_new(1, 60);

	fold(w, m, ev(1, "{\"a\":1,\"b\":\"x\"}", NULL, -1));
	fold(w, m, ev(2, "{\"b\":\"y\",\"a\":2}", NULL, -1));
	fold(w, m, ev(3, "{\"c\":3,\"a\":4}", NULL, -1));
	fold(w, m, ev(4, "{\"a\":5,\"b\":\"x\",\"c\":6}", NULL, -1));
	long a = wmodel_find(m, "a"), b = wmodel_find(m, "b"), c = wmodel_find(m, "c");
	cr_assert(a >= 0 && b >= 0 && c >= 0);
	cr_expect_eq(m->f[a].kind, 1);
	cr_expect_eq(m->f[b].kind, 2);
	cr_expect_eq(m->f[c].kind, 1);
	cr_expect_eq(w->f[a].n, 4);
	cr_expect_eq(w->f[b].n, 3);
	cr_expect_eq(w->f[c].n, 2);
	cr_expect_eq(w->f[a].type_errors + w->f[b].type_errors + w->f[c].type_errors, 0);
	double sum_a = 0, sum_c = 0;
	for (size_t i = 0; i < w->f[a].res.len; i++)
		sum_a += w->f[a].res.values[i];
	for (size_t i = 0; i < w->f[c].res.len; i++)
		sum_c += w->f[c].res.values[i];
	cr_expect_float_eq(sum_a, 1 + 2 + 4 + 5, 0);
	cr_expect_float_eq(sum_c, 3 + 6, 0);
	cr_expect_not_null(sample_cats_find(&w->f[b].cats, "y", 1));
	wstate_free(w);
	wmodel_free(m);
}
