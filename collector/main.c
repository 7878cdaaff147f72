/* mlwatchd: receives batches from mlwatch-agent, stores them in SQLite or PostgreSQL,
 * computes windows, latency, accuracy and drift, evaluates alert rules and
 * serves /metrics.
 *
 * main() owns struct collector and every module's lifetime. SIGTERM and
 * SIGINT are blocked in every thread and taken here with sigwait, so the
 * shutdown runs on this thread: stop accepting (close the listener), let
 * the writer commit what it holds, stop the analysis, checkpoint, exit 0. */
#include <errno.h>
#include <nng/nng.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sigwait_main.h"
#include "analyze.h"
#include "rollup.h"
#include "cli.h"
#include "clock.h"
#include "alerting.h"
#include "collector.h"
#include "config.h"
#include "db.h"
#include "dblock.h"
#include "event.h"
#include "guard.h"
#include "http.h"
#include "ingest.h"
#include "listen.h"
#include "log.h"
#include "stats.h"

static const char usage[] =
    "Usage: mlwatchd [--config FILE] [--db PATH] [--listen URL] [--http ADDR|off]\n"
    "                [--token-file FILE] [--window DUR] [--insecure] [--tls-ca FILE]\n"
    "                [--tls-cert FILE] [--tls-key FILE] [--log-level LEVEL] [--standby]\n"
    "\n"
    "Receives batches from mlwatch-agent, stores them in SQLite or PostgreSQL, computes windows,\n"
    "latency, accuracy and drift, evaluates alert rules and delivers notifications.\n"
    "SIGTERM or SIGINT: stop accepting, commit what was received, checkpoint, exit.\n"
    "\n"
    "  --help       print this help and exit\n"
    "  --version    print the version and exit\n"
    "  --config FILE  read FILE (default /etc/mlwatch/mlwatch.conf if present)\n"
    "  --standby    when another mlwatchd holds the database, wait as a hot standby\n"
    "               and take over when it stops or dies (default: refuse to start)\n";

static const struct cli_flag extra_flags[] = {{"standby", false}, {NULL, false}};

/* While a standby waits: sleeps step_ms unless SIGTERM/SIGINT comes. */
static bool standby_keep_going(void *arg, int step_ms)
{
	const sigset_t *sigs = arg;
	struct timespec ts = {.tv_sec = step_ms / 1000,
	                      .tv_nsec = (long)(step_ms % 1000) * 1000000L};
	int sig = sigtimedwait(sigs, NULL, &ts);

	return sig < 0; /* EAGAIN (timeout) or EINTR: keep waiting */
}

/* Removes the database files a failed start created: a refused start leaves
 * nothing behind (only called while holding the store's lock). */
static void remove_created_db(const char *db)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char p[4200];

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", db, sfx[i]);
		unlink(p);
	}
}

static bool set(const char *s)
{
	return s && *s;
}

/* Once at start: every address listened on and what protects it; a
 * warning for each one open to the network without authentication. */
static void log_listeners(const struct collector_config *cc, const struct listen_opts *lo,
                          const struct guard_http *hg)
{
	const char *u = cc->listen;
	bool tls = strncmp(u, "tls+tcp://", 10) == 0;

	if (strncmp(u, "ipc://", 6) == 0)
		log_info("collector", "listening on=%s protection=%sipc-mode-0600", u,
		         lo->have_token ? "token+" : "");
	else if (listen_url_is_local(u))
		log_info("collector", "listening on=%s protection=%s%sloopback", u,
		         lo->have_token ? "token+" : "", tls ? "tls+" : "");
	else if (lo->have_token || tls)
		log_info("collector", "listening on=%s protection=%s%s%s", u,
		         tls ? (lo->tls_verify_clients ? "tls+client-cert" : "tls") : "",
		         tls && lo->have_token ? "+" : "", lo->have_token ? "token" : "");
	else
		log_warn("collector",
		         "listening on=%s protection=none (--insecure): anyone who can reach it "
		         "can send batches",
		         u);
	if (!hg)
		return;
	const char *scheme = hg->cert ? "https" : "http";
	if (guard_hostport_is_local(cc->http))
		log_info("collector", "listening on=%s://%s protection=%s+loopback", scheme,
		         cc->http, guard_http_describe(hg));
	else if (guard_http_authenticated(hg))
		log_info("collector", "listening on=%s://%s protection=%s", scheme, cc->http,
		         guard_http_describe(hg));
	else
		log_warn("collector",
		         "listening on=%s://%s protection=none (--insecure): anyone who can reach "
		         "it can read /metrics and the alert pages",
		         scheme, cc->http);
}

/* Set when listen_stop had to leave the agents' socket open (an nng 1.5
 * deadlock in nng_close): main then skips nng_fini. */
static bool nng_left_open;

