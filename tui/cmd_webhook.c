/* cmd_webhook: see cmd_webhook.h. */
#include "sigwait_main.h"
#include "cmd_webhook.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "guard.h"
#include "log.h"
#include "payload.h"
#include "text.h"

#define MAX_BODY (1 << 20)

/* ---- pure parts (unit-tested) ------------------------------------------------ */

const char *webhook_verify(const char *secret, const char *header, const char *body, size_t len,
                           double now)
{
	if (!secret)
		return "unchecked";
	return payload_verify(secret, header, body, len, now, WEBHOOK_TOLERANCE_S);
}

static void appendf(char **out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void appendf(char **out, const char *fmt, ...)
{
	char *add = NULL, *joined = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&add, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (!*out) {
		*out = add;
		return;
	}
	if (asprintf(&joined, "%s%s", *out, add) >= 0) {
		free(*out);
		*out = joined;
	}
	free(add);
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Values from the network: a token as-is, anything else quoted and escaped,
 * so the first line always splits on spaces. */
static const char *tok(char *buf, size_t cap, const char *s)
{
	return log_quote(buf, cap, s && *s ? s : "-");
}

struct alert_view {
	const char *status, *rule, *model, *feature, *severity;
	const char *summary, *description, *starts, *ends, *fingerprint, *url;
};

static void describe_one(const struct alert_view *a, const char *verdict, const char *format,
                         char **out)
{
	char b1[160], b2[160], b3[160], b4[300], b5[64], line[2048];

	appendf(out, "received status=%s rule=%s model=%s", tok(b1, sizeof(b1), a->status),
	        tok(b2, sizeof(b2), a->rule), tok(b3, sizeof(b3), a->model));
	if (a->feature && *a->feature)
		appendf(out, " feature=%s", tok(b4, sizeof(b4), a->feature));
	appendf(out, " severity=%s signature=%s format=%s\n", tok(b5, sizeof(b5), a->severity),
	        verdict, format);
	const char *names[] = {"summary", "description", "startsAt",
	                       "endsAt",  "fingerprint", "link"};
	const char *vals[] = {a->summary, a->description, a->starts,
	                      a->ends,    a->fingerprint, a->url};
	for (int i = 0; i < 6; i++)
		/* Alertmanager's zero time stands for "still firing". */
		if (vals[i] && *vals[i] && strncmp(vals[i], "0001-01-01", 10) != 0)
			appendf(out, "  %s: %s\n", names[i],
			        text_sanitize(line, sizeof(line), vals[i]));
}

static void view_labels(struct alert_view *v, const cJSON *alert)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(alert, "labels");
	const cJSON *an = cJSON_GetObjectItemCaseSensitive(alert, "annotations");
	v->rule = jstr(l, "alertname");
	v->model = jstr(l, "model");
	v->feature = jstr(l, "feature");
	v->severity = jstr(l, "severity");
	v->summary = jstr(an, "summary");
	v->description = jstr(an, "description");
	v->starts = jstr(alert, "startsAt");
	v->ends = jstr(alert, "endsAt");
	v->fingerprint = jstr(alert, "fingerprint");
	v->url = jstr(alert, "generatorURL");
}

int webhook_describe(const char *body, const char *verdict, char **out)
{
	cJSON *root = cJSON_ParseWithOpts(body, NULL, 1);
	const cJSON *alerts;
	int n = 0;

	if (!root)
		return -1;
	if (cJSON_IsObject(root) && cJSON_IsArray(alerts = cJSON_GetObjectItem(root, "alerts"))) {
		/* Alertmanager webhook (ours: type = webhook). */
		const cJSON *a;
		cJSON_ArrayForEach(a, alerts)
		{
			struct alert_view v = {0};
			view_labels(&v, a);
			v.status = jstr(a, "status");
			describe_one(&v, verdict, "webhook", out);
			n++;
		}
	} else if (cJSON_IsArray(root)) {
		/* Alertmanager API v2 postable alerts: endsAt only on a resolve. */
		const cJSON *a;
		cJSON_ArrayForEach(a, root)
		{
			struct alert_view v = {0};
			view_labels(&v, a);
			v.status = v.ends ? "resolved" : "firing";
			describe_one(&v, verdict, "alertmanager", out);
			n++;
		}
	} else if (cJSON_IsObject(root) && jstr(root, "event_action")) {
		const cJSON *p = cJSON_GetObjectItem(root, "payload");
		const char *act = jstr(root, "event_action");
		struct alert_view v = {0};
		v.status = strcmp(act, "resolve") == 0 ? "resolved" : "firing";
		v.rule = jstr(p, "group");
		v.model = jstr(p, "source");
		v.severity = jstr(p, "severity");
		v.summary = jstr(p, "summary");
		v.starts = jstr(p, "timestamp");
		v.fingerprint = jstr(root, "dedup_key");
		describe_one(&v, verdict, "pagerduty", out);
		n = 1;
	} else if (cJSON_IsObject(root) && jstr(root, "text")) {
		/* "[FIRING:page] rule: summary" */
		const char *text = jstr(root, "text");
		char rule[128] = "", sev[16] = "";
		struct alert_view v = {0};
		const char *colon = strchr(text, ':'), *close = strchr(text, ']');
		v.status = strncmp(text, "[RESOLVED", 9) == 0 ? "resolved" : "firing";
		if (colon && close && colon < close)
			snprintf(sev, sizeof(sev), "%.*s", (int)(close - colon - 1), colon + 1);
		if (close && close[1] == ' ') {
			const char *r = close + 2, *e = strstr(r, ": ");
			if (e)
				snprintf(rule, sizeof(rule), "%.*s", (int)(e - r), r);
		}
		v.rule = rule;
		v.severity = sev;
		v.summary = text;
		describe_one(&v, verdict, "slack", out);
		n = 1;
	} else {
		appendf(out,
		        "received status=- rule=- model=- severity=- signature=%s format=unknown\n",
		        verdict);
	}
	cJSON_Delete(root);
	return n;
}

/* ---- the server ---------------------------------------------------------------- */

struct listener {
	char *secret;
	pthread_mutex_t mu; /* one block at a time on stdout */
	unsigned long received;
};

struct upload {
	char *body;
	size_t len;
	bool too_big;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *text)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, "Content-Type", "text/plain");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *size, void **con_cls)
{
	struct listener *l = cls;
	struct upload *u = *con_cls;
	char *text = NULL;
	const char *verdict;
	int n;

	if (!u) {
		if (!(u = calloc(1, sizeof(*u))))
			return MHD_NO;
		*con_cls = u;
		return MHD_YES;
	}
	if (*size) {
		if (u->len + *size > MAX_BODY) {
			u->too_big = true;
		} else if (!u->too_big) {
			char *nb = realloc(u->body, u->len + *size + 1);
			if (!nb)
				return MHD_NO;
			u->body = nb;
			memcpy(u->body + u->len, data, *size);
			u->len += *size;
			u->body[u->len] = '\0';
		}
		*size = 0;
		return MHD_YES;
	}
	if (strcmp(method, "POST") != 0)
		return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED,
		             "mlwatch webhook-listen: POST notifications here\n");
	if (u->too_big)
		return reply(conn, MHD_HTTP_CONTENT_TOO_LARGE, "body larger than 1 MiB\n");
	if (!u->body || memchr(u->body, '\0', u->len))
		return reply(conn, MHD_HTTP_BAD_REQUEST, "empty or binary body\n");
	verdict = webhook_verify(
	    l->secret, MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Mlwatch-Signature"),
	    u->body, u->len, clock_wall()); /* signatures carry the real time */
	n = webhook_describe(u->body, verdict, &text);
	pthread_mutex_lock(&l->mu);
	if (n < 0) {
		char safe[160];
		printf("received unparseable body bytes=%zu signature=%s start=%s\n", u->len,
		       verdict, log_quote(safe, sizeof(safe), u->body));
	} else {
		fputs(text ? text : "", stdout);
		l->received += (unsigned long)n;
	}
	fflush(stdout);
	pthread_mutex_unlock(&l->mu);
	free(text);
	if (n < 0)
		return reply(conn, MHD_HTTP_BAD_REQUEST, "body is not JSON\n");
	/* A receiver with a secret refuses what it cannot trust, as a real one
	 * should: mlwatchd counts the 401 as failed for good. */
	if (strcmp(verdict, "valid") != 0 && strcmp(verdict, "unchecked") != 0) {
		char why[128];
		snprintf(why, sizeof(why), "signature %s\n", verdict);
		return reply(conn, MHD_HTTP_UNAUTHORIZED, why);
	}
	return reply(conn, MHD_HTTP_OK, "ok\n");
}

