/* collector: what mlwatchd's main() owns and shares with the modules that
 * run inside it (ingest, analysis, alerting). main.c fills it before any
 * module starts and tears it down after they all stopped; modules read the
 * fields and never free them.
 *
 *   cfg      the configuration (file + flags); read-only after start
 *   db_path  the SQLite file; a module opens its own connection with
 *            store_open(..., STORE_RW, ...) (one writer at a time is
 *            serialised by SQLite's busy_timeout; keep transactions short)
 *   ring     the in-memory 1-second ring (ring.h), fed after every commit
 *   metrics  the /metrics registry (metrics.h): register a writer to add
 *            lines to the page, unregister it before you stop
 *
 * Alerting plugs in with alerting_start(struct collector *) after the
 * listener is up and alerting_stop() before the collector is torn down. */
#ifndef MLW_COLLECTOR_H
#define MLW_COLLECTOR_H

#include <stdatomic.h>

#include "config.h"
#include "metrics.h"
#include "ring.h"

/* Seconds of event time the ring keeps per model: the longest `over DUR`
 * an alert rule can look back. */
#define COLLECTOR_RING_SECONDS 3600

struct collector {
	const struct mlw_config *cfg;
	const char *db_path;
	struct ring *ring;
	struct metrics *metrics;
	double started;       /* Unix seconds */
	atomic_bool stopping; /* set on SIGTERM/SIGINT */
};

#endif
