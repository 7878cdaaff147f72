/* One mlwatchd per store (issue 13, finding 1 and acceptance 2), and the
 * start-up refusals that must leave nothing behind (finding 16):
 *   - a second mlwatchd on the same database refuses with the holder's pid;
 *   - with --standby it waits, and when the first is killed with -9 while an
 *     alert is pending it takes over within 2 s and the breach reaches a real
 *     receiver exactly once (the takeover time is printed);
 *   - a busy port leaves no database file;
 *   - an [alert] without receivers is warned about;
 *   - a repeated (model, id) is stored once and counted (finding 13);
 *   - webhook-listen on a busy port prints one clear error (finding 16);
 *   - notification links lead to the alert page, HTML and JSON (finding 5);
 *   - traffic stopping marks a firing alert nodata instead of resolving it
 *     (finding 4);
 *   - webhook-listen refuses a replayed signature (finding 6). */
#include <criterion/criterion.h>
#include <cJSON.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "collector_proc.h"
#include "harness.h"
#include "http_sink.h"
#include "payload.h"
#include "wire_client.h"
#include "slow_traffic.h"

static char *write_conf(struct cproc *c, const char *body)
{
	char *path;
	cr_assert(asprintf(&path, "%s/mlwatch.conf", c->dir) > 0);
	cr_assert_eq(h_write_file(path, body, strlen(body)), 0);
	return path;
}

static bool wait_sql(const char *db, const char *sql, int64_t want, double timeout_s)
{
	double end = h_now() + timeout_s * cproc_slow();
	while (h_now() < end) {
		if (db_int(db, sql) >= want)
			return true;
		h_sleep(0.02);
	}
	return false;
}

static size_t count_firing(struct http_sink *s)
{
	size_t n = 0, total = sink_count(s);
	for (size_t i = 0; i < total; i++)
		if (strstr(sink_request(s, i)->body, "\"status\":\"firing\""))
			n++;
	return n;
}

