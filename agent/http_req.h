/* http_req: the decisions ingest_http.c takes on a request before and
 * while its body arrives, kept pure (no libmicrohttpd, no agent) so they
 * can be unit-tested and fuzzed (tests/fuzz/fuzz_http.c): the route of a
 * URL, which methods a route takes, what Content-Length says, and how the
 * body buffer grows as uploads (chunked or not) arrive within max_body.
 *
 * Owns no memory; no threads; failures are the HTTP statuses returned. */
#ifndef MLW_AGENT_HTTP_REQ_H
#define MLW_AGENT_HTTP_REQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_route {
	HTTP_R_EVENTS,
	HTTP_R_LABELS,
	HTTP_R_KSERVE,
	HTTP_R_HEALTH,
	HTTP_R_METRICS,
	HTTP_R_TRACES,
	HTTP_R_LOGS,
	HTTP_R_NONE
};

/* The endpoint of an exact path (no query string, no trailing slash). */
enum http_route http_req_route(const char *url);

/* 0 when route takes method (GET/HEAD for /healthz and /metrics, POST for
 * the rest; *get tells which), 404 for HTTP_R_NONE, 405 otherwise (the
 * Allow header is http_req_allow). */
unsigned http_req_method(enum http_route r, const char *method, bool *get);
const char *http_req_allow(enum http_route r);

/* Content-Length (NULL: none). Returns 413 when it announces more than
 * max_body, else 0 with *reserve = the buffer to allocate up front (length
 * + 1 for the terminating NUL), or 0 when it is absent, zero or not a
 * number (the body then grows as it comes). */
unsigned http_req_content_length(const char *cl, uint64_t max_body, size_t *reserve);

/* n more bytes arrive for a body holding len bytes in a buffer of cap.
 * Returns 413 when len + n passes max_body; else 0 with *ncap = the
 * capacity needed for len + n + 1 bytes: cap when they fit, else doubling
 * from cap (16 KiB when 0), at most max_body + 1. */
unsigned http_req_body_room(size_t len, size_t cap, size_t n, uint64_t max_body, size_t *ncap);

#endif
