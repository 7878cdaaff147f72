/* ingest_tail: follows JSONL files (`--tail PATH`, one event per line)
 * like `tail -F`: survives rename rotation (the old file is read to its
 * end, then the new one from its start) and copytruncate (the file shrinks
 * or its first bytes change: read again from the start).
 *
 * Position per file = (device, inode, offset after the last whole line,
 * fingerprint of the first bytes), saved in <state-dir>/tail/ only once
 * every line before it is in a batch the collector acknowledged or that
 * went to the spool (tail_commit), so a restart neither re-sends nor skips
 * lines. A file rotated while the agent was down is found again by its
 * inode in the same directory. A file seen for the first time is read from
 * its beginning.
 *
 * Lines are split by tail_lines (pure, fuzzed by tests/fuzz/fuzz_tail.c);
 * a line longer than min(max_body, 1 MiB) is skipped and counted once as
 * too large.
 *
 * One thread polls every file every 100 ms; tail_commit comes from the
 * forwarder thread. */
#ifndef MLW_AGENT_INGEST_TAIL_H
#define MLW_AGENT_INGEST_TAIL_H

#include <stddef.h>

#include "config.h"
#include "obatch.h"

struct agent;
struct tailer;

/* Reads the saved positions. Returns NULL with the reason in err. */
struct tailer *tail_new(struct agent *ag, const struct strlist *paths, const char *state_dir,
                        char *err, size_t errlen);
int tail_start(struct tailer *t, char *err, size_t errlen);
/* Stops the thread (no more submissions). NULL is a no-op. */
void tail_stop(struct tailer *t);
/* Marks lines up to each mark as safe and saves the positions. */
void tail_commit(struct tailer *t, const struct tail_mark *marks, size_t n);
/* Saves positions (fsync'd) and frees. NULL is a no-op. */
void tail_free(struct tailer *t);

#endif
