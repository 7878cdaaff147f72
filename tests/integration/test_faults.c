/* Faults with the real agent in front of the real collector, on loopback
 * (issue 9). Every scenario posts events with unique ids to the agent's
 * HTTP input and ends by comparing what the agent acknowledged (202, and
 * its events_sent_total) with what the database holds, by id:
 *   (mlwatchd kill -9 under load through the real agent is
 *   test_collector_agent.c's kill9_of_the_collector_loses_nothing_acknowledged)
 *   2 mlwatchd stopped for a while (5 s; 60 s under make soak): the agent
 *     spools, replays in order, exact counts, spool emptied
 *   3 the agent kill -9 with a full spool (at --spool-max, dropping the
 *     oldest): replay after restart is exactly the newest batches, and the
 *     restarted agent's own batches are not mistaken for duplicates
 *   4 the spool's disk full (a tiny tmpfs): the agent keeps counting, holds
 *     batches in memory, answers 503 + Retry-After when memory is short
 *     too, and recovers when space comes back: nothing acknowledged lost
 *   5 SQLite busy: another process holds BEGIN IMMEDIATE for 5 s; replies
 *     come late, nothing is lost or refused
 *   6 webhook receiver down (connection refused) then up: delivered once
 *     (500, 429 and a hung receiver are covered by test_alerts.c)
 *   7 clock skew: events more than 5 min ahead refused and counted by the
 *     agent (HTTP, KServe) and by the collector (wire); a day-old backfill
 *     accepted, its window analysed, and recomputed when more arrive.
 * Whatever the agent or collector already proves alone (fake collector,
 * wire client) is in test_agent_spool.c, test_collector*.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/agent_proc.h"
#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/http_sink.h"
#include "../lib/wire_client.h"
#include "clock.h"

/* ---- helpers ---------------------------------------------------------- */

/* The collector and an agent pointed at it; neither started. */
static void pair_init(struct cproc *c, struct agent_proc *a, const char *tag)
{
	cproc_init(c, tag);
	cr_assert_eq(ap_init(a, tag), 0);
	snprintf(a->collector, sizeof(a->collector), "%.127s", c->url);
}

static void pair_cleanup(struct cproc *c, struct agent_proc *a)
{
	if (a->p.pid > 0)
		ap_stop(a);
	ap_cleanup(a);
	cproc_cleanup(c);
}

/* A JSON array of n events with ids "<prefix>-%07d" from first; pad bytes
 * of feature text; ts_off != 0 gives every event ts = now + ts_off.
 * Caller frees. */
static char *events_body(const char *prefix, int first, int n, int pad, double ts_off,
                         const char *model)
{
	size_t cap = (size_t)n * (260 + (size_t)pad) + 16, len = 0;
	char *s = malloc(cap), *padding = malloc((size_t)pad + 1), ts[48] = "";
	cr_assert(s && padding);
	memset(padding, 'p', (size_t)pad);
	padding[pad] = '\0';
	if (ts_off != 0)
		snprintf(ts, sizeof(ts), "\"ts\":%.3f,", clock_now() + ts_off);
	len += (size_t)snprintf(s + len, cap - len, "[");
	for (int i = 0; i < n; i++)
		len +=
		    (size_t)snprintf(s + len, cap - len,
		                     "%s{\"model\":\"%s\",\"id\":\"%s-%07d\",%s\"latency_ms\":%d,"
		                     "\"features\":{\"x\":%d,\"pad\":\"%s\"},\"prediction\":1}",
		                     i ? "," : "", model, prefix, first + i, ts,
		                     1 + (first + i) % 90, (first + i) % 17, padding);
	snprintf(s + len, cap - len, "]");
	free(padding);
	return s;
}

/* A steady stream of requests to the agent from a thread: per_post events
 * every interval seconds, ids prefix-0000000 upwards. Counts what the
 * agent accepted (202) and refused; a refused request keeps nothing. */
struct poster {
	struct agent_proc *ag;
	const char *prefix, *model;
	int per_post, pad;
	double interval;
	atomic_bool stop;
	atomic_int next, accepted, refused, unanswered, status_503;
	pthread_t th;
	bool running;
};

