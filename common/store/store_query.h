/* store_query: every read the dashboard and the `mlwatch` subcommands make,
 * and their writes (ack an alert, add or end a silence, remove a model).
 * Each function is one or two indexed SELECTs over the window, drift,
 * accuracy and alert tables; nothing here recomputes what the collector
 * already stored.
 *
 * Absent values are NAN in the structs (NULL in SQL); callers print them as
 * null / "-". Row sets are delivered through callbacks so that a month of
 * windows streams to stdout without being held in memory: the strings in a
 * row point into SQLite's memory and are valid only during the callback.
 * A callback returning non-zero stops the iteration and its value is
 * returned.
 *
 * The JSON histograms (drift.cur_hist, reference.hist) are read in this
 * form (written by the collector):
 *   numeric:     {"edges": [e1, ..., e9], "counts": [c0, ..., c9]}
 *                bins (-inf,e1], (e1,e2], ..., (e9,+inf) as in section 5
 *   categorical: {"cells": ["DE", "US", ..., "other", "new"], "counts": [...]}
 * "props" (proportions) is accepted in place of "counts", "labels" or
 * "categories" in place of "cells", and a plain object {"DE": 12, ...}.
 * sq_hist_parse turns any of these into proportions.
 *
 * Ownership: struct sq caches prepared statements of the store it was
 * initialised with; sq_fini finalizes them (before store_close). Arrays
 * returned through ** out-parameters are malloc'd and freed by the caller.
 * Errors: -1 with store_errmsg(st) saying why; SQ_NOTFOUND where noted. */
#ifndef MLW_STORE_QUERY_H
#define MLW_STORE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"
#include "store.h"

#define SQ_NOTFOUND (-2)
#define SQ_NAME_MAX 129 /* feature names are <= 128 bytes, model names <= 64 */

enum sq_stmt_id {
	SQS_MODELS,
	SQS_MODEL_FIND,
	SQS_LAST_WIN,
	SQS_RANGE_SUMS,
	SQS_WORST_DRIFT,
	SQS_FIRING,
	SQS_LIVE,
	SQS_LATENCY,
	SQS_LATENCY_BUCKETS,
	SQS_DRIFT,
	SQS_DRIFT_FEATURE,
	SQS_DRIFT_CELLS,
	SQS_DRIFT_WORST_IN,
	SQS_REF_HIST,
	SQS_ACCURACY,
	SQS_ACCURACY_BUCKETS,
	SQS_CONCEPT,
	SQS_ALERTS,
	SQS_ALERTS_ALL,
	SQS_ALERT_GET,
	SQS_ACK,
	SQS_SILENCE,
	SQS_EVENTS,
	SQS_FEATURES,
	SQS_META,
	SQS_TIER_SUMS,
	SQS_LLM_RANGE,
	SQS_TIER_WORST,
	SQS_MINUTE_WORST,
	SQS_COUNT
};

struct sq {
	struct store *st;
	int64_t window_s; /* meta.window_seconds, 60 when absent */
	struct db_stmt *stmt[SQS_COUNT];
	struct jsonw feat; /* sq_events_each: the current event's features */
};

/* Reads meta.window_seconds; cannot fail (a missing key means 60). */
void sq_init(struct sq *q, struct store *st);
void sq_fini(struct sq *q);

/* ---- models and meta ---------------------------------------------------- */

struct sq_model {
	int64_t id;
	char name[SQ_NAME_MAX];
	char task[32];     /* "" when unknown */
	double last_event; /* NAN when none */
};

/* All models by name. *out is malloc'd (NULL when n is 0). */
int sq_models(struct sq *q, struct sq_model **out, size_t *n);
/* 0, SQ_NOTFOUND, or -1. */
int sq_model_find(struct sq *q, const char *name, struct sq_model *out);

struct sq_meta {
	double last_write;  /* Unix seconds, NAN when the collector never wrote */
	int window_seconds; /* 60 when not recorded */
};
int sq_meta(struct sq *q, struct sq_meta *m);

/* ---- status (the overview) ---------------------------------------------- */

struct sq_status {
	struct sq_model model;
	/* events and errors of the windows starting in [from, now] */
	int64_t events, errors;
	/* the newest window that has ended by now (else the newest one): */
	int64_t win_start, win_end; /* 0 when the model has no window */
	double rps, error_rate, p50, p95, p99;
	/* over [from, now]: accuracy weighted by labelled events, estimated
	 * accuracy and label coverage weighted by events; mae likewise */
	double accuracy, est_accuracy, label_coverage, mae;
	/* the highest severity in the newest window with drift results */
	char worst_feature[SQ_NAME_MAX]; /* "" when none */
	double worst_severity;
	int firing, pending;
};

