/* store_fairness: see store_fairness.h. */
#include "store_fairness.h"

#include <math.h>
#include "db.h"
#include <string.h>

int store_fairness_write(struct store *st, int64_t model_id, int64_t start,
                         const struct fairness_attr *attrs, size_t nattrs)
{
	struct db_stmt *del = NULL, *ins = NULL;
	int rc = -1;

	if (db_prepare(st->db, "DELETE FROM fairness WHERE model_id = ?1 AND start = ?2", &del) !=
	        DB_OK ||
	    db_prepare(st->db,
	               "INSERT INTO fairness (model_id, start, attribute, grp, n, "
	               "positives, labelled, correct, tp, fp, tn, fn) VALUES "
	               "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	               &ins) != DB_OK)
		goto out;
	db_bind_int64(del, 1, model_id);
	db_bind_int64(del, 2, start);
	if (db_step(del) != DB_DONE)
		goto out;
	for (size_t a = 0; a < nattrs; a++) {
		for (size_t i = 0; i < attrs[a].n; i++) {
			const struct fairness_group *g = &attrs[a].g[i];
			db_reset(ins);
			db_bind_int64(ins, 1, model_id);
			db_bind_int64(ins, 2, start);
			db_bind_text(ins, 3, attrs[a].name, -1);
			db_bind_text(ins, 4, g->name, -1);
			db_bind_int64(ins, 5, (int64_t)g->n);
			db_bind_int64(ins, 6, (int64_t)g->positives);
			db_bind_int64(ins, 7, (int64_t)g->labelled);
			db_bind_int64(ins, 8, (int64_t)g->correct);
			db_bind_int64(ins, 9, (int64_t)g->tp);
			db_bind_int64(ins, 10, (int64_t)g->fp);
			db_bind_int64(ins, 11, (int64_t)g->tn);
			db_bind_int64(ins, 12, (int64_t)g->fn);
			if (db_step(ins) != DB_DONE)
				goto out;
		}
	}
	rc = 0;
out:
	db_finalize(del);
	db_finalize(ins);
	return rc;
}

static void read_group(struct db_stmt *s, int col, struct fairness_group *g)
{
	const char *name = (const char *)db_column_text(s, col);
	size_t n = name ? strlen(name) : 0;

	memset(g, 0, sizeof(*g));
	if (n > FAIRNESS_NAME_MAX)
		n = FAIRNESS_NAME_MAX;
	if (name)
		memcpy(g->name, name, n);
	g->n = (uint64_t)db_column_int64(s, col + 1);
	g->positives = (uint64_t)db_column_int64(s, col + 2);
	g->labelled = (uint64_t)db_column_int64(s, col + 3);
	g->correct = (uint64_t)db_column_int64(s, col + 4);
	g->tp = (uint64_t)db_column_int64(s, col + 5);
	g->fp = (uint64_t)db_column_int64(s, col + 6);
	g->tn = (uint64_t)db_column_int64(s, col + 7);
	g->fn = (uint64_t)db_column_int64(s, col + 8);
}

static const char *col_text(struct db_stmt *s, int col)
{
	const char *t = (const char *)db_column_text(s, col);
	return t ? t : "";
}

int store_fairness_each(struct store *st, int64_t model_id, double from, double to,
                        int (*fn)(const struct store_fairness_window *w, void *arg), void *arg)
{
	struct db_stmt *s = NULL;
	struct fairness_attr cur;
	struct store_fairness_window w = {0, &cur};
	bool have = false;
	int rc = -1, step, stop = 0;

	fairness_attr_init(&cur, "");
	if (db_prepare(st->db,
	               "SELECT start, attribute, grp, n, positives, labelled, correct, tp, "
	               "fp, tn, fn FROM fairness WHERE model_id = ?1 AND start >= ?2 AND "
	               "start < ?3 ORDER BY start, attribute, grp",
	               &s) != DB_OK)
		goto out;
	db_bind_int64(s, 1, model_id);
	db_bind_double(s, 2, from);
	db_bind_double(s, 3, to);
	while ((step = db_step(s)) == DB_ROW) {
		int64_t start = db_column_int64(s, 0);
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
	if (step != DB_DONE)
		goto out;
	if (have && (stop = fn(&w, arg)) != 0)
		goto done;
	rc = 0;
	goto out;
done:
	rc = stop;
out:
	fairness_attr_fini(&cur);
	db_finalize(s);
	return rc;
}

int store_fairness_pooled(struct store *st, const char *model, const char *attribute, double from,
                          int (*fn)(const struct fairness_attr *pooled, int64_t newest, void *arg),
                          void *arg)
{
	struct db_stmt *s = NULL;
	struct fairness_attr cur;
	int64_t newest = 0;
	bool have = false;
	int rc = -1, step, stop = 0;

	fairness_attr_init(&cur, "");
	/* Sums per group over the range; the newest start per attribute. */
	if (db_prepare(
	        st->db,
	        "SELECT f.attribute, f.grp, sum(f.n), sum(f.positives), sum(f.labelled), "
	        "sum(f.correct), sum(f.tp), sum(f.fp), sum(f.tn), sum(f.fn), max(f.start) "
	        "FROM fairness f JOIN models m ON m.id = f.model_id WHERE m.name = ?1 AND "
	        "f.start >= ?2 AND (?3 IS NULL OR f.attribute = ?3) GROUP BY f.attribute, f.grp "
	        "ORDER BY f.attribute, f.grp",
	        &s) != DB_OK)
		goto out;
	db_bind_text(s, 1, model, -1);
	db_bind_double(s, 2, from);
	if (attribute)
		db_bind_text(s, 3, attribute, -1);
	else
		db_bind_null(s, 3);
	while ((step = db_step(s)) == DB_ROW) {
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
		if (db_column_int64(s, 10) > newest)
			newest = db_column_int64(s, 10);
		if (fairness_add_counts(&cur, &g))
			goto out;
	}
	if (step != DB_DONE)
		goto out;
	if (have && (stop = fn(&cur, newest, arg)) != 0)
		goto done;
	rc = 0;
	goto out;
done:
	rc = stop;
out:
	fairness_attr_fini(&cur);
	db_finalize(s);
	return rc;
}
