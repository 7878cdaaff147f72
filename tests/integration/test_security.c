/* Security (issue 9), with the real programs on loopback:
 *   - the agent's HTTP bearer token: wrong, missing, a prefix, one byte
 *     more, another scheme are refused (401, counted); the right one taken
 *     (mlwatchd's token on the wire: test_collector.c, test_collector_agent.c);
 *   - TLS with certificates made by the openssl CLI: the real agent to the
 *     real collector; an agent trusting another CA refuses the collector, a
 *     collector refuses an agent whose certificate another CA signed, a
 *     wrong server name is refused; nothing of theirs is stored;
 *   - files: database (and -wal/-shm), spool, cursor, sequence and tail
 *     state created 0600, directories 0700, even under umask 0;
 *   - secrets (token files, webhook secret, routing key) in no log, no
 *     --help or error output, no /metrics page, on good and failure paths;
 *   - listeners bind loopback by default (checked in a network namespace,
 *     where the default ports are surely free);
 *   - SQL through bound parameters: names full of quotes and SQL come back
 *     unchanged through `mlwatch export --format jsonl`. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "../lib/agent_proc.h"
#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/http_sink.h"
#include "../lib/tuitest.h"
#include "clock.h"

static struct cproc C;
static struct agent_proc A, A2, A3;

static void teardown(void)
{
	struct agent_proc *as[] = {&A, &A2, &A3};
	for (int i = 0; i < 3; i++) {
		if (as[i]->p.pid > 0)
			ap_stop(as[i]);
		ap_cleanup(as[i]);
		memset(as[i], 0, sizeof(*as[i]));
	}
	cproc_cleanup(&C);
	memset(&C, 0, sizeof(C));
}

TestSuite(security, .fini = teardown, .timeout = 90);

static void agent_for(struct agent_proc *a, const char *tag, const char *url)
{
	cr_assert_eq(ap_init(a, tag), 0);
	snprintf(a->collector, sizeof(a->collector), "%.127s", url);
}

/* n events with ids "<prefix>-<i>" as one array; 202 expected. */
static void post(struct agent_proc *a, const char *prefix, int n, const char *const *headers)
{
	char body[8192];
	size_t o = 0;
	o += (size_t)snprintf(body + o, sizeof(body) - o, "[");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o,
		                      "%s{\"model\":\"m\",\"id\":\"%s-%d\",\"latency_ms\":3}",
		                      i ? "," : "", prefix, i);
	snprintf(body + o, sizeof(body) - o, "]");
	cr_assert_eq(ap_post(a, "/v1/events", body, strlen(body), headers, false, NULL), 202);
}

static int64_t stored(const char *prefix)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE req_id LIKE '%s-%%'", prefix);
	return db_int(C.db, sql);
}

static bool wait_stored(const char *prefix, int64_t n, double timeout_s)
{
	double end = h_now() + timeout_s;
	while (h_now() < end && stored(prefix) < n)
		h_sleep(0.05);
	return stored(prefix) == n;
}

/* ---- tokens -------------------------------------------------------------- */