static void *poster_main(void *arg)
{
	struct poster *p = arg;
	while (!atomic_load(&p->stop)) {
		int first = atomic_load(&p->next);
		char *b = events_body(p->prefix, first, p->per_post, p->pad, 0, p->model);
		long st = ap_post(p->ag, "/v1/events", b, strlen(b), NULL, false, NULL);
		free(b);
		atomic_store(&p->next, first + p->per_post);
		if (st == 202)
			atomic_fetch_add(&p->accepted, p->per_post);
		else if (st < 0)
			atomic_fetch_add(&p->unanswered, p->per_post);
		else
			atomic_fetch_add(&p->refused, p->per_post);
		if (st == 503)
			atomic_fetch_add(&p->status_503, 1);
		h_sleep(p->interval);
	}
	return NULL;
}

static void poster_start(struct poster *p, struct agent_proc *ag, const char *prefix, int per_post,
                         double interval)
{
	memset(p, 0, sizeof(*p));
	p->ag = ag;
	p->prefix = prefix;
	p->model = "m";
	p->per_post = per_post;
	p->interval = interval;
	cr_assert_eq(pthread_create(&p->th, NULL, poster_main, p), 0);
	p->running = true;
}

static void poster_stop(struct poster *p)
{
	if (!p->running)
		return;
	atomic_store(&p->stop, true);
	pthread_join(p->th, NULL);
	p->running = false;
}

/* One scenario at a time; the suite's teardown stops and removes whatever
 * a failed assertion left behind. */
static struct cproc C;
static struct agent_proc A;
static struct poster P;
static char mnt[600];

static void teardown(void)
{
	poster_stop(&P);
	if (mnt[0]) {
		umount2(mnt, MNT_DETACH);
		mnt[0] = '\0';
	}
	pair_cleanup(&C, &A);
	memset(&C, 0, sizeof(C));
	memset(&A, 0, sizeof(A));
}

TestSuite(faults, .fini = teardown);

/* Waits until the first column of sql equals want; returns the last value. */
static int64_t wait_db(const char *db, const char *sql, int64_t want, double timeout_s)
{
	double end = h_now() + timeout_s * cproc_slow();
	int64_t v;
	for (;;) {
		v = db_int(db, sql);
		if (v == want || h_now() > end)
			return v;
		h_sleep(0.1);
	}
}

static int64_t count_prefix(const char *db, const char *prefix, bool distinct)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT count(%sreq_id) FROM events WHERE req_id LIKE '%s-%%'",
	         distinct ? "DISTINCT " : "", prefix);
	return db_int(db, sql);
}

static bool wait_prefix(const char *db, const char *prefix, int64_t want, double timeout_s)
{
	double end = h_now() + timeout_s * cproc_slow();
	while (h_now() < end) {
		if (count_prefix(db, prefix, false) == want)
			return true;
		h_sleep(0.1);
	}
	return count_prefix(db, prefix, false) == want;
}

