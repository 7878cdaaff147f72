/* mlwatch: the terminal dashboard and its scriptable subcommands. main
 * parses the command line (global flags may stand before or after the
 * command) and dispatches through one table: a command is one line in it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "clock.h"
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
    "Without a command, opens the dashboard. Commands (each takes --json; COMMAND --help\n"
    "prints its own help):\n"
    "  top                          the dashboard\n"
    "  status [--since DUR] [--segment KEY=VALUE [--model M]]  one line per model\n"
    "  drift --model M [--since DUR] [--feature F] [--segment KEY=VALUE]\n"
    "  latency --model M [--since DUR] [--segment KEY=VALUE]\n"
    "  accuracy --model M [--since DUR] [--segment KEY=VALUE]\n"
    "  alerts [--all]\n"
    "  silence RULE [--model M] --for DUR [--comment TEXT]\n"
    "  silences [--all] | unsilence ID\n"
    "  ack ID\n"
    "  reference import --model M [--strict] FILE | reference show --model M [--vectors]\n"
    "  models | models rm NAME\n"
    "  export --model M [--since DUR | --from T --to T] --format csv|jsonl\n"
    "  demo [--seconds N]\n"
    "  migrate --from SRC --to DST [--force]\n"
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
    {"secret-file", true}, {"bench-frames", true}, {"strict", false}, {"insecure", false},
    {"force", false},      {"segment", true},      {"step", true},    {"vectors", false},
    {NULL, false},
};

typedef int (*cmd_fn)(struct mlw_config *cfg, const struct cli_result *res);

/* One line per command and its help (`mlwatch COMMAND --help`); global
 * flags (--config, --db, --json) are in every command's reach. */
/* clang-format off */
static const struct {
	const char *name;
	cmd_fn fn;
	const char *help;
} commands[] = {
	{"top", dash_main,
	 "Usage: mlwatch [top]\n  The dashboard (q quits, ? lists the keys).\n"},
	{"status", cmd_status,
	 "Usage: mlwatch status [--since DUR] [--segment KEY=VALUE [--model M]] [--json]\n"
	 "  One line per model: events, rate, errors, latency, accuracy, worst drift, alerts.\n"
	 "  --segment: the figures of one segment of the models' segment_by.\n"},
	{"drift", cmd_drift,
	 "Usage: mlwatch drift --model M [--since DUR] [--feature F] [--segment KEY=VALUE] [--json]\n"
	 "  Drift per window and feature; VERDICT is DRIFT, or insufficient when the window\n"
	 "  held fewer values than [collector] drift_min_sample. --segment: of one segment\n"
	 "  of the model's segment_by (against that segment's reference rows).\n"},
	{"latency", cmd_latency,
	 "Usage: mlwatch latency --model M [--since DUR] [--step DUR] [--segment KEY=VALUE] [--json]\n"
	 "  Latency quantiles per window, or per --step bucket (1h, 1d: read from the tiers);\n"
	 "  --segment: of one segment's sampled events.\n"},
	{"accuracy", cmd_accuracy,
	 "Usage: mlwatch accuracy --model M [--since DUR] [--segment KEY=VALUE] [--json]\n"
	 "  Accuracy (labelled) and estimated accuracy per window (--segment: of one segment).\n"},
	{"fairness", cmd_fairness,
	 "Usage: mlwatch fairness --model M [--since DUR] [--json]\n"
	 "  Per window and protected attribute ([model] fairness_by): each group's events,\n"
	 "  positive-prediction rate, accuracy, TPR and FPR, and the gaps dp_ratio (the\n"
	 "  four-fifths rule), dp_diff, eo_diff, eodds_diff, acc_gap; insufficient below\n"
	 "  [collector] fairness_min_sample.\n"},
	{"alerts", cmd_alerts,
	 "Usage: mlwatch alerts [--all] [--json]\n  Firing and pending alerts (--all: every one).\n"},
	{"silence", cmd_silence,
	 "Usage: mlwatch silence RULE [--model M] --for DUR [--comment TEXT] [--json]\n"
	 "  Holds back notifications of RULE (an [alert RULE] of the config or a rule in\n"
	 "  the alerts table; * for all) for DUR. An unknown rule or model is an error.\n"},
	{"silences", cmd_silences,
	 "Usage: mlwatch silences [--all] [--json]\n  Active silences (--all: ended ones too).\n"},
	{"unsilence", cmd_unsilence,
	 "Usage: mlwatch unsilence ID [--json]\n  Ends silence ID now (see mlwatch silences).\n"},
	{"ack", cmd_ack,
	 "Usage: mlwatch ack ID [--json]\n  Acknowledges alert ID: no repeats while it fires.\n"},
	{"export", cmd_export,
	 "Usage: mlwatch export --model M [--since DUR | --from T --to T] --format jsonl|csv\n"
	 "  Sampled raw events, oldest first. --json is the same as --format jsonl (and\n"
	 "  refused with --format csv). --from/--to (Unix seconds or RFC 3339) select\n"
	 "  from <= ts < to, as in the export command line of exec notifications.\n"},
	{"webhook-listen", cmd_webhook_listen,
	 "Usage: mlwatch webhook-listen --listen HOST:PORT [--secret-file F] [--insecure] [--json]\n"
	 "  Prints (and verifies) the notifications mlwatchd sends. A non-loopback\n"
	 "  address needs --secret-file (signatures are checked) or --insecure.\n"},
	{"demo", cmd_demo,
	 "Usage: mlwatch demo [--seconds N]\n"
	 "  Runs mlwatchd, an agent and a simulated model in a temporary directory and\n"
	 "  opens the dashboard on them.\n"},
	{"reference", cmd_reference,
	 "Usage: mlwatch reference import --model M [--strict] FILE\n"
	 "       mlwatch reference import --model M --from T --to T\n"
	 "       mlwatch reference show --model M [--json [--vectors]]\n"
	 "  Imports a model's reference (what no drift looks like) from a CSV with a header\n"
	 "  row or JSONL events (the format is in mlwatch(1)), or from stored events.\n"
	 "  --strict refuses a file with values that do not fit their column's kind.\n"
	 "  --vectors (with --json) gives a vector feature's reference rows back.\n"},
	{"migrate", cmd_migrate,
	 "Usage: mlwatch migrate --from SRC --to DST [--force] [--json]\n"
	 "  Copies a whole store (events, labels, windows, references, alert state,\n"
	 "  silences) from SRC to DST, e.g. a SQLite file into a postgresql:// URI.\n"
	 "  Resumed by running it again; a non-empty DST is refused without --force,\n"
	 "  which empties it first.\n"},
	{"models", cmd_models,
	 "Usage: mlwatch models [--json]\n"
	 "       mlwatch models rm NAME\n"
	 "  Lists the models, or removes NAME and everything stored for it.\n"},
};
/* clang-format on */

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

