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

/* The INSERT for the source's columns, in the source's order. */
static char *insert_sql(struct db_stmt *sel, const char *table)
{
	int n = db_column_count(sel);
	size_t cap = 256 + (size_t)n * 48;
	char *sql = malloc(cap);
	size_t k;

	if (!sql)
		return NULL;
	k = (size_t)snprintf(sql, cap, "INSERT INTO %s (", table);
	for (int i = 0; i < n && k < cap; i++)
		k += (size_t)snprintf(sql + k, cap - k, "%s\"%s\"", i ? ", " : "",
		                      db_column_name(sel, i));
	k += (size_t)snprintf(sql + k, k < cap ? cap - k : 0, ") VALUES (");
	for (int i = 0; i < n && k < cap; i++)
		k += (size_t)snprintf(sql + k, cap - k, "%s?%d", i ? ", " : "", i + 1);
	if (k < cap)
		snprintf(sql + k, cap - k, ") ON CONFLICT DO NOTHING");
	if (k >= cap) {
		free(sql);
		return NULL;
	}
	return sql;
}

static void bind_like(struct db_stmt *ins, struct db_stmt *sel, int i)
{
	switch (db_column_type(sel, i)) {
	case DB_INTEGER:
		db_bind_int64(ins, i + 1, db_column_int64(sel, i));
		break;
	case DB_FLOAT:
		db_bind_double(ins, i + 1, db_column_double(sel, i));
		break;
	case DB_TEXT:
		db_bind_text(ins, i + 1, (const char *)db_column_text(sel, i), -1);
		break;
	case DB_BLOB:
		db_bind_blob(ins, i + 1, db_column_blob(sel, i), db_column_bytes(sel, i));
		break;
	default:
		db_bind_null(ins, i + 1);
	}
}

static int copy_table(struct store *src, struct store *dst, const char *table,
                      store_copy_progress progress, void *arg, int64_t *rows, char *err,
                      size_t errlen)
{
	char sql[160];
	struct db_stmt *sel = NULL, *ins = NULL;
	char *isql = NULL;
	int64_t done = 0, total = count(src, table);
	int rc = -1, step;
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
		if (!ins) {
			if (!(isql = insert_sql(sel, table)) ||
			    db_prepare(dst->db, isql, &ins) != DB_OK) {
				snprintf(err, errlen, "%s: preparing the copy of %s: %s", dst->path,
				         table, isql ? store_errmsg(dst) : "out of memory");
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
		db_reset(ins);
		db_clear_bindings(ins);
		for (int i = 0; i < db_column_count(sel); i++)
			bind_like(ins, sel, i);
		if (db_step(ins) != DB_DONE) {
			snprintf(err, errlen, "%s: %s row %lld: %s", dst->path, table,
			         (long long)done + 1, store_errmsg(dst));
			goto out;
		}
		*rows += db_changes(dst->db);
		if (++done % STORE_COPY_CHUNK == 0) {
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
	db_finalize(sel);
	db_finalize(ins);
	free(isql);
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
