/* libFuzzer target: the collector's wire decoder (Batch) and the agent's
 * reply decoder. Every event of an accepted batch is also encoded the way
 * the agent's batcher does it (wire_events_append): the bytes must be
 * those protobuf-c packs for it, and the batch so re-encoded must decode
 * to as many events. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

static void events_encode_the_same(const struct wire_batch *b)
{
	struct wire_events all = {0};

	for (size_t i = 0; i < b->n_events; i++) {
		struct wire_batch one = {.protocol = WIRE_PROTOCOL, .agent_id = "a", .seq = 1};
		struct wire_events w = {0};
		uint8_t *ref, *got;
		size_t ref_len, got_len;

		one.events = &b->events[i];
		one.n_events = 1;
		if (wire_encode_batch(&one, &ref, &ref_len) != 0)
			goto out;
		if (wire_events_append(&w, &b->events[i]) != 0 ||
		    wire_events_append(&all, &b->events[i]) != 0) {
			free(ref);
			wire_events_free(&w);
			goto out;
		}
		one.events = NULL;
		one.n_events = 0;
		one.events_raw = w.buf;
		one.events_raw_len = w.len;
		if (wire_encode_batch(&one, &got, &got_len) != 0) {
			free(ref);
			wire_events_free(&w);
			goto out;
		}
		if (got_len != ref_len || memcmp(got, ref, ref_len) != 0)
			abort();
		free(ref);
		free(got);
		wire_events_free(&w);
	}
	if (b->n_events) {
		struct wire_batch whole = {.protocol = WIRE_PROTOCOL, .agent_id = "a", .seq = 1};
		struct wire_batch back;
		uint8_t *buf;
		size_t len;
		char err[256];
		whole.events_raw = all.buf;
		whole.events_raw_len = all.len;
		if (wire_encode_batch(&whole, &buf, &len) == 0) {
			if (wire_decode_batch(buf, len, 0, &back, err, sizeof(err)) != 0 ||
			    back.n_events != b->n_events)
				abort();
			wire_batch_free(&back);
			free(buf);
		}
	}
out:
	wire_events_free(&all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_batch b;
	struct wire_reply r;
	char err[256];

	if (wire_decode_batch(data, size, 1u << 20, &b, err, sizeof(err)) == 0) {
		/* Re-encoding what was accepted must work. */
		uint8_t *out;
		size_t len;
		if (wire_encode_batch(&b, &out, &len) == 0)
			free(out);
		events_encode_the_same(&b);
		wire_batch_free(&b);
	}
	wire_decode_reply(data, size, &r, err, sizeof(err));
	return 0;
}
