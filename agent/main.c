/* mlwatch-agent: the sidecar beside a model server. */
#include <stdio.h>

#include "cli.h"
#include "log.h"

static const char usage[] =
	"Usage: mlwatch-agent [--config FILE] [--collector URL] [--http ADDR|off]\n"
	"                     [--listen-dgram URL]... [--tail PATH]... [--state-dir DIR]\n"
	"                     [--spool-dir DIR] [--spool-max SIZE] [--sample-rate R]\n"
	"                     [--token-file FILE] [--agent-id ID] [--tls-ca FILE]\n"
	"                     [--tls-cert FILE] [--tls-key FILE] [--log-level LEVEL]\n"
	"\n"
	"Takes prediction events from a model server (HTTP JSON, KServe CloudEvents,\n"
	"a tailed JSONL log, datagrams), counts 100% of them, samples payloads by\n"
	"request id and forwards batches to mlwatchd; spools to disk while the\n"
	"collector is away.\n"
	"\n"
	"  --help       print this help and exit\n"
	"  --version    print the version and exit\n"
	"  --config FILE  read FILE (default /etc/mlwatch/mlwatch.conf if present)\n";

int main(int argc, char **argv)
{
	struct mlw_config cfg;
	struct cli_result res;
	int rc = cli_parse("mlwatch-agent", CONFIG_AGENT, usage, NULL, argc, argv, &cfg, &res);

	if (rc == 0 && res.n_args > 0) {
		fprintf(stderr, "mlwatch-agent: error: unexpected argument '%s' (see --help)\n",
			res.args[0]);
		rc = 2;
	}
	if (rc == 0) {
		log_set_level(cfg.agent.log_level);
		log_info("agent", "configuration ok collector=%s", cfg.agent.collector);
	}
	cli_result_free(&res);
	config_free(&cfg);
	return rc == 1 ? 0 : rc;
}