Test(security, agent_http_bearer_token_refuses_everything_but_the_token)
{
	char tok[700];
	const char *secret = "Tok-9f2c41d8e0b7a6";

	agent_for(&A, "sec-bearer", "tcp://127.0.0.1:1");
	snprintf(tok, sizeof(tok), "%s/http.token", A.dir);
	cr_assert_eq(h_write_file(tok, "Tok-9f2c41d8e0b7a6\n", 19), 0);
	cr_assert_eq(ap_start(&A, (const char *[]){"--http-token-file", tok, NULL}), 0, "see %s",
	             A.log);

	static const char *const refused[][2] = {
	    {NULL, "no Authorization header"},
	    {"Authorization: Bearer wrong", "a wrong token"},
	    {"Authorization: Bearer Tok-9f2c41d8e0b7a", "the token minus its last byte"},
	    {"Authorization: Bearer Tok-9f2c41d8e0b7a6x", "the token plus one byte"},
	    {"Authorization: Bearer ", "an empty token"},
	    {"Authorization: Basic VG9rLTlmMmM0MWQ4ZTBiN2E2Og==", "another scheme"},
	    {"Authorization: Tok-9f2c41d8e0b7a6", "no scheme"},
	    {"Authorization: Bearer tok-9f2c41d8e0b7a6", "another case"},
	};
	const char *body = "{\"model\":\"m\",\"id\":\"tk\"}";
	char url[128];
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		const char *h[] = {refused[i][0], NULL};
		struct h_http r;
		snprintf(url, sizeof(url), "%s/v1/events", A.http);
		cr_assert_eq(
		    h_http("POST", url, body, strlen(body), refused[i][0] ? h : NULL, false, &r),
		    0);
		cr_assert_eq(r.status, 401, "%s: HTTP %ld", refused[i][1], r.status);
		cr_assert(strstr(r.headers, "WWW-Authenticate: Bearer"), "%s", refused[i][1]);
		cr_assert_null(strstr(r.body, secret), "the reply shows the token");
		h_http_free(&r);
	}
	/* KServe and labels are behind the same door. */
	const char *kh[] = {"ce-id: k1", "ce-type: org.kubeflow.serving.inference.request",
	                    "ce-inferenceservicename: m", NULL};
	cr_assert_eq(ap_post(&A, "/v1/kserve", "{\"instances\":[[1]]}", 19, kh, false, NULL), 401);
	cr_assert_eq(ap_post(&A, "/v1/labels", "{\"model\":\"m\",\"id\":\"a\",\"label\":1}", 33,
	                     NULL, false, NULL),
	             401);
	size_t n_refused = sizeof(refused) / sizeof(refused[0]) + 2;
	cr_assert_eq(
	    ap_metric_token(&A, "mlwatch_agent_rejected_total", "reason=\"unauthorized\"", secret),
	    n_refused);
	cr_assert_eq(ap_metric_token(&A, "mlwatch_agent_events_received_total", NULL, secret), 0);
	/* The token itself, and the scheme in any case (RFC 7235). */
	const char *good[] = {"Authorization: Bearer Tok-9f2c41d8e0b7a6", NULL};
	const char *good2[] = {"Authorization: bearer Tok-9f2c41d8e0b7a6", NULL};
	cr_assert_eq(ap_post(&A, "/v1/events", body, strlen(body), good, false, NULL), 202);
	cr_assert_eq(ap_post(&A, "/v1/events", body, strlen(body), good2, false, NULL), 202);
	cr_assert_eq(ap_metric_token(&A, "mlwatch_agent_events_received_total", NULL, secret), 2);
	/* Health stays open to probes; /metrics needs the token (issue 21). */
	snprintf(url, sizeof(url), "%s/healthz", A.http);
	long st = 0;
	free(http_get(url, &st));
	cr_assert_eq(st, 200);
	snprintf(url, sizeof(url), "%s/metrics", A.http);
	free(http_get(url, &st));
	cr_assert_eq(st, 401);
	char *log = h_read_file(A.log, NULL);
	cr_assert_null(strstr(log, secret), "the token is in the agent's log");
	free(log);
}

/* ---- TLS -------------------------------------------------------------------- */

static void sh(const char *dir, const char *cmd)
{
	char full[4096];
	snprintf(full, sizeof(full), "cd '%s' && ( %s ) >>openssl.log 2>&1", dir, cmd);
	cr_assert_eq(system(full), 0, "%s (see %s/openssl.log)", cmd, dir);
}

/* CA NAME: NAME.crt/NAME.key; leaf NAME signed by CA, with a SAN. */
static void make_ca(const char *dir, const char *name)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd),
	         "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	         "-keyout %s.key -out %s.crt -days 1 -subj /CN=%s",
	         name, name, name);
	sh(dir, cmd);
}

static void make_leaf(const char *dir, const char *ca, const char *name, const char *cn)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	         "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > %s.ext && "
	         "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
	         "-keyout %s.key -out %s.csr -subj /CN=%s && "
	         "openssl x509 -req -in %s.csr -CA %s.crt -CAkey %s.key -CAcreateserial "
	         "-out %s.crt -days 1 -extfile %s.ext",
	         name, name, name, cn, name, ca, ca, name, name);
	sh(dir, cmd);
}

static char *p(const char *dir, const char *file)
{
	static char bufs[16][700];
	static int k;
	char *b = bufs[k++ % 16];
	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, file);
	return b;
}

