/* The drift cases the peers publish in their own test suites
 * (../shared/testdata/peer-drift-tests/cases.json: Evidently, NannyML,
 * Alibi Detect, DDSketch), each under the preset of its source (issue 14):
 * the asserted value within its tolerance and the asserted verdict. A case
 * that cannot match fails. Prints "N/N values, N/N verdicts". */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"
#include "ddsketch.h"
#include "drift.h"
#include "sample.h"

/* The fixture lives in the shared tree beside the repository (CI: a fresh
 * clone with shared/ as ../shared); a worktree sits one level deeper. */
static cJSON *load_cases(void)
{
	char *path = h_shared("testdata/peer-drift-tests/cases.json");
	cJSON *doc = h_load_json(path);

	cr_assert(cJSON_IsArray(doc), "cannot read %s (set MLWATCH_SRC_DIR or MLWATCH_SHARED_DIR)",
	          path);
	free(path);
	return doc;
}

static const char *sget(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The preset of a case's source. Alibi Detect has no preset of its own:
 * its tests (KS, chi-square contingency) are mlwatch's sound defaults. */
static enum drift_preset preset_of(const char *id)
{
	if (strncmp(id, "ev-", 3) == 0)
		return DRIFT_PRESET_EVIDENTLY;
	if (strncmp(id, "nm-", 3) == 0)
		return DRIFT_PRESET_NANNYML;
	return DRIFT_PRESET_MLWATCH;
}

/* A case's method name as mlwatch's; -1 when mlwatch has none. */
static int method_of(const char *name)
{
	static const struct {
		const char *peer;
		enum drift_method m;
	} map[] = {
	    {"ks", DRIFT_METHOD_KS},
	    {"chisquare", DRIFT_METHOD_CHI2},
	    {"z", DRIFT_METHOD_Z},
	    {"psi", DRIFT_METHOD_PSI},
	    {"hellinger", DRIFT_METHOD_HELLINGER},
	    {"l_infinity", DRIFT_METHOD_LINF},
	    {"jensenshannon", DRIFT_METHOD_JS},
	    {"wasserstein", DRIFT_METHOD_WASSERSTEIN},
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].peer, name) == 0)
			return (int)map[i].m;
	return -1;
}

/* The value a case asserts, from the result of its method. */
static double value_of(enum drift_method m, const struct drift_result *r)
{
	switch (m) {
	case DRIFT_METHOD_KS:
		return r->ks_p;
	case DRIFT_METHOD_CHI2:
		return r->chi2_p;
	case DRIFT_METHOD_Z:
		return r->z_p;
	case DRIFT_METHOD_PSI:
		return r->psi;
	case DRIFT_METHOD_HELLINGER:
		return r->hellinger;
	case DRIFT_METHOD_LINF:
		return r->linf;
	case DRIFT_METHOD_JS:
		return r->js;
	case DRIFT_METHOD_WASSERSTEIN:
		return r->wasserstein;
	default:
		return NAN;
	}
}

/* The threshold a case's drift rule uses (Alibi: p_val, Bonferroni over the
 * 6 features of its chi-square test); 0 = the preset's default. */
static double threshold_of(const cJSON *params)
{
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(params, "threshold");
	const cJSON *pv = cJSON_GetObjectItemCaseSensitive(params, "p_val");
	const char *rule = sget(params, "drift_if");

	if (cJSON_IsNumber(t))
		return t->valuedouble;
	if (cJSON_IsNumber(pv))
		return rule && strstr(rule, "p_val/6") ? pv->valuedouble / 6 : pv->valuedouble;
	return 0;
}

/* A data item as a category name ("1" for 1, "a" for "a"); NULL for a
 * missing value (null) or "inf", which every source drops first. */
static const char *cat_of(const cJSON *v, char *buf, size_t len)
{
	if (cJSON_IsString(v))
		return strcmp(v->valuestring, "inf") == 0 ? NULL : v->valuestring;
	if (cJSON_IsNumber(v)) {
		snprintf(buf, len, "%.17g", v->valuedouble);
		return buf;
	}
	return NULL;
}

struct tally {
	int values, values_ok, verdicts, verdicts_ok;
};

