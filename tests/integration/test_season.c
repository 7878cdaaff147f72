/* Issue 17, item 3 and acceptance 3: references that follow the calendar,
 * and item 1's thresholds stored with the reference, against the real
 * mlwatchd.
 *
 * Acceptance 3 runs mlwatchd on a simulated clock (MLWATCH_CLOCK_FILE) that
 * the test steps hour by hour through three days, so that the alert rules
 * see each window as it closes and page a real webhook receiver, as they
 * would have on those days. A same-hour-of-week reference needs the weeks
 * before: the test first sends the same hours 1 and 2 weeks before each
 * simulated day (`same-hour-of-week 2w`), which is what such a reference
 * reads; the other days of those weeks stay empty, and their own windows'
 * references are reported missing, as they should be.
 *
 * The other tests send past days with their own timestamps on the real
 * clock: mlwatchd files them into their hour windows and analyses those
 * like any other. */
#include <criterion/criterion.h>
#include <cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "collector_proc.h"
#include "harness.h"
#include "http_sink.h"
#include "sample.h"
#include "stats/calibrate.h"
#include "store.h"
#include "tuitest.h"
#include "wire_client.h"

#define HOUR 3600
#define DAY  86400
#define WEEK (7 * DAY)
/* Events per hour: windows of 500 values against references of 1,000,
 * where no drift has an effect (normed Wasserstein) near 0.04, far below
 * the 0.1 minimum effect, and the daily cycle's morning is above 1. */
#define PER_HOUR 500
/* The drift rules' `for`: a page needs DRIFT in two hour windows in a row,
 * not one (the static reference has one at midnight of day 3, severity
 * 1.1). Not 1h: as each hour turns, the rules see the previous window for
 * a moment before the new one is analysed, and that moment would count
 * as the second hour. */
#define RULE_FOR "90m"

/* Runs build/mlwatch with the NULL-terminated arguments (bounded); its
 * exit status, stdout + stderr in *out. */
static int run_mlwatch(char **out, ...)
{
	char *argv[16], *o = NULL, *e = NULL;
	size_t n = 0;
	va_list ap;
	int rc;

	argv[n++] = h_bin("mlwatch");
	va_start(ap, out);
	for (char *a; n < 15 && (a = va_arg(ap, char *));)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	rc = tt_run(argv, NULL, &o, &e, 60);
	cr_assert(asprintf(out, "%s%s", o ? o : "", e ? e : "") > 0);
	free(o);
	free(e);
	free(argv[0]);
	return rc;
}

