/* agent: see agent.h. */
#include "sigwait_main.h"
#include "agent.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "batcher.h"
#include "clock.h"
#include "forward.h"
#include "ingest_dgram.h"
#include "ingest_http.h"
#include "ingest_kserve.h"
#include "bentoml.h"
#include "ingest_tail.h"
#include "log.h"
#include "sampler.h"
#include "spool.h"
#include "state.h"
#include "text.h"
#include "vecdim.h"

#define TICK_S             0.05
#define DRAIN_S            5.0
#define KSERVE_MAX_PENDING 10000

int agent_submit(struct agent *ag, enum stat_input in, const struct event *ev, size_t n_ev,
                 const struct label *lb, size_t n_lb, const struct tail_mark *mark, size_t *sampled)
{
	if (sampled)
		*sampled = 0;
	if (agent_overloaded(ag))
		return -EAGAIN;
	stats_received(in, n_ev);
	stats_add(ST_LABELS_RECEIVED, n_lb);
	return batcher_submit(ag->batcher, ev, n_ev, lb, n_lb, mark, sampled);
}

bool agent_overloaded(const struct agent *ag)
{
	return ag->fwd && forward_overloaded(ag->fwd);
}

static void on_safe(void *arg, const struct tail_mark *marks, size_t n)
{
	struct agent *ag = arg;
	if (ag->tail)
		tail_commit(ag->tail, marks, n);
}

static void on_batch(void *arg, struct obatch *b)
{
	struct agent *ag = arg;
	forward_enqueue(ag->fwd, b);
}

static int kserve_emit(void *arg, const struct event *ev, size_t n, size_t *sampled)
{
	return agent_submit(arg, INPUT_KSERVE, ev, n, NULL, 0, NULL, sampled);
}

static int pick_agent_id(struct agent *ag, char *err, size_t errlen)
{
	const char *id = ag->ac->agent_id;
	char host[256];

	if (!id || !id[0]) {
		if (gethostname(host, sizeof(host)) != 0 || !host[0])
			snprintf(host, sizeof(host), "agent");
		host[sizeof(host) - 1] = '\0';
		id = host;
	}
	size_t n = strlen(id);
	if (n < 1 || n > WIRE_AGENT_ID_MAX || !text_printable(id, n)) {
		snprintf(err, errlen, "--agent-id: must be 1-%d printable characters",
		         WIRE_AGENT_ID_MAX);
		return -1;
	}
	memcpy(ag->agent_id, id, n + 1);
	return 0;
}

