/* mlwatch-agent: the sidecar beside a model server. */
#include <malloc.h>
#include <stdio.h>

#include <nng/nng.h>

#include "agent.h"
#include "cli.h"
#include "log.h"

static const char usage[] =
    "Usage: mlwatch-agent [--config FILE] [--collector URL]... [--http ADDR|off]\n"
    "                     [--listen-dgram URL]... [--tail PATH]... [--state-dir DIR]\n"
    "                     [--spool-dir DIR] [--spool-max SIZE] [--sample-rate R]\n"
    "                     [--token-file FILE] [--agent-id ID] [--tls-ca FILE]\n"
    "                     [--tls-cert FILE] [--tls-key FILE] [--log-level LEVEL]\n"
    "                     [--http-token-file FILE] [--insecure]\n"
    "\n"
    "Takes prediction events from a model server (HTTP JSON, KServe CloudEvents,\n"
    "a tailed JSONL log, datagrams), counts 100% of them, samples payloads by\n"
    "request id and forwards batches to mlwatchd; spools to disk while the\n"
    "collector is away. --collector may be repeated: batches are spread over\n"
    "the collectors (sharing one store) and go to the others when one fails.\n"
    "\n"
    "Endpoints: POST /v1/events, POST /v1/labels, POST /v1/kserve, POST /v1/traces\n"
    "and /v1/logs (OTLP/HTTP), GET /healthz, GET /metrics. SIGTERM or SIGINT: stop\n"
    "taking input, deliver or spool what is in memory, exit. See mlwatch-agent(8).\n"
    "\n"
    "A listener on an address other than loopback needs --http-token-file or HTTPS\n"
    "(--http-tls-cert, --http-tls-key), or --insecure; udp:// datagram inputs there\n"
    "always need --insecure. Otherwise the agent exits 2 saying what to add.\n"
    "\n"
    "  --help       print this help and exit\n"
    "  --version    print the version and exit\n"
    "  --config FILE  read FILE (default /etc/mlwatch/mlwatch.conf if present)\n";

int main(int argc, char **argv)
{
	struct mlw_config cfg;
	struct cli_result res;
	struct agent ag;
	char err[1024];
	int rc = cli_parse("mlwatch-agent", CONFIG_AGENT, usage, NULL, argc, argv, &cfg, &res);

	if (rc == 1) /* --help or --version */
		rc = 0;
	else if (rc == 0 && res.n_args > 0) {
		fprintf(stderr, "mlwatch-agent: error: unexpected argument '%s' (see --help)\n",
		        res.args[0]);
		rc = 2;
	} else if (rc == 0) {
		log_set_level(cfg.agent.log_level);
		if (agent_check_listeners(&cfg.agent, err, sizeof(err)) != 0) {
			fprintf(stderr, "mlwatch-agent: error: %s\n", err);
			rc = 2;
			goto out;
		}
		int irc = agent_init(&ag, &cfg, err, sizeof(err));
		if (irc != 0) {
			fprintf(stderr, "mlwatch-agent: error: %s\n", err);
			rc = irc == -2 ? 2 : 1;
		} else {
			rc = agent_run(&ag);
		}
		agent_fini(&ag);
		nng_fini();
	}
out:
	cli_result_free(&res);
	config_free(&cfg);
	return rc;
}
