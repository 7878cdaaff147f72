/* store_ingest: every SQL statement mlwatchd runs (and `mlwatch reference`):
 * storing batches (dedupe, events, labels, window counters, agents), what
 * the analysis reads back (dirty windows, raw events, references) and
 * writes (window results, drift, accuracy, concept state), reference
 * profiles, and retention in small steps.
 *
 * A struct store_ingest caches prepared statements on one connection (a
 * struct store the caller opened and keeps owning) plus a model name -> id
 * cache. One per thread; not thread-safe. Functions return 0 (or a count)
 * and -1 on an SQLite error (store_errmsg() says why) unless stated.
 * Transactions are the caller's (store_begin/commit); after a ROLLBACK call
 * store_ingest_rolled_back so that caches forget what was undone. */
#ifndef MLW_STORE_INGEST_H
#define MLW_STORE_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "store.h"
#include "wire.h"

struct ddsketch;
struct store_ingest;

/* Returns a new statement cache on st, or NULL when out of memory. */
struct store_ingest *store_ingest_new(struct store *st);
void store_ingest_free(struct store_ingest *si);
/* Forgets cached ids created in a transaction that was rolled back. */
void store_ingest_rolled_back(struct store_ingest *si);
/* Call right after store_begin: when another connection committed since the
 * last call (PRAGMA data_version), forget the cached model ids, which
 * `mlwatch models rm` may have deleted; the next lookup reads them again.
 * Without it, events of a removed model that came back would be written
 * under an id no models row has, and no reader would ever see them. */
int store_ingest_sync(struct store_ingest *si);

/* ---- the write path (collector writer thread) ---------------------------- */

/* Id of model name, inserting it (created = now) when new. */
int store_ingest_model(struct store_ingest *si, const char *name, double now, int64_t *id);
/* Id of an existing model; 0 found, 1 absent, -1 error. */
int store_ingest_model_lookup(struct store_ingest *si, const char *name, int64_t *id);

/* Records (agent_id, seq). Returns 1 when new, 0 when seen before
 * (a duplicate: store nothing), -1 on error. */
int store_ingest_seen(struct store_ingest *si, const char *agent_id, uint64_t seq, double now);

struct store_event_row {
	int64_t model_id;
	const char *req_id; /* may be NULL */
	double ts;
	int64_t window_start;
	bool has_latency;
	double latency_ms;
	bool error;
	const char *version; /* may be NULL */
	/* the featcodec blob (common/featcodec.h), NULL when none */
	const uint8_t *features;
	size_t features_len;
	struct value prediction;
	bool has_score;
	double score;
	const char *scores_json; /* may be NULL */
	struct value label;      /* VALUE_NONE when unlabelled */
	double label_ts;
};
int store_ingest_event(struct store_ingest *si, const struct store_event_row *r);

/* The events of one batch, set-wise (the collector's write path; issue 16
 * item 5). dedupe sets dup[i] for each row that repeats the (model_id,
 * req_id) of an event stored, or of an earlier row not itself a duplicate,
 * with ts within ttl of its own: a resend or a client bug; the first one is
 * kept so that a label joins exactly one event. Rows without req_id are
 * never duplicates. On PostgreSQL the stored events are looked up in one
 * query for all rows; on SQLite one indexed lookup per row (in-process),
 * except for the rows whose known_new[i] is true (known_new may be NULL):
 * the caller knows that no stored event repeats them (the collector's
 * seenfilter); they are still checked against the other rows.
 * insert stores the rows whose dup[i] is false (dup may be NULL: all):
 * one binary COPY on PostgreSQL, multi-row prepared INSERTs on SQLite.
 * Both return 0 or -1 (store_errmsg says why); the transaction is the
 * caller's. */
int store_ingest_events_dedupe(struct store_ingest *si, const struct store_event_row *rows,
                               size_t n, double ttl, const bool *known_new, bool *dup);
int store_ingest_events_insert(struct store_ingest *si, const struct store_event_row *rows,
                               size_t n, const bool *dup);

/* The newest window_start of any stored event: 0 and *start, 1 when no
 * event is stored, -1 on error. Every stored ts is below *start plus the
 * window length (the seenfilter's cover at start). */
