/* The dashboard against a database filled by the real collector: mlwatchd
 * receives three windows of batches (the feature "amount" drifts in the
 * last), a reference imported with `mlwatch reference import`; then the
 * overview, latency view and heatmap cell detail show the numbers the
 * --json subcommands print for the same database. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tui/layout.h"
#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/tuitest.h"
#include "../lib/wire_client.h"
#include "clock.h"

#define W 10

static struct cproc c;
static struct tt_tmux tm;
static char *bin, now_env[64];

static void teardown(void)
{
	tt_tmux_stop(&tm);
	if (c.running)
		cproc_stop(&c, SIGTERM);
	cproc_cleanup(&c);
	free(bin);
}

static int run(char **out, char **err, const char *a0, ...)
{
	char *argv[32];
	int n = 0;
	va_list ap;

	argv[n++] = bin;
	argv[n++] = "--db";
	argv[n++] = c.db;
	va_start(ap, a0);
	for (const char *a = a0; a && n < 31; a = va_arg(ap, const char *))
		argv[n++] = (char *)a;
	va_end(ap);
	argv[n] = NULL;
	return tt_run(argv, (char *[]){now_env, "TZ=UTC", NULL}, out, err, 30);
}

static cJSON *json_of(const char *a0, const char *a1, const char *a2, const char *a3,
                      const char *a4)
{
	const char *v[5] = {a0, a1, a2, a3, a4}, *a[6];
	char *out = NULL, *err = NULL;
	int n = 0, rc;
	cJSON *j;

	for (int i = 0; i < 5; i++)
		if (v[i])
			a[n++] = v[i];
	a[n++] = "--json";
	while (n < 6)
		a[n++] = NULL;
	rc = run(&out, &err, a[0], a[1], a[2], a[3], a[4], a[5], NULL);
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

static bool has_word(const char *line, const char *w)
{
	size_t n = strlen(w);
	for (const char *p = strstr(line, w); p; p = strstr(p + 1, w))
		if ((p == line || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
			return true;
	return false;
}

#define EXPECT_WORD(line, w) cr_expect(has_word((line), (w)), "'%s' not a word in: %s", (w), (line))
#define EXPECT_ON(s, t)      cr_expect(strstr((s), (t)) != NULL, "'%s' not in: %s", (t), (s))

static void send_window(struct wc_client *cl, uint64_t *seq, int64_t start, bool drift)
{
	for (int sec = 0; sec < W; sec++) {
		struct wc_batch wb;
		struct wire_reply r;
		double lat[100];
		char id[48], err[256];
		uint8_t *buf;
		size_t len;

		wc_batch_init(&wb, "tui", ++*seq, NULL);
		for (int k = 0; k < 100; k++) {
			int i = sec * 100 + k;
			struct wc_feature f[2] = {
			    {"amount", 1, (drift ? 160.0 : 50.0) + (double)((i * 37) % 100), NULL},
			    {"country", 2, 0, i % 3 ? "DE" : "FR"},
			};
			lat[k] = 5.0 + (double)((i * 7919) % 400) / 10.0;
			snprintf(id, sizeof(id), "w%lld-%d", (long long)start, i);
			cr_assert_eq(wc_batch_event(&wb, "shop", id, (double)(start + sec) + 0.5,
			                            lat[k], false, f, 2, wc_str(i % 4 ? "a" : "b"),
			                            0.5 + (double)(i % 50) / 100.0,
			                            i % 2 ? wc_str(i % 5 ? "a" : "b") : wc_none()),
			             0);
		}
		wc_batch_summary(&wb, "shop", start + sec, 100, sec % 3 == 0, 100, lat, 100);
		cr_assert_eq(wc_batch_encode(&wb, &buf, &len), 0);
		cr_assert_eq(wc_request(cl, buf, len, &r, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(r.status, WIRE_OK, "%s", r.message);
		free(buf);
		wc_batch_free(&wb);
	}
}

static bool wait_final(int64_t start, double timeout)
{
	char sql[256];
	double end = h_now() + timeout * cproc_slow();
	snprintf(
	    sql, sizeof(sql),
	    "SELECT count(*) FROM windows WHERE start = %lld AND provisional = 0 AND dirty = 0 "
	    "AND analyzed IS NOT NULL",
	    (long long)start);
	while (h_now() < end) {
		if (db_int(c.db, sql) == 1)
			return true;
		h_sleep(0.1);
	}
	return false;
}

Test(tui_real, dashboard_shows_what_the_collector_stored, .fini = teardown, .timeout = 90)
{
	const char *args[] = {"--window", "10s", "--analyze-interval", "200ms", NULL};
	int64_t now = (int64_t)clock_now(), start = now / W * W - 4 * W;
	char ref[600], csv[20000], cmd[2048], b[64], *out = NULL, *err = NULL, *s;
	struct wc_client *cl;
	uint64_t seq = 0;
	size_t o = 0;
	cJSON *st, *m, *lat, *w, *last = NULL, *dr, *worst = NULL;

	bin = h_bin("mlwatch");
	cproc_init(&c, "tui-real");
	cr_assert_eq(cproc_start(&c, args), 0, "see %s", c.log);

	/* the reference, through the real import */
	o += (size_t)snprintf(csv + o, sizeof(csv) - o, "amount,country,prediction,score,label\n");
	for (int i = 0; i < 500; i++)
		o += (size_t)snprintf(csv + o, sizeof(csv) - o, "%d,%s,%s,%g,%s\n",
		                      50 + (i * 37) % 100, i % 3 ? "DE" : "FR", i % 4 ? "a" : "b",
		                      0.5 + (double)(i % 50) / 100.0, i % 5 ? "a" : "b");
	snprintf(ref, sizeof(ref), "%s/ref.csv", c.dir);
	cr_assert_eq(h_write_file(ref, csv, o), 0);
	snprintf(now_env, sizeof(now_env), "MLWATCH_NOW=%lld", (long long)now);
	cr_assert_eq(run(&out, &err, "reference", "import", "--model", "shop", ref, NULL), 0,
	             "%s%s", out, err);
	free(out);
	free(err);

	cr_assert_eq(wc_open(&cl, c.url, NULL, 10 * cproc_slow(), err = calloc(1, 256), 256), 0);
	free(err);
	send_window(cl, &seq, start, false);
	send_window(cl, &seq, start + W, false);
	send_window(cl, &seq, start + 2 * W, true);
	wc_close(cl);
	cr_assert(wait_final(start + 2 * W, 20), "window not analysed, see %s", c.log);
	/* freeze the clock for the screens and the JSON alike */
	now = (int64_t)clock_now() + 1;
	snprintf(now_env, sizeof(now_env), "MLWATCH_NOW=%lld", (long long)now);

	st = json_of("status", "--since", "15m", NULL, NULL);
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "models"), 0);
	cr_assert_not_null(m);
	cr_expect_str_eq(cJSON_GetObjectItem(m, "worst_feature")->valuestring, "amount");
	lat = json_of("latency", "--model", "shop", "--since", "15m");
	cJSON_ArrayForEach(w, cJSON_GetObjectItem(lat, "windows")) if (num(w, "end") <= (double)now)
	    last = w;
	cr_assert_not_null(last);
	dr = json_of("drift", "--model", "shop", "--feature", "amount");
	cJSON_ArrayForEach(w, cJSON_GetObjectItem(dr, "windows"))
	{
		cJSON *f = cJSON_GetObjectItem(cJSON_GetObjectItem(w, "features"), "amount");
		if (!worst || num(f, "severity") > num(worst, "severity"))
			worst = f;
	}
	cr_assert_not_null(worst);
	cr_expect(cJSON_IsTrue(cJSON_GetObjectItem(worst, "drifted")));

	snprintf(
	    cmd, sizeof(cmd),
	    "env -u NO_COLOR %s TZ=UTC LC_ALL=C.UTF-8 TERM=tmux-256color %s --db %s --range 15m",
	    now_env, bin, c.db);
	cr_assert_eq(tt_tmux_start(&tm, 120, 40, cmd), 0);
	s = tt_tmux_wait(&tm, "shop", 10);
	cr_assert_not_null(s);
	{
		const char *l = line_with(s, "shop");
		EXPECT_WORD(l, lay_fmt_num(b, sizeof(b), num(m, "rps")));
		EXPECT_WORD(l, lay_fmt_pct(b, sizeof(b), num(m, "error_rate")));
		EXPECT_WORD(l, lay_fmt_ms(b, sizeof(b), num(m, "p50_ms")));
		EXPECT_WORD(l, lay_fmt_ms(b, sizeof(b), num(m, "p99_ms")));
		EXPECT_WORD(l, "amount");
		EXPECT_WORD(l, lay_fmt_num(b, sizeof(b), num(m, "worst_severity")));
		EXPECT_WORD(l, "drift");
	}
	free(s);
	tt_tmux_key(&tm, "2");
	s = tt_tmux_wait(&tm, "latency (ms)", 5);
	cr_assert_not_null(s);
	{
		char want[64];
		snprintf(want, sizeof(want), "p99 %s", lay_fmt_ms(b, sizeof(b), num(last, "p99")));
		EXPECT_ON(s, want);
		snprintf(want, sizeof(want), "p50 %s", lay_fmt_ms(b, sizeof(b), num(last, "p50")));
		EXPECT_ON(s, want);
	}
	free(s);
	tt_tmux_key(&tm, "4");
	s = tt_tmux_wait(&tm, "drift severity", 5);
	cr_assert_not_null(s);
	EXPECT_ON(line_with(s, "amount"), "DRIFT");
	free(s);
	tt_tmux_key(&tm, "Enter");
	s = tt_tmux_wait(&tm, "STATISTICS", 5);
	cr_assert_not_null(s);
	EXPECT_ON(s, "amount (numeric)");
	EXPECT_WORD(line_with(s, "ks "), lay_fmt_num(b, sizeof(b), num(worst, "ks")));
	EXPECT_WORD(line_with(s, "psi "), lay_fmt_num(b, sizeof(b), num(worst, "psi")));
	EXPECT_WORD(line_with(s, "js "), lay_fmt_num(b, sizeof(b), num(worst, "js")));
	EXPECT_WORD(line_with(s, "wasserstein "),
	            lay_fmt_num(b, sizeof(b), num(worst, "wasserstein")));
	EXPECT_ON(line_with(s, "severity "), "DRIFTED");
	EXPECT_ON(s, "REF n=500");
	free(s);
	cJSON_Delete(st);
	cJSON_Delete(lat);
	cJSON_Delete(dr);
}
