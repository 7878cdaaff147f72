/* store_outbox_group: pending outbox rows of a receiver (store_outbox_group.h). */
#include "store_outbox_group.h"

#include <sqlite3.h>
#include <string.h>

#include "store.h"

int store_outbox_pending(struct store_alerts *sa, const char *receiver, size_t max,
                         int (*fn)(void *arg, const struct store_outbox_row *row), void *arg)
{
	sqlite3_stmt *s = NULL;
	size_t got = 0;
	int rc;

	/* Prepared per call: a group is sent at most every group_interval. */
	if (sqlite3_prepare_v2(
	        sa->st->db,
	        "SELECT id, alert_id, kind, payload, created, next_attempt, attempts "
	        "FROM outbox WHERE receiver = ?1 AND status = 'pending' ORDER BY id",
	        -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(s, 1, receiver, -1, SQLITE_STATIC);
	while (got < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_outbox_row row = {0};
		const unsigned char *p = sqlite3_column_text(s, 3), *k = sqlite3_column_text(s, 2);

		row.id = sqlite3_column_int64(s, 0);
		row.alert_id = sqlite3_column_int64(s, 1);
		if (k) {
			strncpy(row.kind, (const char *)k, sizeof(row.kind) - 1);
			row.kind[sizeof(row.kind) - 1] = '\0';
		}
		row.payload = (char *)(p ? (const char *)p : "");
		row.created = sqlite3_column_double(s, 4);
		row.next_attempt = sqlite3_column_double(s, 5);
		row.attempts = sqlite3_column_int(s, 6);
		got++;
		if (fn(arg, &row))
			break;
	}
	rc = sqlite3_finalize(s);
	return rc == SQLITE_OK ? 0 : -1;
}
