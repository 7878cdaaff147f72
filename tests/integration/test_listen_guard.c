/* The listen rule (issue 21) with the real programs, each test in its own
 * private network namespace (unshare(CLONE_NEWNET) in the test's process;
 * every child inherits it) with loopback up and a veth pair whose end mlw0
 * carries 10.200.0.1/24: traffic never leaves the namespace, and the ports
 * are ours alone.
 *
 *   - every listener of every program on 10.200.0.1 without protection
 *     exits 2 with its one line: agent --http (events, labels, KServe,
 *     /metrics), agent --listen-dgram udp://, mlwatchd --listen,
 *     mlwatchd --http, mlwatch webhook-listen;
 *   - with a token: no token and a wrong one get 401 and are counted
 *     (agent and mlwatchd /metrics), the right one 202 / 200; /healthz
 *     stays open; the start-up lines name each address and its protection;
 *   - with --insecure each starts and logs a warning;
 *   - a unix datagram socket is created 0660 even under umask 0, 0600 under
 *     umask 077;
 *   - HTTPS on the agent's input (certificates made by the openssl CLI): a
 *     client trusting another CA is refused, the Python example client
 *     posts through it; with --http-tls-ca a client without a certificate
 *     gets 401, one with a certificate of that CA 202;
 *   - HTTPS on mlwatchd --http (curl): another CA refused, 401 without the
 *     token, 200 with it;
 *   - a real Prometheus scrapes /metrics of both daemons with a bearer
 *     token (credentials_file) and gets 401 without. */
#include <criterion/criterion.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>

#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/tuitest.h"

#define IP     "10.200.0.1"
#define PYTHON "/usr/bin/python3"
#define NPROCS 6

static char *dir;
static struct h_proc procs[NPROCS];
static int nprocs;

static void sh(const char *cmd)
{
	char full[4096];
	snprintf(full, sizeof(full), "cd '%s' && ( %s ) >>sh.log 2>&1", dir, cmd);
	cr_assert_eq(system(full), 0, "%s (see %s/sh.log)", cmd, dir);
}

static void setup(void)
{
	cr_assert_eq(unshare(CLONE_NEWNET), 0, "unshare(CLONE_NEWNET) needs root: %m");
	dir = h_tmpdir("guard");
	cr_assert_not_null(dir);
	sh("ip link set lo up && ip link add mlw0 type veth peer name mlw1 && "
	   "ip addr add " IP "/24 dev mlw0 && ip link set mlw0 up && ip link set mlw1 up");
	sh("printf 's3cret-token\\n' > tok && printf 'wrong\\n' > bad");
}

static void teardown(void)
{
	/* Every program stops cleanly on SIGTERM (and, under ASan, without
	 * leaks: those would make the status non-zero). */
	char *why = NULL;
	for (int i = 0; i < nprocs; i++) {
		if (procs[i].pid <= 0)
			continue;
		int st = h_stop(&procs[i], SIGTERM, 10 * cproc_slow());
		if (st != 0 && !why) {
			char *log = h_read_file(procs[i].log, NULL);
			size_t n = log ? strlen(log) : 0;
			if (asprintf(&why, "exit %d, log %s:\n%s", st, procs[i].log,
			             log ? log + (n > 3000 ? n - 3000 : 0) : "") < 0)
				why = NULL;
			free(log);
		}
	}
	nprocs = 0;
	cr_expect_null(why, "a program did not stop cleanly: %s", why ? why : "");
	free(why);
	if (dir) {
		h_rmtree(dir);
		free(dir);
		dir = NULL;
	}
}

TestSuite(listen_guard, .init = setup, .fini = teardown, .timeout = 120);

static char *path(const char *name)
{
	char *p = NULL;
	cr_assert(asprintf(&p, "%s/%s", dir, name) > 0);
	return p;
}

/* Starts a program (name in the build dir) with args; waits for needle in
 * its log. Returns the log path (malloc'd). */
