/* views: drawing the dashboard's five views (and the drift cell detail)
 * from the data dash.c loaded. Every string that came from the database goes
 * through lay_fit, which replaces control characters, before it reaches the
 * screen. Geometry and scaling come from the pure modules layout, chart and
 * theme. */
#define _XOPEN_SOURCE_EXTENDED 1
#include <math.h>
#include <ncurses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chart.h"
#include "dash_int.h"
#include "layout.h"

/* ---- text helpers ------------------------------------------------------- */

/* Writes s at (y, x) in at most w columns (truncated with an ellipsis). */
static int put(struct dash *d, int y, int x, int w, const char *s, int attr)
{
	char buf[1024];
	int n;

	if (w <= 0 || y < 0 || y >= d->rows || x >= d->cols)
		return 0;
	if (x + w > d->cols)
		w = d->cols - x;
	n = lay_fit(buf, sizeof(buf), s, w, d->utf8);
	attrset(attr);
	mvaddstr(y, x, buf);
	attrset((int)A_NORMAL);
	return n;
}

/* Same, padded to w and aligned. */
static void put_pad(struct dash *d, int y, int x, int w, const char *s, bool right, int attr)
{
	char buf[1024];

	if (w <= 0 || y < 0 || y >= d->rows || x >= d->cols)
		return;
	if (x + w > d->cols)
		w = d->cols - x;
	lay_pad(buf, sizeof(buf), s, w, right, d->utf8);
	attrset(attr);
	mvaddstr(y, x, buf);
	attrset((int)A_NORMAL);
}

static void fill_row(struct dash *d, int y, int attr)
{
	attrset(attr);
	mvhline(y, 0, ' ', d->cols);
	attrset((int)A_NORMAL);
}

static int heat_attr(const struct dash *d, int step)
{
	return dash_attr(d, PAIR_HEAT + step);
}

/* A severity as "▓ 3.5": shading character and number, readable without
 * colour. */
static void fmt_sev(const struct dash *d, char *buf, size_t cap, double sev)
{
	char n[32];
	if (isnan(sev)) {
		snprintf(buf, cap, "-");
		return;
	}
	snprintf(buf, cap, "%s %s", theme_shade(theme_step(sev), d->utf8),
	         lay_fmt_num(n, sizeof(n), sev));
}

/* ---- overview ----------------------------------------------------------- */

enum {
	OC_STATE,
	OC_MODEL,
	OC_RPS,
	OC_ERR,
	OC_P50,
	OC_P99,
	OC_ACC,
	OC_LABELS,
	OC_WORST,
	OC_SEV,
	OC_ALERTS,
	OC_N
};

static const char *const oc_head[OC_N] = {"STATE",         "MODEL", "RPS",   "ERR",
                                          "P50ms",         "P99ms", "ACC",   "LABELS",
                                          "WORST FEATURE", "SEV",   "ALERTS"};
static const bool oc_right[OC_N] = {false, false, true,  true, true, true,
                                    true,  true,  false, true, true};

int views_overview_rows(const struct dash *d, int *idx, int max)
{
	int n = 0;
	for (size_t i = 0; i < d->nmodels && n < max; i++)
		if (dash_match(d, d->models[i].model.name))
			idx[n++] = (int)i;
	return n;
}

static int sort_col(enum data_sort s)
{
	switch (s) {
	case SORT_NAME:
		return OC_MODEL;
	case SORT_RPS:
		return OC_RPS;
	case SORT_ERRORS:
		return OC_ERR;
	case SORT_P99:
		return OC_P99;
	case SORT_ACCURACY:
		return OC_ACC;
	case SORT_DRIFT:
		return OC_SEV;
	default:
		return OC_STATE;
	}
}

static void draw_overview(struct dash *d)
{
	static const int min[OC_N] = {7, 8, 7, 7, 7, 7, 7, 7, 8, 7, 6};
	static const int want[OC_N] = {7, 24, 7, 7, 7, 7, 7, 7, 20, 8, 6};
	static const int prio[OC_N] = {0, 0, 1, 1, 3, 1, 2, 4, 2, 2, 1};
	int w[OC_N], idx[4096], n = views_overview_rows(d, idx, 4096), firing = 0, drifting = 0;
	int y0 = 3, rows = d->rows - 1 - y0, x;
	char buf[256], cell[OC_N][160], num[64];

	for (size_t i = 0; i < d->nmodels; i++) {
		firing += d->models[i].firing;
		drifting += d->models[i].worst_severity >= 1.0;
	}
	snprintf(buf, sizeof(buf),
	         "%zu models, %d firing alerts, %d drifting | sorted by %s (< > I) | Enter: "
	         "open model",
	         d->nmodels, firing, drifting, data_sort_name(d->sort));
	put(d, 1, 1, d->cols - 2, buf, firing ? dash_attr(d, PAIR_BAD) : (int)A_NORMAL);
	lay_columns(d->cols - 1, 1, OC_N, min, want, prio, OC_MODEL, w);
	fill_row(d, 2, dash_attr(d, PAIR_HEAD));
	x = 0;
	for (int c = 0; c < OC_N; c++) {
		if (!w[c])
			continue;
		if (c == sort_col(d->sort))
			snprintf(buf, sizeof(buf), "%s%s", oc_head[c],
			         d->utf8 ? (d->sort_desc ? "\xe2\x96\xbc" : "\xe2\x96\xb2")
			                 : (d->sort_desc ? "v" : "^"));
		else
			snprintf(buf, sizeof(buf), "%s", oc_head[c]);
		put_pad(d, 2, x, w[c], buf, oc_right[c], dash_attr(d, PAIR_HEAD));
		x += w[c] + 1;
	}
	if (n == 0) {
		put(d, y0, 1, d->cols - 2,
		    d->nmodels ? "no model matches the filter (Esc clears it)"
		               : "no models yet: start mlwatchd and send events to an agent",
		    dash_attr(d, PAIR_DIM));
	}
	if (d->ov_sel >= n)
		d->ov_sel = n ? n - 1 : 0;
	if (d->ov_sel < d->ov_top)
		d->ov_top = d->ov_sel;
	if (rows > 0 && d->ov_sel >= d->ov_top + rows)
		d->ov_top = d->ov_sel - rows + 1;
	d->list_y0 = y0;
	d->list_rows = rows;
	for (int r = 0; r < rows && d->ov_top + r < n; r++) {
		const struct sq_status *s = &d->models[idx[d->ov_top + r]];
		enum theme_health h = theme_health(s->firing, s->pending, s->worst_severity,
		                                   s->error_rate, s->win_start != 0);
		bool sel = d->ov_top + r == d->ov_sel;
		int base = h == HEALTH_FIRING   ? dash_attr(d, PAIR_BAD)
		           : h == HEALTH_DRIFT  ? dash_attr(d, PAIR_WARN)
		           : h == HEALTH_WARN   ? dash_attr(d, PAIR_WARN)
		           : h == HEALTH_NODATA ? dash_attr(d, PAIR_DIM)
		                                : (int)A_NORMAL;
		int y = y0 + r;

		snprintf(cell[OC_STATE], sizeof(cell[0]), "%s", theme_health_name(h));
		snprintf(cell[OC_MODEL], sizeof(cell[0]), "%s", s->model.name);
		lay_fmt_num(cell[OC_RPS], sizeof(cell[0]), s->rps);
		lay_fmt_pct(cell[OC_ERR], sizeof(cell[0]), s->error_rate);
		lay_fmt_ms(cell[OC_P50], sizeof(cell[0]), s->p50);
		lay_fmt_ms(cell[OC_P99], sizeof(cell[0]), s->p99);
		if (!isnan(s->accuracy)) {
			lay_fmt_pct(cell[OC_ACC], sizeof(cell[0]), s->accuracy);
		} else if (!isnan(s->est_accuracy)) {
			/* "~" marks an estimate (no labels yet) */
			lay_fmt_pct(num, sizeof(num), s->est_accuracy);
			snprintf(cell[OC_ACC], sizeof(cell[0]), "~%s", num);
		} else if (!isnan(s->mae)) {
			lay_fmt_num(num, sizeof(num), s->mae);
			snprintf(cell[OC_ACC], sizeof(cell[0]), "mae %s", num);
		} else {
			snprintf(cell[OC_ACC], sizeof(cell[0]), "-");
		}
		lay_fmt_pct(cell[OC_LABELS], sizeof(cell[0]), s->label_coverage);
		snprintf(cell[OC_WORST], sizeof(cell[0]), "%s",
		         s->worst_feature[0] ? s->worst_feature : "-");
		if (s->worst_feature[0])
			fmt_sev(d, cell[OC_SEV], sizeof(cell[0]), s->worst_severity);
		else
			snprintf(cell[OC_SEV], sizeof(cell[0]), "-");
		if (s->firing || s->pending)
			snprintf(cell[OC_ALERTS], sizeof(cell[0]), "%d%s", s->firing,
			         s->pending ? "+" : "");
		else
			snprintf(cell[OC_ALERTS], sizeof(cell[0]), "0");
		if (sel)
			fill_row(d, y, (int)A_REVERSE);
		x = 0;
		for (int c = 0; c < OC_N; c++) {
			int a = base;
			if (!w[c])
				continue;
			if (c == OC_STATE && h == HEALTH_OK)
				a = dash_attr(d, PAIR_OK);
			if (c == OC_SEV && s->worst_feature[0])
				a = heat_attr(d, theme_step(s->worst_severity));
			if (c == OC_MODEL || c == OC_STATE)
				a |= (int)A_BOLD * (h >= HEALTH_DRIFT);
			put_pad(d, y, x, w[c], cell[c], oc_right[c],
			        a | (sel ? (int)A_REVERSE : 0));
			x += w[c] + 1;
		}
	}
}

