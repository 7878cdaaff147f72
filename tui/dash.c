/* dash: the dashboard's loop: terminal setup (ncursesw, LC_CTYPE only, so
 * that numbers still parse with a '.' whatever LC_NUMERIC says), one short
 * read transaction per refresh for the view on screen, keys and mouse,
 * prompts, the tab bar, the status line and the help. Drawing the views is
 * views.c. The database is opened read-only; ack and silence open a second,
 * read-write handle for the one statement and close it. */
#define _XOPEN_SOURCE_EXTENDED 1
#include "dash.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <ncurses.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <wchar.h>

#include "clock.h"
#include "cmd.h"
#include "dash_int.h"
#include "layout.h"
#include "store_fairness.h"
#include "text.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

/* ---- small helpers for views.c ------------------------------------------ */

int dash_attr(const struct dash *d, int pair)
{
	if (d->theme == THEME_NONE) {
		/* Without colour, emphasis carries what colour would. */
		switch (pair) {
		case PAIR_TAB_ON:
		case PAIR_HEAD:
			return A_REVERSE | A_BOLD;
		case PAIR_BAD:
		case PAIR_STALE:
			return A_BOLD;
		case PAIR_DIM:
		case PAIR_BAND:
			return A_DIM;
		case PAIR_STATUS:
			return A_REVERSE;
		default:
			return A_NORMAL;
		}
	}
	int a = COLOR_PAIR(pair);
	if (pair == PAIR_BAD || pair == PAIR_STALE || pair == PAIR_TAB_ON)
		a |= A_BOLD;
	if (d->theme == THEME_8 && pair >= PAIR_HEAT) {
		bool bold;
		theme_color8(pair - PAIR_HEAT, &bold);
		if (bold)
			a |= A_BOLD;
	}
	return a;
}

bool dash_match(const struct dash *d, const char *s)
{
	/* Each view has its own filter, so one set in a view (or by Enter on an
	 * alert) never empties another. */
	const char *f = d->filter[d->view];
	return !f[0] || strcasestr(s, f) != NULL;
}