static char *start(const char *prog, const char *const *args, const char *logname,
                   const char *needle)
{
	char *argv[40], *log = path(logname), *bin = h_bin(prog);
	int n = 0;

	cr_assert_lt(nprocs, NPROCS);
	argv[n++] = bin;
	for (int i = 0; args[i] && n < 39; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	cr_assert_eq(h_spawn(&procs[nprocs], argv, log, NULL), 0);
	nprocs++;
	cr_assert(h_wait_log(log, needle, 30 * cproc_slow()), "%s never logged '%s' (see %s)", prog,
	          needle, log);
	free(bin);
	return log;
}

static int run_prog(const char *prog, const char *const *args, char **err)
{
	char *argv[40], *bin = h_bin(prog), *out = NULL;
	int n = 0, rc;

	argv[n++] = bin;
	for (int i = 0; args[i] && n < 39; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	rc = tt_run(argv, NULL, &out, err, 30);
	free(out);
	free(bin);
	return rc;
}

static long get(const char *url, const char *auth)
{
	struct h_http r = {0};
	char hdr[128];
	const char *hs[] = {hdr, NULL};
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", auth ? auth : "");
	long s = h_http("GET", url, NULL, 0, auth ? hs : NULL, false, &r) == 0 ? r.status : -1;
	h_http_free(&r);
	return s;
}

static long post(const char *url, const char *auth, const char *body)
{
	struct h_http r = {0};
	char hdr[128];
	const char *hs[] = {hdr, "Content-Type: application/json", NULL};
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", auth ? auth : "");
	long s = h_http("POST", url, body, strlen(body), auth ? hs : hs + 1, false, &r) == 0
	             ? r.status
	             : -1;
	h_http_free(&r);
	return s;
}

/* The value of one sample line "name value" on the page at url. */
static double metric(const char *url, const char *auth, const char *name)
{
	struct h_http r = {0};
	char hdr[128];
	const char *hs[] = {hdr, NULL};
	double v = -1;
	snprintf(hdr, sizeof(hdr), "Authorization: Bearer %s", auth);
	if (h_http("GET", url, NULL, 0, hs, false, &r) != 0 || r.status != 200) {
		h_http_free(&r);
		return -1;
	}
	size_t n = strlen(name);
	for (char *p = r.body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			v = strtod(p + n + 1, NULL);
	h_http_free(&r);
	return v;
}

static void refused(const char *prog, const char *const *args, const char *addr, const char *flag)
{
	char *err = NULL, want[160];
	int rc = run_prog(prog, args, &err);
	snprintf(want, sizeof(want), "refusing to listen on %s", addr);
	cr_assert_eq(rc, 2, "%s on %s: exit %d, stderr %s", prog, addr, rc, err ? err : "");
	cr_assert(err && strstr(err, want) && strstr(err, flag) && strstr(err, "--insecure"),
	          "%s: %s", prog, err ? err : "");
	/* One line: what is wrong and what to add. */
	cr_assert_eq(strchr(err, '\n'), err + strlen(err) - 1, "%s", err);
	free(err);
}

Test(listen_guard, every_listener_refuses_a_non_loopback_address_without_protection)
{
	char *st = path("st"), *db = path("x.db");

	refused("mlwatch-agent", (const char *[]){"--state-dir", st, "--http", IP ":7071", NULL},
	        IP ":7071", "--http-token-file");
	refused("mlwatch-agent", (const char *[]){"--state-dir", st, "--http", ":7071", NULL},
	        ":7071", "--http-tls-cert");
	refused("mlwatch-agent",
	        (const char *[]){"--state-dir", st, "--http", "127.0.0.1:7071", "--listen-dgram",
	                         "udp://" IP ":7073", NULL},
	        "udp://" IP ":7073", "datagrams cannot authenticate");
	refused("mlwatchd", (const char *[]){"--db", db, "--listen", "tcp://" IP ":7070", NULL},
	        "tcp://" IP ":7070", "--token-file");
	refused("mlwatchd", (const char *[]){"--db", db, "--http", IP ":7072", NULL}, IP ":7072",
	        "--http-token-file");
	refused("mlwatch", (const char *[]){"webhook-listen", "--listen", IP ":9099", NULL},
	        IP ":9099", "--secret-file");
	/* Nothing was left listening, nothing was created by the agent. */
	struct stat sb;
	cr_assert_neq(stat(st, &sb), 0, "the refused agent created %s", st);
	free(st);
	free(db);
}

Test(listen_guard, a_token_admits_the_right_requests_and_counts_the_rest)
{
	char *tok = path("tok"), *st = path("st"), *db = path("x.db");
	const char *ev = "{\"model\":\"m\",\"id\":\"r1\",\"latency_ms\":2}";

	char *clog =
	    start("mlwatchd",
	          (const char *[]){"--db", db, "--listen", "tcp://" IP ":7070", "--token-file", tok,
	                           "--http", IP ":7072", "--http-token-file", tok, NULL},
	          "c.log", "listening listen=");
	char *alog = start("mlwatch-agent",
	                   (const char *[]){"--state-dir", st, "--collector", "tcp://" IP ":7070",
	                                    "--token-file", tok, "--http", IP ":7071",
	                                    "--http-token-file", tok, NULL},
	                   "a.log", "agent ready");
	/* Start-up lines: every address and its protection. */
	cr_assert(h_wait_log(alog, "listening on=http://" IP ":7071 protection=token", 1));
	cr_assert(h_wait_log(clog, "listening on=tcp://" IP ":7070 protection=token", 1));
	cr_assert(h_wait_log(clog, "listening on=http://" IP ":7072 protection=token", 1));

	/* The agent: every path but /healthz. */
	const char *A = "http://" IP ":7071";
	char u[128];
	snprintf(u, sizeof(u), "%s/v1/events", A);
	cr_assert_eq(post(u, NULL, ev), 401);
	cr_assert_eq(post(u, "wrong", ev), 401);
	cr_assert_eq(post(u, "s3cret-token-", ev), 401); /* one byte more */
	cr_assert_eq(post(u, "s3cret-toke", ev), 401);   /* a prefix */
	snprintf(u, sizeof(u), "%s/v1/labels", A);
	cr_assert_eq(post(u, NULL, "{\"model\":\"m\",\"id\":\"r1\",\"label\":\"x\"}"), 401);
	snprintf(u, sizeof(u), "%s/v1/kserve", A);
	cr_assert_eq(post(u, "wrong", "{}"), 401);
	snprintf(u, sizeof(u), "%s/metrics", A);
	cr_assert_eq(get(u, NULL), 401);
	cr_assert_eq(get(u, "wrong"), 401);
	snprintf(u, sizeof(u), "%s/healthz", A);
	cr_assert_eq(get(u, NULL), 200);
	snprintf(u, sizeof(u), "%s/v1/events", A);
	cr_assert_eq(post(u, "s3cret-token", ev), 202);
	snprintf(u, sizeof(u), "%s/metrics", A);
	cr_assert_eq(
	    metric(u, "s3cret-token", "mlwatch_agent_rejected_total{reason=\"unauthorized\"}"), 8);

	/* mlwatchd's /metrics (and whatever else its HTTP server serves). */
	const char *C = "http://" IP ":7072";
	snprintf(u, sizeof(u), "%s/metrics", C);
	cr_assert_eq(get(u, NULL), 401);
	cr_assert_eq(get(u, "wrong"), 401);
	snprintf(u, sizeof(u), "%s/no-such-page", C);
	cr_assert_eq(get(u, NULL), 401, "an unknown path is not a way around the check");
	snprintf(u, sizeof(u), "%s/healthz", C);
	cr_assert_eq(get(u, NULL), 200);
	snprintf(u, sizeof(u), "%s/metrics", C);
	cr_assert_eq(get(u, "s3cret-token"), 200);
	cr_assert_eq(metric(u, "s3cret-token", "mlwatch_collector_http_unauthorized_total"), 3);
	/* webhook-listen on the network with signatures checked. */
	char *wlog = start(
	    "mlwatch",
	    (const char *[]){"webhook-listen", "--listen", IP ":9099", "--secret-file", tok, NULL},
	    "w.log", "listening on http://" IP ":9099/ signature check on");
	free(wlog);
	/* The event went through the agent to the collector on 10.200.0.1 with
	 * the agents' token. */
	double t0 = h_now(), stored = 0;
	while (h_now() - t0 < 20 &&
	       (stored = metric(u, "s3cret-token", "mlwatch_collector_events_total")) < 1)
		h_sleep(0.1);
	cr_assert_geq(stored, 1, "the event never reached mlwatchd (see %s)", clog);
	free(tok), free(st), free(db), free(alog), free(clog);
}

Test(listen_guard, insecure_starts_every_listener_with_a_warning)
{
	char *st = path("st"), *db = path("x.db");
	const char *ev = "{\"model\":\"m\",\"id\":\"r1\",\"latency_ms\":2}";

	char *alog =
	    start("mlwatch-agent",
	          (const char *[]){"--state-dir", st, "--http", IP ":7071", "--listen-dgram",
	                           "udp://" IP ":7073", "--insecure", NULL},
	          "a.log", "agent ready");
	cr_assert(
	    h_wait_log(alog, "warn agent listening on=http://" IP ":7071 protection=none", 1));
	cr_assert(h_wait_log(alog, "warn agent listening on=udp://" IP ":7073 protection=none", 1));
	cr_assert_eq(post("http://" IP ":7071/v1/events", NULL, ev), 202);
	char *clog = start("mlwatchd",
	                   (const char *[]){"--db", db, "--listen", "tcp://" IP ":7070", "--http",
	                                    IP ":7072", "--insecure", NULL},
	                   "c.log", "listening listen=");
	cr_assert(
	    h_wait_log(clog, "warn collector listening on=tcp://" IP ":7070 protection=none", 1));
	cr_assert(
	    h_wait_log(clog, "warn collector listening on=http://" IP ":7072 protection=none", 1));
	cr_assert_eq(get("http://" IP ":7072/metrics", NULL), 200);
	char *wlog =
	    start("mlwatch",
	          (const char *[]){"webhook-listen", "--listen", IP ":9099", "--insecure", NULL},
	          "w.log", "listening on http://" IP ":9099/");
	cr_assert(h_wait_log(wlog, "warning: --insecure", 1));
	free(st), free(db), free(alog), free(clog), free(wlog);
}

Test(listen_guard, a_unix_datagram_socket_is_0660_or_stricter_whatever_the_umask)
{
	char *st = path("st"), *sock = path("ev.sock"), url[600];
	snprintf(url, sizeof(url), "unix:%s", sock);
	mode_t old = umask(0);
	char *alog =
	    start("mlwatch-agent", (const char *[]){"--state-dir", st, "--listen-dgram", url, NULL},
	          "a.log", "agent ready");
	umask(old);
	struct stat sb;
	cr_assert_eq(stat(sock, &sb), 0);
	cr_assert(S_ISSOCK(sb.st_mode));
	cr_assert_eq(sb.st_mode & 07777, 0660, "mode %04o", (unsigned)(sb.st_mode & 07777));
	cr_assert(h_wait_log(alog, "protection=unix-mode-0660", 1));
	/* A stricter umask still applies. */
	char *st2 = path("st2"), *sock2 = path("ev2.sock"), url2[600];
	snprintf(url2, sizeof(url2), "unix:%s", sock2);
	old = umask(0077);
	char *blog = start(
	    "mlwatch-agent",
	    (const char *[]){"--state-dir", st2, "--http", "off", "--listen-dgram", url2, NULL},
	    "b.log", "agent ready");
	umask(old);
	cr_assert_eq(stat(sock2, &sb), 0);
	cr_assert_eq(sb.st_mode & 07777, 0600, "mode %04o", (unsigned)(sb.st_mode & 07777));
	free(st), free(sock), free(alog), free(st2), free(sock2), free(blog);
}

static void make_certs(void)
{
	const char *ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
	         "openssl req -x509 %s -keyout ca.key -out ca.pem -days 2 -subj /CN=mlw-test-ca && "
	         "openssl req -x509 %s -keyout ca2.key -out ca2.pem -days 2 -subj /CN=other-ca && "
	         "openssl req %s -keyout srv.key -out srv.csr -subj /CN=" IP " && "
	         "printf 'subjectAltName=IP:" IP "\\nextendedKeyUsage=serverAuth\\n' > srv.ext && "
	         "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	         "-out srv.pem -days 2 -extfile srv.ext && "
	         "openssl req %s -keyout cli.key -out cli.csr -subj /CN=client && "
	         "printf 'extendedKeyUsage=clientAuth\\n' > cli.ext && "
	         "openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
	         "-out cli.pem -days 2 -extfile cli.ext && "
	         "openssl x509 -req -in cli.csr -CA ca2.pem -CAkey ca2.key -CAcreateserial "
	         "-out cli2.pem -days 2 -extfile cli.ext",
	         ec, ec, ec, ec);
	sh(cmd);
}

/* Runs the example client; returns its exit status, stdout in *out. */
static int client(const char *const *args, char **out)
{
	char *argv[32], *script = h_src("examples/clients/mlwatch_client.py"), *err = NULL;
	int n = 0;
	argv[n++] = PYTHON;
	argv[n++] = script;
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	int rc = tt_run(argv, NULL, out, &err, 60);
	if (rc != 0 && rc != 1)
		cr_log_error("client exit %d stderr %s", rc, err ? err : "");
	free(err);
	free(script);
	return rc;
}

Test(listen_guard, https_on_the_agent_refuses_another_ca_and_takes_the_python_client)
{
	make_certs();
	char *st = path("st"), *st2 = path("st2"), *tok = path("tok");
	char *crt = path("srv.pem"), *key = path("srv.key"), *ca = path("ca.pem"),
	     *ca2 = path("ca2.pem"), *ccrt = path("cli.pem"), *ckey = path("cli.key");
	char *out = NULL;

	char *alog =
	    start("mlwatch-agent",
	          (const char *[]){"--state-dir", st, "--http", IP ":7443", "--http-tls-cert", crt,
	                           "--http-tls-key", key, "--http-token-file", tok, NULL},
	          "a.log", "agent ready");
	cr_assert(h_wait_log(alog, "listening on=https://" IP ":7443 protection=tls+token", 1));
	/* A client trusting another CA: refused during the handshake. */
	int rc = client((const char *[]){"--http", "https://" IP ":7443", "--count", "5",
	                                 "--cacert", ca2, "--token-file", tok, NULL},
	                &out);
	cr_assert_eq(rc, 1, "%s", out ? out : "");
	cr_assert(out && strstr(out, "CERTIFICATE_VERIFY_FAILED"), "%s", out ? out : "");
	free(out), out = NULL;
	/* Plain HTTP to the HTTPS port gets nothing useful either. */
	cr_assert_neq(post("http://" IP ":7443/v1/events", "s3cret-token", "{}"), 202);
	/* The right CA and token: every event accepted. */
	rc = client((const char *[]){"--http", "https://" IP ":7443", "--count", "50", "--cacert",
	                             ca, "--token-file", tok, NULL},
	            &out);
	cr_assert_eq(rc, 0, "%s", out ? out : "");
	cJSON *j = cJSON_Parse(out);
	cr_assert_not_null(j, "%s", out);
	cJSON *acc = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "http"), "accepted");
	cr_assert(cJSON_IsNumber(acc) && acc->valuedouble == 50, "%s", out);
	cJSON_Delete(j);
	free(out), out = NULL;

	/* Client certificates: a second agent asks for one signed by ca.pem. */
	char *blog =
	    start("mlwatch-agent",
	          (const char *[]){"--state-dir", st2, "--http", IP ":7444", "--http-tls-cert", crt,
	                           "--http-tls-key", key, "--http-tls-ca", ca, NULL},
	          "b.log", "agent ready");
	cr_assert(h_wait_log(blog, "protection=tls+client-cert", 1));
	rc = client(
	    (const char *[]){"--http", "https://" IP ":7444", "--count", "5", "--cacert", ca, NULL},
	    &out);
	cr_assert_eq(rc, 1, "%s", out ? out : "");
	cr_assert(strstr(out, "\"status\": 401") && strstr(out, "client certificate"), "%s", out);
	free(out), out = NULL;
	/* A client certificate that another CA signed: refused the same way. */
	char *ccrt2 = path("cli2.pem");
	rc = client((const char *[]){"--http", "https://" IP ":7444", "--count", "5", "--cacert",
	                             ca, "--cert", ccrt2, "--key", ckey, NULL},
	            &out);
	cr_assert_eq(rc, 1, "%s", out ? out : "");
	cr_assert(strstr(out, "\"status\": 401") && strstr(out, "client certificate"), "%s", out);
	free(out), out = NULL;
	free(ccrt2);
	rc = client((const char *[]){"--http", "https://" IP ":7444", "--count", "20", "--cacert",
	                             ca, "--cert", ccrt, "--key", ckey, NULL},
	            &out);
	cr_assert_eq(rc, 0, "%s", out ? out : "");
	cr_assert(strstr(out, "\"accepted\": 20"), "%s", out);
	free(out);
	free(st), free(st2), free(tok), free(crt), free(key), free(ca), free(ca2), free(ccrt),
	    free(ckey), free(alog), free(blog);
}