int store_ingest_events_newest_window(struct store_ingest *si, int64_t *start);

/* The stored events with window_start >= from (one events_by_window range
 * per model): count counts them (*n), recent calls cb(model_id, req_id,
 * ts) for each that has a req_id (the string valid during the call). Both
 * return 0 or -1. */
int store_ingest_events_recent_count(struct store_ingest *si, int64_t from, int64_t *n);
int store_ingest_events_recent(struct store_ingest *si, int64_t from,
                               void (*cb)(int64_t model_id, const char *req_id, double ts,
                                          void *arg),
                               void *arg);

/* 1 when an event (model_id, req_id) with ts in [from, to] is stored (the
 * index events_by_req makes it one lookup), 0 when none, -1 on error. */
int store_ingest_event_exists(struct store_ingest *si, int64_t model_id, const char *req_id,
                              double from, double to);

/* A pending label for (model_id, req_id): when one exists it is deleted and
 * copied into *label (strings into buf[cap]) and *ts; returns 1. 0 when
 * none, -1 on error. */
int store_ingest_take_pending(struct store_ingest *si, int64_t model_id, const char *req_id,
                              struct value *label, double *ts, char *buf, size_t cap);

/* Sets the label of every stored event (model_id, req_id). For each event
 * updated, cb(window_start, was_unlabelled, arg) is called. Returns the
 * number of events updated (0: keep it pending), -1 on error. */
int store_ingest_join_label(struct store_ingest *si, int64_t model_id, const char *req_id,
                            const struct value *label, double ts,
                            void (*cb)(int64_t window_start, bool was_unlabelled, void *arg),
                            void *arg);
/* Keeps a label whose event is not known yet (replacing an older one). */
int store_ingest_pending_add(struct store_ingest *si, int64_t model_id, const char *req_id,
                             const struct value *label, double ts, double expires);
/* Pending labels per model: calls cb for each model with some. */
int store_ingest_pending_counts(struct store_ingest *si,
                                void (*cb)(int64_t model_id, int64_t n, void *arg), void *arg);

/* Adds to the window's counters and merges latency (may be NULL) into its
 * sketch; creates the row (provisional, dirty) when new, marks it dirty. */
struct store_window_delta {
	int64_t model_id, start, end;
	uint64_t count, errors, sampled, labelled;
	const struct ddsketch *latency;
};
int store_ingest_window_add(struct store_ingest *si, const struct store_window_delta *d);

/* LLM serving figures of one model and window (issue 15), added to the
 * window_llm row: counts summed, sketches merged (either may be NULL). */
struct store_llm_delta {
	int64_t model_id, start;
	uint64_t llm, input_tokens, output_tokens;
	const struct ddsketch *ttft, *tpot;
	const struct wire_finish *finish; /* counts by finish reason, added to the row's */
	size_t n_finish;
};
int store_ingest_llm_add(struct store_ingest *si, const struct store_llm_delta *d);

/* models.last_event = max(last_event, ts). */
int store_ingest_model_seen(struct store_ingest *si, int64_t model_id, double ts);
/* The agents row: last_seq = max, last_seen, batches += 1, events += n and
 * the agent's own counters when present. */
int store_ingest_agent(struct store_ingest *si, const char *agent_id, uint64_t seq, double now,
                       uint64_t events, const struct wire_agent_stats *stats);
/* meta last_write = now (Unix seconds, integer). */
int store_ingest_last_write(struct store_ingest *si, double now);

/* ---- retention (each call deletes at most `chunk` rows per table) ------ */

struct store_retention {
	double raw_before;      /* events with ts < this */
	int64_t windows_before; /* windows (and their results) with start < this */
	double seen_before;     /* batches_seen with received < this */
	double now;             /* pending labels with expires < now */
	size_t chunk;
};
struct store_retention_done {
	int64_t events, windows, seen, labels_expired;
};
/* One step; *done says how many rows went. Returns 0 when everything due is
 * gone, 1 when more remains (call again soon), -1 on error. Run it in its
 * own short transaction. */
int store_ingest_retention_step(struct store_ingest *si, const struct store_retention *r,
                                struct store_retention_done *done);