/* Runs one drift case; records value and verdict checks in t. */
static void drift_case(const cJSON *c, struct tally *t)
{
	const char *id = sget(c, "id"), *kind = sget(c, "kind");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(c, "params");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expected");
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(exp, "value");
	const cJSON *drifted = cJSON_GetObjectItemCaseSensitive(exp, "drifted");
	const char *stattest = sget(params, "stattest");
	const char *tol_type = sget(exp, "tolerance_type");
	int mi = method_of(sget(c, "method"));
	struct drift_opts o = {0};
	struct drift_ref ref;
	struct drift_result r;
	const cJSON *v;
	bool dflt = stattest && strncmp(stattest, "default", 7) == 0;
	int rc;

	o.preset = preset_of(id);
	o.threshold = threshold_of(params);
	if (cJSON_IsNumber(want))
		t->values++;
	if (cJSON_IsBool(drifted))
		t->verdicts++;
	cr_expect_geq(mi, 0, "%s: mlwatch has no method '%s'", id, sget(c, "method"));
	if (mi < 0)
		return;
	o.method = dflt ? DRIFT_METHOD_DEFAULT : (enum drift_method)mi;
	if (strcmp(kind, "numeric") == 0) {
		size_t nr = 0, nc = 0;
		double *rv =
		    malloc(((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(c, "reference")) + 1) *
		           sizeof(*rv));
		double *cv =
		    malloc(((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(c, "current")) + 1) *
		           sizeof(*cv));

		cr_assert(rv && cv);
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(c, "reference")) if (cJSON_IsNumber(v))
		    rv[nr++] = v->valuedouble;
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(c, "current")) if (cJSON_IsNumber(v))
		    cv[nc++] = v->valuedouble;
		cr_assert_eq(drift_ref_numeric(&ref, rv, nr, 1), 0, "%s", id);
		rc = drift_numeric(&ref, cv, nc, &o, &r);
		free(rv);
		free(cv);
	} else {
		struct sample_cats cats;
		uint64_t counts[DRIFT_MAX_CELLS] = {0};
		char buf[64];

		sample_cats_init(&cats, 0);
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(c, "reference"))
		{
			const char *s = cat_of(v, buf, sizeof(buf));

			if (s)
				cr_assert_eq(sample_cats_add(&cats, s, strlen(s), 1), 0);
		}
		cr_assert_eq(drift_ref_categorical(&ref, &cats), 0, "%s", id);
		sample_cats_fini(&cats);
		cJSON_ArrayForEach(v, cJSON_GetObjectItem(c, "current"))
		{
			const char *s = cat_of(v, buf, sizeof(buf));

			if (s)
				counts[drift_ref_cell(&ref, s, strlen(s))]++;
		}
		rc = drift_categorical(&ref, counts, ref.ncells, &o, &r);
	}
	drift_ref_fini(&ref);
	cr_assert_eq(rc, 0, "%s: drift failed %d", id, rc);
	if (dflt)
		cr_expect_eq(r.method, (enum drift_method)mi, "%s: default chose %s, %s expected",
		             id, drift_method_name(r.method),
		             drift_method_name((enum drift_method)mi));
	if (cJSON_IsNumber(want)) {
		double got = value_of((enum drift_method)mi, &r), w = want->valuedouble;
		double tol = cJSON_GetObjectItem(exp, "tolerance")->valuedouble;
		bool rel = tol_type && strncmp(tol_type, "rel", 3) == 0;
		double err = rel ? fabs(got - w) / fabs(w) : fabs(got - w);
		bool ok = err <= tol + 1e-12;

		cr_expect(ok, "%s (%s preset): %s = %.10g, %s asserts %.10g +- %g%s", id,
		          drift_preset_name(o.preset), sget(c, "method"), got, id, w, tol,
		          rel ? " (relative)" : "");
		t->values_ok += ok;
	}
	if (cJSON_IsBool(drifted)) {
		bool ok = r.drifted == cJSON_IsTrue(drifted);

		cr_expect(ok, "%s: drifted %d (score %.6g, threshold %g), asserted %d", id,
		          r.drifted, r.score, r.threshold, cJSON_IsTrue(drifted));
		t->verdicts_ok += ok;
	}
}

