/* fuzz-deps: agent/ingest_otlp.c */
/* libFuzzer target: the agent's OTLP/HTTP decoders (issue 15). The first
 * byte picks the signal (traces / logs), the format (protobuf / JSON) and
 * whether the rest is declared gzip; the rest is the body. Whatever the
 * input: no crash, no leak, a refusal has a 4xx status and a reason, and
 * every event produced satisfies the contract's rules (model and feature
 * names, finite non-negative LLM fields, valid finish reason). The reply
 * body is built for every outcome. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "ingest_otlp.h"

static void check(const struct event *e)
{
	if (!event_model_name_valid(e->model, strlen(e->model)))
		abort();
	if (e->id && !event_id_valid(e->id, strlen(e->id)))
		abort();
	if (!isfinite(e->ts) || (e->has_latency && !(e->latency_ms >= 0)))
		abort();
	if ((e->has_ttft && !(e->ttft_ms >= 0 && isfinite(e->ttft_ms))) ||
	    (e->has_tpot && !(e->tpot_ms >= 0 && isfinite(e->tpot_ms))))
		abort();
	if ((e->has_input_tokens && (e->input_tokens < 0 || e->input_tokens > EVENT_TOKENS_MAX)) ||
	    (e->has_output_tokens && (e->output_tokens < 0 || e->output_tokens > EVENT_TOKENS_MAX)))
		abort();
	if (e->finish_reason &&
	    !event_finish_reason_valid(e->finish_reason, strlen(e->finish_reason)))
		abort();
	if (e->n_features > EVENT_FEATURES_MAX)
		abort();
	for (size_t f = 0; f < e->n_features; f++)
		if (!event_feature_name_valid(e->features[f].name, strlen(e->features[f].name)))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_batch b;
	struct otlp_reply rep;
	char *body = NULL;
	size_t len = 0;
	const char *ct;

	if (size < 1)
		return 0;
	enum otlp_signal sig = data[0] & 1 ? OTLP_LOGS : OTLP_TRACES;
	const char *type = data[0] & 2 ? "application/json" : "application/x-protobuf";
	const char *enc = data[0] & 4 ? "gzip" : NULL;
	event_batch_init(&b);
	int rc = otlp_decode(sig, type, enc, (const char *)data + 1, size - 1, 1764072000.0,
	                     1u << 20, 1000, &b, &rep);
	if (rc == 0) {
		if (rep.status != 200 || b.n_events != rep.accepted ||
		    rep.accepted + rep.rejected + rep.ignored != rep.items)
			abort();
		for (size_t i = 0; i < b.n_events; i++)
			check(&b.events[i]);
	} else if (rc == -1) {
		if (rep.status < 400 || rep.status > 415 || !rep.message[0] || b.n_events)
			abort();
	}
	if (otlp_reply_body(sig, &rep, &body, &len, &ct) == 0)
		free(body);
	event_batch_reset(&b);
	return 0;
}
