/* cli: the command line shared by the three programs: --help, --version,
 * --config FILE, and every key of the program's config section as a flag
 * (--spool-max 1GiB or --spool-max=1GiB), applied over the file. Errors are
 * one line "PROG: error: ..." and exit status 2, as the contract says. */
#ifndef MLW_CLI_H
#define MLW_CLI_H

#include <stdbool.h>

#include "config.h"

/* A program-specific flag beyond the config keys (e.g. --model for a
 * subcommand). Names without the dashes; takes_value false for switches. */
struct cli_flag {
	const char *name;
	bool takes_value;
};

struct cli_value {
	const char *name;  /* points into the cli_flag table */
	const char *value; /* argv string, or NULL for a switch */
};

struct cli_result {
	char **args; /* positional arguments, in order (pointers into argv) */
	int n_args;
	struct cli_value *flags; /* extra flags seen, in order */
	int n_flags;
};

/* Parses argv. usage is printed for --help, followed by the list of config
 * flags of sec. extra (NULL-name terminated, may be NULL) lists further
 * flags. Returns 0 to run, 1 when --help/--version was printed (exit 0), 2
 * after printing an error (exit 2). cfg is initialised and loaded here; free
 * it with config_free, and res with cli_result_free, whatever the result. */
int cli_parse(const char *prog, enum config_section sec, const char *usage,
              const struct cli_flag *extra, int argc, char **argv, struct mlw_config *cfg,
              struct cli_result *res);
void cli_result_free(struct cli_result *res);

/* The value of extra flag name (the last one given), or NULL. */
const char *cli_get(const struct cli_result *res, const char *name);
bool cli_has(const struct cli_result *res, const char *name);

#endif