/* ---- charts ------------------------------------------------------------- */

int views_chart_width(const struct dash *d)
{
	int w = d->cols - 9;
	return w < 10 ? 10 : w;
}

/* Each of w columns gets the largest v of the buckets [t, t + bucket) that
 * overlap it, so a sparkline has no gaps when buckets are wider than a
 * column. */
static void column_max(const double *t, const double *v, size_t n, int64_t bucket, double xlo,
                       double xhi, int w, double *out)
{
	for (int c = 0; c < w; c++)
		out[c] = NAN;
	for (size_t i = 0; i < n; i++) {
		if (isnan(v[i]) || t[i] + (double)bucket < xlo || t[i] > xhi)
			continue;
		int c0 = chart_col(t[i], xlo, xhi, w),
		    c1 = chart_col(t[i] + (double)bucket - 1e-6, xlo, xhi, w);
		for (int c = c0; c <= c1; c++)
			if (isnan(out[c]) || v[i] > out[c])
				out[c] = v[i];
	}
}

static double series_max(const double *v, size_t n)
{
	double m = NAN;
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]) && (isnan(m) || v[i] > m))
			m = v[i];
	return m;
}

static double series_min(const double *v, size_t n)
{
	double m = NAN;
	for (size_t i = 0; i < n; i++)
		if (!isnan(v[i]) && (isnan(m) || v[i] < m))
			m = v[i];
	return m;
}

/* Index of the newest bucket that has ended by now (else the newest), the
 * "current" values, as `mlwatch status` reports them. */
static size_t current_idx(const double *t, size_t n, int64_t bucket, double now)
{
	for (size_t i = n; i-- > 0;)
		if (t[i] + (double)bucket <= now)
			return i;
	return n ? n - 1 : 0;
}

static double at(const double *v, size_t n, size_t i)
{
	return i < n ? v[i] : NAN;
}

static double series_last(const double *v, size_t n)
{
	for (size_t i = n; i-- > 0;)
		if (!isnan(v[i]))
			return v[i];
	return NAN;
}

/* Draws the canvas at (y0, x0) with y labels to its left and time labels
 * under it (on row y0 + h). pairs[s] is the colour pair of series s. */
static void draw_canvas(struct dash *d, const struct chart *c, int y0, int x0, const int *pairs,
                        const char *ascii, const double *ticks, int nt, bool pct)
{
	char glyph[8], buf[64];
	double tt[32], step;
	int ntt, last_end = -1;

	for (int cy = 0; cy < c->h; cy++) {
		move(y0 + cy, x0);
		for (int cx = 0; cx < c->w; cx++) {
			int owner = chart_cell(c, cx, cy, d->utf8, ascii, glyph);
			attrset(owner ? dash_attr(d, pairs[owner - 1]) : (int)A_NORMAL);
			addstr(glyph);
		}
	}
	attrset((int)A_NORMAL);
	/* y axis: a tick label on the row its value falls in */
	for (int i = 0; i < nt; i++) {
		int py = (int)lround((c->yhi - ticks[i]) / (c->yhi - c->ylo) * (c->h * 4 - 1));
		int row = py / 4;
		if (pct)
			lay_fmt_pct(buf, sizeof(buf), ticks[i]);
		else
			lay_fmt_num(buf, sizeof(buf), ticks[i]);
		put_pad(d, y0 + row, 0, x0 - 1, buf, true, dash_attr(d, PAIR_DIM));
	}
	/* x axis */
	ntt = chart_time_ticks(c->xlo, c->xhi, c->w, 5, tt, 32, &step);
	for (int i = 0; i < ntt; i++) {
		int col = chart_col(tt[i], c->xlo, c->xhi, c->w), x;
		char label[32];
		if (step >= 86400) {
			time_t t = (time_t)tt[i];
			struct tm tm;
			localtime_r(&t, &tm);
			strftime(label, sizeof(label), "%m-%d", &tm);
		} else {
			lay_fmt_time(label, sizeof(label), tt[i], false);
		}
		x = x0 + col - 2;
		if (x < x0)
			x = x0;
		if (x <= last_end || x + 5 > x0 + c->w)
			continue;
		put(d, y0 + c->h, x, 5, label, dash_attr(d, PAIR_DIM));
		last_end = x + 5;
	}
}

static void draw_threshold_legend(struct dash *d, int y, int x, const char *prefix)
{
	char buf[256], v[32];
	int n = 0;

	for (int i = 0; i < d->nthr; i++) {
		if (strncmp(d->thr[i].metric, prefix, strlen(prefix)) != 0 &&
		    !(prefix[0] == 'p' && strstr(d->thr[i].metric, "_latency_ms")))
			continue;
		snprintf(buf, sizeof(buf), "%s %s %s (rule %s)", d->thr[i].metric, d->thr[i].op,
		         lay_fmt_num(v, sizeof(v), d->thr[i].value), d->thr[i].rule);
		x += put(d, y, x, d->cols - x - 1, buf, dash_attr(d, PAIR_THRESH)) + 2;
		if (++n >= 3)
			break;
	}
}

static int no_model(struct dash *d)
{
	if (d->model_id)
		return 0;
	put(d, 2, 1, d->cols - 2, "no model selected (no models in the database yet)",
	    dash_attr(d, PAIR_DIM));
	return 1;
}