static void set_msg(struct dash *d, bool err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_msg(struct dash *d, bool err, const char *fmt, ...)
{
	va_list ap;
	char raw[512];

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	text_sanitize(d->msg, sizeof(d->msg), raw);
	d->msg_err = err;
	d->msg_until = clock_mono() + 5;
}

/* ---- colours ------------------------------------------------------------ */

static void init_colors(struct dash *d)
{
	int heat_fg = COLOR_BLACK;

	if (d->theme == THEME_NONE)
		return;
	use_default_colors();
	init_pair(PAIR_TAB, -1, -1);
	init_pair(PAIR_TAB_ON, COLOR_BLACK, COLOR_CYAN);
	init_pair(PAIR_HEAD, COLOR_BLACK, COLOR_GREEN);
	init_pair(PAIR_OK, COLOR_GREEN, -1);
	init_pair(PAIR_WARN, COLOR_YELLOW, -1);
	init_pair(PAIR_BAD, COLOR_RED, -1);
	init_pair(PAIR_DIM, d->theme == THEME_256 ? 244 : COLOR_WHITE, -1);
	init_pair(PAIR_P50, COLOR_GREEN, -1);
	init_pair(PAIR_P95, COLOR_YELLOW, -1);
	init_pair(PAIR_P99, d->theme == THEME_256 ? 203 : COLOR_MAGENTA, -1);
	init_pair(PAIR_THRESH, COLOR_RED, -1);
	init_pair(PAIR_EST, d->theme == THEME_256 ? 75 : COLOR_CYAN, -1);
	init_pair(PAIR_BAND, d->theme == THEME_256 ? 240 : COLOR_BLUE, -1);
	init_pair(PAIR_STATUS, COLOR_BLACK, COLOR_WHITE);
	init_pair(PAIR_STALE, COLOR_WHITE, COLOR_RED);
	for (int s = 0; s < THEME_STEPS; s++) {
		bool bold;
		int c = d->theme == THEME_256 ? theme_color256(s) : theme_color8(s, &bold);
		(void)heat_fg;
		init_pair((short)(PAIR_HEAT + s), (short)c, -1);
	}
}

/* ---- data --------------------------------------------------------------- */

static double range_s(const struct dash *d)
{
	return (double)lay_range_seconds(d->range);
}

static void select_model(struct dash *d, const char *name)
{
	int64_t id = 0;

	for (size_t i = 0; i < d->nmodel_list; i++)
		if (strcmp(d->model_list[i].name, name) == 0)
			id = d->model_list[i].id;
	if (!id)
		return;
	if (strcmp(d->model, name) != 0) {
		snprintf(d->model, sizeof(d->model), "%s", name);
		d->model_id = id;
		d->hm_row = d->hm_top = 0;
		memset(&d->hm, 0, sizeof(d->hm));
		d->hm.follow = true;
		d->detail_open = false;
		d->nthr = data_thresholds(d->cfg, d->model, d->thr, DASH_MAX_THRESH);
	}
}

static int open_db(struct dash *d)
{
	char err[512];

	if (d->db_open)
		return 0;
	if (store_open(&d->st, d->dbpath, STORE_RO, false, err, sizeof(err))) {
		text_sanitize(d->db_err, sizeof(d->db_err), err);
		return -1;
	}
	sq_init(&d->q, &d->st);
	d->db_open = true;
	d->db_err[0] = '\0';
	return 0;
}

static void close_db(struct dash *d)
{
	if (d->db_open) {
		sq_fini(&d->q);
		store_close(&d->st);
		d->db_open = false;
	}
}

/* Loads what the current view shows, in one short read transaction. */
/* Keeps the first protected attribute (by name) for the fairness panel. */
static int first_fair_attr(const struct fairness_attr *pooled, int64_t newest, void *arg)
{
	struct fairness_attr *out = arg;

	fairness_attr_init(out, pooled->name);
	for (size_t i = 0; i < pooled->n; i++)
		if (fairness_add_counts(out, &pooled->g[i]))
			return -1;
	return 1; /* one is enough */
}

static int load(struct dash *d)
{
	double t0 = clock_mono(), from, to;
	int64_t bucket;
	int rc = -1;

	d->now = cmd_now();
	if (open_db(d))
		goto out;
	if (store_begin(&d->st))
		goto fail;
	if (sq_meta(&d->q, &d->meta))
		goto fail;
	free(d->model_list);
	d->model_list = NULL;
	d->nmodel_list = 0;
	if (sq_models(&d->q, &d->model_list, &d->nmodel_list))
		goto fail;
	if (!d->model[0] && d->nmodel_list && d->view != V_OVERVIEW)
		select_model(d, d->model_list[0].name);
	from = d->now - range_s(d);
	to = d->now + 1; /* the open window too */
	switch (d->view) {
	case V_OVERVIEW: {
		struct sq_status *rows = NULL;
		size_t n = 0;
		if (data_load_overview(&d->q, d->now, from, d->full ? 0 : clock_mono(), &d->ovc,
		                       &rows, &n))
			goto fail;
		data_sort_status(rows, n, d->sort, d->sort_desc);
		free(d->models);
		d->models = rows;
		d->nmodels = n;
		/* the worst model is the one to look at first */
		if (!d->model[0] && n)
			select_model(d, rows[0].model.name);
		break;
	}
	case V_LATENCY:
		bucket = lay_bucket((int64_t)range_s(d), d->q.window_s, 2 * views_chart_width(d));
		if (d->model_id && data_load_latency(&d->q, d->model_id, from, to, bucket,
		                                     d->full ? 0 : clock_mono(), &d->lat))
			goto fail;
		break;
	case V_ACCURACY:
		bucket = lay_bucket((int64_t)range_s(d), d->q.window_s, 2 * views_chart_width(d));
		if (d->model_id && data_load_accuracy(&d->q, d->model_id, from, to, bucket,
		                                      d->full ? 0 : clock_mono(), &d->acc))
			goto fail;
		fairness_attr_fini(&d->fair);
		if (d->model_id && store_fairness_pooled(&d->st, d->model, NULL, floor(from),
		                                         first_fair_attr, &d->fair) < 0)
			goto fail;
		break;
	case V_DRIFT:
		bucket = lay_bucket((int64_t)range_s(d), d->q.window_s, views_heat_width(d));
		if (d->model_id && data_load_heat(&d->q, d->model_id, from, to, bucket,
		                                  d->full ? 0 : clock_mono(), &d->heat))
			goto fail;
		if (d->detail_open && d->model_id) {
			/* the same window again: its numbers may have been recomputed */
			char feature[SQ_NAME_MAX];
			double start = (double)d->detail.d.start;
			int r;
			snprintf(feature, sizeof(feature), "%s", d->detail.feature);
			r = data_load_detail(&d->q, d->model_id, feature, start, start + 1,
			                     &d->detail);
			if (r == -1)
				goto fail;
			if (r == SQ_NOTFOUND)
				d->detail_open = false;
		}
		break;
	case V_ALERTS:
		if (data_load_alerts(&d->q, d->now, 1000, &d->alerts))
			goto fail;
		break;
	default:
		break;
	}
	store_commit(&d->st);
	d->full = false;
	rc = 0;
	goto out;
fail:
	text_sanitize(d->db_err, sizeof(d->db_err), store_errmsg(&d->st));
	store_rollback(&d->st);
	/* A database that went away is reopened on the next refresh. */
	close_db(d);
out:
	if (rc == 0)
		d->db_err[0] = '\0';
	d->load_ms = (clock_mono() - t0) * 1000;
	return rc;
}

/* ---- writes: ack and silence ---------------------------------------------- */

static int write_open(struct dash *d, struct store *w, struct sq *q)
{
	char err[512];

	if (store_open(w, d->dbpath, STORE_RW, false, err, sizeof(err))) {
		set_msg(d, true, "cannot write: %s", err);
		return -1;
	}
	sq_init(q, w);
	return 0;
}

static void write_close(struct store *w, struct sq *q)
{
	sq_fini(q);
	store_close(w);
}

static const struct data_alert *selected_alert(struct dash *d)
{
	int idx[1024];
	int n = views_alert_rows(d, idx, 1024);
	if (d->al_sel < 0 || d->al_sel >= n)
		return NULL;
	return &d->alerts.v[idx[d->al_sel]];
}

static void do_ack(struct dash *d)
{
	const struct data_alert *a = selected_alert(d);
	struct store w;
	struct sq q;
	int rc;

	if (!a) {
		set_msg(d, true, "no alert selected");
		return;
	}
	if (write_open(d, &w, &q))
		return;
	rc = sq_ack(&q, a->id, cmd_now());
	if (rc == 0)
		set_msg(d, false, "acked alert %lld (%s on %s)", (long long)a->id, a->rule,
		        a->model);
	else if (rc == SQ_NOTFOUND)
		set_msg(d, true, "alert %lld no longer exists", (long long)a->id);
	else
		set_msg(d, true, "cannot ack: %s", store_errmsg(&w));
	write_close(&w, &q);
}

static void do_silence(struct dash *d, const char *dur)
{
	const struct data_alert *a = selected_alert(d);
	struct store w;
	struct sq q;
	int64_t ms, id;
	double now = cmd_now();
	char buf[32];

	if (!a) {
		set_msg(d, true, "no alert selected");
		return;
	}
	if (config_parse_duration(dur, &ms) || ms <= 0 || ms > 366LL * 86400 * 1000) {
		set_msg(d, true, "'%s' is not a duration (like 30m, 2h)", dur);
		return;
	}
	if (write_open(d, &w, &q))
		return;
	if (sq_silence_add(&q, a->rule, a->model, now, now + (double)ms / 1000.0,
	                   "from the dashboard", &id) == 0)
		set_msg(d, false, "silenced %s on %s for %s (silence %lld)", a->rule, a->model,
		        config_format_duration(ms, buf, sizeof(buf)), (long long)id);
	else
		set_msg(d, true, "cannot silence: %s", store_errmsg(&w));
	write_close(&w, &q);
}

/* The silences of the alerts view (issue 13 F3): S lists the active ones
 * on the status line, u ends those covering the selected alert, as
 * `mlwatch silences` and `mlwatch unsilence` do. */
struct silence_walk {
	const struct data_alert *a; /* NULL: every silence */
	int64_t ids[32];
	int n;
	char text[480];
	size_t len;
};

static int silence_seen(const struct sq_silence *v, void *arg)
{
	struct silence_walk *w = arg;
	char age[32];

	if (w->a && ((strcmp(v->rule, "*") != 0 && strcmp(v->rule, w->a->rule) != 0) ||
	             (v->model && strcmp(v->model, w->a->model) != 0)))
		return 0;
	if (w->n < 32)
		w->ids[w->n] = v->id;
	w->n++;
	if (w->len < sizeof(w->text))
		w->len += (size_t)snprintf(w->text + w->len, sizeof(w->text) - w->len,
		                           "%s#%lld %s on %s, %s left", w->n > 1 ? "; " : "",
		                           (long long)v->id, v->rule, v->model ? v->model : "*",
		                           lay_fmt_age(age, sizeof(age), v->ends - cmd_now()));
	return 0;
}

static void do_silences(struct dash *d, bool end_selected)
{
	struct silence_walk sw = {0};
	struct store w;
	struct sq q;
	int ended = 0;

	if (end_selected && !(sw.a = selected_alert(d))) {
		set_msg(d, true, "no alert selected");
		return;
	}
	if (write_open(d, &w, &q))
		return;
	if (sq_silences_each(&q, false, cmd_now(), silence_seen, &sw)) {
		set_msg(d, true, "cannot read silences: %s", store_errmsg(&w));
	} else if (!end_selected) {
		set_msg(d, false, "%s", sw.n ? sw.text : "no active silences");
	} else {
		for (int i = 0; i < sw.n && i < 32; i++)
			ended += sq_silence_end(&q, sw.ids[i], cmd_now()) == 0;
		if (sw.n == 0)
			set_msg(d, true, "no silence covers %s on %s", sw.a->rule, sw.a->model);
		else
			set_msg(d, false, "unsilenced %s on %s (ended %d: %s)", sw.a->rule,
			        sw.a->model, ended, sw.text);
	}
	write_close(&w, &q);
}

/* ---- tab bar, status line, help ----------------------------------------- */

static const char *const view_names[V_COUNT] = {"Overview", "Latency", "Accuracy", "Drift",
                                                "Alerts"};

static void draw_tabs(struct dash *d)
{
	char buf[64], clock[32];
	int x = 0;

	move(0, 0);
	attrset(dash_attr(d, PAIR_TAB));
	clrtoeol();
	for (int v = 0; v < V_COUNT; v++) {
		snprintf(buf, sizeof(buf), " %d %s ", v + 1, view_names[v]);
		d->tab_x[v] = x;
		attrset(dash_attr(d, v == (int)d->view ? PAIR_TAB_ON : PAIR_TAB));
		mvaddnstr(0, x, buf, d->cols - x > 0 ? d->cols - x : 0);
		x += (int)strlen(buf);
		if (x >= d->cols)
			break;
	}
	d->tab_x[V_COUNT] = x;
	attrset(A_NORMAL);
	lay_fmt_time(clock, sizeof(clock), d->now, true);
	snprintf(buf, sizeof(buf), "mlwatch %s", clock + 11);
	if (x + (int)strlen(buf) + 2 < d->cols)
		mvaddstr(0, d->cols - (int)strlen(buf) - 1, buf);
}

/* Models whose traffic stopped: no event for more than limit seconds, but
 * some within the range. *worst gets the longest-silent one, *fresh whether
 * any model had an event within limit. Returns how many are silent. */
static int silent_models(const struct dash *d, double limit, const struct sq_model **worst,
                         bool *fresh)
{
	int n = 0;

	*worst = NULL;
	*fresh = false;
	for (size_t i = 0; i < d->nmodel_list; i++) {
		const struct sq_model *m = &d->model_list[i];
		double quiet = d->now - m->last_event;
		if (isnan(m->last_event))
			continue;
		if (quiet <= limit) {
			*fresh = true;
			continue;
		}
		if (quiet > range_s(d))
			continue;
		n++;
		if (!*worst || m->last_event < (*worst)->last_event)
			*worst = m;
	}
	return n;
}

static void draw_status(struct dash *d)
{
	char line[1024], part[640], age[32], path[256], tmp[768];
	int y = d->rows - 1, x;
	double silent = d->now - d->meta.last_write,
	       limit = fmax(10.0, 3.0 * (double)d->interval_ms / 1000.0);
	const struct sq_model *quiet = NULL;
	bool fresh, stale = isnan(d->meta.last_write) || silent > limit;
	int nquiet = silent_models(d, limit, &quiet, &fresh);

	move(y, 0);
	attrset(dash_attr(d, PAIR_STATUS));
	for (int i = 0; i < d->cols; i++)
		addch(' ');
	if (d->prompt != PROMPT_NONE) {
		const struct data_alert *a = selected_alert(d);
		if (d->prompt == PROMPT_FILTER)
			snprintf(tmp, sizeof(tmp), "filter: %s", d->input);
		else
			snprintf(tmp, sizeof(tmp), "silence %s on %s for (30m, 2h, 1d): %s",
			         a ? a->rule : "?", a ? a->model : "?", d->input);
		/* the text cursor is drawn, the terminal's stays hidden */
		snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), "_");
		lay_fit(line, sizeof(line), tmp, d->cols - 2, d->utf8);
		mvaddstr(y, 0, line);
		attrset(A_NORMAL);
		return;
	}
	x = 0;
	/* Stale data must be obvious: a red block first, in words. */
	if (d->db_err[0]) {
		snprintf(part, sizeof(part), " %s ", d->db_err);
		attrset(dash_attr(d, PAIR_STALE));
	} else if (isnan(d->meta.last_write)) {
		snprintf(part, sizeof(part), " collector has not written yet ");
		attrset(dash_attr(d, PAIR_STALE));
	} else if (nquiet && (fresh || !stale)) {
		/* Other models still get events, so the collector is writing:
		 * name the model that went quiet rather than blame the collector. */
		char more[32] = "";
		if (nquiet > 1)
			snprintf(more, sizeof(more), " (+%d more)", nquiet - 1);
		snprintf(part, sizeof(part), " %s: no events for %s%s ", quiet->name,
		         lay_fmt_age(age, sizeof(age), d->now - quiet->last_event), more);
		attrset(dash_attr(d, PAIR_STALE));
	} else if (stale && !fresh) {
		snprintf(part, sizeof(part), " collector silent for %s ",
		         lay_fmt_age(age, sizeof(age), silent));
		attrset(dash_attr(d, PAIR_STALE));
	} else {
		snprintf(part, sizeof(part), " last write %s ago ",
		         lay_fmt_age(age, sizeof(age), silent));
		attrset(dash_attr(d, PAIR_STATUS));
	}
	lay_fit(line, sizeof(line), part, d->cols, d->utf8);
	mvaddstr(y, x, line);
	x += lay_width(line);
	/* The view's filter right after: rows hidden must never go unnoticed,
	 * whatever the width and whatever message is shown. */
	if (d->filter[d->view][0] && x < d->cols) {
		snprintf(tmp, sizeof(tmp), " filter %s (Esc clears) ", d->filter[d->view]);
		attrset(dash_attr(d, PAIR_TAB_ON));
		lay_fit(line, sizeof(line), tmp, d->cols - x, d->utf8);
		mvaddstr(y, x, line);
		x += lay_width(line);
	}
	attrset(dash_attr(d, PAIR_STATUS));
	{
		char shown[1024]; /* a URI's password is never on screen */
		lay_fit(path, sizeof(path), db_redact(d->dbpath, shown, sizeof(shown)), 40,
		        d->utf8);
	}
	if (d->msg[0] && clock_mono() < d->msg_until) {
		snprintf(tmp, sizeof(tmp), " %s", d->msg);
		if (d->msg_err)
			attrset(dash_attr(d, PAIR_STALE));
	} else {
		config_format_duration(d->interval_ms, age, sizeof(age));
		snprintf(tmp, sizeof(tmp), " db %s | range %s | every %s | model %s | ? help", path,
		         lay_range_name(d->range), age, d->model[0] ? d->model : "-");
	}
	if (x < d->cols) {
		lay_fit(line, sizeof(line), tmp, d->cols - x, d->utf8);
		mvaddstr(y, x, line);
	}
	attrset(A_NORMAL);
}

