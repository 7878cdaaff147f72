/* mlwatchd end to end with the wire client: storing, dedupe, labels,
 * authentication, refusals, concurrency, metrics, shutdown. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "../lib/collector_proc.h"
#include "../lib/featblob.h"
#include "ddsketch.h"
#include "store.h"
#include "../lib/harness.h"
#include "../lib/wire_client.h"

#define TIMEOUT 10.0

static double now_s(void)
{
	return clock_now();
}

/* n events of model at second `second` (ids "<agent>-<seq>-<k>"), plus the
 * summary of that second covering `total` requests with the same latencies
 * repeated. Latencies are returned in lat (n values). */
static void make_batch(struct wc_batch *wb, const char *agent, uint64_t seq, const char *token,
                       const char *model, int64_t second, size_t n, double *lat)
{
	char id[64];
	wc_batch_init(wb, agent, seq, token);
	for (size_t k = 0; k < n; k++) {
		struct wc_feature f[3] = {
		    {"amount", 1, 10.0 + (double)((seq * 31 + k * 7) % 100), NULL},
		    {"country", 2, 0, (k % 3) ? "DE" : "FR"},
		    {"age", 0, 0, NULL},
		};
		lat[k] = 1.0 + (double)((seq * 13 + k * 17) % 200) / 4.0;
		snprintf(id, sizeof(id), "%s-%llu-%zu", agent, (unsigned long long)seq, k);
		cr_assert_eq(wc_batch_event(wb, model, id,
		                            (double)second + (double)k / (double)(n + 1), lat[k],
		                            k % 10 == 0, f, 3, wc_str(k % 2 ? "fraud" : "legit"),
		                            0.6, wc_none()),
		             0);
	}
	cr_assert_eq(wc_batch_summary(wb, model, second, n, (n + 9) / 10, n, lat, n), 0);
}

static int send_batch(struct wc_client *cl, struct wc_batch *wb, struct wire_reply *r)
{
	uint8_t *buf;
	size_t len;
	char err[256];
	int rc;
	cr_assert_eq(wc_batch_encode(wb, &buf, &len), 0);
	rc = wc_request(cl, buf, len, r, err, sizeof(err));
	if (rc)
		fprintf(stderr, "request failed: %s\n", err);
	free(buf);
	return rc;
}

static struct wc_client *client(const char *url)
{
	struct wc_client *cl;
	char err[256];
	cr_assert_eq(wc_open(&cl, url, NULL, TIMEOUT * cproc_slow(), err, sizeof(err)), 0, "%s",
	             err);
	return cl;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

Test(collector, stores_batches_once_and_answers_after_commit)
{
	struct cproc c;
	struct wc_client *cl;
	struct wc_batch wb;
	struct wire_reply r;
	double lat[200];
	int64_t sec = (int64_t)now_s() - 30;
	char sql[256];

	cproc_init(&c, "coll-basic");
	cr_assert_eq(cproc_start(&c, NULL), 0, "mlwatchd did not start, see %s", c.log);
	cl = client(c.url);

	make_batch(&wb, "a1", 1, NULL, "fraud", sec, 200, lat);
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.status, WIRE_OK, "%s", r.message);
	cr_assert_eq(r.seq, 1);
	cr_assert_eq(r.stored, 200);
	cr_assert(!r.duplicate);
	/* the reply came after COMMIT: a reader sees everything now */
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"), 200);