/* One row per model, by name. */
int sq_status(struct sq *q, double now, double from, struct sq_status **out, size_t *n);
int sq_status_one(struct sq *q, const struct sq_model *m, double now, double from,
                  struct sq_status *out);

/* The parts of a status row, so that a caller refreshing every second can
 * keep the sums over the range and only add what is new:
 * sq_status_current fills everything but the range aggregates (the newest
 * window, worst drift, alerts); sq_range_sums adds up the windows starting
 * in [from, to); sq_status_apply turns sums into events, errors, accuracy,
 * est_accuracy, label_coverage and mae. */
struct sq_sums {
	double count, errors;
	double acc_num, acc_den, mae_num, mae_den;
	double est_num, est_den, cov_num, cov_den;
};
int sq_status_current(struct sq *q, const struct sq_model *m, double now, double from,
                      struct sq_status *out);
int sq_range_sums(struct sq *q, int64_t model_id, double from, double to, struct sq_sums *out);
/* The same for models[0..n) at once, out[i] for models[i]: one statement
 * per part for all of them, not one per model (see store_query.c). */
int sq_status_current_all(struct sq *q, const struct sq_model *models, size_t n, double now,
                          double from, struct sq_status *out);
int sq_range_sums_all(struct sq *q, const struct sq_model *models, size_t n, double from, double to,
                      struct sq_sums *out);
/* a += sign * b */
void sq_sums_add(struct sq_sums *a, const struct sq_sums *b, double sign);
void sq_status_apply(struct sq_status *out, const struct sq_sums *s);

/* ---- live figures (`mlwatch status`) ------------------------------------ */

/* What mlwatchd's /metrics gauges cover: the last SQ_LIVE_SPAN seconds. */
#define SQ_LIVE_SPAN 60
struct sq_live {
	double from, to;        /* the span: [now - SQ_LIVE_SPAN, now) */
	double events, errors;  /* requests in the span (see sq_live) */
	double rps, error_rate; /* rps 0 without traffic; error_rate NAN then */
	double p50, p95, p99;   /* ms; NAN without traffic */
};
/* The figures of the last SQ_LIVE_SPAN seconds before now, read from the
 * windows that overlap them (the open one, which the collector updates at
 * every batch, and the one before). The store keeps counts per window, not
 * per second, so a window's count and errors are taken as spread evenly
 * over the part of it that has passed (the open one up to now); the
 * latency quantiles are those of the merged sketches of the overlapping
 * windows. rps = events / SQ_LIVE_SPAN, as /metrics computes it. */
int sq_live(struct sq *q, int64_t model_id, double now, struct sq_live *out);

/* ---- latency ------------------------------------------------------------ */

struct sq_latency {
	int64_t start, end;
	int64_t count, errors;
	bool provisional;
	double rps, error_rate, p50, p90, p95, p99, p999, max, mean;
	/* LLM serving (issue 15), sq_latency_each only: events with LLM
	 * fields (0: none, the rest is NAN/NULL), token sums, TTFT / TPOT
	 * percentiles (ms, NAN when unknown) and the sketches themselves
	 * (valid during the callback only, for merging over a range). */
	int64_t llm, input_tokens, output_tokens;
	double ttft_p50, ttft_p90, ttft_p99, tpot_p50, tpot_p90, tpot_p99;
	const struct ddsketch *ttft, *tpot;
	const char *finish; /* JSON object finish reason -> count, or NULL */
};
struct ddsketch;
/* Windows of model starting in [from, to), oldest first. */
int sq_latency_each(struct sq *q, int64_t model_id, double from, double to,
                    int (*fn)(const struct sq_latency *, void *), void *arg);
/* The same grouped into buckets of bucket seconds aligned to the epoch
 * (start = the bucket's start, end = its end): counts summed, p50 and mean
 * weighted by count, p90..max the maximum of the windows (a spike stays
 * visible however wide the bucket). */
/* The LLM figures of [from, to) in pieces, for merging: rows with llm > 0
 * only, each with llm, input_tokens, output_tokens, the ttft / tpot
 * sketches and end - start the seconds of windows it covers (start 0);
 * hourly tier rows where the tiers are complete, minute windows elsewhere.
 * Nothing else is set. */
