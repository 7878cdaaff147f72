/* store_ingest: the collector's SQL, on a real SQLite file. */
#include <criterion/criterion.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"
#include "ddsketch.h"
#include "featcodec.h"
#include "jsonw.h"
#include "sample.h"
#include "store.h"
#include "store_ingest.h"

static char *dir;
static struct store st;
static struct store_ingest *si;

static void setup(void)
{
	char path[600], err[256];
	dir = h_tmpdir("store-ingest");
	snprintf(path, sizeof(path), "%s/t.db", dir);
	cr_assert_eq(store_open(&st, path, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	si = store_ingest_new(&st);
	cr_assert_not_null(si);
}

static void teardown(void)
{
	store_ingest_free(si);
	store_close(&st);
	h_rmtree(dir);
	free(dir);
}

static int64_t q_int(const char *sql)
{
	sqlite3_stmt *s;
	int64_t v = INT64_MIN;
	cr_assert_eq(sqlite3_prepare_v2(db_sqlite_handle(st.db), sql, -1, &s, NULL), SQLITE_OK,
	             "%s", sql);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return v;
}

/* {"a":1} as featcodec writes it: version 1, 1 feature, name "a", integer
 * tag, zigzag 1 */
static const uint8_t a_is_1[] = {1, 1, 0, 1, 'a', FC_INTEGER, 2};

static void event(int64_t model, const char *id, double ts, int64_t ws, struct value label)
{
	struct store_event_row r = {0};
	r.model_id = model;
	r.req_id = id;
	r.ts = ts;
	r.window_start = ws;
	r.features = a_is_1; /* {"a":1} */
	r.features_len = sizeof(a_is_1);
	r.prediction.kind = VALUE_STRING;
	r.prediction.str = "yes";
	r.label = label;
	r.label_ts = ts;
	cr_assert_eq(store_ingest_event(si, &r), 0, "%s", store_errmsg(&st));
}

TestSuite(store_ingest, .init = setup, .fini = teardown);

struct read_back {
	int n;
	char json[4][128];
	bool bad[4];
	char err[4][160];
};

static int read_cb(const struct store_raw_event *e, void *arg)
{
	struct read_back *r = arg;
	struct jsonw w;

	cr_assert_lt(r->n, 4);
	r->bad[r->n] = e->features_bad;
	if (e->features_bad)
		snprintf(r->err[r->n], sizeof(r->err[0]), "%s", e->features_err);
	if (e->features) {
		jsonw_init(&w);
		cr_assert_eq(featcodec_to_json(e->features, e->features_len, &w, NULL), 0);
		snprintf(r->json[r->n], sizeof(r->json[0]), "%s", w.buf);
		jsonw_fini(&w);
	}
	r->n++;
	return 0;
}

/* Issue 18 item 3: new rows keep their features as a blob in features_bin;
 * rows written before keep their JSON text in features. The reader hands
 * both out as a checked blob, and marks a corrupt one rather than handing
 * it on. */
Test(store_ingest, features_blob_and_legacy_text_read_back_alike)
{
	struct read_back r = {0};
	struct value none = {0};
	int64_t m;

	cr_assert_eq(store_ingest_model(si, "m", 1, &m), 0);
	event(m, "new", 100, 60, none);
	cr_assert_eq(q_int("SELECT count(*) FROM events WHERE features IS NULL AND "
	                   "typeof(features_bin) = 'blob'"),
	             1);
	char sql[400];
	snprintf(sql, sizeof(sql),
	         "INSERT INTO events (model_id, req_id, ts, window_start, features) VALUES "
	         "(%lld, 'old', 101, 60, '{\"a\":2.5,\"c\":\"DE\",\"e\":[1,0.5]}');"
	         "INSERT INTO events (model_id, req_id, ts, window_start, features_bin) VALUES "
	         "(%lld, 'broken', 102, 60, x'01010001610907');"
	         "INSERT INTO events (model_id, req_id, ts, window_start) VALUES "
	         "(%lld, 'none', 103, 60)",
	         (long long)m, (long long)m, (long long)m);
	cr_assert_eq(store_exec(&st, sql), 0, "%s", store_errmsg(&st));
	cr_assert_eq(store_ingest_events_after(si, 0, 100, read_cb, &r), 0);
	cr_assert_eq(r.n, 4);
	cr_expect_str_eq(r.json[0], "{\"a\":1}");
	cr_expect_str_eq(r.json[1], "{\"a\":2.5,\"c\":\"DE\",\"e\":[1,0.5]}");
	cr_expect(r.bad[2]);
	cr_expect(strstr(r.err[2], "byte 5") && strstr(r.err[2], "unknown type tag 9"), "%s",
	          r.err[2]);
	cr_expect_str_eq(r.json[2], "");
	cr_expect(!r.bad[3]);
	cr_expect_str_eq(r.json[3], "");
}

Test(store_ingest, dedupe_and_models)
{
	int64_t a, b, c;
	cr_assert_eq(store_ingest_seen(si, "agent", 7, 1), 1);
	cr_assert_eq(store_ingest_seen(si, "agent", 7, 2), 0);
	cr_assert_eq(store_ingest_seen(si, "other", 7, 2), 1);
	cr_assert_eq(store_ingest_model(si, "m1", 10, &a), 0);
	cr_assert_eq(store_ingest_model(si, "m2", 10, &b), 0);
	cr_assert_eq(store_ingest_model(si, "m1", 10, &c), 0);
	cr_assert_neq(a, b);
	cr_assert_eq(a, c);
	cr_assert_eq(store_ingest_model_lookup(si, "nope", &c), 1);

	/* a model created in a rolled-back transaction is forgotten */
	cr_assert_eq(store_begin(&st), 0);
	cr_assert_eq(store_ingest_model(si, "ghost", 10, &c), 0);
	store_rollback(&st);
	store_ingest_rolled_back(si);
	cr_assert_eq(store_ingest_model_lookup(si, "ghost", &c), 1);
	cr_assert_eq(q_int("SELECT count(*) FROM models"), 2);
}

struct joined {
	int n, unlabelled;
	int64_t ws;
};

static void joined_cb(int64_t ws, bool unl, void *arg)
{
	struct joined *j = arg;
	j->n++;
	j->unlabelled += unl;
	j->ws = ws;
}

Test(store_ingest, labels_join_either_way)
{
	int64_t m;
	struct value lab = {VALUE_STRING, 0, "no"}, none = {0}, got;
	struct joined j = {0};
	double ts;
	char buf[64];

	store_ingest_model(si, "m", 1, &m);
	event(m, "e1", 100, 60, none);
	cr_assert_eq(store_ingest_join_label(si, m, "e1", &lab, 150, joined_cb, &j), 1);
	cr_assert_eq(j.unlabelled, 1);
	cr_assert_eq(j.ws, 60);
	/* a second label for the same event replaces it but is no new label */
	struct value lab2 = {VALUE_NUMBER, 3, NULL};
	j = (struct joined){0};
	cr_assert_eq(store_ingest_join_label(si, m, "e1", &lab2, 160, joined_cb, &j), 1);
	cr_assert_eq(j.unlabelled, 0);
	cr_assert_eq(q_int("SELECT label_num FROM events WHERE req_id = 'e1'"), 3);
	cr_assert_eq(q_int("SELECT label_str IS NULL FROM events WHERE req_id = 'e1'"), 1);

	/* unknown event: 0, kept pending, taken once */
	cr_assert_eq(store_ingest_join_label(si, m, "e2", &lab, 170, joined_cb, &j), 0);
	cr_assert_eq(store_ingest_pending_add(si, m, "e2", &lab, 170, 1000), 0);
	cr_assert_eq(store_ingest_take_pending(si, m, "e2", &got, &ts, buf, sizeof(buf)), 1);
	cr_assert_eq(got.kind, VALUE_STRING);
	cr_assert_str_eq(got.str, "no");
	cr_assert_float_eq(ts, 170, 1e-9);
	cr_assert_eq(store_ingest_take_pending(si, m, "e2", &got, &ts, buf, sizeof(buf)), 0);

	/* a client reusing an id: every event with it is labelled */
	for (int i = 0; i < 9; i++)
		event(m, "dup", 200 + i, 180, none);
	j = (struct joined){0};
	cr_assert_eq(store_ingest_join_label(si, m, "dup", &lab, 300, joined_cb, &j), 9);
	cr_assert_eq(j.unlabelled, 9);
}

Test(store_ingest, window_counters_and_sketch_merge)
{
	int64_t m;
	struct ddsketch *a = ddsketch_new(), *b = ddsketch_new();
	struct store_window *ws;
	for (int i = 1; i <= 100; i++)
		ddsketch_add(a, i);
	for (int i = 101; i <= 200; i++)
		ddsketch_add(b, i);
	store_ingest_model(si, "m", 1, &m);
	struct store_window_delta d = {m, 60, 120, 100, 5, 10, 1, a};
	cr_assert_eq(store_ingest_window_add(si, &d), 0);
	d.latency = b;
	d.errors = 0;
	cr_assert_eq(store_ingest_window_add(si, &d), 0);
	d.latency = NULL; /* counts only: the sketch stays */
	d.count = 1;
	cr_assert_eq(store_ingest_window_add(si, &d), 0);
	cr_assert_eq(store_ingest_dirty_windows(si, 10, &ws), 1);
	cr_assert_eq(ws[0].count, 201);
	cr_assert_eq(ws[0].errors, 5);
	cr_assert_eq(ws[0].sampled, 30);
	cr_assert_eq(ws[0].labelled, 3);
	cr_assert_eq(ws[0].provisional, 1);
	struct ddsketch *got;
	cr_assert_eq(ddsketch_decode(ws[0].sketch, ws[0].sketch_len, &got), 0);
	cr_assert_eq(ddsketch_count(got), 200);
	cr_assert_float_eq(ddsketch_max(got), 200, 1e-9);
	ddsketch_free(got);

	/* results: the row stays dirty while it is open or has changed */
	struct store_window_result r = {0};
	r.model_id = m;
	r.start = 60;
	r.count = 201;
	r.errors = 5;
	r.sampled = 30;
	r.labelled = 3;
	r.final = false;
	cr_assert_eq(store_ingest_window_result(si, &r), 0);
	r.final = true;
	r.count = 200; /* stale: something arrived meanwhile */
	cr_assert_eq(store_ingest_window_result(si, &r), 0);
	cr_assert_eq(q_int("SELECT provisional FROM windows"), 0);
	r.count = 201;
	r.has_latency = true;
	r.p99 = 198;
	cr_assert_eq(store_ingest_window_result(si, &r), 1);
	cr_assert_eq(q_int("SELECT dirty FROM windows"), 0);
	cr_assert_eq(q_int("SELECT p99 FROM windows"), 198);
	store_window_free(&ws[0]);
	free(ws);
	cr_assert_eq(store_ingest_dirty_windows(si, 10, &ws), 0);
	free(ws);
	/* a late event reopens it */
	d.count = 1;
	cr_assert_eq(store_ingest_window_add(si, &d), 0);
	cr_assert_eq(q_int("SELECT dirty FROM windows"), 1);
	ddsketch_free(a);
	ddsketch_free(b);
}

Test(store_ingest, retention_runs_in_chunks)
{
	int64_t m;
	struct value none = {0}, lab = {VALUE_STRING, 0, "x"};
	struct store_retention_done d;
	struct store_retention r = {
	    .raw_before = 500, .windows_before = 300, .seen_before = 50, .now = 1000, .chunk = 100};
	char id[32];

	store_ingest_model(si, "m", 1, &m);
	cr_assert_eq(store_begin(&st), 0);
	for (int i = 0; i < 250; i++) {
		snprintf(id, sizeof(id), "e%d", i);
		event(m, id, i < 230 ? 100 + i : 900, 60, none);
		store_ingest_seen(si, "a", (uint64_t)i, i < 150 ? 10 : 100);
	}
	store_ingest_agent(si, "a", 249, 100, 250, NULL);
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "p%d", i);
		store_ingest_pending_add(si, m, id, &lab, 1, i < 3 ? 999 : 2000);
	}
	struct store_window_delta wd = {m, 0, 60, 1, 0, 0, 0, NULL};
	for (int s = 0; s < 600; s += 60) {
		wd.start = s;
		store_ingest_window_add(si, &wd);
		/* fairness rows go with their window (issue 22) */
		char sql[160];
		snprintf(sql, sizeof(sql),
		         "INSERT INTO fairness VALUES (%lld, %d, 'gender', 'A', 1, 0, 0, 0, 0, 0, "
		         "0, 0)",
		         (long long)m, s);
		cr_assert_eq(store_exec(&st, sql), 0);
		/* and so do the segment rows (issue 17) */
		snprintf(sql, sizeof(sql),
		         "INSERT INTO segment_drift (model_id, start, seg_key, segment, feature, "
		         "kind, n) VALUES (%lld, %d, 'country', 'DE', 'amount', 1, 5)",
		         (long long)m, s);
		cr_assert_eq(store_exec(&st, sql), 0);
		snprintf(sql, sizeof(sql),
		         "INSERT INTO segment_windows (model_id, start, seg_key, segment, events, "
		         "errors, labelled) VALUES (%lld, %d, 'country', 'DE', 5, 0, 0)",
		         (long long)m, s);
		cr_assert_eq(store_exec(&st, sql), 0);
	}
	cr_assert_eq(store_commit(&st), 0);

	int64_t events = 0, seen = 0, labels = 0, windows = 0;
	int rc, steps = 0;
	do {
		rc = store_ingest_retention_step(si, &r, &d);
		cr_assert_geq(rc, 0);
		cr_assert_leq(d.events, 100);
		cr_assert_leq(d.seen, 100);
		events += d.events;
		seen += d.seen;
		labels += d.labels_expired;
		windows += d.windows;
	} while (rc == 1 && ++steps < 20);
	cr_assert_eq(events, 230);
	cr_assert_eq(seen, 150);
	cr_assert_eq(labels, 3);
	cr_assert_eq(windows, 5); /* starts 0..240 */
	cr_assert_eq(q_int("SELECT count(*) FROM events"), 20);
	cr_assert_eq(q_int("SELECT count(*) FROM batches_seen"), 100);
	cr_assert_eq(q_int("SELECT min(start) FROM windows"), 300);
	cr_assert_eq(q_int("SELECT min(start) FROM fairness"), 300);
	cr_assert_eq(q_int("SELECT count(*) FROM fairness"), 5);
	cr_assert_eq(q_int("SELECT min(start) FROM segment_drift"), 300);
	cr_assert_eq(q_int("SELECT count(*) FROM segment_drift"), 5);
	cr_assert_eq(q_int("SELECT min(start) FROM segment_windows"), 300);
	cr_assert_eq(q_int("SELECT count(*) FROM segment_windows"), 5);
}

