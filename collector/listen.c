/* listen: see listen.h. */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "guard.h"
#include "ingest.h"
#include "log.h"

/* listen_stop cancels the workers' receives every STOP_POLL_MS until each
 * has left; a reply still not handed to its pipe after STOP_SEND_MS is
 * cancelled too (the agent resends, and the duplicate check answers). No
 * timeout on the operations themselves: nng puts every timed aio on its
 * expire queue, which cost the agent path ~10% of its throughput. */
#define STOP_POLL_MS  50
#define STOP_SEND_MS  5000
#define CLOSE_WAIT_MS 2000

struct worker {
	struct listener *l;
	pthread_t thread;
	bool started;
	atomic_bool receiving; /* between the stopping check and the end of a recv */
	nng_ctx ctx;
	nng_aio *aio;
};

struct listener {
	nng_socket sock;
	bool open;
	nng_listener lst;
	nng_tls_config *tls;
	struct ingest *ing;
	struct worker *w;
	int nworkers;
	atomic_long connections;
	atomic_bool stopping;
};

static bool set(const char *s)
{
	return s && *s;
}

static bool starts_with(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

bool listen_url_is_local(const char *url)
{
	char host[256];
	const char *h, *end;
	size_t n;

	if (starts_with(url, "ipc://") || starts_with(url, "inproc://"))
		return true;
	h = strstr(url, "://");
	if (!h)
		return false;
	h += 3;
	if (*h == '[') {
		end = strchr(h, ']');
		if (!end)
			return false;
		h++;
	} else {
		end = strrchr(h, ':');
		if (!end)
			end = h + strlen(h);
	}
	n = (size_t)(end - h);
	if (n == 0 || n >= sizeof(host))
		return false; /* tcp://:7070 means every interface */
	memcpy(host, h, n);
	host[n] = '\0';
	return guard_host_is_local(host);
}

int listen_check(const struct listen_opts *o, char *err, size_t errlen)
{
	bool tls = starts_with(o->url, "tls+tcp://");

	if (!starts_with(o->url, "tcp://") && !tls && !starts_with(o->url, "ipc://") &&
	    !starts_with(o->url, "inproc://")) {
		snprintf(err, errlen,
		         "--listen %s: unsupported URL (use tcp://HOST:PORT, ipc:///PATH or "
		         "tls+tcp://HOST:PORT)",
		         o->url);
		return -1;
	}
	if (tls && (!set(o->tls_cert) || !set(o->tls_key))) {
		snprintf(err, errlen, "--listen %s needs --tls-cert and --tls-key", o->url);
		return -1;
	}
	if (!tls && (set(o->tls_cert) || set(o->tls_key) || set(o->tls_ca))) {
		snprintf(err, errlen,
		         "TLS files are set but --listen %s is not tls+tcp://; use "
		         "tls+tcp://HOST:PORT",
		         o->url);
		return -1;
	}
	if (o->tls_verify_clients && !set(o->tls_ca)) {
		snprintf(err, errlen, "tls_verify_clients needs --tls-ca to verify them against");
		return -1;
	}
	if (!listen_url_is_local(o->url) && !o->have_token && !tls && !o->insecure) {
		snprintf(err, errlen,
		         "refusing to listen on %s: not a loopback address, and neither a token "
		         "(--token-file) nor TLS (tls+tcp://) is configured; pass --insecure to "
		         "accept unauthenticated agents from the network",
		         o->url);
		return -1;
	}
	return 0;
}

static char *read_pem(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (1 << 20) ||
	    fseek(f, 0, SEEK_SET) != 0) {
		snprintf(err, errlen, "%s: unreadable or larger than 1 MiB", path);
		goto out;
	}
	buf = malloc((size_t)n + 1);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, errlen, "%s: read error", path);
		free(buf);
		buf = NULL;
		goto out;
	}
	buf[n] = '\0';
out:
	fclose(f);
	return buf;
}

