/* store_outbox_group: pending outbox rows of a receiver (store_outbox_group.h). */
#include "store_outbox_group.h"

#include <string.h>

#include "db.h"
#include "store.h"

struct pending_walk {
	size_t max, got;
	int (*fn)(void *arg, const struct store_outbox_row *row);
	void *arg;
};

/* One row to the caller; DB_DONE (not an error) stops the walk at max rows
 * or when the caller asks. */
static int pending_row(struct db_stmt *s, void *arg)
{
	struct pending_walk *w = arg;
	struct store_outbox_row row = {0};
	const unsigned char *p = db_column_text(s, 3), *k = db_column_text(s, 2);

	row.id = db_column_int64(s, 0);
	row.alert_id = db_column_int64(s, 1);
	if (k) {
		strncpy(row.kind, (const char *)k, sizeof(row.kind) - 1);
		row.kind[sizeof(row.kind) - 1] = '\0';
	}
	row.payload = (char *)(p ? (const char *)p : "");
	row.created = db_column_double(s, 4);
	row.next_attempt = db_column_double(s, 5);
	row.attempts = db_column_int(s, 6);
	w->got++;
	if (w->fn(w->arg, &row) || w->got >= w->max)
		return DB_DONE;
	return DB_OK;
}

int store_outbox_pending(struct store_alerts *sa, const char *receiver, size_t max,
                         int (*fn)(void *arg, const struct store_outbox_row *row), void *arg)
{
	struct db_stmt *s = NULL;
	struct pending_walk w = {.max = max, .fn = fn, .arg = arg};
	int rc = -1, r;

	if (max == 0)
		return 0;
	/* Prepared per call: a group is sent at most every group_interval. */
	if (db_prepare(sa->st->db,
	               "SELECT id, alert_id, kind, payload, created, next_attempt, attempts "
	               "FROM outbox WHERE receiver = ?1 AND status = 'pending' ORDER BY id",
	               &s) != DB_OK)
		goto out;
	if (db_bind_text(s, 1, receiver, -1) != DB_OK)
		goto out;
	r = db_rows(s, pending_row, &w);
	rc = r == DB_OK || r == DB_DONE ? 0 : -1;
out:
	db_finalize(s);
	return rc;
}
