/* chart: see chart.h. */
#include "chart.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* 1, 2 or 5 x 10^k: the smallest such step >= x. */
static double nice_step(double x)
{
	double p, f;

	if (!(x > 0) || !isfinite(x))
		return 1;
	p = pow(10, floor(log10(x)));
	f = x / p;
	/* Guard rounding: 2.0000000001 is 2. */
	if (f <= 1 + 1e-9)
		return p;
	if (f <= 2 + 1e-9)
		return 2 * p;
	if (f <= 5 + 1e-9)
		return 5 * p;
	return 10 * p;
}

int chart_ticks(double lo, double hi, int max, double *ticks, double *nlo, double *nhi)
{
	double step, a, b;
	int n = 0;

	if (max < 2)
		max = 2;
	if (!isfinite(lo) || !isfinite(hi)) {
		lo = 0;
		hi = 1;
	}
	if (hi < lo) {
		double t = lo;
		lo = hi;
		hi = t;
	}
	if (hi == lo) {
		/* a flat series still gets an axis around it */
		double d = lo == 0 ? 1 : fabs(lo) * 0.1;
		lo -= d;
		hi += d;
		if (lo < 0 && lo + d >= 0)
			lo = 0;
	}
	step = nice_step((hi - lo) / (max - 1));
	for (;;) {
		a = floor(lo / step + 1e-9) * step;
		b = ceil(hi / step - 1e-9) * step;
		if ((b - a) / step + 1 <= max + 1e-9)
			break;
		step = nice_step(step * 1.0001);
	}
	for (double t = a; t <= b + step * 1e-6 && n < max; t += step)
		ticks[n++] = fabs(t) < step * 1e-9 ? 0 : t;
	*nlo = a;
	*nhi = b;
	return n;
}

int chart_time_ticks(double t0, double t1, int width, int label_w, double *ticks, int max,
                     double *step)
{
	static const double steps[] = {60,    300,   900,   1800,   3600,  10800,
	                               21600, 43200, 86400, 172800, 604800};
	size_t i;
	double s = steps[sizeof(steps) / sizeof(steps[0]) - 1], t;
	int n = 0, room;

	*step = s;
	if (width < 1 || !(t1 > t0))
		return 0;
	room = width / (label_w + 2);
	if (room < 1)
		room = 1;
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if ((t1 - t0) / steps[i] <= room) {
			s = steps[i];
			break;
		}
	*step = s;
	for (t = ceil(t0 / s) * s; t <= t1 && n < max; t += s)
		ticks[n++] = t;
	return n;
}

int chart_col(double v, double lo, double hi, int width)
{
	double f;
	int c;

	if (width <= 1 || !(hi > lo))
		return 0;
	f = (v - lo) / (hi - lo);
	c = (int)lround(f * (width - 1));
	return c < 0 ? 0 : c >= width ? width - 1 : c;
}

int chart_init(struct chart *c, int w, int h, double xlo, double xhi, double ylo, double yhi)
{
	memset(c, 0, sizeof(*c));
	if (w < 1 || h < 1)
		return -1;
	c->bits = calloc((size_t)w * (size_t)h, 1);
	c->owner = calloc((size_t)w * (size_t)h, 1);
	if (!c->bits || !c->owner) {
		chart_free(c);
		return -1;
	}
	c->w = w;
	c->h = h;
	c->xlo = xlo;
	c->xhi = xhi;
	c->ylo = ylo;
	c->yhi = yhi;
	return 0;
}

void chart_free(struct chart *c)
{
	free(c->bits);
	free(c->owner);
	memset(c, 0, sizeof(*c));
}

void chart_dot(struct chart *c, int px, int py, int series)
{
	/* Braille dot numbering: left column dots 1,2,3,7, right 4,5,6,8. */
	static const uint8_t bit[4][2] = {{0x01, 0x08}, {0x02, 0x10}, {0x04, 0x20}, {0x40, 0x80}};
	size_t i;

	if (px < 0 || py < 0 || px >= c->w * 2 || py >= c->h * 4)
		return;
	i = (size_t)(py / 4) * (size_t)c->w + (size_t)(px / 2);
	c->bits[i] |= bit[py % 4][px % 2];
	c->owner[i] = (uint8_t)(series + 1);
}

static int to_px(const struct chart *c, double x)
{
	return chart_col(x, c->xlo, c->xhi, c->w * 2);
}

static int to_py(struct chart *c, double y)
{
	int H = c->h * 4, py;
	double f;

	if (!(c->yhi > c->ylo))
		return H - 1;
	f = (c->yhi - y) / (c->yhi - c->ylo);
	py = (int)lround(f * (H - 1));
	if (py < 0 || py >= H) {
		c->clipped++;
		py = py < 0 ? 0 : H - 1;
	}
	return py;
}

