/* store_copy: see store_copy.h. */
#include "store_copy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parents before children is not needed (no foreign keys), but the order
 * keeps what a reader sees during the copy sensible. */
static const struct {
	const char *name;
	bool identity; /* an INTEGER PRIMARY KEY id: its sequence moves on PG */
} tables[] = {
    {"models", true},
    {"features", false},
    {"agents", false},
    {"batches_seen", false},
    {"events", true},
    {"pending_labels", false},
    {"windows", false},
    {"window_features", false},
    {"window_llm", false},
    {"drift", false},
    {"accuracy", false},
    {"fairness", false},
    {"reference", false},
    {"calibration", false},
    {"reference_threshold", false},
    {"reference_source", false},
    {"concept_state", false},
    {"concept_events", true},
    {"alerts", true},
    {"silences", true},
    {"outbox", true},
    {"meta", false},
    {"segment_reference", false},
    {"segment_drift", false},
    {"segment_windows", false},
    /* the tiers (issue 18): meta's tier_until promises them */
    {"tiers", false},
    {"tier_features", false},
    {"tier_samples", false},
    {"tier_fairness", false},
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

static int64_t count(struct store *st, const char *table)
{
	char sql[128];
	struct db_stmt *s = NULL;
	int64_t n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if (db_prepare(st->db, sql, &s) == DB_OK && db_step(s) == DB_ROW)
		n = db_column_int64(s, 0);
	db_finalize(s);
	return n;
}

/* Rows per INSERT statement: one statement (one round trip on PostgreSQL)
 * per row made `mlwatch migrate` of a day of 20 models take 216-394 s.
 * Bounded by the parameters a statement may carry (SQLite 32,766,
 * PostgreSQL 65,535). */
#define COPY_ROWS_MAX   100
#define COPY_PARAMS_MAX 32000

/* The INSERT of rows rows of the source's columns, in the source's order. */
static char *insert_sql(struct db_stmt *sel, const char *table, int rows)
{
	int n = db_column_count(sel);
	size_t cap = 256 + (size_t)n * 48 + (size_t)rows * (size_t)n * 8;
	char *sql = malloc(cap);
	size_t k;

	if (!sql)
		return NULL;
	k = (size_t)snprintf(sql, cap, "INSERT INTO %s (", table);
	for (int i = 0; i < n && k < cap; i++)
		k += (size_t)snprintf(sql + k, cap - k, "%s\"%s\"", i ? ", " : "",
		                      db_column_name(sel, i));
	k += (size_t)snprintf(sql + k, k < cap ? cap - k : 0, ") VALUES ");
	for (int r = 0; r < rows && k < cap; r++)
		for (int i = 0; i < n && k < cap; i++)
			k += (size_t)snprintf(sql + k, cap - k, "%s?%d%s",
			                      i ? ", " : (r ? ", (" : "("), r * n + i + 1,
			                      i == n - 1 ? ")" : "");
	if (k < cap)
		k += (size_t)snprintf(sql + k, cap - k, " ON CONFLICT DO NOTHING");
	if (k >= cap) {
		free(sql);
		return NULL;
	}
	return sql;
}

/* One source value held until its row's statement runs (the source's
 * column pointers last only until its next step). */
struct held {
	int type;
	int64_t i;
	double d;
	void *p; /* malloc'd text (NUL-terminated) or blob */
	int len;
};

static int hold(struct held *h, struct db_stmt *sel, int i)
{
	const void *src = NULL;

	h->type = db_column_type(sel, i);
	h->p = NULL;
	switch (h->type) {
	case DB_INTEGER:
		h->i = db_column_int64(sel, i);
		return 0;
	case DB_FLOAT:
		h->d = db_column_double(sel, i);
		return 0;
	case DB_TEXT:
		src = db_column_text(sel, i);
		break;
	case DB_BLOB:
		src = db_column_blob(sel, i);
		break;
	default:
		return 0;
	}
	h->len = db_column_bytes(sel, i);
	h->p = malloc((size_t)h->len + 1);
	if (!h->p)
		return -1;
	if (h->len)
		memcpy(h->p, src, (size_t)h->len);
	((char *)h->p)[h->len] = '\0';
	return 0;
}

static void bind_held(struct db_stmt *ins, int param, const struct held *h)
{
	switch (h->type) {
	case DB_INTEGER:
		db_bind_int64(ins, param, h->i);
		break;
	case DB_FLOAT:
		db_bind_double(ins, param, h->d);
		break;
	case DB_TEXT:
		db_bind_text(ins, param, h->p, h->len);
		break;
	case DB_BLOB:
		db_bind_blob(ins, param, h->p, h->len);
		break;
	default:
		db_bind_null(ins, param);
	}
}

static void release(struct held *v, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		free(v[k].p);
		v[k].p = NULL;
	}
}