static void draw_latency(struct dash *d)
{
	const struct data_latency *l = &d->lat;
	int x0 = 8, w = views_chart_width(d), h = d->rows - 7, nt, x;
	int pairs[4] = {PAIR_P50, PAIR_P95, PAIR_P99, PAIR_THRESH};
	double ticks[32], lo, hi, ymax, xlo = d->now - (double)lay_range_seconds(d->range);
	double *xs = NULL, *col = NULL;
	char buf[256], a[32], b[32], c3[32], e[32];
	struct chart ch;
	size_t cur;

	if (no_model(d))
		return;
	snprintf(buf, sizeof(buf), "%s | latency (ms) over %s", d->model, lay_range_name(d->range));
	x = 1 + put(d, 1, 1, d->cols - 2, buf, (int)A_BOLD) + 3;
	if (l->llm > 0 && x < d->cols - 2) {
		/* LLM serving: time to first token, per output token, tokens/s */
		snprintf(buf, sizeof(buf), "LLM TTFT p50 %s p99 %s  TPOT p99 %s  %s tok/s",
		         lay_fmt_ms(a, sizeof(a), l->ttft_p50),
		         lay_fmt_ms(b, sizeof(b), l->ttft_p99),
		         lay_fmt_ms(c3, sizeof(c3), l->tpot_p99),
		         lay_fmt_num(e, sizeof(e), l->out_tok_s));
		put(d, 1, x, d->cols - 1 - x, buf, (int)A_NORMAL);
	}
	/* current values, in the series' colours (and named, for no colour) */
	x = 1;
	cur = current_idx(l->t, l->n, l->bucket, d->now);
	snprintf(buf, sizeof(buf), "p50 %s", lay_fmt_ms(a, sizeof(a), at(l->p50, l->n, cur)));
	x += put(d, 2, x, d->cols - x, buf, dash_attr(d, PAIR_P50)) + 2;
	snprintf(buf, sizeof(buf), "p95 %s", lay_fmt_ms(b, sizeof(b), at(l->p95, l->n, cur)));
	x += put(d, 2, x, d->cols - x, buf, dash_attr(d, PAIR_P95)) + 2;
	snprintf(buf, sizeof(buf), "p99 %s", lay_fmt_ms(c3, sizeof(c3), at(l->p99, l->n, cur)));
	x += put(d, 2, x, d->cols - x, buf, dash_attr(d, PAIR_P99) | (int)A_BOLD) + 2;
	snprintf(buf, sizeof(buf), "rps %s  errors %s",
	         lay_fmt_num(a, sizeof(a), at(l->rps, l->n, cur)),
	         lay_fmt_pct(e, sizeof(e), at(l->err, l->n, cur)));
	x += put(d, 2, x, d->cols - x, buf, (int)A_NORMAL) + 2;
	draw_threshold_legend(d, 2, x, "p");
	if (h < 3)
		return;
	if (l->n == 0)
		put(d, 4, x0, w, "no latency windows in this range", dash_attr(d, PAIR_DIM));
	ymax = fmax(series_max(l->p99, l->n),
	            fmax(series_max(l->p95, l->n), series_max(l->p50, l->n)));
	for (int i = 0; i < d->nthr; i++)
		if (strstr(d->thr[i].metric, "_latency_ms"))
			ymax =
			    isnan(ymax) ? d->thr[i].value * 1.1 : fmax(ymax, d->thr[i].value * 1.1);
	if (isnan(ymax))
		ymax = 1;
	nt = chart_ticks(0, ymax, h / 3 + 2 > 2 ? h / 3 + 2 : 2, ticks, &lo, &hi);
	if (chart_init(&ch, w, h, xlo, d->now, lo, hi))
		return;
	xs = malloc((l->n + 1) * sizeof(double));
	col = malloc((size_t)w * sizeof(double));
	if (!xs || !col)
		goto out;
	for (size_t i = 0; i < l->n; i++)
		xs[i] = l->t[i] + (double)l->bucket / 2;
	for (int i = 0; i < d->nthr; i++)
		if (strstr(d->thr[i].metric, "_latency_ms"))
			chart_hline(&ch, d->thr[i].value, 3, true);
	chart_line(&ch, xs, l->p50, l->n, 0);
	chart_line(&ch, xs, l->p95, l->n, 1);
	chart_line(&ch, xs, l->p99, l->n, 2);
	draw_canvas(d, &ch, 3, x0, pairs, ".+*-", ticks, nt, false);
	/* rps and error rate under the time axis */
	if (d->rows - 1 - (3 + h + 1) >= 2) {
		int y = 3 + h + 1;
		column_max(l->t, l->rps, l->n, l->bucket, xlo, d->now, w, col);
		put_pad(d, y, 0, x0 - 1, "rps", true, dash_attr(d, PAIR_DIM));
		chart_spark(buf, sizeof(buf), col, (size_t)w, 0, series_max(col, (size_t)w),
		            d->utf8);
		put(d, y, x0, w, buf, (int)A_NORMAL);
		column_max(l->t, l->err, l->n, l->bucket, xlo, d->now, w, col);
		put_pad(d, y + 1, 0, x0 - 1, "errors", true, dash_attr(d, PAIR_DIM));
		chart_spark(buf, sizeof(buf), col, (size_t)w, 0,
		            fmax(series_max(col, (size_t)w), 0.01), d->utf8);
		put(d, y + 1, x0, w, buf, dash_attr(d, PAIR_BAD));
	}
out:
	free(xs);
	free(col);
	chart_free(&ch);
}

#define FAIR_PANEL_GROUPS 4

/* Rows the fairness panel takes under the accuracy chart: a title and up
 * to FAIR_PANEL_GROUPS groups; 0 when the model has no fairness data or the
 * chart would get too small. */
static int fair_panel_rows(const struct dash *d, int h)
{
	int k;

	if (!d->fair.n)
		return 0;
	k = 1 + (int)(d->fair.n < FAIR_PANEL_GROUPS ? d->fair.n : FAIR_PANEL_GROUPS);
	return h - k >= 6 ? k : 0;
}

/* The first protected attribute over the range: its demographic-parity
 * ratio (red below the four-fifths line) and gaps, then each group's
 * positive rate, size, TPR and accuracy. */
