/* libFuzzer target: the collector's wire decoder (Batch) and the agent's
 * reply decoder. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "wire.h"

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
		wire_batch_free(&b);
	}
	wire_decode_reply(data, size, &r, err, sizeof(err));
	return 0;
}
