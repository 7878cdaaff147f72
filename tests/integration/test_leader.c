/* Leader election and fencing on a real PostgreSQL (collector/leader.c,
 * issue 16 item 4), with two nodes (tests/integration/helper_leader_node,
 * each a stale-as-possible evaluator: it keeps writing with the epoch it
 * won until the fence refuses):
 *   - one leader at a time; kill -9 of the leader: the other takes over
 *     within 2 s (printed) with the next epoch;
 *   - SIGSTOP of the leader past its lease: the other takes over; after
 *     SIGCONT the paused node's write is refused by the fence (nothing of
 *     its epoch is committed after the takeover) and it steps down;
 *   - the server stopped under a leader: it steps down at once; the server
 *     back: a leader again, with a newer epoch.
 * The lease is 2 s here (10 s by default): the property (a paused leader's
 * session ends after the lease, and its writes are fenced) does not depend
 * on its length. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "harness.h"
#include "pg_harness.h"

#define LEASE "2"

static struct pg_cluster pg;
static struct h_proc nodes[2];
static char *dir;

static void fini(void)
{
	for (int i = 0; i < 2; i++)
		if (nodes[i].pid > 0) {
			kill(nodes[i].pid, SIGCONT);
			h_stop(&nodes[i], SIGTERM, 5);
		}
	pg_cluster_destroy(&pg);
	if (dir) {
		h_rmtree(dir);
		free(dir);
		dir = NULL;
	}
}

/* Each start has a log of its own (a restarted node's starts at zero). */
static void start_node(int i, const char *name)
{
	static int starts;
	char log[600];
	char *bin = h_bin("tests/integration/helper_leader_node");
	char *argv[] = {bin, pg.uri, (char *)name, LEASE, NULL};

	snprintf(log, sizeof(log), "%s/%s-%d.log", dir, name, ++starts);
	cr_assert_eq(h_spawn(&nodes[i], argv, log, NULL), 0);
	free(bin);
}

