/* db: see db.h. The engine dispatch, the shared row loop and the URI
 * helpers; the engines are in db_sqlite.c and db_pg.c. */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool db_is_postgres(const char *target)
{
	if (!target)
		return false;
	if (!strncmp(target, "postgresql://", 13) || !strncmp(target, "postgres://", 11))
		return true;
	/* libpq's keyword form, e.g. "host=/tmp dbname=mlwatch" */
	return strstr(target, "dbname=") != NULL || !strncmp(target, "host=", 5);
}

/* "scheme://..." with an RFC 3986 scheme: a URI, whatever engine it names. */
static bool is_uri(const char *target)
{
	const char *p = target;

	if (!p || !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
		return false;
	while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
	       *p == '+' || *p == '-' || *p == '.')
		p++;
	return strncmp(p, "://", 3) == 0;
}

int db_check_target(const char *target, char *err, size_t errlen)
{
	char shown[1024];

	if (!target || !*target) {
		snprintf(err, errlen, "no database given (a file path or a postgresql:// URI)");
		return -1;
	}
	if (is_uri(target) && !db_is_postgres(target)) {
		/* a mistyped scheme would otherwise be taken for a file path */
		snprintf(err, errlen,
		         "%s: unknown database URI scheme '%.*s' (give a file path or a "
		         "postgresql:// URI)",
		         db_redact(target, shown, sizeof(shown)), (int)strcspn(target, ":"),
		         target);
		return -1;
	}
	return 0;
}

/* Copies target into buf with each password replaced by with ("***" to
 * show that one was there, "" to drop it: then also the ':' before it in a
 * URI's user info, and the whole password=... parameter). */
static char *hide_password(const char *target, char *buf, size_t cap, const char *with)
{
	const char *scheme, *at, *colon;
	char *p;
	size_t n, wl = strlen(with);

	if (!cap)
		return buf;
	snprintf(buf, cap, "%s", target ? target : "");
	/* any URI's user info (a mistyped scheme too), libpq's key=value form */
	if (!target || !(db_is_postgres(target) || is_uri(target)))
		return buf;
	/* URI: scheme://user:password@host... */
	scheme = strstr(target, "://");
	if (scheme) {
		scheme += 3;
		at = strchr(scheme, '@');
		colon = memchr(scheme, ':', at ? (size_t)(at - scheme) : 0);
		if (at && colon) {
			n = (size_t)(colon - target) + (wl ? 1 : 0);
			snprintf(buf, cap, "%.*s%s%s", (int)n, target, with, at);
		}
	}
	/* password=... as a query parameter or a keyword, wherever it stands:
	 * each occurrence once, scanning forward (an already hidden one is
	 * passed over, never looked at again) */
	for (p = buf; (p = strstr(p, "password=")) != NULL;) {
		char *v = p + 9;
		size_t len = strcspn(v, "& ");

		if (!wl) {
			/* drop "password=...", and one separator with it */
			char *end = v + len;
			if (*end == '&' || *end == ' ')
				end++;
			else if (p > buf && (p[-1] == '&' || p[-1] == '?' || p[-1] == ' '))
				p--;
			memmove(p, end, strlen(end) + 1);
			if (*p == '\0' && p > buf && p[-1] == '?')
				p[-1] = '\0';
			continue;
		}
		if (len != wl || strncmp(v, with, wl) != 0) {
			memmove(v + wl, v + len, strlen(v + len) + 1);
			memcpy(v, with, wl);
		}
		p = v + wl;
	}
	return buf;
}

char *db_redact(const char *target, char *buf, size_t cap)
{
	return hide_password(target, buf, cap, "***");
}

char *db_without_password(const char *target, char *buf, size_t cap)
{
	return hide_password(target, buf, cap, "");
}

int db_open(struct db **out, const char *target, enum db_open_mode mode, int busy_ms, char *err,
            size_t errlen)
{
	*out = NULL;
	if (db_is_postgres(target))
		return db_pg_open(out, target, mode, err, errlen);
	return db_sqlite_open(out, target, mode, busy_ms, err, errlen);
}

