/* mlwatchd: the sidecar beside a model server. */
#include <stdio.h>

#include "cli.h"
#include "log.h"

static const char usage[] =
	"Usage: mlwatchd [--config FILE] [--db PATH] [--listen URL] [--http ADDR|off]\n"
	"                [--token-file FILE] [--window DUR] [--insecure] [--tls-ca FILE]\n"
	"                [--tls-cert FILE] [--tls-key FILE] [--log-level LEVEL]\n"
	"\n"
	"Receives batches from mlwatch-agent, stores them in SQLite, computes windows,\n"
	"latency, accuracy and drift, evaluates alert rules and delivers notifications.\n"
	"\n"
	"  --help       print this help and exit\n"
	"  --version    print the version and exit\n"
	"  --config FILE  read FILE (default /etc/mlwatch/mlwatch.conf if present)\n";

int main(int argc, char **argv)
{
	struct mlw_config cfg;
	struct cli_result res;
	int rc = cli_parse("mlwatchd", CONFIG_COLLECTOR, usage, NULL, argc, argv, &cfg, &res);

	if (rc == 0 && res.n_args > 0) {
		fprintf(stderr, "mlwatchd: error: unexpected argument '%s' (see --help)\n",
			res.args[0]);
		rc = 2;
	}
	if (rc == 0) {
		log_set_level(cfg.collector.log_level);
		log_info("collector", "configuration ok db=%s", cfg.collector.db);
	}
	cli_result_free(&res);
	config_free(&cfg);
	return rc == 1 ? 0 : rc;
}
