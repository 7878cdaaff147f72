/* ingest_dgram: datagram input for clients that must never block:
 * `unix:PATH` (AF_UNIX SOCK_DGRAM) and `udp://HOST:PORT`. One event, or
 * NDJSON lines, per datagram. The receive buffer is made as large as the
 * kernel allows; the kernel's own drops (SO_RXQ_OVFL) are counted, and so
 * is every datagram that is not valid (malformed, truncated, overloaded).
 *
 * One reader thread serves every socket. */
#ifndef MLW_AGENT_INGEST_DGRAM_H
#define MLW_AGENT_INGEST_DGRAM_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct agent;
struct dgram;

/* Binds every URL (so a bad one is an error at start). A unix socket is
 * created mode 0660 and checked to be no wider (guard.h); when it is, and
 * the agent is not --insecure, *refused is set. Returns NULL with the
 * reason in err. */
struct dgram *dgram_open(struct agent *ag, const struct strlist *urls, bool *refused, char *err,
                         size_t errlen);
int dgram_start(struct dgram *d, char *err, size_t errlen);
/* Stops the reader thread (no more submissions). NULL is a no-op. */
void dgram_stop(struct dgram *d);
/* Closes the sockets, removes unix socket files, frees. NULL is a no-op. */
void dgram_close(struct dgram *d);

#endif