/* DDSketch: the latency sketch's relative-accuracy guarantee on the case's
 * data, under the case's own rule (sketches-py: |q - data_q| <= a |data_q|;
 * sketches-go: between lo and hi widened by a). Negative values go to the
 * sketch's negative store (latency's v >= 0 is checked at the event layer). */
static void ddsketch_case(const cJSON *c, struct tally *t)
{
	const char *id = sget(c, "id");
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(c, "params");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expected");
	const cJSON *qs = cJSON_GetObjectItemCaseSensitive(params, "quantiles"), *v;
	double alpha = cJSON_GetObjectItem(params, "relative_accuracy")->valuedouble;
	bool go = strncmp(id, "ddgo-", 5) == 0;
	struct ddsketch *s = ddsketch_new();
	size_t n = 0, k = 0;
	double *x =
	    malloc((size_t)cJSON_GetArraySize(cJSON_GetObjectItem(c, "reference")) * sizeof(*x));
	bool all_ok = true;
	int add_rc = 0;

	cr_assert(s && x);
	cJSON_ArrayForEach(v, cJSON_GetObjectItem(c, "reference"))
	{
		x[n++] = v->valuedouble;
		if (add_rc == 0)
			add_rc = ddsketch_add(s, v->valuedouble);
	}
	t->values++;
	cr_expect_eq(add_rc, 0, "%s: the latency sketch cannot hold this data (%s)", id,
	             strerror(-add_rc));
	all_ok = add_rc == 0;
	cr_assert_eq(sample_sort(x, n), 0);
	cJSON_ArrayForEach(v, qs)
	{
		double q = v->valuedouble, got, lo, hi;

		if (!all_ok)
			break;
		cr_assert_eq(ddsketch_quantile(s, q, &got), 0);
		lo = x[(size_t)floor(q * (double)(n - 1))];
		hi = go ? x[(size_t)ceil(q * (double)(n - 1))] : lo;
		if (go) {
			bool ok = got >= fmin(lo * (1 - alpha), lo * (1 + alpha)) - 1e-11 &&
			          got <= fmax(hi * (1 - alpha), hi * (1 + alpha)) + 1e-11;

			cr_expect(ok, "%s q=%g: %g outside [%g, %g] +- %g", id, q, got, lo, hi,
			          alpha);
			all_ok &= ok;
		} else {
			bool ok = fabs(got - lo) - alpha * fabs(lo) <= 1e-15;

			cr_expect(ok, "%s q=%g: %g vs %g (alpha %g)", id, q, got, lo, alpha);
			all_ok &= ok;
		}
		k++;
	}
	(void)exp;
	t->values_ok += all_ok;
	free(x);
	ddsketch_free(s);
}

/* Every drift case (Evidently, NannyML, Alibi Detect) under its source's
 * preset: all must match. */
Test(peer_cases, drift_cases_under_their_source_preset)
{
	cJSON *doc = load_cases(), *c;
	struct tally t = {0};
	int n = 0;

	cJSON_ArrayForEach(c, doc)
	{
		if (strcmp(sget(c, "method"), "ddsketch_quantile") == 0)
			continue;
		drift_case(c, &t);
		n++;
	}
	printf("peer drift cases (%d): %d/%d values, %d/%d verdicts\n", n, t.values_ok, t.values,
	       t.verdicts_ok, t.verdicts);
	cr_expect_eq(n, 40);
	cr_expect_eq(t.values_ok, t.values);
	cr_expect_eq(t.verdicts_ok, t.verdicts);
	cJSON_Delete(doc);
}

/* The DDSketch cases: the relative-accuracy guarantee on every data set,
 * including the ones with negative values (NumberLine, Linear,
 * LinearWithZeroes). */
Test(peer_cases, ddsketch_cases_relative_accuracy)
{
	cJSON *doc = load_cases(), *c;
	struct tally t = {0};
	int n = 0;

	cJSON_ArrayForEach(c, doc)
	{
		if (strcmp(sget(c, "method"), "ddsketch_quantile") != 0)
			continue;
		ddsketch_case(c, &t);
		n++;
	}
	printf("peer DDSketch cases (%d): %d/%d within the guarantee\n", n, t.values_ok, t.values);
	cr_expect_eq(n, 6);
	cr_expect_eq(t.values, 6);
	cr_expect_eq(t.values_ok, t.values);
	cJSON_Delete(doc);
}
