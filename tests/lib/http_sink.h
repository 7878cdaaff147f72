/* http_sink: a programmable HTTP receiver for tests, in-process on
 * 127.0.0.1 (libmicrohttpd, a thread per connection so that a hung reply
 * holds only its own connection). It records every request (method, path,
 * headers, body, arrival time) and answers from a script: a sequence of
 * replies, the last one repeating (200 "ok" when there is no script).
 *
 * Ownership: sink_start returns a sink freed by sink_stop, which releases
 * hung replies first. Requests returned by sink_request are owned by the
 * sink and stay valid until sink_stop. Thread-safe. */
#ifndef MLW_HTTP_SINK_H
#define MLW_HTTP_SINK_H

#include <stdbool.h>
#include <stddef.h>

struct sink_reply {
	int status;              /* 0 = 200 */
	const char *retry_after; /* Retry-After header, or NULL */
	const char *body;        /* NULL = "ok" */
	double delay_s;          /* before answering */
	bool hang;               /* never answer (until sink_stop or sink_release) */
};

struct sink_request {
	double at; /* h_now() when the request was complete */
	char method[16];
	char path[512]; /* with the query string */
	char *headers;  /* "name: value\n" lines, names lower-cased */
	char *body;     /* NUL-terminated */
	size_t len;
	int status; /* what the sink answered (0 while it has not) */
};

struct http_sink;

/* Listens on 127.0.0.1:port (0 = any free port). NULL on failure. */
struct http_sink *sink_start(int port);
void sink_stop(struct http_sink *s);
int sink_port(const struct http_sink *s);
/* "http://127.0.0.1:PORT" + path; malloc'd. */
char *sink_url(const struct http_sink *s, const char *path);

/* Replaces the script; the n replies are copied. Requests already answered
 * are unaffected; the next request gets replies[0]. */
void sink_script(struct http_sink *s, const struct sink_reply *replies, size_t n);
/* Lets every hung reply answer 200 now. */
void sink_release(struct http_sink *s);

size_t sink_count(struct http_sink *s);
/* Request i (0-based) or NULL. */
const struct sink_request *sink_request(struct http_sink *s, size_t i);
/* Waits until at least n requests arrived; false on timeout. */
bool sink_wait(struct http_sink *s, size_t n, double timeout_s);
/* The value of header name (case-insensitive) of r, copied into buf; NULL
 * when absent. */
const char *sink_header(const struct sink_request *r, const char *name, char *buf, size_t cap);

#endif
