/* collector_proc: see collector_proc.h. */
#include "collector_proc.h"

#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

double cproc_slow(void)
{
	return h_slow();
}

void cproc_init(struct cproc *c, const char *tag)
{
	memset(c, 0, sizeof(*c));
	c->dir = h_tmpdir(tag);
	snprintf(c->db, sizeof(c->db), "%s/mlwatch.db", c->dir);
	snprintf(c->log, sizeof(c->log), "%s/mlwatchd.log", c->dir);
	c->port = h_free_port();
	do
		c->http_port = h_free_port();
	while (c->http_port == c->port);
	snprintf(c->url, sizeof(c->url), "tcp://127.0.0.1:%d", c->port);
	snprintf(c->http, sizeof(c->http), "http://127.0.0.1:%d/", c->http_port);
}

static int build_argv(struct cproc *c, const char *const *extra, char **argv, int max, char *bufs,
                      size_t bufcap, bool defaults)
{
	int n = 0;
	bool has_listen = false, has_http = false;

	for (int i = 0; extra && extra[i]; i++) {
		if (strcmp(extra[i], "--listen") == 0 || strncmp(extra[i], "--listen=", 9) == 0)
			has_listen = true;
		if (strcmp(extra[i], "--http") == 0)
			has_http = true;
	}
	argv[n++] = h_bin("mlwatchd");
	if (defaults) {
		argv[n++] = strdup("--db");
		argv[n++] = strdup(c->db);
		if (!has_listen) {
			argv[n++] = strdup("--listen");
			argv[n++] = strdup(c->url);
		}
		if (!has_http) {
			snprintf(bufs, bufcap, "127.0.0.1:%d", c->http_port);
			argv[n++] = strdup("--http");
			argv[n++] = strdup(bufs);
		}
	}
	for (int i = 0; extra && extra[i] && n < max - 1; i++)
		argv[n++] = strdup(extra[i]);
	argv[n] = NULL;
	return n;
}

static int count_listening(const char *log)
{
	char *s = h_read_file(log, NULL);
	int k = 0;
	for (const char *p = s; p && (p = strstr(p, " listening ")); p++)
		k++;
	free(s);
	return k;
}

int cproc_start(struct cproc *c, const char *const *extra)
{
	char *argv[64], buf[64];
	int before = count_listening(c->log);
	int n = build_argv(c, extra, argv, 64, buf, sizeof(buf), true);
	int rc = h_spawn(&c->p, argv, c->log, NULL);
	double end = h_now() + 15 * cproc_slow();

	for (int i = 0; i < n; i++)
		free(argv[i]);
	if (rc)
		return -1;
	c->running = true;
	/* A restart appends to the same log: wait for a new line. */
	while (count_listening(c->log) <= before) {
		if (!h_alive(&c->p) || h_now() > end)
			return -1;
		h_sleep(0.05);
	}
	return 0;
}

int cproc_run(struct cproc *c, const char *const *args, double timeout_s)
{
	char *argv[64], buf[64];
	int n = build_argv(c, args, argv, 64, buf, sizeof(buf), false);
	int rc = h_spawn(&c->p, argv, c->log, NULL);

	for (int i = 0; i < n; i++)
		free(argv[i]);
	if (rc)
		return -1;
	double end = h_now() + timeout_s * cproc_slow();
	int status;
	/* h_alive would reap the child and lose its status: wait here. */
	for (;;) {
		pid_t r = waitpid(c->p.pid, &status, WNOHANG);
		if (r == c->p.pid)
			break;
		if (r < 0)
			return -1;
		if (h_now() > end) {
			kill(c->p.pid, SIGKILL);
			waitpid(c->p.pid, &status, 0);
			break;
		}
		h_sleep(0.02);
	}
	c->p.pid = 0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int cproc_stop(struct cproc *c, int sig)
{
	if (!c->running)
		return -1;
	c->running = false;
	return h_stop(&c->p, sig, 20 * cproc_slow());
}

void cproc_cleanup(struct cproc *c)
{
	if (c->running)
		cproc_stop(c, SIGKILL);
	if (getenv("MLWATCH_TEST_SHOW_LOG")) {
		char *s = h_read_file(c->log, NULL);
		fprintf(stderr, "---- %s\n%s----\n", c->log, s ? s : "");
		free(s);
	}
	h_rmtree(c->dir);
	free(c->dir);
	c->dir = NULL;
}

static sqlite3_stmt *db_step(const char *db, const char *sql, sqlite3 **h)
{
	sqlite3_stmt *s = NULL;
	*h = NULL;
	if (sqlite3_open_v2(db, h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_busy_timeout(*h, 5000);
	if (sqlite3_prepare_v2(*h, sql, -1, &s, NULL) != SQLITE_OK) {
		fprintf(stderr, "db: %s: %s\n", sql, sqlite3_errmsg(*h));
		return NULL;
	}
	if (sqlite3_step(s) != SQLITE_ROW) {
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

int64_t db_int(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *s = db_step(db, sql, &h);
	int64_t v = INT64_MIN;
	if (s && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

double db_double(const char *db, const char *sql)
{
	sqlite3 *h;
	sqlite3_stmt *s = db_step(db, sql, &h);
	double v = NAN;
	if (s && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_double(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(h);
	return v;
}

int db_text(const char *db, const char *sql, char *buf, size_t cap)
{
	sqlite3 *h;
	sqlite3_stmt *s = db_step(db, sql, &h);
	int rc = -1;
	if (s && sqlite3_column_type(s, 0) != SQLITE_NULL) {
		snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(s, 0));
		rc = 0;
	}
	sqlite3_finalize(s);
	sqlite3_close(h);
	return rc;
}

char *http_get(const char *url, long *status)
{
	struct h_http r;
	if (h_http("GET", url, NULL, 0, NULL, false, &r) != 0)
		return NULL;
	if (status)
		*status = r.status;
	return r.body;
}

double metrics_value(const char *page, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = page; p && *p;) {
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NAN;
}

double cproc_metric(const struct cproc *c, const char *name)
{
	char url[700];

	snprintf(url, sizeof(url), "%smetrics", c->http);
	char *page = http_get(url, NULL);
	double v = page ? metrics_value(page, name) : NAN;
	free(page);
	return v;
}
