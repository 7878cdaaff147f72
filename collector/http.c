/* http: see http.h. */
#include "http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "guard.h"
#include "alert_page.h"
#include "log.h"
#include "metrics.h"

struct httpd {
	struct MHD_Daemon *d;
	struct metrics *m;
	const struct guard_http *guard;
	atomic_long unauthorized;
	bool registered;
	/* Set once after start (http_serve_alerts); read by the handler. */
	_Atomic(const struct mlw_config *) cfg;
	_Atomic(const char *) db_path;
};

static void write_metrics(struct metrics_out *out, void *arg)
{
	struct httpd *h = arg;
	metrics_family(out, "mlwatch_collector_http_unauthorized_total", "counter",
	               "HTTP requests refused with 401 (missing or wrong token or client "
	               "certificate).");
	metrics_sample(out, "mlwatch_collector_http_unauthorized_total",
	               (double)atomic_load(&h->unauthorized), NULL);
}

static enum MHD_Result send_text(struct MHD_Connection *conn, unsigned status, const char *ctype,
                                 char *body, size_t len, bool owned)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(
	    len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	enum MHD_Result rc;

	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result alerts_page(struct httpd *h, struct MHD_Connection *conn)
{
	static char notyet[] = "starting\n";
	const struct mlw_config *cfg = atomic_load(&h->cfg);
	const char *db = atomic_load(&h->db_path);
	const char *fmt = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "format");
	const char *accept = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Accept");
	struct alert_page_query q = {
	    .rule = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "rule"),
	    .model = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "model"),
	    .feature = MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND, "feature"),
	    .json = (fmt && strcmp(fmt, "json") == 0) ||
	            (!fmt && accept && strstr(accept, "application/json")),
	};
	const char *ctype = "text/plain";
	char *body = NULL;
	size_t len = 0;
	unsigned status;

	if (!cfg || !db)
		return send_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", notyet,
		                 strlen(notyet), false);
	if (q.rule && !*q.rule)
		q.rule = NULL;
	if (q.model && !*q.model)
		q.model = NULL;
	if (q.feature && !*q.feature)
		q.feature = NULL;
	status = alert_page_render(cfg, db, &q, &body, &len, &ctype);
	if (!body) {
		static char oom[] = "out of memory\n";
		return send_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", oom,
		                 strlen(oom), false);
	}
	return send_text(conn, status, ctype, body, len, true);
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload_data,
                               size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	static char notfound[] = "not found\n", ok[] = "ok\n",
	            notallowed[] = "method not allowed\n";
	static char oom[] = "out of memory\n";

	/* The one check for every path (alert pages included) but /healthz,
	 * which says only "ok", for probes. */
	if (strcmp(url, "/healthz") != 0) {
		enum guard_verdict v = guard_http_check(h->guard, conn);
		if (v != GUARD_OK) {
			atomic_fetch_add(&h->unauthorized, 1);
			return guard_http_refuse(conn, v);
		}
	}
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return send_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", notallowed,
		                 strlen(notallowed), false);
	if (strcmp(url, "/metrics") == 0) {
		size_t len = 0;
		char *page = metrics_render(h->m, &len);
		if (!page)
			return send_text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", oom,
			                 strlen(oom), false);
		return send_text(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
		                 page, len, true);
	}
	if (strcmp(url, "/healthz") == 0)
		return send_text(conn, MHD_HTTP_OK, "text/plain", ok, strlen(ok), false);
	if (strcmp(url, "/alerts") == 0)
		return alerts_page(h, conn);
	return send_text(conn, MHD_HTTP_NOT_FOUND, "text/plain", notfound, strlen(notfound), false);
}

static int parse_addr(const char *addr, struct sockaddr_storage *ss, char *err, size_t errlen)
{
	char host[128];
	const char *colon, *p = addr;
	char *end;
	long port;
	size_t n;

	memset(ss, 0, sizeof(*ss));
	if (*p == '[') {
		const char *rb = strchr(p, ']');
		if (!rb || rb[1] != ':')
			goto bad;
		n = (size_t)(rb - p - 1);
		if (n >= sizeof(host))
			goto bad;
		memcpy(host, p + 1, n);
		host[n] = '\0';
		colon = rb + 1;
	} else {
		colon = strrchr(p, ':');
		if (!colon)
			goto bad;
		n = (size_t)(colon - p);
		if (n >= sizeof(host))
			goto bad;
		memcpy(host, p, n);
		host[n] = '\0';
	}
	port = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || port < 1 || port > 65535)
		goto bad;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (host[0] == '\0' || strcmp(host, "*") == 0) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;
		a->sin_family = AF_INET;
		a->sin_addr.s_addr = htonl(INADDR_ANY);
		a->sin_port = htons((uint16_t)port);
		return 0;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		return 0;
	}
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return 0;
	}
bad:
	snprintf(err, errlen, "--http %s: expected HOST:PORT (an IP address or localhost) or off",
	         addr);
	return -1;
}

int http_start(struct httpd **out, const char *addr, struct metrics *m, const struct guard_http *g,
               char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct MHD_OptionItem tls[5];
	struct httpd *h;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
	uint16_t port;

	*out = NULL;
	if (parse_addr(addr, &ss, err, errlen))
		return -1;
	h = calloc(1, sizeof(*h));
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	h->m = m;
	h->guard = g;
	flags |= guard_http_mhd_options(g, tls, 5);
	if (ss.ss_family == AF_INET6) {
		flags |= MHD_USE_IPv6;
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	h->d = MHD_start_daemon(flags, port, NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR,
	                        (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, 64u,
	                        MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_ARRAY, tls,
	                        MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "--http %s: cannot listen (%s)", addr,
		         g && g->cert ? "address in use, or --http-tls-cert and --http-tls-key are "
		                        "not a matching certificate and key?"
		                      : "address in use?");
		free(h);
		return -1;
	}
	h->registered = metrics_register(m, write_metrics, h) == 0;
	*out = h;
	return 0;
}

void http_serve_alerts(struct httpd *h, const struct mlw_config *cfg, const char *db_path)
{
	if (!h)
		return;
	atomic_store(&h->db_path, db_path);
	atomic_store(&h->cfg, cfg);
}

void http_stop(struct httpd *h)
{
	if (!h)
		return;
	if (h->registered)
		metrics_unregister(h->m, write_metrics, h);
	MHD_stop_daemon(h->d);
	free(h);
}