/* No index on events.ts (each insert paid for it; issue 18): retention
 * finds old events per model along events_by_window, every model's, and
 * keeps the newer ones of a window that straddles the limit. */
Test(store_ingest, event_retention_walks_every_model_without_a_ts_index)
{
	int64_t m[3];
	struct value none = {0};
	struct store_retention_done d;
	struct store_retention r = {.raw_before = 1000, .windows_before = 0, .now = 0, .chunk = 7};
	char id[32];
	int64_t deleted = 0;
	int rc, steps = 0;

	cr_assert_eq(q_int("SELECT count(*) FROM sqlite_master WHERE name = 'events_by_ts'"), 0);
	cr_assert_eq(q_int("SELECT count(*) FROM sqlite_master WHERE name = 'events_by_window'"),
	             1);
	cr_assert_eq(store_begin(&st), 0);
	for (int k = 0; k < 3; k++) {
		snprintf(id, sizeof(id), "m%d", k);
		cr_assert_eq(store_ingest_model(si, id, 1, &m[k]), 0);
		/* 20 old events, 5 in the window [960, 1020) before the
		 * limit, 5 in it after, 3 newer */
		for (int i = 0; i < 33; i++) {
			double ts = i < 20   ? 100 + i
			            : i < 25 ? 990 + i - 20
			            : i < 30 ? 1000 + i - 25
			                     : 2000 + i;
			snprintf(id, sizeof(id), "e%d", i);
			event(m[k], id, ts, (int64_t)ts / 60 * 60, none);
		}
	}
	cr_assert_eq(store_commit(&st), 0);
	do {
		cr_assert_eq(store_begin(&st), 0);
		rc = store_ingest_retention_step(si, &r, &d);
		cr_assert_eq(store_commit(&st), 0);
		cr_assert_geq(rc, 0);
		cr_assert_leq(d.events, 7, "a step deletes at most a chunk");
		deleted += d.events;
	} while (rc == 1 && ++steps < 50);
	cr_assert_eq(rc, 0, "done within the steps");
	cr_expect_eq(deleted, 3 * 25);
	cr_expect_eq(q_int("SELECT count(*) FROM events WHERE ts < 1000"), 0);
	cr_expect_eq(q_int("SELECT count(*) FROM events"), 3 * 8);
}

