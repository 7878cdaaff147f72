/* exec_run: runs one command for an `exec` receiver, bounded.
 *
 * Owns: splitting a configured command line into argv (no shell), and one
 * run: the command gets input on its standard input, standard output and
 * error go to one pipe of which the first EXEC_OUT_KEEP bytes are kept (the
 * rest is read and counted, so the command never blocks on a full pipe),
 * and it runs in a process group of its own with only the environment it is
 * given and no file descriptor of the daemon but 0, 1 and 2. At its timeout
 * (or when *stop becomes true) the whole group gets SIGTERM, and SIGKILL
 * EXEC_KILL_GRACE seconds later.
 *
 * Threads: exec_run blocks the calling thread (a receiver's own thread) for
 * at most timeout + EXEC_KILL_GRACE seconds plus the time to reap; it uses no
 * shared state, so receivers run commands in parallel. The daemon must not
 * ignore SIGCHLD (children are reaped here with waitpid on their pid).
 *
 * Failures: a command that cannot be started is an error with errno's
 * reason; everything the command does (exit status, signal, timeout) is
 * reported in struct exec_result, never as an error. */
#ifndef MLW_EXEC_RUN_H
#define MLW_EXEC_RUN_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define EXEC_OUT_KEEP   4096
#define EXEC_KILL_GRACE 2.0
#define EXEC_ARGS_MAX   64

struct exec_result {
	int exit_code;  /* when exited */
	int signal;     /* when killed by a signal (0 otherwise) */
	bool exited;    /* true: exit_code is valid */
	bool timed_out; /* the timeout (or stop) ended it */
	double took_s;
	size_t out_len;   /* kept, in out */
	size_t out_total; /* written by the command */
	char out[EXEC_OUT_KEEP + 1];
};

/* Splits command into at most EXEC_ARGS_MAX words on blanks; '...' is
 * literal, "..." takes \" and \\, a backslash outside quotes takes the next
 * character. No expansion of any kind. Returns 0 with a NULL-terminated
 * malloc'd *argv (exec_argv_free), or -1 with the reason in err. */
int exec_split(const char *command, char ***argv, char *err, size_t errlen);
void exec_argv_free(char **argv);

/* Runs argv[0] (a path: no PATH search) with envp, input on stdin, for at
 * most timeout_s. Returns 0 with *res filled, or -1 with the reason in err
 * when the command could not be started. */
int exec_run(char *const argv[], char *const envp[], const char *input, size_t input_len,
             double timeout_s, const atomic_bool *stop, struct exec_result *res, char *err,
             size_t errlen);

#endif
