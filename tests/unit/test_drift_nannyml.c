/* drift: the nannyml preset's thresholds as NannyML's DEFAULT_THRESHOLDS
 * (ks and wasserstein: StandardDeviationThreshold on the reference's own
 * chunks; tests/data/nannyml_thresholds.json from a numpy re-implementation,
 * tests/data/gen_nannyml_thresholds.py), kept across the profile's encoding,
 * and the verdicts they give on live windows. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"
#include "drift.h"

#define TOL_REL 1e-9

static double num(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	cr_assert(cJSON_IsNumber(v), "missing number '%s'", key);
	return v->valuedouble;
}

static double *doubles(const cJSON *a, size_t *n)
{
	const cJSON *v;
	size_t i = 0;
	double *x;

	cr_assert(cJSON_IsArray(a));
	*n = (size_t)cJSON_GetArraySize(a);
	x = malloc((*n ? *n : 1) * sizeof(*x));
	cr_assert_not_null(x);
	cJSON_ArrayForEach(v, a) x[i++] = v->valuedouble;
	return x;
}

/* Relative error, absolute near 0 (a threshold clipped to its limit 0). */
static double err(double got, double want)
{
	if (got == want)
		return 0;
	return fabs(got - want) / (fabs(want) > 1e-300 ? fabs(want) : 1);
}

static void check(const char *c, const char *what, double got, double want, double *worst)
{
	double e = err(got, want);

	cr_expect_leq(e, TOL_REL, "%s %s: got %.17g want %.17g", c, what, got, want);
	if (e > *worst)
		*worst = e;
}

Test(drift_nannyml, reference_chunk_thresholds_match_numpy)
{
	char *path = h_src("tests/data/nannyml_thresholds.json");
	cJSON *doc = h_load_json(path);
	const cJSON *c;
	double worst = 0;
	int n_cases = 0, n_windows = 0, n_drifted = 0;

	cr_assert_not_null(doc, "cannot read %s (set MLWATCH_SRC_DIR)", path);
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases"))
	{
		const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
		size_t n;
		double *ref_v = doubles(cJSON_GetObjectItemCaseSensitive(c, "ref"), &n);
		struct drift_ref ref, back;
		uint8_t *blob;
		size_t len;
		const cJSON *w;

		cr_assert_eq(drift_ref_numeric(&ref, ref_v, n, 1), 0, "%s", name);
		cr_assert(ref.chunk_thr.set, "%s: no chunk thresholds", name);
		cr_expect_eq(ref.chunk_thr.chunks, (uint32_t)num(c, "chunks"), "%s chunks", name);
		check(name, "ks_upper", ref.chunk_thr.ks_upper, num(c, "ks_upper"), &worst);
		check(name, "w_lower", ref.chunk_thr.w_lower, num(c, "w_lower"), &worst);
		check(name, "w_upper", ref.chunk_thr.w_upper, num(c, "w_upper"), &worst);
		/* the order is gone once stored: the thresholds travel with it */
		cr_assert_eq(drift_ref_encode(&ref, &blob, &len), 0);
		cr_assert_eq(drift_ref_decode(&back, blob, len), 0, "%s: decode", name);
		cr_expect(back.chunk_thr.set && back.chunk_thr.chunks == ref.chunk_thr.chunks &&
		              back.chunk_thr.ks_upper == ref.chunk_thr.ks_upper &&
		              back.chunk_thr.w_lower == ref.chunk_thr.w_lower &&
		              back.chunk_thr.w_upper == ref.chunk_thr.w_upper,
		          "%s: thresholds lost in the encoding", name);
		free(blob);
		cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(c, "windows"))
		{
			size_t m;
			double *cur = doubles(cJSON_GetObjectItemCaseSensitive(w, "cur"), &m);
			struct drift_opts o = {.preset = DRIFT_PRESET_NANNYML};
			struct drift_result r;
			bool ks_dr =
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(w, "ks_drifted"));
			bool w_dr = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(w, "w_drifted"));

			o.method = DRIFT_METHOD_KS;
			cr_assert_eq(drift_numeric(&back, cur, m, &o, &r), 0);
			cr_expect_eq(r.threshold_rule, DRIFT_THR_REFERENCE_CHUNKS, "%s", name);
			cr_expect_eq(r.threshold, ref.chunk_thr.ks_upper, "%s", name);
			check(name, "D (score)", r.score, num(w, "d"), &worst);
			cr_expect_eq(r.drifted, ks_dr, "%s: ks verdict D %.6g vs %.6g", name,
			             r.score, r.threshold);
			o.method = DRIFT_METHOD_WASSERSTEIN;
			cr_assert_eq(drift_numeric(&back, cur, m, &o, &r), 0);
			cr_expect_eq(r.threshold_rule, DRIFT_THR_REFERENCE_CHUNKS, "%s", name);
			cr_expect_eq(r.threshold_lower, ref.chunk_thr.w_lower, "%s", name);
			check(name, "W1 (score)", r.score, num(w, "w"), &worst);
			cr_expect_eq(r.drifted, w_dr,
			             "%s: wasserstein verdict W %.6g in [%.6g, %.6g]", name,
			             r.score, r.threshold_lower, r.threshold);
			n_drifted += ks_dr + w_dr;
			n_windows++;
			free(cur);
		}
		drift_ref_fini(&ref);
		drift_ref_fini(&back);
		free(ref_v);
		n_cases++;
	}
	printf("drift nannyml thresholds: %d references, %d windows (%d drifted verdicts) vs "
	       "numpy: worst rel err %.3g\n",
	       n_cases, n_windows, n_drifted, worst);
	cr_expect_geq(n_cases, 10);
	cr_expect_geq(n_drifted, 5);
	cJSON_Delete(doc);
	free(path);
}

