/* alerting: see alerting.h. */
#include "alerting.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert_state.h"
#include "clock.h"
#include "collector.h"
#include "ddsketch.h"
#include "db.h"
#include "fairness.h"
#include "leader.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "payload.h"
#include "ring.h"
#include "rules.h"
#include "store.h"
#include "store_alerts.h"
#include "store_segments.h"
#include "store_fairness.h"

/* Drift rows older than this many windows before a model's newest one are
 * not "the newest window" of a feature any more. */
#define DRIFT_LOOKBACK_WINDOWS 5

struct gauge {
	char *rule, *model;
	unsigned firing, pending;
};

struct alerting {
	struct collector *c;
	struct rule_set rules;
	struct notifier *nf; /* swapped under mu on PostgreSQL (leader changes) */
	/* On PostgreSQL: the election (leader.h). Only the elected mlwatchd
	 * evaluates rules and drains the outbox; the others ingest only. NULL
	 * on SQLite, where the database lock (dblock.h) already admits one. */
	struct leader *leader;
	atomic_bool evaluating;
	pthread_t thread;
	bool started;
	pthread_mutex_t mu; /* stop flag, cv, gauges */
	pthread_cond_t cv;  /* on CLOCK_MONOTONIC */
	bool stop;
	struct gauge *gauges;
	size_t n_gauges;
	atomic_uint_fast64_t ticks, tick_failures;
	bool metrics_registered;
	/* The evaluation thread's own; the source reads through them. */
	struct store st;
	struct store_alerts sa;
	char **db_models;
	double *db_last;
	size_t n_db;
};

static struct alerting *g;

/* ---- the metric source: ring + database ------------------------------------- */

static const char *accuracy_column(enum rule_metric m)
{
	switch (m) {
	case METRIC_ACCURACY:
		return "accuracy";
	case METRIC_EST_ACCURACY:
		return "est_accuracy";
	case METRIC_MACRO_F1:
		return "macro_f1";
	case METRIC_MAE:
		return "mae";
	case METRIC_RMSE:
		return "rmse";
	default:
		return "label_coverage";
	}
}

static const char *drift_column(enum rule_metric m)
{
	switch (m) {
	case METRIC_DRIFT:
		return "severity";
	case METRIC_PSI:
		return "psi";
	case METRIC_MISSING_RATE:
		return "missing_rate";
	case METRIC_TYPE_ERROR_RATE:
		return "type_error_rate";
	case METRIC_OUT_OF_RANGE_RATE:
		return "out_of_range_rate";
	default:
		return "new_category_rate";
	}
}

static double quantile_of(enum rule_metric m)
{
	switch (m) {
	case METRIC_P50:
		return 0.5;
	case METRIC_P90:
		return 0.9;
	case METRIC_P95:
		return 0.95;
	case METRIC_P99:
		return 0.99;
	case METRIC_P50_TTFT:
	case METRIC_P50_TPOT:
		return 0.5;
	case METRIC_P90_TTFT:
	case METRIC_P90_TPOT:
		return 0.9;
	case METRIC_P99_TTFT:
	case METRIC_P99_TPOT:
		return 0.99;
	default:
		return 0.999;
	}
}

static void free_db_models(struct alerting *a)
{
	for (size_t i = 0; i < a->n_db; i++)
		free(a->db_models[i]);
	free(a->db_models);
	free(a->db_last);
	a->db_models = NULL;
	a->db_last = NULL;
	a->n_db = 0;
}

static void on_db_model(void *arg, const char *model, double last_event)
{
	struct alerting *a = arg;
	char **m = realloc(a->db_models, (a->n_db + 1) * sizeof(*m));
	double *l;
	if (!m)
		return;
	a->db_models = m;
	l = realloc(a->db_last, (a->n_db + 1) * sizeof(*l));
	if (!l)
		return;
	a->db_last = l;
	if (!(m[a->n_db] = strdup(model)))
		return;
	l[a->n_db++] = last_event;
}

/* Reads the models table once per tick (before the engine runs). */
static void refresh_db_models(struct alerting *a)
{
	free_db_models(a);
	if (store_alerts_models(&a->sa, on_db_model, a))
		log_warn("alerts", "cannot read models: %s", store_errmsg(&a->st));
}

