/* The examples work against the real programs: the Python client's events
 * (HTTP, UDP, unix datagrams) and labels are counted by a real mlwatch-agent,
 * the JSONL producer's rotating log is followed by its --tail, the KServe
 * payloads with their CloudEvents headers pair into one event each, and the
 * systemd units pass `systemd-analyze verify` with ExecStart flags the
 * programs accept.
 *
 * An agent that exits at start, lacks a metric or answers 404 on an input is
 * a failure here, never a skip: a skip would hide exactly that regression. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "harness.h"

#define PYTHON "/usr/bin/python3"

/* ---- running a command ------------------------------------------------- */

/* Runs argv (argv[0] a path) with stdout to out_path and stderr to err_path
 * (either may be NULL: /dev/null); kills it after timeout_s. Returns the exit
 * status, 128+signal, or -1. */
static int run(char *const argv[], const char *out_path, const char *err_path, double timeout_s)
{
	int status;
	pid_t pid;
	double end = h_now() + timeout_s;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int o = open(out_path ? out_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err_path ? err_path : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int nul = open("/dev/null", O_RDONLY);
		if (o < 0 || e < 0 || nul < 0)
			_exit(126);
		dup2(o, 1);
		dup2(e, 2);
		dup2(nul, 0);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0)
			return -1;
		if (h_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			return 128 + SIGKILL;
		}
		h_sleep(0.01);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* ---- the agent ---------------------------------------------------------- */

struct agent {
	char *dir;
	int http, udp;
	char sock[512], tail[512], log[512], url[64], db[512];
	struct h_proc p;
	struct h_proc collector; /* a real mlwatchd, so events go all the way to SQLite */
	bool up;
};

static struct agent ag;

/* The sum of the samples of metric name whose labels contain label (NULL:
 * all); -1 when no sample of name exists. */
static double metric_sum(const char *text, const char *name, const char *label)
{
	size_t n = strlen(name);
	double sum = -1;

	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		if (strncmp(line, name, n) == 0 && (line[n] == '{' || line[n] == ' ')) {
			const char *sp = line + n;
			if (*sp == '{') {
				const char *close = strchr(sp, '}');
				if (!close || (nl && close > nl))
					goto next;
				if (label &&
				    !memmem(sp, (size_t)(close - sp), label, strlen(label)))
					goto next;
				sp = close + 1;
			} else if (label) {
				goto next;
			}
			sum = (sum < 0 ? 0 : sum) + strtod(sp, NULL);
		}
	next:
		line = nl ? nl + 1 : NULL;
	}
	return sum;
}

static double agent_metric(const char *name, const char *label)
{
	char url[128];
	struct h_http r;
	double v = -1;

	snprintf(url, sizeof(url), "%s/metrics", ag.url);
	if (h_http("GET", url, NULL, 0, NULL, false, &r) == 0) {
		if (r.status == 200)
			v = metric_sum(r.body, name, label);
		h_http_free(&r);
	}
	return v;
}

/* Polls until the metric equals want (or timeout); returns the last value. */
static double wait_metric(const char *name, const char *label, double want, double timeout_s)
{
	double end = h_now() + timeout_s, v;
	for (;;) {
		v = agent_metric(name, label);
		if (v == want || h_now() > end)
			return v;
		h_sleep(0.05);
	}
}

#define RECEIVED "mlwatch_agent_events_received_total"

