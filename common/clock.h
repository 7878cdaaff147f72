/* clock: wall and monotonic time in seconds, and RFC 3339 timestamps, the
 * one form in which times cross our interfaces besides Unix seconds. */
#ifndef MLW_CLOCK_H
#define MLW_CLOCK_H

#include <stddef.h>

/* Unix seconds, with sub-second precision. */
double clock_now(void);
/* Seconds on a clock that never jumps; for timeouts and rates. */
double clock_mono(void);

/* Parses "2026-11-25T12:00:00Z", "...T12:00:00.123+02:00", lower-case t/z and
 * a space separator. Returns 0 and sets *out to Unix seconds, -1 if s is not
 * a valid RFC 3339 date-time. */
int clock_parse_rfc3339(const char *s, double *out);
/* Writes ts as "2026-11-25T12:00:00.123Z" (millisecond precision); returns buf. */
char *clock_format_rfc3339(double ts, char *buf, size_t cap);

#endif