static const char *const help_lines[] = {
    "mlwatch dashboard keys",
    "",
    "  ? F1        this help (any key closes it)",
    "  q           quit",
    "  Tab S-Tab   next / previous view",
    "  1 2 3 4 5   overview, latency, accuracy, drift, alerts",
    "  arrows hjkl move; PgUp PgDn g G page, top, bottom",
    "  Enter       overview: open the model's latency; drift: cell detail;",
    "              alerts: go to the alert's model",
    "  Esc         close the detail, the help or a prompt",
    "  m           next model (views 2-4 show the selected model)",
    "  /           filter the rows of this view by name (each view its own)",
    "  + -         longer / shorter time range: 15m 1h 6h 24h 7d 30d",
    "  r           refresh now",
    "  < >         overview: sort by the previous / next column",
    "  I           overview: invert the sort order",
    "  a           alerts: acknowledge the selected alert",
    "  s           alerts: silence the selected alert's rule on its model",
    "  u           alerts: end the silences covering the selected alert",
    "  S           alerts: list the active silences",
    "  mouse       click a tab to switch, a row or cell to select it",
    "",
    "severity: 1.0 = at the drift threshold; shading . : + # @ (or",
    "\xc2\xb7 \xe2\x96\x91 \xe2\x96\x92 \xe2\x96\x93 \xe2\x96\x88) from < 0.5 to >= 10",
};

