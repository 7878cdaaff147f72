/* harness: what integration tests need to run the real binaries on
 * loopback: temporary directories, free ports, child processes with their
 * output in files, waiting with deadlines, and HTTP requests (libcurl). */
#ifndef MLW_HARNESS_H
#define MLW_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* A fresh directory under $TMPDIR (or /tmp), mode 0700; returned string is
 * malloc'd. h_rmtree removes it and everything below. */
char *h_tmpdir(const char *tag);
void h_rmtree(const char *path);

/* A port on 127.0.0.1, free for TCP and UDP a moment ago, taken from below
 * the kernel's ephemeral range (an outgoing connection cannot steal it) and
 * never handed out twice by one process. */
int h_free_port(void);

/* How much slower than a normal build this run is allowed to be: 20 under
 * valgrind (MLWATCH_VALGRIND=1 or VALGRIND=1), 4 under ASan+UBSan
 * (MLWATCH_SAN=1, set by `make asan`), else 1; times the load on each core
 * (1-minute load average / cores, between 1 and 4) when the machine is
 * busier than one task per core. Wall-clock bounds and timeouts of tests are
 * multiplied by it. */
double h_slow(void);

/* Modification time of path in h_wall() seconds, -1 when missing; the
 * CLOCK_REALTIME clock; and a bounded wait until path is modified after
 * since (a h_wall() value): for "the program has saved its state since". */
double h_mtime(const char *path);
double h_wall(void);
bool h_wait_modified(const char *path, double since, double timeout_s);

/* Path of a built binary ("mlwatchd") in $MLWATCH_BIN_DIR (default ./build);
 * and of a source file relative to $MLWATCH_SRC_DIR (default "."). Static buffers
 * per call site are not used: the result is malloc'd. */
char *h_bin(const char *name);
char *h_src(const char *rel);

struct h_proc {
	pid_t pid;
	char log[512]; /* stdout+stderr of the child */
};

/* Starts argv[0] (a path) with argv, output appended to log_path; extra env
 * entries "K=V" (NULL-terminated, may be NULL). Returns 0 or -1. Under
 * MLWATCH_VALGRIND=1 the child runs under valgrind --leak-check=full
 * --error-exitcode=99. */
int h_spawn(struct h_proc *p, char *const argv[], const char *log_path, char *const env[]);
/* Sends sig and waits up to timeout_s; SIGKILL after that. Returns the exit
 * status as from waitpid's WEXITSTATUS, 128+signal when killed, -1 on error. */
int h_stop(struct h_proc *p, int sig, double timeout_s);
/* True while the child runs. */
bool h_alive(struct h_proc *p);

/* Waits until 127.0.0.1:port accepts a TCP connection. */
bool h_wait_port(int port, double timeout_s);
/* Waits until file contains needle. */
bool h_wait_log(const char *path, const char *needle, double timeout_s);
/* Waits until path exists and is not empty (a shell creates a redirect's
 * file before the command writes to it); returns its content (malloc'd) or
 * NULL on timeout. */
char *h_wait_file_content(const char *path, double timeout_s);
/* Reads a whole file (malloc'd, NUL-terminated), or NULL. */
char *h_read_file(const char *path, size_t *len);
/* How many times needle occurs in the file (0 when it cannot be read). */
int h_count_in_file(const char *path, const char *needle);
/* Parses a JSON file; NULL when it cannot be read or parsed. The caller
 * frees it with cJSON_Delete. */
struct cJSON *h_load_json(const char *path);
/* Path (malloc'd) of rel under the shared tree beside the repository:
 * $MLWATCH_SHARED_DIR, else $MLWATCH_SRC_DIR/../shared (CI: a fresh clone
 * with shared/ beside it), else $MLWATCH_SRC_DIR/../../shared (a worktree
 * one level deeper); the first where rel exists, or the first candidate. */
char *h_shared(const char *rel);
int h_write_file(const char *path, const char *data, size_t len);

struct h_http {
	long status;
	char *body; /* malloc'd, NUL-terminated */
	size_t len;
	char headers[4096];
};

/* method "GET"/"POST"; headers NULL-terminated "K: V" list, may be NULL;
 * chunked sends the body with Transfer-Encoding: chunked. Returns 0 when a
 * response arrived (any status), -1 on connection failure. */
int h_http(const char *method, const char *url, const char *body, size_t len,
           const char *const *headers, bool chunked, struct h_http *out);
void h_http_free(struct h_http *r);

/* Sleeps for s seconds. */
void h_sleep(double s);
double h_now(void);
/* CPU seconds used by this process so far, all threads (the benches'
 * CPU per event). */
double h_cpu(void);

#endif
