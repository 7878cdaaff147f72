/* store_ingest: see store_ingest.h. */
#include "store_ingest.h"

#include <cJSON.h>

#include <math.h>
#include "db.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ddsketch.h"
#include "featcodec.h"

enum {
	S_MODEL_GET,
	S_DATA_VERSION,
	S_MODEL_ADD,
	S_SEEN,
	S_EVENT,
	S_PENDING_GET,
	S_PENDING_DEL,
	S_JOIN_FIND,
	S_JOIN_SET,
	S_PENDING_ADD,
	S_PENDING_COUNTS,
	S_WIN_SKETCH,
	S_WIN_UPSERT,
	S_MODEL_SEEN,
	S_AGENT,
	S_AGENT_STATS,
	S_LAST_WRITE,
	S_RET_EVENTS,
	S_RET_AGENTS,
	S_RET_OLDEST,
	S_RET_SEEN,
	S_RET_LABELS,
	S_RET_MODELS,
	S_RET_WINDOWS,
	S_RET_WF,
	S_RET_DRIFT,
	S_RET_ACC,
	S_RET_FAIR,
	S_RET_SEG_DRIFT,
	S_RET_SEG_WIN,
	S_RET_CONCEPT,
	S_DIRTY,
	S_WIN_GET,
	S_MODELS,
	S_MODEL_TASK,
	S_FEATURES,
	S_FEATURE_ADD,
	S_FEATURE_REPLACE,
	S_EVENTS_AFTER,
	S_WIN_EVENTS_AFTER,
	S_WIN_EVENTS,
	S_RANGE_EVENTS,
	S_WIN_LABELLED,
	S_MAX_ID,
	S_WIN_RESULT,
	S_WF,
	S_DRIFT,
	S_CLEAR_WF,
	S_CLEAR_DRIFT,
	S_ACC,
	S_CONCEPT_GET,
	S_CONCEPT_PUT,
	S_CONCEPT_EVENT,
	S_REFS,
	S_REF_VERSION,
	S_REF_CLEAR,
	S_CAL_CLEAR,
	S_REF_PUT,
	S_CAL_PUT,
	S_CAL_GET,
	S_MARK_DIRTY,
	S_EVENT_EXISTS,
	S_LLM_GET,
	S_LLM_UPSERT,
	S_RET_LLM,
	S_EVENTS_SEEN,
	S_MODELS_PRINT,
	S_WIN_SET_SKETCH,
	S_LLM_SET,
	S_EVENTS_NEWEST,
	S_EVENTS_RECENT_COUNT,
	S_EVENTS_RECENT,
	S_COUNT
};

struct model_entry {
	char *name;
	int64_t id;
};

struct store_ingest {
	struct store *st;
	struct db_stmt *s[S_COUNT];
	struct db_bulk *events; /* the events loader, opened at first use */
	/* dedupe's scratch, grown as needed */
	size_t *slots; /* dedupe_within's hash table */
	size_t slots_cap;
	char *arr[3]; /* PostgreSQL array literals: model ids, req ids, times */
	size_t arr_len[3], arr_cap[3];
	size_t *sent; /* row of each array element */
	size_t sent_cap;
	struct model_entry *models; /* small open-addressing cache */
	size_t nmodels, cap;
	int64_t next_model_windows; /* retention cursor over models */
	int64_t data_version;       /* PRAGMA data_version at the last sync, 0 none */
	int64_t models_print[3];    /* PostgreSQL: the models table's at the last sync */
	/* event_row: a row stored as JSON text before the blob, encoded */
	struct featcodec_enc legacy;
	struct featcodec_error feat_err;
};

#define EVENT_COLS                                                                        \
	"id, model_id, window_start, req_id, ts, latency_ms, error, features, pred_num, " \
	"pred_str, score, scores, label_num, label_str, features_bin"

