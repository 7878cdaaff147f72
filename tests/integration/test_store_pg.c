/* store_pg: the PostgreSQL store against the SQLite one (issue 16,
 * acceptance 1). The same recorded stream (events with features and
 * predictions, labels sent later, a late event reopening a closed window,
 * a drifted feature against an imported reference) goes to one mlwatchd on
 * a SQLite file and to one on a throw-away PostgreSQL cluster
 * (tests/lib/pg_harness); then `status`, `drift`, `latency`, `accuracy`
 * and `alerts --json` (with MLWATCH_NOW fixed) must say the same thing on
 * both, numbers equal to 1e-9 relative. Also: exactly-once on PostgreSQL
 * (a batch resent is stored once: the (agent_id, seq) claim), and a URI's
 * password never printed (logs, errors, --help, /metrics). */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/collector_proc.h"
#include "../lib/dbgen.h"
#include "../lib/harness.h"
#include "../lib/pg_harness.h"
#include "../lib/tuitest.h"
#include "../lib/wire_client.h"
#include "clock.h"
#include "db.h"
#include "store.h"
#include "store_ingest.h"
#include "store_segments.h"

#define W 10 /* window seconds */

static void send_ok(const char *url, struct wc_batch *wb)
{
	struct wc_client *cl;
	uint8_t *buf;
	size_t len;
	char err[256];
	struct wire_reply r;

	cr_assert_eq(wc_open(&cl, url, NULL, 10 * cproc_slow(), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wc_batch_encode(wb, &buf, &len), 0);
	cr_assert_eq(wc_request(cl, buf, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.status, WIRE_OK, "%s", r.message);
	free(buf);
	wc_close(cl);
}

/* Runs mlwatch --db db ARGS... with MLWATCH_NOW; returns stdout (exit 0
 * and empty stderr asserted). */
static char *mlwatch(const char *db, const char *now_env, const char *const *args)
{
	char *argv[24], *out = NULL, *err = NULL, *bin = h_bin("mlwatch");
	int n = 0, rc;

	argv[n++] = bin;
	argv[n++] = "--db";
	argv[n++] = (char *)db;
	for (; *args && n < 23; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	rc = tt_run(argv, (char *[]){"TZ=UTC", (char *)now_env, NULL}, &out, &err, 30);
	cr_assert_eq(rc, 0, "mlwatch %s: exit %d: %s", args[-1], rc, err ? err : "");
	free(err);
	free(bin);
	return out;
}

/* Keys whose values are the wall clock of the evaluating process (when
 * its alert evaluator saw the breach), which no replay can make equal. */
static bool clock_key(const char *k)
{
	static const char *const keys[] = {"since",       "active_at", "fired_at",
	                                   "resolved_at", "updated",   "last_notified"};
	for (size_t i = 0; k && i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(k, keys[i]))
			return true;
	return false;
}

static bool ignore_clock;

/* a and b equal: same shape and strings, numbers to 1e-9 relative. */
static bool same_json(const cJSON *a, const cJSON *b, char *path, size_t cap, size_t at)
{
	if (ignore_clock && clock_key(a->string))
		return true;
	/* status names the elected evaluator on PostgreSQL only (null on
	 * SQLite): engine-specific by design */
	if (a->string && !strcmp(a->string, "evaluator"))
		return true;
	if ((a->type & 0xff) != (b->type & 0xff)) {
		snprintf(path + at, cap - at, ": type %d vs %d", a->type & 0xff, b->type & 0xff);
		return false;
	}
	if (cJSON_IsNumber(a)) {
		double x = a->valuedouble, y = b->valuedouble;
		if (x == y || fabs(x - y) <= 1e-9 * fmax(fabs(x), fabs(y)))
			return true;
		snprintf(path + at, cap - at, ": %.17g vs %.17g", x, y);
		return false;
	}
	if (cJSON_IsString(a)) {
		if (!strcmp(a->valuestring, b->valuestring))
			return true;
		snprintf(path + at, cap - at, ": \"%s\" vs \"%s\"", a->valuestring, b->valuestring);
		return false;
	}
	if (cJSON_IsArray(a) || cJSON_IsObject(a)) {
		if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b)) {
			snprintf(path + at, cap - at, ": %d vs %d members", cJSON_GetArraySize(a),
			         cJSON_GetArraySize(b));
			return false;
		}
		const cJSON *x = a->child, *y = b->child;
		for (int i = 0; x && y; x = x->next, y = y->next, i++) {
			size_t k = at;
			if (x->string)
				k += (size_t)snprintf(path + at, cap - at, ".%s", x->string);
			else
				k += (size_t)snprintf(path + at, cap - at, "[%d]", i);
			if (k >= cap)
				k = cap - 1;
			if (x->string && (!y->string || strcmp(x->string, y->string))) {
				snprintf(path + k, cap - k, ": key vs %s",
				         y->string ? y->string : "-");
				return false;
			}
			if (!same_json(x, y, path, cap, k))
				return false;
		}
		return true;
	}
	return true; /* null, true, false: the type said it */
}

/* The thresholds a collector stored with the reference (issue 17) are
 * those of the window sizes its analysis met, open windows included: how
 * far each collector got when its pass ran, not what the engine stores. */
static void drop_stored_calibrations(cJSON *j)
{
	cJSON *f;

	cJSON_ArrayForEach(f, cJSON_GetObjectItem(j, "features"))
	{
		cJSON_DeleteItemFromObject(f, "calibrations");
		cJSON_DeleteItemFromObject(f, "threshold_stored");
	}
}

static void expect_same(const char *what, const char *a, const char *b)
{
	cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
	char path[512] = "";

	cr_assert_not_null(ja, "%s (sqlite): not JSON: %.300s", what, a);
	cr_assert_not_null(jb, "%s (postgresql): not JSON: %.300s", what, b);
	if (!strcmp(what, "reference")) {
		drop_stored_calibrations(ja);
		drop_stored_calibrations(jb);
	}
	cr_expect(same_json(ja, jb, path, sizeof(path), 0),
	          "%s differs at %s\nsqlite: %.600s\npg: %.600s", what, path, a, b);
	cJSON_Delete(ja);
	cJSON_Delete(jb);
}

/* One batch of the recorded stream: second `sec` of the window at start. */
static void stream_batch(struct wc_batch *wb, int64_t start, int sec, int shift)
{
	char id[32];
	double l[200];

	for (int k = 0; k < 200; k++) {
		int i = sec * 200 + k;
		struct wc_feature f[2] = {
		    {"amount", i % 10 == 3 ? 0 : 1, 60.0 + shift + (double)((i * 13) % 90), NULL},
		    {"country", 2, 0,
		     i % 7 == 0 ? "XX"
		     : i % 3    ? "DE"
		                : "FR"},
		};
		l[k] = 2.0 + (double)((i * 7919) % 1000) / 10.0;
		snprintf(id, sizeof(id), "w%lld-e%d", (long long)start, i);
		cr_assert_eq(wc_batch_event(wb, "m", id, (double)(start + sec) + 0.25, l[k],
		                            i % 97 == 0, f, 2, wc_str(i % 4 ? "a" : "b"),
		                            0.5 + (double)(i % 50) / 100.0,
		                            /* half labelled now, the rest later */
		                            i % 2 ? wc_str(i % 5 ? "a" : "b") : wc_none()),
		             0);
	}
	wc_batch_summary(wb, "m", start + sec, 200, 2, 200, l, 200);
}

static void replay(const char *url, int64_t now)
{
	int64_t w0 = now / W * W - 4 * W, w1 = w0 + W;
	uint64_t seq = 0;
	struct wc_batch wb;

	for (int sec = 0; sec < W; sec++) {
		wc_batch_init(&wb, "rec", ++seq, NULL);
		stream_batch(&wb, w0, sec, 0);
		stream_batch(&wb, w1, sec, 40); /* the amount drifts upwards */
		send_ok(url, &wb);
		wc_batch_free(&wb);
	}
	/* labels arriving later for the unlabelled half of the first window */
	wc_batch_init(&wb, "rec", ++seq, NULL);
	for (int i = 0; i < 2000; i += 2) {
		char id[32];
		snprintf(id, sizeof(id), "w%lld-e%d", (long long)w0, i);
		wc_batch_label(&wb, "m", id, wc_str(i % 3 ? "a" : "b"), (double)now - 5);
	}
	send_ok(url, &wb);
	wc_batch_free(&wb);
	/* a late event into the first (closed) window */
	wc_batch_init(&wb, "rec", ++seq, NULL);
	struct wc_feature f[2] = {{"amount", 1, 75, NULL}, {"country", 2, 0, "DE"}};
	double l = 33;
	wc_batch_event(&wb, "m", "late-1", (double)w0 + 5.5, l, false, f, 2, wc_str("a"), 0.9,
	               wc_str("a"));
	wc_batch_summary(&wb, "m", w0 + 5, 1, 0, 1, &l, 1);
	send_ok(url, &wb);
	wc_batch_free(&wb);
}

static const char ref_csv[] = "amount,country\n";

static char *write_reference(const char *dir)
{
	char *path, *buf;
	size_t cap = 64 * 1024, n;

	cr_assert(asprintf(&path, "%s/ref.csv", dir) > 0);
	buf = malloc(cap);
	n = (size_t)snprintf(buf, cap, "%s", ref_csv);
	for (int i = 0; i < 800; i++)
		n += (size_t)snprintf(buf + n, cap - n, "%g,%s\n", 50.0 + (double)((i * 37) % 100),
		                      i % 10 < 6   ? "DE"
		                      : i % 10 < 9 ? "FR"
		                                   : "US");
	cr_assert_eq(h_write_file(path, buf, n), 0);
	free(buf);
	return path;
}

static char *write_conf(const char *dir)
{
	char *path;
	/* drift(*) before drift(amount): the first use of their shared
	 * statement binds the feature as NULL (the server cannot infer it) */
	static const char conf[] = "[alert slow]\nmodel = m\nexpr = p99_latency_ms > 50 over 1h\n"
	                           "for = 0s\nseverity = page\n"
	                           "[alert any-drift]\nmodel = m\nexpr = drift(*) > 0.1\n"
	                           "severity = info\n"
	                           "[alert drifted]\nmodel = m\nexpr = drift(amount) > 0.1\n"
	                           "severity = warn\n";
	cr_assert(asprintf(&path, "%s/mlwatch.conf", dir) > 0);
	cr_assert_eq(h_write_file(path, conf, sizeof(conf) - 1), 0);
	return path;
}

/* The replay phase's config: no rules. An alert records the value of its
 * expression when it fires; while the replay is still being analysed that
 * value depends on how far each collector got when its evaluator ran, so
 * the rules start only once both stores hold the final windows. */
static char *write_conf_norules(const char *dir)
{
	char *path;
	static const char conf[] = "# replay phase: no rules\n";
	cr_assert(asprintf(&path, "%s/replay.conf", dir) > 0);
	cr_assert_eq(h_write_file(path, conf, sizeof(conf) - 1), 0);
	return path;
}

/* a = --config conf, then the command's arguments (at most 9), NULL. */
static void with_config(const char **a, const char *conf, const char *const *cmd)
{
	size_t n = 0;
	a[n++] = "--config";
	a[n++] = conf;
	for (size_t k = 0; cmd[k] && k < 9; k++)
		a[n++] = cmd[k];
	a[n] = NULL;
}

/* Both windows analysed as final (plain SQL on each engine). */
static bool analysed_sqlite(const char *db, int64_t w0)
{
	char sql[200];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM windows WHERE start IN (%lld, %lld) AND provisional = 0 "
	         "AND dirty = 0 AND analyzed IS NOT NULL",
	         (long long)w0, (long long)(w0 + W));
	return db_int(db, sql) == 2;
}

