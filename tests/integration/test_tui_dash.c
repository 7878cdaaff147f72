/* The real dashboard driven in tmux (private server per test, killed at the
 * end) against a database with known values: every view shows what the
 * --json subcommands print for the same data; Enter on a heatmap cell shows
 * that feature's statistics; ack and silence from the alerts view; q exits 0
 * and restores the terminal; resizing to 80x24 and back keeps the screen
 * consistent; NO_COLOR and a non-UTF-8 locale keep severity readable. The
 * clock is frozen with MLWATCH_NOW so screens can be compared exactly. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>
#include <sqlite3.h>
#include <time.h>

#include "../../tui/layout.h"
#include "../lib/dbgen.h"
#include "../lib/harness.h"
#include "../lib/tuitest.h"

static char *dir, *bin;
static char db[512], conf[512], now_env[64];
static struct dbgen_opts opts;
static struct tt_tmux tm;

static void setup(void)
{
	char err[512], *cfg;

	dir = h_tmpdir("tuidash");
	bin = h_bin("mlwatch");
	cr_assert(dir && bin);
	snprintf(db, sizeof(db), "%s/t.db", dir);
	snprintf(conf, sizeof(conf), "%s/t.conf", dir);
	memset(&opts, 0, sizeof(opts));
	opts.models = 3;
	opts.features = 6;
	opts.windows = 120;
	opts.events_per_window = 2;
	opts.open_window = true;
	dbgen_defaults(&opts, &opts);
	snprintf(now_env, sizeof(now_env), "MLWATCH_NOW=%.3f", opts.now);
	cr_assert_eq(dbgen_fill(db, &opts, err, sizeof(err)), 0, "%s", err);
	cfg = "[alert p99-high]\nmodel = fraud\nexpr = p99_latency_ms > 250\nfor = 1m\n"
	      "severity = page\n";
	cr_assert_eq(h_write_file(conf, cfg, strlen(cfg)), 0);
}

static void teardown(void)
{
	tt_tmux_stop(&tm);
	h_rmtree(dir);
	free(dir);
	free(bin);
}

TestSuite(tui_dash, .init = setup, .fini = teardown, .timeout = 60);

/* Starts the dashboard at w x h with extra env ("K=V ..."); its exit
 * status goes to DIR/exit (tmux itself does not always learn it). */
static void start(int w, int h, const char *env)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
	         "env -u NO_COLOR %s TZ=UTC LC_ALL=C.UTF-8 TERM=tmux-256color %s %s --db %s "
	         "--config %s; echo $? > %s/exit",
	         now_env, env ? env : "", bin, db, conf, dir);
	cr_assert_eq(tt_tmux_start(&tm, w, h, cmd), 0);
	char *s = tt_tmux_wait(&tm, "fraud", 10);
	cr_assert_not_null(s, "the dashboard did not show the models");
	free(s);
}

static cJSON *json_of(const char *a0, ...)
{
	char *argv[32], *out = NULL, *err = NULL;
	int n = 0, rc;
	va_list ap;
	cJSON *j;

	argv[n++] = bin;
	argv[n++] = "--db";
	argv[n++] = db;
	va_start(ap, a0);
	for (const char *a = a0; a && n < 30; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n++] = "--json";
	argv[n] = NULL;
	rc = tt_run(argv, (char *[]){now_env, "TZ=UTC", NULL}, &out, &err, 20);
	cr_assert_eq(rc, 0, "%s", err);
	j = cJSON_Parse(out);
	cr_assert_not_null(j, "%s", out);
	free(out);
	free(err);
	return j;
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* The line of screen s that contains needle (static buffer), or "". */
static const char *line_with(const char *s, const char *needle)
{
	static char line[2048];
	const char *p = strstr(s, needle), *b, *e;
	size_t n;

	line[0] = '\0';
	if (!p)
		return line;
	for (b = p; b > s && b[-1] != '\n'; b--)
		;
	e = strchr(p, '\n');
	n = e ? (size_t)(e - b) : strlen(b);
	if (n >= sizeof(line))
		n = sizeof(line) - 1;
	memcpy(line, b, n);
	line[n] = '\0';
	return line;
}

#define EXPECT_ON(line, text) \
	cr_expect(strstr((line), (text)) != NULL, "'%s' not in: %s", (text), (line))

/* "... 400 ..." as a separate word on a line. */
static bool has_word(const char *line, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = strstr(line, w); p; p = strstr(p + 1, w)) {
		bool before = p == line || p[-1] == ' ', after = p[n] == ' ' || p[n] == '\0';
		if (before && after)
			return true;
	}
	return false;
}

#define EXPECT_WORD(line, w) cr_expect(has_word((line), (w)), "'%s' not a word in: %s", (w), (line))