static void agent_start(void)
{
	char *bin = h_bin("mlwatch-agent");
	char conf[600], state[600], http[64], coll[64], udp[64], unixs[600], tail[600];
	int st;

	memset(&ag, 0, sizeof(ag));
	ag.dir = h_tmpdir("examples");
	cr_assert_not_null(ag.dir);
	ag.http = h_free_port();
	ag.udp = h_free_port();
	snprintf(ag.url, sizeof(ag.url), "http://127.0.0.1:%d", ag.http);
	snprintf(ag.sock, sizeof(ag.sock), "%s/ev.sock", ag.dir);
	snprintf(ag.tail, sizeof(ag.tail), "%s/preds.jsonl", ag.dir);
	snprintf(ag.log, sizeof(ag.log), "%s/agent.log", ag.dir);
	snprintf(conf, sizeof(conf), "%s/empty.conf", ag.dir);
	snprintf(state, sizeof(state), "%s/state", ag.dir);
	snprintf(http, sizeof(http), "127.0.0.1:%d", ag.http);
	snprintf(ag.db, sizeof(ag.db), "%s/mlwatch.db", ag.dir);
	snprintf(udp, sizeof(udp), "udp://127.0.0.1:%d", ag.udp);
	snprintf(unixs, sizeof(unixs), "unix:%s", ag.sock);
	snprintf(tail, sizeof(tail), "%s", ag.tail);
	cr_assert_eq(h_write_file(conf, "", 0), 0);
	cr_assert_eq(h_write_file(ag.tail, "", 0), 0); /* the producer appends to it */

	/* The collector first, so that the agent's batches are acknowledged. */
	char *cbin = h_bin("mlwatchd"), clog[600], listen[64];
	int cport = h_free_port();
	snprintf(listen, sizeof(listen), "tcp://127.0.0.1:%d", cport);
	snprintf(coll, sizeof(coll), "%s", listen);
	snprintf(clog, sizeof(clog), "%s/mlwatchd.log", ag.dir);
	char *cargv[] = {cbin,       "--config", conf,     "--db", ag.db,
	                 "--listen", listen,     "--http", "off",  NULL};
	cr_assert_eq(h_spawn(&ag.collector, cargv, clog, NULL), 0);
	free(cbin);
	if (!h_wait_port(cport, 15)) {
		char *log = h_read_file(clog, NULL);
		cr_assert_fail("mlwatchd did not listen on %s within 15 s:\n%s", listen,
		               log ? log : "");
	}

	char *argv[] = {bin,   "--config",    conf,  "--http",         http,    "--collector",
	                coll,  "--state-dir", state, "--listen-dgram", udp,     "--listen-dgram",
	                unixs, "--tail",      tail,  "--log-level",    "debug", NULL};
	cr_assert_eq(h_spawn(&ag.p, argv, ag.log, NULL), 0);
	free(bin);

	double end = h_now() + 15;
	while (h_now() < end) {
		if (h_wait_port(ag.http, 0.1)) {
			ag.up = true;
			break;
		}
		pid_t r = waitpid(ag.p.pid, &st, WNOHANG);
		if (r == ag.p.pid) {
			ag.p.pid = 0;
			char *log = h_read_file(ag.log, NULL);
			cr_assert_fail("mlwatch-agent exited (status %d) before serving HTTP:\n%s",
			               st, log ? log : "");
		}
	}
	cr_assert(ag.up, "mlwatch-agent did not open 127.0.0.1:%d within 15 s", ag.http);
	cr_assert_geq(agent_metric(RECEIVED, NULL), 0, "mlwatch-agent's /metrics has no %s",
	              RECEIVED);
}

static void agent_stop(void)
{
	if (ag.p.pid > 0) {
		int rc = h_stop(&ag.p, SIGTERM, 10);
		cr_expect_eq(rc, 0, "mlwatch-agent exit status %d after SIGTERM", rc);
	}
	if (ag.collector.pid > 0) {
		int rc = h_stop(&ag.collector, SIGTERM, 10);
		cr_expect_eq(rc, 0, "mlwatchd exit status %d after SIGTERM", rc);
	}
	if (ag.dir) {
		h_rmtree(ag.dir);
		free(ag.dir);
	}
	memset(&ag, 0, sizeof(ag));
}

/* Runs an examples/clients script with /usr/bin/python3; returns its stdout
 * parsed as JSON (the scripts print one JSON line). */