static bool analysed_pg(const struct pg_cluster *pg, int64_t w0)
{
	char sql[200], why[256];
	long long n = 0;
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM windows WHERE start IN (%lld, %lld) AND provisional = 0 "
	         "AND dirty = 0 AND analyzed IS NOT NULL",
	         (long long)w0, (long long)(w0 + W));
	return pg_cluster_query_ll(pg, NULL, sql, &n, why, sizeof(why)) == 0 && n == 2;
}

Test(store_pg, same_stream_same_answers_on_sqlite_and_postgresql, .timeout = 120)
{
	struct pg_cluster pg = {0};
	struct cproc sq, pq;
	int64_t now = (int64_t)clock_now(), w0 = now / W * W - 4 * W;
	char now_env[64];

	PG_CLUSTER_START_OR_SKIP(&pg);
	cproc_init(&sq, "pg-same-sq");
	cproc_init(&pq, "pg-same-pg");
	snprintf(pq.db, sizeof(pq.db), "%.500s", pg.uri);
	char *conf_s = write_conf(sq.dir), *conf_p = write_conf(pq.dir);
	char *replay_s = write_conf_norules(sq.dir), *replay_p = write_conf_norules(pq.dir);
	const char *args_s[] = {"--config",           replay_s, "--window", "10s",
	                        "--analyze-interval", "200ms",  NULL};
	const char *args_p[] = {"--config",           replay_p, "--window", "10s",
	                        "--analyze-interval", "200ms",  NULL};
	cr_assert_eq(cproc_start(&sq, args_s), 0, "see %s", sq.log);
	cr_assert_eq(cproc_start(&pq, args_p), 0, "see %s", pq.log);

	/* the same reference, imported the same way */
	char *ref = write_reference(sq.dir);
	snprintf(now_env, sizeof(now_env), "MLWATCH_NOW=%lld", (long long)now + 1);
	const char *imp[] = {"--config", conf_s, "reference", "import", "--model", "m", ref, NULL};
	free(mlwatch(sq.db, now_env, imp));
	imp[1] = conf_p;
	free(mlwatch(pq.db, now_env, imp));

	replay(sq.url, now);
	replay(pq.url, now);
	double end = h_now() + 30 * cproc_slow();
	while (h_now() < end && !(analysed_sqlite(sq.db, w0) && analysed_pg(&pg, w0)))
		h_sleep(0.1);
	cr_assert(analysed_sqlite(sq.db, w0), "sqlite: windows not analysed, see %s", sq.log);
	cr_assert(analysed_pg(&pg, w0), "postgresql: windows not analysed, see %s", pq.log);
	/* the rules start on the final windows (see write_conf_norules) */
	cr_assert_eq(cproc_stop(&sq, SIGTERM), 0, "see %s", sq.log);
	cr_assert_eq(cproc_stop(&pq, SIGTERM), 0, "see %s", pq.log);
	args_s[1] = conf_s;
	args_p[1] = conf_p;
	cr_assert_eq(cproc_start(&sq, args_s), 0, "see %s", sq.log);
	cr_assert_eq(cproc_start(&pq, args_p), 0, "see %s", pq.log);
	/* the alert evaluator's state settles (it runs every second) */
	h_sleep(2.5);

	static const char *const cmds[][10] = {
	    {"status", "--json", NULL},
	    {"drift", "--model", "m", "--json", NULL},
	    {"drift", "--model", "m", "--feature", "amount", "--json", NULL},
	    {"latency", "--model", "m", "--json", NULL},
	    {"accuracy", "--model", "m", "--json", NULL},
	    {"alerts", "--all", "--json", NULL},
	    {"reference", "show", "--model", "m", "--json", NULL},
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *a[12];
		with_config(a, conf_s, cmds[i]);
		ignore_clock = !strcmp(cmds[i][0], "alerts");
		char *os = mlwatch(sq.db, now_env, a);
		a[1] = conf_p;
		char *op = mlwatch(pq.db, now_env, a);
		expect_same(cmds[i][0], os, op);
		/* the answers are not empty: the stream is in them */
		cr_expect(strlen(os) > 40, "%s: %s", cmds[i][0], os);
		free(os);
		free(op);
	}
	/* acceptance 5: `mlwatch migrate` of the SQLite store into a new
	 * PostgreSQL database answers the same, to the byte; a second run
	 * without --force is refused */
	char mig[600], why[256];
	cr_assert_eq(pg_cluster_createdb(&pg, "migrated", mig, sizeof(mig), why, sizeof(why)), 0,
	             "%s", why);
	char *bin_m = h_bin("mlwatch"), *mo = NULL, *me = NULL;
	char *margv[] = {bin_m, "migrate", "--from", sq.db, "--to", mig, NULL};
	int mrc = tt_run(margv, NULL, &mo, &me, 60);
	cr_assert_eq(mrc, 0, "migrate: exit %d: %s", mrc, me);
	cr_expect_not_null(strstr(me, "migrate: events"), "no progress line: %s", me);
	free(mo);
	free(me);
	mrc = tt_run(margv, NULL, &mo, &me, 60);
	cr_expect_eq(mrc, 1, "a second migrate into a non-empty target: exit %d", mrc);
	cr_expect_not_null(strstr(me ? me : "", "--force"), "%s", me);
	free(mo);
	free(me);
	free(bin_m);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		const char *a[12];
		with_config(a, conf_s, cmds[i]);
		char *os = mlwatch(sq.db, now_env, a), *om = mlwatch(mig, now_env, a);
		cr_expect_str_eq(os, om, "%s after migrate", cmds[i][0]);
		free(os);
		free(om);
	}

	/* the dashboard on PostgreSQL: it opens, shows the model and the
	 * database with the password masked */
	struct tt_tmux tm = {0};
	char cmd[2048], *bin = h_bin("mlwatch");
	snprintf(cmd, sizeof(cmd),
	         "env %s TZ=UTC LC_ALL=C.UTF-8 TERM=tmux-256color %s --db '%s' --config %s",
	         now_env, bin, pq.db, conf_p);
	cr_assert_eq(tt_tmux_start(&tm, 120, 40, cmd), 0);
	char *screen = tt_tmux_wait(&tm, "postgresql://mlwatch:***@", 15);
	cr_expect_not_null(screen, "the dashboard did not show the database");
	if (screen) {
		cr_expect_null(strstr(screen, pg.password), "the dashboard shows the password");
		cr_expect_null(strstr(screen, "cannot"), "%s", screen);
	}
	free(screen);
	tt_tmux_stop(&tm);
	free(bin);
	cproc_cleanup(&sq);
	cproc_cleanup(&pq);
	free(conf_s);
	free(conf_p);
	free(replay_s);
	free(replay_p);
	free(ref);
	pg_cluster_destroy(&pg);
}

