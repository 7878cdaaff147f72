/* featblob: tests hand a stored event's features to the readers as JSON
 * text; this sets the featcodec blob (common/featcodec.h) the store hands
 * out for it. The blob lives in one of FEATBLOB_RING static buffers, reused
 * in turn: valid until that many more calls. A text featcodec refuses
 * aborts (a bug in the test). */
#ifndef MLW_TEST_FEATBLOB_H
#define MLW_TEST_FEATBLOB_H

#include "store_ingest.h"

#define FEATBLOB_RING 16

/* e->features / features_len of json (NULL: no features). */
void featblob_set(struct store_raw_event *e, const char *json);

struct sqlite3_stmt;
/* Column i of a row of events' features: a blob (features_bin) as its
 * JSON text, text (a row stored before the blob) as it is, into buf.
 * 0, or -1 for NULL or an unreadable blob. */
int featblob_column_json(struct sqlite3_stmt *s, int i, char *buf, size_t cap);
/* The same for the first column of the first row of sql on SQLite file
 * db, read only (e.g. "SELECT features_bin FROM events WHERE ..."). */
int featblob_db_json(const char *db, const char *sql, char *buf, size_t cap);

#endif