static double gauss(struct sample_rng *r)
{
	double u = 1.0 - sample_rng_double(r), v = sample_rng_double(r);

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* The daily cycle: the mean of x over the day, 0 at midnight, 3 at noon
 * (UTC), at fractional hours. */
static double cycle(double ts)
{
	double h = fmod(ts, DAY) / HOUR;

	return 1.5 * (1 - cos(2 * M_PI * h / 24));
}

struct sender {
	struct wc_client *cl;
	struct wc_batch wb;
	uint64_t seq;
	size_t n;
};

static void flush(struct sender *s)
{
	uint8_t *buf;
	size_t len;
	char err[256];
	struct wire_reply r;

	if (!s->n)
		return;
	cr_assert_eq(wc_batch_encode(&s->wb, &buf, &len), 0);
	cr_assert_eq(wc_request(s->cl, buf, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.status, WIRE_OK, "%s", r.message);
	free(buf);
	wc_batch_free(&s->wb);
	wc_batch_init(&s->wb, "season", ++s->seq, NULL);
	s->n = 0;
}

/* PER_HOUR events of model in the hour starting at h, x around the cycle
 * plus shift. */
static void send_hour(struct sender *s, struct sample_rng *rng, const char *model, int64_t h,
                      double shift)
{
	for (int i = 0; i < PER_HOUR; i++) {
		double ts = (double)h + (i + 0.5) * HOUR / PER_HOUR;
		struct wc_feature fe = {"x", 1, cycle(ts) + shift + gauss(rng), NULL};

		cr_assert_eq(wc_batch_event(&s->wb, model, NULL, ts, 5, false, &fe, 1, wc_none(),
		                            -1, wc_none()),
		             0);
		if (++s->n == 1000)
			flush(s);
	}
}

static void sender_open(struct sender *s, const char *url)
{
	char err[256];

	memset(s, 0, sizeof(*s));
	cr_assert_eq(wc_open(&s->cl, url, NULL, 30, err, sizeof(err)), 0, "%s", err);
	/* batch sequence numbers grow across restarts of the collector (a
	 * repeated one is a duplicate, acknowledged and dropped) */
	static uint64_t last;
	uint64_t ms = (uint64_t)(clock_now() * 1000);

	last = ms > last + 10000 ? ms : last + 10000; /* a sender sends < 10,000 */
	s->seq = last;
	wc_batch_init(&s->wb, "season", s->seq, NULL);
}

static void sender_close(struct sender *s)
{
	flush(s);
	wc_batch_free(&s->wb);
	wc_close(s->cl);
}

/* Waits (bounded) until every window of model in [from, to) is analysed
 * for good (final, not dirty) and has a drift row for x. */
static bool wait_analysed(const char *db, const char *model, int64_t from, int64_t to, int64_t want,
                          double limit_s)
{
	char sql[600];
	double end = h_now() + limit_s * cproc_slow();

	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM windows w JOIN models m ON m.id = w.model_id "
	         "JOIN drift d ON d.model_id = w.model_id AND d.start = w.start AND "
	         "d.feature = 'x' WHERE m.name = '%s' AND w.start >= %lld AND w.start < %lld "
	         "AND w.dirty = 0 AND w.provisional = 0",
	         model, (long long)from, (long long)to);
	while (h_now() < end) {
		if (db_int(db, sql) == want)
			return true;
		h_sleep(0.01);
	}
	return false;
}

/* Waits (bounded) until the first column of sql is want. */
static bool wait_sql(const char *db, const char *sql, int64_t want, double limit_s)
{
	double end = h_now() + limit_s * cproc_slow();

	while (h_now() < end) {
		if (db_int(db, sql) == want)
			return true;
		h_sleep(0.05);
	}
	return false;
}

/* A string member of o, "" when absent. */
static const char *jstr(const cJSON *o, const char *key)
{
	const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
	return v ? v : "";
}

/* drifted (0/1, -1 when no row) of model's x in the window starting at start. */
static int64_t drifted(const char *db, const char *model, int64_t start)
{
	char sql[400];

	snprintf(sql, sizeof(sql),
	         "SELECT coalesce(d.drifted, 0) FROM drift d JOIN models m ON m.id = d.model_id "
	         "WHERE m.name = '%s' AND d.start = %lld AND d.feature = 'x'",
	         model, (long long)start);
	int64_t v = db_int(db, sql);
	return v == INT64_MIN ? -1 : v;
}

/* A member of the drift row's stats object (the fields drift --json adds). */
static double stat_of(const char *db, const char *model, int64_t start, const char *key, char *text,
                      size_t cap)
{
	char sql[400], stats[2048];
	double v = NAN;

	snprintf(sql, sizeof(sql),
	         "SELECT d.stats FROM drift d JOIN models m ON m.id = d.model_id "
	         "WHERE m.name = '%s' AND d.start = %lld AND d.feature = 'x'",
	         model, (long long)start);
	if (db_text(db, sql, stats, sizeof(stats)) != 0)
		return NAN;
	cJSON *o = cJSON_Parse(stats), *it = cJSON_GetObjectItem(o, key);
	if (cJSON_IsNumber(it))
		v = it->valuedouble;
	if (text && cJSON_IsString(it))
		snprintf(text, cap, "%s", it->valuestring);
	cJSON_Delete(o);
	return v;
}

/* The simulated clock mlwatchd runs on (MLWATCH_CLOCK_FILE): written whole,
 * then renamed over the file, so that mlwatchd never reads half a number. */
static void set_clock(const char *path, double t)
{
	char tmp[800], text[64];
	int n = snprintf(text, sizeof(text), "%.3f\n", t);

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cr_assert_eq(h_write_file(tmp, text, (size_t)n), 0);
	cr_assert_eq(rename(tmp, path), 0);
}

/* Waits (bounded) until the alert rules were evaluated once entirely after
 * this call: the counter moves as evaluations end, so the one running now
 * may count 1, and 2 means one began after. */
static bool wait_evaluated(const struct cproc *c, double limit_s)
{
	const char *name = "mlwatch_alert_evaluations_total";
	double e0 = cproc_metric(c, name), end = h_now() + limit_s * cproc_slow();

	while (!isnan(e0) && h_now() < end) {
		if (cproc_metric(c, name) >= e0 + 2)
			return true;
		h_sleep(0.005);
	}
	return false;
}

/* A notification as stored in the outbox (its simulated creation time)
 * and as the webhook received it. */
struct note {
	char kind[16], model[16], window[40];
	double created, value;
};

/* "day D HH:MM:SS" of a simulated time, day 1 starting at day1. */
static char *sim_time(double t, int64_t day1, char *buf, size_t cap)
{
	int64_t s = (int64_t)floor(t - (double)day1);

	snprintf(buf, cap, "day %lld %02lld:%02lld:%02lld", (long long)(s / DAY + 1),
	         (long long)(s % DAY / HOUR), (long long)(s % HOUR / 60), (long long)(s % 60));
	return buf;
}

/* Acceptance 3, pages included. mlwatchd runs on a simulated clock that the
 * test steps hour by hour over three days: hour h's events are sent once
 * the clock is past the end of h (plus the 2 s after which a window is
 * final), the test waits for both windows to be analysed and for an
 * evaluation of the rules after that, then goes on. The rules
 * drift(x) > 1 on `season` (same-hour-of-week 2w) and `fixed` (a static
 * reference of the night) page a real webhook receiver; their notifications
 * carry the simulated times. */
Test(season, daily_cycle_is_drift_only_against_a_static_reference, .timeout = 600)
{
	struct cproc c;
	struct sender s;
	struct sample_rng rng;
	struct http_sink *hook = sink_start(0);
	char conf[700], path[700], clockf[700], cfg[1500], *out, *hu = sink_url(hook, "/hook");
	/* Monday 2026-01-05 00:00 UTC: a fixed calendar, the same on every run */
	const int64_t day1 = 1767571200, end = day1 + 3 * DAY;
	double t0;

	cr_assert(hook && hu);
	cproc_init(&c, "season");
	snprintf(conf, sizeof(conf), "%s/mlwatch.conf", c.dir);
	snprintf(clockf, sizeof(clockf), "%s/clock", c.dir);
	snprintf(cfg, sizeof(cfg),
	         "[collector]\nretention_raw = 60d\n"
	         "[model season]\nreference = same-hour-of-week 2w\n"
	         "[alert season-drift]\nmodel = season\nexpr = drift(x) > 1\nfor = " RULE_FOR "\n"
	         "receivers = hook\n"
	         "[alert fixed-drift]\nmodel = fixed\nexpr = drift(x) > 1\nfor = " RULE_FOR "\n"
	         "receivers = hook\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         hu);
	h_write_file(conf, cfg, strlen(cfg));
	set_clock(clockf, (double)day1);
	cr_assert_eq(setenv("MLWATCH_CLOCK_FILE", clockf, 1), 0);
	const char *cargs[] = {"--config",
	                       conf,
	                       "--window",
	                       "1h",
	                       "--analyze-interval",
	                       "100ms",
	                       "--evaluate-interval",
	                       "20ms",
	                       NULL};
	cr_assert_eq(cproc_start(&c, cargs), 0);
	char *log = h_read_file(c.log, NULL);
	cr_assert(log && strstr(log, "simulated clock from ") && strstr(log, clockf) &&
	              strstr(log, "time=2026-01-05T00:00:00.000Z"),
	          "%s", log ? log : "(no log)");
	free(log);

	/* the static reference: the night, as a model deployed at midnight
	 * would have it (22:00 to 02:00 of a day of the same cycle) */
	sample_rng_seed(&rng, 17);
	snprintf(path, sizeof(path), "%s/night.csv", c.dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "x\n");
	for (int i = 0; i < 1000; i++)
		fprintf(f, "%.6f\n", cycle(DAY - 2.0 * HOUR + 4.0 * HOUR * i / 1000) + gauss(&rng));
	fclose(f);
	cr_assert_eq(
	    run_mlwatch(&out, "--db", c.db, "reference", "import", "--model", "fixed", path, NULL),
	    0, "%s", out);
	free(out);

	/* the history the same-hour-of-week reference reads: the same three
	 * days 2 and 1 weeks before, sent at the clock's start (day 1 00:00) */
	t0 = h_now();
	sender_open(&s, c.url);
	for (int w = 2; w >= 1; w--)
		for (int64_t h = day1 - w * WEEK; h < end - w * WEEK; h += HOUR)
			send_hour(&s, &rng, "season", h, 0);
	flush(&s);
	cr_assert(wait_sql(c.db, "SELECT count(*) FROM windows WHERE dirty = 1 OR provisional = 1",
	                   0, 120),
	          "the history was not analysed");
	printf("season: history of 2 weeks (%d events) stored and analysed in %.1f s\n",
	       2 * 72 * PER_HOUR, h_now() - t0);

	/* the three days, hour by hour: a real shift of +1 sd on day 3 from
	 * 14:00 to 17:00 */
	double t1 = h_now();
	for (int64_t h = day1; h < end; h += HOUR) {
		bool shift = h >= day1 + 2 * DAY + 14 * HOUR && h < day1 + 2 * DAY + 17 * HOUR;

		set_clock(clockf, (double)(h + HOUR) + 3);
		send_hour(&s, &rng, "season", h, shift ? 1.0 : 0);
		send_hour(&s, &rng, "fixed", h, shift ? 1.0 : 0);
		flush(&s); /* one batch: both windows complete at once */
		cr_assert(wait_analysed(c.db, "season", h, h + HOUR, 1, 30) &&
		              wait_analysed(c.db, "fixed", h, h + HOUR, 1, 30),
		          "hour %lld: windows not analysed", (long long)((h - day1) / HOUR));
		cr_assert(wait_evaluated(&c, 10), "hour %lld: no evaluation after the analysis",
		          (long long)((h - day1) / HOUR));
	}
	sender_close(&s);
	printf("season: 3 simulated days stepped hour by hour in %.1f s\n", h_now() - t1);
	/* every event was taken: none ahead of the clock mlwatchd saw */
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"),
	             2 * 72 * PER_HOUR + 2 * 72 * PER_HOUR);
	cr_assert_eq(cproc_metric(&c, "mlwatch_collector_rejects_total{reason=\"future_ts\"}"), 0);

	/* the DRIFT verdicts of every window, as before */
	int season_drift = 0, shift_caught = 0;
	for (int d = 0; d < 3; d++) {
		int morning = 0;
		char hours[200] = "";

		for (int hr = 0; hr < 24; hr++) {
			int64_t h = day1 + d * DAY + hr * HOUR;
			bool shift = d == 2 && hr >= 14 && hr < 17;
			int64_t sd = drifted(c.db, "season", h), fd = drifted(c.db, "fixed", h);

			cr_assert(sd >= 0 && fd >= 0, "day %d %02d:00: no drift row", d + 1, hr);
			if (fd && hr >= 7 && hr < 12)
				morning++;
			if (fd)
				snprintf(hours + strlen(hours), sizeof(hours) - strlen(hours),
				         " %02d", hr);
			if (shift) {
				shift_caught += (int)sd;
			} else if (sd) {
				season_drift++;
				printf("season: day %d %02d:00 DRIFT without a shift\n", d + 1, hr);
			}
		}
		printf("season: day %d, static reference DRIFT at hours%s\n", d + 1, hours);
		/* every morning, against the night's reference */
		cr_expect_eq(morning, 5,
		             "day %d: static reference DRIFT in %d of the 5 morning "
		             "hours 07-11",
		             d + 1, morning);
	}
	/* every window of the three days got a verdict (a reference that was
	 * not there would give none, and no DRIFT either) */
	char sql[600];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*), max(d.severity) FROM drift d JOIN models m ON m.id = "
	         "d.model_id WHERE m.name = 'season' AND d.feature = 'x' AND d.start >= %lld AND "
	         "d.start < %lld AND d.insufficient = 0 AND d.severity IS NOT NULL AND NOT "
	         "(d.start >= %lld AND d.start < %lld)",
	         (long long)day1, (long long)end, (long long)(day1 + 2 * DAY + 14 * HOUR),
	         (long long)(day1 + 2 * DAY + 17 * HOUR));
	cr_expect_eq(db_int(c.db, sql), 69,
	             "season: %lld of 69 windows without a shift have a "
	             "verdict",
	             (long long)db_int(c.db, sql));
	char *max = strstr(sql, "count(*), ");
	memmove(max, max + 10, strlen(max + 10) + 1); /* the same rows: max(severity) */
	printf("season: 69 windows without a shift against same-hour-of-week 2w: %d DRIFT, "
	       "highest severity %.3f\n",
	       season_drift, db_double(c.db, sql));
	cr_expect_eq(season_drift, 0,
	             "%d windows without a shift are DRIFT against the "
	             "same-hour-of-week reference",
	             season_drift);
	cr_expect_eq(shift_caught, 3, "the shift on day 3 14:00-17:00: %d of 3 windows DRIFT",
	             shift_caught);

	/* the pages: every notification delivered (bounded), each one the
	 * webhook received matching its outbox row, in order */
	cr_assert(wait_sql(c.db, "SELECT count(*) FROM outbox WHERE status = 'pending'", 0, 30),
	          "notifications still pending");
	int64_t n_notes = db_int(c.db, "SELECT count(*) FROM outbox WHERE status = 'delivered'");
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM outbox"), n_notes,
	             "a notification was not delivered");
	cr_assert(n_notes > 0 && n_notes < 100, "%lld notifications", (long long)n_notes);
	cr_assert(sink_wait(hook, (size_t)n_notes, 10 * cproc_slow()));
	cr_assert_eq(sink_count(hook), (size_t)n_notes);
	struct note notes[100];
	for (int64_t i = 0; i < n_notes; i++) {
		struct note *nt = &notes[i];
		char q[300], payload[8192];

		snprintf(q, sizeof(q), "SELECT kind FROM outbox ORDER BY id LIMIT 1 OFFSET %lld",
		         (long long)i);
		cr_assert_eq(db_text(c.db, q, nt->kind, sizeof(nt->kind)), 0);
		snprintf(q, sizeof(q), "SELECT created FROM outbox ORDER BY id LIMIT 1 OFFSET %lld",
		         (long long)i);
		nt->created = db_double(c.db, q);
		snprintf(q, sizeof(q), "SELECT payload FROM outbox ORDER BY id LIMIT 1 OFFSET %lld",
		         (long long)i);
		cr_assert_eq(db_text(c.db, q, payload, sizeof(payload)), 0);

		const char *body = sink_request(hook, (size_t)i)->body;
		cJSON *o = cJSON_Parse(body);
		cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "alerts"), 0);
		cJSON *lab = cJSON_GetObjectItem(a0, "labels"),
		      *ann = cJSON_GetObjectItem(a0, "annotations");
		cr_assert(o && lab && ann, "%s", body);
		snprintf(nt->model, sizeof(nt->model), "%s", jstr(lab, "model"));
		snprintf(nt->window, sizeof(nt->window), "%s", jstr(ann, "window"));
		nt->value = strtod(jstr(ann, "value"), NULL);
		cr_assert_str_eq(jstr(o, "status"),
		                 strcmp(nt->kind, "resolved") == 0 ? "resolved" : "firing", "%s",
		                 body);
		/* the same notification as stored (the receiver got them in order) */
		cr_assert(strstr(payload, nt->model) && strstr(payload, nt->window), "%s / %s",
		          payload, body);
		cJSON_Delete(o);
	}

	/* what paged, when (simulated time) */
	int fixed_pages[3] = {0}, fixed_resolved[3] = {0}, season_pages = 0, season_resolved = 0,
	    repeats = 0;
	for (int64_t i = 0; i < n_notes; i++) {
		struct note *nt = &notes[i];
		char when[40], win[40];
		double ws;
		int64_t off;

		cr_assert_eq(clock_parse_rfc3339(nt->window, &ws), 0, "%s", nt->window);
		printf("season: %-8s %-6s at %s (window %s, severity %.2f)\n", nt->kind, nt->model,
		       sim_time(nt->created, day1, when, sizeof(when)),
		       sim_time(ws, day1, win, sizeof(win)) + 6, nt->value);
		off = (int64_t)nt->created - day1;
		if (strcmp(nt->kind, "repeat") == 0) {
			repeats++;
			continue;
		}
		if (strcmp(nt->model, "fixed") == 0 && strcmp(nt->kind, "firing") == 0) {
			cr_assert(off >= 0 && off < 3 * DAY, "fixed paged at %s", when);
			fixed_pages[off / DAY]++;
			/* in the morning, as the cycle rises above the night */
			cr_expect(off % DAY >= 2 * HOUR && off % DAY < 12 * HOUR,
			          "fixed first paged at %s, not in the morning", when);
		} else if (strcmp(nt->model, "fixed") == 0) {
			/* at night, as the cycle goes down (day 3's on day 3 still) */
			cr_assert(off >= 0 && off < 3 * DAY, "fixed resolved at %s", when);
			fixed_resolved[off / DAY]++;
			cr_expect(off % DAY >= 18 * HOUR,
			          "fixed resolved at %s, before the evening", when);
		} else if (strcmp(nt->kind, "resolved") == 0) {
			season_resolved++;
			cr_expect(ws >= (double)(day1 + 2 * DAY + 17 * HOUR),
			          "season resolved at %s", when);
		} else if (strcmp(nt->kind, "firing") == 0) {
			season_pages++;
			/* only for the shift: its windows 14:00-16:00 of day 3 */
			cr_expect(ws >= (double)(day1 + 2 * DAY + 14 * HOUR) &&
			              ws < (double)(day1 + 2 * DAY + 17 * HOUR),
			          "season paged at %s for the window of %s", when, win);
		}
	}
	for (int d = 0; d < 3; d++) {
		cr_expect_eq(fixed_pages[d], 1, "day %d: the static reference paged %d times",
		             d + 1, fixed_pages[d]);
		cr_expect_eq(fixed_resolved[d], 1, "day %d: the static reference resolved %d times",
		             d + 1, fixed_resolved[d]);
	}
	cr_expect_eq(season_pages, 1, "same-hour-of-week paged %d times", season_pages);
	cr_expect_eq(season_resolved, 1, "same-hour-of-week resolved %d times", season_resolved);
	printf("season: fixed paged %d times and resolved %d times, season paged %d and resolved "
	       "%d times, %d repeats (repeat_interval 4h)\n",
	       fixed_pages[0] + fixed_pages[1] + fixed_pages[2],
	       fixed_resolved[0] + fixed_resolved[1] + fixed_resolved[2], season_pages,
	       season_resolved, repeats);

	/* each verdict says where its reference came from: 2 weeks, none
	 * missing on the simulated days; a day 1 week back has only 1 of its
	 * 2 weeks stored, which is reported, not filled in */
	char mode[64] = "";
	stat_of(c.db, "season", day1 + 9 * HOUR, "reference", mode, sizeof(mode));
	cr_expect_str_eq(mode, "same-hour-of-week");
	cr_expect_eq(stat_of(c.db, "season", day1 + 9 * HOUR, "reference_parts", NULL, 0), 2);
	cr_expect_eq(stat_of(c.db, "season", day1 + 9 * HOUR, "reference_missing", NULL, 0), 0);
	cr_expect(wait_analysed(c.db, "season", day1 - WEEK, day1 - WEEK + 2 * HOUR, 2, 60));
	cr_expect_eq(stat_of(c.db, "season", day1 - WEEK + HOUR, "reference_missing", NULL, 0), 1);
	log = h_read_file(c.log, NULL);
	cr_expect(log && strstr(log, "reference history missing model=season "
	                             "reference=same-hour-of-week"),
	          "%s", log ? log : "(no log)");
	free(log);

	/* the commands read the same clock: status's "now" is the simulated one */
	cr_assert_eq(run_mlwatch(&out, "--db", c.db, "status", "--json", NULL), 0, "%s", out);
	cJSON *st = cJSON_Parse(out);
	cr_assert_not_null(st, "%s", out);
	cr_expect_float_eq(cJSON_GetObjectItem(st, "now")->valuedouble, (double)end + 3, 1e-6, "%s",
	                   out);
	cJSON_Delete(st);
	free(out);

	/* reference show names the configured mode and the last source */
	cr_assert_eq(run_mlwatch(&out, "--config", conf, "--db", c.db, "reference", "show",
	                         "--model", "season", "--json", NULL),
	             0, "%s", out);
	cJSON *o = cJSON_Parse(out);
	cr_assert_not_null(o, "%s", out);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "reference")->valuestring, "same-hour-of-week");
	cJSON *src = cJSON_GetObjectItem(o, "reference_source");
	cr_assert(cJSON_IsObject(src), "%s", out);
	cr_expect_str_eq(cJSON_GetObjectItem(src, "mode")->valuestring, "same-hour-of-week");
	cr_expect_eq(cJSON_GetObjectItem(src, "parts")->valueint, 2);
	cJSON_Delete(o);
	free(out);

	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
	sink_stop(hook);
	free(hu);
}

