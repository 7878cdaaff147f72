/* http: mlwatchd's small HTTP server (libmicrohttpd, one internal polling
 * thread): GET /metrics renders the metrics registry, GET /healthz answers
 * "ok", GET /alerts serves the read-only alert pages that notification links
 * point at (alert_page.h: it reads the database on this thread).
 *
 * Every path but /healthz passes one check at the handler's entry (guard.h:
 * bearer token, client certificate); refusals are 401 and counted in
 * mlwatch_collector_http_unauthorized_total. HTTPS when the guard has a
 * certificate. */
#ifndef MLW_HTTP_H
#define MLW_HTTP_H

#include <stddef.h>

struct metrics;
struct httpd;
struct guard_http;
struct mlw_config;

/* Parses "HOST:PORT" ("127.0.0.1:7072", "[::1]:7072", ":7072" = all
 * interfaces) and listens; g (may be NULL: no check) must outlive the
 * server. Returns 0, or -1 with err. */
int http_start(struct httpd **out, const char *addr, struct metrics *m, const struct guard_http *g,
               char *err, size_t errlen);
void http_stop(struct httpd *h);
/* Serves /alerts from the database at db_path with the rules of cfg (both
 * borrowed until http_stop). Until called, /alerts answers 503. */
void http_serve_alerts(struct httpd *h, const struct mlw_config *cfg, const char *db_path);

#endif
