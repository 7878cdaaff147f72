/* bench_load: a steady load through the whole pipeline — real mlwatch-agent,
 * real mlwatchd with alert rules evaluated every second and a webhook
 * receiver — at a fixed rate (default 20,000 events/s) for a fixed time,
 * watching both processes' memory.
 *
 * Prints the rate achieved, RSS of the agent and the collector after the
 * warm-up and at the end (and their ratio; the soak's bound is 1.10),
 * errors logged by either, and the exact counts: events the agent accepted
 * (202) = events it had acknowledged = events stored = the window counts.
 *
 * Usage: bench_load [SECONDS [EVENTS_PER_S]]; with no argument (make bench)
 * a 15-second run. scripts/soak.sh runs it for SOAK_SECONDS with --soak,
 * which turns the RSS bound and "no errors logged" into a failing exit
 * status; without --soak only a count mismatch fails. */
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent_proc.h"
#include "clock.h"
#include "collector_proc.h"
#include "harness.h"
#include "http_sink.h"

#define SENDERS     2
#define PER_REQUEST 100
#define RSS_BOUND   1.10
#define MAX_SAMPLES 4096

struct sender {
	pthread_t th;
	int idx;
	const char *url;
	double rate; /* events/s of this sender */
	double end;  /* h_now() deadline */
	atomic_long accepted, refused, failed;
};

static size_t discard(char *d, size_t s, size_t n, void *a)
{
	(void)d;
	(void)a;
	return s * n;
}

/* Events with features that drift slowly, a categorical, errors and a
 * latency distribution with a tail, so the analysis and rules have work. */
static size_t make_body(char *buf, size_t cap, int idx, long first, double t)
{
	static const char *const countries[] = {"DE", "FR", "US", "JP", "BR"};
	size_t o = 0;
	o += (size_t)snprintf(buf + o, cap - o, "[");
	for (long k = 0; k < PER_REQUEST; k++) {
		long i = first + k;
		unsigned h = (unsigned)(i * 2654435761u);
		double amount = 50 + (double)(h % 1000) / 10.0 + t / 60.0;
		double lat = 5 + (double)(h % 97) / 4.0 + (h % 1000 == 0 ? 400 : 0);
		o += (size_t)snprintf(
		    buf + o, cap - o,
		    "%s{\"model\":\"%s\",\"id\":\"s%d-%ld\",\"latency_ms\":%.2f,"
		    "\"error\":%s,\"features\":{\"amount\":%.2f,\"country\":\"%s\","
		    "\"age\":%u},\"prediction\":%u,\"score\":%.3f}",
		    k ? "," : "",
		    i % 3 == 0   ? "fraud"
		    : i % 3 == 1 ? "churn"
		                 : "eta",
		    idx, i, lat, h % 200 == 0 ? "true" : "false", amount, countries[h % 5],
		    18 + h % 60, h % 2, (double)(h % 1000) / 1000.0);
	}
	o += (size_t)snprintf(buf + o, cap - o, "]");
	return o;
}

/* Sends PER_REQUEST events every PER_REQUEST/rate seconds on one
 * keep-alive connection, on an absolute schedule so that a slow request is
 * made up for by the next ones. */
static void *sender_main(void *arg)
{
	struct sender *s = arg;
	CURL *h = curl_easy_init();
	struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
	size_t cap = PER_REQUEST * 320 + 64;
	char *body = malloc(cap);
	double start = h_now(), interval = PER_REQUEST / s->rate;
	long n = 0;

	curl_easy_setopt(h, CURLOPT_URL, s->url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
	for (;;) {
		double due = start + (double)n * interval, now = h_now();
		if (due >= s->end)
			break;
		if (due > now)
			h_sleep(due - now);
		size_t len = make_body(body, cap, s->idx, n * PER_REQUEST, due - start);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)len);
		long code = 0;
		if (curl_easy_perform(h) == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		if (code == 202)
			atomic_fetch_add(&s->accepted, PER_REQUEST);
		else if (code > 0)
			atomic_fetch_add(&s->refused, PER_REQUEST);
		else
			atomic_fetch_add(&s->failed, PER_REQUEST);
		n++;
	}
	free(body);
	curl_slist_free_all(hl);
	curl_easy_cleanup(h);
	return NULL;
}

static long rss_kib(pid_t pid)
{
	char path[64], line[256];
	long v = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "VmRSS:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	fclose(f);
	return v;
}

