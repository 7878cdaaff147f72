/* fuzz-deps: collector/payload.c collector/rules.c */
/* libFuzzer target: payload_decode, the reader of the notifications stored
 * in the outbox (JSON written by payload_encode, but a database is outside
 * input), then payload_render for every receiver type on what it accepted,
 * and a re-encode that must decode again. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512], *s = malloc(size + 1);
	struct notification n;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	memset(&n, 0, sizeof(n));
	if (payload_decode(s, &n, err, sizeof(err)) == 0) {
		struct payload_ctx ctx = {"fuzz", "http://mlwatch.example", "routing-key"};
		for (int t = RECEIVER_WEBHOOK; t <= RECEIVER_PAGERDUTY; t++)
			free(payload_render((enum receiver_type)t, &n, &ctx));
		char *again = NULL;
		if (payload_encode(&n, &again) == 0) {
			struct notification m;
			memset(&m, 0, sizeof(m));
			if (payload_decode(again, &m, err, sizeof(err)) != 0)
				abort(); /* what we wrote, we must read */
			payload_free(&m);
		}
		free(again);
	}
	payload_free(&n);
	free(s);
	return 0;
}
