/* ingest_http: see ingest_http.h. */
#include "ingest_http.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "clock.h"
#include "guard.h"
#include "http_req.h"
#include "ingest_kserve.h"
#include "ingest_otlp.h"
#include "log.h"
#include "stats.h"
#include "text.h"
#include "vecdim.h"
#include "vector.h"

#define RETRY_AFTER "1"

struct job;

/* Parsing runs on a small worker pool, not in libmicrohttpd's threads: a
 * finished upload suspends its connection, a worker parses and submits it,
 * stores the reply and resumes the connection. Which connection lands on
 * which libmicrohttpd thread then no longer decides how many cores parse. */
struct http_server {
	struct agent *ag;
	struct MHD_Daemon *d;
	atomic_long conns;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *head, **tail;
	bool stopping;
	pthread_t workers[8];
	int n_workers;
};

/* A reply decided away from the connection (a worker), sent by
 * libmicrohttpd's thread when the connection resumes. */
struct reply {
	unsigned status;
	char *body;
	size_t len;
	const char *type;
	bool retry_after;
};

/* Where a reply goes: queued on the connection now, or kept in the request. */
struct out {
	struct MHD_Connection *c;
	struct req *q; /* non-NULL: deferred */
};

/* Per request (MHD's con_cls). */
struct req {
	enum http_route route;
	char *body;
	size_t len, cap;
	size_t held; /* bytes counted in ag->body_bytes */
	int refused; /* HTTP status already decided (413, 503), body discarded */
	const char *refusal;
	enum stat_reason reason;
	bool responded;
	bool deferred, done; /* handed to a worker; its reply is ready */
	struct reply reply;
	struct kserve_headers kh; /* read in libmicrohttpd's thread */
	const char *ctype, *cenc; /* OTLP: Content-Type, Content-Encoding */
};

struct job {
	struct MHD_Connection *c;
	struct req *q;
	struct job *next;
};

int http_parse_addr(const char *addr, struct sockaddr_storage *ss, unsigned *len, char *err,
                    size_t errlen)
{
	char host[256];
	const char *colon, *port;
	struct addrinfo hints, *res = NULL;
	int rc;

	if (addr[0] == '[') {
		const char *rb = strchr(addr, ']');
		if (!rb || rb[1] != ':') {
			snprintf(err, errlen, "'%s': expected [IPV6]:PORT", addr);
			return -1;
		}
		if ((size_t)(rb - addr - 1) >= sizeof(host))
			goto bad;
		memcpy(host, addr + 1, (size_t)(rb - addr - 1));
		host[rb - addr - 1] = '\0';
		port = rb + 2;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || (size_t)(colon - addr) >= sizeof(host))
			goto bad;
		memcpy(host, addr, (size_t)(colon - addr));
		host[colon - addr] = '\0';
		port = colon + 1;
	}
	char *end;
	errno = 0;
	long p = strtol(port, &end, 10);
	if (errno || end == port || *end || p < 0 || p > 65535) {
		snprintf(err, errlen, "'%s': port must be 0-65535", addr);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (host[0] ? 0 : AI_PASSIVE);
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, errlen, "'%s': %s", addr, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = (unsigned)res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
bad:
	snprintf(err, errlen, "'%s': expected HOST:PORT", addr);
	return -1;
}

static enum MHD_Result send_now(struct MHD_Connection *c, unsigned status, const char *type,
                                const char *body, size_t len, bool retry_after)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (retry_after)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, RETRY_AFTER);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result respond(struct out *o, unsigned status, const char *type, const char *body,
                               size_t len, bool retry_after)
{
	if (!o->q)
		return send_now(o->c, status, type, body, len, retry_after);
	struct reply *r = &o->q->reply;
	r->status = status;
	r->type = type;
	r->retry_after = retry_after;
	r->body = malloc(len + 1);
	if (!r->body) {
		r->status = MHD_HTTP_SERVICE_UNAVAILABLE;
		r->len = 0;
		return MHD_YES;
	}
	memcpy(r->body, body, len);
	r->len = len;
	return MHD_YES;
}