static void src_models(void *ctx, void (*fn)(void *arg, const char *model), void *arg)
{
	struct alerting *a = ctx;
	char **names = NULL;
	size_t n = ring_models(a->c->ring, &names);

	for (size_t i = 0; i < a->n_db; i++)
		fn(arg, a->db_models[i]);
	/* The engine ignores names it has seen already. */
	for (size_t i = 0; i < n; i++) {
		fn(arg, names[i]);
		free(names[i]);
	}
	free(names);
}

static int src_ring(struct alerting *a, const struct rule_expr *e, const char *model, double now,
                    double *v, char *window, size_t wcap)
{
	struct ring_stats rs;
	int64_t over_s = e->over_ms / 1000, to = (int64_t)floor(now), from = to - over_s + 1;
	double up = now - a->c->started, covered = (double)over_s;
	bool warming = up < (double)over_s;

	config_format_duration(e->over_ms, window, wcap);
	*v = NAN;
	if (warming)
		covered = up < 1 ? 1 : up;
	if (ring_query(a->c->ring, model, from, to, &rs) != 0 || rs.count == 0) {
		ring_stats_free(&rs);
		/* Nothing since the start: the truth is not known yet. */
		if (warming)
			return 1;
		/* No traffic is a fact for rps and tokens/s; for a latency, an
		 * error rate or a TTFT an empty interval says nothing (no data:
		 * keep the state). */
		if (e->metric == METRIC_RPS || e->metric == METRIC_TOKENS_PER_S) {
			*v = 0;
			return 0;
		}
		return 2;
	}
	switch (e->metric) {
	case METRIC_RPS:
		*v = (double)rs.count / covered;
		break;
	case METRIC_ERROR_RATE:
		*v = (double)rs.errors / (double)rs.count;
		break;
	case METRIC_TOKENS_PER_S:
		*v = (double)rs.output_tokens / covered;
		break;
	case METRIC_P50_TTFT:
	case METRIC_P90_TTFT:
	case METRIC_P99_TTFT:
		/* No TTFT in range (not an LLM, or the server does not say):
		 * unknown, never 0. */
		if (!rs.ttft || ddsketch_quantile(rs.ttft, quantile_of(e->metric), v) != 0)
			*v = NAN;
		break;
	case METRIC_P50_TPOT:
	case METRIC_P90_TPOT:
	case METRIC_P99_TPOT:
		if (!rs.tpot || ddsketch_quantile(rs.tpot, quantile_of(e->metric), v) != 0)
			*v = NAN;
		break;
	default:
		if (!rs.latency || ddsketch_quantile(rs.latency, quantile_of(e->metric), v) != 0)
			*v = NAN;
		break;
	}
	ring_stats_free(&rs);
	return 0;
}

static double last_event(struct alerting *a, const char *model)
{
	struct ring_stats rs;
	double last = NAN;

	if (ring_query(a->c->ring, model, 0, -1, &rs) == 0 && rs.last_event > 0)
		last = rs.last_event;
	ring_stats_free(&rs);
	for (size_t i = 0; i < a->n_db; i++)
		if (strcmp(a->db_models[i], model) == 0 && !isnan(a->db_last[i]) &&
		    (isnan(last) || a->db_last[i] > last))
			last = a->db_last[i];
	return last;
}

struct one_feature {
	double value;
	int64_t start;
	bool found;
};

static void on_one_feature(void *arg, const char *feature, double value, int64_t start)
{
	struct one_feature *o = arg;
	o->value = value;
	o->start = start;
	o->found = true;
}

/* ---- fairness gaps: pooled over the windows that started within `over` */

static enum fairness_metric fair_metric(enum rule_metric m)
{
	switch (m) {
	case METRIC_DP_DIFF:
		return FAIR_DP_DIFF;
	case METRIC_EO_DIFF:
		return FAIR_EO_DIFF;
	case METRIC_EODDS_DIFF:
		return FAIR_EODDS_DIFF;
	case METRIC_ACC_GAP:
		return FAIR_ACC_GAP;
	default:
		return FAIR_DP_RATIO;
	}
}

