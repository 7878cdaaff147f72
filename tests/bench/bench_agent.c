/* bench_agent: what mlwatch-agent costs per event, against the floor of any
 * JSON ingest measured in the same run: the bare event parser
 * (event_parse_body) on the same events.
 *
 * Prints, for batched HTTP (NDJSON bodies of 1000 events, two keep-alive
 * clients) at sample rates 1.0 and 0.1, and for datagrams (UDP, one event
 * and 20 events per datagram, sent with MSG_DONTWAIT): events/s end to end
 * (until a fake collector holds every event's count), agent CPU
 * microseconds per event (utime+stime from /proc/PID/stat), peak RSS
 * (VmHWM) and RSS after the run; then the ratio to the bare parse rate
 * (goal >= 0.6) and the RSS goal (<= 16 MiB). Last, a steady stream through
 * a collector outage (BENCH_AGENT_OUTAGE_S seconds, default 30; 0 skips):
 * events lost (must be 0) and how long the replay took.
 * OTLP (issue 15): the same events as OTLP/HTTP protobuf spans (bodies of
 * 1000 spans, mlwatch.feature.* attributes) to /v1/traces, plain and gzip:
 * events/s end to end against the NDJSON run (goal >= 0.5x) and what gzip
 * costs (client compression time, agent CPU per event).
 *
 * Exits non-zero only when something fails, not on a missed goal. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "agent_proc.h"
#include "clock.h"
#include "event.h"
#include "fake_collector.h"
#include "harness.h"
#include "otlp.pb-c.h"
#include <zlib.h>

#define N_EVENTS  200000
#define PER_BODY  1000
#define N_CLIENTS 2
#define GOAL      0.6
#define RSS_GOAL  (16.0 * 1024)

static char *lines[N_EVENTS];
static size_t line_len[N_EVENTS];

/* A typical event of about 230 bytes. */
static void make_events(void)
{
	static const char *countries[] = {"DE", "FR", "US", "IN", "BR"};
	double ts = clock_now() - 60;
	for (int i = 0; i < N_EVENTS; i++) {
		char buf[400];
		int n =
		    snprintf(buf, sizeof(buf),
		             "{\"model\":\"fraud\",\"version\":\"v3\",\"id\":\"req-%08d\",\"ts\":%."
		             "3f,\"latency_ms\":%.2f,\"error\":false,\"features\":{\"amount\":%.2f,"
		             "\"country\":\"%s\",\"age\":%d,\"device\":\"mobile\"},"
		             "\"prediction\":\"%s\",\"score\":0.%02d}\n",
		             i, ts + i * 1e-4, 5 + (i % 300) * 0.37, 10 + (i % 997) * 1.3,
		             countries[i % 5], 18 + i % 60, i % 7 ? "legit" : "fraud", i % 100);
		lines[i] = strdup(buf);
		line_len[i] = (size_t)n;
	}
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Bodies of PER_BODY NDJSON events. */
static char *bodies[N_EVENTS / PER_BODY];
static size_t body_len[N_EVENTS / PER_BODY];

static void make_bodies(void)
{
	for (int b = 0; b < N_EVENTS / PER_BODY; b++) {
		size_t len = 0;
		for (int i = 0; i < PER_BODY; i++)
			len += line_len[b * PER_BODY + i];
		bodies[b] = malloc(len + 1);
		len = 0;
		for (int i = 0; i < PER_BODY; i++) {
			memcpy(bodies[b] + len, lines[b * PER_BODY + i],
			       line_len[b * PER_BODY + i]);
			len += line_len[b * PER_BODY + i];
		}
		bodies[b][len] = '\0';
		body_len[b] = len;
	}
}

/* The floor: event_parse_body alone over the same bodies, best of 3. */
static double bare_parse_rate(void)
{
	double best = 0;
	for (int round = 0; round < 3; round++) {
		double t0 = now_s(), now = clock_now();
		for (int b = 0; b < N_EVENTS / PER_BODY; b++) {
			struct event_batch eb;
			struct event_error err;
			event_batch_init(&eb);
			if (event_parse_body(bodies[b], body_len[b], EVENT_BODY_EVENTS, now, 100000,
			                     &eb, &err) != 0) {
				fprintf(stderr, "bench_agent: parse failed: %s\n", err.reason);
				exit(1);
			}
			event_batch_reset(&eb);
		}
		double rate = N_EVENTS / (now_s() - t0);
		if (rate > best)
			best = rate;
	}
	return best;
}

static long proc_cpu_us(pid_t pid)
{
	char path[64], *s, *p;
	unsigned long ut = 0, st = 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	s = h_read_file(path, NULL);
	if (!s)
		return -1;
	p = strrchr(s, ')'); /* the command may contain spaces */
	if (p &&
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		ut = st = 0;
	free(s);
	return (long)((ut + st) * (1000000.0 / (double)sysconf(_SC_CLK_TCK)));
}

static long proc_kib(pid_t pid, const char *key)
{
	char path[64], *s;
	long v = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	s = h_read_file(path, NULL);
	if (s) {
		char *p = strstr(s, key);
		if (p)
			v = strtol(p + strlen(key), NULL, 10);
		free(s);
	}
	return v;
}

/* The same events as OTLP protobuf bodies of PER_BODY spans (and gzip'd
 * copies), for /v1/traces. */
static char *pb_bodies[N_EVENTS / PER_BODY], *gz_bodies[N_EVENTS / PER_BODY];
static size_t pb_len[N_EVENTS / PER_BODY], gz_len[N_EVENTS / PER_BODY];
static double gzip_s; /* client time to compress every body */

typedef Mlwatch__Otlp__KeyValue Kv;
typedef Mlwatch__Otlp__AnyValue Any;

static void kv_set(Kv *kv, Any *a, const char *k)
{
	mlwatch__otlp__key_value__init(kv);
	mlwatch__otlp__any_value__init(a);
	kv->key = (char *)k;
	kv->value = a;
}

static void make_otlp_bodies(void)
{
	static const char *countries[] = {"DE", "FR", "US", "IN", "BR"};
	static Mlwatch__Otlp__Span spans[PER_BODY];
	static Mlwatch__Otlp__Span *sp[PER_BODY];
	static Kv kv[PER_BODY][5];
	static Kv *kvp[PER_BODY][5];
	static Any av[PER_BODY][5];
	static uint8_t ids[PER_BODY][8];
	double ts = clock_now() - 60;
	for (int b = 0; b < N_EVENTS / PER_BODY; b++) {
		Mlwatch__Otlp__ExportTraceServiceRequest req =
		    MLWATCH__OTLP__EXPORT_TRACE_SERVICE_REQUEST__INIT;
		Mlwatch__Otlp__ResourceSpans rs = MLWATCH__OTLP__RESOURCE_SPANS__INIT, *rsp = &rs;
		Mlwatch__Otlp__Resource res = MLWATCH__OTLP__RESOURCE__INIT;
		Mlwatch__Otlp__ScopeSpans ss = MLWATCH__OTLP__SCOPE_SPANS__INIT, *ssp = &ss;
		Kv svc, *svcp = &svc;
		Any svca;
		kv_set(&svc, &svca, "service.name");
		svca.value_case = MLWATCH__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
		svca.string_value = "fraud";
		res.n_attributes = 1;
		res.attributes = &svcp;
		for (int k = 0; k < PER_BODY; k++) {
			int i = b * PER_BODY + k;
			Mlwatch__Otlp__Span *s = &spans[k];
			mlwatch__otlp__span__init(s);
			s->kind = 2;
			s->start_time_unix_nano = (uint64_t)((ts + i * 1e-4) * 1e9);
			s->end_time_unix_nano =
			    s->start_time_unix_nano + (uint64_t)((5 + (i % 300) * 0.37) * 1e6);
			for (int j = 0; j < 8; j++)
				ids[k][j] = (uint8_t)(i >> (j * 8));
			s->span_id.data = ids[k];
			s->span_id.len = 8;
			const char *keys[] = {"mlwatch.feature.amount", "mlwatch.feature.country",
			                      "mlwatch.feature.age", "mlwatch.feature.device",
			                      "mlwatch.prediction"};
			for (int j = 0; j < 5; j++) {
				kv_set(&kv[k][j], &av[k][j], keys[j]);
				kvp[k][j] = &kv[k][j];
			}
			av[k][0].value_case = MLWATCH__OTLP__ANY_VALUE__VALUE_DOUBLE_VALUE;
			av[k][0].double_value = 10 + (i % 997) * 1.3;
			av[k][1].value_case = MLWATCH__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
			av[k][1].string_value = (char *)countries[i % 5];
			av[k][2].value_case = MLWATCH__OTLP__ANY_VALUE__VALUE_INT_VALUE;
			av[k][2].int_value = 18 + i % 60;
			av[k][3].value_case = MLWATCH__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
			av[k][3].string_value = "mobile";
			av[k][4].value_case = MLWATCH__OTLP__ANY_VALUE__VALUE_STRING_VALUE;
			av[k][4].string_value = i % 7 ? "legit" : "fraud";
			s->n_attributes = 5;
			s->attributes = kvp[k];
			sp[k] = s;
		}
		ss.n_spans = PER_BODY;
		ss.spans = sp;
		rs.resource = &res;
		rs.n_scope_spans = 1;
		rs.scope_spans = &ssp;
		req.n_resource_spans = 1;
		req.resource_spans = &rsp;
		pb_len[b] = mlwatch__otlp__export_trace_service_request__get_packed_size(&req);
		pb_bodies[b] = malloc(pb_len[b]);
		mlwatch__otlp__export_trace_service_request__pack(&req, (uint8_t *)pb_bodies[b]);
		/* gzip as an exporter would, timed */
		double t0 = now_s();
		z_stream zs = {0};
		size_t cap = compressBound(pb_len[b]) + 64;
		gz_bodies[b] = malloc(cap);
		deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8,
		             Z_DEFAULT_STRATEGY);
		zs.next_in = (Bytef *)pb_bodies[b];
		zs.avail_in = (uInt)pb_len[b];
		zs.next_out = (Bytef *)gz_bodies[b];
		zs.avail_out = (uInt)cap;
		deflate(&zs, Z_FINISH);
		gz_len[b] = cap - zs.avail_out;
		deflateEnd(&zs);
		gzip_s += now_s() - t0;
	}
}

struct client {
	struct agent_proc *ag;
	int first, step;
	int failures;
	int mode; /* 0 NDJSON /v1/events, 1 OTLP protobuf, 2 OTLP protobuf gzip */
};

static size_t discard(char *d, size_t s, size_t n, void *a)
{
	(void)d;
	(void)a;
	return s * n;
}

static void *client_main(void *arg)
{
	struct client *c = arg;
	CURL *h = curl_easy_init();
	char url[128];
	struct curl_slist *hl =
	    curl_slist_append(NULL, c->mode ? "Content-Type: application/x-protobuf"
	                                    : "Content-Type: application/x-ndjson");
	hl = curl_slist_append(hl, "Expect:");
	if (c->mode == 2)
		hl = curl_slist_append(hl, "Content-Encoding: gzip");
	snprintf(url, sizeof(url), "%s%s", c->ag->http, c->mode ? "/v1/traces" : "/v1/events");
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	for (int b = c->first; b < N_EVENTS / PER_BODY; b += c->step) {
		long code = 0;
		char *body = c->mode == 0 ? bodies[b] : c->mode == 1 ? pb_bodies[b] : gz_bodies[b];
		size_t len = c->mode == 0 ? body_len[b] : c->mode == 1 ? pb_len[b] : gz_len[b];
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
		if (curl_easy_perform(h) != CURLE_OK)
			c->failures++;
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		if (code != (c->mode ? 200 : 202)) {
			c->failures++;
			usleep(1000);
			b -= c->step; /* 503: try the same body again */
		}
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return NULL;
}

struct result {
	double rate, cpu_us, hwm_mib, rss_mib;
	long sent, got;
};

static int start_agent(struct agent_proc *ag, struct fake_collector **fc, const char *tag,
                       const char *const *extra)
{
	if (ap_init(ag, tag) != 0)
		return -1;
	*fc = fc_start(ag->collector);
	if (!*fc)
		return -1;
	fc_set_lean(*fc, true);
	return ap_start(ag, extra);
}

static void stop_agent(struct agent_proc *ag, struct fake_collector *fc)
{
	ap_stop(ag);
	fc_free(fc);
	ap_cleanup(ag);
}

static int bench_http_mode(const char *rate, int mode, struct result *r)
{
	struct agent_proc ag;
	struct fake_collector *fc;
	pthread_t th[N_CLIENTS];
	struct client cl[N_CLIENTS];

	if (start_agent(
	        &ag, &fc, "bench-agent-http",
	        (const char *[]){"--sample-rate", rate, "--batch-max-delay", "100ms", NULL}) != 0) {
		fprintf(stderr, "bench_agent: agent did not start\n");
		return -1;
	}
	long cpu0 = proc_cpu_us(ag.p.pid);
	double t0 = now_s();
	for (int i = 0; i < N_CLIENTS; i++) {
		cl[i] = (struct client){&ag, i, N_CLIENTS, 0, mode};
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	}
	for (int i = 0; i < N_CLIENTS; i++)
		pthread_join(th[i], NULL);
	bool all = fc_wait_counted(fc, N_EVENTS, 60);
	double dt = now_s() - t0;
	long cpu1 = proc_cpu_us(ag.p.pid);
	r->rate = N_EVENTS / dt;
	r->cpu_us = (double)(cpu1 - cpu0) / N_EVENTS;
	r->hwm_mib = proc_kib(ag.p.pid, "VmHWM:") / 1024.0;
	r->rss_mib = proc_kib(ag.p.pid, "VmRSS:") / 1024.0;
	r->sent = N_EVENTS;
	r->got = (long)fc_summary_count(fc);
	stop_agent(&ag, fc);
	if (!all) {
		fprintf(stderr, "bench_agent: collector counted %ld of %d\n", r->got, N_EVENTS);
		return -1;
	}
	return 0;
}

static int bench_http(const char *rate, struct result *r)
{
	return bench_http_mode(rate, 0, r);
}

/* Datagrams over UDP, per events per datagram, sent as fast as possible
 * with MSG_DONTWAIT: the sender never blocks; what the kernel drops when
 * the agent's buffer is full is counted by the agent. */
static int bench_dgram(int per, struct result *r, long *eagain, double *kdrops, double *send_s)
{
	struct agent_proc ag;
	struct fake_collector *fc;
	char url[64];
	int port = h_free_port();
	const int n = N_EVENTS / 2;

	snprintf(url, sizeof(url), "udp://127.0.0.1:%d", port);
	if (start_agent(&ag, &fc, "bench-agent-dgram",
	                (const char *[]){"--listen-dgram", url, NULL}) != 0) {
		fprintf(stderr, "bench_agent: agent did not start\n");
		return -1;
	}
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	char *buf = malloc(65536);
	long cpu0 = proc_cpu_us(ag.p.pid);
	double t0 = now_s();
	*eagain = 0;
	r->sent = 0;
	for (int i = 0; i < n; i += per) {
		size_t len = 0;
		for (int k = 0; k < per && i + k < n; k++) {
			memcpy(buf + len, lines[i + k], line_len[i + k]);
			len += line_len[i + k];
		}
		if (sendto(fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&a, sizeof(a)) < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				(*eagain)++;
			continue;
		}
		r->sent += per;
	}
	*send_s = now_s() - t0;
	/* Everything that got through is counted once the agent settles. */
	double last = -1, v;
	for (int i = 0; i < 100; i++) {
		h_sleep(0.1);
		v = ap_metric(&ag, "mlwatch_agent_events_received_total", NULL);
		if (v == last)
			break;
		last = v;
	}
	double recv_done = now_s();
	/* The kernel reports its drop count with the next datagram it queues:
	 * send one more (counted) after the burst. */
	sendto(fd, lines[0], line_len[0], MSG_DONTWAIT, (struct sockaddr *)&a, sizeof(a));
	h_sleep(0.2);
	*kdrops = ap_metric(&ag, "mlwatch_agent_datagrams_kernel_dropped_total", NULL) * per;
	r->got = (long)last;
	fc_wait_counted(fc, (uint64_t)r->got, 20);
	long cpu1 = proc_cpu_us(ag.p.pid);
	r->rate = r->got / (recv_done - t0 - 0.1);
	r->cpu_us = r->got ? (double)(cpu1 - cpu0) / (double)r->got : 0;
	r->hwm_mib = proc_kib(ag.p.pid, "VmHWM:") / 1024.0;
	r->rss_mib = proc_kib(ag.p.pid, "VmRSS:") / 1024.0;
	close(fd);
	free(buf);
	stop_agent(&ag, fc);
	return 0;
}

/* A steady stream (2000 events/s in requests of 100) with the collector
 * away for outage_s seconds in the middle: nothing may be lost. */
static int bench_outage(double outage_s)
{
	struct agent_proc ag;
	struct fake_collector *fc;
	const double before = 3, after = 3;
	int posted = 0, fails = 0;
	double max_spool = 0;

	if (start_agent(&ag, &fc, "bench-agent-outage", NULL) != 0)
		return -1;
	double t0 = now_s(), end = before + outage_s + after;
	bool away = false, back = false;
	int b = 0;
	while (now_s() - t0 < end) {
		double t = now_s() - t0;
		if (!away && t >= before) {
			fc_stop(fc);
			away = true;
		}
		if (away && !back && t >= before + outage_s) {
			if (fc_restart(fc) != 0)
				return -1;
			back = true;
		}
		/* 100 events of a fresh body region every 50 ms */
		size_t len = 0;
		int first = (b * 100) % (N_EVENTS - 100);
		for (int k = 0; k < 100; k++)
			len += line_len[first + k];
		char *body = malloc(len + 1);
		len = 0;
		for (int k = 0; k < 100; k++) {
			memcpy(body + len, lines[first + k], line_len[first + k]);
			len += line_len[first + k];
		}
		if (ap_post(&ag, "/v1/events", body, len, NULL, false, NULL) == 202)
			posted += 100;
		else
			fails++;
		free(body);
		b++;
		double sp = ap_metric(&ag, "mlwatch_agent_spool_bytes", NULL);
		if (sp > max_spool)
			max_spool = sp;
		h_sleep(0.05);
	}
	double t_back = now_s();
	bool all = fc_wait_counted(fc, (uint64_t)posted, 120);
	double replay = now_s() - t_back;
	double dropped = ap_metric(&ag, "mlwatch_agent_events_dropped_total", NULL);
	double spooled = ap_metric(&ag, "mlwatch_agent_events_spooled_total", NULL);
	printf("outage %.0f s in a 2000 events/s stream: %d posted, %zu delivered, %.0f dropped, "
	       "%d refused, %.0f spooled (peak spool %.1f KiB), caught up %.2f s after: %s\n",
	       outage_s, posted, fc_events(fc), dropped, fails, spooled, max_spool / 1024, replay,
	       all && fc_events(fc) == (size_t)posted && dropped == 0 ? "nothing lost"
	                                                              : "LOST DATA");
	stop_agent(&ag, fc);
	return all ? 0 : -1;
}

int main(void)
{
	struct result h1, h01, d1, d20;
	double bare1, bare2;
	long eag1, eag20;
	double kd1, kd20, ss1, ss20;
	const char *env = getenv("BENCH_AGENT_OUTAGE_S");
	double outage = env ? strtod(env, NULL) : 30;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	signal(SIGPIPE, SIG_IGN);
	make_events();
	make_bodies();

	/* The machine may be shared: measure the floor right before and after
	 * the agent runs and keep the best, so the ratio is not flattered. */
	bare1 = bare_parse_rate();
	if (bench_http("1.0", &h1) != 0 || bench_http("0.1", &h01) != 0)
		return 1;
	bare2 = bare_parse_rate();
	double bare = bare1 > bare2 ? bare1 : bare2;
	printf("bare event_parse_body: %.0f events/s = %.2f us/event (one core, NDJSON bodies of "
	       "%d events of ~%zu bytes; best of before/after: %.0f, %.0f)\n",
	       bare, 1e6 / bare, PER_BODY, line_len[0], bare1, bare2);
	printf("agent HTTP, sample 1.0: %.0f events/s end to end, %.2f us CPU/event, peak RSS "
	       "%.1f MiB, RSS after %.1f MiB\n",
	       h1.rate, h1.cpu_us, h1.hwm_mib, h1.rss_mib);
	printf("agent HTTP, sample 0.1: %.0f events/s end to end, %.2f us CPU/event, peak RSS "
	       "%.1f MiB, RSS after %.1f MiB\n",
	       h01.rate, h01.cpu_us, h01.hwm_mib, h01.rss_mib);
	if (bench_dgram(1, &d1, &eag1, &kd1, &ss1) != 0 ||
	    bench_dgram(20, &d20, &eag20, &kd20, &ss20) != 0)
		return 1;
	printf("agent UDP, 1 event/datagram: %.0f events/s received, %.2f us CPU/event, %ld of %ld "
	       "taken (kernel dropped %.0f), sender: %.0f datagrams/s, EAGAIN %ld, never "
	       "blocked; peak RSS %.1f MiB\n",
	       d1.rate, d1.cpu_us, d1.got, d1.sent, kd1, d1.sent / ss1, eag1, d1.hwm_mib);
	printf("agent UDP, 20 events/datagram: %.0f events/s received, %.2f us CPU/event, %ld of "
	       "%ld taken (kernel dropped %.0f), EAGAIN %ld; peak RSS %.1f MiB\n",
	       d20.rate, d20.cpu_us, d20.got, d20.sent, kd20, eag20, d20.hwm_mib);
	double r_tp = h1.rate / bare, r_cpu = (1e6 / bare) / h1.cpu_us;
	printf("ratio agent/bare parse, HTTP at 1.0: %.2fx by throughput, %.2fx by CPU per event; "
	       "at 0.1: %.2fx, %.2fx (goal >= %.1fx: %s)\n",
	       r_tp, r_cpu, h01.rate / bare, (1e6 / bare) / h01.cpu_us, GOAL,
	       r_tp >= GOAL || r_cpu >= GOAL ? "met" : "MISSED");
	printf("ratio agent/bare parse, UDP 20 events/datagram: %.2fx by CPU per event\n",
	       (1e6 / bare) / d20.cpu_us);
	double peak = h1.hwm_mib > h01.hwm_mib ? h1.hwm_mib : h01.hwm_mib;
	printf("peak RSS %.1f MiB (goal <= 16 MiB: %s)\n", peak,
	       peak * 1024 <= RSS_GOAL ? "met" : "MISSED");
	struct result o1, ogz;
	make_otlp_bodies();
	if (bench_http_mode("1.0", 1, &o1) != 0 || bench_http_mode("1.0", 2, &ogz) != 0)
		return 1;
	size_t pb_total = 0, gz_total = 0;
	for (int b = 0; b < N_EVENTS / PER_BODY; b++) {
		pb_total += pb_len[b];
		gz_total += gz_len[b];
	}
	printf("agent OTLP/HTTP protobuf, sample 1.0: %.0f events/s end to end, %.2f us CPU/event, "
	       "peak RSS %.1f MiB; %.2fx the NDJSON run (goal >= 0.5x: %s)\n",
	       o1.rate, o1.cpu_us, o1.hwm_mib, o1.rate / h1.rate,
	       o1.rate / h1.rate >= 0.5 ? "met" : "MISSED");
	printf(
	    "agent OTLP/HTTP protobuf gzip: %.0f events/s end to end, %.2f us CPU/event "
	    "(+%.2f us for inflating); bodies %.0f -> %.0f bytes/span; client gzip %.2f us/span\n",
	    ogz.rate, ogz.cpu_us, ogz.cpu_us - o1.cpu_us, (double)pb_total / N_EVENTS,
	    (double)gz_total / N_EVENTS, gzip_s * 1e6 / N_EVENTS);
	if (outage > 0 && bench_outage(outage) != 0)
		return 1;
	return 0;
}
