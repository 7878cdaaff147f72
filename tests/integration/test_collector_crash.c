/* kill -9 of mlwatchd in the middle of a steady stream, then a restart:
 * every batch the client saw acknowledged is stored exactly once, the
 * client's resends of unacknowledged batches are not duplicated, and the
 * database passes PRAGMA integrity_check. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/wire_client.h"
#include "clock.h"

#define BATCHES   120
#define PER_BATCH 100

struct stream {
	const char *url;
	atomic_int acked;    /* batches acknowledged so far */
	atomic_int failures; /* requests that got no answer */
	bool acked_seq[BATCHES + 1];
	atomic_bool done;
};

/* Behaves like an agent: each batch is resent until it is answered OK. */
static void *stream_main(void *arg)
{
	struct stream *s = arg;
	struct wc_client *cl;
	char err[256];
	int64_t sec = (int64_t)clock_now() - 30;
	double deadline = h_now() + 60 * cproc_slow();

	if (wc_open(&cl, s->url, NULL, 2 * cproc_slow(), err, sizeof(err)))
		return NULL;
	for (uint64_t seq = 1; seq <= BATCHES && h_now() < deadline; seq++) {
		struct wc_batch wb;
		uint8_t *buf;
		size_t len;
		char id[32];
		double lat[PER_BATCH];

		wc_batch_init(&wb, "crash", seq, NULL);
		for (int k = 0; k < PER_BATCH; k++) {
			struct wc_feature f = {"x", 1, (double)k, NULL};
			lat[k] = 1 + k;
			snprintf(id, sizeof(id), "%llu-%d", (unsigned long long)seq, k);
			wc_batch_event(&wb, "m", id, (double)sec + (double)(seq % 20), lat[k],
			               false, &f, 1, wc_num(1), 0.5, wc_none());
		}
		wc_batch_summary(&wb, "m", sec + (int64_t)(seq % 20), PER_BATCH, 0, PER_BATCH, lat,
		                 PER_BATCH);
		wc_batch_encode(&wb, &buf, &len);
		for (;;) {
			struct wire_reply r;
			if (wc_request(cl, buf, len, &r, err, sizeof(err)) == 0 &&
			    r.status == WIRE_OK) {
				s->acked_seq[seq] = true;
				atomic_fetch_add(&s->acked, 1);
				break;
			}
			atomic_fetch_add(&s->failures, 1);
			if (h_now() > deadline)
				break;
			h_sleep(0.05);
		}
		free(buf);
		wc_batch_free(&wb);
	}
	wc_close(cl);
	atomic_store(&s->done, true);
	return NULL;
}

Test(crash, kill9_mid_stream_loses_and_duplicates_nothing)
{
	struct cproc c;
	struct stream s = {0};
	pthread_t t;
	char sql[256], ok[64];

	cproc_init(&c, "coll-crash");
	cr_assert_eq(cproc_start(&c, NULL), 0);
	s.url = c.url;
	pthread_create(&t, NULL, stream_main, &s);

	/* let a third of the stream through, then pull the plug */
	double end = h_now() + 30 * cproc_slow();
	while (atomic_load(&s.acked) < BATCHES / 3 && h_now() < end)
		h_sleep(0.005);
	cr_assert_eq(cproc_stop(&c, SIGKILL), 128 + SIGKILL);
	int acked_at_kill = atomic_load(&s.acked);
	h_sleep(0.5);
	/* nothing acknowledged before the kill is missing after it */
	for (int seq = 1; seq <= BATCHES; seq++) {
		if (!s.acked_seq[seq])
			continue;
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM events WHERE req_id LIKE '%d-%%'",
		         seq);
		cr_assert_eq(db_int(c.db, sql), PER_BATCH, "batch %d acknowledged but lost", seq);
	}
	cr_assert_eq(cproc_start(&c, NULL), 0, "restart failed, see %s", c.log);
	pthread_join(t, NULL);
	cr_assert(atomic_load(&s.done));
	cr_assert_eq(atomic_load(&s.acked), BATCHES, "acked %d of %d (%d at the kill)",
	             atomic_load(&s.acked), BATCHES, acked_at_kill);
	cr_assert(acked_at_kill < BATCHES, "the kill came after the stream ended");

	/* exactly once: every batch's events, and its summary in the windows */
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM events"), BATCHES * PER_BATCH);
	cr_assert_eq(db_int(c.db, "SELECT count(DISTINCT req_id) FROM events"),
	             BATCHES * PER_BATCH);
	cr_assert_eq(db_int(c.db, "SELECT sum(count) FROM windows"), BATCHES * PER_BATCH);
	cr_assert_eq(db_int(c.db, "SELECT sum(sampled) FROM windows"), BATCHES * PER_BATCH);
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM batches_seen"), BATCHES);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cr_assert_eq(db_text(c.db, "PRAGMA integrity_check", ok, sizeof(ok)), 0);
	cr_assert_str_eq(ok, "ok");
	cproc_cleanup(&c);
}