Test(tui_dash, overview_shows_what_status_json_prints)
{
	cJSON *j = json_of("status", NULL), *m;
	char *s, b[64];

	start(120, 40, NULL);
	s = tt_tmux_capture(&tm);
	int rows = 0;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "models"))
	{
		const char *name = cJSON_GetObjectItem(m, "model")->valuestring;
		const char *line = line_with(s, name);
		rows++;
		cr_expect(line[0], "no row for %s:\n%s", name, s);
		EXPECT_WORD(line, lay_fmt_num(b, sizeof(b), num(m, "rps")));
		EXPECT_WORD(line, lay_fmt_pct(b, sizeof(b), num(m, "error_rate")));
		EXPECT_WORD(line, lay_fmt_ms(b, sizeof(b), num(m, "p50_ms")));
		EXPECT_WORD(line, lay_fmt_ms(b, sizeof(b), num(m, "p99_ms")));
		EXPECT_WORD(line, lay_fmt_pct(b, sizeof(b), num(m, "accuracy")));
		EXPECT_WORD(line, lay_fmt_pct(b, sizeof(b), num(m, "label_coverage")));
		EXPECT_WORD(line, cJSON_GetObjectItem(m, "worst_feature")->valuestring);
		EXPECT_WORD(line, lay_fmt_num(b, sizeof(b), num(m, "worst_severity")));
	}
	/* the fixture database holds opts.models models: a row checked for each */
	cr_expect_eq(rows, (int)opts.models, "mlwatch status --json listed %d models", rows);
	/* the firing model first, named as such */
	EXPECT_ON(line_with(s, "fraud"), "FIRING");
	cr_expect_lt(strstr(s, "fraud"), strstr(s, "churn"));
	/* status line: database, last write, range, interval */
	EXPECT_ON(line_with(s, "range"), "range 1h");
	EXPECT_ON(line_with(s, "range"), "every 1s");
	EXPECT_ON(line_with(s, "range"), "last write 0s ago");
	free(s);
	cJSON_Delete(j);
}

static cJSON *last_complete(cJSON *wins)
{
	cJSON *w, *best = NULL;
	cJSON_ArrayForEach(w, wins) if (num(w, "end") <= opts.now) best = w;
	return best;
}

Test(tui_dash, latency_view_shows_what_latency_json_prints)
{
	cJSON *j = json_of("latency", "--model", "fraud", NULL);
	cJSON *w = last_complete(cJSON_GetObjectItem(j, "windows"));
	char *s, b[64], want[128];

	cr_assert_not_null(w);
	start(120, 40, NULL);
	tt_tmux_key(&tm, "2");
	s = tt_tmux_wait(&tm, "latency (ms)", 5);
	cr_assert_not_null(s);
	snprintf(want, sizeof(want), "p50 %s", lay_fmt_ms(b, sizeof(b), num(w, "p50")));
	EXPECT_ON(s, want);
	snprintf(want, sizeof(want), "p95 %s", lay_fmt_ms(b, sizeof(b), num(w, "p95")));
	EXPECT_ON(s, want);
	snprintf(want, sizeof(want), "p99 %s", lay_fmt_ms(b, sizeof(b), num(w, "p99")));
	EXPECT_ON(s, want);
	snprintf(want, sizeof(want), "rps %s", lay_fmt_num(b, sizeof(b), num(w, "rps")));
	EXPECT_ON(s, want);
	/* the alert threshold from the config, and braille on the chart */
	EXPECT_ON(s, "p99_latency_ms > 250 (rule p99-high)");
	cr_expect(strstr(s, "\xe2\xa0") || strstr(s, "\xe2\xa1") || strstr(s, "\xe2\xa2") ||
	              strstr(s, "\xe2\xa3"),
	          "no braille on the chart:\n%s", s);
	/* y axis labels up to the spike */
	EXPECT_WORD(line_with(s, "400 "), "400");
	free(s);
	cJSON_Delete(j);
}

Test(tui_dash, accuracy_view_shows_what_accuracy_json_prints)
{
	cJSON *j = json_of("accuracy", "--model", "fraud", NULL), *w, *acc = NULL, *est = NULL;
	char *s, b[64], want_acc[128], want_est[128];

	cJSON_ArrayForEach(w, cJSON_GetObjectItem(j, "windows"))
	{
		if (!cJSON_IsNull(cJSON_GetObjectItem(w, "accuracy")))
			acc = w;
		if (!cJSON_IsNull(cJSON_GetObjectItem(w, "est_accuracy")))
			est = w;
	}
	cr_assert(acc && est);
	snprintf(want_acc, sizeof(want_acc), "accuracy %s",
	         lay_fmt_pct(b, sizeof(b), num(acc, "accuracy")));
	snprintf(want_est, sizeof(want_est), "estimated %s",
	         lay_fmt_pct(b, sizeof(b), num(est, "est_accuracy")));
	start(120, 40, NULL);
	tt_tmux_key(&tm, "3");
	/* the view's body, not its title: a capture taken while the frame
	 * is being written can hold the new title over the old body */
	free(tt_tmux_wait(&tm, want_acc, 5));
	s = tt_tmux_wait(&tm, want_est, 5);
	cr_assert_not_null(s);
	EXPECT_ON(s, "realized vs estimated");
	EXPECT_ON(s, want_acc);
	EXPECT_ON(s, want_est);
	EXPECT_ON(s, "concept drift (page-hinkley)");
	free(s);
	cJSON_Delete(j);
}

/* Issue 13 finding 15: the accuracy header's label coverage was the newest
 * window's (0%: labels come late) while the overview showed the range's;
 * the concept row held a label and nothing else when no detector fired. */