static void ref_cb(const char *f, int kind, uint64_t n, const uint8_t *p, size_t len,
                   const char *hist, void *arg)
{
	(*(int *)arg)++;
	cr_assert_str_eq(f, "amount");
	cr_assert_eq(kind, 1);
	cr_assert_eq(n, 3);
	cr_assert_eq(len, 4);
	cr_assert_str_eq(hist, "{}");
}

Test(store_ingest, references_and_calibration)
{
	int64_t m;
	double v0 = -1, v1 = -1;
	uint8_t blob[4] = {1, 2, 3, 4}, *cal;
	size_t len;
	uint64_t n;
	int calls = 0;

	store_ingest_model(si, "m", 1, &m);
	cr_assert_eq(store_ingest_reference_version(si, m, &v0), 0);
	cr_assert_float_eq(v0, 0, 1e-12);
	cr_assert_eq(store_ingest_reference_put(si, m, "amount", 1, 3, blob, 4, "{}", 123.5), 0);
	cr_assert_eq(store_ingest_calibration_put(si, m, blob, 2, 77, 124.5), 0);
	cr_assert_eq(store_ingest_reference_version(si, m, &v1), 0);
	cr_assert_float_eq(v1, 124.5, 1e-12);
	cr_assert_eq(store_ingest_references(si, m, ref_cb, &calls), 0);
	cr_assert_eq(calls, 1);
	cr_assert_eq(store_ingest_calibration_get(si, m, &cal, &len, &n, NULL), 0);
	cr_assert_eq(len, 2);
	cr_assert_eq(n, 77);
	free(cal);
	cr_assert_eq(store_ingest_reference_clear(si, m), 0);
	cr_assert_eq(store_ingest_calibration_get(si, m, &cal, &len, &n, NULL), 1);
	cr_assert_eq(q_int("SELECT count(*) FROM reference"), 0);
}