/* {"error": msg} plus index/field when index >= -1 and field != NULL. */
static enum MHD_Result respond_error(struct out *c, unsigned status, const char *msg, long index,
                                     const char *field, bool retry_after)
{
	cJSON *o = cJSON_CreateObject();
	char *txt = NULL, safe[256];
	enum MHD_Result ret;

	/* field echoes a name from the request: JSON must stay UTF-8 even when
	 * the name was not (or was cut inside a character). */
	if (field && !text_utf8_valid(field, strlen(field)))
		field = text_sanitize(safe, sizeof(safe), field);
	if (o) {
		cJSON_AddStringToObject(o, "error", msg);
		if (field) {
			if (index >= 0)
				cJSON_AddNumberToObject(o, "index", (double)index);
			else
				cJSON_AddNullToObject(o, "index");
			cJSON_AddStringToObject(o, "field", field);
		}
		txt = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
	}
	if (!txt)
		return respond(c, status, "application/json", "{\"error\":\"out of memory\"}", 25,
		               retry_after);
	size_t n = strlen(txt);
	char *line = malloc(n + 2);
	if (line) {
		memcpy(line, txt, n);
		line[n] = '\n';
		line[n + 1] = '\0';
	}
	ret = respond(c, status, "application/json", line ? line : txt, line ? n + 1 : n,
	              retry_after);
	free(line);
	free(txt);
	return ret;
}

static enum MHD_Result refuse(struct out *c, unsigned status, enum stat_reason why, const char *msg)
{
	stats_rejected(why, 1);
	return respond_error(c, status, msg, -1, NULL, status == MHD_HTTP_SERVICE_UNAVAILABLE);
}

static void release_body(struct http_server *h, struct req *q)
{
	if (q->held) {
		atomic_fetch_sub(&h->ag->body_bytes, q->held);
		stats_sub(ST_BODY_BYTES, q->held);
		q->held = 0;
	}
	free(q->body);
	q->body = NULL;
	q->len = q->cap = 0;
}

/* Allocates the whole body at once when Content-Length announces it (no
 * regrowth; want from http_req_content_length, 0: unknown); refusals are
 * left to take_upload. */
static void reserve_body(struct http_server *h, struct req *q, size_t want)
{
	struct agent *ag = h->ag;
	if (want == 0)
		return;
	size_t now = atomic_fetch_add(&ag->body_bytes, want) + want;
	char *nb = now <= ag->body_budget ? malloc(want) : NULL;
	if (!nb) {
		atomic_fetch_sub(&ag->body_bytes, want);
		return;
	}
	stats_add(ST_BODY_BYTES, want);
	nb[0] = '\0'; /* the body is a string even before (or without) data */
	q->held = want;
	q->body = nb;
	q->cap = want;
}

/* Appends upload data, within max_body and the shared budget. */
static void take_upload(struct http_server *h, struct req *q, const char *data, size_t n)
{
	struct agent *ag = h->ag;

	if (q->refused)
		return;
	size_t ncap;
	if (http_req_body_room(q->len, q->cap, n, ag->ac->max_body, &ncap) != 0) {
		q->refused = MHD_HTTP_CONTENT_TOO_LARGE;
		q->reason = REJ_TOO_LARGE;
		q->refusal = "request body larger than max_body";
		release_body(h, q);
		return;
	}
	if (ncap != q->cap) {
		size_t extra = ncap - q->cap;
		size_t now = atomic_fetch_add(&ag->body_bytes, extra) + extra;
		char *nb = now <= ag->body_budget ? realloc(q->body, ncap) : NULL;
		if (!nb) {
			atomic_fetch_sub(&ag->body_bytes, extra);
			q->refused = MHD_HTTP_SERVICE_UNAVAILABLE;
			q->reason = REJ_OVERLOADED;
			q->refusal = "agent busy: too many request bodies in memory; retry later";
			release_body(h, q);
			return;
		}
		stats_add(ST_BODY_BYTES, extra);
		q->held += extra;
		q->body = nb;
		q->cap = ncap;
	}
	memcpy(q->body + q->len, data, n);
	q->len += n;
	q->body[q->len] = '\0';
}

