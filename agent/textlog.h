/* textlog: the request lines of model servers that log timing only, read by
 * the tail input (`--tail PATH --format torchserve|ray_serve`). It owns the
 * parsing of one line into an event; ingest_tail owns files and positions.
 *
 * TorchServe (logs/access_log.log, log4j "%d{ISO8601} - %m"):
 *   2018-10-15 13:56:18,976 [INFO ] BackendWorker-9000 ACCESS_LOG -
 *   /127.0.0.1:64003 "POST /predictions/resnet-18 HTTP/1.1" 200 118
 * gives an event: model from the path (/predictions/M[/V], /v1/models/M:
 * predict|explain, /v2/models/M[/versions/V]/infer; V is the version),
 * latency = the last number (ms), error = status >= 400. Access lines of
 * other paths (ping, management), the [METRICS] handler step timings of
 * model_log / model_metrics.log (parts of a request the access line
 * counts) and ts_metrics.log's host counters are not requests: ignored.
 *
 * Ray Serve (/tmp/ray/session_latest/logs/serve/, text or JSON encoding):
 *   (ServeReplica:app:SayHello pid=71162) INFO 2022-08-02 16:17:02,501
 *   SayHello SayHello#kKGBoa replica.py:482 - HANDLE __call__ OK 0.3ms
 * a replica's request line ("... OK|ERROR|<HTTP status> <N>ms" at the end)
 * gives an event: model = the deployment, latency N ms, error = ERROR or a
 * status >= 400; the JSON encoding's deployment, request_id (the id) and
 * message work the same. The proxy's access line (no deployment: the same
 * request as the replica's) and user log lines are ignored.
 *
 * Timestamps have no offset: read in tail_timezone (bentoml_set_timezone).
 * Pure functions on one line; no state, no threads. */
#ifndef MLW_AGENT_TEXTLOG_H
#define MLW_AGENT_TEXTLOG_H

#include <stddef.h>

#include "event.h"

enum textlog_kind { TEXTLOG_TORCHSERVE, TEXTLOG_RAY_SERVE };

/* Appends the event of one line to eb. Returns 0 (an event), 1 (not a
 * request line: ignored), -1 malformed (err filled), -3 out of memory. */
int textlog_line(enum textlog_kind kind, const char *line, size_t len, double now,
                 struct event_batch *eb, struct event_error *err);

#endif
