/* fuzz-deps: agent/state.c */
/* libFuzzer target: the agent's sequence-number reservation file
 * (<state-dir>/seq), read at every start. Whatever it holds, the numbers
 * handed out must keep increasing, and the file written back must be read
 * back to a reservation at least as high. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64], path[96];
	char err[256];

	if (!dir[0]) {
		/* tmpfs when there is one: every reservation is fsynced */
		snprintf(dir, sizeof(dir), "%s/mlwatch-fuzz-state-%d",
		         access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (int)getpid());
		snprintf(path, sizeof(path), "%s/seq", dir);
		mkdir(dir, 0700);
		log_set_level(LOG_ERROR);
	}
	FILE *f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	struct seqgen *g = seqgen_open(dir, err, sizeof(err));
	if (!g)
		return 0;
	uint64_t a = seqgen_next(g), b = seqgen_next(g);
	if (b <= a)
		abort();
	seqgen_close(g);
	g = seqgen_open(dir, err, sizeof(err));
	if (g) {
		if (seqgen_next(g) <= b)
			abort(); /* a restart must not hand out a number again */
		seqgen_close(g);
	}
	return 0;
}