/* Lines logged at level error (format "TS LEVEL COMPONENT MSG"). */
static int count_level(const char *path, const char *level)
{
	char *s = h_read_file(path, NULL), pat[32];
	int n = 0;
	snprintf(pat, sizeof(pat), " %s ", level);
	for (char *line = s; line && *line;) {
		char *nl = strchr(line, '\n');
		char *sp = strchr(line, ' ');
		if (sp && strncmp(sp, pat, strlen(pat)) == 0 && (!nl || sp < nl)) {
			if (n < 5)
				fprintf(stderr, "  %s: %.*s\n", level, (int)(nl ? nl - line : 200),
				        line);
			n++;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(s);
	return n;
}

static int64_t wait_db(const char *db, const char *sql, int64_t want, double timeout_s)
{
	double end = h_now() + timeout_s;
	int64_t v;
	while ((v = db_int(db, sql)) != want && h_now() < end)
		h_sleep(0.25);
	return v;
}

int main(int argc, char **argv)
{
	bool soak = false;
	double seconds = 15, rate = 20000;
	int pos = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--soak") == 0)
			soak = true;
		else if (pos++ == 0)
			seconds = strtod(argv[i], NULL);
		else
			rate = strtod(argv[i], NULL);
	}
	if (!(seconds >= 5) || !(rate > 0)) {
		fprintf(stderr, "usage: bench_load [--soak] [SECONDS>=5 [EVENTS_PER_S]]\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	struct cproc c;
	struct agent_proc a;
	struct http_sink *sink = sink_start(0);
	char conf[700], cfg[2048], url[128];
	int rc = 0;

	cproc_init(&c, "soak");
	char *hook = sink_url(sink, "/hook");
	/* Rules of each kind; one fires at once (rps), the others are watched
	 * every second for the whole run. */
	snprintf(cfg, sizeof(cfg),
	         "[alert busy]\nmodel = *\nexpr = rps > 100 over 10s\nseverity = info\n"
	         "receivers = hook\n\n"
	         "[alert slow]\nmodel = *\nexpr = p99_latency_ms > 5000 over 1m\n"
	         "receivers = hook\n\n"
	         "[alert errors]\nmodel = fraud\nexpr = error_rate > 0.5\nfor = 30s\n"
	         "receivers = hook\n\n"
	         "[alert drift]\nmodel = *\nexpr = drift(*) > 1000\nreceivers = hook\n\n"
	         "[alert silent]\nmodel = *\nexpr = no_data > 30\nreceivers = hook\n\n"
	         "[receiver hook]\ntype = webhook\nurl = %s\n",
	         hook);
	snprintf(conf, sizeof(conf), "%s/mlwatch.conf", c.dir);
	h_write_file(conf, cfg, strlen(cfg));
	if (cproc_start(&c, (const char *[]){"--config", conf, NULL}) != 0) {
		fprintf(stderr, "bench_load: mlwatchd did not start, see %s\n", c.log);
		return 1;
	}
	ap_init(&a, "soak-agent");
	snprintf(a.collector, sizeof(a.collector), "%.127s", c.url);
	if (ap_start(&a, (const char *[]){"--batch-max-delay", "200ms", NULL}) != 0) {
		fprintf(stderr, "bench_load: mlwatch-agent did not start, see %s\n", a.log);
		return 1;
	}
	snprintf(url, sizeof(url), "%s/v1/events", a.http);

	printf("bench_load: %.0f s at %.0f events/s through mlwatch-agent -> mlwatchd "
	       "(5 alert rules, a webhook receiver)\n",
	       seconds, rate);
	fflush(stdout);
	struct sender s[SENDERS];
	double t0 = h_now();
	for (int i = 0; i < SENDERS; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].idx = i;
		s[i].url = url;
		s[i].rate = rate / SENDERS;
		s[i].end = t0 + seconds;
		pthread_create(&s[i].th, NULL, sender_main, &s[i]);
	}
	/* RSS every second; warm-up is the first quarter (at most 60 s). */
	static long rss_a[MAX_SAMPLES], rss_c[MAX_SAMPLES];
	static double at[MAX_SAMPLES];
	int ns = 0;
	double warm = fmin(60, seconds / 4), next_print = t0 + 30;
	while (h_now() < t0 + seconds && ns < MAX_SAMPLES) {
		h_sleep(1.0);
		at[ns] = h_now() - t0;
		rss_a[ns] = rss_kib(a.p.pid);
		rss_c[ns] = rss_kib(c.p.pid);
		ns++;
		if (h_now() >= next_print) {
			long acc = 0;
			for (int i = 0; i < SENDERS; i++)
				acc += atomic_load(&s[i].accepted);
			printf("  t=%4.0f s accepted=%ld agent_rss=%ld KiB collector_rss=%ld KiB\n",
			       h_now() - t0, acc, rss_a[ns - 1], rss_c[ns - 1]);
			fflush(stdout);
			next_print += 30;
		}
	}
	long accepted = 0, refused = 0, failed = 0;
	for (int i = 0; i < SENDERS; i++) {
		pthread_join(s[i].th, NULL);
		accepted += atomic_load(&s[i].accepted);
		refused += atomic_load(&s[i].refused);
		failed += atomic_load(&s[i].failed);
	}
	double took = h_now() - t0;

	/* RSS: the highest in the 10 s after warm-up vs the highest in the
	 * last 10 s. */
	long a0 = 0, c0 = 0, a1 = 0, c1 = 0;
	for (int i = 0; i < ns; i++) {
		if (at[i] >= warm && at[i] < warm + 10) {
			a0 = rss_a[i] > a0 ? rss_a[i] : a0;
			c0 = rss_c[i] > c0 ? rss_c[i] : c0;
		}
		if (at[i] >= at[ns - 1] - 10) {
			a1 = rss_a[i] > a1 ? rss_a[i] : a1;
			c1 = rss_c[i] > c1 ? rss_c[i] : c1;
		}
	}

	/* Exact counts once everything is delivered. */
	double sent = -1, end = h_now() + 60;
	while (h_now() < end &&
	       (sent = ap_metric(&a, "mlwatch_agent_events_sent_total", NULL)) < accepted)
		h_sleep(0.25);
	int64_t stored = wait_db(c.db, "SELECT count(*) FROM events", accepted, 30);
	int64_t counted = wait_db(c.db, "SELECT sum(count) FROM windows", accepted, 30);
	int64_t distinct = db_int(c.db, "SELECT count(DISTINCT req_id) FROM events");
	double dropped = ap_metric(&a, "mlwatch_agent_events_dropped_total", NULL);
	size_t notes = sink_count(sink);
	int64_t firing = db_int(c.db, "SELECT count(*) FROM alerts WHERE state = 'firing'");

	int stop_a = ap_stop(&a), stop_c = cproc_stop(&c, SIGTERM);
	int err_a = count_level(a.log, "error"), err_c = count_level(c.log, "error");
	int warn_a = count_level(a.log, "warn"), warn_c = count_level(c.log, "warn");

	printf("  rate: %.0f events/s accepted (target %.0f): ratio %.3f\n", accepted / took, rate,
	       accepted / took / rate);
	printf("  accepted=%ld refused=%ld unanswered=%ld acknowledged=%.0f stored=%lld "
	       "distinct=%lld windows=%lld dropped=%.0f\n",
	       accepted, refused, failed, sent, (long long)stored, (long long)distinct,
	       (long long)counted, dropped);
	printf("  agent RSS: %ld KiB after %.0f s warm-up, %ld KiB at the end: ratio %.3f\n", a0,
	       warm, a1, a0 > 0 ? (double)a1 / (double)a0 : NAN);
	printf("  collector RSS: %ld KiB after warm-up, %ld KiB at the end: ratio %.3f\n", c0, c1,
	       c0 > 0 ? (double)c1 / (double)c0 : NAN);
	printf("  alerts firing=%lld notifications=%zu; logged errors agent=%d collector=%d, "
	       "warnings agent=%d collector=%d; exit agent=%d collector=%d\n",
	       (long long)firing, notes, err_a, err_c, warn_a, warn_c, stop_a, stop_c);

	if (refused || failed || stored != accepted || distinct != accepted ||
	    counted != accepted || (long)sent != accepted || dropped != 0) {
		printf("FAIL: counts differ\n");
		rc = 1;
	}
	if (stop_a != 0 || stop_c != 0) {
		printf("FAIL: a process did not stop cleanly\n");
		rc = 1;
	}
	if (soak) {
		if (a1 > RSS_BOUND * a0 || c1 > RSS_BOUND * c0) {
			printf("FAIL: RSS grew more than %.0f%% after warm-up\n",
			       (RSS_BOUND - 1) * 100);
			rc = 1;
		}
		if (err_a || err_c) {
			printf("FAIL: errors in the logs (%s, %s)\n", a.log, c.log);
			rc = 1;
		}
		if (accepted / took < 0.95 * rate) {
			printf("FAIL: the rate was not held\n");
			rc = 1;
		}
		if (notes < 1) {
			printf("FAIL: no alert was delivered\n");
			rc = 1;
		}
	}
	printf("%s\n", rc ? "bench_load: FAILED" : "bench_load: ok");
	if (rc && getenv("MLWATCH_KEEP_TMP"))
		printf("  kept %s and %s\n", c.dir, a.dir);
	sink_stop(sink);
	free(hook);
	ap_cleanup(&a);
	cproc_cleanup(&c);
	curl_global_cleanup();
	return rc;
}
