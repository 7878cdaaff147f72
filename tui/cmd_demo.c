/* cmd_demo: see cmd_demo.h. */
#include "cmd_demo.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "db.h"
#include "demo_sim.h"

extern char **environ;

#define DEMO_RATE         200 /* events per second */
#define DEMO_LABEL_DELAY  30  /* seconds until a label arrives */
#define DEMO_MAX_CHILDREN 4

/* The rules the demo expects to fire, and what each shows. */
static const struct {
	const char *rule, *what;
} expected[] = {
    {"fraud-feature-drift", "feature drift"},
    {"fraud-accuracy", "accuracy drop"},
    {"fraud-latency-p99", "latency spike"},
};
#define N_EXPECTED (sizeof(expected) / sizeof(expected[0]))

struct demo {
	char dir[PATH_MAX];
	char self[PATH_MAX];
	char db[PATH_MAX + 32], conf[PATH_MAX + 32], hooklog[PATH_MAX + 32];
	int agent_port, coll_port, metrics_port, hook_port;
	pid_t children[DEMO_MAX_CHILDREN];
	int n_children;
	volatile int stop;
	double started;
	unsigned long sent, labels_sent, send_errors;
};

static volatile sig_atomic_t interrupted;
static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int free_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static int write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	size_t n = strlen(text);
	if (fd < 0)
		return -1;
	ssize_t k = write(fd, text, n);
	close(fd);
	return k == (ssize_t)n ? 0 : -1;
}

/* Starts a child with stdout and stderr in log (or inherited when NULL). */
static pid_t spawn(struct demo *d, char *const argv[], const char *log)
{
	posix_spawn_file_actions_t fa;
	pid_t pid = -1;

	posix_spawn_file_actions_init(&fa);
	if (log) {
		posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		posix_spawn_file_actions_adddup2(&fa, 1, 2);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	}
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0)
		pid = -1;
	posix_spawn_file_actions_destroy(&fa);
	if (pid > 0 && log && d->n_children < DEMO_MAX_CHILDREN)
		d->children[d->n_children++] = pid;
	return pid;
}