static enum MHD_Result handle_ingest(struct http_server *h, struct out *c, struct req *q)
{
	struct agent *ag = h->ag;
	struct event_batch eb;
	struct event_error err;
	enum event_body_kind kind =
	    q->route == HTTP_R_LABELS ? EVENT_BODY_LABELS : EVENT_BODY_EVENTS;
	char msg[512], out[96];
	size_t sampled = 0;
	enum MHD_Result ret;
	int rc;

	if (agent_overloaded(ag))
		return refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, REJ_OVERLOADED,
		              "agent overloaded and spool full; retry later");
	event_batch_init(&eb);
	rc = event_parse_body(q->body ? q->body : "", q->len, kind, clock_now(),
	                      (size_t)ag->ac->max_events_per_request, &eb, &err);
	release_body(h, q);
	if (rc == 0 && kind == EVENT_BODY_EVENTS)
		rc = vecdim_check(ag->vecdim, eb.events, eb.n_events, &err);
	if (rc == -1) {
		/* A vector with too many dimensions is too large (413), every
		 * other refusal a malformed request (400). */
		bool too_long = err.vector_reason == VECTOR_TOO_LONG;
		if (err.vector_reason && err.vector_reason != VECTOR_DIM)
			stats_vector_refused(err.vector_reason); /* vecdim counted its own */
		stats_rejected(err.label_only ? REJ_LABEL_ONLY
		               : too_long     ? REJ_TOO_LARGE
		                              : REJ_MALFORMED,
		               1);
		event_error_format(&err, msg, sizeof(msg));
		ret = respond_error(c, too_long ? MHD_HTTP_CONTENT_TOO_LARGE : MHD_HTTP_BAD_REQUEST,
		                    msg, err.index, err.field, false);
		goto out;
	}
	if (rc == -2) {
		stats_rejected(REJ_TOO_MANY, 1);
		ret = respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE, err.reason, -1, NULL, false);
		goto out;
	}
	if (rc != 0) {
		ret = refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, REJ_OVERLOADED,
		             "out of memory; retry later");
		goto out;
	}
	rc = agent_submit(ag, INPUT_HTTP, eb.events, eb.n_events, eb.labels, eb.n_labels, NULL,
	                  &sampled);
	if (rc == -EAGAIN) {
		ret = refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, REJ_OVERLOADED,
		             "agent overloaded and spool full; retry later");
		goto out;
	}
	if (rc != 0) {
		ret = refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, REJ_OVERLOADED,
		             "out of memory; retry later");
		goto out;
	}
	size_t n = kind == EVENT_BODY_EVENTS ? eb.n_events : eb.n_labels;
	int k = snprintf(out, sizeof(out), "{\"accepted\":%zu,\"sampled\":%zu}\n", n, sampled);
	ret = respond(c, MHD_HTTP_ACCEPTED, "application/json", out, (size_t)k, false);
out:
	event_batch_reset(&eb);
	return ret;
}

/* Seldon Core 1 names the model in ce-modelid (CloudEvents extension) or,
 * in its older logger, a plain Model-Id header. */
static const char *kserve_model_id(struct MHD_Connection *c)
{
	const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ce-modelid");
	return v ? v : MHD_lookup_connection_value(c, MHD_HEADER_KIND, "model-id");
}

static enum MHD_Result handle_kserve(struct http_server *h, struct out *c, struct req *q)
{
	struct agent *ag = h->ag;
	const struct kserve_headers *hd = &q->kh;
	struct kserve_result res;
	char out[96];
	int rc;

	if (agent_overloaded(ag))
		return refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, REJ_OVERLOADED,
		              "agent overloaded and spool full; retry later");
	rc = kserve_handle(ag->kserve, hd, q->body ? q->body : "", q->len, clock_now(), &res);
	release_body(h, q);
	if (rc == -1) {
		stats_rejected(REJ_MALFORMED, 1);
		return respond_error(c, MHD_HTTP_BAD_REQUEST, res.error, -1, res.field, false);
	}
	if (rc == -E2BIG) { /* a zip bomb, or just too big once inflated */
		stats_rejected(REJ_TOO_LARGE, 1);
		return respond_error(c, MHD_HTTP_CONTENT_TOO_LARGE, res.error, -1, res.field,
		                     false);
	}
	if (rc == -EAGAIN)
		return refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, REJ_OVERLOADED,
		              "agent overloaded and spool full; retry later");
	if (rc != 0)
		return refuse(c, MHD_HTTP_SERVICE_UNAVAILABLE, REJ_OVERLOADED,
		              "out of memory; retry later");
	int k = snprintf(out, sizeof(out), "{\"accepted\":%zu,\"sampled\":%zu}\n", res.accepted,
	                 res.sampled);
	return respond(c, MHD_HTTP_ACCEPTED, "application/json", out, (size_t)k, false);
}

