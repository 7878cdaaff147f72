/* fraud_rows: the synthetic "fraud" model the ingest benchmarks send
 * (bench_collector, bench_wire, bench_features), so that each measures
 * the same events: event i of n has a timestamp rising steadily over 600 s
 * of event time from t_base, a latency, 8 features (amount, age, items,
 * hour; country, device, channel, tier), a predicted class and a score,
 * all a function of i alone; and those events as wire batches with their
 * per-second summaries, as mlwatch-agent sends them. No threads; the
 * batch encoder returns NULL when out of memory. */
#ifndef MLW_FRAUD_ROWS_H
#define MLW_FRAUD_ROWS_H

#include <stddef.h>
#include <stdint.h>

#include "wire_client.h"

/* Request ids: "r<i>", random-looking UUIDs (version 4, as KServe sends)
 * or time-ordered ones (version 7: the event's millisecond first). */
enum fraud_ids { FRAUD_IDS_RISING, FRAUD_IDS_UUID4, FRAUD_IDS_UUID7 };

struct fraud_row {
	char id[40];
	double ts, latency;
	double amount, age, items, hour;
	const char *country, *device, *channel, *tier;
	const char *pred;
	double score;
};

void fraud_row_make(long i, long n, double t_base, enum fraud_ids ids, struct fraud_row *r);

/* The row's 8 features as the wire client takes them. */
void fraud_row_features(const struct fraud_row *r, struct wc_feature f[8]);

struct fraud_batch {
	uint8_t *buf;
	size_t len;
};

/* Events 0..n-1 encoded as Batch messages of per_batch events each (seq
 * 1, 2, ... from agent), with the summaries of their seconds; *nb gets
 * the count. NULL when out of memory. */
struct fraud_batch *fraud_batches(const char *agent, long n, double t_base, enum fraud_ids ids,
                                  long per_batch, long *nb);
void fraud_batches_free(struct fraud_batch *e, long nb);

#endif
