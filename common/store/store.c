/* store: see store.h. */
#include "store.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Migration 1: the whole schema. Later versions append a string each; a
 * database is walked forward one step at a time inside a transaction. */
static const char schema_v1[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);\n"
    "CREATE TABLE models (\n"
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, task TEXT,\n"
    "  created REAL NOT NULL, last_event REAL);\n"
    "CREATE TABLE features (\n"
    "  model_id INTEGER NOT NULL, name TEXT NOT NULL, kind INTEGER NOT NULL,\n"
    "  source TEXT NOT NULL DEFAULT 'observed', PRIMARY KEY (model_id, name)) WITHOUT ROWID;\n"
    "CREATE TABLE agents (\n"
    "  agent_id TEXT PRIMARY KEY, last_seq INTEGER NOT NULL DEFAULT 0,\n"
    "  last_seen REAL, batches INTEGER NOT NULL DEFAULT 0, events INTEGER NOT NULL DEFAULT 0,\n"
    "  received INTEGER, rejected INTEGER, spool_dropped INTEGER, spool_bytes INTEGER,\n"
    "  started REAL) WITHOUT ROWID;\n"
    "CREATE TABLE batches_seen (\n"
    "  agent_id TEXT NOT NULL, seq INTEGER NOT NULL, received REAL NOT NULL,\n"
    "  PRIMARY KEY (agent_id, seq)) WITHOUT ROWID;\n"
    "CREATE TABLE events (\n"
    "  id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL, req_id TEXT, ts REAL NOT NULL,\n"
    "  window_start INTEGER NOT NULL, latency_ms REAL, error INTEGER NOT NULL DEFAULT 0,\n"
    "  version TEXT, features TEXT, pred_num REAL, pred_str TEXT, score REAL, scores TEXT,\n"
    "  label_num REAL, label_str TEXT, label_ts REAL);\n"
    "CREATE INDEX events_by_window ON events (model_id, window_start);\n"
    "CREATE INDEX events_by_req ON events (model_id, req_id) WHERE req_id IS NOT NULL;\n"
    "CREATE INDEX events_by_ts ON events (ts);\n"
    "CREATE TABLE pending_labels (\n"
    "  model_id INTEGER NOT NULL, req_id TEXT NOT NULL, label_num REAL, label_str TEXT,\n"
    "  ts REAL NOT NULL, expires REAL NOT NULL, PRIMARY KEY (model_id, req_id)) WITHOUT ROWID;\n"
    "CREATE INDEX pending_labels_by_expiry ON pending_labels (expires);\n"
    "CREATE TABLE windows (\n"
    "  model_id INTEGER NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,\n"
    "  count INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,\n"
    "  sampled INTEGER NOT NULL DEFAULT 0, latency_sketch BLOB,\n"
    "  labelled INTEGER NOT NULL DEFAULT 0,\n"
    "  p50 REAL, p90 REAL, p95 REAL, p99 REAL, p999 REAL, max REAL, mean REAL,\n"
    "  provisional INTEGER NOT NULL DEFAULT 1, dirty INTEGER NOT NULL DEFAULT 1,\n"
    "  analyzed REAL, PRIMARY KEY (model_id, start)) WITHOUT ROWID;\n"
    "CREATE INDEX windows_dirty ON windows (dirty) WHERE dirty = 1;\n"
    "CREATE TABLE window_features (\n"
    "  model_id INTEGER NOT NULL, start INTEGER NOT NULL, feature TEXT NOT NULL,\n"
    "  kind INTEGER NOT NULL, n INTEGER NOT NULL DEFAULT 0,\n"
    "  missing INTEGER NOT NULL DEFAULT 0, type_errors INTEGER NOT NULL DEFAULT 0,\n"
    "  out_of_range INTEGER NOT NULL DEFAULT 0, new_category INTEGER NOT NULL DEFAULT 0,\n"
    "  sample BLOB, PRIMARY KEY (model_id, start, feature)) WITHOUT ROWID;\n"
    "CREATE TABLE drift (\n"
    "  model_id INTEGER NOT NULL, start INTEGER NOT NULL, feature TEXT NOT NULL,\n"
    "  kind INTEGER NOT NULL, n INTEGER NOT NULL, n_ref INTEGER,\n"
    "  missing_rate REAL, type_error_rate REAL, out_of_range_rate REAL,\n"
    "  new_category_rate REAL, ks REAL, ks_p REAL, wasserstein REAL, psi REAL, js REAL,\n"
    "  chi2 REAL, chi2_p REAL, method TEXT, score REAL, threshold REAL, severity REAL,\n"
    "  drifted INTEGER, insufficient INTEGER NOT NULL DEFAULT 0, cur_hist TEXT,\n"
    "  PRIMARY KEY (model_id, start, feature)) WITHOUT ROWID;\n"
    "CREATE TABLE accuracy (\n"
    "  model_id INTEGER NOT NULL, start INTEGER NOT NULL, labelled INTEGER NOT NULL,\n"
    "  accuracy REAL, macro_f1 REAL, mae REAL, rmse REAL, est_accuracy REAL,\n"
    "  est_low REAL, est_high REAL, label_coverage REAL, per_class TEXT,\n"
    "  PRIMARY KEY (model_id, start)) WITHOUT ROWID;\n"
    "CREATE TABLE reference (\n"
    "  model_id INTEGER NOT NULL, feature TEXT NOT NULL, kind INTEGER NOT NULL,\n"
    "  n INTEGER NOT NULL, profile BLOB NOT NULL, hist TEXT,\n"
    "  created REAL NOT NULL, PRIMARY KEY (model_id, feature)) WITHOUT ROWID;\n"
    "CREATE TABLE calibration (\n"
    "  model_id INTEGER PRIMARY KEY, profile BLOB NOT NULL, n INTEGER NOT NULL,\n"
    "  created REAL NOT NULL);\n"
    "CREATE TABLE concept_state (\n"
    "  model_id INTEGER NOT NULL, detector TEXT NOT NULL, state BLOB NOT NULL,\n"
    "  updated REAL NOT NULL, PRIMARY KEY (model_id, detector)) WITHOUT ROWID;\n"
    "CREATE TABLE concept_events (\n"
    "  id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL, ts REAL NOT NULL,\n"
    "  window_start INTEGER, detector TEXT NOT NULL, detail TEXT);\n"
    "CREATE INDEX concept_events_by_model ON concept_events (model_id, ts);\n"
    "CREATE TABLE alerts (\n"
    "  id INTEGER PRIMARY KEY, rule TEXT NOT NULL, model TEXT NOT NULL,\n"
    "  feature TEXT NOT NULL DEFAULT '', state TEXT NOT NULL, severity TEXT NOT NULL,\n"
    "  value REAL, threshold REAL, active_at REAL NOT NULL, fired_at REAL,\n"
    "  resolved_at REAL, last_notified REAL, fingerprint TEXT NOT NULL,\n"
    "  acked INTEGER NOT NULL DEFAULT 0, acked_at REAL, summary TEXT, description TEXT,\n"
    "  updated REAL NOT NULL);\n"
    "CREATE INDEX alerts_by_key ON alerts (rule, model, feature, state);\n"
    "CREATE INDEX alerts_by_state ON alerts (state);\n"
    "CREATE TABLE silences (\n"
    "  id INTEGER PRIMARY KEY, rule TEXT NOT NULL, model TEXT, created REAL NOT NULL,\n"
    "  ends REAL NOT NULL, comment TEXT);\n"
    "CREATE TABLE outbox (\n"
    "  id INTEGER PRIMARY KEY, receiver TEXT NOT NULL, alert_id INTEGER,\n"
    "  kind TEXT NOT NULL, payload TEXT NOT NULL, created REAL NOT NULL,\n"
    "  next_attempt REAL NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,\n"
    "  status TEXT NOT NULL DEFAULT 'pending', last_error TEXT, delivered_at REAL);\n"
    "CREATE INDEX outbox_pending ON outbox (receiver, next_attempt) WHERE status = 'pending';\n";