/* More descriptors let more clients connect before the limits say no. */
static void raise_nofile(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static bool set(const char *s)
{
	return s && *s;
}

int agent_check_listeners(const struct agent_config *ac, char *err, size_t errlen)
{
	if (strcmp(ac->http, "off") != 0 && !guard_hostport_is_local(ac->http) && !ac->insecure &&
	    !set(ac->http_token_file) && !set(ac->http_tls_cert))
		return guard_refusal(err, errlen, ac->http, "--http",
		                     "neither a token (--http-token-file) nor TLS (--http-tls-cert "
		                     "and --http-tls-key) is configured",
		                     "clients");
	for (size_t i = 0; i < ac->listen_dgram.n; i++) {
		const char *u = ac->listen_dgram.v[i];
		if (strncmp(u, "udp://", 6) == 0 && !guard_hostport_is_local(u + 6) &&
		    !ac->insecure)
			return guard_refusal(err, errlen, u, "--listen-dgram",
			                     "datagrams cannot authenticate (use a loopback "
			                     "address, a unix: socket or the HTTP input with a "
			                     "token)",
			                     "datagrams");
	}
	return 0;
}

/* Once at start: every address listened on and what protects it; a
 * warning for each one open to the network without authentication. */
static void log_listeners(const struct agent *ag)
{
	const struct agent_config *ac = ag->ac;

	if (ag->http) {
		bool local = guard_hostport_is_local(ac->http);
		const char *how = guard_http_describe(&ag->http_guard);
		const char *scheme = ag->http_guard.cert ? "https" : "http";
		if (!local && !guard_http_authenticated(&ag->http_guard))
			log_warn(
			    "agent",
			    "listening on=%s://%s protection=none (--insecure): anyone who can "
			    "reach it can post events and labels and read /metrics",
			    scheme, ac->http);
		else
			log_info("agent", "listening on=%s://%s protection=%s%s", scheme, ac->http,
			         how, local ? "+loopback" : "");
	}
	for (size_t i = 0; i < ac->listen_dgram.n; i++) {
		const char *u = ac->listen_dgram.v[i];
		if (strncmp(u, "udp://", 6) != 0)
			log_info("agent", "listening on=%s protection=unix-mode-0660", u);
		else if (guard_hostport_is_local(u + 6))
			log_info("agent", "listening on=%s protection=loopback", u);
		else
			log_warn("agent",
			         "listening on=%s protection=none (--insecure): datagrams cannot "
			         "authenticate; anyone who can reach it can post events",
			         u);
	}
}

int agent_init(struct agent *ag, const struct mlw_config *cfg, char *err, size_t errlen)
{
	const struct agent_config *ac = &cfg->agent;
	char e[512];
	int rc;

	memset(ag, 0, sizeof(*ag));
	ag->cfg = cfg;
	ag->ac = ac;
	ag->started = clock_now();
	raise_nofile();
	if (pick_agent_id(ag, err, errlen))
		return -1;
	if (ac->token_file && ac->token_file[0]) {
		ag->token = config_read_secret(ac->token_file, e, sizeof(e));
		if (!ag->token) {
			snprintf(err, errlen, "--token-file: %s", e);
			return -1;
		}
	}
	if (guard_http_load(&ag->http_guard, "--http-", ac->http_token_file, ac->http_tls_cert,
	                    ac->http_tls_key, ac->http_tls_ca, err, errlen))
		return -1;
	rc = state_mkdirs(ac->state_dir);
	if (rc) {
		snprintf(err, errlen, "--state-dir %s: %s", ac->state_dir, strerror(-rc));
		return -1;
	}
	if (ac->spool_dir && ac->spool_dir[0])
		snprintf(ag->spool_dir, sizeof(ag->spool_dir), "%s", ac->spool_dir);
	else
		snprintf(ag->spool_dir, sizeof(ag->spool_dir), "%s/spool", ac->state_dir);
	ag->spool = spool_open(ag->spool_dir, ac->spool_max, e, sizeof(e));
	if (!ag->spool) {
		snprintf(err, errlen, "--spool-dir: %s", e);
		return -1;
	}
	ag->seq = seqgen_open(ac->state_dir, e, sizeof(e));
	if (!ag->seq) {
		snprintf(err, errlen, "--state-dir: %s", e);
		return -1;
	}
	ag->sampler = sampler_new(ac->sample_rate, cfg);
	ag->vecdim = vecdim_new();
	if (!ag->sampler || !ag->vecdim) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* Memory: bodies 3/8, queued batches 1/4 (twice that before 503),
	 * one open batch 1/16; the rest is parsing and the pending KServe halves. */
	ag->body_budget = (size_t)(ac->memory_max / 8 * 3);
	struct forward_config fc = {
	    .urls = (const char *const *)ac->collector.v,
	    .n_urls = ac->collector.n,
	    .tls_ca = ac->tls_ca,
	    .tls_cert = ac->tls_cert,
	    .tls_key = ac->tls_key,
	    .tls_server_name = ac->tls_server_name,
	    .inflight = (int)ac->inflight,
	    .resend_ms = ac->resend_ms,
	    .queue_max = (size_t)(ac->memory_max / 4),
	    .spool_after_s = 1.0,
	    .first_seq = seqgen_peek(ag->seq),
	    .token = (const uint8_t *)ag->token,
	    .token_len = ag->token ? strlen(ag->token) : 0,
	};
	ag->fwd = forward_new(&fc, ag->spool, on_safe, ag, e, sizeof(e));
	if (!ag->fwd) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	size_t batch_bytes = (size_t)(ac->memory_max / 16);
	if (batch_bytes > (4u << 20))
		batch_bytes = 4u << 20;
	struct batcher_config bc = {
	    .agent_id = ag->agent_id,
	    .token = (const uint8_t *)ag->token,
	    .token_len = ag->token ? strlen(ag->token) : 0,
	    .max_events = (size_t)ac->batch_max_events,
	    .max_delay_s = (double)ac->batch_max_delay_ms / 1000.0,
	    .max_bytes = batch_bytes,
	    .max_summaries = 4096,
	    .started = ag->started,
	};
	ag->batcher = batcher_new(&bc, ag->sampler, ag->seq, on_batch, ag);
	struct kserve_options ko = {
	    .ttl_s = (double)ac->kserve_ttl_ms / 1000.0,
	    .max_pending = KSERVE_MAX_PENDING,
	    .max_bytes = (size_t)(ac->memory_max / 8),
	    .max_inflated = (size_t)ac->max_body,
	    .mode = strcmp(ac->kserve_mode, "request") == 0    ? KSERVE_MODE_REQUEST
	            : strcmp(ac->kserve_mode, "response") == 0 ? KSERVE_MODE_RESPONSE
	                                                       : KSERVE_MODE_ALL,
	    .latency = strcmp(ac->kserve_latency, "ce_time") == 0 ? KSERVE_LATENCY_CE_TIME
	               : strcmp(ac->kserve_latency, "none") == 0  ? KSERVE_LATENCY_NONE
	                                                          : KSERVE_LATENCY_AUTO,
	    .component = ac->kserve_component,
	    .model_template = ac->kserve_model,
	};
	if (!ag->batcher) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ag->kserve = kserve_open(&ko, kserve_emit, ag, e, sizeof(e));
	if (!ag->kserve) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	/* Before any thread: it sets TZ for the process. */
	if (bentoml_set_timezone(ac->tail_timezone, e, sizeof(e))) {
		snprintf(err, errlen, "%s", e);
		return -1;
	}
	if (ac->tail.n) {
		ag->tail = tail_new(ag, &ac->tail, ac->state_dir, e, sizeof(e));
		if (!ag->tail) {
			snprintf(err, errlen, "--tail: %s", e);
			return -1;
		}
	}
	if (ac->listen_dgram.n) {
		bool refused = false;
		ag->dgram = dgram_open(ag, &ac->listen_dgram, &refused, e, sizeof(e));
		if (!ag->dgram) {
			snprintf(err, errlen, "--listen-dgram: %s", e);
			return refused ? -2 : -1;
		}
	}
	return 0;
}

void agent_fini(struct agent *ag)
{
	http_stop(ag->http);
	ag->http = NULL;
	dgram_close(ag->dgram);
	ag->dgram = NULL;
	forward_free(ag->fwd);
	ag->fwd = NULL;
	tail_free(ag->tail);
	ag->tail = NULL;
	kserve_free(ag->kserve);
	batcher_free(ag->batcher);
	spool_close(ag->spool);
	seqgen_close(ag->seq);
	sampler_free(ag->sampler);
	vecdim_free(ag->vecdim);
	if (ag->token) {
		memset(ag->token, 0, strlen(ag->token));
		free(ag->token);
	}
	guard_http_free(&ag->http_guard);
	memset(ag, 0, sizeof(*ag));
}

int agent_run(struct agent *ag)
{
	const struct agent_config *ac = ag->ac;
	sigset_t set;
	char err[512], line[1024];
	int status = 0;

	/* Signals are taken synchronously by this thread only; every thread
	 * started below inherits the mask. */
	sigwait_main_setup(&set);

	if (forward_start(ag->fwd, err, sizeof(err))) {
		log_error("agent", "cannot start forwarding error=%s", err);
		return 1;
	}
	if (ag->tail && tail_start(ag->tail, err, sizeof(err))) {
		log_error("agent", "cannot start tailing error=%s", err);
		status = 1;
		goto shutdown;
	}
	if (ag->dgram && dgram_start(ag->dgram, err, sizeof(err))) {
		log_error("agent", "cannot start datagram input error=%s", err);
		status = 1;
		goto shutdown;
	}
	if (strcmp(ac->http, "off") != 0) {
		ag->http = http_start(ag, ac->http, err, sizeof(err));
		if (!ag->http) {
			log_error("agent", "cannot start HTTP error=%s", err);
			status = 1;
			goto shutdown;
		}
	}
	log_listeners(ag);
	log_info("agent",
	         "agent ready agent_id=%s http=%s collector=%s dgram=%zu tail=%zu "
	         "spool=%s",
	         ag->agent_id, ac->http, forward_urls(ag->fwd), ac->listen_dgram.n, ac->tail.n,
	         ag->spool_dir);

	double next_stats = clock_mono() + (double)ac->stats_interval_ms / 1000.0;
	for (;;) {
		struct timespec ts = {0, (long)(TICK_S * 1e9)};
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig == SIGTERM || sig == SIGINT) {
			log_info("agent", "shutting down signal=%s",
			         sig == SIGTERM ? "TERM" : "INT");
			break;
		}
		double now = clock_mono();
		batcher_tick(ag->batcher, now);
		kserve_expire(ag->kserve, now);
		if (now >= next_stats) {
			stats_line(line, sizeof(line));
			log_info("agent", "stats %s", line);
			next_stats = now + (double)ac->stats_interval_ms / 1000.0;
		}
	}
shutdown:
	/* Inputs first, so nothing new arrives; then the open batch; then
	 * deliver or spool everything in memory. */
	http_stop(ag->http);
	ag->http = NULL;
	dgram_stop(ag->dgram);
	tail_stop(ag->tail);
	batcher_flush(ag->batcher);
	forward_stop(ag->fwd, DRAIN_S);
	stats_line(line, sizeof(line));
	log_info("agent", "stopped %s", line);
	return status;
}