Test(ha, second_refuses_standby_takes_over_after_kill9_and_pages_once)
{
	struct cproc c, other, standby;
	struct slow_traffic t = {0};
	struct http_sink *s = sink_start(0);
	char *u = sink_url(s, "/"), conf[1024], want[700], http[64];

	cproc_init(&c, "ha");
	snprintf(conf, sizeof(conf),
	         "[alert slow]\nmodel = fraud\nexpr = p99_latency_ms > 250 over 10s\nfor = 4s\n"
	         "severity = page\nreceivers = hook\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         u);
	char *cf = write_conf(&c, conf);
	const char *extra[] = {"--config", cf, NULL};
	cr_assert_eq(cproc_start(&c, extra), 0, "see %s", c.log);

	/* A second one, on other ports: refused, naming the holder. */
	other = c;
	snprintf(other.log, sizeof(other.log), "%s/second.log", c.dir);
	snprintf(http, sizeof(http), "127.0.0.1:%d", h_free_port());
	char listen2[64];
	snprintf(listen2, sizeof(listen2), "tcp://127.0.0.1:%d", h_free_port());
	const char *second[] = {"--db", c.db,       "--listen", listen2, "--http",
	                        http,   "--config", cf,         NULL};
	cr_assert_neq(cproc_run(&other, second, 10), 0, "a second mlwatchd must refuse");
	snprintf(want, sizeof(want), "mlwatchd: error: %s is in use by mlwatchd pid %ld\n", c.db,
	         (long)c.p.pid);
	char *out = h_read_file(other.log, NULL);
	cr_assert(out && strcmp(out, want) == 0, "got '%s', want '%s'", out ? out : "", want);
	free(out);

	/* The standby, on the same ports as the first (it binds them only when
	 * it takes over). */
	standby = c;
	snprintf(standby.log, sizeof(standby.log), "%s/standby.log", c.dir);
	snprintf(http, sizeof(http), "127.0.0.1:%d", c.http_port);
	const char *sargv[] = {"--db", c.db,       "--listen", c.url,       "--http",
	                       http,   "--config", cf,         "--standby", NULL};
	{
		char *argv[16];
		int n = 0;
		argv[n++] = h_bin("mlwatchd");
		for (int i = 0; sargv[i]; i++)
			argv[n++] = (char *)sargv[i];
		argv[n] = NULL;
		cr_assert_eq(h_spawn(&standby.p, argv, standby.log, NULL), 0);
		free(argv[0]);
	}
	standby.running = true;
	cr_assert(h_wait_log(standby.log, "waiting to take over", 10 * cproc_slow()), "see %s",
	          standby.log);

	/* A breach: pending (for = 4s), then the leader dies. */
	snprintf(t.url, sizeof(t.url), "%s", c.url);
	cr_assert_eq(pthread_create(&t.th, NULL, slow_traffic_main, &t), 0);
	cr_assert(wait_sql(c.db, "SELECT count(*) FROM alerts WHERE state = 'pending'", 1, 10),
	          "the alert is pending; see %s", c.log);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM alerts WHERE state = 'firing'"), 0);
	double killed = h_now();
	cr_assert_eq(cproc_stop(&c, SIGKILL), 128 + SIGKILL);
	cr_assert(h_wait_log(standby.log, " listening ", 2.0 * cproc_slow()),
	          "the standby took over within 2 s; see %s", standby.log);
	double takeover = h_now() - killed;
	fprintf(stderr, "ha: takeover %.3f s after kill -9\n", takeover);
	cr_assert(takeover < 2.0 * cproc_slow(), "takeover took %.3f s", takeover);

	/* The pending alert fires from the stored ActiveAt, exactly once. */
	cr_assert(sink_wait(s, 1, 10 * cproc_slow()), "the breach was delivered; see %s",
	          standby.log);
	uint64_t sent_then = atomic_load(&t.sent);
	h_sleep(2.0);
	cr_assert(atomic_load(&t.sent) > sent_then, "agents' traffic reaches the new leader");
	cr_assert_eq(count_firing(s), 1, "delivered exactly once");
	cr_assert_eq(sink_count(s), 1);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM alerts"), 1, "one alert record");
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM alerts WHERE state = 'firing'"), 1);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM outbox WHERE kind = 'firing'"), 1);

	atomic_store(&t.stop, true);
	pthread_join(t.th, NULL);
	cr_assert_eq(cproc_stop(&standby, SIGTERM), 0);
	sink_stop(s);
	cproc_cleanup(&c);
	free(u), free(cf);
}

Test(ha, standby_stops_cleanly_on_sigterm_while_waiting)
{
	struct cproc c, standby;
	char http[64];

	cproc_init(&c, "ha-term");
	cr_assert_eq(cproc_start(&c, NULL), 0, "see %s", c.log);
	standby = c;
	snprintf(standby.log, sizeof(standby.log), "%s/standby.log", c.dir);
	snprintf(http, sizeof(http), "127.0.0.1:%d", c.http_port);
	char *argv[] = {h_bin("mlwatchd"), "--db", c.db,        "--listen", c.url,
	                "--http",          http,   "--standby", NULL};
	cr_assert_eq(h_spawn(&standby.p, argv, standby.log, NULL), 0);
	free(argv[0]);
	standby.running = true;
	cr_assert(h_wait_log(standby.log, "waiting to take over", 10 * cproc_slow()));
	cr_assert_eq(cproc_stop(&standby, SIGTERM), 0);
	cr_assert(h_wait_log(standby.log, "stopped while on standby", 1));
	cr_assert(h_alive(&c.p), "the leader is untouched");
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
}