struct fair_eval {
	enum fairness_metric m;
	uint64_t min_sample;
	void (*fn)(void *arg, const char *feature, double value, const char *window);
	void *arg;
};

static int on_fair_pooled(const struct fairness_attr *pooled, int64_t newest, void *arg)
{
	struct fair_eval *fe = arg;
	struct fairness_gaps gaps;
	char w[40];

	fairness_gaps(pooled->g, pooled->n, fe->min_sample, &gaps);
	fe->fn(fe->arg, pooled->name, fairness_gap_value(&gaps, fe->m),
	       clock_format_rfc3339((double)newest, w, sizeof(w)));
	return 0;
}

static int fair_each(struct alerting *a, const struct rule_expr *e, const char *model,
                     const char *attribute, double now,
                     void (*fn)(void *arg, const char *feature, double value, const char *window),
                     void *arg)
{
	struct fair_eval fe = {fair_metric(e->metric),
	                       (uint64_t)a->c->cfg->collector.fairness_min_sample, fn, arg};
	/* A window belongs to the interval when it started within it. */
	if (store_fairness_pooled(&a->st, model, attribute, floor(now - (double)e->over_ms / 1000),
	                          on_fair_pooled, &fe)) {
		log_warn("alerts", "cannot read fairness: %s", store_errmsg(&a->st));
		return -1;
	}
	return 0;
}

struct one_fair {
	double *v;
	char *window;
	size_t wcap;
};

static void on_one_fair(void *arg, const char *feature, double value, const char *window)
{
	struct one_fair *o = arg;
	*o->v = value;
	snprintf(o->window, o->wcap, "%s", window);
}

static int64_t lookback_s(const struct alerting *a)
{
	return DRIFT_LOOKBACK_WINDOWS * (a->c->cfg->collector.window_ms / 1000);
}

static int src_value(void *ctx, const struct rule_expr *e, const char *model, const char *feature,
                     double now, double *v, char *window, size_t wcap)
{
	struct alerting *a = ctx;
	int64_t start;
	int rc;

	*v = NAN;
	window[0] = '\0';
	switch (rules_metric_source(e->metric)) {
	case SOURCE_RING:
		return src_ring(a, e, model, now, v, window, wcap);
	case SOURCE_LAST_EVENT: {
		double last = last_event(a, model);
		if (!isnan(last))
			*v = now - last > 0 ? now - last : 0;
		return 0;
	}
	case SOURCE_ACCURACY:
		rc = store_alerts_accuracy(&a->sa, model, accuracy_column(e->metric), v, &start);
		if (rc < 0) {
			log_warn("alerts", "cannot read accuracy: %s", store_errmsg(&a->st));
			return -1;
		}
		if (rc == 0)
			clock_format_rfc3339((double)start, window, wcap);
		return 0;
	case SOURCE_FAIRNESS: {
		struct one_fair o = {v, window, wcap};
		return fair_each(a, e, model, feature, now, on_one_fair, &o);
	}
	case SOURCE_FEATURE: {
		struct one_feature o = {NAN, 0, false};
		if (store_alerts_drift(&a->sa, model, drift_column(e->metric), feature,
		                       lookback_s(a), on_one_feature, &o)) {
			log_warn("alerts", "cannot read drift: %s", store_errmsg(&a->st));
			return -1;
		}
		if (o.found) {
			*v = o.value;
			clock_format_rfc3339((double)o.start, window, wcap);
		}
		return 0;
	}
	}
	return 0;
}

struct each_feature {
	void (*fn)(void *arg, const char *feature, double value, const char *window);
	void *arg;
};

static void on_each_feature(void *arg, const char *feature, double value, int64_t start)
{
	struct each_feature *ef = arg;
	char w[40];
	ef->fn(ef->arg, feature, value, clock_format_rfc3339((double)start, w, sizeof(w)));
}

/* A segment's instance is named F[KEY=VALUE] (issue 17). */
struct each_segment {
	void (*fn)(void *arg, const char *feature, double value, const char *window);
	void *arg;
	const char *key;
};