static void draw_help(struct dash *d)
{
	int n = (int)(sizeof(help_lines) / sizeof(help_lines[0]));
	int w = 0, h, x0, y0;
	char buf[256];

	for (int i = 0; i < n; i++)
		if (lay_width(help_lines[i]) > w)
			w = lay_width(help_lines[i]);
	w += 4;
	h = n + 2;
	if (w > d->cols)
		w = d->cols;
	if (h > d->rows - 1)
		h = d->rows - 1;
	x0 = (d->cols - w) / 2;
	y0 = (d->rows - 1 - h) / 2;
	if (y0 < 0)
		y0 = 0;
	attrset(A_NORMAL);
	for (int y = 0; y < h; y++) {
		move(y0 + y, x0);
		for (int x = 0; x < w; x++)
			addch(' ');
	}
	attrset(dash_attr(d, PAIR_HEAD));
	mvhline(y0, x0, ' ', w);
	attrset(A_NORMAL);
	for (int i = 0; i < n && i + 1 < h - 1 + 1; i++) {
		if (y0 + 1 + i - (i == 0) >= d->rows - 1)
			break;
		lay_fit(buf, sizeof(buf), help_lines[i], w - 4, d->utf8);
		if (i == 0) {
			attrset(dash_attr(d, PAIR_HEAD));
			mvaddstr(y0, x0 + 2, buf);
			attrset(A_NORMAL);
		} else {
			mvaddstr(y0 + i, x0 + 2, buf);
		}
	}
}

