/* store_alerts: all SQL the daemon runs for alerting: alert instances and
 * their state (table alerts), silences, the notification outbox, and the
 * newest analysed values (accuracy, drift, models' last events) that rules
 * read. One struct store_alerts caches prepared statements on one
 * connection; use it from the thread that owns that connection only.
 *
 * States in alerts.state: 'pending', 'firing', 'resolved'. An alert that
 * goes back from pending to inactive is deleted (it never notified anyone).
 * Outbox rows: kind 'firing' | 'repeat' | 'resolved'; status 'pending' |
 * 'delivered' | 'failed' (permanent refusal) | 'dropped' (max_age passed).
 *
 * Functions return 0 on success, -1 on a database error (store_errmsg says
 * why); lookups return 1 when there is nothing. Times are Unix seconds and
 * NAN stands for SQL NULL. */
#ifndef MLW_STORE_ALERTS_H
#define MLW_STORE_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define SA_NAME_MAX 64
/* a feature name (128), or a segment's instance "F[KEY=VALUE]" (issue 17) */
#define SA_FEATURE_MAX 330

enum { SA_STMT_N = 32 };

struct store_alerts {
	struct store *st;
	struct db_stmt *stmt[SA_STMT_N];
	/* Called right after each BEGIN of a transaction that changes alert
	 * state or enqueues notifications (collector/alert_state.c); non-zero
	 * rolls it back. Set on PostgreSQL to the leader's fencing check, so a
	 * former evaluator that was paused writes nothing. NULL: no check. */
	int (*fence)(void *arg);
	void *fence_arg;
};

struct store_alert_row {
	int64_t id;
	char rule[SA_NAME_MAX + 1];
	char model[SA_NAME_MAX + 1];
	char feature[SA_FEATURE_MAX + 1]; /* "" for model-level alerts */
	char state[16];
	char severity[8];
	double value, threshold;
	double active_at, fired_at, resolved_at, last_notified; /* NAN = NULL */
	char fingerprint[33];
	bool acked;
	bool owed;                         /* a notice is due when a silence ends */
	double nodata_since;               /* NAN (or 0) while the metric has data */
	const char *summary, *description; /* written only; may be NULL */
};

struct store_outbox_row {
	int64_t id;
	int64_t alert_id;
	char kind[16];
	char *payload; /* malloc'd; the caller frees */
	double created, next_attempt;
	long attempts;
};

/* Binds sa to an open writable store. Statements are prepared lazily. */
void store_alerts_init(struct store_alerts *sa, struct store *st);
/* Finalizes the statements (the store stays open). */
void store_alerts_close(struct store_alerts *sa);

/* ---- alerts ---- */

/* Calls fn for every alert in state 'pending' or 'firing', oldest first;
 * a non-zero return from fn stops the walk and is returned. */
int store_alerts_load_active(struct store_alerts *sa,
                             int (*fn)(void *arg, const struct store_alert_row *row), void *arg);
/* Inserts row (id ignored) and sets row->id. */
int store_alerts_insert(struct store_alerts *sa, struct store_alert_row *row, double now);
/* Writes state, value, fired_at, resolved_at, last_notified and the texts of
 * row->id. */
int store_alerts_update(struct store_alerts *sa, const struct store_alert_row *row, double now);
int store_alerts_delete(struct store_alerts *sa, int64_t id);
/* Marks alert id resolved at now, keeping everything else it had. */
int store_alerts_set_resolved(struct store_alerts *sa, int64_t id, double now);
/* Calls fn with the id of every active alert that is acked. */
int store_alerts_acked(struct store_alerts *sa, void (*fn)(void *arg, int64_t id), void *arg);
/* Sets acked on alert id (for tests and tools; the dashboard has its own). */
int store_alerts_ack(struct store_alerts *sa, int64_t id, double now);

/* ---- silences ---- */

/* Calls fn for every silence with ends > now; model NULL = every model. */
int store_silences_active(struct store_alerts *sa, double now,
                          void (*fn)(void *arg, const char *rule, const char *model, double ends),
                          void *arg);
/* Adds a silence (for tests and tools); sets *id. */
int store_silences_add(struct store_alerts *sa, const char *rule, const char *model, double now,
                       double ends, const char *comment, int64_t *id);

/* ---- outbox ---- */

int store_outbox_insert(struct store_alerts *sa, const char *receiver, int64_t alert_id,
                        const char *kind, const char *payload, double now);
/* The receiver's oldest pending row into *row (payload malloc'd). Returns 0,
 * 1 when there is none, -1 on error. Rows are delivered in id order so that
 * a receiver never sees a resolve before its firing. */
int store_outbox_head(struct store_alerts *sa, const char *receiver, struct store_outbox_row *row);
void store_outbox_row_free(struct store_outbox_row *row);
int store_outbox_delivered(struct store_alerts *sa, int64_t id, long attempts, double now);
int store_outbox_retry(struct store_alerts *sa, int64_t id, long attempts, double next_attempt,
                       const char *last_error);
/* Ends a row with status "failed" or "dropped". */
int store_outbox_finish(struct store_alerts *sa, int64_t id, const char *status, long attempts,
                        const char *last_error);
/* Counts rows of receiver with status (for tests and /metrics). */
int store_outbox_count(struct store_alerts *sa, const char *receiver, const char *status,
                       int64_t *n);

/* ---- what rules read ---- */

/* Calls fn for every model: its name and last event time (NAN if none). */
int store_alerts_models(struct store_alerts *sa,
                        void (*fn)(void *arg, const char *model, double last_event), void *arg);
/* The newest non-NULL value of an accuracy column ("accuracy",
 * "est_accuracy", "macro_f1", "mae", "rmse", "label_coverage") for model,
 * with its window start. Returns 0, 1 when none, -1 on error. */
int store_alerts_accuracy(struct store_alerts *sa, const char *model, const char *column,
                          double *value, int64_t *start);
/* For every feature of model, the newest non-NULL value of a drift column
 * ("severity", "psi", "missing_rate", "type_error_rate", "out_of_range_rate",
 * "new_category_rate") among the windows starting at most lookback_s before
 * the model's newest drift window; severity only where the window had
 * enough data. feature NULL = every feature. */
/* Rows of an open window count for drift alerts only from this sample size. */
#define STORE_ALERTS_PROVISIONAL_MIN_N 1000

int store_alerts_drift(struct store_alerts *sa, const char *model, const char *column,
                       const char *feature, int64_t lookback_s,
                       void (*fn)(void *arg, const char *feature, double value, int64_t start),
                       void *arg);

#endif
