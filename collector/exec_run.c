/* exec_run: see exec_run.h. */
#include "exec_run.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

void exec_argv_free(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

int exec_split(const char *command, char ***out, char *err, size_t errlen)
{
	size_t n = 0, len = strlen(command);
	char **argv = calloc(EXEC_ARGS_MAX + 1, sizeof(*argv));
	char *word = malloc(len + 1);
	const char *p = command;
	int rc = -1;

	*out = NULL;
	if (!argv || !word) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		size_t w = 0;
		bool any = false;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		while (*p && *p != ' ' && *p != '\t') {
			any = true;
			if (*p == '\'') {
				const char *e = strchr(p + 1, '\'');
				if (!e) {
					snprintf(err, errlen, "unterminated ' at column %zu",
					         (size_t)(p - command) + 1);
					goto out;
				}
				memcpy(word + w, p + 1, (size_t)(e - p - 1));
				w += (size_t)(e - p - 1);
				p = e + 1;
			} else if (*p == '"') {
				const char *q = p++;
				while (*p && *p != '"') {
					if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					word[w++] = *p++;
				}
				if (!*p) {
					snprintf(err, errlen, "unterminated \" at column %zu",
					         (size_t)(q - command) + 1);
					goto out;
				}
				p++;
			} else if (*p == '\\' && p[1]) {
				word[w++] = p[1];
				p += 2;
			} else {
				word[w++] = *p++;
			}
		}
		if (!any)
			break;
		if (n == EXEC_ARGS_MAX) {
			snprintf(err, errlen, "more than %d words", EXEC_ARGS_MAX);
			goto out;
		}
		word[w] = '\0';
		if (!(argv[n++] = strdup(word))) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
	}
	if (n == 0) {
		snprintf(err, errlen, "the command is empty");
		goto out;
	}
	*out = argv;
	argv = NULL;
	rc = 0;
out:
	exec_argv_free(argv);
	free(word);
	return rc;
}

/* Reads what is there into res; returns false at EOF or on an error. */
static bool drain(int fd, struct exec_result *res)
{
	char buf[4096];
	for (;;) {
		ssize_t k = read(fd, buf, sizeof(buf));
		if (k > 0) {
			size_t room = EXEC_OUT_KEEP - res->out_len,
			       c = (size_t)k < room ? (size_t)k : room;
			memcpy(res->out + res->out_len, buf, c);
			res->out_len += c;
			res->out[res->out_len] = '\0';
			res->out_total += (size_t)k;
			continue;
		}
		if (k < 0 && errno == EINTR)
			continue;
		return k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
	}
}

static void set_status(struct exec_result *res, int st)
{
	if (WIFEXITED(st)) {
		res->exited = true;
		res->exit_code = WEXITSTATUS(st);
	} else if (WIFSIGNALED(st)) {
		res->signal = WTERMSIG(st);
	}
}

