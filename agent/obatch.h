/* obatch: one encoded batch on its way to the collector (wire Batch bytes
 * plus what the agent must know about it without decoding it again), and
 * the tail positions that become safe once the batch is acknowledged or
 * spooled. Owned by whoever holds it in the pipeline (batcher -> forward);
 * freed with obatch_free. */
#ifndef MLW_AGENT_OBATCH_H
#define MLW_AGENT_OBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spool.h"

/* A tailed file position: lines before off of file (dev, ino) of tail
 * source `source` are in this batch or an earlier one. */
struct tail_mark {
	int source;
	uint64_t dev, ino, off;
	uint64_t fingerprint;     /* hash of the file's first fingerprint_len bytes */
	uint32_t fingerprint_len; /* 0..256 */
};

struct obatch {
	uint64_t seq;
	uint8_t *buf; /* encoded wire Batch, malloc'd; NULL for a failed batch */
	size_t len;
	uint32_t n_events, n_labels;
	uint64_t n_counted;      /* events summarised (100% of traffic) */
	bool tracked;            /* made by this run's batcher (counts for the done watermark) */
	struct tail_mark *marks; /* malloc'd */
	size_t n_marks;
	double born; /* clock_mono() when closed */
	/* Owned by the forwarder. */
	bool from_spool;
	struct spool_pos pos;
	unsigned attempts;
	struct obatch *next;
};

void obatch_free(struct obatch *b);

#endif