void db_close(struct db *db)
{
	if (db)
		db->ops->close(db);
}

enum db_engine db_engine(const struct db *db)
{
	return db->ops->engine;
}

const char *db_errmsg(struct db *db)
{
	return db ? db->ops->errmsg(db) : "database not open";
}

int db_exec(struct db *db, const char *sql)
{
	return db->ops->exec(db, sql);
}

int db_begin(struct db *db, bool write)
{
	return db->ops->begin(db, write);
}

int db_commit(struct db *db)
{
	return db->ops->commit(db);
}

int db_rollback(struct db *db)
{
	return db->ops->rollback(db);
}

int64_t db_changes(struct db *db)
{
	return db->ops->changes(db);
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
	*out = NULL;
	return db->ops->prepare(db, sql, out);
}

struct db_stmt *db_cached(struct db *db, struct db_stmt **slot, const char *sql)
{
	if (!*slot && db->ops->prepare(db, sql, slot) != DB_OK) {
		*slot = NULL;
		return NULL;
	}
	(*slot)->ops->reset(*slot);
	(*slot)->ops->clear_bindings(*slot);
	return *slot;
}

void db_finalize(struct db_stmt *s)
{
	if (s)
		s->ops->finalize(s);
}

void db_finalize_all(struct db_stmt **slots, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		db_finalize(slots[i]);
		slots[i] = NULL;
	}
}

int db_bind_int64(struct db_stmt *s, int i, int64_t v)
{
	return s->ops->bind_int64(s, i, v);
}

int db_bind_int(struct db_stmt *s, int i, int v)
{
	return s->ops->bind_int64(s, i, v);
}

int db_bind_double(struct db_stmt *s, int i, double v)
{
	return s->ops->bind_double(s, i, v);
}

int db_bind_text(struct db_stmt *s, int i, const char *v, int n)
{
	return s->ops->bind_text(s, i, v, n, false);
}

int db_bind_text_copy(struct db_stmt *s, int i, const char *v, int n)
{
	return s->ops->bind_text(s, i, v, n, true);
}

int db_bind_blob(struct db_stmt *s, int i, const void *v, int n)
{
	return s->ops->bind_blob(s, i, v, n);
}

int db_bind_null(struct db_stmt *s, int i)
{
	return s->ops->bind_null(s, i);
}

int db_param_count(struct db_stmt *s)
{
	return s->ops->param_count(s);
}

int db_step(struct db_stmt *s)
{
	return s->ops->step(s);
}

int db_reset(struct db_stmt *s)
{
	return s->ops->reset(s);
}

int db_clear_bindings(struct db_stmt *s)
{
	return s->ops->clear_bindings(s);
}

int db_column_count(struct db_stmt *s)
{
	return s->ops->column_count(s);
}

const char *db_column_name(struct db_stmt *s, int i)
{
	return s->ops->column_name(s, i);
}

int db_column_type(struct db_stmt *s, int i)
{
	return s->ops->column_type(s, i);
}

int64_t db_column_int64(struct db_stmt *s, int i)
{
	return s->ops->column_int64(s, i);
}

int db_column_int(struct db_stmt *s, int i)
{
	return (int)s->ops->column_int64(s, i);
}

double db_column_double(struct db_stmt *s, int i)
{
	return s->ops->column_double(s, i);
}

const unsigned char *db_column_text(struct db_stmt *s, int i)
{
	return s->ops->column_text(s, i);
}

const void *db_column_blob(struct db_stmt *s, int i)
{
	return s->ops->column_blob(s, i);
}

int db_column_bytes(struct db_stmt *s, int i)
{
	return s->ops->column_bytes(s, i);
}

int db_rows(struct db_stmt *s, db_row_fn fn, void *arg)
{
	int rc;

	while ((rc = db_step(s)) == DB_ROW) {
		int frc = fn(s, arg);
		if (frc) {
			rc = frc;
			break;
		}
	}
	if (rc == DB_DONE)
		rc = DB_OK;
	db_reset(s);
	return rc;
}

