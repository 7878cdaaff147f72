/* ingest_dgram: see ingest_dgram.h. */
#include "ingest_dgram.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"
#include "clock.h"
#include "guard.h"
#include "log.h"
#include "stats.h"
#include "vecdim.h"

#define VLEN      32
#define DGRAM_MAX 65536
#define RCVBUF    (8 << 20)

struct dsock {
	int fd;
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	uint32_t last_ovfl;
	bool have_ovfl;
};

struct dgram {
	struct agent *ag;
	struct dsock *socks;
	size_t n;
	int stop_pipe[2];
	pthread_t thread;
	bool running;
	char *bufs; /* VLEN x (DGRAM_MAX + 1) */
	double last_log;
};

/* Returns 0, -1 (err), or -2 when the socket came out wider than 0660. */
static int open_unix(struct dsock *s, const char *path, bool insecure, char *err, size_t errlen)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	mode_t old;
	int rc;

	if (strlen(path) >= sizeof(a.sun_path) || !path[0]) {
		snprintf(err, errlen, "unix:%s: path empty or longer than %zu bytes", path,
		         sizeof(a.sun_path) - 1);
		return -1;
	}
	memcpy(a.sun_path, path, strlen(path) + 1);
	/* A socket file left by an earlier run is ours to replace; anything
	 * else at that path is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "unix:%s: exists and is not a socket", path);
			return -1;
		}
		unlink(path);
	}
	s->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0) {
		snprintf(err, errlen, "unix:%s: %s", path, strerror(errno));
		return -1;
	}
	/* Sending needs write permission on the socket file: created 0660 or
	 * stricter (a stricter umask still applies), so there is no window in
	 * which others may send. This runs in agent_init, before the agent
	 * starts any thread. */
	old = umask(0117);
	umask(old | 0117);
	rc = bind(s->fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (rc != 0) {
		snprintf(err, errlen, "unix:%s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(s->unix_path, sizeof(s->unix_path), "%s", path);
	if (!insecure && guard_unix_mode_ok(path, err, errlen) != 0)
		return -2;
	return 0;
}

static int open_udp(struct dsock *s, const char *hostport, char *err, size_t errlen)
{
	char host[256];
	const char *port;
	struct addrinfo hints, *res = NULL;
	int rc;

	if (hostport[0] == '[') {
		const char *rb = strchr(hostport, ']');
		if (!rb || rb[1] != ':' || (size_t)(rb - hostport) >= sizeof(host))
			goto bad;
		memcpy(host, hostport + 1, (size_t)(rb - hostport - 1));
		host[rb - hostport - 1] = '\0';
		port = rb + 2;
	} else {
		const char *c = strrchr(hostport, ':');
		if (!c || (size_t)(c - hostport) >= sizeof(host))
			goto bad;
		memcpy(host, hostport, (size_t)(c - hostport));
		host[c - hostport] = '\0';
		port = c + 1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV | (host[0] ? 0 : AI_PASSIVE);
	rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
	if (rc != 0 || !res) {
		snprintf(err, errlen, "udp://%s: %s", hostport, gai_strerror(rc));
		return -1;
	}
	s->fd = socket(res->ai_family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (s->fd < 0 || bind(s->fd, res->ai_addr, res->ai_addrlen) != 0) {
		snprintf(err, errlen, "udp://%s: %s", hostport, strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return 0;
bad:
	snprintf(err, errlen, "udp://%s: expected udp://HOST:PORT", hostport);
	return -1;
}

struct dgram *dgram_open(struct agent *ag, const struct strlist *urls, bool *refused, char *err,
                         size_t errlen)
{
	struct dgram *d = calloc(1, sizeof(*d));

	if (!d || !(d->socks = calloc(urls->n ? urls->n : 1, sizeof(*d->socks)))) {
		free(d);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	d->ag = ag;
	d->stop_pipe[0] = d->stop_pipe[1] = -1;
	for (size_t i = 0; i < urls->n; i++) {
		const char *u = urls->v[i];
		struct dsock *s = &d->socks[d->n++];
		int rc, one = 1, size = RCVBUF;

		s->fd = -1;
		if (strncmp(u, "unix://", 7) == 0)
			rc = open_unix(s, u + 7, ag->ac->insecure, err, errlen);
		else if (strncmp(u, "unix:", 5) == 0)
			rc = open_unix(s, u + 5, ag->ac->insecure, err, errlen);
		else if (strncmp(u, "udp://", 6) == 0)
			rc = open_udp(s, u + 6, err, errlen);
		else {
			snprintf(err, errlen, "'%s': expected unix:PATH or udp://HOST:PORT", u);
			rc = -1;
		}
		if (rc) {
			*refused = rc == -2;
			dgram_close(d);
			return NULL;
		}
		/* As big a buffer as allowed: bursts wait in the kernel, not in
		 * the sender. SO_RCVBUFFORCE works for root beyond rmem_max. */
		if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) != 0)
			setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
		setsockopt(s->fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one));
	}
	return d;
}

/* Parses one datagram into eb: the whole as NDJSON, else line by line so
 * good lines survive a bad one. Returns the number of rejected items. */
static size_t parse_one(struct dgram *d, const char *buf, size_t len, struct event_batch *eb,
                        double now)
{
	struct event_error err;
	size_t max = (size_t)d->ag->ac->max_events_per_request, bad = 0, n0 = eb->n_events;
	int rc = event_parse_body(buf, len, EVENT_BODY_EVENTS, now, max, eb, &err);

	/* A vector of another dimension than its feature's refuses the
	 * datagram whole, as a bad value would (vecdim counts it). */
	if (rc == 0 && vecdim_check(d->ag->vecdim, eb->events + n0, eb->n_events - n0, &err)) {
		eb->n_events = n0;
		rc = -3;
	}
	if (rc == -1 && err.vector_reason)
		stats_vector_refused(err.vector_reason);

	if (rc == 0)
		return 0;
	if (rc == -1 && memchr(buf, '\n', len)) {
		const char *p = buf, *end = buf + len;
		while (p < end) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));
			const char *le = nl ? nl : end;
			bool blank = true;
			for (const char *q = p; q < le; q++)
				blank &= *q == ' ' || *q == '\t' || *q == '\r';
			size_t k0 = eb->n_events;
			int lrc = blank ? 0
			                : event_parse_body(p, (size_t)(le - p), EVENT_BODY_EVENTS,
			                                   now, 1, eb, &err);
			if (lrc == -1 && err.vector_reason)
				stats_vector_refused(err.vector_reason);
			if (lrc == 0 &&
			    vecdim_check(d->ag->vecdim, eb->events + k0, eb->n_events - k0, &err)) {
				eb->n_events = k0;
				lrc = -1;
			}
			if (lrc != 0) {
				stats_rejected(REJ_MALFORMED, 1);
				bad++;
			}
			p = nl ? nl + 1 : end;
		}
		return bad;
	}
	stats_rejected(rc == -2 ? REJ_TOO_MANY : REJ_MALFORMED, 1);
	if (now - d->last_log > 10) {
		char msg[512];
		event_error_format(&err, msg, sizeof(msg));
		log_warn("dgram",
		         "rejected datagram (further ones are only counted for 10 s) "
		         "reason=\"%s\"",
		         msg);
		d->last_log = now;
	}
	return 1;
}

static void drain(struct dgram *d, struct dsock *s)
{
	struct mmsghdr msgs[VLEN];
	struct iovec iov[VLEN];
	char ctl[VLEN][CMSG_SPACE(sizeof(uint32_t))];
	struct event_batch eb;

	event_batch_init(&eb);
	for (int round = 0; round < 64; round++) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < VLEN; i++) {
			iov[i].iov_base = d->bufs + (size_t)i * (DGRAM_MAX + 1);
			iov[i].iov_len = DGRAM_MAX;
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
			msgs[i].msg_hdr.msg_control = ctl[i];
			msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
		}
		int n = recvmmsg(s->fd, msgs, VLEN, MSG_DONTWAIT, NULL);
		if (n <= 0)
			break;
		double now = clock_now();
		stats_add(ST_DGRAM_RECEIVED, (uint64_t)n);
		for (int i = 0; i < n; i++) {
			struct msghdr *mh = &msgs[i].msg_hdr;
			for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c))
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
					uint32_t v;
					memcpy(&v, CMSG_DATA(c), sizeof(v));
					if (s->have_ovfl && v > s->last_ovfl)
						stats_add(ST_DGRAM_KERNEL_DROPS, v - s->last_ovfl);
					else if (!s->have_ovfl)
						stats_add(ST_DGRAM_KERNEL_DROPS, v);
					s->last_ovfl = v;
					s->have_ovfl = true;
				}
			if (mh->msg_flags & MSG_TRUNC) {
				stats_rejected(REJ_TOO_LARGE, 1);
				continue;
			}
			parse_one(d, iov[i].iov_base, msgs[i].msg_len, &eb, now);
		}
		if (eb.n_events) {
			int rc = agent_submit(d->ag, INPUT_DGRAM, eb.events, eb.n_events, NULL, 0,
			                      NULL, NULL);
			if (rc == -EAGAIN)
				stats_rejected(REJ_OVERLOADED, eb.n_events);
			else if (rc)
				log_error("dgram", "out of memory: events lost n=%zu", eb.n_events);
		}
		event_batch_reset(&eb);
		if (n < VLEN)
			break;
	}
	event_batch_reset(&eb);
}

