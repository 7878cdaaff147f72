/* season: references that follow the calendar (issue 17, item 3). A model's
 * `reference =` (mlwatch.conf(5)) is static (imported), `rolling DURATION`
 * (the events stored over the last DURATION, rebuilt once a day, or once per
 * DURATION when shorter) or `same-hour-of-week Nw` (the reference of a
 * window is the events of the same hour of the week over the N weeks
 * before it, so a daily or weekly cycle is not drift).
 *
 * This module owns the arithmetic of those parts of the history (which
 * ranges, which are missing) and building a reference from them with the
 * reference builder (common/reference.h: a uniform sample of at most
 * 100,000 values per feature, exact category counts). A part without any
 * stored event is missing: it is counted and listed, never filled in from
 * elsewhere; the reference is what the other parts hold. analyze.c decides
 * when to build (it owns the thread and the connection).
 *
 * Threads: none of its own; called from the analysis thread with its
 * connection. Failures: -1 with the reason in err (database, memory). */
#ifndef MLW_SEASON_H
#define MLW_SEASON_H

#include <stddef.h>
#include <stdint.h>

#include "reference.h"

struct jsonw;
struct model_config;
struct store;

#define SEASON_DAY  86400
#define SEASON_WEEK 604800
/* Parts at most: 365 days or 52 weeks. */
#define SEASON_PARTS_MAX 366

struct season_part {
	double from, to; /* [from, to), Unix seconds */
	uint64_t rows;   /* events found (0 = missing) */
};

/* How often a rolling reference of span seconds is rebuilt: daily, or
 * every span when that is shorter. */
int64_t season_refresh_s(int64_t span);

/* The start of the same-hour-of-week slot of a window starting at start
 * with windows of window_s: its hour (windows up to an hour long), or the
 * window itself (longer windows). */
int64_t season_slot(int64_t start, int64_t window_s);

/* The parts of the history (oldest first) for mode REF_MODE_ROLLING (span
 * ending at `at` = now, in days; the oldest part shorter when span is not
 * whole days) or REF_MODE_HOUR_OF_WEEK (span / 1 week parts: the slot
 * `at` N weeks back, each max(1 h, window_s) long). Returns the count,
 * -1 for a static mode or a span out of range. */
int season_parts(int mode, int64_t span, double at, int64_t window_s, struct season_part *out,
                 size_t cap);

/* Builds model's reference from the stored events of the parts (their
 * rows counted). 0 with *out filled, 1 when no part holds any event
 * (nothing built), -1 with err. */
int season_build(struct store *st, const char *model, const struct model_config *mc,
                 struct season_part *parts, size_t n, struct ref_result *out, char *err,
                 size_t errlen);

/* The missing parts as a JSON array of {"from","to"} (RFC 3339), adjacent
 * ones merged, into out (reset first); returns how many parts are missing. */
uint32_t season_missing_json(const struct season_part *parts, size_t n, struct jsonw *out);

#endif
