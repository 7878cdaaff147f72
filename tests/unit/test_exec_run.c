/* exec_run: word splitting without a shell; a run's stdin, output, exit
 * status, and the timeout killing the whole process group. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "exec_run.h"

static char *env[] = {"PATH=/usr/bin:/bin", NULL};

Test(exec_run, split_quotes_without_a_shell)
{
	char **argv = NULL, err[128];

	cr_assert_eq(exec_split("  /bin/x a 'b c' \"d \\\"e\\\"\" f\\ g $HOME;rm  ", &argv, err,
	                        sizeof(err)),
	             0, "%s", err);
	const char *want[] = {"/bin/x", "a", "b c", "d \"e\"", "f g", "$HOME;rm", NULL};
	for (int i = 0; want[i]; i++)
		cr_expect_str_eq(argv[i], want[i]);
	cr_expect_null(argv[6]);
	exec_argv_free(argv);
	cr_expect_eq(exec_split("/bin/x 'open", &argv, err, sizeof(err)), -1);
	cr_expect(strstr(err, "unterminated ' at column 8"), "%s", err);
	cr_expect_eq(exec_split("   ", &argv, err, sizeof(err)), -1);
	cr_expect(strstr(err, "empty"), "%s", err);
}

Test(exec_run, stdin_output_and_exit_status)
{
	char *argv[] = {"/bin/sh", "-c",
	                "cat; echo \" leak=${MLW_LEAK-unset} path=$PATH\" >&2; exit 3", NULL};
	struct exec_result *r = malloc(sizeof(*r));
	char err[256];
	atomic_bool stop = false;

	setenv("MLW_LEAK", "secret", 1);

	cr_assert_eq(exec_run(argv, env, "{\"a\":1}", 7, 5.0, &stop, r, err, sizeof(err)), 0, "%s",
	             err);
	cr_expect(r->exited);
	cr_expect_eq(r->exit_code, 3);
	cr_expect(!r->timed_out);
	/* stdout and stderr, and only the given environment. */
	cr_expect_str_eq(r->out, "{\"a\":1} leak=unset path=/usr/bin:/bin\n");
	free(r);
}

Test(exec_run, output_is_bounded_and_drained)
{
	char *argv[] = {"/bin/sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x", NULL};
	struct exec_result *r = malloc(sizeof(*r));
	char err[256];

	cr_assert_eq(exec_run(argv, env, "", 0, 10.0, NULL, r, err, sizeof(err)), 0, "%s", err);
	cr_expect(r->exited && r->exit_code == 0);
	cr_expect_eq(r->out_len, EXEC_OUT_KEEP);
	cr_expect_eq(r->out_total, 100000);
	free(r);
}

Test(exec_run, timeout_kills_the_whole_group)
{
	char pidfile[] = "/tmp/mlw-exec-XXXXXX";
	int fd = mkstemp(pidfile);
	char cmd[256], err[256], buf[32] = {0};
	struct exec_result *r = malloc(sizeof(*r));

	cr_assert(fd >= 0);
	close(fd);
	/* A grandchild that ignores nothing, and a parent that ignores TERM. */
	snprintf(cmd, sizeof(cmd), "sleep 30 & echo $! > %s; trap '' TERM; sleep 30; wait",
	         pidfile);
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	double t0 = clock_mono();
	cr_assert_eq(exec_run(argv, env, "", 0, 0.5, NULL, r, err, sizeof(err)), 0, "%s", err);
	double took = clock_mono() - t0;
	cr_expect(r->timed_out);
	cr_expect(!r->exited);
	cr_expect_eq(r->signal, SIGKILL, "the shell ignoring TERM got KILL, got %d", r->signal);
	cr_expect(took >= 0.5 && took < 0.5 + EXEC_KILL_GRACE + 2.0, "took %.2f s", took);
	FILE *f = fopen(pidfile, "r");
	cr_assert_not_null(f);
	cr_assert(fgets(buf, sizeof(buf), f));
	fclose(f);
	unlink(pidfile);
	/* The grandchild is gone too (killed with the group; reaped by init
	 * or a zombie of nobody: kill(0) fails or it is a zombie). */
	pid_t gc = (pid_t)atoi(buf);
	char stat[64], st[256] = {0};
	snprintf(stat, sizeof(stat), "/proc/%d/stat", (int)gc);
	bool gone = true;
	for (int i = 0; i < 100; i++) {
		f = fopen(stat, "r");
		gone = !f || (fgets(st, sizeof(st), f) && strstr(st, ") Z "));
		if (f)
			fclose(f);
		if (gone)
			break;
		usleep(20000);
	}
	cr_expect(gone, "grandchild %d still runs: %s", (int)gc, st);
	free(r);
}

Test(exec_run, missing_command_is_an_error)
{
	char *argv[] = {"/nonexistent/retrain", NULL};
	struct exec_result *r = malloc(sizeof(*r));
	char err[256];

	cr_expect_eq(exec_run(argv, env, "x", 1, 1.0, NULL, r, err, sizeof(err)), -1);
	cr_expect(strstr(err, "cannot start /nonexistent/retrain: No such file"), "%s", err);
	free(r);
}
