/* layout: the pure text arithmetic of the dashboard and the tables of the
 * subcommands: formatting numbers, rates, ages and times into few columns,
 * display widths of UTF-8 text, truncation with an ellipsis, sharing a
 * terminal's width among columns, and cutting a time range into buckets.
 * No curses, no I/O: everything here is unit-tested (tests/unit/test_layout.c).
 *
 * Every formatter writes at most cap bytes (NUL-terminated) and returns buf;
 * a NAN value (absent) is written as "-". */
#ifndef MLW_LAYOUT_H
#define MLW_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A plain number in at most about 7 characters: 3 significant digits,
 * no exponent between 0.001 and 1e6 ("0.00213", "12.5", "312", "41200"),
 * a suffix beyond (1.2M, 3.4G), "0" for zero. */
char *lay_fmt_num(char *buf, size_t cap, double v);
/* Milliseconds: "0.85", "11.2", "312", "1.2k"... like lay_fmt_num. */
char *lay_fmt_ms(char *buf, size_t cap, double ms);
/* A proportion as a percentage with 3 significant digits: "0.2%", "42.1%",
 * "100%". */
char *lay_fmt_pct(char *buf, size_t cap, double p);
/* An integer count: exact up to 99999, then "120k", "1.2M". */
char *lay_fmt_count(char *buf, size_t cap, int64_t n);
/* A duration in seconds as the largest unit or two: "45s", "2m", "2m30s",
 * "3h", "3h5m", "2d", "2d4h". Negative values are clamped to "0s". */
char *lay_fmt_age(char *buf, size_t cap, double seconds);
/* Unix seconds as local "YYYY-MM-DD HH:MM:SS" (full) or "HH:MM" (short). */
char *lay_fmt_time(char *buf, size_t cap, double ts, bool full);

/* Display columns of a UTF-8 string: one per code point, two for East Asian
 * wide ones, zero for combining marks; an invalid byte counts one. */
int lay_width(const char *s);
/* Copies s into buf so that it fits width columns; when it does not, cuts
 * at a code point boundary and ends with an ellipsis ("…", or "~" when utf8
 * is false). Control characters and invalid bytes become '?'. Returns the
 * width written. */
int lay_fit(char *buf, size_t cap, const char *s, int width, bool utf8);
/* Like lay_fit and pads with spaces to exactly width columns, left or right
 * aligned. */
int lay_pad(char *buf, size_t cap, const char *s, int width, bool right, bool utf8);

/* Shares total columns among n columns separated by gap spaces: each gets
 * min[i] first (columns that do not fit at all, lowest priority first, get
 * 0 = hidden), then what is left is handed out towards want[i] in priority
 * order (prio 0 first), then any rest to the column marked flex (-1 none).
 * out[i] is the width of column i. Returns the number of visible columns. */
int lay_columns(int total, int gap, size_t n, const int *min, const int *want, const int *prio,
                int flex, int *out);

/* Bucket size (seconds, a multiple of window) so that range seconds fit in
 * at most cols columns: the smallest multiple of window with
 * ceil(range / bucket) <= cols. */
int64_t lay_bucket(int64_t range, int64_t window, int cols);

/* Time ranges of the `+`/`-` keys: 15m, 1h, 6h, 24h, 7d, 30d. */
#define LAY_NRANGES 6
int64_t lay_range_seconds(int idx);
const char *lay_range_name(int idx);
/* Index of a range given by name ("1h"), or -1. */
int lay_range_find(const char *name);

#endif