Test(tui_dash, accuracy_label_coverage_is_the_overviews_and_the_concept_row_says_none)
{
	cJSON *j = json_of("status", NULL), *m, *fraud = NULL, *churn = NULL;
	char *s, b[64], want[128];

	cJSON_ArrayForEach(m, cJSON_GetObjectItem(j, "models"))
	{
		const char *name = cJSON_GetObjectItem(m, "model")->valuestring;
		if (strcmp(name, "fraud") == 0)
			fraud = m;
		else if (strcmp(name, "churn") == 0)
			churn = m;
	}
	cr_assert(fraud && churn);
	cr_assert_gt(num(fraud, "label_coverage"), 0);
	start(120, 40, NULL);
	tt_tmux_key(&tm, "3");
	/* wait for the text itself: a capture can catch a screen half drawn */
	snprintf(want, sizeof(want), "label coverage %s over 1h",
	         lay_fmt_pct(b, sizeof(b), num(fraud, "label_coverage")));
	s = tt_tmux_wait(&tm, want, 5);
	cr_assert_not_null(s, "'%s' not on the fraud accuracy view", want);
	EXPECT_ON(s, "fraud | accuracy");
	free(s);
	/* churn had no concept drift: the row says so */
	tt_tmux_key(&tm, "m");
	s = tt_tmux_wait(&tm, "no concept drift detected over 1h", 5);
	cr_assert_not_null(s, "the concept row of churn says nothing");
	EXPECT_ON(s, "churn | accuracy");
	EXPECT_ON(line_with(s, "no concept drift"), "concept ");
	snprintf(want, sizeof(want), "label coverage %s over 1h",
	         lay_fmt_pct(b, sizeof(b), num(churn, "label_coverage")));
	EXPECT_ON(s, want);
	free(s);
	cJSON_Delete(j);
}

Test(tui_dash, drift_heatmap_and_cell_detail)
{
	cJSON *j = json_of("drift", "--model", "fraud", "--feature", "amount", NULL);
	cJSON *w = last_complete(cJSON_GetObjectItem(j, "windows")), *f;
	char *s, b[64];
	const char *l;

	cr_assert_not_null(w);
	f = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "features"), "amount");
	start(120, 40, NULL);
	tt_tmux_key(&tm, "4");
	s = tt_tmux_wait(&tm, "drift severity", 5);
	cr_assert_not_null(s);
	/* rows sorted by severity: amount first, drifting */
	l = line_with(s, "amount");
	EXPECT_ON(l, "3.5 DRIFT");
	EXPECT_ON(l, "\xe2\x96\x93"); /* ▓: severity 2-10 */
	cr_expect_lt(strstr(s, "amount"), strstr(s, "country"));
	free(s);
	tt_tmux_key(&tm, "Enter");
	s = tt_tmux_wait(&tm, "STATISTICS", 5);
	cr_assert_not_null(s);
	EXPECT_ON(s, "amount (numeric)");
	EXPECT_ON(s, "REF n=5000");
	EXPECT_WORD(line_with(s, "ks_p"), lay_fmt_num(b, sizeof(b), num(f, "ks_p")));
	EXPECT_WORD(line_with(s, "wasserstein "), lay_fmt_num(b, sizeof(b), num(f, "wasserstein")));
	EXPECT_WORD(line_with(s, "psi "), lay_fmt_num(b, sizeof(b), num(f, "psi")));
	EXPECT_WORD(line_with(s, "threshold "), lay_fmt_num(b, sizeof(b), num(f, "threshold")));
	EXPECT_ON(line_with(s, "severity "), "3.5  DRIFTED");
	EXPECT_ON(line_with(s, "method "), "wasserstein [mlwatch]");
	/* histogram bins of the reference (10% each) beside the current ones */
	EXPECT_ON(line_with(s, "<=1 "), "10%");
	free(s);
	/* another feature: move down, Enter */
	tt_tmux_keys(&tm, (const char *const[]){"Escape", "j", "Enter", NULL});
	s = tt_tmux_wait(&tm, "(categorical)", 5);
	cr_assert_not_null(s);
	EXPECT_ON(s, "chi2_p");
	EXPECT_ON(line_with(s, "method "), "chi2 [nannyml]");
	EXPECT_ON(s, "CATEGORY");
	free(s);
	cJSON_Delete(j);
}

/* The heatmap's cursor line: "FEATURE | HH:MM:SS-HH:MM:SS | severity ...". */
static bool cursor_of(const char *screen, char *feature, char *t1, char *t2)
{
	const char *l = line_with(screen, "| severity");
	return sscanf(l, " %128s | %8[0-9:]-%8[0-9:] |", feature, t1, t2) == 3;
}

/* A cursor time HH:MM:SS (UTC) as a Unix time: the one nearest to now, so
 * that times on either side of a midnight compare in the right order (the
 * strings compared wrong in the minutes after midnight: "23:56:00" > "00:01:34"). */