int db_insert_id(struct db_stmt *s, int64_t *id)
{
	int rc = db_step(s);

	if (rc == DB_ROW) {
		*id = db_column_int64(s, 0);
		rc = DB_OK;
	}
	db_reset(s);
	return rc;
}

/* ---- bulk load ------------------------------------------------------------- */

/* At most 2^(BULK_SIZES-1) rows per SQLite INSERT, and at most
 * BULK_MAX_PARAMS values (SQLite's historical SQLITE_MAX_VARIABLE_NUMBER:
 * any build accepts that many). */
enum { BULK_SIZES = 7, BULK_MAX_PARAMS = 999 };

/* One SQLite value held until its row's INSERT runs. */
struct bulk_val {
	int type; /* enum db_type */
	union {
		int64_t i;
		double d;
		struct {
			const void *p;
			size_t n;
		} b;
	} u;
};

struct db_bulk {
	struct db *db;
	int ncols, col; /* columns per row, the next one of the current row */
	int rc;         /* first failure since the last flush */
	int64_t rows;   /* rows since the last flush */
	/* PostgreSQL: the COPY statement and the binary data buffered */
	char *copy_sql;
	unsigned char *buf;
	size_t len, cap;
	/* SQLite: the rows held until one multi-row INSERT takes them (one
	 * statement run per `per` rows costs about a quarter less CPU per row
	 * than one per row, issue 18); ins[k] inserts 2^k rows, prepared at
	 * first use, so that a remainder goes in a few statements too */
	struct bulk_val *vals; /* per * ncols */
	int per, held;         /* rows per full INSERT (a power of 2), rows held */
	char *ins_head;        /* "INSERT INTO table (cols) VALUES " */
	struct db_stmt *ins[BULK_SIZES];
};

/* PostgreSQL's binary COPY header: signature, flags, header extension
 * length (https://www.postgresql.org/docs/current/sql-copy.html). */
static const unsigned char copy_header[19] = {'P', 'G', 'C', 'O', 'P', 'Y', '\n', 0xff, '\r', '\n',
                                              0,   0,   0,   0,   0,   0,   0,    0,    0};

/* The INSERT of 2^k rows, prepared at its first use; NULL on failure. */
static struct db_stmt *bulk_stmt(struct db_bulk *b, int k)
{
	size_t rows = (size_t)1 << k, head = strlen(b->ins_head), n, len;
	char *sql;

	if (b->ins[k])
		return b->ins[k];
	/* "(?, ?, ..., ?)" per row, a comma between rows */
	n = head + rows * (3 * (size_t)b->ncols + 2) + 1;
	sql = malloc(n);
	if (!sql)
		return NULL;
	memcpy(sql, b->ins_head, head);
	len = head;
	for (size_t r = 0; r < rows; r++) {
		if (r)
			sql[len++] = ',';
		sql[len++] = '(';
		for (int c = 0; c < b->ncols; c++) {
			if (c) {
				sql[len++] = ',';
				sql[len++] = ' ';
			}
			sql[len++] = '?';
		}
		sql[len++] = ')';
	}
	sql[len] = '\0';
	if (db_prepare(b->db, sql, &b->ins[k]) != DB_OK)
		b->ins[k] = NULL;
	free(sql);
	return b->ins[k];
}

int db_bulk_open(struct db *db, const char *table, const char *cols, int ncols,
                 struct db_bulk **out)
{
	struct db_bulk *b = calloc(1, sizeof(*b));
	size_t n = strlen(table) + strlen(cols) + 8 * (size_t)ncols + 64;
	char *sql = malloc(n);
	int rc = DB_NOMEM;

