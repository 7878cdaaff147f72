/* chart: axis ticks, time ticks, the braille canvas and its ASCII
 * fallback, sparklines and bars, computed without a terminal. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "../../tui/chart.h"

Test(chart, ticks_are_nice_and_cover_the_range)
{
	double t[16], lo, hi;
	int n = chart_ticks(0, 412, 6, t, &lo, &hi);

	cr_expect_eq(lo, 0);
	cr_expect_geq(hi, 412);
	cr_expect_leq(n, 6);
	cr_expect_geq(n, 3);
	/* steps of 1, 2 or 5 x 10^k */
	double step = t[1] - t[0];
	cr_expect(fabs(step - 100) < 1e-9 || fabs(step - 200) < 1e-9 || fabs(step - 50) < 1e-9,
	          "step %g", step);
	for (int i = 1; i < n; i++)
		cr_expect_float_eq(t[i] - t[i - 1], step, 1e-9);
	n = chart_ticks(0.72, 0.93, 5, t, &lo, &hi);
	cr_expect_leq(lo, 0.72);
	cr_expect_geq(hi, 0.93);
	cr_expect_float_eq(t[1] - t[0], 0.1, 1e-12);
	cr_expect_float_eq(t[0], 0.7, 1e-12);
}

Test(chart, ticks_of_a_flat_or_empty_series)
{
	double t[16], lo, hi;
	int n = chart_ticks(5, 5, 5, t, &lo, &hi);
	cr_expect_lt(lo, 5);
	cr_expect_gt(hi, 5);
	cr_expect_geq(n, 2);
	n = chart_ticks(0, 0, 5, t, &lo, &hi);
	cr_expect_eq(lo, 0);
	cr_expect_geq(hi, 1);
	n = chart_ticks(NAN, NAN, 5, t, &lo, &hi);
	cr_expect_eq(lo, 0);
	cr_expect_eq(hi, 1);
	cr_expect_geq(n, 2);
}

Test(chart, time_ticks_pick_a_step_that_fits)
{
	double t[64], step;
	/* 1 h on 100 columns with 5-column labels: 100/7 = 14 labels -> 5m */
	int n = chart_time_ticks(1764068400, 1764072000, 100, 5, t, 64, &step);
	cr_expect_eq(step, 300);
	cr_expect_eq(n, 13);
	cr_expect_eq(fmod(t[0], 300), 0);
	/* 7 days on 80 columns -> 1 day */
	n = chart_time_ticks(1764072000 - 7 * 86400, 1764072000, 80, 5, t, 64, &step);
	cr_expect_eq(step, 86400);
	cr_expect_leq(n, 8);
	cr_expect_eq(chart_time_ticks(10, 5, 80, 5, t, 64, &step), 0);
}

Test(chart, col_maps_and_clamps)
{
	cr_expect_eq(chart_col(0, 0, 10, 11), 0);
	cr_expect_eq(chart_col(10, 0, 10, 11), 10);
	cr_expect_eq(chart_col(5, 0, 10, 11), 5);
	cr_expect_eq(chart_col(-5, 0, 10, 11), 0);
	cr_expect_eq(chart_col(50, 0, 10, 11), 10);
}

Test(chart, braille_dots)
{
	struct chart c;
	char g[8];

	cr_assert_eq(chart_init(&c, 2, 1, 0, 1, 0, 1), 0);
	chart_dot(&c, 0, 0, 0);                               /* dot 1 */
	chart_dot(&c, 1, 3, 1);                               /* dot 8 */
	cr_expect_eq(chart_cell(&c, 0, 0, true, NULL, g), 2); /* owner: series 1 drawn last */
	cr_expect_str_eq(g, "\xe2\xa2\x81");                  /* U+2881 = dots 1 and 8 */
	cr_expect_eq(chart_cell(&c, 1, 0, true, NULL, g), 0);
	cr_expect_str_eq(g, " ");
	/* ASCII: the owner's character */
	cr_expect_eq(chart_cell(&c, 0, 0, false, ".*", g), 2);
	cr_expect_str_eq(g, "*");
	/* out of the canvas: ignored */
	chart_dot(&c, 99, 0, 0);
	chart_dot(&c, -1, 0, 0);
	cr_expect_eq(chart_cell(&c, 5, 5, true, NULL, g), 0);
	chart_free(&c);
}