	/* the same batch again (a resend): answered, not stored again */
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.status, WIRE_OK);
	cr_assert(r.duplicate);
	cr_assert_eq(r.stored, 0);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"), 200);
	wc_batch_free(&wb);

	/* the window holds the summary's counts and a sketch of its latencies */
	int64_t ws = sec / 60 * 60;
	snprintf(sql, sizeof(sql), "SELECT count FROM windows WHERE start = %lld", (long long)ws);
	cr_assert_eq(db_int(c.db, sql), 200);
	snprintf(sql, sizeof(sql), "SELECT errors FROM windows WHERE start = %lld", (long long)ws);
	cr_assert_eq(db_int(c.db, sql), 20);
	snprintf(sql, sizeof(sql), "SELECT sampled FROM windows WHERE start = %lld", (long long)ws);
	cr_assert_eq(db_int(c.db, sql), 200);
	snprintf(sql, sizeof(sql), "SELECT end - start FROM windows WHERE start = %lld",
	         (long long)ws);
	cr_assert_eq(db_int(c.db, sql), 60);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM batches_seen WHERE agent_id = 'a1'"), 1);
	cr_assert_eq(db_int(c.db, "SELECT batches FROM agents WHERE agent_id = 'a1'"), 1);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events WHERE req_id = 'a1-1-7'"), 1);
	char feat[256];
	cr_assert_eq(featblob_db_json(c.db,
	                              "SELECT features_bin FROM events WHERE req_id = 'a1-1-7'",
	                              feat, sizeof(feat)),
	             0);
	cr_assert_str_eq(feat, "{\"amount\":90,\"country\":\"DE\",\"age\":null}");
	char last[32], win[32];
	cr_assert_eq(
	    db_text(c.db, "SELECT value FROM meta WHERE key = 'last_write'", last, sizeof(last)),
	    0);
	cr_assert(fabs(strtod(last, NULL) - now_s()) < 30);
	cr_assert_eq(
	    db_text(c.db, "SELECT value FROM meta WHERE key = 'window_seconds'", win, sizeof(win)),
	    0);
	cr_assert_str_eq(win, "60");

	/* graceful stop: exit 0 after checkpointing (the WAL is empty) */
	wc_close(cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cr_assert(h_wait_log(c.log, "collector stopped", 1));
	{
		struct stat sb;
		char wal[600];
		snprintf(wal, sizeof(wal), "%s-wal", c.db);
		cr_assert(stat(wal, &sb) != 0 || sb.st_size == 0,
		          "WAL not checkpointed: %lld bytes", (long long)sb.st_size);
	}
	cr_assert_eq(db_int(c.db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	cproc_cleanup(&c);
}

Test(collector, latency_sketch_matches_what_was_sent)
{
	struct cproc c;
	struct wc_client *cl;
	double all[3000];
	size_t n = 0;
	int64_t sec0 = (int64_t)now_s() / 60 * 60 - 120; /* a closed window */

	cproc_init(&c, "coll-lat");
	cr_assert_eq(cproc_start(&c, NULL), 0);
	cl = client(c.url);
	for (uint64_t seq = 1; seq <= 15; seq++) {
		struct wc_batch wb;
		struct wire_reply r;
		make_batch(&wb, "lat", seq, NULL, "m", sec0 + (int64_t)seq * 3, 200, all + n);
		n += 200;
		cr_assert_eq(send_batch(cl, &wb, &r), 0);
		cr_assert_eq(r.status, WIRE_OK);
		wc_batch_free(&wb);
	}
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count FROM windows WHERE start = %lld", (long long)sec0);
	cr_assert_eq(db_int(c.db, sql), (int64_t)n);

	/* decode the stored sketch and compare its quantiles with the exact
	 * ones (lower rank, as the sketch defines them) */
	wc_close(cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	qsort(all, n, sizeof(double), cmp_double);
	{
		sqlite3 *h;
		sqlite3_stmt *s;
		struct ddsketch *sk = NULL;
		cr_assert_eq(sqlite3_open_v2(c.db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		cr_assert_eq(sqlite3_prepare_v2(h,
		                                "SELECT latency_sketch FROM windows WHERE "
		                                "model_id = (SELECT id FROM models WHERE name='m')",
		                                -1, &s, NULL),
		             SQLITE_OK);
		cr_assert_eq(sqlite3_step(s), SQLITE_ROW);
		cr_assert_eq(ddsketch_decode(sqlite3_column_blob(s, 0),
		                             (size_t)sqlite3_column_bytes(s, 0), &sk),
		             0);
		sqlite3_finalize(s);
		sqlite3_close(h);
		cr_assert_eq(ddsketch_count(sk), n);
		double qs[] = {0.5, 0.9, 0.95, 0.99, 0.999};
		for (size_t i = 0; i < 5; i++) {
			double got, want = all[(size_t)floor(qs[i] * (double)(n - 1))];
			cr_assert_eq(ddsketch_quantile(sk, qs[i], &got), 0);
			cr_assert(fabs(got - want) <= 0.01 * want + 1e-9, "q%g: %g vs %g", qs[i],
			          got, want);
		}
		ddsketch_free(sk);
	}
	cproc_cleanup(&c);
}

Test(collector, labels_join_in_either_order)
{
	struct cproc c;
	struct wc_client *cl;
	struct wc_batch wb;
	struct wire_reply r;
	double t = now_s() - 20;

	cproc_init(&c, "coll-labels");
	cr_assert_eq(cproc_start(&c, NULL), 0);
	cl = client(c.url);

	/* label first (kept pending), then its event */
	wc_batch_init(&wb, "l", 1, NULL);
	wc_batch_label(&wb, "m", "early", wc_str("yes"), t);
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.status, WIRE_OK);
	wc_batch_free(&wb);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM pending_labels"), 1);

	wc_batch_init(&wb, "l", 2, NULL);
	wc_batch_event(&wb, "m", "early", t, 5, false, NULL, 0, wc_str("yes"), 0.9, wc_none());
	wc_batch_event(&wb, "m", "late", t, 5, false, NULL, 0, wc_str("no"), 0.8, wc_none());
	wc_batch_event(&wb, "m", "inline", t, 5, false, NULL, 0, wc_num(1), 0.7, wc_num(0));
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.stored, 3);
	wc_batch_free(&wb);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM pending_labels"), 0);
	char lab[32];
	cr_assert_eq(
	    db_text(c.db, "SELECT label_str FROM events WHERE req_id='early'", lab, sizeof(lab)),
	    0);
	cr_assert_str_eq(lab, "yes");

	/* event first, label later */
	wc_batch_init(&wb, "l", 3, NULL);
	wc_batch_label(&wb, "m", "late", wc_str("yes"), t + 100);
	wc_batch_label(&wb, "m", "never", wc_str("x"), t + 100);
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	wc_batch_free(&wb);
	cr_assert_eq(
	    db_text(c.db, "SELECT label_str FROM events WHERE req_id='late'", lab, sizeof(lab)), 0);
	cr_assert_str_eq(lab, "yes");
	cr_assert_eq(db_int(c.db, "SELECT label_num FROM events WHERE req_id='inline'"), 0);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM pending_labels WHERE req_id='never'"), 1);
	/* three of the window's events now carry a label */
	cr_assert_eq(db_int(c.db, "SELECT sum(labelled) FROM windows"), 3);

	char *page, murl[128];
	snprintf(murl, sizeof(murl), "%smetrics", c.http);
	page = http_get(murl, NULL);
	cr_assert_not_null(page);
	cr_assert_float_eq(metrics_value(page, "mlwatch_collector_labels_joined_total"), 2, 0.1);
	cr_assert_float_eq(metrics_value(page, "mlwatch_collector_labels_pending_total"), 2, 0.1);
	free(page);
	wc_close(cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0, "unclean exit, see %s", c.log);
	cproc_cleanup(&c);
}

Test(collector, wrong_token_is_refused_and_stores_nothing)
{
	struct cproc c;
	struct wc_client *cl;
	struct wc_batch wb;
	struct wire_reply r;
	double lat[10];
	char tok[600];
	int64_t sec = (int64_t)now_s() - 5;

	cproc_init(&c, "coll-token");
	snprintf(tok, sizeof(tok), "%s/token", c.dir);
	cr_assert_eq(h_write_file(tok, "s3cret-token\n", 13), 0);
	const char *args[] = {"--token-file", tok, NULL};
	cr_assert_eq(cproc_start(&c, args), 0);
	cl = client(c.url);

	make_batch(&wb, "t", 1, "wrong-token", "m", sec, 10, lat);
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.status, WIRE_UNAUTHORIZED);
	cr_assert_str_eq(r.message, "invalid token");
	wc_batch_free(&wb);
	make_batch(&wb, "t", 2, NULL, "m", sec, 10, lat);
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.status, WIRE_UNAUTHORIZED);
	cr_assert_str_eq(r.message, "token required");
	wc_batch_free(&wb);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"), 0);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM windows"), 0);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM batches_seen"), 0);
	cr_assert(h_wait_log(c.log, "reason=unauthorized", 1));

	/* the right token (the file's first line, no newline) works, also for
	 * a seq refused before */
	make_batch(&wb, "t", 1, "s3cret-token", "m", sec, 10, lat);
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.status, WIRE_OK);
	cr_assert_eq(r.stored, 10);
	wc_batch_free(&wb);

	char url[128];
	snprintf(url, sizeof(url), "%smetrics", c.http);
	char *page = http_get(url, NULL);
	cr_assert_float_eq(
	    metrics_value(page, "mlwatch_collector_rejects_total{reason=\"unauthorized\"}"), 2,
	    0.1);
	free(page);
	wc_close(cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0, "unclean exit, see %s", c.log);
	cproc_cleanup(&c);
}