/* OTLP/HTTP (ingest_otlp.h): answers as the OTLP spec says, in the
 * request's encoding: 200 with partial success, 400/413/415 with a
 * google.rpc.Status, 503 with Retry-After under pressure. */
static enum MHD_Result handle_otlp(struct http_server *h, struct out *c, struct req *q)
{
	struct agent *ag = h->ag;
	enum otlp_signal sig = q->route == HTTP_R_TRACES ? OTLP_TRACES : OTLP_LOGS;
	struct event_batch eb;
	struct otlp_reply rep;
	size_t sampled = 0;
	char *body = NULL;
	size_t len = 0;
	const char *type = "application/json";
	enum MHD_Result ret;
	int rc;

	event_batch_init(&eb);
	if (agent_overloaded(ag)) {
		stats_rejected(REJ_OVERLOADED, 1);
		memset(&rep, 0, sizeof(rep));
		rep.format = q->ctype && strstr(q->ctype, "protobuf") ? OTLP_PROTOBUF : OTLP_JSON;
		rep.status = MHD_HTTP_SERVICE_UNAVAILABLE;
		snprintf(rep.message, sizeof(rep.message), "agent overloaded; retry later");
		goto reply;
	}
	rc = otlp_decode(sig, q->ctype, q->cenc, q->body ? q->body : "", q->len, clock_now(),
	                 (size_t)ag->ac->max_body, (size_t)ag->ac->max_events_per_request, &eb,
	                 &rep);
	release_body(h, q);
	if (rc == -3) {
		rep.status = MHD_HTTP_SERVICE_UNAVAILABLE;
		snprintf(rep.message, sizeof(rep.message), "out of memory; retry later");
	}
	if (rc) {
		stats_rejected(rep.status == 413   ? REJ_TOO_LARGE
		               : rep.status == 503 ? REJ_OVERLOADED
		                                   : REJ_MALFORMED,
		               1);
		goto reply;
	}
	stats_add(ST_OTLP_REJECTED, rep.rejected);
	stats_add(ST_OTLP_IGNORED, rep.ignored);
	if (eb.n_events) {
		rc = agent_submit(ag, INPUT_OTLP, eb.events, eb.n_events, NULL, 0, NULL, &sampled);
		if (rc) {
			stats_rejected(REJ_OVERLOADED, 1);
			rep.status = MHD_HTTP_SERVICE_UNAVAILABLE;
			snprintf(rep.message, sizeof(rep.message),
			         rc == -EAGAIN ? "agent overloaded and spool full; retry later"
			                       : "out of memory; retry later");
		}
	}
reply:
	if (otlp_reply_body(sig, &rep, &body, &len, &type) != 0)
		ret = respond(c, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", "{}", 2, true);
	else
		ret = respond(c, rep.status, type, body, len, rep.status == 503);
	free(body);
	event_batch_reset(&eb);
	return ret;
}

static enum MHD_Result handle_get(struct http_server *h, struct out *c, enum http_route r)
{
	if (r == HTTP_R_HEALTH)
		return respond(c, MHD_HTTP_OK, "text/plain; charset=utf-8", "ok\n", 3, false);
	size_t len = 0;
	char *txt = stats_render(h->ag->started, &len);
	if (!txt)
		return respond_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory", -1, NULL,
		                     true);
	enum MHD_Result ret =
	    respond(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", txt, len, false);
	free(txt);
	return ret;
}

/* Hands a finished upload to a worker; false when the pool is stopping
 * (the caller handles the request itself). */
static bool defer(struct http_server *h, struct MHD_Connection *c, struct req *q)
{
	struct job *j;

	if (h->n_workers == 0 || !(j = malloc(sizeof(*j))))
		return false;
	j->c = c;
	j->q = q;
	j->next = NULL;
	pthread_mutex_lock(&h->mu);
	if (h->stopping) {
		pthread_mutex_unlock(&h->mu);
		free(j);
		return false;
	}
	q->deferred = true;
	MHD_suspend_connection(c);
	*h->tail = j;
	h->tail = &j->next;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->mu);
	return true;
}