int sq_llm_each(struct sq *q, int64_t model_id, double from, double to,
                int (*fn)(const struct sq_latency *, void *), void *arg);
int sq_latency_buckets(struct sq *q, int64_t model_id, double from, double to, int64_t bucket,
                       int (*fn)(const struct sq_latency *, void *), void *arg);

/* ---- drift -------------------------------------------------------------- */

struct sq_drift {
	int64_t start, end;
	bool provisional;
	const char *feature;
	int kind;         /* 1 numeric, 2 categorical */
	int64_t n, n_ref; /* n_ref -1 when absent */
	double missing_rate, type_error_rate, out_of_range_rate, new_category_rate;
	double ks, ks_p, wasserstein, psi, js, chi2, chi2_p;
	const char *method; /* "" when absent */
	double score, threshold, severity;
	int drifted; /* 0, 1, or -1 when absent */
	bool insufficient;
	const char *cur_hist; /* JSON or NULL */
	const char *stats;    /* JSON object of further statistics, or NULL */
};

/* Decodes a drift row whose columns are, in order: start, end, provisional,
 * feature, kind, n, n_ref, the four quality rates, ks, ks_p, wasserstein,
 * psi, js, chi2, chi2_p, method, score, threshold, severity, drifted,
 * insufficient, cur_hist, stats (the drift queries of this module and the
 * segment drift rows of store_segments.c). The strings live until the
 * statement's next step. */
void sq_drift_read(struct db_stmt *s, struct sq_drift *d);
/* Drift rows of windows starting in [from, to), by window then feature;
 * feature NULL for all. */
int sq_drift_each(struct sq *q, int64_t model_id, double from, double to, const char *feature,
                  int (*fn)(const struct sq_drift *, void *), void *arg);

/* A heatmap cell: the worst severity of feature among the windows in
 * [bucket_start, bucket_start + bucket). */
struct sq_drift_cell {
	const char *feature;
	int kind;
	int64_t bucket_start;
	double severity; /* max; NAN when every window lacked one */
	int drifted;     /* any window drifted */
	int windows;
};
int sq_drift_cells(struct sq *q, int64_t model_id, double from, double to, int64_t bucket,
                   int (*fn)(const struct sq_drift_cell *, void *), void *arg);
/* The window in [from, to) where feature's severity was highest, with every
 * statistic; fn is called once (or never: returns SQ_NOTFOUND). */
int sq_drift_worst_in(struct sq *q, int64_t model_id, const char *feature, double from, double to,
                      int (*fn)(const struct sq_drift *, void *), void *arg);

/* The reference profile's size, kind and histogram JSON of a feature.
 * *hist is malloc'd (NULL when the column is NULL). 0 or SQ_NOTFOUND. */
int sq_reference_hist(struct sq *q, int64_t model_id, const char *feature, int *kind, int64_t *n,
                      char **hist);

#define SQ_HIST_MAX 72
/* A histogram as proportions (summing to 1 unless empty). For numeric
 * bins, label[i] is the upper edge ("<= e1", ..., "> e9"). */
struct sq_hist {
	int n;
	double prop[SQ_HIST_MAX];
	double count[SQ_HIST_MAX]; /* as stored; proportions when only those were */
	char label[SQ_HIST_MAX][32];
	double total;
};
/* Parses one of the JSON forms above. 0, or -1 when json is not one. */
int sq_hist_parse(const char *json, struct sq_hist *h);

/* ---- accuracy ----------------------------------------------------------- */

struct sq_accuracy {
	int64_t start, end;
	int64_t labelled, count;
	double accuracy, macro_f1, mae, rmse, est_accuracy, est_low, est_high, label_coverage;
	bool provisional; /* the window is still open (a bucket: one of its windows is) */
};
int sq_accuracy_each(struct sq *q, int64_t model_id, double from, double to,
                     int (*fn)(const struct sq_accuracy *, void *), void *arg);
/* Grouped into buckets: labelled and count summed, accuracy/macro_f1/mae/rmse
 * weighted by labelled, the estimate and its band and coverage by count. */
int sq_accuracy_buckets(struct sq *q, int64_t model_id, double from, double to, int64_t bucket,
                        int (*fn)(const struct sq_accuracy *, void *), void *arg);

