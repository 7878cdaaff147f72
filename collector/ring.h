/* ring: the collector's in-memory 1-second ring for alerting. For every model
 * it keeps the last `seconds` seconds of event time (count, errors, latency
 * sketch; LLM figures and finish-reason counts), fed by ingest from every Summary after its batch
 * is committed, so that alert rules see a breach within a second of the events causing it without
 * touching SQLite.
 *
 * A second older than (newest second of the model - seconds + 1) is outside
 * the ring and ignored (a replayed spool goes to the windows, not here).
 *
 * Thread-safe: one mutex guards everything; calls are short (a query merges
 * at most `seconds` sketches). The ring owns its sketches; ring_query hands
 * the caller a fresh sketch to free with ddsketch_free. */
#ifndef MLW_RING_H
#define MLW_RING_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* Distinct finish reasons kept per second and per query; further ones are
 * counted together in finish_other. */
#define RING_FINISH_MAX 8

struct ring_finish {
	char reason[EVENT_FINISH_MAX + 1];
	uint64_t count;
};

struct ddsketch;
struct ring;

/* A ring keeping the last `seconds` (>= 1) seconds per model, or NULL when
 * out of memory or seconds is 0. Free with ring_free. */
struct ring *ring_new(size_t seconds);
void ring_free(struct ring *r);

/* Adds count/errors (and merges latency, which may be NULL; it is copied,
 * not kept) into the model's slot for `second` (Unix seconds of event time).
 * Returns 0 (also when the second is too old for the ring and ignored),
 * -1 on a bad argument (NULL/empty model) or when out of memory (the ring is
 * unchanged for that second). */
int ring_add(struct ring *r, const char *model, int64_t second, uint64_t count, uint64_t errors,
             const struct ddsketch *latency);

/* Adds LLM-serving figures (events with LLM fields, token sums, TTFT and
 * TPOT sketches, either may be NULL; copied) to the model's slot for
 * `second`, which ring_add of the same Summary has made current. A second
 * the ring no longer holds is ignored. Returns 0, or -1 on a bad argument
 * or when out of memory. */
int ring_add_llm(struct ring *r, const char *model, int64_t second, uint64_t llm,
                 uint64_t in_tokens, uint64_t out_tokens, const struct ddsketch *ttft,
                 const struct ddsketch *tpot);

/* Adds count LLM events that ended with finish reason `reason` (1 to
 * EVENT_FINISH_MAX bytes) to the model's slot for `second`, which ring_add
 * of the same Summary has made current; ignored like ring_add_llm when
 * the second or model is not held. Returns 0, or -1 on a bad argument or
 * when out of memory. */
int ring_add_finish(struct ring *r, const char *model, int64_t second, const char *reason,
                    uint64_t count);

struct ring_stats {
	uint64_t count, errors;
	struct ddsketch *latency; /* caller frees; NULL if no latency in range */
	double last_event;        /* Unix s of the newest second seen for the model, 0 if never */
	/* LLM serving: events with LLM fields, token sums; TTFT and TPOT
	 * sketches (NULL if none in range). Free all with ring_stats_free. */
	uint64_t llm, input_tokens, output_tokens;
	struct ddsketch *ttft, *tpot;
	/* finish-reason counts in first-seen order; finish_other counts the
	 * reasons beyond RING_FINISH_MAX */
	struct ring_finish finish[RING_FINISH_MAX];
	size_t n_finish;
	uint64_t finish_other;
};

/* Frees the sketches of *st (safe on a zeroed or freed struct). */
void ring_stats_free(struct ring_stats *st);

/* Merges the model's seconds in [from_second, to_second] (inclusive) into
 * *out. Returns 0, or -1 when the model is unknown (then *out is zeroed) or
 * when out of memory (*out zeroed, nothing to free). */
int ring_query(struct ring *r, const char *model, int64_t from_second, int64_t to_second,
               struct ring_stats *out);

/* The models the ring has seen, sorted by name: *names_out is a malloc'd
 * array of malloc'd strings (caller frees each and the array; NULL when 0).
 * Returns the count (0 also when out of memory). */
size_t ring_models(struct ring *r, char ***names_out);

/* The ring's span in seconds, as given to ring_new. */
size_t ring_seconds(const struct ring *r);

#endif