static int64_t cursor_time(const char *hms, int64_t now)
{
	int hh = 0, mm = 0, ss = 0;
	int64_t t;

	cr_assert_eq(sscanf(hms, "%d:%d:%d", &hh, &mm, &ss), 3, "not HH:MM:SS: '%s'", hms);
	t = now - now % 86400 + hh * 3600 + mm * 60 + ss;
	if (t > now + 43200)
		t -= 86400;
	else if (t < now - 43200)
		t += 86400;
	return t;
}

/* Waits until the cursor line names feature; returns the screen. */
static char *wait_cursor(const char *feature, double timeout_s)
{
	char want[192];
	snprintf(want, sizeof(want), " %s | ", feature);
	return tt_tmux_wait(&tm, want, timeout_s);
}

/* Issue 13 finding 7: the selection was a row and column index: a re-sort
 * moved it to another feature, a resize to a window in the future. */
Test(tui_dash, heatmap_selection_stays_on_its_feature_and_window)
{
	char *s, f0[160], a0[16], b0[16], f[160], a[16], b[16], sql[512], nowt[16];
	time_t now = (time_t)opts.now;
	struct tm tmv;
	sqlite3 *h = NULL;

	gmtime_r(&now, &tmv);
	strftime(nowt, sizeof(nowt), "%H:%M:%S", &tmv);
	start(120, 40, NULL);
	tt_tmux_key(&tm, "4");
	s = wait_cursor("amount", 5);
	cr_assert_not_null(s);
	free(s);
	/* the second row, five windows back */
	tt_tmux_keys(&tm, (const char *const[]){"j", "h", "h", "h", "h", "h", NULL});
	h_sleep(0.5);
	s = tt_tmux_capture(&tm);
	cr_assert(cursor_of(s, f0, a0, b0), "no cursor line in:\n%s", s);
	cr_assert_str_neq(f0, "amount");
	cr_assert_str_neq(f0, "country");
	free(s);
	/* country's newest window turns worst: it sorts to the top */
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	snprintf(sql, sizeof(sql),
	         "UPDATE drift SET severity = 9, drifted = 1 WHERE feature = 'country' AND "
	         "model_id = (SELECT id FROM models WHERE name = 'fraud') AND start = "
	         "(SELECT max(start) FROM drift WHERE feature = 'country')");
	cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK, "%s", sqlite3_errmsg(h));
	cr_assert_eq(sqlite3_changes(h), 1);
	sqlite3_close(h);
	s = tt_tmux_wait(&tm, "9 DRIFT", 10);
	cr_assert_not_null(s, "the refresh did not show the new severity");
	cr_expect_lt(strstr(s, "country"), strstr(s, "amount"), "%s", s);
	cr_assert(cursor_of(s, f, a, b), "no cursor line in:\n%s", s);
	cr_expect_str_eq(f, f0, "the selection moved from %s to %s on a re-sort", f0, f);
	cr_expect_str_eq(a, a0, "the selected window moved");
	free(s);
	/* narrower: wider buckets; the window is still the one selected, not
	 * one in the future */
	cr_assert_eq(tt_tmux_resize(&tm, 80, 24), 0);
	h_sleep(0.8);
	s = tt_tmux_capture(&tm);
	cr_assert(cursor_of(s, f, a, b), "no cursor line in:\n%s", s);
	cr_expect_str_eq(f, f0);
	cr_expect_leq(cursor_time(a, now), cursor_time(a0, now), "%s-%s does not hold %s", a, b,
	              a0);
	cr_expect_gt(cursor_time(b, now), cursor_time(a0, now), "%s-%s does not hold %s", a, b, a0);
	cr_expect_leq(cursor_time(a, now), (int64_t)now, "the cursor is on %s, after now (%s)", a,
	              nowt);
	free(s);
}

/* Issue 13 finding 12: Enter on a drift alert set a filter that then
 * emptied the overview, and at 80 columns the filter was cut off the
 * status line. Each view has its own filter, always shown. */
Test(tui_dash, filters_belong_to_their_view_and_show_at_80_columns)
{
	char *s;

	start(80, 24, NULL);
	tt_tmux_key(&tm, "5");
	s = tt_tmux_wait(&tm, "drift-amount", 5);
	cr_assert_not_null(s);
	free(s);
	tt_tmux_keys(&tm, (const char *const[]){"j", "Enter", NULL});
	s = wait_cursor("amount", 5); /* the drift view, on amount's row */
	cr_assert_not_null(s);
	cr_expect_null(strstr(s, "filter"), "%s", s);
	free(s);
	tt_tmux_key(&tm, "1");
	s = tt_tmux_wait(&tm, "STATE", 5);
	cr_assert_not_null(s);
	EXPECT_ON(s, "churn");
	EXPECT_ON(s, "eta");
	cr_expect_null(strstr(s, "no model matches"), "%s", s);
	free(s);
	/* a filter set here shows on the last row at 80 columns */
	tt_tmux_key(&tm, "/");
	tt_tmux_text(&tm, "chu");
	tt_tmux_key(&tm, "Enter");
	s = tt_tmux_wait(&tm, "filter chu (Esc clears)", 5);
	cr_assert_not_null(s, "the filter is not on the screen at 80 columns");
	cr_expect_null(strstr(s, "FIRING"), "%s", s); /* fraud filtered out */
	free(s);
	/* and only here: the alerts view shows every alert */
	tt_tmux_key(&tm, "5");
	s = tt_tmux_wait(&tm, "p99-high", 5);
	cr_assert_not_null(s, "the overview's filter hid alerts");
	free(s);
	h_sleep(0.5); /* the status line is drawn last */
	s = tt_tmux_capture(&tm);
	cr_expect_null(strstr(s, "filter chu"), "%s", s);
	free(s);
	tt_tmux_key(&tm, "1");
	s = tt_tmux_wait(&tm, "filter chu (Esc clears)", 5);
	cr_assert_not_null(s);
	free(s);
}

