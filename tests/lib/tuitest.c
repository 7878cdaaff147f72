/* tuitest: see tuitest.h. */
#include "tuitest.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

extern char **environ;

static char *slurp_fd(int fd)
{
	size_t len = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;

	if (!buf)
		return NULL;
	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += (size_t)n;
		if (cap - len < 2) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	return buf;
}

int tt_run(char *const argv[], char *const env[], char **out, char **err, double timeout_s)
{
	char tmpl_o[] = "/tmp/mlwatch-tt-out-XXXXXX", tmpl_e[] = "/tmp/mlwatch-tt-err-XXXXXX";
	int fo = mkstemp(tmpl_o), fe = mkstemp(tmpl_e), status = 0, rc = -1;
	double deadline = h_now() + timeout_s;
	pid_t pid;

	if (out)
		*out = NULL;
	if (err)
		*err = NULL;
	if (fo < 0 || fe < 0)
		goto out;
	unlink(tmpl_o);
	unlink(tmpl_e);
	pid = fork();
	if (pid < 0)
		goto out;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		dup2(nul, 0);
		dup2(fo, 1);
		dup2(fe, 2);
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		execv(argv[0], argv);
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			goto out;
		if (h_now() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			fprintf(stderr, "tt_run: %s timed out\n", argv[0]);
			goto out;
		}
		h_sleep(0.005);
	}
	rc = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	if (out)
		*out = slurp_fd(fo);
	if (err)
		*err = slurp_fd(fe);
out:
	if (fo >= 0)
		close(fo);
	if (fe >= 0)
		close(fe);
	return rc;
}

bool tt_json_keys(const cJSON *o, const char *spec, char *why, size_t cap)
{
	char buf[2048], *save = NULL, *tok;

	if (!cJSON_IsObject(o)) {
		snprintf(why, cap, "not an object");
		return false;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *colon = strchr(tok, ':');
		const cJSON *v;
		bool ok, nullable;
		if (!colon)
			continue;
		*colon = '\0';
		nullable = strchr(colon + 1, '?') != NULL;
		v = cJSON_GetObjectItemCaseSensitive(o, tok);
		if (!v) {
			snprintf(why, cap, "key '%s' missing", tok);
			return false;
		}
		if (nullable && cJSON_IsNull(v))
			continue;
		switch (colon[1]) {
		case 's':
			ok = cJSON_IsString(v);
			break;
		case 'n':
			ok = cJSON_IsNumber(v);
			break;
		case 'b':
			ok = cJSON_IsBool(v);
			break;
		case 'o':
			ok = cJSON_IsObject(v);
			break;
		case 'a':
			ok = cJSON_IsArray(v);
			break;
		default:
			ok = false;
		}
		if (!ok) {
			char *p = cJSON_PrintUnformatted(v);
			snprintf(why, cap, "key '%s' is %s, expected type %c%s", tok, p ? p : "?",
			         colon[1], nullable ? " or null" : "");
			free(p);
			return false;
		}
	}
	return true;
}

