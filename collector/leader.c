/* leader: see leader.h. */
#include "leader.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"

/* Created by the first winner, under the advisory lock (so two nodes never
 * race on the catalog). id is always 1: one row, one epoch. */
static const char create_sql[] = "CREATE TABLE IF NOT EXISTS leader (\n"
                                 "  id integer PRIMARY KEY CHECK (id = 1),\n"
                                 "  epoch bigint NOT NULL,\n"
                                 "  node text NOT NULL,\n"
                                 "  since timestamptz NOT NULL,\n"
                                 "  heartbeat timestamptz NOT NULL)";

static const char claim_sql[] =
    "INSERT INTO leader (id, epoch, node, since, heartbeat) VALUES (1, 1, $1, now(), now())\n"
    "ON CONFLICT (id) DO UPDATE SET epoch = leader.epoch + 1, node = EXCLUDED.node,\n"
    "  since = now(), heartbeat = now()\n"
    "RETURNING epoch";

struct leader {
	struct leader_config cfg;
	char *conninfo;
	char node[128];

	pthread_t thread;
	bool started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stopping;      /* under mu */
	bool step_down_req; /* under mu */
	bool step_down_was_leader;
	char step_down_why[160];

	atomic_bool leader;
	atomic_int_fast64_t epoch;
	atomic_uint_fast64_t terms;

	/* Election thread only. */
	PGconn *conn;
	bool outage_logged;
};

/* ---- small helpers ----------------------------------------------------- */