int exec_run(char *const argv[], char *const envp[], const char *input, size_t input_len,
             double timeout_s, const atomic_bool *stop, struct exec_result *res, char *err,
             size_t errlen)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, st = 0, e, rc = -1;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, defs;
	bool fa_ok = false, at_ok = false, reaped = false;
	size_t off = 0;
	double t0 = clock_mono(), deadline = t0 + timeout_s;
	pid_t pid = -1;

	memset(res, 0, sizeof(*res));
	if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC)) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto out;
	}
	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		goto spawn_fail;
	fa_ok = true;
	if ((e = posix_spawnattr_init(&at)) != 0)
		goto spawn_fail;
	at_ok = true;
	/* dup2 clears close-on-exec on 0-2; every other descriptor of the
	 * daemon (database, sockets, secrets) is closed in the child. */
	if ((e = posix_spawn_file_actions_adddup2(&fa, in[0], 0)) ||
	    (e = posix_spawn_file_actions_adddup2(&fa, out[1], 1)) ||
	    (e = posix_spawn_file_actions_adddup2(&fa, out[1], 2)) ||
	    (e = posix_spawn_file_actions_addclosefrom_np(&fa, 3)))
		goto spawn_fail;
	/* The daemon blocks its termination signals in every thread and
	 * ignores SIGPIPE; the command gets neither, and a group of its own
	 * that a timeout kills as a whole. */
	sigemptyset(&none);
	sigemptyset(&defs);
	sigaddset(&defs, SIGPIPE);
	sigaddset(&defs, SIGTERM);
	sigaddset(&defs, SIGINT);
	sigaddset(&defs, SIGHUP);
	sigaddset(&defs, SIGCHLD);
	if ((e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
	                                           POSIX_SPAWN_SETSIGDEF)) ||
	    (e = posix_spawnattr_setpgroup(&at, 0)) ||
	    (e = posix_spawnattr_setsigmask(&at, &none)) ||
	    (e = posix_spawnattr_setsigdefault(&at, &defs)))
		goto spawn_fail;
	if ((e = posix_spawn(&pid, argv[0], &fa, &at, argv, envp)) != 0) {
		pid = -1;
		goto spawn_fail;
	}
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	fcntl(in[1], F_SETFL, O_NONBLOCK);
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	if (input_len == 0) {
		close(in[1]);
		in[1] = -1;
	}
	while (!reaped) {
		struct pollfd p[2];
		nfds_t np = 0;
		double now = clock_mono();
		pid_t w;

		if (now >= deadline || (stop && atomic_load(stop))) {
			res->timed_out = true;
			break;
		}
		if (in[1] >= 0)
			p[np++] = (struct pollfd){.fd = in[1], .events = POLLOUT};
		if (out[0] >= 0)
			p[np++] = (struct pollfd){.fd = out[0], .events = POLLIN};
		/* Short polls: the exit of a command whose children keep the
		 * pipe open is seen by waitpid, not by EOF. */
		poll(p, np, 50);
		if (in[1] >= 0) {
			ssize_t k = write(in[1], input + off, input_len - off);
			if (k > 0)
				off += (size_t)k;
			/* EPIPE: the command does not read its input; fine. */
			if (off == input_len || (k < 0 && errno != EAGAIN && errno != EINTR)) {
				close(in[1]);
				in[1] = -1;
			}
		}
		if (out[0] >= 0 && !drain(out[0], res)) {
			close(out[0]);
			out[0] = -1;
		}
		w = waitpid(pid, &st, WNOHANG);
		if (w == pid) {
			reaped = true;
			set_status(res, st);
			if (out[0] >= 0)
				drain(out[0], res);
		} else if (w < 0 && errno != EINTR) {
			snprintf(err, errlen, "waitpid: %s", strerror(errno));
			reaped = true; /* nothing more to wait for */
		}
	}
	if (!reaped) {
		/* SIGTERM to the group, SIGKILL after the grace, then reap. */
		double end = clock_mono() + EXEC_KILL_GRACE;
		kill(-pid, SIGTERM);
		while (clock_mono() < end) {
			pid_t w = waitpid(pid, &st, WNOHANG);
			if (w == pid) {
				reaped = true;
				set_status(res, st);
				break;
			}
			if (w < 0 && errno != EINTR)
				break;
			if (out[0] >= 0 && !drain(out[0], res)) {
				close(out[0]);
				out[0] = -1;
			}
			struct timespec ts = {0, 20 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
		kill(-pid, SIGKILL);
		while (!reaped) {
			pid_t w = waitpid(pid, &st, 0);
			if (w == pid) {
				set_status(res, st);
				reaped = true;
			} else if (w < 0 && errno != EINTR) {
				break;
			}
		}
	}
	res->took_s = clock_mono() - t0;
	rc = 0;
	goto out;
spawn_fail:
	snprintf(err, errlen, "cannot start %s: %s", argv[0], strerror(e));
out:
	if (fa_ok)
		posix_spawn_file_actions_destroy(&fa);
	if (at_ok)
		posix_spawnattr_destroy(&at);
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	return rc;
}
