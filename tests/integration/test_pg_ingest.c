/* pg_ingest: the collector's bulk write path on a throw-away PostgreSQL
 * (issue 16 item 5): db_bulk's binary COPY stores every type exactly as the
 * row-by-row SQLite path does, the set-wise duplicate lookup finds the same
 * rows on both engines (request ids that need quoting in an array literal
 * included), the model-id cache lives across transactions while the models
 * table is unchanged, two collectors creating one model at once both get
 * its id, and mlwatch_collector_db_bytes reports the database's size. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/pg_harness.h"
#include "../lib/wire_client.h"
#include "clock.h"
#include "db.h"
#include "featcodec.h"
#include "store.h"
#include "store_ingest.h"

/* Request ids that an array literal or COPY must carry unchanged. */
static const char *const ids[] = {"plain",  "with \"quotes\"", "back\\slash",
                                  "a,b{c}", "é ü ✓",           "NULL"};
#define NIDS (sizeof(ids) / sizeof(ids[0]))

/* The rows the tests store: every column type, NULLs, numbers that only
 * round-trip when sent as their bits. */
static void rows_make(struct store_event_row *r, int64_t model, double t0)
{
	/* the features blob (BYTEA on PostgreSQL, sent in binary COPY);
	 * static: still reachable at exit */
	static struct featcodec_enc fe;

	if (!fe.buf) {
		featcodec_enc_init(&fe);
		cr_assert_eq(featcodec_from_json("{\"x\":0.30000000000000004,\"c\":\"\\\"q\\\"\","
		                                 "\"e\":[0.5,-1]}",
		                                 &fe, NULL),
		             0);
	}
	for (size_t i = 0; i < NIDS; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].model_id = model;
		r[i].req_id = ids[i];
		r[i].ts = t0 + (double)i * 0.1;
		r[i].window_start = (int64_t)t0 / 60 * 60;
		r[i].has_latency = i % 2 == 0;
		r[i].latency_ms = 1e-300 * (double)(i + 1) + 0.1 * (double)i;
		r[i].error = i == 3;
		r[i].version = i == 1 ? "v2" : NULL;
		r[i].features = i == 2 ? NULL : fe.buf;
		r[i].features_len = i == 2 ? 0 : fe.len;
		if (i % 3 == 0) {
			r[i].prediction.kind = VALUE_NUMBER;
			r[i].prediction.num = 1.0 / 3.0;
		} else {
			r[i].prediction.kind = VALUE_STRING;
			r[i].prediction.str = "fraud";
		}
		r[i].has_score = i != 4;
		r[i].score = 0.1 + (double)i;
		r[i].scores_json = i == 5 ? "{\"a\":0.5}" : NULL;
		if (i == 1) {
			r[i].label.kind = VALUE_STRING;
			r[i].label.str = "legit";
			r[i].label_ts = t0 + 5;
		}
	}
}

