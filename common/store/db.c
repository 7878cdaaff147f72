/* db: see db.h. The engine dispatch, the shared row loop and the URI
 * helpers; the engines are in db_sqlite.c and db_pg.c. */
#include "db.h"

#include <stdio.h>
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