	*out = NULL;
	if (!b || !sql || ncols < 1 || ncols > 1600)
		goto fail;
	b->db = db;
	b->ncols = ncols;
	if (db->ops->copy_in) {
		snprintf(sql, n, "COPY %s (%s) FROM STDIN (FORMAT binary)", table, cols);
		b->copy_sql = sql;
		sql = NULL;
	} else {
		b->per = 1;
		while (b->per * 2 <= 1 << (BULK_SIZES - 1) && b->per * 2 * ncols <= BULK_MAX_PARAMS)
			b->per *= 2;
		b->vals = calloc((size_t)b->per * (size_t)ncols, sizeof(*b->vals));
		if (!b->vals)
			goto fail;
		snprintf(sql, n, "INSERT INTO %s (%s) VALUES ", table, cols);
		b->ins_head = sql;
		sql = NULL;
		/* prepared now: a wrong table or column fails here, as before */
		if (!bulk_stmt(b, 0)) {
			rc = DB_ERROR;
			goto fail;
		}
	}
	free(sql);
	*out = b;
	return DB_OK;
fail:
	free(sql);
	db_bulk_close(b);
	return rc;
}

void db_bulk_close(struct db_bulk *b)
{
	if (!b)
		return;
	for (int i = 0; i < BULK_SIZES; i++)
		db_finalize(b->ins[i]);
	free(b->vals);
	free(b->ins_head);
	free(b->copy_sql);
	free(b->buf);
	free(b);
}

/* Room for n more bytes in the COPY buffer (the header first). */
static unsigned char *bulk_room(struct db_bulk *b, size_t n)
{
	if (b->rc)
		return NULL;
	if (b->len == 0)
		n += sizeof(copy_header);
	if (b->len + n > b->cap) {
		size_t ncap = b->cap ? b->cap : 1 << 16;
		while (ncap < b->len + n)
			ncap *= 2;
		unsigned char *nb = realloc(b->buf, ncap);
		if (!nb) {
			b->rc = DB_NOMEM;
			return NULL;
		}
		b->buf = nb;
		b->cap = ncap;
	}
	if (b->len == 0) {
		memcpy(b->buf, copy_header, sizeof(copy_header));
		b->len = sizeof(copy_header);
	}
	return b->buf + b->len;
}

static void put_be(unsigned char *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
}

/* The next column of the row: its 1-based index, or 0 after a failure or
 * past the last column (recorded). On PostgreSQL the row's field count
 * goes in front of its first field. */
static int bulk_next(struct db_bulk *b)
{
	if (b->rc)
		return 0;
	if (b->col >= b->ncols) {
		b->rc = DB_ERROR;
		return 0;
	}
	if (b->copy_sql && b->col == 0) {
		unsigned char *p = bulk_room(b, 2);
		if (!p)
			return 0;
		put_be(p, (uint64_t)b->ncols, 2);
		b->len += 2;
	}
	return ++b->col;
}

/* A PostgreSQL field: its length (-1 for NULL) and bytes. */
static void bulk_field(struct db_bulk *b, const void *v, size_t n, bool null)
{
	unsigned char *p;

	if (n > 0x7fffffff) {
		b->rc = DB_ERROR;
		return;
	}
	p = bulk_room(b, 4 + (null ? 0 : n));
	if (!p)
		return;
	put_be(p, null ? 0xffffffffu : (uint64_t)n, 4);
	if (!null && n)
		memcpy(p + 4, v, n);
	b->len += 4 + (null ? 0 : n);
}

/* The SQLite value slot of column i (1-based) of the row being built. */
static struct bulk_val *bulk_slot(struct db_bulk *b, int i)
{
	return &b->vals[(size_t)b->held * (size_t)b->ncols + (size_t)(i - 1)];
}

void db_bulk_int64(struct db_bulk *b, int64_t v)
{
	int i = bulk_next(b);
	unsigned char be[8];

	if (!i)
		return;
	if (!b->copy_sql) {
		*bulk_slot(b, i) = (struct bulk_val){.type = DB_INTEGER, .u.i = v};
		return;
	}
	put_be(be, (uint64_t)v, 8);
	bulk_field(b, be, 8, false);
}

void db_bulk_double(struct db_bulk *b, double v)
{
	int i = bulk_next(b);
	unsigned char be[8];
	uint64_t bits;

	if (!i)
		return;
	if (!b->copy_sql) {
		*bulk_slot(b, i) = (struct bulk_val){.type = DB_FLOAT, .u.d = v};
		return;
	}
	memcpy(&bits, &v, sizeof(bits)); /* float8 travels as its IEEE 754 bits */
	put_be(be, bits, 8);
	bulk_field(b, be, 8, false);
}

