/* pg_harness: a throw-away PostgreSQL cluster for integration tests; see
 * pg_harness.h for what it owns and how it cleans up. */
#include "pg_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define RUNUSER "/usr/sbin/runuser"
#define PG_ROLE "mlwatch"

static void setwhy(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	if (!why || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* The last lines of a log as one line ("a | b | c"), for error messages. */
static void log_tail(const char *path, char *out, size_t outlen)
{
	size_t len = 0, start, j = 0;
	char *s = h_read_file(path, &len);

	if (outlen == 0)
		return;
	out[0] = '\0';
	if (!s)
		return;
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		len--;
	start = len > 400 ? len - 400 : 0;
	for (size_t i = start; i < len && j + 4 < outlen; i++) {
		if (s[i] == '\n') {
			memcpy(out + j, " | ", 3);
			j += 3;
		} else {
			out[j++] = s[i];
		}
	}
	out[j] = '\0';
	free(s);
}

static bool executable(const char *dir, const char *name)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, X_OK) == 0;
}

/* $MLWATCH_PG_BINDIR, else the highest /usr/lib/postgresql/<N>/bin with an
 * initdb. Returns 0 or -1. */
static int find_bindir(char *out, size_t outlen)
{
	const char *env = getenv("MLWATCH_PG_BINDIR");
	DIR *d;
	struct dirent *e;
	long best = -1;

	if (env && *env) {
		snprintf(out, outlen, "%s", env);
		return executable(out, "initdb") && executable(out, "pg_ctl") ? 0 : -1;
	}
	d = opendir("/usr/lib/postgresql");
	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char bin[256], *end;
		long v = strtol(e->d_name, &end, 10);
		if (end == e->d_name || *end != '\0' || v <= best)
			continue;
		snprintf(bin, sizeof(bin), "/usr/lib/postgresql/%.200s/bin", e->d_name);
		if (executable(bin, "initdb") && executable(bin, "pg_ctl")) {
			best = v;
			snprintf(out, outlen, "%s", bin);
		}
	}
	closedir(d);
	return best >= 0 ? 0 : -1;
}

/* Runs bindir/tool with args (NULL-terminated), as postgres when needed, in
 * c->dir, output appended to log. Kills it after timeout_s. Returns its exit
 * status, or -1 when it could not run or timed out. */
