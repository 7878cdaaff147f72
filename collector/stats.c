/* stats: see stats.h. */
#include "stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "clock.h"
#include "collector.h"
#include "ddsketch.h"
#include "db.h"
#include "ingest.h"
#include "listen.h"
#include "metrics.h"
#include "ring.h"

/* Seconds of the ring the per-model gauges look at. */
#define STATS_SPAN 60

static double file_size(const char *path)
{
	struct stat sb;
	char wal[4096];
	double n = 0;

	if (stat(path, &sb) == 0)
		n += (double)sb.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &sb) == 0)
		n += (double)sb.st_size;
	return n;
}

static void counter(struct metrics_out *out, const char *name, const char *help,
                    const atomic_uint_fast64_t *v)
{
	metrics_family(out, name, "counter", help);
	metrics_sample(out, name, (double)atomic_load(v), NULL);
}

static void write_ingest(struct metrics_out *out, const struct ingest_stats *s)
{
	char le[32];
	counter(out, "mlwatch_collector_batches_total", "Batches committed (duplicates included).",
	        &s->batches);
	counter(out, "mlwatch_collector_duplicate_batches_total",
	        "Batches already committed before (answered, not stored again).", &s->duplicates);
	counter(out, "mlwatch_collector_events_total", "Sampled events stored.", &s->events);
	counter(out, "mlwatch_collector_duplicate_events_total",
	        "Events whose (model, id) was already stored within label_ttl: the first is kept.",
	        &s->duplicate_events);
	counter(out, "mlwatch_collector_labels_total", "Late labels received.", &s->labels);
	counter(out, "mlwatch_collector_labels_joined_total", "Labels joined to their event.",
	        &s->labels_joined);
	counter(out, "mlwatch_collector_labels_pending_total",
	        "Labels kept waiting for their event.", &s->labels_pending);
	counter(out, "mlwatch_collector_labels_expired_total",
	        "Pending labels dropped after label_ttl without their event.", &s->labels_expired);
	counter(out, "mlwatch_collector_summaries_total", "Per-second summaries merged.",
	        &s->summaries);
	counter(out, "mlwatch_collector_transactions_total", "SQLite transactions committed.",
	        &s->transactions);
	counter(out, "mlwatch_collector_retention_deleted_rows_total",
	        "Rows removed by retention and label expiry.", &s->retention_deleted);
	metrics_family(out, "mlwatch_collector_rejects_total", "counter",
	               "Batches or items refused, by reason.");
	for (int r = 0; r < REJ_COUNT; r++)
		metrics_sample(out, "mlwatch_collector_rejects_total",
		               (double)atomic_load(&s->rejects[r]), "reason", ingest_reject_name(r),
		               NULL);
	metrics_family(out, "mlwatch_collector_commit_seconds", "histogram",
	               "Time to store and commit one transaction.");
	for (int i = 0; i < 8; i++) {
		snprintf(le, sizeof(le), "%g", ingest_commit_bounds[i]);
		metrics_sample(out, "mlwatch_collector_commit_seconds_bucket",
		               (double)atomic_load(&s->commit_buckets[i]), "le", le, NULL);
	}
	metrics_sample(out, "mlwatch_collector_commit_seconds_bucket",
	               (double)atomic_load(&s->commit_count), "le", "+Inf", NULL);
	metrics_sample(out, "mlwatch_collector_commit_seconds_sum",
	               (double)atomic_load(&s->commit_sum_us) / 1e6, NULL);
	metrics_sample(out, "mlwatch_collector_commit_seconds_count",
	               (double)atomic_load(&s->commit_count), NULL);
}