static void draw_fair_panel(struct dash *d, int y, int rows)
{
	const struct fairness_attr *fa = &d->fair;
	uint64_t min = (uint64_t)d->cfg->collector.fairness_min_sample;
	struct fairness_gaps g;
	char buf[512], v1[32], v2[32], v3[32], v4[32];
	int x = 1, attr;

	fairness_gaps(fa->g, fa->n, min, &g);
	snprintf(buf, sizeof(buf), "fairness by %s over %s:", fa->name, lay_range_name(d->range));
	x += put(d, y, x, d->cols - x, buf, (int)A_BOLD) + 1;
	if (isnan(g.dp_ratio)) {
		snprintf(buf, sizeof(buf), "insufficient (fewer than two groups of %llu events)",
		         (unsigned long long)min);
		put(d, y, x, d->cols - x, buf, dash_attr(d, PAIR_DIM));
	} else {
		attr =
		    g.dp_ratio < 0.8 ? dash_attr(d, PAIR_BAD) | (int)A_BOLD : dash_attr(d, PAIR_OK);
		snprintf(buf, sizeof(buf), "dp_ratio %.2f%s", g.dp_ratio,
		         g.dp_ratio < 0.8 ? " (below 4/5)" : "");
		x += put(d, y, x, d->cols - x, buf, attr) + 2;
		snprintf(buf, sizeof(buf), "dp_diff %s  eo_diff %s  acc_gap %s",
		         lay_fmt_pct(v1, sizeof(v1), g.dp_diff),
		         lay_fmt_pct(v2, sizeof(v2), g.eo_diff),
		         lay_fmt_pct(v3, sizeof(v3), g.acc_gap));
		put(d, y, x, d->cols - x, buf, (int)A_NORMAL);
	}
	for (int i = 0; i + 1 < rows && (size_t)i < fa->n; i++) {
		const struct fairness_group *gr = &fa->g[i];
		struct fairness_rates r;
		fairness_rates(gr, &r);
		snprintf(
		    buf, sizeof(buf), "  %-16.16s positive %7s  n %-8llu tpr %7s  accuracy %7s%s",
		    gr->name, lay_fmt_pct(v1, sizeof(v1), r.positive_rate),
		    (unsigned long long)gr->n, lay_fmt_pct(v2, sizeof(v2), r.tpr),
		    lay_fmt_pct(v4, sizeof(v4), r.accuracy), gr->n < min ? "  insufficient" : "");
		put(d, y + 1 + i, 1, d->cols - 2, buf,
		    gr->n < min ? dash_attr(d, PAIR_DIM) : (int)A_NORMAL);
	}
}

static void draw_accuracy(struct dash *d)
{
	const struct data_accuracy *a = &d->acc;
	int x0 = 8, w = views_chart_width(d), h = d->rows - 8, nt, x;
	int pairs[4] = {PAIR_OK, PAIR_EST, PAIR_BAND, PAIR_THRESH};
	double ticks[32], lo, hi, ymin, ymax, xlo = d->now - (double)lay_range_seconds(d->range);
	double *xs = NULL, *col = NULL, last_acc, last_mae;
	char buf[512], v1[32], v2[32], v3[32];
	bool regression;
	struct chart ch;
	int64_t labelled = 0;
	int title_w;

	int fair_rows;

	if (no_model(d))
		return;
	fair_rows = fair_panel_rows(d, h);
	h -= fair_rows;
	last_acc = series_last(a->acc, a->n);
	last_mae = series_last(a->mae, a->n);
	regression = isnan(series_max(a->acc, a->n)) && !isnan(series_max(a->mae, a->n));
	for (size_t i = 0; i < a->n; i++)
		if (a->t[i] >= xlo)
			labelled += a->labelled[i];
	snprintf(buf, sizeof(buf), "%s | %s over %s", d->model,
	         regression ? "MAE (realized)" : "accuracy: realized vs estimated",
	         lay_range_name(d->range));
	title_w = put(d, 1, 1, d->cols - 2, buf, (int)A_BOLD);
	x = 1;
	if (regression)
		snprintf(buf, sizeof(buf), "mae %s", lay_fmt_num(v1, sizeof(v1), last_mae));
	else
		snprintf(buf, sizeof(buf), "accuracy %s", lay_fmt_pct(v1, sizeof(v1), last_acc));
	x += put(d, 2, x, d->cols - x, buf, dash_attr(d, PAIR_OK) | (int)A_BOLD) + 2;
	snprintf(buf, sizeof(buf), "estimated %s [%s..%s]",
	         lay_fmt_pct(v1, sizeof(v1), series_last(a->est, a->n)),
	         lay_fmt_pct(v2, sizeof(v2), series_last(a->lo, a->n)),
	         lay_fmt_pct(v3, sizeof(v3), series_last(a->hi, a->n)));
	x += put(d, 2, x, d->cols - x, buf, dash_attr(d, PAIR_EST)) + 2;
	/* over the range, weighted by requests, as the overview shows it (the
	 * newest windows alone have no labels yet: labels come late) */
	snprintf(buf, sizeof(buf), "label coverage %s over %s (%lld labelled)",
	         lay_fmt_pct(v1, sizeof(v1), data_accuracy_coverage(a, xlo)),
	         lay_range_name(d->range), (long long)labelled);
	x += put(d, 2, x, d->cols - x, buf, (int)A_NORMAL) + 2;
	draw_threshold_legend(d, 2, x, regression ? "mae" : "accuracy");
	if (h < 3)
		return;
	if (a->n == 0)
		put(d, 4, x0, w, "no accuracy results in this range", dash_attr(d, PAIR_DIM));
	if (regression) {
		ymin = 0;
		ymax = series_max(a->mae, a->n);
	} else {
		ymin = fmin(series_min(a->acc, a->n), series_min(a->lo, a->n));
		ymin = fmin(ymin, series_min(a->est, a->n));
		ymax = fmax(series_max(a->acc, a->n), series_max(a->hi, a->n));
		ymax = fmax(ymax, series_max(a->est, a->n));
		if (!isnan(ymax) && ymax > 1)
			ymax = 1;
	}
	for (int i = 0; i < d->nthr; i++)
		if (strcmp(d->thr[i].metric, regression ? "mae" : "accuracy") == 0 ||
		    (!regression && strcmp(d->thr[i].metric, "est_accuracy") == 0)) {
			ymin = isnan(ymin) ? d->thr[i].value : fmin(ymin, d->thr[i].value);
			ymax = isnan(ymax) ? d->thr[i].value : fmax(ymax, d->thr[i].value);
		}
	if (isnan(ymin) || isnan(ymax)) {
		ymin = 0;
		ymax = 1;
	}
	nt = chart_ticks(ymin, ymax, h / 3 + 2, ticks, &lo, &hi);
	if (chart_init(&ch, w, h, xlo, d->now, lo, hi))
		return;
	xs = malloc((a->n + 1) * sizeof(double));
	col = malloc((size_t)w * sizeof(double));
	if (!xs || !col)
		goto out;
	for (size_t i = 0; i < a->n; i++)
		xs[i] = a->t[i] + (double)a->bucket / 2;
	if (!regression) {
		chart_line(&ch, xs, a->lo, a->n, 2);
		chart_line(&ch, xs, a->hi, a->n, 2);
	}
	for (int i = 0; i < d->nthr; i++)
		if (strcmp(d->thr[i].metric, regression ? "mae" : "accuracy") == 0 ||
		    (!regression && strcmp(d->thr[i].metric, "est_accuracy") == 0))
			chart_hline(&ch, d->thr[i].value, 3, true);
	if (!regression)
		chart_line(&ch, xs, a->est, a->n, 1);
	chart_line(&ch, xs, regression ? a->mae : a->acc, a->n, 0);
	draw_canvas(d, &ch, 3, x0, pairs, "*o:-", ticks, nt, !regression);
	/* concept-drift markers on the axis row, and their legend */
	{
		int y = 3 + h + 1;
		char when[32];
		put_pad(d, y, 0, x0 - 1, "concept", true, dash_attr(d, PAIR_DIM));
		for (size_t i = 0; i < a->nconcept; i++) {
			int c = chart_col(a->concept_ts[i], xlo, d->now, w);
			put(d, y, x0 + c, 1, d->utf8 ? "\xe2\x96\xb2" : "^",
			    dash_attr(d, PAIR_BAD) | (int)A_BOLD);
		}
		if (!a->nconcept) {
			/* say so, rather than a label with nothing after it */
			snprintf(buf, sizeof(buf), "no concept drift detected over %s",
			         lay_range_name(d->range));
			put(d, y, x0, w, buf, dash_attr(d, PAIR_DIM));
		} else {
			size_t i = a->nconcept - 1;
			snprintf(buf, sizeof(buf), "%s concept drift (%s) at %s",
			         d->utf8 ? "\xe2\x96\xb2" : "^", a->concept_detector[i],
			         lay_fmt_time(when, sizeof(when), a->concept_ts[i], true) + 11);
			/* right of the title, or on the marker row when that would
			 * cover the title */
			if (d->cols - lay_width(buf) - 2 > title_w + 2)
				put(d, 1, d->cols - lay_width(buf) - 2, lay_width(buf) + 1, buf,
				    dash_attr(d, PAIR_BAD));
			else {
				/* the words without the marker, after it or before it */
				const char *words = buf + (d->utf8 ? 4 : 2);
				int c = chart_col(a->concept_ts[i], xlo, d->now, w),
				    lw = lay_width(words);
				if (c + 2 + lw < w)
					put(d, y, x0 + c + 2, lw, words, dash_attr(d, PAIR_BAD));
				else if (c - 1 - lw >= 0)
					put(d, y, x0 + c - 1 - lw, lw, words,
					    dash_attr(d, PAIR_BAD));
			}
		}
		if (d->rows - 1 - (y + 1) >= 1) {
			column_max(a->t, a->cov, a->n, a->bucket, xlo, d->now, w, col);
			put_pad(d, y + 1, 0, x0 - 1, "labels", true, dash_attr(d, PAIR_DIM));
			chart_spark(buf, sizeof(buf), col, (size_t)w, 0, 1, d->utf8);
			put(d, y + 1, x0, w, buf, (int)A_NORMAL);
		}
		if (fair_rows)
			draw_fair_panel(d, y + 2, fair_rows);
	}
out:
	free(xs);
	free(col);
	chart_free(&ch);
}

