/* stats: see stats.h. */
#include "stats.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vector.h"

static _Atomic uint64_t counters[ST_N];
static _Atomic uint64_t received[INPUT_N];
static _Atomic uint64_t rejected[REJ_N];
static _Atomic uint64_t vec_refused[VECTOR_REASONS];

static const char *const input_names[INPUT_N] = {"http", "kserve", "tail", "dgram", "otlp"};
static const char *const reason_names[REJ_N] = {
    "malformed",  "too_large",   "too_many_events", "unauthorized",
    "overloaded", "connections", "bad_request",     "label_only",
};

struct metric {
	enum stat_id id;
	const char *name;
	const char *type;
	const char *help;
};

static const struct metric metrics[] = {
    {ST_LABELS_RECEIVED, "labels_received_total", "counter",
     "Valid late labels taken from all inputs."},
    {ST_EVENTS_SAMPLED, "events_sampled_total", "counter",
     "Events whose payload was kept by sampling."},
    {ST_LABELS_SAMPLED, "labels_sampled_total", "counter",
     "Labels kept by sampling (they follow their event's decision)."},
    {ST_EVENTS_SENT, "events_sent_total", "counter",
     "Sampled events acknowledged by the collector."},
    {ST_LABELS_SENT, "labels_sent_total", "counter", "Labels acknowledged by the collector."},
    {ST_BATCHES_SENT, "batches_sent_total", "counter", "Batches acknowledged by the collector."},
    {ST_EVENTS_SPOOLED, "events_spooled_total", "counter", "Sampled events written to the spool."},
    {ST_BATCHES_SPOOLED, "batches_spooled_total", "counter", "Batches written to the spool."},
    {ST_EVENTS_REPLAYED, "events_replayed_total", "counter",
     "Sampled events read back from the spool and acknowledged."},
    {ST_EVENTS_DROPPED, "events_dropped_total", "counter",
     "Sampled events dropped (spool full, batch refused as invalid)."},
    {ST_LABELS_DROPPED, "labels_dropped_total", "counter", "Labels dropped."},
    {ST_COUNTED_DROPPED, "counted_dropped_total", "counter",
     "Events whose counts and latency (summaries) were dropped."},
    {ST_BATCHES_DROPPED, "batches_dropped_total", "counter", "Batches dropped."},
    {ST_SPOOL_CORRUPT, "spool_corrupt_total", "counter", "Torn or corrupt spool records skipped."},
    {ST_SEND_RETRIES, "send_retries_total", "counter",
     "Batches sent again after a failure or a busy reply."},
    {ST_REPLY_BUSY, "replies_busy_total", "counter", "BUSY replies from the collector."},
    {ST_REPLY_ERROR, "replies_error_total", "counter",
     "Replies refusing a batch (unauthorized, invalid, version)."},
    {ST_KSERVE_PAIRED, "kserve_paired_total", "counter",
     "KServe request/response pairs joined into events."},
    {ST_KSERVE_EXPIRED, "kserve_expired_total", "counter",
     "KServe halves whose other half never came within kserve_ttl."},
    {ST_KSERVE_EVICTED, "kserve_evicted_total", "counter",
     "KServe halves evicted because the pending table was full."},
    {ST_KSERVE_ORPHAN_ERRORS, "kserve_orphan_errors_total", "counter",
     "Error events made from KServe request halves left unpaired after kserve_ttl (the "
     "logger sends no response half for a non-200 answer)."},
    {ST_KSERVE_LATENCY_UNKNOWN, "kserve_latency_unknown_total", "counter",
     "KServe events sent without latency (ce-time not proven an occurrence time)."},
    {ST_KSERVE_OTHER_COMPONENT, "kserve_other_component_total", "counter",
     "KServe halves of another component than kserve_component, ignored."},
    {ST_KSERVE_SKIPPED, "kserve_skipped_total", "counter",
     "KServe halves without a prediction body (empty bodies, the half kserve_mode ignores)."},
    {ST_KSERVE_AMBIGUOUS, "kserve_ambiguous_total", "counter",
     "KServe halves not paired because their ce-id was repeated."},
    {ST_KSERVE_BINARY_SKIPPED, "kserve_binary_tensors_skipped_total", "counter",
     "Tensors of the binary extension whose raw values were skipped."},
    {ST_KSERVE_LONG_STRINGS, "kserve_long_strings_total", "counter",
     "KServe string values longer than 256 bytes taken as missing."},
    {ST_DGRAM_RECEIVED, "datagrams_received_total", "counter", "Datagrams read."},
    {ST_DGRAM_KERNEL_DROPS, "datagrams_kernel_dropped_total", "counter",
     "Datagrams the kernel dropped because the receive buffer was full."},
    {ST_TAIL_LINES, "tail_lines_total", "counter", "Complete lines read from tailed files."},
    {ST_TAIL_ROTATIONS, "tail_rotations_total", "counter",
     "Rename rotations of tailed files followed."},
    {ST_TAIL_TRUNCATIONS, "tail_truncations_total", "counter",
     "Truncations (copytruncate) of tailed files seen."},
    {ST_TAIL_LONG_STRINGS, "tail_long_strings_total", "counter",
     "String values over 256 bytes in BentoML monitor lines, taken as missing."},
    {ST_TAIL_IGNORED, "tail_ignored_lines_total", "counter",
     "Lines of --format torchserve|ray_serve files that are not a request (user logs, step "
     "timings, host counters, the proxy's copy of a request)."},
    {ST_TRITON_TRACES, "triton_traces_total", "counter",
     "Trace ids read from Triton trace files (--format triton)."},
    {ST_TRITON_TENSORS_REFUSED, "triton_tensors_refused_total", "counter",
     "Triton trace tensors whose values could not be read (dropped, the trace kept)."},
    {ST_TRITON_LATENCY_UNKNOWN, "triton_latency_unknown_total", "counter",
     "Triton trace events without REQUEST_START and REQUEST_END (latency unknown)."},
    {ST_OTLP_REJECTED, "otlp_rejected_total", "counter",
     "OTLP spans and log records refused alone (answered as partial success)."},
    {ST_OTLP_IGNORED, "otlp_ignored_total", "counter",
     "OTLP spans and log records that are not model traffic (internal spans, other logs)."},
    {ST_SPOOL_BYTES, "spool_bytes", "gauge", "Bytes of batches waiting in the spool."},
    {ST_SPOOL_BATCHES, "spool_batches", "gauge", "Batches waiting in the spool."},
    {ST_COLLECTOR_CONNECTED, "collector_connected", "gauge",
     "1 when a connection to the collector is up."},
    {ST_INFLIGHT, "batches_inflight", "gauge", "Batches sent and not yet answered."},
    {ST_QUEUE_BYTES, "queue_bytes", "gauge", "Encoded batches waiting in memory."},
    {ST_BODY_BYTES, "http_body_bytes", "gauge", "Request body bytes held in memory."},
    {ST_HTTP_CONNECTIONS, "http_connections", "gauge", "Open HTTP connections."},
    {ST_KSERVE_PENDING, "kserve_pending", "gauge", "KServe halves waiting for their pair."},
};

