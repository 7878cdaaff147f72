/* harness: see harness.h. */
#include "harness.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double h_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double h_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void h_sleep(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

char *h_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&p, "%s/mlwatch-%s-XXXXXX", base, tag) < 0)
		return NULL;
	if (!mkdtemp(p)) {
		free(p);
		return NULL;
	}
	return p;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void h_rmtree(const char *path)
{
	if (path && getenv("MLWATCH_KEEP_TMP") == NULL)
		nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* True when port can be bound on 127.0.0.1 for type (nothing holds it). */
static bool port_bindable(int port, int type)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, type, 0);
	bool ok;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return false;
	ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* The kernel's ephemeral range starts at lo; 32768 when unreadable. */
static int ephemeral_low(void)
{
	char *s = h_read_file("/proc/sys/net/ipv4/ip_local_port_range", NULL);
	int lo = s ? atoi(s) : 0;

	free(s);
	return lo > 1024 && lo <= 65535 ? lo : 32768;
}

/* A port found by bind(0) is the kernel's ephemeral kind: the next outgoing
 * connection of any process may take it as its source port before the
 * program under test binds it (many tests connect at once on a shared
 * machine). So ports come from below the ephemeral range, where only an
 * explicit bind takes one: a random start per process, never the same port
 * twice in one process, and only ports free for both TCP and UDP now. */