/* A socket bound to a free port of 127.0.0.1, listening; its port in *port. */
static int busy_port(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	cr_assert(fd >= 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(listen(fd, 1), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

Test(ha, busy_port_leaves_no_database)
{
	struct cproc c;
	char http[64], listen_url[64];
	int port, fd = busy_port(&port);

	cproc_init(&c, "ha-busy");
	/* The HTTP port busy. */
	snprintf(http, sizeof(http), "127.0.0.1:%d", port);
	const char *a1[] = {"--db", c.db, "--listen", c.url, "--http", http, NULL};
	cr_assert_neq(cproc_run(&c, a1, 10), 0);
	cr_assert_neq(access(c.db, F_OK), 0, "no database after a refused start");
	/* The agents' port busy. */
	snprintf(listen_url, sizeof(listen_url), "tcp://127.0.0.1:%d", port);
	snprintf(http, sizeof(http), "127.0.0.1:%d", c.http_port);
	const char *a2[] = {"--db", c.db, "--listen", listen_url, "--http", http, NULL};
	cr_assert_neq(cproc_run(&c, a2, 10), 0);
	cr_assert(h_wait_log(c.log, "Address in use", 1), "see %s", c.log);
	cr_assert_neq(access(c.db, F_OK), 0, "no database after a refused start");
	char lock[600];
	snprintf(lock, sizeof(lock), "%s.lock", c.db);
	cr_assert_neq(access(lock, F_OK), 0, "no lock file either");
	close(fd);
	cproc_cleanup(&c);
}

/* Sends one batch (seq) with the events "dup" at ts and ts+1 of model
 * fraud, and a late label for it in a second batch. */
static void send_dups(const char *url)
{
	struct wc_client *cl = NULL;
	char err[256];
	double now = clock_now();

	cr_assert_eq(wc_open(&cl, url, NULL, 5.0, err, sizeof(err)), 0, "%s", err);
	for (uint64_t seq = 1; seq <= 3; seq++) {
		struct wc_batch wb;
		struct wire_reply r;
		uint8_t *buf = NULL;
		size_t len;
		wc_batch_init(&wb, "dup-test", seq, NULL);
		if (seq == 1) {
			cr_assert_eq(wc_batch_event(&wb, "fraud", "dup", now, 5, false, NULL, 0,
			                            wc_str("fraud"), 0.9, wc_none()),
			             0);
			cr_assert_eq(wc_batch_event(&wb, "fraud", "dup", now + 1, 6, false, NULL, 0,
			                            wc_str("legit"), 0.2, wc_none()),
			             0);
			cr_assert_eq(wc_batch_event(&wb, "fraud", "other", now, 7, false, NULL, 0,
			                            wc_str("legit"), 0.1, wc_none()),
			             0);
		} else if (seq == 2) {
			/* A resend of the event under a new batch: still the same id. */
			cr_assert_eq(wc_batch_event(&wb, "fraud", "dup", now + 2, 8, false, NULL, 0,
			                            wc_str("legit"), 0.3, wc_none()),
			             0);
		} else {
			cr_assert_eq(wc_batch_label(&wb, "fraud", "dup", wc_str("fraud"), now + 3),
			             0);
		}
		cr_assert_eq(wc_batch_encode(&wb, &buf, &len), 0);
		cr_assert_eq(wc_request(cl, buf, len, &r, err, sizeof(err)), 0, "%s", err);
		cr_assert_eq(r.status, WIRE_OK);
		free(buf);
		wc_batch_free(&wb);
	}
	wc_close(cl);
}

Test(ha, repeated_model_id_is_kept_once_and_counted)
{
	struct cproc c;
	long status = 0;

	cproc_init(&c, "dup-id");
	cr_assert_eq(cproc_start(&c, NULL), 0, "see %s", c.log);
	send_dups(c.url);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events WHERE req_id = 'dup'"), 1,
	             "kept once");
	char pred[64];
	cr_assert_eq(
	    db_text(c.db, "SELECT pred_str FROM events WHERE req_id = 'dup'", pred, sizeof(pred)),
	    0);
	cr_assert_str_eq(pred, "fraud", "the first is kept");
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events WHERE req_id = 'dup' AND "
	                          "label_str = 'fraud'"),
	             1, "the label joins one event");
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events WHERE req_id = 'other'"), 1);
	char murl[128];
	snprintf(murl, sizeof(murl), "%smetrics", c.http);
	char *page = http_get(murl, &status);
	cr_assert(page && status == 200);
	cr_assert_eq(metrics_value(page, "mlwatch_collector_duplicate_events_total"), 2, "%s",
	             page);
	cr_assert_eq(metrics_value(page, "mlwatch_collector_events_total"), 2);
	free(page);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
}

