/* db: the engine-neutral statement API under every store module, so that
 * each query is written once and runs on SQLite (a file path, the default)
 * and on PostgreSQL (a postgresql:// URI). It owns the connection and its
 * prepared statements; it knows no table.
 *
 * The SQL dialect the store modules write (both backends accept it):
 *   - placeholders `?N` (numbered, may repeat) or `?`; the PostgreSQL
 *     backend rewrites them to `$N` when it prepares;
 *   - `INSERT ... ON CONFLICT (...) DO NOTHING / DO UPDATE SET x = excluded.x`;
 *   - `RETURNING id` instead of the last insert rowid;
 *   - no engine-specific functions in shared queries (write `coalesce`, not
 *     `ifnull`; `CASE`, not `iif`); a query that needs one asks db_engine().
 *
 * Use: a module keeps a cache of statements (struct db_stmt *slot[N], NULL
 * at first) and calls db_cached(db, &slot[i], sql) before each use: it
 * prepares once, then resets and clears the bindings. Bind (1-based),
 * db_step() until DB_DONE, read columns (0-based) while it returns DB_ROW.
 * Text and blobs bound with db_bind_text/db_bind_blob are not copied: the
 * caller keeps them valid until the statement is stepped to its end or
 * reset (db_bind_text_copy copies). Column text and blobs are valid until
 * the next step/reset. db_rows() runs a cached query and calls back per row;
 * the store modules' row loop is store_each_row (store.h), which keeps a
 * callback's stop value apart from the engine's codes.
 *
 * Threads: a connection and its statements belong to one thread at a time.
 * Failures: every call returns a DB_* code; db_errmsg() says why (the
 * PostgreSQL backend never puts a password in it). A unique violation is
 * DB_CONSTRAINT on both engines. */
#ifndef MLW_DB_H
#define MLW_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Result codes (the numbers are SQLite's, so its backend passes them on). */
enum db_rc {
	DB_OK = 0,
	DB_ERROR = 1,
	DB_BUSY = 5,
	DB_NOMEM = 7,
	DB_READONLY = 8,
	DB_CONSTRAINT = 19, /* unique / not-null violation: a dedupe hit */
	DB_ROW = 100,
	DB_DONE = 101,
};

/* Column types (SQLite's numbers). */
enum db_type { DB_INTEGER = 1, DB_FLOAT = 2, DB_TEXT = 3, DB_BLOB = 4, DB_NULL = 5 };

enum db_engine { DB_SQLITE = 1, DB_POSTGRES = 2 };

enum db_open_mode {
	DB_OPEN_CREATE, /* read-write, created if missing (SQLite) */
	DB_OPEN_RW,     /* read-write, must exist */
	DB_OPEN_RO,     /* read only */
};

struct db;
struct db_stmt;

/* True when target names a PostgreSQL database (postgresql:// or
 * postgres:// URI, or a libpq "key=value" string with dbname=/host=). */
bool db_is_postgres(const char *target);

/* 0 when target is a file path or a PostgreSQL target; -1 with a message in
 * err (the target redacted) for an empty one or a URI of another scheme
 * (e.g. a mistyped "postgresq://"), which would else be taken for a path. */
int db_check_target(const char *target, char *err, size_t errlen);

/* Copies target into buf with any password replaced by "***", for logs,
 * errors and /metrics. Paths are copied as they are. Returns buf. */
char *db_redact(const char *target, char *buf, size_t cap);
/* The same with each password removed, for a command line another program
 * runs (exec receivers' export command): libpq then takes the password from
 * PGPASSWORD or the password file (~/.pgpass, PGPASSFILE). Returns buf. */
char *db_without_password(const char *target, char *buf, size_t cap);

/* Opens target (a SQLite path or a PostgreSQL URI). busy_ms: how long a
 * SQLite writer waits on a lock. Returns DB_OK, or an error with the
 * reason in err (the target redacted); *out is NULL then. */
int db_open(struct db **out, const char *target, enum db_open_mode mode, int busy_ms, char *err,
            size_t errlen);
