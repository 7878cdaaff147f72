/* The PostgreSQL test cluster (tests/lib/pg_harness, issue 16 item 7): it
 * starts a real server reachable over TCP and the unix socket with the
 * test role's password (and not without it), keeps committed rows across a
 * server restart, and leaves nothing behind: neither after
 * pg_cluster_destroy nor when the test process dies without cleaning up. */
#include <criterion/criterion.h>
#include <libpq-fe.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"
#include "pg_harness.h"

static struct pg_cluster pg;

static void pg_fini(void)
{
	pg_cluster_destroy(&pg);
}

/* Connects as the test role; NULL on failure with the message in err. */
static PGconn *role_connect(const char *uri, char *err, size_t errlen)
{
	PGconn *c = PQconnectdb(uri);
	if (PQstatus(c) != CONNECTION_OK) {
		snprintf(err, errlen, "%s", c ? PQerrorMessage(c) : "out of memory");
		PQfinish(c);
		return NULL;
	}
	return c;
}

static bool dir_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0;
}

Test(pg_harness, role_connects_over_tcp_and_socket_with_its_password, .fini = pg_fini,
     .timeout = 120)
{
	char err[512];
	PGconn *c;
	PGresult *r;
	struct stat st;

	PG_CLUSTER_START_OR_SKIP(&pg);
	cr_assert(strncmp(pg.uri, "postgresql://mlwatch:", 21) == 0, "uri %s", pg.uri);
	cr_assert(pg.port > 0);
	cr_assert(stat(pg.dir, &st) == 0);
	if (geteuid() == 0)
		cr_assert(st.st_uid != 0, "the cluster directory belongs to postgres, not root");

	const char *uris[2] = {pg.uri, pg.uri_socket};
	for (int i = 0; i < 2; i++) {
		c = role_connect(uris[i], err, sizeof(err));
		cr_assert(c, "connect %s: %s", uris[i], err);
		r = PQexec(
		    c, i == 0 ? "CREATE TABLE t(x int); INSERT INTO t VALUES (1);"
		                "SELECT current_user, count(*) FROM t"
		              : "INSERT INTO t VALUES (1); SELECT current_user, count(*) FROM t");
		cr_assert_eq(PQresultStatus(r), PGRES_TUPLES_OK, "%s", PQerrorMessage(c));
		cr_assert_str_eq(PQgetvalue(r, 0, 0), "mlwatch");
		cr_assert_eq(atoi(PQgetvalue(r, 0, 1)), i + 1);
		PQclear(r);
		PQfinish(c);
	}

	/* A wrong password is refused, over TCP and over the socket. */
	char bad[640];
	snprintf(bad, sizeof(bad), "postgresql://mlwatch:wrong@127.0.0.1:%d/mlwatch", pg.port);
	c = role_connect(bad, err, sizeof(err));
	cr_assert_null(c, "a wrong password must not connect");
	cr_assert(strstr(err, "password authentication failed"), "message: %s", err);

	/* The superuser helper and a second database. */
	long long n = 0;
	char uri2[512];
	cr_assert_eq(pg_cluster_query_ll(&pg, NULL, "SELECT count(*) FROM t", &n, err, sizeof(err)),
	             0, "%s", err);
	cr_assert_eq(n, 2);
	cr_assert_eq(pg_cluster_createdb(&pg, "second", uri2, sizeof(uri2), err, sizeof(err)), 0,
	             "%s", err);
	c = role_connect(uri2, err, sizeof(err));
	cr_assert(c, "connect %s: %s", uri2, err);
	PQfinish(c);
	cr_assert_neq(pg_cluster_createdb(&pg, "Bad;name", uri2, sizeof(uri2), err, sizeof(err)),
	              0);
	cr_assert(strstr(err, "only [a-z0-9_]"), "%s", err);
	cr_assert_neq(pg_cluster_exec(&pg, NULL, "SELECT * FROM no_such_table", err, sizeof(err)),
	              0);
	cr_assert(strstr(err, "no_such_table"), "%s", err);
}

