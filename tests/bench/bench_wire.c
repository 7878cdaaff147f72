/* bench_wire: the collector's decoding of a Batch per event (issue 18
 * acceptance 4), on bench_collector's wire batches: 1000 events each with
 * an id, a latency, 8 features (4 numbers, 4 categories), a prediction and
 * a score, and the per-second summaries with their latency sketches;
 * BENCH_EVENTS events in all (default 300000).
 *   pb      wire_decode_batch_pb: protobuf-c's unpack, then each PbEvent
 *           converted into a struct event (the reference)
 *   hand    wire_decode_batch: the wire format read by hand (wire_decode.c)
 * Both decode every batch, validate and free it, the batch just copied
 * into a receive buffer as nng leaves it; CPU time of this process (one
 * thread), best of 7 passes taken in turn. Checks that both give the same batches.
 * Exits non-zero only when something fails. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/fraud_rows.h"
#include "../lib/harness.h"
#include "../lib/wire_client.h"
#include "../lib/wire_same.h"
#include "wire.h"

#define PER_BATCH 1000
#define PASSES    7

typedef int (*decode_fn)(const uint8_t *, size_t, size_t, struct wire_batch *, char *, size_t);

/* Seconds of CPU for decoding (and freeing) every batch once, each just
 * copied into a receive buffer as nng_recvmsg leaves it for the collector
 * (in cache: the batches together are larger than the caches); -1 when a
 * batch fails. */
static double time_decoder(decode_fn decode, const struct fraud_batch *e, long nb, uint8_t *rx)
{
	double total = 0;
	for (long b = 0; b < nb; b++) {
		struct wire_batch d;
		char err[256];
		memcpy(rx, e[b].buf, e[b].len);
		double t0 = h_cpu();
		if (decode(rx, e[b].len, 0, &d, err, sizeof(err)) != 0 || d.n_invalid != 0) {
			fprintf(stderr, "batch %ld: %s\n", b, err);
			return -1;
		}
		wire_batch_free(&d);
		total += h_cpu() - t0;
	}
	return total;
}

int main(void)
{
	const char *env = getenv("BENCH_EVENTS");
	long n_events = env ? atol(env) : 300000, nb = 0;
	size_t bytes = 0;
	uint8_t *rx = NULL;
	int rc = 1;

	if (n_events < 1)
		n_events = 300000;
	/* bench_collector's events and batching (tests/lib/fraud_rows.h) */
	struct fraud_batch *e =
	    fraud_batches("bench-agent", n_events, 1764072000.0, FRAUD_IDS_RISING, PER_BATCH, &nb);
	if (!e) {
		fprintf(stderr, "bench_wire: cannot build the batches\n");
		return 1;
	}
	size_t max_len = 0;
	for (long b = 0; b < nb; b++)
		max_len = e[b].len > max_len ? e[b].len : max_len;
	rx = malloc(max_len);
	if (!rx)
		goto out;
	for (long b = 0; b < nb; b++) {
		struct wire_batch x, y;
		char err[256], why[256];
		bytes += e[b].len;
		if (wire_decode_batch_pb(e[b].buf, e[b].len, 0, &x, err, sizeof(err)) ||
		    wire_decode_batch(e[b].buf, e[b].len, 0, &y, err, sizeof(err)) ||
		    !wire_batch_same(&x, &y, why, sizeof(why))) {
			fprintf(stderr, "bench_wire: batch %ld decodes differently: %s\n", b, why);
			goto out;
		}
		wire_batch_free(&x);
		wire_batch_free(&y);
	}
	/* the two in turn, so that a busy moment of the machine (it is
	 * shared) weighs on both; BENCH_DECODER=hand or pb times one only
	 * (for perf) */
	const char *only = getenv("BENCH_DECODER");
	double pb = -1, hand = -1;
	for (int pass = 0; pass < PASSES; pass++) {
		double t;
		if (!only || strcmp(only, "pb") == 0) {
			if ((t = time_decoder(wire_decode_batch_pb, e, nb, rx)) < 0)
				goto out;
			pb = pb < 0 || t < pb ? t : pb;
		}
		if (!only || strcmp(only, "hand") == 0) {
			if ((t = time_decoder(wire_decode_batch, e, nb, rx)) < 0)
				goto out;
			hand = hand < 0 || t < hand ? t : hand;
		}
	}
	printf("bench_wire: %ld events in %ld batches of %d, %.0f bytes an event, 8 features "
	       "each; CPU, best of %d\n",
	       n_events, nb, PER_BATCH, (double)bytes / (double)n_events, PASSES);
	if (pb >= 0)
		printf("  decode pb    %7.1f ns/event  (protobuf-c unpack + event_from_pb)\n",
		       pb * 1e9 / (double)n_events);
	if (hand >= 0)
		printf("  decode hand  %7.1f ns/event  (wire_decode.c)\n",
		       hand * 1e9 / (double)n_events);
	if (pb >= 0 && hand >= 0)
		printf("  hand / pb    %7.2fx faster\n", pb / hand);
	rc = 0;
out:
	free(rx);
	fraud_batches_free(e, nb);
	return rc;
}
