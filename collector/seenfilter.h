/* seenfilter: the writer's memory of the (model id, request id) pairs it
 * stored recently, so that the per-event duplicate check (issue 18) can
 * skip its indexed lookup in events_by_req for an id that is certainly new.
 *
 * It is a split-block Bloom filter (the layout of Apache Parquet's: a
 * 64-bit hash picks one 32-byte block, eight salted multiplications set
 * one bit in each of its eight 32-bit words, about 10.7 bits per key, ~1%
 * false positives) in two generations: pairs go into the current one;
 * when it is full, or older than span_s, it becomes the previous one and
 * the previous one is dropped. A "maybe" (a false positive, or a real
 * repeat) falls back to the exact lookup, so a false positive costs only
 * time.
 *
 * Completeness: the filter never answers "new" for a pair that is stored.
 * It tracks covered_from: every stored event with ts > covered_from was
 * added to a generation it still holds. The owner sets it at the start:
 * the time from which it added every stored event, or the newest stored
 * event time when it added none; dropping a generation raises it to the
 * newest ts that generation held. A query about an event at ts
 * with horizon ttl (duplicates are events within ttl of each other) is
 * answered only when ts - ttl > covered_from; otherwise it is "maybe".
 * Deleting events (retention, `mlwatch models rm`) and rolled-back
 * inserts only leave pairs in the filter that are no longer stored: they
 * make it say "maybe" more often, never "new" wrongly. Every event insert
 * into the store must go through the filter's owner; on SQLite mlwatchd is
 * the only writer of a store (collector/dblock.h), on PostgreSQL several
 * collectors write and the filter is not used.
 *
 * Memory: generations are allocated at their first add, the first one
 * first_bytes, doubling (up to max_bytes) when one fills before its span
 * has passed: at most 2 * max_bytes in all.
 *
 * Threads: none of its own; not thread-safe (the ingest writer owns it).
 * Failures: out of memory only; the filter then stays without the
 * generation and answers "maybe", which keeps it correct. */
#ifndef MLW_SEENFILTER_H
#define MLW_SEENFILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct seenfilter;

struct seenfilter_opts {
	size_t first_bytes; /* the first generation's size (rounded to a power of 2) */
	size_t max_bytes;   /* the largest a generation grows to */
	double span_s;      /* a generation is current at most this long */
};

/* The default sizes of mlwatchd (documented in mlwatchd(8)). */
#define SEENFILTER_FIRST_BYTES ((size_t)1 << 20)
#define SEENFILTER_MAX_BYTES   ((size_t)16 << 20)

/* A filter that holds nothing and covers events with ts > covered_from
 * (-HUGE_VAL for an empty store; HUGE_VAL: never trusted). NULL when out
 * of memory or when the options are invalid (sizes below 32 bytes or
 * first_bytes > max_bytes, span_s <= 0). */
struct seenfilter *seenfilter_new(const struct seenfilter_opts *o, double covered_from);
void seenfilter_free(struct seenfilter *f);

/* True when no stored event of (model_id, req_id[0..len)) has a ts within
 * ttl of ts: the exact lookup can be skipped. False means "maybe". */
bool seenfilter_certainly_new(const struct seenfilter *f, int64_t model_id, const char *req_id,
                              size_t len, double ts, double ttl);

/* Records a pair about to be stored with event time ts; now is a monotonic
 * time in seconds (it drives rotation by span). */
void seenfilter_add(struct seenfilter *f, int64_t model_id, const char *req_id, size_t len,
                    double ts, double now);

/* What the filter holds, for tests and the writer's log. */
struct seenfilter_info {
	double covered_from;
	size_t bytes;       /* both generations */
	uint64_t keys[2];   /* current, previous */
	uint64_t rotations; /* generations dropped */
};
void seenfilter_info(const struct seenfilter *f, struct seenfilter_info *out);

#endif