static const char *const sql[S_COUNT] = {
    [S_MODEL_GET] = "SELECT id FROM models WHERE name = ?1",
    [S_DATA_VERSION] = "PRAGMA data_version",
    /* another collector may create the same model at the same time: the
     * loser waits for its commit, inserts nothing and reads the id */
    [S_MODEL_ADD] = "INSERT INTO models (name, created) VALUES (?1, ?2) ON CONFLICT (name) DO "
                    "NOTHING RETURNING id",
    [S_SEEN] = "INSERT INTO batches_seen (agent_id, seq, received) VALUES (?1, ?2, ?3) "
               "ON CONFLICT DO NOTHING",
    [S_EVENT] = "INSERT INTO events (model_id, req_id, ts, window_start, latency_ms, error, "
                "version, features_bin, pred_num, pred_str, score, scores, label_num, label_str, "
                "label_ts) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, "
                "?15)",
    [S_PENDING_GET] = "SELECT label_num, label_str, ts FROM pending_labels "
                      "WHERE model_id = ?1 AND req_id = ?2",
    [S_PENDING_DEL] = "DELETE FROM pending_labels WHERE model_id = ?1 AND req_id = ?2",
    [S_EVENT_EXISTS] = "SELECT 1 FROM events WHERE model_id = ?1 AND req_id = ?2 AND ts >= ?3 "
                       "AND ts <= ?4 LIMIT 1",
    [S_JOIN_FIND] = "SELECT id, window_start, label_num IS NULL AND label_str IS NULL "
                    "FROM events WHERE model_id = ?1 AND req_id = ?2",
    [S_JOIN_SET] = "UPDATE events SET label_num = ?2, label_str = ?3, label_ts = ?4 "
                   "WHERE id = ?1",
    [S_PENDING_ADD] = "INSERT INTO pending_labels (model_id, req_id, label_num, label_str, ts, "
                      "expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (model_id, req_id) "
                      "DO UPDATE SET label_num = excluded.label_num, label_str = "
                      "excluded.label_str, ts = excluded.ts, expires = excluded.expires",
    [S_PENDING_COUNTS] = "SELECT model_id, count(*) FROM pending_labels GROUP BY model_id",
    [S_WIN_SKETCH] = "SELECT latency_sketch FROM windows WHERE model_id = ?1 AND start = ?2",
    [S_WIN_UPSERT] =
        "INSERT INTO windows (model_id, start, \"end\", count, errors, sampled, labelled, "
        "latency_sketch, provisional, dirty) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, 1) "
        "ON CONFLICT (model_id, start) DO UPDATE SET count = windows.count + excluded.count, "
        "errors = windows.errors + excluded.errors, "
        "sampled = windows.sampled + excluded.sampled, "
        "labelled = windows.labelled + excluded.labelled, "
        "latency_sketch = coalesce(excluded.latency_sketch, windows.latency_sketch), dirty = 1",
    [S_MODEL_SEEN] = "UPDATE models SET last_event = max(coalesce(last_event, 0), ?2) "
                     "WHERE id = ?1",
    [S_AGENT] =
        "INSERT INTO agents (agent_id, last_seq, last_seen, batches, events) "
        "VALUES (?1, ?2, ?3, 1, ?4) ON CONFLICT (agent_id) DO UPDATE SET "
        "last_seq = max(agents.last_seq, excluded.last_seq), last_seen = excluded.last_seen, "
        "batches = agents.batches + 1, events = agents.events + excluded.events",
    [S_AGENT_STATS] = "UPDATE agents SET received = ?2, rejected = ?3, spool_dropped = ?4, "
                      "spool_bytes = ?5, started = ?6 WHERE agent_id = ?1",
    [S_LAST_WRITE] = "INSERT INTO meta (key, value) VALUES ('last_write', ?1) "
                     "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    /* per model along events_by_window: an event's window starts at or
     * before its ts, so every event with ts < ?2 is in this range */
    [S_RET_EVENTS] = "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE model_id = ?1 "
                     "AND window_start < ?2 AND ts < ?2 ORDER BY window_start LIMIT ?3)",
    [S_RET_AGENTS] = "SELECT agent_id FROM agents ORDER BY agent_id",
    [S_RET_OLDEST] = "SELECT seq, received FROM batches_seen WHERE agent_id = ?1 ORDER BY seq "
                     "LIMIT 1",
    [S_RET_SEEN] = "DELETE FROM batches_seen WHERE agent_id = ?1 AND seq >= ?2 AND seq < ?3 "
                   "AND received < ?4",
    [S_RET_LABELS] = "DELETE FROM pending_labels WHERE (model_id, req_id) IN "
                     "(SELECT model_id, req_id FROM pending_labels WHERE expires < ?1 "
                     "ORDER BY expires LIMIT ?2)",
    [S_RET_MODELS] = "SELECT id FROM models WHERE id > ?1 ORDER BY id LIMIT 1",
    [S_RET_WINDOWS] = "DELETE FROM windows WHERE model_id = ?1 AND start IN (SELECT start FROM "
                      "windows WHERE model_id = ?1 AND start < ?2 ORDER BY start LIMIT ?3)",
    [S_RET_WF] = "DELETE FROM window_features WHERE model_id = ?1 AND (start, feature) IN "
                 "(SELECT start, feature FROM window_features WHERE model_id = ?1 AND start < "
                 "?2 ORDER BY start LIMIT ?3)",
    [S_RET_DRIFT] = "DELETE FROM drift WHERE model_id = ?1 AND (start, feature) IN "
                    "(SELECT start, feature FROM drift WHERE model_id = ?1 AND start < ?2 "
                    "ORDER BY start LIMIT ?3)",
    [S_RET_ACC] = "DELETE FROM accuracy WHERE model_id = ?1 AND start IN (SELECT start FROM "
                  "accuracy WHERE model_id = ?1 AND start < ?2 ORDER BY start LIMIT ?3)",
    [S_LLM_GET] = "SELECT ttft_sketch, tpot_sketch, finish FROM window_llm WHERE model_id = ?1 "
                  "AND start = ?2",
    [S_LLM_UPSERT] =
        "INSERT INTO window_llm (model_id, start, llm, input_tokens, output_tokens, "
        "ttft_sketch, tpot_sketch, finish) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
        "ON CONFLICT (model_id, start) DO UPDATE SET llm = window_llm.llm + excluded.llm, "
        "input_tokens = window_llm.input_tokens + excluded.input_tokens, "
        "output_tokens = window_llm.output_tokens + excluded.output_tokens, "
        "ttft_sketch = coalesce(excluded.ttft_sketch, window_llm.ttft_sketch), "
        "tpot_sketch = coalesce(excluded.tpot_sketch, window_llm.tpot_sketch), "
        "finish = coalesce(excluded.finish, window_llm.finish)",
    [S_RET_LLM] = "DELETE FROM window_llm WHERE model_id = ?1 AND start IN (SELECT start FROM "
                  "window_llm WHERE model_id = ?1 AND start < ?2 ORDER BY start LIMIT ?3)",
    [S_RET_FAIR] = "DELETE FROM fairness WHERE model_id = ?1 AND (start, attribute, grp) IN "
                   "(SELECT start, attribute, grp FROM fairness WHERE model_id = ?1 AND "
                   "start < ?2 ORDER BY start LIMIT ?3)",
    [S_RET_SEG_DRIFT] = "DELETE FROM segment_drift WHERE model_id = ?1 AND (start, segment, "
                        "feature) IN (SELECT start, segment, feature FROM segment_drift WHERE "
                        "model_id = ?1 AND start < ?2 ORDER BY start LIMIT ?3)",
    [S_RET_SEG_WIN] = "DELETE FROM segment_windows WHERE model_id = ?1 AND (start, segment) IN "
                      "(SELECT start, segment FROM segment_windows WHERE model_id = ?1 AND "
                      "start < ?2 ORDER BY start LIMIT ?3)",
    [S_RET_CONCEPT] = "DELETE FROM concept_events WHERE id IN (SELECT id FROM concept_events "
                      "WHERE model_id = ?1 AND ts < ?2 ORDER BY ts LIMIT ?3)",
    [S_DIRTY] = "SELECT model_id, start, \"end\", count, errors, sampled, labelled, provisional, "
                "latency_sketch FROM windows WHERE dirty = 1 ORDER BY start LIMIT ?1",
    [S_WIN_GET] = "SELECT model_id, start, \"end\", count, errors, sampled, labelled, provisional, "
                  "latency_sketch FROM windows WHERE model_id = ?1 AND start = ?2",
    [S_MODELS] = "SELECT id, name, task FROM models ORDER BY id",
    [S_MODEL_TASK] = "UPDATE models SET task = ?2 WHERE id = ?1",
    [S_FEATURES] = "SELECT name, kind, source FROM features WHERE model_id = ?1",
    [S_FEATURE_ADD] = "INSERT INTO features (model_id, name, kind, source) VALUES "
                      "(?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
    [S_FEATURE_REPLACE] = "INSERT INTO features (model_id, name, kind, source) VALUES "
                          "(?1, ?2, ?3, ?4) ON CONFLICT (model_id, name) DO UPDATE SET "
                          "kind = excluded.kind, source = excluded.source",
    [S_EVENTS_AFTER] = "SELECT " EVENT_COLS " FROM events WHERE id > ?1 AND id <= ?2 "
                       "ORDER BY id",
    [S_WIN_EVENTS] = "SELECT " EVENT_COLS " FROM events WHERE model_id = ?1 AND "
                     "window_start = ?2 AND id <= ?3 ORDER BY id",
    [S_WIN_EVENTS_AFTER] = "SELECT " EVENT_COLS " FROM events WHERE model_id = ?1 AND "
                           "window_start = ?2 AND id > ?4 AND id <= ?3 ORDER BY id",
    [S_RANGE_EVENTS] = "SELECT " EVENT_COLS " FROM events WHERE model_id = ?1 AND "
                       "window_start >= ?4 AND window_start < ?5 AND ts >= ?2 AND ts < ?3 "
                       "ORDER BY id",
    [S_WIN_LABELLED] = "SELECT " EVENT_COLS " FROM events WHERE model_id = ?1 AND "
                       "window_start = ?2 AND (label_num IS NOT NULL OR label_str IS NOT NULL) "
                       "ORDER BY id",
    [S_MAX_ID] = "SELECT coalesce(max(id), 0) FROM events",
    [S_WIN_RESULT] =
        "UPDATE windows SET p50 = ?3, p90 = ?4, p95 = ?5, p99 = ?6, p999 = ?7, max = ?8, "
        "mean = ?9, analyzed = ?10, provisional = CASE WHEN ?11 <> 0 THEN 0 ELSE provisional END, "
        "dirty = CASE WHEN ?11 <> 0 AND count = ?12 AND errors = ?13 AND sampled = ?14 AND "
        "labelled = ?15 THEN 0 ELSE 1 END WHERE model_id = ?1 AND start = ?2 "
        "RETURNING dirty",
    /* Replacing a row: the upsert names every column, so that it equals
     * SQLite's INSERT OR REPLACE (a column left out would keep its value). */
    [S_WF] = "INSERT INTO window_features (model_id, start, feature, kind, n, "
             "missing, type_errors, out_of_range, new_category, sample) VALUES (?1, ?2, ?3, ?4, "
             "?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (model_id, start, feature) DO UPDATE SET "
             "kind = excluded.kind, n = excluded.n, missing = excluded.missing, "
             "type_errors = excluded.type_errors, out_of_range = excluded.out_of_range, "
             "new_category = excluded.new_category, sample = excluded.sample",
    [S_DRIFT] = "INSERT INTO drift (model_id, start, feature, kind, n, n_ref, "
                "missing_rate, type_error_rate, out_of_range_rate, new_category_rate, ks, ks_p, "
                "wasserstein, psi, js, chi2, chi2_p, method, score, threshold, severity, "
                "drifted, insufficient, cur_hist, stats) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, "
                "?25) "
                "ON CONFLICT (model_id, start, feature) DO UPDATE SET kind = excluded.kind, n = "
                "excluded.n, n_ref = excluded.n_ref, missing_rate = excluded.missing_rate, "
                "type_error_rate = excluded.type_error_rate, out_of_range_rate = "
                "excluded.out_of_range_rate, new_category_rate = excluded.new_category_rate, ks = "
                "excluded.ks, ks_p = excluded.ks_p, wasserstein = excluded.wasserstein, psi = "
                "excluded.psi, js = excluded.js, chi2 = excluded.chi2, chi2_p = excluded.chi2_p, "
                "method = excluded.method, score = excluded.score, threshold = excluded.threshold, "
                "severity = excluded.severity, drifted = excluded.drifted, insufficient = "
                "excluded.insufficient, cur_hist = excluded.cur_hist, stats = excluded.stats",
    [S_CLEAR_WF] = "DELETE FROM window_features WHERE model_id = ?1 AND start = ?2",
    [S_CLEAR_DRIFT] = "DELETE FROM drift WHERE model_id = ?1 AND start = ?2",
    [S_ACC] = "INSERT INTO accuracy (model_id, start, labelled, accuracy, macro_f1, "
              "mae, rmse, est_accuracy, est_low, est_high, label_coverage, per_class) VALUES "
              "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
              "ON CONFLICT (model_id, start) DO UPDATE SET labelled = excluded.labelled, accuracy "
              "= excluded.accuracy, macro_f1 = excluded.macro_f1, mae = excluded.mae, rmse = "
              "excluded.rmse, est_accuracy = excluded.est_accuracy, est_low = excluded.est_low, "
              "est_high = excluded.est_high, label_coverage = excluded.label_coverage, per_class = "
              "excluded.per_class",
    [S_CONCEPT_GET] = "SELECT state FROM concept_state WHERE model_id = ?1 AND detector = ?2",
    [S_CONCEPT_PUT] = "INSERT INTO concept_state (model_id, detector, state, "
                      "updated) VALUES (?1, ?2, ?3, ?4) "
                      "ON CONFLICT (model_id, detector) DO UPDATE SET state = excluded.state, "
                      "updated = excluded.updated",
    [S_CONCEPT_EVENT] = "INSERT INTO concept_events (model_id, ts, window_start, detector, "
                        "detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    [S_REFS] = "SELECT feature, kind, n, profile, hist FROM reference WHERE model_id = ?1 "
               "ORDER BY feature",
    [S_REF_VERSION] = "SELECT max(coalesce((SELECT max(created) FROM reference WHERE "
                      "model_id = ?1), 0), coalesce((SELECT created FROM calibration WHERE "
                      "model_id = ?1), 0))",
    [S_REF_CLEAR] = "DELETE FROM reference WHERE model_id = ?1",
    [S_CAL_CLEAR] = "DELETE FROM calibration WHERE model_id = ?1",
    [S_REF_PUT] =
        "INSERT INTO reference (model_id, feature, kind, n, profile, hist, "
        "created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT (model_id, feature) DO UPDATE SET kind = excluded.kind, n = excluded.n, "
        "profile = excluded.profile, hist = excluded.hist, created = excluded.created",
    [S_CAL_PUT] = "INSERT INTO calibration (model_id, profile, n, created) VALUES "
                  "(?1, ?2, ?3, ?4) "
                  "ON CONFLICT (model_id) DO UPDATE SET profile = excluded.profile, n = "
                  "excluded.n, created = excluded.created",
    [S_CAL_GET] = "SELECT profile, n, created FROM calibration WHERE model_id = ?1",
    [S_MARK_DIRTY] = "UPDATE windows SET dirty = 1 WHERE model_id = ?1 AND start >= ?2",
    /* PostgreSQL only (dedupe): which of the rows given as arrays repeat
     * a stored event; one round trip for all. A LATERAL ... LIMIT 1 rather
     * than EXISTS: a semi-join could be planned as a hash join over the
     * whole events table, this is one events_by_req probe per row. */
    [S_EVENTS_SEEN] = "SELECT u.i FROM unnest(?1::bigint[], ?2::text[], ?3::float8[]) "
                      "WITH ORDINALITY AS u(m, r, t, i) CROSS JOIN LATERAL (SELECT 1 FROM "
                      "events e WHERE e.model_id = u.m AND e.req_id = u.r AND e.ts >= u.t - ?4 "
                      "AND e.ts <= u.t + ?4 LIMIT 1) AS hit",
    /* what the model-id cache is valid for on PostgreSQL: any row added
     * (identity ids only grow) or removed changes it */
    [S_WIN_SET_SKETCH] = "UPDATE windows SET latency_sketch = ?3 WHERE model_id = ?1 AND "
                         "start = ?2",
    [S_LLM_SET] = "UPDATE window_llm SET ttft_sketch = coalesce(?3, ttft_sketch), tpot_sketch = "
                  "coalesce(?4, tpot_sketch), finish = coalesce(?5, finish) WHERE model_id = ?1 "
                  "AND start = ?2",
    [S_MODELS_PRINT] = "SELECT count(*), coalesce(max(id), 0), coalesce(sum(id), 0) FROM models",
    /* one events_by_window seek per model (no index leads with
     * window_start: a bare max() would read the whole index); a model's
     * events go with it (`mlwatch models rm` deletes both at once) */
    [S_EVENTS_NEWEST] = "SELECT max((SELECT max(window_start) FROM events WHERE model_id = "
                        "models.id)) FROM models",
    /* CROSS JOIN keeps models outside: one events_by_window range per
     * model (without statistics SQLite would scan events_by_req) */
    [S_EVENTS_RECENT_COUNT] = "SELECT count(*) FROM models m CROSS JOIN events e WHERE "
                              "e.model_id = m.id AND e.window_start >= ?1",
    [S_EVENTS_RECENT] = "SELECT e.model_id, e.req_id, e.ts FROM models m CROSS JOIN events e "
                        "WHERE e.model_id = m.id AND e.window_start >= ?1 AND e.req_id IS NOT "
                        "NULL",
};

