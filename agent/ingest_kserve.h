/* ingest_kserve: the KServe inference logger input (CloudEvents binary
 * mode). A request half (ce-type ...inference.request; v1 `instances` or
 * Open Inference Protocol v2 `inputs`) and a response half (...response;
 * v1 `predictions` or v2 `outputs`) with the same ce-id are joined into one
 * event per instance: features from the request, prediction (and score
 * when the output is a probability vector) from the response, latency =
 * response ce-time - request ce-time, ts = request ce-time.
 *
 * A half waits in a bounded table (max_pending entries, max_bytes of
 * parsed JSON) for at most ttl seconds; expired or evicted halves are
 * counted (kserve_expired_total, kserve_evicted_total) and dropped.
 *
 * Naming: v1 object instances keep their keys; v1 array instances give
 * features x0, x1, ...; a v2 input tensor NAME gives NAME when it has one
 * value per instance, else NAME[0], NAME[1], .... With several instances
 * the event ids are CE-ID/0, CE-ID/1, ...; with one, CE-ID.
 *
 * Thread-safe (one mutex). Joined events go to emit(); errors in a half
 * are reported at once (400) with a reason. */
#ifndef MLW_AGENT_INGEST_KSERVE_H
#define MLW_AGENT_INGEST_KSERVE_H

#include <stddef.h>

#include "event.h"

struct kserve_headers {
	const char *id, *type, *time, *service, *source, *specversion; /* NULL when absent */
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

struct kserve *kserve_new(double ttl_s, size_t max_pending, size_t max_bytes, kserve_emit_fn emit,
                          void *arg);
/* Drops (and counts as expired) whatever is pending. */
void kserve_free(struct kserve *k);

/* Handles one logged CloudEvent. now is Unix seconds. Returns 0 (res
 * filled), -1 malformed (res->error, res->field), -EAGAIN, -ENOMEM. */
int kserve_handle(struct kserve *k, const struct kserve_headers *h, const char *body, size_t len,
                  double now, struct kserve_result *res);

/* Expires halves older than ttl (clock_mono() time). */
void kserve_expire(struct kserve *k, double mono_now);
size_t kserve_pending(struct kserve *k);

#endif