/* v2: an alert that fired or went on firing under a silence owes its
 * receivers a notice when the silence ends; kept in the row so that a
 * restart in between does not turn it into a repeat hours later. */
static const char schema_v2[] = "ALTER TABLE alerts ADD COLUMN owed INTEGER NOT NULL DEFAULT 0;\n";

/* v3: since when an active alert's metric has had no data (traffic
 * stopped): it keeps its state and is shown as such, rather than resolving
 * on an empty interval. NULL while data flows. */
static const char schema_v3[] = "ALTER TABLE alerts ADD COLUMN nodata_since REAL;\n";

/* v4: statistics beyond the fixed columns (ks_p_method, chi2_dof, the
 * z-test, ...) as one JSON object, so a new drift method needs no column. */
static const char schema_v4[] = "ALTER TABLE drift ADD COLUMN stats TEXT;\n";

/* v5 (issue 15): LLM serving per model and window, beside windows rather
 * than in it so that models without LLM traffic cost nothing: events
 * that carried LLM fields, token sums, TTFT / TPOT DDSketches (ms) and
 * finish-reason counts (a JSON object reason -> count). */
static const char schema_v5[] =
    "CREATE TABLE window_llm (\n"
    "  model_id INTEGER NOT NULL, start INTEGER NOT NULL,\n"
    "  llm INTEGER NOT NULL DEFAULT 0, input_tokens INTEGER NOT NULL DEFAULT 0,\n"
    "  output_tokens INTEGER NOT NULL DEFAULT 0, ttft_sketch BLOB, tpot_sketch BLOB,\n"
    "  finish TEXT, PRIMARY KEY (model_id, start)) WITHOUT ROWID;\n";

