/* README.md's "A first run, step by step" recipe, extracted from the file
 * and run verbatim with sh -e (issue 13 acceptance item 3): it must end
 * with a drift page delivered to the receiver it starts, well within a
 * minute.
 *
 * The recipe uses the documented default ports (7070-7072, 9000). So that
 * it neither collides with other tests nor with anything else on the
 * machine, it runs in a network namespace of its own (unshare -rn, loopback
 * brought up inside) when the kernel allows one; otherwise only when those
 * ports are free, and the test is skipped when they are not. */
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/collector_proc.h"
#include "../lib/harness.h"
#include "../lib/pg_harness.h"

#define MARKER    "<!-- recipe:"
#define MARKER_PG "<!-- recipe-pg:"

/* The lines between "```sh" after the marker and the closing "```"
 * (malloc'd), or NULL. */
static char *extract_recipe_at(const char *readme, const char *marker)
{
	const char *m = strstr(readme, marker), *start, *end;
	if (!m || !(start = strstr(m, "\n```sh\n")))
		return NULL;
	start += 7;
	if (!(end = strstr(start, "\n```\n")))
		return NULL;
	return strndup(start, (size_t)(end - start + 1));
}

static char *extract_recipe(const char *readme)
{
	return extract_recipe_at(readme, MARKER);
}

static bool port_free(int port)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "ss -Htln 'sport = :%d' | grep -q .", port);
	return system(cmd) != 0;
}

/* Into script: the command that runs the recipe file path with sh -e, in
 * a network namespace of its own (ns: "unshare -rn", or "unshare -n" for
 * root) when the kernel allows one, else directly when the recipe's ports
 * are free; the test is skipped when they are not. Returns whether a
 * namespace is used. */
static bool recipe_command(const char *ns, const char *path, const int *ports, size_t nports,
                           char *script, size_t cap)
{
	snprintf(script, cap, "%s sh -c 'ip link set lo up' >/dev/null 2>&1", ns);
	if (system(script) == 0) {
		snprintf(script, cap, "exec %s sh -c 'ip link set lo up && exec sh -e %s'", ns,
		         path);
		return true;
	}
	for (size_t i = 0; i < nports; i++)
		if (!port_free(ports[i]))
			cr_skip_test("no network namespace and port %d is busy", ports[i]);
	snprintf(script, cap, "exec sh -e %s", path);
	return false;
}

/* Runs sh -c script in dir with PATH prefixed by bindir, in its own process
 * group, output to log; kills the group after timeout_s. Exit status, or
 * -1 on timeout. */
static int run_group(const char *dir, const char *bindir, const char *script, const char *log,
                     double timeout_s)
{
	pid_t pid = fork();
	int status = 0;

	if (pid == 0) {
		char path[PATH_MAX + 4096];
		const char *old = getenv("PATH");
		setpgid(0, 0);
		snprintf(path, sizeof(path), "%s:%s", bindir, old ? old : "/usr/bin:/bin");
		setenv("PATH", path, 1);
		if (chdir(dir) != 0 || !freopen(log, "w", stdout) || dup2(1, 2) < 0)
			_exit(126);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	cr_assert(pid > 0);
	double end = h_now() + timeout_s;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (h_now() > end) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -1;
		}
		h_sleep(0.1);
	}
	kill(-pid, SIGKILL); /* anything the recipe left behind */
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Test(readme, first_run_recipe_runs_verbatim_and_delivers_a_drift_page, .timeout = 120)
{
	char *readme_path = h_src("README.md"), *bin = h_bin("mlwatchd");
	char *readme = h_read_file(readme_path, NULL), *recipe, *dir = h_tmpdir("readme");
	char bindir[PATH_MAX], path[1024], log[1024], script[2048];

	cr_assert_not_null(readme, "%s", readme_path);
	recipe = extract_recipe(readme);
	cr_assert_not_null(recipe, "README.md has no block after '%s'", MARKER);
	cr_assert_not_null(realpath(bin, bindir), "%s", bin);
	*strrchr(bindir, '/') = '\0';
	snprintf(path, sizeof(path), "%s/recipe.sh", dir);
	cr_assert_eq(h_write_file(path, recipe, strlen(recipe)), 0);
	snprintf(log, sizeof(log), "%s/recipe.log", dir);

	static const int ports[] = {7070, 7071, 7072, 9000};
	bool netns = recipe_command("unshare -rn", path, ports, 4, script, sizeof(script));
	double t0 = h_now();
	int rc = run_group(dir, bindir, script, log, 90);
	double took = h_now() - t0;
	char *out = h_read_file(log, NULL);
	cr_assert_eq(rc, 0, "the recipe exited %d after %.1fs:\n%s", rc, took, out ? out : "");
	cr_assert(took < 60, "the recipe took %.1fs", took);

	/* the page reached the receiver, signed, and the alert is recorded */
	snprintf(path, sizeof(path), "%s/mlwatch-first-run/pages.log", dir);
	char *pages = h_read_file(path, NULL);
	cr_assert_not_null(pages);
	cr_assert(strstr(pages, "status=firing rule=amount-drift model=fraud feature=amount"), "%s",
	          pages);
	cr_assert(strstr(pages, "signature=valid"), "%s", pages);
	cr_assert(strstr(out, "amount-drift  fraud  amount   firing"), "%s", out);
	snprintf(path, sizeof(path), "%s/mlwatch-first-run/mlwatch.db", dir);
	cr_assert_eq(db_int(path, "SELECT count(*) FROM alerts WHERE rule = 'amount-drift' AND "
	                          "state = 'firing'"),
	             1);
	cr_assert_eq(db_int(path, "SELECT count(*) FROM outbox WHERE status = 'delivered'"), 1);
	fprintf(stderr, "readme recipe: %.1fs (network namespace: %s)\n", took,
	        netns ? "yes" : "no");
	free(pages);
	free(out);
	free(recipe);
	free(readme);
	free(readme_path);
	free(bin);
	h_rmtree(dir);
	free(dir);
}

