/* bench_collector: end-to-end ingest into mlwatchd, in events per second
 * committed and CPU per event, beside a raw SQLite insert of the same rows
 * in the same run.
 *
 *   raw      the events table of a fresh database (with its two secondary
 *            indexes), one prepared INSERT per row, 1000 rows per
 *            transaction, rows prepared in advance; one thread
 *   bare     the same rows into a table with no secondary index: the floor
 *            of what storing a row costs
 *   wire     wire-client batches of 1000 events (encoded in advance) sent by
 *            8 concurrent senders (SENDERS) to the real mlwatchd: decode,
 *            validate, dedupe, store, window counters, reply after COMMIT
 *   agent    NDJSON bodies of 5000 events (built in advance) POSTed to the
 *            real mlwatch-agent, which forwards to mlwatchd: timed until
 *            the last event is committed; CPU per event of each process
 *
 * Then it checks what the acceptance asks: every event stored exactly once,
 * window counts equal to what was sent and latency quantiles within 1%.
 * Rounds of raw, bare, wire, agent (BENCH_ROUNDS, default 3) end with one
 * more raw and bare run; each ratio is to the raw (or bare) runs around it,
 * and the median is printed (issue 18 acceptance 4: agent vs bare).
 * The raw insert is one thread while mlwatchd spreads its work (decoding,
 * group commit) over both cores: so each ratio by throughput is printed with
 * the CPU per event of both sides, and the ratio by CPU beside it.
 * BENCH_EVENTS sets the count (default 1,000,000); BENCH_IDS=uuid makes the
 * request ids random-looking UUIDs instead of rising ones, uuid7
 * time-ordered UUIDs. Exits non-zero only when
 * something fails, not on a missed goal (ratio >= 0.8). */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/agent_proc.h"
#include "../lib/collector_proc.h"
#include "../lib/fraud_rows.h"
#include "../lib/harness.h"
#include "../lib/pg_harness.h"
#include "../lib/wire_client.h"
#include "clock.h"
#include "db.h"
#include "ddsketch.h"
#include "featcodec.h"
#include "jsonw.h"
#include "store.h"

#define PER_BATCH 1000
#define SENDERS   8
/* PostgreSQL's commit of a group takes longer (round trips to the server):
 * more batches in flight keep its writer busy, as more agents would */
#define PG_SENDERS  16
#define MAX_SENDERS 16
#define GOAL        0.8

static long n_events = 1000000;
static double t_base;

/* BENCH_IDS=uuid: request ids as random-looking UUIDs (version 4, as
 * KServe sends), not rising "r123": every insert then lands on a random
 * leaf of the events_by_req index (see the README's ingest rows).
 * BENCH_IDS=uuid7: time-ordered UUIDs (version 7: the event's millisecond
 * first, then random bits), which append to that index again. */
static enum fraud_ids id_kind;

/* Event i of this run (tests/lib/fraud_rows.h). */
static void make_row(long i, struct fraud_row *r)
{
	fraud_row_make(i, n_events, t_base, id_kind, r);
}

static void row_json(const struct fraud_row *r, struct jsonw *w)
{
	jsonw_reset(w);
	jsonw_raw(w, "{\"amount\":", 10);
	jsonw_num(w, r->amount);
	jsonw_raw(w, ",\"age\":", 7);
	jsonw_num(w, r->age);
	jsonw_raw(w, ",\"items\":", 9);
	jsonw_num(w, r->items);
	jsonw_raw(w, ",\"hour\":", 8);
	jsonw_num(w, r->hour);
	jsonw_raw(w, ",\"country\":", 11);
	jsonw_str(w, r->country, strlen(r->country));
	jsonw_raw(w, ",\"device\":", 10);
	jsonw_str(w, r->device, strlen(r->device));
	jsonw_raw(w, ",\"channel\":", 11);
	jsonw_str(w, r->channel, strlen(r->channel));
	jsonw_raw(w, ",\"tier\":", 8);
	jsonw_str(w, r->tier, strlen(r->tier));
	jsonw_char(w, '}');
}

/* The features blob the collector stores for the row (common/featcodec.h),
 * malloc'd, its length in *len. */
static char *row_blob(const struct fraud_row *r, size_t *len)
{
	struct featcodec_enc e;
	char *b;

	featcodec_enc_init(&e);
	featcodec_add_num(&e, "amount", r->amount);
	featcodec_add_num(&e, "age", r->age);
	featcodec_add_num(&e, "items", r->items);
	featcodec_add_num(&e, "hour", r->hour);
	featcodec_add_str(&e, "country", r->country, strlen(r->country));
	featcodec_add_str(&e, "device", r->device, strlen(r->device));
	featcodec_add_str(&e, "channel", r->channel, strlen(r->channel));
	featcodec_add_str(&e, "tier", r->tier, strlen(r->tier));
	if (featcodec_finish(&e) || !(b = malloc(e.len))) {
		fprintf(stderr, "features blob: out of memory\n");
		exit(1);
	}
	memcpy(b, e.buf, e.len);
	*len = e.len;
	featcodec_enc_fini(&e);
	return b;
}