static cJSON *run_python(const char *script, const char *const *args, int want_status)
{
	char out[600], err[600];
	char *path = h_src(script);
	char *argv[32];
	int n = 0;

	argv[n++] = PYTHON;
	argv[n++] = path;
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	snprintf(out, sizeof(out), "%s/py.out", ag.dir);
	snprintf(err, sizeof(err), "%s/py.err", ag.dir);
	int rc = run(argv, out, err, 60);
	char *o = h_read_file(out, NULL), *e = h_read_file(err, NULL);
	cr_assert_eq(rc, want_status, "%s exited %d\nstdout: %s\nstderr: %s", script, rc,
	             o ? o : "", e ? e : "");
	cJSON *j = cJSON_Parse(o ? o : "");
	cr_assert_not_null(j, "%s printed no JSON: %s", script, o ? o : "");
	free(o);
	free(e);
	free(path);
	return j;
}

static double jnum(const cJSON *obj, const char *a, const char *b)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(obj, a);
	if (b)
		x = cJSON_GetObjectItemCaseSensitive(x, b);
	cr_assert(cJSON_IsNumber(x), "no number at %s%s%s", a, b ? "." : "", b ? b : "");
	return x->valuedouble;
}

TestSuite(clients, .init = agent_start, .fini = agent_stop, .timeout = 90);

Test(clients, python_client_http_and_datagrams_counted_by_the_agent)
{
	char udp[32];
	snprintf(udp, sizeof(udp), "127.0.0.1:%d", ag.udp);

	/* HTTP, JSON arrays of 80, half the events labelled afterwards. */
	cJSON *j =
	    run_python("examples/clients/mlwatch_client.py",
	               (const char *[]){"--http", ag.url, "--count", "200", "--batch", "80",
	                                "--labels", "0.5", "--model", "fraud", "--seed", "1", NULL},
	               0);
	cr_assert_eq(jnum(j, "http", "sent"), 200);
	cr_assert_eq(jnum(j, "http", "accepted"), 200);
	double labels = jnum(j, "http", "labels_sent");
	cr_assert(labels > 60 && labels < 140, "labels_sent %g", labels);
	cr_assert_eq(jnum(j, "http", "labels_accepted"), labels);
	cJSON_Delete(j);

	/* HTTP, NDJSON bodies. */
	j = run_python("examples/clients/mlwatch_client.py",
	               (const char *[]){"--http", ag.url, "--count", "100", "--ndjson", "--model",
	                                "churn", NULL},
	               0);
	cr_assert_eq(jnum(j, "http", "accepted"), 100);
	cJSON_Delete(j);
	cr_assert_eq(wait_metric(RECEIVED, "input=\"http\"", 300, 5), 300);
	cr_assert_eq(wait_metric("mlwatch_agent_labels_received_total", NULL, labels, 5), labels);

	/* Datagrams: UDP, then the unix socket. */
	j = run_python("examples/clients/mlwatch_client.py",
	               (const char *[]){"--udp", udp, "--count", "150", NULL}, 0);
	cr_assert_eq(jnum(j, "udp", "sent"), 150);
	cr_assert_eq(jnum(j, "udp", "dropped"), 0);
	cJSON_Delete(j);
	cr_assert_eq(wait_metric(RECEIVED, "input=\"dgram\"", 150, 5), 150);

	j = run_python("examples/clients/mlwatch_client.py",
	               (const char *[]){"--unix", ag.sock, "--count", "70", NULL}, 0);
	cr_assert_eq(jnum(j, "unix", "sent"), 70);
	cJSON_Delete(j);
	cr_assert_eq(wait_metric(RECEIVED, "input=\"dgram\"", 220, 5), 220);
	cr_assert_eq(agent_metric(RECEIVED, NULL), 520);

	/* All the way to the collector: every event and label acknowledged. */
	cr_assert_eq(wait_metric("mlwatch_agent_events_sent_total", NULL, 520, 10), 520);
	cr_assert_eq(wait_metric("mlwatch_agent_labels_sent_total", NULL, labels, 10), labels);
}