void stats_reset(void)
{
	for (int i = 0; i < ST_N; i++)
		atomic_store(&counters[i], 0);
	for (int i = 0; i < INPUT_N; i++)
		atomic_store(&received[i], 0);
	for (int i = 0; i < REJ_N; i++)
		atomic_store(&rejected[i], 0);
	for (int i = 0; i < VECTOR_REASONS; i++)
		atomic_store(&vec_refused[i], 0);
}

void stats_vector_refused(int vector_reason)
{
	if (vector_reason > 0 && vector_reason < VECTOR_REASONS)
		atomic_fetch_add_explicit(&vec_refused[vector_reason], 1, memory_order_relaxed);
}

uint64_t stats_vector_refused_get(int vector_reason)
{
	if (vector_reason > 0 && vector_reason < VECTOR_REASONS)
		return atomic_load(&vec_refused[vector_reason]);
	return 0;
}

void stats_add(enum stat_id id, uint64_t n)
{
	atomic_fetch_add_explicit(&counters[id], n, memory_order_relaxed);
}

void stats_sub(enum stat_id id, uint64_t n)
{
	atomic_fetch_sub_explicit(&counters[id], n, memory_order_relaxed);
}

void stats_set(enum stat_id id, uint64_t v)
{
	atomic_store_explicit(&counters[id], v, memory_order_relaxed);
}

uint64_t stats_get(enum stat_id id)
{
	return atomic_load_explicit(&counters[id], memory_order_relaxed);
}

void stats_received(enum stat_input in, uint64_t n)
{
	atomic_fetch_add_explicit(&received[in], n, memory_order_relaxed);
}

uint64_t stats_received_get(enum stat_input in)
{
	uint64_t s = 0;
	if (in != INPUT_N)
		return atomic_load(&received[in]);
	for (int i = 0; i < INPUT_N; i++)
		s += atomic_load(&received[i]);
	return s;
}