static int run_wait(char *const argv[], const char *log)
{
	struct demo dummy = {0};
	int status;
	pid_t pid = spawn(&dummy, argv, log);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool port_open(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	bool ok;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return false;
	ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static bool wait_port(int port, double seconds)
{
	double end = clock_mono() + seconds;
	while (clock_mono() < end && !interrupted) {
		if (port_open(port))
			return true;
		usleep(50000);
	}
	return false;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void stop_children(struct demo *d)
{
	for (int i = d->n_children - 1; i >= 0; i--)
		kill(d->children[i], SIGTERM);
	double end = clock_mono() + 10;
	for (int i = d->n_children - 1; i >= 0; i--) {
		int status;
		while (waitpid(d->children[i], &status, WNOHANG) == 0) {
			if (clock_mono() > end) {
				kill(d->children[i], SIGKILL);
				waitpid(d->children[i], &status, 0);
				break;
			}
			usleep(20000);
		}
	}
	d->n_children = 0;
}

static int write_config(struct demo *d)
{
	char text[4096], secret[PATH_MAX + 32];
	int n;

	snprintf(secret, sizeof(secret), "%s/webhook.secret", d->dir);
	if (write_text(secret, "demo-signing-secret\n", 0600))
		return -1;
	n = demo_sim_config(text, sizeof(text), d->metrics_port, d->hook_port, secret);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	return write_text(d->conf, text, 0600);
}

static int start_system(struct demo *d)
{
	char coll_url[64], coll_http[64], agent_http[64], hook_addr[64], log[PATH_MAX + 32];
	char state[PATH_MAX + 32], ref[PATH_MAX + 32], secret[PATH_MAX + 32];
	char coll_bin[PATH_MAX + 32], agent_bin[PATH_MAX + 32];
	char *slash;

	/* The daemons are built next to this binary. */
	snprintf(coll_bin, sizeof(coll_bin), "%s", d->self);
	slash = strrchr(coll_bin, '/');
	if (!slash)
		return -1;
	snprintf(slash + 1, sizeof(coll_bin) - (size_t)(slash + 1 - coll_bin), "mlwatchd");
	snprintf(agent_bin, sizeof(agent_bin), "%s", coll_bin);
	snprintf(strrchr(agent_bin, '/') + 1, 32, "mlwatch-agent");

	snprintf(coll_url, sizeof(coll_url), "tcp://127.0.0.1:%d", d->coll_port);
	snprintf(coll_http, sizeof(coll_http), "127.0.0.1:%d", d->metrics_port);
	snprintf(agent_http, sizeof(agent_http), "127.0.0.1:%d", d->agent_port);
	snprintf(hook_addr, sizeof(hook_addr), "127.0.0.1:%d", d->hook_port);
	snprintf(state, sizeof(state), "%s/agent", d->dir);
	snprintf(ref, sizeof(ref), "%s/reference.csv", d->dir);
	snprintf(secret, sizeof(secret), "%s/webhook.secret", d->dir);

	snprintf(log, sizeof(log), "%s/mlwatchd.log", d->dir);
	char *coll[] = {coll_bin,   "--config", d->conf,  "--db",    d->db,
	                "--listen", coll_url,   "--http", coll_http, NULL};
	if (spawn(d, coll, log) < 0 || !wait_port(d->coll_port, 15)) {
		fprintf(stderr, "mlwatch: error: mlwatchd did not start; see %s\n", log);
		return -1;
	}
	/* The reference profile the drift is measured against. */
	if (demo_sim_reference_csv(1, 5000, ref)) {
		fprintf(stderr, "mlwatch: error: cannot write %s\n", ref);
		return -1;
	}
	snprintf(log, sizeof(log), "%s/reference.log", d->dir);
	char *imp[] = {d->self,  "--config", d->conf,    "--db", d->db, "reference",
	               "import", "--model",  DEMO_MODEL, ref,    NULL};
	if (run_wait(imp, log) != 0) {
		fprintf(stderr, "mlwatch: error: reference import failed; see %s\n", log);
		return -1;
	}
	char *hook[] = {d->self,         "webhook-listen", "--listen", hook_addr,
	                "--secret-file", secret,           NULL};
	if (spawn(d, hook, d->hooklog) < 0 || !wait_port(d->hook_port, 15)) {
		fprintf(stderr, "mlwatch: error: webhook-listen did not start; see %s\n",
		        d->hooklog);
		return -1;
	}
	snprintf(log, sizeof(log), "%s/mlwatch-agent.log", d->dir);
	char *agent[] = {agent_bin,  "--config",    d->conf, "--collector", coll_url,     "--http",
	                 agent_http, "--state-dir", state,   "--agent-id",  "demo-agent", NULL};
	if (spawn(d, agent, log) < 0 || !wait_port(d->agent_port, 15)) {
		fprintf(stderr, "mlwatch: error: mlwatch-agent did not start; see %s\n", log);
		return -1;
	}
	return 0;
}

/* ---- the simulated model server ---------------------------------------- */

struct pending_label {
	struct demo_truth truth;
	double due;
};

static size_t discard(char *p, size_t s, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return s * n;
}

static int post(CURL *c, const char *url, const char *body, size_t len)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/x-ndjson");
	long status = 0;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	CURLcode rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	return rc == CURLE_OK && status == 202 ? 0 : -1;
}

static void *simulate(void *arg)
{
	struct demo *d = arg;
	struct demo_sim sim;
	struct demo_schedule sched;
	char events_url[96], labels_url[96];
	size_t cap = 1 << 20, qcap = DEMO_RATE * (DEMO_LABEL_DELAY + 10), qhead = 0, qtail = 0;
	char *body = malloc(cap);
	struct pending_label *queue = calloc(qcap, sizeof(*queue));
	CURL *c = curl_easy_init();

	if (!body || !queue || !c)
		goto out;
	snprintf(events_url, sizeof(events_url), "http://127.0.0.1:%d/v1/events", d->agent_port);
	snprintf(labels_url, sizeof(labels_url), "http://127.0.0.1:%d/v1/labels", d->agent_port);
	demo_schedule_default(&sched);
	demo_sim_init(&sim, (uint64_t)time(NULL), &sched);
	double tick = 0.1, next = clock_mono();
	while (!d->stop && !interrupted) {
		double t = clock_mono() - d->started, now = clock_now();
		size_t len = 0;
		for (int i = 0; i < (int)(DEMO_RATE * tick); i++) {
			struct pending_label *p = &queue[qtail % qcap];
			int k = demo_sim_event(&sim, t, now - tick + tick * i / (DEMO_RATE * tick),
			                       body + len, cap - len - 2, &p->truth);
			if (k < 0)
				break;
			len += (size_t)k;
			body[len++] = '\n';
			p->due = t + DEMO_LABEL_DELAY;
			if (qtail - qhead < qcap)
				qtail++;
		}
		if (post(c, events_url, body, len) == 0)
			d->sent += (unsigned long)(DEMO_RATE * tick);
		else
			d->send_errors++;
		len = 0;
		size_t nl = 0;
		while (qhead < qtail && queue[qhead % qcap].due <= t && len + 512 < cap) {
			int k = demo_sim_label(&queue[qhead % qcap].truth, now, body + len,
			                       cap - len - 2);
			if (k < 0)
				break;
			len += (size_t)k;
			body[len++] = '\n';
			qhead++;
			nl++;
		}
		if (nl && post(c, labels_url, body, len) == 0)
			d->labels_sent += nl;
		next += tick;
		double sleep_s = next - clock_mono();
		if (sleep_s > 0)
			usleep((useconds_t)(sleep_s * 1e6));
		else
			next = clock_mono();
	}
out:
	curl_easy_cleanup(c);
	free(body);
	free(queue);
	return NULL;
}

/* ---- headless ----------------------------------------------------------- */

/* Counts "received status=firing rule=R ... signature=valid" lines per
 * expected rule; prints new notification lines as they arrive. */
static void scan_hooklog(struct demo *d, size_t *offset, int fired[N_EXPECTED], int *bad_sig)
{
	FILE *f = fopen(d->hooklog, "r");
	char line[4096];

	if (!f)
		return;
	if (fseek(f, (long)*offset, SEEK_SET) == 0) {
		while (fgets(line, sizeof(line), f)) {
			if (!strchr(line, '\n'))
				break; /* partial line: read it whole next time */
			*offset += strlen(line);
			if (strncmp(line, "received ", 9) != 0)
				continue;
			printf("%6.1fs  %s", clock_mono() - d->started, line);
			if (!strstr(line, "signature=valid")) {
				(*bad_sig)++;
				continue;
			}
			if (!strstr(line, "status=firing"))
				continue;
			for (size_t i = 0; i < N_EXPECTED; i++) {
				char want[96];
				snprintf(want, sizeof(want), "rule=%s ", expected[i].rule);
				if (strstr(line, want))
					fired[i]++;
			}
		}
	}
	fclose(f);
	fflush(stdout);
}

static int run_headless(struct demo *d, int seconds)
{
	int fired[N_EXPECTED] = {0}, bad_sig = 0, missing = 0;
	size_t offset = 0;
	double end = d->started + seconds, last_report = 0;

	printf("mlwatch demo: headless for %d s in %s\n", seconds, d->dir);
	printf("mlwatch demo: webhook deliveries are logged in %s\n", d->hooklog);
	while (clock_mono() < end && !interrupted) {
		scan_hooklog(d, &offset, fired, &bad_sig);
		double t = clock_mono() - d->started;
		if (t - last_report >= 10) {
			printf("%6.1fs  sent %lu events, %lu labels (%lu failed posts)\n", t,
			       d->sent, d->labels_sent, d->send_errors);
			last_report = t;
		}
		bool all = true;
		for (size_t i = 0; i < N_EXPECTED; i++)
			all = all && fired[i];
		if (all)
			break;
		usleep(200000);
	}
	scan_hooklog(d, &offset, fired, &bad_sig);
	printf("\nalerts received with a valid signature:\n");
	for (size_t i = 0; i < N_EXPECTED; i++) {
		printf("  %-22s %-14s %s\n", expected[i].rule, expected[i].what,
		       fired[i] ? "fired" : "DID NOT FIRE");
		missing += !fired[i];
	}
	if (bad_sig)
		printf("  %d notification(s) with a bad signature\n", bad_sig);
	printf("after %.0f s: %lu events and %lu labels sent\n", clock_mono() - d->started, d->sent,
	       d->labels_sent);
	return missing || bad_sig ? 1 : 0;
}

int cmd_demo(struct mlw_config *cfg, const struct cli_result *res)
{
	struct demo d;
	pthread_t sim;
	bool sim_started = false, keep = getenv("MLWATCH_DEMO_KEEP") != NULL;
	const char *secs = cli_get(res, "seconds"), *tmp = getenv("TMPDIR");
	const char *ci = getenv("CI");
	bool headless =
	    !isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO) || (ci && strcmp(ci, "true") == 0);
	int seconds = 60, rc = 1;
	struct sigaction sa = {.sa_handler = on_signal};

	memset(&d, 0, sizeof(d));
	if (secs) {
		char *e;
		long v = strtol(secs, &e, 10);
		if (*e || v < 5 || v > 86400) {
			fprintf(stderr,
			        "mlwatch: error: --seconds: expected a whole number from 5 to "
			        "86400, got '%s'\n",
			        secs);
			return 2;
		}
		seconds = (int)v;
	}
	if (!realpath("/proc/self/exe", d.self)) {
		fprintf(stderr, "mlwatch: error: cannot find my own binary\n");
		return 1;
	}
	snprintf(d.dir, sizeof(d.dir), "%s/mlwatch-demo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(d.dir)) {
		fprintf(stderr, "mlwatch: error: cannot create a temporary directory: %s\n",
		        strerror(errno));
		return 1;
	}
	/* --db postgresql://... runs the demo on that database; a path is
	 * ignored (the demo's SQLite file is its own, removed at exit) */
	if (db_is_postgres(cfg->tui.db))
		snprintf(d.db, sizeof(d.db), "%s", cfg->tui.db);
	else
		snprintf(d.db, sizeof(d.db), "%s/mlwatch.db", d.dir);
	snprintf(d.conf, sizeof(d.conf), "%s/mlwatch.conf", d.dir);
	/* The receiver's log lives beside the demo's directory, not in it: it
	 * is what the demo's alerts delivered, kept after exit (its path is
	 * printed) while everything else is removed. */
	snprintf(d.hooklog, sizeof(d.hooklog), "%s/mlwatch-demo-webhooks-XXXXXX.log",
	         tmp && *tmp ? tmp : "/tmp");
	int hfd = mkstemps(d.hooklog, 4);
	if (hfd < 0) {
		fprintf(stderr, "mlwatch: error: cannot create %s: %s\n", d.hooklog,
		        strerror(errno));
		nftw(d.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		return 1;
	}
	close(hfd);
	d.agent_port = free_port();
	d.coll_port = free_port();
	d.metrics_port = free_port();
	d.hook_port = free_port();
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	if (write_config(&d) || start_system(&d))
		goto out;
	d.started = clock_mono();
	if (pthread_create(&sim, NULL, simulate, &d) != 0)
		goto out;
	sim_started = true;
	if (headless) {
		rc = run_headless(&d, seconds);
	} else {
		char *dash[] = {d.self, "--config", d.conf, "--db", d.db, NULL};
		struct demo none = {0};
		char note[PATH_MAX + 128];
		int status;
		/* the dashboard's status line says where deliveries go */
		snprintf(note, sizeof(note), "demo: webhook deliveries logged in %s", d.hooklog);
		setenv("MLWATCH_DEMO_NOTE", note, 1);
		pid_t pid = spawn(&none, dash, NULL);
		/* The dashboard owns the terminal; we only wait for it. */
		signal(SIGINT, SIG_IGN);
		rc = pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
		         ? WEXITSTATUS(status)
		         : 1;
	}
out:
	/* Stopping three daemons takes seconds: say so, rather than leave a
	 * blank screen after the dashboard (or Ctrl-C) ends. */
	if (d.n_children)
		fprintf(stderr,
		        "mlwatch demo: stopping mlwatchd, mlwatch-agent and the receiver...\n");
	d.stop = 1;
	if (sim_started)
		pthread_join(sim, NULL);
	stop_children(&d);
	curl_global_cleanup();
	if (rc != 0 || keep)
		fprintf(stderr, "mlwatch demo: logs kept in %s\n", d.dir);
	else
		nftw(d.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	fprintf(stderr, "mlwatch demo: stopped; the webhook deliveries are kept in %s\n",
	        d.hooklog);
	return rc;
}
