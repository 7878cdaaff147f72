/* stats: the agent's self-observation counters (lock-free atomics shared by
 * every thread), rendered as Prometheus text for /metrics and as the
 * periodic one-line stats log.
 *
 * One process-wide table: each counter is touched from several threads
 * (HTTP workers, the datagram and tail readers, the forwarder), so they are
 * atomics rather than per-module fields. Gauges are set by their owner. */
#ifndef MLW_AGENT_STATS_H
#define MLW_AGENT_STATS_H

#include <stddef.h>
#include <stdint.h>

enum stat_input { INPUT_HTTP = 0, INPUT_KSERVE, INPUT_TAIL, INPUT_DGRAM, INPUT_OTLP, INPUT_N };

/* Why an input (a request, a datagram, a line) was refused. */
enum stat_reason {
	REJ_MALFORMED = 0, /* invalid JSON or a broken rule of the contract */
	REJ_TOO_LARGE,     /* body / line / datagram over the limit */
	REJ_TOO_MANY,      /* more events in one request than allowed */
	REJ_UNAUTHORIZED,  /* bad or missing token */
	REJ_OVERLOADED,    /* memory budget used up (503) */
	REJ_CONNECTIONS,   /* too many connections (503) */
	REJ_BAD_REQUEST,   /* unknown path, wrong method, missing header */
	REJ_LABEL_ONLY,    /* a label alone posted as an event (belongs on /v1/labels) */
	REJ_N
};

enum stat_id {
	ST_LABELS_RECEIVED = 0,
	ST_EVENTS_SAMPLED,
	ST_LABELS_SAMPLED,
	ST_EVENTS_SENT,
	ST_LABELS_SENT,
	ST_BATCHES_SENT,
	ST_EVENTS_SPOOLED,
	ST_BATCHES_SPOOLED,
	ST_EVENTS_REPLAYED,
	ST_EVENTS_DROPPED,
	ST_LABELS_DROPPED,
	ST_COUNTED_DROPPED, /* events whose 100% counts (summaries) were dropped */
	ST_BATCHES_DROPPED,
	ST_SPOOL_CORRUPT,
	ST_SEND_RETRIES,
	ST_REPLY_BUSY,
	ST_REPLY_ERROR,
	ST_KSERVE_PAIRED,
	ST_KSERVE_EXPIRED,
	ST_KSERVE_EVICTED,
	ST_KSERVE_ORPHAN_ERRORS,
	ST_KSERVE_LATENCY_UNKNOWN,
	ST_KSERVE_OTHER_COMPONENT,
	ST_KSERVE_SKIPPED,
	ST_KSERVE_AMBIGUOUS,
	ST_KSERVE_BINARY_SKIPPED,
	ST_KSERVE_LONG_STRINGS,
	ST_DGRAM_RECEIVED,
	ST_DGRAM_KERNEL_DROPS,
	ST_TAIL_LINES,
	ST_TAIL_ROTATIONS,
	ST_TAIL_TRUNCATIONS,
	ST_TAIL_LONG_STRINGS,
	ST_TAIL_IGNORED,
	ST_TRITON_TRACES,
	ST_TRITON_TENSORS_REFUSED,
	ST_TRITON_LATENCY_UNKNOWN,
	ST_OTLP_REJECTED, /* spans / log records refused alone (partial success) */
	ST_OTLP_IGNORED,  /* spans / log records that are not model traffic */
	/* gauges */
	ST_SPOOL_BYTES,
	ST_SPOOL_BATCHES,
	ST_COLLECTOR_CONNECTED,
	ST_INFLIGHT,
	ST_QUEUE_BYTES,
	ST_BODY_BYTES,
	ST_HTTP_CONNECTIONS,
	ST_KSERVE_PENDING,
	ST_N
};

void stats_reset(void); /* for tests */
void stats_add(enum stat_id id, uint64_t n);
void stats_set(enum stat_id id, uint64_t v);
void stats_sub(enum stat_id id, uint64_t n); /* gauges only */
uint64_t stats_get(enum stat_id id);

void stats_received(enum stat_input in, uint64_t n);
uint64_t stats_received_get(enum stat_input in); /* INPUT_N = all inputs */
void stats_rejected(enum stat_reason r, uint64_t n);
uint64_t stats_rejected_get(enum stat_reason r); /* REJ_N = all reasons */
/* A refused vector feature (issue 19), by enum vector_reason (the request
 * is counted by stats_rejected as well). */
void stats_vector_refused(int vector_reason);
uint64_t stats_vector_refused_get(int vector_reason);

/* Prometheus text exposition format into a malloc'd string (*len bytes),
 * or NULL when out of memory. started is the process start (Unix s). */
char *stats_render(double started, size_t *len);

/* The one-line summary for the periodic stats log ("received=... sent=..."). */
void stats_line(char *buf, size_t cap);

#endif
