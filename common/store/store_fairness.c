/* store_fairness: see store_fairness.h. */
#include "store_fairness.h"

#include <math.h>
#include <sqlite3.h>
#include <string.h>

int store_fairness_write(struct store *st, int64_t model_id, int64_t start,
                         const struct fairness_attr *attrs, size_t nattrs)
{
	sqlite3_stmt *del = NULL, *ins = NULL;
	int rc = -1;

	if (sqlite3_prepare_v2(st->db, "DELETE FROM fairness WHERE model_id = ?1 AND start = ?2",
	                       -1, &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db,
	                       "INSERT INTO fairness (model_id, start, attribute, grp, n, "
	                       "positives, labelled, correct, tp, fp, tn, fn) VALUES "
	                       "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	                       -1, &ins, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(del, 1, model_id);
	sqlite3_bind_int64(del, 2, start);
	if (sqlite3_step(del) != SQLITE_DONE)
		goto out;
	for (size_t a = 0; a < nattrs; a++) {
		for (size_t i = 0; i < attrs[a].n; i++) {
			const struct fairness_group *g = &attrs[a].g[i];
			sqlite3_reset(ins);
			sqlite3_bind_int64(ins, 1, model_id);
			sqlite3_bind_int64(ins, 2, start);
			sqlite3_bind_text(ins, 3, attrs[a].name, -1, SQLITE_STATIC);
			sqlite3_bind_text(ins, 4, g->name, -1, SQLITE_STATIC);
			sqlite3_bind_int64(ins, 5, (sqlite3_int64)g->n);
			sqlite3_bind_int64(ins, 6, (sqlite3_int64)g->positives);
			sqlite3_bind_int64(ins, 7, (sqlite3_int64)g->labelled);
			sqlite3_bind_int64(ins, 8, (sqlite3_int64)g->correct);
			sqlite3_bind_int64(ins, 9, (sqlite3_int64)g->tp);
			sqlite3_bind_int64(ins, 10, (sqlite3_int64)g->fp);
			sqlite3_bind_int64(ins, 11, (sqlite3_int64)g->tn);
			sqlite3_bind_int64(ins, 12, (sqlite3_int64)g->fn);
			if (sqlite3_step(ins) != SQLITE_DONE)
				goto out;
		}
	}
	rc = 0;
out:
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	return rc;
}

static void read_group(sqlite3_stmt *s, int col, struct fairness_group *g)
{
	const char *name = (const char *)sqlite3_column_text(s, col);
	size_t n = name ? strlen(name) : 0;

	memset(g, 0, sizeof(*g));
	if (n > FAIRNESS_NAME_MAX)
		n = FAIRNESS_NAME_MAX;
	if (name)
		memcpy(g->name, name, n);
	g->n = (uint64_t)sqlite3_column_int64(s, col + 1);
	g->positives = (uint64_t)sqlite3_column_int64(s, col + 2);
	g->labelled = (uint64_t)sqlite3_column_int64(s, col + 3);
	g->correct = (uint64_t)sqlite3_column_int64(s, col + 4);
	g->tp = (uint64_t)sqlite3_column_int64(s, col + 5);
	g->fp = (uint64_t)sqlite3_column_int64(s, col + 6);
	g->tn = (uint64_t)sqlite3_column_int64(s, col + 7);
	g->fn = (uint64_t)sqlite3_column_int64(s, col + 8);
}

static const char *col_text(sqlite3_stmt *s, int col)
{
	const char *t = (const char *)sqlite3_column_text(s, col);
	return t ? t : "";
}

int store_fairness_each(struct store *st, int64_t model_id, double from, double to,
                        int (*fn)(const struct store_fairness_window *w, void *arg), void *arg)
{
	sqlite3_stmt *s = NULL;
	struct fairness_attr cur;
	struct store_fairness_window w = {0, &cur};
	bool have = false;
	int rc = -1, step, stop = 0;

	fairness_attr_init(&cur, "");
	if (sqlite3_prepare_v2(st->db,
	                       "SELECT start, attribute, grp, n, positives, labelled, correct, tp, "
	                       "fp, tn, fn FROM fairness WHERE model_id = ?1 AND start >= ?2 AND "
	                       "start < ?3 ORDER BY start, attribute, grp",
	                       -1, &s, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(s, 1, model_id);
	sqlite3_bind_double(s, 2, from);
	sqlite3_bind_double(s, 3, to);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t start = sqlite3_column_int64(s, 0);
		const char *attr = col_text(s, 1);
		struct fairness_group g;
		if (have && (start != w.start || strncmp(attr, cur.name, FAIRNESS_NAME_MAX) != 0)) {
			if ((stop = fn(&w, arg)) != 0)
				goto done;
			have = false;
		}
		if (!have) {
			fairness_attr_fini(&cur);
			fairness_attr_init(&cur, attr);
			w.start = start;
			have = true;
		}
		read_group(s, 2, &g);
		if (fairness_add_counts(&cur, &g))
			goto out;
	}
	if (step != SQLITE_DONE)
		goto out;
	if (have && (stop = fn(&w, arg)) != 0)
		goto done;
	rc = 0;
	goto out;
done:
	rc = stop;
out:
	fairness_attr_fini(&cur);
	sqlite3_finalize(s);
	return rc;
}

int store_fairness_pooled(struct store *st, const char *model, const char *attribute, double from,
                          int (*fn)(const struct fairness_attr *pooled, int64_t newest, void *arg),
                          void *arg)
{
	sqlite3_stmt *s = NULL;
	struct fairness_attr cur;
	int64_t newest = 0;
	bool have = false;
	int rc = -1, step, stop = 0;

	fairness_attr_init(&cur, "");
	/* Sums per group over the range; the newest start per attribute. */
	if (sqlite3_prepare_v2(
	        st->db,
	        "SELECT f.attribute, f.grp, sum(f.n), sum(f.positives), sum(f.labelled), "
	        "sum(f.correct), sum(f.tp), sum(f.fp), sum(f.tn), sum(f.fn), max(f.start) "
	        "FROM fairness f JOIN models m ON m.id = f.model_id WHERE m.name = ?1 AND "
	        "f.start >= ?2 AND (?3 IS NULL OR f.attribute = ?3) GROUP BY f.attribute, f.grp "
	        "ORDER BY f.attribute, f.grp",
	        -1, &s, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(s, 1, model, -1, SQLITE_STATIC);
	sqlite3_bind_double(s, 2, from);
	if (attribute)
		sqlite3_bind_text(s, 3, attribute, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 3);
	while ((step = sqlite3_step(s)) == SQLITE_ROW) {
		const char *attr = col_text(s, 0);
		struct fairness_group g;
		if (have && strncmp(attr, cur.name, FAIRNESS_NAME_MAX) != 0) {
			if ((stop = fn(&cur, newest, arg)) != 0)
				goto done;
			have = false;
		}
		if (!have) {
			fairness_attr_fini(&cur);
			fairness_attr_init(&cur, attr);
			newest = 0;
			have = true;
		}
		read_group(s, 1, &g);
		if (sqlite3_column_int64(s, 10) > newest)
			newest = sqlite3_column_int64(s, 10);
		if (fairness_add_counts(&cur, &g))
			goto out;
	}
	if (step != SQLITE_DONE)
		goto out;
	if (have && (stop = fn(&cur, newest, arg)) != 0)
		goto done;
	rc = 0;
	goto out;
done:
	rc = stop;
out:
	fairness_attr_fini(&cur);
	sqlite3_finalize(s);
	return rc;
}