Test(store_ingest, jsonw_round_trips_numbers_and_escapes)
{
	struct jsonw w;
	double vals[] = {0.1, 1.0 / 3, 1e300, -2.5e-300, 123456789012345678.0, 42, -0.0};
	jsonw_init(&w);
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		jsonw_reset(&w);
		jsonw_num(&w, vals[i]);
		cr_assert_eq(strtod(w.buf, NULL), vals[i], "%s", w.buf);
	}
	jsonw_reset(&w);
	jsonw_num(&w, 42);
	cr_assert_str_eq(w.buf, "42");
	jsonw_reset(&w);
	jsonw_num(&w, NAN);
	cr_assert_str_eq(w.buf, "null");
	jsonw_reset(&w);
	jsonw_str(&w, "a\"b\\c\nd\x01", 8);
	cr_assert_str_eq(w.buf, "\"a\\\"b\\\\c\\nd\\u0001\"");
	jsonw_fini(&w);
}

Test(store_ingest, jsonw_numbers_read_back_exactly)
{
	struct sample_rng r;
	char buf[64];
	sample_rng_seed(&r, 7);
	for (int i = 0; i < 200000; i++) {
		double v;
		switch (i % 4) {
		case 0: /* a few decimals: the fast path */
			v = (double)(int64_t)(sample_rng_next(&r) % 2000000000) / 1000.0 - 1e6;
			break;
		case 1: /* anything finite */
			do {
				uint64_t bits = sample_rng_next(&r);
				memcpy(&v, &bits, sizeof(v));
			} while (!isfinite(v));
			break;
		case 2:
			v = sample_rng_double(&r);
			break;
		default:
			v = (double)(int64_t)sample_rng_next(&r) / 7.0;
			break;
		}
		size_t n = jsonw_format_double(buf, sizeof(buf), v);
		cr_assert_eq(n, strlen(buf));
		cr_assert_eq(strtod(buf, NULL), v, "%s vs %.17g", buf, v);
		/* never longer than the shortest %.17g form */
		char ref[64];
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(ref, sizeof(ref), "%.*g", prec, v);
			if (strtod(ref, NULL) == v)
				break;
		}
		cr_assert_leq(n, strlen(ref) + 8, "%s vs %s", buf, ref);
	}
	cr_assert_eq(jsonw_format_double(buf, sizeof(buf), 0.1), 3);
	cr_assert_str_eq(buf, "0.1");
	jsonw_format_double(buf, sizeof(buf), -0.05);
	cr_assert_str_eq(buf, "-0.05");
	jsonw_format_double(buf, sizeof(buf), 1e-7);
	cr_assert_str_eq(buf, "1e-07");
	jsonw_format_double(buf, sizeof(buf), 123456.000001);
	cr_assert_str_eq(buf, "123456.000001");
}