/* ---- drift heatmap ------------------------------------------------------ */

static int heat_name_w(const struct dash *d)
{
	int w = d->cols / 5;
	return w < 10 ? 10 : w > 24 ? 24 : w;
}

int views_heat_width(const struct dash *d)
{
	int w = d->cols - heat_name_w(d) - 1 - 13;
	return w < 4 ? 4 : w;
}

int views_heat_rows(const struct dash *d, size_t *idx, int max)
{
	int n = 0;
	for (size_t i = 0; i < d->heat.nf && n < max; i++)
		if (dash_match(d, d->heat.name[d->heat.order[i]]))
			idx[n++] = d->heat.order[i];
	return n;
}

static void draw_detail(struct dash *d);

static void draw_drift(struct dash *d)
{
	const struct data_heat *hm = &d->heat;
	size_t idx[4096];
	int n, nw = heat_name_w(d), x0 = nw + 1, cw = views_heat_width(d), cellw, y0 = 4;
	int rows = d->rows - 1 - y0 - 2, col_sel, x;
	char buf[512], v[32], t1[32], t2[32];

	if (no_model(d))
		return;
	if (d->detail_open && d->detail.valid) {
		draw_detail(d);
		return;
	}
	n = views_heat_rows(d, idx, 4096);
	snprintf(buf, sizeof(buf),
	         "%s | drift severity per feature and window (1.0 = threshold) over %s", d->model,
	         lay_range_name(d->range));
	put(d, 1, 1, d->cols - 2, buf, (int)A_BOLD);
	/* legend: the shading and its colour, with the numbers */
	x = 1;
	x += put(d, 2, x, d->cols - x, "severity:", (int)A_NORMAL) + 1;
	for (int s = 1; s < THEME_STEPS; s++) {
		if (s < THEME_STEPS - 1)
			snprintf(buf, sizeof(buf), "%s%s %s<%s", theme_shade(s, d->utf8),
			         theme_shade(s, d->utf8), s == 1 ? "" : "",
			         lay_fmt_num(v, sizeof(v), theme_step_floor(s + 1)));
		else
			snprintf(buf, sizeof(buf), "%s%s >=%s", theme_shade(s, d->utf8),
			         theme_shade(s, d->utf8),
			         lay_fmt_num(v, sizeof(v), theme_step_floor(s)));
		x += put(d, 2, x, d->cols - x, buf, heat_attr(d, s)) + 2;
	}
	x += put(d, 2, x, d->cols - x, "blank: no window", dash_attr(d, PAIR_DIM)) + 2;
	put(d, 2, x, d->cols - x, "?: insufficient sample", dash_attr(d, PAIR_DIM));
	fill_row(d, 3, dash_attr(d, PAIR_HEAD));
	put(d, 3, 0, nw, "FEATURE", dash_attr(d, PAIR_HEAD));
	put(d, 3, x0, cw, "windows (oldest left, newest right)", dash_attr(d, PAIR_HEAD));
	put_pad(d, 3, x0 + cw + 1, 12, "NOW SEV", false, dash_attr(d, PAIR_HEAD));
	if (n == 0) {
		put(d, y0, 1, d->cols - 2,
		    hm->nf ? "no feature matches the filter (Esc clears it)"
		           : "no drift results in this range (is there a reference profile?)",
		    dash_attr(d, PAIR_DIM));
		d->list_rows = 0;
		return;
	}
	cellw = hm->ncols > 0 ? cw / hm->ncols : 1;
	if (cellw < 1)
		cellw = 1;
	if (cellw > 3)
		cellw = 3;
	/* the selection is a feature and a window: find where they are now */
	data_heat_cursor_resolve(&d->hm, hm, idx, n, &d->hm_row, &col_sel);
	if (d->hm_row < d->hm_top)
		d->hm_top = d->hm_row;
	if (rows > 0 && d->hm_row >= d->hm_top + rows)
		d->hm_top = d->hm_row - rows + 1;
	d->list_y0 = y0;
	d->list_rows = rows;
	d->heat_x0 = x0;
	d->heat_cw = hm->ncols * cellw;
	d->heat_cellw = cellw;
	for (int r = 0; r < rows && d->hm_top + r < n; r++) {
		size_t f = idx[d->hm_top + r];
		int y = y0 + r;
		bool sel_row = d->hm_top + r == d->hm_row;
		double latest = hm->latest[f];

		put_pad(d, y, 0, nw, hm->name[f], false,
		        (sel_row ? (int)A_REVERSE : 0) | (latest >= 1 ? (int)A_BOLD : 0));
		move(y, x0);
		for (int c = 0; c < hm->ncols && (c + 1) * cellw <= cw; c++) {
			double s = hm->sev[f * (size_t)hm->ncols + (size_t)c];
			int step = theme_step(s), a = heat_attr(d, step);
			if (sel_row && c == col_sel)
				a |= (int)A_REVERSE;
			attrset(a);
			bool insuf = hm->drifted[f * (size_t)hm->ncols + (size_t)c] ==
			             DATA_HEAT_INSUFFICIENT;
			if (insuf && !(sel_row && c == col_sel))
				attrset(a | dash_attr(d, PAIR_DIM));
			for (int k = 0; k < cellw; k++)
				addstr(insuf ? "?"
				       : sel_row && c == col_sel && step == 0
				           ? (d->utf8 ? "\xe2\x96\xa1" : "o")
				           : theme_shade(step, d->utf8));
		}
		attrset((int)A_NORMAL);
		fmt_sev(d, buf, sizeof(buf), latest);
		if (latest >= 1)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " DRIFT");
		put(d, y, x0 + cw + 1, 12, buf, heat_attr(d, theme_step(latest)));
	}
	/* time axis under the grid */
	{
		double tt[32], step;
		double ta = (double)hm->t0, tb = (double)(hm->t0 + (int64_t)hm->ncols * hm->bucket);
		int used = hm->ncols * cellw, last_end = -1,
		    ntt = chart_time_ticks(ta, tb, used, 5, tt, 32, &step);
		int y = y0 + (rows < n ? rows : n);
		for (int i = 0; i < ntt; i++) {
			int xx = x0 + (int)((tt[i] - ta) / (double)hm->bucket) * cellw;
			if (xx <= last_end || xx + 5 > x0 + used + 5)
				continue;
			lay_fmt_time(v, sizeof(v), tt[i], false);
			put(d, y, xx, 5, v, dash_attr(d, PAIR_DIM));
			last_end = xx + 5;
		}
	}
	/* the cursor cell, in words */
	if (d->hm_row >= 0 && d->hm_row < n && hm->ncols > 0) {
		size_t f = idx[d->hm_row];
		double s = hm->sev[f * (size_t)hm->ncols + (size_t)col_sel];
		double cs = (double)(hm->t0 + (int64_t)col_sel * hm->bucket);
		lay_fmt_time(t1, sizeof(t1), cs, true);
		lay_fmt_time(t2, sizeof(t2), cs + (double)hm->bucket, true);
		uint8_t verdict = hm->drifted[f * (size_t)hm->ncols + (size_t)col_sel];
		snprintf(buf, sizeof(buf),
		         "%s | %s-%s | severity %s%s | Enter: details, %d of %d "
		         "features",
		         hm->name[f], t1 + 11, t2 + 11,
		         verdict == DATA_HEAT_INSUFFICIENT ? "insufficient"
		                                           : lay_fmt_num(v, sizeof(v), s),
		         verdict == DATA_HEAT_DRIFTED ? " DRIFTED" : "", d->hm_row + 1, n);
		put(d, d->rows - 2, 1, d->cols - 2, buf, (int)A_NORMAL);
	}
}

