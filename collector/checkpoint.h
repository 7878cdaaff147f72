/* checkpoint: SQLite WAL checkpoints off the writer thread (issue 18).
 *
 * With SQLite's default auto-checkpoint the connection that commits copies
 * the write-ahead log back into the database file whenever the log passed
 * 1,000 pages: on mlwatchd that is the writer thread, the one serial step
 * every batch waits for, and the copy was about a third of its commit time
 * (0.3-0.4 us of ~4.5 us per event in bench_collector). This module owns a
 * thread with its own connection that runs the checkpoints instead:
 *  - checkpoint_attach turns the writer connection's auto-checkpoint off
 *    and installs a WAL hook: after each commit, a log past
 *    CHECKPOINT_KICK_FRAMES wakes the thread (a flag and a condition
 *    variable: the commit never waits on it);
 *  - the thread runs a PASSIVE checkpoint, which copies what is committed
 *    without taking the write lock, so the writer goes on committing;
 *  - a PASSIVE checkpoint that overlaps commits cannot finish, and SQLite
 *    starts the log over only after one that did: under a steady stream of
 *    commits the log would grow without bound. So the hook itself
 *    checkpoints once the log passed CHECKPOINT_CAP_FRAMES (what the
 *    thread copied already is not copied again: this is the short rest),
 *    and the log restarts from its beginning at the next commit. The log
 *    file therefore stays below about CAP pages plus one transaction.
 *
 * Threads: the hook runs on the writer thread inside its commit; the
 * checkpoint thread only touches its own connection. Failures: a busy
 * database (a reader holding an old snapshot: the dashboard, sqlite3(1)) only means
 * less was copied, the next kick tries again; other errors are logged once
 * a minute and counted. PostgreSQL stores have no WAL of ours: attach does
 * nothing there. */
#ifndef MLW_CHECKPOINT_H
#define MLW_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

struct store;

#define CHECKPOINT_KICK_FRAMES 1000  /* SQLite's own auto-checkpoint point */
#define CHECKPOINT_CAP_FRAMES  16384 /* 64 MiB of 4 KiB pages */

struct checkpointer;

/* Opens the thread's connection to path and starts it. Returns 0, or -1
 * with the reason in err. */
int checkpoint_start(struct checkpointer **out, const char *path, char *err, size_t errlen);

/* Moves writer's checkpoints to cp (writer: the writer's store, used only
 * from its thread from now on). Returns 0; 1 when writer is not SQLite
 * (nothing changed). */
int checkpoint_attach(struct checkpointer *cp, struct store *writer);

/* Counters for tests and the stop log. */
struct checkpoint_stats {
	uint64_t runs;   /* checkpoints the thread ran */
	uint64_t capped; /* checkpoints the writer ran at the cap */
	uint64_t frames; /* log frames copied by the thread */
	uint64_t errors; /* checkpoints that failed (busy excluded) */
	int64_t max_log; /* the largest log seen after a commit, frames */
};
void checkpoint_stats(struct checkpointer *cp, struct checkpoint_stats *out);

/* Stops the thread (after the writer stopped committing: detach first by
 * closing the writer's store) and frees cp; NULL is fine. */
void checkpoint_stop(struct checkpointer *cp);

#endif