/* ---- raw SQLite ---------------------------------------------------------- */

/* The raw insert; bare: into a copy of the events table without its
 * secondary indexes. *cpu_us gets the CPU microseconds per event. */
static double bench_raw(const char *dir, bool bare, double *cpu_us)
{
	char path[600], err[256];
	struct store st;
	sqlite3_stmt *s;
	char **feats = malloc((size_t)n_events * sizeof(char *));
	size_t *flen = malloc((size_t)n_events * sizeof(size_t));
	struct fraud_row *rows = malloc((size_t)n_events * sizeof(struct fraud_row));

	snprintf(path, sizeof(path), "%s/raw.db", dir);
	for (int i = 0; i < 3; i++) {
		static const char *const sfx[] = {"", "-wal", "-shm"};
		char f[640];
		snprintf(f, sizeof(f), "%s%s", path, sfx[i]);
		remove(f);
	}
	if (store_open(&st, path, STORE_RW_CREATE, false, err, sizeof(err))) {
		fprintf(stderr, "raw: %s\n", err);
		exit(1);
	}
	store_exec(&st, "INSERT INTO models (name, created) VALUES ('fraud', 0)");
	/* CREATE TABLE AS copies the columns, not the indexes */
	if (bare)
		store_exec(&st, "CREATE TABLE bare AS SELECT * FROM events WHERE 0");
	for (long i = 0; i < n_events; i++) {
		make_row(i, &rows[i]);
		feats[i] = row_blob(&rows[i], &flen[i]);
	}
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "INSERT INTO %s (model_id, req_id, ts, window_start, latency_ms, "
	         "error, version, features_bin, pred_num, pred_str, score, scores, label_num, "
	         "label_str, label_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
	         "?11, ?12, ?13, ?14, ?15)",
	         bare ? "bare" : "events");
	if (sqlite3_prepare_v2(db_sqlite_handle(st.db), sql, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "raw: %s\n", sqlite3_errmsg(db_sqlite_handle(st.db)));
		exit(1);
	}
	double t0 = h_now(), cpu0 = h_cpu();
	for (long i = 0; i < n_events; i++) {
		const struct fraud_row *r = &rows[i];
		if (i % PER_BATCH == 0)
			store_exec(&st, "BEGIN IMMEDIATE");
		sqlite3_bind_int64(s, 1, 1);
		sqlite3_bind_text(s, 2, r->id, -1, SQLITE_STATIC);
		sqlite3_bind_double(s, 3, r->ts);
		sqlite3_bind_int64(s, 4, (int64_t)r->ts / 60 * 60);
		sqlite3_bind_double(s, 5, r->latency);
		sqlite3_bind_int(s, 6, 0);
		sqlite3_bind_blob(s, 8, feats[i], (int)flen[i], SQLITE_STATIC);
		sqlite3_bind_text(s, 10, r->pred, -1, SQLITE_STATIC);
		sqlite3_bind_double(s, 11, r->score);
		if (sqlite3_step(s) != SQLITE_DONE) {
			fprintf(stderr, "raw insert: %s\n",
			        sqlite3_errmsg(db_sqlite_handle(st.db)));
			exit(1);
		}
		sqlite3_reset(s);
		if (i % PER_BATCH == PER_BATCH - 1 || i == n_events - 1)
			store_exec(&st, "COMMIT");
	}
	double dt = h_now() - t0;
	*cpu_us = (h_cpu() - cpu0) * 1e6 / (double)n_events;
	sqlite3_finalize(s);
	store_close(&st);
	for (long i = 0; i < n_events; i++)
		free(feats[i]);
	free(feats);
	free(flen);
	free(rows);
	return (double)n_events / dt;
}

/* ---- wire client --------------------------------------------------------- */

struct sender {
	const char *url;
	struct fraud_batch *e;
	long nb;
	atomic_long *next;
	long failed;
};

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	struct wc_client *cl;
	char err[256];

	if (wc_open(&cl, s->url, NULL, 60, err, sizeof(err))) {
		fprintf(stderr, "wire: %s\n", err);
		s->failed++;
		return NULL;
	}
	for (;;) {
		long b = atomic_fetch_add(s->next, 1);
		struct wire_reply r;
		if (b >= s->nb)
			break;
		if (wc_request(cl, s->e[b].buf, s->e[b].len, &r, err, sizeof(err)) ||
		    r.status != WIRE_OK || r.stored != (uint32_t)(s->e[b].len ? r.stored : 0)) {
			fprintf(stderr, "wire batch %ld: %s (status %d: %s)\n", b, err,
			        (int)r.status, r.message);
			s->failed++;
		}
	}
	wc_close(cl);
	return NULL;
}

/* CPU microseconds per event of the last wire or agent run: mlwatchd, the
 * agent (0 for wire) and this process (senders, curl POSTs). */
static double cpu_coll_us, cpu_agent_us, cpu_gen_us;