void stats_rejected(enum stat_reason r, uint64_t n)
{
	atomic_fetch_add_explicit(&rejected[r], n, memory_order_relaxed);
}

uint64_t stats_rejected_get(enum stat_reason r)
{
	uint64_t s = 0;
	if (r != REJ_N)
		return atomic_load(&rejected[r]);
	for (int i = 0; i < REJ_N; i++)
		s += atomic_load(&rejected[i]);
	return s;
}

struct out {
	char *buf;
	size_t len, cap;
	int failed;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = 1;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		size_t ncap = o->cap * 2 + (size_t)n;
		char *nb = realloc(o->buf, ncap);
		if (!nb) {
			o->failed = 1;
			return;
		}
		o->buf = nb;
		o->cap = ncap;
	}
}

char *stats_render(double started, size_t *len)
{
	struct out o = {malloc(8192), 0, 8192, 0};

	if (!o.buf)
		return NULL;
	o.buf[0] = '\0';
	put(&o,
	    "# HELP mlwatch_agent_events_received_total Valid prediction events taken, by input.\n"
	    "# TYPE mlwatch_agent_events_received_total counter\n");
	for (int i = 0; i < INPUT_N; i++)
		put(&o, "mlwatch_agent_events_received_total{input=\"%s\"} %llu\n", input_names[i],
		    (unsigned long long)atomic_load(&received[i]));
	put(&o, "# HELP mlwatch_agent_rejected_total Inputs (requests, datagrams, lines) refused, "
	        "by reason.\n"
	        "# TYPE mlwatch_agent_rejected_total counter\n");
	for (int i = 0; i < REJ_N; i++)
		put(&o, "mlwatch_agent_rejected_total{reason=\"%s\"} %llu\n", reason_names[i],
		    (unsigned long long)atomic_load(&rejected[i]));
	put(&o, "# HELP mlwatch_agent_vectors_refused_total Vector features refused (a request "
	        "holding one is refused whole), by reason.\n"
	        "# TYPE mlwatch_agent_vectors_refused_total counter\n");
	for (int i = 1; i < VECTOR_REASONS; i++)
		put(&o, "mlwatch_agent_vectors_refused_total{reason=\"%s\"} %llu\n",
		    vector_reason_name((enum vector_reason)i),
		    (unsigned long long)atomic_load(&vec_refused[i]));
	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++) {
		const struct metric *m = &metrics[i];
		put(&o,
		    "# HELP mlwatch_agent_%s %s\n# TYPE mlwatch_agent_%s %s\nmlwatch_agent_%s "
		    "%llu\n",
		    m->name, m->help, m->name, m->type, m->name,
		    (unsigned long long)atomic_load(&counters[m->id]));
	}
	put(&o,
	    "# HELP mlwatch_agent_start_time_seconds When the agent started (Unix seconds).\n"
	    "# TYPE mlwatch_agent_start_time_seconds gauge\n"
	    "mlwatch_agent_start_time_seconds %.3f\n",
	    started);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}

void stats_line(char *buf, size_t cap)
{
	snprintf(buf, cap,
	         "received=%llu labels=%llu sampled=%llu sent=%llu spooled=%llu replayed=%llu "
	         "dropped=%llu rejected=%llu spool_bytes=%llu spool_batches=%llu connected=%llu "
	         "inflight=%llu queue_bytes=%llu kserve_pending=%llu",
	         (unsigned long long)stats_received_get(INPUT_N),
	         (unsigned long long)stats_get(ST_LABELS_RECEIVED),
	         (unsigned long long)stats_get(ST_EVENTS_SAMPLED),
	         (unsigned long long)stats_get(ST_EVENTS_SENT),
	         (unsigned long long)stats_get(ST_EVENTS_SPOOLED),
	         (unsigned long long)stats_get(ST_EVENTS_REPLAYED),
	         (unsigned long long)stats_get(ST_EVENTS_DROPPED),
	         (unsigned long long)stats_rejected_get(REJ_N),
	         (unsigned long long)stats_get(ST_SPOOL_BYTES),
	         (unsigned long long)stats_get(ST_SPOOL_BATCHES),
	         (unsigned long long)stats_get(ST_COLLECTOR_CONNECTED),
	         (unsigned long long)stats_get(ST_INFLIGHT),
	         (unsigned long long)stats_get(ST_QUEUE_BYTES),
	         (unsigned long long)stats_get(ST_KSERVE_PENDING));
}