static struct db_stmt *prep(struct store_ingest *si, int which)
{
	return store_prepare(si->st, &si->s[which], sql[which]);
}

/* Steps a statement that returns no rows. */
static int done(struct db_stmt *s)
{
	int rc = s && db_step(s) == DB_DONE ? 0 : -1;
	if (s)
		db_reset(s);
	return rc;
}

struct store_ingest *store_ingest_new(struct store *st)
{
	struct store_ingest *si = calloc(1, sizeof(*si));
	if (si)
		si->st = st;
	return si;
}

static void models_clear(struct store_ingest *si)
{
	for (size_t i = 0; i < si->cap; i++)
		free(si->models[i].name);
	free(si->models);
	si->models = NULL;
	si->nmodels = si->cap = 0;
}

void store_ingest_free(struct store_ingest *si)
{
	if (!si)
		return;
	store_finalize(si->s, S_COUNT);
	db_bulk_close(si->events);
	free(si->slots);
	for (int i = 0; i < 3; i++)
		free(si->arr[i]);
	free(si->sent);
	featcodec_enc_fini(&si->legacy);
	models_clear(si);
	free(si);
}

void store_ingest_rolled_back(struct store_ingest *si)
{
	models_clear(si);
	if (si->events)
		db_bulk_discard(si->events);
}

static int models_print_row(struct db_stmt *s, void *ctx)
{
	int64_t *p = ctx;

	for (int i = 0; i < 3; i++)
		p[i] = db_column_int64(s, i);
	return 0;
}

int store_ingest_sync(struct store_ingest *si)
{
	struct db_stmt *s;
	int64_t v;

	if (store_is_postgres(si->st)) {
		/* No data_version there, and other collectors and `mlwatch models
		 * rm` write too: the cache lives while the models table's print
		 * (count, max and sum of ids) stays the same, one small query per
		 * transaction instead of a lookup per model and batch. */
		int64_t p[3] = {-1, -1, -1};
		s = prep(si, S_MODELS_PRINT);
		if (!s || store_each_row(s, models_print_row, p))
			return -1;
		if (memcmp(p, si->models_print, sizeof(p)) != 0)
			models_clear(si);
		memcpy(si->models_print, p, sizeof(p));
		return 0;
	}
	s = prep(si, S_DATA_VERSION);
	if (!s)
		return -1;
	if (db_step(s) != DB_ROW) {
		db_reset(s);
		return -1;
	}
	v = db_column_int64(s, 0);
	db_reset(s);
	if (v != si->data_version)
		models_clear(si);
	si->data_version = v;
	return 0;
}

/* ---- model cache ---------------------------------------------------------- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct model_entry *cache_find(struct store_ingest *si, const char *name)
{
	if (!si->cap)
		return NULL;
	for (size_t i = hash_str(name) & (si->cap - 1);; i = (i + 1) & (si->cap - 1)) {
		if (!si->models[i].name)
			return NULL;
		if (strcmp(si->models[i].name, name) == 0)
			return &si->models[i];
	}
}

static void cache_put(struct store_ingest *si, const char *name, int64_t id)
{
	if ((si->nmodels + 1) * 2 > si->cap) {
		size_t ncap = si->cap ? si->cap * 2 : 64;
		struct model_entry *nm = calloc(ncap, sizeof(*nm));
		if (!nm)
			return; /* a cache: not having it is fine */
		for (size_t i = 0; i < si->cap; i++) {
			if (!si->models[i].name)
				continue;
			size_t j = hash_str(si->models[i].name) & (ncap - 1);
			while (nm[j].name)
				j = (j + 1) & (ncap - 1);
			nm[j] = si->models[i];
		}
		free(si->models);
		si->models = nm;
		si->cap = ncap;
	}
	char *dup = strdup(name);
	if (!dup)
		return;
	size_t j = hash_str(name) & (si->cap - 1);
	while (si->models[j].name)
		j = (j + 1) & (si->cap - 1);
	si->models[j].name = dup;
	si->models[j].id = id;
	si->nmodels++;
}

int store_ingest_model_lookup(struct store_ingest *si, const char *name, int64_t *id)
{
	struct model_entry *e = cache_find(si, name);
	struct db_stmt *s;
	int rc;

	if (e) {
		*id = e->id;
		return 0;
	}
	s = prep(si, S_MODEL_GET);
	if (!s)
		return -1;
	db_bind_text(s, 1, name, -1);
	rc = db_step(s);
	if (rc == DB_ROW) {
		*id = db_column_int64(s, 0);
		db_reset(s);
		cache_put(si, name, *id);
		return 0;
	}
	db_reset(s);
	return rc == DB_DONE ? 1 : -1;
}

int store_ingest_model(struct store_ingest *si, const char *name, double now, int64_t *id)
{
	int rc = store_ingest_model_lookup(si, name, id);
	struct db_stmt *s;

	if (rc <= 0)
		return rc;
	s = prep(si, S_MODEL_ADD);
	if (!s)
		return -1;
	db_bind_text(s, 1, name, -1);
	db_bind_double(s, 2, now);
	rc = db_step(s);
	if (rc == DB_ROW)
		*id = db_column_int64(s, 0);
	db_reset(s);
	if (rc == DB_DONE) /* created by another collector meanwhile */
		return store_ingest_model_lookup(si, name, id) == 0 ? 0 : -1;
	if (rc != DB_ROW)
		return -1;
	cache_put(si, name, *id);
	return 0;
}

/* ---- write path ------------------------------------------------------------ */

int store_ingest_seen(struct store_ingest *si, const char *agent_id, uint64_t seq, double now)
{
	struct db_stmt *s = prep(si, S_SEEN);
	if (!s)
		return -1;
	db_bind_text(s, 1, agent_id, -1);
	db_bind_int64(s, 2, (int64_t)seq);
	db_bind_double(s, 3, now);
	if (done(s))
		return -1;
	return db_changes(si->st->db) == 1 ? 1 : 0;
}

static void bind_text_or_null(struct db_stmt *s, int i, const char *v)
{
	if (v)
		db_bind_text(s, i, v, -1);
	else
		db_bind_null(s, i);
}

static void bind_blob_or_null(struct db_stmt *s, int i, const uint8_t *v, size_t n)
{
	if (v)
		db_bind_blob(s, i, v, (int)n);
	else
		db_bind_null(s, i);
}

static void bind_value(struct db_stmt *s, int inum, int istr, const struct value *v)
{
	if (v->kind == VALUE_NUMBER)
		db_bind_double(s, inum, v->num);
	else
		db_bind_null(s, inum);
	if (v->kind == VALUE_STRING)
		db_bind_text(s, istr, v->str, -1);
	else
		db_bind_null(s, istr);
}

int store_ingest_event(struct store_ingest *si, const struct store_event_row *r)
{
	struct db_stmt *s = prep(si, S_EVENT);
	if (!s)
		return -1;
	db_bind_int64(s, 1, r->model_id);
	bind_text_or_null(s, 2, r->req_id);
	db_bind_double(s, 3, r->ts);
	db_bind_int64(s, 4, r->window_start);
	if (r->has_latency)
		db_bind_double(s, 5, r->latency_ms);
	db_bind_int(s, 6, r->error ? 1 : 0);
	bind_text_or_null(s, 7, r->version);
	bind_blob_or_null(s, 8, r->features, r->features_len);
	bind_value(s, 9, 10, &r->prediction);
	if (r->has_score)
		db_bind_double(s, 11, r->score);
	bind_text_or_null(s, 12, r->scores_json);
	bind_value(s, 13, 14, &r->label);
	if (r->label.kind != VALUE_NONE)
		db_bind_double(s, 15, r->label_ts);
	return done(s);
}

