/* chart: the pure geometry of the dashboard's charts: "nice" axis ticks,
 * time ticks, a braille canvas (2 x 4 dots per terminal cell) on which
 * series are drawn as connected lines, sparklines and horizontal bars. The
 * canvas renders each cell as a UTF-8 braille character or, without UTF-8,
 * as one ASCII character per series. No curses: unit-tested in
 * tests/unit/test_chart.c.
 *
 * Ownership: chart_init allocates the canvas; chart_free releases it. */
#ifndef MLW_CHART_H
#define MLW_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Up to max ticks (>= 2) at a step of 1, 2 or 5 x 10^k covering [lo, hi];
 * *nlo and *nhi are the first and last tick (the axis range to use).
 * Returns the number of ticks written to ticks[] (at most max). */
int chart_ticks(double lo, double hi, int max, double *ticks, double *nlo, double *nhi);

/* Time ticks for [t0, t1] on an axis of width cells where a label needs
 * label_w cells: multiples of the smallest step among 1m, 5m, 15m, 30m, 1h,
 * 3h, 6h, 12h, 1d, 2d, 7d with room for each label plus a gap. Returns the
 * number of ticks (<= max) and the step in *step. */
int chart_time_ticks(double t0, double t1, int width, int label_w, double *ticks, int max,
                     double *step);
/* Column (0..width-1) of value v on an axis from lo to hi. */
int chart_col(double v, double lo, double hi, int width);

struct chart {
	int w, h;        /* cells */
	double xlo, xhi; /* data range mapped onto the dots */
	double ylo, yhi;
	uint8_t *bits;  /* w * h braille dot bits */
	uint8_t *owner; /* w * h: series + 1 of the last series drawn there; 0 empty */
	int clipped;    /* points above yhi or below ylo (drawn at the edge) */
};

/* 0, or -1 when out of memory or w/h < 1. */
int chart_init(struct chart *c, int w, int h, double xlo, double xhi, double ylo, double yhi);
void chart_free(struct chart *c);
/* Sets dot (px, py) of the 2w x 4h dot grid (py 0 at the top). */
void chart_dot(struct chart *c, int px, int py, int series);
/* Draws y[i] at x[i] joined by straight lines; a NAN y breaks the line. */
void chart_line(struct chart *c, const double *x, const double *y, size_t n, int series);
/* A horizontal line at y (every other dot when dashed). */
void chart_hline(struct chart *c, double y, int series, bool dashed);
/* Writes the cell's glyph to out (>= 5 bytes) and returns its owner series
 * + 1 (0 for an empty cell, glyph " "). Without utf8 the glyph is
 * ascii[series] (ascii NULL: '*'). */
int chart_cell(const struct chart *c, int cx, int cy, bool utf8, const char *ascii, char *out);

/* One character per value (of n) scaled between lo and hi: "▁".."█" or
 * ASCII "_.-=+*#@"; NAN is a space. Writes at most cap bytes. */
char *chart_spark(char *out, size_t cap, const double *v, size_t n, double lo, double hi,
                  bool utf8);
/* A bar of frac (0..1) of width cells with eighth blocks ("█▉▊▋▌▍▎▏") or
 * '#' in ASCII, padded with spaces to width. */
char *chart_bar(char *out, size_t cap, double frac, int width, bool utf8);

#endif