static void on_each_segment(void *arg, const char *feature, const char *segment, double value,
                            int64_t start)
{
	struct each_segment *es = arg;
	char w[40], label[SA_FEATURE_MAX + 1];
	snprintf(label, sizeof(label), "%.128s[%.128s=%.64s]", feature, es->key, segment);
	es->fn(es->arg, label, value, clock_format_rfc3339((double)start, w, sizeof(w)));
}

static int src_features(void *ctx, const struct rule_expr *e, const char *model, double now,
                        void (*fn)(void *arg, const char *feature, double value,
                                   const char *window),
                        void *arg)
{
	struct alerting *a = ctx;
	struct each_feature ef = {fn, arg};
	if (rules_metric_source(e->metric) == SOURCE_FAIRNESS)
		return fair_each(a, e, model, NULL, now, fn, arg);
	if (e->has_segment) {
		struct each_segment es = {fn, arg, e->seg_key};
		if (store_seg_alert_drift(&a->st, model, drift_column(e->metric),
		                          e->all_features ? NULL : e->feature, e->seg_key,
		                          e->all_segments ? NULL : e->seg_value, lookback_s(a),
		                          STORE_ALERTS_PROVISIONAL_MIN_N, on_each_segment, &es)) {
			log_warn("alerts", "cannot read segment drift: %s", store_errmsg(&a->st));
			return -1;
		}
		return 0;
	}
	if (store_alerts_drift(&a->sa, model, drift_column(e->metric), NULL, lookback_s(a),
	                       on_each_feature, &ef)) {
		log_warn("alerts", "cannot read drift: %s", store_errmsg(&a->st));
		return -1;
	}
	return 0;
}

/* ---- /metrics ------------------------------------------------------------------ */

static void free_gauges(struct gauge *gs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(gs[i].rule);
		free(gs[i].model);
	}
	free(gs);
}

struct gauge_build {
	struct gauge *v;
	size_t n;
	bool oom;
};

static void on_active(void *arg, const char *rule, const char *model, const char *feature,
                      bool firing, double value)
{
	struct gauge_build *b = arg;
	for (size_t i = 0; i < b->n; i++) {
		if (strcmp(b->v[i].rule, rule) == 0 && strcmp(b->v[i].model, model) == 0) {
			b->v[i].firing += firing;
			b->v[i].pending += !firing;
			return;
		}
	}
	struct gauge *v = realloc(b->v, (b->n + 1) * sizeof(*v));
	if (!v) {
		b->oom = true;
		return;
	}
	b->v = v;
	v[b->n].rule = strdup(rule);
	v[b->n].model = strdup(model);
	v[b->n].firing = firing;
	v[b->n].pending = !firing;
	if (!v[b->n].rule || !v[b->n].model) {
		free(v[b->n].rule);
		free(v[b->n].model);
		b->oom = true;
		return;
	}
	b->n++;
}

/* Every rule (and model) that ever was active keeps a line, at 0 when it
 * is not any more, so that a graph goes back to 0 instead of ending. */
static void update_gauges(struct alerting *a, struct alert_engine *eng)
{
	struct gauge_build b = {NULL, 0, false};

	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->n_gauges && !b.oom; i++) {
		on_active(&b, a->gauges[i].rule, a->gauges[i].model, "", true, 0);
		if (!b.oom)
			b.v[b.n - 1].firing = 0;
	}
	pthread_mutex_unlock(&a->mu);
	alert_engine_each(eng, on_active, &b);
	if (b.oom) {
		free_gauges(b.v, b.n);
		return;
	}
	pthread_mutex_lock(&a->mu);
	free_gauges(a->gauges, a->n_gauges);
	a->gauges = b.v;
	a->n_gauges = b.n;
	pthread_mutex_unlock(&a->mu);
}

