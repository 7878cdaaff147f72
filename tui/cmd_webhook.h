/* cmd_webhook: `mlwatch webhook-listen --listen ADDR [--secret-file F]`: a
 * small HTTP receiver for testing a receiver setup (and the demo's
 * receiver). It prints each notification it gets, one block per alert,
 * whose first line is machine-greppable:
 *
 *   received status=firing rule=fraud-p99 model=fraud severity=page signature=valid
 *     summary: p99 latency of fraud is 312 ms
 *     ...
 *
 * signature= is valid / invalid (X-Mlwatch-Signature "t=TS,v1=HEX" checked
 * against HMAC-SHA256 of "TS.body" with the secret), stale (genuine but TS
 * more than WEBHOOK_TOLERANCE_S from now: a replay), missing (a secret was
 * given but the header was not), or unchecked (no --secret-file). It
 * understands all four receiver formats (webhook, alertmanager, slack,
 * pagerduty) and answers 200, 401 when a secret was given and the
 * signature is not valid, 400 for a body that is not JSON, 413 above 1 MiB.
 * Runs until SIGINT or SIGTERM. */
#ifndef MLW_CMD_WEBHOOK_H
#define MLW_CMD_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "config.h"

int cmd_webhook_listen(struct mlw_config *cfg, const struct cli_result *res);

/* How far a signed timestamp may be from now (seconds), as Stripe's
 * default: longer than any clock skew, far shorter than a replay needs. */
#define WEBHOOK_TOLERANCE_S 300.0

/* The signature verdict for body given the X-Mlwatch-Signature value (NULL
 * if absent) and secret (NULL if none) at wall time now: "valid",
 * "invalid", "stale", "missing", "unchecked". */
const char *webhook_verify(const char *secret, const char *header, const char *body, size_t len,
                           double now);

/* Appends the printed form of one notification body to out (a malloc'd
 * string the caller frees; *out may start NULL). Returns the number of
 * alerts described, or -1 when the body is not JSON. */
int webhook_describe(const char *body, const char *verdict, char **out);

#endif
