/* wire_same: exact equality of two decoded batches, for the tests that hold
 * the hand-written Batch decoder (common/wire_decode.c) to protobuf-c's
 * (wire_decode_batch_pb): tests/unit/test_wire_decode.c and
 * tests/fuzz/fuzz_wire_decode.c. Every field of the header, the stats,
 * every kept event (features, vectors, scores, values, LLM fields), label
 * and summary (sketches, finish reasons), n_invalid and first_invalid;
 * numbers by their bits, strings by content, absent (NULL) apart from
 * empty. No threads, no allocation. */
#ifndef MLW_TEST_WIRE_SAME_H
#define MLW_TEST_WIRE_SAME_H

#include <stdbool.h>
#include <stddef.h>

#include "wire.h"

/* true when x and y are the same; otherwise false and why in why[cap]
 * (the first difference). */
bool wire_batch_same(const struct wire_batch *x, const struct wire_batch *y, char *why, size_t cap);

#endif
