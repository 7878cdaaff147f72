/* featblob: see featblob.h. */
#include "featblob.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>

#include "featcodec.h"
#include "jsonw.h"

void featblob_set(struct store_raw_event *e, const char *json)
{
	static struct featcodec_enc ring[FEATBLOB_RING];
	static size_t next;
	struct featcodec_enc *enc = &ring[next++ % FEATBLOB_RING];
	struct featcodec_error err;

	e->features = NULL;
	e->features_len = 0;
	if (!json)
		return;
	if (featcodec_from_json(json, enc, &err) != 0) {
		fprintf(stderr, "featblob: %s: %s\n", json, err.msg);
		abort(); /* the test's own text: a bug in the test */
	}
	e->features = enc->buf;
	e->features_len = enc->len;
}

int featblob_column_json(struct sqlite3_stmt *s, int i, char *buf, size_t cap)
{
	struct jsonw w;
	int rc = -1;

	if (sqlite3_column_type(s, i) == SQLITE_TEXT) {
		snprintf(buf, cap, "%s", (const char *)sqlite3_column_text(s, i));
		return 0;
	}
	if (sqlite3_column_type(s, i) != SQLITE_BLOB)
		return -1;
	jsonw_init(&w);
	if (featcodec_to_json(sqlite3_column_blob(s, i), (size_t)sqlite3_column_bytes(s, i), &w,
	                      NULL) == 0) {
		snprintf(buf, cap, "%s", w.buf);
		rc = 0;
	}
	jsonw_fini(&w);
	return rc;
}

int featblob_db_json(const char *db, const char *sql, char *buf, size_t cap)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *s = NULL;
	int rc = -1;

	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
		goto out;
	sqlite3_busy_timeout(h, 5000);
	if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) != SQLITE_OK)
		goto out;
	if (sqlite3_step(s) == SQLITE_ROW)
		rc = featblob_column_json(s, 0, buf, cap);
out:
	sqlite3_finalize(s);
	sqlite3_close(h);
	return rc;
}
