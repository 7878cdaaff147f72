/* agent: the running mlwatch-agent: owns every component (sampler,
 * batcher, forwarder, spool, inputs), starts them in order, runs the
 * signal/tick loop and shuts down gracefully (inputs first, then a last
 * batch, then delivery or spooling of everything in memory).
 *
 * Inputs call agent_submit from their own threads; everything it touches
 * is thread-safe. */
#ifndef MLW_AGENT_AGENT_H
#define MLW_AGENT_AGENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "event.h"
#include "guard.h"
#include "obatch.h"
#include "stats.h"
#include "wire.h"

struct sampler;
struct seqgen;
struct batcher;
struct forward;
struct spool;
struct kserve;
struct tailer;
struct dgram;
struct http_server;
struct vecdim;

struct agent {
	const struct mlw_config *cfg;
	const struct agent_config *ac;
	char agent_id[WIRE_AGENT_ID_MAX + 1];
	char spool_dir[4096];
	char *token;                  /* shared secret for the collector, or NULL */
	struct guard_http http_guard; /* token and HTTPS required of HTTP clients */
	double started;
	size_t body_budget; /* bytes of HTTP bodies held at once */
	atomic_size_t body_bytes;

	struct sampler *sampler;
	struct vecdim *vecdim; /* vector dimensions fixed per model and feature */
	struct seqgen *seq;
	struct batcher *batcher;
	struct spool *spool;
	struct forward *fwd;
	struct kserve *kserve;
	struct tailer *tail;
	struct dgram *dgram;
	struct http_server *http;
	char http_addr[256]; /* actually bound, for logs */
};

/* The listen rule (guard.h) on the configured addresses, before anything
 * is opened: a non-loopback --http needs a token or HTTPS, a non-loopback
 * udp:// datagram input needs --insecure. Returns 0, or -1 with the one
 * line saying what to add (the caller exits 2). */
int agent_check_listeners(const struct agent_config *ac, char *err, size_t errlen);

/* Builds every component from cfg (borrowed for the agent's lifetime).
 * Returns 0, -1 with a one-line reason in err, or -2 when a listener was
 * refused by the listen rule (a unix socket wider than 0660). */
int agent_init(struct agent *ag, const struct mlw_config *cfg, char *err, size_t errlen);
/* Starts inputs and delivery, logs "agent ready", runs until SIGTERM or
 * SIGINT, then shuts down. Returns the exit status. */
int agent_run(struct agent *ag);
void agent_fini(struct agent *ag);

/* Counts n events of input in as received and hands events and labels to
 * the batcher. Returns 0, -EAGAIN when the agent is overloaded (nothing
 * taken; the caller answers 503 or counts a drop), -ENOMEM. */
int agent_submit(struct agent *ag, enum stat_input in, const struct event *ev, size_t n_ev,
                 const struct label *lb, size_t n_lb, const struct tail_mark *mark,
                 size_t *sampled);
bool agent_overloaded(const struct agent *ag);

#endif