static void write_metrics(struct metrics_out *out, void *arg)
{
	struct alerting *a = arg;

	metrics_family(out, "mlwatch_alerts_firing", "gauge",
	               "Alert instances firing, per rule and model.");
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < a->n_gauges; i++)
		metrics_sample(out, "mlwatch_alerts_firing", a->gauges[i].firing, "rule",
		               a->gauges[i].rule, "model", a->gauges[i].model, NULL);
	metrics_family(out, "mlwatch_alerts_pending", "gauge",
	               "Alert instances pending (condition true, `for` not yet elapsed).");
	for (size_t i = 0; i < a->n_gauges; i++)
		metrics_sample(out, "mlwatch_alerts_pending", a->gauges[i].pending, "rule",
		               a->gauges[i].rule, "model", a->gauges[i].model, NULL);
	pthread_mutex_unlock(&a->mu);
	metrics_family(out, "mlwatch_alert_evaluations_total", "counter",
	               "Evaluations of all alert rules (one per second).");
	metrics_sample(out, "mlwatch_alert_evaluations_total", (double)atomic_load(&a->ticks),
	               NULL);
	metrics_family(out, "mlwatch_alert_evaluation_failures_total", "counter",
	               "Evaluations whose state could not be written (retried next second).");
	metrics_sample(out, "mlwatch_alert_evaluation_failures_total",
	               (double)atomic_load(&a->tick_failures), NULL);

	static const char *const fams[][2] = {
	    {"mlwatch_notifications_sent_total", "Notifications delivered (2xx), per receiver."},
	    {"mlwatch_notifications_failed_total",
	     "Notifications refused for good (4xx other than 408/429), per receiver."},
	    {"mlwatch_notifications_dropped_total",
	     "Notifications dropped undelivered after max_age, per receiver."},
	    {"mlwatch_notification_attempts_total", "HTTP delivery attempts, per receiver."},
	};
	metrics_family(out, "mlwatch_alert_evaluator", "gauge",
	               "1 when this mlwatchd evaluates the alert rules and sends notifications "
	               "(always on SQLite; the elected one on PostgreSQL).");
	metrics_sample(out, "mlwatch_alert_evaluator", atomic_load(&a->evaluating) ? 1 : 0, NULL);
	/* a->nf changes hands when leadership does: read it under mu */
	pthread_mutex_lock(&a->mu);
	size_t n = notify_receiver_count(a->nf);
	for (int f = 0; f < 4; f++) {
		metrics_family(out, fams[f][0], "counter", fams[f][1]);
		for (size_t i = 0; i < n; i++) {
			struct notify_stats s;
			const char *name = notify_receiver_stats(a->nf, i, &s);
			uint64_t v = f == 0   ? s.sent
			             : f == 1 ? s.failed
			             : f == 2 ? s.dropped
			                      : s.attempts;
			metrics_sample(out, fams[f][0], (double)v, "receiver", name, NULL);
		}
	}
	pthread_mutex_unlock(&a->mu);
}

/* ---- the evaluation thread ------------------------------------------------------ */

static bool sleep_until(struct alerting *a, double mono_deadline)
{
	struct timespec ts;
	double left = mono_deadline - clock_mono();
	bool stop;

	clock_mono_deadline(left, &ts);
	pthread_mutex_lock(&a->mu);
	while (!a->stop && left > 0)
		if (pthread_cond_timedwait(&a->cv, &a->mu, &ts) == ETIMEDOUT)
			break;
	stop = a->stop;
	pthread_mutex_unlock(&a->mu);
	return !stop;
}

/* The fence (store_alerts.h) on PostgreSQL: inside the transaction about to
 * change alert state, the stored epoch must still be the one this node won;
 * else another node took over while this one was paused, and it steps down
 * without writing. */
static int fence_check(void *arg)
{
	struct alerting *a = arg;
	char err[256];
	int rc =
	    leader_fence_check(db_pg_handle(a->st.db), leader_epoch(a->leader), err, sizeof(err));

	if (rc == 1) {
		log_warn("alerts", "fenced out, not writing: %s", err);
		leader_step_down(a->leader, err);
		atomic_store(&a->evaluating, false);
	} else if (rc < 0) {
		log_error("alerts", "fencing check failed: %s", err);
	}
	return rc;
}

/* Builds the engine (it reads the alert state from the database, so `for`
 * timers and repeat intervals continue where the last evaluator left them)
 * and, on PostgreSQL, the notifier. Returns false when stopping. */
