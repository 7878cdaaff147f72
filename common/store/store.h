/* store: the database shared by mlwatchd (writer) and mlwatch (reader):
 * a SQLite file (the default) or a PostgreSQL database (a postgresql://
 * URI); opening it the right way, the schema and its migrations, and
 * transactions. All SQL lives in common/store/ and is written once, in the
 * dialect of db.h, for both engines: store_ingest (what the collector
 * writes), store_alerts (alert state, silences, outbox), store_query (what
 * the dashboard and subcommands read), store_fairness, store_copy (mlwatch
 * migrate). The engines are behind db.h (db_sqlite.c, db_pg.c); nothing
 * else calls sqlite3_* or PQ* (tests reach SQLite via db_sqlite_handle).
 *
 * Threads: one struct store per thread (each opens its own connection).
 * Failures: store_open fills err with the target (password masked) and
 * why; the other calls return -1 and store_errmsg says why.
 *
 * Versions: SQLite's user_version; on PostgreSQL the schema_version row
 * of meta, and the DDL below rewritten by store_pg_ddl (REAL -> double
 * precision, BLOB -> bytea, INTEGER PRIMARY KEY -> bigint identity),
 * migrators serialized by an advisory lock.
 *
 * Schema (version 7; store_schema_sql() and the migrations in store.c):
 *   meta(key, value)                         last_write, window_seconds, ...
 *   models(id, name, task, created, last_event)
 *   features(model_id, name, kind, source)   kind 1 numeric, 2 categorical
 *   agents(agent_id, last_seq, last_seen, batches, events, ...)
 *   batches_seen(agent_id, seq, received)    dedupe on (agent_id, seq)
 *   events(id, model_id, req_id, ts, window_start, latency_ms, error,
 *          version, features JSON, pred_num|pred_str, score, scores JSON,
 *          label_num|label_str, label_ts)    raw sampled events
 *   pending_labels(model_id, req_id, label_num|label_str, ts, expires)
 *   windows(model_id, start, end, count, errors, sampled, latency_sketch,
 *           labelled, p50..p999, max, mean, provisional, dirty, analyzed)
 *   window_features(model_id, start, feature, kind, n, missing,
 *           type_errors, out_of_range, new_category, sample BLOB)
 *   drift(model_id, start, feature, ... every statistic, method, score,
 *         threshold, severity, drifted, insufficient, cur_hist JSON)
 *   accuracy(model_id, start, labelled, accuracy, macro_f1, mae, rmse,
 *            est_accuracy, est_low, est_high, label_coverage, per_class)
 *   reference(model_id, feature, kind, n, profile BLOB, hist JSON)
 *   calibration(model_id, profile BLOB, n, created)
 *   concept_state(model_id, detector, state BLOB, updated)
 *   concept_events(id, model_id, ts, window_start, detector, detail)
 *   alerts(id, rule, model, feature, state, severity, value, threshold,
 *          active_at, fired_at, resolved_at, last_notified, fingerprint,
 *          acked, acked_at, summary, description, updated,
 *          owed)                             owed: a notice due when a silence ends
 *   silences(id, rule, model, created, ends, comment)
 *   outbox(id, receiver, alert_id, kind, payload JSON, created,
 *          next_attempt, attempts, status, last_error, delivered_at)
 *   segment_reference, segment_drift, segment_windows (v7)   per segment
 *          value of segment_by: store_segments.h
 *   tiers, tier_features, tier_fairness      hourly and daily rollups
 *                                            (store_rollup.h)
 * Times are Unix seconds (REAL); window starts are integer seconds. */
#ifndef MLW_STORE_H
#define MLW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 11

#include "db.h"

enum store_mode {
	STORE_RW_CREATE, /* the collector: create (mode 0600) and migrate */
	STORE_RW,        /* ack/silence/reference import: must exist, migrate */
	STORE_RO,        /* the dashboard: read only, never blocks the writer */
};

struct store {
	struct db *db; /* the connection: SQLite or PostgreSQL (db.h) */
	enum store_mode mode;
	char *path;
	int in_tx;
};

/* Opens path. synchronous_full selects PRAGMA synchronous=FULL (else NORMAL).
 * Returns 0, or -1 with the reason in err (no store to close). */
int store_open(struct store *st, const char *path, enum store_mode mode, bool synchronous_full,
               char *err, size_t errlen);
/* Checkpoints the WAL (writers) and closes. */
void store_close(struct store *st);

/* BEGIN IMMEDIATE (writers) or BEGIN (readers) / COMMIT / ROLLBACK.
 * Return 0 or -1 (store_errmsg says why; SQLITE_BUSY is retried by
 * busy_timeout first). */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* Prepares sql once into *slot (a cache the calling module owns) and resets
 * it for reuse. Returns the statement or NULL. */
struct db_stmt *store_prepare(struct store *st, struct db_stmt **slot, const char *sql);
/* Finalizes n cached statements. */
void store_finalize(struct db_stmt **slots, size_t n);
/* The row loop of the store modules: steps s (prepared and bound), calling
 * row(s, ctx) for each row -- it decodes the columns and hands them to the
 * caller's callback -- until the rows end (0) or row returns nonzero (that
 * value, passed through: a callback's stop or a decoder's failure). A failed
 * step is -1. s is reset on return. Allocates nothing. Unlike db_rows, a
 * stop value is never confused with an engine code. */
int store_each_row(struct db_stmt *s, db_row_fn row, void *ctx);

const char *store_errmsg(const struct store *st);
/* Runs sql with no results (DDL, pragmas). */
int store_exec(struct store *st, const char *sql);

/* meta table. store_meta_get returns 0 and copies the value, -1 if absent. */
int store_meta_set(struct store *st, const char *key, const char *value);
int store_meta_get(struct store *st, const char *key, char *buf, size_t cap);

struct cJSON;
/* Rows of sql (parameters ?1.. = args, a NULL arg binds NULL) as a cJSON
 * array of objects keyed by column name: numbers, strings or null (blobs
 * are null). NULL on a database error (err says why) or out of memory. */
struct cJSON *store_rows_json(struct store *st, const char *sql, const char *const *args, int nargs,
                              char *err, size_t errlen);

/* True when the store is on PostgreSQL. */
bool store_is_postgres(const struct store *st);

/* A time bound for an integer column (window starts and ends): bind the
 * integer that gives the same answer, c >= x and c < x as c >= ceil(x) and
 * c < ceil(x), c <= x and c > x with floor(x). PostgreSQL compares a
 * bigint column with a float8 parameter by casting the column, so an index
 * on (model_id, start) served model_id alone and every window or drift row
 * of the model was read (dashboard views 60-75 ms instead of under 1 ms on
 * a 1,000,000-event store). SQLite gives the same rows either way. Clamped
 * far inside int64. */
int64_t store_time_ceil(double x);
int64_t store_time_floor(double x);

/* A migration's SQLite DDL rewritten for PostgreSQL (types, identity keys,
 * WITHOUT ROWID dropped, reserved column names quoted); malloc'd. */
char *store_pg_ddl(const char *sqlite_ddl);

/* Size of the database file and its WAL, in bytes. */
int64_t store_file_size(const struct store *st);
/* The store's size in bytes: the file and its WAL (SQLite), or
 * pg_database_size of the database (PostgreSQL, one query). 0 or -1. */
int store_size(struct store *st, int64_t *bytes);

/* The full DDL of the current schema, for documentation and tests. */
const char *store_schema_sql(void);

#endif
