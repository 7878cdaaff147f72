/* libFuzzer target: the event/label body parser (object, array, NDJSON). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_batch b;
	struct event_error err;
	char msg[512];

	if (size < 1)
		return 0;
	event_batch_init(&b);
	/* The first byte picks the body kind so one corpus covers both. */
	enum event_body_kind kind = data[0] & 1 ? EVENT_BODY_LABELS : EVENT_BODY_EVENTS;
	if (event_parse_body((const char *)data + 1, size - 1, kind, 1764072000.0, 10000, &b,
	                     &err) != 0)
		event_error_format(&err, msg, sizeof(msg));
	event_batch_reset(&b);
	return 0;
}
