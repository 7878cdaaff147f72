/* ingest_http: the agent's HTTP endpoint (libmicrohttpd): POST /v1/events,
 * POST /v1/labels (one object, a JSON array or NDJSON; chunked bodies),
 * POST /v1/kserve (CloudEvents binary mode), GET /healthz, GET /metrics.
 *
 * Limits: max_body (413, also for chunked bodies), max_events_per_request
 * (413), max_connections (503 + Retry-After), a shared budget for bodies
 * held in memory (503 + Retry-After); every refusal is counted by reason.
 * Requests are all-or-nothing: a 400 keeps nothing of the request.
 *
 * The decisions taken before and while a body arrives (route, methods,
 * Content-Length, body growth within max_body) are http_req's (pure,
 * fuzzed by tests/fuzz/fuzz_http.c).
 *
 * Threads: libmicrohttpd runs its own pool; handlers call agent_submit. */
#ifndef MLW_AGENT_INGEST_HTTP_H
#define MLW_AGENT_INGEST_HTTP_H

#include <stddef.h>

struct agent;
struct http_server;

/* addr is "HOST:PORT" ("127.0.0.1:7071", "[::1]:7071", ":7071" = all
 * interfaces). Returns NULL with the reason in err. */
struct http_server *http_start(struct agent *ag, const char *addr, char *err, size_t errlen);
/* Stops accepting, finishes running handlers, frees. NULL is a no-op. */
void http_stop(struct http_server *h);

/* Parses "HOST:PORT" into a socket address. Returns 0 or -1 (err). */
struct sockaddr_storage;
int http_parse_addr(const char *addr, struct sockaddr_storage *ss, unsigned *len, char *err,
                    size_t errlen);

#endif