static int tls_setup(struct listener *l, const struct listen_opts *o, char *err, size_t errlen)
{
	char *cert = NULL, *key = NULL, *ca = NULL;
	int rv, rc = -1;

	if ((rv = nng_tls_config_alloc(&l->tls, NNG_TLS_MODE_SERVER)) != 0) {
		snprintf(err, errlen, "TLS unavailable: %s", nng_strerror(rv));
		return -1;
	}
	if (!(cert = read_pem(o->tls_cert, err, errlen)) ||
	    !(key = read_pem(o->tls_key, err, errlen)))
		goto out;
	if ((rv = nng_tls_config_own_cert(l->tls, cert, key, NULL)) != 0) {
		snprintf(err, errlen, "--tls-cert %s / --tls-key %s: %s", o->tls_cert, o->tls_key,
		         nng_strerror(rv));
		goto out;
	}
	if (set(o->tls_ca)) {
		if (!(ca = read_pem(o->tls_ca, err, errlen)))
			goto out;
		if ((rv = nng_tls_config_ca_chain(l->tls, ca, NULL)) != 0) {
			snprintf(err, errlen, "--tls-ca %s: %s", o->tls_ca, nng_strerror(rv));
			goto out;
		}
	}
	rv = nng_tls_config_auth_mode(l->tls, o->tls_verify_clients ? NNG_TLS_AUTH_MODE_REQUIRED
	                                                            : NNG_TLS_AUTH_MODE_NONE);
	if (rv != 0) {
		snprintf(err, errlen, "TLS auth mode: %s", nng_strerror(rv));
		goto out;
	}
	rc = 0;
out:
	free(cert);
	if (key) {
		/* the private key should not linger in freed memory */
		memset(key, 0, strlen(key));
		free(key);
	}
	free(ca);
	return rc;
}

static void pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct listener *l = arg;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&l->connections, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&l->connections, 1);
}