static void stat_line(struct dash *d, int *y, int x, int w, const char *name, double v, bool pct)
{
	char buf[128], num[32];
	if (*y >= d->rows - 1)
		return;
	if (pct)
		lay_fmt_pct(num, sizeof(num), v);
	else if (!isnan(v) && fabs(v) < 0.001 && v != 0)
		snprintf(num, sizeof(num), "%.3g", v);
	else
		lay_fmt_num(num, sizeof(num), v);
	snprintf(buf, sizeof(buf), "%-18s %s", name, num);
	put(d, (*y)++, x, w, buf, (int)A_NORMAL);
}

static const char *detail_kind(int kind)
{
	return kind == 2   ? "categorical"
	       : kind == 3 ? "vector"
	       : kind == 4 ? "multivariate"
	                   : "numeric";
}

/* A vector feature's or the multivariate row's detail (issue 19): each
 * method's statistic, threshold, p and verdict, then the row's score
 * against its threshold over the windows before (for @multivariate the
 * PCA reconstruction error against its band). Returns the next row. */
static int draw_methods(struct dash *d, int y, int w)
{
	const struct data_detail *dt = &d->detail;
	char buf[256], a[32], b[32], c[32], t[32];
	double sc[DATA_TREND_MAX], th[DATA_TREND_MAX], lo = INFINITY, hi = -INFINITY;

	fill_row(d, 2, dash_attr(d, PAIR_HEAD));
	put(d, 2, 1, w, "METHOD        STATISTIC   THRESHOLD   P           VERDICT",
	    dash_attr(d, PAIR_HEAD));
	if (dt->nmethods == 0)
		put(d, y++, 1, w,
		    "no method results for this window (no reference, or too few rows)",
		    dash_attr(d, PAIR_DIM));
	for (size_t i = 0; i < dt->nmethods && y < d->rows - 2; i++) {
		const struct data_method *m = &dt->methods[i];
		snprintf(buf, sizeof(buf), "%-13s %-11s %-11s %-11s %s", m->name,
		         lay_fmt_num(a, sizeof(a), m->stat),
		         lay_fmt_num(b, sizeof(b), m->threshold),
		         isnan(m->p) ? "-" : lay_fmt_num(c, sizeof(c), m->p),
		         m->drifted > 0    ? "DRIFT"
		         : m->drifted == 0 ? "ok"
		                           : "-");
		put(d, y++, 1, w, buf, m->drifted > 0 ? dash_attr(d, PAIR_BAD) : (int)A_NORMAL);
		if (!isnan(m->lower) && y < d->rows - 2) {
			snprintf(buf, sizeof(buf), "%-13s band %s .. %s", "",
			         lay_fmt_num(a, sizeof(a), m->lower),
			         lay_fmt_num(b, sizeof(b), m->threshold));
			put(d, y++, 1, w, buf, dash_attr(d, PAIR_DIM));
		}
	}
	if (dt->ntrend == 0 || y >= d->rows - 4)
		return y;
	for (size_t i = 0; i < dt->ntrend; i++) {
		sc[i] = dt->trend[i].score;
		th[i] = dt->trend[i].threshold;
		if (!isnan(sc[i]))
			lo = fmin(lo, sc[i]), hi = fmax(hi, sc[i]);
		if (!isnan(th[i]))
			lo = fmin(lo, th[i]), hi = fmax(hi, th[i]);
		if (!isnan(dt->trend[i].lower))
			lo = fmin(lo, dt->trend[i].lower);
	}
	if (!(hi > lo))
		hi = lo + 1;
	y++;
	put(d, y++, 1, w,
	    d->detail.d.kind == 4 ? "over time: PCA error (score) vs the band's upper end"
	                          : "over time: methods flagging drift vs the 3 needed",
	    (int)A_BOLD);
	{
		char sp[4 * DATA_TREND_MAX + 1];
		chart_spark(sp, sizeof(sp), sc, dt->ntrend, lo, hi, d->utf8);
		snprintf(buf, sizeof(buf), "%-10s %s", "score", sp);
		put(d, y++, 1, w, buf, (int)A_NORMAL);
		chart_spark(sp, sizeof(sp), th, dt->ntrend, lo, hi, d->utf8);
		snprintf(buf, sizeof(buf), "%-10s %s", "threshold", sp);
		put(d, y++, 1, w, buf, dash_attr(d, PAIR_DIM));
	}
	/* the newest windows as numbers */
	for (size_t k = dt->ntrend; k > 0 && y < d->rows - 2; k--) {
		const struct data_trend *tr = &dt->trend[k - 1];
		bool out =
		    !isnan(tr->score) && !isnan(tr->threshold) &&
		    (tr->score >= tr->threshold || (!isnan(tr->lower) && tr->score < tr->lower));
		lay_fmt_time(t, sizeof(t), (double)tr->start, true);
		if (!isnan(tr->lower))
			snprintf(buf, sizeof(buf), "%-18s %-10s band %s .. %s%s", t,
			         lay_fmt_num(a, sizeof(a), tr->score),
			         lay_fmt_num(b, sizeof(b), tr->lower),
			         lay_fmt_num(c, sizeof(c), tr->threshold), out ? "  OUTSIDE" : "");
		else
			snprintf(buf, sizeof(buf), "%-18s %-10s of %s%s", t,
			         lay_fmt_num(a, sizeof(a), tr->score),
			         lay_fmt_num(b, sizeof(b), tr->threshold), out ? "  DRIFT" : "");
		put(d, y++, 1, w, buf, out ? dash_attr(d, PAIR_BAD) : (int)A_NORMAL);
	}
	return y;
}

