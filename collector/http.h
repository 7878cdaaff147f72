/* http: mlwatchd's small HTTP server (libmicrohttpd, one internal polling
 * thread): GET /metrics renders the metrics registry, GET /healthz answers
 * "ok". Nothing here touches the database. */
#ifndef MLW_HTTP_H
#define MLW_HTTP_H

#include <stddef.h>

struct metrics;
struct httpd;

/* Parses "HOST:PORT" ("127.0.0.1:7072", "[::1]:7072", ":7072" = all
 * interfaces) and listens. Returns 0, or -1 with err. */
int http_start(struct httpd **out, const char *addr, struct metrics *m, char *err, size_t errlen);
void http_stop(struct httpd *h);

#endif
