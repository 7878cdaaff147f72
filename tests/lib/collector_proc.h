/* collector_proc: starting the real mlwatchd for an integration test (own
 * temporary directory, free ports, log file) and reading its database
 * back with plain SQL. */
#ifndef MLW_COLLECTOR_PROC_H
#define MLW_COLLECTOR_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

struct cproc {
	char *dir;     /* h_tmpdir, removed by cproc_cleanup */
	char db[512];  /* dir/mlwatch.db */
	char log[512]; /* dir/mlwatchd.log */
	int port, http_port;
	char url[600]; /* tcp://127.0.0.1:PORT unless --listen is given */
	char http[64]; /* http://127.0.0.1:HTTP/ */
	struct h_proc p;
	bool running;
};

/* Creates the directory and picks ports (no process yet). */
void cproc_init(struct cproc *c, const char *tag);
/* Starts mlwatchd with --db, --listen (unless extra has one), --http and
 * the NULL-terminated extra arguments, then waits for "listening" in the
 * log. Returns 0, -1 when it did not come up (the log says why). */
int cproc_start(struct cproc *c, const char *const *extra);
/* Runs mlwatchd to completion with the arguments (for refusals); returns
 * its exit status and leaves its output in c->log. */
int cproc_run(struct cproc *c, const char *const *args, double timeout_s);
/* Stops with sig (SIGTERM or SIGKILL); returns the exit status. */
int cproc_stop(struct cproc *c, int sig);
void cproc_cleanup(struct cproc *c);
/* Deadlines are longer under valgrind. */
double cproc_slow(void);

/* Plain SQL on the database (read only): the first column of the first
 * row; INT64_MIN / NAN when no row or on error. */
int64_t db_int(const char *db, const char *sql);
double db_double(const char *db, const char *sql);
/* The first column as text into buf; -1 when no row. */
int db_text(const char *db, const char *sql, char *buf, size_t cap);

/* GET url; returns the body (malloc'd) or NULL. */
char *http_get(const char *url, long *status);
/* Value of the sample line starting with `name` (including labels) in a
 * metrics page; NAN when absent. */
double metrics_value(const char *page, const char *name);
/* That value in c's /metrics page now; NAN when unreadable or absent. */
double cproc_metric(const struct cproc *c, const char *name);

#endif