/* ---- events in bulk ---------------------------------------------------------- */

#define EVENT_BULK_COLS                                                                            \
	"model_id, req_id, ts, window_start, latency_ms, error, version, features_bin, pred_num, " \
	"pred_str, score, scores, label_num, label_str, label_ts"

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *np;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap : 256;
	while (ncap < need)
		ncap *= 2;
	np = realloc(*p, ncap * size);
	if (!np)
		return -1;
	*p = np;
	*cap = ncap;
	return 0;
}

static uint64_t row_hash(const struct store_event_row *r)
{
	uint64_t h = 1469598103934665603ull ^ ((uint64_t)r->model_id * 0x9e3779b97f4a7c15ull);
	for (const char *p = r->req_id; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

/* Rows repeating an earlier kept row of the same list: an open-addressing
 * table of the kept rows' indexes (+1; 0 is empty), in row order, so the
 * first of each key is kept; linear in the rows. */
static int dedupe_within(struct store_ingest *si, const struct store_event_row *rows, size_t n,
                         double ttl, bool *dup)
{
	size_t cap = 16;

	while (cap < 2 * n)
		cap *= 2;
	if (grow((void **)&si->slots, &si->slots_cap, cap, sizeof(*si->slots)))
		return -1;
	memset(si->slots, 0, cap * sizeof(*si->slots));
	for (size_t i = 0; i < n; i++) {
		const struct store_event_row *r = &rows[i];
		size_t j;
		if (!r->req_id)
			continue;
		for (j = row_hash(r) & (cap - 1); si->slots[j]; j = (j + 1) & (cap - 1)) {
			const struct store_event_row *k = &rows[si->slots[j] - 1];
			if (k->model_id == r->model_id && strcmp(k->req_id, r->req_id) == 0 &&
			    fabs(k->ts - r->ts) <= ttl) {
				dup[i] = true;
				break;
			}
		}
		if (!dup[i])
			si->slots[j] = i + 1;
	}
	return 0;
}

/* Appends to PostgreSQL array literal a (0, 1, 2: ids, texts, times). */
static int arr_put(struct store_ingest *si, int a, const char *v, bool quote)
{
	size_t n = strlen(v), need = si->arr_len[a] + 2 * n + 4;
	char *o;

	if (grow((void **)&si->arr[a], &si->arr_cap[a], need, 1))
		return -1;
	o = si->arr[a] + si->arr_len[a];
	*o++ = si->arr_len[a] == 0 ? '{' : ',';
	if (quote)
		*o++ = '"';
	for (const char *p = v; *p; p++) {
		if (quote && (*p == '"' || *p == '\\'))
			*o++ = '\\';
		*o++ = *p;
	}
	if (quote)
		*o++ = '"';
	*o = '\0';
	si->arr_len[a] = (size_t)(o - si->arr[a]);
	return 0;
}

struct seen_rows {
	const size_t *sent; /* row of each array element */
	size_t m;
	bool *dup;
};

static int seen_row(struct db_stmt *s, void *ctx)
{
	struct seen_rows *c = ctx;
	int64_t i = db_column_int64(s, 0); /* 1-based ordinality */

	if (i >= 1 && (size_t)i <= c->m)
		c->dup[c->sent[i - 1]] = true;
	return 0;
}

/* PostgreSQL: the rows not yet known as duplicates, looked up in one
 * query (arrays of model ids, request ids and times). */
static int dedupe_stored_pg(struct store_ingest *si, const struct store_event_row *rows, size_t n,
                            double ttl, bool *dup)
{
	char num[40];
	size_t m = 0;
	struct db_stmt *s;

	for (int a = 0; a < 3; a++)
		si->arr_len[a] = 0;
	if (grow((void **)&si->sent, &si->sent_cap, n, sizeof(*si->sent)))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!rows[i].req_id || dup[i])
			continue;
		snprintf(num, sizeof(num), "%lld", (long long)rows[i].model_id);
		if (arr_put(si, 0, num, false) || arr_put(si, 1, rows[i].req_id, true))
			return -1;
		snprintf(num, sizeof(num), "%.17g", rows[i].ts);
		if (arr_put(si, 2, num, false))
			return -1;
		si->sent[m++] = i;
	}
	if (m == 0)
		return 0;
	for (int a = 0; a < 3; a++) {
		if (grow((void **)&si->arr[a], &si->arr_cap[a], si->arr_len[a] + 2, 1))
			return -1;
		si->arr[a][si->arr_len[a]++] = '}';
		si->arr[a][si->arr_len[a]] = '\0';
	}
	s = prep(si, S_EVENTS_SEEN);
	if (!s)
		return -1;
	for (int a = 0; a < 3; a++)
		db_bind_text(s, a + 1, si->arr[a], -1);
	db_bind_double(s, 4, ttl);
	return store_each_row(s, seen_row, &(struct seen_rows){si->sent, m, dup}) ? -1 : 0;
}

int store_ingest_events_dedupe(struct store_ingest *si, const struct store_event_row *rows,
                               size_t n, double ttl, const bool *known_new, bool *dup)
{
	if (n == 0) /* a group of duplicate batches: dup may be NULL */
		return 0;
	memset(dup, 0, n * sizeof(*dup));
	if (dedupe_within(si, rows, n, ttl, dup))
		return -1;
	if (store_is_postgres(si->st))
		return dedupe_stored_pg(si, rows, n, ttl, dup);
	for (size_t i = 0; i < n; i++) {
		int rc;
		if (!rows[i].req_id || dup[i] || (known_new && known_new[i]))
			continue;
		rc = store_ingest_event_exists(si, rows[i].model_id, rows[i].req_id,
		                               rows[i].ts - ttl, rows[i].ts + ttl);
		if (rc < 0)
			return -1;
		dup[i] = rc == 1;
	}
	return 0;
}

static void bulk_value(struct db_bulk *b, const struct value *v)
{
	if (v->kind == VALUE_NUMBER)
		db_bulk_double(b, v->num);
	else
		db_bulk_null(b);
	db_bulk_text(b, v->kind == VALUE_STRING ? v->str : NULL);
}

int store_ingest_events_insert(struct store_ingest *si, const struct store_event_row *rows,
                               size_t n, const bool *dup)
{
	struct db_bulk *b;

	if (!si->events &&
	    db_bulk_open(si->st->db, "events", EVENT_BULK_COLS, 15, &si->events) != DB_OK)
		return -1;
	b = si->events;
	for (size_t i = 0; i < n; i++) {
		const struct store_event_row *r = &rows[i];
		if (dup && dup[i])
			continue;
		db_bulk_int64(b, r->model_id);
		db_bulk_text(b, r->req_id);
		db_bulk_double(b, r->ts);
		db_bulk_int64(b, r->window_start);
		if (r->has_latency)
			db_bulk_double(b, r->latency_ms);
		else
			db_bulk_null(b);
		db_bulk_int64(b, r->error ? 1 : 0);
		db_bulk_text(b, r->version);
		db_bulk_blob(b, r->features, r->features ? r->features_len : 0);
		bulk_value(b, &r->prediction);
		if (r->has_score)
			db_bulk_double(b, r->score);
		else
			db_bulk_null(b);
		db_bulk_text(b, r->scores_json);
		bulk_value(b, &r->label);
		if (r->label.kind != VALUE_NONE)
			db_bulk_double(b, r->label_ts);
		else
			db_bulk_null(b);
		if (db_bulk_row(b) != DB_OK) {
			db_bulk_discard(b);
			return -1;
		}
	}
	return db_bulk_flush(b, NULL) == DB_OK ? 0 : -1;
}

static int newest_row(struct db_stmt *s, void *ctx)
{
	int64_t *v = ctx;

	if (db_column_type(s, 0) != DB_NULL) {
		v[0] = db_column_int64(s, 0);
		v[1] = 1;
	}
	return 0;
}

int store_ingest_events_newest_window(struct store_ingest *si, int64_t *start)
{
	struct db_stmt *s = prep(si, S_EVENTS_NEWEST);
	int64_t v[2] = {0, 0}; /* the start, whether there is one */

	if (!s || store_each_row(s, newest_row, v))
		return -1;
	*start = v[0];
	return v[1] ? 0 : 1;
}

struct recent_rows {
	void (*cb)(int64_t model_id, const char *req_id, double ts, void *arg);
	void *arg;
};

static int recent_count_row(struct db_stmt *s, void *ctx)
{
	*(int64_t *)ctx = db_column_int64(s, 0);
	return 0;
}

int store_ingest_events_recent_count(struct store_ingest *si, int64_t from, int64_t *n)
{
	struct db_stmt *s = prep(si, S_EVENTS_RECENT_COUNT);

	*n = 0;
	if (!s)
		return -1;
	db_bind_int64(s, 1, from);
	return store_each_row(s, recent_count_row, n) ? -1 : 0;
}

static int recent_row(struct db_stmt *s, void *ctx)
{
	struct recent_rows *c = ctx;

	c->cb(db_column_int64(s, 0), (const char *)db_column_text(s, 1), db_column_double(s, 2),
	      c->arg);
	return 0;
}

int store_ingest_events_recent(struct store_ingest *si, int64_t from,
                               void (*cb)(int64_t model_id, const char *req_id, double ts,
                                          void *arg),
                               void *arg)
{
	struct db_stmt *s = prep(si, S_EVENTS_RECENT);

	if (!s)
		return -1;
	db_bind_int64(s, 1, from);
	return store_each_row(s, recent_row, &(struct recent_rows){cb, arg}) ? -1 : 0;
}

