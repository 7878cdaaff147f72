/* libFuzzer target: cli_parse, the command lines of the three programs.
 * The input is the argument list, one argument per line; the first byte
 * picks the program's section (agent, collector, tui). Inputs that could
 * spell --config (any "fig") are refused: it would read whatever file the
 * fuzzer names (/dev/zero...), which tests the file system, not the parser;
 * config_load has its own target (fuzz_config). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

static const struct cli_flag extra[] = {{"json", false}, {"listen", true}, {NULL, false}};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum config_section secs[] = {CONFIG_AGENT, CONFIG_COLLECTOR, CONFIG_TUI};
	char *argv[34], *s;
	int argc = 0;

	if (size < 1 || size > 4096 || memmem(data, size, "fig", 3))
		return 0;
	s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	argv[argc++] = "mlwatch-fuzz";
	for (char *p = s; p && argc < 33;) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		argv[argc++] = p;
		p = nl ? nl + 1 : NULL;
	}
	argv[argc] = NULL;
	struct mlw_config cfg;
	struct cli_result res;
	/* --help and errors print: keep the fuzzer's output readable */
	FILE *saved_out = stdout, *saved_err = stderr;
	FILE *null = fopen("/dev/null", "w");
	if (null)
		stdout = stderr = null;
	cli_parse("mlwatch-fuzz", secs[data[0] % 3], "usage: mlwatch-fuzz [flags]\n", extra, argc,
	          argv, &cfg, &res);
	stdout = saved_out;
	stderr = saved_err;
	if (null)
		fclose(null);
	config_free(&cfg);
	cli_result_free(&res);
	free(s);
	return 0;
}