/* Runs tmux with args on t's socket; stdout to *out when out != NULL. */
static int tmux(struct tt_tmux *t, char **out, const char *const *args)
{
	char *argv[64];
	int n = 0, rc;

	argv[n++] = "/usr/bin/tmux";
	argv[n++] = "-u";
	argv[n++] = "-L";
	argv[n++] = t->sock;
	for (; *args && n < 62; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	rc = tt_run(argv, NULL, out, NULL, 10);
	return rc;
}

int tt_tmux_start(struct tt_tmux *t, int w, int h, const char *cmd)
{
	char ws[16], hs[16];
	static int seq;

	memset(t, 0, sizeof(*t));
	snprintf(t->sock, sizeof(t->sock), "mlwatch-test-%d-%d", (int)getpid(), ++seq);
	snprintf(t->target, sizeof(t->target), "t");
	snprintf(ws, sizeof(ws), "%d", w);
	snprintf(hs, sizeof(hs), "%d", h);
	{
		const char *args[] = {"-f", "/dev/null", "new-session", "-d", "-s", t->target,
		                      "-x", ws,          "-y",          hs,   cmd,  NULL};
		if (tmux(t, NULL, args) != 0)
			return -1;
	}
	t->started = true;
	{
		const char *a1[] = {"set-option", "-t", t->target, "remain-on-exit", "on", NULL};
		const char *a2[] = {"set-option", "-t", t->target, "status", "off", NULL};
		tmux(t, NULL, a1);
		tmux(t, NULL, a2);
	}
	return 0;
}

int tt_tmux_keys(struct tt_tmux *t, const char *const *keys)
{
	const char *args[40] = {"send-keys", "-t", t->target};
	int n = 3;

	for (; *keys && n < 39; keys++)
		args[n++] = *keys;
	args[n] = NULL;
	return tmux(t, NULL, args);
}

int tt_tmux_key(struct tt_tmux *t, const char *key)
{
	const char *keys[] = {key, NULL};
	return tt_tmux_keys(t, keys);
}

int tt_tmux_text(struct tt_tmux *t, const char *text)
{
	const char *args[] = {"send-keys", "-l", "-t", t->target, text, NULL};
	return tmux(t, NULL, args);
}

bool tt_has_color(const char *s)
{
	for (const char *p = strstr(s, "\x1b["); p; p = strstr(p + 1, "\x1b[")) {
		const char *q = p + 2;
		while (*q) {
			char *end;
			long v = strtol(q, &end, 10);
			if (end == q)
				break;
			if ((v >= 30 && v <= 38) || (v >= 40 && v <= 48) || (v >= 90 && v <= 97) ||
			    (v >= 100 && v <= 107))
				return true;
			if (*end != ';')
				break;
			q = end + 1;
		}
	}
	return false;
}

char *tt_tmux_capture(struct tt_tmux *t)
{
	const char *args[] = {"capture-pane", "-p", "-t", t->target, NULL};
	char *out = NULL;
	tmux(t, &out, args);
	return out;
}

char *tt_tmux_capture_esc(struct tt_tmux *t)
{
	const char *args[] = {"capture-pane", "-p", "-e", "-t", t->target, NULL};
	char *out = NULL;
	tmux(t, &out, args);
	return out;
}

char *tt_tmux_wait(struct tt_tmux *t, const char *needle, double timeout_s)
{
	double deadline = h_now() + timeout_s;
	char *cap = NULL;

	for (;;) {
		free(cap);
		cap = tt_tmux_capture(t);
		if (cap && strstr(cap, needle))
			return cap;
		if (h_now() > deadline)
			break;
		h_sleep(0.05);
	}
	fprintf(stderr, "tt_tmux_wait: '%s' not on screen after %.1fs:\n%s\n", needle, timeout_s,
	        cap ? cap : "(no capture)");
	free(cap);
	return NULL;
}

int tt_tmux_resize(struct tt_tmux *t, int w, int h)
{
	char ws[16], hs[16];
	snprintf(ws, sizeof(ws), "%d", w);
	snprintf(hs, sizeof(hs), "%d", h);
	const char *args[] = {"resize-window", "-t", t->target, "-x", ws, "-y", hs, NULL};
	return tmux(t, NULL, args);
}

bool tt_tmux_alive(struct tt_tmux *t, int *status)
{
	const char *args[] = {
	    "display-message", "-p", "-t", t->target, "#{pane_dead} #{pane_dead_status}", NULL};
	char *out = NULL;
	int dead = 0, st = -1, n;

	if (tmux(t, &out, args) != 0 || !out) {
		free(out);
		return false;
	}
	n = sscanf(out, "%d %d", &dead, &st);
	free(out);
	/* tmux marks the pane dead when its terminal closes and learns the exit
	 * status a moment later: still ending until then */
	if (n < 1 || (dead && n < 2))
		return n >= 1;
	if (dead && status)
		*status = st;
	return !dead;
}

void tt_tmux_stop(struct tt_tmux *t)
{
	const char *args[] = {"kill-server", NULL};
	if (t->started)
		tmux(t, NULL, args);
	t->started = false;
}