/* health and lastError of the target of job in Prometheus' /api/v1/targets. */
static bool target(const char *page, const char *job, char *health, size_t hcap, char *lasterr,
                   size_t ecap)
{
	cJSON *j = cJSON_Parse(page), *t;
	bool found = false;
	cJSON *ts = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "data"), "activeTargets");
	cJSON_ArrayForEach(t, ts)
	{
		cJSON *l = cJSON_GetObjectItem(t, "labels");
		cJSON *jb = cJSON_GetObjectItem(l, "job");
		if (!cJSON_IsString(jb) || strcmp(jb->valuestring, job) != 0)
			continue;
		cJSON *h = cJSON_GetObjectItem(t, "health"),
		      *e = cJSON_GetObjectItem(t, "lastError");
		snprintf(health, hcap, "%s", cJSON_IsString(h) ? h->valuestring : "");
		snprintf(lasterr, ecap, "%s", cJSON_IsString(e) ? e->valuestring : "");
		found = true;
	}
	cJSON_Delete(j);
	return found;
}

Test(listen_guard, prometheus_scrapes_both_daemons_with_the_token_and_gets_401_without)
{
	char *st = path("st"), *db = path("x.db"), *tok = path("tok"), *conf = path("prom.yml"),
	     *tsdb = path("tsdb");
	char yml[2048], cfgarg[700], tsdbarg[700];

	free(start(
	    "mlwatchd",
	    (const char *[]){"--db", db, "--http", IP ":7072", "--http-token-file", tok, NULL},
	    "c.log", "listening listen="));
	free(start("mlwatch-agent",
	           (const char *[]){"--state-dir", st, "--http", IP ":7071", "--http-token-file",
	                            tok, NULL},
	           "a.log", "agent ready"));
	/* The README's snippet: authorization with credentials_file. */
	snprintf(yml, sizeof(yml),
	         "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
	         "scrape_configs:\n"
	         "  - job_name: agent\n    authorization:\n      credentials_file: %s\n"
	         "    static_configs:\n      - targets: ['" IP ":7071']\n"
	         "  - job_name: collector\n    authorization:\n      credentials_file: %s\n"
	         "    static_configs:\n      - targets: ['" IP ":7072']\n"
	         "  - job_name: agent_without_token\n"
	         "    static_configs:\n      - targets: ['" IP ":7071']\n"
	         "  - job_name: collector_without_token\n"
	         "    static_configs:\n      - targets: ['" IP ":7072']\n",
	         tok, tok);
	cr_assert_eq(h_write_file(conf, yml, strlen(yml)), 0);
	snprintf(cfgarg, sizeof(cfgarg), "--config.file=%s", conf);
	snprintf(tsdbarg, sizeof(tsdbarg), "--storage.tsdb.path=%s", tsdb);
	char *argv[] = {"/usr/bin/prometheus", cfgarg, tsdbarg,
	                "--web.listen-address=127.0.0.1:9090", NULL};
	char *plog = path("prom.log");
	cr_assert_lt(nprocs, NPROCS);
	/* Prometheus itself never runs under valgrind (h_spawn would wrap it
	 * when MLWATCH_VALGRIND=1). */
	char *vg = getenv("MLWATCH_VALGRIND") ? strdup(getenv("MLWATCH_VALGRIND")) : NULL;
	unsetenv("MLWATCH_VALGRIND");
	int sp = h_spawn(&procs[nprocs++], argv, plog, NULL);
	if (vg)
		setenv("MLWATCH_VALGRIND", vg, 1);
	free(vg);
	cr_assert_eq(sp, 0);

	/* Until every target was scraped once (bounded). */
	const char *jobs[] = {"agent", "collector", "agent_without_token",
	                      "collector_without_token"};
	char health[4][16], lasterr[4][512];
	bool all = false;
	double t0 = h_now();
	while (!all && h_now() - t0 < 90) {
		struct h_http r = {0};
		all = h_http("GET", "http://127.0.0.1:9090/api/v1/targets", NULL, 0, NULL, false,
		             &r) == 0 &&
		      r.status == 200;
		for (int i = 0; all && i < 4; i++)
			all = target(r.body, jobs[i], health[i], sizeof(health[i]), lasterr[i],
			             sizeof(lasterr[i])) &&
			      strcmp(health[i], "unknown") != 0 && health[i][0];
		h_http_free(&r);
		if (!all)
			h_sleep(0.2);
	}
	cr_assert(all, "Prometheus did not scrape all four targets in 90 s (see %s)", plog);
	cr_log_info("prometheus: every target scraped after %.1f s", h_now() - t0);
	cr_assert_str_eq(health[0], "up", "agent: %s", lasterr[0]);
	cr_assert_str_eq(health[1], "up", "collector: %s", lasterr[1]);
	cr_assert_str_eq(health[2], "down");
	cr_assert_str_eq(health[3], "down");
	cr_assert(strstr(lasterr[2], "401"), "%s", lasterr[2]);
	cr_assert(strstr(lasterr[3], "401"), "%s", lasterr[3]);
	/* And `up` through the query API says the same. */
	struct h_http q = {0};
	cr_assert_eq(h_http("GET", "http://127.0.0.1:9090/api/v1/query?query=sum(up)", NULL, 0,
	                    NULL, false, &q),
	             0);
	cr_assert(strstr(q.body, "\"2\""), "sum(up) should be 2: %s", q.body);
	h_http_free(&q);
	/* The refusals were counted on both sides. */
	cr_assert_geq(metric("http://" IP ":7071/metrics", "s3cret-token",
	                     "mlwatch_agent_rejected_total{reason=\"unauthorized\"}"),
	              1);
	cr_assert_geq(metric("http://" IP ":7072/metrics", "s3cret-token",
	                     "mlwatch_collector_http_unauthorized_total"),
	              1);
	free(st), free(db), free(tok), free(conf), free(tsdb), free(plog);
}

