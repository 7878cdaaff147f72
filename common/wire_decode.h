/* wire_decode: the collector's decoder of a Batch (common/mlwatch.proto),
 * written by hand: the protobuf wire format read straight into the event
 * structs of event.h, each string copied once into the batch's arena, with
 * no protobuf-c message in between.
 *
 * Why beside protobuf-c: speed. Unpacking with protobuf-c and converting
 * each message into a struct event cost the collector's listen thread about
 * 0.6 us an event, half of its time (issue 18). protobuf-c stays the
 * reference: wire_decode_batch_pb (wire.h) is the same decoder through it,
 * and the tests and a fuzz target require both to give the same result for
 * any bytes.
 *
 * Same semantics as protobuf-c 1.4.1's unpack: unknown fields skipped by
 * wire type; groups, wire types 6 and 7, a known field with the wrong wire
 * type, a missing required field, a varint of more than 10 bytes, a tag or
 * length of more than 5, or a length past the end make the whole Batch
 * invalid; a singular field given twice keeps the last, a singular message
 * (Value, AgentStats) given twice is merged, and two Values merged with
 * neither member set are invalid (protobuf-c's merge_messages fails them);
 * a string is seen up to its first NUL, as C code sees protobuf-c's copy.
 * Then every item is validated as wire.h says (n_invalid, first_invalid,
 * the same messages).
 *
 * Threads: none of its own; reentrant (all state on the stack and in the
 * batch's arena). Failures: -1 with a reason in err, nothing to free. */
#ifndef MLW_WIRE_DECODE_H
#define MLW_WIRE_DECODE_H

#include <stddef.h>
#include <stdint.h>

struct wire_batch;

/* Unpacks and validates buf. max_len caps the encoded size (0 =
 * WIRE_MAX_MESSAGE). Returns 0 (possibly with n_invalid > 0), or -1 with a
 * reason in err when the message as a whole is unusable (too large, not a
 * Batch, bad header). On -1 nothing needs freeing; on 0 call wire_batch_free. */
int wire_decode_batch(const uint8_t *buf, size_t len, size_t max_len, struct wire_batch *out,
                      char *err, size_t errlen);

#endif