struct got {
	struct store_event_row r[16];
	char *strs[16][8];
	size_t n;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static int keep_event(const struct store_raw_event *e, void *arg)
{
	struct got *g = arg;
	struct store_event_row *r;

	cr_assert_lt(g->n, 16);
	r = &g->r[g->n];
	r->model_id = e->model_id;
	r->req_id = g->strs[g->n][0] = dup_or_null(e->req_id);
	r->ts = e->ts;
	r->window_start = e->window_start;
	r->has_latency = e->has_latency;
	r->latency_ms = e->latency_ms;
	r->error = e->error;
	cr_assert(!e->features_bad, "%s", e->features_err);
	if (e->features) {
		uint8_t *b = malloc(e->features_len);
		cr_assert_not_null(b);
		memcpy(b, e->features, e->features_len);
		g->strs[g->n][1] = (char *)b;
		r->features = b;
		r->features_len = e->features_len;
	}
	r->prediction = e->prediction;
	if (e->prediction.kind == VALUE_STRING)
		r->prediction.str = g->strs[g->n][2] = strdup(e->prediction.str);
	r->has_score = e->has_score;
	r->score = e->score;
	r->scores_json = g->strs[g->n][3] = dup_or_null(e->scores_json);
	r->label = e->label;
	if (e->label.kind == VALUE_STRING)
		r->label.str = g->strs[g->n][4] = strdup(e->label.str);
	g->n++;
	return 0;
}

static void got_free(struct got *g)
{
	for (size_t i = 0; i < 16; i++)
		for (size_t k = 0; k < 8; k++)
			free(g->strs[i][k]);
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void expect_same_rows(const struct store_event_row *want, const struct got *g, size_t n)
{
	cr_assert_eq(g->n, n);
	for (size_t i = 0; i < n; i++) {
		const struct store_event_row *a = &want[i], *b = &g->r[i];
		cr_expect(same_str(a->req_id, b->req_id), "row %zu req_id '%s' vs '%s'", i,
		          a->req_id, b->req_id);
		cr_expect_eq(a->ts, b->ts, "row %zu ts exact", i);
		cr_expect_eq(a->window_start, b->window_start);
		cr_expect_eq(a->has_latency, b->has_latency, "row %zu latency NULL or not", i);
		if (a->has_latency)
			cr_expect_eq(a->latency_ms, b->latency_ms, "row %zu latency exact", i);
		cr_expect_eq(a->error, b->error);
		cr_expect(
		    a->features_len == b->features_len &&
		        (!a->features || memcmp(a->features, b->features, a->features_len) == 0),
		    "row %zu features", i);
		cr_expect_eq(a->prediction.kind, b->prediction.kind, "row %zu prediction kind", i);
		if (a->prediction.kind == VALUE_NUMBER)
			cr_expect_eq(a->prediction.num, b->prediction.num);
		else
			cr_expect(same_str(a->prediction.str, b->prediction.str));
		cr_expect_eq(a->has_score, b->has_score);
		if (a->has_score)
			cr_expect_eq(a->score, b->score);
		cr_expect(same_str(a->scores_json, b->scores_json), "row %zu scores", i);
		cr_expect_eq(a->label.kind, b->label.kind, "row %zu label", i);
		if (a->label.kind == VALUE_STRING)
			cr_expect(same_str(a->label.str, b->label.str));
	}
}

/* Stores the rows, then a second set in which some repeat them (stored
 * ones, within and beyond the horizon) or repeat each other; returns the
 * duplicate flags of the second set in dup and checks the rows read back. */
static void bulk_on(const char *target, bool *dup, size_t *ndup)
{
	char err[512];
	struct store st;
	struct store_ingest *si;
	struct store_event_row r[NIDS], again[NIDS + 3];
	struct got g = {0};
	int64_t model;
	double t0 = 1.7e9 + 0.125;

	cr_assert_eq(store_open(&st, target, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s",
	             err);
	si = store_ingest_new(&st);
	cr_assert_not_null(si);
	cr_assert_eq(store_begin(&st), 0);
	cr_assert_eq(store_ingest_model(si, "m", t0, &model), 0, "%s", store_errmsg(&st));
	rows_make(r, model, t0);
	cr_assert_eq(store_ingest_events_insert(si, r, NIDS, NULL), 0, "%s", store_errmsg(&st));
	cr_assert_eq(store_commit(&st), 0);
	cr_assert_eq(store_ingest_events_after(si, 0, INT64_MAX, keep_event, &g), 0, "%s",
	             store_errmsg(&st));
	expect_same_rows(r, &g, NIDS);
	got_free(&g);

	/* every stored id again: within the horizon (10 s) duplicates, the
	 * one 100 s later not; three repeats within the set itself */
	rows_make(again, model, t0 + 1);
	again[4].ts = t0 + 100;
	again[NIDS] = again[0];     /* repeats a duplicate: still one */
	again[NIDS + 1] = again[4]; /* repeats a new row close in time */
	again[NIDS + 1].ts += 2;
	again[NIDS + 2] = again[4]; /* a new row's id, far from it: new */
	again[NIDS + 2].ts += 50;
	cr_assert_eq(store_begin(&st), 0);
	cr_assert_eq(store_ingest_events_dedupe(si, again, NIDS + 3, 10, NULL, dup), 0, "%s",
	             store_errmsg(&st));
	cr_assert_eq(store_commit(&st), 0);
	*ndup = NIDS + 3;
	store_ingest_free(si);
	store_close(&st);
}

Test(pg_ingest, bulk_copy_and_set_dedupe_agree_with_sqlite, .timeout = 90)
{
	struct pg_cluster pg = {0};
	char *dir = h_tmpdir("pg-ingest"), path[600];
	bool dpg[NIDS + 3], dsq[NIDS + 3];
	size_t npg, nsq;

	PG_CLUSTER_START_OR_SKIP(&pg);
	snprintf(path, sizeof(path), "%s/t.db", dir);
	bulk_on(pg.uri, dpg, &npg);
	bulk_on(path, dsq, &nsq);
	cr_assert_eq(npg, nsq);
	for (size_t i = 0; i < npg; i++) {
		bool want = i != 4 && i != NIDS + 2;
		cr_expect_eq(dsq[i], want, "SQLite row %zu duplicate %d", i, dsq[i]);
		cr_expect_eq(dpg[i], want, "PostgreSQL row %zu duplicate %d", i, dpg[i]);
	}
	pg_cluster_destroy(&pg);
	h_rmtree(dir);
	free(dir);
}

struct creator {
	const char *uri;
	int64_t id;
	int rc;
};

static void *create_model(void *arg)
{
	struct creator *c = arg;
	char err[512];
	struct store st;
	struct store_ingest *si;

	c->rc = -1;
	if (store_open(&st, c->uri, STORE_RW_CREATE, false, err, sizeof(err)))
		return NULL;
	si = store_ingest_new(&st);
	if (si && store_begin(&st) == 0) {
		c->rc = store_ingest_model(si, "shared", 1, &c->id);
		if (c->rc == 0 && store_commit(&st))
			c->rc = -1;
		if (c->rc)
			store_rollback(&st);
	}
	store_ingest_free(si);
	store_close(&st);
	return NULL;
}

Test(pg_ingest, model_ids_cached_while_models_unchanged_and_created_once, .timeout = 90)
{
	struct pg_cluster pg = {0};
	struct store st;
	struct store_ingest *si;
	char err[512], sql[256], why[256];
	int64_t a, b;
	long long n;

	PG_CLUSTER_START_OR_SKIP(&pg);
	cr_assert_eq(store_open(&st, pg.uri, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s",
	             err);
	si = store_ingest_new(&st);
	cr_assert_eq(store_begin(&st), 0);
	cr_assert_eq(store_ingest_sync(si), 0);
	cr_assert_eq(store_ingest_model(si, "m", 1, &a), 0, "%s", store_errmsg(&st));
	cr_assert_eq(store_commit(&st), 0);
	/* the print changed by our own insert: looked up once more */
	cr_assert_eq(store_begin(&st), 0);
	cr_assert_eq(store_ingest_sync(si), 0);
	cr_assert_eq(store_ingest_model(si, "m", 1, &b), 0);
	cr_assert_eq(store_commit(&st), 0);
	cr_assert_eq(b, a);

	/* Renamed behind the cache's back: count, max and sum of ids stay, so
	 * the next transaction trusts the cache and asks nothing (a lookup
	 * would not find "m" and would create it anew). */
	snprintf(sql, sizeof(sql), "UPDATE models SET name = 'renamed' WHERE id = %lld",
	         (long long)a);
	cr_assert_eq(pg_cluster_exec(&pg, NULL, sql, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(store_begin(&st), 0);
	cr_assert_eq(store_ingest_sync(si), 0);
	cr_assert_eq(store_ingest_model(si, "m", 1, &b), 0);
	cr_assert_eq(store_commit(&st), 0);
	cr_expect_eq(b, a, "served from the cache across transactions");

	/* `mlwatch models rm` (the row deleted) changes the print: the cache
	 * is dropped and "m" is created again under a new id. */
	snprintf(sql, sizeof(sql), "DELETE FROM models WHERE id = %lld", (long long)a);
	cr_assert_eq(pg_cluster_exec(&pg, NULL, sql, why, sizeof(why)), 0, "%s", why);
	cr_assert_eq(store_begin(&st), 0);
	cr_assert_eq(store_ingest_sync(si), 0);
	cr_assert_eq(store_ingest_model(si, "m", 1, &b), 0);
	cr_assert_eq(store_commit(&st), 0);
	cr_expect_neq(b, a, "a removed model's id is not reused from the cache");

	/* Two collectors creating one model at once: the second waits for
	 * the first's commit and reads its id instead of failing the batch
	 * on the unique name. */
	cr_assert_eq(store_begin(&st), 0);
	cr_assert_eq(store_ingest_model(si, "shared", 1, &a), 0);
	struct creator c = {.uri = pg.uri};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, create_model, &c), 0);
	/* until the other connection waits on our uncommitted row */
	double end = h_now() + 10;
	while (h_now() < end &&
	       (pg_cluster_query_ll(&pg, NULL,
	                            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type "
	                            "= 'Lock' AND datname = 'mlwatch'",
	                            &n, why, sizeof(why)) ||
	        n < 1))
		h_sleep(0.02);
	cr_assert_eq(n, 1, "the second creator waits on the first");
	cr_assert_eq(store_commit(&st), 0);
	pthread_join(t, NULL);
	cr_expect_eq(c.rc, 0, "the second creator did not fail");
	cr_expect_eq(c.id, a, "both have the one model's id");
	store_ingest_free(si);
	store_close(&st);
	pg_cluster_destroy(&pg);
}

Test(pg_ingest, db_bytes_is_the_database_size, .timeout = 90)
{
	struct pg_cluster pg = {0};
	struct cproc c;
	char *page;
	long st = 0;
	double v = NAN;

	PG_CLUSTER_START_OR_SKIP(&pg);
	cproc_init(&c, "pg-bytes");
	snprintf(c.db, sizeof(c.db), "%.500s", pg.uri);
	cr_assert_eq(cproc_start(&c, (const char *[]){NULL}), 0, "see %s", c.log);
	char url[128];
	snprintf(url, sizeof(url), "%smetrics", c.http);
	double end = h_now() + 10 * cproc_slow();
	do {
		page = http_get(url, &st);
		if (page)
			v = metrics_value(page, "mlwatch_collector_db_bytes");
		free(page);
		if (v > 0)
			break;
		h_sleep(0.05);
	} while (h_now() < end);
	/* an empty mlwatch schema is several MB in PostgreSQL (catalogs) */
	cr_expect_gt(v, 1e6, "mlwatch_collector_db_bytes = %g on PostgreSQL", v);
	cproc_stop(&c, SIGTERM);
	cproc_cleanup(&c);
	pg_cluster_destroy(&pg);
}
