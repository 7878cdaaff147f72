/* ingest_otlp: OpenTelemetry OTLP/HTTP bodies (POST /v1/traces and
 * /v1/logs) turned into events (issue 15).
 *
 * Owns: decoding an export request, application/x-protobuf (protobuf-c,
 * common/otlp.proto) or application/json (OTLP JSON: hex ids, int64 as
 * strings, enums as numbers), gzip or not; the mapping of a span or a log
 * record to an event; and the body of the reply as the OTLP spec wants it
 * (ExportXServiceResponse with partial_success, or google.rpc.Status).
 *
 * A span becomes an event when it carries a gen_ai.* or mlwatch.*
 * attribute or is a SERVER span (others are internal steps: ignored,
 * counted). Model = gen_ai.response.model, gen_ai.request.model, else the
 * resource's service.name (characters outside [A-Za-z0-9_.-] become '_').
 * Time = start; latency = gen_ai.latency.e2e (s) or end - start; error =
 * status ERROR; input/output tokens = gen_ai.usage.input_tokens /
 * output_tokens (or the old prompt_tokens / completion_tokens); TTFT =
 * gen_ai.latency.time_to_first_token (vLLM), gen_ai.response.
 * time_to_first_chunk or gen_ai.server.time_to_first_token (s); TPOT =
 * gen_ai.server.time_per_output_token (s), else (latency - TTFT) /
 * (output tokens - 1); finish reason = the first of
 * gen_ai.response.finish_reasons; id = gen_ai.request.id,
 * gen_ai.response.id, else the span id in hex. Attributes named
 * mlwatch.feature.NAME become feature NAME, those the otlp_feature setting
 * names features of their own name; mlwatch.prediction the prediction. A log record whose body is a
 * JSON object (a string or a kvlist) in the BentoML monitor shape (bento_meta.schema with roles
 * feature / prediction / target) becomes an event of model
 * bento_meta.bento_name.
 *
 * Failures: an unusable body (not the declared format, truncated, wrong
 * wire types, nesting deeper than OTLP_MAX_DEPTH, more than
 * OTLP_MAX_ATTRIBUTES attributes, a gzip body that does not inflate) is
 * refused whole (400); one that inflates past the limit is 413; a span or
 * record that breaks an event rule is rejected alone and reported as
 * partial success. Stateless and thread-safe: every call works in the
 * caller's event_batch. */
#ifndef MLW_AGENT_INGEST_OTLP_H
#define MLW_AGENT_INGEST_OTLP_H

#include <stdbool.h>
#include <stddef.h>

#include "event.h"

#define OTLP_MAX_DEPTH      16     /* AnyValue arrays / kvlists inside each other */
#define OTLP_MAX_ATTRIBUTES 100000 /* key-value pairs in one request, all levels */

enum otlp_signal { OTLP_TRACES, OTLP_LOGS };
enum otlp_format { OTLP_PROTOBUF, OTLP_JSON };

struct otlp_reply {
	unsigned status; /* HTTP status to answer */
	enum otlp_format format;
	size_t items;    /* spans / log records seen */
	size_t accepted; /* became events */
	size_t rejected; /* broke a rule (partial success) */
	size_t ignored;  /* not model traffic (internal spans, other logs) */
	char message[384];
};

/* Decodes body (Content-Type ctype, Content-Encoding cenc, either may be
 * NULL) and appends its events to b. max_body caps the inflated size;
 * max_items the spans / records of one request. Returns 0 (rep->status 200,
 * counts filled), or -1 refused whole (rep->status 400, 413 or 415 and
 * rep->message), -3 out of memory. b keeps what was appended on 0 only. */
int otlp_decode(enum otlp_signal sig, const char *ctype, const char *cenc, const char *body,
                size_t len, double now, size_t max_body, size_t max_items, struct event_batch *b,
                struct otlp_reply *rep);

/* Span attributes to take as features (the otlp_feature setting): entries
 * "[MODEL:]ATTRIBUTE", the feature named as the attribute, for MODEL only
 * when given. The list must outlive the decode calls (it is the agent's
 * configuration); NULL / 0 for none. Not thread-safe: set before the HTTP
 * input starts. */
void otlp_set_feature_map(char *const *map, size_t n);

/* The reply body for rep (status and format decide which message), in
 * *out (malloc'd, *len bytes) with its content type in *ctype. For a
 * status other than 200 the message is a google.rpc.Status. Returns 0 or -1
 * when out of memory. */
int otlp_reply_body(enum otlp_signal sig, const struct otlp_reply *rep, char **out, size_t *len,
                    const char **ctype);

/* Inflates a gzip body into a malloc'd buffer of at most cap bytes (plus a
 * NUL). Returns 0; -1 not gzip / corrupt / truncated; -2 larger than cap;
 * -3 out of memory. Exposed for tests and the fuzz target. */
int otlp_gunzip(const char *in, size_t len, size_t cap, char **out, size_t *out_len);

#endif
