/* features_store: the features blob of issue 18 item 3 in a real store.
 * A store of the schema before the blob (JSON text in events.features) is
 * migrated by mlwatchd, which then stores new events as blobs; a row whose
 * blob is corrupt sits among them. The analysis folds old and new rows
 * alike (the corrupt one counts as an event without features), and
 * `mlwatch export` prints every row's features as the JSON text it printed
 * before, warning about the corrupt one. Then `mlwatch migrate` carries the
 * store to PostgreSQL (BYTEA) and back to SQLite: export answers the same
 * to the byte at every step. */
#include <cJSON.h>
#include <criterion/criterion.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/pg_harness.h"
#include "../lib/tuitest.h"
#include "../lib/wire_client.h"
#include "clock.h"
#include "featcodec.h"
#include "store.h"
#include "store_ingest.h"
#include "wire.h"

#define OLD_ROWS 40
#define NEW_ROWS 60

/* `mlwatch --db DB export --model m --since 1h --json`; *err gets stderr. */
static char *export_json(const char *db, char **err)
{
	char *bin = h_bin("mlwatch"), *out = NULL;
	char *argv[] = {bin, "--db",    (char *)db, "export", "--model",
	                "m", "--since", "1h",       "--json", NULL};
	int rc = tt_run(argv, (char *[]){"TZ=UTC", NULL}, &out, err, 60);

	cr_assert_eq(rc, 0, "export from %s: exit %d: %s", db, rc, *err ? *err : "");
	free(bin);
	return out;
}

/* A store as schema 10 left it (no features_bin), OLD_ROWS events with
 * JSON text features in the minute that started at sec0, its windows row
 * dirty. */
