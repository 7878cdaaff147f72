/* store_refcal: see store_refcal.h. */
#include "store_refcal.h"

#include <stdio.h>
#include <string.h>

#include "db.h"

/* Prepares sql on st's connection; the caller finalizes. */
static struct db_stmt *prepare(struct store *st, const char *sql)
{
	struct db_stmt *s = NULL;

	return db_prepare(st->db, sql, &s) == DB_OK ? s : NULL;
}

int store_refcal_put(struct store *st, int64_t model_id, const char *feature,
                     const struct calib_result *c, double created)
{
	struct db_stmt *s = prepare(
	    st, "INSERT INTO reference_threshold (model_id, feature, method, rate, n, n_pseudo, "
	        "n_rest, n_ref, stat, observed, boot, created) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	        "?8, ?9, ?10, ?11, ?12) ON CONFLICT (model_id, feature, method, rate, n) DO UPDATE "
	        "SET n_pseudo = excluded.n_pseudo, n_rest = excluded.n_rest, n_ref = "
	        "excluded.n_ref, stat = excluded.stat, observed = excluded.observed, boot = "
	        "excluded.boot, created = excluded.created");
	int rc = -1;

	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, feature, -1);
	db_bind_text(s, 3, drift_method_name(c->method), -1);
	db_bind_double(s, 4, c->rate);
	db_bind_int64(s, 5, (int64_t)c->n);
	db_bind_int64(s, 6, (int64_t)c->n_pseudo);
	db_bind_int64(s, 7, (int64_t)c->n_rest);
	db_bind_int64(s, 8, (int64_t)c->n_ref);
	db_bind_double(s, 9, c->stat);
	db_bind_double(s, 10, c->observed);
	db_bind_int64(s, 11, (int64_t)c->boot);
	db_bind_double(s, 12, created);
	if (db_step(s) == DB_DONE)
		rc = 0;
	db_finalize(s);
	return rc;
}

struct refcal_rows {
	int (*fn)(const char *feature, const struct calib_result *c, void *arg);
	void *arg;
};

/* One row: a method this build does not know (a newer writer) or sizes
 * out of range are skipped, not trusted. */
static int refcal_row(struct db_stmt *s, void *ctx)
{
	struct refcal_rows *r = ctx;
	const char *feature = (const char *)db_column_text(s, 0);
	const char *method = (const char *)db_column_text(s, 1);
	struct calib_result c = {0};
	int64_t n = db_column_int64(s, 3), np = db_column_int64(s, 4), nr = db_column_int64(s, 5),
	        nref = db_column_int64(s, 6), boot = db_column_int64(s, 9);

	if (!feature || !method || drift_method_parse(method, &c.method) != 0 ||
	    c.method == DRIFT_METHOD_DEFAULT || n < 2 || np < 1 || nr < 1 || nref < 4 || boot < 1 ||
	    boot > (int64_t)UINT32_MAX)
		return 0;
	c.rate = db_column_double(s, 2);
	c.n = (size_t)n;
	c.n_pseudo = (size_t)np;
	c.n_rest = (size_t)nr;
	c.n_ref = (uint64_t)nref;
	c.stat = db_column_double(s, 7);
	c.observed = db_column_double(s, 8);
	c.boot = (unsigned)boot;
	return r->fn(feature, &c, r->arg);
}

int store_refcal_each(struct store *st, int64_t model_id,
                      int (*fn)(const char *feature, const struct calib_result *c, void *arg),
                      void *arg)
{
	struct db_stmt *s = prepare(
	    st, "SELECT feature, method, rate, n, n_pseudo, n_rest, n_ref, stat, observed, boot "
	        "FROM reference_threshold WHERE model_id = ?1 ORDER BY feature, method, rate, n");
	int rc;

	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	rc = store_each_row(s, refcal_row, &(struct refcal_rows){fn, arg});
	db_finalize(s);
	return rc;
}

int store_refcal_clear(struct store *st, int64_t model_id)
{
	struct db_stmt *s = prepare(st, "DELETE FROM reference_threshold WHERE model_id = ?1");
	int rc = -1;

	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	if (db_step(s) == DB_DONE)
		rc = 0;
	db_finalize(s);
	return rc;
}

int store_refsrc_put(struct store *st, int64_t model_id, const struct store_refsrc *r)
{
	struct db_stmt *s = prepare(
	    st, "INSERT INTO reference_source (model_id, mode, span, built, slot, rows, parts, "
	        "missing_parts, missing) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
	        "ON CONFLICT (model_id) DO UPDATE SET mode = excluded.mode, span = excluded.span, "
	        "built = excluded.built, slot = excluded.slot, rows = excluded.rows, parts = "
	        "excluded.parts, missing_parts = excluded.missing_parts, missing = "
	        "excluded.missing");
	int rc = -1;

	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	db_bind_text(s, 2, r->mode, -1);
	db_bind_int64(s, 3, r->span);
	db_bind_double(s, 4, r->built);
	if (r->slot > 0)
		db_bind_double(s, 5, r->slot);
	else
		db_bind_null(s, 5);
	db_bind_int64(s, 6, (int64_t)r->rows);
	db_bind_int64(s, 7, r->parts);
	db_bind_int64(s, 8, r->missing_parts);
	if (r->missing)
		db_bind_text(s, 9, r->missing, -1);
	else
		db_bind_null(s, 9);
	if (db_step(s) == DB_DONE)
		rc = 0;
	db_finalize(s);
	return rc;
}

struct refsrc_row {
	struct store_refsrc *r;
	char *buf;
	size_t cap;
};

static int refsrc_row(struct db_stmt *s, void *ctx)
{
	struct refsrc_row *c = ctx;
	const char *mode = (const char *)db_column_text(s, 0);
	const char *missing = (const char *)db_column_text(s, 7);
	size_t ml = mode ? strlen(mode) : 0, xl = missing ? strlen(missing) : 0;

	memset(c->r, 0, sizeof(*c->r));
	if (!mode || ml + xl + 2 > c->cap)
		return -1; /* a row this build cannot hold: refused, not cut */
	memcpy(c->buf, mode, ml + 1);
	c->r->mode = c->buf;
	if (missing) {
		memcpy(c->buf + ml + 1, missing, xl + 1);
		c->r->missing = c->buf + ml + 1;
	}
	c->r->span = db_column_int64(s, 1);
	c->r->built = db_column_double(s, 2);
	c->r->slot = db_column_type(s, 3) == DB_NULL ? 0 : db_column_double(s, 3);
	c->r->rows = (uint64_t)db_column_int64(s, 4);
	c->r->parts = (uint32_t)db_column_int64(s, 5);
	c->r->missing_parts = (uint32_t)db_column_int64(s, 6);
	return 1;
}

int store_refsrc_get(struct store *st, int64_t model_id, struct store_refsrc *r, char *buf,
                     size_t cap)
{
	struct db_stmt *s = prepare(st, "SELECT mode, span, built, slot, rows, parts, "
	                                "missing_parts, missing FROM reference_source "
	                                "WHERE model_id = ?1");
	int rc;

	if (!s)
		return -1;
	db_bind_int64(s, 1, model_id);
	rc = store_each_row(s, refsrc_row, &(struct refsrc_row){r, buf, cap});
	db_finalize(s);
	return rc == 1 ? 0 : rc == 0 ? 1 : -1;
}