Test(security, tls_wrong_ca_or_name_refused_on_both_sides)
{
	char url[64];

	cproc_init(&C, "sec-tls");
	const char *d = C.dir;
	make_ca(d, "ca1");
	make_ca(d, "ca2");
	make_leaf(d, "ca1", "srv", "localhost");
	make_leaf(d, "ca1", "cli1", "agent-1");
	make_leaf(d, "ca2", "cli2", "agent-2");
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", C.port);
	const char *cargs[] = {
	    "--listen",      url,        "--tls-cert",    p(d, "srv.crt"),        "--tls-key",
	    p(d, "srv.key"), "--tls-ca", p(d, "ca1.crt"), "--tls-verify-clients", NULL};
	cr_assert_eq(cproc_start(&C, cargs), 0, "see %s", C.log);

	/* The right CA both ways, and the server's name checked. */
	agent_for(&A, "sec-tls-ok", url);
	const char *good[] = {"--tls-ca",          p(d, "ca1.crt"), "--tls-cert",
	                      p(d, "cli1.crt"),    "--tls-key",     p(d, "cli1.key"),
	                      "--tls-server-name", "localhost",     NULL};
	cr_assert_eq(ap_start(&A, good), 0, "see %s", A.log);
	post(&A, "ok", 20, NULL);
	cr_assert(wait_stored("ok", 20, 10), "stored %lld of 20 over TLS", (long long)stored("ok"));

	/* An agent trusting another CA refuses the collector; a collector
	 * trusting CA1 refuses a certificate of CA2; a name the certificate
	 * does not carry is refused. All three at once. */
	agent_for(&A2, "sec-tls-wrongca", url);
	const char *wrong_ca[] = {"--tls-ca",  p(d, "ca2.crt"),  "--tls-cert", p(d, "cli1.crt"),
	                          "--tls-key", p(d, "cli1.key"), NULL};
	cr_assert_eq(ap_start(&A2, wrong_ca), 0, "see %s", A2.log);
	agent_for(&A3, "sec-tls-wrongcli", url);
	const char *wrong_cli[] = {"--tls-ca",  p(d, "ca1.crt"),  "--tls-cert", p(d, "cli2.crt"),
	                           "--tls-key", p(d, "cli2.key"), NULL};
	cr_assert_eq(ap_start(&A3, wrong_cli), 0, "see %s", A3.log);
	post(&A2, "wrongca", 10, NULL);
	post(&A3, "wrongcli", 10, NULL);
	h_sleep(3.0);
	cr_assert_eq(stored("wrongca"), 0, "an agent that does not trust the collector sent");
	cr_assert_eq(stored("wrongcli"), 0, "the collector took a client of another CA");
	cr_assert_eq(ap_metric(&A2, "mlwatch_agent_collector_connected", NULL), 0);
	cr_assert_eq(ap_metric(&A3, "mlwatch_agent_events_sent_total", NULL), 0);
	cr_assert(ap_wait_metric(&A2, "mlwatch_agent_events_spooled_total", NULL, 10, 5),
	          "the refused agent's events are kept in its spool");
	cr_assert(ap_wait_metric(&A3, "mlwatch_agent_events_spooled_total", NULL, 10, 5));
	ap_stop(&A2);
	ap_stop(&A3);
	ap_cleanup(&A2);

	agent_for(&A2, "sec-tls-name", url);
	const char *wrong_name[] = {
	    "--tls-ca",  p(d, "ca1.crt"),  "--tls-cert",        p(d, "cli1.crt"),
	    "--tls-key", p(d, "cli1.key"), "--tls-server-name", "collector.example.org",
	    NULL};
	cr_assert_eq(ap_start(&A2, wrong_name), 0, "see %s", A2.log);
	post(&A2, "wrongname", 10, NULL);
	h_sleep(2.0);
	cr_assert_eq(stored("wrongname"), 0, "a certificate for another name was accepted");

	/* Only the good agent is known to the collector, and the good agent
	 * still delivers. */
	post(&A, "ok2", 10, NULL);
	cr_assert(wait_stored("ok2", 10, 10));
	cr_assert_eq(db_int(C.db, "SELECT count(*) FROM agents"), 1);
	cr_assert_eq(db_int(C.db, "SELECT count(*) FROM events"), 30);
	fprintf(stderr, "security: TLS good agent 30 stored; wrong CA (agent side), wrong CA "
	                "(collector side), wrong name: 0 stored\n");
}

/* ---- file modes ------------------------------------------------------------- */

static int n_bad_modes, n_checked;
static char bad_modes[2048];

static int check_mode(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	mode_t want = S_ISDIR(sb->st_mode) ? 0700 : 0600;
	if (flag == FTW_SL || S_ISSOCK(sb->st_mode))
		return 0;
	n_checked++;
	if ((sb->st_mode & 0777) != want) {
		size_t o = strlen(bad_modes);
		snprintf(bad_modes + o, sizeof(bad_modes) - o, " %s=%03o", path,
		         (unsigned)(sb->st_mode & 0777));
		n_bad_modes++;
	}
	return 0;
}

