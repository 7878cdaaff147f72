/* drift: the evidently preset on windows with categories the reference
 * lacks, each counted as a category of its own as Evidently does (the
 * union of both samples' values), against a numpy/scipy re-implementation
 * of Evidently's formulas (tests/data/evidently_unseen.json from
 * tests/data/gen_evidently_unseen.py); and the cap on split categories. */
#include <cJSON.h>
#include <errno.h>
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

static const char **strings(const cJSON *a, size_t *n)
{
	const cJSON *v;
	const char **x;
	size_t i = 0;

	cr_assert(cJSON_IsArray(a));
	*n = (size_t)cJSON_GetArraySize(a);
	x = malloc((*n ? *n : 1) * sizeof(*x));
	cr_assert_not_null(x);
	cJSON_ArrayForEach(v, a) x[i++] = v->valuestring;
	return x;
}

static double rel(double got, double want)
{
	if (got == want)
		return 0;
	return fabs(got - want) / (want != 0 ? fabs(want) : 1);
}

Test(drift_evidently, unseen_categories_each_their_own)
{
	char *path = h_src("tests/data/evidently_unseen.json");
	cJSON *doc = h_load_json(path);
	const cJSON *c;
	double worst = 0;
	int n_cases = 0, n_differ = 0;

	cr_assert_not_null(doc, "cannot read %s (set MLWATCH_SRC_DIR)", path);
	cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(doc, "cases"))
	{
		const char *name = cJSON_GetObjectItemCaseSensitive(c, "name")->valuestring;
		const char *want_m = cJSON_GetObjectItemCaseSensitive(c, "method")->valuestring;
		size_t nr, nc;
		const char **rv = strings(cJSON_GetObjectItemCaseSensitive(c, "ref"), &nr);
		const char **cv = strings(cJSON_GetObjectItemCaseSensitive(c, "cur"), &nc);
		struct drift_opts o = {.preset = DRIFT_PRESET_EVIDENTLY};
		struct drift_ref ref;
		struct drift_result r, pooled;
		uint64_t counts[DRIFT_MAX_CELLS] = {0};
		double e;

		cr_assert_eq(drift_ref_categorical_values(&ref, (const char *const *)rv, nr), 0);
		cr_assert_eq(drift_categorical_values(&ref, (const char *const *)cv, nc, &o, &r), 0,
		             "%s", name);
		cr_expect_str_eq(drift_method_name(r.method), want_m, "%s: default test", name);
		e = rel(r.psi, num(c, "psi"));
		cr_expect_leq(e, TOL_REL, "%s psi: got %.17g want %.17g", name, r.psi,
		              num(c, "psi"));
		worst = e > worst ? e : worst;
		e = rel(r.js, num(c, "js"));
		cr_expect_leq(e, TOL_REL, "%s js: got %.17g want %.17g", name, r.js, num(c, "js"));
		worst = e > worst ? e : worst;
		e = rel(r.chi2_p, num(c, "chi2_p"));
		cr_expect_leq(e, TOL_REL, "%s chi2 p: got %.17g want %.17g", name, r.chi2_p,
		              num(c, "chi2_p"));
		worst = e > worst ? e : worst;
		cr_expect_eq(r.chi2_dof, (int)num(c, "n_values") - 1, "%s dof", name);
		cr_expect_eq(r.drifted,
		             cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "drifted")), "%s",
		             name);
		/* what pooling into one "new" cell gave (the old behaviour) */
		for (size_t i = 0; i < nc; i++)
			counts[drift_ref_cell(&ref, cv[i], strlen(cv[i]))]++;
		cr_assert_eq(
		    drift_categorical_split(&ref, counts, ref.ncells, NULL, 0, &o, &pooled), 0);
		n_differ += pooled.js != r.js || pooled.method != r.method;
		drift_ref_fini(&ref);
		free(rv);
		free(cv);
		n_cases++;
	}
	printf("drift evidently unseen categories: %d cases vs Evidently's formulas: worst rel "
	       "err %.3g; %d differ from the pooled \"new\" cell\n",
	       n_cases, worst, n_differ);
	cr_expect_geq(n_cases, 6);
	cr_expect_geq(n_differ, 4);
	cJSON_Delete(doc);
	free(path);
}

/* The collector's form: counts per reference cell plus the unseen names'
 * counts; beyond DRIFT_NEW_CATS_MAX (or names past the window's table) the
 * rest of the "new" cell is one category, other_new. */
Test(drift_evidently, split_cap_and_other_new)
{
	const char *rv[] = {"a", "a", "b", "b", "b"};
	struct drift_ref ref;
	struct drift_opts o = {.preset = DRIFT_PRESET_EVIDENTLY, .method = DRIFT_METHOD_PSI};
	struct drift_result r, by_hand;
	uint64_t counts[DRIFT_MAX_CELLS] = {0}, nc[DRIFT_NEW_CATS_MAX + 1];
	double rp[3], cp[3 + DRIFT_NEW_CATS_MAX + 1], psi = 0;
	size_t k = 0;

	cr_assert_eq(drift_ref_categorical_values(&ref, rv, 5), 0);
	counts[0] = 10; /* b (ranked first) */
	counts[1] = 10; /* a */
	for (size_t i = 0; i < DRIFT_NEW_CATS_MAX; i++)
		nc[i] = 1;
	counts[ref.ncells - 1] = DRIFT_NEW_CATS_MAX + 6; /* 64 named + 6 more */
	cr_assert_eq(
	    drift_categorical_split(&ref, counts, ref.ncells, nc, DRIFT_NEW_CATS_MAX, &o, &r), 0);
	/* Evidently's PSI over b, a, 64 unseen of 1 each, other_new of 6 */
	rp[0] = 3.0 / 5;
	rp[1] = 2.0 / 5;
	cp[k++] = 10.0 / 90;
	cp[k++] = 10.0 / 90;
	for (size_t i = 0; i < DRIFT_NEW_CATS_MAX; i++)
		cp[k++] = 1.0 / 90;
	cp[k++] = 6.0 / 90;
	for (size_t i = 0; i < k; i++) {
		double a = i < 2 ? rp[i] : 0.0001;

		psi += (a - cp[i]) * log(a / cp[i]);
	}
	cr_expect_float_eq(r.psi, psi, 1e-12 * psi, "psi %.17g vs %.17g", r.psi, psi);
	cr_expect_eq(r.chi2_dof, (int)k - 1);
	/* more named categories than the cap is refused */
	cr_expect_eq(drift_categorical_split(&ref, counts, ref.ncells, nc, DRIFT_NEW_CATS_MAX + 1,
	                                     &o, &by_hand),
	             -EINVAL);
	/* another preset keeps the pooled cell: the same as without names */
	o.preset = DRIFT_PRESET_MLWATCH;
	cr_assert_eq(
	    drift_categorical_split(&ref, counts, ref.ncells, nc, DRIFT_NEW_CATS_MAX, &o, &r), 0);
	cr_assert_eq(drift_categorical(&ref, counts, ref.ncells, &o, &by_hand), 0);
	cr_expect_eq(r.psi, by_hand.psi);
	cr_expect_eq(r.chi2_p, by_hand.chi2_p);
	drift_ref_fini(&ref);
}
