/* ingest: from a received message to a committed batch and its reply.
 *
 * Listener worker threads call ingest_handle, which decodes and validates
 * the batch on the caller's thread (protobuf, token, timestamps, sketches,
 * JSON for storage) and queues it to ONE writer thread. The writer drains
 * the queue into one SQLite transaction (several batches per transaction
 * under load): dedupe on (agent_id, seq), events, label joins, window
 * counters and sketches, the agents row, meta last_write; COMMIT; then feeds
 * the 1-second ring and wakes the waiting workers, which send the reply. A
 * reply therefore always means "committed" (or "already committed"). Between
 * groups the writer runs retention in small steps.
 *
 * Threads: the writer owns its SQLite connection; everything shared with
 * the workers is the queue (one mutex) and atomic counters. */
#ifndef MLW_INGEST_H
#define MLW_INGEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct collector;
struct ingest;

struct ingest_opts {
	int64_t window_s;       /* window length, whole seconds */
	double future_max_s;    /* ts further ahead is rejected (300) */
	double retention_raw_s; /* events older are rejected and deleted */
	double retention_windows_s;
	double label_ttl_s;
	double seen_keep_s; /* how long (agent, seq) pairs are remembered */
	size_t max_message;
	const char *token; /* NULL: no authentication */
	size_t token_len;
	bool synchronous_full;
	size_t max_group;            /* batches per transaction, 0 = 64 */
	double retention_interval_s; /* between retention passes, 0 = 10 */
};

/* Reasons a batch or an item is refused, for /metrics. */
enum ingest_reject {
	REJ_MALFORMED,    /* not a Batch */
	REJ_OVERSIZED,    /* larger than max_message */
	REJ_UNAUTHORIZED, /* wrong or missing token */
	REJ_VERSION,      /* protocol version */
	REJ_INVALID_ITEM, /* an event/label/summary failing validation */
	REJ_FUTURE,       /* ts more than 5 minutes ahead */
	REJ_TOO_OLD,      /* ts older than retention */
	REJ_BAD_SKETCH,   /* undecodable latency sketch (counts kept) */
	REJ_BUSY,         /* database error or shutting down: resend */
	REJ_COUNT
};
const char *ingest_reject_name(enum ingest_reject r);

struct ingest_stats {
	atomic_uint_fast64_t batches, duplicates, events, labels, labels_joined, labels_pending,
	    labels_expired, summaries, transactions, retention_deleted, duplicate_events;
	atomic_uint_fast64_t rejects[REJ_COUNT];
	/* commit latency histogram (seconds), cumulative Prometheus buckets */
	atomic_uint_fast64_t commit_buckets[8], commit_count;
	atomic_uint_fast64_t commit_sum_us; /* microseconds */
	/* the store's size as the writer last measured it (at start, then
	 * with each retention pass): on PostgreSQL a query, so /metrics
	 * does not run one per scrape */
	atomic_int_fast64_t db_bytes;
};
extern const double ingest_commit_bounds[8];

/* Opens the writer's own connection to c->db_path (creating/migrating the
 * file) and starts the writer thread. Returns 0, or -1 with err. */
int ingest_start(struct ingest **out, struct collector *c, const struct ingest_opts *o, char *err,
                 size_t errlen);
/* Handles one request message and blocks until its batch is committed (or
 * refused). *reply is a malloc'd encoded Reply the caller sends and frees.
 * Returns 0, -1 only when no reply could be built (out of memory). */
int ingest_handle(struct ingest *ing, const uint8_t *buf, size_t len, uint8_t **reply,
                  size_t *reply_len);
/* Stops taking batches (later calls answer BUSY), commits what is queued,
 * stops the writer, checkpoints and closes the database. */
void ingest_stop(struct ingest *ing);

const struct ingest_stats *ingest_get_stats(const struct ingest *ing);

#endif
