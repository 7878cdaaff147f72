/* state: the agent's files in --state-dir: directories created 0700, files
 * written 0600 atomically (temporary file, fsync, rename), and the batch
 * sequence numbers, which must keep increasing across restarts because the
 * collector deduplicates on (agent_id, seq). */
#ifndef MLW_AGENT_STATE_H
#define MLW_AGENT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* mkdir -p; directories it creates get mode 0700. Returns 0 or -errno. */
int state_mkdirs(const char *path);

/* Replaces path with data[0..len): writes path.tmp (0600), optionally
 * fsyncs it, renames it over path. Returns 0 or -errno. */
int state_write_file(const char *path, const void *data, size_t len, bool sync);

/* Reads at most max bytes of path into a malloc'd NUL-terminated buffer.
 * Returns NULL with errno set (ENOENT when missing, EFBIG when larger). */
char *state_read_file(const char *path, size_t max, size_t *len);

/* Sequence numbers: the first one is max(reserved in <dir>/seq, now in
 * microseconds), so even a lost state directory keeps seq increasing as long
 * as the clock does. Blocks of 2^20 are reserved on disk ahead of use.
 * Not thread-safe (the batcher calls it under its lock). */
struct seqgen;
struct seqgen *seqgen_open(const char *dir, char *err, size_t errlen);
/* The next number. A failure to persist a new reservation is logged and
 * the in-memory sequence carries on. */
uint64_t seqgen_next(struct seqgen *g);
/* The number seqgen_next will return next, without taking it. */
uint64_t seqgen_peek(const struct seqgen *g);
void seqgen_close(struct seqgen *g);

#endif