static void *worker_main(void *arg)
{
	struct http_server *h = arg;

	pthread_mutex_lock(&h->mu);
	for (;;) {
		while (!h->head && !h->stopping)
			pthread_cond_wait(&h->cv, &h->mu);
		struct job *j = h->head;
		if (!j)
			break; /* stopping and nothing left */
		h->head = j->next;
		if (!h->head)
			h->tail = &h->head;
		pthread_mutex_unlock(&h->mu);
		struct out o = {j->c, j->q};
		if (j->q->route == HTTP_R_KSERVE)
			handle_kserve(h, &o, j->q);
		else if (j->q->route == HTTP_R_TRACES || j->q->route == HTTP_R_LOGS)
			handle_otlp(h, &o, j->q);
		else
			handle_ingest(h, &o, j->q);
		j->q->done = true;
		MHD_resume_connection(j->c);
		free(j);
		pthread_mutex_lock(&h->mu);
	}
	pthread_mutex_unlock(&h->mu);
	return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	struct http_server *h = cls;
	struct agent *ag = h->ag;
	struct req *q = *con_cls;
	struct out now = {c, NULL};

	if (!q) {
		enum http_route r = http_req_route(url);
		bool get;
		unsigned bad = http_req_method(r, method, &get);

		if (atomic_load(&h->conns) > ag->ac->max_connections)
			return refuse(&now, MHD_HTTP_SERVICE_UNAVAILABLE, REJ_CONNECTIONS,
			              "too many connections; retry later");
		/* One check for every path but /healthz (which says only "ok",
		 * for probes): token and client certificate, before anything
		 * of the request is read or routed. */
		if (r != HTTP_R_HEALTH) {
			enum guard_verdict v = guard_http_check(&ag->http_guard, c);
			if (v != GUARD_OK) {
				stats_rejected(REJ_UNAUTHORIZED, 1);
				return guard_http_refuse(c, v);
			}
		}
		if (bad == MHD_HTTP_NOT_FOUND)
			return refuse(&now, MHD_HTTP_NOT_FOUND, REJ_BAD_REQUEST,
			              "no such endpoint (try POST /v1/events)");
		if (bad) {
			struct MHD_Response *resp;
			const char *msg = "{\"error\":\"method not allowed\"}\n";
			stats_rejected(REJ_BAD_REQUEST, 1);
			resp = MHD_create_response_from_buffer(strlen(msg), (void *)msg,
			                                       MHD_RESPMEM_PERSISTENT);
			if (!resp)
				return MHD_NO;
			MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, http_req_allow(r));
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
			                        "application/json");
			enum MHD_Result ret =
			    MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
			MHD_destroy_response(resp);
			return ret;
		}
		if (get)
			return handle_get(h, &now, r);
		const char *cl =
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		size_t reserve;
		if (http_req_content_length(cl, ag->ac->max_body, &reserve) != 0)
			return refuse(&now, MHD_HTTP_CONTENT_TOO_LARGE, REJ_TOO_LARGE,
			              "request body larger than max_body");
		q = calloc(1, sizeof(*q));
		if (!q)
			return MHD_NO;
		q->route = r;
		*con_cls = q;
		reserve_body(h, q, reserve);
		return MHD_YES;
	}
	if (*upload_size > 0) {
		take_upload(h, q, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->done) {
		/* Back from a worker: send what it decided. */
		q->done = false;
		return send_now(c, q->reply.status, q->reply.type,
		                q->reply.body ? q->reply.body : "", q->reply.len,
		                q->reply.retry_after);
	}
	if (q->responded)
		return MHD_YES;
	q->responded = true;
	if (q->refused)
		return refuse(&now, (unsigned)q->refused, q->reason, q->refusal);
	if (q->route == HTTP_R_KSERVE) {
		q->kh = (struct kserve_headers){
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ce-id"),
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ce-type"),
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ce-time"),
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ce-inferenceservicename"),
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ce-source"),
		    MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ce-specversion"),
		    .recorded_time =
		        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ce-recordedtime"),
		    .ns = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ce-namespace"),
		    .component = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ce-component"),
		    .request_id = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "ce-requestid"),
		    .model_id = kserve_model_id(c),
		    .content_encoding =
		        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "content-encoding"),
		    .header_length = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
		                                                 "inference-header-content-length"),
		};
	}
	if (q->route == HTTP_R_TRACES || q->route == HTTP_R_LOGS) {
		q->ctype = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		q->cenc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
	}
	if (defer(h, c, q))
		return MHD_YES;
	if (q->route == HTTP_R_TRACES || q->route == HTTP_R_LOGS)
		return handle_otlp(h, &now, q);
	return q->route == HTTP_R_KSERVE ? handle_kserve(h, &now, q) : handle_ingest(h, &now, q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	struct http_server *h = cls;
	struct req *q = *con_cls;

	if (!q)
		return;
	release_body(h, q);
	free(q->reply.body);
	free(q);
	*con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
	struct http_server *h = cls;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		atomic_fetch_add(&h->conns, 1);
		stats_add(ST_HTTP_CONNECTIONS, 1);
	} else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		atomic_fetch_sub(&h->conns, 1);
		stats_sub(ST_HTTP_CONNECTIONS, 1);
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[512], q[600];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_debug("http", "libmicrohttpd msg=%s", log_quote(q, sizeof(q), buf));
}

