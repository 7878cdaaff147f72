/* listen: the nng REP socket agents send batches to. `workers` threads each
 * own one nng context, so that many batches are in flight at once (and the
 * writer can group them into one transaction); each thread blocks in its
 * own recv -> ingest_handle -> send loop, never in an nng callback. The
 * socket is closed only after every worker has left its loop: nng 1.5
 * panics when a socket closes under a thread inside a context call.
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
/* Tells the workers to stop and joins them (a waiting worker at once, one
 * that holds a batch once it is committed and answered), then closes the
 * socket. A batch received after the stop gets no reply and is resent by its
 * agent; a reply not taken by its pipe within 5 s is cancelled likewise.
 * Returns 0, or -1 when nng did not close the socket within 2 s (logged):
 * the process must then exit without nng_fini, which would wait for it. */
int listen_stop(struct listener *l);

/* Connected agents (pipes) right now. */
long listen_connections(const struct listener *l);

#endif