/* Two collectors on one database: a batch resent to the other one (a
 * failover) is stored once, the second reply says duplicate. */
Test(store_pg, a_batch_resent_to_another_collector_is_stored_once, .timeout = 90)
{
	struct pg_cluster pg = {0};
	struct cproc a, b;
	struct wc_batch wb;
	struct wc_client *cl;
	struct wire_reply r;
	uint8_t *buf;
	size_t len;
	char err[256], why[256];
	long long n = -1;
	double now = clock_now();

	PG_CLUSTER_START_OR_SKIP(&pg);
	cproc_init(&a, "pg-once-a");
	cproc_init(&b, "pg-once-b");
	snprintf(a.db, sizeof(a.db), "%.500s", pg.uri);
	snprintf(b.db, sizeof(b.db), "%.500s", pg.uri);
	cr_assert_eq(cproc_start(&a, NULL), 0, "see %s", a.log);
	cr_assert_eq(cproc_start(&b, NULL), 0, "see %s", b.log);
	wc_batch_init(&wb, "agent-1", 7, NULL);
	for (int i = 0; i < 300; i++) {
		char id[16];
		snprintf(id, sizeof(id), "r%d", i);
		wc_batch_event(&wb, "m", id, now - 1, 5.0 + i, false, NULL, 0, wc_num(i), -1,
		               wc_none());
	}
	cr_assert_eq(wc_batch_encode(&wb, &buf, &len), 0);
	const char *urls[] = {a.url, b.url, a.url};
	for (int k = 0; k < 3; k++) {
		cr_assert_eq(wc_open(&cl, urls[k], NULL, 10 * cproc_slow(), err, sizeof(err)), 0,
		             "%s", err);
		cr_assert_eq(wc_request(cl, buf, len, &r, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(r.status, WIRE_OK, "%s", r.message);
		cr_expect_eq(r.duplicate, k > 0, "send %d: duplicate %d", k, r.duplicate);
		wc_close(cl);
	}
	cr_assert_eq(
	    pg_cluster_query_ll(&pg, NULL, "SELECT count(*) FROM events", &n, why, sizeof(why)), 0,
	    "%s", why);
	cr_expect_eq(n, 300, "events stored: %lld", n);
	cr_assert_eq(pg_cluster_query_ll(&pg, NULL,
	                                 "SELECT count(*) FROM batches_seen WHERE agent_id = "
	                                 "'agent-1' AND seq = 7",
	                                 &n, why, sizeof(why)),
	             0, "%s", why);
	cr_expect_eq(n, 1);
	free(buf);
	wc_batch_free(&wb);
	cproc_cleanup(&a);
	cproc_cleanup(&b);
	pg_cluster_destroy(&pg);
}

/* The password of a URI is never printed: collector log, its errors,
 * mlwatch's errors, --help, /metrics, the alert page. */
Test(store_pg, a_password_in_the_uri_is_never_printed, .timeout = 90)
{
	struct pg_cluster pg = {0};
	struct cproc c;
	char bad[600], *out = NULL, *err = NULL;
	const char *pw;

	PG_CLUSTER_START_OR_SKIP(&pg);
	pw = pg.password;
	cr_assert(strlen(pw) >= 8);
	cproc_init(&c, "pg-redact");
	snprintf(c.db, sizeof(c.db), "%.500s", pg.uri);
	cr_assert_eq(cproc_start(&c, NULL), 0, "see %s", c.log);

	char url[128];
	snprintf(url, sizeof(url), "%smetrics", c.http);
	char *page = http_get(url, NULL);
	cr_assert_not_null(page);
	cr_expect_null(strstr(page, pw), "/metrics shows the password");
	free(page);
	snprintf(url, sizeof(url), "%salerts", c.http);
	page = http_get(url, NULL);
	cr_expect(!page || !strstr(page, pw), "the alert page shows the password");
	free(page);

	/* a wrong password: one line, exit 1, the URI masked */
	snprintf(bad, sizeof(bad), "postgresql://mlwatch:%sX@127.0.0.1:%d/mlwatch", pw, pg.port);
	char *bin = h_bin("mlwatch"), *dbin = h_bin("mlwatchd");
	char *argv1[] = {bin, "--db", bad, "status", "--json", NULL};
	int rc = tt_run(argv1, NULL, &out, &err, 20);
	cr_expect_neq(rc, 0);
	cr_expect_null(strstr(err ? err : "", pw), "mlwatch error shows the password: %s", err);
	cr_expect_not_null(strstr(err ? err : "", "***"), "%s", err);
	free(out);
	free(err);
	char *argv2[] = {dbin, "--db", bad, "--listen", "tcp://127.0.0.1:1", "--http", "off", NULL};
	rc = tt_run(argv2, NULL, &out, &err, 20);
	cr_expect_eq(rc, 1, "mlwatchd with a wrong password: exit %d", rc);
	cr_expect_null(strstr(out ? out : "", pw));
	cr_expect_null(strstr(err ? err : "", pw), "mlwatchd error shows the password: %s", err);
	free(out);
	free(err);
	char *argv3[] = {bin, "--db", pg.uri, "--help", NULL};
	tt_run(argv3, NULL, &out, &err, 20);
	cr_expect_null(strstr(out ? out : "", pw));
	cr_expect_null(strstr(err ? err : "", pw));
	free(out);
	free(err);
	char *argv4[] = {dbin, "--db", pg.uri, "--help", NULL};
	tt_run(argv4, NULL, &out, &err, 20);
	cr_expect_null(strstr(out ? out : "", pw));
	cr_expect_null(strstr(err ? err : "", pw));
	free(out);
	free(err);

	cproc_stop(&c, SIGTERM);
	char *log = h_read_file(c.log, NULL);
	cr_assert_not_null(log);
	cr_expect_not_null(strstr(log, "db=postgresql://mlwatch:***@"), "%s", log);
	cr_expect_null(strstr(log, pw), "the collector log shows the password");
	free(log);
	free(bin);
	free(dbin);
	cproc_cleanup(&c);
	pg_cluster_destroy(&pg);
}

/* The server comes back once mlwatchd said it waits for it (in a thread:
 * mlwatchd itself is started by the test's thread, as its children die
 * with the thread that started them). */
struct bg_server {
	struct pg_cluster *pg;
	const char *log;
	bool saw_line;
	int rc;
	char why[512];
};

static void *bg_server_run(void *arg)
{
	struct bg_server *b = arg;
	b->saw_line = h_wait_log(b->log, "postgresql unreachable", 10);
	b->rc = pg_cluster_server_start(b->pg, b->why, sizeof(b->why));
	return NULL;
}

/* PostgreSQL down when mlwatchd starts: one clear line, retries with
 * backoff, and it comes up (and stores) once the server is back. */
Test(store_pg, postgresql_down_at_start_is_waited_for, .timeout = 90)
{
	struct pg_cluster pg = {0};
	struct cproc c;
	struct bg_server b = {&pg, c.log, false, -1, ""};
	pthread_t th;
	char why[512];
	long long n = -1;

	PG_CLUSTER_START_OR_SKIP(&pg);
	cproc_init(&c, "pg-down");
	snprintf(c.db, sizeof(c.db), "%.500s", pg.uri);
	cr_assert_eq(pg_cluster_server_stop(&pg, "fast", why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(pthread_create(&th, NULL, bg_server_run, &b), 0);
	int up = cproc_start(&c, NULL);
	pthread_join(th, NULL);
	cr_expect(b.saw_line, "no line about the server being down in %s", c.log);
	cr_assert_eq(b.rc, 0, "%s", b.why);
	cr_assert_eq(up, 0, "mlwatchd did not come up after the server did, see %s", c.log);

	struct wc_batch wb;
	wc_batch_init(&wb, "late-db", 1, NULL);
	wc_batch_event(&wb, "m", "x1", clock_now() - 1, 3, false, NULL, 0, wc_num(1), -1,
	               wc_none());
	send_ok(c.url, &wb);
	wc_batch_free(&wb);
	cr_assert_eq(
	    pg_cluster_query_ll(&pg, NULL, "SELECT count(*) FROM events", &n, why, sizeof(why)), 0,
	    "%s", why);
	cr_expect_eq(n, 1);
	char *log = h_read_file(c.log, NULL);
	cr_expect_null(strstr(log ? log : "", pg.password));
	free(log);
	cproc_cleanup(&c);
	pg_cluster_destroy(&pg);
}

/* One batch of n events of agent `agent`, sequence seq; true when the
 * collector stored it (false on a refusal or a timeout: resend). */
static bool try_send(const char *url, const char *agent, uint64_t seq, int n)
{
	struct wc_batch wb;
	struct wc_client *cl;
	struct wire_reply r;
	uint8_t *buf;
	size_t len;
	char err[256];
	bool ok = false;

	wc_batch_init(&wb, agent, seq, NULL);
	for (int i = 0; i < n; i++) {
		char id[32];
		snprintf(id, sizeof(id), "%s-%llu-%d", agent, (unsigned long long)seq, i);
		wc_batch_event(&wb, "m", id, clock_now() - 1, 4.0, false, NULL, 0, wc_num(1), -1,
		               wc_none());
	}
	if (wc_batch_encode(&wb, &buf, &len) == 0) {
		if (wc_open(&cl, url, NULL, 5 * cproc_slow(), err, sizeof(err)) == 0) {
			ok = wc_request(cl, buf, len, &r, err, sizeof(err)) == 0 &&
			     r.status == WIRE_OK;
			wc_close(cl);
		}
		free(buf);
	}
	wc_batch_free(&wb);
	return ok;
}

/* PostgreSQL restarted mid-stream: the collector reconnects, the batches
 * refused meanwhile are resent and stored, none lost or twice. */
Test(store_pg, postgresql_restarted_mid_stream_loses_nothing, .timeout = 120)
{
	struct pg_cluster pg = {0};
	struct cproc c;
	char why[512];
	long long n = -1;
	uint64_t seq = 0;

	PG_CLUSTER_START_OR_SKIP(&pg);
	cproc_init(&c, "pg-restart");
	snprintf(c.db, sizeof(c.db), "%.500s", pg.uri);
	cr_assert_eq(cproc_start(&c, NULL), 0, "see %s", c.log);
	for (int k = 0; k < 5; k++)
		cr_assert(try_send(c.url, "ag", ++seq, 100), "batch %llu", (unsigned long long)seq);
	cr_assert_eq(pg_cluster_server_stop(&pg, "fast", why, sizeof(why)), 0, "%s", why);
	/* refused while the server is down: the agent keeps it and resends */
	cr_expect(!try_send(c.url, "ag", seq + 1, 100), "stored with the server down?");
	cr_assert_eq(pg_cluster_server_start(&pg, why, sizeof(why)), 0, "%s", why);
	seq++;
	double end = h_now() + 20 * cproc_slow();
	bool stored = false;
	while (!stored && h_now() < end)
		if (!(stored = try_send(c.url, "ag", seq, 100)))
			h_sleep(0.2);
	cr_assert(stored, "the resent batch was never stored, see %s", c.log);
	for (int k = 0; k < 4; k++)
		cr_assert(try_send(c.url, "ag", ++seq, 100), "batch %llu after the restart",
		          (unsigned long long)seq);
	cr_assert_eq(pg_cluster_query_ll(&pg, NULL, "SELECT count(DISTINCT req_id) FROM events", &n,
	                                 why, sizeof(why)),
	             0, "%s", why);
	cr_expect_eq(n, 1000, "distinct events %lld", n);
	cr_assert_eq(
	    pg_cluster_query_ll(&pg, NULL, "SELECT count(*) FROM events", &n, why, sizeof(why)), 0,
	    "%s", why);
	cr_expect_eq(n, 1000, "events %lld", n);
	cproc_cleanup(&c);
	pg_cluster_destroy(&pg);
}

/* The store's SQL dialect on PostgreSQL through the statement API: a NULL
 * the server cannot type ("?1 IS NULL OR name = ?1", SQLSTATE 42P08), a
 * parameter that changes type between runs, RETURNING, bytea both ways,
 * a unique violation as DB_CONSTRAINT. */
Test(store_pg, the_statement_api_on_postgresql, .timeout = 60)
{
	struct pg_cluster pg = {0};
	struct store st;
	struct db_stmt *s = NULL;
	char err[512];
	int64_t id = 0;
	const char *args[1] = {NULL};

	PG_CLUSTER_START_OR_SKIP(&pg);
	cr_assert_eq(store_open(&st, pg.uri, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s",
	             err);
	cJSON *rows = store_rows_json(&st,
	                              "SELECT count(*) AS n FROM models WHERE "
	                              "(?1 IS NULL OR name = ?1)",
	                              args, 1, err, sizeof(err));
	cr_assert_not_null(rows, "untyped NULL: %s", err);
	cr_expect_eq(cJSON_GetArraySize(rows), 1);
	cJSON_Delete(rows);

	cr_assert_eq(db_prepare(st.db,
	                        "INSERT INTO models (name, created) VALUES (?1, ?2) "
	                        "RETURNING id",
	                        &s),
	             DB_OK, "%s", store_errmsg(&st));
	db_bind_text(s, 1, "a", -1);
	db_bind_int64(s, 2, 5); /* an integer first, then a real: prepared again */
	cr_assert_eq(db_insert_id(s, &id), DB_OK, "%s", store_errmsg(&st));
	cr_expect_gt(id, 0);
	db_clear_bindings(s);
	db_bind_text(s, 1, "b", -1);
	db_bind_double(s, 2, 5.25);
	cr_assert_eq(db_insert_id(s, &id), DB_OK, "%s", store_errmsg(&st));
	db_clear_bindings(s);
	db_bind_text(s, 1, "b", -1);
	db_bind_double(s, 2, 1);
	cr_expect_eq(db_insert_id(s, &id), DB_CONSTRAINT, "a duplicate name: %s",
	             store_errmsg(&st));
	db_finalize(s);

	static const unsigned char blob[] = {0, 1, 2, 255, 0, 92, 39};
	cr_assert_eq(db_prepare(st.db,
	                        "INSERT INTO calibration (model_id, profile, n, created) "
	                        "VALUES (?1, ?2, 1, 0)",
	                        &s),
	             DB_OK);
	db_bind_int64(s, 1, id);
	db_bind_blob(s, 2, blob, (int)sizeof(blob));
	cr_assert_eq(db_step(s), DB_DONE, "%s", store_errmsg(&st));
	db_finalize(s);
	cr_assert_eq(
	    db_prepare(st.db, "SELECT profile, created FROM calibration WHERE model_id = ?1", &s),
	    DB_OK);
	db_bind_int64(s, 1, id);
	cr_assert_eq(db_step(s), DB_ROW, "%s", store_errmsg(&st));
	cr_expect_eq(db_column_type(s, 0), DB_BLOB);
	cr_assert_eq(db_column_bytes(s, 0), (int)sizeof(blob));
	cr_expect_eq(memcmp(db_column_blob(s, 0), blob, sizeof(blob)), 0);
	cr_expect_eq(db_column_type(s, 1), DB_FLOAT);
	cr_expect_eq(db_step(s), DB_DONE);
	db_finalize(s);
	store_close(&st);
	pg_cluster_destroy(&pg);
}

static int seg_ref_count(const char *key, const char *segment, const char *feature, int kind,
                         uint64_t n, uint64_t rows, const uint8_t *profile, size_t len, void *arg)
{
	(*(int *)arg)++;
	cr_expect_str_eq(key, "country");
	cr_expect_eq(len, 3);
	cr_expect_eq(profile[2], 255);
	return 0;
}

static int seg_drift_row(const char *segment, const struct sq_drift *d, void *arg)
{
	(*(int *)arg)++;
	cr_expect_str_eq(segment, "DE");
	cr_expect_float_eq(d->severity, 2.5, 1e-12);
	cr_expect_eq(d->drifted, 1);
	return 0;
}

static void seg_alert_row(void *arg, const char *feature, const char *segment, double value,
                          int64_t start)
{
	(*(int *)arg)++;
	cr_expect_str_eq(feature, "amount");
}

static int seg_worst_row(const char *segment, double severity, bool drifted, int64_t n, void *arg)
{
	if ((*(int *)arg)++ == 0)
		cr_expect_str_eq(segment, "DE"); /* the worst first */
	return 0;
}

static int seg_window_row(int64_t start, const struct store_seg_window *w, void *arg)
{
	(*(int *)arg)++;
	cr_expect_eq(w->events, 200);
	cr_expect_float_eq(w->p50, 50, 1e-12);
	return 0;
}

/* The segment tables' SQL (issue 17, schema v7) as PostgreSQL runs it:
 * untyped NULL filters, blobs, the alert and drill-down queries. */
Test(store_pg, segment_tables_on_postgresql, .timeout = 60)
{
	struct pg_cluster pg = {0};
	struct store st;
	char err[512];
	static const uint8_t prof[] = {1, 0, 255};
	struct store_drift_row dr[2] = {
	    {.feature = "amount",
	     .kind = 1,
	     .n = 200,
	     .has_ref = true,
	     .n_ref = 2000,
	     .numeric = true,
	     .method = "wasserstein",
	     .score = 0.5,
	     .threshold = 0.2,
	     .severity = 2.5,
	     .drifted = true},
	    {.feature = "amount",
	     .kind = 1,
	     .n = 300,
	     .has_ref = true,
	     .n_ref = 3000,
	     .numeric = true,
	     .method = "wasserstein",
	     .score = 0.1,
	     .threshold = 0.2,
	     .severity = 0.5},
	};
	struct store_seg_window w[2] = {
	    {.segment = "DE",
	     .events = 200,
	     .has_latency = true,
	     .p50 = 50,
	     .p90 = 60,
	     .p95 = 70,
	     .p99 = 80,
	     .drift = &dr[0],
	     .ndrift = 1},
	    {.segment = "FR",
	     .events = 300,
	     .has_accuracy = true,
	     .accuracy = 1,
	     .drift = &dr[1],
	     .ndrift = 1},
	};
	int64_t id = 0;
	int n;

	PG_CLUSTER_START_OR_SKIP(&pg);
	cr_assert_eq(store_open(&st, pg.uri, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s",
	             err);
	struct store_ingest *si = store_ingest_new(&st);
	cr_assert(si);
	cr_assert_eq(store_begin(&st), 0);
	cr_assert_eq(store_ingest_model(si, "pay", 1, &id), 0, "%s", store_errmsg(&st));
	cr_assert_eq(store_seg_ref_clear(&st, id), 0, "%s", store_errmsg(&st));
	cr_assert_eq(store_seg_ref_put(&st, id, "country", "DE", "amount", 1, 2000, 2000, prof, 3),
	             0, "%s", store_errmsg(&st));
	cr_assert_eq(store_seg_write(&st, id, 600, "country", w, 2), 0, "%s", store_errmsg(&st));
	cr_assert_eq(store_seg_write(&st, id, 600, "country", w, 2), 0, "rewritten: %s",
	             store_errmsg(&st));
	cr_assert_eq(store_commit(&st), 0);

	n = 0;
	cr_assert_eq(store_seg_ref_each(&st, id, seg_ref_count, &n), 0, "%s", store_errmsg(&st));
	cr_expect_eq(n, 1);
	n = 0;
	cr_assert_eq(
	    store_seg_drift_each(&st, id, 0, 1e10, "country", "DE", NULL, 60, seg_drift_row, &n), 0,
	    "%s", store_errmsg(&st));
	cr_expect_eq(n, 1);
	n = 0;
	cr_assert_eq(store_seg_alert_drift(&st, "pay", "severity", "amount", "country", NULL, 600,
	                                   100, seg_alert_row, &n),
	             0, "%s", store_errmsg(&st));
	cr_expect_eq(n, 2);
	n = 0;
	cr_assert_eq(store_seg_feature_worst(&st, id, "amount", 0, 1e10, seg_worst_row, &n), 0,
	             "%s", store_errmsg(&st));
	cr_expect_eq(n, 2);
	n = 0;
	cr_assert_eq(store_seg_windows_each(&st, id, 0, 1e10, "country", "DE", seg_window_row, &n),
	             0, "%s", store_errmsg(&st));
	cr_expect_eq(n, 1);
	store_ingest_free(si);
	store_close(&st);
	pg_cluster_destroy(&pg);
}

/* Several mlwatchd started together on an empty database (the README's
 * two-collector recipe does that): each store_open migrates, and exactly
 * one runs each migration. A backend that waited for the migration lock
 * inside its transaction kept its catalog caches from before the wait, saw
 * no schema and ran the first migration again ("function total already
 * exists"): one collector of three failed to start in about one try of six. */
struct opener {
	const char *uri;
	pthread_barrier_t *go;
	int rc;
	char err[512];
};

static void *opener_main(void *arg)
{
	struct opener *o = arg;
	struct store st;

	pthread_barrier_wait(o->go);
	o->rc = store_open(&st, o->uri, STORE_RW_CREATE, false, o->err, sizeof(o->err));
	if (o->rc == 0)
		store_close(&st);
	return NULL;
}

Test(store_pg, stores_opened_together_on_an_empty_database_migrate_once, .timeout = 90)
{
	enum { ROUNDS = 6, OPENERS = 4 };
	struct pg_cluster pg = {0};
	char why[512];

	PG_CLUSTER_START_OR_SKIP(&pg);
	for (int r = 0; r < ROUNDS; r++) {
		char name[32], uri[600], sql[96];
		struct opener o[OPENERS];
		pthread_t th[OPENERS];
		pthread_barrier_t go;
		long long version = -1;

		snprintf(name, sizeof(name), "race%d", r);
		cr_assert_eq(pg_cluster_createdb(&pg, name, uri, sizeof(uri), why, sizeof(why)), 0,
		             "%s", why);
		pthread_barrier_init(&go, NULL, OPENERS);
		for (int i = 0; i < OPENERS; i++) {
			o[i] = (struct opener){.uri = uri, .go = &go, .rc = -1};
			cr_assert_eq(pthread_create(&th[i], NULL, opener_main, &o[i]), 0);
		}
		for (int i = 0; i < OPENERS; i++)
			pthread_join(th[i], NULL);
		pthread_barrier_destroy(&go);
		for (int i = 0; i < OPENERS; i++)
			cr_assert_eq(o[i].rc, 0, "round %d, opener %d: %s", r, i, o[i].err);
		snprintf(sql, sizeof(sql),
		         "SELECT value::bigint FROM meta WHERE key = 'schema_version'");
		cr_assert_eq(pg_cluster_query_ll(&pg, name, sql, &version, why, sizeof(why)), 0,
		             "%s", why);
		cr_assert_eq(version, STORE_SCHEMA_VERSION);
	}
	pg_cluster_destroy(&pg);
}

/* The dashboard's and the subcommands' range queries bind time bounds of
 * integer window columns (windows.start, "end", drift.start, accuracy.start,
 * events.window_start). Bound as float8, PostgreSQL compared them by
 * casting the column — (start)::double precision — so the (model_id, start)
 * keys served model_id alone and every row of the model was read: 60-75 ms
 * per dashboard view on a 1,000,000-event store instead of under 1 ms.
 * auto_explain logs the plan of every statement of role mlwatch; no plan
 * may cast one of those columns. */
Test(store_pg, range_queries_compare_integer_window_columns_as_integers, .timeout = 120)
{
	struct pg_cluster pg = {0};
	struct dbgen_opts o = {
	    .models = 2, .features = 3, .windows = 90, .events_per_window = 4, .open_window = true};
	char *dir = h_tmpdir("pg-plans"), sq[600], now_env[64], why[512], err[512];

	PG_CLUSTER_START_OR_SKIP(&pg);
	snprintf(sq, sizeof(sq), "%s/gen.db", dir);
	dbgen_defaults(&o, &o);
	cr_assert_eq(dbgen_fill(sq, &o, err, sizeof(err)), 0, "%s", err);
	snprintf(now_env, sizeof(now_env), "MLWATCH_NOW=%.3f", o.now - 1800);
	free(mlwatch(pg.uri, now_env,
	             (const char *[]){"migrate", "--from", sq, "--to", pg.uri, NULL}));
	cr_assert_eq(pg_cluster_exec(&pg, "postgres",
	                             "ALTER ROLE mlwatch SET session_preload_libraries = "
	                             "'auto_explain';"
	                             "ALTER ROLE mlwatch SET auto_explain.log_min_duration = 0",
	                             why, sizeof(why)),
	             0, "%s", why);

	/* Half an hour before the newest window: ranges fall inside the data. */
	static const char *const cmds[][7] = {
	    {"status", NULL},
	    {"latency", "--model", "fraud", "--since", "1h", NULL},
	    {"drift", "--model", "fraud", "--since", "1h", NULL},
	    {"accuracy", "--model", "fraud", "--since", "1h", NULL},
	    {"export", "--model", "fraud", "--since", "20m", "--json", NULL},
	};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		free(mlwatch(pg.uri, now_env, cmds[i]));
	{
		char *bin = h_bin("mlwatch"), *out = NULL, *e = NULL;
		char *argv[] = {bin, "--db", pg.uri, "--range", "1h", "--bench-frames", "2", NULL};
		char *env[] = {now_env, "MLWATCH_BENCH_SIZE=120x40", "TERM=xterm-256color",
		               "LC_ALL=C.UTF-8", NULL};
		int rc = tt_run(argv, env, &out, &e, 60);
		cr_assert_eq(rc, 0, "dashboard --bench-frames: %s", e ? e : "");
		free(out);
		free(e);
		free(bin);
	}

	char logp[600];
	snprintf(logp, sizeof(logp), "%s/server.log", pg.dir);
	char *log = h_read_file(logp, NULL);
	cr_assert_not_null(log, "%s", logp);
	cr_assert(strstr(log, "FROM drift d") && strstr(log, "FROM windows w"),
	          "auto_explain logged the dashboard's plans");
	/* and no statement was refused (an untyped NULL parameter in
	 * "?3 IS NULL OR attribute = ?3" failed the Accuracy view's fairness
	 * query at every refresh) */
	const char *err_line = strstr(log, "ERROR:");
	cr_assert_null(err_line, "the server refused a statement:\n%.600s", err_line);
	static const char *const casts[] = {"(start)::double precision",
	                                    "(\"end\")::double precision",
	                                    "(window_start)::double precision"};
	for (size_t i = 0; i < 3; i++) {
		const char *hit = strstr(log, casts[i]);
		/* the statement that cast it, for the failure message */
		const char *q = hit;
		while (q && q > log && strncmp(q, "Query Text:", 11) != 0)
			q--;
		cr_assert_null(hit, "a plan casts %s:\n%.600s", casts[i], q ? q : "");
	}
	free(log);
	h_rmtree(dir);
	free(dir);
	pg_cluster_destroy(&pg);
}