Test(clients, python_client_reports_a_refused_request)
{
	/* An invalid model name: the agent answers 400 and the client exits 1 with
	 * the agent's reason in its report. */
	cJSON *j = run_python(
	    "examples/clients/mlwatch_client.py",
	    (const char *[]){"--http", ag.url, "--count", "3", "--model", "bad model!", NULL}, 1);
	const cJSON *errs =
	    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "http"), "errors");
	cr_assert(cJSON_IsArray(errs) && cJSON_GetArraySize(errs) == 1);
	cr_assert_eq(jnum(cJSON_GetArrayItem(errs, 0), "status", NULL), 400);
	cJSON_Delete(j);
	cr_assert_eq(agent_metric(RECEIVED, "input=\"http\""), 0);
}

Test(clients, jsonl_producer_rotating_log_followed_by_tail)
{
	/* 300 lines at 150/s, rotated by rename every ~16 KiB (~75 lines, every
	 * ~0.5 s): the agent must follow each rotation and lose no line. */
	cJSON *j = run_python("examples/clients/jsonl_producer.py",
	                      (const char *[]){"--out", ag.tail, "--count", "300", "--rate", "150",
	                                       "--rotate-bytes", "16KiB", "--keep", "10", NULL},
	                      0);
	cr_assert_eq(jnum(j, "lines", NULL), 300);
	cr_assert_geq(jnum(j, "rotations", NULL), 2);
	cJSON_Delete(j);
	double v = wait_metric(RECEIVED, "input=\"tail\"", 300, 10);
	cr_assert_eq(v, 300, "tail input counted %g of 300 lines", v);
	cr_assert_eq(wait_metric("mlwatch_agent_events_sent_total", NULL, 300, 10), 300);
}

/* ---- KServe ------------------------------------------------------------- */

/* `mlwatch export --model M --format jsonl` on the collector's database, as
 * a JSON array of the event objects. */
static cJSON *export_jsonl(const char *model)
{
	char *bin = h_bin("mlwatch"), out[600], err[600];
	snprintf(out, sizeof(out), "%s/export.out", ag.dir);
	snprintf(err, sizeof(err), "%s/export.err", ag.dir);
	char *argv[] = {bin,       "export", "--db",     ag.db,   "--model", (char *)model,
	                "--since", "1h",     "--format", "jsonl", NULL};
	int rc = run(argv, out, err, 30);
	char *o = h_read_file(out, NULL), *e = h_read_file(err, NULL);
	cr_assert_eq(rc, 0, "mlwatch export exited %d: %s", rc, e ? e : "");
	cJSON *arr = cJSON_CreateArray();
	for (char *p = o; p && *p;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (*p) {
			cJSON *j = cJSON_Parse(p);
			cr_assert_not_null(j, "mlwatch export printed a line that is not JSON: %s",
			                   p);
			cJSON_AddItemToArray(arr, j);
		}
		p = nl ? nl + 1 : NULL;
	}
	free(o);
	free(e);
	free(bin);
	return arr;
}

/* Reads examples/kserve/headers-KIND-VER.txt into "K: V" lines, with ce-id
 * replaced by id and ce-time by ts (Unix seconds); returns a NULL-terminated list (malloc'd
 * strings). */
static char **kserve_headers(const char *kind, const char *ver, const char *id, double ts)
{
	char rel[128];
	snprintf(rel, sizeof(rel), "examples/kserve/headers-%s-%s.txt", kind, ver);
	char *path = h_src(rel);
	char *text = h_read_file(path, NULL);
	cr_assert_not_null(text, "cannot read %s", path);
	char **h = calloc(32, sizeof(*h));
	int n = 0;
	bool type_ok = false;
	for (char *p = text; p && *p && n < 31;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		if (*p && *p != '#') {
			if (strncasecmp(p, "ce-id:", 6) == 0) {
				cr_assert_neq(asprintf(&h[n++], "ce-id: %s", id), -1);
			} else if (strncasecmp(p, "ce-time:", 8) == 0 ||
			           strncasecmp(p, "ce-recordedtime:", 16) == 0) {
				/* KServe v0.18+ stamps both; the agent needs the second to
				 * trust the first as an occurrence time. */
				bool rec = p[3] == 'r' || p[3] == 'R';
				time_t sec = (time_t)ts;
				struct tm tm;
				char buf[64];
				gmtime_r(&sec, &tm);
				strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
				cr_assert_neq(
				    asprintf(&h[n++], "%s: %s.%03dZ",
				             rec ? "ce-recordedtime" : "ce-time", buf,
				             (int)((ts - (double)sec) * 1000 + 0.5) % 1000),
				    -1);
			} else {
				h[n++] = strdup(p);
				char want[80];
				snprintf(want, sizeof(want),
				         "ce-type: org.kubeflow.serving.inference.%s", kind);
				type_ok |= strcmp(p, want) == 0;
			}
		}
		p = nl ? nl + 1 : NULL;
	}
	cr_assert(type_ok, "%s lacks the ce-type of a %s", path, kind);
	free(text);
	free(path);
	return h;
}

