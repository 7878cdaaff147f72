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

/* Rows come ordered by a key (window and attribute, or attribute alone),
 * one group per row: the groups of one key are summed into cur (a run),
 * which emit hands to the caller once the key changes and after the last
 * row. A query's context starts with a struct runs. */
struct runs {
	struct fairness_attr cur;
	bool have;
	int (*emit)(struct runs *r);
};

/* Adds row s (attribute attr, its group from column gcol) to the current
 * run; same: the row has the run's key, else the run is handed on first and
 * a new one starts (*fresh set, for the query's own per-run fields).
 * Returns 0, the caller's stop value, or -1 (out of memory). */
static int runs_add(struct runs *r, struct db_stmt *s, bool same, const char *attr, int gcol,
                    bool *fresh)
{
	struct fairness_group g;
	int stop;

	*fresh = false;
	if (r->have && !same) {
		if ((stop = r->emit(r)) != 0)
			return stop;
		r->have = false;
	}
	if (!r->have) {
		fairness_attr_fini(&r->cur);
		fairness_attr_init(&r->cur, attr);
		r->have = true;
		*fresh = true;
	}
	read_group(s, gcol, &g);
	return fairness_add_counts(&r->cur, &g) ? -1 : 0;
}

/* Runs the bound statement s through row, hands on the last run, and
 * finalizes s. Returns 0, the caller's stop value, or -1. */
static int runs_walk(struct runs *r, struct db_stmt *s, db_row_fn row)
{
	int rc = store_each_row(s, row, r);

	if (rc == 0 && r->have)
		rc = r->emit(r);
	db_finalize(s);
	return rc;
}

struct window_runs {
	struct runs r; /* first: row and emit get the whole context from it */
	struct store_fairness_window w;
	int (*fn)(const struct store_fairness_window *w, void *arg);
	void *arg;
};

static int window_emit(struct runs *r)
{
	struct window_runs *c = (struct window_runs *)r;

	return c->fn(&c->w, c->arg);
}

static int window_row(struct db_stmt *s, void *ctx)
{
	struct window_runs *c = ctx;
	int64_t start = db_column_int64(s, 0);
	const char *attr = col_text(s, 1);
	bool fresh;
	int rc;

	rc = runs_add(&c->r, s,
	              start == c->w.start && strncmp(attr, c->r.cur.name, FAIRNESS_NAME_MAX) == 0,
	              attr, 2, &fresh);
	if (fresh)
		c->w.start = start;
	return rc;
}

int store_fairness_each(struct store *st, int64_t model_id, double from, double to,
                        int (*fn)(const struct store_fairness_window *w, void *arg), void *arg)
{
	struct db_stmt *s = NULL;
	struct window_runs c = {.r.emit = window_emit, .fn = fn, .arg = arg};
	int rc = -1;

	c.w.attr = &c.r.cur;
	fairness_attr_init(&c.r.cur, "");
	if (db_prepare(st->db,
	               "SELECT start, attribute, grp, n, positives, labelled, correct, tp, "
	               "fp, tn, fn FROM fairness WHERE model_id = ?1 AND start >= ?2 AND "
	               "start < ?3 ORDER BY start, attribute, grp",
	               &s) != DB_OK)
		goto out;
	db_bind_int64(s, 1, model_id);
	db_bind_int64(s, 2, store_time_ceil(from)); /* start >= ?2, an integer */
	db_bind_int64(s, 3, store_time_ceil(to));   /* start < ?3 */
	rc = runs_walk(&c.r, s, window_row);
	s = NULL;
out:
	fairness_attr_fini(&c.r.cur);
	db_finalize(s);
	return rc;
}

struct pooled_runs {
	struct runs r;  /* first: row and emit get the whole context from it */
	int64_t newest; /* the newest window start of the run */
	int (*fn)(const struct fairness_attr *pooled, int64_t newest, void *arg);
	void *arg;
};

static int pooled_emit(struct runs *r)
{
	struct pooled_runs *c = (struct pooled_runs *)r;

	return c->fn(&c->r.cur, c->newest, c->arg);
}

static int pooled_row(struct db_stmt *s, void *ctx)
{
	struct pooled_runs *c = ctx;
	const char *attr = col_text(s, 0);
	bool fresh;
	int rc;

	rc = runs_add(&c->r, s, strncmp(attr, c->r.cur.name, FAIRNESS_NAME_MAX) == 0, attr, 1,
	              &fresh);
	if (fresh)
		c->newest = 0;
	if (rc == 0 && db_column_int64(s, 10) > c->newest)
		c->newest = db_column_int64(s, 10);
	return rc;
}

int store_fairness_pooled(struct store *st, const char *model, const char *attribute, double from,
                          int (*fn)(const struct fairness_attr *pooled, int64_t newest, void *arg),
                          void *arg)
{
	struct db_stmt *s = NULL;
	struct pooled_runs c = {.r.emit = pooled_emit, .fn = fn, .arg = arg};
	int rc = -1;

	fairness_attr_init(&c.r.cur, "");
	/* Sums per group over the range; the newest start per attribute. The
	 * CAST types ?3 for PostgreSQL, which cannot infer the type of a NULL
	 * parameter from "?3 IS NULL" and refused the statement. */
	if (db_prepare(st->db,
	               "SELECT f.attribute, f.grp, sum(f.n), sum(f.positives), sum(f.labelled), "
	               "sum(f.correct), sum(f.tp), sum(f.fp), sum(f.tn), sum(f.fn), max(f.start) "
	               "FROM fairness f JOIN models m ON m.id = f.model_id WHERE m.name = ?1 AND "
	               "f.start >= ?2 AND (CAST(?3 AS TEXT) IS NULL OR f.attribute = ?3) "
	               "GROUP BY f.attribute, f.grp "
	               "ORDER BY f.attribute, f.grp",
	               &s) != DB_OK)
		goto out;
	db_bind_text(s, 1, model, -1);
	db_bind_int64(s, 2, store_time_ceil(from)); /* f.start >= ?2 */
	if (attribute)
		db_bind_text(s, 3, attribute, -1);
	else
		db_bind_null(s, 3);
	rc = runs_walk(&c.r, s, pooled_row);
	s = NULL;
out:
	fairness_attr_fini(&c.r.cur);
	db_finalize(s);
	return rc;
}