Test(collector, malformed_oversized_future_and_replayed_are_refused_while_serving)
{
	struct cproc c;
	struct wc_client *cl;
	struct wc_batch wb;
	struct wire_reply r;
	char err[256], url[128];
	double lat[50];
	int64_t sec = (int64_t)now_s() - 5;

	cproc_init(&c, "coll-bad");
	const char *args[] = {"--max-message", "64KiB", NULL};
	cr_assert_eq(cproc_start(&c, args), 0);
	cl = client(c.url);

	/* not a protobuf Batch */
	cr_assert_eq(
	    wc_request(cl, (const uint8_t *)"\xff\xff\xffgarbage", 10, &r, err, sizeof(err)), 0,
	    "%s", err);
	cr_assert_eq(r.status, WIRE_INVALID);
	/* larger than max_message */
	uint8_t *big = calloc(1, 100 * 1024);
	cr_assert_eq(wc_request(cl, big, 100 * 1024, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.status, WIRE_INVALID);
	cr_assert(strstr(r.message, "max_message"), "%s", r.message);
	free(big);
	/* an unknown protocol version */
	make_batch(&wb, "b", 1, NULL, "m", sec, 5, lat);
	wb.b.protocol = 99;
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.status, WIRE_VERSION);
	wc_batch_free(&wb);
	/* events from the future (clock skew) are refused one by one, the
	 * rest of the batch is kept */
	make_batch(&wb, "b", 2, NULL, "m", sec, 5, lat);
	wb.b.events[0].ts = now_s() + 3600;
	wb.b.events[1].ts = now_s() + 400;
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.status, WIRE_OK);
	cr_assert_eq(r.stored, 3);
	cr_assert_eq(r.rejected, 2);
	/* replayed: a duplicate */
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert(r.duplicate);
	wc_batch_free(&wb);
	/* and it keeps serving */
	make_batch(&wb, "b", 3, NULL, "m", sec, 50, lat);
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.status, WIRE_OK);
	cr_assert_eq(r.stored, 50);
	wc_batch_free(&wb);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"), 53);

	snprintf(url, sizeof(url), "%smetrics", c.http);
	char *page = http_get(url, NULL);
	cr_assert_not_null(page);
	cr_assert_float_eq(
	    metrics_value(page, "mlwatch_collector_rejects_total{reason=\"malformed\"}"), 1, 0.1);
	cr_assert_float_eq(
	    metrics_value(page, "mlwatch_collector_rejects_total{reason=\"oversized\"}"), 1, 0.1);
	cr_assert_float_eq(
	    metrics_value(page, "mlwatch_collector_rejects_total{reason=\"version\"}"), 1, 0.1);
	cr_assert_float_eq(
	    metrics_value(page, "mlwatch_collector_rejects_total{reason=\"future_ts\"}"), 2, 0.1);
	cr_assert_float_eq(metrics_value(page, "mlwatch_collector_duplicate_batches_total"), 1,
	                   0.1);
	cr_assert_float_eq(metrics_value(page, "mlwatch_collector_events_total"), 53, 0.1);
	cr_assert(metrics_value(page, "mlwatch_model_rps{model=\"m\"}") >= 0);

	/* the page is valid for Prometheus */
	char path[600], cmd[1300];
	snprintf(path, sizeof(path), "%s/metrics.txt", c.dir);
	h_write_file(path, page, strlen(page));
	snprintf(cmd, sizeof(cmd), "promtool check metrics < %s > %s.out 2>&1", path, path);
	int rc = system(cmd);
	snprintf(cmd, sizeof(cmd), "%s.out", path);
	char *out = h_read_file(cmd, NULL);
	cr_assert_eq(rc, 0, "promtool: %s", out ? out : "");
	free(out);
	free(page);
	wc_close(cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0, "unclean exit, see %s", c.log);
	cproc_cleanup(&c);
}

