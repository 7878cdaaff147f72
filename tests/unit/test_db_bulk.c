/* db_bulk on SQLite: rows held and inserted by multi-row INSERTs of up to
 * 64 rows (fewer for wide rows), the remainder at db_bulk_flush (issue 18).
 * Every row must arrive once, in order, with each value of each type. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/harness.h"
#include "db.h"

static char *dir;
static struct db *db;

static void setup(void)
{
	char path[600], err[256];

	dir = h_tmpdir("db-bulk");
	snprintf(path, sizeof(path), "%s/t.db", dir);
	cr_assert_eq(db_open(&db, path, DB_OPEN_CREATE, 1000, err, sizeof(err)), DB_OK, "%s", err);
	cr_assert_eq(db_exec(db, "CREATE TABLE t (i INTEGER, d REAL, s TEXT, b BLOB, n TEXT)"),
	             DB_OK);
}

static void teardown(void)
{
	db_close(db);
	h_rmtree(dir);
	free(dir);
}

static int64_t count_rows(const char *sql)
{
	struct db_stmt *s = NULL;
	int64_t n = -1;

	cr_assert_eq(db_prepare(db, sql, &s), DB_OK, "%s", db_errmsg(db));
	if (db_step(s) == DB_ROW)
		n = db_column_int64(s, 0);
	db_finalize(s);
	return n;
}

struct check {
	long next; /* the row expected next */
	long base;
};

static int check_row(struct db_stmt *s, void *arg)
{
	struct check *c = arg;
	long i = c->base + c->next;
	char want[32];

	cr_assert_eq(db_column_int64(s, 0), i, "row %ld: i", c->next);
	cr_assert_eq(db_column_double(s, 1), (double)i / 4, "row %ld: d", c->next);
	snprintf(want, sizeof(want), "s%ld", i);
	cr_assert_str_eq((const char *)db_column_text(s, 2), want, "row %ld: s", c->next);
	cr_assert_eq(db_column_type(s, 3), i % 3 ? DB_BLOB : DB_NULL, "row %ld: b", c->next);
	if (i % 3) {
		cr_assert_eq(db_column_bytes(s, 3), 4);
		cr_assert_eq(memcmp(db_column_blob(s, 3), &(int32_t){(int32_t)i}, 4), 0);
	}
	cr_assert_eq(db_column_type(s, 4), DB_NULL);
	c->next++;
	return 0;
}

/* Sizes around the statement sizes: none, one, a remainder of each size,
 * exactly one full statement, and several. */
Test(db_bulk, every_row_once_in_order_at_every_count, .init = setup, .fini = teardown)
{
	static const long counts[] = {0, 1, 2, 3, 7, 31, 63, 64, 65, 127, 128, 129, 200, 1000};
	struct db_bulk *b = NULL;
	long base = 0;

	cr_assert_eq(db_bulk_open(db, "t", "i, d, s, b, n", 5, &b), DB_OK);
	for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
		long n = counts[k];
		char(*text)[32] = calloc((size_t)n + 1, sizeof(*text));
		int32_t *blob = calloc((size_t)n + 1, sizeof(*blob));
		int64_t rows = -1;
		struct db_stmt *s = NULL;
		struct check c = {0, base};

		cr_assert(text && blob);
		cr_assert_eq(db_begin(db, true), DB_OK);
		for (long j = 0; j < n; j++) {
			long i = base + j;
			/* each value its own buffer, valid until the flush */
			snprintf(text[j], sizeof(text[j]), "s%ld", i);
			blob[j] = (int32_t)i;
			db_bulk_int64(b, i);
			db_bulk_double(b, (double)i / 4);
			db_bulk_text(b, text[j]);
			if (i % 3)
				db_bulk_blob(b, &blob[j], sizeof(blob[j]));
			else
				db_bulk_null(b);
			db_bulk_text(b, NULL);
			cr_assert_eq(db_bulk_row(b), DB_OK, "row %ld: %s", j, db_errmsg(db));
		}
		cr_assert_eq(db_bulk_flush(b, &rows), DB_OK, "%s", db_errmsg(db));
		cr_assert_eq(rows, n);
		cr_assert_eq(db_commit(db), DB_OK);
		cr_assert_eq(
		    db_prepare(db, "SELECT i, d, s, b, n FROM t WHERE i >= ?1 ORDER BY rowid", &s),
		    DB_OK);
		db_bind_int64(s, 1, base);
		cr_assert_eq(db_rows(s, check_row, &c), DB_OK);
		db_finalize(s);
		cr_assert_eq(c.next, n, "%ld rows read back of %ld", c.next, n);
		base += n;
		free(text);
		free(blob);
	}
	cr_assert_eq(count_rows("SELECT count(*) FROM t"), base);
	db_bulk_close(b);
}

