/* stats: the collector's own lines on /metrics: ingest counters, commit
 * latency, connections, database size, and per-model traffic gauges (rps,
 * error rate, latency quantiles over the last minute of the ring). */
#ifndef MLW_STATS_H
#define MLW_STATS_H

struct collector;
struct ingest;
struct listener;

struct stats_src {
	struct collector *c;
	struct ingest *ing;
	struct listener *lst;
};

/* Registers the writer; src must outlive the registration. */
int stats_register(struct stats_src *src);
void stats_unregister(struct stats_src *src);

#endif