struct sender {
	const char *url, *agent;
	int batches;
	int ok;
};

static void *send_many(void *arg)
{
	struct sender *s = arg;
	struct wc_client *cl;
	char err[256];
	double lat[100];
	int64_t sec = (int64_t)clock_now() - 10;

	if (wc_open(&cl, s->url, NULL, TIMEOUT * cproc_slow(), err, sizeof(err)))
		return NULL;
	for (int i = 1; i <= s->batches; i++) {
		struct wc_batch wb;
		struct wire_reply r;
		uint8_t *buf;
		size_t len;
		make_batch(&wb, s->agent, (uint64_t)i, NULL, i % 2 ? "shared" : s->agent,
		           sec - i % 5, 100, lat);
		wc_batch_encode(&wb, &buf, &len);
		if (wc_request(cl, buf, len, &r, err, sizeof(err)) == 0 && r.status == WIRE_OK &&
		    r.stored == 100)
			s->ok++;
		free(buf);
		wc_batch_free(&wb);
	}
	wc_close(cl);
	return NULL;
}

Test(collector, two_agents_concurrently_with_overlapping_models)
{
	struct cproc c;
	pthread_t t[2];
	struct sender s[2] = {{NULL, "agent-a", 40, 0}, {NULL, "agent-b", 40, 0}};

	cproc_init(&c, "coll-two");
	cr_assert_eq(cproc_start(&c, NULL), 0);
	for (int i = 0; i < 2; i++) {
		s[i].url = c.url;
		pthread_create(&t[i], NULL, send_many, &s[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_assert_eq(s[0].ok, 40);
	cr_assert_eq(s[1].ok, 40);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"), 8000);
	cr_assert_eq(db_int(c.db, "SELECT count(DISTINCT req_id) FROM events"), 8000);
	cr_assert_eq(db_int(c.db, "SELECT sum(count) FROM windows"), 8000);
	cr_assert_eq(db_int(c.db, "SELECT sum(count) FROM windows w JOIN models m ON "
	                          "m.id = w.model_id WHERE m.name = 'shared'"),
	             4000);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM models"), 3);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM agents"), 2);
	cr_assert_eq(db_int(c.db, "SELECT sum(batches) FROM agents"), 80);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0, "unclean exit, see %s", c.log);
	cproc_cleanup(&c);
}