struct http_server *http_start(struct agent *ag, const char *addr, char *err, size_t errlen)
{
	struct http_server *h = calloc(1, sizeof(*h));
	struct sockaddr_storage ss;
	unsigned sslen;
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;

	/* before any request: the OTLP attributes the config takes as features */
	otlp_set_feature_map(ag->ac->otlp_feature.v, ag->ac->otlp_feature.n);
	if (!h) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	h->ag = ag;
	pthread_mutex_init(&h->mu, NULL);
	pthread_cond_init(&h->cv, NULL);
	h->tail = &h->head;
	if (http_parse_addr(addr, &ss, &sslen, err, errlen)) {
		http_stop(h);
		return NULL;
	}
	if (MHD_is_feature_supported(MHD_FEATURE_EPOLL))
		flags |= MHD_USE_EPOLL;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* The hard connection cap sits above max_connections so that clients
	 * past the soft limit get a 503 with Retry-After instead of a reset. */
	unsigned hard = (unsigned)ag->ac->max_connections + 64;
	struct MHD_OptionItem tls[5];
	flags |= guard_http_mhd_options(&ag->http_guard, tls, 5);
	h->d = MHD_start_daemon(
	    flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_THREAD_POOL_SIZE, 2u, MHD_OPTION_CONNECTION_LIMIT, hard,
	    MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	if (!h->d) {
		snprintf(err, errlen, "--http %s: cannot listen (%s)", addr,
		         ag->http_guard.cert
		             ? "address in use or not local, or --http-tls-cert and "
		               "--http-tls-key are not a matching certificate and key?"
		             : "address in use or not local?");
		http_stop(h);
		return NULL;
	}
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int want = cpus < 1 ? 1 : cpus > 8 ? 8 : (int)cpus;
	for (int i = 0; i < want; i++) {
		if (pthread_create(&h->workers[i], NULL, worker_main, h) != 0)
			break;
		pthread_setname_np(h->workers[i], "mlw-http");
		h->n_workers++;
	}
	return h;
}

void http_stop(struct http_server *h)
{
	if (!h)
		return;
	/* Workers finish (and resume) every deferred request before the
	 * daemon stops; requests finishing after that are handled inline. */
	pthread_mutex_lock(&h->mu);
	h->stopping = true;
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
	for (int i = 0; i < h->n_workers; i++)
		pthread_join(h->workers[i], NULL);
	if (h->d)
		MHD_stop_daemon(h->d);
	pthread_mutex_destroy(&h->mu);
	pthread_cond_destroy(&h->cv);
	free(h);
}
