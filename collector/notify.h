/* notify: delivers the outbox. One thread per [receiver] section, each with
 * its own database connection and curl handle, drains that receiver's
 * pending outbox rows in id order (so a resolve never overtakes its firing):
 *
 *   2xx                     delivered
 *   408, 429, 5xx, network  retried: exponential backoff with jitter (1 s,
 *                           x2, capped at 5 min); Retry-After (seconds or an
 *                           HTTP date) on 429/503 is waited out instead
 *   other 3xx/4xx           failed for good, logged with the response body
 *   older than max_age      dropped, counted and logged
 *
 * exec receivers run their command instead (collector/exec_run.c) with the
 * notification on stdin: exit 0 is delivered; another status, a signal, a
 * timeout or a command that cannot start is retried with the same backoff.
 *
 * A receiver that hangs holds only its own thread (and only up to its
 * `timeout`); ingest, evaluation and other receivers never wait for it.
 * Slack receivers send at most one message per second per URL; any receiver
 * at most one per `min_interval`.
 *
 * Threads: notify_start creates them; notify_wake (from any thread) makes
 * them look at the outbox now; notify_stop aborts transfers in flight (the
 * row stays pending and is sent after a restart) and joins them. */
#ifndef MLW_NOTIFY_H
#define MLW_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct notifier;

/* Backoff before attempt attempts+1 after attempts failures, in seconds,
 * jitter in [0.8, 1.2) from u in [0, 1): min(300, 2^(attempts-1)) * jitter,
 * never above 300. Exposed for tests. */
double notify_backoff(long attempts, double u);
/* Parses a Retry-After value (delta seconds or an HTTP date) relative to
 * now (Unix seconds). Returns seconds to wait (>= 0), or -1 if invalid. */
double notify_parse_retry_after(const char *v, double now);

/* Starts one thread per receiver of cfg, on the database at db_path (which
 * must exist: the collector creates it). Secrets (secret_file,
 * routing_key_file) are read here. Returns 0, or -1 with the reason in err. */
int notify_start(struct notifier **out, const struct mlw_config *cfg, const char *db_path,
                 char *err, size_t errlen);
/* New rows are in the outbox. */
void notify_wake(struct notifier *nf);
/* Stops and frees. NULL is a no-op. */
void notify_stop(struct notifier *nf);

struct notify_stats {
	uint64_t sent, failed, dropped, attempts;
};
size_t notify_receiver_count(const struct notifier *nf);
/* Name and counters of receiver i. */
const char *notify_receiver_stats(struct notifier *nf, size_t i, struct notify_stats *out);

#endif