static int count_in_file(const char *path, const char *needle)
{
	char *s = h_read_file(path, NULL);
	int n = 0;
	for (const char *p = s; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	free(s);
	return n;
}

#define WINDOWS_OF_M(col)                                                                         \
	"SELECT sum(w." col ") FROM windows w JOIN models m ON m.id = w.model_id WHERE m.name = " \
	"'m'"

/* Everything accepted is in the database exactly once, counted exactly
 * once in the windows, and the agent says it was all acknowledged. */
static void expect_exact(struct cproc *c, struct agent_proc *a, const char *prefix, int accepted,
                         double timeout_s)
{
	cr_assert(wait_prefix(c->db, prefix, accepted, timeout_s),
	          "database holds %lld of the %d events the agent accepted",
	          (long long)count_prefix(c->db, prefix, false), accepted);
	cr_assert_eq(count_prefix(c->db, prefix, true), accepted, "an id stored twice");
	cr_assert(ap_wait_metric(a, "mlwatch_agent_events_sent_total", NULL, accepted, 10));
	cr_assert_eq(ap_metric(a, "mlwatch_agent_events_sent_total", NULL), accepted,
	             "acknowledged by the collector, as the agent counts it");
	cr_assert_eq(ap_metric(a, "mlwatch_agent_events_dropped_total", NULL), 0);
	/* The windows' 100% counts come from the summaries: exactly once too. */
	cr_assert_eq(wait_db(c->db, WINDOWS_OF_M("count"), accepted, 10), accepted);
	cr_assert_eq(db_int(c->db, WINDOWS_OF_M("sampled")), accepted);
}

/* ---- 2: the collector away for a while ----------------------------------- */

Test(faults, collector_stopped_agent_spools_and_replays_exactly, .timeout = 180)
{
	struct cproc *c = &C;
	struct agent_proc *a = &A;
	struct poster *p = &P;
	/* make soak runs the minute-long outage of the issue. */
	double away = getenv("SOAK_SECONDS") ? 60.0 : 5.0;

	pair_init(c, a, "f-away");
	cr_assert_eq(cproc_start(c, NULL), 0, "see %s", c->log);
	cr_assert_eq(ap_start(a, (const char *[]){"--resend", "1s", NULL}), 0, "see %s", a->log);
	poster_start(p, a, "w", 10, 0.02);
	cr_assert(ap_wait_metric(a, "mlwatch_agent_events_sent_total", NULL, 100, 10));
	cr_assert_eq(cproc_stop(c, SIGTERM), 0);
	double t0 = h_now();
	int64_t before = count_prefix(c->db, "w", false);
	cr_assert(ap_wait_metric(a, "mlwatch_agent_events_spooled_total", NULL, 1, 5),
	          "nothing went to the spool while the collector was away");
	while (h_now() - t0 < away)
		h_sleep(0.1);
	int during = atomic_load(&p->accepted);
	cr_assert_eq(cproc_start(c, NULL), 0, "restart failed, see %s", c->log);
	h_sleep(0.5);
	poster_stop(p);
	int accepted = atomic_load(&p->accepted);
	cr_assert_eq(atomic_load(&p->refused) + atomic_load(&p->unanswered), 0);
	cr_assert_gt(during, before, "traffic went on during the outage");
	expect_exact(c, a, "w", accepted, 30 + away);
	double spooled = ap_metric(a, "mlwatch_agent_events_spooled_total", NULL);
	cr_assert_gt(spooled, 0);
	cr_assert_eq(ap_metric(a, "mlwatch_agent_events_replayed_total", NULL), spooled,
	             "everything spooled was replayed");
	for (int i = 0; i < 100 && ap_metric(a, "mlwatch_agent_spool_bytes", NULL) != 0; i++)
		h_sleep(0.05);
	cr_assert_eq(ap_metric(a, "mlwatch_agent_spool_bytes", NULL), 0, "spool emptied");
	fprintf(stderr, "faults: %.0f s outage: %d accepted, %.0f spooled and replayed\n", away,
	        accepted, spooled);
}

/* ---- 3: agent kill -9 with a full spool ------------------------------------ */

Test(faults, agent_kill9_with_full_spool_replays_the_newest_after_restart, .timeout = 90)
{
	struct cproc *c = &C;
	struct agent_proc *a = &A;
	const int per = 25, posts = 40, n = per * posts;
	const char *const extra[] = {"--spool-max", "64KiB", NULL};

	pair_init(c, a, "f-agentkill");
	/* No collector: everything goes to a 64 KiB spool, which overflows. */
	cr_assert_eq(ap_start(a, extra), 0, "see %s", a->log);
	for (int i = 0; i < posts; i++) {
		char *b = events_body("s", i * per, per, 120, 0, "m");
		cr_assert_eq(ap_post(a, "/v1/events", b, strlen(b), NULL, false, NULL), 202);
		free(b);
		h_sleep(0.06); /* about one batch per request */
	}
	cr_assert(ap_wait_metric(a, "mlwatch_agent_events_spooled_total", NULL, n, 20),
	          "spooled %g of %d", ap_metric(a, "mlwatch_agent_events_spooled_total", NULL), n);
	double dropped = ap_metric(a, "mlwatch_agent_events_dropped_total", NULL);
	double cdropped = ap_metric(a, "mlwatch_agent_counted_dropped_total", NULL);
	cr_assert_gt(dropped, 0, "the spool never filled up");
	cr_assert_leq(ap_metric(a, "mlwatch_agent_spool_bytes", NULL), 65536);
	/* The spool's cursor is saved every second: wait for a save made after
	 * everything was spooled, then kill. */
	char cursor[800];
	snprintf(cursor, sizeof(cursor), "%s/spool/cursor", a->state);
	cr_assert(h_wait_modified(cursor, h_wall(), 5 * h_slow()), "%s not saved within %.0f s",
	          cursor, 5 * h_slow());
	cr_assert_eq(h_stop(&a->p, SIGKILL, 5), 128 + SIGKILL);

	cr_assert_eq(cproc_start(c, NULL), 0, "see %s", c->log);
	cr_assert_eq(ap_start(a, extra), 0, "restart failed, see %s", a->log);
	int left = n - (int)dropped;
	cr_assert(wait_prefix(c->db, "s", left, 20), "replayed %lld, expected %d (dropped %g)",
	          (long long)count_prefix(c->db, "s", false), left, dropped);
	cr_assert_eq(count_prefix(c->db, "s", true), left);
	/* The oldest were dropped: what is left is exactly the newest. */
	char first[32], want[32];
	snprintf(want, sizeof(want), "s-%07d", (int)dropped);
	cr_assert_eq(db_text(c->db, "SELECT min(req_id) FROM events WHERE req_id LIKE 's-%'", first,
	                     sizeof(first)),
	             0);
	cr_assert_str_eq(first, want);
	cr_assert_eq(wait_db(c->db, "SELECT sum(count) FROM windows", n - (int64_t)cdropped, 10),
	             n - (int64_t)cdropped, "summaries: everything not dropped, once");
	/* The restarted agent numbers its batches after the spooled ones: its
	 * own events are not taken for duplicates of the replayed batches. */
	char *b = events_body("after", 0, 50, 0, 0, "m");
	cr_assert_eq(ap_post(a, "/v1/events", b, strlen(b), NULL, false, NULL), 202);
	free(b);
	cr_assert(wait_prefix(c->db, "after", 50, 10), "new events after the restart: %lld of 50",
	          (long long)count_prefix(c->db, "after", false));
	cr_assert_eq(cproc_metric(c, "mlwatch_collector_duplicate_batches_total"), 0);
	for (int i = 0; i < 100 && ap_metric(a, "mlwatch_agent_spool_bytes", NULL) != 0; i++)
		h_sleep(0.05);
	cr_assert_eq(ap_metric(a, "mlwatch_agent_spool_bytes", NULL), 0);
	cr_assert_eq(ap_metric(a, "mlwatch_agent_spool_corrupt_total", NULL), 0);
	fprintf(stderr,
	        "faults: agent kill -9 with a full spool: %d sent, %.0f dropped (oldest), "
	        "%d replayed\n",
	        n, dropped, left);
}

/* ---- 4: the spool's disk is full ------------------------------------------ */

Test(faults, spool_disk_full_keeps_counting_and_recovers, .timeout = 90)
{
	struct cproc *c = &C;
	struct agent_proc *a = &A;
	char spool[700], filler[700];
	const int per = 20, pad = 200;

	pair_init(c, a, "f-diskfull");
	snprintf(mnt, sizeof(mnt), "%s/small", a->dir);
	mkdir(mnt, 0700);
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=2m,mode=0700") != 0) {
		int e = errno;
		mnt[0] = '\0';
		cr_skip_test("cannot mount a tmpfs here (%s): needs root", strerror(e));
	}
	/* Leave about 100 KiB free; once the filler goes, 2 MiB hold what
	 * waits in memory (at most 2 x memory_max / 4) and in the spool. */
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	size_t fill = 1948 * 1024;
	char *zeros = calloc(1, fill);
	cr_assert_eq(h_write_file(filler, zeros, fill), 0);
	free(zeros);
	snprintf(spool, sizeof(spool), "%s/spool", mnt);
	/* A spool bound larger than the disk, and little memory, so both
	 * limits are met: the disk first, then memory (503). */
	const char *const extra[] = {"--spool-dir", spool, "--memory-max", "1MiB", NULL};
	cr_assert_eq(ap_start(a, extra), 0, "see %s", a->log);

	int accepted = 0, refused = 0, next = 0;
	bool saw_retry_after = false;
	char url[128];
	snprintf(url, sizeof(url), "%.64s/v1/events", a->http);
	/* Post until the agent says it is full (bounded). */
	for (int i = 0; i < 400 && refused == 0; i++) {
		char *b = events_body("d", next, per, pad, 0, "m");
		struct h_http r;
		cr_assert_eq(h_http("POST", url, b, strlen(b), NULL, false, &r), 0);
		free(b);
		if (r.status == 202)
			accepted += per;
		else {
			cr_assert_eq(r.status, 503, "%ld %s", r.status, r.body);
			saw_retry_after = strstr(r.headers, "Retry-After:") != NULL;
			refused += per;
		}
		h_http_free(&r);
		next += per;
		h_sleep(0.01);
	}
	cr_assert_gt(refused, 0, "the agent never ran out of room");
	cr_assert(saw_retry_after, "503 without Retry-After");
	cr_assert(h_wait_log(a->log, "cannot write to the spool", 1), "no spool error in %s",
	          a->log);
	cr_assert(count_in_file(a->log, "No space left on device") > 0);
	/* It kept counting everything it took, and what it refused. */
	cr_assert_eq(ap_metric(a, "mlwatch_agent_events_received_total", NULL), accepted);
	cr_assert_geq(ap_metric(a, "mlwatch_agent_rejected_total", "reason=\"overloaded\""), 1);
	double spooled_full = ap_metric(a, "mlwatch_agent_events_spooled_total", NULL);
	cr_assert_lt(spooled_full, accepted, "everything fit in 100 KiB?");
	cr_assert_eq(ap_metric(a, "mlwatch_agent_events_dropped_total", NULL), 0);

	/* Space comes back: the agent spools again by itself and empties its
	 * memory queue (the batches in flight wait for the collector). */
	cr_assert_eq(unlink(filler), 0);
	cr_assert(
	    ap_wait_metric(a, "mlwatch_agent_events_spooled_total", NULL, spooled_full + 1, 10),
	    "nothing spooled after space came back");
	for (int i = 0; i < 100 && ap_metric(a, "mlwatch_agent_queue_bytes", NULL) != 0; i++)
		h_sleep(0.05);
	cr_assert_eq(ap_metric(a, "mlwatch_agent_queue_bytes", NULL), 0,
	             "memory queue kept: %g bytes, spooled %g, inflight %g, spool %g",
	             ap_metric(a, "mlwatch_agent_queue_bytes", NULL),
	             ap_metric(a, "mlwatch_agent_events_spooled_total", NULL),
	             ap_metric(a, "mlwatch_agent_batches_inflight", NULL),
	             ap_metric(a, "mlwatch_agent_spool_bytes", NULL));
	char *b = events_body("d", next, per, pad, 0, "m");
	cr_assert_eq(ap_post(a, "/v1/events", b, strlen(b), NULL, false, NULL), 202,
	             "still refusing after recovery");
	free(b);
	accepted += per;

	/* And the collector gets every accepted event once. */
	cr_assert_eq(cproc_start(c, NULL), 0, "see %s", c->log);
	cr_assert(wait_prefix(c->db, "d", accepted, 30), "stored %lld of %d",
	          (long long)count_prefix(c->db, "d", false), accepted);
	cr_assert_eq(count_prefix(c->db, "d", true), accepted);
	cr_assert_eq(wait_db(c->db, "SELECT sum(count) FROM windows", accepted, 10), accepted);
	cr_assert_eq(ap_metric(a, "mlwatch_agent_spool_corrupt_total", NULL), 0);
	cr_assert_eq(ap_metric(a, "mlwatch_agent_events_dropped_total", NULL), 0);
	fprintf(stderr,
	        "faults: spool disk full after %.0f events spooled; %d accepted, %d refused "
	        "(503), all accepted stored once\n",
	        spooled_full, accepted, refused);
	cr_assert_eq(ap_stop(a), 0);
}