static void exec_sql(const char *fmt, double v)
{
	char sql[512];
	sqlite3 *h = NULL;

	snprintf(sql, sizeof(sql), fmt, v);
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK, "%s: %s", sql,
	             sqlite3_errmsg(h));
	sqlite3_close(h);
}

/* Issue 13 finding 15: "collector silent for 33s" was shown when only one
 * model's traffic had stopped; the status line names that model. */
Test(tui_dash, status_line_names_the_silent_model)
{
	char *s;

	/* nothing written for 40 s, fraud's last event 33 s ago, the others 1 s */
	exec_sql("UPDATE meta SET value = '%.3f' WHERE key = 'last_write'", opts.now - 40);
	exec_sql("UPDATE models SET last_event = %.3f WHERE name = 'fraud'", opts.now - 33);
	start(80, 24, NULL);
	s = tt_tmux_wait(&tm, "fraud: no events for 33s", 5);
	cr_assert_not_null(s, "the silent model is not named");
	cr_expect_null(strstr(s, "collector silent"), "%s", s);
	free(s);
	tt_tmux_key(&tm, "q");
	tt_tmux_stop(&tm);
	/* every model quiet too: then it is the collector (or all traffic) */
	exec_sql("UPDATE models SET last_event = %.3f", opts.now - 40);
	start(80, 24, NULL);
	s = tt_tmux_wait(&tm, "collector silent for 40s", 5);
	cr_assert_not_null(s);
	free(s);
}

/* Issue 13 finding 15: at 80 columns the Alerts view cut RULE and dropped
 * SUMMARY while other columns held blank space. */
Test(tui_dash, alerts_at_80_columns_keep_rule_and_summary)
{
	char *s;
	const char *l;

	exec_sql("INSERT INTO alerts (id, rule, model, feature, state, severity, value, "
	         "threshold, active_at, fired_at, fingerprint, acked, summary, updated) VALUES "
	         "(4, 'accuracy-below-target', 'fraud', '', 'firing', 'page', 0.7, 0.8, %1$.3f, "
	         "%1$.3f, 'fp4', 0, 'accuracy of fraud is 70%%', %1$.3f)",
	         opts.now - 30);
	start(80, 24, NULL);
	tt_tmux_key(&tm, "5");
	s = tt_tmux_wait(&tm, "accuracy-below", 5);
	cr_assert_not_null(s);
	free(s);
	h_sleep(0.3);
	s = tt_tmux_capture(&tm);
	EXPECT_ON(line_with(s, "STATE"), "SUMMARY");
	l = line_with(s, "accuracy-below");
	EXPECT_ON(l, "accuracy-below-target ");
	EXPECT_ON(l, " accurac"); /* the summary's start, however narrow */
	EXPECT_ON(line_with(s, "p99-high"), " p99 lat");
	free(s);
}

Test(tui_dash, alerts_view_ack_and_silence)
{
	cJSON *j, *a;
	char *s;

	start(120, 40, NULL);
	tt_tmux_key(&tm, "5");
	s = tt_tmux_wait(&tm, "p99-high", 5);
	cr_assert_not_null(s);
	EXPECT_ON(line_with(s, "p99-high"), "FIRING");
	EXPECT_ON(line_with(s, "drift-amount"), "pending");
	EXPECT_ON(line_with(s, "error-rate"), "acked");
	free(s);
	tt_tmux_key(&tm, "a");
	s = tt_tmux_wait(&tm, "acked alert 1", 5);
	cr_assert_not_null(s);
	free(s);
	tt_tmux_key(&tm, "s");
	s = tt_tmux_wait(&tm, "silence p99-high on fraud for", 5);
	cr_assert_not_null(s);
	free(s);
	tt_tmux_keys(&tm, (const char *const[]){"BSpace", "BSpace", NULL});
	tt_tmux_text(&tm, "30m");
	tt_tmux_key(&tm, "Enter");
	s = tt_tmux_wait(&tm, "silenced p99-high on fraud for 30m", 5);
	cr_assert_not_null(s);
	free(s);
	s = tt_tmux_wait(&tm, "silenced,acked", 5);
	cr_assert_not_null(s);
	free(s);
	j = json_of("alerts", NULL);
	a = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "alerts"), 0);
	cr_expect_eq(num(a, "id"), 1);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(a, "acked")));
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(a, "silenced")));
	cJSON_Delete(j);
}

/* issue 13 F3: the alerts view lists the active silences (S) and ends the
 * ones covering the selected alert (u), as `mlwatch silences` and
 * `mlwatch unsilence` do. */