static int run_tool(const struct pg_cluster *c, const char *log, double timeout_s, const char *tool,
                    ...)
{
	char path[512];
	char *argv[32];
	int n = 0, status = 0;
	va_list ap;
	pid_t pid;
	double end = h_now() + timeout_s;

	snprintf(path, sizeof(path), "%s/%s", c->bindir, tool);
	if (c->as_postgres) {
		argv[n++] = RUNUSER;
		argv[n++] = "-u";
		argv[n++] = "postgres";
		argv[n++] = "--";
	}
	argv[n++] = path;
	va_start(ap, tool);
	for (char *a; (a = va_arg(ap, char *)) != NULL && n < 31;)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (nul >= 0)
			dup2(nul, 0);
		/* initdb and pg_ctl warn when they cannot enter the caller's
		 * directory as postgres; the cluster's directory is theirs. */
		if (chdir(c->dir) != 0)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (h_now() > end) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			FILE *f = fopen(log, "a");
			if (f) {
				fprintf(f, "pg_harness: %s killed after %.0f s\n", tool, timeout_s);
				fclose(f);
			}
			return -1;
		}
		h_sleep(0.02);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool pg_pid_alive(pid_t pid)
{
	char p[64], *s, *rp;
	bool alive;

	if (pid <= 0 || kill(pid, 0) != 0)
		return false;
	/* An orphaned postmaster's zombie lingers where init does not reap. */
	snprintf(p, sizeof(p), "/proc/%d/stat", (int)pid);
	s = h_read_file(p, NULL);
	if (!s)
		return false;
	rp = strrchr(s, ')');
	alive = !(rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'));
	free(s);
	return alive;
}

pid_t pg_cluster_postmaster_pid(const struct pg_cluster *c)
{
	char p[512], *s, *end;
	long v;

	if (!c->dir)
		return -1;
	snprintf(p, sizeof(p), "%s/data/postmaster.pid", c->dir);
	s = h_read_file(p, NULL);
	if (!s)
		return -1;
	v = strtol(s, &end, 10);
	free(s);
	return end != s && v > 1 ? (pid_t)v : -1;
}

/* Stops the server however it can: pg_ctl immediate, then SIGKILL of the
 * postmaster (its children exit when it does). */
static void kill_server(const struct pg_cluster *c)
{
	char data[512], log[512];
	pid_t pm = pg_cluster_postmaster_pid(c);

	if (pm <= 0)
		return;
	snprintf(data, sizeof(data), "%s/data", c->dir);
	snprintf(log, sizeof(log), "%s/pg_ctl.log", c->dir);
	run_tool(c, log, 20 * h_slow(), "pg_ctl", "stop", "-D", data, "-m", "immediate", "-w", "-t",
	         "15", (char *)NULL);
	if (pg_pid_alive(pm)) {
		kill(pm, SIGKILL);
		for (int i = 0; i < 250 && pg_pid_alive(pm); i++)
			h_sleep(0.02);
	}
}

/* The reaper: waits for the test process's end of the pipe to close, then
 * removes the cluster. Holds no other descriptor (a Criterion pipe or another
 * cluster's pipe kept open here would delay their EOF). */
static void reaper_main(int rfd, const struct pg_cluster *c)
{
	char b;
	int nul = open("/dev/null", O_RDWR);

	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	if (nul >= 0) {
		dup2(nul, 0);
		dup2(nul, 1);
		dup2(nul, 2);
	}
	for (int fd = 3; fd < 1024; fd++)
		if (fd != rfd)
			close(fd);
	for (;;) {
		ssize_t r = read(rfd, &b, 1);
		if (r == 0 || (r < 0 && errno != EINTR))
			break;
	}
	kill_server(c);
	h_rmtree(c->dir);
	_exit(0);
}

static int start_reaper(struct pg_cluster *c)
{
	int fds[2];
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[1]);
		reaper_main(fds[0], c);
	}
	close(fds[0]);
	c->reaper = pid;
	c->reaper_fd = fds[1];
	return 0;
}

/* conninfo value in single quotes, backslash-escaped. */
static void quote_ci(char *out, size_t outlen, const char *v)
{
	size_t j = 0;
	if (outlen < 3) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	out[j++] = '\'';
	for (; *v && j + 3 < outlen; v++) {
		if (*v == '\'' || *v == '\\')
			out[j++] = '\\';
		out[j++] = *v;
	}
	out[j++] = '\'';
	out[j] = '\0';
}

static void pct_encode(char *out, size_t outlen, const char *v)
{
	size_t j = 0;
	for (; *v && j + 4 < outlen; v++) {
		unsigned char ch = (unsigned char)*v;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.')
			out[j++] = (char)ch;
		else
			j += (size_t)snprintf(out + j, outlen - j, "%%%02X", ch);
	}
	out[j] = '\0';
}