int store_ingest_event_exists(struct store_ingest *si, int64_t model_id, const char *req_id,
                              double from, double to)
{
	struct db_stmt *s = prep(si, S_EVENT_EXISTS);
	int rc;

	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, req_id, -1);
	db_bind_double(s, 3, from);
	db_bind_double(s, 4, to);
	rc = db_step(s);
	db_reset(s);
	if (rc == DB_ROW)
		return 1;
	return rc == DB_DONE ? 0 : -1;
}

int store_ingest_take_pending(struct store_ingest *si, int64_t model_id, const char *req_id,
                              struct value *label, double *ts, char *buf, size_t cap)
{
	struct db_stmt *s = prep(si, S_PENDING_GET);
	int rc;

	memset(label, 0, sizeof(*label));
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, req_id, -1);
	rc = db_step(s);
	if (rc != DB_ROW) {
		db_reset(s);
		return rc == DB_DONE ? 0 : -1;
	}
	if (db_column_type(s, 0) != DB_NULL) {
		label->kind = VALUE_NUMBER;
		label->num = db_column_double(s, 0);
	} else if (db_column_type(s, 1) != DB_NULL) {
		label->kind = VALUE_STRING;
		snprintf(buf, cap, "%s", (const char *)db_column_text(s, 1));
		label->str = buf;
	}
	*ts = db_column_double(s, 2);
	db_reset(s);
	s = prep(si, S_PENDING_DEL);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, req_id, -1);
	if (done(s))
		return -1;
	return label->kind == VALUE_NONE ? 0 : 1;
}

/* The events a label joins: on the stack for the usual few, on the heap
 * beyond. */
struct join_hits {
	struct join_hit {
		int64_t id, window_start;
		bool unlabelled;
	} one[4], *hits;
	size_t n, cap;
};

static int join_hit_row(struct db_stmt *s, void *ctx)
{
	struct join_hits *c = ctx;
	struct join_hit *nh;

	if (c->n == c->cap) {
		c->cap *= 2;
		nh = c->hits == c->one ? malloc(c->cap * sizeof(*nh))
		                       : realloc(c->hits, c->cap * sizeof(*nh));
		if (!nh)
			return DB_NOMEM;
		if (c->hits == c->one)
			memcpy(nh, c->one, sizeof(c->one));
		c->hits = nh;
	}
	c->hits[c->n].id = db_column_int64(s, 0);
	c->hits[c->n].window_start = db_column_int64(s, 1);
	c->hits[c->n].unlabelled = db_column_int(s, 2) != 0;
	c->n++;
	return 0;
}

int store_ingest_join_label(struct store_ingest *si, int64_t model_id, const char *req_id,
                            const struct value *label, double ts,
                            void (*cb)(int64_t window_start, bool was_unlabelled, void *arg),
                            void *arg)
{
	struct join_hits c;
	int total = -1;
	struct db_stmt *s = prep(si, S_JOIN_FIND);

	if (!s)
		return -1;
	c.hits = c.one;
	c.n = 0;
	c.cap = sizeof(c.one) / sizeof(c.one[0]);
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, req_id, -1);
	/* Usually one event per id; a client reusing ids gets all of them
	 * labelled. Collected first: updating while stepping is undefined. */
	if (store_each_row(s, join_hit_row, &c))
		goto out;
	for (size_t i = 0; i < c.n; i++) {
		s = prep(si, S_JOIN_SET);
		if (!s)
			goto out;
		db_bind_int64(s, 1, c.hits[i].id);
		bind_value(s, 2, 3, label);
		db_bind_double(s, 4, ts);
		if (done(s))
			goto out;
		if (cb)
			cb(c.hits[i].window_start, c.hits[i].unlabelled, arg);
	}
	total = (int)c.n;
out:
	if (c.hits != c.one)
		free(c.hits);
	return total;
}

int store_ingest_pending_add(struct store_ingest *si, int64_t model_id, const char *req_id,
                             const struct value *label, double ts, double expires)
{
	struct db_stmt *s = prep(si, S_PENDING_ADD);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, req_id, -1);
	bind_value(s, 3, 4, label);
	db_bind_double(s, 5, ts);
	db_bind_double(s, 6, expires);
	return done(s);
}

struct pending_count_rows {
	void (*cb)(int64_t model_id, int64_t n, void *arg);
	void *arg;
};

static int pending_count_row(struct db_stmt *s, void *ctx)
{
	struct pending_count_rows *c = ctx;

	c->cb(db_column_int64(s, 0), db_column_int64(s, 1), c->arg);
	return 0;
}

int store_ingest_pending_counts(struct store_ingest *si,
                                void (*cb)(int64_t model_id, int64_t n, void *arg), void *arg)
{
	struct db_stmt *s = prep(si, S_PENDING_COUNTS);
	if (!s)
		return -1;
	return store_each_row(s, pending_count_row,
	                      &(struct pending_count_rows){.cb = cb, .arg = arg});
}

/* The counters are added first: the upsert locks the row until the end of
 * the transaction, so the sketch read next is the newest one (another
 * collector's merge committed before the lock was granted) and the merged
 * sketch written back loses nobody's values. Read first, two collectors on
 * one PostgreSQL could both merge into the same old sketch. */
int store_ingest_window_add(struct store_ingest *si, const struct store_window_delta *d)
{
	uint8_t *enc = NULL;
	size_t enc_len = 0;
	struct ddsketch *merged = NULL;
	struct db_stmt *s;
	int rc = -1, step;

	s = prep(si, S_WIN_UPSERT);
	if (!s)
		goto out;
	db_bind_int64(s, 1, d->model_id);
	db_bind_int64(s, 2, d->start);
	db_bind_int64(s, 3, d->end);
	db_bind_int64(s, 4, (int64_t)d->count);
	db_bind_int64(s, 5, (int64_t)d->errors);
	db_bind_int64(s, 6, (int64_t)d->sampled);
	db_bind_int64(s, 7, (int64_t)d->labelled);
	if (done(s))
		goto out;
	if (!d->latency || ddsketch_count(d->latency) == 0) {
		rc = 0;
		goto out;
	}
	s = prep(si, S_WIN_SKETCH);
	if (!s)
		goto out;
	db_bind_int64(s, 1, d->model_id);
	db_bind_int64(s, 2, d->start);
	step = db_step(s);
	if (step == DB_ROW && db_column_type(s, 0) == DB_BLOB) {
		const uint8_t *b = db_column_blob(s, 0);
		int blen = db_column_bytes(s, 0);
		/* A stored sketch we cannot read would be a bug or a damaged
		 * file; restart the sketch rather than lose the new data. */
		if (ddsketch_decode(b, (size_t)blen, &merged) != 0)
			merged = NULL;
	} else if (step != DB_ROW && step != DB_DONE) {
		db_reset(s);
		goto out;
	}
	db_reset(s);
	if (!merged && !(merged = ddsketch_new()))
		goto out;
	if (ddsketch_merge(merged, d->latency) != 0 ||
	    ddsketch_encode_alloc(merged, &enc, &enc_len) != 0)
		goto out;
	s = prep(si, S_WIN_SET_SKETCH);
	if (!s)
		goto out;
	db_bind_int64(s, 1, d->model_id);
	db_bind_int64(s, 2, d->start);
	db_bind_blob(s, 3, enc, (int)enc_len);
	rc = done(s);
out:
	free(enc);
	ddsketch_free(merged);
	return rc;
}

/* Merges the stored sketch in column col of row (when readable) with add
 * into a new encoding *enc (NULL when add is empty: the column is kept). */
static int merge_stored(struct db_stmt *row, int col, const struct ddsketch *add, uint8_t **enc,
                        size_t *enc_len)
{
	struct ddsketch *merged = NULL;
	int rc = -1;

	*enc = NULL;
	if (!add || ddsketch_count(add) == 0)
		return 0;
	/* An unreadable stored sketch (damaged file) restarts the sketch
	 * rather than losing the new data, as for latency. */
	if (row && db_column_type(row, col) == DB_BLOB &&
	    ddsketch_decode(db_column_blob(row, col), (size_t)db_column_bytes(row, col), &merged) !=
	        0)
		merged = NULL;
	if (!merged && !(merged = ddsketch_new()))
		goto out;
	if (ddsketch_merge(merged, add) != 0 || ddsketch_encode_alloc(merged, enc, enc_len) != 0)
		goto out;
	rc = 0;
out:
	ddsketch_free(merged);
	return rc;
}

/* The row's finish-reason counts (a JSON object, column col) plus d's, as
 * new JSON text in *out (NULL when d has none: the column is kept). An
 * unreadable stored object (damaged file) starts over. */
static int merge_finish(struct db_stmt *row, int col, const struct store_llm_delta *d, char **out)
{
	cJSON *o = NULL;
	int rc = -1;

	*out = NULL;
	if (!d->n_finish)
		return 0;
	if (row && db_column_type(row, col) == DB_TEXT)
		o = cJSON_Parse((const char *)db_column_text(row, col));
	if (!cJSON_IsObject(o)) {
		cJSON_Delete(o);
		o = cJSON_CreateObject();
	}
	if (!o)
		return -1;
	for (size_t i = 0; i < d->n_finish; i++) {
		cJSON *v = cJSON_GetObjectItemCaseSensitive(o, d->finish[i].reason);
		double n = (double)d->finish[i].count;
		if (cJSON_IsNumber(v))
			cJSON_SetNumberValue(v, v->valuedouble + n);
		else if (!v && !cJSON_AddNumberToObject(o, d->finish[i].reason, n))
			goto out;
	}
	*out = cJSON_PrintUnformatted(o);
	rc = *out ? 0 : -1;
out:
	cJSON_Delete(o);
	return rc;
}

