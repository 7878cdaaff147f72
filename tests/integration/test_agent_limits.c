/* Hard limits: a 20 MiB body (with Content-Length and chunked) is 413, too
 * many events in one request is 413, a flood of 2000 connection attempts
 * gets 503 + Retry-After past max_connections (or a closed socket past the
 * hard cap), every refusal is counted, and the agent keeps serving good
 * clients with bounded memory. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/agent_proc.h"
#include "../lib/fake_collector.h"
#include "../lib/harness.h"

static struct agent_proc ag;
static struct fake_collector *fc;

static void setup(void)
{
	cr_assert_eq(ap_init(&ag, "agent-limits"), 0);
	fc = fc_start(ag.collector);
	cr_assert_not_null(fc);
}

static void teardown(void)
{
	if (ag.p.pid > 0)
		cr_expect_eq(ap_stop(&ag), 0, "agent exit status");
	fc_free(fc);
	ap_cleanup(&ag);
}

static long vm_hwm_kib(pid_t pid)
{
	char path[64], *s;
	long v = -1;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	s = h_read_file(path, NULL);
	if (s) {
		char *p = strstr(s, "VmHWM:");
		if (p)
			v = strtol(p + 6, NULL, 10);
		free(s);
	}
	return v;
}

Test(agent_limits, oversized_bodies_and_too_many_events_are_413, .init = setup, .fini = teardown,
     .timeout = 60)
{
	const size_t big = 20u << 20;
	char *body = malloc(big), *resp = NULL;
	/* A valid-looking start, then 20 MiB: the size alone decides. */
	memset(body, ' ', big);
	memcpy(body, "[{\"model\":\"m\"}", 14);
	cr_assert_eq(ap_start(&ag, (const char *[]){"--max-events-per-request", "10", NULL}), 0);

	cr_expect_eq(ap_post(&ag, "/v1/events", body, big, NULL, false, &resp), 413);
	cr_expect(resp && strstr(resp, "max_body") != NULL, "%s", resp ? resp : "");
	free(resp);
	long st = ap_post(&ag, "/v1/events", body, big, NULL, true, &resp);
	cr_expect(st == 413 || st == -1, "chunked 20 MiB: %ld", st);
	free(resp);
	/* The client may see the chunked upload cut (-1) rather than the 413,
	 * but the agent must have refused it for its size: two too_large, one
	 * per request (a connection dropped for any other reason counts none). */
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_rejected_total", "reason=\"too_large\""), 2);

	char many[2048];
	size_t len = 0;
	len += (size_t)snprintf(many + len, sizeof(many) - len, "[");
	for (int i = 0; i < 11; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len, "%s{\"model\":\"m\"}",
		                        i ? "," : "");
	len += (size_t)snprintf(many + len, sizeof(many) - len, "]");
	cr_expect_eq(ap_post(&ag, "/v1/events", many, len, NULL, false, &resp), 413);
	cr_expect(strstr(resp, "at most 10") != NULL, "%s", resp);
	free(resp);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_rejected_total", "reason=\"too_many_events\""),
	             1);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_events_received_total", NULL), 0,
	             "nothing of a refused request is kept");
	cr_expect_eq(ap_post(&ag, "/v1/events", "{\"model\":\"m\"}", 13, NULL, false, NULL), 202);
	long hwm = vm_hwm_kib(ag.p.pid);
	const char *vg = getenv("MLWATCH_VALGRIND");
	if (!vg || strcmp(vg, "1") != 0) /* valgrind's own memory would count */
		cr_expect(hwm > 0 && hwm < 64 * 1024, "peak RSS %ld KiB stays bounded", hwm);
	free(body);
}