static void draw(struct dash *d)
{
	double t0 = clock_mono();

	getmaxyx(stdscr, d->rows, d->cols);
	erase();
	if (d->cols < 40 || d->rows < 10) {
		mvaddstr(0, 0, "terminal too small");
		mvaddstr(1, 0, "(need 40x10; q quits)");
	} else {
		draw_tabs(d);
		views_draw(d);
		draw_status(d);
		if (d->help)
			draw_help(d);
	}
	wnoutrefresh(stdscr);
	doupdate();
	d->render_ms = (clock_mono() - t0) * 1000;
}

/* ---- keys --------------------------------------------------------------- */

static void set_view(struct dash *d, int v)
{
	if (v < 0)
		v = V_COUNT - 1;
	d->view = (enum dash_view)(v % V_COUNT);
	d->detail_open = false;
}

static void cycle_model(struct dash *d, int dir)
{
	size_t i;

	if (!d->nmodel_list)
		return;
	for (i = 0; i < d->nmodel_list; i++)
		if (strcmp(d->model_list[i].name, d->model) == 0)
			break;
	i = i == d->nmodel_list ? 0 : (i + d->nmodel_list + (size_t)(dir + 0)) % d->nmodel_list;
	select_model(d, d->model_list[i].name);
	set_msg(d, false, "model %s", d->model);
}

static void clamp(int *v, int lo, int hi)
{
	if (*v > hi)
		*v = hi;
	if (*v < lo)
		*v = lo;
}

/* Moves the cursor of the current view by dy rows / dx columns. */
static void move_cursor(struct dash *d, int dy, int dx)
{
	switch (d->view) {
	case V_OVERVIEW: {
		int idx[4096], n = views_overview_rows(d, idx, 4096);
		d->ov_sel += dy;
		clamp(&d->ov_sel, 0, n - 1);
		break;
	}
	case V_DRIFT: {
		size_t idx[4096];
		int n = views_heat_rows(d, idx, 4096);
		if (d->detail_open)
			break;
		data_heat_cursor_move(&d->hm, &d->heat, idx, n, dy, dx);
		break;
	}
	case V_ALERTS: {
		int idx[1024], n = views_alert_rows(d, idx, 1024);
		d->al_sel += dy;
		clamp(&d->al_sel, 0, n - 1);
		break;
	}
	default:
		break;
	}
}

static void open_detail(struct dash *d)
{
	size_t idx[4096];
	int n = views_heat_rows(d, idx, 4096), row, col;
	const char *feature;
	double from, to;

	data_heat_cursor_resolve(&d->hm, &d->heat, idx, n, &row, &col);
	if (row < 0 || !d->db_open)
		return;
	feature = d->heat.name[idx[row]];
	from = (double)(d->heat.t0 + (int64_t)col * d->heat.bucket);
	to = from + (double)d->heat.bucket;
	if (store_begin(&d->st) == 0) {
		int rc = data_load_detail(&d->q, d->model_id, feature, from, to, &d->detail);
		store_commit(&d->st);
		if (rc == 0)
			d->detail_open = true;
		else if (rc == SQ_NOTFOUND)
			set_msg(d, true, "no drift result for %s in that column", feature);
		else
			set_msg(d, true, "cannot read: %s", store_errmsg(&d->st));
	}
}

