/* leader: elects exactly one alert evaluator among the mlwatchd sharing one
 * PostgreSQL store (issue 16, item 4), and fences a former leader out.
 *
 * Election: a dedicated libpq connection tries pg_try_advisory_lock(key)
 * every retry_s. The winner, in one transaction, creates the table `leader`
 * if needed and increments its fencing epoch, recording its node name:
 *
 *   leader(id = 1, epoch, node, since, heartbeat)
 *
 * The lock lives as long as that session. The session is the lease: it is
 * opened with idle_session_timeout = lease_s, and the leader runs a
 * heartbeat (UPDATE ... WHERE epoch = mine) every heartbeat_s, so a leader
 * that stops running (SIGSTOP, a VM stall, a partition) has its session
 * ended by the server after lease_s and the lock passes to another node. A
 * leader killed outright loses its session at once (the kernel closes the
 * socket), so another takes over within retry_s. A heartbeat that fails
 * (connection lost, server restarted) or finds another epoch steps down at
 * once: is_leader turns false before the connection is even retried.
 *
 * Fencing: in-memory leadership can be stale (a process paused between its
 * check and its write). Every writer transaction that changes alert state
 * or enqueues notifications calls leader_fence_check first, on its own
 * connection and inside its own transaction: it reads the epoch with
 * SELECT ... FOR SHARE, so a takeover (an UPDATE of that row) waits for the
 * writers that passed the check to commit, and writers after it see the new
 * epoch and are refused. Writer connections should set
 * idle_in_transaction_session_timeout (leader_writer_options) so that a
 * writer paused inside its transaction cannot hold a takeover back for
 * longer than the lease.
 *
 * Threads: one election thread per struct leader owns the dedicated
 * connection; leader_is_leader / leader_epoch / leader_node read atomics
 * and may be called from any thread; leader_step_down from any thread.
 * Failures: a server away or a wrong password is logged (once per outage)
 * and retried every retry_s; the conninfo (which may hold a password) is
 * never logged. */
#ifndef MLW_LEADER_H
#define MLW_LEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

/* The advisory lock key when none is given: "mlwatch" in ASCII. */
#define LEADER_DEFAULT_KEY 0x6d6c7761746368LL

struct leader_config {
	const char *conninfo; /* postgresql:// URI or key=value conninfo */
	const char *node;     /* this node's name; NULL or "": HOST:PID */
	int64_t key;          /* advisory lock key; 0: LEADER_DEFAULT_KEY */
	double retry_s;       /* candidate's retry interval; 0: 0.5 */
	double heartbeat_s;   /* leader's heartbeat interval; 0: lease_s / 5 */
	double lease_s;       /* a silent leader's session ends after; 0: 10 */
	/* Called from the election thread on every change (may be NULL). */
	void (*on_change)(void *arg, bool leader, int64_t epoch);
	void *on_change_arg;
};

struct leader;

/* Copies cfg. Returns NULL with the reason in err (bad values, memory). */
struct leader *leader_new(const struct leader_config *cfg, char *err, size_t errlen);
/* Starts the election thread. Returns 0 or -1 with err. */
int leader_start(struct leader *l, char *err, size_t errlen);
/* Stops the thread and closes the connection (a leader's lock is released
 * with its session); safe on NULL. */
void leader_free(struct leader *l);

bool leader_is_leader(const struct leader *l);
/* The epoch this node won last (0 before it ever led). */
int64_t leader_epoch(const struct leader *l);
const char *leader_node(const struct leader *l);
/* Elections won by this node since leader_start. */
uint64_t leader_terms(const struct leader *l);

/* Gives up leadership now (a writer was fenced): is_leader turns false, the
 * session (and with it the lock) is closed by the election thread, which
 * then runs as a candidate again. why is logged. */
void leader_step_down(struct leader *l, const char *why);

/* For a writer transaction already begun on conn: 0 when the stored epoch
 * is still epoch (the row is then share-locked until the transaction
 * ends), 1 when another node took over or there is no leader row (the
 * caller rolls back and calls leader_step_down), -1 on a database error.
 * err says which (stored epoch, or the server's message). */
int leader_fence_check(PGconn *conn, int64_t epoch, char *err, size_t errlen);

/* The libpq "options" value a writer connection should use with this lease:
 * "-c idle_in_transaction_session_timeout=<ms>". */
void leader_writer_options(double lease_s, char *buf, size_t cap);

/* The current leader as stored (for `status --json` and /metrics). */
struct leader_info {
	int64_t epoch; /* 0 when no node ever led */
	char node[128];
	double since, heartbeat; /* Unix seconds */
};
/* 0 with *out filled (epoch 0 when there is no leader table or row yet),
 * -1 on a database error with err. */
int leader_read(PGconn *conn, struct leader_info *out, char *err, size_t errlen);

#endif
