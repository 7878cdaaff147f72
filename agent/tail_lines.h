/* tail_lines: the pure line splitting of the tail reader (ingest_tail.c),
 * kept apart so it can be unit-tested and fuzzed without files or threads
 * (tests/fuzz/fuzz_tail.c).
 *
 * A line ends at '\n'; the text after the last newline is a line only when
 * the file is finished (final: a rotated file read to its end). '\r' before
 * the newline stays in the line (the JSON parser skips it as whitespace).
 *
 * Owns no memory and no state; no threads; no failure but the overflow
 * tail_lines_grow reports. */
#ifndef MLW_AGENT_TAIL_LINES_H
#define MLW_AGENT_TAIL_LINES_H

#include <stdbool.h>
#include <stddef.h>

/* The line starting at buf[pos] (pos < blen): its length without the
 * newline in *len. Returns the offset just past it (past its newline, or
 * blen for a final unterminated line), or 0 when buf[pos..blen) holds no
 * whole line yet (no newline and !final). */
size_t tail_lines_next(const char *buf, size_t blen, size_t pos, bool final, size_t *len);

/* True when the line is empty or only spaces, tabs and carriage returns
 * (skipped without counting as malformed). */
bool tail_lines_blank(const char *p, size_t n);

/* The capacity a buffer of capacity cap holding blen bytes (blen <= cap)
 * needs so that chunk more bytes fit: cap itself when they already fit,
 * else the first doubling (from 2 * chunk when cap is 0) that leaves room.
 * Returns 0 on size_t overflow. */
size_t tail_lines_grow(size_t cap, size_t blen, size_t chunk);

/* After the whole lines of a buffer are consumed it holds the start of one
 * line, blen bytes. From max_line bytes on they are dropped and the rest of
 * the line is skipped up to its newline (*skipping set; the splitter's user
 * clears it at that newline). Returns TAIL_KEEP, TAIL_DROP_NEW (a new
 * over-long line: count and log it once) or TAIL_DROP_MORE (more of a line
 * already counted: drop without counting again). */
enum tail_overlong { TAIL_KEEP, TAIL_DROP_NEW, TAIL_DROP_MORE };
enum tail_overlong tail_lines_overlong(size_t blen, size_t max_line, bool *skipping);

#endif
