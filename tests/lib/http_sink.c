/* http_sink: see http_sink.h. */
#include "http_sink.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "harness.h"

#define MAX_BODY (4 << 20)

struct script_entry {
	int status;
	char *retry_after, *body;
	double delay_s;
	bool hang;
};

struct http_sink {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;
	unsigned release_gen;
	struct script_entry *script;
	size_t n_script, next;
	struct sink_request **req;
	size_t n_req, cap_req;
};

struct pending {
	char *body;
	size_t len;
	bool too_big;
	char *headers;
	size_t hlen;
};

static void script_clear(struct http_sink *s)
{
	for (size_t i = 0; i < s->n_script; i++) {
		free(s->script[i].retry_after);
		free(s->script[i].body);
	}
	free(s->script);
	s->script = NULL;
	s->n_script = 0;
	s->next = 0;
}

void sink_script(struct http_sink *s, const struct sink_reply *replies, size_t n)
{
	pthread_mutex_lock(&s->mu);
	script_clear(s);
	s->script = calloc(n ? n : 1, sizeof(*s->script));
	for (size_t i = 0; s->script && i < n; i++) {
		s->script[i].status = replies[i].status ? replies[i].status : 200;
		s->script[i].retry_after =
		    replies[i].retry_after ? strdup(replies[i].retry_after) : NULL;
		s->script[i].body = strdup(replies[i].body ? replies[i].body : "ok");
		s->script[i].delay_s = replies[i].delay_s;
		s->script[i].hang = replies[i].hang;
		s->n_script = i + 1;
	}
	pthread_mutex_unlock(&s->mu);
}

void sink_release(struct http_sink *s)
{
	pthread_mutex_lock(&s->mu);
	s->release_gen++;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result on_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
	struct pending *p = cls;
	size_t need = strlen(key) + strlen(value) + 4;
	char *n = realloc(p->headers, p->hlen + need + 1);
	if (!n)
		return MHD_NO;
	p->headers = n;
	for (const char *k = key; *k; k++)
		p->headers[p->hlen++] = (char)tolower((unsigned char)*k);
	p->hlen += (size_t)snprintf(p->headers + p->hlen, need + 1, ": %s\n", value);
	return MHD_YES;
}

struct qs {
	char buf[400];
	size_t len;
};

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
	struct qs *q = cls;
	if (q->len < sizeof(q->buf))
		q->len += (size_t)snprintf(q->buf + q->len, sizeof(q->buf) - q->len, "%c%s=%s",
		                           q->len ? '&' : '?', key, value ? value : "");
	if (q->len >= sizeof(q->buf))
		q->len = sizeof(q->buf) - 1;
	return MHD_YES;
}

