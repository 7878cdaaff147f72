/* ingest_kserve: the KServe inference logger input (CloudEvents binary
 * mode), and the Seldon Core 1 executor logger, which uses the same
 * transport. It owns the table of halves waiting for their pair and turns
 * logged halves into events; it never blocks on the network.
 *
 * Pairing. A KServe request half (ce-type ...inference.request; v1
 * `instances` or `inputs`, or Open Inference Protocol v2 `inputs`) and its
 * response half (...response; v1 `predictions` or v2 `outputs`) carry the
 * same ce-id; they are paired by (ce-namespace, ce-inferenceservicename,
 * ce-id), in either order. Seldon Core 1 (ce-type io.seldon.serving.*)
 * gives each half a new ce-id: its halves pair by (ce-modelid,
 * ce-requestid). A pair gives one event per instance: features from the
 * request, prediction (and score for a probability vector) from the
 * response, ts = request ce-time.
 *
 * Latency. Before KServe v0.18 ce-time is the moment a logger worker sent
 * the half, so the difference between halves is noise. Latency is taken
 * from ce-time only when both halves carry Ce-Recordedtime (v0.18+), or
 * kserve_latency = ce_time says so; otherwise the event has no latency
 * (counted in kserve_latency_unknown_total; it is counted but enters no
 * latency sketch). kserve_latency = none never takes one.
 *
 * Failures as the logger shows them. The logger sends the response half
 * only when the model answered 200, so a request half still unpaired after
 * the TTL becomes an error event (features kept, no prediction, no
 * latency; kserve_orphan_errors_total). An unpaired response half is only
 * counted (kserve_expired_total). kserve_mode = request | response takes
 * each half of that kind as a whole event at once (the other kind is
 * ignored); all pairs.
 *
 * Components. A transformer and its predictor log the same prediction
 * under different ids; only halves of the configured component (Ce-Component,
 * default predictor; any = all) are used, the rest are counted
 * (kserve_other_component_total) and answered 202.
 *
 * Model name: the kserve_model template over {isvc}
 * (Ce-Inferenceservicename; Seldon: ce-modelid), {namespace} (Ce-Namespace)
 * and {model_name} (a v2 response's model_name, an OpenAI body's model;
 * {isvc} when there is none). Without a template (NULL or ""), {isvc} for
 * tensor pairs and {model_name} for OpenAI pairs.
 *
 * OpenAI bodies (/openai/v1/chat/completions and /completions, vLLM and
 * huggingface runtimes): a request with messages or prompt, a response
 * with choices or usage, or a streamed response logged as its buffered
 * text/event-stream, is read by common/openai. A pair gives one event:
 * input/output tokens from usage, finish reason, features prompt_chars,
 * messages, max_tokens and stream, latency as below; never a TTFT (a
 * buffered stream does not say when its first token came). An OpenAI half
 * never pairs with a tensor half (the second is refused).
 *
 * Bodies. gzip bodies (Content-Encoding: gzip, or the 1f 8b magic, since
 * the logger forwards compressed bodies without the header) are inflated
 * up to max_inflated bytes, beyond which the half is refused (-E2BIG, 413).
 * A JSON object followed by raw bytes is the binary tensor extension: the
 * JSON header ends at Inference-Header-Content-Length when given, else
 * where the object ends; tensors whose values are in the raw part
 * (parameters.binary_data_size, no data) count their rows but give no
 * values (kserve_binary_tensors_skipped_total). A string value longer than
 * EVENT_CATEGORY_MAX bytes (a base64 image, a document) becomes a missing
 * value (kserve_long_strings_total) instead of failing the event. An empty
 * body (GET /v2/models/x, probes) is skipped (kserve_skipped_total). The
 * Content-Type is not used: v0.14+ sends the request's type on both halves.
 *
 * Repeated ids. A client may send its own Ce-Id twice. When two halves of
 * the same kind wait under one key, no pairing can be trusted: both request
 * halves become events without prediction, and the key is fenced off for
 * the TTL (later halves under it are dropped); all counted in
 * kserve_ambiguous_total. Two requests never share a response.
 *
 * Naming: v1 object instances keep their keys; v1 array instances give
 * features x0, x1, ...; a v2 input tensor NAME gives NAME when it has one
 * value per instance, else NAME[0], NAME[1], .... With several instances
 * the event ids are ID/0, ID/1, ...; with one, ID.
 *
 * Threads: kserve_handle runs in HTTP worker threads, kserve_expire in the
 * agent's timer thread; one mutex guards the table, emit() is called
 * outside it. Errors in a half are reported at once with a reason. */
#ifndef MLW_AGENT_INGEST_KSERVE_H
#define MLW_AGENT_INGEST_KSERVE_H

#include <stddef.h>

#include "event.h"

enum kserve_mode { KSERVE_MODE_ALL = 0, KSERVE_MODE_REQUEST, KSERVE_MODE_RESPONSE };
enum kserve_latency { KSERVE_LATENCY_AUTO = 0, KSERVE_LATENCY_CE_TIME, KSERVE_LATENCY_NONE };

struct kserve_options {
	double ttl_s;
	size_t max_pending, max_bytes;
	size_t max_inflated; /* bound on an inflated gzip body; 0 = 8 MiB */
	enum kserve_mode mode;
	enum kserve_latency latency;
	const char *component;      /* NULL = "predictor"; "any" = every component */
	const char *model_template; /* NULL or "" = "{isvc}" ({model_name} for OpenAI) */
};

/* Header values, NULL when absent. */
struct kserve_headers {
	const char *id, *type, *time, *service, *source, *specversion;
	const char *recorded_time;    /* Ce-Recordedtime (KServe v0.18+) */
	const char *ns;               /* Ce-Namespace */
	const char *component;        /* Ce-Component */
	const char *request_id;       /* Ce-Requestid (Seldon Core 1) */
	const char *model_id;         /* Ce-Modelid, or Model-Id (Seldon Core 1) */
	const char *content_encoding; /* Content-Encoding */
	const char *header_length;    /* Inference-Header-Content-Length */
};

struct kserve_result {
	size_t accepted; /* events produced by this call (0 for a first half) */
	size_t sampled;
	char error[256];
	char field[64];
};

/* Takes joined events; returns 0, -EAGAIN (overloaded), -ENOMEM. */
typedef int (*kserve_emit_fn)(void *arg, const struct event *ev, size_t n, size_t *sampled);

struct kserve;

/* NULL with the reason in err (a bad template or component, or no memory). */
struct kserve *kserve_open(const struct kserve_options *o, kserve_emit_fn emit, void *arg,
                           char *err, size_t errlen);
/* kserve_open with the defaults for everything but these. */
struct kserve *kserve_new(double ttl_s, size_t max_pending, size_t max_bytes, kserve_emit_fn emit,
                          void *arg);
/* Drops (and counts as expired) whatever is pending. */
void kserve_free(struct kserve *k);

/* Checks a kserve_model template: 0, or -1 with the reason in err. */
int kserve_template_check(const char *tpl, char *err, size_t errlen);

/* Handles one logged CloudEvent. now is Unix seconds. Returns 0 (res
 * filled), -1 malformed (res->error, res->field), -E2BIG (inflated body
 * over max_inflated; res->error), -EAGAIN, -ENOMEM. */
int kserve_handle(struct kserve *k, const struct kserve_headers *h, const char *body, size_t len,
                  double now, struct kserve_result *res);

/* Expires halves older than ttl (clock_mono() time); unpaired request
 * halves become error events (emitted here). */
void kserve_expire(struct kserve *k, double mono_now);
size_t kserve_pending(struct kserve *k);

#endif