Test(collector, refuses_an_open_address_without_token_or_tls)
{
	struct cproc c;
	char url[64], *log;
	cproc_init(&c, "coll-open");
	snprintf(url, sizeof(url), "tcp://0.0.0.0:%d", c.port);
	const char *args[] = {"--db", c.db, "--listen", url, "--http", "off", NULL};
	cr_assert_eq(cproc_run(&c, args, 10), 2);
	log = h_read_file(c.log, NULL);
	cr_assert(strstr(log, "refusing to listen on tcp://0.0.0.0"), "%s", log);
	cr_assert(strstr(log, "--insecure"));
	free(log);
	/* with --insecure it runs */
	const char *ok[] = {"--listen", url, "--insecure", NULL};
	cr_assert_eq(cproc_start(&c, ok), 0);
	cr_assert_eq(cproc_stop(&c, SIGINT), 0);
	cproc_cleanup(&c);
}

Test(collector, ipc_transport_and_window_setting_is_kept)
{
	struct cproc c;
	struct wc_client *cl;
	struct wc_batch wb;
	struct wire_reply r;
	char url[700];
	double lat[10];

	cproc_init(&c, "coll-ipc");
	snprintf(url, sizeof(url), "ipc://%s/sock", c.dir);
	const char *args[] = {"--listen", url, "--window", "10s", NULL};
	cr_assert_eq(cproc_start(&c, args), 0);
	cl = client(url);
	make_batch(&wb, "i", 1, NULL, "m", 1000000005, 10, lat);
	/* ts far in the past is older than retention: refused */
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.stored, 0);
	cr_assert_eq(r.rejected, 11);
	wc_batch_free(&wb);
	int64_t sec = (int64_t)now_s() - 3;
	make_batch(&wb, "i", 2, NULL, "m", sec, 10, lat);
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.stored, 10);
	wc_batch_free(&wb);
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM windows WHERE start = %lld AND end = %lld",
	         (long long)(sec / 10 * 10), (long long)(sec / 10 * 10 + 10));
	cr_assert_eq(db_int(c.db, sql), 1);
	wc_close(cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	/* the database remembers its window length */
	const char *other[] = {"--db", c.db,       "--listen", url, "--http",
	                       "off",  "--window", "60s",      NULL};
	cr_assert_eq(cproc_run(&c, other, 10), 1);
	char *log = h_read_file(c.log, NULL);
	cr_assert(strstr(log, "window = 10s"), "%s", log);
	free(log);
	cproc_cleanup(&c);
}