static void write_models(struct metrics_out *out, struct ring *r)
{
	static const double qs[] = {0.5, 0.9, 0.95, 0.99, 0.999};
	static const char *const qn[] = {"p50", "p90", "p95", "p99", "p999"};
	char **names = NULL;
	size_t n = ring_models(r, &names);
	int64_t now = (int64_t)floor(clock_now());
	struct ring_stats *st = n ? calloc(n, sizeof(*st)) : NULL;

	if (n && !st)
		goto out;
	/* The last full minute: the current second is still filling. */
	for (size_t i = 0; i < n; i++)
		ring_query(r, names[i], now - STATS_SPAN, now - 1, &st[i]);
	metrics_family(out, "mlwatch_model_rps", "gauge",
	               "Requests per second over the last minute (100% of traffic).");
	for (size_t i = 0; i < n; i++)
		metrics_sample(out, "mlwatch_model_rps", (double)st[i].count / STATS_SPAN, "model",
		               names[i], NULL);
	metrics_family(out, "mlwatch_model_error_rate", "gauge",
	               "Share of requests flagged as errors over the last minute.");
	for (size_t i = 0; i < n; i++)
		metrics_sample(out, "mlwatch_model_error_rate",
		               st[i].count ? (double)st[i].errors / (double)st[i].count : 0,
		               "model", names[i], NULL);
	metrics_family(out, "mlwatch_model_latency_seconds", "gauge",
	               "Latency percentiles over the last minute (DDSketch, 1% relative error).");
	for (size_t i = 0; i < n; i++) {
		double v[5];
		if (!st[i].latency || ddsketch_quantiles(st[i].latency, qs, 5, v) != 0)
			continue;
		for (size_t k = 0; k < 5; k++)
			metrics_sample(out, "mlwatch_model_latency_seconds", v[k] / 1000.0, "model",
			               names[i], "percentile", qn[k], NULL);
	}
	metrics_family(out, "mlwatch_model_ttft_seconds", "gauge",
	               "LLM time to first token percentiles over the last minute (DDSketch).");
	for (size_t i = 0; i < n; i++) {
		double v[5];
		if (!st[i].ttft || ddsketch_quantiles(st[i].ttft, qs, 5, v) != 0)
			continue;
		for (size_t k = 0; k < 5; k++)
			metrics_sample(out, "mlwatch_model_ttft_seconds", v[k] / 1000.0, "model",
			               names[i], "percentile", qn[k], NULL);
	}
	metrics_family(out, "mlwatch_model_tpot_seconds", "gauge",
	               "LLM time per output token percentiles over the last minute (DDSketch).");
	for (size_t i = 0; i < n; i++) {
		double v[5];
		if (!st[i].tpot || ddsketch_quantiles(st[i].tpot, qs, 5, v) != 0)
			continue;
		for (size_t k = 0; k < 5; k++)
			metrics_sample(out, "mlwatch_model_tpot_seconds", v[k] / 1000.0, "model",
			               names[i], "percentile", qn[k], NULL);
	}
	metrics_family(out, "mlwatch_model_tokens_per_second", "gauge",
	               "LLM tokens per second over the last minute, by direction.");
	for (size_t i = 0; i < n; i++) {
		if (!st[i].llm)
			continue;
		metrics_sample(out, "mlwatch_model_tokens_per_second",
		               (double)st[i].input_tokens / STATS_SPAN, "model", names[i],
		               "direction", "input", NULL);
		metrics_sample(out, "mlwatch_model_tokens_per_second",
		               (double)st[i].output_tokens / STATS_SPAN, "model", names[i],
		               "direction", "output", NULL);
	}
	metrics_family(out, "mlwatch_model_finish_reason_ratio", "gauge",
	               "Share of LLM requests by finish reason over the last minute (of those "
	               "that gave one; reasons beyond the 8 first are reason=\"_other\").");
	for (size_t i = 0; i < n; i++) {
		double total = (double)st[i].finish_other;
		for (size_t f = 0; f < st[i].n_finish; f++)
			total += (double)st[i].finish[f].count;
		if (total <= 0)
			continue;
		for (size_t f = 0; f < st[i].n_finish; f++)
			metrics_sample(out, "mlwatch_model_finish_reason_ratio",
			               (double)st[i].finish[f].count / total, "model", names[i],
			               "reason", st[i].finish[f].reason, NULL);
		if (st[i].finish_other)
			metrics_sample(out, "mlwatch_model_finish_reason_ratio",
			               (double)st[i].finish_other / total, "model", names[i],
			               "reason", "_other", NULL);
	}
	metrics_family(out, "mlwatch_model_last_event_seconds", "gauge",
	               "Unix time of the newest second of traffic seen for the model.");
	for (size_t i = 0; i < n; i++)
		metrics_sample(out, "mlwatch_model_last_event_seconds", st[i].last_event, "model",
		               names[i], NULL);
out:
	for (size_t i = 0; i < n; i++) {
		if (st)
			ring_stats_free(&st[i]);
		free(names[i]);
	}
	free(st);
	free(names);
}

static void write_all(struct metrics_out *out, void *arg)
{
	struct stats_src *src = arg;

	metrics_family(out, "mlwatch_collector_start_time_seconds", "gauge",
	               "Unix time mlwatchd started.");
	metrics_sample(out, "mlwatch_collector_start_time_seconds", src->c->started, NULL);
	metrics_family(out, "mlwatch_collector_connections", "gauge", "Connected agents.");
	metrics_sample(out, "mlwatch_collector_connections", (double)listen_connections(src->lst),
	               NULL);
	metrics_family(out, "mlwatch_collector_db_bytes", "gauge",
	               "Size of the database file and its WAL (SQLite), or of the database "
	               "(PostgreSQL, measured every retention pass).");
	metrics_sample(out, "mlwatch_collector_db_bytes",
	               db_is_postgres(src->c->db_path) && src->ing
	                   ? (double)atomic_load(&ingest_get_stats(src->ing)->db_bytes)
	                   : file_size(src->c->db_path),
	               NULL);
	if (src->ing)
		write_ingest(out, ingest_get_stats(src->ing));
	write_models(out, src->c->ring);
}

int stats_register(struct stats_src *src)
{
	return metrics_register(src->c->metrics, write_all, src);
}

void stats_unregister(struct stats_src *src)
{
	metrics_unregister(src->c->metrics, write_all, src);
}