int h_free_port(void)
{
	static unsigned seed;
	static int given[512];
	static size_t n_given;
	const int base = 10000, top = ephemeral_low() - 1;

	if (seed == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = (unsigned)getpid() * 2654435761u ^ (unsigned)ts.tv_nsec;
		if (seed == 0)
			seed = 1;
	}
	for (int attempt = 0; top - base >= 1000 && attempt < 1000; attempt++) {
		int port = base + (int)(rand_r(&seed) % (unsigned)(top - base + 1));
		bool seen = false;
		for (size_t i = 0; i < n_given && !seen; i++)
			seen = given[i] == port;
		if (seen || !port_bindable(port, SOCK_STREAM) || !port_bindable(port, SOCK_DGRAM))
			continue;
		if (n_given < sizeof(given) / sizeof(given[0]))
			given[n_given++] = port;
		return port;
	}
	/* No room below the ephemeral range: fall back to the kernel's pick. */
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

/* How many runnable tasks each core has now, at least 1: the 1-minute load
 * average over the online cores. A suite beside another suite (make test
 * and make asan at once) or beside builds shares its cores; bounds that hold
 * on an idle machine are stretched by this much rather than failing there.
 * Capped at 4 so that a real regression still shows on a busy machine. */
static double load_factor(void)
{
	double load = 0;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	FILE *f = fopen("/proc/loadavg", "r");

	if (f) {
		if (fscanf(f, "%lf", &load) != 1)
			load = 0;
		fclose(f);
	}
	if (cpus < 1)
		cpus = 1;
	load /= (double)cpus;
	return load < 1 ? 1 : load > 4 ? 4 : load;
}

double h_slow(void)
{
	const char *vg = getenv("MLWATCH_VALGRIND"), *vg2 = getenv("VALGRIND");
	const char *san = getenv("MLWATCH_SAN");
	double build = 1.0;

	if ((vg && strcmp(vg, "1") == 0) || (vg2 && strcmp(vg2, "1") == 0))
		build = 20.0;
	else if (san && strcmp(san, "1") == 0)
		build = 4.0;
	return build * load_factor();
}

double h_mtime(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return (double)st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
}

double h_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

bool h_wait_modified(const char *path, double since, double timeout_s)
{
	double end = h_now() + timeout_s;

	for (;;) {
		if (h_mtime(path) > since)
			return true;
		if (h_now() > end)
			return false;
		h_sleep(0.02);
	}
}

char *h_bin(const char *name)
{
	const char *dir = getenv("MLWATCH_BIN_DIR");
	char *p;
	if (asprintf(&p, "%s/%s", dir && *dir ? dir : "build", name) < 0)
		return NULL;
	return p;
}

char *h_src(const char *rel)
{
	const char *dir = getenv("MLWATCH_SRC_DIR");
	char *p;
	if (asprintf(&p, "%s/%s", dir && *dir ? dir : ".", rel) < 0)
		return NULL;
	return p;
}

int h_spawn(struct h_proc *p, char *const argv[], const char *log_path, char *const env[])
{
	const char *vg = getenv("MLWATCH_VALGRIND");
	pid_t pid;

	snprintf(p->log, sizeof(p->log), "%s", log_path);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		int nul = open("/dev/null", O_RDONLY);
		if (nul >= 0) {
			dup2(nul, 0);
			close(nul);
		}
		for (int i = 0; env && env[i]; i++)
			putenv(env[i]);
		setpgid(0, 0);
		/* A test that fails an assertion exits without its cleanup:
		 * the binaries it started must not outlive it. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (vg && strcmp(vg, "1") == 0) {
			char *vargv[64];
			int n = 0;
			vargv[n++] = "valgrind";
			vargv[n++] = "-q";
			vargv[n++] = "--leak-check=full";
			vargv[n++] = "--show-leak-kinds=definite,indirect";
			vargv[n++] = "--errors-for-leak-kinds=definite,indirect";
			vargv[n++] = "--error-exitcode=99";
			for (int i = 0; argv[i] && n < 63; i++)
				vargv[n++] = argv[i];
			vargv[n] = NULL;
			execvp("valgrind", vargv);
		} else {
			execv(argv[0], argv);
		}
		fprintf(stderr, "harness: exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	p->pid = pid;
	return 0;
}

bool h_alive(struct h_proc *p)
{
	int status;
	if (p->pid <= 0)
		return false;
	return waitpid(p->pid, &status, WNOHANG) == 0;
}

int h_stop(struct h_proc *p, int sig, double timeout_s)
{
	int status;
	double end = h_now() + timeout_s;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, sig);
	for (;;) {
		pid_t r = waitpid(p->pid, &status, WNOHANG);
		if (r == p->pid)
			break;
		if (r < 0) {
			p->pid = 0;
			return -1;
		}
		if (h_now() > end) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			break;
		}
		h_sleep(0.02);
	}
	p->pid = 0;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

bool h_wait_port(int port, double timeout_s)
{
	double end = h_now() + timeout_s;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	while (h_now() < end) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd >= 0) {
			int ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
			close(fd);
			if (ok)
				return true;
		}
		h_sleep(0.05);
	}
	return false;
}

char *h_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			cap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		size_t k = fread(buf + n, 1, 4096, f);
		n += k;
		if (k < 4096)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

int h_count_in_file(const char *path, const char *needle)
{
	int n = 0;
	char *s = h_read_file(path, NULL);
	for (char *p = s; p && *needle && (p = strstr(p, needle)) != NULL; p += strlen(needle))
		n++;
	free(s);
	return n;
}

int h_write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	size_t k = fwrite(data, 1, len, f);
	return fclose(f) == 0 && k == len ? 0 : -1;
}

char *h_wait_file_content(const char *path, double timeout_s)
{
	double end = h_now() + timeout_s;
	for (;;) {
		char *s = h_read_file(path, NULL);
		if (s && *s)
			return s;
		free(s);
		if (h_now() >= end)
			return NULL;
		h_sleep(0.05);
	}
}

bool h_wait_log(const char *path, const char *needle, double timeout_s)
{
	double end = h_now() + timeout_s;
	while (h_now() < end) {
		char *s = h_read_file(path, NULL);
		bool found = s && strstr(s, needle);
		free(s);
		if (found)
			return true;
		h_sleep(0.05);
	}
	return false;
}

struct sink {
	char *buf;
	size_t len;
};

static size_t on_body(char *data, size_t size, size_t n, void *arg)
{
	struct sink *s = arg;
	size_t k = size * n;
	char *nb = realloc(s->buf, s->len + k + 1);
	if (!nb)
		return 0;
	memcpy(nb + s->len, data, k);
	s->buf = nb;
	s->len += k;
	s->buf[s->len] = '\0';
	return k;
}

static size_t on_header(char *data, size_t size, size_t n, void *arg)
{
	struct h_http *r = arg;
	size_t k = size * n, have = strlen(r->headers);
	if (have + k < sizeof(r->headers)) {
		memcpy(r->headers + have, data, k);
		r->headers[have + k] = '\0';
	}
	return k;
}

struct reader {
	const char *p;
	size_t left;
};

static size_t on_read(char *buf, size_t size, size_t n, void *arg)
{
	struct reader *r = arg;
	size_t k = size * n;
	if (k > r->left)
		k = r->left;
	if (k > 1000)
		k = 1000; /* several chunks even for small bodies */
	memcpy(buf, r->p, k);
	r->p += k;
	r->left -= k;
	return k;
}

int h_http(const char *method, const char *url, const char *body, size_t len,
           const char *const *headers, bool chunked, struct h_http *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct sink s = {0};
	struct reader rd = {body, len};
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	if (!c)
		return -1;
	for (int i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	if (chunked)
		hl = curl_slist_append(hl, "Transfer-Encoding: chunked");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	if (body && strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		if (chunked) {
			curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
			curl_easy_setopt(c, CURLOPT_READDATA, &rd);
		} else {
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
		}
	}
	if (hl)
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	out->body = s.buf ? s.buf : strdup("");
	out->len = s.len;
	return rc == CURLE_OK ? 0 : -1;
}

void h_http_free(struct h_http *r)
{
	free(r->body);
	r->body = NULL;
}

struct cJSON *h_load_json(const char *path)
{
	char *text = h_read_file(path, NULL);
	cJSON *doc = text ? cJSON_Parse(text) : NULL;

	free(text);
	return doc;
}

char *h_shared(const char *rel)
{
	const char *shared = getenv("MLWATCH_SHARED_DIR"), *src = getenv("MLWATCH_SRC_DIR");
	char *cand[3] = {NULL, NULL, NULL}, *found = NULL;
	int n = 0;

	if (!src)
		src = ".";
	if (shared && asprintf(&cand[n], "%s/%s", shared, rel) > 0)
		n++;
	if (asprintf(&cand[n], "%s/../shared/%s", src, rel) > 0)
		n++;
	if (asprintf(&cand[n], "%s/../../shared/%s", src, rel) > 0)
		n++;
	for (int i = 0; i < n && !found; i++)
		if (access(cand[i], R_OK) == 0)
			found = cand[i];
	if (!found && n > 0)
		found = cand[0];
	for (int i = 0; i < n; i++)
		if (cand[i] != found)
			free(cand[i]);
	return found;
}
