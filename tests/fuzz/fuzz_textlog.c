/* fuzz-deps: agent/textlog.c agent/bentoml.c agent/stats.c */
/* libFuzzer target: agent/textlog's TorchServe and Ray Serve line parsers
 * (issue 15). The first byte picks the dialect, the rest is one line.
 * Checked: no crash or leak; the answer is 0, 1 or -1; a refusal has a
 * reason; an event has a model and a finite, non-negative latency. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "textlog.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_batch eb;
	struct event_error err = {0};

	if (size < 1)
		return 0;
	event_batch_init(&eb);
	int rc = textlog_line(data[0] & 1 ? TEXTLOG_RAY_SERVE : TEXTLOG_TORCHSERVE,
	                      (const char *)data + 1, size - 1, 1e9, &eb, &err);
	if (rc != 0 && rc != 1 && rc != -1 && rc != -3)
		abort();
	if (rc == -1 && !err.reason[0])
		abort();
	if (rc == 0 && (eb.n_events != 1 || !eb.events[0].model[0] || !eb.events[0].has_latency ||
	                !isfinite(eb.events[0].latency_ms) || eb.events[0].latency_ms < 0))
		abort();
	if (rc != 0 && eb.n_events != 0)
		abort();
	event_batch_reset(&eb);
	return 0;
}