/* A clock file mlwatchd cannot use stops it at start, naming the file and
 * what is wrong; it does not run on the real time instead. */
Test(season, an_unusable_clock_file_is_refused_at_start, .timeout = 60)
{
	struct cproc c;
	char clockf[700], *log;

	cproc_init(&c, "season-clock");
	snprintf(clockf, sizeof(clockf), "%s/clock", c.dir);
	h_write_file(clockf, "tomorrow\n", 9);
	cr_assert_eq(setenv("MLWATCH_CLOCK_FILE", clockf, 1), 0);
	const char *args[] = {"--db", c.db, NULL};
	cr_assert_eq(cproc_run(&c, args, 30), 2);
	log = h_read_file(c.log, NULL);
	cr_assert_not_null(log);
	char want[900];
	snprintf(want, sizeof(want),
	         "mlwatchd: error: MLWATCH_CLOCK_FILE=%s: 'tomorrow' is not a Unix time in decimal "
	         "seconds",
	         clockf);
	cr_assert(strstr(log, want), "%s", log);
	cr_assert_eq(access(c.db, F_OK), -1, "a refused start left a database behind");
	free(log);
	/* mlwatch too */
	char *out = NULL;
	cr_assert_eq(run_mlwatch(&out, "--db", c.db, "status", NULL), 2, "%s", out);
	cr_assert(strstr(out, "mlwatch: error: MLWATCH_CLOCK_FILE=") &&
	              strstr(out, "'tomorrow' is not a Unix time in decimal seconds"),
	          "%s", out);
	free(out);
	/* and a fixed MLWATCH_NOW that is not a time */
	cr_assert_eq(unsetenv("MLWATCH_CLOCK_FILE"), 0);
	cr_assert_eq(setenv("MLWATCH_NOW", "yesterday", 1), 0);
	cr_assert_eq(run_mlwatch(&out, "--db", c.db, "status", NULL), 2, "%s", out);
	cr_assert(strstr(out, "mlwatch: error: MLWATCH_NOW='yesterday' is not a Unix time"), "%s",
	          out);
	free(out);
	cr_assert_eq(unsetenv("MLWATCH_NOW"), 0);
	cproc_cleanup(&c);
}