/* `mlwatch COMMAND --help`: the command is the first positional that is
 * not the value of a flag taking one. Returns its index, or -1. */
static int help_command(int argc, char **argv, const struct cli_flag *extra)
{
	static const char *const global_valued[] = {"--config",    "--db",    "--interval",
	                                            "--log-level", "--range", NULL};
	bool help = false;
	int cmd = -1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			help = true;
			continue;
		}
		if (a[0] == '-') {
			bool valued = false;
			if (strchr(a, '='))
				continue;
			for (const char *const *g = global_valued; *g; g++)
				valued |= strcmp(a, *g) == 0;
			for (const struct cli_flag *x = extra; x->name; x++)
				valued |= x->takes_value && strncmp(a, "--", 2) == 0 &&
				          strcmp(a + 2, x->name) == 0;
			i += valued;
			continue;
		}
		if (cmd < 0)
			for (size_t k = 0; k < N_COMMANDS; k++)
				if (strcmp(commands[k].name, a) == 0)
					cmd = (int)k;
		if (cmd < 0)
			return -1; /* a first positional that is not a command */
	}
	return help ? cmd : -1;
}

int main(int argc, char **argv)
{
	struct mlw_config cfg;
	struct cli_result res;
	int hc = help_command(argc, argv, flags);
	int rc;
	size_t i;

	if (hc >= 0) {
		fputs(commands[hc].help, stdout);
		fputs("\nGlobal flags: --config FILE, --db PATH, --json; see mlwatch --help.\n",
		      stdout);
		return 0;
	}
	rc = cli_parse("mlwatch", CONFIG_TUI, usage, flags, argc, argv, &cfg, &res);

	if (rc) {
		rc = rc == 1 ? 0 : rc;
		goto out;
	}
	log_set_level(cfg.tui.log_level);
	{
		/* a collector's simulated clock (mlwatchd(8), MLWATCH_CLOCK_FILE)
		 * is the commands' "now" too; MLWATCH_NOW still wins */
		char err[600];
		const char *fixed = getenv("MLWATCH_NOW");
		char *end = NULL;
		double t = fixed && *fixed ? strtod(fixed, &end) : 0;
		if (clock_sim_init(err, sizeof(err)) < 0) {
			cmd_error("%s", err);
			rc = 2;
			goto out;
		}
		/* a fixed "now" that is not one would silently be the real
		 * time: refused like a bad clock file */
		if (fixed && *fixed && (*end != '\0' || !isfinite(t) || t <= 0)) {
			char safe[64];
			cmd_error("MLWATCH_NOW='%s' is not a Unix time in seconds",
			          text_sanitize(safe, sizeof(safe), fixed));
			rc = 2;
			goto out;
		}
	}
	if (res.n_args == 0) {
		rc = dash_main(&cfg, &res);
		goto out;
	}
	for (i = 0; i < N_COMMANDS; i++)
		if (strcmp(commands[i].name, res.args[0]) == 0)
			break;
	if (i == N_COMMANDS) {
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
