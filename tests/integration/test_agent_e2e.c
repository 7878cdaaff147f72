/* End to end with the real mlwatchd: events posted to the agent are stored
 * once in SQLite with their counts, latency and late labels; while mlwatchd
 * is stopped the agent spools and, once it is back, everything is stored
 * exactly once; a wrong token keeps the data in the agent and stores
 * nothing. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/agent_proc.h"
#include "../lib/featblob.h"
#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "clock.h"

static struct agent_proc ag;
static struct cproc cp;

static void teardown(void)
{
	if (ag.p.pid > 0)
		cr_expect_eq(ap_stop(&ag), 0, "agent exit status");
	if (cp.running)
		cproc_stop(&cp, SIGTERM);
	cproc_cleanup(&cp);
	ap_cleanup(&ag);
}

static void post(int first, int n, double ts)
{
	size_t cap = (size_t)n * 200 + 8, len = 0;
	char *s = malloc(cap);
	for (int i = first; i < first + n; i++)
		len += (size_t)snprintf(
		    s + len, cap - len,
		    "{\"model\":\"fraud\",\"id\":\"r-%d\",\"ts\":%.3f,\"latency_ms\":"
		    "%d,\"features\":{\"amount\":%d,\"country\":\"DE\"},"
		    "\"prediction\":\"ok\",\"score\":0.9}\n",
		    i, ts, 10 + i % 90, i);
	cr_assert_eq(ap_post(&ag, "/v1/events", s, len, NULL, false, NULL), 202);
	free(s);
}

static bool wait_db(const char *sql, int64_t want, double timeout_s)
{
	double end = h_now() + timeout_s;
	while (h_now() < end) {
		if (db_int(cp.db, sql) == want)
			return true;
		h_sleep(0.1);
	}
	return false;
}

Test(agent_e2e, events_counts_and_labels_reach_sqlite_through_an_outage, .fini = teardown,
     .timeout = 90)
{
	char tok[700];
	double ts = floor(clock_now()) - 30;

	cproc_init(&cp, "e2e-coll");
	cr_assert_eq(ap_init(&ag, "e2e-agent"), 0);
	snprintf(tok, sizeof(tok), "%s/token", cp.dir);
	cr_assert_eq(h_write_file(tok, "e2e-token\n", 10), 0);
	cr_assert_eq(cproc_start(&cp, (const char *[]){"--token-file", tok, NULL}), 0,
	             "mlwatchd did not start, see %s", cp.log);
	snprintf(ag.collector, sizeof(ag.collector), "%s", cp.url);
	cr_assert_eq(ap_start(&ag, (const char *[]){"--token-file", tok, NULL}), 0);

	post(0, 300, ts);
	const char *lb = "{\"model\":\"fraud\",\"id\":\"r-7\",\"label\":\"ok\"}\n"
	                 "{\"model\":\"fraud\",\"id\":\"r-8\",\"label\":\"fraud\"}\n";
	cr_assert_eq(ap_post(&ag, "/v1/labels", lb, strlen(lb), NULL, false, NULL), 202);
	cr_assert(wait_db("SELECT count(*) FROM events", 300, 15 * cproc_slow()), "stored %lld",
	          (long long)db_int(cp.db, "SELECT count(*) FROM events"));
	cr_expect(wait_db("SELECT sum(count) FROM windows", 300, 5 * cproc_slow()));
	cr_expect(
	    wait_db("SELECT count(*) FROM events WHERE label_str IS NOT NULL", 2, 5 * cproc_slow()),
	    "late labels joined");
	char feat[256];
	cr_assert_eq(featblob_db_json(cp.db, "SELECT features_bin FROM events WHERE req_id = 'r-5'",
	                              feat, sizeof(feat)),
	             0);
	cr_expect_str_eq(feat, "{\"amount\":5,\"country\":\"DE\"}");
	cr_expect_eq(db_int(cp.db, "SELECT count(*) FROM agents WHERE agent_id = 'test-agent'"), 1);

	/* mlwatchd away for a while: the agent spools; back: stored once. */
	cr_assert_eq(cproc_stop(&cp, SIGTERM), 0);
	for (int k = 0; k < 10; k++) {
		post(1000 + k * 50, 50, ts + 1);
		h_sleep(0.2);
	}
	cr_expect(ap_wait_metric(&ag, "mlwatch_agent_events_spooled_total", NULL, 1, 5));
	cr_assert_eq(cproc_start(&cp, (const char *[]){"--token-file", tok, NULL}), 0);
	cr_assert(wait_db("SELECT count(*) FROM events", 800, 20 * cproc_slow()), "stored %lld",
	          (long long)db_int(cp.db, "SELECT count(*) FROM events"));
	cr_expect_eq(db_int(cp.db, "SELECT count(DISTINCT req_id) FROM events"), 800,
	             "no event stored twice");
	cr_expect(wait_db("SELECT sum(count) FROM windows", 800, 5 * cproc_slow()),
	          "summaries counted once: %lld",
	          (long long)db_int(cp.db, "SELECT sum(count) FROM windows"));
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_events_dropped_total", NULL), 0);
}