static void on_enter(struct dash *d)
{
	switch (d->view) {
	case V_OVERVIEW: {
		int idx[4096], n = views_overview_rows(d, idx, 4096);
		if (d->ov_sel >= 0 && d->ov_sel < n) {
			select_model(d, d->models[idx[d->ov_sel]].model.name);
			set_view(d, V_LATENCY);
		}
		break;
	}
	case V_DRIFT:
		if (d->detail_open)
			d->detail_open = false;
		else
			open_detail(d);
		break;
	case V_ALERTS: {
		const struct data_alert *a = selected_alert(d);
		if (a) {
			bool feature = a->feature[0] != 0;
			char f[SQ_NAME_MAX];
			snprintf(f, sizeof(f), "%s", a->feature);
			select_model(d, a->model);
			set_view(d, feature ? V_DRIFT : V_LATENCY);
			if (feature) {
				/* select the feature's row (no filter: nothing hidden is
				 * left behind); a drift filter that would hide it goes */
				char *df = d->filter[V_DRIFT];
				if (df[0] && !strcasestr(f, df)) {
					set_msg(d, false, "drift filter '%s' cleared to show %s",
					        df, f);
					df[0] = '\0';
				}
				memset(&d->hm, 0, sizeof(d->hm));
				snprintf(d->hm.feature, sizeof(d->hm.feature), "%s", f);
				d->hm.follow = true;
			}
		}
		break;
	}
	default:
		break;
	}
}

static void on_mouse(struct dash *d)
{
	MEVENT ev;

	if (getmouse(&ev) != OK)
		return;
	if (!(ev.bstate &
	      (BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED | BUTTON1_DOUBLE_CLICKED)))
		return;
	if (ev.y == 0) {
		for (int v = 0; v < V_COUNT; v++)
			if (ev.x >= d->tab_x[v] && ev.x < d->tab_x[v + 1]) {
				set_view(d, v);
				return;
			}
		return;
	}
	if (ev.y < d->list_y0 || ev.y >= d->list_y0 + d->list_rows)
		return;
	switch (d->view) {
	case V_OVERVIEW:
		d->ov_sel = d->ov_top + ev.y - d->list_y0;
		move_cursor(d, 0, 0);
		if (ev.bstate & BUTTON1_DOUBLE_CLICKED)
			on_enter(d);
		break;
	case V_ALERTS:
		d->al_sel = d->al_top + ev.y - d->list_y0;
		move_cursor(d, 0, 0);
		break;
	case V_DRIFT:
		if (d->detail_open)
			break;
		{
			size_t idx[4096];
			int n = views_heat_rows(d, idx, 4096), row, col;
			data_heat_cursor_resolve(&d->hm, &d->heat, idx, n, &row, &col);
			if (ev.x >= d->heat_x0 && ev.x < d->heat_x0 + d->heat_cw &&
			    d->heat_cellw > 0)
				col = (ev.x - d->heat_x0) / d->heat_cellw;
			data_heat_cursor_set(&d->hm, &d->heat, idx, n,
			                     d->hm_top + ev.y - d->list_y0, col);
		}
		if (ev.bstate & BUTTON1_DOUBLE_CLICKED)
			open_detail(d);
		break;
	default:
		break;
	}
}

/* Text entry for the prompts. Returns true when the prompt ended. */
static void on_prompt_key(struct dash *d, int rc, wint_t ch)
{
	size_t len = strlen(d->input);

	if (rc == KEY_CODE_YES) {
		if (ch == KEY_BACKSPACE && len)
			d->input[len - 1] = '\0';
		else if (ch == KEY_ENTER)
			goto enter;
		return;
	}
	if (ch == 27) { /* Esc */
		if (d->prompt == PROMPT_FILTER)
			d->filter[d->view][0] = '\0';
		d->prompt = PROMPT_NONE;
		return;
	}
	if (ch == '\n' || ch == '\r')
		goto enter;
	if (ch == 127 || ch == 8) {
		/* drop a whole UTF-8 sequence */
		while (len && ((unsigned char)d->input[len - 1] & 0xc0) == 0x80)
			d->input[--len] = '\0';
		if (len)
			d->input[--len] = '\0';
	} else if (ch >= 32 && ch != 127) {
		char mb[8];
		mbstate_t ps;
		memset(&ps, 0, sizeof(ps));
		size_t n = wcrtomb(mb, (wchar_t)ch, &ps);
		if (n != (size_t)-1 && len + n < sizeof(d->input) - 1) {
			memcpy(d->input + len, mb, n);
			d->input[len + n] = '\0';
		}
	}
	if (d->prompt == PROMPT_FILTER) {
		/* filter as you type */
		snprintf(d->filter[d->view], sizeof(d->filter[0]), "%s", d->input);
		if (d->view == V_OVERVIEW)
			d->ov_sel = d->ov_top = 0;
		else if (d->view == V_ALERTS)
			d->al_sel = d->al_top = 0;
		else
			d->hm.row = d->hm_top = 0;
	}
	return;
enter:
	if (d->prompt == PROMPT_FILTER)
		snprintf(d->filter[d->view], sizeof(d->filter[0]), "%s", d->input);
	else if (d->prompt == PROMPT_SILENCE)
		do_silence(d, d->input[0] ? d->input : "1h");
	d->prompt = PROMPT_NONE;
}

