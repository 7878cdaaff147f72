/* store_copy: copies a whole store into another (`mlwatch migrate`, e.g.
 * a SQLite file into PostgreSQL): events, labels, windows and their
 * results, references, alert state, silences, the outbox, agents and the
 * dedupe keys. Table by table in a fixed order, STORE_COPY_CHUNK rows per
 * target transaction, up to 100 rows per INSERT statement (one round trip
 * on PostgreSQL), each row inserted with ON CONFLICT DO NOTHING so
 * that a copy interrupted at any point is resumed by running it again
 * (rows already there are skipped). A target that holds data and was not
 * the target of an unfinished copy from the same source is refused unless
 * force, which empties it first. Identity sequences are moved past the
 * copied ids on PostgreSQL. Single-threaded; both stores are the caller's.
 * Failures: -1 with what, where (table, row) and why in err. */
#ifndef MLW_STORE_COPY_H
#define MLW_STORE_COPY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define STORE_COPY_CHUNK 5000

/* Called after each chunk: table, rows copied of it so far, its total. */
typedef void (*store_copy_progress)(const char *table, int64_t done, int64_t total, void *arg);

/* src_name identifies the source in the target's meta (migrated_from) for
 * resuming; shown redacted. Returns 0, 1 when the target is not empty (and
 * not force), -1 on error (err). *rows gets the rows inserted. */
int store_copy(struct store *src, struct store *dst, const char *src_name, bool force,
               store_copy_progress progress, void *arg, int64_t *rows, char *err, size_t errlen);

#endif
