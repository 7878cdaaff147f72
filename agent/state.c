/* state: see state.h. */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

#define SEQ_BLOCK (1ull << 20)
/* A saved reservation above this is refused as corrupt: 2^62 microseconds is
 * 146,000 years, and leaves room below INT64_MAX for any number of blocks. */
#define SEQ_MAX_SAVED (1ull << 62)

int state_mkdirs(const char *path)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -errno;
		buf[i] = c;
	}
	struct stat st;
	if (stat(path, &st) != 0)
		return -errno;
	return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
}

int state_write_file(const char *path, const void *data, size_t len, bool sync)
{
	char tmp[4096];
	const char *p = data;
	int fd, rc = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		p += k;
		len -= (size_t)k;
	}
	if (sync && fsync(fd) != 0) {
		rc = -errno;
		goto out;
	}
out:
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) != 0)
		rc = -errno;
	if (rc != 0)
		unlink(tmp);
	return rc;
}

char *state_read_file(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t n = 0;

	if (fd < 0)
		return NULL;
	buf = malloc(max + 1);
	if (!buf) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	for (;;) {
		ssize_t k = read(fd, buf + n, max + 1 - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n > max) {
			free(buf);
			close(fd);
			errno = EFBIG;
			return NULL;
		}
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

struct seqgen {
	char path[4096];
	uint64_t next, reserved;
};

static int seq_reserve(struct seqgen *g, uint64_t upto)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", upto);
	int rc = state_write_file(g->path, buf, (size_t)n, true);
	if (rc == 0)
		g->reserved = upto;
	return rc;
}

struct seqgen *seqgen_open(const char *dir, char *err, size_t errlen)
{
	struct seqgen *g = calloc(1, sizeof(*g));
	struct timespec ts;
	uint64_t now_us, saved = 0;
	char *s;
	int rc;

	if (!g) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((size_t)snprintf(g->path, sizeof(g->path), "%s/seq", dir) >= sizeof(g->path)) {
		snprintf(err, errlen, "state dir path too long");
		goto fail;
	}
	s = state_read_file(g->path, 64, NULL);
	if (s) {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(s, &end, 10);
		/* Digits only (strtoull takes "-2" as 2^64 - 2) and far below
		 * INT64_MAX: the collector keeps seq as a SQLite integer, and
		 * reserving blocks ahead must not wrap around to small numbers. */
		if (errno == 0 && end != s && s[0] >= '0' && s[0] <= '9' &&
		    (*end == '\n' || *end == '\0') && v <= SEQ_MAX_SAVED)
			saved = v;
		else
			log_warn("state", "ignoring unreadable sequence file path=%s", g->path);
		free(s);
	} else if (errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", g->path, strerror(errno));
		goto fail;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now_us = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	g->next = saved > now_us ? saved : now_us;
	rc = seq_reserve(g, g->next + SEQ_BLOCK);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", g->path, strerror(-rc));
		goto fail;
	}
	return g;
fail:
	free(g);
	return NULL;
}

uint64_t seqgen_next(struct seqgen *g)
{
	if (g->next >= g->reserved) {
		int rc = seq_reserve(g, g->next + SEQ_BLOCK);
		if (rc != 0)
			log_error("state", "cannot save sequence reservation path=%s error=%s",
			          g->path, strerror(-rc));
	}
	return g->next++;
}

uint64_t seqgen_peek(const struct seqgen *g)
{
	return g->next;
}

void seqgen_close(struct seqgen *g)
{
	free(g);
}