/* ---- analysis ------------------------------------------------------------- */

struct store_window {
	int64_t model_id, start, end;
	uint64_t count, errors, sampled, labelled;
	int provisional;
	uint8_t *sketch; /* malloc'd copy of latency_sketch, or NULL */
	size_t sketch_len;
};
void store_window_free(struct store_window *w);

/* The dirty windows (at most max, oldest first) into a malloc'd array
 * (*out, caller frees each with store_window_free and the array). Returns
 * the count, -1 on error. */
int store_ingest_dirty_windows(struct store_ingest *si, size_t max, struct store_window **out);
/* One window; 0 found, 1 absent, -1 error. */
int store_ingest_window_get(struct store_ingest *si, int64_t model_id, int64_t start,
                            struct store_window *out);

/* Models: calls cb(id, name, task) for each. */
int store_ingest_models(struct store_ingest *si,
                        void (*cb)(int64_t id, const char *name, const char *task, void *arg),
                        void *arg);
int store_ingest_model_set_task(struct store_ingest *si, int64_t model_id, const char *task);

/* Feature kinds of a model (features table): cb(name, kind, source). */
int store_ingest_features(struct store_ingest *si, int64_t model_id,
                          void (*cb)(const char *name, int kind, const char *source, void *arg),
                          void *arg);
/* Inserts (model, name, kind, source) unless present; with replace, the
 * row is overwritten (a reference fixes the kind). */
int store_ingest_feature_set(struct store_ingest *si, int64_t model_id, const char *name, int kind,
                             const char *source, bool replace);

/* A raw stored event as read back (strings valid until the next call on
 * the same cursor). */
struct store_raw_event {
	int64_t id;
	int64_t model_id;
	int64_t window_start;
	const char *req_id;
	double ts;
	bool has_latency;
	double latency_ms;
	bool error;
	/* the features as a featcodec blob (common/featcodec.h), valid: a row
	 * stored as JSON text before the blob is handed out encoded. NULL when
	 * none, or when features_bad: the stored blob or text is unreadable
	 * (features_err says where and why). */
	const uint8_t *features;
	size_t features_len;
	bool features_bad;
	const char *features_err;
	struct value prediction;
	bool has_score;
	double score;
	const char *scores_json;
	struct value label;
};

/* Calls cb for each event with id in (after_id, upto_id] (all models),
 * in id order; cb returns 0 to go on, non-zero to stop (returned). */
typedef int (*store_event_cb)(const struct store_raw_event *e, void *arg);
int store_ingest_events_after(struct store_ingest *si, int64_t after_id, int64_t upto_id,
                              store_event_cb cb, void *arg);
/* Events of one window with id <= upto_id, in id order. */
int store_ingest_window_events(struct store_ingest *si, int64_t model_id, int64_t start,
                               int64_t upto_id, store_event_cb cb, void *arg);
/* Events of one window with after_id < id <= upto_id, in id order (what
 * arrived since a cached state was folded). */
int store_ingest_window_events_after(struct store_ingest *si, int64_t model_id, int64_t start,
                                     int64_t after_id, int64_t upto_id, store_event_cb cb,
                                     void *arg);
/* The labelled events of one window, in id order. */
int store_ingest_window_labelled(struct store_ingest *si, int64_t model_id, int64_t start,
                                 store_event_cb cb, void *arg);
/* Events of a model with ts in [from, to), in id order (reference from a
 * stored range). */
int store_ingest_range_events(struct store_ingest *si, int64_t model_id, double from, double to,
                              store_event_cb cb, void *arg);
/* max(events.id), 0 when empty. */
int store_ingest_max_event_id(struct store_ingest *si, int64_t *id);

/* Results of one window. */
struct store_window_result {
	int64_t model_id, start;
	/* the counters the analysis saw: the row stays dirty unless they are
	 * still the same (new data arrived meanwhile) */
	uint64_t count, errors, sampled, labelled;
	bool final; /* closed window: provisional = 0 and dirty cleared */
	bool has_latency;
	double p50, p90, p95, p99, p999, max, mean;
	double analyzed;
};
/* Returns 1 when the window was left clean, 0 when still dirty. */
int store_ingest_window_result(struct store_ingest *si, const struct store_window_result *r);

