/* mlwatch: the terminal dashboard and its scriptable subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"

static const char usage[] =
	"Usage: mlwatch [--config FILE] [--db PATH] [--interval DUR] [--no-color] [COMMAND]\n"
	"\n"
	"Without a command, opens the dashboard. Commands (each takes --json):\n"
	"  top                          the dashboard\n"
	"  status                       one line per model\n"
	"  drift --model M [--since DUR] [--feature F]\n"
	"  latency --model M [--since DUR]\n"
	"  accuracy --model M [--since DUR]\n"
	"  alerts [--all]\n"
	"  silence RULE [--model M] --for DUR [--comment TEXT]\n"
	"  ack ID\n"
	"  reference import --model M FILE | reference show --model M\n"
	"  export --model M [--since DUR] --format csv|jsonl\n"
	"  demo [--seconds N]\n"
	"\n"
	"  --help       print this help and exit\n"
	"  --version    print the version and exit\n"
	"  --config FILE  read FILE (default /etc/mlwatch/mlwatch.conf if present)\n";

static const struct cli_flag flags[] = {
	{"json", false},    {"model", true},   {"since", true}, {"feature", true},
	{"all", false},	    {"for", true},     {"comment", true}, {"format", true},
	{"from", true},	    {"to", true},      {"seconds", true}, {"listen", true},
	{"secret-file", true}, {NULL, false},
};

int main(int argc, char **argv)
{
	struct mlw_config cfg;
	struct cli_result res;
	int rc = cli_parse("mlwatch", CONFIG_TUI, usage, flags, argc, argv, &cfg, &res);

	if (rc == 0) {
		log_set_level(cfg.tui.log_level);
		fprintf(stderr, "mlwatch: error: %s is not built yet\n",
			res.n_args ? res.args[0] : "the dashboard");
		rc = 2;
	}
	cli_result_free(&res);
	config_free(&cfg);
	return rc == 1 ? 0 : rc;
}
