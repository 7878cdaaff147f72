/* theme: see theme.h. */
#include "theme.h"

#include <math.h>

enum theme_mode theme_pick(bool no_color_flag, const char *no_color_env, int colors)
{
	if (no_color_flag || (no_color_env && no_color_env[0]) || colors < 8)
		return THEME_NONE;
	return colors >= 256 ? THEME_256 : THEME_8;
}

static const double floors[THEME_STEPS] = {0, 0, 0.5, 1, 2, 10};

int theme_step(double s)
{
	if (isnan(s))
		return 0;
	for (int i = THEME_STEPS - 1; i >= 2; i--)
		if (s >= floors[i])
			return i;
	return 1;
}

double theme_step_floor(int step)
{
	return step >= 0 && step < THEME_STEPS ? floors[step] : 0;
}

const char *theme_shade(int step, bool utf8)
{
	static const char *const u[THEME_STEPS] = {
	    " ", "\xc2\xb7", "\xe2\x96\x91", "\xe2\x96\x92", "\xe2\x96\x93", "\xe2\x96\x88"};
	static const char *const a[THEME_STEPS] = {" ", ".", ":", "+", "#", "@"};

	if (step < 0 || step >= THEME_STEPS)
		step = 0;
	return utf8 ? u[step] : a[step];
}

int theme_color256(int step)
{
	/* grey (no data), green, yellow-green, orange, red-orange, red */
	static const int c[THEME_STEPS] = {244, 34, 148, 214, 202, 196};
	return c[step >= 0 && step < THEME_STEPS ? step : 0];
}

int theme_color8(int step, bool *bold)
{
	/* COLOR_WHITE 7, COLOR_GREEN 2, COLOR_YELLOW 3, COLOR_RED 1 */
	static const int c[THEME_STEPS] = {7, 2, 2, 3, 1, 1};
	if (step < 0 || step >= THEME_STEPS)
		step = 0;
	*bold = step == 2 || step == 5;
	return c[step];
}

enum theme_health theme_health(int firing, int pending, double worst_severity, double error_rate,
                               bool has_window)
{
	if (firing > 0)
		return HEALTH_FIRING;
	if (worst_severity >= 1.0)
		return HEALTH_DRIFT;
	if (pending > 0 || error_rate >= 0.05)
		return HEALTH_WARN;
	if (!has_window)
		return HEALTH_NODATA;
	return HEALTH_OK;
}

const char *theme_health_name(enum theme_health h)
{
	switch (h) {
	case HEALTH_FIRING:
		return "FIRING";
	case HEALTH_DRIFT:
		return "drift";
	case HEALTH_WARN:
		return "warn";
	case HEALTH_NODATA:
		return "no data";
	default:
		return "ok";
	}
}
