/* segments (collector): the per-segment part of the analysis pass (issue
 * 17). For a model with `segment_by = F`, every window the analysis
 * computes is also computed per value of F: drift of each feature against
 * the reference rows of the same segment, data quality, the latency
 * quantiles of the sampled events, accuracy and estimated accuracy.
 *
 * Segments: with a segmented reference (common/segment.h), its segments
 * (the K values with the most reference rows, and "other"); without one,
 * the window's K values with the most events, and "other". An event
 * without F (or with an unusable value) counts in "other".
 *
 * The events of a window are read from the store (the analysis tail does
 * not know segments) and folded into their segment's window state with
 * windows.h, against a per-segment model context holding that segment's
 * reference profiles (kept until the reference changes, so calibrated
 * thresholds are computed once per size class). The states of the last
 * SEG_CACHE_MAX windows stay, so a pass reads only the events that arrived
 * since the previous one; a label joined since (the accuracy), a new
 * reference, or segments taken from the window's own values (no segmented
 * reference) fold the window again.
 *
 * Thread: the analysis thread only (analyze.c); not thread-safe.
 * Failures: -1 when out of memory or on a database error (store_errmsg);
 * the window's results are then not written and the pass retries. */
#ifndef MLW_COLLECTOR_SEGMENTS_H
#define MLW_COLLECTOR_SEGMENTS_H

#include <stddef.h>
#include <stdint.h>

struct jsonw;
struct store_drift_row;
struct model_config;
struct store;
struct store_ingest;
struct wmodel;
struct segments;
struct seg_out;

struct segments *segments_new(void);
void segments_free(struct segments *s);

/* Computes the segments of window (m, start) from its events with id <=
 * hi; labelled is the window's count of labelled events (a label joined
 * since the last call means the window is folded again). *out (owned by s,
 * valid until the next call) is NULL when mc has no segment_by. hist is
 * scratch space. */
int segments_compute(struct segments *s, struct store *st, struct store_ingest *si,
                     struct wmodel *m, const struct model_config *mc, int64_t start, int64_t hi,
                     uint64_t labelled, uint64_t min_sample, struct jsonw *hist,
                     const struct seg_out **out);
/* Forgets the folded states of window (model_id, start): the next compute
 * folds it from the store again. */
void segments_drop_window(struct segments *s, int64_t model_id, int64_t start);
/* Calls fn for each segment of out that has events in the window: the
 * segment_by key, the segment, its sampled events and its drift rows
 * (valid during the call). At most the model's segment_top_k segments and
 * "other": what /metrics shows per segment stays bounded. */
void segments_each(const struct seg_out *out,
                   void (*fn)(void *arg, const char *key, const char *segment, uint64_t events,
                              const struct store_drift_row *dr, size_t ndr),
                   void *arg);
/* Writes what segments_compute found (inside the caller's transaction);
 * out NULL writes nothing. */
int segments_write(struct store *st, int64_t model_id, int64_t start, const struct seg_out *out);

#endif
