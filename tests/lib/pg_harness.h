/* pg_harness: a throw-away PostgreSQL cluster for integration tests (issue
 * 16, item 7). pg_cluster_start runs `initdb` and `pg_ctl start` from the
 * Debian server package (/usr/lib/postgresql/<N>/bin, or $MLWATCH_PG_BINDIR)
 * in a fresh temporary directory. Under root both run as the `postgres` user
 * through runuser(1), since PostgreSQL refuses to run as root; the directory
 * is then owned by postgres. The server listens on a unix socket in that
 * directory and on 127.0.0.1:<free port>; a role and a database `mlwatch`
 * with a random password are created, and both connection URIs returned.
 *
 * Cleanup cannot depend on the test reaching its end (a failed assertion or a
 * crash ends the test process): pg_cluster_start forks a small reaper process
 * that waits on a pipe whose only writer is the test process. When that end
 * closes — pg_cluster_destroy, or the test process dying in any way — the
 * reaper stops the server (`pg_ctl stop -m immediate`, then SIGKILL of the
 * postmaster if still there) and removes the directory.
 *
 * Threads: none; one cluster per struct, used by one thread. Every wait is
 * bounded (times multiplied by h_slow()). Failures fill why with what failed
 * and the last lines of the server's or tool's output. */
#ifndef MLW_PG_HARNESS_H
#define MLW_PG_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct pg_cluster {
	char *dir;             /* temp dir: data/, the socket, logs (malloc'd) */
	char bindir[256];      /* where initdb, pg_ctl, postgres are */
	int port;              /* TCP port on 127.0.0.1, also the socket's */
	char password[33];     /* of role mlwatch, random hex */
	char uri[512];         /* postgresql://mlwatch:PW@127.0.0.1:PORT/mlwatch */
	char uri_socket[1024]; /* same role and database over the unix socket */
	char admin[1024];      /* libpq conninfo of the superuser, over the socket */
	bool as_postgres;      /* tools run via runuser -u postgres */
	bool running;          /* the server was started and not stopped since */
	pid_t reaper;          /* cleans up when reaper_fd closes */
	int reaper_fd;         /* write end of the reaper's pipe */
};

/* Result of pg_cluster_start other than 0. */
enum {
	PG_UNAVAILABLE = -1, /* no server binaries / no postgres user: skip */
	PG_FAILED = -2,      /* installed, but initdb or the start failed */
};

/* Creates and starts a cluster. Returns 0; or PG_UNAVAILABLE / PG_FAILED with
 * why filled (one line, precise) and nothing left behind. */
int pg_cluster_start(struct pg_cluster *c, char *why, size_t whylen);

/* Stops the server and removes everything; safe on a zeroed struct and
 * twice. Waits for the reaper (bounded). */
void pg_cluster_destroy(struct pg_cluster *c);

/* Stops only the server (mode "fast" or "immediate"), keeping the data, for
 * tests of a restart mid-stream; pg_cluster_server_start starts it again on
 * the same port. Both return 0 or -1 with why filled. */
int pg_cluster_server_stop(struct pg_cluster *c, const char *mode, char *why, size_t whylen);
int pg_cluster_server_start(struct pg_cluster *c, char *why, size_t whylen);

/* Pid of the postmaster from data/postmaster.pid, or -1. */
pid_t pg_cluster_postmaster_pid(const struct pg_cluster *c);
/* True while pid runs (a zombie does not count: an orphaned postmaster is
 * reaped by init, which in a container may never happen). */
bool pg_pid_alive(pid_t pid);

/* Runs sql (one or more statements) as the superuser in database db (NULL:
 * "mlwatch"). Returns 0 or -1 with why filled with the server's message. */
int pg_cluster_exec(const struct pg_cluster *c, const char *db, const char *sql, char *why,
                    size_t whylen);

/* Runs a query returning one integer (first row, first column) as the
 * superuser in db; *out set. Returns 0 or -1 with why filled. */
int pg_cluster_query_ll(const struct pg_cluster *c, const char *db, const char *sql, long long *out,
                        char *why, size_t whylen);

/* Creates one more database `name` owned by mlwatch ([a-z0-9_], at most 48
 * characters) and writes its TCP URI to uri. Returns 0 or -1 with why. */
int pg_cluster_createdb(const struct pg_cluster *c, const char *name, char *uri, size_t urilen,
                        char *why, size_t whylen);

/* For Criterion tests: starts *c or skips the test with the reason (a
 * visible SKIP line; scripts/run-tests.sh fails on it unless the skip is
 * listed in tests/skips-allowed.txt, and PostgreSQL tests are not). */
#define PG_CLUSTER_START_OR_SKIP(c)                                                    \
	do {                                                                           \
		char pg_why_[768];                                                     \
		int pg_rc_ = pg_cluster_start((c), pg_why_, sizeof(pg_why_));          \
		if (pg_rc_ == PG_UNAVAILABLE)                                          \
			cr_skip_test("PostgreSQL not available: %s", pg_why_);         \
		else if (pg_rc_ != 0)                                                  \
			cr_skip_test("PostgreSQL cluster did not start: %s", pg_why_); \
	} while (0)

#endif