/* Waits until deadline (h_now) or a release/stop. Returns when woken. */
static void wait_until(struct http_sink *s, double deadline, bool forever)
{
	unsigned gen;
	pthread_mutex_lock(&s->mu);
	gen = s->release_gen;
	while (!s->stopping && s->release_gen == gen) {
		double left = deadline - h_now();
		if (!forever && left <= 0)
			break;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		double w = forever ? 0.2 : (left > 0.2 ? 0.2 : left);
		ts.tv_nsec += (long)(w * 1e9);
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	}
	pthread_mutex_unlock(&s->mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	struct http_sink *s = cls;
	struct pending *p = *con_cls;
	struct sink_request *r;
	struct script_entry e = {200, NULL, NULL, 0, false};
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t idx;

	if (!p) {
		if (!(p = calloc(1, sizeof(*p))))
			return MHD_NO;
		*con_cls = p;
		return MHD_YES;
	}
	if (*upload_size) {
		if (p->len + *upload_size > MAX_BODY) {
			p->too_big = true;
		} else {
			char *nb = realloc(p->body, p->len + *upload_size + 1);
			if (!nb)
				return MHD_NO;
			p->body = nb;
			memcpy(p->body + p->len, upload, *upload_size);
			p->len += *upload_size;
			p->body[p->len] = '\0';
		}
		*upload_size = 0;
		return MHD_YES;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return MHD_NO;
	r->at = h_now();
	snprintf(r->method, sizeof(r->method), "%s", method);
	{
		struct qs q = {"", 0};
		/* MHD splits the query string off; put it back for the record. */
		MHD_get_connection_values(conn, MHD_HEADER_KIND, on_header, p);
		MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_arg, &q);
		snprintf(r->path, sizeof(r->path), "%s%s", url, q.buf);
	}
	r->headers = p->headers ? p->headers : strdup("");
	p->headers = NULL;
	r->body = p->body ? p->body : strdup("");
	r->len = p->len;
	p->body = NULL;

	pthread_mutex_lock(&s->mu);
	if (s->n_req == s->cap_req) {
		size_t nc = s->cap_req ? 2 * s->cap_req : 64;
		struct sink_request **nr = realloc(s->req, nc * sizeof(*nr));
		if (nr) {
			s->req = nr;
			s->cap_req = nc;
		}
	}
	if (s->n_req < s->cap_req)
		s->req[s->n_req++] = r;
	idx = s->next;
	if (s->n_script) {
		const struct script_entry *se =
		    &s->script[idx < s->n_script ? idx : s->n_script - 1];
		e.status = se->status;
		e.delay_s = se->delay_s;
		e.hang = se->hang;
		e.retry_after = se->retry_after ? strdup(se->retry_after) : NULL;
		e.body = se->body ? strdup(se->body) : NULL;
		s->next++;
	}
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);

	if (e.hang)
		wait_until(s, 0, true);
	else if (e.delay_s > 0)
		wait_until(s, h_now() + e.delay_s, false);
	if (e.hang)
		e.status = 200;
	const char *body = e.body ? e.body : "ok";
	resp = MHD_create_response_from_buffer(strlen(body), (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp) {
		free(e.body);
		free(e.retry_after);
		return MHD_NO;
	}
	if (e.retry_after)
		MHD_add_response_header(resp, "Retry-After", e.retry_after);
	MHD_add_response_header(resp, "Content-Type", "text/plain");
	pthread_mutex_lock(&s->mu);
	r->status = e.status;
	pthread_mutex_unlock(&s->mu);
	ret = MHD_queue_response(conn, (unsigned)e.status, resp);
	MHD_destroy_response(resp);
	free(e.body);
	free(e.retry_after);
	return ret;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct pending *p = *con_cls;
	if (p) {
		free(p->body);
		free(p->headers);
		free(p);
		*con_cls = NULL;
	}
}

struct http_sink *sink_start(int port)
{
	struct http_sink *s = calloc(1, sizeof(*s));
	struct sockaddr_in a = {.sin_family = AF_INET};
	const union MHD_DaemonInfo *info;

	if (!s)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
	                            MHD_USE_ERROR_LOG,
	                        (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
	                        (struct sockaddr *)&a, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
	                        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60, MHD_OPTION_END);
	if (!s->d) {
		pthread_cond_destroy(&s->cv);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = info ? info->port : port;
	return s;
}

void sink_stop(struct http_sink *s)
{
	if (!s)
		return;
	pthread_mutex_lock(&s->mu);
	s->stopping = true;
	pthread_cond_broadcast(&s->cv);
	pthread_mutex_unlock(&s->mu);
	MHD_stop_daemon(s->d);
	for (size_t i = 0; i < s->n_req; i++) {
		free(s->req[i]->headers);
		free(s->req[i]->body);
		free(s->req[i]);
	}
	free(s->req);
	script_clear(s);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mu);
	free(s);
}

int sink_port(const struct http_sink *s)
{
	return s->port;
}

char *sink_url(const struct http_sink *s, const char *path)
{
	char *u;
	if (asprintf(&u, "http://127.0.0.1:%d%s", s->port, path ? path : "") < 0)
		return NULL;
	return u;
}

size_t sink_count(struct http_sink *s)
{
	size_t n;
	pthread_mutex_lock(&s->mu);
	n = s->n_req;
	pthread_mutex_unlock(&s->mu);
	return n;
}

const struct sink_request *sink_request(struct http_sink *s, size_t i)
{
	const struct sink_request *r = NULL;
	pthread_mutex_lock(&s->mu);
	if (i < s->n_req)
		r = s->req[i];
	pthread_mutex_unlock(&s->mu);
	return r;
}

bool sink_wait(struct http_sink *s, size_t n, double timeout_s)
{
	double end = h_now() + timeout_s;
	bool ok;

	pthread_mutex_lock(&s->mu);
	while (s->n_req < n && h_now() < end) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000 * 1000;
		ts.tv_sec += ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&s->cv, &s->mu, &ts);
	}
	ok = s->n_req >= n;
	pthread_mutex_unlock(&s->mu);
	return ok;
}

const char *sink_header(const struct sink_request *r, const char *name, char *buf, size_t cap)
{
	size_t n = strlen(name);
	for (const char *p = r->headers; p && *p;) {
		const char *eol = strchr(p, '\n');
		size_t ll = eol ? (size_t)(eol - p) : strlen(p);
		if (ll > n + 1 && strncasecmp(p, name, n) == 0 && p[n] == ':') {
			const char *v = p + n + 1;
			while (*v == ' ')
				v++;
			snprintf(buf, cap, "%.*s", (int)(ll - (size_t)(v - p)), v);
			return buf;
		}
		p = eol ? eol + 1 : p + ll;
	}
	return NULL;
}