static long kserve_post(const char *kind, const char *ver, const char *id, double ts)
{
	char rel[128], url[128];
	snprintf(rel, sizeof(rel), "examples/kserve/%s-%s.json", kind, ver);
	char *path = h_src(rel);
	size_t len;
	char *body = h_read_file(path, &len);
	cr_assert_not_null(body, "cannot read %s", path);
	char **h = kserve_headers(kind, ver, id, ts);
	struct h_http r;
	snprintf(url, sizeof(url), "%s/v1/kserve", ag.url);
	cr_assert_eq(h_http("POST", url, body, len, (const char *const *)h, false, &r), 0);
	long status = r.status;
	cr_expect(status / 100 == 2, "%s-%s: HTTP %ld %s", kind, ver, status, r.body);
	h_http_free(&r);
	for (int i = 0; h[i]; i++)
		free(h[i]);
	free(h);
	free(body);
	free(path);
	return status;
}

TestSuite(kserve, .init = agent_start, .fini = agent_stop, .timeout = 60);

Test(kserve, example_pairs_become_one_event_each)
{
	/* v1, half by half from the example files: the request alone is not an
	 * event yet; with its response it is exactly one. */
	double t0 = floor(clock_now()) + 0.25; /* the request's ce-time; the response 13 ms later */
	long s = kserve_post("request", "v1", "examples-test-v1", t0);
	cr_assert_eq(s / 100, 2, "POST /v1/kserve (request v1): HTTP %ld", s);
	h_sleep(0.2);
	cr_assert_eq(agent_metric(RECEIVED, "input=\"kserve\""), 0,
	             "a request without its response counted as an event");
	cr_assert_eq(kserve_post("response", "v1", "examples-test-v1", t0 + 0.013) / 100, 2);
	cr_assert_eq(wait_metric(RECEIVED, "input=\"kserve\"", 1, 5), 1);

	/* v2 through the example script (curl), as an SRE would try it. */
	char *script = h_src("examples/kserve/post_pair.sh");
	char out[600], err[600];
	snprintf(out, sizeof(out), "%s/pair.out", ag.dir);
	snprintf(err, sizeof(err), "%s/pair.err", ag.dir);
	char *argv[] = {"/bin/sh", script, "-v", "v2", "-l", "25", ag.url, NULL};
	int rc = run(argv, out, err, 30);
	char *o = h_read_file(out, NULL), *e = h_read_file(err, NULL);
	cr_assert_eq(rc, 0, "post_pair.sh -v v2 exited %d\n%s%s", rc, o ? o : "", e ? e : "");
	cr_assert(o && strstr(o, "request: HTTP 2") && strstr(o, "response: HTTP 2"), "%s", o);
	free(o);
	free(e);
	free(script);
	cr_assert_eq(wait_metric(RECEIVED, "input=\"kserve\"", 2, 5), 2);
	cr_assert_eq(agent_metric("mlwatch_agent_kserve_paired_total", NULL), 2,
	             "mlwatch_agent_kserve_paired_total is not 2 (-1: missing)");
	cr_assert_eq(agent_metric(RECEIVED, NULL), 2, "nothing else than the two pairs counted");

	/* The two events as stored by the collector: features from the request,
	 * prediction from the response, latency from the two ce-times. */
	cr_assert_eq(wait_metric("mlwatch_agent_events_sent_total", NULL, 2, 10), 2);
	cJSON *evs = export_jsonl("fraud");
	char *dump = cJSON_PrintUnformatted(evs);
	cr_assert_eq(cJSON_GetArraySize(evs), 2, "mlwatch export found %d events: %s",
	             cJSON_GetArraySize(evs), dump);
	free(dump);
	int v1 = 0, v2 = 0;
	const cJSON *ev;
	cJSON_ArrayForEach(ev, evs)
	{
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(ev, "id");
		const cJSON *f = cJSON_GetObjectItemCaseSensitive(ev, "features");
		cr_assert(cJSON_IsString(id));
		cr_assert_float_eq(jnum(f, "amount", NULL), 129.5, 1e-9);
		cr_assert_float_eq(jnum(f, "age", NULL), 34, 1e-9);
		const cJSON *country = cJSON_GetObjectItemCaseSensitive(f, "country");
		cr_assert(cJSON_IsString(country) && strcmp(country->valuestring, "DE") == 0);
		cr_assert_float_eq(jnum(ev, "prediction", NULL), 1, 1e-9);
		double lat = jnum(ev, "latency_ms", NULL);
		if (strcmp(id->valuestring, "examples-test-v1") == 0) {
			v1++;
			cr_assert_float_eq(lat, 13, 0.5, "v1 latency %g ms", lat);
			cr_assert_float_eq(jnum(ev, "ts", NULL), t0, 0.002);
		} else {
			v2++;
			cr_assert_float_eq(lat, 25, 0.5, "v2 latency %g ms", lat);
		}
	}
	cr_assert(v1 == 1 && v2 == 1);
	cJSON_Delete(evs);
}

