/* fuzz-deps: agent/triton.c */
/* libFuzzer target: agent/triton's trace-file parser (issue 15), driven as
 * ingest_tail drives it. The first byte picks where the file is cut for a
 * first read while "Triton is still writing" (byte * size / 256); the rest
 * is the file. The cut read is not final, the read from where it stopped
 * is (the file is done).
 *
 * Checked: nothing crashes or leaks; consumed never passes the text, and a
 * final read consumes it all; reading in two steps gives the same events
 * (model, id, latency) in the same order as one final read of the whole,
 * because a trace still open at the cut is read again whole; every refusal
 * says where and why. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "triton.h"

static void check_report(const struct triton_report *r)
{
	if (r->refused && (!r->first.field[0] || !r->first.reason[0]))
		abort();
	if (r->tensors_refused && !r->tensor_reason[0])
		abort();
}

static bool same(const struct event *a, const struct event *b)
{
	if (strcmp(a->model, b->model) != 0)
		return false;
	if ((a->id == NULL) != (b->id == NULL) || (a->id && strcmp(a->id, b->id) != 0))
		return false;
	if (a->has_latency != b->has_latency)
		return false;
	return !a->has_latency || a->latency_ms == b->latency_ms;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_batch whole, steps;
	struct triton_report rep;
	size_t used, used2;

	if (size < 1)
		return 0;
	const char *text = (const char *)data + 1;
	size_t len = size - 1, cut = (size_t)data[0] * len / 256;

	event_batch_init(&whole);
	event_batch_init(&steps);
	if (triton_parse(text, len, true, 1e9, 1000, SIZE_MAX, &whole, &used, &rep) != 0)
		goto out;
	check_report(&rep);
	if (used != len)
		abort();
	for (size_t i = 0; i < whole.n_events; i++)
		if (!whole.events[i].model || !whole.events[i].model[0] ||
		    (whole.events[i].has_latency &&
		     !(isfinite(whole.events[i].latency_ms) && whole.events[i].latency_ms >= 0)))
			abort();

	if (triton_parse(text, cut, false, 1e9, 1000, SIZE_MAX, &steps, &used, &rep) != 0)
		goto out;
	check_report(&rep);
	if (used > cut)
		abort();
	if (triton_parse(text + used, len - used, true, 1e9, 1000, SIZE_MAX, &steps, &used2,
	                 &rep) != 0)
		goto out;
	check_report(&rep);
	if (used2 != len - used || steps.n_events != whole.n_events)
		abort();
	for (size_t i = 0; i < whole.n_events; i++)
		if (!same(&whole.events[i], &steps.events[i]))
			abort();
	(void)triton_resync(text, len);
out:
	event_batch_reset(&whole);
	event_batch_reset(&steps);
	return 0;
}
