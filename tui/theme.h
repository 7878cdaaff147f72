/* theme: how severity and health look, with or without colour. A severity
 * (1.0 = at the drift threshold) falls into one of THEME_STEPS steps; each
 * step has a shading character (so severity stays readable with no colour at
 * all: NO_COLOR, --no-color, a monochrome terminal) and a colour for 256- and
 * 8-colour terminals. Pure: no curses here; dash.c turns steps into colour
 * pairs. Unit-tested in tests/unit/test_theme.c. */
#ifndef MLW_THEME_H
#define MLW_THEME_H

#include <stdbool.h>

enum theme_mode { THEME_NONE = 0, THEME_8, THEME_256 };

/* The colour mode: none when no_color_flag, or the NO_COLOR variable is set
 * and not empty (no-color.org), or the terminal has fewer than 8 colours;
 * 256 when it has at least 256; else 8. */
enum theme_mode theme_pick(bool no_color_flag, const char *no_color_env, int colors);

/* Severity steps: 0 no data, 1 < 0.5, 2 < 1, 3 < 2, 4 < 10, 5 >= 10. */
#define THEME_STEPS 6
int theme_step(double severity);
/* Lower bound of a step's severity (for the legend); 0 for steps 0 and 1. */
double theme_step_floor(int step);
/* The shading character of a step: UTF-8 " ", "·", "░", "▒", "▓", "█" or
 * ASCII " ", ".", ":", "+", "#", "@". */
const char *theme_shade(int step, bool utf8);
/* xterm-256 colour of a step (green .. red), and the 8-colour one (a
 * COLOR_* number 0-7) with whether it should be bold. */
int theme_color256(int step);
int theme_color8(int step, bool *bold);

/* Health of a model row, worst first. */
enum theme_health { HEALTH_OK = 0, HEALTH_NODATA, HEALTH_WARN, HEALTH_DRIFT, HEALTH_FIRING };
/* firing alerts -> FIRING; worst drift severity >= 1 -> DRIFT; pending
 * alerts or error rate >= 5% -> WARN; no window at all -> NODATA. */
enum theme_health theme_health(int firing, int pending, double worst_severity, double error_rate,
                               bool has_window);
/* A short word for it ("ok", "no data", "warn", "drift", "FIRING"), so the
 * state reads without colour. */
const char *theme_health_name(enum theme_health h);

#endif