Test(tui_dash, alerts_view_lists_and_ends_silences)
{
	cJSON *j, *a;
	char *s;

	start(120, 40, NULL);
	tt_tmux_key(&tm, "5");
	s = tt_tmux_wait(&tm, "p99-high", 5);
	cr_assert_not_null(s);
	free(s);
	tt_tmux_key(&tm, "S");
	s = tt_tmux_wait(&tm, "no active silences", 5);
	cr_assert_not_null(s);
	free(s);
	tt_tmux_key(&tm, "s");
	s = tt_tmux_wait(&tm, "silence p99-high on fraud for", 5);
	cr_assert_not_null(s);
	free(s);
	tt_tmux_key(&tm, "Enter");
	s = tt_tmux_wait(&tm, "silenced p99-high on fraud for 1h", 5);
	cr_assert_not_null(s);
	free(s);
	tt_tmux_key(&tm, "S");
	s = tt_tmux_wait(&tm, "#1 p99-high on fraud, ", 5);
	cr_assert_not_null(s, "S does not list the silence");
	free(s);
	tt_tmux_key(&tm, "u");
	s = tt_tmux_wait(&tm, "unsilenced p99-high on fraud (ended 1", 5);
	cr_assert_not_null(s);
	free(s);
	j = json_of("alerts", NULL);
	a = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "alerts"), 0);
	cr_expect(cJSON_IsFalse(cJSON_GetObjectItem(a, "silenced")));
	cJSON_Delete(j);
	j = json_of("silences", NULL);
	cr_expect_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "silences")), 0);
	cJSON_Delete(j);
}

