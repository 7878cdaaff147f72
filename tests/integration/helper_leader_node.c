/* helper_leader_node: one node of the leader election (collector/leader.c)
 * for tests/integration/test_leader.c, standing in for an mlwatchd's alert
 * evaluator.
 *
 *   helper_leader_node CONNINFO NODE LEASE_S
 *
 * It runs the election and, from the moment it is first elected, acts as
 * the most stale evaluator possible: every 100 ms it "enqueues a
 * notification" (INSERT INTO notifications) with the epoch it won, inside a
 * transaction guarded by leader_fence_check, whether or not it still
 * believes it leads. Only the fence can stop it; when the fence refuses, it
 * rolls back and steps down, then waits to be elected again.
 *
 * Lines on stdout (t = Unix seconds):
 *   t=... LEADER node=N epoch=E        elected
 *   t=... FOLLOWER node=N              no longer leader (any cause)
 *   t=... WROTE epoch=E n=K            the K-th notification committed
 *   t=... FENCED epoch=E why=...       a write refused by the fence
 * SIGTERM: stops the election (the session and lock go) and exits 0. */
#include <libpq-fe.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "leader.h"

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void on_change(void *arg, bool is_leader, int64_t epoch)
{
	const char *node = arg;
	if (is_leader)
		printf("t=%.3f LEADER node=%s epoch=%lld\n", clock_now(), node, (long long)epoch);
	else
		printf("t=%.3f FOLLOWER node=%s\n", clock_now(), node);
	fflush(stdout);
}

static PGconn *writer_connect(const char *conninfo, double lease_s)
{
	char opts[128];
	leader_writer_options(lease_s, opts, sizeof(opts));
	const char *const keys[] = {"dbname", "connect_timeout", "options", NULL};
	const char *const vals[] = {conninfo, "3", opts, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		PQfinish(c);
		return NULL;
	}
	return c;
}

/* One guarded write with epoch; 0 written, 1 fenced (why filled), -1 error. */
static int guarded_write(PGconn *w, int64_t epoch, const char *node, char *why, size_t cap)
{
	char ep[32];
	const char *const p[2] = {node, ep};
	PGresult *r = PQexec(w, "BEGIN");
	int rc;

	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(why, cap, "%s", PQerrorMessage(w));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	rc = leader_fence_check(w, epoch, why, cap);
	if (rc != 0) {
		PQclear(PQexec(w, "ROLLBACK"));
		return rc;
	}
	snprintf(ep, sizeof(ep), "%lld", (long long)epoch);
	r = PQexecParams(w, "INSERT INTO notifications (node, epoch) VALUES ($1, $2::bigint)", 2,
	                 NULL, p, NULL, NULL, 0);
	rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc != 0)
		snprintf(why, cap, "%s", PQerrorMessage(w));
	PQclear(r);
	r = PQexec(w, rc == 0 ? "COMMIT" : "ROLLBACK");
	if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK) {
		snprintf(why, cap, "%s", PQerrorMessage(w));
		rc = -1;
	}
	PQclear(r);
	return rc;
}

int main(int argc, char **argv)
{
	char err[300];
	struct leader *l;
	PGconn *w = NULL;
	int64_t epoch = 0; /* the epoch this stale evaluator writes with */
	long written = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: helper_leader_node CONNINFO NODE LEASE_S\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	struct leader_config cfg = {.conninfo = argv[1],
	                            .node = argv[2],
	                            .lease_s = strtod(argv[3], NULL),
	                            .on_change = on_change,
	                            .on_change_arg = argv[2]};
	l = leader_new(&cfg, err, sizeof(err));
	if (!l) {
		fprintf(stderr, "helper_leader_node: %s\n", err);
		return 2;
	}
	if (leader_start(l, err, sizeof(err)) != 0) {
		fprintf(stderr, "helper_leader_node: %s\n", err);
		leader_free(l);
		return 1;
	}
	while (!stop) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
		if (epoch == 0 && leader_is_leader(l))
			epoch = leader_epoch(l);
		if (epoch == 0)
			continue;
		if (!w && !(w = writer_connect(argv[1], cfg.lease_s)))
			continue;
		int rc = guarded_write(w, epoch, argv[2], err, sizeof(err));
		if (rc == 0) {
			printf("t=%.3f WROTE epoch=%lld n=%ld\n", clock_now(), (long long)epoch,
			       ++written);
		} else if (rc == 1) {
			printf("t=%.3f FENCED epoch=%lld why=%s\n", clock_now(), (long long)epoch,
			       err);
			leader_step_down(l, err);
			epoch = 0;
		} else if (PQstatus(w) != CONNECTION_OK) {
			PQfinish(w); /* reconnect on the next round */
			w = NULL;
		}
	}
	PQfinish(w);
	leader_free(l);
	return 0;
}