static void draw_detail(struct dash *d)
{
	const struct data_detail *dt = &d->detail;
	const struct sq_drift *s = &dt->d;
	char buf[512], t1[32], t2[32], bar[256], pct[32];
	/* statistics to the right of the histograms when there is room */
	bool side = d->cols >= 70;
	int stats_x = side ? (d->cols >= 100 ? d->cols * 3 / 5 + 3 : d->cols - 34) : 1;
	int hist_w = side ? stats_x - 2 : d->cols - 2, label_w = 10, bar_w, y, x, n;

	lay_fmt_time(t1, sizeof(t1), (double)s->start, true);
	lay_fmt_time(t2, sizeof(t2), (double)s->end, true);
	snprintf(buf, sizeof(buf), "%s (%s) | window %s-%s%s | worst in the column | Esc closes",
	         dt->feature, detail_kind(s->kind), t1, t2 + 11, s->provisional ? " (open)" : "");
	put(d, 1, 1, d->cols - 2, buf, (int)A_BOLD);
	if (s->kind >= 3) {
		y = draw_methods(d, 3, hist_w);
		goto stats;
	}
	/* histograms side by side: reference | current */
	bar_w = (hist_w - label_w - 3 - 2 * 7) / 2;
	if (bar_w < 3)
		bar_w = 3;
	fill_row(d, 2, dash_attr(d, PAIR_HEAD));
	put_pad(d, 2, 1, label_w, s->kind == 2 ? "CATEGORY" : "BIN", false,
	        dash_attr(d, PAIR_HEAD));
	snprintf(buf, sizeof(buf), "REF n=%lld", (long long)dt->ref_n);
	put_pad(d, 2, 2 + label_w, bar_w + 7, buf, false, dash_attr(d, PAIR_HEAD));
	snprintf(buf, sizeof(buf), "CUR n=%lld", (long long)s->n);
	put_pad(d, 2, 3 + label_w + bar_w + 7, bar_w + 7, buf, false, dash_attr(d, PAIR_HEAD));
	if (side)
		put(d, 2, stats_x, d->cols - stats_x, "STATISTICS", dash_attr(d, PAIR_HEAD));
	y = 3;
	n = dt->has_ref ? dt->ref.n : dt->has_cur ? dt->cur.n : 0;
	if (dt->has_cur && dt->cur.n > n)
		n = dt->cur.n;
	if (!dt->has_ref && !dt->has_cur)
		put(d, y++, 1, hist_w, "no histograms stored for this feature",
		    dash_attr(d, PAIR_DIM));
	for (int i = 0; i < n && y < d->rows - 2; i++, y++) {
		const char *label = dt->has_ref && i < dt->ref.n ? dt->ref.label[i]
		                    : i < dt->cur.n              ? dt->cur.label[i]
		                                                 : "";
		double rp = dt->has_ref && i < dt->ref.n ? dt->ref.prop[i] : NAN;
		double cp = dt->has_cur && i < dt->cur.n ? dt->cur.prop[i] : NAN;
		double scale = 0;
		/* both sides on one scale so the bars compare */
		for (int k = 0; k < n; k++) {
			if (dt->has_ref && k < dt->ref.n)
				scale = fmax(scale, dt->ref.prop[k]);
			if (dt->has_cur && k < dt->cur.n)
				scale = fmax(scale, dt->cur.prop[k]);
		}
		put_pad(d, y, 1, label_w, label, false, (int)A_NORMAL);
		x = 2 + label_w;
		chart_bar(bar, sizeof(bar), scale > 0 && !isnan(rp) ? rp / scale : 0, bar_w,
		          d->utf8);
		put(d, y, x, bar_w, bar, dash_attr(d, PAIR_EST));
		put_pad(d, y, x + bar_w, 7, lay_fmt_pct(pct, sizeof(pct), rp), true, (int)A_NORMAL);
		x += bar_w + 8;
		chart_bar(bar, sizeof(bar), scale > 0 && !isnan(cp) ? cp / scale : 0, bar_w,
		          d->utf8);
		put(d, y, x, bar_w, bar,
		    dash_attr(d, !isnan(rp) && !isnan(cp) && cp > rp * 1.5 + 0.01 ? PAIR_BAD
		                                                                  : PAIR_P50));
		put_pad(d, y, x + bar_w, 7, lay_fmt_pct(pct, sizeof(pct), cp), true, (int)A_NORMAL);
	}
stats:
	/* every statistic */
	{
		int sw = d->cols - stats_x - 1;
		y = side ? 3 : y + 1;
		snprintf(buf, sizeof(buf), "%-18s %lld (reference %lld)", "n", (long long)s->n,
		         (long long)(s->n_ref >= 0 ? s->n_ref : dt->ref_n));
		put(d, y++, stats_x, sw, buf, (int)A_NORMAL);
		stat_line(d, &y, stats_x, sw, "missing_rate", s->missing_rate, true);
		stat_line(d, &y, stats_x, sw, "type_error_rate", s->type_error_rate, true);
		if (s->kind >= 3) {
			/* vector / multivariate: their methods are on the left */
		} else if (s->kind == 2) {
			stat_line(d, &y, stats_x, sw, "new_category_rate", s->new_category_rate,
			          true);
			stat_line(d, &y, stats_x, sw, "chi2", s->chi2, false);
			stat_line(d, &y, stats_x, sw, "chi2_p", s->chi2_p, false);
		} else {
			stat_line(d, &y, stats_x, sw, "out_of_range_rate", s->out_of_range_rate,
			          true);
			stat_line(d, &y, stats_x, sw, "ks", s->ks, false);
			stat_line(d, &y, stats_x, sw, "ks_p", s->ks_p, false);
			stat_line(d, &y, stats_x, sw, "wasserstein", s->wasserstein, false);
		}
		if (s->kind < 3) {
			stat_line(d, &y, stats_x, sw, "psi", s->psi, false);
			stat_line(d, &y, stats_x, sw, "js", s->js, false);
		}
		if (y < d->rows - 1) {
			snprintf(buf, sizeof(buf), "%-18s %s%s%s%s", "method",
			         s->method[0] ? s->method : "-", dt->preset[0] ? " [" : "",
			         dt->preset, dt->preset[0] ? "]" : ""); /* [preset] */
			put(d, y++, stats_x, sw, buf, (int)A_NORMAL);
		}
		stat_line(d, &y, stats_x, sw, "score", s->score, false);
		stat_line(d, &y, stats_x, sw, "threshold", s->threshold, false);
		if (dt->thr_source[0] && y < d->rows - 1) {
			/* where the threshold came from (issue 17) */
			if (dt->cal_n > 0 && !isnan(dt->far))
				snprintf(buf, sizeof(buf), "%-18s %s (%.3g%% false alarms, n %ld)",
				         "  from", dt->thr_source, dt->far * 100, dt->cal_n);
			else
				snprintf(buf, sizeof(buf), "%-18s %s", "  from", dt->thr_source);
			put(d, y++, stats_x, sw, buf, (int)A_NORMAL);
		}
		if (!isnan(dt->min_effect) && dt->min_effect > 0 && y < d->rows - 1) {
			snprintf(buf, sizeof(buf), "%-18s %.4g", "min_effect", dt->min_effect);
			put(d, y++, stats_x, sw, buf, (int)A_NORMAL);
		}
		if (y < d->rows - 1) {
			char sev[64];
			fmt_sev(d, sev, sizeof(sev), s->severity);
			snprintf(buf, sizeof(buf), "%-18s %s%s%s", "severity", sev,
			         s->drifted > 0 ? "  DRIFTED" : "",
			         s->insufficient ? "  (insufficient data)" : "");
			put(d, y++, stats_x, sw, buf,
			    heat_attr(d, theme_step(s->severity)) |
			        (s->drifted > 0 ? (int)A_BOLD : 0));
		}
		/* the drill-down per segment (segment_by): worst first */
		if (dt->nseg && y < d->rows - 2) {
			put(d, y++, stats_x, sw, "per segment (worst in the range)",
			    dash_attr(d, PAIR_HEAD));
			for (int i = 0; i < dt->nseg && y < d->rows - 1; i++) {
				char sev[64];
				fmt_sev(d, sev, sizeof(sev), dt->seg[i].severity);
				snprintf(buf, sizeof(buf), "  %-16.16s %s%s", dt->seg[i].name, sev,
				         dt->seg[i].drifted ? "  DRIFT" : "");
				put(d, y++, stats_x, sw, buf,
				    heat_attr(d, theme_step(dt->seg[i].severity)) |
				        (dt->seg[i].drifted ? (int)A_BOLD : 0));
			}
		}
	}
}