/* v6: fairness counts per window, protected attribute and group (the
 * model's `fairness_by`); the gaps are computed from them when read
 * (common/fairness.h), so windows can be pooled exactly. */
static const char schema_v6[] =
    "CREATE TABLE fairness (\n"
    "  model_id INTEGER NOT NULL, start INTEGER NOT NULL, attribute TEXT NOT NULL,\n"
    "  grp TEXT NOT NULL, n INTEGER NOT NULL, positives INTEGER NOT NULL,\n"
    "  labelled INTEGER NOT NULL, correct INTEGER NOT NULL, tp INTEGER NOT NULL,\n"
    "  fp INTEGER NOT NULL, tn INTEGER NOT NULL, fn INTEGER NOT NULL,\n"
    "  PRIMARY KEY (model_id, start, attribute, grp)) WITHOUT ROWID;\n";

/* v7 (issue 17, segments): per segment value of the model's segment_by
 * feature, the reference profiles (top-K values by reference rows, the
 * rest as "other"), and per window the drift rows (the drift table's
 * statistics) and the segment's events, errors, latency quantiles of the
 * sampled events and accuracy. common/store/store_segments.h. */
static const char schema_v7[] =
    "CREATE TABLE segment_reference (\n"
    "  model_id INTEGER NOT NULL, seg_key TEXT NOT NULL, segment TEXT NOT NULL,\n"
    "  feature TEXT NOT NULL, kind INTEGER NOT NULL, n INTEGER NOT NULL,\n"
    "  ref_rows INTEGER NOT NULL, profile BLOB NOT NULL,\n"
    "  PRIMARY KEY (model_id, segment, feature)) WITHOUT ROWID;\n"
    "CREATE TABLE segment_drift (\n"
    "  model_id INTEGER NOT NULL, start INTEGER NOT NULL, seg_key TEXT NOT NULL,\n"
    "  segment TEXT NOT NULL, feature TEXT NOT NULL, kind INTEGER NOT NULL,\n"
    "  n INTEGER NOT NULL, n_ref INTEGER, missing_rate REAL, type_error_rate REAL,\n"
    "  out_of_range_rate REAL, new_category_rate REAL, ks REAL, ks_p REAL,\n"
    "  wasserstein REAL, psi REAL, js REAL, chi2 REAL, chi2_p REAL, method TEXT,\n"
    "  score REAL, threshold REAL, severity REAL, drifted INTEGER,\n"
    "  insufficient INTEGER NOT NULL DEFAULT 0,\n"
    "  PRIMARY KEY (model_id, start, segment, feature)) WITHOUT ROWID;\n"
    "CREATE TABLE segment_windows (\n"
    "  model_id INTEGER NOT NULL, start INTEGER NOT NULL, seg_key TEXT NOT NULL,\n"
    "  segment TEXT NOT NULL, events INTEGER NOT NULL, errors INTEGER NOT NULL,\n"
    "  p50 REAL, p90 REAL, p95 REAL, p99 REAL, labelled INTEGER NOT NULL,\n"
    "  accuracy REAL, macro_f1 REAL, mae REAL, rmse REAL, est_accuracy REAL,\n"
    "  PRIMARY KEY (model_id, start, segment)) WITHOUT ROWID;\n";