void db_bulk_text(struct db_bulk *b, const char *v)
{
	int i = bulk_next(b);

	if (!i)
		return;
	if (!b->copy_sql)
		*bulk_slot(b, i) =
		    (struct bulk_val){.type = v ? DB_TEXT : DB_NULL, .u.b = {v, v ? strlen(v) : 0}};
	else
		bulk_field(b, v, v ? strlen(v) : 0, !v);
}

void db_bulk_blob(struct db_bulk *b, const void *v, size_t n)
{
	int i = bulk_next(b);

	if (!i)
		return;
	if (n > 0x7fffffff) {
		b->rc = DB_ERROR;
		return;
	}
	if (!b->copy_sql)
		*bulk_slot(b, i) = (struct bulk_val){.type = v ? DB_BLOB : DB_NULL, .u.b = {v, n}};
	else
		bulk_field(b, v, n, !v);
}

void db_bulk_null(struct db_bulk *b)
{
	int i = bulk_next(b);

	if (!i)
		return;
	if (!b->copy_sql)
		*bulk_slot(b, i) = (struct bulk_val){.type = DB_NULL};
	else
		bulk_field(b, NULL, 0, true);
}

/* Inserts the rows held (SQLite), the most per statement first. */
static int bulk_send(struct db_bulk *b)
{
	const struct bulk_val *v = b->vals;
	int left = b->held, rc = DB_OK, k = BULK_SIZES - 1;

	while (left > 0 && rc == DB_OK) {
		int rows;
		struct db_stmt *s;
		while (1 << k > left)
			k--;
		rows = 1 << k;
		s = bulk_stmt(b, k);
		if (!s) {
			rc = DB_ERROR;
			break;
		}
		for (int i = 1; i <= rows * b->ncols && rc == DB_OK; i++, v++) {
			switch (v->type) {
			case DB_INTEGER:
				rc = db_bind_int64(s, i, v->u.i);
				break;
			case DB_FLOAT:
				rc = db_bind_double(s, i, v->u.d);
				break;
			case DB_TEXT:
				rc = v->u.b.n > 0x7fffffff
				         ? DB_ERROR
				         : db_bind_text(s, i, v->u.b.p, (int)v->u.b.n);
				break;
			case DB_BLOB:
				rc = db_bind_blob(s, i, v->u.b.p, (int)v->u.b.n);
				break;
			default:
				rc = db_bind_null(s, i);
			}
		}
		if (rc == DB_OK && (rc = db_step(s)) == DB_DONE)
			rc = DB_OK;
		/* no clear_bindings: the next run binds every value again */
		db_reset(s);
		left -= rows;
	}
	b->held = 0;
	if (rc != DB_OK)
		b->rc = rc;
	return rc;
}

int db_bulk_row(struct db_bulk *b)
{
	if (!b->rc && b->col != b->ncols)
		b->rc = DB_ERROR; /* a column left out */
	b->col = 0;
	if (b->rc)
		return b->rc;
	b->rows++;
	if (!b->copy_sql && ++b->held == b->per)
		return bulk_send(b);
	return DB_OK;
}

int db_bulk_flush(struct db_bulk *b, int64_t *rows)
{
	int rc = b->rc;
	int64_t n = b->rows;
	unsigned char *p;

	if (!rc && !b->copy_sql && b->held > 0)
		rc = bulk_send(b);
	if (!rc && b->copy_sql && b->rows > 0) {
		/* the trailer: a field count of -1 */
		p = bulk_room(b, 2);
		if (p) {
			put_be(p, 0xffff, 2);
			b->len += 2;
			rc = b->db->ops->copy_in(b->db, b->copy_sql, b->buf, b->len, &n);
		} else {
			rc = b->rc;
		}
	}
	db_bulk_discard(b);
	if (rows)
		*rows = rc ? 0 : n;
	return rc;
}

void db_bulk_discard(struct db_bulk *b)
{
	b->len = 0;
	b->rows = 0;
	b->col = 0;
	b->rc = 0;
	b->held = 0;
}