/* Returns true when the data must be reloaded. */
static bool on_key(struct dash *d, int rc, wint_t ch)
{
	if (d->prompt != PROMPT_NONE) {
		enum dash_prompt p = d->prompt;
		on_prompt_key(d, rc, ch);
		return p == PROMPT_SILENCE && d->prompt == PROMPT_NONE;
	}
	if (d->help) {
		d->help = false;
		if (!(rc != KEY_CODE_YES && (ch == 'q' || ch == 'Q')))
			return false;
	}
	if (rc == KEY_CODE_YES) {
		switch (ch) {
		case KEY_F(1):
			d->help = true;
			return false;
		case KEY_UP:
			move_cursor(d, -1, 0);
			return false;
		case KEY_DOWN:
			move_cursor(d, 1, 0);
			return false;
		case KEY_LEFT:
			move_cursor(d, 0, -1);
			return false;
		case KEY_RIGHT:
			move_cursor(d, 0, 1);
			return false;
		case KEY_PPAGE:
			move_cursor(d, -(d->list_rows > 1 ? d->list_rows - 1 : 1), 0);
			return false;
		case KEY_NPAGE:
			move_cursor(d, d->list_rows > 1 ? d->list_rows - 1 : 1, 0);
			return false;
		case KEY_HOME:
			move_cursor(d, -100000, 0);
			return false;
		case KEY_END:
			move_cursor(d, 100000, 0);
			return false;
		case KEY_BTAB:
			set_view(d, (int)d->view - 1);
			return true;
		case KEY_ENTER:
			on_enter(d);
			return true;
		case KEY_MOUSE: {
			enum dash_view v = d->view;
			bool open = d->detail_open;
			on_mouse(d);
			return v != d->view || open != d->detail_open;
		}
		case KEY_RESIZE:
			return true;
		default:
			return false;
		}
	}
	switch (ch) {
	case 'q':
	case 'Q':
		d->quit = true;
		return false;
	case '?':
		d->help = true;
		return false;
	case '\t':
		set_view(d, (int)d->view + 1);
		return true;
	case '1':
	case '2':
	case '3':
	case '4':
	case '5':
		set_view(d, (int)(ch - '1'));
		return true;
	case 'k':
		move_cursor(d, -1, 0);
		return false;
	case 'j':
		move_cursor(d, 1, 0);
		return false;
	case 'h':
		move_cursor(d, 0, -1);
		return false;
	case 'l':
		move_cursor(d, 0, 1);
		return false;
	case 'g':
		move_cursor(d, -100000, 0);
		return false;
	case 'G':
		move_cursor(d, 100000, 0);
		return false;
	case '\n':
	case '\r':
		on_enter(d);
		return true;
	case 27:
		if (d->detail_open) {
			d->detail_open = false;
		} else if (d->filter[d->view][0]) {
			d->filter[d->view][0] = '\0';
		}
		return false;
	case '/':
		if (d->view != V_OVERVIEW && d->view != V_DRIFT && d->view != V_ALERTS) {
			set_msg(d, true, "no rows to filter here (views 1, 4 and 5 have)");
			return false;
		}
		d->prompt = PROMPT_FILTER;
		snprintf(d->input, sizeof(d->input), "%s", d->filter[d->view]);
		return false;
	case '+':
	case '=':
		if (d->range < LAY_NRANGES - 1)
			d->range++;
		set_msg(d, false, "range %s", lay_range_name(d->range));
		return true;
	case '-':
	case '_':
		if (d->range > 0)
			d->range--;
		set_msg(d, false, "range %s", lay_range_name(d->range));
		return true;
	case 'r':
		/* everything from the database again, not only the recent part */
		d->full = true;
		return true;
	case 'm':
		cycle_model(d, 1);
		return true;
	case 'M':
		cycle_model(d, -1);
		return true;
	case '<':
	case '>':
		if (d->view == V_OVERVIEW) {
			d->sort = (enum data_sort)(
			    ((int)d->sort + (ch == '>' ? 1 : SORT_COUNT - 1)) % SORT_COUNT);
			d->sort_desc = d->sort != SORT_NAME;
			set_msg(d, false, "sorted by %s", data_sort_name(d->sort));
			return true;
		}
		return false;
	case 'I':
		if (d->view == V_OVERVIEW) {
			d->sort_desc = !d->sort_desc;
			return true;
		}
		return false;
	case 'a':
		if (d->view == V_ALERTS) {
			do_ack(d);
			return true;
		}
		return false;
	case 'u':
	case 'S':
		if (d->view == V_ALERTS) {
			do_silences(d, ch == 'u');
			return true;
		}
		return false;
	case 's':
		if (d->view == V_ALERTS) {
			if (!selected_alert(d)) {
				set_msg(d, true, "no alert selected");
				return false;
			}
			d->prompt = PROMPT_SILENCE;
			snprintf(d->input, sizeof(d->input), "1h");
		}
		return false;
	default:
		return false;
	}
}

/* ---- setup -------------------------------------------------------------- */

static void dash_init(struct dash *d, struct mlw_config *cfg)
{
	int r;

	memset(d, 0, sizeof(*d));
	d->cfg = cfg;
	d->dbpath = cfg->tui.db;
	d->interval_ms = cfg->tui.interval_ms > 0 ? cfg->tui.interval_ms : 1000;
	if (d->interval_ms < 100)
		d->interval_ms = 100;
	r = cfg->tui.range ? lay_range_find(cfg->tui.range) : -1;
	d->range = r >= 0 ? r : 1;
	d->hm.follow = true;
	d->sort = SORT_HEALTH;
	d->sort_desc = true;
}

static void dash_fini(struct dash *d)
{
	fairness_attr_fini(&d->fair);
	close_db(d);
	free(d->model_list);
	free(d->models);
	data_latency_free(&d->lat);
	data_accuracy_free(&d->acc);
	data_heat_free(&d->heat);
	data_alerts_free(&d->alerts);
	data_ov_cache_free(&d->ovc);
}

static bool locale_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);
	return cs && (strcasecmp(cs, "UTF-8") == 0 || strcasecmp(cs, "utf8") == 0);
}

