/* alert_page: the read-only pages notification links point at, served by
 * mlwatchd --http (collector/http.c routes GET /alerts here, behind the
 * same request handler as /metrics, so one access check covers both):
 *
 *   /alerts                          the active alerts and the latest ones
 *   /alerts?rule=R&model=M[&feature=F]
 *                                    one alert: its rule (expression, for,
 *                                    severity, receivers), its records
 *                                    (state, value, times), the
 *                                    notifications sent for them, and for a
 *                                    per-feature rule the drifting feature's
 *                                    statistics over its latest windows
 *
 * as plain HTML, or JSON with format=json or "Accept: application/json".
 * Each request opens its own read-only connection (store STORE_RO), so it
 * never blocks the writer and holds nothing between requests. Runs on the
 * HTTP server's thread; no state of its own. Failures: the database cannot
 * be read (503), an unknown rule or model (404): a precise message either
 * way. */
#ifndef MLW_ALERT_PAGE_H
#define MLW_ALERT_PAGE_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct alert_page_query {
	const char *rule, *model, *feature; /* NULL when absent */
	bool json;
};

/* Renders the page for q. Returns the HTTP status; *body (malloc'd, caller
 * frees; NULL only when out of memory) and *ctype (static) are set. */
unsigned alert_page_render(const struct mlw_config *cfg, const char *db_path,
                           const struct alert_page_query *q, char **body, size_t *len,
                           const char **ctype);

/* The base of notification links when external_url is not set: "http://"
 * and the --http address (a wildcard host replaced by this host's name),
 * as mlwatch.conf(5) says; "" when --http is off. malloc'd, NULL when out
 * of memory. */
char *alert_page_default_base(const char *http_addr);

#endif
