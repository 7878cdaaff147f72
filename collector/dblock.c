/* dblock: see dblock.h. */
#include "dblock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The pid written in the file by its holder; 0 when unreadable. */
static pid_t read_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	long v;
	char *end;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	v = strtol(buf, &end, 10);
	if (end == buf || v <= 0 || v > 0x7fffffff)
		return 0;
	return (pid_t)v;
}

int dblock_try(struct dblock *l, const char *db_path, pid_t *holder, char *err, size_t errlen)
{
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	struct stat a, b;
	char pid[32];
	int fd = -1, n, rc = -1;

	l->fd = -1;
	*holder = 0;
	if (snprintf(l->path, sizeof(l->path), "%s.lock", db_path) >= (int)sizeof(l->path)) {
		snprintf(err, errlen, "%s: path too long for its lock file", db_path);
		return -1;
	}
	/* O_EXCL first, to know whether a failed start should remove it. */
	l->created = false;
	fd = open(l->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd >= 0)
		l->created = true;
	else if (errno == EEXIST)
		fd = open(l->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open the lock file: %s", l->path,
		         strerror(errno));
		return -1;
	}
	if (fcntl(fd, F_SETLK, &fl) != 0) {
		if (errno != EACCES && errno != EAGAIN) {
			snprintf(err, errlen, "%s: cannot lock: %s", l->path, strerror(errno));
			goto out;
		}
		/* Held: the kernel knows the holder's pid (0 across pid
		 * namespaces or NFS); the file says it otherwise. */
		struct flock q = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
		if (fcntl(fd, F_GETLK, &q) == 0 && q.l_type != F_UNLCK && q.l_pid > 0)
			*holder = q.l_pid;
		else
			*holder = read_pid(fd);
		rc = 1;
		goto out;
	}
	/* Locked. If the file was replaced or removed since we opened it, our
	 * lock guards nothing: report "held" so that the caller retries. */
	if (fstat(fd, &a) != 0 || stat(l->path, &b) != 0 || a.st_ino != b.st_ino ||
	    a.st_dev != b.st_dev) {
		rc = 1;
		goto out;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
		snprintf(err, errlen, "%s: cannot write: %s", l->path, strerror(errno));
		goto out;
	}
	l->fd = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd); /* drops our lock attempt with it */
	return rc;
}

int dblock_wait(struct dblock *l, const char *db_path, int step_ms,
                bool (*keep_going)(void *arg, int step_ms), void *arg, char *err, size_t errlen)
{
	pid_t holder;
	int rc;

	/* Polling rather than F_SETLKW: the waiting thread must also notice
	 * SIGTERM (taken with sigwait), and a step of 100 ms is far inside
	 * the 2 s a takeover may take. */
	for (;;) {
		rc = dblock_try(l, db_path, &holder, err, errlen);
		if (rc != 1)
			return rc;
		if (!keep_going(arg, step_ms))
			return 1;
	}
}

void dblock_release(struct dblock *l, bool remove_file)
{
	if (l->fd < 0)
		return;
	if (remove_file)
		unlink(l->path); /* while still locked: no one else holds this file */
	close(l->fd);
	l->fd = -1;
}