/* ---- 5: SQLite busy ---------------------------------------------------------- */

Test(faults, sqlite_write_lock_held_5s_replies_late_and_loses_nothing, .timeout = 90)
{
	struct cproc *c = &C;
	struct agent_proc *a = &A;
	struct poster *p = &P;
	struct h_proc lk;
	char lock_log[700], script[1400];
	const double hold = 5.0;

	pair_init(c, a, "f-busy");
	cr_assert_eq(cproc_start(c, NULL), 0, "see %s", c->log);
	cr_assert_eq(ap_start(a, NULL), 0, "see %s", a->log);
	poster_start(p, a, "b", 10, 0.05);
	cr_assert(ap_wait_metric(a, "mlwatch_agent_events_sent_total", NULL, 50, 10));

	/* Another process takes the write lock and keeps it for 5 s. */
	snprintf(lock_log, sizeof(lock_log), "%s/lock.log", c->dir);
	snprintf(script, sizeof(script),
	         "(echo '.timeout 5000'; echo 'BEGIN IMMEDIATE;'; echo '.print locked'; "
	         "sleep %.0f; echo 'COMMIT;'; echo '.print released') | sqlite3 '%.512s'",
	         hold, c->db);
	char *argv[] = {"/bin/sh", "-c", script, NULL};
	cr_assert_eq(h_spawn(&lk, argv, lock_log, NULL), 0);
	cr_assert(h_wait_log(lock_log, "locked", 10), "sqlite3 did not take the lock");
	double locked_at = h_now();

	/* A batch sent now waits for the lock: answered late, but OK. */
	struct wc_client *cl;
	struct wc_batch wb;
	struct wire_reply r;
	uint8_t *buf;
	size_t len;
	char err[256];
	cr_assert_eq(wc_open(&cl, c->url, NULL, 20, err, sizeof(err)), 0, "%s", err);
	wc_batch_init(&wb, "busy-probe", 1, NULL);
	for (int k = 0; k < 10; k++) {
		char id[32];
		snprintf(id, sizeof(id), "probe-%d", k);
		wc_batch_event(&wb, "probe", id, clock_now() - 1, 5, false, NULL, 0, wc_num(1), -1,
		               wc_none());
	}
	wc_batch_encode(&wb, &buf, &len);
	double sent = h_now();
	cr_assert_eq(wc_request(cl, buf, len, &r, err, sizeof(err)), 0, "%s", err);
	double waited = h_now() - sent;
	cr_assert_eq(r.status, WIRE_OK, "%s: %s", wire_status_name(r.status), r.message);
	cr_assert_eq(r.stored, 10);
	cr_assert(h_now() - locked_at >= hold - 0.5, "answered %.2f s after the lock was taken",
	          h_now() - locked_at);
	free(buf);
	wc_batch_free(&wb);
	wc_close(cl);
	cr_assert(h_wait_log(lock_log, "released", 5));
	h_stop(&lk, SIGTERM, 5);

	h_sleep(0.5);
	poster_stop(p);
	int accepted = atomic_load(&p->accepted);
	cr_assert_eq(atomic_load(&p->refused) + atomic_load(&p->unanswered), 0,
	             "the agent refused input while the database was locked");
	expect_exact(c, a, "b", accepted, 30);
	cr_assert_eq(count_prefix(c->db, "probe", false), 10);
	cr_assert_eq(cproc_metric(c, "mlwatch_collector_rejects_total{reason=\"busy\"}"), 0,
	             "a batch was refused as busy instead of waiting");
	fprintf(stderr,
	        "faults: write lock held %.0f s: probe answered after %.2f s, %d events "
	        "from the agent all stored\n",
	        hold, waited, accepted);
}