struct sq_concept {
	int64_t id;
	double ts;
	int64_t window_start; /* 0 when absent */
	const char *detector;
	const char *detail; /* "" when absent */
};
int sq_concept_each(struct sq *q, int64_t model_id, double from, double to,
                    int (*fn)(const struct sq_concept *, void *), void *arg);

/* ---- alerts ------------------------------------------------------------- */

struct sq_alert {
	int64_t id;
	const char *rule, *model;
	const char *feature; /* NULL when the alert is not per feature */
	const char *state, *severity;
	const char *summary; /* "" when absent */
	double value, threshold;
	double active_at, fired_at, resolved_at;
	double since; /* when it entered its state */
	bool silenced, acked;
	bool nodata; /* active, and its metric has had no data lately (state kept) */
};
/* Firing and pending alerts (all: every alert, newest first). silenced is
 * whether a silence covers the alert at now. */
int sq_alerts_each(struct sq *q, bool all, double now, int (*fn)(const struct sq_alert *, void *),
                   void *arg);
/* One alert by id: 0 or SQ_NOTFOUND. */
int sq_alert_get(struct sq *q, int64_t id, double now, int (*fn)(const struct sq_alert *, void *),
                 void *arg);

/* Writes (the store must be open STORE_RW). sq_ack: 0, SQ_NOTFOUND. */
int sq_ack(struct sq *q, int64_t id, double now);
/* model NULL = every model; comment may be NULL. *id is the new silence. */
int sq_silence_add(struct sq *q, const char *rule, const char *model, double now, double ends,
                   const char *comment, int64_t *id);

/* Silences (all: also the ended ones), active first then by id. */
struct sq_silence {
	int64_t id;
	const char *rule;
	const char *model;   /* NULL = every model */
	const char *comment; /* NULL when none */
	double created, ends;
	bool active; /* ends > now */
};
int sq_silences_each(struct sq *q, bool all, double now,
                     int (*fn)(const struct sq_silence *, void *), void *arg);
/* Ends an active silence now (STORE_RW): 0, SQ_NOTFOUND when no active
 * silence has that id. */
int sq_silence_end(struct sq *q, int64_t id, double now);
/* The distinct rule names of the alerts table. */
int sq_rules_each(struct sq *q, int (*fn)(const char *rule, void *), void *arg);
/* Deletes a model and everything stored for it, in one transaction
 * (STORE_RW). name is the model's name (alerts and silences name it). */
int sq_model_rm(struct sq *q, int64_t model_id, const char *name);

/* ---- raw events (export) ------------------------------------------------ */

enum sq_value_type { SQV_NULL = 0, SQV_NUM, SQV_STR };

struct sq_event {
	int64_t id;
	const char *req_id; /* NULL when absent */
	double ts;
	double latency_ms; /* NAN when absent */
	bool error;
	const char *version; /* NULL when absent */
	/* JSON object text (rendered from the stored blob, common/featcodec.h)
	 * or NULL; NULL with features_bad when the stored features are
	 * unreadable (features_err says where and why) */
	const char *features;
	bool features_bad;
	const char *features_err;
	enum sq_value_type pred_type, label_type;
	double pred_num, label_num;
	const char *pred_str, *label_str;
	double score;       /* NAN when absent */
	const char *scores; /* JSON or NULL */
	double label_ts;    /* NAN when absent */
};
/* Sampled events of model with ts in [from, to), oldest first. */
int sq_events_each(struct sq *q, int64_t model_id, double from, double to,
                   int (*fn)(const struct sq_event *, void *), void *arg);
/* The model's features by name: fn(name, kind, arg). */
int sq_features_each(struct sq *q, int64_t model_id,
                     int (*fn)(const char *name, int kind, void *arg), void *arg);

/* ---- the alert evaluator (PostgreSQL: collector/leader.c's table) ------- */

struct sq_evaluator {
	bool known;       /* false on SQLite (one mlwatchd per file) or before any election */
	char node[128];   /* HOST:PID of the elected mlwatchd */
	int64_t epoch;    /* fencing epoch of its term */
	double since;     /* Unix seconds: elected at */
	double heartbeat; /* Unix seconds: its last heartbeat */
};
/* Reads the elected evaluator from the `leader` table on PostgreSQL. Returns
 * 0 (out->known false when there is none), -1 on a database error. */
int sq_evaluator(struct sq *q, struct sq_evaluator *out);

#endif