static int run(struct mlw_config *cfg, bool standby)
{
	const struct collector_config *cc = &cfg->collector;
	struct collector c = {0};
	struct ingest *ing = NULL;
	struct listener *lst = NULL;
	struct analyze *an = NULL;
	struct rollup *ru = NULL;
	struct httpd *http = NULL;
	struct guard_http hg = {0};
	bool http_on = set(cc->http) && strcmp(cc->http, "off") != 0;
	struct stats_src stats = {0};
	bool stats_on = false;
	char err[512];
	char *token = NULL;
	struct dblock lock = {.fd = -1};
	bool db_existed = true, started = false;
	pid_t holder = 0;
	sigset_t sigs;
	int sig = 0, rc = 1;

	if (cc->window_ms % 1000 != 0) {
		fprintf(stderr, "mlwatchd: error: --window must be a whole number of seconds\n");
		return 2;
	}
	/* A test or a simulation may run the collector on a clock of its own
	 * (MLWATCH_CLOCK_FILE): refused when unusable, never real time instead. */
	int sim = clock_sim_init(err, sizeof(err));
	if (sim < 0) {
		fprintf(stderr, "mlwatchd: error: %s\n", err);
		return 2;
	}
	if (sim > 0) {
		char now[40];
		log_warn("collector", "simulated clock from %s time=%s", clock_sim_path(),
		         clock_format_rfc3339(clock_now(), now, sizeof(now)));
	}
	if (set(cc->token_file)) {
		token = config_read_secret(cc->token_file, err, sizeof(err));
		if (!token) {
			fprintf(stderr, "mlwatchd: error: --token-file: %s\n", err);
			return 2;
		}
	}
	struct listen_opts lo = {
	    .url = cc->listen,
	    .tls_ca = cc->tls_ca,
	    .tls_cert = cc->tls_cert,
	    .tls_key = cc->tls_key,
	    .tls_verify_clients = cc->tls_verify_clients,
	    .insecure = cc->insecure,
	    .have_token = token != NULL,
	    .max_message = cc->max_message,
	    .workers = (int)cc->workers,
	};
	if (listen_check(&lo, err, sizeof(err))) {
		fprintf(stderr, "mlwatchd: error: %s\n", err);
		rc = 2;
		goto out;
	}
	/* The same rule for --http (/metrics and every page beside it). */
	if (http_on && !guard_hostport_is_local(cc->http) && !cc->insecure &&
	    !set(cc->http_token_file) && !set(cc->http_tls_cert)) {
		guard_refusal(err, sizeof(err), cc->http, "--http",
		              "neither a token (--http-token-file) nor TLS (--http-tls-cert and "
		              "--http-tls-key) is configured",
		              "readers of /metrics");
		fprintf(stderr, "mlwatchd: error: %s\n", err);
		rc = 2;
		goto out;
	}
	if (http_on && guard_http_load(&hg, "--http-", cc->http_token_file, cc->http_tls_cert,
	                               cc->http_tls_key, cc->http_tls_ca, err, sizeof(err))) {
		fprintf(stderr, "mlwatchd: error: %s\n", err);
		rc = 2;
		goto out;
	}
	if (alerting_check_config(cfg, err, sizeof(err))) {
		fprintf(stderr, "mlwatchd: error: %s\n", err);
		rc = 2;
		goto out;
	}

	/* Signals are blocked before any thread of ours starts, so every
	 * thread inherits the mask and only sigwait below sees them (a
	 * library's own threads pass them here: sigwait_main.h). */
	sigwait_main_setup(&sigs);

	/* One collector per SQLite store, decided before anything touches it;
	 * several share a PostgreSQL database. Messages show the target with
	 * any password masked. */
	const bool on_pg = db_is_postgres(cc->db);
	char shown[1024];
	if (db_check_target(cc->db, err, sizeof(err))) {
		fprintf(stderr, "mlwatchd: error: %s\n", err);
		goto out;
	}
	db_redact(cc->db, shown, sizeof(shown));
	int lr = on_pg ? 0 : dblock_try(&lock, cc->db, &holder, err, sizeof(err));
	if (lr == 1 && !standby) {
		if (holder > 0)
			fprintf(stderr, "mlwatchd: error: %s is in use by mlwatchd pid %ld\n",
			        shown, (long)holder);
		else
			fprintf(stderr, "mlwatchd: error: %s is in use by another mlwatchd\n",
			        shown);
		goto out;
	}
	if (lr == 1) {
		double t0 = clock_mono();
		log_info("collector", "standby db=%s holder_pid=%ld msg=\"waiting to take over\"",
		         shown, (long)holder);
		lr = dblock_wait(&lock, cc->db, 100, standby_keep_going, &sigs, err, sizeof(err));
		if (lr == 1) {
			log_info("collector", "stopped while on standby");
			rc = 0;
			goto out;
		}
		if (lr == 0)
			log_info("collector", "taking over db=%s previous_pid=%ld waited=%.1fs",
			         shown, (long)holder, clock_mono() - t0);
	}
	if (lr != 0) {
		fprintf(stderr, "mlwatchd: error: %s\n", err);
		goto out;
	}
	db_existed = on_pg || access(cc->db, F_OK) == 0;
	/* PostgreSQL down at start: one line, then retries with backoff while
	 * agents spool (a wrong password or database is not retried: the
	 * store's open below fails with one line and exit 1) */
	for (double wait = 0.5, t0 = clock_mono(); on_pg && !db_pg_reachable(cc->db);
	     wait = wait * 2 > 10 ? 10 : wait * 2) {
		struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
		if (wait == 0.5)
			log_warn(
			    "collector",
			    "postgresql unreachable db=%s msg=\"retrying with backoff up to 10s\"",
			    shown);
		if (sigtimedwait(&sigs, NULL, &ts) >= 0) {
			log_info("collector", "stopped while waiting for postgresql after %.1fs",
			         clock_mono() - t0);
			rc = 0;
			goto out;
		}
	}

	c.cfg = cfg;
	c.db_path = cc->db;
	c.started = clock_now();
	c.ring = ring_new(COLLECTOR_RING_SECONDS);
	c.metrics = metrics_new();
	if (!c.ring || !c.metrics) {
		log_error("collector", "out of memory");
		goto out;
	}
	/* The HTTP port before the store: a busy port must not leave a
	 * database behind (the nng listener needs the ingest; a failure there
	 * removes the files below). */
	if (http_on) {
		if (http_start(&http, cc->http, c.metrics, &hg, err, sizeof(err))) {
			log_error("collector", "cannot start msg=\"%s\"", err);
			goto out;
		}
		http_serve_alerts(http, cfg, cc->db);
	}
	struct ingest_opts io = {
	    .window_s = cc->window_ms / 1000,
	    .future_max_s = EVENT_FUTURE_MAX_S,
	    .retention_raw_s = (double)cc->retention_raw_ms / 1000.0,
	    .retention_windows_s = (double)cc->retention_windows_ms / 1000.0,
	    .label_ttl_s = (double)cc->label_ttl_ms / 1000.0,
	    .seen_keep_s = 86400,
	    .max_message = cc->max_message,
	    .token = token,
	    .token_len = token ? strlen(token) : 0,
	    .synchronous_full = strcmp(cc->synchronous, "full") == 0,
	};
	if (ingest_start(&ing, &c, &io, err, sizeof(err))) {
		log_error("collector", "cannot start msg=\"%s\"", err);
		goto out;
	}
	if (analyze_start(&an, &c, err, sizeof(err))) {
		log_error("collector", "cannot start the analysis msg=\"%s\"", err);
		goto out;
	}
	if (rollup_start(&ru, &c, err, sizeof(err))) {
		log_error("collector", "cannot start the rollup msg=\"%s\"", err);
		goto out;
	}
	stats.c = &c;
	stats.ing = ing;
	if (alerting_start(&c))
		goto out;
	if (listen_start(&lst, &lo, ing, err, sizeof(err))) {
		log_error("collector", "cannot start msg=\"%s\"", err);
		goto out;
	}
	stats.lst = lst;
	stats_on = stats_register(&stats) == 0;
	log_listeners(cc, &lo, http_on ? &hg : NULL);
	log_info("collector", "listening listen=%s http=%s db=%s window=%llds", cc->listen,
	         set(cc->http) ? cc->http : "off", shown, (long long)(cc->window_ms / 1000));

	while (sigwait(&sigs, &sig) != 0)
		;
	log_info("collector", "shutting down signal=%s", sig == SIGINT ? "SIGINT" : "SIGTERM");
	atomic_store(&c.stopping, true);
	rc = 0;
	started = true;
out:
	/* Order: no new batches, then commit the queued ones, then stop
	 * readers of the database, then close it (checkpoint). */
	if (stats_on) /* it reads the listener: gone before the listener is */
		stats_unregister(&stats);
	if (listen_stop(lst) != 0)
		nng_left_open = true;
	alerting_stop();
	http_stop(http);
	guard_http_free(&hg);
	rollup_stop(ru);
	analyze_stop(an);
	ingest_stop(ing);
	ring_free(c.ring);
	metrics_free(c.metrics);
	if (token) {
		memset(token, 0, strlen(token));
		free(token);
	}
	if (!started && !db_existed && lock.fd >= 0)
		remove_created_db(cc->db);
	dblock_release(&lock, !started && !db_existed && lock.created);
	if (rc == 0 && started)
		log_info("collector", "stopped");
	return rc;
}

int main(int argc, char **argv)
{
	struct mlw_config cfg;
	struct cli_result res;
	int rc =
	    cli_parse("mlwatchd", CONFIG_COLLECTOR, usage, extra_flags, argc, argv, &cfg, &res);

	if (rc == 0 && res.n_args > 0) {
		fprintf(stderr, "mlwatchd: error: unexpected argument '%s' (see --help)\n",
		        res.args[0]);
		rc = 2;
	}
	if (rc == 1) {
		rc = 0; /* --help or --version */
	} else if (rc == 0) {
		log_set_level(cfg.collector.log_level);
		rc = run(&cfg, cli_has(&res, "standby"));
	}
	cli_result_free(&res);
	config_free(&cfg);
	/* nng_fini waits for every socket to close: not for one that nng
	 * could not close (listen_stop) */
	if (!nng_left_open)
		nng_fini();
	return rc;
}
