/* store_copy (`mlwatch migrate`): rows go over in multi-row statements
 * (100 rows each, the rest in a shorter one, a commit every
 * STORE_COPY_CHUNK rows). Every value comes over as it was (integers,
 * reals, text, blobs, NULLs), across chunk and statement boundaries, and a
 * copy cut short is finished by running it again, inserting only what is
 * missing. SQLite to SQLite here; test_store_pg and test_features_store
 * run the same code into PostgreSQL. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"
#include "db.h"
#include "store.h"
#include "store_copy.h"

/* crosses two chunk commits and ends with a statement of 37 rows */
#define N_EVENTS (2 * STORE_COPY_CHUNK + 137)

static void fill(struct store *st)
{
	struct db_stmt *s;
	uint8_t blob[40];

	cr_assert_eq(store_exec(st, "INSERT INTO models (name, created) VALUES ('fraud', 1.5), "
	                            "('churn', 2.25)"),
	             0);
	cr_assert_eq(db_prepare(st->db,
	                        "INSERT INTO events (model_id, req_id, ts, window_start, "
	                        "latency_ms, error, version, features_bin, pred_str, score) "
	                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	                        &s),
	             DB_OK);
	cr_assert_eq(store_begin(st), 0);
	for (int i = 0; i < N_EVENTS; i++) {
		char id[32], pred[32];
		snprintf(id, sizeof(id), "r-%d", i);
		snprintf(pred, sizeof(pred), "class-%d", i % 7);
		for (size_t k = 0; k < sizeof(blob); k++)
			blob[k] = (uint8_t)(i * 31 + (int)k); /* zero bytes included */
		db_reset(s);
		db_clear_bindings(s);
		db_bind_int64(s, 1, 1 + i % 2);
		if (i % 5)
			db_bind_text(s, 2, id, -1); /* every fifth: no request id (NULL) */
		db_bind_double(s, 3, 1700000000.0 + i * 0.001);
		db_bind_int64(s, 4, 1700000000 + i / 60 * 60);
		if (i % 3)
			db_bind_double(s, 5, 0.1 * i);
		db_bind_int(s, 6, i % 11 == 0);
		db_bind_text(s, 7, "v1", -1);
		db_bind_blob(s, 8, blob, (int)(i % 4 ? sizeof(blob) : 0));
		db_bind_text(s, 9, pred, -1);
		db_bind_double(s, 10, (double)(i % 100) / 100.0);
		cr_assert_eq(db_step(s), DB_DONE);
	}
	cr_assert_eq(store_commit(st), 0);
	db_finalize(s);
}

/* Every row of events and models, value by value, equal in both stores. */
static void expect_same(struct store *a, struct store *b)
{
	static const char *const sql[] = {"SELECT * FROM events ORDER BY id",
	                                  "SELECT * FROM models ORDER BY id"};

	for (size_t q = 0; q < 2; q++) {
		struct db_stmt *x, *y;
		long rows = 0;
		int sx, sy;

		cr_assert_eq(db_prepare(a->db, sql[q], &x), DB_OK);
		cr_assert_eq(db_prepare(b->db, sql[q], &y), DB_OK);
		while ((sx = db_step(x)) == DB_ROW) {
			sy = db_step(y);
			cr_assert_eq(sy, DB_ROW, "%s: the copy ends after %ld rows", sql[q], rows);
			cr_assert_eq(db_column_count(x), db_column_count(y));
			for (int i = 0; i < db_column_count(x); i++) {
				int t = db_column_type(x, i);
				cr_assert_eq(db_column_type(y, i), t, "%s row %ld column %s",
				             sql[q], rows, db_column_name(x, i));
				if (t == DB_INTEGER)
					cr_assert_eq(db_column_int64(x, i), db_column_int64(y, i));
				else if (t == DB_FLOAT)
					cr_assert_eq(db_column_double(x, i),
					             db_column_double(y, i));
				else if (t == DB_TEXT || t == DB_BLOB) {
					int n = db_column_bytes(x, i);
					cr_assert_eq(db_column_bytes(y, i), n,
					             "%s row %ld column %s", sql[q], rows,
					             db_column_name(x, i));
					if (n)
						cr_assert_eq(
						    memcmp(t == DB_TEXT
						               ? (const void *)db_column_text(x, i)
						               : db_column_blob(x, i),
						           t == DB_TEXT
						               ? (const void *)db_column_text(y, i)
						               : db_column_blob(y, i),
						           (size_t)n),
						    0, "%s row %ld column %s", sql[q], rows,
						    db_column_name(x, i));
				}
			}
			rows++;
		}
		cr_assert_eq(sx, DB_DONE);
		cr_assert_eq(db_step(y), DB_DONE, "%s: the copy has more rows than %ld", sql[q],
		             rows);
		db_finalize(x);
		db_finalize(y);
	}
}

Test(store_copy, every_value_crosses_statement_and_chunk_bounds_and_a_cut_copy_resumes,
     .timeout = 120)
{
	char *dir = h_tmpdir("store-copy"), sp[600], dp[600], err[512];
	struct store src, dst;
	int64_t rows = 0;

	snprintf(sp, sizeof(sp), "%s/src.db", dir);
	snprintf(dp, sizeof(dp), "%s/dst.db", dir);
	cr_assert_eq(store_open(&src, sp, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_open(&dst, dp, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	fill(&src);
	cr_assert_eq(store_copy(&src, &dst, sp, false, NULL, NULL, &rows, err, sizeof(err)), 0,
	             "%s", err);
	cr_expect_geq(rows, N_EVENTS + 2);
	expect_same(&src, &dst);

	/* cut short: the last 1,000 events and the end mark are missing; a
	 * second run from the same source inserts exactly those */
	cr_assert_eq(store_exec(&dst, "DELETE FROM events WHERE id > (SELECT max(id) - 1000 FROM "
	                              "events)"),
	             0);
	cr_assert_eq(store_meta_set(&dst, "migrated_from", sp), 0);
	int64_t before = rows;
	rows = 0;
	cr_assert_eq(store_copy(&src, &dst, sp, false, NULL, NULL, &rows, err, sizeof(err)), 0,
	             "%s", err);
	cr_expect_eq(rows, 1000, "resumed copy inserted %lld rows (first copy %lld)",
	             (long long)rows, (long long)before);
	expect_same(&src, &dst);

	/* another source into a store that holds data: refused without force */
	rows = 0;
	cr_expect_eq(
	    store_copy(&src, &dst, "/elsewhere.db", false, NULL, NULL, &rows, err, sizeof(err)), 1);
	store_close(&src);
	store_close(&dst);
	h_rmtree(dir);
	free(dir);
}
