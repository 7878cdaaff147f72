/* vecdim: the dimension of a vector feature fixed per model and feature by
 * its first vector; a request is all or nothing (issue 19). */
#include <criterion/criterion.h>
#include <string.h>

#include "stats.h"
#include "vecdim.h"
#include "vector.h"

static float v[8];

static struct feature vf(const char *name, size_t dim)
{
	return (struct feature){.name = name, .kind = FEATURE_VECTOR, .vec = v, .dim = dim};
}

Test(vecdim, first_vector_fixes_the_dimension_per_model_and_feature)
{
	struct vecdim *t = vecdim_new();
	struct event_error err;
	struct feature a3 = vf("emb", 3), a4 = vf("emb", 4), b4 = vf("other", 4);
	struct feature num = {.name = "x", .kind = FEATURE_NUMERIC, .num = 1};
	struct event ev[3] = {{.model = "m", .features = &a3, .n_features = 1},
	                      {.model = "n", .features = &a4, .n_features = 1},
	                      {.model = "m", .features = &num, .n_features = 1}};

	cr_assert_not_null(t);
	stats_reset();
	cr_assert_eq(vecdim_check(t, ev, 3, &err), 0, "per model: m.emb 3, n.emb 4");
	cr_expect_eq(vecdim_count(t), 2);
	ev[0].features = &a4; /* m.emb with 4 */
	cr_assert_eq(vecdim_check(t, ev, 1, &err), -1);
	cr_expect_eq(err.index, 0);
	cr_expect_str_eq(err.field, "features.emb");
	cr_expect_str_eq(
	    err.reason, "has 4 dimensions, this model's feature has 3 (fixed by its first vector)");
	cr_expect_eq(err.vector_reason, VECTOR_DIM);
	cr_expect_eq(stats_vector_refused_get(VECTOR_DIM), 1);
	/* a refused request fixes nothing: m.other is still free */
	struct feature both[2] = {b4, a4};
	ev[0].features = both;
	ev[0].n_features = 2;
	cr_assert_eq(vecdim_check(t, ev, 1, &err), -1);
	cr_expect_eq(vecdim_count(t), 2, "m.other was undone");
	struct feature other3 = vf("other", 3);
	ev[0].features = &other3;
	ev[0].n_features = 1;
	cr_expect_eq(vecdim_check(t, ev, 1, &err), 0, "m.other takes 3 now");
	cr_expect_eq(vecdim_count(t), 3);
	cr_expect_eq(vecdim_check(NULL, ev, 1, &err), 0);
	vecdim_free(t);
}