Test(collector, retention_removes_old_rows_and_expires_labels)
{
	struct cproc c;
	struct wc_client *cl;
	struct wc_batch wb;
	struct wire_reply r;
	char url[128];

	cproc_init(&c, "coll-ret");
	const char *args[] = {"--retention-raw", "60s", "--label-ttl", "1s", NULL};
	cr_assert_eq(cproc_start(&c, args), 0);
	cl = client(c.url);
	/* events that will be older than retention_raw within a second or two,
	 * and a label whose event never comes */
	wc_batch_init(&wb, "ret", 1, NULL);
	for (int i = 0; i < 20; i++)
		wc_batch_event(&wb, "m", NULL, now_s() - 59.0, 1, false, NULL, 0, wc_num(1), 0.5,
		               wc_none());
	wc_batch_event(&wb, "m", NULL, now_s() - 1, 1, false, NULL, 0, wc_num(1), 0.5, wc_none());
	wc_batch_label(&wb, "m", "orphan", wc_str("x"), now_s());
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.stored, 21);
	wc_batch_free(&wb);
	/* the first retention pass runs two seconds after start */
	double end = h_now() + 10 * cproc_slow();
	while (db_int(c.db, "SELECT count(*) FROM events") != 1 && h_now() < end)
		h_sleep(0.1);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"), 1);
	end = h_now() + 15 * cproc_slow();
	while (db_int(c.db, "SELECT count(*) FROM pending_labels") != 0 && h_now() < end)
		h_sleep(0.1);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM pending_labels"), 0);
	snprintf(url, sizeof(url), "%smetrics", c.http);
	char *page = http_get(url, NULL);
	cr_assert_float_eq(metrics_value(page, "mlwatch_collector_labels_expired_total"), 1, 0.1);
	cr_assert(metrics_value(page, "mlwatch_collector_retention_deleted_rows_total") >= 21);
	free(page);
	wc_close(cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
}

/* One batch of n events "<prefix><k>" of model fraud at ts, predicting
 * pred, as agent/seq. */