static bool become_evaluator(struct alerting *a, struct alert_engine **eng)
{
	char err[512];

	while (!*eng) {
		*eng = alert_engine_new(a->c->cfg, &a->rules, &a->sa, err, sizeof(err));
		if (!*eng) {
			log_error("alerts", "%s; retrying", err);
			if (!sleep_until(a, clock_mono() + 1))
				return false;
		}
	}
	while (a->leader && !a->nf) {
		struct notifier *nf = NULL;
		if (notify_start(&nf, a->c->cfg, a->c->db_path, err, sizeof(err)) == 0) {
			pthread_mutex_lock(&a->mu);
			a->nf = nf;
			pthread_mutex_unlock(&a->mu);
			break;
		}
		log_error("alerts", "%s; retrying", err);
		if (!sleep_until(a, clock_mono() + 1))
			return false;
	}
	atomic_store(&a->evaluating, true);
	if (a->leader)
		log_info("alerts",
		         "this node evaluates the alert rules node=%s epoch=%lld rules=%zu "
		         "receivers=%zu",
		         leader_node(a->leader), (long long)leader_epoch(a->leader), a->rules.n,
		         notify_receiver_count(a->nf));
	else
		log_info("alerts", "evaluating rules=%zu receivers=%zu", a->rules.n,
		         notify_receiver_count(a->nf));
	return true;
}

/* A former leader stops at once: no tick, no delivery; the engine's
 * in-memory state is dropped (the next term reads the database). */
static void stop_evaluating(struct alerting *a, struct alert_engine **eng)
{
	struct notifier *nf;

	atomic_store(&a->evaluating, false);
	alert_engine_free(*eng);
	*eng = NULL;
	pthread_mutex_lock(&a->mu);
	nf = a->nf;
	a->nf = NULL;
	pthread_mutex_unlock(&a->mu);
	notify_stop(nf);
	log_info("alerts", "this node no longer evaluates the alert rules node=%s",
	         leader_node(a->leader));
}