static double proc_cpu_s(pid_t pid);

/* Wire senders spread over ncoll collectors (sender i to collector i mod
 * ncoll), all loading into one store. */
static double bench_wire_n(struct cproc *c, int ncoll, int senders)
{
	long nb;
	struct fraud_batch *e = fraud_batches("bench", n_events, t_base, id_kind, PER_BATCH, &nb);
	atomic_long next = 0;

	if (!e) {
		fprintf(stderr, "wire: out of memory encoding the batches\n");
		exit(1);
	}
	struct sender s[MAX_SENDERS];
	pthread_t t[MAX_SENDERS];
	long failed = 0;
	double coll0 = 0, coll1 = 0;

	for (int k = 0; k < ncoll; k++)
		coll0 += proc_cpu_s(c[k].p.pid);
	double t0 = h_now(), self0 = h_cpu();
	for (int i = 0; i < senders; i++) {
		s[i] = (struct sender){c[i % ncoll].url, e, nb, &next, 0};
		pthread_create(&t[i], NULL, sender_main, &s[i]);
	}
	for (int i = 0; i < senders; i++) {
		pthread_join(t[i], NULL);
		failed += s[i].failed;
	}
	double dt = h_now() - t0;
	for (int k = 0; k < ncoll; k++)
		coll1 += proc_cpu_s(c[k].p.pid);
	cpu_coll_us = (coll1 - coll0) * 1e6 / (double)n_events;
	cpu_gen_us = (h_cpu() - self0) * 1e6 / (double)n_events;
	cpu_agent_us = 0;
	printf("  CPU per event: mlwatchd %.2f us, senders %.2f us; %.2f of 2 cores busy\n",
	       cpu_coll_us, cpu_gen_us, (cpu_coll_us + cpu_gen_us) * 1e-6 * (double)n_events / dt);
	fraud_batches_free(e, nb);
	if (failed) {
		fprintf(stderr, "wire: %ld batches failed\n", failed);
		exit(1);
	}
	return (double)n_events / dt;
}

static double bench_wire(struct cproc *c)
{
	return bench_wire_n(c, 1, SENDERS);
}

/* Appends the space-separated words of env (may be NULL) to args[from..15),
 * NULL-terminated. Returns the copy the words point into (caller frees). */
static char *split_args(const char *env, const char **args, int from)
{
	char *copy = env ? strdup(env) : NULL;
	int na = from;

	for (char *p = copy; p && *p && na < 15;) {
		while (*p == ' ')
			*p++ = '\0';
		if (*p)
			args[na++] = p;
		while (*p && *p != ' ')
			p++;
	}
	args[na] = NULL;
	return copy;
}

/* ---- agent ------------------------------------------------------------------- */

/* CPU seconds (user + system) in a /proc stat file, -1 if unreadable;
 * the thread or process name into comm when comm is not NULL. */
static double stat_cpu_s(const char *path, char *comm, size_t cap)
{
	char line[1024];
	unsigned long ut = 0, st = 0;
	double secs = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	if (fgets(line, sizeof(line), f)) {
		char *l = strchr(line, '('), *r = strrchr(line, ')');
		/* fields after ")": state is 3rd, utime 14th, stime 15th */
		if (l && r && r > l &&
		    sscanf(r + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
		           &st) == 2) {
			secs = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
			if (comm)
				snprintf(comm, cap, "%.*s", (int)(r - l - 1), l + 1);
		}
	}
	fclose(f);
	return secs;
}

/* CPU seconds used so far by process pid, -1 if unknown. */
static double proc_cpu_s(pid_t pid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return stat_cpu_s(path, NULL, 0);
}

struct body {
	char *buf;
	size_t len;
};

/* NDJSON bodies of `chunk` events, built before the clock starts like the
 * rows of the raw insert and the batches of the wire client: on two cores
 * the load generator would otherwise take CPU from what is measured. */
static struct body *build_bodies(long chunk, long *nbodies)
{
	long n = (n_events + chunk - 1) / chunk;
	struct body *bodies = calloc((size_t)n, sizeof(*bodies));
	size_t cap = (size_t)chunk * 400;
	struct jsonw w;
	struct fraud_row r;

	jsonw_init(&w);
	for (long k = 0, i = 0; k < n; k++) {
		char *body = malloc(cap);
		size_t len = 0;
		for (long start = i; i < n_events && i - start < chunk; i++) {
			make_row(i, &r);
			row_json(&r, &w);
			len += (size_t)snprintf(body + len, cap - len,
			                        "{\"model\":\"fraud\",\"id\":\"%s\",\"ts\":%.3f,"
			                        "\"latency_ms\":%.4f,\"features\":%s,"
			                        "\"prediction\":\"%s\",\"score\":%.2f}\n",
			                        r.id, r.ts, r.latency, w.buf, r.pred, r.score);
		}
		bodies[k] = (struct body){body, len};
	}
	jsonw_fini(&w);
	*nbodies = n;
	return bodies;
}