static void expect_private_tree(const char *root)
{
	n_bad_modes = n_checked = 0;
	bad_modes[0] = '\0';
	nftw(root, check_mode, 16, FTW_PHYS);
	cr_assert_eq(n_bad_modes, 0, "not private:%s", bad_modes);
}

static mode_t mode_of(const char *path)
{
	struct stat sb;
	cr_assert_eq(stat(path, &sb), 0, "%s: %s", path, strerror(errno));
	return sb.st_mode & 0777;
}

Test(security, database_spool_and_state_are_private_even_under_umask_0)
{
	char tail[700], wal[600], shm[600];
	mode_t old = umask(0); /* inherited by the programs */

	cproc_init(&C, "sec-modes");
	cr_assert_eq(cproc_start(&C, NULL), 0, "see %s", C.log);
	agent_for(&A, "sec-modes-agent", C.url);
	snprintf(tail, sizeof(tail), "%s/app.jsonl", A.dir);
	cr_assert_eq(h_write_file(tail, "{\"model\":\"m\",\"id\":\"t-0\"}\n", 26), 0);
	chmod(tail, 0600);
	cr_assert_eq(ap_start(&A, (const char *[]){"--tail", tail, NULL}), 0, "see %s", A.log);
	post(&A, "a", 20, NULL);
	cr_assert(wait_stored("a", 20, 10));
	cr_assert(wait_stored("t", 1, 10));
	/* The collector away: batches go to the spool. */
	cr_assert_eq(cproc_stop(&C, SIGTERM), 0);
	post(&A, "b", 20, NULL);
	cr_assert(ap_wait_metric(&A, "mlwatch_agent_events_spooled_total", NULL, 20, 10));
	/* the spool's cursor is written every second: wait for it */
	char cursor[800];
	snprintf(cursor, sizeof(cursor), "%s/spool/cursor", A.state);
	cr_assert(h_wait_modified(cursor, 0, 5 * h_slow()), "no %s within %.0f s", cursor,
	          5 * h_slow());
	expect_private_tree(A.state);
	int while_running = n_checked;
	cr_assert_eq(ap_stop(&A), 0);
	expect_private_tree(A.state);
	cr_assert_geq(n_checked, 5, "only %d paths under %s", n_checked, A.state);
	cr_assert_geq(while_running, 4);

	cr_assert_eq(cproc_start(&C, NULL), 0, "see %s", C.log);
	snprintf(wal, sizeof(wal), "%s-wal", C.db);
	snprintf(shm, sizeof(shm), "%s-shm", C.db);
	cr_assert_eq(mode_of(C.db), 0600);
	cr_assert_eq(mode_of(wal), 0600);
	cr_assert_eq(mode_of(shm), 0600);
	cr_assert_eq(cproc_stop(&C, SIGTERM), 0);
	cr_assert_eq(mode_of(C.db), 0600);
	umask(old);
	fprintf(stderr, "security: %d agent paths 0600/0700 under umask 0; database 0600\n",
	        n_checked);
}

/* ---- secrets ---------------------------------------------------------------------- */

#define COLL_TOKEN  "Sec-coll-4b1e7d0c93"
#define WRONG_TOKEN "Sec-wrong-77aa01ee5"
#define HTTP_TOKEN  "Sec-http-c0ffee1234"
#define HOOK_SECRET "Sec-hook-9d8c7b6a55"
#define ROUTING_KEY "Sec-route-R0uT1nGk3y"

static const char *const secrets[] = {COLL_TOKEN, WRONG_TOKEN, HTTP_TOKEN, HOOK_SECRET,
                                      ROUTING_KEY};

static void expect_no_secret(const char *what, const char *text)
{
	for (size_t i = 0; text && i < sizeof(secrets) / sizeof(secrets[0]); i++)
		cr_assert_null(strstr(text, secrets[i]), "%s shows the secret %s", what,
		               secrets[i]);
}

static void expect_file_no_secret(const char *path)
{
	char *s = h_read_file(path, NULL);
	cr_assert_not_null(s, "%s", path);
	expect_no_secret(path, s);
	free(s);
}