/* Counters first (the row lock), then the sketches and finish counts read,
 * merged and written back: as for window_add, no lost merge between two
 * collectors. */
int store_ingest_llm_add(struct store_ingest *si, const struct store_llm_delta *d)
{
	char *finish = NULL;
	uint8_t *ttft = NULL, *tpot = NULL;
	size_t ttft_len = 0, tpot_len = 0;
	struct db_stmt *s = prep(si, S_LLM_UPSERT);
	int rc = -1, step;

	if (!s)
		return -1;
	db_bind_int64(s, 1, d->model_id);
	db_bind_int64(s, 2, d->start);
	db_bind_int64(s, 3, (int64_t)d->llm);
	db_bind_int64(s, 4, (int64_t)d->input_tokens);
	db_bind_int64(s, 5, (int64_t)d->output_tokens);
	if (done(s))
		return -1;
	s = prep(si, S_LLM_GET);
	if (!s)
		return -1;
	db_bind_int64(s, 1, d->model_id);
	db_bind_int64(s, 2, d->start);
	step = db_step(s);
	if (step != DB_ROW && step != DB_DONE) {
		db_reset(s);
		return -1;
	}
	if (merge_stored(step == DB_ROW ? s : NULL, 0, d->ttft, &ttft, &ttft_len) ||
	    merge_stored(step == DB_ROW ? s : NULL, 1, d->tpot, &tpot, &tpot_len) ||
	    merge_finish(step == DB_ROW ? s : NULL, 2, d, &finish)) {
		db_reset(s);
		goto out;
	}
	db_reset(s);
	if (!ttft && !tpot && !finish) {
		rc = 0;
		goto out;
	}
	s = prep(si, S_LLM_SET);
	if (!s)
		goto out;
	db_bind_int64(s, 1, d->model_id);
	db_bind_int64(s, 2, d->start);
	if (ttft)
		db_bind_blob(s, 3, ttft, (int)ttft_len);
	if (tpot)
		db_bind_blob(s, 4, tpot, (int)tpot_len);
	if (finish)
		db_bind_text(s, 5, finish, -1);
	rc = done(s);
out:
	free(ttft);
	free(tpot);
	free(finish);
	return rc;
}

int store_ingest_model_seen(struct store_ingest *si, int64_t model_id, double ts)
{
	struct db_stmt *s = prep(si, S_MODEL_SEEN);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_double(s, 2, ts);
	return done(s);
}

int store_ingest_agent(struct store_ingest *si, const char *agent_id, uint64_t seq, double now,
                       uint64_t events, const struct wire_agent_stats *stats)
{
	struct db_stmt *s = prep(si, S_AGENT);
	if (!s)
		return -1;
	db_bind_text(s, 1, agent_id, -1);
	db_bind_int64(s, 2, (int64_t)(seq > INT64_MAX ? INT64_MAX : seq));
	db_bind_double(s, 3, now);
	db_bind_int64(s, 4, (int64_t)events);
	if (done(s))
		return -1;
	if (!stats || !stats->present)
		return 0;
	s = prep(si, S_AGENT_STATS);
	if (!s)
		return -1;
	db_bind_text(s, 1, agent_id, -1);
	db_bind_int64(s, 2, (int64_t)stats->received);
	db_bind_int64(s, 3, (int64_t)stats->rejected);
	db_bind_int64(s, 4, (int64_t)stats->spool_dropped);
	db_bind_int64(s, 5, (int64_t)stats->spool_bytes);
	if (stats->started > 0)
		db_bind_double(s, 6, stats->started);
	return done(s);
}

int store_ingest_last_write(struct store_ingest *si, double now)
{
	char buf[32];
	struct db_stmt *s = prep(si, S_LAST_WRITE);
	if (!s)
		return -1;
	snprintf(buf, sizeof(buf), "%lld", (long long)floor(now));
	db_bind_text_copy(s, 1, buf, -1);
	return done(s);
}

/* ---- retention -------------------------------------------------------------- */

static int delete_chunk(struct store_ingest *si, int which, int64_t model_id, bool per_model,
                        double before, size_t chunk, int64_t *count)
{
	struct db_stmt *s = prep(si, which);
	int i = 1;
	if (!s)
		return -1;
	if (per_model)
		db_bind_int64(s, i++, model_id);
	db_bind_double(s, i++, before);
	db_bind_int64(s, i, (int64_t)chunk);
	if (done(s))
		return -1;
	*count = db_changes(si->st->db);
	return 0;
}

/* batches_seen has no index on `received`: per agent, look at the oldest
 * seq and delete the next `chunk` seqs from there if they are old, so each
 * step reads O(chunk) rows however large the table is. */
/* The agent ids read so far, grown by doubling. */
struct agent_ids {
	char **v;
	size_t n, cap;
};

static int agent_id_row(struct db_stmt *s, void *ctx)
{
	struct agent_ids *c = ctx;
	char **nv;

	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		nv = realloc(c->v, c->cap * sizeof(*nv));
		if (!nv)
			return DB_NOMEM;
		c->v = nv;
	}
	c->v[c->n] = strdup((const char *)db_column_text(s, 0));
	if (!c->v[c->n])
		return DB_NOMEM;
	c->n++;
	return 0;
}

static int prune_seen(struct store_ingest *si, double before, size_t chunk, int64_t *count)
{
	struct agent_ids a = {0};
	char **v;
	size_t n;
	int rc = -1, step;
	struct db_stmt *s = prep(si, S_RET_AGENTS);

	*count = 0;
	if (!s)
		return -1;
	step = store_each_row(s, agent_id_row, &a);
	v = a.v;
	n = a.n;
	if (step)
		goto out;
	for (size_t i = 0; i < n; i++) {
		s = prep(si, S_RET_OLDEST);
		if (!s)
			goto out;
		db_bind_text(s, 1, v[i], -1);
		step = db_step(s);
		bool old = step == DB_ROW && db_column_double(s, 1) < before;
		int64_t first = step == DB_ROW ? db_column_int64(s, 0) : 0;
		db_reset(s);
		if (step != DB_ROW && step != DB_DONE)
			goto out;
		if (!old)
			continue;
		s = prep(si, S_RET_SEEN);
		if (!s)
			goto out;
		db_bind_text(s, 1, v[i], -1);
		db_bind_int64(s, 2, first);
		db_bind_int64(
		    s, 3, first > INT64_MAX - (int64_t)chunk ? INT64_MAX : first + (int64_t)chunk);
		db_bind_double(s, 4, before);
		if (done(s))
			goto out;
		*count += db_changes(si->st->db);
	}
	rc = 0;
out:
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return rc;
}

int store_ingest_retention_step(struct store_ingest *si, const struct store_retention *r,
                                struct store_retention_done *d)
{
	int64_t n = 0;
	int more = 0;
	struct db_stmt *s;

	memset(d, 0, sizeof(*d));
	if (prune_seen(si, r->seen_before, r->chunk, &d->seen))
		return -1;
	more |= (size_t)d->seen >= r->chunk;
	if (delete_chunk(si, S_RET_LABELS, 0, false, r->now, r->chunk, &d->labels_expired))
		return -1;
	more |= (size_t)d->labels_expired == r->chunk;

	/* Events and window tables are keyed by model first: visit one model
	 * per step, round robin, so each delete walks an index. */
	s = prep(si, S_RET_MODELS);
	if (!s)
		return -1;
	db_bind_int64(s, 1, si->next_model_windows);
	int rc = db_step(s);
	int64_t model = rc == DB_ROW ? db_column_int64(s, 0) : 0;
	db_reset(s);
	if (rc != DB_ROW && rc != DB_DONE)
		return -1;
	if (rc == DB_DONE) {
		si->next_model_windows = 0;
		return more;
	}
	static const int tables[] = {S_RET_WINDOWS, S_RET_WF,   S_RET_DRIFT,     S_RET_ACC,
	                             S_RET_LLM,     S_RET_FAIR, S_RET_SEG_DRIFT, S_RET_SEG_WIN};
	bool model_more = false;
	if (delete_chunk(si, S_RET_EVENTS, model, true, r->raw_before, r->chunk, &d->events))
		return -1;
	model_more |= (size_t)d->events == r->chunk;
	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		if (delete_chunk(si, tables[t], model, true, (double)r->windows_before, r->chunk,
		                 &n))
			return -1;
		if (tables[t] == S_RET_WINDOWS)
			d->windows += n;
		model_more |= (size_t)n == r->chunk;
	}
	if (delete_chunk(si, S_RET_CONCEPT, model, true, (double)r->windows_before, r->chunk, &n))
		return -1;
	model_more |= (size_t)n == r->chunk;
	if (!model_more)
		si->next_model_windows = model;
	/* Another model may still have old rows: not done until the walk
	 * wraps around. */
	return 1;
}

/* ---- analysis ----------------------------------------------------------------- */

void store_window_free(struct store_window *w)
{
	free(w->sketch);
	w->sketch = NULL;
}

static int read_window(struct db_stmt *s, struct store_window *w)
{
	memset(w, 0, sizeof(*w));
	w->model_id = db_column_int64(s, 0);
	w->start = db_column_int64(s, 1);
	w->end = db_column_int64(s, 2);
	w->count = (uint64_t)db_column_int64(s, 3);
	w->errors = (uint64_t)db_column_int64(s, 4);
	w->sampled = (uint64_t)db_column_int64(s, 5);
	w->labelled = (uint64_t)db_column_int64(s, 6);
	w->provisional = db_column_int(s, 7);
	if (db_column_type(s, 8) == DB_BLOB) {
		int n = db_column_bytes(s, 8);
		w->sketch = malloc(n > 0 ? (size_t)n : 1);
		if (!w->sketch)
			return -1;
		memcpy(w->sketch, db_column_blob(s, 8), (size_t)n);
		w->sketch_len = (size_t)n;
	}
	return 0;
}