static void seg(struct chart *c, int x0, int y0, int x1, int y1, int series)
{
	int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
	int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
	int err = dx + dy, guard = 0;

	for (;;) {
		chart_dot(c, x0, y0, series);
		if ((x0 == x1 && y0 == y1) || ++guard > 100000)
			break;
		int e2 = 2 * err;
		if (e2 >= dy) {
			err += dy;
			x0 += sx;
		}
		if (e2 <= dx) {
			err += dx;
			y0 += sy;
		}
	}
}

void chart_line(struct chart *c, const double *x, const double *y, size_t n, int series)
{
	int px = 0, py = 0;
	bool have = false;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(y[i]) || !isfinite(x[i])) {
			have = false;
			continue;
		}
		int nx = to_px(c, x[i]), ny = to_py(c, y[i]);
		if (have)
			seg(c, px, py, nx, ny, series);
		else
			chart_dot(c, nx, ny, series);
		px = nx;
		py = ny;
		have = true;
	}
}

void chart_hline(struct chart *c, double y, int series, bool dashed)
{
	int py;

	if (!isfinite(y) || y > c->yhi || y < c->ylo)
		return;
	py = to_py(c, y);
	for (int px = 0; px < c->w * 2; px++)
		if (!dashed || (px / 2) % 2 == 0)
			chart_dot(c, px, py, series);
}

int chart_cell(const struct chart *c, int cx, int cy, bool utf8, const char *ascii, char *out)
{
	size_t i;
	uint8_t b;

	if (cx < 0 || cy < 0 || cx >= c->w || cy >= c->h) {
		out[0] = ' ';
		out[1] = '\0';
		return 0;
	}
	i = (size_t)cy * (size_t)c->w + (size_t)cx;
	b = c->bits[i];
	if (!b) {
		out[0] = ' ';
		out[1] = '\0';
		return 0;
	}
	if (utf8) {
		/* U+2800 + b */
		out[0] = (char)0xe2;
		out[1] = (char)(0xa0 | (b >> 6));
		out[2] = (char)(0x80 | (b & 0x3f));
		out[3] = '\0';
	} else {
		int s = c->owner[i] - 1;
		out[0] = ascii && s >= 0 && (size_t)s < strlen(ascii) ? ascii[s] : '*';
		out[1] = '\0';
	}
	return c->owner[i];
}

char *chart_spark(char *out, size_t cap, const double *v, size_t n, double lo, double hi, bool utf8)
{
	static const char *const u[8] = {"\xe2\x96\x81", "\xe2\x96\x82", "\xe2\x96\x83",
	                                 "\xe2\x96\x84", "\xe2\x96\x85", "\xe2\x96\x86",
	                                 "\xe2\x96\x87", "\xe2\x96\x88"};
	static const char a[] = "_.-=+*#@";
	size_t o = 0;

	if (cap == 0)
		return out;
	for (size_t i = 0; i < n; i++) {
		const char *g;
		char one[2] = {0, 0};
		int k;
		if (!isfinite(v[i])) {
			g = " ";
		} else {
			double f = hi > lo ? (v[i] - lo) / (hi - lo) : 0.5;
			k = (int)floor(f * 8);
			k = k < 0 ? 0 : k > 7 ? 7 : k;
			if (utf8) {
				g = u[k];
			} else {
				one[0] = a[k];
				g = one;
			}
		}
		size_t gl = strlen(g);
		if (o + gl + 1 > cap)
			break;
		memcpy(out + o, g, gl);
		o += gl;
	}
	out[o] = '\0';
	return out;
}

char *chart_bar(char *out, size_t cap, double frac, int width, bool utf8)
{
	static const char *const part[8] = {"",
	                                    "\xe2\x96\x8f",
	                                    "\xe2\x96\x8e",
	                                    "\xe2\x96\x8d",
	                                    "\xe2\x96\x8c",
	                                    "\xe2\x96\x8b",
	                                    "\xe2\x96\x8a",
	                                    "\xe2\x96\x89"};
	size_t o = 0;
	int eighths, full, w = 0;

	if (cap == 0)
		return out;
	if (!isfinite(frac) || frac < 0)
		frac = 0;
	if (frac > 1)
		frac = 1;
	eighths = (int)lround(frac * width * 8);
	full = eighths / 8;
	for (int i = 0; i < full && o + 4 < cap; i++, w++) {
		const char *g = utf8 ? "\xe2\x96\x88" : "#";
		memcpy(out + o, g, strlen(g));
		o += strlen(g);
	}
	if (utf8 && eighths % 8 && w < width && o + 4 < cap) {
		memcpy(out + o, part[eighths % 8], 3);
		o += 3;
		w++;
	}
	for (; w < width && o + 1 < cap; w++)
		out[o++] = ' ';
	out[o] = '\0';
	return out;
}