/* A row of 100 columns: at most 999 values per statement, so 8 rows per
 * INSERT; 21 rows take 8 + 8 + 4 + 1. */
Test(db_bulk, wide_rows_stay_under_the_value_limit, .init = setup, .fini = teardown)
{
	char cols[1200], ddl[1400];
	size_t k = 0;
	struct db_bulk *b = NULL;
	int64_t rows = 0;

	for (int c = 0; c < 100; c++)
		k += (size_t)snprintf(cols + k, sizeof(cols) - k, "%sc%d", c ? ", " : "", c);
	snprintf(ddl, sizeof(ddl), "CREATE TABLE w (%s)", cols);
	cr_assert_eq(db_exec(db, ddl), DB_OK);
	cr_assert_eq(db_bulk_open(db, "w", cols, 100, &b), DB_OK);
	cr_assert_eq(db_begin(db, true), DB_OK);
	for (int r = 0; r < 21; r++) {
		for (int c = 0; c < 100; c++)
			db_bulk_int64(b, r * 1000 + c);
		cr_assert_eq(db_bulk_row(b), DB_OK, "%s", db_errmsg(db));
	}
	cr_assert_eq(db_bulk_flush(b, &rows), DB_OK, "%s", db_errmsg(db));
	cr_assert_eq(db_commit(db), DB_OK);
	cr_assert_eq(rows, 21);
	cr_assert_eq(count_rows("SELECT count(*) FROM w"), 21);
	cr_assert_eq(count_rows("SELECT sum(c99) FROM w"), 21 * 99 + 1000 * (20 * 21 / 2));
	db_bulk_close(b);
}

/* A row short of a column is refused, and so is the flush after it;
 * discarding forgets the rows held, and the next ones go in. */
Test(db_bulk, a_short_row_fails_and_discard_forgets, .init = setup, .fini = teardown)
{
	struct db_bulk *b = NULL;

	cr_assert_eq(db_bulk_open(db, "t", "i, d, s, b, n", 5, &b), DB_OK);
	cr_assert_eq(db_begin(db, true), DB_OK);
	for (int j = 0; j < 3; j++) { /* held, not yet inserted */
		db_bulk_int64(b, j);
		db_bulk_double(b, 0);
		db_bulk_text(b, "x");
		db_bulk_null(b);
		db_bulk_null(b);
		cr_assert_eq(db_bulk_row(b), DB_OK);
	}
	db_bulk_int64(b, 9);
	cr_assert_neq(db_bulk_row(b), DB_OK, "a row of 1 value in 5 columns");
	cr_assert_neq(db_bulk_flush(b, NULL), DB_OK);
	cr_assert_eq(count_rows("SELECT count(*) FROM t"), 0, "nothing of the failed set");
	db_bulk_discard(b);
	for (int c = 0; c < 5; c++)
		db_bulk_int64(b, 7);
	cr_assert_eq(db_bulk_row(b), DB_OK);
	cr_assert_eq(db_bulk_flush(b, NULL), DB_OK);
	cr_assert_eq(db_commit(db), DB_OK);
	cr_assert_eq(count_rows("SELECT count(*) FROM t"), 1);
	db_bulk_close(b);
	cr_assert_neq(db_bulk_open(db, "nope", "i", 1, &b), DB_OK, "an unknown table");
	cr_assert_null(b);
}