Test(ha, alert_without_receivers_is_warned_about)
{
	struct cproc c;

	cproc_init(&c, "no-rx");
	char *cf = write_conf(&c, "[alert lonely]\nmodel = fraud\nexpr = rps > 1 over 2s\n");
	const char *extra[] = {"--config", cf, NULL};
	cr_assert_eq(cproc_start(&c, extra), 0, "see %s", c.log);
	cr_assert(h_wait_log(c.log, "rule has no receivers, it will notify nobody rule=lonely", 5),
	          "see %s", c.log);
	cr_assert(h_wait_log(c.log, "line=1", 1));
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
	free(cf);
}

Test(ha, webhook_listen_on_a_busy_port_says_so_once)
{
	int port, fd = busy_port(&port);
	char *dir = h_tmpdir("wl-busy"), log[600], addr[64];
	char *mlwatch = h_bin("mlwatch");
	struct h_proc p;

	snprintf(log, sizeof(log), "%s/out.log", dir);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	char *argv[] = {mlwatch, "webhook-listen", "--listen", addr, NULL};
	cr_assert_eq(h_spawn(&p, argv, log, NULL), 0);
	double end = h_now() + 10 * cproc_slow();
	while (h_alive(&p) && h_now() < end)
		h_sleep(0.02);
	cr_assert(!h_alive(&p), "it exits");
	char *out = h_read_file(log, NULL), want[200];
	snprintf(want, sizeof(want),
	         "mlwatch: error: --listen: cannot listen on %s: Address already in use\n", addr);
	cr_assert(out && strcmp(out, want) == 0, "got '%s'", out ? out : "");
	free(out);
	close(fd);
	h_rmtree(dir);
	free(dir), free(mlwatch);
}

/* The link of a delivered notification, without external_url. */
static char *generator_url(const struct sink_request *r)
{
	cJSON *root = cJSON_Parse(r->body), *a0;
	char *u = NULL;
	cr_assert(root, "body: %s", r->body);
	a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "alerts"), 0);
	cr_assert(cJSON_IsString(cJSON_GetObjectItem(a0, "generatorURL")));
	u = strdup(cJSON_GetObjectItem(a0, "generatorURL")->valuestring);
	cJSON_Delete(root);
	return u;
}