/* Inserts the held rows (nrows of ncols) with the statement for that many
 * rows, prepared on first use into *ins (the full one) or for the rest. */
static int flush_rows(struct store *dst, struct db_stmt *sel, const char *table, struct held *v,
                      int nrows, int ncols, int full, struct db_stmt **ins, int64_t first,
                      int64_t *rows, char *err, size_t errlen)
{
	struct db_stmt *s = nrows == full ? *ins : NULL;
	char *isql = NULL;
	int rc = -1;

	if (!s) {
		if (!(isql = insert_sql(sel, table, nrows)) ||
		    db_prepare(dst->db, isql, &s) != DB_OK) {
			snprintf(err, errlen, "%s: preparing the copy of %s: %s", dst->path, table,
			         isql ? store_errmsg(dst) : "out of memory");
			s = NULL;
			goto out;
		}
		if (nrows == full)
			*ins = s;
	}
	db_reset(s);
	db_clear_bindings(s);
	for (int k = 0; k < nrows * ncols; k++)
		bind_held(s, k + 1, &v[k]);
	if (db_step(s) != DB_DONE) {
		snprintf(err, errlen, "%s: %s rows %lld-%lld: %s", dst->path, table,
		         (long long)first + 1, (long long)first + nrows, store_errmsg(dst));
		goto out;
	}
	*rows += db_changes(dst->db);
	rc = 0;
out:
	if (s != *ins)
		db_finalize(s);
	free(isql);
	release(v, (size_t)nrows * (size_t)ncols);
	return rc;
}

static int copy_table(struct store *src, struct store *dst, const char *table,
                      store_copy_progress progress, void *arg, int64_t *rows, char *err,
                      size_t errlen)
{
	char sql[160];
	struct db_stmt *sel = NULL, *ins = NULL;
	struct held *v = NULL;
	int64_t done = 0, total = count(src, table);
	int rc = -1, step, ncols = 0, full = 0, held_rows = 0;
	bool in_tx = false;

	/* meta's schema version is the target's own */
	snprintf(sql, sizeof(sql), "SELECT * FROM %s%s", table,
	         strcmp(table, "meta") ? ""
	                               : " WHERE key NOT IN ('schema_version', 'migrated_from')");
	if (db_prepare(src->db, sql, &sel) != DB_OK) {
		snprintf(err, errlen, "%s: reading %s: %s", src->path, table, store_errmsg(src));
		goto out;
	}
	while ((step = db_step(sel)) == DB_ROW) {
		if (!v) {
			ncols = db_column_count(sel);
			full = COPY_PARAMS_MAX / (ncols > 0 ? ncols : 1);
			if (full > COPY_ROWS_MAX)
				full = COPY_ROWS_MAX;
			if (full < 1)
				full = 1;
			v = calloc((size_t)full * (size_t)ncols, sizeof(*v));
			if (!v) {
				snprintf(err, errlen, "out of memory");
				goto out;
			}
		}
		if (!in_tx) {
			if (store_begin(dst)) {
				snprintf(err, errlen, "%s: %s", dst->path, store_errmsg(dst));
				goto out;
			}
			in_tx = true;
		}
		for (int i = 0; i < ncols; i++)
			if (hold(&v[held_rows * ncols + i], sel, i)) {
				release(v, (size_t)held_rows * (size_t)ncols + (size_t)i);
				held_rows = 0;
				snprintf(err, errlen, "out of memory");
				goto out;
			}
		held_rows++;
		done++;
		/* a statement when full, and at each chunk's end (its commit) */
		if (held_rows == full || done % STORE_COPY_CHUNK == 0) {
			int n = held_rows;
			held_rows = 0;
			if (flush_rows(dst, sel, table, v, n, ncols, full, &ins, done - n, rows,
			               err, errlen))
				goto out;
		}
		if (done % STORE_COPY_CHUNK == 0) {
			if (store_commit(dst)) {
				snprintf(err, errlen, "%s: %s", dst->path, store_errmsg(dst));
				goto out;
			}
			in_tx = false;
			if (progress)
				progress(table, done, total, arg);
		}
	}
	if (step != DB_DONE) {
		snprintf(err, errlen, "%s: reading %s: %s", src->path, table, store_errmsg(src));
		goto out;
	}
	if (held_rows) {
		int n = held_rows;
		held_rows = 0;
		if (flush_rows(dst, sel, table, v, n, ncols, full, &ins, done - n, rows, err,
		               errlen))
			goto out;
	}
	if (in_tx && store_commit(dst)) {
		snprintf(err, errlen, "%s: %s", dst->path, store_errmsg(dst));
		goto out;
	}
	in_tx = false;
	if (progress)
		progress(table, done, total, arg);
	rc = 0;
out:
	if (in_tx)
		store_rollback(dst);
	if (v)
		release(v, (size_t)held_rows * (size_t)ncols);
	free(v);
	db_finalize(sel);
	db_finalize(ins);
	return rc;
}

