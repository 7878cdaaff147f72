/* db_sqlite: the SQLite backend of db.h, a 1:1 mapping onto sqlite3_*.
 * Statements are prepared with SQLITE_PREPARE_PERSISTENT (they live in a
 * module's cache for the process's life). Result codes and column types
 * share SQLite's numbers, so they pass through (extended codes are
 * reduced to the primary code). */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

struct db_sq {
	struct db base;
	sqlite3 *h;
	bool ro;
};

struct db_sq_stmt {
	struct db_stmt base;
	sqlite3_stmt *s;
};

#define H(db) (((struct db_sq *)(db))->h)
#define S(st) (((struct db_sq_stmt *)(st))->s)

static int code(int rc)
{
	return rc & 0xff;
}

static void sq_close(struct db *db)
{
	sqlite3_close_v2(H(db));
	free(db);
}

static const char *sq_errmsg(struct db *db)
{
	return sqlite3_errmsg(H(db));
}

static int sq_exec(struct db *db, const char *sql)
{
	return code(sqlite3_exec(H(db), sql, NULL, NULL, NULL));
}

static int sq_begin(struct db *db, bool write)
{
	return sq_exec(db, write ? "BEGIN IMMEDIATE" : "BEGIN");
}

static int sq_commit(struct db *db)
{
	return sq_exec(db, "COMMIT");
}

static int sq_rollback(struct db *db)
{
	return sq_exec(db, "ROLLBACK");
}

static int64_t sq_changes(struct db *db)
{
	return sqlite3_changes64(H(db));
}

static const struct db_ops sq_ops;

static int sq_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	struct db_sq_stmt *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return DB_NOMEM;
	rc = sqlite3_prepare_v3(H(db), sql, -1, SQLITE_PREPARE_PERSISTENT, &st->s, NULL);
	if (rc != SQLITE_OK || !st->s) {
		sqlite3_finalize(st->s);
		free(st);
		return rc != SQLITE_OK ? code(rc) : DB_ERROR;
	}
	st->base.ops = &sq_ops;
	*out = &st->base;
	return DB_OK;
}

static void sq_finalize(struct db_stmt *s)
{
	sqlite3_finalize(S(s));
	free(s);
}

static int sq_bind_int64(struct db_stmt *s, int i, int64_t v)
{
	return sqlite3_bind_int64(S(s), i, v);
}

static int sq_bind_double(struct db_stmt *s, int i, double v)
{
	return sqlite3_bind_double(S(s), i, v);
}

static int sq_bind_text(struct db_stmt *s, int i, const char *v, int n, bool copy)
{
	return sqlite3_bind_text(S(s), i, v, n, copy ? SQLITE_TRANSIENT : SQLITE_STATIC);
}

static int sq_bind_blob(struct db_stmt *s, int i, const void *v, int n)
{
	return sqlite3_bind_blob(S(s), i, v, n, SQLITE_STATIC);
}

static int sq_bind_null(struct db_stmt *s, int i)
{
	return sqlite3_bind_null(S(s), i);
}

static int sq_param_count(struct db_stmt *s)
{
	return sqlite3_bind_parameter_count(S(s));
}

static int sq_step(struct db_stmt *s)
{
	return code(sqlite3_step(S(s)));
}

static int sq_reset(struct db_stmt *s)
{
	return code(sqlite3_reset(S(s)));
}

static int sq_clear(struct db_stmt *s)
{
	return sqlite3_clear_bindings(S(s));
}

static int sq_ncol(struct db_stmt *s)
{
	return sqlite3_column_count(S(s));
}

static const char *sq_colname(struct db_stmt *s, int i)
{
	return sqlite3_column_name(S(s), i);
}

static int sq_coltype(struct db_stmt *s, int i)
{
	return sqlite3_column_type(S(s), i);
}

static int64_t sq_int64(struct db_stmt *s, int i)
{
	return sqlite3_column_int64(S(s), i);
}

static double sq_double(struct db_stmt *s, int i)
{
	return sqlite3_column_double(S(s), i);
}

static const unsigned char *sq_text(struct db_stmt *s, int i)
{
	return sqlite3_column_text(S(s), i);
}

static const void *sq_blob(struct db_stmt *s, int i)
{
	return sqlite3_column_blob(S(s), i);
}

static int sq_bytes(struct db_stmt *s, int i)
{
	return sqlite3_column_bytes(S(s), i);
}

static const struct db_ops sq_ops = {
    .engine = DB_SQLITE,
    .close = sq_close,
    .errmsg = sq_errmsg,
    .exec = sq_exec,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .changes = sq_changes,
    .prepare = sq_prepare,
    .finalize = sq_finalize,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .param_count = sq_param_count,
    .step = sq_step,
    .reset = sq_reset,
    .clear_bindings = sq_clear,
    .column_count = sq_ncol,
    .column_name = sq_colname,
    .column_type = sq_coltype,
    .column_int64 = sq_int64,
    .column_double = sq_double,
    .column_text = sq_text,
    .column_blob = sq_blob,
    .column_bytes = sq_bytes,
};

int db_sqlite_open(struct db **out, const char *path, enum db_open_mode mode, int busy_ms,
                   char *err, size_t errlen)
{
	struct db_sq *d;
	int flags = SQLITE_OPEN_NOMUTEX, rc;

	*out = NULL;
	flags |= mode == DB_OPEN_RO ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
	if (mode == DB_OPEN_CREATE)
		flags |= SQLITE_OPEN_CREATE;
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return DB_NOMEM;
	}
	d->base.ops = &sq_ops;
	d->ro = mode == DB_OPEN_RO;
	rc = sqlite3_open_v2(path, &d->h, flags, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		         d->h ? sqlite3_errmsg(d->h) : sqlite3_errstr(rc));
		sqlite3_close_v2(d->h);
		free(d);
		return code(rc);
	}
	sqlite3_busy_timeout(d->h, busy_ms);
	*out = &d->base;
	return DB_OK;
}

sqlite3 *db_sqlite_handle(struct db *db)
{
	return db && db->ops == &sq_ops ? H(db) : NULL;
}

int db_sqlite_checkpoint(struct db *db)
{
	if (!db_sqlite_handle(db))
		return DB_OK;
	return code(sqlite3_wal_checkpoint_v2(H(db), NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL));
}