/* Runs a program to the end; returns its stdout+stderr (malloc'd). */
static char *run_all(const char *prog, const char *const *args, int *status)
{
	char *argv[32], *bin = h_bin(prog), *out = NULL, *err = NULL;
	int n = 0;
	argv[n++] = bin;
	for (; args && *args && n < 31; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	*status = tt_run(argv, NULL, &out, &err, 20);
	size_t lo = out ? strlen(out) : 0, le = err ? strlen(err) : 0;
	char *all = malloc(lo + le + 1);
	memcpy(all, out ? out : "", lo);
	memcpy(all + lo, err ? err : "", le + 1);
	free(out);
	free(err);
	free(bin);
	return all;
}

Test(security, secrets_never_in_logs_help_errors_or_metrics)
{
	char coll_tok[700], wrong_tok[700], http_tok[700], hook[700], route[700], conf[700];
	char big[700], cfg[8192], url[128];
	struct http_sink *sink = sink_start(0), *pd = sink_start(0);
	cr_assert(sink && pd);

	cproc_init(&C, "sec-secrets");
	snprintf(coll_tok, sizeof(coll_tok), "%s/coll.token", C.dir);
	snprintf(wrong_tok, sizeof(wrong_tok), "%s/wrong.token", C.dir);
	snprintf(http_tok, sizeof(http_tok), "%s/http.token", C.dir);
	snprintf(hook, sizeof(hook), "%s/hook.secret", C.dir);
	snprintf(route, sizeof(route), "%s/pd.key", C.dir);
	snprintf(conf, sizeof(conf), "%s/mlwatch.conf", C.dir);
	h_write_file(coll_tok, COLL_TOKEN "\n", strlen(COLL_TOKEN) + 1);
	h_write_file(wrong_tok, WRONG_TOKEN "\n", strlen(WRONG_TOKEN) + 1);
	h_write_file(http_tok, HTTP_TOKEN "\n", strlen(HTTP_TOKEN) + 1);
	h_write_file(hook, HOOK_SECRET "\n", strlen(HOOK_SECRET) + 1);
	h_write_file(route, ROUTING_KEY "\n", strlen(ROUTING_KEY) + 1);
	/* Two receivers that fail first: the webhook with 500, PagerDuty with a
	 * 400 that echoes the request (as some proxies do). */
	char *hook_url = sink_url(sink, "/hook"), *pd_url = sink_url(pd, "/pd");
	snprintf(cfg, sizeof(cfg),
	         "[collector]\ntoken_file = %s\n\n"
	         "[alert busy]\nmodel = m\nexpr = rps > 1 over 2s\nreceivers = hook, pd\n\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\nsecret_file = %s\n\n"
	         "[receiver pd]\ntype = pagerduty\nurl = %s\nrouting_key_file = %s\n",
	         coll_tok, hook_url, hook, pd_url, route);
	cr_assert_eq(h_write_file(conf, cfg, strlen(cfg)), 0);
	struct sink_reply hook_script[] = {{.status = 500, .body = "down"}, {.status = 200}};
	struct sink_reply pd_script[] = {
	    {.status = 400,
	     .body = "{\"status\":\"invalid event\",\"routing_key\":\"" ROUTING_KEY
	             "\",\"errors\":[\"bad\"]}"}};
	sink_script(sink, hook_script, 2);
	sink_script(pd, pd_script, 1);
	cr_assert_eq(
	    cproc_start(&C, (const char *[]){"--config", conf, "--log-level", "debug", NULL}), 0,
	    "see %s", C.log);

	/* A good agent (its HTTP behind a token) and one with the wrong token. */
	agent_for(&A, "sec-sec-good", C.url);
	cr_assert_eq(ap_start(&A, (const char *[]){"--token-file", coll_tok, "--http-token-file",
	                                           http_tok, "--log-level", "debug", NULL}),
	             0, "see %s", A.log);
	agent_for(&A2, "sec-sec-wrong", C.url);
	cr_assert_eq(ap_start(&A2, (const char *[]){"--token-file", wrong_tok, "--log-level",
	                                            "debug", NULL}),
	             0, "see %s", A2.log);
	const char *auth[] = {"Authorization: Bearer " HTTP_TOKEN, NULL};
	const char *bad_auth[] = {"Authorization: Bearer " WRONG_TOKEN, NULL};
	for (int i = 0; i < 30; i++) {
		char pfx[32];
		snprintf(pfx, sizeof(pfx), "g%d", i);
		post(&A, pfx, 5, auth);
		h_sleep(0.05);
	}
	cr_assert_eq(ap_post(&A, "/v1/events", "{\"model\":\"m\"}", 13, bad_auth, false, NULL),
	             401);
	post(&A2, "w", 5, NULL);
	cr_assert(h_wait_log(A2.log, "unauthorized", 10), "no refusal in %s", A2.log);
	/* The alert fires; both receivers fail once and are retried. */
	cr_assert(sink_wait(sink, 2, 20), "the webhook was called %zu times", sink_count(sink));
	cr_assert(sink_wait(pd, 1, 5), "PagerDuty was not called");
	cr_assert(strstr(sink_request(pd, 0)->body, ROUTING_KEY), "the routing key was not sent");
	h_sleep(2.5);

	/* Failure paths of the command line. */
	int st;
	snprintf(big, sizeof(big), "%s/big.token", C.dir);
	{
		char *b = malloc(5000);
		memset(b, 'Z', 5000);
		memcpy(b, COLL_TOKEN, strlen(COLL_TOKEN));
		h_write_file(big, b, 5000);
		free(b);
	}
	char *outs[12];
	int no = 0;
	outs[no++] = run_all("mlwatchd", (const char *[]){"--help", NULL}, &st);
	outs[no++] = run_all("mlwatch-agent", (const char *[]){"--help", NULL}, &st);
	outs[no++] = run_all("mlwatch", (const char *[]){"--help", NULL}, &st);
	outs[no++] = run_all("mlwatchd", (const char *[]){"--config", conf, "--help", NULL}, &st);
	outs[no++] = run_all(
	    "mlwatchd",
	    (const char *[]){"--token-file", big, "--http", "off", "--db", p(C.dir, "x.db"), NULL},
	    &st);
	cr_assert_neq(st, 0, "a 5000-byte token file was accepted");
	outs[no++] = run_all("mlwatch-agent",
	                     (const char *[]){"--token-file", big, "--http", "off", "--state-dir",
	                                      p(C.dir, "st"), NULL},
	                     &st);
	cr_assert_neq(st, 0);
	/* A secret written into the config instead of a file: refused without
	 * echoing it. */
	char badcfg[700];
	snprintf(badcfg, sizeof(badcfg), "%s/bad.conf", C.dir);
	char *bc = NULL;
	cr_assert_geq(
	    asprintf(&bc, "[collector]\ntoken = %s\n[agent]\ntoken = %s\n", COLL_TOKEN, COLL_TOKEN),
	    0);
	h_write_file(badcfg, bc, strlen(bc));
	free(bc);
	outs[no++] = run_all("mlwatchd", (const char *[]){"--config", badcfg, NULL}, &st);
	cr_assert_eq(st, 2);
	outs[no++] = run_all("mlwatch-agent", (const char *[]){"--config", badcfg, NULL}, &st);
	cr_assert_eq(st, 2);
	outs[no++] = run_all(
	    "mlwatch", (const char *[]){"--db", C.db, "alerts", "--all", "--json", NULL}, &st);
	outs[no++] = run_all("mlwatch", (const char *[]){"--db", C.db, "status", NULL}, &st);
	for (int i = 0; i < no; i++) {
		char what[32];
		snprintf(what, sizeof(what), "command output %d", i);
		expect_no_secret(what, outs[i]);
		free(outs[i]);
	}
	/* The metrics pages. */
	snprintf(url, sizeof(url), "%smetrics", C.http);
	char *page = http_get(url, NULL);
	expect_no_secret("mlwatchd /metrics", page);
	free(page);
	snprintf(url, sizeof(url), "%s/metrics", A.http);
	page = http_get(url, NULL);
	expect_no_secret("agent /metrics", page);
	free(page);
	/* And the logs, after a clean stop. */
	cr_assert_eq(ap_stop(&A), 0);
	cr_assert_eq(ap_stop(&A2), 0);
	cr_assert_eq(cproc_stop(&C, SIGTERM), 0);
	expect_file_no_secret(C.log);
	expect_file_no_secret(A.log);
	expect_file_no_secret(A2.log);
	/* The failures were really exercised (and logged). */
	cr_assert(h_wait_log(C.log, "will retry", 1), "no delivery failure in %s", C.log);
	cr_assert(h_wait_log(C.log, "routing_key", 1), "the echoing reply was not logged");
	cr_assert(h_wait_log(C.log, "reason=unauthorized", 1));
	char *log = h_read_file(C.log, NULL);
	size_t lines = 0;
	for (const char *q = log; (q = strchr(q, '\n')); q++)
		lines++;
	free(log);
	cr_assert_gt(lines, 10);
	sink_stop(sink);
	sink_stop(pd);
	free(hook_url);
	free(pd_url);
	fprintf(stderr,
	        "security: 5 secrets absent from 3 logs (%zu collector lines at debug), "
	        "%d command outputs, 2 metrics pages\n",
	        lines, no);
}

/* ---- default addresses ----------------------------------------------------------- */

Test(security, listeners_bind_loopback_by_default)
{
	char *dir = h_tmpdir("sec-bind"), script[4096], out[700];
	char *agent = h_bin("mlwatch-agent"), *coll = h_bin("mlwatchd");

	snprintf(out, sizeof(out), "%s/ns.log", dir);
	/* A private network namespace: the default ports (7070-7072) are free
	 * there whatever else runs on this machine. Both programs with no
	 * address flag at all; then every listening socket is listed. */
	snprintf(
	    script, sizeof(script),
	    "cd '%s' || exit 9; ip link set lo up || exit 8; "
	    "'%s' --db ./mlwatch.db > coll.log 2>&1 & c=$!; "
	    "'%s' --state-dir ./st --listen-dgram udp://127.0.0.1:7099 > agent.log 2>&1 & "
	    "a=$!; "
	    "for i in $(seq 50); do ss -ltnH | grep -q ':7071 ' && ss -ltnH | grep -q ':7072 ' "
	    "&& ss -ltnH | grep -q ':7070 ' && break; sleep 0.1; done; "
	    "echo TCP; ss -ltnH; echo UDP; ss -lunH; echo END; "
	    "kill $a $c; wait",
	    dir, coll, agent);
	char *argv[] = {"/usr/bin/unshare", "-n", "/bin/sh", "-c", script, NULL};
	char *o = NULL, *e = NULL;
	int rc = tt_run(argv, NULL, &o, &e, 30);
	if (rc != 0 && e && (strstr(e, "unshare failed") || strstr(e, "Operation not permitted"))) {
		free(o), free(e);
		h_rmtree(dir);
		free(dir), free(agent), free(coll);
		cr_skip_test("no network namespaces here (%s)", e);
	}
	cr_assert_eq(rc, 0, "%s%s", o ? o : "", e ? e : "");
	cr_assert(strstr(o, "TCP") && strstr(o, "END"), "%s", o);
	/* The three default TCP ports are there, all on loopback. */
	int seen = 0;
	for (char *line = strstr(o, "TCP\n") + 4; line && *line && strncmp(line, "END", 3) != 0;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		if (strncmp(line, "UDP", 3) != 0 && line[0]) {
			cr_assert(strstr(line, " 127.0.0.1:") || strstr(line, " [::1]:"),
			          "listening beyond loopback: %s", line);
			seen += strstr(line, ":7070 ") || strstr(line, ":7071 ") ||
			        strstr(line, ":7072 ");
		}
		line = nl ? nl + 1 : NULL;
	}
	cr_assert_eq(seen, 3, "the default ports 7070, 7071, 7072 were not all listening:\n%s", o);
	free(o), free(e);
	h_rmtree(dir);
	free(dir), free(agent), free(coll);
}

/* ---- SQL ------------------------------------------------------------------------- */

Test(security, names_with_quotes_and_sql_come_back_unchanged)
{
	static const char *const hostile[] = {
	    "a'b",
	    "x\"); DROP TABLE events;--",
	    "'; DELETE FROM windows WHERE '1'='1",
	    "Robert'); DROP TABLE models;--",
	    "%_LIKE\\'%",
	    "1 OR 1=1",
	    "\\\\N",
	    "semi;colon",
	    "unicode 'é' \"日本\"",
	};
	const size_t n = sizeof(hostile) / sizeof(hostile[0]);
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++) {
		char id[64];
		cJSON *e = cJSON_CreateObject(), *f = cJSON_CreateObject();
		snprintf(id, sizeof(id), "q'%zu\"--", i);
		cJSON_AddStringToObject(e, "model", "m");
		cJSON_AddStringToObject(e, "id", id);
		cJSON_AddStringToObject(e, "version", hostile[(i + 1) % n]);
		cJSON_AddNumberToObject(e, "latency_ms", 1.5);
		cJSON_AddNumberToObject(f, hostile[i], (double)i);
		cJSON_AddStringToObject(f, "cat", hostile[(i + 2) % n]);
		cJSON_AddItemToObject(e, "features", f);
		cJSON_AddStringToObject(e, "prediction", hostile[(i + 3) % n]);
		cJSON_AddItemToArray(arr, e);
	}
	char *body = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);

	cproc_init(&C, "sec-sql");
	cr_assert_eq(cproc_start(&C, NULL), 0, "see %s", C.log);
	int64_t tables = db_int(C.db, "SELECT count(*) FROM sqlite_master");
	agent_for(&A, "sec-sql-agent", C.url);
	cr_assert_eq(ap_start(&A, NULL), 0, "see %s", A.log);
	cr_assert_eq(ap_post(&A, "/v1/events", body, strlen(body), NULL, false, NULL), 202);
	free(body);
	/* A late label with a hostile id and value joins its event. */
	char lb[256];
	snprintf(lb, sizeof(lb), "{\"model\":\"m\",\"id\":\"q'0\\\"--\",\"label\":\"%s\"}",
	         "x'); DROP TABLE accuracy;--");
	cr_assert_eq(ap_post(&A, "/v1/labels", lb, strlen(lb), NULL, false, NULL), 202);
	double end = h_now() + 10;
	while (h_now() < end && db_int(C.db, "SELECT count(*) FROM events WHERE label_str IS NOT "
	                                     "NULL") < 1)
		h_sleep(0.05);
	cr_assert_eq(db_int(C.db, "SELECT count(*) FROM events"), (int64_t)n);
	cr_assert_eq(db_int(C.db, "SELECT count(*) FROM sqlite_master"), tables, "tables changed");

	/* Export: every value as it was sent. */
	char *bin = h_bin("mlwatch"), *out = NULL, *err = NULL;
	char *argv[] = {bin, "--db", C.db, "export", "--model", "m", "--format", "jsonl", NULL};
	cr_assert_eq(tt_run(argv, NULL, &out, &err, 20), 0, "%s", err);
	size_t lines = 0;
	for (char *line = out, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		cJSON *e = cJSON_Parse(line);
		cr_assert_not_null(e, "%s", line);
		const char *id = cJSON_GetObjectItem(e, "id")->valuestring;
		size_t i;
		cr_assert_eq(sscanf(id, "q'%zu\"--", &i), 1, "%s", id);
		cr_assert_lt(i, n);
		cJSON *f = cJSON_GetObjectItem(e, "features");
		cJSON *v = cJSON_GetObjectItemCaseSensitive(f, hostile[i]);
		cr_assert(cJSON_IsNumber(v) && v->valuedouble == (double)i,
		          "feature named %s lost: %s", hostile[i], line);
		cr_assert_str_eq(cJSON_GetObjectItem(f, "cat")->valuestring, hostile[(i + 2) % n]);
		cr_assert_str_eq(cJSON_GetObjectItem(e, "version")->valuestring,
		                 hostile[(i + 1) % n]);
		cr_assert_str_eq(cJSON_GetObjectItem(e, "prediction")->valuestring,
		                 hostile[(i + 3) % n]);
		if (i == 0)
			cr_assert_str_eq(cJSON_GetObjectItem(e, "label")->valuestring,
			                 "x'); DROP TABLE accuracy;--");
		cJSON_Delete(e);
		lines++;
	}
	cr_assert_eq(lines, n);
	free(out), free(err);

	/* The subcommands take hostile names as values, not as SQL. */
	char *a2[] = {bin,       "--db", C.db,        "drift",
	              "--model", "m",    "--feature", "x'); DROP TABLE drift;--",
	              "--json",  NULL};
	int rc = tt_run(a2, NULL, &out, &err, 20);
	cr_assert(rc == 0 || rc == 1, "drift exited %d: %s", rc, err);
	free(out), free(err);
	/* a silence names a rule mlwatch knows: one in the alerts table */
	sqlite3 *h = NULL;
	cr_assert_eq(sqlite3_open(C.db, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 5000);
	cr_assert_eq(sqlite3_exec(h,
	                          "INSERT INTO alerts (rule, model, state, severity, active_at, "
	                          "fingerprint, updated) VALUES ('r''); DROP TABLE silences;--', "
	                          "'m', 'resolved', 'warn', 0, 'x', 0)",
	                          NULL, NULL, NULL),
	             SQLITE_OK, "%s", sqlite3_errmsg(h));
	sqlite3_close(h);
	char *a3[] = {bin,     "--db", C.db,        "silence",       "r'); DROP TABLE silences;--",
	              "--for", "1h",   "--comment", "it's \"fine\"", NULL};
	cr_assert_eq(tt_run(a3, NULL, &out, &err, 20), 0, "%s", err);
	free(out), free(err);
	char buf[256];
	cr_assert_eq(db_text(C.db, "SELECT rule FROM silences", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "r'); DROP TABLE silences;--");
	cr_assert_eq(db_text(C.db, "SELECT comment FROM silences", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "it's \"fine\"");
	char *a4[] = {bin, "--db", C.db, "ack", "1 OR 1=1", NULL};
	cr_assert_eq(tt_run(a4, NULL, &out, &err, 20), 2, "ack of '1 OR 1=1': %s", err);
	free(out), free(err);
	cr_assert_eq(db_int(C.db, "SELECT count(*) FROM sqlite_master"), tables, "tables changed");
	free(bin);
}