static double bench_agent(struct cproc *c)
{
	static const char *const hdr[] = {"Content-Type: application/x-ndjson", NULL};
	struct agent_proc a;
	const char *args[16] = {"--batch-max-events", "1000", "--memory-max", "512MiB",
	                        "--spool-max",        "4GiB"};
	/* BENCH_AGENT_ARGS: extra agent flags, space separated, for
	 * experiments ("--inflight 8") */
	char *extra = split_args(getenv("BENCH_AGENT_ARGS"), args, 6);
	long nbodies, busy = 0;
	struct body *bodies = build_bodies(5000, &nbodies);

	ap_init(&a, "bench-agent");
	snprintf(a.collector, sizeof(a.collector), "%s", c->url);
	if (ap_start(&a, args)) {
		fprintf(stderr, "agent did not start, see %s\n", a.log);
		exit(1);
	}
	double t0 = h_now(), agent0 = proc_cpu_s(a.p.pid), self0 = h_cpu(),
	       coll0 = proc_cpu_s(c->p.pid);
	for (long k = 0; k < nbodies; k++) {
		for (;;) {
			long st = ap_post(&a, "/v1/events", bodies[k].buf, bodies[k].len, hdr,
			                  false, NULL);
			if (st == 202)
				break;
			if (st != 503) {
				fprintf(stderr, "agent answered %ld\n", st);
				exit(1);
			}
			busy++;
			h_sleep(0.01);
		}
	}
	double end = h_now() + 600;
	/* committed events, as the window rows count them in the same
	 * transaction: count(*) would read the whole growing table every 50
	 * ms, most of a core beside the path being measured */
	while (db_int(c->db, "SELECT coalesce(sum(sampled), 0) FROM windows") < n_events &&
	       h_now() < end)
		h_sleep(0.05);
	double dt = h_now() - t0;
	double us = 1e6 / (double)n_events;
	cpu_coll_us = (proc_cpu_s(c->p.pid) - coll0) * us;
	cpu_agent_us = (proc_cpu_s(a.p.pid) - agent0) * us;
	cpu_gen_us = (h_cpu() - self0) * us;
	printf("  CPU per event: agent %.2f us, mlwatchd %.2f us, load generator (curl POSTs) "
	       "%.2f us; %.2f of 2 cores busy; %ld POSTs answered 503 and were retried\n",
	       (proc_cpu_s(a.p.pid) - agent0) * us, (proc_cpu_s(c->p.pid) - coll0) * us,
	       (h_cpu() - self0) * us,
	       (proc_cpu_s(a.p.pid) - agent0 + proc_cpu_s(c->p.pid) - coll0 + h_cpu() - self0) / dt,
	       busy);
	/* the agent takes bodies faster than the collector commits: batches
	 * waiting past the agent's spool_after go through its spool */
	printf("  agent spooled %.0f of %ld events while the collector was behind\n",
	       ap_metric(&a, "mlwatch_agent_events_spooled_total", NULL), n_events);
	for (long k = 0; k < nbodies; k++)
		free(bodies[k].buf);
	free(bodies);
	free(extra);
	ap_stop(&a);
	ap_cleanup(&a);
	return (double)n_events / dt;
}

/* CPU seconds per thread name of process pid (from /proc), printed as a
 * share of the wall time: where the end-to-end time went. */
static void thread_cpu(pid_t pid, double wall)
{
	char path[320], names[16][32];
	double secs[16] = {0};
	int n = 0;
	DIR *d;
	struct dirent *e;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d))) {
		char comm[sizeof(names[0])];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/stat", (int)pid, e->d_name);
		double s = stat_cpu_s(path, comm, sizeof(comm));
		if (s < 0)
			continue;
		int k;
		for (k = 0; k < n && strcmp(names[k], comm) != 0; k++)
			;
		if (k == n && n < 16)
			snprintf(names[n++], sizeof(names[0]), "%s", comm);
		if (k < 16)
			secs[k] += s;
	}
	closedir(d);
	printf("  mlwatchd CPU by thread (share of %.1f s wall):", wall);
	for (int k = 0; k < n; k++)
		if (secs[k] / wall >= 0.01)
			printf(" %s %.0f%%", names[k], 100 * secs[k] / wall);
	printf("\n");
}