/* The server's message as one line, without the trailing newline. */
static void pq_msg(PGconn *c, const PGresult *r, char *buf, size_t cap)
{
	const char *m = r ? PQresultErrorMessage(r) : NULL;
	if (!m || !*m)
		m = c ? PQerrorMessage(c) : "out of memory";
	snprintf(buf, cap, "%s", m);
	for (char *p = buf; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	size_t n = strlen(buf);
	while (n && buf[n - 1] == ' ')
		buf[--n] = '\0';
}

/* Waits up to s seconds or until stop or a step-down request. Returns
 * true when stopping. Called with mu not held. */
static bool wait_for(struct leader *l, double s)
{
	struct timespec ts;
	bool stop;

	clock_mono_deadline(s, &ts);
	pthread_mutex_lock(&l->mu);
	while (!l->stopping && !l->step_down_req) {
		if (pthread_cond_timedwait(&l->cv, &l->mu, &ts) == ETIMEDOUT)
			break;
	}
	stop = l->stopping;
	pthread_mutex_unlock(&l->mu);
	return stop;
}

static void set_state(struct leader *l, bool is_leader, int64_t epoch)
{
	bool was = atomic_exchange(&l->leader, is_leader);
	if (is_leader)
		atomic_store(&l->epoch, epoch);
	if (was != is_leader && l->cfg.on_change)
		l->cfg.on_change(l->cfg.on_change_arg, is_leader, atomic_load(&l->epoch));
}

/* Drops the session: the advisory lock goes with it. */
static void drop_conn(struct leader *l)
{
	if (l->conn) {
		PQfinish(l->conn);
		l->conn = NULL;
	}
}

/* Ends this node's term (was: it was leading until now) and drops the
 * session, releasing the lock if it still holds it. */
static void step_down_now(struct leader *l, bool was, const char *why)
{
	atomic_store(&l->leader, false);
	if (was) {
		log_warn("leader", "stepped down node=%s epoch=%" PRId64 " reason=\"%s\"", l->node,
		         (int64_t)atomic_load(&l->epoch), why);
		if (l->cfg.on_change)
			l->cfg.on_change(l->cfg.on_change_arg, false, atomic_load(&l->epoch));
	}
	drop_conn(l);
}

/* ---- the election thread ----------------------------------------------- */

static int connect_db(struct leader *l)
{
	char opts[200], ms[32];
	long lease_ms = (long)(l->cfg.lease_s * 1000);

	/* The session is the lease: the server ends it when this node is
	 * silent for lease_s. A statement or a lock wait is bounded by it too. */
	snprintf(opts, sizeof(opts),
	         "-c idle_session_timeout=%ld -c statement_timeout=%ld -c lock_timeout=%ld",
	         lease_ms, lease_ms, lease_ms);
	/* Unacknowledged data on a dead link fails the session within half the
	 * lease (at least 1 s), so a partitioned leader steps down first. */
	snprintf(ms, sizeof(ms), "%ld", lease_ms / 2 > 1000 ? lease_ms / 2 : 1000);
	const char *const keys[] = {"dbname",
	                            "connect_timeout",
	                            "keepalives",
	                            "keepalives_idle",
	                            "keepalives_interval",
	                            "keepalives_count",
	                            "tcp_user_timeout",
	                            "application_name",
	                            "options",
	                            NULL};
	const char *const vals[] = {l->conninfo,      "3",  "1", "1", "1", "3", ms,
	                            "mlwatch-leader", opts, NULL};
	PGconn *c = PQconnectdbParams(keys, vals, 1);
	if (PQstatus(c) != CONNECTION_OK) {
		char msg[300];
		pq_msg(c, NULL, msg, sizeof(msg));
		if (!l->outage_logged)
			log_error(
			    "leader",
			    "cannot reach PostgreSQL; retrying every %.1f s node=%s error=\"%s\"",
			    l->cfg.retry_s, l->node, msg);
		l->outage_logged = true;
		PQfinish(c);
		return -1;
	}
	if (l->outage_logged)
		log_info("leader", "PostgreSQL reachable again node=%s", l->node);
	l->outage_logged = false;
	l->conn = c;
	return 0;
}

/* Runs sql with params on the session; returns the result (caller clears)
 * or NULL with msg on failure (then the result was cleared). */
static PGresult *run(struct leader *l, const char *sql, int n, const char *const *params,
                     ExecStatusType want, char *msg, size_t cap)
{
	PGresult *r = PQexecParams(l->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(r) != want) {
		pq_msg(l->conn, r, msg, cap);
		PQclear(r);
		return NULL;
	}
	return r;
}

/* Holds the lock: records this node with the next epoch in one
 * transaction. Returns 0, or -1 with msg (the caller drops the session,
 * releasing the lock). */
static int claim(struct leader *l, char *msg, size_t cap)
{
	PGresult *r;
	const char *const p[1] = {l->node};
	char *end;
	int64_t epoch;

	if (!(r = run(l, "BEGIN", 0, NULL, PGRES_COMMAND_OK, msg, cap)))
		return -1;
	PQclear(r);
	if (!(r = run(l, create_sql, 0, NULL, PGRES_COMMAND_OK, msg, cap)))
		goto fail;
	PQclear(r);
	if (!(r = run(l, claim_sql, 1, p, PGRES_TUPLES_OK, msg, cap)))
		goto fail;
	errno = 0;
	epoch = strtoll(PQgetvalue(r, 0, 0), &end, 10);
	bool bad = errno || *end || epoch < 1; /* end points into r */
	PQclear(r);
	if (bad) {
		snprintf(msg, cap, "bad epoch returned");
		goto fail;
	}
	if (!(r = run(l, "COMMIT", 0, NULL, PGRES_COMMAND_OK, msg, cap)))
		return -1;
	PQclear(r);
	atomic_fetch_add(&l->terms, 1);
	set_state(l, true, epoch);
	log_info("leader", "elected: this node evaluates alerts node=%s epoch=%" PRId64, l->node,
	         epoch);
	return 0;
fail:
	PQclear(PQexec(l->conn, "ROLLBACK"));
	return -1;
}

/* One candidate round: 1 when elected, 0 when another holds the lock, -1
 * when the session failed (dropped). */
static int try_elect(struct leader *l)
{
	char key[32], msg[300];
	const char *const p[1] = {key};
	PGresult *r;

	snprintf(key, sizeof(key), "%" PRId64, l->cfg.key);
	r = run(l, "SELECT pg_try_advisory_lock($1::bigint)", 1, p, PGRES_TUPLES_OK, msg,
	        sizeof(msg));
	if (!r) {
		log_warn("leader", "election query failed node=%s error=\"%s\"", l->node, msg);
		drop_conn(l);
		return -1;
	}
	bool got = strcmp(PQgetvalue(r, 0, 0), "t") == 0;
	PQclear(r);
	if (!got)
		return 0;
	if (claim(l, msg, sizeof(msg)) != 0) {
		log_warn("leader",
		         "won the lock but could not record the epoch node=%s error=\"%s\"",
		         l->node, msg);
		drop_conn(l);
		return -1;
	}
	return 1;
}

/* The leader's heartbeat: the stored epoch must still be ours. */
static void heartbeat(struct leader *l)
{
	char ep[32], msg[300];
	const char *const p[1] = {ep};
	PGresult *r;

	snprintf(ep, sizeof(ep), "%" PRId64, (int64_t)atomic_load(&l->epoch));
	r = run(l, "UPDATE leader SET heartbeat = now() WHERE id = 1 AND epoch = $1::bigint", 1, p,
	        PGRES_COMMAND_OK, msg, sizeof(msg));
	if (!r) {
		char why[360];
		snprintf(why, sizeof(why), "lost the session: %s", msg);
		step_down_now(l, atomic_load(&l->leader), why);
		return;
	}
	bool ours = strcmp(PQcmdTuples(r), "1") == 0;
	PQclear(r);
	if (!ours)
		step_down_now(l, atomic_load(&l->leader), "another node holds a newer epoch");
}

static void *leader_main(void *arg)
{
	struct leader *l = arg;

	for (;;) {
		pthread_mutex_lock(&l->mu);
		bool stop = l->stopping, req = l->step_down_req, was = l->step_down_was_leader;
		char why[160];
		snprintf(why, sizeof(why), "%s", l->step_down_why);
		l->step_down_req = false;
		l->step_down_was_leader = false;
		pthread_mutex_unlock(&l->mu);
		if (stop)
			break;
		if (req) {
			/* leader_step_down cleared the flag already; was says whether
			 * this ends a term (logged, on_change called). */
			step_down_now(l, was, why);
			/* Leave the lock to the node that fenced us out. */
			if (wait_for(l, l->cfg.retry_s))
				break;
			continue;
		}
		if (!l->conn && connect_db(l) != 0) {
			if (wait_for(l, l->cfg.retry_s))
				break;
			continue;
		}
		if (atomic_load(&l->leader)) {
			heartbeat(l);
			if (wait_for(l,
			             atomic_load(&l->leader) ? l->cfg.heartbeat_s : l->cfg.retry_s))
				break;
		} else {
			int rc = try_elect(l);
			if (rc == 1)
				continue; /* heartbeat at once: proves the session */
			if (wait_for(l, l->cfg.retry_s))
				break;
		}
	}
	if (atomic_load(&l->leader))
		log_info("leader", "stopping: giving up leadership node=%s epoch=%" PRId64, l->node,
		         (int64_t)atomic_load(&l->epoch));
	set_state(l, false, 0);
	drop_conn(l);
	return NULL;
}

/* ---- API ---------------------------------------------------------------- */

struct leader *leader_new(const struct leader_config *cfg, char *err, size_t errlen)
{
	struct leader *l;

	if (!cfg->conninfo || !cfg->conninfo[0]) {
		snprintf(err, errlen, "leader election needs a PostgreSQL store");
		return NULL;
	}
	l = calloc(1, sizeof(*l));
	if (!l || !(l->conninfo = strdup(cfg->conninfo))) {
		free(l);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	l->cfg = *cfg;
	l->cfg.conninfo = l->conninfo;
	if (l->cfg.key == 0)
		l->cfg.key = LEADER_DEFAULT_KEY;
	if (l->cfg.lease_s == 0)
		l->cfg.lease_s = 10;
	if (l->cfg.retry_s == 0)
		l->cfg.retry_s = 0.5;
	if (l->cfg.heartbeat_s == 0)
		l->cfg.heartbeat_s = l->cfg.lease_s / 5;
	/* The heartbeat must come well within the lease, or the server ends
	 * a healthy leader's session. */
	if (l->cfg.lease_s < 1 || l->cfg.lease_s > 3600 || l->cfg.retry_s < 0.05 ||
	    l->cfg.retry_s > 60 || l->cfg.heartbeat_s < 0.05 ||
	    l->cfg.heartbeat_s > l->cfg.lease_s / 2) {
		snprintf(err, errlen,
		         "leader: lease %.2f s (1 to 3600), retry %.2f s (0.05 to 60), heartbeat "
		         "%.2f s (0.05 to half the lease)",
		         l->cfg.lease_s, l->cfg.retry_s, l->cfg.heartbeat_s);
		free(l->conninfo);
		free(l);
		return NULL;
	}
	if (cfg->node && cfg->node[0]) {
		if (strlen(cfg->node) >= sizeof(l->node)) {
			snprintf(err, errlen, "leader: node name longer than %zu bytes",
			         sizeof(l->node) - 1);
			free(l->conninfo);
			free(l);
			return NULL;
		}
		snprintf(l->node, sizeof(l->node), "%s", cfg->node);
	} else {
		char host[64] = "";
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "unknown");
		host[sizeof(host) - 1] = '\0';
		snprintf(l->node, sizeof(l->node), "%s:%ld", host, (long)getpid());
	}
	l->cfg.node = l->node;
	pthread_mutex_init(&l->mu, NULL);
	clock_cond_init_mono(&l->cv);
	return l;
}

int leader_start(struct leader *l, char *err, size_t errlen)
{
	if (pthread_create(&l->thread, NULL, leader_main, l) != 0) {
		snprintf(err, errlen, "cannot start the leader election thread");
		return -1;
	}
	pthread_setname_np(l->thread, "mlw-leader");
	l->started = true;
	return 0;
}

void leader_free(struct leader *l)
{
	if (!l)
		return;
	if (l->started) {
		pthread_mutex_lock(&l->mu);
		l->stopping = true;
		pthread_cond_signal(&l->cv);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	drop_conn(l);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cv);
	free(l->conninfo);
	free(l);
}

bool leader_is_leader(const struct leader *l)
{
	return l && atomic_load(&l->leader);
}

int64_t leader_epoch(const struct leader *l)
{
	return l ? (int64_t)atomic_load(&l->epoch) : 0;
}

const char *leader_node(const struct leader *l)
{
	return l ? l->node : "";
}

uint64_t leader_terms(const struct leader *l)
{
	return l ? (uint64_t)atomic_load(&l->terms) : 0;
}

void leader_step_down(struct leader *l, const char *why)
{
	if (!l)
		return;
	/* Visible at once to every thread; the session closes next, and the
	 * election thread logs the step-down and calls on_change. */
	bool was = atomic_exchange(&l->leader, false);
	pthread_mutex_lock(&l->mu);
	l->step_down_req = true;
	snprintf(l->step_down_why, sizeof(l->step_down_why), "%s", why ? why : "asked to");
	l->step_down_was_leader = was;
	pthread_cond_signal(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

int leader_fence_check(PGconn *conn, int64_t epoch, char *err, size_t errlen)
{
	char msg[300];
	PGresult *r = PQexec(conn, "SELECT epoch FROM leader WHERE id = 1 FOR SHARE");
	int rc;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		/* 42P01: no leader table yet, so nobody was ever elected. */
		if (state && strcmp(state, "42P01") == 0) {
			snprintf(err, errlen, "no leader was ever elected");
			rc = 1;
		} else {
			pq_msg(conn, r, msg, sizeof(msg));
			snprintf(err, errlen, "fencing check: %s", msg);
			rc = -1;
		}
	} else if (PQntuples(r) != 1) {
		snprintf(err, errlen, "no leader row");
		rc = 1;
	} else {
		long long stored = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		if (stored == epoch) {
			rc = 0;
		} else {
			snprintf(err, errlen, "fenced: stored epoch %lld, mine %" PRId64, stored,
			         epoch);
			rc = 1;
		}
	}
	PQclear(r);
	return rc;
}

void leader_writer_options(double lease_s, char *buf, size_t cap)
{
	snprintf(buf, cap, "-c idle_in_transaction_session_timeout=%ld", (long)(lease_s * 1000));
}

int leader_read(PGconn *conn, struct leader_info *out, char *err, size_t errlen)
{
	char msg[300];
	PGresult *r = PQexec(conn, "SELECT epoch, node, extract(epoch FROM since),"
	                           " extract(epoch FROM heartbeat) FROM leader WHERE id = 1");
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (!state || strcmp(state, "42P01") != 0) {
			pq_msg(conn, r, msg, sizeof(msg));
			snprintf(err, errlen, "reading the leader: %s", msg);
			rc = -1;
		}
	} else if (PQntuples(r) == 1) {
		out->epoch = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
		snprintf(out->node, sizeof(out->node), "%s", PQgetvalue(r, 0, 1));
		out->since = strtod(PQgetvalue(r, 0, 2), NULL);
		out->heartbeat = strtod(PQgetvalue(r, 0, 3), NULL);
	}
	PQclear(r);
	return rc;
}