Test(ha, notification_links_lead_to_the_alert_page)
{
	struct cproc c;
	struct slow_traffic t = {0};
	struct http_sink *s = sink_start(0);
	char *u = sink_url(s, "/"), conf[1024], want[128];
	long status = 0;

	cproc_init(&c, "links");
	snprintf(conf, sizeof(conf),
	         "[alert slow.p99]\nmodel = fraud\nexpr = p99_latency_ms > 250 over 2s\n"
	         "severity = page\nreceivers = hook\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         u);
	char *cf = write_conf(&c, conf);
	const char *extra[] = {"--config", cf, NULL};
	cr_assert_eq(cproc_start(&c, extra), 0, "see %s", c.log);
	snprintf(t.url, sizeof(t.url), "%s", c.url);
	cr_assert_eq(pthread_create(&t.th, NULL, slow_traffic_main, &t), 0);
	cr_assert(sink_wait(s, 1, 10 * cproc_slow()), "see %s", c.log);
	atomic_store(&t.stop, true);
	pthread_join(t.th, NULL);

	/* Without external_url the link is http:// and the --http address, as
	 * mlwatch.conf(5) says, and it leads somewhere. */
	char *link = generator_url(sink_request(s, 0));
	snprintf(want, sizeof(want), "http://127.0.0.1:%d/alerts?rule=slow.p99&model=fraud",
	         c.http_port);
	cr_assert_str_eq(link, want);
	char *page = http_get(link, &status);
	cr_assert_eq(status, 200, "%s", page ? page : "");
	cr_assert(strstr(page, "<h1>Alert slow.p99 on fraud</h1>"), "%s", page);
	cr_assert(strstr(page, "p99_latency_ms &gt; 250 over 2s"), "the rule, escaped: %s", page);
	cr_assert(strstr(page, "<td>firing</td>"), "the state: %s", page);
	cr_assert(strstr(page, "<h2>notifications</h2>") && strstr(page, "<td>hook</td>"), "%s",
	          page);
	free(page);

	/* The same as JSON. */
	char jurl[700];
	snprintf(jurl, sizeof(jurl), "%s&format=json", link);
	page = http_get(jurl, &status);
	cr_assert_eq(status, 200);
	cJSON *doc = cJSON_Parse(page);
	cr_assert(doc, "%s", page);
	cr_assert_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "rule"), "expr")->valuestring,
	                 "p99_latency_ms > 250 over 2s");
	cJSON *h0 = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "history"), 0);
	cr_assert_str_eq(cJSON_GetObjectItem(h0, "state")->valuestring, "firing");
	cr_assert(cJSON_GetObjectItem(h0, "value")->valuedouble > 250);
	cr_assert_eq(cJSON_GetArraySize(cJSON_GetObjectItem(doc, "notifications")), 1);
	cJSON_Delete(doc);
	free(page);

	/* The list, and an unknown rule. */
	snprintf(jurl, sizeof(jurl), "%salerts?format=json", c.http);
	page = http_get(jurl, &status);
	cr_assert_eq(status, 200);
	cr_assert(strstr(page, "\"rule\":\"slow.p99\""), "%s", page);
	free(page);
	snprintf(jurl, sizeof(jurl), "%salerts?rule=nope&model=fraud", c.http);
	page = http_get(jurl, &status);
	cr_assert_eq(status, 404);
	cr_assert(page && strstr(page, "no rule 'nope'"), "%s", page ? page : "");
	free(page);

	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	sink_stop(s);
	cproc_cleanup(&c);
	free(u), free(cf), free(link);
}

/* Finding 4 end to end: the model's traffic stops while its p99 page
 * fires; the page neither resolves nor sends anything, `mlwatch alerts`
 * shows it nodata. */
Test(ha, traffic_stopping_marks_nodata_instead_of_resolving)
{
	struct cproc c;
	struct slow_traffic t = {0};
	struct http_sink *s = sink_start(0);
	char *u = sink_url(s, "/"), conf[1024], out[600];
	char *mlwatch = h_bin("mlwatch");

	cproc_init(&c, "nodata");
	snprintf(conf, sizeof(conf),
	         "[alert slow]\nmodel = fraud\nexpr = p99_latency_ms > 250 over 2s\n"
	         "severity = page\nreceivers = hook\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         u);
	char *cf = write_conf(&c, conf);
	const char *extra[] = {"--config", cf, NULL};
	cr_assert_eq(cproc_start(&c, extra), 0, "see %s", c.log);
	snprintf(t.url, sizeof(t.url), "%s", c.url);
	cr_assert_eq(pthread_create(&t.th, NULL, slow_traffic_main, &t), 0);
	cr_assert(sink_wait(s, 1, 10 * cproc_slow()), "fired; see %s", c.log);
	atomic_store(&t.stop, true);
	pthread_join(t.th, NULL);

	cr_assert(
	    wait_sql(c.db, "SELECT count(*) FROM alerts WHERE nodata_since IS NOT NULL", 1, 10),
	    "marked nodata once the 2 s interval is empty; see %s", c.log);
	h_sleep(3.0); /* more than `over`: main resolved here */
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM alerts WHERE state = 'firing'"), 1);
	cr_assert_eq(sink_count(s), 1, "no resolve sent for an empty interval");

	snprintf(out, sizeof(out), "%s/alerts.json", c.dir);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "%s alerts --json --db %s > %s 2>&1", mlwatch, c.db, out);
	cr_assert_eq(system(cmd), 0);
	char *json = h_read_file(out, NULL);
	cr_assert(json && strstr(json, "\"nodata\":true") && strstr(json, "\"state\":\"firing\""),
	          "%s", json ? json : "");
	free(json);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	sink_stop(s);
	cproc_cleanup(&c);
	free(u), free(cf), free(mlwatch);
}

