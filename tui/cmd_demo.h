/* cmd_demo: `mlwatch demo [--seconds N]`: the whole system on loopback in a
 * temporary directory — mlwatchd, mlwatch-agent, `mlwatch webhook-listen`
 * and the simulated model of demo_sim sending traffic through the agent's
 * HTTP input — then the dashboard. Without a terminal (or with CI=true) it
 * runs headless for N seconds, prints the alerts that arrived, and exits 0
 * only if the expected ones (drift, accuracy, latency) did. */
#ifndef MLW_CMD_DEMO_H
#define MLW_CMD_DEMO_H

#include "cli.h"
#include "config.h"

int cmd_demo(struct mlw_config *cfg, const struct cli_result *res);

#endif