/* v8 (issue 18): rollup tiers. Minute windows roll up into hourly
 * (tier 3600) and daily (tier 86400) rows as they close (store_rollup.h):
 * counts, merged sketches, accuracy sums weighted as the dashboard weighs
 * them, LLM sums and sketches, per-feature counts with the merged
 * reservoir (numeric) or category counts (categorical) and drift computed
 * on them, fairness counts. window_features.sample now holds each
 * minute's reservoir or category counts; a tier's merged one is in
 * tier_samples, apart, so that the heatmap's reads of tier_features stay
 * narrow. The index on analyzed lets
 * the rollup find the windows analysis finished since its last pass. */
static const char schema_v8[] =
    "CREATE TABLE tiers (\n"
    "  model_id INTEGER NOT NULL, tier INTEGER NOT NULL, start INTEGER NOT NULL,\n"
    "  \"end\" INTEGER NOT NULL, windows INTEGER NOT NULL DEFAULT 0,\n"
    "  count INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,\n"
    "  sampled INTEGER NOT NULL DEFAULT 0, labelled INTEGER NOT NULL DEFAULT 0,\n"
    "  latency_sketch BLOB, p50 REAL, p90 REAL, p95 REAL, p99 REAL, p999 REAL, max REAL,\n"
    "  mean REAL, acc_num REAL, acc_den REAL, mae_num REAL, mae_den REAL, est_num REAL,\n"
    "  est_den REAL, cov_num REAL, cov_den REAL, llm INTEGER NOT NULL DEFAULT 0,\n"
    "  input_tokens INTEGER NOT NULL DEFAULT 0, output_tokens INTEGER NOT NULL DEFAULT 0,\n"
    "  ttft_sketch BLOB, tpot_sketch BLOB, llm_windows INTEGER NOT NULL DEFAULT 0,\n"
    "  updated REAL NOT NULL,\n"
    "  PRIMARY KEY (model_id, tier, start)) WITHOUT ROWID;\n"
    "CREATE TABLE tier_features (\n"
    "  model_id INTEGER NOT NULL, tier INTEGER NOT NULL, start INTEGER NOT NULL,\n"
    "  feature TEXT NOT NULL, kind INTEGER NOT NULL, n INTEGER NOT NULL DEFAULT 0,\n"
    "  missing INTEGER NOT NULL DEFAULT 0, type_errors INTEGER NOT NULL DEFAULT 0,\n"
    "  out_of_range INTEGER NOT NULL DEFAULT 0, new_category INTEGER NOT NULL DEFAULT 0,\n"
    "  n_ref INTEGER, ks REAL, ks_p REAL, wasserstein REAL, psi REAL, js REAL,\n"
    "  chi2 REAL, chi2_p REAL,\n"
    "  method TEXT, score REAL, threshold REAL, severity REAL, drifted INTEGER,\n"
    "  max_severity REAL, worst_start INTEGER, windows INTEGER NOT NULL DEFAULT 0,\n"
    "  drifted_windows INTEGER NOT NULL DEFAULT 0,\n"
    "  PRIMARY KEY (model_id, tier, start, feature)) WITHOUT ROWID;\n"
    "CREATE TABLE tier_samples (\n"
    "  model_id INTEGER NOT NULL, tier INTEGER NOT NULL, start INTEGER NOT NULL,\n"
    "  feature TEXT NOT NULL, sample BLOB NOT NULL,\n"
    "  PRIMARY KEY (model_id, tier, start, feature)) WITHOUT ROWID;\n"
    "CREATE TABLE tier_fairness (\n"
    "  model_id INTEGER NOT NULL, tier INTEGER NOT NULL, start INTEGER NOT NULL,\n"
    "  attribute TEXT NOT NULL, grp TEXT NOT NULL, n INTEGER NOT NULL,\n"
    "  positives INTEGER NOT NULL, labelled INTEGER NOT NULL, correct INTEGER NOT NULL,\n"
    "  tp INTEGER NOT NULL, fp INTEGER NOT NULL, tn INTEGER NOT NULL, fn INTEGER NOT NULL,\n"
    "  PRIMARY KEY (model_id, tier, start, attribute, grp)) WITHOUT ROWID;\n"
    "CREATE INDEX windows_by_analyzed ON windows (analyzed);\n";