/* ---- checks ------------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int verify(struct cproc *c, const char *what)
{
	int bad = 0;
	int64_t n = db_int(c->db, "SELECT count(*) FROM events");
	int64_t d = db_int(c->db, "SELECT count(DISTINCT req_id) FROM events");
	int64_t wc = db_int(c->db, "SELECT sum(count) FROM windows");

	if (n != n_events || d != n_events || wc != n_events) {
		printf("  %s: FAILED: %lld events, %lld distinct, windows count %lld (sent %ld)\n",
		       what, (long long)n, (long long)d, (long long)wc, n_events);
		return 1;
	}
	/* quantiles of the first window against the latencies sent into it */
	int64_t ws = (int64_t)t_base / 60 * 60;
	size_t k = 0;
	double *lat = malloc((size_t)n_events * sizeof(double));
	struct fraud_row r;
	for (long i = 0; i < n_events; i++) {
		make_row(i, &r);
		if ((int64_t)r.ts / 60 * 60 == ws)
			lat[k++] = r.latency;
	}
	qsort(lat, k, sizeof(double), cmp_double);
	sqlite3 *h;
	sqlite3_stmt *s;
	struct ddsketch *sk = NULL;
	sqlite3_open_v2(c->db, &h, SQLITE_OPEN_READONLY, NULL);
	sqlite3_busy_timeout(h, 5000);
	sqlite3_prepare_v2(h, "SELECT latency_sketch, count FROM windows WHERE start = ?1", -1, &s,
	                   NULL);
	sqlite3_bind_int64(s, 1, ws);
	if (sqlite3_step(s) != SQLITE_ROW ||
	    ddsketch_decode(sqlite3_column_blob(s, 0), (size_t)sqlite3_column_bytes(s, 0), &sk) ||
	    (size_t)sqlite3_column_int64(s, 1) != k) {
		printf("  %s: FAILED: window %lld missing or miscounted\n", what, (long long)ws);
		bad = 1;
	} else {
		double qs[] = {0.5, 0.9, 0.95, 0.99, 0.999}, worst = 0;
		for (int i = 0; i < 5; i++) {
			double got, want = lat[(size_t)floor(qs[i] * (double)(k - 1))];
			ddsketch_quantile(sk, qs[i], &got);
			double e = fabs(got - want) / want;
			worst = e > worst ? e : worst;
		}
		if (worst > 0.01)
			bad = 1;
		printf("  %s: %lld events stored once each, window counts exact, quantile error "
		       "<= %.3f%% %s\n",
		       what, (long long)n, worst * 100, bad ? "FAILED" : "ok");
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
	ddsketch_free(sk);
	free(lat);
	return bad;
}

/* The writer's CPU per event by statement group and the WAL checkpoints,
 * as mlwatchd logs them when it stops (collector/ingest.c): where the
 * serial thread's time goes. */
static void print_writer_stages(const char *log)
{
	char *text = h_read_file(log, NULL), *line, *end;

	if (!text)
		return;
	static const char *const keys[] = {"writer CPU per event us", "WAL checkpoints"};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		line = strstr(text, keys[i]);
		if (line) {
			end = strchr(line, '\n');
			printf("  %.*s\n", end ? (int)(end - line) : (int)strlen(line), line);
		}
	}
	free(text);
}

/* One run of a path into a fresh mlwatchd; its rate, after the checks. */
static double run_path(const char *tag, const char **args, int *bad)
{
	struct cproc c;
	double rate, t0;

	cproc_init(&c, tag);
	if (cproc_start(&c, args)) {
		fprintf(stderr, "mlwatchd did not start, see %s\n", c.log);
		exit(1);
	}
	if (strcmp(tag, "bench-wire") == 0) {
		t0 = h_now();
		rate = bench_wire(&c);
		thread_cpu(c.p.pid, h_now() - t0);
		printf("  wire client -> mlwatchd -> committed:    %10.0f events/s\n", rate);
		*bad |= verify(&c, "wire");
	} else {
		rate = bench_agent(&c);
		thread_cpu(c.p.pid, (double)n_events / rate);
		printf("  agent -> mlwatchd -> committed:          %10.0f events/s\n", rate);
		*bad |= verify(&c, "agent");
	}
	cproc_stop(&c, SIGTERM);
	print_writer_stages(c.log);
	cproc_cleanup(&c);
	return rate;
}

/* ---- PostgreSQL (issue 16, acceptance 4) -------------------------------------- */

#define PG_COPY_ROWS 10000 /* rows per COPY and transaction of the raw load */

static long long pg_ll(const struct pg_cluster *pg, const char *db, const char *sql)
{
	long long v = -1;
	char why[512];

	if (pg_cluster_query_ll(pg, db, sql, &v, why, sizeof(why))) {
		fprintf(stderr, "postgresql: %s\n", why);
		return -1;
	}
	return v;
}

/* A fresh database of the cluster for one run; its URI into uri. */
static void pg_fresh(const struct pg_cluster *pg, const char *name, char *uri, size_t cap)
{
	char why[512];

	if (pg_cluster_createdb(pg, name, uri, cap, why, sizeof(why))) {
		fprintf(stderr, "postgresql: %s\n", why);
		exit(1);
	}
}

/* The raw load: the same rows as the collector stores, by binary COPY
 * (db_bulk) into the events table of a fresh mlwatch schema (its indexes
 * included), PG_COPY_ROWS rows per COPY and transaction; rows and their
 * JSON prepared before the clock starts. */