Test(agent_limits, connection_flood_gets_503_and_good_clients_are_served, .init = setup,
     .fini = teardown, .timeout = 90)
{
	enum { N = 2000 };
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	int n = rl.rlim_cur > N + 100 ? N : (int)rl.rlim_cur - 100;

	cr_assert_eq(ap_start(&ag, (const char *[]){"--max-connections", "50", NULL}), 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ag.http_port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int *fds = calloc((size_t)n, sizeof(int));
	for (int i = 0; i < n; i++) {
		fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		cr_assert(fds[i] >= 0);
		connect(fds[i], (struct sockaddr *)&a, sizeof(a));
	}
	/* Every connected socket sends one small valid request. */
	const char *req = "POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 13\r\n"
	                  "Connection: close\r\n\r\n{\"model\":\"m\"}";
	struct pollfd *pf = calloc((size_t)n, sizeof(*pf));
	int *sent = calloc((size_t)n, sizeof(int));
	double end = h_now() + 10;
	int pending = n;
	while (pending > 0 && h_now() < end) {
		for (int i = 0; i < n; i++) {
			pf[i].fd = sent[i] ? -1 : fds[i];
			pf[i].events = POLLOUT;
			pf[i].revents = 0;
		}
		if (poll(pf, (nfds_t)n, 200) <= 0)
			continue;
		for (int i = 0; i < n; i++)
			if (!sent[i] && pf[i].revents) {
				sent[i] = (pf[i].revents & POLLOUT) &&
				                  send(fds[i], req, strlen(req), MSG_NOSIGNAL) > 0
				              ? 1
				              : 2;
				pending--;
			}
	}
	/* Collect the answers. */
	int ok = 0, busy = 0, closed = 0, other = 0, retry_after = 0;
	char(*buf)[512] = calloc((size_t)n, 512);
	int *done = calloc((size_t)n, sizeof(int));
	end = h_now() + 20;
	pending = n;
	while (pending > 0 && h_now() < end) {
		for (int i = 0; i < n; i++) {
			pf[i].fd = done[i] || sent[i] != 1 ? -1 : fds[i];
			pf[i].events = POLLIN;
			pf[i].revents = 0;
			if (!done[i] && sent[i] != 1) {
				done[i] = 1;
				closed++;
				pending--;
			}
		}
		if (poll(pf, (nfds_t)n, 200) <= 0)
			continue;
		for (int i = 0; i < n; i++) {
			if (done[i] || !pf[i].revents)
				continue;
			size_t have = strlen(buf[i]);
			ssize_t k = recv(fds[i], buf[i] + have, 511 - have, 0);
			if (k > 0 && !strstr(buf[i], "\r\n\r\n"))
				continue;
			done[i] = 1;
			pending--;
			if (strncmp(buf[i], "HTTP/1.1 202", 12) == 0)
				ok++;
			else if (strncmp(buf[i], "HTTP/1.1 503", 12) == 0) {
				busy++;
				retry_after += strstr(buf[i], "Retry-After: ") != NULL;
			} else if (buf[i][0] == '\0')
				closed++;
			else
				other++;
		}
	}
	cr_log_info("flood of %d: %d accepted, %d told 503, %d closed, %d other", n, ok, busy,
	            closed, other);
	cr_expect_gt(ok, 0, "some of the flood was served");
	cr_expect_eq(other, 0, "only 202, 503 or a closed connection");
	/* 2000 connections against --max-connections 50: the ones past the soft
	 * limit (up to the hard cap 50 + 64) must be told 503, not reset. */
	cr_expect_gt(busy, 0, "no 503 in a flood of %d past --max-connections 50", n);
	cr_expect_eq(retry_after, busy, "every 503 carries Retry-After");
	cr_expect_geq(ap_metric(&ag, "mlwatch_agent_rejected_total", "reason=\"connections\""),
	              busy > 0 ? busy : 1);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	/* Afterwards a good client is served and every 202 was counted. */
	h_sleep(0.5);
	cr_assert(h_alive(&ag.p), "agent survived the flood");
	cr_expect_eq(ap_post(&ag, "/v1/events", "{\"model\":\"m\"}", 13, NULL, false, NULL), 202);
	cr_expect_eq(ap_metric(&ag, "mlwatch_agent_events_received_total", NULL), ok + 1);
	cr_expect(fc_wait_events(fc, (size_t)ok + 1, 10));
	free(fds);
	free(pf);
	free(sent);
	free(buf);
	free(done);
}
