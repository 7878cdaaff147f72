/* dash_int: the dashboard's state, shared by dash.c (the loop, keys, data
 * loading, tab bar, status line, help) and views.c (drawing the five views).
 * Not a public interface. */
#ifndef MLW_DASH_INT_H
#define MLW_DASH_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "data.h"
#include "fairness.h"
#include "store.h"
#include "store_query.h"
#include "theme.h"

enum dash_view { V_OVERVIEW = 0, V_LATENCY, V_ACCURACY, V_DRIFT, V_ALERTS, V_COUNT };

enum dash_prompt { PROMPT_NONE = 0, PROMPT_FILTER, PROMPT_SILENCE };

/* Colour pairs (when colour is on). Heat steps use PAIR_HEAT + step. */
enum dash_pair {
	PAIR_TAB = 1,
	PAIR_TAB_ON,
	PAIR_HEAD,
	PAIR_OK,
	PAIR_WARN,
	PAIR_BAD,
	PAIR_DIM,
	PAIR_P50,
	PAIR_P95,
	PAIR_P99,
	PAIR_THRESH,
	PAIR_EST,
	PAIR_BAND,
	PAIR_STATUS,
	PAIR_STALE,
	PAIR_HEAT, /* + THEME_STEPS */
};

#define DASH_MAX_THRESH 16

struct dash {
	struct mlw_config *cfg;
	const char *dbpath;
	struct store st;
	struct sq q;
	bool db_open;
	char db_err[512];

	double now;
	int64_t interval_ms;
	int range;
	enum dash_view view;
	bool utf8;
	enum theme_mode theme;
	int rows, cols;

	/* data of the last load */
	struct sq_meta meta;
	struct sq_model *model_list; /* by name, for m and the status line */
	size_t nmodel_list;
	struct sq_status *models; /* overview rows, sorted */
	size_t nmodels;
	enum data_sort sort;
	bool sort_desc;
	char model[SQ_NAME_MAX]; /* selected model ("" none) */
	int64_t model_id;
	struct data_latency lat;
	struct data_accuracy acc;
	/* the accuracy view's fairness panel: the model's first protected
	 * attribute, each group's counts pooled over the range (n 0: none) */
	struct fairness_attr fair;
	struct data_heat heat;
	struct data_alerts alerts;
	struct data_detail detail;
	bool detail_open;
	struct data_ov_cache ovc; /* the overview's range sums */
	bool full;                /* the next load reads everything again (r) */
	struct data_threshold thr[DASH_MAX_THRESH];
	int nthr;
	int64_t loaded_bucket[V_COUNT];

	/* cursors */
	int ov_sel, ov_top;
	struct data_heat_cursor hm; /* the heatmap's selection: feature and window */
	int hm_row, hm_top;         /* where it resolved on the last frame */
	int al_sel, al_top;
	int list_y0;                      /* screen row of the first list row (mouse) */
	int list_rows;                    /* list rows visible */
	int heat_x0, heat_cw, heat_cellw; /* heatmap: first cell's column, width, cell width */

	/* interaction */
	bool help;
	enum dash_prompt prompt;
	char input[128];
	char filter[V_COUNT][128]; /* each view's own (views with rows: 1, 4, 5) */
	char msg[256];
	bool msg_err;
	double msg_until;
	int tab_x[V_COUNT + 1]; /* tab bar hit ranges */
	bool quit;

	/* timing of the last frame (ms) */
	double load_ms, render_ms;
};

/* views.c */
void views_draw(struct dash *d);
/* Width of the chart area and heatmap (cells) for the current screen, so
 * dash.c loads data bucketed to what will be drawn. */
int views_chart_width(const struct dash *d);
int views_heat_width(const struct dash *d);
/* The overview rows that pass the filter: indexes into d->models. */
int views_overview_rows(const struct dash *d, int *idx, int max);
/* The heatmap rows that pass the filter: indexes into d->heat.order. */
int views_heat_rows(const struct dash *d, size_t *idx, int max);
/* The alert rows that pass the filter. */
int views_alert_rows(const struct dash *d, int *idx, int max);

/* dash.c helpers used by views.c */
int dash_attr(const struct dash *d, int pair);
/* s passes the filter of the view on screen. */
bool dash_match(const struct dash *d, const char *s);

#endif