/* ---- systemd ------------------------------------------------------------ */

static const char *const units[] = {"mlwatchd", "mlwatch-agent"};

/* Copies examples/systemd/NAME.service into dir with /usr/local/bin/ replaced
 * by the build directory (verify checks that ExecStart's binary exists). */
static void copy_unit(const char *dir, const char *name, const char *bindir)
{
	char rel[128], dst[600];
	snprintf(rel, sizeof(rel), "examples/systemd/%s.service", name);
	char *src = h_src(rel);
	char *text = h_read_file(src, NULL);
	cr_assert_not_null(text, "cannot read %s", src);
	size_t cap = strlen(text) * 2 + 4096, o = 0;
	char *out = malloc(cap);
	cr_assert_not_null(out);
	static const char from[] = "/usr/local/bin/";
	for (const char *p = text; *p;) {
		if (strncmp(p, from, sizeof(from) - 1) == 0) {
			o += (size_t)snprintf(out + o, cap - o, "%s/", bindir);
			p += sizeof(from) - 1;
		} else if (o + 1 < cap) {
			out[o++] = *p++;
		}
	}
	out[o] = '\0';
	snprintf(dst, sizeof(dst), "%s/%s.service", dir, name);
	cr_assert_eq(h_write_file(dst, out, o), 0);
	free(out);
	free(text);
	free(src);
}

Test(systemd, units_pass_systemd_analyze_verify, .timeout = 60)
{
	const char *sa = "/usr/bin/systemd-analyze";
	if (access(sa, X_OK) != 0)
		sa = "/bin/systemd-analyze";
	if (access(sa, X_OK) != 0)
		cr_assert_fail("systemd-analyze not installed (scripts/deps.sh test installs "
		               "systemd); units not verified");

	char *dir = h_tmpdir("units");
	char *bin = h_bin("mlwatchd");
	char *slash = strrchr(bin, '/');
	cr_assert_not_null(slash);
	*slash = '\0';
	char a[600], b[600], out[600];
	for (int i = 0; i < 2; i++)
		copy_unit(dir, units[i], bin);
	snprintf(a, sizeof(a), "%s/%s.service", dir, units[0]);
	snprintf(b, sizeof(b), "%s/%s.service", dir, units[1]);
	snprintf(out, sizeof(out), "%s/verify.out", dir);
	/* --man=no: the Documentation= pages are not installed here. Any line of
	 * output is a warning (verify exits 0 on "ignoring" ones). */
	char *argv[] = {(char *)sa, "verify", "--man=no", a, b, NULL};
	int rc = run(argv, out, out, 50);
	char *o = h_read_file(out, NULL);
	cr_assert_eq(rc, 0, "systemd-analyze verify exited %d:\n%s", rc, o ? o : "");
	cr_assert(o && o[0] == '\0', "systemd-analyze verify warns:\n%s", o ? o : "");
	free(o);
	h_rmtree(dir);
	free(dir);
	free(bin);
}