static void on_done(void *cls, struct MHD_Connection *conn, void **con_cls,
                    enum MHD_RequestTerminationCode toe)
{
	struct upload *u = *con_cls;
	if (u) {
		free(u->body);
		free(u);
		*con_cls = NULL;
	}
}

/* "HOST:PORT" (HOST an IPv4 address or a name, default 127.0.0.1). */
static int parse_listen(const char *s, struct sockaddr_in *sa, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');
	char host[256], *end;
	long port;
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *ai = NULL;

	if (!colon) {
		snprintf(err, errlen, "expected HOST:PORT, like 127.0.0.1:9099");
		return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || end == colon + 1 || port < 1 || port > 65535) {
		snprintf(err, errlen, "bad port '%.16s' (1-65535)", colon + 1);
		return -1;
	}
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if (!host[0])
		snprintf(host, sizeof(host), "127.0.0.1");
	if (getaddrinfo(host, NULL, &hints, &ai) != 0 || !ai) {
		snprintf(err, errlen, "cannot resolve '%.64s' to an IPv4 address", host);
		return -1;
	}
	memcpy(sa, ai->ai_addr, sizeof(*sa));
	sa->sin_port = htons((uint16_t)port);
	freeaddrinfo(ai);
	return 0;
}

int cmd_webhook_listen(struct mlw_config *cfg, const struct cli_result *res)
{
	const char *addr = cli_get(res, "listen"), *secret_file = cli_get(res, "secret-file");
	struct listener l = {0};
	struct sockaddr_in sa;
	struct MHD_Daemon *d = NULL;
	char err[512];
	sigset_t sigs;
	int sig, rc = 2, fd = -1, one = 1;

	(void)cfg;
	if (res->n_args > 1) {
		fprintf(stderr, "mlwatch: error: webhook-listen takes no argument (got '%.64s')\n",
		        res->args[1]);
		return 2;
	}
	if (!addr) {
		fprintf(stderr, "mlwatch: error: webhook-listen needs --listen HOST:PORT\n");
		return 2;
	}
	if (parse_listen(addr, &sa, err, sizeof(err))) {
		fprintf(stderr, "mlwatch: error: --listen: %s\n", err);
		return 2;
	}
	/* The listen rule of the daemons (guard.h): a receiver on the network
	 * checks signatures, or is told --insecure. */
	bool local = (ntohl(sa.sin_addr.s_addr) >> 24) == 127;
	bool insecure = cli_has(res, "insecure");
	if (!local && !secret_file && !insecure) {
		guard_refusal(err, sizeof(err), addr, "--listen",
		              "no --secret-file is set to check the signature of notifications",
		              "notifications");
		fprintf(stderr, "mlwatch: error: %s\n", err);
		return 2;
	}
	if (secret_file && !(l.secret = config_read_secret(secret_file, err, sizeof(err)))) {
		fprintf(stderr, "mlwatch: error: --secret-file: %s\n", err);
		return 2;
	}
	pthread_mutex_init(&l.mu, NULL);
	/* Block the signals before MHD's threads exist, then wait for them here. */
	sigwait_main_setup(&sigs);
	/* Bound here rather than by MHD, which on a busy port prints its own
	 * "Failed to bind to port 0" (its view of the SOCK_ADDR option) and
	 * loses errno: one clear error instead. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0) {
		fprintf(stderr, "mlwatch: error: --listen: cannot listen on %s: %s\n", addr,
		        strerror(errno));
		rc = 1;
		goto out;
	}
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	                     on_request, &l, MHD_OPTION_LISTEN_SOCKET, fd,
	                     MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
	                     MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
	                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "mlwatch: error: --listen: cannot serve on %s\n", addr);
		rc = 1;
		goto out;
	}
	fd = -1; /* MHD's now: MHD_stop_daemon closes it */
	fprintf(stderr, "mlwatch webhook-listen: listening on http://%s/ signature check %s%s\n",
	        addr, l.secret ? "on" : "off (no --secret-file)",
	        local ? " (loopback)"
	        : l.secret
	            ? ""
	            : " -- warning: --insecure: anyone who can reach it can post notifications");
	while (sigwait(&sigs, &sig) != 0)
		;
	MHD_stop_daemon(d);
	fprintf(stderr, "mlwatch webhook-listen: stopped after %lu alert(s)\n", l.received);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	pthread_mutex_destroy(&l.mu);
	if (l.secret) {
		memset(l.secret, 0, strlen(l.secret));
		free(l.secret);
	}
	return rc;
}