Test(tui_dash, q_exits_zero_and_restores_the_terminal)
{
	char *s, path[600], *st = NULL;

	start(120, 40, NULL);
	tt_tmux_key(&tm, "q");
	snprintf(path, sizeof(path), "%s/exit", dir);
	st = h_wait_file_content(path, 5);
	cr_assert_not_null(st, "the dashboard did not exit on q");
	cr_expect_str_eq(st, "0\n");
	free(st);
	s = tt_tmux_capture(&tm);
	cr_assert_not_null(s);
	/* the alternate screen is gone: nothing of the dashboard is left */
	cr_expect_null(strstr(s, "Overview"), "%s", s);
	cr_expect_null(strstr(s, "fraud"), "%s", s);
	free(s);
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* True when the last non-empty line of screen contains needle. */
static bool last_line_has(const char *screen, const char *needle)
{
	const char *end = screen + strlen(screen), *start;
	while (end > screen && (end[-1] == '\n' || end[-1] == ' '))
		end--;
	for (start = end; start > screen && start[-1] != '\n'; start--)
		;
	char line[1024];
	size_t n =
	    (size_t)(end - start) < sizeof(line) - 1 ? (size_t)(end - start) : sizeof(line) - 1;
	memcpy(line, start, n);
	line[n] = '\0';
	return strstr(line, needle) != NULL;
}

Test(tui_dash, resize_to_80x24_and_back)
{
	char *before, *small, *after;
	int lines = 0, maxw = 0, w = 0;

	start(120, 40, NULL);
	before = tt_tmux_capture(&tm);
	cr_assert_eq(tt_tmux_resize(&tm, 80, 24), 0);
	/* Wait for the redraw (the status line on the last of 24 rows) rather
	 * than a fixed time. */
	small = NULL;
	for (double end = h_now() + 5 * h_slow(); !small || h_now() < end; h_sleep(0.05)) {
		free(small);
		small = tt_tmux_capture(&tm);
		if (count_lines(small) == 24 && last_line_has(small, "range 1h"))
			break;
	}
	for (const char *p = small; *p; p++) {
		if (*p == '\n') {
			lines++;
			maxw = w > maxw ? w : maxw;
			w = 0;
		} else if ((*p & 0xc0) != 0x80) {
			w++;
		}
	}
	cr_expect_leq(maxw, 80, "%s", small);
	cr_expect_eq(lines, 24);
	EXPECT_ON(small, " 1 Overview");
	EXPECT_ON(line_with(small, "fraud"), "FIRING");
	EXPECT_ON(line_with(small, "range"), "range 1h"); /* the status line, last row */
	cr_expect(strstr(small, "range 1h") > strstr(small, "churn"));
	cr_assert_eq(tt_tmux_resize(&tm, 120, 40), 0);
	after = NULL;
	for (double end = h_now() + 5 * h_slow(); !after || h_now() < end; h_sleep(0.05)) {
		free(after);
		after = tt_tmux_capture(&tm);
		if (strcmp(after, before) == 0)
			break;
	}
	cr_expect_str_eq(after, before);
	free(before);
	free(small);
	free(after);
}

Test(tui_dash, no_color_keeps_severity_readable)
{
	char *s;
	const char *l;

	start(120, 40, "NO_COLOR=1");
	free(tt_tmux_capture(&tm));
	tt_tmux_key(&tm, "4");
	s = tt_tmux_wait(&tm, "drift severity", 5);
	cr_assert_not_null(s);
	free(s);
	s = tt_tmux_capture_esc(&tm);
	cr_expect_not(tt_has_color(s), "colour with NO_COLOR");
	free(s);
	s = tt_tmux_capture(&tm);
	l = line_with(s, "amount");
	EXPECT_ON(l, "\xe2\x96\x93"); /* shading */
	EXPECT_ON(l, "3.5 DRIFT");    /* and words */
	EXPECT_ON(s, "\xe2\x96\x93\xe2\x96\x93 <10");
	free(s);
	tt_tmux_key(&tm, "1");
	s = tt_tmux_wait(&tm, "STATE", 5);
	cr_assert_not_null(s);
	EXPECT_ON(line_with(s, "fraud"), "FIRING");
	free(s);
}

Test(tui_dash, colour_by_default)
{
	char *s;

	start(120, 40, NULL);
	s = tt_tmux_capture_esc(&tm);
	cr_expect(tt_has_color(s), "no colour in a 256-colour terminal");
	free(s);
}

Test(tui_dash, ascii_fallback_without_utf8)
{
	char cmd[2048], *s;
	const char *l;

	snprintf(cmd, sizeof(cmd),
	         "env -u NO_COLOR %s TZ=UTC LC_ALL=C TERM=tmux-256color %s --db %s --config %s",
	         now_env, bin, db, conf);
	cr_assert_eq(tt_tmux_start(&tm, 120, 40, cmd), 0);
	free(tt_tmux_wait(&tm, "fraud", 10));
	tt_tmux_key(&tm, "4");
	s = tt_tmux_wait(&tm, "drift severity", 5);
	cr_assert_not_null(s);
	l = line_with(s, "amount");
	EXPECT_ON(l, "#");
	EXPECT_ON(l, "3.5 DRIFT");
	for (const char *p = s; *p; p++)
		cr_assert((unsigned char)*p < 0x80, "non-ASCII on screen in the C locale:\n%s", s);
	free(s);
	tt_tmux_key(&tm, "2");
	s = tt_tmux_wait(&tm, "latency (ms)", 5);
	cr_assert_not_null(s);
	cr_expect(strchr(s, '*'), "no ASCII chart:\n%s", s);
	free(s);
}

Test(tui_dash, keys_help_range_filter_and_model_cycling)
{
	char *s;

	start(120, 40, NULL);
	tt_tmux_key(&tm, "?");
	s = tt_tmux_wait(&tm, "mlwatch dashboard keys", 5);
	cr_assert_not_null(s);
	EXPECT_ON(s, "longer / shorter time range");
	free(s);
	tt_tmux_keys(&tm, (const char *const[]){"Escape", "+", NULL});
	s = tt_tmux_wait(&tm, "range 6h", 5);
	cr_assert_not_null(s);
	free(s);
	tt_tmux_keys(&tm, (const char *const[]){"-", "-", NULL});
	s = tt_tmux_wait(&tm, "range 15m", 5);
	cr_assert_not_null(s);
	free(s);
	/* filter: only churn stays */
	tt_tmux_key(&tm, "/");
	tt_tmux_text(&tm, "chu");
	tt_tmux_key(&tm, "Enter");
	s = tt_tmux_wait(&tm, "filter chu", 5);
	cr_assert_not_null(s);
	cr_expect_null(strstr(s, "FIRING"), "%s", s); /* the fraud row is gone */
	EXPECT_ON(s, "churn");
	free(s);
	/* Enter opens the selected model's latency; m cycles models */
	tt_tmux_key(&tm, "Enter");
	s = tt_tmux_wait(&tm, "churn | latency", 5);
	cr_assert_not_null(s);
	free(s);
	tt_tmux_key(&tm, "m");
	s = tt_tmux_wait(&tm, "eta | latency", 5);
	cr_assert_not_null(s);
	free(s);
	/* Tab to the next view */
	tt_tmux_key(&tm, "Tab");
	s = tt_tmux_wait(&tm, "eta | accuracy", 5);
	cr_assert_not_null(s);
	free(s);
}

Test(tui_dash, mouse_click_selects_a_tab)
{
	char *s;
	/* X10 mouse report: ESC [ M, button 0 press then release, x + 33, y + 33 */
	const char press[] = {'\x1b', '[', 'M', 32 + 0, 33 + 48, 33 + 0, 0};
	const char release[] = {'\x1b', '[', 'M', 32 + 3, 33 + 48, 33 + 0, 0};

	start(120, 40, NULL);
	tt_tmux_text(&tm, press);
	tt_tmux_text(&tm, release);
	s = tt_tmux_wait(&tm, "in history", 5); /* the alerts view (tab 5 at x 44-53) */
	cr_expect_not_null(s);
	free(s);
}

Test(tui_dash, eight_colours_on_an_eight_colour_terminal)
{
	char cmd[2048], *s;

	snprintf(cmd, sizeof(cmd),
	         "env -u NO_COLOR %s TZ=UTC LC_ALL=C.UTF-8 TERM=screen %s --db %s --config %s",
	         now_env, bin, db, conf);
	cr_assert_eq(tt_tmux_start(&tm, 120, 40, cmd), 0);
	free(tt_tmux_wait(&tm, "fraud", 10));
	tt_tmux_key(&tm, "4");
	free(tt_tmux_wait(&tm, "drift severity", 5));
	s = tt_tmux_capture_esc(&tm);
	cr_expect(tt_has_color(s), "no colour on an 8-colour terminal");
	cr_expect_null(strstr(s, "38;5;"), "a 256-colour code on an 8-colour terminal");
	free(s);
}

/* Names and summaries come from outside: their control characters must
 * never reach the terminal raw. */
Test(tui_dash, control_characters_from_the_database_are_not_written_raw)
{
	char *sql, *s;
	int rc;

	sql = "UPDATE alerts SET summary = 'pwn' || char(27) || ']0;title' || char(7) || 'ed' "
	      "WHERE id = 1; UPDATE drift SET feature = 'f' || char(27) || '[2Jx' "
	      "WHERE feature = 'f05' AND model_id = 1;";
	{
		char *argv[] = {"/usr/bin/sqlite3", db, sql, NULL};
		rc = tt_run(argv, NULL, NULL, NULL, 10);
	}
	cr_assert_eq(rc, 0);
	start(120, 40, NULL);
	tt_tmux_key(&tm, "5");
	s = tt_tmux_wait(&tm, "pwn?]0;title?ed", 5);
	cr_expect_not_null(s);
	free(s);
	tt_tmux_key(&tm, "4");
	s = tt_tmux_wait(&tm, "f?[2Jx", 5);
	cr_expect_not_null(s);
	free(s);
	/* and the subcommands' tables */
	{
		char *argv[] = {bin, "--db", db, "alerts", NULL}, *out = NULL;
		cr_assert_eq(tt_run(argv, (char *[]){now_env, NULL}, &out, NULL, 10), 0);
		cr_expect(strstr(out, "pwn?]0;title?ed"), "%s", out);
		cr_expect_null(strchr(out, 27));
		free(out);
	}
}

/* The overview against numbers worked out by hand from dbgen's formulas,
 * not from mlwatch's own output: each model's newest complete window is
 * w = 119 (opts.windows 120; 119 % 7 = 0, 119 % 5 = 4, 119 % 10 = 9), of
 * 60 s, with count = 600 + 60 m, errors = 4 + m, p50 = 10 + m + 4.5 ms,
 * p99 = 3 p50 except model 0 whose last 3 windows have the 400 ms spike. */
Test(tui_dash, overview_shows_hand_worked_numbers)
{
	static const struct {
		const char *model, *rps, *err, *p50, *p99;
	} want[] = {
	    {"fraud", "10", "0.667%", "14.5", "400"},  /* 600/60, 4/600, m=0 */
	    {"churn", "11", "0.758%", "15.5", "46.5"}, /* 660/60, 5/660, m=1 */
	    {"eta", "12", "0.833%", "16.5", "49.5"},   /* 720/60, 6/720, m=2 */
	};
	char *s;

	start(120, 40, NULL);
	s = tt_tmux_capture(&tm);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const char *line = line_with(s, want[i].model);
		cr_expect(line[0], "no row for %s:\n%s", want[i].model, s);
		EXPECT_WORD(line, want[i].rps);
		EXPECT_WORD(line, want[i].err);
		EXPECT_WORD(line, want[i].p50);
		EXPECT_WORD(line, want[i].p99);
	}
	EXPECT_ON(s, "3 models, 1 firing");
	free(s);
}