static void old_store(const char *db, int64_t sec0)
{
	char err[256], sql[512];
	struct store st;
	int64_t model;

	cr_assert_eq(store_open(&st, db, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_exec(&st, "ALTER TABLE events DROP COLUMN features_bin;"
	                             "PRAGMA user_version = 10;"
	                             "INSERT INTO models (name, created) VALUES ('m', 0)"),
	             0, "%s", store_errmsg(&st));
	model = 1;
	for (int i = 0; i < OLD_ROWS; i++) {
		snprintf(sql, sizeof(sql),
		         "INSERT INTO events (model_id, req_id, ts, window_start, latency_ms, "
		         "features, pred_str) VALUES (%lld, 'old-%d', %lld.5, %lld, 2, "
		         "'{\"amount\":%d.25,\"country\":\"DE\",\"emb\":[0.5,-1]}', 'yes')",
		         (long long)model, i, (long long)sec0 + 1, (long long)sec0, i);
		cr_assert_eq(store_exec(&st, sql), 0, "%s", store_errmsg(&st));
	}
	snprintf(sql, sizeof(sql),
	         "INSERT INTO windows (model_id, start, end, count, sampled) VALUES (%lld, %lld, "
	         "%lld, %d, %d)",
	         (long long)model, (long long)sec0, (long long)sec0 + 60, OLD_ROWS, OLD_ROWS);
	cr_assert_eq(store_exec(&st, sql), 0, "%s", store_errmsg(&st));
	store_close(&st);
}

static void send_new(struct cproc *c, int64_t sec0)
{
	struct wc_client *cl;
	struct wire_batch b;
	struct event ev[NEW_ROWS];
	struct feature f[NEW_ROWS][3];
	static const float emb[2] = {0.5f, -1};
	char ids[NEW_ROWS][16], err[256];

	memset(&b, 0, sizeof(b));
	b.protocol = WIRE_PROTOCOL;
	b.created = clock_now();
	b.agent_id = "feat";
	b.seq = 1;
	b.events = ev;
	b.n_events = NEW_ROWS;
	for (int i = 0; i < NEW_ROWS; i++) {
		memset(&ev[i], 0, sizeof(ev[i]));
		snprintf(ids[i], sizeof(ids[i]), "new-%d", i);
		ev[i].model = "m";
		ev[i].id = ids[i];
		ev[i].ts = (double)sec0 + 30.5;
		ev[i].ts_given = true;
		ev[i].has_latency = true;
		ev[i].latency_ms = 2;
		ev[i].prediction = (struct value){VALUE_STRING, 0, "yes"};
		f[i][0] =
		    (struct feature){.name = "amount", .kind = FEATURE_NUMERIC, .num = i + 0.25};
		f[i][1] =
		    (struct feature){.name = "country", .kind = FEATURE_CATEGORICAL, .str = "FR"};
		f[i][2] =
		    (struct feature){.name = "emb", .kind = FEATURE_VECTOR, .vec = emb, .dim = 2};
		ev[i].features = f[i];
		ev[i].n_features = 3;
	}
	uint8_t *buf;
	size_t len;
	struct wire_reply r;
	cr_assert_eq(wire_encode_batch(&b, &buf, &len), 0);
	cr_assert_eq(wc_open(&cl, c->url, NULL, 10 * cproc_slow(), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(wc_request(cl, buf, len, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.status, WIRE_OK, "%s", r.message);
	free(buf);
	wc_close(cl);
}

static int64_t wait_int(const char *db, const char *sql, int64_t want, double secs)
{
	double end = h_now() + secs * cproc_slow();
	int64_t v;

	while ((v = db_int(db, sql)) != want && h_now() < end)
		h_sleep(0.1);
	return v;
}

/* Every exported line's features: old rows {"amount":i.25,"country":"DE",
 * "emb":[0.5,-1]}, new ones the same with FR, the corrupt one {}. */
static void check_export(const char *out)
{
	int old = 0, new = 0, empty = 0;
	const char *p = out;

	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		char *line = strndup(p, n);
		cJSON *o = cJSON_Parse(line);
		cr_assert_not_null(o, "%s", line);
		const char *id = cJSON_GetObjectItem(o, "id")->valuestring;
		char *feat = cJSON_PrintUnformatted(cJSON_GetObjectItem(o, "features"));
		const char *dash = strchr(id, '-');
		int i = dash ? atoi(dash + 1) : -1;
		char want[160];
		if (!strcmp(id, "broken")) {
			cr_expect_str_eq(feat, "{}");
			empty++;
		} else {
			bool is_old = !strncmp(id, "old-", 4);
			snprintf(want, sizeof(want),
			         "{\"amount\":%d.25,\"country\":\"%s\",\"emb\":[0.5,-1]}", i,
			         is_old ? "DE" : "FR");
			cr_expect_str_eq(feat, want, "%s", id);
			old += is_old;
			new += !is_old;
		}
		free(feat);
		cJSON_Delete(o);
		free(line);
		p = nl ? nl + 1 : NULL;
	}
	cr_expect_eq(old, OLD_ROWS);
	cr_expect_eq(new, NEW_ROWS);
	cr_expect_eq(empty, 1);
}

/* The migrated store: mlwatchd migrates it, stores the new events as
 * blobs; analysis and export read both kinds of rows. Returns the store's
 * directory (the caller removes it). */
static struct cproc mixed_store(void)
{
	struct cproc c;
	char sql[400];
	/* a minute that closed two minutes ago */
	int64_t sec0 = (int64_t)clock_now() / 60 * 60 - 120;

	cproc_init(&c, "featstore");
	old_store(c.db, sec0);
	const char *args[] = {"--analyze-interval", "200ms", NULL};
	cr_assert_eq(cproc_start(&c, args), 0, "see %s", c.log);
	cr_assert_eq(db_int(c.db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
	send_new(&c, sec0);
	cr_assert_eq(wait_int(c.db, "SELECT count(*) FROM events", OLD_ROWS + NEW_ROWS, 10),
	             OLD_ROWS + NEW_ROWS);
	cr_expect_eq(db_int(c.db, "SELECT count(*) FROM events WHERE typeof(features_bin) = "
	                          "'blob' AND features IS NULL"),
	             NEW_ROWS, "new rows hold the blob only");
	cr_expect_eq(db_int(c.db, "SELECT count(*) FROM events WHERE typeof(features) = 'text' "
	                          "AND features_bin IS NULL"),
	             OLD_ROWS, "old rows kept their text");
	/* a blob broken on disk: an unknown type tag after the name "a" */
	snprintf(sql, sizeof(sql),
	         "INSERT INTO events (model_id, req_id, ts, window_start, features_bin, pred_str) "
	         "VALUES (1, 'broken', %lld.5, %lld, x'01010001610907', 'yes');"
	         "UPDATE windows SET count = count + 1, sampled = sampled + 1, dirty = 1 "
	         "WHERE model_id = 1 AND start = %lld",
	         (long long)sec0 + 40, (long long)sec0, (long long)sec0);
	{
		char err[256];
		struct store st;
		cr_assert_eq(store_open(&st, c.db, STORE_RW, false, err, sizeof(err)), 0, "%s",
		             err);
		cr_assert_eq(store_exec(&st, sql), 0, "%s", store_errmsg(&st));
		store_close(&st);
	}
	/* the analysis: every row folded, old and new, the broken one as an
	 * event without features */
	int64_t total = OLD_ROWS + NEW_ROWS + 1;
	snprintf(sql, sizeof(sql),
	         "SELECT n + missing FROM window_features WHERE start = %lld AND feature = "
	         "'amount'",
	         (long long)sec0);
	cr_expect_eq(wait_int(c.db, sql, total, 20), total, "see %s", c.log);
	snprintf(sql, sizeof(sql),
	         "SELECT n FROM window_features WHERE start = %lld AND feature = 'amount'",
	         (long long)sec0);
	cr_expect_eq(db_int(c.db, sql), OLD_ROWS + NEW_ROWS);
	snprintf(sql, sizeof(sql),
	         "SELECT n FROM window_features WHERE start = %lld AND feature = 'country'",
	         (long long)sec0);
	cr_expect_eq(db_int(c.db, sql), OLD_ROWS + NEW_ROWS);
	snprintf(sql, sizeof(sql),
	         "SELECT type_errors FROM window_features WHERE start = %lld AND feature = 'emb'",
	         (long long)sec0);
	cr_expect_eq(db_int(c.db, sql), 0, "old and new vectors have one dimension");
	cr_assert_eq(cproc_stop(&c, SIGTERM), 0, "see %s", c.log);
	return c;
}

Test(features_store, old_json_rows_and_new_blob_rows_read_by_analysis_and_export, .timeout = 120)
{
	struct cproc c = mixed_store();
	char *err = NULL, *out = export_json(c.db, &err);

	check_export(out);
	cr_expect(err && strstr(err, "1 events had an unreadable features column") &&
	              strstr(err, "features blob byte 5") && strstr(err, "unknown type tag 9"),
	          "%s", err ? err : "");
	free(out);
	free(err);
	cproc_cleanup(&c);
}

Test(features_store, migrate_to_postgresql_and_back_keeps_features, .timeout = 180)
{
	struct pg_cluster pg = {0};
	char why[256], uri[600], back[600];

	PG_CLUSTER_START_OR_SKIP(&pg);
	struct cproc c = mixed_store();
	char *err = NULL, *want = export_json(c.db, &err);
	free(err);
	check_export(want);

	cr_assert_eq(pg_cluster_createdb(&pg, "featmig", uri, sizeof(uri), why, sizeof(why)), 0,
	             "%s", why);
	char *bin = h_bin("mlwatch"), *o = NULL, *e = NULL;
	char *to_pg[] = {bin, "migrate", "--from", c.db, "--to", uri, NULL};
	int rc = tt_run(to_pg, NULL, &o, &e, 60);
	cr_assert_eq(rc, 0, "migrate to PostgreSQL: exit %d: %s", rc, e ? e : "");
	free(o);
	free(e);
	long long n = 0;
	cr_assert_eq(
	    pg_cluster_query_ll(&pg, "featmig",
	                        "SELECT count(*) FROM events WHERE features_bin IS NOT NULL", &n,
	                        why, sizeof(why)),
	    0, "%s", why);
	cr_expect_eq(n, NEW_ROWS + 1, "the blobs went as BYTEA");
	char *got = export_json(uri, &err);
	free(err);
	cr_expect_str_eq(got, want, "export from PostgreSQL");
	free(got);

	snprintf(back, sizeof(back), "%s/back.db", c.dir);
	char *to_sq[] = {bin, "migrate", "--from", uri, "--to", back, NULL};
	rc = tt_run(to_sq, NULL, &o, &e, 60);
	cr_assert_eq(rc, 0, "migrate back to SQLite: exit %d: %s", rc, e ? e : "");
	free(o);
	free(e);
	cr_expect_eq(
	    db_int(back, "SELECT count(*) FROM events WHERE typeof(features_bin) = 'blob'"),
	    NEW_ROWS + 1);
	got = export_json(back, &err);
	free(err);
	cr_expect_str_eq(got, want, "export after the way back");
	free(got);
	free(want);
	free(bin);
	cproc_cleanup(&c);
	pg_cluster_destroy(&pg);
}