struct store_feature_row {
	const char *feature;
	int kind; /* 1 numeric, 2 categorical */
	uint64_t n, missing, type_errors, out_of_range, new_category;
	/* the window's reservoir (sample_reservoir_encode), NULL = none: the
	 * hourly rollup merges them (store_rollup.h) */
	const void *sample;
	size_t sample_len;
};
int store_ingest_window_feature(struct store_ingest *si, int64_t model_id, int64_t start,
                                const struct store_feature_row *f);

/* Room for the drift row's further statistics (a dozen numbers as %.17g). */
#define STORE_DRIFT_STATS_MAX 1024

struct store_drift_row {
	const char *feature;
	int kind;
	uint64_t n;
	bool has_ref;
	uint64_t n_ref;
	double missing_rate, type_error_rate, out_of_range_rate, new_category_rate;
	bool numeric; /* which statistics apply */
	double ks, ks_p, wasserstein, psi, js, chi2, chi2_p;
	const char *method; /* NULL without a reference */
	double score, threshold, severity;
	bool drifted, insufficient;
	const char *cur_hist;              /* JSON, may be NULL */
	char stats[STORE_DRIFT_STATS_MAX]; /* JSON object of further statistics, "" = none */
};
int store_ingest_drift(struct store_ingest *si, int64_t model_id, int64_t start,
                       const struct store_drift_row *d);
/* Removes drift/window_features rows of the window (before rewriting). */
int store_ingest_clear_window_results(struct store_ingest *si, int64_t model_id, int64_t start);

struct store_accuracy_row {
	uint64_t labelled;
	bool has_accuracy, has_macro_f1, has_mae, has_rmse, has_est;
	double accuracy, macro_f1, mae, rmse, est, est_low, est_high, label_coverage;
	const char *per_class; /* JSON, may be NULL */
};
int store_ingest_accuracy(struct store_ingest *si, int64_t model_id, int64_t start,
                          const struct store_accuracy_row *a);

/* Concept detector state: get returns 0 with a malloc'd copy in *buf and *len,
 * 1 when absent, -1 on error. */
int store_ingest_concept_get(struct store_ingest *si, int64_t model_id, const char *detector,
                             uint8_t **buf, size_t *len);
int store_ingest_concept_put(struct store_ingest *si, int64_t model_id, const char *detector,
                             const uint8_t *buf, size_t len, double now);
int store_ingest_concept_event(struct store_ingest *si, int64_t model_id, double ts,
                               int64_t window_start, const char *detector, const char *detail);

/* ---- references and calibration ------------------------------------------ */

/* Calls cb for each reference feature of the model (profile bytes valid
 * during the call). */
int store_ingest_references(struct store_ingest *si, int64_t model_id,
                            void (*cb)(const char *feature, int kind, uint64_t n,
                                       const uint8_t *profile, size_t len, const char *hist,
                                       void *arg),
                            void *arg);
/* A number that changes whenever the model's reference or calibration is
 * replaced (the newest created time), 0 when none. */
int store_ingest_reference_version(struct store_ingest *si, int64_t model_id, double *version);
/* Deletes the model's reference and calibration (before an import). */
int store_ingest_reference_clear(struct store_ingest *si, int64_t model_id);
int store_ingest_reference_put(struct store_ingest *si, int64_t model_id, const char *feature,
                               int kind, uint64_t n, const uint8_t *profile, size_t len,
                               const char *hist, double created);
int store_ingest_calibration_put(struct store_ingest *si, int64_t model_id, const uint8_t *profile,
                                 size_t len, uint64_t n, double created);
/* 0 with a malloc'd copy, 1 when none, -1 on error. */
int store_ingest_calibration_get(struct store_ingest *si, int64_t model_id, uint8_t **buf,
                                 size_t *len, uint64_t *n, double *created);
/* Marks every window of the model within [from_start, ...) dirty (after a
 * new reference, so drift is recomputed). */
int store_ingest_mark_dirty(struct store_ingest *si, int64_t model_id, int64_t from_start);

#endif