/* ---- 6: webhook receiver down, then up ---------------------------------------- */

Test(faults, webhook_receiver_down_then_up_delivers_once, .timeout = 90)
{
	struct cproc *c = &C;
	struct agent_proc *a = &A;
	struct poster *p = &P;
	char conf[1024], path[700];
	int port = h_free_port();

	pair_init(c, a, "f-hook");
	/* Nobody listens on the receiver's port yet: connection refused. */
	snprintf(conf, sizeof(conf),
	         "[alert busy]\nmodel = m\nexpr = rps > 1 over 2s\nseverity = warn\n"
	         "receivers = hook\n\n[receiver hook]\ntype = webhook\nurl = "
	         "http://127.0.0.1:%d/hook\n",
	         port);
	snprintf(path, sizeof(path), "%s/mlwatch.conf", c->dir);
	cr_assert_eq(h_write_file(path, conf, strlen(conf)), 0);
	cr_assert_eq(cproc_start(c, (const char *[]){"--config", path, NULL}), 0, "see %s", c->log);
	cr_assert_eq(ap_start(a, NULL), 0, "see %s", a->log);
	poster_start(p, a, "h", 5, 0.05);
	cr_assert_eq(wait_db(c->db,
	                     "SELECT count(*) FROM outbox WHERE attempts >= 1 AND "
	                     "last_error IS NOT NULL AND status = 'pending'",
	                     1, 15),
	             1, "no failed delivery attempt recorded");
	char why[256] = "";
	db_text(c->db, "SELECT last_error FROM outbox", why, sizeof(why));
	struct http_sink *s = sink_start(port);
	cr_assert_not_null(s);
	cr_assert_eq(
	    wait_db(c->db, "SELECT count(*) FROM outbox WHERE status = 'delivered'", 1, 15), 1,
	    "not delivered after the receiver came back");
	h_sleep(1.0);
	size_t firing = 0;
	for (size_t i = 0; i < sink_count(s); i++)
		firing += strstr(sink_request(s, i)->body, "\"status\":\"firing\"") != NULL;
	cr_assert_eq(firing, 1, "delivered %zu times", firing);
	poster_stop(p);
	cr_assert_eq(atomic_load(&p->refused), 0);
	cr_assert(h_alive(&c->p), "mlwatchd died");
	fprintf(stderr, "faults: receiver down (%s), then up: delivered once\n", why);
	sink_stop(s);
}