Test(chart, lines_are_connected_and_break_on_nan)
{
	struct chart c;
	double x[4] = {0, 1, 2, 3}, y[4] = {0, 10, NAN, 10};
	char g[8];
	int filled = 0;

	cr_assert_eq(chart_init(&c, 4, 2, 0, 3, 0, 10), 0);
	chart_line(&c, x, y, 2, 0);
	/* a line from bottom-left to the top spans every row of its columns */
	for (int cy = 0; cy < 2; cy++)
		for (int cx = 0; cx < 4; cx++)
			filled += chart_cell(&c, cx, cy, true, NULL, g) != 0;
	cr_expect_geq(filled, 2);
	cr_expect_neq(chart_cell(&c, 0, 1, true, NULL, g), 0); /* bottom left */
	chart_free(&c);

	cr_assert_eq(chart_init(&c, 4, 2, 0, 3, 0, 10), 0);
	chart_line(&c, x + 2, y + 2, 2, 0); /* NAN then a lone point */
	cr_expect_neq(chart_cell(&c, 3, 0, true, NULL, g), 0);
	cr_expect_eq(chart_cell(&c, 0, 1, true, NULL, g), 0);
	chart_free(&c);
}

Test(chart, values_outside_are_clipped_and_counted)
{
	struct chart c;
	double x[2] = {0, 1}, y[2] = {50, -5};
	cr_assert_eq(chart_init(&c, 2, 2, 0, 1, 0, 10), 0);
	chart_line(&c, x, y, 2, 0);
	cr_expect_eq(c.clipped, 2);
	chart_free(&c);
}

Test(chart, hline_dashed)
{
	struct chart c;
	char g[8];
	cr_assert_eq(chart_init(&c, 4, 1, 0, 1, 0, 10), 0);
	chart_hline(&c, 10, 3, true);
	cr_expect_eq(chart_cell(&c, 0, 0, false, "....", g), 4);
	cr_expect_eq(chart_cell(&c, 1, 0, false, "....", g), 0);
	cr_expect_eq(chart_cell(&c, 2, 0, false, "....", g), 4);
	chart_hline(&c, 11, 3, false); /* above the range: not drawn */
	cr_expect_eq(chart_cell(&c, 1, 0, false, "....", g), 0);
	chart_free(&c);
	cr_expect_eq(chart_init(&c, 0, 1, 0, 1, 0, 1), -1);
}

Test(chart, sparklines)
{
	double v[5] = {0, 2.5, 5, 10, NAN};
	char out[64];
	cr_expect_str_eq(chart_spark(out, sizeof(out), v, 5, 0, 10, false), "_-+@ ");
	cr_expect_str_eq(chart_spark(out, sizeof(out), v, 1, 0, 10, true), "\xe2\x96\x81");
	cr_expect_eq(strlen(chart_spark(out, sizeof(out), v, 5, 0, 10, true)), 4 * 3 + 1);
	/* bounded by cap */
	cr_expect_eq(strlen(chart_spark(out, 5, v, 5, 0, 10, true)), 3);
}

Test(chart, bars)
{
	char out[64];
	cr_expect_str_eq(chart_bar(out, sizeof(out), 0.5, 4, false), "##  ");
	cr_expect_str_eq(chart_bar(out, sizeof(out), 1.0, 3, false), "###");
	cr_expect_str_eq(chart_bar(out, sizeof(out), 0, 3, false), "   ");
	cr_expect_str_eq(chart_bar(out, sizeof(out), 2.0, 2, false), "##");
	cr_expect_str_eq(chart_bar(out, sizeof(out), NAN, 2, false), "  ");
	/* 0.5625 of 2 cells = 9 eighths: one full block and one eighth */
	cr_expect_str_eq(chart_bar(out, sizeof(out), 0.5625, 2, true), "\xe2\x96\x88\xe2\x96\x8f");
}