long listen_connections(const struct listener *l)
{
	return l ? atomic_load(&l->connections) : 0;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_setname_np(pthread_self(), "mlw-listen");
	/* The worker leaves by itself when the listener stops, and only then is
	 * the socket closed: nng 1.5 can panic (pthread_mutex_lock: Invalid
	 * argument, inside nng_ctx_send) when the socket is closed while another
	 * thread is still in a context call; mlwatchd died so at a SIGTERM that
	 * came just after a reply (as nanomsg/nng#2110 and faasm/faabric#290). */
	for (;;) {
		nng_msg *msg;
		uint8_t *reply = NULL;
		size_t reply_len = 0;
		int rv;

		/* receiving first, stopping after: a stop that comes between
		 * them finds receiving set and cancels until we are gone */
		atomic_store(&w->receiving, true);
		if (atomic_load(&w->l->stopping))
			break;
		nng_ctx_recv(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		rv = nng_aio_result(w->aio);
		atomic_store(&w->receiving, false);
		if (rv == NNG_ECLOSED || rv == NNG_ECANCELED)
			break;
		if (rv != 0)
			continue;
		msg = nng_aio_get_msg(w->aio);
		if (ingest_handle(w->l->ing, nng_msg_body(msg), nng_msg_len(msg), &reply,
		                  &reply_len) != 0) {
			nng_msg_free(msg);
			continue; /* no reply: the agent resends */
		}
		nng_msg_clear(msg);
		rv = nng_msg_append(msg, reply, reply_len);
		free(reply);
		if (rv != 0) {
			nng_msg_free(msg);
			continue;
		}
		nng_aio_set_msg(w->aio, msg);
		nng_ctx_send(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if (nng_aio_result(w->aio) != 0)
			nng_msg_free(msg); /* peer gone: it resends, dedupe answers */
	}
	return NULL;
}

int listen_start(struct listener **out, const struct listen_opts *o, struct ingest *ing, char *err,
                 size_t errlen)
{
	struct listener *l = calloc(1, sizeof(*l));
	int rv;

	*out = NULL;
	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	l->ing = ing;
	if (listen_check(o, err, errlen))
		goto fail;
	if ((rv = nng_rep0_open(&l->sock)) != 0) {
		snprintf(err, errlen, "cannot open the REP socket: %s", nng_strerror(rv));
		goto fail;
	}
	l->open = true;
	/* Batches up to max_message are answered (INVALID when over it, so
	 * the agent learns why); a little slack above lets that reply reach
	 * slightly oversized senders, while anything larger is cut off by
	 * nng before it is buffered. */
	nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ, o->max_message + (1u << 20));
	nng_pipe_notify(l->sock, NNG_PIPE_EV_ADD_POST, pipe_cb, l);
	nng_pipe_notify(l->sock, NNG_PIPE_EV_REM_POST, pipe_cb, l);
	if ((rv = nng_listener_create(&l->lst, l->sock, o->url)) != 0) {
		snprintf(err, errlen, "--listen %s: %s", o->url, nng_strerror(rv));
		goto fail;
	}
	if (starts_with(o->url, "tls+tcp://")) {
		if (tls_setup(l, o, err, errlen))
			goto fail;
		if ((rv = nng_listener_set_ptr(l->lst, NNG_OPT_TLS_CONFIG, l->tls)) != 0) {
			snprintf(err, errlen, "--listen %s: TLS: %s", o->url, nng_strerror(rv));
			goto fail;
		}
	}
	if (starts_with(o->url, "ipc://"))
		nng_listener_set_int(l->lst, NNG_OPT_IPC_PERMISSIONS, 0600);
	if ((rv = nng_listener_start(l->lst, 0)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", o->url, nng_strerror(rv));
		goto fail;
	}
	l->nworkers = o->workers > 0 ? o->workers : 8;
	l->w = calloc((size_t)l->nworkers, sizeof(*l->w));
	if (!l->w) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (int i = 0; i < l->nworkers; i++) {
		struct worker *w = &l->w[i];
		w->l = l;
		if ((rv = nng_ctx_open(&w->ctx, l->sock)) != 0 ||
		    (rv = nng_aio_alloc(&w->aio, NULL, NULL)) != 0) {
			snprintf(err, errlen, "nng context: %s", nng_strerror(rv));
			goto fail;
		}
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			snprintf(err, errlen, "cannot start a listener thread");
			goto fail;
		}
		w->started = true;
	}
	*out = l;
	return 0;
fail:
	listen_stop(l);
	return -1;
}

/* nng_close, on a thread of its own, waited for at most CLOSE_WAIT_MS:
 * nng 1.5.2 (Debian 12) sometimes never returns from nng_close when agents
 * are still connected and sending (a deadlock in its pipe teardown, like
 * nanomsg/nng#1813); mlwatchd hung at SIGTERM in about one stop in six
 * under four busy agents. Returns 0 when closed, -1 when the wait ran out
 * (the thread is detached and keeps its own state). */
struct closer {
	nng_socket sock;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool done, abandoned;
};

static void closer_free(struct closer *c)
{
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
}

static void *closer_main(void *arg)
{
	struct closer *c = arg;
	bool abandoned;

	pthread_setname_np(pthread_self(), "mlw-listen-close");
	nng_close(c->sock);
	pthread_mutex_lock(&c->mu);
	c->done = true;
	abandoned = c->abandoned;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	if (abandoned)
		closer_free(c); /* listen_stop gave up on us: ours to free */
	return NULL;
}

static int close_bounded(nng_socket sock)
{
	struct closer *c = calloc(1, sizeof(*c));
	struct timespec until;
	pthread_t t;
	int rc = 0;

	if (!c) {
		nng_close(sock); /* no memory for the bound: close unbounded */
		return 0;
	}
	c->sock = sock;
	pthread_mutex_init(&c->mu, NULL);
	clock_cond_init_mono(&c->cv);
	if (pthread_create(&t, NULL, closer_main, c) != 0) {
		closer_free(c);
		nng_close(sock);
		return 0;
	}
	clock_mono_deadline(CLOSE_WAIT_MS / 1000.0, &until);
	pthread_mutex_lock(&c->mu);
	while (!c->done && pthread_cond_timedwait(&c->cv, &c->mu, &until) != ETIMEDOUT)
		;
	if (!c->done) {
		c->abandoned = true;
		rc = -1;
	}
	pthread_mutex_unlock(&c->mu);
	if (rc == 0) {
		pthread_join(t, NULL);
		closer_free(c);
	} else {
		pthread_detach(t);
	}
	return rc;
}

/* A listener whose socket nng did not close: kept reachable, not freed,
 * since nng's threads may still use its contexts until the exit (and leak
 * checkers see it is held on purpose). */
static struct listener *left_open;

int listen_stop(struct listener *l)
{
	if (!l)
		return 0;
	/* Workers first, the socket after: see worker_main. A worker waiting
	 * for a batch has its receive cancelled (again every STOP_POLL_MS, in
	 * case it posted one after the last cancel); one that holds a batch
	 * commits and answers it first, its reply cancelled only after
	 * STOP_SEND_MS. Not nng_listener_close before the join either:
	 * nng#2110 panics the same way with it. A batch that arrives meanwhile
	 * gets no reply and is resent by its agent. */
	atomic_store(&l->stopping, true);
	for (int i = 0; l->w && i < l->nworkers; i++) {
		struct worker *w = &l->w[i];
		double t0 = clock_mono();

		while (w->started) {
			struct timespec until;

			if (atomic_load(&w->receiving) || clock_mono() - t0 > STOP_SEND_MS / 1000.0)
				nng_aio_cancel(w->aio);
			clock_wall_deadline(STOP_POLL_MS / 1000.0, &until);
			if (pthread_timedjoin_np(w->thread, NULL, &until) == 0)
				w->started = false;
		}
	}
	if (l->open && close_bounded(l->sock) != 0) {
		/* the closing thread still holds the socket; the process is
		 * about to exit and takes the rest */
		log_warn("listen",
		         "the agents' socket did not close within %d ms (an nng 1.5 "
		         "deadlock); leaving it to the exit",
		         CLOSE_WAIT_MS);
		left_open = l;
		return -1;
	}
	for (int i = 0; l->w && i < l->nworkers; i++)
		if (l->w[i].aio)
			nng_aio_free(l->w[i].aio);
	free(l->w);
	if (l->tls)
		nng_tls_config_free(l->tls);
	free(l);
	return 0;
}