static PGconn *admin_connect(const struct pg_cluster *c, const char *db, char *why, size_t whylen)
{
	char ci[1300], qdb[200];
	PGconn *conn;

	quote_ci(qdb, sizeof(qdb), db ? db : PG_ROLE);
	snprintf(ci, sizeof(ci), "%s dbname=%s", c->admin, qdb);
	conn = PQconnectdb(ci);
	if (PQstatus(conn) != CONNECTION_OK) {
		setwhy(why, whylen, "connect as superuser to %s: %s", db ? db : PG_ROLE,
		       conn ? PQerrorMessage(conn) : "out of memory");
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static void one_line(char *s)
{
	for (char *p = s; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

int pg_cluster_exec(const struct pg_cluster *c, const char *db, const char *sql, char *why,
                    size_t whylen)
{
	int rc = -1;
	PGresult *r = NULL;
	PGconn *conn = admin_connect(c, db, why, whylen);

	if (!conn)
		goto out;
	r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
		setwhy(why, whylen, "%.200s: %s", sql, PQerrorMessage(conn));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && why && whylen)
		one_line(why);
	PQclear(r);
	PQfinish(conn);
	return rc;
}

int pg_cluster_query_ll(const struct pg_cluster *c, const char *db, const char *sql, long long *out,
                        char *why, size_t whylen)
{
	int rc = -1;
	PGresult *r = NULL;
	PGconn *conn = admin_connect(c, db, why, whylen);
	char *end;

	if (!conn)
		goto out;
	r = PQexec(conn, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		setwhy(why, whylen, "%.200s: %s", sql, PQerrorMessage(conn));
		goto out;
	}
	if (PQntuples(r) < 1 || PQnfields(r) < 1 || PQgetisnull(r, 0, 0)) {
		setwhy(why, whylen, "%.200s: no value (%d rows)", sql, PQntuples(r));
		goto out;
	}
	errno = 0;
	*out = strtoll(PQgetvalue(r, 0, 0), &end, 10);
	if (errno != 0 || *end != '\0') {
		setwhy(why, whylen, "%.200s: not an integer: %.40s", sql, PQgetvalue(r, 0, 0));
		goto out;
	}
	rc = 0;
out:
	if (rc != 0 && why && whylen)
		one_line(why);
	PQclear(r);
	PQfinish(conn);
	return rc;
}

int pg_cluster_createdb(const struct pg_cluster *c, const char *name, char *uri, size_t urilen,
                        char *why, size_t whylen)
{
	char sql[200];
	size_t n = strlen(name);

	if (n == 0 || n > 48 || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") != n) {
		setwhy(why, whylen, "database name '%.60s': only [a-z0-9_], 1 to 48 characters",
		       name);
		return -1;
	}
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s OWNER " PG_ROLE, name);
	if (pg_cluster_exec(c, "postgres", sql, why, whylen) != 0)
		return -1;
	snprintf(uri, urilen, "postgresql://" PG_ROLE ":%s@127.0.0.1:%d/%s", c->password, c->port,
	         name);
	return 0;
}

/* pg_ctl start on c->port; 0, or -1 with why (and *bind_failed when the
 * port was taken meanwhile). */
static int server_start(struct pg_cluster *c, bool *bind_failed, char *why, size_t whylen)
{
	char data[512], log[512], slog[512], opt[32], tmo[16], tail[480];
	size_t len = 0;
	char *s;
	int rc;

	snprintf(data, sizeof(data), "%s/data", c->dir);
	snprintf(log, sizeof(log), "%s/pg_ctl.log", c->dir);
	snprintf(slog, sizeof(slog), "%s/server.log", c->dir);
	snprintf(opt, sizeof(opt), "-p %d", c->port);
	snprintf(tmo, sizeof(tmo), "%d", (int)(30 * h_slow()));
	if (bind_failed)
		*bind_failed = false;
	rc = run_tool(c, log, 40 * h_slow(), "pg_ctl", "start", "-D", data, "-l", slog, "-w", "-t",
	              tmo, "-o", opt, (char *)NULL);
	if (rc == 0) {
		c->running = true;
		return 0;
	}
	/* A failed start may leave a postmaster behind (timeout). */
	kill_server(c);
	s = h_read_file(slog, &len);
	if (s && bind_failed && strstr(s, "could not bind"))
		*bind_failed = true;
	free(s);
	log_tail(slog, tail, sizeof(tail));
	setwhy(why, whylen, "pg_ctl start (port %d) exited %d: %s", c->port, rc, tail);
	return -1;
}

int pg_cluster_server_start(struct pg_cluster *c, char *why, size_t whylen)
{
	if (!c->dir) {
		setwhy(why, whylen, "no cluster");
		return -1;
	}
	return server_start(c, NULL, why, whylen);
}

int pg_cluster_server_stop(struct pg_cluster *c, const char *mode, char *why, size_t whylen)
{
	char data[512], log[512], tail[480];
	int rc;

	if (!c->dir) {
		setwhy(why, whylen, "no cluster");
		return -1;
	}
	snprintf(data, sizeof(data), "%s/data", c->dir);
	snprintf(log, sizeof(log), "%s/pg_ctl.log", c->dir);
	rc = run_tool(c, log, 40 * h_slow(), "pg_ctl", "stop", "-D", data, "-m", mode, "-w", "-t",
	              "30", (char *)NULL);
	if (rc != 0) {
		log_tail(log, tail, sizeof(tail));
		setwhy(why, whylen, "pg_ctl stop -m %s exited %d: %s", mode, rc, tail);
		return -1;
	}
	c->running = false;
	return 0;
}

/* Our settings: both listeners, scram passwords for the test role, the
 * superuser trusted on the socket only, and no fsync (a throw-away cluster:
 * only an OS crash would lose rows). Commits stay synchronous, so that a
 * server killed or stopped with -m immediate keeps every committed row, as
 * the restart tests require. */
static int configure(const struct pg_cluster *c, char *why, size_t whylen)
{
	char p[512], qdir[600];
	FILE *f;
	size_t j = 0;

	qdir[j++] = '\'';
	for (const char *s = c->dir; *s && j + 3 < sizeof(qdir); s++) {
		if (*s == '\'')
			qdir[j++] = '\'';
		qdir[j++] = *s;
	}
	qdir[j++] = '\'';
	qdir[j] = '\0';

	snprintf(p, sizeof(p), "%s/data/pg_hba.conf", c->dir);
	f = fopen(p, "w");
	if (!f)
		goto fail;
	fprintf(f, "# pg_harness: the superuser on the socket, everyone else by password\n"
	           "local all postgres trust\n"
	           "local all all scram-sha-256\n"
	           "host all all 127.0.0.1/32 scram-sha-256\n");
	if (fclose(f) != 0)
		goto fail;
	snprintf(p, sizeof(p), "%s/data/postgresql.conf", c->dir);
	f = fopen(p, "a");
	if (!f)
		goto fail;
	fprintf(f,
	        "\n# pg_harness\n"
	        "listen_addresses = '127.0.0.1'\n"
	        "unix_socket_directories = %s\n"
	        "max_connections = 60\n"
	        "shared_buffers = 32MB\n"
	        "fsync = off\n"
	        "full_page_writes = off\n"
	        "password_encryption = 'scram-sha-256'\n"
	        "log_min_messages = warning\n",
	        qdir);
	if (fclose(f) != 0)
		goto fail;
	return 0;
fail:
	setwhy(why, whylen, "configure %s: %s", p, strerror(errno));
	return -1;
}

static int random_hex(char *out, size_t nbytes)
{
	unsigned char b[32];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got;

	if (fd < 0 || nbytes > sizeof(b))
		return -1;
	got = read(fd, b, nbytes);
	close(fd);
	if (got != (ssize_t)nbytes)
		return -1;
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
	return 0;
}

int pg_cluster_start(struct pg_cluster *c, char *why, size_t whylen)
{
	char data[512], log[512], tail[480], qdir[600], sql[300], enc[600];
	struct passwd *pw = NULL;
	int rc = PG_FAILED;

	memset(c, 0, sizeof(*c));
	c->reaper_fd = -1;
	if (find_bindir(c->bindir, sizeof(c->bindir)) != 0) {
		setwhy(why, whylen,
		       "no initdb/pg_ctl under %s (install postgresql-15: scripts/deps.sh test)",
		       getenv("MLWATCH_PG_BINDIR") ? getenv("MLWATCH_PG_BINDIR")
		                                   : "/usr/lib/postgresql/*/bin");
		return PG_UNAVAILABLE;
	}
	if (geteuid() == 0) {
		/* PostgreSQL refuses to run as root. */
		pw = getpwnam("postgres");
		if (!pw) {
			setwhy(why, whylen,
			       "running as root and there is no 'postgres' user to "
			       "run the server as (the postgresql-15 package creates it)");
			return PG_UNAVAILABLE;
		}
		if (access(RUNUSER, X_OK) != 0) {
			setwhy(why, whylen, "running as root and %s is missing (util-linux)",
			       RUNUSER);
			return PG_UNAVAILABLE;
		}
		c->as_postgres = true;
	}
	c->dir = h_tmpdir("pg");
	if (!c->dir) {
		setwhy(why, whylen, "temporary directory: %s", strerror(errno));
		goto out;
	}
	if (pw && chown(c->dir, pw->pw_uid, pw->pw_gid) != 0) {
		setwhy(why, whylen, "chown %s to postgres: %s", c->dir, strerror(errno));
		goto out;
	}
	if (start_reaper(c) != 0) {
		setwhy(why, whylen, "reaper: %s", strerror(errno));
		goto out;
	}
	if (random_hex(c->password, 16) != 0) {
		setwhy(why, whylen, "/dev/urandom: %s", strerror(errno));
		goto out;
	}

	snprintf(data, sizeof(data), "%s/data", c->dir);
	snprintf(log, sizeof(log), "%s/initdb.log", c->dir);
	if (run_tool(c, log, 90 * h_slow(), "initdb", "-D", data, "-U", "postgres", "-E", "UTF8",
	             "--no-locale", "--no-sync", "--auth=trust", (char *)NULL) != 0) {
		log_tail(log, tail, sizeof(tail));
		setwhy(why, whylen, "initdb -D %s failed: %s", data, tail);
		goto out;
	}
	if (configure(c, why, whylen) != 0)
		goto out;

	quote_ci(qdir, sizeof(qdir), c->dir);
	/* A free port may be taken between the probe and the bind: retry. */
	for (int attempt = 0;; attempt++) {
		bool bind_failed = false;
		c->port = h_free_port();
		snprintf(c->admin, sizeof(c->admin),
		         "host=%s port=%d user=postgres connect_timeout=10", qdir, c->port);
		if (server_start(c, &bind_failed, why, whylen) == 0)
			break;
		if (!bind_failed || attempt == 2)
			goto out;
	}

	snprintf(sql, sizeof(sql), "CREATE ROLE " PG_ROLE " LOGIN PASSWORD '%s'", c->password);
	if (pg_cluster_exec(c, "postgres", sql, why, whylen) != 0 ||
	    pg_cluster_exec(c, "postgres", "CREATE DATABASE " PG_ROLE " OWNER " PG_ROLE, why,
	                    whylen) != 0)
		goto out;
	snprintf(c->uri, sizeof(c->uri), "postgresql://" PG_ROLE ":%s@127.0.0.1:%d/" PG_ROLE,
	         c->password, c->port);
	pct_encode(enc, sizeof(enc), c->dir);
	snprintf(c->uri_socket, sizeof(c->uri_socket),
	         "postgresql://" PG_ROLE ":%s@/" PG_ROLE "?host=%s&port=%d", c->password, enc,
	         c->port);
	rc = 0;
out:
	if (rc != 0)
		pg_cluster_destroy(c);
	return rc;
}

void pg_cluster_destroy(struct pg_cluster *c)
{
	if (c->reaper_fd >= 0) {
		close(c->reaper_fd);
		c->reaper_fd = -1;
	}
	if (c->reaper > 0) {
		double end = h_now() + 60 * h_slow();
		int status;
		for (;;) {
			pid_t r = waitpid(c->reaper, &status, WNOHANG);
			if (r == c->reaper || (r < 0 && errno != EINTR))
				break;
			if (h_now() > end) {
				/* Do its work here rather than leave a server. */
				kill(c->reaper, SIGKILL);
				waitpid(c->reaper, &status, 0);
				if (c->dir) {
					kill_server(c);
					h_rmtree(c->dir);
				}
				break;
			}
			h_sleep(0.02);
		}
		c->reaper = 0;
	} else if (c->dir) {
		kill_server(c);
		h_rmtree(c->dir);
	}
	free(c->dir);
	c->dir = NULL;
	c->running = false;
}
