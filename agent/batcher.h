/* batcher: turns validated events and labels from every input into wire
 * batches: counts 100% of events into per-(model, second) summaries, keeps
 * the sampled payloads, and closes a batch at batch_max_events items,
 * batch_max_delay age, max_bytes of payload, or a full summary table.
 * Closed batches are packed (outside the lock) and handed to emit().
 *
 * Thread-safe: inputs call batcher_submit from their own threads; one
 * mutex guards the open batch. The batcher keeps a sampled event as its
 * wire encoding, written at submit (wire_events_append), and copies the
 * labels it keeps; callers keep ownership of what they pass in. */
#ifndef MLW_AGENT_BATCHER_H
#define MLW_AGENT_BATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "obatch.h"
#include "sampler.h"
#include "state.h"

struct batcher_config {
	const char *agent_id;
	const uint8_t *token; /* NULL = none */
	size_t token_len;
	size_t max_events; /* sampled events + labels */
	double max_delay_s;
	size_t max_bytes;     /* payload bytes held by one open batch */
	size_t max_summaries; /* (model, second) entries in one batch */
	double started;       /* Unix seconds, for the batch's agent stats */
};

/* Called (from the submitting or ticking thread, without the lock) with
 * each closed batch, which emit then owns. Batches of one batcher get
 * consecutive seq numbers; emit may see them slightly out of order when
 * several threads close batches at once. */
typedef void (*batcher_emit_fn)(void *arg, struct obatch *b);

struct batcher;

/* Borrows cfg strings, sampler and seq for its lifetime. NULL when out of memory. */
struct batcher *batcher_new(const struct batcher_config *cfg, const struct sampler *sampler,
                            struct seqgen *seq, batcher_emit_fn emit, void *arg);
void batcher_free(struct batcher *b); /* frees an unflushed batch: flush first */

/* Counts and samples n_ev events and n_lb labels, and records mark (may be
 * NULL). *sampled (may be NULL) gets how many events and labels were kept.
 * Returns 0,
 * or -ENOMEM (counts may then be partial). */
int batcher_submit(struct batcher *b, const struct event *ev, size_t n_ev, const struct label *lb,
                   size_t n_lb, const struct tail_mark *mark, size_t *sampled);

/* Closes the open batch if it is older than max_delay_s at now (clock_mono). */
void batcher_tick(struct batcher *b, double now);
/* Closes the open batch if it holds anything. */
void batcher_flush(struct batcher *b);

#endif