/* README.md's "Beyond one machine" recipe (issue 16, item 9), extracted and
 * run verbatim with sh -e and $DB set to a throw-away PostgreSQL: two
 * collectors on it, two agents listing both, kill -9 of one collector
 * between two rounds of traffic. Every event must be stored exactly once
 * and the surviving collector must say it evaluates the rules. In a network
 * namespace of its own (the recipe's fixed ports), reaching the cluster over
 * its unix socket; as root without a user namespace, so that root may still
 * enter the cluster's directory (owned by postgres). */
Test(readme, beyond_one_machine_recipe_runs_verbatim_on_postgresql, .timeout = 150)
{
	struct pg_cluster pg = {0};
	char *readme_path = h_src("README.md"), *bin = h_bin("mlwatchd");
	char *readme = h_read_file(readme_path, NULL), *recipe, *dir = h_tmpdir("readme-pg");
	char bindir[PATH_MAX], path[1024], log[1024], script[2048], why[256];
	bool root = geteuid() == 0;

	cr_assert_not_null(readme, "%s", readme_path);
	recipe = extract_recipe_at(readme, MARKER_PG);
	cr_assert_not_null(recipe, "README.md has no block after '%s'", MARKER_PG);
	cr_assert_not_null(realpath(bin, bindir), "%s", bin);
	*strrchr(bindir, '/') = '\0';
	snprintf(path, sizeof(path), "%s/recipe.sh", dir);
	cr_assert_eq(h_write_file(path, recipe, strlen(recipe)), 0);
	free(recipe);
	free(readme);
	free(readme_path);
	free(bin);
	snprintf(log, sizeof(log), "%s/recipe.log", dir);

	static const int ports[] = {7070, 7072, 7080, 7082, 7011, 7021};
	bool netns = recipe_command(root ? "unshare -n" : "unshare -rn", path, ports, 6, script,
	                            sizeof(script));
	PG_CLUSTER_START_OR_SKIP(&pg);
	cr_assert_eq(setenv("DB", netns ? pg.uri_socket : pg.uri, 1), 0);
	double t0 = h_now();
	int rc = run_group(dir, bindir, script, log, 120);
	double took = h_now() - t0;
	unsetenv("DB");
	char *out = h_read_file(log, NULL);
	cr_assert_eq(rc, 0, "the recipe exited %d after %.1fs:\n%s", rc, took, out ? out : "");

	/* The recipe printed the status and the evaluator; the store holds
	 * each of the 4000 ids once. */
	cr_assert(strstr(out, "mlwatch_alert_evaluator 1"), "%s", out);
	cr_assert(strstr(out, "fraud"), "%s", out);
	long long n = -1, d = -1, both = -1;
	cr_assert_eq(
	    pg_cluster_query_ll(&pg, NULL, "SELECT count(*) FROM events", &n, why, sizeof(why)), 0,
	    "%s", why);
	cr_assert_eq(pg_cluster_query_ll(&pg, NULL, "SELECT count(DISTINCT req_id) FROM events", &d,
	                                 why, sizeof(why)),
	             0, "%s", why);
	cr_assert_eq(pg_cluster_query_ll(&pg, NULL,
	                                 "SELECT count(DISTINCT agent_id) FROM batches_seen", &both,
	                                 why, sizeof(why)),
	             0, "%s", why);
	cr_assert_eq(n, 4000, "stored %lld", n);
	cr_assert_eq(d, 4000, "distinct ids %lld", d);
	cr_assert_eq(both, 2, "batches of both agents");
	snprintf(path, sizeof(path), "%s/mlwatch-two-collectors/collector-2.log", dir);
	char *c2 = h_read_file(path, NULL);
	cr_assert(c2 && strstr(c2, "this node evaluates the alert rules"), "%s", c2 ? c2 : "");
	cr_assert(!strstr(c2, pg.password), "the password is never printed");
	fprintf(stderr, "readme pg recipe: %.1fs (network namespace: %s)\n", took,
	        netns ? "yes" : "no");
	free(c2);
	free(out);
	h_rmtree(dir);
	free(dir);
	pg_cluster_destroy(&pg);
}