/* v9 (issue 17): drift thresholds calibrated from a model's reference,
 * stored with it so a restart does not recalibrate (one row per feature,
 * method, false alarm rate and window size class; dropped with the
 * reference), and where a rolling or same-hour-of-week reference came from
 * (its parts of the history and the missing ones, a JSON array). */
static const char schema_v9[] =
    "CREATE TABLE reference_threshold (\n"
    "  model_id INTEGER NOT NULL, feature TEXT NOT NULL, method TEXT NOT NULL,\n"
    "  rate REAL NOT NULL, n INTEGER NOT NULL, n_pseudo INTEGER NOT NULL,\n"
    "  n_rest INTEGER NOT NULL, n_ref INTEGER NOT NULL, stat REAL NOT NULL,\n"
    "  observed REAL NOT NULL, boot INTEGER NOT NULL, created REAL NOT NULL,\n"
    "  PRIMARY KEY (model_id, feature, method, rate, n)) WITHOUT ROWID;\n"
    "CREATE TABLE reference_source (\n"
    "  model_id INTEGER PRIMARY KEY, mode TEXT NOT NULL, span INTEGER NOT NULL,\n"
    "  built REAL NOT NULL, slot REAL, rows INTEGER NOT NULL, parts INTEGER NOT NULL,\n"
    "  missing_parts INTEGER NOT NULL, missing TEXT);\n";

/* v10 (issue 18 item 3): no index on events.ts. Every stored event paid for
 * it and only retention used it; retention now walks each model's events
 * by events_by_window (window_start <= ts). */
static const char schema_v10[] = "DROP INDEX IF EXISTS events_by_ts;\n";

/* v11 (issue 18 item 3): an event's features as the binary blob of
 * common/featcodec.h (BYTEA on PostgreSQL), written instead of the JSON
 * text in `features`; rows stored before keep their text, which the readers
 * still take (store_ingest.c event_row), so nothing is rewritten. */
static const char schema_v11[] = "ALTER TABLE events ADD COLUMN features_bin BLOB;\n";

static const char *const migrations[] = {schema_v1, schema_v2,  schema_v3, schema_v4,
                                         schema_v5, schema_v6,  schema_v7, schema_v8,
                                         schema_v9, schema_v10, schema_v11};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
               "STORE_SCHEMA_VERSION is the number of the newest migration");

const char *store_schema_sql(void)
{
	return schema_v1; /* the base; migrations[] holds what followed */
}

const char *store_errmsg(const struct store *st)
{
	return st->db ? db_errmsg(st->db) : "database not open";
}

int store_exec(struct store *st, const char *sql)
{
	return db_exec(st->db, sql) == DB_OK ? 0 : -1;
}

/* The schema version: SQLite's user_version, or meta's schema_version row
 * on PostgreSQL (which has no such pragma; 0 when meta does not exist). */
static int user_version(struct store *st, int *v)
{
	struct db_stmt *s = NULL;
	int rc = -1;

	*v = 0;
	if (db_engine(st->db) == DB_POSTGRES) {
		if (db_prepare(st->db, "SELECT to_regclass('meta') IS NOT NULL", &s) != DB_OK ||
		    db_step(s) != DB_ROW)
			goto out;
		if (!db_column_int(s, 0)) {
			rc = 0;
			goto out;
		}
		db_finalize(s);
		s = NULL;
		if (db_prepare(st->db, "SELECT value FROM meta WHERE key = 'schema_version'", &s) !=
		    DB_OK)
			goto out;
		int step = db_step(s);
		if (step == DB_ROW)
			*v = atoi((const char *)db_column_text(s, 0));
		rc = step == DB_ROW || step == DB_DONE ? 0 : -1;
		goto out;
	}
	if (db_prepare(st->db, "PRAGMA user_version", &s) != DB_OK)
		goto out;
	if (db_step(s) != DB_ROW)
		goto out;
	*v = db_column_int(s, 0);
	rc = 0;
out:
	db_finalize(s);
	return rc;
}

