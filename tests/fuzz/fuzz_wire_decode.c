/* fuzz-deps: tests/lib/wire_same.c */
/* libFuzzer target: the hand-written Batch decoder (common/wire_decode.c)
 * against protobuf-c's (wire_decode_batch_pb, the reference). For any
 * input: the same return code and error text, and when both accept, the
 * same batch field for field (tests/lib/wire_same: header, stats, every
 * event, label and summary, n_invalid, first_invalid). Any difference
 * aborts. The input is decoded from a copy of exactly its size, so that
 * ASan sees any read past the end. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/wire_same.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_batch x, y;
	char ex[256] = "", ey[256] = "", why[256];
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	int rx = wire_decode_batch_pb(buf, size, 1u << 20, &x, ex, sizeof(ex));
	int ry = wire_decode_batch(buf, size, 1u << 20, &y, ey, sizeof(ey));
	if (rx != ry || strcmp(ex, ey) != 0)
		abort();
	if (rx == 0) {
		if (!wire_batch_same(&x, &y, why, sizeof(why)))
			abort();
		wire_batch_free(&x);
		wire_batch_free(&y);
	}
	free(buf);
	return 0;
}