/* The windows read so far, grown by doubling. */
struct window_rows {
	struct store_window *v;
	size_t n, cap;
};

static int window_row(struct db_stmt *s, void *ctx)
{
	struct window_rows *c = ctx;

	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		struct store_window *nv = realloc(c->v, ncap * sizeof(*nv));
		if (!nv)
			return DB_NOMEM;
		c->v = nv;
		c->cap = ncap;
	}
	if (read_window(s, &c->v[c->n]))
		return DB_NOMEM;
	c->n++;
	return 0;
}

int store_ingest_dirty_windows(struct store_ingest *si, size_t max, struct store_window **out)
{
	struct db_stmt *s = prep(si, S_DIRTY);
	struct window_rows c = {0};

	*out = NULL;
	if (!s)
		return -1;
	db_bind_int64(s, 1, (int64_t)max);
	if (store_each_row(s, window_row, &c)) {
		for (size_t i = 0; i < c.n; i++)
			store_window_free(&c.v[i]);
		free(c.v);
		return -1;
	}
	*out = c.v;
	return (int)c.n;
}

int store_ingest_window_get(struct store_ingest *si, int64_t model_id, int64_t start,
                            struct store_window *out)
{
	struct db_stmt *s = prep(si, S_WIN_GET);
	int rc;

	memset(out, 0, sizeof(*out));
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, start);
	rc = db_step(s);
	if (rc == DB_ROW)
		rc = read_window(s, out) ? -1 : 0;
	else
		rc = rc == DB_DONE ? 1 : -1;
	db_reset(s);
	return rc;
}

struct model_rows {
	void (*cb)(int64_t id, const char *name, const char *task, void *arg);
	void *arg;
};

static int model_row(struct db_stmt *s, void *ctx)
{
	struct model_rows *c = ctx;

	c->cb(db_column_int64(s, 0), (const char *)db_column_text(s, 1),
	      (const char *)db_column_text(s, 2), c->arg);
	return 0;
}

int store_ingest_models(struct store_ingest *si,
                        void (*cb)(int64_t id, const char *name, const char *task, void *arg),
                        void *arg)
{
	struct db_stmt *s = prep(si, S_MODELS);
	if (!s)
		return -1;
	return store_each_row(s, model_row, &(struct model_rows){.cb = cb, .arg = arg});
}

int store_ingest_model_set_task(struct store_ingest *si, int64_t model_id, const char *task)
{
	struct db_stmt *s = prep(si, S_MODEL_TASK);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	bind_text_or_null(s, 2, task);
	return done(s);
}

struct feature_rows {
	void (*cb)(const char *name, int kind, const char *source, void *arg);
	void *arg;
};

static int feature_row(struct db_stmt *s, void *ctx)
{
	struct feature_rows *c = ctx;

	c->cb((const char *)db_column_text(s, 0), db_column_int(s, 1),
	      (const char *)db_column_text(s, 2), c->arg);
	return 0;
}

int store_ingest_features(struct store_ingest *si, int64_t model_id,
                          void (*cb)(const char *name, int kind, const char *source, void *arg),
                          void *arg)
{
	struct db_stmt *s = prep(si, S_FEATURES);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	return store_each_row(s, feature_row, &(struct feature_rows){.cb = cb, .arg = arg});
}

int store_ingest_feature_set(struct store_ingest *si, int64_t model_id, const char *name, int kind,
                             const char *source, bool replace)
{
	struct db_stmt *s = prep(si, replace ? S_FEATURE_REPLACE : S_FEATURE_ADD);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, name, -1);
	db_bind_int(s, 3, kind);
	db_bind_text(s, 4, source, -1);
	return done(s);
}

static void column_value(struct db_stmt *s, int inum, int istr, struct value *v)
{
	memset(v, 0, sizeof(*v));
	if (db_column_type(s, inum) != DB_NULL) {
		v->kind = VALUE_NUMBER;
		v->num = db_column_double(s, inum);
	} else if (db_column_type(s, istr) != DB_NULL) {
		v->kind = VALUE_STRING;
		v->str = (const char *)db_column_text(s, istr);
	}
}

struct event_rows {
	struct store_ingest *si;
	store_event_cb cb;
	void *arg;
};

/* The features of a row: the blob (features_bin), or the JSON text of a
 * row stored before it, encoded into si->legacy; checked whole here so
 * that each reader iterates a valid blob. */
static void event_features(struct event_rows *c, struct db_stmt *s, struct store_raw_event *e)
{
	struct store_ingest *si = c->si;

	if (db_column_type(s, 14) != DB_NULL) {
		const uint8_t *b = db_column_blob(s, 14);
		size_t n = (size_t)db_column_bytes(s, 14);
		if (featcodec_validate(b, n, &si->feat_err) == 0) {
			e->features = b;
			e->features_len = n;
			return;
		}
	} else if (db_column_type(s, 7) != DB_NULL) {
		if (featcodec_from_json((const char *)db_column_text(s, 7), &si->legacy,
		                        &si->feat_err) == 0) {
			e->features = si->legacy.buf;
			e->features_len = si->legacy.len;
			return;
		}
	} else {
		return; /* none */
	}
	e->features_bad = true;
	e->features_err = si->feat_err.msg;
}

static int event_row(struct db_stmt *s, void *ctx)
{
	struct event_rows *c = ctx;
	struct store_raw_event e;

	memset(&e, 0, sizeof(e));
	e.id = db_column_int64(s, 0);
	e.model_id = db_column_int64(s, 1);
	e.window_start = db_column_int64(s, 2);
	e.req_id = (const char *)db_column_text(s, 3);
	e.ts = db_column_double(s, 4);
	e.has_latency = db_column_type(s, 5) != DB_NULL;
	e.latency_ms = db_column_double(s, 5);
	e.error = db_column_int(s, 6) != 0;
	event_features(c, s, &e);
	column_value(s, 8, 9, &e.prediction);
	e.has_score = db_column_type(s, 10) != DB_NULL;
	e.score = db_column_double(s, 10);
	e.scores_json = (const char *)db_column_text(s, 11);
	column_value(s, 12, 13, &e.label);
	return c->cb(&e, c->arg);
}

static int walk_events(struct store_ingest *si, struct db_stmt *s, store_event_cb cb, void *arg)
{
	return store_each_row(s, event_row, &(struct event_rows){.si = si, .cb = cb, .arg = arg});
}

int store_ingest_events_after(struct store_ingest *si, int64_t after_id, int64_t upto_id,
                              store_event_cb cb, void *arg)
{
	struct db_stmt *s = prep(si, S_EVENTS_AFTER);
	if (!s)
		return -1;
	db_bind_int64(s, 1, after_id);
	db_bind_int64(s, 2, upto_id);
	return walk_events(si, s, cb, arg);
}

int store_ingest_window_events(struct store_ingest *si, int64_t model_id, int64_t start,
                               int64_t upto_id, store_event_cb cb, void *arg)
{
	struct db_stmt *s = prep(si, S_WIN_EVENTS);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, start);
	db_bind_int64(s, 3, upto_id);
	return walk_events(si, s, cb, arg);
}

int store_ingest_window_events_after(struct store_ingest *si, int64_t model_id, int64_t start,
                                     int64_t after_id, int64_t upto_id, store_event_cb cb,
                                     void *arg)
{
	struct db_stmt *s = prep(si, S_WIN_EVENTS_AFTER);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, start);
	db_bind_int64(s, 3, upto_id);
	db_bind_int64(s, 4, after_id);
	return walk_events(si, s, cb, arg);
}

int store_ingest_window_labelled(struct store_ingest *si, int64_t model_id, int64_t start,
                                 store_event_cb cb, void *arg)
{
	struct db_stmt *s = prep(si, S_WIN_LABELLED);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, start);
	return walk_events(si, s, cb, arg);
}

int store_ingest_range_events(struct store_ingest *si, int64_t model_id, double from, double to,
                              store_event_cb cb, void *arg)
{
	struct db_stmt *s = prep(si, S_RANGE_EVENTS);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_double(s, 2, from);
	db_bind_double(s, 3, to);
	/* window_start bounds let SQLite walk events_by_window; a window
	 * starts at most one day (the longest window) before its events. */
	db_bind_int64(s, 4, (int64_t)floor(from) - 86400);
	db_bind_int64(s, 5, (int64_t)ceil(to) + 1);
	return walk_events(si, s, cb, arg);
}

int store_ingest_max_event_id(struct store_ingest *si, int64_t *id)
{
	struct db_stmt *s = prep(si, S_MAX_ID);
	int rc;
	if (!s)
		return -1;
	rc = db_step(s);
	if (rc == DB_ROW)
		*id = db_column_int64(s, 0);
	db_reset(s);
	return rc == DB_ROW ? 0 : -1;
}

/* The dirty flag RETURNING gives back (the last row's). */
static int dirty_row(struct db_stmt *s, void *ctx)
{
	*(int *)ctx = db_column_int(s, 0);
	return 0;
}

int store_ingest_window_result(struct store_ingest *si, const struct store_window_result *r)
{
	struct db_stmt *s = prep(si, S_WIN_RESULT);
	int dirty = 1;
	if (!s)
		return -1;
	db_bind_int64(s, 1, r->model_id);
	db_bind_int64(s, 2, r->start);
	if (r->has_latency) {
		db_bind_double(s, 3, r->p50);
		db_bind_double(s, 4, r->p90);
		db_bind_double(s, 5, r->p95);
		db_bind_double(s, 6, r->p99);
		db_bind_double(s, 7, r->p999);
		db_bind_double(s, 8, r->max);
		db_bind_double(s, 9, r->mean);
	}
	db_bind_double(s, 10, r->analyzed);
	db_bind_int(s, 11, r->final ? 1 : 0);
	db_bind_int64(s, 12, (int64_t)r->count);
	db_bind_int64(s, 13, (int64_t)r->errors);
	db_bind_int64(s, 14, (int64_t)r->sampled);
	db_bind_int64(s, 15, (int64_t)r->labelled);
	if (store_each_row(s, dirty_row, &dirty))
		return -1;
	return dirty ? 0 : 1;
}