Test(agent_e2e, wrong_token_keeps_the_data_in_the_agent, .fini = teardown, .timeout = 60)
{
	char tok[700], bad[700];

	cproc_init(&cp, "e2e-coll");
	cr_assert_eq(ap_init(&ag, "e2e-agent"), 0);
	snprintf(tok, sizeof(tok), "%s/token", cp.dir);
	snprintf(bad, sizeof(bad), "%s/bad", cp.dir);
	cr_assert_eq(h_write_file(tok, "right\n", 6), 0);
	cr_assert_eq(h_write_file(bad, "wrong\n", 6), 0);
	cr_assert_eq(cproc_start(&cp, (const char *[]){"--token-file", tok, NULL}), 0);
	snprintf(ag.collector, sizeof(ag.collector), "%s", cp.url);
	cr_assert_eq(ap_start(&ag, (const char *[]){"--token-file", bad, NULL}), 0);
	post(0, 20, floor(clock_now()) - 5);
	cr_assert(ap_wait_metric(&ag, "mlwatch_agent_replies_error_total", NULL, 1, 10));
	cr_expect_eq(db_int(cp.db, "SELECT count(*) FROM events"), 0);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_events_dropped_total", NULL), 0,
	             "refused batches are kept, not dropped");
	cr_expect(h_wait_log(ag.log, "status=UNAUTHORIZED", 2) ||
	          h_wait_log(ag.log, "status=unauthorized", 1));
}

/* ---- TLS: the agent verifies the collector and shows its own certificate */

static void sh(const char *dir, const char *cmd)
{
	char full[4096];
	snprintf(full, sizeof(full), "cd '%s' && %s >>openssl.log 2>&1", dir, cmd);
	cr_assert_eq(system(full), 0, "%s (see %s/openssl.log)", cmd, dir);
}

/* An EC CA, a server certificate for 127.0.0.1 and a client certificate. */
static void make_pki(const char *dir)
{
	static const char *const ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
	char cmd[1024], path[700];
	const char *san = "subjectAltName=DNS:localhost,IP:127.0.0.1\n";

	snprintf(path, sizeof(path), "%s/san.ext", dir);
	cr_assert_eq(h_write_file(path, san, strlen(san)), 0);
	snprintf(cmd, sizeof(cmd),
	         "openssl req -x509 %s -keyout ca.key -out ca.crt -days 1 -subj /CN=test-ca", ec);
	sh(dir, cmd);
	snprintf(cmd, sizeof(cmd),
	         "openssl req %s -keyout srv.key -out srv.csr -subj /CN=localhost", ec);
	sh(dir, cmd);
	sh(dir, "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	        "-out srv.crt -days 1 -extfile san.ext");
	snprintf(cmd, sizeof(cmd), "openssl req %s -keyout cli.key -out cli.csr -subj /CN=agent",
	         ec);
	sh(dir, cmd);
	sh(dir, "openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
	        "-out cli.crt -days 1");
	/* A second CA the collector was not signed by. */
	snprintf(cmd, sizeof(cmd),
	         "openssl req -x509 %s -keyout other.key -out other.crt -days 1 -subj /CN=other",
	         ec);
	sh(dir, cmd);
}

Test(agent_e2e, mutual_tls_to_the_collector, .fini = teardown, .timeout = 60)
{
	char url[64], ca[700], srv[700], srvk[700], cli[700], clik[700], other[700];

	cproc_init(&cp, "e2e-tls");
	cr_assert_eq(ap_init(&ag, "e2e-agent"), 0);
	make_pki(cp.dir);
	snprintf(ca, sizeof(ca), "%s/ca.crt", cp.dir);
	snprintf(srv, sizeof(srv), "%s/srv.crt", cp.dir);
	snprintf(srvk, sizeof(srvk), "%s/srv.key", cp.dir);
	snprintf(cli, sizeof(cli), "%s/cli.crt", cp.dir);
	snprintf(clik, sizeof(clik), "%s/cli.key", cp.dir);
	snprintf(other, sizeof(other), "%s/other.crt", cp.dir);
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", cp.port);
	cr_assert_eq(
	    cproc_start(&cp, (const char *[]){"--listen", url, "--tls-cert", srv, "--tls-key", srvk,
	                                      "--tls-ca", ca, "--tls-verify-clients", NULL}),
	    0, "see %s", cp.log);
	snprintf(ag.collector, sizeof(ag.collector), "%s", url);

	/* Trusting another CA: the agent refuses the collector, keeps the data. */
	cr_assert_eq(ap_start(&ag, (const char *[]){"--tls-ca", other, "--tls-cert", cli,
	                                            "--tls-key", clik, NULL}),
	             0);
	post(0, 20, floor(clock_now()) - 5);
	h_sleep(1.5);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_collector_connected", NULL), 0);
	cr_expect_eq(db_int(cp.db, "SELECT count(*) FROM events"), 0);
	cr_assert_eq(ap_stop(&ag), 0, "shutdown spools what could not be sent");

	/* The right CA and name: the spooled events and new ones arrive. */
	cr_assert_eq(ap_start(&ag, (const char *[]){"--tls-ca", ca, "--tls-cert", cli, "--tls-key",
	                                            clik, "--tls-server-name", "localhost", NULL}),
	             0);
	post(100, 30, floor(clock_now()) - 5);
	cr_assert(wait_db("SELECT count(*) FROM events", 50, 15 * cproc_slow()), "stored %lld",
	          (long long)db_int(cp.db, "SELECT count(*) FROM events"));
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_collector_connected", NULL), 1);
}