static void send_ids(const char *url, const char *agent, uint64_t seq, const char *prefix, int n,
                     double ts, const char *pred)
{
	struct wc_client *cl = client(url);
	struct wc_batch wb;
	struct wire_reply r;
	char id[64];

	wc_batch_init(&wb, agent, seq, NULL);
	for (int k = 0; k < n; k++) {
		snprintf(id, sizeof(id), "%s%d", prefix, k);
		cr_assert_eq(wc_batch_event(&wb, "fraud", id, ts, 5, false, NULL, 0, wc_str(pred),
		                            0.5, wc_none()),
		             0);
	}
	cr_assert_eq(send_batch(cl, &wb, &r), 0);
	cr_assert_eq(r.status, WIRE_OK, "%s", r.message);
	wc_batch_free(&wb);
	wc_close(cl);
}

/* The lookups= figure of the writer's last stop line (the events whose
 * duplicate check the filter left to the index), -1 when none. */
static long last_lookups(const char *log)
{
	char *s = h_read_file(log, NULL), *p = s, *last = NULL;
	long v = -1;

	while (p && (p = strstr(p, "writer CPU per event")))
		last = p++;
	if (last && (last = strstr(last, " lookups=")))
		v = strtol(last + 9, NULL, 10);
	free(s);
	return v;
}

/* The duplicate check's filter (issue 18): on a fresh store it answers for
 * new ids without the index, and after a restart the events stored within
 * label_ttl are loaded into it, so a resend under a new agent and seq is
 * still found and kept once. */
Test(collector, repeated_ids_are_found_after_a_restart)
{
	struct cproc c;
	double now = now_s();

	cproc_init(&c, "dedupe-restart");
	cr_assert_eq(cproc_start(&c, NULL), 0, "see %s", c.log);
	send_ids(c.url, "a1", 1, "e", 500, now - 5, "fraud");
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	long before = last_lookups(c.log);
	cr_assert(before >= 0 && before <= 25,
	          "a fresh store: the filter answers for all but its false positives, %ld lookups "
	          "for 500 new ids (see %s)",
	          before, c.log);

	cr_assert_eq(cproc_start(&c, NULL), 0, "see %s", c.log);
	/* the same ids a second later, as another agent, and 10 new ones */
	send_ids(c.url, "a2", 1, "e", 500, now - 4, "legit");
	send_ids(c.url, "a2", 2, "n", 10, now - 4, "legit");
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events WHERE req_id LIKE 'e%'"), 500,
	             "stored once");
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events WHERE pred_str = 'fraud'"), 500,
	             "the first ones kept");
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events WHERE req_id LIKE 'n%'"), 10);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	/* the stored ones were loaded into the filter at the start: the
	 * repeats are "maybe" and looked up, the new ids mostly not */
	cr_assert(h_wait_log(c.log, "duplicate filter loaded events=500 ", 1), "see %s", c.log);
	long after = last_lookups(c.log);
	cr_assert(after >= 500 && after <= 505,
	          "%ld lookups for 500 repeats and 10 new ids (see %s)", after, c.log);
	cproc_cleanup(&c);
}

/* ---- SIGTERM under traffic ---------------------------------------------- */

/* A sender for the stop test: its own client and agent id "stop-S", batches
 * of STOP_BATCH events from make_batch (ids "stop-S-SEQ-K"), until halt or a
 * request fails; acked counts the batches answered OK. */
#define STOP_BATCH 20
struct stop_sender {
	const char *url;
	int id, acked;
	atomic_bool *halt;
	pthread_t t;
};

static void *stop_send(void *arg)
{
	struct stop_sender *s = arg;
	struct wc_client *cl;
	char err[256], agent[32];
	double lat[STOP_BATCH];
	int64_t sec = (int64_t)now_s() - 5;

	snprintf(agent, sizeof(agent), "stop-%d", s->id);
	if (wc_open(&cl, s->url, NULL, 1.0, err, sizeof(err)))
		return NULL;
	for (int b = 0; b < 100000 && !atomic_load(s->halt); b++) {
		struct wc_batch wb;
		struct wire_reply r;
		uint8_t *buf = NULL;
		size_t len = 0;
		int rc = -1;

		make_batch(&wb, agent, (uint64_t)b + 1, NULL, "fraud", sec, STOP_BATCH, lat);
		if (wc_batch_encode(&wb, &buf, &len) == 0)
			rc = wc_request(cl, buf, len, &r, err, sizeof(err));
		free(buf);
		wc_batch_free(&wb);
		if (rc != 0 || r.status != WIRE_OK)
			break;
		s->acked = b + 1;
	}
	wc_close(cl);
	return NULL;
}

