/* agent_proc: runs the real build/mlwatch-agent for integration tests:
 * a state dir, a free HTTP port, extra flags, its log, and its /metrics
 * read back as numbers. Built on harness.h. */
#ifndef MLW_AGENT_PROC_H
#define MLW_AGENT_PROC_H

#include <stdbool.h>
#include <stdint.h>

#include "harness.h"

struct agent_proc {
	struct h_proc p;
	char *dir; /* h_tmpdir, removed by ap_cleanup */
	int http_port;
	char http[64];       /* http://127.0.0.1:PORT */
	char collector[640]; /* URL given to --collector */
	char log[600];
	char state[600]; /* --state-dir */
};

/* Prepares dir, ports and the collector URL (a free port on 127.0.0.1). */
int ap_init(struct agent_proc *a, const char *tag);
/* Starts the agent with the standard flags plus extra (NULL-terminated,
 * may be NULL) and waits for "agent ready". Returns 0 or -1. */
int ap_start(struct agent_proc *a, const char *const *extra);
/* SIGTERM and wait; returns the exit status. */
int ap_stop(struct agent_proc *a);
void ap_cleanup(struct agent_proc *a);

/* Sum of every series of metric name in GET /metrics (-1 on failure);
 * with a label filter like reason="malformed" only the matching series. */
double ap_metric(struct agent_proc *a, const char *name, const char *labels);
/* The same with "Authorization: Bearer token" (an agent with --http-token-file). */
double ap_metric_token(struct agent_proc *a, const char *name, const char *labels,
                       const char *token);
/* POST body to path; status, or -1 when no response. Response body into
 * *resp when resp != NULL (caller frees). */
long ap_post(struct agent_proc *a, const char *path, const char *body, size_t len,
             const char *const *headers, bool chunked, char **resp);
/* Waits until metric >= value. */
bool ap_wait_metric(struct agent_proc *a, const char *name, const char *labels, double value,
                    double timeout_s);

#endif