static void *eval_main(void *arg)
{
	struct alerting *a = arg;
	struct alert_engine *eng = NULL;
	struct alert_source src = {a, src_models, src_value, src_features};
	double next = clock_mono(),
	       every = (double)a->c->cfg->collector.evaluate_interval_ms / 1000;

	if (!(every > 0))
		every = 1.0; /* a config built without defaults */
	if (!a->leader && !become_evaluator(a, &eng))
		return NULL;
	do {
		/* Every evaluate_interval (real time) on a fixed grid; after a
		 * stall, resume from now. */
		next += every;
		if (next < clock_mono())
			next = clock_mono() + every;
		if (a->leader) {
			bool lead = leader_is_leader(a->leader);
			if (!lead && eng)
				stop_evaluating(a, &eng);
			if (!lead) {
				/* a candidate checks often: a takeover is due within 2 s */
				next = clock_mono() + 0.2;
				continue;
			}
			if (!eng && !become_evaluator(a, &eng))
				break;
		}
		refresh_db_models(a);
		int n = alert_engine_tick(eng, &src, clock_now());
		atomic_fetch_add(&a->ticks, 1);
		if (n < 0)
			atomic_fetch_add(&a->tick_failures, 1);
		if (n > 0)
			notify_wake(a->nf);
		update_gauges(a, eng);
	} while (sleep_until(a, next));
	atomic_store(&a->evaluating, false);
	alert_engine_free(eng);
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------ */

int alerting_check_config(const struct mlw_config *cfg, char *err, size_t errlen)
{
	struct rule_set rs;
	const char *file = cfg->path ? cfg->path : "(config)";
	char why[256];

	if (rules_load(cfg, &rs, err, errlen))
		return -1;
	rules_free(&rs);
	for (size_t i = 0; i < cfg->n_receivers; i++) {
		const struct receiver_config *r = &cfg->receivers[i];
		int t = payload_receiver_type(r->type);
		char *s;
		if (t < 0) {
			snprintf(err, errlen, "%s:%d: [receiver %s] unknown type '%s'", file,
			         r->line, r->name, r->type);
			return -1;
		}
		if (r->url[0] && strncmp(r->url, "http://", 7) != 0 &&
		    strncmp(r->url, "https://", 8) != 0) {
			snprintf(err, errlen,
			         "%s:%d: [receiver %s] url '%s' is not http:// or https://", file,
			         r->line, r->name, r->url);
			return -1;
		}
		const char *files[2] = {t == RECEIVER_WEBHOOK ? r->secret_file : "",
		                        t == RECEIVER_PAGERDUTY ? r->routing_key_file : ""};
		const char *keys[2] = {"secret_file", "routing_key_file"};
		for (int k = 0; k < 2; k++) {
			if (!files[k][0])
				continue;
			if (!(s = config_read_secret(files[k], why, sizeof(why)))) {
				snprintf(err, errlen, "%s:%d: [receiver %s] %s: %s", file, r->line,
				         r->name, keys[k], why);
				return -1;
			}
			memset(s, 0, strlen(s));
			free(s);
		}
	}
	return 0;
}

static void alerting_free(struct alerting *a)
{
	if (a->metrics_registered)
		metrics_unregister(a->c->metrics, write_metrics, a);
	leader_free(a->leader); /* its session, and with it the lock, ends */
	notify_stop(a->nf);
	store_alerts_close(&a->sa);
	if (a->st.db)
		store_close(&a->st);
	free_db_models(a);
	rules_free(&a->rules);
	free_gauges(a->gauges, a->n_gauges);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

int alerting_start(struct collector *c)
{
	struct alerting *a;
	char err[1024];
	int e;

	if (g) {
		log_error("alerts", "alerting is already running");
		return -1;
	}
	if (c->cfg->n_alerts == 0 && c->cfg->n_receivers == 0)
		return 0;
	if (!(a = calloc(1, sizeof(*a)))) {
		log_error("alerts", "out of memory");
		return -1;
	}
	a->c = c;
	pthread_mutex_init(&a->mu, NULL);
	clock_cond_init_mono(&a->cv);
	if (rules_load(c->cfg, &a->rules, err, sizeof(err)))
		goto fail;
	/* Legal (state and `mlwatch alerts` still work) but most often a
	 * forgotten line: nobody would ever be told. */
	for (size_t i = 0; i < c->cfg->n_alerts; i++) {
		const struct alert_config *ac = &c->cfg->alerts[i];
		if (!ac->receivers || !*ac->receivers)
			log_warn(
			    "alerts",
			    "rule has no receivers, it will notify nobody rule=%s file=%s line=%d "
			    "hint=\"add receivers = NAME of a [receiver NAME] section\"",
			    ac->name, c->cfg->path ? c->cfg->path : "-", ac->line);
	}
	if (store_open(&a->st, c->db_path, STORE_RW, false, err, sizeof(err)))
		goto fail;
	store_alerts_init(&a->sa, &a->st);
	if (db_is_postgres(c->db_path)) {
		/* several mlwatchd may share this database: one is elected to
		 * evaluate and notify (its notifier starts when it wins) */
		struct leader_config lc = {.conninfo = c->db_path};
		if (!(a->leader = leader_new(&lc, err, sizeof(err))) ||
		    leader_start(a->leader, err, sizeof(err)))
			goto fail;
		a->sa.fence = fence_check;
		a->sa.fence_arg = a;
	} else if (notify_start(&a->nf, c->cfg, c->db_path, err, sizeof(err))) {
		goto fail;
	}
	if (c->metrics) {
		if (metrics_register(c->metrics, write_metrics, a)) {
			snprintf(err, sizeof(err), "out of memory");
			goto fail;
		}
		a->metrics_registered = true;
	}
	if ((e = pthread_create(&a->thread, NULL, eval_main, a)) != 0) {
		snprintf(err, sizeof(err), "cannot start the evaluation thread: %s", strerror(e));
		goto fail;
	}
	a->started = true;
	g = a;
	return 0;
fail:
	log_error("alerts", "%s", err);
	alerting_free(a);
	return -1;
}

void alerting_stop(void)
{
	struct alerting *a = g;

	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->cv);
	pthread_mutex_unlock(&a->mu);
	if (a->started)
		pthread_join(a->thread, NULL);
	alerting_free(a);
	g = NULL;
}
