/* mlwatchd's rollup thread end to end (issue 18): events stored through the
 * wire reach the hourly and daily tiers once their minute closes, with the
 * minute's reservoir merged; a late batch that reopens the minute updates
 * its hour and its day; meta.tier_until moves for the readers. */
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "wire.h"

#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/wire_client.h"

static void batch(struct wc_client *cl, uint64_t seq, int64_t second, size_t n)
{
	struct wc_batch wb;
	struct wire_reply r;
	uint8_t *buf;
	size_t len;
	char id[64], err[256];
	double lat[256];

	cr_assert(n <= 256);
	wc_batch_init(&wb, "tiers", seq, NULL);
	for (size_t k = 0; k < n; k++) {
		struct wc_feature f[1] = {{"amount", 1, (double)((seq * 31 + k * 7) % 100), NULL}};
		lat[k] = 1.0 + (double)((seq * 13 + k * 17) % 200) / 4.0;
		snprintf(id, sizeof(id), "t-%llu-%zu", (unsigned long long)seq, k);
		cr_assert_eq(wc_batch_event(&wb, "m", id,
		                            (double)second + (double)k / (double)(n + 1), lat[k],
		                            k % 10 == 0, f, 1, wc_num(1), 0.5, wc_none()),
		             0);
	}
	cr_assert_eq(wc_batch_summary(&wb, "m", second, n, (n + 9) / 10, n, lat, n), 0);
	cr_assert_eq(wc_batch_encode(&wb, &buf, &len), 0);
	cr_assert_eq(wc_request(cl, buf, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.status, WIRE_OK);
	free(buf);
	wc_batch_free(&wb);
}

/* Waits (bounded) until sql gives want; returns what it gave last. */
static int64_t wait_int(const char *db, const char *sql, int64_t want, double seconds)
{
	double end = h_now() + seconds * cproc_slow();
	int64_t v;

	while ((v = db_int(db, sql)) != want && h_now() < end)
		h_sleep(0.1);
	return v;
}

Test(tiers, closed_minutes_roll_up_and_late_events_update_hour_and_day, .timeout = 120)
{
	struct cproc c;
	struct wc_client *cl;
	char err[256], sql[256], hour_sql[256], day_sql[256];
	/* a minute that closed two minutes ago */
	int64_t sec0 = (int64_t)clock_now() / 60 * 60 - 120;
	int64_t hour = sec0 - sec0 % 3600, day = sec0 - sec0 % 86400;

	cproc_init(&c, "tiers");
	const char *args[] = {"--analyze-interval", "200ms", NULL};
	cr_assert_eq(cproc_start(&c, args), 0);
	cr_assert_eq(wc_open(&cl, c.url, NULL, 10 * cproc_slow(), err, sizeof(err)), 0, "%s", err);
	batch(cl, 1, sec0 + 1, 200);
	batch(cl, 2, sec0 + 30, 200);
	snprintf(hour_sql, sizeof(hour_sql),
	         "SELECT count FROM tiers WHERE tier = 3600 AND start = %lld", (long long)hour);
	snprintf(day_sql, sizeof(day_sql),
	         "SELECT count FROM tiers WHERE tier = 86400 AND start = %lld", (long long)day);
	cr_assert_eq(wait_int(c.db, hour_sql, 400, 30), 400);
	cr_assert_eq(wait_int(c.db, day_sql, 400, 10), 400);
	/* the minute's reservoir went with its row, and merged into the hour */
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM window_features WHERE feature = 'amount' AND start = %lld "
	         "AND sample IS NOT NULL",
	         (long long)sec0);
	cr_assert_eq(db_int(c.db, sql), 1);
	snprintf(
	    sql, sizeof(sql),
	    "SELECT f.n FROM tier_features f JOIN tier_samples s USING (model_id, tier, start, "
	    "feature) WHERE f.tier = 3600 AND f.start = %lld AND f.feature = 'amount'",
	    (long long)hour);
	cr_assert_eq(wait_int(c.db, sql, 400, 10), 400);
	/* a late batch reopens the minute: its hour and day follow */
	batch(cl, 3, sec0 + 50, 50);
	cr_assert_eq(wait_int(c.db, hour_sql, 450, 30), 450);
	cr_assert_eq(wait_int(c.db, day_sql, 450, 10), 450);
	cr_assert_eq(wait_int(c.db, sql, 450, 10), 450);
	/* the readers' watermark is set (to an hour boundary) */
	cr_assert_eq(db_int(c.db, "SELECT count(*) FROM meta WHERE key = 'tier_until'"), 1);
	cr_assert_eq(db_int(c.db, "SELECT CAST(value AS INTEGER) % 3600 FROM meta WHERE key = "
	                          "'tier_until'"),
	             0);
	cr_assert_geq(db_int(c.db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = "
	                           "'tier_until'"),
	              hour);
	wc_close(cl);
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0);
	cproc_cleanup(&c);
}
