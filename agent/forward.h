/* forward: delivers encoded batches to the collectors over nng REQ/REP with
 * `inflight` requests outstanding (one nng_ctx + aio each). Several
 * collectors (--collector repeated) are dialers of one REQ socket: nng sends
 * each request to the next connected collector that is ready (round robin),
 * and when a connection ends it sends the requests that were waiting on it
 * again to another one; a request unanswered for `resend_ms` (a hung
 * collector) is sent again too, possibly elsewhere. A batch stored by two
 * collectors of one store is a duplicate the store refuses on (agent_id,
 * seq). A batch is done
 * only when the collector's Reply (OK) arrives; BUSY or a failure sends it
 * again after a backoff. Batches that cannot be sent soon enough (not
 * connected, collector slow, memory queue full) go to the spool, which is
 * replayed in order before newer batches once the collector answers.
 *
 * Order: every spooled batch is older than every batch in the memory
 * queue, and failed batches (older than anything not yet sent) go first.
 *
 * Threads: one forwarder thread owns the spool, the retry list and the
 * contexts; nng aio callbacks only post results to it. forward_enqueue
 * and forward_overloaded may be called from any thread. */
#ifndef MLW_AGENT_FORWARD_H
#define MLW_AGENT_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "obatch.h"
#include "spool.h"

#define FORWARD_MAX_COLLECTORS 16

struct forward_config {
	const char *url; /* tcp://, ipc://, tls+tcp://; used when n_urls == 0 */
	/* The collectors (borrowed), 1 to FORWARD_MAX_COLLECTORS of them. */
	const char *const *urls;
	size_t n_urls;
	const char *tls_ca, *tls_cert, *tls_key; /* NULL or "" when unused */
	const char *tls_server_name;             /* NULL or "": the URL's host */
	int inflight;
	int64_t resend_ms;    /* NNG_OPT_REQ_RESENDTIME */
	size_t queue_max;     /* encoded bytes held in memory before spilling */
	double spool_after_s; /* a batch not sent within this goes to the spool */
	uint64_t first_seq;   /* first seq the batcher of this run will use */
	/* The token of this run (borrowed, may be NULL): batches replayed from
	 * the spool were encoded with the token of the run that spooled them,
	 * so this one is appended to them when they are sent. */
	const uint8_t *token;
	size_t token_len;
};

/* Called from the forwarder thread with the tail marks of batches that are
 * safe (acknowledged, spooled or dropped and counted), in seq order and
 * only once every earlier batch of this run is safe too. */
typedef void (*forward_done_fn)(void *arg, const struct tail_mark *marks, size_t n);

struct forward;

/* spool is borrowed (may be NULL: then batches wait in memory). Returns
 * NULL with the reason in err. */
struct forward *forward_new(const struct forward_config *cfg, struct spool *spool,
                            forward_done_fn done, void *done_arg, char *err, size_t errlen);
/* Opens the socket, starts dialing (non-blocking) and the thread. */
int forward_start(struct forward *f, char *err, size_t errlen);
/* Takes ownership of b. Never blocks on the network. */
void forward_enqueue(struct forward *f, struct obatch *b);
/* True when the memory queue is past its hard cap (spool failing): inputs
 * should refuse new data (HTTP 503) rather than grow memory. */
bool forward_overloaded(const struct forward *f);
/* True while at least one collector is connected. */
bool forward_connected(const struct forward *f);
/* The collectors' URLs, comma-separated (for log lines). */
const char *forward_urls(const struct forward *f);
/* How many of the collectors are connected now. */
int forward_collectors_connected(const struct forward *f);
/* Sends what is in memory for up to drain_s seconds, spools the rest, stops
 * the thread and closes the socket. */
void forward_stop(struct forward *f, double drain_s);
void forward_free(struct forward *f);

#endif
