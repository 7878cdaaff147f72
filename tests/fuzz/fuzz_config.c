/* libFuzzer target: the INI config loader (through a temporary file, as
 * users give it). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct mlw_config cfg;
	char err[1024];
	FILE *f;

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/mlwatch-fuzz-config-%d.conf", (int)getpid());
	f = fopen(path, "wb");
	if (!f)
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if (config_init(&cfg) == 0) {
		config_load(&cfg, path, err, sizeof(err));
		config_free(&cfg);
	}
	return 0;
}