/* The drill-down of a drifting feature (issue 17, segment_by): the detail
 * lists the feature's worst severity per segment, worst first. */
Test(tui_dash, drift_detail_lists_segments)
{
	sqlite3 *h;
	char sql[512], *s;
	int64_t base = (int64_t)opts.now / opts.window_s * opts.window_s;

	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	for (int k = 0; k <= opts.windows; k++) { /* 0: the open window */
		snprintf(sql, sizeof(sql),
		         "INSERT INTO segment_drift (model_id, start, seg_key, segment, feature, "
		         "kind, n, severity, drifted, insufficient) SELECT id, %lld, 'country', "
		         "seg, 'amount', 1, 100, sev, sev > 1, 0 FROM models, (SELECT 'DE' AS seg, "
		         "4.25 AS sev UNION ALL SELECT 'FR', 0.3) WHERE name = 'fraud'",
		         (long long)(base - k * opts.window_s));
		cr_assert_eq(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK, "%s",
		             sqlite3_errmsg(h));
	}
	cr_assert_eq(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);

	start(120, 50, NULL);
	tt_tmux_key(&tm, "4");
	s = tt_tmux_wait(&tm, "drift severity", 5);
	cr_assert_not_null(s);
	free(s);
	tt_tmux_key(&tm, "Enter");
	s = tt_tmux_wait(&tm, "per segment", 5);
	if (!s) {
		char *screen = tt_tmux_wait(&tm, "STATISTICS", 1);
		cr_assert_not_null(s, "no segments in the detail:\n%s", screen ? screen : "");
	}
	EXPECT_ON(line_with(s, "  DE "), "4.25  DRIFT");
	EXPECT_ON(line_with(s, "  FR "), "0.3");
	cr_expect_lt(strstr(s, "  DE "), strstr(s, "  FR "));
	free(s);
}
