/* clock: see clock.h. */
#include "clock.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* The longest real wait for a span of simulated time (clock_wait_s). */
#define SIM_WAIT_MAX 0.05
/* The year 10000: a larger number is a typo (milliseconds?), not a time. */
#define SIM_MAX 253402300800.0
/* "1767225600.123456789\n" and blanks fit many times over. */
#define SIM_FILE_MAX 64

/* What tells one version of the file from another without reading it. */
struct sim_sig {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};

static struct {
	atomic_bool on;
	pthread_mutex_t mu;  /* the rest, but path, which is constant once on */
	double value;        /* the last good time read from the file */
	double read_at;      /* clock_mono of that read */
	struct sim_sig sig;  /* of the file as it was then */
	bool failing;        /* the last look failed (warned once) */
	char path[PATH_MAX]; /* set before on */
} sim = {.mu = PTHREAD_MUTEX_INITIALIZER};

double clock_wall(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double clock_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

void clock_cond_init_mono(pthread_cond_t *cv)
{
	pthread_condattr_t ca;

	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &ca);
	pthread_condattr_destroy(&ca);
}

/* *ts = clock id's time now + s seconds (s <= 0: now). */
static void deadline_after(clockid_t id, double s, struct timespec *ts)
{
	clock_gettime(id, ts);
	if (!(s > 0))
		return;
	if (s > 1e9) /* far enough, and no overflow of time_t */
		s = 1e9;
	ts->tv_sec += (time_t)s;
	ts->tv_nsec += (long)((s - floor(s)) * 1e9);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void clock_mono_deadline(double s, struct timespec *ts)
{
	deadline_after(CLOCK_MONOTONIC, s, ts);
}

void clock_wall_deadline(double s, struct timespec *ts)
{
	deadline_after(CLOCK_REALTIME, s, ts);
}

/* Reads the simulated time in path: 0 with *t, or -1 with why in err. Only
 * blanks, digits and one decimal point: strtod alone would also take "1e9",
 * hex, "inf" and "nan". */
static int sim_read(const char *path, double *t, char *err, size_t errlen)
{
	char buf[SIM_FILE_MAX + 1], num[SIM_FILE_MAX + 1];
	size_t len = 0, n;
	ssize_t got;
	const char *p, *start;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;

	if (fd < 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	/* one byte more than allowed tells a long file from a full one */
	while (len < sizeof(buf) - 1 && (got = read(fd, buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(err, errlen, "cannot read: %s", strerror(errno));
			goto out;
		}
		len += (size_t)got;
	}
	if (len == sizeof(buf) - 1) {
		snprintf(err, errlen, "longer than %d bytes: not a Unix time", SIM_FILE_MAX - 1);
		goto out;
	}
	buf[len] = '\0';
	for (p = buf; isspace((unsigned char)*p); p++)
		;
	if (!*p) {
		snprintf(err, errlen, "empty: no Unix time in it");
		goto out;
	}
	start = p;
	while (isdigit((unsigned char)*p))
		p++;
	if (p > start && *p == '.' && isdigit((unsigned char)p[1]))
		for (p++; isdigit((unsigned char)*p); p++)
			;
	n = (size_t)(p - start);
	memcpy(num, start, n);
	num[n] = '\0';
	while (isspace((unsigned char)*p))
		p++;
	if (n == 0 || *p) {
		/* the file's text, quoted on one line */
		while (len > 0 && isspace((unsigned char)buf[len - 1]))
			buf[--len] = '\0';
		for (char *c = buf; *c; c++)
			if (!isprint((unsigned char)*c))
				*c = '?';
		snprintf(err, errlen,
		         "'%.40s' is not a Unix time in decimal seconds (e.g. 1767225600)", start);
		goto out;
	}
	*t = strtod(num, NULL);
	if (!(*t > 0 && *t < SIM_MAX)) {
		snprintf(err, errlen, "%s is out of range (after 1970, before the year 10000)",
		         num);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	return rc;
}

/* Fills *sig for path: 0, or -1 with why in err. */
static int sim_stat(const char *path, struct sim_sig *sig, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	memset(sig, 0, sizeof(*sig));
	sig->dev = st.st_dev;
	sig->ino = st.st_ino;
	sig->size = st.st_size;
	sig->mtime = st.st_mtim;
	sig->ctime = st.st_ctim;
	return 0;
}

static bool sim_sig_same(const struct sim_sig *a, const struct sim_sig *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

int clock_sim_init(char *err, size_t errlen)
{
	const char *path = getenv("MLWATCH_CLOCK_FILE");
	struct sim_sig sig;
	char why[200];
	double t;

	atomic_store(&sim.on, false);
	if (!path)
		return 0;
	if (!*path) {
		snprintf(err, errlen,
		         "MLWATCH_CLOCK_FILE is set but empty (unset it for the real clock)");
		return -1;
	}
	if (strlen(path) >= sizeof(sim.path)) {
		snprintf(err, errlen, "MLWATCH_CLOCK_FILE: a path of %zu bytes is too long",
		         strlen(path));
		return -1;
	}
	if (sim_stat(path, &sig, why, sizeof(why)) || sim_read(path, &t, why, sizeof(why))) {
		snprintf(err, errlen, "MLWATCH_CLOCK_FILE=%s: %s", path, why);
		return -1;
	}
	pthread_mutex_lock(&sim.mu);
	snprintf(sim.path, sizeof(sim.path), "%s", path);
	sim.failing = false;
	sim.value = t;
	sim.sig = sig;
	sim.read_at = clock_mono();
	pthread_mutex_unlock(&sim.mu);
	atomic_store(&sim.on, true);
	return 1;
}

const char *clock_sim_path(void)
{
	return atomic_load(&sim.on) ? sim.path : NULL;
}

double clock_now(void)
{
	struct sim_sig sig;
	char why[200];
	double m, t;
	int rc;

	if (!atomic_load(&sim.on))
		return clock_wall();
	/* A stat per call: a file renamed into place (a new inode) or
	 * rewritten with another size or timestamp is seen by the next call,
	 * so that what a test wrote holds for the batch it sends next. Two
	 * rewrites in place within one tick of the file system's timestamps
	 * look alike: the file is read again every CLOCK_SIM_POLL_S anyway. */
	pthread_mutex_lock(&sim.mu);
	m = clock_mono();
	rc = sim_stat(sim.path, &sig, why, sizeof(why));
	if (rc == 0 &&
	    (!sim_sig_same(&sig, &sim.sig) || m - sim.read_at >= CLOCK_SIM_POLL_S || sim.failing)) {
		rc = sim_read(sim.path, &t, why, sizeof(why));
		if (rc == 0) {
			sim.value = t;
			sim.sig = sig;
			sim.read_at = m;
		}
	}
	if (rc == 0 && sim.failing) {
		sim.failing = false;
		log_info("clock", "simulated clock readable again path=%s", sim.path);
	} else if (rc != 0 && !sim.failing) {
		sim.failing = true;
		log_warn("clock",
		         "simulated clock unreadable, keeping the last time path=%s time=%.3f "
		         "error=\"%s\"",
		         sim.path, sim.value, why);
	}
	t = sim.value;
	pthread_mutex_unlock(&sim.mu);
	return t;
}

double clock_wait_s(double s)
{
	return atomic_load(&sim.on) && s > SIM_WAIT_MAX ? SIM_WAIT_MAX : s;
}

/* Reads exactly n decimal digits at *p. */
static int digits(const char **p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : d[m - 1];
}

int clock_parse_rfc3339(const char *s, double *out)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	double frac = 0;
	struct tm tm = {0};

	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' ||
	    digits(&s, 2, &d))
		return -1;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -1;
	s++;
	if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' ||
	    digits(&s, 2, &sec))
		return -1;
	if (*s == '.') {
		double scale = 0.1;
		s++;
		if (!isdigit((unsigned char)*s))
			return -1;
		for (int n = 0; isdigit((unsigned char)*s); s++, n++) {
			if (n < 9)
				frac += (*s - '0') * scale;
			scale /= 10;
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om) || oh > 23 || om > 59)
			return -1;
	} else {
		return -1;
	}
	if (*s != '\0')
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = (double)timegm(&tm) + frac - sign * (oh * 3600 + om * 60);
	return 0;
}

char *clock_format_rfc3339(double ts, char *buf, size_t cap)
{
	long long total = llround(ts * 1000.0); /* round, or .123 prints as .122 */
	time_t t = (time_t)(total / 1000);
	int ms = (int)(total % 1000);
	struct tm tm;

	if (ms < 0) {
		ms += 1000;
		t -= 1;
	}
	gmtime_r(&t, &tm);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	return buf;
}