static double bench_pg_copy(const char *uri)
{
	char err[512];
	struct store st;
	struct db_bulk *b = NULL;
	char **feats = malloc((size_t)n_events * sizeof(char *));
	size_t *flen = malloc((size_t)n_events * sizeof(size_t));
	struct fraud_row *rows = malloc((size_t)n_events * sizeof(struct fraud_row));

	if (!feats || !flen || !rows ||
	    store_open(&st, uri, STORE_RW_CREATE, false, err, sizeof(err))) {
		fprintf(stderr, "raw copy: %s\n", feats && rows ? err : "out of memory");
		exit(1);
	}
	store_exec(&st, "INSERT INTO models (name, created) VALUES ('fraud', 0)");
	int64_t model = 0;
	{
		struct db_stmt *q = NULL;
		if (db_prepare(st.db, "SELECT id FROM models WHERE name = 'fraud'", &q) == DB_OK &&
		    db_step(q) == DB_ROW)
			model = db_column_int64(q, 0);
		db_finalize(q);
	}
	for (long i = 0; i < n_events; i++) {
		make_row(i, &rows[i]);
		feats[i] = row_blob(&rows[i], &flen[i]);
	}
	if (db_bulk_open(
	        st.db, "events",
	        "model_id, req_id, ts, window_start, latency_ms, error, version, features_bin, "
	        "pred_num, pred_str, score, scores, label_num, label_str, label_ts",
	        15, &b) != DB_OK) {
		fprintf(stderr, "raw copy: %s\n", store_errmsg(&st));
		exit(1);
	}
	double t0 = h_now();
	for (long i = 0; i < n_events; i++) {
		const struct fraud_row *r = &rows[i];
		if (i % PG_COPY_ROWS == 0)
			store_begin(&st);
		db_bulk_int64(b, model);
		db_bulk_text(b, r->id);
		db_bulk_double(b, r->ts);
		db_bulk_int64(b, (int64_t)r->ts / 60 * 60);
		db_bulk_double(b, r->latency);
		db_bulk_int64(b, 0);
		db_bulk_null(b);
		db_bulk_blob(b, feats[i], flen[i]);
		db_bulk_null(b);
		db_bulk_text(b, r->pred);
		db_bulk_double(b, r->score);
		db_bulk_null(b);
		db_bulk_null(b);
		db_bulk_null(b);
		db_bulk_null(b);
		db_bulk_row(b);
		if (i % PG_COPY_ROWS == PG_COPY_ROWS - 1 || i == n_events - 1) {
			if (db_bulk_flush(b, NULL) != DB_OK || store_commit(&st)) {
				fprintf(stderr, "raw copy: %s\n", store_errmsg(&st));
				exit(1);
			}
		}
	}
	double dt = h_now() - t0;
	db_bulk_close(b);
	store_close(&st);
	for (long i = 0; i < n_events; i++)
		free(feats[i]);
	free(feats);
	free(flen);
	free(rows);
	return (double)n_events / dt;
}

/* How many values the windows' latency sketches lack against their
 * counts (0: no merge was lost between collectors), -1 on error. */
static long long sketch_shortfall(const struct pg_cluster *pg, const char *db)
{
	char uri[1200], err[512];
	struct store st;
	struct db_stmt *s = NULL;
	long long lost = 0;

	snprintf(uri, sizeof(uri), "postgresql://mlwatch:%s@127.0.0.1:%d/%s", pg->password,
	         pg->port, db);
	if (store_open(&st, uri, STORE_RO, false, err, sizeof(err))) {
		fprintf(stderr, "verify: %s\n", err);
		return -1;
	}
	if (db_prepare(st.db, "SELECT count, latency_sketch FROM windows", &s) != DB_OK)
		lost = -1;
	while (lost >= 0 && db_step(s) == DB_ROW) {
		struct ddsketch *sk = NULL;
		double have = 0;
		if (db_column_type(s, 1) == DB_BLOB &&
		    ddsketch_decode(db_column_blob(s, 1), (size_t)db_column_bytes(s, 1), &sk) == 0)
			have = (double)ddsketch_count(sk);
		ddsketch_free(sk);
		lost += db_column_int64(s, 0) - (long long)have;
	}
	db_finalize(s);
	store_close(&st);
	return lost;
}

/* Every event stored once, window counts exact, in database db. */
static int verify_pg(const struct pg_cluster *pg, const char *db, const char *what)
{
	long long n = pg_ll(pg, db, "SELECT count(*) FROM events");
	long long d = pg_ll(pg, db, "SELECT count(DISTINCT req_id) FROM events");
	long long wc = pg_ll(pg, db, "SELECT coalesce(sum(count), 0) FROM windows");
	bool ok = n == n_events && d == n_events && wc == n_events;
	long long lost = sketch_shortfall(pg, db);

	ok = ok && lost == 0;
	printf("  %s: %lld events, %lld distinct, window counts %lld (sent %ld), latency sketches "
	       "short of their window counts by %lld %s\n",
	       what, n, d, wc, n_events, lost, ok ? "ok" : "FAILED");
	return ok ? 0 : 1;
}

