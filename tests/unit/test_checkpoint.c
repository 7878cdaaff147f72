/* checkpoint: WAL checkpoints on their own thread (issue 18). A writer
 * committing without pause, with a reader holding snapshots beside it, as
 * mlwatchd's writer and analysis do: the log is copied back by the thread,
 * stays bounded (the writer finishes a checkpoint at the cap), and nothing
 * committed is lost. */
#include <criterion/criterion.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../../collector/checkpoint.h"
#include "../lib/harness.h"
#include "db.h"
#include "store.h"

#define TXS  300
#define ROWS 500 /* rows per transaction, ~600 bytes each */
#define PAGE 4096

static long long file_size(const char *path)
{
	struct stat sb;

	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

static long long count_rows(const char *db)
{
	char err[256];
	struct store st;
	struct db_stmt *s;
	long long n = -1;

	cr_assert_eq(store_open(&st, db, STORE_RO, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(db_prepare(st.db, "SELECT count(*) FROM filler", &s), DB_OK);
	if (db_step(s) == DB_ROW)
		n = db_column_int64(s, 0);
	db_finalize(s);
	store_close(&st);
	return n;
}

Test(checkpoint, log_stays_bounded_under_steady_commits_and_nothing_is_lost, .timeout = 120)
{
	char *dir = h_tmpdir("checkpoint"), db[600], wal[620], err[256], pad[600];
	struct store w, r;
	struct checkpointer *cp = NULL;
	struct checkpoint_stats cs;
	struct db_stmt *ins, *rd;
	long long max_wal = 0;

	snprintf(db, sizeof(db), "%s/s.db", dir);
	snprintf(wal, sizeof(wal), "%s-wal", db);
	cr_assert_eq(store_open(&w, db, STORE_RW_CREATE, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(store_exec(&w, "CREATE TABLE filler (id INTEGER PRIMARY KEY, pad TEXT)"), 0);
	cr_assert_eq(checkpoint_start(&cp, db, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(checkpoint_attach(cp, &w), 0);
	cr_assert_eq(store_open(&r, db, STORE_RO, false, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(db_prepare(w.db, "INSERT INTO filler (pad) VALUES (?1)", &ins), DB_OK);
	cr_assert_eq(db_prepare(r.db, "SELECT max(id) FROM filler", &rd), DB_OK);
	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	for (int t = 0; t < TXS; t++) {
		cr_assert_eq(store_exec(&w, "BEGIN IMMEDIATE"), 0);
		for (int i = 0; i < ROWS; i++) {
			db_bind_text(ins, 1, pad, -1);
			cr_assert_eq(db_step(ins), DB_DONE);
			db_reset(ins);
		}
		cr_assert_eq(store_exec(&w, "COMMIT"), 0);
		/* a reader taking a snapshot between commits, as the analysis
		 * thread does */
		if (t % 3 == 0) {
			cr_assert_eq(db_step(rd), DB_ROW);
			db_reset(rd);
		}
		long long sz = file_size(wal);
		if (sz > max_wal)
			max_wal = sz;
	}
	db_finalize(rd);
	db_finalize(ins);
	checkpoint_stats(cp, &cs);
	printf(
	    "checkpoint: %d commits of %d rows: thread runs %llu, frames copied %llu, at the cap "
	    "%llu, largest log %lld frames, WAL file at most %.1f MiB\n",
	    TXS, ROWS, (unsigned long long)cs.runs, (unsigned long long)cs.frames,
	    (unsigned long long)cs.capped, (long long)cs.max_log, (double)max_wal / 1048576.0);
	cr_expect_gt(cs.runs, 0, "the thread never ran a checkpoint");
	cr_expect_gt(cs.frames, 0, "the thread copied nothing");
	cr_expect_eq(cs.errors, 0);
	/* ~90 MB were written: without the cap the log would hold all of it.
	 * Bound: the cap plus one transaction (~80 pages) and the frame
	 * headers, with room for the commit that crossed it. */
	cr_expect_lt(max_wal, (long long)(CHECKPOINT_CAP_FRAMES + 2000) * (PAGE + 24),
	             "WAL grew to %lld bytes", max_wal);
	cr_expect_lt(cs.max_log, CHECKPOINT_CAP_FRAMES + 2000);
	store_close(&r);
	checkpoint_stop(cp); /* as ingest_stop: after the last commit */
	store_close(&w);
	cr_expect_eq(count_rows(db), (long long)TXS * ROWS);
	h_rmtree(dir);
	free(dir);
}

Test(checkpoint, a_store_that_does_not_exist_is_refused)
{
	struct checkpointer *cp = (struct checkpointer *)1;
	char err[256] = "";

	cr_expect_eq(checkpoint_start(&cp, "/nonexistent/dir/s.db", err, sizeof(err)), -1);
	cr_expect_null(cp);
	cr_expect(strstr(err, "/nonexistent/dir/s.db") != NULL, "%s", err);
	checkpoint_stop(NULL);
}
