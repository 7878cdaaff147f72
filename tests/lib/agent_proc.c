/* agent_proc: see agent_proc.h. */
#include "agent_proc.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ap_init(struct agent_proc *a, const char *tag)
{
	memset(a, 0, sizeof(*a));
	a->dir = h_tmpdir(tag);
	if (!a->dir)
		return -1;
	a->http_port = h_free_port();
	snprintf(a->http, sizeof(a->http), "http://127.0.0.1:%d", a->http_port);
	snprintf(a->collector, sizeof(a->collector), "tcp://127.0.0.1:%d", h_free_port());
	snprintf(a->log, sizeof(a->log), "%s/agent.log", a->dir);
	snprintf(a->state, sizeof(a->state), "%s/state", a->dir);
	return 0;
}

/* One start; 1 when the agent exited because its HTTP port was taken. */
static int start_once(struct agent_proc *a, const char *const *extra)
{
	char *argv[96], httpaddr[64];
	char *bin = h_bin("mlwatch-agent");
	int n = 0, rc;
	size_t logpos = 0;

	char *old = h_read_file(a->log, &logpos);
	free(old);
	snprintf(httpaddr, sizeof(httpaddr), "127.0.0.1:%d", a->http_port);
	argv[n++] = bin;
	argv[n++] = "--collector";
	argv[n++] = a->collector;
	argv[n++] = "--http";
	argv[n++] = httpaddr;
	argv[n++] = "--state-dir";
	argv[n++] = a->state;
	argv[n++] = "--agent-id";
	argv[n++] = "test-agent";
	argv[n++] = "--batch-max-delay";
	argv[n++] = "50ms";
	for (int i = 0; extra && extra[i] && n < 94; i++)
		argv[n++] = (char *)extra[i];
	argv[n] = NULL;
	rc = h_spawn(&a->p, argv, a->log, NULL);
	free(bin);
	if (rc)
		return -1;
	/* Wait for a new "agent ready" line (the log may hold earlier runs). */
	double end = h_now() + 10 * h_slow();
	while (h_now() < end) {
		size_t len = 0;
		char *s = h_read_file(a->log, &len);
		bool ok = s && len > logpos && strstr(s + logpos, "agent ready");
		bool taken = s && len > logpos && strstr(s + logpos, httpaddr) &&
		             strstr(s + logpos, "cannot listen");
		free(s);
		if (ok)
			return 0;
		if (!h_alive(&a->p))
			return taken ? 1 : -1;
		h_sleep(0.025);
	}
	return -1;
}

int ap_start(struct agent_proc *a, const char *const *extra)
{
	bool own_http = false;

	for (int i = 0; extra && extra[i]; i++)
		own_http |= strcmp(extra[i], "--http") == 0;
	/* The port was free when chosen; another test's program may have bound
	 * it since. Then a new port (and URL) and another try. */
	for (int attempt = 0;; attempt++) {
		int rc = start_once(a, extra);
		if (rc != 1 || own_http || attempt == 3)
			return rc ? -1 : 0;
		a->http_port = h_free_port();
		snprintf(a->http, sizeof(a->http), "http://127.0.0.1:%d", a->http_port);
	}
}

int ap_stop(struct agent_proc *a)
{
	if (a->p.pid <= 0)
		return -1;
	return h_stop(&a->p, SIGTERM, 20);
}

void ap_cleanup(struct agent_proc *a)
{
	if (a->p.pid > 0)
		h_stop(&a->p, SIGKILL, 5);
	if (a->dir) {
		h_rmtree(a->dir);
		free(a->dir);
	}
	a->dir = NULL;
}

double ap_metric(struct agent_proc *a, const char *name, const char *labels)
{
	return ap_metric_token(a, name, labels, NULL);
}

double ap_metric_token(struct agent_proc *a, const char *name, const char *labels,
                       const char *token)
{
	char url[128], auth[300];
	const char *hs[] = {auth, NULL};
	struct h_http r;
	double sum = 0;
	bool found = false;
	size_t nl = strlen(name);

	snprintf(url, sizeof(url), "%s/metrics", a->http);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token ? token : "");
	if (h_http("GET", url, NULL, 0, token ? hs : NULL, false, &r) != 0 || r.status != 200) {
		h_http_free(&r);
		return -1;
	}
	for (char *line = r.body; line && *line;) {
		char *next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (line[0] != '#' && strncmp(line, name, nl) == 0 &&
		    (line[nl] == ' ' || line[nl] == '{')) {
			if (!labels || (line[nl] == '{' && strstr(line, labels))) {
				char *sp = strrchr(line, ' ');
				if (sp) {
					sum += strtod(sp + 1, NULL);
					found = true;
				}
			}
		}
		line = next;
	}
	h_http_free(&r);
	return found ? sum : -1;
}

long ap_post(struct agent_proc *a, const char *path, const char *body, size_t len,
             const char *const *headers, bool chunked, char **resp)
{
	char url[256];
	struct h_http r;
	long st;

	snprintf(url, sizeof(url), "%s%s", a->http, path);
	if (h_http("POST", url, body, len, headers, chunked, &r) != 0) {
		h_http_free(&r);
		if (resp)
			*resp = NULL;
		return -1;
	}
	st = r.status;
	if (resp) {
		*resp = r.body;
		r.body = NULL;
	}
	h_http_free(&r);
	return st;
}

bool ap_wait_metric(struct agent_proc *a, const char *name, const char *labels, double value,
                    double timeout_s)
{
	double end = h_now() + timeout_s;
	while (h_now() < end) {
		if (ap_metric(a, name, labels) >= value)
			return true;
		h_sleep(0.05);
	}
	return false;
}