/* ncoll mlwatchd on database `name`, the wire senders spread over them. */
static double pg_collectors(const struct pg_cluster *pg, const char *name, int ncoll,
                            const char **args, int *bad)
{
	struct cproc c[2];
	char uri[1024];
	double rate;

	pg_fresh(pg, name, uri, sizeof(uri));
	for (int k = 0; k < ncoll; k++) {
		cproc_init(&c[k], k ? "bench-pg-b" : "bench-pg-a");
		snprintf(c[k].db, sizeof(c[k].db), "%.500s", uri);
		if (cproc_start(&c[k], args)) {
			fprintf(stderr, "mlwatchd did not start, see %s\n", c[k].log);
			exit(1);
		}
	}
	double t0 = h_now();
	rate = bench_wire_n(c, ncoll, PG_SENDERS);
	for (int k = 0; k < ncoll; k++)
		thread_cpu(c[k].p.pid, h_now() - t0);
	*bad |= verify_pg(pg, name, ncoll > 1 ? "two collectors" : "one collector");
	for (int k = 0; k < ncoll; k++) {
		cproc_stop(&c[k], SIGTERM);
		cproc_cleanup(&c[k]);
	}
	return rate;
}

/* The PostgreSQL figures: raw COPY, one collector, two collectors, raw
 * COPY again; the ratio is to the mean of the two raw loads. */
static void bench_pg(const char **args, int *bad)
{
	struct pg_cluster pg;
	char why[768], uri[1024];
	int rc;

	memset(&pg, 0, sizeof(pg));
	rc = pg_cluster_start(&pg, why, sizeof(why));
	if (rc) {
		printf(" PostgreSQL: SKIP (%s)\n", why);
		if (rc != PG_UNAVAILABLE)
			*bad = 1;
		return;
	}
	printf(" PostgreSQL (a throw-away cluster on loopback; %d wire senders)\n", PG_SENDERS);
	pg_fresh(&pg, "raw1", uri, sizeof(uri));
	double raw1 = bench_pg_copy(uri);
	printf("  raw binary COPY (same rows, %d/COPY):  %10.0f events/s\n", PG_COPY_ROWS, raw1);
	double one = pg_collectors(&pg, "one", 1, args, bad);
	printf("  wire client -> mlwatchd -> PostgreSQL:   %10.0f events/s\n", one);
	double two = pg_collectors(&pg, "two", 2, args, bad);
	printf("  two mlwatchd -> one PostgreSQL:          %10.0f events/s\n", two);
	pg_fresh(&pg, "raw2", uri, sizeof(uri));
	double raw2 = bench_pg_copy(uri);
	printf("  raw binary COPY again:                   %10.0f events/s\n", raw2);
	double base = (raw1 + raw2) / 2;
	printf("  PostgreSQL ratio to raw COPY (%.0f events/s): one collector %.2f (goal >= 0.6: "
	       "%s), two collectors %.2f\n",
	       base, one / base, one / base >= 0.6 ? "met" : "MISSED", two / base);
	pg_cluster_destroy(&pg);
}