Test(pg_harness, committed_rows_survive_a_server_restart, .fini = pg_fini, .timeout = 120)
{
	char err[512];
	long long n = 0;

	PG_CLUSTER_START_OR_SKIP(&pg);
	cr_assert_eq(
	    pg_cluster_exec(&pg, NULL,
	                    "CREATE TABLE r(x int); INSERT INTO r SELECT generate_series(1, 1000)",
	                    err, sizeof(err)),
	    0, "%s", err);
	pid_t before = pg_cluster_postmaster_pid(&pg);
	cr_assert_gt(before, 1);
	cr_assert_eq(pg_cluster_server_stop(&pg, "immediate", err, sizeof(err)), 0, "%s", err);
	cr_assert_neq(pg_cluster_exec(&pg, NULL, "SELECT 1", err, sizeof(err)), 0,
	              "the server is down");
	cr_assert_eq(pg_cluster_server_start(&pg, err, sizeof(err)), 0, "%s", err);
	cr_assert_neq(pg_cluster_postmaster_pid(&pg), before);
	cr_assert_eq(pg_cluster_query_ll(&pg, NULL, "SELECT sum(x) FROM r", &n, err, sizeof(err)),
	             0, "%s", err);
	cr_assert_eq(n, 500500);
}

Test(pg_harness, destroy_stops_the_server_and_removes_the_directory, .timeout = 120)
{
	struct pg_cluster c;
	char dir[512];

	PG_CLUSTER_START_OR_SKIP(&c);
	snprintf(dir, sizeof(dir), "%s", c.dir);
	pid_t pm = pg_cluster_postmaster_pid(&c);
	cr_assert_gt(pm, 1);
	cr_assert(pg_pid_alive(pm));
	pg_cluster_destroy(&c);
	cr_assert_not(dir_exists(dir), "%s removed", dir);
	cr_assert_not(pg_pid_alive(pm), "postmaster %d gone", (int)pm);
	pg_cluster_destroy(&c); /* twice is harmless */
}

/* A test process killed before its teardown: the reaper still cleans up. */
Test(pg_harness, a_killed_test_process_leaves_nothing_behind, .timeout = 120)
{
	int fds[2];
	char buf[600] = {0};
	char dir[512];
	int pm = 0;

	cr_assert_eq(pipe(fds), 0);
	pid_t child = fork();
	cr_assert_geq(child, 0);
	if (child == 0) {
		struct pg_cluster c;
		char why[768];
		close(fds[0]);
		if (pg_cluster_start(&c, why, sizeof(why)) != 0) {
			dprintf(fds[1], "FAIL %s\n", why);
			_exit(1);
		}
		dprintf(fds[1], "%d %s\n", (int)pg_cluster_postmaster_pid(&c), c.dir);
		raise(SIGKILL); /* no destroy, no atexit */
		_exit(2);
	}
	close(fds[1]);
	size_t got = 0;
	for (ssize_t r;
	     got + 1 < sizeof(buf) && (r = read(fds[0], buf + got, sizeof(buf) - 1 - got)) > 0;)
		got += (size_t)r;
	close(fds[0]);
	int status;
	waitpid(child, &status, 0);
	if (strncmp(buf, "FAIL ", 5) == 0)
		cr_skip_test("PostgreSQL cluster did not start: %s", buf + 5);
	cr_assert_eq(sscanf(buf, "%d %511s", &pm, dir), 2, "child said: %s", buf);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	double t0 = h_now();
	while ((dir_exists(dir) || pg_pid_alive(pm)) && h_now() - t0 < 30 * h_slow())
		h_sleep(0.05);
	cr_assert_not(dir_exists(dir), "%s removed after the test process died", dir);
	cr_assert_not(pg_pid_alive(pm), "postmaster %d stopped after the test process died", pm);
	printf("pg_harness: cleaned up %.2f s after the test process was killed\n", h_now() - t0);
}
