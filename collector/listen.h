/* listen: the nng REP socket agents send batches to. `workers` threads each
 * own one nng context, so that many batches are in flight at once (and the
 * writer can group them into one transaction); each thread blocks in its
 * own recv -> ingest_handle -> send loop, never in an nng callback.
 *
 * URLs: tcp://HOST:PORT, ipc:///PATH, tls+tcp://HOST:PORT (server cert and
 * key, optional CA to verify client certificates). */
#ifndef MLW_LISTEN_H
#define MLW_LISTEN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct ingest;
struct listener;

struct listen_opts {
	const char *url;
	const char *tls_ca, *tls_cert, *tls_key; /* "" or NULL when unset */
	bool tls_verify_clients;
	bool insecure;
	bool have_token;
	size_t max_message;
	int workers;
};

/* True when url only accepts local peers: ipc://, inproc://, or tcp on a
 * loopback address (127.0.0.0/8, ::1, localhost). */
bool listen_url_is_local(const char *url);

/* The start-up rule: a non-local address needs a token or TLS, unless
 * insecure. Also checks that TLS files and the URL scheme agree. Returns 0,
 * or -1 with the reason in err. */
int listen_check(const struct listen_opts *o, char *err, size_t errlen);

/* Listens and starts the workers. Returns 0, or -1 with err. */
int listen_start(struct listener **out, const struct listen_opts *o, struct ingest *ing, char *err,
                 size_t errlen);
/* Closes the socket (in-flight batches still commit; their replies may be
 * lost and are resent by the agents) and joins the workers. */
void listen_stop(struct listener *l);

/* Connected agents (pipes) right now. */
long listen_connections(const struct listener *l);

#endif
