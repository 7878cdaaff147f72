/* tuitest: helpers for the dashboard's tests: running `mlwatch` with its
 * stdout and stderr captured apart, checking JSON key types, and driving
 * the real dashboard inside tmux on a private server socket (-L), which is
 * killed at the end so no tmux server outlives a test. */
#ifndef MLW_TUITEST_H
#define MLW_TUITEST_H

#include <stdbool.h>
#include <stddef.h>

#include <cJSON.h>

/* Runs argv (argv[0] a path) with extra env ("K=V", NULL-terminated, may be
 * NULL); *out and *err (malloc'd, may be NULL) receive stdout and stderr.
 * Returns the exit status, 128+signal, or -1 (could not run / timed out,
 * after killing it). */
int tt_run(char *const argv[], char *const env[], char **out, char **err, double timeout_s);

/* Checks that object o has every key of spec with its type: spec is a
 * comma-separated list of "name:T" with T one of s (string), n (number),
 * b (bool), o (object), a (array), and a trailing '?' allowing null. On a
 * mismatch returns false and describes it in why. */
bool tt_json_keys(const cJSON *o, const char *spec, char *why, size_t cap);

struct tt_tmux {
	char sock[64];   /* -L name */
	char target[32]; /* session name */
	bool started;
};

/* Starts `cmd` (a shell command line) in a detached session of w x h. */
int tt_tmux_start(struct tt_tmux *t, int w, int h, const char *cmd);
/* tmux send-keys with each argument as a key name or literal text. */
int tt_tmux_keys(struct tt_tmux *t, const char *const *keys);
int tt_tmux_key(struct tt_tmux *t, const char *key);
/* Types text literally (send-keys -l). */
int tt_tmux_text(struct tt_tmux *t, const char *text);
/* True when screen (a capture with -e) sets a foreground or background
 * colour anywhere (SGR 30-37, 38, 40-47, 48, 90-97, 100-107); the resets 39
 * and 49 do not count. */
bool tt_has_color(const char *screen);
/* The visible pane as text (malloc'd). */
char *tt_tmux_capture(struct tt_tmux *t);
/* The pane with escape sequences (-e), for colour checks. */
char *tt_tmux_capture_esc(struct tt_tmux *t);
/* Waits until the pane contains needle; returns the capture that did
 * (malloc'd) or NULL on timeout (the last capture is printed to stderr). */
char *tt_tmux_wait(struct tt_tmux *t, const char *needle, double timeout_s);
/* Resizes the window. */
int tt_tmux_resize(struct tt_tmux *t, int w, int h);
/* True while the pane's process runs (or is ending); *status gets its exit
 * status once tmux knows it (the session is kept with remain-on-exit).
 * tmux 3.3 sometimes never learns it: tests that need the status write it
 * to a file from the command line instead. */
bool tt_tmux_alive(struct tt_tmux *t, int *status);
/* Kills the server. */
void tt_tmux_stop(struct tt_tmux *t);

#endif
