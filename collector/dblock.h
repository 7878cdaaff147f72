/* dblock: one mlwatchd per SQLite store. An exclusive POSIX record lock
 * (fcntl F_SETLK) on "DB.lock" beside the database, whose content is the
 * holder's pid. The kernel drops the lock when the holder's process ends,
 * however it ends (kill -9 included), so a waiting standby takes over at
 * once and no stale lock file ever blocks a restart.
 *
 * SQLite's own locks cannot serve: they are held only during transactions,
 * and two collectors would happily interleave theirs (both evaluate rules,
 * both page). The lock file is never deleted while in use: deleting it
 * would let a third process lock a new file of the same name; dblock_wait
 * checks that the file it locked is still the one at the path.
 *
 * Owned by main.c, which takes the lock before anything else touches the
 * store and keeps it until exit. Not thread-safe (one caller). Failures:
 * the lock file cannot be created or locked (errno in the message). */
#ifndef MLW_DBLOCK_H
#define MLW_DBLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct dblock {
	int fd;          /* -1 while not held */
	char path[4096]; /* DB.lock */
	bool created;    /* this process created the lock file */
};

/* Tries once. Returns 0 with the lock held; 1 when another process holds it
 * (its pid in *holder, 0 when unknown); -1 with the reason in err. */
int dblock_try(struct dblock *l, const char *db_path, pid_t *holder, char *err, size_t errlen);

/* Waits for the lock: tries every step_ms and between tries calls
 * keep_going(arg), which returns false to give up (a signal). Returns 0 with
 * the lock held, 1 when keep_going gave up, -1 with err. */
int dblock_wait(struct dblock *l, const char *db_path, int step_ms,
                bool (*keep_going)(void *arg, int step_ms), void *arg, char *err, size_t errlen);

/* Releases the lock (the file stays, see above). remove_file deletes it
 * first, for a start that failed before it created anything else. */
void dblock_release(struct dblock *l, bool remove_file);

#endif
