/* metrics: the /metrics registry and exposition helpers. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../collector/metrics.h"

static void w1(struct metrics_out *out, void *arg)
{
	metrics_family(out, "x_total", "counter", "Things.\nMore");
	metrics_sample(out, "x_total", 3, NULL);
	metrics_sample(out, "x_total", 0.5, "model", "a\"b\\c\nd", "feature", "f", NULL);
}

static void w2(struct metrics_out *out, void *arg)
{
	metrics_family(out, "y", "gauge", (const char *)arg);
	metrics_sample(out, "y", NAN, NULL);
	metrics_sample(out, "y", INFINITY, "k", "v", NULL);
}

Test(metrics, renders_writers_in_order_with_escaping)
{
	struct metrics *m = metrics_new();
	size_t len;
	char *page;

	cr_assert_eq(metrics_register(m, w1, NULL), 0);
	cr_assert_eq(metrics_register(m, w2, "Y."), 0);
	page = metrics_render(m, &len);
	cr_assert_not_null(page);
	cr_assert_eq(strlen(page), len);
	cr_assert_str_eq(page, "# HELP x_total Things.\\nMore\n"
	                       "# TYPE x_total counter\n"
	                       "x_total 3\n"
	                       "x_total{model=\"a\\\"b\\\\c\\nd\",feature=\"f\"} 0.5\n"
	                       "# HELP y Y.\n"
	                       "# TYPE y gauge\n"
	                       "y NaN\n"
	                       "y{k=\"v\"} +Inf\n");
	free(page);
	metrics_unregister(m, w1, NULL);
	page = metrics_render(m, &len);
	cr_assert(strncmp(page, "# HELP y Y.", 11) == 0);
	free(page);
	metrics_unregister(m, w2, "Y.");
	page = metrics_render(m, &len);
	cr_assert_str_eq(page, "");
	cr_assert_eq(len, 0);
	free(page);
	metrics_free(m);
}
