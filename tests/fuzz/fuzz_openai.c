/* libFuzzer target: common/openai's request and response parsers (JSON
 * and buffered SSE) and openai_event (issue 15). The first byte picks
 * request or response; whatever the rest: no crash, no leak, a refusal
 * has a reason, and the event fields made are valid by the contract. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "openai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arena a;
	struct openai_info info;
	struct event ev;
	char err[256] = "";
	int rc;

	if (size < 1)
		return 0;
	arena_init(&a, 0);
	if (data[0] & 1)
		rc = openai_parse_response((const char *)data + 1, size - 1, &a, &info, err,
		                           sizeof(err));
	else
		rc = openai_parse_request((const char *)data + 1, size - 1, &a, &info, err,
		                          sizeof(err));
	if (rc != 0 && !err[0])
		abort();
	if (rc == 0) {
		memset(&ev, 0, sizeof(ev));
		if (openai_event(data[0] & 1 ? NULL : &info, data[0] & 1 ? &info : NULL, &a, &ev))
			abort();
		if (ev.model && !event_model_name_valid(ev.model, strlen(ev.model)))
			abort();
		if (ev.finish_reason &&
		    !event_finish_reason_valid(ev.finish_reason, strlen(ev.finish_reason)))
			abort();
		if ((ev.has_input_tokens &&
		     (ev.input_tokens < 0 || ev.input_tokens > EVENT_TOKENS_MAX)) ||
		    (ev.has_output_tokens &&
		     (ev.output_tokens < 0 || ev.output_tokens > EVENT_TOKENS_MAX)))
			abort();
	}
	arena_reset(&a);
	return 0;
}