/* curl's HTTP status for url with the given CA (and token), or -1 when the
 * TLS handshake or connection failed. */
static long curl_status(const char *url, const char *ca, const char *token)
{
	char auth[128], *out = NULL, *err = NULL;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
	char *argv[] = {"/usr/bin/curl", "-s", "-o",       "/dev/null", "-w", "%{http_code}",
	                "--max-time",    "10", "--cacert", (char *)ca,  "-H", auth,
	                (char *)url,     NULL};
	int rc = tt_run(argv, NULL, &out, &err, 20);
	long st = rc == 0 && out ? strtol(out, NULL, 10) : -1;
	free(out);
	free(err);
	return st;
}

Test(listen_guard, https_on_mlwatchd_metrics)
{
	make_certs();
	char *db = path("x.db"), *tok = path("tok"), *crt = path("srv.pem"), *key = path("srv.key"),
	     *ca = path("ca.pem"), *ca2 = path("ca2.pem");
	char *clog =
	    start("mlwatchd",
	          (const char *[]){"--db", db, "--http", IP ":7445", "--http-tls-cert", crt,
	                           "--http-tls-key", key, "--http-token-file", tok, NULL},
	          "c.log", "listening listen=");
	cr_assert(h_wait_log(clog, "listening on=https://" IP ":7445 protection=tls+token", 1));
	cr_assert_eq(curl_status("https://" IP ":7445/metrics", ca2, "s3cret-token"), -1,
	             "a client trusting another CA got through");
	cr_assert_eq(curl_status("https://" IP ":7445/metrics", ca, NULL), 401);
	cr_assert_eq(curl_status("https://" IP ":7445/metrics", ca, "s3cret-token"), 200);
	cr_assert_eq(curl_status("https://" IP ":7445/healthz", ca, NULL), 200);
	free(db), free(tok), free(crt), free(key), free(ca), free(ca2), free(clog);
}
