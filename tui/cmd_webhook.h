/* cmd_webhook: `mlwatch webhook-listen --listen ADDR [--secret-file F]`: a
 * small HTTP receiver for testing a receiver setup (and the demo's
 * receiver). It prints each notification it gets, one block per alert,
 * whose first line is machine-greppable:
 *
 *   received status=firing rule=fraud-p99 model=fraud severity=page signature=valid
 *     summary: p99 latency of fraud is 312 ms
 *     ...
 *
 * signature= is valid / invalid (X-Mlwatch-Signature-256 checked against
 * HMAC-SHA256 of the body with the secret), missing (a secret was given
 * but the header was not), or unchecked (no --secret-file). It understands
 * all four receiver formats (webhook, alertmanager, slack, pagerduty) and
 * answers 200, 400 for a body that is not JSON, 413 above 1 MiB. Runs until
 * SIGINT or SIGTERM. */
#ifndef MLW_CMD_WEBHOOK_H
#define MLW_CMD_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "config.h"

int cmd_webhook_listen(struct mlw_config *cfg, const struct cli_result *res);

/* The signature verdict for body given the header value (NULL if absent)
 * and secret (NULL if none): "valid", "invalid", "missing", "unchecked". */
const char *webhook_verify(const char *secret, const char *header, const char *body, size_t len);

/* Appends the printed form of one notification body to out (a malloc'd
 * string the caller frees; *out may start NULL). Returns the number of
 * alerts described, or -1 when the body is not JSON. */
int webhook_describe(const char *body, const char *verdict, char **out);

#endif