static void *thread_main(void *arg)
{
	struct dgram *d = arg;
	struct pollfd *pf = calloc(d->n + 1, sizeof(*pf));

	if (!pf) {
		log_error("dgram", "out of memory: datagram input stopped");
		return NULL;
	}
	for (size_t i = 0; i < d->n; i++) {
		pf[i].fd = d->socks[i].fd;
		pf[i].events = POLLIN;
	}
	pf[d->n].fd = d->stop_pipe[0];
	pf[d->n].events = POLLIN;
	for (;;) {
		int r = poll(pf, d->n + 1, 1000);
		if (r < 0 && errno != EINTR)
			break;
		if (pf[d->n].revents)
			break;
		for (size_t i = 0; i < d->n; i++)
			if (pf[i].revents & POLLIN)
				drain(d, &d->socks[i]);
	}
	free(pf);
	return NULL;
}

int dgram_start(struct dgram *d, char *err, size_t errlen)
{
	d->bufs = malloc((size_t)VLEN * (DGRAM_MAX + 1));
	if (!d->bufs || pipe2(d->stop_pipe, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "cannot set up: %s", strerror(errno ? errno : ENOMEM));
		return -1;
	}
	if (pthread_create(&d->thread, NULL, thread_main, d) != 0) {
		snprintf(err, errlen, "cannot start the datagram thread");
		return -1;
	}
	pthread_setname_np(d->thread, "mlw-dgram");
	d->running = true;
	return 0;
}

void dgram_stop(struct dgram *d)
{
	if (!d || !d->running)
		return;
	if (write(d->stop_pipe[1], "x", 1) < 0)
		log_warn("dgram", "cannot wake the reader error=%s", strerror(errno));
	pthread_join(d->thread, NULL);
	d->running = false;
}

void dgram_close(struct dgram *d)
{
	if (!d)
		return;
	dgram_stop(d);
	for (size_t i = 0; i < d->n; i++) {
		if (d->socks[i].fd >= 0)
			close(d->socks[i].fd);
		if (d->socks[i].unix_path[0])
			unlink(d->socks[i].unix_path);
	}
	for (int i = 0; i < 2; i++)
		if (d->stop_pipe[i] >= 0)
			close(d->stop_pipe[i]);
	free(d->socks);
	free(d->bufs);
	free(d);
}
