/* mlwatch: the terminal dashboard and its scriptable subcommands. main
 * parses the command line (global flags may stand before or after the
 * command) and dispatches through one table: a command is one line in it. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cmd.h"
#include "cmd_demo.h"
#include "cmd_reference.h"
#include "cmd_webhook.h"
#include "dash.h"
#include "log.h"
#include "text.h"

static const char usage[] =
    "Usage: mlwatch [--config FILE] [--db PATH] [--interval DUR] [--no-color] [COMMAND]\n"
    "\n"
    "Without a command, opens the dashboard. Commands (each takes --json):\n"
    "  top                          the dashboard\n"
    "  status [--since DUR]         one line per model\n"
    "  drift --model M [--since DUR] [--feature F]\n"
    "  latency --model M [--since DUR]\n"
    "  accuracy --model M [--since DUR]\n"
    "  alerts [--all]\n"
    "  silence RULE [--model M] --for DUR [--comment TEXT]\n"
    "  ack ID\n"
    "  reference import --model M FILE | reference show --model M\n"
    "  export --model M [--since DUR] --format csv|jsonl\n"
    "  demo [--seconds N]\n"
    "  webhook-listen --listen HOST:PORT [--secret-file F] [--insecure]\n"
    "\n"
    "  --json       machine-readable output (the shapes of mlwatch(1))\n"
    "  --since DUR  how far back (default 1h)\n"
    "  --help       print this help and exit\n"
    "  --version    print the version and exit\n"
    "  --config FILE  read FILE (default /etc/mlwatch/mlwatch.conf if present)\n";

static const struct cli_flag flags[] = {
    {"json", false},       {"model", true},        {"since", true},   {"feature", true},
    {"all", false},        {"for", true},          {"comment", true}, {"format", true},
    {"from", true},        {"to", true},           {"seconds", true}, {"listen", true},
    {"secret-file", true}, {"bench-frames", true}, {"insecure", false}, {NULL, false},
};

typedef int (*cmd_fn)(struct mlw_config *cfg, const struct cli_result *res);

/* One line per command; others add theirs (reference, webhook-listen, demo). */
/* clang-format off */
static const struct {
	const char *name;
	cmd_fn fn;
} commands[] = {
	{"top", dash_main},
	{"status", cmd_status},
	{"drift", cmd_drift},
	{"latency", cmd_latency},
	{"accuracy", cmd_accuracy},
	{"alerts", cmd_alerts},
	{"silence", cmd_silence},
	{"ack", cmd_ack},
	{"export", cmd_export},
	{"webhook-listen", cmd_webhook_listen},
	{"demo", cmd_demo},
	{"reference", cmd_reference},
};
/* clang-format on */

int main(int argc, char **argv)
{
	struct mlw_config cfg;
	struct cli_result res;
	int rc = cli_parse("mlwatch", CONFIG_TUI, usage, flags, argc, argv, &cfg, &res);
	size_t i;

	if (rc) {
		rc = rc == 1 ? 0 : rc;
		goto out;
	}
	log_set_level(cfg.tui.log_level);
	if (res.n_args == 0) {
		rc = dash_main(&cfg, &res);
		goto out;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, res.args[0]) == 0)
			break;
	if (i == sizeof(commands) / sizeof(commands[0])) {
		char safe[64];
		cmd_error("unknown command '%s' (see mlwatch --help)",
		          text_sanitize(safe, sizeof(safe), res.args[0]));
		rc = 2;
		goto out;
	}
	rc = commands[i].fn(&cfg, &res);
out:
	cli_result_free(&res);
	config_free(&cfg);
	return rc;
}