static int set_version(struct store *st, int v)
{
	char sql[128];

	if (db_engine(st->db) == DB_POSTGRES)
		snprintf(sql, sizeof(sql),
		         "INSERT INTO meta (key, value) VALUES ('schema_version', '%d') "
		         "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
		         v);
	else
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	return store_exec(st, sql);
}

/* The DDL of one migration for this engine: SQLite's text as it is, or
 * rewritten for PostgreSQL (store_pg_ddl). */
static char *migration_sql(struct store *st, int v)
{
	if (db_engine(st->db) == DB_POSTGRES)
		return store_pg_ddl(migrations[v]);
	return strdup(migrations[v]);
}

/* PostgreSQL: several mlwatchd may start at once on an empty database.
 * Migrators are serialized by a session advisory lock taken before the
 * first migration's transaction and the version read again after it:
 * a lock taken inside the transaction (pg_advisory_xact_lock) would not
 * do, because a backend that waited for it keeps its catalog caches from
 * before the wait (an advisory lock processes no invalidations), so
 * to_regclass('meta') still said "no table" and the second collector ran
 * the first migration again ("function total already exists"). */
#define MIGRATE_LOCK "7365102016"

static int migrate_steps(struct store *st, int v, int n, char *err, size_t errlen);

static int migrate(struct store *st, char *err, size_t errlen)
{
	int v, n = (int)(sizeof(migrations) / sizeof(migrations[0]));

	if (user_version(st, &v)) {
		snprintf(err, errlen, "%s: cannot read schema version: %s", st->path,
		         store_errmsg(st));
		return -1;
	}
	if (v > n) {
		snprintf(err, errlen,
		         "%s: schema version %d is newer than this mlwatch understands (%d); "
		         "upgrade mlwatch",
		         st->path, v, n);
		return -1;
	}
	if (v == n)
		return 0;
	if (st->mode == STORE_RO) {
		snprintf(
		    err, errlen,
		    "%s: schema version %d is older than %d; start mlwatchd once to migrate it",
		    st->path, v, n);
		return -1;
	}
	if (db_engine(st->db) != DB_POSTGRES)
		return migrate_steps(st, v, n, err, errlen);
	/* serialize migrators, then look again (a new transaction, so fresh
	 * catalogs): another may have walked the schema forward meanwhile */
	if (store_exec(st, "SELECT pg_advisory_lock(" MIGRATE_LOCK ")")) {
		snprintf(err, errlen, "%s: cannot lock the schema for migration: %s", st->path,
		         store_errmsg(st));
		return -1;
	}
	int rc = 0;
	if (user_version(st, &v)) {
		snprintf(err, errlen, "%s: cannot read schema version: %s", st->path,
		         store_errmsg(st));
		rc = -1;
	} else if (v > n) {
		snprintf(err, errlen,
		         "%s: schema version %d is newer than this mlwatch understands (%d); "
		         "upgrade mlwatch",
		         st->path, v, n);
		rc = -1;
	} else if (v < n) {
		rc = migrate_steps(st, v, n, err, errlen);
	}
	/* the lock also ends with the session, should the unlock fail */
	store_exec(st, "SELECT pg_advisory_unlock(" MIGRATE_LOCK ")");
	return rc;
}

/* Migrations v..n-1, each in its own transaction with its version. */
static int migrate_steps(struct store *st, int v, int n, char *err, size_t errlen)
{
	char *ddl = NULL;

	for (; v < n; v++) {
		if (db_begin(st->db, true) != DB_OK)
			goto fail;
		ddl = migration_sql(st, v);
		if (!ddl || store_exec(st, ddl))
			goto fail_rollback;
		free(ddl);
		ddl = NULL;
		if (set_version(st, v + 1) || store_exec(st, "COMMIT"))
			goto fail_rollback;
	}
	return 0;
fail_rollback:
	free(ddl);
	snprintf(err, errlen, "%s: migration to schema %d failed: %s", st->path, v + 1,
	         store_errmsg(st));
	store_exec(st, "ROLLBACK");
	return -1;
fail:
	snprintf(err, errlen, "%s: cannot migrate: %s", st->path, store_errmsg(st));
	return -1;
}