/* `mlwatch models rm` deletes a model from another connection while
 * mlwatchd runs: the writer's name -> id cache must not keep the deleted id,
 * or the model's next events land under an id no models row has. */
Test(store_ingest, model_removed_by_another_connection_is_looked_up_again)
{
	struct store other;
	char err[256];
	int64_t id = 0, id2 = 0;

	cr_assert_eq(store_begin(&st), 0);
	cr_assert_eq(store_ingest_sync(si), 0);
	cr_assert_eq(store_ingest_model(si, "fruad", 1000, &id), 0);
	cr_assert_eq(store_commit(&st), 0);

	cr_assert_eq(store_open(&other, st.path, STORE_RW, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(sqlite3_exec(db_sqlite_handle(other.db),
	                          "DELETE FROM models WHERE name = 'fruad'", NULL, NULL, NULL),
	             SQLITE_OK);
	store_close(&other);

	/* a transaction of our own in between changes nothing */
	cr_assert_eq(store_begin(&st), 0);
	cr_assert_eq(store_ingest_sync(si), 0);
	cr_assert_eq(store_ingest_model(si, "fruad", 1001, &id2), 0);
	cr_assert_eq(store_commit(&st), 0);
	cr_expect_eq(q_int("SELECT count(*) FROM models WHERE name = 'fruad'"), 1,
	             "the model row was made again");
	cr_expect_eq(q_int("SELECT id FROM models WHERE name = 'fruad'"), id2,
	             "the id used is the new row's (old %lld, used %lld)", (long long)id,
	             (long long)id2);
}

struct recent {
	int n;
	char seen[8][16];
	int64_t model[8];
	double ts[8];
};

static void recent_cb(int64_t model_id, const char *req_id, double ts, void *arg)
{
	struct recent *r = arg;

	cr_assert_lt(r->n, 8);
	snprintf(r->seen[r->n], sizeof(r->seen[r->n]), "%s", req_id);
	r->model[r->n] = model_id;
	r->ts[r->n++] = ts;
}

/* What the duplicate filter reads at start (issue 18): the newest window of
 * any model, and the events from a window on (every model; those without
 * an id counted, not passed). */
Test(store_ingest, newest_window_and_recent_events_for_the_duplicate_filter)
{
	int64_t a, b, ws = -1, n = -1;
	struct recent r = {0};

	cr_assert_eq(store_ingest_events_newest_window(si, &ws), 1, "no event stored");
	cr_assert_eq(store_ingest_model(si, "a", 1, &a), 0);
	cr_assert_eq(store_ingest_model(si, "b", 1, &b), 0);
	cr_assert_eq(store_ingest_events_newest_window(si, &ws), 1, "models without events");
	event(a, "old", 100, 60, (struct value){0});
	event(a, "a1", 130, 120, (struct value){0});
	event(b, "b1", 250, 240, (struct value){0});
	event(b, NULL, 251, 240, (struct value){0});
	event(a, "a2", 190, 180, (struct value){0});
	cr_assert_eq(store_ingest_events_newest_window(si, &ws), 0);
	cr_assert_eq(ws, 240, "model b's");

	cr_assert_eq(store_ingest_events_recent_count(si, 120, &n), 0);
	cr_assert_eq(n, 4, "a1, a2, b1 and b's event without an id");
	cr_assert_eq(store_ingest_events_recent(si, 120, recent_cb, &r), 0);
	cr_assert_eq(r.n, 3);
	for (int i = 0; i < r.n; i++) {
		bool is_a = strcmp(r.seen[i], "a1") == 0 || strcmp(r.seen[i], "a2") == 0;
		cr_assert(is_a || strcmp(r.seen[i], "b1") == 0, "%s", r.seen[i]);
		cr_assert_eq(r.model[i], is_a ? a : b);
		cr_assert_geq(r.ts[i], 120);
	}
	cr_assert_eq(store_ingest_events_recent_count(si, 241, &n), 0);
	cr_assert_eq(n, 0);
}