/* ---- 7: clock skew and backfill ------------------------------------------------- */

Test(faults, future_events_refused_and_counted_day_old_backfill_recomputed, .timeout = 90)
{
	struct cproc *c = &C;
	struct agent_proc *a = &A;
	char *resp = NULL;

	pair_init(c, a, "f-skew");
	cr_assert_eq(cproc_start(c, (const char *[]){"--analyze-interval", "300ms", NULL}), 0,
	             "see %s", c->log);
	cr_assert_eq(ap_start(a, NULL), 0, "see %s", a->log);

	/* Agent, HTTP: 10 minutes ahead is refused (the whole request), 4
	 * minutes ahead is within the tolerance. */
	char *b = events_body("fut", 0, 3, 0, 600, "m");
	cr_assert_eq(ap_post(a, "/v1/events", b, strlen(b), NULL, false, &resp), 400);
	cr_assert(strstr(resp, "\"field\":\"ts\""), "%s", resp);
	free(resp);
	free(b);
	cr_assert_eq(ap_metric(a, "mlwatch_agent_rejected_total", "reason=\"malformed\""), 1);
	b = events_body("near", 0, 3, 0, 240, "m");
	cr_assert_eq(ap_post(a, "/v1/events", b, strlen(b), NULL, false, NULL), 202);
	free(b);
	/* Agent, KServe: a ce-time 10 minutes ahead. */
	char ce_time[64], h_time[96];
	clock_format_rfc3339(clock_now() + 600, ce_time, sizeof(ce_time));
	snprintf(h_time, sizeof(h_time), "ce-time: %s", ce_time);
	const char *kh[] = {"ce-id: skew-1",
	                    "ce-type: org.kubeflow.serving.inference.request",
	                    "ce-inferenceservicename: m",
	                    h_time,
	                    "Content-Type: application/json",
	                    NULL};
	const char *kb = "{\"instances\":[{\"x\":1}]}";
	cr_assert_eq(ap_post(a, "/v1/kserve", kb, strlen(kb), kh, false, &resp), 400);
	cr_assert(strstr(resp, "\"field\":\"ce-time\""), "%s", resp);
	free(resp);
	cr_assert_eq(ap_metric(a, "mlwatch_agent_rejected_total", "reason=\"malformed\""), 2);

	/* Collector, wire (an agent with a skewed clock, or another client):
	 * the future events of a batch are refused one by one, the rest kept. */
	struct wc_client *cl;
	struct wc_batch wb;
	struct wire_reply r;
	uint8_t *buf;
	size_t len;
	char err[256];
	cr_assert_eq(wc_open(&cl, c->url, NULL, 10, err, sizeof(err)), 0, "%s", err);
	wc_batch_init(&wb, "skewed-agent", 1, NULL);
	double offs[] = {-1, 400, 3600 * 24 * 365.0, 200};
	for (int k = 0; k < 4; k++) {
		char id[32];
		snprintf(id, sizeof(id), "wire-%d", k);
		wc_batch_event(&wb, "m", id, clock_now() + offs[k], 5, false, NULL, 0, wc_num(1),
		               -1, wc_none());
	}
	wc_batch_encode(&wb, &buf, &len);
	cr_assert_eq(wc_request(cl, buf, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.status, WIRE_OK);
	cr_assert_eq(r.stored, 2);
	cr_assert_eq(r.rejected, 2);
	free(buf);
	wc_batch_free(&wb);
	wc_close(cl);
	cr_assert_eq(cproc_metric(c, "mlwatch_collector_rejects_total{reason=\"future_ts\"}"), 2);
	cr_assert_eq(count_prefix(c->db, "wire", false), 2);

	/* Backfill: events of a day ago are accepted and their (closed) window
	 * is analysed; more of them later reopen and recompute it. */
	double day_ago = clock_now() - 86400;
	int64_t w = (int64_t)floor(day_ago / 60) * 60;
	double off = (double)w + 10 - clock_now(); /* 10 s into that window */
	char sql[512];
	b = events_body("old", 0, 40, 0, off, "m");
	cr_assert_eq(ap_post(a, "/v1/events", b, strlen(b), NULL, false, NULL), 202);
	free(b);
	snprintf(sql, sizeof(sql),
	         "SELECT count FROM windows WHERE start = %lld AND dirty = 0 AND provisional = 0 "
	         "AND analyzed IS NOT NULL AND p50 IS NOT NULL",
	         (long long)w);
	cr_assert_eq(wait_db(c->db, sql, 40, 15), 40, "the day-old window was not analysed");
	snprintf(sql, sizeof(sql), "SELECT analyzed FROM windows WHERE start = %lld", (long long)w);
	double analyzed1 = db_double(c->db, sql);
	snprintf(sql, sizeof(sql),
	         "SELECT n FROM window_features WHERE start = %lld AND feature = 'x'",
	         (long long)w);
	cr_assert_eq(wait_db(c->db, sql, 40, 5), 40);
	h_sleep(0.2);
	b = events_body("old", 40, 25, 0, off + 20, "m");
	cr_assert_eq(ap_post(a, "/v1/events", b, strlen(b), NULL, false, NULL), 202);
	free(b);
	snprintf(sql, sizeof(sql),
	         "SELECT count FROM windows WHERE start = %lld AND dirty = 0 AND analyzed > %.6f",
	         (long long)w, analyzed1);
	cr_assert_eq(wait_db(c->db, sql, 65, 15), 65, "the window was not recomputed");
	snprintf(sql, sizeof(sql),
	         "SELECT n FROM window_features WHERE start = %lld AND feature = 'x'",
	         (long long)w);
	cr_assert_eq(wait_db(c->db, sql, 65, 5), 65);
	snprintf(sql, sizeof(sql), "SELECT max FROM windows WHERE start = %lld", (long long)w);
	double mx = db_double(c->db, sql);
	cr_assert(mx >= 60 && mx <= 66 * 1.011, "window max latency %g after the recompute", mx);
	cr_assert_eq(count_prefix(c->db, "old", true), 65);
	cr_assert_eq(count_prefix(c->db, "near", false), 3);
	cr_assert_eq(count_prefix(c->db, "fut", false), 0);
	cr_assert_eq(ap_stop(a), 0);
	cr_assert_eq(cproc_stop(c, SIGTERM), 0);
}
