/*
 * sigwait_main: the one place a program's SIGTERM / SIGINT go, for the
 * programs that take them synchronously with sigwait in their main thread
 * (mlwatchd, mlwatch-agent, mlwatch webhook).
 *
 * Blocking the signals before starting threads is not enough: a library
 * may start threads in its constructor, before main() runs (libopenblas
 * starts its worker pool so), and such a thread does not block them. A
 * process-directed SIGTERM delivered there took the default action and
 * killed the process without its graceful stop. sigwait_main_setup blocks
 * the signals in the calling thread and installs a handler that, when one
 * lands on any other thread, passes it to the calling thread, where it
 * stays pending for sigwait.
 *
 * Threads: call once, from the thread that will sigwait, before starting
 * threads of its own. Failures: none (sigaction on valid signals).
 */
#ifndef MLW_SIGWAIT_MAIN_H
#define MLW_SIGWAIT_MAIN_H

#include <signal.h>

/* Fills set with SIGTERM and SIGINT, blocks them here, forwards them here
 * from any other thread, and ignores SIGPIPE. */
void sigwait_main_setup(sigset_t *set);

#endif