int store_ingest_window_feature(struct store_ingest *si, int64_t model_id, int64_t start,
                                const struct store_feature_row *f)
{
	struct db_stmt *s = prep(si, S_WF);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, start);
	db_bind_text(s, 3, f->feature, -1);
	db_bind_int(s, 4, f->kind);
	db_bind_int64(s, 5, (int64_t)f->n);
	db_bind_int64(s, 6, (int64_t)f->missing);
	db_bind_int64(s, 7, (int64_t)f->type_errors);
	db_bind_int64(s, 8, (int64_t)f->out_of_range);
	db_bind_int64(s, 9, (int64_t)f->new_category);
	if (f->sample && f->sample_len)
		db_bind_blob(s, 10, f->sample, (int)f->sample_len);
	else
		db_bind_null(s, 10);
	return done(s);
}

int store_ingest_drift(struct store_ingest *si, int64_t model_id, int64_t start,
                       const struct store_drift_row *d)
{
	struct db_stmt *s = prep(si, S_DRIFT);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, start);
	db_bind_text(s, 3, d->feature, -1);
	db_bind_int(s, 4, d->kind);
	db_bind_int64(s, 5, (int64_t)d->n);
	if (d->has_ref)
		db_bind_int64(s, 6, (int64_t)d->n_ref);
	db_bind_double(s, 7, d->missing_rate);
	db_bind_double(s, 8, d->type_error_rate);
	if (d->has_ref) {
		db_bind_double(s, 9, d->out_of_range_rate);
		db_bind_double(s, 10, d->new_category_rate);
	}
	if (d->method) {
		if (d->numeric) {
			db_bind_double(s, 11, d->ks);
			db_bind_double(s, 12, d->ks_p);
			db_bind_double(s, 13, d->wasserstein);
		} else {
			db_bind_double(s, 16, d->chi2);
			db_bind_double(s, 17, d->chi2_p);
		}
		db_bind_double(s, 14, d->psi);
		db_bind_double(s, 15, d->js);
		db_bind_text(s, 18, d->method, -1);
		db_bind_double(s, 19, d->score);
		db_bind_double(s, 20, d->threshold);
		db_bind_double(s, 21, d->severity);
	}
	db_bind_int(s, 22, d->drifted ? 1 : 0);
	db_bind_int(s, 23, d->insufficient ? 1 : 0);
	bind_text_or_null(s, 24, d->cur_hist);
	bind_text_or_null(s, 25, d->stats[0] ? d->stats : NULL);
	return done(s);
}

int store_ingest_clear_window_results(struct store_ingest *si, int64_t model_id, int64_t start)
{
	for (int which = S_CLEAR_WF; which <= S_CLEAR_DRIFT; which++) {
		struct db_stmt *s = prep(si, which);
		if (!s)
			return -1;
		db_bind_int64(s, 1, model_id);
		db_bind_int64(s, 2, start);
		if (done(s))
			return -1;
	}
	return 0;
}

static void bind_opt(struct db_stmt *s, int i, bool has, double v)
{
	if (has)
		db_bind_double(s, i, v);
	else
		db_bind_null(s, i);
}

int store_ingest_accuracy(struct store_ingest *si, int64_t model_id, int64_t start,
                          const struct store_accuracy_row *a)
{
	struct db_stmt *s = prep(si, S_ACC);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, start);
	db_bind_int64(s, 3, (int64_t)a->labelled);
	bind_opt(s, 4, a->has_accuracy, a->accuracy);
	bind_opt(s, 5, a->has_macro_f1, a->macro_f1);
	bind_opt(s, 6, a->has_mae, a->mae);
	bind_opt(s, 7, a->has_rmse, a->rmse);
	bind_opt(s, 8, a->has_est, a->est);
	bind_opt(s, 9, a->has_est, a->est_low);
	bind_opt(s, 10, a->has_est, a->est_high);
	db_bind_double(s, 11, a->label_coverage);
	bind_text_or_null(s, 12, a->per_class);
	return done(s);
}

static int copy_blob(struct db_stmt *s, int col, uint8_t **buf, size_t *len)
{
	int n = db_column_bytes(s, col);
	*buf = malloc(n > 0 ? (size_t)n : 1);
	if (!*buf)
		return -1;
	if (n > 0)
		memcpy(*buf, db_column_blob(s, col), (size_t)n);
	*len = (size_t)n;
	return 0;
}

int store_ingest_concept_get(struct store_ingest *si, int64_t model_id, const char *detector,
                             uint8_t **buf, size_t *len)
{
	struct db_stmt *s = prep(si, S_CONCEPT_GET);
	int rc;
	*buf = NULL;
	*len = 0;
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, detector, -1);
	rc = db_step(s);
	if (rc == DB_ROW)
		rc = copy_blob(s, 0, buf, len);
	else
		rc = rc == DB_DONE ? 1 : -1;
	db_reset(s);
	return rc;
}

int store_ingest_concept_put(struct store_ingest *si, int64_t model_id, const char *detector,
                             const uint8_t *buf, size_t len, double now)
{
	struct db_stmt *s = prep(si, S_CONCEPT_PUT);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, detector, -1);
	db_bind_blob(s, 3, buf, (int)len);
	db_bind_double(s, 4, now);
	return done(s);
}

int store_ingest_concept_event(struct store_ingest *si, int64_t model_id, double ts,
                               int64_t window_start, const char *detector, const char *detail)
{
	struct db_stmt *s = prep(si, S_CONCEPT_EVENT);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_double(s, 2, ts);
	db_bind_int64(s, 3, window_start);
	db_bind_text(s, 4, detector, -1);
	bind_text_or_null(s, 5, detail);
	return done(s);
}

/* ---- references ---------------------------------------------------------------- */

struct reference_rows {
	void (*cb)(const char *feature, int kind, uint64_t n, const uint8_t *profile, size_t len,
	           const char *hist, void *arg);
	void *arg;
};

static int reference_row(struct db_stmt *s, void *ctx)
{
	struct reference_rows *c = ctx;

	c->cb((const char *)db_column_text(s, 0), db_column_int(s, 1),
	      (uint64_t)db_column_int64(s, 2), db_column_blob(s, 3), (size_t)db_column_bytes(s, 3),
	      (const char *)db_column_text(s, 4), c->arg);
	return 0;
}

int store_ingest_references(struct store_ingest *si, int64_t model_id,
                            void (*cb)(const char *feature, int kind, uint64_t n,
                                       const uint8_t *profile, size_t len, const char *hist,
                                       void *arg),
                            void *arg)
{
	struct db_stmt *s = prep(si, S_REFS);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	return store_each_row(s, reference_row, &(struct reference_rows){.cb = cb, .arg = arg});
}

int store_ingest_reference_version(struct store_ingest *si, int64_t model_id, double *version)
{
	struct db_stmt *s = prep(si, S_REF_VERSION);
	int rc;
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	rc = db_step(s);
	if (rc == DB_ROW)
		*version = db_column_double(s, 0);
	db_reset(s);
	return rc == DB_ROW ? 0 : -1;
}

int store_ingest_reference_clear(struct store_ingest *si, int64_t model_id)
{
	for (int which = S_REF_CLEAR; which <= S_CAL_CLEAR; which++) {
		struct db_stmt *s = prep(si, which);
		if (!s)
			return -1;
		db_bind_int64(s, 1, model_id);
		if (done(s))
			return -1;
	}
	return 0;
}

int store_ingest_reference_put(struct store_ingest *si, int64_t model_id, const char *feature,
                               int kind, uint64_t n, const uint8_t *profile, size_t len,
                               const char *hist, double created)
{
	struct db_stmt *s = prep(si, S_REF_PUT);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, feature, -1);
	db_bind_int(s, 3, kind);
	db_bind_int64(s, 4, (int64_t)n);
	db_bind_blob(s, 5, profile, (int)len);
	bind_text_or_null(s, 6, hist);
	db_bind_double(s, 7, created);
	return done(s);
}

int store_ingest_calibration_put(struct store_ingest *si, int64_t model_id, const uint8_t *profile,
                                 size_t len, uint64_t n, double created)
{
	struct db_stmt *s = prep(si, S_CAL_PUT);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_blob(s, 2, profile, (int)len);
	db_bind_int64(s, 3, (int64_t)n);
	db_bind_double(s, 4, created);
	return done(s);
}

int store_ingest_calibration_get(struct store_ingest *si, int64_t model_id, uint8_t **buf,
                                 size_t *len, uint64_t *n, double *created)
{
	struct db_stmt *s = prep(si, S_CAL_GET);
	int rc;
	*buf = NULL;
	*len = 0;
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	rc = db_step(s);
	if (rc == DB_ROW) {
		rc = copy_blob(s, 0, buf, len);
		if (n)
			*n = (uint64_t)db_column_int64(s, 1);
		if (created)
			*created = db_column_double(s, 2);
	} else {
		rc = rc == DB_DONE ? 1 : -1;
	}
	db_reset(s);
	return rc;
}

int store_ingest_mark_dirty(struct store_ingest *si, int64_t model_id, int64_t from_start)
{
	struct db_stmt *s = prep(si, S_MARK_DIRTY);
	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, from_start);
	return done(s);
}