/* Finding 6: webhook-listen verifies "timestamp.body" and refuses a replay
 * (a genuine request captured and sent again later), as receivers should. */
Test(ha, webhook_listen_refuses_a_replayed_signature)
{
	char *dir = h_tmpdir("wl-replay"), log[600], secret[600], addr[64], url[128];
	char *mlwatch = h_bin("mlwatch");
	int port = h_free_port();
	struct h_proc p;
	const char *body = "{\"version\":\"4\",\"status\":\"firing\",\"alerts\":[{\"status\":"
	                   "\"firing\",\"labels\":{\"alertname\":\"r\",\"model\":\"m\"}}]}";
	char sig[65], h1[160], h2[64];
	struct h_http r;

	snprintf(log, sizeof(log), "%s/out.log", dir);
	snprintf(secret, sizeof(secret), "%s/s", dir);
	cr_assert_eq(h_write_file(secret, "s3cret\n", 7), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	snprintf(url, sizeof(url), "http://%s/", addr);
	char *argv[] = {mlwatch, "webhook-listen", "--listen", addr, "--secret-file", secret, NULL};
	cr_assert_eq(h_spawn(&p, argv, log, NULL), 0);
	cr_assert(h_wait_port(port, 10));
	for (int k = 0; k < 2; k++) {
		/* k = 0 signed now, k = 1 the same signed an hour ago (a replay). */
		long long ts = (long long)clock_now() - (k ? 3600 : 0);
		payload_sign("s3cret", ts, body, strlen(body), sig);
		snprintf(h1, sizeof(h1), "X-Mlwatch-Signature: t=%lld,v1=%s", ts, sig);
		snprintf(h2, sizeof(h2), "X-Mlwatch-Timestamp: %lld", ts);
		const char *hdrs[] = {h1, h2, "Content-Type: application/json", NULL};
		cr_assert_eq(h_http("POST", url, body, strlen(body), hdrs, false, &r), 0);
		cr_assert_eq(r.status, k ? 401 : 200, "k=%d: %ld %s", k, r.status, r.body);
		if (k)
			cr_assert_str_eq(r.body, "signature stale\n");
		h_http_free(&r);
	}
	/* A fresh timestamp on the old signature does not verify either. */
	snprintf(h2, sizeof(h2), "t=%lld,", (long long)clock_now());
	char forged[200];
	snprintf(forged, sizeof(forged), "X-Mlwatch-Signature: %sv1=%s", h2, sig);
	const char *hdrs[] = {forged, NULL};
	cr_assert_eq(h_http("POST", url, body, strlen(body), hdrs, false, &r), 0);
	cr_assert_eq(r.status, 401);
	cr_assert_str_eq(r.body, "signature invalid\n");
	h_http_free(&r);
	cr_assert_eq(h_stop(&p, SIGTERM, 5), 0);
	cr_assert(h_wait_log(log, "signature=valid", 1));
	cr_assert(h_wait_log(log, "signature=stale", 1));
	cr_assert(h_wait_log(log, "signature=invalid", 1));
	h_rmtree(dir);
	free(dir), free(mlwatch);
}
