/* Segments end to end (issue 17, acceptance 4), on the real mlwatchd and
 * mlwatch: a model with `segment_by = country`, a reference of ten
 * countries (DE 10% of the rows), then one window whose DE amounts alone
 * moved by 0.6 standard deviations.
 *   - DE's segment is DRIFT while the global severity of amount stays
 *     below 1 (the shift is diluted tenfold), and the other segments do not
 *     drift;
 *   - `mlwatch drift --segment country=DE --json` shows it, and `latency`
 *     and `accuracy --segment` show the segment's own figures;
 *   - the rule drift(amount, country=DE) > 1 pages exactly once (a real
 *     HTTP receiver), and drift(amount, country=*) > 1 makes one grouped
 *     notification naming amount[country=DE] only. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/http_sink.h"
#include "../lib/wire_client.h"
#include "clock.h"

#define W 10

static const char *const countries[] = {"DE", "FR", "IT", "ES", "US", "GB", "NL", "PL", "SE", "AT"};

/* A seeded generator: the same data on every run. */
static uint64_t rng = 0x2545f4914f6cdd1dull;
static double uniform(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return ((double)(rng >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(void)
{
	return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

static int mlwatch_rc(const char *dir, const char *args, char **out)
{
	char cmd[2048], log[700];
	char *bin = h_bin("mlwatch");
	snprintf(log, sizeof(log), "%s/mlwatch.out", dir);
	snprintf(cmd, sizeof(cmd), "%s %s >%s 2>%s.err", bin, args, log, log);
	free(bin);
	int rc = system(cmd);
	*out = h_read_file(log, NULL);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

/* Runs mlwatch with args (one shell word each, spaces between), expects
 * exit status 1 and every NULL-terminated needle in its error output. */
static void expect_error(const char *dir, const char *args, ...)
{
	char path[700], *out = NULL, *err;
	va_list ap;

	cr_assert_eq(mlwatch_rc(dir, args, &out), 1, "mlwatch %s: %s", args, out ? out : "");
	free(out);
	snprintf(path, sizeof(path), "%s/mlwatch.out.err", dir);
	err = h_read_file(path, NULL);
	cr_assert_not_null(err, "mlwatch %s: no error output", args);
	va_start(ap, args);
	for (const char *n; (n = va_arg(ap, const char *));)
		cr_assert(strstr(err, n), "mlwatch %s: no '%s' in: %s", args, n, err);
	va_end(ap);
	free(err);
}

static void send_ok(struct wc_client *cl, struct wc_batch *wb)
{
	uint8_t *buf;
	size_t len;
	char err[256];
	struct wire_reply r;
	cr_assert_eq(wc_batch_encode(wb, &buf, &len), 0);
	cr_assert_eq(wc_request(cl, buf, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.status, WIRE_OK, "%s", r.message);
	free(buf);
}

static bool wait_sql(const char *db, const char *sql, int64_t want, double timeout_s)
{
	double end = h_now() + timeout_s * cproc_slow();
	while (h_now() < end) {
		if (db_int(db, sql) == want)
			return true;
		h_sleep(0.1);
	}
	return false;
}

Test(segments, shift_in_one_segment_is_drift_there_only_and_pages_once, .timeout = 180)
{
	struct cproc c;
	struct wc_client *cl;
	struct http_sink *hook = sink_start(0), *grouped = sink_start(0);
	char path[700], conf[700], args[2600], *out, err[256], body[2048], sql[400];
	char *hu = sink_url(hook, "/de"), *gu = sink_url(grouped, "/all");
	int64_t start = (int64_t)clock_now() / W * W - 3 * W;
	int id = 0, de_n = 0;

	cr_assert(hook && grouped);
	cproc_init(&c, "segments");
	snprintf(conf, sizeof(conf), "%s/mlwatch.conf", c.dir);
	snprintf(body, sizeof(body),
	         "[model pay]\nsegment_by = country\ntask = classification\n"
	         "[alert de-shift]\nmodel = pay\nexpr = drift(amount, country=DE) > 1\n"
	         "severity = page\nreceivers = hook\n"
	         "[alert any-segment]\nmodel = pay\nexpr = drift(amount, country=*) > 1\n"
	         "receivers = grouped\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n"
	         "[receiver grouped]\ntype = webhook\nurl = %s\ngroup_by = model\n"
	         "group_wait = 2s\n",
	         hu, gu);
	h_write_file(conf, body, strlen(body));
	const char *cargs[] = {"--config",           conf,    "--window", "10s",
	                       "--analyze-interval", "200ms", NULL};
	cr_assert_eq(cproc_start(&c, cargs), 0);

	/* the reference: 20,000 rows, amount ~ N(100, 10) in every country */
	snprintf(path, sizeof(path), "%s/ref.csv", c.dir);
	FILE *f = fopen(path, "w");
	cr_assert(f);
	fprintf(f, "amount,country,prediction,label\n");
	for (int i = 0; i < 20000; i++)
		fprintf(f, "%.4f,%s,%s,%s\n", 100 + 10 * normal(), countries[i % 10],
		        i % 3 ? "ok" : "fraud", i % 4 ? "ok" : "fraud");
	fclose(f);
	snprintf(args, sizeof(args), "--config %s --db %s reference import --model pay %s", conf,
	         c.db, path);
	cr_assert_eq(mlwatch_rc(c.dir, args, &out), 0, "%s", out);
	free(out);
	/* one profile set per country (10 < K = 20: no "other" rows) */
	cr_assert_eq(db_int(c.db, "SELECT count(DISTINCT segment) FROM segment_reference"), 10);
	cr_assert_eq(db_int(c.db, "SELECT n FROM segment_reference WHERE segment = 'DE' AND "
	                          "feature = 'amount'"),
	             2000);

	/* one window: 2,000 events, DE's amounts (10%) moved by +0.6 sd; DE
	 * answers slower, and is right less often */
	cr_assert_eq(wc_open(&cl, c.url, NULL, 10, err, sizeof(err)), 0);
	for (int b = 0; b < 4; b++) {
		struct wc_batch wb;
		wc_batch_init(&wb, "seg", (uint64_t)b + 1, NULL);
		for (int i = 0; i < 500; i++) {
			const char *cc = countries[(b * 500 + i) % 10];
			bool de = strcmp(cc, "DE") == 0;
			double amount = 100 + 10 * normal() + (de ? 6 : 0);
			struct wc_feature fe[2] = {{"amount", 1, amount, NULL},
			                           {"country", 2, 0, cc}};
			char rid[32];
			snprintf(rid, sizeof(rid), "r%d", id++);
			wc_batch_event(&wb, "pay", rid, (double)start + 1, de ? 50 : 5, false, fe,
			               2, wc_str("ok"), -1,
			               wc_str(de && de_n++ % 2 ? "fraud" : "ok"));
		}
		send_ok(cl, &wb);
		wc_batch_free(&wb);
	}
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM windows WHERE start = %lld AND provisional = 0 AND "
	         "dirty = 0",
	         (long long)start);
	cr_assert(wait_sql(c.db, sql, 1, 30), "the window was not analysed");

	/* global: below 1, no verdict of drift */
	snprintf(sql, sizeof(sql),
	         "SELECT severity FROM drift WHERE start = %lld AND feature = 'amount'",
	         (long long)start);
	double global = db_double(c.db, sql);
	cr_assert(global < 1, "global severity %g", global);
	snprintf(sql, sizeof(sql),
	         "SELECT drifted FROM drift WHERE start = %lld AND feature = 'amount'",
	         (long long)start);
	cr_assert_eq(db_int(c.db, sql), 0);
	/* DE: DRIFT; the nine others: not */
	snprintf(sql, sizeof(sql),
	         "SELECT drifted FROM segment_drift WHERE start = %lld AND feature = 'amount' "
	         "AND segment = 'DE'",
	         (long long)start);
	cr_assert_eq(db_int(c.db, sql), 1);
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM segment_drift WHERE start = %lld AND feature = 'amount' "
	         "AND segment <> 'DE' AND drifted = 0 AND insufficient = 0",
	         (long long)start);
	cr_assert_eq(db_int(c.db, sql), 9);

	/* /metrics: per segment, its features' severities and its events in
	 * the newest window (10 countries: 10 series per feature, no more), a
	 * page promtool accepts */
	snprintf(path, sizeof(path), "%smetrics", c.http);
	char *page = http_get(path, NULL);
	cr_assert_not_null(page);
	double de_sev = metrics_value(page, "mlwatch_segment_drift_severity{model=\"pay\",feature="
	                                    "\"amount\",segment=\"country=DE\"}");
	double fr_sev = metrics_value(page, "mlwatch_segment_drift_severity{model=\"pay\",feature="
	                                    "\"amount\",segment=\"country=FR\"}");
	cr_assert(de_sev > 1 && fr_sev < 1, "DE %g FR %g\n%s", de_sev, fr_sev, page);
	cr_assert_float_eq(
	    metrics_value(page, "mlwatch_segment_events{model=\"pay\",segment=\"country=DE\"}"),
	    200, 1e-9);
	int series = 0;
	for (const char *p = page; (p = strstr(p, "\nmlwatch_segment_drift_severity{")); p++) {
		const char *eol = strchr(p + 1, '\n');
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		series += memmem(p, len, "feature=\"amount\"", 16) != NULL;
	}
	cr_assert_eq(series, 10, "%d segment series of amount\n%s", series, page);
	snprintf(path, sizeof(path), "%s/metrics.txt", c.dir);
	h_write_file(path, page, strlen(page));
	snprintf(args, sizeof(args), "promtool check metrics < %s > %s.out 2>&1", path, path);
	int prc = system(args);
	snprintf(path, sizeof(path), "%s/metrics.txt.out", c.dir);
	char *pout = h_read_file(path, NULL);
	cr_assert(WIFEXITED(prc) && WEXITSTATUS(prc) == 0, "promtool: %s", pout ? pout : "");
	free(pout);
	free(page);

	/* the subcommand shows it */
	snprintf(args, sizeof(args),
	         "--db %s drift --model pay --segment country=DE --feature amount --since 10m "
	         "--json",
	         c.db);
	cr_assert_eq(mlwatch_rc(c.dir, args, &out), 0, "%s", out);
	cJSON *o = cJSON_Parse(out);
	cr_assert_not_null(o, "%s", out);
	cJSON *seg = cJSON_GetObjectItem(o, "segment");
	cr_assert_str_eq(cJSON_GetObjectItem(seg, "key")->valuestring, "country");
	cr_assert_str_eq(cJSON_GetObjectItem(seg, "value")->valuestring, "DE");
	cJSON *ws = cJSON_GetObjectItem(o, "windows");
	cr_assert_eq(cJSON_GetArraySize(ws), 1, "%s", out);
	cJSON *w0 = cJSON_GetArrayItem(ws, 0);
	cr_assert_eq((int64_t)cJSON_GetObjectItem(w0, "start")->valuedouble, start);
	cJSON *am = cJSON_GetObjectItem(cJSON_GetObjectItem(w0, "features"), "amount");
	cr_assert_not_null(am, "%s", out);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(am, "drifted")), "%s", out);
	double sev = cJSON_GetObjectItem(am, "severity")->valuedouble;
	cr_assert(sev > 1, "DE severity %g", sev);
	cr_log_info("amount: global severity %.3f, segment DE severity %.3f", global, sev);
	cr_assert_eq(cJSON_GetObjectItem(am, "n")->valueint, 200);
	cr_assert_eq(cJSON_GetObjectItem(am, "n_ref")->valueint, 2000);
	cJSON_Delete(o);
	free(out);

	/* latency and accuracy of the segment alone */
	snprintf(args, sizeof(args),
	         "--db %s latency --model pay --segment country=DE --since 10m --json", c.db);
	cr_assert_eq(mlwatch_rc(c.dir, args, &out), 0, "%s", out);
	o = cJSON_Parse(out);
	cr_assert_not_null(o, "%s", out);
	w0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "windows"), 0);
	cr_assert_not_null(w0, "%s", out);
	cr_assert_eq(cJSON_GetObjectItem(w0, "count")->valueint, 200);
	cr_assert_float_eq(cJSON_GetObjectItem(w0, "p50")->valuedouble, 50, 1.0);
	cJSON_Delete(o);
	free(out);
	snprintf(args, sizeof(args),
	         "--db %s accuracy --model pay --segment country=FR --since 10m --json", c.db);
	cr_assert_eq(mlwatch_rc(c.dir, args, &out), 0, "%s", out);
	o = cJSON_Parse(out);
	cr_assert_not_null(o, "%s", out);
	w0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "windows"), 0);
	cr_assert_not_null(w0, "%s", out);
	cr_assert_eq(cJSON_GetObjectItem(w0, "labelled")->valueint, 200);
	cr_assert_float_eq(cJSON_GetObjectItem(w0, "accuracy")->valuedouble, 1.0, 1e-12);
	cJSON_Delete(o);
	free(out);
	snprintf(sql, sizeof(sql),
	         "SELECT round(accuracy, 6) * 1000000 FROM segment_windows WHERE start = %lld "
	         "AND segment = 'DE'",
	         (long long)start);
	cr_assert_eq(db_int(c.db, sql), 500000); /* half of DE's labels say fraud */

	/* status --segment: the segment's figures, per model that has it */
	snprintf(args, sizeof(args), "--db %s status --segment country=DE --json", c.db);
	cr_assert_eq(mlwatch_rc(c.dir, args, &out), 0, "%s", out);
	o = cJSON_Parse(out);
	cr_assert_not_null(o, "%s", out);
	seg = cJSON_GetObjectItem(o, "segment");
	cr_assert_str_eq(cJSON_GetObjectItem(seg, "key")->valuestring, "country");
	cr_assert_str_eq(cJSON_GetObjectItem(seg, "value")->valuestring, "DE");
	cJSON *ms = cJSON_GetObjectItem(o, "models");
	cr_assert_eq(cJSON_GetArraySize(ms), 1, "%s", out);
	cJSON *m0 = cJSON_GetArrayItem(ms, 0);
	cr_assert_str_eq(cJSON_GetObjectItem(m0, "model")->valuestring, "pay");
	cr_assert_eq(cJSON_GetObjectItem(m0, "events")->valueint, 200, "%s", out);
	cr_assert_eq(cJSON_GetObjectItem(m0, "errors")->valueint, 0, "%s", out);
	cr_assert_eq(cJSON_GetObjectItem(m0, "windows")->valueint, 1, "%s", out);
	cr_assert_eq((int64_t)cJSON_GetObjectItem(m0, "window_start")->valuedouble, start);
	cr_assert_float_eq(cJSON_GetObjectItem(m0, "p50_ms")->valuedouble, 50, 1.0, "%s", out);
	cr_assert_float_eq(cJSON_GetObjectItem(m0, "p99_ms")->valuedouble, 50, 1.0, "%s", out);
	cr_assert_eq(cJSON_GetObjectItem(m0, "labelled")->valueint, 200, "%s", out);
	cr_assert_float_eq(cJSON_GetObjectItem(m0, "accuracy")->valuedouble, 0.5, 1e-9, "%s", out);
	/* the worst of its features: amount's shift, or @prediction (DE predicts
	 * "ok" only, the reference a third "fraud") */
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(m0, "worst_feature")), "%s", out);
	cr_assert_geq(cJSON_GetObjectItem(m0, "worst_severity")->valuedouble, sev, "%s", out);
	cr_assert(cJSON_IsTrue(cJSON_GetObjectItem(m0, "drifted")), "%s", out);
	cJSON_Delete(o);
	free(out);
	/* as a table: FR's own figures (answers in 5 ms, every label right) */
	snprintf(args, sizeof(args), "--db %s status --segment country=FR --model pay", c.db);
	cr_assert_eq(mlwatch_rc(c.dir, args, &out), 0, "%s", out);
	cr_assert(
	    strstr(out, "MODEL  EVENTS  ERR  P50(win)") &&
	        strstr(out, "pay       200   0%         5         5         5  100%     200") &&
	        strstr(out, "segment country=FR, sampled events over the last 1h"),
	    "%s", out);
	free(out);
	/* an unknown value or key is an error naming what there is */
	snprintf(args, sizeof(args), "--db %s status --segment country=DK", c.db);
	expect_error(c.dir, args, "mlwatch: error: --segment: no segment country=DK in ",
	             "did you mean 'DE'?",
	             "segments of country: AT, DE, ES, FR, GB, IT, NL, PL, SE, US;", NULL);
	snprintf(args, sizeof(args), "--db %s status --segment device=phone", c.db);
	expect_error(c.dir, args, "--segment: no model in ",
	             " has segments by 'device' (segment_by: country)", NULL);
	snprintf(args, sizeof(args), "--db %s status --model pay --json", c.db);
	cr_assert_eq(mlwatch_rc(c.dir, args, &out), 2);
	free(out);
	/* drift and latency of a segment the model does not have: the same
	 * error, not an empty answer */
	snprintf(args, sizeof(args), "--db %s drift --model pay --segment country=DK --json", c.db);
	expect_error(c.dir, args, "--segment: no segment country=DK in ", "did you mean 'DE'?",
	             NULL);
	snprintf(args, sizeof(args), "--db %s latency --model pay --segment device=ios", c.db);
	expect_error(c.dir, args, "--segment: model 'pay' in ",
	             " has no segments by 'device' (segment_by: country)", NULL);

	/* a bad --segment is a usage error naming it */
	snprintf(args, sizeof(args), "--db %s drift --model pay --segment country --json", c.db);
	cr_assert_eq(mlwatch_rc(c.dir, args, &out), 2);
	free(out);

	/* the DE rule pages once; the country=* rule makes one grouped
	 * notification with DE's instance only */
	cr_assert(sink_wait(hook, 1, 30 * cproc_slow()), "the DE rule did not page");
	cr_assert(sink_wait(grouped, 1, 30 * cproc_slow()), "the country=* rule sent nothing");
	h_sleep(4 * h_slow()); /* group_wait 2 s and a few passes: nothing more */
	cr_assert_eq(sink_count(hook), 1, "%zu notifications", sink_count(hook));
	cr_assert_eq(sink_count(grouped), 1, "%zu notifications", sink_count(grouped));
	o = cJSON_Parse(sink_request(hook, 0)->body);
	cr_assert_not_null(o, "%s", sink_request(hook, 0)->body);
	cr_assert(strstr(sink_request(hook, 0)->body, "amount[country=DE]"), "%s",
	          sink_request(hook, 0)->body);
	cJSON_Delete(o);
	o = cJSON_Parse(sink_request(grouped, 0)->body);
	cr_assert_not_null(o, "%s", sink_request(grouped, 0)->body);
	cJSON *alerts = cJSON_GetObjectItem(o, "alerts");
	cr_assert_eq(cJSON_GetArraySize(alerts), 1, "%s", sink_request(grouped, 0)->body);
	cJSON *lab = cJSON_GetObjectItem(cJSON_GetArrayItem(alerts, 0), "labels");
	cr_assert_str_eq(cJSON_GetObjectItem(lab, "feature")->valuestring, "amount[country=DE]");
	cJSON_Delete(o);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM alerts WHERE rule = 'de-shift' AND "
	                          "state = 'firing'"),
	             1);

	wc_close(cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
	sink_stop(hook);
	sink_stop(grouped);
	free(hu);
	free(gu);
}