void db_close(struct db *db);
enum db_engine db_engine(const struct db *db);

/* The engine's message for the last failure on this connection. */
const char *db_errmsg(struct db *db);
/* Runs one or more statements without parameters or results (DDL). */
int db_exec(struct db *db, const char *sql);
/* Transactions: BEGIN IMMEDIATE for SQLite writers (write lock taken at
 * once, so no deadlock between two writers), BEGIN otherwise. */
int db_begin(struct db *db, bool write);
int db_commit(struct db *db);
int db_rollback(struct db *db);
/* Rows changed by the last INSERT/UPDATE/DELETE stepped to its end. */
int64_t db_changes(struct db *db);

/* Prepares sql (not cached: db_finalize it). */
int db_prepare(struct db *db, const char *sql, struct db_stmt **out);
/* Prepares sql once into *slot, then resets it and clears its bindings.
 * Returns the statement, or NULL (db_errmsg says why). */
struct db_stmt *db_cached(struct db *db, struct db_stmt **slot, const char *sql);
void db_finalize(struct db_stmt *s);
/* Finalizes n cached statements and sets them NULL. */
void db_finalize_all(struct db_stmt **slots, size_t n);

int db_bind_int64(struct db_stmt *s, int i, int64_t v);
int db_bind_int(struct db_stmt *s, int i, int v);
int db_bind_double(struct db_stmt *s, int i, double v);
int db_bind_text(struct db_stmt *s, int i, const char *v, int n); /* n < 0: to NUL */
int db_bind_text_copy(struct db_stmt *s, int i, const char *v, int n);
int db_bind_blob(struct db_stmt *s, int i, const void *v, int n);
int db_bind_null(struct db_stmt *s, int i);
int db_param_count(struct db_stmt *s);

/* DB_ROW (a row to read), DB_DONE, or an error code. */
int db_step(struct db_stmt *s);
int db_reset(struct db_stmt *s);
int db_clear_bindings(struct db_stmt *s);

int db_column_count(struct db_stmt *s);
const char *db_column_name(struct db_stmt *s, int i);
int db_column_type(struct db_stmt *s, int i); /* enum db_type */
int64_t db_column_int64(struct db_stmt *s, int i);
int db_column_int(struct db_stmt *s, int i);
double db_column_double(struct db_stmt *s, int i);
const unsigned char *db_column_text(struct db_stmt *s, int i); /* NULL for NULL */
const void *db_column_blob(struct db_stmt *s, int i);
int db_column_bytes(struct db_stmt *s, int i);

/* Steps s to its end, calling fn(s, arg) for each row; fn returns 0 to go
 * on or an error code to stop (returned). Returns DB_OK at the end, the
 * engine's code on failure. s is reset on return. The shared row loop. */
/* Steps an INSERT ... RETURNING <one integer column> once, stores that
 * column in *id and resets s. DB_OK or the failure's code. */
int db_insert_id(struct db_stmt *s, int64_t *id);

typedef int (*db_row_fn)(struct db_stmt *s, void *arg);
int db_rows(struct db_stmt *s, db_row_fn fn, void *arg);

/* ---- bulk load --------------------------------------------------------------
 * Appends many rows to one table inside the caller's transaction. On
 * PostgreSQL the rows are encoded in binary COPY format in memory and sent
 * by db_bulk_flush as one `COPY table (cols) FROM STDIN (FORMAT binary)`
 * (one round trip for all of them instead of one per row); on SQLite the
 * rows go by prepared multi-row INSERTs of up to 64 rows (fewer when a row
 * has more than 15 columns: at most 999 values per statement) as they
 * fill, db_bulk_flush inserts the rest.
 *
 * Use: db_bulk_open once per table (cols: "a, b, c", ncols of them); per
 * row one db_bulk_* value per column in order, then db_bulk_row; then
 * db_bulk_flush before anything reads the rows back. Value calls record
 * their failure (out of memory, a value past the last column); db_bulk_row
 * and db_bulk_flush return the first one. After a failure the transaction
 * is the caller's to roll back; db_bulk_discard forgets unsent rows. The
 * PostgreSQL types must match the columns exactly (BIGINT for int64,
 * DOUBLE PRECISION for double, TEXT, BYTEA for blobs): binary COPY does not
 * convert. Text and blobs need to stay valid until db_bulk_flush (SQLite
 * binds them without a copy when their statement runs); one thread per
 * db_bulk. */
