/* summary: 100% of traffic per model and second of event time (count,
 * errors, sampled, latency DDSketch), accumulated between two batches and
 * exported into the next batch (contract section 3).
 *
 * A table is not thread-safe: the batcher owns it under its lock. The
 * number of (model, second) entries is bounded; summary_add says when the
 * table is full so the caller closes the batch and starts over. */
#ifndef MLW_AGENT_SUMMARY_H
#define MLW_AGENT_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "event.h"
#include "wire.h"

struct summary_table;

#define SUMMARY_FINISH_MAX 8 /* finish reasons per (model, second), "other" included */

/* max_entries >= 1. Returns NULL when out of memory. */
struct summary_table *summary_new(size_t max_entries);
void summary_free(struct summary_table *t);

/* Counts one event of model at event time ts. latency_ms < 0 means "no
 * latency". Returns 0; -ENOSPC when a new entry is needed and the table is
 * full (nothing counted); -ENOMEM. */
int summary_add(struct summary_table *t, const char *model, double ts, bool error,
                double latency_ms, bool sampled);

/* Adds the LLM fields of ev (tokens, TTFT, TPOT, finish reason) to its (model, second)
 * entry, which the summary_add of the same event has made. Returns 0 (also
 * when ev has no LLM field), -ENOENT when there is no entry, -ENOMEM. */
int summary_add_llm(struct summary_table *t, const struct event *ev);

size_t summary_entries(const struct summary_table *t);
uint64_t summary_events(const struct summary_table *t); /* events counted since last export */

/* Moves the content into *out (n entries, strings and sketch bytes in a, in
 * model then second order) and empties the table. Returns 0 or -ENOMEM
 * (then the table is unchanged). */
int summary_export(struct summary_table *t, struct arena *a, struct wire_summary **out, size_t *n);

#endif