static bool has_rows(struct store *st)
{
	for (size_t t = 0; t < N_TABLES; t++)
		if (strcmp(tables[t].name, "meta") && count(st, tables[t].name) > 0)
			return true;
	return false;
}

int store_copy(struct store *src, struct store *dst, const char *src_name, bool force,
               store_copy_progress progress, void *arg, int64_t *rows, char *err, size_t errlen)
{
	char from[1024], shown[1024];
	char sql[256];

	*rows = 0;
	db_redact(src_name, shown, sizeof(shown));
	if (has_rows(dst)) {
		/* a copy from the same source that did not finish is resumed */
		bool resume = store_meta_get(dst, "migrated_from", from, sizeof(from)) == 0 &&
		              !strcmp(from, shown);
		if (!resume && !force)
			return 1;
		if (!resume || force) {
			for (size_t t = 0; t < N_TABLES; t++) {
				snprintf(sql, sizeof(sql), "DELETE FROM %s%s", tables[t].name,
				         strcmp(tables[t].name, "meta")
				             ? ""
				             : " WHERE key NOT IN ('schema_version')");
				if (store_exec(dst, sql)) {
					snprintf(err, errlen, "%s: emptying %s: %s", dst->path,
					         tables[t].name, store_errmsg(dst));
					return -1;
				}
			}
		}
	}
	if (store_meta_set(dst, "migrated_from", shown)) {
		snprintf(err, errlen, "%s: %s", dst->path, store_errmsg(dst));
		return -1;
	}
	for (size_t t = 0; t < N_TABLES; t++)
		if (copy_table(src, dst, tables[t].name, progress, arg, rows, err, errlen))
			return -1;
	if (store_is_postgres(dst))
		for (size_t t = 0; t < N_TABLES; t++) {
			if (!tables[t].identity)
				continue;
			snprintf(sql, sizeof(sql),
			         "SELECT setval(pg_get_serial_sequence('%s', 'id'), "
			         "coalesce((SELECT max(id) FROM %s), 0) + 1, false)",
			         tables[t].name, tables[t].name);
			if (store_exec(dst, sql)) {
				snprintf(err, errlen, "%s: moving the id sequence of %s: %s",
				         dst->path, tables[t].name, store_errmsg(dst));
				return -1;
			}
		}
	/* done: a later copy into it is a new one, refused without --force */
	if (store_exec(dst, "DELETE FROM meta WHERE key = 'migrated_from'")) {
		snprintf(err, errlen, "%s: %s", dst->path, store_errmsg(dst));
		return -1;
	}
	return 0;
}