struct db_bulk;
int db_bulk_open(struct db *db, const char *table, const char *cols, int ncols,
                 struct db_bulk **out);
void db_bulk_close(struct db_bulk *b);
void db_bulk_int64(struct db_bulk *b, int64_t v);
void db_bulk_double(struct db_bulk *b, double v);
void db_bulk_text(struct db_bulk *b, const char *v); /* NULL: SQL NULL */
void db_bulk_blob(struct db_bulk *b, const void *v, size_t n);
void db_bulk_null(struct db_bulk *b);
int db_bulk_row(struct db_bulk *b);
/* Sends the buffered rows; *rows (may be NULL) gets how many the engine
 * stored by this call (PostgreSQL) or since the last flush (SQLite). */
int db_bulk_flush(struct db_bulk *b, int64_t *rows);
void db_bulk_discard(struct db_bulk *b);

/* The backends (db_sqlite.c, db_pg.c) fill this table; db.c dispatches. */
struct db_ops {
	enum db_engine engine;
	void (*close)(struct db *);
	const char *(*errmsg)(struct db *);
	int (*exec)(struct db *, const char *);
	int (*begin)(struct db *, bool write);
	int (*commit)(struct db *);
	int (*rollback)(struct db *);
	int64_t (*changes)(struct db *);
	int (*prepare)(struct db *, const char *, struct db_stmt **);
	void (*finalize)(struct db_stmt *);
	int (*bind_int64)(struct db_stmt *, int, int64_t);
	int (*bind_double)(struct db_stmt *, int, double);
	int (*bind_text)(struct db_stmt *, int, const char *, int, bool copy);
	int (*bind_blob)(struct db_stmt *, int, const void *, int);
	int (*bind_null)(struct db_stmt *, int);
	int (*param_count)(struct db_stmt *);
	int (*step)(struct db_stmt *);
	int (*reset)(struct db_stmt *);
	int (*clear_bindings)(struct db_stmt *);
	int (*column_count)(struct db_stmt *);
	const char *(*column_name)(struct db_stmt *, int);
	int (*column_type)(struct db_stmt *, int);
	int64_t (*column_int64)(struct db_stmt *, int);
	double (*column_double)(struct db_stmt *, int);
	const unsigned char *(*column_text)(struct db_stmt *, int);
	const void *(*column_blob)(struct db_stmt *, int);
	int (*column_bytes)(struct db_stmt *, int);
	/* runs sql (a COPY ... FROM STDIN) and sends buf as its data; NULL
	 * on engines without COPY (db_bulk inserts row by row there) */
	int (*copy_in)(struct db *, const char *sql, const void *buf, size_t len, int64_t *rows);
};

/* Every backend's connection and statement start with these. */
struct db {
	const struct db_ops *ops;
};
struct db_stmt {
	const struct db_ops *ops;
};

int db_sqlite_open(struct db **out, const char *path, enum db_open_mode mode, int busy_ms,
                   char *err, size_t errlen);
int db_pg_open(struct db **out, const char *uri, enum db_open_mode mode, char *err, size_t errlen);
/* Whether the PostgreSQL server of uri answers at all (PQping: up and
 * accepting, whatever the credentials); false while it is down or
 * starting. */
bool db_pg_reachable(const char *uri);
/* The libpq connection (a PGconn *: the leader's fencing check runs on the
 * store's own connection, inside its transaction); NULL on other engines. */
void *db_pg_handle(struct db *db);
/* The SQLite handle (tests, the WAL checkpoint); NULL on other engines. */
struct sqlite3 *db_sqlite_handle(struct db *db);
int db_sqlite_checkpoint(struct db *db);

#endif