Test(systemd, units_are_hardened_and_stop_gracefully)
{
	static const char *const want[] = {
	    "KillSignal=SIGTERM\n",      "TimeoutStopSec=",
	    "StateDirectory=",           "ProtectSystem=strict\n",
	    "ProtectHome=yes\n",         "NoNewPrivileges=yes\n",
	    "PrivateTmp=yes\n",          "RestrictAddressFamilies=",
	    "CapabilityBoundingSet=\n",  "SystemCallFilter=@system-service\n",
	    "ExecStart=/usr/local/bin/",
	};
	for (int i = 0; i < 2; i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "examples/systemd/%s.service", units[i]);
		char *src = h_src(rel);
		char *text = h_read_file(src, NULL);
		cr_assert_not_null(text, "cannot read %s", src);
		for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++)
			cr_expect(strstr(text, want[k]), "%s lacks %s", rel, want[k]);
		cr_expect(strstr(text, "\nDynamicUser=yes\n") || strstr(text, "\nUser="),
		          "%s runs as root", rel);
		free(text);
		free(src);
	}
}

/* Each unit's ExecStart, with the example config in place of
 * /etc/mlwatch/mlwatch.conf: the program loads the config and takes every flag
 * (a trailing unknown flag makes it stop right after, before doing anything). */
Test(systemd, execstart_flags_and_example_config_are_accepted)
{
	for (int i = 0; i < 2; i++) {
		char rel[128];
		snprintf(rel, sizeof(rel), "examples/systemd/%s.service", units[i]);
		char *src = h_src(rel);
		char *text = h_read_file(src, NULL);
		cr_assert_not_null(text);
		char *es = strstr(text, "\nExecStart=/usr/local/bin/");
		cr_assert_not_null(es, "%s: no ExecStart in /usr/local/bin", rel);
		es += strlen("\nExecStart=/usr/local/bin/");
		es[strcspn(es, "\n")] = '\0';

		char *argv[32];
		int n = 0;
		char *conf = h_src("examples/mlwatch.conf");
		for (char *w = es; *w && n < 29;) {
			size_t k = strcspn(w, " ");
			char *next = w[k] ? w + k + 1 : w + k;
			w[k] = '\0';
			if (!*w) {
				w = next;
				continue;
			}
			if (n == 0)
				argv[n++] = h_bin(w);
			else if (strcmp(w, "/etc/mlwatch/mlwatch.conf") == 0)
				argv[n++] = strdup(conf);
			else if (strncmp(w, "%d/", 3) == 0)
				argv[n++] = strdup("/run/credentials/unit/token"); /* not read */
			else
				argv[n++] = strdup(w);
			w = next;
		}
		argv[n++] = strdup("--zz-examples-check");
		argv[n] = NULL;
		char *dir = h_tmpdir("execstart");
		char out[600];
		snprintf(out, sizeof(out), "%s/err", dir);
		int rc = run(argv, NULL, out, 20);
		char *o = h_read_file(out, NULL);
		cr_expect_eq(rc, 2, "%s: status %d: %s", rel, rc, o ? o : "");
		cr_expect(o && strstr(o, "unknown flag '--zz-examples-check'"),
		          "%s: ExecStart's flags or the example config were refused: %s", rel,
		          o ? o : "");
		free(o);
		h_rmtree(dir);
		free(dir);
		for (int k = 0; k < n; k++)
			free(argv[k]);
		free(conf);
		free(text);
		free(src);
	}
}