/* Occurrences of needle in node i's log. */
static int count(int i, const char *needle)
{
	int n = 0;
	char *s = h_read_file(nodes[i].log, NULL);
	for (char *p = s; p && (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(s);
	return n;
}

static bool wait_count(int i, const char *needle, int n, double timeout_s)
{
	double end = h_now() + timeout_s * h_slow();
	while (h_now() < end) {
		if (count(i, needle) >= n)
			return true;
		h_sleep(0.02);
	}
	if (count(i, needle) >= n)
		return true;
	/* The log is removed with the test's directory: show it now. */
	char *s = h_read_file(nodes[i].log, NULL);
	int st = 0;
	pid_t r = nodes[i].pid > 0 ? waitpid(nodes[i].pid, &st, WNOHANG) : -1;
	fprintf(stderr, "leader: waited for %d x '%s' in %s (node %s, status 0x%x):\n%s\n", n,
	        needle, nodes[i].log, r == 0 ? "running" : "gone", st, s ? s : "(no log)");
	if (r == nodes[i].pid)
		nodes[i].pid = 0;
	free(s);
	return false;
}

/* SIGTERM to the running nodes: each exits 0 (under ASan: without leaks). */
static void stop_nodes_cleanly(void)
{
	for (int i = 0; i < 2; i++)
		if (nodes[i].pid > 0) {
			int rc = h_stop(&nodes[i], SIGTERM, 10 * h_slow());
			cr_assert_eq(rc, 0, "node %d exited %d, see %s", i, rc, nodes[i].log);
		}
}

static long long q(const char *sql)
{
	char err[512];
	long long v = -1;
	cr_assert_eq(pg_cluster_query_ll(&pg, NULL, sql, &v, err, sizeof(err)), 0, "%s", err);
	return v;
}

static void setup_cluster(void)
{
	char err[512];
	PG_CLUSTER_START_OR_SKIP(&pg);
	dir = h_tmpdir("leader");
	cr_assert_not_null(dir);
	cr_assert_eq(pg_cluster_exec(&pg, NULL,
	                             "CREATE TABLE notifications (node text NOT NULL, epoch bigint "
	                             "NOT NULL, at timestamptz NOT NULL DEFAULT clock_timestamp());"
	                             "ALTER TABLE notifications OWNER TO mlwatch",
	                             err, sizeof(err)),
	             0, "%s", err);
}

Test(leader, kill9_takeover_then_sigstop_is_fenced_and_steps_down, .fini = fini, .timeout = 180)
{
	char sql[200];

	setup_cluster();
	start_node(0, "a");
	cr_assert(wait_count(0, "LEADER node=a epoch=1", 1, 15), "a elected, see %s", nodes[0].log);
	start_node(1, "b");
	cr_assert(wait_count(0, "WROTE", 3, 10), "the leader writes");
	/* b is a candidate meanwhile: one leader only. */
	h_sleep(1.0);
	cr_assert_eq(count(1, "LEADER"), 0, "b must not lead while a does");
	cr_assert_eq(q("SELECT count(DISTINCT node) FROM notifications"), 1);

	/* kill -9 of the leader: b takes over within 2 s. */
	double t_kill = h_now();
	cr_assert_eq(h_stop(&nodes[0], SIGKILL, 5), 128 + SIGKILL);
	cr_assert(wait_count(1, "LEADER node=b epoch=2", 1, 5), "b elected, see %s", nodes[1].log);
	double takeover = h_now() - t_kill;
	printf("leader: takeover after kill -9 of the leader: %.2f s\n", takeover);
	cr_assert_leq(takeover, 2.0 * h_slow(), "takeover took %.2f s", takeover);
	cr_assert(wait_count(1, "WROTE epoch=2", 1, 5));

	/* a again, as a candidate; then b paused past its lease. */
	start_node(0, "a");
	h_sleep(0.5);
	cr_assert_eq(count(0, "LEADER"), 0, "a waits while b leads");
	double t_stop = h_now();
	cr_assert_eq(kill(nodes[1].pid, SIGSTOP), 0);
	cr_assert(wait_count(0, "LEADER node=a epoch=3", 1, 15),
	          "a takes over from the paused b, see %s", nodes[0].log);
	printf("leader: takeover from a paused leader (lease " LEASE " s): %.2f s\n",
	       h_now() - t_stop);
	long long b_rows = q("SELECT count(*) FROM notifications WHERE epoch = 2");
	cr_assert_gt(b_rows, 0);
	cr_assert(wait_count(0, "WROTE epoch=3", 2, 5), "the new leader writes");

	/* b resumes: its next write is fenced and it steps down. */
	cr_assert_eq(kill(nodes[1].pid, SIGCONT), 0);
	cr_assert(wait_count(1, "FENCED epoch=2", 1, 10), "b's stale write refused, see %s",
	          nodes[1].log);
	cr_assert(wait_count(1, "FOLLOWER node=b", 1, 10), "b stepped down, see %s", nodes[1].log);
	h_sleep(0.5);
	cr_assert_eq(q("SELECT count(*) FROM notifications WHERE epoch = 2"), b_rows,
	             "nothing of b's epoch committed after the takeover");
	cr_assert_eq(count(1, "LEADER"), 1, "b did not lead again");
	cr_assert_eq(q("SELECT epoch FROM leader WHERE id = 1"), 3);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM leader WHERE node = 'a'");
	cr_assert_eq(q(sql), 1);
	/* Every notification row belongs to the epoch that was current: epochs
	 * 1, 2, 3 only, each from one node. */
	cr_assert_eq(q("SELECT count(*) FROM (SELECT epoch FROM notifications GROUP BY epoch "
	               "HAVING count(DISTINCT node) > 1) x"),
	             0);
	stop_nodes_cleanly();
}

Test(leader, server_restart_steps_down_then_reelects, .fini = fini, .timeout = 180)
{
	char err[512];

	setup_cluster();
	start_node(0, "a");
	cr_assert(wait_count(0, "LEADER node=a epoch=1", 1, 15), "see %s", nodes[0].log);
	double t = h_now();
	cr_assert_eq(pg_cluster_server_stop(&pg, "immediate", err, sizeof(err)), 0, "%s", err);
	/* The heartbeat (lease / 5 = 0.4 s) finds the session gone. */
	cr_assert(wait_count(0, "FOLLOWER node=a", 1, 5), "a stepped down, see %s", nodes[0].log);
	printf("leader: stepped down %.2f s after the server stopped\n", h_now() - t);
	cr_assert_eq(pg_cluster_server_start(&pg, err, sizeof(err)), 0, "%s", err);
	cr_assert(wait_count(0, "LEADER node=a epoch=2", 1, 15), "re-elected, see %s",
	          nodes[0].log);
	stop_nodes_cleanly();
}
