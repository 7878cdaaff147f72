/* wire: the agent -> collector messages (common/mlwatch.proto, protobuf-c)
 * converted to and from the event structs of event.h.
 *
 * Decoding validates every field with the same rules as ingest (names,
 * finite numbers, ranges): an item that breaks one is skipped and counted in
 * n_invalid, the rest of the batch is kept. Nothing decoded is trusted more
 * than a JSON request would be. */
#ifndef MLW_WIRE_H
#define MLW_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "event.h"
#include "wire_decode.h"

#define WIRE_PROTOCOL     1
#define WIRE_MAX_MESSAGE  (64u << 20) /* default cap on an encoded batch */
#define WIRE_AGENT_ID_MAX 128
#define WIRE_TOKEN_MAX    1024
#define WIRE_SKETCH_MAX   (64u << 10)
/* A summary counts one model's requests in one second: more than 2^40
 * (a trillion) is not a count but an attack or a bug, and would overflow
 * the 64-bit signed sums the database keeps. */
#define WIRE_SUMMARY_COUNT_MAX (UINT64_C(1) << 40)

#define WIRE_FINISH_MAX 16 /* finish reasons in one summary */

struct wire_finish {
	const char *reason;
	uint64_t count;
};

/* 100% of one model's traffic in one second of event time. */
struct wire_summary {
	const char *model;
	int64_t second;
	uint64_t count, errors, sampled;
	const uint8_t *sketch; /* ddsketch_encode() bytes, may be NULL */
	size_t sketch_len;
	/* LLM serving: events with LLM fields, token sums, TTFT and TPOT
	 * sketches (may be NULL). */
	uint64_t llm, input_tokens, output_tokens;
	const uint8_t *ttft, *tpot;
	size_t ttft_len, tpot_len;
	struct wire_finish *finish; /* finish reasons of the LLM events */
	size_t n_finish;
};

struct wire_agent_stats {
	bool present;
	uint64_t received, rejected, spool_dropped, spool_bytes;
	double started;
};

/* Events encoded one by one as they arrive (the agent's batcher), each as
 * a Batch.events entry (field 5): no copy of the event and no protobuf-c
 * message per event. A batch carries them in wire_batch.events_raw. */
struct wire_events {
	uint8_t *buf; /* malloc'd */
	size_t len, cap;
	size_t n; /* events in buf */
};

/* Appends ev (a validated event) to w. Returns 0, or -1 when out of memory
 * (w is left as it was). */
int wire_events_append(struct wire_events *w, const struct event *ev);
void wire_events_free(struct wire_events *w); /* and zeroes it */

struct wire_batch {
	uint32_t protocol;
	const char *agent_id;
	uint64_t seq;
	const uint8_t *token; /* NULL when absent */
	size_t token_len;
	double created;
	struct event *events;
	size_t n_events;
	/* Encoding only: events already encoded (wire_events' bytes), packed
	 * after everything else (protobuf fields may come in any order). */
	const uint8_t *events_raw;
	size_t events_raw_len;
	struct label *labels;
	size_t n_labels;
	struct wire_summary *summaries;
	size_t n_summaries;
	struct wire_agent_stats stats;
	/* Filled by wire_decode_batch: items skipped by validation. */
	size_t n_invalid;
	char first_invalid[256];
	/* Owned storage of a decoded batch (the protobuf message and what
	 * points into it); freed by wire_batch_free. */
	struct arena arena;
};

/* Packs b into a malloc'd buffer (*out, *len; the caller frees it).
 * Returns 0, or -1 when out of memory. */
int wire_encode_batch(const struct wire_batch *b, uint8_t **out, size_t *len);

/* wire_decode_batch (common/wire_decode.h) decodes a Batch by hand, for
 * speed. wire_decode_batch_pb is the same decoder through protobuf-c, the
 * reference the hand-written one is tested against (tests/unit/
 * test_wire_decode.c, tests/fuzz/fuzz_wire_decode.c): for tests and fuzzing
 * only. Same contract as wire_decode_batch. */
int wire_decode_batch_pb(const uint8_t *buf, size_t len, size_t max_len, struct wire_batch *out,
                         char *err, size_t errlen);
void wire_batch_free(struct wire_batch *b);

enum wire_status {
	WIRE_OK = 0,
	WIRE_UNAUTHORIZED = 1,
	WIRE_INVALID = 2,
	WIRE_BUSY = 3,
	WIRE_VERSION = 4,
};
const char *wire_status_name(enum wire_status s);

struct wire_reply {
	uint64_t seq;
	enum wire_status status;
	bool duplicate;
	uint32_t stored, rejected;
	char message[256];
};

int wire_encode_reply(const struct wire_reply *r, uint8_t **out, size_t *len);
int wire_decode_reply(const uint8_t *buf, size_t len, struct wire_reply *r, char *err,
                      size_t errlen);

#endif