/* Item 1: the thresholds calibrated from a reference are stored with it: a
 * restart uses them without calibrating again, reference show lists them,
 * and a new reference drops them. */
Test(season, calibrated_thresholds_are_stored_with_the_reference, .timeout = 300)
{
	struct cproc c;
	struct sender s;
	struct sample_rng rng;
	char path[700], sql[400], *out, *log;
	int64_t hour = (int64_t)clock_now() / HOUR * HOUR;
	size_t log_len = 0;

	cproc_init(&c, "season-cal");
	const char *cargs[] = {"--window", "1h", "--analyze-interval", "200ms", NULL};
	cr_assert_eq(cproc_start(&c, cargs), 0);
	sample_rng_seed(&rng, 5);
	snprintf(path, sizeof(path), "%s/ref.csv", c.dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "x\n");
	for (int i = 0; i < 1000; i++)
		fprintf(f, "%.6f\n", cycle(0) + gauss(&rng));
	fclose(f);
	cr_assert_eq(
	    run_mlwatch(&out, "--db", c.db, "reference", "import", "--model", "fixed", path, NULL),
	    0, "%s", out);
	free(out);

	int64_t w1 = hour / DAY * DAY - DAY; /* yesterday's midnight: the cycle's 0 */

	sender_open(&s, c.url);
	send_hour(&s, &rng, "fixed", w1, 0);
	sender_close(&s);
	cr_assert(wait_analysed(c.db, "fixed", w1, w1 + HOUR, 1, 60));
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM reference_threshold WHERE feature = 'x' "
	                          "AND n = 400 AND rate = 0.01"),
	             1);
	snprintf(sql, sizeof(sql),
	         "SELECT threshold FROM drift WHERE feature = 'x' AND start = %lld", (long long)w1);
	double thr1 = db_double(c.db, sql);
	cr_assert(thr1 > 0, "threshold %g", thr1);

	/* shown with the reference */
	cr_assert_eq(run_mlwatch(&out, "--db", c.db, "reference", "show", "--model", "fixed",
	                         "--json", NULL),
	             0, "%s", out);
	cJSON *o = cJSON_Parse(out);
	cr_assert_not_null(o, "%s", out);
	cJSON *fx = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "features"), 0);
	cJSON *cals = cJSON_GetObjectItem(fx, "calibrations");
	cr_assert_eq(cJSON_GetArraySize(cals), 1, "%s", out);
	cJSON *c0 = cJSON_GetArrayItem(cals, 0);
	cr_expect_eq(cJSON_GetObjectItem(c0, "window_n")->valueint, 400);
	cr_expect_float_eq(cJSON_GetObjectItem(c0, "false_alarm_rate")->valuedouble, 0.01, 1e-15);
	cr_expect_eq(cJSON_GetObjectItem(c0, "pseudo_windows")->valueint, CALIB_BOOT);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "reference")->valuestring, "static");
	cr_expect(cJSON_IsNull(cJSON_GetObjectItem(o, "reference_source")));
	cJSON_Delete(o);
	free(out);

	/* a restart loads them: the next window is not calibrated again and
	 * gets the same threshold (same size) */
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	free(h_read_file(c.log, &log_len));
	cr_assert_eq(cproc_start(&c, cargs), 0);
	sender_open(&s, c.url);
	send_hour(&s, &rng, "fixed", w1 + HOUR, -cycle((double)w1 + 1.5 * HOUR));
	sender_close(&s);
	cr_assert(wait_analysed(c.db, "fixed", w1 + HOUR, w1 + 2 * HOUR, 1, 60));
	snprintf(sql, sizeof(sql),
	         "SELECT threshold FROM drift WHERE feature = 'x' AND start = %lld",
	         (long long)(w1 + HOUR));
	cr_expect_float_eq(db_double(c.db, sql), thr1, 1e-12);
	log = h_read_file(c.log, NULL);
	cr_assert_not_null(log);
	cr_expect(strstr(log + log_len, "stored drift thresholds loaded model=fixed used=1"), "%s",
	          log + log_len);
	cr_expect_null(strstr(log + log_len, "drift threshold calibrated model=fixed"), "%s",
	               log + log_len);
	free(log);

	/* a new reference drops them */
	cr_assert_eq(
	    run_mlwatch(&out, "--db", c.db, "reference", "import", "--model", "fixed", path, NULL),
	    0, "%s", out);
	free(out);
	cr_expect_eq(db_int(c.db, "SELECT count(*) FROM reference_threshold"), 0);

	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
}