static void curses_setup(struct dash *d)
{
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	curs_set(0);
	set_escdelay(25);
	mousemask(BUTTON1_CLICKED | BUTTON1_PRESSED | BUTTON1_RELEASED | BUTTON1_DOUBLE_CLICKED,
	          NULL);
	mouseinterval(0);
	d->theme = theme_pick(d->cfg->tui.no_color, getenv("NO_COLOR"), 256);
	if (d->theme != THEME_NONE) {
		/* COLORS is known only after start_color */
		if (has_colors() && start_color() == OK)
			d->theme = theme_pick(false, NULL, COLORS);
		else
			d->theme = THEME_NONE;
	}
	init_colors(d);
	getmaxyx(stdscr, d->rows, d->cols);
	/* `mlwatch demo` says where its webhook deliveries go, for 30 s */
	const char *note = getenv("MLWATCH_DEMO_NOTE");
	if (note && *note) {
		set_msg(d, false, "%s", note);
		d->msg_until = clock_mono() + 30;
	}
}

/* --bench-frames N: open, then load and render N frames of every view on a
 * virtual screen (output to /dev/null), printing the timings. */
static int bench(struct dash *d, long frames, double t_start)
{
	FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
	const char *size = getenv("MLWATCH_BENCH_SIZE");
	int rows = 40, cols = 120, rc = 1;
	SCREEN *scr = NULL;

	if (!out || !in)
		goto out;
	if (size && sscanf(size, "%dx%d", &cols, &rows) != 2) {
		cols = 120;
		rows = 40;
	}
	scr = newterm(getenv("TERM") ? getenv("TERM") : "xterm-256color", out, in);
	if (!scr) {
		cmd_error("cannot start the virtual screen for TERM=%s", getenv("TERM"));
		goto out;
	}
	set_term(scr);
	resize_term(rows, cols);
	curses_setup(d);
	if (load(d)) {
		cmd_error("%s", d->db_err);
		goto out;
	}
	draw(d);
	printf("open_ms %.2f (%dx%d, range %s, %zu models)\n", (clock_mono() - t_start) * 1000,
	       cols, rows, lay_range_name(d->range), d->nmodel_list);
	for (int v = 0; v < V_COUNT + 1; v++) {
		double load_sum = 0, load_max = 0, render_sum = 0, render_max = 0;
		set_view(d, v == V_COUNT ? V_DRIFT : v);
		if (v == V_COUNT) {
			load(d);
			open_detail(d);
		}
		for (long i = 0; i < frames; i++) {
			load(d);
			draw(d);
			load_sum += d->load_ms;
			render_sum += d->render_ms;
			load_max = fmax(load_max, d->load_ms);
			render_max = fmax(render_max, d->render_ms);
			/* move the cursor so frames differ */
			move_cursor(d, (i % 2) ? -1 : 1, 0);
		}
		printf("view %-10s load_ms avg %.3f max %.3f  render_ms avg %.3f max %.3f\n",
		       v == V_COUNT ? "detail" : view_names[v], load_sum / (double)frames, load_max,
		       render_sum / (double)frames, render_max);
	}
	rc = 0;
out:
	if (scr) {
		endwin();
		delscreen(scr);
	}
	if (out)
		fclose(out);
	if (in)
		fclose(in);
	return rc;
}

int dash_main(struct mlw_config *cfg, const struct cli_result *res)
{
	static const char *const flags[] = {"bench-frames", NULL};
	double t_start = clock_mono(), next;
	const char *bf = cli_get(res, "bench-frames");
	struct sigaction sa;
	struct dash d;
	int rc;

	if ((rc = cmd_check_flags(res, flags)) || (rc = cmd_check_args(res, 0)))
		return rc;
	if (cli_has(res, "json")) {
		cmd_error("the dashboard has no --json output; use mlwatch status --json");
		return 2;
	}
	/* Only LC_CTYPE: LC_NUMERIC must stay "C" for strtod (cJSON, config). */
	setlocale(LC_CTYPE, "");
	dash_init(&d, cfg);
	d.utf8 = locale_utf8();
	if (open_db(&d)) {
		cmd_error("%s", d.db_err);
		return 1;
	}
	if (bf) {
		char *end;
		long n = strtol(bf, &end, 10);
		if (*end || n < 1 || n > 1000000) {
			cmd_error("--bench-frames: expected a count between 1 and 1000000");
			dash_fini(&d);
			return 2;
		}
		rc = bench(&d, n, t_start);
		dash_fini(&d);
		return rc;
	}
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		cmd_error("the dashboard needs a terminal; in scripts use `mlwatch status --json`");
		dash_fini(&d);
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	initscr();
	curses_setup(&d);
	load(&d);
	draw(&d);
	next = clock_mono() + (double)d.interval_ms / 1000.0;
	while (!d.quit && !got_signal) {
		int wait_ms = (int)((next - clock_mono()) * 1000);
		bool reload = false;
		wint_t ch;
		int r;

		if (wait_ms < 0)
			wait_ms = 0;
		timeout(wait_ms);
		r = get_wch(&ch);
		if (r == ERR) {
			if (clock_mono() >= next)
				reload = true;
			else if (errno == EINTR && !got_signal)
				continue;
		} else {
			reload = on_key(&d, r, ch);
		}
		if (d.quit || got_signal)
			break;
		if (reload || clock_mono() >= next) {
			load(&d);
			next = clock_mono() + (double)d.interval_ms / 1000.0;
		}
		draw(&d);
	}
	endwin();
	dash_fini(&d);
	return 0;
}
