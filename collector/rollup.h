/* rollup: the thread that keeps the hourly and daily tiers
 * (common/store/store_rollup.h) current and enforces their retention.
 *
 * Every analyze_interval, on its own database connection, it asks which
 * minute windows analysis finished (final) since its last look
 * (windows.analyzed), rebuilds their hours and then their days in one
 * transaction, and moves meta.tier_until (up to where readers may trust
 * the tiers) to the last hour whose minutes are all final and analysed. A
 * late event that reopens a minute is analysed again, so its hour and day
 * are rebuilt on the next look. At most ROLLUP_LIMIT windows are taken per
 * look (an old store is backfilled over several looks), and retention
 * deletes at most 5000 rows per tier table per transaction.
 *
 * Threads: one (mlw-rollup). Failures: a failed look is logged (warn) and
 * retried at the next one; the cursor only moves after a commit. /metrics
 * is unaffected: it reads the ring and the newest windows, never tiers. */
#ifndef MLW_ROLLUP_H
#define MLW_ROLLUP_H

#include <stddef.h>

struct collector;
struct rollup;

#define ROLLUP_LIMIT 4096

/* Returns 0, or -1 with err. */
int rollup_start(struct rollup **out, struct collector *c, char *err, size_t errlen);
/* Finishes the look in progress and stops. NULL is a no-op. */
void rollup_stop(struct rollup *r);

#endif