/* mlwatchd died once at a SIGTERM that came just after it had answered a
 * batch: nng panicked (pthread_mutex_lock: Invalid argument, inside
 * nng_ctx_send) because the socket was closed while a listen worker was
 * still in a context call. Now the workers leave first. Each round stops a
 * collector under four senders at a different moment: it must exit 0, with
 * every answered batch stored whole (ack after commit) and no batch in
 * part, and stop within a few seconds. */
Test(collector, sigterm_under_traffic_exits_clean_and_keeps_every_answered_batch)
{
	int rounds = getenv("STOP_ROUNDS") ? atoi(getenv("STOP_ROUNDS")) : 6, bounded = 0;
	double slowest = 0;

	for (int round = 0; round < rounds; round++) {
		struct cproc c;
		struct stop_sender s[4];
		atomic_bool halt = false;
		char sql[128];
		double t0, took;
		int rc;

		cproc_init(&c, "stop-race");
		cr_assert_eq(cproc_start(&c, NULL), 0, "see %s", c.log);
		for (int i = 0; i < 4; i++) {
			s[i] = (struct stop_sender){.url = c.url, .id = i, .halt = &halt};
			cr_assert_eq(pthread_create(&s[i].t, NULL, stop_send, &s[i]), 0);
		}
		h_sleep(0.1 + 0.037 * round);
		t0 = h_now();
		rc = cproc_stop(&c, SIGTERM);
		took = h_now() - t0;
		atomic_store(&halt, true);
		for (int i = 0; i < 4; i++)
			pthread_join(s[i].t, NULL);
		if (rc != 0) {
			char *log = h_read_file(c.log, NULL);
			cr_assert_fail("round %d: mlwatchd exited %d at SIGTERM; its log:\n%s",
			               round, rc, log ? log : "(none)");
		}
		slowest = took > slowest ? took : slowest;
		{
			char *log = h_read_file(c.log, NULL);
			cr_assert_not_null(log);
			cr_assert_null(strstr(log, "panic"), "round %d: %s", round, log);
			bounded += strstr(log, "did not close within") != NULL;
			free(log);
		}
		for (int i = 0; i < 4; i++) {
			snprintf(sql, sizeof(sql),
			         "SELECT count(*) FROM events WHERE req_id LIKE 'stop-%d-%%'", i);
			int64_t n = db_int(c.db, sql);
			cr_assert(n >= (int64_t)s[i].acked * STOP_BATCH &&
			              n <= (int64_t)(s[i].acked + 1) * STOP_BATCH &&
			              n % STOP_BATCH == 0,
			          "round %d sender %d: %lld events stored for %d batches answered",
			          round, i, (long long)n, s[i].acked);
		}
		cr_assert_gt(s[0].acked + s[1].acked + s[2].acked + s[3].acked, 0,
		             "round %d: no batch answered before the stop", round);
		cproc_cleanup(&c);
	}
	fprintf(stderr,
	        "collector: %d stops under traffic, the slowest in %.2f s; %d left nng's socket "
	        "to the exit\n",
	        rounds, slowest, bounded);
	cr_assert_lt(slowest, 5.0 * cproc_slow(), "a stop took %.2f s", slowest);
	/* The senders' sockets had requests pending to a collector that went
	 * away; nng frees their pipes on its own threads after nng_close. Under
	 * make asan this test process once died at exit (Criterion: "crashed
	 * during its setup or teardown", 1 run in ~24, not reproduced since),
	 * which fits LeakSanitizer scanning while that is still going on. */
	h_sleep(0.3);
}
