/* clock: wall and monotonic time in seconds, RFC 3339 timestamps (the one
 * form in which times cross our interfaces besides Unix seconds), and the
 * simulated clock mlwatchd can run on for tests and simulations.
 *
 * Simulated clock: once clock_sim_init found MLWATCH_CLOCK_FILE=PATH in the
 * environment, clock_now() returns the Unix time written in PATH instead of
 * the machine's; clock_mono() stays real. A test steps it by writing a new
 * file and renaming it over PATH: the next clock_now() returns the new time
 * (it stats the file each call; an in-place rewrite is seen within
 * CLOCK_SIM_POLL_S of real time). Only the programs that call
 * clock_sim_init (mlwatchd, mlwatch) follow it; the agent keeps real time.
 *
 * Threads: every function may be called from any thread; clock_sim_init
 * before other threads start. Failures: clock_sim_init refuses a missing,
 * unreadable or garbled file; a file that turns unreadable or garbled later
 * keeps the last good time, with one warning in the log per such spell. */
#ifndef MLW_CLOCK_H
#define MLW_CLOCK_H

#include <pthread.h>
#include <stddef.h>
#include <time.h>

/* How long a simulated time read from its file is used, when the file
 * looks unchanged, before it is read again (real seconds). */
#define CLOCK_SIM_POLL_S 0.002

/* Unix seconds, with sub-second precision: the simulated time when there is
 * one. */
double clock_now(void);
/* Seconds on a clock that never jumps; for timeouts and rates. Always real. */
double clock_mono(void);
/* Fills *ts with the CLOCK_MONOTONIC time s seconds from now (s <= 0: now),
 * for pthread_cond_timedwait on a condition variable whose clock is
 * CLOCK_MONOTONIC: a real wait, whatever the wall or simulated clock does. */
void clock_mono_deadline(double s, struct timespec *ts);
/* The same on the machine's wall clock (CLOCK_REALTIME), for the calls that
 * take no other (pthread_timedjoin_np): a step of the wall clock lengthens
 * or shortens that one wait. */
void clock_wall_deadline(double s, struct timespec *ts);
/* Initialises cv to time its waits on the monotonic clock, the clock of
 * clock_mono_deadline: every timed wait in mlwatch is a real interval. */
void clock_cond_init_mono(pthread_cond_t *cv);
/* The machine's wall clock even under a simulated clock: for timestamps
 * that other machines check against theirs (a webhook's signature). */
double clock_wall(void);

/* Reads MLWATCH_CLOCK_FILE: 0 when it is not set (clock_now() stays real),
 * 1 when clock_now() now follows the file, -1 with what is wrong, where
 * and why in err (empty variable, unreadable file, not a Unix time in
 * decimal seconds). The file holds one number such as "1767225600" or
 * "1767225600.25", blanks around it allowed. */
int clock_sim_init(char *err, size_t errlen);
/* The simulated clock's file, or NULL when clock_now() is real. */
const char *clock_sim_path(void);
/* The real seconds to wait for s seconds of clock_now() to pass: s itself,
 * or at most 0.05 under a simulated clock, whose time moves when its file
 * is written, not while a thread waits. */
double clock_wait_s(double s);

/* Parses "2026-11-25T12:00:00Z", "...T12:00:00.123+02:00", lower-case t/z and
 * a space separator. Returns 0 and sets *out to Unix seconds, -1 if s is not
 * a valid RFC 3339 date-time. */
int clock_parse_rfc3339(const char *s, double *out);
/* Writes ts as "2026-11-25T12:00:00.123Z" (millisecond precision); returns buf. */
char *clock_format_rfc3339(double ts, char *buf, size_t cap);

#endif