/* The constant rules stay where NannyML has them (JS, Hellinger, L-inf:
 * ConstantThreshold 0.1), a configured threshold wins, and other presets
 * keep theirs. */
Test(drift_nannyml, other_rules)
{
	double v[40], lower;
	struct drift_ref ref;
	struct drift_opts o = {.preset = DRIFT_PRESET_NANNYML, .method = DRIFT_METHOD_KS};
	enum drift_method m;
	double t;

	for (int i = 0; i < 40; i++)
		v[i] = (double)(i % 13);
	cr_assert_eq(drift_ref_numeric(&ref, v, 40, 1), 0);
	cr_assert_eq(drift_resolve(&ref, &o, &m, &t), 0);
	cr_expect_eq(t, ref.chunk_thr.ks_upper);
	cr_expect_eq(drift_resolve_rule(&ref, &o, &lower), DRIFT_THR_REFERENCE_CHUNKS);
	o.threshold = 0.2;
	cr_expect_eq(drift_resolve_rule(&ref, &o, &lower), DRIFT_THR_CONFIGURED);
	o.threshold = 0;
	o.method = DRIFT_METHOD_DEFAULT; /* JS */
	cr_assert_eq(drift_resolve(&ref, &o, &m, &t), 0);
	cr_expect_eq(m, DRIFT_METHOD_JS);
	cr_expect_eq(t, 0.1);
	cr_expect_eq(drift_resolve_rule(&ref, &o, &lower), DRIFT_THR_DEFAULT);
	o.preset = DRIFT_PRESET_MLWATCH;
	o.method = DRIFT_METHOD_KS;
	cr_assert_eq(drift_resolve(&ref, &o, &m, &t), 0);
	cr_expect_eq(t, 0.05);
	cr_expect_eq(drift_resolve_rule(&ref, &o, &lower), DRIFT_THR_DEFAULT);
	cr_expect_str_eq(drift_threshold_rule_name(DRIFT_THR_REFERENCE_CHUNKS), "reference_chunks");
	drift_ref_fini(&ref);
	/* fewer than 10 values: no chunks, NannyML cannot fit either; the
	 * constant applies */
	cr_assert_eq(drift_ref_numeric(&ref, v, 9, 1), 0);
	cr_expect(!ref.chunk_thr.set);
	o.preset = DRIFT_PRESET_NANNYML;
	cr_expect_eq(drift_resolve_rule(&ref, &o, &lower), DRIFT_THR_DEFAULT);
	drift_ref_fini(&ref);
}

/* A version-2 profile's trailer is validated like the rest. */
Test(drift_nannyml, bad_trailer_refused)
{
	double v[30];
	struct drift_ref ref, back;
	uint8_t *blob;
	size_t len;

	for (int i = 0; i < 30; i++)
		v[i] = i * 0.5;
	cr_assert_eq(drift_ref_numeric(&ref, v, 30, 1), 0);
	cr_assert_eq(drift_ref_encode(&ref, &blob, &len), 0);
	cr_expect_eq(blob[0], 2);
	cr_expect_neq(drift_ref_decode(&back, blob, len - 1), 0, "short trailer");
	memset(blob + len - 8, 0xff, 8); /* w_upper NaN */
	cr_expect_neq(drift_ref_decode(&back, blob, len), 0, "NaN threshold");
	blob[0] = 1; /* version 1 with trailing bytes */
	cr_expect_neq(drift_ref_decode(&back, blob, len), 0, "version 1 with a trailer");
	free(blob);
	drift_ref_fini(&ref);
}
