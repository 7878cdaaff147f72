/* theme: colour modes, severity steps and their shading (readable without
 * colour), health of a model. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "../../tui/theme.h"

Test(theme, color_mode)
{
	cr_expect_eq(theme_pick(false, NULL, 256), THEME_256);
	cr_expect_eq(theme_pick(false, NULL, 8), THEME_8);
	cr_expect_eq(theme_pick(false, NULL, 88), THEME_8);
	cr_expect_eq(theme_pick(false, NULL, 0), THEME_NONE);
	cr_expect_eq(theme_pick(true, NULL, 256), THEME_NONE);
	cr_expect_eq(theme_pick(false, "1", 256), THEME_NONE);
	/* NO_COLOR set but empty does not count (no-color.org) */
	cr_expect_eq(theme_pick(false, "", 256), THEME_256);
}

Test(theme, severity_steps)
{
	cr_expect_eq(theme_step(NAN), 0);
	cr_expect_eq(theme_step(0), 1);
	cr_expect_eq(theme_step(0.49), 1);
	cr_expect_eq(theme_step(0.5), 2);
	cr_expect_eq(theme_step(0.99), 2);
	cr_expect_eq(theme_step(1.0), 3);
	cr_expect_eq(theme_step(3.5), 4);
	cr_expect_eq(theme_step(10), 5);
	cr_expect_eq(theme_step(1000), 5);
	cr_expect_eq(theme_step_floor(3), 1.0);
	cr_expect_eq(theme_step_floor(5), 10.0);
}

Test(theme, every_step_has_a_distinct_shade)
{
	for (int u = 0; u < 2; u++)
		for (int a = 0; a < THEME_STEPS; a++)
			for (int b = a + 1; b < THEME_STEPS; b++)
				cr_expect_str_neq(theme_shade(a, u), theme_shade(b, u));
	cr_expect_str_eq(theme_shade(0, true), " ");
	cr_expect_str_eq(theme_shade(5, true), "\xe2\x96\x88");
	cr_expect_str_eq(theme_shade(4, false), "#");
	cr_expect_str_eq(theme_shade(99, false), " ");
	/* ASCII shades are single printable bytes */
	for (int s = 0; s < THEME_STEPS; s++)
		cr_expect_eq(strlen(theme_shade(s, false)), 1);
}

Test(theme, colors_go_from_green_to_red)
{
	bool bold;
	cr_expect_eq(theme_color256(1), 34);
	cr_expect_eq(theme_color256(5), 196);
	cr_expect_eq(theme_color8(1, &bold), 2);
	cr_expect_not(bold);
	cr_expect_eq(theme_color8(5, &bold), 1);
	cr_expect(bold);
}

Test(theme, health)
{
	cr_expect_eq(theme_health(1, 0, 0.1, 0, true), HEALTH_FIRING);
	cr_expect_eq(theme_health(0, 0, 3.5, 0, true), HEALTH_DRIFT);
	cr_expect_eq(theme_health(0, 1, 0.1, 0, true), HEALTH_WARN);
	cr_expect_eq(theme_health(0, 0, 0.1, 0.06, true), HEALTH_WARN);
	cr_expect_eq(theme_health(0, 0, NAN, NAN, false), HEALTH_NODATA);
	cr_expect_eq(theme_health(0, 0, NAN, 0.001, true), HEALTH_OK);
	cr_expect_str_eq(theme_health_name(HEALTH_FIRING), "FIRING");
	cr_expect_str_eq(theme_health_name(HEALTH_OK), "ok");
}