int main(void)
{
	const char *env = getenv("BENCH_EVENTS"), *renv = getenv("BENCH_ROUNDS");
	char *dir = h_tmpdir("bench-collector");
	int bad = 0, rounds = 3;
	const char *ids = getenv("BENCH_IDS");

	if (ids && strcmp(ids, "uuid") == 0)
		id_kind = FRAUD_IDS_UUID4;
	else if (ids && strcmp(ids, "uuid7") == 0)
		id_kind = FRAUD_IDS_UUID7;
	else if (ids && *ids && strcmp(ids, "rising") != 0) {
		fprintf(stderr, "BENCH_IDS: rising, uuid or uuid7, not %s\n", ids);
		h_rmtree(dir);
		free(dir);
		return 2;
	}

	if (env) {
		char *end;
		long v = strtol(env, &end, 10);
		if (*end || v < PER_BATCH) {
			fprintf(stderr, "BENCH_EVENTS: a count of at least %d\n", PER_BATCH);
			return 2;
		}
		n_events = v;
	}
	if (renv) {
		char *end;
		long v = strtol(renv, &end, 10);
		if (*end || v < 1 || v > 20) {
			fprintf(stderr, "BENCH_ROUNDS: a count from 1 to 20\n");
			return 2;
		}
		rounds = (int)v;
	}
	/* event times: ten minutes ending a minute ago, aligned to a window */
	t_base = (double)(((int64_t)clock_now() - 720) / 60 * 60);

	/* BENCH_MLWATCHD_ARGS: extra mlwatchd flags, space separated, for
	 * experiments ("--analyze-interval 1h") */
	const char *args[16] = {"--http", "off"};
	char *extra = split_args(getenv("BENCH_MLWATCHD_ARGS"), args, 2);

	/* The speed of this machine drifts by tens of percent within a
	 * minute (other tenants): each round is raw, wire, agent, and each
	 * ratio uses the mean of the raw runs just before and after it (and
	 * the bare rows, likewise bracketing each round). The median over the
	 * rounds is the figure. */
	double raw[21], rawcpu[21], wire[20], agent[20], rw[20], ra[20], cw[20], ca[20];
	double wcpu[20], acpu[20], bare[21], barecpu[21];
	printf("bench_collector: %ld events, %d per batch, 8 features each, %d rounds, %d wire "
	       "senders, request ids %s\n",
	       n_events, PER_BATCH, rounds, SENDERS,
	       id_kind == FRAUD_IDS_UUID4   ? "random UUIDs (v4)"
	       : id_kind == FRAUD_IDS_UUID7 ? "time-ordered UUIDs (v7)"
	                                    : "rising");
	/* BENCH_PG=only: the PostgreSQL figures alone; BENCH_PG=0: none */
	const char *pgenv = getenv("BENCH_PG");
	if (pgenv && strcmp(pgenv, "only") == 0) {
		bench_pg(args, &bad);
		h_rmtree(dir);
		free(dir);
		free(extra);
		return bad;
	}
	for (int r = 0; r < rounds; r++) {
		printf(" round %d\n", r + 1);
		raw[r] = bench_raw(dir, false, &rawcpu[r]);
		printf(
		    "  raw SQLite insert (same rows, 1000/tx):  %10.0f events/s, %.2f us CPU per "
		    "event (1 thread)\n",
		    raw[r], rawcpu[r]);
		bare[r] = bench_raw(dir, true, &barecpu[r]);
		printf(
		    "  bare rows (no secondary index):          %10.0f events/s, %.2f us CPU per "
		    "event\n",
		    bare[r], barecpu[r]);
		wire[r] = run_path("bench-wire", args, &bad);
		wcpu[r] = cpu_coll_us + cpu_gen_us;
		agent[r] = run_path("bench-agent", args, &bad);
		acpu[r] = cpu_coll_us + cpu_agent_us + cpu_gen_us;
	}
	raw[rounds] = bench_raw(dir, false, &rawcpu[rounds]);
	printf(
	    " raw SQLite insert after the last round:    %10.0f events/s, %.2f us CPU per event\n",
	    raw[rounds], rawcpu[rounds]);
	bare[rounds] = bench_raw(dir, true, &barecpu[rounds]);
	printf(
	    " bare rows (no secondary index), the floor: %10.0f events/s, %.2f us CPU per event\n",
	    bare[rounds], barecpu[rounds]);
	for (int r = 0; r < rounds; r++) {
		double base = (raw[r] + raw[r + 1]) / 2, bcpu = (rawcpu[r] + rawcpu[r + 1]) / 2;
		rw[r] = wire[r] / base;
		ra[r] = agent[r] / base;
		/* by CPU: raw's CPU per event over the path's (all its processes) */
		cw[r] = bcpu / wcpu[r];
		ca[r] = bcpu / acpu[r];
		printf(" round %d: ratio to raw (%.0f events/s, %.2f us CPU/event): wire %.2f by "
		       "throughput, %.2f by CPU (%.2f us/event); agent %.2f by throughput, %.2f by "
		       "CPU (%.2f us/event)\n",
		       r + 1, base, bcpu, rw[r], cw[r], wcpu[r], ra[r], ca[r], acpu[r]);
	}
	/* issue 18: the end-to-end path against the storage floor */
	double ab[20], bb[20];
	for (int r = 0; r < rounds; r++) {
		bb[r] = (bare[r] + bare[r + 1]) / 2;
		ab[r] = agent[r] / bb[r];
		printf(" round %d: agent -> committed %.0f events/s vs bare rows %.0f events/s "
		       "(before and after it): %.2f\n",
		       r + 1, agent[r], bb[r], ab[r]);
	}
	qsort(ab, (size_t)rounds, sizeof(double), cmp_double);
	qsort(bb, (size_t)rounds, sizeof(double), cmp_double);
	printf(
	    "  agent -> committed vs bare rows (median %.0f events/s): %.2f, median of %d rounds "
	    "(goal >= 0.5: %s)\n",
	    bb[rounds / 2], ab[rounds / 2], rounds, ab[rounds / 2] >= 0.5 ? "met" : "MISSED");
	qsort(rw, (size_t)rounds, sizeof(double), cmp_double);
	qsort(ra, (size_t)rounds, sizeof(double), cmp_double);
	qsort(cw, (size_t)rounds, sizeof(double), cmp_double);
	qsort(ca, (size_t)rounds, sizeof(double), cmp_double);
	printf("  ratio to raw, median of %d rounds: wire %.2f, agent %.2f (goal >= %.1f: %s); by "
	       "CPU per event: wire %.2f, agent %.2f (raw is one thread, mlwatchd uses both "
	       "cores)\n",
	       rounds, rw[rounds / 2], ra[rounds / 2], GOAL,
	       ra[rounds / 2] >= GOAL && rw[rounds / 2] >= GOAL ? "met" : "MISSED", cw[rounds / 2],
	       ca[rounds / 2]);
	if (!pgenv || strcmp(pgenv, "0") != 0)
		bench_pg(args, &bad);
	h_rmtree(dir);
	free(dir);
	free(extra);
	return bad;
}