/* Creates the file with mode 0600 before SQLite does, so that the database
 * (and, through SQLite's rule of copying the main file's mode, its -wal and
 * -shm) is never readable by others, whatever the umask. */
static int create_private(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

static int open_sqlite(struct store *st, const char *path, enum store_mode mode,
                       bool synchronous_full, char *err, size_t errlen)
{
	if (mode == STORE_RW_CREATE && access(path, F_OK) != 0 && create_private(path, err, errlen))
		return -1;
	if (mode != STORE_RW_CREATE && access(path, F_OK) != 0) {
		snprintf(err, errlen, "%s: no such database (start mlwatchd with --db %s first)",
		         path, path);
		return -1;
	}
	if (db_sqlite_open(&st->db, path, mode == STORE_RO ? DB_OPEN_RO : DB_OPEN_RW,
	                   mode == STORE_RO ? 2000 : 10000, err, errlen) != DB_OK)
		return -1;
	if (mode != STORE_RO) {
		char sql[128];
		if (store_exec(st, "PRAGMA journal_mode=WAL")) {
			snprintf(err, errlen, "%s: cannot switch to WAL: %s", path,
			         store_errmsg(st));
			return -1;
		}
		snprintf(sql, sizeof(sql),
		         "PRAGMA synchronous=%s; PRAGMA temp_store=MEMORY; PRAGMA "
		         "cache_size=-16384; PRAGMA foreign_keys=OFF",
		         synchronous_full ? "FULL" : "NORMAL");
		store_exec(st, sql);
	}
	return 0;
}

int store_open(struct store *st, const char *path, enum store_mode mode, bool synchronous_full,
               char *err, size_t errlen)
{
	char shown[1024];

	memset(st, 0, sizeof(*st));
	if (db_check_target(path, err, errlen))
		return -1;
	st->mode = mode;
	/* st->path is what messages show: a URI's password never is */
	st->path = strdup(db_redact(path, shown, sizeof(shown)));
	if (!st->path) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (db_is_postgres(path)) {
		if (db_pg_open(&st->db, path, mode == STORE_RO ? DB_OPEN_RO : DB_OPEN_RW, err,
		               errlen) != DB_OK)
			goto fail;
	} else if (open_sqlite(st, path, mode, synchronous_full, err, errlen)) {
		goto fail;
	}
	if (migrate(st, err, errlen))
		goto fail;
	return 0;
fail:
	store_close(st);
	return -1;
}

void store_close(struct store *st)
{
	if (st->db) {
		if (st->mode != STORE_RO)
			db_sqlite_checkpoint(st->db);
		db_close(st->db);
	}
	free(st->path);
	memset(st, 0, sizeof(*st));
}

#define TIME_BOUND_MAX 4e18

int64_t store_time_ceil(double x)
{
	if (!(x > -TIME_BOUND_MAX))
		return (int64_t)-TIME_BOUND_MAX;
	return x < TIME_BOUND_MAX ? (int64_t)ceil(x) : (int64_t)TIME_BOUND_MAX;
}

int64_t store_time_floor(double x)
{
	if (!(x > -TIME_BOUND_MAX))
		return (int64_t)-TIME_BOUND_MAX;
	return x < TIME_BOUND_MAX ? (int64_t)floor(x) : (int64_t)TIME_BOUND_MAX;
}

bool store_is_postgres(const struct store *st)
{
	return st->db && db_engine(st->db) == DB_POSTGRES;
}

int store_begin(struct store *st)
{
	if (db_begin(st->db, st->mode != STORE_RO) != DB_OK)
		return -1;
	st->in_tx = 1;
	return 0;
}

int store_commit(struct store *st)
{
	if (db_commit(st->db) != DB_OK)
		return -1;
	st->in_tx = 0;
	return 0;
}

void store_rollback(struct store *st)
{
	if (st->in_tx)
		db_rollback(st->db);
	st->in_tx = 0;
}

struct db_stmt *store_prepare(struct store *st, struct db_stmt **slot, const char *sql)
{
	return db_cached(st->db, slot, sql);
}

void store_finalize(struct db_stmt **slots, size_t n)
{
	db_finalize_all(slots, n);
}

int store_each_row(struct db_stmt *s, db_row_fn row, void *ctx)
{
	int rc, stop = 0;

	while ((rc = db_step(s)) == DB_ROW)
		if ((stop = row(s, ctx)) != 0)
			break;
	db_reset(s);
	/* A stop value wins over the step code: the caller asked for it. */
	return stop ? stop : rc == DB_DONE ? 0 : -1;
}

int store_meta_set(struct store *st, const char *key, const char *value)
{
	struct db_stmt *s = NULL;
	int rc = -1;

	if (db_prepare(st->db,
	               "INSERT INTO meta (key, value) VALUES (?1, ?2) "
	               "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
	               &s) != DB_OK)
		goto out;
	db_bind_text(s, 1, key, -1);
	db_bind_text(s, 2, value, -1);
	rc = db_step(s) == DB_DONE ? 0 : -1;
out:
	db_finalize(s);
	return rc;
}

int store_meta_get(struct store *st, const char *key, char *buf, size_t cap)
{
	struct db_stmt *s = NULL;
	int rc = -1;

	if (db_prepare(st->db, "SELECT value FROM meta WHERE key = ?1", &s) != DB_OK)
		goto out;
	db_bind_text(s, 1, key, -1);
	if (db_step(s) == DB_ROW) {
		snprintf(buf, cap, "%s", (const char *)db_column_text(s, 0));
		rc = 0;
	}
out:
	db_finalize(s);
	return rc;
}

int64_t store_file_size(const struct store *st)
{
	struct stat sb;
	char wal[4096];
	int64_t n = 0;

	if (!st->path || store_is_postgres(st))
		return 0;
	if (stat(st->path, &sb) == 0)
		n += sb.st_size;
	snprintf(wal, sizeof(wal), "%s-wal", st->path);
	if (stat(wal, &sb) == 0)
		n += sb.st_size;
	return n;
}

static int size_row(struct db_stmt *s, void *ctx)
{
	*(int64_t *)ctx = db_column_int64(s, 0);
	return 0;
}

int store_size(struct store *st, int64_t *bytes)
{
	struct db_stmt *s = NULL;
	int rc;

	*bytes = 0;
	if (!store_is_postgres(st)) {
		*bytes = store_file_size(st);
		return 0;
	}
	if (db_prepare(st->db, "SELECT pg_database_size(current_database())", &s) != DB_OK)
		return -1;
	rc = store_each_row(s, size_row, bytes);
	db_finalize(s);
	return rc ? -1 : 0;
}

struct json_rows {
	cJSON *arr;
};

static int json_row(struct db_stmt *s, void *arg)
{
	struct json_rows *jr = arg;
	cJSON *o = cJSON_CreateObject();

	if (!o || !cJSON_AddItemToArray(jr->arr, o)) {
		cJSON_Delete(o);
		return DB_NOMEM;
	}
	for (int c = 0; c < db_column_count(s); c++) {
		cJSON *v;
		switch (db_column_type(s, c)) {
		case DB_INTEGER:
		case DB_FLOAT:
			v = cJSON_CreateNumber(db_column_double(s, c));
			break;
		case DB_TEXT:
			v = cJSON_CreateString((const char *)db_column_text(s, c));
			break;
		default:
			v = cJSON_CreateNull();
		}
		if (!v || !cJSON_AddItemToObject(o, db_column_name(s, c), v)) {
			cJSON_Delete(v);
			return DB_NOMEM;
		}
	}
	return 0;
}

cJSON *store_rows_json(struct store *st, const char *sql, const char *const *args, int nargs,
                       char *err, size_t errlen)
{
	struct json_rows jr = {NULL};
	struct db_stmt *s = NULL;
	int rc;

	if (db_prepare(st->db, sql, &s) != DB_OK) {
		snprintf(err, errlen, "%s", store_errmsg(st));
		return NULL;
	}
	for (int i = 0; i < nargs; i++)
		if (args[i])
			db_bind_text(s, i + 1, args[i], -1);
		else
			db_bind_null(s, i + 1);
	if (!(jr.arr = cJSON_CreateArray())) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = db_rows(s, json_row, &jr);
	if (rc != DB_OK) {
		snprintf(err, errlen, "%s", rc == DB_NOMEM ? "out of memory" : store_errmsg(st));
		cJSON_Delete(jr.arr);
		jr.arr = NULL;
	}
out:
	db_finalize(s);
	return jr.arr;
}
