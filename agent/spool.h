/* spool: a bounded on-disk FIFO of encoded batches for when the collector
 * is away or slow (contract section 3).
 *
 * Layout: <dir>/<16 hex digits>.spool segment files holding records
 *   u32 magic "SML1" | u32 len | u32 crc32c | u32 n_events | u32 n_labels |
 *   u32 flags | u64 seq | u64 n_counted | len bytes of payload
 * (little-endian; the CRC covers the header with the crc field zeroed and
 * the payload), and <dir>/cursor, "SEGMENT OFFSET" of the first record not
 * yet acknowledged. Files are 0600, the directory 0700.
 *
 * Records are read in append order; a record stays on disk until
 * spool_ack, so a crash replays whatever was not acknowledged (the
 * collector deduplicates by seq). A torn or corrupt record is skipped and
 * counted, never fatal. The live size (unread + read-but-unacknowledged
 * records) is kept under max_bytes by dropping the oldest unread records,
 * whose contents are counted exactly in struct spool_drop.
 *
 * Not thread-safe: one thread (the forwarder) owns a spool. */
#ifndef MLW_AGENT_SPOOL_H
#define MLW_AGENT_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SPOOL_HEADER 40

struct spool;

struct spool_pos {
	uint64_t seg, off;
};

struct spool_record {
	uint64_t seq;
	uint8_t *buf; /* malloc'd payload, owned by the caller after spool_read */
	size_t len;
	uint32_t n_events, n_labels;
	uint64_t n_counted;
	struct spool_pos pos;
};

/* What was dropped to respect max_bytes. */
struct spool_drop {
	uint64_t batches, events, labels, counted;
};

/* Opens (creating it 0700) the spool in dir, checks every record after the
 * cursor and cuts a torn tail off the last segment. Returns NULL with the
 * reason in err. */
struct spool *spool_open(const char *dir, uint64_t max_bytes, char *err, size_t errlen);
/* Saves the cursor (fsync'd) and closes the files. NULL is a no-op. */
void spool_close(struct spool *s);

/* Appends one record; when it would exceed max_bytes, drops the oldest
 * unread records first (added to *drop). Returns 0 stored; 1 not stored
 * because the record alone is larger than max_bytes (added to *drop);
 * negative errno on a write error (nothing stored, nothing dropped). */
int spool_append(struct spool *s, uint64_t seq, const uint8_t *buf, size_t len, uint32_t n_events,
                 uint32_t n_labels, uint64_t n_counted, struct spool_drop *drop);

/* Reads the next unread record. Returns 0 (rec filled; free rec->buf), 1
 * when nothing is unread, negative errno on a read error. */
int spool_read(struct spool *s, struct spool_record *rec);

/* Marks a record returned by spool_read as done (sent, or given up); the
 * cursor advances over the done prefix and consumed segments are deleted.
 * Returns 0, or -ENOENT when pos is not an outstanding record. */
int spool_ack(struct spool *s, const struct spool_pos *pos);

bool spool_has_unread(const struct spool *s);
uint64_t spool_bytes(const struct spool *s);   /* unread + unacknowledged records */
uint64_t spool_records(const struct spool *s); /* same, in records */

/* Writes the cursor file now (fsync'd when sync). Returns 0 or -errno. */
int spool_flush(struct spool *s, bool sync);

#endif
