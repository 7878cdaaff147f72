/* The three programs' command lines, as the contract's section 1 says:
 * --help exits 0, --version prints NAME VERSION, a bad flag or value prints
 * one line "NAME: error: ..." naming the flag and exits 2. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

struct run {
	int status;
	char out[65536];
	char err[8192];
};

/* Runs the built binary name with args (NULL-terminated). */
static void run(struct run *r, const char *name, const char *const *args)
{
	int po[2], pe[2];
	char *bin = h_bin(name);
	char *argv[32];
	int n = 0;

	memset(r, 0, sizeof(*r));
	argv[n++] = bin;
	for (int i = 0; args[i] && n < 31; i++)
		argv[n++] = (char *)args[i];
	argv[n] = NULL;
	cr_assert_eq(pipe(po), 0);
	cr_assert_eq(pipe(pe), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		execv(bin, argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	size_t o = 0, e = 0;
	ssize_t k;
	while ((k = read(po[0], r->out + o, sizeof(r->out) - 1 - o)) > 0)
		o += (size_t)k;
	while ((k = read(pe[0], r->err + e, sizeof(r->err) - 1 - e)) > 0)
		e += (size_t)k;
	close(po[0]);
	close(pe[0]);
	waitpid(pid, &r->status, 0);
	r->status = WIFEXITED(r->status) ? WEXITSTATUS(r->status) : 128;
	free(bin);
}

static const char *const progs[] = {"mlwatch-agent", "mlwatchd", "mlwatch"};

Test(cli, help_exits_zero_with_usage)
{
	for (int i = 0; i < 3; i++) {
		struct run r;
		run(&r, progs[i], (const char *[]){"--help", NULL});
		cr_assert_eq(r.status, 0, "%s --help", progs[i]);
		cr_assert(strstr(r.out, "Usage: "), "%s --help: %s", progs[i], r.out);
		cr_assert(strstr(r.out, progs[i]));
		cr_assert_str_eq(r.err, "");
	}
	struct run r;
	run(&r, "mlwatch-agent", (const char *[]){"--help", NULL});
	for (const char *const *f =
	         (const char *[]){"--collector", "--http", "--listen-dgram", "--tail",
	                          "--state-dir", "--spool-dir", "--spool-max", "--sample-rate",
	                          "--token-file", "--agent-id", "--tls-ca", "--tls-cert",
	                          "--tls-key", "--log-level", NULL};
	     *f; f++)
		cr_assert(strstr(r.out, *f), "agent --help lacks %s", *f);
	run(&r, "mlwatchd", (const char *[]){"--help", NULL});
	for (const char *const *f =
	         (const char *[]){"--db", "--listen", "--http", "--token-file", "--window",
	                          "--insecure", "--tls-ca", "--tls-cert", "--tls-key", NULL};
	     *f; f++)
		cr_assert(strstr(r.out, *f), "mlwatchd --help lacks %s", *f);
}

Test(cli, version)
{
	for (int i = 0; i < 3; i++) {
		struct run r;
		char want[64];
		run(&r, progs[i], (const char *[]){"--version", NULL});
		cr_assert_eq(r.status, 0);
		snprintf(want, sizeof(want), "%s %s\n", progs[i], MLWATCH_VERSION);
		cr_assert_str_eq(r.out, want);
	}
}

/* One line on stderr, "NAME: error: ...", containing want; exit 2. */
static void usage_error(const char *prog, const char *const *args, const char *want)
{
	struct run r;
	char prefix[64];
	run(&r, prog, args);
	snprintf(prefix, sizeof(prefix), "%s: error: ", prog);
	cr_assert_eq(r.status, 2, "%s: status %d, stderr %s", prog, r.status, r.err);
	cr_assert_eq(strncmp(r.err, prefix, strlen(prefix)), 0, "stderr: %s", r.err);
	cr_assert(strstr(r.err, want), "'%s' lacks '%s'", r.err, want);
	cr_assert_eq(strchr(r.err, '\n'), r.err + strlen(r.err) - 1, "more than one line: %s",
	             r.err);
	cr_assert_str_eq(r.out, "");
}

Test(cli, bad_flags_and_values)
{
	usage_error("mlwatch", (const char *[]){"--bogus", NULL}, "--bogus");
	usage_error("mlwatch-agent", (const char *[]){"--bogus", NULL}, "--bogus");
	usage_error("mlwatchd", (const char *[]){"--nope=1", NULL}, "--nope");
	usage_error("mlwatch-agent", (const char *[]){"--spool-max", "lots", NULL}, "--spool-max");
	usage_error("mlwatch-agent", (const char *[]){"--sample-rate=2", NULL}, "--sample-rate");
	usage_error("mlwatchd", (const char *[]){"--window", "soon", NULL}, "--window");
	usage_error("mlwatchd", (const char *[]){"--db", NULL}, "--db needs a value");
	usage_error("mlwatch", (const char *[]){"--interval", "-1s", NULL}, "--interval");
	usage_error("mlwatch-agent", (const char *[]){"-x", NULL}, "'-x'");
}

Test(cli, config_errors_cite_file_and_line)
{
	char *dir = h_tmpdir("cli");
	char path[512];
	snprintf(path, sizeof(path), "%s/bad.conf", dir);
	const char *text = "[agent]\ncollector = tcp://127.0.0.1:1\nspool_maxx = 1GiB\n";
	cr_assert_eq(h_write_file(path, text, strlen(text)), 0);
	char want[600];
	snprintf(want, sizeof(want), "%s:3: unknown key 'spool_maxx' in [agent]", path);
	usage_error("mlwatch-agent", (const char *[]){"--config", path, NULL}, want);
	usage_error("mlwatchd", (const char *[]){"--config", "/nonexistent.conf", NULL},
	            "/nonexistent.conf: cannot open");
	h_rmtree(dir);
	free(dir);
}

Test(cli, secrets_never_in_help)
{
	struct run r;
	run(&r, "mlwatchd", (const char *[]){"--help", NULL});
	cr_assert_null(strstr(r.out, "--token "), "a token must come from a file");
}