/* ---- alerts ------------------------------------------------------------- */

enum {
	AC_ID,
	AC_STATE,
	AC_SEV,
	AC_RULE,
	AC_MODEL,
	AC_FEATURE,
	AC_AGE,
	AC_VALUE,
	AC_FLAGS,
	AC_SUMMARY,
	AC_N
};

int views_alert_rows(const struct dash *d, int *idx, int max)
{
	int n = 0;
	for (size_t i = 0; i < d->alerts.n && n < max; i++) {
		const struct data_alert *a = &d->alerts.v[i];
		if (dash_match(d, a->rule) || dash_match(d, a->model) || dash_match(d, a->feature))
			idx[n++] = (int)i;
	}
	return n;
}

static void alert_cells(const struct dash *d, const struct data_alert *a, char cell[AC_N][192])
{
	snprintf(cell[AC_ID], 192, "%lld", (long long)a->id);
	snprintf(cell[AC_STATE], 192, "%s", strcmp(a->state, "firing") == 0 ? "FIRING" : a->state);
	snprintf(cell[AC_SEV], 192, "%s", a->severity);
	snprintf(cell[AC_RULE], 192, "%s", a->rule);
	snprintf(cell[AC_MODEL], 192, "%s", a->model);
	snprintf(cell[AC_FEATURE], 192, "%s", a->feature[0] ? a->feature : "-");
	lay_fmt_age(cell[AC_AGE], 192, d->now - a->since);
	lay_fmt_num(cell[AC_VALUE], 192, a->value);
	snprintf(cell[AC_FLAGS], 192, "%s%s%s", a->silenced ? "silenced" : "",
	         a->silenced && a->acked ? "," : "", a->acked ? "acked" : "");
	snprintf(cell[AC_SUMMARY], 192, "%s", a->summary);
}

static void draw_alerts(struct dash *d)
{
	static const char *const head[AC_N] = {"ID",      "STATE", "SEV",   "RULE",  "MODEL",
	                                       "FEATURE", "AGE",   "VALUE", "FLAGS", "SUMMARY"};
	static const bool right[AC_N] = {true,  false, false, false, false,
	                                 false, true,  true,  false, false};
	/* caps on what the content asks for: the columns take the width of
	 * their longest cell up to these, so none is cut (or SUMMARY dropped)
	 * while others hold blank space */
	static const int min_cap[AC_N] = {4, 8, 4, 24, 8, 8, 6, 7, 5, 8};
	static const int want_cap[AC_N] = {6, 8, 8, 40, 24, 24, 7, 9, 14, 160};
	static const int prio[AC_N] = {0, 0, 1, 0, 0, 1, 1, 1, 2, 1};
	int w[AC_N], min[AC_N], want[AC_N], idx[1024], n = views_alert_rows(d, idx, 1024), y0 = 3;
	int rows = d->rows - 1 - y0, x, firing = 0, pending = 0;
	char buf[256], cell[AC_N][192];

	for (size_t i = 0; i < d->alerts.n; i++) {
		firing += strcmp(d->alerts.v[i].state, "firing") == 0;
		pending += strcmp(d->alerts.v[i].state, "pending") == 0;
	}
	snprintf(buf, sizeof(buf),
	         "%d firing, %d pending, %zu in history | a: ack  s: silence  Enter: go to model",
	         firing, pending, d->alerts.n - (size_t)firing - (size_t)pending);
	put(d, 1, 1, d->cols - 2, buf, firing ? dash_attr(d, PAIR_BAD) : (int)A_NORMAL);
	for (int c = 0; c < AC_N; c++)
		want[c] = lay_width(head[c]);
	for (int i = 0; i < n; i++) {
		alert_cells(d, &d->alerts.v[idx[i]], cell);
		for (int c = 0; c < AC_N; c++)
			if (lay_width(cell[c]) > want[c])
				want[c] = lay_width(cell[c]);
	}
	for (int c = 0; c < AC_N; c++) {
		if (want[c] > want_cap[c])
			want[c] = want_cap[c];
		min[c] = want[c] < min_cap[c] ? want[c] : min_cap[c];
	}
	lay_columns(d->cols - 1, 1, AC_N, min, want, prio, AC_SUMMARY, w);
	fill_row(d, 2, dash_attr(d, PAIR_HEAD));
	x = 0;
	for (int c = 0; c < AC_N; c++) {
		if (!w[c])
			continue;
		put_pad(d, 2, x, w[c], head[c], right[c], dash_attr(d, PAIR_HEAD));
		x += w[c] + 1;
	}
	if (n == 0)
		put(d, y0, 1, d->cols - 2,
		    d->alerts.n ? "no alert matches the filter (Esc clears it)" : "no alerts",
		    dash_attr(d, PAIR_DIM));
	if (d->al_sel >= n)
		d->al_sel = n ? n - 1 : 0;
	if (d->al_sel < d->al_top)
		d->al_top = d->al_sel;
	if (rows > 0 && d->al_sel >= d->al_top + rows)
		d->al_top = d->al_sel - rows + 1;
	d->list_y0 = y0;
	d->list_rows = rows;
	for (int r = 0; r < rows && d->al_top + r < n; r++) {
		const struct data_alert *a = &d->alerts.v[idx[d->al_top + r]];
		bool sel = d->al_top + r == d->al_sel;
		int base = strcmp(a->state, "firing") == 0    ? dash_attr(d, PAIR_BAD)
		           : strcmp(a->state, "pending") == 0 ? dash_attr(d, PAIR_WARN)
		                                              : dash_attr(d, PAIR_DIM);
		int y = y0 + r;

		alert_cells(d, a, cell);
		if (sel)
			fill_row(d, y, (int)A_REVERSE);
		x = 0;
		for (int c = 0; c < AC_N; c++) {
			if (!w[c])
				continue;
			put_pad(d, y, x, w[c], cell[c], right[c],
			        base | (sel ? (int)A_REVERSE : 0) |
			            (c == AC_STATE && a->state[0] == 'f' ? (int)A_BOLD : 0));
			x += w[c] + 1;
		}
	}
}

void views_draw(struct dash *d)
{
	d->list_rows = 0;
	switch (d->view) {
	case V_OVERVIEW:
		draw_overview(d);
		break;
	case V_LATENCY:
		draw_latency(d);
		break;
	case V_ACCURACY:
		draw_accuracy(d);
		break;
	case V_DRIFT:
		draw_drift(d);
		break;
	case V_ALERTS:
		draw_alerts(d);
		break;
	default:
		break;
	}
}
