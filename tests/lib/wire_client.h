/* wire_client: what tests and benchmarks use to talk to mlwatchd without the
 * agent: an nng REQ socket that sends encoded batches and waits for the
 * reply, and a builder for batches (events, labels, per-second summaries
 * with latency sketches).
 *
 * Ownership: a wc_client is freed by wc_close; a wc_batch owns every string
 * and array it hands to the wire_batch inside it until wc_batch_free. */
#ifndef MLW_WIRE_CLIENT_H
#define MLW_WIRE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct wc_client;

struct wc_tls {
	const char *ca;   /* verify the server against this CA (PEM file) */
	const char *cert; /* client certificate and key, optional */
	const char *key;
	const char *server_name; /* default "localhost" */
};

/* Dials url (tcp://, ipc://, tls+tcp:// with tls). timeout_s bounds each
 * request (send + reply). Returns 0, or -1 with err. */
int wc_open(struct wc_client **out, const char *url, const struct wc_tls *tls, double timeout_s,
            char *err, size_t errlen);
void wc_close(struct wc_client *c);

/* Sends buf and decodes the reply. Returns 0 with *reply filled, -1 on
 * timeout or transport error (err says which). */
int wc_request(struct wc_client *c, const uint8_t *buf, size_t len, struct wire_reply *reply,
               char *err, size_t errlen);

/* ---- batch builder ---- */

struct wc_batch {
	struct wire_batch b;
	struct arena a;
	size_t cap_events, cap_labels, cap_summaries;
};

void wc_batch_init(struct wc_batch *wb, const char *agent_id, uint64_t seq, const char *token);
void wc_batch_free(struct wc_batch *wb);

struct wc_feature {
	const char *name;
	int kind; /* FEATURE_MISSING / FEATURE_NUMERIC / FEATURE_CATEGORICAL */
	double num;
	const char *str;
};

/* Adds an event (strings are copied). id may be NULL; prediction/label
 * kinds VALUE_NONE when absent; score < 0 means none. */
int wc_batch_event(struct wc_batch *wb, const char *model, const char *id, double ts,
                   double latency_ms, bool error, const struct wc_feature *f, size_t nf,
                   struct value prediction, double score, struct value label);
int wc_batch_label(struct wc_batch *wb, const char *model, const char *id, struct value label,
                   double ts);
/* Adds a summary of one second: count requests of which errors failed,
 * with the given latencies (n of them, may be 0: no sketch). */
int wc_batch_summary(struct wc_batch *wb, const char *model, int64_t second, uint64_t count,
                     uint64_t errors, uint64_t sampled, const double *latencies, size_t n);
/* Encodes (malloc'd, caller frees). */
int wc_batch_encode(const struct wc_batch *wb, uint8_t **buf, size_t *len);

static inline struct value wc_num(double v)
{
	struct value x = {VALUE_NUMBER, v, NULL};
	return x;
}
static inline struct value wc_str(const char *s)
{
	struct value x = {VALUE_STRING, 0, s};
	return x;
}
static inline struct value wc_none(void)
{
	struct value x = {VALUE_NONE, 0, NULL};
	return x;
}

#endif
