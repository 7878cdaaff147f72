/* fuzz-deps: agent/spool.c agent/state.c agent/crc32c.c agent/stats.c */
/* libFuzzer target: what the agent finds in its spool directory after a
 * crash or a disk error: the cursor file and segment files, which
 * spool_open checks (torn tails cut, corrupt records skipped and counted)
 * before they are replayed. An input is CURSOR \0 SEGMENT-1 \0\0\0\0 SEGMENT-2
 * (the separators optional). Every record read is acknowledged, one is
 * appended, and the directory is opened again: what the first open left
 * must open too. */
#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"

static char dir[64];

static void put(const char *name, const uint8_t *p, size_t n)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

static void clear(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[400];
	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
}

static void drain(uint64_t max)
{
	char err[256];
	struct spool *s = spool_open(dir, max, err, sizeof(err));
	struct spool_record r;
	if (!s)
		return;
	for (int i = 0; i < 10000 && spool_read(s, &r) == 0; i++) {
		spool_ack(s, &r.pos);
		free(r.buf);
	}
	struct spool_drop drop = {0};
	static const uint8_t rec[] = "a record appended after recovery";
	spool_append(s, 1u << 30, rec, sizeof(rec), 1, 0, 1, &drop);
	spool_close(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!dir[0]) {
		/* tmpfs when there is one: the spool fsyncs */
		snprintf(dir, sizeof(dir), "%s/mlwatch-fuzz-spool-%d",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
		mkdir(dir, 0700);
		log_set_level(LOG_ERROR); /* the spool warns about every bad byte */
	}
	clear();
	const uint8_t *z = memchr(data, '\0', size);
	size_t clen = z ? (size_t)(z - data) : 0;
	const uint8_t *seg = z ? z + 1 : data;
	size_t slen = size - (size_t)(seg - data);
	const uint8_t *sep = NULL;
	for (size_t i = 0; i + 4 <= slen && !sep; i++)
		if (memcmp(seg + i, "\0\0\0\0", 4) == 0)
			sep = seg + i;
	if (z)
		put("cursor", data, clen);
	put("0000000000000001.spool", seg, sep ? (size_t)(sep - seg) : slen);
	if (sep)
		put("0000000000000002.spool", sep + 4, slen - (size_t)(sep + 4 - seg));
	drain(1 << 20);
	drain(4096); /* reopened, with a bound smaller than what is there */
	return 0;
}