/* Item 3: `reference = rolling 7d` is built from the stored events of the
 * last 7 days; a day without events is reported, not filled in. */
Test(season, rolling_reference_reports_a_missing_day, .timeout = 300)
{
	struct cproc c;
	struct sender s;
	struct sample_rng rng;
	char conf[700], *out;
	double now = clock_now();
	double end;

	cproc_init(&c, "season-roll");
	snprintf(conf, sizeof(conf), "%s/mlwatch.conf", c.dir);
	const char *cfg0 = "[collector]\nretention_raw = 30d\n";
	h_write_file(conf, cfg0, strlen(cfg0));
	const char *cargs[] = {"--config",           conf,    "--window", "1h",
	                       "--analyze-interval", "200ms", NULL};
	cr_assert_eq(cproc_start(&c, cargs), 0);
	/* 100 events on each of the last 7 days but the third */
	sample_rng_seed(&rng, 7);
	sender_open(&s, c.url);
	for (int d = 1; d <= 7; d++) {
		if (d == 3)
			continue;
		for (int i = 0; i < 100; i++) {
			struct wc_feature fe = {"x", 1, gauss(&rng), NULL};

			cr_assert_eq(wc_batch_event(&s.wb, "roll", NULL,
			                            now - d * DAY + HOUR + i * 60, 5, false, &fe, 1,
			                            wc_none(), -1, wc_none()),
			             0);
			s.n++;
		}
	}
	sender_close(&s);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"), 600);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);

	/* the model now follows the calendar: built on start (none yet) */
	const char *cfg1 =
	    "[collector]\nretention_raw = 30d\n[model roll]\nreference = rolling 7d\n";
	h_write_file(conf, cfg1, strlen(cfg1));
	cr_assert_eq(cproc_start(&c, cargs), 0);
	end = h_now() + 30 * cproc_slow();
	while (h_now() < end &&
	       db_int(c.db, "SELECT count(*) FROM reference_source WHERE mode = 'rolling'") != 1)
		h_sleep(0.2);
	cr_assert_eq(db_int(c.db, "SELECT n FROM reference WHERE feature = 'x'"), 600);
	cr_assert_eq(db_int(c.db, "SELECT parts FROM reference_source"), 7);
	cr_assert_eq(db_int(c.db, "SELECT missing_parts FROM reference_source"), 1);
	char *log = h_read_file(c.log, NULL);
	cr_expect(log && strstr(log, "reference history missing model=roll reference=rolling "
	                             "slot=- parts=7 missing=1 rows=600"),
	          "%s", log ? log : "");
	free(log);

	cr_assert_eq(run_mlwatch(&out, "--config", conf, "--db", c.db, "reference", "show",
	                         "--model", "roll", "--json", NULL),
	             0, "%s", out);
	cJSON *o = cJSON_Parse(out);
	cr_assert_not_null(o, "%s", out);
	cr_expect_str_eq(cJSON_GetObjectItem(o, "reference")->valuestring, "rolling");
	cJSON *src = cJSON_GetObjectItem(o, "reference_source");
	cr_expect_eq(cJSON_GetObjectItem(src, "span_s")->valueint, 7 * DAY);
	cJSON *miss = cJSON_GetObjectItem(src, "missing");
	cr_assert_eq(cJSON_GetArraySize(miss), 1, "%s", out);
	/* the missing range is the third day back */
	double from, to;
	cr_assert_eq(
	    clock_parse_rfc3339(
	        cJSON_GetObjectItem(cJSON_GetArrayItem(miss, 0), "from")->valuestring, &from),
	    0);
	cr_assert_eq(clock_parse_rfc3339(
	                 cJSON_GetObjectItem(cJSON_GetArrayItem(miss, 0), "to")->valuestring, &to),
	             0);
	cr_expect(from <= now - 3 * DAY + HOUR && to >= now - 3 * DAY + HOUR + 99 * 60 &&
	              to - from <= DAY + 1,
	          "missing %s", out);
	cJSON_Delete(o);
	free(out);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
}
